/* test-window.c — the app's skeleton: the first-run page on a folder with
 * no store, the unlock page on one with a store, actions disabled while
 * locked, and a screenshot that is not blank. */
#include "desktop-test.h"

#include "mts-store.h"

static void
test_first_run_shows_setup (void)
{
  g_autofree char *dir = mts_test_store_dir ("empty");
  MtsApplication *app = mts_test_app_start (dir);
  MtsWindow *win = mts_test_app_window (app);

  g_assert_cmpstr (mts_window_get_page (win), ==, "setup");
  g_assert_null (mts_application_get_store (app));
  /* Nothing of the practice can be reached before there is one: the
   * new-client action is disabled, so no dialog opens. */
  guint windows = g_list_model_get_n_items (gtk_window_get_toplevels ());
  gtk_widget_activate_action_variant (GTK_WIDGET (win), "win.new-client", NULL);
  mts_test_spin (50);
  g_assert_cmpuint (g_list_model_get_n_items (gtk_window_get_toplevels ()), ==, windows);
  mts_test_screenshot (GTK_WIDGET (win), "setup-skeleton");
  mts_test_app_stop (app);
}

static void
test_existing_store_shows_unlock (void)
{
  g_autofree char *dir = mts_test_store_dir ("existing");
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = mts_store_create (dir, "correct horse battery staple", 28, "test", &error);
  MtsApplication *app;
  MtsWindow *win;

  g_assert_no_error (error);
  mts_store_lock (store);
  app = mts_test_app_start (dir);
  win = mts_test_app_window (app);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");
  g_assert_false (mts_application_is_unlocked (app));

  g_assert_false (mts_application_unlock (app, "wrong", 5, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpstr (mts_window_get_page (win), ==, "unlock");

  g_assert_true (mts_application_unlock (app, "correct horse battery staple", 28, &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "main"), 2000);
  g_assert_nonnull (mts_application_get_sync_manager (app));

  mts_test_action (app, "app.lock", NULL);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (win), "unlock"), 2000);
  g_assert_null (mts_application_get_sync_manager (app));
  mts_test_app_stop (app);
}

int
main (int argc, char *argv[])
{
  mts_test_gui_init (&argc, &argv);
  g_test_add_func ("/desktop/window/first-run-shows-setup", test_first_run_shows_setup);
  g_test_add_func ("/desktop/window/existing-store-shows-unlock", test_existing_store_shows_unlock);
  return g_test_run ();
}
