/* mts-tokens.c — access and refresh tokens (see mts-tokens.h). */
#define G_LOG_DOMAIN "mts-server"

#include "mts-tokens.h"

#include <sodium.h>
#include <string.h>

#define B64_LEN (MTS_TOKEN_TEXT_LEN - MTS_TOKEN_PREFIX_LEN)

G_STATIC_ASSERT (B64_LEN + 1 ==
                 sodium_base64_ENCODED_LEN (MTS_TOKEN_BYTES,
                                            sodium_base64_VARIANT_URLSAFE_NO_PADDING));
G_STATIC_ASSERT (MTS_TOKEN_HASH_BYTES == crypto_generichash_blake2b_BYTES);

G_DEFINE_QUARK (mts-token-error-quark, mts_token_error)

static const char access_prefix[] = "mtsa_";
static const char refresh_prefix[] = "mtsr_";

/* BLAKE2b personalisations, one per kind: exactly 16 bytes each. */
static const guint8 access_personal[crypto_generichash_blake2b_PERSONALBYTES] =
  "mts-tok-access";
static const guint8 refresh_personal[crypto_generichash_blake2b_PERSONALBYTES] =
  "mts-tok-refresh";

static void
tokens_init (void)
{
  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");
}

static void
token_hash (MtsTokenKind kind, const guint8 raw[MTS_TOKEN_BYTES],
            guint8 hash[MTS_TOKEN_HASH_BYTES])
{
  const guint8 *personal =
    kind == MTS_TOKEN_REFRESH ? refresh_personal : access_personal;

  if (crypto_generichash_blake2b_salt_personal (hash, MTS_TOKEN_HASH_BYTES,
                                                raw, MTS_TOKEN_BYTES,
                                                NULL, 0, NULL, personal) != 0)
    g_error ("BLAKE2b failed on fixed sizes");
}

void
mts_token_new (MtsTokenKind kind, char **text,
               guint8 hash[MTS_TOKEN_HASH_BYTES])
{
  guint8 raw[MTS_TOKEN_BYTES];
  char *out;

  g_return_if_fail (kind == MTS_TOKEN_ACCESS || kind == MTS_TOKEN_REFRESH);
  g_return_if_fail (text != NULL && hash != NULL);

  tokens_init ();
  randombytes_buf (raw, sizeof raw);

  out = g_malloc (MTS_TOKEN_TEXT_LEN + 1);
  memcpy (out, kind == MTS_TOKEN_REFRESH ? refresh_prefix : access_prefix,
          MTS_TOKEN_PREFIX_LEN);
  sodium_bin2base64 (out + MTS_TOKEN_PREFIX_LEN, B64_LEN + 1, raw, sizeof raw,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  token_hash (kind, raw, hash);
  sodium_memzero (raw, sizeof raw);
  *text = out;
}

gboolean
mts_token_parse (const char *text, MtsTokenKind *kind,
                 guint8 hash[MTS_TOKEN_HASH_BYTES], GError **error)
{
  guint8 raw[MTS_TOKEN_BYTES];
  char again[B64_LEN + 1];
  MtsTokenKind found;
  const char *b64;
  const char *end = NULL;
  size_t raw_len = 0;
  gboolean canonical;

  g_return_val_if_fail (hash != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tokens_init ();
  memset (hash, 0, MTS_TOKEN_HASH_BYTES);

  if (text != NULL && strncmp (text, access_prefix, MTS_TOKEN_PREFIX_LEN) == 0)
    found = MTS_TOKEN_ACCESS;
  else if (text != NULL && strncmp (text, refresh_prefix, MTS_TOKEN_PREFIX_LEN) == 0)
    found = MTS_TOKEN_REFRESH;
  else
    {
      g_set_error (error, MTS_TOKEN_ERROR, MTS_TOKEN_ERROR_PREFIX,
                   "token must start with \"%s\" or \"%s\"",
                   access_prefix, refresh_prefix);
      return FALSE;
    }

  if (strnlen (text, MTS_TOKEN_TEXT_LEN + 1) != MTS_TOKEN_TEXT_LEN)
    {
      g_set_error (error, MTS_TOKEN_ERROR, MTS_TOKEN_ERROR_LENGTH,
                   "token must be %d characters", MTS_TOKEN_TEXT_LEN);
      return FALSE;
    }

  /* No ignored characters, no padding, nothing after the last digit; and
   * the unused low bits of the last digit zero (checked by encoding the
   * bytes again), so each token has exactly one text. */
  b64 = text + MTS_TOKEN_PREFIX_LEN;
  if (sodium_base642bin (raw, sizeof raw, b64, B64_LEN, NULL, &raw_len, &end,
                         sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0
      || raw_len != MTS_TOKEN_BYTES || end != b64 + B64_LEN)
    canonical = FALSE;
  else
    {
      sodium_bin2base64 (again, sizeof again, raw, sizeof raw,
                         sodium_base64_VARIANT_URLSAFE_NO_PADDING);
      canonical = sodium_memcmp (again, b64, B64_LEN) == 0;
      sodium_memzero (again, sizeof again);
    }
  if (!canonical)
    {
      sodium_memzero (raw, sizeof raw);
      g_set_error_literal (error, MTS_TOKEN_ERROR, MTS_TOKEN_ERROR_ENCODING,
                           "token is not URL-safe base64 (A-Z a-z 0-9 - _, no padding)");
      return FALSE;
    }

  token_hash (found, raw, hash);
  sodium_memzero (raw, sizeof raw);
  if (kind != NULL)
    *kind = found;
  return TRUE;
}

gboolean
mts_token_hash_equal (const guint8 a[MTS_TOKEN_HASH_BYTES],
                      const guint8 b[MTS_TOKEN_HASH_BYTES])
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return sodium_memcmp (a, b, MTS_TOKEN_HASH_BYTES) == 0;
}
