/* mts-store-records.c — sessions, note templates, agreements, invoices,
 * payments, risk flags and AI consent (see mts-store-records.h).
 *
 * Each table is described once, as a list of its columns after the five
 * sync columns (name = the struct field's name, its kind, where it is in
 * the struct).  The reading, inserting, diffing and tombstoning of rows is
 * done from that description, so every table gets the same SQL: encrypted
 * columns always as mts_encrypt(?N, '<table>.<column>:' || id) with the
 * value bound, read back with mts_decrypt in the same context.  What
 * differs between tables (validation, references, states) is written out
 * per table below.
 *
 * Every write: BEGIN IMMEDIATE; read the current row (or check the
 * references); validate; write the row (the audit triggers add their
 * entries); mts_store_outbox_add; COMMIT.  Any failure rolls all of it back.
 */
#define G_LOG_DOMAIN "mts-store"

#include "mts-store-records.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "mts-store-private.h"
#include "mts-uuid.h"

/* ---- helpers (the shared ones are in mts-store-private.h) ---- */

static gboolean G_GNUC_PRINTF (2, 3)
invalid (GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID, message);
  return FALSE;
}

/* Moves a deleted row's old values out of the write-ahead log, as a
 * client's delete does.  Best effort: a reader may hold it open. */
static void
checkpoint (MtsStore *store)
{
  sqlite3_exec (mts_store_get_db (store), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
}

/* ---- tables described ---- */

typedef enum {
  COLUMN_TEXT,      /* char *, NULL as NULL */
  COLUMN_SECRET,    /* char *, stored as mts_encrypt(value, '<table>.<column>:' || id) */
  COLUMN_INT,       /* gint64 */
  COLUMN_BOOL,      /* gboolean, stored as 0 or 1 */
  COLUMN_OPT_INT,   /* gint64, stored as NULL unless the gboolean at flag_offset is set */
} ColumnKind;

typedef struct {
  const char *name;     /* the column's name, which is the field's */
  ColumnKind kind;
  gsize offset;         /* of the field in the record */
  gsize flag_offset;    /* COLUMN_OPT_INT: of its gboolean "is set" */
} Column;

#define TEXT_COLUMN(T, f) { #f, COLUMN_TEXT, G_STRUCT_OFFSET (T, f), 0 }
#define SECRET_COLUMN(T, f) { #f, COLUMN_SECRET, G_STRUCT_OFFSET (T, f), 0 }
#define INT_COLUMN(T, f) { #f, COLUMN_INT, G_STRUCT_OFFSET (T, f), 0 }
#define BOOL_COLUMN(T, f) { #f, COLUMN_BOOL, G_STRUCT_OFFSET (T, f), 0 }
#define OPT_INT_COLUMN(T, f, set) { #f, COLUMN_OPT_INT, G_STRUCT_OFFSET (T, f), G_STRUCT_OFFSET (T, set) }

/* What every record starts with (the sync columns but deleted). */
typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
} RecordHead;

#define ASSERT_HEAD(T)                                                                \
  G_STATIC_ASSERT (G_STRUCT_OFFSET (T, id) == G_STRUCT_OFFSET (RecordHead, id));      \
  G_STATIC_ASSERT (G_STRUCT_OFFSET (T, version) == G_STRUCT_OFFSET (RecordHead, version)); \
  G_STATIC_ASSERT (G_STRUCT_OFFSET (T, created_at) == G_STRUCT_OFFSET (RecordHead, created_at)); \
  G_STATIC_ASSERT (G_STRUCT_OFFSET (T, updated_at) == G_STRUCT_OFFSET (RecordHead, updated_at))

ASSERT_HEAD (MtsSession);
ASSERT_HEAD (MtsNoteTemplate);
ASSERT_HEAD (MtsAgreement);
ASSERT_HEAD (MtsInvoice);
ASSERT_HEAD (MtsPayment);
ASSERT_HEAD (MtsRiskFlag);
ASSERT_HEAD (MtsAiConsent);

typedef struct {
  const char *table;
  const char *noun;         /* for messages: "no session <id>" */
  const Column *columns;    /* every column after the sync columns */
  gsize n_columns;
  gsize size;               /* of the record */
  GDestroyNotify free;      /* the record's public free function */
  const char *order;        /* of lists; ties go by rowid, the order rows were
                             * written here (UUIDv7 ids made in the same
                             * millisecond do not sort by creation) */
} Entity;

#define FIELD(rec, col, type) (*(type *) ((char *) (rec) + (col)->offset))
#define FLAG(rec, col) (*(gboolean *) ((char *) (rec) + (col)->flag_offset))
#define HEAD(rec) ((RecordHead *) (rec))

static const Column session_columns[] = {
  TEXT_COLUMN (MtsSession, client_id),
  TEXT_COLUMN (MtsSession, clinician_id),
  TEXT_COLUMN (MtsSession, starts_at),
  TEXT_COLUMN (MtsSession, ends_at),
  TEXT_COLUMN (MtsSession, modality),
  TEXT_COLUMN (MtsSession, status),
  OPT_INT_COLUMN (MtsSession, fee_pence, has_fee),
  SECRET_COLUMN (MtsSession, location),
  TEXT_COLUMN (MtsSession, invoice_id),
};

static const Column note_template_columns[] = {
  TEXT_COLUMN (MtsNoteTemplate, name),
  TEXT_COLUMN (MtsNoteTemplate, kind),
  TEXT_COLUMN (MtsNoteTemplate, structure),
};

static const Column agreement_columns[] = {
  TEXT_COLUMN (MtsAgreement, client_id),
  TEXT_COLUMN (MtsAgreement, title),
  SECRET_COLUMN (MtsAgreement, body),
  TEXT_COLUMN (MtsAgreement, status),
  TEXT_COLUMN (MtsAgreement, generated_at),
  TEXT_COLUMN (MtsAgreement, signed_at),
  TEXT_COLUMN (MtsAgreement, revoked_at),
};

static const Column invoice_columns[] = {
  TEXT_COLUMN (MtsInvoice, client_id),
  TEXT_COLUMN (MtsInvoice, number),
  TEXT_COLUMN (MtsInvoice, issued_on),
  TEXT_COLUMN (MtsInvoice, due_on),
  INT_COLUMN (MtsInvoice, amount_pence),
  TEXT_COLUMN (MtsInvoice, status),
};

static const Column payment_columns[] = {
  TEXT_COLUMN (MtsPayment, invoice_id),
  TEXT_COLUMN (MtsPayment, paid_on),
  INT_COLUMN (MtsPayment, amount_pence),
  TEXT_COLUMN (MtsPayment, method),
};

static const Column risk_flag_columns[] = {
  TEXT_COLUMN (MtsRiskFlag, client_id),
  TEXT_COLUMN (MtsRiskFlag, level),
  SECRET_COLUMN (MtsRiskFlag, text),
  TEXT_COLUMN (MtsRiskFlag, raised_by),
  TEXT_COLUMN (MtsRiskFlag, raised_at),
  TEXT_COLUMN (MtsRiskFlag, resolved_at),
};

static const Column ai_consent_columns[] = {
  TEXT_COLUMN (MtsAiConsent, client_id),
  BOOL_COLUMN (MtsAiConsent, consented),
  TEXT_COLUMN (MtsAiConsent, recorded_at),
  TEXT_COLUMN (MtsAiConsent, recorded_by),
};

#define ENTITY(table, noun, T, columns, free, order) \
  { table, noun, columns, G_N_ELEMENTS (columns), sizeof (T), (GDestroyNotify) free, order }

static const Entity sessions =
  ENTITY ("sessions", "session", MtsSession, session_columns, mts_session_free,
          "ORDER BY starts_at, rowid");
static const Entity note_templates =
  ENTITY ("note_templates", "note template", MtsNoteTemplate, note_template_columns,
          mts_note_template_free, "ORDER BY name, id");
static const Entity agreements =
  ENTITY ("agreements", "agreement", MtsAgreement, agreement_columns, mts_agreement_free,
          "ORDER BY generated_at, rowid");
static const Entity invoices =
  ENTITY ("invoices", "invoice", MtsInvoice, invoice_columns, mts_invoice_free,
          "ORDER BY created_at, rowid");
static const Entity payments =
  ENTITY ("payments", "payment", MtsPayment, payment_columns, mts_payment_free,
          "ORDER BY paid_on, created_at, rowid");
static const Entity risk_flags =
  ENTITY ("risk_flags", "risk flag", MtsRiskFlag, risk_flag_columns, mts_risk_flag_free,
          "ORDER BY raised_at, rowid");
static const Entity ai_consents =
  ENTITY ("ai_consents", "AI consent", MtsAiConsent, ai_consent_columns, mts_ai_consent_free,
          "ORDER BY client_id");

/* ---- records, from the descriptions ---- */

static void
record_clear (const Entity *e, gpointer rec)
{
  g_free (HEAD (rec)->id);
  g_free (HEAD (rec)->created_at);
  g_free (HEAD (rec)->updated_at);
  for (gsize i = 0; i < e->n_columns; i++)
    if (e->columns[i].kind == COLUMN_TEXT || e->columns[i].kind == COLUMN_SECRET)
      g_free (FIELD (rec, &e->columns[i], char *));
}

static void
record_free (const Entity *e, gpointer rec)
{
  if (rec == NULL)
    return;
  record_clear (e, rec);
  g_free (rec);
}

/* (transfer full) */
static gpointer
record_copy (const Entity *e, gconstpointer rec)
{
  gpointer copy = g_memdup2 (rec, e->size);

  HEAD (copy)->id = g_strdup (HEAD (rec)->id);
  HEAD (copy)->created_at = g_strdup (HEAD (rec)->created_at);
  HEAD (copy)->updated_at = g_strdup (HEAD (rec)->updated_at);
  for (gsize i = 0; i < e->n_columns; i++)
    if (e->columns[i].kind == COLUMN_TEXT || e->columns[i].kind == COLUMN_SECRET)
      FIELD (copy, &e->columns[i], char *) = g_strdup (FIELD (rec, &e->columns[i], char *));
  return copy;
}

/* Moves @from's contents into @to (freeing @to's) and frees @from. */
static void
record_replace (const Entity *e, gpointer to, gpointer from)
{
  record_clear (e, to);
  memcpy (to, from, e->size);
  g_free (from);
}

static gboolean
column_equal (const Column *col, gconstpointer a, gconstpointer b)
{
  switch (col->kind)
    {
    case COLUMN_TEXT:
    case COLUMN_SECRET:
      return g_strcmp0 (FIELD (a, col, char *), FIELD (b, col, char *)) == 0;
    case COLUMN_INT:
      return FIELD (a, col, gint64) == FIELD (b, col, gint64);
    case COLUMN_BOOL:
      return !FIELD (a, col, gboolean) == !FIELD (b, col, gboolean);
    case COLUMN_OPT_INT:
      return !FLAG (a, col) == !FLAG (b, col)
             && (!FLAG (a, col) || FIELD (a, col, gint64) == FIELD (b, col, gint64));
    default:
      g_assert_not_reached ();
    }
}

static void
bind_column (sqlite3_stmt *st, int i, const Column *col, gconstpointer rec)
{
  switch (col->kind)
    {
    case COLUMN_TEXT:
    case COLUMN_SECRET:
      mts_store_bind_text (st, i, FIELD (rec, col, char *));
      break;
    case COLUMN_INT:
      sqlite3_bind_int64 (st, i, FIELD (rec, col, gint64));
      break;
    case COLUMN_BOOL:
      sqlite3_bind_int (st, i, FIELD (rec, col, gboolean) ? 1 : 0);
      break;
    case COLUMN_OPT_INT:
      if (FLAG (rec, col))
        sqlite3_bind_int64 (st, i, FIELD (rec, col, gint64));
      else
        sqlite3_bind_null (st, i);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
read_column (sqlite3_stmt *st, int i, const Column *col, gpointer rec)
{
  switch (col->kind)
    {
    case COLUMN_TEXT:
    case COLUMN_SECRET:
      FIELD (rec, col, char *) = mts_store_column_dup (st, i);
      break;
    case COLUMN_INT:
      FIELD (rec, col, gint64) = sqlite3_column_int64 (st, i);
      break;
    case COLUMN_BOOL:
      FIELD (rec, col, gboolean) = sqlite3_column_int (st, i) != 0;
      break;
    case COLUMN_OPT_INT:
      FLAG (rec, col) = sqlite3_column_type (st, i) != SQLITE_NULL;
      FIELD (rec, col, gint64) = sqlite3_column_int64 (st, i);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
entity_has_secret (const Entity *e)
{
  for (gsize i = 0; i < e->n_columns; i++)
    if (e->columns[i].kind == COLUMN_SECRET)
      return TRUE;
  return FALSE;
}

/* "SELECT id, version, created_at, updated_at, <columns, decrypted> FROM
 * <table> WHERE <where> AND deleted = 0 <tail>"; the encrypted columns as
 * NULL unless @decrypt.  (transfer full) */
static char *
select_sql (const Entity *e, const char *where, const char *tail, gboolean decrypt)
{
  GString *sql = g_string_new ("SELECT id, version, created_at, updated_at");

  for (gsize i = 0; i < e->n_columns; i++)
    {
      const char *name = e->columns[i].name;

      if (e->columns[i].kind == COLUMN_SECRET && !decrypt)
        g_string_append (sql, ", NULL");
      else if (e->columns[i].kind == COLUMN_SECRET)
        g_string_append_printf (sql, ", mts_decrypt(%s, '%s.%s:' || id)", name, e->table, name);
      else
        g_string_append_printf (sql, ", %s", name);
    }
  g_string_append_printf (sql, " FROM %s WHERE (%s) AND deleted = 0 %s", e->table, where,
                          tail ? tail : "");
  return g_string_free (sql, FALSE);
}

static gpointer
record_from_row (const Entity *e, sqlite3_stmt *st)
{
  gpointer rec = g_malloc0 (e->size);

  HEAD (rec)->id = mts_store_column_dup (st, 0);
  HEAD (rec)->version = sqlite3_column_int64 (st, 1);
  HEAD (rec)->created_at = mts_store_column_dup (st, 2);
  HEAD (rec)->updated_at = mts_store_column_dup (st, 3);
  for (gsize i = 0; i < e->n_columns; i++)
    read_column (st, (int) i + 4, &e->columns[i], rec);
  return rec;
}

/* The live rows where @where (with @arg as ?1), in the entity's order.
 * (element-type @e's record) (transfer full) */
static GPtrArray *
record_list (MtsStore *store, const Entity *e, const char *where, const char *arg, GError **error)
{
  g_autofree char *sql = select_sql (e, where, e->order, TRUE);
  GPtrArray *list;
  sqlite3_stmt *st;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  if (arg != NULL)
    mts_store_bind_text (st, 1, arg);
  list = g_ptr_array_new_with_free_func (e->free);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (list, record_from_row (e, st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      g_autofree char *what = g_strdup_printf ("cannot list the %s", e->table);

      g_ptr_array_unref (list);
      mts_store_db_fail (store, error, what);
      return NULL;
    }
  return list;
}

/* Live record @id, its encrypted fields decrypted, or NULL when not
 * @decrypt (so that a record whose envelope no longer opens can still be
 * deleted).  (transfer full) */
static gpointer
record_read (MtsStore *store, const Entity *e, const char *id, gboolean decrypt, GError **error)
{
  g_autofree char *sql = select_sql (e, "id = ?1", NULL, decrypt);
  gpointer rec = NULL;
  sqlite3_stmt *st;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    rec = record_from_row (e, st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no %s %s", e->noun,
                 id ? id : "(no id given)");
  else
    {
      g_autofree char *what = g_strdup_printf ("cannot read the %s", e->noun);
      mts_store_db_fail (store, error, what);
    }
  sqlite3_finalize (st);
  return rec;
}

static gpointer
record_get (MtsStore *store, const Entity *e, const char *id, GError **error)
{
  return record_read (store, e, id, TRUE, error);
}

/* Inserts @rec as row @id, and queues it (every column) for sync, in the
 * caller's transaction. */
static gboolean
insert_row (MtsStore *store, const Entity *e, gconstpointer rec, const char *id, const char *at,
            GError **error)
{
  g_autoptr (GString) sql = g_string_new (NULL);
  g_autoptr (GString) values = g_string_new ("?1, ?2, ?2");
  g_autoptr (GString) columns = g_string_new (NULL);
  sqlite3_stmt *st;
  gboolean ok;

  for (gsize i = 0; i < e->n_columns; i++)
    {
      const char *name = e->columns[i].name;
      int n = (int) i + 3;

      g_string_append_printf (columns, "%s%s", i ? "," : "", name);
      if (e->columns[i].kind == COLUMN_SECRET)
        g_string_append_printf (values, ", mts_encrypt(?%d, '%s.%s:' || ?1)", n, e->table, name);
      else
        g_string_append_printf (values, ", ?%d", n);
    }
  g_string_printf (sql, "INSERT INTO %s (id, created_at, updated_at, %s) VALUES (%s)", e->table,
                   columns->str, values->str);
  if ((st = mts_store_prepare (store, sql->str, error)) == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  for (gsize i = 0; i < e->n_columns; i++)
    bind_column (st, (int) i + 3, &e->columns[i], rec);
  ok = mts_store_step_finalize (store, st, error);
  return ok && mts_store_outbox_add (store, e->table, id, "upsert", columns->str, 0, at, error);
}

/* Writes the columns in which @wanted differs from @cur (row @cur->id),
 * and queues them for sync with @cur's version as base, in the caller's
 * transaction.  Nothing differs, nothing written. */
static gboolean
update_row (MtsStore *store, const Entity *e, gconstpointer cur, gconstpointer wanted,
            const char *at, GError **error)
{
  g_autoptr (GString) set = g_string_new ("updated_at = ?2");
  g_autoptr (GString) changed = g_string_new (NULL);
  g_autofree char *sql = NULL;
  sqlite3_stmt *st;
  gboolean ok;

  for (gsize i = 0; i < e->n_columns; i++)
    {
      const char *name = e->columns[i].name;
      int n = (int) i + 3;

      if (column_equal (&e->columns[i], cur, wanted))
        continue;
      g_string_append_printf (changed, "%s%s", changed->len ? "," : "", name);
      if (e->columns[i].kind == COLUMN_SECRET)
        g_string_append_printf (set, ", %s = mts_encrypt(?%d, '%s.%s:' || id)", name, n, e->table,
                                name);
      else
        g_string_append_printf (set, ", %s = ?%d", name, n);
    }
  if (changed->len == 0)
    return TRUE;
  sql = g_strdup_printf ("UPDATE %s SET %s WHERE id = ?1 AND deleted = 0", e->table, set->str);
  if ((st = mts_store_prepare (store, sql, error)) == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, HEAD (cur)->id);
  mts_store_bind_text (st, 2, at);
  for (gsize i = 0; i < e->n_columns; i++)
    if (!column_equal (&e->columns[i], cur, wanted))
      bind_column (st, (int) i + 3, &e->columns[i], wanted);
  ok = mts_store_step_finalize (store, st, error);
  return ok && mts_store_outbox_add (store, e->table, HEAD (cur)->id, "upsert", changed->str,
                                     HEAD (cur)->version, at, error);
}

/* Turns row @id into a tombstone, every encrypted column NULL (and
 * @extra_set, ", column = value..."), and queues its delete, in the
 * caller's transaction. */
static gboolean
tombstone_row (MtsStore *store, const Entity *e, const char *id, gint64 version, const char *at,
               const char *extra_set, GError **error)
{
  g_autoptr (GString) sql = g_string_new (NULL);
  sqlite3_stmt *st;
  gboolean ok;

  g_string_printf (sql, "UPDATE %s SET deleted = 1, updated_at = ?2", e->table);
  for (gsize i = 0; i < e->n_columns; i++)
    if (e->columns[i].kind == COLUMN_SECRET)
      g_string_append_printf (sql, ", %s = NULL", e->columns[i].name);
  g_string_append_printf (sql, "%s WHERE id = ?1 AND deleted = 0", extra_set ? extra_set : "");
  if ((st = mts_store_prepare (store, sql->str, error)) == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  ok = mts_store_step_finalize (store, st, error);
  return ok && mts_store_outbox_add (store, e->table, id, "delete", NULL, version, at, error);
}

/* The ids and versions of @table's live rows where @column = @value. */
static gboolean
live_rows (MtsStore *store, const char *table, const char *column, const char *value,
           GPtrArray *ids, GArray *versions, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT id, version FROM %s WHERE %s = ?1 "
                                          "AND deleted = 0 ORDER BY id", table, column);
  sqlite3_stmt *st = mts_store_prepare (store, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, value);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 v = sqlite3_column_int64 (st, 1);
      g_ptr_array_add (ids, mts_store_column_dup (st, 0));
      g_array_append_val (versions, v);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot read the rows to change");
  return TRUE;
}

/* What ON DELETE SET NULL does for a real delete, for a tombstone: sets
 * @column NULL in @table's live rows that name @value, each queued for
 * sync, in the caller's transaction. */
static gboolean
detach_rows (MtsStore *store, const char *table, const char *column, const char *value,
             const char *at, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *sql = g_strdup_printf ("UPDATE %s SET %s = NULL, updated_at = ?2 "
                                          "WHERE id = ?1", table, column);

  if (!live_rows (store, table, column, value, ids, versions, error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_stmt *st = mts_store_prepare (store, sql, error);
      gboolean ok;

      if (st == NULL)
        return FALSE;
      mts_store_bind_text (st, 1, ids->pdata[i]);
      mts_store_bind_text (st, 2, at);
      ok = mts_store_step_finalize (store, st, error);
      if (!ok || !mts_store_outbox_add (store, table, ids->pdata[i], "upsert", column,
                                        g_array_index (versions, gint64, i), at, error))
        return FALSE;
    }
  return TRUE;
}

/* Sets a new record's id, version and times once it is committed. */
static void
set_head (gpointer rec, char **id, const char *at)
{
  g_free (HEAD (rec)->id);
  HEAD (rec)->id = g_steal_pointer (id);
  g_free (HEAD (rec)->created_at);
  HEAD (rec)->created_at = g_strdup (at);
  g_free (HEAD (rec)->updated_at);
  HEAD (rec)->updated_at = g_strdup (at);
  HEAD (rec)->version = 0;
}

/* Adds @rec: @check (in the transaction, may be NULL) validates its
 * references; then the row and its outbox entry.  On success @rec gets its
 * id, version and times. */
typedef gboolean (*CheckFunc) (MtsStore *store, gconstpointer rec, gconstpointer cur,
                               GError **error);

static gboolean
record_add (MtsStore *store, const Entity *e, gpointer rec, const char *at, CheckFunc check,
            GError **error)
{
  g_autofree char *id = mts_uuid7_new ();

  if (!mts_store_begin (store, error))
    return FALSE;
  if ((check != NULL && !check (store, rec, NULL, error))
      || !insert_row (store, e, rec, id, at, error)
      || !mts_store_commit (store, error))
    {
      mts_store_rollback (store);
      return FALSE;
    }
  set_head (rec, &id, at);
  return TRUE;
}

/* Checks run before a delete, in its transaction: may refuse it, or change
 * the rows that name it. */
typedef gboolean (*DeleteFunc) (MtsStore *store, gconstpointer cur, const char *at,
                                GError **error);

static gboolean
record_delete (MtsStore *store, const Entity *e, const char *id, DeleteFunc before,
               const char *extra_set, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  gpointer cur;

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  cur = record_read (store, e, id, FALSE, error);
  if (cur == NULL
      || (before != NULL && !before (store, cur, at, error))
      || !tombstone_row (store, e, HEAD (cur)->id, HEAD (cur)->version, at, extra_set, error)
      || !mts_store_commit (store, error))
    {
      record_free (e, cur);
      mts_store_rollback (store);
      return FALSE;
    }
  record_free (e, cur);
  if (entity_has_secret (e))
    checkpoint (store);
  return TRUE;
}

/* ---- validation ---- */

/* "a, b or c".  (transfer full) */
static char *
one_of (const char *const *allowed)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; allowed[i] != NULL; i++)
    g_string_append_printf (s, "%s%s", i == 0 ? "" : allowed[i + 1] == NULL ? " or " : ", ",
                            allowed[i]);
  return g_string_free (s, FALSE);
}

/* @value is one of @allowed (NULL-terminated); @what is "a session's
 * modality". */
static gboolean
check_enum (const char *value, const char *const *allowed, const char *what, GError **error)
{
  g_autofree char *list = NULL;

  if (value != NULL)
    for (gsize i = 0; allowed[i] != NULL; i++)
      if (strcmp (value, allowed[i]) == 0)
        return TRUE;
  list = one_of (allowed);
  if (value == NULL)
    return invalid (error, "%s is required: %s", what, list);
  return invalid (error, "%s is %s, not '%s'", what, list, value);
}

/* Frees "" (an absent optional value) to NULL. */
static void
clear_empty (char **field)
{
  if (*field != NULL && **field == '\0')
    g_clear_pointer (field, g_free);
}

static void
set_default (char **field, const char *value)
{
  clear_empty (field);
  if (*field == NULL)
    *field = g_strdup (value);
}

/* Replaces *@field with a copy of @value. */
static void
replace (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* Replaces *@field with @value unless @value is NULL (an enumeration left
 * as it is). */
static void
replace_if_set (char **field, const char *value)
{
  if (value != NULL)
    replace (field, value);
}

/* A field that cannot change: @given must be NULL or @current. */
static gboolean
check_fixed (const char *given, const char *current, const char *what, GError **error)
{
  if (given != NULL && g_strcmp0 (given, current) != 0)
    return invalid (error, "%s does not change", what);
  return TRUE;
}

/* Converts *@field (an ISO 8601 date and time with a zone) to the store's
 * UTC form in place; "" is NULL, which is INVALID when @required. */
static gboolean
normalise_instant (char **field, gboolean required, const char *what, GError **error)
{
  g_autoptr (GDateTime) parsed = NULL;
  g_autoptr (GDateTime) utc = NULL;
  g_autofree char *base = NULL;

  clear_empty (field);
  if (*field == NULL)
    return required ? invalid (error, "%s is required", what) : TRUE;
  parsed = g_date_time_new_from_iso8601 (*field, NULL);
  if (parsed == NULL)
    return invalid (error, "%s is a date and time with its zone, such as "
                           "2024-11-28T09:00:00.000Z, not '%s'", what, *field);
  utc = g_date_time_to_utc (parsed);
  base = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");
  g_free (*field);
  *field = g_strdup_printf ("%s.%03dZ", base, g_date_time_get_microsecond (utc) / 1000);
  return TRUE;
}

/* *@field is a date, YYYY-MM-DD; "" is NULL, which is INVALID when @required. */
static gboolean
check_date (char **field, gboolean required, const char *what, GError **error)
{
  const char *s;
  gboolean ok;

  clear_empty (field);
  if ((s = *field) == NULL)
    return required ? invalid (error, "%s is required", what) : TRUE;
  ok = strlen (s) == 10 && s[4] == '-' && s[7] == '-';
  for (int i = 0; ok && i < 10; i++)
    ok = i == 4 || i == 7 || g_ascii_isdigit (s[i]);
  ok = ok && g_date_valid_dmy ((GDateDay) atoi (s + 8), (GDateMonth) atoi (s + 5),
                               (GDateYear) atoi (s));
  if (!ok)
    return invalid (error, "%s is a date, YYYY-MM-DD, not '%s'", what, s);
  return TRUE;
}

/* Whether @table has a live row @id. */
static gboolean
row_exists (MtsStore *store, const char *table, const char *id, gboolean *exists, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT 1 FROM %s WHERE id = ?1 AND deleted = 0", table);
  sqlite3_stmt *st = mts_store_prepare (store, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot look up a reference");
  *exists = rc == SQLITE_ROW;
  return TRUE;
}

/* NOT_FOUND unless @table has a live row @id; @noun names it. */
static gboolean
require_row (MtsStore *store, const char *table, const char *noun, const char *id, GError **error)
{
  gboolean exists = FALSE;

  if (!row_exists (store, table, id, &exists, error))
    return FALSE;
  if (!exists)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no %s %s", noun, id);
      return FALSE;
    }
  return TRUE;
}

/* The one text of @sql with @arg as ?1 (NULL if no row, or a NULL value). */
static gboolean
query_text (MtsStore *store, const char *sql, const char *arg, char **result, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, arg);
  rc = sqlite3_step (st);
  *result = rc == SQLITE_ROW ? mts_store_column_dup (st, 0) : NULL;
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot read the store");
  return TRUE;
}

/* ---- sessions ---- */

static const char *const session_modalities[] = { "in_person", "video", "phone", NULL };
static const char *const session_statuses[] = { "scheduled", "attended", "cancelled", "no_show", NULL };

MtsSession *
mts_session_new (void)
{
  return g_new0 (MtsSession, 1);
}

void
mts_session_free (MtsSession *session)
{
  record_free (&sessions, session);
}

/* Validates @s as it is to be written, normalising its times. */
static gboolean
check_session (MtsSession *s, GError **error)
{
  if (mts_store_nonempty (s->client_id) == NULL)
    return invalid (error, "a session needs a client");
  if (!normalise_instant (&s->starts_at, TRUE, "a session's start (starts_at)", error)
      || !normalise_instant (&s->ends_at, TRUE, "a session's end (ends_at)", error))
    return FALSE;
  if (strcmp (s->ends_at, s->starts_at) <= 0)
    return invalid (error, "a session ends after it starts, not at %s when it starts at %s",
                    s->ends_at, s->starts_at);
  set_default (&s->modality, "in_person");
  set_default (&s->status, "scheduled");
  if (!check_enum (s->modality, session_modalities, "a session's modality", error)
      || !check_enum (s->status, session_statuses, "a session's status", error))
    return FALSE;
  if (s->has_fee && s->fee_pence < 0)
    return invalid (error, "a session's fee is pence, not negative (%" G_GINT64_FORMAT ")",
                    s->fee_pence);
  if (!s->has_fee)
    s->fee_pence = 0;
  clear_empty (&s->clinician_id);
  clear_empty (&s->location);
  clear_empty (&s->invoice_id);
  return TRUE;
}

/* The references of @s that are new (all of them when @cur is NULL). */
static gboolean
check_session_refs (MtsStore *store, gconstpointer rec, gconstpointer cur_rec, GError **error)
{
  const MtsSession *s = rec, *cur = cur_rec;
  g_autofree char *invoice_client = NULL;

  if (cur == NULL && !require_row (store, "clients", "client", s->client_id, error))
    return FALSE;
  if (s->clinician_id != NULL && (cur == NULL || g_strcmp0 (s->clinician_id, cur->clinician_id) != 0)
      && !require_row (store, "clinicians", "clinician", s->clinician_id, error))
    return FALSE;
  if (s->invoice_id != NULL && (cur == NULL || g_strcmp0 (s->invoice_id, cur->invoice_id) != 0))
    {
      if (!query_text (store, "SELECT client_id FROM invoices WHERE id = ?1 AND deleted = 0",
                       s->invoice_id, &invoice_client, error))
        return FALSE;
      if (invoice_client == NULL)
        {
          g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no invoice %s",
                       s->invoice_id);
          return FALSE;
        }
      if (strcmp (invoice_client, s->client_id) != 0)
        return invalid (error, "invoice %s bills another client, not this session's",
                        s->invoice_id);
    }
  return TRUE;
}

gboolean
mts_store_session_add (MtsStore *store, MtsSession *session, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsSession *s;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (session != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  s = record_copy (&sessions, session);
  if (!check_session (s, error) || !record_add (store, &sessions, s, at, check_session_refs, error))
    {
      mts_session_free (s);
      return FALSE;
    }
  record_replace (&sessions, session, s);
  return TRUE;
}

MtsSession *
mts_store_session_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &sessions, id, error);
}

gboolean
mts_store_session_update (MtsStore *store, const MtsSession *session, GError **error)
{
  g_autoptr (MtsSession) cur = NULL;
  g_autoptr (MtsSession) s = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (session != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &sessions, session->id, error)) == NULL
      || !check_fixed (session->client_id, cur->client_id, "a session's client", error))
    goto fail;
  s = record_copy (&sessions, cur);
  replace (&s->clinician_id, session->clinician_id);
  replace (&s->starts_at, session->starts_at);
  replace (&s->ends_at, session->ends_at);
  replace_if_set (&s->modality, session->modality);
  replace_if_set (&s->status, session->status);
  s->has_fee = session->has_fee;
  s->fee_pence = session->fee_pence;
  replace (&s->location, session->location);
  replace (&s->invoice_id, session->invoice_id);
  if (!check_session (s, error)
      || !check_session_refs (store, s, cur, error)
      || !update_row (store, &sessions, cur, s, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

/* A session that notes name stays; its documents let go of it. */
static gboolean
before_session_delete (MtsStore *store, gconstpointer rec, const char *at, GError **error)
{
  const MtsSession *s = rec;
  g_autofree char *notes = NULL;

  if (!query_text (store, "SELECT count(*) FROM notes WHERE session_id = ?1 AND deleted = 0",
                   s->id, &notes, error))
    return FALSE;
  if (g_strcmp0 (notes, "0") != 0)
    return invalid (error, "session %s has notes (%s), and a session is never deleted from "
                           "under a note: mark it cancelled instead", s->id, notes);
  return detach_rows (store, "documents", "session_id", s->id, at, error);
}

gboolean
mts_store_session_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return record_delete (store, &sessions, id, before_session_delete, NULL, error);
}

GPtrArray *
mts_store_session_list (MtsStore *store, const char *client_id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &sessions, "client_id = ?1", client_id, error);
}

/* ---- note templates ---- */

static const char *const template_kinds[] = { "SOAP", "DAP", "BIRP", "free", NULL };

MtsNoteTemplate *
mts_note_template_new (void)
{
  return g_new0 (MtsNoteTemplate, 1);
}

void
mts_note_template_free (MtsNoteTemplate *template_)
{
  record_free (&note_templates, template_);
}

static gboolean
check_note_template (MtsStore *store, MtsNoteTemplate *t, GError **error)
{
  g_autofree char *type = NULL;

  if (mts_store_nonempty (t->name) == NULL)
    return invalid (error, "a note template needs a name");
  if (!check_enum (t->kind, template_kinds, "a note template's kind", error))
    return FALSE;
  set_default (&t->structure, "[]");
  if (!query_text (store, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END",
                   t->structure, &type, error))
    return FALSE;
  if (g_strcmp0 (type, "array") != 0)
    return invalid (error, "a note template's structure is a JSON array of its headings, "
                           "such as [\"Subjective\", \"Objective\", \"Assessment\", \"Plan\"]");
  return TRUE;
}

gboolean
mts_store_note_template_add (MtsStore *store, MtsNoteTemplate *template_, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsNoteTemplate *t;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (template_ != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  t = record_copy (&note_templates, template_);
  if (!check_note_template (store, t, error)
      || !record_add (store, &note_templates, t, at, NULL, error))
    {
      mts_note_template_free (t);
      return FALSE;
    }
  record_replace (&note_templates, template_, t);
  return TRUE;
}

MtsNoteTemplate *
mts_store_note_template_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &note_templates, id, error);
}

gboolean
mts_store_note_template_update (MtsStore *store, const MtsNoteTemplate *template_, GError **error)
{
  g_autoptr (MtsNoteTemplate) cur = NULL;
  g_autoptr (MtsNoteTemplate) t = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (template_ != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &note_templates, template_->id, error)) == NULL)
    goto fail;
  t = record_copy (&note_templates, cur);
  replace (&t->name, template_->name);
  replace_if_set (&t->kind, template_->kind);
  replace (&t->structure, template_->structure);
  if (!check_note_template (store, t, error)
      || !update_row (store, &note_templates, cur, t, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

gboolean
mts_store_note_template_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  /* Nothing in a template is about a person: the tombstone keeps it all. */
  return record_delete (store, &note_templates, id, NULL, NULL, error);
}

GPtrArray *
mts_store_note_template_list (MtsStore *store, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &note_templates, "1", NULL, error);
}

/* ---- agreements ---- */

static const char *const agreement_statuses[] = { "generated", "signed", "revoked", NULL };

MtsAgreement *
mts_agreement_new (void)
{
  return g_new0 (MtsAgreement, 1);
}

void
mts_agreement_free (MtsAgreement *agreement)
{
  record_free (&agreements, agreement);
}

static gboolean
check_agreement (MtsAgreement *a, GError **error)
{
  if (mts_store_nonempty (a->client_id) == NULL)
    return invalid (error, "an agreement needs a client");
  if (mts_store_nonempty (a->title) == NULL)
    return invalid (error, "an agreement needs a title, such as 'Therapy agreement'");
  if (mts_store_nonempty (a->body) == NULL)
    return invalid (error, "an agreement needs its text");
  return TRUE;
}

static gboolean
check_agreement_refs (MtsStore *store, gconstpointer rec, gconstpointer cur, GError **error)
{
  const MtsAgreement *a = rec;

  return require_row (store, "clients", "client", a->client_id, error);
}

gboolean
mts_store_agreement_add (MtsStore *store, MtsAgreement *agreement, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsAgreement *a;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (agreement != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  if (mts_store_nonempty (agreement->status) != NULL
      && !check_enum (agreement->status, agreement_statuses, "an agreement's status", error))
    return FALSE;
  if (mts_store_nonempty (agreement->status) != NULL && strcmp (agreement->status, "generated") != 0)
    return invalid (error, "a new agreement is generated, not %s: sign it with "
                           "mts_store_agreement_sign once the client has", agreement->status);
  a = record_copy (&agreements, agreement);
  replace (&a->status, "generated");
  replace (&a->generated_at, at);
  replace (&a->signed_at, NULL);
  replace (&a->revoked_at, NULL);
  if (!check_agreement (a, error) || !record_add (store, &agreements, a, at, check_agreement_refs,
                                                   error))
    {
      mts_agreement_free (a);
      return FALSE;
    }
  record_replace (&agreements, agreement, a);
  return TRUE;
}

MtsAgreement *
mts_store_agreement_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &agreements, id, error);
}

gboolean
mts_store_agreement_update (MtsStore *store, const MtsAgreement *agreement, GError **error)
{
  g_autoptr (MtsAgreement) cur = NULL;
  g_autoptr (MtsAgreement) a = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (agreement != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &agreements, agreement->id, error)) == NULL
      || !check_fixed (agreement->client_id, cur->client_id, "an agreement's client", error)
      || !check_fixed (agreement->generated_at, cur->generated_at,
                       "an agreement's generated_at (the store sets it)", error)
      || !check_fixed (agreement->signed_at, cur->signed_at,
                       "an agreement's signed_at (set by mts_store_agreement_sign)", error)
      || !check_fixed (agreement->revoked_at, cur->revoked_at,
                       "an agreement's revoked_at (set by mts_store_agreement_revoke)", error))
    goto fail;
  if (agreement->status != NULL && strcmp (agreement->status, cur->status) != 0)
    {
      invalid (error, "an agreement's status changes only by mts_store_agreement_sign and "
                      "mts_store_agreement_revoke");
      goto fail;
    }
  a = record_copy (&agreements, cur);
  replace (&a->title, agreement->title);
  replace (&a->body, agreement->body);
  if (!check_agreement (a, error))
    goto fail;
  if (strcmp (cur->status, "generated") != 0
      && (g_strcmp0 (a->title, cur->title) != 0 || g_strcmp0 (a->body, cur->body) != 0))
    {
      invalid (error, "agreement %s is %s: its title and text no longer change", cur->id,
               cur->status);
      goto fail;
    }
  if (!update_row (store, &agreements, cur, a, at, error) || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

/* Moves agreement @id from @from to @to, setting its @to_at now. */
static gboolean
agreement_move (MtsStore *store, const char *id, const char *from, const char *to, GError **error)
{
  g_autoptr (MtsAgreement) cur = NULL;
  g_autoptr (MtsAgreement) a = NULL;
  g_autofree char *at = mts_store_now_iso ();

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &agreements, id, error)) == NULL)
    goto fail;
  if (strcmp (cur->status, to) == 0)
    {
      invalid (error, "agreement %s is already %s", id, to);
      goto fail;
    }
  if (strcmp (cur->status, from) != 0)
    {
      if (strcmp (to, "signed") == 0)
        invalid (error, "agreement %s is revoked: it cannot be signed (generate a new one)", id);
      else
        invalid (error, "agreement %s is not signed, so it cannot be revoked (delete it instead)",
                 id);
      goto fail;
    }
  a = record_copy (&agreements, cur);
  replace (&a->status, to);
  replace (strcmp (to, "signed") == 0 ? &a->signed_at : &a->revoked_at, at);
  if (!update_row (store, &agreements, cur, a, at, error) || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

gboolean
mts_store_agreement_sign (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return agreement_move (store, id, "generated", "signed", error);
}

gboolean
mts_store_agreement_revoke (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return agreement_move (store, id, "signed", "revoked", error);
}

static gboolean
before_agreement_delete (MtsStore *store, gconstpointer rec, const char *at, GError **error)
{
  const MtsAgreement *a = rec;

  if (strcmp (a->status, "generated") != 0)
    return invalid (error, "agreement %s is %s: it is the record of what the client agreed to "
                           "and goes only with the client%s", a->id, a->status,
                    strcmp (a->status, "signed") == 0 ? " (revoke it instead)" : "");
  return TRUE;
}

gboolean
mts_store_agreement_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return record_delete (store, &agreements, id, before_agreement_delete, NULL, error);
}

GPtrArray *
mts_store_agreement_list (MtsStore *store, const char *client_id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &agreements, "client_id = ?1", client_id, error);
}

/* ---- invoices ---- */

static const char *const invoice_statuses[] = { "draft", "issued", "paid", "void", NULL };

MtsInvoice *
mts_invoice_new (void)
{
  return g_new0 (MtsInvoice, 1);
}

void
mts_invoice_free (MtsInvoice *invoice)
{
  record_free (&invoices, invoice);
}

static gboolean
check_invoice (MtsInvoice *inv, GError **error)
{
  if (mts_store_nonempty (inv->client_id) == NULL)
    return invalid (error, "an invoice needs a client");
  set_default (&inv->status, "draft");
  if (!check_enum (inv->status, invoice_statuses, "an invoice's status", error))
    return FALSE;
  clear_empty (&inv->number);
  if (!check_date (&inv->issued_on, FALSE, "an invoice's issue date (issued_on)", error)
      || !check_date (&inv->due_on, FALSE, "an invoice's due date (due_on)", error))
    return FALSE;
  if (inv->amount_pence < 0)
    return invalid (error, "an invoice's amount is pence, not negative (%" G_GINT64_FORMAT ")",
                    inv->amount_pence);
  if (strcmp (inv->status, "draft") != 0 && (inv->number == NULL || inv->issued_on == NULL))
    return invalid (error, "an invoice is issued with a number and an issue date (issued_on)");
  if (inv->due_on != NULL && inv->issued_on != NULL && strcmp (inv->due_on, inv->issued_on) < 0)
    return invalid (error, "an invoice is not due (%s) before it is issued (%s)", inv->due_on,
                    inv->issued_on);
  return TRUE;
}

/* The client (when new), and a number no other invoice has. */
static gboolean
check_invoice_refs (MtsStore *store, gconstpointer rec, gconstpointer cur_rec, GError **error)
{
  const MtsInvoice *inv = rec, *cur = cur_rec;
  g_autofree char *other = NULL;

  if (cur == NULL && !require_row (store, "clients", "client", inv->client_id, error))
    return FALSE;
  if (inv->number == NULL || (cur != NULL && g_strcmp0 (inv->number, cur->number) == 0))
    return TRUE;
  /* Tombstones free their numbers, so any row holding it is a live one. */
  if (!query_text (store, "SELECT id FROM invoices WHERE number = ?1", inv->number, &other, error))
    return FALSE;
  if (other != NULL)
    return invalid (error, "invoice number %s is already used", inv->number);
  return TRUE;
}

gboolean
mts_store_invoice_add (MtsStore *store, MtsInvoice *invoice, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsInvoice *inv;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (invoice != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  inv = record_copy (&invoices, invoice);
  if (!check_invoice (inv, error))
    goto fail;
  if (strcmp (inv->status, "draft") != 0 && strcmp (inv->status, "issued") != 0)
    {
      invalid (error, "a new invoice is a draft or issued, not %s", inv->status);
      goto fail;
    }
  if (!record_add (store, &invoices, inv, at, check_invoice_refs, error))
    goto fail;
  record_replace (&invoices, invoice, inv);
  return TRUE;
fail:
  mts_invoice_free (inv);
  return FALSE;
}

MtsInvoice *
mts_store_invoice_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &invoices, id, error);
}

/* Whether @cur may become @inv: a draft changes freely and may be issued;
 * an issued invoice only becomes paid or void; paid and void are final. */
static gboolean
check_invoice_move (const MtsInvoice *cur, const MtsInvoice *inv, GError **error)
{
  gboolean others_changed = FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (invoice_columns); i++)
    if (strcmp (invoice_columns[i].name, "status") != 0
        && !column_equal (&invoice_columns[i], cur, inv))
      others_changed = TRUE;
  if (strcmp (cur->status, "draft") == 0)
    {
      if (strcmp (inv->status, "draft") != 0 && strcmp (inv->status, "issued") != 0)
        return invalid (error, "invoice %s is a draft: issue it before it is %s", cur->id,
                        inv->status);
      return TRUE;
    }
  if (strcmp (cur->status, "issued") == 0)
    {
      if (strcmp (inv->status, "draft") == 0)
        return invalid (error, "invoice %s is issued: it cannot go back to draft (void it)",
                        cur->id);
      if (others_changed)
        return invalid (error, "invoice %s is issued: only its status changes now, to paid "
                               "or void", cur->id);
      return TRUE;
    }
  if (others_changed || strcmp (inv->status, cur->status) != 0)
    return invalid (error, "invoice %s is %s: it no longer changes", cur->id, cur->status);
  return TRUE;
}

gboolean
mts_store_invoice_update (MtsStore *store, const MtsInvoice *invoice, GError **error)
{
  g_autoptr (MtsInvoice) cur = NULL;
  g_autoptr (MtsInvoice) inv = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (invoice != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &invoices, invoice->id, error)) == NULL
      || !check_fixed (invoice->client_id, cur->client_id, "an invoice's client", error))
    goto fail;
  inv = record_copy (&invoices, cur);
  replace (&inv->number, invoice->number);
  replace (&inv->issued_on, invoice->issued_on);
  replace (&inv->due_on, invoice->due_on);
  inv->amount_pence = invoice->amount_pence;
  replace_if_set (&inv->status, invoice->status);
  if (!check_enum (inv->status, invoice_statuses, "an invoice's status", error)
      || !check_invoice_move (cur, inv, error)
      || !check_invoice (inv, error)
      || !check_invoice_refs (store, inv, cur, error)
      || !update_row (store, &invoices, cur, inv, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

/* Only a draft goes: the sessions it billed let go of it, and its payments
 * (a draft has none, unless synced so) go with it. */
static gboolean
before_invoice_delete (MtsStore *store, gconstpointer rec, const char *at, GError **error)
{
  const MtsInvoice *inv = rec;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) versions = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (strcmp (inv->status, "draft") != 0)
    return invalid (error, "invoice %s is %s: it stays in the accounts%s", inv->id, inv->status,
                    strcmp (inv->status, "issued") == 0 ? " (void it instead)" : "");
  if (!detach_rows (store, "sessions", "invoice_id", inv->id, at, error)
      || !live_rows (store, "payments", "invoice_id", inv->id, ids, versions, error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    if (!tombstone_row (store, &payments, ids->pdata[i], g_array_index (versions, gint64, i), at,
                        NULL, error))
      return FALSE;
  return TRUE;
}

gboolean
mts_store_invoice_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  /* A draft's number is freed for the next invoice (number is UNIQUE). */
  return record_delete (store, &invoices, id, before_invoice_delete, ", number = NULL", error);
}

GPtrArray *
mts_store_invoice_list (MtsStore *store, const char *client_id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &invoices, "client_id = ?1", client_id, error);
}

/* ---- payments ---- */

static const char *const payment_methods[] = { "card", "bank_transfer", "cash", "other", NULL };

MtsPayment *
mts_payment_new (void)
{
  return g_new0 (MtsPayment, 1);
}

void
mts_payment_free (MtsPayment *payment)
{
  record_free (&payments, payment);
}

static gboolean
check_payment (MtsPayment *p, GError **error)
{
  if (mts_store_nonempty (p->invoice_id) == NULL)
    return invalid (error, "a payment needs an invoice");
  if (!check_date (&p->paid_on, TRUE, "a payment's date (paid_on)", error))
    return FALSE;
  if (p->amount_pence <= 0)
    return invalid (error, "a payment is a positive amount in pence, not %" G_GINT64_FORMAT,
                    p->amount_pence);
  return check_enum (p->method, payment_methods, "a payment's method", error);
}

static gboolean
check_payment_refs (MtsStore *store, gconstpointer rec, gconstpointer cur, GError **error)
{
  const MtsPayment *p = rec;
  g_autofree char *status = NULL;

  if (!query_text (store, "SELECT status FROM invoices WHERE id = ?1 AND deleted = 0",
                   p->invoice_id, &status, error))
    return FALSE;
  if (status == NULL)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no invoice %s",
                   p->invoice_id);
      return FALSE;
    }
  if (strcmp (status, "issued") != 0)
    return invalid (error, "a payment is recorded against an issued invoice, and invoice %s "
                           "is %s", p->invoice_id, status);
  return TRUE;
}

gboolean
mts_store_payment_add (MtsStore *store, MtsPayment *payment, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsPayment *p;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (payment != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  p = record_copy (&payments, payment);
  if (!check_payment (p, error) || !record_add (store, &payments, p, at, check_payment_refs, error))
    {
      mts_payment_free (p);
      return FALSE;
    }
  record_replace (&payments, payment, p);
  return TRUE;
}

MtsPayment *
mts_store_payment_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &payments, id, error);
}

gboolean
mts_store_payment_update (MtsStore *store, const MtsPayment *payment, GError **error)
{
  g_autoptr (MtsPayment) cur = NULL;
  g_autoptr (MtsPayment) p = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (payment != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &payments, payment->id, error)) == NULL
      || !check_fixed (payment->invoice_id, cur->invoice_id, "a payment's invoice", error))
    goto fail;
  p = record_copy (&payments, cur);
  replace (&p->paid_on, payment->paid_on);
  p->amount_pence = payment->amount_pence;
  replace_if_set (&p->method, payment->method);
  if (!check_payment (p, error)
      || !update_row (store, &payments, cur, p, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

gboolean
mts_store_payment_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return record_delete (store, &payments, id, NULL, NULL, error);
}

GPtrArray *
mts_store_payment_list (MtsStore *store, const char *invoice_id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &payments, "invoice_id = ?1", invoice_id, error);
}

/* ---- risk flags ---- */

static const char *const risk_levels[] = { "low", "medium", "high", NULL };

MtsRiskFlag *
mts_risk_flag_new (void)
{
  return g_new0 (MtsRiskFlag, 1);
}

void
mts_risk_flag_free (MtsRiskFlag *flag)
{
  record_free (&risk_flags, flag);
}

static gboolean
check_risk_flag (MtsRiskFlag *r, GError **error)
{
  if (mts_store_nonempty (r->client_id) == NULL)
    return invalid (error, "a risk flag needs a client");
  if (!check_enum (r->level, risk_levels, "a risk flag's level", error))
    return FALSE;
  if (mts_store_nonempty (r->text) == NULL)
    return invalid (error, "a risk flag needs a text describing the risk");
  clear_empty (&r->raised_by);
  if (!normalise_instant (&r->raised_at, TRUE, "a risk flag's raised_at", error)
      || !normalise_instant (&r->resolved_at, FALSE, "a risk flag's resolved_at", error))
    return FALSE;
  if (r->resolved_at != NULL && strcmp (r->resolved_at, r->raised_at) < 0)
    return invalid (error, "a risk is not resolved (%s) before it is raised (%s)", r->resolved_at,
                    r->raised_at);
  return TRUE;
}

static gboolean
check_risk_flag_refs (MtsStore *store, gconstpointer rec, gconstpointer cur, GError **error)
{
  const MtsRiskFlag *r = rec;

  return require_row (store, "clients", "client", r->client_id, error)
         && (r->raised_by == NULL
             || require_row (store, "clinicians", "clinician", r->raised_by, error));
}

gboolean
mts_store_risk_flag_add (MtsStore *store, MtsRiskFlag *flag, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  MtsRiskFlag *r;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  r = record_copy (&risk_flags, flag);
  set_default (&r->raised_at, at);
  if (mts_store_nonempty (r->raised_by) == NULL)
    {
      gboolean is_clinician = FALSE;

      if (!row_exists (store, "clinicians", mts_store_get_actor (store), &is_clinician, error))
        goto fail;
      replace (&r->raised_by, is_clinician ? mts_store_get_actor (store) : NULL);
    }
  if (!check_risk_flag (r, error)
      || !record_add (store, &risk_flags, r, at, check_risk_flag_refs, error))
    goto fail;
  record_replace (&risk_flags, flag, r);
  return TRUE;
fail:
  mts_risk_flag_free (r);
  return FALSE;
}

MtsRiskFlag *
mts_store_risk_flag_get (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_get (store, &risk_flags, id, error);
}

gboolean
mts_store_risk_flag_update (MtsStore *store, const MtsRiskFlag *flag, GError **error)
{
  g_autoptr (MtsRiskFlag) cur = NULL;
  g_autoptr (MtsRiskFlag) r = NULL;
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *raised_at = NULL;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);

  raised_at = g_strdup (mts_store_nonempty (flag->raised_at));
  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = record_get (store, &risk_flags, flag->id, error)) == NULL
      || !check_fixed (flag->client_id, cur->client_id, "a risk flag's client", error)
      || !check_fixed (mts_store_nonempty (flag->raised_by), cur->raised_by, "who raised a risk (raised_by)",
                       error)
      || (raised_at != NULL
          && !normalise_instant (&raised_at, FALSE, "a risk flag's raised_at", error))
      || !check_fixed (raised_at, cur->raised_at, "when a risk was raised (raised_at)", error))
    goto fail;
  r = record_copy (&risk_flags, cur);
  replace_if_set (&r->level, flag->level);
  replace (&r->text, flag->text);
  replace (&r->resolved_at, flag->resolved_at);
  if (!check_risk_flag (r, error)
      || !update_row (store, &risk_flags, cur, r, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

gboolean
mts_store_risk_flag_delete (MtsStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  return record_delete (store, &risk_flags, id, NULL, NULL, error);
}

GPtrArray *
mts_store_risk_flag_list (MtsStore *store, const char *client_id, GError **error)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return record_list (store, &risk_flags, "client_id = ?1", client_id, error);
}

/* ---- AI consent ---- */

MtsAiConsent *
mts_ai_consent_new (void)
{
  return g_new0 (MtsAiConsent, 1);
}

void
mts_ai_consent_free (MtsAiConsent *consent)
{
  record_free (&ai_consents, consent);
}

/* The row of @client_id's answer, live or not: *@id NULL when none. */
static gboolean
find_ai_consent (MtsStore *store, const char *client_id, char **id, gboolean *deleted,
                 gint64 *version, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT id, deleted, version FROM ai_consents "
                                     "WHERE client_id = ?1", error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, client_id);
  rc = sqlite3_step (st);
  *id = NULL;
  if (rc == SQLITE_ROW)
    {
      *id = mts_store_column_dup (st, 0);
      *deleted = sqlite3_column_int (st, 1) != 0;
      *version = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot read the AI consent");
  return TRUE;
}

gboolean
mts_store_ai_consent_set (MtsStore *store, const char *client_id, gboolean consented,
                          GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *existing = NULL;
  gboolean deleted = FALSE;
  gint64 version = 0;
  g_autoptr (MtsAiConsent) cur = NULL;
  g_autoptr (MtsAiConsent) c = NULL;
  const char *actor;
  gboolean is_clinician = FALSE;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  actor = mts_store_get_actor (store);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  if (mts_store_nonempty (client_id) == NULL)
    return invalid (error, "AI consent is recorded for a client, and none was given");
  if (!mts_store_begin (store, error))
    return FALSE;
  if (!require_row (store, "clients", "client", client_id, error)
      || !row_exists (store, "clinicians", actor, &is_clinician, error))
    goto fail;
  if (!is_clinician)
    {
      invalid (error, "AI consent is recorded by a clinician of the practice, and the current "
                      "actor (%s) is not one", actor);
      goto fail;
    }
  /* One row per client (client_id is UNIQUE, tombstones included). */
  if (!find_ai_consent (store, client_id, &existing, &deleted, &version, error))
    goto fail;
  if (existing == NULL)
    {
      g_autofree char *id = mts_uuid7_new ();

      c = mts_ai_consent_new ();
      c->client_id = g_strdup (client_id);
      c->consented = consented;
      c->recorded_at = g_strdup (at);
      c->recorded_by = g_strdup (actor);
      if (!insert_row (store, &ai_consents, c, id, at, error))
        goto fail;
    }
  else
    {
      if (deleted)
        {
          /* Asked again after the answer was deleted: the row comes back,
           * with its id, and every column named, as for a new row. */
          sqlite3_stmt *st = mts_store_prepare (store, "UPDATE ai_consents SET deleted = 0, updated_at = ?2, "
                                             "consented = ?3, recorded_at = ?2, recorded_by = ?4 "
                                             "WHERE id = ?1", error);
          gboolean ok;

          if (st == NULL)
            goto fail;
          mts_store_bind_text (st, 1, existing);
          mts_store_bind_text (st, 2, at);
          sqlite3_bind_int (st, 3, consented ? 1 : 0);
          mts_store_bind_text (st, 4, actor);
          ok = mts_store_step_finalize (store, st, error);
          if (!ok || !mts_store_outbox_add (store, "ai_consents", existing, "upsert",
                                            "deleted,client_id,consented,recorded_at,recorded_by",
                                            version, at, error))
            goto fail;
        }
      else
        {
          if ((cur = record_get (store, &ai_consents, existing, error)) == NULL)
            goto fail;
          c = record_copy (&ai_consents, cur);
          c->consented = consented;
          replace (&c->recorded_at, at);
          replace (&c->recorded_by, actor);
          if (!update_row (store, &ai_consents, cur, c, at, error))
            goto fail;
        }
    }
  if (!mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

MtsAiConsent *
mts_store_ai_consent_get (MtsStore *store, const char *client_id, GError **error)
{
  g_autoptr (GPtrArray) list = NULL;
  gboolean client_exists = FALSE;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  if ((list = record_list (store, &ai_consents, "client_id = ?1", client_id, error)) == NULL)
    return NULL;
  if (list->len > 0)
    return g_ptr_array_steal_index (list, 0);
  if (!row_exists (store, "clients", client_id, &client_exists, error))
    return NULL;
  g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND,
               client_exists ? "client %s has no recorded answer about AI" : "no client %s",
               client_id ? client_id : "(no id given)");
  return NULL;
}

gboolean
mts_store_ai_consent_delete (MtsStore *store, const char *client_id, GError **error)
{
  g_autoptr (MtsAiConsent) cur = NULL;
  g_autofree char *at = mts_store_now_iso ();

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((cur = mts_store_ai_consent_get (store, client_id, error)) == NULL
      || !tombstone_row (store, &ai_consents, cur->id, cur->version, at, NULL, error)
      || !mts_store_commit (store, error))
    {
      mts_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}
