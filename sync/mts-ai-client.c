/* mts-ai-client.c — AI drafting through the server (see mts-ai-client.h). */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-ai-client.h"

#include <sodium.h>
#include <string.h>

#include "mts-keystore.h"
#include "mts-store-private.h"
#include "mts-sync-client.h"

G_DEFINE_QUARK (mts-ai-error-quark, mts_ai_error)

static const char *const feature_names[] = { "session_note", "risk_signals", "template" };

const char *
mts_ai_feature_name (MtsAiFeature feature)
{
  g_return_val_if_fail ((guint) feature < G_N_ELEMENTS (feature_names), NULL);
  return feature_names[feature];
}

static void
wipe_free (char *s)
{
  if (s != NULL)
    {
      sodium_memzero (s, strlen (s));
      g_free (s);
    }
}

static void
signal_free (gpointer p)
{
  MtsAiSignal *s = p;

  wipe_free (s->passage);
  wipe_free (s->reason);
  g_free (s);
}

void
mts_ai_result_free (MtsAiResult *result)
{
  if (result == NULL)
    return;
  g_free (result->provider);
  g_free (result->model);
  wipe_free (result->draft);
  g_clear_pointer (&result->signals, g_ptr_array_unref);
  g_free (result);
}

/* --- the request ------------------------------------------------------- */

static JsonNode *
request_body (MtsAiFeature feature, const char *client_id, const char *kind,
              JsonNode *structure, const char *text)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "feature");
  json_builder_add_string_value (b, mts_ai_feature_name (feature));
  if (client_id != NULL)
    {
      json_builder_set_member_name (b, "client_id");
      json_builder_add_string_value (b, client_id);
    }
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  if (kind != NULL || structure != NULL)
    {
      json_builder_set_member_name (b, "template");
      json_builder_begin_object (b);
      if (kind != NULL)
        {
          json_builder_set_member_name (b, "kind");
          json_builder_add_string_value (b, kind);
        }
      if (structure != NULL)
        {
          json_builder_set_member_name (b, "structure");
          json_builder_add_value (b, json_node_copy (structure));
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Checks the arguments; the parsed structure in *@structure. */
static gboolean
check_arguments (MtsAiFeature feature, const char *client_id, const char *structure_json,
                 const char *text, JsonNode **structure, GError **error)
{
  if ((guint) feature >= G_N_ELEMENTS (feature_names))
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID, "not an AI feature");
      return FALSE;
    }
  if (feature == MTS_AI_FEATURE_TEMPLATE && client_id != NULL)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the template builder works without a client: pass no client id");
      return FALSE;
    }
  if (feature != MTS_AI_FEATURE_TEMPLATE && (client_id == NULL || *client_id == '\0'))
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "a session note or risk analysis is about a client: pass its id");
      return FALSE;
    }
  if (text == NULL || *text == '\0' || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "there is no text to send (or it is not UTF-8)");
      return FALSE;
    }
  *structure = NULL;
  if (structure_json != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;
      JsonArray *a;

      if (!json_parser_load_from_data (parser, structure_json, -1, NULL) ||
          (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
        goto bad_structure;
      a = json_node_get_array (root);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *item = json_array_get_element (a, i);

          if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
            goto bad_structure;
        }
      *structure = json_node_copy (root);
    }
  return TRUE;

bad_structure:
  g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
               "the template structure is not a JSON array of headings");
  return FALSE;
}

/* The server's own words from a sync error's message ("the server HOST
 * failed (HTTP 502): <message>" for a 5xx; the message itself for a 4xx). */
static const char *
server_words (const char *message)
{
  const char *p;

  if (g_str_has_prefix (message, "the server ") && (p = strstr (message, "): ")) != NULL)
    return p + 3;
  return message;
}

/* Turns the server's AI answers into MTS_AI_ERROR; leaves others be. */
static void
map_error (GError **error, guint status, const char *code)
{
  GError *e = *error;
  MtsAiError ai;
  const char *lead;

  if (e->domain != MTS_SYNC_ERROR ||
      (e->code != MTS_SYNC_ERROR_REFUSED && e->code != MTS_SYNC_ERROR_SERVER))
    return;
  if (g_strcmp0 (code, "ai_not_configured") == 0)
    {
      ai = MTS_AI_ERROR_NOT_CONFIGURED;
      lead = "AI drafting is not set up on the practice's server";
    }
  else if (status == 404 && g_strcmp0 (code, "not_found") == 0)
    {
      ai = MTS_AI_ERROR_NOT_CONFIGURED;
      lead = "The practice's server does not offer AI drafting";
    }
  else if (g_strcmp0 (code, "consent_missing") == 0)
    {
      ai = MTS_AI_ERROR_NO_CONSENT;
      lead = "This client's consent to AI-assisted drafting is not recorded on the server";
    }
  else if (g_strcmp0 (code, "text_too_long") == 0 || status == 413)
    {
      ai = MTS_AI_ERROR_TOO_LONG;
      lead = "The text is too long to send";
    }
  else if (g_strcmp0 (code, "ai_unavailable") == 0)
    {
      ai = MTS_AI_ERROR_UNAVAILABLE;
      lead = "No AI provider could answer just now";
    }
  else if (g_strcmp0 (code, "ai_refused") == 0)
    {
      ai = MTS_AI_ERROR_REFUSED;
      lead = "The AI provider refused the request";
    }
  else if (g_strcmp0 (code, "client_not_found") == 0)
    {
      ai = MTS_AI_ERROR_NOT_FOUND;
      lead = "The server does not know this client (sync first)";
    }
  else
    return;
  *error = g_error_new (MTS_AI_ERROR, ai, "%s: %s", lead, server_words (e->message));
  g_error_free (e);
}

static char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

static MtsAiResult *
read_answer (JsonNode *root, MtsAiFeature feature, const char *text, GError **error)
{
  g_autoptr(MtsAiResult) r = g_new0 (MtsAiResult, 1);
  JsonObject *o;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  o = json_node_get_object (root);
  r->provider = member_string (o, "provider");
  r->model = member_string (o, "model");
  if (r->provider == NULL || r->model == NULL)
    goto bad;
  if (feature == MTS_AI_FEATURE_RISK_SIGNALS)
    {
      JsonNode *list = json_object_get_member (o, "signals");
      JsonArray *a;

      if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
        goto bad;
      a = json_node_get_array (list);
      r->signals = g_ptr_array_new_with_free_func (signal_free);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *item = json_array_get_element (a, i);
          g_autofree char *passage = NULL, *reason = NULL;
          const char *at;
          MtsAiSignal *s;

          if (!JSON_NODE_HOLDS_OBJECT (item))
            goto bad;
          passage = member_string (json_node_get_object (item), "passage");
          reason = member_string (json_node_get_object (item), "reason");
          if (passage == NULL || reason == NULL || *passage == '\0')
            goto bad;
          /* The server sends only passages of the text; one that is not is
           * left out rather than shown against the wrong words. */
          at = strstr (text, passage);
          if (at == NULL)
            continue;
          s = g_new0 (MtsAiSignal, 1);
          s->passage = g_steal_pointer (&passage);
          s->reason = g_steal_pointer (&reason);
          s->offset = (gsize) (at - text);
          g_ptr_array_add (r->signals, s);
        }
    }
  else
    {
      r->draft = member_string (o, "draft");
      if (r->draft == NULL)
        goto bad;
    }
  return g_steal_pointer (&r);

bad:
  g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
               "the server's answer to an AI request is not what the API promises");
  return NULL;
}

MtsAiResult *
mts_ai_draft (MtsSyncSession *session, MtsAiFeature feature, const char *client_id,
              const char *template_kind, const char *template_structure_json, const char *text,
              GCancellable *cancellable, GError **error)
{
  g_autoptr(JsonNode) structure = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autofree char *code = NULL;
  MtsSyncClient *client;
  guint status = 0;

  g_return_val_if_fail (MTS_IS_SYNC_SESSION (session), NULL);

  if (!check_arguments (feature, client_id, template_structure_json, text, &structure, error))
    return NULL;
  body = request_body (feature, client_id, template_kind, structure, text);
  client = mts_sync_session_get_client (session);
  if (client != NULL)
    mts_sync_client_set_timeouts (client, 0, MTS_AI_STALL_TIMEOUT_S);
  answer = mts_sync_session_request (session, "POST", "/v1/ai/draft", body, cancellable,
                                     &status, &code, error);
  /* The session may have made its client meanwhile. */
  client = mts_sync_session_get_client (session);
  if (client != NULL)
    mts_sync_client_set_timeouts (client, 0, 0);
  if (answer == NULL)
    {
      map_error (error, status, code);
      return NULL;
    }
  return read_answer (answer, feature, text, error);
}

/* --- without blocking -------------------------------------------------- */

typedef struct {
  char *dir;
  char *actor;
  MtsKeystore *ks;          /* the clone, until the worker takes it */
  MtsAiFeature feature;
  char *client_id;
  char *kind;
  char *structure;
  char *text;               /* wiped */
} Job;

static void
job_free (gpointer p)
{
  Job *job = p;

  g_free (job->dir);
  g_free (job->actor);
  g_clear_pointer (&job->ks, mts_keystore_free);
  g_free (job->client_id);
  g_free (job->kind);
  wipe_free (job->structure);
  wipe_free (job->text);
  g_free (job);
}

static void
draft_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  g_autoptr(MtsStore) twin = NULL;
  g_autoptr(MtsSyncSession) session = NULL;
  MtsAiResult *result = NULL;
  GError *error = NULL;

  twin = mts_store_open_with_keystore (job->dir, g_steal_pointer (&job->ks), job->actor, &error);
  if (twin != NULL)
    session = mts_sync_session_new (twin, &error);
  if (session != NULL)
    result = mts_ai_draft (session, job->feature, job->client_id, job->kind, job->structure,
                           job->text, cancellable, &error);
  /* Closed before the caller hears: the twin's keys are wiped by then. */
  g_clear_object (&session);
  g_clear_object (&twin);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) mts_ai_result_free);
}

void
mts_ai_draft_async (MtsStore *store, MtsAiFeature feature, const char *client_id,
                    const char *template_kind, const char *template_structure_json,
                    const char *text, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GError *error = NULL;
  MtsKeystore *ks;
  Job *job;

  g_task_set_source_tag (task, mts_ai_draft_async);
  g_task_set_name (task, "[mts] AI draft");
  /* The clone here, on the store's thread; the rest of the twin on the
   * worker (as mts-sync-manager.c does). */
  ks = mts_store_clone_keystore (store, &error);
  if (ks == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job = g_new0 (Job, 1);
  job->dir = g_strdup (mts_store_get_dir (store));
  job->actor = g_strdup (mts_store_get_actor (store));
  job->ks = ks;
  job->feature = feature;
  job->client_id = g_strdup (client_id);
  job->kind = g_strdup (template_kind);
  job->structure = g_strdup (template_structure_json);
  job->text = g_strdup (text);
  g_task_set_task_data (task, job, job_free);
  /* A cancelled task still runs its worker to the end (the request stops
   * at once) and reports the error it got. */
  g_task_set_return_on_cancel (task, FALSE);
  /* ...as MTS_SYNC_ERROR_CANCELLED, like mts_ai_draft(). */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, draft_thread);
}

MtsAiResult *
mts_ai_draft_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mts_ai_draft_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
