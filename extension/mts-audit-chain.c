/* mts-audit-chain.c — entry MACs and row digests of the audit chain (see mts-audit-chain.h). */
#define G_LOG_DOMAIN "mts-core"

#include "mts-audit-chain.h"

#include <sodium.h>
#include <string.h>

static void
put_be (guint8 *p, guint64 v, int n)
{
  for (int i = n - 1; i >= 0; i--, v >>= 8)
    p[i] = (guint8) v;
}

static void
hash_field (crypto_generichash_state *st, const MtsField *f)
{
  guint8 head[1 + 4 + 8];
  guint64 bits;

  head[0] = (guint8) f->type;
  switch (f->type)
    {
    case MTS_FIELD_INTEGER:
      put_be (head + 1, 8, 4);
      put_be (head + 5, (guint64) f->i, 8);
      crypto_generichash_update (st, head, 13);
      break;
    case MTS_FIELD_REAL:
      memcpy (&bits, &f->r, 8);
      put_be (head + 1, 8, 4);
      put_be (head + 5, bits, 8);
      crypto_generichash_update (st, head, 13);
      break;
    case MTS_FIELD_TEXT:
    case MTS_FIELD_BLOB:
      put_be (head + 1, f->len, 4);
      crypto_generichash_update (st, head, 5);
      if (f->len > 0)
        crypto_generichash_update (st, f->bytes, f->len);
      break;
    case MTS_FIELD_NULL:
    default:
      head[0] = MTS_FIELD_NULL;
      crypto_generichash_update (st, head, 1);
      break;
    }
}

void
mts_audit_key_state_init (MtsAuditKeyState *state, const guint8 key[MTS_KEY_BYTES])
{
  crypto_generichash_init (&state->mac, key, MTS_KEY_BYTES, MTS_AUDIT_MAC_BYTES);
  crypto_generichash_update (&state->mac, (const guint8 *) "MTSAUDIT1", 9);
  crypto_generichash_init (&state->row, key, MTS_KEY_BYTES, MTS_AUDIT_DIGEST_BYTES);
  crypto_generichash_update (&state->row, (const guint8 *) "MTSROW1", 7);
}

void
mts_audit_chain_mac (const guint8 key[MTS_KEY_BYTES], guint64 seq, const MtsField *fields,
                     guint32 key_id, const guint8 *prev_mac, guint8 out[MTS_AUDIT_MAC_BYTES])
{
  MtsAuditKeyState state;

  mts_audit_key_state_init (&state, key);
  mts_audit_chain_mac_from (&state, seq, fields, key_id, prev_mac, out);
  sodium_memzero (&state, sizeof state);
}

void
mts_audit_chain_mac_from (const MtsAuditKeyState *state, guint64 seq, const MtsField *fields,
                          guint32 key_id, const guint8 *prev_mac, guint8 out[MTS_AUDIT_MAC_BYTES])
{
  crypto_generichash_state st = state->mac;
  guint8 buf[8];

  put_be (buf, seq, 8);
  crypto_generichash_update (&st, buf, 8);
  for (int i = 0; i < MTS_AUDIT_N_FIELDS; i++)
    hash_field (&st, &fields[i]);
  put_be (buf, key_id, 4);
  crypto_generichash_update (&st, buf, 4);
  if (prev_mac != NULL)
    crypto_generichash_update (&st, prev_mac, MTS_AUDIT_MAC_BYTES);
  crypto_generichash_final (&st, out, MTS_AUDIT_MAC_BYTES);
  sodium_memzero (&st, sizeof st);
}

void
mts_row_digest_init (MtsRowDigest *d, const guint8 key[MTS_KEY_BYTES])
{
  crypto_generichash_state *st = &d->st;

  crypto_generichash_init (st, key, MTS_KEY_BYTES, MTS_AUDIT_DIGEST_BYTES);
  crypto_generichash_update (st, (const guint8 *) "MTSROW1", 7);
}

void
mts_row_digest_init_from (MtsRowDigest *d, const MtsAuditKeyState *state)
{
  d->st = state->row;
}

void
mts_row_digest_add (MtsRowDigest *d, const MtsField *value)
{
  hash_field (&d->st, value);
}

void
mts_row_digest_final (MtsRowDigest *d, guint8 out[MTS_AUDIT_DIGEST_BYTES])
{
  crypto_generichash_final (&d->st, out, MTS_AUDIT_DIGEST_BYTES);
  sodium_memzero (d, sizeof *d);
}
