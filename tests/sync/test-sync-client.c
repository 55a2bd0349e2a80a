/* test-sync-client.c — the sync engine's HTTPS client and login session
 * (sync/mts-sync-client.h, sync/mts-sync-session.h) against the real
 * mts-server over loopback TLS, and against peers that misbehave on
 * purpose (tests/sync/test-server-fixture.h).
 *
 * Cases (/sync-client/...):
 *   backoff            delays grow with the attempt, stay within their
 *                      ceiling and max, vary (jitter), never overflow;
 *                      which errors are retryable
 *   bad-config         http://, credentials, a query, no URL, an unreadable
 *                      CA file, a malformed pin, a bad path or method:
 *                      INVALID, with no secret in the message
 *   health             GET /v1/health, three times on one client
 *   offline            a closed port and a name that does not resolve:
 *                      OFFLINE
 *   tls-unknown-ca     trusting another CA: TLS "not trusted (issuer
 *                      unknown)", naming the host
 *   tls-expired        a server with an expired certificate: TLS "expired"
 *   tls-pinned         the server's key pinned: works; another key: TLS
 *   stalled-handshake  accepts TCP, never answers: NETWORK after the short
 *                      connect timeout
 *   stalled-response   completes TLS, reads the request, never answers:
 *                      NETWORK after the short stall timeout
 *   dropped            closes at once / cuts the answer short: NETWORK
 *   server-error       500 and 503 (+ Retry-After): SERVER, retryable
 *   not-mts            200 not JSON, 200 without MTS-Protocol, a redirect:
 *                      PROTOCOL; a bare 404: REFUSED
 *   too-large          an answer over the cap: PROTOCOL
 *   request-headers    MTS-Protocol, Content-Type and the bearer as sent;
 *                      a 401's message holds no token
 *   cancel             cancelled before and during a request: CANCELLED;
 *                      the client works afterwards
 *   session/login      login stores practice, user, role and the refresh
 *                      token encrypted (no token in the database or WAL),
 *                      with an audit entry holding no secret
 *   session/read-back  a new session, and one on the store reopened, is
 *                      logged in and can pull (refreshing first)
 *   session/expired    1-second access tokens: a pull after 2 s refreshes
 *                      transparently and stores the rotated refresh token
 *   session/replay     a copied refresh token used elsewhere first: AUTH
 *                      (token_reused), the stored token cleared
 *   session/revoked    a revoked device: REVOKED on request and on refresh,
 *                      records, outbox and sync state untouched
 *   session/wrong-credentials  wrong password, wrong code: AUTH with the
 *                      server's message, nothing stored, audited
 *   session/refused    a 4xx through the session: REFUSED with the
 *                      server's message and code
 *   session/not-logged-in  before configuring, before logging in
 *   session/logout     tokens forgotten here and revoked on the server
 *   session/other-practice  a store of one practice refuses another's login
 *   session/moved      another CA keeps the login, another URL ends it
 *   session/token-moved  a refresh token sealed for another store is no login
 *                      there (a warning), and is one in its own store
 *   session/pinned     a pinned key kept in the store: the wrong one refuses
 *                      the login (TLS), the right one lets it through
 *
 * Run with --tap -k.
 */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-store.h"
#include "mts-sync-client.h"
#include "mts-sync-session.h"
#include "mts-uuid.h"
#include "test-server-fixture.h"

#define PASS "store passphrase for tests"

/* ===================================================================== */
/* Servers, stores, helpers                                               */

typedef struct {
  const char *name;
  const char *cert;
  const char *auth_extra;
  MtsTestServer *srv;
  char *failed;
} ServerSlot;

/* A spent refresh token is a theft here at once (the replay case); the
 * retry window has its own cases in test-sync-faults.c. */
static ServerSlot main_slot = { "main", NULL, "refresh_retry_seconds=0\n", NULL, NULL };
/* Short-lived access tokens: long enough that a refreshed one is still
 * valid for the next request on a loaded machine, short enough to wait out. */
static ServerSlot short_slot = { "short", NULL, "access_token_seconds=3\n", NULL, NULL };
static ServerSlot expired_slot = { "expired", "expired", NULL, NULL, NULL };

/* The slot's server, started on first use; fails the case (NULL) if it
 * cannot be started or has died. */
static MtsTestServer *
server (ServerSlot *slot)
{
  g_autoptr(GError) error = NULL;

  if (slot->srv == NULL && slot->failed == NULL)
    {
      slot->srv = mts_test_server_new (slot->name, slot->cert, slot->auth_extra, &error);
      if (slot->srv == NULL || !mts_test_server_start (slot->srv, &error))
        slot->failed = g_strdup (error->message);
    }
  if (slot->failed != NULL)
    {
      g_test_fail_printf ("server %s: %s", slot->name, slot->failed);
      return NULL;
    }
  if (!mts_test_server_running (slot->srv))
    {
      g_autofree char *tail = mts_test_server_log_tail (slot->srv, 40);
      g_test_fail_printf ("server %s has died; its stderr:\n%s", slot->name, tail);
      return NULL;
    }
  return slot->srv;
}

static char *
ca (const char *name)
{
  return mts_test_ca_file (name);
}

static MtsSyncClient *
client_for (const char *url, const char *ca_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cafile = ca (ca_name);
  MtsSyncClient *c = mts_sync_client_new (url, cafile, &error);

  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static MtsSyncClient *
client_of (MtsTestServer *srv, const char *ca_name)
{
  g_autofree char *url = mts_test_server_url (srv);

  return client_for (url, ca_name);
}

static MtsSyncClient *
client_of_peer (MtsTestPeer *peer)
{
  g_autofree char *url = mts_test_peer_url (peer);

  return client_for (url, "ca.pem");
}

typedef struct {
  char *dir;
  MtsStore *store;
} TestStore;

static void
test_store_free (TestStore *ts)
{
  if (ts == NULL)
    return;
  g_clear_object (&ts->store);
  g_free (ts->dir);
  g_free (ts);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestStore, test_store_free)

static TestStore *
test_store_new (void)
{
  static guint n;
  g_autoptr(GError) error = NULL;
  TestStore *ts = g_new0 (TestStore, 1);
  g_autofree char *name = g_strdup_printf ("store-%u", ++n);

  g_assert_true (mts_test_fixture_set_up (&error));
  ts->dir = g_build_filename (mts_test_fixture_dir (), name, NULL);
  ts->store = mts_store_create (ts->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  return ts;
}

/* The first column of the first row of @sql (one optional text parameter),
 * as text; NULL if no row or NULL. */
static char *
query (MtsStore *store, const char *sql, const char *param)
{
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;
  char *result = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  if (param != NULL)
    sqlite3_bind_text (st, 1, param, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return result;
}

/* The stored refresh token, decrypted as an engine would. */
static char *
stored_token (MtsStore *store)
{
  return query (store, "SELECT mts_decrypt (value, 'sync_state.refresh_token:' || ?1) "
                       "FROM sync_state WHERE key = 'refresh_token'",
                mts_store_get_id (store));
}

/* Every sync_state row, as text, for before/after comparisons. */
static char *
state_snapshot (MtsStore *store)
{
  return query (store, "SELECT group_concat (key || '=' || hex (value), ';') FROM "
                       "(SELECT key, value FROM sync_state ORDER BY key)", NULL);
}

/* Whether @needle occurs in the store's database file or its WAL. */
static gboolean
on_disk (TestStore *ts, const char *needle)
{
  const char *names[] = { "practice.db", "practice.db-wal", "practice.db-journal" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (ts->dir, names[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_get_contents (path, &data, &len, NULL) &&
          memmem (data, len, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* The database file exists (so on_disk's negative answers mean something). */
static void
assert_db_files (TestStore *ts)
{
  g_autofree char *db = g_build_filename (ts->dir, "practice.db", NULL);

  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
}

/* A new practice and clinician on @srv. */
static MtsTestUser *
new_user (MtsTestServer *srv, const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, prefix, &error);
  MtsTestUser *u;

  g_assert_no_error (error);
  u = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  return u;
}

static MtsSyncSession *
configured_session (MtsTestServer *srv, MtsStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *cafile = ca ("ca.pem");
  MtsSyncSession *s = mts_sync_session_new (store, &error);

  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (s, url, cafile, &error));
  g_assert_no_error (error);
  return s;
}

static void
login (MtsSyncSession *s, MtsTestUser *u)
{
  g_autoptr(GError) error = NULL;
  char code[MTS_TOTP_CODE_BUF];

  mts_test_user_code (u, code);
  g_assert_true (mts_sync_session_login (s, u->practice, u->username, u->password, code,
                                         "test laptop", NULL, &error));
  g_assert_no_error (error);
}

/* A pull through the session; asserts it worked. */
static void
assert_pull (MtsSyncSession *s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  guint status = 0;

  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull?after=0&limit=10", NULL, NULL,
                                     &status, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (answer));
  g_assert_true (json_object_has_member (json_node_get_object (answer), "records"));
}

/* Asserts @error is MTS_SYNC_ERROR @code and the message holds @part. */
#define assert_sync_error(error, code, part) G_STMT_START {                       \
    g_assert_error ((error), MTS_SYNC_ERROR, (code));                             \
    if (strstr ((error)->message, (part)) == NULL)                                \
      g_error ("message %s lacks %s", (error)->message, (part));                  \
  } G_STMT_END

/* ===================================================================== */
/* The client                                                             */

static void
test_backoff (void)
{
  const guint64 base = 100, max = 30000;
  guint64 prev_mean = 0;

  for (guint attempt = 0; attempt < 12; attempt++)
    {
      guint64 ceiling = MIN (max, base << attempt);
      guint64 sum = 0, top = 0;
      g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
      static gint64 values[500];

      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        {
          guint64 d = mts_sync_backoff_delay (attempt, base, max);

          g_assert_cmpuint (d, <=, ceiling);
          sum += d;
          top = MAX (top, d);
          values[i] = (gint64) d;
          g_hash_table_add (seen, &values[i]);
        }
      /* Jitter: the delays are spread over the range, not one value. */
      g_assert_cmpuint (g_hash_table_size (seen), >, 20);
      g_assert_cmpuint (top, >, ceiling / 2);
      /* They grow until the ceiling reaches max (means of 500 uniform draws;
       * the chance of this failing by bad luck is far below 1e-9). */
      if (ceiling < max)
        g_assert_cmpuint (sum / G_N_ELEMENTS (values), >, prev_mean);
      prev_mean = sum / G_N_ELEMENTS (values);
    }

  /* No overflow, whatever the attempt. */
  for (guint attempt = 60; attempt < 70; attempt++)
    g_assert_cmpuint (mts_sync_backoff_delay (attempt, base, max), <=, max);
  g_assert_cmpuint (mts_sync_backoff_delay (G_MAXUINT, G_MAXUINT64 / 3, G_MAXUINT64 - 1), <=,
                    G_MAXUINT64 - 1);
  g_assert_cmpuint (mts_sync_backoff_delay (3, 0, max), ==, 0);
  g_assert_cmpuint (mts_sync_backoff_delay (3, base, 0), ==, 0);
  g_assert_cmpuint (mts_sync_backoff_delay (0, 5000, 1000), <=, 1000);

  /* Retryable: the network and the server's own failures only. */
  for (int code = MTS_SYNC_ERROR_OFFLINE; code <= MTS_SYNC_ERROR_INVALID; code++)
    {
      g_autoptr(GError) e = g_error_new_literal (MTS_SYNC_ERROR, code, "x");
      gboolean expect = code == MTS_SYNC_ERROR_OFFLINE || code == MTS_SYNC_ERROR_NETWORK ||
                        code == MTS_SYNC_ERROR_SERVER;

      g_assert_cmpint (mts_sync_error_is_retryable (e), ==, expect);
    }
  {
    g_autoptr(GError) e = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "x");

    g_assert_false (mts_sync_error_is_retryable (e));
    g_assert_false (mts_sync_error_is_retryable (NULL));
  }
}

static void
test_bad_config (void)
{
  const char *bad[] = { "http://127.0.0.1:8443", "ftp://127.0.0.1", "127.0.0.1:8443",
                        "https://ada:sEcReT-pw@127.0.0.1:8443", "https://127.0.0.1:8443/?x=1",
                        "https://127.0.0.1:8443/#frag", "https://", "" };
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_assert_true (mts_test_fixture_set_up (&error));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_null (mts_sync_client_new (bad[i], NULL, &error));
      g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
      g_assert_null (strstr (error->message, "sEcReT"));
      g_clear_error (&error);
    }
  g_assert_null (mts_sync_client_new ("https://127.0.0.1:1", "/nonexistent/ca.pem", &error));
  assert_sync_error (error, MTS_SYNC_ERROR_INVALID, "/nonexistent/ca.pem");
  g_clear_error (&error);

  c = client_for ("https://127.0.0.1:1/", "ca.pem");
  g_assert_cmpstr (mts_sync_client_get_base_url (c), ==, "https://127.0.0.1:1");
  g_assert_cmpstr (mts_sync_client_get_host (c), ==, "127.0.0.1:1");
  {
    g_autoptr(MtsSyncClient) d = mts_sync_client_new ("https://sync.example.org", NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (mts_sync_client_get_host (d), ==, "sync.example.org:443");
    g_assert_null (mts_sync_client_get_ca_file (d));
  }

  g_assert_false (mts_sync_client_set_pinned_public_key (c, "sha1//abc", &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (mts_sync_client_set_pinned_public_key (c, "sha256//tooshort=", &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (mts_sync_client_set_pinned_public_key (
    c, "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
       "sha256//BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=", &error));
  g_assert_no_error (error);
  g_assert_true (mts_sync_client_set_pinned_public_key (c, NULL, &error));

  answer = mts_sync_client_request (c, "GET", "v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  answer = mts_sync_client_request (c, "GET", "/v1/health\r\nX-Evil: 1", NULL, NULL, NULL, NULL,
                                    NULL, &error);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  answer = mts_sync_client_request (c, "DELETE", "/v1/health", NULL, NULL, NULL, NULL, NULL,
                                    &error);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
}

static void
test_health (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(MtsSyncClient) c = NULL;

  if (srv == NULL)
    return;
  c = client_of (srv, "ca.pem");
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *code = NULL;
      guint status = 0;
      g_autoptr(JsonNode) answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL,
                                                            NULL, &status, &code, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (status, ==, 200);
      g_assert_null (code);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (answer), "status"),
                       ==, "ok");
    }
}

static void
test_offline (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) sock = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(MtsSyncClient) d = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *url = NULL;
  g_autofree char *host = NULL;
  guint status = 99;

  g_assert_true (mts_test_fixture_set_up (&error));
  /* A port nothing listens on: bound, then closed. */
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  bound = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("https://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  host = g_strdup (url + strlen ("https://"));
  g_socket_close (sock, NULL);

  c = client_for (url, "ca.pem");
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, &status, NULL,
                                    &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_OFFLINE, host);
  g_assert_cmpuint (status, ==, 0);
  g_assert_true (mts_sync_error_is_retryable (error));
  g_clear_error (&error);

  /* A name that cannot resolve (RFC 6761 .invalid). */
  d = client_for ("https://mts-sync-test.invalid", "ca.pem");
  mts_sync_client_set_timeouts (d, 3000, 0);
  answer = mts_sync_client_request (d, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_OFFLINE, "mts-sync-test.invalid");
}

static void
test_tls_unknown_ca (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *host = NULL;
  guint status = 99;

  if (srv == NULL)
    return;
  host = g_strdup_printf ("127.0.0.1:%u", mts_test_server_port (srv));
  c = client_of (srv, "other-ca.pem");
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, &status, NULL,
                                    &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "certificate");
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "not trusted (issuer unknown)");
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, host);
  g_assert_false (mts_sync_error_is_retryable (error));
  g_assert_cmpuint (status, ==, 0);
  g_test_message ("%s", error->message);
}

static void
test_tls_expired (void)
{
  MtsTestServer *srv = server (&expired_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;

  if (srv == NULL)
    return;
  c = client_of (srv, "ca.pem");
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "certificate");
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "expired");
  g_test_message ("%s", error->message);
}

/* The pin of a certificate's public key, by the openssl command line. */
static char *
pin_of (const char *cert_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = ca (cert_name);
  g_autofree char *quoted = g_shell_quote (cert);
  g_autofree char *script = g_strdup_printf (
    "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin -outform der "
    "| openssl dgst -sha256 -binary | base64", quoted);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autofree char *out = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  return g_strconcat ("sha256//", g_strstrip (out), NULL);
}

static void
test_tls_pinned (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *right = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *both = NULL;

  if (srv == NULL)
    return;
  right = pin_of ("server.pem");
  wrong = pin_of ("other-server.pem");
  g_assert_cmpstr (right, !=, wrong);
  both = g_strconcat (wrong, ";", right, NULL);

  c = client_of (srv, "ca.pem");
  g_assert_true (mts_sync_client_set_pinned_public_key (c, both, &error));
  g_assert_no_error (error);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&answer, json_node_unref);

  /* A fresh client: a pin is checked when a connection is made. */
  g_clear_object (&c);
  c = client_of (srv, "ca.pem");
  g_assert_true (mts_sync_client_set_pinned_public_key (c, wrong, &error));
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "pinned");
  g_test_message ("%s", error->message);
}

static void
test_stalled_handshake (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestPeer) peer = mts_test_peer_new (MTS_TEST_PEER_SILENT, NULL, &error);
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_assert_no_error (error);
  c = client_of_peer (peer);
  mts_sync_client_set_timeouts (c, 1000, 1);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_NETWORK, "handshake");
  g_assert_true (mts_sync_error_is_retryable (error));
  g_test_message ("%s", error->message);
}

static void
test_stalled_response (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestPeer) peer = mts_test_peer_new (MTS_TEST_PEER_STALL, NULL, &error);
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *seen = NULL;

  g_assert_no_error (error);
  c = client_of_peer (peer);
  mts_sync_client_set_timeouts (c, 5000, 1);
  answer = mts_sync_client_request (c, "GET", "/v1/sync/pull?after=0", NULL, NULL, NULL, NULL,
                                    NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_NETWORK, "stopped answering");
  g_assert_true (mts_sync_error_is_retryable (error));
  /* The control: the request did get through, then the peer stalled. */
  seen = mts_test_peer_last_request (peer);
  g_assert_nonnull (seen);
  g_assert_true (g_str_has_prefix (seen, "GET /v1/sync/pull?after=0 HTTP/"));
}

static void
test_dropped (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestPeer) drop = mts_test_peer_new (MTS_TEST_PEER_DROP, NULL, &error);
  g_autoptr(MtsTestPeer) cut = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(MtsSyncClient) d = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_assert_no_error (error);
  c = client_of_peer (drop);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK);
  g_test_message ("closed at once: %s", error->message);
  g_clear_error (&error);

  cut = mts_test_peer_new (MTS_TEST_PEER_ANSWER,
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "MTS-Protocol: 1\r\nContent-Length: 100\r\n\r\n{\"records\": [", &error);
  g_assert_no_error (error);
  d = client_of_peer (cut);
  answer = mts_sync_client_request (d, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK);
  g_test_message ("cut short: %s", error->message);
}

/* Raw HTTP: @status_line, @headers ("Name: value\r\n"...), then @body
 * with its Content-Length. */
static char *
http_answer (const char *status_line, const char *headers, const char *body)
{
  return g_strdup_printf ("%s\r\n%sContent-Length: %" G_GSIZE_FORMAT "\r\n"
                          "Connection: close\r\n\r\n%s",
                          status_line, headers, strlen (body), body);
}

/* One GET to a peer that answers with http_answer (@status_line, @headers,
 * @body); returns the error. */
static GError *
answered (const char *status_line, const char *headers, const char *body, guint *status,
          char **code, guint *retry_after)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *answer_text = http_answer (status_line, headers, body);
  g_autoptr(MtsTestPeer) peer = mts_test_peer_new (MTS_TEST_PEER_ANSWER, answer_text, &error);
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_assert_no_error (error);
  c = client_of_peer (peer);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, status, code,
                                    &error);
  g_assert_null (answer);
  g_assert_nonnull (error);
  if (retry_after != NULL)
    *retry_after = mts_sync_client_get_retry_after (c);
  return g_steal_pointer (&error);
}

#define JSON_HEAD "Content-Type: application/json\r\nMTS-Protocol: 1\r\n"

static void
test_server_error (void)
{
  g_autoptr(GError) e500 = NULL;
  g_autoptr(GError) e503 = NULL;
  g_autofree char *code = NULL;
  guint status = 0, retry_after = 0;

  e500 = answered ("HTTP/1.1 500 Internal Server Error", JSON_HEAD,
                   "{\"error\": {\"code\": \"internal\", \"message\": \"the server failed\"}}",
                   &status, &code, NULL);
  assert_sync_error (e500, MTS_SYNC_ERROR_SERVER, "HTTP 500");
  g_assert_cmpuint (status, ==, 500);
  g_assert_cmpstr (code, ==, "internal");
  g_assert_true (mts_sync_error_is_retryable (e500));
  g_clear_pointer (&code, g_free);

  e503 = answered ("HTTP/1.1 503 Service Unavailable", JSON_HEAD "Retry-After: 7\r\n",
                   "{\"error\": {\"code\": \"shutting_down\", "
                   "\"message\": \"the server is stopping\"}}",
                   &status, &code, &retry_after);
  assert_sync_error (e503, MTS_SYNC_ERROR_SERVER, "the server is stopping");
  g_assert_cmpuint (status, ==, 503);
  g_assert_cmpstr (code, ==, "shutting_down");
  g_assert_cmpuint (retry_after, ==, 7);
}

static void
test_not_mts (void)
{
  g_autoptr(GError) text = NULL;
  g_autoptr(GError) no_header = NULL;
  g_autoptr(GError) redirect = NULL;
  g_autoptr(GError) bare404 = NULL;
  g_autofree char *code = NULL;
  guint status = 0;

  text = answered ("HTTP/1.1 200 OK", "Content-Type: text/html\r\nMTS-Protocol: 1\r\n",
                   "<html></html>", &status, NULL, NULL);
  assert_sync_error (text, MTS_SYNC_ERROR_PROTOCOL, "not JSON");
  g_assert_cmpuint (status, ==, 200);

  no_header = answered ("HTTP/1.1 200 OK", "Content-Type: application/json\r\n", "{}",
                        NULL, NULL, NULL);
  assert_sync_error (no_header, MTS_SYNC_ERROR_PROTOCOL, "MTS-Protocol");

  redirect = answered ("HTTP/1.1 302 Found", "Location: https://example.org/\r\n", "",
                       NULL, NULL, NULL);
  assert_sync_error (redirect, MTS_SYNC_ERROR_PROTOCOL, "302");

  bare404 = answered ("HTTP/1.1 404 Not Found", "Content-Type: text/plain\r\n", "not found",
                      &status, &code, NULL);
  assert_sync_error (bare404, MTS_SYNC_ERROR_REFUSED, "HTTP 404");
  g_assert_cmpuint (status, ==, 404);
  g_assert_null (code);
}

static void
test_too_large (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;

  if (srv == NULL)
    return;
  c = client_of (srv, "ca.pem");
  mts_sync_client_set_max_response_size (c, 8);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_PROTOCOL, "larger than 8 bytes");
  g_clear_error (&error);

  /* Back to the default, the same client works. */
  mts_sync_client_set_max_response_size (c, 0);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
}

static void
test_request_headers (void)
{
  const char *token = "mtsa_secret-token-for-the-header-test";
  g_autoptr(GError) error = NULL;
  g_autofree char *ok_text = http_answer ("HTTP/1.1 200 OK", JSON_HEAD, "{}");
  g_autofree char *refuse_text = http_answer ("HTTP/1.1 401 Unauthorized", JSON_HEAD,
                                              "{\"error\": {\"code\": \"unauthorized\", "
                                              "\"message\": \"the access token is not valid\"}}");
  g_autoptr(MtsTestPeer) ok = mts_test_peer_new (MTS_TEST_PEER_ANSWER, ok_text, &error);
  g_autoptr(MtsTestPeer) refuse = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonNode) body = json_from_string ("{\"refresh_token\": \"mtsr_in-the-body\"}", NULL);
  g_autofree char *seen = NULL;

  g_assert_no_error (error);
  c = client_of_peer (ok);
  answer = mts_sync_client_request (c, "POST", "/v1/sync/push", body, token, NULL, NULL, NULL,
                                    &error);
  g_assert_no_error (error);
  g_clear_pointer (&answer, json_node_unref);
  seen = mts_test_peer_last_request (ok);
  g_assert_true (g_str_has_prefix (seen, "POST /v1/sync/push HTTP/1.1\r\n"));
  g_assert_nonnull (strstr (seen, "\r\nMTS-Protocol: 1"));
  g_assert_nonnull (strstr (seen, "\r\nContent-Type: application/json"));
  g_assert_nonnull (strstr (seen, "\r\nAuthorization: Bearer mtsa_secret-token-for-the-header-test"));
  g_assert_null (strstr (seen, "Expect:"));
  g_clear_pointer (&seen, g_free);

  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  seen = mts_test_peer_last_request (ok);
  g_assert_true (g_str_has_prefix (seen, "GET /v1/health HTTP/1.1\r\n"));
  g_assert_nonnull (strstr (seen, "\r\nMTS-Protocol: 1"));
  g_assert_null (strstr (seen, "Authorization"));
  g_assert_null (strstr (seen, "Content-Type"));

  /* A refusal's message is the server's, and holds neither token nor body. */
  refuse = mts_test_peer_new (MTS_TEST_PEER_ANSWER, refuse_text, &error);
  g_assert_no_error (error);
  g_clear_object (&c);
  g_clear_pointer (&answer, json_node_unref);
  c = client_of_peer (refuse);
  answer = mts_sync_client_request (c, "POST", "/v1/auth/refresh", body, token, NULL, NULL, NULL,
                                    &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "the access token is not valid");
  g_assert_null (strstr (error->message, "mtsa_"));
  g_assert_null (strstr (error->message, "mtsr_"));
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_cancel (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MtsTestPeer) peer = NULL;
  g_autoptr(MtsSyncClient) c = NULL;
  g_autoptr(MtsSyncClient) real = NULL;
  g_autoptr(JsonNode) answer = NULL;
  GThread *thread;

  if (srv == NULL)
    return;
  /* Cancelled before: nothing is sent. */
  real = client_of (srv, "ca.pem");
  g_cancellable_cancel (cancellable);
  answer = mts_sync_client_request (real, "GET", "/v1/health", NULL, NULL, cancellable, NULL,
                                    NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED);
  g_assert_false (mts_sync_error_is_retryable (error));
  g_clear_error (&error);

  /* Cancelled during a request that would otherwise wait 30 s. */
  peer = mts_test_peer_new (MTS_TEST_PEER_STALL, NULL, &error);
  g_assert_no_error (error);
  c = client_of_peer (peer);
  g_cancellable_reset (cancellable);
  thread = g_thread_new ("cancel", cancel_later, cancellable);
  answer = mts_sync_client_request (c, "GET", "/v1/health", NULL, NULL, cancellable, NULL, NULL,
                                    &error);
  g_thread_join (thread);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED);
  g_clear_error (&error);

  /* The client that was cancelled first still works. */
  answer = mts_sync_client_request (real, "GET", "/v1/health", NULL, NULL, NULL, NULL, NULL,
                                    &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
}

/* ===================================================================== */
/* The session                                                            */

static void
test_session_login (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autofree char *token = NULL;
  g_autofree char *type = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *target = NULL;
  g_autofree char *audit_ok = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "login");
  s = configured_session (srv, ts->store);
  g_assert_false (mts_sync_session_is_logged_in (s));
  g_assert_true (mts_uuid_is_valid (mts_sync_session_get_device_id (s)));
  login (s, u);

  g_assert_true (mts_sync_session_is_logged_in (s));
  g_assert_cmpstr (mts_sync_session_get_practice (s), ==, u->practice);
  g_assert_cmpstr (mts_sync_session_get_username (s), ==, u->username);
  g_assert_cmpstr (mts_sync_session_get_user_id (s), ==, u->user_id);
  g_assert_cmpstr (mts_sync_session_get_role (s), ==, "clinician");
  g_assert_true (mts_uuid_is_valid (mts_sync_session_get_practice_id (s)));

  /* Stored encrypted, in its context: a blob that decrypts to the token. */
  type = query (ts->store, "SELECT typeof (value) FROM sync_state WHERE key = 'refresh_token'",
                NULL);
  g_assert_cmpstr (type, ==, "blob");
  token = stored_token (ts->store);
  g_assert_nonnull (token);
  g_assert_true (g_str_has_prefix (token, "mtsr_"));
  g_assert_cmpuint (strlen (token), >, 20);

  /* Nothing of any token on disk: the refresh token itself, and no
   * token-shaped text at all (the access token stays in memory). */
  assert_db_files (ts);
  g_assert_true (on_disk (ts, mts_sync_session_get_device_id (s)));   /* the control */
  g_assert_false (on_disk (ts, token));
  g_assert_false (on_disk (ts, token + 5));
  g_assert_false (on_disk (ts, "mtsr_"));
  g_assert_false (on_disk (ts, "mtsa_"));
  g_assert_false (on_disk (ts, u->password));

  /* A pull works with the access token from the login, no refresh. */
  assert_pull (s);
  {
    g_autofree char *again = stored_token (ts->store);
    g_assert_cmpstr (again, ==, token);
  }

  /* Audited, without secrets. */
  target = query (ts->store, "SELECT target FROM mts_audit WHERE action = 'login'", NULL);
  detail = query (ts->store, "SELECT detail FROM mts_audit WHERE action = 'login'", NULL);
  g_assert_nonnull (target);
  g_assert_nonnull (strstr (target, u->username));
  g_assert_nonnull (detail);
  g_assert_nonnull (strstr (detail, mts_sync_session_get_device_id (s)));
  g_assert_null (strstr (detail, "mts"));
  g_assert_null (strstr (detail, u->password));
  audit_ok = query (ts->store, "SELECT mts_audit_verify ()", NULL);
  g_assert_cmpstr (audit_ok, ==, "ok");
}

static void
test_session_read_back (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsSyncSession) again = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autofree char *device = NULL;
  g_autofree char *practice_id = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "readback");
  s = configured_session (srv, ts->store);
  login (s, u);
  device = g_strdup (mts_sync_session_get_device_id (s));
  practice_id = g_strdup (mts_sync_session_get_practice_id (s));
  first = stored_token (ts->store);
  g_clear_object (&s);

  /* A new session on the same store. */
  again = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_is_logged_in (again));
  g_assert_cmpstr (mts_sync_session_get_device_id (again), ==, device);
  g_assert_cmpstr (mts_sync_session_get_practice_id (again), ==, practice_id);
  g_assert_cmpstr (mts_sync_session_get_username (again), ==, u->username);
  g_assert_nonnull (mts_sync_session_get_client (again));
  /* No access token in memory: the first request refreshes, rotating the
   * stored refresh token. */
  assert_pull (again);
  second = stored_token (ts->store);
  g_assert_nonnull (second);
  g_assert_cmpstr (second, !=, first);
  g_clear_object (&again);

  /* The store closed and reopened. */
  g_clear_object (&ts->store);
  ts->store = mts_store_open (ts->dir, &error);
  g_assert_no_error (error);
  g_assert_null (mts_sync_session_new (ts->store, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_true (mts_store_unlock (ts->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  again = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_is_logged_in (again));
  g_assert_cmpstr (mts_sync_session_get_device_id (again), ==, device);
  assert_pull (again);
  third = stored_token (ts->store);
  g_assert_cmpstr (third, !=, second);
}

static void
test_session_expired (void)
{
  MtsTestServer *srv = server (&short_slot);
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *later = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "expired");
  s = configured_session (srv, ts->store);
  login (s, u);
  before = stored_token (ts->store);

  g_usleep (4200 * 1000);   /* the 3-second access token expires */
  assert_pull (s);
  after = stored_token (ts->store);
  g_assert_nonnull (after);
  g_assert_cmpstr (after, !=, before);
  g_assert_false (on_disk (ts, after));

  /* Straight away again: the new access token is used, no refresh. */
  assert_pull (s);
  later = stored_token (ts->store);
  g_assert_cmpstr (later, ==, after);
}

static void
test_session_replay (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsSyncSession) s2 = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autoptr(MtsSyncClient) thief = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *stolen = NULL;
  g_autofree char *code = NULL;
  g_autofree char *left = NULL;
  guint status = 0;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "replay");
  s = configured_session (srv, ts->store);
  login (s, u);

  /* A copy of the refresh token is used elsewhere first. */
  stolen = stored_token (ts->store);
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, json_object_new ());
  json_object_set_string_member (json_node_get_object (body), "refresh_token", stolen);
  thief = client_of (srv, "ca.pem");
  answer = mts_sync_client_request (thief, "POST", "/v1/auth/refresh", body, NULL, NULL, NULL,
                                    NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&answer, json_node_unref);

  /* The device's next refresh presents the spent token: the server
   * revokes the whole login; the device must log in again. */
  s2 = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  answer = mts_sync_session_request (s2, "GET", "/v1/sync/pull?after=0", NULL, NULL, &status,
                                     &code, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_AUTH, "log in again");
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpstr (code, ==, "token_reused");
  g_assert_null (strstr (error->message, "mtsr_"));
  g_clear_error (&error);
  g_assert_false (mts_sync_session_is_logged_in (s2));
  left = query (ts->store, "SELECT count (*) FROM sync_state WHERE key = 'refresh_token'", NULL);
  g_assert_cmpstr (left, ==, "0");

  answer = mts_sync_session_request (s2, "GET", "/v1/sync/pull?after=0", NULL, NULL, NULL, NULL,
                                     &error);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN);
  g_clear_error (&error);

  /* The first session's access token was revoked with the family: it gets
   * AUTH too (its refresh token, still in its memory, is spent). */
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull?after=0", NULL, NULL, NULL, NULL,
                                     &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH);
  g_assert_false (mts_sync_session_is_logged_in (s));
}

static void
test_session_revoked (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsSyncSession) s2 = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autoptr(MtsClient) client = mts_client_new ();
  g_autoptr(MtsClient) back = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *out = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *outbox_after = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state_after = NULL;
  g_autofree char *code = NULL;
  guint status = 0;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "revoked");
  s = configured_session (srv, ts->store);
  login (s, u);

  /* Local work not yet pushed. */
  client->display_name = g_strdup ("Jane Revoked-Device");
  g_assert_true (mts_store_client_add (ts->store, client, &error));
  g_assert_no_error (error);
  outbox = query (ts->store, "SELECT count (*) || ':' || max (seq) FROM sync_outbox", NULL);
  state = state_snapshot (ts->store);

  out = mts_test_server_admin (srv, NULL, &error, "device-revoke", u->practice,
                               mts_sync_session_get_device_id (s), NULL);
  g_assert_no_error (error);

  /* With an access token in memory... */
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull?after=0", NULL, NULL, &status,
                                     &code, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_REVOKED, "revoked");
  g_assert_cmpuint (status, ==, 403);
  g_assert_cmpstr (code, ==, "device_revoked");
  g_assert_false (mts_sync_error_is_retryable (error));
  g_clear_error (&error);
  g_clear_pointer (&code, g_free);

  /* ...and through a refresh. */
  s2 = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  answer = mts_sync_session_request (s2, "GET", "/v1/sync/pull?after=0", NULL, NULL, &status,
                                     &code, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED);
  g_assert_cmpstr (code, ==, "device_revoked");
  g_clear_error (&error);

  /* Nothing local touched. */
  back = mts_store_client_get (ts->store, client->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->display_name, ==, "Jane Revoked-Device");
  outbox_after = query (ts->store, "SELECT count (*) || ':' || max (seq) FROM sync_outbox", NULL);
  g_assert_cmpstr (outbox_after, ==, outbox);
  state_after = state_snapshot (ts->store);
  g_assert_cmpstr (state_after, ==, state);
  g_assert_true (mts_sync_session_is_logged_in (s2));
}

static void
test_session_wrong_credentials (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autofree char *keys = NULL;
  g_autofree char *failures = NULL;
  g_autofree char *details = NULL;
  g_autofree char *wrong_pw = NULL;
  char code[MTS_TOTP_CODE_BUF];
  char wrong[MTS_TOTP_CODE_BUF];

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "wrong");
  s = configured_session (srv, ts->store);

  wrong_pw = g_strconcat (u->password, "-not", NULL);
  mts_test_user_code (u, code);
  g_assert_false (mts_sync_session_login (s, u->practice, u->username, wrong_pw, code, NULL,
                                          NULL, &error));
  assert_sync_error (error, MTS_SYNC_ERROR_AUTH,
                     "the practice, username, password or code is not right");
  g_assert_null (strstr (error->message, wrong_pw));
  g_clear_error (&error);

  mts_test_user_wrong_code (u, wrong);
  g_assert_false (mts_sync_session_login (s, u->practice, u->username, u->password, wrong, NULL,
                                          NULL, &error));
  assert_sync_error (error, MTS_SYNC_ERROR_AUTH,
                     "the practice, username, password or code is not right");
  g_clear_error (&error);

  /* Nothing stored but the configuration and the device id. */
  g_assert_false (mts_sync_session_is_logged_in (s));
  g_assert_null (mts_sync_session_get_practice_id (s));
  g_assert_null (mts_sync_session_get_username (s));
  keys = query (ts->store, "SELECT group_concat (key, ',') FROM "
                           "(SELECT key FROM sync_state ORDER BY key)", NULL);
  g_assert_cmpstr (keys, ==, "ca_file,device_id,server_url");
  g_assert_false (on_disk (ts, u->password));

  /* Both failures audited, without the password. */
  failures = query (ts->store, "SELECT count (*) FROM mts_audit WHERE action = 'login-failed'",
                    NULL);
  g_assert_cmpstr (failures, ==, "2");
  details = query (ts->store, "SELECT group_concat (detail, '|') FROM mts_audit "
                              "WHERE action = 'login-failed'", NULL);
  g_assert_nonnull (strstr (details, "invalid_credentials"));
  g_assert_null (strstr (details, u->password));
  g_assert_null (strstr (details, wrong));

  /* The right ones still work afterwards. */
  login (s, u);
  g_assert_true (mts_sync_session_is_logged_in (s));
}

static void
test_session_refused (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *code = NULL;
  guint status = 0;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "refused");
  s = configured_session (srv, ts->store);
  login (s, u);
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull?after=x", NULL, NULL, &status,
                                     &code, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REFUSED);
  g_assert_true (g_str_has_prefix (error->message, "after: must be a whole number from 0 to "));
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (code, ==, "invalid");
  g_assert_false (mts_sync_error_is_retryable (error));
  /* Still logged in: a refusal is not a login problem. */
  g_assert_true (mts_sync_session_is_logged_in (s));
}

static void
test_session_not_logged_in (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(JsonNode) answer = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  s = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  g_assert_null (mts_sync_session_get_client (s));
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull", NULL, NULL, NULL, NULL, &error);
  assert_sync_error (error, MTS_SYNC_ERROR_NOT_LOGGED_IN, "no server is configured");
  g_clear_error (&error);
  g_assert_false (mts_sync_session_login (s, "p", "u", "password", "123456", NULL, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN);
  g_clear_error (&error);

  g_assert_false (mts_sync_session_configure (s, "http://127.0.0.1:1", NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_clear_object (&s);

  s = configured_session (srv, ts->store);
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull", NULL, NULL, NULL, NULL, &error);
  g_assert_null (answer);
  assert_sync_error (error, MTS_SYNC_ERROR_NOT_LOGGED_IN, "log in");
  g_clear_error (&error);

  /* A locked store: no requests at all. */
  mts_store_lock (ts->store);
  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull", NULL, NULL, NULL, NULL, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
}

static void
test_session_logout (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autoptr(MtsSyncClient) other = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *token = NULL;
  g_autofree char *logouts = NULL;
  g_autofree char *code = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "logout");
  s = configured_session (srv, ts->store);
  login (s, u);
  token = stored_token (ts->store);

  g_assert_true (mts_sync_session_logout (s, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (mts_sync_session_is_logged_in (s));
  g_assert_null (stored_token (ts->store));
  g_assert_cmpstr (mts_sync_session_get_username (s), ==, u->username);
  logouts = query (ts->store, "SELECT count (*) FROM mts_audit WHERE action = 'logout'", NULL);
  g_assert_cmpstr (logouts, ==, "1");

  /* Revoked on the server too: the old refresh token is refused. */
  body = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (body, json_object_new ());
  json_object_set_string_member (json_node_get_object (body), "refresh_token", token);
  other = client_of (srv, "ca.pem");
  answer = mts_sync_client_request (other, "POST", "/v1/auth/refresh", body, NULL, NULL, NULL,
                                    &code, &error);
  g_assert_null (answer);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH);
  g_assert_cmpstr (code, ==, "unauthorized");
  g_clear_error (&error);

  answer = mts_sync_session_request (s, "GET", "/v1/sync/pull", NULL, NULL, NULL, NULL, &error);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NOT_LOGGED_IN);
}

static void
test_session_other_practice (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) a = NULL;
  g_autoptr(MtsTestUser) b = NULL;
  g_autofree char *practice_a = NULL;
  g_autofree char *state = NULL;
  g_autofree char *state_after = NULL;
  char code[MTS_TOTP_CODE_BUF];

  if (srv == NULL)
    return;
  ts = test_store_new ();
  a = new_user (srv, "practice-a");
  b = new_user (srv, "practice-b");
  s = configured_session (srv, ts->store);
  login (s, a);
  practice_a = g_strdup (mts_sync_session_get_practice_id (s));
  g_assert_true (mts_sync_session_logout (s, NULL, &error));
  g_assert_no_error (error);
  state = state_snapshot (ts->store);

  mts_test_user_code (b, code);
  g_assert_false (mts_sync_session_login (s, b->practice, b->username, b->password, code, NULL,
                                          NULL, &error));
  assert_sync_error (error, MTS_SYNC_ERROR_REFUSED, "another practice");
  g_assert_false (mts_sync_session_is_logged_in (s));
  g_assert_cmpstr (mts_sync_session_get_practice_id (s), ==, practice_a);
  state_after = state_snapshot (ts->store);
  g_assert_cmpstr (state_after, ==, state);
}

static void
test_session_moved (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autofree char *url = NULL;
  g_autofree char *url_slash = NULL;
  g_autofree char *cafile = ca ("ca.pem");
  g_autofree char *device = NULL;

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "moved");
  s = configured_session (srv, ts->store);
  login (s, u);
  device = g_strdup (mts_sync_session_get_device_id (s));
  url = mts_test_server_url (srv);
  url_slash = g_strconcat (url, "/", NULL);

  /* The same server (spelled with a trailing '/'): still logged in. */
  g_assert_true (mts_sync_session_configure (s, url_slash, cafile, &error));
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_is_logged_in (s));
  g_assert_cmpstr (mts_sync_session_get_server_url (s), ==, url);
  g_assert_cmpstr (mts_sync_session_get_ca_file (s), ==, cafile);
  assert_pull (s);

  /* Another server: the login ends; the device id stays. */
  g_assert_true (mts_sync_session_configure (s, "https://127.0.0.1:1", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (mts_sync_session_is_logged_in (s));
  g_assert_null (mts_sync_session_get_practice_id (s));
  g_assert_null (mts_sync_session_get_ca_file (s));
  g_assert_null (stored_token (ts->store));
  g_assert_cmpstr (mts_sync_session_get_device_id (s), ==, device);
}

static void
test_session_token_moved (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) a = test_store_new ();
  g_autoptr(TestStore) b = test_store_new ();
  g_autoptr(MtsSyncSession) sa = NULL;
  g_autoptr(MtsSyncSession) sb = NULL;
  g_autofree char *sealed = NULL;
  g_autofree char *sql = NULL;

  /* A refresh token sealed for store A... */
  sealed = query (a->store, "SELECT hex (mts_encrypt ('mtsr_not-a-real-token', "
                            "'sync_state.refresh_token:' || ?1))", mts_store_get_id (a->store));
  g_assert_nonnull (sealed);
  sql = g_strdup_printf ("INSERT INTO sync_state (key, value) VALUES ('refresh_token', X'%s')",
                         sealed);
  g_assert_cmpint (sqlite3_exec (mts_store_get_db (a->store), sql, NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (mts_store_get_db (b->store), sql, NULL, NULL, NULL), ==,
                   SQLITE_OK);

  /* ...is a login in A (the control)... */
  sa = mts_sync_session_new (a->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_is_logged_in (sa));

  /* ...and none in B: it does not decrypt there. */
  g_test_expect_message ("mts-sync", G_LOG_LEVEL_WARNING, "*refresh token cannot be used*");
  sb = mts_sync_session_new (b->store, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (sb);
  g_assert_false (mts_sync_session_is_logged_in (sb));
}

static void
test_session_pinned (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestStore) ts = NULL;
  g_autoptr(MtsSyncSession) s = NULL;
  g_autoptr(MtsSyncSession) again = NULL;
  g_autoptr(MtsTestUser) u = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *right = NULL;
  g_autofree char *wrong = NULL;
  char code[MTS_TOTP_CODE_BUF];

  if (srv == NULL)
    return;
  ts = test_store_new ();
  u = new_user (srv, "pinned");
  right = pin_of ("server.pem");
  wrong = pin_of ("other-server.pem");
  s = configured_session (srv, ts->store);

  g_assert_false (mts_sync_session_set_pinned_public_key (s, "sha256//nope", &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);

  /* Another key pinned: the login never leaves the device. */
  g_assert_true (mts_sync_session_set_pinned_public_key (s, wrong, &error));
  g_assert_no_error (error);
  mts_test_user_code (u, code);
  g_assert_false (mts_sync_session_login (s, u->practice, u->username, u->password, code, NULL,
                                          NULL, &error));
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "pinned");
  g_clear_error (&error);
  g_clear_object (&s);

  /* The pin is kept in the store: a new session still refuses... */
  s = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  answer = mts_sync_client_request (mts_sync_session_get_client (s), "GET", "/v1/health", NULL,
                                    NULL, NULL, NULL, NULL, &error);
  assert_sync_error (error, MTS_SYNC_ERROR_TLS, "pinned");
  g_clear_error (&error);

  /* ...until the right key is pinned. */
  g_assert_true (mts_sync_session_set_pinned_public_key (s, right, &error));
  login (s, u);
  again = mts_sync_session_new (ts->store, &error);
  g_assert_no_error (error);
  assert_pull (again);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sync-client/backoff", test_backoff);
  g_test_add_func ("/sync-client/bad-config", test_bad_config);
  g_test_add_func ("/sync-client/health", test_health);
  g_test_add_func ("/sync-client/offline", test_offline);
  g_test_add_func ("/sync-client/tls-unknown-ca", test_tls_unknown_ca);
  g_test_add_func ("/sync-client/tls-expired", test_tls_expired);
  g_test_add_func ("/sync-client/tls-pinned", test_tls_pinned);
  g_test_add_func ("/sync-client/stalled-handshake", test_stalled_handshake);
  g_test_add_func ("/sync-client/stalled-response", test_stalled_response);
  g_test_add_func ("/sync-client/dropped", test_dropped);
  g_test_add_func ("/sync-client/server-error", test_server_error);
  g_test_add_func ("/sync-client/not-mts", test_not_mts);
  g_test_add_func ("/sync-client/too-large", test_too_large);
  g_test_add_func ("/sync-client/request-headers", test_request_headers);
  g_test_add_func ("/sync-client/cancel", test_cancel);
  g_test_add_func ("/sync-client/session/login", test_session_login);
  g_test_add_func ("/sync-client/session/read-back", test_session_read_back);
  g_test_add_func ("/sync-client/session/expired", test_session_expired);
  g_test_add_func ("/sync-client/session/replay", test_session_replay);
  g_test_add_func ("/sync-client/session/revoked", test_session_revoked);
  g_test_add_func ("/sync-client/session/wrong-credentials", test_session_wrong_credentials);
  g_test_add_func ("/sync-client/session/refused", test_session_refused);
  g_test_add_func ("/sync-client/session/not-logged-in", test_session_not_logged_in);
  g_test_add_func ("/sync-client/session/logout", test_session_logout);
  g_test_add_func ("/sync-client/session/other-practice", test_session_other_practice);
  g_test_add_func ("/sync-client/session/moved", test_session_moved);
  g_test_add_func ("/sync-client/session/token-moved", test_session_token_moved);
  g_test_add_func ("/sync-client/session/pinned", test_session_pinned);

  status = g_test_run ();

  g_clear_pointer (&main_slot.srv, mts_test_server_free);
  g_clear_pointer (&short_slot.srv, mts_test_server_free);
  g_clear_pointer (&expired_slot.srv, mts_test_server_free);
  g_free (main_slot.failed);
  g_free (short_slot.failed);
  g_free (expired_slot.failed);
  mts_test_fixture_tear_down (status != 0);
  return status;
}
