/* mts-sync-status.c — The always-visible sync status in the header bar.
 *
 * Bound to the app's MtsSyncManager, which exists only while the store is
 * unlocked: the status follows the app's "unlocked" and "locked" signals
 * and re-reads the manager on each of its notifications.  What it shows:
 *   idle      "Synced 2 minutes ago" (refreshed every 30 s), or "Not synced yet"
 *   syncing   "Syncing… 1,200 of 5,000" over a progress bar
 *   offline   "Offline — 3 changes waiting", with Retry: local work goes on
 *   error     "Sync error: <short reason>", with Retry; "Sign in again"
 *             (win.sign-in) when the sign-in ended or there is none
 * beside a "2 conflicts" button (win.show-conflicts) and Sync Now
 * (app.sync-now).  The popover holds the details: the full reason, the
 * time of the last sync, the changes waiting, the conflicts, the server. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-sync-status.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-application.h"
#include "mts-sync-client.h"

#define REFRESH_SECONDS 30

struct _MtsSyncStatus
{
  AdwBin parent_instance;

  GtkMenuButton *details_button;
  GtkImage *icon;
  GtkLabel *label;
  GtkProgressBar *progress;
  GtkLabel *detail_message;
  GtkLabel *detail_last;
  GtkLabel *detail_pending;
  GtkLabel *detail_conflicts;
  GtkLabel *detail_server;
  GtkButton *retry_button;
  GtkButton *sign_in_button;
  GtkButton *conflicts_button;
  GtkLabel *conflicts_label;
  GtkButton *sync_now_button;

  MtsApplication *app;       /* weak: the app outlives its windows */
  MtsSyncManager *manager;   /* the app's, while unlocked */
  guint refresh_source;
};

G_DEFINE_FINAL_TYPE (MtsSyncStatus, mts_sync_status, ADW_TYPE_BIN)

/* "5,000": the separator is spelled out rather than taken from the locale,
 * so the header reads the same everywhere the app is used (the UK). */
char *
mts_sync_status_format_count (gint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, n < 0 ? -n : n);
  GString *out = g_string_new (n < 0 ? "-" : "");
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

char *
mts_sync_status_format_synced (GDateTime *at, GDateTime *now)
{
  g_autoptr (GDateTime) local_at = NULL;
  g_autoptr (GDateTime) local_now = NULL;
  g_autofree char *clock = NULL;
  GTimeSpan span;
  gint64 minutes, hours;
  int day_diff;

  if (at == NULL)
    return g_strdup ("Not synced yet");
  span = g_date_time_difference (now, at);
  if (span < 0)
    span = 0;
  minutes = span / G_TIME_SPAN_MINUTE;
  hours = span / G_TIME_SPAN_HOUR;
  if (minutes < 1)
    return g_strdup ("Synced just now");
  if (minutes < 60)
    return g_strdup_printf (minutes == 1 ? "Synced %" G_GINT64_FORMAT " minute ago"
                                         : "Synced %" G_GINT64_FORMAT " minutes ago", minutes);
  if (hours < 6)
    return g_strdup_printf (hours == 1 ? "Synced %" G_GINT64_FORMAT " hour ago"
                                       : "Synced %" G_GINT64_FORMAT " hours ago", hours);
  local_at = g_date_time_to_local (at);
  local_now = g_date_time_to_local (now);
  clock = g_date_time_format (local_at, "%H:%M");
  day_diff = g_date_time_get_day_of_year (local_now) - g_date_time_get_day_of_year (local_at);
  if (g_date_time_get_year (local_now) == g_date_time_get_year (local_at) && day_diff == 0)
    return g_strdup_printf ("Synced today at %s", clock);
  if (g_date_time_get_year (local_now) == g_date_time_get_year (local_at) && day_diff == 1)
    return g_strdup_printf ("Synced yesterday at %s", clock);
  {
    g_autofree char *day = g_date_time_format (local_at, "%-d %b");
    return g_strdup_printf ("Synced on %s at %s", day, clock);
  }
}

/* A few words for the header; the full reason is in the popover. */
static const char *
short_reason (int code)
{
  switch (code)
    {
    case MTS_SYNC_ERROR_TLS:
      return "certificate not trusted";
    case MTS_SYNC_ERROR_SERVER:
      return "the server had a problem";
    case MTS_SYNC_ERROR_AUTH:
      return "sign-in ended";
    case MTS_SYNC_ERROR_NOT_LOGGED_IN:
      return "not signed in";
    case MTS_SYNC_ERROR_REVOKED:
      return "this device was revoked";
    case MTS_SYNC_ERROR_REFUSED:
      return "refused by the server";
    case MTS_SYNC_ERROR_PROTOCOL:
      return "unexpected answer from the server";
    case MTS_SYNC_ERROR_INVALID:
      return "sync settings not valid";
    default:
      return "see details";
    }
}

static char *
server_url (MtsSyncStatus *self)
{
  MtsStore *store = self->app != NULL ? mts_application_get_store (self->app) : NULL;
  sqlite3_stmt *st = NULL;
  char *url = NULL;

  if (store == NULL || !mts_store_is_unlocked (store))
    return NULL;
  if (sqlite3_prepare_v2 (mts_store_get_db (store),
                          "SELECT value FROM sync_state WHERE key = 'server_url'", -1, &st,
                          NULL) != SQLITE_OK)
    return NULL;
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) == SQLITE_TEXT)
    url = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return url;
}

static void
update (MtsSyncStatus *self)
{
  MtsSyncManager *mgr = self->manager;
  g_autofree char *text = NULL;
  g_autofree char *pending_text = NULL;
  g_autofree char *last_text = NULL;
  g_autofree char *url = NULL;
  const char *icon = "emblem-ok-symbolic";
  const char *message = NULL;
  gboolean retry = FALSE, sign_in = FALSE, show_progress = FALSE;
  gint64 pending, conflicts;
  int code;

  gtk_widget_set_visible (GTK_WIDGET (self), mgr != NULL);
  if (mgr == NULL)
    return;

  pending = mts_sync_manager_get_pending (mgr);
  conflicts = mts_sync_manager_get_conflicts (mgr);
  code = mts_sync_manager_get_error_code (mgr);
  message = mts_sync_manager_get_error_message (mgr);

  switch (mts_sync_manager_get_state (mgr))
    {
    case MTS_SYNC_STATE_SYNCING:
      {
        gint64 done = mts_sync_manager_get_progress_done (mgr);
        gint64 total = mts_sync_manager_get_progress_total (mgr);

        icon = "emblem-synchronizing-symbolic";
        show_progress = TRUE;
        if (total > 0)
          {
            g_autofree char *d = mts_sync_status_format_count (done);
            g_autofree char *t = mts_sync_status_format_count (total);
            text = g_strdup_printf ("Syncing… %s of %s", d, t);
            gtk_progress_bar_set_fraction (self->progress, CLAMP ((double) done / total, 0, 1));
          }
        else
          {
            text = g_strdup ("Syncing…");
            gtk_progress_bar_pulse (self->progress);
          }
        message = NULL;
      }
      break;
    case MTS_SYNC_STATE_OFFLINE:
      icon = "network-offline-symbolic";
      retry = TRUE;
      if (pending > 0)
        {
          g_autofree char *n = mts_sync_status_format_count (pending);
          text = g_strdup_printf (pending == 1 ? "Offline — %s change waiting"
                                               : "Offline — %s changes waiting", n);
        }
      else
        text = g_strdup ("Offline");
      break;
    case MTS_SYNC_STATE_ERROR:
      icon = "dialog-error-symbolic";
      if (code == MTS_SYNC_ERROR_AUTH || code == MTS_SYNC_ERROR_NOT_LOGGED_IN)
        {
          sign_in = TRUE;
          text = g_strdup ("Sign in again to sync");
        }
      else
        {
          retry = TRUE;
          text = g_strdup_printf ("Sync error: %s", short_reason (code));
        }
      break;
    case MTS_SYNC_STATE_IDLE:
    default:
      {
        g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
        GDateTime *last = mts_sync_manager_get_last_synced (mgr);

        text = mts_sync_status_format_synced (last, now);
        if (last == NULL)
          icon = "emblem-synchronizing-symbolic";
        message = NULL;
      }
      break;
    }

  gtk_label_set_text (self->label, text);
  gtk_image_set_from_icon_name (self->icon, icon);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), show_progress);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), retry);
  gtk_widget_set_visible (GTK_WIDGET (self->sign_in_button), sign_in);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sync_now_button), !show_progress);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->details_button),
                               message != NULL ? message : "Sync details");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->details_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, text,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  message != NULL ? message : "Sync details", -1);

  gtk_widget_set_visible (GTK_WIDGET (self->conflicts_button), conflicts > 0);
  if (conflicts > 0)
    {
      g_autofree char *n = mts_sync_status_format_count (conflicts);
      g_autofree char *c = g_strdup_printf (conflicts == 1 ? "%s conflict" : "%s conflicts", n);
      gtk_label_set_text (self->conflicts_label, c);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->conflicts_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, c, -1);
    }

  /* The popover's details. */
  gtk_label_set_text (self->detail_message, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->detail_message), message != NULL);
  if (mts_sync_manager_get_last_synced (mgr) != NULL)
    {
      g_autoptr (GDateTime) local = g_date_time_to_local (mts_sync_manager_get_last_synced (mgr));
      last_text = g_date_time_format (local, "%-d %b %Y, %H:%M");
    }
  gtk_label_set_text (self->detail_last, last_text != NULL ? last_text : "Never");
  pending_text = mts_sync_status_format_count (pending);
  gtk_label_set_text (self->detail_pending, pending_text);
  {
    g_autofree char *n = mts_sync_status_format_count (conflicts);
    gtk_label_set_text (self->detail_conflicts, n);
  }
  url = server_url (self);
  gtk_label_set_text (self->detail_server, url != NULL ? url : "Not set up");
}

static void
manager_notify_cb (MtsSyncStatus *self)
{
  update (self);
}

static gboolean
refresh_cb (gpointer user_data)
{
  update (MTS_SYNC_STATUS (user_data));
  return G_SOURCE_CONTINUE;
}

static void
bind_manager (MtsSyncStatus *self)
{
  MtsSyncManager *mgr = self->app != NULL ? mts_application_get_sync_manager (self->app) : NULL;

  if (self->manager != mgr)
    {
      if (self->manager != NULL)
        g_signal_handlers_disconnect_by_data (self->manager, self);
      g_set_object (&self->manager, mgr);
      if (mgr != NULL)
        g_signal_connect_swapped (mgr, "notify", G_CALLBACK (manager_notify_cb), self);
    }
  update (self);
}

static void
app_unlocked_cb (MtsSyncStatus *self)
{
  bind_manager (self);
}

static void
app_locked_cb (MtsSyncStatus *self)
{
  /* The app has dropped its manager: let go of ours. */
  bind_manager (self);
}

/* The app's store is written on the main thread; "changed" follows a
 * local write, and the app refreshes the counts before emitting it. */
static void
app_changed_cb (MtsSyncStatus *self)
{
  update (self);
}

static void
mts_sync_status_dispose (GObject *object)
{
  MtsSyncStatus *self = MTS_SYNC_STATUS (object);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager);
  if (self->app != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->app, self);
      g_object_remove_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      self->app = NULL;
    }
  G_OBJECT_CLASS (mts_sync_status_parent_class)->dispose (object);
}

static void
mts_sync_status_class_init (MtsSyncStatusClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mts_sync_status_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-sync-status.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, details_button);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, icon);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, label);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, progress);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, detail_message);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, detail_last);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, detail_pending);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, detail_conflicts);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, detail_server);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, retry_button);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, sign_in_button);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, conflicts_button);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, conflicts_label);
  gtk_widget_class_bind_template_child (widget_class, MtsSyncStatus, sync_now_button);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
mts_sync_status_init (MtsSyncStatus *self)
{
  GApplication *app = g_application_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Sync status", -1);

  if (MTS_IS_APPLICATION (app))
    {
      self->app = MTS_APPLICATION (app);
      g_object_add_weak_pointer (G_OBJECT (self->app), (gpointer *) &self->app);
      g_signal_connect_swapped (self->app, "unlocked", G_CALLBACK (app_unlocked_cb), self);
      g_signal_connect_swapped (self->app, "locked", G_CALLBACK (app_locked_cb), self);
      g_signal_connect_swapped (self->app, "changed", G_CALLBACK (app_changed_cb), self);
    }
  self->refresh_source = g_timeout_add_seconds (REFRESH_SECONDS, refresh_cb, self);
  bind_manager (self);
}

GtkWidget *
mts_sync_status_new (void)
{
  return g_object_new (MTS_TYPE_SYNC_STATUS, NULL);
}
