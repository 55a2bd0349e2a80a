/* bench-sqlcipher.c — the field-encryption benchmark's peer: SQLCipher
 * (whole-database encryption), built against libsqlcipher only.  One
 * repetition of each of
 *
 *   sqlcipher-rawkey      PRAGMA key = "x'<64 hex digits>'": no KDF;
 *   sqlcipher-passphrase  PRAGMA key = '<passphrase>': PBKDF2 on first access,
 *                         which the "open" workload includes.
 *
 * Both use cipher_page_size 4096, the page size of plain SQLite and the
 * default of SQLCipher 4 (SQLCipher 3 defaults to 1024, which would put each
 * 1 KiB note on an overflow page); --cipher-page-size changes it.
 *
 * Usage: bench-sqlcipher [--cipher-page-size N]
 * Prints the lines described in bench-common.h; bench/run reads them.
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "bench-workload.h"

static int cipher_page_size = 4096;

static void
sqlcipher_prepare (const BenchConfig *config, sqlite3 *db, const char *dir, int fresh)
{
  const char *key = config->user_data;
  char *sql = sqlite3_mprintf ("PRAGMA cipher_page_size = %d;", cipher_page_size);

  /* The key through the C API, never in SQL text (as for MTS). */
  if (sqlite3_key (db, key, (int) strlen (key)) != SQLITE_OK)
    bench_die ("sqlite3_key: %s", sqlite3_errmsg (db));
  free (bench_exec (db, sql));
  sqlite3_free (sql);
}

static void
sqlcipher_describe (const BenchConfig *config, sqlite3 *db)
{
  static const char *const pragmas[] = {
    "cipher", "kdf_iter", "cipher_page_size", "cipher_use_hmac",
  };

  for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++)
    {
      char *sql = sqlite3_mprintf ("PRAGMA %s", pragmas[i]);
      char *value = bench_exec (db, sql);
      printf ("PARAM %s %s %s\n", config->name, pragmas[i], value ? value : "?");
      free (value);
      sqlite3_free (sql);
    }
}

int
main (int argc, char **argv)
{
  unsigned char raw[32];
  char hex[2 * sizeof raw + 1];
  char *raw_key, *version;
  sqlite3 *mem;
  uint8_t *notes;
  int64_t *ids;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--cipher-page-size") == 0 && i + 1 < argc)
        cipher_page_size = atoi (argv[++i]);
      else
        {
          fprintf (stderr, "Usage: %s [--cipher-page-size N]\n", argv[0]);
          return 2;
        }
    }

  if (sodium_init () < 0)
    bench_die ("libsodium could not be initialised");

  /* Refuse to run against a SQLite without the codec: the numbers would be
   * plain SQLite's under SQLCipher's name. */
  if (sqlite3_open (":memory:", &mem) != SQLITE_OK)
    bench_die ("cannot open an in-memory database");
  version = bench_exec (mem, "PRAGMA cipher_version");
  if (version == NULL)
    bench_die ("this SQLite has no SQLCipher codec (PRAGMA cipher_version is empty)");
  printf ("VERSION sqlcipher %s\n", version);
  printf ("VERSION sqlcipher-sqlite %s\n", sqlite3_libversion ());
  free (version);
  sqlite3_close (mem);

  /* A fixed raw key, so runs are comparable. */
  memset (raw, 0x5a, sizeof raw);
  sodium_bin2hex (hex, sizeof hex, raw, sizeof raw);
  raw_key = sqlite3_mprintf ("x'%s'", hex);              /* SQLCipher's raw-key form */

  notes = bench_notes_new ();
  ids = bench_point_ids_new ();

  const BenchConfig rawkey = {
    .name = "sqlcipher-rawkey",
    .prepare = sqlcipher_prepare,
    .describe = sqlcipher_describe,
    .insert_sql = "INSERT INTO notes (id, body) VALUES (?1, ?2)",
    .scan_sql = "SELECT id, body FROM notes",
    .point_sql = "SELECT body FROM notes WHERE id = ?1",
    .user_data = raw_key,
  };
  BenchConfig passphrase = rawkey;
  passphrase.name = "sqlcipher-passphrase";
  passphrase.user_data = (void *) BENCH_PASSPHRASE;

  bench_run_sql (&rawkey, notes, ids);
  bench_run_sql (&passphrase, notes, ids);

  sqlite3_free (raw_key);
  free (notes);
  free (ids);
  return 0;
}
