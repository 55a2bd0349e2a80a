/* mts-totp.h — time-based one-time passwords (RFC 6238) for the server's
 * second login factor, computed by liboath (oath-toolkit).
 *
 * The parameters are fixed, and are the ones every authenticator app
 * assumes: HMAC-SHA1, 6 digits, a 30-second step counted from the Unix
 * epoch, a 20-byte (160-bit) secret.  A code is accepted for its own step
 * and one step either side (clock drift), and only once: the caller stores
 * the step a code matched and passes it back as last_used_step, and any
 * code for that step or an earlier one is refused.
 *
 * No message ever contains the secret (raw or base32) or the code tried;
 * callers must keep it that way in what they log.
 *
 * Errors are MTS_TOTP_ERROR (below).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_TOTP_SECRET_BYTES 20   /* RFC 4226 recommends 160 bits */
#define MTS_TOTP_DIGITS       6
#define MTS_TOTP_PERIOD       30   /* seconds per step */
#define MTS_TOTP_DRIFT_STEPS  1    /* steps accepted either side of now */

/* The step of a Unix time: floor (now_unix / MTS_TOTP_PERIOD). */
#define MTS_TOTP_STEP(now_unix) ((gint64) (now_unix) / MTS_TOTP_PERIOD)

#define MTS_TOTP_ERROR (mts_totp_error_quark ())
GQuark mts_totp_error_quark (void);

/**
 * MtsTotpError:
 * @MTS_TOTP_ERROR_INVALID: the code is not exactly 6 ASCII digits (or is
 *   missing).
 * @MTS_TOTP_ERROR_REUSED: the code is right for a step that is not after
 *   the last used step: it, or a later code, was already used.
 * @MTS_TOTP_ERROR_WRONG: the code matches no step within the drift
 *   window; also (failing closed) when liboath itself reports an error.
 */
typedef enum {
  MTS_TOTP_ERROR_INVALID,
  MTS_TOTP_ERROR_REUSED,
  MTS_TOTP_ERROR_WRONG,
} MtsTotpError;

/* Fills @out with a new random secret (libsodium's randombytes). */
void mts_totp_secret_new (guint8 out[MTS_TOTP_SECRET_BYTES]);

/**
 * mts_totp_secret_base32:
 * @secret: the secret, @len bytes (@len > 0)
 *
 * The secret in RFC 4648 base32 without padding, as authenticator apps
 * expect it.  The text is as secret as the key: wipe it with
 * sodium_memzero (buf, strlen (buf)) before g_free.
 *
 * Returns: (transfer full): the base32 text
 */
char *mts_totp_secret_base32 (const guint8 *secret, gsize len);

/**
 * mts_totp_uri:
 * @issuer: the service name shown in the app, non-empty
 * @account: the user's account name, non-empty
 * @secret: the secret, @len bytes
 *
 * The enrolment URI ("Key Uri Format"):
 *   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * with ISSUER and ACCOUNT percent-encoded (everything but RFC 3986
 * unreserved characters, so a space is %20 and a colon %3A).  It contains
 * the secret: treat it like the secret.
 *
 * Returns: (transfer full): the URI
 */
char *mts_totp_uri (const char *issuer, const char *account,
                    const guint8 *secret, gsize len);

/* Room for a code and its NUL. */
#define MTS_TOTP_CODE_BUF (MTS_TOTP_DIGITS + 1)

/**
 * mts_totp_code:
 * @secret: the secret, @len bytes
 * @now_unix: the time, seconds since the epoch, >= 0
 * @out: receives the 6-digit code of @now_unix's step, NUL-terminated
 *
 * The code an authenticator shows at @now_unix (for tests and clients).
 *
 * Returns: FALSE, with MTS_TOTP_ERROR_WRONG, if liboath fails.
 */
gboolean mts_totp_code (const guint8 *secret, gsize len, gint64 now_unix,
                        char out[MTS_TOTP_CODE_BUF], GError **error);

/**
 * mts_totp_check:
 * @secret: the secret, @len bytes
 * @code: (nullable): what the user typed
 * @now_unix: the server's time, seconds since the epoch, >= 0
 * @last_used_step: the step of the last code accepted for this secret, or
 *   -1 if none
 * @matched_step: (out) (optional): on success, the step @code matched;
 *   store it as the next @last_used_step
 *
 * Checks @code against the steps MTS_TOTP_STEP (@now_unix) - 1, + 0, + 1,
 * comparing in constant time.
 *
 * Returns: TRUE if @code is accepted; FALSE with MTS_TOTP_ERROR_INVALID,
 *   _REUSED or _WRONG.
 */
gboolean mts_totp_check (const guint8 *secret, gsize len, const char *code,
                         gint64 now_unix, gint64 last_used_step,
                         gint64 *matched_step, GError **error);

G_END_DECLS
