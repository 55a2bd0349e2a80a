/*
** mts-audit.c — tamper-evident audit triggers for the mts extension.
**
** SQL functions (registered by sqlite3_mts_init):
**
**   mts_actor(NAME)          Sets who this connection's audit entries name; returns NAME.
**   mts_actor()              The current actor ('os:<user>' until set).
**   mts_audit_enable(T)      Installs insert/update/delete triggers on table T,
**        records an 'enable' entry and a 'baseline' entry per existing row.
**   mts_audit_disable(T)     Removes them, recording a 'disable' entry.
**   mts_audit_event(KIND, TARGET, DETAIL)  Appends an event that is not a row
**        change (login, export, ai-use, ...); returns its sequence number.
**   mts_audit_verify([HEAD]) 'ok', or an error naming the first bad entry; with
**        HEAD (from mts_audit_head) it also proves nothing was cut off the tail.
**   mts_audit_head()         '<seq>:<hex MAC>' of the last entry, or NULL.
**
** Used by the triggers, and so not SQLITE_DIRECTONLY:
**   mts_audit_key_id(T), mts_audit_digest(V, ...), mts_audit_mac(...).
** Each fails while the keystore is locked, so a write to an audited table
** fails rather than go unaudited.
**
** The log is the table mts_audit; each entry's MAC covers the entry and the
** previous entry's MAC (see mts-audit-chain.h).  Entries hold keyed digests
** of old and new row values, never the values themselves.
*/
#include "mts-extension-private.h"
SQLITE_EXTENSION_INIT3

#include <sodium.h>
#include <string.h>

#include "mts-audit-chain.h"
#include "mts-error.h"

#define AUDIT_SCHEMA_SQL \
  "CREATE TABLE IF NOT EXISTS mts_audit (\n" \
  "  seq INTEGER PRIMARY KEY,\n" \
  "  at TEXT NOT NULL,\n" \
  "  actor TEXT NOT NULL,\n" \
  "  action TEXT NOT NULL,\n" \
  "  target TEXT,\n" \
  "  row_id,\n" \
  "  changed_columns TEXT,\n" \
  "  old_digest BLOB,\n" \
  "  new_digest BLOB,\n" \
  "  detail,\n" \
  "  key_id INTEGER NOT NULL,\n" \
  "  mac BLOB NOT NULL\n" \
  ");\n" \
  "CREATE TRIGGER IF NOT EXISTS mts_audit_append_only_update BEFORE UPDATE ON mts_audit\n" \
  "BEGIN SELECT RAISE(ABORT, 'mts_audit is append-only: entries cannot be changed'); END;\n" \
  "CREATE TRIGGER IF NOT EXISTS mts_audit_append_only_delete BEFORE DELETE ON mts_audit\n" \
  "BEGIN SELECT RAISE(ABORT, 'mts_audit is append-only: entries cannot be deleted'); END;\n"

static const char *const reserved_actions[] = {
  "insert", "update", "delete", "enable", "disable", "baseline",
};

/* ---- helpers ---- */

static const char *
conn_actor (MtsConn *conn)
{
  if (conn->actor == NULL)
    conn->actor = g_strdup_printf ("os:%s", g_get_user_name ());
  return conn->actor;
}

static void
field_from_value (sqlite3_value *v, MtsField *f)
{
  memset (f, 0, sizeof *f);
  switch (sqlite3_value_type (v))
    {
    case SQLITE_INTEGER:
      f->type = MTS_FIELD_INTEGER;
      f->i = sqlite3_value_int64 (v);
      break;
    case SQLITE_FLOAT:
      f->type = MTS_FIELD_REAL;
      f->r = sqlite3_value_double (v);
      break;
    case SQLITE_TEXT:
      f->type = MTS_FIELD_TEXT;
      f->bytes = sqlite3_value_text (v);
      f->len = (gsize) sqlite3_value_bytes (v);
      break;
    case SQLITE_BLOB:
      f->type = MTS_FIELD_BLOB;
      f->bytes = sqlite3_value_blob (v);
      f->len = (gsize) sqlite3_value_bytes (v);
      break;
    default:
      f->type = MTS_FIELD_NULL;
      break;
    }
}

static void
field_from_column (sqlite3_stmt *st, int col, MtsField *f)
{
  field_from_value (sqlite3_column_value (st, col), f);
}

/* The audit subkey of @key_id, reloading the keyset once if needed. */
static const guint8 *
audit_key (MtsKeystore *ks, guint32 key_id)
{
  const guint8 *key = mts_keystore_subkey (ks, key_id, MTS_PURPOSE_AUDIT);

  if (key == NULL && mts_keystore_reload (ks, NULL))
    key = mts_keystore_subkey (ks, key_id, MTS_PURPOSE_AUDIT);
  return key;
}

/* Runs @sql (one or more statements) on @db; on failure sets @error. */
static gboolean
exec_sql (sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s",
                   msg ? msg : sqlite3_errmsg (db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

/* ---- the entry-appending SQL shared by triggers and C ---- */

/* Builds the INSERT that appends one entry.  Each argument is an SQL
 * expression.  The inner SELECT is not flattened (OFFSET 0), so every value
 * is computed once and the MAC covers exactly what is stored; the key id
 * comes first so a locked keystore is reported before anything else. */
static char *
entry_insert_sql (const char *target, const char *action, const char *row_id,
                  const char *columns, const char *old_digest, const char *new_digest,
                  const char *detail)
{
  return g_strdup_printf (
    "INSERT INTO mts_audit (seq, at, actor, action, target, row_id, changed_columns, "
    "old_digest, new_digest, detail, key_id, mac) "
    "SELECT s, a, w, x, t, r, c, o, n, d, k, mts_audit_mac(s, a, w, x, t, r, c, o, n, d, k, p) "
    "FROM (SELECT mts_audit_key_id(%s) AS k, "
    "coalesce((SELECT max(seq) FROM mts_audit), 0) + 1 AS s, "
    "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') AS a, mts_actor() AS w, "
    "%s AS x, %s AS t, %s AS r, %s AS c, %s AS o, %s AS n, %s AS d, "
    "(SELECT mac FROM mts_audit ORDER BY seq DESC LIMIT 1) AS p LIMIT -1 OFFSET 0)",
    target, action, target, row_id, columns, old_digest, new_digest, detail);
}

/* What the triggers of one table are generated from. */
typedef struct {
  char *table;
  char *pk;          /* a column name, or NULL for rowid */
  char **columns;    /* NULL-terminated */
} TableShape;

static void
table_shape_clear (TableShape *shape)
{
  g_clear_pointer (&shape->table, g_free);
  g_clear_pointer (&shape->pk, g_free);
  g_clear_pointer (&shape->columns, g_strfreev);
}

static char *
quote_ident (const char *name)
{
  char *q = sqlite3_mprintf ("\"%w\"", name);
  char *r = g_strdup (q);
  sqlite3_free (q);
  return r;
}

static char *
quote_literal (const char *text)
{
  char *q = sqlite3_mprintf ("%Q", text);
  char *r = g_strdup (q);
  sqlite3_free (q);
  return r;
}

static char *
row_expr (const TableShape *shape, const char *which)
{
  g_autofree char *pk = shape->pk ? quote_ident (shape->pk) : g_strdup ("rowid");
  return g_strdup_printf ("%s.%s", which, pk);
}

static char *
digest_expr (const TableShape *shape, const char *which)
{
  GString *s = g_string_new ("mts_audit_digest(");

  for (int i = 0; shape->columns[i]; i++)
    {
      g_autofree char *col = quote_ident (shape->columns[i]);
      g_string_append_printf (s, "%s%s.%s", i ? ", " : "", which, col);
    }
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static char *
trigger_name (const char *action, const char *table)
{
  return g_strdup_printf ("mts_audit_%s_%s", action, table);
}

/* The exact CREATE TRIGGER text for @action on @shape: verification
 * compares it with sqlite_schema, so it must be stable. */
static char *
trigger_sql (const TableShape *shape, const char *action)
{
  g_autofree char *name = trigger_name (action, shape->table);
  g_autofree char *qname = quote_ident (name);
  g_autofree char *qtable = quote_ident (shape->table);
  g_autofree char *target = quote_literal (shape->table);
  g_autofree char *qaction = quote_literal (action);
  g_autofree char *body = NULL;
  g_autofree char *upper = g_ascii_strup (action, -1);

  if (strcmp (action, "insert") == 0)
    {
      g_autofree char *row = row_expr (shape, "NEW");
      g_autofree char *cols_text = g_strjoinv (",", shape->columns);
      g_autofree char *cols = quote_literal (cols_text);
      g_autofree char *nd = digest_expr (shape, "NEW");
      body = entry_insert_sql (target, qaction, row, cols, "NULL", nd, "NULL");
    }
  else if (strcmp (action, "update") == 0)
    {
      g_autofree char *row = row_expr (shape, "NEW");
      g_autofree char *old_row = row_expr (shape, "OLD");
      g_autofree char *od = digest_expr (shape, "OLD");
      g_autofree char *nd = digest_expr (shape, "NEW");
      g_autofree char *detail = g_strdup_printf ("iif(%s IS NOT %s, %s, NULL)", old_row, row, old_row);
      GString *cols = g_string_new ("nullif(rtrim(");
      for (int i = 0; shape->columns[i]; i++)
        {
          g_autofree char *col = quote_ident (shape->columns[i]);
          g_autofree char *lit = g_strdup_printf ("%s,", shape->columns[i]);
          g_autofree char *qlit = quote_literal (lit);
          g_string_append_printf (cols, "%siif(OLD.%s IS NOT NEW.%s, %s, '')",
                                  i ? " || " : "", col, col, qlit);
        }
      g_string_append (cols, ", ','), '')");
      body = entry_insert_sql (target, qaction, row, cols->str, od, nd, detail);
      g_string_free (cols, TRUE);
    }
  else
    {
      g_autofree char *row = row_expr (shape, "OLD");
      g_autofree char *od = digest_expr (shape, "OLD");
      body = entry_insert_sql (target, qaction, row, "NULL", od, "NULL", "NULL");
    }
  return g_strdup_printf ("CREATE TRIGGER %s AFTER %s ON %s BEGIN %s; END",
                          qname, upper, qtable, body);
}

static const char *const trigger_actions[] = { "insert", "update", "delete" };

/* Reads the shape of @table: its columns and a usable key.  Refuses views,
 * missing tables, the log itself, and keys that are not INTEGER or TEXT. */
static gboolean
read_table_shape (sqlite3 *db, const char *table, TableShape *shape, GError **error)
{
  g_autoptr (GPtrArray) cols = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st = NULL;
  const char *type = NULL;
  int n_pk = 0;
  gboolean ok = FALSE;

  memset (shape, 0, sizeof *shape);
  if (sqlite3_prepare_v2 (db, "SELECT type FROM main.sqlite_schema WHERE name = ?1 "
                              "AND type IN ('table', 'view')", -1, &st, NULL) != SQLITE_OK)
    goto db_error;
  sqlite3_bind_text (st, 1, table, -1, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    type = (const char *) sqlite3_column_text (st, 0);
  if (type == NULL)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "no such table: %s", table);
      goto out;
    }
  if (strcmp (type, "view") == 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "%s is a view; audit a table instead", table);
      goto out;
    }
  if (strcmp (table, "mts_audit") == 0 || g_str_has_prefix (table, "sqlite_"))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "%s cannot be audited", table);
      goto out;
    }
  sqlite3_finalize (st);
  st = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT name, upper(type), pk FROM pragma_table_info(?1) ORDER BY cid",
                          -1, &st, NULL) != SQLITE_OK)
    goto db_error;
  sqlite3_bind_text (st, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (st, 0);
      const char *decl = (const char *) sqlite3_column_text (st, 1);

      if (strpbrk (name, ",\n\r\t") != NULL)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                       "column names of %s may not hold commas or line breaks", table);
          goto out;
        }
      g_ptr_array_add (cols, g_strdup (name));
      if (sqlite3_column_int (st, 2) > 0)
        {
          n_pk++;
          g_free (shape->pk);
          shape->pk = g_strdup (name);
          /* SQLite's affinity rules: INT means integer, CHAR/CLOB/TEXT text. */
          if (!strstr (decl, "INT") && !strstr (decl, "CHAR") && !strstr (decl, "CLOB")
              && !strstr (decl, "TEXT"))
            {
              g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                           "the primary key %s of %s is %s; audit needs an INTEGER or TEXT key",
                           name, table, *decl ? decl : "untyped");
              goto out;
            }
        }
    }
  if (n_pk > 1)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "%s has a primary key of %d columns; audit needs a single INTEGER or TEXT key",
                   table, n_pk);
      goto out;
    }
  g_ptr_array_add (cols, NULL);
  shape->columns = (char **) g_ptr_array_steal (cols, NULL);
  shape->table = g_strdup (table);
  ok = TRUE;
  goto out;

db_error:
  g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s", sqlite3_errmsg (db));
out:
  sqlite3_finalize (st);
  if (!ok)
    table_shape_clear (shape);
  return ok;
}

/* Whether any of @table's audit triggers exist. */
static int
count_triggers (sqlite3 *db, const char *table)
{
  sqlite3_stmt *st = NULL;
  int n = 0;

  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM main.sqlite_schema WHERE type = 'trigger' "
                              "AND tbl_name = ?1 AND name IN (?2, ?3, ?4)", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, table, -1, SQLITE_STATIC);
      for (int i = 0; i < 3; i++)
        sqlite3_bind_text (st, i + 2, trigger_name (trigger_actions[i], table), -1, g_free);
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int (st, 0);
    }
  sqlite3_finalize (st);
  return n;
}

/* Appends one entry from C through the same SQL as the triggers.  @row_id
 * and @new_digest may be NULL. */
static gboolean
append_entry (sqlite3 *db, const char *target, const char *action, sqlite3_value *row_id,
              const char *columns, const guint8 *new_digest, const char *detail, GError **error)
{
  g_autofree char *sql = entry_insert_sql ("?1", "?2", "?3", "?4", "NULL", "?5", "?6");
  sqlite3_stmt *st = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s", sqlite3_errmsg (db));
      return FALSE;
    }
  sqlite3_bind_text (st, 1, target, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, action, -1, SQLITE_STATIC);
  if (row_id)
    sqlite3_bind_value (st, 3, row_id);
  if (columns)
    sqlite3_bind_text (st, 4, columns, -1, SQLITE_STATIC);
  if (new_digest)
    sqlite3_bind_blob (st, 5, new_digest, MTS_AUDIT_DIGEST_BYTES, SQLITE_STATIC);
  if (detail)
    sqlite3_bind_text (st, 6, detail, -1, SQLITE_STATIC);
  ok = sqlite3_step (st) == SQLITE_DONE;
  if (!ok)
    g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return ok;
}

/* Builds "SELECT <key>, <col1>, ... FROM <table>" for @shape. */
static char *
select_rows_sql (const TableShape *shape)
{
  g_autofree char *qtable = quote_ident (shape->table);
  g_autofree char *key = shape->pk ? quote_ident (shape->pk) : g_strdup ("rowid");
  GString *s = g_string_new (NULL);

  g_string_printf (s, "SELECT %s", key);
  for (int i = 0; shape->columns[i]; i++)
    {
      g_autofree char *col = quote_ident (shape->columns[i]);
      g_string_append_printf (s, ", %s", col);
    }
  g_string_append_printf (s, " FROM main.%s", qtable);
  return g_string_free (s, FALSE);
}

/* Digest of the current row in @st (columns 1..n) under @key. */
static void
digest_row (sqlite3_stmt *st, const guint8 *key, guint8 out[MTS_AUDIT_DIGEST_BYTES])
{
  MtsRowDigest d;
  int n = sqlite3_column_count (st);

  mts_row_digest_init (&d, key);
  for (int i = 1; i < n; i++)
    {
      MtsField f;
      field_from_column (st, i, &f);
      mts_row_digest_add (&d, &f);
    }
  mts_row_digest_final (&d, out);
}

/* ---- SQL functions ---- */

/* mts_actor([NAME]) */
static void
actor_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);

  if (argc == 1)
    {
      const char *name;
      if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
        {
          g_clear_pointer (&conn->actor, g_free);
          sqlite3_result_text (ctx, conn_actor (conn), -1, SQLITE_TRANSIENT);
          return;
        }
      if ((name = mts_require_text (ctx, "mts_actor", argv[0], "the actor")) == NULL)
        return;
      g_free (conn->actor);
      conn->actor = g_strdup (name);
    }
  sqlite3_result_text (ctx, conn_actor (conn), -1, SQLITE_TRANSIENT);
}

/* mts_audit_key_id(TABLE): the primary key id; fails while locked. */
static void
audit_key_id_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  const char *target = (const char *) sqlite3_value_text (argv[0]);

  if (conn->ks == NULL)
    {
      mts_result_errorf (ctx, "mts_audit: %s is audited and the keystore is locked; "
                              "unlock it before writing", target ? target : "this table");
      return;
    }
  sqlite3_result_int64 (ctx, mts_keystore_primary_id (conn->ks));
}

/* mts_audit_digest(V, ...): keyed digest of a row's values. */
static void
audit_digest_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  MtsRowDigest d;
  guint8 out[MTS_AUDIT_DIGEST_BYTES];

  if ((ks = mts_require_unlocked (ctx, "mts_audit_digest")) == NULL)
    return;
  mts_row_digest_init (&d, mts_keystore_subkey (ks, mts_keystore_primary_id (ks), MTS_PURPOSE_AUDIT));
  for (int i = 0; i < argc; i++)
    {
      MtsField f;
      field_from_value (argv[i], &f);
      mts_row_digest_add (&d, &f);
    }
  mts_row_digest_final (&d, out);
  sqlite3_result_blob (ctx, out, sizeof out, SQLITE_TRANSIENT);
}

/* mts_audit_mac(seq, at, actor, action, target, row_id, columns, old, new, detail, key_id, prev) */
static void
audit_mac_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  MtsField fields[MTS_AUDIT_N_FIELDS];
  const guint8 *key, *prev = NULL;
  guint8 mac[MTS_AUDIT_MAC_BYTES];
  sqlite3_int64 key_id = sqlite3_value_int64 (argv[10]);

  if ((ks = mts_require_unlocked (ctx, "mts_audit_mac")) == NULL)
    return;
  key = key_id > 0 && key_id <= G_MAXUINT32 ? audit_key (ks, (guint32) key_id) : NULL;
  if (key == NULL)
    {
      mts_result_errorf (ctx, "mts_audit_mac: no key id %lld", (long long) key_id);
      return;
    }
  if (sqlite3_value_type (argv[11]) != SQLITE_NULL)
    {
      if (sqlite3_value_bytes (argv[11]) != MTS_AUDIT_MAC_BYTES)
        {
          mts_result_errorf (ctx, "mts_audit_mac: the previous entry's MAC is malformed");
          return;
        }
      prev = sqlite3_value_blob (argv[11]);
    }
  for (int i = 0; i < MTS_AUDIT_N_FIELDS; i++)
    field_from_value (argv[1 + i], &fields[i]);
  mts_audit_chain_mac (key, (guint64) sqlite3_value_int64 (argv[0]), fields, (guint32) key_id,
                       prev, mac);
  sqlite3_result_blob (ctx, mac, sizeof mac, SQLITE_TRANSIENT);
}

/* mts_audit_enable(TABLE) */
static void
audit_enable_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  sqlite3 *db = sqlite3_context_db_handle (ctx);
  TableShape shape = { 0 };
  GError *error = NULL;
  const char *table;
  sqlite3_stmt *st = NULL;
  g_autofree char *select_sql = NULL;
  g_autofree char *cols = NULL;
  MtsKeystore *ks;
  int rc;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((table = mts_require_text (ctx, "mts_audit_enable", argv[0], "the table")) == NULL)
    return;
  if ((ks = mts_require_unlocked (ctx, "mts_audit_enable")) == NULL)
    return;
  if (!read_table_shape (db, table, &shape, &error))
    {
      mts_result_gerror (ctx, "mts_audit_enable", error);
      return;
    }
  if (count_triggers (db, table) > 0)
    {
      mts_result_errorf (ctx, "mts_audit_enable: audit is already enabled on %s", table);
      table_shape_clear (&shape);
      return;
    }
  if (!exec_sql (db, "SAVEPOINT mts_audit_enable", &error))
    goto fail;
  if (!exec_sql (db, AUDIT_SCHEMA_SQL, &error))
    goto rollback;
  for (gsize i = 0; i < G_N_ELEMENTS (trigger_actions); i++)
    {
      g_autofree char *sql = trigger_sql (&shape, trigger_actions[i]);
      if (!exec_sql (db, sql, &error))
        goto rollback;
    }
  cols = g_strjoinv (",", shape.columns);
  if (!append_entry (db, table, "enable", NULL, cols, NULL, shape.pk ? shape.pk : "rowid", &error))
    goto rollback;

  /* A baseline entry per existing row, so verification knows every row. */
  select_sql = select_rows_sql (&shape);
  if (sqlite3_prepare_v2 (db, select_sql, -1, &st, NULL) != SQLITE_OK)
    {
      g_set_error (&error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s", sqlite3_errmsg (db));
      goto rollback;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      guint8 digest[MTS_AUDIT_DIGEST_BYTES];
      digest_row (st, mts_keystore_subkey (ks, mts_keystore_primary_id (ks), MTS_PURPOSE_AUDIT), digest);
      if (!append_entry (db, table, "baseline", sqlite3_column_value (st, 0), NULL, digest, NULL, &error))
        goto rollback;
    }
  if (rc != SQLITE_DONE)
    {
      g_set_error (&error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID, "%s", sqlite3_errmsg (db));
      goto rollback;
    }
  sqlite3_finalize (st);
  st = NULL;
  if (!exec_sql (db, "RELEASE mts_audit_enable", &error))
    goto rollback;
  table_shape_clear (&shape);
  sqlite3_result_int (ctx, 1);
  return;

rollback:
  sqlite3_finalize (st);
  exec_sql (db, "ROLLBACK TO mts_audit_enable; RELEASE mts_audit_enable", NULL);
fail:
  table_shape_clear (&shape);
  mts_result_gerror (ctx, "mts_audit_enable", error);
}

/* mts_audit_disable(TABLE) */
static void
audit_disable_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  sqlite3 *db = sqlite3_context_db_handle (ctx);
  GError *error = NULL;
  const char *table;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((table = mts_require_text (ctx, "mts_audit_disable", argv[0], "the table")) == NULL)
    return;
  if (mts_require_unlocked (ctx, "mts_audit_disable") == NULL)
    return;
  if (count_triggers (db, table) == 0)
    {
      mts_result_errorf (ctx, "mts_audit_disable: audit is not enabled on %s", table);
      return;
    }
  if (!exec_sql (db, "SAVEPOINT mts_audit_disable", &error))
    goto fail;
  for (gsize i = 0; i < G_N_ELEMENTS (trigger_actions); i++)
    {
      g_autofree char *name = trigger_name (trigger_actions[i], table);
      g_autofree char *qname = quote_ident (name);
      g_autofree char *sql = g_strdup_printf ("DROP TRIGGER IF EXISTS main.%s", qname);
      if (!exec_sql (db, sql, &error))
        goto rollback;
    }
  if (!append_entry (db, table, "disable", NULL, NULL, NULL, NULL, &error)
      || !exec_sql (db, "RELEASE mts_audit_disable", &error))
    goto rollback;
  sqlite3_result_int (ctx, 1);
  return;

rollback:
  exec_sql (db, "ROLLBACK TO mts_audit_disable; RELEASE mts_audit_disable", NULL);
fail:
  mts_result_gerror (ctx, "mts_audit_disable", error);
}

/* mts_audit_event(KIND, TARGET, DETAIL) */
static void
audit_event_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  sqlite3 *db = sqlite3_context_db_handle (ctx);
  GError *error = NULL;
  const char *kind, *target, *detail;

  if ((kind = mts_require_text (ctx, "mts_audit_event", argv[0], "the kind")) == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (reserved_actions); i++)
    if (strcmp (kind, reserved_actions[i]) == 0)
      {
        mts_result_errorf (ctx, "mts_audit_event: '%s' is reserved for row changes", kind);
        return;
      }
  target = (const char *) sqlite3_value_text (argv[1]);
  detail = (const char *) sqlite3_value_text (argv[2]);
  if (mts_require_unlocked (ctx, "mts_audit_event") == NULL)
    return;
  if (!exec_sql (db, AUDIT_SCHEMA_SQL, &error)
      || !append_entry (db, target, kind, NULL, NULL, NULL, detail, &error))
    {
      mts_result_gerror (ctx, "mts_audit_event", error);
      return;
    }
  sqlite3_result_int64 (ctx, sqlite3_last_insert_rowid (db));
}

static gboolean
audit_table_exists (sqlite3 *db)
{
  sqlite3_stmt *st = NULL;
  gboolean found = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' "
                              "AND name = 'mts_audit'", -1, &st, NULL) == SQLITE_OK)
    found = sqlite3_step (st) == SQLITE_ROW;
  sqlite3_finalize (st);
  return found;
}

/* mts_audit_head() */
static void
audit_head_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  sqlite3 *db = sqlite3_context_db_handle (ctx);
  sqlite3_stmt *st = NULL;
  char hex[MTS_AUDIT_MAC_BYTES * 2 + 1];

  if (!audit_table_exists (db))
    return;
  if (sqlite3_prepare_v2 (db, "SELECT seq, mac FROM main.mts_audit ORDER BY seq DESC LIMIT 1",
                          -1, &st, NULL) != SQLITE_OK)
    {
      mts_result_errorf (ctx, "mts_audit_head: %s", sqlite3_errmsg (db));
      return;
    }
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_bytes (st, 1) == MTS_AUDIT_MAC_BYTES)
    {
      char *head;
      sodium_bin2hex (hex, sizeof hex, sqlite3_column_blob (st, 1), MTS_AUDIT_MAC_BYTES);
      head = sqlite3_mprintf ("%lld:%s", (long long) sqlite3_column_int64 (st, 0), hex);
      sqlite3_result_text (ctx, head, -1, sqlite3_free);
    }
  sqlite3_finalize (st);
}

/* ---- verification ---- */

typedef struct {
  guint32 key_id;
  guint8 digest[MTS_AUDIT_DIGEST_BYTES];
} RowState;

typedef struct {
  TableShape shape;
  GHashTable *rows;   /* row key -> RowState */
} TableState;

static void
table_state_free (gpointer p)
{
  TableState *t = p;

  table_shape_clear (&t->shape);
  g_hash_table_unref (t->rows);
  g_free (t);
}

/* A printable, typed key for a row id value. */
static char *
row_key (sqlite3_value *v)
{
  switch (sqlite3_value_type (v))
    {
    case SQLITE_INTEGER:
      return g_strdup_printf ("i%lld", (long long) sqlite3_value_int64 (v));
    case SQLITE_NULL:
      return g_strdup ("n");
    default:
      return g_strdup_printf ("t%s", (const char *) sqlite3_value_text (v));
    }
}

static const char *
row_label (const char *key)
{
  return key + 1;
}

typedef struct {
  sqlite3 *db;
  MtsKeystore *ks;
  GHashTable *tables;   /* name -> TableState, for tables with audit enabled */
  char *error;          /* first problem found */
} Verify;

static gboolean
verify_fail (Verify *v, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
verify_fail (Verify *v, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  v->error = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return FALSE;
}

/* Applies one verified entry to the model of what each audited table holds. */
static void
track_entry (Verify *v, const char *action, const char *target, sqlite3_value *row_id,
             const char *columns, sqlite3_value *new_digest, sqlite3_value *detail, guint32 key_id)
{
  TableState *t;

  if (target == NULL)
    return;
  if (strcmp (action, "enable") == 0)
    {
      t = g_new0 (TableState, 1);
      t->shape.table = g_strdup (target);
      const char *pk = (const char *) sqlite3_value_text (detail);
      t->shape.pk = pk && strcmp (pk, "rowid") != 0 ? g_strdup (pk) : NULL;
      t->shape.columns = g_strsplit (columns ? columns : "", ",", -1);
      t->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_replace (v->tables, g_strdup (target), t);
      return;
    }
  if (strcmp (action, "disable") == 0)
    {
      g_hash_table_remove (v->tables, target);
      return;
    }
  t = g_hash_table_lookup (v->tables, target);
  if (t == NULL)
    return;
  if (strcmp (action, "delete") == 0)
    {
      g_autofree char *key = row_key (row_id);
      g_hash_table_remove (t->rows, key);
    }
  else if (strcmp (action, "insert") == 0 || strcmp (action, "update") == 0
           || strcmp (action, "baseline") == 0)
    {
      RowState *rs = g_new0 (RowState, 1);

      if (strcmp (action, "update") == 0 && sqlite3_value_type (detail) != SQLITE_NULL)
        {
          g_autofree char *old_key = row_key (detail);
          g_hash_table_remove (t->rows, old_key);
        }
      rs->key_id = key_id;
      if (sqlite3_value_bytes (new_digest) == MTS_AUDIT_DIGEST_BYTES)
        memcpy (rs->digest, sqlite3_value_blob (new_digest), MTS_AUDIT_DIGEST_BYTES);
      g_hash_table_replace (t->rows, row_key (row_id), rs);
    }
}

/* Walks the chain; records the MAC of entry @head_seq into @head_mac. */
static gboolean
verify_chain (Verify *v, gint64 head_seq, guint8 *head_mac, gboolean *head_found, gint64 *last)
{
  sqlite3_stmt *st = NULL;
  guint8 prev[MTS_AUDIT_MAC_BYTES];
  gboolean have_prev = FALSE;
  gint64 expected = 1;
  int rc;

  if (sqlite3_prepare_v2 (v->db, "SELECT seq, at, actor, action, target, row_id, changed_columns, "
                                 "old_digest, new_digest, detail, key_id, mac "
                                 "FROM main.mts_audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return verify_fail (v, "cannot read the audit log: %s", sqlite3_errmsg (v->db));
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 seq = sqlite3_column_int64 (st, 0);
      sqlite3_int64 key_id = sqlite3_column_int64 (st, 10);
      const char *action = (const char *) sqlite3_column_text (st, 3);
      const char *target = (const char *) sqlite3_column_text (st, 4);
      MtsField fields[MTS_AUDIT_N_FIELDS];
      guint8 mac[MTS_AUDIT_MAC_BYTES];
      const guint8 *key;
      g_autofree char *what = NULL;

      {
        g_autofree char *rk = row_key (sqlite3_column_value (st, 5));
        what = sqlite3_column_type (st, 5) == SQLITE_NULL
          ? g_strdup_printf ("%s %s", action ? action : "?", target ? target : "")
          : g_strdup_printf ("%s on %s row %s", action ? action : "?", target ? target : "?",
                             row_label (rk));
      }
      if (seq != expected)
        {
          sqlite3_finalize (st);
          if (seq > expected)
            return verify_fail (v, "entry %" G_GINT64_FORMAT " is missing (the next entry is %"
                                G_GINT64_FORMAT "): entries were deleted", expected, seq);
          return verify_fail (v, "entry %" G_GINT64_FORMAT " is out of sequence", seq);
        }
      key = key_id > 0 && key_id <= G_MAXUINT32 ? audit_key (v->ks, (guint32) key_id) : NULL;
      if (key == NULL)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "entry %" G_GINT64_FORMAT " (%s) names key id %lld, which the "
                              "keystore does not hold", seq, what, (long long) key_id);
        }
      for (int i = 0; i < MTS_AUDIT_N_FIELDS; i++)
        field_from_column (st, 1 + i, &fields[i]);
      mts_audit_chain_mac (key, (guint64) seq, fields, (guint32) key_id, have_prev ? prev : NULL, mac);
      if (sqlite3_column_bytes (st, 11) != MTS_AUDIT_MAC_BYTES
          || sodium_memcmp (mac, sqlite3_column_blob (st, 11), MTS_AUDIT_MAC_BYTES) != 0)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "entry %" G_GINT64_FORMAT " (%s): MAC does not verify: the entry "
                              "was edited, swapped or forged", seq, what);
        }
      if (action == NULL)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "entry %" G_GINT64_FORMAT " has no action", seq);
        }
      track_entry (v, action, target, sqlite3_column_value (st, 5),
                   (const char *) sqlite3_column_text (st, 6), sqlite3_column_value (st, 8),
                   sqlite3_column_value (st, 9), (guint32) key_id);
      memcpy (prev, mac, MTS_AUDIT_MAC_BYTES);
      have_prev = TRUE;
      if (seq == head_seq)
        {
          memcpy (head_mac, mac, MTS_AUDIT_MAC_BYTES);
          *head_found = TRUE;
        }
      expected++;
    }
  sqlite3_finalize (st);
  *last = expected - 1;
  if (rc != SQLITE_DONE)
    return verify_fail (v, "cannot read the audit log: %s", sqlite3_errmsg (v->db));
  return TRUE;
}

/* Checks an audited table: its triggers are ours, unaltered, and each row
 * matches its last audit entry. */
static gboolean
verify_table (Verify *v, TableState *t)
{
  g_autofree char *select_sql = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *st = NULL;
  GHashTableIter iter;
  gpointer key;
  int rc;

  for (gsize i = 0; i < G_N_ELEMENTS (trigger_actions); i++)
    {
      g_autofree char *name = trigger_name (trigger_actions[i], t->shape.table);
      g_autofree char *expected = trigger_sql (&t->shape, trigger_actions[i]);
      const char *found = NULL;

      if (sqlite3_prepare_v2 (v->db, "SELECT sql FROM main.sqlite_schema WHERE type = 'trigger' "
                                     "AND name = ?1", -1, &st, NULL) != SQLITE_OK)
        return verify_fail (v, "%s", sqlite3_errmsg (v->db));
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      if (sqlite3_step (st) == SQLITE_ROW)
        found = (const char *) sqlite3_column_text (st, 0);
      if (found == NULL || strcmp (found, expected) != 0)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "the %s trigger of audited table %s is %s", trigger_actions[i],
                              t->shape.table, found ? "altered" : "missing (dropped outside mts_audit_disable)");
        }
      sqlite3_finalize (st);
      st = NULL;
    }

  select_sql = select_rows_sql (&t->shape);
  if (sqlite3_prepare_v2 (v->db, select_sql, -1, &st, NULL) != SQLITE_OK)
    return verify_fail (v, "cannot read audited table %s: %s", t->shape.table, sqlite3_errmsg (v->db));
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autofree char *k = row_key (sqlite3_column_value (st, 0));
      RowState *rs = g_hash_table_lookup (t->rows, k);
      guint8 digest[MTS_AUDIT_DIGEST_BYTES];
      const guint8 *akey;

      if (rs == NULL)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "row %s of %s has no audit entry: it was written while the "
                              "audit triggers were off", row_label (k), t->shape.table);
        }
      akey = audit_key (v->ks, rs->key_id);
      if (akey == NULL)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "row %s of %s: key id %u is not in the keystore", row_label (k),
                              t->shape.table, rs->key_id);
        }
      digest_row (st, akey, digest);
      if (sodium_memcmp (digest, rs->digest, MTS_AUDIT_DIGEST_BYTES) != 0)
        {
          sqlite3_finalize (st);
          return verify_fail (v, "row %s of %s does not match its last audit entry: it was "
                              "changed without one", row_label (k), t->shape.table);
        }
      g_hash_table_add (seen, g_hash_table_lookup_extended (t->rows, k, &key, NULL) ? key : NULL);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return verify_fail (v, "cannot read audited table %s: %s", t->shape.table, sqlite3_errmsg (v->db));
  g_hash_table_iter_init (&iter, t->rows);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (seen, key))
      return verify_fail (v, "row %s of %s was deleted without an audit entry",
                          row_label (key), t->shape.table);
  return TRUE;
}

/* Every table carrying audit triggers must have been enabled in the log;
 * otherwise the log lost its beginning. */
static gboolean
verify_untracked (Verify *v)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (v->db, "SELECT tbl_name FROM main.sqlite_schema WHERE type = 'trigger' "
                                 "AND name IN ('mts_audit_insert_' || tbl_name, "
                                 "'mts_audit_update_' || tbl_name, 'mts_audit_delete_' || tbl_name)",
                          -1, &st, NULL) != SQLITE_OK)
    return verify_fail (v, "%s", sqlite3_errmsg (v->db));
  while (ok && sqlite3_step (st) == SQLITE_ROW)
    {
      const char *table = (const char *) sqlite3_column_text (st, 0);
      if (!g_hash_table_contains (v->tables, table))
        ok = verify_fail (v, "%s carries audit triggers but the log holds no 'enable' for it: "
                          "entries were removed", table);
    }
  sqlite3_finalize (st);
  return ok;
}

static gboolean
parse_head (const char *text, gint64 *seq, guint8 mac[MTS_AUDIT_MAC_BYTES])
{
  const char *colon = text ? strchr (text, ':') : NULL;
  char *end = NULL;
  gsize bin_len = 0;

  if (colon == NULL)
    return FALSE;
  *seq = g_ascii_strtoll (text, &end, 10);
  if (end != colon || *seq <= 0)
    return FALSE;
  return strlen (colon + 1) == MTS_AUDIT_MAC_BYTES * 2
         && sodium_hex2bin (mac, MTS_AUDIT_MAC_BYTES, colon + 1, MTS_AUDIT_MAC_BYTES * 2,
                            NULL, &bin_len, NULL) == 0
         && bin_len == MTS_AUDIT_MAC_BYTES;
}

/* mts_audit_verify([EXPECTED_HEAD]) */
static void
audit_verify_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  Verify v = { 0 };
  gint64 head_seq = 0, last = 0;
  guint8 head_mac[MTS_AUDIT_MAC_BYTES], found_mac[MTS_AUDIT_MAC_BYTES];
  gboolean head_found = FALSE, ok = TRUE;
  GHashTableIter iter;
  gpointer value;

  v.db = sqlite3_context_db_handle (ctx);
  if (argc == 1 && sqlite3_value_type (argv[0]) != SQLITE_NULL
      && !parse_head ((const char *) sqlite3_value_text (argv[0]), &head_seq, head_mac))
    {
      mts_result_errorf (ctx, "mts_audit_verify: the expected head must look like "
                              "'<seq>:<64 hex digits>', as mts_audit_head() returns");
      return;
    }
  if ((v.ks = mts_require_unlocked (ctx, "mts_audit_verify")) == NULL)
    return;
  if (!audit_table_exists (v.db))
    {
      mts_result_errorf (ctx, "mts_audit_verify: this database has no audit log");
      return;
    }
  v.tables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, table_state_free);
  ok = verify_chain (&v, head_seq, found_mac, &head_found, &last);
  if (ok && head_seq > 0)
    {
      if (!head_found)
        ok = verify_fail (&v, "the log ends at entry %" G_GINT64_FORMAT " but the expected head is "
                          "entry %" G_GINT64_FORMAT ": entries were cut off the tail", last, head_seq);
      else if (sodium_memcmp (found_mac, head_mac, MTS_AUDIT_MAC_BYTES) != 0)
        ok = verify_fail (&v, "entry %" G_GINT64_FORMAT " differs from the expected head: the log "
                          "was rewritten", head_seq);
    }
  if (ok)
    ok = verify_untracked (&v);
  g_hash_table_iter_init (&iter, v.tables);
  while (ok && g_hash_table_iter_next (&iter, NULL, &value))
    ok = verify_table (&v, value);
  if (ok)
    {
      int guards = 0;
      sqlite3_stmt *st = NULL;
      if (sqlite3_prepare_v2 (v.db, "SELECT count(*) FROM main.sqlite_schema WHERE type = 'trigger' "
                                    "AND name IN ('mts_audit_append_only_update', "
                                    "'mts_audit_append_only_delete')", -1, &st, NULL) == SQLITE_OK
          && sqlite3_step (st) == SQLITE_ROW)
        guards = sqlite3_column_int (st, 0);
      sqlite3_finalize (st);
      if (guards != 2)
        ok = verify_fail (&v, "the append-only guard triggers on mts_audit were dropped");
    }
  g_hash_table_unref (v.tables);
  if (ok)
    sqlite3_result_text (ctx, "ok", -1, SQLITE_STATIC);
  else
    mts_result_errorf (ctx, "mts_audit_verify: %s", v.error);
  g_free (v.error);
}

int
mts_audit_register (sqlite3 *db, MtsConn *conn)
{
  static const struct {
    const char *name;
    int n_arg;
    int flags;
    void (*func) (sqlite3_context *, int, sqlite3_value **);
  } functions[] = {
    { "mts_actor", 1, SQLITE_DIRECTONLY, actor_func },
    { "mts_actor", 0, 0, actor_func },
    { "mts_audit_enable", 1, SQLITE_DIRECTONLY, audit_enable_func },
    { "mts_audit_disable", 1, SQLITE_DIRECTONLY, audit_disable_func },
    { "mts_audit_event", 3, SQLITE_DIRECTONLY, audit_event_func },
    { "mts_audit_verify", 0, SQLITE_DIRECTONLY, audit_verify_func },
    { "mts_audit_verify", 1, SQLITE_DIRECTONLY, audit_verify_func },
    { "mts_audit_head", 0, 0, audit_head_func },
    /* Called by the audit triggers: these cannot be direct-only. */
    { "mts_audit_key_id", 1, 0, audit_key_id_func },
    { "mts_audit_digest", -1, 0, audit_digest_func },
    { "mts_audit_mac", 12, 0, audit_mac_func },
  };
  int rc = SQLITE_OK;

  for (gsize i = 0; rc == SQLITE_OK && i < G_N_ELEMENTS (functions); i++)
    {
      conn->refs++;
      rc = sqlite3_create_function_v2 (db, functions[i].name, functions[i].n_arg,
                                       SQLITE_UTF8 | functions[i].flags, conn,
                                       functions[i].func, NULL, NULL, mts_conn_unref);
    }
  return rc;
}
