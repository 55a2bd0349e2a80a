/* mts-keystore.h — the keystore: a passphrase-wrapped master key and a keyset,
 * in a file outside the database.
 *
 * File format, version 1 (integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "MTSKEYST"
 *   8       1     format version (1)
 *   9       1     KDF algorithm (2 = Argon2id v1.3, libsodium crypto_pwhash)
 *   10      2     reserved, zero
 *   12      8     Argon2id opslimit
 *   20      8     Argon2id memlimit in bytes
 *   28      16    salt
 *   44      16    keystore id (random; names the keystore in logs)
 *   60      24    nonce for the wrapped master key
 *   84      48    master key (32) wrapped by XChaCha20-Poly1305 under the
 *                 passphrase-derived key; associated data = bytes 0..59
 *   132     24    nonce for the keyset
 *   156     4     keyset ciphertext length L (tag included)
 *   160     L     keyset, XChaCha20-Poly1305 under the master key;
 *                 associated data = bytes 0..11 || bytes 44..59 || bytes 156..159
 *   160+L   32    BLAKE2b-256 of bytes 0..159+L (detects damage before any KDF)
 *
 * Keyset plaintext: primary key id (4), key count N (4), then N records of
 * key id (4), flags (4, zero), created (8, Unix seconds), key (32).
 *
 * Changing the passphrase rewraps only the master key: the keyset bytes are
 * kept as they are.  Rotation adds a random key to the keyset and makes it
 * primary; older keys stay for decryption.  Keys live in sodium_malloc()
 * memory and are wiped by mts_keystore_free().
 */
#pragma once

#include <glib.h>

#include "mts-envelope.h"
#include "mts-keylog.h"

G_BEGIN_DECLS

#define MTS_KEYSTORE_VERSION 1
#define MTS_KEYSTORE_ID_BYTES 16
#define MTS_KEYSTORE_MIN_PASSPHRASE 8
#define MTS_KEYSTORE_MAX_KEYS 4096

typedef enum {
  MTS_KDF_TEST,          /* libsodium's minimum: for tests only, never for real data */
  MTS_KDF_INTERACTIVE,   /* 2 passes, 64 MiB */
  MTS_KDF_MODERATE,      /* 3 passes, 256 MiB: the default */
  MTS_KDF_SENSITIVE,     /* 4 passes, 1 GiB */
} MtsKdfLevel;

/* Per-purpose subkeys, derived from each keyset key with crypto_kdf under
 * distinct contexts, so a key used for one purpose is never used for another. */
typedef enum {
  MTS_PURPOSE_FIELD,        /* field envelopes */
  MTS_PURPOSE_BLIND_INDEX,  /* blind indexes */
  MTS_PURPOSE_AUDIT,        /* audit-chain MACs */
} MtsKeyPurpose;

/* The parsed, unauthenticated layout of a keystore file (see above).
 * Pointers refer into the caller's buffer. */
typedef struct {
  guint8 version;
  guint8 kdf_algorithm;
  guint64 opslimit;
  guint64 memlimit;
  const guint8 *salt;
  const guint8 *keystore_id;
  const guint8 *master_nonce;
  const guint8 *master_wrapped;
  const guint8 *keyset_nonce;
  guint32 keyset_len;
  const guint8 *keyset;
  const guint8 *data;      /* the whole file */
  gsize len;
} MtsKeystoreFile;

typedef struct _MtsKeystore MtsKeystore;

/* Parses and checks a keystore file's bytes without any key: magic, version,
 * length, checksum and KDF parameters.  Raises MTS_CORE_ERROR_DAMAGED or
 * MTS_CORE_ERROR_NEWER_VERSION. */
gboolean mts_keystore_parse (const guint8 *data, gsize len, MtsKeystoreFile *out, GError **error);

/* Decodes a decrypted keyset (see above) and checks it: at least one key,
 * unique non-zero ids, the primary among them.  Calls @each for every key.
 * Exposed for the fuzz target. */
typedef void (*MtsKeysetFunc) (guint32 key_id, guint64 created, const guint8 *key, gpointer user_data);
gboolean mts_keyset_decode (const guint8 *data, gsize len, guint32 *primary_id, guint32 *n_keys,
                            MtsKeysetFunc each, gpointer user_data, GError **error);

/* Creates a keystore at @path with one key (id 1).  Refuses to replace an
 * existing file.  The passphrase must be at least MTS_KEYSTORE_MIN_PASSPHRASE
 * bytes.  Logs "create". */
gboolean mts_keystore_create (const char *path, const char *passphrase, gsize passphrase_len,
                              MtsKdfLevel level, GError **error);

/* Opens @path with @passphrase.  Logs "unlock", or "unlock-failed" on a wrong
 * passphrase.  Returns (transfer full) (nullable). */
MtsKeystore *mts_keystore_unlock (const char *path, const char *passphrase, gsize passphrase_len,
                                  GError **error);

/* Wipes every key and frees @ks.  Logs "lock" (a clone logs nothing: see
 * mts_keystore_clone()).  NULL is allowed. */
void mts_keystore_free (MtsKeystore *ks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsKeystore, mts_keystore_free)

/* Wipes every key and frees @ks without logging "lock": for replacing it by
 * a fresh unlock of the same keystore, which logged "unlock" itself. */
void mts_keystore_forget (MtsKeystore *ks);

/* A second, independent unlocked handle on the keystore @ks was unlocked
 * from, without the passphrase: for another database connection or thread
 * (a handle is not thread-safe; each clone is used by one thread at a time).
 * The master key is copied into fresh sodium_malloc() memory; the keyset is
 * then read from the file as mts_keystore_reload() does (so a rotation
 * written since @ks was loaded is seen, and a file that now holds another
 * keystore is refused with MTS_CORE_ERROR_INVALID).  The clone outlives
 * @ks if need be, and reloads and rotates on its own.
 *
 * Neither the clone nor its mts_keystore_free() writes to the key-access
 * log: no key left the file for it, and the "unlock" of @ks (or of the
 * handle @ks was cloned from) already records that this process holds the
 * keys.  Free it with mts_keystore_free() all the same: that wipes it.
 * Returns (transfer full) (nullable). */
MtsKeystore *mts_keystore_clone (MtsKeystore *ks, GError **error);

/* At most once a second, checks whether the keystore file changed (another
 * process rotated) and reloads the keyset if so, so the primary key is
 * never more than a second stale.  Returns TRUE if it reloaded. */
gboolean mts_keystore_refresh (MtsKeystore *ks);

/* The file this keystore was unlocked from. */
const char *mts_keystore_get_path (MtsKeystore *ks);

/* The keyset's key ids in increasing order (owned by @ks; valid until the
 * next rotate, reload or free); *@n receives their number. */
const guint32 *mts_keystore_key_ids (MtsKeystore *ks, guint32 *n);

/* The primary key id: the one new envelopes are sealed with. */
guint32 mts_keystore_primary_id (MtsKeystore *ks);

/* The subkey for @purpose of key @key_id (MTS_KEY_BYTES, owned by @ks, valid
 * until the next rotate, reload or free), or NULL if @key_id is not in the
 * keyset.  The lookup is O(1) for the primary key. */
const guint8 *mts_keystore_subkey (MtsKeystore *ks, guint32 key_id, MtsKeyPurpose purpose);

/* The key-access log's MAC key (MTS_KEYLOG_MAC_KEY_BYTES, owned by @ks). */
const guint8 *mts_keystore_log_key (MtsKeystore *ks);

/* Adds a new random key and makes it primary, writing the file atomically.
 * Returns the new key id, or 0 with @error set.  Logs "rotate". */
guint32 mts_keystore_rotate (MtsKeystore *ks, GError **error);

/* Re-reads the keyset from disk (another process may have rotated). */
gboolean mts_keystore_reload (MtsKeystore *ks, GError **error);

/* Changes the passphrase of the keystore at @path: rewraps only the master key.
 * Logs "passwd". */
gboolean mts_keystore_passwd (const char *path, const char *old_passphrase, gsize old_len,
                              const char *new_passphrase, gsize new_len, GError **error);

/* Appends an event (for example MTS_KEYLOG_EXPORT) to the key-access log,
 * MACed with this keystore's log key. */
gboolean mts_keystore_log_event (MtsKeystore *ks, MtsKeylogEvent event, const char *detail,
                                 GError **error);

/* Argon2id parameters for @level. */
void mts_kdf_level_params (MtsKdfLevel level, guint64 *opslimit, guint64 *memlimit);

/* Parses "test", "interactive", "moderate" or "sensitive". */
gboolean mts_kdf_level_from_string (const char *name, MtsKdfLevel *level);

G_END_DECLS
