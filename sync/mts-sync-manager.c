/* mts-sync-manager.c — background sync for the desktop app (see mts-sync-manager.h).
 *
 * One sync is a SyncRun: made on the main context with a clone of the
 * app's keystore, run on a GTask worker thread through a twin store and a
 * session of its own, and ended back on the main context (run_done_cb).
 * The worker never touches the manager or the app's store: it reports
 * through idle sources holding the run, whose weak reference finds the
 * manager if it still exists. */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-sync-manager.h"
#include "mts-sync-manager-private.h"

#include <sqlite3.h>

#include "mts-error.h"
#include "mts-keystore.h"
#include "mts-store-private.h"
#include "mts-sync-client.h"
#include "mts-sync-session.h"

/* sync_state key of the last successful sync (ISO 8601, UTC). */
#define LAST_SYNCED_KEY "last_synced_at"
/* Backoff of background retries: the first ceiling, and the least wait. */
#define RETRY_BASE_MS 2000
#define RETRY_MIN_MS 1000
#define MAX_AUTO_INTERVAL (G_MAXUINT / 1000)

G_DEFINE_ENUM_TYPE (MtsSyncState, mts_sync_state,
  G_DEFINE_ENUM_VALUE (MTS_SYNC_STATE_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (MTS_SYNC_STATE_SYNCING, "syncing"),
  G_DEFINE_ENUM_VALUE (MTS_SYNC_STATE_OFFLINE, "offline"),
  G_DEFINE_ENUM_VALUE (MTS_SYNC_STATE_ERROR, "error"))

G_DEFINE_ENUM_TYPE (MtsSyncPhase, mts_sync_phase,
  G_DEFINE_ENUM_VALUE (MTS_SYNC_PHASE_PUSH, "push"),
  G_DEFINE_ENUM_VALUE (MTS_SYNC_PHASE_PULL, "pull"))

/* ---- one sync ---- */

typedef struct {
  GWeakRef manager;
  GMainContext *context;     /* the manager's */
  GCancellable *cancel;
  char *dir;
  char *actor;
  MtsKeystore *ks;           /* the clone; the worker takes it */
  /* Written by the worker before its task returns. */
  MtsSyncStats stats;
  guint retry_after;
  GDateTime *synced_at;      /* set when the sync succeeded */
} SyncRun;

/* Runs not yet cleared (mts_sync_manager_live_runs). */
static gint live_runs;

guint
mts_sync_manager_live_runs (void)
{
  return (guint) g_atomic_int_get (&live_runs);
}

static void
sync_run_clear (gpointer p)
{
  SyncRun *run = p;

  g_weak_ref_clear (&run->manager);
  g_main_context_unref (run->context);
  g_object_unref (run->cancel);
  g_free (run->dir);
  g_free (run->actor);
  g_clear_pointer (&run->ks, mts_keystore_free);
  g_clear_pointer (&run->synced_at, g_date_time_unref);
  g_atomic_int_add (&live_runs, -1);
}

static SyncRun *
sync_run_ref (SyncRun *run)
{
  return g_atomic_rc_box_acquire (run);
}

static void
sync_run_unref (SyncRun *run)
{
  g_atomic_rc_box_release_full (run, sync_run_clear);
}

/* A sync_async call waiting for the run. */
typedef struct {
  GTask *task;
  GCancellable *cancellable;
  gulong handler;
} Waiter;

static void
waiter_free (gpointer p)
{
  Waiter *w = p;

  if (w->handler != 0)
    g_cancellable_disconnect (w->cancellable, w->handler);
  g_clear_object (&w->cancellable);
  g_clear_object (&w->task);
  g_free (w);
}

/* ---- the object ---- */

struct _MtsSyncManager {
  GObject parent_instance;

  MtsStore *store;
  GMainContext *context;
  MtsSyncState state;
  char *error_message;
  int error_code;            /* MtsSyncError of the last failure, or -1 */
  GDateTime *last_synced;
  gint64 pending;
  gint64 conflicts;
  gint64 progress_done;
  gint64 progress_total;
  guint auto_interval;

  SyncRun *run;              /* the running sync, or NULL */
  GPtrArray *waiters;        /* of Waiter, for run */
  GSource *timer;            /* the next background sync */
  guint failures;            /* retryable failures in a row */
  guint retry_after;         /* the server's Retry-After of the last failure */
  gboolean held;             /* background syncs held after an error */
};

G_DEFINE_FINAL_TYPE (MtsSyncManager, mts_sync_manager, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STORE,
  PROP_STATE,
  PROP_ERROR_MESSAGE,
  PROP_ERROR_CODE,
  PROP_LAST_SYNCED,
  PROP_PENDING,
  PROP_CONFLICTS,
  PROP_PROGRESS_DONE,
  PROP_PROGRESS_TOTAL,
  PROP_AUTO_INTERVAL,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum {
  SIGNAL_PROGRESS,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void schedule_next (MtsSyncManager *mgr);

/* ---- setters that notify on change ---- */

static void
set_state (MtsSyncManager *mgr, MtsSyncState state, const char *message, int code)
{
  if (mgr->error_code != code)
    {
      mgr->error_code = code;
      g_object_notify_by_pspec (G_OBJECT (mgr), props[PROP_ERROR_CODE]);
    }
  if (mgr->state != state)
    {
      mgr->state = state;
      g_object_notify_by_pspec (G_OBJECT (mgr), props[PROP_STATE]);
    }
  if (g_strcmp0 (mgr->error_message, message) != 0)
    {
      g_free (mgr->error_message);
      mgr->error_message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (mgr), props[PROP_ERROR_MESSAGE]);
    }
}

static void
set_int64 (MtsSyncManager *mgr, gint64 *field, gint64 value, guint prop)
{
  if (*field != value)
    {
      *field = value;
      g_object_notify_by_pspec (G_OBJECT (mgr), props[prop]);
    }
}

static void
set_last_synced (MtsSyncManager *mgr, GDateTime *at)
{
  if (at == mgr->last_synced
      || (at != NULL && mgr->last_synced != NULL && g_date_time_equal (at, mgr->last_synced)))
    return;
  g_clear_pointer (&mgr->last_synced, g_date_time_unref);
  mgr->last_synced = at != NULL ? g_date_time_ref (at) : NULL;
  g_object_notify_by_pspec (G_OBJECT (mgr), props[PROP_LAST_SYNCED]);
}

/* ---- what the store says ---- */

static gint64
count_open_conflicts (MtsStore *store)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT count(*) FROM sync_conflicts "
                                               "WHERE resolved_at IS NULL", NULL);
  gint64 n = -1;

  if (st == NULL)
    return -1;
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

static GDateTime *
read_last_synced (MtsStore *store)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT value FROM sync_state WHERE key = '"
                                               LAST_SYNCED_KEY "'", NULL);
  GDateTime *at = NULL;

  if (st == NULL)
    return NULL;
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) == SQLITE_TEXT)
    at = g_date_time_new_from_iso8601 ((const char *) sqlite3_column_text (st, 0), NULL);
  sqlite3_finalize (st);
  return at;
}

/* On the worker, through the twin: not synced, not audited (sync_state). */
static void
write_last_synced (MtsStore *twin, GDateTime *at)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_date_time_format_iso8601 (at);
  sqlite3_stmt *st = mts_store_prepare (twin, "INSERT INTO sync_state (key, value) "
                                              "VALUES ('" LAST_SYNCED_KEY "', ?1) "
                                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                        &error);

  if (st != NULL)
    {
      mts_store_bind_text (st, 1, text);
      mts_store_step_finalize (twin, st, &error);
    }
  if (error != NULL)
    g_message ("cannot record the time of the sync: %s", error->message);
}

/* ---- errors in plain language ---- */

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The state a failed sync leaves, and why, for the user (never a secret:
 * the messages quoted are the server's own refusals and the store's and
 * keystore's, which name no key, token or content).  *@retryable: whether
 * the same sync may work later unchanged. */
static MtsSyncState
describe_error (const GError *error, char **message, gboolean *retryable)
{
  *retryable = FALSE;
  if (error->domain == MTS_SYNC_ERROR)
    switch ((MtsSyncError) error->code)
      {
      case MTS_SYNC_ERROR_OFFLINE:
      case MTS_SYNC_ERROR_NETWORK:
        *retryable = TRUE;
        *message = g_strdup ("The server cannot be reached. Your work is kept on this "
                             "computer and will be sent when the server can be reached.");
        return MTS_SYNC_STATE_OFFLINE;
      case MTS_SYNC_ERROR_SERVER:
        *retryable = TRUE;
        *message = g_strdup ("The server had a problem and could not finish the sync. "
                             "Nothing was lost; try again later.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_TLS:
        *message = g_strdup ("The server's certificate is not trusted, so nothing was sent. "
                             "Ask your practice's administrator.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_AUTH:
        *message = g_strdup ("Your sign-in to the server has ended. Sign in again to sync.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_NOT_LOGGED_IN:
        *message = g_strdup ("This device is not signed in to the practice's server. "
                             "Sign in to sync.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_REVOKED:
        *message = g_strdup ("This device was revoked by your practice's administrator; "
                             "your notes on it are safe.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_REFUSED:
        *message = g_strdup_printf ("The server refused the sync: %s", error->message);
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_PROTOCOL:
        *message = g_strdup ("The server's answer was not understood, so nothing from it "
                             "was applied. Ask your practice's administrator.");
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_INVALID:
        *message = g_strdup_printf ("The sync settings are not valid: %s", error->message);
        return MTS_SYNC_STATE_ERROR;
      case MTS_SYNC_ERROR_CANCELLED:
      default:
        break;
      }
  if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED))
    *message = g_strdup ("The store is locked. Unlock it to sync.");
  else if (error->domain == MTS_STORE_ERROR)
    *message = g_strdup_printf ("The store on this computer could not be updated (%s). "
                                "Nothing was lost.", error->message);
  else if (error->domain == MTS_CORE_ERROR)
    *message = g_strdup_printf ("The keystore could not be used: %s", error->message);
  else
    *message = g_strdup ("The sync failed.");
  return MTS_SYNC_STATE_ERROR;
}

static GVariant *
stats_to_variant (const MtsSyncStats *s)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sx}"));
  g_variant_builder_add (&b, "{sx}", "pushed", s->pushed);
  g_variant_builder_add (&b, "{sx}", "applied", s->applied);
  g_variant_builder_add (&b, "{sx}", "merged", s->merged);
  g_variant_builder_add (&b, "{sx}", "conflicts", s->conflicts);
  g_variant_builder_add (&b, "{sx}", "rejected", s->rejected);
  g_variant_builder_add (&b, "{sx}", "duplicates", s->duplicates);
  g_variant_builder_add (&b, "{sx}", "pulled", s->pulled);
  g_variant_builder_add (&b, "{sx}", "deleted", s->deleted);
  g_variant_builder_add (&b, "{sx}", "skipped", s->skipped);
  return g_variant_builder_end (&b);
}

/* ---- the worker ---- */

typedef struct {
  SyncRun *run;
  MtsSyncPhase phase;
  gint64 done;
  gint64 total;
} ProgressMsg;

static void
progress_msg_free (gpointer p)
{
  ProgressMsg *msg = p;

  sync_run_unref (msg->run);
  g_free (msg);
}

/* On the main context. */
static gboolean
progress_dispatch (gpointer data)
{
  ProgressMsg *msg = data;
  g_autoptr (MtsSyncManager) mgr = g_weak_ref_get (&msg->run->manager);

  if (mgr == NULL || mgr->run != msg->run)
    return G_SOURCE_REMOVE;
  g_object_freeze_notify (G_OBJECT (mgr));
  set_int64 (mgr, &mgr->progress_done, msg->done, PROP_PROGRESS_DONE);
  set_int64 (mgr, &mgr->progress_total, msg->total, PROP_PROGRESS_TOTAL);
  g_object_thaw_notify (G_OBJECT (mgr));
  g_signal_emit (mgr, signals[SIGNAL_PROGRESS], 0, msg->phase, msg->done, msg->total);
  return G_SOURCE_REMOVE;
}

/* On the worker: an idle source on the main context carries it over (never
 * g_main_context_invoke, which runs the function right here if this thread
 * can acquire the context). */
static void
progress_cb (MtsSyncPhase phase, gint64 done, gint64 total, gpointer user_data)
{
  SyncRun *run = user_data;
  ProgressMsg *msg = g_new (ProgressMsg, 1);
  GSource *idle = g_idle_source_new ();

  msg->run = sync_run_ref (run);
  msg->phase = phase;
  msg->done = done;
  msg->total = total;
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, progress_dispatch, msg, progress_msg_free);
  g_source_set_static_name (idle, "[mts] sync progress");
  g_source_attach (idle, run->context);
  g_source_unref (idle);
}

static void
run_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *unused)
{
  SyncRun *run = task_data;
  g_autoptr (MtsStore) twin = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  GError *error = NULL;

  twin = mts_store_open_with_keystore (run->dir, g_steal_pointer (&run->ks), run->actor, &error);
  if (twin != NULL)
    session = mts_sync_session_new (twin, &error);
  if (session != NULL)
    {
      if (mts_sync_once (twin, session, NULL, progress_cb, run, run->cancel, &run->stats,
                         &error))
        {
          run->synced_at = g_date_time_new_now_utc ();
          write_last_synced (twin, run->synced_at);
        }
      else if (mts_sync_session_get_client (session) != NULL)
        run->retry_after = mts_sync_client_get_retry_after (mts_sync_session_get_client (session));
    }
  /* Closed here, before the main context hears the sync ended: the twin's
   * keys are wiped and its connection gone by then. */
  g_clear_object (&session);
  g_clear_object (&twin);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* ---- starting and ending ---- */

static void
clear_timer (MtsSyncManager *mgr)
{
  if (mgr->timer != NULL)
    {
      g_source_destroy (mgr->timer);
      g_clear_pointer (&mgr->timer, g_source_unref);
    }
}

static void
finish_run (MtsSyncManager *mgr, SyncRun *run, gboolean ok, const GError *error)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&mgr->waiters);
  g_autoptr (GVariant) stats = NULL;
  g_autofree char *message = NULL;
  MtsSyncState state = MTS_SYNC_STATE_IDLE;
  gboolean retryable = FALSE;
  int code = -1;

  /* From here on a sync_async (from a handler below) starts a new run. */
  mgr->waiters = g_ptr_array_new_with_free_func (waiter_free);
  g_clear_pointer (&mgr->run, sync_run_unref);

  if (ok)
    {
      mgr->failures = 0;
      mgr->retry_after = 0;
    }
  else if (!is_cancelled (error))
    {
      state = describe_error (error, &message, &retryable);
      if (error->domain == MTS_SYNC_ERROR)
        code = error->code;
      g_debug ("sync failed: %s", error->message);
      if (retryable)
        {
          mgr->failures++;
          mgr->retry_after = run->retry_after;
        }
      else
        mgr->held = TRUE;
    }

  /* The twin may have written clients: the names the app's store holds in
   * memory for search must follow, whatever else happened. */
  if (run->stats.pulled + run->stats.deleted + run->stats.merged + run->stats.conflicts > 0
      && mts_store_is_unlocked (mgr->store))
    {
      g_autoptr (GError) names_error = NULL;

      if (!mts_store_reload_names (mgr->store, &names_error))
        g_message ("cannot reload the client names after a sync: %s", names_error->message);
    }

  g_object_freeze_notify (G_OBJECT (mgr));
  set_state (mgr, state, message, code);
  if (ok)
    set_last_synced (mgr, run->synced_at);
  mts_sync_manager_refresh_counts (mgr);
  g_object_thaw_notify (G_OBJECT (mgr));

  stats = g_variant_ref_sink (stats_to_variant (&run->stats));
  g_signal_emit (mgr, signals[SIGNAL_FINISHED], 0, ok, stats);

  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *w = waiters->pdata[i];

      if (ok)
        g_task_return_boolean (w->task, TRUE);
      else if (is_cancelled (error))
        g_task_return_new_error (w->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", error->message);
      else
        g_task_return_error (w->task, g_error_copy (error));
    }

  if (mgr->run == NULL)
    schedule_next (mgr);
}

/* On the main context, when the worker is done. */
static void
run_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SyncRun *run = user_data;
  g_autoptr (MtsSyncManager) mgr = g_weak_ref_get (&run->manager);
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (mgr != NULL && mgr->run == run)
    finish_run (mgr, run, ok, error);
  sync_run_unref (run);
}

static gboolean
start_run (MtsSyncManager *mgr, GError **error)
{
  g_autoptr (GTask) task = NULL;
  MtsKeystore *ks;
  SyncRun *run;

  /* The clone is made here, on the store's thread; the rest of the twin
   * (the connection, the names) on the worker. */
  ks = mts_store_clone_keystore (mgr->store, error);
  if (ks == NULL)
    return FALSE;
  run = g_atomic_rc_box_new0 (SyncRun);
  g_atomic_int_inc (&live_runs);
  g_weak_ref_init (&run->manager, mgr);
  run->context = g_main_context_ref (mgr->context);
  run->cancel = g_cancellable_new ();
  run->dir = g_strdup (mts_store_get_dir (mgr->store));
  run->actor = g_strdup (mts_store_get_actor (mgr->store));
  run->ks = ks;
  mgr->run = run;
  clear_timer (mgr);

  g_object_freeze_notify (G_OBJECT (mgr));
  set_state (mgr, MTS_SYNC_STATE_SYNCING, NULL, -1);
  set_int64 (mgr, &mgr->progress_done, 0, PROP_PROGRESS_DONE);
  set_int64 (mgr, &mgr->progress_total, 0, PROP_PROGRESS_TOTAL);
  g_object_thaw_notify (G_OBJECT (mgr));

  /* No source object and no cancellable: the task must not keep the
   * manager alive, and it reports the run's own result, cancelled or not. */
  task = g_task_new (NULL, NULL, run_done_cb, sync_run_ref (run));
  g_task_set_source_tag (task, start_run);
  g_task_set_name (task, "[mts] sync");
  g_task_set_task_data (task, sync_run_ref (run), (GDestroyNotify) sync_run_unref);
  g_task_run_in_thread (task, run_thread);
  return TRUE;
}

/* ---- background syncs ---- */

static gboolean
auto_tick_cb (gpointer user_data)
{
  MtsSyncManager *mgr = user_data;
  g_autoptr (GError) error = NULL;

  /* This source is being dispatched: drop it without destroying it. */
  g_clear_pointer (&mgr->timer, g_source_unref);
  if (mgr->run != NULL)
    return G_SOURCE_REMOVE;
  if (!mts_store_is_unlocked (mgr->store))
    g_debug ("background sync skipped: the store is locked");
  else if (start_run (mgr, &error))
    return G_SOURCE_REMOVE;
  else
    g_message ("cannot start a background sync: %s", error->message);
  schedule_next (mgr);
  return G_SOURCE_REMOVE;
}

static void
schedule_next (MtsSyncManager *mgr)
{
  guint64 interval_ms = (guint64) mgr->auto_interval * 1000;
  guint64 delay_ms = interval_ms;

  clear_timer (mgr);
  if (mgr->auto_interval == 0 || mgr->run != NULL || mgr->held)
    return;
  if (mgr->failures > 0)
    {
      delay_ms = mts_sync_backoff_delay (mgr->failures - 1, RETRY_BASE_MS, interval_ms);
      delay_ms = CLAMP (delay_ms, MIN (RETRY_MIN_MS, interval_ms), interval_ms);
      delay_ms = MAX (delay_ms, (guint64) mgr->retry_after * 1000);
      delay_ms = MIN (delay_ms, G_MAXUINT);
    }
  mgr->timer = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (mgr->timer, auto_tick_cb, mgr, NULL);
  g_source_set_static_name (mgr->timer, "[mts] background sync");
  g_source_attach (mgr->timer, mgr->context);
}

/* ---- GObject ---- */

static void
mts_sync_manager_constructed (GObject *object)
{
  MtsSyncManager *mgr = MTS_SYNC_MANAGER (object);

  G_OBJECT_CLASS (mts_sync_manager_parent_class)->constructed (object);
  g_return_if_fail (MTS_IS_STORE (mgr->store));

  mgr->last_synced = read_last_synced (mgr->store);
  mgr->pending = MAX (mts_sync_pending (mgr->store, NULL), 0);
  mgr->conflicts = MAX (count_open_conflicts (mgr->store), 0);
}

static void
mts_sync_manager_dispose (GObject *object)
{
  MtsSyncManager *mgr = MTS_SYNC_MANAGER (object);

  clear_timer (mgr);
  if (mgr->run != NULL)
    {
      /* The worker finishes on its own; its report finds no manager. */
      g_cancellable_cancel (mgr->run->cancel);
      g_clear_pointer (&mgr->run, sync_run_unref);
    }
  /* Waiters hold the manager, so there are none unless someone ran
   * g_object_run_dispose(): they must hear something all the same. */
  if (mgr->waiters != NULL)
    {
      for (guint i = 0; i < mgr->waiters->len; i++)
        g_task_return_new_error (((Waiter *) mgr->waiters->pdata[i])->task, G_IO_ERROR,
                                 G_IO_ERROR_CANCELLED, "the sync manager was disposed of");
      g_clear_pointer (&mgr->waiters, g_ptr_array_unref);
    }
  g_clear_object (&mgr->store);
  G_OBJECT_CLASS (mts_sync_manager_parent_class)->dispose (object);
}

static void
mts_sync_manager_finalize (GObject *object)
{
  MtsSyncManager *mgr = MTS_SYNC_MANAGER (object);

  g_free (mgr->error_message);
  g_clear_pointer (&mgr->last_synced, g_date_time_unref);
  g_main_context_unref (mgr->context);
  G_OBJECT_CLASS (mts_sync_manager_parent_class)->finalize (object);
}

static void
mts_sync_manager_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MtsSyncManager *mgr = MTS_SYNC_MANAGER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, mgr->store);
      break;
    case PROP_STATE:
      g_value_set_enum (value, mgr->state);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, mgr->error_message);
      break;
    case PROP_ERROR_CODE:
      g_value_set_int (value, mgr->error_code);
      break;
    case PROP_LAST_SYNCED:
      g_value_set_boxed (value, mgr->last_synced);
      break;
    case PROP_PENDING:
      g_value_set_int64 (value, mgr->pending);
      break;
    case PROP_CONFLICTS:
      g_value_set_int64 (value, mgr->conflicts);
      break;
    case PROP_PROGRESS_DONE:
      g_value_set_int64 (value, mgr->progress_done);
      break;
    case PROP_PROGRESS_TOTAL:
      g_value_set_int64 (value, mgr->progress_total);
      break;
    case PROP_AUTO_INTERVAL:
      g_value_set_uint (value, mgr->auto_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mts_sync_manager_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  MtsSyncManager *mgr = MTS_SYNC_MANAGER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      mgr->store = g_value_dup_object (value);
      break;
    case PROP_AUTO_INTERVAL:
      mts_sync_manager_set_auto_interval (mgr, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mts_sync_manager_class_init (MtsSyncManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = mts_sync_manager_constructed;
  object_class->dispose = mts_sync_manager_dispose;
  object_class->finalize = mts_sync_manager_finalize;
  object_class->get_property = mts_sync_manager_get_property;
  object_class->set_property = mts_sync_manager_set_property;

  props[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, MTS_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, MTS_TYPE_SYNC_STATE, MTS_SYNC_STATE_IDLE, ro);
  props[PROP_ERROR_MESSAGE] = g_param_spec_string ("error-message", NULL, NULL, NULL, ro);
  props[PROP_ERROR_CODE] = g_param_spec_int ("error-code", NULL, NULL, -1, G_MAXINT, -1, ro);
  props[PROP_LAST_SYNCED] = g_param_spec_boxed ("last-synced", NULL, NULL, G_TYPE_DATE_TIME, ro);
  props[PROP_PENDING] = g_param_spec_int64 ("pending", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_CONFLICTS] = g_param_spec_int64 ("conflicts", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_PROGRESS_DONE] =
    g_param_spec_int64 ("progress-done", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_PROGRESS_TOTAL] =
    g_param_spec_int64 ("progress-total", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_AUTO_INTERVAL] =
    g_param_spec_uint ("auto-interval", NULL, NULL, 0, MAX_AUTO_INTERVAL, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, MTS_TYPE_SYNC_PHASE, G_TYPE_INT64, G_TYPE_INT64);
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_VARIANT);
}

static void
mts_sync_manager_init (MtsSyncManager *mgr)
{
  mgr->context = g_main_context_ref_thread_default ();
  mgr->error_code = -1;
  mgr->waiters = g_ptr_array_new_with_free_func (waiter_free);
}

/* ---- public API ---- */

MtsSyncManager *
mts_sync_manager_new (MtsStore *store)
{
  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  return g_object_new (MTS_TYPE_SYNC_MANAGER, "store", store, NULL);
}

MtsStore *
mts_sync_manager_get_store (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), NULL);
  return mgr->store;
}

MtsSyncState
mts_sync_manager_get_state (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), MTS_SYNC_STATE_IDLE);
  return mgr->state;
}

const char *
mts_sync_manager_get_error_message (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), NULL);
  return mgr->error_message;
}

int
mts_sync_manager_get_error_code (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), -1);
  return mgr->error_code;
}

GDateTime *
mts_sync_manager_get_last_synced (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), NULL);
  return mgr->last_synced;
}

gint64
mts_sync_manager_get_pending (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), 0);
  return mgr->pending;
}

gint64
mts_sync_manager_get_conflicts (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), 0);
  return mgr->conflicts;
}

gint64
mts_sync_manager_get_progress_done (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), 0);
  return mgr->progress_done;
}

gint64
mts_sync_manager_get_progress_total (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), 0);
  return mgr->progress_total;
}

static void
waiter_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  /* Any thread: cancelling a GCancellable is thread-safe. */
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

void
mts_sync_manager_sync_async (MtsSyncManager *mgr, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  Waiter *w;

  g_return_if_fail (MTS_IS_SYNC_MANAGER (mgr));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (mgr, cancellable, callback, user_data);
  g_task_set_source_tag (task, mts_sync_manager_sync_async);
  /* The result is the sync's, which says itself when it was cancelled. */
  g_task_set_check_cancellable (task, FALSE);

  mgr->held = FALSE;
  if (mgr->run == NULL && !start_run (mgr, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  w = g_new0 (Waiter, 1);
  w->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      w->cancellable = g_object_ref (cancellable);
      w->handler = g_cancellable_connect (cancellable, G_CALLBACK (waiter_cancelled_cb),
                                          g_object_ref (mgr->run->cancel), g_object_unref);
    }
  g_ptr_array_add (mgr->waiters, w);
}

gboolean
mts_sync_manager_sync_finish (MtsSyncManager *mgr, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, mgr), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mts_sync_manager_sync_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mts_sync_manager_cancel (MtsSyncManager *mgr)
{
  g_return_if_fail (MTS_IS_SYNC_MANAGER (mgr));

  if (mgr->run != NULL)
    g_cancellable_cancel (mgr->run->cancel);
}

void
mts_sync_manager_set_auto_interval (MtsSyncManager *mgr, guint seconds)
{
  g_return_if_fail (MTS_IS_SYNC_MANAGER (mgr));

  seconds = MIN (seconds, MAX_AUTO_INTERVAL);
  if (mgr->auto_interval == seconds)
    return;
  mgr->auto_interval = seconds;
  g_object_notify_by_pspec (G_OBJECT (mgr), props[PROP_AUTO_INTERVAL]);
  schedule_next (mgr);
}

guint
mts_sync_manager_get_auto_interval (MtsSyncManager *mgr)
{
  g_return_val_if_fail (MTS_IS_SYNC_MANAGER (mgr), 0);
  return mgr->auto_interval;
}

void
mts_sync_manager_refresh_counts (MtsSyncManager *mgr)
{
  gint64 pending, conflicts;

  g_return_if_fail (MTS_IS_SYNC_MANAGER (mgr));

  pending = mts_sync_pending (mgr->store, NULL);
  conflicts = count_open_conflicts (mgr->store);
  g_object_freeze_notify (G_OBJECT (mgr));
  if (pending >= 0)
    set_int64 (mgr, &mgr->pending, pending, PROP_PENDING);
  if (conflicts >= 0)
    set_int64 (mgr, &mgr->conflicts, conflicts, PROP_CONFLICTS);
  g_object_thaw_notify (G_OBJECT (mgr));
}
