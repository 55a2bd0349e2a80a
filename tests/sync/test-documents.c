/* test-documents.c — documents of the practice store
 * (sync/mts-store-documents.h): round trips at the chunk boundaries, the
 * file format as docs/store.md describes it, what reaches the disk, and
 * the refusals: a damaged, truncated, extended, swapped or wrongly keyed
 * file, a locked store, an unknown id; and that a failed add or get leaves
 * nothing behind. */
#define _GNU_SOURCE   /* memmem */
#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "mts-store-documents.h"

#define PASS "correct horse battery"
#define CHUNK MTS_DOCUMENT_CHUNK_BYTES
#define ABYTES 17
#define HEADER 24
#define MARKER "ZQX-PLAINTEXT-MARKER-4711"
#define NAME_MARKER "Jane Doe - letter QWV-5150.pdf"
#define NAME_PART "QWV-5150"   /* the schema's comments hold a similar example name */

typedef struct {
  char *base;     /* holds the store, the sources and the outputs */
  char *dir;      /* the store */
  char *files;    /* its files folder */
  char *out;      /* an empty folder for outputs */
  MtsStore *store;
  char *client_id;
  char *other_client_id;
} Fixture;

/* ---- helpers ---- */

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (d);
      g_assert_cmpint (g_rmdir (path), ==, 0);
    }
  else
    g_assert_cmpint (g_remove (path), ==, 0);
}

static guint
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

static char *
add_client (Fixture *fx, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = mts_client_new ();

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (fx->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->base = g_dir_make_tmp ("mts-test-documents-XXXXXX", &error);
  g_assert_no_error (error);
  fx->dir = g_build_filename (fx->base, "practice", NULL);
  fx->out = g_build_filename (fx->base, "out", NULL);
  g_assert_cmpint (g_mkdir (fx->out, 0700), ==, 0);
  fx->store = mts_store_create (fx->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->store);
  fx->files = g_build_filename (mts_store_get_dir (fx->store), "files", NULL);
  fx->client_id = add_client (fx, "Jane Doe");
  fx->other_client_id = add_client (fx, "John Roe");
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->store);
  remove_tree (fx->base);
  g_free (fx->base);
  g_free (fx->dir);
  g_free (fx->files);
  g_free (fx->out);
  g_free (fx->client_id);
  g_free (fx->other_client_id);
}

/* @len bytes of recognisable content: MARKER every 1000 bytes, the rest a
 * pattern that varies with @seed.  (transfer full) */
static guint8 *
make_content (gsize len, guint8 seed)
{
  guint8 *data = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * 7 + seed + i / 251);
  for (gsize i = 0; i + strlen (MARKER) <= len; i += 1000)
    memcpy (data + i, MARKER, strlen (MARKER));
  return data;
}

static char *
write_source (Fixture *fx, const char *name, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (fx->base, name, NULL);

  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, &error));
  g_assert_no_error (error);
  return path;
}

/* Adds @len bytes of content as a document of the fixture's client.
 * (transfer full) */
static MtsDocument *
add_document (Fixture *fx, const char *name, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = write_source (fx, "source.bin", data, len);
  MtsDocument *d = mts_document_new ();

  d->client_id = g_strdup (fx->client_id);
  d->file_name = g_strdup (name);
  g_assert_true (mts_store_document_add (fx->store, d, src, &error));
  g_assert_no_error (error);
  g_assert_nonnull (d->id);
  g_assert_cmpint (d->size_bytes, ==, (gint64) len);
  g_assert_cmpint (g_remove (src), ==, 0);
  return d;
}

static char *
stored_path (Fixture *fx, const char *id)
{
  return g_build_filename (fx->files, id, NULL);
}

static guint8 *
read_all (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, &error));
  g_assert_no_error (error);
  return (guint8 *) data;
}

static void
write_all (const char *path, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, &error));
  g_assert_no_error (error);
}

/* Gets @id and asserts the output is exactly @data. */
static void
assert_round_trip (Fixture *fx, const char *id, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dest = g_build_filename (fx->out, "copy", NULL);
  g_autofree guint8 *back = NULL;
  gsize back_len = 0;
  struct stat sb;

  g_assert_true (mts_store_document_get (fx->store, id, dest, &error));
  g_assert_no_error (error);
  back = read_all (dest, &back_len);
  g_assert_cmpmem (back, back_len, data, len);
  g_assert_cmpint (g_stat (dest, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_remove (dest), ==, 0);
  g_assert_cmpuint (count_entries (fx->out), ==, 0);
}

/* Gets @id, expecting @domain/@code; asserts no output, not even a
 * temporary file, is left.  Returns the message.  (transfer full) */
static char *
assert_get_fails (Fixture *fx, const char *id, GQuark domain, int code)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dest = g_build_filename (fx->out, "copy", NULL);

  g_assert_false (mts_store_document_get (fx->store, id, dest, &error));
  g_assert_error (error, domain, code);
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_entries (fx->out), ==, 0);
  return g_strdup (error->message);
}

static void
assert_damaged (Fixture *fx, const char *id, const char *why)
{
  g_autofree char *message = assert_get_fails (fx, id, MTS_DOCUMENT_ERROR,
                                               MTS_DOCUMENT_ERROR_DAMAGED);

  g_assert_true (g_str_has_prefix (message, "document file is damaged: "));
  if (why != NULL && strstr (message, why) == NULL)
    g_error ("expected \"%s\" in \"%s\"", why, message);
}

static void
exec_sql (Fixture *fx, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (mts_store_get_db (fx->store), sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gint64
query_int (Fixture *fx, const char *sql, const char *arg)
{
  sqlite3 *db = mts_store_get_db (fx->store);
  sqlite3_stmt *st = NULL;
  gint64 v;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  if (arg != NULL)
    sqlite3_bind_text (st, 1, arg, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

/* The first column of @sql's first row as a blob, @arg bound to ?1. */
static GBytes *
query_blob (Fixture *fx, const char *sql, const char *arg)
{
  sqlite3 *db = mts_store_get_db (fx->store);
  sqlite3_stmt *st = NULL;
  GBytes *b;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, arg, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_ROW)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  b = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
  sqlite3_finalize (st);
  return b;
}

/* Runs @sql with ?1 = @a and ?2 = @b. */
static void
exec_bound (Fixture *fx, const char *sql, const char *a, const char *b)
{
  sqlite3 *db = mts_store_get_db (fx->store);
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, a, -1, SQLITE_TRANSIENT);
  if (b != NULL)
    sqlite3_bind_text (st, 2, b, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  sqlite3_finalize (st);
}

/* Nothing of a failed add remains: no file, no temporary file, no row, no
 * outbox entry. */
static void
assert_nothing_added (Fixture *fx)
{
  g_assert_cmpuint (count_entries (fx->files), ==, 0);
  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM documents", NULL), ==, 0);
  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM sync_outbox WHERE table_name = 'documents'",
                              NULL), ==, 0);
}

static gsize
chunks_of (gsize len)
{
  return len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;
}

/* ---- round trips ---- */

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  gsize len = GPOINTER_TO_SIZE (data);
  g_autofree guint8 *content = make_content (len, 1);
  g_autoptr (MtsDocument) d = add_document (fx, "letter.bin", content, len);
  g_autofree char *path = stored_path (fx, d->id);
  struct stat sb;

  /* The layout: header, then a chunk per 64 KiB, each 17 bytes longer. */
  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  g_assert_cmpint (sb.st_size, ==, HEADER + len + ABYTES * chunks_of (len));
  g_assert_cmpint (sb.st_mode & 0777, ==, 0600);
  assert_round_trip (fx, d->id, content, len);
  /* Twice: reading changes nothing. */
  assert_round_trip (fx, d->id, content, len);
}

/* Decrypts a stored file with libsodium alone, as docs/store.md describes
 * it, and checks the recorded size and hash. */
static void
test_format (Fixture *fx, gconstpointer data)
{
  const gsize len = 2 * CHUNK + 1234;
  g_autofree guint8 *content = make_content (len, 2);
  g_autoptr (MtsDocument) d = add_document (fx, "letter.bin", content, len);
  g_autofree char *path = stored_path (fx, d->id);
  g_autofree char *key_sql = g_strdup ("SELECT mts_decrypt(file_key, 'documents.file_key:' || id) "
                                       "FROM documents WHERE id = ?1");
  g_autoptr (GBytes) key = query_blob (fx, key_sql, d->id);
  g_autoptr (GBytes) hash = query_blob (fx, "SELECT content_hash FROM documents WHERE id = ?1",
                                        d->id);
  g_autofree guint8 *file = NULL;
  g_autofree guint8 *plain = g_malloc (len);
  crypto_secretstream_xchacha20poly1305_state state;
  guint8 hash_key[32], want[32];
  gsize file_len = 0, pos = HEADER, got = 0;
  guint chunks = 0;
  unsigned char tag = 0;

  g_assert_cmpuint (g_bytes_get_size (key), ==, 32);
  g_assert_cmpuint (g_bytes_get_size (hash), ==, 32);
  file = read_all (path, &file_len);
  g_assert_cmpint (crypto_secretstream_xchacha20poly1305_init_pull (&state, file,
                                                                    g_bytes_get_data (key, NULL)),
                   ==, 0);
  while (pos < file_len)
    {
      gsize clen = MIN (CHUNK + ABYTES, file_len - pos);
      unsigned long long plen = 0;

      g_assert_cmpint (crypto_secretstream_xchacha20poly1305_pull (&state, plain + got, &plen, &tag,
                                                                   file + pos, clen, NULL, 0),
                       ==, 0);
      chunks++;
      pos += clen;
      got += plen;
      if (pos < file_len)
        {
          g_assert_cmpuint (plen, ==, CHUNK);
          g_assert_cmpint (tag, ==, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        }
    }
  g_assert_cmpint (tag, ==, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  g_assert_cmpuint (chunks, ==, 3);
  g_assert_cmpmem (plain, got, content, len);
  /* content_hash = BLAKE2b-256(plaintext, key = KDF(file key, 1, "doc-hash")). */
  crypto_kdf_derive_from_key (hash_key, sizeof hash_key, 1, "doc-hash",
                              g_bytes_get_data (key, NULL));
  crypto_generichash (want, sizeof want, content, len, hash_key, sizeof hash_key);
  g_assert_cmpmem (g_bytes_get_data (hash, NULL), 32, want, sizeof want);
  g_assert_cmpint (query_int (fx, "SELECT size_bytes FROM documents WHERE id = ?1", d->id), ==,
                   (gint64) len);
}

/* ---- records ---- */

static void
test_info_list (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *text = "Dear Dr Smith,\nThank you for seeing Jane.\n";
  g_autofree char *src = write_source (fx, "GP letter.txt", (const guint8 *) text, strlen (text));
  g_autoptr (MtsDocument) a = mts_document_new ();
  g_autoptr (MtsDocument) b = mts_document_new ();
  g_autoptr (MtsDocument) info = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) none = NULL;
  MtsDocument *first, *second;

  /* Name from the source's, MIME type guessed. */
  a->client_id = g_strdup (fx->client_id);
  g_assert_true (mts_store_document_add (fx->store, a, src, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a->file_name, ==, "GP letter.txt");
  g_assert_cmpstr (a->mime_type, ==, "text/plain");
  g_assert_cmpint (a->size_bytes, ==, strlen (text));
  g_assert_nonnull (a->created_at);
  /* Name and MIME type given. */
  b->client_id = g_strdup (fx->client_id);
  b->file_name = g_strdup ("Consent form.pdf");
  b->mime_type = g_strdup ("application/pdf");
  g_assert_true (mts_store_document_add (fx->store, b, src, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (b->mime_type, ==, "application/pdf");

  info = mts_store_document_info (fx->store, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->id, ==, a->id);
  g_assert_cmpstr (info->client_id, ==, fx->client_id);
  g_assert_null (info->session_id);
  g_assert_cmpstr (info->file_name, ==, "GP letter.txt");
  g_assert_cmpstr (info->mime_type, ==, "text/plain");
  g_assert_cmpint (info->size_bytes, ==, strlen (text));
  g_assert_cmpint (info->version, ==, 0);
  g_assert_cmpstr (info->created_at, ==, a->created_at);
  g_assert_cmpstr (info->updated_at, ==, a->updated_at);

  list = mts_store_document_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  first = list->pdata[0];
  second = list->pdata[1];
  g_assert_cmpstr (first->id, ==, a->id);
  g_assert_cmpstr (second->id, ==, b->id);
  g_assert_cmpstr (second->file_name, ==, "Consent form.pdf");
  none = mts_store_document_list (fx->store, fx->other_client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_session (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = write_source (fx, "rec.ogg", (const guint8 *) "OggS", 4);
  g_autoptr (MtsDocument) d = mts_document_new ();
  g_autoptr (MtsDocument) info = NULL;

  exec_bound (fx, "INSERT INTO sessions (id, created_at, updated_at, client_id, starts_at, ends_at) "
                  "VALUES ('0193a000-0000-7000-8000-000000000001', '2024-11-28T09:00:00.000Z', "
                  "'2024-11-28T09:00:00.000Z', ?1, '2024-11-28T09:00:00.000Z', "
                  "'2024-11-28T09:50:00.000Z')", fx->client_id, NULL);
  /* Another client's session, an unknown session: refused. */
  d->client_id = g_strdup (fx->other_client_id);
  d->session_id = g_strdup ("0193a000-0000-7000-8000-000000000001");
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_free (d->client_id);
  d->client_id = g_strdup (fx->client_id);
  g_free (d->session_id);
  d->session_id = g_strdup ("0193a000-0000-7000-8000-00000000ffff");
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  assert_nothing_added (fx);

  g_free (d->session_id);
  d->session_id = g_strdup ("0193a000-0000-7000-8000-000000000001");
  g_assert_true (mts_store_document_add (fx->store, d, src, &error));
  g_assert_no_error (error);
  info = mts_store_document_info (fx->store, d->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->session_id, ==, "0193a000-0000-7000-8000-000000000001");
}

/* The write, its audit entry and its outbox entry, together. */
static void
test_outbox (Fixture *fx, gconstpointer data)
{
  const guint8 content[] = "hello";
  g_autoptr (MtsDocument) d = add_document (fx, "a.txt", content, 5);

  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM sync_outbox WHERE table_name = 'documents' "
                                  "AND row_id = ?1 AND op = 'upsert' AND base_version = 0 AND "
                                  "changed_columns LIKE '%file_key%'", d->id), ==, 1);
  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM mts_audit WHERE target = 'documents' "
                                  "AND action = 'insert' AND row_id = ?1", d->id), ==, 1);
  g_assert_cmpint (query_int (fx, "SELECT mts_audit_verify() = 'ok'", NULL), ==, 1);
}

/* ---- what reaches the disk ---- */

static gboolean
contains (const char *path, const char *needle)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  return g_file_get_contents (path, &data, &len, NULL)
         && memmem (data, len, needle, strlen (needle)) != NULL;
}

static void
test_no_plaintext (Fixture *fx, gconstpointer data)
{
  const gsize len = 3 * CHUNK + 5;
  g_autofree guint8 *content = make_content (len, 3);
  g_autoptr (MtsDocument) d = add_document (fx, NAME_MARKER, content, len);
  g_autofree char *path = stored_path (fx, d->id);
  static const char *const db_files[] = { "practice.db", "practice.db-wal" };

  /* The markers are there to be found... */
  g_assert_nonnull (memmem (content, len, MARKER, strlen (MARKER)));
  /* ...but not in the document's file, nor in the database. */
  g_assert_false (contains (path, MARKER));
  g_assert_false (contains (path, "Jane Doe"));
  for (gsize i = 0; i < G_N_ELEMENTS (db_files); i++)
    {
      g_autofree char *db = g_build_filename (mts_store_get_dir (fx->store), db_files[i], NULL);
      g_assert_false (contains (db, MARKER));
      g_assert_false (contains (db, NAME_MARKER));
      g_assert_false (contains (db, NAME_PART));
    }
  exec_sql (fx, "PRAGMA wal_checkpoint(TRUNCATE)");
  {
    g_autofree char *db = g_build_filename (mts_store_get_dir (fx->store), "practice.db", NULL);
    g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
    g_assert_false (contains (db, MARKER));
    g_assert_false (contains (db, NAME_PART));
  }
}

/* Every document has its own key, so equal files differ on disk and in
 * their hashes: neither links two copies of one letter. */
static void
test_fresh_keys (Fixture *fx, gconstpointer data)
{
  const gsize len = 1000;
  g_autofree guint8 *content = make_content (len, 4);
  g_autoptr (MtsDocument) a = add_document (fx, "a", content, len);
  g_autoptr (MtsDocument) b = add_document (fx, "b", content, len);
  const char *key_sql = "SELECT mts_decrypt(file_key, 'documents.file_key:' || id) "
                        "FROM documents WHERE id = ?1";
  const char *hash_sql = "SELECT content_hash FROM documents WHERE id = ?1";
  g_autoptr (GBytes) ka = query_blob (fx, key_sql, a->id);
  g_autoptr (GBytes) kb = query_blob (fx, key_sql, b->id);
  g_autoptr (GBytes) ha = query_blob (fx, hash_sql, a->id);
  g_autoptr (GBytes) hb = query_blob (fx, hash_sql, b->id);
  g_autofree char *pa = stored_path (fx, a->id);
  g_autofree char *pb = stored_path (fx, b->id);
  g_autofree guint8 *fa = NULL, *fb = NULL;
  gsize la = 0, lb = 0;

  g_assert_false (g_bytes_equal (ka, kb));
  g_assert_false (g_bytes_equal (ha, hb));
  fa = read_all (pa, &la);
  fb = read_all (pb, &lb);
  g_assert_cmpuint (la, ==, lb);
  g_assert_true (memcmp (fa, fb, la) != 0);
  /* The file key is wrapped, never stored bare. */
  g_assert_cmpint (query_int (fx, "SELECT length(file_key) FROM documents WHERE id = ?1", a->id),
                   ==, 32 + 47);
}

/* ---- refusals ---- */

/* Another document's file in this one's place. */
static void
test_swapped_file (Fixture *fx, gconstpointer data)
{
  const gsize len = 5000;
  g_autofree guint8 *ca = make_content (len, 5);
  g_autofree guint8 *cb = make_content (len, 6);
  g_autoptr (MtsDocument) a = add_document (fx, "a", ca, len);
  g_autoptr (MtsDocument) b = add_document (fx, "b", cb, len);
  g_autofree char *pa = stored_path (fx, a->id);
  g_autofree char *pb = stored_path (fx, b->id);
  g_autofree guint8 *fb = NULL;
  gsize lb = 0;

  fb = read_all (pb, &lb);
  write_all (pa, fb, lb);
  assert_damaged (fx, a->id, "chunk 1 does not authenticate");
  assert_round_trip (fx, b->id, cb, len);
}

/* A wrong key: another document's key, properly wrapped for this one; and
 * another document's wrapped key copied as it is. */
static void
test_wrong_key (Fixture *fx, gconstpointer data)
{
  const gsize len = 5000;
  g_autofree guint8 *ca = make_content (len, 7);
  g_autofree guint8 *cb = make_content (len, 8);
  g_autoptr (MtsDocument) a = add_document (fx, "a", ca, len);
  g_autoptr (MtsDocument) b = add_document (fx, "b", cb, len);
  g_autoptr (MtsDocument) c = add_document (fx, "c", ca, len);
  g_autofree char *message = NULL;

  exec_bound (fx, "UPDATE documents SET file_key = mts_encrypt((SELECT mts_decrypt(file_key, "
                  "'documents.file_key:' || id) FROM documents WHERE id = ?2), "
                  "'documents.file_key:' || id) WHERE id = ?1", a->id, b->id);
  assert_damaged (fx, a->id, "does not authenticate");

  exec_bound (fx, "UPDATE documents SET file_key = (SELECT file_key FROM documents WHERE id = ?2) "
                  "WHERE id = ?1", c->id, b->id);
  message = assert_get_fails (fx, c->id, MTS_STORE_ERROR, MTS_STORE_ERROR_DB);
  g_assert_nonnull (strstr (message, "does not authenticate"));

  assert_round_trip (fx, b->id, cb, len);
}

/* A flipped bit anywhere in the file: header, body or tag of any chunk. */
static void
test_flipped_byte (Fixture *fx, gconstpointer data)
{
  const gsize len = 2 * CHUNK + 100;   /* chunks: 64 KiB, 64 KiB, 100 bytes */
  g_autofree guint8 *content = make_content (len, 9);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, len);
  g_autofree char *path = stored_path (fx, d->id);
  g_autofree guint8 *file = NULL;
  gsize file_len = 0;
  const gsize full = CHUNK + ABYTES;

  file = read_all (path, &file_len);
  g_assert_cmpuint (file_len, ==, HEADER + len + 3 * ABYTES);
  {
    const gsize positions[] = {
      0, HEADER - 1,                           /* the header (the stream's nonce) */
      HEADER, HEADER + 1, HEADER + 5000,       /* chunk 1: its tag byte, its body */
      HEADER + full - 1,                       /* chunk 1's MAC */
      HEADER + full, HEADER + full + 40000,    /* chunk 2 */
      HEADER + 2 * full,                       /* chunk 3's tag byte */
      HEADER + 2 * full + 50,                  /* chunk 3's body */
      file_len - 1,                            /* the last byte: the final MAC */
    };

    for (gsize i = 0; i < G_N_ELEMENTS (positions); i++)
      {
        file[positions[i]] ^= 0x01;
        write_all (path, file, file_len);
        assert_damaged (fx, d->id, "does not authenticate");
        file[positions[i]] ^= 0x01;
      }
  }
  write_all (path, file, file_len);
  assert_round_trip (fx, d->id, content, len);
}

static void
test_truncated (Fixture *fx, gconstpointer data)
{
  const gsize len = 2 * CHUNK + 100;
  g_autofree guint8 *content = make_content (len, 10);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, len);
  g_autoptr (MtsDocument) e = add_document (fx, "e", content, 2 * CHUNK);
  g_autofree char *path = stored_path (fx, d->id);
  g_autofree char *epath = stored_path (fx, e->id);
  g_autofree guint8 *file = NULL;
  g_autofree guint8 *efile = NULL;
  gsize file_len = 0, efile_len = 0;
  const gsize full = CHUNK + ABYTES;

  file = read_all (path, &file_len);
  efile = read_all (epath, &efile_len);
  /* The final chunk dropped, at a chunk boundary. */
  write_all (path, file, HEADER + 2 * full);
  assert_damaged (fx, d->id, "before its final chunk");
  write_all (path, file, HEADER + full);
  assert_damaged (fx, d->id, "before its final chunk");
  write_all (epath, efile, HEADER + full);   /* a full final chunk dropped */
  assert_damaged (fx, e->id, "before its final chunk");
  write_all (path, file, HEADER);
  assert_damaged (fx, d->id, "before its final chunk");
  /* Cut mid-chunk: in the final chunk, in a full one, inside a MAC. */
  write_all (path, file, file_len - 1);
  assert_damaged (fx, d->id, "does not authenticate");
  write_all (path, file, HEADER + 2 * full + 10);
  assert_damaged (fx, d->id, "does not authenticate");
  write_all (path, file, HEADER + full + 30000);
  assert_damaged (fx, d->id, "does not authenticate");
  write_all (path, file, HEADER + full - 3);
  assert_damaged (fx, d->id, "does not authenticate");
  /* Cut in the header; empty. */
  write_all (path, file, 10);
  assert_damaged (fx, d->id, "header is truncated");
  write_all (path, file, 0);
  assert_damaged (fx, d->id, "header is truncated");
  /* Missing altogether. */
  g_assert_cmpint (g_remove (path), ==, 0);
  assert_damaged (fx, d->id, "is missing");

  write_all (path, file, file_len);
  write_all (epath, efile, efile_len);
  assert_round_trip (fx, d->id, content, len);
  assert_round_trip (fx, e->id, content, 2 * CHUNK);
}

static void
test_appended (Fixture *fx, gconstpointer data)
{
  g_autofree guint8 *content = make_content (CHUNK + 1, 11);
  /* A short final chunk (the junk joins it) and a full one (the junk
   * follows it). */
  g_autoptr (MtsDocument) a = add_document (fx, "a", content, 100);
  g_autoptr (MtsDocument) b = add_document (fx, "b", content, CHUNK);
  g_autoptr (MtsDocument) c = add_document (fx, "c", content, 0);
  MtsDocument *docs[] = { a, b, c };
  const char *const why[] = { "does not authenticate", "data follows its final chunk",
                              "does not authenticate" };
  static const gsize junk_lens[] = { 1, 17, 4096 };

  for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (junk_lens); j++)
      {
        g_autofree char *path = stored_path (fx, docs[i]->id);
        g_autofree guint8 *file = NULL;
        g_autofree guint8 *longer = NULL;
        gsize file_len = 0;

        file = read_all (path, &file_len);
        longer = g_malloc0 (file_len + junk_lens[j]);
        memcpy (longer, file, file_len);
        write_all (path, longer, file_len + junk_lens[j]);
        /* b: any junk follows its full final chunk.  a, c: up to a full
         * chunk of junk joins the final chunk and breaks its MAC. */
        assert_damaged (fx, docs[i]->id, why[i]);
        write_all (path, file, file_len);
      }
  assert_round_trip (fx, a->id, content, 100);
  assert_round_trip (fx, b->id, content, CHUNK);
  assert_round_trip (fx, c->id, content, 0);
}

/* The size and the hash the store recorded are checked too: a file whose
 * every chunk authenticates is still refused when they disagree. */
static void
test_size_and_hash (Fixture *fx, gconstpointer data)
{
  const gsize len = CHUNK + 10;
  g_autofree guint8 *content = make_content (len, 12);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, len);

  exec_bound (fx, "UPDATE documents SET size_bytes = size_bytes + 1 WHERE id = ?1", d->id, NULL);
  assert_damaged (fx, d->id, "the store recorded");
  exec_bound (fx, "UPDATE documents SET size_bytes = size_bytes - 2 WHERE id = ?1", d->id, NULL);
  assert_damaged (fx, d->id, "holds more than");
  exec_bound (fx, "UPDATE documents SET size_bytes = size_bytes + 1 WHERE id = ?1", d->id, NULL);
  assert_round_trip (fx, d->id, content, len);

  exec_bound (fx, "UPDATE documents SET content_hash = zeroblob(32) WHERE id = ?1", d->id, NULL);
  assert_damaged (fx, d->id, "content hash does not match");
  exec_bound (fx, "UPDATE documents SET content_hash = zeroblob(16) WHERE id = ?1", d->id, NULL);
  assert_damaged (fx, d->id, "content hash is not 32 bytes");
}

static void
test_delete (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const gsize len = 3000;
  g_autofree guint8 *content = make_content (len, 13);
  g_autoptr (MtsDocument) d = add_document (fx, NAME_MARKER, content, len);
  g_autoptr (MtsDocument) keep = add_document (fx, "keep", content, len);
  g_autoptr (MtsDocument) info = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *path = stored_path (fx, d->id);

  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (mts_store_document_delete (fx->store, d->id, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  info = mts_store_document_info (fx->store, d->id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_assert_null (info);
  g_clear_error (&error);
  list = mts_store_document_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpstr (((MtsDocument *) list->pdata[0])->id, ==, keep->id);
  g_free (assert_get_fails (fx, d->id, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND));

  /* A tombstone for sync, nothing readable in it, and the delete queued. */
  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM documents WHERE id = ?1 AND deleted = 1 "
                                  "AND file_name IS NULL AND file_key IS NULL AND content_hash "
                                  "IS NULL AND mime_type IS NULL AND size_bytes = 0", d->id), ==, 1);
  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM sync_outbox WHERE table_name = 'documents' "
                                  "AND row_id = ?1 AND op = 'delete' AND changed_columns IS NULL",
                              d->id), ==, 1);

  g_assert_cmpint (query_int (fx, "SELECT count(*) FROM mts_audit WHERE target = 'documents' "
                                  "AND action = 'update' AND row_id = ?1", d->id), ==, 1);
  g_assert_cmpint (query_int (fx, "SELECT mts_audit_verify() = 'ok'", NULL), ==, 1);

  g_assert_false (mts_store_document_delete (fx->store, d->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  assert_round_trip (fx, keep->id, content, len);
  g_assert_cmpuint (count_entries (fx->files), ==, 1);
}

/* Deleting a client takes its documents' files with it. */
static void
test_client_delete (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *content = make_content (100, 14);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, 100);
  g_autoptr (MtsDocument) e G_GNUC_UNUSED = add_document (fx, "e", content, 100);

  g_assert_cmpuint (count_entries (fx->files), ==, 2);
  g_assert_true (mts_store_client_delete (fx->store, fx->client_id, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (fx->files), ==, 0);
  g_free (assert_get_fails (fx, d->id, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND));
}

static void
test_locked (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *content = make_content (100, 15);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, 100);
  g_autofree char *src = write_source (fx, "another", content, 100);
  g_autoptr (MtsDocument) n = mts_document_new ();
  g_autoptr (MtsDocument) info = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *path = stored_path (fx, d->id);

  mts_store_lock (fx->store);
  n->client_id = g_strdup (fx->client_id);
  g_assert_false (mts_store_document_add (fx->store, n, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_null (n->id);
  g_assert_cmpuint (count_entries (fx->files), ==, 1);
  g_free (assert_get_fails (fx, d->id, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED));
  info = mts_store_document_info (fx->store, d->id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_assert_null (info);
  g_clear_error (&error);
  list = mts_store_document_list (fx->store, fx->client_id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_assert_null (list);
  g_clear_error (&error);
  g_assert_false (mts_store_document_delete (fx->store, d->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  g_assert_true (mts_store_unlock (fx->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  assert_round_trip (fx, d->id, content, 100);
}

static void
test_unknown_id (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *id = "0193a000-0000-7000-8000-00000000abcd";
  g_autoptr (MtsDocument) info = NULL;

  g_free (assert_get_fails (fx, id, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND));
  info = mts_store_document_info (fx->store, id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_assert_null (info);
  g_clear_error (&error);
  g_assert_false (mts_store_document_delete (fx->store, id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
}

/* Refused adds leave nothing behind. */
static void
test_add_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = write_source (fx, "a.txt", (const guint8 *) "abc", 3);
  g_autofree char *missing = g_build_filename (fx->base, "no-such-file", NULL);
  g_autoptr (MtsDocument) d = mts_document_new ();

  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  d->client_id = g_strdup ("0193a000-0000-7000-8000-00000000abcd");
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_free (d->client_id);
  d->client_id = g_strdup (fx->client_id);
  g_assert_false (mts_store_document_add (fx->store, d, missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (mts_store_document_add (fx->store, d, fx->out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  d->file_name = g_strdup ("bad \xff name");
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (d->id);
  assert_nothing_added (fx);
}

/* The database refuses the row after the file was written: the file goes. */
static void
test_insert_fails (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *content = make_content (CHUNK * 2, 16);
  g_autofree char *src = write_source (fx, "a.bin", content, CHUNK * 2);
  g_autoptr (MtsDocument) d = mts_document_new ();

  exec_sql (fx, "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.documents "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  d->client_id = g_strdup (fx->client_id);
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB);
  g_assert_nonnull (strstr (error->message, "refused by the test"));
  g_clear_error (&error);
  g_assert_null (d->id);
  assert_nothing_added (fx);
  exec_sql (fx, "DROP TRIGGER refuse");
  g_assert_true (mts_store_document_add (fx->store, d, src, &error));
  g_assert_no_error (error);
}

static int
refuse_commit_cb (void *data)
{
  return 1;
}

/* The commit fails after the file took its name: the file goes. */
static void
test_commit_fails (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = write_source (fx, "a.txt", (const guint8 *) "abc", 3);
  g_autoptr (MtsDocument) d = mts_document_new ();

  sqlite3_commit_hook (mts_store_get_db (fx->store), refuse_commit_cb, NULL);
  d->client_id = g_strdup (fx->client_id);
  g_assert_false (mts_store_document_add (fx->store, d, src, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_DB);
  g_clear_error (&error);
  sqlite3_commit_hook (mts_store_get_db (fx->store), NULL, NULL);
  g_assert_null (d->id);
  assert_nothing_added (fx);
}

typedef struct {
  GCancellable *cancellable;
  goffset cancel_at;   /* cancel once this many bytes are done; 0: never */
  goffset last;
  goffset total;
  guint calls;
} Progress;

static void
progress_cb (goffset current, goffset total, gpointer data)
{
  Progress *p = data;

  g_assert_cmpint (current, >, p->last);
  g_assert_cmpint (current, <=, total);
  p->last = current;
  p->total = total;
  p->calls++;
  if (p->cancel_at > 0 && current >= p->cancel_at)
    g_cancellable_cancel (p->cancellable);
}

static void
test_progress (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const gsize len = 4 * CHUNK + 3;
  g_autofree guint8 *content = make_content (len, 17);
  g_autofree char *src = write_source (fx, "big.bin", content, len);
  g_autofree char *dest = g_build_filename (fx->out, "copy", NULL);
  g_autoptr (MtsDocument) d = mts_document_new ();
  Progress p = { 0 };

  d->client_id = g_strdup (fx->client_id);
  g_assert_true (mts_store_document_add_full (fx->store, d, src, NULL, progress_cb, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.calls, ==, 5);
  g_assert_cmpint (p.last, ==, len);
  g_assert_cmpint (p.total, ==, len);
  p = (Progress) { 0 };
  g_assert_true (mts_store_document_get_full (fx->store, d->id, dest, NULL, progress_cb, &p,
                                              &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.calls, ==, 5);
  g_assert_cmpint (p.last, ==, len);
  g_assert_cmpint (p.total, ==, len);
}

static void
test_cancel (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  const gsize len = 4 * CHUNK + 3;
  g_autofree guint8 *content = make_content (len, 18);
  g_autofree char *src = write_source (fx, "big.bin", content, len);
  g_autofree char *dest = g_build_filename (fx->out, "copy", NULL);
  g_autoptr (MtsDocument) d = mts_document_new ();
  Progress p = { cancellable, CHUNK, 0, 0, 0 };

  d->client_id = g_strdup (fx->client_id);
  g_assert_false (mts_store_document_add_full (fx->store, d, src, cancellable, progress_cb, &p,
                                               &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (p.calls, ==, 1);
  assert_nothing_added (fx);

  g_cancellable_reset (cancellable);
  g_assert_true (mts_store_document_add (fx->store, d, src, &error));
  g_assert_no_error (error);
  p = (Progress) { cancellable, 2 * CHUNK, 0, 0, 0 };
  g_assert_false (mts_store_document_get_full (fx->store, d->id, dest, cancellable, progress_cb,
                                               &p, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_entries (fx->out), ==, 0);
}

/* get replaces what was at the destination, only once the document has
 * checked out: a damaged document leaves an existing file alone. */
static void
test_replace (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *content = make_content (100, 19);
  g_autoptr (MtsDocument) d = add_document (fx, "d", content, 100);
  g_autofree char *dest = g_build_filename (fx->out, "copy", NULL);
  g_autofree char *path = stored_path (fx, d->id);
  g_autofree guint8 *file = NULL;
  g_autofree guint8 *back = NULL;
  gsize file_len = 0, back_len = 0;

  write_all (dest, (const guint8 *) "old", 3);
  g_assert_cmpint (g_chmod (dest, 0644), ==, 0);
  file = read_all (path, &file_len);
  file[HEADER + 3] ^= 0x80;
  write_all (path, file, file_len);
  g_assert_false (mts_store_document_get (fx->store, d->id, dest, &error));
  g_assert_error (error, MTS_DOCUMENT_ERROR, MTS_DOCUMENT_ERROR_DAMAGED);
  g_clear_error (&error);
  back = read_all (dest, &back_len);
  g_assert_cmpmem (back, back_len, "old", 3);
  g_assert_cmpuint (count_entries (fx->out), ==, 1);
  g_clear_pointer (&back, g_free);

  file[HEADER + 3] ^= 0x80;
  write_all (path, file, file_len);
  g_assert_true (mts_store_document_get (fx->store, d->id, dest, &error));
  g_assert_no_error (error);
  back = read_all (dest, &back_len);
  g_assert_cmpmem (back, back_len, content, 100);
  {
    struct stat sb;
    g_assert_cmpint (g_stat (dest, &sb), ==, 0);
    g_assert_cmpint (sb.st_mode & 0777, ==, 0600);
  }
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    gsize len;
  } sizes[] = {
    { "empty", 0 },
    { "small", 11 },
    { "one-byte-short", CHUNK - 1 },
    { "one-chunk", CHUNK },
    { "one-chunk-and-a-byte", CHUNK + 1 },
    { "multi-chunk", 1024 * 1024 + 3 },
  };

  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/documents/round-trip/%s", sizes[i].name);
      g_test_add (path, Fixture, GSIZE_TO_POINTER (sizes[i].len), fixture_set_up,
                  test_round_trip, fixture_tear_down);
    }
  ADD ("/documents/format", test_format);
  ADD ("/documents/info-list", test_info_list);
  ADD ("/documents/session", test_session);
  ADD ("/documents/outbox", test_outbox);
  ADD ("/documents/no-plaintext", test_no_plaintext);
  ADD ("/documents/fresh-keys", test_fresh_keys);
  ADD ("/documents/swapped-file", test_swapped_file);
  ADD ("/documents/wrong-key", test_wrong_key);
  ADD ("/documents/flipped-byte", test_flipped_byte);
  ADD ("/documents/truncated", test_truncated);
  ADD ("/documents/appended", test_appended);
  ADD ("/documents/size-and-hash", test_size_and_hash);
  ADD ("/documents/delete", test_delete);
  ADD ("/documents/client-delete", test_client_delete);
  ADD ("/documents/locked", test_locked);
  ADD ("/documents/unknown-id", test_unknown_id);
  ADD ("/documents/add-refused", test_add_refused);
  ADD ("/documents/insert-fails", test_insert_fails);
  ADD ("/documents/commit-fails", test_commit_fails);
  ADD ("/documents/progress", test_progress);
  ADD ("/documents/cancel", test_cancel);
  ADD ("/documents/replace", test_replace);
#undef ADD

  return g_test_run ();
}
