/* mts-store-private.h — what the store's other files (mts-store-*.c) use
 * of mts-store.c.  Not installed, not for callers of the store. */
#pragma once

#include <sqlite3.h>

#include "mts-store.h"

G_BEGIN_DECLS

/* mts_store_get_db() is public (mts-store.h). */

/* BEGIN IMMEDIATE / COMMIT; errors are MTS_STORE_ERROR_DB. */
gboolean mts_store_begin (MtsStore *store, GError **error);
gboolean mts_store_commit (MtsStore *store, GError **error);
/* Rolls back the open transaction, if any. */
void mts_store_rollback (MtsStore *store);

/* Steps @st to completion, mapping the database's message to
 * MTS_STORE_ERROR (LOCKED, SIGNED, else DB). */
gboolean mts_store_step_done (MtsStore *store, sqlite3_stmt *st, GError **error);

/* Queues a change of @table's row @row_id for sync, in the caller's
 * transaction.  @op is "upsert" or "delete"; @changed_columns is
 * comma-separated, NULL for a delete. */
gboolean mts_store_outbox_add (MtsStore *store, const char *table, const char *row_id,
                               const char *op, const char *changed_columns, gint64 base_version,
                               const char *at, GError **error);

G_END_DECLS
