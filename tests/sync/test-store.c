/* test-store.c — the practice store API (sync/mts-store.h): records through
 * the API, the refusals, what reaches the disk, and that every write is
 * audited and queued for sync together. */
#define _GNU_SOURCE   /* memmem */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>
#include <utime.h>

#include "mts-error.h"
#include "mts-store.h"
#include "mts-uuid.h"

#define PASS "correct horse battery"

typedef struct {
  char *dir;
  MtsStore *store;
  char *clinician_id;
} Fixture;

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (d);
      g_assert_cmpint (g_rmdir (path), ==, 0);
    }
  else
    g_assert_cmpint (g_remove (path), ==, 0);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClinician) c = mts_clinician_new ();
  g_autofree char *base = g_dir_make_tmp ("mts-test-store-XXXXXX", &error);

  g_assert_no_error (error);
  fx->dir = g_build_filename (base, "practice", NULL);
  fx->store = mts_store_create (fx->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->store);
  c->display_name = g_strdup ("Dr Ada Smith");
  c->email = g_strdup ("ada@practice.example");
  g_assert_true (mts_store_clinician_add (fx->store, c, &error));
  g_assert_no_error (error);
  fx->clinician_id = g_strdup (c->id);
  mts_store_set_actor (fx->store, fx->clinician_id);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autofree char *base = g_path_get_dirname (fx->dir);

  g_clear_object (&fx->store);
  remove_tree (base);
  g_free (fx->dir);
  g_free (fx->clinician_id);
}

static char *
query (MtsStore *store, const char *sql)
{
  sqlite3 *db = mts_store_get_db (store);
  sqlite3_stmt *st = NULL;
  char *result = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  if (sqlite3_step (st) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return result;
}

static MtsClient *
add_client (Fixture *fx, const char *name, const char *email, const char *phone)
{
  g_autoptr (GError) error = NULL;
  MtsClient *c = mts_client_new ();

  c->display_name = g_strdup (name);
  c->email = g_strdup (email);
  c->phone = g_strdup (phone);
  c->date_of_birth = g_strdup ("1985-04-12");
  c->address = g_strdup ("1 High Street, Leeds");
  g_assert_true (mts_store_client_add (fx->store, c, &error));
  g_assert_no_error (error);
  return c;
}

static MtsNote *
add_note (Fixture *fx, const char *client_id, const char *body)
{
  g_autoptr (GError) error = NULL;
  MtsNote *n = mts_note_new ();

  n->client_id = g_strdup (client_id);
  n->template_kind = g_strdup ("SOAP");
  n->body = g_strdup (body);
  n->clinician_id = g_strdup (fx->clinician_id);
  g_assert_true (mts_store_note_add (fx->store, n, &error));
  g_assert_no_error (error);
  return n;
}

/* Whether @needle occurs in the store's database files (db and WAL). */
static gboolean
on_disk (Fixture *fx, const char *needle)
{
  static const char *const names[] = { "practice.db", "practice.db-wal" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fx->dir, names[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_get_contents (path, &data, &len, NULL)
          && memmem (data, len, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
assert_audit_ok (Fixture *fx)
{
  g_autofree char *verify = query (fx->store, "SELECT mts_audit_verify()");
  g_assert_cmpstr (verify, ==, "ok");
}

static void
test_reopen_and_unlock (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = add_client (fx, "Jane Doe", "jane@example.org", NULL);
  g_autoptr (MtsClient) again = NULL;
  g_autoptr (MtsStore) reopened = NULL;

  g_clear_object (&fx->store);
  reopened = mts_store_open (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_false (mts_store_is_unlocked (reopened));
  g_assert_null (mts_store_client_get (reopened, c->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (mts_store_unlock (reopened, "wrong horse battery", 19, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE);
  g_clear_error (&error);
  g_assert_true (mts_store_unlock (reopened, PASS, strlen (PASS), &error));
  again = mts_store_client_get (reopened, c->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->display_name, ==, "Jane Doe");
  g_assert_cmpstr (again->email, ==, "jane@example.org");
  mts_store_lock (reopened);
  {
    g_autoptr (MtsClient) locked = mts_client_new ();
    locked->display_name = g_strdup ("Nobody");
    g_assert_false (mts_store_client_add (reopened, locked, &error));
    g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  }
  fx->store = g_steal_pointer (&reopened);
}

static void
test_create_refuses_existing (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) second = mts_store_create (fx->dir, PASS, strlen (PASS), "test", &error);

  g_assert_null (second);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (mts_store_open ("/nonexistent/mts", &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
}

static void
test_client_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = add_client (fx, "Rhys Evans", "rhys@example.org", "07700 900123");
  g_autoptr (MtsClient) got = NULL;
  g_autoptr (MtsClient) edited = NULL;
  g_autofree char *outbox = NULL;
  g_autoptr (MtsClient) bad = mts_client_new ();

  g_assert_true (strlen (c->id) == 36 && c->id[14] == '7');   /* a UUIDv7 */
  got = mts_store_client_get (fx->store, c->id, &error);
  g_assert_cmpstr (got->display_name, ==, "Rhys Evans");
  g_assert_cmpstr (got->date_of_birth, ==, "1985-04-12");
  g_assert_cmpstr (got->phone, ==, "07700 900123");
  g_assert_cmpstr (got->status, ==, "active");

  g_free (got->display_name);
  got->display_name = g_strdup ("Rhys Ap Evans");
  g_free (got->email);
  got->email = g_strdup ("rhys.evans@example.org");
  g_assert_true (mts_store_client_update (fx->store, got, &error));
  g_assert_no_error (error);
  edited = mts_store_client_get (fx->store, c->id, &error);
  g_assert_cmpstr (edited->display_name, ==, "Rhys Ap Evans");
  g_assert_cmpstr (edited->email, ==, "rhys.evans@example.org");
  g_assert_cmpstr (edited->address, ==, "1 High Street, Leeds");
  outbox = query (fx->store, "SELECT changed_columns || '|' || base_version FROM sync_outbox "
                             "ORDER BY seq DESC LIMIT 1");
  g_assert_cmpstr (outbox, ==, "display_name,email|0");

  g_assert_null (mts_store_client_get (fx->store, "0192a0b0-0000-7000-8000-000000000000", &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bad->display_name = g_strdup ("X");
  bad->status = g_strdup ("gone");
  g_assert_false (mts_store_client_add (fx->store, bad, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_free (bad->display_name);
  bad->display_name = g_strdup ("");
  g_assert_false (mts_store_client_add (fx->store, bad, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  assert_audit_ok (fx);
}

static void
test_client_list_and_search (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) a = add_client (fx, "zoë Wright", "zoe@example.org", "+44 7700 900001");
  g_autoptr (MtsClient) b = add_client (fx, "Aoife Byrne", "aoife@example.org", "07700 900002");
  g_autoptr (MtsClient) c G_GNUC_UNUSED = add_client (fx, "Ben Byrne", NULL, NULL);
  g_autoptr (GPtrArray) all = mts_store_client_list (fx->store, &error);
  g_autoptr (GPtrArray) byrne = NULL;
  g_autoptr (GPtrArray) mail = NULL;
  g_autoptr (GPtrArray) phone = NULL;
  g_autoptr (GPtrArray) none = NULL;
  g_autofree char *rotated = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_cmpstr (((MtsClient *) all->pdata[0])->display_name, ==, "Aoife Byrne");
  g_assert_cmpstr (((MtsClient *) all->pdata[1])->display_name, ==, "Ben Byrne");
  g_assert_cmpstr (((MtsClient *) all->pdata[2])->display_name, ==, "zoë Wright");
  g_assert_cmpstr (((MtsClient *) all->pdata[0])->status, ==, "active");

  byrne = mts_store_client_search (fx->store, "BYRN", &error);
  g_assert_cmpuint (byrne->len, ==, 2);
  /* A rotation must not lose the blind-index lookups of older rows. */
  rotated = query (fx->store, "SELECT mts_key_rotate()");
  g_assert_cmpstr (rotated, ==, "2");
  mail = mts_store_client_search (fx->store, " Aoife@Example.ORG ", &error);
  g_assert_cmpuint (mail->len, ==, 1);
  g_assert_cmpstr (((MtsClient *) mail->pdata[0])->id, ==, b->id);
  phone = mts_store_client_search (fx->store, "+447700900001", &error);
  g_assert_cmpuint (phone->len, ==, 1);
  g_assert_cmpstr (((MtsClient *) phone->pdata[0])->id, ==, a->id);
  none = mts_store_client_search (fx->store, "nobody@example.org", &error);
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_note_lifecycle (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = add_client (fx, "Jane Doe", NULL, NULL);
  g_autoptr (MtsNote) n = add_note (fx, c->id, "S: low mood\nO: tearful\nA: ...\nP: weekly");
  g_autoptr (MtsNote) got = NULL;
  g_autoptr (MtsNote) amendment = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *direct = NULL;
  char *err = NULL;

  g_free (n->body);
  n->body = g_strdup ("S: low mood, improving\nP: weekly");
  g_assert_true (mts_store_note_update (fx->store, n, &error));
  g_assert_no_error (error);
  g_assert_true (mts_store_note_sign (fx->store, n->id, &error));
  g_assert_no_error (error);
  got = mts_store_note_get (fx->store, n->id, &error);
  g_assert_cmpstr (got->status, ==, "signed");
  g_assert_cmpstr (got->signed_by, ==, fx->clinician_id);
  g_assert_nonnull (got->signed_at);
  g_assert_cmpstr (got->body, ==, "S: low mood, improving\nP: weekly");

  /* Signed notes refuse changes, through the API and through SQL. */
  g_free (got->body);
  got->body = g_strdup ("rewritten");
  g_assert_false (mts_store_note_update (fx->store, got, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED);
  g_clear_error (&error);
  g_assert_false (mts_store_note_sign (fx->store, n->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED);
  g_clear_error (&error);
  g_assert_cmpint (sqlite3_exec (mts_store_get_db (fx->store),
                                 "UPDATE notes SET template_kind = 'free'", NULL, NULL, &err), !=, SQLITE_OK);
  g_assert_nonnull (strstr (err, "note is signed"));
  sqlite3_free (err);

  amendment = mts_store_note_amend (fx->store, n->id, "Addendum: risk reviewed", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (amendment->amends_id, ==, n->id);
  g_assert_cmpstr (amendment->status, ==, "draft");
  list = mts_store_note_list (fx->store, c->id, &error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsNote *) list->pdata[1])->body, ==, "Addendum: risk reviewed");
  direct = query (fx->store, "SELECT count(*) FROM notes WHERE body LIKE '%low mood%'");
  g_assert_cmpstr (direct, ==, "0");
  assert_audit_ok (fx);
}

static void
test_note_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = add_client (fx, "Jane Doe", NULL, NULL);
  g_autoptr (MtsNote) n = add_note (fx, c->id, "draft text");
  g_autoptr (MtsNote) orphan = mts_note_new ();
  g_autoptr (MtsNote) bad_kind = mts_note_new ();
  g_autofree char *before = query (fx->store, "SELECT (SELECT count(*) FROM mts_audit) || '/' || "
                                              "(SELECT count(*) FROM sync_outbox)");
  g_autofree char *after = NULL;

  orphan->client_id = g_strdup ("0192a0b0-0000-7000-8000-000000000000");
  orphan->body = g_strdup ("x");
  g_assert_false (mts_store_note_add (fx->store, orphan, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bad_kind->client_id = g_strdup (c->id);
  bad_kind->template_kind = g_strdup ("GIRP");
  g_assert_false (mts_store_note_add (fx->store, bad_kind, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_store_note_amend (fx->store, n->id, "x", &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  /* Only a clinician signs. */
  mts_store_set_actor (fx->store, "os:someone");
  g_assert_false (mts_store_note_sign (fx->store, n->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID);
  /* Refused writes leave no audit entry and no outbox entry behind. */
  after = query (fx->store, "SELECT (SELECT count(*) FROM mts_audit) || '/' || "
                            "(SELECT count(*) FROM sync_outbox)");
  g_assert_cmpstr (before, ==, after);
}

static void
test_write_audit_outbox_together (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Jane Doe", "jane@example.org", NULL);
  g_autoptr (MtsNote) n G_GNUC_UNUSED = add_note (fx, c->id, "text");
  g_autofree char *audit = query (fx->store, "SELECT group_concat(action || ' ' || target, ', ') FROM "
                                             "(SELECT action, target FROM mts_audit WHERE action IN "
                                             "('insert', 'update', 'delete') ORDER BY seq)");
  g_autofree char *outbox = query (fx->store, "SELECT group_concat(table_name || ' ' || op, ', ') FROM "
                                              "(SELECT * FROM sync_outbox ORDER BY seq)");
  g_autofree char *actor = query (fx->store, "SELECT actor FROM mts_audit ORDER BY seq DESC LIMIT 1");

  g_assert_cmpstr (audit, ==, "insert clinicians, insert clients, insert notes");
  g_assert_cmpstr (outbox, ==, "clinicians upsert, clients upsert, notes upsert");
  g_assert_cmpstr (actor, ==, fx->clinician_id);
}

static void
test_delete_client (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = add_client (fx, "Marker Clientname", "marker.email@example.org",
                                        "07700 955555");
  g_autoptr (MtsClient) other G_GNUC_UNUSED = add_client (fx, "Other Person", NULL, NULL);
  g_autoptr (MtsNote) n1 = add_note (fx, c->id, "MARKER-NOTE-BODY one");
  g_autoptr (MtsNote) n2 G_GNUC_UNUSED = add_note (fx, c->id, "MARKER-NOTE-BODY two");
  g_autoptr (GPtrArray) left = NULL;
  g_autofree char *tomb = NULL;
  g_autofree char *outbox = NULL;
  g_autofree char *notes_left = NULL;

  g_assert_true (mts_store_note_sign (fx->store, n1->id, &error));
  g_assert_true (mts_store_client_delete (fx->store, c->id, &error));
  g_assert_no_error (error);
  g_assert_null (mts_store_client_get (fx->store, c->id, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  left = mts_store_client_list (fx->store, &error);
  g_assert_cmpuint (left->len, ==, 1);
  notes_left = query (fx->store, "SELECT count(*) FROM notes");
  g_assert_cmpstr (notes_left, ==, "0");
  tomb = query (fx->store, "SELECT deleted || '|' || coalesce(display_name, 'null') || '|' || "
                           "coalesce(email_bidx, 'null') FROM clients WHERE deleted = 1");
  g_assert_cmpstr (tomb, ==, "1|null|null");
  outbox = query (fx->store, "SELECT group_concat(table_name || ' ' || op, ', ') FROM "
                             "(SELECT * FROM sync_outbox WHERE op = 'delete' ORDER BY seq)");
  g_assert_cmpstr (outbox, ==, "notes delete, notes delete, clients delete");
  assert_audit_ok (fx);

  /* Nothing readable is left in the database files (secure_delete and a
   * truncated write-ahead log). */
  g_assert_false (on_disk (fx, "Marker Clientname"));
  g_assert_false (on_disk (fx, "marker.email@example.org"));
  g_assert_false (on_disk (fx, "MARKER-NOTE-BODY"));
}

static void
test_no_plaintext_on_disk (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsClient) c = add_client (fx, "Plaintext Probe", "probe@example.org", "07700 912345");
  g_autoptr (MtsNote) n G_GNUC_UNUSED = add_note (fx, c->id, "PROBE-BODY-TEXT about the session");

  g_clear_object (&fx->store);   /* checkpoints the WAL into the database file */
  g_assert_false (on_disk (fx, "Plaintext Probe"));
  g_assert_false (on_disk (fx, "probe@example.org"));
  g_assert_false (on_disk (fx, "07700 912345"));
  g_assert_false (on_disk (fx, "1 High Street"));
  g_assert_false (on_disk (fx, "PROBE-BODY-TEXT"));
  g_assert_false (on_disk (fx, "Dr Ada Smith"));
  /* ...while the same check finds what is stored in the clear. */
  g_assert_true (on_disk (fx, "active"));
  fx->store = mts_store_open (fx->dir, NULL);
}

static void
test_client_all_fields_and_id (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = mts_client_new ();
  g_autoptr (MtsClient) got = NULL;
  g_autoptr (GPtrArray) notes = NULL;
  g_autofree char *base = g_path_get_dirname (fx->dir);
  g_autofree char *weak_dir = g_build_filename (base, "weak", NULL);
  g_autoptr (MtsStore) weak = NULL;

  c->display_name = g_strdup ("Full Fields");
  c->gp_details = g_strdup ("Dr Patel, Park Surgery");
  c->emergency_contact = g_strdup ("Sam, 07700 900777");
  c->last_contact_at = g_strdup ("2026-11-20T10:00:00.000Z");
  g_assert_true (mts_store_client_add (fx->store, c, &error));
  got = mts_store_client_get (fx->store, c->id, &error);
  g_assert_cmpstr (got->gp_details, ==, "Dr Patel, Park Surgery");
  g_assert_cmpstr (got->emergency_contact, ==, "Sam, 07700 900777");
  g_assert_cmpstr (got->last_contact_at, ==, "2026-11-20T10:00:00.000Z");
  g_free (got->emergency_contact);
  got->emergency_contact = NULL;
  g_assert_true (mts_store_client_update (fx->store, got, &error));
  g_clear_pointer (&got, mts_client_free);
  got = mts_store_client_get (fx->store, c->id, &error);
  g_assert_null (got->emergency_contact);

  /* A store has a stable identity: its keystore's id. */
  g_assert_cmpuint (strlen (mts_store_get_id (fx->store)), ==, 32);

  /* An unknown client has no notes list, rather than an empty one. */
  notes = mts_store_note_list (fx->store, "0192a0b0-0000-7000-8000-000000000000", &error);
  g_assert_null (notes);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A refused creation leaves nothing behind. */
  weak = mts_store_create (weak_dir, "short", 5, "test", &error);
  g_assert_null (weak);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE);
  g_assert_false (g_file_test (weak_dir, G_FILE_TEST_EXISTS));
}

/* What a crash leaves in files/ is swept at unlock, once it is an hour old. */
static void
test_sweep_files (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *files = g_build_filename (fx->dir, "files", NULL);
  g_autofree char *old_orphan = g_build_filename (files, "0192a0b0-0000-7000-8000-00000000dead", NULL);
  g_autofree char *old_temp = g_build_filename (files, ".0192a0b0-0000-7000-8000-00000000beef.Ab12Cd", NULL);
  g_autofree char *new_orphan = g_build_filename (files, "0192a0b0-0000-7000-8000-00000000f00d", NULL);
  struct utimbuf two_hours_ago = { time (NULL) - 7200, time (NULL) - 7200 };

  g_assert_true (g_file_set_contents (old_orphan, "x", 1, NULL));
  g_assert_true (g_file_set_contents (old_temp, "x", 1, NULL));
  g_assert_true (g_file_set_contents (new_orphan, "x", 1, NULL));
  g_assert_cmpint (utime (old_orphan, &two_hours_ago), ==, 0);
  g_assert_cmpint (utime (old_temp, &two_hours_ago), ==, 0);
  mts_store_lock (fx->store);
  g_assert_true (mts_store_unlock (fx->store, PASS, strlen (PASS), &error));
  g_assert_false (g_file_test (old_orphan, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (old_temp, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (new_orphan, G_FILE_TEST_EXISTS));   /* maybe an add in progress */
}

/* ---- twins ---- */

/* Lines of @event in the store's key-access log. */
static guint
keylog_count (Fixture *fx, const char *event)
{
  g_autofree char *log = g_build_filename (fx->dir, "practice.mtskey.log", NULL);
  g_autofree char *text = NULL;
  g_autofree char *needle = g_strdup_printf ("\t%s\t", event);
  guint n = 0;

  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static gint64
query_int (MtsStore *store, const char *sql)
{
  g_autofree char *text = query (store, sql);

  g_assert_nonnull (text);
  return g_ascii_strtoll (text, NULL, 10);
}

/* A twin reads what the store wrote and the other way round, names the
 * same actor in the audit log, loads the client names for search, and
 * costs no entry in the key-access log. */
static void
test_twin_sees_writes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) before = add_client (fx, "Bryn Before", "bryn@example.org", NULL);
  g_autoptr (MtsStore) twin = NULL;
  g_autoptr (MtsClient) got = NULL;
  g_autoptr (MtsClient) from_twin = mts_client_new ();
  g_autoptr (MtsClient) after = NULL;
  g_autoptr (GPtrArray) found = NULL;
  g_autofree char *actor = NULL;
  g_autofree char *mode = NULL;
  guint unlocks = keylog_count (fx, "unlock");

  g_assert_nonnull (before);

  twin = mts_store_open_twin (fx->store, &error);
  g_assert_no_error (error);
  g_assert_nonnull (twin);
  g_assert_true (twin != fx->store);
  g_assert_true (mts_store_is_unlocked (twin));
  g_assert_true (mts_store_get_db (twin) != mts_store_get_db (fx->store));
  g_assert_cmpstr (mts_store_get_dir (twin), ==, mts_store_get_dir (fx->store));
  g_assert_cmpstr (mts_store_get_id (twin), ==, mts_store_get_id (fx->store));
  g_assert_cmpstr (mts_store_get_actor (twin), ==, fx->clinician_id);
  g_assert_cmpint (query_int (twin, "PRAGMA busy_timeout"), ==, 5000);
  g_assert_cmpint (query_int (fx->store, "PRAGMA busy_timeout"), ==, 5000);
  mode = query (twin, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");

  /* The names were loaded: search by name works at once. */
  found = mts_store_client_search (twin, "bryn", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);

  /* The twin writes; the store reads. */
  from_twin->display_name = g_strdup ("Tam Twin");
  from_twin->phone = g_strdup ("0113 496 0123");
  g_assert_true (mts_store_client_add (twin, from_twin, &error));
  g_assert_no_error (error);
  got = mts_store_client_get (fx->store, from_twin->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->display_name, ==, "Tam Twin");
  g_assert_cmpstr (got->phone, ==, "0113 496 0123");
  /* ... audited as the store's actor, queued for sync like any write. */
  actor = query (fx->store, "SELECT actor FROM mts_audit WHERE target = 'clients' "
                            "ORDER BY seq DESC LIMIT 1");
  g_assert_cmpstr (actor, ==, fx->clinician_id);
  g_assert_cmpint (query_int (fx->store, "SELECT count(*) FROM sync_outbox WHERE table_name = "
                                         "'clients'"), ==, 2);

  /* The store writes; the twin reads. */
  {
    g_autoptr (MtsClient) c = add_client (fx, "Ola Original", NULL, NULL);
    after = mts_store_client_get (twin, c->id, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (after->display_name, ==, "Ola Original");
  }
  assert_audit_ok (fx);
  {
    g_autofree char *verify = query (twin, "SELECT mts_audit_verify()");
    g_assert_cmpstr (verify, ==, "ok");
  }

  /* Neither opening nor freeing the twin touched the key-access log. */
  g_clear_object (&twin);
  g_assert_cmpuint (keylog_count (fx, "unlock"), ==, unlocks);
  g_assert_cmpuint (keylog_count (fx, "lock"), ==, 0);
  assert_audit_ok (fx);
}

typedef struct {
  MtsStore *store;
  guint n;
  GMutex lock;
  GCond cond;
  gboolean holding;
} Writer;

/* Adds @n clients through @w->store. */
static gpointer
write_clients_thread (gpointer data)
{
  Writer *w = data;

  for (guint i = 0; i < w->n; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MtsClient) c = mts_client_new ();

      c->display_name = g_strdup_printf ("Thread Client %u", i);
      c->email = g_strdup_printf ("thread%u@example.org", i);
      if (!mts_store_client_add (w->store, c, &error))
        return g_strdup (error->message);
    }
  return NULL;
}

/* Holds a write transaction on @w->store for 300 ms, then commits. */
static gpointer
hold_write_thread (gpointer data)
{
  Writer *w = data;
  char *message = NULL;
  char *result = NULL;

  if (sqlite3_exec (mts_store_get_db (w->store), "BEGIN IMMEDIATE", NULL, NULL, &message)
      != SQLITE_OK)
    {
      result = g_strdup (message);
      sqlite3_free (message);
    }
  g_mutex_lock (&w->lock);
  w->holding = TRUE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  if (result != NULL)
    return result;
  g_usleep (300 * 1000);
  if (sqlite3_exec (mts_store_get_db (w->store), "COMMIT", NULL, NULL, &message) != SQLITE_OK)
    {
      result = g_strdup (message);
      sqlite3_free (message);
    }
  return result;
}

/* A twin on another thread and the store on this one write at the same
 * time: every write lands (each waits out the other's transaction under
 * the busy timeout), and the audit chain they share holds. */
static void
test_twin_concurrent_writes (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) twin = mts_store_open_twin (fx->store, &error);
  Writer w = { .store = twin, .n = 150 };
  GThread *thread;
  char *failure;
  gint64 clients_before;

  g_assert_no_error (error);
  clients_before = query_int (fx->store, "SELECT count(*) FROM clients");
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);

  /* A writer held up by the twin's open transaction waits and succeeds. */
  thread = g_thread_new ("hold", hold_write_thread, &w);
  g_mutex_lock (&w.lock);
  while (!w.holding)
    g_cond_wait (&w.cond, &w.lock);
  g_mutex_unlock (&w.lock);
  {
    g_autoptr (MtsClient) c = add_client (fx, "Wyn Waited", NULL, NULL);
    g_assert_nonnull (c->id);
  }
  failure = g_thread_join (thread);
  g_assert_null (failure);

  /* Both writing flat out. */
  thread = g_thread_new ("writer", write_clients_thread, &w);
  for (guint i = 0; i < w.n; i++)
    {
      g_autofree char *name = g_strdup_printf ("Main Client %u", i);
      g_autoptr (MtsClient) c = add_client (fx, name, NULL, NULL);
      g_autoptr (MtsNote) n = add_note (fx, c->id, "written while the twin writes");
      g_assert_nonnull (n);
    }
  failure = g_thread_join (thread);
  g_assert_null (failure);

  g_assert_cmpint (query_int (fx->store, "SELECT count(*) FROM clients"), ==,
                   clients_before + 1 + 2 * w.n);
  g_assert_cmpint (query_int (twin, "SELECT count(*) FROM notes"), ==, w.n);
  g_assert_cmpint (query_int (fx->store, "SELECT count(*) FROM sync_outbox WHERE table_name = "
                                         "'clients'"), ==, clients_before + 1 + 2 * w.n);
  assert_audit_ok (fx);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
}

/* No twin of a locked store; a twin made before the lock is its own and
 * goes on until it is locked itself. */
static void
test_twin_of_locked_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) early = mts_store_open_twin (fx->store, &error);
  g_autoptr (MtsStore) twin = NULL;
  g_autoptr (MtsStore) locked = NULL;
  g_autoptr (MtsClient) c = mts_client_new ();

  g_assert_no_error (error);
  mts_store_lock (fx->store);
  twin = mts_store_open_twin (fx->store, &error);
  g_assert_null (twin);
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);
  /* Nor of one that was never unlocked. */
  locked = mts_store_open (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_null (mts_store_open_twin (locked, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);

  c->display_name = g_strdup ("Eli Early");
  g_assert_true (mts_store_client_add (early, c, &error));
  g_assert_no_error (error);
  mts_store_lock (early);
  g_assert_false (mts_store_client_add (early, c, &error));
  g_assert_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&error);

  /* Unlocked again, the store makes twins again. */
  g_assert_true (mts_store_unlock (fx->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  twin = mts_store_open_twin (fx->store, &error);
  g_assert_no_error (error);
  g_assert_nonnull (twin);
}

/* UUIDv7 ids sort in the order they were made, even within a millisecond. */
static void
test_uuid7_order (void)
{
  g_autofree char *prev = mts_uuid7_new ();

  for (int i = 0; i < 20000; i++)
    {
      char *next = mts_uuid7_new ();
      g_assert_true (mts_uuid_is_valid (next));
      g_assert_cmpint (next[14], ==, '7');
      g_assert_true (strchr ("89ab", next[19]) != NULL);
      g_assert_cmpstr (prev, <, next);
      g_free (prev);
      prev = next;
    }
  g_assert_false (mts_uuid_is_valid ("0192A0B0-0000-7000-8000-000000000000"));
  g_assert_false (mts_uuid_is_valid ("not-a-uuid"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/uuid7-order", test_uuid7_order);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/store/reopen-and-unlock", test_reopen_and_unlock);
  ADD ("/store/create-refuses-existing", test_create_refuses_existing);
  ADD ("/store/client/crud", test_client_crud);
  ADD ("/store/client/list-and-search", test_client_list_and_search);
  ADD ("/store/note/lifecycle", test_note_lifecycle);
  ADD ("/store/note/refusals", test_note_refusals);
  ADD ("/store/write-audit-outbox-together", test_write_audit_outbox_together);
  ADD ("/store/client/delete", test_delete_client);
  ADD ("/store/no-plaintext-on-disk", test_no_plaintext_on_disk);
  ADD ("/store/sweep-files", test_sweep_files);
  ADD ("/store/client/all-fields-and-id", test_client_all_fields_and_id);
  ADD ("/store/twin/sees-writes", test_twin_sees_writes);
  ADD ("/store/twin/concurrent-writes", test_twin_concurrent_writes);
  ADD ("/store/twin/of-locked-refused", test_twin_of_locked_refused);
#undef ADD
  return g_test_run ();
}
