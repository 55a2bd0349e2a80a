/* bench-sqlite.c — the field-encryption benchmark against the system SQLite:
 * one repetition of each of
 *
 *   sqlite     plain SQLite, notes stored as they are;
 *   sqlite-udf the control: plain SQLite through bench_copy(note, 'notes.body:'
 *              || id), a C function that only checks its context and returns
 *              a fresh sqlite3_malloc copy of its BLOB, as mts_encrypt and
 *              mts_decrypt do; it prices what any such SQL function costs
 *              (the call, the context string, the result buffer), so that
 *              mts - sqlite-udf - libsodium is the extension's own code;
 *   mts        the mts extension loaded with sqlite3_load_extension, as a
 *              user does, notes stored as mts_encrypt(note, 'notes.body:' || id)
 *              under a keystore created at the default level ('moderate');
 *              also the keystore creation and unlock times, and the
 *              keystore's Argon2id parameters read from its header;
 *   libsodium  the floor: crypto_aead_xchacha20poly1305_ietf on the same
 *              notes with no SQLite, a random nonce per note and associated
 *              data as long as the envelope's (30-byte header + context);
 *              encrypt all, then decrypt all in order.  Point reads use the
 *              per-note decrypt cost: a random walk over this 100 MiB
 *              buffer would add cache misses that a point read through
 *              SQLite has already paid (and plain SQLite with it).
 *
 * Usage: bench-sqlite [--extension PATH]
 * Prints the lines described in bench-common.h; bench/run reads them.
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "bench-workload.h"

/* ---- the control function ---- */

/* bench_copy(X, CONTEXT): a copy of the BLOB X; CONTEXT must be non-empty text. */
static void
copy_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *context = (const char *) sqlite3_value_text (argv[1]);
  const void *value = sqlite3_value_blob (argv[0]);
  int len = sqlite3_value_bytes (argv[0]);
  void *out;

  if (context == NULL || *context == '\0')
    {
      sqlite3_result_error (ctx, "bench_copy: the context must be non-empty text", -1);
      return;
    }
  out = sqlite3_malloc64 ((sqlite3_uint64) len + 1);
  if (out == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  memcpy (out, value, (size_t) len);
  sqlite3_result_blob64 (ctx, out, (sqlite3_uint64) len, sqlite3_free);
}

static void
udf_prepare (const BenchConfig *config, sqlite3 *db, const char *dir, int fresh)
{
  if (sqlite3_create_function_v2 (db, "bench_copy", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
                                  copy_func, NULL, NULL, NULL) != SQLITE_OK)
    bench_die ("cannot register bench_copy: %s", sqlite3_errmsg (db));
}

/* ---- mts ---- */

static void
mts_prepare (const BenchConfig *config, sqlite3 *db, const char *dir, int fresh)
{
  const char *extension = config->user_data;
  char *keystore, *err = NULL, *sql;
  double t0;

  if (sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL) != SQLITE_OK
      || sqlite3_load_extension (db, extension, NULL, &err) != SQLITE_OK)
    bench_die ("cannot load %s: %s", extension, err ? err : sqlite3_errmsg (db));
  if (asprintf (&keystore, "%s/keystore", dir) < 0)
    bench_die ("out of memory");

  if (fresh)
    {
      FILE *f;
      unsigned char header[28];
      unsigned long long ops = 0, mem = 0;

      sql = sqlite3_mprintf ("SELECT mts_keystore_create(%Q)", keystore);
      t0 = bench_now ();
      free (bench_exec (db, sql));
      bench_result (config->name, "keystore_create", bench_now () - t0, 1);
      sqlite3_free (sql);

      /* The Argon2id parameters as written in the keystore's header
       * (opslimit at 12, memlimit at 20, little-endian; see mts-keystore.h). */
      f = fopen (keystore, "rb");
      if (f == NULL || fread (header, 1, sizeof header, f) != sizeof header)
        bench_die ("cannot read the header of %s", keystore);
      fclose (f);
      for (int i = 7; i >= 0; i--)
        {
          ops = (ops << 8) | header[12 + i];
          mem = (mem << 8) | header[20 + i];
        }
      printf ("PARAM %s argon2id_opslimit %llu\n", config->name, ops);
      printf ("PARAM %s argon2id_memlimit %llu\n", config->name, mem);
    }

  sql = sqlite3_mprintf ("SELECT mts_unlock(%Q)", keystore);
  t0 = bench_now ();
  free (bench_exec (db, sql));
  bench_result (config->name, "unlock", bench_now () - t0, 1);
  sqlite3_free (sql);
  free (keystore);
}

/* ---- the libsodium floor ---- */

#define HEADER_BYTES 30   /* MTS_ENVELOPE_HEADER_BYTES */
#define CONTEXT_PREFIX "notes.body:"
#define RECORD_BYTES (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + BENCH_NOTE_BYTES \
                      + crypto_aead_xchacha20poly1305_ietf_ABYTES)

static void
run_floor (const uint8_t *notes)
{
  const size_t ct_bytes = BENCH_NOTE_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  uint8_t ad[HEADER_BYTES + sizeof CONTEXT_PREFIX + 20];
  uint8_t out[BENCH_NOTE_BYTES];
  uint8_t *records = malloc ((size_t) BENCH_N_NOTES * RECORD_BYTES);
  unsigned char *ad_len = malloc (BENCH_N_NOTES);
  double t0;

  if (records == NULL || ad_len == NULL)
    bench_die ("out of memory for the libsodium floor");
  /* Fault the pages in now, not inside the timed loop. */
  memset (records, 0, (size_t) BENCH_N_NOTES * RECORD_BYTES);
  crypto_aead_xchacha20poly1305_ietf_keygen (key);
  /* Associated data of the envelope's length: header || "notes.body:<id>".
   * Its bytes do not change the cost, only its length does. */
  memset (ad, 1, HEADER_BYTES);
  memset (ad + HEADER_BYTES, '0', sizeof ad - HEADER_BYTES);
  memcpy (ad + HEADER_BYTES, CONTEXT_PREFIX, strlen (CONTEXT_PREFIX));
  for (int i = 0; i < BENCH_N_NOTES; i++)
    ad_len[i] = (unsigned char) (HEADER_BYTES + strlen (CONTEXT_PREFIX)
                                 + (size_t) snprintf (NULL, 0, "%d", i + 1));

  t0 = bench_now ();
  for (int i = 0; i < BENCH_N_NOTES; i++)
    {
      uint8_t *rec = records + (size_t) i * RECORD_BYTES;
      randombytes_buf (rec, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
      crypto_aead_xchacha20poly1305_ietf_encrypt (rec + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                  NULL, notes + (size_t) i * BENCH_NOTE_BYTES,
                                                  BENCH_NOTE_BYTES, ad, ad_len[i], NULL, rec, key);
    }
  bench_result ("libsodium", "encrypt", bench_now () - t0, BENCH_N_NOTES);

  t0 = bench_now ();
  for (int i = 0; i < BENCH_N_NOTES; i++)
    {
      const uint8_t *rec = records + (size_t) i * RECORD_BYTES;
      if (crypto_aead_xchacha20poly1305_ietf_decrypt (out, NULL, NULL,
                                                      rec + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                      ct_bytes, ad, ad_len[i], rec, key) != 0)
        bench_die ("libsodium: note %d does not decrypt", i + 1);
    }
  bench_result ("libsodium", "decrypt", bench_now () - t0, BENCH_N_NOTES);
  if (memcmp (out, notes + (size_t) (BENCH_N_NOTES - 1) * BENCH_NOTE_BYTES, BENCH_NOTE_BYTES) != 0)
    bench_die ("libsodium: the last note does not read back as written");

  sodium_memzero (key, sizeof key);
  free (records);
  free (ad_len);
}

int
main (int argc, char **argv)
{
  const char *extension = BENCH_EXTENSION_PATH;
  uint8_t *notes;
  int64_t *ids;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--extension") == 0 && i + 1 < argc)
        extension = argv[++i];
      else
        {
          fprintf (stderr, "Usage: %s [--extension PATH]\n", argv[0]);
          return 2;
        }
    }

  if (sodium_init () < 0)
    bench_die ("libsodium could not be initialised");
  /* The extension reads the passphrase from here; the file takes precedence,
   * so make sure none is named. */
  unsetenv ("MTS_PASSPHRASE_FILE");
  setenv ("MTS_PASSPHRASE", BENCH_PASSPHRASE, 1);

  printf ("VERSION sqlite %s\n", sqlite3_libversion ());
  printf ("VERSION libsodium %s\n", sodium_version_string ());

  notes = bench_notes_new ();
  ids = bench_point_ids_new ();

  const BenchConfig plain = {
    .name = "sqlite",
    .insert_sql = "INSERT INTO notes (id, body) VALUES (?1, ?2)",
    .scan_sql = "SELECT id, body FROM notes",
    .point_sql = "SELECT body FROM notes WHERE id = ?1",
  };
  const BenchConfig udf = {
    .name = "sqlite-udf",
    .prepare = udf_prepare,
    .insert_sql = "INSERT INTO notes (id, body) VALUES (?1, bench_copy(?2, 'notes.body:' || ?1))",
    .scan_sql = "SELECT id, bench_copy(body, 'notes.body:' || id) FROM notes",
    .point_sql = "SELECT bench_copy(body, 'notes.body:' || id) FROM notes WHERE id = ?1",
  };
  const BenchConfig mts = {
    .name = "mts",
    .prepare = mts_prepare,
    .insert_sql = "INSERT INTO notes (id, body) VALUES (?1, mts_encrypt(?2, 'notes.body:' || ?1))",
    .scan_sql = "SELECT id, mts_decrypt(body, 'notes.body:' || id) FROM notes",
    .point_sql = "SELECT mts_decrypt(body, 'notes.body:' || id) FROM notes WHERE id = ?1",
    .user_data = extension,
  };

  bench_run_sql (&plain, notes, ids);
  bench_run_sql (&udf, notes, ids);
  bench_run_sql (&mts, notes, ids);
  run_floor (notes);

  free (notes);
  free (ids);
  return 0;
}
