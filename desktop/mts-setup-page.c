/* mts-setup-page.c — First run: server, login with password and TOTP, local passphrase, first sync. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-setup-page.h"

#include "mts-application.h"

struct _MtsSetupPage
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsSetupPage, mts_setup_page, ADW_TYPE_BIN)

static void
mts_setup_page_class_init (MtsSetupPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-setup-page.ui");
}

static void
mts_setup_page_init (MtsSetupPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_setup_page_new (void)
{
  return g_object_new (MTS_TYPE_SETUP_PAGE, NULL);
}
