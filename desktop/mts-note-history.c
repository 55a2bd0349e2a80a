/* mts-note-history.c — A note's history: its versions in the audit log and its amendments. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-note-history.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-application.h"

/* Saves by one person closer together than this show as one edit (the
 * editor saves every second while typing). */
#define EDIT_SESSION_GAP_US (10 * G_TIME_SPAN_MINUTE)

struct _MtsNoteHistory
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  AdwPreferencesGroup *linked_group;
  AdwPreferencesGroup *versions_group;
  guint n_versions;
  guint n_linked;
};

G_DEFINE_FINAL_TYPE (MtsNoteHistory, mts_note_history, ADW_TYPE_WINDOW)

static char *
format_instant (const char *iso)
{
  g_autoptr (GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%-d %B %Y, %H:%M") : g_strdup (iso ? iso : "");
}

static char *
person (MtsStore *store, GHashTable *names, const char *actor)
{
  const char *name;

  if (actor == NULL || *actor == '\0')
    return g_strdup ("unknown");
  name = g_hash_table_lookup (names, actor);
  if (name == NULL)
    {
      g_autoptr (MtsClinician) c = mts_store_clinician_get (store, actor, NULL);
      name = c != NULL && c->display_name != NULL ? c->display_name : actor;
      g_hash_table_insert (names, g_strdup (actor), g_strdup (name));
      name = g_hash_table_lookup (names, actor);
    }
  return g_strdup (name);
}

static gboolean
has_column (const char *columns, const char *name)
{
  g_auto (GStrv) parts = g_strsplit (columns != NULL ? columns : "", ",", -1);

  return g_strv_contains ((const char *const *) parts, name);
}

typedef struct {
  char *what;
  char *actor;
  char *first_at;
  char *last_at;
  guint count;
} Version;

static void
version_free (Version *v)
{
  g_free (v->what);
  g_free (v->actor);
  g_free (v->first_at);
  g_free (v->last_at);
  g_free (v);
}

static gint64
iso_us (const char *iso)
{
  g_autoptr (GDateTime) dt = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;

  return dt != NULL ? g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt) : 0;
}

/* What one audit entry of the note says happened. */
static const char *
describe (const char *action, const char *columns)
{
  if (g_strcmp0 (action, "insert") == 0)
    return "Created";
  if (g_strcmp0 (action, "delete") == 0)
    return "Deleted";
  if (g_strcmp0 (action, "baseline") == 0)
    return "Already there when the audit log began";
  if (g_strcmp0 (action, "update") != 0)
    return NULL;
  if (has_column (columns, "deleted"))
    return "Deleted";
  if (has_column (columns, "status"))
    return "Signed";
  if (has_column (columns, "version") && has_column (columns, "body"))
    return "Changed by a sync (edited on another device)";
  if (has_column (columns, "body"))
    return "Edited";
  if (has_column (columns, "ai_assisted"))
    return "Marked as AI-assisted";
  if (has_column (columns, "template_kind"))
    return "Template changed";
  if (has_column (columns, "version"))
    return "Synced with the server";
  return NULL;
}

static void
load_versions (MtsNoteHistory *self, MtsStore *store, const char *note_id)
{
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) versions = g_ptr_array_new_with_free_func ((GDestroyNotify) version_free);
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT at, actor, action, changed_columns FROM mts_audit "
                              "WHERE target = 'notes' AND row_id = ?1 ORDER BY seq", -1, &st, NULL)
      != SQLITE_OK)
    {
      g_warning ("note history: cannot read the audit log: %s", sqlite3_errmsg (db));
      return;
    }
  sqlite3_bind_text (st, 1, note_id, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *at = (const char *) sqlite3_column_text (st, 0);
      const char *actor = (const char *) sqlite3_column_text (st, 1);
      const char *what = describe ((const char *) sqlite3_column_text (st, 2),
                                   (const char *) sqlite3_column_text (st, 3));
      Version *last = versions->len > 0 ? g_ptr_array_index (versions, versions->len - 1) : NULL;

      if (what == NULL)
        continue;
      /* Autosaves: one edit while one person goes on typing (the first
       * ones right after the note was created belong to its creation). */
      if (last != NULL && g_str_equal (what, "Edited")
          && (g_str_equal (last->what, "Edited") || g_str_equal (last->what, "Created")
              || g_str_equal (last->what, "Created and written"))
          && g_strcmp0 (last->actor, actor) == 0
          && iso_us (at) - iso_us (last->last_at) < EDIT_SESSION_GAP_US)
        {
          if (g_str_equal (last->what, "Created"))
            {
              g_free (last->what);
              last->what = g_strdup ("Created and written");
            }
          g_free (last->last_at);
          last->last_at = g_strdup (at);
          last->count++;
          continue;
        }
      if (last != NULL && g_str_equal (what, "Synced with the server") && g_str_equal (last->what, what))
        {
          g_free (last->last_at);
          last->last_at = g_strdup (at);
          last->count++;
          continue;
        }
      {
        Version *v = g_new0 (Version, 1);
        v->what = g_strdup (what);
        v->actor = g_strdup (actor);
        v->first_at = g_strdup (at);
        v->last_at = g_strdup (at);
        v->count = 1;
        g_ptr_array_add (versions, v);
      }
    }
  sqlite3_finalize (st);

  /* Newest first. */
  for (guint i = versions->len; i > 0; i--)
    {
      Version *v = g_ptr_array_index (versions, i - 1);
      g_autofree char *who = person (store, names, v->actor);
      g_autofree char *first = format_instant (v->first_at);
      g_autofree char *last = format_instant (v->last_at);
      g_autofree char *subtitle = NULL;
      g_autofree char *name = g_strdup_printf ("history-version-%u", self->n_versions);
      GtkWidget *row = adw_action_row_new ();

      if (v->count > 1 && g_strcmp0 (first, last) != 0)
        subtitle = g_strdup_printf ("%s, %s to %s (%u saves)", who, first, last, v->count);
      else if (v->count > 1)
        subtitle = g_strdup_printf ("%s, %s (%u saves)", who, first, v->count);
      else
        subtitle = g_strdup_printf ("%s, %s", who, first);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), v->what);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_name (row, name);
      adw_preferences_group_add (self->versions_group, row);
      self->n_versions++;
    }
}

static void
linked_row_activated_cb (AdwActionRow *row, MtsNoteHistory *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  const char *id = g_object_get_data (G_OBJECT (row), "note-id");

  if (parent != NULL)
    gtk_widget_activate_action (GTK_WIDGET (parent), "win.open-note", "s", id);
  gtk_window_close (GTK_WINDOW (self));
}

static void
add_linked (MtsNoteHistory *self, MtsStore *store, const MtsNote *note, const char *relation)
{
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *name = g_strdup_printf ("history-linked-%u", self->n_linked);
  g_autofree char *when = NULL;
  GtkWidget *row = adw_action_row_new ();

  if (g_strcmp0 (note->status, "signed") == 0)
    {
      g_autoptr (MtsClinician) c = note->signed_by != NULL
                                   ? mts_store_clinician_get (store, note->signed_by, NULL) : NULL;
      when = format_instant (note->signed_at);
      subtitle = g_strdup_printf ("Signed by %s on %s", c != NULL ? c->display_name : "a clinician", when);
    }
  else
    {
      when = format_instant (note->updated_at);
      subtitle = g_strdup_printf ("Draft, last saved %s", when);
    }
  title = g_strdup (relation);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_widget_set_name (row, name);
  gtk_widget_set_tooltip_text (row, "Open this note");
  g_object_set_data_full (G_OBJECT (row), "note-id", g_strdup (note->id), g_free);
  g_signal_connect (row, "activated", G_CALLBACK (linked_row_activated_cb), self);
  adw_preferences_group_add (self->linked_group, row);
  self->n_linked++;
}

static void
load_linked (MtsNoteHistory *self, MtsStore *store, const MtsNote *note)
{
  g_autoptr (GPtrArray) notes = mts_store_note_list (store, note->client_id, NULL);

  if (note->amends_id != NULL)
    {
      g_autoptr (MtsNote) original = mts_store_note_get (store, note->amends_id, NULL);
      if (original != NULL)
        add_linked (self, store, original, "Amends this note");
    }
  for (guint i = 0; notes != NULL && i < notes->len; i++)
    {
      MtsNote *n = g_ptr_array_index (notes, i);
      if (g_strcmp0 (n->amends_id, note->id) == 0)
        add_linked (self, store, n, "Amended by this note");
    }
  gtk_widget_set_visible (GTK_WIDGET (self->linked_group), self->n_linked > 0);
}

guint
mts_note_history_get_n_versions (MtsNoteHistory *self)
{
  return self->n_versions;
}

guint
mts_note_history_get_n_linked (MtsNoteHistory *self)
{
  return self->n_linked;
}

static void
mts_note_history_class_init (MtsNoteHistoryClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-note-history.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsNoteHistory, window_title);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteHistory, linked_group);
  gtk_widget_class_bind_template_child (widget_class, MtsNoteHistory, versions_group);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
mts_note_history_init (MtsNoteHistory *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mts_note_history_new (GtkWindow *parent, const char *note_id)
{
  MtsNoteHistory *self = g_object_new (MTS_TYPE_NOTE_HISTORY, "transient-for", parent, "modal", TRUE, NULL);
  GApplication *app = g_application_get_default ();
  MtsStore *store = MTS_IS_APPLICATION (app) && mts_application_is_unlocked (MTS_APPLICATION (app))
                    ? mts_application_get_store (MTS_APPLICATION (app)) : NULL;
  g_autoptr (MtsNote) note = NULL;

  gtk_widget_set_name (GTK_WIDGET (self), "note-history");
  if (MTS_IS_APPLICATION (app))
    g_signal_connect_object (app, "locking", G_CALLBACK (gtk_window_destroy), self, G_CONNECT_SWAPPED);
  if (store != NULL)
    note = mts_store_note_get (store, note_id, NULL);
  if (note != NULL)
    {
      g_autoptr (MtsClient) client = mts_store_client_get (store, note->client_id, NULL);
      g_autofree char *created = format_instant (note->created_at);
      g_autofree char *subtitle = g_strdup_printf ("%s · %s note of %s",
                                                   client != NULL ? client->display_name : "",
                                                   note->template_kind, created);
      adw_window_title_set_subtitle (self->window_title, subtitle);
      load_linked (self, store, note);
    }
  if (store != NULL)
    load_versions (self, store, note_id);
  return GTK_WIDGET (self);
}
