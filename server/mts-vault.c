/* mts-vault.c — the server's key vault (see mts-vault.h).
 *
 * Practice ids name files, so they are checked before any path is built
 * from them: 1 to 64 characters of [0-9a-f-] starting with a digit or
 * letter, the alphabet of a UUID.  That alphabet holds neither '/' nor
 * '.', so no id can leave the directory, and cannot spell "server", so no
 * practice keystore can collide with the server's own.
 *
 * One mutex guards the cache of unlocked practice keystores and every use
 * of them (a keystore's refresh can reload its keyset under a reader), so
 * a vault may be shared by several threads.  The audit key is copied out
 * at open into the vault's own secure memory, so the pointer handed out
 * stays valid for the vault's life.
 */
#define G_LOG_DOMAIN "mts-server"

#include "mts-vault.h"
#include "mts-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#define SERVER_KEYSTORE "server.mtskey"
#define KEYSTORE_SUFFIX ".mtskey"
#define PRACTICE_ID_MAX 64
#define PRACTICE_LABEL "practice-keystore:"
/* A practice keystore's passphrase: the hex of a 32-byte MAC. */
#define PRACTICE_PASS_BYTES 32
#define PRACTICE_PASS_HEX (2 * PRACTICE_PASS_BYTES)
/* The server key whose field subkey practice passphrases derive from. */
#define PASSPHRASE_KEY_ID 1

/* A plaintext from mts_vault_unseal sits after a header holding its length,
 * so mts_vault_plain_free can wipe all of it, embedded NULs included.  16
 * bytes keep the plaintext as aligned as g_malloc's own result. */
#define PLAIN_HEADER 16
G_STATIC_ASSERT (sizeof (gsize) <= PLAIN_HEADER);

struct _MtsVault {
  char *dir;
  MtsKeystore *server;
  guint8 *audit_key;        /* sodium_malloc, MTS_KEY_BYTES */
  GMutex lock;              /* guards practices and the keystores in it */
  GHashTable *practices;    /* practice id → MtsKeystore, unlocked on first use */
};

/* ---- practice ids and paths ---- */

static gboolean
is_lower_hex (char c)
{
  return g_ascii_isdigit (c) || (c >= 'a' && c <= 'f');
}

static gboolean
check_practice_id (const char *id, GError **error)
{
  gsize n = 0;

  if (id != NULL && is_lower_hex (id[0]))
    for (n = 1; id[n] != '\0' && n <= PRACTICE_ID_MAX; n++)
      if (!is_lower_hex (id[n]) && id[n] != '-')
        {
          n = 0;
          break;
        }
  if (n == 0 || n > PRACTICE_ID_MAX)
    {
      /* The id is not echoed: it may be anything, control characters included. */
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "not a valid practice id (expected up to %d characters of 0-9, a-f "
                   "and '-', as in a UUID)", PRACTICE_ID_MAX);
      return FALSE;
    }
  return TRUE;
}

/* Only after check_practice_id. */
static char *
practice_path (MtsVault *vault, const char *practice_id)
{
  g_autofree char *name = g_strconcat (practice_id, KEYSTORE_SUFFIX, NULL);

  return g_build_filename (vault->dir, name, NULL);
}

/* Writes the passphrase of @practice_id's keystore into @hex: the hex of
 * BLAKE2b-256 keyed by server key 1's field subkey over
 * "practice-keystore:<practice id>".  The caller wipes @hex after use. */
static gboolean
practice_passphrase (MtsVault *vault, const char *practice_id, char hex[PRACTICE_PASS_HEX + 1],
                     GError **error)
{
  const guint8 *key = mts_keystore_subkey (vault->server, PASSPHRASE_KEY_ID, MTS_PURPOSE_FIELD);
  g_autofree char *label = g_strconcat (PRACTICE_LABEL, practice_id, NULL);
  guint8 mac[PRACTICE_PASS_BYTES];

  if (key == NULL)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_UNKNOWN_KEY,
                   "the server keystore %s holds no key id %d, which practice keystores "
                   "are opened with", mts_keystore_get_path (vault->server), PASSPHRASE_KEY_ID);
      return FALSE;
    }
  crypto_generichash (mac, sizeof mac, (const guint8 *) label, strlen (label), key, MTS_KEY_BYTES);
  sodium_bin2hex (hex, PRACTICE_PASS_HEX + 1, mac, sizeof mac);
  sodium_memzero (mac, sizeof mac);
  return TRUE;
}

/* The unlocked keystore of @practice_id, unlocking it on first use.
 * Called with vault->lock held. */
static MtsKeystore *
practice_keystore (MtsVault *vault, const char *practice_id, GError **error)
{
  g_autofree char *path = NULL;
  char pass[PRACTICE_PASS_HEX + 1];
  GError *local = NULL;
  MtsKeystore *ks;

  if (!check_practice_id (practice_id, error))
    return NULL;
  ks = g_hash_table_lookup (vault->practices, practice_id);
  if (ks != NULL)
    return ks;

  path = practice_path (vault, practice_id);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "practice %s has no keystore in the vault (%s)", practice_id, path);
      return NULL;
    }
  if (!practice_passphrase (vault, practice_id, pass, error))
    return NULL;
  ks = mts_keystore_unlock (path, pass, PRACTICE_PASS_HEX, &local);
  sodium_memzero (pass, sizeof pass);
  if (ks == NULL)
    {
      if (g_error_matches (local, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE))
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE,
                       "practice %s: keystore %s does not open with this vault's server "
                       "keystore (it was made under another one)", practice_id, path);
          g_error_free (local);
        }
      else
        g_propagate_prefixed_error (error, local, "practice %s: ", practice_id);
      return NULL;
    }
  g_hash_table_insert (vault->practices, g_strdup (practice_id), ks);
  return ks;
}

/* ---- the directory ---- */

/* Creates @dir (0700) if it is missing; refuses one other users can reach. */
static gboolean
ensure_dir (const char *dir, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (dir, 0700) != 0 || stat (dir, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot create the vault directory %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "vault %s is not a directory", dir);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "vault directory %s is open to other users (mode %04o); "
                   "make it 0700 (chmod 700 %s)", dir, (unsigned) (st.st_mode & 07777), dir);
      return FALSE;
    }
  return TRUE;
}

/* Whether @dir holds a practice keystore. */
static gboolean
has_practice_keystores (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, KEYSTORE_SUFFIX) && strcmp (name, SERVER_KEYSTORE) != 0)
      return TRUE;
  return FALSE;
}

/* ---- public API ---- */

MtsVault *
mts_vault_open (const char *dir, const char *passphrase, gsize passphrase_len,
                MtsKdfLevel level, GError **error)
{
  g_autofree char *server_path = NULL;
  GError *local = NULL;
  MtsKeystore *server;
  MtsVault *vault;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL || passphrase_len == 0, NULL);

  if (!mts_core_init (error) || !ensure_dir (dir, error))
    return NULL;
  server_path = g_build_filename (dir, SERVER_KEYSTORE, NULL);
  if (!g_file_test (server_path, G_FILE_TEST_EXISTS))
    {
      /* A new server keystore would not open the practice keystores already
       * here: that is a lost file to restore, not a vault to start afresh. */
      if (has_practice_keystores (dir))
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                       "vault %s holds practice keystores but no %s; restore it from a "
                       "backup (a new one would not open them)", dir, SERVER_KEYSTORE);
          return NULL;
        }
      if (!mts_keystore_create (server_path, passphrase, passphrase_len, level, &local))
        {
          /* Another process may have created it first: then unlock theirs. */
          if (!g_error_matches (local, MTS_CORE_ERROR, MTS_CORE_ERROR_EXISTS))
            {
              g_propagate_error (error, local);
              return NULL;
            }
          g_clear_error (&local);
        }
    }
  server = mts_keystore_unlock (server_path, passphrase, passphrase_len, error);
  if (server == NULL)
    return NULL;

  vault = g_new0 (MtsVault, 1);
  vault->audit_key = sodium_malloc (MTS_KEY_BYTES);
  if (vault->audit_key == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      mts_keystore_free (server);
      g_free (vault);
      return NULL;
    }
  memcpy (vault->audit_key,
          mts_keystore_subkey (server, PASSPHRASE_KEY_ID, MTS_PURPOSE_AUDIT),
          MTS_KEY_BYTES);
  vault->dir = g_strdup (dir);
  vault->server = server;
  g_mutex_init (&vault->lock);
  vault->practices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) mts_keystore_free);
  return vault;
}

void
mts_vault_free (MtsVault *vault)
{
  if (vault == NULL)
    return;
  g_hash_table_destroy (vault->practices);   /* locks each practice keystore */
  mts_keystore_free (vault->server);
  sodium_memzero (vault->audit_key, MTS_KEY_BYTES);
  sodium_free (vault->audit_key);
  g_mutex_clear (&vault->lock);
  g_free (vault->dir);
  g_free (vault);
}

gboolean
mts_vault_create_practice (MtsVault *vault, const char *practice_id, GError **error)
{
  g_autofree char *path = NULL;
  char pass[PRACTICE_PASS_HEX + 1];
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (vault != NULL, FALSE);

  if (!check_practice_id (practice_id, error))
    return FALSE;
  path = practice_path (vault, practice_id);
  /* No vault lock: this touches neither the cache nor a cached keystore,
   * and mts_keystore_create locks the file against a concurrent create. */
  if (!practice_passphrase (vault, practice_id, pass, error))
    return FALSE;
  ok = mts_keystore_create (path, pass, PRACTICE_PASS_HEX, MTS_KDF_INTERACTIVE, &local);
  sodium_memzero (pass, sizeof pass);
  if (!ok)
    g_propagate_prefixed_error (error, local, "practice %s: ", practice_id);
  return ok;
}

GBytes *
mts_vault_seal (MtsVault *vault, const char *practice_id, const char *context,
                const void *data, gsize len, GError **error)
{
  GBytes *sealed = NULL;
  MtsKeystore *ks;

  g_return_val_if_fail (vault != NULL, NULL);
  g_return_val_if_fail (context != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > G_MAXSIZE - MTS_ENVELOPE_MIN_BYTES)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                           "value is too large to seal");
      return NULL;
    }
  g_mutex_lock (&vault->lock);
  ks = practice_keystore (vault, practice_id, error);
  if (ks != NULL)
    {
      gsize size = mts_envelope_sealed_size (len);
      guint8 *out = g_malloc (size);
      guint32 key_id;

      /* Seal under the newest key, even if another process just rotated. */
      mts_keystore_refresh (ks);
      key_id = mts_keystore_primary_id (ks);
      mts_envelope_seal (out, key_id, mts_keystore_subkey (ks, key_id, MTS_PURPOSE_FIELD),
                         MTS_VALUE_BLOB, data, len, context, strlen (context));
      sealed = g_bytes_new_take (out, size);
    }
  g_mutex_unlock (&vault->lock);
  return sealed;
}

static char *
plain_alloc (gsize len)
{
  guint8 *base = g_malloc (PLAIN_HEADER + len + 1);

  memcpy (base, &len, sizeof len);
  return (char *) base + PLAIN_HEADER;
}

void
mts_vault_plain_free (char *plain)
{
  guint8 *base;
  gsize len;

  if (plain == NULL)
    return;
  base = (guint8 *) plain - PLAIN_HEADER;
  memcpy (&len, base, sizeof len);
  sodium_memzero (base, PLAIN_HEADER + len + 1);
  g_free (base);
}

char *
mts_vault_unseal (MtsVault *vault, const char *practice_id, const char *context,
                  GBytes *sealed, gsize *len, GError **error)
{
  const guint8 *data;
  const guint8 *key = NULL;
  MtsValueType type;
  MtsEnvelope env;
  MtsKeystore *ks;
  char *plain = NULL;
  gsize data_len;

  g_return_val_if_fail (vault != NULL, NULL);
  g_return_val_if_fail (context != NULL, NULL);
  g_return_val_if_fail (sealed != NULL, NULL);

  g_mutex_lock (&vault->lock);
  ks = practice_keystore (vault, practice_id, error);
  if (ks == NULL)
    goto out;
  data = g_bytes_get_data (sealed, &data_len);
  if (!mts_envelope_parse (data, data_len, &env, error))
    goto out;
  mts_keystore_refresh (ks);
  key = mts_keystore_subkey (ks, env.key_id, MTS_PURPOSE_FIELD);
  if (key == NULL)
    {
      /* Sealed under a key rotated in less than a second ago: look again once. */
      if (mts_keystore_reload (ks, NULL))
        key = mts_keystore_subkey (ks, env.key_id, MTS_PURPOSE_FIELD);
      if (key == NULL)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_UNKNOWN_KEY,
                       "practice %s: envelope names key id %u, which the practice keystore "
                       "does not hold", practice_id, env.key_id);
          goto out;
        }
    }
  plain = plain_alloc (mts_envelope_value_size (&env));
  if (!mts_envelope_open (&env, key, context, strlen (context), &type,
                          (guint8 *) plain, error))
    {
      mts_vault_plain_free (plain);
      plain = NULL;
      goto out;
    }
  if (len != NULL)
    *len = mts_envelope_value_size (&env);
out:
  g_mutex_unlock (&vault->lock);
  return plain;
}

const guint8 *
mts_vault_audit_key (MtsVault *vault)
{
  g_return_val_if_fail (vault != NULL, NULL);

  return vault->audit_key;
}

gboolean
mts_vault_log (MtsVault *vault, const char *practice_id, MtsKeylogEvent event,
               const char *detail, GError **error)
{
  MtsKeystore *ks;
  gboolean ok = FALSE;

  g_return_val_if_fail (vault != NULL, FALSE);

  g_mutex_lock (&vault->lock);
  ks = practice_id == NULL ? vault->server : practice_keystore (vault, practice_id, error);
  if (ks != NULL)
    ok = mts_keystore_log_event (ks, event, detail, error);
  g_mutex_unlock (&vault->lock);
  return ok;
}

const char *
mts_vault_get_dir (MtsVault *vault)
{
  g_return_val_if_fail (vault != NULL, NULL);

  return vault->dir;
}

/* ---- server-wide secrets ---- */

#define SECRET_SUFFIX ".sealed"
#define SECRET_NAME_MAX 64
#define SECRET_KEY_LABEL "server-secret-key"
#define SECRET_CONTEXT "server-secret:"

static gboolean
check_secret_name (const char *name, GError **error)
{
  gsize n = 0;

  if (name != NULL)
    for (n = 0; name[n] != '\0' && n <= SECRET_NAME_MAX; n++)
      if (!g_ascii_isdigit (name[n]) && !(name[n] >= 'a' && name[n] <= 'z') && name[n] != '-')
        {
          n = 0;
          break;
        }
  if (n == 0 || n > SECRET_NAME_MAX)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "not a valid secret name (1 to %d of a-z, 0-9 and '-')", SECRET_NAME_MAX);
      return FALSE;
    }
  return TRUE;
}

static char *
secret_path (MtsVault *vault, const char *name)
{
  g_autofree char *file = g_strconcat (name, SECRET_SUFFIX, NULL);

  return g_build_filename (vault->dir, file, NULL);
}

/* The key secrets are sealed with, into @key (wiped by the caller). */
static gboolean
secret_key (MtsVault *vault, guint8 key[MTS_KEY_BYTES], GError **error)
{
  const guint8 *field = mts_keystore_subkey (vault->server, PASSPHRASE_KEY_ID, MTS_PURPOSE_FIELD);

  if (field == NULL)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_UNKNOWN_KEY,
                   "the server keystore %s holds no key id %d, which server secrets "
                   "are sealed with", mts_keystore_get_path (vault->server), PASSPHRASE_KEY_ID);
      return FALSE;
    }
  crypto_generichash (key, MTS_KEY_BYTES, (const guint8 *) SECRET_KEY_LABEL,
                      strlen (SECRET_KEY_LABEL), field, MTS_KEY_BYTES);
  return TRUE;
}

gboolean
mts_vault_secret_set (MtsVault *vault, const char *name, const void *data, gsize len,
                      GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *context = NULL;
  g_autoptr(GError) local = NULL;
  guint8 key[MTS_KEY_BYTES];
  guint8 *out;
  gsize size;
  gboolean ok;

  g_return_val_if_fail (vault != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (!check_secret_name (name, error))
    return FALSE;
  if (len > 64 * 1024)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                           "a server secret is at most 64 KiB");
      return FALSE;
    }
  if (!secret_key (vault, key, error))
    return FALSE;
  path = secret_path (vault, name);
  context = g_strconcat (SECRET_CONTEXT, name, NULL);
  size = mts_envelope_sealed_size (len);
  out = g_malloc (size);
  mts_envelope_seal (out, PASSPHRASE_KEY_ID, key, MTS_VALUE_BLOB, data, len, context,
                     strlen (context));
  sodium_memzero (key, sizeof key);
  ok = g_file_set_contents_full (path, (const char *) out, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local);
  g_free (out);
  if (!ok)
    g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "cannot write %s: %s", path,
                 local->message);
  return ok;
}

char *
mts_vault_secret_get (MtsVault *vault, const char *name, gsize *len, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *context = NULL;
  g_autofree guint8 *data = NULL;
  g_autoptr(GError) local = NULL;
  guint8 key[MTS_KEY_BYTES];
  MtsValueType type;
  MtsEnvelope env;
  gsize data_len = 0;
  char *plain;

  g_return_val_if_fail (vault != NULL, NULL);

  if (!check_secret_name (name, error))
    return NULL;
  path = secret_path (vault, name);
  if (!g_file_get_contents (path, (char **) &data, &data_len, &local))
    {
      if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "cannot read %s: %s", path,
                     local->message);
      return NULL;
    }
  if (!mts_envelope_parse (data, data_len, &env, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  if (env.key_id != PASSPHRASE_KEY_ID)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_UNKNOWN_KEY,
                   "%s: sealed under key id %u, not %d", path, env.key_id, PASSPHRASE_KEY_ID);
      return NULL;
    }
  if (!secret_key (vault, key, error))
    return NULL;
  context = g_strconcat (SECRET_CONTEXT, name, NULL);
  plain = plain_alloc (mts_envelope_value_size (&env));
  if (!mts_envelope_open (&env, key, context, strlen (context), &type, (guint8 *) plain, error))
    {
      sodium_memzero (key, sizeof key);
      mts_vault_plain_free (plain);
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  sodium_memzero (key, sizeof key);
  if (len != NULL)
    *len = mts_envelope_value_size (&env);
  return plain;
}

gboolean
mts_vault_secret_clear (MtsVault *vault, const char *name, gboolean *existed, GError **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (vault != NULL, FALSE);

  if (existed != NULL)
    *existed = FALSE;
  if (!check_secret_name (name, error))
    return FALSE;
  path = secret_path (vault, name);
  if (g_unlink (path) != 0)
    {
      int saved = errno;

      if (saved == ENOENT)
        return TRUE;
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "cannot remove %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  if (existed != NULL)
    *existed = TRUE;
  return TRUE;
}
