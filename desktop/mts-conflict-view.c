/* mts-conflict-view.c — Open sync conflicts: both versions side by side, and the base. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-conflict-view.h"

#include "mts-application.h"

struct _MtsConflictView
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (MtsConflictView, mts_conflict_view, ADW_TYPE_BIN)

static void
mts_conflict_view_class_init (MtsConflictViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-conflict-view.ui");
}

static void
mts_conflict_view_init (MtsConflictView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_conflict_view_new (void)
{
  return g_object_new (MTS_TYPE_CONFLICT_VIEW, NULL);
}

void mts_conflict_view_reload (MtsConflictView *self)
{
}
