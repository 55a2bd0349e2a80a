/* mts-envelope.h — the field envelope, version 1.
 *
 *   offset  size  field
 *   0       1     version (1)
 *   1       1     algorithm id (1 = XChaCha20-Poly1305-IETF)
 *   2       4     key id, big-endian
 *   6       24    nonce (random)
 *   30      n+1   ciphertext of: value type (1 byte) || value bytes
 *   31+n    16    Poly1305 tag
 *
 * Associated data: the 30 header bytes followed by the caller's context
 * (for example "clients.display_name:<row uuid>"), so an envelope moved to
 * another row or column fails to open.  A failed tag check is an error; the
 * output buffer is wiped and never returned.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_ENVELOPE_VERSION 1
#define MTS_ENVELOPE_ALG_XCHACHA20POLY1305 1
#define MTS_ENVELOPE_NONCE_BYTES 24
#define MTS_ENVELOPE_TAG_BYTES 16
#define MTS_ENVELOPE_HEADER_BYTES (1 + 1 + 4 + MTS_ENVELOPE_NONCE_BYTES)
/* Header + encrypted type byte + tag: an envelope is never shorter. */
#define MTS_ENVELOPE_MIN_BYTES (MTS_ENVELOPE_HEADER_BYTES + 1 + MTS_ENVELOPE_TAG_BYTES)
#define MTS_KEY_BYTES 32

/* The type of the value inside an envelope, so text and blobs come back as
 * what went in.  Integers and reals are stored as 8 bytes little-endian. */
typedef enum {
  MTS_VALUE_TEXT = 1,
  MTS_VALUE_BLOB = 2,
  MTS_VALUE_INTEGER = 3,
  MTS_VALUE_REAL = 4,
} MtsValueType;

/* A parsed envelope: pointers into the caller's buffer, nothing copied. */
typedef struct {
  guint8 version;
  guint8 algorithm;
  guint32 key_id;
  const guint8 *header;      /* MTS_ENVELOPE_HEADER_BYTES */
  const guint8 *nonce;       /* MTS_ENVELOPE_NONCE_BYTES */
  const guint8 *ciphertext;  /* ciphertext_len bytes, tag included */
  gsize ciphertext_len;
} MtsEnvelope;

/* Parses @data without any key: checks length, version and algorithm.
 * Returns FALSE with MTS_CORE_ERROR_BAD_ENVELOPE on anything malformed. */
gboolean mts_envelope_parse (const guint8 *data, gsize len, MtsEnvelope *out, GError **error);

/* Size of the envelope holding @value_len bytes of value. */
static inline gsize
mts_envelope_sealed_size (gsize value_len)
{
  return MTS_ENVELOPE_MIN_BYTES + value_len;
}

/* Size of the value inside a parsed envelope. */
static inline gsize
mts_envelope_value_size (const MtsEnvelope *env)
{
  return env->ciphertext_len - MTS_ENVELOPE_TAG_BYTES - 1;
}

/* Seals @value (of @type) under @key, naming @key_id, bound to @context.
 * @out must hold mts_envelope_sealed_size (@value_len) bytes. */
void mts_envelope_seal (guint8 *out, guint32 key_id, const guint8 key[MTS_KEY_BYTES],
                        MtsValueType type, const void *value, gsize value_len,
                        const void *context, gsize context_len);

/* Opens @env under @key and @context into @out, which must hold
 * mts_envelope_value_size (@env) + 1 bytes: the value is left at @out[0..n)
 * followed by a NUL byte, and *@type is set.  On a failed tag check @out is
 * wiped and MTS_CORE_ERROR_AUTH is raised. */
G_GNUC_WARN_UNUSED_RESULT
gboolean mts_envelope_open (const MtsEnvelope *env, const guint8 key[MTS_KEY_BYTES],
                            const void *context, gsize context_len,
                            MtsValueType *type, guint8 *out, GError **error);

G_END_DECLS
