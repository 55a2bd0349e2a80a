/* mts-setup-page.h — the first run: the practice's server and account, a
 * local passphrase (with strength feedback), the TOTP code, then the store
 * is made, signed in, and synced for the first time with a progress bar.
 *
 * Steps (a GtkStack: "account", "passphrase", "code", "sync"):
 *   account     server address and optional CA file (prefilled from the
 *               server-url and ca-file settings), practice, username,
 *               password; Continue checks that the server answers over
 *               TLS (GET /v1/health) before anything is made, so a wrong
 *               address or an untrusted certificate is said at once
 *   passphrase  chosen twice; libpwquality scores it (a level bar and
 *               words); a weak one or two that differ are refused
 *   code        the authenticator's code, asked last so it is fresh; Sign
 *               In makes the store and logs in, on a worker thread
 *   sync        the first sync (a MtsSyncManager of its own, progress
 *               from its "progress" signal); then "Start" hands the store
 *               to the app (mts_application_adopt_store), which shows the
 *               practice
 *
 * The store is made in a folder beside the store folder (STOREDIR.setup)
 * and moved into the store folder only once the login succeeded, so a
 * first run that fails, or is left half-way, never leaves a store that
 * cannot sync behind it (the app would show the unlock page for it); a
 * half-made one is removed when the page is shown again.  A failed login
 * keeps the store it made: retrying does not make another.
 *
 * The actor: after the first sync, the clinician record whose id is the
 * server's user id, if one came down; else a new local clinician named
 * after the username.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_SETUP_PAGE (mts_setup_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsSetupPage, mts_setup_page, MTS, SETUP_PAGE, AdwBin)

GtkWidget *mts_setup_page_new (void);

/* Which step shows: "account", "passphrase", "code" or "sync". */
const char *mts_setup_page_get_step (MtsSetupPage *self);

/* (For tests.) The id of the store this page made and has not handed to
 * the app yet, or NULL: the same id before and after a retried login shows
 * that a retry did not make another store. */
const char *mts_setup_page_get_store_id (MtsSetupPage *self);

/* Whether a worker (server check, sign-in, first sync) is running. */
gboolean mts_setup_page_is_busy (MtsSetupPage *self);

G_END_DECLS
