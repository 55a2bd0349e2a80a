/* test-sync-faults.c — the sync engine (sync/mts-sync-engine.h) and the
 * `mts sync` command when things break in the middle, against the real
 * mts-server over loopback TLS (test-server-fixture.h), with a loopback
 * proxy (test-proxy.h) where the network itself must misbehave.
 *
 * Cases (/sync-faults/...):
 *   client-killed     `mts --store DIR sync` (MTS_CLI) killed with SIGKILL
 *                     after a random 0-300 ms, 30 times over, on a device
 *                     with hundreds of pending edits (killed while pushing
 *                     and pulling) and on a fresh device with thousands of
 *                     records to pull; new work arrives between kills.
 *                     Then one clean `mts sync` each must complete, and:
 *                     every value written is on the server (a third
 *                     device's pull), nothing is duplicated (record counts
 *                     of devices and server agree), nothing was turned into
 *                     a conflict, the outboxes are empty, `mts audit verify`
 *                     passes.
 *   server-killed     the server killed with SIGKILL while a device pushes
 *                     thousands of new records in batches, then restarted:
 *                     the next sync completes, every record is there once.
 *   proxy-drop        a proxy cutting the connection after N bytes of the
 *                     server's answer: the sync fails with NETWORK and
 *                     leaves the store consistent; through a passing proxy
 *                     the next sync converges with nothing lost or doubled.
 *   proxy-stall       the same with a proxy that stops forwarding after N
 *                     bytes (a short stall timeout).
 *   killed-after-refresh  the store put back as it was before a sync
 *                     whose token refresh the server answered (a client
 *                     killed before committing the rotated token): the
 *                     next sync must still work.
 *   refresh-answer-lost  the connection cut a few bytes before the end of
 *                     a refresh's answer: the next sync must still work.
 *   handshake-cut     connections cut at points across the server's TLS
 *                     handshake: NETWORK (retried), never TLS.
 *   unknown-ca        the server behind the device's URL replaced by one
 *                     whose certificate comes from another CA: TLS, "not
 *                     trusted", nothing changed locally.
 *   expired-token     1-second access tokens: after 2 s a sync refreshes
 *                     transparently and succeeds.
 *   revoked           a device revoked by the administrator: REVOKED, said
 *                     plainly (engine and `mts sync`), records and outbox
 *                     untouched.
 *
 * MTS_SYNC_FAULTS_SEED replays the random delays and choices (printed
 * first).  Run with --tap -k.
 */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "mts-store.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "mts-sync-tables.h"
#include "test-proxy.h"
#include "test-server-fixture.h"

#define PASS "store passphrase for tests"

static guint32 seed;
static GRand *rnd;

/* Fails the case without stopping it; every message stays in the log
 * (g_test_fail_printf alone keeps only the last one). */
#define fail(...) G_STMT_START {                                    \
    g_autofree char *fail_msg_ = g_strdup_printf (__VA_ARGS__);      \
    g_test_message ("FAILED: %s", fail_msg_);                       \
    g_test_fail_printf ("%s", fail_msg_);                           \
  } G_STMT_END

/* ===================================================================== */
/* Servers                                                                */

typedef struct {
  const char *name;
  const char *cert;
  const char *auth_extra;
  MtsTestServer *srv;
  char *failed;
} ServerSlot;

static ServerSlot main_slot = { "main", NULL, NULL, NULL, NULL };
static ServerSlot short_slot = { "short", NULL, "access_token_seconds=1\n", NULL, NULL };
static ServerSlot other_slot = { "other-ca", "other-server", NULL, NULL, NULL };
static ServerSlot killed_slot = { "killed", NULL, NULL, NULL, NULL };

static MtsTestServer *
server (ServerSlot *slot)
{
  g_autoptr(GError) error = NULL;

  if (slot->srv == NULL && slot->failed == NULL)
    {
      slot->srv = mts_test_server_new (slot->name, slot->cert, slot->auth_extra, &error);
      if (slot->srv == NULL || !mts_test_server_start (slot->srv, &error))
        slot->failed = g_strdup (error->message);
    }
  if (slot->failed != NULL)
    {
      fail ("server %s: %s", slot->name, slot->failed);
      return NULL;
    }
  if (!mts_test_server_running (slot->srv))
    {
      g_autofree char *tail = mts_test_server_log_tail (slot->srv, 40);
      fail ("server %s has died; its stderr:\n%s", slot->name, tail);
      return NULL;
    }
  return slot->srv;
}

/* The pid of @slot's `mts-server serve`, a child of this program, found by
 * its config file on its command line (the fixture does not hand it out). */
static pid_t
server_pid (ServerSlot *slot)
{
  g_autofree char *config = g_build_filename (mts_test_fixture_dir (), slot->name,
                                              "mts-server.conf", NULL);
  GDir *proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  pid_t found = 0;

  while (proc != NULL && found == 0 && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *cmdline_path = g_build_filename ("/proc", name, "cmdline", NULL);
      g_autofree char *stat_path = g_build_filename ("/proc", name, "stat", NULL);
      g_autofree char *cmdline = NULL;
      g_autofree char *stat = NULL;
      gsize len = 0;
      gboolean has_config = FALSE, serves = FALSE;
      const char *close_paren;

      if (!g_ascii_isdigit (name[0]) ||
          !g_file_get_contents (cmdline_path, &cmdline, &len, NULL) ||
          !g_file_get_contents (stat_path, &stat, NULL, NULL))
        continue;
      for (gsize i = 0; i < len; i += strlen (cmdline + i) + 1)
        {
          has_config |= strcmp (cmdline + i, config) == 0;
          serves |= strcmp (cmdline + i, "serve") == 0;
        }
      /* stat: "pid (comm) state ppid ..." */
      close_paren = strrchr (stat, ')');
      if (has_config && serves && close_paren != NULL &&
          g_ascii_strtoll (close_paren + 4, NULL, 10) == getpid ())
        found = (pid_t) g_ascii_strtoll (name, NULL, 10);
    }
  if (proc != NULL)
    g_dir_close (proc);
  return found;
}

/* ===================================================================== */
/* Devices                                                                */

typedef struct {
  char *dir;
  MtsStore *store;
  MtsSyncSession *session;
  MtsTestUser *user;
  char *clinician_id;
} Dev;

static void
dev_close (Dev *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
}

static void
dev_open (Dev *d)
{
  g_autoptr(GError) error = NULL;

  d->store = mts_store_open (d->dir, &error);
  g_assert_no_error (error);
  g_assert_true (mts_store_unlock (d->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  if (d->clinician_id != NULL)
    mts_store_set_actor (d->store, d->clinician_id);
  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
}

static void
dev_free (Dev *d)
{
  if (d == NULL)
    return;
  dev_close (d);
  mts_test_user_free (d->user);
  g_free (d->dir);
  g_free (d->clinician_id);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Dev, dev_free)

/* A new store with its own clinician (the actor, and in DIR/actor for the
 * command line), logged in at @url as a new user of @practice. */
static Dev *
dev_new (MtsTestServer *srv, const char *url, const char *practice, const char *label)
{
  static guint n;
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClinician) me = mts_clinician_new ();
  g_autofree char *dirname = g_strdup_printf ("faults-%s-%u", label, ++n);
  g_autofree char *cafile = mts_test_ca_file ("ca.pem");
  g_autofree char *actor_file = NULL;
  char code[MTS_TOTP_CODE_BUF];
  Dev *d = g_new0 (Dev, 1);

  d->dir = g_build_filename (mts_test_fixture_dir (), dirname, NULL);
  d->store = mts_store_create (d->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  me->display_name = g_strdup_printf ("Clinician %s", label);
  g_assert_true (mts_store_clinician_add (d->store, me, &error));
  g_assert_no_error (error);
  d->clinician_id = g_strdup (me->id);
  mts_store_set_actor (d->store, d->clinician_id);
  actor_file = g_build_filename (d->dir, "actor", NULL);
  g_assert_true (g_file_set_contents (actor_file, d->clinician_id, -1, &error));
  g_assert_no_error (error);

  d->user = mts_test_user_new (srv, practice, &error);
  g_assert_no_error (error);
  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (d->session, url, cafile, &error));
  g_assert_no_error (error);
  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (d->session, d->user->practice, d->user->username,
                                         d->user->password, code, label, NULL, &error));
  g_assert_no_error (error);
  return d;
}

/* Logs @d in again (a new TOTP code: this may wait for the next step). */
static void
dev_login_again (Dev *d)
{
  g_autoptr(GError) error = NULL;
  char code[MTS_TOTP_CODE_BUF];

  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (d->session, d->user->practice, d->user->username,
                                         d->user->password, code, "again", NULL, &error));
  g_assert_no_error (error);
}

static gboolean
dev_sync_ok (Dev *d, MtsSyncStats *stats)
{
  g_autoptr(GError) error = NULL;

  if (mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, stats, &error))
    return TRUE;
  fail ("sync of %s failed: %s (%s %d; seed %u)", d->dir, error->message,
        g_quark_to_string (error->domain), error->code, seed);
  return FALSE;
}

static char *
new_practice (MtsTestServer *srv, const char *prefix)
{
  g_autoptr(GError) error = NULL;
  char *slug = mts_test_practice_new (srv, prefix, &error);

  g_assert_no_error (error);
  return slug;
}

/* ===================================================================== */
/* SQL and snapshots                                                      */

static sqlite3_stmt *
prepare (MtsStore *store, const char *sql)
{
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  return st;
}

static char *
query_text (MtsStore *store, const char *sql, const char *param)
{
  sqlite3_stmt *st = prepare (store, sql);
  char *out = NULL;

  if (param != NULL)
    sqlite3_bind_text (st, 1, param, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    out = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return out;
}

static gint64
query_int (MtsStore *store, const char *sql)
{
  sqlite3_stmt *st = prepare (store, sql);
  gint64 n = -1;

  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

/* Every live row of every synced table but documents, decrypted, one line
 * each ("table id vVERSION field=value ..."), sorted. */
static GPtrArray *
snapshot (MtsStore *store, gboolean with_versions)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  guint n_tables;
  const MtsTableSpec *tables = mts_tables (&n_tables);

  for (guint k = 0; k < n_tables; k++)
    {
      const MtsTableSpec *t = &tables[k];
      g_autoptr(GString) sql = g_string_new ("SELECT id, version");
      sqlite3_stmt *st;

      if (strcmp (t->name, "documents") == 0)
        continue;
      for (guint i = 0; i < t->n_fields; i++)
        {
          const MtsFieldSpec *f = &t->fields[i];

          if (f->flags & MTS_FIELD_SENSITIVE)
            g_string_append_printf (sql, ", mts_decrypt(%s, '%s.%s:' || id)", f->name, t->name,
                                    f->name);
          else
            g_string_append_printf (sql, ", %s", f->name);
        }
      g_string_append_printf (sql, " FROM %s WHERE deleted = 0", t->name);
      st = prepare (store, sql->str);
      while (sqlite3_step (st) == SQLITE_ROW)
        {
          GString *line = g_string_new (NULL);

          g_string_append_printf (line, "%s %s", t->name, sqlite3_column_text (st, 0));
          if (with_versions)
            g_string_append_printf (line, " v%lld", (long long) sqlite3_column_int64 (st, 1));
          for (guint i = 0; i < t->n_fields; i++)
            {
              const char *v = (const char *) sqlite3_column_text (st, (int) i + 2);
              g_autofree char *shown = v != NULL ? g_strescape (v, NULL) : g_strdup ("NULL");

              g_string_append_printf (line, " %s=%s", t->fields[i].name, shown);
            }
          g_ptr_array_add (lines, g_string_free (line, FALSE));
        }
      sqlite3_finalize (st);
    }
  return lines;
}

static gint
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GPtrArray *
snapshot_sorted (MtsStore *store, gboolean with_versions)
{
  GPtrArray *lines = snapshot (store, with_versions);

  g_ptr_array_sort (lines, compare_lines);
  return lines;
}

/* Fails the case, showing the first differences, unless @a and @b hold the
 * same rows. */
static void
assert_same_rows (const char *what, MtsStore *a, MtsStore *b)
{
  g_autoptr(GPtrArray) la = snapshot_sorted (a, TRUE);
  g_autoptr(GPtrArray) lb = snapshot_sorted (b, TRUE);
  g_autoptr(GString) diff = g_string_new (NULL);
  guint i = 0, j = 0, shown = 0;

  while (i < la->len || j < lb->len)
    {
      int c = i >= la->len ? 1 : j >= lb->len ? -1 : strcmp (la->pdata[i], lb->pdata[j]);

      if (c == 0)
        {
          i++;
          j++;
          continue;
        }
      if (shown++ < 6)
        g_string_append_printf (diff, "\n  only in %s: %.300s", c < 0 ? "the first" : "the second",
                                (char *) (c < 0 ? la->pdata[i] : lb->pdata[j]));
      if (c < 0)
        i++;
      else
        j++;
    }
  if (shown > 0)
    fail ("%s: %u rows differ (%u and %u rows; seed %u):%s", what, shown, la->len,
                        lb->len, seed, diff->str);
}

/* Everything a failed sync must leave alone: the rows, the outbox, the
 * conflicts, the pull cursor and who this device is (not the refresh token,
 * which a refresh rotates, nor other bookkeeping). */
static char *
local_state (MtsStore *store)
{
  g_autoptr(GPtrArray) rows = snapshot_sorted (store, TRUE);
  g_autofree char *outbox = query_text (store, "SELECT group_concat(seq || ':' || table_name || "
                                        "':' || row_id || ':' || coalesce(changed_columns, '') "
                                        "|| ':' || base_version, ';') FROM (SELECT * FROM "
                                        "sync_outbox ORDER BY seq)", NULL);
  g_autofree char *conflicts = query_text (store, "SELECT count(*) FROM sync_conflicts", NULL);
  g_autofree char *state = query_text (store, "SELECT group_concat(key || '=' || hex(value), ';') "
                                       "FROM (SELECT * FROM sync_state WHERE key IN "
                                       "('pull_cursor', 'device_id', 'practice_id', 'user_id', "
                                       "'server_url') ORDER BY key)", NULL);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < rows->len; i++)
    g_string_append_printf (s, "%s\n", (char *) rows->pdata[i]);
  g_string_append_printf (s, "outbox %s\nconflicts %s\nstate %s\n", outbox ? outbox : "",
                          conflicts, state ? state : "");
  return g_string_free (s, FALSE);
}

/* The store's own checks: audit chain, foreign keys, SQLite's integrity. */
static void
assert_store_sound (const char *what, MtsStore *store)
{
  g_autofree char *verify = query_text (store, "SELECT mts_audit_verify()", NULL);
  g_autofree char *integrity = query_text (store, "PRAGMA integrity_check", NULL);
  g_autofree char *fk = query_text (store, "SELECT group_concat(\"table\" || ' ' || rowid || ' -> ' "
                                    "|| parent, '; ') FROM pragma_foreign_key_check", NULL);

  if (g_strcmp0 (verify, "ok") != 0)
    fail ("%s: mts_audit_verify() = %s (seed %u)", what, verify, seed);
  if (g_strcmp0 (integrity, "ok") != 0)
    fail ("%s: integrity_check = %s", what, integrity);
  if (fk != NULL)
    fail ("%s: broken foreign keys: %s (seed %u)", what, fk, seed);
}

/* Live records per table on the server, from its database. */
static gint64
server_count (ServerSlot *slot, const char *practice_id, const char *table_name)
{
  g_autofree char *path = g_build_filename (mts_test_fixture_dir (), slot->name, "mts-server.db",
                                            NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  gint64 n = -1;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (db, "SELECT count(*) FROM records WHERE practice_id = ?1 AND "
                              "table_name = ?2 AND deleted = 0", -1, &st, NULL) != SQLITE_OK)
    g_error ("cannot read %s: %s", path, sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, practice_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, table_name, -1, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

static void
assert_counts (ServerSlot *slot, Dev *d, const char *what)
{
  const char *practice_id = mts_sync_session_get_practice_id (d->session);
  const char *tables[] = { "clinicians", "clients", "notes" };

  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s WHERE deleted = 0",
                                              tables[i]);
      gint64 here = query_int (d->store, sql);
      gint64 there = server_count (slot, practice_id, tables[i]);

      if (here != there)
        fail ("%s: %s: %" G_GINT64_FORMAT " on the device, %" G_GINT64_FORMAT
                            " on the server (seed %u)", what, tables[i], here, there, seed);
    }
}

/* ===================================================================== */
/* Writing                                                                */

/* What one device wrote: "table:id:field" -> the last value. */
typedef GHashTable Written;

static Written *
written_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
written_set (Written *w, const char *table_name, const char *id, const char *field,
             const char *value)
{
  g_hash_table_insert (w, g_strdup_printf ("%s:%s:%s", table_name, id, field), g_strdup (value));
}

static char *
add_client (MtsStore *store, Written *w, const char *tag)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = mts_client_new ();

  c->display_name = g_strdup_printf ("n-%s", tag);
  c->phone = g_strdup_printf ("p-%s", tag);
  c->address = g_strdup_printf ("a-%s", tag);
  g_assert_true (mts_store_client_add (store, c, &error));
  g_assert_no_error (error);
  if (w != NULL)
    {
      written_set (w, "clients", c->id, "display_name", c->display_name);
      written_set (w, "clients", c->id, "phone", c->phone);
      written_set (w, "clients", c->id, "address", c->address);
    }
  return g_steal_pointer (&c->id);
}

static char *
add_note (MtsStore *store, Written *w, const char *client_id, const char *clinician_id,
          const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) n = mts_note_new ();

  n->client_id = g_strdup (client_id);
  n->clinician_id = g_strdup (clinician_id);
  n->body = g_strdup (body);
  g_assert_true (mts_store_note_add (store, n, &error));
  g_assert_no_error (error);
  if (w != NULL)
    written_set (w, "notes", n->id, "body", n->body);
  return g_steal_pointer (&n->id);
}

static void
edit_client (MtsStore *store, Written *w, const char *id, gboolean phone, const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = mts_store_client_get (store, id, &error);

  g_assert_no_error (error);
  if (phone)
    {
      g_free (c->phone);
      c->phone = g_strdup (value);
    }
  else
    {
      g_free (c->address);
      c->address = g_strdup (value);
    }
  g_assert_true (mts_store_client_update (store, c, &error));
  g_assert_no_error (error);
  written_set (w, "clients", id, phone ? "phone" : "address", value);
}

static void
append_note (MtsStore *store, Written *w, const char *id, const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) n = mts_store_note_get (store, id, &error);
  char *body;

  g_assert_no_error (error);
  body = g_strdup_printf ("%s\n%s", n->body, line);
  g_free (n->body);
  n->body = body;
  g_assert_true (mts_store_note_update (store, n, &error));
  g_assert_no_error (error);
  written_set (w, "notes", id, "body", n->body);
}

/* Fails the case for every value of @w that @store does not hold. */
static void
assert_written (const char *what, Written *w, MtsStore *store)
{
  GHashTableIter iter;
  gpointer key, value;
  guint missing = 0;

  g_hash_table_iter_init (&iter, w);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_auto(GStrv) parts = g_strsplit (key, ":", 3);
      const MtsTableSpec *t = mts_table_lookup (parts[0]);
      const MtsFieldSpec *f = mts_table_field (t, parts[2]);
      g_autofree char *column = f->flags & MTS_FIELD_SENSITIVE
                                ? g_strdup_printf ("mts_decrypt(%s, '%s.%s:' || id)", parts[2],
                                                   parts[0], parts[2])
                                : g_strdup (parts[2]);
      g_autofree char *sql = g_strdup_printf ("SELECT %s FROM %s WHERE id = ?1 AND deleted = 0",
                                              column, parts[0]);
      g_autofree char *there = NULL;

      there = query_text (store, sql, parts[1]);
      if (g_strcmp0 (there, value) != 0 && missing++ < 5)
        {
          g_autofree char *want = g_strescape (value, NULL);
          g_autofree char *got = there ? g_strescape (there, NULL) : g_strdup ("(no row)");

          fail ("%s: %s %s %s is \"%.200s\", not the \"%.200s\" written (seed %u)",
                              what, parts[0], parts[1], parts[2], got, want, seed);
        }
    }
  if (missing > 5)
    fail ("%s: %u values written are not there in all (seed %u)", what, missing,
                        seed);
}

/* ===================================================================== */
/* The command line                                                       */

static const char *
cli_path (void)
{
  const char *cli = g_getenv ("MTS_CLI");

  if (cli == NULL || *cli == '\0')
    g_error ("MTS_CLI must name the mts command");
  return cli;
}

static GSubprocess *
cli_spawn (const char *store_dir, GError **error, ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) cli_path ());
  g_ptr_array_add (argv, (gpointer) "--store");
  g_ptr_array_add (argv, (gpointer) store_dir);
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (launcher, "MTS_PASSPHRASE", PASS, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  return g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
}

/* Runs `mts --store DIR ARGS...` to its end: its exit status, output in
 * @out and @err. */
static int
cli_run (const char *store_dir, char **out, char **err, const char *a1, const char *a2,
         const char *a3)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = cli_spawn (store_dir, &error, a1, a2, a3, NULL);

  if (p == NULL)
    {
      *err = g_strdup (error->message);
      return -1;
    }
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
}

typedef enum { RUN_KILLED, RUN_FINISHED, RUN_FAILED } RunEnd;

/* Starts `mts --store DIR sync --quiet` and kills it with SIGKILL after
 * @delay_ms, unless it ended first; a run that failed by itself leaves its
 * message in @failure. */
static RunEnd
cli_sync_killed_after (const char *store_dir, guint delay_ms, char **failure)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = cli_spawn (store_dir, &error, "sync", "--quiet", NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  gboolean sent = FALSE;
  g_autofree char *err = NULL;

  if (p == NULL)
    {
      *failure = g_strdup (error->message);
      return RUN_FAILED;
    }
  /* GSubprocess reaps the child as soon as it exits, and then has no
   * identifier any more. */
  while (g_get_monotonic_time () < deadline && g_subprocess_get_identifier (p) != NULL)
    g_usleep (500);
  if (g_subprocess_get_identifier (p) != NULL)
    {
      sent = TRUE;
      g_subprocess_send_signal (p, SIGKILL);
    }
  /* --quiet: too little output to fill a pipe before this reads it. */
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  if (sent && g_subprocess_get_if_signaled (p) && g_subprocess_get_term_sig (p) == SIGKILL)
    return RUN_KILLED;
  if (g_subprocess_get_if_exited (p) && g_subprocess_get_exit_status (p) == 0)
    return RUN_FINISHED;
  *failure = g_strdup_printf ("status %d: %s", g_subprocess_get_if_exited (p)
                                               ? g_subprocess_get_exit_status (p) : -1,
                              g_strstrip (err));
  return RUN_FAILED;
}

/* ===================================================================== */
/* Cases                                                                  */

/* After a run that failed because the device's login ended (see
 * killed-after-refresh), logs it in again so that the kills go on; TRUE
 * if it did. */
static gboolean
login_lost (Dev *d, const char *failure)
{
  if (failure == NULL ||
      (strstr (failure, "not logged in") == NULL && strstr (failure, "login has ended") == NULL))
    return FALSE;
  dev_open (d);
  dev_login_again (d);
  dev_close (d);
  return TRUE;
}

static void
test_client_killed (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Dev) pusher = NULL;
  g_autoptr(Dev) puller = NULL;
  g_autoptr(Dev) writer = NULL;
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) their_clients = g_ptr_array_new_with_free_func (g_free);
  Written *w = written_new ();
  enum { K_BEFORE_ACK, K_MID_PUSH, K_BEFORE_PAGE, K_MID_PULL, K_IN_PULL, K_FINISHED, K_N };
  guint kill_points[K_N] = { 0 };
  guint killed_push = 0, killed_pull = 0, failed_push = 0, failed_pull = 0;
  guint rounds = 30, edits = 0, relogins = 0;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  if (srv == NULL)
    return;
  practice = new_practice (srv, "killed");
  url = mts_test_server_url (srv);
  pusher = dev_new (srv, url, practice, "pusher");
  writer = dev_new (srv, url, practice, "writer");

  /* The pusher's records, on the server; then a few hundred edits of
   * them, pending. */
  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *tag = g_strdup_printf ("c%u", i);
      g_ptr_array_add (clients, add_client (pusher->store, w, tag));
    }
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *body = g_strdup_printf ("note %u\nline 1", i);
      g_ptr_array_add (notes, add_note (pusher->store, w, clients->pdata[i],
                                        pusher->clinician_id, body));
    }
  dev_sync_ok (pusher, NULL);
  for (guint i = 0; i < 400; i++, edits++)
    {
      g_autofree char *value = g_strdup_printf ("e0-%u", i);
      guint r = g_rand_int_range (rnd, 0, 4);

      if (r < 3)
        edit_client (pusher->store, w, clients->pdata[g_rand_int_range (rnd, 0, clients->len)],
                     r == 0, value);
      else
        append_note (pusher->store, w, notes->pdata[g_rand_int_range (rnd, 0, notes->len)], value);
    }

  /* Hundreds of records (~1 KiB each) for a fresh device to pull. */
  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *tag = g_strdup_printf ("w%u", i);
      g_autofree char *body = g_strdup_printf ("written by the writer %u\n%0800u", i, i);
      char *id = add_client (writer->store, NULL, tag);

      g_free (add_note (writer->store, NULL, id, writer->clinician_id, body));
      g_ptr_array_add (their_clients, id);
    }
  dev_sync_ok (writer, NULL);
  puller = dev_new (srv, url, practice, "puller");

  dev_close (pusher);
  dev_close (puller);
  for (guint round = 0; round < rounds; round++)
    {
      guint delay_push = (guint) g_rand_int_range (rnd, 0, 301);
      guint delay_pull = (guint) g_rand_int_range (rnd, 0, 301);
      gint64 pending_before, pending_after, cursor_before, cursor_after, cursor_end;
      g_autofree char *failure = NULL;
      gboolean killed;
      RunEnd end;

      dev_open (pusher);
      pending_before = mts_sync_pending (pusher->store, NULL);
      dev_close (pusher);
      dev_open (puller);
      cursor_before = query_int (puller->store, "SELECT value FROM sync_state WHERE key = "
                                                "'pull_cursor'");
      dev_close (puller);
      cursor_end = query_int (writer->store, "SELECT value FROM sync_state WHERE key = "
                                             "'pull_cursor'");

      end = cli_sync_killed_after (pusher->dir, delay_push, &failure);
      killed = end == RUN_KILLED;
      killed_push += killed;
      if (end == RUN_FAILED && failed_push++ == 0)
        fail ("round %u: the pushing device's mts sync failed by itself: %s (seed %u)", round,
              failure, seed);
      relogins += login_lost (pusher, failure);
      g_clear_pointer (&failure, g_free);
      dev_open (pusher);
      pending_after = mts_sync_pending (pusher->store, NULL);
      dev_close (pusher);
      /* Where the kill landed, as far as the store shows. */
      if (!killed)
        kill_points[K_FINISHED]++;
      else if (pending_after == pending_before)
        kill_points[K_BEFORE_ACK]++;
      else if (pending_after > 0)
        kill_points[K_MID_PUSH]++;
      else
        kill_points[K_IN_PULL]++;

      end = cli_sync_killed_after (puller->dir, delay_pull, &failure);
      killed = end == RUN_KILLED;
      killed_pull += killed;
      if (end == RUN_FAILED && failed_pull++ == 0)
        fail ("round %u: the pulling device's mts sync failed by itself: %s (seed %u)", round,
              failure, seed);
      relogins += login_lost (puller, failure);
      g_clear_pointer (&failure, g_free);
      dev_open (puller);
      cursor_after = query_int (puller->store, "SELECT value FROM sync_state WHERE key = "
                                               "'pull_cursor'");
      dev_close (puller);
      if (!killed)
        kill_points[K_FINISHED]++;
      else if (cursor_after == cursor_before)
        kill_points[K_BEFORE_PAGE]++;
      else if (cursor_after < cursor_end)
        kill_points[K_MID_PULL]++;
      else
        kill_points[K_IN_PULL]++;
      g_test_message ("round %u: pusher killed after %u ms: pending %" G_GINT64_FORMAT " -> %"
                      G_GINT64_FORMAT "; puller killed after %u ms: cursor %" G_GINT64_FORMAT
                      " -> %" G_GINT64_FORMAT " (of %" G_GINT64_FORMAT ")", round, delay_push,
                      pending_before, pending_after, delay_pull, cursor_before, cursor_after,
                      cursor_end);

      /* New work meanwhile: edits on the pusher (some of fields whose push
       * a kill may have cut short), records for both to pull. */
      dev_open (pusher);
      for (guint i = 0; i < 150; i++, edits++)
        {
          g_autofree char *value = g_strdup_printf ("e%u-%u", round + 1, i);
          guint r = g_rand_int_range (rnd, 0, 4);

          if (r < 3)
            edit_client (pusher->store, w,
                         clients->pdata[g_rand_int_range (rnd, 0, clients->len)], r == 0, value);
          else
            append_note (pusher->store, w, notes->pdata[g_rand_int_range (rnd, 0, notes->len)],
                         value);
        }
      dev_close (pusher);
      for (guint i = 0; i < 100; i++)
        {
          g_autofree char *tag = g_strdup_printf ("w%u-%u", round, i);
          g_autofree char *body = g_strdup_printf ("round %u\n%0800u", round, i);
          char *id = add_client (writer->store, NULL, tag);

          g_free (add_note (writer->store, NULL, id, writer->clinician_id, body));
          g_ptr_array_add (their_clients, id);
        }
      dev_sync_ok (writer, NULL);
    }
  g_test_message ("kills: %u before anything was acknowledged, %u in the middle of a push, %u "
                  "before a pulled page was committed, %u between pulled pages, %u after the "
                  "push (pulling, anchoring); %u runs finished first",
                  kill_points[K_BEFORE_ACK], kill_points[K_MID_PUSH], kill_points[K_BEFORE_PAGE],
                  kill_points[K_MID_PULL], kill_points[K_IN_PULL], kill_points[K_FINISHED]);
  g_test_message ("%u rounds: the pushing device killed %u times (%u runs failed by "
                  "themselves), the pulling one %u times (%u failed); %u edits; %u logins again",
                  rounds, killed_push, failed_push, killed_pull, failed_pull, edits, relogins);

  /* One clean sync each completes. */
  status = cli_run (pusher->dir, &out, &err, "sync", "--quiet", NULL);
  if (status != 0)
    fail ("after the kills, mts sync of the pushing device exited %d: %s (seed %u)",
                        status, err, seed);
  g_test_message ("pusher's clean sync: %s", out);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    gint64 t0 = g_get_monotonic_time ();

    status = cli_run (puller->dir, &out, &err, "sync", "--quiet", NULL);
    g_test_message ("puller's clean sync (%.0f ms): %s", (g_get_monotonic_time () - t0) / 1e3,
                    out);
  }
  if (status != 0)
    fail ("after the kills, mts sync of the pulling device exited %d: %s (seed %u)",
                        status, err, seed);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  dev_sync_ok (writer, NULL);

  /* Audit logs verify, as the command line says. */
  status = cli_run (pusher->dir, &out, &err, "audit", "verify", NULL);
  if (status != 0 || g_strcmp0 (g_strstrip (out), "ok") != 0)
    fail ("mts audit verify of the pushing device: %d %s %s", status, out, err);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = cli_run (puller->dir, &out, &err, "audit", "verify", NULL);
  if (status != 0 || g_strcmp0 (g_strstrip (out), "ok") != 0)
    fail ("mts audit verify of the pulling device: %d %s %s", status, out, err);

  dev_open (pusher);
  dev_open (puller);
  /* Nothing left behind, nothing turned into a conflict. */
  if (mts_sync_pending (pusher->store, NULL) != 0 || mts_sync_pending (puller->store, NULL) != 0)
    fail ("outbox entries left after the clean syncs: %" G_GINT64_FORMAT " on the pushing device, "
          "%" G_GINT64_FORMAT " on the pulling one (seed %u)",
          mts_sync_pending (pusher->store, NULL), mts_sync_pending (puller->store, NULL), seed);
  if (query_int (pusher->store, "SELECT count(*) FROM sync_conflicts") != 0)
    {
      g_autoptr(GPtrArray) open = mts_sync_conflicts_list (pusher->store, NULL);
      MtsSyncConflict *c = open->len > 0 ? open->pdata[0] : NULL;

      fail ("the pushing device's own edits, interrupted by kills, became %"
                          G_GINT64_FORMAT " conflicts with themselves (the first: %s %s %s, "
                          "fields %s; seed %u)",
                          query_int (pusher->store, "SELECT count(*) FROM sync_conflicts"),
                          c ? c->kind : "", c ? c->table_name : "", c ? c->row_id : "",
                          c && c->fields ? c->fields : "", seed);
    }
  /* Every value written is on the server: the writer pulled it. */
  assert_written ("the writer's copy of the pushing device's edits", w, writer->store);
  assert_written ("the pushing device's own rows", w, pusher->store);
  /* The three agree, and with the server's counts. */
  assert_same_rows ("pusher and writer", pusher->store, writer->store);
  assert_same_rows ("puller and writer", puller->store, writer->store);
  assert_counts (&main_slot, pusher, "pusher");
  assert_counts (&main_slot, puller, "puller");
  assert_store_sound ("pusher", pusher->store);
  assert_store_sound ("puller", puller->store);
  if (query_int (puller->store, "SELECT count(*) FROM clients WHERE deleted = 0") !=
      (gint64) (clients->len + their_clients->len))
    fail ("the pulling device has %" G_GINT64_FORMAT " clients, not the %u made (seed %u)",
          query_int (puller->store, "SELECT count(*) FROM clients WHERE deleted = 0"),
          clients->len + their_clients->len, seed);
  /* Where the kills landed depends on the machine's speed (see the message
   * above); a run in which none did tested nothing. */
  if (killed_push == 0 || killed_pull == 0)
    g_test_incomplete ("every mts sync finished within its random delay: nothing was killed");
  g_hash_table_unref (w);
}

/* ---- the server killed mid-push ---- */

typedef struct {
  Dev *dev;
  gint batches;         /* atomic: push batches acknowledged */
  gboolean ok;
  GError *error;
} PushJob;

static void
push_progress_cb (MtsSyncPhase phase, gint64 done, gint64 total, gpointer data)
{
  PushJob *job = data;

  if (phase == MTS_SYNC_PHASE_PUSH)
    g_atomic_int_inc (&job->batches);
}

static gpointer
push_thread (gpointer data)
{
  PushJob *job = data;
  MtsSyncStats stats = { 0 };

  job->ok = mts_sync_once (job->dev->store, job->dev->session, NULL, push_progress_cb, job, NULL,
                           &stats, &job->error);
  return NULL;
}

static void
test_server_killed (void)
{
  MtsTestServer *srv = server (&killed_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autoptr(Dev) fresh = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  Written *w = written_new ();
  guint made = 0, kills = 0;

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "server-killed");
  url = mts_test_proxy_url (proxy);
  dev = dev_new (srv, url, practice, "server-killed");
  dev_sync_ok (dev, NULL);

  for (guint attempt = 0; attempt < 3; attempt++)
    {
      PushJob job = { dev, 0, FALSE, NULL };
      MtsSyncStats stats = { 0 };
      GThread *thread;
      pid_t pid;
      guint wait_ms = (guint) g_rand_int_range (rnd, 0, 400);
      guint64 up;

      /* Thousands of new records, pushed 500 at a time. */
      for (guint i = 0; i < 3000; i++, made++)
        {
          g_autofree char *tag = g_strdup_printf ("k%u", made);
          g_ptr_array_add (ids, add_client (dev->store, w, tag));
        }
      thread = g_thread_new ("push", push_thread, &job);
      /* Wait for the first batch to be acknowledged and the next request to
       * be on its way, then a little more: the server dies while it
       * handles a batch (before, while or after committing it). */
      while (g_atomic_int_get (&job.batches) < 1 && !job.ok && job.error == NULL)
        g_usleep (200);
      up = mts_test_proxy_bytes_up (proxy);
      while (mts_test_proxy_bytes_up (proxy) == up && !job.ok && job.error == NULL)
        g_usleep (200);
      g_usleep (wait_ms * 1000);
      pid = server_pid (&killed_slot);
      g_assert_cmpint (pid, >, 0);
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_thread_join (thread);
      if (job.ok)
        g_test_message ("attempt %u: the push finished before the server died", attempt);
      else
        {
          kills++;
          g_test_message ("attempt %u: killed after %d batches + %u ms: %s", attempt,
                          job.batches, wait_ms, job.error->message);
          if (!g_error_matches (job.error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK) &&
              !g_error_matches (job.error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE))
            fail ("a sync whose server died failed with %s %d, not NETWORK or "
                                "OFFLINE: %s", g_quark_to_string (job.error->domain),
                                job.error->code, job.error->message);
        }
      g_clear_error (&job.error);
      assert_store_sound ("after the server died", dev->store);

      /* Work goes on meanwhile: edits of records of the batch the server
       * died in (pushed or not, acknowledged or not). */
      for (guint i = 0; i < 50; i++)
        {
          g_autofree char *value = g_strdup_printf ("k%u-edit%u", attempt, i);
          guint k = ids->len - 1 - (guint) g_rand_int_range (rnd, 0, 3000);

          edit_client (dev->store, w, ids->pdata[k], TRUE, value);
        }

      /* Back on another port, behind the same address. */
      mts_test_server_stop (srv);
      g_assert_true (mts_test_server_start (srv, &error));
      g_assert_no_error (error);
      mts_test_proxy_set_backend (proxy, mts_test_server_port (srv));
      if (dev_sync_ok (dev, &stats))
        g_test_message ("attempt %u: the next sync: pushed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                        " applied, %" G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT " merged, %"
                        G_GINT64_FORMAT " conflicts", attempt, stats.pushed, stats.applied,
                        stats.duplicates, stats.merged, stats.conflicts);
      if (mts_sync_pending (dev->store, NULL) != 0)
        fail ("%" G_GINT64_FORMAT " outbox entries left after a sync (seed %u)",
              mts_sync_pending (dev->store, NULL), seed);
    }
  if (kills == 0)
    g_test_incomplete ("every push finished before the server was killed");

  /* Every record once, on the server and on a fresh device. */
  if (query_int (dev->store, "SELECT count(*) FROM sync_conflicts") != 0)
    fail ("the device's own edits became %" G_GINT64_FORMAT " conflicts with themselves after "
          "the server died mid-push (seed %u)",
          query_int (dev->store, "SELECT count(*) FROM sync_conflicts"), seed);
  assert_counts (&killed_slot, dev, "after the server was killed");
  fresh = dev_new (srv, url, practice, "server-killed-fresh");
  dev_sync_ok (fresh, NULL);
  dev_sync_ok (dev, NULL);
  assert_same_rows ("device and a fresh device", dev->store, fresh->store);
  assert_written ("a fresh device's copy", w, fresh->store);
  g_assert_cmpint (query_int (fresh->store, "SELECT count(*) FROM clients WHERE deleted = 0"), ==,
                   made);
  assert_store_sound ("after the server was killed", dev->store);
  g_hash_table_unref (w);
}

/* ---- the server restarted between two syncs ---- */

/* A device whose connection was kept open from its last sync, the server
 * stopped (gracefully) and started again behind the same address: the
 * next sync, with the server up, completes. */
static void
test_server_restarted (void)
{
  MtsTestServer *srv = server (&killed_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Dev) dev = NULL;
  guint failures = 0;

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "restarted");
  url = mts_test_proxy_url (proxy);
  dev = dev_new (srv, url, practice, "restarted");
  for (guint i = 0; i < 5; i++)
    {
      g_free (add_client (dev->store, NULL, "restarted"));
      if (!dev_sync_ok (dev, NULL))
        continue;
      mts_test_server_stop (srv);
      g_assert_true (mts_test_server_start (srv, &error));
      g_assert_no_error (error);
      mts_test_proxy_set_backend (proxy, mts_test_server_port (srv));
      g_free (add_client (dev->store, NULL, "restarted"));
      if (!mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, NULL, &error))
        {
          fail ("restart %u: the first sync after the server came back failed: %s (%s %d)", i,
                error->message, g_quark_to_string (error->domain), error->code);
          g_clear_error (&error);
          failures++;
        }
    }
  g_test_message ("%u of 5 first syncs after a restart failed", failures);
}

/* ---- the answer to a merged push lost ---- */

/* A device edits a note twice; its push merges with another device's edit
 * of the same note, and the answer is lost (cut off a few bytes in).  The
 * next sync replays it: the other device's line must survive, in the note
 * or in a kept conflict. */
static void
test_merged_answer_lost (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *via = NULL;
  g_autoptr(Dev) a = NULL;
  g_autoptr(Dev) b = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *note_id = NULL;
  g_autoptr(MtsNote) n = NULL;
  MtsSyncStats stats = { 0 };

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "merged-lost");
  direct = mts_test_server_url (srv);
  via = mts_test_proxy_url (proxy);
  a = dev_new (srv, direct, practice, "merged-lost-a");
  b = dev_new (srv, via, practice, "merged-lost-b");
  client_id = add_client (a->store, NULL, "ml-1");
  note_id = add_note (a->store, NULL, client_id, a->clinician_id, "l1\nl2\nl3\nl4");
  dev_sync_ok (a, NULL);
  dev_sync_ok (b, NULL);

  /* A appends a line; B, not yet knowing, changes lines 1 and 2 in two
   * edits. */
  n = mts_store_note_get (a->store, note_id, &error);
  g_assert_no_error (error);
  g_free (n->body);
  n->body = g_strdup ("l1\nl2\nl3\nl4\nA1");
  g_assert_true (mts_store_note_update (a->store, n, &error));
  dev_sync_ok (a, NULL);
  g_free (n->body);
  n->body = g_strdup ("B1\nl2\nl3\nl4");
  g_assert_true (mts_store_note_update (b->store, n, &error));
  g_free (n->body);
  n->body = g_strdup ("B1\nB2\nl3\nl4");
  g_assert_true (mts_store_note_update (b->store, n, &error));
  g_assert_no_error (error);

  /* B's push is answered (merged), and the answer cut off. */
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_DROP, 5);
  g_assert_false (mts_sync_once (b->store, b->session, NULL, NULL, NULL, NULL, &stats, &error));
  g_test_message ("the push whose answer was cut: %s", error->message);
  g_clear_error (&error);
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
  if (dev_sync_ok (b, &stats))
    g_test_message ("B's next sync: pushed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " applied, %"
                    G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT " merged, %" G_GINT64_FORMAT
                    " conflicts", stats.pushed, stats.applied, stats.duplicates, stats.merged,
                    stats.conflicts);
  dev_sync_ok (a, NULL);

  for (guint i = 0; i < 2; i++)
    {
      Dev *d = i == 0 ? a : b;
      g_autoptr(MtsNote) now = mts_store_note_get (d->store, note_id, &error);
      g_autoptr(GPtrArray) kept = mts_sync_conflicts_list (d->store, NULL);
      g_autofree char *shown = NULL;
      const char *lines[] = { "A1", "B1", "B2" };

      g_assert_no_error (error);
      shown = g_strescape (now->body, NULL);
      g_test_message ("device %c: the note is \"%s\", %u conflicts kept", 'A' + i, shown,
                      kept->len);
      for (guint k = 0; k < G_N_ELEMENTS (lines); k++)
        if (strstr (now->body, lines[k]) == NULL && kept->len == 0)
          fail ("device %c: line %s is lost after a merged push's answer was lost (the note is "
                "\"%s\", no conflict kept)", 'A' + i, lines[k], shown);
    }
}

/* ---- a proxy that drops or stalls ---- */

static void
proxy_case (MtsTestProxyMode mode)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *via = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autoptr(Dev) other = NULL;
  g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func (g_free);
  Written *w = written_new ();
  const char *mode_name = mode == MTS_TEST_PROXY_DROP ? "drop" : "stall";
  guint rounds = mode == MTS_TEST_PROXY_DROP ? 8 : 4;

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, mode_name);
  direct = mts_test_server_url (srv);
  via = mts_test_proxy_url (proxy);
  dev = dev_new (srv, via, practice, mode_name);
  other = dev_new (srv, direct, practice, "other");
  mts_sync_client_set_timeouts (mts_sync_session_get_client (dev->session), 2000, 2);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *tag = g_strdup_printf ("%s-%u", mode_name, i);
      g_ptr_array_add (mine, add_client (dev->store, w, tag));
    }
  dev_sync_ok (dev, NULL);

  for (guint round = 0; round < rounds; round++)
    {
      /* Half the time within the first few KiB (the push's answer, or a
       * refresh), else somewhere in the pull's. */
      gsize after = (gsize) (g_rand_boolean (rnd) ? g_rand_int_range (rnd, 0, 4000)
                                                  : g_rand_int_range (rnd, 4000, 60000));
      guint faults = mts_test_proxy_faults (proxy);
      g_autofree char *before = NULL;
      MtsSyncStats stats = { 0 };
      gboolean ok;

      /* Pending edits here; hundreds of records (~1 KiB each) to pull. */
      for (guint i = 0; i < 150; i++)
        {
          g_autofree char *value = g_strdup_printf ("%s-r%u-%u", mode_name, round, i);
          edit_client (dev->store, w, mine->pdata[g_rand_int_range (rnd, 0, mine->len)],
                       g_rand_boolean (rnd), value);
        }
      for (guint i = 0; i < 300; i++)
        {
          g_autofree char *tag = g_strdup_printf ("o%u-%u", round, i);
          g_autofree char *body = g_strdup_printf ("from the other device\n%01000u", i);
          g_autofree char *id = add_client (other->store, NULL, tag);

          g_free (add_note (other->store, NULL, id, other->clinician_id, body));
        }
      dev_sync_ok (other, NULL);

      before = local_state (dev->store);
      mts_test_proxy_set_mode (proxy, mode, after);
      ok = mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, &stats, &error);
      g_test_message ("round %u: %s after %zu bytes: %s; pushed %" G_GINT64_FORMAT ", pulled %"
                      G_GINT64_FORMAT, round, mode_name, after,
                      ok ? "synced" : error->message, stats.pushed, stats.pulled);
      if (ok)
        fail ("a sync through a proxy that %ss after %zu bytes succeeded (seed %u)",
                            mode_name, after, seed);
      else if (!g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK))
        fail ("a sync through a proxy that %ss after %zu bytes failed with %s %d, "
                            "not NETWORK: %s (seed %u)", mode_name, after,
                            g_quark_to_string (error->domain), error->code, error->message, seed);
      g_clear_error (&error);
      g_assert_cmpuint (mts_test_proxy_faults (proxy), >, faults);
      assert_store_sound ("after a broken sync", dev->store);
      if (stats.pushed + stats.pulled == 0)
        {
          /* Broken before anything was acknowledged or applied: nothing
           * may have changed. */
          g_autofree char *after_state = local_state (dev->store);

          if (g_strcmp0 (after_state, before) != 0)
            fail ("round %u: a sync broken before anything was acknowledged or applied changed "
                  "the store (seed %u)", round, seed);
        }

      /* Work goes on: more edits of the same records (some of fields
       * whose push the broken sync may have delivered unacknowledged). */
      for (guint i = 0; i < 40; i++)
        {
          g_autofree char *value = g_strdup_printf ("%s-r%u-again%u", mode_name, round, i);
          edit_client (dev->store, w, mine->pdata[g_rand_int_range (rnd, 0, mine->len)],
                       g_rand_boolean (rnd), value);
        }

      /* Through a passing proxy the next sync completes. */
      mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
      if (dev_sync_ok (dev, &stats))
        g_test_message ("round %u: the next sync: pushed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                        " applied, %" G_GINT64_FORMAT " duplicates, %" G_GINT64_FORMAT " merged, %"
                        G_GINT64_FORMAT " conflicts", round, stats.pushed, stats.applied,
                        stats.duplicates, stats.merged, stats.conflicts);
      if (mts_sync_pending (dev->store, NULL) != 0)
        fail ("%" G_GINT64_FORMAT " outbox entries left after a sync (seed %u)",
              mts_sync_pending (dev->store, NULL), seed);
    }

  dev_sync_ok (other, NULL);
  if (query_int (dev->store, "SELECT count(*) FROM sync_conflicts") != 0)
    fail ("the device's own edits became %" G_GINT64_FORMAT " conflicts with themselves after "
          "broken syncs (seed %u)", query_int (dev->store, "SELECT count(*) FROM sync_conflicts"),
          seed);
  assert_written ("the other device's copy", w, other->store);
  assert_same_rows ("the device behind the proxy and the other", dev->store, other->store);
  assert_counts (&main_slot, dev, mode_name);
  assert_store_sound (mode_name, dev->store);
  g_hash_table_unref (w);
}

static void
test_proxy_drop (void)
{
  proxy_case (MTS_TEST_PROXY_DROP);
}

static void
test_proxy_stall (void)
{
  proxy_case (MTS_TEST_PROXY_STALL);
}

/* ---- an unknown CA ---- */

static void
test_unknown_ca (void)
{
  MtsTestServer *srv = server (&main_slot);
  MtsTestServer *impostor = server (&other_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (srv == NULL || impostor == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "unknown-ca");
  url = mts_test_proxy_url (proxy);
  dev = dev_new (srv, url, practice, "unknown-ca");
  g_ptr_array_add (ids, add_client (dev->store, NULL, "ca-1"));
  dev_sync_ok (dev, NULL);
  g_ptr_array_add (ids, add_client (dev->store, NULL, "ca-2"));

  /* The same address now answers with another CA's certificate; the
   * device starts afresh (no connection kept from before). */
  mts_test_proxy_set_backend (proxy, mts_test_server_port (impostor));
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_OFFLINE, 0);
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
  dev_close (dev);
  dev_open (dev);
  before = local_state (dev->store);
  g_assert_false (mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS);
  g_test_message ("the error: %s", error->message);
  if (strstr (error->message, "not trusted") == NULL)
    fail ("the TLS error does not say the certificate is not trusted: %s",
                        error->message);
  g_assert_false (mts_sync_error_is_retryable (error));
  g_clear_error (&error);
  after = local_state (dev->store);
  g_assert_cmpstr (after, ==, before);
  g_assert_true (mts_sync_session_is_logged_in (dev->session));

  /* With the real server back, the pending client goes through. */
  mts_test_proxy_set_backend (proxy, mts_test_server_port (srv));
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_OFFLINE, 0);
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
  dev_sync_ok (dev, NULL);
  g_assert_cmpint (mts_sync_pending (dev->store, NULL), ==, 0);
}

/* ---- an expired access token ---- */

static void
test_expired_token (void)
{
  MtsTestServer *srv = server (&short_slot);
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autofree char *token_before = NULL;
  g_autofree char *token_after = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autoptr(Dev) other = NULL;
  Written *w = written_new ();
  MtsSyncStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  if (srv == NULL)
    return;
  practice = new_practice (srv, "expired");
  url = mts_test_server_url (srv);
  dev = dev_new (srv, url, practice, "expired");
  other = dev_new (srv, url, practice, "expired-other");
  id = add_client (dev->store, w, "x-1");
  dev_sync_ok (dev, NULL);

  edit_client (dev->store, w, id, TRUE, "x-2");
  token_before = query_text (dev->store, "SELECT hex(value) FROM sync_state WHERE key = "
                             "'refresh_token'", NULL);
  g_usleep (2 * G_USEC_PER_SEC);
  g_assert_true (mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, &stats,
                                &error));
  g_assert_no_error (error);
  g_assert_cmpint (stats.applied, ==, 1);
  token_after = query_text (dev->store, "SELECT hex(value) FROM sync_state WHERE key = "
                            "'refresh_token'", NULL);
  /* It was refreshed (the refresh token rotates), not logged in again. */
  g_assert_cmpstr (token_after, !=, token_before);
  g_assert_cmpint (mts_sync_pending (dev->store, NULL), ==, 0);
  dev_sync_ok (other, NULL);
  assert_written ("after a refresh", w, other->store);
  g_hash_table_unref (w);
}

/* ---- a revoked device ---- */

static void
test_revoked (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *admin = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autofree char *id = NULL;
  Written *w = written_new ();
  int status;

  if (srv == NULL)
    return;
  practice = new_practice (srv, "revoked");
  url = mts_test_server_url (srv);
  dev = dev_new (srv, url, practice, "revoked");
  id = add_client (dev->store, w, "r-1");
  dev_sync_ok (dev, NULL);
  edit_client (dev->store, w, id, FALSE, "r-2");
  g_free (add_client (dev->store, w, "r-3"));
  device_id = g_strdup (mts_sync_session_get_device_id (dev->session));

  admin = mts_test_server_admin (srv, NULL, &error, "device-revoke", practice, device_id, NULL);
  g_assert_no_error (error);

  before = local_state (dev->store);
  g_assert_false (mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED);
  g_test_message ("the error: %s", error->message);
  if (strstr (error->message, "revoked") == NULL)
    fail ("the error does not say the device was revoked: %s", error->message);
  g_assert_false (mts_sync_error_is_retryable (error));
  g_clear_error (&error);
  after = local_state (dev->store);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (mts_sync_pending (dev->store, NULL), ==, 2);
  assert_written ("the revoked device's own rows", w, dev->store);

  /* The command line says so too, and once: no retrying a revocation. */
  dev_close (dev);
  status = cli_run (dev->dir, &out, &err, "sync", "--quiet", NULL);
  g_test_message ("mts sync: %d, %s", status, err);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "revoked"));
  g_assert_null (strstr (err, "trying again"));
  dev_open (dev);
  g_clear_pointer (&after, g_free);
  after = local_state (dev->store);
  g_assert_cmpstr (after, ==, before);
  g_hash_table_unref (w);
}

/* ---- a connection cut during the TLS handshake ---- */

/* A connection that breaks off while the server's handshake messages are on
 * their way is a network failure (NETWORK, retried), not a certificate
 * problem (TLS, never retried, "not trusted"): cut after N bytes of the
 * server's first flight, for N across it. */
static void
test_handshake_cut (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Dev) dev = NULL;
  const gsize cuts[] = { 1, 5, 60, 145, 400, 700, 900 };

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "handshake-cut");
  url = mts_test_proxy_url (proxy);
  dev = dev_new (srv, url, practice, "handshake-cut");
  dev_sync_ok (dev, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      /* A new session: a new connection, so a new handshake. */
      dev_close (dev);
      dev_open (dev);
      mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_DROP, cuts[i]);
      if (mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, NULL, &error))
        {
          fail ("a sync whose connection was cut after %zu bytes of the handshake succeeded",
                cuts[i]);
          continue;
        }
      g_test_message ("cut after %zu bytes: %s (%d)", cuts[i], error->message, error->code);
      if (!g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK))
        fail ("a connection cut after %zu bytes of the TLS handshake is reported as %s %d, not "
              "NETWORK%s: %s", cuts[i], g_quark_to_string (error->domain), error->code,
              mts_sync_error_is_retryable (error) ? "" : " (and is never retried)",
              error->message);
      g_clear_error (&error);
    }
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
}

/* ---- a refresh whose answer is lost on the way ---- */

/* Bytes the server sent through @proxy for a fresh session of @d (no
 * access token, no connection yet): a refresh, on a new connection (the
 * TLS handshake included), then @n_health requests of GET /v1/health. */
static guint64
probe_down (MtsTestProxy *proxy, Dev *d, guint n_health)
{
  guint64 before;

  dev_close (d);
  dev_open (d);
  before = mts_test_proxy_bytes_down (proxy);
  for (guint i = 0; i < n_health; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) answer = mts_sync_session_request (d->session, "GET", "/v1/health", NULL,
                                                             NULL, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (answer);
    }
  return mts_test_proxy_bytes_down (proxy) - before;
}

/* The server rotates the refresh token when it answers a refresh; an
 * answer cut off on its way (a dropped connection, like a killed client)
 * leaves the device with the spent token.  The connection is cut a few
 * bytes before the end of the refresh's answer (its length measured by
 * probes); the next sync must still work. */
static void
test_refresh_answer_lost (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestProxy) proxy = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autoptr(Dev) dev = NULL;
  guint64 one, two, refresh_end;
  MtsSyncStats stats = { 0 };

  if (srv == NULL)
    return;
  proxy = mts_test_proxy_new (mts_test_server_port (srv), &error);
  g_assert_no_error (error);
  practice = new_practice (srv, "refresh-lost");
  url = mts_test_proxy_url (proxy);
  dev = dev_new (srv, url, practice, "refresh-lost");
  dev_sync_ok (dev, NULL);

  one = probe_down (proxy, dev, 1);
  two = probe_down (proxy, dev, 2);
  g_assert_cmpuint (two, >, one);
  g_assert_cmpuint (one, >, 2 * (two - one));
  refresh_end = one - (two - one);
  g_test_message ("a new connection's handshake and refresh answer: %" G_GUINT64_FORMAT
                  " bytes; a health answer: %" G_GUINT64_FORMAT, refresh_end, two - one);

  g_free (add_client (dev->store, NULL, "rl-1"));
  dev_close (dev);
  dev_open (dev);
  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_DROP, refresh_end - 5);
  g_assert_false (mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, &stats,
                                 &error));
  g_test_message ("the sync whose refresh answer was cut: %s", error->message);
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK);
  g_clear_error (&error);
  g_assert_cmpint (stats.pushed, ==, 0);

  mts_test_proxy_set_mode (proxy, MTS_TEST_PROXY_PASS, 0);
  if (!mts_sync_once (dev->store, dev->session, NULL, NULL, NULL, NULL, &stats, &error))
    fail ("after a refresh whose answer was lost, the next sync fails: %s (%s %d): the device "
          "must log in again", error->message, g_quark_to_string (error->domain), error->code);
  else if (mts_sync_pending (dev->store, NULL) != 0)
    fail ("after a refresh whose answer was lost, the next sync left the outbox");
}

/* ---- killed just after a refresh ---- */

/* Copies folder @from to @to (cp -a). */
static void
copy_tree (const char *from, const char *to)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "cp", "-a", from, to, NULL };
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A sync refreshes the access token first (none is kept on disk); the
 * server rotates the refresh token when it answers.  A client killed after
 * that answer and before the new token's transaction commits is left with
 * the spent token.  Simulated exactly: the store as it was before the sync
 * is put back after it (as if nothing the sync did was committed), then
 * the device syncs again, as the next `mts sync` after a kill would. */
static void
test_killed_after_refresh (void)
{
  MtsTestServer *srv = server (&main_slot);
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(Dev) dev = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (srv == NULL)
    return;
  practice = new_practice (srv, "refresh-killed");
  url = mts_test_server_url (srv);
  dev = dev_new (srv, url, practice, "refresh-killed");
  g_free (add_client (dev->store, NULL, "rk-1"));
  dev_sync_ok (dev, NULL);
  g_free (add_client (dev->store, NULL, "rk-2"));
  dev_close (dev);

  saved = g_strconcat (dev->dir, "-before-sync", NULL);
  copy_tree (dev->dir, saved);
  /* The sync's first request refreshes the access token (a new session
   * has none): the server rotates the refresh token and the device stores
   * the new one.  Only that, so nothing else (an audit anchor) is lost
   * with the store's state below. */
  dev_open (dev);
  {
    g_autoptr(JsonNode) answer =
      mts_sync_session_request (dev->session, "GET", "/v1/sync/pull?after=0&limit=1", NULL,
                                NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (answer);
  }
  dev_close (dev);

  /* "Killed" after the refresh's answer: nothing of that run committed. */
  {
    g_autofree char *rm_argv_dir = g_strdup (dev->dir);
    const char *argv[] = { "rm", "-rf", rm_argv_dir, NULL };
    int rm_status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 NULL, NULL, &rm_status, &error));
    g_assert_no_error (error);
  }
  copy_tree (saved, dev->dir);

  status = cli_run (dev->dir, &out, &err, "sync", "--quiet", NULL);
  g_test_message ("the next mts sync: %d %s%s", status, out, err);
  if (status != 0)
    fail ("a client killed right after a token refresh cannot sync any more (its stored refresh "
          "token was spent by the server's rotation; the server takes it as stolen and ends the "
          "login): mts sync exited %d: %s", status, g_strstrip (err));
  dev_open (dev);
  if (!mts_sync_session_is_logged_in (dev->session))
    fail ("the device lost its login after being killed right after a token refresh");
}

/* ===================================================================== */

static void
drop_log_cb (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

int
main (int argc, char **argv)
{
  const char *seed_env;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* A failed check marks its case and lets it (and the next cases) go on. */
  g_test_set_nonfatal_assertions ();
  /* Thousands of requests: the engine's request log would bury the report. */
  g_log_set_handler ("mts-sync", G_LOG_LEVEL_DEBUG, drop_log_cb, NULL);
  seed_env = g_getenv ("MTS_SYNC_FAULTS_SEED");
  seed = seed_env != NULL && *seed_env != '\0' ? (guint32) g_ascii_strtoull (seed_env, NULL, 10)
                                               : g_random_int ();
  rnd = g_rand_new_with_seed (seed);
  g_test_message ("seed %u (replay: MTS_SYNC_FAULTS_SEED=%u)", seed, seed);

  g_test_add_func ("/sync-faults/client-killed", test_client_killed);
  g_test_add_func ("/sync-faults/killed-after-refresh", test_killed_after_refresh);
  g_test_add_func ("/sync-faults/refresh-answer-lost", test_refresh_answer_lost);
  g_test_add_func ("/sync-faults/server-killed", test_server_killed);
  g_test_add_func ("/sync-faults/server-restarted", test_server_restarted);
  g_test_add_func ("/sync-faults/merged-answer-lost", test_merged_answer_lost);
  g_test_add_func ("/sync-faults/proxy-drop", test_proxy_drop);
  g_test_add_func ("/sync-faults/proxy-stall", test_proxy_stall);
  g_test_add_func ("/sync-faults/handshake-cut", test_handshake_cut);
  g_test_add_func ("/sync-faults/unknown-ca", test_unknown_ca);
  g_test_add_func ("/sync-faults/expired-token", test_expired_token);
  g_test_add_func ("/sync-faults/revoked", test_revoked);

  status = g_test_run ();

  g_clear_pointer (&main_slot.srv, mts_test_server_free);
  g_clear_pointer (&short_slot.srv, mts_test_server_free);
  g_clear_pointer (&other_slot.srv, mts_test_server_free);
  g_clear_pointer (&killed_slot.srv, mts_test_server_free);
  g_free (main_slot.failed);
  g_free (short_slot.failed);
  g_free (other_slot.failed);
  g_free (killed_slot.failed);
  g_rand_free (rnd);
  mts_test_fixture_tear_down (status != 0);
  return status;
}
