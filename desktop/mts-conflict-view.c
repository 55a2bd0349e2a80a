/* mts-conflict-view.c — Open sync conflicts: both versions side by side, and the base.
 *
 * The list names each record the way the rest of the app does ("Session
 * note for Jane Doe, 12 Nov"); choosing one shows, field by field, this
 * device's version beside the server's (lines that differ highlighted),
 * the base both started from in an expander, and the three ways out:
 * Keep Mine, Keep Theirs, Edit a Merge (prefilled from mine: the server
 * already tried a line-wise merge, which is why this is a conflict).  A
 * change the server refused ("rejected") shows with its reason and can be
 * dismissed, or, for a note signed meanwhile, kept as an amendment.
 *
 * Resolving goes through mts_sync_conflict_resolve(), then
 * mts_application_notify_changed() and app.sync-now, so the choice is
 * pushed at once.  Nothing of a conflict stays on screen once the app locks. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-conflict-view.h"

#include <string.h>

#include "mts-application.h"
#include "mts-sync-conflicts.h"
#include "mts-window.h"

/* Line-wise highlighting is skipped past this many line pairs (the
 * comparison is quadratic; notes are far smaller). */
#define MAX_DIFF_CELLS (4 * 1000 * 1000)

struct _MtsConflictView
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkListBox *list;
  GtkLabel *list_title;
  GtkLabel *detail_title;
  GtkLabel *detail_subtitle;
  GtkLabel *error_label;
  GtkBox *fields_box;
  GtkButton *edit_merge_button;
  GtkButton *merge_cancel_button;
  GtkButton *keep_mine_button;
  GtkButton *keep_theirs_button;
  GtkButton *save_merge_button;
  GtkButton *amend_button;
  GtkButton *dismiss_button;

  MtsApplication *app;            /* weak */
  MtsSyncManager *manager;        /* the app's, while unlocked */
  GPtrArray *conflicts;           /* of MtsSyncConflict, as listed */
  MtsSyncConflict *current;       /* shown in the detail page (owned by conflicts) */
  GPtrArray *merge_views;         /* GtkTextView per clashing field, for a merge */
  gboolean merging;
};

G_DEFINE_FINAL_TYPE (MtsConflictView, mts_conflict_view, ADW_TYPE_BIN)

/* ---- describing records ---- */

static const struct { const char *field; const char *label; } field_labels[] = {
  { "body", "Note text" },
  { "display_name", "Name" },
  { "date_of_birth", "Date of birth" },
  { "email", "E-mail" },
  { "phone", "Phone" },
  { "address", "Address" },
  { "gp_details", "GP" },
  { "emergency_contact", "Emergency contact" },
  { "status", "Status" },
  { "template_kind", "Template" },
  { "signed_by", "Signed by" },
  { "signed_at", "Signed at" },
  { "starts_at", "Starts" },
  { "ends_at", "Ends" },
  { "title", "Title" },
  { "description", "Description" },
  { "notes", "Notes" },
  { "level", "Level" },
  { "consented", "Consent" },
};

static char *
field_label (const char *field)
{
  char *text;

  for (gsize i = 0; i < G_N_ELEMENTS (field_labels); i++)
    if (strcmp (field_labels[i].field, field) == 0)
      return g_strdup (field_labels[i].label);
  text = g_strdelimit (g_strdup (field), "_", ' ');
  text[0] = g_ascii_toupper (text[0]);
  return text;
}

static const char *
json_str (JsonObject *o, const char *member)
{
  JsonNode *node;

  if (o == NULL || (node = json_object_get_member (o, member)) == NULL
      || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* A field's value as text ("" for none). */
static char *
json_text (JsonObject *o, const char *member)
{
  JsonNode *node = o != NULL ? json_object_get_member (o, member) : NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (node))
    switch (json_node_get_value_type (node))
      {
      case G_TYPE_STRING:
        return g_strdup (json_node_get_string (node));
      case G_TYPE_INT64:
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      case G_TYPE_BOOLEAN:
        return g_strdup (json_node_get_boolean (node) ? "yes" : "no");
      case G_TYPE_DOUBLE:
        return g_strdup_printf ("%g", json_node_get_double (node));
      default:
        break;
      }
  return json_to_string (node, TRUE);
}

static char *
short_date (const char *iso)
{
  g_autoptr (GDateTime) at = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = NULL;

  if (at == NULL)
    return NULL;
  local = g_date_time_to_local (at);
  return g_date_time_format (local, "%-d %b");
}

/* The client's name, as the client list shows it; never the row's text. */
static char *
client_name (MtsStore *store, const char *client_id)
{
  g_autoptr (MtsClient) client = NULL;

  if (client_id == NULL)
    return g_strdup ("a client");
  client = mts_store_client_get (store, client_id, NULL);
  if (client == NULL || client->display_name == NULL)
    return g_strdup ("a deleted client");
  return g_strdup (client->display_name);
}

/* "Session note for Jane Doe, 12 Nov": what the record is, in the words
 * the app uses elsewhere. */
static char *
describe_record (MtsStore *store, const MtsSyncConflict *c)
{
  JsonObject *o = c->remote != NULL ? c->remote : c->local;
  const char *t = c->table_name;
  g_autofree char *name = NULL;
  g_autofree char *day = NULL;

  if (strcmp (t, "clients") == 0)
    {
      name = client_name (store, c->row_id);
      if (g_str_equal (name, "a deleted client") && json_str (c->local, "display_name") != NULL)
        {
          g_free (name);
          name = g_strdup (json_str (c->local, "display_name"));
        }
      return g_strdup_printf ("Client record of %s", name);
    }
  name = client_name (store, json_str (o, "client_id") ? json_str (o, "client_id")
                                                       : json_str (c->local, "client_id"));
  if (strcmp (t, "notes") == 0)
    {
      day = short_date (json_str (o, "created_at"));
      return day ? g_strdup_printf ("Session note for %s, %s", name, day)
                 : g_strdup_printf ("Session note for %s", name);
    }
  if (strcmp (t, "sessions") == 0)
    {
      day = short_date (json_str (o, "starts_at"));
      return day ? g_strdup_printf ("Session with %s, %s", name, day)
                 : g_strdup_printf ("Session with %s", name);
    }
  if (strcmp (t, "risk_flags") == 0)
    return g_strdup_printf ("Risk flag for %s", name);
  if (strcmp (t, "agreements") == 0)
    return g_strdup_printf ("Agreement with %s", name);
  if (strcmp (t, "documents") == 0)
    return g_strdup_printf ("Document of %s", name);
  if (strcmp (t, "invoices") == 0)
    return g_strdup_printf ("Invoice for %s", name);
  if (strcmp (t, "ai_consents") == 0)
    return g_strdup_printf ("AI consent of %s", name);
  if (strcmp (t, "payments") == 0)
    return g_strdup ("Payment");
  if (strcmp (t, "note_templates") == 0)
    return g_strdup ("Note template");
  if (strcmp (t, "clinicians") == 0)
    return g_strdup ("Clinician");
  return g_strdup_printf ("Record in %s", t);
}

static const char *
rejected_reason (const char *code)
{
  if (g_strcmp0 (code, "signed") == 0)
    return "The note was signed on another device, so it cannot change any more.";
  if (g_strcmp0 (code, "deleted") == 0)
    return "The record (or its client) was deleted on another device.";
  if (g_strcmp0 (code, "stale_base") == 0)
    return "The server no longer has the version this change was made to.";
  if (g_strcmp0 (code, "invalid") == 0)
    return "The server found a value in this change not valid.";
  return "The server did not accept this change.";
}

/* The fields to compare: the clashing ones, else every field that differs. */
static GPtrArray *
conflict_fields (const MtsSyncConflict *c)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);

  if (c->fields != NULL && *c->fields != '\0')
    {
      g_auto (GStrv) names = g_strsplit (c->fields, ",", -1);
      for (guint i = 0; names[i] != NULL; i++)
        if (*names[i] != '\0')
          g_ptr_array_add (fields, g_strdup (names[i]));
    }
  else if (c->local != NULL)
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *node;

      json_object_iter_init (&iter, c->local);
      while (json_object_iter_next (&iter, &name, &node))
        {
          JsonNode *theirs = c->remote ? json_object_get_member (c->remote, name) : NULL;

          if (g_str_equal (name, "id") || g_str_has_suffix (name, "_id")
              || g_str_equal (name, "created_at") || g_str_equal (name, "updated_at")
              || g_str_equal (name, "version") || g_str_equal (name, "deleted"))
            continue;
          if (c->remote == NULL || theirs == NULL || !json_node_equal (node, theirs))
            g_ptr_array_add (fields, g_strdup (name));
        }
    }
  return fields;
}

/* ---- line highlighting ---- */

/* Marks with @tag the lines of @buffer (holding @text) that are not in the
 * longest common subsequence of lines with @other. */
static void
highlight_changed_lines (GtkTextBuffer *buffer, const char *text, const char *other,
                         const char *tag)
{
  g_auto (GStrv) a = g_strsplit (text, "\n", -1);
  g_auto (GStrv) b = g_strsplit (other, "\n", -1);
  guint n = g_strv_length (a), m = g_strv_length (b);
  g_autofree guint *lcs = NULL;

  if ((guint64) (n + 1) * (m + 1) > MAX_DIFF_CELLS)
    return;
  lcs = g_new0 (guint, (gsize) (n + 1) * (m + 1));
#define L(i, j) lcs[(gsize) (i) * (m + 1) + (j)]
  for (guint i = n; i-- > 0;)
    for (guint j = m; j-- > 0;)
      L (i, j) = strcmp (a[i], b[j]) == 0 ? L (i + 1, j + 1) + 1 : MAX (L (i + 1, j), L (i, j + 1));
  for (guint i = 0, j = 0; i < n;)
    {
      if (j < m && strcmp (a[i], b[j]) == 0)
        {
          i++, j++;
          continue;
        }
      if (j < m && L (i, j + 1) >= L (i + 1, j))
        {
          j++;
          continue;
        }
      if (*a[i] != '\0' || n == 1)
        {
          GtkTextIter start, end;
          gtk_text_buffer_get_iter_at_line (buffer, &start, (int) i);
          end = start;
          if (!gtk_text_iter_ends_line (&end))
            gtk_text_iter_forward_to_line_end (&end);
          gtk_text_buffer_apply_tag_by_name (buffer, tag, &start, &end);
        }
      i++;
    }
#undef L
}

/* ---- building the detail page ---- */

static GtkWidget *
text_box (const char *name, const char *text, gboolean editable, const char *css_class,
          const char *accessible_label, GtkTextView **view_out)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *view = gtk_text_view_new ();
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));

  gtk_widget_set_name (view, name);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), editable);
  gtk_text_view_set_cursor_visible (GTK_TEXT_VIEW (view), editable);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 10);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 10);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 8);
  gtk_widget_add_css_class (view, "note-text");
  if (css_class != NULL)
    gtk_widget_add_css_class (view, css_class);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible_label, -1);
  gtk_text_buffer_create_tag (buffer, "changed-mine", "background", "rgba(53,132,228,0.22)", NULL);
  gtk_text_buffer_create_tag (buffer, "changed-theirs", "background", "rgba(229,165,10,0.30)", NULL);
  gtk_text_buffer_set_text (buffer, text, -1);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroll), editable ? 180 : 120);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroll), 340);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroll), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), view);
  gtk_frame_set_child (GTK_FRAME (frame), scroll);
  gtk_widget_add_css_class (frame, "view");
  if (view_out != NULL)
    *view_out = GTK_TEXT_VIEW (view);
  return frame;
}

static GtkWidget *
column (const char *heading, const char *icon, GtkWidget *content)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (heading);

  gtk_box_append (GTK_BOX (head), gtk_image_new_from_icon_name (icon));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (head), label);
  gtk_box_append (GTK_BOX (box), head);
  gtk_widget_set_hexpand (content, TRUE);
  gtk_box_append (GTK_BOX (box), content);
  return box;
}

static void
clear_fields (MtsConflictView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fields_box))) != NULL)
    gtk_box_remove (self->fields_box, child);
  g_ptr_array_set_size (self->merge_views, 0);
}

static void
add_conflict_field (MtsConflictView *self, const char *field)
{
  MtsSyncConflict *c = self->current;
  g_autofree char *label = field_label (field);
  g_autofree char *mine = json_text (c->local, field);
  g_autofree char *theirs = json_text (c->remote, field);
  g_autofree char *base = c->base != NULL ? json_text (c->base, field) : NULL;
  g_autofree char *mine_name = g_strdup_printf ("conflict-mine-%s", field);
  g_autofree char *theirs_name = g_strdup_printf ("conflict-theirs-%s", field);
  g_autofree char *base_name = g_strdup_printf ("conflict-base-%s", field);
  g_autofree char *merge_name = g_strdup_printf ("conflict-merge-%s", field);
  g_autofree char *expander_name = g_strdup_printf ("conflict-base-expander-%s", field);
  g_autofree char *a11y_mine = g_strdup_printf ("%s: this device's version", label);
  g_autofree char *a11y_theirs = g_strdup_printf ("%s: the server's version", label);
  g_autofree char *a11y_base = g_strdup_printf ("%s: the version before both changes", label);
  g_autofree char *a11y_merge = g_strdup_printf ("%s: the merge to keep", label);
  GtkWidget *section = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  GtkWidget *heading = gtk_label_new (label);
  GtkWidget *sides = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *merge_box;
  GtkTextView *mine_view, *theirs_view, *merge_view;

  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "title-4");
  gtk_box_append (GTK_BOX (section), heading);

  gtk_box_set_homogeneous (GTK_BOX (sides), TRUE);
  gtk_box_append (GTK_BOX (sides),
                  column ("This device's version", "computer-symbolic",
                          text_box (mine_name, mine, FALSE, "conflict-mine", a11y_mine, &mine_view)));
  gtk_box_append (GTK_BOX (sides),
                  column ("The server's version", "network-server-symbolic",
                          text_box (theirs_name, theirs, FALSE, "conflict-theirs", a11y_theirs,
                                    &theirs_view)));
  highlight_changed_lines (gtk_text_view_get_buffer (mine_view), mine, theirs, "changed-mine");
  highlight_changed_lines (gtk_text_view_get_buffer (theirs_view), theirs, mine, "changed-theirs");
  gtk_box_append (GTK_BOX (section), sides);

  if (base != NULL)
    {
      GtkWidget *expander = gtk_expander_new ("Version before both changes (the base)");
      gtk_widget_set_name (expander, expander_name);
      gtk_expander_set_child (GTK_EXPANDER (expander),
                              text_box (base_name, base, FALSE, NULL, a11y_base, NULL));
      gtk_widget_set_margin_top (gtk_expander_get_child (GTK_EXPANDER (expander)), 6);
      gtk_box_append (GTK_BOX (section), expander);
    }

  merge_box = column ("Your merge (this is what will be kept)", "document-edit-symbolic",
                      text_box (merge_name, mine, TRUE, NULL, a11y_merge, &merge_view));
  gtk_widget_set_visible (merge_box, self->merging);
  g_object_set_data_full (G_OBJECT (merge_view), "mts-field", g_strdup (field), g_free);
  g_object_set_data (G_OBJECT (merge_view), "mts-merge-box", merge_box);
  g_ptr_array_add (self->merge_views, merge_view);
  gtk_box_append (GTK_BOX (section), merge_box);

  gtk_box_append (self->fields_box, section);
}

static void
add_rejected_fields (MtsConflictView *self)
{
  MtsSyncConflict *c = self->current;
  g_autoptr (GPtrArray) fields = conflict_fields (c);
  GtkWidget *reason = gtk_label_new (rejected_reason (c->reason));

  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_widget_set_name (reason, "conflict-rejected-reason");
  gtk_box_append (self->fields_box, reason);

  for (guint i = 0; i < fields->len; i++)
    {
      const char *field = fields->pdata[i];
      g_autofree char *label = field_label (field);
      g_autofree char *text = json_text (c->local, field);
      g_autofree char *name = g_strdup_printf ("conflict-mine-%s", field);
      g_autofree char *a11y = g_strdup_printf ("%s: this device's version", label);
      g_autofree char *heading = g_strdup_printf ("%s — this device's version, not accepted", label);

      gtk_box_append (self->fields_box,
                      column (heading, "computer-symbolic",
                              text_box (name, text, FALSE, "conflict-mine", a11y, NULL)));
    }
}

static void
set_merging (MtsConflictView *self, gboolean merging)
{
  gboolean rejected = self->current != NULL && g_strcmp0 (self->current->kind, "rejected") == 0;
  gboolean can_amend = rejected && g_strcmp0 (self->current->table_name, "notes") == 0
                       && g_strcmp0 (self->current->reason, "signed") == 0
                       && json_str (self->current->local, "body") != NULL;

  self->merging = merging && !rejected;
  for (guint i = 0; i < self->merge_views->len; i++)
    gtk_widget_set_visible (g_object_get_data (self->merge_views->pdata[i], "mts-merge-box"),
                            self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->edit_merge_button), !rejected && !self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->merge_cancel_button), self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->save_merge_button), self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->keep_mine_button), !rejected && !self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->keep_theirs_button), !rejected && !self->merging);
  gtk_widget_set_visible (GTK_WIDGET (self->dismiss_button), rejected);
  gtk_widget_set_visible (GTK_WIDGET (self->amend_button), can_amend);
  if (self->merging && self->merge_views->len > 0)
    gtk_widget_grab_focus (self->merge_views->pdata[0]);
}

static void
show_error (MtsConflictView *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
show_detail (MtsConflictView *self, MtsSyncConflict *c)
{
  MtsStore *store = mts_application_get_store (self->app);
  g_autofree char *title = describe_record (store, c);
  g_autofree char *when = short_date (c->created_at);
  g_autofree char *subtitle = NULL;

  self->current = c;
  self->merging = FALSE;
  clear_fields (self);
  show_error (self, NULL);
  gtk_label_set_text (self->detail_title, title);

  if (g_strcmp0 (c->kind, "rejected") == 0)
    {
      subtitle = g_strdup_printf ("A change made on this device that the server did not accept%s%s. "
                                  "It is kept here so that nothing you wrote is lost.",
                                  when ? ", " : "", when ? when : "");
      add_rejected_fields (self);
    }
  else
    {
      g_autoptr (GPtrArray) fields = conflict_fields (c);

      subtitle = g_strdup_printf ("Changed on this device and on the server before they could "
                                  "sync%s%s%s. Until you choose, the record shows the server's "
                                  "version.", when ? " (" : "", when ? when : "", when ? ")" : "");
      for (guint i = 0; i < fields->len; i++)
        add_conflict_field (self, fields->pdata[i]);
    }
  gtk_label_set_text (self->detail_subtitle, subtitle);
  set_merging (self, FALSE);
  gtk_stack_set_visible_child_name (self->stack, "detail");
}

/* ---- the list ---- */

static GtkWidget *
make_row (MtsConflictView *self, MtsSyncConflict *c, guint index)
{
  MtsStore *store = mts_application_get_store (self->app);
  g_autofree char *title = describe_record (store, c);
  g_autofree char *when = short_date (c->created_at);
  g_autofree char *subtitle = NULL;
  g_autofree char *name = g_strdup_printf ("conflict-row-%u", index);
  GtkWidget *row = adw_action_row_new ();
  gboolean rejected = g_strcmp0 (c->kind, "rejected") == 0;

  if (rejected)
    subtitle = g_strdup_printf ("Not accepted by the server — %s", rejected_reason (c->reason));
  else
    {
      g_autoptr (GPtrArray) fields = conflict_fields (c);
      GString *names = g_string_new (NULL);

      for (guint i = 0; i < fields->len; i++)
        {
          g_autofree char *l = field_label (fields->pdata[i]);
          g_autofree char *lower = g_ascii_strdown (l, -1);
          if (i > 0)
            g_string_append (names, ", ");
          g_string_append (names, i == 0 ? l : lower);
        }
      subtitle = g_strdup_printf ("%s changed on both sides%s%s", names->len ? names->str : "Fields",
                                  when ? " · " : "", when ? when : "");
      g_string_free (names, TRUE);
    }

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row),
                             gtk_image_new_from_icon_name (rejected ? "dialog-error-symbolic"
                                                                    : "dialog-warning-symbolic"));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data (G_OBJECT (row), "mts-index", GUINT_TO_POINTER (index));
  return row;
}

static void
clear_all (MtsConflictView *self)
{
  GtkWidget *child;

  self->current = NULL;
  clear_fields (self);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  g_ptr_array_set_size (self->conflicts, 0);
}

void
mts_conflict_view_reload (MtsConflictView *self)
{
  MtsStore *store;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (MTS_IS_CONFLICT_VIEW (self));

  clear_all (self);
  store = self->app != NULL ? mts_application_get_store (self->app) : NULL;
  if (store == NULL || !mts_store_is_unlocked (store))
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  list = mts_sync_conflicts_list (store, &error);
  if (list == NULL)
    {
      g_warning ("cannot list the sync conflicts: %s", error->message);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  for (guint i = 0; i < list->len; i++)
    {
      g_ptr_array_add (self->conflicts, g_steal_pointer (&list->pdata[i]));
      gtk_list_box_append (self->list, make_row (self, self->conflicts->pdata[i], i));
    }
  title = g_strdup_printf (self->conflicts->len == 1 ? "%u Sync Conflict" : "%u Sync Conflicts",
                           self->conflicts->len);
  gtk_label_set_text (self->list_title, title);
  gtk_stack_set_visible_child_name (self->stack, self->conflicts->len > 0 ? "list" : "empty");
}

static void
row_activated_cb (GtkListBox *box, GtkListBoxRow *row, MtsConflictView *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "mts-index"));

  if (index < self->conflicts->len)
    show_detail (self, self->conflicts->pdata[index]);
}

static void
back_clicked_cb (MtsConflictView *self)
{
  mts_conflict_view_reload (self);
}

/* ---- resolving ---- */

static void
toast (MtsConflictView *self, const char *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (MTS_IS_WINDOW (root))
    mts_window_toast (MTS_WINDOW (root), message);
}

/* After any resolution: the other pages reload, the choice is pushed. */
static void
resolved (MtsConflictView *self, const char *message)
{
  mts_application_notify_changed (self->app);
  gtk_widget_activate_action (GTK_WIDGET (self), "app.sync-now", NULL);
  toast (self, message);
  mts_conflict_view_reload (self);
}

static void
resolve (MtsConflictView *self, MtsResolution resolution, JsonObject *merged, const char *message)
{
  MtsStore *store = mts_application_get_store (self->app);
  g_autoptr (GError) error = NULL;

  if (self->current == NULL || store == NULL)
    return;
  if (!mts_sync_conflict_resolve (store, self->current->id, resolution, merged, &error))
    {
      g_autofree char *text = g_strdup_printf ("This conflict could not be resolved: %s",
                                               error->message);
      show_error (self, text);
      return;
    }
  resolved (self, message);
}

static void
keep_mine_clicked_cb (MtsConflictView *self)
{
  resolve (self, MTS_RESOLVE_MINE, NULL, "Kept this device's version; it is being sent to the server");
}

static void
keep_theirs_clicked_cb (MtsConflictView *self)
{
  resolve (self, MTS_RESOLVE_THEIRS, NULL, "Kept the server's version");
}

static void
dismiss_clicked_cb (MtsConflictView *self)
{
  resolve (self, MTS_RESOLVE_THEIRS, NULL, "Dismissed; the server's record stays as it is");
}

static void
edit_merge_clicked_cb (MtsConflictView *self)
{
  set_merging (self, TRUE);
}

static void
merge_cancel_clicked_cb (MtsConflictView *self)
{
  set_merging (self, FALSE);
}

static void
save_merge_clicked_cb (MtsConflictView *self)
{
  g_autoptr (JsonObject) merged = json_object_new ();

  if (self->current == NULL)
    return;
  for (guint i = 0; i < self->merge_views->len; i++)
    {
      GtkTextView *view = self->merge_views->pdata[i];
      const char *field = g_object_get_data (G_OBJECT (view), "mts-field");
      JsonNode *mine = json_object_get_member (self->current->local, field);
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
      GtkTextIter start, end;
      g_autofree char *text = NULL;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      /* Only text fields are edited as text: a number or flag keeps its
       * type, an empty optional field is NULL. */
      if (mine != NULL && JSON_NODE_HOLDS_VALUE (mine)
          && json_node_get_value_type (mine) == G_TYPE_INT64)
        {
          gint64 n;
          if (!g_ascii_string_to_signed (g_strstrip (text), 10, G_MININT64, G_MAXINT64, &n, NULL))
            {
              g_autofree char *label = field_label (field);
              g_autofree char *msg = g_strdup_printf ("%s must be a whole number.", label);
              show_error (self, msg);
              return;
            }
          json_object_set_int_member (merged, field, n);
        }
      else if (mine != NULL && JSON_NODE_HOLDS_VALUE (mine)
               && json_node_get_value_type (mine) == G_TYPE_BOOLEAN)
        json_object_set_boolean_member (merged, field, g_str_equal (g_strstrip (text), "yes"));
      else if (*text == '\0' && (mine == NULL || JSON_NODE_HOLDS_NULL (mine)))
        json_object_set_null_member (merged, field);
      else
        json_object_set_string_member (merged, field, text);
    }
  resolve (self, MTS_RESOLVE_MERGED, merged, "Saved your merge; it is being sent to the server");
}

/* A note signed elsewhere: this device's text becomes an amendment of it,
 * then the rejected change is acknowledged. */
static void
amend_clicked_cb (MtsConflictView *self)
{
  MtsStore *store = mts_application_get_store (self->app);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) amendment = NULL;
  const char *body;

  if (self->current == NULL || store == NULL
      || (body = json_str (self->current->local, "body")) == NULL)
    return;
  amendment = mts_store_note_amend (store, self->current->row_id, body, &error);
  if (amendment == NULL
      || !mts_sync_conflict_resolve (store, self->current->id, MTS_RESOLVE_THEIRS, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf ("Your text could not be kept as an amendment: %s",
                                               error->message);
      show_error (self, text);
      if (amendment != NULL)
        mts_application_notify_changed (self->app);
      return;
    }
  resolved (self, "Your text was added as an amendment to the signed note");
}

/* ---- following the app ---- */

static void
conflicts_changed_cb (MtsConflictView *self)
{
  /* New conflicts from a sync: refresh the list, but never pull the page
   * from under someone reading or merging one. */
  if (!g_str_equal (gtk_stack_get_visible_child_name (self->stack), "detail"))
    mts_conflict_view_reload (self);
}

static void
bind_manager (MtsConflictView *self)
{
  MtsSyncManager *mgr = self->app != NULL ? mts_application_get_sync_manager (self->app) : NULL;

  if (self->manager == mgr)
    return;
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_set_object (&self->manager, mgr);
  if (mgr != NULL)
    g_signal_connect_swapped (mgr, "notify::conflicts", G_CALLBACK (conflicts_changed_cb), self);
}

static void
app_unlocked_cb (MtsConflictView *self)
{
  bind_manager (self);
  mts_conflict_view_reload (self);
}

static void
app_locked_cb (MtsConflictView *self)
{
  bind_manager (self);
  clear_all (self);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
mts_conflict_view_dispose (GObject *object)
{
  MtsConflictView *self = MTS_CONFLICT_VIEW (object);

  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager);
  if (self->app != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->app, self);
      g_object_remove_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      self->app = NULL;
    }
  self->current = NULL;
  g_clear_pointer (&self->merge_views, g_ptr_array_unref);
  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  G_OBJECT_CLASS (mts_conflict_view_parent_class)->dispose (object);
}

static void
mts_conflict_view_class_init (MtsConflictViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mts_conflict_view_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-conflict-view.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, stack);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, list);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, list_title);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, detail_title);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, detail_subtitle);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, error_label);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, fields_box);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, edit_merge_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, merge_cancel_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, keep_mine_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, keep_theirs_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, save_merge_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, amend_button);
  gtk_widget_class_bind_template_child (widget_class, MtsConflictView, dismiss_button);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, keep_mine_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, keep_theirs_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, dismiss_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, edit_merge_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, merge_cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, save_merge_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, amend_clicked_cb);
}

static void
mts_conflict_view_init (MtsConflictView *self)
{
  GApplication *app = g_application_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->conflicts = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_sync_conflict_free);
  self->merge_views = g_ptr_array_new ();

  if (MTS_IS_APPLICATION (app))
    {
      self->app = MTS_APPLICATION (app);
      g_object_add_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      g_signal_connect_swapped (self->app, "unlocked", G_CALLBACK (app_unlocked_cb), self);
      g_signal_connect_swapped (self->app, "locked", G_CALLBACK (app_locked_cb), self);
      bind_manager (self);
    }
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

GtkWidget *
mts_conflict_view_new (void)
{
  return g_object_new (MTS_TYPE_CONFLICT_VIEW, NULL);
}
