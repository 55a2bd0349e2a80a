/* mts-client-page.c — One client: details, sessions, notes, documents,
 * agreements, risk flags, AI consent. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-page.h"

#include <string.h>

#include "mts-application.h"
#include "mts-client-editor.h"
#include "mts-store-documents.h"
#include "mts-store-records.h"
#include "mts-window.h"

enum {
  SECTION_FLAGS,
  SECTION_UPCOMING,
  SECTION_NOTES,
  SECTION_PAST,
  SECTION_DETAILS,
  SECTION_DOCUMENTS,
  SECTION_AGREEMENTS,
  N_SECTIONS
};

struct _MtsClientPage
{
  AdwBin parent_instance;

  GtkStack *page_stack;
  GtkScrolledWindow *scroller;
  GtkLabel *name_label;
  GtkLabel *summary_label;
  AdwPreferencesGroup *flags_group;
  AdwPreferencesGroup *upcoming_group;
  AdwPreferencesGroup *notes_group;
  AdwPreferencesGroup *past_group;
  AdwPreferencesGroup *details_group;
  AdwPreferencesGroup *documents_group;
  AdwPreferencesGroup *agreements_group;
  AdwActionRow *consent_row;
  GtkSwitch *consent_switch;
  GtkLabel *consent_error;

  AdwPreferencesGroup *groups[N_SECTIONS];
  GPtrArray *rows[N_SECTIONS];     /* the rows added to each group */

  char *client_id;
  char *client_name;
  gboolean stale;                  /* changed while not on screen */
  gboolean updating_switch;
  guint reload_idle;
};

G_DEFINE_FINAL_TYPE (MtsClientPage, mts_client_page, ADW_TYPE_BIN)

static MtsApplication *
page_app (void)
{
  GApplication *app = g_application_get_default ();

  return MTS_IS_APPLICATION (app) ? MTS_APPLICATION (app) : NULL;
}

static MtsStore *
unlocked_store (void)
{
  MtsApplication *app = page_app ();

  return app != NULL && mts_application_is_unlocked (app) ? mts_application_get_store (app) : NULL;
}

static void
toast (MtsClientPage *self, const char *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (MTS_IS_WINDOW (root))
    mts_window_toast (MTS_WINDOW (root), message);
}

static void
changed (void)
{
  MtsApplication *app = page_app ();

  if (app != NULL)
    mts_application_notify_changed (app);
}

/* ---- formatting ---- */

static GDateTime *
parse_local (const char *iso)
{
  g_autoptr (GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;

  return utc != NULL ? g_date_time_to_local (utc) : NULL;
}

/* "27 Nov 2026" (transfer full) */
static char *
format_date (const char *iso)
{
  g_autoptr (GDateTime) t = parse_local (iso);

  return t != NULL ? g_date_time_format (t, "%-d %b %Y") : g_strdup (iso != NULL ? iso : "");
}

static char *
now_iso (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

static char *
clinician_name (MtsStore *store, const char *id)
{
  g_autoptr (MtsClinician) c = id != NULL ? mts_store_clinician_get (store, id, NULL) : NULL;

  if (c != NULL && c->display_name != NULL && *c->display_name != '\0')
    return g_strdup (c->display_name);
  return g_strdup ("an unknown clinician");
}

static const char *
status_label (const char *status)
{
  if (g_strcmp0 (status, "waiting") == 0)
    return "On the waiting list";
  if (g_strcmp0 (status, "closed") == 0)
    return "Closed";
  return "Active";
}

/* ---- rows ---- */

static AdwActionRow *
add_row (MtsClientPage *self, int section, const char *title, const char *subtitle, const char *name)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (row, subtitle);
  if (name != NULL)
    gtk_widget_set_name (GTK_WIDGET (row), name);
  adw_preferences_group_add (self->groups[section], GTK_WIDGET (row));
  g_ptr_array_add (self->rows[section], row);
  return row;
}

static void
add_placeholder (MtsClientPage *self, int section, const char *text)
{
  AdwActionRow *row = add_row (self, section, text, NULL, NULL);

  gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
}

static void
add_suffix_label (AdwActionRow *row, const char *text, const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (label, "caption");
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  adw_action_row_add_suffix (row, label);
}

static void
clear_rows (MtsClientPage *self)
{
  for (int s = 0; s < N_SECTIONS; s++)
    {
      for (guint i = 0; i < self->rows[s]->len; i++)
        adw_preferences_group_remove (self->groups[s], self->rows[s]->pdata[i]);
      g_ptr_array_set_size (self->rows[s], 0);
    }
}

/* Everything shown of the client goes (on lock, on delete). */
static void
clear (MtsClientPage *self)
{
  clear_rows (self);
  gtk_label_set_text (self->name_label, "");
  gtk_label_set_text (self->summary_label, "");
  adw_action_row_set_subtitle (self->consent_row, "");
  gtk_widget_set_visible (GTK_WIDGET (self->consent_error), FALSE);
  g_clear_pointer (&self->client_name, g_free);
}

/* ---- row actions ---- */

static void
note_activated_cb (AdwActionRow *row, MtsClientPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "win.open-note", "s",
                              g_object_get_data (G_OBJECT (row), "note-id"));
}

static void
resolve_flag_cb (GtkButton *button, MtsClientPage *self)
{
  MtsStore *store = unlocked_store ();
  const char *id = g_object_get_data (G_OBJECT (button), "flag-id");
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsRiskFlag) flag = store != NULL ? mts_store_risk_flag_get (store, id, &error) : NULL;

  if (flag == NULL)
    {
      toast (self, "The risk flag could not be read: it may have been deleted");
      return;
    }
  g_free (flag->resolved_at);
  flag->resolved_at = now_iso ();
  if (!mts_store_risk_flag_update (store, flag, &error))
    {
      g_autofree char *message = g_strdup_printf ("The flag could not be resolved: %s", error->message);
      toast (self, message);
      return;
    }
  toast (self, "Risk flag resolved");
  changed ();
}

/* ---- loading ---- */

static void
load_header (MtsClientPage *self, MtsClient *c)
{
  g_autoptr (GString) summary = g_string_new (status_label (c->status));

  gtk_label_set_text (self->name_label, c->display_name);
  g_free (self->client_name);
  self->client_name = g_strdup (c->display_name);
  if (c->date_of_birth != NULL && *c->date_of_birth != '\0')
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      int y = 0, m = 0, d = 0;

      if (sscanf (c->date_of_birth, "%d-%d-%d", &y, &m, &d) == 3 && g_date_valid_dmy (d, m, y))
        {
          GDate *dob = g_date_new_dmy (d, m, y);
          char buf[64];
          int age = g_date_time_get_year (now) - y;

          if (g_date_time_get_month (now) < m
              || (g_date_time_get_month (now) == m && g_date_time_get_day_of_month (now) < d))
            age--;
          g_date_strftime (buf, sizeof buf, "%-d %b %Y", dob);
          g_string_append_printf (summary, " · born %s (%d)", buf, age);
          g_date_free (dob);
        }
    }
  gtk_label_set_text (self->summary_label, summary->str);
}

static void
load_details (MtsClientPage *self, MtsStore *store, MtsClient *c)
{
  const struct { const char *title; const char *value; } fields[] = {
    { "E-mail", c->email },
    { "Phone", c->phone },
    { "Address", c->address },
    { "GP", c->gp_details },
    { "Emergency contact", c->emergency_contact },
  };
  guint shown = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    if (fields[i].value != NULL && *fields[i].value != '\0')
      {
        AdwActionRow *row = add_row (self, SECTION_DETAILS, fields[i].value, NULL, NULL);
        /* The field's name above its value, as a contact card. */
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), fields[i].title);
        adw_action_row_set_subtitle (row, fields[i].value);
        gtk_widget_add_css_class (GTK_WIDGET (row), "property");
        shown++;
      }
  if (c->clinician_id != NULL)
    {
      g_autofree char *who = clinician_name (store, c->clinician_id);
      AdwActionRow *row = add_row (self, SECTION_DETAILS, "Clinician", who, NULL);
      gtk_widget_add_css_class (GTK_WIDGET (row), "property");
      shown++;
    }
  if (shown == 0)
    add_placeholder (self, SECTION_DETAILS, "No contact details yet: Edit to add them");
}

static void
load_flags (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) flags = mts_store_risk_flag_list (store, self->client_id, &error);
  guint current = 0;

  if (flags == NULL)
    {
      add_placeholder (self, SECTION_FLAGS, "Risk flags could not be read");
      return;
    }
  /* Current flags first (newest first), then resolved ones. */
  for (int pass = 0; pass < 2; pass++)
    for (guint k = flags->len; k > 0; k--)
      {
        MtsRiskFlag *f = flags->pdata[k - 1];
        gboolean resolved = f->resolved_at != NULL && *f->resolved_at != '\0';
        g_autofree char *name = g_strdup_printf ("flag-row-%s", f->id);
        g_autofree char *raised = format_date (f->raised_at);
        g_autofree char *subtitle = NULL;
        const char *level = g_strcmp0 (f->level, "high") == 0 ? "High"
                            : g_strcmp0 (f->level, "medium") == 0 ? "Medium" : "Low";
        AdwActionRow *row;
        GtkWidget *icon;

        if (resolved != (pass == 1))
          continue;
        if (resolved)
          {
            g_autofree char *when = format_date (f->resolved_at);
            subtitle = g_strdup_printf ("%s risk · raised %s · resolved %s", level, raised, when);
          }
        else
          {
            g_autofree char *who = f->raised_by != NULL ? clinician_name (store, f->raised_by) : NULL;
            subtitle = who != NULL ? g_strdup_printf ("%s risk · raised %s by %s", level, raised, who)
                                   : g_strdup_printf ("%s risk · raised %s", level, raised);
          }
        row = add_row (self, SECTION_FLAGS, f->text, subtitle, name);
        adw_action_row_set_title_lines (row, 0);
        icon = gtk_image_new_from_icon_name (resolved ? "object-select-symbolic" : "dialog-warning-symbolic");
        if (!resolved)
          gtk_widget_add_css_class (icon, g_strcmp0 (f->level, "low") == 0 ? "accent"
                                          : g_strcmp0 (f->level, "medium") == 0 ? "warning" : "error");
        adw_action_row_add_prefix (row, icon);
        if (resolved)
          gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
        else
          {
            g_autofree char *button_name = g_strdup_printf ("flag-resolve-%s", f->id);
            GtkWidget *button = gtk_button_new_with_label ("Resolve");

            gtk_widget_set_name (button, button_name);
            gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
            gtk_widget_set_tooltip_text (button, "Mark this risk as resolved");
            g_object_set_data_full (G_OBJECT (button), "flag-id", g_strdup (f->id), g_free);
            g_signal_connect (button, "clicked", G_CALLBACK (resolve_flag_cb), self);
            adw_action_row_add_suffix (row, button);
            current++;
          }
      }
  if (flags->len == 0)
    add_placeholder (self, SECTION_FLAGS, "No risk flags raised");
  adw_preferences_group_set_description (self->flags_group,
                                         current > 0 ? NULL : (flags->len > 0 ? "No current risk" : NULL));
}

static const char *
modality_label (const char *m)
{
  if (g_strcmp0 (m, "video") == 0)
    return "Video";
  if (g_strcmp0 (m, "phone") == 0)
    return "Phone";
  return "In person";
}

static const char *
session_status_label (const char *s)
{
  if (g_strcmp0 (s, "attended") == 0)
    return "Attended";
  if (g_strcmp0 (s, "cancelled") == 0)
    return "Cancelled";
  if (g_strcmp0 (s, "no_show") == 0)
    return "Did not attend";
  return "Scheduled";
}

static void
add_session_row (MtsClientPage *self, int section, MtsSession *s)
{
  g_autoptr (GDateTime) start = parse_local (s->starts_at);
  g_autoptr (GDateTime) end = parse_local (s->ends_at);
  g_autofree char *name = g_strdup_printf ("session-row-%s", s->id);
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  AdwActionRow *row;

  if (start != NULL && end != NULL)
    {
      g_autofree char *a = g_date_time_format (start, "%a %-d %b %Y, %H:%M");
      g_autofree char *b = g_date_time_format (end, "%H:%M");
      title = g_strdup_printf ("%s–%s", a, b);
    }
  else
    title = g_strdup (s->starts_at);
  subtitle = s->location != NULL && *s->location != '\0'
    ? g_strdup_printf ("%s · %s · %s", modality_label (s->modality), session_status_label (s->status), s->location)
    : g_strdup_printf ("%s · %s", modality_label (s->modality), session_status_label (s->status));
  row = add_row (self, section, title, subtitle, name);
  adw_action_row_add_prefix (row, gtk_image_new_from_icon_name (
    g_strcmp0 (s->modality, "video") == 0 ? "camera-web-symbolic"
    : g_strcmp0 (s->modality, "phone") == 0 ? "call-start-symbolic" : "x-office-calendar-symbolic"));
  if (g_strcmp0 (s->status, "cancelled") == 0 || g_strcmp0 (s->status, "no_show") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
}

static void
load_sessions (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) sessions = mts_store_session_list (store, self->client_id, &error);
  g_autofree char *now = now_iso ();
  guint upcoming = 0, past = 0;

  if (sessions == NULL)
    {
      add_placeholder (self, SECTION_UPCOMING, "Sessions could not be read");
      return;
    }
  /* Upcoming soonest first; past most recent first. */
  for (guint i = 0; i < sessions->len; i++)
    {
      MtsSession *s = sessions->pdata[i];
      if (g_strcmp0 (s->starts_at, now) > 0)
        {
          add_session_row (self, SECTION_UPCOMING, s);
          upcoming++;
        }
    }
  for (guint i = sessions->len; i > 0; i--)
    {
      MtsSession *s = sessions->pdata[i - 1];
      if (g_strcmp0 (s->starts_at, now) <= 0)
        {
          add_session_row (self, SECTION_PAST, s);
          past++;
        }
    }
  if (upcoming == 0)
    add_placeholder (self, SECTION_UPCOMING, "No sessions booked");
  if (past == 0)
    add_placeholder (self, SECTION_PAST, "No sessions yet");
}

static void
load_notes (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) notes = mts_store_note_list (store, self->client_id, &error);

  if (notes == NULL)
    {
      add_placeholder (self, SECTION_NOTES, "Notes could not be read");
      return;
    }
  /* Newest first. */
  for (guint i = notes->len; i > 0; i--)
    {
      MtsNote *n = notes->pdata[i - 1];
      g_autofree char *name = g_strdup_printf ("note-row-%s", n->id);
      g_autofree char *date = format_date (n->created_at);
      g_autofree char *title = g_strdup_printf ("%s · %s", date,
                                                g_strcmp0 (n->template_kind, "free") == 0 ? "Free text"
                                                : n->template_kind);
      g_autofree char *snippet = NULL;
      g_autofree char *subtitle = NULL;
      AdwActionRow *row;

      if (n->body != NULL)
        {
          const char *nl = strchr (n->body, '\n');
          g_autofree char *line = nl != NULL ? g_strndup (n->body, nl - n->body) : g_strdup (n->body);

          snippet = g_utf8_strlen (line, -1) > 120 ? g_utf8_substring (line, 0, 120) : g_steal_pointer (&line);
        }
      if (g_strcmp0 (n->status, "signed") == 0)
        {
          g_autofree char *when = format_date (n->signed_at);
          subtitle = g_strdup_printf ("Signed %s%s%s", when, snippet != NULL && *snippet ? " · " : "",
                                      snippet != NULL ? snippet : "");
        }
      else
        subtitle = g_strdup_printf ("Draft%s%s", snippet != NULL && *snippet ? " · " : "",
                                    snippet != NULL ? snippet : "");
      row = add_row (self, SECTION_NOTES, title, subtitle, name);
      adw_action_row_set_subtitle_lines (row, 1);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "note-id", g_strdup (n->id), g_free);
      g_signal_connect (row, "activated", G_CALLBACK (note_activated_cb), self);
      adw_action_row_add_prefix (row, gtk_image_new_from_icon_name (
        g_strcmp0 (n->status, "signed") == 0 ? "emblem-ok-symbolic" : "document-edit-symbolic"));
      if (n->amends_id != NULL)
        add_suffix_label (row, "Amendment", "dim-label");
      if (n->ai_assisted)
        add_suffix_label (row, "AI-assisted", "accent");
      adw_action_row_add_suffix (row, gtk_image_new_from_icon_name ("go-next-symbolic"));
    }
  if (notes->len == 0)
    add_placeholder (self, SECTION_NOTES, "No notes yet: New Note writes the first");
}

static void
load_documents (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) docs = mts_store_document_list (store, self->client_id, &error);

  if (docs == NULL)
    {
      add_placeholder (self, SECTION_DOCUMENTS, "Documents could not be read");
      return;
    }
  for (guint i = docs->len; i > 0; i--)
    {
      MtsDocument *d = docs->pdata[i - 1];
      g_autofree char *name = g_strdup_printf ("document-row-%s", d->id);
      g_autofree char *size = g_format_size ((guint64) d->size_bytes);
      g_autofree char *date = format_date (d->created_at);
      g_autofree char *type = d->mime_type != NULL ? g_content_type_get_description (d->mime_type) : NULL;
      g_autofree char *subtitle = g_strdup_printf ("%s · %s · added %s", size,
                                                   type != NULL ? type : "file", date);
      AdwActionRow *row = add_row (self, SECTION_DOCUMENTS, d->file_name, subtitle, name);

      adw_action_row_add_prefix (row, gtk_image_new_from_icon_name ("text-x-generic-symbolic"));
    }
  if (docs->len == 0)
    add_placeholder (self, SECTION_DOCUMENTS, "No documents");
}

static void
load_agreements (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = mts_store_agreement_list (store, self->client_id, &error);

  if (list == NULL)
    {
      add_placeholder (self, SECTION_AGREEMENTS, "Agreements could not be read");
      return;
    }
  for (guint i = 0; i < list->len; i++)
    {
      MtsAgreement *a = list->pdata[i];
      g_autofree char *name = g_strdup_printf ("agreement-row-%s", a->id);
      g_autofree char *subtitle = NULL;
      AdwActionRow *row;

      if (g_strcmp0 (a->status, "signed") == 0)
        {
          g_autofree char *d = format_date (a->signed_at);
          subtitle = g_strdup_printf ("Signed %s", d);
        }
      else if (g_strcmp0 (a->status, "revoked") == 0)
        {
          g_autofree char *d = format_date (a->revoked_at);
          subtitle = g_strdup_printf ("Revoked %s", d);
        }
      else
        {
          g_autofree char *d = format_date (a->generated_at);
          subtitle = g_strdup_printf ("Not signed yet · prepared %s", d);
        }
      row = add_row (self, SECTION_AGREEMENTS, a->title, subtitle, name);
      adw_action_row_add_prefix (row, gtk_image_new_from_icon_name (
        g_strcmp0 (a->status, "signed") == 0 ? "emblem-ok-symbolic" : "mail-attachment-symbolic"));
      if (g_strcmp0 (a->status, "revoked") == 0)
        gtk_widget_add_css_class (GTK_WIDGET (row), "dim-label");
    }
  if (list->len == 0)
    add_placeholder (self, SECTION_AGREEMENTS, "No agreements");
}

static void
load_consent (MtsClientPage *self, MtsStore *store)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsAiConsent) consent = mts_store_ai_consent_get (store, self->client_id, &error);
  g_autofree char *subtitle = NULL;

  if (consent != NULL)
    {
      g_autofree char *when = format_date (consent->recorded_at);
      g_autofree char *who = clinician_name (store, consent->recorded_by);

      subtitle = consent->consented ? g_strdup_printf ("Consent recorded %s by %s", when, who)
                                    : g_strdup_printf ("Consent declined or withdrawn %s, recorded by %s",
                                                       when, who);
    }
  else
    subtitle = g_strdup (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND)
                         ? "No consent recorded" : "The consent record could not be read");
  adw_action_row_set_subtitle (self->consent_row, subtitle);
  self->updating_switch = TRUE;
  gtk_switch_set_active (self->consent_switch, consent != NULL && consent->consented);
  self->updating_switch = FALSE;
}

void
mts_client_page_reload (MtsClientPage *self)
{
  MtsStore *store = unlocked_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) client = NULL;

  g_return_if_fail (MTS_IS_CLIENT_PAGE (self));
  g_clear_handle_id (&self->reload_idle, g_source_remove);
  self->stale = FALSE;
  if (store == NULL || self->client_id == NULL)
    {
      clear (self);
      gtk_stack_set_visible_child_name (self->page_stack, "none");
      return;
    }
  client = mts_store_client_get (store, self->client_id, &error);
  if (client == NULL)
    {
      clear (self);
      if (!g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND))
        {
          g_message ("cannot read a client: %s", error->message);
          adw_status_page_set_title (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->page_stack, "deleted")),
                                     "This Client Could Not Be Read");
        }
      else
        adw_status_page_set_title (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (self->page_stack, "deleted")),
                                   "This Client Was Deleted");
      gtk_stack_set_visible_child_name (self->page_stack, "deleted");
      return;
    }
  clear_rows (self);
  load_header (self, client);
  load_flags (self, store);
  load_sessions (self, store);
  load_notes (self, store);
  load_details (self, store, client);
  load_documents (self, store);
  load_agreements (self, store);
  load_consent (self, store);
  gtk_widget_set_visible (GTK_WIDGET (self->consent_error), FALSE);
  gtk_stack_set_visible_child_name (self->page_stack, "client");
}

static gboolean
reload_idle_cb (gpointer user_data)
{
  MtsClientPage *self = user_data;

  self->reload_idle = 0;
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    mts_client_page_reload (self);
  else
    self->stale = TRUE;
  return G_SOURCE_REMOVE;
}

static void
changed_cb (MtsClientPage *self)
{
  if (self->client_id == NULL)
    return;
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    self->stale = TRUE;
  else if (self->reload_idle == 0)
    self->reload_idle = g_idle_add (reload_idle_cb, self);
}

static void
unlocked_cb (MtsClientPage *self)
{
  if (self->client_id == NULL)
    return;
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    mts_client_page_reload (self);
  else
    self->stale = TRUE;
}

static void
locked_cb (MtsClientPage *self)
{
  g_clear_handle_id (&self->reload_idle, g_source_remove);
  clear (self);
  gtk_stack_set_visible_child_name (self->page_stack, "none");
  self->stale = self->client_id != NULL;
}

static void
mts_client_page_map (GtkWidget *widget)
{
  MtsClientPage *self = MTS_CLIENT_PAGE (widget);

  GTK_WIDGET_CLASS (mts_client_page_parent_class)->map (widget);
  if (self->stale)
    mts_client_page_reload (self);
}

/* ---- the header's buttons ---- */

static void
edit_clicked_cb (MtsClientPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->client_id != NULL)
    gtk_window_present (GTK_WINDOW (mts_client_editor_new (GTK_WINDOW (root), self->client_id)));
}

static void
new_note_clicked_cb (MtsClientPage *self)
{
  if (self->client_id != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.new-note", "s", self->client_id);
}

static void
audit_activated_cb (MtsClientPage *self)
{
  if (self->client_id != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.show-audit", "s", self->client_id);
}

static void
export_activated_cb (MtsClientPage *self)
{
  if (self->client_id != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.export", "s", self->client_id);
}

/* ---- AI consent ---- */

static gboolean
revert_switch_cb (gpointer user_data)
{
  MtsClientPage *self = user_data;

  self->updating_switch = TRUE;
  gtk_switch_set_active (self->consent_switch, gtk_switch_get_state (self->consent_switch));
  self->updating_switch = FALSE;
  return G_SOURCE_REMOVE;
}

/* The switch's state follows what the store recorded: a refused write
 * leaves it (and, once the click is over, the switch) as it was. */
static gboolean
consent_state_set_cb (MtsClientPage *self, gboolean active)
{
  MtsStore *store = unlocked_store ();
  g_autoptr (GError) error = NULL;

  if (self->updating_switch || self->client_id == NULL)
    return FALSE;
  if (store == NULL || !mts_store_ai_consent_set (store, self->client_id, active, &error))
    {
      g_autofree char *message = g_strdup_printf (
        "The consent was not recorded: %s",
        error != NULL ? error->message : "the practice is locked");

      gtk_label_set_text (self->consent_error, message);
      gtk_widget_set_visible (GTK_WIDGET (self->consent_error), TRUE);
      g_idle_add_full (G_PRIORITY_DEFAULT, revert_switch_cb, g_object_ref (self), g_object_unref);
      return TRUE;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->consent_error), FALSE);
  self->updating_switch = TRUE;
  load_consent (self, store);
  self->updating_switch = FALSE;
  toast (self, active ? "Consent to AI drafting recorded" : "Consent to AI drafting withdrawn");
  changed ();
  return FALSE;
}

/* ---- raising a risk flag ---- */

static void
flag_text_changed_cb (GtkEditable *editable, AdwMessageDialog *dialog)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (editable)));

  adw_message_dialog_set_response_enabled (dialog, "raise", *text != '\0');
}

static void
flag_response_cb (AdwMessageDialog *dialog, const char *response, MtsClientPage *self)
{
  MtsStore *store = unlocked_store ();
  static const char *const levels[] = { "low", "medium", "high" };
  GtkWidget *text_row = g_object_get_data (G_OBJECT (dialog), "text-row");
  GtkWidget *level_row = g_object_get_data (G_OBJECT (dialog), "level-row");
  g_autoptr (MtsRiskFlag) flag = NULL;
  g_autoptr (GError) error = NULL;
  guint level;

  if (g_strcmp0 (response, "raise") != 0 || store == NULL || self->client_id == NULL)
    return;
  flag = mts_risk_flag_new ();
  level = adw_combo_row_get_selected (ADW_COMBO_ROW (level_row));
  flag->client_id = g_strdup (self->client_id);
  flag->level = g_strdup (levels[MIN (level, G_N_ELEMENTS (levels) - 1)]);
  flag->text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (text_row))));
  if (!mts_store_risk_flag_add (store, flag, &error))
    {
      g_autofree char *message = g_strdup_printf ("The risk flag was not saved: %s", error->message);
      toast (self, message);
      return;
    }
  toast (self, "Risk flag raised");
  changed ();
}

static GtkWidget *
boxed_list (void)
{
  GtkWidget *list = gtk_list_box_new ();

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  return list;
}

static GtkWidget *
combo_row (const char *name, const char *title, const char *const *items, guint selected)
{
  GtkWidget *row = adw_combo_row_new ();
  g_autoptr (GtkStringList) model = gtk_string_list_new (items);

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  return row;
}

static GtkWidget *
entry_row (const char *name, const char *title)
{
  GtkWidget *row = adw_entry_row_new ();

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  return row;
}

static void
add_flag_clicked_cb (MtsClientPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (root), "Raise a Risk Flag", NULL);
  GtkWidget *list = boxed_list ();
  GtkWidget *level = combo_row ("risk-flag-level", "Level", (const char *const[]) { "Low", "Medium", "High", NULL }, 1);
  GtkWidget *text = entry_row ("risk-flag-text", "What is the risk?");

  gtk_widget_set_name (dialog, "risk-flag-dialog");
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  "The flag shows at the top of %s’s page until it is resolved.",
                                  self->client_name != NULL ? self->client_name : "the client");
  gtk_list_box_append (GTK_LIST_BOX (list), level);
  gtk_list_box_append (GTK_LIST_BOX (list), text);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "raise", "_Raise Flag", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "raise", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "raise", FALSE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "raise");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "text-row", text);
  g_object_set_data (G_OBJECT (dialog), "level-row", level);
  g_signal_connect (text, "changed", G_CALLBACK (flag_text_changed_cb), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (flag_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- adding a session ---- */

/* The session's start from the dialog's date and time (local), as the
 * store's UTC instant; NULL when either does not parse. */
static GDateTime *
session_start (AdwMessageDialog *dialog)
{
  const char *date = gtk_editable_get_text (g_object_get_data (G_OBJECT (dialog), "date-row"));
  const char *time = gtk_editable_get_text (g_object_get_data (G_OBJECT (dialog), "time-row"));
  int y = 0, m = 0, d = 0, hh = -1, mm = -1;
  char end;

  if (sscanf (date, "%4d-%2d-%2d%c", &y, &m, &d, &end) == 3 && strlen (date) == 10)
    ;
  else if (sscanf (date, "%2d/%2d/%4d%c", &d, &m, &y, &end) != 3)
    return NULL;
  if (y < 2000 || y > 2200 || m < 1 || m > 12 || d < 1 || !g_date_valid_dmy (d, m, y))
    return NULL;
  if (sscanf (time, "%2d:%2d%c", &hh, &mm, &end) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59)
    return NULL;
  return g_date_time_new_local (y, m, d, hh, mm, 0);
}

static void
session_field_changed_cb (GtkEditable *editable, AdwMessageDialog *dialog)
{
  g_autoptr (GDateTime) start = session_start (dialog);

  adw_message_dialog_set_response_enabled (dialog, "add", start != NULL);
}

static void
session_response_cb (AdwMessageDialog *dialog, const char *response, MtsClientPage *self)
{
  MtsStore *store = unlocked_store ();
  static const int minutes[] = { 30, 50, 60, 90 };
  static const char *const modalities[] = { "in_person", "video", "phone" };
  g_autoptr (GDateTime) start = NULL;
  g_autoptr (GDateTime) end = NULL;
  g_autoptr (GDateTime) start_utc = NULL;
  g_autoptr (GDateTime) end_utc = NULL;
  g_autoptr (MtsSession) session = NULL;
  g_autoptr (GError) error = NULL;
  MtsApplication *app = page_app ();
  guint duration, modality;

  if (g_strcmp0 (response, "add") != 0 || store == NULL || self->client_id == NULL)
    return;
  start = session_start (dialog);
  if (start == NULL)
    return;
  duration = adw_combo_row_get_selected (g_object_get_data (G_OBJECT (dialog), "duration-row"));
  modality = adw_combo_row_get_selected (g_object_get_data (G_OBJECT (dialog), "modality-row"));
  end = g_date_time_add_minutes (start, minutes[MIN (duration, G_N_ELEMENTS (minutes) - 1)]);
  start_utc = g_date_time_to_utc (start);
  end_utc = g_date_time_to_utc (end);
  session = mts_session_new ();
  session->client_id = g_strdup (self->client_id);
  session->starts_at = g_date_time_format (start_utc, "%Y-%m-%dT%H:%M:%S.000Z");
  session->ends_at = g_date_time_format (end_utc, "%Y-%m-%dT%H:%M:%S.000Z");
  session->modality = g_strdup (modalities[MIN (modality, G_N_ELEMENTS (modalities) - 1)]);
  if (app != NULL && mts_application_get_actor (app) != NULL)
    {
      g_autoptr (MtsClinician) c = mts_store_clinician_get (store, mts_application_get_actor (app), NULL);
      if (c != NULL)
        session->clinician_id = g_strdup (c->id);
    }
  if (!mts_store_session_add (store, session, &error))
    {
      g_autofree char *message = g_strdup_printf ("The session was not saved: %s", error->message);
      toast (self, message);
      return;
    }
  toast (self, "Session added");
  changed ();
}

static void
add_session_clicked_cb (MtsClientPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (root), "Add a Session", NULL);
  GtkWidget *list = boxed_list ();
  GtkWidget *date = entry_row ("session-date", "Date (DD/MM/YYYY)");
  GtkWidget *time = entry_row ("session-time", "Time (HH:MM)");
  GtkWidget *duration = combo_row ("session-duration", "Length",
                                   (const char *const[]) { "30 minutes", "50 minutes", "1 hour", "90 minutes", NULL }, 1);
  GtkWidget *modality = combo_row ("session-modality", "Where",
                                   (const char *const[]) { "In person", "Video", "Phone", NULL }, 0);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autofree char *tomorrow_text = g_date_time_format (tomorrow, "%d/%m/%Y");

  gtk_widget_set_name (dialog, "session-dialog");
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog), "Book a session with %s.",
                                  self->client_name != NULL ? self->client_name : "the client");
  gtk_editable_set_text (GTK_EDITABLE (date), tomorrow_text);
  gtk_editable_set_text (GTK_EDITABLE (time), "10:00");
  gtk_list_box_append (GTK_LIST_BOX (list), date);
  gtk_list_box_append (GTK_LIST_BOX (list), time);
  gtk_list_box_append (GTK_LIST_BOX (list), duration);
  gtk_list_box_append (GTK_LIST_BOX (list), modality);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "add", "_Add Session", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "add");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "date-row", date);
  g_object_set_data (G_OBJECT (dialog), "time-row", time);
  g_object_set_data (G_OBJECT (dialog), "duration-row", duration);
  g_object_set_data (G_OBJECT (dialog), "modality-row", modality);
  g_signal_connect (date, "changed", G_CALLBACK (session_field_changed_cb), dialog);
  g_signal_connect (time, "changed", G_CALLBACK (session_field_changed_cb), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (session_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- deleting the client ---- */

static void
delete_confirm_changed_cb (GtkEditable *editable, AdwMessageDialog *dialog)
{
  const char *name = g_object_get_data (G_OBJECT (dialog), "client-name");
  g_autofree char *typed = g_utf8_casefold (g_strstrip (g_strdup (gtk_editable_get_text (editable))), -1);
  g_autofree char *want = g_utf8_casefold (name, -1);

  adw_message_dialog_set_response_enabled (dialog, "delete", *typed != '\0' && g_str_equal (typed, want));
}

static void
show_window_empty (MtsClientPage *self)
{
  /* The window's content stack: back to its "empty" page. */
  GtkWidget *stack = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_STACK);

  while (stack != NULL && gtk_stack_get_child_by_name (GTK_STACK (stack), "empty") == NULL)
    stack = gtk_widget_get_ancestor (gtk_widget_get_parent (stack), GTK_TYPE_STACK);
  if (stack != NULL)
    gtk_stack_set_visible_child_name (GTK_STACK (stack), "empty");
}

static void
delete_response_cb (AdwMessageDialog *dialog, const char *response, MtsClientPage *self)
{
  MtsStore *store = unlocked_store ();
  const char *id = g_object_get_data (G_OBJECT (dialog), "client-id");
  g_autoptr (GError) error = NULL;

  gtk_editable_set_text (GTK_EDITABLE (g_object_get_data (G_OBJECT (dialog), "confirm-entry")), "");
  if (g_strcmp0 (response, "delete") != 0)
    return;
  if (store == NULL || !mts_store_client_delete (store, id, &error))
    {
      g_autofree char *message = g_strdup_printf ("The client was not deleted: %s",
                                                  error != NULL ? error->message : "the practice is locked");
      toast (self, message);
      return;
    }
  if (g_strcmp0 (id, self->client_id) == 0)
    {
      g_clear_pointer (&self->client_id, g_free);
      clear (self);
      gtk_stack_set_visible_child_name (self->page_stack, "none");
      show_window_empty (self);
    }
  toast (self, "The client and all their records were deleted");
  changed ();
}

static void
delete_clicked_cb (MtsClientPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;
  GtkWidget *box, *label, *entry;
  g_autofree char *prompt = NULL;

  if (self->client_id == NULL || self->client_name == NULL)
    return;
  dialog = adw_message_dialog_new (GTK_WINDOW (root), NULL, NULL);
  gtk_widget_set_name (dialog, "delete-client-dialog");
  adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog), "Delete %s?", self->client_name);
  adw_message_dialog_format_body (
    ADW_MESSAGE_DIALOG (dialog),
    "This erases %s and everything kept about them: notes (signed ones too), sessions, documents, "
    "agreements, invoices, risk flags and consent. They are erased on this device now, and from the "
    "practice’s server and every other device at the next sync. It cannot be undone.\n\n"
    "If you may need their records (a subject access request, the law on keeping records), "
    "export them first.", self->client_name);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  prompt = g_strdup_printf ("Type the client’s name, %s, to confirm:", self->client_name);
  label = gtk_label_new (prompt);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  entry = gtk_entry_new ();
  gtk_widget_set_name (entry, "delete-client-confirm");
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "Client’s name");
  gtk_accessible_update_relation (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_RELATION_LABELLED_BY, label, NULL, -1);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), entry);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Keep Client", "delete",
                                    "_Delete Everything", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "delete", FALSE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "client-id", g_strdup (self->client_id), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "client-name", g_strdup (self->client_name), g_free);
  g_object_set_data (G_OBJECT (dialog), "confirm-entry", entry);
  g_signal_connect (entry, "changed", G_CALLBACK (delete_confirm_changed_cb), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

/* ---- public ---- */

GtkWidget *
mts_client_page_new (void)
{
  return g_object_new (MTS_TYPE_CLIENT_PAGE, NULL);
}

void
mts_client_page_set_client_id (MtsClientPage *self, const char *client_id)
{
  g_return_if_fail (MTS_IS_CLIENT_PAGE (self));
  if (g_strcmp0 (client_id, self->client_id) != 0)
    {
      g_free (self->client_id);
      self->client_id = g_strdup (client_id);
      gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scroller), 0);
    }
  mts_client_page_reload (self);
}

const char *
mts_client_page_get_client_id (MtsClientPage *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_PAGE (self), NULL);
  return self->client_id;
}

const char *
mts_client_page_get_state (MtsClientPage *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_PAGE (self), NULL);
  return gtk_stack_get_visible_child_name (self->page_stack);
}

/* ---- GObject ---- */

static void
mts_client_page_dispose (GObject *object)
{
  MtsClientPage *self = MTS_CLIENT_PAGE (object);

  g_clear_handle_id (&self->reload_idle, g_source_remove);
  G_OBJECT_CLASS (mts_client_page_parent_class)->dispose (object);
}

static void
mts_client_page_finalize (GObject *object)
{
  MtsClientPage *self = MTS_CLIENT_PAGE (object);

  for (int s = 0; s < N_SECTIONS; s++)
    g_ptr_array_unref (self->rows[s]);
  g_free (self->client_id);
  g_free (self->client_name);
  G_OBJECT_CLASS (mts_client_page_parent_class)->finalize (object);
}

static void
mts_client_page_class_init (MtsClientPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_client_page_dispose;
  object_class->finalize = mts_client_page_finalize;
  widget_class->map = mts_client_page_map;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, page_stack);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, name_label);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, flags_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, upcoming_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, notes_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, past_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, details_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, documents_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, agreements_group);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, consent_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, consent_switch);
  gtk_widget_class_bind_template_child (widget_class, MtsClientPage, consent_error);
  gtk_widget_class_bind_template_callback (widget_class, edit_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_note_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_flag_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_session_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, audit_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, export_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, delete_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, consent_state_set_cb);
}

static void
mts_client_page_init (MtsClientPage *self)
{
  MtsApplication *app = page_app ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->groups[SECTION_FLAGS] = self->flags_group;
  self->groups[SECTION_UPCOMING] = self->upcoming_group;
  self->groups[SECTION_NOTES] = self->notes_group;
  self->groups[SECTION_PAST] = self->past_group;
  self->groups[SECTION_DETAILS] = self->details_group;
  self->groups[SECTION_DOCUMENTS] = self->documents_group;
  self->groups[SECTION_AGREEMENTS] = self->agreements_group;
  for (int s = 0; s < N_SECTIONS; s++)
    self->rows[s] = g_ptr_array_new ();
  gtk_stack_set_visible_child_name (self->page_stack, "none");
  if (app != NULL)
    {
      g_signal_connect_object (app, "unlocked", G_CALLBACK (unlocked_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (app, "changed", G_CALLBACK (changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (app, "locked", G_CALLBACK (locked_cb), self, G_CONNECT_SWAPPED);
    }
}
