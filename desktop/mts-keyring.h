/* mts-keyring.h — remembering the unlock passphrase in the system keyring
 * (libsecret, the Secret Service), when the therapist chose to.
 *
 * One secret per store, in the default collection (the login keyring),
 * under the schema "uk.co.mytherapysuite.Desktop.Unlock" with a single
 * string attribute, "store-id": the store's keystore id (mts_store_get_id,
 * readable while the store is locked), so two stores on one computer keep
 * two passphrases and a store copied elsewhere finds none.  The label the
 * keyring's own tools show is "My Therapy Suite unlock passphrase".
 *
 * Only the preferences' "Remember unlock" switch stores a passphrase (after
 * checking it opens the store), and only the unlock page reads one, once,
 * when the app starts.  Turning the switch off clears it.  Nothing here
 * logs the passphrase; a looked-up one lives in libsecret's non-pageable
 * memory until mts_keyring_free() wipes it (secret_password_free).
 *
 * All calls block on D-Bus: call them from a worker thread (the unlock page
 * and the preferences do).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Stores @passphrase for the store @store_id (replacing one stored
 * before).  Blocking; FALSE with @error when no keyring answers. */
gboolean mts_keyring_store (const char *store_id, const char *passphrase, GCancellable *cancellable,
                            GError **error);
/* The remembered passphrase (transfer full, wipe it with mts_keyring_free),
 * or NULL (with @error only when the keyring failed). */
char *mts_keyring_lookup (const char *store_id, GCancellable *cancellable, GError **error);
/* Removes the remembered passphrase; TRUE also when there was none. */
gboolean mts_keyring_clear (const char *store_id, GCancellable *cancellable, GError **error);
/* Wipes and frees a passphrase from mts_keyring_lookup (NULL is fine). */
void mts_keyring_free (char *passphrase);

G_END_DECLS
