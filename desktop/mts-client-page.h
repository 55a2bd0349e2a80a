/* mts-client-page.h — One client: details, sessions, notes, documents,
 * agreements, risk flags, AI consent.
 *
 * The page reads the client from the store when a client is set, and again
 * on the app's "changed" (when it is on screen; otherwise when it is next
 * shown).  A client deleted meanwhile (by a sync) shows "This client was
 * deleted".  On "locked" every row and label is emptied.
 *
 * What it does through the window's actions: win.new-note, win.open-note,
 * win.show-audit, win.export; its own writes (risk flags, sessions, AI
 * consent, deleting the client) go through the store and
 * mts_application_notify_changed().  Deleting asks first
 * ("delete-client-dialog": the client's name must be typed). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_PAGE (mts_client_page_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientPage, mts_client_page, MTS, CLIENT_PAGE, AdwBin)

GtkWidget *mts_client_page_new (void);
void mts_client_page_set_client_id (MtsClientPage *self, const char *client_id);
const char *mts_client_page_get_client_id (MtsClientPage *self);

/* Reads the client again now. */
void mts_client_page_reload (MtsClientPage *self);

/* What shows: "none", "client" or "deleted". */
const char *mts_client_page_get_state (MtsClientPage *self);

G_END_DECLS
