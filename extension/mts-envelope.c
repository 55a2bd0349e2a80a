/* mts-envelope.c — sealing and opening field envelopes (see mts-envelope.h). */
#define G_LOG_DOMAIN "mts-core"

#include "mts-envelope.h"
#include "mts-error.h"

#include <sodium.h>
#include <string.h>

G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == MTS_ENVELOPE_NONCE_BYTES);
G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_ABYTES == MTS_ENVELOPE_TAG_BYTES);
G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_KEYBYTES == MTS_KEY_BYTES);

/* Associated data is header || context.  Small contexts use the stack. */
#define AD_STACK_BYTES 512

gboolean
mts_envelope_parse (const guint8 *data, gsize len, MtsEnvelope *out, GError **error)
{
  if (data == NULL || len < MTS_ENVELOPE_MIN_BYTES)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE,
                   "envelope is truncated: %" G_GSIZE_FORMAT " of at least %d bytes",
                   data ? len : 0, MTS_ENVELOPE_MIN_BYTES);
      return FALSE;
    }
  if (data[0] != MTS_ENVELOPE_VERSION)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE,
                   "envelope version %u is not supported (this build reads version %d)",
                   data[0], MTS_ENVELOPE_VERSION);
      return FALSE;
    }
  if (data[1] != MTS_ENVELOPE_ALG_XCHACHA20POLY1305)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE,
                   "envelope algorithm %u is not supported", data[1]);
      return FALSE;
    }
  out->version = data[0];
  out->algorithm = data[1];
  out->key_id = ((guint32) data[2] << 24) | ((guint32) data[3] << 16)
              | ((guint32) data[4] << 8) | (guint32) data[5];
  if (out->key_id == 0)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE,
                           "envelope names key id 0, which is never issued");
      return FALSE;
    }
  out->header = data;
  out->nonce = data + 6;
  out->ciphertext = data + MTS_ENVELOPE_HEADER_BYTES;
  out->ciphertext_len = len - MTS_ENVELOPE_HEADER_BYTES;
  return TRUE;
}

/* Builds header || context in @stack, or on the heap when it does not fit.
 * Returns the buffer to use; *@heap is set when it must be freed. */
static const guint8 *
build_ad (guint8 *stack, const guint8 *header, const void *context, gsize context_len,
          guint8 **heap, gsize *ad_len)
{
  guint8 *ad = stack;

  *heap = NULL;
  *ad_len = MTS_ENVELOPE_HEADER_BYTES + context_len;
  if (*ad_len > AD_STACK_BYTES)
    ad = *heap = g_malloc (*ad_len);
  memcpy (ad, header, MTS_ENVELOPE_HEADER_BYTES);
  if (context_len > 0)
    memcpy (ad + MTS_ENVELOPE_HEADER_BYTES, context, context_len);
  return ad;
}

void
mts_envelope_seal (guint8 *out, guint32 key_id, const guint8 key[MTS_KEY_BYTES],
                   MtsValueType type, const void *value, gsize value_len,
                   const void *context, gsize context_len)
{
  guint8 ad_stack[AD_STACK_BYTES];
  guint8 *ad_heap;
  gsize ad_len;
  const guint8 *ad;
  guint8 *ct = out + MTS_ENVELOPE_HEADER_BYTES;
  unsigned long long ct_len = 0;

  g_return_if_fail (key_id != 0);
  g_return_if_fail ((type != MTS_VALUE_INTEGER && type != MTS_VALUE_REAL) || value_len == 8);

  out[0] = MTS_ENVELOPE_VERSION;
  out[1] = MTS_ENVELOPE_ALG_XCHACHA20POLY1305;
  out[2] = (guint8) (key_id >> 24);
  out[3] = (guint8) (key_id >> 16);
  out[4] = (guint8) (key_id >> 8);
  out[5] = (guint8) key_id;
  randombytes_buf (out + 6, MTS_ENVELOPE_NONCE_BYTES);

  /* The type byte is encrypted with the value: lay it out in place, then
   * encrypt in place (libsodium allows m == c). */
  ct[0] = (guint8) type;
  if (value_len > 0)
    memmove (ct + 1, value, value_len);

  ad = build_ad (ad_stack, out, context, context_len, &ad_heap, &ad_len);
  crypto_aead_xchacha20poly1305_ietf_encrypt (ct, &ct_len, ct, value_len + 1,
                                              ad, ad_len, NULL, out + 6, key);
  g_free (ad_heap);
}

gboolean
mts_envelope_open (const MtsEnvelope *env, const guint8 key[MTS_KEY_BYTES],
                   const void *context, gsize context_len,
                   MtsValueType *type, guint8 *out, GError **error)
{
  guint8 ad_stack[AD_STACK_BYTES];
  guint8 *ad_heap;
  gsize ad_len;
  const guint8 *ad;
  gsize value_len = mts_envelope_value_size (env);
  guint8 type_byte;
  int rc;

  /* Decrypt type || value into @out, then slide the value down one byte:
   * cheaper than a scratch buffer, and nothing is left outside @out. */
  ad = build_ad (ad_stack, env->header, context, context_len, &ad_heap, &ad_len);
  rc = crypto_aead_xchacha20poly1305_ietf_decrypt (out, NULL, NULL,
                                                   env->ciphertext, env->ciphertext_len,
                                                   ad, ad_len, env->nonce, key);
  g_free (ad_heap);
  if (rc != 0)
    {
      sodium_memzero (out, value_len + 1);
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH,
                           "envelope does not authenticate: it was altered, or belongs to another context");
      return FALSE;
    }
  type_byte = out[0];
  if (type_byte < MTS_VALUE_TEXT || type_byte > MTS_VALUE_REAL
      || ((type_byte == MTS_VALUE_INTEGER || type_byte == MTS_VALUE_REAL) && value_len != 8))
    {
      sodium_memzero (out, value_len + 1);
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_BAD_ENVELOPE,
                   "envelope holds an unknown value type %u", type_byte);
      return FALSE;
    }
  memmove (out, out + 1, value_len);
  out[value_len] = 0;   /* text values come out NUL-terminated */
  *type = (MtsValueType) type_byte;
  return TRUE;
}
