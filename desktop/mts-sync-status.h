/* mts-sync-status.h — The always-visible sync status in the header bar.
 *
 * Follows the app's sync manager (while the store is unlocked): synced and
 * when, syncing with progress, offline with the changes waiting, an error
 * with its reason and Retry, "Sign in again" when the sign-in ended, the
 * open conflicts (win.show-conflicts) and Sync Now (app.sync-now). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_SYNC_STATUS (mts_sync_status_get_type ())
G_DECLARE_FINAL_TYPE (MtsSyncStatus, mts_sync_status, MTS, SYNC_STATUS, AdwBin)

GtkWidget *mts_sync_status_new (void);

/* "5,000".  (transfer full) */
char *mts_sync_status_format_count (gint64 n);
/* "Synced 2 minutes ago", "Synced yesterday at 14:05", or "Not synced yet"
 * for a NULL @at.  (transfer full) */
char *mts_sync_status_format_synced (GDateTime *at, GDateTime *now);

G_END_DECLS
