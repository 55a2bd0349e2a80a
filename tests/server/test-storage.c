/* test-storage.c — the SQLite storage backend (server/mts-server-storage.h),
 * every operation against a database file in a fresh temporary folder.
 * The file: mode 0600 (a loose existing one tightened), WAL, reopened with
 * its data, a newer schema and foreign or broken files refused untouched.
 * Practices and users: unique slug and (practice, username) refused with
 * EXISTS, per-practice version counters, a TOTP step used once even across
 * two connections.  Devices and tokens: touch keeps the first user and a
 * revocation, revoking a device revokes its tokens and no others, a refresh
 * token marked used once, family/device/user revocation, the purge.
 * Counters read as zeros when missing.  Records: sealed bytes stored
 * byte for byte, every revision kept and readable by version, an older
 * version never replacing a newer one, pull pages with remaining counts,
 * live_count ignoring tombstones.  Ops answered once per (device, seq); the
 * audit log in order; transactions and rollback; revisions and the audit
 * log refusing UPDATE and DELETE; error messages holding no secret. */
#include "mts-server-storage.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
  MtsStorage *s;
} Fixture;

#define OP(f, name, ...) ((f)->s->ops->name ((f)->s, __VA_ARGS__))

static const char password_hash[] =
  "$argon2id$v=19$m=65536,t=2,p=1$c2VjcmV0c2FsdHNhbHQ$SECRETHASHBYTESxxxxxxxxxxxxxxxxxxxxxxxxxxx";

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_unlink (p), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("mts-storage-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "server.db", NULL);
  f->s = mts_storage_sqlite_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->s);
  g_assert_cmpstr (f->s->ops->name, ==, "sqlite");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mts_storage_close (f->s);
  remove_dir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  mts_storage_close (f->s);
  f->s = mts_storage_sqlite_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->s);
}

/* A raw connection to the fixture's file, beside the storage's own. */
static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static gint64
raw_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

static char *
raw_text (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  char *v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return v;
}

/* ---- seeding ---- */

static void
add_practice (Fixture *f, const char *id, const char *slug)
{
  g_autoptr(GError) error = NULL;
  MtsPracticeRow row = { (char *) id, (char *) slug, (char *) "A Practice", 1000 };

  g_assert_true (OP (f, practice_create, &row, &error));
  g_assert_no_error (error);
}

static void
add_user (Fixture *f, const char *practice_id, const char *id, const char *username)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = g_bytes_new_static ("sealed-totp", 11);
  MtsUserRow row = {
    (char *) id, (char *) practice_id, (char *) username, (char *) "clinician",
    (char *) password_hash, sealed, -1, FALSE, 1000,
  };

  g_assert_true (OP (f, user_add, &row, &error));
  g_assert_no_error (error);
}

static void
touch_device (Fixture *f, const char *practice_id, const char *user_id, const char *id,
              const char *name, gint64 now)
{
  g_autoptr(GError) error = NULL;
  MtsDeviceRow row = {
    (char *) id, (char *) practice_id, (char *) user_id, (char *) name, now, now, 0,
  };

  g_assert_true (OP (f, device_touch, &row, &error));
  g_assert_no_error (error);
}

static void
fill_hash (guint8 hash[MTS_TOKEN_HASH_BYTES], guint8 n)
{
  for (int i = 0; i < MTS_TOKEN_HASH_BYTES; i++)
    hash[i] = (guint8) (n * 31 + i);
}

static gboolean
put_token (Fixture *f, guint8 n, MtsTokenKind kind, const char *practice_id,
           const char *user_id, const char *device_id, const char *family,
           gint64 expires_at, GError **error)
{
  MtsTokenRow row = {
    .kind = kind, .practice_id = (char *) practice_id, .user_id = (char *) user_id,
    .device_id = (char *) device_id, .family = (char *) family,
    .expires_at = expires_at,
  };

  fill_hash (row.hash, n);
  return OP (f, token_put, &row, error);
}

static gboolean
token_revoked (Fixture *f, guint8 n)
{
  g_autoptr(GError) error = NULL;
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenRow row = { 0 };
  gboolean revoked;

  fill_hash (hash, n);
  g_assert_cmpint (OP (f, token_get, hash, &row, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  revoked = row.revoked;
  mts_token_row_clear (&row);
  return revoked;
}

/* Puts a revision of (@table, @id) with the practice's next version. */
static gint64
put_record (Fixture *f, const char *practice_id, const char *table, const char *id,
            gboolean deleted, const char *plain_json, GBytes *sealed)
{
  g_autoptr(GError) error = NULL;
  gint64 version = OP (f, next_version, practice_id, &error);
  MtsRecordRow row = {
    (char *) table, (char *) id, version, deleted, (char *) plain_json, sealed,
    (char *) "dev-1", version * 10, (char *) "user-1", 2000 + version,
  };

  g_assert_no_error (error);
  g_assert_cmpint (version, >, 0);
  g_assert_true (OP (f, record_put, practice_id, &row, &error));
  g_assert_no_error (error);
  return version;
}

/* Seeds practice p1 ("north-leeds") with user u1 ("alice") and device d1. */
static void
seed (Fixture *f)
{
  add_practice (f, "p1", "north-leeds");
  add_user (f, "p1", "u1", "alice");
  touch_device (f, "p1", "u1", "d1", "Alice's laptop", 1000);
}

/* @error's message holds none of @secret's bytes as text. */
static void
assert_message_clean (const GError *error, const char *secret)
{
  g_assert_nonnull (error);
  g_test_message ("message: %s", error->message);
  g_assert_null (strstr (error->message, secret));
}

/* ---- the file ---- */

/* 1. A new file is mode 0600 whatever the umask, so are its -wal and -shm;
 * it is in WAL mode, at schema version 1 with the server's application id. */
static void
test_file_mode_and_wal (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mts-storage-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "server.db", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *mode = NULL;
  MtsStorage *s;
  mode_t old_umask = umask (022);
  struct stat st;
  sqlite3 *db;

  g_assert_no_error (error);
  s = mts_storage_sqlite_open (path, &error);
  umask (old_umask);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  {
    MtsPracticeRow row = { (char *) "p1", (char *) "slug", (char *) "P", 1 };

    g_assert_true (s->ops->practice_create (s, &row, &error));
    g_assert_no_error (error);
  }

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (g_stat (shm, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  db = raw_open (path);
  mode = raw_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_int (db, "PRAGMA application_id"), ==, 0x4D545353);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM practices"), ==, 1);
  sqlite3_close (db);

  mts_storage_close (s);
  remove_dir (dir);
}

/* 2. An existing empty file that anyone could read is made 0600 and
 * becomes a server database. */
static void
test_file_tightened (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mts-storage-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "server.db", NULL);
  MtsStorage *s;
  struct stat st;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "", 0, &error));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  s = mts_storage_sqlite_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  mts_storage_close (s);
  remove_dir (dir);
}

/* 3. Closing and reopening keeps everything; the version counter goes on. */
static void
test_file_reopen (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = g_bytes_new_static ("\x01\x02", 2);
  MtsPracticeRow p = { 0 };
  MtsUserRow u = { 0 };
  MtsRecordRow r = { 0 };

  seed (f);
  put_record (f, "p1", "clients", "c1", FALSE, "{\"status\":\"active\"}", sealed);
  reopen (f);

  g_assert_cmpint (OP (f, practice_by_slug, "north-leeds", &p, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (p.id, ==, "p1");
  g_assert_cmpint (OP (f, user_by_name, "p1", "alice", &u, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (u.id, ==, "u1");
  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c1", &r, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (r.version, ==, 1);
  g_assert_cmpstr (r.plain_json, ==, "{\"status\":\"active\"}");
  g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 2);
  g_assert_no_error (error);
  mts_practice_row_clear (&p);
  mts_user_row_clear (&u);
  mts_record_row_clear (&r);
}

/* 4. A database whose user_version is higher than this server knows is
 * refused with NEWER, and left as it was. */
static void
test_file_newer_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MtsStorage *s;
  sqlite3 *db;

  mts_storage_close (f->s);
  f->s = NULL;
  db = raw_open (f->path);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 2", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  s = mts_storage_sqlite_open (f->path, &error);
  g_assert_null (s);
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_NEWER);
  g_test_message ("message: %s", error->message);

  db = raw_open (f->path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, 2);
  sqlite3_close (db);
}

/* 5. Another program's database, and a file that is no database, are
 * refused; the first gains no tables.  A symlink is refused. */
static void
test_file_foreign_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mts-storage-XXXXXX", &error);
  g_autofree char *other = g_build_filename (dir, "practice.db", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.db", NULL);
  g_autofree char *link = g_build_filename (dir, "link.db", NULL);
  sqlite3 *db = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (other, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE clients (id TEXT)", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_null (mts_storage_sqlite_open (other, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not an MTS server database"));
  g_clear_error (&error);
  db = raw_open (other);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM sqlite_schema"), ==, 1);
  sqlite3_close (db);

  g_assert_true (g_file_set_contents (junk, "this is not a database, not at all, "
                                      "no not even slightly", -1, &error));
  g_assert_null (mts_storage_sqlite_open (junk, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_test_message ("message: %s", error->message);
  g_clear_error (&error);

  g_assert_cmpint (symlink (other, link), ==, 0);
  g_assert_null (mts_storage_sqlite_open (link, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_clear_error (&error);

  remove_dir (dir);
}

/* 6. ":memory:" gives a working private database and creates no file. */
static void
test_file_memory (void)
{
  g_autoptr(GError) error = NULL;
  MtsStorage *s = mts_storage_sqlite_open (":memory:", &error);
  MtsPracticeRow row = { (char *) "p1", (char *) "slug", (char *) "P", 1 };

  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_true (s->ops->practice_create (s, &row, &error));
  g_assert_cmpint (s->ops->practice_by_id (s, "p1", NULL, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (s->ops->next_version (s, "p1", &error), ==, 1);
  g_assert_no_error (error);
  mts_storage_close (s);
  g_assert_false (g_file_test (":memory:", G_FILE_TEST_EXISTS));
  mts_storage_close (NULL);
}

/* ---- practices ---- */

/* 7. Practices by slug and id; a taken slug or id is EXISTS; an unknown
 * practice is NOT_FOUND. */
static void
test_practices (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MtsPracticeRow row = { (char *) "p2", (char *) "north-leeds", (char *) "Other", 5 };
  MtsPracticeRow same_id = { (char *) "p1", (char *) "elsewhere", (char *) "Other", 5 };
  MtsPracticeRow out = { 0 };

  add_practice (f, "p1", "north-leeds");

  g_assert_cmpint (OP (f, practice_by_slug, "north-leeds", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_cmpstr (out.id, ==, "p1");
  g_assert_cmpstr (out.slug, ==, "north-leeds");
  g_assert_cmpstr (out.name, ==, "A Practice");
  g_assert_cmpint (out.created_at, ==, 1000);
  mts_practice_row_clear (&out);
  mts_practice_row_clear (&out);   /* clearing twice is safe */

  g_assert_cmpint (OP (f, practice_by_id, "p1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.slug, ==, "north-leeds");
  mts_practice_row_clear (&out);

  g_assert_cmpint (OP (f, practice_by_slug, "south-leeds", &out, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, practice_by_id, "p9", &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);
  g_assert_null (out.id);

  g_assert_false (OP (f, practice_create, &row, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  g_test_message ("message: %s", error->message);
  g_clear_error (&error);
  g_assert_false (OP (f, practice_create, &same_id, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (OP (f, practice_by_slug, "elsewhere", NULL, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
}

/* 8. Each practice's versions count 1, 2, 3 on their own; an unknown
 * practice has no counter. */
static void
test_practices_next_version (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  add_practice (f, "p1", "one");
  add_practice (f, "p2", "two");
  g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 1);
  g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 2);
  g_assert_cmpint (OP (f, next_version, "p2", &error), ==, 1);
  g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 3);
  g_assert_no_error (error);

  g_assert_cmpint (OP (f, next_version, "p9", &error), ==, -1);
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
}

/* ---- users ---- */

static void
collect_user_cb (const MtsUserRow *row, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup (row->username));
}

/* 9. Users by name and id within their practice; a taken (practice,
 * username) is EXISTS and its message holds no password hash; the same
 * name in another practice is fine; a user of no practice is refused;
 * listing is by username; the password can change. */
static void
test_users (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  MtsUserRow out = { 0 };
  MtsUserRow dup = {
    (char *) "u9", (char *) "p1", (char *) "alice", (char *) "support",
    (char *) password_hash, NULL, -1, FALSE, 1,
  };

  seed (f);
  add_practice (f, "p2", "south-leeds");
  add_user (f, "p1", "u2", "bob");
  add_user (f, "p1", "u3", "aaron");
  add_user (f, "p2", "u4", "alice");

  g_assert_cmpint (OP (f, user_by_name, "p1", "alice", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_cmpstr (out.id, ==, "u1");
  g_assert_cmpstr (out.practice_id, ==, "p1");
  g_assert_cmpstr (out.role, ==, "clinician");
  g_assert_cmpstr (out.password_hash, ==, password_hash);
  g_assert_cmpmem (g_bytes_get_data (out.totp_sealed, NULL), g_bytes_get_size (out.totp_sealed),
                   "sealed-totp", 11);
  g_assert_cmpint (out.totp_last_step, ==, -1);
  g_assert_false (out.disabled);
  g_assert_cmpint (out.created_at, ==, 1000);
  mts_user_row_clear (&out);

  g_assert_cmpint (OP (f, user_by_name, "p2", "alice", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.id, ==, "u4");
  mts_user_row_clear (&out);
  g_assert_cmpint (OP (f, user_by_id, "p1", "u2", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.username, ==, "bob");
  mts_user_row_clear (&out);
  /* A user is found only in their own practice. */
  g_assert_cmpint (OP (f, user_by_id, "p2", "u2", &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, user_by_name, "p1", "carol", &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  g_assert_false (OP (f, user_add, &dup, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  assert_message_clean (error, "SECRETHASH");
  g_clear_error (&error);

  dup.id = (char *) "u8";
  dup.username = (char *) "dave";
  dup.practice_id = (char *) "p9";
  g_assert_false (OP (f, user_add, &dup, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  assert_message_clean (error, "SECRETHASH");
  g_clear_error (&error);

  dup.practice_id = (char *) "p1";
  dup.role = (char *) "root";
  g_assert_false (OP (f, user_add, &dup, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_true (OP (f, user_list, "p1", collect_user_cb, names, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 3);
  g_assert_cmpstr (names->pdata[0], ==, "aaron");
  g_assert_cmpstr (names->pdata[1], ==, "alice");
  g_assert_cmpstr (names->pdata[2], ==, "bob");

  g_assert_true (OP (f, user_set_password, "u1", "$argon2id$new", &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, user_by_id, "p1", "u1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.password_hash, ==, "$argon2id$new");
  mts_user_row_clear (&out);
  g_assert_false (OP (f, user_set_password, "u9", password_hash, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  assert_message_clean (error, "SECRETHASH");
}

/* 10. A TOTP step works once: reuse and older steps are refused, newer
 * ones accepted, also through a second connection to the same file (two
 * racing logins); a new secret starts over. */
static void
test_users_totp_step (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = g_bytes_new_static ("new-secret", 10);
  MtsStorage *other;
  MtsUserRow out = { 0 };

  seed (f);
  other = mts_storage_sqlite_open (f->path, &error);
  g_assert_no_error (error);

  g_assert_cmpint (OP (f, user_use_totp_step, "u1", 100, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (other->ops->user_use_totp_step (other, "u1", 100, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, user_use_totp_step, "u1", 100, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, user_use_totp_step, "u1", 99, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (other->ops->user_use_totp_step (other, "u1", 101, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpint (OP (f, user_use_totp_step, "u1", 101, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, user_use_totp_step, "nobody", 500, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  g_assert_cmpint (OP (f, user_by_id, "p1", "u1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.totp_last_step, ==, 101);
  mts_user_row_clear (&out);

  g_assert_true (OP (f, user_set_totp, "u1", sealed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, user_by_id, "p1", "u1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.totp_last_step, ==, -1);
  g_assert_cmpmem (g_bytes_get_data (out.totp_sealed, NULL), g_bytes_get_size (out.totp_sealed),
                   "new-secret", 10);
  mts_user_row_clear (&out);
  g_assert_cmpint (OP (f, user_use_totp_step, "u1", 50, &error), ==, MTS_STORAGE_FOUND);

  g_assert_false (OP (f, user_set_totp, "nobody", sealed, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  assert_message_clean (error, "new-secret");
  mts_storage_close (other);
}

/* ---- devices ---- */

static void
collect_device_cb (const MtsDeviceRow *row, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup (row->id));
}

/* 11. device_touch creates a device, then moves only last_seen_at: the
 * first user and name stay; devices are listed by creation. */
static void
test_devices (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  MtsDeviceRow out = { 0 };

  seed (f);
  add_user (f, "p1", "u2", "bob");
  g_assert_cmpint (OP (f, device_get, "p1", "d1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_cmpstr (out.id, ==, "d1");
  g_assert_cmpstr (out.practice_id, ==, "p1");
  g_assert_cmpstr (out.user_id, ==, "u1");
  g_assert_cmpstr (out.name, ==, "Alice's laptop");
  g_assert_cmpint (out.created_at, ==, 1000);
  g_assert_cmpint (out.last_seen_at, ==, 1000);
  g_assert_cmpint (out.revoked_at, ==, 0);
  mts_device_row_clear (&out);

  touch_device (f, "p1", "u2", "d1", "Renamed", 1500);
  g_assert_cmpint (OP (f, device_get, "p1", "d1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.user_id, ==, "u1");
  g_assert_cmpstr (out.name, ==, "Alice's laptop");
  g_assert_cmpint (out.created_at, ==, 1000);
  g_assert_cmpint (out.last_seen_at, ==, 1500);
  mts_device_row_clear (&out);

  g_assert_cmpint (OP (f, device_get, "p1", "d9", &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  add_practice (f, "p2", "south");
  g_assert_cmpint (OP (f, device_get, "p2", "d1", &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  touch_device (f, "p1", "u2", "d0", NULL, 1200);
  g_assert_true (OP (f, device_list, "p1", collect_device_cb, ids, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 2);
  g_assert_cmpstr (ids->pdata[0], ==, "d1");
  g_assert_cmpstr (ids->pdata[1], ==, "d0");
  g_assert_cmpint (OP (f, device_get, "p1", "d0", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_null (out.name);
  mts_device_row_clear (&out);

  /* A device of a user who does not exist is refused. */
  {
    MtsDeviceRow bad = { (char *) "d5", (char *) "p1", (char *) "u9", NULL, 1, 1, 0 };

    g_assert_false (OP (f, device_touch, &bad, &error));
    g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  }
}

/* 12. Revoking a device revokes all its tokens and no one else's; it stays
 * revoked through a later touch and a second revoke keeps the first time;
 * an unknown device is NOT_FOUND. */
static void
test_devices_revoke (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MtsDeviceRow out = { 0 };

  seed (f);
  touch_device (f, "p1", "u1", "d2", "phone", 1000);
  g_assert_true (put_token (f, 1, MTS_TOKEN_ACCESS, "p1", "u1", "d1", "fam1", 9000, &error));
  g_assert_true (put_token (f, 2, MTS_TOKEN_REFRESH, "p1", "u1", "d1", "fam1", 9000, &error));
  g_assert_true (put_token (f, 3, MTS_TOKEN_REFRESH, "p1", "u1", "d2", "fam2", 9000, &error));
  g_assert_no_error (error);

  g_assert_cmpint (OP (f, device_revoke, "p1", "d1", 2000, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_true (token_revoked (f, 1));
  g_assert_true (token_revoked (f, 2));
  g_assert_false (token_revoked (f, 3));

  touch_device (f, "p1", "u1", "d1", "again", 3000);
  g_assert_cmpint (OP (f, device_revoke, "p1", "d1", 4000, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (OP (f, device_get, "p1", "d1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.revoked_at, ==, 2000);
  g_assert_cmpint (out.last_seen_at, ==, 3000);
  mts_device_row_clear (&out);

  g_assert_cmpint (OP (f, device_revoke, "p1", "d9", 2000, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, device_revoke, "p1", "d2", 0, &error), ==, MTS_STORAGE_ERROR_RESULT);
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_assert_false (token_revoked (f, 3));
}

/* ---- tokens ---- */

/* 13. Tokens by hash, with every field; a taken hash is EXISTS and its
 * message holds no part of the hash; a token of an unknown device is
 * refused. */
static void
test_tokens (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenRow out = { 0 };
  g_autofree char *hex = NULL;

  seed (f);
  g_assert_true (put_token (f, 7, MTS_TOKEN_REFRESH, "p1", "u1", "d1", "fam", 5000, &error));
  g_assert_no_error (error);
  fill_hash (hash, 7);
  g_assert_cmpint (OP (f, token_get, hash, &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_cmpmem (out.hash, sizeof out.hash, hash, sizeof hash);
  g_assert_cmpint (out.kind, ==, MTS_TOKEN_REFRESH);
  g_assert_cmpstr (out.practice_id, ==, "p1");
  g_assert_cmpstr (out.user_id, ==, "u1");
  g_assert_cmpstr (out.device_id, ==, "d1");
  g_assert_cmpstr (out.family, ==, "fam");
  g_assert_cmpint (out.expires_at, ==, 5000);
  g_assert_cmpint (out.used_at, ==, 0);
  g_assert_false (out.revoked);
  mts_token_row_clear (&out);

  fill_hash (hash, 8);
  g_assert_cmpint (OP (f, token_get, hash, &out, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  g_assert_false (put_token (f, 7, MTS_TOKEN_ACCESS, "p1", "u1", "d1", NULL, 5000, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  fill_hash (hash, 7);
  hex = g_malloc (2 * sizeof hash + 1);
  for (gsize i = 0; i < sizeof hash; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", hash[i]);
  assert_message_clean (error, hex + 40);
  g_assert_null (memchr (error->message, hash[3], strlen (error->message)));
  g_clear_error (&error);

  g_assert_false (put_token (f, 9, MTS_TOKEN_ACCESS, "p1", "u1", "d9", NULL, 5000, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
}

/* 14. A refresh token is marked used once: the second time (a replay) is
 * NOT_FOUND, also through another connection; an access token cannot be
 * marked; an unknown hash is NOT_FOUND. */
static void
test_tokens_mark_used (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenRow out = { 0 };
  MtsStorage *other;

  seed (f);
  other = mts_storage_sqlite_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (put_token (f, 1, MTS_TOKEN_REFRESH, "p1", "u1", "d1", "fam", 5000, &error));
  g_assert_true (put_token (f, 2, MTS_TOKEN_ACCESS, "p1", "u1", "d1", "fam", 5000, &error));
  g_assert_true (put_token (f, 3, MTS_TOKEN_REFRESH, "p1", "u1", "d1", "fam", 5000, &error));

  fill_hash (hash, 1);
  g_assert_cmpint (OP (f, token_mark_used, hash, 1234, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (OP (f, token_mark_used, hash, 1235, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, token_get, hash, &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.used_at, ==, 1234);
  mts_token_row_clear (&out);

  fill_hash (hash, 3);
  g_assert_cmpint (other->ops->token_mark_used (other, hash, 1300, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpint (OP (f, token_mark_used, hash, 1300, &error), ==, MTS_STORAGE_NOT_FOUND);

  fill_hash (hash, 2);
  g_assert_cmpint (OP (f, token_mark_used, hash, 1234, &error), ==, MTS_STORAGE_NOT_FOUND);
  fill_hash (hash, 9);
  g_assert_cmpint (OP (f, token_mark_used, hash, 1234, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  fill_hash (hash, 1);
  g_assert_cmpint (OP (f, token_mark_used, hash, 0, &error), ==, MTS_STORAGE_ERROR_RESULT);
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  mts_storage_close (other);
}

/* 15. Revocation by family, by device and by user each reach exactly their
 * tokens; the purge deletes only tokens expired before the time given. */
static void
test_tokens_revoke_and_purge (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint8 hash[MTS_TOKEN_HASH_BYTES];

  seed (f);
  add_user (f, "p1", "u2", "bob");
  touch_device (f, "p1", "u1", "d2", "phone", 1000);
  touch_device (f, "p1", "u2", "d3", "bob's", 1000);
  g_assert_true (put_token (f, 1, MTS_TOKEN_REFRESH, "p1", "u1", "d1", "famA", 5000, &error));
  g_assert_true (put_token (f, 2, MTS_TOKEN_ACCESS, "p1", "u1", "d1", "famA", 100, &error));
  g_assert_true (put_token (f, 3, MTS_TOKEN_REFRESH, "p1", "u1", "d2", "famB", 5000, &error));
  g_assert_true (put_token (f, 4, MTS_TOKEN_REFRESH, "p1", "u2", "d3", "famC", 5000, &error));
  g_assert_true (put_token (f, 5, MTS_TOKEN_ACCESS, "p1", "u2", "d3", NULL, 200, &error));
  g_assert_no_error (error);

  g_assert_true (OP (f, token_revoke_family, "famA", &error));
  g_assert_true (token_revoked (f, 1) && token_revoked (f, 2));
  g_assert_false (token_revoked (f, 3) || token_revoked (f, 4) || token_revoked (f, 5));

  g_assert_true (OP (f, token_revoke_device, "d2", &error));
  g_assert_true (token_revoked (f, 3));
  g_assert_false (token_revoked (f, 4) || token_revoked (f, 5));

  g_assert_true (OP (f, token_revoke_user, "u2", &error));
  g_assert_true (token_revoked (f, 4) && token_revoked (f, 5));
  g_assert_true (OP (f, token_revoke_family, "no-such-family", &error));
  g_assert_no_error (error);

  g_assert_true (OP (f, token_purge, 200, &error));
  g_assert_no_error (error);
  fill_hash (hash, 2);
  g_assert_cmpint (OP (f, token_get, hash, NULL, &error), ==, MTS_STORAGE_NOT_FOUND);
  fill_hash (hash, 5);   /* expires at 200: not before 200 */
  g_assert_cmpint (OP (f, token_get, hash, NULL, &error), ==, MTS_STORAGE_FOUND);
  fill_hash (hash, 1);
  g_assert_cmpint (OP (f, token_get, hash, NULL, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
}

/* ---- failed-login counters ---- */

/* 16. A missing key reads as zeros; put replaces; clear removes; clearing
 * a missing key is fine. */
static void
test_attempts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *key = "account:north-leeds/alice";
  gint64 failures = 9, window_start = 9, locked_until = 9;

  g_assert_true (OP (f, attempt_get, key, &failures, &window_start, &locked_until, &error));
  g_assert_no_error (error);
  g_assert_cmpint (failures, ==, 0);
  g_assert_cmpint (window_start, ==, 0);
  g_assert_cmpint (locked_until, ==, 0);

  g_assert_true (OP (f, attempt_put, key, 3, 1000, 0, &error));
  g_assert_true (OP (f, attempt_put, "address:192.0.2.1", 1, 1100, 0, &error));
  g_assert_true (OP (f, attempt_get, key, &failures, &window_start, &locked_until, &error));
  g_assert_cmpint (failures, ==, 3);
  g_assert_cmpint (window_start, ==, 1000);
  g_assert_cmpint (locked_until, ==, 0);
  g_assert_true (OP (f, attempt_put, key, 5, 1000, 1900, &error));
  g_assert_true (OP (f, attempt_get, key, &failures, &window_start, &locked_until, &error));
  g_assert_cmpint (failures, ==, 5);
  g_assert_cmpint (locked_until, ==, 1900);
  g_assert_true (OP (f, attempt_get, key, NULL, NULL, &locked_until, &error));
  g_assert_cmpint (locked_until, ==, 1900);

  g_assert_true (OP (f, attempt_clear, key, &error));
  g_assert_true (OP (f, attempt_get, key, &failures, &window_start, &locked_until, &error));
  g_assert_cmpint (failures, ==, 0);
  g_assert_cmpint (window_start, ==, 0);
  g_assert_cmpint (locked_until, ==, 0);
  g_assert_true (OP (f, attempt_clear, key, &error));
  g_assert_true (OP (f, attempt_get, "address:192.0.2.1", &failures, NULL, NULL, &error));
  g_assert_cmpint (failures, ==, 1);
  g_assert_no_error (error);
}

/* ---- records ---- */

/* 17. A record's fields come back as given; its sealed bytes (NULs and
 * high bytes included) are stored as given, byte for byte in the file;
 * no sealed bytes stays NULL and empty stays empty. */
static void
test_records_put_get (Fixture *f, gconstpointer data)
{
  static const guint8 envelope[] = { 0x00, 0xff, 0x4d, 0x00, 0x80, 0x01, 0x7f, 0x00 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = g_bytes_new_static (envelope, sizeof envelope);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  MtsRecordRow out = { 0 };
  sqlite3 *db;
  sqlite3_stmt *st = NULL;

  seed (f);
  put_record (f, "p1", "clients", "c1", FALSE, "{\"status\":\"active\"}", sealed);
  put_record (f, "p1", "clients", "c2", FALSE, "{}", NULL);
  put_record (f, "p1", "clients", "c3", FALSE, "{}", empty);

  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  g_assert_cmpstr (out.table, ==, "clients");
  g_assert_cmpstr (out.id, ==, "c1");
  g_assert_cmpint (out.version, ==, 1);
  g_assert_false (out.deleted);
  g_assert_cmpstr (out.plain_json, ==, "{\"status\":\"active\"}");
  g_assert_nonnull (out.sealed);
  g_assert_cmpmem (g_bytes_get_data (out.sealed, NULL), g_bytes_get_size (out.sealed),
                   envelope, sizeof envelope);
  g_assert_cmpstr (out.device_id, ==, "dev-1");
  g_assert_cmpint (out.device_seq, ==, 10);
  g_assert_cmpstr (out.user_id, ==, "user-1");
  g_assert_cmpint (out.created_at, ==, 2001);
  mts_record_row_clear (&out);

  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c2", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_null (out.sealed);
  mts_record_row_clear (&out);
  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c3", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_nonnull (out.sealed);
  g_assert_cmpuint (g_bytes_get_size (out.sealed), ==, 0);
  mts_record_row_clear (&out);

  g_assert_cmpint (OP (f, record_get, "p1", "notes", "c1", &out, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, record_get, "p2", "clients", "c1", &out, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  /* What is in the file, current copy and revision alike, is the envelope. */
  db = raw_open (f->path);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT sealed FROM records WHERE id = 'c1' "
                                       "UNION ALL SELECT sealed FROM revisions WHERE id = 'c1'",
                                       -1, &st, NULL), ==, SQLITE_OK);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_type (st, 0), ==, SQLITE_BLOB);
      g_assert_cmpmem (sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0),
                       envelope, sizeof envelope);
    }
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
  sqlite3_finalize (st);
  sqlite3_close (db);
}

/* 18. Every revision is kept and readable by version while the record
 * shows the newest; a version taken (by any record of the practice) is
 * EXISTS; an older version never replaces a newer one, and the failed put
 * leaves no revision behind. */
static void
test_records_revisions (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MtsRecordRow out = { 0 };
  MtsRecordRow row = {
    (char *) "notes", (char *) "n1", 2, FALSE, (char *) "{\"v\":\"stale\"}", NULL,
    (char *) "dev-1", 99, (char *) "user-1", 3000,
  };
  gint64 v1, v2, v3;

  seed (f);
  v1 = put_record (f, "p1", "notes", "n1", FALSE, "{\"v\":1}", NULL);
  put_record (f, "p1", "notes", "n2", FALSE, "{\"other\":1}", NULL);
  v2 = put_record (f, "p1", "notes", "n1", FALSE, "{\"v\":2}", NULL);
  v3 = put_record (f, "p1", "notes", "n1", TRUE, "{\"v\":3}", NULL);
  g_assert_cmpint (v1, ==, 1);
  g_assert_cmpint (v2, ==, 3);
  g_assert_cmpint (v3, ==, 4);

  g_assert_cmpint (OP (f, record_get, "p1", "notes", "n1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.version, ==, v3);
  g_assert_true (out.deleted);
  g_assert_cmpstr (out.plain_json, ==, "{\"v\":3}");
  mts_record_row_clear (&out);

  g_assert_cmpint (OP (f, revision_get, "p1", "notes", "n1", v1, &out, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.plain_json, ==, "{\"v\":1}");
  g_assert_false (out.deleted);
  g_assert_cmpint (out.device_seq, ==, v1 * 10);
  mts_record_row_clear (&out);
  g_assert_cmpint (OP (f, revision_get, "p1", "notes", "n1", v2, &out, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpstr (out.plain_json, ==, "{\"v\":2}");
  mts_record_row_clear (&out);
  g_assert_cmpint (OP (f, revision_get, "p1", "notes", "n1", v3, &out, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_true (out.deleted);
  mts_record_row_clear (&out);
  /* Version 2 belongs to n2. */
  g_assert_cmpint (OP (f, revision_get, "p1", "notes", "n1", 2, &out, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);

  /* Version 2 is taken (by n2): EXISTS, and nothing changed. */
  row.id = (char *) "n3";
  g_assert_false (OP (f, record_put, "p1", &row, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  assert_message_clean (error, "stale");
  g_clear_error (&error);
  g_assert_cmpint (OP (f, record_get, "p1", "notes", "n3", NULL, &error), ==,
                   MTS_STORAGE_NOT_FOUND);

  /* Version 2 for n1 again: 2 < 4 and taken anyway. */
  row.id = (char *) "n1";
  g_assert_false (OP (f, record_put, "p1", &row, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* A fresh version (5, taken from the counter but never stored) that is
   * older than n1's current one (6): refused, and no revision 5 kept. */
  {
    g_autoptr(GBytes) secret = g_bytes_new_static ("TOPSECRET", 9);

    g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 5);
    g_assert_cmpint (put_record (f, "p1", "notes", "n1", FALSE, "{\"v\":6}", NULL), ==, 6);
    row.version = 5;
    row.sealed = secret;
    g_assert_false (OP (f, record_put, "p1", &row, &error));
    g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
    assert_message_clean (error, "TOPSECRET");
    assert_message_clean (error, "stale");
    g_clear_error (&error);
    row.sealed = NULL;
  }
  g_assert_cmpint (OP (f, revision_get, "p1", "notes", "n1", 5, &out, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, record_get, "p1", "notes", "n1", &out, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (out.version, ==, 6);
  mts_record_row_clear (&out);

  /* A record of no practice is refused. */
  row.version = 1;
  g_assert_false (OP (f, record_put, "p9", &row, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
}

typedef struct {
  GPtrArray *ids;
  GArray *versions;
  guint stop_after;   /* 0: never stop */
} PullData;

static gboolean
pull_cb (const MtsRecordRow *row, gpointer user_data)
{
  PullData *d = user_data;

  g_ptr_array_add (d->ids, g_strdup (row->id));
  g_array_append_val (d->versions, row->version);
  return d->stop_after == 0 || d->ids->len < d->stop_after;
}

static void
pull_data_reset (PullData *d)
{
  g_ptr_array_set_size (d->ids, 0);
  g_array_set_size (d->versions, 0);
  d->stop_after = 0;
}

/* 19. Pull pages in version order with the count remaining after each;
 * an updated record moves to the end; tombstones are pulled; other
 * practices' records never appear; a callback can stop early; limit 0
 * gives only the count. */
static void
test_records_pull (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  PullData d = { ids, versions, 0 };
  gint64 remaining = -1;
  gint64 after = 0;

  seed (f);
  add_practice (f, "p2", "south");
  for (int i = 0; i < 25; i++)
    {
      g_autofree char *id = g_strdup_printf ("c%02d", i);

      put_record (f, "p1", "clients", id, FALSE, "{}", NULL);
      put_record (f, "p2", "clients", id, FALSE, "{}", NULL);
    }
  /* c03 is edited and c04 deleted: versions 26 and 27 in p1. */
  put_record (f, "p1", "clients", "c03", FALSE, "{\"edited\":1}", NULL);
  put_record (f, "p1", "clients", "c04", TRUE, "{}", NULL);

  /* 25 current records: pages of 10, 10, 5. */
  for (int page = 0; page < 3; page++)
    {
      static const gint64 want_remaining[] = { 15, 5, 0 };
      static const guint want_len[] = { 10, 10, 5 };

      pull_data_reset (&d);
      g_assert_true (OP (f, pull, "p1", after, 10, pull_cb, &d, &remaining, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (ids->len, ==, want_len[page]);
      g_assert_cmpint (remaining, ==, want_remaining[page]);
      for (guint i = 1; i < versions->len; i++)
        g_assert_cmpint (g_array_index (versions, gint64, i - 1), <,
                         g_array_index (versions, gint64, i));
      g_assert_cmpint (g_array_index (versions, gint64, 0), >, after);
      after = g_array_index (versions, gint64, versions->len - 1);
    }
  /* The last page ends with the edit and the tombstone. */
  g_assert_cmpstr (ids->pdata[3], ==, "c03");
  g_assert_cmpstr (ids->pdata[4], ==, "c04");
  g_assert_cmpint (after, ==, 27);

  pull_data_reset (&d);
  g_assert_true (OP (f, pull, "p1", after, 10, pull_cb, &d, &remaining, &error));
  g_assert_cmpuint (ids->len, ==, 0);
  g_assert_cmpint (remaining, ==, 0);

  /* Stopping after 4 of a page of 10: remaining counts after the fourth. */
  pull_data_reset (&d);
  d.stop_after = 4;
  g_assert_true (OP (f, pull, "p1", 0, 10, pull_cb, &d, &remaining, &error));
  g_assert_cmpuint (ids->len, ==, 4);
  g_assert_cmpint (remaining, ==, 21);

  pull_data_reset (&d);
  g_assert_true (OP (f, pull, "p1", 20, 0, pull_cb, &d, &remaining, &error));
  g_assert_cmpuint (ids->len, ==, 0);
  g_assert_cmpint (remaining, ==, 7);   /* c20..c24, then 26 and 27 */

  pull_data_reset (&d);
  g_assert_true (OP (f, pull, "p2", 0, 100, pull_cb, &d, NULL, &error));
  g_assert_cmpuint (ids->len, ==, 25);
  g_assert_no_error (error);

  pull_data_reset (&d);
  g_assert_true (OP (f, pull, "p9", 0, 100, pull_cb, &d, &remaining, &error));
  g_assert_cmpuint (ids->len, ==, 0);
  g_assert_cmpint (remaining, ==, 0);
  g_assert_no_error (error);
}

/* 20. live_count counts current records that are not tombstones, per
 * practice; an undeleted record counts again. */
static void
test_records_live_count (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  seed (f);
  add_practice (f, "p2", "south");
  g_assert_cmpint (OP (f, live_count, "p1", &error), ==, 0);
  put_record (f, "p1", "clients", "c1", FALSE, "{}", NULL);
  put_record (f, "p1", "clients", "c2", FALSE, "{}", NULL);
  put_record (f, "p1", "notes", "n1", FALSE, "{}", NULL);
  put_record (f, "p2", "clients", "c1", FALSE, "{}", NULL);
  g_assert_cmpint (OP (f, live_count, "p1", &error), ==, 3);
  put_record (f, "p1", "clients", "c2", TRUE, "{}", NULL);
  put_record (f, "p1", "clients", "c2", TRUE, "{}", NULL);
  g_assert_cmpint (OP (f, live_count, "p1", &error), ==, 2);
  put_record (f, "p1", "clients", "c2", FALSE, "{}", NULL);
  g_assert_cmpint (OP (f, live_count, "p1", &error), ==, 3);
  g_assert_cmpint (OP (f, live_count, "p2", &error), ==, 1);
  g_assert_cmpint (OP (f, live_count, "p9", &error), ==, 0);
  g_assert_no_error (error);
}

/* ---- pushed ops ---- */

/* 21. An op's result is kept by (practice, device, device seq) and given
 * back; storing it again is EXISTS; the same seq of another device or
 * practice is another op. */
static void
test_ops (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  seed (f);
  add_practice (f, "p2", "south");
  g_assert_cmpint (OP (f, op_get, "p1", "d1", 1, &json, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_null (json);
  g_assert_true (OP (f, op_put, "p1", "d1", 1, "{\"status\":\"applied\",\"version\":7}", &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, op_get, "p1", "d1", 1, &json, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (json, ==, "{\"status\":\"applied\",\"version\":7}");
  g_clear_pointer (&json, g_free);

  g_assert_false (OP (f, op_put, "p1", "d1", 1, "{\"status\":\"SECRETRESULT\"}", &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  assert_message_clean (error, "SECRETRESULT");
  g_clear_error (&error);
  g_assert_cmpint (OP (f, op_get, "p1", "d1", 1, &json, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (json, ==, "{\"status\":\"applied\",\"version\":7}");
  g_clear_pointer (&json, g_free);

  g_assert_true (OP (f, op_put, "p1", "d2", 1, "{\"status\":\"duplicate\"}", &error));
  g_assert_true (OP (f, op_put, "p2", "d1", 1, "{\"status\":\"rejected\"}", &error));
  g_assert_true (OP (f, op_put, "p1", "d1", 2, "{\"status\":\"conflict\"}", &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, op_get, "p2", "d1", 1, &json, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (json, ==, "{\"status\":\"rejected\"}");
  g_assert_cmpint (OP (f, op_get, "p1", "d1", 3, NULL, &error), ==, MTS_STORAGE_NOT_FOUND);
}

/* ---- audit ---- */

/* 22. A device's audit head is stored, read back and replaced. */
static void
test_audit_heads (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mac = NULL;
  gint64 seq = -1, at = -1;

  seed (f);
  g_assert_cmpint (OP (f, audit_head_get, "p1", "d1", &seq, &mac, &at, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_null (mac);
  g_assert_true (OP (f, audit_head_put, "p1", "d1", 10, "aa01", 1000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, audit_head_get, "p1", "d1", &seq, &mac, &at, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpint (seq, ==, 10);
  g_assert_cmpstr (mac, ==, "aa01");
  g_assert_cmpint (at, ==, 1000);
  g_clear_pointer (&mac, g_free);

  g_assert_true (OP (f, audit_head_put, "p1", "d1", 25, "bb02", 2000, &error));
  g_assert_cmpint (OP (f, audit_head_get, "p1", "d1", &seq, &mac, &at, &error), ==,
                   MTS_STORAGE_FOUND);
  g_assert_cmpint (seq, ==, 25);
  g_assert_cmpstr (mac, ==, "bb02");
  g_assert_cmpint (at, ==, 2000);
  g_assert_cmpint (OP (f, audit_head_get, "p1", "d2", NULL, NULL, NULL, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);
}

static void
make_audit_row (MtsAuditRow *row, gint64 seq)
{
  memset (row, 0, sizeof *row);
  row->seq = seq;
  row->at = 1000 + seq;
  row->practice_id = seq == 2 ? NULL : g_strdup ("p1");
  row->actor = g_strdup ("u1");
  row->event = g_strdup_printf ("event-%" G_GINT64_FORMAT, seq);
  row->detail_json = g_strdup ("{\"n\":1}");
  for (int i = 0; i < 32; i++)
    row->mac[i] = (guint8) (seq + i);
}

static gboolean
collect_audit_cb (const MtsAuditRow *row, gpointer user_data)
{
  PullData *d = user_data;

  g_array_append_val (d->versions, row->seq);
  return d->stop_after == 0 || d->versions->len < d->stop_after;
}

/* 23. The audit log keeps entries as given: audit_last reads the newest,
 * audit_foreach walks after a seq in order and stops when asked; a seq
 * given twice is EXISTS. */
static void
test_audit_log (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) seqs = g_array_new (FALSE, FALSE, sizeof (gint64));
  PullData d = { ids, seqs, 0 };
  MtsAuditRow row = { 0 };
  MtsAuditRow want = { 0 };

  g_assert_cmpint (OP (f, audit_last, &row, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_no_error (error);
  for (gint64 seq = 1; seq <= 5; seq++)
    {
      make_audit_row (&row, seq);
      g_assert_true (OP (f, audit_append, &row, &error));
      g_assert_no_error (error);
      mts_audit_row_clear (&row);
    }

  g_assert_cmpint (OP (f, audit_last, &row, &error), ==, MTS_STORAGE_FOUND);
  make_audit_row (&want, 5);
  g_assert_cmpint (row.seq, ==, 5);
  g_assert_cmpint (row.at, ==, want.at);
  g_assert_cmpstr (row.practice_id, ==, "p1");
  g_assert_cmpstr (row.actor, ==, want.actor);
  g_assert_cmpstr (row.event, ==, want.event);
  g_assert_cmpstr (row.detail_json, ==, want.detail_json);
  g_assert_cmpmem (row.mac, 32, want.mac, 32);
  mts_audit_row_clear (&row);
  mts_audit_row_clear (&want);

  g_assert_true (OP (f, audit_foreach, 0, collect_audit_cb, &d, &error));
  g_assert_cmpuint (seqs->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (g_array_index (seqs, gint64, i), ==, i + 1);
  pull_data_reset (&d);
  g_assert_true (OP (f, audit_foreach, 3, collect_audit_cb, &d, &error));
  g_assert_cmpuint (seqs->len, ==, 2);
  g_assert_cmpint (g_array_index (seqs, gint64, 0), ==, 4);
  g_assert_cmpint (g_array_index (seqs, gint64, 1), ==, 5);
  pull_data_reset (&d);
  d.stop_after = 2;
  g_assert_true (OP (f, audit_foreach, 0, collect_audit_cb, &d, &error));
  g_assert_cmpuint (seqs->len, ==, 2);
  g_assert_no_error (error);

  /* Entry 2 is server-wide: its practice stays NULL. */
  {
    sqlite3 *db = raw_open (f->path);

    g_assert_cmpint (raw_int (db, "SELECT count(*) FROM audit_log "
                                  "WHERE seq = 2 AND practice_id IS NULL"), ==, 1);
    sqlite3_close (db);
  }

  make_audit_row (&row, 3);
  g_assert_false (OP (f, audit_append, &row, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS);
  mts_audit_row_clear (&row);
}

/* 24. Revisions and the audit log refuse UPDATE and DELETE, whoever
 * connects. */
static void
test_append_only (Fixture *f, gconstpointer data)
{
  static const char *const refused[] = {
    "UPDATE revisions SET plain_json = '{}'",
    "DELETE FROM revisions",
    "UPDATE audit_log SET event = 'x'",
    "DELETE FROM audit_log",
  };
  g_autoptr(GError) error = NULL;
  MtsAuditRow row = { 0 };
  sqlite3 *db;

  seed (f);
  put_record (f, "p1", "clients", "c1", FALSE, "{}", NULL);
  make_audit_row (&row, 1);
  g_assert_true (OP (f, audit_append, &row, &error));
  mts_audit_row_clear (&row);

  db = raw_open (f->path);
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_test_message ("%s", refused[i]);
      g_assert_cmpint (sqlite3_exec (db, refused[i], NULL, NULL, NULL), ==, SQLITE_CONSTRAINT);
    }
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM revisions"), ==, 1);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM audit_log"), ==, 1);
  sqlite3_close (db);
}

/* ---- transactions ---- */

/* 25. Rollback discards everything since begin, commit keeps it; a failed
 * op inside a transaction leaves it open with the earlier work intact. */
static void
test_transactions (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MtsRecordRow stale = {
    (char *) "clients", (char *) "c1", 1, FALSE, (char *) "{}", NULL,
    NULL, 0, NULL, 0,
  };

  seed (f);
  g_assert_true (OP (f, begin, &error));
  add_practice (f, "p2", "south");
  put_record (f, "p1", "clients", "c1", FALSE, "{}", NULL);
  g_assert_true (OP (f, attempt_put, "address:192.0.2.1", 1, 1, 0, &error));
  f->s->ops->rollback (f->s);
  g_assert_cmpint (OP (f, practice_by_id, "p2", NULL, &error), ==, MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c1", NULL, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, next_version, "p1", &error), ==, 1);   /* counter rolled back */
  g_assert_no_error (error);

  g_assert_true (OP (f, begin, &error));
  put_record (f, "p1", "clients", "c1", FALSE, "{}", NULL);   /* version 2 */
  /* Version 1 was taken from the counter but never stored: a put of it is
   * older than c1's 2, refused, and undoes only itself. */
  g_assert_false (OP (f, record_put, "p1", &stale, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  add_practice (f, "p3", "east");
  /* A second begin is refused; the transaction goes on. */
  g_assert_false (OP (f, begin, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_true (OP (f, commit, &error));
  g_assert_no_error (error);
  g_assert_cmpint (OP (f, record_get, "p1", "clients", "c1", NULL, &error), ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (OP (f, revision_get, "p1", "clients", "c1", 1, NULL, &error), ==,
                   MTS_STORAGE_NOT_FOUND);
  g_assert_cmpint (OP (f, practice_by_id, "p3", NULL, &error), ==, MTS_STORAGE_FOUND);

  /* Commit with nothing open is an error; rollback is a no-op. */
  g_assert_false (OP (f, commit, &error));
  g_assert_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED);
  g_clear_error (&error);
  f->s->ops->rollback (f->s);

  /* Committed data survives reopening. */
  reopen (f);
  g_assert_cmpint (OP (f, practice_by_id, "p3", NULL, &error), ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
}

/* 26. A write transaction holds the write lock from begin: another
 * connection's write waits (here: gives up, SQLITE_BUSY) until commit,
 * while it can still read what was committed before. */
static void
test_transactions_isolation (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  sqlite3 *db;

  seed (f);
  g_assert_true (OP (f, begin, &error));
  add_practice (f, "p2", "south");

  db = raw_open (f->path);
  sqlite3_busy_timeout (db, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM practices"), ==, 1);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO attempts VALUES ('k', 1, 1, 1)",
                                 NULL, NULL, NULL), ==, SQLITE_BUSY);
  g_assert_true (OP (f, commit, &error));
  g_assert_no_error (error);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM practices"), ==, 2);
  sqlite3_close (db);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  g_test_add_func ("/storage/file/mode-and-wal", test_file_mode_and_wal);
  g_test_add_func ("/storage/file/tightened", test_file_tightened);
  ADD ("/storage/file/reopen", test_file_reopen);
  ADD ("/storage/file/newer-refused", test_file_newer_refused);
  g_test_add_func ("/storage/file/foreign-refused", test_file_foreign_refused);
  g_test_add_func ("/storage/file/memory", test_file_memory);
  ADD ("/storage/practices/create-lookup", test_practices);
  ADD ("/storage/practices/next-version", test_practices_next_version);
  ADD ("/storage/users/add-lookup-list", test_users);
  ADD ("/storage/users/totp-step", test_users_totp_step);
  ADD ("/storage/devices/touch-get-list", test_devices);
  ADD ("/storage/devices/revoke", test_devices_revoke);
  ADD ("/storage/tokens/put-get", test_tokens);
  ADD ("/storage/tokens/mark-used", test_tokens_mark_used);
  ADD ("/storage/tokens/revoke-purge", test_tokens_revoke_and_purge);
  ADD ("/storage/attempts", test_attempts);
  ADD ("/storage/records/put-get", test_records_put_get);
  ADD ("/storage/records/revisions", test_records_revisions);
  ADD ("/storage/records/pull", test_records_pull);
  ADD ("/storage/records/live-count", test_records_live_count);
  ADD ("/storage/ops", test_ops);
  ADD ("/storage/audit/heads", test_audit_heads);
  ADD ("/storage/audit/log", test_audit_log);
  ADD ("/storage/append-only", test_append_only);
  ADD ("/storage/transactions/rollback-commit", test_transactions);
  ADD ("/storage/transactions/isolation", test_transactions_isolation);
#undef ADD

  return g_test_run ();
}
