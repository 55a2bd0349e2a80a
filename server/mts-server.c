/* mts-server.c — the HTTPS server: listening with TLS, routing, the checks
 * every request passes (protocol version, body size and type, bearer
 * token), request logs, and graceful shutdown (see mts-server.h). */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server.h"

#include <glib-unix.h>
#include <string.h>

#include "mts-json-generate.h"
#include "mts-json-strict.h"
#include "mts-server-ai.h"
#include "mts-server-audit.h"

/* TLS 1.2 and 1.3 only.  glib-networking's GnuTLS backend reads its priority
 * string from this variable when the first TLS connection is made; there is
 * no API to set it per server in GLib 2.74. */
#define TLS_PRIORITY "NORMAL:%COMPAT:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* If requests are still in flight this long after SIGTERM, stop anyway. */
#define DRAIN_TIMEOUT_SECONDS 30

typedef enum { AUTH_NONE, AUTH_BEARER } RouteAuth;

typedef struct {
  const char *method;
  const char *path;
  RouteAuth auth;
  void (*plain) (MtsServer *server, SoupServerMessage *msg);
  void (*with_caller) (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller);
} Route;

static void
pull_route (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller)
{
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr(GHashTable) query = NULL;
  const char *q = g_uri_get_query (uri);

  if (q != NULL)
    {
      query = g_uri_parse_params (q, -1, "&", G_URI_PARAMS_NONE, NULL);
      if (query == NULL)
        {
          mts_http_error (msg, 400, "invalid", NULL, "the query string is malformed");
          return;
        }
    }
  mts_sync_pull (server, msg, caller, query);
}

static const Route routes[] = {
  { "POST", "/v1/auth/login", AUTH_NONE, mts_auth_login, NULL },
  { "POST", "/v1/auth/refresh", AUTH_NONE, mts_auth_refresh, NULL },
  { "POST", "/v1/auth/logout", AUTH_NONE, mts_auth_logout, NULL },
  { "POST", "/v1/sync/push", AUTH_BEARER, NULL, mts_sync_push },
  { "GET", "/v1/sync/pull", AUTH_BEARER, NULL, pull_route },
  { "POST", "/v1/audit/head", AUTH_BEARER, NULL, mts_audit_head_post },
  { "GET", "/v1/audit/head", AUTH_BEARER, NULL, mts_audit_head_get },
  { "POST", "/v1/ai/draft", AUTH_BEARER, NULL, mts_ai_draft_post },
};

gboolean
mts_is_uuid (const char *s)
{
  if (strlen (s) != 36)
    return FALSE;
  for (guint i = 0; i < 36; i++)
    {
      gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? s[i] != '-' : !g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
        return FALSE;
    }
  return TRUE;
}

gint64
mts_server_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

void
mts_caller_clear (MtsCaller *caller)
{
  g_clear_pointer (&caller->practice_id, g_free);
  g_clear_pointer (&caller->user_id, g_free);
  g_clear_pointer (&caller->device_id, g_free);
  g_clear_pointer (&caller->role, g_free);
}

/* --- logging --------------------------------------------------------------- */

void
mts_log (const char *level, const char *event, ...)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format_iso8601 (now);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *line = NULL;
  const char *key;
  va_list ap;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, time);
  json_builder_set_member_name (b, "level");
  json_builder_add_string_value (b, level);
  json_builder_set_member_name (b, "event");
  json_builder_add_string_value (b, event);
  va_start (ap, event);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);
      json_builder_set_member_name (b, key);
      if (value != NULL)
        json_builder_add_string_value (b, value);
      else
        json_builder_add_null_value (b);
    }
  va_end (ap);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  line = mts_json_generate (gen, NULL);
  g_printerr ("%s\n", line);
}

/* Log lines for GLib's own messages (g_warning and friends) too, so stderr
 * stays one JSON object per line. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *message = NULL, *domain = NULL;
  const char *name = (level & G_LOG_LEVEL_ERROR) ? "error"
                   : (level & G_LOG_LEVEL_CRITICAL) ? "critical"
                   : (level & G_LOG_LEVEL_WARNING) ? "warning"
                   : (level & G_LOG_LEVEL_MESSAGE) ? "message"
                   : (level & G_LOG_LEVEL_INFO) ? "info" : "debug";

  if ((level & G_LOG_LEVEL_DEBUG) && g_getenv ("G_MESSAGES_DEBUG") == NULL)
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
        message = fields[i].value;
      else if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
        domain = fields[i].value;
    }
  mts_log (name, "glib", "domain", domain, "message", message, NULL);
  return G_LOG_WRITER_HANDLED;
}

/* --- answering ------------------------------------------------------------- */

void
mts_http_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  gsize len = 0;
  char *text;

  json_generator_set_root (gen, node);
  text = mts_json_generate (gen, &len);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

void
mts_http_error (SoupServerMessage *msg, guint status, const char *code,
                const char *field, const char *format, ...)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  if (field != NULL)
    {
      json_builder_set_member_name (b, "field");
      json_builder_add_string_value (b, field);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  mts_http_json (msg, status, root);
}

JsonNode *
mts_http_body_object (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (body->length == 0)
    {
      mts_http_error (msg, 400, "bad_json", NULL, "the request has no body");
      return NULL;
    }
  /* Strictly first (json-glib alone would take single quotes, comments,
   * duplicate keys...): see mts-json-strict.h.  Its messages name a line
   * and column, never the text. */
  if (!mts_json_strict_check (body->data, body->length, &error))
    {
      mts_http_error (msg, 400, "bad_json", NULL, "the body is not valid JSON: %s",
                      error->message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, body->data, body->length, &error))
    {
      mts_http_error (msg, 400, "bad_json", NULL, "the body is not valid JSON: %s",
                      error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      mts_http_error (msg, 400, "invalid", "", "the body must be a JSON object");
      return NULL;
    }
  return json_node_ref (root);
}

gboolean
mts_json_only (SoupServerMessage *msg, JsonObject *object, const char *prefix,
               const char *const *allowed)
{
  JsonObjectIter iter;
  const char *name;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, NULL))
    if (!g_strv_contains (allowed, name))
      {
        g_autofree char *field = g_strconcat (prefix, name, NULL);
        mts_http_error (msg, 400, "invalid", field, "%s: unknown field", field);
        return FALSE;
      }
  return TRUE;
}

const char *
mts_json_string (SoupServerMessage *msg, JsonObject *object, const char *prefix,
                 const char *member, gsize max_bytes)
{
  g_autofree char *field = g_strconcat (prefix, member, NULL);
  JsonNode *node = json_object_get_member (object, member);
  const char *value;

  if (node == NULL)
    {
      mts_http_error (msg, 400, "invalid", field, "%s: missing", field);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      mts_http_error (msg, 400, "invalid", field, "%s: must be a string", field);
      return NULL;
    }
  value = json_node_get_string (node);
  if (value[0] == '\0')
    {
      mts_http_error (msg, 400, "invalid", field, "%s: must not be empty", field);
      return NULL;
    }
  if (strlen (value) > max_bytes)
    {
      mts_http_error (msg, 400, "invalid", field, "%s: longer than %" G_GSIZE_FORMAT " bytes",
                      field, max_bytes);
      return NULL;
    }
  return value;
}

gboolean
mts_server_audit (MtsServer *server, const char *practice_id, const char *actor,
                  const char *event, JsonBuilder *detail, GError **error)
{
  g_autofree char *text = NULL;

  if (detail != NULL)
    {
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = json_builder_get_root (detail);
      json_generator_set_root (gen, root);
      text = mts_json_generate (gen, NULL);
    }
  return mts_server_audit_append (server->storage, mts_vault_audit_key (server->vault),
                                  mts_server_now (), practice_id, actor, event, text, error);
}

/* --- requests in flight ---------------------------------------------------- */

typedef struct {
  MtsServer *server;
  gint64 started;
} Flight;

static void
maybe_quit (MtsServer *server)
{
  if (server->stopping && server->in_flight == 0 && server->loop != NULL)
    g_main_loop_quit (server->loop);
}

static void
request_finished_cb (SoupServerMessage *msg, gpointer data)
{
  Flight *flight = data;
  g_autofree char *status = g_strdup_printf ("%u", soup_server_message_get_status (msg));
  g_autofree char *ms = g_strdup_printf ("%.1f", (g_get_monotonic_time () - flight->started) / 1000.0);

  mts_log ("info", "request",
           "method", soup_server_message_get_method (msg),
           "path", g_uri_get_path (soup_server_message_get_uri (msg)),
           "status", status, "ms", ms,
           "remote", soup_server_message_get_remote_host (msg), NULL);
}

static void
flight_free (gpointer data)
{
  Flight *flight = data;
  MtsServer *server = flight->server;

  server->in_flight--;
  g_free (flight);
  maybe_quit (server);
}

void
mts_http_hold (MtsServer *server, SoupServerMessage *msg)
{
  g_object_ref (msg);
  soup_server_message_pause (msg);
}

void
mts_http_resume (MtsServer *server, SoupServerMessage *msg)
{
  soup_server_message_unpause (msg);
  g_object_unref (msg);
}

/* --- routing --------------------------------------------------------------- */

static gboolean
content_type_is_json (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *type = soup_message_headers_get_content_type (h, NULL);

  return type != NULL && g_ascii_strcasecmp (type, "application/json") == 0;
}

static void
early_cb (SoupServer *soup, SoupServerMessage *msg, const char *path,
          GHashTable *query, gpointer data)
{
  MtsServer *server = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (h);
  Flight *flight = g_new0 (Flight, 1);

  /* In flight from here, once its headers are in, until libsoup lets go of
   * it after the answer is written: a request whose body is still arriving
   * at SIGTERM is finished too.  (A client still sending its headers is
   * not waited for.) */
  flight->server = server;
  flight->started = g_get_monotonic_time ();
  server->in_flight++;
  g_object_set_data_full (G_OBJECT (msg), "mts-flight", flight, flight_free);
  g_signal_connect (msg, "finished", G_CALLBACK (request_finished_cb), flight);

  if (server->stopping)
    {
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Connection", "close");
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Retry-After", "5");
      mts_http_error (msg, 503, "shutting_down", NULL, "the server is shutting down");
      return;
    }
  /* Refuse an oversized body before reading it.  A body must state its
   * length: chunked uploads could not be refused without reading them. */
  if (encoding == SOUP_ENCODING_CHUNKED || encoding == SOUP_ENCODING_EOF)
    {
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Connection", "close");
      mts_http_error (msg, 411, "length_required", NULL,
                      "a request body must have a Content-Length");
      return;
    }
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (h) > (goffset) server->config->max_body_bytes)
    {
      soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                   "Connection", "close");
      mts_http_error (msg, 413, "too_large", NULL,
                      "the body is larger than the server's limit of %" G_GSIZE_FORMAT " bytes",
                      server->config->max_body_bytes);
      return;
    }
}

static void
handle_cb (SoupServer *soup, SoupServerMessage *msg, const char *path,
           GHashTable *query, gpointer data)
{
  MtsServer *server = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  const char *protocol;
  const Route *route = NULL;
  gboolean path_known = FALSE;

  soup_message_headers_replace (resp, MTS_PROTOCOL_HEADER, G_STRINGIFY (MTS_PROTOCOL_VERSION));
  soup_message_headers_replace (resp, "Cache-Control", "no-store");

  if (strcmp (path, "/v1/health") == 0 && strcmp (method, "GET") == 0)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, "ok");
      json_builder_set_member_name (b, "protocol");
      json_builder_add_int_value (b, MTS_PROTOCOL_VERSION);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      mts_http_json (msg, 200, root);
      return;
    }

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    if (strcmp (routes[i].path, path) == 0)
      {
        path_known = TRUE;
        if (strcmp (routes[i].method, method) == 0)
          route = &routes[i];
      }
  if (!path_known)
    {
      mts_http_error (msg, 404, "not_found", NULL, "no such endpoint");
      return;
    }

  protocol = soup_message_headers_get_one (req, MTS_PROTOCOL_HEADER);
  if (protocol == NULL || strcmp (protocol, G_STRINGIFY (MTS_PROTOCOL_VERSION)) != 0)
    {
      mts_http_error (msg, 400, "protocol_version", NULL,
                      "this server speaks protocol version %d: send the header "
                      MTS_PROTOCOL_HEADER ": %d", MTS_PROTOCOL_VERSION, MTS_PROTOCOL_VERSION);
      return;
    }
  if (route == NULL)
    {
      mts_http_error (msg, 405, "method_not_allowed", NULL, "%s is not allowed here", method);
      return;
    }
  if (strcmp (method, "POST") == 0 && soup_server_message_get_request_body (msg)->length > 0 &&
      !content_type_is_json (msg))
    {
      mts_http_error (msg, 415, "unsupported_media_type", NULL,
                      "the body must be application/json");
      return;
    }

  if (route->auth == AUTH_NONE)
    route->plain (server, msg);
  else
    {
      g_auto(MtsCaller) caller = { 0 };

      if (mts_auth_caller (server, msg, &caller))
        route->with_caller (server, msg, &caller);
    }
}

/* --- life ------------------------------------------------------------------ */

MtsServer *
mts_server_new (MtsServerConfig *config, MtsStorage *storage, MtsVault *vault,
                GError **error)
{
  g_autoptr(GTlsCertificate) cert = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  MtsServer *server;
  GSList *listeners;

  if (config->tls_certificate == NULL || config->tls_key == NULL)
    {
      g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                   "[server] tls_certificate and tls_key must be set: the server speaks HTTPS only");
      return NULL;
    }
  g_setenv ("G_TLS_GNUTLS_PRIORITY", TLS_PRIORITY, TRUE);
  cert = g_tls_certificate_new_from_files (config->tls_certificate, config->tls_key, error);
  if (cert == NULL)
    {
      g_prefix_error (error, "TLS certificate or key: ");
      return NULL;
    }
  address = g_inet_socket_address_new_from_string (config->listen, config->port);
  if (address == NULL)
    {
      g_set_error (error, MTS_SERVER_CONFIG_ERROR, MTS_SERVER_CONFIG_ERROR_INVALID,
                   "[server] listen: \"%s\" is not an IP address", config->listen);
      return NULL;
    }

  server = g_new0 (MtsServer, 1);
  server->config = config;
  server->storage = storage;
  server->vault = vault;
  server->ai = mts_server_ai_new (config, vault, error);
  if (server->ai == NULL)
    {
      g_free (server);
      return NULL;
    }
  server->soup = soup_server_new ("tls-certificate", cert,
                                  "server-header", "mts-server", NULL);
  soup_server_add_early_handler (server->soup, NULL, early_cb, server, NULL);
  soup_server_add_handler (server->soup, NULL, handle_cb, server, NULL);
  if (!soup_server_listen (server->soup, address, SOUP_SERVER_LISTEN_HTTPS, error))
    {
      mts_server_free (server);
      return NULL;
    }

  listeners = soup_server_get_listeners (server->soup);
  for (GSList *l = listeners; l != NULL; l = l->next)
    {
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (l->data, NULL);
      if (local != NULL && G_IS_INET_SOCKET_ADDRESS (local))
        {
          g_autofree char *port =
            g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
          g_autofree char *url =
            g_strdup_printf ("https://%s:%s/", config->listen, port);
          mts_log ("info", "listening", "address", config->listen, "port", port,
                   "url", url, NULL);
        }
    }
  g_slist_free (listeners);
  return server;
}

static gboolean
drain_timeout_cb (gpointer data)
{
  MtsServer *server = data;

  server->drain_source = 0;
  mts_log ("warning", "drain-timeout", NULL);
  g_main_loop_quit (server->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_cb (gpointer data)
{
  MtsServer *server = data;

  if (!server->stopping)
    {
      g_autofree char *n = g_strdup_printf ("%u", server->in_flight);
      server->stopping = TRUE;
      mts_log ("info", "stopping", "in_flight", n, NULL);
      server->drain_source = g_timeout_add_seconds (DRAIN_TIMEOUT_SECONDS,
                                                    drain_timeout_cb, server);
      maybe_quit (server);
    }
  return G_SOURCE_CONTINUE;
}


/* Storage upkeep (a WAL checkpoint) once a second when no request is being
 * handled, and at least every UPKEEP_MAX_SECONDS under steady load, so the
 * WAL never grows without bound. */
#define UPKEEP_MAX_SECONDS 5

static gboolean
upkeep_cb (gpointer data)
{
  MtsServer *server = data;
  gint64 now = g_get_monotonic_time ();

  if (server->storage->ops->upkeep != NULL &&
      (server->in_flight == 0 ||
       now - server->last_upkeep >= UPKEEP_MAX_SECONDS * G_USEC_PER_SEC))
    {
      server->storage->ops->upkeep (server->storage);
      server->last_upkeep = now;
    }
  return G_SOURCE_CONTINUE;
}

void
mts_server_run (MtsServer *server)
{
  guint term, intr, upkeep;

  server->loop = g_main_loop_new (NULL, FALSE);
  term = g_unix_signal_add (SIGTERM, stop_cb, server);
  intr = g_unix_signal_add (SIGINT, stop_cb, server);
  server->last_upkeep = g_get_monotonic_time ();
  upkeep = g_timeout_add_seconds (1, upkeep_cb, server);
  g_main_loop_run (server->loop);
  g_source_remove (term);
  g_source_remove (intr);
  g_source_remove (upkeep);
  if (server->drain_source != 0)
    g_source_remove (server->drain_source);
  soup_server_disconnect (server->soup);
  if (server->storage->ops->upkeep != NULL)
    server->storage->ops->upkeep (server->storage);
  mts_log ("info", "stopped", NULL);
}

void
mts_server_free (MtsServer *server)
{
  if (server == NULL)
    return;
  g_clear_object (&server->soup);
  g_clear_pointer (&server->ai, mts_server_ai_free);
  g_clear_pointer (&server->loop, g_main_loop_unref);
  g_free (server);
}

void
mts_server_install_log_writer (void)
{
  g_log_set_writer_func (log_writer, NULL, NULL);
}
