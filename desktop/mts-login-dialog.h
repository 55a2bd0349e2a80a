/* mts-login-dialog.h — signing in to the practice's server again (password
 * and TOTP code) when the session has ended, without leaving the app.
 *
 * The server, practice and username come from the store's last login; the
 * login (MtsSyncSession) runs on a worker thread through a twin of the
 * app's store (mts_store_open_twin), so the app goes on working meanwhile.
 * A refused login says so inline and empties the code (each code is
 * accepted once); the password stays.  On success the dialog closes,
 * starts a sync (app.sync-now) and says so in a toast.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_LOGIN_DIALOG (mts_login_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MtsLoginDialog, mts_login_dialog, MTS, LOGIN_DIALOG, AdwWindow)

GtkWidget *mts_login_dialog_new (GtkWindow *parent);

G_END_DECLS
