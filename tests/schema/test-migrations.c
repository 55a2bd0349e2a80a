/* test-migrations.c — the schema runner (schema/mts-migrations.h) with the
 * built-in migrations and with lists of its own. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-error.h"
#include "mts-migrations.h"
#include "mts-sqlite.h"

#define PASS "correct horse battery"

typedef struct {
  char *dir;
  char *keystore;
  char *db_path;
  sqlite3 *db;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  char *err = NULL;

  fx->dir = g_dir_make_tmp ("mts-test-schema-XXXXXX", &error);
  g_assert_no_error (error);
  fx->keystore = g_build_filename (fx->dir, "practice.mtskey", NULL);
  fx->db_path = g_build_filename (fx->dir, "practice.db", NULL);
  g_assert_true (mts_keystore_create (fx->keystore, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (fx->db_path, &fx->db), ==, SQLITE_OK);
  g_assert_cmpint (mts_sqlite_register (fx->db, &err), ==, SQLITE_OK);
  g_assert_null (err);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autoptr (GDir) d = NULL;
  const char *name;

  g_assert_cmpint (sqlite3_close (fx->db), ==, SQLITE_OK);
  d = g_dir_open (fx->dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (fx->dir, name, NULL);
      g_assert_cmpint (g_remove (p), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fx->dir), ==, 0);
  g_free (fx->db_path);
  g_free (fx->keystore);
  g_free (fx->dir);
}

static void
unlock (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  MtsKeystore *ks = mts_keystore_unlock (fx->keystore, PASS, strlen (PASS), &error);

  g_assert_no_error (error);
  g_assert_true (mts_sqlite_set_keystore (fx->db, ks, &error));
  g_assert_no_error (error);
}

/* The first column of the first row of @sql, as text (g_free). */
static char *
query (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  char *result = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  if (sqlite3_step (st) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return result;
}

static void
exec_ok (sqlite3 *db, const char *sql)
{
  char *err = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK)
    g_error ("%s: %s", sql, err);
}

static int
version_of (sqlite3 *db)
{
  g_autoptr (GError) error = NULL;
  int v = mts_migrations_current (db, &error);

  g_assert_no_error (error);
  return v;
}

static void
test_builtin_numbered (void)
{
  guint n = 0;
  const MtsMigration *list = mts_migrations_builtin (&n);

  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%04u-", i + 1);
      g_assert_cmpint (list[i].version, ==, (int) i + 1);
      g_assert_true (g_str_has_prefix (list[i].name, prefix));
      g_assert_nonnull (strstr (list[i].sql, "CREATE"));
      /* The runner owns versions and transactions, never a migration. */
      g_assert_null (strstr (list[i].sql, "user_version"));
      g_assert_null (strstr (list[i].sql, "BEGIN TRANSACTION"));
    }
  g_assert_cmpint (mts_migrations_latest (), ==, (int) n);
}

static void
test_fresh_store (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *verify = NULL;
  g_autofree char *tables = NULL;
  guint applied = 99;

  unlock (fx);
  g_assert_cmpint (version_of (fx->db), ==, 0);
  g_assert_true (mts_migrations_apply (fx->db, &applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied, ==, (guint) mts_migrations_latest ());
  g_assert_cmpint (version_of (fx->db), ==, mts_migrations_latest ());
  tables = query (fx->db, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema "
                          "WHERE type = 'table' AND name IN ('clients', 'notes', 'sync_outbox', "
                          "'sync_state', 'mts_audit') ORDER BY name)");
  g_assert_cmpstr (tables, ==, "clients,mts_audit,notes,sync_outbox,sync_state");
  verify = query (fx->db, "SELECT mts_audit_verify()");
  g_assert_cmpstr (verify, ==, "ok");

  /* Applying again does nothing. */
  g_assert_true (mts_migrations_apply (fx->db, &applied, &error));
  g_assert_cmpuint (applied, ==, 0);
}

static void
test_every_earlier_version (Fixture *fx, gconstpointer data)
{
  guint n = 0;
  const MtsMigration *list = mts_migrations_builtin (&n);

  unlock (fx);
  for (guint from = 0; from < n; from++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *verify = NULL;
      g_autofree char *path = g_strdup_printf ("%s/from-%u.db", fx->dir, from);
      sqlite3 *db = NULL;
      char *err = NULL;
      guint applied = 0;

      g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
      g_assert_cmpint (mts_sqlite_register (db, &err), ==, SQLITE_OK);
      {
        MtsKeystore *ks = mts_keystore_unlock (fx->keystore, PASS, strlen (PASS), &error);
        g_assert_true (mts_sqlite_set_keystore (db, ks, &error));
      }
      g_assert_true (mts_migrations_apply_list (db, list, from, &applied, &error));
      g_assert_cmpint (version_of (db), ==, (int) from);
      g_assert_true (mts_migrations_apply (db, &applied, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (applied, ==, n - from);
      g_assert_cmpint (version_of (db), ==, (int) n);
      verify = query (db, "SELECT mts_audit_verify()");
      g_assert_cmpstr (verify, ==, "ok");
      g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
    }
}

static void
test_newer_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d", mts_migrations_latest () + 5);
  gsize len;

  unlock (fx);
  exec_ok (fx->db, "CREATE TABLE kept (x); INSERT INTO kept VALUES (42)");
  exec_ok (fx->db, sql);
  g_assert_true (g_file_get_contents (fx->db_path, &before, &len, NULL));
  g_assert_false (mts_migrations_apply (fx->db, NULL, &error));
  g_assert_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_NEWER);
  g_assert_nonnull (strstr (error->message, "newer than this build"));
  g_assert_true (g_file_get_contents (fx->db_path, &after, &len, NULL));
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (version_of (fx->db), ==, mts_migrations_latest () + 5);
}

static void
test_failure_rolls_back (Fixture *fx, gconstpointer data)
{
  static const MtsMigration list[] = {
    { 1, "0001-a.sql", "CREATE TABLE a (x); INSERT INTO a VALUES (1);" },
    { 2, "0002-b.sql", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (2);" },
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *b = NULL;
  g_autofree char *a = NULL;
  guint applied = 0;

  g_assert_false (mts_migrations_apply_list (fx->db, list, 2, &applied, &error));
  g_assert_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "0002-b.sql"));
  g_assert_nonnull (strstr (error->message, "stays at version 1"));
  g_assert_nonnull (strstr (error->message, "no such table: nowhere"));
  g_assert_cmpuint (applied, ==, 1);
  g_assert_cmpint (version_of (fx->db), ==, 1);
  b = query (fx->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'");
  g_assert_cmpstr (b, ==, "0");
  a = query (fx->db, "SELECT x FROM a");
  g_assert_cmpstr (a, ==, "1");
  g_assert_true (sqlite3_get_autocommit (fx->db));
}

static void
test_data_preserved (Fixture *fx, gconstpointer data)
{
  static const MtsMigration list[] = {
    { 1, "0001-a.sql", "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);" },
    { 2, "0002-b.sql", "ALTER TABLE people ADD COLUMN initials TEXT;"
                       "UPDATE people SET initials = substr(name, 1, 1);" },
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *rows = NULL;

  g_assert_true (mts_migrations_apply_list (fx->db, list, 1, NULL, &error));
  exec_ok (fx->db, "INSERT INTO people (name) VALUES ('Ada'), ('Bo')");
  g_assert_true (mts_migrations_apply_list (fx->db, list, 2, NULL, &error));
  g_assert_no_error (error);
  rows = query (fx->db, "SELECT group_concat(name || ':' || initials, ',') FROM people");
  g_assert_cmpstr (rows, ==, "Ada:A,Bo:B");
}

static void
test_invalid_list (Fixture *fx, gconstpointer data)
{
  static const MtsMigration list[] = {
    { 1, "0001-a.sql", "CREATE TABLE a (x);" },
    { 3, "0003-c.sql", "CREATE TABLE c (x);" },
  };
  g_autoptr (GError) error = NULL;

  g_assert_false (mts_migrations_apply_list (fx->db, list, 2, NULL, &error));
  g_assert_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_INVALID);
  g_assert_cmpint (version_of (fx->db), ==, 0);
}

static void
test_needs_unlocked_keystore (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tables = NULL;

  /* The first migration enables audit triggers, which need the key. */
  g_assert_false (mts_migrations_apply (fx->db, NULL, &error));
  g_assert_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "keystore is locked"));
  g_assert_cmpint (version_of (fx->db), ==, 0);
  tables = query (fx->db, "SELECT count(*) FROM sqlite_schema");
  g_assert_cmpstr (tables, ==, "0");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schema/builtin/numbered", test_builtin_numbered);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/schema/apply/fresh-store", test_fresh_store);
  ADD ("/schema/apply/every-earlier-version", test_every_earlier_version);
  ADD ("/schema/apply/newer-refused", test_newer_refused);
  ADD ("/schema/apply/failure-rolls-back", test_failure_rolls_back);
  ADD ("/schema/apply/data-preserved", test_data_preserved);
  ADD ("/schema/apply/invalid-list", test_invalid_list);
  ADD ("/schema/apply/needs-unlocked-keystore", test_needs_unlocked_keystore);
#undef ADD
  return g_test_run ();
}
