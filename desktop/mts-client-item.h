/* mts-client-item.h — one client as the client list shows it: a small
 * immutable GObject (id, display name, status, last contact) per row of the
 * list's model.  The name is also kept case-folded, for type-ahead search
 * in memory. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_ITEM (mts_client_item_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientItem, mts_client_item, MTS, CLIENT_ITEM, GObject)

/* @last_contact: (nullable): a UTC ISO 8601 instant. (transfer full) */
MtsClientItem *mts_client_item_new (const char *id, const char *name, const char *status,
                                    const char *last_contact);

const char *mts_client_item_get_id (MtsClientItem *self);
const char *mts_client_item_get_name (MtsClientItem *self);
/* The name, case-folded (g_utf8_casefold). */
const char *mts_client_item_get_folded (MtsClientItem *self);
/* active | waiting | closed */
const char *mts_client_item_get_status (MtsClientItem *self);
/* (nullable) */
const char *mts_client_item_get_last_contact (MtsClientItem *self);
/* Notifies "last-contact" when it changes. */
void mts_client_item_set_last_contact (MtsClientItem *self, const char *last_contact);

/* The row's second line: "Active · last contact 12 Nov 2026".
 * (transfer full) */
char *mts_client_item_describe (MtsClientItem *self);

/* Wipes the name held in memory (the list is being emptied on lock). */
void mts_client_item_wipe (MtsClientItem *self);

G_END_DECLS
