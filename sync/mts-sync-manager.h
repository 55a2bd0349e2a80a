/* mts-sync-manager.h — syncing in the background for the desktop app: the
 * state, progress and counts it shows, as properties it can bind to.
 *
 * The app keeps its own MtsStore on its main thread, and the therapist
 * keeps typing into it while a sync runs.  The manager therefore never
 * syncs through that store: each sync runs on a worker thread (GTask)
 * through a twin of it (mts_store_open_twin(): its own SQLite connection
 * and its own clone of the keystore, made on the main thread when the sync
 * starts) and a fresh MtsSyncSession made on that thread from the twin,
 * both freed when the sync ends.  The two connections take turns writing
 * (WAL, a 5 s busy timeout); a pulled page is one transaction, so a write
 * from the app may wait while a page is applied.
 *
 * Each sync is one mts_sync_once(): push, pull, anchor the audit head.  The
 * manager does not retry inside a sync (that would leave the app showing
 * "syncing" through minutes of backoff): a sync that cannot reach the
 * server ends at once in OFFLINE, and the manager's own timer tries again
 * with backoff (see mts_sync_manager_set_auto_interval()).
 *
 * Everything the app sees happens on the main context the manager was
 * made in (the thread-default one at mts_sync_manager_new()): property
 * notifications, the signals, the callbacks of mts_sync_manager_sync_async().
 * Call its methods from that context's thread only.  The worker reports to
 * it through idle sources holding a weak reference, so a manager finalized
 * during a sync is safe: the sync is cancelled, and what it committed stays
 * committed.
 *
 * Properties (all read-only but auto-interval, all notified):
 *   state           MtsSyncState: IDLE, SYNCING, OFFLINE, ERROR
 *   error-message   (nullable) why, in plain language, when OFFLINE or
 *                   ERROR; never a secret, a token or a record's content
 *   error-code      the MtsSyncError code (mts-sync-client.h) of the
 *                   failure behind OFFLINE or ERROR, so the app can offer
 *                   the way out ("Sign in again" for AUTH and NOT_LOGGED_IN);
 *                   -1 when the state is not a failure or the failure was
 *                   not the sync's own (the store, the keystore)
 *   last-synced     (nullable) GDateTime, UTC, of the last sync that
 *                   succeeded; kept in the store's sync_state
 *                   (last_synced_at), so it survives a restart
 *   pending         outbox entries waiting to be pushed
 *   conflicts       open conflicts waiting for the clinician
 *   progress-done, progress-total
 *                   of the current phase of the current (or last) sync
 *   auto-interval   seconds between background syncs, 0 for none
 *
 * Signals:
 *   progress (MtsSyncPhase phase, gint64 done, gint64 total)
 *                   after each pushed batch or pulled page
 *   finished (gboolean success, GVariant *stats)
 *                   after each sync, with the properties already updated;
 *                   @stats is an a{sx} dictionary of the MtsSyncStats
 *                   members (pushed, applied, merged, conflicts, rejected,
 *                   duplicates, pulled, deleted, skipped), partial when the
 *                   sync failed
 */
#pragma once

#include <gio/gio.h>

#include "mts-store.h"
#include "mts-sync-engine.h"

G_BEGIN_DECLS

/**
 * MtsSyncState:
 * @MTS_SYNC_STATE_IDLE: not syncing; the last sync succeeded or was
 *   cancelled (or there was none yet).
 * @MTS_SYNC_STATE_SYNCING: a sync is running.
 * @MTS_SYNC_STATE_OFFLINE: the last sync could not reach the server (no
 *   network, the server down, the connection dropped); local work goes on.
 * @MTS_SYNC_STATE_ERROR: the last sync failed for a reason the user must
 *   hear about (error-message says which): the certificate, the login, a
 *   revoked device, a refusal, a failing server, the local store.
 */
typedef enum {
  MTS_SYNC_STATE_IDLE,
  MTS_SYNC_STATE_SYNCING,
  MTS_SYNC_STATE_OFFLINE,
  MTS_SYNC_STATE_ERROR,
} MtsSyncState;

#define MTS_TYPE_SYNC_STATE (mts_sync_state_get_type ())
GType mts_sync_state_get_type (void);

/* The GType of MtsSyncPhase (mts-sync-engine.h), for the progress signal. */
#define MTS_TYPE_SYNC_PHASE (mts_sync_phase_get_type ())
GType mts_sync_phase_get_type (void);

#define MTS_TYPE_SYNC_MANAGER (mts_sync_manager_get_type ())
G_DECLARE_FINAL_TYPE (MtsSyncManager, mts_sync_manager, MTS, SYNC_MANAGER, GObject)

/**
 * mts_sync_manager_new:
 * @store: the app's store (the manager keeps a reference); it should be
 *   unlocked when a sync starts (a sync of a locked store fails with
 *   MTS_STORE_ERROR_LOCKED, and background syncs wait for the unlock)
 *
 * Reads last-synced and the counts from @store.  Background sync is off
 * until mts_sync_manager_set_auto_interval().
 *
 * Returns: (transfer full): the manager
 */
MtsSyncManager *mts_sync_manager_new (MtsStore *store);

/* (transfer none) The store. */
MtsStore *mts_sync_manager_get_store (MtsSyncManager *mgr);

MtsSyncState mts_sync_manager_get_state (MtsSyncManager *mgr);
/* (transfer none) (nullable) */
const char *mts_sync_manager_get_error_message (MtsSyncManager *mgr);
/* An MtsSyncError code, or -1 (see error-code above). */
int mts_sync_manager_get_error_code (MtsSyncManager *mgr);
/* (transfer none) (nullable) */
GDateTime *mts_sync_manager_get_last_synced (MtsSyncManager *mgr);
gint64 mts_sync_manager_get_pending (MtsSyncManager *mgr);
gint64 mts_sync_manager_get_conflicts (MtsSyncManager *mgr);
gint64 mts_sync_manager_get_progress_done (MtsSyncManager *mgr);
gint64 mts_sync_manager_get_progress_total (MtsSyncManager *mgr);

/**
 * mts_sync_manager_sync_async:
 * @cancellable: (nullable): cancels the sync
 * @callback: called on the manager's main context when the sync has ended
 *
 * Starts a sync, or, when one is running already (a background one, or an
 * earlier call's), joins it: @callback then gets that sync's result.  There
 * is never more than one sync at a time.  Cancelling @cancellable (or
 * mts_sync_manager_cancel()) stops the running sync for everyone waiting
 * on it; what it had committed stays, and the next sync carries on.
 *
 * A call also resumes background syncs held after an error (see
 * mts_sync_manager_set_auto_interval()).
 */
void mts_sync_manager_sync_async (MtsSyncManager *mgr, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);

/**
 * mts_sync_manager_sync_finish:
 *
 * Returns: TRUE if the sync succeeded; FALSE with @error: G_IO_ERROR_CANCELLED
 *   when cancelled, MTS_STORE_ERROR_LOCKED when the store was locked (the
 *   state is left as it was), else the sync's own error (MTS_SYNC_ERROR,
 *   MTS_STORE_ERROR), whose message has more detail than error-message.
 */
gboolean mts_sync_manager_sync_finish (MtsSyncManager *mgr, GAsyncResult *result,
                                       GError **error);

/* Cancels the running sync, if any (the state goes back to IDLE when it
 * has stopped).  Call it before locking the app's store: the twin a sync
 * runs on holds keys until the sync ends. */
void mts_sync_manager_cancel (MtsSyncManager *mgr);

/**
 * mts_sync_manager_set_auto_interval:
 * @seconds: the time between background syncs; 0 turns them off
 *
 * Syncs in the background every @seconds while idle (the first one
 * @seconds from now).  After a sync that could not reach the server or
 * met a failing server (OFFLINE, or ERROR from a 5xx), the next try comes
 * sooner, with exponential backoff and jitter from 2 s up to @seconds (and
 * never before the server's Retry-After).  After an error only the user
 * can mend (certificate, login, revoked device, refusal, local store),
 * background syncs hold until the next mts_sync_manager_sync_async().  A
 * locked store is skipped until it is unlocked.
 */
void mts_sync_manager_set_auto_interval (MtsSyncManager *mgr, guint seconds);
guint mts_sync_manager_get_auto_interval (MtsSyncManager *mgr);

/* Re-reads pending and conflicts from the app's store, for after a local
 * write or a conflict resolved (a sync updates them itself). */
void mts_sync_manager_refresh_counts (MtsSyncManager *mgr);

G_END_DECLS
