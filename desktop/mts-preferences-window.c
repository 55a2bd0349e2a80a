/* mts-preferences-window.c — Preferences: server, auto-lock, remember unlock in the system keyring. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-preferences-window.h"

#include "mts-application.h"

struct _MtsPreferencesWindow
{
  AdwPreferencesWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsPreferencesWindow, mts_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
mts_preferences_window_class_init (MtsPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-preferences-window.ui");
}

static void
mts_preferences_window_init (MtsPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *mts_preferences_window_new (GtkWindow *parent)
{
  return g_object_new (MTS_TYPE_PREFERENCES_WINDOW, "transient-for", parent, "modal", TRUE, NULL);
}
