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
** Used by the triggers, and so not SQLITE_DIRECTONLY (internal; see
** entry_insert_sql): mts_audit_begin, mts_audit_seq, mts_audit_key_id,
** mts_audit_digest, mts_audit_set_digest, mts_audit_mac.
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
#include <time.h>

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

/* Builds the INSERT that appends one entry; each argument is an SQL
 * expression.  Each value is computed once: mts_audit_begin() opens the
 * entry in the connection's state (number, previous MAC, time, key id) and
 * returns its time, mts_audit_digest() records the digests it returns
 * there, mts_audit_mac() MACs exactly what is stored, and mts_audit_seq()
 * hands over the entry's number.  SQLite computes the values of ordinary
 * columns in table order and the INTEGER PRIMARY KEY last; each function
 * checks that the one before it ran, so a change in that order fails
 * loudly instead of writing a bad entry.  mts_audit_begin() gets the last
 * entry's number and MAC from one subquery: max(seq) with the bare column
 * mac, which SQLite answers from the end of the table (the min/max
 * optimisation) and which gives the MAC of the row holding that maximum.  A locked keystore is reported
 * before anything is computed.  It is a VALUES insert, not INSERT ...
 * SELECT: reading mts_audit in a SELECT that inserts into it makes SQLite
 * materialise the row in a temporary table first, which tripled the cost
 * of an audited write. */
static char *
entry_insert_sql (const char *target, const char *action, const char *row_id,
                  const char *columns, const char *old_digest, const char *new_digest,
                  const char *detail)
{
  return g_strdup_printf (
    "INSERT INTO mts_audit (seq, at, actor, action, target, row_id, changed_columns, "
    "old_digest, new_digest, detail, key_id, mac) VALUES (mts_audit_seq(), "
    "(SELECT mts_audit_begin(%s, max(seq), mac) FROM mts_audit), "
    "mts_actor(), %s, %s, %s, %s, %s, %s, %s, mts_audit_key_id(), "
    "mts_audit_mac(%s, %s, %s, %s, %s))",
    target, action, target, row_id, columns, old_digest, new_digest, detail,
    action, target, row_id, columns, detail);
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
  GString *s = g_string_new (NULL);

  g_string_printf (s, "mts_audit_digest(%d", strcmp (which, "OLD") == 0 ? 1 : 2);

  for (int i = 0; shape->columns[i]; i++)
    {
      g_autofree char *col = quote_ident (shape->columns[i]);
      g_string_append_printf (s, ", %s.%s", which, col);
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
  g_autofree char *sql = entry_insert_sql ("?1", "?2", "?3", "?4", "NULL",
                                          "mts_audit_set_digest(2, ?5)", "?6");
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

/* mts_audit_begin(TARGET, LAST_SEQ, LAST_MAC): opens an entry, returns its
 * time.  Fails while locked, naming the audited table. */
static void
audit_begin_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  MtsAuditPending *e = &conn->pending;
  const char *target = (const char *) sqlite3_value_text (argv[0]);
  gint64 now;
  time_t secs;
  struct tm tm;

  if (conn->ks == NULL)
    {
      mts_result_errorf (ctx, "mts_audit: %s is audited and the keystore is locked; "
                              "unlock it before writing", target ? target : "this table");
      return;
    }
  memset (e, 0, sizeof *e);
  e->seq = sqlite3_value_int64 (argv[1]) + 1;
  if (sqlite3_value_type (argv[2]) != SQLITE_NULL)
    {
      if (sqlite3_value_bytes (argv[2]) != MTS_AUDIT_MAC_BYTES)
        {
          mts_result_errorf (ctx, "mts_audit: the last entry's MAC is malformed; "
                                  "run mts_audit_verify()");
          return;
        }
      memcpy (e->prev_mac, sqlite3_value_blob (argv[2]), MTS_AUDIT_MAC_BYTES);
      e->has_prev = TRUE;
    }
  else if (e->seq != 1)
    {
      mts_result_errorf (ctx, "mts_audit: entry %lld has no MAC; run mts_audit_verify()",
                         (long long) e->seq - 1);
      return;
    }
  mts_keystore_refresh (conn->ks);
  e->key_id = mts_keystore_primary_id (conn->ks);
  /* UTC time to the millisecond; the date and time up to the second are
   * formatted once a second, which was a tenth of an audited write. */
  now = g_get_real_time ();
  secs = (time_t) (now / G_USEC_PER_SEC);
  if (secs != conn->at_secs || conn->at_prefix[0] == '\0')
    {
      gmtime_r (&secs, &tm);
      g_snprintf (conn->at_prefix, sizeof conn->at_prefix, "%04d-%02d-%02dT%02d:%02d:%02d.",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      conn->at_secs = secs;
    }
  {
    int ms = (int) (now % G_USEC_PER_SEC / 1000);
    gsize n = strlen (conn->at_prefix);

    memcpy (e->at, conn->at_prefix, n);
    e->at[n] = (char) ('0' + ms / 100);
    e->at[n + 1] = (char) ('0' + ms / 10 % 10);
    e->at[n + 2] = (char) ('0' + ms % 10);
    e->at[n + 3] = 'Z';
    e->at[n + 4] = '\0';
  }
  e->open = TRUE;
  sqlite3_result_text (ctx, e->at, -1, SQLITE_TRANSIENT);
}

/* The prepared hash states of the open entry's key. */
static const MtsAuditKeyState *
pending_key_state (MtsConn *conn)
{
  guint32 key_id = conn->pending.key_id;

  if (conn->audit_state == NULL || conn->audit_state_key_id != key_id)
    {
      if (conn->audit_state == NULL)
        conn->audit_state = sodium_malloc (sizeof *conn->audit_state);
      if (conn->audit_state == NULL)
        return NULL;
      mts_audit_key_state_init (conn->audit_state,
                                mts_keystore_subkey (conn->ks, key_id, MTS_PURPOSE_AUDIT));
      conn->audit_state_key_id = key_id;
    }
  return conn->audit_state;
}

static MtsAuditPending *
require_open_entry (sqlite3_context *ctx, const char *fn)
{
  MtsConn *conn = sqlite3_user_data (ctx);

  if (!conn->pending.open || conn->ks == NULL)
    {
      mts_result_errorf (ctx, "%s: no audit entry is open (only the audit triggers call this)", fn);
      return NULL;
    }
  return &conn->pending;
}

/* mts_audit_seq(): the number of the entry just MACed; closes it. */
static void
audit_seq_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  MtsAuditPending *e = &conn->pending;

  if (!e->macked)
    {
      mts_result_errorf (ctx, "mts_audit_seq: no audit entry is complete (only the audit "
                              "triggers call this)");
      return;
    }
  e->macked = FALSE;
  sqlite3_result_int64 (ctx, e->seq);
}

/* mts_audit_key_id(): the open entry's key id. */
static void
audit_key_id_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsAuditPending *e = require_open_entry (ctx, "mts_audit_key_id");

  if (e != NULL)
    sqlite3_result_int64 (ctx, e->key_id);
}

/* mts_audit_digest(SLOT, V, ...): keyed digest of a row's values; SLOT 1
 * is the old row, 2 the new one. */
static void
audit_digest_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  MtsAuditPending *e = require_open_entry (ctx, "mts_audit_digest");
  const MtsAuditKeyState *state;
  int slot;

  if (e == NULL)
    return;
  slot = argc > 0 ? sqlite3_value_int (argv[0]) : 0;
  if (slot != 1 && slot != 2)
    {
      mts_result_errorf (ctx, "mts_audit_digest: slot must be 1 (old) or 2 (new)");
      return;
    }
  state = pending_key_state (conn);
  if (state == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  {
    MtsField stack_values[32];
    MtsField *values = argc - 1 <= 32 ? stack_values : g_new (MtsField, argc - 1);

    for (int i = 1; i < argc; i++)
      field_from_value (argv[i], &values[i - 1]);
    mts_row_digest_compute (state, values, (gsize) argc - 1, e->digest[slot - 1]);
    if (values != stack_values)
      g_free (values);
  }
  e->has_digest[slot - 1] = TRUE;
  sqlite3_result_blob (ctx, e->digest[slot - 1], MTS_AUDIT_DIGEST_BYTES, SQLITE_TRANSIENT);
}

/* mts_audit_set_digest(SLOT, DIGEST): a digest computed in C (baselines). */
static void
audit_set_digest_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsAuditPending *e = require_open_entry (ctx, "mts_audit_set_digest");
  int slot = sqlite3_value_int (argv[0]);

  if (e == NULL)
    return;
  if (sqlite3_value_type (argv[1]) == SQLITE_NULL)
    return;
  if ((slot != 1 && slot != 2) || sqlite3_value_bytes (argv[1]) != MTS_AUDIT_DIGEST_BYTES)
    {
      mts_result_errorf (ctx, "mts_audit_set_digest: a 16-byte digest for slot 1 or 2 is needed");
      return;
    }
  memcpy (e->digest[slot - 1], sqlite3_value_blob (argv[1]), MTS_AUDIT_DIGEST_BYTES);
  e->has_digest[slot - 1] = TRUE;
  sqlite3_result_value (ctx, argv[1]);
}

/* mts_audit_mac(ACTION, TARGET, ROW_ID, COLUMNS, DETAIL): the MAC of the open
 * entry, chained to the previous one; leaves it for mts_audit_seq(). */
static void
audit_mac_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  MtsAuditPending *e = require_open_entry (ctx, "mts_audit_mac");
  const MtsAuditKeyState *state;
  MtsField fields[MTS_AUDIT_N_FIELDS];
  const char *actor;
  guint8 mac[MTS_AUDIT_MAC_BYTES];

  if (e == NULL)
    return;
  actor = conn_actor (conn);
  memset (fields, 0, sizeof fields);
  fields[MTS_AUDIT_AT] = (MtsField) { .type = MTS_FIELD_TEXT, .bytes = e->at, .len = strlen (e->at) };
  fields[MTS_AUDIT_ACTOR] = (MtsField) { .type = MTS_FIELD_TEXT, .bytes = actor, .len = strlen (actor) };
  field_from_value (argv[0], &fields[MTS_AUDIT_ACTION]);
  field_from_value (argv[1], &fields[MTS_AUDIT_TARGET]);
  field_from_value (argv[2], &fields[MTS_AUDIT_ROW_ID]);
  field_from_value (argv[3], &fields[MTS_AUDIT_COLUMNS]);
  for (int i = 0; i < 2; i++)
    if (e->has_digest[i])
      fields[MTS_AUDIT_OLD_DIGEST + i] = (MtsField) { .type = MTS_FIELD_BLOB, .bytes = e->digest[i],
                                                      .len = MTS_AUDIT_DIGEST_BYTES };
  field_from_value (argv[4], &fields[MTS_AUDIT_DETAIL]);
  state = pending_key_state (conn);
  if (state == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  mts_audit_chain_mac_from (state, (guint64) e->seq, fields, e->key_id,
                            e->has_prev ? e->prev_mac : NULL, mac);
  e->open = FALSE;
  e->macked = TRUE;
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

/* What the log says a row holds now. */
typedef struct {
  gint64 id;             /* integer row ids */
  char *text;            /* text row ids (NULL for integers) */
  guint32 key_id;
  gboolean seen;
  guint8 digest[MTS_AUDIT_DIGEST_BYTES];
} RowState;

static guint
row_state_hash (gconstpointer p)
{
  const RowState *r = p;
  return r->text ? g_str_hash (r->text) : g_int64_hash (&r->id);
}

static gboolean
row_state_equal (gconstpointer a, gconstpointer b)
{
  const RowState *x = a, *y = b;
  if ((x->text == NULL) != (y->text == NULL))
    return FALSE;
  return x->text ? strcmp (x->text, y->text) == 0 : x->id == y->id;
}

static void
row_state_free (gpointer p)
{
  RowState *r = p;
  g_free (r->text);
  g_free (r);
}

/* Fills @key (a lookup key, not owned) from a row id value. */
static void
row_state_key (RowState *key, sqlite3_value *v)
{
  memset (key, 0, sizeof *key);
  if (sqlite3_value_type (v) == SQLITE_INTEGER)
    key->id = sqlite3_value_int64 (v);
  else
    key->text = (char *) (sqlite3_value_text (v) ? (const char *) sqlite3_value_text (v) : "");
}

/* A row id as people read it, for messages. (transfer full) */
static char *
row_label (sqlite3_value *v)
{
  if (sqlite3_value_type (v) == SQLITE_INTEGER)
    return g_strdup_printf ("%lld", (long long) sqlite3_value_int64 (v));
  return g_strdup (sqlite3_value_text (v) ? (const char *) sqlite3_value_text (v) : "NULL");
}

static char *
row_state_label (const RowState *r)
{
  return r->text ? g_strdup (r->text) : g_strdup_printf ("%lld", (long long) r->id);
}

typedef struct {
  TableShape shape;
  GHashTable *rows;   /* set of RowState */
} TableState;

static void
table_state_free (gpointer p)
{
  TableState *t = p;

  table_shape_clear (&t->shape);
  g_hash_table_unref (t->rows);
  g_free (t);
}

typedef struct {
  sqlite3 *db;
  MtsKeystore *ks;
  GHashTable *tables;   /* name -> TableState, for tables with audit enabled */
  GHashTable *states;   /* key id -> MtsAuditKeyState (sodium memory) */
  char *error;          /* first problem found */
} Verify;

static void
key_state_free (gpointer p)
{
  sodium_free (p);
}

/* The prepared hash states of audit key @key_id, or NULL if the keystore
 * lacks it. */
static const MtsAuditKeyState *
verify_key_state (Verify *v, guint32 key_id)
{
  MtsAuditKeyState *state = g_hash_table_lookup (v->states, GUINT_TO_POINTER (key_id));
  const guint8 *key;

  if (state != NULL)
    return state;
  key = audit_key (v->ks, key_id);
  if (key == NULL || (state = sodium_malloc (sizeof *state)) == NULL)
    return NULL;
  mts_audit_key_state_init (state, key);
  g_hash_table_insert (v->states, GUINT_TO_POINTER (key_id), state);
  return state;
}

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
  RowState key;

  if (target == NULL)
    return;
  if (strcmp (action, "enable") == 0)
    {
      const char *pk = (const char *) sqlite3_value_text (detail);

      t = g_new0 (TableState, 1);
      t->shape.table = g_strdup (target);
      t->shape.pk = pk && strcmp (pk, "rowid") != 0 ? g_strdup (pk) : NULL;
      t->shape.columns = g_strsplit (columns ? columns : "", ",", -1);
      t->rows = g_hash_table_new_full (row_state_hash, row_state_equal, row_state_free, NULL);
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
      row_state_key (&key, row_id);
      g_hash_table_remove (t->rows, &key);
    }
  else if (strcmp (action, "insert") == 0 || strcmp (action, "update") == 0
           || strcmp (action, "baseline") == 0)
    {
      RowState *rs;

      if (action[0] == 'u' && sqlite3_value_type (detail) != SQLITE_NULL)
        {
          row_state_key (&key, detail);   /* the row's key changed: forget the old one */
          g_hash_table_remove (t->rows, &key);
        }
      row_state_key (&key, row_id);
      rs = g_hash_table_lookup (t->rows, &key);
      if (rs == NULL)
        {
          rs = g_new0 (RowState, 1);
          rs->id = key.id;
          rs->text = g_strdup (key.text);
          g_hash_table_add (t->rows, rs);
        }
      rs->key_id = key_id;
      if (sqlite3_value_bytes (new_digest) == MTS_AUDIT_DIGEST_BYTES)
        memcpy (rs->digest, sqlite3_value_blob (new_digest), MTS_AUDIT_DIGEST_BYTES);
      else
        memset (rs->digest, 0, MTS_AUDIT_DIGEST_BYTES);
    }
}

/* "update on clients row 2", "login dr.smith": what an entry is, for messages. */
static char *
entry_label (sqlite3_stmt *st)
{
  const char *action = (const char *) sqlite3_column_text (st, 3);
  const char *target = (const char *) sqlite3_column_text (st, 4);
  g_autofree char *row = NULL;

  if (sqlite3_column_type (st, 5) == SQLITE_NULL)
    return g_strdup_printf ("%s %s", action ? action : "?", target ? target : "");
  row = row_label (sqlite3_column_value (st, 5));
  return g_strdup_printf ("%s on %s row %s", action ? action : "?", target ? target : "?", row);
}

/* The chain's MACs are recomputed by a second thread while this one reads
 * the log and tracks the rows: hashing is about half the work of a
 * verification.  Each entry is chained to the previous entry's MAC *as
 * stored*, which is the computed one for every entry before the first bad
 * one, so the first failure found is the same either way. */
#define MAC_BATCH 4096

typedef struct {
  gint64 seq;
  const MtsAuditKeyState *state;
  guint offset, length;
  guint8 mac[MTS_AUDIT_MAC_BYTES];   /* as stored */
} MacJob;

typedef struct {
  GByteArray *bytes;   /* the entries' encodings, back to back */
  GArray *jobs;        /* MacJob */
} MacBatch;

typedef struct {
  GAsyncQueue *queue;  /* MacBatch, then the end marker */
  gint64 first_bad;    /* written by the checker thread only */
} MacChecker;

static MacBatch mac_batch_end;

static MacBatch *
mac_batch_new (void)
{
  MacBatch *b = g_new (MacBatch, 1);

  b->bytes = g_byte_array_sized_new (MAC_BATCH * 200);
  b->jobs = g_array_sized_new (FALSE, FALSE, sizeof (MacJob), MAC_BATCH);
  return b;
}

static void
mac_batch_free (MacBatch *b)
{
  g_byte_array_unref (b->bytes);
  g_array_unref (b->jobs);
  g_free (b);
}

static gpointer
mac_checker_run (gpointer data)
{
  MacChecker *c = data;
  MacBatch *b;

  while ((b = g_async_queue_pop (c->queue)) != &mac_batch_end)
    {
      for (guint i = 0; c->first_bad == 0 && i < b->jobs->len; i++)
        {
          const MacJob *job = &g_array_index (b->jobs, MacJob, i);
          guint8 mac[MTS_AUDIT_MAC_BYTES];

          mts_audit_chain_mac_encoded (job->state, b->bytes->data + job->offset, job->length, mac);
          if (sodium_memcmp (mac, job->mac, MTS_AUDIT_MAC_BYTES) != 0)
            c->first_bad = job->seq;
        }
      mac_batch_free (b);
    }
  return NULL;
}

static const char entry_columns[] =
  "seq, at, actor, action, target, row_id, changed_columns, old_digest, new_digest, detail, "
  "key_id, mac";

/* The message for entry @seq whose MAC does not verify. */
static gboolean
fail_mac (Verify *v, gint64 seq)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM main.mts_audit WHERE seq = ?1",
                                          entry_columns);
  g_autofree char *what = NULL;
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (v->db, sql, -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, seq);
      if (sqlite3_step (st) == SQLITE_ROW)
        what = entry_label (st);
    }
  sqlite3_finalize (st);
  return verify_fail (v, "entry %" G_GINT64_FORMAT " (%s): MAC does not verify: the entry "
                      "was edited, swapped or forged", seq, what ? what : "?");
}

/* Walks the chain; records the MAC of entry @head_seq into @head_mac. */
static gboolean
verify_chain (Verify *v, gint64 head_seq, guint8 *head_mac, gboolean *head_found, gint64 *last)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM main.mts_audit ORDER BY seq",
                                          entry_columns);
  MacChecker checker = { g_async_queue_new (), 0 };
  GThread *thread;
  MacBatch *batch;
  sqlite3_stmt *st = NULL;
  guint8 prev[MTS_AUDIT_MAC_BYTES];
  gboolean have_prev = FALSE, ok = TRUE;
  gint64 expected = 1, main_bad = 0;
  int rc = SQLITE_DONE;

  if (sqlite3_prepare_v2 (v->db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      g_async_queue_unref (checker.queue);
      return verify_fail (v, "cannot read the audit log: %s", sqlite3_errmsg (v->db));
    }
  thread = g_thread_new ("mts-audit-verify", mac_checker_run, &checker);
  batch = mac_batch_new ();
  while (ok && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 seq = sqlite3_column_int64 (st, 0);
      sqlite3_int64 key_id = sqlite3_column_int64 (st, 10);
      const char *action = (const char *) sqlite3_column_text (st, 3);
      MtsField fields[MTS_AUDIT_N_FIELDS];
      MacJob job;

      if (seq != expected)
        {
          main_bad = MIN (seq, expected);
          ok = seq > expected
            ? verify_fail (v, "entry %" G_GINT64_FORMAT " is missing (the next entry is %"
                           G_GINT64_FORMAT "): entries were deleted", expected, seq)
            : verify_fail (v, "entry %" G_GINT64_FORMAT " is out of sequence", seq);
          break;
        }
      job.seq = seq;
      job.state = key_id > 0 && key_id <= G_MAXUINT32 ? verify_key_state (v, (guint32) key_id) : NULL;
      if (job.state == NULL)
        {
          g_autofree char *what = entry_label (st);
          main_bad = seq;
          ok = verify_fail (v, "entry %" G_GINT64_FORMAT " (%s) names key id %lld, which the "
                            "keystore does not hold", seq, what, (long long) key_id);
          break;
        }
      if (sqlite3_column_bytes (st, 11) != MTS_AUDIT_MAC_BYTES || action == NULL)
        {
          main_bad = seq;
          ok = fail_mac (v, seq);
          break;
        }
      for (int i = 0; i < MTS_AUDIT_N_FIELDS; i++)
        field_from_column (st, 1 + i, &fields[i]);
      job.offset = batch->bytes->len;
      mts_audit_chain_encode (batch->bytes, (guint64) seq, fields, (guint32) key_id,
                              have_prev ? prev : NULL);
      job.length = batch->bytes->len - job.offset;
      memcpy (job.mac, sqlite3_column_blob (st, 11), MTS_AUDIT_MAC_BYTES);
      g_array_append_val (batch->jobs, job);
      if (batch->jobs->len == MAC_BATCH)
        {
          g_async_queue_push (checker.queue, batch);
          batch = mac_batch_new ();
        }

      track_entry (v, action, (const char *) sqlite3_column_text (st, 4),
                   sqlite3_column_value (st, 5), (const char *) sqlite3_column_text (st, 6),
                   sqlite3_column_value (st, 8), sqlite3_column_value (st, 9), (guint32) key_id);
      memcpy (prev, job.mac, MTS_AUDIT_MAC_BYTES);
      have_prev = TRUE;
      if (seq == head_seq)
        {
          memcpy (head_mac, job.mac, MTS_AUDIT_MAC_BYTES);
          *head_found = TRUE;
        }
      expected++;
    }
  if (ok && rc != SQLITE_DONE)
    {
      main_bad = expected;
      ok = verify_fail (v, "cannot read the audit log: %s", sqlite3_errmsg (v->db));
    }
  sqlite3_finalize (st);
  g_async_queue_push (checker.queue, batch);
  g_async_queue_push (checker.queue, &mac_batch_end);
  g_thread_join (thread);
  g_async_queue_unref (checker.queue);

  /* The first problem in the log's order is the one to report. */
  if (checker.first_bad != 0 && (main_bad == 0 || checker.first_bad < main_bad))
    {
      g_clear_pointer (&v->error, g_free);
      ok = fail_mac (v, checker.first_bad);
    }
  *last = expected - 1;
  return ok;
}

/* Checks an audited table: its triggers are ours, unaltered, and each row
 * matches its last audit entry. */
static gboolean
verify_table (Verify *v, TableState *t)
{
  g_autofree char *select_sql = NULL;
  sqlite3_stmt *st = NULL;
  GHashTableIter iter;
  gpointer item;
  gboolean ok = TRUE;
  MtsField *values = NULL;
  int n_cols;
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
        ok = verify_fail (v, "the %s trigger of audited table %s is %s", trigger_actions[i],
                          t->shape.table,
                          found ? "altered" : "missing (dropped outside mts_audit_disable)");
      sqlite3_finalize (st);
      st = NULL;
      if (!ok)
        return FALSE;
    }

  select_sql = select_rows_sql (&t->shape);
  if (sqlite3_prepare_v2 (v->db, select_sql, -1, &st, NULL) != SQLITE_OK)
    return verify_fail (v, "cannot read audited table %s: %s", t->shape.table, sqlite3_errmsg (v->db));
  n_cols = sqlite3_column_count (st);
  values = g_new (MtsField, n_cols);
  while (ok && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      RowState key, *rs;
      const MtsAuditKeyState *state;
      guint8 digest[MTS_AUDIT_DIGEST_BYTES];

      row_state_key (&key, sqlite3_column_value (st, 0));
      rs = g_hash_table_lookup (t->rows, &key);
      if (rs == NULL)
        {
          g_autofree char *row = row_label (sqlite3_column_value (st, 0));
          ok = verify_fail (v, "row %s of %s has no audit entry: it was written while the "
                            "audit triggers were off", row, t->shape.table);
          break;
        }
      state = verify_key_state (v, rs->key_id);
      if (state == NULL)
        {
          g_autofree char *row = row_label (sqlite3_column_value (st, 0));
          ok = verify_fail (v, "row %s of %s: key id %u is not in the keystore", row,
                            t->shape.table, rs->key_id);
          break;
        }
      for (int i = 1; i < n_cols; i++)
        field_from_column (st, i, &values[i - 1]);
      mts_row_digest_compute (state, values, (gsize) n_cols - 1, digest);
      if (sodium_memcmp (digest, rs->digest, MTS_AUDIT_DIGEST_BYTES) != 0)
        {
          g_autofree char *row = row_label (sqlite3_column_value (st, 0));
          ok = verify_fail (v, "row %s of %s does not match its last audit entry: it was "
                            "changed without one", row, t->shape.table);
          break;
        }
      rs->seen = TRUE;
    }
  if (ok && rc != SQLITE_DONE)
    ok = verify_fail (v, "cannot read audited table %s: %s", t->shape.table, sqlite3_errmsg (v->db));
  sqlite3_finalize (st);
  g_free (values);
  g_hash_table_iter_init (&iter, t->rows);
  while (ok && g_hash_table_iter_next (&iter, &item, NULL))
    if (!((RowState *) item)->seen)
      {
        g_autofree char *row = row_state_label (item);
        ok = verify_fail (v, "row %s of %s was deleted without an audit entry", row, t->shape.table);
      }
  return ok;
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
  v.states = g_hash_table_new_full (NULL, NULL, NULL, key_state_free);
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
  g_hash_table_unref (v.states);
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
    { "mts_audit_begin", 3, 0, audit_begin_func },
    { "mts_audit_seq", 0, 0, audit_seq_func },
    { "mts_audit_key_id", 0, 0, audit_key_id_func },
    { "mts_audit_digest", -1, 0, audit_digest_func },
    { "mts_audit_set_digest", 2, 0, audit_set_digest_func },
    { "mts_audit_mac", 5, 0, audit_mac_func },
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
