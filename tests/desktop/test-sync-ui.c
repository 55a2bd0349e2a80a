/* test-sync-ui.c — the sync status, the conflict view and the audit view of
 * the real app, against the real server on loopback TLS (behind a loopback
 * proxy, so the server can stop and come back at the same URL).
 *
 * Each case makes a store logged in to the server (store + session API,
 * with a clinician as the actor), starts the app on it and unlocks it, then
 * drives the header's sync status, the conflict view and the audit view
 * through their widgets and the window's actions:
 *   format            the status's counts and relative times
 *   synced            "Not synced yet" → Sync Now → "Synced just now";
 *                     "Syncing… N of M" caught on the way when it can be
 *   offline           the server stopped: "Offline — 2 changes waiting"
 *                     with Retry; back: Retry → synced, nothing waiting
 *   untrusted         another CA: "Sync error: certificate not trusted"
 *   session-ended     the login revoked on the server: "Sign in again"
 *   conflicts         a second device edits the same notes: three
 *                     conflicts side by side with their base, resolved by
 *                     Keep Mine, Keep Theirs and an edited merge, each
 *                     pushed, both devices ending with the choice; an edit
 *                     of a note signed elsewhere kept as an amendment
 *   audit             a client's entries (not another client's), the whole
 *                     practice's, Verify intact, then an entry altered
 *                     through another connection: Verify names it
 * Screenshots: sync-progress (when caught), sync-error, conflict-view,
 * audit-view. */
#include "desktop-test.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-audit-view.h"
#include "mts-store.h"
#include "mts-sync-client.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "mts-sync-status.h"
#include "test-proxy.h"
#include "test-server-fixture.h"

#define PASS "correct horse battery staple"
#define SYNC_MS 60000

static MtsTestServer *server;
static MtsTestProxy *proxy;
static char *slug;

static void
get_server (void)
{
  g_autoptr (GError) error = NULL;

  if (server != NULL)
    return;
  g_assert_true (mts_test_fixture_set_up (&error));
  g_assert_no_error (error);
  /* No grace for a refresh token presented twice: the session-ended case
   * replays one right after the logout that spent and revoked it. */
  server = mts_test_server_new ("sync-ui", "server", "refresh_retry_seconds=0\n", &error);
  g_assert_no_error (error);
  g_assert_true (mts_test_server_start (server, &error));
  g_assert_no_error (error);
  proxy = mts_test_proxy_new (mts_test_server_port (server), &error);
  g_assert_no_error (error);
  slug = mts_test_practice_new (server, "syncui", &error);
  g_assert_no_error (error);
}

/* ---- stores ---- */

typedef struct {
  char *dir;
  char *clinician_id;
} AppStore;

static void
app_store_free (AppStore *s)
{
  g_free (s->dir);
  g_free (s->clinician_id);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AppStore, app_store_free)

/* A store with a clinician as its actor, logged in to the server (through
 * the proxy) as a new user of the practice, locked.  @ca_after_login: a
 * CA file to trust from then on (same URL: the login is kept), or NULL. */
static AppStore *
app_store_new (const char *name, const char *ca_after_login)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();
  g_autoptr (MtsTestUser) user = NULL;
  g_autofree char *url = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *actor_file = NULL;
  g_autofree char *actor_line = NULL;
  char code[MTS_TOTP_CODE_BUF];
  AppStore *s = g_new0 (AppStore, 1);

  get_server ();
  url = mts_test_proxy_url (proxy);
  ca = mts_test_ca_file ("ca.pem");
  s->dir = mts_test_store_dir (name);
  store = mts_store_create (s->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);

  clinician->display_name = g_strdup ("Dr Ada Morgan");
  clinician->email = g_strdup ("ada.morgan@example.org");
  clinician->role = g_strdup ("clinician");
  g_assert_true (mts_store_clinician_add (store, clinician, &error));
  g_assert_no_error (error);
  s->clinician_id = g_strdup (clinician->id);
  mts_store_set_actor (store, s->clinician_id);
  actor_file = g_build_filename (s->dir, "actor", NULL);
  actor_line = g_strconcat (s->clinician_id, "\n", NULL);
  g_assert_true (g_file_set_contents (actor_file, actor_line, -1, &error));

  session = mts_sync_session_new (store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (session, url, ca, &error));
  g_assert_no_error (error);
  user = mts_test_user_new (server, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (user, code);
  g_assert_true (mts_sync_session_login (session, slug, user->username, user->password, code,
                                         name, NULL, &error));
  g_assert_no_error (error);
  if (ca_after_login != NULL)
    {
      g_autofree char *other = mts_test_ca_file (ca_after_login);
      g_assert_true (mts_sync_session_configure (session, url, other, &error));
      g_assert_no_error (error);
      g_assert_true (mts_sync_session_is_logged_in (session));
    }
  g_clear_object (&session);
  mts_store_lock (store);
  return s;
}

/* A second device: a plain store logged in as another user of the practice. */
typedef struct {
  MtsStore *store;
  MtsSyncSession *session;
  MtsTestUser *user;
} Device;

static void
device_free (Device *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
  g_clear_pointer (&d->user, mts_test_user_free);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

static Device *
device_new (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = mts_test_store_dir (name);
  g_autofree char *url = mts_test_proxy_url (proxy);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  char code[MTS_TOTP_CODE_BUF];
  Device *d = g_new0 (Device, 1);

  d->store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (d->session, url, ca, &error));
  g_assert_no_error (error);
  d->user = mts_test_user_new (server, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (d->session, slug, d->user->username, d->user->password,
                                         code, name, NULL, &error));
  g_assert_no_error (error);
  return d;
}

static MtsSyncStats
device_sync (Device *d)
{
  g_autoptr (GError) error = NULL;
  MtsSyncStats stats = { 0 };

  g_assert_true (mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, &stats, &error));
  g_assert_no_error (error);
  return stats;
}

/* ---- records ---- */

static char *
add_client (MtsStore *store, const char *name)
{
  g_autoptr (MtsClient) c = mts_client_new ();
  g_autoptr (GError) error = NULL;

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static char *
add_note (MtsStore *store, const char *client_id, const char *body)
{
  g_autoptr (MtsNote) note = mts_note_new ();
  g_autoptr (GError) error = NULL;

  note->client_id = g_strdup (client_id);
  note->template_kind = g_strdup ("SOAP");
  note->body = g_strdup (body);
  g_assert_true (mts_store_note_add (store, note, &error));
  g_assert_no_error (error);
  return g_strdup (note->id);
}

static void
edit_note (MtsStore *store, const char *id, const char *body)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = mts_store_note_get (store, id, &error);

  g_assert_no_error (error);
  g_free (note->body);
  note->body = g_strdup (body);
  g_assert_true (mts_store_note_update (store, note, &error));
  g_assert_no_error (error);
}

static char *
note_body (MtsStore *store, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = mts_store_note_get (store, id, &error);

  g_assert_no_error (error);
  return g_strdup (note->body);
}

/* ---- the app ---- */

static MtsApplication *
start_unlocked (AppStore *s)
{
  g_autoptr (GError) error = NULL;
  MtsApplication *app = mts_test_app_start (s->dir);
  MtsWindow *win = mts_test_app_window (app);

  g_assert_true (mts_application_unlock (app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), 5000);
  g_assert_nonnull (mts_application_get_sync_manager (app));
  /* No background syncs: each sync here is one the test asked for. */
  mts_sync_manager_set_auto_interval (mts_application_get_sync_manager (app), 0);
  g_assert_cmpstr (mts_application_get_actor (app), ==, s->clinician_id);
  return app;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

/* Clicks @button (which activates app.sync-now, directly or not) and waits
 * for the sync it starts to finish; returns the manager's state after. */
static MtsSyncState
click_and_wait_sync (MtsApplication *app, const char *button)
{
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  guint finished = 0;
  gulong id = g_signal_connect_swapped (mgr, "finished", G_CALLBACK (count_cb), &finished);

  mts_test_click (button);
  MTS_TEST_WAIT_UNTIL (finished > 0, SYNC_MS);
  g_signal_handler_disconnect (mgr, id);
  mts_test_spin (20);
  return mts_sync_manager_get_state (mgr);
}

static gboolean
widget_shown (const char *name)
{
  return gtk_widget_get_visible (mts_test_get (name));
}

static char *
status_text (void)
{
  return mts_test_get_text ("sync-status-label");
}

/* ---- format ---- */

static void
test_format (void)
{
  g_autoptr (GDateTime) at = g_date_time_new_utc (2024, 11, 12, 14, 5, 0);
  struct { GTimeSpan after; const char *text; } cases[] = {
    { 10 * G_TIME_SPAN_SECOND, "Synced just now" },
    { 1 * G_TIME_SPAN_MINUTE, "Synced 1 minute ago" },
    { 2 * G_TIME_SPAN_MINUTE + 30 * G_TIME_SPAN_SECOND, "Synced 2 minutes ago" },
    { 59 * G_TIME_SPAN_MINUTE, "Synced 59 minutes ago" },
    { 3 * G_TIME_SPAN_HOUR, "Synced 3 hours ago" },
  };
  g_autofree char *never = mts_sync_status_format_synced (NULL, at);

  g_assert_cmpstr (never, ==, "Not synced yet");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GDateTime) now = g_date_time_add (at, cases[i].after);
      g_autofree char *text = mts_sync_status_format_synced (at, now);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
  /* Days later: the date, not a count of hours. */
  {
    g_autoptr (GDateTime) now = g_date_time_add_days (at, 3);
    g_autofree char *text = mts_sync_status_format_synced (at, now);
    g_assert_true (g_str_has_prefix (text, "Synced on "));
    g_assert_nonnull (strstr (text, "Nov"));
  }
  /* A clock behind the last sync is "just now", never a negative time. */
  {
    g_autoptr (GDateTime) now = g_date_time_add_minutes (at, -5);
    g_autofree char *text = mts_sync_status_format_synced (at, now);
    g_assert_cmpstr (text, ==, "Synced just now");
  }
  {
    g_autofree char *a = mts_sync_status_format_count (0);
    g_autofree char *b = mts_sync_status_format_count (999);
    g_autofree char *c = mts_sync_status_format_count (1200);
    g_autofree char *d = mts_sync_status_format_count (5000000);
    g_assert_cmpstr (a, ==, "0");
    g_assert_cmpstr (b, ==, "999");
    g_assert_cmpstr (c, ==, "1,200");
    g_assert_cmpstr (d, ==, "5,000,000");
  }
}

/* ---- synced ---- */

typedef struct {
  MtsApplication *app;
  gboolean shot;
} ProgressShot;

static void
progress_cb (MtsSyncManager *mgr, int phase, gint64 done, gint64 total, ProgressShot *p)
{
  p->shot = p->shot || (total > done && done > 0);
}

static void
test_synced (void)
{
  g_autoptr (AppStore) s = app_store_new ("synced", NULL);
  MtsApplication *app = start_unlocked (s);
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *before = status_text ();
  g_autofree char *after = NULL;
  g_autofree char *server_text = NULL;
  g_autofree char *url = mts_test_proxy_url (proxy);
  g_autofree char *client = NULL;
  ProgressShot p = { app, FALSE };
  gulong handler;
  guint finished = 0;
  gulong fin;

  /* Never synced: said so; nothing to retry, no conflicts. */
  g_assert_cmpstr (before, ==, "Not synced yet");
  g_assert_true (gtk_widget_get_visible (mts_test_get ("sync-status")));
  g_assert_false (widget_shown ("sync-retry-button"));
  g_assert_false (widget_shown ("sync-sign-in-button"));
  g_assert_false (widget_shown ("sync-conflicts-button"));
  server_text = mts_test_get_text ("sync-detail-server");
  g_assert_cmpstr (server_text, ==, url);

  /* Enough to send that the push comes in batches, with progress. */
  client = add_client (store, "Priya Sharma");
  for (int i = 0; i < 1500; i++)
    {
      g_autofree char *body = g_strdup_printf ("S: session %d\nO: engaged\nA: steady\nP: continue", i);
      g_free (add_note (store, client, body));
    }
  mts_application_notify_changed (app);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 1502);
  {
    g_autofree char *pending = mts_test_get_text ("sync-detail-pending");
    g_assert_cmpstr (pending, ==, "1,502");
  }

  handler = g_signal_connect (mgr, "progress", G_CALLBACK (progress_cb), &p);
  fin = g_signal_connect_swapped (mgr, "finished", G_CALLBACK (count_cb), &finished);
  mts_test_click ("sync-now-button");
  MTS_TEST_WAIT_UNTIL (p.shot || finished > 0, SYNC_MS);
  if (finished == 0 && mts_sync_manager_get_state (mgr) == MTS_SYNC_STATE_SYNCING)
    {
      g_autofree char *syncing = status_text ();
      /* While syncing: "Syncing… N of M", a progress bar, no Sync Now. */
      g_assert_true (g_str_has_prefix (syncing, "Syncing…"));
      g_assert_true (widget_shown ("sync-progress-bar"));
      g_assert_false (gtk_widget_get_sensitive (mts_test_get ("sync-now-button")));
      mts_test_screenshot (GTK_WIDGET (mts_test_app_window (app)), "sync-progress");
    }
  else
    g_test_message ("the sync ended before its progress could be caught: no sync-progress.png");
  MTS_TEST_WAIT_UNTIL (finished > 0, SYNC_MS);
  g_signal_handler_disconnect (mgr, handler);
  g_signal_handler_disconnect (mgr, fin);
  mts_test_spin (20);

  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_IDLE);
  after = status_text ();
  g_assert_cmpstr (after, ==, "Synced just now");
  g_assert_false (widget_shown ("sync-progress-bar"));
  g_assert_false (widget_shown ("sync-retry-button"));
  g_assert_true (gtk_widget_get_sensitive (mts_test_get ("sync-now-button")));
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  {
    g_autofree char *pending = mts_test_get_text ("sync-detail-pending");
    g_autofree char *last = mts_test_get_text ("sync-detail-last");
    g_assert_cmpstr (pending, ==, "0");
    g_assert_cmpstr (last, !=, "Never");
  }

  /* Locked: the status lets go of the manager and hides. */
  mts_application_lock (app);
  g_assert_false (gtk_widget_get_visible (mts_test_get ("sync-status")));
  mts_test_app_stop (app);
}

/* ---- offline ---- */

static void
test_offline (void)
{
  g_autoptr (AppStore) s = app_store_new ("offline", NULL);
  g_autoptr (GError) error = NULL;
  MtsApplication *app = start_unlocked (s);
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *client = NULL;
  g_autofree char *offline = NULL;
  g_autofree char *message = NULL;
  g_autofree char *synced = NULL;

  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_IDLE);

  /* The server goes away; the therapist goes on working. */
  mts_test_server_stop (server);
  client = add_client (store, "Tomasz Nowak");
  g_free (add_note (store, client, "S: worried about the move\nP: review next week"));
  mts_application_notify_changed (app);
  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_OFFLINE);
  offline = status_text ();
  g_assert_cmpstr (offline, ==, "Offline — 2 changes waiting");
  g_assert_true (widget_shown ("sync-retry-button"));
  g_assert_false (widget_shown ("sync-sign-in-button"));
  message = mts_test_get_text ("sync-detail-message");
  g_assert_true (g_str_has_prefix (message, "The server cannot be reached"));
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (app)), "sync-error");

  /* Back (on another port, behind the same proxy): Retry syncs. */
  g_assert_true (mts_test_server_start (server, &error));
  g_assert_no_error (error);
  mts_test_proxy_set_backend (proxy, mts_test_server_port (server));
  g_assert_cmpint (click_and_wait_sync (app, "sync-retry-button"), ==, MTS_SYNC_STATE_IDLE);
  synced = status_text ();
  g_assert_cmpstr (synced, ==, "Synced just now");
  g_assert_false (widget_shown ("sync-retry-button"));
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);
  g_assert_false (widget_shown ("sync-detail-message"));
  mts_test_app_stop (app);
}

/* ---- a certificate that is not trusted ---- */

static void
test_untrusted (void)
{
  g_autoptr (AppStore) s = app_store_new ("untrusted", "other-ca.pem");
  MtsApplication *app = start_unlocked (s);
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  g_autofree char *text = NULL;
  g_autofree char *message = NULL;

  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_ERROR);
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, MTS_SYNC_ERROR_TLS);
  text = status_text ();
  g_assert_cmpstr (text, ==, "Sync error: certificate not trusted");
  g_assert_true (widget_shown ("sync-retry-button"));
  /* Signing in again would not help: not offered. */
  g_assert_false (widget_shown ("sync-sign-in-button"));
  message = mts_test_get_text ("sync-detail-message");
  g_assert_nonnull (strstr (message, "certificate is not trusted"));
  g_assert_true (widget_shown ("sync-detail-message"));
  mts_test_app_stop (app);
}

/* ---- the sign-in ended ---- */

static void
test_session_ended (void)
{
  g_autoptr (AppStore) s = app_store_new ("session-ended", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  MtsApplication *app = start_unlocked (s);
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  MtsStore *store = mts_application_get_store (app);
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;
  g_autoptr (GBytes) token = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_IDLE);
  g_assert_false (widget_shown ("sync-sign-in-button"));

  /* The login is revoked on the server (a logout from elsewhere), while
   * this store still holds its (now refused) refresh token. */
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT value FROM sync_state WHERE key = 'refresh_token'",
                                       -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  token = g_bytes_new (sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  session = mts_sync_session_new (store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_logout (session, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&session);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO sync_state (key, value) VALUES "
                                       "('refresh_token', ?1)", -1, &st, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (st, 1, g_bytes_get_data (token, NULL), (int) g_bytes_get_size (token),
                     SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
  sqlite3_finalize (st);

  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_ERROR);
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, MTS_SYNC_ERROR_AUTH);
  text = status_text ();
  g_assert_cmpstr (text, ==, "Sign in again to sync");
  g_assert_true (widget_shown ("sync-sign-in-button"));
  g_assert_false (widget_shown ("sync-retry-button"));
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (mts_test_get ("sync-sign-in-button"))),
                   ==, "win.sign-in");

  /* Without any login left (the token was cleared): still "sign in". */
  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_ERROR);
  g_assert_cmpint (mts_sync_manager_get_error_code (mgr), ==, MTS_SYNC_ERROR_NOT_LOGGED_IN);
  g_assert_true (widget_shown ("sync-sign-in-button"));
  mts_test_app_stop (app);
}

/* ---- conflicts ---- */

#define BASE_1 "S: Jane reports sleeping better since the last session.\n" \
               "O: Calm, good eye contact, speech normal in rate.\n" \
               "A: Low mood lifting; anxiety about work remains.\n" \
               "P: Continue weekly CBT; thought record for work situations."
#define MINE_1 "S: Jane reports sleeping better since the last session.\n" \
               "O: Calm, good eye contact; tearful when discussing her father.\n" \
               "A: Low mood lifting; anxiety about work remains.\n" \
               "P: Continue weekly CBT; thought record for work situations."
#define THEIRS_1 "S: Jane reports sleeping better since the last session.\n" \
                 "O: Relaxed posture, speech normal; brighter affect than last week.\n" \
                 "A: Low mood lifting; anxiety about work remains.\n" \
                 "P: Continue weekly CBT; thought record for work situations."

/* The index in the list of the conflict about @row_id. */
static guint
index_of (MtsApplication *app, const char *row_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = mts_sync_conflicts_list (mts_application_get_store (app), &error);

  g_assert_no_error (error);
  for (guint i = 0; i < list->len; i++)
    if (g_str_equal (((MtsSyncConflict *) list->pdata[i])->row_id, row_id))
      return i;
  g_assert_not_reached ();
  return 0;
}

static const char *
row_of (MtsApplication *app, guint index, char **conflict_row_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = mts_sync_conflicts_list (mts_application_get_store (app), &error);

  g_assert_no_error (error);
  g_assert_cmpuint (list->len, >, index);
  *conflict_row_id = g_strdup (((MtsSyncConflict *) list->pdata[index])->row_id);
  return *conflict_row_id;
}

/* Resolves the first conflict listed with @button (after @prepare, if
 * any), waits for the sync that pushes it, syncs @b, and checks that both
 * devices hold @expected for the note. */
static void
resolve_first (MtsApplication *app, Device *b, const char *button, const char *merge_text,
               const char *const *note_ids, const char *const *expected)
{
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *row_id = NULL;
  g_autofree char *mine = NULL, *a_body = NULL, *b_body = NULL;
  const char *want = NULL;
  guint finished = 0;
  gulong fin;

  row_of (app, 0, &row_id);
  for (guint i = 0; note_ids[i] != NULL; i++)
    if (g_str_equal (note_ids[i], row_id))
      want = expected[i];
  g_assert_nonnull (want);

  mts_test_click ("conflict-row-0");
  MTS_TEST_WAIT_UNTIL (widget_shown ("conflict-keep-mine-button"), 2000);
  mine = mts_test_get_text ("conflict-mine-body");
  g_assert_true (g_str_has_prefix (mine, "S: Jane reports"));

  fin = g_signal_connect_swapped (mgr, "finished", G_CALLBACK (count_cb), &finished);
  if (merge_text != NULL)
    {
      g_autofree char *prefilled = NULL;
      g_assert_false (widget_shown ("conflict-save-merge-button"));
      mts_test_click ("conflict-edit-merge-button");
      g_assert_true (widget_shown ("conflict-save-merge-button"));
      g_assert_false (widget_shown ("conflict-keep-mine-button"));
      /* Prefilled from this device's version. */
      prefilled = mts_test_get_text ("conflict-merge-body");
      g_assert_cmpstr (prefilled, ==, mine);
      mts_test_set_text ("conflict-merge-body", merge_text);
    }
  mts_test_click (button);
  /* Resolving syncs at once, so the choice reaches the server. */
  MTS_TEST_WAIT_UNTIL (finished > 0, SYNC_MS);
  g_signal_handler_disconnect (mgr, fin);
  g_assert_cmpint (mts_sync_manager_get_state (mgr), ==, MTS_SYNC_STATE_IDLE);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);

  device_sync (b);
  a_body = note_body (store, row_id);
  b_body = note_body (b->store, row_id);
  g_assert_cmpstr (a_body, ==, want);
  g_assert_cmpstr (b_body, ==, want);
}

static void
test_conflicts (void)
{
  g_autoptr (AppStore) s = app_store_new ("conflicts", NULL);
  g_autoptr (Device) b = NULL;
  g_autoptr (GError) error = NULL;
  MtsApplication *app = start_unlocked (s);
  MtsWindow *win = mts_test_app_window (app);
  MtsSyncManager *mgr = mts_application_get_sync_manager (app);
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *client = add_client (store, "Jane Doe");
  char *notes[4] = { NULL };
  const char *mine[3], *theirs[3];
  g_autofree char *merged = NULL;
  g_autofree char *badge = NULL;
  g_autofree char *title = NULL;
  g_autofree char *signed_note = NULL;
  MtsSyncStats stats;

  for (int i = 0; i < 3; i++)
    notes[i] = add_note (store, client, BASE_1);
  signed_note = add_note (store, client, "S: First assessment.\nP: Six sessions of CBT agreed.");
  mts_application_notify_changed (app);
  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_IDLE);

  b = device_new ("conflicts-b");
  /* The same clinician on the other device (who signs notes there). */
  mts_store_set_actor (b->store, s->clinician_id);
  stats = device_sync (b);
  g_assert_cmpint (stats.pulled, >=, 5);

  /* Both edit the same line of each note, offline; the other device syncs
   * first and signs the fourth note. */
  for (int i = 0; i < 3; i++)
    {
      mine[i] = MINE_1;
      theirs[i] = THEIRS_1;
      edit_note (b->store, notes[i], THEIRS_1);
      edit_note (store, notes[i], MINE_1);
    }
  g_assert_true (mts_store_note_sign (b->store, signed_note, &error));
  g_assert_no_error (error);
  edit_note (store, signed_note, "S: First assessment.\nP: Six sessions of CBT agreed; review at 4.");
  mts_application_notify_changed (app);
  device_sync (b);

  g_assert_false (widget_shown ("sync-conflicts-button"));
  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_IDLE);
  g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 4);
  g_assert_true (widget_shown ("sync-conflicts-button"));
  badge = mts_test_get_text ("sync-conflicts-label");
  g_assert_cmpstr (badge, ==, "4 conflicts");

  /* The badge opens the view: four rows, the record named as the app
   * names it. */
  mts_test_click ("sync-conflicts-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (win), "conflicts"), 2000);
  g_assert_nonnull (mts_test_find ("conflict-row-3"));
  g_assert_null (mts_test_find ("conflict-row-4"));
  title = mts_test_get_text ("conflict-row-0");
  g_assert_true (g_str_has_prefix (title, "Session note for Jane Doe, "));

  /* Side by side, with the base. */
  {
    g_autofree char *row_name = g_strdup_printf ("conflict-row-%u", index_of (app, notes[0]));
    mts_test_click (row_name);
  }
  {
    g_autofree char *m = mts_test_get_text ("conflict-mine-body");
    g_autofree char *t = mts_test_get_text ("conflict-theirs-body");
    g_autofree char *base = NULL;

    /* The base is folded away until asked for. */
    g_assert_null (mts_test_find ("conflict-base-body"));
    gtk_expander_set_expanded (GTK_EXPANDER (mts_test_get ("conflict-base-expander-body")), TRUE);
    base = mts_test_get_text ("conflict-base-body");
    g_autofree char *heading = mts_test_get_text ("conflict-title");
    g_assert_cmpstr (m, ==, MINE_1);
    g_assert_cmpstr (t, ==, THEIRS_1);
    g_assert_cmpstr (base, ==, BASE_1);
    g_assert_true (g_str_has_prefix (heading, "Session note for Jane Doe"));
    /* Side by side: the two versions share a row. */
    {
      graphene_rect_t rm, rt;
      g_assert_true (gtk_widget_compute_bounds (mts_test_get ("conflict-mine-body"),
                                                GTK_WIDGET (win), &rm));
      g_assert_true (gtk_widget_compute_bounds (mts_test_get ("conflict-theirs-body"),
                                                GTK_WIDGET (win), &rt));
      g_assert_cmpfloat (rm.origin.x + rm.size.width, <=, rt.origin.x);
      g_assert_cmpfloat (ABS (rm.origin.y - rt.origin.y), <, 1);
    }
    mts_test_spin (600);   /* the page's cross-fade */
    mts_test_screenshot (GTK_WIDGET (win), "conflict-view");
    mts_test_click ("conflict-back-button");
  }

  /* The signed note's change is listed as not accepted: kept as an
   * amendment. */
  {
    g_autofree char *row_name = g_strdup_printf ("conflict-row-%u", index_of (app, signed_note));
    g_autofree char *reason = NULL;
    g_autoptr (GPtrArray) amendments = NULL;
    guint found = 0;

    mts_test_click (row_name);
    g_assert_false (widget_shown ("conflict-keep-mine-button"));
    g_assert_true (widget_shown ("conflict-dismiss-button"));
    g_assert_true (widget_shown ("conflict-amend-button"));
    reason = mts_test_get_text ("conflict-rejected-reason");
    g_assert_nonnull (strstr (reason, "signed"));
    mts_test_click ("conflict-amend-button");
    MTS_TEST_WAIT_UNTIL (mts_sync_manager_get_state (mgr) == MTS_SYNC_STATE_IDLE
                         && mts_sync_manager_get_pending (mgr) == 0, SYNC_MS);
    device_sync (b);
    amendments = mts_store_note_list (b->store, client, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < amendments->len; i++)
      {
        MtsNote *n = amendments->pdata[i];
        if (g_strcmp0 (n->amends_id, signed_note) == 0)
          {
            found++;
            g_assert_cmpstr (n->body, ==, "S: First assessment.\nP: Six sessions of CBT agreed; review at 4.");
          }
      }
    g_assert_cmpuint (found, ==, 1);
  }

  /* Keep Mine, Keep Theirs, an edited merge: each pushed, both devices
   * end with the choice. */
  {
    const char *ids[4] = { notes[0], notes[1], notes[2], NULL };
    const char *want_mine[4] = { MINE_1, MINE_1, MINE_1, NULL };
    const char *want_theirs[4] = { THEIRS_1, THEIRS_1, THEIRS_1, NULL };
    const char *merge =
      "S: Jane reports sleeping better since the last session.\n"
      "O: Relaxed posture, brighter affect; tearful when discussing her father.\n"
      "A: Low mood lifting; anxiety about work remains.\n"
      "P: Continue weekly CBT; thought record for work situations.";
    const char *want_merge[4] = { merge, merge, merge, NULL };

    resolve_first (app, b, "conflict-keep-mine-button", NULL, ids, want_mine);
    g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 2);
    resolve_first (app, b, "conflict-keep-theirs-button", NULL, ids, want_theirs);
    g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 1);
    resolve_first (app, b, "conflict-save-merge-button", merge, ids, want_merge);
    merged = note_body (b->store, notes[2]);
  }
  (void) mine;
  (void) theirs;

  /* None left: the empty state, no badge. */
  g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 0);
  g_assert_false (widget_shown ("sync-conflicts-button"));
  g_assert_true (gtk_widget_get_mapped (mts_test_get ("conflict-empty")));
  for (int i = 0; i < 3; i++)
    g_free (notes[i]);
  mts_test_app_stop (app);
}

/* ---- audit ---- */

static char *
verify_text (void)
{
  GtkWidget *button = mts_test_get ("audit-verify-button");

  mts_test_click ("audit-verify-button");
  MTS_TEST_WAIT_UNTIL (gtk_widget_get_sensitive (button), 30000);
  return mts_test_get_text ("audit-verify-result");
}

static void
test_audit (void)
{
  g_autoptr (AppStore) s = app_store_new ("audit", NULL);
  MtsApplication *app = start_unlocked (s);
  MtsWindow *win = mts_test_app_window (app);
  MtsStore *store = mts_application_get_store (app);
  MtsAuditView *view = MTS_AUDIT_VIEW (mts_test_get ("audit-view"));
  g_autofree char *jane = add_client (store, "Jane Doe");
  g_autofree char *john = add_client (store, "John Smith");
  g_autofree char *jane_note = add_note (store, jane, "S: low mood\nP: weekly");
  g_autofree char *john_note = add_note (store, john, "S: sleeping badly\nP: sleep diary");
  g_autofree char *title = NULL;
  g_autofree char *intact = NULL;
  g_autofree char *altered = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *expect = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  gint64 total = 0, tampered = 0;
  gint64 jane_entries;

  edit_note (store, jane_note, "S: low mood, lifting\nP: weekly");
  /* More than a page of the practice's log (200 entries). */
  for (int i = 0; i < 250; i++)
    g_free (add_note (store, john, "S: sleep diary reviewed\nP: continue"));
  mts_application_notify_changed (app);
  g_assert_cmpint (click_and_wait_sync (app, "sync-now-button"), ==, MTS_SYNC_STATE_IDLE);

  /* One client's log: the client and its note, not the other client's. */
  mts_test_action (app, "win.show-audit", g_variant_new_string (jane));
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (win), "audit"), 2000);
  g_assert_cmpstr (mts_audit_view_get_client_id (view), ==, jane);
  title = mts_test_get_text ("audit-title");
  g_assert_cmpstr (title, ==, "Audit Log — Jane Doe");
  g_assert_true (mts_audit_view_has_record (view, jane));
  g_assert_true (mts_audit_view_has_record (view, jane_note));
  g_assert_false (mts_audit_view_has_record (view, john));
  g_assert_false (mts_audit_view_has_record (view, john_note));
  jane_entries = mts_audit_view_get_n_entries (view);
  /* The client's insert, the note's insert and update at least. */
  g_assert_cmpint (jane_entries, >=, 3);
  g_assert_cmpuint (mts_audit_view_get_n_loaded (view), ==, jane_entries);

  /* Verify: intact, with the count of the whole log. */
  g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (store), "SELECT count(*) FROM mts_audit",
                                       -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  total = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  intact = verify_text ();
  expect = g_strdup_printf ("The audit log is intact: %" G_GINT64_FORMAT " entries, chain verified. "
                            "Its head was anchored to the server at the last sync", total);
  g_assert_true (g_str_has_prefix (intact, expect));
  mts_test_spin (600);   /* the result's slide */
  mts_test_screenshot (GTK_WIDGET (win), "audit-view");

  /* The whole practice: both clients, more entries (the practice's other
   * cases' records were pulled too: more than a page), a page at a time. */
  mts_test_action (app, "win.show-audit-all", NULL);
  g_assert_null (mts_audit_view_get_client_id (view));
  g_assert_cmpint (total, >, 200);
  g_assert_cmpuint (mts_audit_view_get_n_loaded (view), ==, 200);
  g_assert_true (widget_shown ("audit-load-more-button"));
  while (mts_audit_view_get_n_loaded (view) < total)
    {
      guint before = mts_audit_view_get_n_loaded (view);
      mts_test_click ("audit-load-more-button");
      g_assert_cmpuint (mts_audit_view_get_n_loaded (view), >, before);
    }
  g_assert_cmpuint (mts_audit_view_get_n_loaded (view), ==, total);
  g_assert_false (widget_shown ("audit-load-more-button"));
  g_assert_true (mts_audit_view_has_record (view, john));
  g_assert_true (mts_audit_view_has_record (view, john_note));
  g_assert_cmpint (mts_audit_view_get_n_entries (view), ==, total);
  g_assert_cmpint (mts_audit_view_get_n_entries (view), >, jane_entries);

  /* An entry altered behind the app's back, through another connection
   * (the append-only guard dropped, then put back): Verify names it. */
  db_path = g_build_filename (s->dir, "practice.db", NULL);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT seq FROM mts_audit WHERE target = 'notes' "
                                       "AND row_id = ?1 AND action = 'insert'", -1, &st, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (st, 1, jane_note, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  tampered = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  {
    g_autofree char *sql = g_strdup_printf (
      "BEGIN;"
      "DROP TRIGGER mts_audit_append_only_update;"
      "UPDATE mts_audit SET actor = 'someone else' WHERE seq = %" G_GINT64_FORMAT ";"
      "CREATE TRIGGER mts_audit_append_only_update BEFORE UPDATE ON mts_audit\n"
      "BEGIN SELECT RAISE(ABORT, 'mts_audit is append-only: entries cannot be changed'); END;"
      "COMMIT;", tampered);
    char *errmsg = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK)
      g_test_message ("tampering failed: %s", errmsg);
    g_assert_cmpint (rc, ==, SQLITE_OK);
  }
  sqlite3_close (db);

  altered = verify_text ();
  expect = (g_free (expect), g_strdup_printf ("The audit log has been altered at entry %"
                                              G_GINT64_FORMAT ": ", tampered));
  if (!g_str_has_prefix (altered, expect))
    g_test_message ("verify said: %s", altered);
  g_assert_true (g_str_has_prefix (altered, expect));
  g_assert_nonnull (strstr (altered, "does not verify"));
  mts_test_app_stop (app);
}

int
main (int argc, char *argv[])
{
  int status;

  mts_test_gui_init (&argc, &argv);
  g_test_add_func ("/desktop/sync-ui/format", test_format);
  g_test_add_func ("/desktop/sync-ui/synced", test_synced);
  g_test_add_func ("/desktop/sync-ui/offline", test_offline);
  g_test_add_func ("/desktop/sync-ui/untrusted", test_untrusted);
  g_test_add_func ("/desktop/sync-ui/session-ended", test_session_ended);
  g_test_add_func ("/desktop/sync-ui/conflicts", test_conflicts);
  g_test_add_func ("/desktop/sync-ui/audit", test_audit);
  status = g_test_run ();
  if (proxy != NULL)
    mts_test_proxy_free (proxy);
  if (server != NULL)
    {
      mts_test_server_stop (server);
      mts_test_server_free (server);
    }
  mts_test_fixture_tear_down (status != 0);
  g_free (slug);
  return status;
}
