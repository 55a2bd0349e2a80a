/* mts-preferences-window.h — Preferences: the practice server (shown, and
 * "Sign In…" for win.sign-in), auto-lock, remember unlock in the system
 * keyring, background sync.
 *
 * Rows are bound to the app's settings (uk.co.mytherapysuite.Desktop):
 *   Lock after               auto-lock-seconds (never, 1, 5, 10, 15, 30, 60 min)
 *   Sync in the background   sync-interval-seconds (off, 1, 5, 15, 30, 60 min)
 *   Remember unlock          remember-unlock; turning it on asks for the
 *                            passphrase, checks that it opens the store (on
 *                            a worker thread, a fresh MtsStore of the
 *                            folder) and keeps it in the keyring
 *                            (mts_keyring_store); turning it off clears the
 *                            keyring's entry.
 * A value set elsewhere that is not one of the choices shows as one more
 * choice, so nothing is changed by merely opening the window.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_PREFERENCES_WINDOW (mts_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (MtsPreferencesWindow, mts_preferences_window, MTS, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *mts_preferences_window_new (GtkWindow *parent);

/* Whether the keyring is being written or cleared (for tests). */
gboolean mts_preferences_window_is_busy (MtsPreferencesWindow *self);

G_END_DECLS
