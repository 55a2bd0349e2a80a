/* mts-account.h — what the first run, the unlock page, the sign-in dialog
 * and the preferences share: the store's login as the sync session keeps
 * it, plain-language messages for what goes wrong, and unlocking a store
 * on a worker thread.
 *
 * Not a GObject: a few functions over MtsStore and MtsSyncSession.
 */
#pragma once

#include <gio/gio.h>

#include "mts-store.h"

G_BEGIN_DECLS

/* The Argon2id level for a new store: $MTS_KDF_LEVEL when set (the tests
 * use "test"), else "moderate". */
const char *mts_account_kdf_level (void);

/**
 * mts_account_read:
 * @store: a store, locked or unlocked
 *
 * Reads what the sync session keeps in the store's sync_state table (plain
 * text there, unlike the refresh token): the server, the practice slug and
 * the username of the last login.  Each out value is (transfer full)
 * (nullable): NULL when never set.
 */
void mts_account_read (MtsStore *store, char **server_url, char **practice, char **username);

/* "north-leeds — ada", "north-leeds", or NULL when the store never logged
 * in.  (transfer full) (nullable) */
char *mts_account_describe (MtsStore *store);

/**
 * mts_account_error_text:
 * @error: an error of the sync client or session (MTS_SYNC_ERROR), the
 *   store (MTS_STORE_ERROR) or the keystore (MTS_CORE_ERROR)
 * @server_url: (nullable): the server the user typed, for the message
 *
 * A sentence or two for the user: what happened and what to do.  Never
 * holds a password, code or token (none of these errors carries one).
 * (transfer full)
 */
char *mts_account_error_text (const GError *error, const char *server_url);

/* A copy of @text in sodium_malloc() memory, for a passphrase or password
 * on its way to a worker thread; free it with mts_passphrase_free()
 * (mts-passphrase.h), which wipes it.  (transfer full) */
char *mts_account_secret_dup (const char *text, gsize *len);

/**
 * mts_account_unlock_async:
 * @dir: the store folder
 * @passphrase: copied (and the copy wiped after use)
 *
 * Opens a fresh MtsStore on @dir and unlocks it on a worker thread (the
 * Argon2id key derivation takes about a second at "moderate"): the window
 * keeps drawing meanwhile.  The store is then the caller's, for
 * mts_application_adopt_store(), or to lock and drop after a mere check.
 */
void mts_account_unlock_async (const char *dir, const char *passphrase, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
/* (transfer full) The unlocked store, or NULL with @error (MTS_CORE_ERROR
 * for a wrong passphrase). */
MtsStore *mts_account_unlock_finish (GAsyncResult *result, GError **error);

/* Whether @error is the keystore's "wrong passphrase". */
gboolean mts_account_is_wrong_passphrase (const GError *error);

G_END_DECLS
