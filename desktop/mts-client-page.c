/* mts-client-page.c — One client: details, sessions, notes, documents, agreements, risk flags, AI consent. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-page.h"

#include "mts-application.h"

struct _MtsClientPage
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsClientPage, mts_client_page, ADW_TYPE_BIN)

static void
mts_client_page_class_init (MtsClientPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-page.ui");
}

static void
mts_client_page_init (MtsClientPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_client_page_new (void)
{
  return g_object_new (MTS_TYPE_CLIENT_PAGE, NULL);
}

void mts_client_page_set_client_id (MtsClientPage *self, const char *client_id)
{
}

const char *mts_client_page_get_client_id (MtsClientPage *self)
{
  return NULL;
}
