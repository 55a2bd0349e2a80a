/* mts-tokens.h — bearer tokens: the short-lived access token and the
 * rotating refresh token a login hands to a device.
 *
 * A token is MTS_TOKEN_BYTES random bytes, written as a kind prefix
 * ("mtsa_" access, "mtsr_" refresh, so a leaked token is recognisable in a
 * log or a paste) and the bytes in URL-safe base64 without padding: 48
 * characters in all, [A-Za-z0-9_-] after the prefix.
 *
 * The text goes to the client once; the server stores only its hash,
 * BLAKE2b-256 of the raw bytes personalised by kind, so the same bytes
 * hash differently as an access and as a refresh token and one kind can
 * never be looked up as the other.  The hash is looked up, then compared
 * with mts_token_hash_equal (constant time).
 *
 * The text is as secret as the token: wipe it with
 * sodium_memzero (text, strlen (text)) before g_free.  No message ever
 * contains a token or any part of it.
 *
 * Errors are MTS_TOKEN_ERROR (below).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_TOKEN_BYTES       32   /* random bytes in a token */
#define MTS_TOKEN_HASH_BYTES  32   /* BLAKE2b-256 */
#define MTS_TOKEN_PREFIX_LEN  5    /* "mtsa_", "mtsr_" */
#define MTS_TOKEN_TEXT_LEN    (MTS_TOKEN_PREFIX_LEN + 43)   /* without NUL */

/**
 * MtsTokenKind:
 * @MTS_TOKEN_ACCESS: an access token, "mtsa_…"
 * @MTS_TOKEN_REFRESH: a refresh token, "mtsr_…"
 */
typedef enum {
  MTS_TOKEN_ACCESS,
  MTS_TOKEN_REFRESH,
} MtsTokenKind;

#define MTS_TOKEN_ERROR (mts_token_error_quark ())
GQuark mts_token_error_quark (void);

/**
 * MtsTokenError:
 * @MTS_TOKEN_ERROR_PREFIX: the text is missing or starts with neither
 *   "mtsa_" nor "mtsr_".
 * @MTS_TOKEN_ERROR_LENGTH: the text is not MTS_TOKEN_TEXT_LEN characters.
 * @MTS_TOKEN_ERROR_ENCODING: the text after the prefix is not canonical
 *   unpadded URL-safe base64 of MTS_TOKEN_BYTES bytes.
 */
typedef enum {
  MTS_TOKEN_ERROR_PREFIX,
  MTS_TOKEN_ERROR_LENGTH,
  MTS_TOKEN_ERROR_ENCODING,
} MtsTokenError;

/**
 * mts_token_new:
 * @kind: the kind of token
 * @text: (out) (transfer full): the token for the client, NUL-terminated;
 *   wipe before g_free
 * @hash: (out): the hash to store
 *
 * Makes a new token from libsodium's randombytes.
 */
void mts_token_new (MtsTokenKind kind, char **text,
                    guint8 hash[MTS_TOKEN_HASH_BYTES]);

/**
 * mts_token_parse:
 * @text: (nullable): a token as a client sent it
 * @kind: (out) (optional): its kind, from the prefix
 * @hash: (out): its hash, to look up; zeroed on failure
 *
 * Checks @text's form and hashes it.  Success says only that @text is well
 * formed: whether the hash is stored is the caller's question.
 *
 * Returns: TRUE if well formed; FALSE with MTS_TOKEN_ERROR_PREFIX,
 *   _LENGTH or _ENCODING.
 */
gboolean mts_token_parse (const char *text, MtsTokenKind *kind,
                          guint8 hash[MTS_TOKEN_HASH_BYTES], GError **error);

/* Whether two token hashes are equal, compared in constant time. */
gboolean mts_token_hash_equal (const guint8 a[MTS_TOKEN_HASH_BYTES],
                               const guint8 b[MTS_TOKEN_HASH_BYTES]);

G_END_DECLS
