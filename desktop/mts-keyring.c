/* mts-keyring.c — remembering the unlock passphrase in the system keyring. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-keyring.h"

gboolean
mts_keyring_store (const char *store_id, const char *passphrase, GCancellable *cancellable,
                   GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not built yet");
  return FALSE;
}

char *
mts_keyring_lookup (const char *store_id, GCancellable *cancellable, GError **error)
{
  return NULL;
}

gboolean
mts_keyring_clear (const char *store_id, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

void
mts_keyring_free (char *passphrase)
{
  g_free (passphrase);
}
