/* mts-server-config.h — the server's configuration: an INI file (GKeyFile)
 * whose every key is optional; docs/server.md lists them with their
 * defaults, and mts-server.conf.example is a commented copy.
 *
 *   [server]  listen, port, tls_certificate, tls_key, max_body_bytes
 *   [storage] backend (sqlite), path
 *   [vault]   directory, passphrase_file, kdf
 *   [auth]    access_token_seconds, refresh_token_seconds, password_kdf,
 *             account_max_failures, address_max_failures, failure_window_seconds,
 *             lockout_seconds, refresh_retry_seconds
 *   [sync]    max_ops_per_push, max_pull_limit, default_pull_limit,
 *             mass_delete_min, mass_delete_percent
 *   [ai]      anthropic_base_url, anthropic_model, openai_base_url,
 *             openai_model, max_tokens, timeout_seconds,
 *             connect_timeout_seconds, retries, max_retry_wait_seconds,
 *             max_text_chars, ca_file (docs/ai.md)
 *
 * Relative paths are taken from the config file's folder.
 */
#pragma once

#include <glib.h>

#include "mts-keystore.h"
#include "mts-password.h"

G_BEGIN_DECLS

#define MTS_SERVER_CONFIG_ERROR (mts_server_config_error_quark ())
GQuark mts_server_config_error_quark (void);

typedef enum {
  MTS_SERVER_CONFIG_ERROR_INVALID,   /* a value is out of range or unknown */
} MtsServerConfigError;

typedef struct {
  /* [server] */
  char *listen;                  /* "127.0.0.1" */
  guint port;                    /* 8443 */
  char *tls_certificate;         /* PEM; required to serve */
  char *tls_key;                 /* PEM; required to serve */
  gsize max_body_bytes;          /* 8 MiB */
  /* [storage] */
  char *storage_backend;         /* "sqlite" */
  char *storage_path;            /* "mts-server.db" */
  /* [vault] */
  char *vault_dir;               /* "vault" */
  char *vault_passphrase_file;   /* NULL: MTS_VAULT_PASSPHRASE_FILE, then
                                  * MTS_VAULT_PASSPHRASE, then the terminal */
  MtsKdfLevel vault_kdf;         /* moderate */
  /* [auth] */
  gint64 access_token_seconds;   /* 900 */
  gint64 refresh_token_seconds;  /* 30 days */
  MtsPasswordLevel password_kdf; /* moderate */
  gint64 account_max_failures;   /* 5 */
  gint64 address_max_failures;   /* 50 */
  gint64 failure_window_seconds; /* 900 */
  gint64 lockout_seconds;        /* 900 */
  gint64 refresh_retry_seconds;  /* 30: a spent refresh token this recent is a retry */
  /* [sync] */
  guint max_ops_per_push;        /* 1000 */
  guint max_pull_limit;          /* 5000 */
  guint default_pull_limit;      /* 500 */
  gint64 mass_delete_min;        /* 20 */
  guint mass_delete_percent;     /* 25 */
  /* [ai] */
  char *ai_anthropic_base_url;   /* "https://api.anthropic.com" */
  char *ai_anthropic_model;      /* "claude-sonnet-4-5" */
  char *ai_openai_base_url;      /* "https://api.openai.com" */
  char *ai_openai_model;         /* "gpt-4o" */
  guint ai_max_tokens;           /* 2048 */
  guint ai_timeout_seconds;      /* 60: one provider request, start to end */
  guint ai_connect_timeout_seconds; /* 10: connecting, TLS included */
  guint ai_retries;              /* 1: same-provider retries of a rate-limit 429 */
  guint ai_max_retry_wait_seconds; /* 10: longer Retry-After falls back at once */
  guint ai_max_text_chars;       /* 50000: characters of the text sent */
  char *ai_ca_file;              /* NULL: the system's CAs for the providers */
} MtsServerConfig;

/* Loads @path (NULL: the defaults alone).  Unknown groups or keys and bad
 * values are errors naming the group and key.  Returns (transfer full). */
MtsServerConfig *mts_server_config_load (const char *path, GError **error);

void mts_server_config_free (MtsServerConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsServerConfig, mts_server_config_free)

G_END_DECLS
