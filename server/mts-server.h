/* mts-server.h — the running server: its parts (configuration, storage,
 * vault, the libsoup server) and the helpers every endpoint uses to read a
 * request and answer it.  Endpoints live in mts-server-auth.c (login,
 * refresh, logout, and the bearer check), mts-server-sync.c (push, pull,
 * audit heads) and mts-server-ai.c (AI drafting); mts-server.c routes
 * requests to them, enforces the limits that apply to every request, and
 * shuts down gracefully.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "mts-server-config.h"
#include "mts-server-storage.h"
#include "mts-vault.h"

G_BEGIN_DECLS

#define MTS_PROTOCOL_VERSION 1
#define MTS_PROTOCOL_HEADER "MTS-Protocol"

typedef struct _MtsServer MtsServer;
typedef struct _MtsServerAi MtsServerAi;   /* mts-server-ai.h */

struct _MtsServer {
  MtsServerConfig *config;   /* borrowed */
  MtsStorage *storage;       /* borrowed */
  MtsVault *vault;           /* borrowed */
  SoupServer *soup;
  GMainLoop *loop;
  guint in_flight;           /* requests being handled, paused ones included */
  gboolean stopping;
  guint drain_source;        /* the give-up timer once stopping */
  gint64 last_upkeep;        /* monotonic time of the last storage upkeep */
  MtsServerAi *ai;           /* the AI relay (mts-server-ai.h) */
};

/* What the bearer token says about the caller. */
typedef struct {
  char *practice_id;
  char *user_id;
  char *device_id;
  char *role;
} MtsCaller;

void mts_caller_clear (MtsCaller *caller);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsCaller, mts_caller_clear)

/* Creates the server and listens on the configured address with TLS.
 * Returns (transfer full) (nullable). */
MtsServer *mts_server_new (MtsServerConfig *config, MtsStorage *storage, MtsVault *vault,
                           GError **error);

/* Runs until SIGTERM or SIGINT, then stops accepting, finishes the requests
 * in flight and returns. */
void mts_server_run (MtsServer *server);

void mts_server_free (MtsServer *server);

/* Routes GLib's own log messages through mts_log. */
void mts_server_install_log_writer (void);

/* Whether @s is a UUID in canonical lower-case text (the ids of devices
 * and records). */
gboolean mts_is_uuid (const char *s);

/* The current Unix time (seconds). */
gint64 mts_server_now (void);

/* --- answering ----------------------------------------------------------- */

/* Sends @node (an object) as the JSON response with @status. */
void mts_http_json (SoupServerMessage *msg, guint status, JsonNode *node);

/* Sends {"error": {"code", "message"[, "field"]}} with @status.  @field may
 * be NULL.  The message must never hold a secret or a record's content. */
void mts_http_error (SoupServerMessage *msg, guint status, const char *code,
                     const char *field, const char *format, ...) G_GNUC_PRINTF (5, 6);

/* Parses the request body as a JSON object.  On failure answers 400
 * (bad_json or invalid) and returns NULL.  Returns (transfer full). */
JsonNode *mts_http_body_object (SoupServerMessage *msg);

/* Keeps the handler's message alive while it is paused: takes a reference
 * and counts it in flight; mts_http_resume undoes both. */
void mts_http_hold (MtsServer *server, SoupServerMessage *msg);
void mts_http_resume (MtsServer *server, SoupServerMessage *msg);

/* --- checking JSON --------------------------------------------------------- */

/* Each checks that @object has no member outside @allowed (NULL-terminated)
 * and answers 400 invalid naming "<prefix><member>" if it has. */
gboolean mts_json_only (SoupServerMessage *msg, JsonObject *object, const char *prefix,
                        const char *const *allowed);

/* Fetches a required string member, answering 400 invalid if it is missing,
 * not a string, empty, or longer than @max_bytes. */
const char *mts_json_string (SoupServerMessage *msg, JsonObject *object, const char *prefix,
                             const char *member, gsize max_bytes);

/* --- logging --------------------------------------------------------------- */

/* Writes one JSON line to stderr: {"time", "level", "event", then the
 * key/value pairs}, the pairs given as const char * keys and values,
 * NULL-terminated.  Never pass a secret or record content. */
void mts_log (const char *level, const char *event, ...) G_GNUC_NULL_TERMINATED;

/* --- audit ----------------------------------------------------------------- */

/* Appends to the server's audit log; a failure is logged, never fatal to
 * the request (the request's own transaction decides). */
gboolean mts_server_audit (MtsServer *server, const char *practice_id, const char *actor,
                           const char *event, JsonBuilder *detail, GError **error);

/* --- endpoints ------------------------------------------------------------- */

/* mts-server-auth.c */
void mts_auth_login (MtsServer *server, SoupServerMessage *msg);
void mts_auth_refresh (MtsServer *server, SoupServerMessage *msg);
void mts_auth_logout (MtsServer *server, SoupServerMessage *msg);
/* Checks the bearer token.  On failure answers 401/403 and returns FALSE. */
gboolean mts_auth_caller (MtsServer *server, SoupServerMessage *msg, MtsCaller *caller);

/* mts-server-sync.c */
void mts_sync_push (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller);
void mts_sync_pull (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller,
                    GHashTable *query);
void mts_audit_head_post (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller);
void mts_audit_head_get (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller);

G_END_DECLS
