/* test-server-fixture.c — the real mts-server and misbehaving peers for the
 * sync tests (see test-server-fixture.h).  The server's handling follows
 * tests/server/test-api-libcurl.c. */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include "test-server-fixture.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <liboath/oath.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define VAULT_PASSPHRASE "vault passphrase for tests only"
#define START_SECONDS    30
#define STOP_SECONDS     30

static struct {
  gboolean tried;
  char *failed;        /* why setting up failed, or NULL */
  char *dir;
  char *ca_dir;
  char *server_bin;
  guint counter;
} fx;

/* ===================================================================== */
/* Children                                                               */

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

/* Runs @argv to its end with @extra_env ("NAME", "value", ..., NULL);
 * its stdout, or NULL with an error holding the status and stderr. */
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
                   "%s failed\nstdout: %s\nstderr: %s", command, out, err);
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

/* Waits up to @seconds for @proc; kills it if it is still running then.
 * FALSE if it had to be killed. */
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
/* Setting up                                                             */

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
  const char *argv[] = { script, NULL, NULL };

  fx.server_bin = bin != NULL && *bin != '\0'
                ? g_strdup (bin)
                : g_test_build_filename (G_TEST_BUILT, "..", "..", "server", "mts-server", NULL);
  if (!g_file_test (fx.server_bin, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "no server binary at %s (set MTS_SERVER)", fx.server_bin);
      return FALSE;
    }
  fx.dir = g_dir_make_tmp ("mts-sync-test-XXXXXX", error);
  if (fx.dir == NULL)
    return FALSE;
  fx.ca_dir = g_build_filename (fx.dir, "ca", NULL);
  argv[1] = fx.ca_dir;
  out = run_command (argv, NULL, error);
  return out != NULL;
}

gboolean
mts_test_fixture_set_up (GError **error)
{
  if (!fx.tried)
    {
      g_autoptr(GError) local = NULL;

      fx.tried = TRUE;
      if (!set_up (&local))
        fx.failed = g_strdup (local->message);
    }
  if (fx.failed != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "setting up failed: %s", fx.failed);
      return FALSE;
    }
  return TRUE;
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      if (d != NULL)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_remove (path);
}

void
mts_test_fixture_tear_down (gboolean keep)
{
  if (fx.dir != NULL)
    {
      if (keep)
        g_printerr ("# kept the test folder %s\n", fx.dir);
      else
        remove_tree (fx.dir);
    }
  g_clear_pointer (&fx.dir, g_free);
  g_clear_pointer (&fx.ca_dir, g_free);
  g_clear_pointer (&fx.server_bin, g_free);
  g_clear_pointer (&fx.failed, g_free);
}

const char *
mts_test_fixture_dir (void)
{
  return fx.dir;
}

char *
mts_test_ca_file (const char *name)
{
  return g_build_filename (fx.ca_dir, name, NULL);
}

/* ===================================================================== */
/* The server                                                             */

struct _MtsTestServer {
  char *name;
  char *dir;
  char *config;
  GSubprocess *proc;
  GThread *reader;
  GMutex lock;
  GCond cond;
  GString *log;        /* its stderr, every run; under lock */
  guint16 port;        /* 0 until it logged "listening"; under lock */
  gboolean eof;        /* under lock */
  char **env;          /* extra environment (mts_test_server_setenv), or NULL */
};

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

static gpointer
reader_thread (gpointer data)
{
  MtsTestServer *srv = data;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stderr_pipe (srv->proc));
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

MtsTestServer *
mts_test_server_new (const char *name, const char *cert, const char *auth_extra, GError **error)
{
  g_autoptr(MtsTestServer) srv = NULL;
  g_autofree char *cert_name = g_strconcat (cert != NULL ? cert : "server", ".pem", NULL);
  g_autofree char *key_name = g_strconcat (cert != NULL ? cert : "server", "-key.pem", NULL);
  g_autofree char *cert_file = NULL;
  g_autofree char *key_file = NULL;
  g_autofree char *text = NULL;

  if (!mts_test_fixture_set_up (error))
    return NULL;
  srv = g_new0 (MtsTestServer, 1);
  cert_file = mts_test_ca_file (cert_name);
  key_file = mts_test_ca_file (key_name);
  srv->name = g_strdup (name);
  srv->dir = g_build_filename (fx.dir, name, NULL);
  srv->config = g_build_filename (srv->dir, "mts-server.conf", NULL);
  srv->log = g_string_new (NULL);
  g_mutex_init (&srv->lock);
  g_cond_init (&srv->cond);
  text = g_strdup_printf ("[server]\nlisten=127.0.0.1\nport=0\ntls_certificate=%s\ntls_key=%s\n\n"
                          "[storage]\npath=mts-server.db\n\n"
                          "[vault]\ndirectory=vault\nkdf=test\n\n"
                          "[auth]\npassword_kdf=min\n%s",
                          cert_file, key_file, auth_extra != NULL ? auth_extra : "");
  if (g_mkdir_with_parents (srv->dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot make %s: %s", srv->dir, g_strerror (saved));
      return NULL;
    }
  if (!g_file_set_contents (srv->config, text, -1, error))
    return NULL;
  return g_steal_pointer (&srv);
}

gboolean
mts_test_server_add_config (MtsTestServer *srv, const char *text, GError **error)
{
  g_autofree char *old = NULL;
  g_autofree char *all = NULL;

  if (!g_file_get_contents (srv->config, &old, NULL, error))
    return FALSE;
  all = g_strconcat (old, "\n", text, NULL);
  return g_file_set_contents (srv->config, all, -1, error);
}

void
mts_test_server_setenv (MtsTestServer *srv, const char *name, const char *value)
{
  if (srv->env == NULL)
    srv->env = g_new0 (char *, 1);
  if (value != NULL)
    srv->env = g_environ_setenv (srv->env, name, value, TRUE);
  else
    srv->env = g_environ_unsetenv (srv->env, name);
}

/* The fixture's environment for the children of @srv, plus its own. */
static char **
server_environ (MtsTestServer *srv)
{
  char **env = child_environ ();

  for (guint i = 0; srv->env != NULL && srv->env[i] != NULL; i++)
    {
      g_auto(GStrv) kv = g_strsplit (srv->env[i], "=", 2);

      env = g_environ_setenv (env, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
    }
  return env;
}

gboolean
mts_test_server_running (MtsTestServer *srv)
{
  return srv->proc != NULL && g_subprocess_get_identifier (srv->proc) != NULL;
}

char *
mts_test_server_log_tail (MtsTestServer *srv, guint n)
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
join_reader (MtsTestServer *srv)
{
  if (srv->reader != NULL)
    g_thread_join (g_steal_pointer (&srv->reader));
}

gboolean
mts_test_server_start (MtsTestServer *srv, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = server_environ (srv);
  const char *argv[] = { fx.server_bin, "--config", srv->config, "serve", NULL };
  gint64 deadline = g_get_monotonic_time () + START_SECONDS * G_TIME_SPAN_SECOND;
  g_autofree char *tail = NULL;
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
  join_reader (srv);
  tail = mts_test_server_log_tail (srv, 40);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "server %s %s; its stderr:\n%s", srv->name,
               eof ? "exited before listening" : "logged no listening line in time", tail);
  g_clear_object (&srv->proc);
  return FALSE;
}

int
mts_test_server_stop (MtsTestServer *srv)
{
  int status = -1;

  if (srv->proc == NULL)
    return -1;
  g_subprocess_send_signal (srv->proc, SIGTERM);
  if (wait_exit (srv->proc, STOP_SECONDS) && g_subprocess_get_if_exited (srv->proc))
    status = g_subprocess_get_exit_status (srv->proc);
  join_reader (srv);
  g_clear_object (&srv->proc);
  srv->port = 0;
  return status;
}

void
mts_test_server_free (MtsTestServer *srv)
{
  if (srv == NULL)
    return;
  if (srv->proc != NULL)
    {
      g_subprocess_force_exit (srv->proc);
      wait_exit (srv->proc, STOP_SECONDS);
      join_reader (srv);
      g_clear_object (&srv->proc);
    }
  g_string_free (srv->log, TRUE);
  g_strfreev (srv->env);
  g_mutex_clear (&srv->lock);
  g_cond_clear (&srv->cond);
  g_free (srv->name);
  g_free (srv->dir);
  g_free (srv->config);
  g_free (srv);
}

guint16
mts_test_server_port (MtsTestServer *srv)
{
  guint16 port;

  g_mutex_lock (&srv->lock);
  port = srv->port;
  g_mutex_unlock (&srv->lock);
  return port;
}

char *
mts_test_server_url (MtsTestServer *srv)
{
  return g_strdup_printf ("https://127.0.0.1:%u", mts_test_server_port (srv));
}

char *
mts_test_server_admin (MtsTestServer *srv, const char *password, GError **error, ...)
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
  return run_command ((const char *const *) argv->pdata, password != NULL ? extra_env : NULL,
                      error);
}

/* ===================================================================== */
/* Practices, users, TOTP codes                                           */

static char *
unique (const char *prefix)
{
  return g_strdup_printf ("%s-%u", prefix, ++fx.counter);
}

char *
mts_test_practice_new (MtsTestServer *srv, const char *prefix, GError **error)
{
  g_autofree char *slug = unique (prefix);
  g_autofree char *name = g_strdup_printf ("Practice %s", slug);
  g_autofree char *out = mts_test_server_admin (srv, NULL, error, "practice-create", slug, name,
                                                NULL);

  return out != NULL ? g_steal_pointer (&slug) : NULL;
}

void
mts_test_user_free (MtsTestUser *u)
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

MtsTestUser *
mts_test_user_new (MtsTestServer *srv, const char *slug, GError **error)
{
  g_autoptr(MtsTestUser) u = g_new0 (MtsTestUser, 1);
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
  out = mts_test_server_admin (srv, u->password, error, "user-add", "--no-qr", slug, u->username,
                               "clinician", NULL);
  if (out == NULL)
    return NULL;
  if (!g_regex_match (user_re, out, 0, &m))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "user-add printed no 'user <id>' line");
      return NULL;
    }
  u->user_id = g_match_info_fetch (m, 1);
  g_clear_pointer (&m, g_match_info_free);
  if (!g_regex_match (secret_re, out, 0, &m))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "user-add printed no otpauth URI with a secret");
      return NULL;
    }
  b32 = g_match_info_fetch (m, 1);
  if (oath_init () != OATH_OK ||
      oath_base32_decode (b32, strlen (b32), &raw, &raw_len) != OATH_OK ||
      raw_len != MTS_TOTP_SECRET_BYTES)
    {
      free (raw);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the otpauth URI's secret is not %d bytes of base32", MTS_TOTP_SECRET_BYTES);
      return NULL;
    }
  u->secret = g_memdup2 (raw, raw_len);
  u->secret_len = raw_len;
  free (raw);
  return g_steal_pointer (&u);
}

static gint64
now_step (void)
{
  return MTS_TOTP_STEP (g_get_real_time () / G_USEC_PER_SEC);
}

static void
code_at_step (MtsTestUser *u, gint64 step, char out[MTS_TOTP_CODE_BUF])
{
  g_autoptr(GError) error = NULL;

  if (!mts_totp_code (u->secret, u->secret_len, step * MTS_TOTP_PERIOD + 1, out, &error))
    g_error ("mts_totp_code: %s", error->message);
}

void
mts_test_user_code (MtsTestUser *u, char out[MTS_TOTP_CODE_BUF])
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

void
mts_test_user_wrong_code (MtsTestUser *u, char out[MTS_TOTP_CODE_BUF])
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
/* Peers that misbehave                                                   */

struct _MtsTestPeer {
  MtsTestPeerMode mode;
  char *answer;
  GSocket *listener;
  guint16 port;
  GTlsCertificate *cert;
  GCancellable *stop;
  GThread *thread;
  GMutex lock;
  char *last_request;   /* under lock */
};

/* Reads the request's head and body (by Content-Length); FALSE if the
 * connection ended first. */
static gboolean
peer_read_request (MtsTestPeer *p, GInputStream *in)
{
  g_autoptr(GString) got = g_string_new (NULL);
  char buf[4096];
  const char *end = NULL;
  gsize head_len, want = 0;

  while ((end = strstr (got->str, "\r\n\r\n")) == NULL)
    {
      gssize n = g_input_stream_read (in, buf, sizeof buf, p->stop, NULL);

      if (n <= 0)
        return FALSE;
      g_string_append_len (got, buf, n);
    }
  head_len = (gsize) (end - got->str) + 4;
  {
    g_autofree char *head = g_strndup (got->str, head_len);
    g_autofree char *lower = g_ascii_strdown (head, -1);
    const char *cl = strstr (lower, "\r\ncontent-length:");

    if (cl != NULL)
      want = (gsize) g_ascii_strtoull (cl + strlen ("\r\ncontent-length:"), NULL, 10);
    g_mutex_lock (&p->lock);
    g_free (p->last_request);
    p->last_request = g_strndup (head, head_len - 4);
    g_mutex_unlock (&p->lock);
  }
  while (got->len - head_len < want)
    {
      gssize n = g_input_stream_read (in, buf, MIN (sizeof buf, want - (got->len - head_len)),
                                      p->stop, NULL);

      if (n <= 0)
        return FALSE;
      g_string_append_len (got, buf, n);
    }
  return TRUE;
}

static void
peer_serve (MtsTestPeer *p, GSocket *sock)
{
  g_autoptr(GSocketConnection) conn = g_socket_connection_factory_create_connection (sock);
  g_autoptr(GIOStream) tls = NULL;
  GInputStream *in;
  GOutputStream *out;

  tls = g_tls_server_connection_new (G_IO_STREAM (conn), p->cert, NULL);
  if (tls == NULL || !g_tls_connection_handshake (G_TLS_CONNECTION (tls), p->stop, NULL))
    return;
  in = g_io_stream_get_input_stream (tls);
  out = g_io_stream_get_output_stream (tls);
  if (!peer_read_request (p, in))
    return;
  if (p->mode == MTS_TEST_PEER_STALL)
    {
      /* Say nothing until the client gives up (or the peer stops).  Waiting
       * on the socket rather than reading the TLS stream: a TLS read that
       * is cancelled leaks a GError in glib-networking 2.74. */
      g_socket_condition_wait (sock, G_IO_IN | G_IO_HUP | G_IO_ERR, p->stop, NULL);
      return;
    }
  g_output_stream_write_all (out, p->answer, strlen (p->answer), NULL, p->stop, NULL);
  g_io_stream_close (tls, NULL, NULL);
}

static gpointer
peer_thread (gpointer data)
{
  MtsTestPeer *p = data;

  while (!g_cancellable_is_cancelled (p->stop))
    {
      g_autoptr(GSocket) sock = g_socket_accept (p->listener, p->stop, NULL);

      if (sock == NULL)
        break;
      if (p->mode != MTS_TEST_PEER_DROP)
        peer_serve (p, sock);
      g_socket_close (sock, NULL);
    }
  return NULL;
}

MtsTestPeer *
mts_test_peer_new (MtsTestPeerMode mode, const char *answer, GError **error)
{
  g_autoptr(MtsTestPeer) p = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;

  if (!mts_test_fixture_set_up (error))
    return NULL;
  p = g_new0 (MtsTestPeer, 1);
  g_mutex_init (&p->lock);
  p->mode = mode;
  p->answer = g_strdup (answer != NULL ? answer : "");
  p->stop = g_cancellable_new ();
  cert = mts_test_ca_file ("server.pem");
  key = mts_test_ca_file ("server-key.pem");
  p->cert = g_tls_certificate_new_from_files (cert, key, error);
  if (p->cert == NULL)
    return NULL;
  p->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                              error);
  if (p->listener == NULL ||
      !g_socket_bind (p->listener, any, FALSE, error) ||
      !g_socket_listen (p->listener, error))
    return NULL;
  bound = g_socket_get_local_address (p->listener, error);
  if (bound == NULL)
    return NULL;
  p->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  /* A silent peer needs no thread: the kernel completes the connection and
   * nothing ever reads it. */
  if (mode != MTS_TEST_PEER_SILENT)
    p->thread = g_thread_new ("misbehaving-peer", peer_thread, p);
  return g_steal_pointer (&p);
}

guint16
mts_test_peer_port (MtsTestPeer *peer)
{
  return peer->port;
}

char *
mts_test_peer_url (MtsTestPeer *peer)
{
  return g_strdup_printf ("https://127.0.0.1:%u", peer->port);
}

char *
mts_test_peer_last_request (MtsTestPeer *peer)
{
  char *copy;

  g_mutex_lock (&peer->lock);
  copy = g_strdup (peer->last_request);
  g_mutex_unlock (&peer->lock);
  return copy;
}

void
mts_test_peer_free (MtsTestPeer *p)
{
  if (p == NULL)
    return;
  g_cancellable_cancel (p->stop);
  if (p->thread != NULL)
    g_thread_join (p->thread);
  if (p->listener != NULL)
    {
      g_socket_close (p->listener, NULL);
      g_object_unref (p->listener);
    }
  g_clear_object (&p->cert);
  g_clear_object (&p->stop);
  g_mutex_clear (&p->lock);
  g_free (p->last_request);
  g_free (p->answer);
  g_free (p);
}

/* ===================================================================== */
/* An AI provider's stand-in                                              */

struct _MtsTestStandin {
  GSubprocess *proc;
  char *control_file;
  char *log_file;
  guint16 port;
};

MtsTestStandin *
mts_test_standin_start (const char *provider, const char *api_key, const char *model,
                        guint max_tokens, GError **error)
{
  static guint serial;
  g_autoptr (MtsTestStandin) standin = g_new0 (MtsTestStandin, 1);
  g_autofree char *name = g_strdup_printf ("standin-%s-%u", provider, ++serial);
  g_autofree char *dir = g_build_filename (fx.dir, name, NULL);
  g_autofree char *script = source_file ("ai-standin.py");
  g_autofree char *port_file = g_build_filename (dir, "port", NULL);
  g_autofree char *cert = mts_test_ca_file ("server.pem");
  g_autofree char *key = mts_test_ca_file ("server-key.pem");
  g_autofree char *tokens = g_strdup_printf ("%u", max_tokens);
  g_autofree char *port = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot make %s", dir);
      return NULL;
    }
  standin->control_file = g_build_filename (dir, "control.json", NULL);
  standin->log_file = g_build_filename (dir, "requests.jsonl", NULL);
  if (!mts_test_standin_control (standin, "ok", "[]", error))
    return NULL;
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  standin->proc = g_subprocess_launcher_spawn (launcher, error, "python3", script,
                                               "--provider", provider, "--cert", cert,
                                               "--key", key, "--port-file", port_file,
                                               "--log", standin->log_file,
                                               "--control", standin->control_file,
                                               "--api-key", api_key, "--model", model,
                                               "--max-tokens", tokens, NULL);
  if (standin->proc == NULL)
    return NULL;
  for (guint i = 0; i < 400 && !g_file_test (port_file, G_FILE_TEST_EXISTS); i++)
    g_usleep (25000);
  if (!g_file_get_contents (port_file, &port, NULL, error))
    return NULL;
  standin->port = (guint16) g_ascii_strtoull (port, NULL, 10);
  return g_steal_pointer (&standin);
}

guint16
mts_test_standin_port (MtsTestStandin *standin)
{
  return standin->port;
}

gboolean
mts_test_standin_control (MtsTestStandin *standin, const char *mode, const char *forbid_json,
                          GError **error)
{
  g_autofree char *text = g_strdup_printf ("{\"mode\": \"%s\", \"forbid\": %s}", mode,
                                           forbid_json);

  return g_file_set_contents (standin->control_file, text, -1, error);
}

gint
mts_test_standin_requests (MtsTestStandin *standin, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  gint n = 0;

  if (!g_file_get_contents (standin->log_file, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root;
      JsonArray *violations;

      if (*lines[i] == '\0')
        continue;
      if (!json_parser_load_from_data (parser, lines[i], -1, error))
        return -1;
      root = json_parser_get_root (parser);
      violations = JSON_NODE_HOLDS_OBJECT (root)
                 ? json_object_get_array_member (json_node_get_object (root), "violations") : NULL;
      if (violations == NULL || json_array_get_length (violations) > 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "the stand-in saw a request break the rules: %s", lines[i]);
          return -1;
        }
      n++;
    }
  return n;
}

void
mts_test_standin_free (MtsTestStandin *standin)
{
  if (standin == NULL)
    return;
  if (standin->proc != NULL)
    {
      g_subprocess_force_exit (standin->proc);
      g_subprocess_wait (standin->proc, NULL, NULL);
      g_object_unref (standin->proc);
    }
  g_free (standin->control_file);
  g_free (standin->log_file);
  g_free (standin);
}
