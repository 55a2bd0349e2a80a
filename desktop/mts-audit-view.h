/* mts-audit-view.h — The audit log, filtered by client, with Verify. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_AUDIT_VIEW (mts_audit_view_get_type ())
G_DECLARE_FINAL_TYPE (MtsAuditView, mts_audit_view, MTS, AUDIT_VIEW, AdwBin)

GtkWidget *mts_audit_view_new (void);
/* @client_id: (nullable): NULL for the whole practice */
void mts_audit_view_set_client_id (MtsAuditView *self, const char *client_id);

G_END_DECLS
