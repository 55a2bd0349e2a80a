/* mts-store.c — the practice store (see mts-store.h). */
#define G_LOG_DOMAIN "mts-store"

#include "mts-store.h"
#include "mts-store-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-error.h"
#include "mts-keystore.h"
#include "mts-migrations.h"
#include "mts-sqlite.h"
#include "mts-uuid.h"

G_DEFINE_QUARK (mts-store-error-quark, mts_store_error)

/* A client's name as search and listing use it, decrypted once at unlock. */
typedef struct {
  char *id;
  char *name;
  char *folded;   /* case-folded, for substring search */
  char *sort_key; /* g_utf8_collate_key, for ordering */
} NameEntry;

struct _MtsStore {
  GObject parent_instance;

  char *dir;
  char *db_path;
  char *keystore_path;
  char *files_dir;
  char *actor;
  char *id;          /* the keystore's id, hex */
  sqlite3 *db;
  gboolean unlocked;
  GHashTable *names;   /* id -> NameEntry */
};

G_DEFINE_FINAL_TYPE (MtsStore, mts_store, G_TYPE_OBJECT)

/* ---- records ---- */

MtsClinician *
mts_clinician_new (void)
{
  return g_new0 (MtsClinician, 1);
}

void
mts_clinician_free (MtsClinician *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  g_free (c->created_at);
  g_free (c->updated_at);
  g_free (c->display_name);
  g_free (c->email);
  g_free (c->role);
  g_free (c);
}

MtsClient *
mts_client_new (void)
{
  return g_new0 (MtsClient, 1);
}

void
mts_client_free (MtsClient *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  g_free (c->created_at);
  g_free (c->updated_at);
  g_free (c->display_name);
  g_free (c->date_of_birth);
  g_free (c->email);
  g_free (c->phone);
  g_free (c->address);
  g_free (c->gp_details);
  g_free (c->emergency_contact);
  g_free (c->status);
  g_free (c->last_contact_at);
  g_free (c->clinician_id);
  g_free (c);
}

MtsNote *
mts_note_new (void)
{
  return g_new0 (MtsNote, 1);
}

void
mts_note_free (MtsNote *n)
{
  if (n == NULL)
    return;
  g_free (n->id);
  g_free (n->created_at);
  g_free (n->updated_at);
  g_free (n->client_id);
  g_free (n->session_id);
  g_free (n->clinician_id);
  g_free (n->template_kind);
  g_free (n->body);
  g_free (n->status);
  g_free (n->signed_by);
  g_free (n->signed_at);
  g_free (n->amends_id);
  g_free (n);
}

static void
name_entry_free (gpointer p)
{
  NameEntry *e = p;

  g_free (e->id);
  g_free (e->name);
  g_free (e->folded);
  g_free (e->sort_key);
  g_free (e);
}

/* ---- GObject ---- */

static void
mts_store_finalize (GObject *object)
{
  MtsStore *store = MTS_STORE (object);

  mts_store_lock (store);
  if (store->db != NULL)
    sqlite3_close (store->db);
  g_clear_pointer (&store->names, g_hash_table_unref);
  g_free (store->dir);
  g_free (store->db_path);
  g_free (store->keystore_path);
  g_free (store->files_dir);
  g_free (store->actor);
  g_free (store->id);
  G_OBJECT_CLASS (mts_store_parent_class)->finalize (object);
}

static void
mts_store_class_init (MtsStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mts_store_finalize;
}

static void
mts_store_init (MtsStore *store)
{
  store->names = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, name_entry_free);
}

/* ---- database helpers ---- */

gboolean
mts_store_db_fail (MtsStore *store, GError **error, const char *what)
{
  const char *msg = sqlite3_errmsg (store->db);

  if (strstr (msg, "keystore is locked") != NULL)
    g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                         "the store is locked; unlock it first");
  else
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s: %s", what, msg);
  return FALSE;
}

static gboolean
exec (MtsStore *store, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (store->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s",
                   message ? message : sqlite3_errmsg (store->db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
mts_store_prepare (MtsStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      mts_store_db_fail (store, error, "cannot prepare a statement");
      return NULL;
    }
  return st;
}

/* Steps @st to completion; reports the database's message on failure. */
gboolean
mts_store_step_done (MtsStore *store, sqlite3_stmt *st, GError **error)
{
  int rc = sqlite3_step (st);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      const char *msg = sqlite3_errmsg (store->db);

      if (strstr (msg, "note is signed") != NULL)
        g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED,
                     "the note is signed and cannot change: amend it instead");
      else if (strstr (msg, "keystore is locked") != NULL)
        g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                             "the store is locked; unlock it first");
      else
        g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s", msg);
      return FALSE;
    }
  return TRUE;
}

void
mts_store_bind_text (sqlite3_stmt *st, int i, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (st, i, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

char *
mts_store_column_dup (sqlite3_stmt *st, int i)
{
  return g_strdup ((const char *) sqlite3_column_text (st, i));
}

/* UTC now, "YYYY-MM-DDTHH:MM:SS.sssZ". (transfer full) */
char *
mts_store_now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *base = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", base, g_date_time_get_microsecond (now) / 1000);
}

gboolean
mts_store_require_unlocked (MtsStore *store, GError **error)
{
  if (!store->unlocked)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                           "the store is locked; unlock it first");
      return FALSE;
    }
  return TRUE;
}

gboolean
mts_store_step_finalize (MtsStore *store, sqlite3_stmt *st, GError **error)
{
  gboolean ok = mts_store_step_done (store, st, error);

  sqlite3_finalize (st);
  return ok;
}

gboolean
mts_store_begin (MtsStore *store, GError **error)
{
  return exec (store, "BEGIN IMMEDIATE", error);
}

gboolean
mts_store_commit (MtsStore *store, GError **error)
{
  return exec (store, "COMMIT", error);
}

void
mts_store_rollback (MtsStore *store)
{
  if (!sqlite3_get_autocommit (store->db))
    exec (store, "ROLLBACK", NULL);
}

/* Queues a change for sync, in the caller's transaction. */
gboolean
mts_store_outbox_add (MtsStore *store, const char *table, const char *row_id, const char *op,
            const char *changed_columns, gint64 base_version, const char *at, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "INSERT INTO sync_outbox (table_name, row_id, op, "
                                     "changed_columns, base_version, created_at) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);
  gboolean ok;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, table);
  mts_store_bind_text (st, 2, row_id);
  mts_store_bind_text (st, 3, op);
  mts_store_bind_text (st, 4, changed_columns);
  sqlite3_bind_int64 (st, 5, base_version);
  mts_store_bind_text (st, 6, at);
  ok = mts_store_step_done (store, st, error);
  sqlite3_finalize (st);
  return ok;
}

/* ---- lifecycle ---- */

static MtsStore *
store_new (const char *dir)
{
  MtsStore *store = g_object_new (MTS_TYPE_STORE, NULL);

  store->dir = g_canonicalize_filename (dir, NULL);
  store->db_path = g_build_filename (store->dir, "practice.db", NULL);
  store->keystore_path = g_build_filename (store->dir, "practice.mtskey", NULL);
  store->files_dir = g_build_filename (store->dir, "files", NULL);
  store->actor = g_strdup_printf ("os:%s", g_get_user_name ());
  return store;
}

/* Reads the store's identity from its keystore's header (no key needed). */
static gboolean
read_store_id (MtsStore *store, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  MtsKeystoreFile f;
  char hex[MTS_KEYSTORE_ID_BYTES * 2 + 1];

  if (!g_file_get_contents (store->keystore_path, (char **) &data, &len, NULL))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "cannot read %s",
                   store->keystore_path);
      return FALSE;
    }
  if (!mts_keystore_parse (data, len, &f, error))
    return FALSE;
  sodium_bin2hex (hex, sizeof hex, f.keystore_id, MTS_KEYSTORE_ID_BYTES);
  g_free (store->id);
  store->id = g_strdup (hex);
  return TRUE;
}

/* Undoes a failed mts_store_create: removes what it made, and the folder
 * if it made that too. */
static void
remove_partial_store (MtsStore *store, gboolean made_dir)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
  static const char *const ks_suffixes[] = { "", ".log", ".lock" };

  if (store->db != NULL)
    {
      sqlite3_close (store->db);
      store->db = NULL;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (store->db_path, suffixes[i], NULL);
      g_unlink (p);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (ks_suffixes); i++)
    {
      g_autofree char *p = g_strconcat (store->keystore_path, ks_suffixes[i], NULL);
      g_unlink (p);
    }
  g_rmdir (store->files_dir);
  if (made_dir)
    g_rmdir (store->dir);
}

/* Opens the database file and registers the mts functions. */
static gboolean
open_db (MtsStore *store, int flags, GError **error)
{
  char *message = NULL;

  if (sqlite3_open_v2 (store->db_path, &store->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "cannot open %s: %s",
                   store->db_path, store->db ? sqlite3_errmsg (store->db) : "out of memory");
      return FALSE;
    }
  if (mts_sqlite_register (store->db, &message) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "%s", message);
      sqlite3_free (message);
      return FALSE;
    }
  sqlite3_busy_timeout (store->db, 5000);
  /* secure_delete: freed pages are zeroed, so a deleted client leaves
   * nothing readable behind. */
  return exec (store, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                      "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON", error);
}

MtsStore *
mts_store_create (const char *dir, const char *passphrase, gsize passphrase_len,
                  const char *kdf_level, GError **error)
{
  g_autoptr (MtsStore) store = store_new (dir);
  MtsKdfLevel level = MTS_KDF_MODERATE;

  gboolean made_dir;

  if (kdf_level != NULL && !mts_kdf_level_from_string (kdf_level, &level))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "unknown key-derivation level '%s'", kdf_level);
      return NULL;
    }
  if (g_utf8_validate_len (passphrase, passphrase_len, NULL)
        ? (gsize) g_utf8_strlen (passphrase, (gssize) passphrase_len) < MTS_KEYSTORE_MIN_PASSPHRASE
        : passphrase_len < MTS_KEYSTORE_MIN_PASSPHRASE)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE,
                   "passphrase is too short (at least %d characters)", MTS_KEYSTORE_MIN_PASSPHRASE);
      return NULL;
    }
  made_dir = !g_file_test (store->dir, G_FILE_TEST_IS_DIR);
  if (g_mkdir_with_parents (store->dir, 0700) != 0 || g_mkdir_with_parents (store->files_dir, 0700) != 0)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "cannot create %s: %s",
                   store->dir, g_strerror (errno));
      return NULL;
    }
  if (g_file_test (store->db_path, G_FILE_TEST_EXISTS)
      || g_file_test (store->keystore_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_EXISTS,
                   "%s already holds a store", store->dir);
      return NULL;
    }
  if (!mts_keystore_create (store->keystore_path, passphrase, passphrase_len, level, error)
      || !read_store_id (store, error)
      || !open_db (store, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error)
      || !mts_store_unlock (store, passphrase, passphrase_len, error))
    {
      remove_partial_store (store, made_dir);
      return NULL;
    }
  return g_steal_pointer (&store);
}

MtsStore *
mts_store_open (const char *dir, GError **error)
{
  g_autoptr (MtsStore) store = store_new (dir);

  if (!g_file_test (store->db_path, G_FILE_TEST_IS_REGULAR)
      || !g_file_test (store->keystore_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND,
                   "%s holds no store (practice.db and practice.mtskey)", store->dir);
      return NULL;
    }
  if (!read_store_id (store, error) || !open_db (store, SQLITE_OPEN_READWRITE, error))
    return NULL;
  if (g_mkdir_with_parents (store->files_dir, 0700) != 0)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB, "cannot create %s: %s",
                   store->files_dir, g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&store);
}

/* Loads every live client's name into memory for listing and search. */
static gboolean
load_names (MtsStore *store, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT id, mts_decrypt(display_name, "
                                     "'clients.display_name:' || id) FROM clients "
                                     "WHERE deleted = 0", error);
  int rc;

  if (st == NULL)
    return FALSE;
  g_hash_table_remove_all (store->names);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      NameEntry *e = g_new0 (NameEntry, 1);
      const char *name = (const char *) sqlite3_column_text (st, 1);

      e->id = mts_store_column_dup (st, 0);
      e->name = g_strdup (name ? name : "");
      e->folded = g_utf8_casefold (e->name, -1);
      e->sort_key = g_utf8_collate_key (e->name, -1);
      g_hash_table_replace (store->names, e->id, e);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot read the client names");
  return TRUE;
}

gboolean
mts_store_reload_names (MtsStore *store, GError **error)
{
  return mts_store_require_unlocked (store, error) && load_names (store, error);
}

static void
remember_name (MtsStore *store, const char *id, const char *name)
{
  NameEntry *e = g_new0 (NameEntry, 1);

  e->id = g_strdup (id);
  e->name = g_strdup (name);
  e->folded = g_utf8_casefold (name, -1);
  e->sort_key = g_utf8_collate_key (name, -1);
  g_hash_table_replace (store->names, e->id, e);
}

static gboolean
set_actor_sql (MtsStore *store, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT mts_actor(?1)", error);
  gboolean ok;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, store->actor);
  ok = mts_store_step_done (store, st, error);
  sqlite3_finalize (st);
  return ok;
}

/* Removes what a crash can leave in files/: a half-written temporary
 * (".<id>.XXXXXX") or a file renamed into place whose row never committed.
 * Only files older than an hour go, so another process's add in progress
 * is never touched.  Their keys were never committed: nothing is lost. */
static void
sweep_files (MtsStore *store)
{
  g_autoptr (GDir) dir = g_dir_open (store->files_dir, 0, NULL);
  sqlite3_stmt *st = NULL;
  gint64 cutoff = g_get_real_time () / G_USEC_PER_SEC - 3600;
  const char *name;

  if (dir == NULL || sqlite3_prepare_v2 (store->db, "SELECT 1 FROM documents WHERE id = ?1 AND deleted = 0",
                                         -1, &st, NULL) != SQLITE_OK)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (store->files_dir, name, NULL);
      GStatBuf sb;
      gboolean known;

      if (g_stat (path, &sb) != 0 || !S_ISREG (sb.st_mode) || sb.st_mtime > cutoff)
        continue;
      sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
      known = sqlite3_step (st) == SQLITE_ROW;
      sqlite3_reset (st);
      if (name[0] == '.' || !known)
        g_unlink (path);
    }
  sqlite3_finalize (st);
}

gboolean
mts_store_unlock (MtsStore *store, const char *passphrase, gsize passphrase_len, GError **error)
{
  g_autoptr (GError) local = NULL;
  MtsKeystore *ks;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  ks = mts_keystore_unlock (store->keystore_path, passphrase, passphrase_len, error);
  if (ks == NULL || !mts_sqlite_set_keystore (store->db, ks, error))
    return FALSE;
  store->unlocked = TRUE;
  if (!set_actor_sql (store, error))
    goto fail;
  if (!mts_migrations_apply (store->db, NULL, &local))
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SCHEMA, "%s", local->message);
      goto fail;
    }
  if (!load_names (store, error))
    goto fail;
  sweep_files (store);
  return TRUE;
fail:
  mts_store_lock (store);
  return FALSE;
}

void
mts_store_lock (MtsStore *store)
{
  g_return_if_fail (MTS_IS_STORE (store));

  if (store->db != NULL && store->unlocked)
    exec (store, "SELECT mts_lock()", NULL);
  store->unlocked = FALSE;
  /* Names are plaintext: wipe them, not just free them. */
  if (store->names != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, store->names);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          NameEntry *e = value;
          sodium_memzero (e->name, strlen (e->name));
          sodium_memzero (e->folded, strlen (e->folded));
        }
      g_hash_table_remove_all (store->names);
    }
}

MtsKeystore *
mts_store_clone_keystore (MtsStore *store, GError **error)
{
  g_autoptr (GError) local = NULL;
  MtsKeystore *ks;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  ks = mts_sqlite_clone_keystore (store->db, &local);
  if (ks == NULL)
    {
      /* Locked behind the store's back (mts_lock() through the connection). */
      if (g_error_matches (local, MTS_CORE_ERROR, MTS_CORE_ERROR_LOCKED))
        g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED,
                             "the store is locked; unlock it first");
      else
        g_propagate_error (error, g_steal_pointer (&local));
    }
  return ks;
}

MtsStore *
mts_store_open_with_keystore (const char *dir, MtsKeystore *ks, const char *actor,
                              GError **error)
{
  g_autoptr (MtsStore) twin = NULL;
  g_autofree char *ks_path = NULL;

  g_return_val_if_fail (dir != NULL && ks != NULL, NULL);

  twin = mts_store_open (dir, error);
  if (twin == NULL)
    {
      mts_keystore_free (ks);
      return NULL;
    }
  ks_path = g_canonicalize_filename (mts_keystore_get_path (ks), NULL);
  if (g_strcmp0 (ks_path, twin->keystore_path) != 0)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "the keystore %s is not the store's (%s)", ks_path, twin->keystore_path);
      mts_keystore_free (ks);
      return NULL;
    }
  if (!mts_sqlite_set_keystore (twin->db, ks, error))
    return NULL;
  twin->unlocked = TRUE;
  if (actor != NULL)
    {
      g_free (twin->actor);
      twin->actor = g_strdup (actor);
    }
  /* The schema is the current one: the store the keystore came from was
   * migrated when it was unlocked. */
  if (!set_actor_sql (twin, error) || !load_names (twin, error))
    {
      mts_store_lock (twin);
      return NULL;
    }
  return g_steal_pointer (&twin);
}

MtsStore *
mts_store_open_twin (MtsStore *store, GError **error)
{
  MtsKeystore *ks;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  ks = mts_store_clone_keystore (store, error);
  if (ks == NULL)
    return NULL;
  return mts_store_open_with_keystore (store->dir, ks, store->actor, error);
}

gboolean
mts_store_is_unlocked (MtsStore *store)
{
  return store->unlocked;
}

const char *
mts_store_get_dir (MtsStore *store)
{
  return store->dir;
}

sqlite3 *
mts_store_get_db (MtsStore *store)
{
  return store->db;
}

const char *
mts_store_get_id (MtsStore *store)
{
  return store->id;
}

void
mts_store_set_actor (MtsStore *store, const char *actor)
{
  g_free (store->actor);
  store->actor = g_strdup (actor);
  if (store->unlocked)
    set_actor_sql (store, NULL);
}

const char *
mts_store_get_actor (MtsStore *store)
{
  return store->actor;
}

/* ---- clinicians ---- */

gboolean
mts_store_clinician_add (MtsStore *store, MtsClinician *c, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *id = mts_uuid7_new ();
  sqlite3_stmt *st;

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  if (c->display_name == NULL || *c->display_name == '\0')
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "a clinician needs a name");
      return FALSE;
    }
  if (!mts_store_begin (store, error))
    return FALSE;
  st = mts_store_prepare (store, "INSERT INTO clinicians (id, created_at, updated_at, display_name, email, "
                       "email_bidx, role) VALUES (?1, ?2, ?2, "
                       "mts_encrypt(?3, 'clinicians.display_name:' || ?1), "
                       "mts_encrypt(?4, 'clinicians.email:' || ?1), "
                       "mts_blind_index(?4, 'clinicians.email'), coalesce(?5, 'clinician'))", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, c->display_name);
  mts_store_bind_text (st, 4, c->email);
  mts_store_bind_text (st, 5, c->role);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "clinicians", id, "upsert", "display_name,email,role", 0, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  g_free (c->id);
  c->id = g_steal_pointer (&id);
  g_free (c->created_at);
  c->created_at = g_strdup (at);
  g_free (c->updated_at);
  c->updated_at = g_strdup (at);
  c->version = 0;
  if (c->role == NULL)
    c->role = g_strdup ("clinician");
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

static const char clinician_select[] =
  "SELECT id, version, created_at, updated_at, "
  "mts_decrypt(display_name, 'clinicians.display_name:' || id), "
  "mts_decrypt(email, 'clinicians.email:' || id), role FROM clinicians ";

static MtsClinician *
clinician_from_row (sqlite3_stmt *st)
{
  MtsClinician *c = mts_clinician_new ();

  c->id = mts_store_column_dup (st, 0);
  c->version = sqlite3_column_int64 (st, 1);
  c->created_at = mts_store_column_dup (st, 2);
  c->updated_at = mts_store_column_dup (st, 3);
  c->display_name = mts_store_column_dup (st, 4);
  c->email = mts_store_column_dup (st, 5);
  c->role = mts_store_column_dup (st, 6);
  return c;
}

MtsClinician *
mts_store_clinician_get (MtsStore *store, const char *id, GError **error)
{
  g_autofree char *sql = g_strconcat (clinician_select, "WHERE id = ?1 AND deleted = 0", NULL);
  sqlite3_stmt *st;
  MtsClinician *c = NULL;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    c = clinician_from_row (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no clinician %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the clinician");
  sqlite3_finalize (st);
  return c;
}

GPtrArray *
mts_store_clinician_list (MtsStore *store, GError **error)
{
  g_autofree char *sql = g_strconcat (clinician_select, "WHERE deleted = 0 ORDER BY created_at", NULL);
  GPtrArray *list;
  sqlite3_stmt *st;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_clinician_free);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (list, clinician_from_row (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      g_ptr_array_unref (list);
      mts_store_db_fail (store, error, "cannot list the clinicians");
      return NULL;
    }
  return list;
}

/* ---- clients ---- */

/* "" counts as absent for optional fields. */
const char *
mts_store_nonempty (const char *s)
{
  return s != NULL && *s != '\0' ? s : NULL;
}

/* The form of a phone number that its blind index is made of: its digits,
 * with a leading + kept, so "07700 900-123" and "07700900123" match.
 * (transfer full) (nullable) */
char *
mts_store_phone_key (const char *phone)
{
  GString *s;

  if (mts_store_nonempty (phone) == NULL)
    return NULL;
  s = g_string_new (NULL);
  for (const char *p = phone; *p; p++)
    if (g_ascii_isdigit (*p) || (*p == '+' && s->len == 0))
      g_string_append_c (s, *p);
  if (s->len == 0)
    g_string_append (s, phone);   /* no digits: index what was given */
  return g_string_free (s, FALSE);
}

static gboolean
check_client (const MtsClient *c, GError **error)
{
  if (mts_store_nonempty (c->display_name) == NULL)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "a client needs a name");
      return FALSE;
    }
  if (c->status != NULL && strcmp (c->status, "active") != 0 && strcmp (c->status, "waiting") != 0
      && strcmp (c->status, "closed") != 0)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "a client's status is active, waiting or closed, not '%s'", c->status);
      return FALSE;
    }
  return TRUE;
}

gboolean
mts_store_client_add (MtsStore *store, MtsClient *c, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *id = mts_uuid7_new ();
  g_autofree char *phone = mts_store_phone_key (c->phone);
  sqlite3_stmt *st;

  if (!mts_store_require_unlocked (store, error) || !check_client (c, error) || !mts_store_begin (store, error))
    return FALSE;
  st = mts_store_prepare (store,
                "INSERT INTO clients (id, created_at, updated_at, display_name, date_of_birth, "
                "email, phone, address, gp_details, emergency_contact, email_bidx, phone_bidx, "
                "status, last_contact_at, clinician_id) VALUES "
                "(?1, ?2, ?2, mts_encrypt(?3, 'clients.display_name:' || ?1), "
                "mts_encrypt(?4, 'clients.date_of_birth:' || ?1), "
                "mts_encrypt(?5, 'clients.email:' || ?1), mts_encrypt(?6, 'clients.phone:' || ?1), "
                "mts_encrypt(?7, 'clients.address:' || ?1), "
                "mts_encrypt(?11, 'clients.gp_details:' || ?1), "
                "mts_encrypt(?12, 'clients.emergency_contact:' || ?1), "
                "mts_blind_index(?5, 'clients.email'), "
                "mts_blind_index(?8, 'clients.phone'), coalesce(?9, 'active'), ?13, ?10)", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, c->display_name);
  mts_store_bind_text (st, 4, mts_store_nonempty (c->date_of_birth));
  mts_store_bind_text (st, 5, mts_store_nonempty (c->email));
  mts_store_bind_text (st, 6, mts_store_nonempty (c->phone));
  mts_store_bind_text (st, 7, mts_store_nonempty (c->address));
  mts_store_bind_text (st, 8, phone);
  mts_store_bind_text (st, 9, c->status);
  mts_store_bind_text (st, 10, mts_store_nonempty (c->clinician_id));
  mts_store_bind_text (st, 11, mts_store_nonempty (c->gp_details));
  mts_store_bind_text (st, 12, mts_store_nonempty (c->emergency_contact));
  mts_store_bind_text (st, 13, mts_store_nonempty (c->last_contact_at));
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "clients", id, "upsert",
                   "display_name,date_of_birth,email,phone,address,gp_details,emergency_contact,"
                   "status,last_contact_at,clinician_id", 0, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  remember_name (store, id, c->display_name);
  g_free (c->id);
  c->id = g_steal_pointer (&id);
  g_free (c->created_at);
  c->created_at = g_strdup (at);
  g_free (c->updated_at);
  c->updated_at = g_strdup (at);
  c->version = 0;
  if (c->status == NULL)
    c->status = g_strdup ("active");
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

static const char client_select[] =
  "SELECT id, version, created_at, updated_at, "
  "mts_decrypt(display_name, 'clients.display_name:' || id), "
  "mts_decrypt(date_of_birth, 'clients.date_of_birth:' || id), "
  "mts_decrypt(email, 'clients.email:' || id), mts_decrypt(phone, 'clients.phone:' || id), "
  "mts_decrypt(address, 'clients.address:' || id), status, clinician_id, "
  "mts_decrypt(gp_details, 'clients.gp_details:' || id), "
  "mts_decrypt(emergency_contact, 'clients.emergency_contact:' || id), last_contact_at "
  "FROM clients ";

static MtsClient *
client_from_row (sqlite3_stmt *st)
{
  MtsClient *c = mts_client_new ();

  c->id = mts_store_column_dup (st, 0);
  c->version = sqlite3_column_int64 (st, 1);
  c->created_at = mts_store_column_dup (st, 2);
  c->updated_at = mts_store_column_dup (st, 3);
  c->display_name = mts_store_column_dup (st, 4);
  c->date_of_birth = mts_store_column_dup (st, 5);
  c->email = mts_store_column_dup (st, 6);
  c->phone = mts_store_column_dup (st, 7);
  c->address = mts_store_column_dup (st, 8);
  c->status = mts_store_column_dup (st, 9);
  c->clinician_id = mts_store_column_dup (st, 10);
  c->gp_details = mts_store_column_dup (st, 11);
  c->emergency_contact = mts_store_column_dup (st, 12);
  c->last_contact_at = mts_store_column_dup (st, 13);
  return c;
}

MtsClient *
mts_store_client_get (MtsStore *store, const char *id, GError **error)
{
  g_autofree char *sql = g_strconcat (client_select, "WHERE id = ?1 AND deleted = 0", NULL);
  sqlite3_stmt *st;
  MtsClient *c = NULL;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    c = client_from_row (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no client %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the client");
  sqlite3_finalize (st);
  return c;
}

gboolean
mts_store_client_update (MtsStore *store, const MtsClient *c, GError **error)
{
  /* Encrypted fields: column, its value now and as wanted. */
  struct {
    const char *column;
    const char *wanted;
    const char *now;
  } fields[7];
  g_autoptr (MtsClient) cur = NULL;
  g_autoptr (GString) set = g_string_new ("updated_at = ?2");
  g_autoptr (GString) changed = g_string_new (NULL);
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *sql = NULL;
  g_autofree char *phone = mts_store_phone_key (c->phone);
  gboolean name_changed;
  sqlite3_stmt *st;
  int n = 0;

  if (!mts_store_require_unlocked (store, error) || !check_client (c, error))
    return FALSE;
  if (!mts_store_begin (store, error))
    return FALSE;
  cur = mts_store_client_get (store, c->id, error);
  if (cur == NULL)
    goto fail;
  fields[0] = (typeof (fields[0])) { "display_name", c->display_name, cur->display_name };
  fields[1] = (typeof (fields[0])) { "date_of_birth", mts_store_nonempty (c->date_of_birth), cur->date_of_birth };
  fields[2] = (typeof (fields[0])) { "email", mts_store_nonempty (c->email), cur->email };
  fields[3] = (typeof (fields[0])) { "phone", mts_store_nonempty (c->phone), cur->phone };
  fields[4] = (typeof (fields[0])) { "address", mts_store_nonempty (c->address), cur->address };
  fields[5] = (typeof (fields[0])) { "gp_details", mts_store_nonempty (c->gp_details), cur->gp_details };
  fields[6] = (typeof (fields[0])) { "emergency_contact", mts_store_nonempty (c->emergency_contact),
                                     cur->emergency_contact };
  for (int i = 0; i < 7; i++)
    if (g_strcmp0 (fields[i].wanted, fields[i].now) != 0)
      {
        g_string_append_printf (set, ", %s = mts_encrypt(?%d, 'clients.%s:' || id)",
                                fields[i].column, 10 + i, fields[i].column);
        if (i == 2)
          g_string_append (set, ", email_bidx = mts_blind_index(?12, 'clients.email')");
        if (i == 3)
          g_string_append (set, ", phone_bidx = mts_blind_index(?17, 'clients.phone')");
        g_string_append_printf (changed, "%s%s", changed->len ? "," : "", fields[i].column);
        n++;
      }
  if (c->status != NULL && g_strcmp0 (c->status, cur->status) != 0)
    {
      g_string_append (set, ", status = ?3");
      g_string_append_printf (changed, "%sstatus", changed->len ? "," : "");
      n++;
    }
  if (g_strcmp0 (mts_store_nonempty (c->clinician_id), cur->clinician_id) != 0)
    {
      g_string_append (set, ", clinician_id = ?4");
      g_string_append_printf (changed, "%sclinician_id", changed->len ? "," : "");
      n++;
    }
  if (g_strcmp0 (mts_store_nonempty (c->last_contact_at), cur->last_contact_at) != 0)
    {
      g_string_append (set, ", last_contact_at = ?5");
      g_string_append_printf (changed, "%slast_contact_at", changed->len ? "," : "");
      n++;
    }
  if (n == 0)
    {
      mts_store_rollback (store);
      return TRUE;   /* nothing to write */
    }
  sql = g_strdup_printf ("UPDATE clients SET %s WHERE id = ?1 AND deleted = 0", set->str);
  if ((st = mts_store_prepare (store, sql, error)) == NULL)
    goto fail;
  mts_store_bind_text (st, 1, c->id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, c->status);
  mts_store_bind_text (st, 4, mts_store_nonempty (c->clinician_id));
  mts_store_bind_text (st, 5, mts_store_nonempty (c->last_contact_at));
  for (int i = 0; i < 7; i++)
    mts_store_bind_text (st, 10 + i, fields[i].wanted);
  mts_store_bind_text (st, 17, phone);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  name_changed = g_strcmp0 (c->display_name, cur->display_name) != 0;
  if (!mts_store_outbox_add (store, "clients", c->id, "upsert", changed->str, cur->version, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  if (name_changed)
    remember_name (store, c->id, c->display_name);
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

/* Queues deletes of @table's rows selected by @where (bound to @client_id),
 * and collects their ids into @ids when non-NULL. */
static gboolean
outbox_delete_rows (MtsStore *store, const char *table, const char *where, const char *client_id,
                    const char *at, GPtrArray *ids, GError **error)
{
  /* Rows already tombstoned have their delete queued already. */
  g_autofree char *sql = g_strdup_printf ("SELECT id, version FROM %s WHERE (%s) AND deleted = 0",
                                          table, where);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *st = mts_store_prepare (store, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, client_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      gint64 v = sqlite3_column_int64 (st, 1);
      g_ptr_array_add (rows, mts_store_column_dup (st, 0));
      g_array_append_val (versions, v);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot list a client's records");
  for (guint i = 0; i < rows->len; i++)
    {
      if (!mts_store_outbox_add (store, table, rows->pdata[i], "delete", NULL,
                       g_array_index (versions, gint64, i), at, error))
        return FALSE;
      if (ids != NULL)
        g_ptr_array_add (ids, g_strdup (rows->pdata[i]));
    }
  return TRUE;
}

gboolean
mts_store_client_delete (MtsStore *store, const char *id, GError **error)
{
  /* Dependents, in an order the foreign keys allow: notes before the
   * sessions they may name, payments before their invoices. */
  static const struct { const char *table; const char *where; } dependents[] = {
    { "notes", "client_id = ?1" },
    { "documents", "client_id = ?1" },
    { "agreements", "client_id = ?1" },
    { "risk_flags", "client_id = ?1" },
    { "ai_consents", "client_id = ?1" },
    { "sessions", "client_id = ?1" },
    { "payments", "invoice_id IN (SELECT id FROM invoices WHERE client_id = ?1)" },
    { "invoices", "client_id = ?1" },
  };
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MtsClient) cur = NULL;
  g_autofree char *at = mts_store_now_iso ();
  sqlite3_stmt *st;

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  cur = mts_store_client_get (store, id, error);
  if (cur == NULL)
    goto fail;
  for (gsize i = 0; i < G_N_ELEMENTS (dependents); i++)
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM %s WHERE %s", dependents[i].table,
                                              dependents[i].where);
      if (!outbox_delete_rows (store, dependents[i].table, dependents[i].where, id, at,
                               strcmp (dependents[i].table, "documents") == 0 ? files : NULL, error))
        goto fail;
      if ((st = mts_store_prepare (store, sql, error)) == NULL)
        goto fail;
      mts_store_bind_text (st, 1, id);
      if (!mts_store_step_finalize (store, st, error))
        goto fail;
    }
  /* The client's row stays as a tombstone for sync, with nothing readable. */
  st = mts_store_prepare (store, "UPDATE clients SET deleted = 1, updated_at = ?2, display_name = NULL, "
                       "date_of_birth = NULL, email = NULL, phone = NULL, address = NULL, "
                       "gp_details = NULL, emergency_contact = NULL, email_bidx = NULL, "
                       "phone_bidx = NULL WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "clients", id, "delete", NULL, cur->version, at, error)
      || !mts_store_commit (store, error))
    goto fail;

  /* Out of the write-ahead log too, and the document files. */
  exec (store, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (store->files_dir, files->pdata[i], NULL);
      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("cannot remove document file %s: %s", path, g_strerror (errno));
    }
  {
    NameEntry *e = g_hash_table_lookup (store->names, id);
    if (e != NULL)
      {
        sodium_memzero (e->name, strlen (e->name));
        sodium_memzero (e->folded, strlen (e->folded));
        g_hash_table_remove (store->names, id);
      }
  }
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  const NameEntry *x = *(NameEntry *const *) a, *y = *(NameEntry *const *) b;
  int r = strcmp (x->sort_key, y->sort_key);

  return r != 0 ? r : strcmp (x->id, y->id);
}

/* Summary records (id, name, status, clinician, version) for @entries;
 * with @all, @entries are every client and the table is read in one scan,
 * otherwise only the entries' rows are read, by id. */
static GPtrArray *
summaries (MtsStore *store, GPtrArray *entries, gboolean all, GError **error)
{
  GPtrArray *list = g_ptr_array_new_full (entries->len, (GDestroyNotify) mts_client_free);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *st;
  int rc;

  g_ptr_array_sort (entries, compare_names);
  for (guint i = 0; i < entries->len; i++)
    {
      NameEntry *e = entries->pdata[i];
      MtsClient *c = mts_client_new ();

      c->id = g_strdup (e->id);
      c->display_name = g_strdup (e->name);
      g_ptr_array_add (list, c);
      g_hash_table_insert (by_id, c->id, c);
    }
  st = mts_store_prepare (store, all ? "SELECT id, version, status, clinician_id, created_at, updated_at "
                             "FROM clients WHERE deleted = 0"
                           : "SELECT id, version, status, clinician_id, created_at, updated_at "
                             "FROM clients WHERE deleted = 0 AND id IN "
                             "(SELECT value FROM json_each(?1))", error);
  if (st == NULL)
    {
      g_ptr_array_unref (list);
      return NULL;
    }
  if (!all)
    {
      g_autoptr (GString) ids = g_string_new ("[");
      for (guint i = 0; i < list->len; i++)
        g_string_append_printf (ids, "%s\"%s\"", i ? "," : "", ((MtsClient *) list->pdata[i])->id);
      g_string_append_c (ids, ']');
      sqlite3_bind_text (st, 1, ids->str, (int) ids->len, SQLITE_TRANSIENT);
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      MtsClient *c = g_hash_table_lookup (by_id, sqlite3_column_text (st, 0));
      if (c == NULL)
        continue;
      c->version = sqlite3_column_int64 (st, 1);
      c->status = mts_store_column_dup (st, 2);
      c->clinician_id = mts_store_column_dup (st, 3);
      c->created_at = mts_store_column_dup (st, 4);
      c->updated_at = mts_store_column_dup (st, 5);
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      g_ptr_array_unref (list);
      mts_store_db_fail (store, error, "cannot list the clients");
      return NULL;
    }
  return list;
}

GPtrArray *
mts_store_client_list (MtsStore *store, GError **error)
{
  g_autoptr (GPtrArray) entries = NULL;
  GHashTableIter iter;
  gpointer value;

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  entries = g_ptr_array_sized_new (g_hash_table_size (store->names));
  g_hash_table_iter_init (&iter, store->names);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (entries, value);
  return summaries (store, entries, TRUE, error);
}

/* Ids of the live clients whose @column blind index matches @value under any key. */
static gboolean
bidx_lookup (MtsStore *store, const char *column, const char *value, GHashTable *ids,
             GError **error)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT id FROM clients WHERE deleted = 0 AND %s_bidx IN "
    "(SELECT mts_blind_index(?1, 'clients.%s', value) FROM json_each(mts_key_ids()))",
    column, column);
  sqlite3_stmt *st = mts_store_prepare (store, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, value);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_hash_table_add (ids, mts_store_column_dup (st, 0));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return mts_store_db_fail (store, error, "cannot search the clients");
  return TRUE;
}

GPtrArray *
mts_store_client_search (MtsStore *store, const char *text, GError **error)
{
  g_autoptr (GHashTable) exact = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  g_autofree char *needle = NULL;
  g_autofree char *phone = NULL;
  GHashTableIter iter;
  gpointer value;

  if (!mts_store_require_unlocked (store, error))
    return NULL;
  if (mts_store_nonempty (text) == NULL)
    return mts_store_client_list (store, error);
  needle = g_utf8_casefold (text, -1);
  g_strstrip (needle);
  phone = mts_store_phone_key (text);
  if (!bidx_lookup (store, "email", text, exact, error)
      || !bidx_lookup (store, "phone", phone, exact, error))
    return NULL;
  g_hash_table_iter_init (&iter, store->names);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NameEntry *e = value;
      if (strstr (e->folded, needle) != NULL || g_hash_table_contains (exact, e->id))
        g_ptr_array_add (entries, e);
    }
  return summaries (store, entries, FALSE, error);
}

/* ---- notes ---- */

/* Whether live client @id exists (NOT_FOUND otherwise), without decrypting it. */
static gboolean
client_exists (MtsStore *store, const char *id, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT 1 FROM clients WHERE id = ?1 AND deleted = 0", error);
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no client %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the client");
  return FALSE;
}

static const char *const note_kinds[] = { "SOAP", "DAP", "BIRP", "free" };

gboolean
mts_store_note_add (MtsStore *store, MtsNote *n, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *id = mts_uuid7_new ();
  const char *kind = n->template_kind ? n->template_kind : "free";
  gboolean kind_ok = FALSE;
  sqlite3_stmt *st;

  for (gsize i = 0; i < G_N_ELEMENTS (note_kinds); i++)
    kind_ok |= strcmp (kind, note_kinds[i]) == 0;
  if (!kind_ok)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "a note's template is SOAP, DAP, BIRP or free, not '%s'", kind);
      return FALSE;
    }
  if (!mts_store_require_unlocked (store, error) || !client_exists (store, n->client_id, error)
      || !mts_store_begin (store, error))
    return FALSE;
  st = mts_store_prepare (store, "INSERT INTO notes (id, created_at, updated_at, client_id, session_id, "
                       "clinician_id, template_kind, body, ai_assisted, amends_id) VALUES "
                       "(?1, ?2, ?2, ?3, ?4, ?5, ?6, mts_encrypt(?7, 'notes.body:' || ?1), ?8, ?9)",
                error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, n->client_id);
  mts_store_bind_text (st, 4, mts_store_nonempty (n->session_id));
  mts_store_bind_text (st, 5, mts_store_nonempty (n->clinician_id));
  mts_store_bind_text (st, 6, kind);
  mts_store_bind_text (st, 7, n->body ? n->body : "");
  sqlite3_bind_int (st, 8, n->ai_assisted ? 1 : 0);
  mts_store_bind_text (st, 9, mts_store_nonempty (n->amends_id));
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "notes", id, "upsert",
                   "client_id,session_id,clinician_id,template_kind,body,ai_assisted,amends_id",
                   0, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  g_free (n->id);
  n->id = g_steal_pointer (&id);
  g_free (n->created_at);
  n->created_at = g_strdup (at);
  g_free (n->updated_at);
  n->updated_at = g_strdup (at);
  g_free (n->status);
  n->status = g_strdup ("draft");
  if (n->template_kind == NULL)
    n->template_kind = g_strdup (kind);
  n->version = 0;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

static const char note_select[] =
  "SELECT id, version, created_at, updated_at, client_id, session_id, clinician_id, "
  "template_kind, mts_decrypt(body, 'notes.body:' || id), status, signed_by, signed_at, "
  "amends_id, ai_assisted FROM notes ";

static MtsNote *
note_from_row (sqlite3_stmt *st)
{
  MtsNote *n = mts_note_new ();

  n->id = mts_store_column_dup (st, 0);
  n->version = sqlite3_column_int64 (st, 1);
  n->created_at = mts_store_column_dup (st, 2);
  n->updated_at = mts_store_column_dup (st, 3);
  n->client_id = mts_store_column_dup (st, 4);
  n->session_id = mts_store_column_dup (st, 5);
  n->clinician_id = mts_store_column_dup (st, 6);
  n->template_kind = mts_store_column_dup (st, 7);
  n->body = mts_store_column_dup (st, 8);
  n->status = mts_store_column_dup (st, 9);
  n->signed_by = mts_store_column_dup (st, 10);
  n->signed_at = mts_store_column_dup (st, 11);
  n->amends_id = mts_store_column_dup (st, 12);
  n->ai_assisted = sqlite3_column_int (st, 13) != 0;
  return n;
}

MtsNote *
mts_store_note_get (MtsStore *store, const char *id, GError **error)
{
  g_autofree char *sql = g_strconcat (note_select, "WHERE id = ?1 AND deleted = 0", NULL);
  sqlite3_stmt *st;
  MtsNote *n = NULL;
  int rc;

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    n = note_from_row (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no note %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the note");
  sqlite3_finalize (st);
  return n;
}

gboolean
mts_store_note_update (MtsStore *store, const MtsNote *n, GError **error)
{
  g_autoptr (MtsNote) cur = NULL;
  g_autoptr (GString) changed = g_string_new (NULL);
  g_autofree char *at = mts_store_now_iso ();
  sqlite3_stmt *st;

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  cur = mts_store_note_get (store, n->id, error);
  if (cur == NULL)
    goto fail;
  if (strcmp (cur->status, "signed") == 0)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED,
                           "the note is signed and cannot change: amend it instead");
      goto fail;
    }
  if (g_strcmp0 (n->body, cur->body) != 0)
    g_string_append (changed, "body");
  if (n->template_kind != NULL && g_strcmp0 (n->template_kind, cur->template_kind) != 0)
    g_string_append_printf (changed, "%stemplate_kind", changed->len ? "," : "");
  if ((n->ai_assisted != 0) != (cur->ai_assisted != 0))
    g_string_append_printf (changed, "%sai_assisted", changed->len ? "," : "");
  if (changed->len == 0)
    {
      mts_store_rollback (store);
      return TRUE;
    }
  st = mts_store_prepare (store, "UPDATE notes SET updated_at = ?2, "
                       "body = iif(?6, mts_encrypt(?3, 'notes.body:' || id), body), "
                       "template_kind = coalesce(?4, template_kind), ai_assisted = ?5 "
                       "WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, n->id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, n->body ? n->body : "");
  mts_store_bind_text (st, 4, n->template_kind);
  sqlite3_bind_int (st, 5, n->ai_assisted ? 1 : 0);
  sqlite3_bind_int (st, 6, g_strcmp0 (n->body, cur->body) != 0);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "notes", n->id, "upsert", changed->str, cur->version, at, error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

gboolean
mts_store_note_sign (MtsStore *store, const char *id, GError **error)
{
  g_autoptr (MtsNote) cur = NULL;
  g_autoptr (MtsClinician) signer = NULL;
  g_autofree char *at = mts_store_now_iso ();
  sqlite3_stmt *st;

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  cur = mts_store_note_get (store, id, error);
  if (cur == NULL)
    goto fail;
  if (strcmp (cur->status, "signed") == 0)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED,
                           "the note is already signed");
      goto fail;
    }
  if (cur->body == NULL || *cur->body == '\0')
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "an empty note cannot be signed");
      goto fail;
    }
  signer = mts_store_clinician_get (store, store->actor, NULL);
  if (signer == NULL)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                   "only a clinician of the practice signs notes, and the current actor "
                   "(%s) is not one", store->actor);
      goto fail;
    }
  st = mts_store_prepare (store, "UPDATE notes SET status = 'signed', signed_by = ?2, signed_at = ?3, "
                       "updated_at = ?3 WHERE id = ?1 AND status = 'draft'", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, signer->id);
  mts_store_bind_text (st, 3, at);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "notes", id, "upsert", "status,signed_by,signed_at", cur->version, at,
                   error)
      || !mts_store_commit (store, error))
    goto fail;
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}

MtsNote *
mts_store_note_amend (MtsStore *store, const char *id, const char *body, GError **error)
{
  g_autoptr (MtsNote) original = mts_store_note_get (store, id, error);
  g_autoptr (MtsNote) amendment = NULL;

  if (original == NULL)
    return NULL;
  if (strcmp (original->status, "signed") != 0)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "only a signed note is amended; edit the draft instead");
      return NULL;
    }
  amendment = mts_note_new ();
  amendment->client_id = g_strdup (original->client_id);
  amendment->session_id = g_strdup (original->session_id);
  amendment->clinician_id = g_strdup (original->clinician_id);
  amendment->template_kind = g_strdup (original->template_kind);
  amendment->body = g_strdup (body);
  amendment->amends_id = g_strdup (id);
  if (!mts_store_note_add (store, amendment, error))
    return NULL;
  return g_steal_pointer (&amendment);
}

GPtrArray *
mts_store_note_list (MtsStore *store, const char *client_id, GError **error)
{
  g_autofree char *sql = g_strconcat (note_select, "WHERE client_id = ?1 AND deleted = 0 "
                                      "ORDER BY created_at, id", NULL);
  GPtrArray *list;
  sqlite3_stmt *st;
  int rc;

  if (!mts_store_require_unlocked (store, error) || !client_exists (store, client_id, error)
      || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, client_id);
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_note_free);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (list, note_from_row (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      g_ptr_array_unref (list);
      mts_store_db_fail (store, error, "cannot list the notes");
      return NULL;
    }
  return list;
}
