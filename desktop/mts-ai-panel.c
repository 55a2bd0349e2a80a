/* mts-ai-panel.c — "Draft with AI": a note draft or a risk-signal check
 * of only the text the therapist chose, through the practice's server. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-ai-panel.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "mts-ai-client.h"
#include "mts-application.h"
#include "mts-json-generate.h"
#include "mts-store-records.h"
#include "mts-sync-client.h"
#include "mts-window.h"

struct _MtsAiPanel
{
  AdwWindow parent_instance;

  GtkStack *stack;
  GtkTextView *input_text;
  GtkLabel *input_error;
  GtkButton *draft_button;
  GtkButton *risk_button;
  GtkSpinner *spinner;
  GtkLabel *provider_label;
  GtkTextView *draft_text;
  GtkLabel *signals_provider_label;
  GtkListBox *signals_list;
  AdwStatusPage *error_status;

  GWeakRef editor;
  char *client_id;
  char *template_kind;
  char *structure_json;         /* the headings, a JSON array, or NULL */
  GCancellable *cancellable;
  MtsAiResult *result;
};

G_DEFINE_FINAL_TYPE (MtsAiPanel, mts_ai_panel, ADW_TYPE_WINDOW)

static MtsStore *
panel_store (void)
{
  GApplication *app = g_application_get_default ();

  if (!MTS_IS_APPLICATION (app) || !mts_application_is_unlocked (MTS_APPLICATION (app)))
    return NULL;
  return mts_application_get_store (MTS_APPLICATION (app));
}

const char *
mts_ai_panel_get_page (MtsAiPanel *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}

static void
show_page (MtsAiPanel *self, const char *page)
{
  gtk_spinner_set_spinning (self->spinner, g_str_equal (page, "sending"));
  gtk_stack_set_visible_child_name (self->stack, page);
}

static void
show_error (MtsAiPanel *self, const char *icon, const char *title, const char *description)
{
  adw_status_page_set_icon_name (self->error_status, icon);
  adw_status_page_set_title (self->error_status, title);
  adw_status_page_set_description (self->error_status, description);
  show_page (self, "error");
}

static char *
provider_name (const char *provider)
{
  if (g_strcmp0 (provider, "anthropic") == 0)
    return g_strdup ("Anthropic");
  if (g_strcmp0 (provider, "openai") == 0)
    return g_strdup ("OpenAI");
  return g_strdup (provider != NULL ? provider : "an AI provider");
}

/* Plain words for why nothing came back. */
static void
explain (MtsAiPanel *self, const GError *error)
{
  if (error->domain == MTS_AI_ERROR)
    {
      switch ((MtsAiError) error->code)
        {
        case MTS_AI_ERROR_NO_CONSENT:
          show_error (self, "dialog-warning-symbolic", "No Consent Recorded",
                      "This client has not consented to AI-assisted drafting. Record consent on "
                      "the client's page first. (If you recorded it just now, sync so that the "
                      "practice's server knows.) Nothing was sent.");
          return;
        case MTS_AI_ERROR_NOT_CONFIGURED:
          show_error (self, "dialog-information-symbolic", "AI Drafting Is Not Set Up",
                      "Your practice's server has no AI provider configured. Ask the practice's "
                      "administrator. Your note is saved here.");
          return;
        case MTS_AI_ERROR_UNAVAILABLE:
          show_error (self, "network-error-symbolic", "AI Drafting Is Unavailable",
                      "Neither AI provider could answer just now. Try again in a few minutes; "
                      "your note is saved here.");
          return;
        case MTS_AI_ERROR_REFUSED:
          {
            g_autofree char *text = g_strdup_printf ("The AI provider refused the request: %s "
                                                     "Your note is saved here.", error->message);
            show_error (self, "dialog-warning-symbolic", "The AI Provider Refused", text);
            return;
          }
        case MTS_AI_ERROR_TOO_LONG:
          show_error (self, "dialog-warning-symbolic", "Too Much Text",
                      "This text is longer than the practice's server accepts for AI drafting. "
                      "Select or paste less of it and try again.");
          return;
        case MTS_AI_ERROR_NOT_FOUND:
          show_error (self, "dialog-information-symbolic", "Client Not on the Server Yet",
                      "The practice's server does not know this client yet. Sync, then try "
                      "again. Nothing was sent.");
          return;
        }
    }
  if (error->domain == MTS_SYNC_ERROR)
    {
      switch ((MtsSyncError) error->code)
        {
        case MTS_SYNC_ERROR_OFFLINE:
        case MTS_SYNC_ERROR_NETWORK:
          show_error (self, "network-offline-symbolic", "You're Offline",
                      "You're offline. AI drafting needs the practice's server; your note is "
                      "saved here.");
          return;
        case MTS_SYNC_ERROR_NOT_LOGGED_IN:
        case MTS_SYNC_ERROR_AUTH:
        case MTS_SYNC_ERROR_REVOKED:
          show_error (self, "system-users-symbolic", "Not Signed In",
                      "AI drafting goes through the practice's server, and this computer is not "
                      "signed in to it (or its session ended). Sign in from the main menu; your "
                      "note is saved here.");
          return;
        case MTS_SYNC_ERROR_CANCELLED:
          show_page (self, "input");
          return;
        default:
          break;
        }
    }
  {
    g_autofree char *text = g_strdup_printf ("%s Your note is saved here.", error->message);
    show_error (self, "dialog-warning-symbolic", "AI Drafting Failed", text);
  }
}

/* ---- asking ---- */

static char *
input (MtsAiPanel *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->input_text);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
add_signal_row (MtsAiPanel *self, guint i, const MtsAiSignal *signal);

static void
answered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MtsAiPanel) self = user_data;
  g_autoptr (GError) error = NULL;
  MtsAiResult *r = mts_ai_draft_finish (result, &error);
  g_autofree char *provider = NULL;

  g_clear_object (&self->cancellable);
  if (gtk_widget_in_destruction (GTK_WIDGET (self)) || self->stack == NULL)
    {
      mts_ai_result_free (r);
      return;
    }
  if (r == NULL)
    {
      explain (self, error);
      return;
    }
  g_clear_pointer (&self->result, mts_ai_result_free);
  self->result = r;
  provider = provider_name (r->provider);
  if (r->signals != NULL)
    {
      g_autofree char *who = g_strdup_printf ("Checked by %s (%s).", provider,
                                              r->model != NULL ? r->model : "model not named");
      GtkWidget *child;

      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->signals_list))) != NULL)
        gtk_list_box_remove (self->signals_list, child);
      gtk_label_set_text (self->signals_provider_label, who);
      for (guint i = 0; i < r->signals->len; i++)
        add_signal_row (self, i, g_ptr_array_index (r->signals, i));
      if (r->signals->len == 0)
        {
          GtkWidget *row = adw_action_row_new ();
          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), "No passages were flagged");
          adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                       "That is not an all-clear: it is your judgement that counts.");
          gtk_widget_set_name (row, "ai-signals-none");
          gtk_list_box_append (self->signals_list, row);
        }
      show_page (self, "signals");
      return;
    }
  {
    g_autofree char *who = g_strdup_printf ("Drafted by %s (%s) — review before signing", provider,
                                            r->model != NULL ? r->model : "model not named");
    gtk_label_set_text (self->provider_label, who);
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->draft_text),
                              r->draft != NULL ? r->draft : "", -1);
    show_page (self, "draft");
  }
}

static void
ask (MtsAiPanel *self, MtsAiFeature feature)
{
  MtsStore *store = panel_store ();
  g_autofree char *text = input (self);
  g_autoptr (MtsAiConsent) consent = NULL;
  g_autofree char *trimmed = g_strstrip (g_strdup (text));

  gtk_widget_set_visible (GTK_WIDGET (self->input_error), FALSE);
  if (store == NULL)
    return;
  if (*trimmed == '\0')
    {
      gtk_label_set_text (self->input_error, "Paste or type the text to send first (or close this "
                                             "and select text in the note).");
      gtk_widget_set_visible (GTK_WIDGET (self->input_error), TRUE);
      return;
    }
  /* Consent as this computer knows it: without it nothing is sent (the
   * server checks again). */
  consent = mts_store_ai_consent_get (store, self->client_id, NULL);
  if (consent == NULL || !consent->consented)
    {
      show_error (self, "dialog-warning-symbolic", "No Consent Recorded",
                  "This client has not consented to AI-assisted drafting. Record consent on the "
                  "client's page first. Nothing was sent.");
      return;
    }
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  show_page (self, "sending");
  mts_ai_draft_async (store, feature, self->client_id,
                      feature == MTS_AI_FEATURE_SESSION_NOTE ? self->template_kind : NULL,
                      feature == MTS_AI_FEATURE_SESSION_NOTE ? self->structure_json : NULL,
                      text, self->cancellable, answered_cb, g_object_ref (self));
}

static void
draft_clicked_cb (MtsAiPanel *self)
{
  ask (self, MTS_AI_FEATURE_SESSION_NOTE);
}

static void
risk_clicked_cb (MtsAiPanel *self)
{
  ask (self, MTS_AI_FEATURE_RISK_SIGNALS);
}

static void
cancel_clicked_cb (MtsAiPanel *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  show_page (self, "input");
}

static void
back_clicked_cb (MtsAiPanel *self)
{
  show_page (self, "input");
}

static void
done_clicked_cb (MtsAiPanel *self)
{
  gtk_window_close (GTK_WINDOW (self));
}

static void
insert_clicked_cb (MtsAiPanel *self)
{
  g_autoptr (MtsNoteEditor) editor = g_weak_ref_get (&self->editor);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->draft_text);
  GtkTextIter start, end;
  g_autofree char *draft = NULL;
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  draft = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (editor != NULL)
    mts_note_editor_insert_ai_draft (editor, draft);
  if (MTS_IS_WINDOW (parent))
    mts_window_toast (MTS_WINDOW (parent), "AI draft inserted: review it before signing");
  gtk_window_close (GTK_WINDOW (self));
}

/* ---- risk signals ---- */

static void
signal_decided (GtkWidget *row, const char *state)
{
  GtkWidget *label = g_object_get_data (G_OBJECT (row), "state-label");
  GtkWidget *buttons = g_object_get_data (G_OBJECT (row), "buttons");

  gtk_label_set_text (GTK_LABEL (label), state);
  gtk_widget_set_visible (label, TRUE);
  gtk_widget_set_sensitive (buttons, FALSE);
}

static void
accept_clicked_cb (GtkButton *button, MtsAiPanel *self)
{
  static const char *const levels[] = { "low", "medium", "high" };
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  GtkDropDown *level = g_object_get_data (G_OBJECT (row), "level");
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "index"));
  MtsAiSignal *signal = self->result != NULL && self->result->signals != NULL && i < self->result->signals->len
                        ? g_ptr_array_index (self->result->signals, i) : NULL;
  MtsStore *store = panel_store ();
  g_autoptr (MtsRiskFlag) flag = mts_risk_flag_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;
  guint selected = gtk_drop_down_get_selected (level);

  if (signal == NULL || store == NULL)
    return;
  flag->client_id = g_strdup (self->client_id);
  flag->level = g_strdup (levels[MIN (selected, 2)]);
  flag->text = g_strdup_printf ("“%s” — %s (flagged by the AI risk check, accepted by the clinician)",
                                signal->passage, signal->reason);
  if (!mts_store_risk_flag_add (store, flag, &error))
    {
      g_autofree char *message = g_strdup_printf ("Not raised: %s", error->message);
      GtkWidget *label = g_object_get_data (G_OBJECT (row), "state-label");
      gtk_label_set_text (GTK_LABEL (label), message);
      gtk_widget_set_visible (label, TRUE);
      return;
    }
  mts_application_notify_changed (MTS_APPLICATION_DEFAULT);
  state = g_strdup_printf ("Risk flag raised (%s)", flag->level);
  signal_decided (row, state);
}

static void
dismiss_clicked_cb (GtkButton *button, MtsAiPanel *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);

  signal_decided (row, "Dismissed: nothing recorded");
}

static void
add_signal_row (MtsAiPanel *self, guint i, const MtsAiSignal *signal)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *passage = gtk_label_new (signal->passage);
  GtkWidget *reason = gtk_label_new (signal->reason);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *level = gtk_drop_down_new_from_strings ((const char *const[]) { "Low", "Medium", "High", NULL });
  GtkWidget *accept = gtk_button_new_with_mnemonic ("_Accept");
  GtkWidget *dismiss = gtk_button_new_with_mnemonic ("_Dismiss");
  GtkWidget *state = gtk_label_new (NULL);
  GtkWidget *spacer = gtk_label_new (NULL);
  g_autofree char *name = NULL;

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  gtk_label_set_wrap (GTK_LABEL (passage), TRUE);
  gtk_label_set_xalign (GTK_LABEL (passage), 0);
  gtk_label_set_selectable (GTK_LABEL (passage), TRUE);
  gtk_widget_add_css_class (passage, "ai-signal-passage");
  name = g_strdup_printf ("ai-signal-passage-%u", i);
  gtk_widget_set_name (passage, name);
  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_widget_add_css_class (reason, "dim-label");

  gtk_drop_down_set_selected (GTK_DROP_DOWN (level), 1);
  gtk_widget_set_tooltip_text (level, "The risk level of the flag Accept raises");
  gtk_accessible_update_property (GTK_ACCESSIBLE (level), GTK_ACCESSIBLE_PROPERTY_LABEL, "Risk level", -1);
  g_free (name);
  name = g_strdup_printf ("ai-signal-level-%u", i);
  gtk_widget_set_name (level, name);
  g_free (name);
  name = g_strdup_printf ("ai-signal-accept-%u", i);
  gtk_widget_set_name (accept, name);
  gtk_widget_set_tooltip_text (accept, "Raise a risk flag on the client's record with this passage");
  g_free (name);
  name = g_strdup_printf ("ai-signal-dismiss-%u", i);
  gtk_widget_set_name (dismiss, name);
  g_free (name);
  name = g_strdup_printf ("ai-signal-state-%u", i);
  gtk_widget_set_name (state, name);
  gtk_widget_set_visible (state, FALSE);
  gtk_label_set_xalign (GTK_LABEL (state), 0);
  gtk_widget_add_css_class (state, "caption-heading");
  gtk_widget_set_hexpand (spacer, TRUE);

  g_signal_connect (accept, "clicked", G_CALLBACK (accept_clicked_cb), self);
  g_signal_connect (dismiss, "clicked", G_CALLBACK (dismiss_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), level);
  gtk_box_append (GTK_BOX (buttons), spacer);
  gtk_box_append (GTK_BOX (buttons), dismiss);
  gtk_box_append (GTK_BOX (buttons), accept);
  gtk_widget_add_css_class (accept, "suggested-action");

  gtk_box_append (GTK_BOX (box), passage);
  gtk_box_append (GTK_BOX (box), reason);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_box_append (GTK_BOX (box), state);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "level", level);
  g_object_set_data (G_OBJECT (row), "buttons", buttons);
  g_object_set_data (G_OBJECT (row), "state-label", state);
  g_object_set_data (G_OBJECT (row), "index", GUINT_TO_POINTER (i));
  gtk_list_box_append (self->signals_list, row);
}

/* ---- GObject ---- */

static void
mts_ai_panel_dispose (GObject *object)
{
  MtsAiPanel *self = MTS_AI_PANEL (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  self->stack = NULL;
  G_OBJECT_CLASS (mts_ai_panel_parent_class)->dispose (object);
}

static void
mts_ai_panel_finalize (GObject *object)
{
  MtsAiPanel *self = MTS_AI_PANEL (object);

  g_weak_ref_clear (&self->editor);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->result, mts_ai_result_free);
  g_free (self->client_id);
  g_free (self->template_kind);
  g_free (self->structure_json);
  G_OBJECT_CLASS (mts_ai_panel_parent_class)->finalize (object);
}

static void
mts_ai_panel_class_init (MtsAiPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_ai_panel_dispose;
  object_class->finalize = mts_ai_panel_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-ai-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, input_text);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, input_error);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, draft_button);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, risk_button);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, spinner);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, provider_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, draft_text);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, signals_provider_label);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, signals_list);
  gtk_widget_class_bind_template_child (widget_class, MtsAiPanel, error_status);
  gtk_widget_class_bind_template_callback (widget_class, draft_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, risk_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, done_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, insert_clicked_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
mts_ai_panel_init (MtsAiPanel *self)
{
  g_weak_ref_init (&self->editor, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_ai_panel_new (GtkWindow *parent, MtsNoteEditor *editor, const char *client_id,
                  const char *template_kind, const char *const *headings, const char *selected)
{
  MtsAiPanel *self = g_object_new (MTS_TYPE_AI_PANEL, "transient-for", parent, "modal", TRUE, NULL);

  gtk_widget_set_name (GTK_WIDGET (self), "ai-panel");
  /* Nothing of the client stays on screen once the app locks. */
  if (MTS_IS_APPLICATION (g_application_get_default ()))
    g_signal_connect_object (g_application_get_default (), "locking", G_CALLBACK (gtk_window_destroy),
                             self, G_CONNECT_SWAPPED);
  g_weak_ref_set (&self->editor, editor);
  self->client_id = g_strdup (client_id);
  self->template_kind = g_strdup (template_kind);
  if (headings != NULL && headings[0] != NULL)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_array (b);
      for (const char *const *h = headings; *h != NULL; h++)
        json_builder_add_string_value (b, *h);
      json_builder_end_array (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      self->structure_json = mts_json_generate (gen, NULL);
    }
  if (selected != NULL)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->input_text), selected, -1);
  show_page (self, "input");
  gtk_widget_grab_focus (GTK_WIDGET (self->input_text));
  return GTK_WIDGET (self);
}
