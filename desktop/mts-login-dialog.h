/* mts-login-dialog.h — signing in to the practice's server again (password
 * and TOTP code) when the session has ended, without leaving the app. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_LOGIN_DIALOG (mts_login_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MtsLoginDialog, mts_login_dialog, MTS, LOGIN_DIALOG, AdwWindow)

GtkWidget *mts_login_dialog_new (GtkWindow *parent);

G_END_DECLS
