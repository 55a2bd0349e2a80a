/* mts-conflict-view.h — Open sync conflicts: both versions side by side, and the base. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CONFLICT_VIEW (mts_conflict_view_get_type ())
G_DECLARE_FINAL_TYPE (MtsConflictView, mts_conflict_view, MTS, CONFLICT_VIEW, AdwBin)

GtkWidget *mts_conflict_view_new (void);
void mts_conflict_view_reload (MtsConflictView *self);

G_END_DECLS
