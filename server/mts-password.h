/* mts-password.h — login passwords, stored as Argon2id hashes made by
 * libsodium's crypto_pwhash_str.
 *
 * A stored hash is the self-describing PHC string
 * "$argon2id$v=19$m=...,t=...,p=1$SALT$HASH" (under
 * MTS_PASSWORD_HASH_BUF bytes with its NUL): it carries its own salt and
 * limits, so verifying needs nothing else, and a hash made under older,
 * weaker limits is recognised by mts_password_needs_rehash and can be
 * replaced after the next successful login.
 *
 * The server hashes at MTS_PASSWORD_LEVEL_MODERATE (libsodium's MODERATE
 * limits: 256 MiB, 3 passes).  The cheaper levels exist for tests and for
 * tools that must not spend that memory; never store a hash made with them.
 *
 * Passwords are NUL-terminated UTF-8 (or any bytes but NUL), 1 to
 * MTS_PASSWORD_MAX_BYTES bytes.  This module copies no password; no
 * message ever contains a password or a hash; callers must keep it that way
 * in what they log.
 *
 * Errors are MTS_PASSWORD_ERROR (below).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Room for a hash string and its NUL (crypto_pwhash_STRBYTES). */
#define MTS_PASSWORD_HASH_BUF 128

/* Longer passwords are refused rather than hashed: a cap on what one
 * request can make the server read. */
#define MTS_PASSWORD_MAX_BYTES 1024

/**
 * MtsPasswordLevel:
 * @MTS_PASSWORD_LEVEL_MODERATE: crypto_pwhash_OPSLIMIT/MEMLIMIT_MODERATE;
 *   what the server stores.
 * @MTS_PASSWORD_LEVEL_INTERACTIVE: the _INTERACTIVE limits (64 MiB, 2
 *   passes); tests.
 * @MTS_PASSWORD_LEVEL_MIN: the _MIN limits (8 KiB, 1 pass); tests only,
 *   worthless against an offline attack.
 */
typedef enum {
  MTS_PASSWORD_LEVEL_MODERATE,
  MTS_PASSWORD_LEVEL_INTERACTIVE,
  MTS_PASSWORD_LEVEL_MIN,
} MtsPasswordLevel;

#define MTS_PASSWORD_ERROR (mts_password_error_quark ())
GQuark mts_password_error_quark (void);

/**
 * MtsPasswordError:
 * @MTS_PASSWORD_ERROR_INVALID: the password is missing, empty or longer
 *   than MTS_PASSWORD_MAX_BYTES.
 * @MTS_PASSWORD_ERROR_MALFORMED_HASH: the stored hash is not an Argon2id
 *   hash string libsodium can read.
 * @MTS_PASSWORD_ERROR_WRONG: the password does not match the hash.
 * @MTS_PASSWORD_ERROR_FAILED: libsodium could not hash (out of memory).
 */
typedef enum {
  MTS_PASSWORD_ERROR_INVALID,
  MTS_PASSWORD_ERROR_MALFORMED_HASH,
  MTS_PASSWORD_ERROR_WRONG,
  MTS_PASSWORD_ERROR_FAILED,
} MtsPasswordError;

/**
 * mts_password_hash:
 * @password: the password, NUL-terminated
 * @level: the limits to hash with; MTS_PASSWORD_LEVEL_MODERATE for anything
 *   stored
 *
 * Hashes @password with Argon2id and a fresh random salt, so hashing the
 * same password twice gives two different strings.
 *
 * Returns: (transfer full) (nullable): the hash string, or NULL with
 *   MTS_PASSWORD_ERROR_INVALID or _FAILED.
 */
char *mts_password_hash (const char *password, MtsPasswordLevel level,
                         GError **error);

/**
 * mts_password_verify:
 * @hash: the stored hash string
 * @password: (nullable): what the user typed, NUL-terminated
 *
 * Checks @password against @hash with crypto_pwhash_str_verify, which
 * recomputes the hash with @hash's salt and limits and compares in
 * constant time.
 *
 * Returns: TRUE if it matches; FALSE with MTS_PASSWORD_ERROR_INVALID,
 *   _MALFORMED_HASH or _WRONG.
 */
gboolean mts_password_verify (const char *hash, const char *password,
                              GError **error);

/**
 * mts_password_needs_rehash:
 * @hash: the stored hash string
 * @policy: the level hashes should now have
 *
 * Whether @hash was made with limits other than @policy's (or is not a
 * hash libsodium can read): after a successful login the caller hashes
 * the password again at @policy and stores the new hash.
 *
 * Returns: TRUE if @hash should be replaced.
 */
gboolean mts_password_needs_rehash (const char *hash, MtsPasswordLevel policy);

G_END_DECLS
