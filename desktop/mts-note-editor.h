/* mts-note-editor.h — The note editor: autosave, sign, amend, history. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_NOTE_EDITOR (mts_note_editor_get_type ())
G_DECLARE_FINAL_TYPE (MtsNoteEditor, mts_note_editor, MTS, NOTE_EDITOR, AdwBin)

GtkWidget *mts_note_editor_new (void);
void mts_note_editor_open (MtsNoteEditor *self, const char *note_id);
void mts_note_editor_new_note (MtsNoteEditor *self, const char *client_id);
/* Saves what is typed now (the app calls it before locking). */
gboolean mts_note_editor_flush (MtsNoteEditor *self, GError **error);

G_END_DECLS
