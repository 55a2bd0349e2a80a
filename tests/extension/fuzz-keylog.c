/* fuzz-keylog.c — libFuzzer target for key-access log verification.
 *
 * Verifies the input as log text without a MAC key and with a fixed one
 * (the seed corpus is MACed under it).  Because the chain hash is unkeyed,
 * a copy with every well-formed line's chain field recomputed is verified
 * too, so the checks behind the chain are reached.
 */
#include "mts-keylog.h"
#include "mts-error.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define HASH_BYTES 32

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_mac_key (guint8 key[MTS_KEYLOG_MAC_KEY_BYTES])
{
  for (gsize i = 0; i < MTS_KEYLOG_MAC_KEY_BYTES; i++)
    key[i] = (guint8) (0xa0 + i);
}

static void
verify (const char *text, gsize len, const guint8 *mac_key)
{
  GError *error = NULL;
  guint64 plain_n = 99, keyed_n = 99;
  gboolean plain_ok, keyed_ok;

  plain_ok = mts_keylog_verify_text (text, len, NULL, &plain_n, &error);
  if (!plain_ok)
    {
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED);
      g_clear_error (&error);
    }
  keyed_ok = mts_keylog_verify_text (text, len, mac_key, &keyed_n, &error);
  if (!keyed_ok)
    {
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED);
      g_clear_error (&error);
    }
  /* The key only adds checks. */
  if (keyed_ok)
    {
      g_assert_true (plain_ok);
      g_assert_cmpuint (keyed_n, ==, plain_n);
    }
  if (plain_ok)
    {
      g_assert_cmpuint (plain_n, >=, 1);
      g_assert_true (len > 0 && text[len - 1] == '\n');
    }
}

/* Rewrites the chain field of every line with seven tab-separated fields. */
static GString *
rechain (const char *text, gsize len)
{
  GString *out = g_string_sized_new (len);
  guint8 chain[HASH_BYTES] = { 0 };
  gsize pos = 0;

  while (pos < len)
    {
      const char *nl = memchr (text + pos, '\n', len - pos);
      gsize line_len = nl ? (gsize) (nl - (text + pos)) : len - pos;
      const char *line = text + pos;
      const char *tabs[6];
      int n = 0;

      for (gsize i = 0; i < line_len && n < 6; i++)
        if (line[i] == '\t')
          tabs[n++] = line + i;
      if (n == 6 && tabs[5] - tabs[4] - 1 == HASH_BYTES * 2)
        {
          char hex[HASH_BYTES * 2 + 1];
          crypto_generichash_state st;

          crypto_generichash_init (&st, NULL, 0, HASH_BYTES);
          crypto_generichash_update (&st, chain, HASH_BYTES);
          crypto_generichash_update (&st, (const guint8 *) line, (gsize) (tabs[4] - line));
          crypto_generichash_final (&st, chain, HASH_BYTES);
          sodium_bin2hex (hex, sizeof hex, chain, HASH_BYTES);
          g_string_append_len (out, line, tabs[4] - line + 1);
          g_string_append (out, hex);
          g_string_append_len (out, tabs[5], line + line_len - tabs[5]);
        }
      else
        g_string_append_len (out, line, (gssize) line_len);
      if (nl)
        g_string_append_c (out, '\n');
      pos += line_len + (nl ? 1 : 0);
    }
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  guint8 key[MTS_KEYLOG_MAC_KEY_BYTES];
  GString *fixed;

  g_assert_true (mts_core_init (NULL));
  fuzz_mac_key (key);
  verify ((const char *) data, size, key);
  fixed = rechain ((const char *) data, size);
  verify (fixed->str, fixed->len, key);
  g_string_free (fixed, TRUE);
  return 0;
}
