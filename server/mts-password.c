/* mts-password.c — Argon2id password hashes (see mts-password.h). */
#define G_LOG_DOMAIN "mts-server"

#include "mts-password.h"

#include <sodium.h>
#include <string.h>

G_STATIC_ASSERT (MTS_PASSWORD_HASH_BUF == crypto_pwhash_STRBYTES);

G_DEFINE_QUARK (mts-password-error-quark, mts_password_error)

static void
password_init (void)
{
  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");
}

static void
level_limits (MtsPasswordLevel level, unsigned long long *opslimit,
              size_t *memlimit)
{
  switch (level)
    {
    case MTS_PASSWORD_LEVEL_INTERACTIVE:
      *opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      *memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      break;
    case MTS_PASSWORD_LEVEL_MIN:
      *opslimit = crypto_pwhash_OPSLIMIT_MIN;
      *memlimit = crypto_pwhash_MEMLIMIT_MIN;
      break;
    case MTS_PASSWORD_LEVEL_MODERATE:
    default:
      *opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
      *memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    }
}

/* The password's length, or 0 if it is missing, empty or too long. */
static gsize
password_length (const char *password)
{
  gsize len;

  if (password == NULL)
    return 0;
  len = strnlen (password, MTS_PASSWORD_MAX_BYTES + 1);
  return len > MTS_PASSWORD_MAX_BYTES ? 0 : len;
}

static void
set_invalid (GError **error)
{
  g_set_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID,
               "password must be 1 to %d bytes", MTS_PASSWORD_MAX_BYTES);
}

/* Whether @hash is a NUL-terminated string that fits the buffer and that
 * libsodium can decode as an Argon2id hash. */
static gboolean
hash_is_readable (const char *hash)
{
  if (hash == NULL || memchr (hash, '\0', MTS_PASSWORD_HASH_BUF) == NULL)
    return FALSE;
  if (strncmp (hash, crypto_pwhash_STRPREFIX, strlen (crypto_pwhash_STRPREFIX)) != 0)
    return FALSE;
  /* -1 is "cannot decode"; the limits given do not matter for that. */
  return crypto_pwhash_str_needs_rehash (hash, crypto_pwhash_OPSLIMIT_MIN,
                                         crypto_pwhash_MEMLIMIT_MIN) != -1;
}

char *
mts_password_hash (const char *password, MtsPasswordLevel level,
                   GError **error)
{
  char out[crypto_pwhash_STRBYTES];
  unsigned long long opslimit;
  size_t memlimit;
  gsize len;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  password_init ();
  len = password_length (password);
  if (len == 0)
    {
      set_invalid (error);
      return NULL;
    }

  level_limits (level, &opslimit, &memlimit);
  if (crypto_pwhash_str (out, password, len, opslimit, memlimit) != 0)
    {
      g_set_error_literal (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_FAILED,
                           "password cannot be hashed (out of memory)");
      return NULL;
    }
  return g_strdup (out);
}

gboolean
mts_password_verify (const char *hash, const char *password, GError **error)
{
  gsize len;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  password_init ();
  if (!hash_is_readable (hash))
    {
      g_set_error_literal (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_MALFORMED_HASH,
                           "stored password hash is not an Argon2id hash string");
      return FALSE;
    }
  len = password_length (password);
  if (len == 0)
    {
      set_invalid (error);
      return FALSE;
    }
  if (crypto_pwhash_str_verify (hash, password, len) != 0)
    {
      g_set_error_literal (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_WRONG,
                           "password is wrong");
      return FALSE;
    }
  return TRUE;
}

gboolean
mts_password_needs_rehash (const char *hash, MtsPasswordLevel policy)
{
  unsigned long long opslimit;
  size_t memlimit;

  password_init ();
  if (!hash_is_readable (hash))
    return TRUE;
  level_limits (policy, &opslimit, &memlimit);
  return crypto_pwhash_str_needs_rehash (hash, opslimit, memlimit) != 0;
}
