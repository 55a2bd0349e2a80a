/* test-keystore.c — unit tests of the keystore (mts-keystore.h).
 *
 * Every test works in a fresh temporary directory.  Keystores are made at
 * MTS_KDF_TEST for speed, except /keystore/create/interactive.
 */
#include "mts-keystore.h"
#include "mts-error.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PASS "correct horse battery"
#define PASS2 "another staple of passphrases"
#define CHECKSUM_BYTES 32
#define OFF_VERSION 8
#define OFF_KEYSET_LEN 156
#define OFF_KEYSET 160
#define RECORD_BYTES (4 + 4 + 8 + MTS_KEY_BYTES)

typedef struct {
  char *dir;
  char *path;   /* dir/practice.keystore, not yet created */
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  fx->dir = mts_test_dir_new ("mts-test-keystore-XXXXXX");
  fx->path = g_build_filename (fx->dir, "practice.keystore", NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{

  mts_test_dir_remove (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static void
create (const char *path)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (mts_keystore_create (path, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_no_error (error);
}

static MtsKeystore *
unlock_ok (const char *path, const char *pass)
{
  g_autoptr (GError) error = NULL;
  MtsKeystore *ks = mts_keystore_unlock (path, pass, strlen (pass), &error);

  g_assert_no_error (error);
  g_assert_nonnull (ks);
  return ks;
}

static guint8 *
read_all (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, &error));
  g_assert_no_error (error);
  return (guint8 *) data;
}

static void
write_all (const char *path, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, (const char *) data, (gssize) len,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_no_error (error);
}

/* Recomputes the trailing BLAKE2b checksum, as anyone can. */
static void
reseal_checksum (guint8 *data, gsize len)
{
  crypto_generichash (data + len - CHECKSUM_BYTES, CHECKSUM_BYTES, data, len - CHECKSUM_BYTES,
                      NULL, 0);
}

static guint
count_in_log (const char *path, const char *event)
{
  g_autofree char *log = mts_keylog_path (path);
  g_autofree char *text = NULL;
  g_autofree char *needle = g_strdup_printf ("\t%s\t", event);
  guint n = 0;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    return 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Entries of @event whose detail holds @word. */
static guint
count_in_log_detail (const char *path, const char *event, const char *word)
{
  g_autofree char *log = mts_keylog_path (path);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      if (g_strv_length (f) == 7 && strcmp (f[2], event) == 0 && strstr (f[4], word) != NULL)
        n++;
    }
  return n;
}

/* ---- create ---- */

static void
test_create_mode (Fixture *fx, gconstpointer data)
{
  g_autofree char *log = mts_keylog_path (fx->path);
  MtsKeystoreFile f;
  g_autofree guint8 *bytes = NULL;
  g_autoptr (GError) error = NULL;
  GStatBuf st;
  gsize len;

  create (fx->path);
  g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (log, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  bytes = read_all (fx->path, &len);
  g_assert_true (mts_keystore_parse (bytes, len, &f, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f.version, ==, MTS_KEYSTORE_VERSION);
  g_assert_cmpuint (f.kdf_algorithm, ==, 2);
  g_assert_cmpuint (f.opslimit, ==, crypto_pwhash_OPSLIMIT_MIN);
  g_assert_cmpuint (f.memlimit, ==, crypto_pwhash_MEMLIMIT_MIN);
  g_assert_cmpuint (f.keyset_len, ==, 8 + RECORD_BYTES + 16);
  g_assert_cmpuint (len, ==, OFF_KEYSET + f.keyset_len + CHECKSUM_BYTES);
  g_assert_cmpuint (count_in_log (fx->path, "create"), ==, 1);
}

static void
test_create_interactive (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) ks = NULL;
  g_autofree guint8 *bytes = NULL;
  MtsKeystoreFile f;
  guint64 ops, mem;
  gsize len;

  g_assert_true (mts_keystore_create (fx->path, PASS, strlen (PASS), MTS_KDF_INTERACTIVE, &error));
  g_assert_no_error (error);
  bytes = read_all (fx->path, &len);
  g_assert_true (mts_keystore_parse (bytes, len, &f, &error));
  mts_kdf_level_params (MTS_KDF_INTERACTIVE, &ops, &mem);
  g_assert_cmpuint (f.opslimit, ==, ops);
  g_assert_cmpuint (f.memlimit, ==, mem);
  ks = unlock_ok (fx->path, PASS);
  g_assert_cmpuint (mts_keystore_primary_id (ks), ==, 1);
}

static void
test_create_refuses_existing (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *before = NULL;
  g_autofree guint8 *after = NULL;
  gsize lb, la;

  create (fx->path);
  before = read_all (fx->path, &lb);
  g_assert_false (mts_keystore_create (fx->path, PASS2, strlen (PASS2), MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_EXISTS);
  after = read_all (fx->path, &la);
  g_assert_cmpmem (before, lb, after, la);
  g_assert_cmpuint (count_in_log (fx->path, "create"), ==, 1);
  g_clear_error (&error);

  /* Any file is refused, not only keystores. */
  {
    g_autofree char *other = g_build_filename (fx->dir, "notes.txt", NULL);
    write_all (other, (const guint8 *) "hello", 5);
    g_assert_false (mts_keystore_create (other, PASS, strlen (PASS), MTS_KDF_TEST, &error));
    g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_EXISTS);
  }
}

static void
test_create_weak_passphrase (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (mts_keystore_create (fx->path, "1234567", 7, MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_assert_false (g_file_test (fx->path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_false (mts_keystore_create (fx->path, "", 0, MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_clear_error (&error);

  /* Characters count, not bytes: four two-byte characters are too few... */
  g_assert_false (mts_keystore_create (fx->path, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8,
                                       MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (g_file_test (fx->path, G_FILE_TEST_EXISTS));

  /* Exactly the minimum is enough. */
  g_assert_true (mts_keystore_create (fx->path, "12345678", MTS_KEYSTORE_MIN_PASSPHRASE,
                                      MTS_KDF_TEST, &error));
  g_assert_no_error (error);

  /* Bytes that are not UTF-8 count one each. */
  {
    g_autofree char *other = g_build_filename (fx->dir, "binary.keystore", NULL);
    g_assert_true (mts_keystore_create (other, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 8,
                                        MTS_KDF_TEST, &error));
    g_assert_no_error (error);
  }
}

/* ---- unlock ---- */

static void
test_unlock_right_and_wrong (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  MtsKeystore *ks;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  g_assert_cmpstr (mts_keystore_get_path (ks), ==, fx->path);
  g_assert_cmpuint (mts_keystore_primary_id (ks), ==, 1);
  g_assert_nonnull (mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD));
  g_assert_null (mts_keystore_subkey (ks, 2, MTS_PURPOSE_FIELD));
  g_assert_nonnull (mts_keystore_log_key (ks));
  mts_keystore_free (ks);

  ks = mts_keystore_unlock (fx->path, "correct horse battery!", 22, &error);
  g_assert_null (ks);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_assert_null (strstr (error->message, "correct horse"));
  g_clear_error (&error);
  /* A prefix of the passphrase is not the passphrase. */
  ks = mts_keystore_unlock (fx->path, PASS, strlen (PASS) - 1, &error);
  g_assert_null (ks);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_assert_cmpuint (count_in_log (fx->path, "unlock-failed"), ==, 2);
}

static void
test_unlock_missing (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, fx->path));
}

static void
test_unlock_every_byte_flipped (Fixture *fx, gconstpointer data)
{
  static const guint8 masks[] = { 0x01, 0x80 };
  g_autofree guint8 *good = NULL;
  gsize len;

  create (fx->path);
  good = read_all (fx->path, &len);
  for (gsize m = 0; m < G_N_ELEMENTS (masks); m++)
    for (gsize i = 0; i < len; i++)
      {
        g_autofree guint8 *bad = g_memdup2 (good, len);
        g_autoptr (GError) error = NULL;

        bad[i] ^= masks[m];
        write_all (fx->path, bad, len);
        g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
        if (i == OFF_VERSION && bad[i] > MTS_KEYSTORE_VERSION)
          g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NEWER_VERSION);
        else
          g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
      }
  /* Every attempt is logged as a failed unlock of a damaged file, none as
   * a success, except those that broke the magic: a file that is not a
   * keystore gets no log. */
  g_assert_cmpuint (count_in_log (fx->path, "unlock-failed"), ==, 2 * (len - 8));
  g_assert_cmpuint (count_in_log_detail (fx->path, "unlock-failed", "damaged"), ==, 2 * (len - 8));
  g_assert_cmpuint (count_in_log (fx->path, "unlock"), ==, 0);
}

static void
test_unlock_truncated (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *good = NULL;
  gsize len;

  create (fx->path);
  good = read_all (fx->path, &len);
  for (gsize n = 0; n < len; n++)
    {
      g_autoptr (GError) error = NULL;

      write_all (fx->path, good, n);
      g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
    }
  /* Trailing bytes are damage as well. */
  {
    g_autoptr (GError) error = NULL;
    g_autofree guint8 *longer = g_malloc0 (len + 1);

    memcpy (longer, good, len);
    write_all (fx->path, longer, len + 1);
    g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
    g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
  }
  /* Truncations shorter than the 8-byte magic leave no keystore to log for. */
  g_assert_cmpuint (count_in_log_detail (fx->path, "unlock-failed", "damaged"), ==, len + 1 - 8);
  g_assert_cmpuint (count_in_log (fx->path, "unlock"), ==, 0);
}

static void
test_unlock_newer_version (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *bytes = NULL;
  gsize len;

  create (fx->path);
  bytes = read_all (fx->path, &len);
  for (guint8 v = 2; v <= 3; v++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *expect = g_strdup_printf ("keystore version %u is newer than this build", v);

      bytes[OFF_VERSION] = v;
      reseal_checksum (bytes, len);
      write_all (fx->path, bytes, len);
      g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NEWER_VERSION);
      g_assert_true (g_str_has_prefix (error->message, expect));
    }
}

/* Damage that also fixes up the (unkeyed) checksum is still refused. */
static void
test_parse_resealed_damage (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *good = NULL;
  gsize len;
  struct { gsize off; guint8 value; } cases[] = {
    { OFF_VERSION, 0 },  /* version 0 was never written */
    { 9, 1 },            /* KDF algorithm */
    { 10, 1 },           /* reserved */
    { 11, 0x80 },        /* reserved */
    { 12, 0 },           /* opslimit 0 */
    { 12, 65 },          /* opslimit above the bound */
    { 27, 1 },           /* memlimit way above the bound */
    { OFF_KEYSET_LEN, 0 },  /* keyset length no longer matches the file */
  };

  create (fx->path);
  good = read_all (fx->path, &len);
  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree guint8 *bad = g_memdup2 (good, len);
      g_autoptr (GError) error = NULL;
      MtsKeystoreFile f;

      bad[cases[k].off] = cases[k].value;
      reseal_checksum (bad, len);
      g_assert_false (mts_keystore_parse (bad, len, &f, &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
      g_assert_true (g_str_has_prefix (error->message, "keystore is damaged"));
    }

  /* A changed keyset byte with a matching checksum: the passphrase is right,
   * so this is damage, not a wrong passphrase. */
  for (gsize off = OFF_KEYSET - 24; off < len - CHECKSUM_BYTES; off += 7)
    {
      g_autofree guint8 *bad = g_memdup2 (good, len);
      g_autoptr (GError) error = NULL;

      if (off >= OFF_KEYSET_LEN && off < OFF_KEYSET)
        continue;
      bad[off] ^= 0x01;
      reseal_checksum (bad, len);
      write_all (fx->path, bad, len);
      g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
    }
  g_assert_cmpuint (count_in_log (fx->path, "unlock"), ==, 0);
}

/* ---- rotate and reload ---- */

static void
test_rotate (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint8 old_field[MTS_KEY_BYTES], new_field[MTS_KEY_BYTES];
  MtsKeystore *ks;
  guint8 env[64];
  guint8 out[8];
  MtsEnvelope e;
  MtsValueType type;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  memcpy (old_field, mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD), MTS_KEY_BYTES);
  mts_envelope_seal (env, 1, old_field, MTS_VALUE_TEXT, "before", 6, "t.c:1", 5);

  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (mts_keystore_primary_id (ks), ==, 2);
  g_assert_nonnull (mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD));
  g_assert_cmpmem (mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   old_field, MTS_KEY_BYTES);
  memcpy (new_field, mts_keystore_subkey (ks, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES);
  g_assert_cmpint (memcmp (old_field, new_field, MTS_KEY_BYTES), !=, 0);
  g_assert_null (mts_keystore_subkey (ks, 3, MTS_PURPOSE_FIELD));
  g_assert_null (mts_keystore_subkey (ks, 0, MTS_PURPOSE_FIELD));

  /* Subkeys differ by purpose as well as by key. */
  for (guint32 id = 1; id <= 2; id++)
    for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
      for (int q = p + 1; q <= MTS_PURPOSE_AUDIT; q++)
        g_assert_cmpint (memcmp (mts_keystore_subkey (ks, id, p), mts_keystore_subkey (ks, id, q),
                                 MTS_KEY_BYTES), !=, 0);
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    g_assert_cmpint (memcmp (mts_keystore_subkey (ks, 1, p), mts_keystore_subkey (ks, 2, p),
                             MTS_KEY_BYTES), !=, 0);
  /* The log key is not one of the subkeys. */
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    g_assert_cmpint (memcmp (mts_keystore_log_key (ks), mts_keystore_subkey (ks, 1, p),
                             MTS_KEY_BYTES), !=, 0);

  /* Old envelopes still open with the old key. */
  g_assert_true (mts_envelope_parse (env, mts_envelope_sealed_size (6), &e, &error));
  g_assert_true (mts_envelope_open (&e, mts_keystore_subkey (ks, e.key_id, MTS_PURPOSE_FIELD),
                                    "t.c:1", 5, &type, out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr ((char *) out, ==, "before");

  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 3);
  mts_keystore_free (ks);

  /* The rotation is on disk. */
  ks = unlock_ok (fx->path, PASS);
  g_assert_cmpuint (mts_keystore_primary_id (ks), ==, 3);
  g_assert_cmpmem (mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   old_field, MTS_KEY_BYTES);
  g_assert_cmpmem (mts_keystore_subkey (ks, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   new_field, MTS_KEY_BYTES);
  mts_keystore_free (ks);
  g_assert_cmpuint (count_in_log (fx->path, "rotate"), ==, 2);
}

static void
test_reload (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) a = NULL;
  g_autoptr (MtsKeystore) b = NULL;

  create (fx->path);
  a = unlock_ok (fx->path, PASS);
  b = unlock_ok (fx->path, PASS);
  g_assert_cmpuint (mts_keystore_rotate (a, &error), ==, 2);
  g_assert_cmpuint (mts_keystore_primary_id (b), ==, 1);
  g_assert_null (mts_keystore_subkey (b, 2, MTS_PURPOSE_FIELD));

  g_assert_true (mts_keystore_reload (b, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mts_keystore_primary_id (b), ==, 2);
  g_assert_cmpmem (mts_keystore_subkey (a, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   mts_keystore_subkey (b, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES);

  /* b rotating now starts from the file, so the ids do not collide. */
  g_assert_cmpuint (mts_keystore_rotate (b, &error), ==, 3);
  g_assert_cmpuint (mts_keystore_rotate (a, &error), ==, 4);
  g_assert_no_error (error);
}

static void
test_reload_other_keystore (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) ks = NULL;
  g_autofree char *log = mts_keylog_path (fx->path);
  g_autofree char *text = NULL;
  guint64 n = 0;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  g_assert_cmpint (g_remove (fx->path), ==, 0);
  create (fx->path);
  /* The old log was moved aside: the new one starts with its creation. */
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "1\t"));
  g_assert_true (mts_keylog_verify (fx->path, NULL, &n, &error));
  g_assert_cmpuint (n, ==, 1);
  g_assert_false (mts_keystore_reload (ks, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "different keystore"));
  g_clear_error (&error);
  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 0);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_assert_cmpuint (mts_keystore_primary_id (ks), ==, 1);
  g_assert_cmpuint (count_in_log (fx->path, "rotate"), ==, 0);
  /* Dropped without a "lock" entry: it would be MACed with the old
   * keystore's log key, which the new log cannot verify. */
  mts_keystore_forget (g_steal_pointer (&ks));
}

static void
assert_key_ids (MtsKeystore *ks, const guint32 *expect, guint32 n_expect)
{
  guint32 n = 0;
  const guint32 *ids = mts_keystore_key_ids (ks, &n);

  g_assert_cmpmem (ids, n * sizeof (guint32), expect, n_expect * sizeof (guint32));
}

static void
test_key_ids (Fixture *fx, gconstpointer data)
{
  static const guint32 one[] = { 1 }, three[] = { 1, 2, 3 };
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) a = NULL;
  g_autoptr (MtsKeystore) b = NULL;

  create (fx->path);
  a = unlock_ok (fx->path, PASS);
  b = unlock_ok (fx->path, PASS);
  assert_key_ids (a, one, 1);
  g_assert_cmpuint (mts_keystore_rotate (a, &error), ==, 2);
  g_assert_cmpuint (mts_keystore_rotate (a, &error), ==, 3);
  assert_key_ids (a, three, 3);
  assert_key_ids (b, one, 1);
  g_assert_true (mts_keystore_reload (b, &error));
  assert_key_ids (b, three, 3);
}

/* mts_keystore_refresh notices another process's rotation, checking the
 * file at most once a second. */
static void
test_refresh (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) a = NULL;
  g_autoptr (MtsKeystore) b = NULL;

  create (fx->path);
  a = unlock_ok (fx->path, PASS);
  b = unlock_ok (fx->path, PASS);
  g_usleep (G_USEC_PER_SEC * 11 / 10);
  g_assert_false (mts_keystore_refresh (b));   /* nothing changed */

  g_assert_cmpuint (mts_keystore_rotate (a, &error), ==, 2);
  g_assert_false (mts_keystore_refresh (b));   /* checked less than a second ago */
  g_assert_cmpuint (mts_keystore_primary_id (b), ==, 1);
  g_usleep (G_USEC_PER_SEC * 11 / 10);
  g_assert_true (mts_keystore_refresh (b));
  g_assert_cmpuint (mts_keystore_primary_id (b), ==, 2);
  g_assert_cmpmem (mts_keystore_subkey (a, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   mts_keystore_subkey (b, 2, MTS_PURPOSE_FIELD), MTS_KEY_BYTES);
  g_usleep (G_USEC_PER_SEC * 11 / 10);
  g_assert_false (mts_keystore_refresh (b));   /* reloaded already */
}

/* mts_keystore_forget frees without a "lock" entry; mts_keystore_free logs one. */
static void
test_forget (Fixture *fx, gconstpointer data)
{
  create (fx->path);
  mts_keystore_forget (unlock_ok (fx->path, PASS));
  g_assert_cmpuint (count_in_log (fx->path, "unlock"), ==, 1);
  g_assert_cmpuint (count_in_log (fx->path, "lock"), ==, 0);
  mts_keystore_free (unlock_ok (fx->path, PASS));
  g_assert_cmpuint (count_in_log (fx->path, "lock"), ==, 1);
  mts_keystore_forget (NULL);
  mts_keystore_free (NULL);
}

/* ---- clone ---- */

/* Seals @text under @ks's primary field key, in context "t.c:1". */
static gsize
seal_text (MtsKeystore *ks, const char *text, guint8 *env)
{
  guint32 id = mts_keystore_primary_id (ks);

  g_assert_cmpuint (mts_envelope_sealed_size (strlen (text)), <=, 128);
  mts_envelope_seal (env, id, mts_keystore_subkey (ks, id, MTS_PURPOSE_FIELD), MTS_VALUE_TEXT,
                     text, strlen (text), "t.c:1", 5);
  return mts_envelope_sealed_size (strlen (text));
}

/* Opens an envelope of seal_text with @ks, expecting @text. */
static void
assert_opens (MtsKeystore *ks, const guint8 *env, gsize len, const char *text)
{
  g_autoptr (GError) error = NULL;
  const guint8 *key;
  guint8 out[128] = { 0 };
  MtsEnvelope e;
  MtsValueType type;

  g_assert_true (mts_envelope_parse (env, len, &e, &error));
  key = mts_keystore_subkey (ks, e.key_id, MTS_PURPOSE_FIELD);
  g_assert_nonnull (key);
  g_assert_true (mts_envelope_open (&e, key, "t.c:1", 5, &type, out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr ((char *) out, ==, text);
}

/* A clone opens what the original sealed and the other way round, holds
 * the keys in memory of its own, and logs neither an unlock nor a lock. */
static void
test_clone_opens_envelopes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  MtsKeystore *ks, *clone;
  guint8 env[128], env2[128];
  gsize len, len2;
  guint64 n = 0;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  len = seal_text (ks, "sealed by the original", env);
  clone = mts_keystore_clone (ks, &error);
  g_assert_no_error (error);
  g_assert_nonnull (clone);
  g_assert_cmpstr (mts_keystore_get_path (clone), ==, fx->path);
  g_assert_cmpuint (mts_keystore_primary_id (clone), ==, 1);
  assert_opens (clone, env, len, "sealed by the original");
  len2 = seal_text (clone, "sealed by the clone", env2);
  assert_opens (ks, env2, len2, "sealed by the clone");
  /* The same keys, in other memory. */
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    {
      g_assert_true (mts_keystore_subkey (clone, 1, p) != mts_keystore_subkey (ks, 1, p));
      g_assert_cmpmem (mts_keystore_subkey (clone, 1, p), MTS_KEY_BYTES,
                       mts_keystore_subkey (ks, 1, p), MTS_KEY_BYTES);
    }
  g_assert_true (mts_keystore_log_key (clone) != mts_keystore_log_key (ks));
  g_assert_cmpmem (mts_keystore_log_key (clone), MTS_KEYLOG_MAC_KEY_BYTES,
                   mts_keystore_log_key (ks), MTS_KEYLOG_MAC_KEY_BYTES);
  /* A clone of a clone is a clone. */
  {
    g_autoptr (MtsKeystore) again = mts_keystore_clone (clone, &error);
    g_assert_no_error (error);
    assert_opens (again, env, len, "sealed by the original");
  }

  mts_keystore_free (clone);
  assert_opens (ks, env2, len2, "sealed by the clone");   /* the original is untouched */
  g_assert_cmpuint (count_in_log (fx->path, "unlock"), ==, 1);
  g_assert_cmpuint (count_in_log (fx->path, "lock"), ==, 0);
  mts_keystore_free (ks);
  g_assert_cmpuint (count_in_log (fx->path, "lock"), ==, 1);
  g_assert_true (mts_keylog_verify (fx->path, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);   /* create, unlock, lock */
}

/* A clone goes on working after the original is freed: it opens, seals,
 * and rotates (logged and MACed with the keystore's log key). */
static void
test_clone_outlives_original (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) clone = NULL;
  g_autoptr (MtsKeystore) later = NULL;
  guint8 log_key[MTS_KEYLOG_MAC_KEY_BYTES];
  MtsKeystore *ks;
  guint8 env[128];
  gsize len;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  len = seal_text (ks, "before the original went", env);
  memcpy (log_key, mts_keystore_log_key (ks), sizeof log_key);
  clone = mts_keystore_clone (ks, &error);
  g_assert_no_error (error);
  mts_keystore_free (ks);

  assert_opens (clone, env, len, "before the original went");
  g_assert_cmpuint (mts_keystore_rotate (clone, &error), ==, 2);
  g_assert_no_error (error);
  len = seal_text (clone, "under key 2", env);
  g_assert_true (mts_keylog_verify (fx->path, log_key, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_in_log (fx->path, "rotate"), ==, 1);

  /* What the clone rotated is on disk for the next unlock. */
  later = unlock_ok (fx->path, PASS);
  g_assert_cmpuint (mts_keystore_primary_id (later), ==, 2);
  assert_opens (later, env, len, "under key 2");
  sodium_memzero (log_key, sizeof log_key);
}

/* A clone reads the keyset from the file: a rotation through the original
 * before the clone is made is in it at once; one after is seen on reload or
 * refresh, as for any other handle.  A file that now holds another keystore
 * is refused. */
static void
test_clone_sees_rotation (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsKeystore) ks = NULL;
  g_autoptr (MtsKeystore) clone = NULL;
  g_autoptr (MtsKeystore) clone2 = NULL;
  guint8 env[128];
  gsize len;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  clone = mts_keystore_clone (ks, &error);
  g_assert_no_error (error);

  /* Through the original, after the clone was made. */
  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 2);
  len = seal_text (ks, "under key 2", env);
  g_assert_cmpuint (mts_keystore_primary_id (clone), ==, 1);
  g_assert_null (mts_keystore_subkey (clone, 2, MTS_PURPOSE_FIELD));
  g_assert_true (mts_keystore_reload (clone, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mts_keystore_primary_id (clone), ==, 2);
  assert_opens (clone, env, len, "under key 2");

  /* Before the clone is made: it starts from the file. */
  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 3);
  clone2 = mts_keystore_clone (ks, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mts_keystore_primary_id (clone2), ==, 3);
  g_assert_cmpmem (mts_keystore_subkey (clone2, 3, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                   mts_keystore_subkey (ks, 3, MTS_PURPOSE_FIELD), MTS_KEY_BYTES);

  /* And refresh, which mts_encrypt uses, notices it within a second. */
  g_usleep (G_USEC_PER_SEC * 11 / 10);
  g_assert_true (mts_keystore_refresh (clone));
  g_assert_cmpuint (mts_keystore_primary_id (clone), ==, 3);

  /* Another keystore at the path: no clone of the old one. */
  g_assert_cmpint (g_remove (fx->path), ==, 0);
  create (fx->path);
  g_assert_null (mts_keystore_clone (ks, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "different keystore"));
  g_clear_error (&error);
  /* The old handles are not the new keystore's: dropped without a "lock". */
  mts_keystore_forget (g_steal_pointer (&ks));
  mts_keystore_forget (g_steal_pointer (&clone));
  mts_keystore_forget (g_steal_pointer (&clone2));
  g_assert_cmpuint (count_in_log (fx->path, "lock"), ==, 0);
}

/* Freeing a clone wipes its keys and unmaps their memory (sodium_free): in
 * a subprocess, reading a freed clone's subkey faults instead of finding
 * the key.  The original keeps its own copy. */
static void
test_clone_wiped_on_free (Fixture *fx, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MtsKeystore) ks = NULL;
      MtsKeystore *clone;
      const volatile guint8 *key;
      guint8 copy[MTS_KEY_BYTES];

      create (fx->path);
      ks = unlock_ok (fx->path, PASS);
      clone = mts_keystore_clone (ks, &error);
      g_assert_no_error (error);
      key = mts_keystore_subkey (clone, 1, MTS_PURPOSE_FIELD);
      memcpy (copy, (const guint8 *) key, sizeof copy);
      mts_keystore_free (clone);
      g_assert_cmpmem (mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD), MTS_KEY_BYTES,
                       copy, MTS_KEY_BYTES);
      sodium_memzero (copy, sizeof copy);
      mts_keystore_forget (g_steal_pointer (&ks));
      /* This process dies below: clean up its folder first. */
      mts_test_dir_remove (fx->dir);
      printf ("freed; reading its key\n");
      fflush (stdout);
      printf ("it still reads: %s\n", key[0] == 0 && key[MTS_KEY_BYTES - 1] == 0 ? "zeros" : "bytes");
      exit (0);   /* not reached: the memory is unmapped */
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  /* It got as far as the read (every check before it passed), and no further. */
  g_test_trap_assert_stdout ("*freed; reading its key*");
  g_test_trap_assert_stdout_unmatched ("*it still reads*");
}

/* ---- passwd ---- */

static void
test_passwd (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint8 subs[3][MTS_KEY_BYTES], log_key[MTS_KEYLOG_MAC_KEY_BYTES];
  g_autofree guint8 *before = NULL;
  g_autofree guint8 *after = NULL;
  MtsKeystore *ks;
  guint8 env[64];
  guint8 out[8];
  MtsEnvelope e;
  MtsValueType type;
  gsize lb, la;

  create (fx->path);
  ks = unlock_ok (fx->path, PASS);
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    memcpy (subs[p], mts_keystore_subkey (ks, 1, p), MTS_KEY_BYTES);
  memcpy (log_key, mts_keystore_log_key (ks), sizeof log_key);
  mts_envelope_seal (env, 1, subs[MTS_PURPOSE_FIELD], MTS_VALUE_TEXT, "kept", 4, "c", 1);
  mts_keystore_free (ks);
  before = read_all (fx->path, &lb);

  g_assert_true (mts_keystore_passwd (fx->path, PASS, strlen (PASS), PASS2, strlen (PASS2),
                                      &error));
  g_assert_no_error (error);

  /* Only the salt and the wrapped master key changed; the keyset bytes did not. */
  after = read_all (fx->path, &la);
  g_assert_cmpuint (la, ==, lb);
  g_assert_cmpmem (before, 28, after, 28);
  g_assert_cmpmem (before + 44, 16, after + 44, 16);
  g_assert_cmpint (memcmp (before + 28, after + 28, 16), !=, 0);
  g_assert_cmpmem (before + 132, la - 132 - CHECKSUM_BYTES, after + 132, la - 132 - CHECKSUM_BYTES);

  ks = unlock_ok (fx->path, PASS2);
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    g_assert_cmpmem (mts_keystore_subkey (ks, 1, p), MTS_KEY_BYTES, subs[p], MTS_KEY_BYTES);
  g_assert_cmpmem (mts_keystore_log_key (ks), MTS_KEYLOG_MAC_KEY_BYTES, log_key, sizeof log_key);
  g_assert_true (mts_envelope_parse (env, mts_envelope_sealed_size (4), &e, &error));
  g_assert_true (mts_envelope_open (&e, mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD), "c", 1,
                                    &type, out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr ((char *) out, ==, "kept");
  mts_keystore_free (ks);

  g_assert_null (mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);

  g_assert_true (mts_keylog_verify (fx->path, log_key, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_in_log (fx->path, "passwd"), ==, 1);
}

static void
test_passwd_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *before = NULL;
  g_autofree guint8 *after = NULL;
  gsize lb, la;

  g_assert_false (mts_keystore_passwd (fx->path, PASS, strlen (PASS), PASS2, strlen (PASS2),
                                       &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
  g_clear_error (&error);

  create (fx->path);
  before = read_all (fx->path, &lb);
  g_assert_false (mts_keystore_passwd (fx->path, PASS2, strlen (PASS2), PASS, strlen (PASS),
                                       &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (mts_keystore_passwd (fx->path, PASS, strlen (PASS), "short", 5, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_clear_error (&error);
  g_assert_false (mts_keystore_passwd (fx->path, PASS, strlen (PASS),
                                       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  after = read_all (fx->path, &la);
  g_assert_cmpmem (before, lb, after, la);
  g_assert_cmpuint (count_in_log (fx->path, "passwd"), ==, 0);
  g_assert_cmpuint (count_in_log (fx->path, "unlock-failed"), ==, 1);
}

/* ---- keyset decoding ---- */

static guint8 *
make_keyset (guint32 primary, guint32 count, const guint32 *ids, gsize *len)
{
  guint8 *p;

  *len = 8 + (gsize) count * RECORD_BYTES;
  p = g_malloc0 (*len);
  p[0] = (guint8) primary; p[1] = (guint8) (primary >> 8);
  p[2] = (guint8) (primary >> 16); p[3] = (guint8) (primary >> 24);
  p[4] = (guint8) count; p[5] = (guint8) (count >> 8);
  for (guint32 i = 0; i < count; i++)
    {
      guint8 *rec = p + 8 + (gsize) i * RECORD_BYTES;
      rec[0] = (guint8) ids[i]; rec[1] = (guint8) (ids[i] >> 8);
      rec[2] = (guint8) (ids[i] >> 16); rec[3] = (guint8) (ids[i] >> 24);
      rec[8] = (guint8) (100 + i);   /* created */
      memset (rec + 16, (int) (0x40 + i), MTS_KEY_BYTES);
    }
  return p;
}

typedef struct { guint n; guint32 ids[4]; guint64 created[4]; guint8 first_byte[4]; } Seen;

static void
seen_cb (guint32 key_id, guint64 created, const guint8 *key, gpointer user_data)
{
  Seen *s = user_data;

  g_assert_cmpuint (s->n, <, 4);
  s->ids[s->n] = key_id;
  s->created[s->n] = created;
  s->first_byte[s->n] = key[0];
  s->n++;
}

static void
assert_keyset_damaged (const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  guint32 primary = 0xdead, n = 0xbeef;
  Seen seen = { 0 };

  g_assert_false (mts_keyset_decode (data, len, &primary, &n, seen_cb, &seen, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
  g_assert_cmpuint (seen.n, ==, 0);   /* nothing reported from a bad keyset */
}

static void
test_keyset_decode (void)
{
  g_autoptr (GError) error = NULL;
  static const guint32 good_ids[] = { 1, 2, 5 };
  guint32 primary = 0, n = 0;
  Seen seen = { 0 };
  gsize len;

  {
    g_autofree guint8 *ks = make_keyset (2, 3, good_ids, &len);
    g_assert_true (mts_keyset_decode (ks, len, &primary, &n, seen_cb, &seen, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (primary, ==, 2);
    g_assert_cmpuint (n, ==, 3);
    g_assert_cmpuint (seen.n, ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        g_assert_cmpuint (seen.ids[i], ==, good_ids[i]);
        g_assert_cmpuint (seen.created[i], ==, 100 + i);
        g_assert_cmpuint (seen.first_byte[i], ==, 0x40 + i);
      }
    g_assert_true (mts_keyset_decode (ks, len, &primary, &n, NULL, NULL, &error));

    /* Wrong lengths: one byte short, one byte long, a whole record short. */
    assert_keyset_damaged (ks, len - 1);
    assert_keyset_damaged (ks, len - RECORD_BYTES);
    assert_keyset_damaged (ks, 7);
    assert_keyset_damaged (ks, 0);
  }
  {
    g_autofree guint8 *ks = make_keyset (2, 3, good_ids, &len);
    g_autofree guint8 *longer = g_malloc0 (len + 1);
    memcpy (longer, ks, len);
    assert_keyset_damaged (longer, len + 1);
  }
  {
    g_autofree guint8 *ks = make_keyset (1, 0, NULL, &len);   /* count 0 */
    assert_keyset_damaged (ks, len);
  }
  {
    static const guint32 ids[] = { 1, 2, 2 };   /* duplicate */
    g_autofree guint8 *ks = make_keyset (1, 3, ids, &len);
    assert_keyset_damaged (ks, len);
  }
  {
    static const guint32 ids[] = { 2, 1 };      /* unsorted */
    g_autofree guint8 *ks = make_keyset (1, 2, ids, &len);
    assert_keyset_damaged (ks, len);
  }
  {
    static const guint32 ids[] = { 0, 1 };      /* id 0 */
    g_autofree guint8 *ks = make_keyset (1, 2, ids, &len);
    assert_keyset_damaged (ks, len);
  }
  {
    g_autofree guint8 *ks = make_keyset (3, 3, good_ids, &len);   /* primary missing */
    assert_keyset_damaged (ks, len);
  }
  {
    g_autofree guint8 *ks = make_keyset (0, 3, good_ids, &len);   /* primary 0 */
    assert_keyset_damaged (ks, len);
  }
  {
    g_autofree guint8 *ks = make_keyset (1, 3, good_ids, &len);
    ks[8 + RECORD_BYTES + 4] = 1;               /* non-zero flags */
    assert_keyset_damaged (ks, len);
  }
  {
    g_autofree guint8 *ks = make_keyset (1, 3, good_ids, &len);
    ks[4] = 0x01; ks[5] = 0x10;                 /* count 4097, over the maximum */
    assert_keyset_damaged (ks, len);
  }
}

/* ---- KDF levels ---- */

static void
test_kdf_levels (void)
{
  static const struct { const char *name; MtsKdfLevel level; guint64 ops, mem; } levels[] = {
    { "test", MTS_KDF_TEST, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN },
    { "interactive", MTS_KDF_INTERACTIVE, 2, 64ULL << 20 },
    { "moderate", MTS_KDF_MODERATE, 3, 256ULL << 20 },
    { "sensitive", MTS_KDF_SENSITIVE, 4, 1ULL << 30 },
  };
  static const char *const bad[] = { "", "Moderate", "MODERATE", "moderate ", "fast", "tes", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++)
    {
      MtsKdfLevel level = 99;
      guint64 ops = 0, mem = 0;

      g_assert_true (mts_kdf_level_from_string (levels[i].name, &level));
      g_assert_cmpint (level, ==, levels[i].level);
      mts_kdf_level_params (level, &ops, &mem);
      g_assert_cmpuint (ops, ==, levels[i].ops);
      g_assert_cmpuint (mem, ==, levels[i].mem);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      MtsKdfLevel level = 99;

      g_assert_false (mts_kdf_level_from_string (bad[i], &level));
      g_assert_cmpint (level, ==, 99);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (mts_core_init (NULL));

#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/keystore/create/mode-0600", test_create_mode);
  ADD ("/keystore/create/interactive", test_create_interactive);
  ADD ("/keystore/create/refuses-existing", test_create_refuses_existing);
  ADD ("/keystore/create/weak-passphrase", test_create_weak_passphrase);
  ADD ("/keystore/unlock/right-and-wrong", test_unlock_right_and_wrong);
  ADD ("/keystore/unlock/missing", test_unlock_missing);
  ADD ("/keystore/unlock/every-byte-flipped", test_unlock_every_byte_flipped);
  ADD ("/keystore/unlock/truncated", test_unlock_truncated);
  ADD ("/keystore/unlock/newer-version", test_unlock_newer_version);
  ADD ("/keystore/parse/resealed-damage", test_parse_resealed_damage);
  ADD ("/keystore/rotate/basic", test_rotate);
  ADD ("/keystore/rotate/reload", test_reload);
  ADD ("/keystore/rotate/reload-other-keystore", test_reload_other_keystore);
  ADD ("/keystore/rotate/key-ids", test_key_ids);
  ADD ("/keystore/rotate/refresh", test_refresh);
  ADD ("/keystore/unlock/forget", test_forget);
  ADD ("/keystore/clone/opens-envelopes", test_clone_opens_envelopes);
  ADD ("/keystore/clone/outlives-original", test_clone_outlives_original);
  ADD ("/keystore/clone/sees-rotation", test_clone_sees_rotation);
  ADD ("/keystore/clone/wiped-on-free", test_clone_wiped_on_free);
  ADD ("/keystore/passwd/keeps-keys", test_passwd);
  ADD ("/keystore/passwd/refusals", test_passwd_refusals);
#undef ADD
  g_test_add_func ("/keystore/keyset/decode", test_keyset_decode);
  g_test_add_func ("/keystore/kdf/levels", test_kdf_levels);
  return g_test_run ();
}
