/* bench-workload.h — the SQL workload of the field-encryption benchmark,
 * compiled once against the system SQLite (bench-sqlite) and once against
 * SQLCipher (bench-sqlcipher), since the two libraries export the same
 * symbols and cannot share a process.
 *
 * One repetition of a configuration, on a fresh database in a fresh
 * temporary directory, default journal mode (rollback journal, DELETE) and
 * default synchronous (FULL):
 *
 *   insert  BENCH_N_NOTES notes in one transaction (COMMIT included), after
 *           a sync() so that earlier runs' writeback is not charged to it
 *   open    reopen the database: open, the configuration's key or unlock,
 *           and the first read of the schema (SQLCipher derives its key here)
 *   scan    every note, checked against the seeded bytes
 *   point   BENCH_N_POINT reads by id, each note checked
 */
#pragma once

#include <sqlite3.h>

#include "bench-common.h"

typedef struct BenchConfig BenchConfig;

struct BenchConfig {
  const char *name;         /* the <config> of the RESULT lines */
  /* Called right after each sqlite3_open_v2, before the first access; @fresh
   * is 1 for the new database, 0 when it is reopened.  May print its own
   * RESULT and PARAM lines.  Dies on error. */
  void (*prepare) (const BenchConfig *config, sqlite3 *db, const char *dir, int fresh);
  /* Called once after the timed work, to print PARAM lines.  May be NULL. */
  void (*describe) (const BenchConfig *config, sqlite3 *db);
  const char *insert_sql;   /* ?1 id, ?2 note (BLOB) */
  const char *scan_sql;     /* rows of (id, note) in any order */
  const char *point_sql;    /* ?1 id; one row of (note) */
  const void *user_data;
};

/* Runs one repetition of @config and prints its RESULT lines. */
void bench_run_sql (const BenchConfig *config, const uint8_t *notes, const int64_t *ids);

/* Runs @sql, dying with @db's message on error.  Returns the first column of
 * the first row as text in a malloc'd string, or NULL if there is none. */
char *bench_exec (sqlite3 *db, const char *sql);
