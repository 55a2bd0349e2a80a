/* mts-export.h — exporting the practice store, or one client's part of it,
 * to a folder: a JSON bundle (bundle.json) and one CSV file per table, with
 * every encrypted field decrypted.  docs/store.md, "Export format", is the
 * format's manual.
 *
 * What is exported is read from the schema itself, so that a later migration
 * is exported without changes here:
 *   - the tables: every table with an `id` and a `deleted` column (the synced
 *     tables; not mts_audit, sync_outbox or sync_state), live rows only;
 *   - a BLOB column is an encrypted field, decrypted in its context
 *     `<table>.<column>:<id>`, unless it is a blind index (`*_bidx`) or one
 *     of the keyed digests and wrapped keys (`documents.content_hash`,
 *     `documents.file_key`), which are left out: they mean nothing outside
 *     the store;
 *   - a client's rows: the client, every row that an ON DELETE CASCADE chain
 *     of foreign keys ties to it (its notes, sessions, documents, ...,
 *     payments through their invoice), and the rows those rows name in tables
 *     that belong to no client (the clinicians who wrote or signed them);
 *   - the documents' files: each exported document's file, decrypted and
 *     checked through the documents API (mts-store-documents.h), as
 *     files/<document id>/<file name>, the name made safe to be one path
 *     component; a damaged file is listed in the bundle as damaged and not
 *     written, and the export goes on.
 *
 * Errors are MTS_EXPORT_ERROR (below), G_FILE_ERROR or G_IO_ERROR for the
 * files, and MTS_STORE_ERROR for the store (NOT_FOUND for an unknown
 * client, LOCKED, DB).
 */
#pragma once

#include <glib.h>

#include "mts-store.h"

G_BEGIN_DECLS

/* The bundle's "format_version". */
#define MTS_EXPORT_FORMAT_VERSION 1

#define MTS_EXPORT_ERROR (mts_export_error_quark ())
GQuark mts_export_error_quark (void);

/**
 * MtsExportError:
 * @MTS_EXPORT_ERROR_FOLDER: the export folder exists and is not an empty
 *   folder (an export never overwrites or mixes with other files).
 * @MTS_EXPORT_ERROR_SCHEMA: the schema has something the export cannot
 *   read (an encrypted column that does not follow the context convention).
 */
typedef enum {
  MTS_EXPORT_ERROR_FOLDER,
  MTS_EXPORT_ERROR_SCHEMA,
} MtsExportError;

/* What an export wrote. */
typedef struct {
  guint n_rows;      /* rows in the bundle (and the CSV files) */
  guint n_files;     /* documents' files written */
  guint n_damaged;   /* documents whose file is damaged: listed, not written */
} MtsExportSummary;

/* Exports @store (unlocked) to the folder @dir, which is created with mode
 * 0700 (its parent must exist) or must be an empty folder; the files in it
 * are created 0600, the folders under it 0700.  With @client_id (nullable),
 * only that client's rows and documents.  The rows are read, the documents'
 * files decrypted and the export recorded in the audit log as an `export`
 * event in one transaction.  A damaged document file does not stop the
 * export: it is counted in @summary->n_damaged and listed in the bundle as
 * damaged; the caller decides whether an export without it will do.  On
 * success fills *@summary (nullable); on failure everything written so far
 * is removed. */
gboolean mts_export_write (MtsStore *store, const char *dir, const char *client_id,
                           MtsExportSummary *summary, GError **error);

/* An SQL SELECT of (target, row_id) naming every row, live or tombstone,
 * that belongs to the client bound as ?1 in the tables the export reads:
 * the client's own row and the rows tied to it by ON DELETE CASCADE.  For
 * filtering the audit log by client.  Rows already deleted for real are
 * not in it: their ids are gone from the tables.  (transfer full) */
char *mts_export_client_rows_sql (MtsStore *store, GError **error);

G_END_DECLS
