/* mts-application.h — the desktop app: one practice store, its sync, its
 * settings, and locking.
 *
 * The application owns the store (one per app: a folder, `--store DIR`,
 * else $MTS_STORE_DIR, else $XDG_DATA_HOME/mts/store) and, while it is
 * unlocked, the sync manager.  Every page reads and writes through
 * mts_application_get_store() on the main thread.
 *
 * Signals (all on the main thread):
 *   unlocked     the store was unlocked (or created by the first run)
 *   locking      the store is about to lock: save what is typed now
 *   locked       the store is locked: drop what is shown of it
 *   changed      records changed (a local write another page should see,
 *                or a sync that pulled something): reload what is shown
 *
 * Auto-lock: after `auto-lock-seconds` (GSettings) without a key press,
 * click or pointer movement in any window, the app locks ("locking" first,
 * so the note editor saves; nothing typed is lost).
 */
#pragma once

#include <adwaita.h>

#include "mts-store.h"
#include "mts-sync-manager.h"

G_BEGIN_DECLS

#define MTS_APP_ID "uk.co.mytherapysuite.Desktop"

#define MTS_TYPE_APPLICATION (mts_application_get_type ())
G_DECLARE_FINAL_TYPE (MtsApplication, mts_application, MTS, APPLICATION, AdwApplication)

#define MTS_APPLICATION_DEFAULT (MTS_APPLICATION (g_application_get_default ()))

MtsApplication *mts_application_new (GApplicationFlags flags);

/* The store folder; set it before the app starts (tests), else the
 * command line, the environment or the default decide. */
void mts_application_set_store_dir (MtsApplication *app, const char *dir);
const char *mts_application_get_store_dir (MtsApplication *app);

/* Whether a store exists in the store folder (else the first run shows). */
gboolean mts_application_has_store (MtsApplication *app);

/* The store: NULL before the first run made it; locked or unlocked.
 * (transfer none) */
MtsStore *mts_application_get_store (MtsApplication *app);
gboolean mts_application_is_unlocked (MtsApplication *app);

/* The sync manager: NULL while locked.  (transfer none) */
MtsSyncManager *mts_application_get_sync_manager (MtsApplication *app);

/* The app's settings (schema uk.co.mytherapysuite.Desktop). (transfer none) */
GSettings *mts_application_get_settings (MtsApplication *app);

/* The actor (the clinician id) the audit log and signatures name; kept in
 * the store folder's `actor` file, as the mts command does. */
const char *mts_application_get_actor (MtsApplication *app);
gboolean mts_application_set_actor (MtsApplication *app, const char *clinician_id,
                                    GError **error);

/* The first run hands over the store it created (unlocked): the app takes
 * a reference, starts its sync manager and emits "unlocked". */
void mts_application_adopt_store (MtsApplication *app, MtsStore *store);

/* Unlocks the store; on success starts the sync manager and emits
 * "unlocked".  A wrong passphrase is MTS_CORE_ERROR (the message says so). */
gboolean mts_application_unlock (MtsApplication *app, const char *passphrase,
                                 gsize passphrase_len, GError **error);

/* Emits "locking", cancels a running sync, locks the store, emits "locked". */
void mts_application_lock (MtsApplication *app);

/* Emits "changed" and refreshes the sync manager's counts. */
void mts_application_notify_changed (MtsApplication *app);

/* What main() returns: non-zero when the headless demo (--screenshot) failed. */
int mts_application_get_exit_status (MtsApplication *app);

/* Something the user did: restarts the auto-lock countdown. */
void mts_application_user_active (MtsApplication *app);

G_END_DECLS
