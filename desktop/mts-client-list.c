/* mts-client-list.c — The sidebar: every client, with type-ahead search. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-list.h"

#include <sqlite3.h>
#include <string.h>

#include "mts-application.h"
#include "mts-client-item.h"
#include "mts-window.h"

/* ---- the clients shown: a list model over an array ---- */

/* The search's matches as one array, replaced whole: a keystroke is one
 * items-changed for the view, however many clients it hides or shows
 * (a GtkFilterListModel emits one per run of changed rows, thousands when
 * 10,000 clients are narrowed to a few hundred). */
#define MTS_TYPE_CLIENT_MATCHES (mts_client_matches_get_type ())
G_DECLARE_FINAL_TYPE (MtsClientMatches, mts_client_matches, MTS, CLIENT_MATCHES, GObject)

struct _MtsClientMatches
{
  GObject parent_instance;
  GPtrArray *items;   /* MtsClientItem (refs) */
};

static GType
mts_client_matches_get_item_type (GListModel *model)
{
  return MTS_TYPE_CLIENT_ITEM;
}

static guint
mts_client_matches_get_n_items (GListModel *model)
{
  return MTS_CLIENT_MATCHES (model)->items->len;
}

static gpointer
mts_client_matches_get_item (GListModel *model, guint position)
{
  MtsClientMatches *self = MTS_CLIENT_MATCHES (model);

  return position < self->items->len ? g_object_ref (self->items->pdata[position]) : NULL;
}

static void
mts_client_matches_model_init (GListModelInterface *iface)
{
  iface->get_item_type = mts_client_matches_get_item_type;
  iface->get_n_items = mts_client_matches_get_n_items;
  iface->get_item = mts_client_matches_get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (MtsClientMatches, mts_client_matches, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, mts_client_matches_model_init))

static void
mts_client_matches_finalize (GObject *object)
{
  g_ptr_array_unref (MTS_CLIENT_MATCHES (object)->items);
  G_OBJECT_CLASS (mts_client_matches_parent_class)->finalize (object);
}

static void
mts_client_matches_class_init (MtsClientMatchesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mts_client_matches_finalize;
}

static void
mts_client_matches_init (MtsClientMatches *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

/* Shows @items (a reference is taken) instead. */
static void
mts_client_matches_set (MtsClientMatches *self, GPtrArray *items)
{
  guint removed = self->items->len;

  g_ptr_array_unref (self->items);
  self->items = g_ptr_array_ref (items);
  if (removed > 0 || items->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, items->len);
}

struct _MtsClientList
{
  AdwBin parent_instance;

  GtkSearchEntry *search_entry;
  GtkStack *stack;
  GtkGridView *list_view;   /* one column: a list that keeps ~30 rows alive, not 200 */
  AdwStatusPage *no_match_page;

  GPtrArray *all;                /* MtsClientItem, sorted by name */
  MtsClientMatches *shown;       /* what the search matches */
  GtkSingleSelection *selection;

  char *needle;                  /* the search text, case-folded and trimmed */
  GHashTable *exact_ids;         /* ids the store matched by e-mail or phone */
  char *shown_id;                /* the client last activated from here */
  char *fingerprint;             /* of the clients and sessions at the last reload */
  guint reload_idle;
  guint details_idle;
  gboolean unlocked;
};

G_DEFINE_FINAL_TYPE (MtsClientList, mts_client_list, ADW_TYPE_BIN)

static MtsApplication *
list_app (void)
{
  GApplication *app = g_application_get_default ();

  return MTS_IS_APPLICATION (app) ? MTS_APPLICATION (app) : NULL;
}

static MtsStore *
unlocked_store (void)
{
  MtsApplication *app = list_app ();

  return app != NULL && mts_application_is_unlocked (app) ? mts_application_get_store (app) : NULL;
}

/* ---- filtering ---- */

static gboolean
matches (MtsClientList *self, MtsClientItem *item)
{
  if (self->needle == NULL)
    return TRUE;
  return strstr (mts_client_item_get_folded (item), self->needle) != NULL
         || (self->exact_ids != NULL && g_hash_table_contains (self->exact_ids, mts_client_item_get_id (item)));
}

/* Text that could be an e-mail address or a phone number: the store's
 * blind indexes may know it exactly. */
static gboolean
may_be_contact (const char *text)
{
  if (strchr (text, '@') != NULL)
    return TRUE;
  for (const char *p = text; *p; p++)
    if (g_ascii_isdigit (*p))
      return TRUE;
  return FALSE;
}

/* The ids of the clients whose e-mail or phone is exactly @text. */
static GHashTable *
exact_matches (const char *text)
{
  MtsStore *store = unlocked_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = NULL;
  GHashTable *ids;

  if (store == NULL || !may_be_contact (text))
    return NULL;
  found = mts_store_client_search (store, text, &error);
  if (found == NULL)
    {
      g_message ("client search failed: %s", error->message);
      return NULL;
    }
  ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < found->len; i++)
    g_hash_table_add (ids, g_strdup (((MtsClient *) found->pdata[i])->id));
  return ids;
}

/* Shows @items (a reference is taken) instead: one items-changed, and the
 * view (a one-column grid: it keeps about 30 rows alive where a GtkListView
 * keeps 200, each bound and measured again on every change) keeps what it
 * can of its rows. */
static void
show_items (MtsClientList *self, GPtrArray *items)
{
  mts_client_matches_set (self->shown, items);
}

static void
update_state (MtsClientList *self)
{
  const char *page;

  if (!self->unlocked)
    page = "locked";
  else if (self->all->len == 0)
    page = "empty";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->shown)) == 0)
    {
      g_autofree char *description =
        g_strdup_printf ("No client matches “%s”.", gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
      adw_status_page_set_description (self->no_match_page, description);
      page = "no-match";
    }
  else
    page = "list";
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), page) != 0)
    gtk_stack_set_visible_child_name (self->stack, page);
}

/* Applies the search text.  When the text only grew (and no e-mail or
 * phone matched either time), only the clients shown now are checked. */
static void
apply_search (MtsClientList *self, gboolean force)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *folded = g_utf8_casefold (text, -1);
  char *needle = g_strstrip (folded);
  g_autoptr (GHashTable) exact = NULL;
  g_autoptr (GPtrArray) found = NULL;
  gboolean had_exact = self->exact_ids != NULL && g_hash_table_size (self->exact_ids) > 0;
  gboolean has_exact;
  GPtrArray *from = self->all;

  exact = *needle != '\0' ? exact_matches (needle) : NULL;
  has_exact = exact != NULL && g_hash_table_size (exact) > 0;
  if (*needle == '\0')
    needle = NULL;
  if (!force && g_strcmp0 (needle, self->needle) == 0 && !had_exact && !has_exact)
    {
      update_state (self);
      return;
    }
  if (!force && !had_exact && !has_exact && self->needle != NULL && needle != NULL
      && strstr (needle, self->needle) != NULL)
    from = self->shown->items;
  g_free (self->needle);
  self->needle = g_strdup (needle);
  g_clear_pointer (&self->exact_ids, g_hash_table_unref);
  self->exact_ids = g_steal_pointer (&exact);

  if (self->needle == NULL)
    show_items (self, self->all);
  else
    {
      found = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < from->len; i++)
        if (matches (self, from->pdata[i]))
          g_ptr_array_add (found, g_object_ref (from->pdata[i]));
      show_items (self, found);
    }
  update_state (self);
}

static void
search_changed_cb (MtsClientList *self)
{
  apply_search (self, FALSE);
}

static void
show_client (MtsClientList *self, MtsClientItem *item)
{
  const char *id = mts_client_item_get_id (item);

  g_free (self->shown_id);
  self->shown_id = g_strdup (id);
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-client", "s", id);
}

static void
search_activate_cb (MtsClientList *self)
{
  g_autoptr (MtsClientItem) first = g_list_model_get_item (G_LIST_MODEL (self->shown), 0);

  /* Enter opens the first match. */
  if (first != NULL)
    {
      gtk_single_selection_set_selected (self->selection, 0);
      show_client (self, first);
    }
}

static void
stop_search_cb (MtsClientList *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
}

/* ---- selection ---- */

static void
selected_item_cb (MtsClientList *self)
{
  MtsClientItem *item = gtk_single_selection_get_selected_item (self->selection);

  /* A model change that keeps the selection (a reload, the filter) shows
   * nothing new. */
  if (item == NULL || g_strcmp0 (mts_client_item_get_id (item), self->shown_id) == 0)
    return;
  show_client (self, item);
}

static void
list_activate_cb (MtsClientList *self, guint position)
{
  g_autoptr (MtsClientItem) item = g_list_model_get_item (G_LIST_MODEL (self->shown), position);

  if (item != NULL)
    show_client (self, item);
}

static void
select_shown (MtsClientList *self)
{
  GPtrArray *items = self->shown->items;

  if (self->shown_id == NULL)
    return;
  for (guint i = 0; i < items->len; i++)
    {
      if (g_strcmp0 (mts_client_item_get_id (items->pdata[i]), self->shown_id) == 0)
        {
          gtk_single_selection_set_selected (self->selection, i);
          return;
        }
    }
}

/* ---- rows ---- */

static void
setup_row_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *detail = gtk_label_new (NULL);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_list_item_set_child (list_item, box);
}

static void
describe_row (MtsClientItem *item, GParamSpec *pspec, GtkLabel *detail)
{
  g_autofree char *description = mts_client_item_describe (item);

  gtk_label_set_text (detail, description);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer user_data)
{
  MtsClientItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *detail = gtk_widget_get_next_sibling (name);
  gulong handler;

  gtk_label_set_text (GTK_LABEL (name), mts_client_item_get_name (item));
  describe_row (item, NULL, GTK_LABEL (detail));
  /* The last contact is read after the list is first drawn. */
  handler = g_signal_connect (item, "notify::last-contact", G_CALLBACK (describe_row), detail);
  g_object_set_data (G_OBJECT (list_item), "mts-handler", GSIZE_TO_POINTER (handler));
}

static void
unbind_row_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer user_data)
{
  MtsClientItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *name = gtk_widget_get_first_child (box);
  gulong handler = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (list_item), "mts-handler"));

  if (handler != 0 && item != NULL)
    g_signal_handler_disconnect (item, handler);
  g_object_set_data (G_OBJECT (list_item), "mts-handler", NULL);
  /* Recycled rows keep no name. */
  gtk_label_set_text (GTK_LABEL (name), "");
  gtk_label_set_text (GTK_LABEL (gtk_widget_get_next_sibling (name)), "");
}

/* ---- loading ---- */

/* Reads, in one pass over the clients and one over the sessions, each
 * client's last contact (its own last_contact_at, or its latest session
 * that has begun and was not cancelled, whichever is later) into the
 * items of @by_id (nullable), and returns something that changes whenever
 * a client or a session is added, edited, deleted or synced: the list is
 * rebuilt only then, not on every note saved.  (Versions are the
 * server's, so synced changes move their sum; local edits move updated_at;
 * deletes move the count of tombstones.)  (transfer full) (nullable) */
static char *
scan_clients (MtsStore *store, GHashTable *by_id)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *now_iso = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.000Z");
  g_autoptr (GString) print = g_string_new (NULL);
  static const char *const queries[] = {
    "SELECT id, last_contact_at, version, deleted, updated_at, 'attended' FROM clients",
    "SELECT client_id, starts_at, version, deleted, updated_at, status FROM sessions",
  };

  for (gsize q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      sqlite3_stmt *st = NULL;
      gint64 count = 0, deleted = 0, versions = 0;
      g_autofree char *latest = NULL;
      int rc;

      if (sqlite3_prepare_v2 (mts_store_get_db (store), queries[q], -1, &st, NULL) != SQLITE_OK)
        {
          g_message ("cannot read the clients' last contact: %s", sqlite3_errmsg (mts_store_get_db (store)));
          return NULL;
        }
      while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        {
          const char *at = (const char *) sqlite3_column_text (st, 1);
          const char *updated = (const char *) sqlite3_column_text (st, 4);
          const char *status = (const char *) sqlite3_column_text (st, 5);
          gboolean is_deleted = sqlite3_column_int (st, 3) != 0;

          count++;
          deleted += is_deleted;
          versions += sqlite3_column_int64 (st, 2);
          if (updated != NULL && g_strcmp0 (updated, latest) > 0)
            {
              g_free (latest);
              latest = g_strdup (updated);
            }
          if (by_id == NULL || is_deleted || at == NULL || (q == 1 && strcmp (at, now_iso) > 0)
              || g_strcmp0 (status, "cancelled") == 0 || g_strcmp0 (status, "no_show") == 0)
            continue;
          {
            MtsClientItem *item = g_hash_table_lookup (by_id, sqlite3_column_text (st, 0));
            if (item != NULL && g_strcmp0 (at, mts_client_item_get_last_contact (item)) > 0)
              mts_client_item_set_last_contact (item, at);
          }
        }
      sqlite3_finalize (st);
      if (rc != SQLITE_DONE)
        return NULL;
      g_string_append_printf (print, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%s|",
                              count, deleted, versions, latest != NULL ? latest : "");
    }
  return g_string_free (g_steal_pointer (&print), FALSE);
}

/* After the list is drawn: each client's last contact, and what the next
 * "changed" is compared with. */
static gboolean
details_idle_cb (gpointer user_data)
{
  MtsClientList *self = user_data;
  MtsStore *store = unlocked_store ();
  g_autoptr (GHashTable) by_id = NULL;

  self->details_idle = 0;
  if (store == NULL || self->all == NULL)
    return G_SOURCE_REMOVE;
  by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->all->len; i++)
    g_hash_table_insert (by_id, (gpointer) mts_client_item_get_id (self->all->pdata[i]), self->all->pdata[i]);
  g_free (self->fingerprint);
  self->fingerprint = scan_clients (store, by_id);
  return G_SOURCE_REMOVE;
}

static void
wipe_items (GPtrArray *items)
{
  for (guint i = 0; i < items->len; i++)
    mts_client_item_wipe (items->pdata[i]);
  g_ptr_array_unref (items);
}

static void
clear (MtsClientList *self)
{
  g_autoptr (GPtrArray) none = g_ptr_array_new_with_free_func (g_object_unref);

  g_clear_handle_id (&self->details_idle, g_source_remove);
  show_items (self, none);
  if (self->all != NULL)
    wipe_items (self->all);
  self->all = g_ptr_array_new_with_free_func (g_object_unref);
}

void
mts_client_list_reload (MtsClientList *self)
{
  MtsStore *store = unlocked_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) clients = NULL;
  GPtrArray *items, *old;

  g_return_if_fail (MTS_IS_CLIENT_LIST (self));
  g_clear_handle_id (&self->reload_idle, g_source_remove);
  self->unlocked = store != NULL;
  if (store == NULL)
    {
      clear (self);
      update_state (self);
      return;
    }
  clients = mts_store_client_list (store, &error);
  if (clients == NULL)
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
      g_message ("cannot list the clients: %s", error->message);
      if (MTS_IS_WINDOW (root))
        mts_window_toast (MTS_WINDOW (root), "Could not read the client list");
      return;
    }
  items = g_ptr_array_new_full (clients->len, g_object_unref);
  for (guint i = 0; i < clients->len; i++)
    {
      MtsClient *c = clients->pdata[i];
      g_ptr_array_add (items, mts_client_item_new (c->id, c->display_name, c->status, c->last_contact_at));
    }
  old = self->all;
  self->all = items;
  apply_search (self, TRUE);
  select_shown (self);
  if (old != NULL)
    wipe_items (old);
  /* The rest once the list is on screen. */
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_handle_id (&self->details_idle, g_source_remove);
  self->details_idle = g_idle_add_full (G_PRIORITY_LOW, details_idle_cb, self, NULL);
}

static gboolean
reload_idle_cb (gpointer user_data)
{
  MtsClientList *self = user_data;
  MtsStore *store = unlocked_store ();
  g_autofree char *now = NULL;

  self->reload_idle = 0;
  if (store == NULL)
    return G_SOURCE_REMOVE;
  /* Notes saved as the therapist types change nothing shown here. */
  if (self->details_idle == 0)
    now = scan_clients (store, NULL);
  if (now == NULL || g_strcmp0 (now, self->fingerprint) != 0)
    mts_client_list_reload (self);
  else if (self->needle != NULL && may_be_contact (self->needle))
    apply_search (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
changed_cb (MtsClientList *self)
{
  if (self->reload_idle == 0)
    self->reload_idle = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, reload_idle_cb, self, NULL);
}

static void
unlocked_cb (MtsClientList *self)
{
  g_clear_pointer (&self->fingerprint, g_free);
  mts_client_list_reload (self);
}

static void
locked_cb (MtsClientList *self)
{
  g_clear_handle_id (&self->reload_idle, g_source_remove);
  self->unlocked = FALSE;
  /* Nothing of any client stays: the search text may be part of a name. */
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  adw_status_page_set_description (self->no_match_page, NULL);
  g_clear_pointer (&self->shown_id, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->needle, g_free);
  g_clear_pointer (&self->exact_ids, g_hash_table_unref);
  clear (self);
  update_state (self);
}

/* ---- public ---- */

void
mts_client_list_focus_search (MtsClientList *self)
{
  g_return_if_fail (MTS_IS_CLIENT_LIST (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

GListModel *
mts_client_list_get_model (MtsClientList *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_LIST (self), NULL);
  return G_LIST_MODEL (self->shown);
}

guint
mts_client_list_get_n_clients (MtsClientList *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_LIST (self), 0);
  return self->all->len;
}

const char *
mts_client_list_get_state (MtsClientList *self)
{
  g_return_val_if_fail (MTS_IS_CLIENT_LIST (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

GtkWidget *
mts_client_list_new (void)
{
  return g_object_new (MTS_TYPE_CLIENT_LIST, NULL);
}

/* ---- GObject ---- */

static void
mts_client_list_dispose (GObject *object)
{
  MtsClientList *self = MTS_CLIENT_LIST (object);

  g_clear_handle_id (&self->reload_idle, g_source_remove);
  g_clear_handle_id (&self->details_idle, g_source_remove);
  if (self->list_view != NULL)
    gtk_grid_view_set_model (self->list_view, NULL);
  g_clear_object (&self->selection);
  g_clear_object (&self->shown);
  g_clear_pointer (&self->all, wipe_items);
  G_OBJECT_CLASS (mts_client_list_parent_class)->dispose (object);
}

static void
mts_client_list_finalize (GObject *object)
{
  MtsClientList *self = MTS_CLIENT_LIST (object);

  g_free (self->needle);
  g_free (self->shown_id);
  g_free (self->fingerprint);
  g_clear_pointer (&self->exact_ids, g_hash_table_unref);
  G_OBJECT_CLASS (mts_client_list_parent_class)->finalize (object);
}

static void
mts_client_list_class_init (MtsClientListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_client_list_dispose;
  object_class->finalize = mts_client_list_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-client-list.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsClientList, search_entry);
  gtk_widget_class_bind_template_child (widget_class, MtsClientList, stack);
  gtk_widget_class_bind_template_child (widget_class, MtsClientList, list_view);
  gtk_widget_class_bind_template_child (widget_class, MtsClientList, no_match_page);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, list_activate_cb);
}

/* The one-column grid drawn as a sidebar list. */
static const char rows_css[] =
  ".mts-client-rows { background: none; padding: 0 6px 6px 6px; }\n"
  ".mts-client-rows > child { margin: 1px 0; padding: 0 6px; border-radius: 6px; }\n"
  ".mts-client-rows > child:hover { background-color: alpha(currentColor, 0.07); }\n"
  ".mts-client-rows > child:selected { background-color: alpha(currentColor, 0.1); color: inherit; }\n";

static void
mts_client_list_init (MtsClientList *self)
{
  MtsApplication *app = list_app ();
  GtkListItemFactory *factory;
  static gboolean css_loaded;

  if (!css_loaded && gdk_display_get_default () != NULL)
    {
      g_autoptr (GtkCssProvider) provider = gtk_css_provider_new ();

      gtk_css_provider_load_from_data (provider, rows_css, -1);
      gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
      css_loaded = TRUE;
    }

  gtk_widget_init_template (GTK_WIDGET (self));

  self->all = g_ptr_array_new_with_free_func (g_object_unref);
  self->shown = g_object_new (MTS_TYPE_CLIENT_MATCHES, NULL);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->shown)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (selected_item_cb), self);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row_cb), NULL);
  gtk_grid_view_set_factory (self->list_view, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));

  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self));

  if (app != NULL)
    {
      g_signal_connect_object (app, "unlocked", G_CALLBACK (unlocked_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (app, "changed", G_CALLBACK (changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (app, "locked", G_CALLBACK (locked_cb), self, G_CONNECT_SWAPPED);
    }
  mts_client_list_reload (self);
}
