/* mts-note-history.c — A note's history: its versions in the audit log and its amendments. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-note-history.h"

#include "mts-application.h"

struct _MtsNoteHistory
{
  AdwWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsNoteHistory, mts_note_history, ADW_TYPE_WINDOW)

static void
mts_note_history_class_init (MtsNoteHistoryClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-note-history.ui");
}

static void
mts_note_history_init (MtsNoteHistory *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *mts_note_history_new (GtkWindow *parent, const char *note_id)
{
  return g_object_new (MTS_TYPE_NOTE_HISTORY, "transient-for", parent, "modal", TRUE, NULL);
}
