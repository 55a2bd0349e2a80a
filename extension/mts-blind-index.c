/* mts-blind-index.c — keyed, normalised exact-match indexes (see mts-blind-index.h). */
#define G_LOG_DOMAIN "mts-core"

#include "mts-blind-index.h"
#include "mts-error.h"

#include <sodium.h>
#include <string.h>

char *
mts_blind_index_normalise (const char *value, gsize len)
{
  g_autofree char *nfkc = NULL;
  char *folded;

  if (!g_utf8_validate_len (value, len, NULL))
    return NULL;
  nfkc = g_utf8_normalize (value, (gssize) len, G_NORMALIZE_NFKC);
  if (nfkc == NULL)
    return NULL;
  folded = g_utf8_casefold (nfkc, -1);
  sodium_memzero (nfkc, strlen (nfkc));
  return g_strstrip (folded);
}

gboolean
mts_blind_index_compute (const guint8 key[MTS_KEY_BYTES], guint32 key_id,
                         const char *index_name, const char *value, gsize len,
                         guint8 out[MTS_BLIND_INDEX_BYTES], GError **error)
{
  crypto_generichash_state st;
  char *norm = mts_blind_index_normalise (value, len);
  static const guint8 sep = 0;

  if (norm == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                           "value is not valid UTF-8");
      return FALSE;
    }
  out[0] = (guint8) (key_id >> 24);
  out[1] = (guint8) (key_id >> 16);
  out[2] = (guint8) (key_id >> 8);
  out[3] = (guint8) key_id;
  crypto_generichash_init (&st, key, MTS_KEY_BYTES, MTS_BLIND_INDEX_MAC_BYTES);
  crypto_generichash_update (&st, (const guint8 *) index_name, strlen (index_name));
  crypto_generichash_update (&st, &sep, 1);
  crypto_generichash_update (&st, (const guint8 *) norm, strlen (norm));
  crypto_generichash_final (&st, out + 4, MTS_BLIND_INDEX_MAC_BYTES);
  sodium_memzero (&st, sizeof st);
  sodium_memzero (norm, strlen (norm));
  g_free (norm);
  return TRUE;
}
