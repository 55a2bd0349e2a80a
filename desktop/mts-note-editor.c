/* mts-note-editor.c — The note editor: autosave, sign, amend, history. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-note-editor.h"

#include "mts-application.h"

struct _MtsNoteEditor
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsNoteEditor, mts_note_editor, ADW_TYPE_BIN)

static void
mts_note_editor_class_init (MtsNoteEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-note-editor.ui");
}

static void
mts_note_editor_init (MtsNoteEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_note_editor_new (void)
{
  return g_object_new (MTS_TYPE_NOTE_EDITOR, NULL);
}

void mts_note_editor_open (MtsNoteEditor *self, const char *note_id)
{
}

void mts_note_editor_new_note (MtsNoteEditor *self, const char *client_id)
{
}

gboolean mts_note_editor_flush (MtsNoteEditor *self, GError **error)
{
  return TRUE;
}
