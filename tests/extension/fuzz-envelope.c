/* fuzz-envelope.c — libFuzzer target for field envelopes.
 *
 * Parses the input as an envelope; when it parses, opens it under a fixed
 * key and context (the seed corpus is sealed under them, so the success path
 * is reached too).  Then seals the input as a value, with the input as the
 * context, and opens it again.  Invariants are checked with g_assert.
 */
#include "mts-envelope.h"
#include "mts-error.h"

#include <stdint.h>
#include <string.h>

/* The seed corpus in corpus/envelope/ was sealed with these. */
#define FUZZ_CONTEXT "clients.display_name:00000000-0000-4000-8000-000000000001"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_key (guint8 key[MTS_KEY_BYTES])
{
  for (gsize i = 0; i < MTS_KEY_BYTES; i++)
    key[i] = (guint8) i;
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
try_open (const uint8_t *data, size_t size, const guint8 *key)
{
  GError *error = NULL;
  MtsEnvelope env;
  MtsValueType type = 0;
  guint8 *out;
  gsize n;

  if (!mts_envelope_parse (data, size, &env, &error))
    {
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE);
      g_assert_true (size < MTS_ENVELOPE_MIN_BYTES || data[0] != MTS_ENVELOPE_VERSION
                     || data[1] != MTS_ENVELOPE_ALG_XCHACHA20POLY1305
                     || (data[2] | data[3] | data[4] | data[5]) == 0);
      g_error_free (error);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (env.version, ==, MTS_ENVELOPE_VERSION);
  g_assert_cmpuint (env.algorithm, ==, MTS_ENVELOPE_ALG_XCHACHA20POLY1305);
  g_assert_cmpuint (env.key_id, !=, 0);
  g_assert_true (env.header == data && env.nonce == data + 6);
  g_assert_true (env.ciphertext == data + MTS_ENVELOPE_HEADER_BYTES);
  g_assert_cmpuint (env.ciphertext_len, ==, size - MTS_ENVELOPE_HEADER_BYTES);
  n = mts_envelope_value_size (&env);
  g_assert_cmpuint (mts_envelope_sealed_size (n), ==, size);

  out = g_malloc (n + 1);
  memset (out, 0xa5, n + 1);
  if (mts_envelope_open (&env, key, FUZZ_CONTEXT, strlen (FUZZ_CONTEXT), &type, out, &error))
    {
      g_assert_no_error (error);
      g_assert_true (type >= MTS_VALUE_TEXT && type <= MTS_VALUE_REAL);
      if (type == MTS_VALUE_INTEGER || type == MTS_VALUE_REAL)
        g_assert_cmpuint (n, ==, 8);
      g_assert_cmpuint (out[n], ==, 0);
    }
  else
    {
      g_assert_true (g_error_matches (error, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH)
                     || g_error_matches (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE));
      g_assert_true (all_zero (out, n + 1));   /* nothing of a failed open is left */
      g_error_free (error);
    }
  g_free (out);
}

/* Seals the input as a blob bound to the input as context, then opens it. */
static void
round_trip (const uint8_t *data, size_t size, const guint8 *key)
{
  GError *error = NULL;
  gsize len = mts_envelope_sealed_size (size);
  guint8 *sealed = g_malloc (len);
  guint8 *out = g_malloc (size + 1);
  guint32 key_id = size >= 4 ? ((guint32) data[0] << 24 | (guint32) data[1] << 16
                                | (guint32) data[2] << 8 | data[3]) : 1;
  MtsEnvelope env;
  MtsValueType type;
  gboolean ok;

  if (key_id == 0)
    key_id = 1;
  mts_envelope_seal (sealed, key_id, key, MTS_VALUE_BLOB, data, size, data, size);
  g_assert_true (mts_envelope_parse (sealed, len, &env, &error));
  g_assert_cmpuint (env.key_id, ==, key_id);
  ok = mts_envelope_open (&env, key, data, size, &type, out, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (type, ==, MTS_VALUE_BLOB);
  g_assert_true (size == 0 || memcmp (out, data, size) == 0);
  g_free (out);
  g_free (sealed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  guint8 key[MTS_KEY_BYTES];

  g_assert_true (mts_core_init (NULL));
  fuzz_key (key);
  try_open (data, size, key);
  round_trip (data, size, key);
  return 0;
}
