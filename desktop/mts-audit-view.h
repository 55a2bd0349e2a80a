/* mts-audit-view.h — The audit log, filtered by client, with Verify.
 *
 * Newest entries first, a page at a time (the log may hold 100,000s):
 * time, who, action, record, columns changed — what the log holds in
 * clear, nothing decrypted.  Verify checks the hash chain
 * (mts_audit_verify) on a worker thread and says plainly whether the log
 * is intact or where it was altered. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MTS_TYPE_AUDIT_VIEW (mts_audit_view_get_type ())
G_DECLARE_FINAL_TYPE (MtsAuditView, mts_audit_view, MTS, AUDIT_VIEW, AdwBin)

GtkWidget *mts_audit_view_new (void);
/* @client_id: (nullable): NULL for the whole practice.  Reloads. */
void mts_audit_view_set_client_id (MtsAuditView *self, const char *client_id);
/* (nullable) (transfer none) */
const char *mts_audit_view_get_client_id (MtsAuditView *self);

/* The entries matching the filter, and how many of them are loaded. */
gint64 mts_audit_view_get_n_entries (MtsAuditView *self);
guint mts_audit_view_get_n_loaded (MtsAuditView *self);
/* Loads the next page (as "Load More"). */
void mts_audit_view_load_more (MtsAuditView *self);
/* Whether a loaded entry is about the record @row_id (its row, or an
 * event naming it). */
gboolean mts_audit_view_has_record (MtsAuditView *self, const char *row_id);

G_END_DECLS
