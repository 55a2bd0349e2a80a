/* mts-note-history.h — A note's history: its versions in the audit log and its amendments. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_NOTE_HISTORY (mts_note_history_get_type ())
G_DECLARE_FINAL_TYPE (MtsNoteHistory, mts_note_history, MTS, NOTE_HISTORY, AdwWindow)

GtkWidget *mts_note_history_new (GtkWindow *parent, const char *note_id);

G_END_DECLS
