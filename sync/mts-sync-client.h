/* mts-sync-client.h — the sync engine's HTTPS client of the server API
 * (docs/api.md): one request at a time, JSON in and out, every failure
 * sorted into an MtsSyncError the engine can act on.
 *
 * One client holds one libcurl handle, kept for the client's life so that
 * its connection to the server is reused.  A client is not thread-safe: use
 * each from one thread at a time (a GCancellable may be cancelled from any
 * thread).
 *
 * Every request, without exception:
 *   - verifies the server's certificate chain and host name (there is no
 *     way to switch either off), and speaks TLS 1.2 or newer, https only,
 *     no redirects followed;
 *   - trusts the CA file given to mts_sync_client_new() only, or the
 *     system's CAs when none is given; optionally also requires the
 *     server's public key to match a pin;
 *   - carries `MTS-Protocol: 1` (and `Content-Type: application/json` when
 *     it has a body);
 *   - gives up on connecting after the connect timeout (10 s), and on a
 *     server that stalls (less than 1 byte/s for the stall timeout, 30 s);
 *   - stops at once when its GCancellable is cancelled;
 *   - refuses an answer larger than the response cap (64 MiB).
 *
 * Nothing a request carries (bearer token, password, body) reaches an error
 * message or the log; the client wipes its copies of the body, the
 * Authorization header and the answer's bytes after each request.  Debug
 * output (G_MESSAGES_DEBUG=mts-sync) names the method, the path and the
 * status only.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MTS_SYNC_ERROR (mts_sync_error_quark ())
GQuark mts_sync_error_quark (void);

/**
 * MtsSyncError:
 * @MTS_SYNC_ERROR_OFFLINE: the server could not be reached: the name did
 *   not resolve, the connection was refused or the host is unreachable, or
 *   no connection was made within the connect timeout.  Retry later (with
 *   backoff); show "offline".
 * @MTS_SYNC_ERROR_NETWORK: the server was reached but the exchange broke
 *   off or stalled (reset, closed early, less than the minimum speed for
 *   the stall timeout, including a TLS handshake that never completes).
 *   Retry with backoff: every request of the API is safe to repeat.
 * @MTS_SYNC_ERROR_TLS: the server's certificate did not verify (unknown
 *   issuer, expired, another host's, a public key that does not match the
 *   pin) or TLS itself failed.  Never retry: the message names the host and
 *   says it is a certificate problem.
 * @MTS_SYNC_ERROR_SERVER: the server failed (HTTP 5xx, e.g. 500 internal,
 *   503 shutting_down).  Retry with backoff.
 * @MTS_SYNC_ERROR_AUTH: HTTP 401: the credentials or token were refused
 *   (invalid_credentials, unauthorized, token_expired, token_reused).  The
 *   session refreshes or asks for a new login.
 * @MTS_SYNC_ERROR_REVOKED: HTTP 403 device_revoked: an administrator
 *   revoked this device.  Do not retry; keep local data; tell the user.
 * @MTS_SYNC_ERROR_REFUSED: any other 4xx (invalid, forbidden, mass_delete,
 *   rate_limited, ...): the server refused this request for good.  Never
 *   retry it unchanged; the message is the server's own.
 * @MTS_SYNC_ERROR_PROTOCOL: an answer that is not what the API promises:
 *   not JSON, not from an MTS server (no `MTS-Protocol: 1`), a 1xx/3xx
 *   status, a member missing, or larger than the response cap.
 * @MTS_SYNC_ERROR_CANCELLED: the GCancellable was cancelled.
 * @MTS_SYNC_ERROR_NOT_LOGGED_IN: the session has no login (never logged
 *   in, logged out, or its refresh token was refused).
 * @MTS_SYNC_ERROR_INVALID: a bad argument or configuration: a server URL
 *   that is not https://host[:port][/path], a CA file that cannot be read,
 *   a malformed pin.
 *
 * What each error means for the engine; mts_sync_error_is_retryable()
 * answers TRUE for OFFLINE, NETWORK and SERVER only.
 */
typedef enum {
  MTS_SYNC_ERROR_OFFLINE,
  MTS_SYNC_ERROR_NETWORK,
  MTS_SYNC_ERROR_TLS,
  MTS_SYNC_ERROR_SERVER,
  MTS_SYNC_ERROR_AUTH,
  MTS_SYNC_ERROR_REVOKED,
  MTS_SYNC_ERROR_REFUSED,
  MTS_SYNC_ERROR_PROTOCOL,
  MTS_SYNC_ERROR_CANCELLED,
  MTS_SYNC_ERROR_NOT_LOGGED_IN,
  MTS_SYNC_ERROR_INVALID,
} MtsSyncError;

/* Defaults of the limits below. */
#define MTS_SYNC_CONNECT_TIMEOUT_MS     10000
#define MTS_SYNC_STALL_TIMEOUT_S        30
#define MTS_SYNC_MAX_RESPONSE_BYTES     ((gsize) 64 * 1024 * 1024)

#define MTS_TYPE_SYNC_CLIENT (mts_sync_client_get_type ())
G_DECLARE_FINAL_TYPE (MtsSyncClient, mts_sync_client, MTS, SYNC_CLIENT, GObject)

/**
 * mts_sync_client_new:
 * @base_url: the server, `https://HOST[:PORT][/PREFIX]` (no user name,
 *   password, query or fragment); requests go to @base_url + their path
 * @ca_file: (nullable): a PEM file of the CAs to trust instead of the
 *   system's (a practice's own CA); NULL trusts the system's CAs
 *
 * Checks the URL and that @ca_file is readable (MTS_SYNC_ERROR_INVALID);
 * connects only when the first request is made.
 *
 * Returns: (transfer full): the client, or NULL with @error set
 */
MtsSyncClient *mts_sync_client_new (const char *base_url, const char *ca_file, GError **error);

/* (transfer none) The base URL as given, without a trailing '/'. */
const char *mts_sync_client_get_base_url (MtsSyncClient *client);
/* (transfer none) (nullable) The CA file, or NULL for the system's CAs. */
const char *mts_sync_client_get_ca_file (MtsSyncClient *client);
/* (transfer none) "HOST:PORT", as messages name the server. */
const char *mts_sync_client_get_host (MtsSyncClient *client);

/**
 * mts_sync_client_set_pinned_public_key:
 * @pins: (nullable): one or more `sha256//BASE64` hashes of the server's
 *   public key (SubjectPublicKeyInfo, DER), separated by ';'; NULL removes
 *   the pin
 *
 * Besides the certificate check (which stays on), requires the server's key
 * to be one of @pins (CURLOPT_PINNEDPUBLICKEY); a mismatch is
 * MTS_SYNC_ERROR_TLS.  A malformed @pins is MTS_SYNC_ERROR_INVALID and
 * leaves the pin as it was.  Compute a pin with
 *   openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der \
 *     | openssl dgst -sha256 -binary | base64
 */
gboolean mts_sync_client_set_pinned_public_key (MtsSyncClient *client, const char *pins,
                                                GError **error);

/**
 * mts_sync_client_set_timeouts:
 * @connect_timeout_ms: the most a connection (TCP and the TLS handshake)
 *   may take; 0 restores the default, MTS_SYNC_CONNECT_TIMEOUT_MS
 * @stall_timeout_s: a request moving less than 1 byte/s for this many
 *   seconds is abandoned as MTS_SYNC_ERROR_NETWORK; 0 restores the default,
 *   MTS_SYNC_STALL_TIMEOUT_S
 *
 * There is no limit on a request's total time: a long pull that keeps
 * moving is never cut off.
 */
void mts_sync_client_set_timeouts (MtsSyncClient *client, guint connect_timeout_ms,
                                   guint stall_timeout_s);

/* Answers larger than @max_bytes (0: the default, MTS_SYNC_MAX_RESPONSE_BYTES)
 * are MTS_SYNC_ERROR_PROTOCOL. */
void mts_sync_client_set_max_response_size (MtsSyncClient *client, gsize max_bytes);

/**
 * mts_sync_client_request:
 * @method: "GET", "POST" (or another method of the API)
 * @path_and_query: the path under the base URL, starting with '/', e.g.
 *   "/v1/sync/pull?after=0&limit=500"; it is logged, so it must hold no
 *   secret
 * @body: (nullable): the JSON body, sent as application/json; NULL sends
 *   none
 * @bearer: (nullable): the access token for `Authorization: Bearer`
 * @cancellable: (nullable): cancels the request (MTS_SYNC_ERROR_CANCELLED)
 * @status_out: (out) (optional): the HTTP status, 0 if there was no answer
 * @server_code_out: (out) (optional) (transfer full) (nullable): the
 *   `error.code` of an error answer ("token_expired", "mass_delete", ...),
 *   else NULL
 *
 * Sends one request and waits for the whole answer.  A 2xx answer must be
 * JSON from an MTS server; any other outcome is an MtsSyncError (see the
 * enum), whose message for a 4xx is the server's `error.message`.
 *
 * Returns: (transfer full) (nullable): the parsed JSON of a 2xx answer, or
 *   NULL with @error set
 */
JsonNode *mts_sync_client_request (MtsSyncClient *client, const char *method,
                                   const char *path_and_query, JsonNode *body,
                                   const char *bearer, GCancellable *cancellable,
                                   guint *status_out, char **server_code_out, GError **error);

/* The last answer's Retry-After in seconds (a 429, 423 or 503 sets it), or 0
 * if it had none. */
guint mts_sync_client_get_retry_after (MtsSyncClient *client);

/* ---- retrying ---- */

/**
 * mts_sync_error_is_retryable:
 * @error: (nullable): an error from this library
 *
 * Returns: TRUE if the same request may succeed later unchanged: OFFLINE,
 *   NETWORK and SERVER.  FALSE for everything else, including errors of
 *   other domains and NULL.
 */
gboolean mts_sync_error_is_retryable (const GError *error);

/**
 * mts_sync_backoff_delay:
 * @attempt: 0 for the first retry, 1 for the second, ...
 * @base_ms: the ceiling of the first retry's delay
 * @max_ms: the ceiling of every delay
 *
 * Exponential backoff with full jitter: a uniformly random delay between 0
 * and min (@max_ms, @base_ms * 2^@attempt) milliseconds, inclusive.  The
 * randomness spreads out devices that lost the server at the same moment,
 * so that they do not come back in step.  Never overflows, whatever
 * @attempt.
 *
 * Returns: the delay in milliseconds
 */
guint64 mts_sync_backoff_delay (guint attempt, guint64 base_ms, guint64 max_ms);

G_END_DECLS
