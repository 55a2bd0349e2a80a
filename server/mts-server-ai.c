/* mts-server-ai.c — POST /v1/ai/draft (see mts-server-ai.h).
 *
 * A draft runs in three steps.  On the main thread, in the handler: the
 * role, the body, the text's length, whether any provider has a key, the
 * client and its consent; then the request is paused.  Then one provider
 * request at a time through a libsoup SoupSession on the same main loop
 * (asynchronous: other clients are answered meanwhile), each bounded by a
 * connect timer and a total timer, retried or passed to the next provider
 * as mts_ai_wire_classify() says.  Last, on the main thread again: the
 * audit entry, the log line, the answer, and the request resumed.
 *
 * Secrets: a provider key is held in sodium_malloc'ed memory (the
 * environment's for the server's life, the vault's for one draft) and
 * wiped after use; libsoup copies it into the request's header list,
 * which it frees without wiping (out of our hands).  The text and the
 * answer are wiped where this file holds them. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-ai.h"

#include <sodium.h>
#include <string.h>

#include "mts-server-ai-wire.h"

#define MAX_ANSWER_BYTES (8 * 1024 * 1024)
#define MAX_HEADINGS 50
#define MAX_HEADING_BYTES 200
#define ANTHROPIC_VERSION "2023-06-01"

struct _MtsServerAi {
  const MtsServerConfig *config;
  MtsVault *vault;
  SoupSession *session;
  char *env_key[MTS_AI_WIRE_N_PROVIDERS];   /* sodium_malloc, or NULL */
};

static const char *const secret_names[] = { MTS_AI_ANTHROPIC_SECRET, MTS_AI_OPENAI_SECRET };
static const char *const env_names[] = { MTS_AI_ANTHROPIC_ENV, MTS_AI_OPENAI_ENV };

/* --- keys -------------------------------------------------------------- */

static char *
secure_strndup (const char *s, gsize len)
{
  char *copy = sodium_malloc (len + 1);

  if (copy == NULL)
    return NULL;
  memcpy (copy, s, len);
  copy[len] = '\0';
  return copy;
}

static void
secure_free (char *s)
{
  if (s != NULL)
    sodium_free (s);   /* wipes */
}

/* The key of @p for one draft (transfer full, secure_free), or NULL when
 * the provider has none.  A vault failure is logged and counts as none. */
static char *
provider_key (MtsServerAi *ai, MtsAiWireProvider p)
{
  g_autoptr(GError) error = NULL;
  char *plain, *key = NULL;
  gsize len = 0;

  if (ai->env_key[p] != NULL)
    return secure_strndup (ai->env_key[p], strlen (ai->env_key[p]));
  plain = mts_vault_secret_get (ai->vault, secret_names[p], &len, &error);
  if (plain == NULL)
    {
      if (error != NULL)
        mts_log ("error", "ai-key-unreadable", "provider", mts_ai_wire_provider_name (p),
                 "error", error->message, NULL);
      return NULL;
    }
  if (mts_ai_wire_key_valid (plain, len))
    key = secure_strndup (plain, len);
  else
    mts_log ("error", "ai-key-invalid", "provider", mts_ai_wire_provider_name (p), NULL);
  mts_vault_plain_free (plain);
  return key;
}

MtsServerAi *
mts_server_ai_new (const MtsServerConfig *config, MtsVault *vault, GError **error)
{
  g_autoptr(GTlsDatabase) db = NULL;
  MtsServerAi *ai;
  const char *source[MTS_AI_WIRE_N_PROVIDERS];

  if (config->ai_ca_file != NULL)
    {
      db = g_tls_file_database_new (config->ai_ca_file, error);
      if (db == NULL)
        {
          g_prefix_error (error, "[ai] ca_file: ");
          return NULL;
        }
    }
  for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
    {
      const char *value = g_getenv (env_names[p]);

      if (value != NULL && *value != '\0' && !mts_ai_wire_key_valid (value, strlen (value)))
        {
          g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                       "%s is set but is not an API key (%d to %d printable characters, "
                       "no spaces)", env_names[p], MTS_AI_KEY_MIN_BYTES, MTS_AI_KEY_MAX_BYTES);
          return NULL;
        }
    }

  ai = g_new0 (MtsServerAi, 1);
  ai->config = config;
  ai->vault = vault;
  for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
    {
      const char *value = g_getenv (env_names[p]);
      g_autofree char *probe = NULL;

      if (value != NULL && *value != '\0')
        {
          ai->env_key[p] = secure_strndup (value, strlen (value));
          source[p] = "environment";
        }
      else if ((probe = mts_vault_secret_get (vault, secret_names[p], NULL, NULL)) != NULL)
        {
          mts_vault_plain_free (g_steal_pointer (&probe));
          source[p] = "vault";
        }
      else
        source[p] = "none";
    }
  ai->session = soup_session_new_with_options ("timeout", config->ai_timeout_seconds,
                                               "idle-timeout", 60,
                                               "max-conns-per-host", 4,
                                               "user-agent", "mts-server",
                                               NULL);
  if (db != NULL)
    soup_session_set_tls_database (ai->session, db);
  mts_log ("info", "ai-keys", "anthropic", source[MTS_AI_WIRE_ANTHROPIC],
           "openai", source[MTS_AI_WIRE_OPENAI], NULL);
  return ai;
}

void
mts_server_ai_free (MtsServerAi *ai)
{
  if (ai == NULL)
    return;
  if (ai->session != NULL)
    soup_session_abort (ai->session);
  g_clear_object (&ai->session);
  for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
    secure_free (ai->env_key[p]);
  g_free (ai);
}

/* --- one draft --------------------------------------------------------- */

typedef enum {
  END_OK,
  END_REFUSED,
  END_UNAVAILABLE,
} End;

typedef struct {
  MtsServer *server;
  MtsServerAi *ai;
  SoupServerMessage *msg;
  gint64 started;
  MtsAiWireFeature feature;
  char *practice_id, *user_id, *device_id, *client_id;
  char *text;                                   /* wiped */
  const char *system;                           /* static */
  char *user_message;                           /* wiped */
  char *key[MTS_AI_WIRE_N_PROVIDERS];           /* secure */
  MtsAiWireProvider order[MTS_AI_WIRE_N_PROVIDERS];
  guint n_order, at;                            /* providers to try; the one now */
  guint retries_done;                           /* of the one now */
  char *failure[MTS_AI_WIRE_N_PROVIDERS];       /* why each failed (plain words) */
  GString *attempts;                            /* "anthropic:529 openai:ok" */
  /* The request in flight. */
  SoupMessage *out;
  GCancellable *cancel;
  guint total_timer, connect_timer, retry_timer;
  gboolean connected, timed_out, connect_timed_out, too_large;
} Draft;

static void
draft_free (Draft *d)
{
  g_free (d->practice_id);
  g_free (d->user_id);
  g_free (d->device_id);
  g_free (d->client_id);
  mts_ai_wire_wipe_free (d->text);
  mts_ai_wire_wipe_free (d->user_message);
  for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
    {
      secure_free (d->key[p]);
      g_free (d->failure[p]);
    }
  g_string_free (d->attempts, TRUE);
  g_clear_object (&d->out);
  g_clear_object (&d->cancel);
  g_free (d);
}

static void
clear_timers (Draft *d)
{
  g_clear_handle_id (&d->total_timer, g_source_remove);
  g_clear_handle_id (&d->connect_timer, g_source_remove);
}

static void
attempt (Draft *d, MtsAiWireProvider p, const char *result)
{
  if (d->attempts->len > 0)
    g_string_append_c (d->attempts, ' ');
  g_string_append_printf (d->attempts, "%s:%s", mts_ai_wire_provider_name (p), result);
}

/* The audit entry and the log line of a draft that reached the relay
 * (@provider: who answered, or -1), before the answer is sent. */
static gboolean
record (MtsServer *server, const char *practice_id, const char *user_id, const char *device_id,
        MtsAiWireFeature feature, const char *client_id, int provider, const char *model,
        const char *outcome, const char *attempts, gint64 started, GError **error)
{
  MtsStorage *s = server->storage;
  g_autoptr(JsonBuilder) d = json_builder_new ();
  g_autofree char *ms = g_strdup_printf ("%.1f", (g_get_monotonic_time () - started) / 1000.0);
  const char *provider_name = provider >= 0 ? mts_ai_wire_provider_name (provider) : NULL;
  gboolean ok;

  json_builder_begin_object (d);
  json_builder_set_member_name (d, "feature");
  json_builder_add_string_value (d, mts_ai_wire_feature_name (feature));
  json_builder_set_member_name (d, "client_id");
  if (client_id != NULL)
    json_builder_add_string_value (d, client_id);
  else
    json_builder_add_null_value (d);
  json_builder_set_member_name (d, "device_id");
  json_builder_add_string_value (d, device_id);
  json_builder_set_member_name (d, "provider");
  if (provider_name != NULL)
    json_builder_add_string_value (d, provider_name);
  else
    json_builder_add_null_value (d);
  if (model != NULL)
    {
      json_builder_set_member_name (d, "model");
      json_builder_add_string_value (d, model);
    }
  json_builder_set_member_name (d, "outcome");
  json_builder_add_string_value (d, outcome);
  if (attempts != NULL && *attempts != '\0')
    {
      json_builder_set_member_name (d, "attempts");
      json_builder_add_string_value (d, attempts);
    }
  json_builder_end_object (d);

  ok = s->ops->begin (s, error) &&
       mts_server_audit (server, practice_id, user_id, "ai-draft", d, error) &&
       s->ops->commit (s, error);
  if (!ok)
    s->ops->rollback (s);
  mts_log (ok ? "info" : "error", "ai-draft", "practice", practice_id, "user", user_id,
           "device", device_id, "feature", mts_ai_wire_feature_name (feature),
           "provider", provider_name, "outcome", outcome,
           "attempts", attempts != NULL && *attempts != '\0' ? attempts : NULL,
           "ms", ms, "audit", ok ? "ok" : (*error)->message, NULL);
  return ok;
}

static void
audit_failed (SoupServerMessage *msg)
{
  mts_http_error (msg, 500, "internal", NULL,
                  "the server could not record the use of AI drafting in its audit log, "
                  "so the draft is withheld");
}

/* Ends the draft: records it, answers, resumes the request and frees @d. */
static void
finish (Draft *d, End end, MtsAiWireProvider provider, const char *model, char *answer,
        const char *refusal)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) signals = NULL;
  const char *outcome;

  if (end == END_OK && d->feature == MTS_AI_WIRE_RISK_SIGNALS)
    {
      signals = mts_ai_wire_parse_signals (answer, d->text, NULL);
      g_assert (signals != NULL);   /* checked before finishing */
    }
  outcome = end == END_REFUSED ? "refused"
          : end == END_UNAVAILABLE ? "unavailable"
          : d->at > 0 ? "fallback" : "ok";

  if (!record (d->server, d->practice_id, d->user_id, d->device_id, d->feature, d->client_id,
               end == END_OK || end == END_REFUSED ? (int) provider : -1, model, outcome,
               d->attempts->str, d->started, &error))
    audit_failed (d->msg);
  else if (end == END_OK)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "provider");
      json_builder_add_string_value (b, mts_ai_wire_provider_name (provider));
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, model);
      if (signals != NULL)
        {
          json_builder_set_member_name (b, "signals");
          json_builder_begin_array (b);
          for (guint i = 0; i < signals->len; i++)
            {
              MtsAiWireSignal *sig = signals->pdata[i];

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "passage");
              json_builder_add_string_value (b, sig->passage);
              json_builder_set_member_name (b, "reason");
              json_builder_add_string_value (b, sig->reason);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      else
        {
          json_builder_set_member_name (b, "draft");
          json_builder_add_string_value (b, answer);
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      mts_http_json (d->msg, 200, root);
    }
  else if (end == END_REFUSED)
    mts_http_error (d->msg, 502, "ai_refused", NULL,
                    "%s refused the request: %s. The server does not try another provider "
                    "for a refusal; nothing was kept.",
                    mts_ai_wire_provider_label (provider), refusal);
  else
    {
      GString *why = g_string_new (NULL);

      for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
        {
          if (why->len > 0)
            g_string_append (why, "; ");
          g_string_append_printf (why, "%s: %s", mts_ai_wire_provider_label (p),
                                  d->failure[p] != NULL ? d->failure[p]
                                  : d->key[p] == NULL ? "not configured" : "not tried");
        }
      mts_http_error (d->msg, 502, "ai_unavailable", NULL,
                      "no AI provider could answer: %s. Try again later.", why->str);
      g_string_free (why, TRUE);
    }
  mts_ai_wire_wipe_free (answer);
  mts_http_resume (d->server, d->msg);
  draft_free (d);
}

static void start_request (Draft *d);

/* The provider now asked has failed in a way another may not: note why
 * and try the next, or end as unavailable. */
static void
fall_back (Draft *d, const char *why)
{
  MtsAiWireProvider p = d->order[d->at];

  g_free (d->failure[p]);
  d->failure[p] = g_strdup (why);
  if (d->at + 1 < d->n_order)
    {
      d->at++;
      d->retries_done = 0;
      start_request (d);
    }
  else
    finish (d, END_UNAVAILABLE, p, NULL, NULL, NULL);
}

static gboolean
retry_cb (gpointer data)
{
  Draft *d = data;

  d->retry_timer = 0;
  start_request (d);
  return G_SOURCE_REMOVE;
}

static gboolean
total_timeout_cb (gpointer data)
{
  Draft *d = data;

  d->total_timer = 0;
  d->timed_out = TRUE;
  g_cancellable_cancel (d->cancel);
  return G_SOURCE_REMOVE;
}

static gboolean
connect_timeout_cb (gpointer data)
{
  Draft *d = data;

  d->connect_timer = 0;
  if (!d->connected)
    {
      d->connect_timed_out = TRUE;
      g_cancellable_cancel (d->cancel);
    }
  return G_SOURCE_REMOVE;
}

static void
network_event_cb (SoupMessage *m, GSocketClientEvent event, GIOStream *connection, gpointer data)
{
  Draft *d = data;

  if (event == G_SOCKET_CLIENT_COMPLETE)
    d->connected = TRUE;
}

/* A connection reused from an earlier request sends no network events. */
static void
wrote_headers_cb (SoupMessage *m, gpointer data)
{
  Draft *d = data;

  d->connected = TRUE;
}

static void
got_headers_cb (SoupMessage *m, gpointer data)
{
  Draft *d = data;
  SoupMessageHeaders *h = soup_message_get_response_headers (m);

  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (h) > MAX_ANSWER_BYTES)
    {
      d->too_large = TRUE;
      g_cancellable_cancel (d->cancel);
    }
}

static char *
transport_reason (Draft *d, const GError *error)
{
  if (d->connect_timed_out)
    return g_strdup_printf ("could not be reached within %u s",
                            d->ai->config->ai_connect_timeout_seconds);
  if (d->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_strdup_printf ("did not answer within %u s", d->ai->config->ai_timeout_seconds);
  if (d->too_large)
    return g_strdup ("answered with more than the server accepts");
  if (error->domain == G_TLS_ERROR)
    return g_strdup ("its TLS certificate did not verify, or TLS failed");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup ("refused the connection");
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND) ||
      g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE))
    return g_strdup ("its name did not resolve");
  return g_strdup ("the connection failed");
}

static const char *
transport_tag (Draft *d, const GError *error)
{
  if (d->connect_timed_out)
    return "connect-timeout";
  if (d->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "timeout";
  if (d->too_large)
    return "too-large";
  if (error->domain == G_TLS_ERROR)
    return "tls";
  return "connection";
}

static void
request_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Draft *d = data;
  MtsServerAi *ai = d->ai;
  MtsAiWireProvider p = d->order[d->at];
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  g_autoptr(SoupMessage) out = g_steal_pointer (&d->out);
  g_autofree char *reason = NULL;
  g_autofree char *model = NULL;
  const char *data_ = NULL;
  gsize len = 0;
  guint status, wait_ms = 0;
  MtsAiWireVerdict verdict;
  gint64 retry_after;
  SoupMessageHeaders *h;

  clear_timers (d);
  g_clear_object (&d->cancel);
  if (body != NULL && g_bytes_get_size (body) > MAX_ANSWER_BYTES)
    d->too_large = TRUE;
  if (body == NULL || d->too_large)
    {
      g_autoptr(GError) none = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "");

      reason = transport_reason (d, error != NULL ? error : none);
      attempt (d, p, transport_tag (d, error != NULL ? error : none));
      fall_back (d, reason);
      return;
    }
  data_ = g_bytes_get_data (body, &len);
  status = soup_message_get_status (out);
  h = soup_message_get_response_headers (out);
  retry_after = mts_ai_wire_retry_after_ms (soup_message_headers_get_one (h, "retry-after"),
                                            soup_message_headers_get_one (h, "retry-after-ms"));
  verdict = mts_ai_wire_classify (p, status, data_, len, retry_after,
                                  ai->config->ai_retries - MIN (d->retries_done, ai->config->ai_retries),
                                  ai->config->ai_max_retry_wait_seconds * 1000, &wait_ms, &reason);
  switch (verdict)
    {
    case MTS_AI_WIRE_USE:
      {
        gboolean refusal = FALSE;
        char *answer = mts_ai_wire_parse_answer (p, data_, len, &model, &refusal, &reason);

        if (answer != NULL && d->feature == MTS_AI_WIRE_RISK_SIGNALS)
          {
            g_autoptr(GPtrArray) signals = mts_ai_wire_parse_signals (answer, d->text, NULL);

            if (signals == NULL)
              {
                mts_ai_wire_wipe_free (g_steal_pointer (&answer));
                reason = g_strdup ("did not answer in the JSON asked for");
              }
          }
        if (answer != NULL)
          {
            attempt (d, p, "ok");
            finish (d, END_OK, p,
                    model != NULL ? model
                    : p == MTS_AI_WIRE_ANTHROPIC ? ai->config->ai_anthropic_model
                    : ai->config->ai_openai_model,
                    answer, NULL);
          }
        else if (refusal)
          {
            attempt (d, p, "declined");
            finish (d, END_REFUSED, p, NULL, NULL, reason);
          }
        else
          {
            attempt (d, p, "bad-answer");
            fall_back (d, reason);
          }
        return;
      }
    case MTS_AI_WIRE_RETRY:
      {
        g_autofree char *tag = g_strdup_printf ("%u-retry", status);

        attempt (d, p, tag);
        d->retries_done++;
        d->retry_timer = g_timeout_add (wait_ms, retry_cb, d);
        return;
      }
    case MTS_AI_WIRE_FALLBACK:
      {
        g_autofree char *tag = g_strdup_printf ("%u", status);

        attempt (d, p, tag);
        fall_back (d, reason);
        return;
      }
    case MTS_AI_WIRE_REFUSED:
    default:
      {
        g_autofree char *tag = g_strdup_printf ("%u", status);

        attempt (d, p, tag);
        finish (d, END_REFUSED, p, NULL, NULL, reason);
        return;
      }
    }
}

static void
start_request (Draft *d)
{
  MtsServerAi *ai = d->ai;
  const MtsServerConfig *c = ai->config;
  MtsAiWireProvider p = d->order[d->at];
  gboolean anthropic = p == MTS_AI_WIRE_ANTHROPIC;
  g_autofree char *url = g_strconcat (anthropic ? c->ai_anthropic_base_url : c->ai_openai_base_url,
                                      anthropic ? "/v1/messages" : "/v1/chat/completions", NULL);
  g_autoptr(GBytes) body = mts_ai_wire_request_body (p, anthropic ? c->ai_anthropic_model
                                                                  : c->ai_openai_model,
                                                     c->ai_max_tokens, d->system,
                                                     d->user_message);
  SoupMessageHeaders *h;

  d->out = soup_message_new ("POST", url);
  if (d->out == NULL)
    {
      /* The configuration checks the URL; this is only a guard. */
      attempt (d, p, "bad-url");
      fall_back (d, "its configured address is not a URL");
      return;
    }
  h = soup_message_get_request_headers (d->out);
  soup_message_headers_replace (h, "Accept", "application/json");
  if (anthropic)
    {
      soup_message_headers_replace (h, "x-api-key", d->key[p]);
      soup_message_headers_replace (h, "anthropic-version", ANTHROPIC_VERSION);
    }
  else
    {
      gsize n = strlen (d->key[p]) + sizeof "Bearer ";
      char *auth = sodium_malloc (n);

      g_snprintf (auth, n, "Bearer %s", d->key[p]);
      soup_message_headers_replace (h, "Authorization", auth);
      sodium_free (auth);
    }
  soup_message_set_request_body_from_bytes (d->out, "application/json", body);
  g_signal_connect (d->out, "network-event", G_CALLBACK (network_event_cb), d);
  g_signal_connect (d->out, "wrote-headers", G_CALLBACK (wrote_headers_cb), d);
  g_signal_connect (d->out, "got-headers", G_CALLBACK (got_headers_cb), d);

  d->connected = d->timed_out = d->connect_timed_out = d->too_large = FALSE;
  d->cancel = g_cancellable_new ();
  d->total_timer = g_timeout_add_seconds (c->ai_timeout_seconds, total_timeout_cb, d);
  d->connect_timer = g_timeout_add_seconds (c->ai_connect_timeout_seconds, connect_timeout_cb, d);
  soup_session_send_and_read_async (ai->session, d->out, G_PRIORITY_DEFAULT, d->cancel,
                                    request_done_cb, d);
}

/* --- the endpoint ------------------------------------------------------ */

static gboolean
is_kind (const char *s)
{
  return g_strcmp0 (s, "SOAP") == 0 || g_strcmp0 (s, "DAP") == 0 || g_strcmp0 (s, "BIRP") == 0 ||
         g_strcmp0 (s, "free") == 0;
}

/* Reads "template": {"kind", "structure"}; answers 400 and returns FALSE
 * when it is malformed. */
static gboolean
read_template (SoupServerMessage *msg, JsonNode *node, const char **kind, GPtrArray *headings)
{
  static const char *const members[] = { "kind", "structure", NULL };
  JsonObject *o;
  JsonNode *structure;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      mts_http_error (msg, 400, "invalid", "template", "template: must be an object");
      return FALSE;
    }
  o = json_node_get_object (node);
  if (!mts_json_only (msg, o, "template.", members))
    return FALSE;
  if (json_object_has_member (o, "kind"))
    {
      if ((*kind = mts_json_string (msg, o, "template.", "kind", 8)) == NULL)
        return FALSE;
      if (!is_kind (*kind))
        {
          mts_http_error (msg, 400, "invalid", "template.kind",
                          "template.kind: must be one of SOAP, DAP, BIRP, free");
          return FALSE;
        }
    }
  structure = json_object_get_member (o, "structure");
  if (structure != NULL)
    {
      JsonArray *a;

      if (!JSON_NODE_HOLDS_ARRAY (structure) ||
          json_array_get_length (json_node_get_array (structure)) > MAX_HEADINGS)
        {
          mts_http_error (msg, 400, "invalid", "template.structure",
                          "template.structure: must be an array of at most %d headings",
                          MAX_HEADINGS);
          return FALSE;
        }
      a = json_node_get_array (structure);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *item = json_array_get_element (a, i);
          g_autofree char *field = g_strdup_printf ("template.structure[%u]", i);
          const char *heading;
          gboolean ok = JSON_NODE_HOLDS_VALUE (item) &&
                        json_node_get_value_type (item) == G_TYPE_STRING;

          heading = ok ? json_node_get_string (item) : NULL;
          ok = ok && *heading != '\0' && strlen (heading) <= MAX_HEADING_BYTES;
          for (const char *c = heading; ok && *c != '\0'; c++)
            if ((guchar) *c < ' ' || *c == 0x7f)
              ok = FALSE;
          if (!ok)
            {
              mts_http_error (msg, 400, "invalid", field,
                              "%s: must be a heading: 1 to %d bytes of text on one line",
                              field, MAX_HEADING_BYTES);
              return FALSE;
            }
          g_ptr_array_add (headings, (gpointer) heading);
        }
    }
  return TRUE;
}

typedef struct {
  gboolean consented;
} ConsentScan;

static gboolean
consent_each (const MtsRecordRow *row, gpointer data)
{
  ConsentScan *scan = data;
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root, *value;

  if (strcmp (row->table, "ai_consents") != 0 || row->deleted)
    return TRUE;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, row->plain_json, -1, NULL))
    return TRUE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return TRUE;
  value = json_object_get_member (json_node_get_object (root), "consented");
  if (value != NULL && JSON_NODE_HOLDS_VALUE (value) &&
      json_node_get_value_type (value) == G_TYPE_INT64 && json_node_get_int (value) == 1)
    {
      scan->consented = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* Whether @client_id is a live client of the practice (*@found) with a
 * live ai_consents record that says consented = 1 (*@consented). */
static gboolean
client_consent (MtsServer *server, const char *practice_id, const char *client_id,
                gboolean *found, gboolean *consented, GError **error)
{
  MtsStorage *s = server->storage;
  g_auto(MtsRecordRow) client = { 0 };
  ConsentScan scan = { FALSE };
  MtsStorageFound f;

  *found = *consented = FALSE;
  f = s->ops->record_get (s, practice_id, "clients", client_id, &client, error);
  if (f == MTS_STORAGE_ERROR_RESULT)
    return FALSE;
  if (f == MTS_STORAGE_NOT_FOUND || client.deleted)
    return TRUE;
  *found = TRUE;
  if (!s->ops->records_referencing (s, practice_id, "client_id", client_id, consent_each, &scan,
                                    error))
    return FALSE;
  *consented = scan.consented;
  return TRUE;
}

static void
internal_error (SoupServerMessage *msg, GError *error)
{
  mts_log ("error", "internal", "during", "ai-draft", "error", error ? error->message : NULL, NULL);
  mts_http_error (msg, 500, "internal", NULL, "the server failed; nothing was sent to a provider");
}

void
mts_ai_draft_post (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller)
{
  static const char *const members[] = { "feature", "client_id", "text", "template", NULL };
  MtsServerAi *ai = server->ai;
  const MtsServerConfig *c = server->config;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) headings = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *feature_name, *client_id = NULL, *text, *kind = NULL;
  MtsAiWireFeature feature;
  gint64 started = g_get_monotonic_time ();
  JsonNode *tmpl;
  JsonObject *o;
  gboolean found, consented;
  Draft *d;

  if (strcmp (caller->role, "support") == 0)
    {
      mts_http_error (msg, 403, "forbidden", NULL, "support users cannot use AI drafting");
      return;
    }
  root = mts_http_body_object (msg);
  if (root == NULL)
    return;
  o = json_node_get_object (root);
  if (!mts_json_only (msg, o, "", members) ||
      (feature_name = mts_json_string (msg, o, "", "feature", 32)) == NULL)
    return;
  if (!mts_ai_wire_feature_from_name (feature_name, &feature))
    {
      mts_http_error (msg, 400, "invalid", "feature",
                      "feature: must be one of session_note, risk_signals, template");
      return;
    }
  if (feature == MTS_AI_WIRE_TEMPLATE)
    {
      if (json_object_has_member (o, "client_id"))
        {
          mts_http_error (msg, 400, "invalid", "client_id",
                          "client_id: the template builder works without client records; "
                          "leave it out");
          return;
        }
    }
  else
    {
      if ((client_id = mts_json_string (msg, o, "", "client_id", 36)) == NULL)
        return;
      if (!mts_is_uuid (client_id))
        {
          mts_http_error (msg, 400, "invalid", "client_id", "client_id: must be a lower-case UUID");
          return;
        }
    }
  if ((text = mts_json_string (msg, o, "", "text", G_MAXSIZE)) == NULL)
    return;
  tmpl = json_object_get_member (o, "template");
  if (tmpl != NULL && !read_template (msg, tmpl, &kind, headings))
    return;
  g_ptr_array_add (headings, NULL);

  if ((guint64) g_utf8_strlen (text, -1) > c->ai_max_text_chars)
    {
      record (server, caller->practice_id, caller->user_id, caller->device_id, feature, client_id,
              -1, NULL, "too_long", NULL, started, &error);
      g_clear_error (&error);
      mts_http_error (msg, 413, "text_too_long", "text",
                      "text: longer than the server's limit of %u characters for AI drafting; "
                      "send a shorter part", c->ai_max_text_chars);
      return;
    }

  d = g_new0 (Draft, 1);
  d->server = server;
  d->ai = ai;
  d->msg = msg;
  d->started = started;
  d->feature = feature;
  d->attempts = g_string_new (NULL);
  for (guint p = 0; p < MTS_AI_WIRE_N_PROVIDERS; p++)
    {
      d->key[p] = provider_key (ai, p);
      if (d->key[p] != NULL)
        d->order[d->n_order++] = p;
    }
  if (d->n_order == 0)
    {
      draft_free (d);
      record (server, caller->practice_id, caller->user_id, caller->device_id, feature, client_id,
              -1, NULL, "not_configured", NULL, started, &error);
      g_clear_error (&error);
      mts_http_error (msg, 503, "ai_not_configured", NULL,
                      "AI drafting is not set up on this server: its operator has given it no "
                      "provider key");
      return;
    }

  if (client_id != NULL)
    {
      if (!client_consent (server, caller->practice_id, client_id, &found, &consented, &error))
        {
          draft_free (d);
          internal_error (msg, error);
          return;
        }
      if (!found || !consented)
        {
          draft_free (d);
          if (!record (server, caller->practice_id, caller->user_id, caller->device_id, feature,
                       client_id, -1, NULL, found ? "no_consent" : "not_found", NULL, started,
                       &error))
            {
              audit_failed (msg);
              return;
            }
          if (!found)
            mts_http_error (msg, 404, "client_not_found", "client_id",
                            "client_id: no such client in this practice (or it was deleted)");
          else
            mts_http_error (msg, 403, "consent_missing", "client_id",
                            "this client's consent to AI-assisted drafting is not recorded: "
                            "record it first; nothing was sent");
          return;
        }
    }

  d->practice_id = g_strdup (caller->practice_id);
  d->user_id = g_strdup (caller->user_id);
  d->device_id = g_strdup (caller->device_id);
  d->client_id = g_strdup (client_id);
  d->text = g_strdup (text);
  d->system = mts_ai_wire_system_prompt (feature);
  d->user_message = mts_ai_wire_user_message (feature, text, kind,
                                               headings->len > 1
                                               ? (const char *const *) headings->pdata : NULL);
  mts_http_hold (server, msg);
  start_request (d);
}
