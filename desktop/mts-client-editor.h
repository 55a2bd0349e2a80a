/* mts-client-editor.h — Add or edit a client (a dialog).
 *
 * Save checks the form (a name is required; a date of birth, if given, is
 * a real past date, DD/MM/YYYY or YYYY-MM-DD; an e-mail address, if given,
 * looks like one; a phone number, if given, has digits), saying what is
 * wrong beside the field and writing nothing; otherwise it writes through
 * the store, tells the app (mts_application_notify_changed), shows the
 * client (win.show-client on the parent window) and closes.  Cancel closes
 * without writing.  When the app locks with the dialog open, a valid form
 * that was changed is saved first, then the dialog closes. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_EDITOR (mts_client_editor_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientEditor, mts_client_editor, MTS, CLIENT_EDITOR, AdwWindow)

/* @client_id: (nullable): NULL adds a new client */
GtkWidget *mts_client_editor_new (GtkWindow *parent, const char *client_id);

/* The client edited: NULL for a new client until it is saved. */
const char *mts_client_editor_get_client_id (MtsClientEditor *self);

/* A date of birth as typed (DD/MM/YYYY, D/M/YYYY, DD-MM-YYYY or
 * YYYY-MM-DD) into the store's YYYY-MM-DD; NULL when it is not a real date
 * between 1900 and today.  (transfer full) (nullable) */
char *mts_client_editor_parse_date (const char *text);

G_END_DECLS
