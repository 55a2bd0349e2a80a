/* mts-export-dialog.h — exporting a client's records (a subject access
 * request) or the whole practice, to a folder the therapist picks. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* @client_id: (nullable): NULL exports the whole practice. */
void mts_export_dialog_show (GtkWindow *parent, const char *client_id);

G_END_DECLS
