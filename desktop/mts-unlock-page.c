/* mts-unlock-page.c — the unlock screen (see mts-unlock-page.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-unlock-page.h"

#include "mts-account.h"
#include "mts-application.h"
#include "mts-keyring.h"

#include <string.h>

struct _MtsUnlockPage
{
  AdwBin parent_instance;

  AdwStatusPage *status;
  GtkLabel *practice;
  AdwEntryRow *passphrase;
  GtkLabel *error;
  GtkButton *unlock_button;
  GtkSpinner *spinner;

  GCancellable *cancellable;
  gboolean busy;
  gboolean tried_keyring;
  guint attempts;
  char *store_id;
};

G_DEFINE_FINAL_TYPE (MtsUnlockPage, mts_unlock_page, ADW_TYPE_BIN)

static MtsApplication *
page_app (MtsUnlockPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkApplication *app = GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root)) : NULL;

  return app != NULL ? MTS_APPLICATION (app) : MTS_APPLICATION_DEFAULT;
}

static void
show_error (MtsUnlockPage *self, const char *message)
{
  gtk_label_set_text (self->error, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error), message != NULL);
}

static void
set_busy (MtsUnlockPage *self, gboolean busy)
{
  self->busy = busy;
  gtk_widget_set_sensitive (GTK_WIDGET (self->unlock_button), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->passphrase), !busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  if (!busy)
    gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
}

gboolean
mts_unlock_page_is_busy (MtsUnlockPage *self)
{
  return self->busy;
}

static void
adopt (MtsUnlockPage *self, MtsStore *store)
{
  self->attempts = 0;
  show_error (self, NULL);
  mts_application_adopt_store (page_app (self), store);
}

static void
passphrase_changed_cb (MtsUnlockPage *self)
{
  /* (Emptied after each attempt: keep the message then.) */
  if (*gtk_editable_get_text (GTK_EDITABLE (self->passphrase)) != '\0')
    show_error (self, NULL);
}

/* ---- typed ---- */

static void
unlocked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsUnlockPage *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = mts_account_unlock_finish (result, &error);

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_unref (self);
      return;
    }
  set_busy (self, FALSE);
  if (store != NULL)
    adopt (self, store);
  else if (mts_account_is_wrong_passphrase (error))
    {
      g_autofree char *text = NULL;

      self->attempts++;
      text = self->attempts == 1
        ? g_strdup ("That passphrase is not right. Try again.")
        : g_strdup_printf ("That passphrase is not right (%u attempts). Try again.", self->attempts);
      show_error (self, text);
    }
  else
    {
      g_autofree char *text = mts_account_error_text (error, NULL);
      show_error (self, text);
    }
  g_object_unref (self);
}

static void
unlock_cb (MtsUnlockPage *self)
{
  MtsApplication *app = page_app (self);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->passphrase));

  if (self->busy)
    return;
  if (*text == '\0')
    {
      show_error (self, "Enter your passphrase.");
      gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
      return;
    }
  set_busy (self, TRUE);
  mts_account_unlock_async (mts_application_get_store_dir (app), text, self->cancellable,
                            unlocked_cb, g_object_ref (self));
  /* The worker has its own (wiped) copy; the entry's goes now. */
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
}

/* ---- from the keyring ---- */

typedef enum { KEYRING_UNLOCKED, KEYRING_NONE, KEYRING_WRONG, KEYRING_FAILED } KeyringOutcome;

typedef struct {
  char *dir;
  char *store_id;
  KeyringOutcome outcome;
  MtsStore *store;
} KeyringData;

static void
keyring_data_free (KeyringData *data)
{
  g_free (data->dir);
  g_free (data->store_id);
  g_clear_object (&data->store);
  g_free (data);
}

static void
keyring_unlock_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  KeyringData *data = task_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  char *passphrase = mts_keyring_lookup (data->store_id, cancellable, &error);

  if (passphrase == NULL)
    {
      if (error != NULL)
        g_message ("the keyring could not be read: %s", error->message);
      data->outcome = error != NULL ? KEYRING_FAILED : KEYRING_NONE;
      g_task_return_boolean (task, TRUE);
      return;
    }
  store = mts_store_open (data->dir, &error);
  if (store != NULL && mts_store_unlock (store, passphrase, strlen (passphrase), &error))
    {
      data->outcome = KEYRING_UNLOCKED;
      data->store = g_steal_pointer (&store);
    }
  else
    data->outcome = mts_account_is_wrong_passphrase (error) ? KEYRING_WRONG : KEYRING_FAILED;
  mts_keyring_free (passphrase);
  g_task_return_boolean (task, TRUE);
}

static void
keyring_unlocked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsUnlockPage *self = MTS_UNLOCK_PAGE (source);
  KeyringData *data = g_task_get_task_data (G_TASK (result));

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  set_busy (self, FALSE);
  switch (data->outcome)
    {
    case KEYRING_UNLOCKED:
      adopt (self, data->store);
      break;
    case KEYRING_NONE:
      show_error (self, "The keyring holds no passphrase for this store: enter it.");
      break;
    case KEYRING_WRONG:
      show_error (self, "The passphrase kept in the keyring no longer opens this store: enter "
                        "it, then turn “Remember unlock” off and on again in Preferences.");
      break;
    case KEYRING_FAILED:
    default:
      show_error (self, "The keyring could not be read: enter your passphrase.");
      break;
    }
}

static void
unlock_from_keyring (MtsUnlockPage *self)
{
  MtsApplication *app = page_app (self);
  g_autoptr (GTask) task = NULL;
  KeyringData *data;

  if (self->store_id == NULL)
    return;
  data = g_new0 (KeyringData, 1);
  data->dir = g_strdup (mts_application_get_store_dir (app));
  data->store_id = g_strdup (self->store_id);
  set_busy (self, TRUE);
  task = g_task_new (self, self->cancellable, keyring_unlocked_cb, NULL);
  g_task_set_source_tag (task, unlock_from_keyring);
  g_task_set_task_data (task, data, (GDestroyNotify) keyring_data_free);
  g_task_run_in_thread (task, keyring_unlock_thread);
}

/* ---- the page ---- */

/* Which store: its id (for the keyring) and its practice and user. */
static void
refresh (MtsUnlockPage *self)
{
  MtsApplication *app = page_app (self);
  g_autoptr (MtsStore) opened = NULL;
  MtsStore *store = mts_application_get_store (app);
  g_autofree char *described = NULL;

  if (store == NULL)
    store = opened = mts_store_open (mts_application_get_store_dir (app), NULL);
  g_clear_pointer (&self->store_id, g_free);
  if (store != NULL)
    {
      self->store_id = g_strdup (mts_store_get_id (store));
      described = mts_account_describe (store);
    }
  gtk_label_set_text (self->practice, described != NULL ? described : "");
  gtk_widget_set_visible (GTK_WIDGET (self->practice), described != NULL);
}

static void
mts_unlock_page_map (GtkWidget *widget)
{
  MtsUnlockPage *self = MTS_UNLOCK_PAGE (widget);
  MtsApplication *app = page_app (self);

  GTK_WIDGET_CLASS (mts_unlock_page_parent_class)->map (widget);
  if (app == NULL || self->busy)
    return;
  refresh (self);
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
  self->attempts = 0;
  show_error (self, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));

  if (!self->tried_keyring)
    {
      self->tried_keyring = TRUE;
      if (g_settings_get_boolean (mts_application_get_settings (app), "remember-unlock"))
        unlock_from_keyring (self);
    }
}

static void
mts_unlock_page_dispose (GObject *object)
{
  MtsUnlockPage *self = MTS_UNLOCK_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  /* (AdwBin unparents its child: the template's top widget goes first.) */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), MTS_TYPE_UNLOCK_PAGE);
  G_OBJECT_CLASS (mts_unlock_page_parent_class)->dispose (object);
}

static void
mts_unlock_page_finalize (GObject *object)
{
  MtsUnlockPage *self = MTS_UNLOCK_PAGE (object);

  g_clear_object (&self->cancellable);
  g_free (self->store_id);
  G_OBJECT_CLASS (mts_unlock_page_parent_class)->finalize (object);
}

static void
mts_unlock_page_class_init (MtsUnlockPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_unlock_page_dispose;
  object_class->finalize = mts_unlock_page_finalize;
  widget_class->map = mts_unlock_page_map;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-unlock-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, status);
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, practice);
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, passphrase);
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, error);
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, unlock_button);
  gtk_widget_class_bind_template_child (widget_class, MtsUnlockPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, unlock_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_changed_cb);
}

static void
mts_unlock_page_init (MtsUnlockPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
mts_unlock_page_new (void)
{
  return g_object_new (MTS_TYPE_UNLOCK_PAGE, NULL);
}
