/* test-vault.c — the server's key vault (server/mts-vault.h).
 *
 * Opening creates the directory (0700) and the server keystore, reopens
 * with the right passphrase and refuses a wrong one; practice keystores are
 * 0600 files that open with a passphrase derived as documented (checked
 * here independently) and with nothing else; sealed values round-trip and
 * fail to open in another practice, under another context, with any byte
 * changed, truncated or empty; practice ids that could name a path are
 * refused before any file is touched; another process's rotation is
 * noticed; every unlock, create and lock lands in the key-access logs;
 * and no message carries a passphrase or a plaintext.
 *
 * The server keystore uses MTS_KDF_TEST to keep this quick; practice
 * keystores are always MTS_KDF_INTERACTIVE (64 MiB), so each case makes as
 * few of them as it needs. */
#define _GNU_SOURCE   /* memmem */
#include "mts-vault.h"
#include "mts-error.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#define PASS "vault passphrase for the tests"
#define WRONG "vault passphrase for the tests!"
#define PRACTICE_A "0192f0e1-7c3a-7d4e-9b1a-2f3c4d5e6f70"
#define PRACTICE_B "0192f0e1-7c3a-7d4e-9b1a-2f3c4d5e6f71"
#define CONTEXT_A "record:" PRACTICE_A ":clients:0192f0e2-0000-7000-8000-000000000001:3"
#define SECRET "Jane Doe, 14 Acacia Avenue; disclosed self-harm in session 4"

typedef struct {
  char *tmp;     /* the test's own directory */
  char *dir;     /* the vault: tmp/vault, not made yet */
} Fixture;

static void
rm_rf (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);

  if (d != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          rm_rf (child);
        }
      g_dir_close (d);
      g_chmod (path, 0700);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->tmp = g_dir_make_tmp ("mts-vault-XXXXXX", &error);
  g_assert_no_error (error);
  fx->dir = g_build_filename (fx->tmp, "vault", NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  rm_rf (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->dir);
}

/* ---- helpers ---- */

static MtsVault *
open_ok (const char *dir)
{
  g_autoptr (GError) error = NULL;
  MtsVault *vault = mts_vault_open (dir, PASS, strlen (PASS), MTS_KDF_TEST, &error);

  g_assert_no_error (error);
  g_assert_nonnull (vault);
  return vault;
}

static void
create_ok (MtsVault *vault, const char *practice_id)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (mts_vault_create_practice (vault, practice_id, &error));
  g_assert_no_error (error);
}

static GBytes *
seal_ok (MtsVault *vault, const char *practice_id, const char *context, const void *data,
         gsize len)
{
  g_autoptr (GError) error = NULL;
  GBytes *sealed = mts_vault_seal (vault, practice_id, context, data, len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sealed);
  g_assert_cmpuint (g_bytes_get_size (sealed), ==, mts_envelope_sealed_size (len));
  return sealed;
}

/* Unseals and checks the plaintext is @data followed by a NUL. */
static void
unseal_ok (MtsVault *vault, const char *practice_id, const char *context, GBytes *sealed,
           const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  gsize got_len = G_MAXSIZE;
  char *plain = mts_vault_unseal (vault, practice_id, context, sealed, &got_len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (plain);
  g_assert_cmpmem (plain, got_len, data, len);
  g_assert_cmpint (plain[len], ==, '\0');
  mts_vault_plain_free (plain);
}

/* Neither the passphrase nor the secret plaintext is in @error's message. */
static void
assert_message_clean (const GError *error)
{
  g_assert_nonnull (error);
  g_test_message ("message: %s", error->message);
  g_assert_null (strstr (error->message, "passphrase for the tests"));
  g_assert_null (strstr (error->message, "Jane"));
  g_assert_null (strstr (error->message, "self-harm"));
}

static void
unseal_fails (MtsVault *vault, const char *practice_id, const char *context, GBytes *sealed,
              GQuark domain, int code)
{
  g_autoptr (GError) error = NULL;
  gsize len = 12345;
  char *plain = mts_vault_unseal (vault, practice_id, context, sealed, &len, &error);

  g_assert_null (plain);
  g_assert_error (error, domain, code);
  g_assert_cmpuint (len, ==, 12345);
  assert_message_clean (error);
}

static char *
keystore_path (Fixture *fx, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".mtskey", NULL);

  return g_build_filename (fx->dir, file, NULL);
}

static guint
file_mode (const char *path)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* How many entries of @event (its name in the log) the key-access log of
 * @keystore holds; all of them when @event is NULL.  The log must verify. */
static guint
log_count (const char *keystore, const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log = g_strconcat (keystore, ".log", NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint64 n_entries = 0;
  guint n = 0;

  g_assert_true (g_file_get_contents (log, &text, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (mts_keylog_verify (keystore, NULL, &n_entries, &error));
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], "\t", -1);
      if (g_strv_length (fields) >= 3 && (event == NULL || strcmp (fields[2], event) == 0))
        n++;
    }
  if (event == NULL)
    g_assert_cmpuint (n, ==, n_entries);
  return n;
}

/* The passphrase of @practice_id's keystore, derived as mts-vault.h
 * documents, from the server keystore unlocked here on its own. */
static void
derive_passphrase (Fixture *fx, const char *practice_id, char hex[65])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *server_path = keystore_path (fx, "server");
  g_autofree char *label = g_strconcat ("practice-keystore:", practice_id, NULL);
  g_autoptr (MtsKeystore) server = mts_keystore_unlock (server_path, PASS, strlen (PASS), &error);
  guint8 mac[32];

  g_assert_no_error (error);
  g_assert_cmpint (crypto_generichash (mac, 32, (const guint8 *) label, strlen (label),
                                       mts_keystore_subkey (server, 1, MTS_PURPOSE_FIELD),
                                       MTS_KEY_BYTES), ==, 0);
  sodium_bin2hex (hex, 65, mac, 32);
}

/* ---- 1. opening ---- */

/* A first open makes the directory (0700), the server keystore (0600) and
 * its log; the right passphrase reopens it, a wrong one is refused as
 * WRONG_PASSPHRASE without the passphrase in the message; each unlock,
 * failed unlock and lock is logged. */
static void
test_open (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *server = keystore_path (fx, "server");
  g_autofree char *server_log = g_strconcat (server, ".log", NULL);
  MtsVault *vault;

  g_assert_false (g_file_test (fx->dir, G_FILE_TEST_EXISTS));
  vault = open_ok (fx->dir);
  g_assert_cmpstr (mts_vault_get_dir (vault), ==, fx->dir);
  g_assert_cmpuint (file_mode (fx->dir), ==, 0700);
  g_assert_cmpuint (file_mode (server), ==, 0600);
  g_assert_cmpuint (file_mode (server_log), ==, 0600);
  g_assert_cmpuint (log_count (server, "create"), ==, 1);
  g_assert_cmpuint (log_count (server, "unlock"), ==, 1);
  g_assert_cmpuint (log_count (server, "lock"), ==, 0);
  mts_vault_free (vault);
  g_assert_cmpuint (log_count (server, "lock"), ==, 1);
  g_assert_cmpuint (log_count (server, NULL), ==, 3);

  /* Reopened: the level only applies to a new keystore. */
  vault = mts_vault_open (fx->dir, PASS, strlen (PASS), MTS_KDF_SENSITIVE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vault);
  g_assert_cmpuint (log_count (server, "create"), ==, 1);
  g_assert_cmpuint (log_count (server, "unlock"), ==, 2);
  mts_vault_free (vault);
  g_assert_cmpuint (log_count (server, NULL), ==, 5);

  vault = mts_vault_open (fx->dir, WRONG, strlen (WRONG), MTS_KDF_TEST, &error);
  g_assert_null (vault);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  assert_message_clean (error);
  g_assert_cmpuint (log_count (server, "unlock-failed"), ==, 1);
  g_assert_cmpuint (log_count (server, NULL), ==, 6);

  /* A first open with a passphrase too short for a keystore makes nothing. */
  rm_rf (fx->dir);
  g_clear_error (&error);
  g_assert_null (mts_vault_open (fx->dir, "short", 5, MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_assert_false (g_file_test (server, G_FILE_TEST_EXISTS));

  mts_vault_free (NULL);
}

/* An existing directory other users can reach, or a file where the
 * directory should be, is refused. */
static void
test_open_dir (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (fx->dir, 0700), ==, 0);
  g_assert_cmpint (g_chmod (fx->dir, 0750), ==, 0);
  g_assert_null (mts_vault_open (fx->dir, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
  assert_message_clean (error);
  g_assert_nonnull (strstr (error->message, "0750"));
  g_clear_error (&error);
  {
    g_autofree char *server = keystore_path (fx, "server");
    g_assert_false (g_file_test (server, G_FILE_TEST_EXISTS));
  }

  g_assert_cmpint (g_chmod (fx->dir, 0700), ==, 0);
  mts_vault_free (open_ok (fx->dir));

  rm_rf (fx->dir);
  g_assert_true (g_file_set_contents (fx->dir, "not a directory", -1, NULL));
  g_assert_null (mts_vault_open (fx->dir, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
}

/* A vault whose server keystore is gone but whose practice keystores are
 * still there is not started afresh: the open fails and makes nothing. */
static void
test_lost_server_keystore (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *server = keystore_path (fx, "server");
  MtsVault *vault = open_ok (fx->dir);

  create_ok (vault, PRACTICE_A);
  mts_vault_free (vault);
  g_assert_cmpint (g_unlink (server), ==, 0);
  g_assert_null (mts_vault_open (fx->dir, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "server.mtskey"));
  assert_message_clean (error);
  g_assert_false (g_file_test (server, G_FILE_TEST_EXISTS));
}

/* ---- 2. sealing ---- */

/* Text, binary with NULs, and an empty value come back as they went in,
 * NUL-terminated; sealing twice gives different envelopes (fresh nonces);
 * the envelope is the extension's, under key 1 of the practice keystore. */
static void
test_seal (Fixture *fx, gconstpointer data)
{
  static const guint8 binary[] = { 0, 1, 2, 0, 255, 0 };
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autoptr (GBytes) s1 = NULL;
  g_autoptr (GBytes) s2 = NULL;
  g_autoptr (GBytes) sb = NULL;
  g_autoptr (GBytes) se = NULL;
  g_autoptr (GError) error = NULL;
  MtsEnvelope env;

  create_ok (vault, PRACTICE_A);
  s1 = seal_ok (vault, PRACTICE_A, CONTEXT_A, SECRET, strlen (SECRET));
  s2 = seal_ok (vault, PRACTICE_A, CONTEXT_A, SECRET, strlen (SECRET));
  g_assert_false (g_bytes_equal (s1, s2));
  g_assert_null (memmem (g_bytes_get_data (s1, NULL), g_bytes_get_size (s1), "Jane", 4));
  g_assert_true (mts_envelope_parse (g_bytes_get_data (s1, NULL), g_bytes_get_size (s1), &env,
                                     &error));
  g_assert_cmpuint (env.key_id, ==, 1);
  unseal_ok (vault, PRACTICE_A, CONTEXT_A, s1, SECRET, strlen (SECRET));
  unseal_ok (vault, PRACTICE_A, CONTEXT_A, s2, SECRET, strlen (SECRET));

  sb = seal_ok (vault, PRACTICE_A, "totp", binary, sizeof binary);
  unseal_ok (vault, PRACTICE_A, "totp", sb, binary, sizeof binary);
  se = seal_ok (vault, PRACTICE_A, "", NULL, 0);
  unseal_ok (vault, PRACTICE_A, "", se, "", 0);

  /* len is optional. */
  {
    char *plain = mts_vault_unseal (vault, PRACTICE_A, CONTEXT_A, s1, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (plain, ==, SECRET);
    mts_vault_plain_free (plain);
  }
  mts_vault_plain_free (NULL);
}

/* An envelope does not open in another practice (whose keystore also has a
 * key 1) or under another context, with AUTH; the same value sealed for
 * two practices differs and each opens only in its own. */
static void
test_moved (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;

  create_ok (vault, PRACTICE_A);
  create_ok (vault, PRACTICE_B);
  a = seal_ok (vault, PRACTICE_A, "totp", SECRET, strlen (SECRET));
  b = seal_ok (vault, PRACTICE_B, "totp", SECRET, strlen (SECRET));
  g_assert_false (g_bytes_equal (a, b));
  unseal_ok (vault, PRACTICE_A, "totp", a, SECRET, strlen (SECRET));
  unseal_ok (vault, PRACTICE_B, "totp", b, SECRET, strlen (SECRET));

  unseal_fails (vault, PRACTICE_B, "totp", a, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  unseal_fails (vault, PRACTICE_A, "totp", b, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  unseal_fails (vault, PRACTICE_A, "totp ", a, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  unseal_fails (vault, PRACTICE_A, "", a, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  unseal_fails (vault, PRACTICE_A, CONTEXT_A, a, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
}

/* Every byte of an envelope, flipped, makes it fail to open (AUTH for the
 * nonce, ciphertext and tag); truncated, extended or empty, it fails too. */
static void
test_tamper (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autoptr (GBytes) sealed = NULL;
  const guint8 *orig;
  gsize n;

  create_ok (vault, PRACTICE_A);
  sealed = seal_ok (vault, PRACTICE_A, CONTEXT_A, SECRET, strlen (SECRET));
  orig = g_bytes_get_data (sealed, &n);
  for (gsize i = 0; i < n; i++)
    for (guint8 bit = 1; bit != 0; bit <<= 7)   /* the lowest and the highest bit */
      {
        g_autoptr (GError) error = NULL;
        guint8 *copy = g_memdup2 (orig, n);
        g_autoptr (GBytes) bad = NULL;
        int code;
        char *plain;

        copy[i] ^= bit;
        bad = g_bytes_new_take (copy, n);
        plain = mts_vault_unseal (vault, PRACTICE_A, CONTEXT_A, bad, NULL, &error);
        g_assert_null (plain);
        /* version, algorithm, key id 0: malformed; another key id: not held */
        if (i < 2 || (i == 5 && bit == 1))
          code = MTS_CORE_ERROR_BAD_ENVELOPE;
        else if (i < 6)
          code = MTS_CORE_ERROR_UNKNOWN_KEY;
        else
          code = MTS_CORE_ERROR_AUTH;
        g_assert_error (error, MTS_CORE_ERROR, code);
        if (i >= 6)
          assert_message_clean (error);
      }

  {
    g_autoptr (GBytes) cut = g_bytes_new_from_bytes (sealed, 0, n - 1);
    g_autoptr (GBytes) header = g_bytes_new_from_bytes (sealed, 0, MTS_ENVELOPE_HEADER_BYTES);
    g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
    g_autoptr (GBytes) longer = NULL;
    guint8 *more = g_malloc (n + 1);

    memcpy (more, orig, n);
    more[n] = 0;
    longer = g_bytes_new_take (more, n + 1);
    unseal_fails (vault, PRACTICE_A, CONTEXT_A, cut, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
    unseal_fails (vault, PRACTICE_A, CONTEXT_A, longer, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
    unseal_fails (vault, PRACTICE_A, CONTEXT_A, header, MTS_CORE_ERROR,
                  MTS_CORE_ERROR_BAD_ENVELOPE);
    unseal_fails (vault, PRACTICE_A, CONTEXT_A, empty, MTS_CORE_ERROR,
                  MTS_CORE_ERROR_BAD_ENVELOPE);
  }
  unseal_ok (vault, PRACTICE_A, CONTEXT_A, sealed, SECRET, strlen (SECRET));
}

/* ---- 3. practice keystores ---- */

/* A practice keystore and its log are 0600 files in the 0700 directory;
 * creating it again fails with EXISTS and leaves it as it was. */
static void
test_practice_files (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autofree char *path = keystore_path (fx, PRACTICE_A);
  g_autofree char *log = g_strconcat (path, ".log", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  create_ok (vault, PRACTICE_A);
  g_assert_cmpuint (file_mode (fx->dir), ==, 0700);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  g_assert_cmpuint (file_mode (log), ==, 0600);
  g_assert_cmpuint (log_count (path, "create"), ==, 1);
  g_assert_true (g_file_get_contents (path, &before, NULL, NULL));

  g_assert_false (mts_vault_create_practice (vault, PRACTICE_A, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, PRACTICE_A));
  assert_message_clean (error);
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (log_count (path, NULL), ==, 1);
}

/* Practice ids that could name a path, or are not UUID-like, are refused
 * with INVALID by every call taking one, and no file appears anywhere;
 * a well-formed id without a keystore is an error, not a new keystore. */
static void
test_bad_practice_id (Fixture *fx, gconstpointer data)
{
  static const char *const bad[] = {
    "../x", "a/b", "", "..", ".", "/etc/passwd", "../server", "server",
    "0192F0E1-7C3A", "0192f0e1 7c3a", "0192f0e1\n", "-rf", "0192f0e1.mtskey",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",   /* 65 */
    NULL,
  };
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autoptr (GBytes) junk = g_bytes_new_static ("junk junk junk junk junk junk junk junk junk", 45);
  g_autoptr (GError) error = NULL;
  guint n_before = 0, n_after = 0;
  GDir *d;

  for (d = g_dir_open (fx->dir, 0, NULL); g_dir_read_name (d) != NULL; n_before++)
    ;
  g_dir_close (d);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("id %u", i);
      g_assert_false (mts_vault_create_practice (vault, bad[i], &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_null (mts_vault_seal (vault, bad[i], "c", "x", 1, &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_null (mts_vault_unseal (vault, bad[i], "c", junk, NULL, &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
      g_clear_error (&error);
      if (bad[i] != NULL)
        {
          g_assert_false (mts_vault_log (vault, bad[i], MTS_KEYLOG_EXPORT, "x", &error));
          g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
          g_clear_error (&error);
        }
    }

  /* The longest id allowed is 64 characters. */
  {
    g_autofree char *longest = g_strnfill (64, 'a');
    g_assert_null (mts_vault_seal (vault, longest, "c", "x", 1, &error));
    g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
    g_clear_error (&error);
  }

  /* Well formed, but no such practice. */
  g_assert_null (mts_vault_seal (vault, PRACTICE_B, "c", "x", 1, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, PRACTICE_B));
  g_clear_error (&error);
  g_assert_null (mts_vault_unseal (vault, PRACTICE_B, "c", junk, NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO);

  for (d = g_dir_open (fx->dir, 0, NULL); g_dir_read_name (d) != NULL; n_after++)
    ;
  g_dir_close (d);
  g_assert_cmpuint (n_after, ==, n_before);
  {
    g_autofree char *outside = g_build_filename (fx->tmp, "x.mtskey", NULL);
    g_autofree char *server = g_build_filename (fx->tmp, "server.mtskey", NULL);
    g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (server, G_FILE_TEST_EXISTS));
  }
}

/* The practice keystore opens with the passphrase derived independently
 * here from the server keystore, and not with another practice's. */
static void
test_derivation (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autofree char *path = keystore_path (fx, PRACTICE_A);
  g_autoptr (GBytes) sealed = NULL;
  char pass[65], other[65];
  MtsEnvelope env;

  create_ok (vault, PRACTICE_A);
  sealed = seal_ok (vault, PRACTICE_A, "totp", SECRET, strlen (SECRET));
  derive_passphrase (fx, PRACTICE_A, pass);
  derive_passphrase (fx, PRACTICE_B, other);
  g_assert_cmpuint (strlen (pass), ==, 64);
  g_assert_cmpstr (pass, !=, other);

  g_assert_null (mts_keystore_unlock (path, other, 64, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  {
    g_autoptr (MtsKeystore) ks = mts_keystore_unlock (path, pass, 64, &error);
    guint8 out[sizeof SECRET];
    MtsValueType type;

    g_assert_no_error (error);
    g_assert_nonnull (ks);
    /* ...and holds the key the vault sealed with. */
    g_assert_true (mts_envelope_parse (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                                       &env, &error));
    g_assert_true (mts_envelope_open (&env, mts_keystore_subkey (ks, 1, MTS_PURPOSE_FIELD),
                                      "totp", 4, &type, out, &error));
    g_assert_no_error (error);
    g_assert_cmpstr ((char *) out, ==, SECRET);
  }
  sodium_memzero (pass, sizeof pass);
}

/* A practice keystore copied into another vault (another server keystore,
 * even with the same vault passphrase) does not open there. */
static void
test_other_server (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir2 = g_build_filename (fx->tmp, "vault2", NULL);
  g_autofree char *path = keystore_path (fx, PRACTICE_A);
  g_autofree char *path2 = g_build_filename (dir2, PRACTICE_A ".mtskey", NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autoptr (MtsVault) vault2 = open_ok (dir2);

  create_ok (vault, PRACTICE_A);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (path2, bytes, (gssize) len, NULL));
  g_assert_null (mts_vault_seal (vault2, PRACTICE_A, "c", "x", 1, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_assert_nonnull (strstr (error->message, PRACTICE_A));
  assert_message_clean (error);
}

/* ---- 4. keys and logs ---- */

/* Another process's rotation of a practice keystore is noticed: new seals
 * use the new key once the keystore's once-a-second check has run; an
 * envelope under a key rotated in since that check still opens (the vault
 * reloads the keyset); envelopes under older keys still open; a key id the
 * keystore never held is UNKNOWN_KEY. */
static void
test_rotation (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsVault) vault = open_ok (fx->dir);
  g_autofree char *path = keystore_path (fx, PRACTICE_A);
  g_autoptr (MtsKeystore) other = NULL;
  g_autoptr (GBytes) old = NULL;
  g_autoptr (GBytes) fresh = NULL;
  g_autoptr (GBytes) theirs = NULL;
  char pass[65];
  MtsEnvelope env;
  guint8 *buf;

  create_ok (vault, PRACTICE_A);
  old = seal_ok (vault, PRACTICE_A, "c", SECRET, strlen (SECRET));

  /* "Another process": the same keystore unlocked on its own. */
  derive_passphrase (fx, PRACTICE_A, pass);
  other = mts_keystore_unlock (path, pass, 64, &error);
  sodium_memzero (pass, sizeof pass);
  g_assert_no_error (error);
  g_assert_cmpuint (mts_keystore_rotate (other, &error), ==, 2);

  g_usleep (G_USEC_PER_SEC * 11 / 10);   /* past the keystore's once-a-second check */
  fresh = seal_ok (vault, PRACTICE_A, "c", SECRET, strlen (SECRET));
  g_assert_true (mts_envelope_parse (g_bytes_get_data (fresh, NULL), g_bytes_get_size (fresh),
                                     &env, &error));
  g_assert_cmpuint (env.key_id, ==, 2);

  g_assert_cmpuint (mts_keystore_rotate (other, &error), ==, 3);
  buf = g_malloc (mts_envelope_sealed_size (3));
  mts_envelope_seal (buf, 3, mts_keystore_subkey (other, 3, MTS_PURPOSE_FIELD), MTS_VALUE_TEXT,
                     "abc", 3, "c", 1);
  theirs = g_bytes_new_take (buf, mts_envelope_sealed_size (3));
  unseal_ok (vault, PRACTICE_A, "c", theirs, "abc", 3);
  unseal_ok (vault, PRACTICE_A, "c", fresh, SECRET, strlen (SECRET));
  unseal_ok (vault, PRACTICE_A, "c", old, SECRET, strlen (SECRET));

  {
    guint8 *copy = g_memdup2 (g_bytes_get_data (old, NULL), g_bytes_get_size (old));
    g_autoptr (GBytes) unknown = NULL;
    copy[5] = 9;
    unknown = g_bytes_new_take (copy, g_bytes_get_size (old));
    unseal_fails (vault, PRACTICE_A, "c", unknown, MTS_CORE_ERROR, MTS_CORE_ERROR_UNKNOWN_KEY);
  }
}

/* The key-access logs: a practice's keystore logs its create, its unlock on
 * first use (once, however often it is used), its lock when the vault is
 * freed, and a new unlock on first use after reopening; mts_vault_log
 * writes to the practice's log or the server's.  Every log verifies. */
static void
test_keylog (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = keystore_path (fx, PRACTICE_A);
  g_autofree char *server = keystore_path (fx, "server");
  g_autoptr (GBytes) sealed = NULL;
  MtsVault *vault = open_ok (fx->dir);

  create_ok (vault, PRACTICE_A);
  g_assert_cmpuint (log_count (path, NULL), ==, 1);
  sealed = seal_ok (vault, PRACTICE_A, "c", SECRET, strlen (SECRET));
  g_assert_cmpuint (log_count (path, "unlock"), ==, 1);
  unseal_ok (vault, PRACTICE_A, "c", sealed, SECRET, strlen (SECRET));
  g_bytes_unref (seal_ok (vault, PRACTICE_A, "c", "x", 1));
  g_assert_cmpuint (log_count (path, "unlock"), ==, 1);
  g_assert_cmpuint (log_count (path, NULL), ==, 2);

  g_assert_true (mts_vault_log (vault, PRACTICE_A, MTS_KEYLOG_EXPORT, "admin export", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log_count (path, "export"), ==, 1);
  g_assert_true (mts_vault_log (vault, NULL, MTS_KEYLOG_EXPORT, "server export", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log_count (server, "export"), ==, 1);
  g_assert_cmpuint (log_count (path, "export"), ==, 1);

  mts_vault_free (vault);
  g_assert_cmpuint (log_count (path, "lock"), ==, 1);
  g_assert_cmpuint (log_count (server, "lock"), ==, 1);

  /* Reopened: nothing is unlocked until a practice is used. */
  vault = open_ok (fx->dir);
  g_assert_cmpuint (log_count (path, "unlock"), ==, 1);
  unseal_ok (vault, PRACTICE_A, "c", sealed, SECRET, strlen (SECRET));
  g_assert_cmpuint (log_count (path, "unlock"), ==, 2);
  g_assert_cmpuint (log_count (path, NULL), ==, 5);
  mts_vault_free (vault);
  g_assert_cmpuint (log_count (path, "lock"), ==, 2);
  g_assert_cmpuint (log_count (server, "unlock"), ==, 2);
}

/* The audit key is 32 bytes: the server keystore's primary audit subkey,
 * the same after reopening, and no other subkey. */
static void
test_audit_key (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *server_path = keystore_path (fx, "server");
  MtsVault *vault = open_ok (fx->dir);
  g_autoptr (MtsKeystore) server = NULL;
  guint8 first[32];

  memcpy (first, mts_vault_audit_key (vault), 32);
  mts_vault_free (vault);
  server = mts_keystore_unlock (server_path, PASS, strlen (PASS), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (first, 32, mts_keystore_subkey (server, mts_keystore_primary_id (server),
                                                   MTS_PURPOSE_AUDIT), 32);
  g_assert_true (memcmp (first, mts_keystore_subkey (server, 1, MTS_PURPOSE_FIELD), 32) != 0);
  g_assert_true (memcmp (first, mts_keystore_log_key (server), 32) != 0);

  vault = open_ok (fx->dir);
  g_assert_cmpmem (mts_vault_audit_key (vault), 32, first, 32);
  mts_vault_free (vault);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/vault/open", test_open);
  ADD ("/vault/open-dir", test_open_dir);
  ADD ("/vault/lost-server-keystore", test_lost_server_keystore);
  ADD ("/vault/seal", test_seal);
  ADD ("/vault/moved", test_moved);
  ADD ("/vault/tamper", test_tamper);
  ADD ("/vault/practice-files", test_practice_files);
  ADD ("/vault/bad-practice-id", test_bad_practice_id);
  ADD ("/vault/derivation", test_derivation);
  ADD ("/vault/other-server", test_other_server);
  ADD ("/vault/rotation", test_rotation);
  ADD ("/vault/keylog", test_keylog);
  ADD ("/vault/audit-key", test_audit_key);
#undef ADD
  return g_test_run ();
}
