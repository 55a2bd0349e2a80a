/* mts-server-audit.c — the server's MAC-chained audit log (see mts-server-audit.h).
 *
 * The MAC, byte for byte (all integers big-endian):
 *
 *   key      32 bytes, the vault's audit key
 *   message  prev mac (32) || seq (u64) || at (u64) ||
 *            lp(practice_id) || lp(actor) || lp(event) || lp(detail_json)
 *   lp(s)    u32 byte length of s, then its bytes (no NUL); a NULL string is
 *            the length 0xFFFFFFFF and no bytes
 *   mac      crypto_generichash (BLAKE2b) of message under key, 32 bytes
 *
 * seq and at are the row's gint64 values as two's-complement u64.  Only
 * practice_id is ever NULL in entries this file appends (detail_json NULL
 * is stored as "{}"), but every field is encoded the same way so a row read
 * back from storage always has a defined MAC.
 */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-audit.h"

#include <sodium.h>
#include <string.h>

#define MAC_BYTES 32
#define LP_NULL 0xFFFFFFFFu

G_STATIC_ASSERT (sizeof (((MtsAuditRow *) NULL)->mac) == MAC_BYTES);
G_STATIC_ASSERT (crypto_generichash_BYTES == MAC_BYTES);
G_STATIC_ASSERT (crypto_generichash_KEYBYTES == 32);

G_DEFINE_QUARK (mts-server-audit-error-quark, mts_server_audit_error)

static void
hash_u64 (crypto_generichash_state *st, guint64 v)
{
  guint8 b[8];

  for (int i = 7; i >= 0; i--, v >>= 8)
    b[i] = (guint8) v;
  crypto_generichash_update (st, b, sizeof b);
}

static void
hash_lp (crypto_generichash_state *st, const char *s)
{
  gsize n = s == NULL ? 0 : strlen (s);
  guint32 len = s == NULL ? LP_NULL : (guint32) n;
  guint8 b[4] = { (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len };

  crypto_generichash_update (st, b, sizeof b);
  if (n > 0)
    crypto_generichash_update (st, (const guint8 *) s, n);
}

/* Whether @s can be length-prefixed: shorter than the NULL marker. */
static gboolean
fits_lp (const char *s)
{
  return s == NULL || strlen (s) < LP_NULL;
}

void
mts_server_audit_mac (const guint8 key[32], const guint8 prev[32],
                      const MtsAuditRow *row, guint8 out[32])
{
  crypto_generichash_state st;

  g_return_if_fail (key != NULL && prev != NULL && row != NULL && out != NULL);

  crypto_generichash_init (&st, key, 32, MAC_BYTES);
  crypto_generichash_update (&st, prev, MAC_BYTES);
  hash_u64 (&st, (guint64) row->seq);
  hash_u64 (&st, (guint64) row->at);
  hash_lp (&st, row->practice_id);
  hash_lp (&st, row->actor);
  hash_lp (&st, row->event);
  hash_lp (&st, row->detail_json);
  crypto_generichash_final (&st, out, MAC_BYTES);
  sodium_memzero (&st, sizeof st);
}

gboolean
mts_server_audit_append (MtsStorage *s, const guint8 key[32], gint64 now,
                         const char *practice_id, const char *actor,
                         const char *event, const char *detail_json,
                         GError **error)
{
  MtsAuditRow last = { 0 };
  MtsAuditRow row = { 0 };
  guint8 prev[MAC_BYTES] = { 0 };   /* mac(0) */
  MtsStorageFound found;
  gboolean ok;

  g_return_val_if_fail (s != NULL && key != NULL, FALSE);
  g_return_val_if_fail (actor != NULL && event != NULL, FALSE);
  g_return_val_if_fail (fits_lp (practice_id) && fits_lp (actor) && fits_lp (event)
                        && fits_lp (detail_json), FALSE);

  found = s->ops->audit_last (s, &last, error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    {
      g_prefix_error (error, "cannot append to the server audit log: ");
      return FALSE;
    }
  row.seq = 1;
  if (found == MTS_STORAGE_FOUND)
    {
      row.seq = last.seq + 1;
      memcpy (prev, last.mac, MAC_BYTES);
      mts_audit_row_clear (&last);
    }
  /* The row only borrows the caller's strings: it is never cleared. */
  row.at = now;
  row.practice_id = (char *) practice_id;
  row.actor = (char *) actor;
  row.event = (char *) event;
  row.detail_json = (char *) (detail_json != NULL ? detail_json : "{}");
  mts_server_audit_mac (key, prev, &row, row.mac);
  ok = s->ops->audit_append (s, &row, error);
  if (!ok)
    g_prefix_error (error, "cannot append to the server audit log: ");
  return ok;
}

typedef struct {
  const guint8 *key;
  guint8 prev[MAC_BYTES];
  gint64 next;          /* the sequence number the next entry must have */
  gint64 found_seq;     /* what a misnumbered entry had instead */
  enum { CHAIN_OK, CHAIN_MISNUMBERED, CHAIN_BAD_MAC } state;
} VerifyWalk;

static gboolean
verify_cb (const MtsAuditRow *row, gpointer user_data)
{
  VerifyWalk *w = user_data;
  guint8 mac[MAC_BYTES];

  if (row->seq != w->next)
    {
      w->state = CHAIN_MISNUMBERED;
      w->found_seq = row->seq;
      return FALSE;
    }
  mts_server_audit_mac (w->key, w->prev, row, mac);
  if (sodium_memcmp (mac, row->mac, MAC_BYTES) != 0)
    {
      w->state = CHAIN_BAD_MAC;
      return FALSE;
    }
  memcpy (w->prev, row->mac, MAC_BYTES);
  w->next++;
  return TRUE;
}

gboolean
mts_server_audit_verify (MtsStorage *s, const guint8 key[32],
                         gint64 *n_entries, GError **error)
{
  VerifyWalk w = { .key = key, .next = 1, .state = CHAIN_OK };

  g_return_val_if_fail (s != NULL && key != NULL, FALSE);

  if (n_entries != NULL)
    *n_entries = 0;
  /* From the very bottom: an entry slipped in with seq 0 or below must be
   * seen (and refused), not skipped by an "after 0". */
  if (!s->ops->audit_foreach (s, G_MININT64, verify_cb, &w, error))
    {
      g_prefix_error (error, "cannot read the server audit log: ");
      return FALSE;
    }
  /* Entries before the break verified. */
  if (n_entries != NULL)
    *n_entries = w.next - 1;
  switch (w.state)
    {
    case CHAIN_OK:
      return TRUE;
    case CHAIN_MISNUMBERED:
      g_set_error (error, MTS_SERVER_AUDIT_ERROR, MTS_SERVER_AUDIT_ERROR_BROKEN,
                   "server audit log is broken at entry %" G_GINT64_FORMAT ": entry %"
                   G_GINT64_FORMAT " is in its place (entries were removed, inserted or "
                   "reordered)", w.next, w.found_seq);
      return FALSE;
    case CHAIN_BAD_MAC:
    default:
      g_set_error (error, MTS_SERVER_AUDIT_ERROR, MTS_SERVER_AUDIT_ERROR_BROKEN,
                   "server audit log is broken at entry %" G_GINT64_FORMAT ": its MAC does "
                   "not match (the entry was altered, or one before it was removed, "
                   "inserted or reordered, or the audit key is not the one it was "
                   "written with)", w.next);
      return FALSE;
    }
}
