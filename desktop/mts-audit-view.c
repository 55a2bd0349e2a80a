/* mts-audit-view.c — The audit log, filtered by client, with Verify.
 *
 * Read-only SQL on the app's store connection (mts_audit: seq, at, actor,
 * action, target, row_id, changed_columns, detail; docs/extension.md,
 * "Audit functions").  The log holds no plaintext of sensitive fields, and
 * this view decrypts nothing of it: it names who (the clinician's name for
 * an actor that is a clinician id), what (created, changed, deleted, an
 * event), which record (its kind and the end of its id) and which columns.
 *
 * A client's log is the entries of rows that are the client's: the client
 * row itself, its notes, sessions, documents, agreements, risk flags, AI
 * consent, invoices and their payments, the sync conflicts of those, and
 * events whose target names one of them ("client:<id>").  Rows removed
 * since (a deleted client's notes) can no longer be traced to the client.
 *
 * The log can hold 100,000s of entries: it is read newest first a page at
 * a time (keyset on seq), more on "Load More" or on scrolling to the end.
 *
 * Verify runs mts_audit_verify() on a worker thread through a twin of the
 * store (a connection and keystore clone of its own) and says the result
 * plainly. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-audit-view.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-application.h"

#define PAGE_SIZE 200

/* ---- one entry, for the list model ---- */

#define MTS_TYPE_AUDIT_ROW (mts_audit_row_get_type ())
G_DECLARE_FINAL_TYPE (MtsAuditRow, mts_audit_row, MTS, AUDIT_ROW, GObject)

struct _MtsAuditRow
{
  GObject parent_instance;
  gint64 seq;
  char *at;
  char *who;
  char *action;
  char *record;
  char *record_full;
  char *changed;
};

G_DEFINE_FINAL_TYPE (MtsAuditRow, mts_audit_row, G_TYPE_OBJECT)

static void
mts_audit_row_finalize (GObject *object)
{
  MtsAuditRow *row = MTS_AUDIT_ROW (object);

  g_free (row->at);
  g_free (row->who);
  g_free (row->action);
  g_free (row->record);
  g_free (row->record_full);
  g_free (row->changed);
  G_OBJECT_CLASS (mts_audit_row_parent_class)->finalize (object);
}

static void
mts_audit_row_class_init (MtsAuditRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mts_audit_row_finalize;
}

static void
mts_audit_row_init (MtsAuditRow *row)
{
}

/* ---- the view ---- */

struct _MtsAuditView
{
  AdwBin parent_instance;

  gboolean reload_on_map;   /* unlocked while hidden: read the log when shown */

  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkSpinner *spinner;
  GtkButton *verify_button;
  GtkRevealer *result_revealer;
  GtkBox *result_box;
  GtkImage *result_icon;
  GtkLabel *result_label;
  GtkStack *stack;
  GtkScrolledWindow *scroller;
  GtkColumnView *column_view;
  GtkLabel *count_label;
  GtkButton *load_more_button;

  MtsApplication *app;            /* weak */
  char *client_id;                /* NULL: the whole practice */
  GListStore *rows;               /* of MtsAuditRow */
  GHashTable *row_ids;            /* row ids and targets of the loaded entries */
  GHashTable *clinicians;         /* clinician id -> name */
  gint64 total;                   /* entries matching */
  gint64 next_before;             /* the next page has seq < this */
  gboolean exhausted;
  GCancellable *verify_cancel;
};

G_DEFINE_FINAL_TYPE (MtsAuditView, mts_audit_view, ADW_TYPE_BIN)

/* The entries of the client ?1 (see the header comment); "1" for all. */
#define CLIENT_IDS                                                                    \
  "WITH ids(id) AS ("                                                                 \
  " SELECT ?1"                                                                        \
  " UNION SELECT id FROM notes WHERE client_id = ?1"                                  \
  " UNION SELECT id FROM sessions WHERE client_id = ?1"                               \
  " UNION SELECT id FROM documents WHERE client_id = ?1"                              \
  " UNION SELECT id FROM agreements WHERE client_id = ?1"                             \
  " UNION SELECT id FROM risk_flags WHERE client_id = ?1"                             \
  " UNION SELECT id FROM ai_consents WHERE client_id = ?1"                            \
  " UNION SELECT id FROM invoices WHERE client_id = ?1"                               \
  " UNION SELECT p.id FROM payments p JOIN invoices i ON p.invoice_id = i.id"         \
  "   WHERE i.client_id = ?1),"                                                       \
  " every(id) AS (SELECT id FROM ids"                                                 \
  "   UNION SELECT id FROM sync_conflicts WHERE row_id IN (SELECT id FROM ids)) "
#define CLIENT_WHERE                                                                  \
  " (row_id IN (SELECT id FROM every)"                                                \
  "  OR (instr (target, ':') > 0"                                                     \
  "      AND substr (target, instr (target, ':') + 1) IN (SELECT id FROM every))) "

static const struct { const char *table; const char *label; } table_labels[] = {
  { "clients", "Client" },
  { "notes", "Note" },
  { "sessions", "Session" },
  { "documents", "Document" },
  { "agreements", "Agreement" },
  { "risk_flags", "Risk flag" },
  { "ai_consents", "AI consent" },
  { "invoices", "Invoice" },
  { "payments", "Payment" },
  { "note_templates", "Note template" },
  { "clinicians", "Clinician" },
  { "sync_conflicts", "Sync conflict" },
  { "client", "Client" },
  { "note", "Note" },
  { "practice", "Practice" },
};

static const struct { const char *action; const char *label; } action_labels[] = {
  { "insert", "Created" },
  { "update", "Changed" },
  { "delete", "Deleted" },
  { "baseline", "Already there when audit began" },
  { "enable", "Audit switched on" },
  { "disable", "Audit switched off" },
  { "login", "Signed in" },
  { "login-failed", "Sign-in failed" },
  { "logout", "Signed out" },
  { "export", "Exported" },
};

static const char *
table_label (const char *table)
{
  for (gsize i = 0; i < G_N_ELEMENTS (table_labels); i++)
    if (g_strcmp0 (table_labels[i].table, table) == 0)
      return table_labels[i].label;
  return NULL;
}

static char *
action_label (const char *action)
{
  char *text;

  for (gsize i = 0; i < G_N_ELEMENTS (action_labels); i++)
    if (g_strcmp0 (action_labels[i].action, action) == 0)
      return g_strdup (action_labels[i].label);
  text = g_strdelimit (g_strdup (action != NULL ? action : ""), "-_", ' ');
  if (*text != '\0')
    text[0] = g_ascii_toupper (text[0]);
  return text;
}

/* "Note …3f9a21bc": the kind, and the end of the id (UUIDv7s begin with
 * their time, so the end tells rows apart). */
static char *
record_label (const char *table, const char *id)
{
  const char *kind = table_label (table);
  gsize len = id != NULL ? strlen (id) : 0;
  const char *tail = len > 8 ? id + len - 8 : id;

  if (kind == NULL)
    kind = table != NULL ? table : "";
  if (id == NULL || *id == '\0')
    return g_strdup (kind);
  return g_strdup_printf ("%s …%s", kind, tail);
}

static char *
time_label (const char *iso)
{
  g_autoptr (GDateTime) at = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = NULL;

  if (at == NULL)
    return g_strdup (iso != NULL ? iso : "");
  local = g_date_time_to_local (at);
  return g_date_time_format (local, "%-d %b %Y, %H:%M:%S");
}

static const char *
col_text (sqlite3_stmt *st, int i)
{
  return (const char *) sqlite3_column_text (st, i);
}

static MtsAuditRow *
row_from_stmt (MtsAuditView *self, sqlite3_stmt *st)
{
  MtsAuditRow *row = g_object_new (MTS_TYPE_AUDIT_ROW, NULL);
  const char *actor = col_text (st, 2);
  const char *action = col_text (st, 3);
  const char *target = col_text (st, 4);
  const char *row_id = col_text (st, 5);
  const char *name = actor != NULL ? g_hash_table_lookup (self->clinicians, actor) : NULL;
  gboolean data_change = row_id != NULL;

  row->seq = sqlite3_column_int64 (st, 0);
  row->at = time_label (col_text (st, 1));
  row->who = g_strdup (name != NULL ? name : actor != NULL ? actor : "");
  row->action = action_label (action);
  if (data_change)
    {
      row->record = record_label (target, row_id);
      row->record_full = g_strdup_printf ("%s %s", target != NULL ? target : "", row_id);
      g_hash_table_add (self->row_ids, g_strdup (row_id));
    }
  else if (target != NULL && strchr (target, ':') != NULL)
    {
      g_autofree char *kind = g_strndup (target, strchr (target, ':') - target);
      row->record = record_label (kind, strchr (target, ':') + 1);
      row->record_full = g_strdup (target);
      g_hash_table_add (self->row_ids, g_strdup (strchr (target, ':') + 1));
    }
  else
    {
      const char *kind = table_label (target);
      row->record = g_strdup (kind != NULL ? kind : target != NULL ? target : "");
      row->record_full = g_strdup (target != NULL ? target : "");
    }
  /* An insert names every column: nothing to tell. */
  if (g_strcmp0 (action, "update") == 0 && col_text (st, 6) != NULL)
    row->changed = g_strdelimit (g_strdup (col_text (st, 6)), ",", ' ');
  else
    row->changed = g_strdup ("");
  return row;
}

static MtsStore *
view_store (MtsAuditView *self)
{
  MtsStore *store = self->app != NULL ? mts_application_get_store (self->app) : NULL;

  return store != NULL && mts_store_is_unlocked (store) ? store : NULL;
}

static void
update_count (MtsAuditView *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->rows));
  g_autofree char *text = NULL;

  if (self->total == 1)
    text = g_strdup ("1 entry");
  else if (shown >= self->total)
    text = g_strdup_printf ("%" G_GINT64_FORMAT " entries", self->total);
  else
    text = g_strdup_printf ("Showing the newest %u of %" G_GINT64_FORMAT " entries", shown,
                            self->total);
  gtk_label_set_text (self->count_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->load_more_button), !self->exhausted);
  gtk_stack_set_visible_child_name (self->stack, shown > 0 ? "list" : "empty");
}

static void
load_page (MtsAuditView *self)
{
  MtsStore *store = view_store (self);
  sqlite3 *db;
  sqlite3_stmt *st = NULL;
  g_autoptr (GPtrArray) page = g_ptr_array_new_with_free_func (g_object_unref);
  const char *sql;
  int rc;

  if (store == NULL || self->exhausted)
    return;
  db = mts_store_get_db (store);
  sql = self->client_id != NULL
    ? CLIENT_IDS "SELECT seq, at, actor, action, target, row_id, changed_columns FROM mts_audit "
      "WHERE seq < ?2 AND" CLIENT_WHERE "ORDER BY seq DESC LIMIT ?3"
    : "SELECT seq, at, actor, action, target, row_id, changed_columns FROM mts_audit "
      "WHERE seq < ?2 AND ?1 IS NULL ORDER BY seq DESC LIMIT ?3";
  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      g_warning ("cannot read the audit log: %s", sqlite3_errmsg (db));
      self->exhausted = TRUE;
      update_count (self);
      return;
    }
  sqlite3_bind_text (st, 1, self->client_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, self->next_before);
  sqlite3_bind_int (st, 3, PAGE_SIZE);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      MtsAuditRow *row = row_from_stmt (self, st);
      self->next_before = row->seq;
      g_ptr_array_add (page, row);
    }
  if (rc != SQLITE_DONE)
    g_warning ("cannot read the audit log: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  if (page->len < PAGE_SIZE || rc != SQLITE_DONE)
    self->exhausted = TRUE;
  g_list_store_splice (self->rows, g_list_model_get_n_items (G_LIST_MODEL (self->rows)), 0,
                       page->pdata, page->len);
  update_count (self);
}

static gint64
count_entries (MtsAuditView *self, MtsStore *store)
{
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;
  gint64 n = 0;
  const char *sql = self->client_id != NULL
    ? CLIENT_IDS "SELECT count(*) FROM mts_audit WHERE" CLIENT_WHERE
    : "SELECT count(*) FROM mts_audit WHERE ?1 IS NULL";

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_text (st, 1, self->client_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

static void
load_clinicians (MtsAuditView *self, MtsStore *store)
{
  g_autoptr (GPtrArray) list = mts_store_clinician_list (store, NULL);

  g_hash_table_remove_all (self->clinicians);
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      MtsClinician *c = list->pdata[i];
      if (c->id != NULL && c->display_name != NULL)
        g_hash_table_insert (self->clinicians, g_strdup (c->id), g_strdup (c->display_name));
    }
}

static void
clear (MtsAuditView *self)
{
  g_list_store_remove_all (self->rows);
  g_hash_table_remove_all (self->row_ids);
  g_hash_table_remove_all (self->clinicians);
  self->total = 0;
  self->next_before = G_MAXINT64;
  self->exhausted = FALSE;
  gtk_revealer_set_reveal_child (self->result_revealer, FALSE);
}

static void
reload (MtsAuditView *self)
{
  MtsStore *store = view_store (self);
  g_autofree char *title = NULL;
  const char *subtitle;

  clear (self);
  if (store == NULL)
    {
      self->exhausted = TRUE;
      update_count (self);
      return;
    }
  load_clinicians (self, store);
  if (self->client_id != NULL)
    {
      g_autoptr (MtsClient) client = mts_store_client_get (store, self->client_id, NULL);
      title = g_strdup_printf ("Audit Log — %s", client != NULL && client->display_name != NULL
                                                 ? client->display_name : "a deleted client");
      subtitle = "Every change to this client's records, newest first. "
                 "The log records who changed what, never the text itself.";
    }
  else
    {
      title = g_strdup ("Audit Log — Whole Practice");
      subtitle = "Every change on this computer, sign-ins and exports, newest first. "
                 "The log records who changed what, never the text itself.";
    }
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->subtitle_label, subtitle);
  self->total = count_entries (self, store);
  load_page (self);
}

void
mts_audit_view_set_client_id (MtsAuditView *self, const char *client_id)
{
  g_return_if_fail (MTS_IS_AUDIT_VIEW (self));

  self->reload_on_map = FALSE;
  g_free (self->client_id);
  self->client_id = g_strdup (client_id);
  reload (self);
}

const char *
mts_audit_view_get_client_id (MtsAuditView *self)
{
  g_return_val_if_fail (MTS_IS_AUDIT_VIEW (self), NULL);
  return self->client_id;
}

guint
mts_audit_view_get_n_loaded (MtsAuditView *self)
{
  g_return_val_if_fail (MTS_IS_AUDIT_VIEW (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->rows));
}

gint64
mts_audit_view_get_n_entries (MtsAuditView *self)
{
  g_return_val_if_fail (MTS_IS_AUDIT_VIEW (self), 0);
  return self->total;
}

gboolean
mts_audit_view_has_record (MtsAuditView *self, const char *row_id)
{
  g_return_val_if_fail (MTS_IS_AUDIT_VIEW (self), FALSE);
  return g_hash_table_contains (self->row_ids, row_id);
}

void
mts_audit_view_load_more (MtsAuditView *self)
{
  g_return_if_fail (MTS_IS_AUDIT_VIEW (self));
  load_page (self);
}

static void
load_more_clicked_cb (MtsAuditView *self)
{
  load_page (self);
}

static void
edge_reached_cb (GtkScrolledWindow *scroller, GtkPositionType pos, MtsAuditView *self)
{
  if (pos == GTK_POS_BOTTOM)
    load_page (self);
}

/* ---- verifying ---- */

typedef struct {
  MtsStore *twin;
  char *result;       /* "ok" or the error */
  gint64 entries;
  gboolean ok;
} Verify;

static void
verify_free (gpointer p)
{
  Verify *v = p;

  g_clear_object (&v->twin);
  g_free (v->result);
  g_free (v);
}

static void
verify_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Verify *v = task_data;
  sqlite3 *db = mts_store_get_db (v->twin);
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM mts_audit", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    v->entries = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  st = NULL;
  if (sqlite3_prepare_v2 (db, "SELECT mts_audit_verify()", -1, &st, NULL) != SQLITE_OK)
    v->result = g_strdup (sqlite3_errmsg (db));
  else if (sqlite3_step (st) == SQLITE_ROW)
    {
      v->result = g_strdup ((const char *) sqlite3_column_text (st, 0));
      v->ok = g_strcmp0 (v->result, "ok") == 0;
    }
  else
    v->result = g_strdup (sqlite3_errmsg (db));
  sqlite3_finalize (st);
  /* The twin's keys are wiped here, on the thread that used it. */
  g_clear_object (&v->twin);
  g_task_return_boolean (task, TRUE);
}

static void
show_result (MtsAuditView *self, gboolean ok, const char *text)
{
  gtk_label_set_text (self->result_label, text);
  gtk_image_set_from_icon_name (self->result_icon, ok ? "emblem-ok-symbolic" : "dialog-error-symbolic");
  gtk_widget_remove_css_class (GTK_WIDGET (self->result_box), ok ? "audit-altered" : "audit-intact");
  gtk_widget_add_css_class (GTK_WIDGET (self->result_box), ok ? "audit-intact" : "audit-altered");
  gtk_widget_remove_css_class (GTK_WIDGET (self->result_icon), ok ? "error" : "success");
  gtk_widget_add_css_class (GTK_WIDGET (self->result_icon), ok ? "success" : "error");
  gtk_revealer_set_reveal_child (self->result_revealer, TRUE);
}

static char *
anchored_text (MtsAuditView *self)
{
  MtsSyncManager *mgr = self->app != NULL ? mts_application_get_sync_manager (self->app) : NULL;
  GDateTime *last = mgr != NULL ? mts_sync_manager_get_last_synced (mgr) : NULL;
  g_autoptr (GDateTime) local = NULL;
  g_autofree char *when = NULL;

  if (last == NULL)
    return g_strdup ("It has not been anchored to the server yet: it will be at the next sync.");
  local = g_date_time_to_local (last);
  when = g_date_time_format (local, "%-d %b %Y, %H:%M");
  return g_strdup_printf ("Its head was anchored to the server at the last sync, %s.", when);
}

static void
verify_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsAuditView *self = MTS_AUDIT_VIEW (source);
  Verify *v = g_task_get_task_data (G_TASK (result));
  g_autofree char *text = NULL;
  g_autofree char *count = NULL;

  if (g_task_had_error (G_TASK (result)) || g_cancellable_is_cancelled (self->verify_cancel))
    return;
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->verify_button), TRUE);

  count = g_strdup_printf ("%" G_GINT64_FORMAT, v->entries);
  if (v->ok)
    {
      g_autofree char *anchored = anchored_text (self);
      text = g_strdup_printf ("The audit log is intact: %s %s, chain verified. %s", count,
                              v->entries == 1 ? "entry" : "entries", anchored);
    }
  else
    {
      const char *why = v->result != NULL ? v->result : "it could not be read";
      gint64 entry;
      char *end = NULL;

      if (g_str_has_prefix (why, "mts_audit_verify: "))
        why += strlen ("mts_audit_verify: ");
      if (g_str_has_prefix (why, "entry ")
          && (entry = g_ascii_strtoll (why + 6, &end, 10)) > 0 && end != NULL)
        text = g_strdup_printf ("The audit log has been altered at entry %" G_GINT64_FORMAT
                                ": %s", entry, why);
      else
        text = g_strdup_printf ("The audit log has been altered: %s", why);
    }
  show_result (self, v->ok, text);
}

static void
verify_clicked_cb (MtsAuditView *self)
{
  MtsStore *store = view_store (self);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  Verify *v;

  if (store == NULL)
    return;
  v = g_new0 (Verify, 1);
  v->twin = mts_store_open_twin (store, &error);
  if (v->twin == NULL)
    {
      g_autofree char *text = g_strdup_printf ("The audit log could not be verified: %s",
                                               error->message);
      verify_free (v);
      show_result (self, FALSE, text);
      return;
    }
  g_cancellable_cancel (self->verify_cancel);
  g_clear_object (&self->verify_cancel);
  self->verify_cancel = g_cancellable_new ();
  gtk_widget_set_sensitive (GTK_WIDGET (self->verify_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_start (self->spinner);
  gtk_revealer_set_reveal_child (self->result_revealer, FALSE);

  /* The task holds the view until the thread is done. */
  task = g_task_new (self, NULL, verify_done_cb, NULL);
  g_task_set_name (task, "[mts] audit verify");
  g_task_set_task_data (task, v, verify_free);
  g_task_run_in_thread (task, verify_thread);
}

/* ---- columns ---- */

typedef enum { COL_SEQ, COL_AT, COL_WHO, COL_ACTION, COL_RECORD, COL_CHANGED } Column;

static void
setup_cell_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  Column col = GPOINTER_TO_INT (data);

  gtk_label_set_xalign (GTK_LABEL (label), col == COL_SEQ ? 1 : 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (col == COL_SEQ)
    gtk_widget_add_css_class (label, "numeric");
  if (col == COL_SEQ || col == COL_CHANGED)
    gtk_widget_add_css_class (label, "dim-label");
  gtk_list_item_set_child (item, label);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  MtsAuditRow *row = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));
  g_autofree char *seq = NULL;

  switch ((Column) GPOINTER_TO_INT (data))
    {
    case COL_SEQ:
      seq = g_strdup_printf ("%" G_GINT64_FORMAT, row->seq);
      gtk_label_set_text (label, seq);
      break;
    case COL_AT:
      gtk_label_set_text (label, row->at);
      break;
    case COL_WHO:
      gtk_label_set_text (label, row->who);
      gtk_widget_set_tooltip_text (GTK_WIDGET (label), row->who);
      break;
    case COL_ACTION:
      gtk_label_set_text (label, row->action);
      break;
    case COL_RECORD:
      gtk_label_set_text (label, row->record);
      gtk_widget_set_tooltip_text (GTK_WIDGET (label), row->record_full);
      break;
    case COL_CHANGED:
      gtk_label_set_text (label, row->changed);
      gtk_widget_set_tooltip_text (GTK_WIDGET (label), *row->changed ? row->changed : NULL);
      break;
    }
}

static void
add_column (MtsAuditView *self, const char *title, Column col, int fixed_width, gboolean expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), GINT_TO_POINTER (col));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), GINT_TO_POINTER (col));
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_resizable (column, TRUE);
  gtk_column_view_column_set_expand (column, expand);
  if (fixed_width > 0)
    gtk_column_view_column_set_fixed_width (column, fixed_width);
  gtk_column_view_append_column (self->column_view, column);
  g_object_unref (column);
}

/* ---- following the app ---- */

/* The log is read when it is on screen: reading it at every unlock while
 * hidden cost 90-220 ms of the way to a usable client list (bench-desktop). */
static void
app_unlocked_cb (MtsAuditView *self)
{
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    reload (self);
  else
    self->reload_on_map = TRUE;
}

static void
map_cb (MtsAuditView *self)
{
  if (self->reload_on_map)
    {
      self->reload_on_map = FALSE;
      reload (self);
    }
}

static void
app_locked_cb (MtsAuditView *self)
{
  if (self->verify_cancel != NULL)
    g_cancellable_cancel (self->verify_cancel);
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->verify_button), TRUE);
  clear (self);
  self->exhausted = TRUE;
}

static void
app_changed_cb (MtsAuditView *self)
{
  /* New entries: start again from the newest, if the log is on screen. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      gboolean revealed = gtk_revealer_get_reveal_child (self->result_revealer);
      reload (self);
      gtk_revealer_set_reveal_child (self->result_revealer, revealed);
    }
}

static void
mts_audit_view_dispose (GObject *object)
{
  MtsAuditView *self = MTS_AUDIT_VIEW (object);

  if (self->verify_cancel != NULL)
    g_cancellable_cancel (self->verify_cancel);
  g_clear_object (&self->verify_cancel);
  if (self->app != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->app, self);
      g_object_remove_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      self->app = NULL;
    }
  G_OBJECT_CLASS (mts_audit_view_parent_class)->dispose (object);
}

static void
mts_audit_view_finalize (GObject *object)
{
  MtsAuditView *self = MTS_AUDIT_VIEW (object);

  g_free (self->client_id);
  g_clear_object (&self->rows);
  g_clear_pointer (&self->row_ids, g_hash_table_unref);
  g_clear_pointer (&self->clinicians, g_hash_table_unref);
  G_OBJECT_CLASS (mts_audit_view_parent_class)->finalize (object);
}

static void
mts_audit_view_class_init (MtsAuditViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mts_audit_view_dispose;
  object_class->finalize = mts_audit_view_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-audit-view.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, title_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, spinner);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, verify_button);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, result_revealer);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, result_box);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, result_icon);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, result_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, stack);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, scroller);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, column_view);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, count_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAuditView, load_more_button);
  gtk_widget_class_bind_template_callback (widget_class, verify_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, load_more_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, edge_reached_cb);
}

static void
mts_audit_view_init (MtsAuditView *self)
{
  GApplication *app = g_application_get_default ();
  g_autoptr (GtkNoSelection) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_list_store_new (MTS_TYPE_AUDIT_ROW);
  self->row_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->clinicians = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->next_before = G_MAXINT64;
  self->exhausted = TRUE;

  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->rows)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (selection));
  add_column (self, "No.", COL_SEQ, 70, FALSE);
  add_column (self, "Time", COL_AT, 170, FALSE);
  add_column (self, "Who", COL_WHO, 140, FALSE);
  add_column (self, "Action", COL_ACTION, 110, FALSE);
  add_column (self, "Record", COL_RECORD, 150, FALSE);
  add_column (self, "Columns changed", COL_CHANGED, -1, TRUE);

  if (MTS_IS_APPLICATION (app))
    {
      self->app = MTS_APPLICATION (app);
      g_object_add_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      g_signal_connect_swapped (self->app, "unlocked", G_CALLBACK (app_unlocked_cb), self);
      g_signal_connect (self, "map", G_CALLBACK (map_cb), NULL);
      g_signal_connect_swapped (self->app, "locked", G_CALLBACK (app_locked_cb), self);
      g_signal_connect_swapped (self->app, "changed", G_CALLBACK (app_changed_cb), self);
    }
  update_count (self);
}

GtkWidget *
mts_audit_view_new (void)
{
  return g_object_new (MTS_TYPE_AUDIT_VIEW, NULL);
}
