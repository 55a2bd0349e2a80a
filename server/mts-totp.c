/* mts-totp.c — TOTP (RFC 6238) through liboath (see mts-totp.h). */
#define G_LOG_DOMAIN "mts-server"

#include "mts-totp.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <string.h>

G_DEFINE_QUARK (mts-totp-error-quark, mts_totp_error)

/* liboath wants oath_init once before anything else; it is never undone
 * (oath_done), the server uses TOTP for as long as it runs. */
static int
totp_init (void)
{
  static gsize done;
  static int rc;

  if (g_once_init_enter (&done))
    {
      rc = oath_init ();
      g_once_init_leave (&done, 1);
    }
  return rc;
}

void
mts_totp_secret_new (guint8 out[MTS_TOTP_SECRET_BYTES])
{
  g_return_if_fail (out != NULL);

  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");
  randombytes_buf (out, MTS_TOTP_SECRET_BYTES);
}

char *
mts_totp_secret_base32 (const guint8 *secret, gsize len)
{
  char *encoded = NULL;
  size_t encoded_len = 0;
  char *result;
  int rc;

  g_return_val_if_fail (secret != NULL && len > 0, NULL);

  rc = totp_init ();
  if (rc == OATH_OK)
    rc = oath_base32_encode ((const char *) secret, len, &encoded, &encoded_len);
  if (rc != OATH_OK)
    g_error ("liboath cannot encode base32: %s", oath_strerror (rc));

  /* Authenticator apps take the secret without padding. */
  while (encoded_len > 0 && encoded[encoded_len - 1] == '=')
    encoded_len--;
  result = g_strndup (encoded, encoded_len);
  sodium_memzero (encoded, strlen (encoded));
  free (encoded);
  return result;
}

char *
mts_totp_uri (const char *issuer, const char *account,
              const guint8 *secret, gsize len)
{
  g_autofree char *issuer_esc = NULL;
  g_autofree char *account_esc = NULL;
  char *base32;
  char *uri;

  g_return_val_if_fail (issuer != NULL && *issuer != '\0', NULL);
  g_return_val_if_fail (account != NULL && *account != '\0', NULL);
  g_return_val_if_fail (secret != NULL && len > 0, NULL);

  /* No reserved characters allowed through: ':' in the issuer or account
   * must not be read as the label's separator, '&' or '=' as parameters. */
  issuer_esc = g_uri_escape_string (issuer, NULL, FALSE);
  account_esc = g_uri_escape_string (account, NULL, FALSE);
  base32 = mts_totp_secret_base32 (secret, len);
  /* The URI carries the secret by its nature: it is for the enrolment QR
   * code shown to the user once, and is never logged. */
  uri = g_strconcat ("otpauth://totp/", issuer_esc, ":", account_esc,
                     "?secret=", base32, "&issuer=", issuer_esc,
                     "&algorithm=SHA1&digits=" G_STRINGIFY (MTS_TOTP_DIGITS)
                     "&period=" G_STRINGIFY (MTS_TOTP_PERIOD), NULL);
  sodium_memzero (base32, strlen (base32));
  g_free (base32);
  return uri;
}

/* The code of @step into @out; an oath_rc. */
static int
totp_code_at_step (const guint8 *secret, gsize len, gint64 step,
                   char out[MTS_TOTP_CODE_BUF])
{
  int rc = totp_init ();

  if (rc == OATH_OK)
    rc = oath_totp_generate2 ((const char *) secret, len,
                              (time_t) (step * MTS_TOTP_PERIOD),
                              MTS_TOTP_PERIOD, OATH_TOTP_DEFAULT_START_TIME,
                              MTS_TOTP_DIGITS, 0 /* HMAC-SHA1 */, out);
  return rc;
}

gboolean
mts_totp_code (const guint8 *secret, gsize len, gint64 now_unix,
               char out[MTS_TOTP_CODE_BUF], GError **error)
{
  int rc;

  g_return_val_if_fail (secret != NULL && len > 0, FALSE);
  g_return_val_if_fail (now_unix >= 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  rc = totp_code_at_step (secret, len, MTS_TOTP_STEP (now_unix), out);
  if (rc != OATH_OK)
    {
      sodium_memzero (out, MTS_TOTP_CODE_BUF);
      g_set_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG,
                   "TOTP code cannot be computed: liboath: %s", oath_strerror (rc));
      return FALSE;
    }
  return TRUE;
}

/* Exactly MTS_TOTP_DIGITS ASCII digits, reading no further than one past. */
static gboolean
code_is_well_formed (const char *code)
{
  if (code == NULL)
    return FALSE;
  for (int i = 0; i < MTS_TOTP_DIGITS; i++)
    if (code[i] < '0' || code[i] > '9')
      return FALSE;
  return code[MTS_TOTP_DIGITS] == '\0';
}

gboolean
mts_totp_check (const guint8 *secret, gsize len, const char *code,
                gint64 now_unix, gint64 last_used_step,
                gint64 *matched_step, GError **error)
{
  gint64 now_step;
  gint64 fresh = -1;         /* smallest matching step after last_used_step */
  gboolean stale = FALSE;    /* a matching step at or before it */
  int rc = OATH_OK;

  g_return_val_if_fail (secret != NULL && len > 0, FALSE);
  g_return_val_if_fail (now_unix >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!code_is_well_formed (code))
    {
      g_set_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_INVALID,
                   "TOTP code must be exactly %d digits", MTS_TOTP_DIGITS);
      return FALSE;
    }

  /* Every step in the window is computed and compared, in constant time,
   * whatever matched before it. */
  now_step = MTS_TOTP_STEP (now_unix);
  for (gint64 step = now_step - MTS_TOTP_DRIFT_STEPS;
       step <= now_step + MTS_TOTP_DRIFT_STEPS; step++)
    {
      char expected[MTS_TOTP_CODE_BUF];
      gboolean match;

      if (step < 0)
        continue;
      rc = totp_code_at_step (secret, len, step, expected);
      if (rc != OATH_OK)
        {
          sodium_memzero (expected, sizeof expected);
          break;
        }
      match = sodium_memcmp (expected, code, MTS_TOTP_DIGITS) == 0;
      sodium_memzero (expected, sizeof expected);
      if (match && step > last_used_step && fresh < 0)
        fresh = step;
      else if (match && step <= last_used_step)
        stale = TRUE;
    }

  if (rc != OATH_OK)
    {
      g_set_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG,
                   "TOTP code cannot be checked: liboath: %s", oath_strerror (rc));
      return FALSE;
    }
  if (fresh >= 0)
    {
      if (matched_step != NULL)
        *matched_step = fresh;
      return TRUE;
    }
  if (stale)
    {
      g_set_error_literal (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_REUSED,
                           "TOTP code was already used (each code works once)");
      return FALSE;
    }
  g_set_error_literal (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG,
                       "TOTP code is wrong or expired");
  return FALSE;
}
