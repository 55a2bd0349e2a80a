/* fuzz-keystore.c — libFuzzer target for keystore files and keysets.
 *
 * Parses the input as a keystore file; feeds the keyset bytes of a file that
 * parses, and the raw input, to mts_keyset_decode.  Because the trailing
 * checksum is unkeyed, a mutated input is also parsed again with its
 * checksum recomputed, so the checks behind the checksum are reached.
 * No key derivation is run: a file may ask for gigabytes.
 */
#include "mts-keystore.h"
#include "mts-error.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define HEADER_BYTES 160
#define CHECKSUM_BYTES 32
#define TAG_BYTES 16
#define RECORD_BYTES (4 + 4 + 8 + MTS_KEY_BYTES)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  guint n;
  guint32 last_id;
  guint8 sum;
} Walk;

static void
walk_cb (guint32 key_id, guint64 created, const guint8 *key, gpointer user_data)
{
  Walk *w = user_data;

  g_assert_cmpuint (key_id, >, w->last_id);   /* increasing, so unique and non-zero */
  w->last_id = key_id;
  for (gsize i = 0; i < MTS_KEY_BYTES; i++)   /* every key byte is readable */
    w->sum ^= key[i];
  w->n++;
}

static void
decode (const guint8 *data, gsize len)
{
  GError *error = NULL;
  guint32 primary = 0, n = 0;
  Walk w = { 0, 0, 0 };

  if (mts_keyset_decode (data, len, &primary, &n, walk_cb, &w, &error))
    {
      g_assert_no_error (error);
      g_assert_cmpuint (n, >=, 1);
      g_assert_cmpuint (n, <=, MTS_KEYSTORE_MAX_KEYS);
      g_assert_cmpuint (w.n, ==, n);
      g_assert_cmpuint (len, ==, 8 + (gsize) n * RECORD_BYTES);
      g_assert_cmpuint (primary, !=, 0);
    }
  else
    {
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED);
      g_assert_cmpuint (w.n, ==, 0);
      g_error_free (error);
    }
}

static gboolean
parse (const guint8 *data, gsize len)
{
  GError *error = NULL;
  MtsKeystoreFile f;

  if (!mts_keystore_parse (data, len, &f, &error))
    {
      g_assert_true (g_error_matches (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED)
                     || g_error_matches (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NEWER_VERSION));
      g_error_free (error);
      return FALSE;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (f.version, ==, MTS_KEYSTORE_VERSION);
  g_assert_true (f.data == data && f.len == len);
  g_assert_cmpuint ((gsize) f.keyset_len + HEADER_BYTES + CHECKSUM_BYTES, ==, len);
  g_assert_cmpuint (f.keyset_len, >=, 8 + RECORD_BYTES + TAG_BYTES);
  g_assert_true (f.keyset == data + HEADER_BYTES);
  g_assert_true (f.salt > data && f.keyset_nonce + 24 + 4 == f.keyset);
  g_assert_cmpuint (f.opslimit, >=, 1);
  g_assert_cmpuint (f.memlimit, >=, 1);
  /* The keyset is ciphertext here, but decode must cope with any bytes. */
  decode (f.keyset, f.keyset_len - TAG_BYTES);
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_assert_true (mts_core_init (NULL));

  if (!parse (data, size) && size > CHECKSUM_BYTES)
    {
      guint8 *copy = g_memdup2 (data, size);

      crypto_generichash (copy + size - CHECKSUM_BYTES, CHECKSUM_BYTES, copy,
                          size - CHECKSUM_BYTES, NULL, 0);
      parse (copy, size);
      g_free (copy);
    }
  decode (data, size);
  return 0;
}
