/* test-envelope.c — unit tests of the field envelope (mts-envelope.h).
 *
 * Round trips for every value type, the wrong key, the wrong context, every
 * byte flipped, every truncation, key id byte order and the heap path for
 * long associated data.
 */
#include "mts-envelope.h"
#include "mts-error.h"
#include "test-util.h"

#include <sodium.h>
#include <string.h>

static const char ctx_name[] = "clients.display_name:6f1c2a9e-0000-4000-8000-000000000001";
static const char ctx_other_row[] = "clients.display_name:6f1c2a9e-0000-4000-8000-000000000002";
static const char ctx_other_col[] = "clients.email:6f1c2a9e-0000-4000-8000-000000000001";

/* Seals @value and returns the envelope (g_free) and its size. */
static guint8 *
seal (guint32 key_id, const guint8 *key, MtsValueType type, const void *value, gsize value_len,
      const char *context, gsize context_len, gsize *env_len)
{
  guint8 *env;

  *env_len = mts_envelope_sealed_size (value_len);
  env = g_malloc (*env_len);
  mts_envelope_seal (env, key_id, key, type, value, value_len, context, context_len);
  return env;
}

static gboolean
all_zero (const guint8 *p, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (p[i] != 0)
      return FALSE;
  return TRUE;
}

static void
check_round_trip (MtsValueType type, const void *value, gsize value_len)
{
  g_autoptr (GError) error = NULL;
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  g_autofree guint8 *out = NULL;
  MtsEnvelope e;
  MtsValueType got_type = 0;
  gsize env_len;

  mts_test_make_key (key, 1);
  env = seal (7, key, type, value, value_len, ctx_name, strlen (ctx_name), &env_len);
  g_assert_cmpuint (env_len, ==, MTS_ENVELOPE_MIN_BYTES + value_len);

  g_assert_true (mts_envelope_parse (env, env_len, &e, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (e.version, ==, MTS_ENVELOPE_VERSION);
  g_assert_cmpuint (e.algorithm, ==, MTS_ENVELOPE_ALG_XCHACHA20POLY1305);
  g_assert_cmpuint (e.key_id, ==, 7);
  g_assert_true (e.header == env);
  g_assert_true (e.nonce == env + 6);
  g_assert_true (e.ciphertext == env + MTS_ENVELOPE_HEADER_BYTES);
  g_assert_cmpuint (e.ciphertext_len, ==, env_len - MTS_ENVELOPE_HEADER_BYTES);
  g_assert_cmpuint (mts_envelope_value_size (&e), ==, value_len);

  out = g_malloc (value_len + 1);
  memset (out, 0xa5, value_len + 1);
  g_assert_true (mts_envelope_open (&e, key, ctx_name, strlen (ctx_name), &got_type, out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (got_type, ==, type);
  if (value_len > 0)
    g_assert_cmpmem (out, value_len, value, value_len);
  g_assert_cmpuint (out[value_len], ==, 0);
}

static void
test_round_trip_text (void)
{
  static const char text[] = "Jane Q. Example — née Ø'Brien";
  check_round_trip (MTS_VALUE_TEXT, text, strlen (text));
}

static void
test_round_trip_blob (void)
{
  guint8 blob[300];

  for (gsize i = 0; i < sizeof blob; i++)
    blob[i] = (guint8) (i * 7);   /* includes 0x00 bytes */
  check_round_trip (MTS_VALUE_BLOB, blob, sizeof blob);
}

static void
test_round_trip_integer (void)
{
  gint64 v = GINT64_TO_LE (G_GINT64_CONSTANT (-4611686018427387903));
  check_round_trip (MTS_VALUE_INTEGER, &v, sizeof v);
}

static void
test_round_trip_real (void)
{
  double d = -1234.5e-7;
  guint8 b[8];

  memcpy (b, &d, sizeof b);
  check_round_trip (MTS_VALUE_REAL, b, sizeof b);
}

static void
test_round_trip_empty (void)
{
  check_round_trip (MTS_VALUE_TEXT, "", 0);
  check_round_trip (MTS_VALUE_BLOB, NULL, 0);
}

static void
test_seal_random_nonce (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *a = NULL;
  g_autofree guint8 *b = NULL;
  gsize la, lb;

  mts_test_make_key (key, 1);
  a = seal (1, key, MTS_VALUE_TEXT, "same", 4, ctx_name, strlen (ctx_name), &la);
  b = seal (1, key, MTS_VALUE_TEXT, "same", 4, ctx_name, strlen (ctx_name), &lb);
  g_assert_cmpuint (la, ==, lb);
  g_assert_cmpint (memcmp (a, b, 6), ==, 0);
  g_assert_cmpint (memcmp (a + 6, b + 6, MTS_ENVELOPE_NONCE_BYTES), !=, 0);
  g_assert_cmpint (memcmp (a + MTS_ENVELOPE_HEADER_BYTES, b + MTS_ENVELOPE_HEADER_BYTES,
                           la - MTS_ENVELOPE_HEADER_BYTES), !=, 0);
}

/* Opens @env (which must parse) expecting MTS_CORE_ERROR_AUTH, and checks
 * the output buffer was wiped. */
static void
assert_open_auth_fails (const guint8 *env, gsize env_len, const guint8 *key,
                        const char *context, gsize context_len)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *out = NULL;
  MtsEnvelope e;
  MtsValueType type = 0;
  gsize n;

  g_assert_true (mts_envelope_parse (env, env_len, &e, &error));
  g_assert_no_error (error);
  n = mts_envelope_value_size (&e) + 1;
  out = g_malloc (n);
  memset (out, 0xa5, n);
  g_assert_false (mts_envelope_open (&e, key, context, context_len, &type, out, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  g_assert_true (all_zero (out, n));
  g_assert_cmpint (type, ==, 0);
}

static void
test_open_wrong_key (void)
{
  guint8 key[MTS_KEY_BYTES], other[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  gsize len;

  mts_test_make_key (key, 1);
  mts_test_make_key (other, 1);
  other[31] ^= 0x01;   /* one bit away */
  env = seal (1, key, MTS_VALUE_TEXT, "secret note", 11, ctx_name, strlen (ctx_name), &len);
  assert_open_auth_fails (env, len, other, ctx_name, strlen (ctx_name));
}

static void
test_open_other_row (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  gsize len;

  mts_test_make_key (key, 1);
  env = seal (1, key, MTS_VALUE_TEXT, "Jane", 4, ctx_name, strlen (ctx_name), &len);
  assert_open_auth_fails (env, len, key, ctx_other_row, strlen (ctx_other_row));
}

static void
test_open_other_column (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  gsize len;

  mts_test_make_key (key, 1);
  env = seal (1, key, MTS_VALUE_TEXT, "Jane", 4, ctx_name, strlen (ctx_name), &len);
  assert_open_auth_fails (env, len, key, ctx_other_col, strlen (ctx_other_col));
  /* A context that is a prefix of the right one is another context too. */
  assert_open_auth_fails (env, len, key, ctx_name, strlen (ctx_name) - 1);
  assert_open_auth_fails (env, len, key, NULL, 0);
}

static void
test_tamper_every_byte (void)
{
  static const guint8 masks[] = { 0x01, 0x80 };
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  gsize len;

  mts_test_make_key (key, 1);
  env = seal (1, key, MTS_VALUE_BLOB, "0123456789", 10, ctx_name, strlen (ctx_name), &len);

  for (gsize m = 0; m < G_N_ELEMENTS (masks); m++)
    for (gsize i = 0; i < len; i++)
      {
        g_autofree guint8 *bad = g_memdup2 (env, len);
        g_autoptr (GError) error = NULL;
        MtsEnvelope e;
        gboolean key_id_zero;

        bad[i] ^= masks[m];
        key_id_zero = bad[2] == 0 && bad[3] == 0 && bad[4] == 0 && bad[5] == 0;
        if (i <= 1 || key_id_zero)
          {
            g_assert_false (mts_envelope_parse (bad, len, &e, &error));
            g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
          }
        else
          assert_open_auth_fails (bad, len, key, ctx_name, strlen (ctx_name));
      }
}

static void
test_truncate_every_length (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  g_autoptr (GError) error = NULL;
  MtsEnvelope e;
  gsize len;

  mts_test_make_key (key, 1);
  env = seal (1, key, MTS_VALUE_TEXT, "a longer value of text", 22, ctx_name, strlen (ctx_name),
              &len);
  for (gsize n = 0; n < len; n++)
    {
      g_autofree guint8 *cut = g_memdup2 (env, n);   /* exact-size copy for ASan */

      if (n < MTS_ENVELOPE_MIN_BYTES)
        {
          g_assert_false (mts_envelope_parse (cut, n, &e, &error));
          g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
          g_clear_error (&error);
        }
      else
        assert_open_auth_fails (cut, n, key, ctx_name, strlen (ctx_name));
    }
  g_assert_false (mts_envelope_parse (NULL, 0, &e, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
}

static void
test_parse_key_id_big_endian (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autoptr (GError) error = NULL;
  MtsEnvelope e;
  gsize len;

  mts_test_make_key (key, 3);
  {
    g_autofree guint8 *env = seal (0x01020304, key, MTS_VALUE_TEXT, "x", 1, NULL, 0, &len);

    g_assert_cmphex (env[2], ==, 0x01);
    g_assert_cmphex (env[3], ==, 0x02);
    g_assert_cmphex (env[4], ==, 0x03);
    g_assert_cmphex (env[5], ==, 0x04);
    g_assert_true (mts_envelope_parse (env, len, &e, &error));
    g_assert_cmphex (e.key_id, ==, 0x01020304);
  }
  {
    g_autofree guint8 *env = seal (0xfffffffe, key, MTS_VALUE_TEXT, "x", 1, NULL, 0, &len);
    MtsValueType type;
    guint8 out[2];

    g_assert_true (mts_envelope_parse (env, len, &e, &error));
    g_assert_cmphex (e.key_id, ==, 0xfffffffe);
    g_assert_true (mts_envelope_open (&e, key, NULL, 0, &type, out, &error));
    g_assert_no_error (error);
  }
}

static void
test_parse_bad_header (void)
{
  guint8 key[MTS_KEY_BYTES];
  g_autofree guint8 *env = NULL;
  g_autoptr (GError) error = NULL;
  MtsEnvelope e;
  gsize len;

  mts_test_make_key (key, 1);
  env = seal (1, key, MTS_VALUE_TEXT, "x", 1, NULL, 0, &len);

  env[0] = 2;   /* a future version */
  g_assert_false (mts_envelope_parse (env, len, &e, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
  g_assert_nonnull (strstr (error->message, "version 2"));
  g_clear_error (&error);
  env[0] = MTS_ENVELOPE_VERSION;

  env[1] = 2;   /* an unknown algorithm */
  g_assert_false (mts_envelope_parse (env, len, &e, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
  g_assert_nonnull (strstr (error->message, "algorithm 2"));
  g_clear_error (&error);
  env[1] = MTS_ENVELOPE_ALG_XCHACHA20POLY1305;

  memset (env + 2, 0, 4);   /* key id 0 is never issued */
  g_assert_false (mts_envelope_parse (env, len, &e, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
}

/* An authentic envelope whose decrypted type byte is bad must be refused,
 * not handed back.  Sealed by hand, since mts_envelope_seal takes the type
 * from the caller. */
static void
check_bad_inner_type (guint8 type_byte, gsize value_len)
{
  g_autoptr (GError) error = NULL;
  guint8 key[MTS_KEY_BYTES];
  gsize len = mts_envelope_sealed_size (value_len);
  g_autofree guint8 *env = g_malloc0 (len);
  g_autofree guint8 *plain = g_malloc0 (value_len + 1);
  g_autofree guint8 *out = g_malloc (value_len + 1);
  guint8 ad[MTS_ENVELOPE_HEADER_BYTES + sizeof ctx_name - 1];
  MtsEnvelope e;
  MtsValueType type = 0;

  mts_test_make_key (key, 9);
  env[0] = MTS_ENVELOPE_VERSION;
  env[1] = MTS_ENVELOPE_ALG_XCHACHA20POLY1305;
  env[5] = 1;
  randombytes_buf (env + 6, MTS_ENVELOPE_NONCE_BYTES);
  plain[0] = type_byte;
  memset (plain + 1, 'v', value_len);
  memcpy (ad, env, MTS_ENVELOPE_HEADER_BYTES);
  memcpy (ad + MTS_ENVELOPE_HEADER_BYTES, ctx_name, sizeof ctx_name - 1);
  crypto_aead_xchacha20poly1305_ietf_encrypt (env + MTS_ENVELOPE_HEADER_BYTES, NULL,
                                              plain, value_len + 1, ad, sizeof ad, NULL,
                                              env + 6, key);

  g_assert_true (mts_envelope_parse (env, len, &e, &error));
  memset (out, 0xa5, value_len + 1);
  g_assert_false (mts_envelope_open (&e, key, ctx_name, sizeof ctx_name - 1, &type, out, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
  g_assert_true (all_zero (out, value_len + 1));
}

static void
test_open_bad_inner_type (void)
{
  check_bad_inner_type (0, 4);
  check_bad_inner_type (MTS_VALUE_REAL + 1, 4);
  check_bad_inner_type (0xff, 0);
  check_bad_inner_type (MTS_VALUE_INTEGER, 7);   /* integers are exactly 8 bytes */
  check_bad_inner_type (MTS_VALUE_REAL, 9);
}

/* Contexts around and beyond the 512-byte stack buffer for header || context. */
static void
test_context_long (void)
{
  static const gsize lengths[] = { 481, 482, 483, 512, 513, 4096, 70000 };
  guint8 key[MTS_KEY_BYTES];

  mts_test_make_key (key, 5);
  for (gsize k = 0; k < G_N_ELEMENTS (lengths); k++)
    {
      gsize clen = lengths[k];
      g_autofree char *context = g_malloc (clen);
      g_autofree guint8 *env = NULL;
      g_autoptr (GError) error = NULL;
      MtsEnvelope e;
      MtsValueType type;
      guint8 out[6];
      gsize len;

      for (gsize i = 0; i < clen; i++)
        context[i] = (char) ('a' + i % 26);
      env = seal (2, key, MTS_VALUE_TEXT, "hello", 5, context, clen, &len);
      g_assert_true (mts_envelope_parse (env, len, &e, &error));
      g_assert_true (mts_envelope_open (&e, key, context, clen, &type, out, &error));
      g_assert_no_error (error);
      g_assert_cmpstr ((char *) out, ==, "hello");

      /* The last byte of a long context is authenticated too. */
      context[clen - 1] ^= 0x01;
      assert_open_auth_fails (env, len, key, context, clen);
      context[clen - 1] ^= 0x01;
      assert_open_auth_fails (env, len, key, context, clen - 1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (mts_core_init (NULL));

  g_test_add_func ("/envelope/round-trip/text", test_round_trip_text);
  g_test_add_func ("/envelope/round-trip/blob", test_round_trip_blob);
  g_test_add_func ("/envelope/round-trip/integer", test_round_trip_integer);
  g_test_add_func ("/envelope/round-trip/real", test_round_trip_real);
  g_test_add_func ("/envelope/round-trip/empty", test_round_trip_empty);
  g_test_add_func ("/envelope/seal/random-nonce", test_seal_random_nonce);
  g_test_add_func ("/envelope/open/wrong-key", test_open_wrong_key);
  g_test_add_func ("/envelope/open/other-row", test_open_other_row);
  g_test_add_func ("/envelope/open/other-column", test_open_other_column);
  g_test_add_func ("/envelope/open/bad-inner-type", test_open_bad_inner_type);
  g_test_add_func ("/envelope/tamper/every-byte", test_tamper_every_byte);
  g_test_add_func ("/envelope/truncate/every-length", test_truncate_every_length);
  g_test_add_func ("/envelope/parse/key-id-big-endian", test_parse_key_id_big_endian);
  g_test_add_func ("/envelope/parse/bad-header", test_parse_bad_header);
  g_test_add_func ("/envelope/context/long", test_context_long);
  return g_test_run ();
}
