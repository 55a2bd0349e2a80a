/* mts-window.c — the main window: first run, unlock, and the practice. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-window.h"

#include "mts-audit-view.h"
#include "mts-client-editor.h"
#include "mts-client-list.h"
#include "mts-client-page.h"
#include "mts-conflict-view.h"
#include "mts-export-dialog.h"
#include "mts-login-dialog.h"
#include "mts-note-editor.h"
#include "mts-setup-page.h"
#include "mts-sync-status.h"
#include "mts-unlock-page.h"

struct _MtsWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkStack *pages;
  AdwLeaflet *leaflet;
  GtkWidget *sidebar;
  GtkWidget *content_box;
  GtkStack *content;
  MtsClientList *client_list;
  MtsClientPage *client_page;
  MtsNoteEditor *note_editor;
  MtsConflictView *conflict_view;
  MtsAuditView *audit_view;
};

G_DEFINE_FINAL_TYPE (MtsWindow, mts_window, ADW_TYPE_APPLICATION_WINDOW)

static MtsApplication *
window_app (MtsWindow *self)
{
  return MTS_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

const char *
mts_window_get_page (MtsWindow *self)
{
  return gtk_stack_get_visible_child_name (self->pages);
}

const char *
mts_window_get_content (MtsWindow *self)
{
  return gtk_stack_get_visible_child_name (self->content);
}

void
mts_window_toast (MtsWindow *self, const char *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

gboolean
mts_widget_save_png (GtkWidget *widget, const char *path, GError **error)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;

  if (width <= 0 || height <= 0 || !gtk_widget_get_mapped (widget))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           "the widget is not on screen yet");
      return FALSE;
    }
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the widget drew nothing");
      return FALSE;
    }
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
      return FALSE;
    }
  return TRUE;
}

static void
show_content (MtsWindow *self, const char *name)
{
  gtk_stack_set_visible_child_name (self->content, name);
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

/* ---- actions ---- */

static void
show_client_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  mts_client_page_set_client_id (self->client_page, g_variant_get_string (param, NULL));
  show_content (self, "client");
}

static void
new_client_action (GtkWidget *widget, const char *action, GVariant *param)
{
  gtk_window_present (GTK_WINDOW (mts_client_editor_new (GTK_WINDOW (widget), NULL)));
}

static void
open_note_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  mts_note_editor_open (self->note_editor, g_variant_get_string (param, NULL));
  show_content (self, "note");
}

static void
new_note_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  mts_note_editor_new_note (self->note_editor, g_variant_get_string (param, NULL));
  show_content (self, "note");
}

static void
show_conflicts_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  mts_conflict_view_reload (self->conflict_view);
  show_content (self, "conflicts");
}

static void
show_audit_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);
  const char *client_id = param != NULL ? g_variant_get_string (param, NULL) : "";

  mts_audit_view_set_client_id (self->audit_view, *client_id != '\0' ? client_id : NULL);
  show_content (self, "audit");
}

static void
export_action (GtkWidget *widget, const char *action, GVariant *param)
{
  const char *client_id = g_variant_get_string (param, NULL);

  mts_export_dialog_show (GTK_WINDOW (widget), *client_id != '\0' ? client_id : NULL);
}

static void
sign_in_action (GtkWidget *widget, const char *action, GVariant *param)
{
  gtk_window_present (GTK_WINDOW (mts_login_dialog_new (GTK_WINDOW (widget))));
}

static void
search_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->sidebar);
  mts_client_list_focus_search (self->client_list);
}

static void
back_action (GtkWidget *widget, const char *action, GVariant *param)
{
  MtsWindow *self = MTS_WINDOW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->sidebar);
}

/* ---- the app's state ---- */

static void
update_page (MtsWindow *self)
{
  MtsApplication *app = window_app (self);
  const char *page;

  if (mts_application_is_unlocked (app))
    page = "main";
  else if (mts_application_has_store (app))
    page = "unlock";
  else
    page = "setup";
  gtk_stack_set_visible_child_name (self->pages, page);

  for (const char *const *a = (const char *const[]) { "win.new-client", "win.open-note", "win.new-note",
                                                      "win.show-client", "win.show-conflicts",
                                                      "win.show-audit", "win.show-audit-all",
                                                      "win.export", "win.search", "win.sign-in", NULL };
       *a != NULL; a++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), *a, g_str_equal (page, "main"));
}

static void
locked_cb (MtsApplication *app, MtsWindow *self)
{
  /* Nothing of the practice stays on screen behind the unlock page but the
   * note being written (the editor keeps its text, saved). */
  update_page (self);
}

static void
activity_cb (MtsWindow *self)
{
  MtsApplication *app = window_app (self);

  if (app != NULL)
    mts_application_user_active (app);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, MtsWindow *self)
{
  activity_cb (self);
  return GDK_EVENT_PROPAGATE;
}

static void
click_pressed_cb (GtkGestureClick *gesture, int n_press, double x, double y, MtsWindow *self)
{
  activity_cb (self);
}

static void
motion_cb (GtkEventControllerMotion *controller, double x, double y, MtsWindow *self)
{
  activity_cb (self);
}

static void
mts_window_class_init (MtsWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  g_type_ensure (MTS_TYPE_SETUP_PAGE);
  g_type_ensure (MTS_TYPE_UNLOCK_PAGE);
  g_type_ensure (MTS_TYPE_CLIENT_LIST);
  g_type_ensure (MTS_TYPE_CLIENT_PAGE);
  g_type_ensure (MTS_TYPE_NOTE_EDITOR);
  g_type_ensure (MTS_TYPE_SYNC_STATUS);
  g_type_ensure (MTS_TYPE_CONFLICT_VIEW);
  g_type_ensure (MTS_TYPE_AUDIT_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/uk/co/mytherapysuite/Desktop/mts-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, pages);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, content);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, client_list);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, client_page);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, note_editor);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, conflict_view);
  gtk_widget_class_bind_template_child (widget_class, MtsWindow, audit_view);

  gtk_widget_class_install_action (widget_class, "win.show-client", "s", show_client_action);
  gtk_widget_class_install_action (widget_class, "win.new-client", NULL, new_client_action);
  gtk_widget_class_install_action (widget_class, "win.open-note", "s", open_note_action);
  gtk_widget_class_install_action (widget_class, "win.new-note", "s", new_note_action);
  gtk_widget_class_install_action (widget_class, "win.show-conflicts", NULL, show_conflicts_action);
  gtk_widget_class_install_action (widget_class, "win.show-audit", "s", show_audit_action);
  gtk_widget_class_install_action (widget_class, "win.show-audit-all", NULL, show_audit_action);
  gtk_widget_class_install_action (widget_class, "win.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.sign-in", NULL, sign_in_action);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_action);
}

static void
mts_window_init (MtsWindow *self)
{
  GtkEventController *key = gtk_event_controller_key_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *motion = gtk_event_controller_motion_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Any key press, click or pointer movement restarts the auto-lock
   * countdown (capture phase: seen before any child handles it). */
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (click_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}

MtsWindow *
mts_window_new (MtsApplication *app)
{
  MtsWindow *self = g_object_new (MTS_TYPE_WINDOW, "application", app, NULL);

  /* ("application" is set after construction: connect here.) */
  g_signal_connect_object (app, "unlocked", G_CALLBACK (update_page), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (app, "locked", G_CALLBACK (locked_cb), self, 0);
  update_page (self);
  return self;
}
