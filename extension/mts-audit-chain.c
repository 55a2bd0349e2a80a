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

/* Gathers the small pieces of an encoding before hashing them: one
 * crypto_generichash_update per piece cost more than the hashing itself. */
typedef struct {
  crypto_generichash_state *st;   /* hash into this, */
  GByteArray *out;                /* or else append to this */
  gsize n;
  guint8 buf[256];
} Writer;

static void
writer_emit (Writer *w, const void *data, gsize len)
{
  if (w->st != NULL)
    crypto_generichash_update (w->st, data, len);
  else
    g_byte_array_append (w->out, data, (guint) len);
}

static void
writer_flush (Writer *w)
{
  if (w->n > 0)
    writer_emit (w, w->buf, w->n);
  w->n = 0;
}

static void
writer_put (Writer *w, const void *data, gsize len)
{
  if (w->n + len > sizeof w->buf)
    {
      writer_flush (w);
      if (len > sizeof w->buf)
        {
          writer_emit (w, data, len);
          return;
        }
    }
  memcpy (w->buf + w->n, data, len);
  w->n += len;
}

static void
hash_field (Writer *w, const MtsField *f)
{
  guint8 head[1 + 4 + 8];
  guint64 bits;

  head[0] = (guint8) f->type;
  switch (f->type)
    {
    case MTS_FIELD_INTEGER:
      put_be (head + 1, 8, 4);
      put_be (head + 5, (guint64) f->i, 8);
      writer_put (w, head, 13);
      break;
    case MTS_FIELD_REAL:
      memcpy (&bits, &f->r, 8);
      put_be (head + 1, 8, 4);
      put_be (head + 5, bits, 8);
      writer_put (w, head, 13);
      break;
    case MTS_FIELD_TEXT:
    case MTS_FIELD_BLOB:
      put_be (head + 1, f->len, 4);
      writer_put (w, head, 5);
      if (f->len > 0)
        writer_put (w, f->bytes, f->len);
      break;
    case MTS_FIELD_NULL:
    default:
      head[0] = MTS_FIELD_NULL;
      writer_put (w, head, 1);
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

/* Appends to @w the encoding of an entry that follows the domain prefix. */
static void
encode_entry (Writer *w, guint64 seq, const MtsField *fields, guint32 key_id,
              const guint8 *prev_mac)
{
  guint8 buf[8];

  put_be (buf, seq, 8);
  writer_put (w, buf, 8);
  for (int i = 0; i < MTS_AUDIT_N_FIELDS; i++)
    hash_field (w, &fields[i]);
  put_be (buf, key_id, 4);
  writer_put (w, buf, 4);
  if (prev_mac != NULL)
    writer_put (w, prev_mac, MTS_AUDIT_MAC_BYTES);
}

void
mts_audit_chain_mac_from (const MtsAuditKeyState *state, guint64 seq, const MtsField *fields,
                          guint32 key_id, const guint8 *prev_mac, guint8 out[MTS_AUDIT_MAC_BYTES])
{
  crypto_generichash_state st = state->mac;
  Writer w;   /* its buffer holds only what the log stores: nothing secret */

  w.st = &st;
  w.out = NULL;
  w.n = 0;
  encode_entry (&w, seq, fields, key_id, prev_mac);
  writer_flush (&w);
  crypto_generichash_final (&st, out, MTS_AUDIT_MAC_BYTES);
  sodium_memzero (&st, sizeof st);
}

void
mts_audit_chain_encode (GByteArray *out, guint64 seq, const MtsField *fields, guint32 key_id,
                        const guint8 *prev_mac)
{
  Writer w;

  w.st = NULL;
  w.out = out;
  w.n = 0;
  encode_entry (&w, seq, fields, key_id, prev_mac);
  writer_flush (&w);
}

void
mts_audit_chain_mac_encoded (const MtsAuditKeyState *state, const guint8 *data, gsize len,
                             guint8 out[MTS_AUDIT_MAC_BYTES])
{
  crypto_generichash_state st = state->mac;

  crypto_generichash_update (&st, data, len);
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
  Writer w;

  w.st = &d->st;
  w.out = NULL;
  w.n = 0;
  hash_field (&w, value);
  writer_flush (&w);
}

void
mts_row_digest_compute (const MtsAuditKeyState *state, const MtsField *values, gsize n,
                        guint8 out[MTS_AUDIT_DIGEST_BYTES])
{
  crypto_generichash_state st = state->row;
  Writer w;

  w.st = &st;
  w.out = NULL;
  w.n = 0;
  for (gsize i = 0; i < n; i++)
    hash_field (&w, &values[i]);
  writer_flush (&w);
  crypto_generichash_final (&st, out, MTS_AUDIT_DIGEST_BYTES);
  sodium_memzero (&st, sizeof st);
}

void
mts_row_digest_final (MtsRowDigest *d, guint8 out[MTS_AUDIT_DIGEST_BYTES])
{
  crypto_generichash_final (&d->st, out, MTS_AUDIT_DIGEST_BYTES);
  sodium_memzero (d, sizeof *d);
}
