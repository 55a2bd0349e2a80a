/* bench-server.c — the reference server's benchmark (issue 5, "Speed"):
 * push and pull throughput and request latency with 1, 10 and 50 devices
 * syncing at once over loopback TLS.
 *
 * It drives a running mts-server (bench/run-server starts one, with a CA
 * made at run time, and ends it) the way the sync engine will: libcurl, one
 * thread and one easy handle per device, so each device keeps its own TLS
 * connection open between requests; peer and host verification on against
 * --cacert; HTTP/1.1; `MTS-Protocol: 1` and the device's bearer token on
 * every request.
 *
 *   login  every device logs in once (POST /v1/auth/login with the user's
 *          password and its current TOTP code, made here with liboath), one
 *          user per device since a code is accepted once per user.
 *   seed   device 0 pushes --seed-records records, untimed: the practice
 *          the pulls read.  One record is then pulled back and compared
 *          with what was pushed (sealing and unsealing round-trip).
 *   pull   for each N in --devices: N devices, each pulling the whole
 *          practice from after=0 in pages of --pull-limit records,
 *          following `next` while `more`; every device repeats the whole
 *          pull until the N devices together have pulled at least
 *          --pull-min-records records.  Every pass must return every
 *          record.
 *   push   for each N in --devices: N devices pushing --push-requests
 *          pushes in all (split evenly), each of --ops-per-push new records
 *          with fresh ids: one in five a client (name, date of birth,
 *          e-mail, phone and address: all sealed by the server), the rest
 *          notes with 1 KiB bodies (sealed) on those clients.  Every op
 *          must come back `applied`.
 *   paced  the largest N devices pulling, then pushing, at a fixed pace
 *          for --paced-seconds: together they offer --paced-pull-rate
 *          records and --paced-push-rate ops a second (by default the
 *          issue's throughput targets), each device one request every
 *          N * (page or push size) / rate seconds from a random start
 *          within its first interval.  A request that falls due before the
 *          device's previous one is answered is sent at once and counted
 *          `late`, and its latency counts from when it was due, so a slow
 *          server cannot hide its queue (no coordinated omission).
 *
 * In the other timed phases every device starts at once (a barrier) and
 * sends its next request as soon as the last is answered: a closed loop,
 * no think time.  Push bodies are built before the phase starts.  Before
 * each phase every device sends GET /v1/health, so that the phase starts on
 * open connections; each phase reports how many new connections it needed
 * (0: every request reused its device's connection).  Latency is from
 * handing the request to libcurl to having the whole response.
 *
 * Output: one JSON object per line on stdout, read by bench/gen-server.py:
 *   {"type": "version", "component": ..., "version": ...}
 *   {"type": "param", "name": ..., "value": ...}
 *   {"type": "login" | "seed" | "phase" | "paced", "phase": "push" | "pull",
 *    "devices": N, "requests", "items" (ops applied or records pulled),
 *    "seconds" (wall), "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms",
 *    "mean_ms", "new_connections", "server_cpu_s", "client_cpu_s",
 *    "bytes_sent", "bytes_received", "rate" (paced: offered a second, else
 *    0), "interval_s" (paced: each device's), "late"}
 * Percentiles are nearest-rank over every request of the phase.
 * server_cpu_s is the server process's user + system time over the phase
 * (from /proc/PID/stat, with --server-pid), client_cpu_s this program's.
 *
 * Usage: bench-server --url https://127.0.0.1:PORT --cacert CA.pem
 *          --users FILE --practice SLUG [--server-pid PID]
 *          [--devices 1,10,50] [--seed-records 20000] [--ops-per-push 100]
 *          [--push-requests 1000] [--pull-limit 1000]
 *          [--pull-min-records 200000] [--paced-seconds 15]
 *          [--paced-push-rate 5000] [--paced-pull-rate 20000]
 * (a rate of 0 leaves that paced phase out).
 * FILE has one device's user a line: USERNAME PASSWORD BASE32-TOTP-SECRET;
 * it needs as many lines as the largest N.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"

#define PROTOCOL_HEADER "MTS-Protocol: 1"
#define NOTE_BODY_BYTES 1024
#define CLIENT_EVERY 5          /* one op in five is a client, the rest notes */

/* --- options ---------------------------------------------------------- */

static const char *opt_url;
static const char *opt_cacert;
static const char *opt_users;
static const char *opt_practice;
static long opt_server_pid;
static const char *opt_devices = "1,10,50";
static long opt_seed_records = 20000;
static long opt_ops_per_push = 100;
static long opt_push_requests = 1000;
static long opt_pull_limit = 1000;
static long opt_pull_min_records = 200000;
static long opt_paced_push_rate = 5000;
static long opt_paced_pull_rate = 20000;
static long opt_paced_seconds = 15;

/* --- a growable buffer ------------------------------------------------ */

typedef struct {
  char *data;
  size_t len, cap;
} Buf;

static void
buf_reserve (Buf *b, size_t more)
{
  if (b->len + more + 1 <= b->cap)
    return;
  b->cap = MAX (b->cap * 2, b->len + more + 1);
  b->data = g_realloc (b->data, b->cap);
}

static size_t
write_cb (char *ptr, size_t size, size_t n, void *data)
{
  Buf *b = data;

  buf_reserve (b, size * n);
  memcpy (b->data + b->len, ptr, size * n);
  b->len += size * n;
  b->data[b->len] = '\0';
  return size * n;
}

/* --- devices ---------------------------------------------------------- */

typedef struct {
  char *data;
  size_t len;
  long ops;
} Body;

typedef struct {
  int index;
  char *username, *password, *secret;
  char device_id[37];
  char *access_token;
  CURL *curl;
  struct curl_slist *plain_headers;   /* protocol, JSON, no Expect */
  struct curl_slist *auth_headers;    /* the same and the bearer token */
  Buf response;
  gint64 seq;
  guint64 rng;

  /* The phase's work and what came of it. */
  Body *bodies;
  guint n_bodies;
  long passes;
  GArray *latencies;                  /* double, seconds */
  long items;
  long new_connections;
  long late;                          /* paced: requests sent late */
  double scheduled;                   /* paced: when a late request was due, else 0 */
  double bytes_sent, bytes_received;
  double t_start, t_end;
} Device;

static Device *devices;
static guint n_devices;
static pthread_barrier_t barrier;
static long practice_records;         /* what every pull pass must return */

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static guint
rand_below (Device *d, guint n)
{
  return (guint) (splitmix64 (&d->rng) % n);
}

/* A UUIDv7 as the apps make record and device ids: 48 bits of milliseconds,
 * the rest from the device's generator. */
static void
uuid7 (Device *d, char out[37])
{
  guint64 ms = (guint64) g_get_real_time () / 1000;
  guint64 a = splitmix64 (&d->rng), b = splitmix64 (&d->rng);
  guint8 u[16];

  for (int i = 0; i < 6; i++)
    u[i] = (guint8) (ms >> (40 - 8 * i));
  for (int i = 6; i < 16; i++)
    u[i] = (guint8) ((i < 11 ? a : b) >> (8 * (i % 8)));
  u[6] = (guint8) (0x70 | (u[6] & 0x0f));
  u[8] = (guint8) (0x80 | (u[8] & 0x3f));
  snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
            u[13], u[14], u[15]);
}

static void
device_init (Device *d, int index)
{
  d->index = index;
  d->rng = 0x6d7473ULL * 1000003ULL + (guint64) index * 7919ULL + (guint64) g_get_real_time ();
  uuid7 (d, d->device_id);
  d->curl = curl_easy_init ();
  if (d->curl == NULL)
    bench_die ("curl_easy_init failed");
  curl_easy_setopt (d->curl, CURLOPT_CAINFO, opt_cacert);
  curl_easy_setopt (d->curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (d->curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt (d->curl, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt (d->curl, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
  curl_easy_setopt (d->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (d->curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt (d->curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (d->curl, CURLOPT_WRITEDATA, &d->response);
  curl_easy_setopt (d->curl, CURLOPT_TIMEOUT, 300L);
  d->plain_headers = curl_slist_append (NULL, PROTOCOL_HEADER);
  d->plain_headers = curl_slist_append (d->plain_headers, "Content-Type: application/json");
  d->plain_headers = curl_slist_append (d->plain_headers, "Expect:");
  d->latencies = g_array_new (FALSE, FALSE, sizeof (double));
}

static void
device_set_token (Device *d, const char *token)
{
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", token);

  g_free (d->access_token);
  d->access_token = g_strdup (token);
  curl_slist_free_all (d->auth_headers);
  d->auth_headers = curl_slist_append (NULL, PROTOCOL_HEADER);
  d->auth_headers = curl_slist_append (d->auth_headers, "Content-Type: application/json");
  d->auth_headers = curl_slist_append (d->auth_headers, "Expect:");
  d->auth_headers = curl_slist_append (d->auth_headers, auth);
  memset (auth, 0, strlen (auth));   /* curl keeps its own copy; this one is never logged */
}

/* One request on the device's handle: POST @body (@len bytes) if @body is
 * not NULL, else GET.  Returns the HTTP status; the response is in
 * d->response.  Latency, connections and bytes are added to the device's
 * counters. */
static long
request (Device *d, const char *path, gboolean auth, const char *body, size_t len)
{
  g_autofree char *url = g_strconcat (opt_url, path, NULL);
  long status = 0, connects = 0;
  curl_off_t up = 0, down = 0;
  double t0, t1;
  CURLcode rc;

  d->response.len = 0;
  buf_reserve (&d->response, 0);
  d->response.data[0] = '\0';
  curl_easy_setopt (d->curl, CURLOPT_URL, url);
  curl_easy_setopt (d->curl, CURLOPT_HTTPHEADER, auth ? d->auth_headers : d->plain_headers);
  if (body != NULL)
    {
      curl_easy_setopt (d->curl, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt (d->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    }
  else
    curl_easy_setopt (d->curl, CURLOPT_HTTPGET, 1L);
  t0 = bench_now ();
  rc = curl_easy_perform (d->curl);
  t1 = bench_now ();
  if (rc != CURLE_OK)
    bench_die ("device %d: %s %s: %s", d->index, body ? "POST" : "GET", path,
               curl_easy_strerror (rc));
  curl_easy_getinfo (d->curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo (d->curl, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo (d->curl, CURLINFO_SIZE_UPLOAD_T, &up);
  curl_easy_getinfo (d->curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
  /* A paced request that had to wait for the device's previous one counts
   * from when it was due (no coordinated omission). */
  if (d->scheduled > 0)
    t0 = d->scheduled;
  g_array_append_val (d->latencies, (double) { t1 - t0 });
  d->new_connections += connects;
  d->bytes_sent += (double) up;
  d->bytes_received += (double) down;
  return status;
}

static void
expect_status (Device *d, long status, long want, const char *what)
{
  if (status != want)
    bench_die ("device %d: %s: HTTP %ld (expected %ld): %.500s", d->index, what, status, want,
               d->response.data);
}

static JsonObject *
parse_object (Device *d, JsonParser *parser, const char *what)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, d->response.data, (gssize) d->response.len, &error))
    bench_die ("device %d: %s: the answer is not JSON: %s", d->index, what, error->message);
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    bench_die ("device %d: %s: the answer is not a JSON object", d->index, what);
  return json_node_get_object (root);
}

/* --- login ------------------------------------------------------------ */

/* libcurl's "SSL connection using ..." line: the negotiated protocol and
 * cipher suite, caught from its verbose output during the first login. */
static char tls_session[200];

static int
debug_cb (CURL *handle, curl_infotype type, char *data, size_t size, void *user)
{
  static const char prefix[] = "SSL connection using ";

  if (type == CURLINFO_TEXT && size > sizeof prefix - 1 &&
      memcmp (data, prefix, sizeof prefix - 1) == 0 && tls_session[0] == '\0')
    {
      size_t n = MIN (size - (sizeof prefix - 1), sizeof tls_session - 1);

      memcpy (tls_session, data + sizeof prefix - 1, n);
      while (n > 0 && (tls_session[n - 1] == '\n' || tls_session[n - 1] == '\r'))
        n--;
      tls_session[n] = '\0';
    }
  return 0;
}

static void
totp_now (Device *d, char code[7])
{
  char *key = NULL;
  size_t key_len = 0;
  int rc;

  rc = oath_base32_decode (d->secret, strlen (d->secret), &key, &key_len);
  if (rc != OATH_OK)
    bench_die ("user %s: the TOTP secret is not base32: %s", d->username, oath_strerror (rc));
  rc = oath_totp_generate (key, key_len, time (NULL), OATH_TOTP_DEFAULT_TIME_STEP_SIZE,
                           OATH_TOTP_DEFAULT_START_TIME, 6, code);
  free (key);
  if (rc != OATH_OK)
    bench_die ("user %s: oath_totp_generate: %s", d->username, oath_strerror (rc));
}

static void
login (Device *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  g_autofree char *name = g_strdup_printf ("bench device %d", d->index);
  char code[7];
  JsonObject *o;
  const char *token;
  gsize len;

  totp_now (d, code);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "practice");
  json_builder_add_string_value (b, opt_practice);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, d->username);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, d->password);
  json_builder_set_member_name (b, "totp");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, d->device_id);
  json_builder_set_member_name (b, "device_name");
  json_builder_add_string_value (b, name);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  expect_status (d, request (d, "/v1/auth/login", FALSE, text, len), 200, "login");
  o = parse_object (d, parser, "login");
  token = json_object_get_string_member_with_default (o, "access_token", NULL);
  if (token == NULL)
    bench_die ("device %d: login: no access_token in the answer", d->index);
  device_set_token (d, token);
}

/* --- push bodies ------------------------------------------------------ */

static const char *const first_names[] = {
  "Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "George", "Hana", "Isaac", "Jo", "Kofi",
  "Lena", "Malik", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Viktor",
  "Wen", "Yusuf", "Zara",
};
static const char *const last_names[] = {
  "Okafor", "Lindqvist", "Brennan", "Hughes", "Kowalski", "Nakamura", "Patel", "Fraser",
  "Mensah", "Dixon", "O'Neill", "Rahman", "Sutherland", "Varga", "Whitfield", "Yilmaz",
};
static const char *const streets[] = {
  "Chapel Lane", "Victoria Road", "Station Street", "Mill Hill", "Park Avenue", "Church Walk",
};
static const char *const words[] = {
  "client", "reports", "sleep", "improved", "since", "last", "session", "anxiety", "at",
  "work", "discussed", "coping", "strategies", "breathing", "exercise", "homework", "reviewed",
  "mood", "low", "in", "the", "mornings", "family", "support", "good", "engagement", "plan",
  "to", "continue", "weekly", "sessions", "explored", "triggers", "avoidance", "thoughts",
  "noted", "progress", "with", "goals", "agreed", "next", "steps", "risk", "assessed", "no",
  "current", "concerns", "appetite", "stable", "partner", "conflict", "grief", "and", "a",
};

static void
append_sentences (Device *d, GString *s, size_t until)
{
  while (s->len < until)
    {
      guint n = 6 + rand_below (d, 10);

      for (guint i = 0; i < n; i++)
        {
          const char *w = words[rand_below (d, G_N_ELEMENTS (words))];

          if (i == 0)
            {
              g_string_append_c (s, g_ascii_toupper (w[0]));
              g_string_append (s, w + 1);
            }
          else
            {
              g_string_append_c (s, ' ');
              g_string_append (s, w);
            }
        }
      g_string_append (s, ". ");
    }
}

/* A SOAP note's body of about NOTE_BODY_BYTES, as JSON string content
 * (newlines escaped). */
static void
append_note_body (Device *d, GString *s)
{
  static const char *const heads[] = { "S: ", "\\nO: ", "\\nA: ", "\\nP: " };
  size_t start = s->len;

  for (int i = 0; i < 4; i++)
    {
      g_string_append (s, heads[i]);
      append_sentences (d, s, start + (size_t) (i + 1) * NOTE_BODY_BYTES / 4 - 2);
    }
}

static void
append_stamps (GString *s, long minute)
{
  g_string_append_printf (s, "\"created_at\":\"2026-11-%02ldT%02ld:%02ld:00.000Z\","
                          "\"updated_at\":\"2026-11-%02ldT%02ld:%02ld:00.000Z\",",
                          1 + minute / 1440 % 28, minute / 60 % 24, minute % 60,
                          1 + minute / 1440 % 28, minute / 60 % 24, minute % 60);
}

/* One push of @n_ops new records: a client, then CLIENT_EVERY - 1 notes on
 * it, and so on. */
static Body
make_push (Device *d, long n_ops)
{
  GString *s = g_string_sized_new ((gsize) n_ops * (NOTE_BODY_BYTES + 400));
  char client_id[37] = "";
  Body body;

  g_string_append (s, "{\"ops\":[");
  for (long i = 0; i < n_ops; i++)
    {
      char id[37];
      long minute = (long) rand_below (d, 28 * 1440);

      uuid7 (d, id);
      if (i > 0)
        g_string_append_c (s, ',');
      g_string_append_printf (s, "{\"seq\":%" G_GINT64_FORMAT ",\"table\":\"%s\",\"id\":\"%s\","
                              "\"op\":\"upsert\",\"base_version\":0,\"fields\":{",
                              ++d->seq, i % CLIENT_EVERY == 0 ? "clients" : "notes", id);
      append_stamps (s, minute);
      if (i % CLIENT_EVERY == 0)
        {
          const char *first = first_names[rand_below (d, G_N_ELEMENTS (first_names))];
          const char *last = last_names[rand_below (d, G_N_ELEMENTS (last_names))];
          guint n = rand_below (d, 1000);
          g_autofree char *lower_first = g_ascii_strdown (first, -1);
          g_autofree char *lower_last = g_ascii_strdown (last, -1);

          memcpy (client_id, id, sizeof client_id);
          g_string_append_printf (s, "\"display_name\":\"%s %s\",\"date_of_birth\":\"%u-%02u-%02u\","
                                  "\"email\":\"%s.%s%u@example.org\",\"phone\":\"0113 496 %04u\","
                                  "\"address\":\"%u %s, Leeds LS%u %u%c%c\",\"status\":\"active\"}}",
                                  first, last, 1950 + rand_below (d, 55), 1 + rand_below (d, 12),
                                  1 + rand_below (d, 28), lower_first, lower_last, n,
                                  rand_below (d, 10000), 1 + rand_below (d, 200),
                                  streets[rand_below (d, G_N_ELEMENTS (streets))],
                                  1 + rand_below (d, 28), rand_below (d, 10),
                                  'A' + rand_below (d, 26), 'A' + rand_below (d, 26));
        }
      else
        {
          g_string_append_printf (s, "\"client_id\":\"%s\",\"template_kind\":\"SOAP\",\"body\":\"",
                                  client_id);
          append_note_body (d, s);
          g_string_append (s, "\",\"status\":\"draft\",\"ai_assisted\":0}}");
        }
    }
  g_string_append (s, "]}");
  body.len = s->len;
  body.data = g_string_free (s, FALSE);
  body.ops = n_ops;
  return body;
}

/* Pushes one body; every op must be applied. */
static void
push_one (Device *d, const Body *body, JsonParser *parser)
{
  JsonObject *o;
  JsonArray *results;
  guint n;

  expect_status (d, request (d, "/v1/sync/push", TRUE, body->data, body->len), 200, "push");
  o = parse_object (d, parser, "push");
  results = json_object_get_array_member (o, "results");
  n = results ? json_array_get_length (results) : 0;
  if (n != (guint) body->ops)
    bench_die ("device %d: push: %u results for %ld ops", d->index, n, body->ops);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = json_array_get_object_element (results, i);
      const char *status = r ? json_object_get_string_member_with_default (r, "status", "") : "";

      if (strcmp (status, "applied") != 0)
        bench_die ("device %d: push: op %u came back %s, not applied: %.500s", d->index, i,
                   status, d->response.data);
    }
  d->items += n;
}

/* --- pull pages ------------------------------------------------------- */

/* A small scanner for the pull answer: counting the records array's
 * elements and reading next/more/remaining without building a tree, so
 * that the load generator spends as little of the machine's CPU as it can
 * on megabyte pages. */
typedef struct {
  const char *p, *end;
} Scan;

static void
scan_ws (Scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

static gboolean
scan_string (Scan *s, const char **start, size_t *len)
{
  if (s->p >= s->end || *s->p != '"')
    return FALSE;
  s->p++;
  *start = s->p;
  /* The closing quote is the first one after an even number of
   * backslashes; memchr keeps this at memory speed on 1 KiB note bodies. */
  for (;;)
    {
      const char *q = memchr (s->p, '"', (size_t) (s->end - s->p));
      const char *b;

      if (q == NULL)
        return FALSE;
      for (b = q; b > *start && b[-1] == '\\'; b--)
        ;
      s->p = q + 1;
      if ((q - b) % 2 == 0)
        break;
    }
  *len = (size_t) (s->p - 1 - *start);
  return TRUE;
}

/* Skips one value: a string, an object or array (its nesting followed
 * through brackets and strings), or a number, true, false or null. */
static gboolean
scan_skip (Scan *s)
{
  const char *str;
  size_t len;
  int depth = 0;

  scan_ws (s);
  if (s->p >= s->end)
    return FALSE;
  if (*s->p == '"')
    return scan_string (s, &str, &len);
  if (*s->p != '{' && *s->p != '[')
    {
      const char *start = s->p;

      while (s->p < s->end && !strchr (",}] \t\r\n", *s->p))
        s->p++;
      return s->p > start;
    }
  while (s->p < s->end)
    {
      switch (*s->p)
        {
        case '"':
          if (!scan_string (s, &str, &len))
            return FALSE;
          continue;
        case '{': case '[':
          depth++;
          break;
        case '}': case ']':
          if (--depth == 0)
            {
              s->p++;
              return TRUE;
            }
          break;
        default:
          break;
        }
      s->p++;
    }
  return FALSE;
}

static gboolean
scan_pull (const char *text, size_t n, long *records, gint64 *next, gboolean *more,
           gint64 *remaining)
{
  Scan s = { text, text + n };
  int seen = 0;

  scan_ws (&s);
  if (s.p >= s.end || *s.p++ != '{')
    return FALSE;
  for (;;)
    {
      const char *key;
      size_t len;

      scan_ws (&s);
      if (!scan_string (&s, &key, &len))
        return FALSE;
      scan_ws (&s);
      if (s.p >= s.end || *s.p++ != ':')
        return FALSE;
      scan_ws (&s);
      if (len == 7 && memcmp (key, "records", 7) == 0)
        {
          if (s.p >= s.end || *s.p++ != '[')
            return FALSE;
          *records = 0;
          scan_ws (&s);
          if (s.p < s.end && *s.p == ']')
            s.p++;
          else
            for (;;)
              {
                if (!scan_skip (&s))
                  return FALSE;
                (*records)++;
                scan_ws (&s);
                if (s.p >= s.end)
                  return FALSE;
                if (*s.p++ == ']')
                  break;
              }
          seen |= 1;
        }
      else if ((len == 4 && memcmp (key, "next", 4) == 0) ||
               (len == 9 && memcmp (key, "remaining", 9) == 0))
        {
          char *after;
          gint64 v = g_ascii_strtoll (s.p, &after, 10);

          if (after == s.p)
            return FALSE;
          s.p = after;
          *(len == 4 ? next : remaining) = v;
          seen |= len == 4 ? 2 : 8;
        }
      else if (len == 4 && memcmp (key, "more", 4) == 0)
        {
          if (s.end - s.p >= 4 && memcmp (s.p, "true", 4) == 0)
            *more = TRUE, s.p += 4;
          else if (s.end - s.p >= 5 && memcmp (s.p, "false", 5) == 0)
            *more = FALSE, s.p += 5;
          else
            return FALSE;
          seen |= 4;
        }
      else if (!scan_skip (&s))
        return FALSE;
      scan_ws (&s);
      if (s.p >= s.end)
        return FALSE;
      if (*s.p == '}')
        return seen == 15;
      if (*s.p++ != ',')
        return FALSE;
    }
}

/* The scanner checked on answers made to trip it (escaped quotes and
 * backslashes, brackets inside strings, nesting), at every start. */
static void
scan_self_test (void)
{
  static const struct {
    const char *text;
    gboolean ok;
    long records;
    gint64 next, remaining;
    gboolean more;
  } cases[] = {
    { "{\"records\":[{\"a\":\"x\\\"y\",\"b\":\"\\\\\"},{\"c\":[1,{\"d\":\"]}\"}],\"e\":null}],"
      "\"next\":5,\"more\":true,\"remaining\":3}", TRUE, 2, 5, 3, TRUE },
    { "{ \"next\" : 0 , \"records\" : [ ] , \"more\" : false, \"remaining\": 0 }",
      TRUE, 0, 0, 0, FALSE },
    { "{\"records\":[{\"a\":\"\\\\\\\"\"}, 7, \"s\"],\"next\":9,\"more\":false,\"remaining\":0,"
      "\"x\":{\"y\":[\"}\"]}}", TRUE, 3, 9, 0, FALSE },
    { "{\"records\":[{\"a\":\"x\\\"}],\"next\":5,\"more\":true,\"remaining\":3}", FALSE, 0, 0, 0, FALSE },
    { "{\"records\":[{}],\"next\":5,\"more\":true}", FALSE, 0, 0, 0, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      long records = -1;
      gint64 next = -1, remaining = -1;
      gboolean more = -1;
      gboolean ok = scan_pull (cases[i].text, strlen (cases[i].text), &records, &next, &more,
                               &remaining);

      if (ok != cases[i].ok ||
          (ok && (records != cases[i].records || next != cases[i].next ||
                  remaining != cases[i].remaining || more != cases[i].more)))
        bench_die ("the pull scanner's self-test %u failed", i + 1);
    }
}

/* One page after @after; moves @after to the answer's `next` and sets
 * @more; returns the page's records. */
static long
pull_page (Device *d, gint64 *after, gboolean *more)
{
  g_autofree char *path =
    g_strdup_printf ("/v1/sync/pull?after=%" G_GINT64_FORMAT "&limit=%ld", *after,
                     opt_pull_limit);
  long records = 0;
  gint64 next = 0, remaining = 0;

  expect_status (d, request (d, path, TRUE, NULL, 0), 200, "pull");
  if (!scan_pull (d->response.data, d->response.len, &records, &next, more, &remaining))
    bench_die ("device %d: pull: cannot read the answer: %.300s", d->index, d->response.data);
  if (*more && next <= *after)
    bench_die ("device %d: pull: next %" G_GINT64_FORMAT " is not after %" G_GINT64_FORMAT,
               d->index, next, *after);
  *after = next;
  return records;
}

/* --- phases ----------------------------------------------------------- */

typedef enum { PHASE_PUSH, PHASE_PULL } PhaseKind;

typedef struct {
  Device *d;
  PhaseKind kind;
  /* Paced phases: one request every @interval seconds from @first (on
   * CLOCK_MONOTONIC, as bench_now) until @until; else 0. */
  double interval, first, until;
} Work;

static void
sleep_until (double t)
{
  struct timespec ts;

  ts.tv_sec = (time_t) t;
  ts.tv_nsec = (long) ((t - (double) ts.tv_sec) * 1e9);
  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
    ;
}

/* Every pass from after=0 must return the whole practice. */
static void
pass_done (Device *d, long n)
{
  if (n != practice_records)
    bench_die ("device %d: a pull from after=0 returned %ld records, not %ld", d->index, n,
               practice_records);
}

static void *
device_thread (void *data)
{
  Work *w = data;
  Device *d = w->d;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 after = 0;
  gboolean more = TRUE;
  long pass = 0;

  pthread_barrier_wait (&barrier);
  d->t_start = bench_now ();
  if (w->interval > 0)
    {
      guint k = 0;

      for (double due = w->first; due < w->until; due = w->first + w->interval * ++k)
        {
          /* Late: the previous request was answered after this one was due. */
          d->scheduled = 0;
          if (bench_now () < due)
            sleep_until (due);
          else
            {
              d->scheduled = due;
              d->late++;
            }
          if (k == 0)
            d->t_start = bench_now ();
          if (w->kind == PHASE_PUSH)
            push_one (d, &d->bodies[k], parser);
          else
            {
              pass += pull_page (d, &after, &more);
              if (!more)
                {
                  pass_done (d, pass);
                  d->items += pass;
                  pass = 0;
                  after = 0;
                }
            }
        }
      d->items += pass;       /* a pass under way: its pages count too */
      d->scheduled = 0;
    }
  else if (w->kind == PHASE_PUSH)
    for (guint i = 0; i < d->n_bodies; i++)
      push_one (d, &d->bodies[i], parser);
  else
    for (long i = 0; i < d->passes; i++)
      {
        for (more = TRUE, after = 0, pass = 0; more;)
          pass += pull_page (d, &after, &more);
        pass_done (d, pass);
        d->items += pass;
      }
  d->t_end = bench_now ();
  return NULL;
}

static double
cpu_self (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
         (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* The server's user + system CPU seconds, or -1 without --server-pid. */
static double
cpu_server (void)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *close;

  if (opt_server_pid <= 0)
    return -1;
  path = g_strdup_printf ("/proc/%ld/stat", opt_server_pid);
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  close = strrchr (text, ')');          /* the command name may hold spaces */
  if (close == NULL)
    return -1;
  fields = g_strsplit (close + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return -1;
  /* After the name: state is field 3, utime 14 and stime 15 (1-based). */
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         (double) sysconf (_SC_CLK_TCK);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least @p of them at or below it. */
static double
percentile (const double *sorted, size_t n, double p)
{
  size_t rank = (size_t) (p / 100.0 * (double) n + 0.999999);

  return n == 0 ? 0 : sorted[MIN (MAX (rank, 1), n) - 1];
}

static void
phase_reset (Device *d)
{
  g_array_set_size (d->latencies, 0);
  d->items = 0;
  d->new_connections = 0;
  d->late = 0;
  d->bytes_sent = d->bytes_received = 0;
}

/* Prints one result line over devices 0..@n-1. */
static void
report (const char *type, const char *phase, guint n, double seconds, double server_cpu,
        double client_cpu, double rate, double interval)
{
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  long items = 0, connects = 0, late = 0;
  double sent = 0, received = 0, sum = 0;
  const double *v;
  size_t count;

  for (guint i = 0; i < n; i++)
    {
      g_array_append_vals (all, devices[i].latencies->data, devices[i].latencies->len);
      items += devices[i].items;
      connects += devices[i].new_connections;
      late += devices[i].late;
      sent += devices[i].bytes_sent;
      received += devices[i].bytes_received;
    }
  g_array_sort (all, cmp_double);
  v = (const double *) all->data;
  count = all->len;
  for (size_t i = 0; i < count; i++)
    sum += v[i];
  printf ("{\"type\": \"%s\", \"phase\": \"%s\", \"devices\": %u, \"requests\": %zu, "
          "\"items\": %ld, \"seconds\": %.6f, \"min_ms\": %.3f, \"p50_ms\": %.3f, "
          "\"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, "
          "\"new_connections\": %ld, \"server_cpu_s\": %.2f, \"client_cpu_s\": %.2f, "
          "\"bytes_sent\": %.0f, \"bytes_received\": %.0f, \"rate\": %.0f, "
          "\"interval_s\": %.4f, \"late\": %ld}\n",
          type, phase, n, count, items, seconds,
          count ? v[0] * 1e3 : 0, percentile (v, count, 50) * 1e3,
          percentile (v, count, 90) * 1e3, percentile (v, count, 99) * 1e3,
          count ? v[count - 1] * 1e3 : 0, count ? sum / (double) count * 1e3 : 0,
          connects, server_cpu, client_cpu, sent, received, rate, interval, late);
  fflush (stdout);
}

/* Opens (or re-checks) every device's connection outside the timing. */
static void
warm (guint n)
{
  for (guint i = 0; i < n; i++)
    {
      expect_status (&devices[i], request (&devices[i], "/v1/health", FALSE, NULL, 0), 200,
                     "health");
      phase_reset (&devices[i]);
    }
}

/* A phase with @n devices: a closed loop if @rate is 0, else paced, the n
 * devices together offering @rate ops or records a second for @duration
 * seconds, each device at a fixed interval from a random start within its
 * first interval. */
static void
run_phase (PhaseKind kind, guint n, double rate, double duration)
{
  g_autofree pthread_t *threads = g_new0 (pthread_t, n);
  g_autofree Work *work = g_new0 (Work, n);
  double t_start = G_MAXDOUBLE, t_end = 0, server0, server1, client0, client1;
  double per_request = kind == PHASE_PUSH ? opt_ops_per_push : opt_pull_limit;
  double interval = rate > 0 ? n * per_request / rate : 0;
  guint64 offsets = 20240601;

  if (kind == PHASE_PUSH)
    {
      long per_device = rate > 0 ? (long) (duration / interval) + 1
                                 : (opt_push_requests + (long) n - 1) / (long) n;

      for (guint i = 0; i < n; i++)
        {
          Device *d = &devices[i];

          d->n_bodies = (guint) per_device;
          d->bodies = g_new0 (Body, d->n_bodies);
          for (guint j = 0; j < d->n_bodies; j++)
            d->bodies[j] = make_push (d, opt_ops_per_push);
        }
    }
  else
    {
      long total = (long) n * practice_records;
      long passes = (opt_pull_min_records + total - 1) / MAX (total, 1);

      for (guint i = 0; i < n; i++)
        devices[i].passes = MAX (passes, 1);
    }
  warm (n);

  if (pthread_barrier_init (&barrier, NULL, n + 1) != 0)
    bench_die ("pthread_barrier_init failed");
  for (guint i = 0; i < n; i++)
    {
      work[i].d = &devices[i];
      work[i].kind = kind;
      if (pthread_create (&threads[i], NULL, device_thread, &work[i]) != 0)
        bench_die ("pthread_create failed");
    }
  if (rate > 0)
    {
      double t0 = bench_now () + 0.05;

      for (guint i = 0; i < n; i++)
        {
          work[i].interval = interval;
          work[i].first = t0 + interval * (double) (splitmix64 (&offsets) >> 11) / 0x1p53;
          work[i].until = t0 + duration;
        }
    }
  server0 = cpu_server ();
  client0 = cpu_self ();
  pthread_barrier_wait (&barrier);
  for (guint i = 0; i < n; i++)
    pthread_join (threads[i], NULL);
  server1 = cpu_server ();
  client1 = cpu_self ();
  pthread_barrier_destroy (&barrier);

  for (guint i = 0; i < n; i++)
    {
      t_start = MIN (t_start, devices[i].t_start);
      t_end = MAX (t_end, devices[i].t_end);
    }
  report (rate > 0 ? "paced" : "phase", kind == PHASE_PUSH ? "push" : "pull", n,
          t_end - t_start, server0 >= 0 && server1 >= 0 ? server1 - server0 : -1,
          client1 - client0, rate, interval);

  if (kind == PHASE_PUSH)
    for (guint i = 0; i < n; i++)
      {
        for (guint j = 0; j < devices[i].n_bodies; j++)
          g_free (devices[i].bodies[j].data);
        g_clear_pointer (&devices[i].bodies, g_free);
        devices[i].n_bodies = 0;
      }
}

/* Device 0 pushes the practice the pulls read, then reads its first record
 * back and compares it with what it pushed. */
static void
seed (void)
{
  Device *d = &devices[0];
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) sent = json_parser_new ();
  long pushes = (opt_seed_records + opt_ops_per_push - 1) / opt_ops_per_push;
  double t0, server0, client0;
  char *first = NULL;
  JsonObject *o, *rec, *mine;
  JsonArray *records;
  const char *a, *b;

  warm (1);
  t0 = bench_now ();
  server0 = cpu_server ();
  client0 = cpu_self ();
  for (long i = 0; i < pushes; i++)
    {
      long ops = MIN (opt_ops_per_push, opt_seed_records - i * opt_ops_per_push);
      Body body = make_push (d, ops);

      push_one (d, &body, parser);
      if (i == 0)
        first = body.data;
      else
        g_free (body.data);
    }
  report ("seed", "push", 1, bench_now () - t0, server0 >= 0 ? cpu_server () - server0 : -1,
          cpu_self () - client0, 0, 0);
  practice_records = d->items;

  expect_status (d, request (d, "/v1/sync/pull?after=0&limit=1", TRUE, NULL, 0), 200, "pull");
  o = parse_object (d, parser, "pull");
  records = json_object_get_array_member (o, "records");
  if (records == NULL || json_array_get_length (records) != 1)
    bench_die ("seed check: pull after=0 limit=1 did not return one record");
  rec = json_array_get_object_element (records, 0);
  if (!json_parser_load_from_data (sent, first, -1, NULL))
    bench_die ("seed check: the first push is not JSON");
  mine = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (json_parser_get_root (sent)), "ops"), 0);
  a = json_object_get_string_member_with_default (rec, "id", "");
  b = json_object_get_string_member_with_default (mine, "id", "?");
  if (strcmp (a, b) != 0)
    bench_die ("seed check: the first record is %s, the first pushed was %s", a, b);
  a = json_object_get_string_member_with_default (
    json_object_get_object_member (rec, "fields"), "display_name", "");
  b = json_object_get_string_member_with_default (
    json_object_get_object_member (mine, "fields"), "display_name", "?");
  if (strcmp (a, b) != 0)
    bench_die ("seed check: display_name came back as \"%s\", pushed \"%s\"", a, b);
  g_free (first);
}

/* --- main ------------------------------------------------------------- */

static void
read_users (guint need)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (opt_users, &text, NULL, &error))
    bench_die ("%s", error->message);
  lines = g_strsplit (text, "\n", 0);
  devices = g_new0 (Device, need);
  for (guint i = 0; lines[i] != NULL && n_devices < need; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", 0);

      if (f[0] == NULL || f[0][0] == '\0')
        continue;
      if (g_strv_length (f) != 3)
        bench_die ("%s, line %u: expected USERNAME PASSWORD SECRET", opt_users, i + 1);
      devices[n_devices].username = g_strdup (f[0]);
      devices[n_devices].password = g_strdup (f[1]);
      devices[n_devices].secret = g_strdup (f[2]);
      device_init (&devices[n_devices], (int) n_devices);
      n_devices++;
    }
  if (n_devices < need)
    bench_die ("%s has %u users; %u devices need as many", opt_users, n_devices, need);
}

static long
long_arg (const char *name, const char *value, long min)
{
  char *end;
  long v = value ? strtol (value, &end, 10) : 0;

  if (value == NULL || *end != '\0' || v < min)
    bench_die ("%s needs a whole number of at least %ld", name, min);
  return v;
}

int
main (int argc, char **argv)
{
  const curl_version_info_data *cv;
  g_auto(GStrv) counts = NULL;
  guint *ns, n_ns, max_n = 0;
  double t0, server0, client0;

  for (int i = 1; i < argc; i += 2)   /* every option takes a value */
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

      if (strcmp (a, "--url") == 0) opt_url = v;
      else if (strcmp (a, "--cacert") == 0) opt_cacert = v;
      else if (strcmp (a, "--users") == 0) opt_users = v;
      else if (strcmp (a, "--practice") == 0) opt_practice = v;
      else if (strcmp (a, "--devices") == 0) opt_devices = v;
      else if (strcmp (a, "--server-pid") == 0) opt_server_pid = long_arg (a, v, 1);
      else if (strcmp (a, "--seed-records") == 0) opt_seed_records = long_arg (a, v, 1);
      else if (strcmp (a, "--ops-per-push") == 0) opt_ops_per_push = long_arg (a, v, 1);
      else if (strcmp (a, "--push-requests") == 0) opt_push_requests = long_arg (a, v, 1);
      else if (strcmp (a, "--pull-limit") == 0) opt_pull_limit = long_arg (a, v, 1);
      else if (strcmp (a, "--pull-min-records") == 0) opt_pull_min_records = long_arg (a, v, 0);
      else if (strcmp (a, "--paced-push-rate") == 0) opt_paced_push_rate = long_arg (a, v, 0);
      else if (strcmp (a, "--paced-pull-rate") == 0) opt_paced_pull_rate = long_arg (a, v, 0);
      else if (strcmp (a, "--paced-seconds") == 0) opt_paced_seconds = long_arg (a, v, 1);
      else
        bench_die ("unknown argument %s (see the comment at the top of bench-server.c)", a);
      if (v == NULL)
        bench_die ("%s needs a value", a);
    }
  if (opt_url == NULL || opt_cacert == NULL || opt_users == NULL || opt_practice == NULL)
    bench_die ("usage: bench-server --url URL --cacert FILE --users FILE --practice SLUG "
               "[--server-pid PID] [--devices 1,10,50] [...]");

  counts = g_strsplit (opt_devices, ",", 0);
  n_ns = g_strv_length (counts);
  ns = g_new0 (guint, MAX (n_ns, 1));
  for (guint i = 0; i < n_ns; i++)
    {
      ns[i] = (guint) long_arg ("--devices", counts[i], 1);
      max_n = MAX (max_n, ns[i]);
    }
  if (n_ns == 0)
    bench_die ("--devices needs at least one count");

  if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    bench_die ("curl_global_init failed");
  if (oath_init () != OATH_OK)
    bench_die ("oath_init failed");
  cv = curl_version_info (CURLVERSION_NOW);
  printf ("{\"type\": \"version\", \"component\": \"libcurl\", \"version\": \"%s\"}\n",
          cv->version);
  printf ("{\"type\": \"version\", \"component\": \"tls\", \"version\": \"%s\"}\n",
          cv->ssl_version ? cv->ssl_version : "?");
  printf ("{\"type\": \"param\", \"name\": \"ops_per_push\", \"value\": %ld}\n", opt_ops_per_push);
  printf ("{\"type\": \"param\", \"name\": \"push_requests\", \"value\": %ld}\n",
          opt_push_requests);
  printf ("{\"type\": \"param\", \"name\": \"client_every\", \"value\": %d}\n", CLIENT_EVERY);
  printf ("{\"type\": \"param\", \"name\": \"note_body_bytes\", \"value\": %d}\n",
          NOTE_BODY_BYTES);
  printf ("{\"type\": \"param\", \"name\": \"pull_limit\", \"value\": %ld}\n", opt_pull_limit);
  printf ("{\"type\": \"param\", \"name\": \"pull_min_records\", \"value\": %ld}\n",
          opt_pull_min_records);
  printf ("{\"type\": \"param\", \"name\": \"paced_seconds\", \"value\": %ld}\n",
          opt_paced_seconds);
  fflush (stdout);

  scan_self_test ();
  read_users (max_n);

  /* Logins: one after another, each on its device's own handle, which
   * keeps the connection for the phases. */
  t0 = bench_now ();
  server0 = cpu_server ();
  client0 = cpu_self ();
  curl_easy_setopt (devices[0].curl, CURLOPT_DEBUGFUNCTION, debug_cb);
  curl_easy_setopt (devices[0].curl, CURLOPT_VERBOSE, 1L);
  for (guint i = 0; i < max_n; i++)
    {
      login (&devices[i]);
      if (i == 0)
        curl_easy_setopt (devices[0].curl, CURLOPT_VERBOSE, 0L);
    }
  printf ("{\"type\": \"version\", \"component\": \"tls_session\", \"version\": \"%s\"}\n",
          tls_session[0] ? tls_session : "?");
  report ("login", "login", max_n, bench_now () - t0,
          server0 >= 0 ? cpu_server () - server0 : -1, cpu_self () - client0, 0, 0);

  seed ();
  printf ("{\"type\": \"param\", \"name\": \"practice_records\", \"value\": %ld}\n",
          practice_records);
  fflush (stdout);

  for (guint i = 0; i < n_ns; i++)
    run_phase (PHASE_PULL, ns[i], 0, 0);
  if (opt_paced_pull_rate > 0)
    run_phase (PHASE_PULL, max_n, opt_paced_pull_rate, opt_paced_seconds);
  for (guint i = 0; i < n_ns; i++)
    run_phase (PHASE_PUSH, ns[i], 0, 0);
  if (opt_paced_push_rate > 0)
    run_phase (PHASE_PUSH, max_n, opt_paced_push_rate, opt_paced_seconds);

  for (guint i = 0; i < n_devices; i++)
    {
      Device *d = &devices[i];

      curl_easy_cleanup (d->curl);
      curl_slist_free_all (d->plain_headers);
      curl_slist_free_all (d->auth_headers);
      g_array_unref (d->latencies);
      g_free (d->response.data);
      g_free (d->access_token);
      g_free (d->username);
      g_free (d->password);
      g_free (d->secret);
    }
  g_free (devices);
  g_free (ns);
  oath_done ();
  curl_global_cleanup ();
  return 0;
}
