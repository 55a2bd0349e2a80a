/* mts-keyring.c — remembering the unlock passphrase in the system keyring
 * (see mts-keyring.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-keyring.h"

#include <libsecret/secret.h>

#define STORE_ID_ATTRIBUTE "store-id"

static const SecretSchema *
unlock_schema (void)
{
  static const SecretSchema schema = {
    "uk.co.mytherapysuite.Desktop.Unlock", SECRET_SCHEMA_NONE,
    {
      { STORE_ID_ATTRIBUTE, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };
  return &schema;
}

static gboolean
check_store_id (const char *store_id, GError **error)
{
  if (store_id != NULL && *store_id != '\0')
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the store has no id");
  return FALSE;
}

gboolean
mts_keyring_store (const char *store_id, const char *passphrase, GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (passphrase != NULL, FALSE);
  if (!check_store_id (store_id, error))
    return FALSE;
  return secret_password_store_sync (unlock_schema (), SECRET_COLLECTION_DEFAULT,
                                     "My Therapy Suite unlock passphrase", passphrase,
                                     cancellable, error, STORE_ID_ATTRIBUTE, store_id, NULL);
}

char *
mts_keyring_lookup (const char *store_id, GCancellable *cancellable, GError **error)
{
  if (!check_store_id (store_id, error))
    return NULL;
  return secret_password_lookup_sync (unlock_schema (), cancellable, error,
                                      STORE_ID_ATTRIBUTE, store_id, NULL);
}

gboolean
mts_keyring_clear (const char *store_id, GCancellable *cancellable, GError **error)
{
  GError *local = NULL;

  if (!check_store_id (store_id, error))
    return FALSE;
  /* FALSE without an error: there was nothing to clear, which is fine. */
  if (!secret_password_clear_sync (unlock_schema (), cancellable, &local,
                                   STORE_ID_ATTRIBUTE, store_id, NULL)
      && local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

void
mts_keyring_free (char *passphrase)
{
  if (passphrase != NULL)
    secret_password_free (passphrase);
}
