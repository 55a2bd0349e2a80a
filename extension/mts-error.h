/* mts-error.h — the crypto core's error domain.
 *
 * Every failure in the core is reported through a GError in MTS_CORE_ERROR
 * with one of the codes below.  Messages name what went wrong and where
 * (a file path, an entry number, a key id) but never a key, a passphrase or
 * any plaintext.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_CORE_ERROR (mts_core_error_quark ())
GQuark mts_core_error_quark (void);

/**
 * MtsCoreError:
 * @MTS_CORE_ERROR_IO: a file could not be read or written.
 * @MTS_CORE_ERROR_EXISTS: refusing to overwrite an existing keystore.
 * @MTS_CORE_ERROR_WRONG_PASSPHRASE: the keystore is intact but the passphrase does not open it.
 * @MTS_CORE_ERROR_DAMAGED: the keystore file is truncated, altered or not a keystore.
 * @MTS_CORE_ERROR_NEWER_VERSION: the keystore was written by a newer build.
 * @MTS_CORE_ERROR_NO_PASSPHRASE: no passphrase source (terminal or environment) is available.
 * @MTS_CORE_ERROR_WEAK_PASSPHRASE: a new passphrase is too short.
 * @MTS_CORE_ERROR_LOCKED: a key was needed but the keystore is locked.
 * @MTS_CORE_ERROR_BAD_ENVELOPE: an envelope is malformed (too short, unknown version or algorithm).
 * @MTS_CORE_ERROR_UNKNOWN_KEY: an envelope names a key id the keyset does not hold.
 * @MTS_CORE_ERROR_AUTH: an envelope failed authentication (tampered, or another context).
 * @MTS_CORE_ERROR_LOG_TAMPERED: the key-access log fails verification.
 * @MTS_CORE_ERROR_INVALID: an argument is out of range.
 */
typedef enum {
  MTS_CORE_ERROR_IO,
  MTS_CORE_ERROR_EXISTS,
  MTS_CORE_ERROR_WRONG_PASSPHRASE,
  MTS_CORE_ERROR_DAMAGED,
  MTS_CORE_ERROR_NEWER_VERSION,
  MTS_CORE_ERROR_NO_PASSPHRASE,
  MTS_CORE_ERROR_WEAK_PASSPHRASE,
  MTS_CORE_ERROR_LOCKED,
  MTS_CORE_ERROR_BAD_ENVELOPE,
  MTS_CORE_ERROR_UNKNOWN_KEY,
  MTS_CORE_ERROR_AUTH,
  MTS_CORE_ERROR_LOG_TAMPERED,
  MTS_CORE_ERROR_INVALID,
} MtsCoreError;

/* Initialises libsodium once; safe to call from any thread, any number of times.
 * Returns FALSE (with @error set) only if libsodium cannot start. */
gboolean mts_core_init (GError **error);

G_END_DECLS
