/* test-sync-model.c — a randomized model test of the sync engine
 * (sync/mts-sync-engine.h) against the real mts-server over loopback TLS.
 *
 * Three devices (three stores, each logged in as its own clinician of one
 * practice through MtsSyncSession) take thousands of random operations:
 *   create a client; edit a client's phone, address or status (unique
 *   values: "p-<op>", "a-<op>"); create a note on a client; edit a note's
 *   body (replace a line with a unique token "L<op>", append one, or replace
 *   the whole body with "W<op>-1..3"); sign a note (after which an edit of
 *   it must be refused by the store); delete a client (rarely); resolve an
 *   open conflict (mine, theirs) — interleaved with random syncs
 *   (mts_sync_once), network cuts (the server stopped, sometimes the port
 *   refusing too: syncs fail with OFFLINE or NETWORK while local work goes
 *   on; the server started again later) and restarts (a device's store and
 *   session closed, reopened and unlocked).
 *
 * The devices reach the server through a loopback proxy (test-proxy.h)
 * whose port stays the same, so their logins survive the server coming
 * back on another port.
 *
 * The model of what must survive:
 *   - every local edit, field by field (the row before and after the
 *     operation), and every value pushed (before each sync, the values of
 *     every outbox entry's changed columns, read from the row as the engine
 *     reads them);
 *   - at the end, once the server is up and the devices have synced in
 *     rounds (A, B, C, ...) until a whole round pushes and pulls nothing:
 *     (a) all three devices, and a fresh fourth device's first sync, hold
 *         the same live rows of every synced table but documents, field by
 *         field (decrypted) and version by version;
 *     (b) every value recorded above is accounted for: it is the field's
 *         final value, or it is this device's version in a sync_conflicts
 *         entry of the record (any device, open or resolved), or an edit was
 *         made on top of it (the editing device's row held that value
 *         before the edit: knowingly superseded; deleting a client counts
 *         as such an edit of it and its notes, on the deleting device), or
 *         the record was deleted.  A last-writer-wins overwrite, a pull
 *         over an unpushed edit, a dropped outbox entry all fail this.  Note bodies are checked line by line (each line is a
 *         unique token): every token is in the final body, in a kept
 *         conflict, was removed by an edit that saw it, or its note was
 *         deleted; and no line appears twice;
 *     (c) no duplicates: every live id was made by this test, every record
 *         made is live or was deleted, and the server's live record count
 *         of every table is the devices';
 *     (d) every device's outbox is empty, its audit log verifies
 *         (mts_audit_verify() = 'ok') and its foreign keys hold.
 *
 * MTS_SYNC_MODEL_OPS (default 2000) sets the number of operations,
 * MTS_SYNC_MODEL_SEED replays a run: the seed is printed first, and every
 * failure names it (record ids differ between runs; the operations, values
 * and outcomes do not).  To look into a failure:
 *   MTS_SYNC_MODEL_TRACE=1      logs every edit, sync, restart, delete and
 *                               resolution
 *   MTS_SYNC_MODEL_TRACE_OP=N   logs every device's row of the record made
 *                               at operation N whenever it changes ("n-N",
 *                               "N<N>-1" in its values)
 *   MTS_SYNC_MODEL_SKIP=a,b     leaves kinds of operation out (note-sign,
 *                               client-delete, client-edit, note-add,
 *                               note-edit, resolve), to look past a known
 *                               bug for others
 * Run with --tap -k.
 */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-store.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "mts-sync-tables.h"
#include "test-proxy.h"
#include "test-server-fixture.h"

#define PASS "store passphrase for tests"
#define N_DEV 3
#define DEFAULT_OPS 2000
#define MAX_CLIENTS 24
#define MAX_ROUNDS 12
#define DELETED_MARK "#deleted"

/* ===================================================================== */
/* Rows, as text                                                          */

typedef struct {
  gint64 version;
  gboolean deleted;
  char **values;          /* one per field of the table spec; NULL for SQL NULL */
  guint n;
} Row;

static void
row_free (Row *r)
{
  if (r == NULL)
    return;
  for (guint i = 0; i < r->n; i++)
    g_free (r->values[i]);
  g_free (r->values);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Row, row_free)

static int
field_index (const MtsTableSpec *t, const char *name)
{
  for (guint i = 0; i < t->n_fields; i++)
    if (strcmp (t->fields[i].name, name) == 0)
      return (int) i;
  return -1;
}

static const char *
row_value (const MtsTableSpec *t, const Row *r, const char *field)
{
  int i = field_index (t, field);

  return r != NULL && i >= 0 ? r->values[i] : NULL;
}

/* "SELECT id, version, deleted, f1, mts_decrypt(f2, 't.f2:' || id), ... FROM t" */
static char *
select_sql (const MtsTableSpec *t)
{
  GString *sql = g_string_new ("SELECT id, version, deleted");

  for (guint i = 0; i < t->n_fields; i++)
    {
      const MtsFieldSpec *f = &t->fields[i];

      if (f->flags & MTS_FIELD_SENSITIVE)
        g_string_append_printf (sql, ", mts_decrypt(%s, '%s.%s:' || id)", f->name, t->name,
                                f->name);
      else
        g_string_append_printf (sql, ", %s", f->name);
    }
  g_string_append_printf (sql, " FROM %s", t->name);
  return g_string_free (sql, FALSE);
}

static Row *
row_from_stmt (const MtsTableSpec *t, sqlite3_stmt *st)
{
  Row *r = g_new0 (Row, 1);

  r->version = sqlite3_column_int64 (st, 1);
  r->deleted = sqlite3_column_int (st, 2) != 0;
  r->n = t->n_fields;
  r->values = g_new0 (char *, t->n_fields);
  for (guint i = 0; i < t->n_fields; i++)
    if (sqlite3_column_type (st, (int) i + 3) != SQLITE_NULL)
      r->values[i] = g_strdup ((const char *) sqlite3_column_text (st, (int) i + 3));
  return r;
}

static sqlite3_stmt *
prepare (MtsStore *store, const char *sql)
{
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  return st;
}

/* Row @id of @t, deleted or not, or NULL. */
static Row *
read_row (MtsStore *store, const MtsTableSpec *t, const char *id)
{
  g_autofree char *base = select_sql (t);
  g_autofree char *sql = g_strconcat (base, " WHERE id = ?1", NULL);
  sqlite3_stmt *st = prepare (store, sql);
  Row *r = NULL;
  int rc;

  sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    r = row_from_stmt (t, st);
  else if (rc != SQLITE_DONE)
    g_error ("reading %s %s: %s", t->name, id, sqlite3_errmsg (mts_store_get_db (store)));
  sqlite3_finalize (st);
  return r;
}

/* The live rows of @t: id -> Row. */
static GHashTable *
read_live (MtsStore *store, const MtsTableSpec *t)
{
  g_autofree char *base = select_sql (t);
  g_autofree char *sql = g_strconcat (base, " WHERE deleted = 0", NULL);
  GHashTable *rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) row_free);
  sqlite3_stmt *st = prepare (store, sql);
  int rc;

  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_hash_table_insert (rows, g_strdup ((const char *) sqlite3_column_text (st, 0)),
                         row_from_stmt (t, st));
  if (rc != SQLITE_DONE)
    g_error ("reading %s: %s", t->name, sqlite3_errmsg (mts_store_get_db (store)));
  sqlite3_finalize (st);
  return rows;
}

static char *
query_text (MtsStore *store, const char *sql)
{
  sqlite3_stmt *st = prepare (store, sql);
  char *out = NULL;

  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    out = g_strdup ((const char *) sqlite3_column_text (st, 0));
  else if (sqlite3_errcode (mts_store_get_db (store)) != SQLITE_ROW &&
           sqlite3_errcode (mts_store_get_db (store)) != SQLITE_DONE)
    out = g_strdup_printf ("error: %s", sqlite3_errmsg (mts_store_get_db (store)));
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

/* The lines of a body, as a set. */
static GHashTable *
line_set (const char *text)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_hash_table_add (set, g_strdup (lines[i]));
  return set;
}

static gboolean
has_line (const char *text, const char *token)
{
  g_autoptr(GHashTable) set = line_set (text);

  return g_hash_table_contains (set, token);
}

/* A JSON member as the row reader shows it: text, an integer's digits, or
 * NULL. */
static char *
json_text (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n) || !JSON_NODE_HOLDS_VALUE (n))
    return NULL;
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (n));
  if (json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (n) ? "1" : "0");
  if (json_node_get_value_type (n) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (n));
  return NULL;
}

/* ===================================================================== */
/* The model                                                              */

typedef struct {
  char name;
  char *dir;
  MtsStore *store;
  MtsSyncSession *session;
  MtsTestUser *user;
  char *clinician_id;
} Device;

/* A value that must survive: a local edit of a field (prior: the row's
 * value before it) or a value pushed by a sync (prior unused). */
typedef struct {
  guint op;
  char dev;
  const MtsTableSpec *table;
  char *id;
  char *field;            /* or DELETED_MARK */
  char *prior;
  char *value;
  gboolean deletion;      /* an edit that deleted the row: it only supersedes */
} Value;

static void
value_free (Value *v)
{
  g_free (v->id);
  g_free (v->field);
  g_free (v->prior);
  g_free (v->value);
  g_free (v);
}

typedef struct {
  char *table;
  char *id;
  char *kind;
  JsonObject *local;
} Kept;

static void
kept_free (Kept *k)
{
  g_free (k->table);
  g_free (k->id);
  g_free (k->kind);
  if (k->local != NULL)
    json_object_unref (k->local);
  g_free (k);
}

typedef struct {
  guint32 seed;
  guint n_ops;
  guint op;
  GRand *rand;
  MtsTestServer *srv;
  MtsTestProxy *proxy;
  gboolean server_up;
  char *practice;
  char *ca_file;
  Device dev[N_DEV];

  GPtrArray *edits;       /* Value: every local edit */
  GPtrArray *pushed;      /* Value: every value pushed */
  GPtrArray *clients;     /* ids of the clients made, in order */
  GPtrArray *notes;       /* ids of the notes made, in order */
  GHashTable *made;       /* id -> table name, every record this test made */
  GHashTable *deleted;    /* ids deleted on some device (a client and its notes) */
  GHashTable *note_client; /* note id -> its client's id */

  /* cuts: [start, end) op ranges with the server down */
  guint cut_start[8], cut_end[8], n_cuts, next_cut;
  gboolean cut_refuse[8];

  /* what happened */
  guint n_kind[16];
  guint syncs, failed_syncs, offline_errors, network_errors, restarts, refused_signed;
  MtsSyncStats total;

  GString *problems;
  guint n_problems;
  GHashTable *sync_failures;   /* "device message" -> count, with the server up */
  guint stuck_syncs;
  gboolean skip[16];
  gboolean trace;              /* MTS_SYNC_MODEL_TRACE=1: every edit and sync logged */
  guint trace_op;              /* MTS_SYNC_MODEL_TRACE_OP: the record made at that op... */
  char *trace_id;              /* ...whose rows are logged */
  char *trace_seen[N_DEV];           /* MTS_SYNC_MODEL_SKIP: kinds of operation left out */
} Model;

enum { K_CLIENT_ADD, K_CLIENT_EDIT, K_NOTE_ADD, K_NOTE_EDIT, K_NOTE_SIGN, K_CLIENT_DELETE,
       K_RESOLVE, K_SYNC, K_N };
static const char *const kind_names[K_N] = {
  "client-add", "client-edit", "note-add", "note-edit", "note-sign", "client-delete",
  "resolve", "sync"
};

static void G_GNUC_PRINTF (2, 3)
problem (Model *m, const char *format, ...)
{
  va_list ap;

  m->n_problems++;
  if (m->n_problems > 40)
    return;
  va_start (ap, format);
  g_string_append (m->problems, "\n  - ");
  g_string_append_vprintf (m->problems, format, ap);
  va_end (ap);
}

static const MtsTableSpec *
table (const char *name)
{
  const MtsTableSpec *t = mts_table_lookup (name);

  g_assert_nonnull (t);
  return t;
}

/* Records the fields of row @id that differ between @before and @after as
 * edits by @d. */
static void
record_edits (Model *m, Device *d, const MtsTableSpec *t, const char *id, const Row *before,
              const Row *after)
{
  for (guint i = 0; i < t->n_fields; i++)
    {
      const char *was = before != NULL && !before->deleted ? before->values[i] : NULL;
      const char *now = after != NULL && !after->deleted ? after->values[i] : NULL;
      Value *v;

      if (strcmp (t->fields[i].name, "updated_at") == 0 || g_strcmp0 (was, now) == 0)
        continue;
      v = g_new0 (Value, 1);
      v->op = m->op;
      v->dev = d->name;
      v->table = t;
      v->id = g_strdup (id);
      v->field = g_strdup (t->fields[i].name);
      v->prior = g_strdup (was);
      v->value = g_strdup (now);
      g_ptr_array_add (m->edits, v);
      if (m->trace)
        {
          g_autofree char *p = g_strescape (was ? was : "NULL", NULL);
          g_autofree char *n = g_strescape (now ? now : "NULL", NULL);

          g_test_message ("trace op %u %c edit %s %s %s: \"%s\" -> \"%s\"", m->op, d->name,
                          t->name, id, t->fields[i].name, p, n);
        }
    }
}

/* ---- devices ---- */

static void
device_open (Model *m, Device *d)
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
device_close (Device *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
}

/* Closes and reopens @d's store and session; nothing may change. */
static void
device_restart (Model *m, Device *d)
{
  g_autofree char *outbox = query_text (d->store, "SELECT count(*) || ':' || "
                                        "coalesce(max(seq), 0) FROM sync_outbox");
  g_autofree char *cursor = query_text (d->store, "SELECT value FROM sync_state "
                                        "WHERE key = 'pull_cursor'");
  g_autofree char *outbox_after = NULL;
  g_autofree char *cursor_after = NULL;

  device_close (d);
  device_open (m, d);
  m->restarts++;
  outbox_after = query_text (d->store, "SELECT count(*) || ':' || coalesce(max(seq), 0) "
                             "FROM sync_outbox");
  cursor_after = query_text (d->store, "SELECT value FROM sync_state WHERE key = 'pull_cursor'");
  if (g_strcmp0 (outbox, outbox_after) != 0 || g_strcmp0 (cursor, cursor_after) != 0)
    problem (m, "op %u: device %c's outbox or cursor changed across a restart (%s/%s -> %s/%s)",
             m->op, d->name, outbox, cursor, outbox_after, cursor_after);
  if (!mts_sync_session_is_logged_in (d->session))
    problem (m, "op %u: device %c is not logged in after a restart", m->op, d->name);
}

static void
device_set_up (Model *m, Device *d, char name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClinician) me = mts_clinician_new ();
  g_autofree char *url = mts_test_proxy_url (m->proxy);
  g_autofree char *dirname = g_strdup_printf ("model-device-%c", name);
  g_autofree char *device_name = g_strdup_printf ("model device %c", name);
  char code[MTS_TOTP_CODE_BUF];

  d->name = name;
  d->dir = g_build_filename (mts_test_fixture_dir (), dirname, NULL);
  d->store = mts_store_create (d->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  d->user = mts_test_user_new (m->srv, m->practice, &error);
  g_assert_no_error (error);
  me->display_name = g_strdup_printf ("Clinician %c", name);
  g_assert_true (mts_store_clinician_add (d->store, me, &error));
  g_assert_no_error (error);
  d->clinician_id = g_strdup (me->id);
  mts_store_set_actor (d->store, d->clinician_id);
  g_hash_table_insert (m->made, g_strdup (me->id), (gpointer) "clinicians");

  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (d->session, url, m->ca_file, &error));
  g_assert_no_error (error);
  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (d->session, d->user->practice, d->user->username,
                                         d->user->password, code, device_name, NULL, &error));
  g_assert_no_error (error);
}

/* ---- the server ---- */

static void
server_cut (Model *m, gboolean refuse)
{
  int status;

  if (refuse)
    mts_test_proxy_set_mode (m->proxy, MTS_TEST_PROXY_OFFLINE, 0);
  status = mts_test_server_stop (m->srv);
  if (status != 0)
    problem (m, "op %u: the server stopped with status %d", m->op, status);
  m->server_up = FALSE;
  g_test_message ("op %u: network cut (server stopped%s)", m->op, refuse ? ", port refusing" : "");
}

static void
server_back (Model *m)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mts_test_server_start (m->srv, &error));
  g_assert_no_error (error);
  mts_test_proxy_set_backend (m->proxy, mts_test_server_port (m->srv));
  mts_test_proxy_set_mode (m->proxy, MTS_TEST_PROXY_PASS, 0);
  m->server_up = TRUE;
  g_test_message ("op %u: network back", m->op);
}

/* ---- choosing ---- */

static guint
pick (Model *m, guint n)
{
  return (guint) g_rand_int_range (m->rand, 0, (gint32) n);
}

/* A random record of @ids (in the order they were made) that is live on
 * @d, or NULL. */
static const char *
pick_live (Model *m, Device *d, GPtrArray *ids, const char *table_name,
           const char *extra_where)
{
  g_autoptr(GPtrArray) live = g_ptr_array_new ();
  g_autofree char *sql = g_strdup_printf ("SELECT 1 FROM %s WHERE id = ?1 AND deleted = 0 %s",
                                          table_name, extra_where != NULL ? extra_where : "");
  sqlite3_stmt *st = prepare (d->store, sql);

  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, ids->pdata[i], -1, SQLITE_STATIC);
      if (sqlite3_step (st) == SQLITE_ROW)
        g_ptr_array_add (live, ids->pdata[i]);
    }
  sqlite3_finalize (st);
  return live->len > 0 ? live->pdata[pick (m, live->len)] : NULL;
}

/* ---- operations ---- */

static void
op_client_add (Model *m, Device *d)
{
  static const char *const statuses[] = { "active", "waiting", "closed" };
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = mts_client_new ();
  g_autoptr(Row) after = NULL;

  c->display_name = g_strdup_printf ("n-%u", m->op);
  c->phone = g_strdup_printf ("p-%u", m->op);
  c->address = g_strdup_printf ("a-%u", m->op);
  c->status = g_strdup (statuses[pick (m, 3)]);
  c->clinician_id = g_strdup (d->clinician_id);
  g_assert_true (mts_store_client_add (d->store, c, &error));
  g_assert_no_error (error);
  g_ptr_array_add (m->clients, g_strdup (c->id));
  if (m->trace_op == m->op)
    m->trace_id = g_strdup (c->id);
  g_hash_table_insert (m->made, g_strdup (c->id), (gpointer) "clients");
  after = read_row (d->store, table ("clients"), c->id);
  record_edits (m, d, table ("clients"), c->id, NULL, after);
}

static void
op_client_edit (Model *m, Device *d)
{
  static const char *const statuses[] = { "active", "waiting", "closed" };
  const MtsTableSpec *t = table ("clients");
  const char *id = pick_live (m, d, m->clients, "clients", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = NULL;
  g_autoptr(Row) before = NULL;
  g_autoptr(Row) after = NULL;
  guint which = pick (m, 3);

  if (id == NULL)
    return;
  before = read_row (d->store, t, id);
  c = mts_store_client_get (d->store, id, &error);
  g_assert_no_error (error);
  if (which == 0)
    {
      g_free (c->phone);
      c->phone = g_strdup_printf ("p-%u", m->op);
    }
  else if (which == 1)
    {
      g_free (c->address);
      c->address = g_strdup_printf ("a-%u", m->op);
    }
  else
    {
      const char *now = c->status;
      const char *next;

      do
        next = statuses[pick (m, 3)];
      while (g_strcmp0 (next, now) == 0);
      g_free (c->status);
      c->status = g_strdup (next);
    }
  g_assert_true (mts_store_client_update (d->store, c, &error));
  g_assert_no_error (error);
  after = read_row (d->store, t, id);
  record_edits (m, d, t, id, before, after);
}

static void
op_note_add (Model *m, Device *d)
{
  const char *client = pick_live (m, d, m->clients, "clients", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) n = mts_note_new ();
  g_autoptr(Row) after = NULL;

  if (client == NULL)
    return;
  n->client_id = g_strdup (client);
  n->clinician_id = g_strdup (d->clinician_id);
  n->template_kind = g_strdup ("SOAP");
  n->body = g_strdup_printf ("N%u-1\nN%u-2\nN%u-3\nN%u-4", m->op, m->op, m->op, m->op);
  g_assert_true (mts_store_note_add (d->store, n, &error));
  g_assert_no_error (error);
  g_ptr_array_add (m->notes, g_strdup (n->id));
  if (m->trace_op == m->op)
    m->trace_id = g_strdup (n->id);
  g_hash_table_insert (m->made, g_strdup (n->id), (gpointer) "notes");
  g_hash_table_insert (m->note_client, g_strdup (n->id), g_strdup (client));
  after = read_row (d->store, table ("notes"), n->id);
  record_edits (m, d, table ("notes"), n->id, NULL, after);
}

static void
op_note_edit (Model *m, Device *d)
{
  const MtsTableSpec *t = table ("notes");
  const char *id = pick_live (m, d, m->notes, "notes", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) n = NULL;
  g_autoptr(Row) before = NULL;
  g_autoptr(Row) after = NULL;
  g_auto(GStrv) lines = NULL;
  guint variant = pick (m, 10);
  gboolean signed_before;

  if (id == NULL)
    return;
  before = read_row (d->store, t, id);
  n = mts_store_note_get (d->store, id, &error);
  g_assert_no_error (error);
  signed_before = g_strcmp0 (n->status, "signed") == 0;
  lines = g_strsplit (n->body != NULL ? n->body : "", "\n", -1);
  g_free (n->body);
  if (variant < 6 && g_strv_length (lines) > 0)
    {
      /* Replace one line with a token. */
      guint i = pick (m, g_strv_length (lines));

      g_free (lines[i]);
      lines[i] = g_strdup_printf ("L%u", m->op);
      n->body = g_strjoinv ("\n", lines);
    }
  else if (variant < 9)
    {
      /* Append a line. */
      g_autofree char *joined = g_strjoinv ("\n", lines);

      n->body = g_strdup_printf ("%s%sL%u", joined, *joined != '\0' ? "\n" : "", m->op);
    }
  else
    n->body = g_strdup_printf ("W%u-1\nW%u-2\nW%u-3", m->op, m->op, m->op);

  if (signed_before)
    {
      g_assert_false (mts_store_note_update (d->store, n, &error));
      g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED);
      m->refused_signed++;
      after = read_row (d->store, t, id);
      if (g_strcmp0 (row_value (t, before, "body"), row_value (t, after, "body")) != 0)
        problem (m, "op %u: device %c: a refused edit of signed note %s changed it", m->op,
                 d->name, id);
      return;
    }
  g_assert_true (mts_store_note_update (d->store, n, &error));
  g_assert_no_error (error);
  after = read_row (d->store, t, id);
  record_edits (m, d, t, id, before, after);
}

static void
op_note_sign (Model *m, Device *d)
{
  const MtsTableSpec *t = table ("notes");
  const char *id = pick_live (m, d, m->notes, "notes", "AND status = 'draft'");
  g_autoptr(GError) error = NULL;
  g_autoptr(Row) before = NULL;
  g_autoptr(Row) after = NULL;

  if (id == NULL)
    return;
  before = read_row (d->store, t, id);
  g_assert_true (mts_store_note_sign (d->store, id, &error));
  g_assert_no_error (error);
  after = read_row (d->store, t, id);
  record_edits (m, d, t, id, before, after);
}

/* Records that @d deleted row @id: it knowingly removed what the row held
 * (its own edits not yet pushed included). */
static void
record_deletion (Model *m, Device *d, const MtsTableSpec *t, const char *id)
{
  g_autoptr(Row) before = read_row (d->store, t, id);
  guint from = m->edits->len;

  g_hash_table_add (m->deleted, g_strdup (id));
  record_edits (m, d, t, id, before, NULL);
  for (guint i = from; i < m->edits->len; i++)
    ((Value *) m->edits->pdata[i])->deletion = TRUE;
}

static void
op_client_delete (Model *m, Device *d)
{
  const char *id = pick_live (m, d, m->clients, "clients", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;

  if (id == NULL)
    return;
  if (m->trace)
    g_test_message ("trace op %u %c delete client %s", m->op, d->name, id);
  record_deletion (m, d, table ("clients"), id);
  st = prepare (d->store, "SELECT id FROM notes WHERE client_id = ?1");
  sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (notes, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  for (guint i = 0; i < notes->len; i++)
    record_deletion (m, d, table ("notes"), notes->pdata[i]);
  g_assert_true (mts_store_client_delete (d->store, id, &error));
  g_assert_no_error (error);
}

static void
op_resolve (Model *m, Device *d)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) open = mts_sync_conflicts_list (d->store, &error);
  MtsSyncConflict *c;
  const MtsTableSpec *t;
  g_autoptr(Row) before = NULL;
  g_autoptr(Row) after = NULL;
  MtsResolution how;

  g_assert_no_error (error);
  if (open->len == 0)
    return;
  c = open->pdata[pick (m, open->len)];
  t = mts_table_lookup (c->table_name);
  how = strcmp (c->kind, "rejected") == 0 || pick (m, 2) == 0 ? MTS_RESOLVE_THEIRS
                                                              : MTS_RESOLVE_MINE;
  before = t != NULL ? read_row (d->store, t, c->row_id) : NULL;
  if (m->trace)
    g_test_message ("trace op %u %c resolve %s %s %s as %s", m->op, d->name, c->kind,
                    c->table_name, c->row_id, how == MTS_RESOLVE_MINE ? "mine" : "theirs");
  if (!mts_sync_conflict_resolve (d->store, c->id, how, NULL, &error))
    {
      /* Mine cannot be written back to a record deleted since, nor to a
       * note signed since (it is amended instead); the conflict stays. */
      if (how == MTS_RESOLVE_MINE &&
          (before == NULL || before->deleted ||
           g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED)))
        {
          g_test_message ("op %u: device %c: resolving %s as mine: %s", m->op, d->name, c->id,
                          error->message);
          return;
        }
      problem (m, "op %u: device %c: resolving conflict %s (%s %s, %s) as %s failed: %s", m->op,
               d->name, c->id, c->table_name, c->row_id, c->kind,
               how == MTS_RESOLVE_MINE ? "mine" : "theirs", error->message);
      return;
    }
  if (t != NULL)
    {
      after = read_row (d->store, t, c->row_id);
      record_edits (m, d, t, c->row_id, before, after);
    }
}

/* Records the values each outbox entry of @d will push (as the engine
 * reads them: from the row, at push time). */
static void
record_pushed (Model *m, Device *d)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *st = prepare (d->store, "SELECT table_name, row_id, op, changed_columns "
                                        "FROM sync_outbox ORDER BY seq");

  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const MtsTableSpec *t = mts_table_lookup ((const char *) sqlite3_column_text (st, 0));
      const char *id = (const char *) sqlite3_column_text (st, 1);
      const char *op = (const char *) sqlite3_column_text (st, 2);
      const char *changed = (const char *) sqlite3_column_text (st, 3);
      g_autoptr(Row) row = NULL;
      g_auto(GStrv) cols = NULL;

      if (t == NULL || strcmp (t->name, "documents") == 0)
        continue;
      row = read_row (d->store, t, id);
      if (g_strcmp0 (op, "delete") == 0 || row == NULL || row->deleted)
        cols = g_strsplit (DELETED_MARK, ",", -1);
      else
        cols = g_strsplit (changed != NULL ? changed : "", ",", -1);
      for (guint i = 0; cols[i] != NULL; i++)
        {
          g_autofree char *key = g_strdup_printf ("%s:%s:%s", t->name, id, cols[i]);
          Value *v;

          if (*cols[i] == '\0' || strcmp (cols[i], "updated_at") == 0 ||
              g_hash_table_contains (seen, key))
            continue;
          if (strcmp (cols[i], DELETED_MARK) != 0 && field_index (t, cols[i]) < 0)
            continue;
          g_hash_table_add (seen, g_steal_pointer (&key));
          v = g_new0 (Value, 1);
          v->op = m->op;
          v->dev = d->name;
          v->table = t;
          v->id = g_strdup (id);
          v->field = g_strdup (cols[i]);
          v->value = strcmp (cols[i], DELETED_MARK) == 0 ? NULL
                   : g_strdup (row_value (t, row, cols[i]));
          g_ptr_array_add (m->pushed, v);
        }
    }
  sqlite3_finalize (st);
}

static void
add_stats (MtsSyncStats *total, const MtsSyncStats *one)
{
  total->pushed += one->pushed;
  total->applied += one->applied;
  total->merged += one->merged;
  total->conflicts += one->conflicts;
  total->rejected += one->rejected;
  total->duplicates += one->duplicates;
  total->pulled += one->pulled;
  total->deleted += one->deleted;
  total->skipped += one->skipped;
}

/* One sync of @d.  While the server is down it must fail with OFFLINE or
 * NETWORK; while it is up it must succeed. */
static gboolean
op_sync (Model *m, Device *d, MtsSyncStats *stats)
{
  g_autoptr(GError) error = NULL;
  MtsSyncStats one = { 0 };
  gboolean ok;

  record_pushed (m, d);
  ok = mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, &one, &error);
  m->syncs++;
  if (m->trace)
    g_test_message ("trace op %u %c sync %s: pushed %" G_GINT64_FORMAT " applied %" G_GINT64_FORMAT
                    " merged %" G_GINT64_FORMAT " conflicts %" G_GINT64_FORMAT " rejected %"
                    G_GINT64_FORMAT " duplicates %" G_GINT64_FORMAT " pulled %" G_GINT64_FORMAT
                    " deleted %" G_GINT64_FORMAT " skipped %" G_GINT64_FORMAT, m->op, d->name,
                    ok ? "ok" : error->message, one.pushed, one.applied, one.merged,
                    one.conflicts, one.rejected, one.duplicates, one.pulled, one.deleted,
                    one.skipped);
  add_stats (&m->total, &one);
  if (stats != NULL)
    *stats = one;
  if (ok)
    {
      if (!m->server_up)
        problem (m, "op %u: device %c synced while the server was down", m->op, d->name);
      return TRUE;
    }
  m->failed_syncs++;
  if (g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE))
    m->offline_errors++;
  else if (g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK))
    m->network_errors++;
  if (m->server_up)
    {
      /* A device that is stuck fails the same way every time: say so once. */
      g_autofree char *key = g_strdup_printf ("%c %s", d->name, error->message);
      guint seen = GPOINTER_TO_UINT (g_hash_table_lookup (m->sync_failures, key));

      if (seen == 0)
        problem (m, "op %u: device %c: a sync with the server up failed: %s (%s %d)%s", m->op,
                 d->name, error->message, g_quark_to_string (error->domain), error->code,
                 " [and every later sync of this device that fails the same way]");
      g_hash_table_insert (m->sync_failures, g_steal_pointer (&key), GUINT_TO_POINTER (seen + 1));
      m->stuck_syncs++;
    }
  else if (!g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE) &&
           !g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK))
    problem (m, "op %u: device %c: a sync with the server down failed with %s %d, not OFFLINE "
             "or NETWORK: %s", m->op, d->name, g_quark_to_string (error->domain), error->code,
             error->message);
  return FALSE;
}

static void
step (Model *m)
{
  Device *d = &m->dev[pick (m, N_DEV)];
  guint r = pick (m, 1000);
  guint live_clients = (guint) query_int (d->store, "SELECT count(*) FROM clients "
                                                    "WHERE deleted = 0");
  guint kind;

  /* The cuts, at the ops drawn at the start. */
  if (m->next_cut < m->n_cuts)
    {
      if (m->server_up && m->op == m->cut_start[m->next_cut])
        server_cut (m, m->cut_refuse[m->next_cut]);
      else if (!m->server_up && m->op == m->cut_end[m->next_cut])
        {
          server_back (m);
          m->next_cut++;
        }
    }

  if (r < 10)
    {
      if (m->trace)
        g_test_message ("trace op %u %c restart", m->op, d->name);
      device_restart (m, d);
      return;
    }
  if (r < 60 || live_clients == 0)
    kind = live_clients < MAX_CLIENTS ? K_CLIENT_ADD : K_CLIENT_EDIT;
  else if (r < 330)
    kind = K_CLIENT_EDIT;
  else if (r < 440)
    kind = K_NOTE_ADD;
  else if (r < 780)
    kind = K_NOTE_EDIT;
  else if (r < 810)
    kind = K_NOTE_SIGN;
  else if (r < 818)
    kind = K_CLIENT_DELETE;
  else if (r < 840)
    kind = K_RESOLVE;
  else
    kind = K_SYNC;

  if (m->skip[kind])
    return;
  m->n_kind[kind]++;
  switch (kind)
    {
    case K_CLIENT_ADD: op_client_add (m, d); break;
    case K_CLIENT_EDIT: op_client_edit (m, d); break;
    case K_NOTE_ADD: op_note_add (m, d); break;
    case K_NOTE_EDIT: op_note_edit (m, d); break;
    case K_NOTE_SIGN: op_note_sign (m, d); break;
    case K_CLIENT_DELETE: op_client_delete (m, d); break;
    case K_RESOLVE: op_resolve (m, d); break;
    default: op_sync (m, d, NULL); break;
    }
}

/* With MTS_SYNC_MODEL_TRACE_OP, logs each device's row of that record
 * whenever it changed. */
static void
trace_rows (Model *m)
{
  if (m->trace_id == NULL)
    return;
  for (guint i = 0; i < N_DEV; i++)
    {
      const char *names[] = { "clients", "notes", "clinicians" };

      for (guint k = 0; k < G_N_ELEMENTS (names); k++)
        {
          const MtsTableSpec *t = table (names[k]);
          g_autoptr(Row) r = read_row (m->dev[i].store, t, m->trace_id);
          GString *s;
          char *text;

          if (r == NULL && k + 1 < G_N_ELEMENTS (names))
            continue;
          s = g_string_new (NULL);
          if (r == NULL)
            g_string_append (s, "no row");
          else
            {
              g_string_append_printf (s, "v%" G_GINT64_FORMAT "%s", r->version,
                                      r->deleted ? " deleted" : "");
              for (guint f = 0; f < t->n_fields; f++)
                {
                  g_autofree char *v = g_strescape (r->values[f] ? r->values[f] : "NULL", NULL);
                  g_string_append_printf (s, " %s=%s", t->fields[f].name, v);
                }
            }
          text = g_string_free (s, FALSE);
          if (g_strcmp0 (text, m->trace_seen[i]) != 0)
            {
              g_test_message ("trace op %u %c row: %s", m->op, m->dev[i].name, text);
              g_free (m->trace_seen[i]);
              m->trace_seen[i] = text;
            }
          else
            g_free (text);
          break;
        }
    }
}

/* ===================================================================== */
/* The end                                                                */

/* Syncs A, B, C, A, ... until a whole round pushes and pulls nothing. */
static void
quiesce (Model *m)
{
  for (guint round = 0; round < MAX_ROUNDS; round++)
    {
      gint64 moved = 0;

      for (guint i = 0; i < N_DEV; i++)
        {
          MtsSyncStats one = { 0 };

          if (!op_sync (m, &m->dev[i], &one))
            moved++;
          moved += one.pushed + one.pulled + one.deleted;
        }
      if (moved == 0)
        {
          g_test_message ("quiet after %u final rounds", round + 1);
          return;
        }
    }
  problem (m, "the devices did not settle in %u rounds of syncs (seed %u)", MAX_ROUNDS, m->seed);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every row of @t: "id v<version> field=value|..." lines, sorted. */
static GPtrArray *
describe_table (GHashTable *rows, const MtsTableSpec *t)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, rows);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Row *r = value;
      GString *s = g_string_new (NULL);

      g_string_append_printf (s, "%s %s v%" G_GINT64_FORMAT, t->name, (char *) key, r->version);
      for (guint i = 0; i < t->n_fields; i++)
        {
          g_autofree char *shown = r->values[i] != NULL ? g_strescape (r->values[i], NULL)
                                                        : g_strdup ("NULL");
          g_string_append_printf (s, " %s=%s", t->fields[i].name, shown);
        }
      g_ptr_array_add (out, g_string_free (s, FALSE));
    }
  g_ptr_array_sort (out, compare_strings);
  return out;
}

/* (a): @a and @b hold the same live rows, field by field. */
static void
compare_stores (Model *m, const char *name_a, MtsStore *a, const char *name_b, MtsStore *b)
{
  guint n_tables;
  const MtsTableSpec *tables = mts_tables (&n_tables);
  guint shown = 0;

  for (guint k = 0; k < n_tables; k++)
    {
      const MtsTableSpec *t = &tables[k];
      g_autoptr(GHashTable) ra = NULL;
      g_autoptr(GHashTable) rb = NULL;
      g_autoptr(GPtrArray) da = NULL;
      g_autoptr(GPtrArray) db = NULL;
      guint i = 0, j = 0;

      if (strcmp (t->name, "documents") == 0)
        continue;
      ra = read_live (a, t);
      rb = read_live (b, t);
      da = describe_table (ra, t);
      db = describe_table (rb, t);
      while (i < da->len || j < db->len)
        {
          int c = i >= da->len ? 1 : j >= db->len ? -1 : strcmp (da->pdata[i], db->pdata[j]);

          if (c == 0)
            {
              i++;
              j++;
              continue;
            }
          if (shown++ < 8)
            problem (m, "devices %s and %s differ: %s has {%s}", name_a, name_b,
                     c < 0 ? name_a : name_b, (char *) (c < 0 ? da->pdata[i] : db->pdata[j]));
          if (c < 0)
            i++;
          else
            j++;
        }
    }
}

typedef struct {
  GHashTable *live[16];        /* per table index: id -> Row, device A's final state */
  GPtrArray *kept;             /* Kept: every conflict of every device */
  GHashTable *edit_index;      /* "table:id:field" -> GPtrArray of Value (edits) */
} Final;

static GHashTable *
final_rows (Final *f, const MtsTableSpec *t)
{
  guint n;
  const MtsTableSpec *tables = mts_tables (&n);

  for (guint k = 0; k < n && k < G_N_ELEMENTS (f->live); k++)
    if (&tables[k] == t)
      return f->live[k];
  g_assert_not_reached ();
}

static void
read_kept (Model *m, Device *d, GPtrArray *kept)
{
  sqlite3_stmt *st = prepare (d->store,
    "SELECT table_name, row_id, kind, mts_decrypt(local, 'sync_conflicts.local:' || id) "
    "FROM sync_conflicts");

  while (sqlite3_step (st) == SQLITE_ROW)
    {
      Kept *k = g_new0 (Kept, 1);
      const char *text = (const char *) sqlite3_column_text (st, 3);
      g_autoptr(JsonParser) parser = json_parser_new ();

      k->table = g_strdup ((const char *) sqlite3_column_text (st, 0));
      k->id = g_strdup ((const char *) sqlite3_column_text (st, 1));
      k->kind = g_strdup ((const char *) sqlite3_column_text (st, 2));
      if (text != NULL && json_parser_load_from_data (parser, text, -1, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        k->local = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
      else
        problem (m, "device %c: conflict of %s %s has no readable local version", d->name,
                 k->table, k->id);
      g_ptr_array_add (kept, k);
    }
  sqlite3_finalize (st);
}

/* Whether a kept conflict of record (@t, @id) holds @value as this
 * device's @field (a deleting one: an empty local version). */
static gboolean
in_kept (Final *f, const MtsTableSpec *t, const char *id, const char *field, const char *value,
         const char *token)
{
  for (guint i = 0; i < f->kept->len; i++)
    {
      Kept *k = f->kept->pdata[i];
      g_autofree char *mine = NULL;

      if (strcmp (k->table, t->name) != 0 || strcmp (k->id, id) != 0 || k->local == NULL)
        continue;
      if (strcmp (field, DELETED_MARK) == 0)
        {
          if (json_object_get_size (k->local) == 0)
            return TRUE;
          continue;
        }
      if (!json_object_has_member (k->local, field))
        continue;
      mine = json_text (k->local, field);
      if (token != NULL ? has_line (mine, token) : g_strcmp0 (mine, value) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether an edit was made on top of @value (or, for @token, removed it
 * from a body that held it). */
static gboolean
superseded (Final *f, const MtsTableSpec *t, const char *id, const char *field,
            const char *value, const char *token)
{
  g_autofree char *key = g_strdup_printf ("%s:%s:%s", t->name, id, field);
  GPtrArray *edits = g_hash_table_lookup (f->edit_index, key);

  for (guint i = 0; edits != NULL && i < edits->len; i++)
    {
      Value *e = edits->pdata[i];

      if (token != NULL)
        {
          if (has_line (e->prior, token) && !has_line (e->value, token))
            return TRUE;
        }
      else if (e->prior != NULL && g_strcmp0 (e->prior, value) == 0 &&
               g_strcmp0 (e->value, value) != 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether @id was deleted: by a delete on some device, or — a note — with
 * its client, which deletes everything of the client on every device and
 * on the server, notes another device made meanwhile included (their
 * device keeps its version as a rejected change). */
static gboolean
was_deleted (Model *m, const char *id)
{
  const char *client = g_hash_table_lookup (m->note_client, id);

  return g_hash_table_contains (m->deleted, id) ||
         (client != NULL && g_hash_table_contains (m->deleted, client));
}

/* (b) for one value: @what names it in a problem. */
static void
account (Model *m, Final *f, Value *v, const char *what)
{
  GHashTable *rows = final_rows (f, v->table);
  Row *row = g_hash_table_lookup (rows, v->id);
  gboolean gone_ok = row == NULL && was_deleted (m, v->id);
  const char *now;

  if (row == NULL && !gone_ok)
    {
      problem (m, "%s %u on device %c: %s %s is gone but was never deleted (seed %u)", what,
               v->op, v->dev, v->table->name, v->id, m->seed);
      return;
    }
  if (strcmp (v->field, DELETED_MARK) == 0)
    {
      if (row == NULL || in_kept (f, v->table, v->id, DELETED_MARK, NULL, NULL))
        return;
      problem (m, "%s %u on device %c: the delete of %s %s is neither applied nor kept as a "
               "conflict (seed %u)", what, v->op, v->dev, v->table->name, v->id, m->seed);
      return;
    }
  if (gone_ok)
    return;
  now = row_value (v->table, row, v->field);

  if (strcmp (v->table->name, "notes") == 0 && strcmp (v->field, "body") == 0)
    {
      g_autoptr(GHashTable) tokens = line_set (v->value);
      g_autoptr(GHashTable) prior = line_set (v->prior);
      GHashTableIter iter;
      gpointer token;

      g_hash_table_iter_init (&iter, tokens);
      while (g_hash_table_iter_next (&iter, &token, NULL))
        {
          /* An edit answers for the lines it wrote; a push for all it sent. */
          if (v->prior != NULL && g_hash_table_contains (prior, token))
            continue;
          if (has_line (now, token) ||
              in_kept (f, v->table, v->id, "body", NULL, token) ||
              superseded (f, v->table, v->id, "body", NULL, token))
            continue;
          problem (m, "%s %u on device %c: line \"%s\" of note %s is lost: not in the final "
                   "body, not in a kept conflict, removed by no edit that saw it (seed %u)",
                   what, v->op, v->dev, (char *) token, v->id, m->seed);
        }
      return;
    }
  if (g_strcmp0 (now, v->value) == 0 ||
      in_kept (f, v->table, v->id, v->field, v->value, NULL) ||
      superseded (f, v->table, v->id, v->field, v->value, NULL))
    return;
  problem (m, "%s %u on device %c: %s %s %s = \"%s\" is lost: the final value is \"%s\", no "
           "kept conflict holds it, no edit was made on top of it (seed %u)", what, v->op,
           v->dev, v->table->name, v->id, v->field, v->value ? v->value : "NULL",
           now ? now : "NULL", m->seed);
}

/* The server's live records per table, from its database. */
static GHashTable *
server_counts (Model *m)
{
  g_autofree char *path = g_build_filename (mts_test_fixture_dir (), "model", "mts-server.db",
                                            NULL);
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  const char *practice_id = mts_sync_session_get_practice_id (m->dev[0].session);

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (db, "SELECT table_name, count(*) FROM records WHERE practice_id = ?1 "
                              "AND deleted = 0 GROUP BY table_name", -1, &st, NULL) != SQLITE_OK)
    {
      problem (m, "cannot read the server's database %s: %s", path, sqlite3_errmsg (db));
      sqlite3_close (db);
      return counts;
    }
  sqlite3_bind_text (st, 1, practice_id, -1, SQLITE_STATIC);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_hash_table_insert (counts, g_strdup ((const char *) sqlite3_column_text (st, 0)),
                         GINT_TO_POINTER (sqlite3_column_int (st, 1)));
  sqlite3_finalize (st);
  sqlite3_close (db);
  return counts;
}

static void
check_device_health (Model *m, Device *d)
{
  g_autofree char *verify = query_text (d->store, "SELECT mts_audit_verify()");
  gint64 pending = query_int (d->store, "SELECT count(*) FROM sync_outbox");
  sqlite3_stmt *st = prepare (d->store, "PRAGMA foreign_key_check");
  guint shown = 0;

  if (g_strcmp0 (verify, "ok") != 0)
    problem (m, "device %c: mts_audit_verify() = %s", d->name, verify ? verify : "NULL");
  if (pending != 0)
    problem (m, "device %c: %" G_GINT64_FORMAT " outbox entries left after settling", d->name,
             pending);
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      if (shown++ < 4)
        {
          g_autofree char *sql = g_strdup_printf ("SELECT id FROM \"%s\" WHERE rowid = %lld",
                                                  sqlite3_column_text (st, 0),
                                                  (long long) sqlite3_column_int64 (st, 1));
          g_autofree char *id = query_text (d->store, sql);

          problem (m, "device %c: foreign key broken: %s %s refers to a %s that is not there "
                   "(seed %u)", d->name, sqlite3_column_text (st, 0), id,
                   sqlite3_column_text (st, 2), m->seed);
        }
    }
  if (shown > 4)
    problem (m, "device %c: %u broken foreign keys in all", d->name, shown);
  sqlite3_finalize (st);
}

static void
check_end (Model *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = NULL;
  Device fresh = { 0 };
  Final f = { 0 };
  guint n_tables;
  const MtsTableSpec *tables = mts_tables (&n_tables);
  char code[MTS_TOTP_CODE_BUF];
  g_autofree char *url = mts_test_proxy_url (m->proxy);
  MtsSyncStats first = { 0 };

  /* (a) the three devices... */
  compare_stores (m, "A", m->dev[0].store, "B", m->dev[1].store);
  compare_stores (m, "A", m->dev[0].store, "C", m->dev[2].store);

  /* ...and a fresh device's first sync: the server's state. */
  fresh.name = 'D';
  fresh.dir = g_build_filename (mts_test_fixture_dir (), "model-device-fresh", NULL);
  fresh.store = mts_store_create (fresh.dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  fresh.user = mts_test_user_new (m->srv, m->practice, &error);
  g_assert_no_error (error);
  fresh.session = mts_sync_session_new (fresh.store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (fresh.session, url, m->ca_file, &error));
  g_assert_no_error (error);
  mts_test_user_code (fresh.user, code);
  g_assert_true (mts_sync_session_login (fresh.session, fresh.user->practice,
                                         fresh.user->username, fresh.user->password, code,
                                         "fresh", NULL, &error));
  g_assert_no_error (error);
  if (!mts_sync_once (fresh.store, fresh.session, NULL, NULL, NULL, NULL, &first, &error))
    problem (m, "a fresh device's first sync failed: %s", error->message);
  g_clear_error (&error);
  compare_stores (m, "A", m->dev[0].store, "fresh", fresh.store);

  /* (c) counts against the server's database, and ids made here. */
  counts = server_counts (m);
  for (guint k = 0; k < n_tables; k++)
    {
      const MtsTableSpec *t = &tables[k];
      g_autoptr(GHashTable) rows = read_live (m->dev[0].store, t);
      guint on_server = GPOINTER_TO_UINT (g_hash_table_lookup (counts, t->name));
      GHashTableIter iter;
      gpointer id;

      if (strcmp (t->name, "documents") == 0)
        continue;
      if (on_server != g_hash_table_size (rows))
        problem (m, "%s: %u live on the server, %u on the devices (seed %u)", t->name, on_server,
                 g_hash_table_size (rows), m->seed);
      g_hash_table_iter_init (&iter, rows);
      while (g_hash_table_iter_next (&iter, &id, NULL))
        if (g_strcmp0 (g_hash_table_lookup (m->made, id), t->name) != 0)
          problem (m, "%s %s is live but this test never made it (seed %u)", t->name,
                   (char *) id, m->seed);
    }
  {
    GHashTableIter iter;
    gpointer id, name;

    g_hash_table_iter_init (&iter, m->made);
    while (g_hash_table_iter_next (&iter, &id, &name))
      {
        g_autoptr(Row) r = read_row (m->dev[0].store, table (name), id);

        if ((r == NULL || r->deleted) && !was_deleted (m, id))
          problem (m, "%s %s was made but is not on the devices, and was never deleted (seed %u)",
                   (char *) name, (char *) id, m->seed);
      }
  }

  /* (b) every value accounted for. */
  for (guint k = 0; k < n_tables && k < G_N_ELEMENTS (f.live); k++)
    f.live[k] = read_live (m->dev[0].store, &tables[k]);
  f.kept = g_ptr_array_new_with_free_func ((GDestroyNotify) kept_free);
  for (guint i = 0; i < N_DEV; i++)
    read_kept (m, &m->dev[i], f.kept);
  f.edit_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < m->edits->len; i++)
    {
      Value *e = m->edits->pdata[i];
      g_autofree char *key = g_strdup_printf ("%s:%s:%s", e->table->name, e->id, e->field);
      GPtrArray *list = g_hash_table_lookup (f.edit_index, key);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (f.edit_index, g_steal_pointer (&key), list);
        }
      g_ptr_array_add (list, e);
    }
  for (guint i = 0; i < m->edits->len; i++)
    if (!((Value *) m->edits->pdata[i])->deletion)
      account (m, &f, m->edits->pdata[i], "edit at op");
  for (guint i = 0; i < m->pushed->len; i++)
    account (m, &f, m->pushed->pdata[i], "push at op");

  /* No line of a body twice (a merge that doubled one). */
  {
    GHashTableIter iter;
    gpointer id, value;

    g_hash_table_iter_init (&iter, final_rows (&f, table ("notes")));
    while (g_hash_table_iter_next (&iter, &id, &value))
      {
        const char *body = row_value (table ("notes"), value, "body");
        g_auto(GStrv) lines = g_strsplit (body != NULL ? body : "", "\n", -1);
        g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

        for (guint i = 0; lines[i] != NULL; i++)
          if (!g_hash_table_add (seen, lines[i]))
            problem (m, "note %s has line \"%s\" twice (seed %u)", (char *) id, lines[i],
                     m->seed);
      }
  }

  /* (d) each device's health. */
  for (guint i = 0; i < N_DEV; i++)
    check_device_health (m, &m->dev[i]);
  check_device_health (m, &fresh);

  g_test_message ("%u edits and %u pushed values checked; %u conflicts kept on the devices",
                  m->edits->len, m->pushed->len, f.kept->len);

  for (guint k = 0; k < G_N_ELEMENTS (f.live); k++)
    g_clear_pointer (&f.live[k], g_hash_table_unref);
  g_ptr_array_unref (f.kept);
  g_hash_table_unref (f.edit_index);
  device_close (&fresh);
  mts_test_user_free (fresh.user);
  g_free (fresh.dir);
}

/* ===================================================================== */
/* A record split across push batches                                     */

/* A regression the model led to: a device that edited a note twice, with
 * more than a batch's worth (500) of outbox entries between the two edits,
 * pushes the note in two batches.  The first op carries the row as it is
 * (both edits) and merges with another device's edit; the answer's merged
 * body is not written (the newer entry keeps the column) but the row takes
 * the merged version, so the second op is based on the current version and
 * overwrites the merge: the other device's line is gone, with no conflict.
 * Every line written on either device must survive. */
static void
test_batch_boundary (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestServer) srv = NULL;
  g_autofree char *practice = NULL;
  g_autofree char *url = NULL;
  g_autofree char *ca_file = NULL;
  Device dev[2] = { { 0 } };
  g_autoptr(MtsClient) client = mts_client_new ();
  g_autoptr(MtsClient) other = mts_client_new ();
  g_autoptr(MtsNote) note = mts_note_new ();
  MtsSyncStats stats = { 0 };

  srv = mts_test_server_new ("boundary", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mts_test_server_start (srv, &error));
  g_assert_no_error (error);
  practice = mts_test_practice_new (srv, "boundary", &error);
  g_assert_no_error (error);
  url = mts_test_server_url (srv);
  ca_file = mts_test_ca_file ("ca.pem");
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(MtsClinician) me = mts_clinician_new ();
      g_autofree char *dirname = g_strdup_printf ("boundary-%c", 'A' + i);
      char code[MTS_TOTP_CODE_BUF];

      dev[i].name = (char) ('A' + i);
      dev[i].dir = g_build_filename (mts_test_fixture_dir (), dirname, NULL);
      dev[i].store = mts_store_create (dev[i].dir, PASS, strlen (PASS), "test", &error);
      g_assert_no_error (error);
      me->display_name = g_strdup (dirname);
      g_assert_true (mts_store_clinician_add (dev[i].store, me, &error));
      g_assert_no_error (error);
      mts_store_set_actor (dev[i].store, me->id);
      dev[i].user = mts_test_user_new (srv, practice, &error);
      g_assert_no_error (error);
      dev[i].session = mts_sync_session_new (dev[i].store, &error);
      g_assert_no_error (error);
      g_assert_true (mts_sync_session_configure (dev[i].session, url, ca_file, &error));
      g_assert_no_error (error);
      mts_test_user_code (dev[i].user, code);
      g_assert_true (mts_sync_session_login (dev[i].session, practice, dev[i].user->username,
                                             dev[i].user->password, code, dirname, NULL, &error));
      g_assert_no_error (error);
    }

  /* A writes a note; both have it. */
  client->display_name = g_strdup ("Boundary Client");
  g_assert_true (mts_store_client_add (dev[0].store, client, &error));
  other->display_name = g_strdup ("Another Client");
  g_assert_true (mts_store_client_add (dev[0].store, other, &error));
  note->client_id = g_strdup (client->id);
  note->body = g_strdup ("l1\nl2\nl3\nl4");
  g_assert_true (mts_store_note_add (dev[0].store, note, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    g_assert_true (mts_sync_once (dev[i].store, dev[i].session, NULL, NULL, NULL, NULL, NULL,
                                  &error));
  g_assert_no_error (error);

  /* A appends a line and syncs. */
  g_free (note->body);
  note->body = g_strdup ("l1\nl2\nl3\nl4\nA1");
  g_assert_true (mts_store_note_update (dev[0].store, note, &error));
  g_assert_true (mts_sync_once (dev[0].store, dev[0].session, NULL, NULL, NULL, NULL, NULL,
                                &error));
  g_assert_no_error (error);

  /* B, offline: changes line 1, then 500 other edits, then line 2. */
  g_free (note->body);
  note->body = g_strdup ("B1\nl2\nl3\nl4");
  g_assert_true (mts_store_note_update (dev[1].store, note, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(MtsClient) c = mts_store_client_get (dev[1].store, other->id, &error);

      g_assert_no_error (error);
      g_free (c->phone);
      c->phone = g_strdup_printf ("0113 496 %04u", i);
      g_assert_true (mts_store_client_update (dev[1].store, c, &error));
      g_assert_no_error (error);
    }
  g_free (note->body);
  note->body = g_strdup ("B1\nB2\nl3\nl4");
  g_assert_true (mts_store_note_update (dev[1].store, note, &error));
  g_assert_no_error (error);

  g_assert_true (mts_sync_once (dev[1].store, dev[1].session, NULL, NULL, NULL, NULL, &stats,
                                &error));
  g_assert_no_error (error);
  g_test_message ("B's sync: pushed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " applied, %"
                  G_GINT64_FORMAT " merged, %" G_GINT64_FORMAT " conflicts", stats.pushed,
                  stats.applied, stats.merged, stats.conflicts);
  g_assert_true (mts_sync_once (dev[0].store, dev[0].session, NULL, NULL, NULL, NULL, NULL,
                                &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(MtsNote) now = mts_store_note_get (dev[i].store, note->id, &error);
      g_autoptr(GPtrArray) kept = mts_sync_conflicts_list (dev[i].store, &error);
      const char *lines[] = { "A1", "B1", "B2" };

      g_autofree char *shown = NULL;

      g_assert_no_error (error);
      shown = g_strescape (now->body, NULL);
      g_test_message ("device %c: the note is \"%s\"; %u conflicts kept", dev[i].name, shown,
                      kept->len);
      for (guint k = 0; k < G_N_ELEMENTS (lines); k++)
        if (!has_line (now->body, lines[k]) && kept->len == 0)
          g_test_fail_printf ("device %c: line %s of the note is lost (the note is \"%s\", no "
                              "conflict is kept): a record whose outbox entries fall in two push "
                              "batches overwrites the other device's merged edit",
                              dev[i].name, lines[k], shown);
    }

  for (guint i = 0; i < 2; i++)
    {
      device_close (&dev[i]);
      mts_test_user_free (dev[i].user);
      g_free (dev[i].dir);
    }
}

/* ===================================================================== */

static guint
env_uint (const char *name, guint fallback)
{
  const char *text = g_getenv (name);
  guint64 n;

  if (text == NULL || *text == '\0')
    return fallback;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &n, NULL))
    g_error ("%s must be a number, not \"%s\"", name, text);
  return (guint) n;
}

static void
test_model (void)
{
  g_autoptr(GError) error = NULL;
  Model m = { 0 };
  gint64 started = g_get_monotonic_time ();
  const char *seed_env = g_getenv ("MTS_SYNC_MODEL_SEED");
  const char *skip_env;

  m.seed = seed_env != NULL && *seed_env != '\0' ? env_uint ("MTS_SYNC_MODEL_SEED", 0)
                                                 : g_random_int ();
  m.n_ops = env_uint ("MTS_SYNC_MODEL_OPS", DEFAULT_OPS);
  m.trace = env_uint ("MTS_SYNC_MODEL_TRACE", 0) != 0;
  m.trace_op = env_uint ("MTS_SYNC_MODEL_TRACE_OP", 0);
  skip_env = g_getenv ("MTS_SYNC_MODEL_SKIP");
  if (skip_env != NULL && *skip_env != '\0')
    {
      g_auto(GStrv) names = g_strsplit (skip_env, ",", -1);

      for (guint i = 0; names[i] != NULL; i++)
        {
          guint k;

          for (k = 0; k < K_N && strcmp (kind_names[k], g_strstrip (names[i])) != 0; k++)
            ;
          if (k == K_N || k == K_SYNC || k == K_CLIENT_ADD)
            g_error ("MTS_SYNC_MODEL_SKIP: \"%s\" is not an operation that can be left out",
                     names[i]);
          m.skip[k] = TRUE;
        }
    }
  g_test_message ("seed %u, %u operations%s%s (replay: MTS_SYNC_MODEL_SEED=%u "
                  "MTS_SYNC_MODEL_OPS=%u%s%s)", m.seed, m.n_ops,
                  skip_env != NULL && *skip_env ? ", leaving out " : "",
                  skip_env != NULL ? skip_env : "", m.seed, m.n_ops,
                  skip_env != NULL && *skip_env ? " MTS_SYNC_MODEL_SKIP=" : "",
                  skip_env != NULL ? skip_env : "");
  m.rand = g_rand_new_with_seed (m.seed);
  m.problems = g_string_new (NULL);
  m.edits = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  m.pushed = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  m.clients = g_ptr_array_new_with_free_func (g_free);
  m.notes = g_ptr_array_new_with_free_func (g_free);
  m.made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  m.deleted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  m.note_client = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m.sync_failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* The cuts: a handful, each some tens to a couple of hundred ops long,
   * in order and apart. */
  m.n_cuts = m.n_ops >= 200 ? MIN (5, 1 + m.n_ops / 400) : 0;
  for (guint i = 0; i < m.n_cuts; i++)
    {
      guint slot = m.n_ops / m.n_cuts;

      m.cut_start[i] = i * slot + (guint) g_rand_int_range (m.rand, 1, (gint32) MAX (2, slot / 2));
      m.cut_end[i] = m.cut_start[i] + (guint) g_rand_int_range (m.rand, 20,
                                                                (gint32) MAX (21, slot / 2));
      m.cut_refuse[i] = g_rand_boolean (m.rand);
    }

  m.srv = mts_test_server_new ("model", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mts_test_server_start (m.srv, &error));
  g_assert_no_error (error);
  m.server_up = TRUE;
  m.proxy = mts_test_proxy_new (mts_test_server_port (m.srv), &error);
  g_assert_no_error (error);
  m.ca_file = mts_test_ca_file ("ca.pem");
  m.practice = mts_test_practice_new (m.srv, "model", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_DEV; i++)
    device_set_up (&m, &m.dev[i], (char) ('A' + i));
  /* Everyone knows every clinician before the first note names one. */
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < N_DEV; i++)
      op_sync (&m, &m.dev[i], NULL);
  g_test_message ("set up in %.1f s", (g_get_monotonic_time () - started) / 1e6);

  for (m.op = 1; m.op <= m.n_ops; m.op++)
    {
      step (&m);
      trace_rows (&m);
    }
  if (!m.server_up)
    server_back (&m);
  g_test_message ("%u operations in %.1f s: %u client-add, %u client-edit, %u note-add, "
                  "%u note-edit (%u refused as signed), %u note-sign, %u client-delete, "
                  "%u resolve, %u syncs (%u failed: %u offline, %u network), %u restarts",
                  m.n_ops, (g_get_monotonic_time () - started) / 1e6,
                  m.n_kind[K_CLIENT_ADD], m.n_kind[K_CLIENT_EDIT], m.n_kind[K_NOTE_ADD],
                  m.n_kind[K_NOTE_EDIT], m.refused_signed, m.n_kind[K_NOTE_SIGN],
                  m.n_kind[K_CLIENT_DELETE], m.n_kind[K_RESOLVE], m.syncs, m.failed_syncs,
                  m.offline_errors, m.network_errors, m.restarts);

  m.op = m.n_ops + 1;
  /* Checked even when the devices did not settle: what differs then says
   * what the failing syncs cost. */
  quiesce (&m);
  check_end (&m);
  g_test_message ("pushed %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " applied, %" G_GINT64_FORMAT
                  " merged, %" G_GINT64_FORMAT " conflicts, %" G_GINT64_FORMAT " rejected, %"
                  G_GINT64_FORMAT " duplicates; pulled %" G_GINT64_FORMAT ", deleted %"
                  G_GINT64_FORMAT ", skipped %" G_GINT64_FORMAT,
                  m.total.pushed, m.total.applied, m.total.merged, m.total.conflicts,
                  m.total.rejected, m.total.duplicates, m.total.pulled, m.total.deleted,
                  m.total.skipped);
  g_test_message ("finished in %.1f s", (g_get_monotonic_time () - started) / 1e6);

  /* A run that never merged, conflicted, lost the network or restarted
   * would show nothing. */
  if (m.n_ops >= 1000)
    {
      if (m.total.merged == 0 || m.total.conflicts == 0)
        problem (&m, "no merge or no conflict happened in %u ops: the model is too tame", m.n_ops);
      if (m.offline_errors + m.network_errors == 0 || m.restarts == 0)
        problem (&m, "no failed sync or no restart happened in %u ops", m.n_ops);
    }

  if (m.n_problems > 0)
    {
      g_auto(GStrv) lines = g_strsplit (m.problems->str, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        if (*lines[i] != '\0')
          g_test_message ("%s", lines[i]);
      if (m.n_problems > 40)
        g_test_message ("  - ... (%u more)", m.n_problems - 40);
      g_test_fail_printf ("seed %u: %u problems, listed above (replay with "
                          "MTS_SYNC_MODEL_SEED=%u MTS_SYNC_MODEL_OPS=%u)", m.seed, m.n_problems,
                          m.seed, m.n_ops);
    }

  for (guint i = 0; i < N_DEV; i++)
    {
      device_close (&m.dev[i]);
      mts_test_user_free (m.dev[i].user);
      g_free (m.dev[i].dir);
      g_free (m.dev[i].clinician_id);
    }
  mts_test_proxy_free (m.proxy);
  mts_test_server_free (m.srv);
  g_rand_free (m.rand);
  g_string_free (m.problems, TRUE);
  g_ptr_array_unref (m.edits);
  g_ptr_array_unref (m.pushed);
  g_ptr_array_unref (m.clients);
  g_ptr_array_unref (m.notes);
  g_hash_table_unref (m.made);
  g_hash_table_unref (m.deleted);
  g_hash_table_unref (m.note_client);
  g_hash_table_unref (m.sync_failures);
  g_free (m.practice);
  g_free (m.ca_file);
  g_free (m.trace_id);
  for (guint i = 0; i < N_DEV; i++)
    g_free (m.trace_seen[i]);
}

static void
drop_log_cb (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Thousands of syncs: the engine's request log would bury the report. */
  g_log_set_handler ("mts-sync", G_LOG_LEVEL_DEBUG, drop_log_cb, NULL);
  g_test_add_func ("/sync-model/random", test_model);
  g_test_add_func ("/sync-model/batch-boundary", test_batch_boundary);
  status = g_test_run ();
  mts_test_fixture_tear_down (status != 0);
  return status;
}
