/* test-tables.c — the sync API's table registry (server/mts-sync-tables.c)
 * mirrors the practice schema (schema/0001-initial.sql): the same tables and
 * columns, minus what stays on a device, and every column the schema
 * encrypts is sensitive on the server too (and no other). */
#include <glib.h>
#include <string.h>

#include "mts-sync-tables.h"

static const char *const local_only[] = {
  "id", "version", "deleted", "email_bidx", "phone_bidx", "file_key", "content_hash", NULL
};

/* The schema's columns of @table: name -> "encrypted" or "plain". */
static GHashTable *
schema_columns (const char *sql, const char *table)
{
  g_autofree char *start_pat = g_strdup_printf ("CREATE TABLE %s (", table);
  const char *start = strstr (sql, start_pat);
  const char *end;
  g_autofree char *body = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GRegex) column = g_regex_new ("^  ([a-z_]+)\\s+(TEXT|INTEGER|BLOB)", 0, 0, NULL);

  if (start == NULL)
    return columns;
  end = strstr (start, "\n);");
  g_assert_nonnull (end);
  body = g_strndup (start, end - start);
  lines = g_strsplit (body, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) m = NULL;

      if (g_regex_match (column, lines[i], 0, &m))
        {
          g_autofree char *name = g_match_info_fetch (m, 1);
          gboolean encrypted = strstr (lines[i], "-- encrypted") != NULL;
          if (!g_strv_contains (local_only, name))
            g_hash_table_insert (columns, g_steal_pointer (&name),
                                 (gpointer) (encrypted ? "encrypted" : "plain"));
        }
    }
  return columns;
}

static void
test_mirror (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "..", "schema",
                                                 "0001-initial.sql", NULL);
  g_autofree char *sql = NULL;
  g_autoptr(GError) error = NULL;
  const MtsTableSpec *tables;
  guint n;

  g_assert_true (g_file_get_contents (path, &sql, NULL, &error));
  g_assert_no_error (error);
  tables = mts_tables (&n);
  g_assert_cmpuint (n, ==, 11);
  for (guint t = 0; t < n; t++)
    {
      g_autoptr(GHashTable) columns = schema_columns (sql, tables[t].name);

      g_test_message ("table %s", tables[t].name);
      g_assert_cmpuint (g_hash_table_size (columns), ==, tables[t].n_fields);
      for (guint f = 0; f < tables[t].n_fields; f++)
        {
          const MtsFieldSpec *spec = &tables[t].fields[f];
          const char *kind = g_hash_table_lookup (columns, spec->name);
          gboolean sensitive = (spec->flags & MTS_FIELD_SENSITIVE) != 0;

          g_test_message ("  field %s", spec->name);
          g_assert_nonnull (kind);
          g_assert_cmpint (sensitive, ==, strcmp (kind, "encrypted") == 0);
          /* Only free text merges line-wise, and it is always sensitive. */
          if (spec->flags & MTS_FIELD_MERGE)
            g_assert_true (sensitive && spec->type == MTS_FIELD_TEXT);
        }
    }
}

static void
test_lookup (void)
{
  const MtsTableSpec *notes = mts_table_lookup ("notes");

  g_assert_nonnull (notes);
  g_assert_null (mts_table_lookup ("sync_outbox"));
  g_assert_null (mts_table_lookup ("mts_audit"));
  g_assert_null (mts_table_lookup (""));
  g_assert_null (mts_table_lookup (NULL));
  g_assert_nonnull (mts_table_field (notes, "body"));
  g_assert_null (mts_table_field (notes, "version"));
  g_assert_null (mts_table_field (notes, "bodyx"));
  g_assert_true (mts_table_has_sensitive (notes));
  g_assert_false (mts_table_has_sensitive (mts_table_lookup ("note_templates")));
  g_assert_false (mts_table_has_sensitive (mts_table_lookup ("payments")));
}

/* References come before the records that make them, so a first sync can
 * apply pages table by table without breaking a foreign key. */
static void
test_order (void)
{
  guint n;
  const MtsTableSpec *tables = mts_tables (&n);
  const char *order[] = { "clinicians", "clients", "invoices", "payments", "sessions",
                          "note_templates", "notes", "documents", "agreements",
                          "risk_flags", "ai_consents" };

  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (tables[i].name, ==, order[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tables/mirror-schema", test_mirror);
  g_test_add_func ("/tables/lookup", test_lookup);
  g_test_add_func ("/tables/order", test_order);
  return g_test_run ();
}
