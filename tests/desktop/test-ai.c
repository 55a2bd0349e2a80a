/* test-ai.c — "Draft with AI" in the real app, against the real server on
 * loopback TLS whose AI relay asks a loopback stand-in for Anthropic
 * (tests/server/ai-standin.py), which checks every request it gets: the
 * selected text of a note goes out (and nothing else of the note or the
 * client: the stand-in refuses the client's id, name and the unselected
 * text), the draft comes back with the provider named and goes into the
 * note marked AI-assisted, still a draft; consent missing (on this computer:
 * nothing sent; recorded here but not synced: the server refuses); risk
 * signals accepted (a risk flag) and dismissed (nothing); offline (the
 * server gone).  Screenshots: ai-draft, ai-risk-signals, ai-no-consent. */
#include "desktop-test.h"

#include <string.h>


#include "mts-ai-panel.h"
#include "mts-note-editor.h"
#include "mts-store-records.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "test-server-fixture.h"

#define PASS "correct horse battery staple"
#define API_KEY "sk-ant-test-desktop-0123456789"
#define UNSELECTED "NOT-SELECTED-PRIVATE-LINE"

static MtsTestServer *server;
static MtsTestStandin *standin;

typedef struct {
  char *dir;
  char *clinician_id;
  char *client_id;        /* consent recorded and synced */
  char *other_id;         /* no consent */
  MtsApplication *app;
} Fixture;

/* ---- the stand-in and the server ---- */

static void
standin_control (const char *forbid_json)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (mts_test_standin_control (standin, "ok", forbid_json, &error));
  g_assert_no_error (error);
}

/* The stand-in's requests so far; fails on any that broke its rules. */
static guint
standin_requests (void)
{
  g_autoptr (GError) error = NULL;
  gint n = mts_test_standin_requests (standin, &error);

  g_assert_no_error (error);
  return (guint) n;
}

static guint16
start_standin (void)
{
  g_autoptr (GError) error = NULL;

  standin = mts_test_standin_start ("anthropic", API_KEY, "claude-test", 321, &error);
  g_assert_no_error (error);
  return mts_test_standin_port (standin);
}

static MtsTestServer *
get_server (void)
{
  g_autoptr (GError) error = NULL;

  if (server == NULL)
    {
      g_autofree char *ca = NULL;
      g_autofree char *ai = NULL;
      guint16 port;

      g_assert_true (mts_test_fixture_set_up (&error));
      g_assert_no_error (error);
      port = start_standin ();
      ca = mts_test_ca_file ("ca.pem");
      ai = g_strdup_printf ("[ai]\nanthropic_base_url=https://127.0.0.1:%u\n"
                            "openai_base_url=https://127.0.0.1:9\n"
                            "anthropic_model=claude-test\nmax_tokens=321\n"
                            "timeout_seconds=5\nca_file=%s\n", port, ca);
      server = mts_test_server_new ("ai-desktop", "server", NULL, &error);
      g_assert_no_error (error);
      g_assert_true (mts_test_server_add_config (server, ai, &error));
      mts_test_server_setenv (server, "MTS_ANTHROPIC_API_KEY", API_KEY);
    }
  if (!mts_test_server_running (server))
    {
      g_assert_true (mts_test_server_start (server, &error));
      g_assert_no_error (error);
    }
  return server;
}

/* ---- the device ---- */

static char *
add_client (MtsStore *store, const char *name)
{
  g_autoptr (MtsClient) c = mts_client_new ();
  g_autoptr (GError) error = NULL;

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  static guint n;
  MtsTestServer *srv = get_server ();
  g_autofree char *name = g_strdup_printf ("ai-%u", ++n);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autoptr (GError) error = NULL;
  g_autofree char *slug = mts_test_practice_new (srv, "desk-ai", &error);
  g_autoptr (MtsTestUser) user = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();
  char code[MTS_TOTP_CODE_BUF];
  MtsSyncStats stats = { 0 };

  g_assert_no_error (error);
  f->dir = mts_test_store_dir (name);
  store = mts_store_create (f->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  session = mts_sync_session_new (store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (session, url, ca, &error));
  g_assert_no_error (error);
  user = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (user, code);
  g_assert_true (mts_sync_session_login (session, slug, user->username, user->password, code,
                                         "desktop ai test", NULL, &error));
  g_assert_no_error (error);
  clinician->display_name = g_strdup ("Dr Ada Smith");
  g_assert_true (mts_store_clinician_add (store, clinician, &error));
  g_assert_no_error (error);
  mts_store_set_actor (store, clinician->id);
  f->clinician_id = g_strdup (clinician->id);
  f->client_id = add_client (store, "Jane Consenting");
  f->other_id = add_client (store, "John Unasked");
  g_assert_true (mts_store_ai_consent_set (store, f->client_id, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (mts_sync_once (store, session, NULL, NULL, NULL, NULL, &stats, &error));
  g_assert_no_error (error);
  g_clear_object (&session);
  mts_store_lock (store);

  /* Nothing that identifies the client, nor the text left unselected,
   * may reach the provider. */
  {
    g_autofree char *forbid = g_strdup_printf ("[\"%s\", \"%s\", \"Jane Consenting\", \"John Unasked\", "
                                               "\"" UNSELECTED "\"]", f->client_id, f->other_id);
    standin_control (forbid);
  }

  f->app = mts_test_app_start (f->dir);
  g_assert_true (mts_application_set_actor (f->app, f->clinician_id, &error));
  g_assert_no_error (error);
  g_assert_true (mts_application_unlock (f->app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (f->app)), "main"), 2000);
  /* The app's own background sync is not needed here. */
  mts_sync_manager_set_auto_interval (mts_application_get_sync_manager (f->app), 0);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  GtkWidget *panel = mts_test_find ("ai-panel");

  if (panel != NULL)
    gtk_window_destroy (GTK_WINDOW (panel));
  mts_test_app_stop (f->app);
  g_free (f->dir);
  g_free (f->clinician_id);
  g_free (f->client_id);
  g_free (f->other_id);
}

static MtsNoteEditor *
editor (void)
{
  return MTS_NOTE_EDITOR (mts_test_get ("note-editor"));
}

static GtkTextBuffer *
note_buffer (void)
{
  return gtk_text_view_get_buffer (GTK_TEXT_VIEW (mts_test_get ("note-text")));
}

/* A new SOAP note for @client_id with @text typed under Subjective. */
static void
new_note (Fixture *f, const char *client_id, const char *text)
{
  mts_test_action (f->app, "win.new-note", g_variant_new_string (client_id));
  mts_test_click ("template-SOAP");
  gtk_text_buffer_insert_interactive_at_cursor (note_buffer (), text, -1, TRUE);
  MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL
                       && !mts_note_editor_is_dirty (editor ()), 5000);
}

static void
select_text (const char *text)
{
  GtkTextIter start, match_start, match_end;

  gtk_text_buffer_get_start_iter (note_buffer (), &start);
  g_assert_true (gtk_text_iter_forward_search (&start, text, 0, &match_start, &match_end, NULL));
  gtk_text_buffer_select_range (note_buffer (), &match_start, &match_end);
}

static MtsAiPanel *
open_panel (void)
{
  mts_test_click ("note-ai-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("ai-panel") != NULL, 2000);
  return MTS_AI_PANEL (mts_test_get ("ai-panel"));
}

static void
close_panel (void)
{
  gtk_window_destroy (GTK_WINDOW (mts_test_get ("ai-panel")));
  mts_test_spin (20);
}

static gboolean
error_title_is (const char *title)
{
  g_autofree char *text = mts_test_get_text ("ai-error-status");

  return g_str_equal (text, title);
}

/* ---- cases ---- */

static void
test_draft_into_note (Fixture *f, gconstpointer data)
{
  const char *summary = "Summary: slept better ECHO-sleep-improved, worried about work ECHO-work-stress.";
  g_autoptr (MtsNote) note = NULL;
  g_autofree char *input = NULL;
  g_autofree char *label = NULL;
  g_autofree char *text = NULL;
  guint before = standin_requests ();
  MtsAiPanel *panel;

  new_note (f, f->client_id, UNSELECTED "\n");
  gtk_text_buffer_insert_interactive_at_cursor (note_buffer (), summary, -1, TRUE);
  MTS_TEST_WAIT_UNTIL (!mts_note_editor_is_dirty (editor ()), 5000);
  g_assert_false (gtk_widget_get_visible (mts_test_get ("note-ai-badge")));

  /* Only the selection goes into the panel. */
  select_text (summary);
  panel = open_panel ();
  input = mts_test_get_text ("ai-input-text");
  g_assert_cmpstr (input, ==, summary);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "input");

  mts_test_click ("ai-draft-button");
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "sending");
  MTS_TEST_WAIT_UNTIL (!g_str_equal (mts_ai_panel_get_page (panel), "sending"), 30000);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "draft");
  label = mts_test_get_text ("ai-provider-label");
  g_assert_cmpstr (label, ==, "Drafted by Anthropic (claude-test) — review before signing");
  text = mts_test_get_text ("ai-draft-text");
  g_assert_true (g_str_has_prefix (text, "anthropic draft STANDIN-DRAFT-"));
  g_assert_nonnull (strstr (text, "ECHO-sleep-improved ECHO-work-stress"));
  /* One request, within the rules (nothing forbidden in it). */
  g_assert_cmpuint (standin_requests (), ==, before + 1);
  mts_test_screenshot (GTK_WIDGET (panel), "ai-draft");

  /* Into the note, replacing the selection; the note is a draft marked
   * AI-assisted. */
  mts_test_click ("ai-insert-button");
  mts_test_spin (50);
  g_assert_null (mts_test_find ("ai-panel"));
  {
    g_autofree char *body = mts_test_get_text ("note-text");
    g_assert_nonnull (strstr (body, text));
    g_assert_null (strstr (body, "Summary: slept better"));
    g_assert_nonnull (strstr (body, UNSELECTED));
  }
  note = mts_store_note_get (mts_application_get_store (f->app), mts_note_editor_get_note_id (editor ()), NULL);
  g_assert_true (note->ai_assisted);
  g_assert_cmpstr (note->status, ==, "draft");
  g_assert_nonnull (strstr (note->body, text));
  g_assert_true (gtk_widget_get_visible (mts_test_get ("note-ai-badge")));
  g_clear_pointer (&label, g_free);
  label = mts_test_get_text ("note-ai-badge");
  g_assert_cmpstr (label, ==, "AI-assisted draft: review");
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (f->app)), "ai-draft-in-note");
}

static void
test_no_consent (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint before = standin_requests ();
  MtsAiPanel *panel;
  g_autofree char *text = NULL;

  /* No consent on this computer: nothing is sent. */
  new_note (f, f->other_id, "Session went well.");
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "A summary to draft from.");
  mts_test_click ("ai-draft-button");
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "error");
  g_assert_true (error_title_is ("No Consent Recorded"));
  g_object_get (mts_test_get ("ai-error-status"), "description", &text, NULL);
  g_assert_true (g_str_has_prefix (text, "This client has not consented to AI-assisted drafting. "
                                         "Record consent on the client's page first."));
  mts_test_screenshot (GTK_WIDGET (panel), "ai-no-consent");
  g_assert_cmpuint (standin_requests (), ==, before);
  /* Back to the text, which is still there. */
  mts_test_click ("ai-error-back-button");
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "input");
  close_panel ();

  /* Recorded here but not synced: the server refuses, and says so. */
  g_assert_true (mts_store_ai_consent_set (mts_application_get_store (f->app), f->other_id, TRUE, &error));
  g_assert_no_error (error);
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "A summary to draft from.");
  mts_test_click ("ai-draft-button");
  MTS_TEST_WAIT_UNTIL (!g_str_equal (mts_ai_panel_get_page (panel), "sending"), 30000);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "error");
  g_assert_true (error_title_is ("No Consent Recorded"));
  g_assert_cmpuint (standin_requests (), ==, before);
  close_panel ();

  /* An empty text is not sent either. */
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "  \n ");
  mts_test_click ("ai-draft-button");
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "input");
  g_assert_true (gtk_widget_get_visible (mts_test_get ("ai-input-error")));
  close_panel ();
  g_assert_cmpuint (standin_requests (), ==, before);
}

static void
test_risk_signals (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) flags = NULL;
  g_autofree char *passage = NULL;
  MtsRiskFlag *flag;
  MtsAiPanel *panel;

  new_note (f, f->client_id, "Reviewed the week.");
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "Work is busy.\nShe said RISK she had thought about not being here.\n"
                                      "Plans a walk at the weekend.");
  mts_test_click ("ai-risk-button");
  MTS_TEST_WAIT_UNTIL (!g_str_equal (mts_ai_panel_get_page (panel), "sending"), 30000);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "signals");
  /* The made-up passage was dropped by the server: one row. */
  g_assert_null (mts_test_find ("ai-signal-passage-1"));
  passage = mts_test_get_text ("ai-signal-passage-0");
  g_assert_cmpstr (passage, ==, "She said RISK she had thought about not being here.");
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (mts_test_get ("ai-signal-level-0"))), ==, 1);
  mts_test_screenshot (GTK_WIDGET (panel), "ai-risk-signals");

  /* Accepted at level high: a risk flag with the passage and the reason. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (mts_test_get ("ai-signal-level-0")), 2);
  mts_test_click ("ai-signal-accept-0");
  flags = mts_store_risk_flag_list (mts_application_get_store (f->app), f->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flags->len, ==, 1);
  flag = g_ptr_array_index (flags, 0);
  g_assert_cmpstr (flag->level, ==, "high");
  g_assert_nonnull (strstr (flag->text, passage));
  g_assert_nonnull (strstr (flag->text, "stand-in reason"));
  g_assert_cmpstr (flag->raised_by, ==, f->clinician_id);
  {
    g_autofree char *state = mts_test_get_text ("ai-signal-state-0");
    g_assert_cmpstr (state, ==, "Risk flag raised (high)");
  }
  g_assert_false (gtk_widget_is_sensitive (mts_test_get ("ai-signal-accept-0")));
  close_panel ();

  /* Another check, dismissed: nothing recorded. */
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "RISK: mentioned a friend's accident.\nOtherwise fine.");
  mts_test_click ("ai-risk-button");
  MTS_TEST_WAIT_UNTIL (!g_str_equal (mts_ai_panel_get_page (panel), "sending"), 30000);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "signals");
  mts_test_click ("ai-signal-dismiss-0");
  {
    g_autofree char *state = mts_test_get_text ("ai-signal-state-0");
    g_assert_cmpstr (state, ==, "Dismissed: nothing recorded");
  }
  g_clear_pointer (&flags, g_ptr_array_unref);
  flags = mts_store_risk_flag_list (mts_application_get_store (f->app), f->client_id, &error);
  g_assert_cmpuint (flags->len, ==, 1);
  close_panel ();
  /* The note was not touched by either check. */
  {
    g_autofree char *body = mts_test_get_text ("note-text");
    g_assert_null (strstr (body, "RISK"));
  }
  g_assert_false (gtk_widget_get_visible (mts_test_get ("note-ai-badge")));

  /* Locking closes the panel: its text does not stay on screen. */
  open_panel ();
  mts_test_set_text ("ai-input-text", "Private words.");
  mts_test_action (f->app, "app.lock", NULL);
  mts_test_spin (50);
  g_assert_null (mts_test_find ("ai-panel"));
}

static void
test_offline (Fixture *f, gconstpointer data)
{
  MtsAiPanel *panel;
  g_autofree char *text = NULL;
  g_autofree char *before = NULL;

  new_note (f, f->client_id, "Typed before going offline.");
  before = mts_test_get_text ("note-text");
  mts_test_server_stop (server);
  panel = open_panel ();
  mts_test_set_text ("ai-input-text", "A summary.");
  mts_test_click ("ai-draft-button");
  MTS_TEST_WAIT_UNTIL (!g_str_equal (mts_ai_panel_get_page (panel), "sending"), 30000);
  g_assert_cmpstr (mts_ai_panel_get_page (panel), ==, "error");
  g_assert_true (error_title_is ("You're Offline"));
  g_object_get (mts_test_get ("ai-error-status"), "description", &text, NULL);
  g_assert_cmpstr (text, ==, "You're offline. AI drafting needs the practice's server; your note is saved here.");
  close_panel ();
  {
    g_autofree char *after = mts_test_get_text ("note-text");
    g_assert_cmpstr (after, ==, before);
  }
}

int
main (int argc, char *argv[])
{
  int status;

  mts_test_gui_init (&argc, &argv);
  g_test_add ("/desktop/ai/draft-into-note", Fixture, NULL, fixture_set_up, test_draft_into_note,
              fixture_tear_down);
  g_test_add ("/desktop/ai/no-consent", Fixture, NULL, fixture_set_up, test_no_consent, fixture_tear_down);
  g_test_add ("/desktop/ai/risk-signals", Fixture, NULL, fixture_set_up, test_risk_signals, fixture_tear_down);
  /* Last: it stops the server. */
  g_test_add ("/desktop/ai/offline", Fixture, NULL, fixture_set_up, test_offline, fixture_tear_down);
  status = g_test_run ();
  if (server != NULL)
    mts_test_server_free (server);
  g_clear_pointer (&standin, mts_test_standin_free);
  mts_test_fixture_tear_down (status != 0);
  return status;
}
