/* mts-unlock-page.h — the unlock screen of later runs, and after a lock.
 *
 * Shows which store it opens ("north-leeds — ada": the practice and user of
 * the store's last login), a passphrase entry (Enter unlocks) and the
 * Unlock button.  The Argon2id key derivation runs on a worker thread
 * (mts_account_unlock_async) on a fresh MtsStore of the store folder, which
 * is then handed to the app (mts_application_adopt_store): the window keeps
 * drawing, with a spinner, meanwhile.  A wrong passphrase is said inline,
 * with the count of attempts, and the entry is emptied and focused again;
 * attempts are not limited.
 *
 * When the remember-unlock setting is on, the first time the page shows in
 * a run of the app (the app's start, not after a lock: a lock that undid
 * itself would protect nothing) it looks the passphrase up in the keyring
 * (mts-keyring.h) and unlocks with it; if there is none, or it no longer
 * opens the store, it says so and asks.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_UNLOCK_PAGE (mts_unlock_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsUnlockPage, mts_unlock_page, MTS, UNLOCK_PAGE, AdwBin)

GtkWidget *mts_unlock_page_new (void);

/* Whether an unlock (typed or from the keyring) is running. */
gboolean mts_unlock_page_is_busy (MtsUnlockPage *self);

G_END_DECLS
