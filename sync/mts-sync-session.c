/* mts-sync-session.c — the device's login (see mts-sync-session.h). */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-sync-session.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-store-private.h"
#include "mts-uuid.h"

/* sync_state keys */
#define K_SERVER_URL    "server_url"
#define K_CA_FILE       "ca_file"
#define K_PINS          "pinned_public_key"
#define K_DEVICE_ID     "device_id"
#define K_PRACTICE      "practice"
#define K_USERNAME      "username"
#define K_PRACTICE_ID   "practice_id"
#define K_USER_ID       "user_id"
#define K_ROLE          "role"
#define K_REFRESH_TOKEN "refresh_token"

struct _MtsSyncSession
{
  GObject parent_instance;

  MtsStore *store;
  MtsSyncClient *client;        /* NULL until configured */
  GError *client_error;         /* why the stored configuration gives no client */

  char *server_url;
  char *ca_file;
  char *pins;
  char *device_id;
  char *practice;
  char *username;
  char *practice_id;
  char *user_id;
  char *role;

  char *refresh_token;          /* secret: wiped */
  char *access_token;           /* secret, memory only: wiped */
  gboolean token_unsaved;       /* refresh_token is newer than the stored one */
};

G_DEFINE_FINAL_TYPE (MtsSyncSession, mts_sync_session, G_TYPE_OBJECT)

/* ---- secrets ---- */

static void
secret_free (char *secret)
{
  if (secret != NULL)
    {
      sodium_memzero (secret, strlen (secret));
      g_free (secret);
    }
}

#define clear_secret(pp) G_STMT_START { secret_free (*(pp)); *(pp) = NULL; } G_STMT_END

/* Wipes the text of string member @name of @o in place.  json-glib hands
 * out its own storage (const only by convention), and the node is ours: a
 * password or token must not stay behind in freed memory. */
static void
wipe_member (JsonObject *o, const char *name)
{
  JsonNode *node = o != NULL ? json_object_get_member (o, name) : NULL;
  char *text;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return;
  text = (char *) json_node_get_string (node);
  if (text != NULL)
    sodium_memzero (text, strlen (text));
}

/* A non-empty string member of @o, or NULL. */
static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *node = json_object_get_member (o, name);
  const char *text;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  text = json_node_get_string (node);
  return text != NULL && *text != '\0' ? text : NULL;
}

/* ---- the object ---- */

static void
mts_sync_session_finalize (GObject *object)
{
  MtsSyncSession *s = MTS_SYNC_SESSION (object);

  clear_secret (&s->refresh_token);
  clear_secret (&s->access_token);
  g_clear_object (&s->client);
  g_clear_error (&s->client_error);
  g_clear_object (&s->store);
  g_free (s->server_url);
  g_free (s->ca_file);
  g_free (s->pins);
  g_free (s->device_id);
  g_free (s->practice);
  g_free (s->username);
  g_free (s->practice_id);
  g_free (s->user_id);
  g_free (s->role);

  G_OBJECT_CLASS (mts_sync_session_parent_class)->finalize (object);
}

static void
mts_sync_session_class_init (MtsSyncSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mts_sync_session_finalize;
}

static void
mts_sync_session_init (MtsSyncSession *s)
{
}

/* ---- sync_state ---- */

/* Sets @key to @value (NULL deletes it), in the caller's transaction if
 * one is open. */
static gboolean
state_put (MtsSyncSession *s, const char *key, const char *value, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (s->store,
                                        value != NULL
                                        ? "INSERT OR REPLACE INTO sync_state (key, value) "
                                          "VALUES (?1, ?2)"
                                        : "DELETE FROM sync_state WHERE key = ?1", error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, key);
  if (value != NULL)
    mts_store_bind_text (st, 2, value);
  return mts_store_step_finalize (s->store, st, error);
}

/* Stores @token encrypted in its context, bound to this store.  The token
 * is bound without a copy and the statement finalized before returning. */
static gboolean
state_put_token (MtsSyncSession *s, const char *token, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (s->store,
                                        "INSERT OR REPLACE INTO sync_state (key, value) VALUES "
                                        "('" K_REFRESH_TOKEN "', mts_encrypt (?1, "
                                        "'sync_state." K_REFRESH_TOKEN ":' || ?2))", error);

  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, token, -1, SQLITE_STATIC);
  mts_store_bind_text (st, 2, mts_store_get_id (s->store));
  return mts_store_step_finalize (s->store, st, error);
}

/* Reads the stored refresh token, decrypted, into @out (NULL if none). */
static gboolean
state_get_token (MtsSyncSession *s, char **out, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (s->store,
                                        "SELECT mts_decrypt (value, 'sync_state." K_REFRESH_TOKEN
                                        ":' || ?1) FROM sync_state WHERE key = '"
                                        K_REFRESH_TOKEN "'", error);
  int rc;

  *out = NULL;
  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, mts_store_get_id (s->store));
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    {
      const char *text = (const char *) sqlite3_column_text (st, 0);
      *out = g_strndup (text, (gsize) sqlite3_column_bytes (st, 0));
    }
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      mts_store_db_fail (s->store, error, "cannot read the refresh token");
      sqlite3_finalize (st);
      return FALSE;
    }
  sqlite3_finalize (st);
  return TRUE;
}

static gboolean
audit (MtsSyncSession *s, const char *kind, const char *target, const char *detail,
       GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (s->store, "SELECT mts_audit_event (?1, ?2, ?3)", error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, kind);
  mts_store_bind_text (st, 2, target);
  mts_store_bind_text (st, 3, detail);
  return mts_store_step_finalize (s->store, st, error);
}

/* Deletes the stored refresh token, forgets both tokens. */
static gboolean
forget_tokens (MtsSyncSession *s, GError **error)
{
  clear_secret (&s->refresh_token);
  clear_secret (&s->access_token);
  return state_put (s, K_REFRESH_TOKEN, NULL, error);
}

static void
replace (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* Makes the client from the configuration, or records why it cannot. */
static void
make_client (MtsSyncSession *s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) client = NULL;

  g_clear_object (&s->client);
  g_clear_error (&s->client_error);
  if (s->server_url == NULL)
    return;
  client = mts_sync_client_new (s->server_url, s->ca_file, &error);
  if (client != NULL && s->pins != NULL)
    mts_sync_client_set_pinned_public_key (client, s->pins, &error);
  if (error != NULL)
    {
      g_prefix_error (&error, "the stored server configuration cannot be used: ");
      s->client_error = g_steal_pointer (&error);
      return;
    }
  s->client = g_steal_pointer (&client);
}

/* Whether requests can be made: unlocked, configured. */
static gboolean
require_client (MtsSyncSession *s, GError **error)
{
  if (!mts_store_require_unlocked (s->store, error))
    return FALSE;
  if (s->client_error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->client_error));
      return FALSE;
    }
  if (s->client == NULL)
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN,
                           "no server is configured: set the server's address first");
      return FALSE;
    }
  return TRUE;
}

/* The stored device id. (transfer full) */
static char *
query_device_id (MtsSyncSession *s, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (s->store, "SELECT value FROM sync_state "
                                                  "WHERE key = '" K_DEVICE_ID "'", error);
  char *id = NULL;

  if (st == NULL)
    return NULL;
  if (sqlite3_step (st) == SQLITE_ROW)
    id = mts_store_column_dup (st, 0);
  else
    g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB,
                         "the store's device id cannot be read");
  sqlite3_finalize (st);
  return id;
}

MtsSyncSession *
mts_sync_session_new (MtsStore *store, GError **error)
{
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(GError) token_error = NULL;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  s = g_object_new (MTS_TYPE_SYNC_SESSION, NULL);
  s->store = g_object_ref (store);

  st = mts_store_prepare (store, "SELECT key, value FROM sync_state WHERE key IN ('"
                          K_SERVER_URL "', '" K_CA_FILE "', '" K_PINS "', '" K_DEVICE_ID "', '"
                          K_PRACTICE "', '" K_USERNAME "', '" K_PRACTICE_ID "', '" K_USER_ID
                          "', '" K_ROLE "')", error);
  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (st, 0);
      char **field = g_str_equal (key, K_SERVER_URL)  ? &s->server_url
                   : g_str_equal (key, K_CA_FILE)     ? &s->ca_file
                   : g_str_equal (key, K_PINS)        ? &s->pins
                   : g_str_equal (key, K_DEVICE_ID)   ? &s->device_id
                   : g_str_equal (key, K_PRACTICE)    ? &s->practice
                   : g_str_equal (key, K_USERNAME)    ? &s->username
                   : g_str_equal (key, K_PRACTICE_ID) ? &s->practice_id
                   : g_str_equal (key, K_USER_ID)     ? &s->user_id
                   :                                    &s->role;

      replace (field, (const char *) sqlite3_column_text (st, 1));
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      mts_store_db_fail (store, error, "cannot read the sync state");
      return NULL;
    }
  if (s->device_id == NULL)
    {
      /* The first session on this store makes the device id (OR IGNORE:
       * another process may have made it meanwhile; its id wins). */
      g_autofree char *made = mts_uuid7_new ();

      st = mts_store_prepare (store, "INSERT OR IGNORE INTO sync_state (key, value) "
                                     "VALUES ('" K_DEVICE_ID "', ?1)", error);
      if (st == NULL)
        return NULL;
      mts_store_bind_text (st, 1, made);
      if (!mts_store_step_finalize (store, st, error))
        return NULL;
      s->device_id = query_device_id (s, error);
      if (s->device_id == NULL)
        return NULL;
    }
  if (!mts_uuid_is_valid (s->device_id))
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB,
                           "the store's device id is missing or not a UUID");
      return NULL;
    }

  if (!state_get_token (s, &s->refresh_token, &token_error))
    {
      if (token_error->domain == MTS_STORE_ERROR && token_error->code == MTS_STORE_ERROR_LOCKED)
        {
          g_propagate_error (error, g_steal_pointer (&token_error));
          return NULL;
        }
      /* Not this store's, or altered: no login rather than no session. */
      g_warning ("the stored refresh token cannot be used (%s): log in again",
                 token_error->message);
    }
  make_client (s);
  return g_steal_pointer (&s);
}

gboolean
mts_sync_session_configure (MtsSyncSession *session, const char *server_url,
                            const char *ca_file, GError **error)
{
  MtsSyncSession *s = session;
  g_autoptr(MtsSyncClient) client = NULL;
  g_autofree char *ca = NULL;
  const char *url;
  gboolean moved;

  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), FALSE);
  g_return_val_if_fail (server_url != NULL, FALSE);

  if (!mts_store_require_unlocked (s->store, error))
    return FALSE;
  /* An absolute CA path, so that it means the same from any folder. */
  if (ca_file != NULL)
    ca = g_canonicalize_filename (ca_file, NULL);
  client = mts_sync_client_new (server_url, ca, error);
  if (client == NULL)
    return FALSE;
  if (s->pins != NULL && !mts_sync_client_set_pinned_public_key (client, s->pins, error))
    return FALSE;
  url = mts_sync_client_get_base_url (client);
  moved = s->server_url != NULL && strcmp (s->server_url, url) != 0;

  if (!mts_store_begin (s->store, error))
    return FALSE;
  if (!state_put (s, K_SERVER_URL, url, error) ||
      !state_put (s, K_CA_FILE, ca, error) ||
      (moved && (!state_put (s, K_REFRESH_TOKEN, NULL, error) ||
                 !state_put (s, K_PRACTICE_ID, NULL, error) ||
                 !state_put (s, K_USER_ID, NULL, error) ||
                 !state_put (s, K_ROLE, NULL, error))) ||
      !mts_store_commit (s->store, error))
    {
      mts_store_rollback (s->store);
      return FALSE;
    }

  replace (&s->server_url, url);
  replace (&s->ca_file, ca);
  if (moved)
    {
      clear_secret (&s->refresh_token);
      clear_secret (&s->access_token);
      g_clear_pointer (&s->practice_id, g_free);
      g_clear_pointer (&s->user_id, g_free);
      g_clear_pointer (&s->role, g_free);
    }
  g_clear_object (&s->client);
  g_clear_error (&s->client_error);
  s->client = g_steal_pointer (&client);
  return TRUE;
}

gboolean
mts_sync_session_set_pinned_public_key (MtsSyncSession *session, const char *pins,
                                        GError **error)
{
  MtsSyncSession *s = session;

  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), FALSE);

  if (!mts_store_require_unlocked (s->store, error))
    return FALSE;
  if (s->client == NULL)
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                           "set the server's address before pinning its key");
      return FALSE;
    }
  if (!mts_sync_client_set_pinned_public_key (s->client, pins, error))
    return FALSE;
  if (!state_put (s, K_PINS, pins, error))
    {
      mts_sync_client_set_pinned_public_key (s->client, s->pins, NULL);
      return FALSE;
    }
  replace (&s->pins, pins);
  return TRUE;
}

/* ---- logging in ---- */

/* Records a refused login in the audit log; a failure to record it is
 * logged, not returned (the login's own error matters more). */
static void
audit_failure (MtsSyncSession *s, const char *target, const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *detail = g_strdup_printf ("server=%s device=%s reason=%s",
                                             mts_sync_client_get_host (s->client), s->device_id,
                                             reason);

  if (!audit (s, "login-failed", target, detail, &error))
    g_warning ("cannot record the failed login in the audit log: %s", error->message);
}

/* Revokes the tokens of a login that is being refused (best effort). */
static void
revoke_quietly (MtsSyncSession *s, const char *access_token, GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = mts_sync_client_request (s->client, "POST", "/v1/auth/logout",
                                                        NULL, access_token, cancellable,
                                                        NULL, NULL, &error);

  if (answer == NULL)
    g_warning ("cannot revoke the refused login's tokens on the server: %s", error->message);
}

gboolean
mts_sync_session_login (MtsSyncSession *session, const char *practice, const char *username,
                        const char *password, const char *totp_code, const char *device_name,
                        GCancellable *cancellable, GError **error)
{
  MtsSyncSession *s = session;
  g_autoptr(JsonObject) request = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *code = NULL;
  g_autofree char *target = NULL;
  g_autofree char *detail = NULL;
  JsonObject *o = NULL;
  const char *access, *refresh, *practice_id, *user_id, *role, *device_id;
  gboolean ok = FALSE;
  guint status = 0;

  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), FALSE);
  g_return_val_if_fail (practice != NULL && username != NULL, FALSE);
  g_return_val_if_fail (password != NULL && totp_code != NULL, FALSE);

  if (!require_client (s, error))
    return FALSE;
  target = g_strdup_printf ("%s/%s", practice, username);

  request = json_object_new ();
  json_object_set_string_member (request, "practice", practice);
  json_object_set_string_member (request, "username", username);
  json_object_set_string_member (request, "password", password);
  json_object_set_string_member (request, "totp", totp_code);
  json_object_set_string_member (request, "device_id", s->device_id);
  if (device_name != NULL)
    json_object_set_string_member (request, "device_name", device_name);
  body = json_node_init_object (json_node_alloc (), request);

  answer = mts_sync_client_request (s->client, "POST", "/v1/auth/login", body, NULL,
                                    cancellable, &status, &code, &local);
  wipe_member (request, "password");
  wipe_member (request, "totp");
  if (answer == NULL)
    {
      /* A refusal by the server is a failed authentication to record; not
       * reaching it, or its failing, is not. */
      if (status >= 400 && status < 500)
        audit_failure (s, target, code != NULL ? code : "refused");
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  if (JSON_NODE_HOLDS_OBJECT (answer))
    o = json_node_get_object (answer);
  access = o != NULL ? member_string (o, "access_token") : NULL;
  refresh = o != NULL ? member_string (o, "refresh_token") : NULL;
  practice_id = o != NULL ? member_string (o, "practice_id") : NULL;
  user_id = o != NULL ? member_string (o, "user_id") : NULL;
  role = o != NULL ? member_string (o, "role") : NULL;
  device_id = o != NULL ? member_string (o, "device_id") : NULL;
  if (access == NULL || refresh == NULL || practice_id == NULL || user_id == NULL ||
      role == NULL || g_strcmp0 (device_id, s->device_id) != 0)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                   "the server %s answered the login without its tokens, ids or this "
                   "device's id", mts_sync_client_get_host (s->client));
      goto out;
    }

  if (s->practice_id != NULL && strcmp (s->practice_id, practice_id) != 0)
    {
      revoke_quietly (s, access, cancellable);
      audit_failure (s, target, "other-practice");
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REFUSED,
                   "this store holds the records of another practice than %s: log in to "
                   "that practice, or use a new store for this one", practice);
      goto out;
    }

  detail = g_strdup_printf ("server=%s device=%s practice_id=%s user_id=%s role=%s",
                            mts_sync_client_get_host (s->client), s->device_id, practice_id,
                            user_id, role);
  if (!mts_store_begin (s->store, error))
    goto out;
  if (!state_put (s, K_PRACTICE, practice, error) ||
      !state_put (s, K_USERNAME, username, error) ||
      !state_put (s, K_PRACTICE_ID, practice_id, error) ||
      !state_put (s, K_USER_ID, user_id, error) ||
      !state_put (s, K_ROLE, role, error) ||
      !state_put_token (s, refresh, error) ||
      !audit (s, "login", target, detail, error) ||
      !mts_store_commit (s->store, error))
    {
      mts_store_rollback (s->store);
      goto out;
    }

  replace (&s->practice, practice);
  replace (&s->username, username);
  replace (&s->practice_id, practice_id);
  replace (&s->user_id, user_id);
  replace (&s->role, role);
  clear_secret (&s->refresh_token);
  clear_secret (&s->access_token);
  s->refresh_token = g_strdup (refresh);
  s->access_token = g_strdup (access);
  ok = TRUE;

out:
  wipe_member (o, "access_token");
  wipe_member (o, "refresh_token");
  return ok;
}

/* ---- refreshing ---- */

/* POST /v1/auth/refresh with the refresh token; stores the rotated one
 * before the new access token is used. */
static gboolean
refresh (MtsSyncSession *s, GCancellable *cancellable, guint *status_out, char **code_out,
         GError **error)
{
  g_autoptr(JsonObject) request = json_object_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *code = NULL;
  JsonObject *o = NULL;
  const char *access, *rotated, *role;
  gboolean ok = FALSE;

  clear_secret (&s->access_token);
  /* Another session on this store (the app's, or a sync on a worker
   * thread) may have rotated the token since this one read it: the stored
   * token is the live one, unless this session's own could not be stored. */
  if (!s->token_unsaved)
    {
      char *stored = NULL;

      if (state_get_token (s, &stored, NULL) && stored != NULL)
        {
          clear_secret (&s->refresh_token);
          s->refresh_token = stored;
        }
      else if (s->refresh_token == NULL)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN,
                       "not logged in to %s: log in again",
                       mts_sync_client_get_host (s->client));
          return FALSE;
        }
    }
  json_object_set_string_member (request, "refresh_token", s->refresh_token);
  body = json_node_init_object (json_node_alloc (), request);
  /* Not cancellable: once the server has rotated the token, the answer
   * carrying the new one must not be dropped (the request is bounded by
   * the client's timeouts all the same). */
  answer = mts_sync_client_request (s->client, "POST", "/v1/auth/refresh", body, NULL,
                                    NULL, status_out, &code, &local);
  wipe_member (request, "refresh_token");
  if (answer == NULL)
    {
      if (g_error_matches (local, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH))
        {
          /* token_reused (someone else used it: the whole login is revoked),
           * unauthorized (expired, revoked, unknown): only a new login helps. */
          g_autoptr(GError) store_error = NULL;

          if (!forget_tokens (s, &store_error))
            g_warning ("cannot clear the refused refresh token: %s", store_error->message);
          g_prefix_error (&local, "the login has ended; log in again: ");
        }
      if (code_out != NULL)
        *code_out = g_steal_pointer (&code);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  if (JSON_NODE_HOLDS_OBJECT (answer))
    o = json_node_get_object (answer);
  access = o != NULL ? member_string (o, "access_token") : NULL;
  rotated = o != NULL ? member_string (o, "refresh_token") : NULL;
  role = o != NULL ? member_string (o, "role") : NULL;
  if (access == NULL || rotated == NULL)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                   "the server %s answered the refresh without its tokens",
                   mts_sync_client_get_host (s->client));
      goto out;
    }

  /* The old refresh token is spent now: keep the new one in memory even if
   * it cannot be stored, so that the next attempt stores it. */
  clear_secret (&s->refresh_token);
  s->refresh_token = g_strdup (rotated);
  s->token_unsaved = TRUE;
  if (!mts_store_begin (s->store, error))
    goto out;
  if (!state_put_token (s, rotated, error) ||
      (role != NULL && !state_put (s, K_ROLE, role, error)) ||
      !mts_store_commit (s->store, error))
    {
      mts_store_rollback (s->store);
      goto out;
    }
  s->token_unsaved = FALSE;
  if (role != NULL)
    replace (&s->role, role);
  s->access_token = g_strdup (access);
  ok = TRUE;

out:
  wipe_member (o, "access_token");
  wipe_member (o, "refresh_token");
  return ok;
}

JsonNode *
mts_sync_session_request (MtsSyncSession *session, const char *method,
                          const char *path_and_query, JsonNode *body,
                          GCancellable *cancellable, guint *status_out,
                          char **server_code_out, GError **error)
{
  MtsSyncSession *s = session;
  gboolean refreshed = FALSE;

  if (status_out != NULL)
    *status_out = 0;
  if (server_code_out != NULL)
    *server_code_out = NULL;
  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), NULL);
  g_return_val_if_fail (method != NULL && path_and_query != NULL, NULL);

  if (!require_client (s, error))
    return NULL;
  if (s->refresh_token == NULL)
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN,
                           "this device is not logged in to the server: log in first");
      return NULL;
    }
  if (s->access_token == NULL)
    {
      if (!refresh (s, cancellable, status_out, server_code_out, error))
        return NULL;
      refreshed = TRUE;
    }

  for (;;)
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *code = NULL;
      JsonNode *answer = mts_sync_client_request (s->client, method, path_and_query, body,
                                                  s->access_token, cancellable, status_out,
                                                  &code, &local);

      if (answer != NULL)
        return answer;
      if (!refreshed && g_error_matches (local, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH) &&
          (g_strcmp0 (code, "token_expired") == 0 || g_strcmp0 (code, "unauthorized") == 0))
        {
          /* @code is the server's error code (token_expired), never a token. */
          g_debug ("%s %s: the server refused the access token (%s); refreshing", method,
                   path_and_query, code);
          if (!refresh (s, cancellable, status_out, server_code_out, error))
            return NULL;
          refreshed = TRUE;
          continue;
        }
      if (server_code_out != NULL)
        *server_code_out = g_steal_pointer (&code);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
}

gboolean
mts_sync_session_logout (MtsSyncSession *session, GCancellable *cancellable, GError **error)
{
  MtsSyncSession *s = session;
  g_autoptr(GError) server_error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *target = NULL;

  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), FALSE);

  if (!mts_store_require_unlocked (s->store, error))
    return FALSE;
  if (s->refresh_token != NULL)
    {
      answer = mts_sync_session_request (s, "POST", "/v1/auth/logout", NULL, cancellable,
                                         NULL, NULL, &server_error);
      /* Refused or revoked tokens are as good as revoked. */
      if (g_error_matches (server_error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH) ||
          g_error_matches (server_error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED))
        g_clear_error (&server_error);
    }

  target = g_strdup_printf ("%s/%s", s->practice != NULL ? s->practice : "",
                            s->username != NULL ? s->username : "");
  if (!mts_store_begin (s->store, error))
    return FALSE;
  if (!forget_tokens (s, error) ||
      !audit (s, "logout", target, server_error != NULL ? "server not told" : NULL, error) ||
      !mts_store_commit (s->store, error))
    {
      mts_store_rollback (s->store);
      return FALSE;
    }
  if (server_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&server_error),
                                  "logged out on this device, but the server could not be "
                                  "told: ");
      return FALSE;
    }
  return TRUE;
}

/* ---- state ---- */

gboolean
mts_sync_session_is_logged_in (MtsSyncSession *session)
{
  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), FALSE);
  return session->refresh_token != NULL;
}

MtsStore *
mts_sync_session_get_store (MtsSyncSession *session)
{
  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), NULL);
  return session->store;
}

MtsSyncClient *
mts_sync_session_get_client (MtsSyncSession *session)
{
  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), NULL);
  return session->client;
}

#define GETTER(name) \
  const char *                                                           \
  mts_sync_session_get_##name (MtsSyncSession *session)                  \
  {                                                                      \
    g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), NULL);          \
    return session->name;                                                \
  }

GETTER (device_id)
GETTER (server_url)
GETTER (ca_file)
GETTER (practice)
GETTER (username)
GETTER (practice_id)
GETTER (user_id)
GETTER (role)
