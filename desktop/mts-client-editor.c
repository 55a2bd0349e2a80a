/* mts-client-editor.c — Add or edit a client (a dialog). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-editor.h"

#include <string.h>

#include "mts-application.h"
#include "mts-window.h"

struct _MtsClientEditor
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  GtkLabel *error_label;
  AdwEntryRow *name_row;
  AdwEntryRow *dob_row;
  AdwComboRow *status_row;
  AdwEntryRow *email_row;
  AdwEntryRow *phone_row;
  AdwEntryRow *address_row;
  AdwEntryRow *gp_row;
  AdwEntryRow *emergency_row;

  GtkWindow *parent;          /* weak */
  MtsClient *client;          /* as loaded (edit), or NULL (new) */
  char *client_id;
  gboolean dirty;
  gboolean loading;
};

G_DEFINE_FINAL_TYPE (MtsClientEditor, mts_client_editor, ADW_TYPE_WINDOW)

static const char *const statuses[] = { "active", "waiting", "closed" };

static MtsApplication *
editor_app (void)
{
  GApplication *app = g_application_get_default ();

  return MTS_IS_APPLICATION (app) ? MTS_APPLICATION (app) : NULL;
}

/* ---- validation ---- */

char *
mts_client_editor_parse_date (const char *text)
{
  g_autofree char *t = g_strstrip (g_strdup (text != NULL ? text : ""));
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  int y = 0, m = 0, d = 0;
  char sep1, sep2;
  char end;

  if (sscanf (t, "%4d-%2d-%2d%c", &y, &m, &d, &end) == 3 && strlen (t) == 10)
    ;
  else if (sscanf (t, "%2d%c%2d%c%4d%c", &d, &sep1, &m, &sep2, &y, &end) == 5
           && sep1 == sep2 && (sep1 == '/' || sep1 == '-' || sep1 == '.') && y >= 1000)
    ;
  else
    return NULL;
  if (y < 1900 || m < 1 || m > 12 || d < 1 || !g_date_valid_dmy (d, m, y))
    return NULL;
  if (y > g_date_time_get_year (now)
      || (y == g_date_time_get_year (now)
          && (m > g_date_time_get_month (now)
              || (m == g_date_time_get_month (now) && d > g_date_time_get_day_of_month (now)))))
    return NULL;
  return g_strdup_printf ("%04d-%02d-%02d", y, m, d);
}

static gboolean
valid_email (const char *text)
{
  const char *at = strchr (text, '@');
  const char *dot;

  if (at == NULL || at == text || strchr (at + 1, '@') != NULL)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (g_ascii_isspace (*p) || *p == ',' || *p == ';' || *p == '<' || *p == '>')
      return FALSE;
  dot = strrchr (at + 1, '.');
  return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static gboolean
valid_phone (const char *text)
{
  guint digits = 0;

  for (const char *p = text; *p; p++)
    {
      if (g_ascii_isdigit (*p))
        digits++;
      else if (strchr ("+ ()-.", *p) == NULL)
        return FALSE;
    }
  return digits >= 6;
}

static char *
row_text (AdwEntryRow *row)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
}

static void
clear_errors (MtsClientEditor *self)
{
  AdwEntryRow *rows[] = { self->name_row, self->dob_row, self->email_row, self->phone_row };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (rows[i]), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  gtk_label_set_text (self->error_label, "");
}

static void
show_error (MtsClientEditor *self, AdwEntryRow *row, const char *message)
{
  if (row != NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_widget_grab_focus (GTK_WIDGET (row));
    }
  gtk_label_set_text (self->error_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
}

/* ---- saving ---- */

static gboolean
save (MtsClientEditor *self, gboolean show)
{
  MtsApplication *app = editor_app ();
  MtsStore *store = app != NULL ? mts_application_get_store (app) : NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) fresh = NULL;
  g_autofree char *name = row_text (self->name_row);
  g_autofree char *dob_text = row_text (self->dob_row);
  g_autofree char *email = row_text (self->email_row);
  g_autofree char *phone = row_text (self->phone_row);
  g_autofree char *dob = NULL;
  MtsClient *c;
  guint status = adw_combo_row_get_selected (self->status_row);
  gboolean added;

  clear_errors (self);
  if (*name == '\0')
    {
      show_error (self, self->name_row, "Enter the client’s name: a client needs a name.");
      return FALSE;
    }
  if (*dob_text != '\0' && (dob = mts_client_editor_parse_date (dob_text)) == NULL)
    {
      show_error (self, self->dob_row,
                  "The date of birth is not a real date: write it as DD/MM/YYYY, for example 04/07/1986.");
      return FALSE;
    }
  if (*email != '\0' && !valid_email (email))
    {
      show_error (self, self->email_row,
                  "The e-mail address does not look right: it should be like name@example.org.");
      return FALSE;
    }
  if (*phone != '\0' && !valid_phone (phone))
    {
      show_error (self, self->phone_row,
                  "The phone number does not look right: use digits, spaces and a leading +.");
      return FALSE;
    }
  if (store == NULL || !mts_application_is_unlocked (app))
    {
      show_error (self, NULL, "The practice is locked: unlock it, then save again.");
      return FALSE;
    }

  c = self->client;
  if (c == NULL)
    c = fresh = mts_client_new ();
  g_free (c->display_name);
  c->display_name = g_steal_pointer (&name);
  g_free (c->date_of_birth);
  c->date_of_birth = g_steal_pointer (&dob);
  g_free (c->email);
  c->email = g_steal_pointer (&email);
  g_free (c->phone);
  c->phone = g_steal_pointer (&phone);
  g_free (c->address);
  c->address = row_text (self->address_row);
  g_free (c->gp_details);
  c->gp_details = row_text (self->gp_row);
  g_free (c->emergency_contact);
  c->emergency_contact = row_text (self->emergency_row);
  g_free (c->status);
  c->status = g_strdup (statuses[status < G_N_ELEMENTS (statuses) ? status : 0]);

  added = fresh != NULL;
  if (added)
    {
      const char *actor = mts_application_get_actor (app);
      /* A new client is the current clinician's. */
      if (actor != NULL)
        {
          g_autoptr (MtsClinician) clinician = mts_store_clinician_get (store, actor, NULL);
          if (clinician != NULL)
            c->clinician_id = g_strdup (actor);
        }
    }
  if (added ? !mts_store_client_add (store, c, &error) : !mts_store_client_update (store, c, &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND))
        message = g_strdup ("This client was deleted (perhaps on another device): nothing was saved.");
      else
        message = g_strdup_printf ("The client could not be saved: %s", error->message);
      show_error (self, NULL, message);
      return FALSE;
    }
  if (added)
    {
      self->client = g_steal_pointer (&fresh);
      self->client_id = g_strdup (self->client->id);
    }
  self->dirty = FALSE;
  mts_application_notify_changed (app);
  if (show && self->parent != NULL)
    {
      gtk_widget_activate_action (GTK_WIDGET (self->parent), "win.show-client", "s", self->client_id);
      if (MTS_IS_WINDOW (self->parent))
        mts_window_toast (MTS_WINDOW (self->parent), added ? "Client added" : "Changes saved");
    }
  return TRUE;
}

static void
save_clicked_cb (MtsClientEditor *self)
{
  if (save (self, TRUE))
    gtk_window_destroy (GTK_WINDOW (self));
}

static void
cancel_clicked_cb (MtsClientEditor *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
field_changed_cb (MtsClientEditor *self)
{
  if (!self->loading)
    self->dirty = TRUE;
}

static void
locking_cb (MtsClientEditor *self)
{
  /* Nothing typed is lost to the auto-lock when it can be saved. */
  if (self->dirty)
    save (self, FALSE);
}

static void
locked_cb (MtsClientEditor *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
}

/* ---- loading ---- */

static void
set_row (AdwEntryRow *row, const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (row), text != NULL ? text : "");
}

static void
load (MtsClientEditor *self)
{
  MtsApplication *app = editor_app ();
  MtsStore *store = app != NULL ? mts_application_get_store (app) : NULL;
  g_autoptr (GError) error = NULL;
  MtsClient *c;

  self->client = store != NULL ? mts_store_client_get (store, self->client_id, &error) : NULL;
  if (self->client == NULL)
    {
      show_error (self, NULL, "This client could not be read: it may have been deleted.");
      gtk_widget_set_sensitive (GTK_WIDGET (self->name_row), FALSE);
      return;
    }
  c = self->client;
  self->loading = TRUE;
  set_row (self->name_row, c->display_name);
  if (c->date_of_birth != NULL && strlen (c->date_of_birth) == 10)
    {
      g_autofree char *uk = g_strdup_printf ("%.2s/%.2s/%.4s", c->date_of_birth + 8,
                                             c->date_of_birth + 5, c->date_of_birth);
      set_row (self->dob_row, uk);
    }
  else
    set_row (self->dob_row, c->date_of_birth);
  set_row (self->email_row, c->email);
  set_row (self->phone_row, c->phone);
  set_row (self->address_row, c->address);
  set_row (self->gp_row, c->gp_details);
  set_row (self->emergency_row, c->emergency_contact);
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (g_strcmp0 (c->status, statuses[i]) == 0)
      adw_combo_row_set_selected (self->status_row, i);
  self->loading = FALSE;
  self->dirty = FALSE;
}

/* ---- GObject ---- */

const char *
mts_client_editor_get_client_id (MtsClientEditor *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_EDITOR (self), NULL);
  return self->client_id;
}

static void
mts_client_editor_dispose (GObject *object)
{
  MtsClientEditor *self = MTS_CLIENT_EDITOR (object);

  g_clear_weak_pointer (&self->parent);
  G_OBJECT_CLASS (mts_client_editor_parent_class)->dispose (object);
}

static void
mts_client_editor_finalize (GObject *object)
{
  MtsClientEditor *self = MTS_CLIENT_EDITOR (object);

  g_clear_pointer (&self->client, mts_client_free);
  g_free (self->client_id);
  G_OBJECT_CLASS (mts_client_editor_parent_class)->finalize (object);
}

static void
mts_client_editor_class_init (MtsClientEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_client_editor_dispose;
  object_class->finalize = mts_client_editor_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, dob_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, status_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, email_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, phone_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, address_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, gp_row);
  gtk_widget_class_bind_template_child (widget_class, MtsClientEditor, emergency_row);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, field_changed_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
mts_client_editor_init (MtsClientEditor *self)
{
  MtsApplication *app = editor_app ();

  gtk_widget_init_template (GTK_WIDGET (self));
  if (app != NULL)
    {
      g_signal_connect_object (app, "locking", G_CALLBACK (locking_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (app, "locked", G_CALLBACK (locked_cb), self, G_CONNECT_SWAPPED);
    }
}

GtkWidget *
mts_client_editor_new (GtkWindow *parent, const char *client_id)
{
  MtsClientEditor *self = g_object_new (MTS_TYPE_CLIENT_EDITOR, "transient-for", parent, "modal", TRUE, NULL);

  g_set_weak_pointer (&self->parent, parent);
  if (client_id != NULL && *client_id != '\0')
    {
      self->client_id = g_strdup (client_id);
      gtk_window_set_title (GTK_WINDOW (self), "Edit Client");
      adw_window_title_set_title (self->window_title, "Edit Client");
      load (self);
    }
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
  return GTK_WIDGET (self);
}
