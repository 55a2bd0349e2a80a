/* mts-sync-engine.c — push, pull and anchor (see mts-sync-engine.h).
 *
 * Rows are read and written through schema/mts-sync-tables.h: a record on
 * the wire is its fields as JSON with sensitive values in plaintext (inside
 * TLS); here they are sealed with the store's own key on the way in
 * (mts_encrypt, bound to table, column and row) and opened on the way out
 * (mts_decrypt), and the blind indexes are recomputed, exactly as the store
 * writes them itself.  No value is ever pasted into SQL text. */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-sync-engine.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-json-generate.h"
#include "mts-store-private.h"
#include "mts-sync-private.h"
#include "mts-sync-client.h"
#include "mts-sync-tables.h"
#include "mts-uuid.h"

#define DEFAULT_PUSH_BATCH 500
#define DEFAULT_PULL_LIMIT 1000
#define FIRST_PULL_LIMIT 5000
#define CURSOR_KEY "pull_cursor"

/* Local columns that index a synced field, recomputed whenever it is
 * written (the store's own writes do the same: sync/mts-store.c). */
typedef struct {
  const char *table;
  const char *field;
  const char *column;
  gboolean phone;        /* indexed by mts_store_phone_key of the value */
} BlindIndex;

static const BlindIndex blind_indexes[] = {
  { "clinicians", "email", "email_bidx", FALSE },
  { "clients", "email", "email_bidx", FALSE },
  { "clients", "phone", "phone_bidx", TRUE },
};

/* Tables whose pulled records cannot be stored here yet: a document row
 * needs its file and file key, which do not travel through this API. */
static gboolean
pull_skips_table (const MtsTableSpec *t)
{
  return strcmp (t->name, "documents") == 0;
}

/* Sets MTS_SYNC_ERROR_CANCELLED, as the client's requests do. */
static gboolean
cancelled (GCancellable *cancellable, GError **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED, "the sync was cancelled");
  return TRUE;
}

/* --- statements -------------------------------------------------------- */

/* While a sync runs, its statements are prepared once and kept on the store
 * (a first sync writes a hundred thousand rows with a handful of
 * statements); outside a sync (conflict resolution) they are prepared and
 * finalized each time.  mts_sync_once installs and removes the cache. */
#define STMT_CACHE "mts-sync-statements"

static sqlite3_stmt *
stmt_get (MtsStore *store, const char *sql, GError **error)
{
  GHashTable *cache = g_object_get_data (G_OBJECT (store), STMT_CACHE);
  sqlite3_stmt *st;

  if (cache == NULL)
    return mts_store_prepare (store, sql, error);
  st = g_hash_table_lookup (cache, sql);
  if (st == NULL)
    {
      st = mts_store_prepare (store, sql, error);
      if (st != NULL)
        g_hash_table_insert (cache, g_strdup (sql), st);
    }
  return st;
}

static void
stmt_release (MtsStore *store, sqlite3_stmt *st)
{
  if (g_object_get_data (G_OBJECT (store), STMT_CACHE) == NULL)
    {
      sqlite3_finalize (st);
      return;
    }
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
}

static gboolean
stmt_step_release (MtsStore *store, sqlite3_stmt *st, GError **error)
{
  gboolean ok = mts_store_step_done (store, st, error);

  stmt_release (store, st);
  return ok;
}

static void
stmt_free (gpointer st)
{
  sqlite3_finalize (st);
}

static void
stmt_cache_install (MtsStore *store)
{
  g_object_set_data_full (G_OBJECT (store), STMT_CACHE,
                          g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 stmt_free),
                          (GDestroyNotify) g_hash_table_unref);
}

static void
stmt_cache_remove (MtsStore *store)
{
  g_object_set_data (G_OBJECT (store), STMT_CACHE, NULL);
}

/* --- sync_state ---------------------------------------------------------- */

static gint64
state_get_int (MtsStore *store, const char *key, gint64 fallback)
{
  sqlite3_stmt *st = stmt_get (store, "SELECT value FROM sync_state WHERE key = ?1", NULL);
  gint64 value = fallback;

  if (st == NULL)
    return fallback;
  mts_store_bind_text (st, 1, key);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) == SQLITE_INTEGER)
    value = sqlite3_column_int64 (st, 0);
  stmt_release (store, st);
  return value;
}

static gboolean
state_set_int (MtsStore *store, const char *key, gint64 value, GError **error)
{
  sqlite3_stmt *st = stmt_get (store,
    "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, key);
  sqlite3_bind_int64 (st, 2, value);
  return stmt_step_release (store, st, error);
}

gint64
mts_sync_pending (MtsStore *store, GError **error)
{
  sqlite3_stmt *st = stmt_get (store, "SELECT count(*) FROM sync_outbox", error);
  gint64 n = -1;

  if (st == NULL)
    return -1;
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  else
    mts_store_db_fail (store, error, "counting the outbox");
  stmt_release (store, st);
  return n;
}

/* --- rows <-> records ------------------------------------------------------ */

/* Reads row @id of @t as a record's fields, sensitive ones decrypted.
 * Returns NULL (no error) if there is no such row. */
JsonObject *
mts_sync_read_row (MtsStore *store, const MtsTableSpec *t, const char *id, gint64 *version,
          gboolean *deleted, GError **error)
{
  g_autoptr(GString) sql = g_string_new ("SELECT version, deleted");
  JsonObject *fields = NULL;
  sqlite3_stmt *st;
  int rc;

  for (guint i = 0; i < t->n_fields; i++)
    {
      const MtsFieldSpec *f = &t->fields[i];
      if (f->flags & MTS_FIELD_SENSITIVE)
        g_string_append_printf (sql, ", mts_decrypt(%s, '%s.%s:' || id)", f->name, t->name, f->name);
      else
        g_string_append_printf (sql, ", %s", f->name);
    }
  g_string_append_printf (sql, " FROM %s WHERE id = ?1", t->name);
  st = stmt_get (store, sql->str, error);
  if (st == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      fields = json_object_new ();
      *version = sqlite3_column_int64 (st, 0);
      *deleted = sqlite3_column_int (st, 1) != 0;
      for (guint i = 0; i < t->n_fields; i++)
        {
          int col = (int) i + 2;
          switch (sqlite3_column_type (st, col))
            {
            case SQLITE_NULL:
              json_object_set_null_member (fields, t->fields[i].name);
              break;
            case SQLITE_INTEGER:
              json_object_set_int_member (fields, t->fields[i].name, sqlite3_column_int64 (st, col));
              break;
            default:
              json_object_set_string_member (fields, t->fields[i].name,
                                             (const char *) sqlite3_column_text (st, col));
              break;
            }
        }
    }
  else if (rc != SQLITE_DONE)
    mts_store_db_fail (store, error, "reading a row to push");
  stmt_release (store, st);
  return fields;
}

static const BlindIndex *
blind_index_of (const MtsTableSpec *t, const char *field)
{
  for (guint i = 0; i < G_N_ELEMENTS (blind_indexes); i++)
    if (strcmp (blind_indexes[i].table, t->name) == 0 && strcmp (blind_indexes[i].field, field) == 0)
      return &blind_indexes[i];
  return NULL;
}

static void
bind_json (sqlite3_stmt *st, int i, JsonNode *value)
{
  if (value == NULL || JSON_NODE_HOLDS_NULL (value) || !JSON_NODE_HOLDS_VALUE (value))
    sqlite3_bind_null (st, i);
  else if (json_node_get_value_type (value) == G_TYPE_INT64)
    sqlite3_bind_int64 (st, i, json_node_get_int (value));
  else if (json_node_get_value_type (value) == G_TYPE_BOOLEAN)
    sqlite3_bind_int (st, i, json_node_get_boolean (value));
  else if (json_node_get_value_type (value) == G_TYPE_STRING)
    sqlite3_bind_text (st, i, json_node_get_string (value), -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

/* Whether row @id of notes is signed here.  A signed note never changes
 * through the store (schema/0001-initial.sql's trigger), but the server's
 * version of it must still win on this device when the two differ (another
 * device signed first, or this device's signature met a concurrent edit and
 * is kept as a conflict): the row is then replaced, not updated. */
static gboolean
replace_signed_note (MtsStore *store, const MtsTableSpec *t, const char *id, GError **error)
{
  sqlite3_stmt *st;
  gboolean is_signed;

  if (strcmp (t->name, "notes") != 0)
    return TRUE;
  st = stmt_get (store, "SELECT status = 'signed' FROM notes WHERE id = ?1", error);
  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  is_signed = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) == 1;
  stmt_release (store, st);
  if (!is_signed)
    return TRUE;
  /* An amendment may name it: the foreign key is checked at commit, once
   * the row is back. */
  st = stmt_get (store, "PRAGMA defer_foreign_keys = ON", error);
  if (st == NULL || !stmt_step_release (store, st, error))
    return FALSE;
  st = stmt_get (store, "DELETE FROM notes WHERE id = ?1", error);
  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  return stmt_step_release (store, st, error);
}

/* Writes a server record into row @id: inserts it, or updates every column
 * except those in @keep (columns with a newer local edit still to push).
 * Must run inside a transaction. */
gboolean
mts_sync_write_row (MtsStore *store, const MtsTableSpec *t, const char *id, gint64 version,
           JsonObject *fields, GHashTable *keep, GError **error)
{
  g_autoptr(GString) cols = g_string_new ("id, version, deleted");
  g_autoptr(GString) vals = g_string_new ("?1, ?2, 0");
  g_autoptr(GString) set = g_string_new ("version = excluded.version, deleted = 0");
  g_autoptr(GPtrArray) phone_keys = g_ptr_array_new_with_free_func (g_free);
  int next_param = (int) t->n_fields + 3;
  sqlite3_stmt *st;

  for (guint i = 0; i < t->n_fields; i++)
    {
      const MtsFieldSpec *f = &t->fields[i];
      const BlindIndex *bi = blind_index_of (t, f->name);
      gboolean kept = keep != NULL && g_hash_table_contains (keep, f->name);
      int p = (int) i + 3;

      g_string_append_printf (cols, ", %s", f->name);
      if (f->flags & MTS_FIELD_SENSITIVE)
        g_string_append_printf (vals, ", mts_encrypt(?%d, '%s.%s:' || ?1)", p, t->name, f->name);
      else
        g_string_append_printf (vals, ", ?%d", p);
      if (!kept)
        g_string_append_printf (set, ", %s = excluded.%s", f->name, f->name);
      if (bi != NULL)
        {
          g_string_append_printf (cols, ", %s", bi->column);
          if (bi->phone)
            {
              JsonNode *v = json_object_get_member (fields, f->name);
              const char *text = v != NULL && JSON_NODE_HOLDS_VALUE (v) &&
                                 json_node_get_value_type (v) == G_TYPE_STRING
                                 ? json_node_get_string (v) : NULL;
              g_string_append_printf (vals, ", mts_blind_index(?%d, '%s.%s')", next_param++,
                                      t->name, f->name);
              g_ptr_array_add (phone_keys, mts_store_phone_key (text));
            }
          else
            g_string_append_printf (vals, ", mts_blind_index(?%d, '%s.%s')", p, t->name, f->name);
          if (!kept)
            g_string_append_printf (set, ", %s = excluded.%s", bi->column, bi->column);
        }
    }

  if (!replace_signed_note (store, t, id, error))
    return FALSE;
  {
    g_autofree char *sql = g_strdup_printf ("INSERT INTO %s (%s) VALUES (%s) "
                                            "ON CONFLICT (id) DO UPDATE SET %s",
                                            t->name, cols->str, vals->str, set->str);
    st = stmt_get (store, sql, error);
  }
  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, version);
  for (guint i = 0; i < t->n_fields; i++)
    bind_json (st, (int) i + 3, json_object_get_member (fields, t->fields[i].name));
  for (guint k = 0; k < phone_keys->len; k++)
    mts_store_bind_text (st, (int) t->n_fields + 3 + (int) k, phone_keys->pdata[k]);
  return stmt_step_release (store, st, error);
}

static gboolean
delete_row (MtsStore *store, const MtsTableSpec *t, const char *id, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("DELETE FROM %s WHERE id = ?1", t->name);
  sqlite3_stmt *st = stmt_get (store, sql, error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  return stmt_step_release (store, st, error);
}

static gboolean
set_version (MtsStore *store, const MtsTableSpec *t, const char *id, gint64 version,
             GError **error)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE %s SET version = ?2 WHERE id = ?1 "
                                          "AND version < ?2", t->name);
  sqlite3_stmt *st = stmt_get (store, sql, error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, version);
  return stmt_step_release (store, st, error);
}

/* The columns of row @id edited locally after outbox entry @after_seq, or
 * NULL if there are none; *@deleting is set if one of them deletes it. */
static GHashTable *
pending_columns (MtsStore *store, const char *table, const char *id, gint64 after_seq,
                 gboolean *deleting, GError **error)
{
  sqlite3_stmt *st = stmt_get (store,
    "SELECT op, changed_columns FROM sync_outbox WHERE table_name = ?1 AND row_id = ?2 "
    "AND seq > ?3", error);
  GHashTable *cols = NULL;
  int rc;

  *deleting = FALSE;
  if (st == NULL)
    return NULL;
  mts_store_bind_text (st, 1, table);
  mts_store_bind_text (st, 2, id);
  sqlite3_bind_int64 (st, 3, after_seq);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *op = (const char *) sqlite3_column_text (st, 0);
      const char *changed = (const char *) sqlite3_column_text (st, 1);

      if (cols == NULL)
        cols = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      if (g_strcmp0 (op, "delete") == 0)
        *deleting = TRUE;
      if (changed != NULL)
        {
          g_auto(GStrv) names = g_strsplit (changed, ",", -1);
          for (guint i = 0; names[i] != NULL; i++)
            g_hash_table_add (cols, g_strdup (g_strstrip (names[i])));
        }
    }
  if (rc != SQLITE_DONE)
    {
      g_clear_pointer (&cols, g_hash_table_unref);
      mts_store_db_fail (store, error, "reading the outbox");
    }
  stmt_release (store, st);
  return cols;
}

/* Removes the entries of a record up to @up_to_seq, adding how many to
 * *@removed: a push counts what was acknowledged this way, not from the
 * outbox's size, which the app may grow while a push is in flight. */
static gboolean
outbox_remove (MtsStore *store, const char *table, const char *id, gint64 up_to_seq,
               gint64 *removed, GError **error)
{
  sqlite3_stmt *st = stmt_get (store,
    "DELETE FROM sync_outbox WHERE table_name = ?1 AND row_id = ?2 AND seq <= ?3", error);

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, table);
  mts_store_bind_text (st, 2, id);
  sqlite3_bind_int64 (st, 3, up_to_seq);
  if (!stmt_step_release (store, st, error))
    return FALSE;
  *removed += sqlite3_changes (mts_store_get_db (store));
  return TRUE;
}

/* Applies a server record (merged, or the current one of a conflict) to
 * row @id without touching what was edited after @after_seq. */
static gboolean
apply_server_record (MtsStore *store, const MtsTableSpec *t, const char *id,
                     JsonObject *record, gint64 after_seq, JsonObject *sent, GError **error)
{
  g_autoptr(GHashTable) keep = NULL;
  gboolean deleting = FALSE;
  GError *local = NULL;
  JsonObject *fields;
  gint64 version;

  keep = pending_columns (store, t->name, id, after_seq, &deleting, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (deleting)
    return TRUE;
  /* A column with a newer entry that this op carried, with the value the
   * row still has: the server's answer already accounts for it (values are
   * read at push time), so the answer's value is the one to write. */
  if (keep != NULL && sent != NULL)
    {
      gint64 row_version = 0;
      gboolean row_deleted = FALSE;
      g_autoptr(JsonObject) row = mts_sync_read_row (store, t, id, &row_version, &row_deleted,
                                                     NULL);
      GHashTableIter iter;
      gpointer name;

      g_hash_table_iter_init (&iter, keep);
      while (row != NULL && g_hash_table_iter_next (&iter, &name, NULL))
        {
          JsonNode *now = json_object_get_member (row, name);
          JsonNode *was = json_object_get_member (sent, name);

          if (now != NULL && was != NULL && json_node_equal (now, was))
            g_hash_table_iter_remove (&iter);
        }
      if (g_hash_table_size (keep) == 0)
        g_clear_pointer (&keep, g_hash_table_unref);
    }
  version = json_object_get_int_member_with_default (record, "version", 0);
  if (json_object_get_boolean_member_with_default (record, "deleted", FALSE))
    return keep != NULL ? set_version (store, t, id, version, error)
                        : delete_row (store, t, id, error);
  fields = json_object_get_object_member (record, "fields");
  if (fields == NULL)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                   "the server sent a record of %s without fields", t->name);
      return FALSE;
    }
  /* A column still kept was edited after the op left: that edit was made
   * on the row's old version, and must reach the server as such (merged or
   * in conflict there), never as an edit of the version this answer
   * brought, which would overwrite it.  So the row keeps its version. */
  if (keep != NULL)
    {
      gboolean row_deleted = FALSE;
      g_autoptr(JsonObject) row = mts_sync_read_row (store, t, id, &version, &row_deleted, NULL);

      if (row == NULL)
        version = 0;
    }
  return mts_sync_write_row (store, t, id, version, fields, keep, error);
}

/* --- conflicts ------------------------------------------------------------- */

static char *
object_text (JsonObject *o)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);

  json_generator_set_root (gen, node);
  return mts_json_generate (gen, NULL);
}

static gboolean
keep_conflict (MtsStore *store, const MtsTableSpec *t, const char *id, const char *kind,
               const char *fields, const char *reason, JsonObject *local,
               JsonObject *remote, JsonObject *base, GError **error)
{
  g_autofree char *cid = mts_uuid7_new ();
  g_autofree char *at = mts_store_now_iso ();
  /* The server's records are kept as their fields, like the local one;
   * the server's version goes in remote_version. */
  JsonObject *remote_fields = remote ? json_object_get_object_member (remote, "fields") : NULL;
  JsonObject *base_fields = base ? json_object_get_object_member (base, "fields") : NULL;
  g_autofree char *local_text = object_text (local);
  g_autofree char *remote_text = remote_fields ? object_text (remote_fields) : NULL;
  g_autofree char *base_text = base_fields ? object_text (base_fields) : NULL;
  sqlite3_stmt *st = stmt_get (store,
    "INSERT INTO sync_conflicts (id, created_at, table_name, row_id, kind, fields, reason, "
    "local, remote, base, remote_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "mts_encrypt(?8, 'sync_conflicts.local:' || ?1), "
    "mts_encrypt(?9, 'sync_conflicts.remote:' || ?1), "
    "mts_encrypt(?10, 'sync_conflicts.base:' || ?1), ?11)", error);
  gboolean ok;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, cid);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, t->name);
  mts_store_bind_text (st, 4, id);
  mts_store_bind_text (st, 5, kind);
  mts_store_bind_text (st, 6, fields);
  mts_store_bind_text (st, 7, reason);
  mts_store_bind_text (st, 8, local_text);
  mts_store_bind_text (st, 9, remote_text);
  mts_store_bind_text (st, 10, base_text);
  if (remote != NULL)
    sqlite3_bind_int64 (st, 11, json_object_get_int_member_with_default (remote, "version", 0));
  else
    sqlite3_bind_null (st, 11);
  ok = stmt_step_release (store, st, error);
  memset (local_text, 0, strlen (local_text));
  return ok;
}

static gboolean
exec_sql (MtsStore *store, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (mts_store_get_db (store), sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s: %s", sql,
                   message ? message : "failed");
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* --- push ------------------------------------------------------------------ */

typedef struct {
  const MtsTableSpec *table;
  char *table_name;
  char *id;
  gint64 seq;             /* the op's: the oldest entry's (see collect_groups) */
  gint64 last_seq;        /* the newest entry's */
  gboolean delete;
  GHashTable *changed;    /* column names */
  gint64 entry_base;      /* the newest entry's base_version */
  JsonObject *local;      /* the row as sent, for a conflict record */
  JsonObject *sent;       /* the fields the op carried */
} Group;

static void
group_free (gpointer data)
{
  Group *g = data;

  g_free (g->id);
  g_free (g->table_name);
  g_clear_pointer (&g->changed, g_hash_table_unref);
  g_clear_pointer (&g->local, json_object_unref);
  g_clear_pointer (&g->sent, json_object_unref);
  g_free (g);
}

/* Reads up to @limit outbox entries and coalesces them per record: one op
 * with the union of their changed columns and the row's values now.  The op
 * takes the OLDEST entry's seq: if that entry was pushed before and its
 * answer lost (the app killed mid-push), the server answers "duplicate" for
 * it, and only that entry is acknowledged; the newer ones go out again as a
 * fresh op based on the version the duplicate reports, instead of being
 * merged against the old base — where a device would conflict with its own
 * earlier edit. */
static GPtrArray *
collect_groups (MtsStore *store, guint limit, GError **error)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (group_free);
  g_autoptr(GHashTable) by_row = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *st = stmt_get (store,
    "SELECT seq, table_name, row_id, op, changed_columns, base_version FROM sync_outbox "
    "ORDER BY seq LIMIT ?1", error);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int (st, 1, (int) limit);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *table = (const char *) sqlite3_column_text (st, 1);
      const char *row_id = (const char *) sqlite3_column_text (st, 2);
      const char *op = (const char *) sqlite3_column_text (st, 3);
      const char *changed = (const char *) sqlite3_column_text (st, 4);
      g_autofree char *key = g_strconcat (table, ":", row_id, NULL);
      Group *g = g_hash_table_lookup (by_row, key);

      if (g == NULL)
        {
          g = g_new0 (Group, 1);
          g->table = mts_table_lookup (table);
          g->table_name = g_strdup (table);
          g->id = g_strdup (row_id);
          g->changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (by_row, g_steal_pointer (&key), g);
          g_ptr_array_add (groups, g);
        }
      if (g->seq == 0)
        g->seq = sqlite3_column_int64 (st, 0);
      g->last_seq = sqlite3_column_int64 (st, 0);
      g->delete = g_strcmp0 (op, "delete") == 0;
      g->entry_base = sqlite3_column_int64 (st, 5);
      if (changed != NULL)
        {
          g_auto(GStrv) names = g_strsplit (changed, ",", -1);
          for (guint i = 0; names[i] != NULL; i++)
            g_hash_table_add (g->changed, g_strdup (g_strstrip (names[i])));
        }
    }
  if (rc != SQLITE_DONE)
    {
      mts_store_db_fail (store, error, "reading the outbox");
      stmt_release (store, st);
      return NULL;
    }
  stmt_release (store, st);
  return g_steal_pointer (&groups);
}

static gint
group_cmp (gconstpointer a, gconstpointer b)
{
  const Group *x = *(Group *const *) a, *y = *(Group *const *) b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Builds the op for @g; returns NULL (and drops the group's entries) for a
 * table that does not sync. */
static JsonNode *
build_op (MtsStore *store, Group *g, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonObject) row = NULL;
  gint64 version = 0;
  gboolean deleted = FALSE;
  GError *local = NULL;

  row = mts_sync_read_row (store, g->table, g->id, &version, &deleted, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (row == NULL || deleted)
    {
      g->delete = TRUE;
      if (row == NULL)
        version = g->entry_base;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, g->seq);
  json_builder_set_member_name (b, "table");
  json_builder_add_string_value (b, g->table->name);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, g->id);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, g->delete ? "delete" : "upsert");
  json_builder_set_member_name (b, "base_version");
  json_builder_add_int_value (b, version);
  if (!g->delete)
    {
      json_builder_set_member_name (b, "fields");
      json_builder_begin_object (b);
      for (guint i = 0; i < g->table->n_fields; i++)
        {
          const char *name = g->table->fields[i].name;
          JsonNode *value = json_object_get_member (row, name);

          /* A record the server has never seen goes whole; an edit sends
           * what changed, and its time. */
          if (version != 0 && !g_hash_table_contains (g->changed, name) &&
              strcmp (name, "updated_at") != 0)
            continue;
          /* A required field cannot be sent as null; a row that lacks one
           * (never the case for rows the store wrote) is sent without it. */
          if ((value == NULL || JSON_NODE_HOLDS_NULL (value)) &&
              (g->table->fields[i].flags & MTS_FIELD_REQUIRED))
            continue;
          json_builder_set_member_name (b, name);
          json_builder_add_value (b, value ? json_node_copy (value) : json_node_new (JSON_NODE_NULL));
          if (g->sent == NULL)
            g->sent = json_object_new ();
          json_object_set_member (g->sent, name,
                                  value ? json_node_copy (value) : json_node_new (JSON_NODE_NULL));
        }
      json_builder_end_object (b);
      g->local = json_object_ref (row);
    }
  else
    g->local = json_object_new ();
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
apply_result (MtsStore *store, Group *g, JsonObject *r, MtsSyncStats *stats, gint64 *removed,
              GError **error)
{
  const char *status = json_object_get_string_member_with_default (r, "status", "");
  const char *original = json_object_get_string_member_with_default (r, "original_status", status);
  gint64 version = json_object_get_int_member_with_default (r, "version", 0);
  const MtsTableSpec *t = g->table;
  /* What this answer acknowledges: the whole group, or for a duplicate only
   * its oldest entry, which the server had applied before. */
  gint64 acked = g->last_seq;

  if (strcmp (status, "duplicate") == 0)
    {
      stats->duplicates++;
      status = original;
      acked = g->seq;
    }
  if (!mts_store_begin (store, error))
    return FALSE;

  if (strcmp (status, "applied") == 0 || (strcmp (status, "merged") == 0 &&
                                          !json_object_has_member (r, "record")))
    {
      if (!set_version (store, t, g->id, version, error))
        goto fail;
      stats->applied++;
    }
  else if (strcmp (status, "merged") == 0)
    {
      if (!apply_server_record (store, t, g->id, json_object_get_object_member (r, "record"),
                                acked, g->sent, error))
        goto fail;
      stats->merged++;
    }
  else if (strcmp (status, "conflict") == 0)
    {
      JsonObject *current = json_object_get_object_member (r, "current");
      JsonObject *base = json_object_has_member (r, "base") &&
                         !json_object_get_null_member (r, "base")
                         ? json_object_get_object_member (r, "base") : NULL;
      g_autofree char *fields = NULL;
      JsonArray *names = json_object_has_member (r, "fields")
                         ? json_object_get_array_member (r, "fields") : NULL;
      GString *list = g_string_new (NULL);

      for (guint i = 0; names != NULL && i < json_array_get_length (names); i++)
        g_string_append_printf (list, "%s%s", i ? "," : "", json_array_get_string_element (names, i));
      fields = g_string_free (list, FALSE);
      if (current == NULL)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server reported a conflict without the current record");
          goto fail;
        }
      if (!keep_conflict (store, t, g->id, "conflict", fields, NULL, g->local, current, base,
                          error) ||
          !apply_server_record (store, t, g->id, current, acked, g->sent, error))
        goto fail;
      stats->conflicts++;
    }
  else if (strcmp (status, "rejected") == 0)
    {
      const char *code = json_object_get_string_member_with_default (r, "code", "rejected");
      gint64 cursor = state_get_int (store, CURSOR_KEY, 0);
      gint64 row_version = 0;
      gboolean deleted = FALSE;
      g_autoptr(JsonObject) row = mts_sync_read_row (store, t, g->id, &row_version, &deleted, NULL);

      /* Kept for the clinician.  A record the server has deleted (or whose
       * client it has) goes here too; anything else is pulled again from
       * the version this device had (its base, if the row is gone), so the
       * row comes back to the server's. */
      gint64 from = row != NULL ? row_version : g->entry_base;

      if (!keep_conflict (store, t, g->id, "rejected", NULL, code, g->local, NULL, NULL, error))
        goto fail;
      if (strcmp (code, "deleted") == 0)
        {
          if (row != NULL && !delete_row (store, t, g->id, error))
            goto fail;
        }
      else if (from < cursor && !state_set_int (store, CURSOR_KEY, from, error))
        goto fail;
      stats->rejected++;
    }
  else
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                   "the server answered an op with an unknown status");
      goto fail;
    }

  if (!outbox_remove (store, t->name, g->id, acked, removed, error) ||
      !mts_store_commit (store, error))
    goto fail;
  return TRUE;

fail:
  mts_store_rollback (store);
  return FALSE;
}

static gboolean
push (MtsStore *store, MtsSyncSession *session, const MtsSyncOptions *options,
      MtsSyncProgressFunc progress, gpointer user_data, GCancellable *cancellable,
      MtsSyncStats *stats, GError **error)
{
  guint batch = options && options->push_batch ? options->push_batch : DEFAULT_PUSH_BATCH;
  gint64 total = mts_sync_pending (store, error), done = 0;

  if (total < 0)
    return FALSE;
  while (TRUE)
    {
      g_autoptr(GPtrArray) groups = collect_groups (store, batch, error);
      g_autoptr(JsonBuilder) b = NULL;
      g_autoptr(JsonNode) body = NULL;
      g_autoptr(JsonNode) answer = NULL;
      g_autoptr(GHashTable) by_seq = NULL;
      JsonArray *results;
      gint64 after, removed = 0;

      if (groups == NULL || cancelled (cancellable, error))
        return FALSE;
      if (groups->len == 0)
        break;
      g_ptr_array_sort (groups, group_cmp);

      b = json_builder_new ();
      by_seq = g_hash_table_new (g_int64_hash, g_int64_equal);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ops");
      json_builder_begin_array (b);
      for (guint i = 0; i < groups->len; i++)
        {
          Group *g = groups->pdata[i];
          JsonNode *op;

          if (g->table == NULL)
            {
              /* Not a synced table (a newer build's, say): nothing to send. */
              if (!outbox_remove (store, g->table_name, g->id, g->last_seq, &removed, error))
                return FALSE;
              continue;
            }
          op = build_op (store, g, error);
          if (op == NULL)
            return FALSE;
          json_builder_add_value (b, op);
          g_hash_table_insert (by_seq, &g->seq, g);
        }
      json_builder_end_array (b);
      if (options != NULL && options->confirm_mass_delete)
        {
          json_builder_set_member_name (b, "confirm_mass_delete");
          json_builder_add_boolean_value (b, TRUE);
        }
      json_builder_end_object (b);
      body = json_builder_get_root (b);

      answer = mts_sync_session_request (session, "POST", "/v1/sync/push", body, cancellable,
                                         NULL, NULL, error);
      if (answer == NULL)
        return FALSE;
      if (!JSON_NODE_HOLDS_OBJECT (answer) ||
          (results = json_object_get_array_member (json_node_get_object (answer), "results")) == NULL)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server's push answer has no results");
          return FALSE;
        }
      stats->pushed += g_hash_table_size (by_seq);
      /* The server's records written here may name rows this device has not
       * pulled yet (a clinician, a session): as in pull, references are the
       * server's to keep, not checked row by row. */
      if (!exec_sql (store, "PRAGMA foreign_keys = OFF", error))
        return FALSE;
      for (guint i = 0; i < json_array_get_length (results); i++)
        {
          JsonObject *r = json_array_get_object_element (results, i);
          gint64 seq = r ? json_object_get_int_member_with_default (r, "seq", -1) : -1;
          Group *g = g_hash_table_lookup (by_seq, &seq);

          if (g == NULL)
            continue;
          if (!apply_result (store, g, r, stats, &removed, error))
            {
              exec_sql (store, "PRAGMA foreign_keys = ON", NULL);
              return FALSE;
            }
        }
      if (!exec_sql (store, "PRAGMA foreign_keys = ON", error))
        return FALSE;
      after = mts_sync_pending (store, error);
      if (after < 0)
        return FALSE;
      done += removed;
      if (progress != NULL)
        progress (MTS_SYNC_PHASE_PUSH, done, MAX (total, done + after), user_data);
      if (removed == 0)
        {
          /* Nothing was acknowledged: stop rather than loop; the entries stay. */
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server acknowledged none of %u ops", g_hash_table_size (by_seq));
          return FALSE;
        }
    }
  return TRUE;
}

/* --- pull ------------------------------------------------------------------ */

static gboolean
has_pending (MtsStore *store, const char *table, const char *id, GError **error)
{
  gboolean deleting;
  g_autoptr(GHashTable) cols = pending_columns (store, table, id, -1, &deleting, error);
  return cols != NULL;
}

static gint64
local_version (MtsStore *store, const MtsTableSpec *t, const char *id, gboolean *exists)
{
  g_autofree char *sql = g_strdup_printf ("SELECT version FROM %s WHERE id = ?1", t->name);
  sqlite3_stmt *st = stmt_get (store, sql, NULL);
  gint64 v = -1;

  *exists = FALSE;
  if (st == NULL)
    return -1;
  mts_store_bind_text (st, 1, id);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      *exists = TRUE;
      v = sqlite3_column_int64 (st, 0);
    }
  stmt_release (store, st);
  return v;
}

static gboolean
apply_pulled (MtsStore *store, JsonObject *record, MtsSyncStats *stats, GError **error)
{
  const char *table = json_object_get_string_member_with_default (record, "table", "");
  const char *id = json_object_get_string_member_with_default (record, "id", "");
  const MtsTableSpec *t = mts_table_lookup (table);
  gint64 version = json_object_get_int_member_with_default (record, "version", 0);
  gboolean exists;
  GError *local = NULL;

  if (t == NULL || pull_skips_table (t) || !mts_uuid_is_valid (id))
    {
      stats->skipped++;
      return TRUE;
    }
  if (has_pending (store, table, id, &local))
    {
      stats->skipped++;
      return TRUE;
    }
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (local_version (store, t, id, &exists) >= version && exists)
    return TRUE;
  if (json_object_get_boolean_member_with_default (record, "deleted", FALSE))
    {
      if (!exists)
        return TRUE;
      stats->deleted++;
      return delete_row (store, t, id, error);
    }
  stats->pulled++;
  return apply_server_record (store, t, id, record, G_MAXINT64, NULL, error);
}


static gboolean
pull (MtsStore *store, MtsSyncSession *session, const MtsSyncOptions *options,
      MtsSyncProgressFunc progress, gpointer user_data, GCancellable *cancellable,
      MtsSyncStats *stats, GError **error)
{
  gint64 cursor = state_get_int (store, CURSOR_KEY, 0), done = 0;
  guint limit = options && options->pull_limit ? options->pull_limit
              : cursor == 0 ? FIRST_PULL_LIMIT : DEFAULT_PULL_LIMIT;

  while (TRUE)
    {
      g_autofree char *path = g_strdup_printf ("/v1/sync/pull?after=%" G_GINT64_FORMAT
                                               "&limit=%u", cursor, limit);
      g_autoptr(JsonNode) answer = NULL;
      JsonObject *page;
      JsonArray *records;
      gint64 next, remaining;
      gboolean more, ok = TRUE;

      answer = mts_sync_session_request (session, "GET", path, NULL, cancellable, NULL, NULL,
                                         error);
      if (answer == NULL)
        return FALSE;
      if (!JSON_NODE_HOLDS_OBJECT (answer) ||
          (records = json_object_get_array_member (page = json_node_get_object (answer),
                                                   "records")) == NULL)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server's pull answer has no records");
          return FALSE;
        }
      next = json_object_get_int_member_with_default (page, "next", cursor);
      more = json_object_get_boolean_member_with_default (page, "more", FALSE);
      remaining = json_object_get_int_member_with_default (page, "remaining", 0);
      if (next < cursor)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server's pull cursor went backwards");
          return FALSE;
        }

      /* References may arrive after what refers to them (a client edited
       * after its notes were written comes later): foreign keys are checked
       * by the server's order of things, not page by page. */
      if (!exec_sql (store, "PRAGMA foreign_keys = OFF", error))
        return FALSE;
      if (!mts_store_begin (store, error))
        ok = FALSE;
      for (guint i = 0; ok && i < json_array_get_length (records); i++)
        {
          JsonObject *record = json_array_get_object_element (records, i);
          if (record == NULL || !apply_pulled (store, record, stats, error))
            {
              if (record == NULL)
                g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                             "a pulled record is not an object");
              ok = FALSE;
            }
        }
      if (ok)
        ok = state_set_int (store, CURSOR_KEY, next, error) && mts_store_commit (store, error);
      if (!ok)
        mts_store_rollback (store);
      exec_sql (store, "PRAGMA foreign_keys = ON", NULL);
      if (!ok)
        return FALSE;

      done += json_array_get_length (records);
      if (progress != NULL)
        progress (MTS_SYNC_PHASE_PULL, done, done + remaining, user_data);
      cursor = next;
      if (!more)
        break;
      if (cancelled (cancellable, error))
        return FALSE;
    }
  return TRUE;
}

/* --- anchor ---------------------------------------------------------------- */

static gboolean
anchor_audit_head (MtsStore *store, MtsSyncSession *session, GCancellable *cancellable,
                   GError **error)
{
  sqlite3_stmt *st = stmt_get (store, "SELECT mts_audit_head()", error);
  g_autofree char *head = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  const char *colon;
  gint64 seq;

  if (st == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    head = mts_store_column_dup (st, 0);
  stmt_release (store, st);
  if (head == NULL || (colon = strchr (head, ':')) == NULL)
    return TRUE;   /* no log yet */
  seq = g_ascii_strtoll (head, NULL, 10);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "mac");
  json_builder_add_string_value (b, colon + 1);
  json_builder_end_object (b);
  body = json_builder_get_root (b);
  answer = mts_sync_session_request (session, "POST", "/v1/audit/head", body, cancellable,
                                     NULL, NULL, error);
  if (answer == NULL)
    {
      g_prefix_error (error, "anchoring the audit log's head: ");
      return FALSE;
    }
  return TRUE;
}

/* --- one sync -------------------------------------------------------------- */

static gboolean sync_once (MtsStore *store, MtsSyncSession *session,
                           const MtsSyncOptions *options, MtsSyncProgressFunc progress,
                           gpointer user_data, GCancellable *cancellable,
                           MtsSyncStats *stats, GError **error);

gboolean
mts_sync_once (MtsStore *store, MtsSyncSession *session, const MtsSyncOptions *options,
               MtsSyncProgressFunc progress, gpointer user_data, GCancellable *cancellable,
               MtsSyncStats *stats, GError **error)
{
  gboolean ok;

  stmt_cache_install (store);
  ok = sync_once (store, session, options, progress, user_data, cancellable, stats, error);
  stmt_cache_remove (store);
  return ok;
}

static gboolean
sync_once (MtsStore *store, MtsSyncSession *session, const MtsSyncOptions *options,
           MtsSyncProgressFunc progress, gpointer user_data, GCancellable *cancellable,
           MtsSyncStats *stats, GError **error)
{
  MtsSyncStats local_stats = { 0 };
  gboolean ok;

  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);
  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  ok = push (store, session, options, progress, user_data, cancellable, stats, error) &&
       pull (store, session, options, progress, user_data, cancellable, stats, error);
  /* Clients written by the server's answers are searchable at once (the
   * store keeps their names in memory), whatever happened after. */
  if (stats->pulled + stats->deleted + stats->merged + stats->conflicts > 0 &&
      !mts_store_reload_names (store, ok ? error : NULL))
    return FALSE;
  if (!ok)
    return FALSE;
  /* Pull skipped rows with pending edits; a push made them pending no more
   * only if an edit came in meanwhile, which the next sync carries. */
  return anchor_audit_head (store, session, cancellable, error);
}

gboolean
mts_sync_with_retries (MtsStore *store, MtsSyncSession *session, const MtsSyncOptions *options,
                       guint max_attempts, MtsSyncProgressFunc progress, gpointer user_data,
                       GCancellable *cancellable, MtsSyncStats *stats, GError **error)
{
  MtsSyncStats total = { 0 };

  for (guint attempt = 0;; attempt++)
    {
      MtsSyncStats one = { 0 };
      g_autoptr(GError) local = NULL;
      gboolean ok = mts_sync_once (store, session, options, progress, user_data, cancellable,
                                   &one, &local);
      guint64 delay_ms;
      guint retry_after;

      total.pushed += one.pushed;
      total.applied += one.applied;
      total.merged += one.merged;
      total.conflicts += one.conflicts;
      total.rejected += one.rejected;
      total.duplicates += one.duplicates;
      total.pulled += one.pulled;
      total.deleted += one.deleted;
      total.skipped += one.skipped;
      if (stats != NULL)
        *stats = total;
      if (ok)
        return TRUE;
      if (attempt + 1 >= max_attempts || !mts_sync_error_is_retryable (local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      delay_ms = mts_sync_backoff_delay (attempt, 1000, 60000);
      retry_after = mts_sync_client_get_retry_after (mts_sync_session_get_client (session));
      if (retry_after > 0)
        delay_ms = MAX (delay_ms, (guint64) retry_after * 1000);
      g_message ("sync failed (%s); trying again in %.1f s", local->message, delay_ms / 1000.0);
      /* Sleep in slices, so a cancellation is noticed. */
      for (guint64 slept = 0; slept < delay_ms; slept += 100)
        {
          if (cancelled (cancellable, error))
            return FALSE;
          g_usleep (100 * 1000);
        }
    }
}
