/* test-app-flow.c — a therapist's day in the real app, one step after the
 * other, against the real server on loopback TLS (behind a loopback proxy,
 * so the network can go away and come back at the same address):
 *
 *   first-run     the first run through its widgets: server, account,
 *                 passphrase, TOTP code, first sync, the practice opens
 *   offline-work  the network gone: a client added through the client
 *                 editor and a SOAP note typed in the note editor, saved
 *                 locally; a sync says offline and counts what waits
 *   sync          the network back: Sync Now pushes it all; a second device
 *                 (another clinician of the practice) receives the client
 *                 and the note
 *   conflict      both devices change the same line of the note; the app's
 *                 sync holds a conflict; the conflict view shows it and an
 *                 edited merge is saved; both devices end with the merge
 *   sign-amend    the note signed through the editor (with its confirmation),
 *                 read-only afterwards; an amendment typed; both reach the
 *                 second device
 *   lock-unlock   text typed and the app locked before any autosave could
 *                 run: the text is saved, gone from the widget while locked,
 *                 and back in the editor after unlocking with the unlock page
 *
 * Each case needs the ones before it (one practice, one app, all day); a
 * case that finds an earlier one failed fails too, naming why. */
#include "desktop-test.h"

#include <string.h>

#include "mts-client-list.h"
#include "mts-note-editor.h"
#include "mts-setup-page.h"
#include "mts-store-records.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "test-proxy.h"
#include "test-server-fixture.h"

#define PASS "a long local passphrase for the day"
#define SYNC_MS 30000
#define WAIT_MS 20000

static struct {
  MtsTestServer *server;
  MtsTestProxy *proxy;
  char *slug;
  MtsTestUser *user;          /* the app's */
  MtsTestUser *other;         /* the second device's */
  char *dir;
  MtsApplication *app;
  MtsStore *device;           /* the second device */
  MtsSyncSession *device_session;
  char *client_id;
  char *note_id;
  char *amendment_id;
} day;

/* ---- helpers ---- */

static MtsWindow *
window (void)
{
  return mts_test_app_window (day.app);
}

static MtsStore *
app_store (void)
{
  return mts_application_get_store (day.app);
}

static MtsNoteEditor *
editor (void)
{
  return MTS_NOTE_EDITOR (mts_test_get ("note-editor"));
}

static gboolean
shown (const char *name)
{
  GtkWidget *w = mts_test_find (name);
  return w != NULL && gtk_widget_is_visible (w);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

/* Activates app.sync-now and waits for that sync to end; its state. */
static MtsSyncState
sync_now (void)
{
  MtsSyncManager *mgr = mts_application_get_sync_manager (day.app);
  guint finished = 0;
  gulong id = g_signal_connect_swapped (mgr, "finished", G_CALLBACK (count_cb), &finished);

  g_action_group_activate_action (G_ACTION_GROUP (day.app), "sync-now", NULL);
  MTS_TEST_WAIT_UNTIL (finished > 0, SYNC_MS);
  g_signal_handler_disconnect (mgr, id);
  return mts_sync_manager_get_state (mgr);
}

static void
device_sync (void)
{
  g_autoptr (GError) error = NULL;
  MtsSyncStats stats = { 0 };

  g_assert_true (mts_sync_once (day.device, day.device_session, NULL, NULL, NULL, NULL, &stats,
                                &error));
  g_assert_no_error (error);
}

static char *
stored_body (MtsStore *store, const char *note_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = mts_store_note_get (store, note_id, &error);

  g_assert_no_error (error);
  return g_strdup (note->body);
}

static gboolean
stored_body_is (MtsStore *store, const char *note_id, const char *expected)
{
  g_autoptr (MtsNote) note = mts_store_note_get (store, note_id, NULL);
  return note != NULL && g_strcmp0 (note->body, expected) == 0;
}

/* ---- the day ---- */

static void
test_first_run (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  char code[MTS_TOTP_CODE_BUF];

  day.server = mts_test_server_new ("day", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mts_test_server_start (day.server, &error));
  g_assert_no_error (error);
  day.proxy = mts_test_proxy_new (mts_test_server_port (day.server), &error);
  g_assert_no_error (error);
  day.slug = mts_test_practice_new (day.server, "day", &error);
  g_assert_no_error (error);
  day.user = mts_test_user_new (day.server, day.slug, &error);
  g_assert_no_error (error);
  day.other = mts_test_user_new (day.server, day.slug, &error);
  g_assert_no_error (error);
  url = mts_test_proxy_url (day.proxy);

  g_setenv ("MTS_KDF_LEVEL", "test", TRUE);
  day.dir = mts_test_store_dir ("day");
  day.app = mts_test_app_start (day.dir);
  /* Background syncs would race the steps below: only Sync Now syncs. */
  g_settings_set_uint (mts_application_get_settings (day.app), "sync-interval-seconds", 0);
  g_assert_cmpstr (mts_window_get_page (window ()), ==, "setup");

  mts_test_set_text ("setup-server-url", url);
  mts_test_set_text ("setup-ca-file", ca);
  mts_test_set_text ("setup-practice", day.slug);
  mts_test_set_text ("setup-username", day.user->username);
  mts_test_set_text ("setup-password", day.user->password);
  mts_test_click ("setup-account-next");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_setup_page_get_step (MTS_SETUP_PAGE (mts_test_get ("setup-page"))),
                                    "passphrase"), WAIT_MS);
  mts_test_set_text ("setup-passphrase", PASS);
  mts_test_set_text ("setup-passphrase-confirm", PASS);
  mts_test_click ("setup-passphrase-next");
  mts_test_user_code (day.user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  MTS_TEST_WAIT_UNTIL (shown ("setup-finish") || shown ("setup-sync-error")
                       || shown ("setup-code-error"), SYNC_MS);
  g_assert_false (shown ("setup-code-error"));
  g_assert_false (shown ("setup-sync-error"));
  mts_test_click ("setup-finish");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (window ()), "main"), WAIT_MS);

  g_assert_true (mts_application_is_unlocked (day.app));
  g_assert_nonnull (mts_application_get_actor (day.app));
  /* The practice is empty yet: the list says so. */
  g_assert_cmpuint (mts_client_list_get_n_clients (MTS_CLIENT_LIST (mts_test_get ("client-list"))), ==, 0);
}

static void
test_offline_work (void)
{
  MtsSyncManager *mgr;
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (GPtrArray) notes = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (day.app);
  g_assert_true (mts_application_is_unlocked (day.app));
  mts_test_proxy_set_mode (day.proxy, MTS_TEST_PROXY_OFFLINE, 0);

  /* A new client, through the client editor. */
  mts_test_action (day.app, "win.new-client", NULL);
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") != NULL
                       && gtk_widget_get_mapped (mts_test_find ("client-editor")), 2000);
  mts_test_set_text ("client-editor-name", "Jane Doe");
  mts_test_set_text ("client-editor-email", "jane.doe@example.org");
  mts_test_click ("client-editor-save");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") == NULL, 2000);
  clients = mts_store_client_list (app_store (), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (clients->len, ==, 1);
  day.client_id = g_strdup (((MtsClient *) clients->pdata[0])->id);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (window ()), "client"), 2000);

  /* A SOAP note from the client's page, typed in the editor: saved here. */
  mts_test_click ("client-page-new-note");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (window ()), "note"), 2000);
  mts_test_click ("template-SOAP");
  mts_test_set_text ("note-text", "S: Jane reports sleeping badly.\nO: Tired, engaged.\n"
                                  "A: Low mood, stable.\nP: Weekly sessions.");
  MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL, WAIT_MS);
  day.note_id = g_strdup (mts_note_editor_get_note_id (editor ()));
  MTS_TEST_WAIT_UNTIL (stored_body_is (app_store (), day.note_id,
                                       "S: Jane reports sleeping badly.\nO: Tired, engaged.\n"
                                       "A: Low mood, stable.\nP: Weekly sessions."), WAIT_MS);
  notes = mts_store_note_list (app_store (), day.client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 1);

  /* Syncing now finds no server: offline, with the work waiting. */
  g_assert_cmpint (sync_now (), ==, MTS_SYNC_STATE_OFFLINE);
  mgr = mts_application_get_sync_manager (day.app);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), >=, 2);
}

static void
test_sync (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) client = NULL;
  g_autofree char *url = mts_test_proxy_url (day.proxy);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *body = NULL;
  g_autofree char *device_dir = mts_test_store_dir ("second-device");
  char code[MTS_TOTP_CODE_BUF];
  MtsSyncManager *mgr = mts_application_get_sync_manager (day.app);

  g_assert_nonnull (day.note_id);
  mts_test_proxy_set_mode (day.proxy, MTS_TEST_PROXY_PASS, 0);
  g_assert_cmpint (sync_now (), ==, MTS_SYNC_STATE_IDLE);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);

  /* The second device: another clinician of the practice, first sync. */
  day.device = mts_store_create (device_dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  day.device_session = mts_sync_session_new (day.device, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (day.device_session, url, ca, &error));
  mts_test_user_code (day.other, code);
  g_assert_true (mts_sync_session_login (day.device_session, day.slug, day.other->username,
                                         day.other->password, code, "second device", NULL, &error));
  g_assert_no_error (error);
  device_sync ();

  client = mts_store_client_get (day.device, day.client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (client->display_name, ==, "Jane Doe");
  g_assert_cmpstr (client->email, ==, "jane.doe@example.org");
  body = stored_body (day.device, day.note_id);
  g_assert_true (g_str_has_prefix (body, "S: Jane reports sleeping badly."));
}

static void
test_conflict (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) theirs = NULL;
  g_autoptr (GPtrArray) open = NULL;
  MtsSyncManager *mgr = mts_application_get_sync_manager (day.app);
  const char *merged = "S: Jane reports sleeping badly, waking at 4am; worse after work stress.\n"
                       "O: Tired, engaged.\nA: Low mood, stable.\nP: Weekly sessions.";
  guint finished = 0;
  gulong id;

  g_assert_nonnull (day.device);
  /* The second device changes the first line, and syncs first. */
  theirs = mts_store_note_get (day.device, day.note_id, &error);
  g_assert_no_error (error);
  g_free (theirs->body);
  theirs->body = g_strdup ("S: Jane reports sleeping badly, worse after work stress.\n"
                           "O: Tired, engaged.\nA: Low mood, stable.\nP: Weekly sessions.");
  g_assert_true (mts_store_note_update (day.device, theirs, &error));
  g_assert_no_error (error);
  device_sync ();

  /* The therapist changes the same line in the app's editor. */
  mts_test_action (day.app, "win.open-note", g_variant_new_string (day.note_id));
  mts_test_set_text ("note-text", "S: Jane reports sleeping badly, waking at 4am.\n"
                                  "O: Tired, engaged.\nA: Low mood, stable.\nP: Weekly sessions.");
  MTS_TEST_WAIT_UNTIL (stored_body_is (app_store (), day.note_id,
                                       "S: Jane reports sleeping badly, waking at 4am.\n"
                                       "O: Tired, engaged.\nA: Low mood, stable.\nP: Weekly sessions."),
                       WAIT_MS);
  g_assert_cmpint (sync_now (), ==, MTS_SYNC_STATE_IDLE);
  g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 1);

  /* The conflict view: both versions, an edited merge saved. */
  mts_test_action (day.app, "win.show-conflicts", NULL);
  g_assert_cmpstr (mts_window_get_content (window ()), ==, "conflicts");
  open = mts_sync_conflicts_list (app_store (), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open->len, ==, 1);
  g_assert_cmpstr (((MtsSyncConflict *) open->pdata[0])->row_id, ==, day.note_id);
  mts_test_click ("conflict-row-0");
  MTS_TEST_WAIT_UNTIL (shown ("conflict-edit-merge-button"), 2000);
  {
    g_autofree char *mine = mts_test_get_text ("conflict-mine-body");
    g_autofree char *server = mts_test_get_text ("conflict-theirs-body");
    g_assert_nonnull (strstr (mine, "waking at 4am"));
    g_assert_nonnull (strstr (server, "worse after work stress"));
  }
  mts_test_click ("conflict-edit-merge-button");
  mts_test_set_text ("conflict-merge-body", merged);
  id = g_signal_connect_swapped (mgr, "finished", G_CALLBACK (count_cb), &finished);
  mts_test_click ("conflict-save-merge-button");
  MTS_TEST_WAIT_UNTIL (finished > 0, SYNC_MS);
  g_signal_handler_disconnect (mgr, id);
  g_assert_cmpint (mts_sync_manager_get_conflicts (mgr), ==, 0);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), ==, 0);

  device_sync ();
  g_assert_true (stored_body_is (app_store (), day.note_id, merged));
  g_assert_true (stored_body_is (day.device, day.note_id, merged));
}

static void
test_sign_amend (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) signed_note = NULL;
  g_autoptr (MtsNote) amendment = NULL;
  g_autoptr (MtsNote) on_device = NULL;
  GtkWidget *dialog;

  g_assert_nonnull (day.note_id);
  mts_test_action (day.app, "win.open-note", g_variant_new_string (day.note_id));
  mts_test_click ("note-sign-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("note-sign-dialog") != NULL, 2000);
  dialog = mts_test_get ("note-sign-dialog");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "sign");
  gtk_window_destroy (GTK_WINDOW (dialog));
  MTS_TEST_WAIT_UNTIL (shown ("note-amend-button"), WAIT_MS);

  signed_note = mts_store_note_get (app_store (), day.note_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (signed_note->status, ==, "signed");
  g_assert_cmpstr (signed_note->signed_by, ==, mts_application_get_actor (day.app));
  /* Read-only now. */
  g_assert_false (gtk_text_view_get_editable (GTK_TEXT_VIEW (mts_test_get ("note-text"))));

  /* Amend: a new draft that names the signed note. */
  mts_test_click ("note-amend-button");
  mts_test_set_text ("note-text", "Correction: the waking time was 5am, not 4am.");
  MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL
                       && g_strcmp0 (mts_note_editor_get_note_id (editor ()), day.note_id) != 0,
                       WAIT_MS);
  day.amendment_id = g_strdup (mts_note_editor_get_note_id (editor ()));
  MTS_TEST_WAIT_UNTIL (stored_body_is (app_store (), day.amendment_id,
                                       "Correction: the waking time was 5am, not 4am."), WAIT_MS);
  amendment = mts_store_note_get (app_store (), day.amendment_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (amendment->amends_id, ==, day.note_id);
  g_assert_cmpstr (amendment->status, ==, "draft");

  g_assert_cmpint (sync_now (), ==, MTS_SYNC_STATE_IDLE);
  device_sync ();
  on_device = mts_store_note_get (day.device, day.note_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (on_device->status, ==, "signed");
  g_clear_pointer (&on_device, mts_note_free);
  on_device = mts_store_note_get (day.device, day.amendment_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (on_device->amends_id, ==, day.note_id);
}

static void
test_lock_unlock (void)
{
  const char *typed = "Correction: the waking time was 5am, not 4am.\n"
                      "Also: she has started a sleep diary";
  g_autofree char *while_locked = NULL;
  g_autofree char *after = NULL;

  g_assert_nonnull (day.amendment_id);
  g_assert_cmpstr (mts_note_editor_get_note_id (editor ()), ==, day.amendment_id);

  /* Typed, and locked at once: no autosave timer has run yet. */
  mts_test_set_text ("note-text", typed);
  g_assert_true (mts_note_editor_is_dirty (editor ()));
  mts_test_action (day.app, "app.lock", NULL);
  g_assert_cmpstr (mts_window_get_page (window ()), ==, "unlock");
  g_assert_false (mts_application_is_unlocked (day.app));

  /* Saved before the keys went; nothing of it left on screen. */
  while_locked = mts_test_get_text ("note-text");
  g_assert_null (strstr (while_locked, "sleep diary"));

  /* Unlocked through the unlock page: the editor has it back. */
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (window ()), "main"), WAIT_MS);
  g_assert_true (stored_body_is (app_store (), day.amendment_id, typed));
  g_assert_cmpstr (mts_window_get_content (window ()), ==, "note");
  MTS_TEST_WAIT_UNTIL ((g_free (after), after = mts_test_get_text ("note-text"),
                        g_strcmp0 (after, typed) == 0), WAIT_MS);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  int status;

  mts_test_gui_init (&argc, &argv);
  if (!mts_test_fixture_set_up (&error))
    g_error ("fixture: %s", error->message);
  g_test_add_func ("/desktop/app-flow/first-run", test_first_run);
  g_test_add_func ("/desktop/app-flow/offline-work", test_offline_work);
  g_test_add_func ("/desktop/app-flow/sync", test_sync);
  g_test_add_func ("/desktop/app-flow/conflict", test_conflict);
  g_test_add_func ("/desktop/app-flow/sign-amend", test_sign_amend);
  g_test_add_func ("/desktop/app-flow/lock-unlock", test_lock_unlock);
  status = g_test_run ();

  if (day.app != NULL)
    mts_test_app_stop (day.app);
  g_clear_object (&day.device_session);
  g_clear_object (&day.device);
  g_clear_pointer (&day.proxy, mts_test_proxy_free);
  g_clear_pointer (&day.server, mts_test_server_free);
  g_clear_pointer (&day.user, mts_test_user_free);
  g_clear_pointer (&day.other, mts_test_user_free);
  g_free (day.slug);
  g_free (day.dir);
  g_free (day.client_id);
  g_free (day.note_id);
  g_free (day.amendment_id);
  mts_test_fixture_tear_down (status != 0);
  return status;
}
