/* test-sync-manager.c — the desktop app's sync manager (sync/mts-sync-manager.h)
 * against the real server over loopback TLS, with a main loop as the app
 * has: IDLE → SYNCING → IDLE with progress and last-synced; what the app's
 * store wrote arrives on another device; the app writes on while a sync
 * runs; the server stopped (OFFLINE, with a reason) and back (retried in
 * the background); a sync cancelled midway loses nothing; a revoked device
 * is told plainly; a manager finalized during a sync; error-code names
 * each failure (OFFLINE, REVOKED), -1 once synced.
 *
 * Devices reach the server through a loopback proxy (test-proxy.h), whose
 * port stays the same when the server behind it restarts on another. */
#include <gio/gio.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-store.h"
#include "mts-sync-client.h"
#include "mts-sync-engine.h"
#include "mts-sync-manager.h"
#include "mts-sync-manager-private.h"
#include "mts-sync-session.h"
#include "test-proxy.h"
#include "test-server-fixture.h"

#define PASS "local passphrase 1234"
#define WAIT_SECONDS 120

static MtsTestServer *server;
static MtsTestProxy *proxy;

/* The shared server, behind the shared proxy. */
static MtsTestServer *
get_server (void)
{
  g_autoptr(GError) error = NULL;

  if (server == NULL)
    {
      g_assert_true (mts_test_fixture_set_up (&error));
      server = mts_test_server_new ("manager", "server", NULL, &error);
      g_assert_no_error (error);
      g_assert_true (mts_test_server_start (server, &error));
      g_assert_no_error (error);
      proxy = mts_test_proxy_new (mts_test_server_port (server), &error);
      g_assert_no_error (error);
    }
  return server;
}

/* --- devices --------------------------------------------------------------- */

typedef struct {
  MtsStore *store;
  MtsTestUser *user;
} Device;

static void
device_free (Device *d)
{
  g_clear_object (&d->store);
  g_clear_pointer (&d->user, mts_test_user_free);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

/* A new store, logged in (through the proxy) as a new user of @slug.  The
 * login's session is dropped at once: from then on every sync makes its own
 * from the stored refresh token, as the manager does, so no stale copy of
 * a rotated token is left to be replayed. */
static Device *
device_new (const char *slug, const char *name)
{
  static guint n;
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncSession) session = NULL;
  g_autofree char *dir = g_strdup_printf ("%s/mgr-%u-%s", mts_test_fixture_dir (), ++n, name);
  g_autofree char *url = NULL;
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  char code[MTS_TOTP_CODE_BUF];
  Device *d = g_new0 (Device, 1);

  get_server ();
  url = mts_test_proxy_url (proxy);
  d->store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (session, url, ca, &error));
  d->user = mts_test_user_new (server, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (session, slug, d->user->username, d->user->password,
                                         code, name, NULL, &error));
  g_assert_no_error (error);
  return d;
}

static char *
device_id (Device *d)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncSession) session = mts_sync_session_new (d->store, &error);

  g_assert_no_error (error);
  return g_strdup (mts_sync_session_get_device_id (session));
}

/* One blocking sync of a device without a manager. */
static MtsSyncStats
sync_plain (Device *d)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsSyncSession) session = mts_sync_session_new (d->store, &error);
  MtsSyncStats stats = { 0 };

  g_assert_no_error (error);
  g_assert_true (mts_sync_once (d->store, session, NULL, NULL, NULL, NULL, &stats, &error));
  g_assert_no_error (error);
  return stats;
}

static char *
new_practice (void)
{
  g_autoptr(GError) error = NULL;
  char *slug = mts_test_practice_new (get_server (), "mgr", &error);

  g_assert_no_error (error);
  return slug;
}

static char *
add_client (Device *d, const char *name)
{
  g_autoptr(MtsClient) c = mts_client_new ();
  g_autoptr(GError) error = NULL;

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (d->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static char *
add_note (Device *d, const char *client_id, const char *body)
{
  g_autoptr(MtsNote) note = mts_note_new ();
  g_autoptr(GError) error = NULL;

  note->client_id = g_strdup (client_id);
  note->template_kind = g_strdup ("SOAP");
  note->body = g_strdup (body);
  g_assert_true (mts_store_note_add (d->store, note, &error));
  g_assert_no_error (error);
  return g_strdup (note->id);
}

static gint64
count_rows (Device *d, const char *sql)
{
  sqlite3_stmt *st;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (d->store), sql, -1, &st, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

/* --- watching a manager from the main loop ---------------------------------- */

typedef struct {
  MtsSyncManager *mgr;
  GArray *states;           /* MtsSyncState, each notify::state */
  guint progress;
  gint64 last_done;
  gint64 last_total;
  guint finished;
  gboolean finished_ok;
  GVariant *stats;
  /* What the progress handler does, on the main thread, mid-sync. */
  gboolean cancel_on_progress;
  GCancellable *cancel_cancellable;
  Device *write_to;
  const char *write_client;
  guint push_writes;
  GPtrArray *written;       /* ids of notes written mid-sync */
} Watch;

static void
state_cb (GObject *object, GParamSpec *pspec, gpointer data)
{
  Watch *w = data;
  MtsSyncState state = mts_sync_manager_get_state (w->mgr);

  g_array_append_val (w->states, state);
}

static void
progress_cb (MtsSyncManager *mgr, MtsSyncPhase phase, gint64 done, gint64 total, gpointer data)
{
  Watch *w = data;

  g_assert_true (phase == MTS_SYNC_PHASE_PUSH || phase == MTS_SYNC_PHASE_PULL);
  g_assert_cmpint (done, >=, 0);
  g_assert_cmpint (done, <=, total);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_SYNCING);
  g_assert_cmpint (mts_sync_manager_get_progress_done (mgr), ==, done);
  g_assert_cmpint (mts_sync_manager_get_progress_total (mgr), ==, total);
  w->progress++;
  w->last_done = done;
  w->last_total = total;
  /* Two writes during the push (its batches are 500 ops), and one on each
   * pulled page.  (Not on every push batch: a write landing while a batch
   * of one op is in flight makes the engine's count of acknowledged ops
   * come out as zero; see the report on mts-sync-engine.c's push.) */
  if (w->write_to != NULL && (phase == MTS_SYNC_PHASE_PULL || w->push_writes++ < 2))
    {
      g_autofree char *body = g_strdup_printf ("typed during the sync, %u", w->written->len);
      /* The app's store is not the twin the sync runs on: this write waits
       * at most for one of the sync's transactions, and lands. */
      g_ptr_array_add (w->written, add_note (w->write_to, w->write_client, body));
    }
  if (w->cancel_on_progress && w->progress == 1)
    {
      if (w->cancel_cancellable != NULL)
        g_cancellable_cancel (w->cancel_cancellable);
      else
        mts_sync_manager_cancel (mgr);
    }
}

static void
finished_cb (MtsSyncManager *mgr, gboolean success, GVariant *stats, gpointer data)
{
  Watch *w = data;

  g_assert_cmpint (mts_sync_manager_get_state (mgr), !=, MTS_SYNC_STATE_SYNCING);
  g_assert_true (g_variant_is_of_type (stats, G_VARIANT_TYPE ("a{sx}")));
  w->finished++;
  w->finished_ok = success;
  g_clear_pointer (&w->stats, g_variant_unref);
  w->stats = g_variant_ref (stats);
}

static Watch *
watch_new (MtsSyncManager *mgr)
{
  Watch *w = g_new0 (Watch, 1);

  w->mgr = mgr;
  w->states = g_array_new (FALSE, FALSE, sizeof (MtsSyncState));
  w->written = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (mgr, "notify::state", G_CALLBACK (state_cb), w);
  g_signal_connect (mgr, "progress", G_CALLBACK (progress_cb), w);
  g_signal_connect (mgr, "finished", G_CALLBACK (finished_cb), w);
  return w;
}

static void
watch_free (Watch *w)
{
  g_signal_handlers_disconnect_by_data (w->mgr, w);
  g_array_unref (w->states);
  g_ptr_array_unref (w->written);
  g_clear_pointer (&w->stats, g_variant_unref);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Watch, watch_free)

static void
watch_reset (Watch *w)
{
  g_array_set_size (w->states, 0);
  w->progress = 0;
  w->finished = 0;
}

static void
assert_states (Watch *w, const MtsSyncState *expect, guint n)
{
  g_autoptr(GString) got = g_string_new (NULL);

  for (guint i = 0; i < w->states->len; i++)
    g_string_append_printf (got, "%d ", g_array_index (w->states, MtsSyncState, i));
  g_test_message ("states: %s", got->str);
  g_assert_cmpuint (w->states->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (w->states, MtsSyncState, i), ==, expect[i]);
}

static gint64
stat_of (Watch *w, const char *name)
{
  gint64 v = -1;

  g_assert_nonnull (w->stats);
  g_assert_true (g_variant_lookup (w->stats, name, "x", &v));
  return v;
}

static gboolean
timed_out_cb (gpointer data)
{
  g_error ("gave up waiting after %d s: %s", WAIT_SECONDS, (const char *) data);
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Condition) (gpointer data);

/* Runs the main context until @cond holds (or fails the test).  A tick
 * wakes it every 20 ms: some conditions change on other threads without
 * anything for the main context to dispatch (the last reference to a
 * finished sync may go on its worker). */
static void
wait_until (Condition cond, gpointer data, const char *what)
{
  GSource *timeout = g_timeout_source_new_seconds (WAIT_SECONDS);
  GSource *tick = g_timeout_source_new (20);

  g_source_set_callback (timeout, timed_out_cb, (gpointer) what, NULL);
  g_source_attach (timeout, NULL);
  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, NULL);
  while (!cond (data))
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  g_source_destroy (timeout);
  g_source_unref (timeout);
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} Result;

static void
sync_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Result *r = data;

  r->ok = mts_sync_manager_sync_finish (MTS_SYNC_MANAGER (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
result_done (gpointer data)
{
  return ((Result *) data)->done;
}

/* mts_sync_manager_sync_async, waited for in the main loop. */
static gboolean
sync_wait (MtsSyncManager *mgr, GCancellable *cancellable, GError **error)
{
  Result r = { 0 };

  mts_sync_manager_sync_async (mgr, cancellable, sync_done_cb, &r);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_SYNCING);
  wait_until (result_done, &r, "a sync to end");
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.ok;
}

static gboolean
no_live_runs (gpointer data)
{
  return mts_sync_manager_live_runs () == 0;
}

/* Spins the main context for @ms. */
static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

/* --- cases --------------------------------------------------------------- */

/* A sync goes IDLE → SYNCING → IDLE with progress, sets last-synced (kept
 * in the store for the next start) and the counts; what the app's store
 * wrote arrives on another device, and what that one wrote is searchable
 * by name in the app's store at once.  A second call during a sync joins
 * it. */
static void
test_sync_idle_to_idle (void)
{
  static const MtsSyncState idle_cycle[] = { MTS_SYNC_STATE_SYNCING, MTS_SYNC_STATE_IDLE };
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Carys Example");
  g_autofree char *note = add_note (a, client, "S: slept better\nP: review in two weeks");
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) before = g_date_time_new_now_utc ();
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(MtsClient) pulled = NULL;
  g_autoptr(MtsNote) pulled_note = NULL;
  Result r1 = { 0 }, r2 = { 0 };

  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_IDLE);
  g_assert_null (mts_sync_manager_get_error_message (mgr));
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, -1);
  g_assert_null (mts_sync_manager_get_last_synced (mgr));
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 2);
  g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 0);
  g_assert_true (mts_sync_manager_get_store (mgr) == a->store);

  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  assert_states (w, idle_cycle, G_N_ELEMENTS (idle_cycle));
  g_assert_cmpuint (w->progress, >=, 1);
  g_assert_cmpuint (w->finished, ==, 1);
  g_assert_true (w->finished_ok);
  g_assert_cmpint (stat_of (w, "pushed"), ==, 2);
  g_assert_cmpint (stat_of (w, "applied"), ==, 2);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  g_assert_null (mts_sync_manager_get_error_message (mgr));
  g_assert_nonnull (mts_sync_manager_get_last_synced (mgr));
  g_assert_cmpint (g_date_time_compare (mts_sync_manager_get_last_synced (mgr), before), >=, 0);

  /* On the other device. */
  g_assert_cmpint (sync_plain (b).pulled, ==, 2);
  pulled = mts_store_client_get (b->store, client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulled->display_name, ==, "Carys Example");
  pulled_note = mts_store_note_get (b->store, note, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulled_note->body, ==, "S: slept better\nP: review in two weeks");

  /* The other way, with two calls sharing one sync. */
  g_free (add_client (b, "Dafydd Elsewhere"));
  sync_plain (b);
  watch_reset (w);
  mts_sync_manager_sync_async (mgr, NULL, sync_done_cb, &r1);
  mts_sync_manager_sync_async (mgr, NULL, sync_done_cb, &r2);
  wait_until (result_done, &r2, "the joined sync");
  g_assert_true (r1.done);
  g_assert_true (r1.ok && r2.ok);
  g_assert_no_error (r1.error);
  g_assert_no_error (r2.error);
  assert_states (w, idle_cycle, G_N_ELEMENTS (idle_cycle));
  g_assert_cmpuint (w->finished, ==, 1);
  g_assert_cmpint (stat_of (w, "pulled"), >=, 1);
  /* The app's store's names were reloaded: the pulled client is found. */
  found = mts_store_client_search (a->store, "dafydd", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);

  /* last-synced survives: a new manager reads it from the store. */
  {
    g_autoptr(MtsSyncManager) again = mts_sync_manager_new (a->store);
    g_assert_nonnull (mts_sync_manager_get_last_synced (again));
    g_assert_true (g_date_time_equal (mts_sync_manager_get_last_synced (again),
                                      mts_sync_manager_get_last_synced (mgr)));
  }
  /* Local writes show in pending once the app asks. */
  g_free (add_client (a, "Elin Later"));
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  mts_sync_manager_refresh_counts (mgr);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 1);
}

/* The app writes through its own store while a sync runs on the twin:
 * every write lands, and the next sync carries those the first missed. */
static void
test_writes_during_sync (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Ffion Busy");
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GError) error = NULL;
  gint64 on_b;

  /* Enough for several push batches (500 each), so the sync is long. */
  for (int i = 0; i < 1100; i++)
    {
      g_autofree char *body = g_strdup_printf ("note %d", i);
      g_free (add_note (a, client, body));
    }
  w->write_to = a;
  w->write_client = client;
  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (w->progress, >=, 3);
  g_assert_cmpuint (w->written->len, >=, 2);
  /* Written mid-sync: each is in the store, and pushed or still pending. */
  for (guint i = 0; i < w->written->len; i++)
    {
      g_autoptr(MtsNote) n = mts_store_note_get (a->store, w->written->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (n->body, "typed during the sync"));
    }
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, mts_sync_pending (a->store, NULL));

  w->write_to = NULL;
  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  sync_plain (b);
  on_b = count_rows (b, "SELECT count(*) FROM notes");
  g_assert_cmpint (on_b, ==, 1100 + w->written->len);
  g_assert_cmpint (count_rows (a, "SELECT count(*) FROM notes"), ==, on_b);
  {
    sqlite3_stmt *st;
    g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (a->store), "SELECT mts_audit_verify()",
                                         -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "ok");
    sqlite3_finalize (st);
  }
}

static gboolean
state_is_idle (gpointer data)
{
  return mts_sync_manager_get_state (data) == MTS_SYNC_STATE_IDLE;
}

/* The server stopped: OFFLINE, with a reason; local work goes on.  Back
 * (on another port, behind the same proxy): the background retry finds it
 * and the state is IDLE again. */
static void
test_offline_and_back (void)
{
  static const MtsSyncState offline_cycle[] = { MTS_SYNC_STATE_SYNCING, MTS_SYNC_STATE_OFFLINE };
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GError) error = NULL;
  g_autofree char *client = add_client (a, "Gwen Offline");
  GDateTime *synced;

  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  synced = g_date_time_ref (mts_sync_manager_get_last_synced (mgr));

  mts_test_server_stop (server);
  g_free (add_note (a, client, "written with the server gone"));
  mts_sync_manager_refresh_counts (mgr);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 1);
  watch_reset (w);
  g_assert_false (sync_wait (mgr, NULL, &error));
  g_assert_true (g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE)
                 || g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK));
  g_clear_error (&error);
  assert_states (w, offline_cycle, G_N_ELEMENTS (offline_cycle));
  g_assert_false (w->finished_ok);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_OFFLINE);
  g_assert_true (g_str_has_prefix (mts_sync_manager_get_error_message (mgr),
                                   "The server cannot be reached"));
  /* The code says which failure it was, for the app's way out. */
  g_assert_true (mts_sync_manager_get_error_code (mgr) == MTS_SYNC_ERROR_OFFLINE
                 || mts_sync_manager_get_error_code (mgr) == MTS_SYNC_ERROR_NETWORK);
  g_assert_true (g_date_time_equal (mts_sync_manager_get_last_synced (mgr), synced));
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 1);
  /* The app goes on writing. */
  g_free (add_note (a, client, "and another"));

  /* Background retries: still offline, they keep failing quietly. */
  mts_sync_manager_set_auto_interval (mgr, 2);
  g_assert_cmpuint (mts_sync_manager_get_auto_interval (mgr), ==, 2);
  watch_reset (w);
  spin (3500);
  g_assert_cmpuint (w->finished, >=, 1);
  g_assert_false (w->finished_ok);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), !=, MTS_SYNC_STATE_IDLE);

  /* Back: the next background sync finds it. */
  g_assert_true (mts_test_server_start (server, &error));
  g_assert_no_error (error);
  mts_test_proxy_set_backend (proxy, mts_test_server_port (server));
  wait_until (state_is_idle, mgr, "the background sync after the server came back");
  g_assert_null (mts_sync_manager_get_error_message (mgr));
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, -1);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  g_assert_cmpint (g_date_time_compare (mts_sync_manager_get_last_synced (mgr), synced), >, 0);
  mts_sync_manager_set_auto_interval (mgr, 0);
  g_date_time_unref (synced);
}

/* A sync cancelled midway (by mts_sync_manager_cancel, or the caller's
 * GCancellable) goes back to IDLE with no error; what it pushed is kept,
 * the rest stays in the outbox, and the next sync sends it all: nothing is
 * lost, nothing doubled. */
static void
test_cancel_midway (gconstpointer data)
{
  gboolean by_cancellable = GPOINTER_TO_INT (data);
  static const MtsSyncState idle_cycle[] = { MTS_SYNC_STATE_SYNCING, MTS_SYNC_STATE_IDLE };
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Heledd Cancel");
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gint64 before;

  for (int i = 0; i < 1100; i++)
    {
      g_autofree char *body = g_strdup_printf ("note %d", i);
      g_free (add_note (a, client, body));
    }
  before = mts_sync_pending (a->store, NULL);
  w->cancel_on_progress = TRUE;
  w->cancel_cancellable = by_cancellable ? cancel : NULL;
  g_assert_false (sync_wait (mgr, by_cancellable ? cancel : NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  assert_states (w, idle_cycle, G_N_ELEMENTS (idle_cycle));
  g_assert_null (mts_sync_manager_get_error_message (mgr));
  g_assert_null (mts_sync_manager_get_last_synced (mgr));
  g_assert_false (w->finished_ok);
  /* Stopped midway: the first batch is acknowledged, the rest waits. */
  g_assert_cmpint (stat_of (w, "applied"), >=, 500);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), >, 0);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), <, before);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, mts_sync_pending (a->store, NULL));

  w->cancel_on_progress = FALSE;
  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  sync_plain (b);
  g_assert_cmpint (count_rows (b, "SELECT count(*) FROM notes"), ==, 1100);
  g_assert_cmpint (count_rows (b, "SELECT count(*) FROM clients"), ==, 1);
}

/* A revoked device: ERROR with the plain reason, its data and outbox left
 * as they are, and background syncs held (no point asking again). */
static void
test_revoked (void)
{
  static const MtsSyncState error_cycle[] = { MTS_SYNC_STATE_SYNCING, MTS_SYNC_STATE_ERROR };
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autofree char *client = add_client (a, "Iolo Revoked");
  g_autofree char *id = device_id (a);
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autoptr(MtsClient) kept = NULL;
  gint64 pending = mts_sync_pending (a->store, NULL);

  out = mts_test_server_admin (server, NULL, &error, "device-revoke", slug, id, NULL);
  g_assert_no_error (error);
  g_assert_false (sync_wait (mgr, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED);
  g_clear_error (&error);
  assert_states (w, error_cycle, G_N_ELEMENTS (error_cycle));
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_ERROR);
  g_assert_cmpstr (mts_sync_manager_get_error_message (mgr), ==,
                   "This device was revoked by your practice's administrator; "
                   "your notes on it are safe.");
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, MTS_SYNC_ERROR_REVOKED);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, pending);
  kept = mts_store_client_get (a->store, client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept->display_name, ==, "Iolo Revoked");

  /* Held: no background sync starts after such an error. */
  watch_reset (w);
  mts_sync_manager_set_auto_interval (mgr, 1);
  spin (2500);
  g_assert_cmpuint (w->states->len, ==, 0);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_ERROR);
  mts_sync_manager_set_auto_interval (mgr, 0);
}

/* No sync of a locked store: the call fails at once and the state stays. */
static void
test_locked_store (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(MtsSyncManager) mgr = mts_sync_manager_new (a->store);
  g_autoptr(Watch) w = watch_new (mgr);
  g_autoptr(GError) error = NULL;
  Result r = { 0 };

  mts_store_lock (a->store);
  mts_sync_manager_sync_async (mgr, NULL, sync_done_cb, &r);
  wait_until (result_done, &r, "the refused sync");
  g_assert_false (r.ok);
  g_assert_error (r.error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&r.error);
  g_assert_cmpuint (w->states->len, ==, 0);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_IDLE);

  g_assert_true (mts_store_unlock (a->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
}

static void
count_progress_cb (MtsSyncManager *mgr, MtsSyncPhase phase, gint64 done, gint64 total,
                   gpointer data)
{
  (*(guint *) data)++;
}

static gboolean
some_progress (gpointer data)
{
  return *(guint *) data > 0;
}

/* The manager finalized while a background sync runs: the sync is
 * cancelled, its worker ends and its reports find no manager, the store
 * is untouched by it afterwards and the next manager syncs everything. */
static void
test_finalize_during_sync (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Jac Gone");
  MtsSyncManager *mgr = mts_sync_manager_new (a->store);
  GWeakRef weak;
  g_autoptr(GError) error = NULL;
  guint progress = 0;

  for (int i = 0; i < 1200; i++)
    {
      g_autofree char *body = g_strdup_printf ("note %d", i);
      g_free (add_note (a, client, body));
    }
  g_weak_ref_init (&weak, mgr);
  g_signal_connect (mgr, "progress", G_CALLBACK (count_progress_cb), &progress);
  mts_sync_manager_set_auto_interval (mgr, 1);
  /* Midway: the first batch is pushed, the second on its way.  (Not
   * before the first progress: a sync cancelled during its token refresh
   * may lose the rotated refresh token; see the report on the session.) */
  wait_until (some_progress, &progress, "the background sync to get going");
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_SYNCING);
  g_object_unref (mgr);
  {
    g_autoptr(MtsSyncManager) gone = g_weak_ref_get (&weak);
    g_assert_null (gone);
  }
  g_weak_ref_clear (&weak);
  wait_until (no_live_runs, NULL, "the orphaned sync to wind up");
  g_test_message ("the orphaned sync left %" G_GINT64_FORMAT " of 1201 outbox entries",
                  mts_sync_pending (a->store, NULL));

  /* The app's store is fine, and a new manager carries on. */
  g_free (add_note (a, client, "after the manager went"));
  mgr = mts_sync_manager_new (a->store);
  g_assert_true (sync_wait (mgr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  g_object_unref (mgr);
  sync_plain (b);
  g_assert_cmpint (count_rows (b, "SELECT count(*) FROM notes"), ==, 1201);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync-manager/idle-to-idle", test_sync_idle_to_idle);
  g_test_add_func ("/sync-manager/writes-during-sync", test_writes_during_sync);
  g_test_add_func ("/sync-manager/offline-and-back", test_offline_and_back);
  g_test_add_data_func ("/sync-manager/cancel/by-manager", GINT_TO_POINTER (FALSE),
                        test_cancel_midway);
  g_test_add_data_func ("/sync-manager/cancel/by-cancellable", GINT_TO_POINTER (TRUE),
                        test_cancel_midway);
  g_test_add_func ("/sync-manager/revoked", test_revoked);
  g_test_add_func ("/sync-manager/locked-store", test_locked_store);
  g_test_add_func ("/sync-manager/finalize-during-sync", test_finalize_during_sync);
  status = g_test_run ();
  g_assert_cmpuint (mts_sync_manager_live_runs (), ==, 0);
  g_clear_pointer (&proxy, mts_test_proxy_free);
  if (server != NULL)
    {
      mts_test_server_stop (server);
      mts_test_server_free (server);
    }
  mts_test_fixture_tear_down (status != 0);
  return status;
}
