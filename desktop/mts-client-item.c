/* mts-client-item.c — one client as the client list shows it. */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-client-item.h"

#include <string.h>

struct _MtsClientItem
{
  GObject parent_instance;

  char *id;
  char *name;
  char *folded;
  char *status;
  char *last_contact;
};

G_DEFINE_FINAL_TYPE (MtsClientItem, mts_client_item, G_TYPE_OBJECT)

enum { PROP_0, PROP_LAST_CONTACT, N_PROPS };
static GParamSpec *props[N_PROPS];

static void
wipe_string (char **s)
{
  if (*s != NULL)
    {
      volatile char *p = *s;
      for (gsize n = strlen (*s); n > 0; n--)
        *p++ = '\0';
    }
  g_clear_pointer (s, g_free);
}

void
mts_client_item_wipe (MtsClientItem *self)
{
  g_return_if_fail (MTS_IS_CLIENT_ITEM (self));
  wipe_string (&self->name);
  wipe_string (&self->folded);
  self->name = g_strdup ("");
  self->folded = g_strdup ("");
}

static void
mts_client_item_finalize (GObject *object)
{
  MtsClientItem *self = MTS_CLIENT_ITEM (object);

  g_free (self->id);
  wipe_string (&self->name);
  wipe_string (&self->folded);
  g_free (self->status);
  g_free (self->last_contact);
  G_OBJECT_CLASS (mts_client_item_parent_class)->finalize (object);
}

static void
mts_client_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  MtsClientItem *self = MTS_CLIENT_ITEM (object);

  switch (prop_id)
    {
    case PROP_LAST_CONTACT:
      g_value_set_string (value, self->last_contact);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mts_client_item_class_init (MtsClientItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mts_client_item_finalize;
  object_class->get_property = mts_client_item_get_property;
  /* Filled in after the list is first drawn: rows follow it. */
  props[PROP_LAST_CONTACT] = g_param_spec_string ("last-contact", NULL, NULL, NULL,
                                                  G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY
                                                  | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mts_client_item_init (MtsClientItem *self)
{
}

MtsClientItem *
mts_client_item_new (const char *id, const char *name, const char *status, const char *last_contact)
{
  MtsClientItem *self = g_object_new (MTS_TYPE_CLIENT_ITEM, NULL);

  self->id = g_strdup (id);
  self->name = g_strdup (name != NULL ? name : "");
  self->folded = g_utf8_casefold (self->name, -1);
  self->status = g_strdup (status != NULL ? status : "active");
  self->last_contact = g_strdup (last_contact);
  return self;
}

const char *
mts_client_item_get_id (MtsClientItem *self)
{
  return self->id;
}

const char *
mts_client_item_get_name (MtsClientItem *self)
{
  return self->name;
}

const char *
mts_client_item_get_folded (MtsClientItem *self)
{
  return self->folded;
}

const char *
mts_client_item_get_status (MtsClientItem *self)
{
  return self->status;
}

const char *
mts_client_item_get_last_contact (MtsClientItem *self)
{
  return self->last_contact;
}

void
mts_client_item_set_last_contact (MtsClientItem *self, const char *last_contact)
{
  if (g_strcmp0 (last_contact, self->last_contact) == 0)
    return;
  g_free (self->last_contact);
  self->last_contact = g_strdup (last_contact);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_CONTACT]);
}

static const char *
status_label (const char *status)
{
  if (g_strcmp0 (status, "waiting") == 0)
    return "Waiting list";
  if (g_strcmp0 (status, "closed") == 0)
    return "Closed";
  return "Active";
}

char *
mts_client_item_describe (MtsClientItem *self)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;
  g_autofree char *date = NULL;

  if (self->last_contact != NULL)
    utc = g_date_time_new_from_iso8601 (self->last_contact, NULL);
  if (utc == NULL)
    return g_strdup_printf ("%s · no contact yet", status_label (self->status));
  local = g_date_time_to_local (utc);
  date = g_date_time_format (local, "%-d %b %Y");
  return g_strdup_printf ("%s · last contact %s", status_label (self->status), date);
}
