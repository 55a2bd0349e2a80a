/* mts-client-list.h — The sidebar: every client, with type-ahead search.
 *
 * The list's model is built once per reload (unlock, or the app's "changed"
 * when the clients or their sessions did change) from mts_store_client_list,
 * one MtsClientItem per client.  Typing filters it in memory by name
 * (contains, case-insensitive); only text that could be an e-mail address
 * or a phone number (it has an '@' or a digit) also asks the store, whose
 * blind indexes find exact matches.  Selecting a client activates
 * win.show-client.  While the app is locked the model is empty and the
 * search text cleared: no client's name stays in a widget. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_LIST (mts_client_list_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientList, mts_client_list, MTS, CLIENT_LIST, AdwBin)

GtkWidget *mts_client_list_new (void);
void mts_client_list_focus_search (MtsClientList *self);

/* Reads the clients from the store again, now (the app's signals do this
 * by themselves; for benchmarks). */
void mts_client_list_reload (MtsClientList *self);

/* The clients shown: the search's matches, as MtsClientItem.
 * (transfer none) */
GListModel *mts_client_list_get_model (MtsClientList *self);
/* How many clients the list holds before the search filters them. */
guint mts_client_list_get_n_clients (MtsClientList *self);
/* What shows: "list", "empty" (no clients yet), "no-match" (the search
 * found nothing) or "locked". */
const char *mts_client_list_get_state (MtsClientList *self);

G_END_DECLS
