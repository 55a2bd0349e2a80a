/* mts-export-dialog.c — exporting a client's records or the practice. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-export-dialog.h"

#include "mts-application.h"

void
mts_export_dialog_show (GtkWindow *parent, const char *client_id)
{
}
