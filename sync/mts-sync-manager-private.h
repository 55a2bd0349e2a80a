/* mts-sync-manager-private.h — what the tests see of mts-sync-manager.c
 * beyond its API.  Not for the app. */
#pragma once

#include "mts-sync-manager.h"

G_BEGIN_DECLS

/* Syncs started in this process and not yet wound up: their worker has not
 * returned, or its report has not reached the main context (where it finds
 * the manager, or finds it gone).  For tests that finalize a manager during
 * a sync and must wait for the worker before checking the store. */
guint mts_sync_manager_live_runs (void);

G_END_DECLS
