/* bench-workload.c — see bench-workload.h. */
#define _GNU_SOURCE
#include "bench-workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
bench_exec (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  const char *tail = sql;
  char *first = NULL;

  while (tail != NULL && *tail != '\0')
    {
      int rc;

      if (sqlite3_prepare_v2 (db, tail, -1, &stmt, &tail) != SQLITE_OK)
        bench_die ("%s: %s", sql, sqlite3_errmsg (db));
      if (stmt == NULL)
        break;   /* trailing whitespace or comment */
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        if (first == NULL && sqlite3_column_count (stmt) > 0
            && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
          first = strdup ((const char *) sqlite3_column_text (stmt, 0));
      if (rc != SQLITE_DONE)
        bench_die ("%s: %s", sql, sqlite3_errmsg (db));
      sqlite3_finalize (stmt);
    }
  return first;
}

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    bench_die ("%s: %s", sql, sqlite3_errmsg (db));
  return stmt;
}

static sqlite3 *
open_db (const BenchConfig *config, const char *path, const char *dir, int fresh)
{
  sqlite3 *db;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    bench_die ("%s: cannot open %s: %s", config->name, path, sqlite3_errmsg (db));
  if (config->prepare != NULL)
    config->prepare (config, db, dir, fresh);
  return db;
}

static void
check_note (const BenchConfig *config, const uint8_t *notes, sqlite3_int64 id,
            const void *got, int len)
{
  if (id < 1 || id > BENCH_N_NOTES || len != BENCH_NOTE_BYTES || got == NULL
      || memcmp (got, notes + (size_t) (id - 1) * BENCH_NOTE_BYTES, BENCH_NOTE_BYTES) != 0)
    bench_die ("%s: note %lld does not read back as written", config->name, (long long) id);
}

static void
print_param (const BenchConfig *config, sqlite3 *db, const char *name, const char *sql)
{
  char *value = bench_exec (db, sql);

  printf ("PARAM %s %s %s\n", config->name, name, value ? value : "?");
  free (value);
}

void
bench_run_sql (const BenchConfig *config, const uint8_t *notes, const int64_t *ids)
{
  char *dir = bench_tmpdir_new ();
  char *path;
  sqlite3 *db;
  sqlite3_stmt *stmt;
  double t0;
  long rows;
  char *value;
  int rc;

  if (asprintf (&path, "%s/notes.db", dir) < 0)
    bench_die ("out of memory");

  /* A fresh database. */
  db = open_db (config, path, dir, 1);
  free (bench_exec (db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"));

  /* (a) insert, in one transaction.  Earlier configurations' dirty pages
   * are flushed first, so that their writeback is not charged to this one. */
  sync ();
  t0 = bench_now ();
  free (bench_exec (db, "BEGIN"));
  stmt = prepare (db, config->insert_sql);
  for (sqlite3_int64 id = 1; id <= BENCH_N_NOTES; id++)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      sqlite3_bind_blob (stmt, 2, notes + (size_t) (id - 1) * BENCH_NOTE_BYTES,
                         BENCH_NOTE_BYTES, SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        bench_die ("%s: insert: %s", config->name, sqlite3_errmsg (db));
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  free (bench_exec (db, "COMMIT"));
  bench_result (config->name, "insert", bench_now () - t0, BENCH_N_NOTES);
  sqlite3_close (db);

  /* Reopen: what a user pays before the first note. */
  t0 = bench_now ();
  db = open_db (config, path, dir, 0);
  value = bench_exec (db, "SELECT count(*) FROM sqlite_master");
  bench_result (config->name, "open", bench_now () - t0, 1);
  if (value == NULL || strcmp (value, "1") != 0)
    bench_die ("%s: the reopened schema is not the one written", config->name);
  free (value);

  /* (b) full scan. */
  t0 = bench_now ();
  stmt = prepare (db, config->scan_sql);
  rows = 0;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const void *note = sqlite3_column_blob (stmt, 1);
      check_note (config, notes, sqlite3_column_int64 (stmt, 0), note, sqlite3_column_bytes (stmt, 1));
      rows++;
    }
  if (rc != SQLITE_DONE)
    bench_die ("%s: scan: %s", config->name, sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  bench_result (config->name, "scan", bench_now () - t0, rows);
  if (rows != BENCH_N_NOTES)
    bench_die ("%s: the scan read %ld notes, not %d", config->name, rows, BENCH_N_NOTES);

  /* (c) point reads by id. */
  t0 = bench_now ();
  stmt = prepare (db, config->point_sql);
  for (int i = 0; i < BENCH_N_POINT; i++)
    {
      sqlite3_bind_int64 (stmt, 1, ids[i]);
      if (sqlite3_step (stmt) != SQLITE_ROW)
        bench_die ("%s: point read of %lld: %s", config->name, (long long) ids[i], sqlite3_errmsg (db));
      check_note (config, notes, ids[i], sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  bench_result (config->name, "point", bench_now () - t0, BENCH_N_POINT);

  print_param (config, db, "journal_mode", "PRAGMA journal_mode");
  print_param (config, db, "synchronous", "PRAGMA synchronous");
  print_param (config, db, "page_size", "PRAGMA page_size");
  print_param (config, db, "page_count", "PRAGMA page_count");
  if (config->describe != NULL)
    config->describe (config, db);
  fflush (stdout);

  sqlite3_close (db);
  free (path);
  bench_tmpdir_free (dir);
}
