/* test-sync-engine.c — the sync engine (sync/mts-sync-engine.h) against the
 * real server over loopback TLS: two and three devices editing the same and
 * different records offline, syncing in every order, converging, with every
 * edit accounted for (applied, merged, or held as a conflict with both
 * versions); conflicts resolved and pushed; deletes; a first sync in pages
 * with progress, cancelled and resumed. */
#include <glib.h>
#include <sqlite3.h>
#include <string.h>

#include "mts-store.h"
#include "mts-sync-client.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-private.h"
#include "mts-sync-session.h"
#include "test-server-fixture.h"

#define PASS "local passphrase 1234"

static MtsTestServer *server;

static MtsTestServer *
get_server (void)
{
  g_autoptr(GError) error = NULL;

  if (server == NULL)
    {
      g_assert_true (mts_test_fixture_set_up (&error));
      server = mts_test_server_new ("engine", "server", NULL, &error);
      g_assert_no_error (error);
      g_assert_true (mts_test_server_start (server, &error));
      g_assert_no_error (error);
    }
  return server;
}

typedef struct {
  char *name;
  MtsStore *store;
  MtsSyncSession *session;
  MtsTestUser *user;
} Device;

static void
device_free (Device *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
  g_clear_pointer (&d->user, mts_test_user_free);
  g_free (d->name);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

/* A new store, logged in as a new user of practice @slug. */
static Device *
device_new (const char *slug, const char *name)
{
  static guint n;
  MtsTestServer *srv = get_server ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_strdup_printf ("%s/dev-%u-%s", mts_test_fixture_dir (), ++n, name);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  char code[MTS_TOTP_CODE_BUF];
  Device *d = g_new0 (Device, 1);

  d->name = g_strdup (name);
  d->store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (d->session, url, ca, &error));
  d->user = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (d->user, code);
  g_assert_true (mts_sync_session_login (d->session, slug, d->user->username, d->user->password,
                                         code, name, NULL, &error));
  g_assert_no_error (error);
  return d;
}

static MtsSyncStats
sync_ok (Device *d)
{
  g_autoptr(GError) error = NULL;
  MtsSyncStats stats = { 0 };

  g_assert_true (mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mts_sync_pending (d->store, NULL), ==, 0);
  return stats;
}

/* Every synced row (documents aside) as text: table, id, version, fields. */
static char *
dump (Device *d)
{
  GString *out = g_string_new (NULL);
  guint n;
  const MtsTableSpec *tables = mts_tables (&n);

  for (guint t = 0; t < n; t++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT id FROM %s WHERE deleted = 0 ORDER BY id",
                                              tables[t].name);
      sqlite3_stmt *st;
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

      if (strcmp (tables[t].name, "documents") == 0)
        continue;
      g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (d->store), sql, -1, &st, NULL), ==,
                       SQLITE_OK);
      while (sqlite3_step (st) == SQLITE_ROW)
        g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (st, 0)));
      sqlite3_finalize (st);
      for (guint i = 0; i < ids->len; i++)
        {
          g_autoptr(JsonObject) fields = NULL;
          g_autoptr(JsonGenerator) gen = json_generator_new ();
          g_autoptr(JsonNode) node = NULL;
          g_autofree char *text = NULL;
          g_autoptr(GError) error = NULL;
          gint64 version = 0;
          gboolean deleted = FALSE;

          fields = mts_sync_read_row (d->store, &tables[t], ids->pdata[i], &version, &deleted,
                                      &error);
          g_assert_no_error (error);
          g_assert_nonnull (fields);
          node = json_node_init_object (json_node_alloc (), fields);
          json_generator_set_root (gen, node);
          text = json_generator_to_data (gen, NULL);
          g_string_append_printf (out, "%s %s v%" G_GINT64_FORMAT " %s\n", tables[t].name,
                                  (char *) ids->pdata[i], version, text);
        }
    }
  return g_string_free (out, FALSE);
}

static void
assert_same (Device *a, Device *b)
{
  g_autofree char *x = dump (a);
  g_autofree char *y = dump (b);

  g_assert_cmpstr (x, ==, y);
}

static char *
add_client (Device *d, const char *name, const char *email, const char *phone)
{
  g_autoptr(MtsClient) c = mts_client_new ();
  g_autoptr(GError) error = NULL;

  c->display_name = g_strdup (name);
  c->email = g_strdup (email);
  c->phone = g_strdup (phone);
  g_assert_true (mts_store_client_add (d->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static char *
add_note (Device *d, const char *client_id, const char *body)
{
  g_autoptr(MtsNote) note = mts_note_new ();
  g_autoptr(GError) error = NULL;

  note->client_id = g_strdup (client_id);
  note->template_kind = g_strdup ("SOAP");
  note->body = g_strdup (body);
  g_assert_true (mts_store_note_add (d->store, note, &error));
  g_assert_no_error (error);
  return g_strdup (note->id);
}

static void
edit_note (Device *d, const char *id, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) note = mts_store_note_get (d->store, id, &error);

  g_assert_no_error (error);
  g_free (note->body);
  note->body = g_strdup (body);
  g_assert_true (mts_store_note_update (d->store, note, &error));
  g_assert_no_error (error);
}

static char *
note_body (Device *d, const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) note = mts_store_note_get (d->store, id, &error);

  g_assert_no_error (error);
  return g_strdup (note->body);
}

typedef void (*ClientEdit) (MtsClient *c, const char *value);

static void
set_phone (MtsClient *c, const char *v)
{
  g_free (c->phone);
  c->phone = g_strdup (v);
}

static void
set_status (MtsClient *c, const char *v)
{
  g_free (c->status);
  c->status = g_strdup (v);
}

static void
set_address (MtsClient *c, const char *v)
{
  g_free (c->address);
  c->address = g_strdup (v);
}

static void
edit_client (Device *d, const char *id, ClientEdit edit, const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = mts_store_client_get (d->store, id, &error);

  g_assert_no_error (error);
  edit (c, value);
  g_assert_true (mts_store_client_update (d->store, c, &error));
  g_assert_no_error (error);
}

static MtsClient *
get_client (Device *d, const char *id)
{
  g_autoptr(GError) error = NULL;
  MtsClient *c = mts_store_client_get (d->store, id, &error);

  g_assert_no_error (error);
  return c;
}

static guint
open_conflicts (Device *d)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = mts_sync_conflicts_list (d->store, &error);

  g_assert_no_error (error);
  return list->len;
}

static char *
new_practice (void)
{
  g_autoptr(GError) error = NULL;
  char *slug = mts_test_practice_new (get_server (), "engine", &error);

  g_assert_no_error (error);
  return slug;
}

/* --- cases --------------------------------------------------------------- */

static void
test_create_and_pull (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Alice Example", "alice@example.org", "0113 496 0000");
  g_autofree char *note = add_note (a, client, "S: first\nO: second");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(MtsClient) c = NULL;
  g_autofree char *body = NULL;
  MtsSyncStats s;

  s = sync_ok (a);
  g_assert_cmpint (s.applied, ==, 2);   /* the client and the note */
  s = sync_ok (b);
  g_assert_cmpint (s.pulled, ==, 2);
  sync_ok (a);
  assert_same (a, b);

  c = get_client (b, client);
  g_assert_cmpstr (c->display_name, ==, "Alice Example");
  g_assert_cmpstr (c->phone, ==, "0113 496 0000");
  body = note_body (b, note);
  g_assert_cmpstr (body, ==, "S: first\nO: second");
  /* Pulled rows are indexed as the store's own: exact e-mail and phone
   * lookups and name search find the client on the other device. */
  found = mts_store_client_search (b->store, "ALICE@example.org", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = mts_store_client_search (b->store, "0113 4960000", &error);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = mts_store_client_search (b->store, "alice ex", &error);
  g_assert_cmpuint (found->len, ==, 1);
  /* Pulled writes are audited like local ones, and the chain holds. */
  {
    sqlite3_stmt *st;
    g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (b->store), "SELECT mts_audit_verify()",
                                         -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "ok");
    sqlite3_finalize (st);
  }
}

static void
test_different_fields_merge (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Bob Example", NULL, "0000");
  g_autoptr(MtsClient) ca = NULL, cb = NULL;
  MtsSyncStats s;

  sync_ok (a);
  sync_ok (b);
  edit_client (a, client, set_phone, "0113 000 1111");
  edit_client (b, client, set_status, "waiting");
  sync_ok (a);
  s = sync_ok (b);
  g_assert_cmpint (s.merged, ==, 1);
  g_assert_cmpint (s.conflicts, ==, 0);
  sync_ok (a);
  assert_same (a, b);
  ca = get_client (a, client);
  cb = get_client (b, client);
  g_assert_cmpstr (ca->phone, ==, "0113 000 1111");
  g_assert_cmpstr (ca->status, ==, "waiting");
  g_assert_cmpstr (cb->phone, ==, "0113 000 1111");
  g_assert_cmpuint (open_conflicts (a) + open_conflicts (b), ==, 0);
}

static void
test_note_lines_merge (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Carol Example", NULL, NULL);
  g_autofree char *note = add_note (a, client, "S: one\nO: two\nA: three\nP: four");
  g_autofree char *body_a = NULL, *body_b = NULL;

  sync_ok (a);
  sync_ok (b);
  edit_note (a, note, "S: one (a)\nO: two\nA: three\nP: four");
  edit_note (b, note, "S: one\nO: two\nA: three\nP: four (b)");
  sync_ok (a);
  g_assert_cmpint (sync_ok (b).merged, ==, 1);
  sync_ok (a);
  body_a = note_body (a, note);
  body_b = note_body (b, note);
  g_assert_cmpstr (body_a, ==, "S: one (a)\nO: two\nA: three\nP: four (b)");
  g_assert_cmpstr (body_b, ==, body_a);
  assert_same (a, b);
}

/* Every control character a paste can bring, in a client's name and a
 * note, travels both ways unchanged.  Regression: json-glib 1.6 wrote U+001F
 * raw into the push, the server's strict check refused it (400), and the
 * note could never sync (sync/mts-json-generate.h). */
static void
test_control_characters_travel (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autoptr(GString) text = g_string_new ("S: pasted:");
  g_autofree char *client = NULL, *note = NULL, *body_b = NULL, *body_a = NULL;
  g_autoptr(MtsClient) cb = NULL;

  for (int c = 1; c < 0x20; c++)
    g_string_append_c (text, (char) c);
  g_string_append (text, "\x7f end");
  client = add_client (a, "Dana\x1f Example", NULL, NULL);
  note = add_note (a, client, text->str);
  sync_ok (a);
  sync_ok (b);
  body_b = note_body (b, note);
  g_assert_cmpstr (body_b, ==, text->str);
  cb = get_client (b, client);
  g_assert_cmpstr (cb->display_name, ==, "Dana\x1f Example");

  /* And back: edited on b, pulled by a. */
  g_string_append (text, "\x1f(b)");
  edit_note (b, note, text->str);
  sync_ok (b);
  sync_ok (a);
  body_a = note_body (a, note);
  g_assert_cmpstr (body_a, ==, text->str);
  assert_same (a, b);
}

static void
test_conflict_held_and_resolved (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Dan Example", NULL, NULL);
  g_autofree char *note = add_note (a, client, "S: base line\nO: x");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *shown = NULL, *final_a = NULL, *final_b = NULL;
  MtsSyncConflict *c;
  MtsSyncStats s;

  sync_ok (a);
  sync_ok (b);
  edit_note (a, note, "S: base line, as A saw it\nO: x");
  edit_note (b, note, "S: base line, as B saw it\nO: x");
  sync_ok (a);
  s = sync_ok (b);
  g_assert_cmpint (s.conflicts, ==, 1);

  /* One conflict, with both versions and the base; the row shows the
   * server's version meanwhile, and nothing was lost. */
  list = mts_sync_conflicts_list (b->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  c = list->pdata[0];
  g_assert_cmpstr (c->kind, ==, "conflict");
  g_assert_cmpstr (c->table_name, ==, "notes");
  g_assert_cmpstr (c->row_id, ==, note);
  g_assert_cmpstr (c->fields, ==, "body");
  g_assert_cmpstr (json_object_get_string_member (c->local, "body"), ==,
                   "S: base line, as B saw it\nO: x");
  g_assert_cmpstr (json_object_get_string_member (c->remote, "body"), ==,
                   "S: base line, as A saw it\nO: x");
  g_assert_cmpstr (json_object_get_string_member (c->base, "body"), ==, "S: base line\nO: x");
  shown = note_body (b, note);
  g_assert_cmpstr (shown, ==, "S: base line, as A saw it\nO: x");
  /* Sealed at rest: the conflict's texts are not in the database file. */
  {
    g_autofree char *db = g_build_filename (mts_store_get_dir (b->store), "practice.db", NULL);
    g_autofree char *bytes = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (db, &bytes, &len, NULL));
    g_assert_null (g_strstr_len (bytes, len, "as B saw it"));
  }

  /* Keep mine: pushed like any edit, and both devices end with it. */
  g_assert_true (mts_sync_conflict_resolve (b->store, c->id, MTS_RESOLVE_MINE, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (open_conflicts (b), ==, 0);
  g_assert_false (mts_sync_conflict_resolve (b->store, c->id, MTS_RESOLVE_THEIRS, NULL, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (sync_ok (b).applied, ==, 1);
  sync_ok (a);
  final_a = note_body (a, note);
  final_b = note_body (b, note);
  g_assert_cmpstr (final_a, ==, "S: base line, as B saw it\nO: x");
  g_assert_cmpstr (final_b, ==, final_a);
  assert_same (a, b);
}

/* Three devices edit one client and one note offline — some edits merge,
 * one pair clashes — and sync in each of the six orders.  Every order ends
 * with the same state on all three, the mergeable edits all in it, and the
 * clash held once, on whichever of the two synced second, with its value. */
static void
test_three_devices_every_order (void)
{
  static const int orders[6][3] = {
    { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
  };

  for (guint o = 0; o < G_N_ELEMENTS (orders); o++)
    {
      g_autofree char *slug = new_practice ();
      Device *dev[3];
      g_autofree char *client = NULL, *note = NULL, *body = NULL;
      g_autoptr(MtsClient) final = NULL;
      guint conflicts = 0;
      int first_of_pair = -1;

      dev[0] = device_new (slug, "a");
      dev[1] = device_new (slug, "b");
      dev[2] = device_new (slug, "c");
      client = add_client (dev[0], "Eve Example", NULL, "0000");
      note = add_note (dev[0], client, "S: 1\nO: 2\nA: 3\nP: 4");
      for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++)
          sync_ok (dev[i]);

      /* Offline: a and c clash on the address; the rest merges. */
      edit_client (dev[0], client, set_phone, "phone from a");
      edit_client (dev[0], client, set_address, "address from a");
      edit_client (dev[1], client, set_status, "closed");
      edit_note (dev[1], note, "S: 1 (b)\nO: 2\nA: 3\nP: 4");
      edit_client (dev[2], client, set_address, "address from c");
      edit_note (dev[2], note, "S: 1\nO: 2\nA: 3\nP: 4 (c)");

      for (int i = 0; i < 3; i++)
        {
          int d = orders[o][i];
          sync_ok (dev[d]);
          if (first_of_pair < 0 && (d == 0 || d == 2))
            first_of_pair = d;
        }
      for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++)
          sync_ok (dev[orders[o][i]]);

      assert_same (dev[0], dev[1]);
      assert_same (dev[1], dev[2]);
      final = get_client (dev[1], client);
      g_assert_cmpstr (final->phone, ==, "phone from a");
      g_assert_cmpstr (final->status, ==, "closed");
      g_assert_cmpstr (final->address, ==, first_of_pair == 0 ? "address from a" : "address from c");
      body = note_body (dev[2], note);
      g_assert_cmpstr (body, ==, "S: 1 (b)\nO: 2\nA: 3\nP: 4 (c)");

      for (int i = 0; i < 3; i++)
        {
          g_autoptr(GPtrArray) list = mts_sync_conflicts_list (dev[i]->store, NULL);
          for (guint k = 0; k < list->len; k++)
            {
              MtsSyncConflict *c = list->pdata[k];
              g_assert_cmpint (i, ==, first_of_pair == 0 ? 2 : 0);
              g_assert_cmpstr (c->fields, ==, "address");
              g_assert_cmpstr (json_object_get_string_member (c->local, "address"), ==,
                               i == 0 ? "address from a" : "address from c");
              conflicts++;
            }
        }
      g_assert_cmpuint (conflicts, ==, 1);
      for (int i = 0; i < 3; i++)
        device_free (dev[i]);
    }
}

static void
test_delete_propagates (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Fay Example", NULL, NULL);
  g_autofree char *note = add_note (a, client, "S: gone soon");
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsNote) gone = NULL;
  g_autoptr(GPtrArray) clients = NULL;

  sync_ok (a);
  sync_ok (b);
  g_assert_true (mts_store_client_delete (a->store, client, &error));
  g_assert_no_error (error);
  sync_ok (a);
  g_assert_cmpint (sync_ok (b).deleted, >=, 1);
  gone = mts_store_note_get (b->store, note, &error);
  g_assert_null (gone);
  g_clear_error (&error);
  clients = mts_store_client_list (b->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (clients->len, ==, 0);
}

typedef struct {
  GCancellable *cancel;
  guint pages;
  guint cancel_after;
  gint64 last_done;
  gint64 last_total;
} Progress;

static void
progress_cb (MtsSyncPhase phase, gint64 done, gint64 total, gpointer data)
{
  Progress *p = data;

  if (phase != MTS_SYNC_PHASE_PULL)
    return;
  g_assert_cmpint (done, >, p->last_done);
  g_assert_cmpint (done, <=, total);
  p->last_done = done;
  p->last_total = total;
  if (++p->pages == p->cancel_after)
    g_cancellable_cancel (p->cancel);
}

/* A fresh device's first sync comes in pages with progress (done of
 * total), and can be cancelled and resumed where it stopped. */
static void
test_first_sync_resumes (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  MtsSyncOptions options = { .pull_limit = 40 };
  MtsSyncStats first = { 0 }, second = { 0 };
  Progress p = { cancel, 0, 3, 0, 0 };

  for (int i = 0; i < 200; i++)
    {
      g_autofree char *name = g_strdup_printf ("Client %03d", i);
      g_free (add_client (a, name, NULL, NULL));
    }
  sync_ok (a);

  g_assert_false (mts_sync_once (b->store, b->session, &options, progress_cb, &p, cancel,
                                 &first, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (p.pages, ==, 3);
  g_assert_cmpint (p.last_total, >=, 200);
  g_assert_cmpint (first.pulled, >=, 80);
  g_assert_cmpint (first.pulled, <, 200);

  p = (Progress) { NULL, 0, 0, 0, 0 };
  g_assert_true (mts_sync_once (b->store, b->session, &options, progress_cb, &p, NULL,
                                &second, &error));
  g_assert_no_error (error);
  /* Resumed after what was committed: nothing pulled twice. */
  g_assert_cmpint (first.pulled + second.pulled, ==, 200);
  sync_ok (a);
  assert_same (a, b);
}

/* The support role cannot push; a revoked device is told so and keeps its
 * data; the pending outbox stays for later. */
static void
test_revoked_keeps_data (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autofree char *client = add_client (a, "Gil Example", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autoptr(MtsClient) kept = NULL;
  gint64 pending = mts_sync_pending (a->store, NULL);

  out = mts_test_server_admin (get_server (), NULL, &error, "device-revoke", slug,
                               mts_sync_session_get_device_id (a->session), NULL);
  g_assert_no_error (error);
  g_assert_false (mts_sync_once (a->store, a->session, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED);
  g_assert_nonnull (strstr (error->message, "revoked"));
  g_assert_cmpint (mts_sync_pending (a->store, NULL), ==, pending);
  kept = get_client (a, client);
  g_assert_cmpstr (kept->display_name, ==, "Gil Example");
}

static void
exec_sql (Device *d, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (mts_store_get_db (d->store), sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

/* A push whose answer was lost (the app killed after the server applied
 * it), then another edit of the same field: the replayed entry is a
 * duplicate, the new edit is applied over it, and the device does not
 * conflict with itself. */
static void
test_lost_answer_then_edit (void)
{
  g_autofree char *slug = new_practice ();
  g_autoptr(Device) a = device_new (slug, "a");
  g_autoptr(Device) b = device_new (slug, "b");
  g_autofree char *client = add_client (a, "Hal Example", NULL, NULL);
  g_autofree char *sql = NULL;
  g_autoptr(MtsClient) seen = NULL;
  sqlite3_stmt *st;
  gint64 seq = 0, base = 0;
  MtsSyncStats s;

  sync_ok (a);
  edit_client (a, client, set_address, "first address");
  g_assert_cmpint (sqlite3_prepare_v2 (mts_store_get_db (a->store),
                                       "SELECT seq, base_version FROM sync_outbox", -1, &st,
                                       NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  seq = sqlite3_column_int64 (st, 0);
  base = sqlite3_column_int64 (st, 1);
  sqlite3_finalize (st);
  sync_ok (a);
  /* Undo what the answer did on the device, as if it never arrived. */
  sql = g_strdup_printf ("INSERT INTO sync_outbox (seq, table_name, row_id, op, changed_columns, "
                         "base_version, created_at) VALUES (%" G_GINT64_FORMAT ", 'clients', "
                         "'%s', 'upsert', 'address', %" G_GINT64_FORMAT ", 'x'); "
                         "UPDATE clients SET version = %" G_GINT64_FORMAT " WHERE id = '%s'",
                         seq, client, base, base, client);
  exec_sql (a, sql);
  edit_client (a, client, set_address, "second address");

  s = sync_ok (a);
  g_assert_cmpint (s.duplicates, ==, 1);
  g_assert_cmpint (s.conflicts, ==, 0);
  g_assert_cmpuint (open_conflicts (a), ==, 0);
  sync_ok (b);
  seen = get_client (b, client);
  g_assert_cmpstr (seen->address, ==, "second address");
  sync_ok (a);
  assert_same (a, b);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync-engine/create-and-pull", test_create_and_pull);
  g_test_add_func ("/sync-engine/different-fields-merge", test_different_fields_merge);
  g_test_add_func ("/sync-engine/note-lines-merge", test_note_lines_merge);
  g_test_add_func ("/sync-engine/control-characters-travel", test_control_characters_travel);
  g_test_add_func ("/sync-engine/conflict-held-and-resolved", test_conflict_held_and_resolved);
  g_test_add_func ("/sync-engine/three-devices-every-order", test_three_devices_every_order);
  g_test_add_func ("/sync-engine/delete-propagates", test_delete_propagates);
  g_test_add_func ("/sync-engine/first-sync-resumes", test_first_sync_resumes);
  g_test_add_func ("/sync-engine/lost-answer-then-edit", test_lost_answer_then_edit);
  g_test_add_func ("/sync-engine/revoked-keeps-data", test_revoked_keeps_data);
  status = g_test_run ();
  if (server != NULL)
    {
      mts_test_server_stop (server);
      mts_test_server_free (server);
    }
  mts_test_fixture_tear_down (status != 0);
  return status;
}
