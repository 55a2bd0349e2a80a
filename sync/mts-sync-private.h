/* mts-sync-private.h — what the sync engine's files share (not for the
 * app): reading a row as a record's fields and writing a record into a
 * row, both through schema/mts-sync-tables.h. */
#pragma once

#include <json-glib/json-glib.h>

#include "mts-store.h"
#include "mts-sync-tables.h"

G_BEGIN_DECLS

/* Row @id of @t as a record's fields, sensitive ones decrypted, or NULL
 * (no error) if there is no such row.  (transfer full) */
JsonObject *mts_sync_read_row (MtsStore *store, const MtsTableSpec *t, const char *id,
                               gint64 *version, gboolean *deleted, GError **error);

/* Inserts or updates row @id from @fields at @version, leaving the columns
 * in @keep (nullable) as they are; encrypts and blind-indexes as the store
 * does. */
gboolean mts_sync_write_row (MtsStore *store, const MtsTableSpec *t, const char *id,
                             gint64 version, JsonObject *fields, GHashTable *keep,
                             GError **error);

G_END_DECLS
