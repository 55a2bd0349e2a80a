/* mts-sync-engine.h — one sync of the practice store with the server:
 * push the outbox, pull what changed, anchor the audit-chain head.
 * docs/sync.md explains the protocol as the device sees it.
 *
 * Push: outbox entries are taken in order, coalesced per record (the
 * record's latest op, the union of the changed columns), and sent in
 * batches with values read from the rows at push time and the row's
 * version as the base.  Each result is applied in its own transaction with
 * the removal of the entries it acknowledges: applied (the version is
 * stored), merged (the server's merged record is written), conflict (the
 * row takes the server's version and this device's version is kept in
 * sync_conflicts with the base, for the clinician), rejected (kept in
 * sync_conflicts too).  A column edited again while a push was in flight is
 * never overwritten by its answer: its newer entry is pushed next.
 *
 * Pull: pages after the stored cursor, each applied with the new cursor in
 * one transaction, so a sync interrupted anywhere resumes where it stopped.
 * A row with a pending local edit is left alone (the push that follows
 * resolves it); tombstones delete the local row.
 */
#pragma once

#include <gio/gio.h>

#include "mts-store.h"
#include "mts-sync-session.h"

G_BEGIN_DECLS

typedef enum {
  MTS_SYNC_PHASE_PUSH,
  MTS_SYNC_PHASE_PULL,
} MtsSyncPhase;

/* Called after every batch or page: @done of @total for @phase (@total is
 * an estimate while pulling: done plus what the server says remains). */
typedef void (*MtsSyncProgressFunc) (MtsSyncPhase phase, gint64 done, gint64 total,
                                     gpointer user_data);

typedef struct {
  guint push_batch;              /* ops per push; 0: 500 */
  guint pull_limit;              /* records per page; 0: 1000 (5000 on a first sync) */
  gboolean confirm_mass_delete;  /* resend a push the server held as a mass delete */
} MtsSyncOptions;

typedef struct {
  gint64 pushed;       /* ops sent */
  gint64 applied;
  gint64 merged;
  gint64 conflicts;
  gint64 rejected;
  gint64 duplicates;
  gint64 pulled;       /* records written from pulls */
  gint64 deleted;      /* local rows deleted by tombstones */
  gint64 skipped;      /* pulled records left alone for a pending local edit */
} MtsSyncStats;

/* Runs one sync.  @options, @progress and @stats may be NULL.  Errors are
 * MTS_SYNC_ERROR (network, server, auth; see mts-sync-client.h) or
 * MTS_STORE_ERROR.  Whatever was acknowledged before an error is kept; the
 * next sync carries on from there. */
gboolean mts_sync_once (MtsStore *store, MtsSyncSession *session,
                        const MtsSyncOptions *options,
                        MtsSyncProgressFunc progress, gpointer user_data,
                        GCancellable *cancellable, MtsSyncStats *stats, GError **error);

/* mts_sync_once, tried up to @max_attempts times while it fails with a
 * retryable error (the network, a stalled or failing server: see
 * mts_sync_error_is_retryable), waiting an exponential backoff with full
 * jitter between tries (1 s doubling to 60 s at most, or the server's
 * Retry-After).  Never retries a refusal (4xx), a certificate problem or a
 * revoked device.  Each try carries on from what the previous acknowledged. */
gboolean mts_sync_with_retries (MtsStore *store, MtsSyncSession *session,
                                const MtsSyncOptions *options, guint max_attempts,
                                MtsSyncProgressFunc progress, gpointer user_data,
                                GCancellable *cancellable, MtsSyncStats *stats, GError **error);

/* How many outbox entries are waiting. */
gint64 mts_sync_pending (MtsStore *store, GError **error);

G_END_DECLS
