/* mts-server-config.c — loading the configuration (see mts-server-config.h).
 * One table lists every key with its type, its range and where it goes, so
 * the defaults, the checks and docs/server.md's table stay in step. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-config.h"

#include <string.h>

G_DEFINE_QUARK (mts-server-config-error-quark, mts_server_config_error)

typedef enum {
  K_STRING, K_PATH, K_UINT, K_INT64, K_SIZE, K_KDF, K_PWKDF, K_BACKEND, K_URL, K_NAME
} KeyKind;

typedef struct {
  const char *group;
  const char *key;
  KeyKind kind;
  gsize offset;
  gint64 min, max;
} KeySpec;

#define F(field) G_STRUCT_OFFSET (MtsServerConfig, field)

static const KeySpec keys[] = {
  { "server", "listen", K_STRING, F (listen), 0, 0 },
  { "server", "port", K_UINT, F (port), 0, 65535 },
  { "server", "tls_certificate", K_PATH, F (tls_certificate), 0, 0 },
  { "server", "tls_key", K_PATH, F (tls_key), 0, 0 },
  { "server", "max_body_bytes", K_SIZE, F (max_body_bytes), 4096, G_GINT64_CONSTANT (1) << 32 },
  { "storage", "backend", K_BACKEND, F (storage_backend), 0, 0 },
  { "storage", "path", K_PATH, F (storage_path), 0, 0 },
  { "vault", "directory", K_PATH, F (vault_dir), 0, 0 },
  { "vault", "passphrase_file", K_PATH, F (vault_passphrase_file), 0, 0 },
  { "vault", "kdf", K_KDF, F (vault_kdf), 0, 0 },
  { "auth", "access_token_seconds", K_INT64, F (access_token_seconds), 1, 86400 },
  { "auth", "refresh_token_seconds", K_INT64, F (refresh_token_seconds), 60, 366 * 86400 },
  { "auth", "password_kdf", K_PWKDF, F (password_kdf), 0, 0 },
  { "auth", "account_max_failures", K_INT64, F (account_max_failures), 1, 1000 },
  { "auth", "address_max_failures", K_INT64, F (address_max_failures), 1, 1000000 },
  { "auth", "failure_window_seconds", K_INT64, F (failure_window_seconds), 1, 86400 },
  { "auth", "lockout_seconds", K_INT64, F (lockout_seconds), 1, 7 * 86400 },
  { "auth", "refresh_retry_seconds", K_INT64, F (refresh_retry_seconds), 0, 300 },
  { "sync", "max_ops_per_push", K_UINT, F (max_ops_per_push), 1, 100000 },
  { "sync", "max_pull_limit", K_UINT, F (max_pull_limit), 1, 100000 },
  { "sync", "default_pull_limit", K_UINT, F (default_pull_limit), 1, 100000 },
  { "sync", "mass_delete_min", K_INT64, F (mass_delete_min), 1, G_MAXINT32 },
  { "sync", "mass_delete_percent", K_UINT, F (mass_delete_percent), 1, 100 },
  { "ai", "anthropic_base_url", K_URL, F (ai_anthropic_base_url), 0, 0 },
  { "ai", "anthropic_model", K_NAME, F (ai_anthropic_model), 0, 0 },
  { "ai", "openai_base_url", K_URL, F (ai_openai_base_url), 0, 0 },
  { "ai", "openai_model", K_NAME, F (ai_openai_model), 0, 0 },
  { "ai", "max_tokens", K_UINT, F (ai_max_tokens), 1, 128000 },
  { "ai", "timeout_seconds", K_UINT, F (ai_timeout_seconds), 1, 600 },
  { "ai", "connect_timeout_seconds", K_UINT, F (ai_connect_timeout_seconds), 1, 120 },
  { "ai", "retries", K_UINT, F (ai_retries), 0, 5 },
  { "ai", "max_retry_wait_seconds", K_UINT, F (ai_max_retry_wait_seconds), 0, 120 },
  { "ai", "max_text_chars", K_UINT, F (ai_max_text_chars), 1, 4 * 1024 * 1024 },
  { "ai", "ca_file", K_PATH, F (ai_ca_file), 0, 0 },
};

static const KeySpec *
find_key (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (strcmp (keys[i].group, group) == 0 && strcmp (keys[i].key, key) == 0)
      return &keys[i];
  return NULL;
}

static gboolean
known_group (const char *group)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (strcmp (keys[i].group, group) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
set_value (MtsServerConfig *c, const KeySpec *k, const char *value,
           const char *base_dir, GError **error)
{
  gpointer field = G_STRUCT_MEMBER_P (c, k->offset);
  guint64 n = 0;

  switch (k->kind)
    {
    case K_STRING:
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return TRUE;
    case K_PATH:
      g_free (*(char **) field);
      *(char **) field = g_path_is_absolute (value) || base_dir == NULL
                         ? g_strdup (value)
                         : g_build_filename (base_dir, value, NULL);
      return TRUE;
    case K_URL:
      {
        /* https only, and nothing a base URL should not hold: the path of
         * each request is appended to it. */
        g_autoptr(GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
        gsize len = strlen (value);

        if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
            g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
            g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL ||
            g_uri_get_fragment (uri) != NULL)
          {
            g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                         "[%s] %s: must be an https:// URL without user, query or fragment",
                         k->group, k->key);
            return FALSE;
          }
        g_free (*(char **) field);
        while (len > 0 && value[len - 1] == '/')
          len--;
        *(char **) field = g_strndup (value, len);
        return TRUE;
      }
    case K_NAME:
      /* A model name: printable ASCII without spaces or quotes. */
      for (const char *p = value; *p != '\0'; p++)
        if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
          goto bad;
      if (*value == '\0' || strlen (value) > 200)
        break;
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return TRUE;
    case K_BACKEND:
      if (strcmp (value, "sqlite") != 0)
        break;
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return TRUE;
    case K_KDF:
      if (!mts_kdf_level_from_string (value, (MtsKdfLevel *) field))
        break;
      return TRUE;
    case K_PWKDF:
      if (strcmp (value, "moderate") == 0)
        *(MtsPasswordLevel *) field = MTS_PASSWORD_LEVEL_MODERATE;
      else if (strcmp (value, "interactive") == 0)
        *(MtsPasswordLevel *) field = MTS_PASSWORD_LEVEL_INTERACTIVE;
      else if (strcmp (value, "min") == 0)
        *(MtsPasswordLevel *) field = MTS_PASSWORD_LEVEL_MIN;
      else
        break;
      return TRUE;
    case K_UINT:
    case K_INT64:
    case K_SIZE:
      if (!g_ascii_string_to_unsigned (value, 10, k->min, k->max, &n, NULL))
        {
          g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                       "[%s] %s: must be a whole number from %" G_GINT64_FORMAT
                       " to %" G_GINT64_FORMAT, k->group, k->key, k->min, k->max);
          return FALSE;
        }
      if (k->kind == K_UINT)
        *(guint *) field = (guint) n;
      else if (k->kind == K_INT64)
        *(gint64 *) field = (gint64) n;
      else
        *(gsize *) field = (gsize) n;
      return TRUE;
    }
bad:
  g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
               "[%s] %s: \"%s\" is not a value it can take (see docs/server.md)",
               k->group, k->key, value);
  return FALSE;
}

MtsServerConfig *
mts_server_config_load (const char *path, GError **error)
{
  g_autoptr(MtsServerConfig) c = g_new0 (MtsServerConfig, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  g_autofree char *base_dir = NULL;

  c->listen = g_strdup ("127.0.0.1");
  c->port = 8443;
  c->max_body_bytes = 8 * 1024 * 1024;
  c->storage_backend = g_strdup ("sqlite");
  c->storage_path = g_strdup ("mts-server.db");
  c->vault_dir = g_strdup ("vault");
  c->vault_kdf = MTS_KDF_MODERATE;
  c->access_token_seconds = 900;
  c->refresh_token_seconds = 30 * 86400;
  c->password_kdf = MTS_PASSWORD_LEVEL_MODERATE;
  c->account_max_failures = 5;
  c->address_max_failures = 50;
  c->failure_window_seconds = 900;
  c->lockout_seconds = 900;
  c->refresh_retry_seconds = 30;
  c->max_ops_per_push = 1000;
  c->max_pull_limit = 5000;
  c->default_pull_limit = 500;
  c->mass_delete_min = 20;
  c->mass_delete_percent = 25;
  c->ai_anthropic_base_url = g_strdup ("https://api.anthropic.com");
  c->ai_anthropic_model = g_strdup ("claude-sonnet-4-5");
  c->ai_openai_base_url = g_strdup ("https://api.openai.com");
  c->ai_openai_model = g_strdup ("gpt-4o");
  c->ai_max_tokens = 2048;
  c->ai_timeout_seconds = 60;
  c->ai_connect_timeout_seconds = 10;
  c->ai_retries = 1;
  c->ai_max_retry_wait_seconds = 10;
  c->ai_max_text_chars = 50000;

  if (path == NULL)
    return g_steal_pointer (&c);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  base_dir = g_path_get_dirname (path);

  /* The defaults' relative paths are relative to the config file too. */
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (keys[i].kind == K_PATH)
      {
        char **field = G_STRUCT_MEMBER_P (c, keys[i].offset);
        if (*field != NULL && !g_path_is_absolute (*field))
          {
            char *abs = g_build_filename (base_dir, *field, NULL);
            g_free (*field);
            *field = abs;
          }
      }

  groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) names = NULL;

      if (!known_group (groups[g]))
        {
          g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                       "%s: unknown group [%s]", path, groups[g]);
          return NULL;
        }
      names = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (guint k = 0; names != NULL && names[k] != NULL; k++)
        {
          const KeySpec *spec = find_key (groups[g], names[k]);
          g_autofree char *value = NULL;

          if (spec == NULL)
            {
              g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                           "%s: unknown key %s in [%s]", path, names[k], groups[g]);
              return NULL;
            }
          value = g_key_file_get_string (kf, groups[g], names[k], error);
          if (value == NULL)
            return NULL;
          g_strstrip (value);
          if (!set_value (c, spec, value, base_dir, error))
            {
              g_prefix_error (error, "%s: ", path);
              return NULL;
            }
        }
    }

  if (c->default_pull_limit > c->max_pull_limit)
    {
      g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                   "%s: [sync] default_pull_limit is larger than max_pull_limit", path);
      return NULL;
    }
  return g_steal_pointer (&c);
}

void
mts_server_config_free (MtsServerConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->listen);
  g_free (c->tls_certificate);
  g_free (c->tls_key);
  g_free (c->storage_backend);
  g_free (c->storage_path);
  g_free (c->vault_dir);
  g_free (c->vault_passphrase_file);
  g_free (c->ai_anthropic_base_url);
  g_free (c->ai_anthropic_model);
  g_free (c->ai_openai_base_url);
  g_free (c->ai_openai_model);
  g_free (c->ai_ca_file);
  g_free (c);
}
