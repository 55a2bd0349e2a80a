/* mts-server-sync.c — the sync endpoints: push (idempotent ops, field-level
 * merge, line-wise three-way merge of free text, conflicts, signed notes,
 * the mass-delete guard), pull (cursor pages), and audit-head anchors.
 * docs/api.md is the wire contract; DESIGN.md §5 the reasoning.
 *
 * A record is held here as a JsonObject of its fields.  At rest it is split
 * in two: the non-sensitive fields as JSON text, and the sensitive ones as
 * JSON text sealed with the practice's key (mts-vault.h) under the context
 * "record:<practice>:<table>:<id>:<version>", so a sealed revision moved to
 * another practice, record or version does not open.
 *
 * A push is checked whole before anything is applied (a 400 names the
 * field and changes nothing), then applied in one transaction with its
 * audit entry: a failure half-way rolls everything back and the device
 * retries, which is safe because an op's (device, seq) is recorded with its
 * result.  Only applied and merged ops are recorded.  A rejection changed
 * nothing, and a conflict changed only fields that did not clash (which a
 * retry finds already equal), so a retry simply re-evaluates either. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server.h"

#include <string.h>

#include "mts-json-generate.h"
#include "mts-merge.h"
#include "mts-sync-tables.h"

#define UUID_LEN 36
#define MAC_HEX_LEN 64

/* --- records at rest --------------------------------------------------- */

static char *
record_context (const char *practice_id, const char *table, const char *id, gint64 version)
{
  return g_strdup_printf ("record:%s:%s:%s:%" G_GINT64_FORMAT, practice_id, table, id, version);
}

static char *
object_to_text (JsonObject *o)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);

  json_generator_set_root (gen, node);
  return mts_json_generate (gen, NULL);
}

static JsonObject *
text_to_object (const char *text, gsize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "a stored record is not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* The fields of a stored revision, the sensitive ones unsealed.
 * Returns (transfer full). */
static JsonObject *
record_fields (MtsServer *server, const char *practice_id, const MtsRecordRow *row,
               GError **error)
{
  g_autoptr(JsonObject) fields = NULL;
  g_autoptr(JsonObject) secret = NULL;
  g_autofree char *context = NULL;
  char *plain;
  gsize len = 0;

  fields = text_to_object (row->plain_json, strlen (row->plain_json), error);
  if (fields == NULL || row->sealed == NULL)
    return g_steal_pointer (&fields);

  context = record_context (practice_id, row->table, row->id, row->version);
  plain = mts_vault_unseal (server->vault, practice_id, context, row->sealed, &len, error);
  if (plain == NULL)
    return NULL;
  secret = text_to_object (plain, len, error);
  mts_vault_plain_free (plain);
  if (secret == NULL)
    return NULL;
  {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;

    json_object_iter_init (&iter, secret);
    while (json_object_iter_next (&iter, &name, &value))
      json_object_set_member (fields, name, json_node_copy (value));
  }
  return g_steal_pointer (&fields);
}

/* Stores a new revision of a record. */
static gboolean
record_store (MtsServer *server, const MtsCaller *caller, const MtsTableSpec *table,
              const char *id, gint64 version, gboolean deleted, JsonObject *fields,
              gint64 device_seq, GError **error)
{
  g_autoptr(JsonObject) plain = json_object_new ();
  g_autoptr(JsonObject) secret = json_object_new ();
  g_autofree char *plain_text = NULL;
  g_autoptr(GBytes) sealed = NULL;
  MtsRecordRow row = { 0 };

  for (guint i = 0; fields != NULL && i < table->n_fields; i++)
    {
      const MtsFieldSpec *f = &table->fields[i];
      JsonNode *value = json_object_get_member (fields, f->name);

      if (value == NULL)
        continue;
      json_object_set_member ((f->flags & MTS_FIELD_SENSITIVE) ? secret : plain,
                              f->name, json_node_copy (value));
    }
  plain_text = object_to_text (plain);
  if (json_object_get_size (secret) > 0)
    {
      g_autofree char *context = record_context (caller->practice_id, table->name, id, version);
      char *secret_text = object_to_text (secret);

      sealed = mts_vault_seal (server->vault, caller->practice_id, context, secret_text,
                               strlen (secret_text), error);
      memset (secret_text, 0, strlen (secret_text));
      g_free (secret_text);
      if (sealed == NULL)
        return FALSE;
    }

  row.table = (char *) table->name;
  row.id = (char *) id;
  row.version = version;
  row.deleted = deleted;
  row.plain_json = plain_text;
  row.sealed = sealed;
  row.device_id = caller->device_id;
  row.device_seq = device_seq;
  row.user_id = caller->user_id;
  row.created_at = mts_server_now ();
  return server->storage->ops->record_put (server->storage, caller->practice_id, &row, error);
}

/* Adds {"table", "id", "version", "deleted", "fields"[, "redacted"]}. */
static void
add_record (JsonBuilder *b, const MtsTableSpec *table, const char *id, gint64 version,
            gboolean deleted, JsonObject *fields, gboolean redact)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "table");
  json_builder_add_string_value (b, table->name);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, version);
  json_builder_set_member_name (b, "deleted");
  json_builder_add_boolean_value (b, deleted);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
  for (guint i = 0; !deleted && fields != NULL && i < table->n_fields; i++)
    {
      const MtsFieldSpec *f = &table->fields[i];
      JsonNode *value = json_object_get_member (fields, f->name);

      if (value == NULL || (redact && (f->flags & MTS_FIELD_SENSITIVE)))
        continue;
      json_builder_set_member_name (b, f->name);
      json_builder_add_value (b, json_node_copy (value));
    }
  json_builder_end_object (b);
  if (redact && mts_table_has_sensitive (table))
    {
      json_builder_set_member_name (b, "redacted");
      json_builder_add_boolean_value (b, TRUE);
    }
  json_builder_end_object (b);
}

/* --- checking a push --------------------------------------------------- */

static gboolean
node_is_int (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* Fetches a required integer member in [min, max]; answers 400 if not. */
static gboolean
json_int (SoupServerMessage *msg, JsonObject *o, const char *prefix, const char *member,
          gint64 min, gint64 max, gint64 *out)
{
  g_autofree char *field = g_strconcat (prefix, member, NULL);
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL)
    {
      mts_http_error (msg, 400, "invalid", field, "%s: missing", field);
      return FALSE;
    }
  if (!node_is_int (node))
    {
      mts_http_error (msg, 400, "invalid", field, "%s: must be an integer", field);
      return FALSE;
    }
  *out = json_node_get_int (node);
  if (*out < min || *out > max)
    {
      mts_http_error (msg, 400, "invalid", field,
                      "%s: must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                      field, min, max);
      return FALSE;
    }
  return TRUE;
}

/* Checks one field's value against its spec; answers 400 naming it. */
static gboolean
check_field (SoupServerMessage *msg, const char *field, const MtsFieldSpec *f, JsonNode *value)
{
  if (JSON_NODE_HOLDS_NULL (value))
    {
      if (f->flags & MTS_FIELD_REQUIRED)
        {
          mts_http_error (msg, 400, "invalid", field, "%s: is required and cannot be null", field);
          return FALSE;
        }
      return TRUE;
    }
  if (f->type == MTS_FIELD_INTEGER)
    {
      gint64 n;

      if (!node_is_int (value))
        {
          mts_http_error (msg, 400, "invalid", field, "%s: must be an integer or null", field);
          return FALSE;
        }
      n = json_node_get_int (value);
      if (f->max > f->min && (n < f->min || n > f->max))
        {
          mts_http_error (msg, 400, "invalid", field,
                          "%s: must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                          field, f->min, f->max);
          return FALSE;
        }
      return TRUE;
    }
  if (!node_is_string (value))
    {
      mts_http_error (msg, 400, "invalid", field, "%s: must be a string or null", field);
      return FALSE;
    }
  {
    const char *s = json_node_get_string (value);
    gsize max = f->max_bytes ? f->max_bytes : MTS_FIELD_DEFAULT_MAX_BYTES;

    if (strlen (s) > max)
      {
        mts_http_error (msg, 400, "invalid", field, "%s: longer than %" G_GSIZE_FORMAT " bytes",
                        field, max);
        return FALSE;
      }
    if (f->allowed != NULL && !g_strv_contains (f->allowed, s))
      {
        g_autofree char *list = g_strjoinv (", ", (char **) f->allowed);
        /* The message lists what is allowed, not what was sent. */
        mts_http_error (msg, 400, "invalid", field, "%s: must be one of %s", field, list);
        return FALSE;
      }
  }
  return TRUE;
}

typedef struct {
  gint64 seq;
  const MtsTableSpec *table;
  const char *id;
  gboolean delete;
  gint64 base_version;
  JsonObject *fields;     /* borrowed from the request; NULL for a delete */
} Op;

static gboolean
check_op (SoupServerMessage *msg, JsonNode *node, guint index, Op *op)
{
  static const char *const members[] = {
    "seq", "table", "id", "op", "base_version", "fields", NULL
  };
  g_autofree char *prefix = g_strdup_printf ("ops[%u].", index);
  const char *table, *id, *kind;
  JsonObject *o;
  JsonNode *fields;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *field = g_strdup_printf ("ops[%u]", index);
      mts_http_error (msg, 400, "invalid", field, "%s: must be an object", field);
      return FALSE;
    }
  o = json_node_get_object (node);
  if (!mts_json_only (msg, o, prefix, members) ||
      !json_int (msg, o, prefix, "seq", 1, G_MAXINT64, &op->seq) ||
      (table = mts_json_string (msg, o, prefix, "table", 64)) == NULL ||
      (id = mts_json_string (msg, o, prefix, "id", UUID_LEN)) == NULL ||
      (kind = mts_json_string (msg, o, prefix, "op", 16)) == NULL ||
      !json_int (msg, o, prefix, "base_version", 0, G_MAXINT64, &op->base_version))
    return FALSE;

  op->table = mts_table_lookup (table);
  if (op->table == NULL)
    {
      g_autofree char *field = g_strconcat (prefix, "table", NULL);
      mts_http_error (msg, 400, "invalid", field, "%s: not a synced table", field);
      return FALSE;
    }
  if (!mts_is_uuid (id))
    {
      g_autofree char *field = g_strconcat (prefix, "id", NULL);
      mts_http_error (msg, 400, "invalid", field, "%s: must be a lower-case UUID", field);
      return FALSE;
    }
  op->id = id;
  if (strcmp (kind, "delete") == 0)
    op->delete = TRUE;
  else if (strcmp (kind, "upsert") != 0)
    {
      g_autofree char *field = g_strconcat (prefix, "op", NULL);
      mts_http_error (msg, 400, "invalid", field, "%s: must be upsert or delete", field);
      return FALSE;
    }

  fields = json_object_get_member (o, "fields");
  if (op->delete)
    {
      if (fields != NULL)
        {
          g_autofree char *field = g_strconcat (prefix, "fields", NULL);
          mts_http_error (msg, 400, "invalid", field, "%s: a delete carries no fields", field);
          return FALSE;
        }
      return TRUE;
    }
  if (fields == NULL || !JSON_NODE_HOLDS_OBJECT (fields) ||
      json_object_get_size (json_node_get_object (fields)) == 0)
    {
      g_autofree char *field = g_strconcat (prefix, "fields", NULL);
      mts_http_error (msg, 400, "invalid", field,
                      "%s: an upsert needs an object with at least one field", field);
      return FALSE;
    }
  op->fields = json_node_get_object (fields);
  {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;

    json_object_iter_init (&iter, op->fields);
    while (json_object_iter_next (&iter, &name, &value))
      {
        g_autofree char *field = g_strdup_printf ("%sfields.%s", prefix, name);
        const MtsFieldSpec *f = mts_table_field (op->table, name);

        if (f == NULL)
          {
            mts_http_error (msg, 400, "invalid", field, "%s: unknown field of %s", field,
                            op->table->name);
            return FALSE;
          }
        if (!check_field (msg, field, f, value))
          return FALSE;
      }
  }
  return TRUE;
}

/* --- applying an op ---------------------------------------------------- */

typedef enum { R_APPLIED, R_MERGED, R_CONFLICT, R_REJECTED, R_DUPLICATE, R_N } ResultKind;
static const char *const result_names[R_N] = {
  "applied", "merged", "conflict", "rejected", "duplicate"
};

static void
result_begin (JsonBuilder *b, gint64 seq, ResultKind kind)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, result_names[kind]);
}

static ResultKind
reject (JsonBuilder *b, const Op *op, const char *code, const char *message)
{
  result_begin (b, op->seq, R_REJECTED);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  return R_REJECTED;
}

static gboolean
is_signed_note (const MtsTableSpec *table, const MtsRecordRow *row, JsonObject *fields)
{
  JsonNode *status;

  if (strcmp (table->name, "notes") != 0 || row->deleted)
    return FALSE;
  status = json_object_get_member (fields, "status");
  return status != NULL && node_is_string (status) &&
         strcmp (json_node_get_string (status), "signed") == 0;
}

static gboolean
nodes_equal (JsonNode *a, JsonNode *b)
{
  if (a == NULL || b == NULL)
    return (a == NULL || JSON_NODE_HOLDS_NULL (a)) && (b == NULL || JSON_NODE_HOLDS_NULL (b));
  return json_node_equal (a, b);
}

typedef struct {
  GPtrArray *tables;   /* const char * (registry names, not owned) */
  GPtrArray *ids;      /* char * */
} Refs;

static gboolean
collect_ref (const MtsRecordRow *row, gpointer data)
{
  Refs *refs = data;
  const MtsTableSpec *t = mts_table_lookup (row->table);

  if (t != NULL)
    {
      g_ptr_array_add (refs->tables, (gpointer) t->name);
      g_ptr_array_add (refs->ids, g_strdup (row->id));
    }
  return TRUE;
}

/* Tombstones every live record whose @field is @value (and, for invoices,
 * their payments): deleting a client deletes everything of the client, as
 * the store does on the device, including records another device made
 * meanwhile and signed notes (erasure, not an edit). */
static gboolean
cascade_delete (MtsServer *server, const MtsCaller *caller, const char *field,
                const char *value, gint64 seq, GError **error)
{
  MtsStorage *s = server->storage;
  Refs refs = { g_ptr_array_new (), g_ptr_array_new_with_free_func (g_free) };
  gboolean ok = s->ops->records_referencing (s, caller->practice_id, field, value, collect_ref,
                                             &refs, error);

  for (guint i = 0; ok && i < refs.ids->len; i++)
    {
      const MtsTableSpec *t = mts_table_lookup (refs.tables->pdata[i]);
      const char *id = refs.ids->pdata[i];
      gint64 version = s->ops->next_version (s, caller->practice_id, error);

      ok = version > 0 && record_store (server, caller, t, id, version, TRUE, NULL, seq, error);
      if (ok && strcmp (t->name, "invoices") == 0)
        ok = cascade_delete (server, caller, "invoice_id", id, seq, error);
    }
  g_ptr_array_unref (refs.tables);
  g_ptr_array_unref (refs.ids);
  return ok;
}

/* Whether the client a record belongs to (its client_id, from @fields or
 * else @current) is deleted on the server. */
static gboolean
client_is_deleted (MtsServer *server, const MtsCaller *caller, const MtsTableSpec *t,
                   JsonObject *fields, JsonObject *current, gboolean *deleted, GError **error)
{
  g_auto(MtsRecordRow) client = { 0 };
  JsonNode *ref = NULL;
  MtsStorageFound found;

  *deleted = FALSE;
  if (strcmp (t->name, "clients") == 0 || mts_table_field (t, "client_id") == NULL)
    return TRUE;
  if (fields != NULL)
    ref = json_object_get_member (fields, "client_id");
  if (ref == NULL && current != NULL)
    ref = json_object_get_member (current, "client_id");
  if (ref == NULL || !node_is_string (ref))
    return TRUE;
  found = server->storage->ops->record_get (server->storage, caller->practice_id, "clients",
                                            json_node_get_string (ref), &client, error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return FALSE;
  *deleted = found == MTS_STORAGE_FOUND && client.deleted;
  return TRUE;
}

/* Applies @op; adds its result to @b and, for applied and merged ops,
 * stores {"status", "version"} in *@record_as (what a replay needs).
 * Returns the kind, or R_N with @error set when the server failed. */
static ResultKind
apply_op (MtsServer *server, const MtsCaller *caller, const Op *op, JsonBuilder *b,
          gint64 *version_out, GError **error)
{
  MtsStorage *s = server->storage;
  g_auto(MtsRecordRow) cur = { 0 };
  g_auto(MtsRecordRow) base = { 0 };
  g_autoptr(JsonObject) cur_fields = NULL;
  g_autoptr(JsonObject) base_fields = NULL;
  g_autoptr(JsonObject) next = NULL;
  g_autoptr(GPtrArray) clashes = g_ptr_array_new ();
  MtsStorageFound found;
  gboolean changed = FALSE, signing = FALSE;
  gint64 version;

  found = s->ops->record_get (s, caller->practice_id, op->table->name, op->id, &cur, error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return R_N;

  if (found == MTS_STORAGE_NOT_FOUND)
    {
      gboolean orphan = FALSE;

      if (op->base_version != 0)
        return reject (b, op, "stale_base", "the server has no record with this id");
      if (!op->delete &&
          !client_is_deleted (server, caller, op->table, op->fields, NULL, &orphan, error))
        return R_N;
      if (orphan)
        return reject (b, op, "deleted", "the record's client was deleted");
      if (!op->delete)
        for (guint i = 0; i < op->table->n_fields; i++)
          {
            const MtsFieldSpec *f = &op->table->fields[i];
            if ((f->flags & MTS_FIELD_REQUIRED) && !json_object_has_member (op->fields, f->name))
              {
                g_autofree char *m = g_strdup_printf ("a new %s record needs %s",
                                                      op->table->name, f->name);
                return reject (b, op, "invalid", m);
              }
          }
      version = s->ops->next_version (s, caller->practice_id, error);
      if (version <= 0 ||
          !record_store (server, caller, op->table, op->id, version, op->delete,
                         op->fields, op->seq, error))
        return R_N;
      result_begin (b, op->seq, R_APPLIED);
      json_builder_set_member_name (b, "version");
      json_builder_add_int_value (b, version);
      json_builder_end_object (b);
      *version_out = version;
      return R_APPLIED;
    }

  if (op->base_version > cur.version)
    return reject (b, op, "stale_base", "base_version is newer than the server's record");
  cur_fields = record_fields (server, caller->practice_id, &cur, error);
  if (cur_fields == NULL)
    return R_N;
  /* A signed note is never edited; it may be deleted (with its client:
   * erasure, as the store allows). */
  if (!op->delete && is_signed_note (op->table, &cur, cur_fields))
    return reject (b, op, "signed", "the note is signed and cannot change: amend it instead");
  if (!op->delete && !cur.deleted)
    {
      gboolean orphan = FALSE;

      if (!client_is_deleted (server, caller, op->table, op->fields, cur_fields, &orphan, error))
        return R_N;
      if (orphan)
        return reject (b, op, "deleted", "the record's client was deleted");
    }
  if (cur.deleted)
    {
      if (!op->delete)
        return reject (b, op, "deleted", "the record was deleted");
      result_begin (b, op->seq, R_APPLIED);
      json_builder_set_member_name (b, "version");
      json_builder_add_int_value (b, cur.version);
      json_builder_end_object (b);
      *version_out = cur.version;
      return R_APPLIED;
    }

  if (op->base_version != cur.version)
    {
      if (op->base_version > 0)
        {
          found = s->ops->revision_get (s, caller->practice_id, op->table->name, op->id,
                                        op->base_version, &base, error);
          if (found == MTS_STORAGE_ERROR_RESULT)
            return R_N;
          if (found == MTS_STORAGE_NOT_FOUND)
            return reject (b, op, "stale_base",
                           "base_version is not a revision of this record");
          base_fields = record_fields (server, caller->practice_id, &base, error);
          if (base_fields == NULL)
            return R_N;
        }
    }

  if (!op->delete && strcmp (op->table->name, "notes") == 0)
    {
      JsonNode *status = json_object_get_member (op->fields, "status");
      signing = status != NULL && node_is_string (status) &&
                strcmp (json_node_get_string (status), "signed") == 0;
    }

  next = json_object_new ();
  {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;

    json_object_iter_init (&iter, cur_fields);
    while (json_object_iter_next (&iter, &name, &value))
      json_object_set_member (next, name, json_node_copy (value));
  }

  if (op->delete)
    {
      if (op->base_version != cur.version)
        g_ptr_array_add (clashes, (gpointer) "deleted");
    }
  else
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *ours;

      json_object_iter_init (&iter, op->fields);
      while (json_object_iter_next (&iter, &name, &ours))
        {
          const MtsFieldSpec *f = mts_table_field (op->table, name);
          JsonNode *theirs = json_object_get_member (cur_fields, name);
          JsonNode *was = base_fields ? json_object_get_member (base_fields, name) : NULL;
          JsonNode *take = NULL;
          g_autoptr(JsonNode) merged_node = NULL;

          if (nodes_equal (ours, theirs))
            continue;
          if (signing && op->base_version != cur.version)
            {
              /* A signature covers the note as its signer read it: one
               * that meets a change made elsewhere is not merged into it. */
              g_ptr_array_add (clashes, (gpointer) f->name);
              continue;
            }
          if (op->base_version == cur.version ||
              (base_fields != NULL && nodes_equal (theirs, was)))
            take = ours;
          else if (strcmp (name, "updated_at") == 0)
            {
              /* Bookkeeping, shown to people, never used to decide
               * anything: the later of the two stamps. */
              if (theirs == NULL || !node_is_string (theirs) ||
                  (node_is_string (ours) &&
                   strcmp (json_node_get_string (ours), json_node_get_string (theirs)) > 0))
                take = ours;
              else
                continue;
            }
          else if ((f->flags & MTS_FIELD_MERGE) && base_fields != NULL &&
                   node_is_string (ours) && node_is_string (theirs))
            {
              g_autofree char *merged = NULL;
              const char *base_text = was != NULL && node_is_string (was)
                                      ? json_node_get_string (was) : "";
              MtsMergeResult r = mts_merge_text (base_text, json_node_get_string (ours),
                                                 json_node_get_string (theirs), &merged, NULL);
              if (r == MTS_MERGE_CLEAN)
                {
                  merged_node = json_node_init_string (json_node_alloc (), merged);
                  take = merged_node;
                }
            }
          if (take == NULL)
            {
              g_ptr_array_add (clashes, (gpointer) f->name);
              continue;
            }
          json_object_set_member (next, name, json_node_copy (take));
          changed = TRUE;
        }
    }

  if (clashes->len > 0)
    {
      /* The fields that did not clash are applied all the same (a new
       * revision); "current" shows them.  Only the clashing ones wait for
       * the clinician. */
      if (changed && !op->delete)
        {
          version = s->ops->next_version (s, caller->practice_id, error);
          if (version <= 0 ||
              !record_store (server, caller, op->table, op->id, version, FALSE, next, op->seq,
                             error))
            return R_N;
          g_clear_pointer (&cur_fields, json_object_unref);
          cur_fields = json_object_ref (next);
          cur.version = version;
        }
      result_begin (b, op->seq, R_CONFLICT);
      json_builder_set_member_name (b, "fields");
      json_builder_begin_array (b);
      for (guint i = 0; i < clashes->len; i++)
        json_builder_add_string_value (b, clashes->pdata[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "current");
      add_record (b, op->table, op->id, cur.version, cur.deleted, cur_fields, FALSE);
      json_builder_set_member_name (b, "base");
      if (base_fields != NULL)
        add_record (b, op->table, op->id, base.version, base.deleted, base_fields, FALSE);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      return R_CONFLICT;
    }

  if (op->delete || changed)
    {
      version = s->ops->next_version (s, caller->practice_id, error);
      if (version <= 0 ||
          !record_store (server, caller, op->table, op->id, version, op->delete,
                         op->delete ? NULL : next, op->seq, error))
        return R_N;
      if (op->delete && strcmp (op->table->name, "clients") == 0 &&
          !cascade_delete (server, caller, "client_id", op->id, op->seq, error))
        return R_N;
    }
  else
    version = cur.version;
  *version_out = version;

  if (op->base_version == cur.version)
    {
      result_begin (b, op->seq, R_APPLIED);
      json_builder_set_member_name (b, "version");
      json_builder_add_int_value (b, version);
      json_builder_end_object (b);
      return R_APPLIED;
    }
  result_begin (b, op->seq, R_MERGED);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, version);
  json_builder_set_member_name (b, "record");
  add_record (b, op->table, op->id, version, FALSE, next, FALSE);
  json_builder_end_object (b);
  return R_MERGED;
}

/* Answers a replayed op from what was recorded the first time. */
static gboolean
replay_op (MtsServer *server, const MtsCaller *caller, const Op *op, const char *stored,
           JsonBuilder *b, GError **error)
{
  g_autoptr(JsonObject) o = text_to_object (stored, strlen (stored), error);
  const char *status;
  gint64 version;

  if (o == NULL)
    return FALSE;
  status = json_object_get_string_member_with_default (o, "status", "applied");
  version = json_object_get_int_member_with_default (o, "version", 0);
  result_begin (b, op->seq, R_DUPLICATE);
  json_builder_set_member_name (b, "original_status");
  json_builder_add_string_value (b, status);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, version);
  if (strcmp (status, "merged") == 0)
    {
      g_auto(MtsRecordRow) row = { 0 };
      g_autoptr(JsonObject) fields = NULL;
      MtsStorageFound found;

      found = server->storage->ops->revision_get (server->storage, caller->practice_id,
                                                  op->table->name, op->id, version, &row, error);
      if (found == MTS_STORAGE_ERROR_RESULT)
        return FALSE;
      if (found == MTS_STORAGE_FOUND)
        {
          fields = record_fields (server, caller->practice_id, &row, error);
          if (fields == NULL)
            return FALSE;
          json_builder_set_member_name (b, "record");
          add_record (b, op->table, op->id, version, row.deleted, fields, FALSE);
        }
    }
  json_builder_end_object (b);
  return TRUE;
}

/* --- push ------------------------------------------------------------- */

static void
internal_error (SoupServerMessage *msg, const char *what, GError *error)
{
  mts_log ("error", "internal", "during", what, "error", error ? error->message : NULL, NULL);
  mts_http_error (msg, 500, "internal", NULL, "the server failed; nothing was changed");
}

void
mts_sync_push (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller)
{
  static const char *const members[] = { "ops", "confirm_mass_delete", NULL };
  MtsStorage *s = server->storage;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonBuilder) d = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GHashTable) seqs = NULL;
  g_autofree Op *ops = NULL;
  guint counts[R_N] = { 0 };
  gboolean confirm = FALSE;
  JsonObject *o;
  JsonNode *node;
  JsonArray *array;
  guint n, n_delete = 0;

  if (strcmp (caller->role, "support") == 0)
    {
      mts_http_error (msg, 403, "forbidden", NULL, "support users cannot change records");
      return;
    }
  root = mts_http_body_object (msg);
  if (root == NULL)
    return;
  o = json_node_get_object (root);
  if (!mts_json_only (msg, o, "", members))
    return;
  node = json_object_get_member (o, "confirm_mass_delete");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        {
          mts_http_error (msg, 400, "invalid", "confirm_mass_delete",
                          "confirm_mass_delete: must be true or false");
          return;
        }
      confirm = json_node_get_boolean (node);
    }
  node = json_object_get_member (o, "ops");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      mts_http_error (msg, 400, "invalid", "ops", "ops: %s",
                      node == NULL ? "missing" : "must be an array");
      return;
    }
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n > server->config->max_ops_per_push)
    {
      mts_http_error (msg, 413, "too_large", "ops", "ops: at most %u in one push",
                      server->config->max_ops_per_push);
      return;
    }

  ops = g_new0 (Op, MAX (n, 1));
  seqs = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < n; i++)
    {
      if (!check_op (msg, json_array_get_element (array, i), i, &ops[i]))
        return;
      if (!g_hash_table_add (seqs, &ops[i].seq))
        {
          g_autofree char *field = g_strdup_printf ("ops[%u].seq", i);
          mts_http_error (msg, 400, "invalid", field, "%s: repeats an earlier op's seq", field);
          return;
        }
      if (ops[i].delete)
        n_delete++;
    }

  if (!confirm && n_delete >= (guint64) server->config->mass_delete_min)
    {
      gint64 live = s->ops->live_count (s, caller->practice_id, &error);
      if (live < 0)
        {
          internal_error (msg, "push", error);
          return;
        }
      if ((gint64) n_delete * 100 > live * (gint64) server->config->mass_delete_percent)
        {
          mts_http_error (msg, 409, "mass_delete", "confirm_mass_delete",
                          "this push deletes %u of the practice's %" G_GINT64_FORMAT
                          " records: resend with confirm_mass_delete true if that is meant",
                          n_delete, live);
          return;
        }
    }

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "results");
  json_builder_begin_array (b);

  if (!s->ops->begin (s, &error))
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *stored = NULL;
      MtsStorageFound found;
      ResultKind kind;
      gint64 version = 0;

      found = s->ops->op_get (s, caller->practice_id, caller->device_id, ops[i].seq,
                              &stored, &error);
      if (found == MTS_STORAGE_ERROR_RESULT)
        goto fail;
      if (found == MTS_STORAGE_FOUND)
        {
          if (!replay_op (server, caller, &ops[i], stored, b, &error))
            goto fail;
          counts[R_DUPLICATE]++;
          continue;
        }
      kind = apply_op (server, caller, &ops[i], b, &version, &error);
      if (kind == R_N)
        goto fail;
      counts[kind]++;
      if (kind == R_APPLIED || kind == R_MERGED)
        {
          g_autofree char *record_as =
            g_strdup_printf ("{\"status\":\"%s\",\"version\":%" G_GINT64_FORMAT "}",
                             result_names[kind], version);
          if (!s->ops->op_put (s, caller->practice_id, caller->device_id, ops[i].seq,
                               record_as, &error))
            goto fail;
        }
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  d = json_builder_new ();
  json_builder_begin_object (d);
  json_builder_set_member_name (d, "device_id");
  json_builder_add_string_value (d, caller->device_id);
  json_builder_set_member_name (d, "ops");
  json_builder_add_int_value (d, n);
  for (guint k = 0; k < R_N; k++)
    {
      json_builder_set_member_name (d, result_names[k]);
      json_builder_add_int_value (d, counts[k]);
    }
  json_builder_end_object (d);
  if (!mts_server_audit (server, caller->practice_id, caller->user_id, "sync-push", d, &error) ||
      !s->ops->commit (s, &error))
    goto fail;

  answer = json_builder_get_root (b);
  mts_http_json (msg, 200, answer);
  return;

fail:
  s->ops->rollback (s);
  internal_error (msg, "push", error);
}

/* --- pull ------------------------------------------------------------- */

typedef struct {
  MtsServer *server;
  const MtsCaller *caller;
  GString *out;
  gboolean redact;
  gint64 last;
  guint count;
  GError *error;
} Pull;

/* Appends JSON object text @text (@len bytes) without its braces. */
static gboolean
append_members (GString *out, const char *text, gsize len)
{
  while (len > 0 && g_ascii_isspace (text[len - 1]))
    len--;
  while (len > 0 && g_ascii_isspace (*text))
    text++, len--;
  if (len < 2 || text[0] != '{' || text[len - 1] != '}')
    return FALSE;
  g_string_append_len (out, text + 1, len - 2);
  return TRUE;
}

/* Writes one record straight as JSON text.  A page is most of what a first
 * sync costs the server, and the stored fields already are JSON objects
 * (json-glib's own output for the plain fields and, once unsealed, for the
 * sensitive ones): joining their members is a third of the work of parsing
 * them into trees and writing them out again (docs/performance.md).  Table
 * names come from the registry and ids were checked to be UUIDs, so neither
 * needs escaping. */
static gboolean
pull_each (const MtsRecordRow *row, gpointer data)
{
  Pull *p = data;
  const MtsTableSpec *table = mts_table_lookup (row->table);
  gsize mark;

  p->last = row->version;
  if (table == NULL)
    return TRUE;
  if (p->count > 0)
    g_string_append_c (p->out, ',');
  g_string_append_printf (p->out, "{\"table\":\"%s\",\"id\":\"%s\",\"version\":%"
                          G_GINT64_FORMAT ",\"deleted\":%s,\"fields\":{",
                          table->name, row->id, row->version, row->deleted ? "true" : "false");
  if (!row->deleted)
    {
      mark = p->out->len;
      if (!append_members (p->out, row->plain_json, strlen (row->plain_json)))
        goto bad;
      /* A support user's page never unseals anything. */
      if (!p->redact && row->sealed != NULL)
        {
          g_autofree char *context = record_context (p->caller->practice_id, row->table,
                                                     row->id, row->version);
          gsize len = 0;
          char *secret = mts_vault_unseal (p->server->vault, p->caller->practice_id, context,
                                           row->sealed, &len, &p->error);
          gboolean ok;

          if (secret == NULL)
            return FALSE;
          if (p->out->len > mark && len > 2)
            g_string_append_c (p->out, ',');
          ok = append_members (p->out, secret, len);
          mts_vault_plain_free (secret);
          if (!ok)
            goto bad;
          /* "{}" unsealed adds nothing; a comma before nothing is taken back. */
          if (p->out->len > 0 && p->out->str[p->out->len - 1] == ',')
            g_string_truncate (p->out, p->out->len - 1);
        }
    }
  g_string_append_c (p->out, '}');
  if (p->redact && mts_table_has_sensitive (table))
    g_string_append (p->out, ",\"redacted\":true");
  g_string_append_c (p->out, '}');
  p->count++;
  return TRUE;

bad:
  g_set_error (&p->error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
               "a stored record of %s is not a JSON object", row->table);
  return FALSE;
}

static gboolean
query_uint (SoupServerMessage *msg, GHashTable *query, const char *name, guint64 max,
            guint64 *out)
{
  const char *text = query ? g_hash_table_lookup (query, name) : NULL;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL))
    {
      mts_http_error (msg, 400, "invalid", name,
                      "%s: must be a whole number from 0 to %" G_GUINT64_FORMAT, name, max);
      return FALSE;
    }
  return TRUE;
}

void
mts_sync_pull (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller,
               GHashTable *query)
{
  MtsStorage *s = server->storage;
  g_autoptr(JsonBuilder) d = json_builder_new ();
  g_autoptr(GError) error = NULL;
  guint64 after = 0, limit = server->config->default_pull_limit;
  gint64 remaining = 0;
  Pull p = { 0 };
  gsize len;

  if (query != NULL)
    {
      GHashTableIter iter;
      const char *name;

      g_hash_table_iter_init (&iter, query);
      while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
        if (strcmp (name, "after") != 0 && strcmp (name, "limit") != 0)
          {
            mts_http_error (msg, 400, "invalid", name, "%s: unknown parameter", name);
            return;
          }
    }
  if (!query_uint (msg, query, "after", G_MAXINT64, &after) ||
      !query_uint (msg, query, "limit", server->config->max_pull_limit, &limit))
    return;
  if (limit == 0)
    limit = server->config->default_pull_limit;

  p.server = server;
  p.caller = caller;
  p.out = g_string_sized_new (64 * 1024);
  p.redact = strcmp (caller->role, "support") == 0;
  p.last = (gint64) after;

  g_string_append (p.out, "{\"records\":[");
  if (!s->ops->pull (s, caller->practice_id, (gint64) after, (guint) limit, pull_each, &p,
                     &remaining, &error) || p.error != NULL)
    {
      internal_error (msg, "pull", p.error != NULL ? p.error : error);
      g_clear_error (&p.error);
      g_string_free (p.out, TRUE);
      return;
    }
  g_string_append_printf (p.out, "],\"next\":%" G_GINT64_FORMAT ",\"more\":%s,\"remaining\":%"
                          G_GINT64_FORMAT "}", p.last, remaining > 0 ? "true" : "false",
                          remaining);

  json_builder_begin_object (d);
  json_builder_set_member_name (d, "device_id");
  json_builder_add_string_value (d, caller->device_id);
  json_builder_set_member_name (d, "after");
  json_builder_add_int_value (d, (gint64) after);
  json_builder_set_member_name (d, "records");
  json_builder_add_int_value (d, p.count);
  json_builder_end_object (d);
  if (!mts_server_audit (server, caller->practice_id, caller->user_id, "sync-pull", d, &error))
    {
      g_string_free (p.out, TRUE);
      internal_error (msg, "pull-audit", error);
      return;
    }

  len = p.out->len;
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_string_free (p.out, FALSE), len);
}

/* --- audit heads ------------------------------------------------------- */

static void
answer_head (SoupServerMessage *msg, gint64 seq, const char *mac, gint64 at)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "mac");
  json_builder_add_string_value (b, mac);
  json_builder_set_member_name (b, "anchored_at");
  json_builder_add_int_value (b, at);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  mts_http_json (msg, 200, root);
}

void
mts_audit_head_post (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller)
{
  static const char *const members[] = { "seq", "mac", NULL };
  MtsStorage *s = server->storage;
  g_autoptr(JsonNode) root = mts_http_body_object (msg);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) d = json_builder_new ();
  g_autofree char *old_mac = NULL;
  gint64 seq = 0, old_seq = 0, old_at = 0, now = mts_server_now ();
  const char *mac;
  JsonObject *o;
  MtsStorageFound found;

  if (root == NULL)
    return;
  o = json_node_get_object (root);
  if (!mts_json_only (msg, o, "", members) ||
      !json_int (msg, o, "", "seq", 0, G_MAXINT64, &seq) ||
      (mac = mts_json_string (msg, o, "", "mac", MAC_HEX_LEN)) == NULL)
    return;
  for (guint i = 0; i < MAC_HEX_LEN; i++)
    if (strlen (mac) != MAC_HEX_LEN || !g_ascii_isxdigit (mac[i]) || g_ascii_isupper (mac[i]))
      {
        mts_http_error (msg, 400, "invalid", "mac", "mac: must be 64 lower-case hex digits");
        return;
      }

  if (!s->ops->begin (s, &error))
    goto fail;
  found = s->ops->audit_head_get (s, caller->practice_id, caller->device_id, &old_seq,
                                  &old_mac, &old_at, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    goto fail;

  json_builder_begin_object (d);
  json_builder_set_member_name (d, "device_id");
  json_builder_add_string_value (d, caller->device_id);
  json_builder_set_member_name (d, "seq");
  json_builder_add_int_value (d, seq);
  if (found == MTS_STORAGE_FOUND)
    {
      json_builder_set_member_name (d, "anchored_seq");
      json_builder_add_int_value (d, old_seq);
    }
  json_builder_end_object (d);

  if (found == MTS_STORAGE_FOUND &&
      (seq < old_seq || (seq == old_seq && strcmp (mac, old_mac) != 0)))
    {
      /* The device's log is shorter than, or differs from, what it anchored
       * before: its tail was cut or rewritten.  Keep the old anchor. */
      if (!mts_server_audit (server, caller->practice_id, caller->user_id,
                             "audit-head-regressed", d, &error) ||
          !s->ops->commit (s, &error))
        goto fail;
      mts_log ("warning", "audit-head-regressed", "practice", caller->practice_id,
               "device", caller->device_id, NULL);
      mts_http_error (msg, 409, "audit_regressed", "seq",
                      "this device already anchored audit entry %" G_GINT64_FORMAT
                      " with a different head: its audit log was cut or rewritten", old_seq);
      return;
    }
  if (!s->ops->audit_head_put (s, caller->practice_id, caller->device_id, seq, mac, now,
                               &error) ||
      !mts_server_audit (server, caller->practice_id, caller->user_id, "audit-head", d,
                         &error) ||
      !s->ops->commit (s, &error))
    goto fail;
  answer_head (msg, seq, mac, now);
  return;

fail:
  s->ops->rollback (s);
  internal_error (msg, "audit-head", error);
}

void
mts_audit_head_get (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller)
{
  MtsStorage *s = server->storage;
  g_autoptr(GError) error = NULL;
  g_autofree char *mac = NULL;
  gint64 seq = 0, at = 0;
  MtsStorageFound found;

  found = s->ops->audit_head_get (s, caller->practice_id, caller->device_id, &seq, &mac, &at,
                                  &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    internal_error (msg, "audit-head", error);
  else if (found == MTS_STORAGE_NOT_FOUND)
    mts_http_error (msg, 404, "not_found", NULL, "this device has not anchored an audit head");
  else
    answer_head (msg, seq, mac, at);
}
