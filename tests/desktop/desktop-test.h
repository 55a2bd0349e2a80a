/* desktop-test.h — driving the real app's windows in GUI tests (under
 * xvfb-run, see run-gui-test.sh).
 *
 * Widgets are found by their widget name (the `name` property every
 * control the tests touch has in its .ui file), across every toplevel, so
 * dialogs are found too.  Tests act the way a user would, through the
 * widgets (typing into an entry, clicking a button) and the app's actions
 * (the same a shortcut or menu item activates), then wait for the main
 * loop to bring the app to the expected state.
 *
 * Screenshots: mts_test_screenshot() renders a widget as it is on screen
 * into $MTS_SCREENSHOT_DIR/NAME.png (default: ./screenshots) and fails the
 * case when the image is blank (a single colour, or nearly).
 */
#pragma once

#include <adwaita.h>

#include "mts-application.h"
#include "mts-window.h"

G_BEGIN_DECLS

/* g_test_init plus what every GUI test needs (call first in main). */
void mts_test_gui_init (int *argc, char ***argv);

/* A new app (non-unique: no D-Bus name) on the store folder @store_dir,
 * registered, the default application, activated: its window is shown.
 * (transfer full) */
MtsApplication *mts_test_app_start (const char *store_dir);
/* Locks, closes the app's windows and drops the app. */
void mts_test_app_stop (MtsApplication *app);
/* (transfer none) */
MtsWindow *mts_test_app_window (MtsApplication *app);

/* The widget named @name in any toplevel (NULL when there is none; a
 * widget that is not mapped is found too). (transfer none) */
GtkWidget *mts_test_find (const char *name);
GtkWidget *mts_test_find_in (GtkWidget *root, const char *name);
/* As mts_test_find, failing the test when there is none. */
GtkWidget *mts_test_get (const char *name);

/* Runs the main loop a little (pending events, then up to @ms). */
void mts_test_spin (guint ms);

/* Waits, running the main loop, until @cond holds; fails the case naming
 * @cond after @ms milliseconds. */
#define MTS_TEST_WAIT_UNTIL(cond, ms)                                         \
  G_STMT_START {                                                              \
    gint64 mts_wait_end_ = g_get_monotonic_time () + (gint64) (ms) * 1000;    \
    while (!(cond))                                                           \
      {                                                                       \
        if (g_get_monotonic_time () > mts_wait_end_)                          \
          {                                                                   \
            g_test_message ("timed out after %d ms waiting for: %s", (int) (ms), #cond); \
            g_assert_true (cond);                                             \
            break;                                                            \
          }                                                                   \
        if (!g_main_context_iteration (NULL, FALSE))                          \
          g_usleep (2000);                                                    \
      }                                                                       \
  } G_STMT_END

/* Sets the text of the GtkEditable (entry, AdwEntryRow, ...) or GtkTextView
 * named @name, as typing it would (the editable's "changed" fires). */
void mts_test_set_text (const char *name, const char *text);
/* (transfer full) The text of the editable, text view, label or window
 * title named @name. */
char *mts_test_get_text (const char *name);
/* Clicks the button named @name (it must be sensitive and visible), or
 * activates the widget (a row, a switch). */
void mts_test_click (const char *name);
/* Activates @action ("win.open-note", "app.lock") on the app's window with
 * @param (nullable). */
void mts_test_action (MtsApplication *app, const char *action, GVariant *param);

/* Renders @widget into $MTS_SCREENSHOT_DIR/@name.png and asserts it is not
 * blank. */
void mts_test_screenshot (GtkWidget *widget, const char *name);
/* Whether the PNG at @path is blank: fewer than 8 distinct colours, or
 * under 1% of pixels differing from the most common one. */
gboolean mts_test_png_is_blank (const char *path);

/* A fresh store folder path under the test's temporary folder. (transfer full) */
char *mts_test_store_dir (const char *name);

G_END_DECLS
