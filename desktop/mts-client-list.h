/* mts-client-list.h — The sidebar: every client, with type-ahead search. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_LIST (mts_client_list_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientList, mts_client_list, MTS, CLIENT_LIST, AdwBin)

GtkWidget *mts_client_list_new (void);
void mts_client_list_focus_search (MtsClientList *self);

G_END_DECLS
