/* mts-sync-session.h — the device's login to the server: which server,
 * which device, who is logged in, and the tokens, for the sync engine's
 * requests.
 *
 * State lives in the store's sync_state table (key/value, not synced, not
 * audited), so it survives restarts and goes wherever the store goes:
 *   server_url, ca_file    where the server is and the CA to trust (NULL:
 *                          the system's), from mts_sync_session_configure()
 *   pinned_public_key      optional "sha256//..." pins of the server's key
 *   device_id              this store's device id, a UUIDv7 made once
 *   practice, username     what the last login was given
 *   practice_id, user_id, role
 *                          what the server answered to the last login
 *   refresh_token          ENCRYPTED: mts_encrypt (token,
 *                          'sync_state.refresh_token:' || store id), so it
 *                          is unreadable without the keystore and cannot be
 *                          moved to another store
 * The access token is kept in memory only.  No token or password ever
 * reaches a message, the log or the audit log.
 *
 * The session needs the store unlocked (MTS_STORE_ERROR_LOCKED otherwise).
 * Like the store and the client, a session is not thread-safe: use it from
 * one thread at a time (a GCancellable may be cancelled from any thread).
 *
 * Errors are MTS_SYNC_ERROR (mts-sync-client.h) for everything the server
 * or the network caused, MTS_STORE_ERROR for the store.
 */
#pragma once

#include "mts-store.h"
#include "mts-sync-client.h"

G_BEGIN_DECLS

#define MTS_TYPE_SYNC_SESSION (mts_sync_session_get_type ())
G_DECLARE_FINAL_TYPE (MtsSyncSession, mts_sync_session, MTS, SYNC_SESSION, GObject)

/**
 * mts_sync_session_new:
 * @store: an unlocked store; the session keeps a reference
 *
 * Reads the session's state from @store, making the device id the first
 * time.  A stored refresh token that does not decrypt (copied from another
 * store, tampered with) counts as no login, with a warning.
 *
 * Returns: (transfer full): the session, or NULL with @error set
 */
MtsSyncSession *mts_sync_session_new (MtsStore *store, GError **error);

/**
 * mts_sync_session_configure:
 * @server_url: the server, `https://HOST[:PORT][/PATH]`
 * @ca_file: (nullable): the CA file to trust instead of the system's CAs
 *
 * Checks and stores where the server is.  Moving to another @server_url
 * ends the login (the tokens, practice_id, user_id and role are another
 * server's): the engine must then start its own state (cursor) afresh.
 * Keeping the URL and changing the CA file keeps the login.
 */
gboolean mts_sync_session_configure (MtsSyncSession *session, const char *server_url,
                                     const char *ca_file, GError **error);

/* Stores the server's public-key pins ("sha256//...;sha256//...", NULL for
 * none) and applies them (mts_sync_client_set_pinned_public_key). */
gboolean mts_sync_session_set_pinned_public_key (MtsSyncSession *session, const char *pins,
                                                 GError **error);

/**
 * mts_sync_session_login:
 * @practice: the practice's slug
 * @username: the user's name
 * @password: the password; the session wipes its own copies, the caller
 *   wipes @password
 * @totp_code: the authenticator's current 6-digit code
 * @device_name: (nullable): shown to the practice's administrator
 *
 * POST /v1/auth/login.  On success stores the server's answer and the
 * encrypted refresh token, with a `login` entry in the store's audit log,
 * all in one transaction; the access token stays in memory.  A failure is
 * recorded as a `login-failed` audit entry and stores nothing else: a
 * wrong password or code is MTS_SYNC_ERROR_AUTH ("the practice, username,
 * password or code is not right"), a locked account or too many attempts
 * MTS_SYNC_ERROR_REFUSED (mts_sync_client_get_retry_after() says when to
 * try again), a revoked device MTS_SYNC_ERROR_REVOKED.
 *
 * A store that already belongs to one practice (practice_id is set) cannot
 * log in to another: the new tokens are revoked at once and the login is
 * MTS_SYNC_ERROR_REFUSED, so one practice's records never reach another's.
 */
gboolean mts_sync_session_login (MtsSyncSession *session, const char *practice,
                                 const char *username, const char *password,
                                 const char *totp_code, const char *device_name,
                                 GCancellable *cancellable, GError **error);

/**
 * mts_sync_session_logout:
 *
 * Asks the server to revoke this device's tokens (POST /v1/auth/logout),
 * then forgets the tokens here whatever the server said, with a `logout`
 * audit entry.  Identity (practice, username, ids) is kept.
 *
 * Returns: TRUE if both happened; FALSE with @error if the server could not
 *   be told (the tokens are forgotten here all the same) or the store
 *   failed.
 */
gboolean mts_sync_session_logout (MtsSyncSession *session, GCancellable *cancellable,
                                  GError **error);

/* Whether there is a refresh token: requests can be made without a login. */
gboolean mts_sync_session_is_logged_in (MtsSyncSession *session);

/**
 * mts_sync_session_request:
 * @method, @path_and_query, @body, @cancellable, @status_out,
 *   @server_code_out: as mts_sync_client_request()
 *
 * An authenticated request.  Refreshes the access token first when there
 * is none in memory, and once more when the server answers 401
 * (token_expired, or unauthorized: an access token the server lost), then
 * repeats the request once.  A refresh stores the new (rotated) refresh
 * token, encrypted, in one transaction before it is used.
 *
 * Errors: MTS_SYNC_ERROR_NOT_LOGGED_IN without a login; AUTH when the
 * refresh token is refused (token_reused: it was used twice, so every token
 * of the login is revoked; unauthorized: expired or revoked), after which
 * the stored refresh token is cleared and a new login is needed; REVOKED
 * when the device was revoked (the store's records and outbox are left
 * untouched, and the login kept, so each attempt says so until a new
 * login); and all the errors of mts_sync_client_request().
 *
 * Returns: (transfer full) (nullable): the JSON of a 2xx answer
 */
JsonNode *mts_sync_session_request (MtsSyncSession *session, const char *method,
                                    const char *path_and_query, JsonNode *body,
                                    GCancellable *cancellable, guint *status_out,
                                    char **server_code_out, GError **error);

/* (transfer none) The store. */
MtsStore *mts_sync_session_get_store (MtsSyncSession *session);

/* (transfer none) (nullable) The client of the configured server, NULL
 * before mts_sync_session_configure(); for its settings (time-outs) and
 * mts_sync_client_get_retry_after().  Replaced by configure(). */
MtsSyncClient *mts_sync_session_get_client (MtsSyncSession *session);

/* (transfer none) (nullable) The stored state, NULL when unset.  Valid
 * until the next call that changes the session. */
const char *mts_sync_session_get_device_id (MtsSyncSession *session);
const char *mts_sync_session_get_server_url (MtsSyncSession *session);
const char *mts_sync_session_get_ca_file (MtsSyncSession *session);
const char *mts_sync_session_get_practice (MtsSyncSession *session);
const char *mts_sync_session_get_username (MtsSyncSession *session);
const char *mts_sync_session_get_practice_id (MtsSyncSession *session);
const char *mts_sync_session_get_user_id (MtsSyncSession *session);
const char *mts_sync_session_get_role (MtsSyncSession *session);

G_END_DECLS
