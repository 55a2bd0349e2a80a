/* mts-sync-conflicts.c — listing and resolving sync conflicts (see
 * mts-sync-conflicts.h). */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-sync-conflicts.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-store-private.h"
#include "mts-sync-private.h"

#define SELECT_CONFLICT \
  "SELECT id, created_at, table_name, row_id, kind, fields, reason, " \
  "mts_decrypt(local, 'sync_conflicts.local:' || id), " \
  "mts_decrypt(remote, 'sync_conflicts.remote:' || id), " \
  "mts_decrypt(base, 'sync_conflicts.base:' || id), remote_version, resolved_at " \
  "FROM sync_conflicts "

void
mts_sync_conflict_free (MtsSyncConflict *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  g_free (c->created_at);
  g_free (c->table_name);
  g_free (c->row_id);
  g_free (c->kind);
  g_free (c->fields);
  g_free (c->reason);
  g_clear_pointer (&c->local, json_object_unref);
  g_clear_pointer (&c->remote, json_object_unref);
  g_clear_pointer (&c->base, json_object_unref);
  g_free (c);
}

static JsonObject *
column_object (sqlite3_stmt *st, int i)
{
  const char *text = (const char *) sqlite3_column_text (st, i);
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  if (text == NULL)
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

static MtsSyncConflict *
conflict_from_row (sqlite3_stmt *st)
{
  MtsSyncConflict *c = g_new0 (MtsSyncConflict, 1);

  c->id = mts_store_column_dup (st, 0);
  c->created_at = mts_store_column_dup (st, 1);
  c->table_name = mts_store_column_dup (st, 2);
  c->row_id = mts_store_column_dup (st, 3);
  c->kind = mts_store_column_dup (st, 4);
  c->fields = mts_store_column_dup (st, 5);
  c->reason = mts_store_column_dup (st, 6);
  c->local = column_object (st, 7);
  c->remote = column_object (st, 8);
  c->base = column_object (st, 9);
  c->remote_version = sqlite3_column_int64 (st, 10);
  if (c->local == NULL)
    c->local = json_object_new ();
  return c;
}

GPtrArray *
mts_sync_conflicts_list (MtsStore *store, GError **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_sync_conflict_free);
  sqlite3_stmt *st;
  int rc;

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  st = mts_store_prepare (store, SELECT_CONFLICT "WHERE resolved_at IS NULL ORDER BY created_at, id",
                          error);
  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (list, conflict_from_row (st));
  if (rc != SQLITE_DONE)
    {
      mts_store_db_fail (store, error, "listing sync conflicts");
      sqlite3_finalize (st);
      return NULL;
    }
  sqlite3_finalize (st);
  return g_steal_pointer (&list);
}

MtsSyncConflict *
mts_sync_conflict_get (MtsStore *store, const char *id, GError **error)
{
  sqlite3_stmt *st;
  MtsSyncConflict *c = NULL;
  int rc;

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  st = mts_store_prepare (store, SELECT_CONFLICT "WHERE id = ?1", error);
  if (st == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    c = conflict_from_row (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no sync conflict %s", id);
  else
    mts_store_db_fail (store, error, "reading a sync conflict");
  sqlite3_finalize (st);
  return c;
}

static gboolean
is_open (MtsStore *store, const char *id)
{
  sqlite3_stmt *st = mts_store_prepare (store,
    "SELECT 1 FROM sync_conflicts WHERE id = ?1 AND resolved_at IS NULL", NULL);
  gboolean open;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  open = sqlite3_step (st) == SQLITE_ROW;
  sqlite3_finalize (st);
  return open;
}

gboolean
mts_sync_conflict_resolve (MtsStore *store, const char *id, MtsResolution resolution,
                           JsonObject *merged, GError **error)
{
  static const char *const names[] = { "theirs", "mine", "merged" };
  g_autoptr(MtsSyncConflict) c = mts_sync_conflict_get (store, id, error);
  g_autoptr(JsonObject) row = NULL;
  g_autoptr(GString) changed = g_string_new (NULL);
  g_autofree char *at = mts_store_now_iso ();
  const MtsTableSpec *t;
  JsonObject *chosen = NULL;
  sqlite3_stmt *st;
  gint64 version = 0;
  gboolean deleted = FALSE;

  if (c == NULL)
    return FALSE;
  if (!is_open (store, id))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "sync conflict %s is already resolved", id);
      return FALSE;
    }
  if (strcmp (c->kind, "rejected") == 0 && resolution != MTS_RESOLVE_THEIRS)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "the server refused this change for good (%s): it can only be acknowledged",
                   c->reason ? c->reason : "rejected");
      return FALSE;
    }
  t = mts_table_lookup (c->table_name);
  if (t != NULL && resolution != MTS_RESOLVE_THEIRS && strcmp (t->name, "notes") == 0)
    {
      sqlite3_stmt *signed_st = mts_store_prepare (store,
        "SELECT 1 FROM notes WHERE id = ?1 AND status = 'signed'", error);
      gboolean is_signed;

      if (signed_st == NULL)
        return FALSE;
      mts_store_bind_text (signed_st, 1, c->row_id);
      is_signed = sqlite3_step (signed_st) == SQLITE_ROW;
      sqlite3_finalize (signed_st);
      if (is_signed)
        {
          g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED,
                       "the note is signed now and cannot change: keep theirs and amend it");
          return FALSE;
        }
    }
  if (t == NULL)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "sync conflict %s names a table that does not sync", id);
      return FALSE;
    }
  if (resolution == MTS_RESOLVE_MINE)
    chosen = c->local;
  else if (resolution == MTS_RESOLVE_MERGED)
    {
      JsonObjectIter iter;
      const char *name;

      if (merged == NULL)
        {
          g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                       "an edited merge needs the fields to write");
          return FALSE;
        }
      json_object_iter_init (&iter, merged);
      while (json_object_iter_next (&iter, &name, NULL))
        if (mts_table_field (t, name) == NULL)
          {
            g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                         "%s has no field %s", t->name, name);
            return FALSE;
          }
      chosen = merged;
    }

  if (!mts_store_begin (store, error))
    return FALSE;
  if (chosen != NULL)
    {
      g_autoptr(JsonObject) next = json_object_new ();
      g_auto(GStrv) clashed = c->fields ? g_strsplit (c->fields, ",", -1) : NULL;
      GError *local = NULL;

      row = mts_sync_read_row (store, t, c->row_id, &version, &deleted, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          goto fail;
        }
      if (row == NULL || deleted)
        {
          /* Deleted meanwhile (its client, say): nothing to write it into.
           * Its versions stay readable in this conflict. */
          g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND,
                       "the %s record was deleted since: only keeping theirs is possible",
                       t->name);
          goto fail;
        }
      /* The row as it is (the server's version), with the chosen fields. */
      for (guint i = 0; i < t->n_fields; i++)
        {
          const char *name = t->fields[i].name;
          JsonNode *mine = json_object_get_member (chosen, name);
          JsonNode *now = row ? json_object_get_member (row, name) : NULL;
          gboolean take = mine != NULL && (resolution == MTS_RESOLVE_MERGED ||
                                           clashed == NULL || clashed[0] == NULL ||
                                           g_strv_contains ((const char *const *) clashed, name));

          if (take && (now == NULL || !json_node_equal (mine, now)))
            {
              json_object_set_member (next, name, json_node_copy (mine));
              g_string_append_printf (changed, "%s%s", changed->len ? "," : "", name);
            }
          else if (now != NULL)
            json_object_set_member (next, name, json_node_copy (now));
        }
      json_object_set_string_member (next, "updated_at", at);
      if (row == NULL)
        version = 0;
      /* Mine (or the merge) may be what the row holds already: then there
       * is nothing to write or push, not even a new updated_at. */
      if (changed->len > 0 &&
          (!mts_sync_write_row (store, t, c->row_id, version, next, NULL, error) ||
           !mts_store_outbox_add (store, t->name, c->row_id, "upsert", changed->str, version,
                                  at, error)))
        goto fail;
    }
  st = mts_store_prepare (store, "UPDATE sync_conflicts SET resolved_at = ?2, resolution = ?3 "
                                 "WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, names[resolution]);
  if (!mts_store_step_finalize (store, st, error) || !mts_store_commit (store, error))
    goto fail;
  return chosen == NULL || strcmp (t->name, "clients") != 0 ||
         mts_store_reload_names (store, error);

fail:
  mts_store_rollback (store);
  return FALSE;
}
