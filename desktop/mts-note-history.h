/* mts-note-history.h — A note's history: its versions in the audit log and its amendments.
 *
 * The audit log (mts_audit, read-only SQL) says when the note was created,
 * each time it was saved (autosaves within a few minutes by one person are
 * shown as one edit), signed, synced in or deleted, and by whom; it holds
 * digests, never the text, so earlier wordings are not shown (the server
 * keeps every revision).  Below: the note this one amends and the notes
 * that amend it, each opened with win.open-note.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_NOTE_HISTORY (mts_note_history_get_type ())
G_DECLARE_FINAL_TYPE (MtsNoteHistory, mts_note_history, MTS, NOTE_HISTORY, AdwWindow)

GtkWidget *mts_note_history_new (GtkWindow *parent, const char *note_id);

/* How many version rows and amendment rows show (for tests). */
guint mts_note_history_get_n_versions (MtsNoteHistory *self);
guint mts_note_history_get_n_linked (MtsNoteHistory *self);

G_END_DECLS
