/* mts-server-audit.h — the server's own tamper-evident audit log: logins,
 * 2FA, failed authentication, token refresh and replay, sync pushes and
 * pulls, audit-head anchors, admin actions.  Entries live in the storage
 * backend (MtsAuditRow); each carries a keyed BLAKE2b-256 MAC, under the
 * vault's audit key, over the previous entry's MAC and this entry's fields,
 * each length-prefixed:
 *
 *   mac(n) = BLAKE2b-256(key, mac(n-1) || u64be seq || u64be at ||
 *            lp(practice_id) || lp(actor) || lp(event) || lp(detail_json))
 *
 * where lp(s) is a u32be length followed by the bytes (a NULL practice is
 * length 0xFFFFFFFF), and mac(0) is 32 zero bytes.  Editing, deleting,
 * reordering or inserting an entry breaks the chain at that point.
 * Details hold ids, counts and outcomes, never secrets or record content.
 */
#pragma once

#include <glib.h>

#include "mts-server-storage.h"

G_BEGIN_DECLS

#define MTS_SERVER_AUDIT_ERROR (mts_server_audit_error_quark ())
GQuark mts_server_audit_error_quark (void);

typedef enum {
  MTS_SERVER_AUDIT_ERROR_BROKEN,   /* the chain does not verify */
} MtsServerAuditError;

/* Computes the MAC of @row (its mac field is ignored) after @prev. */
void mts_server_audit_mac (const guint8 key[32], const guint8 prev[32],
                           const MtsAuditRow *row, guint8 out[32]);

/* Appends an entry (numbered after the last one, timed @now) inside the
 * caller's transaction if there is one.  @detail_json may be NULL ("{}"). */
gboolean mts_server_audit_append (MtsStorage *s, const guint8 key[32], gint64 now,
                                  const char *practice_id, const char *actor,
                                  const char *event, const char *detail_json,
                                  GError **error);

/* Checks the whole chain: numbering from 1 without gaps and every MAC.
 * *@n_entries receives the number of entries checked.  On a break, raises
 * MTS_SERVER_AUDIT_ERROR_BROKEN naming the first bad sequence number. */
gboolean mts_server_audit_verify (MtsStorage *s, const guint8 key[32],
                                  gint64 *n_entries, GError **error);

G_END_DECLS
