/* mts-audit-chain.h — the MAC chain of an audit log.
 *
 * Each entry's MAC is BLAKE2b-256, keyed by the audit subkey of the key the
 * entry names, over the entry's canonical encoding followed by the previous
 * entry's MAC (nothing for the first entry):
 *
 *   "MTSAUDIT1"                     9 bytes, domain separation
 *   seq                             8 bytes big-endian
 *   at, actor, action, target,      each a field (below)
 *   row_id, columns, old_digest,
 *   new_digest, detail
 *   key id                          4 bytes big-endian
 *   previous MAC                    32 bytes, absent for entry 1
 *
 * A field is a type byte (0 NULL, 1 integer, 2 real, 3 text, 4 blob)
 * followed, for non-NULL values, by a 4-byte big-endian length and the
 * bytes (integers as 8 bytes big-endian, reals as IEEE-754 big-endian).
 *
 * A row digest is BLAKE2b-128, keyed by the same audit subkey, over
 * "MTSROW1" and the row's values encoded as fields, in column order.  It
 * lets the log prove what a row held without holding its plaintext.
 */
#pragma once

#include <glib.h>
#include <sodium.h>

#include "mts-envelope.h"

G_BEGIN_DECLS

#define MTS_AUDIT_MAC_BYTES 32
#define MTS_AUDIT_DIGEST_BYTES 16

typedef enum {
  MTS_FIELD_NULL = 0,
  MTS_FIELD_INTEGER = 1,
  MTS_FIELD_REAL = 2,
  MTS_FIELD_TEXT = 3,
  MTS_FIELD_BLOB = 4,
} MtsFieldType;

/* One value of an entry or a row. */
typedef struct {
  MtsFieldType type;
  gint64 i;
  double r;
  const void *bytes;   /* text or blob */
  gsize len;
} MtsField;

/* The fields of one audit entry, in MAC order. */
enum {
  MTS_AUDIT_AT,
  MTS_AUDIT_ACTOR,
  MTS_AUDIT_ACTION,
  MTS_AUDIT_TARGET,
  MTS_AUDIT_ROW_ID,
  MTS_AUDIT_COLUMNS,
  MTS_AUDIT_OLD_DIGEST,
  MTS_AUDIT_NEW_DIGEST,
  MTS_AUDIT_DETAIL,
  MTS_AUDIT_N_FIELDS
};

/* Computes the MAC of entry @seq with @fields (MTS_AUDIT_N_FIELDS of them)
 * under @key (an audit subkey) naming @key_id, chained to @prev_mac
 * (NULL for the first entry). */
void mts_audit_chain_mac (const guint8 key[MTS_KEY_BYTES], guint64 seq, const MtsField *fields,
                          guint32 key_id, const guint8 *prev_mac, guint8 out[MTS_AUDIT_MAC_BYTES]);

/* The keyed hash states of one audit subkey, with the domain prefixes
 * already absorbed: copying them saves hashing the key block for every
 * entry and row. */
typedef struct {
  crypto_generichash_state mac;
  crypto_generichash_state row;
} MtsAuditKeyState;

void mts_audit_key_state_init (MtsAuditKeyState *state, const guint8 key[MTS_KEY_BYTES]);

/* As mts_audit_chain_mac(), from a prepared key state. */
void mts_audit_chain_mac_from (const MtsAuditKeyState *state, guint64 seq, const MtsField *fields,
                               guint32 key_id, const guint8 *prev_mac,
                               guint8 out[MTS_AUDIT_MAC_BYTES]);

/* The same MAC in two steps, so that a verifier can encode entries in one
 * thread and hash them in another: the bytes that follow the domain prefix
 * are appended to @out, and then MACed from @state. */
void mts_audit_chain_encode (GByteArray *out, guint64 seq, const MtsField *fields, guint32 key_id,
                             const guint8 *prev_mac);
void mts_audit_chain_mac_encoded (const MtsAuditKeyState *state, const guint8 *data, gsize len,
                                  guint8 out[MTS_AUDIT_MAC_BYTES]);

/* Row digests, built incrementally over the row's values. */
typedef struct {
  crypto_generichash_state st;
} MtsRowDigest;

void mts_row_digest_init (MtsRowDigest *d, const guint8 key[MTS_KEY_BYTES]);
void mts_row_digest_init_from (MtsRowDigest *d, const MtsAuditKeyState *state);
void mts_row_digest_add (MtsRowDigest *d, const MtsField *value);
void mts_row_digest_final (MtsRowDigest *d, guint8 out[MTS_AUDIT_DIGEST_BYTES]);

/* The digest of a whole row at once (@n values), from a prepared key state. */
void mts_row_digest_compute (const MtsAuditKeyState *state, const MtsField *values, gsize n,
                             guint8 out[MTS_AUDIT_DIGEST_BYTES]);

G_END_DECLS
