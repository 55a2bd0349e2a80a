/* mts-sync-status.c — The always-visible sync status in the header bar. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-sync-status.h"

#include "mts-application.h"

struct _MtsSyncStatus
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsSyncStatus, mts_sync_status, ADW_TYPE_BIN)

static void
mts_sync_status_class_init (MtsSyncStatusClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-sync-status.ui");
}

static void
mts_sync_status_init (MtsSyncStatus *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_sync_status_new (void)
{
  return g_object_new (MTS_TYPE_SYNC_STATUS, NULL);
}
