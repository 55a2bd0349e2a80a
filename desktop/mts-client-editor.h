/* mts-client-editor.h — Add or edit a client (a dialog). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_CLIENT_EDITOR (mts_client_editor_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientEditor, mts_client_editor, MTS, CLIENT_EDITOR, AdwWindow)

/* @client_id: (nullable): NULL adds a new client */
GtkWidget *mts_client_editor_new (GtkWindow *parent, const char *client_id);

G_END_DECLS
