/* mts-application.c — the desktop app: one practice store, its sync, its
 * settings, and locking. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-application.h"

#include <glib/gstdio.h>
#include <sodium.h>

#include "mts-desktop-resources.h"
#include "mts-passphrase.h"
#include "mts-preferences-window.h"
#include "mts-window.h"

struct _MtsApplication
{
  AdwApplication parent_instance;

  char *store_dir;
  char *actor;
  GSettings *settings;
  MtsStore *store;
  MtsSyncManager *sync_manager;
  gint64 last_active_us;
  guint idle_source;
  char *screenshot_path;  /* --screenshot: the headless demo */
  int exit_status;
};

G_DEFINE_FINAL_TYPE (MtsApplication, mts_application, ADW_TYPE_APPLICATION)

enum { SIGNAL_UNLOCKED, SIGNAL_LOCKING, SIGNAL_LOCKED, SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

MtsApplication *
mts_application_new (GApplicationFlags flags)
{
  return g_object_new (MTS_TYPE_APPLICATION,
                       "application-id", MTS_APP_ID,
                       "flags", flags,
                       "resource-base-path", "/uk/co/mytherapysuite/Desktop",
                       NULL);
}

void
mts_application_set_store_dir (MtsApplication *app, const char *dir)
{
  g_return_if_fail (MTS_IS_APPLICATION (app));
  g_return_if_fail (app->store == NULL);
  g_free (app->store_dir);
  app->store_dir = g_strdup (dir);
}

const char *
mts_application_get_store_dir (MtsApplication *app)
{
  if (app->store_dir == NULL)
    {
      const char *env = g_getenv ("MTS_STORE_DIR");
      app->store_dir = env != NULL && *env != '\0'
        ? g_strdup (env)
        : g_build_filename (g_get_user_data_dir (), "mts", "store", NULL);
    }
  return app->store_dir;
}

gboolean
mts_application_has_store (MtsApplication *app)
{
  g_autofree char *db = g_build_filename (mts_application_get_store_dir (app), "practice.db", NULL);
  return app->store != NULL || g_file_test (db, G_FILE_TEST_EXISTS);
}

MtsStore *
mts_application_get_store (MtsApplication *app)
{
  g_return_val_if_fail (MTS_IS_APPLICATION (app), NULL);
  return app->store;
}

gboolean
mts_application_is_unlocked (MtsApplication *app)
{
  return app->store != NULL && mts_store_is_unlocked (app->store);
}

MtsSyncManager *
mts_application_get_sync_manager (MtsApplication *app)
{
  return app->sync_manager;
}

GSettings *
mts_application_get_settings (MtsApplication *app)
{
  return app->settings;
}

static void
load_actor (MtsApplication *app)
{
  g_autofree char *path = g_build_filename (mts_application_get_store_dir (app), "actor", NULL);
  g_autofree char *text = NULL;

  g_clear_pointer (&app->actor, g_free);
  if (g_file_get_contents (path, &text, NULL, NULL))
    app->actor = g_strdup (g_strstrip (text));
  if (app->store != NULL && app->actor != NULL && *app->actor != '\0')
    mts_store_set_actor (app->store, app->actor);
}

const char *
mts_application_get_actor (MtsApplication *app)
{
  return app->actor;
}

gboolean
mts_application_set_actor (MtsApplication *app, const char *clinician_id, GError **error)
{
  g_autofree char *path = g_build_filename (mts_application_get_store_dir (app), "actor", NULL);
  g_autofree char *line = g_strconcat (clinician_id, "\n", NULL);

  if (!g_file_set_contents_full (path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  g_free (app->actor);
  app->actor = g_strdup (clinician_id);
  if (app->store != NULL)
    mts_store_set_actor (app->store, clinician_id);
  return TRUE;
}

/* ---- sync ---- */

static void
sync_finished_cb (MtsSyncManager *mgr, gboolean success, GVariant *stats, gpointer user_data)
{
  MtsApplication *app = user_data;
  gint64 pulled = 0, deleted = 0, merged = 0;

  g_variant_lookup (stats, "pulled", "x", &pulled);
  g_variant_lookup (stats, "deleted", "x", &deleted);
  g_variant_lookup (stats, "merged", "x", &merged);
  /* Names held in memory for search are the app store's; a sync wrote
   * through its twin. */
  if (pulled + deleted + merged > 0 && mts_application_is_unlocked (app))
    g_signal_emit (app, signals[SIGNAL_CHANGED], 0);
}

static void
start_sync_manager (MtsApplication *app)
{
  g_clear_object (&app->sync_manager);
  app->sync_manager = mts_sync_manager_new (app->store);
  g_signal_connect_object (app->sync_manager, "finished", G_CALLBACK (sync_finished_cb), app, 0);
  g_settings_bind (app->settings, "sync-interval-seconds", app->sync_manager, "auto-interval",
                   G_SETTINGS_BIND_GET);
}

static void
stop_sync_manager (MtsApplication *app)
{
  if (app->sync_manager == NULL)
    return;
  g_settings_unbind (app->sync_manager, "auto-interval");
  mts_sync_manager_cancel (app->sync_manager);
  mts_sync_manager_set_auto_interval (app->sync_manager, 0);
  g_clear_object (&app->sync_manager);
}

/* ---- locking ---- */

void
mts_application_user_active (MtsApplication *app)
{
  app->last_active_us = g_get_monotonic_time ();
}

static gboolean
idle_check_cb (gpointer user_data)
{
  MtsApplication *app = user_data;
  guint limit = g_settings_get_uint (app->settings, "auto-lock-seconds");

  if (limit > 0 && mts_application_is_unlocked (app)
      && g_get_monotonic_time () - app->last_active_us >= (gint64) limit * G_USEC_PER_SEC)
    {
      g_message ("locking after %u s without activity", limit);
      mts_application_lock (app);
    }
  return G_SOURCE_CONTINUE;
}

static void
unlocked (MtsApplication *app)
{
  load_actor (app);
  mts_application_user_active (app);
  start_sync_manager (app);
  g_signal_emit (app, signals[SIGNAL_UNLOCKED], 0);
}

void
mts_application_adopt_store (MtsApplication *app, MtsStore *store)
{
  g_return_if_fail (mts_store_is_unlocked (store));
  if (app->store != store)
    {
      stop_sync_manager (app);
      g_set_object (&app->store, store);
    }
  unlocked (app);
}

gboolean
mts_application_unlock (MtsApplication *app, const char *passphrase, gsize passphrase_len,
                        GError **error)
{
  if (app->store == NULL)
    {
      app->store = mts_store_open (mts_application_get_store_dir (app), error);
      if (app->store == NULL)
        return FALSE;
    }
  if (mts_store_is_unlocked (app->store))
    return TRUE;
  if (!mts_store_unlock (app->store, passphrase, passphrase_len, error))
    return FALSE;
  unlocked (app);
  return TRUE;
}

void
mts_application_lock (MtsApplication *app)
{
  if (!mts_application_is_unlocked (app))
    return;
  g_signal_emit (app, signals[SIGNAL_LOCKING], 0);
  stop_sync_manager (app);
  mts_store_lock (app->store);
  g_signal_emit (app, signals[SIGNAL_LOCKED], 0);
}

void
mts_application_notify_changed (MtsApplication *app)
{
  if (app->sync_manager != NULL)
    mts_sync_manager_refresh_counts (app->sync_manager);
  g_signal_emit (app, signals[SIGNAL_CHANGED], 0);
}

/* ---- actions ---- */

static void
quit_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  MtsApplication *app = user_data;

  mts_application_lock (app);
  g_application_quit (G_APPLICATION (app));
}

static void
lock_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  mts_application_lock (user_data);
}

static void
sync_now_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  MtsApplication *app = user_data;

  if (app->sync_manager != NULL)
    mts_sync_manager_sync_async (app->sync_manager, NULL, NULL, NULL);
}

static void
preferences_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  GtkWidget *prefs = mts_preferences_window_new (parent);

  gtk_window_present (GTK_WINDOW (prefs));
}

static void
about_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  GtkWidget *about = adw_about_window_new ();

  g_object_set (about,
                "transient-for", parent,
                "application-name", "My Therapy Suite",
                "application-icon", MTS_APP_ID,
                "developer-name", "The MTS developers",
                "version", PACKAGE_VERSION,
                "license-type", GTK_LICENSE_AGPL_3_0,
                "comments", "Client records, session notes and agreements, encrypted on this "
                            "computer, working offline, synced with your practice's server.",
                NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "lock", lock_activated, NULL, NULL, NULL, { 0 } },
  { "sync-now", sync_now_activated, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
};

static void
update_action_states (MtsApplication *app)
{
  gboolean open = mts_application_is_unlocked (app);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (app), "lock")), open);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (app), "sync-now")), open);
}

/* ---- GApplication ---- */

static void
mts_application_startup (GApplication *gapp)
{
  MtsApplication *app = MTS_APPLICATION (gapp);
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.lock", { "<Control>l", NULL } },
    { "app.sync-now", { "<Control>r", "F5", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "win.new-client", { "<Control>n", NULL } },
    { "win.search", { "<Control>f", NULL } },
    { "win.show-conflicts", { "<Control><Shift>c", NULL } },
    { "win.show-audit-all", { "<Control><Shift>a", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (mts_application_parent_class)->startup (gapp);

  /* Before any page holds a secret in sodium_malloc() memory (the first
   * run does before any store exists to initialise the library). */
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);

  g_signal_connect_swapped (app, "unlocked", G_CALLBACK (update_action_states), app);
  g_signal_connect_swapped (app, "locked", G_CALLBACK (update_action_states), app);
  update_action_states (app);

  app->idle_source = g_timeout_add_seconds (1, idle_check_cb, app);
}

/* ---- the headless demo (--screenshot FILE) ----
 *
 * Unlocks with the passphrase from MTS_PASSPHRASE_FILE or MTS_PASSPHRASE
 * (mts-passphrase.h; never a command-line argument), syncs once, opens the
 * first client, writes the window to FILE as a PNG and quits: the app's
 * real window and code path, where no one can look at it. */

static void
demo_finish (MtsApplication *app, int status)
{
  app->exit_status = status;
  g_application_release (G_APPLICATION (app));
  g_application_quit (G_APPLICATION (app));
}

static gboolean
demo_screenshot_cb (gpointer user_data)
{
  MtsApplication *app = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_autoptr (GError) error = NULL;

  if (!mts_widget_save_png (GTK_WIDGET (window), app->screenshot_path, &error))
    {
      g_printerr ("mts-desktop: screenshot: %s\n", error->message);
      demo_finish (app, 1);
    }
  else
    {
      g_print ("mts-desktop: the window is in %s\n", app->screenshot_path);
      demo_finish (app, 0);
    }
  return G_SOURCE_REMOVE;
}

static void
demo_synced_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MtsApplication) app = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) clients = NULL;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (!mts_sync_manager_sync_finish (MTS_SYNC_MANAGER (source), result, &error))
    g_print ("mts-desktop: sync: %s\n", error->message);
  else
    g_print ("mts-desktop: synced with the server\n");
  g_clear_error (&error);

  clients = mts_store_client_list (app->store, &error);
  if (clients != NULL && clients->len > 0)
    {
      MtsClient *client = g_ptr_array_index (clients, 0);
      g_print ("mts-desktop: %u clients; showing the first\n", clients->len);
      gtk_widget_activate_action (GTK_WIDGET (window), "win.show-client", "s", client->id);
    }
  /* Give the window a moment to lay out and draw what it loaded. */
  g_timeout_add (1000, demo_screenshot_cb, app);
}

static void
demo_run (MtsApplication *app)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  char *passphrase;

  g_application_hold (G_APPLICATION (app));
  passphrase = mts_passphrase_read ("MTS_PASSPHRASE", "Passphrase of the practice store: ", FALSE,
                                    &len, &error);
  if (passphrase == NULL || !mts_application_unlock (app, passphrase, len, &error))
    {
      mts_passphrase_free (passphrase);
      g_printerr ("mts-desktop: %s\n", error->message);
      demo_finish (app, 1);
      return;
    }
  mts_passphrase_free (passphrase);
  g_print ("mts-desktop: unlocked %s\n", mts_application_get_store_dir (app));
  mts_sync_manager_sync_async (app->sync_manager, NULL, demo_synced_cb, g_object_ref (app));
}

int
mts_application_get_exit_status (MtsApplication *app)
{
  return app->exit_status;
}

static void
mts_application_activate (GApplication *gapp)
{
  MtsApplication *app = MTS_APPLICATION (gapp);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (gapp));
  gboolean first = window == NULL;

  if (first)
    window = GTK_WINDOW (mts_window_new (app));
  gtk_window_present (window);
  if (first && app->screenshot_path != NULL)
    {
      if (!mts_application_has_store (app))
        {
          g_printerr ("mts-desktop: no store in %s for --screenshot\n",
                      mts_application_get_store_dir (app));
          app->exit_status = 1;
          g_application_quit (gapp);
          return;
        }
      demo_run (app);
    }
}

static int
mts_application_handle_local_options (GApplication *gapp, GVariantDict *options)
{
  MtsApplication *app = MTS_APPLICATION (gapp);
  const char *dir = NULL;

  if (g_variant_dict_lookup (options, "version", "b", NULL))
    {
      g_print ("mts-desktop %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_lookup (options, "store", "^&ay", &dir))
    mts_application_set_store_dir (app, dir);
  if (g_variant_dict_lookup (options, "screenshot", "^&ay", &dir))
    app->screenshot_path = g_strdup (dir);
  return -1;
}

static void
mts_application_shutdown (GApplication *gapp)
{
  MtsApplication *app = MTS_APPLICATION (gapp);

  mts_application_lock (app);
  g_clear_handle_id (&app->idle_source, g_source_remove);
  G_APPLICATION_CLASS (mts_application_parent_class)->shutdown (gapp);
}

static void
mts_application_finalize (GObject *object)
{
  MtsApplication *app = MTS_APPLICATION (object);

  stop_sync_manager (app);
  g_clear_object (&app->store);
  g_clear_object (&app->settings);
  g_free (app->store_dir);
  g_free (app->actor);
  g_free (app->screenshot_path);
  G_OBJECT_CLASS (mts_application_parent_class)->finalize (object);
}

static void
mts_application_class_init (MtsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  mts_desktop_register_resource ();

  object_class->finalize = mts_application_finalize;
  app_class->startup = mts_application_startup;
  app_class->activate = mts_application_activate;
  app_class->handle_local_options = mts_application_handle_local_options;
  app_class->shutdown = mts_application_shutdown;

  signals[SIGNAL_UNLOCKED] = g_signal_new ("unlocked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_LOCKING] = g_signal_new ("locking", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_LOCKED] = g_signal_new ("locked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mts_application_init (MtsApplication *app)
{
  static const GOptionEntry options[] = {
    { "store", 's', 0, G_OPTION_ARG_FILENAME, NULL,
      "The practice store's folder (default: $MTS_STORE_DIR, else ~/.local/share/mts/store)", "DIR" },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      "Headless demo: unlock (passphrase from MTS_PASSPHRASE_FILE or MTS_PASSPHRASE), sync, "
      "write the window to FILE as PNG, quit", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };

  app->settings = g_settings_new (MTS_APP_ID);
  app->last_active_us = g_get_monotonic_time ();
  g_application_add_main_option_entries (G_APPLICATION (app), options);
}
