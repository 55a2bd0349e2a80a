/* mts-store-private.h — what the store's other files (mts-store-*.c) use
 * of mts-store.c.  Not installed, not for callers of the store. */
#pragma once

#include <sqlite3.h>

#include "mts-keystore.h"
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

/* mts_store_step_done(), then finalizes @st whatever happened. */
gboolean mts_store_step_finalize (MtsStore *store, sqlite3_stmt *st, GError **error);

/* Queues a change of @table's row @row_id for sync, in the caller's
 * transaction.  @op is "upsert" or "delete"; @changed_columns is
 * comma-separated, NULL for a delete. */
gboolean mts_store_outbox_add (MtsStore *store, const char *table, const char *row_id,
                               const char *op, const char *changed_columns, gint64 base_version,
                               const char *at, GError **error);

/* mts_store_open_twin() in two halves, so that the slower second half
 * (opening the database, decrypting the client names) can run on the
 * thread that will use the twin.  The first, on @store's thread, clones
 * its keystore (MTS_STORE_ERROR_LOCKED when locked); the second opens the
 * store in @dir unlocked with @ks (transfer full, freed on failure) and
 * @actor (NULL: the default). */
MtsKeystore *mts_store_clone_keystore (MtsStore *store, GError **error);
MtsStore *mts_store_open_with_keystore (const char *dir, MtsKeystore *ks, const char *actor,
                                        GError **error);

/* Helpers every mts-store-*.c shares. */
const char *mts_store_nonempty (const char *s);     /* "" counts as absent */
char *mts_store_now_iso (void);                     /* "YYYY-MM-DDTHH:MM:SS.sssZ", UTC */
gboolean mts_store_require_unlocked (MtsStore *store, GError **error);
/* Reports the database's last error as MTS_STORE_ERROR (LOCKED or DB). */
gboolean mts_store_db_fail (MtsStore *store, GError **error, const char *what);
/* Reloads the client names held for search (after sync wrote clients). */
gboolean mts_store_reload_names (MtsStore *store, GError **error);
/* The key a phone number is blind-indexed by: its digits (and a leading +). */
char *mts_store_phone_key (const char *phone);
sqlite3_stmt *mts_store_prepare (MtsStore *store, const char *sql, GError **error);
void mts_store_bind_text (sqlite3_stmt *st, int i, const char *text);   /* NULL binds NULL */
char *mts_store_column_dup (sqlite3_stmt *st, int i);

G_END_DECLS
