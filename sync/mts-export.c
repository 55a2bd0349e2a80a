/* mts-export.c — exporting the practice store to a folder (see mts-export.h
 * and docs/store.md, "Export format"). */
#define G_LOG_DOMAIN "mts-export"

#include "mts-export.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mts-json-generate.h"
#include "mts-keystore.h"
#include "mts-store-documents.h"

G_DEFINE_QUARK (mts-export-error-quark, mts_export_error)

/* ---- the schema, as the export sees it ---- */

typedef enum {
  COLUMN_PLAIN,       /* exported as stored */
  COLUMN_ENCRYPTED,   /* decrypted in the context <table>.<column>:<id> */
  COLUMN_WITHHELD,    /* left out: a blind index, keyed digest or wrapped key */
} ColumnKind;

typedef struct {
  char *name;
  ColumnKind kind;
} Column;

typedef struct {
  char *from;
  char *parent;
  char *to;
  gboolean cascade;
} ForeignKey;

typedef struct {
  char *name;
  GPtrArray *columns;        /* (element-type Column) */
  GPtrArray *foreign_keys;   /* (element-type ForeignKey) */
  /* An SQL condition on this table's rows, with the client id bound as ?1:
   * the rows the client owns (NULL if the table belongs to no client), and
   * the rows a client export takes (owned, or named by owned rows). */
  char *owner_filter;
  char *export_filter;
} Table;

/* BLOB columns that hold no encrypted value: keyed digests and wrapped keys.
 * (Blind indexes, `*_bidx`, are recognised by their name.) */
static const char *const withheld_columns[] = {
  "documents.content_hash",   /* keyed hash of the file, checked on read */
  "documents.file_key",       /* the file's key, wrapped: the file itself is exported */
};

static void
column_free (gpointer p)
{
  Column *c = p;

  g_free (c->name);
  g_free (c);
}

static void
foreign_key_free (gpointer p)
{
  ForeignKey *fk = p;

  g_free (fk->from);
  g_free (fk->parent);
  g_free (fk->to);
  g_free (fk);
}

static void
table_free (gpointer p)
{
  Table *t = p;

  g_free (t->name);
  g_ptr_array_unref (t->columns);
  g_ptr_array_unref (t->foreign_keys);
  g_free (t->owner_filter);
  g_free (t->export_filter);
  g_free (t);
}

/* "name" with inner quotes doubled.  (transfer full) */
static char *
ident (const char *name)
{
  g_auto (GStrv) parts = g_strsplit (name, "\"", -1);
  g_autofree char *joined = g_strjoinv ("\"\"", parts);

  return g_strconcat ("\"", joined, "\"", NULL);
}

/* 'text' with inner quotes doubled.  (transfer full) */
static char *
literal (const char *text)
{
  g_auto (GStrv) parts = g_strsplit (text, "'", -1);
  g_autofree char *joined = g_strjoinv ("''", parts);

  return g_strconcat ("'", joined, "'", NULL);
}

static gboolean
db_error (sqlite3 *db, GError **error, const char *what)
{
  g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s: %s", what, sqlite3_errmsg (db));
  return FALSE;
}

static ColumnKind
classify (const char *table, const char *column, const char *type)
{
  g_autofree char *qualified = g_strconcat (table, ".", column, NULL);

  if (g_ascii_strcasecmp (type, "BLOB") != 0)
    return COLUMN_PLAIN;
  if (g_str_has_suffix (column, "_bidx"))
    return COLUMN_WITHHELD;
  for (gsize i = 0; i < G_N_ELEMENTS (withheld_columns); i++)
    if (strcmp (qualified, withheld_columns[i]) == 0)
      return COLUMN_WITHHELD;
  return COLUMN_ENCRYPTED;
}

static Table *
find_table (GPtrArray *tables, const char *name)
{
  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = tables->pdata[i];
      if (strcmp (t->name, name) == 0)
        return t;
    }
  return NULL;
}

/* Reads one table's columns and foreign keys; NULL (without an error) if
 * it is not a synced table. */
static Table *
load_table (sqlite3 *db, const char *name, GError **error)
{
  Table *t = g_new0 (Table, 1);
  gboolean has_id = FALSE, has_deleted = FALSE;
  sqlite3_stmt *st = NULL;
  int rc;

  t->name = g_strdup (name);
  t->columns = g_ptr_array_new_with_free_func (column_free);
  t->foreign_keys = g_ptr_array_new_with_free_func (foreign_key_free);

  if (sqlite3_prepare_v2 (db, "SELECT name, coalesce(type, '') FROM pragma_table_info(?1) "
                              "ORDER BY cid", -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      Column *c = g_new0 (Column, 1);

      c->name = g_strdup ((const char *) sqlite3_column_text (st, 0));
      c->kind = classify (name, c->name, (const char *) sqlite3_column_text (st, 1));
      has_id |= strcmp (c->name, "id") == 0;
      has_deleted |= strcmp (c->name, "deleted") == 0;
      g_ptr_array_add (t->columns, c);
    }
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  st = NULL;
  if (!has_id || !has_deleted)
    {
      table_free (t);
      return NULL;
    }

  if (sqlite3_prepare_v2 (db, "SELECT \"table\", \"from\", coalesce(\"to\", 'id'), "
                              "upper(on_delete) = 'CASCADE' FROM pragma_foreign_key_list(?1) "
                              "ORDER BY id, seq", -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      ForeignKey *fk = g_new0 (ForeignKey, 1);

      fk->parent = g_strdup ((const char *) sqlite3_column_text (st, 0));
      fk->from = g_strdup ((const char *) sqlite3_column_text (st, 1));
      fk->to = g_strdup ((const char *) sqlite3_column_text (st, 2));
      fk->cascade = sqlite3_column_int (st, 3) != 0;
      g_ptr_array_add (t->foreign_keys, fk);
    }
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  return t;

fail:
  db_error (db, error, "cannot read the schema");
  sqlite3_finalize (st);
  table_free (t);
  return (gpointer) -1;
}

/* Works out which rows belong to a client, from the foreign keys:
 * clients.id = ?1, then every table with an ON DELETE CASCADE key to a
 * table already owned, until nothing changes; then, for the tables that
 * belong to no client, the rows that owned rows name. */
static void
resolve_filters (GPtrArray *tables)
{
  Table *clients = find_table (tables, "clients");
  gboolean changed = TRUE;

  if (clients == NULL)
    return;
  clients->owner_filter = g_strdup ("\"id\" = ?1");

  while (changed)
    {
      changed = FALSE;
      for (guint i = 0; i < tables->len; i++)
        {
          Table *t = tables->pdata[i];
          g_autoptr (GString) cond = NULL;

          if (t->owner_filter != NULL)
            continue;
          for (guint k = 0; k < t->foreign_keys->len; k++)
            {
              ForeignKey *fk = t->foreign_keys->pdata[k];
              Table *parent = find_table (tables, fk->parent);
              g_autofree char *from = NULL, *to = NULL, *pname = NULL;

              if (!fk->cascade || parent == NULL || parent->owner_filter == NULL || parent == t)
                continue;
              from = ident (fk->from);
              if (cond == NULL)
                cond = g_string_new (NULL);
              else
                g_string_append (cond, " OR ");
              if (parent == clients && strcmp (fk->to, "id") == 0)
                {
                  g_string_append_printf (cond, "%s = ?1", from);
                  continue;
                }
              to = ident (fk->to);
              pname = ident (parent->name);
              g_string_append_printf (cond, "%s IN (SELECT %s FROM %s WHERE %s)", from, to, pname,
                                      parent->owner_filter);
            }
          if (cond != NULL)
            {
              t->owner_filter = g_string_free (g_steal_pointer (&cond), FALSE);
              changed = TRUE;
            }
        }
    }

  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = tables->pdata[i];
      g_autoptr (GString) cond = NULL;

      if (t->owner_filter != NULL)
        {
          t->export_filter = g_strdup (t->owner_filter);
          continue;
        }
      /* A table no client owns: the rows that the client's rows name. */
      for (guint j = 0; j < tables->len; j++)
        {
          Table *owner = tables->pdata[j];

          if (owner->owner_filter == NULL)
            continue;
          for (guint k = 0; k < owner->foreign_keys->len; k++)
            {
              ForeignKey *fk = owner->foreign_keys->pdata[k];
              g_autofree char *from = NULL, *to = NULL, *oname = NULL;

              if (strcmp (fk->parent, t->name) != 0)
                continue;
              from = ident (fk->from);
              to = ident (fk->to);
              oname = ident (owner->name);
              if (cond == NULL)
                cond = g_string_new (NULL);
              else
                g_string_append (cond, " OR ");
              g_string_append_printf (cond, "%s IN (SELECT %s FROM %s WHERE \"deleted\" = 0 AND (%s))",
                                      to, from, oname, owner->owner_filter);
            }
        }
      if (cond != NULL)
        t->export_filter = g_string_free (g_steal_pointer (&cond), FALSE);
    }
}

/* The synced tables, in name order, with their filters.
 * (element-type Table) (transfer full) */
static GPtrArray *
load_schema (sqlite3 *db, GError **error)
{
  g_autoptr (GPtrArray) tables = g_ptr_array_new_with_free_func (table_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                              "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                          -1, &st, NULL) != SQLITE_OK)
    {
      db_error (db, error, "cannot read the schema");
      return NULL;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      db_error (db, error, "cannot read the schema");
      return NULL;
    }
  for (guint i = 0; i < names->len; i++)
    {
      Table *t = load_table (db, names->pdata[i], error);

      if (t == (gpointer) -1)
        return NULL;
      if (t != NULL)
        g_ptr_array_add (tables, t);
    }
  resolve_filters (tables);
  return g_steal_pointer (&tables);
}

char *
mts_export_client_rows_sql (MtsStore *store, GError **error)
{
  g_autoptr (GPtrArray) tables = NULL;
  g_autoptr (GString) sql = g_string_new (NULL);

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  tables = load_schema (mts_store_get_db (store), error);
  if (tables == NULL)
    return NULL;
  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = tables->pdata[i];
      g_autofree char *lit = NULL, *name = NULL;

      if (t->owner_filter == NULL)
        continue;
      lit = literal (t->name);
      name = ident (t->name);
      g_string_append_printf (sql, "%sSELECT %s AS target, \"id\" AS row_id FROM %s WHERE %s",
                              sql->len ? " UNION ALL " : "", lit, name, t->owner_filter);
    }
  if (sql->len == 0)
    {
      g_set_error_literal (error, MTS_EXPORT_ERROR, MTS_EXPORT_ERROR_SCHEMA,
                           "the store has no clients table");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&sql), FALSE);
}

/* ---- values ---- */

static void
json_add_column (JsonBuilder *b, sqlite3_stmt *st, int i)
{
  switch (sqlite3_column_type (st, i))
    {
    case SQLITE_INTEGER:
      json_builder_add_int_value (b, sqlite3_column_int64 (st, i));
      break;
    case SQLITE_FLOAT:
      json_builder_add_double_value (b, sqlite3_column_double (st, i));
      break;
    case SQLITE_TEXT:
      {
        const char *text = (const char *) sqlite3_column_text (st, i);
        if (g_utf8_validate (text, -1, NULL))
          json_builder_add_string_value (b, text);
        else
          {
            g_autofree char *valid = g_utf8_make_valid (text, -1);
            json_builder_add_string_value (b, valid);
          }
      }
      break;
    case SQLITE_BLOB:
      {
        g_autofree char *b64 = g_base64_encode (sqlite3_column_blob (st, i),
                                                sqlite3_column_bytes (st, i));
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "base64");
        json_builder_add_string_value (b, b64);
        json_builder_end_object (b);
      }
      break;
    default:
      json_builder_add_null_value (b);
      break;
    }
}

/* Appends one CSV field (RFC 4180): quoted when it holds a comma, a quote
 * or a line break, with quotes doubled. */
static void
csv_add_field (GString *csv, const char *text, gsize len)
{
  gboolean quote = FALSE;

  for (gsize i = 0; i < len && !quote; i++)
    quote = text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n';
  if (!quote)
    {
      g_string_append_len (csv, text, len);
      return;
    }
  g_string_append_c (csv, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '"')
        g_string_append_c (csv, '"');
      g_string_append_c (csv, text[i]);
    }
  g_string_append_c (csv, '"');
}

static void
csv_add_column (GString *csv, sqlite3_stmt *st, int i)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  switch (sqlite3_column_type (st, i))
    {
    case SQLITE_INTEGER:
      g_string_append_printf (csv, "%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (st, i));
      break;
    case SQLITE_FLOAT:
      g_string_append (csv, g_ascii_dtostr (number, sizeof number, sqlite3_column_double (st, i)));
      break;
    case SQLITE_TEXT:
      csv_add_field (csv, (const char *) sqlite3_column_text (st, i), sqlite3_column_bytes (st, i));
      break;
    case SQLITE_BLOB:
      {
        g_autofree char *b64 = g_base64_encode (sqlite3_column_blob (st, i),
                                                sqlite3_column_bytes (st, i));
        g_string_append (csv, b64);
      }
      break;
    default:
      break;   /* NULL: an empty field */
    }
}

/* Frees a string that held plaintext, wiping it first. */
static void
wipe_string (GString *s)
{
  if (s == NULL)
    return;
  sodium_memzero (s->str, s->allocated_len);
  g_string_free (s, TRUE);
}

/* ---- reading ---- */

typedef struct {
  char *file_name;   /* <table>.csv */
  GString *csv;
} CsvFile;

static void
csv_file_free (gpointer p)
{
  CsvFile *f = p;

  g_free (f->file_name);
  wipe_string (f->csv);
  g_free (f);
}

/* Reads @t's live rows (the client's, with @client_id) into the "tables"
 * object being built in @b and into a CSV file.  Returns the row count, or
 * -1 with @error set. */
static gint64
read_table (sqlite3 *db, Table *t, const char *client_id, JsonBuilder *b, GPtrArray *csv_files,
            GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT ");
  g_autoptr (GPtrArray) exported = g_ptr_array_new ();
  g_autofree char *tname = ident (t->name);
  CsvFile *file;
  sqlite3_stmt *st;
  gint64 n = 0;
  int rc;

  for (guint i = 0; i < t->columns->len; i++)
    {
      Column *c = t->columns->pdata[i];
      g_autofree char *cname = ident (c->name);

      if (c->kind == COLUMN_WITHHELD)
        continue;
      if (exported->len > 0)
        g_string_append (sql, ", ");
      if (c->kind == COLUMN_ENCRYPTED)
        {
          g_autofree char *prefix = g_strdup_printf ("%s.%s:", t->name, c->name);
          g_autofree char *context = literal (prefix);
          g_string_append_printf (sql, "mts_decrypt(%s, %s || \"id\")", cname, context);
        }
      else
        g_string_append (sql, cname);
      g_ptr_array_add (exported, c);
    }
  g_string_append_printf (sql, " FROM %s WHERE \"deleted\" = 0", tname);
  if (client_id != NULL)
    g_string_append_printf (sql, " AND (%s)", t->export_filter);
  g_string_append (sql, " ORDER BY \"id\"");

  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    {
      g_set_error (error, MTS_EXPORT_ERROR, MTS_EXPORT_ERROR_SCHEMA, "cannot read table %s: %s",
                   t->name, sqlite3_errmsg (db));
      return -1;
    }
  if (client_id != NULL)
    sqlite3_bind_text (st, 1, client_id, -1, SQLITE_TRANSIENT);

  file = g_new0 (CsvFile, 1);
  file->file_name = g_strconcat (t->name, ".csv", NULL);
  file->csv = g_string_new (NULL);
  g_ptr_array_add (csv_files, file);

  json_builder_set_member_name (b, t->name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "columns");
  json_builder_begin_array (b);
  for (guint i = 0; i < exported->len; i++)
    {
      Column *c = exported->pdata[i];
      json_builder_add_string_value (b, c->name);
      if (i > 0)
        g_string_append_c (file->csv, ',');
      csv_add_field (file->csv, c->name, strlen (c->name));
    }
  g_string_append (file->csv, "\r\n");
  json_builder_end_array (b);
  json_builder_set_member_name (b, "encrypted_columns");
  json_builder_begin_array (b);
  for (guint i = 0; i < exported->len; i++)
    {
      Column *c = exported->pdata[i];
      if (c->kind == COLUMN_ENCRYPTED)
        json_builder_add_string_value (b, c->name);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "withheld_columns");
  json_builder_begin_array (b);
  for (guint i = 0; i < t->columns->len; i++)
    {
      Column *c = t->columns->pdata[i];
      if (c->kind == COLUMN_WITHHELD)
        json_builder_add_string_value (b, c->name);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "rows");
  json_builder_begin_array (b);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      json_builder_begin_object (b);
      for (guint i = 0; i < exported->len; i++)
        {
          Column *c = exported->pdata[i];
          json_builder_set_member_name (b, c->name);
          json_add_column (b, st, (int) i);
          if (i > 0)
            g_string_append_c (file->csv, ',');
          csv_add_column (file->csv, st, (int) i);
        }
      g_string_append (file->csv, "\r\n");
      json_builder_end_object (b);
      n++;
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (rc != SQLITE_DONE)
    {
      const char *msg = sqlite3_errmsg (db);
      if (strstr (msg, "keystore is locked") != NULL)
        g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                             "the store is locked; unlock it first");
      else
        g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "cannot read table %s: %s",
                     t->name, msg);
      sqlite3_finalize (st);
      return -1;
    }
  sqlite3_finalize (st);
  return n;
}

/* The keystore's random id, in hex: the store's identity.  (transfer full) */
static char *
store_id (MtsStore *store)
{
  g_autofree char *path = g_build_filename (mts_store_get_dir (store), "practice.mtskey", NULL);
  g_autofree char *data = NULL;
  char hex[MTS_KEYSTORE_ID_BYTES * 2 + 1];
  MtsKeystoreFile file;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, NULL)
      || !mts_keystore_parse ((const guint8 *) data, len, &file, NULL))
    return NULL;
  sodium_bin2hex (hex, sizeof hex, file.keystore_id, MTS_KEYSTORE_ID_BYTES);
  return g_strdup (hex);
}

static gint64
schema_version (sqlite3 *db)
{
  sqlite3_stmt *st;
  gint64 v = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

/* UTC now, "YYYY-MM-DDTHH:MM:SS.sssZ", as the store writes times.  (transfer full) */
static char *
now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *base = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", base, g_date_time_get_microsecond (now) / 1000);
}

/* Records the export in the audit log; returns the entry's number, or -1. */
static gint64
audit_export (sqlite3 *db, const char *client_id, guint n_tables, const MtsExportSummary *sum,
              GError **error)
{
  g_autofree char *target = client_id ? g_strconcat ("client:", client_id, NULL)
                                      : g_strdup ("practice");
  /* Not the folder's path: it is the user's choice, may name the client,
   * and the audit log is not encrypted. */
  g_autofree char *detail = g_strdup_printf ("format %d: %u rows from %u tables, %u files%s",
                                             MTS_EXPORT_FORMAT_VERSION, sum->n_rows, n_tables,
                                             sum->n_files,
                                             sum->n_damaged > 0 ? " (damaged files left out)" : "");
  sqlite3_stmt *st;
  gint64 seq = -1;

  if (sqlite3_prepare_v2 (db, "SELECT mts_audit_event('export', ?1, ?2)", -1, &st, NULL) != SQLITE_OK)
    {
      db_error (db, error, "cannot record the export in the audit log");
      return -1;
    }
  sqlite3_bind_text (st, 1, target, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, detail, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    seq = sqlite3_column_int64 (st, 0);
  else
    db_error (db, error, "cannot record the export in the audit log");
  sqlite3_finalize (st);
  return seq;
}

/* ---- writing ---- */

/* What an export has put in its folder so far, to take away on failure:
 * files and folders, by path relative to the export folder. */
typedef struct {
  const char *dir;
  gboolean created;    /* the export folder itself was made here */
  GPtrArray *files;    /* (element-type utf8) */
  GPtrArray *folders;  /* (element-type utf8), in the order made */
} Written;

static void
written_init (Written *w, const char *dir)
{
  w->dir = dir;
  w->created = FALSE;
  w->files = g_ptr_array_new_with_free_func (g_free);
  w->folders = g_ptr_array_new_with_free_func (g_free);
}

static void
written_clear (Written *w)
{
  g_clear_pointer (&w->files, g_ptr_array_unref);
  g_clear_pointer (&w->folders, g_ptr_array_unref);
}

/* Removes everything written, then the export folder if it was made here. */
static void
written_remove (Written *w)
{
  for (guint i = 0; i < w->files->len; i++)
    {
      g_autofree char *path = g_build_filename (w->dir, w->files->pdata[i], NULL);
      g_unlink (path);
    }
  for (guint i = w->folders->len; i > 0; i--)
    {
      g_autofree char *path = g_build_filename (w->dir, w->folders->pdata[i - 1], NULL);
      g_rmdir (path);
    }
  if (w->created)
    g_rmdir (w->dir);
}

/* Creates @dir 0700, or accepts an existing empty folder (made 0700).
 * *@created says whether it was made here. */
static gboolean
prepare_folder (const char *dir, gboolean *created, GError **error)
{
  g_autoptr (GDir) d = NULL;
  struct stat st;
  int saved;

  *created = FALSE;
  if (g_mkdir (dir, 0700) == 0)
    {
      *created = TRUE;
      return TRUE;
    }
  saved = errno;
  if (saved != EEXIST)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   dir, g_strerror (saved));
      return FALSE;
    }
  if (g_lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, MTS_EXPORT_ERROR, MTS_EXPORT_ERROR_FOLDER,
                   "%s exists and is not a folder", dir);
      return FALSE;
    }
  d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return FALSE;
  if (g_dir_read_name (d) != NULL)
    {
      g_set_error (error, MTS_EXPORT_ERROR, MTS_EXPORT_ERROR_FOLDER,
                   "%s is not empty: export to a new folder", dir);
      return FALSE;
    }
  if (g_chmod (dir, 0700) != 0)
    {
      saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot chmod %s: %s",
                   dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Makes the folder @rel (relative to the export folder), 0700; it must not
 * exist yet. */
static gboolean
make_folder (Written *w, const char *rel, GError **error)
{
  g_autofree char *path = g_build_filename (w->dir, rel, NULL);
  int saved;

  if (g_mkdir (path, 0700) != 0)
    {
      saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  g_ptr_array_add (w->folders, g_strdup (rel));
  return TRUE;
}

/* Writes a new file, 0600, refusing to replace or follow anything. */
static gboolean
write_new_file (Written *w, const char *name, const char *data, gsize len, GError **error)
{
  g_autofree char *path = g_build_filename (w->dir, name, NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gsize done = 0;
  int saved;

  if (fd < 0)
    goto fail;
  g_ptr_array_add (w->files, g_strdup (name));
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      done += (gsize) n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  return TRUE;

fail:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot write %s: %s",
               path, g_strerror (saved));
  return FALSE;
}

/* ---- documents' files ---- */

/* Longest exported file name, in bytes: under NAME_MAX (255) with room for
 * the ".<name>.XXXXXX" temporary the documents API writes beside it. */
#define EXPORT_NAME_MAX 200
/* An extension longer than this is not kept when a long name is cut. */
#define EXPORT_EXT_MAX 16

/* A document's file name as one safe path component: path separators and
 * control characters become '_', leading dots go (no hidden files, no "."
 * or ".."), a name longer than EXPORT_NAME_MAX bytes is cut at a character
 * boundary keeping a short extension, and an empty name is "document".
 * (transfer full) */
static char *
export_file_name (const char *name)
{
  g_autofree char *valid = g_utf8_make_valid (name != NULL ? name : "", -1);
  GString *s = g_string_new (NULL);
  const char *p = valid;

  while (*p == '.')
    p++;
  for (; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      g_string_append_c (s, (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) ? '_' : (char) c);
    }
  if (s->len > EXPORT_NAME_MAX)
    {
      const char *dot = strrchr (s->str, '.');
      gsize ext_len = dot != NULL && strlen (dot) <= EXPORT_EXT_MAX ? strlen (dot) : 0;
      g_autofree char *ext = g_strdup (s->str + s->len - ext_len);
      gsize cut = EXPORT_NAME_MAX - ext_len;

      /* s->str[cut] is the first byte dropped: not inside a character. */
      while (cut > 0 && ((guchar) s->str[cut] & 0xc0) == 0x80)
        cut--;
      g_string_truncate (s, cut);
      g_string_append (s, ext);
    }
  if (s->len == 0)
    g_string_assign (s, "document");
  return g_string_free (s, FALSE);
}

/* A document id is a folder name in the export: only letters, digits and
 * '-' (a UUID), so that a row altered in the database cannot name a path
 * outside files/. */
static gboolean
valid_document_id (const char *id)
{
  if (id == NULL || *id == '\0')
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* The ids of @t's live documents in the export, in id order.
 * (element-type utf8) (transfer full) */
static GPtrArray *
document_ids (sqlite3 *db, Table *t, const char *client_id, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) sql = g_string_new ("SELECT \"id\" FROM \"documents\" WHERE \"deleted\" = 0");
  sqlite3_stmt *st;
  int rc;

  if (client_id != NULL)
    g_string_append_printf (sql, " AND (%s)", t->export_filter);
  g_string_append (sql, " ORDER BY \"id\"");
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    {
      db_error (db, error, "cannot read the documents");
      return NULL;
    }
  if (client_id != NULL)
    sqlite3_bind_text (st, 1, client_id, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  if (rc != SQLITE_DONE)
    {
      db_error (db, error, "cannot read the documents");
      sqlite3_finalize (st);
      return NULL;
    }
  sqlite3_finalize (st);
  return g_steal_pointer (&ids);
}

/* Decrypts the file of every document in the export (the client's, with
 * @client_id) to files/<id>/<file name> in the export folder, and lists each
 * in the array being built in @b: written and checked ("ok"), or damaged
 * and not written ("damaged", with the reason).  Any other failure stops
 * the export. */
static gboolean
export_files (MtsStore *store, Table *documents, const char *client_id, Written *w,
              JsonBuilder *b, MtsExportSummary *sum, GError **error)
{
  g_autoptr (GPtrArray) ids = NULL;

  ids = document_ids (mts_store_get_db (store), documents, client_id, error);
  if (ids == NULL)
    return FALSE;
  if (ids->len > 0 && !make_folder (w, "files", error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autoptr (MtsDocument) d = NULL;
      g_autoptr (GError) local = NULL;
      g_autofree char *name = NULL, *rel_dir = NULL, *rel = NULL, *dest = NULL;
      g_autofree char *file_name = NULL;

      if (!valid_document_id (id))
        {
          g_set_error (error, MTS_EXPORT_ERROR, MTS_EXPORT_ERROR_SCHEMA,
                       "document id %s cannot name a folder", id);
          return FALSE;
        }
      if ((d = mts_store_document_info (store, id, error)) == NULL)
        return FALSE;
      name = export_file_name (d->file_name);
      rel_dir = g_build_filename ("files", id, NULL);
      rel = g_build_filename (rel_dir, name, NULL);
      dest = g_build_filename (w->dir, rel, NULL);
      if (!make_folder (w, rel_dir, error))
        return FALSE;
      if (mts_store_document_get (store, id, dest, &local))
        {
          g_ptr_array_add (w->files, g_strdup (rel));
          sum->n_files++;
        }
      else if (g_error_matches (local, MTS_DOCUMENT_ERROR, MTS_DOCUMENT_ERROR_DAMAGED))
        {
          g_autofree char *path = g_build_filename (w->dir, rel_dir, NULL);

          /* Nothing was left in it: the folder goes. */
          g_rmdir (path);
          g_ptr_array_remove_index (w->folders, w->folders->len - 1);
          sum->n_damaged++;
        }
      else
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }

      file_name = g_utf8_make_valid (d->file_name != NULL ? d->file_name : "", -1);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "document_id");
      json_builder_add_string_value (b, id);
      json_builder_set_member_name (b, "client_id");
      json_builder_add_string_value (b, d->client_id);
      json_builder_set_member_name (b, "file_name");
      json_builder_add_string_value (b, file_name);
      json_builder_set_member_name (b, "path");
      if (local == NULL)
        json_builder_add_string_value (b, rel);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "size_bytes");
      json_builder_add_int_value (b, d->size_bytes);
      json_builder_set_member_name (b, "mime_type");
      if (d->mime_type != NULL)
        json_builder_add_string_value (b, d->mime_type);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "check");
      json_builder_add_string_value (b, local == NULL ? "ok" : "damaged");
      json_builder_set_member_name (b, "error");
      if (local == NULL)
        json_builder_add_null_value (b);
      else
        json_builder_add_string_value (b, local->message);
      json_builder_end_object (b);
    }
  return TRUE;
}

/* ---- the export ---- */

gboolean
mts_export_write (MtsStore *store, const char *dir, const char *client_id,
                  MtsExportSummary *summary, GError **error)
{
  g_autoptr (GPtrArray) tables = NULL;
  g_autoptr (GPtrArray) csv_files = g_ptr_array_new_with_free_func (csv_file_free);
  g_autoptr (JsonBuilder) tb = json_builder_new ();
  g_autoptr (JsonBuilder) fb = json_builder_new ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (MtsClinician) actor = NULL;
  g_autofree char *exported_at = NULL;
  g_autofree char *id = NULL;
  g_autofree char *json = NULL;
  MtsExportSummary sum = { 0 };
  Written w;
  Table *documents;
  sqlite3 *db;
  gsize json_len = 0;
  guint n_tables = 0;
  gboolean in_transaction = FALSE, ok = FALSE;
  gint64 seq;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);

  if (!mts_store_is_unlocked (store))
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                           "the store is locked; unlock it first");
      return FALSE;
    }
  db = mts_store_get_db (store);
  if (client_id != NULL)
    {
      g_autoptr (MtsClient) client = mts_store_client_get (store, client_id, error);
      if (client == NULL)
        return FALSE;
    }
  actor = mts_store_clinician_get (store, mts_store_get_actor (store), NULL);
  tables = load_schema (db, error);
  if (tables == NULL)
    return FALSE;
  documents = find_table (tables, "documents");

  written_init (&w, dir);
  if (!prepare_folder (dir, &w.created, error))
    goto out;

  /* One transaction: the rows are one consistent snapshot, the documents'
   * files cannot be deleted under the export (a delete waits for the write
   * lock), and the audit entry commits with the read or not at all. */
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      db_error (db, error, "cannot start the export");
      goto out;
    }
  in_transaction = TRUE;
  exported_at = now_iso ();
  json_builder_begin_object (tb);
  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = tables->pdata[i];
      gint64 n;

      if (client_id != NULL && t->export_filter == NULL)
        continue;   /* about no client, e.g. note_templates */
      n = read_table (db, t, client_id, tb, csv_files, error);
      if (n < 0)
        goto out;
      sum.n_rows += (guint) n;
      n_tables++;
    }
  json_builder_end_object (tb);
  json_builder_begin_array (fb);
  if (documents != NULL && (client_id == NULL || documents->export_filter != NULL)
      && !export_files (store, documents, client_id, &w, fb, &sum, error))
    goto out;
  json_builder_end_array (fb);
  seq = audit_export (db, client_id, n_tables, &sum, error);
  if (seq < 0)
    goto out;
  if (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      db_error (db, error, "cannot record the export");
      goto out;
    }
  in_transaction = FALSE;

  /* The bundle. */
  id = store_id (store);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "mts-export");
  json_builder_set_member_name (b, "format_version");
  json_builder_add_int_value (b, MTS_EXPORT_FORMAT_VERSION);
  json_builder_set_member_name (b, "exported_at");
  json_builder_add_string_value (b, exported_at);
  json_builder_set_member_name (b, "store");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  if (id != NULL)
    json_builder_add_string_value (b, id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, mts_store_get_dir (store));
  json_builder_set_member_name (b, "schema_version");
  json_builder_add_int_value (b, schema_version (db));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "actor");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, mts_store_get_actor (store));
  json_builder_set_member_name (b, "name");
  if (actor != NULL && actor->display_name != NULL)
    json_builder_add_string_value (b, actor->display_name);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "client_id");
  if (client_id != NULL)
    json_builder_add_string_value (b, client_id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "audit_seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "row_count");
  json_builder_add_int_value (b, sum.n_rows);
  json_builder_set_member_name (b, "tables");
  json_builder_add_value (b, json_builder_get_root (tb));
  json_builder_set_member_name (b, "files");
  json_builder_add_value (b, json_builder_get_root (fb));
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  json = mts_json_generate (gen, &json_len);

  if (!write_new_file (&w, "bundle.json", json, json_len, error))
    goto out;
  for (guint i = 0; i < csv_files->len; i++)
    {
      CsvFile *f = csv_files->pdata[i];

      if (!write_new_file (&w, f->file_name, f->csv->str, f->csv->len, error))
        goto out;
    }
  if (summary != NULL)
    *summary = sum;
  ok = TRUE;

out:
  if (in_transaction)
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  if (!ok)
    written_remove (&w);
  written_clear (&w);
  if (json != NULL)
    sodium_memzero (json, json_len);
  return ok;
}
