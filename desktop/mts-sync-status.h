/* mts-sync-status.h — The always-visible sync status in the header bar. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_SYNC_STATUS (mts_sync_status_get_type ())
G_DECLARE_FINAL_TYPE (MtsSyncStatus, mts_sync_status, MTS, SYNC_STATUS, AdwBin)

GtkWidget *mts_sync_status_new (void);

G_END_DECLS
