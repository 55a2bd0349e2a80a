/* mts-export-dialog.h — exporting a client's records (a subject access
 * request) or the whole practice, to a folder the therapist picks.
 *
 * The therapist picks a folder (GtkFileChooserNative); the export goes into
 * a new folder inside it, "MTS client export YYYY-MM-DD HH.MM.SS" or "MTS
 * practice export …", in the format the `mts export` command writes
 * (sync/mts-export.h, docs/store.md "Export format"): bundle.json, one CSV
 * file per table, the documents' files.  It runs on a worker thread through
 * a twin of the app's store (mts_store_open_twin) while a modal dialog
 * shows a spinner; a toast names the folder when it is done, a dialog says
 * why when it failed (nothing is left behind then).
 *
 * Test and automation hook: when the environment variable MTS_EXPORT_DIR is
 * set, the folder chooser is not shown and that folder is the one picked. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* @client_id: (nullable): NULL exports the whole practice. */
void mts_export_dialog_show (GtkWindow *parent, const char *client_id);

/* For tests: how many exports are running, and the folder the last one
 * that finished wrote (NULL if none yet, or it failed), with its error
 * message (NULL if it succeeded).  (transfer none) */
guint mts_export_dialog_get_n_running (void);
const char *mts_export_dialog_get_last_folder (void);
const char *mts_export_dialog_get_last_error (void);

G_END_DECLS
