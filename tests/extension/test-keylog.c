/* test-keylog.c — unit tests of the key-access log (mts-keylog.h).
 *
 * The log is made through the keystore API, then edited the ways an
 * attacker or a crash would edit it, and verified with and without the MAC
 * key.  A helper recomputes the BLAKE2b chain as an attacker without the
 * master key can.
 */
#include "mts-keylog.h"
#include "mts-keystore.h"
#include "mts-error.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#define PASS "correct horse battery"
#define PASS2 "another staple of passphrases"
#define HASH_BYTES 32

typedef struct {
  char *dir;
  char *path;                              /* the keystore */
  char *log;                               /* its log */
  guint8 mac_key[MTS_KEYLOG_MAC_KEY_BYTES];
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  fx->dir = mts_test_dir_new ("mts-test-keylog-XXXXXX");
  fx->path = g_build_filename (fx->dir, "practice.keystore", NULL);
  fx->log = mts_keylog_path (fx->path);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{

  mts_test_dir_remove (fx->dir);
  g_free (fx->log);
  g_free (fx->path);
  g_free (fx->dir);
}

/* Makes a keystore whose log holds six entries:
 *   1 create, 2 unlock-failed, 3 unlock, 4 rotate, 5 export, 6 lock
 * and keeps the log's MAC key in @fx. */
static void
make_log (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  MtsKeystore *ks;

  g_assert_true (mts_keystore_create (fx->path, PASS, strlen (PASS), MTS_KDF_TEST, &error));
  g_assert_null (mts_keystore_unlock (fx->path, PASS2, strlen (PASS2), &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  ks = mts_keystore_unlock (fx->path, PASS, strlen (PASS), &error);
  g_assert_no_error (error);
  memcpy (fx->mac_key, mts_keystore_log_key (ks), sizeof fx->mac_key);
  g_assert_cmpuint (mts_keystore_rotate (ks, &error), ==, 2);
  g_assert_true (mts_keystore_log_event (ks, MTS_KEYLOG_EXPORT, "to backup.mts", &error));
  g_assert_no_error (error);
  mts_keystore_free (ks);
}

/* The log's lines, without their LFs. */
static GPtrArray *
read_lines (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto (GStrv) parts = NULL;
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (g_file_get_contents (fx->log, &text, NULL, &error));
  g_assert_true (g_str_has_suffix (text, "\n"));
  parts = g_strsplit (text, "\n", -1);
  for (gsize i = 0; parts[i] != NULL && parts[i + 1] != NULL; i++)
    g_ptr_array_add (lines, g_strdup (parts[i]));
  return lines;
}

static void
write_text (Fixture *fx, const char *text, gssize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents_full (fx->log, text, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                           0600, &error));
  g_assert_no_error (error);
}

static void
write_lines (Fixture *fx, GPtrArray *lines)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (s, "%s\n", (char *) lines->pdata[i]);
  write_text (fx, s->str, (gssize) s->len);
}

/* Replaces field @field of line @line_no (1-based) with @value. */
static void
set_field (GPtrArray *lines, guint line_no, guint field, const char *value)
{
  g_auto (GStrv) f = g_strsplit (lines->pdata[line_no - 1], "\t", -1);

  g_assert_cmpuint (g_strv_length (f), ==, 7);
  g_free (f[field]);
  f[field] = g_strdup (value);
  g_free (lines->pdata[line_no - 1]);
  lines->pdata[line_no - 1] = g_strjoinv ("\t", f);
}

static char *
get_field (GPtrArray *lines, guint line_no, guint field)
{
  g_auto (GStrv) f = g_strsplit (lines->pdata[line_no - 1], "\t", -1);

  g_assert_cmpuint (g_strv_length (f), ==, 7);
  return g_strdup (f[field]);
}

/* What an attacker without the master key can do: recompute every chain
 * hash (BLAKE2b-256 of the previous hash and the line's first five fields),
 * leaving the MACs as they are. */
static void
recompute_chain (GPtrArray *lines)
{
  guint8 chain[HASH_BYTES] = { 0 };

  for (guint i = 0; i < lines->len; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines->pdata[i], "\t", -1);
      g_autofree char *body = NULL;
      char hex[HASH_BYTES * 2 + 1];
      crypto_generichash_state st;

      g_assert_cmpuint (g_strv_length (f), ==, 7);
      body = g_strjoin ("\t", f[0], f[1], f[2], f[3], f[4], NULL);
      crypto_generichash_init (&st, NULL, 0, HASH_BYTES);
      crypto_generichash_update (&st, chain, HASH_BYTES);
      crypto_generichash_update (&st, (const guint8 *) body, strlen (body));
      crypto_generichash_final (&st, chain, HASH_BYTES);
      sodium_bin2hex (hex, sizeof hex, chain, HASH_BYTES);
      g_free (f[5]);
      f[5] = g_strdup (hex);
      g_free (lines->pdata[i]);
      lines->pdata[i] = g_strjoinv ("\t", f);
    }
}

static void
assert_ok (Fixture *fx, const guint8 *mac_key, guint64 expect_entries)
{
  g_autoptr (GError) error = NULL;
  guint64 n = 0;

  g_assert_true (mts_keylog_verify (fx->path, mac_key, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, expect_entries);
}

/* Verification must fail with LOG_TAMPERED and a message holding @needle. */
static void
assert_tampered (Fixture *fx, const guint8 *mac_key, const char *needle)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (mts_keylog_verify (fx->path, mac_key, NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

static void
assert_tampered_both (Fixture *fx, const char *needle)
{
  assert_tampered (fx, NULL, needle);
  assert_tampered (fx, fx->mac_key, needle);
}

/* ---- what gets logged ---- */

static void
test_events_all (Fixture *fx, gconstpointer data)
{
  static const char *const expect[][2] = {
    { "create", "1" }, { "unlock-failed", "0" }, { "unlock", "1" }, { "rotate", "2" },
    { "export", "2" }, { "lock", "2" }, { "passwd", "0" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) lines = NULL;

  make_log (fx);
  g_assert_true (mts_keystore_passwd (fx->path, PASS, strlen (PASS), PASS2, strlen (PASS2),
                                      &error));
  g_assert_no_error (error);

  lines = read_lines (fx);
  g_assert_cmpuint (lines->len, ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < lines->len; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines->pdata[i], "\t", -1);
      g_autofree char *seq = g_strdup_printf ("%u", i + 1);

      g_assert_cmpuint (g_strv_length (f), ==, 7);
      g_assert_cmpstr (f[0], ==, seq);
      g_assert_true (g_str_has_suffix (f[1], "Z"));
      g_assert_cmpstr (f[2], ==, expect[i][0]);
      g_assert_cmpstr (f[3], ==, expect[i][1]);
      g_assert_cmpuint (strlen (f[5]), ==, 64);
      /* Only a failed unlock is recorded without the key. */
      if (strcmp (f[2], "unlock-failed") == 0)
        g_assert_cmpstr (f[6], ==, "-");
      else
        g_assert_cmpuint (strlen (f[6]), ==, 64);
    }
  g_assert_nonnull (strstr (lines->pdata[4], "to backup.mts"));
  g_assert_null (strstr (lines->pdata[0], PASS));
  assert_ok (fx, fx->mac_key, 7);
}

static void
test_event_names (void)
{
  static const char *const names[] = {
    [MTS_KEYLOG_CREATE] = "create", [MTS_KEYLOG_UNLOCK] = "unlock",
    [MTS_KEYLOG_UNLOCK_FAILED] = "unlock-failed", [MTS_KEYLOG_LOCK] = "lock",
    [MTS_KEYLOG_ROTATE] = "rotate", [MTS_KEYLOG_PASSWD] = "passwd",
    [MTS_KEYLOG_EXPORT] = "export",
  };
  g_autofree char *path = mts_keylog_path ("/var/lib/mts/practice.keystore");

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (mts_keylog_event_name ((MtsKeylogEvent) i), ==, names[i]);
  g_assert_cmpstr (path, ==, "/var/lib/mts/practice.keystore.log");
}

static void
test_detail_cleaned (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *longest = g_strnfill (400, 'd');

  make_log (fx);
  g_assert_true (mts_keylog_append (fx->path, MTS_KEYLOG_EXPORT, 2, "a\tb\nc\rd", fx->mac_key,
                                    &error));
  g_assert_true (mts_keylog_append (fx->path, MTS_KEYLOG_EXPORT, 2, longest, fx->mac_key, &error));
  g_assert_true (mts_keylog_append (fx->path, MTS_KEYLOG_EXPORT, 2, NULL, fx->mac_key, &error));
  g_assert_no_error (error);
  lines = read_lines (fx);
  g_assert_cmpuint (lines->len, ==, 9);
  detail = get_field (lines, 7, 4);
  g_assert_cmpstr (detail, ==, "a b c d");
  g_free (detail);
  detail = get_field (lines, 8, 4);
  g_assert_cmpuint (strlen (detail), <, 400);
  g_free (detail);
  detail = get_field (lines, 9, 4);
  g_assert_cmpstr (detail, ==, "");
  assert_ok (fx, fx->mac_key, 9);
}

/* ---- verification ---- */

static void
test_verify_ok (Fixture *fx, gconstpointer data)
{
  guint8 wrong[MTS_KEYLOG_MAC_KEY_BYTES];

  make_log (fx);
  assert_ok (fx, NULL, 6);
  assert_ok (fx, fx->mac_key, 6);

  memcpy (wrong, fx->mac_key, sizeof wrong);
  wrong[0] ^= 0x01;
  assert_tampered (fx, wrong, "entry 1 has a MAC that does not verify");
}

static void
test_edit_each_field (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) good = NULL;
  /* Entry 3 is "unlock", carrying a MAC. */
  for (guint field = 0; field <= 5; field++)
    {
      g_autoptr (GPtrArray) lines = NULL;
      g_autofree char *old = NULL;
      g_autofree char *edited = NULL;

      if (good == NULL)
        {
          make_log (fx);
          good = read_lines (fx);
        }
      lines = read_lines (fx);
      old = get_field (lines, 3, field);
      switch (field)
        {
        case 0: edited = g_strdup ("9"); break;
        case 2: edited = g_strdup ("export"); break;
        case 3: edited = g_strdup ("2"); break;
        case 5: edited = g_strdup (old); edited[10] = edited[10] == '0' ? '1' : '0'; break;
        default: edited = g_strconcat (old, "x", NULL); break;
        }
      set_field (lines, 3, field, edited);
      write_lines (fx, lines);
      assert_tampered_both (fx, "entry 3");
      write_lines (fx, good);
      assert_ok (fx, fx->mac_key, 6);
    }
}

static void
test_edit_event_unknown (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;

  make_log (fx);
  lines = read_lines (fx);
  set_field (lines, 3, 2, "unlocked");
  write_lines (fx, lines);
  assert_tampered_both (fx, "line 3 (entry 3) is malformed");
}

/* The MAC field is outside the chain: without the key an edited MAC passes,
 * with the key it is caught. */
static void
test_edit_mac (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;
  g_autofree char *mac = NULL;

  make_log (fx);
  lines = read_lines (fx);
  mac = get_field (lines, 3, 6);
  mac[0] = mac[0] == 'a' ? 'b' : 'a';
  set_field (lines, 3, 6, mac);
  write_lines (fx, lines);
  assert_ok (fx, NULL, 6);
  assert_tampered (fx, fx->mac_key, "entry 3 has a MAC that does not verify");

  set_field (lines, 3, 6, "-");   /* MAC stripped */
  write_lines (fx, lines);
  assert_ok (fx, NULL, 6);
  assert_tampered (fx, fx->mac_key, "entry 3 (unlock) lacks its MAC");
}

static void
test_deleted_entry (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;

  make_log (fx);
  lines = read_lines (fx);
  g_ptr_array_remove_index (lines, 3);   /* entry 4 */
  write_lines (fx, lines);
  assert_tampered_both (fx, "line 4 holds entry 5 where entry 4 belongs");
}

static void
test_swapped_entries (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;
  gpointer tmp;

  make_log (fx);
  lines = read_lines (fx);
  tmp = lines->pdata[2];
  lines->pdata[2] = lines->pdata[3];
  lines->pdata[3] = tmp;
  write_lines (fx, lines);
  assert_tampered_both (fx, "line 3 holds entry 4 where entry 3 belongs");
}

static void
test_first_removed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;

  make_log (fx);
  lines = read_lines (fx);
  g_ptr_array_remove_index (lines, 0);
  write_lines (fx, lines);
  assert_tampered_both (fx, "line 1 holds entry 2 where entry 1 belongs");

  /* Renumbered and rechained, so every hash matches: the missing creation
   * is still noticed, with or without the key. */
  for (guint i = 0; i < lines->len; i++)
    {
      g_autofree char *seq = g_strdup_printf ("%u", i + 1);
      set_field (lines, i + 1, 0, seq);
    }
  recompute_chain (lines);
  write_lines (fx, lines);
  assert_tampered_both (fx, "does not begin with the keystore's creation");
}

static void
test_forged_append (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;
  g_autofree char *time = NULL;

  make_log (fx);
  lines = read_lines (fx);
  time = get_field (lines, 6, 1);
  g_ptr_array_add (lines, g_strdup_printf ("7\t%s\texport\t2\tforged\t%064d\t-", time, 0));
  recompute_chain (lines);
  write_lines (fx, lines);
  /* Without the key, a well-chained entry cannot be told from a real one. */
  assert_ok (fx, NULL, 7);
  assert_tampered (fx, fx->mac_key, "entry 7 (export) lacks its MAC: forged");
}

static void
test_chain_recomputed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) lines = NULL;

  make_log (fx);
  lines = read_lines (fx);
  set_field (lines, 4, 4, "pid=1 uid=0");   /* rewrite the rotation's detail */
  recompute_chain (lines);
  write_lines (fx, lines);
  assert_ok (fx, NULL, 6);
  assert_tampered (fx, fx->mac_key, "entry 4 has a MAC that does not verify");

  /* Rewriting only a failed unlock (no MAC of its own) is caught by the
   * next entry's MAC, which covers the chain. */
  g_ptr_array_unref (lines);
  lines = NULL;
  g_assert_cmpint (g_remove (fx->log), ==, 0);
  g_assert_cmpint (g_remove (fx->path), ==, 0);
  make_log (fx);
  lines = read_lines (fx);
  set_field (lines, 2, 4, "nothing to see");
  recompute_chain (lines);
  write_lines (fx, lines);
  assert_ok (fx, NULL, 6);
  assert_tampered (fx, fx->mac_key, "entry 3 has a MAC that does not verify");
}

static void
test_cut_short (Fixture *fx, gconstpointer data)
{
  g_autofree char *text = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  gsize len, line3;

  make_log (fx);
  g_assert_true (g_file_get_contents (fx->log, &text, &len, NULL));
  lines = read_lines (fx);

  write_text (fx, text, (gssize) len - 1);   /* final LF lost */
  assert_tampered_both (fx, "line 6 (entry 6) is cut short");
  write_text (fx, text, (gssize) len - 40);  /* inside the last MAC */
  assert_tampered_both (fx, "line 6 (entry 6) is cut short");

  line3 = strlen (lines->pdata[0]) + strlen (lines->pdata[1]) + 2;
  write_text (fx, text, (gssize) line3 + 20);   /* inside entry 3 */
  assert_tampered_both (fx, "line 3 (entry 3) is cut short");

  /* A line cut short and followed by the rest of the log is malformed. */
  {
    g_autofree char *spliced = g_strconcat (lines->pdata[0], "\n", lines->pdata[1], "\n",
                                             "3\t2024-01-01T00:00:00Z\tunl\n",
                                             lines->pdata[3], "\n", NULL);
    write_text (fx, spliced, -1);
    assert_tampered_both (fx, "line 3 (entry 3) is malformed");
  }
}

static void
test_empty_or_missing (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  make_log (fx);
  write_text (fx, "", 0);
  assert_tampered_both (fx, "key-access log is empty");
  write_text (fx, "\n", 1);
  assert_tampered_both (fx, "line 1 (entry 1) is malformed");

  g_assert_cmpint (g_remove (fx->log), ==, 0);
  assert_tampered_both (fx, fx->log);
  g_assert_false (mts_keylog_verify (fx->path, NULL, NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED);
}

static void
test_nul_byte (Fixture *fx, gconstpointer data)
{
  g_autofree char *text = NULL;
  gsize len;

  make_log (fx);
  g_assert_true (g_file_get_contents (fx->log, &text, &len, NULL));
  text[5] = '\0';
  write_text (fx, text, (gssize) len);
  assert_tampered_both (fx, "line 1 (entry 1) is malformed");
}

/* A log that was deleted starts again at entry 1 on the next append; that
 * restart is noticed. */
static void
test_restarted_log (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  make_log (fx);
  g_assert_cmpint (g_remove (fx->log), ==, 0);
  g_assert_true (mts_keylog_append (fx->path, MTS_KEYLOG_UNLOCK, 2, "", fx->mac_key, &error));
  g_assert_no_error (error);
  assert_tampered_both (fx, "does not begin with the keystore's creation");
}

static void
test_append_after_damage (Fixture *fx, gconstpointer data)
{
  g_autofree char *text = NULL;
  g_autofree char *after = NULL;
  gsize len, after_len;

  make_log (fx);
  g_assert_true (g_file_get_contents (fx->log, &text, &len, NULL));

  /* The last line cut short, only its LF lost (the line itself still
   * parses), then a line of garbage: each refused, the file unchanged. */
  for (int k = 0; k < 3; k++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *bad = k == 0 ? g_strndup (text, len - 10)
                           : k == 1 ? g_strndup (text, len - 1)
                                    : g_strconcat (text, "garbage\tline\n", NULL);

      write_text (fx, bad, -1);
      g_assert_false (mts_keylog_append (fx->path, MTS_KEYLOG_EXPORT, 2, "x", fx->mac_key,
                                         &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED);
      g_assert_nonnull (strstr (error->message, fx->log));
      g_assert_true (g_file_get_contents (fx->log, &after, &after_len, NULL));
      g_assert_cmpstr (after, ==, bad);
      g_clear_pointer (&after, g_free);
    }

  /* Restored, the chain continues. */
  write_text (fx, text, (gssize) len);
  {
    g_autoptr (GError) error = NULL;
    g_assert_true (mts_keylog_append (fx->path, MTS_KEYLOG_EXPORT, 2, "x", fx->mac_key, &error));
    g_assert_no_error (error);
  }
  assert_ok (fx, fx->mac_key, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (mts_core_init (NULL));

#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/keylog/events/all", test_events_all);
  ADD ("/keylog/events/detail-cleaned", test_detail_cleaned);
  ADD ("/keylog/verify/ok", test_verify_ok);
  ADD ("/keylog/verify/edit-each-field", test_edit_each_field);
  ADD ("/keylog/verify/edit-event-unknown", test_edit_event_unknown);
  ADD ("/keylog/verify/edit-mac", test_edit_mac);
  ADD ("/keylog/verify/deleted-entry", test_deleted_entry);
  ADD ("/keylog/verify/swapped-entries", test_swapped_entries);
  ADD ("/keylog/verify/first-removed", test_first_removed);
  ADD ("/keylog/verify/forged-append", test_forged_append);
  ADD ("/keylog/verify/chain-recomputed", test_chain_recomputed);
  ADD ("/keylog/verify/cut-short", test_cut_short);
  ADD ("/keylog/verify/empty-or-missing", test_empty_or_missing);
  ADD ("/keylog/verify/nul-byte", test_nul_byte);
  ADD ("/keylog/verify/restarted-log", test_restarted_log);
  ADD ("/keylog/append/after-damage", test_append_after_damage);
#undef ADD
  g_test_add_func ("/keylog/events/names", test_event_names);
  return g_test_run ();
}
