/* mts-account.c — the login, messages and unlocking the setup, unlock,
 * sign-in and preferences share (see mts-account.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-account.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-error.h"
#include "mts-passphrase.h"
#include "mts-sync-client.h"

const char *
mts_account_kdf_level (void)
{
  const char *level = g_getenv ("MTS_KDF_LEVEL");

  return level != NULL && *level != '\0' ? level : "moderate";
}

static char *
read_state (sqlite3 *db, const char *key)
{
  sqlite3_stmt *st = NULL;
  char *value = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT value FROM sync_state WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) == SQLITE_TEXT)
    value = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  if (value != NULL && *value == '\0')
    g_clear_pointer (&value, g_free);
  return value;
}

void
mts_account_read (MtsStore *store, char **server_url, char **practice, char **username)
{
  sqlite3 *db = store != NULL ? mts_store_get_db (store) : NULL;

  if (server_url != NULL)
    *server_url = db != NULL ? read_state (db, "server_url") : NULL;
  if (practice != NULL)
    *practice = db != NULL ? read_state (db, "practice") : NULL;
  if (username != NULL)
    *username = db != NULL ? read_state (db, "username") : NULL;
}

char *
mts_account_describe (MtsStore *store)
{
  g_autofree char *practice = NULL;
  g_autofree char *username = NULL;

  mts_account_read (store, NULL, &practice, &username);
  if (practice == NULL)
    return NULL;
  if (username == NULL)
    return g_steal_pointer (&practice);
  return g_strdup_printf ("%s — %s", practice, username);
}

gboolean
mts_account_is_wrong_passphrase (const GError *error)
{
  return g_error_matches (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
}

/* The library's own message, with a capital and a full stop, as a second
 * sentence of detail. */
static char *
detail (const GError *error)
{
  g_autofree char *text = g_strdup (error->message);

  if (*text != '\0')
    {
      g_autofree char *first = g_utf8_substring (text, 0, 1);
      g_autofree char *upper = g_utf8_strup (first, -1);
      g_autofree char *rest = g_strdup (g_utf8_next_char (text));
      gsize len = strlen (rest);
      return g_strconcat (upper, rest, len > 0 && rest[len - 1] == '.' ? "" : ".", NULL);
    }
  return g_steal_pointer (&text);
}

char *
mts_account_error_text (const GError *error, const char *server_url)
{
  g_autofree char *more = NULL;
  const char *server = server_url != NULL && *server_url != '\0' ? server_url : "the server";

  g_return_val_if_fail (error != NULL, NULL);
  more = detail (error);

  if (error->domain == MTS_SYNC_ERROR)
    switch ((MtsSyncError) error->code)
      {
      case MTS_SYNC_ERROR_OFFLINE:
        return g_strdup_printf ("Cannot reach the server at %s. Check the address and this "
                                "computer's connection, then try again.\n%s", server, more);
      case MTS_SYNC_ERROR_NETWORK:
        return g_strdup_printf ("The connection to the server at %s broke off. Try again in a "
                                "moment.\n%s", server, more);
      case MTS_SYNC_ERROR_TLS:
        return g_strdup_printf ("The server's certificate is not trusted, so nothing was sent to "
                                "it. Check the address, and the CA certificate file if your "
                                "practice gave you one.\n%s", more);
      case MTS_SYNC_ERROR_AUTH:
        /* The server does not say which of the two was wrong (on purpose). */
        return g_strdup ("That code was not accepted, or the username or password is not right. "
                         "Enter the newest code from your authenticator app; if it is refused "
                         "again, check your practice, username and password.");
      case MTS_SYNC_ERROR_REVOKED:
        return g_strdup ("Your practice's administrator has removed this device from the "
                         "practice. Ask them to allow it again, then sign in.");
      case MTS_SYNC_ERROR_REFUSED:
        return g_strdup_printf ("The server refused to sign you in. %s", more);
      case MTS_SYNC_ERROR_SERVER:
        return g_strdup_printf ("The server at %s is having trouble. Try again later.\n%s",
                                server, more);
      case MTS_SYNC_ERROR_PROTOCOL:
        return g_strdup_printf ("The server at %s did not answer as a My Therapy Suite server "
                                "does. Check the address.\n%s", server, more);
      case MTS_SYNC_ERROR_CANCELLED:
        return g_strdup ("Cancelled.");
      case MTS_SYNC_ERROR_NOT_LOGGED_IN:
        return g_strdup ("This computer is not signed in to the practice's server. Sign in "
                         "again from Preferences.");
      case MTS_SYNC_ERROR_INVALID:
        return g_strdup_printf ("Check the server settings. %s", more);
      default:
        break;
      }
  if (mts_account_is_wrong_passphrase (error))
    return g_strdup ("That passphrase is not right.");
  if (error->domain == MTS_CORE_ERROR && error->code == MTS_CORE_ERROR_DAMAGED)
    return g_strdup_printf ("The store's key file is damaged: %s Restore it from a backup.",
                            more);
  return g_steal_pointer (&more);
}

char *
mts_account_secret_dup (const char *text, gsize *len)
{
  gsize n = strlen (text);
  char *copy = sodium_malloc (n + 1);

  g_assert (copy != NULL);
  memcpy (copy, text, n + 1);
  if (len != NULL)
    *len = n;
  return copy;
}

typedef struct {
  char *dir;
  char *passphrase;  /* sodium_malloc */
  gsize len;
} UnlockData;

static void
unlock_data_free (UnlockData *data)
{
  g_free (data->dir);
  mts_passphrase_free (data->passphrase);
  g_free (data);
}

static void
unlock_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  UnlockData *data = task_data;
  g_autoptr (MtsStore) store = NULL;
  GError *error = NULL;

  store = mts_store_open (data->dir, &error);
  if (store == NULL || !mts_store_unlock (store, data->passphrase, data->len, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  sodium_memzero (data->passphrase, data->len);
  g_task_return_pointer (task, g_steal_pointer (&store), g_object_unref);
}

void
mts_account_unlock_async (const char *dir, const char *passphrase, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  UnlockData *data = g_new0 (UnlockData, 1);

  data->dir = g_strdup (dir);
  data->passphrase = mts_account_secret_dup (passphrase, &data->len);
  g_task_set_source_tag (task, mts_account_unlock_async);
  g_task_set_task_data (task, data, (GDestroyNotify) unlock_data_free);
  g_task_run_in_thread (task, unlock_thread);
}

MtsStore *
mts_account_unlock_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
