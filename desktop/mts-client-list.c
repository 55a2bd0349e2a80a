/* mts-client-list.c — The sidebar: every client, with type-ahead search. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-list.h"

#include "mts-application.h"

struct _MtsClientList
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsClientList, mts_client_list, ADW_TYPE_BIN)

static void
mts_client_list_class_init (MtsClientListClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-list.ui");
}

static void
mts_client_list_init (MtsClientList *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_client_list_new (void)
{
  return g_object_new (MTS_TYPE_CLIENT_LIST, NULL);
}

void mts_client_list_focus_search (MtsClientList *self)
{
}
