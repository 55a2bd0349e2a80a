/* mts-login-dialog.c — signing in to the practice's server again. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-login-dialog.h"

#include "mts-application.h"

struct _MtsLoginDialog
{
  AdwWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsLoginDialog, mts_login_dialog, ADW_TYPE_WINDOW)

static void
mts_login_dialog_class_init (MtsLoginDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-login-dialog.ui");
}

static void
mts_login_dialog_init (MtsLoginDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_login_dialog_new (GtkWindow *parent)
{
  return g_object_new (MTS_TYPE_LOGIN_DIALOG, "transient-for", parent, "modal", TRUE, NULL);
}
