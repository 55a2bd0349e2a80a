/* mts-client-editor.c — Add or edit a client (a dialog). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-editor.h"

#include "mts-application.h"

struct _MtsClientEditor
{
  AdwWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsClientEditor, mts_client_editor, ADW_TYPE_WINDOW)

static void
mts_client_editor_class_init (MtsClientEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-editor.ui");
}

static void
mts_client_editor_init (MtsClientEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *mts_client_editor_new (GtkWindow *parent, const char *client_id)
{
  return g_object_new (MTS_TYPE_CLIENT_EDITOR, "transient-for", parent, "modal", TRUE, NULL);
}
