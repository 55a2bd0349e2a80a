/* test-notes.c — the note editor in the real app (no server): a new note
 * from each template (and one of the practice's), nothing stored until
 * the first keystroke, autosave, a lock right after typing (saved, the
 * text gone from the widget while locked, back after unlock), signing
 * (read-only afterwards, editing refused), amending, the history (audit
 * log and amendment chain), a note too large (refused, text kept, store
 * unchanged), and a note signed elsewhere meanwhile (banner, text kept,
 * saved as an amendment).  Screenshots: note-editor, note-signed,
 * note-too-large, note-history. */
#include "desktop-test.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-note-editor.h"
#include "mts-note-history.h"
#include "mts-store-records.h"

#define PASS "correct horse battery staple"

typedef struct {
  char *dir;
  char *clinician_id;
  char *client_id;
  char *template_id;
  MtsApplication *app;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("notes-%u", ++n);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();
  g_autoptr (MtsClient) client = mts_client_new ();
  g_autoptr (MtsNoteTemplate) tmpl = mts_note_template_new ();

  f->dir = mts_test_store_dir (name);
  store = mts_store_create (f->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  clinician->display_name = g_strdup ("Dr Ada Smith");
  clinician->role = g_strdup ("clinician");
  g_assert_true (mts_store_clinician_add (store, clinician, &error));
  g_assert_no_error (error);
  mts_store_set_actor (store, clinician->id);
  client->display_name = g_strdup ("Jane Doe");
  g_assert_true (mts_store_client_add (store, client, &error));
  g_assert_no_error (error);
  tmpl->name = g_strdup ("Intake assessment");
  tmpl->kind = g_strdup ("free");
  tmpl->structure = g_strdup ("[\"Presenting issue\", \"History\", \"Goals for therapy\"]");
  g_assert_true (mts_store_note_template_add (store, tmpl, &error));
  g_assert_no_error (error);
  f->clinician_id = g_strdup (clinician->id);
  f->client_id = g_strdup (client->id);
  f->template_id = g_strdup (tmpl->id);
  mts_store_lock (store);

  f->app = mts_test_app_start (f->dir);
  g_assert_true (mts_application_set_actor (f->app, f->clinician_id, &error));
  g_assert_no_error (error);
  g_assert_true (mts_application_unlock (f->app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (f->app)), "main"), 2000);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  /* Dialogs left open go with the app. */
  mts_test_app_stop (f->app);
  g_free (f->dir);
  g_free (f->clinician_id);
  g_free (f->client_id);
  g_free (f->template_id);
}

static MtsStore *
app_store (Fixture *f)
{
  return mts_application_get_store (f->app);
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

/* Types @text at the cursor, as the keyboard would. */
static void
type (const char *text)
{
  gtk_text_buffer_insert_interactive_at_cursor (note_buffer (), text, -1, TRUE);
}

static guint
n_notes (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) notes = mts_store_note_list (app_store (f), f->client_id, &error);

  g_assert_no_error (error);
  return notes->len;
}

/* The stored body of @id (NULL if none), read through the app's store. */
static char *
stored_body (Fixture *f, const char *id)
{
  g_autoptr (MtsNote) note = id != NULL ? mts_store_note_get (app_store (f), id, NULL) : NULL;

  return note != NULL ? g_strdup (note->body) : NULL;
}

static gboolean
stored_contains (Fixture *f, const char *id, const char *text)
{
  g_autofree char *body = stored_body (f, id);

  return body != NULL && strstr (body, text) != NULL;
}

static gboolean
banner_says (const char *text)
{
  g_autofree char *label = mts_test_get_text ("note-error-label");
  GtkWidget *bar = mts_test_get ("note-error-bar");

  return gtk_info_bar_get_revealed (GTK_INFO_BAR (bar)) && strstr (label, text) != NULL;
}

/* A new note from @template, typed into, saved. */
static char *
new_note (Fixture *f, const char *template, const char *text)
{
  g_autofree char *row = g_strdup_printf ("template-%s", template);

  mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (mts_test_app_window (f->app)), "note"), 2000);
  mts_test_click (row);
  type (text);
  MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL
                       && stored_contains (f, mts_note_editor_get_note_id (editor ()), text), 5000);
  return g_strdup (mts_note_editor_get_note_id (editor ()));
}

static void
sign_shown_note (void)
{
  GtkWidget *dialog;

  mts_test_click ("note-sign-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("note-sign-dialog") != NULL, 2000);
  dialog = mts_test_get ("note-sign-dialog");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "sign");
  gtk_window_destroy (GTK_WINDOW (dialog));
  mts_test_spin (50);
}

/* ---- cases ---- */

static void
test_templates (Fixture *f, gconstpointer data)
{
  static const struct { const char *template; const char *headings[5]; } cases[] = {
    { "SOAP", { "Subjective", "Objective", "Assessment", "Plan", NULL } },
    { "DAP", { "Data", "Assessment", "Plan", NULL } },
    { "BIRP", { "Behaviour", "Intervention", "Response", "Plan", NULL } },
    { "free", { NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *row = g_strdup_printf ("template-%s", cases[i].template);
      g_autofree char *text = NULL;
      g_autofree char *marker = g_strdup_printf ("typed into %s", cases[i].template);
      g_autofree char *body = NULL;
      g_autoptr (MtsNote) note = NULL;
      guint before = n_notes (f);

      mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
      MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (mts_test_app_window (f->app)), "note"), 2000);
      mts_test_click (row);
      text = mts_test_get_text ("note-text");
      for (const char *const *h = cases[i].headings; *h != NULL; h++)
        {
          g_autofree char *line = g_strdup_printf ("%s\n", *h);
          g_assert_nonnull (strstr (text, line));
        }
      if (cases[i].headings[0] == NULL)
        g_assert_cmpstr (text, ==, "");
      /* Nothing is stored before the first keystroke. */
      mts_test_spin (600);
      g_assert_null (mts_note_editor_get_note_id (editor ()));
      g_assert_cmpuint (n_notes (f), ==, before);

      type (marker);
      MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL, 5000);
      note = mts_store_note_get (app_store (f), mts_note_editor_get_note_id (editor ()), NULL);
      g_assert_nonnull (note);
      g_assert_cmpstr (note->template_kind, ==, cases[i].template);
      g_assert_cmpstr (note->status, ==, "draft");
      g_assert_cmpstr (note->clinician_id, ==, f->clinician_id);
      body = stored_body (f, note->id);
      g_assert_nonnull (strstr (body, marker));
      for (const char *const *h = cases[i].headings; *h != NULL; h++)
        g_assert_nonnull (strstr (body, *h));
      g_assert_cmpuint (n_notes (f), ==, before + 1);
    }

  /* The practice's own template: its headings, kind free. */
  {
    g_autofree char *row = g_strdup_printf ("template-%s", f->template_id);
    g_autofree char *text = NULL;
    g_autoptr (MtsNote) note = NULL;

    mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
    MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_content (mts_test_app_window (f->app)), "note"), 2000);
    g_assert_true (gtk_widget_get_visible (mts_test_get ("note-practice-template-group")));
    mts_test_click (row);
    text = mts_test_get_text ("note-text");
    g_assert_true (g_str_has_prefix (text, "Presenting issue\n"));
    g_assert_nonnull (strstr (text, "\nHistory\n"));
    g_assert_nonnull (strstr (text, "\nGoals for therapy\n"));
    type ("Low mood since the spring.");
    MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL, 5000);
    note = mts_store_note_get (app_store (f), mts_note_editor_get_note_id (editor ()), NULL);
    g_assert_cmpstr (note->template_kind, ==, "free");
    g_assert_true (g_str_has_prefix (note->body, "Presenting issue\nLow mood since the spring."));
  }

  /* Leaving a new note without typing leaves nothing behind. */
  {
    guint before = n_notes (f);
    mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
    mts_test_click ("template-SOAP");
    mts_test_action (f->app, "win.show-client", g_variant_new_string (f->client_id));
    mts_test_spin (600);
    mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
    mts_test_click ("template-DAP");
    mts_test_spin (600);
    g_assert_cmpuint (n_notes (f), ==, before);
  }
}

static void
test_autosave (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *label = NULL;

  id = new_note (f, "SOAP", "Client reports sleeping better");
  /* More typing, in small pieces as a typist would: saved too, without
   * leaving the note or pressing anything. */
  type (" since starting the");
  type (" evening routine.");
  MTS_TEST_WAIT_UNTIL (stored_contains (f, id, "sleeping better since starting the evening routine."), 5000);
  MTS_TEST_WAIT_UNTIL (!mts_note_editor_is_dirty (editor ()), 5000);
  mts_test_spin (100);
  label = mts_test_get_text ("note-save-label");
  g_assert_cmpstr (label, ==, "Saved");

  /* Leaving the note (to the client's page) saves what was typed at once. */
  type (" Wakes once.");
  mts_test_action (f->app, "win.show-client", g_variant_new_string (f->client_id));
  mts_test_spin (20);
  g_assert_true (stored_contains (f, id, "routine. Wakes once."));
  /* Opening it again shows the stored text. */
  mts_test_action (f->app, "win.open-note", g_variant_new_string (id));
  {
    g_autofree char *text = mts_test_get_text ("note-text");
    g_assert_nonnull (strstr (text, "routine. Wakes once."));
  }
}

static void
test_lock_keeps_text (Fixture *f, gconstpointer data)
{
  g_autofree char *id = new_note (f, "SOAP", "First line.");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) other = NULL;
  g_autoptr (MtsNote) note = NULL;

  /* Typed and locked at once, before any autosave could run. */
  type (" Said RIGHT-BEFORE-LOCK.");
  g_assert_true (mts_note_editor_is_dirty (editor ()));
  mts_test_action (f->app, "app.lock", NULL);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (f->app)), "unlock"), 2000);
  g_assert_false (mts_application_is_unlocked (f->app));

  /* Nothing of the note stays in the widget while locked. */
  text = mts_test_get_text ("note-text");
  g_assert_cmpstr (text, ==, "");
  g_clear_pointer (&text, g_free);

  /* The store has it (read through a store of its own). */
  other = mts_store_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (mts_store_unlock (other, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  note = mts_store_note_get (other, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (note->body, "First line. Said RIGHT-BEFORE-LOCK."));
  mts_store_lock (other);

  /* Unlocked: the same note, the same text, still editable. */
  g_assert_true (mts_application_unlock (f->app, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  MTS_TEST_WAIT_UNTIL (g_str_equal (mts_window_get_page (mts_test_app_window (f->app)), "main"), 2000);
  g_assert_cmpstr (mts_window_get_content (mts_test_app_window (f->app)), ==, "note");
  g_assert_cmpstr (mts_note_editor_get_note_id (editor ()), ==, id);
  text = mts_test_get_text ("note-text");
  g_assert_nonnull (strstr (text, "First line. Said RIGHT-BEFORE-LOCK."));
  g_assert_true (gtk_text_view_get_editable (GTK_TEXT_VIEW (mts_test_get ("note-text"))));
  type (" After unlock.");
  MTS_TEST_WAIT_UNTIL (stored_contains (f, id, "RIGHT-BEFORE-LOCK. After unlock."), 5000);
}

static void
test_sign_amend_history (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *amendment_id = NULL;
  g_autofree char *text = NULL;
  g_autoptr (MtsNote) note = NULL;
  g_autoptr (MtsNote) amendment = NULL;
  GtkWidget *history;

  id = new_note (f, "SOAP", "Client attended on time. Discussed coping strategies.");

  /* Cancelled: still a draft. */
  mts_test_click ("note-sign-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("note-sign-dialog") != NULL, 2000);
  {
    GtkWidget *dialog = mts_test_get ("note-sign-dialog");
    g_autofree char *body = NULL;
    g_object_get (dialog, "body", &body, NULL);
    g_assert_nonnull (strstr (body, "Signed notes cannot be changed; corrections are made as amendments"));
    adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
    gtk_window_destroy (GTK_WINDOW (dialog));
  }
  note = mts_store_note_get (app_store (f), id, NULL);
  g_assert_cmpstr (note->status, ==, "draft");
  g_clear_pointer (&note, mts_note_free);

  /* Signed, with the last keystrokes saved first. */
  type (" Plan: review in two weeks.");
  sign_shown_note ();
  note = mts_store_note_get (app_store (f), id, NULL);
  g_assert_cmpstr (note->status, ==, "signed");
  g_assert_cmpstr (note->signed_by, ==, f->clinician_id);
  g_assert_nonnull (strstr (note->body, "Plan: review in two weeks."));
  g_assert_false (gtk_text_view_get_editable (GTK_TEXT_VIEW (mts_test_get ("note-text"))));
  g_assert_true (gtk_widget_get_visible (mts_test_get ("note-amend-button")));
  g_assert_false (gtk_widget_get_visible (mts_test_get ("note-sign-button")));
  text = mts_test_get_text ("note-status-label");
  g_assert_true (g_str_has_prefix (text, "Signed by Dr Ada Smith on "));
  g_clear_pointer (&text, g_free);
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (f->app)), "note-signed");

  /* Changing a signed note is refused, saying why; the store is unchanged. */
  mts_test_set_text ("note-text", "Something else entirely");
  text = mts_test_get_text ("note-text");
  g_assert_cmpstr (text, ==, note->body);
  g_clear_pointer (&text, g_free);
  g_assert_true (banner_says ("corrections are made as amendments"));
  mts_test_spin (1200);
  {
    g_autofree char *body = stored_body (f, id);
    g_assert_cmpstr (body, ==, note->body);
  }
  /* Ctrl+S on a signed note does nothing (the action is disabled). */
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (editor ()), "editor.save", NULL)
                  && mts_note_editor_is_dirty (editor ()));

  /* Amend: a new draft amending it, created at the first keystroke. */
  {
    guint before = n_notes (f);
    mts_test_click ("note-amend-button");
    g_assert_true (gtk_text_view_get_editable (GTK_TEXT_VIEW (mts_test_get ("note-text"))));
    g_assert_null (mts_note_editor_get_note_id (editor ()));
    text = mts_test_get_text ("note-status-label");
    g_assert_cmpstr (text, ==, "Draft amendment");
    g_clear_pointer (&text, g_free);
    g_assert_true (gtk_widget_get_visible (mts_test_get ("note-amends-button")));
    type (" Correction: review in three weeks, not two.");
    MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL, 5000);
    amendment_id = g_strdup (mts_note_editor_get_note_id (editor ()));
    g_assert_cmpstr (amendment_id, !=, id);
    MTS_TEST_WAIT_UNTIL (stored_contains (f, amendment_id, "three weeks, not two."), 5000);
    amendment = mts_store_note_get (app_store (f), amendment_id, NULL);
    g_assert_cmpstr (amendment->amends_id, ==, id);
    g_assert_cmpstr (amendment->status, ==, "draft");
    g_assert_cmpuint (n_notes (f), ==, before + 1);
  }
  /* The original is untouched. */
  {
    g_autofree char *body = stored_body (f, id);
    g_assert_cmpstr (body, ==, note->body);
  }

  /* The amendment's history links the original... */
  mts_test_click ("note-history-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("note-history") != NULL, 2000);
  history = mts_test_get ("note-history");
  g_assert_cmpuint (mts_note_history_get_n_linked (MTS_NOTE_HISTORY (history)), ==, 1);
  g_assert_cmpuint (mts_note_history_get_n_versions (MTS_NOTE_HISTORY (history)), >=, 1);
  text = mts_test_get_text ("history-linked-0");
  g_assert_cmpstr (text, ==, "Amends this note");
  g_clear_pointer (&text, g_free);

  /* ...and opening it from there shows the signed original. */
  mts_test_click ("history-linked-0");
  mts_test_spin (100);
  g_assert_cmpstr (mts_note_editor_get_note_id (editor ()), ==, id);
  g_assert_false (gtk_text_view_get_editable (GTK_TEXT_VIEW (mts_test_get ("note-text"))));

  /* The original's history: created and written, signed; amended by one. */
  mts_test_click ("note-history-button");
  MTS_TEST_WAIT_UNTIL (mts_test_find ("note-history") != NULL && mts_test_find ("note-history") != history, 2000);
  history = mts_test_get ("note-history");
  g_assert_cmpuint (mts_note_history_get_n_linked (MTS_NOTE_HISTORY (history)), ==, 1);
  text = mts_test_get_text ("history-linked-0");
  g_assert_cmpstr (text, ==, "Amended by this note");
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (mts_note_history_get_n_versions (MTS_NOTE_HISTORY (history)), ==, 2);
  text = mts_test_get_text ("history-version-0");   /* newest first */
  g_assert_cmpstr (text, ==, "Signed");
  g_clear_pointer (&text, g_free);
  text = mts_test_get_text ("history-version-1");
  g_assert_cmpstr (text, ==, "Created and written");
  g_clear_pointer (&text, g_free);
  mts_test_screenshot (history, "note-history");
  gtk_window_destroy (GTK_WINDOW (history));
}

static void
test_too_large (Fixture *f, gconstpointer data)
{
  g_autofree char *id = new_note (f, "DAP", "A short note that fits.");
  g_autofree char *saved = stored_body (f, id);
  gsize max = mts_note_editor_max_bytes ();
  g_autofree char *huge = g_strnfill (max + 1, 'a');
  g_autofree char *text = NULL;

  /* The server's limit for a note. */
  g_assert_cmpuint (max, ==, 1024 * 1024);
  /* Lines of text, as a long note would be. */
  memcpy (huge, "Data\n", 5);
  for (gsize i = 80; i < max; i += 80)
    huge[i] = '\n';
  mts_test_set_text ("note-text", huge);
  MTS_TEST_WAIT_UNTIL (banner_says ("too long to save"), 5000);
  g_assert_true (banner_says ("(1048576 bytes)"));
  /* The text stays, all of it; the store keeps the last text that fit. */
  text = mts_test_get_text ("note-text");
  g_assert_cmpuint (strlen (text), ==, max + 1);
  g_clear_pointer (&text, g_free);
  mts_test_spin (1200);
  {
    g_autofree char *body = stored_body (f, id);
    g_assert_cmpstr (body, ==, saved);
  }
  text = mts_test_get_text ("note-save-label");
  g_assert_cmpstr (text, ==, "Not saved");
  g_clear_pointer (&text, g_free);
  /* Ctrl+S says the same and changes nothing. */
  gtk_widget_activate_action (GTK_WIDGET (editor ()), "editor.save", NULL);
  g_assert_true (banner_says ("too long to save"));
  /* A lock keeps it too (in memory, not in the store). */
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (f->app)), "note-too-large");

  /* Shortened by one byte: it fits and is saved. */
  {
    GtkTextIter end, before;
    gtk_text_buffer_get_end_iter (note_buffer (), &end);
    before = end;
    gtk_text_iter_backward_char (&before);
    gtk_text_buffer_delete_interactive (note_buffer (), &before, &end, TRUE);
  }
  MTS_TEST_WAIT_UNTIL (!banner_says ("too long"), 2000);
  MTS_TEST_WAIT_UNTIL (!mts_note_editor_is_dirty (editor ()), 10000);
  {
    g_autofree char *body = stored_body (f, id);
    g_assert_cmpuint (strlen (body), ==, max);
  }
}

static void
test_signed_elsewhere (Fixture *f, gconstpointer data)
{
  g_autofree char *id = new_note (f, "BIRP", "Behaviour: calm, engaged.");
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = NULL;
  g_autoptr (MtsNote) copy = NULL;
  g_autofree char *text = NULL;
  guint before;

  MTS_TEST_WAIT_UNTIL (!mts_note_editor_is_dirty (editor ()), 5000);
  /* Another device signs it (what a sync would bring in), unseen by the
   * editor. */
  g_assert_true (mts_store_note_sign (app_store (f), id, &error));
  g_assert_no_error (error);

  type (" Typed after the signature elsewhere.");
  MTS_TEST_WAIT_UNTIL (banner_says ("signed elsewhere"), 5000);
  text = mts_test_get_text ("note-text");
  g_assert_nonnull (strstr (text, "Typed after the signature elsewhere."));
  g_clear_pointer (&text, g_free);
  note = mts_store_note_get (app_store (f), id, NULL);
  g_assert_cmpstr (note->status, ==, "signed");
  g_assert_null (strstr (note->body, "Typed after"));
  g_assert_true (gtk_widget_get_visible (mts_test_get ("note-save-copy-button")));
  g_assert_true (gtk_widget_get_visible (mts_test_get ("note-copy-button")));
  text = mts_test_get_text ("note-save-label");
  g_assert_cmpstr (text, ==, "Not saved");
  g_clear_pointer (&text, g_free);

  /* Saved as an amendment of the signed note: nothing lost. */
  before = n_notes (f);
  mts_test_click ("note-save-copy-button");
  g_assert_cmpuint (n_notes (f), ==, before + 1);
  g_assert_nonnull (mts_note_editor_get_note_id (editor ()));
  g_assert_cmpstr (mts_note_editor_get_note_id (editor ()), !=, id);
  copy = mts_store_note_get (app_store (f), mts_note_editor_get_note_id (editor ()), NULL);
  g_assert_cmpstr (copy->amends_id, ==, id);
  g_assert_nonnull (strstr (copy->body, "calm, engaged. Typed after the signature elsewhere."));
  g_assert_false (gtk_info_bar_get_revealed (GTK_INFO_BAR (mts_test_get ("note-error-bar"))));
  /* And it goes on saving. */
  type (" More.");
  MTS_TEST_WAIT_UNTIL (stored_contains (f, copy->id, "elsewhere. More."), 5000);

  /* Signed elsewhere again, and the note left for another without a
   * click on the banner: the unsaved text is kept as an amendment. */
  MTS_TEST_WAIT_UNTIL (!mts_note_editor_is_dirty (editor ()), 5000);
  g_assert_true (mts_store_note_sign (app_store (f), copy->id, &error));
  g_assert_no_error (error);
  type (" LEFT-UNSAVED.");
  MTS_TEST_WAIT_UNTIL (banner_says ("signed elsewhere"), 5000);
  before = n_notes (f);
  mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
  g_assert_cmpuint (n_notes (f), ==, before + 1);
  {
    g_autoptr (GPtrArray) notes = mts_store_note_list (app_store (f), f->client_id, NULL);
    MtsNote *kept = NULL;
    for (guint i = 0; i < notes->len; i++)
      if (g_strcmp0 (((MtsNote *) notes->pdata[i])->amends_id, copy->id) == 0)
        kept = notes->pdata[i];
    g_assert_nonnull (kept);
    g_assert_nonnull (strstr (kept->body, "More. LEFT-UNSAVED."));
  }
}

static void
test_window_close_saves (Fixture *f, gconstpointer data)
{
  g_autofree char *id = new_note (f, "SOAP", "Before closing.");

  type (" Typed RIGHT-BEFORE-CLOSE.");
  g_assert_true (mts_note_editor_is_dirty (editor ()));
  gtk_window_destroy (GTK_WINDOW (mts_test_app_window (f->app)));
  mts_test_spin (20);
  g_assert_null (mts_test_app_window (f->app));
  g_assert_true (stored_contains (f, id, "Before closing. Typed RIGHT-BEFORE-CLOSE."));
}

static void
test_database_busy (Fixture *f, gconstpointer data)
{
  g_autofree char *id = new_note (f, "DAP", "Saved before the database got busy.");
  g_autofree char *path = g_build_filename (f->dir, "practice.db", NULL);
  g_autofree char *text = NULL;
  sqlite3 *db = NULL;

  /* Another writer holds the database (a long sync, another program). */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);

  type (" Typed WHILE-BUSY.");
  /* Typing is never held up: the save waits on the worker, then gives up
   * and says so (after the store's 5 s busy timeout). */
  MTS_TEST_WAIT_UNTIL (banner_says ("Not saved yet"), 15000);
  text = mts_test_get_text ("note-text");
  g_assert_nonnull (strstr (text, "Typed WHILE-BUSY."));
  g_clear_pointer (&text, g_free);
  text = mts_test_get_text ("note-save-label");
  g_assert_cmpstr (text, ==, "Not saved yet…");
  g_clear_pointer (&text, g_free);

  /* Free again: saved by the retry, the banner gone. */
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  MTS_TEST_WAIT_UNTIL (stored_contains (f, id, "busy. Typed WHILE-BUSY."), 15000);
  MTS_TEST_WAIT_UNTIL (!gtk_info_bar_get_revealed (GTK_INFO_BAR (mts_test_get ("note-error-bar"))), 5000);
}

static void
place_after (GtkTextBuffer *buffer, const char *heading)
{
  GtkTextIter iter;

  gtk_text_buffer_get_start_iter (buffer, &iter);
  g_assert_true (gtk_text_iter_forward_search (&iter, heading, 0, NULL, &iter, NULL));
  gtk_text_buffer_place_cursor (buffer, &iter);
}

static void
test_screenshot (Fixture *f, gconstpointer data)
{
  GtkTextBuffer *buffer;
  g_autofree char *id = NULL;

  mts_test_action (f->app, "win.new-note", g_variant_new_string (f->client_id));
  /* The pages' crossfades (unlock to main, none to the templates) done. */
  mts_test_spin (600);
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (f->app)), "note-templates");
  mts_test_click ("template-SOAP");
  buffer = note_buffer ();
  /* Typed under each heading. */
  type ("Jane says her sleep has improved since she started the evening wind-down routine "
        "we agreed two weeks ago. She still wakes around 4 a.m. on work days and feels "
        "anxious about the team restructure.");
  place_after (buffer, "Objective\n");
  type ("Arrived on time, appropriately dressed, good eye contact. Speech normal in rate and "
        "tone. Affect brighter than last session.");
  place_after (buffer, "Assessment\n");
  type ("Mild anxiety, improving. Sleep hygiene work is helping; work stress is the main "
        "maintaining factor. No risk indicators.");
  place_after (buffer, "Plan\n");
  type ("Continue the routine. Introduce worry time next session. Review in two weeks.");
  MTS_TEST_WAIT_UNTIL (mts_note_editor_get_note_id (editor ()) != NULL
                       && !mts_note_editor_is_dirty (editor ()), 5000);
  id = g_strdup (mts_note_editor_get_note_id (editor ()));
  g_assert_true (stored_contains (f, id, "Review in two weeks."));
  mts_test_screenshot (GTK_WIDGET (mts_test_app_window (f->app)), "note-editor");
}

int
main (int argc, char *argv[])
{
  mts_test_gui_init (&argc, &argv);
  g_test_add ("/desktop/notes/templates", Fixture, NULL, fixture_set_up, test_templates, fixture_tear_down);
  g_test_add ("/desktop/notes/autosave", Fixture, NULL, fixture_set_up, test_autosave, fixture_tear_down);
  g_test_add ("/desktop/notes/lock-keeps-text", Fixture, NULL, fixture_set_up, test_lock_keeps_text,
              fixture_tear_down);
  g_test_add ("/desktop/notes/sign-amend-history", Fixture, NULL, fixture_set_up, test_sign_amend_history,
              fixture_tear_down);
  g_test_add ("/desktop/notes/too-large", Fixture, NULL, fixture_set_up, test_too_large, fixture_tear_down);
  g_test_add ("/desktop/notes/signed-elsewhere", Fixture, NULL, fixture_set_up, test_signed_elsewhere,
              fixture_tear_down);
  g_test_add ("/desktop/notes/window-close-saves", Fixture, NULL, fixture_set_up, test_window_close_saves,
              fixture_tear_down);
  g_test_add ("/desktop/notes/database-busy", Fixture, NULL, fixture_set_up, test_database_busy,
              fixture_tear_down);
  g_test_add ("/desktop/notes/screenshot", Fixture, NULL, fixture_set_up, test_screenshot, fixture_tear_down);
  return g_test_run ();
}
