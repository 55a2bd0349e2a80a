/* mts-note-editor.h — The note editor: autosave, sign, amend, history.
 *
 * A new note starts from a template's headings (SOAP, DAP, BIRP, free, or
 * one of the practice's own templates) and is created in the store at the
 * first keystroke, so leaving without typing leaves nothing behind.
 *
 * Autosave: 400 ms after typing pauses, and at least once a second while
 * typing goes on, the text is written with mts_store_note_update on a
 * worker thread through a twin of the app's store (a write waits for its
 * fsync and, while a sync holds the database, for the lock: never on the
 * main thread).  It is also saved at once (on this thread) when the note
 * is left, on Ctrl+S, and before the app locks ("locking"); on "locked"
 * the text leaves the widget and on "unlocked" it is read back from the
 * store.  A save that fails shows a banner and keeps the text.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_NOTE_EDITOR (mts_note_editor_get_type ())
G_DECLARE_FINAL_TYPE (MtsNoteEditor, mts_note_editor, MTS, NOTE_EDITOR, AdwBin)

/* The most bytes of text a note may hold: what the server accepts for
 * notes.body (schema/mts-sync-tables.c), 1 MiB. */
gsize mts_note_editor_max_bytes (void);

GtkWidget *mts_note_editor_new (void);
void mts_note_editor_open (MtsNoteEditor *self, const char *note_id);
void mts_note_editor_new_note (MtsNoteEditor *self, const char *client_id);
/* Saves what is typed now (the app calls it before locking). */
gboolean mts_note_editor_flush (MtsNoteEditor *self, GError **error);

/* Starts a new note from a template: "SOAP", "DAP", "BIRP", "free" or a
 * practice template's id (what the template rows do). */
void mts_note_editor_start_from_template (MtsNoteEditor *self, const char *template);

/* The note shown (NULL before a new note's first keystroke). */
const char *mts_note_editor_get_note_id (MtsNoteEditor *self);
/* Whether typed text is waiting to be saved. */
gboolean mts_note_editor_is_dirty (MtsNoteEditor *self);

/* Replaces the selection (or inserts at the cursor) with @text, drafted
 * by AI, and marks the note AI-assisted (the AI panel's "Insert"). */
void mts_note_editor_insert_ai_draft (MtsNoteEditor *self, const char *text);

G_END_DECLS
