/* mts-store-documents.h — documents of the practice store: files kept for
 * a client (letters, forms, recordings), each encrypted on disk in the
 * store's files folder.
 *
 * A document is a row of the `documents` table and a file `files/<id>`:
 *
 *   - the file is the plaintext sealed with libsodium's
 *     crypto_secretstream_xchacha20poly1305 under a random 32-byte key made
 *     for this file alone (never reused: a new document, a new key);
 *   - the row holds that key wrapped by mts_encrypt in the context
 *     `documents.file_key:<id>`, the file name encrypted in
 *     `documents.file_name:<id>`, the plaintext size, the MIME type, and a
 *     keyed BLAKE2b-256 hash of the plaintext under a key derived from the
 *     file key, so the hash confirms nothing to someone without the keystore.
 *
 * Reading checks every chunk's tag, the final tag, the size and the hash;
 * a file that fails any of them is MTS_DOCUMENT_ERROR_DAMAGED and no output
 * is left.  docs/store.md ("Documents") describes the file byte by byte.
 *
 * Errors: MTS_STORE_ERROR (locked store, unknown id, invalid value,
 * database), MTS_DOCUMENT_ERROR (below), G_IO_ERROR (reading the source or
 * writing the destination; G_IO_ERROR_CANCELLED).
 */
#pragma once

#include <gio/gio.h>

#include "mts-store.h"

G_BEGIN_DECLS

#define MTS_DOCUMENT_ERROR (mts_document_error_quark ())
GQuark mts_document_error_quark (void);

/**
 * MtsDocumentError:
 * @MTS_DOCUMENT_ERROR_DAMAGED: the document's file is missing, truncated,
 *   altered, extended, or not this document's file; or its key in the
 *   database is malformed.  The message starts "document file is damaged: ".
 */
typedef enum {
  MTS_DOCUMENT_ERROR_DAMAGED,
} MtsDocumentError;

/* Plaintext bytes per secretstream chunk of a document file. */
#define MTS_DOCUMENT_CHUNK_BYTES 65536

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *session_id;       /* nullable */
  char *file_name;        /* encrypted at rest */
  gint64 size_bytes;      /* of the plaintext */
  char *mime_type;
} MtsDocument;

MtsDocument *mts_document_new (void);
void mts_document_free (MtsDocument *document);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsDocument, mts_document_free)

/* Adds the file at @source_path as a document of @document->client_id
 * (required; @document->session_id optional, a session of that client).
 * @document->file_name defaults to @source_path's base name and
 * @document->mime_type to a guess from the name and the first bytes.
 *
 * The file is encrypted to a temporary file in the files folder, synced,
 * and renamed to `files/<id>` inside the transaction that inserts the row
 * and its outbox entry, just before the commit.  On any failure neither a
 * file nor a row remains.  On success sets @document's id, version, times,
 * file name, size and MIME type. */
gboolean mts_store_document_add (MtsStore *store, MtsDocument *document, const char *source_path,
                                 GError **error);

/* As mts_store_document_add(), and calls @progress (if non-NULL) with the
 * bytes read so far and the source's size after each chunk; stops with
 * G_IO_ERROR_CANCELLED when @cancellable is cancelled. */
gboolean mts_store_document_add_full (MtsStore *store, MtsDocument *document,
                                      const char *source_path, GCancellable *cancellable,
                                      GFileProgressCallback progress, gpointer progress_data,
                                      GError **error);

/* Decrypts document @id to @dest_path (mode 0600, replacing any file
 * there).  The plaintext goes to a temporary file beside @dest_path, which
 * is renamed to @dest_path only once every chunk, the final tag, the size
 * and the content hash have checked out; otherwise it is removed and the
 * error is MTS_DOCUMENT_ERROR_DAMAGED (or the I/O error that stopped it). */
gboolean mts_store_document_get (MtsStore *store, const char *id, const char *dest_path,
                                 GError **error);

/* As mts_store_document_get(), with progress (bytes written so far, the
 * document's size) and cancellation as mts_store_document_add_full(). */
gboolean mts_store_document_get_full (MtsStore *store, const char *id, const char *dest_path,
                                      GCancellable *cancellable, GFileProgressCallback progress,
                                      gpointer progress_data, GError **error);

/* Document @id's record, file name decrypted; the file is not read.
 * (transfer full) */
MtsDocument *mts_store_document_info (MtsStore *store, const char *id, GError **error);

/* @client_id's live documents, oldest first.
 * (element-type MtsDocument) (transfer full) */
GPtrArray *mts_store_document_list (MtsStore *store, const char *client_id, GError **error);

/* Deletes document @id: its row becomes a tombstone for sync (nothing
 * readable left in it) with an outbox delete, in one transaction; then the
 * file is removed. */
gboolean mts_store_document_delete (MtsStore *store, const char *id, GError **error);

G_END_DECLS
