/* mts-vault.h — the server's key vault: a directory of keystores in the
 * extension's format (extension/mts-keystore.h), outside the database.
 *
 *   <dir>/server.mtskey        the server's own keys: key 1's audit subkey
 *                              MACs the server audit log (pinned to key 1,
 *                              as entries name no key id, so rotating the
 *                              server keystore never breaks the chain), and
 *                              key 1's field subkey is the secret each
 *                              practice keystore's passphrase is derived
 *                              from (its only use: the server keystore
 *                              seals nothing)
 *   <dir>/<practice id>.mtskey one per practice: seals that practice's
 *                              sensitive record fields and TOTP secrets
 *   <dir>/<name>.mtskey.log    each keystore's hash-chained key-access log
 *
 * The vault passphrase unlocks server.mtskey.  A practice keystore's
 * passphrase is a BLAKE2b MAC of "practice-keystore:<practice id>" under
 * server key 1's field subkey: high-entropy, never written down, and
 * different for each practice, so one practice keystore copied elsewhere
 * opens only with the server keystore and the vault passphrase.  Practice
 * keystores are unlocked on first use and kept unlocked until
 * mts_vault_free; each unlock, create and lock is in its key-access log.
 *
 * Sealing: one envelope (extension/mts-envelope.h) under the practice's
 * primary field subkey, bound to a context the caller names (for a record
 * revision "record:<practice id>:<table>:<id>:<version>"), so a sealed value
 * moved to another practice, record or revision fails to open.
 */
#pragma once

#include <glib.h>

#include "mts-keystore.h"

G_BEGIN_DECLS

typedef struct _MtsVault MtsVault;

/* Opens the vault in @dir, creating the directory (mode 0700) and the
 * server keystore (at @level) if they do not exist yet.  A wrong
 * passphrase raises MTS_CORE_ERROR_WRONG_PASSPHRASE as mts_keystore_unlock
 * does.  Returns (transfer full) (nullable). */
MtsVault *mts_vault_open (const char *dir, const char *passphrase, gsize passphrase_len,
                          MtsKdfLevel level, GError **error);

/* Locks every keystore (logged) and frees @vault.  NULL is allowed. */
void mts_vault_free (MtsVault *vault);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsVault, mts_vault_free)

/* Creates the keystore of a new practice.  Fails if it exists. */
gboolean mts_vault_create_practice (MtsVault *vault, const char *practice_id, GError **error);

/* Seals @len bytes of @data for @practice_id under @context.
 * Returns (transfer full) an envelope, or NULL with @error set. */
GBytes *mts_vault_seal (MtsVault *vault, const char *practice_id, const char *context,
                        const void *data, gsize len, GError **error);

/* Opens @sealed (made by mts_vault_seal with the same practice and context).
 * Returns (transfer full) the plaintext with a NUL after it (*@len excludes
 * it), to be released with mts_vault_plain_free, or NULL with @error set
 * (MTS_CORE_ERROR_AUTH on a tampered or moved envelope). */
char *mts_vault_unseal (MtsVault *vault, const char *practice_id, const char *context,
                        GBytes *sealed, gsize *len, GError **error);

/* Wipes and frees a plaintext from mts_vault_unseal.  NULL is allowed. */
void mts_vault_plain_free (char *plain);

/* The server audit log's MAC key: server key 1's audit subkey (32 bytes,
 * owned by @vault). */
const guint8 *mts_vault_audit_key (MtsVault *vault);

/* Appends @event with @detail (no secrets) to the key-access log of the
 * practice's keystore, or of the server keystore when @practice_id is NULL. */
gboolean mts_vault_log (MtsVault *vault, const char *practice_id, MtsKeylogEvent event,
                        const char *detail, GError **error);

/* The vault directory. */
const char *mts_vault_get_dir (MtsVault *vault);

/* --- server-wide secrets (the AI providers' API keys) -------------------- *
 *
 * A named secret is sealed into <dir>/<name>.sealed (mode 0600, written
 * atomically): one envelope under a key derived from server key 1's field
 * subkey (BLAKE2b-256 of "server-secret-key" keyed by it, a label no
 * practice passphrase can take), bound to the context
 * "server-secret:<name>", so a file renamed to another secret's name does
 * not open.  @name: 1 to 64 of a-z, 0-9 and '-'.  The callers (the
 * ai-key-set and ai-key-clear commands) record setting and clearing in the
 * server's audit log. */

/* Seals @len bytes of @data as secret @name, replacing any earlier one. */
gboolean mts_vault_secret_set (MtsVault *vault, const char *name, const void *data, gsize len,
                               GError **error);

/* Opens secret @name.  Returns (transfer full) (nullable) the plaintext, to
 * be freed with mts_vault_plain_free, or NULL: with @error set on a
 * failure, without when the secret is not set. */
char *mts_vault_secret_get (MtsVault *vault, const char *name, gsize *len, GError **error);

/* Removes secret @name; *@existed (optional) says whether it was set. */
gboolean mts_vault_secret_clear (MtsVault *vault, const char *name, gboolean *existed,
                                 GError **error);

G_END_DECLS
