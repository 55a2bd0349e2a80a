/* mts-client-page.h — One client: details, sessions, notes, documents, agreements, risk flags, AI consent. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_PAGE (mts_client_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientPage, mts_client_page, MTS, CLIENT_PAGE, AdwBin)

GtkWidget *mts_client_page_new (void);
void mts_client_page_set_client_id (MtsClientPage *self, const char *client_id);
const char *mts_client_page_get_client_id (MtsClientPage *self);

G_END_DECLS
