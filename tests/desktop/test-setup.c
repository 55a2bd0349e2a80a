/* test-setup.c — the first run against the real server (through the
 * widgets: entries filled by name, buttons clicked), its bad inputs (wrong
 * code, wrong password, a server that cannot be reached, a certificate not
 * trusted, a weak passphrase, two that differ), the first sync pulling what
 * another device pushed, the actor; the unlock page (wrong passphrase, then
 * the right one); the keyring (store, look up, clear; unlocking at the
 * next start); auto-lock; the preferences; signing in again after the
 * server ended the session.
 *
 * Run under run-gui-test.sh (Xvfb, a session bus, an unlocked
 * gnome-keyring).  MTS_KDF_LEVEL=test makes new stores quick to open. */
#include "desktop-test.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-keyring.h"
#include "mts-preferences-window.h"
#include "mts-setup-page.h"
#include "mts-store.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "mts-unlock-page.h"
#include "test-server-fixture.h"

#define PASS "river stone lamp 19 quietly"
#define WAIT_MS 30000

static MtsTestServer *main_server;
static MtsTestServer *reuse_server;

static MtsTestServer *
get_server (MtsTestServer **slot, const char *name, const char *auth_extra)
{
  g_autoptr (GError) error = NULL;

  if (*slot == NULL)
    {
      g_assert_true (mts_test_fixture_set_up (&error));
      g_assert_no_error (error);
      *slot = mts_test_server_new (name, "server", auth_extra, &error);
      g_assert_no_error (error);
      g_assert_true (mts_test_server_start (*slot, &error));
      g_assert_no_error (error);
    }
  return *slot;
}

static MtsTestServer *
server (void)
{
  return get_server (&main_server, "desktop-setup", NULL);
}

static GSettings *
settings (void)
{
  static GSettings *s;

  if (s == NULL)
    s = g_settings_new (MTS_APP_ID);
  return s;
}

static void
reset_settings (void)
{
  const char *keys[] = { "server-url", "ca-file", "auto-lock-seconds", "remember-unlock",
                         "sync-interval-seconds", NULL };

  for (const char **k = keys; *k != NULL; k++)
    g_settings_reset (settings (), *k);
  /* No background syncs racing what a case checks. */
  g_settings_set_uint (settings (), "sync-interval-seconds", 0);
}

static gboolean
visible (const char *name)
{
  GtkWidget *w = mts_test_find (name);
  return w != NULL && gtk_widget_get_visible (w);
}

static gboolean
text_contains (const char *name, const char *needle)
{
  g_autofree char *text = mts_test_get_text (name);
  if (strstr (text, needle) == NULL)
    g_test_message ("%s says: %s (expected %s)", name, text, needle);
  return strstr (text, needle) != NULL;
}

static gboolean
text_is (const char *name, const char *expected)
{
  g_autofree char *text = mts_test_get_text (name);
  return g_strcmp0 (text, expected) == 0;
}

/* Pictures after the pages have stopped sliding. */
static void
screenshot (GtkWidget *widget, const char *name)
{
  GtkWidget *steps = mts_test_find ("setup-steps");

  if (steps != NULL)
    MTS_TEST_WAIT_UNTIL (!gtk_stack_get_transition_running (GTK_STACK (steps)), 5000);
  mts_test_spin (400);
  mts_test_screenshot (widget, name);
}

static MtsSetupPage *
setup_page (void)
{
  return MTS_SETUP_PAGE (mts_test_get ("setup-page"));
}

static MtsUnlockPage *
unlock_page (void)
{
  return MTS_UNLOCK_PAGE (mts_test_get ("unlock-page"));
}

static const char *
step (void)
{
  return mts_setup_page_get_step (setup_page ());
}

static void
wait_setup_idle (void)
{
  MTS_TEST_WAIT_UNTIL (!mts_setup_page_is_busy (setup_page ()), WAIT_MS);
}

static void
code_of (MtsTestUser *user, char out[MTS_TOTP_CODE_BUF])
{
  mts_test_user_code (user, out);
}

/* Step 1, filled and continued. */
static void
fill_account (const char *url, const char *ca, const char *practice, const char *username,
              const char *password)
{
  mts_test_set_text ("setup-server-url", url);
  mts_test_set_text ("setup-ca-file", ca != NULL ? ca : "");
  mts_test_set_text ("setup-practice", practice);
  mts_test_set_text ("setup-username", username);
  mts_test_set_text ("setup-password", password);
}

static void
assert_account_kept (const char *url, const char *practice, const char *username,
                     const char *password)
{
  g_assert_true (text_is ("setup-server-url", url));
  g_assert_true (text_is ("setup-practice", practice));
  g_assert_true (text_is ("setup-username", username));
  g_assert_true (text_is ("setup-password", password));
}

static void
choose_passphrase (void)
{
  MTS_TEST_WAIT_UNTIL (g_str_equal (step (), "passphrase"), WAIT_MS);
  mts_test_set_text ("setup-passphrase", PASS);
  mts_test_set_text ("setup-passphrase-confirm", PASS);
  mts_test_click ("setup-passphrase-next");
  g_assert_cmpstr (step (), ==, "code");
}

/* A store in @dir logged in as a new user of @slug on @srv, locked and
 * closed; the user is returned. */
static MtsTestUser *
make_logged_in_store (const char *dir, MtsTestServer *srv, const char *slug)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_autoptr (MtsSyncSession) session = NULL;
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  MtsTestUser *user;
  char code[MTS_TOTP_CODE_BUF];

  g_assert_no_error (error);
  session = mts_sync_session_new (store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (session, url, ca, &error));
  user = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  code_of (user, code);
  g_assert_true (mts_sync_session_login (session, slug, user->username, user->password, code,
                                         "test device", NULL, &error));
  g_assert_no_error (error);
  mts_store_lock (store);
  return user;
}

/* ---- the first run ---- */

static void
test_first_run (void)
{
  MtsTestServer *srv = server ();
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "first-run", &error);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *other_dir = mts_test_store_dir ("first-run-other");
  g_autofree char *dir = mts_test_store_dir ("first-run");
  g_autofree char *setup_dir = g_strconcat (dir, ".setup", NULL);
  g_autofree char *store_id = NULL;
  g_autoptr (MtsTestUser) other = NULL;
  g_autoptr (MtsTestUser) user = NULL;
  g_autoptr (MtsStore) other_store = NULL;
  g_autoptr (MtsSyncSession) other_session = NULL;
  g_autoptr (MtsClient) client = mts_client_new ();
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (MtsClinician) actor = NULL;
  g_autofree char *saved_url = NULL;
  MtsApplication *app;
  MtsWindow *win;
  char code[MTS_TOTP_CODE_BUF];
  gboolean found = FALSE;

  g_assert_no_error (error);
  reset_settings ();

  /* Another device of the practice pushed a client before this one came. */
  other_store = mts_store_create (other_dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  other_session = mts_sync_session_new (other_store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (other_session, url, ca, &error));
  other = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  code_of (other, code);
  g_assert_true (mts_sync_session_login (other_session, slug, other->username, other->password,
                                         code, "other", NULL, &error));
  g_assert_no_error (error);
  client->display_name = g_strdup ("Ivy Pushed-Earlier");
  client->status = g_strdup ("active");
  g_assert_true (mts_store_client_add (other_store, client, &error));
  g_assert_no_error (error);
  g_assert_true (mts_sync_once (other_store, other_session, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  user = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);

  /* The server address and CA come from the settings. */
  g_settings_set_string (settings (), "server-url", url);
  g_settings_set_string (settings (), "ca-file", ca);
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  g_assert_cmpstr (mts_window_get_page (win), ==, "setup");
  g_assert_cmpstr (step (), ==, "account");
  g_assert_true (text_is ("setup-server-url", url));
  g_assert_true (text_is ("setup-ca-file", ca));

  /* Missing fields: said, nothing moves. */
  mts_test_click ("setup-account-next");
  g_assert_true (visible ("setup-account-error"));
  g_assert_true (text_contains ("setup-account-error", "practice, username and password"));
  g_assert_cmpstr (step (), ==, "account");

  fill_account (url, ca, slug, user->username, user->password);
  g_assert_false (visible ("setup-account-error"));
  screenshot (GTK_WIDGET (win), "setup-login");
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_false (visible ("setup-account-error"));
  g_assert_cmpstr (step (), ==, "passphrase");

  /* A weak passphrase is refused, with the level bar low. */
  mts_test_set_text ("setup-passphrase", "password12");
  mts_test_set_text ("setup-passphrase-confirm", "password12");
  g_assert_cmpfloat (gtk_level_bar_get_value (GTK_LEVEL_BAR (mts_test_get ("setup-strength-bar"))),
                     ==, 1.0);
  g_assert_true (text_contains ("setup-strength-label", "Too weak"));
  mts_test_click ("setup-passphrase-next");
  g_assert_cmpstr (step (), ==, "passphrase");
  g_assert_true (visible ("setup-passphrase-error"));
  g_assert_true (text_contains ("setup-passphrase-error", "too weak"));
  /* Too short, said as such. */
  mts_test_set_text ("setup-passphrase", "ab3$");
  g_assert_true (text_contains ("setup-strength-label", "too short"));
  mts_test_click ("setup-passphrase-next");
  g_assert_cmpstr (step (), ==, "passphrase");

  /* Two that differ are refused. */
  mts_test_set_text ("setup-passphrase", PASS);
  mts_test_set_text ("setup-passphrase-confirm", PASS " typo");
  g_assert_cmpfloat (gtk_level_bar_get_value (GTK_LEVEL_BAR (mts_test_get ("setup-strength-bar"))),
                     >=, 3.0);
  mts_test_click ("setup-passphrase-next");
  g_assert_cmpstr (step (), ==, "passphrase");
  g_assert_true (text_contains ("setup-passphrase-error", "differ"));
  g_assert_true (text_is ("setup-passphrase", PASS));

  mts_test_set_text ("setup-passphrase-confirm", PASS);
  g_assert_true (text_contains ("setup-strength-label", "passphrase"));
  screenshot (GTK_WIDGET (win), "setup-passphrase");
  mts_test_click ("setup-passphrase-next");
  g_assert_cmpstr (step (), ==, "code");

  /* A code that is not six digits is refused before anything is made. */
  mts_test_set_text ("setup-code", "12ab");
  mts_test_click ("setup-sign-in");
  g_assert_true (text_contains ("setup-code-error", "6 digits"));
  g_assert_null (mts_setup_page_get_store_id (setup_page ()));

  /* A wrong code: said; the code is emptied, nothing else. */
  mts_test_user_wrong_code (user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "code");
  g_assert_true (visible ("setup-code-error"));
  g_assert_true (text_contains ("setup-code-error", "That code was not accepted"));
  g_assert_true (text_is ("setup-code", ""));
  assert_account_kept (url, slug, user->username, user->password);
  g_assert_true (text_is ("setup-passphrase", PASS));
  screenshot (GTK_WIDGET (win), "setup-error-totp");
  /* The store was made beside the store folder, not in it. */
  store_id = g_strdup (mts_setup_page_get_store_id (setup_page ()));
  g_assert_nonnull (store_id);
  g_assert_true (g_file_test (setup_dir, G_FILE_TEST_IS_DIR));
  g_assert_false (mts_application_has_store (app));

  /* The right code: signed in, first sync, with the store made before. */
  code_of (user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  MTS_TEST_WAIT_UNTIL (g_str_equal (step (), "sync") || visible ("setup-code-error"), WAIT_MS);
  g_assert_cmpstr (step (), ==, "sync");
  g_assert_cmpstr (mts_setup_page_get_store_id (setup_page ()), ==, store_id);
  g_assert_false (g_file_test (setup_dir, G_FILE_TEST_EXISTS));
  /* What was typed is wiped. */
  g_assert_true (text_is ("setup-password", ""));
  g_assert_true (text_is ("setup-passphrase", ""));

  MTS_TEST_WAIT_UNTIL (visible ("setup-finish") || visible ("setup-sync-error"), WAIT_MS);
  g_assert_false (visible ("setup-sync-error"));
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (mts_test_get ("setup-sync-progress"))),
                     ==, 1.0);
  g_assert_true (text_contains ("setup-sync-label", "received"));
  /* The page waits for the user: the app has not taken the store yet. */
  g_assert_cmpstr (mts_window_get_page (win), ==, "setup");
  screenshot (GTK_WIDGET (win), "setup-first-sync");

  mts_test_click ("setup-finish");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  g_assert_true (mts_application_is_unlocked (app));
  g_assert_cmpstr (mts_store_get_id (mts_application_get_store (app)), ==, store_id);
  g_assert_cmpstr (mts_store_get_dir (mts_application_get_store (app)), ==, dir);

  /* The other device's client came down. */
  clients = mts_store_client_list (mts_application_get_store (app), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < clients->len; i++)
    found |= g_strcmp0 (((MtsClient *) clients->pdata[i])->display_name, "Ivy Pushed-Earlier") == 0;
  g_assert_true (found);

  /* The actor is a clinician record named after the user (none came down
   * with the user's id). */
  g_assert_nonnull (mts_application_get_actor (app));
  actor = mts_store_clinician_get (mts_application_get_store (app), mts_application_get_actor (app),
                                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (actor->display_name, ==, user->username);

  /* Offered again next time. */
  saved_url = g_settings_get_string (settings (), "server-url");
  g_assert_cmpstr (saved_url, ==, url);

  mts_test_app_stop (app);

  /* A second start shows the unlock page for it. */
  app = mts_test_app_start (dir);
  g_assert_cmpstr (mts_window_get_page (mts_test_app_window (app)), ==, "unlock");
  mts_test_app_stop (app);
}

/* A wrong password is said after the code (the server does not say which
 * was wrong); going back, fixing it and signing in again uses the store
 * made the first time. */
static void
test_wrong_password (void)
{
  MtsTestServer *srv = server ();
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "wrong-pw", &error);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *dir = mts_test_store_dir ("wrong-password");
  g_autofree char *store_id = NULL;
  g_autoptr (MtsTestUser) user = mts_test_user_new (srv, slug, &error);
  MtsApplication *app;
  char code[MTS_TOTP_CODE_BUF];

  g_assert_no_error (error);
  reset_settings ();
  app = mts_test_app_start (dir);

  fill_account (url, ca, slug, user->username, "not the password");
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  choose_passphrase ();
  code_of (user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "code");
  g_assert_true (text_contains ("setup-code-error", "password is not right"));
  assert_account_kept (url, slug, user->username, "not the password");
  store_id = g_strdup (mts_setup_page_get_store_id (setup_page ()));
  g_assert_nonnull (store_id);

  /* Back goes to the account (the passphrase is chosen: the store exists). */
  mts_test_click ("setup-code-back");
  g_assert_cmpstr (step (), ==, "account");
  mts_test_set_text ("setup-password", user->password);
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "code");
  code_of (user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  MTS_TEST_WAIT_UNTIL (g_str_equal (step (), "sync") || visible ("setup-code-error"), WAIT_MS);
  g_assert_cmpstr (step (), ==, "sync");
  g_assert_cmpstr (mts_setup_page_get_store_id (setup_page ()), ==, store_id);
  MTS_TEST_WAIT_UNTIL (visible ("setup-finish") || visible ("setup-sync-error"), WAIT_MS);
  mts_test_click ("setup-finish");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (app)), "main"),
                       WAIT_MS);
  mts_test_app_stop (app);
}

/* A first run left after a failed login leaves nothing behind. */
static void
test_abandoned_first_run (void)
{
  MtsTestServer *srv = server ();
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "abandoned", &error);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *dir = mts_test_store_dir ("abandoned");
  g_autofree char *setup_dir = g_strconcat (dir, ".setup", NULL);
  g_autoptr (MtsTestUser) user = mts_test_user_new (srv, slug, &error);
  MtsApplication *app;
  char code[MTS_TOTP_CODE_BUF];

  g_assert_no_error (error);
  reset_settings ();
  app = mts_test_app_start (dir);
  fill_account (url, ca, slug, user->username, user->password);
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  choose_passphrase ();
  mts_test_user_wrong_code (user, code);
  mts_test_set_text ("setup-code", code);
  mts_test_click ("setup-sign-in");
  wait_setup_idle ();
  g_assert_true (visible ("setup-code-error"));
  g_assert_true (g_file_test (setup_dir, G_FILE_TEST_IS_DIR));
  mts_test_app_stop (app);

  g_assert_false (g_file_test (setup_dir, G_FILE_TEST_EXISTS));
  app = mts_test_app_start (dir);
  g_assert_cmpstr (mts_window_get_page (mts_test_app_window (app)), ==, "setup");
  mts_test_app_stop (app);
}

static guint16
closed_port (void)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return port;
}

static void
test_unreachable_server (void)
{
  g_autofree char *dir = mts_test_store_dir ("unreachable");
  g_autofree char *ca = (server (), mts_test_ca_file ("ca.pem"));
  g_autofree char *url = g_strdup_printf ("https://127.0.0.1:%u", closed_port ());
  g_autofree char *expected = g_strdup_printf ("Cannot reach the server at %s", url);
  MtsApplication *app;

  reset_settings ();
  app = mts_test_app_start (dir);
  fill_account (url, ca, "north-leeds", "ada", "a password");
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "account");
  g_assert_true (visible ("setup-account-error"));
  g_assert_true (text_contains ("setup-account-error", expected));
  assert_account_kept (url, "north-leeds", "ada", "a password");
  g_assert_true (text_is ("setup-ca-file", ca));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* Not a URL at all. */
  mts_test_set_text ("setup-server-url", "sync.example.org");
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_true (text_contains ("setup-account-error", "https://"));
  mts_test_app_stop (app);
}

static void
test_untrusted_certificate (void)
{
  MtsTestServer *srv = server ();
  g_autofree char *dir = mts_test_store_dir ("untrusted");
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *other_ca = mts_test_ca_file ("other-ca.pem");
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  MtsApplication *app;

  reset_settings ();
  app = mts_test_app_start (dir);
  fill_account (url, other_ca, "north-leeds", "ada", "a password");
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "account");
  g_assert_true (text_contains ("setup-account-error", "certificate is not trusted"));
  assert_account_kept (url, "north-leeds", "ada", "a password");

  /* A CA file that is not there is said before any connection. */
  mts_test_set_text ("setup-ca-file", "/nonexistent/ca.pem");
  mts_test_click ("setup-account-next");
  g_assert_true (text_contains ("setup-account-error", "There is no CA certificate file"));

  /* The right CA: on to the passphrase. */
  mts_test_set_text ("setup-ca-file", ca);
  mts_test_click ("setup-account-next");
  wait_setup_idle ();
  g_assert_cmpstr (step (), ==, "passphrase");
  mts_test_app_stop (app);
}

/* ---- unlock ---- */

static void
test_unlock (void)
{
  MtsTestServer *srv = server ();
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "unlock", &error);
  g_autofree char *dir = mts_test_store_dir ("unlock");
  g_autoptr (MtsTestUser) user = make_logged_in_store (dir, srv, slug);
  g_autofree char *expected = g_strdup_printf ("%s — %s", slug, user->username);
  MtsApplication *app;
  MtsWindow *win;

  reset_settings ();
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");
  g_assert_true (text_is ("unlock-practice", expected));
  screenshot (GTK_WIDGET (win), "unlock");

  mts_test_click ("unlock-button");
  g_assert_true (text_contains ("unlock-error", "Enter your passphrase"));

  mts_test_set_text ("unlock-passphrase", "wrong passphrase");
  mts_test_click ("unlock-button");
  /* The entry is emptied at once: the worker has its own copy. */
  g_assert_true (text_is ("unlock-passphrase", ""));
  MTS_TEST_WAIT_UNTIL (!mts_unlock_page_is_busy (unlock_page ()), WAIT_MS);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");
  g_assert_true (visible ("unlock-error"));
  g_assert_true (text_contains ("unlock-error", "not right"));
  {
    GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (win));
    g_assert_nonnull (focus);
    g_assert_true (gtk_widget_is_ancestor (focus, mts_test_get ("unlock-passphrase")));
  }

  mts_test_set_text ("unlock-passphrase", "wrong again");
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (!mts_unlock_page_is_busy (unlock_page ()), WAIT_MS);
  g_assert_true (text_contains ("unlock-error", "2 attempts"));

  /* Enter in the entry unlocks, as the button does. */
  mts_test_set_text ("unlock-passphrase", PASS);
  g_signal_emit_by_name (mts_test_get ("unlock-passphrase"), "entry-activated");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  g_assert_true (mts_application_is_unlocked (app));
  g_assert_nonnull (mts_application_get_sync_manager (app));

  /* Locked again: the unlock page, empty, no message. */
  mts_test_action (app, "app.lock", NULL);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "unlock"), WAIT_MS);
  g_assert_false (visible ("unlock-error"));
  g_assert_true (text_is ("unlock-passphrase", ""));
  mts_test_app_stop (app);
}

static void
test_auto_lock (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = mts_test_store_dir ("auto-lock");
  g_autoptr (MtsStore) store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  MtsApplication *app;
  MtsWindow *win;

  g_assert_no_error (error);
  g_clear_object (&store);
  reset_settings ();
  g_settings_set_uint (settings (), "auto-lock-seconds", 1);
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  /* Nobody touches anything: the app locks by itself. */
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "unlock"), 10000);
  g_assert_false (mts_application_is_unlocked (app));
  g_assert_null (mts_application_get_sync_manager (app));
  /* ...and opens again with the passphrase. */
  g_settings_set_uint (settings (), "auto-lock-seconds", 0);
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  mts_test_app_stop (app);
  reset_settings ();
}

/* ---- the keyring ---- */

static void
test_keyring_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  char *found;

  g_assert_true (mts_keyring_store ("0123456789abcdef0123456789abcdef", "kept passphrase", NULL,
                                    &error));
  g_assert_no_error (error);
  found = mts_keyring_lookup ("0123456789abcdef0123456789abcdef", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, "kept passphrase");
  mts_keyring_free (found);

  /* Another store finds nothing. */
  found = mts_keyring_lookup ("fedcba9876543210fedcba9876543210", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);

  /* Stored again: replaced, not doubled. */
  g_assert_true (mts_keyring_store ("0123456789abcdef0123456789abcdef", "newer passphrase", NULL,
                                    &error));
  found = mts_keyring_lookup ("0123456789abcdef0123456789abcdef", NULL, &error);
  g_assert_cmpstr (found, ==, "newer passphrase");
  mts_keyring_free (found);

  g_assert_true (mts_keyring_clear ("0123456789abcdef0123456789abcdef", NULL, &error));
  g_assert_no_error (error);
  found = mts_keyring_lookup ("0123456789abcdef0123456789abcdef", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (found);
  /* Clearing what is not there is fine. */
  g_assert_true (mts_keyring_clear ("0123456789abcdef0123456789abcdef", NULL, &error));
  g_assert_no_error (error);
  /* No id, no entry. */
  g_assert_false (mts_keyring_store ("", "x", NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static MtsPreferencesWindow *
open_preferences (MtsApplication *app)
{
  mts_test_action (app, "app.preferences", NULL);
  MTS_TEST_WAIT_UNTIL (mts_test_find ("preferences-window") != NULL
                       && gtk_widget_get_mapped (mts_test_find ("preferences-window")), WAIT_MS);
  return MTS_PREFERENCES_WINDOW (mts_test_get ("preferences-window"));
}

static void
answer_remember_dialog (const char *passphrase, const char *response)
{
  GtkWidget *dialog;

  MTS_TEST_WAIT_UNTIL (mts_test_find ("prefs-remember-dialog") != NULL, WAIT_MS);
  dialog = mts_test_get ("prefs-remember-dialog");
  mts_test_set_text ("prefs-remember-passphrase", passphrase);
  /* What clicking the response's button does. */
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), response);
  gtk_window_close (GTK_WINDOW (dialog));
  MTS_TEST_WAIT_UNTIL (mts_test_find ("prefs-remember-dialog") == NULL, WAIT_MS);
}

static void
test_remember_unlock (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = mts_test_store_dir ("remember");
  g_autoptr (MtsStore) store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_autofree char *store_id = g_strdup (mts_store_get_id (store));
  MtsPreferencesWindow *prefs;
  MtsApplication *app;
  MtsWindow *win;
  char *kept;

  g_assert_no_error (error);
  g_clear_object (&store);
  reset_settings ();
  mts_keyring_clear (store_id, NULL, NULL);

  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);

  prefs = open_preferences (app);
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("prefs-remember"))));

  /* Cancelled: nothing kept, the switch back off. */
  mts_test_click ("prefs-remember");
  answer_remember_dialog (PASS, "cancel");
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("prefs-remember"))));
  g_assert_false (g_settings_get_boolean (settings (), "remember-unlock"));

  /* A wrong passphrase: checked, refused, nothing kept. */
  mts_test_click ("prefs-remember");
  answer_remember_dialog ("not the passphrase", "remember");
  MTS_TEST_WAIT_UNTIL (!mts_preferences_window_is_busy (prefs), WAIT_MS);
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("prefs-remember"))));
  g_assert_false (g_settings_get_boolean (settings (), "remember-unlock"));
  kept = mts_keyring_lookup (store_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (kept);

  /* The right one: kept. */
  mts_test_click ("prefs-remember");
  answer_remember_dialog (PASS, "remember");
  MTS_TEST_WAIT_UNTIL (!mts_preferences_window_is_busy (prefs), WAIT_MS);
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("prefs-remember"))));
  g_assert_true (g_settings_get_boolean (settings (), "remember-unlock"));
  kept = mts_keyring_lookup (store_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept, ==, PASS);
  mts_keyring_free (kept);
  gtk_window_destroy (GTK_WINDOW (prefs));
  mts_test_app_stop (app);

  /* The next start unlocks by itself. */
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  g_assert_true (mts_application_is_unlocked (app));

  /* A lock is not undone by the keyring: the page asks. */
  mts_test_action (app, "app.lock", NULL);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "unlock"), WAIT_MS);
  g_assert_false (mts_unlock_page_is_busy (unlock_page ()));
  mts_test_spin (50);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);

  /* Turned off: the keyring forgets it. */
  prefs = open_preferences (app);
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("prefs-remember"))));
  mts_test_click ("prefs-remember");
  MTS_TEST_WAIT_UNTIL (!mts_preferences_window_is_busy (prefs), WAIT_MS);
  g_assert_false (g_settings_get_boolean (settings (), "remember-unlock"));
  kept = mts_keyring_lookup (store_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (kept);
  gtk_window_destroy (GTK_WINDOW (prefs));
  mts_test_app_stop (app);

  /* A remembered passphrase that no longer opens the store: asked. */
  g_assert_true (mts_keyring_store (store_id, "stale passphrase", NULL, &error));
  g_settings_set_boolean (settings (), "remember-unlock", TRUE);
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  MTS_TEST_WAIT_UNTIL (!mts_unlock_page_is_busy (unlock_page ()), WAIT_MS);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");
  g_assert_true (text_contains ("unlock-error", "no longer opens"));
  mts_test_app_stop (app);
  mts_keyring_clear (store_id, NULL, NULL);
  reset_settings ();
}

/* ---- preferences ---- */

static void
test_preferences (void)
{
  MtsTestServer *srv = server ();
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "prefs", &error);
  g_autofree char *dir = mts_test_store_dir ("prefs");
  g_autoptr (MtsTestUser) user = make_logged_in_store (dir, srv, slug);
  g_autofree char *url = mts_test_server_url (srv);
  MtsPreferencesWindow *prefs;
  MtsApplication *app;
  AdwComboRow *lock_row;
  AdwComboRow *sync_row;

  reset_settings ();
  g_settings_set_uint (settings (), "sync-interval-seconds", 300);
  app = mts_test_app_start (dir);
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (app)), "main"),
                       WAIT_MS);

  prefs = open_preferences (app);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (mts_test_get ("prefs-server"))), ==, url);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (mts_test_get ("prefs-practice"))), ==, slug);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (mts_test_get ("prefs-user"))), ==,
                   user->username);

  /* The rows show the settings: 600 s is "10 minutes", 300 s "every 5". */
  lock_row = ADW_COMBO_ROW (mts_test_get ("prefs-auto-lock"));
  sync_row = ADW_COMBO_ROW (mts_test_get ("prefs-sync-interval"));
  g_assert_cmpstr (gtk_string_object_get_string (GTK_STRING_OBJECT (adw_combo_row_get_selected_item (lock_row))),
                   ==, "10 minutes");
  g_assert_cmpstr (gtk_string_object_get_string (GTK_STRING_OBJECT (adw_combo_row_get_selected_item (sync_row))),
                   ==, "Every 5 minutes");
  screenshot (GTK_WIDGET (prefs), "preferences");

  /* Choosing changes the settings. */
  adw_combo_row_set_selected (lock_row, 0);
  g_assert_cmpuint (g_settings_get_uint (settings (), "auto-lock-seconds"), ==, 0);
  adw_combo_row_set_selected (lock_row, 2);
  g_assert_cmpuint (g_settings_get_uint (settings (), "auto-lock-seconds"), ==, 300);
  adw_combo_row_set_selected (sync_row, 5);
  g_assert_cmpuint (g_settings_get_uint (settings (), "sync-interval-seconds"), ==, 3600);
  /* The app's sync manager follows the setting. */
  g_assert_cmpuint (mts_sync_manager_get_auto_interval (mts_application_get_sync_manager (app)), ==,
                    3600);

  /* A value set elsewhere shows as it is, and opening changes nothing. */
  g_settings_set_uint (settings (), "auto-lock-seconds", 45);
  g_assert_cmpstr (gtk_string_object_get_string (GTK_STRING_OBJECT (adw_combo_row_get_selected_item (lock_row))),
                   ==, "45 seconds");
  g_assert_cmpuint (g_settings_get_uint (settings (), "auto-lock-seconds"), ==, 45);

  gtk_window_destroy (GTK_WINDOW (prefs));
  mts_test_app_stop (app);
  reset_settings ();
}

/* ---- the server ends the session: sign in again ---- */

/* Makes the server end the store's login, as it does when a refresh token
 * is stolen: the stored (encrypted) refresh token is put back after a
 * refresh spent it, so the next refresh presents a spent token; with
 * refresh_retry_seconds=0 that is taken as theft and every token of the
 * login is revoked (docs/api.md). */
static void
end_session (MtsStore *app_store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) twin = mts_store_open_twin (app_store, &error);
  g_autoptr (MtsSyncSession) a = NULL;
  g_autoptr (MtsSyncSession) b = NULL;
  g_autoptr (JsonNode) answer = NULL;
  sqlite3 *db = mts_store_get_db (twin);
  sqlite3_stmt *st;
  sqlite3_value *spent;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT value FROM sync_state WHERE key = 'refresh_token'",
                                       -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  spent = sqlite3_value_dup (sqlite3_column_value (st, 0));
  sqlite3_finalize (st);

  a = mts_sync_session_new (twin, &error);
  g_assert_no_error (error);
  answer = mts_sync_session_request (a, "GET", "/v1/sync/pull?after=0&limit=1", NULL, NULL, NULL,
                                     NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&a);

  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE sync_state SET value = ?1 WHERE key = 'refresh_token'",
                                       -1, &st, NULL), ==, SQLITE_OK);
  sqlite3_bind_value (st, 1, spent);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
  sqlite3_finalize (st);
  sqlite3_value_free (spent);

  b = mts_sync_session_new (twin, &error);
  g_assert_no_error (error);
  g_assert_null (mts_sync_session_request (b, "GET", "/v1/sync/pull?after=0&limit=1", NULL, NULL,
                                           NULL, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH);
}

static void
test_sign_in_again (void)
{
  MtsTestServer *srv = get_server (&reuse_server, "desktop-reuse", "refresh_retry_seconds=0\n");
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "again", &error);
  g_autofree char *dir = mts_test_store_dir ("sign-in-again");
  g_autoptr (MtsTestUser) user = make_logged_in_store (dir, srv, slug);
  g_autoptr (MtsClient) client = mts_client_new ();
  MtsSyncManager *mgr;
  MtsApplication *app;
  MtsWindow *win;
  char code[MTS_TOTP_CODE_BUF];

  reset_settings ();
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  mts_test_set_text ("unlock-passphrase", PASS);
  mts_test_click ("unlock-button");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), WAIT_MS);
  mgr = mts_application_get_sync_manager (app);

  client->display_name = g_strdup ("Written While Signed Out");
  client->status = g_strdup ("active");
  g_assert_true (mts_store_client_add (mts_application_get_store (app), client, &error));
  g_assert_no_error (error);
  mts_application_notify_changed (app);

  end_session (mts_application_get_store (app));
  mts_test_action (app, "app.sync-now", NULL);
  MTS_TEST_WAIT_UNTIL (mts_sync_manager_get_state (mgr) == MTS_SYNC_STATE_ERROR, WAIT_MS);
  g_assert_cmpint (mts_sync_manager_get_pending (mgr), >, 0);

  /* From the preferences, as the therapist would. */
  open_preferences (app);
  mts_test_click ("prefs-sign-in");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("login-dialog") != NULL
                       && gtk_widget_get_mapped (mts_test_find ("login-dialog")), WAIT_MS);
  g_assert_null (mts_test_find ("preferences-window"));
  g_assert_true (text_is ("login-practice", slug));
  g_assert_true (text_is ("login-username", user->username));

  /* A wrong code: said, the code emptied, the password kept. */
  mts_test_set_text ("login-password", user->password);
  mts_test_user_wrong_code (user, code);
  mts_test_set_text ("login-code", code);
  mts_test_click ("login-sign-in");
  MTS_TEST_WAIT_UNTIL (visible ("login-error"), WAIT_MS);
  g_assert_true (text_contains ("login-error", "That code was not accepted"));
  g_assert_true (text_is ("login-code", ""));
  g_assert_true (text_is ("login-password", user->password));

  code_of (user, code);
  mts_test_set_text ("login-code", code);
  mts_test_click ("login-sign-in");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("login-dialog") == NULL || visible ("login-error"), WAIT_MS);
  g_assert_null (mts_test_find ("login-dialog"));

  /* The sync it started pushes what waited. */
  MTS_TEST_WAIT_UNTIL (mts_sync_manager_get_state (mgr) == MTS_SYNC_STATE_IDLE
                       && mts_sync_manager_get_pending (mgr) == 0, WAIT_MS);
  g_assert_nonnull (mts_sync_manager_get_last_synced (mgr));
  mts_test_app_stop (app);
}

int
main (int argc, char *argv[])
{
  int status;

  g_setenv ("MTS_KDF_LEVEL", "test", TRUE);
  mts_test_gui_init (&argc, &argv);
  /* No blinking cursor: under Xvfb (no window manager) a focused entry's
   * blink timer can fire while its window is not active, and GTK warns. */
  gtk_init ();
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink", FALSE, NULL);
  g_test_add_func ("/desktop/setup/first-run", test_first_run);
  g_test_add_func ("/desktop/setup/wrong-password", test_wrong_password);
  g_test_add_func ("/desktop/setup/abandoned-first-run", test_abandoned_first_run);
  g_test_add_func ("/desktop/setup/unreachable-server", test_unreachable_server);
  g_test_add_func ("/desktop/setup/untrusted-certificate", test_untrusted_certificate);
  g_test_add_func ("/desktop/setup/unlock", test_unlock);
  g_test_add_func ("/desktop/setup/auto-lock", test_auto_lock);
  g_test_add_func ("/desktop/setup/keyring-round-trip", test_keyring_round_trip);
  g_test_add_func ("/desktop/setup/remember-unlock", test_remember_unlock);
  g_test_add_func ("/desktop/setup/preferences", test_preferences);
  g_test_add_func ("/desktop/setup/sign-in-again", test_sign_in_again);
  status = g_test_run ();
  mts_test_fixture_tear_down (status != 0);
  return status;
}
