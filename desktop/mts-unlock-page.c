/* mts-unlock-page.c — The unlock screen of later runs. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-unlock-page.h"

#include "mts-application.h"

struct _MtsUnlockPage
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsUnlockPage, mts_unlock_page, ADW_TYPE_BIN)

static void
mts_unlock_page_class_init (MtsUnlockPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-unlock-page.ui");
}

static void
mts_unlock_page_init (MtsUnlockPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_unlock_page_new (void)
{
  return g_object_new (MTS_TYPE_UNLOCK_PAGE, NULL);
}
