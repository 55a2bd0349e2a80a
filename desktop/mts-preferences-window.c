/* mts-preferences-window.c — Preferences (see mts-preferences-window.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-preferences-window.h"

#include <string.h>

#include "mts-account.h"
#include "mts-application.h"
#include "mts-keyring.h"
#include "mts-passphrase.h"

/* A combo row bound to a "u" setting of seconds. */
typedef struct {
  AdwComboRow *row;
  const char *key;
  GArray *values;   /* guint seconds, one per item */
} Choice;

struct _MtsPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwActionRow *server;
  AdwActionRow *practice;
  AdwActionRow *user;
  GtkButton *sign_in;
  AdwComboRow *auto_lock;
  AdwActionRow *remember_row;
  GtkSwitch *remember;
  AdwComboRow *sync_interval;

  GSettings *settings;
  Choice lock_choice;
  Choice sync_choice;
  gboolean updating;
  guint busy;
  GCancellable *cancellable;
  char *store_id;
};

G_DEFINE_FINAL_TYPE (MtsPreferencesWindow, mts_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static MtsApplication *
prefs_app (MtsPreferencesWindow *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  GtkApplication *app = parent != NULL ? gtk_window_get_application (parent) : NULL;

  return app != NULL ? MTS_APPLICATION (app) : MTS_APPLICATION_DEFAULT;
}

gboolean
mts_preferences_window_is_busy (MtsPreferencesWindow *self)
{
  return self->busy > 0;
}

/* ---- choices of seconds ---- */

static char *
describe_seconds (guint seconds, gboolean every)
{
  if (seconds == 0)
    return g_strdup (every ? "Only when asked" : "Never");
  if (seconds % 3600 == 0)
    return seconds == 3600 ? g_strdup (every ? "Every hour" : "1 hour")
                           : g_strdup_printf (every ? "Every %u hours" : "%u hours", seconds / 3600);
  if (seconds % 60 == 0)
    return seconds == 60 ? g_strdup (every ? "Every minute" : "1 minute")
                         : g_strdup_printf (every ? "Every %u minutes" : "%u minutes", seconds / 60);
  return g_strdup_printf (every ? "Every %u seconds" : "%u seconds", seconds);
}

static void
choice_show (MtsPreferencesWindow *self, Choice *choice)
{
  guint value = g_settings_get_uint (self->settings, choice->key);
  GListModel *model = adw_combo_row_get_model (choice->row);
  guint i;

  for (i = 0; i < choice->values->len; i++)
    if (g_array_index (choice->values, guint, i) == value)
      break;
  if (i == choice->values->len)
    {
      /* Set elsewhere (gsettings, a test): one more choice, as it is. */
      g_autofree char *label = describe_seconds (value, choice == &self->sync_choice);
      g_array_append_val (choice->values, value);
      gtk_string_list_append (GTK_STRING_LIST (model), label);
    }
  self->updating = TRUE;
  adw_combo_row_set_selected (choice->row, i);
  self->updating = FALSE;
}

static void
choice_selected_cb (AdwComboRow *row, GParamSpec *pspec, MtsPreferencesWindow *self)
{
  Choice *choice = row == self->auto_lock ? &self->lock_choice : &self->sync_choice;
  guint i = adw_combo_row_get_selected (row);

  if (self->updating || i >= choice->values->len)
    return;
  g_settings_set_uint (self->settings, choice->key, g_array_index (choice->values, guint, i));
}

static void
choice_init (MtsPreferencesWindow *self, Choice *choice, AdwComboRow *row, const char *key,
             const guint *seconds, gsize n)
{
  GtkStringList *model = gtk_string_list_new (NULL);

  choice->row = row;
  choice->key = key;
  choice->values = g_array_new (FALSE, FALSE, sizeof (guint));
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *label = describe_seconds (seconds[i], choice == &self->sync_choice);
      g_array_append_val (choice->values, seconds[i]);
      gtk_string_list_append (model, label);
    }
  adw_combo_row_set_model (row, G_LIST_MODEL (model));
  g_object_unref (model);
  choice_show (self, choice);
  g_signal_connect (row, "notify::selected", G_CALLBACK (choice_selected_cb), self);
}

static void
settings_changed_cb (GSettings *settings, const char *key, MtsPreferencesWindow *self)
{
  if (g_str_equal (key, self->lock_choice.key))
    choice_show (self, &self->lock_choice);
  else if (g_str_equal (key, self->sync_choice.key))
    choice_show (self, &self->sync_choice);
  else if (g_str_equal (key, "remember-unlock") && self->busy == 0)
    {
      self->updating = TRUE;
      gtk_switch_set_active (self->remember, g_settings_get_boolean (settings, key));
      self->updating = FALSE;
    }
}

/* ---- remember unlock ---- */

static void
set_switch (MtsPreferencesWindow *self, gboolean active)
{
  self->updating = TRUE;
  gtk_switch_set_active (self->remember, active);
  self->updating = FALSE;
}

static void
toast (MtsPreferencesWindow *self, const char *message)
{
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
}

typedef struct {
  char *dir;
  char *store_id;
  char *passphrase;   /* sodium_malloc; NULL when clearing */
  gsize len;
} KeyringJob;

static void
keyring_job_free (KeyringJob *job)
{
  g_free (job->dir);
  g_free (job->store_id);
  mts_passphrase_free (job->passphrase);
  g_free (job);
}

/* Remember: the passphrase must open the store before it is kept. */
static void
remember_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  KeyringJob *job = task_data;
  g_autoptr (MtsStore) check = NULL;
  GError *error = NULL;

  check = mts_store_open (job->dir, &error);
  if (check == NULL || !mts_store_unlock (check, job->passphrase, job->len, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  mts_store_lock (check);
  if (!mts_keyring_store (job->store_id, job->passphrase, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
forget_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  KeyringJob *job = task_data;
  GError *error = NULL;

  if (!mts_keyring_clear (job->store_id, cancellable, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
remembered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsPreferencesWindow *self = MTS_PREFERENCES_WINDOW (source);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  self->busy--;
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->remember), TRUE);
  if (ok)
    {
      g_settings_set_boolean (self->settings, "remember-unlock", TRUE);
      set_switch (self, TRUE);
      toast (self, "The passphrase is kept in your keyring.");
      return;
    }
  set_switch (self, FALSE);
  if (mts_account_is_wrong_passphrase (error))
    toast (self, "That passphrase is not right: nothing was kept.");
  else
    {
      g_autofree char *text = g_strdup_printf ("The keyring could not keep the passphrase: %s",
                                               error->message);
      toast (self, text);
    }
}

static void
forgotten_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsPreferencesWindow *self = MTS_PREFERENCES_WINDOW (source);
  g_autoptr (GError) error = NULL;

  self->busy--;
  if (!g_task_propagate_boolean (G_TASK (result), &error)
      && !g_cancellable_is_cancelled (self->cancellable))
    {
      g_autofree char *text = g_strdup_printf ("The keyring could not forget the passphrase: %s",
                                               error->message);
      toast (self, text);
    }
}

static void
run_keyring_job (MtsPreferencesWindow *self, const char *passphrase, GTaskThreadFunc func,
                 GAsyncReadyCallback done)
{
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, done, NULL);
  KeyringJob *job = g_new0 (KeyringJob, 1);

  job->dir = g_strdup (mts_application_get_store_dir (prefs_app (self)));
  job->store_id = g_strdup (self->store_id);
  if (passphrase != NULL)
    job->passphrase = mts_account_secret_dup (passphrase, &job->len);
  self->busy++;
  g_task_set_source_tag (task, run_keyring_job);
  g_task_set_task_data (task, job, (GDestroyNotify) keyring_job_free);
  g_task_run_in_thread (task, func);
}

static void
passphrase_response_cb (AdwMessageDialog *dialog, const char *response, MtsPreferencesWindow *self)
{
  GtkEditable *entry = GTK_EDITABLE (g_object_get_data (G_OBJECT (dialog), "entry"));
  const char *text = gtk_editable_get_text (entry);

  /* One answer: closing after it must not count as "cancel". */
  g_signal_handlers_disconnect_by_func (dialog, passphrase_response_cb, self);

  if (g_str_equal (response, "remember") && *text != '\0')
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->remember), FALSE);
      run_keyring_job (self, text, remember_thread, remembered_cb);
    }
  else
    set_switch (self, FALSE);
  gtk_editable_set_text (entry, "");
  /* (libadwaita 1.2: an entry row that has the focus while its window is
   * finalized is notified after it is gone.) */
  gtk_window_set_focus (GTK_WINDOW (dialog), NULL);
}

static void
ask_passphrase (MtsPreferencesWindow *self)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), "Remember Unlock",
                                              "Enter the passphrase of this computer's store. "
                                              "It is checked, then kept in your keyring.");
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *entry = adw_password_entry_row_new ();

  gtk_widget_set_name (dialog, "prefs-remember-dialog");
  gtk_widget_set_name (entry, "prefs-remember-passphrase");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (entry), "Passphrase");
  g_object_set (entry, "activates-default", TRUE, NULL);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_append (GTK_LIST_BOX (list), entry);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", "_Cancel", "remember", "_Remember", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remember",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "remember");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_signal_connect_object (dialog, "response", G_CALLBACK (passphrase_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
remember_active_cb (GtkSwitch *sw, GParamSpec *pspec, MtsPreferencesWindow *self)
{
  if (self->updating)
    return;
  if (gtk_switch_get_active (sw))
    ask_passphrase (self);
  else
    {
      g_settings_set_boolean (self->settings, "remember-unlock", FALSE);
      run_keyring_job (self, NULL, forget_thread, forgotten_cb);
    }
}

/* ---- the server ---- */

static void
sign_in_cb (MtsPreferencesWindow *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));

  if (parent == NULL)
    return;
  g_object_ref (parent);
  gtk_window_close (GTK_WINDOW (self));
  gtk_widget_activate_action (GTK_WIDGET (parent), "win.sign-in", NULL);
  g_object_unref (parent);
}

static void
set_subtitle (AdwActionRow *row, const char *text)
{
  adw_action_row_set_subtitle (row, text != NULL ? text : "Not set up");
}

static void
load (MtsPreferencesWindow *self)
{
  MtsApplication *app = prefs_app (self);
  MtsStore *store = app != NULL ? mts_application_get_store (app) : NULL;
  g_autoptr (MtsStore) opened = NULL;
  g_autofree char *url = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *username = NULL;

  if (store == NULL && app != NULL && mts_application_has_store (app))
    store = opened = mts_store_open (mts_application_get_store_dir (app), NULL);
  mts_account_read (store, &url, &practice, &username);
  set_subtitle (self->server, url);
  set_subtitle (self->practice, practice);
  set_subtitle (self->user, username);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in),
                            app != NULL && mts_application_is_unlocked (app) && url != NULL);

  g_clear_pointer (&self->store_id, g_free);
  if (store != NULL)
    self->store_id = g_strdup (mts_store_get_id (store));
  gtk_widget_set_sensitive (GTK_WIDGET (self->remember_row), self->store_id != NULL);
  set_switch (self, g_settings_get_boolean (self->settings, "remember-unlock"));
}

/* ---- the window ---- */

static void
mts_preferences_window_dispose (GObject *object)
{
  MtsPreferencesWindow *self = MTS_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), MTS_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (mts_preferences_window_parent_class)->dispose (object);
}

static void
mts_preferences_window_finalize (GObject *object)
{
  MtsPreferencesWindow *self = MTS_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->lock_choice.values, g_array_unref);
  g_clear_pointer (&self->sync_choice.values, g_array_unref);
  g_free (self->store_id);
  G_OBJECT_CLASS (mts_preferences_window_parent_class)->finalize (object);
}

static void
mts_preferences_window_class_init (MtsPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_preferences_window_dispose;
  object_class->finalize = mts_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, server);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, practice);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, user);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, sign_in);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, auto_lock);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, remember_row);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, remember);
  gtk_widget_class_bind_template_child (widget_class, MtsPreferencesWindow, sync_interval);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_cb);
}

static void
mts_preferences_window_init (MtsPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
mts_preferences_window_new (GtkWindow *parent)
{
  static const guint lock_seconds[] = { 0, 60, 300, 600, 900, 1800, 3600 };
  static const guint sync_seconds[] = { 0, 60, 300, 900, 1800, 3600 };
  MtsPreferencesWindow *self = g_object_new (MTS_TYPE_PREFERENCES_WINDOW, "transient-for", parent,
                                             "modal", TRUE, NULL);
  MtsApplication *app = prefs_app (self);

  self->settings = app != NULL ? g_object_ref (mts_application_get_settings (app))
                               : g_settings_new (MTS_APP_ID);
  choice_init (self, &self->lock_choice, self->auto_lock, "auto-lock-seconds", lock_seconds,
               G_N_ELEMENTS (lock_seconds));
  choice_init (self, &self->sync_choice, self->sync_interval, "sync-interval-seconds",
               sync_seconds, G_N_ELEMENTS (sync_seconds));
  g_signal_connect (self->settings, "changed", G_CALLBACK (settings_changed_cb), self);
  load (self);
  g_signal_connect (self->remember, "notify::active", G_CALLBACK (remember_active_cb), self);
  return GTK_WIDGET (self);
}
