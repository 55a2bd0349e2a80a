/* test-clients.c — the client list (type-ahead search, empty states), the
 * client editor (add, edit, refusals), the client page (sessions, notes,
 * documents, agreements, risk flags, AI consent), deleting a client with
 * its confirmation, exports, and what locking leaves on screen (nothing).
 * No server: each case makes a store, adds a clinician as the actor, and
 * unlocks it in the app. */
#include "desktop-test.h"

#include <glib/gstdio.h>
#include <string.h>

#include "mts-client-item.h"
#include "mts-client-list.h"
#include "mts-client-page.h"
#include "mts-export-dialog.h"
#include "mts-store-documents.h"
#include "mts-store-records.h"

#define PASS "correct horse battery staple"

typedef struct {
  MtsApplication *app;
  MtsWindow *win;
  MtsStore *store;        /* the app's, unlocked */
  char *clinician_id;
} Fixture;

/* A practice with one clinician ("Dr Ruth Ellison", the actor), opened in
 * the app and unlocked. */
static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("clients-%u", ++n);
  g_autofree char *dir = mts_test_store_dir (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();

  g_assert_no_error (error);
  clinician->display_name = g_strdup ("Dr Ruth Ellison");
  clinician->email = g_strdup ("ruth.ellison@example.org");
  g_assert_true (mts_store_clinician_add (store, clinician, &error));
  g_assert_no_error (error);
  fx->clinician_id = g_strdup (clinician->id);
  mts_store_lock (store);

  fx->app = mts_test_app_start (dir);
  fx->win = mts_test_app_window (fx->app);
  g_assert_true (mts_application_set_actor (fx->app, fx->clinician_id, &error));
  g_assert_no_error (error);
  g_assert_true (mts_application_unlock (fx->app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (fx->win), "main"), 2000);
  fx->store = mts_application_get_store (fx->app);
  g_assert_cmpstr (mts_store_get_actor (fx->store), ==, fx->clinician_id);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  mts_test_app_stop (fx->app);
  g_free (fx->clinician_id);
}

static MtsClientList *
client_list (void)
{
  return MTS_CLIENT_LIST (mts_test_get ("client-list"));
}

static MtsClientPage *
client_page (void)
{
  return MTS_CLIENT_PAGE (mts_test_get ("client-page"));
}

/* The names the list shows now, "|"-joined. */
static char *
shown_names (void)
{
  GListModel *model = mts_client_list_get_model (client_list ());
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (MtsClientItem) item = g_list_model_get_item (model, i);
      g_string_append_printf (s, "%s%s", i ? "|" : "", mts_client_item_get_name (item));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static MtsClient *
add_client (Fixture *fx, const char *name, const char *email, const char *phone)
{
  g_autoptr (GError) error = NULL;
  MtsClient *c = mts_client_new ();

  c->display_name = g_strdup (name);
  c->email = g_strdup (email);
  c->phone = g_strdup (phone);
  c->clinician_id = g_strdup (fx->clinician_id);
  g_assert_true (mts_store_client_add (fx->store, c, &error));
  g_assert_no_error (error);
  return c;
}

/* A session @days from today at @hour:00 local time, 50 minutes. */
static MtsSession *
add_session (Fixture *fx, const char *client_id, int days, int hour, const char *modality)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) day = g_date_time_add_days (now, days);
  g_autoptr (GDateTime) start = g_date_time_new_local (g_date_time_get_year (day), g_date_time_get_month (day),
                                                       g_date_time_get_day_of_month (day), hour, 0, 0);
  g_autoptr (GDateTime) end = g_date_time_add_minutes (start, 50);
  g_autoptr (GDateTime) start_utc = g_date_time_to_utc (start);
  g_autoptr (GDateTime) end_utc = g_date_time_to_utc (end);
  MtsSession *s = mts_session_new ();

  s->client_id = g_strdup (client_id);
  s->starts_at = g_date_time_format (start_utc, "%Y-%m-%dT%H:%M:%S.000Z");
  s->ends_at = g_date_time_format (end_utc, "%Y-%m-%dT%H:%M:%S.000Z");
  s->modality = g_strdup (modality);
  s->status = g_strdup (days < 0 ? "attended" : "scheduled");
  g_assert_true (mts_store_session_add (fx->store, s, &error));
  g_assert_no_error (error);
  return s;
}

static MtsNote *
add_note (Fixture *fx, const char *client_id, const char *kind, const char *body, gboolean ai, gboolean sign)
{
  g_autoptr (GError) error = NULL;
  MtsNote *n = mts_note_new ();

  n->client_id = g_strdup (client_id);
  n->clinician_id = g_strdup (fx->clinician_id);
  n->template_kind = g_strdup (kind);
  n->body = g_strdup (body);
  n->ai_assisted = ai;
  g_assert_true (mts_store_note_add (fx->store, n, &error));
  g_assert_no_error (error);
  if (sign)
    {
      g_assert_true (mts_store_note_sign (fx->store, n->id, &error));
      g_assert_no_error (error);
    }
  return n;
}

static void
show_client (Fixture *fx, const char *id)
{
  mts_test_action (fx->app, "win.show-client", g_variant_new_string (id));
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (fx->win), "client"), 2000);
  g_assert_cmpstr (mts_client_page_get_client_id (client_page ()), ==, id);
  g_assert_cmpstr (mts_client_page_get_state (client_page ()), ==, "client");
}

static gboolean
is_in (const char *name, const char *ancestor_name)
{
  GtkWidget *w = mts_test_find (name);
  GtkWidget *a = mts_test_find (ancestor_name);

  return w != NULL && a != NULL && gtk_widget_is_ancestor (w, a);
}

static char *
row_subtitle (const char *name)
{
  return g_strdup (adw_action_row_get_subtitle (ADW_ACTION_ROW (mts_test_get (name))));
}

/* The button of @dialog's response labelled @label (mnemonic included),
 * as a user sees it. */
static GtkWidget *
find_button (GtkWidget *root, const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_button (c, label);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Clicks a message dialog's response button, which must be sensitive. */
static void
respond (AdwMessageDialog *dialog, const char *label)
{
  GtkWidget *button = find_button (GTK_WIDGET (dialog), label);

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static char *
read_bundle (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "bundle.json", NULL);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* ---- the editor ---- */

static void
test_add_through_editor (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *names = NULL;
  g_autofree char *name_label = NULL;
  MtsClient *c;

  MTS_TEST_WAIT_UNTIL (g_strcmp0 (mts_client_list_get_state (client_list ()), "empty") == 0, 2000);
  g_assert_true (gtk_widget_get_mapped (mts_test_get ("client-list-add-button")));

  mts_test_click ("client-list-add-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") != NULL
                       && gtk_widget_get_mapped (mts_test_find ("client-editor")), 2000);
  mts_test_set_text ("client-editor-name", "Amelia Hartley");
  mts_test_set_text ("client-editor-dob", "04/07/1986");
  mts_test_set_text ("client-editor-email", "amelia.hartley@example.org");
  mts_test_set_text ("client-editor-phone", "07700 900461");
  mts_test_set_text ("client-editor-address", "14 Rosebery Avenue, Leeds LS6 2HX");
  mts_test_set_text ("client-editor-gp", "Dr Okafor, Hyde Park Surgery");
  mts_test_set_text ("client-editor-emergency", "Tom Hartley (brother), 07700 900118");
  adw_combo_row_set_selected (ADW_COMBO_ROW (mts_test_get ("client-editor-status")), 1);
  mts_test_screenshot (mts_test_get ("client-editor"), "client-editor");

  mts_test_click ("client-editor-save");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") == NULL, 2000);

  clients = mts_store_client_list (fx->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (clients->len, ==, 1);
  c = mts_store_client_get (fx->store, ((MtsClient *) clients->pdata[0])->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->display_name, ==, "Amelia Hartley");
  g_assert_cmpstr (c->date_of_birth, ==, "1986-07-04");
  g_assert_cmpstr (c->email, ==, "amelia.hartley@example.org");
  g_assert_cmpstr (c->phone, ==, "07700 900461");
  g_assert_cmpstr (c->gp_details, ==, "Dr Okafor, Hyde Park Surgery");
  g_assert_cmpstr (c->status, ==, "waiting");
  g_assert_cmpstr (c->clinician_id, ==, fx->clinician_id);

  /* The list has it, and the window shows it. */
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == 1, 2000);
  names = shown_names ();
  g_assert_cmpstr (names, ==, "Amelia Hartley");
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "list");
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (fx->win), "client"), 2000);
  g_assert_cmpstr (mts_client_page_get_client_id (client_page ()), ==, c->id);
  name_label = mts_test_get_text ("client-page-name");
  g_assert_cmpstr (name_label, ==, "Amelia Hartley");
  mts_client_free (c);
}

static void
test_editor_refuses_bad_input (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) clients = NULL;
  g_autoptr (GError) error = NULL;
  struct {
    const char *name, *dob, *email, *phone, *says;
  } cases[] = {
    { "", "", "someone@example.org", "", "name" },
    { "   ", "", "", "", "name" },
    { "Jo Bloggs", "31/02/1990", "", "", "date of birth" },
    { "Jo Bloggs", "1990-13-01", "", "", "date of birth" },
    { "Jo Bloggs", "01/01/2199", "", "", "date of birth" },
    { "Jo Bloggs", "", "jo.bloggs.example.org", "", "e-mail" },
    { "Jo Bloggs", "", "jo@bloggs", "", "e-mail" },
    { "Jo Bloggs", "", "", "call me", "phone" },
  };

  mts_test_action (fx->app, "win.new-client", NULL);
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") != NULL, 2000);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *message = NULL;

      mts_test_set_text ("client-editor-name", cases[i].name);
      mts_test_set_text ("client-editor-dob", cases[i].dob);
      mts_test_set_text ("client-editor-email", cases[i].email);
      mts_test_set_text ("client-editor-phone", cases[i].phone);
      mts_test_click ("client-editor-save");
      mts_test_spin (20);
      /* Still open, saying what is wrong. */
      g_assert_nonnull (mts_test_find ("client-editor"));
      g_assert_true (gtk_widget_get_visible (mts_test_get ("client-editor-error")));
      message = mts_test_get_text ("client-editor-error");
      g_test_message ("case %zu: %s", i, message);
      g_assert_nonnull (strstr (message, cases[i].says));
    }
  clients = mts_store_client_list (fx->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (clients->len, ==, 0);

  /* A good form after the bad ones saves, and the message goes. */
  mts_test_set_text ("client-editor-name", "Jo Bloggs");
  mts_test_set_text ("client-editor-dob", "1990-02-28");
  mts_test_set_text ("client-editor-email", "");
  mts_test_set_text ("client-editor-phone", "+44 7700 900 321");
  mts_test_click ("client-editor-save");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") == NULL, 2000);
  g_clear_pointer (&clients, g_ptr_array_unref);
  clients = mts_store_client_list (fx->store, &error);
  g_assert_cmpuint (clients->len, ==, 1);

  /* Cancel writes nothing, and keeps what was saved. */
  mts_test_action (fx->app, "win.new-client", NULL);
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") != NULL, 2000);
  mts_test_set_text ("client-editor-name", "Never Saved");
  mts_test_click ("client-editor-cancel");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") == NULL, 2000);
  g_clear_pointer (&clients, g_ptr_array_unref);
  clients = mts_store_client_list (fx->store, &error);
  g_assert_cmpuint (clients->len, ==, 1);
  g_assert_cmpstr (((MtsClient *) clients->pdata[0])->display_name, ==, "Jo Bloggs");
}

static void
test_edit_client (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Daniel Okonkwo", "dan.okonkwo@example.org", "07700 900212");
  g_autoptr (MtsClient) after = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *summary = NULL;

  mts_application_notify_changed (fx->app);
  show_client (fx, c->id);
  mts_test_click ("client-page-edit");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") != NULL, 2000);
  name = mts_test_get_text ("client-editor-name");
  g_assert_cmpstr (name, ==, "Daniel Okonkwo");
  mts_test_set_text ("client-editor-name", "Daniel Okonkwo-Reid");
  mts_test_set_text ("client-editor-phone", "07700 900999");
  adw_combo_row_set_selected (ADW_COMBO_ROW (mts_test_get ("client-editor-status")), 1);
  mts_test_click ("client-editor-save");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("client-editor") == NULL, 2000);

  after = mts_store_client_get (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after->display_name, ==, "Daniel Okonkwo-Reid");
  g_assert_cmpstr (after->phone, ==, "07700 900999");
  g_assert_cmpstr (after->email, ==, "dan.okonkwo@example.org");
  g_assert_cmpstr (after->status, ==, "waiting");

  MTS_TEST_WAIT_UNTIL (({ g_autofree char *t = mts_test_get_text ("client-page-name");
                          g_str_equal (t, "Daniel Okonkwo-Reid"); }), 2000);
  summary = mts_test_get_text ("client-page-summary");
  g_assert_nonnull (strstr (summary, "waiting list"));
  MTS_TEST_WAIT_UNTIL (({ g_autofree char *n = shown_names (); g_str_equal (n, "Daniel Okonkwo-Reid"); }), 2000);
}

/* ---- the list and its search ---- */

static const char *const people[][3] = {
  { "Amelia Hartley", "amelia.hartley@example.org", "07700 900461" },
  { "Daniel Okonkwo", "dan.okonkwo@example.org", "07700 900212" },
  { "Priya Shah", "priya.shah@example.org", "07700 900123" },
  { "Tom Ellwood", "tom.ellwood@example.net", "07700 900874" },
  { "Siobhan Murphy", "siobhan.m@example.org", "07700 900335" },
  { "Harriet Bell", "harriet.bell@example.com", "07700 900547" },
  { "Mohammed Rahman", "m.rahman@example.org", "07700 900690" },
  { "Grace Nwosu", "grace.nwosu@example.org", "07700 900702" },
  { "Owen Llewellyn", "owen.llewellyn@example.co.uk", "07700 900811" },
  { "Zofia Kowalska", "zofia.k@example.org", "07700 900966" },
  { "Ellie Fraser", "ellie.fraser@example.org", "07700 900154" },
  { "Callum McIntyre", "callum.mcintyre@example.org", "07700 900287" },
};

static void
add_people (Fixture *fx, GPtrArray *ids)
{
  for (gsize i = 0; i < G_N_ELEMENTS (people); i++)
    {
      g_autoptr (MtsClient) c = add_client (fx, people[i][0], people[i][1], people[i][2]);
      if (ids != NULL)
        g_ptr_array_add (ids, g_strdup (c->id));
    }
  mts_application_notify_changed (fx->app);
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == G_N_ELEMENTS (people), 2000);
}

static void
search (const char *text)
{
  mts_test_set_text ("client-search", text);
  mts_test_spin (10);
}

static void
test_search (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *all = NULL;
  g_autofree char *s = NULL;
  g_autofree char *desc = NULL;
  GtkSelectionModel *selection;

  add_people (fx, ids);
  all = shown_names ();
  /* Sorted by name. */
  g_assert_true (g_str_has_prefix (all, "Amelia Hartley|Callum McIntyre|Daniel Okonkwo|Ellie Fraser"));

  /* Part of a name, any case: "ell" is in Tom Ellwood, Harriet Bell,
   * Owen Llewellyn, Ellie Fraser. */
  search ("ELL");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Ellie Fraser|Harriet Bell|Owen Llewellyn|Tom Ellwood");
  g_clear_pointer (&s, g_free);
  search ("ellw");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Tom Ellwood");
  g_clear_pointer (&s, g_free);
  search ("ell");   /* back to wider */
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Ellie Fraser|Harriet Bell|Owen Llewellyn|Tom Ellwood");
  g_clear_pointer (&s, g_free);

  /* An exact e-mail address; part of one matches nobody. */
  search ("priya.shah@example.org");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Priya Shah");
  g_clear_pointer (&s, g_free);
  search ("  Priya.Shah@Example.org ");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Priya Shah");
  g_clear_pointer (&s, g_free);
  search ("priya.shah@exam");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "");
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "no-match");
  g_clear_pointer (&s, g_free);

  /* An exact phone number, in any spacing; part of one matches nobody. */
  search ("07700 900874");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Tom Ellwood");
  g_clear_pointer (&s, g_free);
  search ("07700900874");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "Tom Ellwood");
  g_clear_pointer (&s, g_free);
  search ("0770090087");
  s = shown_names ();
  g_assert_cmpstr (s, ==, "");
  g_clear_pointer (&s, g_free);

  /* No match: the empty state says so, naming the search. */
  search ("Xavier");
  g_assert_cmpuint (g_list_model_get_n_items (mts_client_list_get_model (client_list ())), ==, 0);
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "no-match");
  desc = g_strdup (adw_status_page_get_description (ADW_STATUS_PAGE (mts_test_get ("client-list-no-match"))));
  g_assert_nonnull (strstr (desc, "Xavier"));

  /* Cleared: everyone again. */
  search ("");
  s = shown_names ();
  g_assert_cmpstr (s, ==, all);
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "list");
  g_clear_pointer (&s, g_free);

  /* Choosing a row shows that client. */
  search ("siob");
  selection = gtk_grid_view_get_model (GTK_GRID_VIEW (mts_test_get ("client-list-view")));
  g_assert_true (gtk_selection_model_select_item (selection, 0, TRUE));
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (fx->win), "client"), 2000);
  s = mts_test_get_text ("client-page-name");
  g_assert_cmpstr (s, ==, "Siobhan Murphy");
  search ("");

  /* As a practice looks: some seen lately, one waiting, one closed. */
  for (guint i = 0; i < ids->len; i++)
    if (i % 3 != 2)
      mts_session_free (add_session (fx, ids->pdata[i], -(int) (1 + i * 2), 9 + i % 8, "in_person"));
  {
    g_autoptr (MtsClient) grace = mts_store_client_get (fx->store, ids->pdata[7], NULL);
    g_autoptr (MtsClient) zofia = mts_store_client_get (fx->store, ids->pdata[9], NULL);
    g_free (grace->status);
    grace->status = g_strdup ("waiting");
    g_free (zofia->status);
    zofia->status = g_strdup ("closed");
    g_assert_true (mts_store_client_update (fx->store, grace, NULL));
    g_assert_true (mts_store_client_update (fx->store, zofia, NULL));
  }
  mts_application_notify_changed (fx->app);
  MTS_TEST_WAIT_UNTIL (({ g_autoptr (MtsClientItem) it = g_list_model_get_item (
                            mts_client_list_get_model (client_list ()), 0);
                          mts_client_item_get_last_contact (it) != NULL; }), 2000);
  mts_test_spin (600);
  mts_test_screenshot (GTK_WIDGET (fx->win), "client-list");
}

/* ---- the client's page ---- */

typedef struct {
  MtsClient *client;
  MtsSession *upcoming[2];
  MtsSession *past[2];
  MtsNote *signed_note, *draft, *ai_note;
  MtsRiskFlag *flag, *resolved;
  MtsAgreement *agreement;
  MtsDocument *document;
} Rich;

static void
rich_clear (Rich *r)
{
  mts_client_free (r->client);
  for (int i = 0; i < 2; i++)
    {
      mts_session_free (r->upcoming[i]);
      mts_session_free (r->past[i]);
    }
  mts_note_free (r->signed_note);
  mts_note_free (r->draft);
  mts_note_free (r->ai_note);
  mts_risk_flag_free (r->flag);
  mts_risk_flag_free (r->resolved);
  mts_agreement_free (r->agreement);
  mts_document_free (r->document);
}

static void
make_rich (Fixture *fx, Rich *r)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = NULL;
  g_autofree char *tmp = NULL;
  MtsClient *c;

  r->client = c = add_client (fx, "Priya Shah", "priya.shah@example.org", "07700 900123");
  c->date_of_birth = g_strdup ("1991-03-14");
  c->address = g_strdup ("3 Canal Wharf, Manchester M1 5LH");
  c->gp_details = g_strdup ("Dr Patel, Ancoats Practice");
  c->emergency_contact = g_strdup ("Arjun Shah (husband), 07700 900456");
  g_assert_true (mts_store_client_update (fx->store, c, &error));
  g_assert_no_error (error);

  r->past[0] = add_session (fx, c->id, -14, 10, "in_person");
  r->past[1] = add_session (fx, c->id, -7, 10, "video");
  r->upcoming[0] = add_session (fx, c->id, 7, 10, "in_person");
  r->upcoming[1] = add_session (fx, c->id, 14, 16, "phone");

  r->signed_note = add_note (fx, c->id, "SOAP",
                             "S: Reports sleeping better since starting the evening walks.\nO: Calm, good eye contact.",
                             FALSE, TRUE);
  r->ai_note = add_note (fx, c->id, "DAP", "D: Talked through the conversation with her manager.", TRUE, FALSE);
  r->draft = add_note (fx, c->id, "free", "Plan to revisit the grief work around her father next session.",
                       FALSE, FALSE);

  r->flag = mts_risk_flag_new ();
  r->flag->client_id = g_strdup (c->id);
  r->flag->level = g_strdup ("high");
  r->flag->text = g_strdup ("Passive suicidal ideation reported in week 3; safety plan in place");
  g_assert_true (mts_store_risk_flag_add (fx->store, r->flag, &error));
  g_assert_no_error (error);
  r->resolved = mts_risk_flag_new ();
  r->resolved->client_id = g_strdup (c->id);
  r->resolved->level = g_strdup ("low");
  r->resolved->text = g_strdup ("Missed two sessions without contact");
  g_assert_true (mts_store_risk_flag_add (fx->store, r->resolved, &error));
  {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    g_autoptr (GDateTime) later = g_date_time_add_seconds (now, 1);
    r->resolved->resolved_at = g_date_time_format (later, "%Y-%m-%dT%H:%M:%S.%fZ");
  }
  g_assert_true (mts_store_risk_flag_update (fx->store, r->resolved, &error));
  g_assert_no_error (error);

  r->agreement = mts_agreement_new ();
  r->agreement->client_id = g_strdup (c->id);
  r->agreement->title = g_strdup ("Therapy agreement");
  r->agreement->body = g_strdup ("Sessions are weekly, 50 minutes. Cancellations need 48 hours' notice.");
  g_assert_true (mts_store_agreement_add (fx->store, r->agreement, &error));
  g_assert_true (mts_store_agreement_sign (fx->store, r->agreement->id, &error));
  g_assert_no_error (error);

  tmp = g_dir_make_tmp ("mts-doc-XXXXXX", &error);
  g_assert_no_error (error);
  src = g_build_filename (tmp, "GP referral letter.txt", NULL);
  g_assert_true (g_file_set_contents (src, "Dear colleague, I am writing to refer Mrs Shah ...", -1, &error));
  r->document = mts_document_new ();
  r->document->client_id = g_strdup (c->id);
  g_assert_true (mts_store_document_add (fx->store, r->document, src, &error));
  g_assert_no_error (error);
  g_unlink (src);
  g_rmdir (tmp);

  g_assert_true (mts_store_ai_consent_set (fx->store, c->id, TRUE, &error));
  g_assert_no_error (error);
  mts_application_notify_changed (fx->app);
}

static void
test_page_shows_records (Fixture *fx, gconstpointer data)
{
  Rich r = { 0 };
  g_autofree char *name = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *doc_title = NULL;
  g_autofree char *consent = NULL;

  /* Others in the practice, for the list beside it. */
  for (gsize i = 0; i < G_N_ELEMENTS (people); i++)
    if (!g_str_equal (people[i][0], "Priya Shah"))
      mts_client_free (add_client (fx, people[i][0], people[i][1], people[i][2]));
  make_rich (fx, &r);
  show_client (fx, r.client->id);

  name = mts_test_get_text ("client-page-name");
  g_assert_cmpstr (name, ==, "Priya Shah");
  /* Sessions split by now: upcoming and past. */
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *up = g_strdup_printf ("session-row-%s", r.upcoming[i]->id);
      g_autofree char *past = g_strdup_printf ("session-row-%s", r.past[i]->id);

      g_assert_true (is_in (up, "client-page-upcoming"));
      g_assert_false (is_in (up, "client-page-past"));
      g_assert_true (is_in (past, "client-page-past"));
      g_assert_false (is_in (past, "client-page-upcoming"));
    }
  /* Notes: signed, draft, AI-assisted. */
  {
    g_autofree char *n1 = g_strdup_printf ("note-row-%s", r.signed_note->id);
    g_autofree char *n2 = g_strdup_printf ("note-row-%s", r.draft->id);
    g_autofree char *n3 = g_strdup_printf ("note-row-%s", r.ai_note->id);
    g_autofree char *s1 = row_subtitle (n1);
    g_autofree char *s2 = row_subtitle (n2);
    g_autofree char *t1 = mts_test_get_text (n1);

    g_assert_true (is_in (n1, "client-page-notes"));
    g_assert_true (is_in (n3, "client-page-notes"));
    g_assert_true (g_str_has_prefix (s1, "Signed"));
    g_assert_true (g_str_has_prefix (s2, "Draft"));
    g_assert_nonnull (strstr (t1, "SOAP"));
  }
  /* Risk flags: the current one with a Resolve button, the resolved one without. */
  {
    g_autofree char *f1 = g_strdup_printf ("flag-row-%s", r.flag->id);
    g_autofree char *f2 = g_strdup_printf ("flag-row-%s", r.resolved->id);
    g_autofree char *b1 = g_strdup_printf ("flag-resolve-%s", r.flag->id);
    g_autofree char *b2 = g_strdup_printf ("flag-resolve-%s", r.resolved->id);
    g_autofree char *t1 = mts_test_get_text (f1);
    g_autofree char *s1 = row_subtitle (f1);
    g_autofree char *s2 = row_subtitle (f2);

    g_assert_true (is_in (f1, "client-page-flags"));
    g_assert_nonnull (strstr (t1, "safety plan"));
    g_assert_true (g_str_has_prefix (s1, "High risk"));
    g_assert_nonnull (strstr (s2, "resolved"));
    g_assert_nonnull (mts_test_find (b1));
    g_assert_null (mts_test_find (b2));
  }
  /* The agreement, the document (name and size). */
  {
    g_autofree char *a = g_strdup_printf ("agreement-row-%s", r.agreement->id);
    g_autofree char *d = g_strdup_printf ("document-row-%s", r.document->id);
    g_autofree char *as = row_subtitle (a);
    g_autofree char *ds = row_subtitle (d);

    g_assert_true (is_in (a, "client-page-agreements"));
    g_assert_true (g_str_has_prefix (as, "Signed"));
    doc_title = mts_test_get_text (d);
    g_assert_cmpstr (doc_title, ==, "GP referral letter.txt");
    g_assert_true (g_str_has_prefix (ds, "50 bytes"));
  }
  /* Consent recorded, by whom. */
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("ai-consent-switch"))));
  consent = row_subtitle ("ai-consent-row");
  g_assert_true (g_str_has_prefix (consent, "Consent recorded"));
  g_assert_nonnull (strstr (consent, "Dr Ruth Ellison"));

  mts_test_spin (600);   /* the unlock page's crossfade is over */
  mts_test_screenshot (GTK_WIDGET (fx->win), "client-page");

  /* A note's row opens it in the editor. */
  {
    g_autofree char *n1 = g_strdup_printf ("note-row-%s", r.signed_note->id);
    mts_test_click (n1);
    MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (fx->win), "note"), 2000);
  }
  rich_clear (&r);
}

static void
test_ai_consent (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Grace Nwosu", NULL, NULL);
  g_autoptr (MtsAiConsent) consent = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *today = g_date_time_format (now, "%-d %b %Y");
  g_autofree char *subtitle = NULL;
  g_autofree char *message = NULL;
  GtkSwitch *sw;

  mts_application_notify_changed (fx->app);
  show_client (fx, c->id);
  sw = GTK_SWITCH (mts_test_get ("ai-consent-switch"));
  g_assert_false (gtk_switch_get_active (sw));
  subtitle = row_subtitle ("ai-consent-row");
  g_assert_cmpstr (subtitle, ==, "No consent recorded");
  g_clear_pointer (&subtitle, g_free);
  consent = mts_store_ai_consent_get (fx->store, c->id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Recorded, with the date and the clinician. */
  mts_test_click ("ai-consent-switch");
  consent = mts_store_ai_consent_get (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_true (consent->consented);
  g_assert_cmpstr (consent->recorded_by, ==, fx->clinician_id);
  subtitle = row_subtitle ("ai-consent-row");
  g_assert_true (g_str_has_prefix (subtitle, "Consent recorded"));
  g_assert_nonnull (strstr (subtitle, today));
  g_assert_nonnull (strstr (subtitle, "Dr Ruth Ellison"));
  g_clear_pointer (&subtitle, g_free);
  g_clear_pointer (&consent, mts_ai_consent_free);

  /* Withdrawn. */
  mts_test_click ("ai-consent-switch");
  consent = mts_store_ai_consent_get (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_false (consent->consented);
  subtitle = row_subtitle ("ai-consent-row");
  g_assert_nonnull (strstr (subtitle, "withdrawn"));
  g_clear_pointer (&subtitle, g_free);
  g_clear_pointer (&consent, mts_ai_consent_free);
  mts_test_spin (50);   /* the page reloads after the app's "changed" */
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (mts_test_get ("ai-consent-switch"))));

  /* Someone who is not a clinician cannot record it: the store's reason
   * shows, the switch stays as recorded, nothing is written. */
  g_assert_true (mts_application_set_actor (fx->app, "reception-desk", &error));
  g_assert_no_error (error);
  sw = GTK_SWITCH (mts_test_get ("ai-consent-switch"));
  g_assert_false (gtk_switch_get_active (sw));
  mts_test_click ("ai-consent-switch");
  g_assert_false (gtk_switch_get_state (sw));
  MTS_TEST_WAIT_UNTIL (!gtk_switch_get_active (sw), 2000);
  g_assert_true (gtk_widget_get_visible (mts_test_get ("ai-consent-error")));
  message = mts_test_get_text ("ai-consent-error");
  g_test_message ("refused: %s", message);
  g_assert_true (g_str_has_prefix (message, "The consent was not recorded: "));
  g_assert_cmpuint (strlen (message), >, strlen ("The consent was not recorded: "));
  consent = mts_store_ai_consent_get (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_false (consent->consented);
}

static void
test_risk_flags (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Tom Ellwood", NULL, NULL);
  g_autoptr (GPtrArray) flags = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *row = NULL;
  g_autofree char *button = NULL;
  AdwMessageDialog *dialog;
  MtsRiskFlag *f;

  mts_application_notify_changed (fx->app);
  show_client (fx, c->id);
  mts_test_click ("client-page-add-flag");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("risk-flag-dialog") != NULL, 2000);
  dialog = ADW_MESSAGE_DIALOG (mts_test_get ("risk-flag-dialog"));
  /* No text, no flag. */
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "raise"));
  mts_test_set_text ("risk-flag-text", "   ");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "raise"));
  mts_test_set_text ("risk-flag-text", "Drinking more since the redundancy");
  adw_combo_row_set_selected (ADW_COMBO_ROW (mts_test_get ("risk-flag-level")), 2);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "raise"));
  respond (dialog, "_Raise Flag");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("risk-flag-dialog") == NULL, 2000);

  flags = mts_store_risk_flag_list (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flags->len, ==, 1);
  f = flags->pdata[0];
  g_assert_cmpstr (f->level, ==, "high");
  g_assert_cmpstr (f->text, ==, "Drinking more since the redundancy");
  g_assert_null (f->resolved_at);
  row = g_strdup_printf ("flag-row-%s", f->id);
  button = g_strdup_printf ("flag-resolve-%s", f->id);
  MTS_TEST_WAIT_UNTIL (mts_test_find (button) != NULL, 2000);
  g_assert_true (is_in (row, "client-page-flags"));

  mts_test_click (button);
  g_clear_pointer (&flags, g_ptr_array_unref);
  flags = mts_store_risk_flag_list (fx->store, c->id, &error);
  g_assert_nonnull (((MtsRiskFlag *) flags->pdata[0])->resolved_at);
  MTS_TEST_WAIT_UNTIL (mts_test_find (button) == NULL, 2000);
  g_assert_nonnull (mts_test_find (row));
}

static void
test_add_session (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Zofia Kowalska", NULL, NULL);
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) later = g_date_time_add_days (now, 3);
  g_autofree char *date = g_date_time_format (later, "%d/%m/%Y");
  g_autofree char *row = NULL;
  AdwMessageDialog *dialog;
  MtsSession *s;

  mts_application_notify_changed (fx->app);
  show_client (fx, c->id);
  mts_test_click ("client-page-add-session");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("session-dialog") != NULL, 2000);
  dialog = ADW_MESSAGE_DIALOG (mts_test_get ("session-dialog"));
  mts_test_set_text ("session-date", "31/02/2030");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "add"));
  mts_test_set_text ("session-date", date);
  mts_test_set_text ("session-time", "25:00");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "add"));
  mts_test_set_text ("session-time", "14:30");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "add"));
  adw_combo_row_set_selected (ADW_COMBO_ROW (mts_test_get ("session-modality")), 1);
  respond (dialog, "_Add Session");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("session-dialog") == NULL, 2000);

  sessions = mts_store_session_list (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 1);
  s = sessions->pdata[0];
  g_assert_cmpstr (s->modality, ==, "video");
  {
    g_autoptr (GDateTime) a = g_date_time_new_from_iso8601 (s->starts_at, NULL);
    g_autoptr (GDateTime) b = g_date_time_new_from_iso8601 (s->ends_at, NULL);
    g_autoptr (GDateTime) local = g_date_time_to_local (a);
    g_assert_cmpint (g_date_time_get_hour (local), ==, 14);
    g_assert_cmpint (g_date_time_get_minute (local), ==, 30);
    g_assert_cmpint (g_date_time_difference (b, a), ==, 50 * G_TIME_SPAN_MINUTE);
  }
  row = g_strdup_printf ("session-row-%s", s->id);
  MTS_TEST_WAIT_UNTIL (mts_test_find (row) != NULL, 2000);
  g_assert_true (is_in (row, "client-page-upcoming"));
}

/* ---- deleting ---- */

static void
test_delete_client (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) keep = add_client (fx, "Harriet Bell", NULL, NULL);
  g_autoptr (MtsClient) c = add_client (fx, "Owen Llewellyn", "owen.llewellyn@example.co.uk", NULL);
  g_autoptr (MtsNote) note = add_note (fx, c->id, "SOAP", "S: Low mood after the move.", FALSE, TRUE);
  g_autoptr (MtsClient) gone = NULL;
  g_autoptr (MtsNote) gone_note = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *names = NULL;
  AdwMessageDialog *dialog;

  mts_application_notify_changed (fx->app);
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == 2, 2000);
  show_client (fx, c->id);

  /* Cancelled: nothing goes. */
  mts_test_click ("client-page-delete");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("delete-client-dialog") != NULL, 2000);
  dialog = ADW_MESSAGE_DIALOG (mts_test_get ("delete-client-dialog"));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "every other device"));
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "delete"));
  mts_test_set_text ("delete-client-confirm", "Owen");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "delete"));
  mts_test_set_text ("delete-client-confirm", "Harriet Bell");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "delete"));
  mts_test_set_text ("delete-client-confirm", "Owen Llewellyn");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "delete"));
  respond (dialog, "_Keep Client");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("delete-client-dialog") == NULL, 2000);
  gone = mts_store_client_get (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_clear_pointer (&gone, mts_client_free);
  g_assert_cmpstr (mts_window_get_content (fx->win), ==, "client");

  /* Confirmed. */
  mts_test_click ("client-page-delete");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("delete-client-dialog") != NULL
                       && gtk_widget_get_mapped (mts_test_find ("delete-client-dialog")), 2000);
  dialog = ADW_MESSAGE_DIALOG (mts_test_get ("delete-client-dialog"));
  mts_test_set_text ("delete-client-confirm", "owen llewellyn");   /* case does not matter */
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "delete"));
  mts_test_screenshot (GTK_WIDGET (dialog), "delete-client");
  respond (dialog, "_Delete Everything");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("delete-client-dialog") == NULL, 2000);

  gone = mts_store_client_get (fx->store, c->id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_assert_null (gone);
  g_clear_error (&error);
  gone_note = mts_store_note_get (fx->store, note->id, &error);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpstr (mts_window_get_content (fx->win), ==, "empty");
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == 1, 2000);
  names = shown_names ();
  g_assert_cmpstr (names, ==, "Harriet Bell");
  /* The other client is untouched. */
  g_clear_pointer (&gone, mts_client_free);
  gone = mts_store_client_get (fx->store, keep->id, &error);
  g_assert_no_error (error);
}

static void
test_deleted_elsewhere (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Callum McIntyre", NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;

  mts_application_notify_changed (fx->app);
  show_client (fx, c->id);
  /* As a sync would: the store changes under the page, then "changed". */
  g_assert_true (mts_store_client_delete (fx->store, c->id, &error));
  g_assert_no_error (error);
  mts_application_notify_changed (fx->app);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_client_page_get_state (client_page ()), "deleted"), 2000);
  name = mts_test_get_text ("client-page-name");
  g_assert_cmpstr (name, ==, "");
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == 0, 2000);
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "empty");
}

/* ---- exports ---- */

static char *
export_to (Fixture *fx, const char *client_id)
{
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;

  dir = g_dir_make_tmp ("mts-export-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("MTS_EXPORT_DIR", dir, TRUE);
  if (client_id != NULL)
    {
      show_client (fx, client_id);
      mts_test_click ("client-page-export-row");
    }
  else
    mts_test_action (fx->app, "win.export", g_variant_new_string (""));
  MTS_TEST_WAIT_UNTIL (mts_export_dialog_get_n_running () == 0, 20000);
  g_unsetenv ("MTS_EXPORT_DIR");
  g_assert_null (mts_export_dialog_get_last_error ());
  g_assert_nonnull (mts_export_dialog_get_last_folder ());
  g_assert_true (g_str_has_prefix (mts_export_dialog_get_last_folder (), dir));
  return g_strdup (mts_export_dialog_get_last_folder ());
}

static void
test_export_client (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) a = add_client (fx, "Siobhan Murphy", "siobhan.m@example.org", NULL);
  g_autoptr (MtsClient) b = add_client (fx, "Mohammed Rahman", NULL, NULL);
  g_autoptr (MtsNote) na = add_note (fx, a->id, "SOAP", "S: Panic attacks on the commute have eased.", FALSE, TRUE);
  g_autoptr (MtsNote) nb = add_note (fx, b->id, "DAP", "D: Anger at the tribunal outcome.", FALSE, FALSE);
  g_autofree char *folder = NULL;
  g_autofree char *bundle = NULL;
  g_autofree char *base = NULL;

  mts_application_notify_changed (fx->app);
  folder = export_to (fx, a->id);
  base = g_path_get_basename (folder);
  g_assert_true (g_str_has_prefix (base, "MTS client export "));
  bundle = read_bundle (folder);
  g_assert_nonnull (strstr (bundle, "Siobhan Murphy"));
  g_assert_nonnull (strstr (bundle, "Panic attacks on the commute have eased."));
  g_assert_nonnull (strstr (bundle, "siobhan.m@example.org"));
  /* Only that client. */
  g_assert_null (strstr (bundle, "Mohammed Rahman"));
  g_assert_null (strstr (bundle, "tribunal"));
  {
    g_autofree char *csv = g_build_filename (folder, "notes.csv", NULL);
    g_assert_true (g_file_test (csv, G_FILE_TEST_IS_REGULAR));
  }
}

static void
test_export_practice (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) a = add_client (fx, "Siobhan Murphy", NULL, NULL);
  g_autoptr (MtsClient) b = add_client (fx, "Mohammed Rahman", NULL, NULL);
  g_autoptr (MtsNote) na = add_note (fx, a->id, "SOAP", "S: Panic attacks on the commute have eased.", FALSE, TRUE);
  g_autoptr (MtsNote) nb = add_note (fx, b->id, "DAP", "D: Anger at the tribunal outcome.", FALSE, FALSE);
  g_autofree char *folder = NULL;
  g_autofree char *bundle = NULL;
  g_autofree char *base = NULL;

  mts_application_notify_changed (fx->app);
  folder = export_to (fx, NULL);
  base = g_path_get_basename (folder);
  g_assert_true (g_str_has_prefix (base, "MTS practice export "));
  bundle = read_bundle (folder);
  g_assert_nonnull (strstr (bundle, "Siobhan Murphy"));
  g_assert_nonnull (strstr (bundle, "Mohammed Rahman"));
  g_assert_nonnull (strstr (bundle, "Panic attacks on the commute"));
  g_assert_nonnull (strstr (bundle, "tribunal outcome"));
  g_assert_nonnull (strstr (bundle, "Dr Ruth Ellison"));
}

static void
test_export_refuses_non_folder (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) a = add_client (fx, "Siobhan Murphy", NULL, NULL);
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autoptr (GError) error = NULL;
  GtkWidget *dialog;

  dir = g_dir_make_tmp ("mts-export-XXXXXX", &error);
  file = g_build_filename (dir, "not-a-folder", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, &error));
  g_setenv ("MTS_EXPORT_DIR", file, TRUE);
  mts_test_action (fx->app, "win.export", g_variant_new_string (a->id));
  g_unsetenv ("MTS_EXPORT_DIR");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("export-error-dialog") != NULL, 2000);
  dialog = mts_test_get ("export-error-dialog");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "not a folder"));
  respond (ADW_MESSAGE_DIALOG (dialog), "_Close");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("export-error-dialog") == NULL, 2000);
}

/* ---- locking ---- */

static void
test_lock_clears (Fixture *fx, gconstpointer data)
{
  Rich r = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *search_text = NULL;
  g_autofree char *name = NULL;

  add_people (fx, NULL);
  make_rich (fx, &r);
  show_client (fx, r.client->id);
  search ("ell");
  g_assert_cmpuint (g_list_model_get_n_items (mts_client_list_get_model (client_list ())), >, 0);

  mts_test_action (fx->app, "app.lock", NULL);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (fx->win), "unlock"), 2000);
  g_assert_cmpuint (mts_client_list_get_n_clients (client_list ()), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (mts_client_list_get_model (client_list ())), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (
    G_LIST_MODEL (gtk_grid_view_get_model (GTK_GRID_VIEW (mts_test_get ("client-list-view"))))), ==, 0);
  g_assert_cmpstr (mts_client_list_get_state (client_list ()), ==, "locked");
  search_text = mts_test_get_text ("client-search");
  g_assert_cmpstr (search_text, ==, "");
  name = mts_test_get_text ("client-page-name");
  g_assert_cmpstr (name, ==, "");
  {
    g_autofree char *row = g_strdup_printf ("note-row-%s", r.signed_note->id);
    g_assert_null (mts_test_find (row));
  }

  /* Unlocked again: the list and the page come back. */
  g_assert_true (mts_application_unlock (fx->app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (mts_client_list_get_n_clients (client_list ()) == G_N_ELEMENTS (people) + 1, 2000);
  MTS_TEST_WAIT_UNTIL (({ g_autofree char *t = mts_test_get_text ("client-page-name");
                          g_str_equal (t, "Priya Shah"); }), 2000);
  rich_clear (&r);
}

int
main (int argc, char *argv[])
{
  mts_test_gui_init (&argc, &argv);
#define ADD(path, fn) g_test_add ("/desktop/clients/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("add-through-editor", test_add_through_editor);
  ADD ("editor-refuses-bad-input", test_editor_refuses_bad_input);
  ADD ("edit-client", test_edit_client);
  ADD ("search", test_search);
  ADD ("page-shows-records", test_page_shows_records);
  ADD ("ai-consent", test_ai_consent);
  ADD ("risk-flags", test_risk_flags);
  ADD ("add-session", test_add_session);
  ADD ("delete-client", test_delete_client);
  ADD ("deleted-elsewhere", test_deleted_elsewhere);
  ADD ("export-client", test_export_client);
  ADD ("export-practice", test_export_practice);
  ADD ("export-refuses-non-folder", test_export_refuses_non_folder);
  ADD ("lock-clears", test_lock_clears);
#undef ADD
  return g_test_run ();
}
