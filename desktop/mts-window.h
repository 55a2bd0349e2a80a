/* mts-window.h — the main window: first run, unlock, and the practice
 * (client list beside the page shown: a client, a note, conflicts, audit).
 *
 * Pages move between one another through the window's actions, so no page
 * needs to know another:
 *   win.show-client (s)     a client's page
 *   win.new-client          the add-client dialog
 *   win.open-note (s)       the note editor on a note
 *   win.new-note (s)        the note editor on a new note for a client
 *   win.show-conflicts      the conflict view
 *   win.show-audit (s)      the audit log of a client ("" for all)
 *   win.show-audit-all      the whole practice's audit log
 *   win.export (s)          export a client's records ("" for the practice)
 *   win.search              focus the client search
 *   win.sign-in             sign in to the server again (session ended)
 *   win.back                back to the list (narrow windows)
 */
#pragma once

#include "mts-application.h"

G_BEGIN_DECLS

#define MTS_TYPE_WINDOW (mts_window_get_type ())
G_DECLARE_FINAL_TYPE (MtsWindow, mts_window, MTS, WINDOW, AdwApplicationWindow)

MtsWindow *mts_window_new (MtsApplication *app);

/* Which page shows: "setup", "unlock" or "main"; within main, which content:
 * "empty", "client", "note", "conflicts", "audit".  (For tests.) */
const char *mts_window_get_page (MtsWindow *self);
const char *mts_window_get_content (MtsWindow *self);

/* Renders @widget (a window, or any widget in one) as it is on screen into
 * a PNG file at @path: the headless demo's screenshot and the GUI tests'. */
gboolean mts_widget_save_png (GtkWidget *widget, const char *path, GError **error);

/* A short message at the bottom of the window. */
void mts_window_toast (MtsWindow *self, const char *message);

G_END_DECLS
