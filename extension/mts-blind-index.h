/* mts-blind-index.h — blind indexes for exact-match search on encrypted fields.
 *
 * index = key id (4 bytes, big-endian) || BLAKE2b-128 keyed by the blind-index
 *         subkey, over  index name || 0x00 || normalised value
 *
 * The value is normalised first: Unicode NFKC, case-folded, leading and
 * trailing white space removed.  The key id tag lets a lookup compute the
 * index under each key of the keyset, so rows indexed before a rotation are
 * still found.  The index name separates indexes: the same e-mail address
 * gives unrelated values in "clients.email" and "clinicians.email".
 */
#pragma once

#include <glib.h>

#include "mts-envelope.h"

G_BEGIN_DECLS

#define MTS_BLIND_INDEX_MAC_BYTES 16
#define MTS_BLIND_INDEX_BYTES (4 + MTS_BLIND_INDEX_MAC_BYTES)

/* Returns the normalised form of @value (@len bytes of UTF-8), or NULL if it
 * is not valid UTF-8.  (transfer full) */
char *mts_blind_index_normalise (const char *value, gsize len);

/* Computes the index of @value (@len bytes of UTF-8) into @out.  Returns
 * FALSE with MTS_CORE_ERROR_INVALID if @value is not valid UTF-8. */
gboolean mts_blind_index_compute (const guint8 key[MTS_KEY_BYTES], guint32 key_id,
                                  const char *index_name, const char *value, gsize len,
                                  guint8 out[MTS_BLIND_INDEX_BYTES], GError **error);

G_END_DECLS
