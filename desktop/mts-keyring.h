/* mts-keyring.h — remembering the unlock passphrase in the system keyring
 * (libsecret, the Secret Service), when the therapist chose to. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Stores @passphrase for the store @store_id.  Blocking; FALSE with @error
 * when no keyring answers. */
gboolean mts_keyring_store (const char *store_id, const char *passphrase, GCancellable *cancellable,
                            GError **error);
/* The remembered passphrase (transfer full, wipe it with mts_keyring_free),
 * or NULL (with @error only when the keyring failed). */
char *mts_keyring_lookup (const char *store_id, GCancellable *cancellable, GError **error);
gboolean mts_keyring_clear (const char *store_id, GCancellable *cancellable, GError **error);
void mts_keyring_free (char *passphrase);

G_END_DECLS
