/* mts-note-editor.c — The note editor: autosave, sign, amend, history. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-note-editor.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "mts-ai-panel.h"
#include "mts-application.h"
#include "mts-note-history.h"
#include "mts-store-private.h"
#include "mts-store-records.h"
#include "mts-sync-tables.h"
#include "mts-window.h"

/* Autosave: this long after typing pauses, and at least this often while
 * it goes on. */
#define SAVE_PAUSE_MS 400
#define SAVE_MAX_MS 1000
/* A save the database refused for now (busy, locked) is tried again. */
#define SAVE_RETRY_MS 3000

typedef enum {
  SAVE_OK,
  SAVE_RETRYING,        /* busy database: tried again shortly */
  SAVE_TOO_LARGE,       /* over the limit: not saved until shortened */
  SAVE_SIGNED,          /* signed elsewhere meanwhile: this note cannot take the text */
  SAVE_DELETED,         /* deleted elsewhere meanwhile */
} SaveState;

struct _MtsNoteEditor
{
  AdwBin parent_instance;

  GtkStack *stack;
  AdwPreferencesGroup *builtin_group;
  AdwPreferencesGroup *practice_group;
  GtkInfoBar *error_bar;
  GtkLabel *error_label;
  GtkButton *save_copy_button;
  GtkButton *copy_button;
  GtkLabel *client_label;
  GtkLabel *meta_label;
  GtkLabel *status_label;
  GtkLabel *ai_badge;
  GtkButton *amends_button;
  GtkLabel *save_label;
  GtkButton *ai_button;
  GtkButton *sign_button;
  GtkButton *amend_button;
  GtkTextView *text_view;
  GtkTextBuffer *buffer;
  GtkTextTag *heading_tag;
  GPtrArray *practice_rows;

  /* What is shown.  @note is the note as last read or saved (its body the
   * text last saved); NULL for a new note before its first save, which is
   * then described by @client_id, @kind and @amends_id. */
  MtsNote *note;
  char *client_id;
  char *kind;
  char *amends_id;
  gboolean ai_assisted;         /* the flag to save (an AI draft was inserted) */
  char **headings;              /* the template's headings, for emphasis */
  guint epoch;                  /* changes whenever another note is shown */

  /* Saving. */
  gboolean loading;             /* the buffer is being filled, not typed in */
  guint64 generation;           /* bumped by every edit */
  guint64 saved_generation;     /* the edit last saved */
  SaveState save_state;
  guint pause_id, max_id, retry_id;
  gboolean in_flight;           /* an autosave is running on the worker */
  gboolean resave;              /* save again when it is done */
  MtsStore *twin;               /* the worker's store (set by the worker, under worker_lock) */
  GMutex worker_lock;
  GCond worker_cond;
  gboolean worker_busy;

  /* Locking. */
  gboolean hidden_by_lock;
  int locked_cursor;
  char *locked_text;            /* only when saving before the lock failed */
  gboolean notifying;
};

G_DEFINE_FINAL_TYPE (MtsNoteEditor, mts_note_editor, ADW_TYPE_BIN)

static void save_tick (MtsNoteEditor *self);
static gboolean save_sync (MtsNoteEditor *self, GError **error);
static void update_header (MtsNoteEditor *self);
static void update_save_label (MtsNoteEditor *self);

gsize
mts_note_editor_max_bytes (void)
{
  const MtsTableSpec *notes = mts_table_lookup ("notes");
  const MtsFieldSpec *body = notes != NULL ? mts_table_field (notes, "body") : NULL;

  return body != NULL && body->max_bytes > 0 ? body->max_bytes : 1024 * 1024;
}

static MtsStore *
editor_store (void)
{
  GApplication *app = g_application_get_default ();

  if (!MTS_IS_APPLICATION (app) || !mts_application_is_unlocked (MTS_APPLICATION (app)))
    return NULL;
  return mts_application_get_store (MTS_APPLICATION (app));
}

static void
notify_changed (MtsNoteEditor *self)
{
  GApplication *app = g_application_get_default ();

  if (!MTS_IS_APPLICATION (app))
    return;
  self->notifying = TRUE;
  mts_application_notify_changed (MTS_APPLICATION (app));
  self->notifying = FALSE;
}

static void
toast (MtsNoteEditor *self, const char *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (MTS_IS_WINDOW (root))
    mts_window_toast (MTS_WINDOW (root), message);
}

static char *
buffer_text (MtsNoteEditor *self)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  return gtk_text_buffer_get_text (self->buffer, &start, &end, FALSE);
}

static gboolean
is_dirty (MtsNoteEditor *self)
{
  return self->generation != self->saved_generation;
}

static gboolean
is_signed (MtsNoteEditor *self)
{
  return self->note != NULL && g_strcmp0 (self->note->status, "signed") == 0;
}

static char *
format_instant (const char *iso, gboolean with_time)
{
  g_autoptr (GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : g_date_time_new_now_local ();

  return g_date_time_format (local, with_time ? "%-d %B %Y, %H:%M" : "%-d %B %Y");
}

static char *
clinician_name (MtsStore *store, const char *id)
{
  g_autoptr (MtsClinician) c = id != NULL ? mts_store_clinician_get (store, id, NULL) : NULL;

  if (c != NULL && c->display_name != NULL && *c->display_name != '\0')
    return g_strdup (c->display_name);
  return g_strdup (id != NULL ? id : "someone");
}

/* ---- the banner ---- */

static void
show_banner (MtsNoteEditor *self, GtkMessageType type, const char *message,
             const char *save_copy_label)
{
  gtk_info_bar_set_message_type (self->error_bar, type);
  gtk_label_set_text (self->error_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->save_copy_button), save_copy_label != NULL);
  if (save_copy_label != NULL)
    gtk_button_set_label (self->save_copy_button, save_copy_label);
  gtk_widget_set_visible (GTK_WIDGET (self->copy_button), save_copy_label != NULL);
  gtk_info_bar_set_revealed (self->error_bar, TRUE);
}

static void
hide_banner (MtsNoteEditor *self)
{
  gtk_info_bar_set_revealed (self->error_bar, FALSE);
  gtk_label_set_text (self->error_label, "");
}

/* ---- the buffer ---- */

static void
emphasise_headings (MtsNoteEditor *self)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  gtk_text_buffer_remove_tag (self->buffer, self->heading_tag, &start, &end);
  if (self->headings == NULL || gtk_text_buffer_get_char_count (self->buffer) > 32 * 1024)
    return;
  for (int line = 0; line < gtk_text_buffer_get_line_count (self->buffer); line++)
    {
      GtkTextIter ls, le;
      g_autofree char *text = NULL;

      gtk_text_buffer_get_iter_at_line (self->buffer, &ls, line);
      le = ls;
      if (!gtk_text_iter_ends_line (&le))
        gtk_text_iter_forward_to_line_end (&le);
      text = gtk_text_buffer_get_text (self->buffer, &ls, &le, FALSE);
      g_strstrip (text);
      for (char **h = self->headings; *h != NULL; h++)
        if (**h != '\0' && g_str_equal (text, *h))
          {
            gtk_text_buffer_apply_tag (self->buffer, self->heading_tag, &ls, &le);
            break;
          }
    }
}

static void
load_text (MtsNoteEditor *self, const char *text, int cursor)
{
  GtkTextIter iter;

  self->loading = TRUE;
  gtk_text_buffer_begin_irreversible_action (self->buffer);
  gtk_text_buffer_set_text (self->buffer, text != NULL ? text : "", -1);
  gtk_text_buffer_end_irreversible_action (self->buffer);
  emphasise_headings (self);
  if (cursor < 0)
    gtk_text_buffer_get_end_iter (self->buffer, &iter);
  else
    gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, cursor);
  gtk_text_buffer_place_cursor (self->buffer, &iter);
  self->loading = FALSE;
}

static char **
headings_for_kind (const char *kind)
{
  if (g_strcmp0 (kind, "SOAP") == 0)
    return g_strsplit ("Subjective|Objective|Assessment|Plan", "|", -1);
  if (g_strcmp0 (kind, "DAP") == 0)
    return g_strsplit ("Data|Assessment|Plan", "|", -1);
  if (g_strcmp0 (kind, "BIRP") == 0)
    return g_strsplit ("Behaviour|Intervention|Response|Plan", "|", -1);
  return NULL;
}

/* A template's structure: a JSON array of headings (anything else: none). */
static char **
headings_from_structure (const char *structure)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  JsonNode *root;

  if (structure == NULL || !json_parser_load_from_data (parser, structure, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return NULL;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (root)); i++)
    {
      JsonNode *item = json_array_get_element (json_node_get_array (root), i);
      if (JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING)
        g_ptr_array_add (out, g_strdup (json_node_get_string (item)));
    }
  if (out->len == 0)
    return NULL;
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static char *
body_from_headings (char **headings)
{
  GString *s = g_string_new (NULL);

  for (char **h = headings; h != NULL && *h != NULL; h++)
    g_string_append_printf (s, "%s%s\n", s->len > 0 ? "\n\n" : "", *h);
  return g_string_free (s, FALSE);
}

/* ---- the state shown ---- */

static void
stop_timers (MtsNoteEditor *self)
{
  g_clear_handle_id (&self->pause_id, g_source_remove);
  g_clear_handle_id (&self->max_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
}

static void
reset (MtsNoteEditor *self)
{
  stop_timers (self);
  self->epoch++;
  g_clear_pointer (&self->note, mts_note_free);
  g_clear_pointer (&self->client_id, g_free);
  g_clear_pointer (&self->kind, g_free);
  g_clear_pointer (&self->amends_id, g_free);
  g_clear_pointer (&self->headings, g_strfreev);
  self->ai_assisted = FALSE;
  self->generation = self->saved_generation = 0;
  self->save_state = SAVE_OK;
  self->resave = FALSE;
  hide_banner (self);
  load_text (self, "", 0);
}

static void
update_actions (MtsNoteEditor *self)
{
  gboolean shown = g_str_equal (gtk_stack_get_visible_child_name (self->stack), "edit");
  gboolean draft = shown && !is_signed (self);
  gboolean broken = self->save_state == SAVE_SIGNED || self->save_state == SAVE_DELETED;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", draft);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.sign", draft && !broken);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.amend", shown && is_signed (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.history", shown && self->note != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.draft-ai", draft && !broken);
  gtk_widget_set_visible (GTK_WIDGET (self->sign_button), !is_signed (self));
  gtk_widget_set_visible (GTK_WIDGET (self->ai_button), !is_signed (self));
  gtk_widget_set_visible (GTK_WIDGET (self->amend_button), is_signed (self));
  gtk_text_view_set_editable (self->text_view, draft);
  gtk_text_view_set_cursor_visible (self->text_view, draft);
}

static void
update_header (MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();
  const char *client_id = self->note != NULL ? self->note->client_id : self->client_id;
  const char *kind = self->note != NULL ? self->note->template_kind : self->kind;
  const char *amends = self->note != NULL ? self->note->amends_id : self->amends_id;
  g_autoptr (MtsClient) client = NULL;
  g_autofree char *date = NULL;
  g_autofree char *meta = NULL;
  g_autofree char *kind_text = NULL;

  if (store == NULL)
    return;
  client = client_id != NULL ? mts_store_client_get (store, client_id, NULL) : NULL;
  gtk_label_set_text (self->client_label, client != NULL && client->display_name != NULL
                                           ? client->display_name : "Unknown client");

  date = format_instant (self->note != NULL ? self->note->created_at : NULL, TRUE);
  kind_text = g_strcmp0 (kind, "free") == 0 || kind == NULL ? g_strdup ("Free-text note")
                                                            : g_strdup_printf ("%s note", kind);
  meta = g_strdup_printf ("%s · %s%s", date, kind_text,
                          self->note == NULL ? " · not saved until you type" : "");
  gtk_label_set_text (self->meta_label, meta);

  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "note-badge-signed");
  if (is_signed (self))
    {
      g_autofree char *who = clinician_name (store, self->note->signed_by);
      g_autofree char *when = format_instant (self->note->signed_at, TRUE);
      g_autofree char *text = g_strdup_printf ("Signed by %s on %s", who, when);
      gtk_label_set_text (self->status_label, text);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "note-badge-signed");
    }
  else
    gtk_label_set_text (self->status_label, amends != NULL ? "Draft amendment" : "Draft");

  gtk_widget_set_visible (GTK_WIDGET (self->ai_badge),
                          self->ai_assisted || (self->note != NULL && self->note->ai_assisted));
  if (is_signed (self) && self->note->ai_assisted)
    gtk_label_set_text (self->ai_badge, "AI-assisted");
  else
    gtk_label_set_text (self->ai_badge, "AI-assisted draft: review");

  gtk_widget_set_visible (GTK_WIDGET (self->amends_button), amends != NULL);
  if (amends != NULL)
    {
      g_autoptr (MtsNote) original = mts_store_note_get (store, amends, NULL);
      g_autofree char *when = format_instant (original != NULL ? original->signed_at : NULL, FALSE);
      g_autofree char *text = g_strdup_printf ("Amends the note signed %s", when);
      gtk_button_set_label (self->amends_button, text);
    }
  update_actions (self);
  update_save_label (self);
}

static void
update_save_label (MtsNoteEditor *self)
{
  const char *text;

  if (is_signed (self))
    text = "";
  else if (self->save_state == SAVE_TOO_LARGE || self->save_state == SAVE_SIGNED
           || self->save_state == SAVE_DELETED)
    text = "Not saved";
  else if (self->save_state == SAVE_RETRYING)
    text = "Not saved yet…";
  else if (self->in_flight || is_dirty (self))
    text = "Saving…";
  else if (self->note == NULL)
    text = "";
  else
    text = "Saved";
  gtk_label_set_text (self->save_label, text);
}

/* ---- saving ---- */

typedef struct {
  MtsStore *twin;               /* the worker's store, or NULL: open it from these */
  MtsKeystore *ks;
  char *dir;
  char *actor;
  MtsNote *note;                /* id, body, kind, AI flag to write */
  guint64 generation;
  guint epoch;
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_clear_object (&job->twin);
  g_clear_pointer (&job->ks, mts_keystore_free);
  g_free (job->dir);
  g_free (job->actor);
  g_clear_pointer (&job->note, mts_note_free);
  g_free (job);
}

static void
wait_for_worker (MtsNoteEditor *self)
{
  g_mutex_lock (&self->worker_lock);
  while (self->worker_busy)
    g_cond_wait (&self->worker_cond, &self->worker_lock);
  g_mutex_unlock (&self->worker_lock);
}

static void
drop_twin (MtsNoteEditor *self)
{
  wait_for_worker (self);
  if (self->twin != NULL)
    {
      mts_store_lock (self->twin);
      g_clear_object (&self->twin);
    }
}

static gboolean
check_size (MtsNoteEditor *self, const char *body, GError **error)
{
  gsize len = strlen (body);
  gsize max = mts_note_editor_max_bytes ();

  if (len <= max)
    return TRUE;
  {
    g_autofree char *have = g_format_size_full (len, G_FORMAT_SIZE_LONG_FORMAT | G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *limit = g_format_size_full (max, G_FORMAT_SIZE_LONG_FORMAT | G_FORMAT_SIZE_IEC_UNITS);
    g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                 "This note is too long to save: it holds %s of text and a note holds at most %s. "
                 "Your text is kept here but not saved; shorten it (or split it into two notes) "
                 "and it will be saved again.", have, limit);
  }
  return FALSE;
}

static gboolean
retry_cb (gpointer user_data)
{
  MtsNoteEditor *self = user_data;

  self->retry_id = 0;
  save_tick (self);
  return G_SOURCE_REMOVE;
}

/* A save failed: say why, keep the text, and decide what comes next. */
static void
save_failed (MtsNoteEditor *self, const GError *error)
{
  g_autofree char *message = NULL;

  if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED))
    {
      self->save_state = SAVE_SIGNED;
      show_banner (self, GTK_MESSAGE_ERROR,
                   "This note was signed elsewhere (on another device) after your last save, so "
                   "signed text cannot change and your latest typing was not saved into it. "
                   "Nothing is lost: your text stays here. Save it as an amendment, or copy it.",
                   "Save as Amendment");
    }
  else if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND))
    {
      self->save_state = SAVE_DELETED;
      show_banner (self, GTK_MESSAGE_ERROR,
                   "This note was deleted elsewhere (or its client was), so your latest typing "
                   "could not be saved into it. Nothing is lost: your text stays here. Save it "
                   "as a new note, or copy it.",
                   "Save as New Note");
    }
  else if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID)
           && strstr (error->message, "too long") != NULL)
    {
      self->save_state = SAVE_TOO_LARGE;
      show_banner (self, GTK_MESSAGE_ERROR, error->message, NULL);
    }
  else if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED))
    {
      /* Locking: the text was saved by the flush before it, or is kept. */
      self->save_state = SAVE_RETRYING;
    }
  else
    {
      self->save_state = SAVE_RETRYING;
      message = g_strdup_printf ("Not saved yet: %s. Your text is kept here; saving again in a "
                                 "few seconds.", error->message);
      show_banner (self, GTK_MESSAGE_WARNING, message, NULL);
      g_clear_handle_id (&self->retry_id, g_source_remove);
      self->retry_id = g_timeout_add (SAVE_RETRY_MS, retry_cb, self);
    }
  update_header (self);
}

static void
save_succeeded (MtsNoteEditor *self, guint64 generation, const char *body, gboolean ai_assisted)
{
  if (generation < self->saved_generation)
    return;
  self->saved_generation = generation;
  if (self->note != NULL)
    {
      g_free (self->note->body);
      self->note->body = g_strdup (body);
      self->note->ai_assisted = ai_assisted;
    }
  if (self->save_state != SAVE_OK)
    {
      self->save_state = SAVE_OK;
      hide_banner (self);
    }
  update_save_label (self);
}

/* Creates the note shown (a new note's first save), on this thread. */
static gboolean
create_note (MtsNoteEditor *self, MtsStore *store, const char *body, GError **error)
{
  g_autoptr (MtsNote) note = NULL;

  if (self->amends_id != NULL)
    {
      note = mts_store_note_amend (store, self->amends_id, body, error);
      if (note == NULL)
        return FALSE;
      if (self->ai_assisted)
        {
          note->ai_assisted = TRUE;
          if (!mts_store_note_update (store, note, error))
            return FALSE;
        }
    }
  else
    {
      note = mts_note_new ();
      note->client_id = g_strdup (self->client_id);
      note->template_kind = g_strdup (self->kind);
      note->clinician_id = g_strdup (mts_store_get_actor (store));
      note->body = g_strdup (body);
      note->ai_assisted = self->ai_assisted;
      /* An actor that is not a clinician (before one exists): no author. */
      if (note->clinician_id != NULL)
        {
          g_autoptr (MtsClinician) c = mts_store_clinician_get (store, note->clinician_id, NULL);
          if (c == NULL)
            g_clear_pointer (&note->clinician_id, g_free);
        }
      if (!mts_store_note_add (store, note, error))
        return FALSE;
    }
  g_clear_pointer (&self->note, mts_note_free);
  self->note = mts_store_note_get (store, note->id, error);
  if (self->note == NULL)
    return FALSE;
  notify_changed (self);
  return TRUE;
}

/* Saves now on this thread (leaving the note, Ctrl+S, locking, signing). */
static gboolean
save_sync (MtsNoteEditor *self, GError **error)
{
  MtsStore *store = editor_store ();
  g_autofree char *body = NULL;
  g_autoptr (GError) local = NULL;
  guint64 generation = self->generation;

  wait_for_worker (self);
  stop_timers (self);
  if (!is_dirty (self))
    return TRUE;
  if (store == NULL)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED, "the store is locked");
      return FALSE;
    }
  if (self->save_state == SAVE_SIGNED || self->save_state == SAVE_DELETED)
    {
      g_set_error_literal (error, MTS_STORE_ERROR,
                           self->save_state == SAVE_SIGNED ? MTS_STORE_ERROR_SIGNED
                                                           : MTS_STORE_ERROR_NOT_FOUND,
                           gtk_label_get_text (self->error_label));
      return FALSE;
    }
  body = buffer_text (self);
  if (!check_size (self, body, &local))
    ;
  else if (self->note == NULL)
    {
      if (create_note (self, store, body, &local))
        {
          save_succeeded (self, generation, body, self->ai_assisted);
          update_header (self);
          return TRUE;
        }
    }
  else
    {
      g_autoptr (MtsNote) copy = mts_note_new ();
      copy->id = g_strdup (self->note->id);
      copy->body = g_strdup (body);
      copy->ai_assisted = self->ai_assisted || self->note->ai_assisted;
      if (mts_store_note_update (store, copy, &local))
        {
          save_succeeded (self, generation, body, copy->ai_assisted);
          return TRUE;
        }
    }
  save_failed (self, local);
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MtsNoteEditor *self = source;
  SaveJob *job = task_data;
  GError *error = NULL;
  gboolean ok;

  /* The first save opens the worker's store here (opening the database
   * and reading the client names takes a while with many clients). */
  if (job->twin == NULL)
    {
      job->twin = mts_store_open_with_keystore (job->dir, g_steal_pointer (&job->ks), job->actor, &error);
      if (job->twin != NULL)
        {
          g_mutex_lock (&self->worker_lock);
          g_set_object (&self->twin, job->twin);
          g_mutex_unlock (&self->worker_lock);
        }
    }
  ok = job->twin != NULL && mts_store_note_update (job->twin, job->note, &error);

  g_mutex_lock (&self->worker_lock);
  self->worker_busy = FALSE;
  g_cond_broadcast (&self->worker_cond);
  g_mutex_unlock (&self->worker_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (source);
  SaveJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  self->in_flight = FALSE;
  if (job->epoch == self->epoch)
    {
      if (ok)
        save_succeeded (self, job->generation, job->note->body, job->note->ai_assisted);
      else if (job->generation > self->saved_generation)
        save_failed (self, error);
    }
  if (self->resave && job->epoch == self->epoch)
    {
      self->resave = FALSE;
      save_tick (self);
    }
  update_save_label (self);
}

/* The autosave: a new note is created here (once, on this thread); later
 * saves run on the worker. */
static void
save_tick (MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  g_autofree char *body = NULL;
  SaveJob *job;

  stop_timers (self);
  if (store == NULL || !is_dirty (self) || is_signed (self)
      || self->save_state == SAVE_SIGNED || self->save_state == SAVE_DELETED)
    return;
  if (self->in_flight)
    {
      self->resave = TRUE;
      return;
    }
  emphasise_headings (self);
  if (self->note == NULL)
    {
      save_sync (self, NULL);
      return;
    }
  body = buffer_text (self);
  if (!check_size (self, body, &error))
    {
      save_failed (self, error);
      return;
    }
  job = g_new0 (SaveJob, 1);
  if (self->twin != NULL)
    job->twin = g_object_ref (self->twin);
  else
    {
      job->ks = mts_store_clone_keystore (store, &error);
      if (job->ks == NULL)
        {
          save_job_free (job);
          save_failed (self, error);
          return;
        }
      job->dir = g_strdup (mts_store_get_dir (store));
      job->actor = g_strdup (mts_store_get_actor (store));
    }
  job->note = mts_note_new ();
  job->note->id = g_strdup (self->note->id);
  job->note->body = g_steal_pointer (&body);
  job->note->ai_assisted = self->ai_assisted || self->note->ai_assisted;
  job->generation = self->generation;
  job->epoch = self->epoch;
  self->in_flight = TRUE;
  self->worker_busy = TRUE;
  task = g_task_new (self, NULL, save_done_cb, NULL);
  g_task_set_source_tag (task, save_tick);
  g_task_set_task_data (task, job, (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, save_thread);
  update_save_label (self);
}

static gboolean
pause_cb (gpointer user_data)
{
  MtsNoteEditor *self = user_data;

  self->pause_id = 0;
  save_tick (self);
  return G_SOURCE_REMOVE;
}

static gboolean
max_cb (gpointer user_data)
{
  MtsNoteEditor *self = user_data;

  self->max_id = 0;
  save_tick (self);
  return G_SOURCE_REMOVE;
}

static void
buffer_changed_cb (GtkTextBuffer *buffer, MtsNoteEditor *self)
{
  if (self->loading)
    return;
  if (is_signed (self))
    {
      /* Only possible programmatically (the view is not editable): the
       * stored text comes back. */
      load_text (self, self->note->body, 0);
      show_banner (self, GTK_MESSAGE_INFO,
                   "This note is signed, so it cannot change. Signed notes cannot be changed; "
                   "corrections are made as amendments: use Amend.", NULL);
      return;
    }
  self->generation++;
  if (self->save_state == SAVE_TOO_LARGE)
    {
      /* Saved again as soon as it fits. */
      g_autofree char *body = buffer_text (self);
      if (strlen (body) <= mts_note_editor_max_bytes ())
        {
          self->save_state = SAVE_OK;
          hide_banner (self);
        }
    }
  g_clear_handle_id (&self->pause_id, g_source_remove);
  self->pause_id = g_timeout_add (SAVE_PAUSE_MS, pause_cb, self);
  if (self->max_id == 0)
    self->max_id = g_timeout_add (SAVE_MAX_MS, max_cb, self);
  update_save_label (self);
  if (self->note == NULL)
    update_actions (self);
}

static void save_copy_clicked_cb (MtsNoteEditor *self);

/* ---- opening ---- */

/* Saves the note shown before another is shown.  FALSE when its text
 * cannot be saved and must stay (too long). */
static gboolean
leave_note (MtsNoteEditor *self)
{
  g_autoptr (GError) error = NULL;

  if (save_sync (self, &error) || !is_dirty (self))
    return TRUE;
  if (self->save_state == SAVE_SIGNED || self->save_state == SAVE_DELETED)
    {
      /* Never dropped: kept as a new note. */
      save_copy_clicked_cb (self);
      return !is_dirty (self);
    }
  return FALSE;
}

void
mts_note_editor_open (MtsNoteEditor *self, const char *note_id)
{
  MtsStore *store = editor_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = NULL;

  g_return_if_fail (MTS_IS_NOTE_EDITOR (self));
  if (store == NULL)
    return;
  if (self->note != NULL && g_strcmp0 (self->note->id, note_id) == 0
      && g_str_equal (gtk_stack_get_visible_child_name (self->stack), "edit"))
    return;
  if (!leave_note (self))
    {
      toast (self, "This note's text is not saved yet; it stays open until it is");
      return;
    }
  note = mts_store_note_get (store, note_id, &error);
  if (note == NULL)
    {
      reset (self);
      gtk_stack_set_visible_child_name (self->stack, "none");
      update_actions (self);
      toast (self, "That note no longer exists (it was deleted)");
      return;
    }
  reset (self);
  self->note = g_steal_pointer (&note);
  self->headings = headings_for_kind (self->note->template_kind);
  load_text (self, self->note->body, is_signed (self) ? 0 : -1);
  gtk_stack_set_visible_child_name (self->stack, "edit");
  update_header (self);
  if (!is_signed (self))
    gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

static void
practice_template_activated_cb (AdwActionRow *row, MtsNoteEditor *self)
{
  mts_note_editor_start_from_template (self, g_object_get_data (G_OBJECT (row), "template-id"));
}

static void
template_row_activated_cb (AdwActionRow *row, MtsNoteEditor *self)
{
  const char *name = gtk_widget_get_name (GTK_WIDGET (row));

  mts_note_editor_start_from_template (self, name + strlen ("template-"));
}

static void
fill_practice_templates (MtsNoteEditor *self, MtsStore *store)
{
  g_autoptr (GPtrArray) templates = mts_store_note_template_list (store, NULL);

  for (guint i = 0; i < self->practice_rows->len; i++)
    adw_preferences_group_remove (self->practice_group, g_ptr_array_index (self->practice_rows, i));
  g_ptr_array_set_size (self->practice_rows, 0);
  for (guint i = 0; templates != NULL && i < templates->len; i++)
    {
      MtsNoteTemplate *t = g_ptr_array_index (templates, i);
      g_auto (GStrv) headings = headings_from_structure (t->structure);
      g_autofree char *subtitle = headings != NULL ? g_strjoinv (", ", headings) : g_strdup ("No headings");
      g_autofree char *name = g_strdup_printf ("template-%s", t->id);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), t->name);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_widget_set_name (row, name);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      g_object_set_data_full (G_OBJECT (row), "template-id", g_strdup (t->id), g_free);
      g_signal_connect (row, "activated", G_CALLBACK (practice_template_activated_cb), self);
      adw_preferences_group_add (self->practice_group, row);
      g_ptr_array_add (self->practice_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->practice_group), self->practice_rows->len > 0);
}

void
mts_note_editor_new_note (MtsNoteEditor *self, const char *client_id)
{
  MtsStore *store = editor_store ();
  g_autoptr (MtsClient) client = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (MTS_IS_NOTE_EDITOR (self));
  if (store == NULL)
    return;
  if (!leave_note (self))
    {
      toast (self, "This note's text is not saved yet; it stays open until it is");
      return;
    }
  client = mts_store_client_get (store, client_id, NULL);
  if (client == NULL)
    {
      reset (self);
      gtk_stack_set_visible_child_name (self->stack, "none");
      update_actions (self);
      toast (self, "That client no longer exists");
      return;
    }
  reset (self);
  self->client_id = g_strdup (client_id);
  title = g_strdup_printf ("New Note for %s", client->display_name);
  adw_preferences_group_set_title (self->builtin_group, title);
  fill_practice_templates (self, store);
  gtk_stack_set_visible_child_name (self->stack, "choose");
  update_actions (self);
}

void
mts_note_editor_start_from_template (MtsNoteEditor *self, const char *template)
{
  MtsStore *store = editor_store ();
  g_autofree char *body = NULL;
  int cursor;

  g_return_if_fail (MTS_IS_NOTE_EDITOR (self));
  if (store == NULL || self->client_id == NULL || self->note != NULL)
    return;
  g_clear_pointer (&self->kind, g_free);
  g_clear_pointer (&self->headings, g_strfreev);
  if (g_str_equal (template, "SOAP") || g_str_equal (template, "DAP") || g_str_equal (template, "BIRP")
      || g_str_equal (template, "free"))
    {
      self->kind = g_strdup (template);
      self->headings = headings_for_kind (template);
    }
  else
    {
      g_autoptr (MtsNoteTemplate) t = mts_store_note_template_get (store, template, NULL);
      if (t == NULL)
        {
          toast (self, "That template no longer exists");
          return;
        }
      self->kind = g_strdup (t->kind);
      self->headings = headings_from_structure (t->structure);
      if (self->headings == NULL)
        self->headings = headings_for_kind (t->kind);
    }
  body = body_from_headings (self->headings);
  /* The cursor goes under the first heading. */
  cursor = self->headings != NULL ? (int) g_utf8_strlen (self->headings[0], -1) + 1 : 0;
  load_text (self, body, cursor);
  gtk_stack_set_visible_child_name (self->stack, "edit");
  update_header (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

const char *
mts_note_editor_get_note_id (MtsNoteEditor *self)
{
  return self->note != NULL ? self->note->id : NULL;
}

gboolean
mts_note_editor_is_dirty (MtsNoteEditor *self)
{
  return is_dirty (self);
}

gboolean
mts_note_editor_flush (MtsNoteEditor *self, GError **error)
{
  g_return_val_if_fail (MTS_IS_NOTE_EDITOR (self), FALSE);
  return save_sync (self, error);
}

/* ---- the banner's buttons ---- */

static void
save_copy_clicked_cb (MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();
  g_autofree char *body = buffer_text (self);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) original = NULL;
  const char *client_id = self->note != NULL ? self->note->client_id : self->client_id;
  const char *kind = self->note != NULL ? self->note->template_kind : self->kind;

  if (store == NULL)
    return;
  if (!check_size (self, body, &error))
    {
      show_banner (self, GTK_MESSAGE_ERROR, error->message, NULL);
      return;
    }
  original = self->note != NULL ? mts_store_note_get (store, self->note->id, NULL) : NULL;
  /* Keep what identifies the new note, then start it as a fresh draft. */
  {
    g_autofree char *cid = g_strdup (client_id);
    g_autofree char *k = g_strdup (kind);
    g_autofree char *amends = original != NULL && g_strcmp0 (original->status, "signed") == 0
                              ? g_strdup (original->id) : NULL;
    gboolean ai = self->ai_assisted || (self->note != NULL && self->note->ai_assisted);
    char **headings = g_steal_pointer (&self->headings);

    stop_timers (self);
    wait_for_worker (self);
    self->epoch++;
    g_clear_pointer (&self->note, mts_note_free);
    g_free (self->client_id);
    self->client_id = g_steal_pointer (&cid);
    g_free (self->kind);
    self->kind = g_steal_pointer (&k);
    g_free (self->amends_id);
    self->amends_id = g_steal_pointer (&amends);
    self->headings = headings;
    self->ai_assisted = ai;
    self->save_state = SAVE_OK;
    if (!create_note (self, store, body, &error))
      {
        g_autofree char *message = g_strdup_printf ("Could not save a new note either: %s. Your "
                                                    "text is still here; copy it to keep it.",
                                                    error->message);
        self->save_state = SAVE_DELETED;
        show_banner (self, GTK_MESSAGE_ERROR, message, "Save as New Note");
        update_header (self);
        return;
      }
  }
  self->saved_generation = self->generation;
  hide_banner (self);
  update_header (self);
  toast (self, self->note->amends_id != NULL ? "Your text was saved as an amendment"
                                             : "Your text was saved as a new note");
}

static void
copy_clicked_cb (MtsNoteEditor *self)
{
  g_autofree char *body = buffer_text (self);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), body);
  toast (self, "The note's text is on the clipboard");
}

static void
amends_clicked_cb (MtsNoteEditor *self)
{
  const char *amends = self->note != NULL ? self->note->amends_id : self->amends_id;

  if (amends != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.open-note", "s", amends);
}

/* ---- actions ---- */

static void
save_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (widget);
  g_autoptr (GError) error = NULL;

  if (save_sync (self, &error))
    update_header (self);
}

static void
sign_response_cb (AdwMessageDialog *dialog, const char *response, MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNote) note = NULL;

  if (!g_str_equal (response, "sign") || store == NULL)
    return;
  if (!save_sync (self, &error))
    return;  /* the banner says why */
  if (self->note == NULL)
    return;
  if (!mts_store_note_sign (store, self->note->id, &error))
    {
      g_autofree char *message = g_strdup_printf ("The note was not signed: %s", error->message);
      show_banner (self, GTK_MESSAGE_ERROR, message, NULL);
      return;
    }
  note = mts_store_note_get (store, self->note->id, NULL);
  if (note != NULL)
    {
      mts_note_free (self->note);
      self->note = g_steal_pointer (&note);
    }
  self->ai_assisted = FALSE;
  hide_banner (self);
  drop_twin (self);
  update_header (self);
  notify_changed (self);
  toast (self, "Note signed");
}

static void
sign_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (widget);
  g_autofree char *body = buffer_text (self);
  GtkWidget *dialog;

  if (g_strstrip (body)[0] == '\0')
    {
      toast (self, "An empty note cannot be signed");
      return;
    }
  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)), "Sign This Note?",
                                   "Signed notes cannot be changed; corrections are made as "
                                   "amendments.");
  gtk_widget_set_name (dialog, "note-sign-dialog");
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "sign", "_Sign",
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "sign",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (sign_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
amend_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (widget);
  g_autofree char *original_id = NULL;
  g_autofree char *body = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *kind = NULL;

  if (!is_signed (self))
    return;
  original_id = g_strdup (self->note->id);
  body = g_strdup (self->note->body);
  client_id = g_strdup (self->note->client_id);
  kind = g_strdup (self->note->template_kind);
  reset (self);
  /* The amendment starts as the signed text, to correct; it is created
   * (mts_store_note_amend) at the first keystroke. */
  self->client_id = g_steal_pointer (&client_id);
  self->kind = g_steal_pointer (&kind);
  self->amends_id = g_steal_pointer (&original_id);
  self->headings = headings_for_kind (self->kind);
  load_text (self, body, -1);
  gtk_stack_set_visible_child_name (self->stack, "edit");
  update_header (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

static void
history_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (widget);
  GtkWidget *history;

  if (self->note == NULL)
    return;
  save_sync (self, NULL);
  history = mts_note_history_new (GTK_WINDOW (gtk_widget_get_root (widget)), self->note->id);
  gtk_window_present (GTK_WINDOW (history));
}

static void
draft_ai_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (widget);
  GtkTextIter start, end;
  g_autofree char *selected = NULL;
  const char *client_id = self->note != NULL ? self->note->client_id : self->client_id;
  const char *kind = self->note != NULL ? self->note->template_kind : self->kind;
  GtkWidget *panel;

  if (gtk_text_buffer_get_selection_bounds (self->buffer, &start, &end))
    selected = gtk_text_buffer_get_text (self->buffer, &start, &end, FALSE);
  panel = mts_ai_panel_new (GTK_WINDOW (gtk_widget_get_root (widget)), self, client_id, kind,
                            (const char *const *) self->headings, selected);
  gtk_window_present (GTK_WINDOW (panel));
}

void
mts_note_editor_insert_ai_draft (MtsNoteEditor *self, const char *text)
{
  GtkTextIter start, end;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (MTS_IS_NOTE_EDITOR (self));
  if (is_signed (self) || text == NULL)
    return;
  self->ai_assisted = TRUE;
  gtk_text_buffer_begin_user_action (self->buffer);
  if (gtk_text_buffer_get_selection_bounds (self->buffer, &start, &end))
    gtk_text_buffer_delete (self->buffer, &start, &end);
  gtk_text_buffer_insert_at_cursor (self->buffer, text, -1);
  gtk_text_buffer_end_user_action (self->buffer);
  /* The flag is written at once: the note is a draft marked for review. */
  if (!save_sync (self, &error))
    g_debug ("AI draft inserted; saving waits: %s", error->message);
  update_header (self);
  notify_changed (self);
}

/* ---- the app's state ---- */

static void
app_locking_cb (MtsApplication *app, MtsNoteEditor *self)
{
  g_autoptr (GError) error = NULL;
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, gtk_text_buffer_get_insert (self->buffer));
  self->locked_cursor = gtk_text_iter_get_offset (&iter);
  if (!save_sync (self, &error) && is_dirty (self))
    {
      /* Could not be saved (too long, signed or deleted elsewhere): held in
       * memory until unlocked rather than lost. */
      g_clear_pointer (&self->locked_text, g_free);
      self->locked_text = buffer_text (self);
    }
  drop_twin (self);
}

static void
app_locked_cb (MtsApplication *app, MtsNoteEditor *self)
{
  stop_timers (self);
  self->hidden_by_lock = TRUE;
  load_text (self, "", 0);
  gtk_label_set_text (self->client_label, "");
  gtk_label_set_text (self->meta_label, "");
  gtk_text_view_set_editable (self->text_view, FALSE);
}

static void
app_unlocked_cb (MtsApplication *app, MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();

  if (!self->hidden_by_lock || store == NULL)
    return;
  self->hidden_by_lock = FALSE;
  if (self->note != NULL)
    {
      g_autoptr (MtsNote) note = mts_store_note_get (store, self->note->id, NULL);
      if (note != NULL)
        {
          mts_note_free (self->note);
          self->note = g_steal_pointer (&note);
        }
      load_text (self, self->note->body, self->locked_cursor);
    }
  else if (self->client_id != NULL)
    {
      g_autofree char *body = NULL;
      if (self->amends_id != NULL)
        {
          g_autoptr (MtsNote) original = mts_store_note_get (store, self->amends_id, NULL);
          body = g_strdup (original != NULL ? original->body : "");
        }
      else
        body = body_from_headings (self->headings);
      load_text (self, body, self->locked_cursor);
    }
  self->saved_generation = self->generation;
  if (self->locked_text != NULL)
    {
      self->loading = TRUE;
      gtk_text_buffer_set_text (self->buffer, self->locked_text, -1);
      self->loading = FALSE;
      memset (self->locked_text, 0, strlen (self->locked_text));
      g_clear_pointer (&self->locked_text, g_free);
      self->generation++;
    }
  update_header (self);
}

static void
app_changed_cb (MtsApplication *app, MtsNoteEditor *self)
{
  MtsStore *store = editor_store ();
  g_autoptr (MtsNote) note = NULL;

  if (self->notifying || store == NULL || self->note == NULL || self->hidden_by_lock)
    return;
  note = mts_store_note_get (store, self->note->id, NULL);
  if (note == NULL)
    return;  /* a save will say it was deleted */
  if (!is_dirty (self) && !self->in_flight
      && (g_strcmp0 (note->body, self->note->body) != 0 || g_strcmp0 (note->status, self->note->status) != 0))
    {
      /* Changed by a sync (a merge, a signature elsewhere): shown as it is now. */
      GtkTextIter iter;
      gtk_text_buffer_get_iter_at_mark (self->buffer, &iter, gtk_text_buffer_get_insert (self->buffer));
      mts_note_free (self->note);
      self->note = g_steal_pointer (&note);
      load_text (self, self->note->body, gtk_text_iter_get_offset (&iter));
      update_header (self);
    }
}

static void
unmap_cb (MtsNoteEditor *self)
{
  /* Leaving the note for another page: saved now. */
  if (editor_store () != NULL && self->buffer != NULL)
    save_sync (self, NULL);
}

/* ---- GObject ---- */

static void
mts_note_editor_dispose (GObject *object)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (object);

  /* The window closes: what is typed is saved. */
  if (editor_store () != NULL && self->buffer != NULL)
    save_sync (self, NULL);
  stop_timers (self);
  drop_twin (self);
  self->buffer = NULL;
  G_OBJECT_CLASS (mts_note_editor_parent_class)->dispose (object);
}

static void
mts_note_editor_finalize (GObject *object)
{
  MtsNoteEditor *self = MTS_NOTE_EDITOR (object);

  g_clear_pointer (&self->note, mts_note_free);
  g_free (self->client_id);
  g_free (self->kind);
  g_free (self->amends_id);
  g_strfreev (self->headings);
  if (self->locked_text != NULL)
    {
      memset (self->locked_text, 0, strlen (self->locked_text));
      g_free (self->locked_text);
    }
  g_clear_pointer (&self->practice_rows, g_ptr_array_unref);
  g_mutex_clear (&self->worker_lock);
  g_cond_clear (&self->worker_cond);
  G_OBJECT_CLASS (mts_note_editor_parent_class)->finalize (object);
}

static void
mts_note_editor_class_init (MtsNoteEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_note_editor_dispose;
  object_class->finalize = mts_note_editor_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-note-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, stack);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, builtin_group);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, practice_group);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, error_bar);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, save_copy_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, copy_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, client_label);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, meta_label);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, status_label);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, ai_badge);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, amends_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, save_label);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, ai_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, sign_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, amend_button);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteEditor, text_view);
  gtk_widget_class_bind_template_callback (widget_class, template_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, save_copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, amends_clicked_cb);

  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "editor.sign", NULL, sign_action);
  gtk_widget_class_install_action (widget_class, "editor.amend", NULL, amend_action);
  gtk_widget_class_install_action (widget_class, "editor.history", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "editor.draft-ai", NULL, draft_ai_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_S, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "editor.sign", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_D, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "editor.draft-ai", NULL);
}

static void
load_css (void)
{
  static gboolean loaded;
  GtkCssProvider *provider;

  if (loaded || gdk_display_get_default () == NULL)
    return;
  loaded = TRUE;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/uk/co/mytherapysuite/Desktop/mts-note-editor.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref (provider);
}

static void
mts_note_editor_init (MtsNoteEditor *self)
{
  GApplication *app = g_application_get_default ();

  g_mutex_init (&self->worker_lock);
  g_cond_init (&self->worker_cond);
  self->practice_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  load_css ();

  self->buffer = gtk_text_view_get_buffer (self->text_view);
  self->heading_tag = gtk_text_buffer_create_tag (self->buffer, "heading",
                                                  "weight", PANGO_WEIGHT_BOLD,
                                                  "scale", 1.1,
                                                  "pixels-above-lines", 6,
                                                  NULL);
  g_signal_connect (self->buffer, "changed", G_CALLBACK (buffer_changed_cb), self);
  g_signal_connect (self, "unmap", G_CALLBACK (unmap_cb), NULL);

  if (MTS_IS_APPLICATION (app))
    {
      g_signal_connect_object (app, "locking", G_CALLBACK (app_locking_cb), self, 0);
      g_signal_connect_object (app, "locked", G_CALLBACK (app_locked_cb), self, 0);
      g_signal_connect_object (app, "unlocked", G_CALLBACK (app_unlocked_cb), self, 0);
      g_signal_connect_object (app, "changed", G_CALLBACK (app_changed_cb), self, 0);
    }
  update_actions (self);
}

GtkWidget *
mts_note_editor_new (void)
{
  return g_object_new (MTS_TYPE_NOTE_EDITOR, NULL);
}
