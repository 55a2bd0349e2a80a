/* mts-ai-panel.h — "Draft with AI" from the note editor (issue 8): a
 * session-note draft or a risk-signal check of only the text the therapist
 * selected in the note or pasted here, through the practice's server
 * (sync/mts-ai-client.h).
 *
 * Draft: "Insert into Note" puts the draft into the note (replacing the
 * selection, or at the cursor) and marks the note AI-assisted; it stays an
 * unsigned draft for review.  Risk signals: each flagged passage with its
 * reason, Accept (raises a risk flag for the client, level chosen) or
 * Dismiss; never a decision.  Offline, consent missing, not configured,
 * unavailable, refused, too long: each said plainly, the note untouched.
 */
#pragma once

#include <adwaita.h>

#include "mts-note-editor.h"

G_BEGIN_DECLS

#define MTS_TYPE_AI_PANEL (mts_ai_panel_get_type ())
G_DECLARE_FINAL_TYPE (MtsAiPanel, mts_ai_panel, MTS, AI_PANEL, AdwWindow)

/* @headings: the note's template headings (nullable); @selected: the text
 * selected in the note (nullable): the panel's text starts as it. */
GtkWidget *mts_ai_panel_new (GtkWindow *parent, MtsNoteEditor *editor, const char *client_id,
                             const char *template_kind, const char *const *headings,
                             const char *selected);

/* What the panel shows: "input", "sending", "draft", "signals" or "error"
 * (for tests). */
const char *mts_ai_panel_get_page (MtsAiPanel *self);

G_END_DECLS
