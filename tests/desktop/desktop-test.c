/* desktop-test.c — driving the real app's windows in GUI tests. */
#include "desktop-test.h"

#include <glib/gstdio.h>

static char *tmp_dir;

void
mts_test_gui_init (int *argc, char ***argv)
{
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GTK_A11Y", "none", FALSE);
  g_test_init (argc, argv, NULL);
}

static const char *
test_tmp_dir (void)
{
  if (tmp_dir == NULL)
    {
      g_autoptr (GError) error = NULL;
      tmp_dir = g_dir_make_tmp ("mts-desktop-test-XXXXXX", &error);
      g_assert_no_error (error);
    }
  return tmp_dir;
}

char *
mts_test_store_dir (const char *name)
{
  return g_build_filename (test_tmp_dir (), name, NULL);
}

MtsApplication *
mts_test_app_start (const char *store_dir)
{
  g_autoptr (GError) error = NULL;
  static guint serial;
  MtsApplication *app = mts_application_new (G_APPLICATION_NON_UNIQUE);
  g_autofree char *id = g_strdup_printf ("%s.Test%u", MTS_APP_ID, ++serial);

  /* One app after another in one process: each its own id, as an earlier
   * one may still be exported on the session bus. */
  g_application_set_application_id (G_APPLICATION (app), id);
  mts_application_set_store_dir (app, store_dir);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_set_default (G_APPLICATION (app));
  g_application_hold (G_APPLICATION (app));
  g_application_activate (G_APPLICATION (app));
  MTS_TEST_WAIT_UNTIL (mts_test_app_window (app) != NULL
                       && gtk_widget_get_mapped (GTK_WIDGET (mts_test_app_window (app))), 5000);
  return app;
}

MtsWindow *
mts_test_app_window (MtsApplication *app)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
    if (MTS_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

void
mts_test_app_stop (MtsApplication *app)
{
  GList *windows;

  mts_application_lock (app);
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  mts_test_spin (50);
  g_application_release (G_APPLICATION (app));
  g_application_set_default (NULL);
  g_object_unref (app);
}

GtkWidget *
mts_test_find_in (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = mts_test_find_in (child, name);
      if (found != NULL)
        return found;
    }
  /* Pages of a GtkStack that are not shown are still children; popovers
   * of menu buttons are children too.  Nothing more to walk. */
  return NULL;
}

GtkWidget *
mts_test_find (const char *name)
{
  g_autoptr (GListModel) toplevels = g_object_ref (gtk_window_get_toplevels ());
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, i);
      GtkWidget *found = mts_test_find_in (window, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
mts_test_get (const char *name)
{
  GtkWidget *widget = mts_test_find (name);

  if (widget == NULL)
    g_test_message ("no widget named %s", name);
  g_assert_nonnull (widget);
  return widget;
}

void
mts_test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

void
mts_test_set_text (const char *name, const char *text)
{
  GtkWidget *widget = mts_test_get (name);

  if (GTK_IS_TEXT_VIEW (widget))
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (widget)), text, -1);
  else if (GTK_IS_EDITABLE (widget))
    gtk_editable_set_text (GTK_EDITABLE (widget), text);
  else
    g_error ("%s is a %s, not text", name, G_OBJECT_TYPE_NAME (widget));
}

char *
mts_test_get_text (const char *name)
{
  GtkWidget *widget = mts_test_get (name);

  if (GTK_IS_TEXT_VIEW (widget))
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (widget));
      GtkTextIter start, end;
      gtk_text_buffer_get_bounds (buffer, &start, &end);
      return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    }
  if (GTK_IS_EDITABLE (widget))
    return g_strdup (gtk_editable_get_text (GTK_EDITABLE (widget)));
  if (GTK_IS_LABEL (widget))
    return g_strdup (gtk_label_get_text (GTK_LABEL (widget)));
  if (ADW_IS_PREFERENCES_ROW (widget))
    return g_strdup (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)));
  if (ADW_IS_WINDOW_TITLE (widget))
    return g_strdup (adw_window_title_get_title (ADW_WINDOW_TITLE (widget)));
  if (ADW_IS_STATUS_PAGE (widget))
    return g_strdup (adw_status_page_get_title (ADW_STATUS_PAGE (widget)));
  g_error ("%s is a %s: no text to read", name, G_OBJECT_TYPE_NAME (widget));
  return NULL;
}

void
mts_test_click (const char *name)
{
  GtkWidget *widget = mts_test_get (name);

  if (!gtk_widget_is_sensitive (widget))
    g_test_message ("%s is not sensitive", name);
  g_assert_true (gtk_widget_is_sensitive (widget));
  if (GTK_IS_BUTTON (widget))
    g_signal_emit_by_name (widget, "clicked");
  else if (GTK_IS_SWITCH (widget))
    gtk_switch_set_active (GTK_SWITCH (widget), !gtk_switch_get_active (GTK_SWITCH (widget)));
  else
    g_assert_true (gtk_widget_activate (widget));
}

void
mts_test_action (MtsApplication *app, const char *action, GVariant *param)
{
  GtkWidget *window = GTK_WIDGET (mts_test_app_window (app));

  g_assert_nonnull (window);
  if (!gtk_widget_activate_action_variant (window, action, param))
    {
      g_test_message ("action %s could not be activated", action);
      g_assert_not_reached ();
    }
}

gboolean
mts_test_png_is_blank (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  g_autoptr (GHashTable) colours = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree guint32 *pixels = NULL;
  int width, height;
  guint32 common = 0;
  guint common_count = 0;
  gsize differing = 0;

  if (texture == NULL)
    return TRUE;
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) width * 4);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (colours, GUINT_TO_POINTER (pixels[i]))) + 1;
      g_hash_table_insert (colours, GUINT_TO_POINTER (pixels[i]), GUINT_TO_POINTER (count));
      if (count > common_count)
        {
          common_count = count;
          common = pixels[i];
        }
    }
  for (gsize i = 0; i < (gsize) width * height; i++)
    differing += pixels[i] != common;
  return g_hash_table_size (colours) < 8 || differing * 100 < (gsize) width * height;
}

void
mts_test_screenshot (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("MTS_SCREENSHOT_DIR");
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;

  if (dir == NULL || *dir == '\0')
    dir = "screenshots";
  g_mkdir_with_parents (dir, 0755);
  path = g_strdup_printf ("%s/%s.png", dir, name);

  mts_test_spin (100);
  g_assert_true (mts_widget_save_png (widget, path, &error));
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", path);
  if (mts_test_png_is_blank (path))
    g_test_message ("%s is blank", path);
  g_assert_false (mts_test_png_is_blank (path));
}
