/* mts-login-dialog.c — signing in to the practice's server again (see
 * mts-login-dialog.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-login-dialog.h"

#include <string.h>

#include "mts-account.h"
#include "mts-application.h"
#include "mts-passphrase.h"
#include "mts-sync-session.h"
#include "mts-window.h"

struct _MtsLoginDialog
{
  AdwWindow parent_instance;

  GtkButton *sign_in;
  GtkSpinner *spinner;
  AdwActionRow *server;
  AdwEntryRow *practice;
  AdwEntryRow *username;
  AdwEntryRow *password;
  AdwEntryRow *code;
  GtkLabel *error;

  GCancellable *cancellable;
  gboolean busy;
  char *server_url;
};

G_DEFINE_FINAL_TYPE (MtsLoginDialog, mts_login_dialog, ADW_TYPE_WINDOW)

static MtsApplication *
dialog_app (MtsLoginDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  GtkApplication *app = parent != NULL ? gtk_window_get_application (parent) : NULL;

  return app != NULL ? MTS_APPLICATION (app) : MTS_APPLICATION_DEFAULT;
}

static void
show_error (MtsLoginDialog *self, const char *message)
{
  gtk_label_set_text (self->error, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error), message != NULL);
}

static void
set_busy (MtsLoginDialog *self, gboolean busy)
{
  self->busy = busy;
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in), !busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static char *
text_of (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

typedef struct {
  MtsStore *twin;
  char *practice;
  char *username;
  char *password;   /* sodium_malloc */
  char code[16];
  char *device_name;
} LoginData;

static void
login_data_free (LoginData *data)
{
  g_clear_object (&data->twin);
  g_free (data->practice);
  g_free (data->username);
  mts_passphrase_free (data->password);
  memset (data->code, 0, sizeof data->code);
  g_free (data->device_name);
  g_free (data);
}

static void
login_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LoginData *data = task_data;
  g_autoptr (MtsSyncSession) session = NULL;
  GError *error = NULL;

  session = mts_sync_session_new (data->twin, &error);
  if (session == NULL
      || !mts_sync_session_login (session, data->practice, data->username, data->password,
                                  data->code, data->device_name, cancellable, &error))
    {
      g_clear_object (&session);
      g_clear_object (&data->twin);
      g_task_return_error (task, error);
      return;
    }
  g_clear_object (&session);
  /* The twin holds keys: it goes on the thread that used it. */
  g_clear_object (&data->twin);
  g_task_return_boolean (task, TRUE);
}

static void
logged_in_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsLoginDialog *self = MTS_LOGIN_DIALOG (source);
  g_autoptr (GError) error = NULL;
  MtsApplication *app;
  GtkWindow *parent;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  set_busy (self, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->code), "");
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *text = mts_account_error_text (error, self->server_url);
      show_error (self, text);
      gtk_widget_grab_focus (GTK_WIDGET (self->code));
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->password), "");
  app = dialog_app (self);
  parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  if (MTS_IS_WINDOW (parent))
    mts_window_toast (MTS_WINDOW (parent), "Signed in. Syncing now…");
  g_action_group_activate_action (G_ACTION_GROUP (app), "sync-now", NULL);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
sign_in_cb (MtsLoginDialog *self)
{
  MtsApplication *app = dialog_app (self);
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *practice = text_of (self->practice);
  g_autofree char *username = text_of (self->username);
  g_autofree char *code = text_of (self->code);
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password));
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  LoginData *data;

  if (self->busy)
    return;
  if (*practice == '\0' || *username == '\0' || *password == '\0')
    {
      show_error (self, "Enter your practice, username and password.");
      return;
    }
  if (strlen (code) != 6 || strspn (code, "0123456789") != 6)
    {
      show_error (self, "Enter the 6 digits your authenticator app shows.");
      gtk_widget_grab_focus (GTK_WIDGET (self->code));
      return;
    }
  if (store == NULL || !mts_application_is_unlocked (app))
    {
      show_error (self, "Unlock the app first.");
      return;
    }

  data = g_new0 (LoginData, 1);
  data->twin = mts_store_open_twin (store, &error);
  if (data->twin == NULL)
    {
      g_autofree char *text = mts_account_error_text (error, NULL);
      login_data_free (data);
      show_error (self, text);
      return;
    }
  data->practice = g_steal_pointer (&practice);
  data->username = g_steal_pointer (&username);
  data->password = mts_account_secret_dup (password, NULL);
  g_strlcpy (data->code, code, sizeof data->code);
  memset (code, 0, strlen (code));
  data->device_name = g_strdup (g_get_host_name ());

  show_error (self, NULL);
  set_busy (self, TRUE);
  task = g_task_new (self, self->cancellable, logged_in_cb, NULL);
  g_task_set_source_tag (task, sign_in_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);
  g_task_run_in_thread (task, login_thread);
}

static void
load_account (MtsLoginDialog *self)
{
  MtsApplication *app = dialog_app (self);
  g_autofree char *practice = NULL;
  g_autofree char *username = NULL;

  g_clear_pointer (&self->server_url, g_free);
  if (app != NULL)
    mts_account_read (mts_application_get_store (app), &self->server_url, &practice, &username);
  adw_action_row_set_subtitle (self->server, self->server_url != NULL ? self->server_url
                                                                      : "Not set up");
  gtk_editable_set_text (GTK_EDITABLE (self->practice), practice != NULL ? practice : "");
  gtk_editable_set_text (GTK_EDITABLE (self->username), username != NULL ? username : "");
  gtk_widget_grab_focus (GTK_WIDGET (practice == NULL ? self->practice
                                     : username == NULL ? self->username : self->password));
}

static void
mts_login_dialog_dispose (GObject *object)
{
  MtsLoginDialog *self = MTS_LOGIN_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), MTS_TYPE_LOGIN_DIALOG);
  G_OBJECT_CLASS (mts_login_dialog_parent_class)->dispose (object);
}

static void
mts_login_dialog_finalize (GObject *object)
{
  MtsLoginDialog *self = MTS_LOGIN_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_free (self->server_url);
  G_OBJECT_CLASS (mts_login_dialog_parent_class)->finalize (object);
}

static void
mts_login_dialog_class_init (MtsLoginDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_login_dialog_dispose;
  object_class->finalize = mts_login_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-login-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, sign_in);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, server);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, practice);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, username);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, password);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, code);
  gtk_widget_class_bind_template_child (widget_class, MtsLoginDialog, error);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
mts_login_dialog_init (MtsLoginDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
mts_login_dialog_new (GtkWindow *parent)
{
  MtsLoginDialog *self = g_object_new (MTS_TYPE_LOGIN_DIALOG, "transient-for", parent,
                                       "modal", TRUE, NULL);

  load_account (self);
  return GTK_WIDGET (self);
}
