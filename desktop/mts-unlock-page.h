/* mts-unlock-page.h — The unlock screen of later runs. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_UNLOCK_PAGE (mts_unlock_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsUnlockPage, mts_unlock_page, MTS, UNLOCK_PAGE, AdwBin)

GtkWidget *mts_unlock_page_new (void);

G_END_DECLS
