/* mts-setup-page.h — First run: server, login with password and TOTP, local passphrase, first sync. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_SETUP_PAGE (mts_setup_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsSetupPage, mts_setup_page, MTS, SETUP_PAGE, AdwBin)

GtkWidget *mts_setup_page_new (void);

G_END_DECLS
