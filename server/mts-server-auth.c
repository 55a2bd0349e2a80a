/* mts-server-auth.c — login (password, then TOTP), token refresh with
 * rotation and replay detection, logout, and the bearer check every other
 * endpoint goes through.  docs/api.md describes the wire side.
 *
 * A login runs in three steps: the cheap checks (shape, lockout, rate
 * limit) on the main thread; the Argon2id verification in a worker thread
 * with the request paused, so other clients are answered meanwhile; then
 * TOTP, counters, device, tokens and the audit entry in one transaction.
 * Unknown practices and users are verified against a dummy hash so their
 * failures take as long as a wrong password, and every failure gets the
 * same answer. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server.h"

#include <sodium.h>
#include <string.h>

#include "mts-password.h"
#include "mts-tokens.h"
#include "mts-totp.h"

#define MAX_NAME_BYTES 64
#define MAX_DEVICE_NAME_BYTES 200
#define UUID_LEN 36

/* --- answers ----------------------------------------------------------- */

static void
retry_after (SoupServerMessage *msg, gint64 seconds)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, MAX (seconds, 1));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Retry-After", text);
}

static void
invalid_credentials (SoupServerMessage *msg)
{
  mts_http_error (msg, 401, "invalid_credentials", NULL,
                  "the practice, username, password or code is not right");
}

static void
internal_error (SoupServerMessage *msg, const char *what, GError *error)
{
  mts_log ("error", "internal", "during", what, "error", error ? error->message : NULL, NULL);
  mts_http_error (msg, 500, "internal", NULL, "the server failed; nothing was changed");
}

/* Issues an access token and a refresh token of @family, stores their hashes
 * and answers with them. */
static gboolean
issue_tokens (MtsServer *server, SoupServerMessage *msg, const char *practice_id,
              const char *user_id, const char *role, const char *device_id,
              const char *family, GError **error)
{
  const MtsServerConfig *c = server->config;
  gint64 now = mts_server_now ();
  g_autofree char *access = NULL, *refresh = NULL;
  MtsTokenRow row = { 0 };
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  gboolean ok;

  row.practice_id = (char *) practice_id;
  row.user_id = (char *) user_id;
  row.device_id = (char *) device_id;
  row.family = (char *) family;

  mts_token_new (MTS_TOKEN_ACCESS, &access, row.hash);
  row.kind = MTS_TOKEN_ACCESS;
  row.expires_at = now + c->access_token_seconds;
  ok = server->storage->ops->token_put (server->storage, &row, error);
  if (ok)
    {
      mts_token_new (MTS_TOKEN_REFRESH, &refresh, row.hash);
      row.kind = MTS_TOKEN_REFRESH;
      row.expires_at = now + c->refresh_token_seconds;
      ok = server->storage->ops->token_put (server->storage, &row, error);
    }
  if (!ok)
    return FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "access_token");
  json_builder_add_string_value (b, access);
  json_builder_set_member_name (b, "token_type");
  json_builder_add_string_value (b, "Bearer");
  json_builder_set_member_name (b, "expires_in");
  json_builder_add_int_value (b, c->access_token_seconds);
  json_builder_set_member_name (b, "refresh_token");
  json_builder_add_string_value (b, refresh);
  json_builder_set_member_name (b, "refresh_expires_in");
  json_builder_add_int_value (b, c->refresh_token_seconds);
  json_builder_set_member_name (b, "practice_id");
  json_builder_add_string_value (b, practice_id);
  json_builder_set_member_name (b, "user_id");
  json_builder_add_string_value (b, user_id);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, role);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, device_id);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  mts_http_json (msg, 200, root);
  sodium_memzero (access, strlen (access));
  sodium_memzero (refresh, strlen (refresh));
  return TRUE;
}

/* --- failure counters -------------------------------------------------- */

/* Adds a failure to @key's window; returns the failures in the window. */
static gint64
count_failure (MtsServer *server, const char *key, gint64 now, gint64 lock_at,
               gint64 *locked_until, GError **error)
{
  MtsStorage *s = server->storage;
  gint64 failures = 0, window_start = 0, until = 0;

  if (!s->ops->attempt_get (s, key, &failures, &window_start, &until, error))
    return -1;
  if (now - window_start >= server->config->failure_window_seconds)
    {
      failures = 0;
      window_start = now;
    }
  failures++;
  if (lock_at > 0 && failures >= lock_at)
    until = now + server->config->lockout_seconds;
  if (!s->ops->attempt_put (s, key, failures, window_start, until, error))
    return -1;
  *locked_until = until;
  return failures;
}

/* --- login ------------------------------------------------------------- */

typedef struct {
  MtsServer *server;
  SoupServerMessage *msg;
  char *address;
  char *slug;
  char *username;
  char *password;          /* wiped on free */
  char code[MTS_TOTP_CODE_BUF];
  char *device_id;
  char *device_name;
  char *account_key;
  char *address_key;
  MtsPracticeRow practice;
  MtsUserRow user;
  gboolean known;          /* practice and user exist */
  char *hash;              /* what the password is checked against */
  gboolean password_ok;
} Login;

static void
login_free (Login *l)
{
  if (l->password != NULL)
    {
      sodium_memzero (l->password, strlen (l->password));
      g_free (l->password);
    }
  sodium_memzero (l->code, sizeof l->code);
  g_free (l->address);
  g_free (l->slug);
  g_free (l->username);
  g_free (l->device_id);
  g_free (l->device_name);
  g_free (l->account_key);
  g_free (l->address_key);
  g_free (l->hash);
  mts_practice_row_clear (&l->practice);
  mts_user_row_clear (&l->user);
  g_free (l);
}

/* A hash to verify against when the user does not exist, made once at the
 * configured cost so that an unknown user takes as long as a known one. */
static const char *
dummy_hash (MtsPasswordLevel level)
{
  static char *hashes[3];

  if (hashes[level] == NULL)
    {
      guint8 noise[16];
      char text[sizeof noise * 2 + 1];

      randombytes_buf (noise, sizeof noise);
      sodium_bin2hex (text, sizeof text, noise, sizeof noise);
      hashes[level] = mts_password_hash (text, level, NULL);
      sodium_memzero (text, sizeof text);
    }
  return hashes[level];
}

static void
verify_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Login *l = data;
  g_autoptr(GError) error = NULL;

  l->password_ok = l->hash != NULL && mts_password_verify (l->hash, l->password, &error);
  sodium_memzero (l->password, strlen (l->password));
  g_task_return_boolean (task, TRUE);
}

static void
login_audit_failure (Login *l, const char *reason, GError **error)
{
  g_autoptr(JsonBuilder) d = json_builder_new ();

  json_builder_begin_object (d);
  json_builder_set_member_name (d, "practice");
  json_builder_add_string_value (d, l->slug);
  json_builder_set_member_name (d, "username");
  json_builder_add_string_value (d, l->username);
  json_builder_set_member_name (d, "reason");
  json_builder_add_string_value (d, reason);
  json_builder_set_member_name (d, "address");
  json_builder_add_string_value (d, l->address);
  json_builder_set_member_name (d, "device_id");
  json_builder_add_string_value (d, l->device_id);
  json_builder_end_object (d);
  mts_server_audit (l->server, l->known ? l->practice.id : NULL,
                    l->known ? l->user.id : "anonymous", "login-failed", d, error);
}

/* Counts the failure against the account and the address, audits it and
 * answers 401 (or 423 once the account is locked). */
static void
login_fail (Login *l, const char *reason)
{
  MtsServer *server = l->server;
  MtsStorage *s = server->storage;
  g_autoptr(GError) error = NULL;
  gint64 now = mts_server_now (), locked_until = 0, ignored = 0;

  if (!s->ops->begin (s, &error))
    {
      internal_error (l->msg, "login-failure", error);
      return;
    }
  if (count_failure (server, l->account_key, now, server->config->account_max_failures,
                     &locked_until, &error) < 0 ||
      count_failure (server, l->address_key, now, 0, &ignored, &error) < 0)
    goto fail;
  login_audit_failure (l, reason, &error);
  if (error != NULL || !s->ops->commit (s, &error))
    goto fail;

  mts_log ("info", "login-failed", "reason", reason, "remote", l->address, NULL);
  if (locked_until > now)
    {
      retry_after (l->msg, locked_until - now);
      mts_http_error (l->msg, 423, "account_locked", NULL,
                      "too many failed logins: this account is locked for a while; "
                      "an administrator can unlock it");
    }
  else
    invalid_credentials (l->msg);
  return;

fail:
  s->ops->rollback (s);
  internal_error (l->msg, "login-failure", error);
}

static void
login_finish (Login *l)
{
  MtsServer *server = l->server;
  MtsStorage *s = server->storage;
  g_autoptr(GError) error = NULL;
  g_auto(MtsDeviceRow) device = { 0 };
  gint64 now = mts_server_now (), matched = 0;
  char *secret;
  gsize secret_len = 0;
  g_autofree char *context = NULL;
  g_autofree char *family = NULL;
  gboolean code_ok;
  MtsStorageFound found;

  if (!l->known)
    {
      login_fail (l, "unknown-user");
      return;
    }
  if (!l->password_ok)
    {
      login_fail (l, "wrong-password");
      return;
    }
  if (l->user.disabled)
    {
      login_fail (l, "disabled");
      return;
    }

  context = g_strconcat ("totp:", l->user.id, NULL);
  secret = mts_vault_unseal (server->vault, l->practice.id, context, l->user.totp_sealed,
                             &secret_len, &error);
  if (secret == NULL)
    {
      internal_error (l->msg, "totp-unseal", error);
      return;
    }
  code_ok = mts_totp_check ((const guint8 *) secret, secret_len, l->code, now,
                            l->user.totp_last_step, &matched, NULL);
  mts_vault_plain_free (secret);
  if (!code_ok)
    {
      login_fail (l, "wrong-code");
      return;
    }

  if (!s->ops->begin (s, &error))
    {
      internal_error (l->msg, "login", error);
      return;
    }
  found = s->ops->user_use_totp_step (s, l->user.id, matched, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND)
    {
      s->ops->rollback (s);
      login_fail (l, "reused-code");
      return;
    }

  found = s->ops->device_get (s, l->practice.id, l->device_id, &device, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_FOUND && device.revoked_at != 0)
    {
      s->ops->rollback (s);
      mts_http_error (l->msg, 403, "device_revoked", NULL,
                      "this device was revoked by the practice's administrator");
      return;
    }
  if (found == MTS_STORAGE_FOUND && strcmp (device.user_id, l->user.id) != 0)
    {
      s->ops->rollback (s);
      mts_http_error (l->msg, 403, "forbidden", "device_id",
                      "this device is registered to another user: use a new device id");
      return;
    }
  {
    MtsDeviceRow touch = { 0 };

    touch.id = l->device_id;
    touch.practice_id = l->practice.id;
    touch.user_id = l->user.id;
    touch.name = l->device_name;
    touch.created_at = now;
    touch.last_seen_at = now;
    if (!s->ops->device_touch (s, &touch, &error))
      goto fail;
  }
  if (!s->ops->attempt_clear (s, l->account_key, &error))
    goto fail;

  family = g_uuid_string_random ();
  if (!issue_tokens (server, l->msg, l->practice.id, l->user.id, l->user.role, l->device_id,
                     family, &error))
    goto fail;

  {
    g_autoptr(JsonBuilder) d = json_builder_new ();

    json_builder_begin_object (d);
    json_builder_set_member_name (d, "device_id");
    json_builder_add_string_value (d, l->device_id);
    json_builder_set_member_name (d, "address");
    json_builder_add_string_value (d, l->address);
    json_builder_set_member_name (d, "second_factor");
    json_builder_add_string_value (d, "totp");
    json_builder_end_object (d);
    if (!mts_server_audit (server, l->practice.id, l->user.id, "login", d, &error))
      goto fail;
  }
  if (!s->ops->commit (s, &error))
    goto fail;
  mts_log ("info", "login", "practice", l->practice.id, "user", l->user.id,
           "device", l->device_id, NULL);
  return;

fail:
  s->ops->rollback (s);
  internal_error (l->msg, "login", error);
}

static void
verify_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Login *l = data;

  login_finish (l);
  mts_http_resume (l->server, l->msg);
  login_free (l);
}

void
mts_auth_login (MtsServer *server, SoupServerMessage *msg)
{
  static const char *const members[] = {
    "practice", "username", "password", "totp", "device_id", "device_name", NULL
  };
  MtsStorage *s = server->storage;
  g_autoptr(JsonNode) root = mts_http_body_object (msg);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  JsonObject *o;
  const char *slug, *username, *password, *code, *device_id, *device_name = NULL;
  gint64 failures = 0, window_start = 0, locked_until = 0, now = mts_server_now ();
  MtsStorageFound found;
  Login *l;

  if (root == NULL)
    return;
  o = json_node_get_object (root);
  if (!mts_json_only (msg, o, "", members) ||
      (slug = mts_json_string (msg, o, "", "practice", MAX_NAME_BYTES)) == NULL ||
      (username = mts_json_string (msg, o, "", "username", MAX_NAME_BYTES)) == NULL ||
      (password = mts_json_string (msg, o, "", "password", MTS_PASSWORD_MAX_BYTES)) == NULL ||
      (code = mts_json_string (msg, o, "", "totp", 16)) == NULL ||
      (device_id = mts_json_string (msg, o, "", "device_id", UUID_LEN)) == NULL)
    return;
  if (json_object_has_member (o, "device_name") &&
      (device_name = mts_json_string (msg, o, "", "device_name", MAX_DEVICE_NAME_BYTES)) == NULL)
    return;
  if (!mts_is_uuid (device_id))
    {
      mts_http_error (msg, 400, "invalid", "device_id",
                      "device_id: must be a lower-case UUID");
      return;
    }

  l = g_new0 (Login, 1);
  l->server = server;
  l->msg = msg;
  l->address = g_strdup (soup_server_message_get_remote_host (msg));
  l->slug = g_strdup (slug);
  l->username = g_strdup (username);
  l->password = g_strdup (password);
  g_strlcpy (l->code, code, sizeof l->code);
  l->device_id = g_strdup (device_id);
  l->device_name = g_strdup (device_name != NULL ? device_name : "");
  l->account_key = g_strdup_printf ("account:%s/%s", slug, username);
  l->address_key = g_strdup_printf ("address:%s", l->address ? l->address : "");

  /* The address first: an address that keeps failing learns nothing more. */
  if (!s->ops->attempt_get (s, l->address_key, &failures, &window_start, &locked_until, &error))
    goto fail;
  if (now - window_start < server->config->failure_window_seconds &&
      failures >= server->config->address_max_failures)
    {
      retry_after (msg, window_start + server->config->failure_window_seconds - now);
      mts_http_error (msg, 429, "rate_limited", NULL,
                      "too many failed logins from this address: try again later");
      mts_log ("warning", "login-rate-limited", "remote", l->address, NULL);
      login_free (l);
      return;
    }
  if (!s->ops->attempt_get (s, l->account_key, &failures, &window_start, &locked_until, &error))
    goto fail;
  if (locked_until > now)
    {
      login_audit_failure (l, "locked", NULL);
      retry_after (msg, locked_until - now);
      mts_http_error (msg, 423, "account_locked", NULL,
                      "too many failed logins: this account is locked for a while; "
                      "an administrator can unlock it");
      login_free (l);
      return;
    }

  found = s->ops->practice_by_slug (s, slug, &l->practice, &error);
  if (found == MTS_STORAGE_FOUND)
    found = s->ops->user_by_name (s, l->practice.id, username, &l->user, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  l->known = found == MTS_STORAGE_FOUND;
  l->hash = g_strdup (l->known ? l->user.password_hash : dummy_hash (server->config->password_kdf));

  mts_http_hold (server, msg);
  task = g_task_new (NULL, NULL, verify_done_cb, l);
  g_task_set_task_data (task, l, NULL);
  g_task_run_in_thread (task, verify_thread);
  return;

fail:
  internal_error (msg, "login", error);
  login_free (l);
}

/* --- refresh and logout ------------------------------------------------ */

void
mts_auth_refresh (MtsServer *server, SoupServerMessage *msg)
{
  static const char *const members[] = { "refresh_token", NULL };
  MtsStorage *s = server->storage;
  g_autoptr(JsonNode) root = mts_http_body_object (msg);
  g_autoptr(GError) error = NULL;
  g_auto(MtsTokenRow) token = { 0 };
  g_auto(MtsDeviceRow) device = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenKind kind;
  const char *text;
  JsonObject *o;
  gint64 now = mts_server_now ();
  gboolean retry;
  MtsStorageFound found;

  if (root == NULL)
    return;
  o = json_node_get_object (root);
  if (!mts_json_only (msg, o, "", members) ||
      (text = mts_json_string (msg, o, "", "refresh_token", 256)) == NULL)
    return;
  if (!mts_token_parse (text, &kind, hash, NULL) || kind != MTS_TOKEN_REFRESH)
    {
      mts_http_error (msg, 401, "unauthorized", NULL, "this is not a refresh token");
      return;
    }

  if (!s->ops->begin (s, &error))
    goto fail;
  found = s->ops->token_get (s, hash, &token, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND || token.kind != MTS_TOKEN_REFRESH)
    {
      s->ops->rollback (s);
      mts_http_error (msg, 401, "unauthorized", NULL,
                      "the refresh token is not valid: log in again");
      return;
    }
  found = s->ops->device_get (s, token.practice_id, token.device_id, &device, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND || device.revoked_at != 0)
    {
      s->ops->rollback (s);
      mts_http_error (msg, 403, "device_revoked", NULL,
                      "this device was revoked by the practice's administrator");
      return;
    }
  /* Spent moments ago: a retry after a lost answer (below), even if an
   * earlier retry already revoked the family it belongs to. */
  retry = token.used_at > 0 && server->config->refresh_retry_seconds > 0 &&
          now - token.used_at <= server->config->refresh_retry_seconds;
  if (token.revoked && !retry)
    {
      s->ops->rollback (s);
      mts_http_error (msg, 401, "unauthorized", NULL,
                      "the refresh token is not valid: log in again");
      return;
    }
  if (token.expires_at <= now)
    {
      s->ops->rollback (s);
      mts_http_error (msg, 401, "unauthorized", NULL,
                      "the refresh token expired: log in again");
      return;
    }
  found = s->ops->user_by_id (s, token.practice_id, token.user_id, &user, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;

  found = s->ops->token_mark_used (s, hash, now, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND && retry && user.id != NULL && !user.disabled)
    {
      /* Spent moments ago: most likely the answer that carried its
       * successor was lost (a dropped connection, the app killed), and the
       * device asks again.  The successor, which it never received, is
       * revoked with the rest of the family and a new pair issued in the
       * same family.  (Were it a thief, the owner's next refresh finds its
       * token revoked and must log in again, as after a theft.) */
      g_autoptr(JsonBuilder) d = json_builder_new ();

      json_builder_begin_object (d);
      json_builder_set_member_name (d, "device_id");
      json_builder_add_string_value (d, token.device_id);
      json_builder_end_object (d);
      if (!s->ops->token_revoke_family (s, token.family, &error) ||
          !mts_server_audit (server, token.practice_id, token.user_id, "refresh-retried", d,
                             &error) ||
          !issue_tokens (server, msg, token.practice_id, token.user_id, user.role,
                         token.device_id, token.family, &error) ||
          !s->ops->commit (s, &error))
        goto fail;
      return;
    }
  if (found == MTS_STORAGE_NOT_FOUND)
    {
      /* A spent refresh token came back: someone holds a copy.  End the
       * whole family, so the thief's and the owner's tokens both stop. */
      g_autoptr(JsonBuilder) d = json_builder_new ();

      json_builder_begin_object (d);
      json_builder_set_member_name (d, "device_id");
      json_builder_add_string_value (d, token.device_id);
      json_builder_set_member_name (d, "address");
      json_builder_add_string_value (d, soup_server_message_get_remote_host (msg));
      json_builder_end_object (d);
      if (!s->ops->token_revoke_family (s, token.family, &error) ||
          !mts_server_audit (server, token.practice_id, token.user_id, "refresh-reused", d,
                             &error) ||
          !s->ops->commit (s, &error))
        goto fail;
      mts_log ("warning", "refresh-reused", "practice", token.practice_id,
               "device", token.device_id, NULL);
      mts_http_error (msg, 401, "token_reused",
                      NULL, "this refresh token was already used: every token of this "
                      "login is now revoked; log in again");
      return;
    }
  if (found != MTS_STORAGE_FOUND || user.disabled)
    {
      s->ops->rollback (s);
      mts_http_error (msg, 401, "unauthorized", NULL, "the account is disabled");
      return;
    }

  if (!issue_tokens (server, msg, token.practice_id, token.user_id, user.role, token.device_id,
                     token.family, &error) ||
      !s->ops->commit (s, &error))
    goto fail;
  return;

fail:
  s->ops->rollback (s);
  internal_error (msg, "refresh", error);
}

void
mts_auth_logout (MtsServer *server, SoupServerMessage *msg)
{
  MtsStorage *s = server->storage;
  g_auto(MtsCaller) caller = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  if (!mts_auth_caller (server, msg, &caller))
    return;
  if (!s->ops->begin (s, &error) ||
      !s->ops->token_revoke_device (s, caller.device_id, &error) ||
      !mts_server_audit (server, caller.practice_id, caller.user_id, "logout", NULL, &error) ||
      !s->ops->commit (s, &error))
    {
      s->ops->rollback (s);
      internal_error (msg, "logout", error);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "revoked");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  mts_http_json (msg, 200, root);
}

/* --- the bearer check -------------------------------------------------- */

static void
unauthorized (SoupServerMessage *msg, const char *code, const char *message)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "WWW-Authenticate", "Bearer");
  mts_http_error (msg, 401, code, NULL, "%s", message);
}

gboolean
mts_auth_caller (MtsServer *server, SoupServerMessage *msg, MtsCaller *caller)
{
  MtsStorage *s = server->storage;
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "Authorization");
  g_autoptr(GError) error = NULL;
  g_auto(MtsTokenRow) token = { 0 };
  g_auto(MtsDeviceRow) device = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenKind kind;
  MtsStorageFound found;

  if (header == NULL || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    {
      unauthorized (msg, "unauthorized", "send Authorization: Bearer <access token>");
      return FALSE;
    }
  if (!mts_token_parse (header + 7, &kind, hash, NULL) || kind != MTS_TOKEN_ACCESS)
    {
      unauthorized (msg, "unauthorized", "the access token is not valid");
      return FALSE;
    }
  found = s->ops->token_get (s, hash, &token, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND || token.kind != MTS_TOKEN_ACCESS)
    {
      unauthorized (msg, "unauthorized", "the access token is not valid");
      return FALSE;
    }
  /* The device before the token's own state: revoking a device revokes its
   * tokens too, and the device should be told why they stopped working. */
  found = s->ops->device_get (s, token.practice_id, token.device_id, &device, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND || device.revoked_at != 0)
    {
      mts_http_error (msg, 403, "device_revoked", NULL,
                      "this device was revoked by the practice's administrator");
      return FALSE;
    }
  if (token.revoked)
    {
      unauthorized (msg, "unauthorized", "the access token is not valid");
      return FALSE;
    }
  if (token.expires_at <= mts_server_now ())
    {
      unauthorized (msg, "token_expired", "the access token expired: refresh it");
      return FALSE;
    }
  found = s->ops->user_by_id (s, token.practice_id, token.user_id, &user, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;
  if (found == MTS_STORAGE_NOT_FOUND || user.disabled)
    {
      unauthorized (msg, "unauthorized", "the account is disabled");
      return FALSE;
    }
  caller->practice_id = g_steal_pointer (&token.practice_id);
  caller->user_id = g_steal_pointer (&token.user_id);
  caller->device_id = g_steal_pointer (&token.device_id);
  caller->role = g_steal_pointer (&user.role);
  return TRUE;

fail:
  internal_error (msg, "bearer", error);
  return FALSE;
}
