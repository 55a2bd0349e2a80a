/* mts-sync-conflicts.h — the changes sync could not apply by itself
 * (schema/0002-sync-conflicts.sql), for the clinician to resolve.
 *
 * A conflict holds this device's version of the record, the server's
 * version and the base both started from; the row itself shows the
 * server's version meanwhile.  Resolving it writes the chosen version to
 * the row with an outbox entry based on the server's version, so the next
 * sync pushes it like any edit:
 *   MTS_RESOLVE_THEIRS   keep the server's version (nothing to push)
 *   MTS_RESOLVE_MINE     put this device's version of the clashing fields back
 *   MTS_RESOLVE_MERGED   write the given fields (an edited merge)
 * A "rejected" entry (a signed note, a deleted record) can only be resolved
 * as THEIRS (acknowledged): its text stays in the entry, readable.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "mts-store.h"

G_BEGIN_DECLS

typedef enum {
  MTS_RESOLVE_THEIRS,
  MTS_RESOLVE_MINE,
  MTS_RESOLVE_MERGED,
} MtsResolution;

typedef struct {
  char *id;
  char *created_at;
  char *table_name;
  char *row_id;
  char *kind;            /* "conflict" or "rejected" */
  char *fields;          /* the clashing fields, comma-separated (nullable) */
  char *reason;          /* for "rejected" (nullable) */
  JsonObject *local;     /* this device's version (decrypted) */
  JsonObject *remote;    /* the server's (nullable) */
  JsonObject *base;      /* the base (nullable) */
  gint64 remote_version;
} MtsSyncConflict;

void mts_sync_conflict_free (MtsSyncConflict *conflict);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsSyncConflict, mts_sync_conflict_free)

/* The open (unresolved) conflicts, oldest first.
 * Returns: (transfer full) (element-type MtsSyncConflict) */
GPtrArray *mts_sync_conflicts_list (MtsStore *store, GError **error);

/* One conflict by id (open or not), or NULL with MTS_STORE_ERROR_NOT_FOUND. */
MtsSyncConflict *mts_sync_conflict_get (MtsStore *store, const char *id, GError **error);

/* Resolves an open conflict.  @merged (the fields to write) is used only
 * with MTS_RESOLVE_MERGED.  MTS_STORE_ERROR_INVALID for a resolved one, a
 * rejected one resolved otherwise than THEIRS, or fields the table lacks. */
gboolean mts_sync_conflict_resolve (MtsStore *store, const char *id, MtsResolution resolution,
                                    JsonObject *merged, GError **error);

G_END_DECLS
