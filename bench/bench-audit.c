/* bench-audit.c — the audit-trigger benchmark: one repetition of each of
 *
 *   audit-plain  no trigger at all;
 *   audit-json   the peer: an unchained JSON audit trigger of the kind
 *                sqlite-history uses (one history row per change holding
 *                the old and new values as JSON, a timestamp, no MAC);
 *   audit-mts    mts_audit_enable: keyed digests of old and new values and a
 *                MAC chained to the previous entry;
 *
 * each running, in one transaction apiece, BENCH_AUDIT_ROWS inserts, then as
 * many single-row updates (two columns changed), then as many deletes, all by
 * primary key through prepared statements.  Then, for audit-mts only,
 * mts_audit_verify() over a log of BENCH_AUDIT_VERIFY entries.
 *
 * Usage: bench-audit [--extension PATH] [--verify-entries N]
 * Prints the lines described in bench-common.h.
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"

#define BENCH_AUDIT_ROWS 100000   /* the 100,000 rows */
#define NAME_BYTES 64

static const char *const json_triggers =
  "CREATE TABLE history (id INTEGER PRIMARY KEY, at TEXT, action TEXT, tbl TEXT, row_id,"
  "  old TEXT, new TEXT);"
  "CREATE TRIGGER h_insert AFTER INSERT ON clients BEGIN"
  "  INSERT INTO history (at, action, tbl, row_id, old, new) VALUES"
  "  (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'insert', 'clients', NEW.id, NULL,"
  "   json_object('id', NEW.id, 'name', hex(NEW.name), 'status', NEW.status, 'fee', NEW.fee));"
  "END;"
  "CREATE TRIGGER h_update AFTER UPDATE ON clients BEGIN"
  "  INSERT INTO history (at, action, tbl, row_id, old, new) VALUES"
  "  (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'update', 'clients', NEW.id,"
  "   json_object('id', OLD.id, 'name', hex(OLD.name), 'status', OLD.status, 'fee', OLD.fee),"
  "   json_object('id', NEW.id, 'name', hex(NEW.name), 'status', NEW.status, 'fee', NEW.fee));"
  "END;"
  "CREATE TRIGGER h_delete AFTER DELETE ON clients BEGIN"
  "  INSERT INTO history (at, action, tbl, row_id, old, new) VALUES"
  "  (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'delete', 'clients', OLD.id,"
  "   json_object('id', OLD.id, 'name', hex(OLD.name), 'status', OLD.status, 'fee', OLD.fee), NULL);"
  "END;";

static void
exec_or_die (sqlite3 *db, const char *sql)
{
  char *err = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK)
    bench_die ("%s: %s", sql, err ? err : sqlite3_errmsg (db));
}

static sqlite3 *
open_db (const char *dir, const char *name)
{
  char *path;
  sqlite3 *db;

  if (asprintf (&path, "%s/%s", dir, name) < 0)
    bench_die ("out of memory");
  if (sqlite3_open (path, &db) != SQLITE_OK)
    bench_die ("cannot open %s", path);
  free (path);
  exec_or_die (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                   "CREATE TABLE clients (id INTEGER PRIMARY KEY, name BLOB, status TEXT, fee REAL)");
  return db;
}

static void
load_mts (sqlite3 *db, const char *extension, const char *dir, int create)
{
  char *err = NULL, *sql;

  if (sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL) != SQLITE_OK
      || sqlite3_load_extension (db, extension, NULL, &err) != SQLITE_OK)
    bench_die ("cannot load %s: %s", extension, err ? err : sqlite3_errmsg (db));
  if (create)
    {
      /* The KDF level does not change the cost of an audited write. */
      sql = sqlite3_mprintf ("SELECT mts_keystore_create('%q/keystore', 'interactive')", dir);
      exec_or_die (db, sql);
      sqlite3_free (sql);
    }
  sql = sqlite3_mprintf ("SELECT mts_unlock('%q/keystore'); SELECT mts_actor('bench');", dir);
  exec_or_die (db, sql);
  sqlite3_free (sql);
}

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    bench_die ("%s: %s", sql, sqlite3_errmsg (db));
  return st;
}

static void
step_or_die (sqlite3 *db, sqlite3_stmt *st)
{
  if (sqlite3_step (st) != SQLITE_DONE)
    bench_die ("step: %s", sqlite3_errmsg (db));
  sqlite3_reset (st);
}

/* Inserts rows first..first+n-1 in one transaction; returns the seconds. */
static double
run_inserts (sqlite3 *db, const uint8_t *names, long first, long n)
{
  sqlite3_stmt *st = prepare (db, "INSERT INTO clients (id, name, status, fee) VALUES (?1, ?2, 'active', ?3)");
  double t0 = bench_now ();

  exec_or_die (db, "BEGIN");
  for (long i = 0; i < n; i++)
    {
      sqlite3_bind_int64 (st, 1, first + i);
      sqlite3_bind_blob (st, 2, names + ((first + i) % BENCH_AUDIT_ROWS) * NAME_BYTES, NAME_BYTES,
                         SQLITE_STATIC);
      sqlite3_bind_double (st, 3, (double) (i % 120));
      step_or_die (db, st);
    }
  exec_or_die (db, "COMMIT");
  sqlite3_finalize (st);
  return bench_now () - t0;
}

static void
run_config (const char *name, const char *extension, const uint8_t *names)
{
  char *dir = bench_tmpdir_new ();
  sqlite3 *db = open_db (dir, "audit.db");
  sqlite3_stmt *st;
  double t0;

  if (strcmp (name, "audit-json") == 0)
    exec_or_die (db, json_triggers);
  else if (strcmp (name, "audit-mts") == 0)
    {
      load_mts (db, extension, dir, 1);
      exec_or_die (db, "SELECT mts_audit_enable('clients')");
    }

  bench_result (name, "insert", run_inserts (db, names, 1, BENCH_AUDIT_ROWS), BENCH_AUDIT_ROWS);

  st = prepare (db, "UPDATE clients SET status = 'closed', fee = ?2 WHERE id = ?1");
  t0 = bench_now ();
  exec_or_die (db, "BEGIN");
  for (long i = 1; i <= BENCH_AUDIT_ROWS; i++)
    {
      sqlite3_bind_int64 (st, 1, i);
      sqlite3_bind_double (st, 2, (double) (i % 77));
      step_or_die (db, st);
    }
  exec_or_die (db, "COMMIT");
  bench_result (name, "update", bench_now () - t0, BENCH_AUDIT_ROWS);
  sqlite3_finalize (st);

  st = prepare (db, "DELETE FROM clients WHERE id = ?1");
  t0 = bench_now ();
  exec_or_die (db, "BEGIN");
  for (long i = 1; i <= BENCH_AUDIT_ROWS; i++)
    {
      sqlite3_bind_int64 (st, 1, i);
      step_or_die (db, st);
    }
  exec_or_die (db, "COMMIT");
  bench_result (name, "delete", bench_now () - t0, BENCH_AUDIT_ROWS);
  sqlite3_finalize (st);

  sqlite3_close (db);
  bench_tmpdir_free (dir);
}

/* A log of @entries entries (inserts of as many rows), then one verify. */
static void
run_verify (const char *extension, const uint8_t *names, long entries, int repeat)
{
  char *dir = bench_tmpdir_new ();
  sqlite3 *db = open_db (dir, "verify.db");
  sqlite3_stmt *st;
  double t0;
  const char *ok;

  load_mts (db, extension, dir, 1);
  exec_or_die (db, "SELECT mts_audit_enable('clients')");
  run_inserts (db, names, 1, entries - 1);   /* plus the 'enable' entry */
  /* Verified several times over the one log: a single run is at the mercy
   * of whatever else the machine does in those two seconds. */
  exec_or_die (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  st = prepare (db, "SELECT mts_audit_verify()");
  for (int i = 0; i < repeat; i++)
    {
      t0 = bench_now ();
      if (sqlite3_step (st) != SQLITE_ROW)
        bench_die ("mts_audit_verify: %s", sqlite3_errmsg (db));
      bench_result ("audit-mts", "verify", bench_now () - t0, entries);
      ok = (const char *) sqlite3_column_text (st, 0);
      if (ok == NULL || strcmp (ok, "ok") != 0)
        bench_die ("mts_audit_verify did not answer ok");
      sqlite3_reset (st);
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
  bench_tmpdir_free (dir);
}

int
main (int argc, char **argv)
{
  const char *extension = BENCH_EXTENSION_PATH;
  long verify_entries = 1000000;
  uint8_t *names;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--extension") == 0 && i + 1 < argc)
        extension = argv[++i];
      else if (strcmp (argv[i], "--verify-entries") == 0 && i + 1 < argc)
        verify_entries = strtol (argv[++i], NULL, 10);
      else
        bench_die ("usage: bench-audit [--extension PATH] [--verify-entries N]");
    }
  if (sodium_init () < 0)
    bench_die ("libsodium could not start");
  setenv ("MTS_PASSPHRASE", BENCH_PASSPHRASE, 1);
  names = malloc ((size_t) BENCH_AUDIT_ROWS * NAME_BYTES);
  if (names == NULL)
    bench_die ("out of memory");
  randombytes_buf (names, (size_t) BENCH_AUDIT_ROWS * NAME_BYTES);

  printf ("VERSION sqlite %s\n", sqlite3_libversion ());
  run_config ("audit-plain", extension, names);
  run_config ("audit-json", extension, names);
  run_config ("audit-mts", extension, names);
  if (verify_entries > 1)
    run_verify (extension, names, verify_entries, 5);
  free (names);
  return 0;
}
