/* mts-store-documents.c — documents of the practice store (see
 * mts-store-documents.h; the file format is in docs/store.md).
 *
 * A document file is a secretstream: a 24-byte header, then one chunk per
 * MTS_DOCUMENT_CHUNK_BYTES of plaintext, each 17 bytes longer than its
 * plaintext; every chunk but the last holds exactly a full chunk of
 * plaintext and is tagged MESSAGE, the last holds the rest (0 bytes only
 * for an empty file) and is tagged FINAL.  No additional data.
 *
 * The content hash is BLAKE2b-256 of the plaintext keyed with
 * crypto_kdf_derive_from_key(32, 1, "doc-hash", file key): one random key
 * per document, two uses kept apart by the KDF, and nothing to store
 * besides the wrapped file key.
 */
#define G_LOG_DOMAIN "mts-store"

#include "mts-store-documents.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mts-store-private.h"
#include "mts-uuid.h"

G_DEFINE_QUARK (mts-document-error-quark, mts_document_error)

#define CHUNK MTS_DOCUMENT_CHUNK_BYTES
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define HASH_BYTES 32
#define HASH_KEY_CONTEXT "doc-hash"   /* crypto_kdf context: 8 bytes */
#define HASH_KEY_ID 1

G_STATIC_ASSERT (sizeof HASH_KEY_CONTEXT - 1 == crypto_kdf_CONTEXTBYTES);
G_STATIC_ASSERT (KEY_BYTES == crypto_kdf_KEYBYTES);

/* ---- records ---- */

MtsDocument *
mts_document_new (void)
{
  return g_new0 (MtsDocument, 1);
}

void
mts_document_free (MtsDocument *d)
{
  if (d == NULL)
    return;
  g_free (d->id);
  g_free (d->created_at);
  g_free (d->updated_at);
  g_free (d->client_id);
  g_free (d->session_id);
  g_free (d->file_name);
  g_free (d->mime_type);
  g_free (d);
}

/* ---- helpers ---- */

static char *
files_dir (MtsStore *store)
{
  return g_build_filename (mts_store_get_dir (store), "files", NULL);
}

static char *
file_path (MtsStore *store, const char *id)
{
  return g_build_filename (mts_store_get_dir (store), "files", id, NULL);
}

static gboolean
io_fail (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s %s: %s", what, path,
               g_strerror (errsv));
  return FALSE;
}

static gboolean G_GNUC_PRINTF (2, 3)
damaged (GError **error, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MTS_DOCUMENT_ERROR, MTS_DOCUMENT_ERROR_DAMAGED,
               "document file is damaged: %s", why);
  return FALSE;
}

/* Reads up to @len bytes, stopping early only at the end of the file.
 * Returns the count, or -1 with errno set. */
static gssize
read_full (int fd, guint8 *buf, gsize len)
{
  gsize got = 0;

  while (got < len)
    {
      gssize n = read (fd, buf + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      got += (gsize) n;
    }
  return (gssize) got;
}

static gboolean
write_all (int fd, const guint8 *buf, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Makes a rename in @dir durable. */
static gboolean
sync_dir (const char *dir, GError **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int errsv;

  if (fd < 0)
    return io_fail (error, errno, "cannot open", dir);
  if (fsync (fd) != 0)
    {
      errsv = errno;
      close (fd);
      return io_fail (error, errsv, "cannot sync", dir);
    }
  close (fd);
  return TRUE;
}

/* A new private temporary file beside @path (a dot-file in its folder, so a
 * rename puts it in place atomically).  Returns the descriptor, or -1 with
 * @error set; *@tmp_path receives its name.  */
static int
open_temp_beside (const char *path, char **tmp_path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.XXXXXX", base);
  char *tmpl = g_build_filename (dir, name, NULL);
  int fd = g_mkstemp_full (tmpl, O_WRONLY | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      io_fail (error, errno, "cannot create a file in", dir);
      g_free (tmpl);
      return -1;
    }
  /* g_mkstemp_full honours the umask, which can only remove bits. */
  fchmod (fd, 0600);
  *tmp_path = tmpl;
  return fd;
}

static void
derive_hash_key (guint8 hash_key[HASH_BYTES], const guint8 key[KEY_BYTES])
{
  crypto_kdf_derive_from_key (hash_key, HASH_BYTES, HASH_KEY_ID, HASH_KEY_CONTEXT, key);
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* ---- add ---- */

/* Encrypts @src to @out under a fresh @key, hashing the plaintext into
 * @hash; guesses the MIME type from @name and the first chunk when
 * *@mime_type is NULL; sets *@size. */
static gboolean
encrypt_file (int src, const char *source_path, int out, const char *tmp_path, const char *name,
              const guint8 key[KEY_BYTES], guint8 hash[HASH_BYTES], gint64 *size,
              char **mime_type, GCancellable *cancellable, GFileProgressCallback progress,
              gpointer progress_data, GError **error)
{
  crypto_secretstream_xchacha20poly1305_state state;
  crypto_generichash_state hstate;
  guint8 header[HEADER_BYTES];
  guint8 hash_key[HASH_BYTES];
  /* Two plaintext buffers (the current chunk and the one after it, read
   * ahead to know whether the current one is the last) and a ciphertext one. */
  guint8 *buf = g_malloc (2 * CHUNK + CHUNK + ABYTES);
  guint8 *cur = buf, *next = buf + CHUNK, *cipher = buf + 2 * CHUNK;
  struct stat sb;
  goffset total_size = 0;
  gint64 total = 0;
  gboolean ok = FALSE;
  gssize n, m = 0;

  if (fstat (src, &sb) == 0)
    total_size = sb.st_size;
  derive_hash_key (hash_key, key);
  crypto_generichash_init (&hstate, hash_key, sizeof hash_key, HASH_BYTES);
  crypto_secretstream_xchacha20poly1305_init_push (&state, header, key);
  if (!write_all (out, header, sizeof header))
    {
      io_fail (error, errno, "cannot write", tmp_path);
      goto out;
    }
  if ((n = read_full (src, cur, CHUNK)) < 0)
    {
      io_fail (error, errno, "cannot read", source_path);
      goto out;
    }
  if (*mime_type == NULL)
    {
      g_autofree char *type = g_content_type_guess (name, cur, (gsize) n, NULL);
      *mime_type = g_content_type_get_mime_type (type);
      if (*mime_type == NULL)
        *mime_type = g_strdup ("application/octet-stream");
    }
  for (;;)
    {
      unsigned long long clen;
      gboolean last;
      guint8 *swap;

      if (!check_cancelled (cancellable, error))
        goto out;
      if (n == CHUNK && (m = read_full (src, next, CHUNK)) < 0)
        {
          io_fail (error, errno, "cannot read", source_path);
          goto out;
        }
      last = n < CHUNK || m == 0;
      crypto_secretstream_xchacha20poly1305_push (
        &state, cipher, &clen, cur, (unsigned long long) n, NULL, 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
             : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
      crypto_generichash_update (&hstate, cur, (unsigned long long) n);
      if (!write_all (out, cipher, (gsize) clen))
        {
          io_fail (error, errno, "cannot write", tmp_path);
          goto out;
        }
      total += n;
      if (progress != NULL)
        progress (total, MAX (total, total_size), progress_data);
      if (last)
        break;
      swap = cur, cur = next, next = swap;
      n = m;
    }
  crypto_generichash_final (&hstate, hash, HASH_BYTES);
  if (fsync (out) != 0)
    {
      io_fail (error, errno, "cannot sync", tmp_path);
      goto out;
    }
  *size = total;
  ok = TRUE;
out:
  sodium_memzero (buf, 2 * CHUNK + CHUNK + ABYTES);
  g_free (buf);
  sodium_memzero (&state, sizeof state);
  sodium_memzero (&hstate, sizeof hstate);
  sodium_memzero (hash_key, sizeof hash_key);
  return ok;
}

/* Checks that @session_id is a live session of @client_id. */
static gboolean
check_session (MtsStore *store, const char *session_id, const char *client_id, GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT client_id FROM sessions WHERE id = ?1 AND deleted = 0",
                              error);
  gboolean ok = FALSE;
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, session_id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (st, 0), client_id) == 0)
    ok = TRUE;
  else if (rc == SQLITE_ROW)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                 "session %s is not one of client %s's", session_id, client_id);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no session %s", session_id);
  else
    mts_store_db_fail (store, error, "cannot read the session");
  sqlite3_finalize (st);
  return ok;
}

gboolean
mts_store_document_add (MtsStore *store, MtsDocument *document, const char *source_path,
                        GError **error)
{
  return mts_store_document_add_full (store, document, source_path, NULL, NULL, NULL, error);
}

gboolean
mts_store_document_add_full (MtsStore *store, MtsDocument *d, const char *source_path,
                             GCancellable *cancellable, GFileProgressCallback progress,
                             gpointer progress_data, GError **error)
{
  g_autoptr (MtsClient) client = NULL;
  g_autofree char *id = NULL;
  g_autofree char *at = NULL;
  g_autofree char *name = NULL;
  g_autofree char *mime_type = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *tmp_path = NULL;
  guint8 key[KEY_BYTES];
  guint8 hash[HASH_BYTES];
  gint64 size = 0;
  gboolean renamed = FALSE, ok = FALSE;
  sqlite3_stmt *st;
  struct stat sb;
  int src = -1, out = -1;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (d != NULL, FALSE);
  g_return_val_if_fail (source_path != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error))
    return FALSE;
  if (mts_store_nonempty (d->client_id) == NULL)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "a document belongs to a client: give its client id");
      return FALSE;
    }
  client = mts_store_client_get (store, d->client_id, error);
  if (client == NULL)
    return FALSE;
  if (mts_store_nonempty (d->session_id) != NULL && !check_session (store, d->session_id, d->client_id, error))
    return FALSE;
  name = mts_store_nonempty (d->file_name) ? g_strdup (d->file_name) : g_filename_display_basename (source_path);
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "a document's file name must be UTF-8 text");
      return FALSE;
    }
  mime_type = g_strdup (mts_store_nonempty (d->mime_type));

  src = g_open (source_path, O_RDONLY | O_CLOEXEC, 0);
  if (src < 0)
    return io_fail (error, errno, "cannot open", source_path);
  if (fstat (src, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "%s is not a regular file",
                   source_path);
      close (src);
      return FALSE;
    }

  id = mts_uuid7_new ();
  dir = files_dir (store);
  path = file_path (store, id);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      io_fail (error, errno, "cannot create", dir);
      goto out;
    }
  if ((out = open_temp_beside (path, &tmp_path, error)) < 0)
    goto out;
  crypto_secretstream_xchacha20poly1305_keygen (key);
  if (!encrypt_file (src, source_path, out, tmp_path, name, key, hash, &size, &mime_type,
                     cancellable, progress, progress_data, error))
    goto out;
  if (close (out) != 0)
    {
      out = -1;
      io_fail (error, errno, "cannot write", tmp_path);
      goto out;
    }
  out = -1;

  /* The row, its audit entry (trigger) and its outbox entry; the file takes
   * its name just before the commit. */
  at = mts_store_now_iso ();
  if (!mts_store_begin (store, error))
    goto out;
  st = mts_store_prepare (store, "INSERT INTO documents (id, created_at, updated_at, client_id, session_id, "
                       "file_name, mime_type, size_bytes, content_hash, file_key) VALUES "
                       "(?1, ?2, ?2, ?3, ?4, mts_encrypt(?5, 'documents.file_name:' || ?1), "
                       "?6, ?7, ?8, mts_encrypt(?9, 'documents.file_key:' || ?1))", error);
  if (st == NULL)
    goto out;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  mts_store_bind_text (st, 3, d->client_id);
  mts_store_bind_text (st, 4, mts_store_nonempty (d->session_id));
  mts_store_bind_text (st, 5, name);
  mts_store_bind_text (st, 6, mime_type);
  sqlite3_bind_int64 (st, 7, size);
  sqlite3_bind_blob (st, 8, hash, sizeof hash, SQLITE_TRANSIENT);
  /* Static: SQLite reads the key from here and keeps no copy of its own. */
  sqlite3_bind_blob (st, 9, key, sizeof key, SQLITE_STATIC);
  if (!mts_store_step_finalize (store, st, error))
    goto out;
  if (!mts_store_outbox_add (store, "documents", id, "upsert",
                             "client_id,session_id,file_name,mime_type,size_bytes,content_hash,"
                             "file_key", 0, at, error))
    goto out;
  if (g_rename (tmp_path, path) != 0)
    {
      io_fail (error, errno, "cannot rename", tmp_path);
      goto out;
    }
  renamed = TRUE;
  if (!sync_dir (dir, error) || !mts_store_commit (store, error))
    goto out;
  ok = TRUE;

  g_free (d->id);
  d->id = g_steal_pointer (&id);
  g_free (d->created_at);
  d->created_at = g_strdup (at);
  g_free (d->updated_at);
  d->updated_at = g_strdup (at);
  g_free (d->file_name);
  d->file_name = g_steal_pointer (&name);
  g_free (d->mime_type);
  d->mime_type = g_steal_pointer (&mime_type);
  d->size_bytes = size;
  d->version = 0;
out:
  sodium_memzero (key, sizeof key);
  if (src >= 0)
    close (src);
  if (out >= 0)
    close (out);
  if (!ok)
    {
      mts_store_rollback (store);
      if (renamed)
        g_unlink (path);
      else if (tmp_path != NULL)
        g_unlink (tmp_path);
    }
  return ok;
}

/* ---- get ---- */

/* Document @id's file key, size and content hash. */
static gboolean
read_key (MtsStore *store, const char *id, guint8 key[KEY_BYTES], gint64 *size,
          guint8 hash[HASH_BYTES], GError **error)
{
  sqlite3_stmt *st = mts_store_prepare (store, "SELECT mts_decrypt(file_key, 'documents.file_key:' || id), "
                                     "size_bytes, content_hash FROM documents "
                                     "WHERE id = ?1 AND deleted = 0", error);
  gboolean ok = FALSE;
  int rc;

  if (st == NULL)
    return FALSE;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      if (sqlite3_column_type (st, 0) != SQLITE_BLOB || sqlite3_column_bytes (st, 0) != KEY_BYTES)
        damaged (error, "document %s's key is not a %d-byte key", id, KEY_BYTES);
      else if (sqlite3_column_type (st, 2) != SQLITE_BLOB
               || sqlite3_column_bytes (st, 2) != HASH_BYTES)
        damaged (error, "document %s's content hash is not %d bytes", id, HASH_BYTES);
      else
        {
          memcpy (key, sqlite3_column_blob (st, 0), KEY_BYTES);
          memcpy (hash, sqlite3_column_blob (st, 2), HASH_BYTES);
          *size = sqlite3_column_int64 (st, 1);
          ok = TRUE;
        }
    }
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no document %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the document's key");
  sqlite3_finalize (st);
  return ok;
}

/* Decrypts @in (document @id's file) into @out, checking every chunk, the
 * final tag, @size and @hash. */
static gboolean
decrypt_file (int in, const char *in_path, int out, const char *out_path, const char *id,
              const guint8 key[KEY_BYTES], gint64 size, const guint8 hash[HASH_BYTES],
              GCancellable *cancellable, GFileProgressCallback progress, gpointer progress_data,
              GError **error)
{
  crypto_secretstream_xchacha20poly1305_state state;
  crypto_generichash_state hstate;
  guint8 header[HEADER_BYTES];
  guint8 hash_key[HASH_BYTES];
  guint8 got[HASH_BYTES];
  guint8 *buf = g_malloc (CHUNK + CHUNK + ABYTES);
  guint8 *plain = buf, *cipher = buf + CHUNK;
  gint64 total = 0;
  gboolean ok = FALSE;
  gssize n;

  derive_hash_key (hash_key, key);
  crypto_generichash_init (&hstate, hash_key, sizeof hash_key, HASH_BYTES);
  if ((n = read_full (in, header, sizeof header)) < 0)
    {
      io_fail (error, errno, "cannot read", in_path);
      goto out;
    }
  if (n < (gssize) sizeof header)
    {
      damaged (error, "its header is truncated (%" G_GSSIZE_FORMAT " of %d bytes)", n, HEADER_BYTES);
      goto out;
    }
  if (crypto_secretstream_xchacha20poly1305_init_pull (&state, header, key) != 0)
    {
      damaged (error, "its header is invalid");
      goto out;
    }
  for (guint chunk = 1;; chunk++)
    {
      unsigned long long plen;
      unsigned char tag;

      if (!check_cancelled (cancellable, error))
        goto out;
      if ((n = read_full (in, cipher, CHUNK + ABYTES)) < 0)
        {
          io_fail (error, errno, "cannot read", in_path);
          goto out;
        }
      if (n == 0)
        {
          damaged (error, "it ends after chunk %u, before its final chunk (truncated)", chunk - 1);
          goto out;
        }
      if (crypto_secretstream_xchacha20poly1305_pull (&state, plain, &plen, &tag, cipher,
                                                      (unsigned long long) n, NULL, 0) != 0)
        {
          damaged (error, "chunk %u does not authenticate (altered or cut short, or not "
                          "document %s's file)", chunk, id);
          goto out;
        }
      if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL
          && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        {
          damaged (error, "chunk %u has tag %u, which document files never use", chunk, tag);
          goto out;
        }
      if (tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE && n != CHUNK + ABYTES)
        {
          damaged (error, "chunk %u is short but not tagged final (truncated)", chunk);
          goto out;
        }
      total += (gint64) plen;
      if (total > size)
        {
          damaged (error, "it holds more than the %" G_GINT64_FORMAT " bytes the store recorded",
                   size);
          goto out;
        }
      crypto_generichash_update (&hstate, plain, plen);
      if (!write_all (out, plain, (gsize) plen))
        {
          io_fail (error, errno, "cannot write", out_path);
          goto out;
        }
      if (progress != NULL)
        progress (total, size, progress_data);
      if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        break;
    }
  if ((n = read_full (in, cipher, 1)) != 0)
    {
      if (n < 0)
        io_fail (error, errno, "cannot read", in_path);
      else
        damaged (error, "data follows its final chunk");
      goto out;
    }
  if (total != size)
    {
      damaged (error, "it holds %" G_GINT64_FORMAT " bytes, the store recorded %" G_GINT64_FORMAT,
               total, size);
      goto out;
    }
  crypto_generichash_final (&hstate, got, sizeof got);
  if (sodium_memcmp (got, hash, HASH_BYTES) != 0)
    {
      damaged (error, "its content hash does not match the store's");
      goto out;
    }
  if (fsync (out) != 0)
    {
      io_fail (error, errno, "cannot sync", out_path);
      goto out;
    }
  ok = TRUE;
out:
  sodium_memzero (buf, CHUNK + CHUNK + ABYTES);
  g_free (buf);
  sodium_memzero (&state, sizeof state);
  sodium_memzero (&hstate, sizeof hstate);
  sodium_memzero (hash_key, sizeof hash_key);
  return ok;
}

gboolean
mts_store_document_get (MtsStore *store, const char *id, const char *dest_path, GError **error)
{
  return mts_store_document_get_full (store, id, dest_path, NULL, NULL, NULL, error);
}

gboolean
mts_store_document_get_full (MtsStore *store, const char *id, const char *dest_path,
                             GCancellable *cancellable, GFileProgressCallback progress,
                             gpointer progress_data, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *dest_dir = NULL;
  guint8 key[KEY_BYTES];
  guint8 hash[HASH_BYTES];
  gint64 size = 0;
  gboolean ok = FALSE;
  int in = -1, out = -1;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (dest_path != NULL, FALSE);

  if (!mts_store_require_unlocked (store, error) || !read_key (store, id, key, &size, hash, error))
    return FALSE;
  path = file_path (store, id);
  in = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (in < 0)
    {
      if (errno == ENOENT)
        damaged (error, "%s is missing", path);
      else
        io_fail (error, errno, "cannot open", path);
      goto out;
    }
  if ((out = open_temp_beside (dest_path, &tmp_path, error)) < 0)
    goto out;
  if (!decrypt_file (in, path, out, tmp_path, id, key, size, hash, cancellable, progress,
                     progress_data, error))
    goto out;
  if (close (out) != 0)
    {
      out = -1;
      io_fail (error, errno, "cannot write", tmp_path);
      goto out;
    }
  out = -1;
  if (g_rename (tmp_path, dest_path) != 0)
    {
      io_fail (error, errno, "cannot rename to", dest_path);
      goto out;
    }
  dest_dir = g_path_get_dirname (dest_path);
  ok = TRUE;
  /* The plaintext is in place; failing to make its name durable is not
   * worth undoing that for. */
  sync_dir (dest_dir, NULL);
out:
  sodium_memzero (key, sizeof key);
  if (in >= 0)
    close (in);
  if (out >= 0)
    close (out);
  if (!ok && tmp_path != NULL)
    g_unlink (tmp_path);
  return ok;
}

/* ---- info, list, delete ---- */

static const char document_select[] =
  "SELECT id, version, created_at, updated_at, client_id, session_id, "
  "mts_decrypt(file_name, 'documents.file_name:' || id), size_bytes, mime_type FROM documents ";

static MtsDocument *
document_from_row (sqlite3_stmt *st)
{
  MtsDocument *d = mts_document_new ();

  d->id = mts_store_column_dup (st, 0);
  d->version = sqlite3_column_int64 (st, 1);
  d->created_at = mts_store_column_dup (st, 2);
  d->updated_at = mts_store_column_dup (st, 3);
  d->client_id = mts_store_column_dup (st, 4);
  d->session_id = mts_store_column_dup (st, 5);
  d->file_name = mts_store_column_dup (st, 6);
  d->size_bytes = sqlite3_column_int64 (st, 7);
  d->mime_type = mts_store_column_dup (st, 8);
  return d;
}

MtsDocument *
mts_store_document_info (MtsStore *store, const char *id, GError **error)
{
  g_autofree char *sql = g_strconcat (document_select, "WHERE id = ?1 AND deleted = 0", NULL);
  MtsDocument *d = NULL;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    d = document_from_row (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no document %s", id);
  else
    mts_store_db_fail (store, error, "cannot read the document");
  sqlite3_finalize (st);
  return d;
}

GPtrArray *
mts_store_document_list (MtsStore *store, const char *client_id, GError **error)
{
  g_autofree char *sql = g_strconcat (document_select, "WHERE client_id = ?1 AND deleted = 0 "
                                      "ORDER BY created_at, id", NULL);
  GPtrArray *list;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (MTS_IS_STORE (store), NULL);

  if (!mts_store_require_unlocked (store, error) || (st = mts_store_prepare (store, sql, error)) == NULL)
    return NULL;
  mts_store_bind_text (st, 1, client_id);
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_document_free);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (list, document_from_row (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      g_ptr_array_unref (list);
      mts_store_db_fail (store, error, "cannot list the documents");
      return NULL;
    }
  return list;
}

gboolean
mts_store_document_delete (MtsStore *store, const char *id, GError **error)
{
  g_autofree char *at = mts_store_now_iso ();
  g_autofree char *path = NULL;
  sqlite3_stmt *st;
  gint64 version = 0;
  int rc;

  g_return_val_if_fail (MTS_IS_STORE (store), FALSE);

  if (!mts_store_require_unlocked (store, error) || !mts_store_begin (store, error))
    return FALSE;
  if ((st = mts_store_prepare (store, "SELECT version FROM documents WHERE id = ?1 AND deleted = 0", error))
      == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND, "no document %s", id);
      goto fail;
    }
  if (rc != SQLITE_ROW)
    {
      mts_store_db_fail (store, error, "cannot read the document");
      goto fail;
    }
  /* A tombstone for sync, with nothing readable left in it. */
  st = mts_store_prepare (store, "UPDATE documents SET deleted = 1, updated_at = ?2, file_name = NULL, "
                       "file_key = NULL, content_hash = NULL, mime_type = NULL, size_bytes = 0 "
                       "WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  mts_store_bind_text (st, 1, id);
  mts_store_bind_text (st, 2, at);
  if (!mts_store_step_finalize (store, st, error))
    goto fail;
  if (!mts_store_outbox_add (store, "documents", id, "delete", NULL, version, at, error)
      || !mts_store_commit (store, error))
    goto fail;

  path = file_path (store, id);
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_warning ("cannot remove document file %s: %s", path, g_strerror (errno));
  return TRUE;
fail:
  mts_store_rollback (store);
  return FALSE;
}
