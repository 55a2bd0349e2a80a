/* mts-audit-view.c — The audit log, filtered by client, with Verify. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-audit-view.h"

#include "mts-application.h"

struct _MtsAuditView
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsAuditView, mts_audit_view, ADW_TYPE_BIN)

static void
mts_audit_view_class_init (MtsAuditViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-audit-view.ui");
}

static void
mts_audit_view_init (MtsAuditView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_audit_view_new (void)
{
  return g_object_new (MTS_TYPE_AUDIT_VIEW, NULL);
}

void mts_audit_view_set_client_id (MtsAuditView *self, const char *client_id)
{
}
