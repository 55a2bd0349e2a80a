/* test-blind-index.c — unit tests of blind indexes (mts-blind-index.h). */
#include "mts-blind-index.h"
#include "mts-error.h"
#include "test-util.h"

#include <sodium.h>
#include <string.h>

static void
assert_normalises (const char *value, gssize len, const char *expect)
{
  g_autofree char *norm = mts_blind_index_normalise (value, len < 0 ? strlen (value) : (gsize) len);

  g_assert_nonnull (norm);
  g_assert_cmpstr (norm, ==, expect);
}

static void
index_of (const guint8 *key, guint32 key_id, const char *name, const char *value,
          guint8 out[MTS_BLIND_INDEX_BYTES])
{
  g_autoptr (GError) error = NULL;

  memset (out, 0, MTS_BLIND_INDEX_BYTES);
  g_assert_true (mts_blind_index_compute (key, key_id, name, value, strlen (value), out, &error));
  g_assert_no_error (error);
}

static void
test_normalise_trim_case (void)
{
  assert_normalises ("  JANE@Example.ORG ", -1, "jane@example.org");
  assert_normalises ("\t\r\njane@example.org\n", -1, "jane@example.org");
  assert_normalises ("jane@example.org", -1, "jane@example.org");
  assert_normalises ("+44 7700 900123", -1, "+44 7700 900123");
  /* Inner white space is kept: only the ends are trimmed. */
  assert_normalises ("  Jane  Doe  ", -1, "jane  doe");
  assert_normalises ("", 0, "");
  assert_normalises ("   ", -1, "");
  /* Only @len bytes are read. */
  assert_normalises ("JANE@example.org-not-this", 16, "jane@example.org");
}

static void
test_normalise_nfkc (void)
{
  /* Fullwidth forms fold to ASCII. */
  assert_normalises ("ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＯＲＧ", -1, "jane@example.org");
  /* Composed and decomposed é are one value. */
  assert_normalises ("Ren\xc3\xa9" "e", -1, "ren\xc3\xa9" "e");
  assert_normalises ("Rene\xcc\x81" "e", -1, "ren\xc3\xa9" "e");
  /* Compatibility ligature and full case folding. */
  assert_normalises ("\xef\xac\x81" "ona", -1, "fiona");   /* U+FB01 LATIN SMALL LIGATURE FI */
  assert_normalises ("STRASSE", -1, "strasse");
  assert_normalises ("Stra\xc3\x9f" "e", -1, "strasse");   /* ß folds to ss */
  /* No-break and ideographic spaces become spaces first, so they are trimmed. */
  assert_normalises ("\xc2\xa0jane\xe3\x80\x80", -1, "jane");
}

static void
test_normalise_invalid (void)
{
  g_assert_null (mts_blind_index_normalise ("\xff", 1));
  g_assert_null (mts_blind_index_normalise ("abc\xc3", 4));           /* cut inside a character */
  g_assert_null (mts_blind_index_normalise ("\xc0\xaf", 2));          /* overlong */
  g_assert_null (mts_blind_index_normalise ("\xed\xa0\x80", 3));      /* surrogate */
  g_assert_null (mts_blind_index_normalise ("ab\0cd", 5));            /* NUL inside */
}

static void
test_compute_normalised_equal (void)
{
  static const char *const same[] = {
    "jane@example.org", "  JANE@Example.ORG ", "Jane@Example.Org\n",
    "ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＯＲＧ", "\xc2\xa0jane@example.org",
  };
  guint8 key[MTS_KEY_BYTES];
  guint8 first[MTS_BLIND_INDEX_BYTES], other[MTS_BLIND_INDEX_BYTES];

  mts_test_make_key (key, 1);
  index_of (key, 1, "clients.email", same[0], first);
  for (gsize i = 1; i < G_N_ELEMENTS (same); i++)
    {
      index_of (key, 1, "clients.email", same[i], other);
      g_assert_cmpmem (first, sizeof first, other, sizeof other);
    }
  index_of (key, 1, "clients.email", "jane@example.com", other);
  g_assert_cmpint (memcmp (first, other, sizeof first), !=, 0);
  index_of (key, 1, "clients.email", "jane @example.org", other);
  g_assert_cmpint (memcmp (first, other, sizeof first), !=, 0);
}

static void
test_compute_index_names (void)
{
  guint8 key[MTS_KEY_BYTES];
  guint8 a[MTS_BLIND_INDEX_BYTES], b[MTS_BLIND_INDEX_BYTES];

  mts_test_make_key (key, 1);
  index_of (key, 1, "clients.email", "jane@example.org", a);
  index_of (key, 1, "clinicians.email", "jane@example.org", b);
  g_assert_cmpint (memcmp (a + 4, b + 4, MTS_BLIND_INDEX_MAC_BYTES), !=, 0);

  /* The separator keeps name and value apart: "ab" + "c" is not "a" + "bc". */
  index_of (key, 1, "ab", "c", a);
  index_of (key, 1, "a", "bc", b);
  g_assert_cmpint (memcmp (a + 4, b + 4, MTS_BLIND_INDEX_MAC_BYTES), !=, 0);
}

static void
test_compute_keys (void)
{
  guint8 k1[MTS_KEY_BYTES], k2[MTS_KEY_BYTES];
  guint8 a[MTS_BLIND_INDEX_BYTES], b[MTS_BLIND_INDEX_BYTES];

  mts_test_make_key (k1, 1);
  memcpy (k2, k1, sizeof k2);
  k2[31] ^= 0x80;

  /* Another key: another MAC. */
  index_of (k1, 1, "clients.phone", "+447700900123", a);
  index_of (k2, 1, "clients.phone", "+447700900123", b);
  g_assert_cmpmem (a, 4, b, 4);
  g_assert_cmpint (memcmp (a + 4, b + 4, MTS_BLIND_INDEX_MAC_BYTES), !=, 0);

  /* Another key id: another tag.  The MAC depends on the key alone, as the
   * format says; in a keyset each id has its own key. */
  index_of (k1, 2, "clients.phone", "+447700900123", b);
  g_assert_cmpint (memcmp (a, b, sizeof a), !=, 0);
  g_assert_cmpmem (a + 4, MTS_BLIND_INDEX_MAC_BYTES, b + 4, MTS_BLIND_INDEX_MAC_BYTES);
}

static void
test_compute_key_id_tag (void)
{
  static const guint32 ids[] = { 1, 0x01020304, 0xa0b0c0d0, 0xffffffff };
  guint8 key[MTS_KEY_BYTES];
  guint8 out[MTS_BLIND_INDEX_BYTES];

  mts_test_make_key (key, 2);
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      index_of (key, ids[i], "clients.email", "x@example.org", out);
      g_assert_cmphex (out[0], ==, (ids[i] >> 24) & 0xff);
      g_assert_cmphex (out[1], ==, (ids[i] >> 16) & 0xff);
      g_assert_cmphex (out[2], ==, (ids[i] >> 8) & 0xff);
      g_assert_cmphex (out[3], ==, ids[i] & 0xff);
    }
}

static void
test_compute_invalid_utf8 (void)
{
  g_autoptr (GError) error = NULL;
  guint8 key[MTS_KEY_BYTES];
  guint8 out[MTS_BLIND_INDEX_BYTES];

  mts_test_make_key (key, 3);
  g_assert_false (mts_blind_index_compute (key, 1, "clients.email", "jane\xff", 5, out, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (mts_blind_index_compute (key, 1, "clients.email", "a\0b", 3, out, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
}

/* Same input, same output; and the output is exactly the documented
 * key id || BLAKE2b-128(key, name || 0x00 || normalised value). */
static void
test_compute_deterministic (void)
{
  static const char name[] = "clients.email";
  static const char norm[] = "jane@example.org";
  guint8 key[MTS_KEY_BYTES];
  guint8 a[MTS_BLIND_INDEX_BYTES], b[MTS_BLIND_INDEX_BYTES];
  guint8 msg[sizeof name + sizeof norm - 1];
  guint8 mac[MTS_BLIND_INDEX_MAC_BYTES];

  mts_test_make_key (key, 4);
  index_of (key, 7, name, " Jane@Example.org ", a);
  index_of (key, 7, name, " Jane@Example.org ", b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  memcpy (msg, name, sizeof name);   /* with its NUL as the separator */
  memcpy (msg + sizeof name, norm, sizeof norm - 1);
  crypto_generichash (mac, sizeof mac, msg, sizeof msg, key, MTS_KEY_BYTES);
  g_assert_cmpmem (a + 4, MTS_BLIND_INDEX_MAC_BYTES, mac, sizeof mac);
  g_assert_cmphex (a[3], ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (mts_core_init (NULL));

  g_test_add_func ("/blind-index/normalise/trim-case", test_normalise_trim_case);
  g_test_add_func ("/blind-index/normalise/nfkc", test_normalise_nfkc);
  g_test_add_func ("/blind-index/normalise/invalid", test_normalise_invalid);
  g_test_add_func ("/blind-index/compute/normalised-equal", test_compute_normalised_equal);
  g_test_add_func ("/blind-index/compute/index-names", test_compute_index_names);
  g_test_add_func ("/blind-index/compute/keys", test_compute_keys);
  g_test_add_func ("/blind-index/compute/key-id-tag", test_compute_key_id_tag);
  g_test_add_func ("/blind-index/compute/invalid-utf8", test_compute_invalid_utf8);
  g_test_add_func ("/blind-index/compute/deterministic", test_compute_deterministic);
  return g_test_run ();
}
