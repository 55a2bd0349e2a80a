/* test-api-libcurl.c — the server API (docs/api.md) over real TLS on
 * loopback, with libcurl as the client: the real mts-server binary, a CA
 * made at test time, and an HTTP client written the way the sync engine's
 * (issue 6) should be.
 *
 * The client (Client, below) is one easy handle per device, kept for the
 * device's life so that its connection is reused.  Every handle has:
 *   CURLOPT_CAINFO         the CA to trust (here the test CA; CAPATH cleared,
 *                          so nothing else is trusted)
 *   CURLOPT_SSL_VERIFYPEER 1, CURLOPT_SSL_VERIFYHOST 2: never switched off,
 *                          not even by the cases that expect a failure
 *   CURLOPT_SSLVERSION     CURL_SSLVERSION_TLSv1_2 (a minimum); only the
 *                          TLS 1.1 case asks for less, to be refused
 *   CURLOPT_PROTOCOLS_STR  "https", no redirects followed
 *   an error buffer, time-outs, a cap on the response size, "Expect:" off
 * and every request carries `MTS-Protocol: 1`; bodies are built and parsed
 * with json-glib.  Every answer is checked for `MTS-Protocol: 1`.
 *
 * Setting up (on the first case that needs the server): a temporary folder,
 * the test CA from make-test-ca.sh (found through MTS_TEST_SRCDIR, else
 * G_TEST_SRCDIR), a configuration ([server] port=0 and the test CA's
 * certificate, [vault] kdf=test, [auth] password_kdf=min), then
 * `mts-server --config F serve` (MTS_SERVER names the binary) with
 * MTS_VAULT_PASSPHRASE; a thread reads its stderr, learns the port from the
 * `"event": "listening"` line and keeps the log.  Each case makes its own
 * practice and user (`practice-create`, `user-add --no-qr` with
 * MTS_USER_PASSWORD; the TOTP secret is the otpauth URI's `secret=`, decoded
 * with liboath, codes from mts_totp_code), so a failing case leaves the
 * others meaningful.  A server started here gets SIGTERM if this program
 * dies first (PR_SET_PDEATHSIG), so none outlives an aborted run.
 *
 * Cases (/api-libcurl/...):
 *   health          GET /v1/health with TLS 1.2 as the minimum, and with
 *                   exactly 1.2 and exactly 1.3, each as negotiated
 *   tls-other-ca    trusting only another CA: CURLE_PEER_FAILED_VERIFICATION,
 *                   the error buffer naming the certificate
 *   tls-wrong-host  a name not in the certificate: the same
 *   tls11-refused   a client of at most TLS 1.1 cannot connect (after a
 *                   control: that client does speak TLS 1.1 to openssl
 *                   s_server, else the case is skipped)
 *   tls-pinned-key  CURLOPT_PINNEDPUBLICKEY: the server's key passes, another
 *                   key fails
 *   login           tokens, lifetimes, ids; a wrong TOTP code refused
 *   push            a note and a client with sensitive markers: applied, with
 *                   increasing versions; pulled back as sent
 *   push-replay     the same bytes again: duplicate of applied, same versions,
 *                   nothing stored twice
 *   pull-pages      limit=1 walked with next/more/remaining: every record once
 *   refresh         rotation; a spent refresh token: 401 token_reused and the
 *                   family revoked
 *   bad-json        malformed, truncated, empty and non-UTF-8 bodies: 400
 *                   bad_json, nothing applied
 *   bad-json-lenient  bodies that are not JSON but that json-glib takes
 *                   (single quotes, comments, 0x1, "\x41", two documents):
 *                   400 bad_json, nothing applied
 *   bad-bearer      missing, garbage, tampered, truncated and refresh-as-access
 *                   tokens: 401 unauthorized
 *   bearer-expired  its own server with 1-second access tokens: 401
 *                   token_expired, then refresh works
 *   connection-reuse 20 requests (answers and errors) on one handle use one
 *                   connection (CURLINFO_NUM_CONNECTS 0 after the first);
 *                   CURLOPT_FRESH_CONNECT as the control
 *   at-rest         last: SIGTERM stops the server with exit status 0; its
 *                   database (and -wal, vault) hold no marker, password, TOTP
 *                   secret or token, nor does its log; controls show the scan
 *                   sees what is stored in the clear
 *
 * Run with --tap -k.  Assertions are non-fatal: a failed check fails its
 * case, and the case stops where going on would be meaningless.  The
 * temporary folder is removed when everything passed, else kept and named.
 */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include "mts-totp.h"

#include <curl/curl.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <liboath/oath.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define VAULT_PASSPHRASE   "vault passphrase for tests only"
#define MARK               "MARKER-"   /* every sensitive plaintext pushed carries it */
#define MAX_RESPONSE_BYTES (16 * 1024 * 1024)
#define START_SECONDS      30
#define STOP_SECONDS       30

/* Fails the running case, and says why in the log too (a case's TAP line
 * shows only the last reason). */
static void G_GNUC_PRINTF (1, 2)
fail (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("FAILED: %s", message);
  g_test_fail_printf ("%s", message);
}

/* ===================================================================== */
/* Children: the environment, running a command                           */

/* What every child gets: this environment without any MTS_* setting. */
static char **
child_environ (void)
{
  char **env = g_get_environ ();
  g_auto(GStrv) names = g_listenv ();

  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_has_prefix (names[i], "MTS_"))
      env = g_environ_unsetenv (env, names[i]);
  env = g_environ_setenv (env, "LC_ALL", "C", TRUE);
  /* In the AddressSanitizer build, children run without LeakSanitizer:
   * GCC 12's LSan crashes walking the dynamic TLS that glib-networking's
   * GnuTLS leaves in GIO's worker threads (tests/server/mtsserver.py says
   * more).  Memory errors are still caught. */
  if (g_environ_getenv (env, "ASAN_OPTIONS") != NULL)
    {
      g_autofree char *asan = g_strconcat (g_environ_getenv (env, "ASAN_OPTIONS"),
                                           ":detect_leaks=0", NULL);
      env = g_environ_setenv (env, "ASAN_OPTIONS", asan, TRUE);
    }
  env = g_environ_setenv (env, "MTS_VAULT_PASSPHRASE", VAULT_PASSPHRASE, TRUE);
  return env;
}

/* In the child, before exec: die with this program rather than outlive it. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Runs @argv to the end (stdin /dev/null) with @extra_env ("NAME", "value",
 * ..., NULL) added; returns its stdout, or NULL with an error holding the
 * exit status and stderr if it failed. */
static char *
run_command (const char *const *argv, const char *const *extra_env, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = child_environ ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *command = NULL;

  for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i += 2)
    env = g_environ_setenv (env, extra_env[i], extra_env[i + 1], TRUE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (proc == NULL)
    return NULL;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, error))
    return NULL;
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      command = g_strjoinv (" ", (char **) argv);
      g_set_error (error, G_SPAWN_EXIT_ERROR,
                   g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1,
                   "%s: %s %d\nstdout: %s\nstderr: %s", command,
                   g_subprocess_get_if_exited (proc) ? "exit status" : "killed by signal",
                   g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc)
                                                     : g_subprocess_get_term_sig (proc),
                   out, err);
      return NULL;
    }
  return g_steal_pointer (&out);
}

static void
wait_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  gboolean *done = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
wait_timeout_cb (gpointer data)
{
  gboolean *timed_out = data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits up to @seconds for @proc to exit; FALSE if it did not (it is then
 * still running). */
static gboolean
wait_exit (GSubprocess *proc, guint seconds)
{
  GMainContext *ctx = g_main_context_new ();
  GSource *timeout = g_timeout_source_new_seconds (seconds);
  gboolean done = FALSE, timed_out = FALSE;

  g_main_context_push_thread_default (ctx);
  g_source_set_callback (timeout, wait_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, ctx);
  g_subprocess_wait_async (proc, NULL, wait_done_cb, &done);
  while (!done && !timed_out)
    g_main_context_iteration (ctx, TRUE);
  if (!done)
    {
      /* Give up on it: kill it, and let the pending wait finish here. */
      g_subprocess_force_exit (proc);
      while (!done)
        g_main_context_iteration (ctx, TRUE);
    }
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  return !timed_out;
}

/* ===================================================================== */
/* The server                                                             */

typedef struct {
  char *name;
  char *dir;
  char *config;
  char *db;
  GSubprocess *proc;
  GThread *reader;
  GMutex lock;
  GCond cond;
  GString *log;        /* its stderr, every run; under lock */
  guint16 port;        /* 0 until it logged "listening"; under lock */
  gboolean eof;        /* the reader saw stderr close; under lock */
} Server;

static struct {
  gboolean tried;      /* setting up was attempted */
  char *failed;        /* why it failed, or NULL */
  char *dir;           /* the temporary folder */
  char *ca_dir;
  char *server_bin;
  Server *main;        /* the server the cases share */
  GPtrArray *secrets;  /* every password, TOTP secret and token of main */
  guint counter;
} fx;

static char *
ca_file (const char *name)
{
  return g_build_filename (fx.ca_dir, name, NULL);
}

/* The port of a "listening" log line, or 0. */
static guint16
listening_port (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj;
  JsonNode *port;
  gint64 n = 0;

  if (strstr (line, "\"listening\"") == NULL || !json_parser_load_from_data (parser, line, -1, NULL))
    return 0;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return 0;
  obj = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member_with_default (obj, "event", ""), "listening") != 0)
    return 0;
  port = json_object_get_member (obj, "port");
  if (port == NULL || !JSON_NODE_HOLDS_VALUE (port))
    return 0;
  if (json_node_get_value_type (port) == G_TYPE_INT64)
    n = json_node_get_int (port);
  else if (json_node_get_value_type (port) == G_TYPE_STRING)
    n = g_ascii_strtoll (json_node_get_string (port), NULL, 10);
  return n > 0 && n < 65536 ? (guint16) n : 0;
}

/* The thread reading the server's stderr to its end: the log, the port. */
static gpointer
reader_thread (gpointer data)
{
  Server *srv = data;
  GInputStream *pipe = g_subprocess_get_stderr_pipe (srv->proc);
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (pipe);
  char *line;
  gsize len;

  while ((line = g_data_input_stream_read_line (in, &len, NULL, NULL)) != NULL)
    {
      guint16 port = listening_port (line);

      g_mutex_lock (&srv->lock);
      g_string_append_len (srv->log, line, len);
      g_string_append_c (srv->log, '\n');
      if (port != 0 && srv->port == 0)
        srv->port = port;
      g_cond_broadcast (&srv->cond);
      g_mutex_unlock (&srv->lock);
      g_free (line);
    }
  g_mutex_lock (&srv->lock);
  srv->eof = TRUE;
  g_cond_broadcast (&srv->cond);
  g_mutex_unlock (&srv->lock);
  return NULL;
}

static void server_free (Server *srv);

/* A server in its own folder under the temporary one, not started;
 * @auth_extra: more lines for [auth] ("key=value\n"), or NULL.  NULL if
 * its folder or configuration cannot be written. */
static Server *
server_new (const char *name, const char *auth_extra, GError **error)
{
  Server *srv = g_new0 (Server, 1);
  g_autofree char *cert = ca_file ("server.pem");
  g_autofree char *key = ca_file ("server-key.pem");
  g_autofree char *text = NULL;

  srv->name = g_strdup (name);
  srv->dir = g_build_filename (fx.dir, name, NULL);
  srv->config = g_build_filename (srv->dir, "mts-server.conf", NULL);
  srv->db = g_build_filename (srv->dir, "mts-server.db", NULL);
  srv->log = g_string_new (NULL);
  g_mutex_init (&srv->lock);
  g_cond_init (&srv->cond);
  text = g_strdup_printf ("[server]\nlisten=127.0.0.1\nport=0\ntls_certificate=%s\ntls_key=%s\n\n"
                          "[storage]\npath=mts-server.db\n\n"
                          "[vault]\ndirectory=vault\nkdf=test\n\n"
                          "[auth]\npassword_kdf=min\nrefresh_retry_seconds=0\n%s",
                          cert, key, auth_extra != NULL ? auth_extra : "");
  if (g_mkdir_with_parents (srv->dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot make %s: %s", srv->dir, g_strerror (saved));
      server_free (srv);
      return NULL;
    }
  if (!g_file_set_contents (srv->config, text, -1, error))
    {
      server_free (srv);
      return NULL;
    }
  return srv;
}

static gboolean
server_running (Server *srv)
{
  return srv->proc != NULL && g_subprocess_get_identifier (srv->proc) != NULL;
}

/* The last @n lines of the log, for diagnostics. */
static char *
server_log_tail (Server *srv, guint n)
{
  g_autofree char *all = NULL;
  const char *p;
  guint seen = 0;

  g_mutex_lock (&srv->lock);
  all = g_strdup (srv->log->str);
  g_mutex_unlock (&srv->lock);
  p = all + strlen (all);
  while (p > all && seen <= n)
    if (*--p == '\n')
      seen++;
  return g_strdup (*all == '\0' ? "(nothing on stderr)" : p);
}

static void
server_join_reader (Server *srv)
{
  if (srv->reader != NULL)
    g_thread_join (g_steal_pointer (&srv->reader));
}

/* Starts `serve` and waits for its listening line. */
static gboolean
server_start (Server *srv, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = child_environ ();
  const char *argv[] = { fx.server_bin, "--config", srv->config, "serve", NULL };
  gint64 deadline = g_get_monotonic_time () + START_SECONDS * G_TIME_SPAN_SECOND;
  guint16 port;
  gboolean eof;

  g_return_val_if_fail (srv->proc == NULL, FALSE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  srv->port = 0;
  srv->eof = FALSE;
  srv->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (srv->proc == NULL)
    return FALSE;
  srv->reader = g_thread_new ("server-stderr", reader_thread, srv);

  g_mutex_lock (&srv->lock);
  while (srv->port == 0 && !srv->eof)
    if (!g_cond_wait_until (&srv->cond, &srv->lock, deadline))
      break;
  port = srv->port;
  eof = srv->eof;
  g_mutex_unlock (&srv->lock);
  if (port != 0)
    return TRUE;

  if (!eof)
    g_subprocess_force_exit (srv->proc);
  wait_exit (srv->proc, STOP_SECONDS);
  server_join_reader (srv);
  {
    g_autofree char *tail = server_log_tail (srv, 40);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "server %s %s; its stderr:\n%s", srv->name,
                 eof ? "exited before listening" : "logged no listening line in time", tail);
  }
  g_clear_object (&srv->proc);
  return FALSE;
}

/* SIGTERM, then waits for it (killing it after STOP_SECONDS); returns the
 * exit status, or -1 if it was killed or did not exit in time. */
static int
server_stop (Server *srv)
{
  int status = -1;

  if (srv->proc == NULL)
    return -1;
  g_subprocess_send_signal (srv->proc, SIGTERM);
  if (wait_exit (srv->proc, STOP_SECONDS) && g_subprocess_get_if_exited (srv->proc))
    status = g_subprocess_get_exit_status (srv->proc);
  server_join_reader (srv);
  g_clear_object (&srv->proc);
  srv->port = 0;
  return status;
}

static void
server_free (Server *srv)
{
  if (srv == NULL)
    return;
  if (srv->proc != NULL)
    {
      g_subprocess_force_exit (srv->proc);
      wait_exit (srv->proc, STOP_SECONDS);
      server_join_reader (srv);
      g_clear_object (&srv->proc);
    }
  g_string_free (srv->log, TRUE);
  g_mutex_clear (&srv->lock);
  g_cond_clear (&srv->cond);
  g_free (srv->name);
  g_free (srv->dir);
  g_free (srv->config);
  g_free (srv->db);
  g_free (srv);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

static guint16
server_port (Server *srv)
{
  guint16 port;

  g_mutex_lock (&srv->lock);
  port = srv->port;
  g_mutex_unlock (&srv->lock);
  return port;
}

/* `mts-server --config F ARGS...`; its stdout, or NULL with an error. */
static char *
server_admin (Server *srv, const char *password, GError **error, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *extra_env[] = { "MTS_USER_PASSWORD", password, NULL };
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, fx.server_bin);
  g_ptr_array_add (argv, (gpointer) "--config");
  g_ptr_array_add (argv, srv->config);
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return run_command ((const char *const *) argv->pdata, password != NULL ? extra_env : NULL, error);
}

/* ===================================================================== */
/* Setting up: the temporary folder, the CA, the shared server            */

static char *
source_file (const char *name)
{
  const char *dir = g_getenv ("MTS_TEST_SRCDIR");

  if (dir != NULL && *dir != '\0')
    return g_build_filename (dir, name, NULL);
  return g_test_build_filename (G_TEST_DIST, name, NULL);
}

static gboolean
set_up (GError **error)
{
  g_autofree char *script = source_file ("make-test-ca.sh");
  g_autofree char *out = NULL;
  const char *bin = g_getenv ("MTS_SERVER");

  fx.server_bin = bin != NULL && *bin != '\0'
                ? g_strdup (bin)
                : g_test_build_filename (G_TEST_BUILT, "..", "..", "server", "mts-server", NULL);
  if (!g_file_test (fx.server_bin, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "no server binary at %s (set MTS_SERVER)", fx.server_bin);
      return FALSE;
    }
  fx.dir = g_dir_make_tmp ("mts-api-libcurl-XXXXXX", error);
  if (fx.dir == NULL)
    return FALSE;
  fx.ca_dir = g_build_filename (fx.dir, "ca", NULL);
  {
    const char *argv[] = { script, fx.ca_dir, NULL };
    out = run_command (argv, NULL, error);
    if (out == NULL)
      return FALSE;
  }
  fx.main = server_new ("main", NULL, error);
  return fx.main != NULL && server_start (fx.main, error);
}

/* The shared server, set up and started on first use; NULL (the case
 * failed) if that is impossible or if it has died. */
static Server *
main_server (void)
{
  g_autoptr(GError) error = NULL;

  if (!fx.tried)
    {
      fx.tried = TRUE;
      if (!set_up (&error))
        fx.failed = g_strdup (error->message);
    }
  if (fx.failed != NULL)
    {
      fail ("setting up failed: %s", fx.failed);
      return NULL;
    }
  if (fx.main->proc != NULL && !server_running (fx.main))
    {
      g_autofree char *tail = server_log_tail (fx.main, 40);
      fail ("the server has died; its stderr:\n%s", tail);
      return NULL;
    }
  if (fx.main->proc == NULL && !server_start (fx.main, &error))
    {
      fail ("%s", error->message);
      return NULL;
    }
  return fx.main;
}

static char *
unique (const char *prefix)
{
  return g_strdup_printf ("%s-%u", prefix, ++fx.counter);
}

static void
remember_secret (Server *srv, const char *secret)
{
  if (srv == fx.main && secret != NULL)
    g_ptr_array_add (fx.secrets, g_strdup (secret));
}

/* ===================================================================== */
/* Practices, users, TOTP codes                                           */

/* A new practice (practice-create); its slug, or NULL (the case failed). */
static char *
new_practice (Server *srv, const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *slug = unique (prefix);
  g_autofree char *name = g_strdup_printf ("Practice %s", slug);
  g_autofree char *out = server_admin (srv, NULL, &error, "practice-create", slug, name, NULL);

  if (out == NULL)
    {
      fail ("practice-create: %s", error->message);
      return NULL;
    }
  return g_steal_pointer (&slug);
}

typedef struct {
  char *practice;
  char *username;
  char *password;
  char *user_id;
  guint8 *secret;
  gsize secret_len;
  gint64 last_step;    /* the step of the last code handed out, or -1 */
} User;

static void
user_free (User *u)
{
  if (u == NULL)
    return;
  g_free (u->practice);
  g_free (u->username);
  g_free (u->password);
  g_free (u->user_id);
  g_free (u->secret);
  g_free (u);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

/* A new clinician of @slug (user-add --no-qr, the password through
 * MTS_USER_PASSWORD), or NULL (the case failed). */
static User *
new_user (Server *srv, const char *slug)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(User) u = g_new0 (User, 1);
  g_autoptr(GRegex) user_re = g_regex_new ("^user ([0-9a-f-]{36})\\s*$", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GRegex) secret_re = g_regex_new ("otpauth://totp/\\S*[?&]secret=([A-Z2-7]+)", 0, 0, NULL);
  g_autoptr(GMatchInfo) m = NULL;
  g_autofree char *out = NULL;
  g_autofree char *b32 = NULL;
  char *raw = NULL;
  size_t raw_len = 0;

  u->practice = g_strdup (slug);
  u->username = unique ("u");
  u->password = g_strdup_printf ("pw-%s-%08x%08x", u->username, g_random_int (), g_random_int ());
  u->last_step = -1;
  out = server_admin (srv, u->password, &error, "user-add", "--no-qr", slug, u->username,
                      "clinician", NULL);
  if (out == NULL)
    {
      fail ("user-add: %s", error->message);
      return NULL;
    }
  if (!g_regex_match (user_re, out, 0, &m))
    {
      fail ("user-add printed no 'user <id>' line: %s", out);
      return NULL;
    }
  u->user_id = g_match_info_fetch (m, 1);
  g_clear_pointer (&m, g_match_info_free);
  if (!g_regex_match (secret_re, out, 0, &m))
    {
      fail ("user-add printed no otpauth URI with a secret");
      return NULL;
    }
  b32 = g_match_info_fetch (m, 1);
  if (oath_init () != OATH_OK ||
      oath_base32_decode (b32, strlen (b32), &raw, &raw_len) != OATH_OK ||
      raw_len != MTS_TOTP_SECRET_BYTES)
    {
      fail ("the otpauth URI's secret is not %d bytes of base32", MTS_TOTP_SECRET_BYTES);
      free (raw);
      return NULL;
    }
  u->secret = g_memdup2 (raw, raw_len);
  u->secret_len = raw_len;
  free (raw);
  remember_secret (srv, u->password);
  remember_secret (srv, b32);
  return g_steal_pointer (&u);
}

static gint64
now_step (void)
{
  return MTS_TOTP_STEP (g_get_real_time () / G_USEC_PER_SEC);
}

static void
code_at_step (User *u, gint64 step, char out[MTS_TOTP_CODE_BUF])
{
  g_autoptr(GError) error = NULL;

  if (!mts_totp_code (u->secret, u->secret_len, step * MTS_TOTP_PERIOD + 1, out, &error))
    g_error ("mts_totp_code: %s", error->message);
}

/* The user's next code: the current step's, or a later one if that was
 * used (the server takes each step once, and one step of drift; past that
 * this waits for the clock). */
static void
user_code (User *u, char out[MTS_TOTP_CODE_BUF])
{
  gint64 step;

  for (;;)
    {
      gint64 cur = now_step ();
      step = MAX (u->last_step + 1, cur);
      if (step <= cur + 1)
        break;
      g_usleep ((gulong) ((step - 1) * MTS_TOTP_PERIOD * G_USEC_PER_SEC - g_get_real_time ()) + 500000);
    }
  u->last_step = step;
  code_at_step (u, step, out);
}

/* Six digits that are the code of no step near now. */
static void
user_wrong_code (User *u, char out[MTS_TOTP_CODE_BUF])
{
  char near[7][MTS_TOTP_CODE_BUF];
  gint64 cur = now_step ();
  guint candidate = 123456;
  gboolean clash = TRUE;

  for (int d = -3; d <= 3; d++)
    code_at_step (u, cur + d, near[d + 3]);
  while (clash)
    {
      g_snprintf (out, MTS_TOTP_CODE_BUF, "%06u", candidate);
      clash = FALSE;
      for (int i = 0; i < 7; i++)
        clash = clash || strcmp (near[i], out) == 0;
      candidate = (candidate + 1) % 1000000;
    }
}

/* ===================================================================== */
/* The HTTP client (libcurl)                                              */

typedef struct {
  CURL *curl;
  char *base;                     /* https://HOST:PORT */
  struct curl_slist *resolve;     /* CURLOPT_RESOLVE, kept for the handle */
  char errbuf[CURL_ERROR_SIZE];
  GByteArray *body;               /* the answer being received */
  GString *info;                  /* libcurl's informational text, this request */
  gboolean not_mts;               /* the peer is no mts-server: no MTS-Protocol check */
} Client;

typedef struct {
  CURLcode result;
  char *curl_error;    /* the error buffer (or curl_easy_strerror) if result != OK */
  long status;         /* the HTTP status, 0 if there was no answer */
  char *text;          /* the body, NUL-terminated */
  JsonNode *json;      /* the body parsed, if it is JSON */
  char *mts_protocol;  /* the MTS-Protocol header, or NULL */
  char *content_type;
  char *tls_version;   /* "1.2", "1.3"... if this request made a TLS connection */
  long num_connects;   /* CURLINFO_NUM_CONNECTS: new connections it needed */
  long local_port;
  long http_version;   /* CURLINFO_HTTP_VERSION */
} Response;

static void
response_free (Response *r)
{
  if (r == NULL)
    return;
  g_free (r->curl_error);
  g_free (r->text);
  g_clear_pointer (&r->json, json_node_unref);
  g_free (r->mts_protocol);
  g_free (r->content_type);
  g_free (r->tls_version);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

#define SETOPT(c, opt, value) G_STMT_START {                                  \
    CURLcode rc_ = curl_easy_setopt ((c)->curl, opt, value);                  \
    if (rc_ != CURLE_OK)                                                      \
      g_error ("curl_easy_setopt (%s): %s", #opt, curl_easy_strerror (rc_));  \
  } G_STMT_END

static size_t
write_cb (char *data, size_t size, size_t nmemb, void *user)
{
  Client *c = user;
  size_t n = size * nmemb;

  if (c->body->len + n > MAX_RESPONSE_BYTES)
    return 0;   /* CURLE_WRITE_ERROR */
  g_byte_array_append (c->body, (const guint8 *) data, n);
  return n;
}

/* Keeps libcurl's informational text only: never the headers, which hold
 * the bearer token. */
static int
debug_cb (CURL *curl, curl_infotype type, char *data, size_t size, void *user)
{
  Client *c = user;

  if (type == CURLINFO_TEXT)
    g_string_append_len (c->info, data, size);
  return 0;
}

static void
client_free (Client *c)
{
  if (c == NULL)
    return;
  curl_easy_cleanup (c->curl);
  curl_slist_free_all (c->resolve);
  g_byte_array_unref (c->body);
  g_string_free (c->info, TRUE);
  g_free (c->base);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

/* A client of the server on @port at https://@host (NULL: 127.0.0.1, else
 * resolved to 127.0.0.1), trusting @ca (a make-test-ca.sh file name) only,
 * with @ssl_version (CURLOPT_SSLVERSION; 0: CURL_SSLVERSION_TLSv1_2). */
static Client *
client_new_full (guint16 port, const char *host, const char *ca, long ssl_version)
{
  Client *c = g_new0 (Client, 1);
  g_autofree char *cafile = ca_file (ca);

  c->curl = curl_easy_init ();
  if (c->curl == NULL)
    g_error ("curl_easy_init failed");
  c->body = g_byte_array_new ();
  c->info = g_string_new (NULL);
  c->base = g_strdup_printf ("https://%s:%u", host != NULL ? host : "127.0.0.1", port);
  if (host != NULL)
    {
      g_autofree char *entry = g_strdup_printf ("%s:%u:127.0.0.1", host, port);
      c->resolve = curl_slist_append (NULL, entry);
      g_assert_nonnull (c->resolve);
      SETOPT (c, CURLOPT_RESOLVE, c->resolve);
    }

  /* Trust: the given CA and nothing else; verification always on. */
  SETOPT (c, CURLOPT_CAINFO, cafile);
  SETOPT (c, CURLOPT_CAPATH, NULL);
  SETOPT (c, CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT (c, CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT (c, CURLOPT_SSLVERSION, ssl_version != 0 ? ssl_version : (long) CURL_SSLVERSION_TLSv1_2);
  SETOPT (c, CURLOPT_PROTOCOLS_STR, "https");
  SETOPT (c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  SETOPT (c, CURLOPT_FOLLOWLOCATION, 0L);

  /* Behaviour: threads, time-outs, errors. */
  SETOPT (c, CURLOPT_NOSIGNAL, 1L);
  SETOPT (c, CURLOPT_CONNECTTIMEOUT, 10L);
  SETOPT (c, CURLOPT_TIMEOUT, 60L);
  SETOPT (c, CURLOPT_ERRORBUFFER, c->errbuf);
  SETOPT (c, CURLOPT_USERAGENT, "mts-test-api-libcurl/1");
  SETOPT (c, CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT (c, CURLOPT_WRITEDATA, c);
  /* For the negotiated TLS version, which libcurl only reports as text. */
  SETOPT (c, CURLOPT_DEBUGFUNCTION, debug_cb);
  SETOPT (c, CURLOPT_DEBUGDATA, c);
  SETOPT (c, CURLOPT_VERBOSE, 1L);
  return c;
}

static Client *
client_new (guint16 port)
{
  return client_new_full (port, NULL, "ca.pem", 0);
}

/* "1.2" from libcurl's "SSL connection using TLS1.2 / ..." (GnuTLS) or
 * "... using TLSv1.2 / ..." (OpenSSL); NULL if there was no handshake. */
static char *
tls_version_of (const char *info)
{
  const char *p = strstr (info, "SSL connection using ");

  if (p == NULL)
    return NULL;
  p += strlen ("SSL connection using ");
  if (g_str_has_prefix (p, "TLSv"))
    p += 4;
  else if (g_str_has_prefix (p, "TLS"))
    p += 3;
  else
    return NULL;
  return g_strndup (p, strspn (p, "0123456789."));
}

static char *
header_value (Client *c, const char *name)
{
  struct curl_header *h = NULL;

  if (curl_easy_header (c->curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
    return NULL;
  return g_strdup (h->value);
}

/* One request.  @body (NULL: none) of @body_len bytes (-1: a string) is
 * sent as @content_type (NULL: application/json); @token, if not NULL, as
 * the bearer.  Always returns a Response; checks that any answer carries
 * MTS-Protocol: 1. */
static Response *
client_request (Client *c, const char *method, const char *path, const char *token,
                const char *body, gssize body_len, const char *content_type)
{
  Response *r = g_new0 (Response, 1);
  g_autofree char *url = g_strconcat (c->base, path, NULL);
  g_autofree char *auth = NULL;
  g_autofree char *ctype = NULL;
  struct curl_slist *headers = NULL;
  const char *ct = NULL;

  g_byte_array_set_size (c->body, 0);
  g_string_truncate (c->info, 0);
  c->errbuf[0] = '\0';

  headers = curl_slist_append (headers, "MTS-Protocol: 1");
  headers = curl_slist_append (headers, "Accept: application/json");
  headers = curl_slist_append (headers, "Expect:");
  if (token != NULL)
    {
      auth = g_strconcat ("Authorization: Bearer ", token, NULL);
      headers = curl_slist_append (headers, auth);
    }
  SETOPT (c, CURLOPT_URL, url);
  if (strcmp (method, "GET") == 0)
    SETOPT (c, CURLOPT_HTTPGET, 1L);
  else
    {
      g_assert_cmpstr (method, ==, "POST");
      ctype = body != NULL
            ? g_strconcat ("Content-Type: ", content_type != NULL ? content_type : "application/json", NULL)
            : g_strdup ("Content-Type:");   /* no body: not form data either */
      headers = curl_slist_append (headers, ctype);
      SETOPT (c, CURLOPT_POST, 1L);
      SETOPT (c, CURLOPT_POSTFIELDSIZE_LARGE,
              (curl_off_t) (body == NULL ? 0 : body_len < 0 ? (gssize) strlen (body) : body_len));
      SETOPT (c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    }
  g_assert_nonnull (headers);
  SETOPT (c, CURLOPT_HTTPHEADER, headers);

  r->result = curl_easy_perform (c->curl);

  SETOPT (c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all (headers);
  if (auth != NULL)
    memset (auth, 0, strlen (auth));

  if (r->result != CURLE_OK)
    r->curl_error = g_strdup (c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror (r->result));
  curl_easy_getinfo (c->curl, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo (c->curl, CURLINFO_NUM_CONNECTS, &r->num_connects);
  curl_easy_getinfo (c->curl, CURLINFO_LOCAL_PORT, &r->local_port);
  curl_easy_getinfo (c->curl, CURLINFO_HTTP_VERSION, &r->http_version);
  curl_easy_getinfo (c->curl, CURLINFO_CONTENT_TYPE, &ct);
  r->content_type = g_strdup (ct);
  r->tls_version = tls_version_of (c->info->str);
  r->text = g_strndup ((const char *) c->body->data, c->body->len);
  if (r->status != 0 && !c->not_mts)
    {
      r->mts_protocol = header_value (c, "MTS-Protocol");
      if (g_strcmp0 (r->mts_protocol, "1") != 0)
        fail ("%s %s -> %ld without MTS-Protocol: 1 (got %s)", method, path,
                            r->status, r->mts_protocol != NULL ? r->mts_protocol : "none");
    }
  if (ct != NULL && g_str_has_prefix (ct, "application/json"))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, r->text, (gssize) c->body->len, NULL) &&
          json_parser_get_root (parser) != NULL)
        r->json = json_node_ref (json_parser_get_root (parser));
    }
  return r;
}

static Response *
client_get (Client *c, const char *path, const char *token)
{
  return client_request (c, "GET", path, token, NULL, 0, NULL);
}

static Response *
client_post (Client *c, const char *path, const char *token, const char *body)
{
  return client_request (c, "POST", path, token, body, -1, NULL);
}

/* ===================================================================== */
/* Reading answers                                                        */

static JsonObject *
obj_of (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonNode *
member (JsonObject *o, const char *name)
{
  return o != NULL ? json_object_get_member (o, name) : NULL;
}

static const char *
obj_str (JsonObject *o, const char *name)
{
  JsonNode *n = member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
       ? json_node_get_string (n) : NULL;
}

/* The integer member @name, or @missing if there is none. */
static gint64
obj_int (JsonObject *o, const char *name, gint64 missing)
{
  JsonNode *n = member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
       ? json_node_get_int (n) : missing;
}

/* The boolean member @name: 1, 0, or -1 if there is none. */
static int
obj_bool (JsonObject *o, const char *name)
{
  JsonNode *n = member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN
       ? json_node_get_boolean (n) : -1;
}

static JsonArray *
obj_array (JsonObject *o, const char *name)
{
  JsonNode *n = member (o, name);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
array_obj (JsonArray *a, guint i)
{
  return a != NULL && i < json_array_get_length (a) ? obj_of (json_array_get_element (a, i)) : NULL;
}

static JsonObject *
response_obj (Response *r)
{
  return obj_of (r->json);
}

static const char *
error_code (Response *r)
{
  return obj_str (obj_of (member (response_obj (r), "error")), "code");
}

static char *
describe (Response *r)
{
  if (r->status == 0)
    return g_strdup_printf ("no answer: curl error %d (%s): %s", r->result,
                            curl_easy_strerror (r->result), r->curl_error);
  return g_strdup_printf ("HTTP %ld: %.600s", r->status, r->text);
}

/* Requires @status (and for an error, the JSON error @code with a message);
 * fails the case and returns FALSE otherwise. */
static gboolean
expect (Response *r, long status, const char *code, const char *what)
{
  g_autofree char *desc = NULL;

  if (r->status == status && (code == NULL || g_strcmp0 (error_code (r), code) == 0))
    {
      if (code != NULL)
        {
          JsonObject *err = obj_of (member (response_obj (r), "error"));
          const char *message = obj_str (err, "message");
          if (message == NULL || *message == '\0')
            {
              fail ("%s: error %s without a message: %s", what, code, r->text);
              return FALSE;
            }
        }
      return TRUE;
    }
  desc = describe (r);
  fail ("%s: expected %ld%s%s, got %s", what, status,
                      code != NULL ? " " : "", code != NULL ? code : "", desc);
  return FALSE;
}

/* ===================================================================== */
/* Request bodies                                                         */

static char *
stamp (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *s = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", s, g_date_time_get_microsecond (now) / 1000);
}

static void
set_str (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
set_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static char *
builder_text (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);

  return json_to_string (root, FALSE);
}

/* {"ops": [ ... : add ops, then push_end */
static JsonBuilder *
push_begin (void)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ops");
  json_builder_begin_array (b);
  return b;
}

static char *
push_end (JsonBuilder *b)
{
  json_builder_end_array (b);
  json_builder_end_object (b);
  return builder_text (b);
}

static void
op_begin (JsonBuilder *b, gint64 seq, const char *table, const char *id)
{
  json_builder_begin_object (b);
  set_int (b, "seq", seq);
  set_str (b, "table", table);
  set_str (b, "id", id);
  set_str (b, "op", "upsert");
  set_int (b, "base_version", 0);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
}

static void
op_end (JsonBuilder *b)
{
  json_builder_end_object (b);
  json_builder_end_object (b);
}

/* A new client whose name, e-mail and phone carry MARK and @tag. */
static void
add_client_op (JsonBuilder *b, gint64 seq, const char *id, const char *tag)
{
  g_autofree char *t = stamp ();
  g_autofree char *name = g_strdup_printf (MARK "NAME-%s", tag);
  g_autofree char *email = g_strdup_printf (MARK "EMAIL-%s@example.org", tag);
  g_autofree char *phone = g_strdup_printf (MARK "PHONE-%s", tag);

  op_begin (b, seq, "clients", id);
  set_str (b, "created_at", t);
  set_str (b, "updated_at", t);
  set_str (b, "display_name", name);
  set_str (b, "email", email);
  set_str (b, "phone", phone);
  set_str (b, "status", "active");
  op_end (b);
}

/* A new draft note of @client_id whose body carries MARK and @tag. */
static void
add_note_op (JsonBuilder *b, gint64 seq, const char *id, const char *client_id, const char *tag)
{
  g_autofree char *t = stamp ();
  g_autofree char *body = g_strdup_printf ("S: " MARK "NOTE-%s\nO: calm\n", tag);

  op_begin (b, seq, "notes", id);
  set_str (b, "created_at", t);
  set_str (b, "updated_at", t);
  set_str (b, "client_id", client_id);
  set_str (b, "template_kind", "SOAP");
  set_str (b, "body", body);
  set_str (b, "status", "draft");
  set_int (b, "ai_assisted", 0);
  op_end (b);
}

/* ===================================================================== */
/* Sessions: a device logged in                                           */

typedef struct {
  Client *client;      /* the device's handle, kept for its connection */
  char *device_id;
  char *access;
  char *refresh;
  JsonNode *answer;    /* the login answer */
} Session;

static void
session_free (Session *s)
{
  if (s == NULL)
    return;
  client_free (s->client);
  g_free (s->device_id);
  g_free (s->access);
  g_free (s->refresh);
  g_clear_pointer (&s->answer, json_node_unref);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Session, session_free)

static char *
login_body (User *u, const char *device_id, const char *code)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  set_str (b, "practice", u->practice);
  set_str (b, "username", u->username);
  set_str (b, "password", u->password);
  set_str (b, "totp", code);
  set_str (b, "device_id", device_id);
  set_str (b, "device_name", "libcurl test device");
  json_builder_end_object (b);
  return builder_text (b);
}

/* Logs @u in on a new device; NULL (the case failed) unless the answer is
 * 200 with both tokens. */
static Session *
login (Server *srv, User *u)
{
  g_autoptr(Session) s = g_new0 (Session, 1);
  g_autoptr(Response) r = NULL;
  g_autofree char *body = NULL;
  char code[MTS_TOTP_CODE_BUF];
  JsonObject *a;

  s->client = client_new (server_port (srv));
  s->device_id = g_uuid_string_random ();
  user_code (u, code);
  body = login_body (u, s->device_id, code);
  r = client_post (s->client, "/v1/auth/login", NULL, body);
  if (!expect (r, 200, NULL, "login"))
    return NULL;
  a = response_obj (r);
  s->access = g_strdup (obj_str (a, "access_token"));
  s->refresh = g_strdup (obj_str (a, "refresh_token"));
  if (s->access == NULL || s->refresh == NULL)
    {
      fail ("login: an answer without both tokens");
      return NULL;
    }
  remember_secret (srv, s->access);
  remember_secret (srv, s->refresh);
  s->answer = json_node_ref (r->json);
  return g_steal_pointer (&s);
}

/* A practice of its own, a user of it, logged in on a new device. */
static Session *
new_session (Server *srv, const char *prefix, User **user_out)
{
  g_autofree char *slug = new_practice (srv, prefix);
  g_autoptr(User) u = NULL;
  Session *s;

  if (slug == NULL || (u = new_user (srv, slug)) == NULL)
    return NULL;
  s = login (srv, u);
  if (user_out != NULL)
    *user_out = g_steal_pointer (&u);
  return s;
}

/* Pushes @body; the results array, checked to hold @n results in the
 * order of @seqs, or NULL (the case failed).  Keeps the response in *@out. */
static JsonArray *
push_ok (Session *s, const char *body, guint n, const gint64 *seqs, Response **out)
{
  Response *r = client_post (s->client, "/v1/sync/push", s->access, body);
  JsonArray *results;

  *out = r;
  if (!expect (r, 200, NULL, "push"))
    return NULL;
  results = obj_array (response_obj (r), "results");
  if (results == NULL || json_array_get_length (results) != n)
    {
      fail ("push: expected %u results, got %s", n, r->text);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (obj_int (array_obj (results, i), "seq", -1) != seqs[i])
      {
        fail ("push: result %u is not for seq %" G_GINT64_FORMAT ": %s", i, seqs[i], r->text);
        return NULL;
      }
  return results;
}

/* Every record of the session's practice, following next while more:
 * "table/id" -> a JsonObject (kept alive by *@pages, the responses). */
static GHashTable *
pull_all (Session *s, GPtrArray **pages)
{
  g_autoptr(GHashTable) records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 after = 0;

  *pages = g_ptr_array_new_with_free_func ((GDestroyNotify) response_free);
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *path = g_strdup_printf ("/v1/sync/pull?after=%" G_GINT64_FORMAT, after);
      Response *r = client_get (s->client, path, s->access);
      JsonArray *recs;
      gint64 next;

      g_ptr_array_add (*pages, r);
      if (!expect (r, 200, NULL, "pull"))
        return NULL;
      recs = obj_array (response_obj (r), "records");
      for (guint j = 0; recs != NULL && j < json_array_get_length (recs); j++)
        {
          JsonObject *rec = array_obj (recs, j);
          g_hash_table_replace (records, g_strdup_printf ("%s/%s", obj_str (rec, "table"),
                                                          obj_str (rec, "id")), rec);
        }
      if (obj_bool (response_obj (r), "more") != 1)
        return g_steal_pointer (&records);
      next = obj_int (response_obj (r), "next", -1);
      if (next <= after)
        {
          fail ("pull: next %" G_GINT64_FORMAT " is not after %" G_GINT64_FORMAT, next, after);
          return NULL;
        }
      after = next;
    }
  fail ("pull never ended");
  return NULL;
}

static JsonObject *
record_fields (GHashTable *records, const char *table, const char *id)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", table, id);

  return obj_of (member (g_hash_table_lookup (records, key), "fields"));
}

/* ===================================================================== */
/* Cases: TLS                                                             */

static void
test_health (void)
{
  Server *srv = main_server ();
  struct { long version; const char *want; } pinned[] = {
    { CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2, "1.2" },
    { CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3, "1.3" },
  };

  if (srv == NULL)
    return;
  {
    g_autoptr(Client) c = client_new (server_port (srv));
    g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
    JsonObject *o = response_obj (r);

    if (!expect (r, 200, NULL, "health"))
      return;
    g_assert_cmpstr (obj_str (o, "status"), ==, "ok");
    g_assert_cmpint (obj_int (o, "protocol", -1), ==, 1);
    g_assert_true (r->content_type != NULL && g_str_has_prefix (r->content_type, "application/json"));
    g_assert_nonnull (r->tls_version);
    g_assert_true (g_strcmp0 (r->tls_version, "1.2") == 0 || g_strcmp0 (r->tls_version, "1.3") == 0);
    g_test_message ("negotiated TLS %s, HTTP %s", r->tls_version,
                    r->http_version == CURL_HTTP_VERSION_2_0 ? "2" : "1.x");
  }
  for (guint i = 0; i < G_N_ELEMENTS (pinned); i++)
    {
      g_autoptr(Client) c = client_new_full (server_port (srv), NULL, "ca.pem", pinned[i].version);
      g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
      g_autofree char *what = g_strdup_printf ("health over exactly TLS %s", pinned[i].want);

      if (expect (r, 200, NULL, what))
        g_assert_cmpstr (r->tls_version, ==, pinned[i].want);
    }
}

static void
test_tls_other_ca (void)
{
  Server *srv = main_server ();
  g_autoptr(Client) c = NULL;
  g_autoptr(Response) r = NULL;

  if (srv == NULL)
    return;
  c = client_new_full (server_port (srv), NULL, "other-ca.pem", 0);
  r = client_get (c, "/v1/health", NULL);
  g_assert_cmpint (r->result, ==, CURLE_PEER_FAILED_VERIFICATION);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_nonnull (r->curl_error);
  g_assert_nonnull (strstr (r->curl_error != NULL ? r->curl_error : "", "certificate"));
  g_test_message ("libcurl: %s", r->curl_error);
}

static void
test_tls_wrong_host (void)
{
  Server *srv = main_server ();
  guint16 port;

  if (srv == NULL)
    return;
  port = server_port (srv);
  {
    /* Control: a name that is in the certificate (DNS:localhost). */
    g_autoptr(Client) c = client_new_full (port, "localhost", "ca.pem", 0);
    g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
    expect (r, 200, NULL, "https://localhost (resolved to 127.0.0.1)");
  }
  {
    g_autoptr(Client) c = client_new_full (port, "wrong.example", "ca.pem", 0);
    g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
    g_assert_cmpint (r->result, ==, CURLE_PEER_FAILED_VERIFICATION);
    g_assert_cmpint (r->status, ==, 0);
    g_test_message ("libcurl: %s", r->curl_error);
  }
}

static guint16
free_port (void)
{
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (sock == NULL || !g_socket_bind (sock, any, FALSE, NULL))
    return 0;
  bound = g_socket_get_local_address (sock, NULL);
  return bound != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

#define TLS11_ONLY (CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1)

/* Whether a TLS-1.1-only client of this libcurl connects to openssl
 * s_server speaking TLS 1.1 only: without that, the refusal below would
 * say nothing about the server.  NULL if it does, else why not. */
static char *
tls11_control (void)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cert = ca_file ("server.pem");
  g_autofree char *key = ca_file ("server-key.pem");
  guint16 port = free_port ();
  g_autofree char *accept = g_strdup_printf ("127.0.0.1:%u", port);
  const char *argv[] = { "openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key,
                         "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-www", "-quiet", NULL };
  char *why = NULL;

  if (port == 0)
    return g_strdup ("no free port");
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (proc == NULL)
    return g_strdup_printf ("cannot run openssl s_server: %s", error->message);
  for (int i = 0; i < 100; i++)
    {
      g_autoptr(Client) c = client_new_full (port, NULL, "ca.pem", TLS11_ONLY);
      g_autoptr(Response) r = NULL;

      c->not_mts = TRUE;
      r = client_get (c, "/", NULL);

      if (r->result == CURLE_OK)
        {
          if (g_strcmp0 (r->tls_version, "1.1") != 0)
            why = g_strdup_printf ("openssl s_server -tls1_1 negotiated TLS %s", r->tls_version);
          break;
        }
      if (r->result != CURLE_COULDNT_CONNECT || !g_subprocess_get_identifier (proc) || i == 99)
        {
          why = g_strdup_printf ("a TLS-1.1-only libcurl client cannot talk to openssl s_server "
                                 "-tls1_1 either: curl error %d: %s", r->result, r->curl_error);
          break;
        }
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_subprocess_force_exit (proc);
  wait_exit (proc, STOP_SECONDS);
  return why;
}

static void
test_tls11_refused (void)
{
  Server *srv = main_server ();
  g_autofree char *why = NULL;

  if (srv == NULL)
    return;
  why = tls11_control ();
  if (why != NULL)
    {
      g_test_skip (why);
      return;
    }
  {
    g_autoptr(Client) c = client_new_full (server_port (srv), NULL, "ca.pem", TLS11_ONLY);
    g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
    g_autofree char *desc = describe (r);

    g_test_message ("TLS 1.1 only: %s", desc);
    g_assert_cmpint (r->status, ==, 0);
    g_assert_cmpint (r->result, ==, CURLE_SSL_CONNECT_ERROR);
  }
  {
    g_autoptr(Client) c = client_new (server_port (srv));
    g_autoptr(Response) r = client_get (c, "/v1/health", NULL);
    expect (r, 200, NULL, "health after the TLS 1.1 attempt");
  }
}

/* The public key of make-test-ca.sh's @key_name, as a PEM file for
 * CURLOPT_PINNEDPUBLICKEY; NULL (the case failed) if openssl fails. */
static char *
public_key_file (const char *key_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = ca_file (key_name);
  g_autofree char *base = g_strndup (key_name, strlen (key_name) - strlen (".pem"));
  g_autofree char *pub_name = g_strconcat (base, "-pub.pem", NULL);
  char *pub = ca_file (pub_name);
  const char *argv[] = { "openssl", "pkey", "-in", key, "-pubout", "-out", pub, NULL };
  g_autofree char *out = run_command (argv, NULL, &error);

  if (out == NULL)
    {
      fail ("openssl pkey: %s", error->message);
      g_free (pub);
      return NULL;
    }
  return pub;
}

static void
test_tls_pinned_key (void)
{
  Server *srv = main_server ();
  g_autofree char *right = NULL;
  g_autofree char *wrong = NULL;

  if (srv == NULL)
    return;
  right = public_key_file ("server-key.pem");
  wrong = public_key_file ("other-server-key.pem");
  if (right == NULL || wrong == NULL)
    return;
  {
    g_autoptr(Client) c = client_new (server_port (srv));
    g_autoptr(Response) r = NULL;
    SETOPT (c, CURLOPT_PINNEDPUBLICKEY, right);
    r = client_get (c, "/v1/health", NULL);
    expect (r, 200, NULL, "health pinned to the server's key");
  }
  {
    g_autoptr(Client) c = client_new (server_port (srv));
    g_autoptr(Response) r = NULL;
    SETOPT (c, CURLOPT_PINNEDPUBLICKEY, wrong);
    r = client_get (c, "/v1/health", NULL);
    g_assert_cmpint (r->result, ==, CURLE_SSL_PINNEDPUBKEYNOTMATCH);
    g_assert_cmpint (r->status, ==, 0);
  }
}

/* ===================================================================== */
/* Cases: auth                                                            */

static void
test_login (void)
{
  Server *srv = main_server ();
  g_autofree char *slug = NULL;
  g_autoptr(User) u = NULL;
  g_autoptr(Session) s = NULL;
  g_autoptr(Response) bad = NULL;
  g_autoptr(Response) pull = NULL;
  g_autofree char *device = g_uuid_string_random ();
  g_autofree char *body = NULL;
  char code[MTS_TOTP_CODE_BUF];
  JsonObject *a;

  if (srv == NULL || (slug = new_practice (srv, "login")) == NULL || (u = new_user (srv, slug)) == NULL)
    return;

  /* A wrong code first: refused, with the answer every bad login gets. */
  {
    g_autoptr(Client) c = client_new (server_port (srv));
    user_wrong_code (u, code);
    body = login_body (u, device, code);
    bad = client_post (c, "/v1/auth/login", NULL, body);
    expect (bad, 401, "invalid_credentials", "login with a wrong TOTP code");
    g_assert_null (strstr (bad->text, "mtsa_"));
  }

  s = login (srv, u);
  if (s == NULL)
    return;
  a = obj_of (s->answer);
  g_assert_true (g_str_has_prefix (s->access, "mtsa_"));
  g_assert_true (g_str_has_prefix (s->refresh, "mtsr_"));
  g_assert_cmpuint (strlen (s->access), >, 20);
  g_assert_cmpuint (strlen (s->refresh), >, 20);
  g_assert_cmpstr (s->access, !=, s->refresh);
  g_assert_cmpstr (obj_str (a, "token_type"), ==, "Bearer");
  g_assert_cmpint (obj_int (a, "expires_in", -1), ==, 900);
  g_assert_cmpint (obj_int (a, "refresh_expires_in", -1), >, 900);
  g_assert_cmpstr (obj_str (a, "user_id"), ==, u->user_id);
  g_assert_cmpstr (obj_str (a, "role"), ==, "clinician");
  g_assert_cmpstr (obj_str (a, "device_id"), ==, s->device_id);
  g_assert_nonnull (obj_str (a, "practice_id"));

  pull = client_get (s->client, "/v1/sync/pull?after=0", s->access);
  if (expect (pull, 200, NULL, "pull with the new access token"))
    g_assert_cmpuint (json_array_get_length (obj_array (response_obj (pull), "records")), ==, 0);
}

static void
test_refresh (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(Session) bystander = NULL;
  g_autoptr(User) u = NULL;
  g_autoptr(Response) r = NULL;
  g_autoptr(Response) pull = NULL;
  g_autoptr(Response) again = NULL;
  g_autoptr(Response) newer = NULL;
  g_autoptr(Response) pull_after = NULL;
  g_autoptr(Response) other = NULL;
  g_autofree char *body = NULL;
  g_autofree char *new_access = NULL;
  g_autofree char *new_refresh = NULL;
  g_autofree char *newer_body = NULL;
  JsonObject *a;

  if (srv == NULL || (s = new_session (srv, "refresh", &u)) == NULL)
    return;
  /* Another login of the same user: not of this token family. */
  if ((bystander = login (srv, u)) == NULL)
    return;

  {
    g_autoptr(JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    set_str (b, "refresh_token", s->refresh);
    json_builder_end_object (b);
    body = builder_text (b);
  }
  r = client_post (s->client, "/v1/auth/refresh", NULL, body);
  if (!expect (r, 200, NULL, "refresh"))
    return;
  a = response_obj (r);
  new_access = g_strdup (obj_str (a, "access_token"));
  new_refresh = g_strdup (obj_str (a, "refresh_token"));
  remember_secret (srv, new_access);
  remember_secret (srv, new_refresh);
  if (new_access == NULL || new_refresh == NULL)
    {
      fail ("refresh: an answer without both tokens: %s", r->text);
      return;
    }
  g_assert_true (g_str_has_prefix (new_access, "mtsa_"));
  g_assert_true (g_str_has_prefix (new_refresh, "mtsr_"));
  g_assert_cmpstr (new_access, !=, s->access);
  g_assert_cmpstr (new_refresh, !=, s->refresh);
  g_assert_cmpstr (obj_str (a, "token_type"), ==, "Bearer");
  g_assert_cmpstr (obj_str (a, "device_id"), ==, s->device_id);

  pull = client_get (s->client, "/v1/sync/pull?after=0", new_access);
  expect (pull, 200, NULL, "pull with the rotated access token");

  /* The spent refresh token again: theft, the family is revoked. */
  again = client_post (s->client, "/v1/auth/refresh", NULL, body);
  expect (again, 401, "token_reused", "the spent refresh token again");

  {
    g_autoptr(JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    set_str (b, "refresh_token", new_refresh);
    json_builder_end_object (b);
    newer_body = builder_text (b);
  }
  newer = client_post (s->client, "/v1/auth/refresh", NULL, newer_body);
  g_assert_cmpint (newer->status, ==, 401);
  g_assert_true (g_strcmp0 (error_code (newer), "unauthorized") == 0 ||
                 g_strcmp0 (error_code (newer), "token_reused") == 0);
  pull_after = client_get (s->client, "/v1/sync/pull?after=0", new_access);
  expect (pull_after, 401, "unauthorized", "the family's access token after the replay");
  other = client_get (bystander->client, "/v1/sync/pull?after=0", bystander->access);
  expect (other, 200, NULL, "another login's session after the replay");
}

/* The token with one character in the middle changed. */
static char *
tamper (const char *token)
{
  char *t = g_strdup (token);
  gsize i = strlen (t) / 2 + 3;

  t[i] = t[i] == 'A' ? 'B' : 'A';
  return t;
}

static void
test_bad_bearer (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *truncated = NULL;
  g_autofree char *unknown = NULL;

  if (srv == NULL || (s = new_session (srv, "bearer", NULL)) == NULL)
    return;
  tampered = tamper (s->access);
  truncated = g_strndup (s->access, strlen (s->access) - 1);
  unknown = g_strnfill (strlen (s->access), 'A');
  memcpy (unknown, "mtsa_", 5);
  {
    struct { const char *what; const char *token; } bad[] = {
      { "no Authorization", NULL },
      { "garbage", "garbage" },
      { "garbage with the prefix", "mtsa_garbage" },
      { "tampered", tampered },
      { "truncated", truncated },
      { "unknown", unknown },
      { "the refresh token as access token", s->refresh },
      { "no prefix", s->access + 5 },
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(Response) r = client_get (s->client, "/v1/sync/pull?after=0", bad[i].token);
        expect (r, 401, "unauthorized", bad[i].what);
        g_assert_null (strstr (r->text, "records"));
      }
  }
  {
    g_autoptr(Response) r = client_get (s->client, "/v1/sync/pull?after=0", s->access);
    expect (r, 200, NULL, "the untouched token afterwards");
  }
}

static void
test_bearer_expired (void)
{
  Server *shared = main_server ();
  g_autoptr(GError) error = NULL;
  g_autoptr(Server) srv = NULL;
  g_autoptr(Session) s = NULL;
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  gint64 issued;
  int status;

  if (shared == NULL)
    return;
  name = unique ("expiry");
  srv = server_new (name, "access_token_seconds=1\n", &error);
  if (srv == NULL || !server_start (srv, &error))
    {
      fail ("%s", error->message);
      return;
    }
  s = new_session (srv, "expiry", NULL);
  issued = g_get_real_time ();   /* after the token was */
  if (s != NULL)
    {
      g_autoptr(Response) expired = NULL;
      g_autoptr(Response) refreshed = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();

      g_assert_cmpint (obj_int (obj_of (s->answer), "expires_in", -1), ==, 1);
      /* The token's second and the next have passed. */
      while (g_get_real_time () < issued + (gint64) (2.5 * G_USEC_PER_SEC))
        g_usleep (G_USEC_PER_SEC / 10);
      expired = client_get (s->client, "/v1/sync/pull?after=0", s->access);
      expect (expired, 401, "token_expired", "pull with an expired access token");

      json_builder_begin_object (b);
      set_str (b, "refresh_token", s->refresh);
      json_builder_end_object (b);
      body = builder_text (b);
      refreshed = client_post (s->client, "/v1/auth/refresh", NULL, body);
      if (expect (refreshed, 200, NULL, "refresh after the access token expired"))
        {
          const char *access = obj_str (response_obj (refreshed), "access_token");
          g_assert_true (access != NULL && g_str_has_prefix (access, "mtsa_"));
        }
    }
  status = server_stop (srv);
  g_assert_cmpint (status, ==, 0);
}

/* ===================================================================== */
/* Cases: sync                                                            */

static void
test_push (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(Response) r = NULL;
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(GHashTable) records = NULL;
  g_autofree char *body = NULL;
  g_autofree char *cid = g_uuid_string_random ();
  g_autofree char *nid = g_uuid_string_random ();
  g_autofree char *tag = unique ("push");
  g_autofree char *name = g_strdup_printf (MARK "NAME-%s", tag);
  g_autofree char *note = g_strdup_printf ("S: " MARK "NOTE-%s\nO: calm\n", tag);
  const gint64 seqs[] = { 1, 2 };
  JsonArray *results;
  gint64 v1, v2;

  if (srv == NULL || (s = new_session (srv, "push", NULL)) == NULL)
    return;
  b = push_begin ();
  add_client_op (b, 1, cid, tag);
  add_note_op (b, 2, nid, cid, tag);
  body = push_end (b);
  if ((results = push_ok (s, body, 2, seqs, &r)) == NULL)
    return;
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpstr (obj_str (array_obj (results, i), "status"), ==, "applied");
      g_assert_cmpint (obj_int (array_obj (results, i), "version", -1), >, 0);
    }
  v1 = obj_int (array_obj (results, 0), "version", -1);
  v2 = obj_int (array_obj (results, 1), "version", -1);
  g_assert_cmpint (v2, >, v1);
  g_assert_null (strstr (r->text, MARK));   /* an applied op's answer echoes nothing */

  /* The plaintext went through: it comes back as sent. */
  records = pull_all (s, &pages);
  if (records == NULL)
    return;
  g_assert_cmpuint (g_hash_table_size (records), ==, 2);
  g_assert_cmpstr (obj_str (record_fields (records, "clients", cid), "display_name"), ==, name);
  g_assert_cmpstr (obj_str (record_fields (records, "notes", nid), "body"), ==, note);
  g_assert_cmpstr (obj_str (record_fields (records, "notes", nid), "client_id"), ==, cid);
}

static void
test_push_replay (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(Response) r1 = NULL;
  g_autoptr(Response) r2 = NULL;
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(GHashTable) records = NULL;
  g_autofree char *body = NULL;
  g_autofree char *cid = g_uuid_string_random ();
  g_autofree char *nid = g_uuid_string_random ();
  g_autofree char *tag = unique ("replay");
  const gint64 seqs[] = { 1, 2 };
  JsonArray *first, *again;

  if (srv == NULL || (s = new_session (srv, "replay", NULL)) == NULL)
    return;
  b = push_begin ();
  add_client_op (b, 1, cid, tag);
  add_note_op (b, 2, nid, cid, tag);
  body = push_end (b);
  if ((first = push_ok (s, body, 2, seqs, &r1)) == NULL)
    return;
  /* The same bytes again, as a client that never saw the answer sends them. */
  if ((again = push_ok (s, body, 2, seqs, &r2)) == NULL)
    return;
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *a = array_obj (first, i), *d = array_obj (again, i);
      g_assert_cmpstr (obj_str (a, "status"), ==, "applied");
      g_assert_cmpstr (obj_str (d, "status"), ==, "duplicate");
      g_assert_cmpstr (obj_str (d, "original_status"), ==, "applied");
      g_assert_cmpint (obj_int (d, "version", -1), ==, obj_int (a, "version", -2));
    }
  records = pull_all (s, &pages);
  if (records == NULL)
    return;
  g_assert_cmpuint (g_hash_table_size (records), ==, 2);
  {
    g_autofree char *key = g_strdup_printf ("clients/%s", cid);
    g_assert_cmpint (obj_int (g_hash_table_lookup (records, key), "version", -1), ==,
                     obj_int (array_obj (first, 0), "version", -2));
  }
}

#define PAGED_RECORDS 5

static void
test_pull_pages (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(Response) pushed = NULL;
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *body = NULL;
  g_autofree char *tag = unique ("pages");
  char *ids[PAGED_RECORDS];
  const gint64 seqs[PAGED_RECORDS] = { 1, 2, 3, 4, 5 };
  gint64 after = 0;
  guint pages = 0;
  gboolean done = FALSE;

  for (guint i = 0; i < PAGED_RECORDS; i++)
    ids[i] = g_uuid_string_random ();
  if (srv == NULL || (s = new_session (srv, "pages", NULL)) == NULL)
    goto out;
  b = push_begin ();
  for (guint i = 0; i < PAGED_RECORDS; i++)
    {
      if (i < 3)
        add_client_op (b, seqs[i], ids[i], tag);
      else
        add_note_op (b, seqs[i], ids[i], ids[0], tag);
      g_hash_table_add (expected, g_strdup_printf ("%s/%s", i < 3 ? "clients" : "notes", ids[i]));
    }
  body = push_end (b);
  if (push_ok (s, body, PAGED_RECORDS, seqs, &pushed) == NULL)
    goto out;

  while (!done && pages <= PAGED_RECORDS + 1)
    {
      g_autofree char *path = g_strdup_printf ("/v1/sync/pull?after=%" G_GINT64_FORMAT "&limit=1", after);
      g_autoptr(Response) r = client_get (s->client, path, s->access);
      JsonObject *o = response_obj (r);
      JsonArray *recs;
      JsonObject *rec;
      gint64 next, remaining;
      int more;

      if (!expect (r, 200, NULL, path))
        goto out;
      pages++;
      recs = obj_array (o, "records");
      next = obj_int (o, "next", -1);
      more = obj_bool (o, "more");
      remaining = obj_int (o, "remaining", -1);
      g_assert_nonnull (recs);
      g_assert_cmpint (more, >=, 0);
      if (recs == NULL || more < 0)
        goto out;
      g_assert_cmpuint (json_array_get_length (recs), <=, 1);
      if (json_array_get_length (recs) == 1)
        {
          g_autofree char *key = NULL;
          rec = array_obj (recs, 0);
          key = g_strdup_printf ("%s/%s", obj_str (rec, "table"), obj_str (rec, "id"));
          g_assert_false (g_hash_table_contains (seen, key));
          g_assert_true (g_hash_table_contains (expected, key));
          g_hash_table_add (seen, g_steal_pointer (&key));
          g_assert_cmpint (obj_int (rec, "version", -1), >, after);
          g_assert_cmpint (next, ==, obj_int (rec, "version", -1));
          g_assert_cmpint (obj_bool (rec, "deleted"), ==, 0);
        }
      /* remaining: the records after this page. */
      g_assert_cmpint (remaining, ==, PAGED_RECORDS - (gint64) g_hash_table_size (seen));
      g_assert_cmpint (more, ==, remaining > 0);
      if (more)
        {
          g_assert_cmpint (next, >, after);
          if (next <= after)
            goto out;
          after = next;
        }
      done = !more;
    }
  g_assert_true (done);
  g_assert_cmpuint (pages, ==, PAGED_RECORDS);
  g_assert_cmpuint (g_hash_table_size (seen), ==, PAGED_RECORDS);

  /* Past the end: nothing, and no more. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/sync/pull?after=%" G_GINT64_FORMAT "&limit=1",
                                             obj_int (array_obj (obj_array (response_obj (pushed), "results"),
                                                                 PAGED_RECORDS - 1), "version", 0));
    g_autoptr(Response) r = client_get (s->client, path, s->access);
    if (expect (r, 200, NULL, "pull past the end"))
      {
        g_assert_cmpuint (json_array_get_length (obj_array (response_obj (r), "records")), ==, 0);
        g_assert_cmpint (obj_bool (response_obj (r), "more"), ==, 0);
        g_assert_cmpint (obj_int (response_obj (r), "remaining", -1), ==, 0);
      }
  }
out:
  for (guint i = 0; i < PAGED_RECORDS; i++)
    g_free (ids[i]);
}

static void
test_bad_json (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(GHashTable) records = NULL;
  struct { const char *what; const char *path; gboolean bearer; const char *body; } bad[] = {
    { "truncated login", "/v1/auth/login", FALSE, "{\"practice\": \"x\", \"username\":" },
    { "login that is not JSON", "/v1/auth/login", FALSE, "practice=x&username=y" },
    { "truncated push", "/v1/sync/push", TRUE, "{\"ops\": [{\"seq\": 1, \"table\": \"clients\"" },
    { "push with a stray comma", "/v1/sync/push", TRUE, "{\"ops\": [],}" },
    { "push that is not UTF-8", "/v1/sync/push", TRUE, "{\"ops\": [], \"x\": \"\xff\xfe\"}" },
    { "refresh with a missing quote", "/v1/auth/refresh", FALSE, "{\"refresh_token: \"mtsr_x\"}" },
    { "an empty body", "/v1/auth/refresh", FALSE, "" },
  };

  if (srv == NULL || (s = new_session (srv, "badjson", NULL)) == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(Response) r = client_post (s->client, bad[i].path, bad[i].bearer ? s->access : NULL,
                                           bad[i].body);
      expect (r, 400, "bad_json", bad[i].what);
    }
  records = pull_all (s, &pages);
  if (records != NULL)
    g_assert_cmpuint (g_hash_table_size (records), ==, 0);
}

/* Bodies that are not JSON (RFC 8259) but that a lenient parser takes:
 * json-glib 1.6 (Debian 12) accepts single-quoted strings, comments,
 * hexadecimal numbers, invalid escapes ("\x41" read as "x41") and a second
 * document after the first.  docs/api.md: a body that is not JSON gets
 * 400 bad_json, and nothing of it may be applied. */
static void
test_bad_json_lenient (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) whats = g_ptr_array_new ();
  g_autofree char *tag = unique ("lenient");
  gint64 seq = 0;

  if (srv == NULL || (s = new_session (srv, "lenient", NULL)) == NULL)
    return;
  g_ptr_array_add (whats, (gpointer) "single-quoted strings");
  g_ptr_array_add (bodies, g_strdup ("{'ops': []}"));
  g_ptr_array_add (whats, (gpointer) "a comment");
  g_ptr_array_add (bodies, g_strdup ("{\"ops\": [] /* comment */}"));
  g_ptr_array_add (whats, (gpointer) "a second document after the first");
  g_ptr_array_add (bodies, g_strdup ("{\"ops\": []} {\"ops\": []}"));
  {
    /* A valid op whose seq is written 0x1: it must not be applied. */
    g_autofree char *cid = g_uuid_string_random ();
    g_autoptr(JsonBuilder) b = push_begin ();
    g_autofree char *valid = NULL;
    g_auto(GStrv) parts = NULL;

    add_client_op (b, ++seq, cid, tag);
    valid = push_end (b);
    parts = g_strsplit (valid, "\"seq\":1,", 2);
    g_assert_cmpuint (g_strv_length (parts), ==, 2);
    g_ptr_array_add (whats, (gpointer) "a hexadecimal number (seq 0x1)");
    g_ptr_array_add (bodies, g_strconcat (parts[0], "\"seq\":0x1,", parts[1], NULL));
  }
  {
    /* A valid note whose body holds the escape \x41 (not JSON). */
    g_autofree char *cid = g_uuid_string_random ();
    g_autofree char *nid = g_uuid_string_random ();
    g_autoptr(JsonBuilder) b = push_begin ();
    g_autofree char *valid = NULL;
    g_auto(GStrv) parts = NULL;

    add_note_op (b, ++seq, nid, cid, tag);
    valid = push_end (b);
    parts = g_strsplit (valid, "O: calm", 2);
    g_assert_cmpuint (g_strv_length (parts), ==, 2);
    g_ptr_array_add (whats, (gpointer) "an invalid escape (\\x41)");
    g_ptr_array_add (bodies, g_strconcat (parts[0], "O: \\x41", parts[1], NULL));
  }
  for (guint i = 0; i < bodies->len; i++)
    {
      g_autoptr(Response) r = client_post (s->client, "/v1/sync/push", s->access, bodies->pdata[i]);
      g_autofree char *what = g_strdup_printf ("push with %s", (char *) whats->pdata[i]);

      if (!expect (r, 400, "bad_json", what))
        g_test_message ("%s: the server answered %ld: %.300s", what, r->status, r->text);
    }
  records = pull_all (s, &pages);
  if (records != NULL && g_hash_table_size (records) != 0)
    fail ("%u record(s) applied from bodies that are not JSON",
                        g_hash_table_size (records));
}

#define REUSE_REQUESTS 20

static void
test_connection_reuse (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(Client) c = NULL;
  long first_port = 0;

  if (srv == NULL || (s = new_session (srv, "reuse", NULL)) == NULL)
    return;
  /* A handle of its own: its first request makes the connection. */
  c = client_new (server_port (srv));
  for (guint i = 0; i < REUSE_REQUESTS; i++)
    {
      g_autoptr(Response) r = NULL;
      g_autofree char *what = g_strdup_printf ("request %u", i + 1);

      /* Answers and errors alike: a client refreshing after a 401 or
       * fixing a 400 stays on its connection. */
      switch (i % 5)
        {
        case 0: r = client_get (c, "/v1/health", NULL); expect (r, 200, NULL, what); break;
        case 1: r = client_get (c, "/v1/sync/pull?after=0", s->access); expect (r, 200, NULL, what); break;
        case 2: r = client_get (c, "/v1/sync/pull?after=0", "mtsa_garbage"); expect (r, 401, "unauthorized", what); break;
        case 3: r = client_post (c, "/v1/sync/push", s->access, "{\"ops\": ["); expect (r, 400, "bad_json", what); break;
        default: r = client_post (c, "/v1/sync/push", s->access, "{\"ops\": []}"); expect (r, 200, NULL, what); break;
        }
      if (i == 0)
        {
          g_assert_cmpint (r->num_connects, ==, 1);
          first_port = r->local_port;
          g_assert_nonnull (r->tls_version);
        }
      else
        {
          if (r->num_connects != 0)
            fail ("request %u (%ld) made %ld new connection(s)", i + 1, r->status,
                                r->num_connects);
          g_assert_cmpint (r->local_port, ==, first_port);
          g_assert_null (r->tls_version);   /* no new handshake */
        }
    }
  /* Control: the counter does see a new connection. */
  {
    g_autoptr(Response) r = NULL;
    SETOPT (c, CURLOPT_FRESH_CONNECT, 1L);
    r = client_get (c, "/v1/health", NULL);
    SETOPT (c, CURLOPT_FRESH_CONNECT, 0L);
    expect (r, 200, NULL, "health on a fresh connection");
    g_assert_cmpint (r->num_connects, ==, 1);
    g_assert_cmpint (r->local_port, !=, first_port);
  }
}

/* ===================================================================== */
/* Case: what the server leaves behind                                    */

/* Appends to @found "file: needle" for each of @needles found in a file
 * under @dir (configuration files aside). */
static void
scan_files (const char *dir, const char *root, GPtrArray *needles, GPtrArray *found)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          scan_files (path, root, needles, found);
          continue;
        }
      if (g_str_has_suffix (name, ".conf") || !g_file_get_contents (path, &data, &len, NULL))
        continue;
      for (guint i = 0; i < needles->len; i++)
        {
          const char *n = needles->pdata[i];
          if (memmem (data, len, n, strlen (n)) != NULL)
            g_ptr_array_add (found, g_strdup_printf ("%s: %.14s...", path + strlen (root) + 1, n));
        }
    }
}

static char *
joined (GPtrArray *lines)
{
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static void
test_at_rest (void)
{
  Server *srv = main_server ();
  g_autoptr(Session) s = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(Response) r = NULL;
  g_autoptr(GPtrArray) pages = NULL;
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(GPtrArray) needles = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) controls = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *body = NULL;
  g_autofree char *cid = g_uuid_string_random ();
  g_autofree char *nid = g_uuid_string_random ();
  g_autofree char *tag = unique ("rest");
  g_autofree char *log = NULL;
  const gint64 seqs[] = { 1, 2 };
  int status;

  if (srv == NULL || (s = new_session (srv, "rest", NULL)) == NULL)
    return;
  b = push_begin ();
  add_client_op (b, 1, cid, tag);
  add_note_op (b, 2, nid, cid, tag);
  body = push_end (b);
  if (push_ok (s, body, 2, seqs, &r) == NULL)
    return;
  records = pull_all (s, &pages);
  if (records == NULL)
    return;
  g_assert_nonnull (strstr (obj_str (record_fields (records, "notes", nid), "body"), MARK));

  status = server_stop (srv);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_file_test (srv->db, G_FILE_TEST_IS_REGULAR));

  /* Control: the scan sees values stored in the clear. */
  g_ptr_array_add (controls, g_strdup (cid));
  g_ptr_array_add (controls, g_strdup (nid));
  g_ptr_array_add (controls, g_strdup ("SOAP"));
  scan_files (srv->dir, srv->dir, controls, seen);
  g_assert_cmpuint (seen->len, >=, controls->len);

  g_ptr_array_add (needles, g_strdup (MARK));
  for (guint i = 0; i < fx.secrets->len; i++)
    g_ptr_array_add (needles, g_strdup (fx.secrets->pdata[i]));
  scan_files (srv->dir, srv->dir, needles, found);
  g_mutex_lock (&srv->lock);
  log = g_strdup (srv->log->str);
  g_mutex_unlock (&srv->lock);
  g_assert_nonnull (strstr (log, "/v1/sync/push"));   /* control: the log has the requests */
  for (guint i = 0; i < needles->len; i++)
    if (strstr (log, needles->pdata[i]) != NULL)
      g_ptr_array_add (found, g_strdup_printf ("server log: %.14s...", (char *) needles->pdata[i]));
  if (found->len > 0)
    {
      g_autofree char *list = joined (found);
      fail ("found in plaintext (%u needles: the marker, %u secrets):\n%s",
                          needles->len, fx.secrets->len, list);
    }
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (dir);
    }
  g_remove (path);
}

/* ===================================================================== */

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    g_error ("curl_global_init failed");
  fx.secrets = g_ptr_array_new_with_free_func (g_free);

  g_test_add_func ("/api-libcurl/health", test_health);
  g_test_add_func ("/api-libcurl/tls-other-ca", test_tls_other_ca);
  g_test_add_func ("/api-libcurl/tls-wrong-host", test_tls_wrong_host);
  g_test_add_func ("/api-libcurl/tls11-refused", test_tls11_refused);
  g_test_add_func ("/api-libcurl/tls-pinned-key", test_tls_pinned_key);
  g_test_add_func ("/api-libcurl/login", test_login);
  g_test_add_func ("/api-libcurl/push", test_push);
  g_test_add_func ("/api-libcurl/push-replay", test_push_replay);
  g_test_add_func ("/api-libcurl/pull-pages", test_pull_pages);
  g_test_add_func ("/api-libcurl/refresh", test_refresh);
  g_test_add_func ("/api-libcurl/bad-json", test_bad_json);
  g_test_add_func ("/api-libcurl/bad-json-lenient", test_bad_json_lenient);
  g_test_add_func ("/api-libcurl/bad-bearer", test_bad_bearer);
  g_test_add_func ("/api-libcurl/bearer-expired", test_bearer_expired);
  g_test_add_func ("/api-libcurl/connection-reuse", test_connection_reuse);
  g_test_add_func ("/api-libcurl/at-rest", test_at_rest);

  rc = g_test_run ();

  /* A server the cases left running (at-rest not run, or failed early). */
  if (fx.main != NULL && fx.main->proc != NULL)
    {
      int status = server_stop (fx.main);
      if (status != 0)
        {
          g_printerr ("the server exited with status %d on SIGTERM\n", status);
          rc = 1;
        }
    }
  if (fx.dir != NULL)
    {
      if (rc == 0)
        remove_tree (fx.dir);
      else
        g_printerr ("scratch directory kept: %s\n", fx.dir);
    }
  server_free (fx.main);
  g_ptr_array_unref (fx.secrets);
  g_free (fx.failed);
  g_free (fx.dir);
  g_free (fx.ca_dir);
  g_free (fx.server_bin);
  curl_global_cleanup ();
  return rc;
}
