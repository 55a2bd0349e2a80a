/* mts-preferences-window.h — Preferences: server, auto-lock, remember unlock in the system keyring. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_PREFERENCES_WINDOW (mts_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (MtsPreferencesWindow, mts_preferences_window, MTS, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *mts_preferences_window_new (GtkWindow *parent);

G_END_DECLS
