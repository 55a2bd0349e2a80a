/* mts-export-dialog.c — exporting a client's records or the practice. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-export-dialog.h"

#include <glib/gstdio.h>

#include "mts-application.h"
#include "mts-export.h"
#include "mts-window.h"

typedef struct {
  GWeakRef parent;        /* the window */
  char *client_id;        /* nullable */
  char *folder;           /* the new folder the export writes */
  MtsStore *twin;         /* used by the worker only */
  MtsExportSummary summary;
  GtkWidget *progress;    /* the modal spinner dialog */
} Export;

static guint n_running;
static char *last_folder;
static char *last_error;

static void
export_free (Export *e)
{
  g_weak_ref_clear (&e->parent);
  g_free (e->client_id);
  g_free (e->folder);
  g_clear_object (&e->twin);
  if (e->progress != NULL)
    gtk_window_destroy (GTK_WINDOW (e->progress));
  g_clear_object (&e->progress);
  g_free (e);
}

guint
mts_export_dialog_get_n_running (void)
{
  return n_running;
}

const char *
mts_export_dialog_get_last_folder (void)
{
  return last_folder;
}

const char *
mts_export_dialog_get_last_error (void)
{
  return last_error;
}

static void
show_error (GtkWindow *parent, const char *heading, const char *message)
{
  GtkWidget *dialog = adw_message_dialog_new (parent, heading, message);

  gtk_widget_set_name (dialog, "export-error-dialog");
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", "_Close");
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Export *e = task_data;
  GError *error = NULL;

  if (mts_export_write (e->twin, e->folder, e->client_id, &e->summary, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
export_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Export *e = g_task_get_task_data (G_TASK (result));
  g_autoptr (GtkWindow) parent = g_weak_ref_get (&e->parent);
  g_autoptr (GError) error = NULL;

  n_running--;
  g_clear_pointer (&last_folder, g_free);
  g_clear_pointer (&last_error, g_free);
  if (e->progress != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (e->progress));
      g_clear_object (&e->progress);
    }
  /* The twin's keys go now, not when the task is freed. */
  g_clear_object (&e->twin);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *message = g_strdup_printf ("Nothing was written to %s.\n\n%s", e->folder, error->message);

      g_message ("export failed: %s", error->message);
      last_error = g_strdup (error->message);
      show_error (parent, e->client_id != NULL ? "The Client’s Records Were Not Exported"
                                               : "The Practice Was Not Exported", message);
      return;
    }
  last_folder = g_strdup (e->folder);
  if (e->summary.n_damaged > 0)
    {
      g_autofree char *message = g_strdup_printf (
        "The export is in %s, but %u document file%s damaged and could not be exported: "
        "bundle.json lists %s as damaged.", e->folder, e->summary.n_damaged,
        e->summary.n_damaged == 1 ? " is" : "s are", e->summary.n_damaged == 1 ? "it" : "them");
      show_error (parent, "Some Documents Were Not Exported", message);
    }
  else if (MTS_IS_WINDOW (parent))
    {
      g_autofree char *message = g_strdup_printf ("Exported to %s", e->folder);
      mts_window_toast (MTS_WINDOW (parent), message);
    }
}

static gboolean
show_progress_cb (gpointer user_data)
{
  GTask *task = user_data;
  Export *e = g_task_get_task_data (task);
  g_autoptr (GtkWindow) parent = g_weak_ref_get (&e->parent);
  GtkWidget *spinner;

  if (g_task_get_completed (task) || e->progress != NULL)
    return G_SOURCE_REMOVE;
  e->progress = g_object_ref_sink (adw_message_dialog_new (
    parent, e->client_id != NULL ? "Exporting the Client’s Records…" : "Exporting the Practice…", NULL));
  gtk_widget_set_name (e->progress, "export-progress-dialog");
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (e->progress),
                                  "Decrypting the records and documents into %s.", e->folder);
  spinner = gtk_spinner_new ();
  gtk_spinner_start (GTK_SPINNER (spinner));
  gtk_widget_set_size_request (spinner, 32, 32);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (e->progress), spinner);
  gtk_window_present (GTK_WINDOW (e->progress));
  return G_SOURCE_REMOVE;
}

/* A new folder in @dest for this export, not yet made. */
static char *
export_folder (const char *dest, gboolean client)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H.%M.%S");
  g_autofree char *base = g_strdup_printf ("MTS %s export %s", client ? "client" : "practice", stamp);
  char *path = g_build_filename (dest, base, NULL);

  for (guint i = 2; g_file_test (path, G_FILE_TEST_EXISTS); i++)
    {
      g_autofree char *numbered = g_strdup_printf ("%s (%u)", base, i);
      g_free (path);
      path = g_build_filename (dest, numbered, NULL);
    }
  return path;
}

static void
start_export (GtkWindow *parent, const char *client_id, const char *dest)
{
  GApplication *gapp = g_application_get_default ();
  MtsApplication *app = MTS_IS_APPLICATION (gapp) ? MTS_APPLICATION (gapp) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  Export *e;

  if (app == NULL || !mts_application_is_unlocked (app))
    {
      show_error (parent, "Nothing Was Exported", "The practice is locked: unlock it, then export again.");
      return;
    }
  if (!g_file_test (dest, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *message = g_strdup_printf ("%s is not a folder.", dest);
      show_error (parent, "Nothing Was Exported", message);
      return;
    }
  e = g_new0 (Export, 1);
  g_weak_ref_init (&e->parent, parent);
  e->client_id = g_strdup (client_id);
  e->folder = export_folder (dest, client_id != NULL);
  e->twin = mts_store_open_twin (mts_application_get_store (app), &error);
  if (e->twin == NULL)
    {
      show_error (parent, "Nothing Was Exported", error->message);
      export_free (e);
      return;
    }
  n_running++;
  task = g_task_new (NULL, NULL, export_done_cb, NULL);
  g_task_set_task_data (task, e, (GDestroyNotify) export_free);
  g_task_run_in_thread (task, export_thread);
  /* A spinner if it takes long enough to notice (the practice). */
  g_timeout_add_full (G_PRIORITY_DEFAULT, 300, show_progress_cb, g_object_ref (task), g_object_unref);
}

static void
chooser_response_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  GtkWindow *parent = gtk_native_dialog_get_transient_for (chooser);
  const char *client_id = g_object_get_data (G_OBJECT (chooser), "client-id");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        start_export (parent, client_id, path);
      else
        show_error (parent, "Nothing Was Exported", "Choose a folder on this computer.");
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

void
mts_export_dialog_show (GtkWindow *parent, const char *client_id)
{
  const char *env = g_getenv ("MTS_EXPORT_DIR");
  GtkFileChooserNative *chooser;

  if (client_id != NULL && *client_id == '\0')
    client_id = NULL;
  if (env != NULL && *env != '\0')
    {
      start_export (parent, client_id, env);
      return;
    }
  chooser = gtk_file_chooser_native_new (client_id != NULL ? "Export the Client’s Records To"
                                                           : "Export the Practice To",
                                         parent, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         "_Export Here", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "client-id", g_strdup (client_id), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), NULL);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
