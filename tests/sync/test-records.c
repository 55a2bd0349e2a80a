/* test-records.c — sessions, note templates, agreements, invoices,
 * payments, risk flags and AI consent through the store API
 * (sync/mts-store-records.h): for each, add, get, update (the outbox names
 * exactly the changed columns, based on the current version), list and
 * delete (a tombstone with nothing readable, an outbox delete); the
 * refusals (bad enumerations, missing fields, unknown ids and clients, a
 * locked store, changes out of order), each leaving no audit or outbox
 * entry; that the audit log verifies after each test; and that no
 * plaintext of an encrypted field reaches the database files. */
#define _GNU_SOURCE   /* memmem */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "mts-store-documents.h"
#include "mts-store-records.h"

#define PASS "correct horse battery"
#define NO_ID "0192a0b0-0000-7000-8000-000000000000"

typedef struct {
  char *dir;
  MtsStore *store;
  char *clinician_id;
  char *client_id;
  char *other_client_id;
} Fixture;

/* ---- helpers ---- */

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

static char *
add_client (Fixture *fx, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClient) c = mts_client_new ();

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (fx->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsClinician) c = mts_clinician_new ();
  g_autofree char *base = g_dir_make_tmp ("mts-test-records-XXXXXX", &error);

  g_assert_no_error (error);
  fx->dir = g_build_filename (base, "practice", NULL);
  fx->store = mts_store_create (fx->dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->store);
  c->display_name = g_strdup ("Dr Ada Smith");
  g_assert_true (mts_store_clinician_add (fx->store, c, &error));
  g_assert_no_error (error);
  fx->clinician_id = g_strdup (c->id);
  mts_store_set_actor (fx->store, fx->clinician_id);
  fx->client_id = add_client (fx, "Jane Doe");
  fx->other_client_id = add_client (fx, "John Roe");
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autofree char *base = g_path_get_dirname (fx->dir);

  g_clear_object (&fx->store);
  remove_tree (base);
  g_free (fx->dir);
  g_free (fx->clinician_id);
  g_free (fx->client_id);
  g_free (fx->other_client_id);
}

/* The first column of the first row of @sql, with @arg as ?1 if not NULL;
 * NULL when there is no row.  (transfer full) */
static char *
query (Fixture *fx, const char *sql, const char *arg)
{
  sqlite3 *db = mts_store_get_db (fx->store);
  sqlite3_stmt *st = NULL;
  char *result = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  if (arg != NULL)
    sqlite3_bind_text (st, 1, arg, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (st, 0));
  else if (rc != SQLITE_DONE)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return result;
}

static void
assert_audit_ok (Fixture *fx)
{
  g_autofree char *verify = query (fx, "SELECT mts_audit_verify()", NULL);
  g_assert_cmpstr (verify, ==, "ok");
}

/* The newest outbox entry: "table|row|op|changed_columns|base_version". */
static char *
last_outbox (Fixture *fx)
{
  return query (fx, "SELECT table_name || '|' || row_id || '|' || op || '|' || "
                    "coalesce(changed_columns, '') || '|' || base_version "
                    "FROM sync_outbox ORDER BY seq DESC LIMIT 1", NULL);
}

static void
assert_last_outbox (Fixture *fx, const char *table, const char *id, const char *op,
                    const char *changed, gint64 base)
{
  g_autofree char *got = last_outbox (fx);
  g_autofree char *want = g_strdup_printf ("%s|%s|%s|%s|%" G_GINT64_FORMAT, table, id, op,
                                           changed ? changed : "", base);
  g_assert_cmpstr (got, ==, want);
}

/* The newest audit entry for @table: "action|row_id|changed_columns". */
static char *
last_audit (Fixture *fx, const char *table)
{
  return query (fx, "SELECT action || '|' || row_id || '|' || coalesce(changed_columns, '') "
                    "FROM mts_audit WHERE target = ?1 ORDER BY seq DESC LIMIT 1", table);
}

/* How many audit and outbox entries there are, "audit/outbox". */
static char *
counts (Fixture *fx)
{
  return query (fx, "SELECT (SELECT count(*) FROM mts_audit) || '/' || "
                    "(SELECT count(*) FROM sync_outbox)", NULL);
}

/* Sets row @id of @table to @version, as a sync would. */
static void
set_version (Fixture *fx, const char *table, const char *id, int version)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE %s SET version = %d WHERE id = ?1 "
                                          "RETURNING version", table, version);
  g_autofree char *got = query (fx, sql, id);
  g_assert_cmpint (atoi (got), ==, version);
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

/* Asserts that @call (taking &error_) fails with MTS_STORE_ERROR @code. */
#define FAILS(call, code)                                        \
  G_STMT_START                                                   \
  {                                                              \
    GError *error_ = NULL;                                       \
    gboolean ok_ = (call);                                       \
    g_assert_false (ok_);                                        \
    g_assert_error (error_, MTS_STORE_ERROR, code);              \
    g_test_message ("refused: %s", error_->message);             \
    g_error_free (error_);                                       \
  }                                                              \
  G_STMT_END

/* As FAILS, for a call that returns a pointer (NULL on failure). */
#define FAILS_NULL(call, code)                                   \
  G_STMT_START                                                   \
  {                                                              \
    GError *error_ = NULL;                                       \
    gpointer p_ = (call);                                        \
    g_assert_null (p_);                                          \
    g_assert_error (error_, MTS_STORE_ERROR, code);              \
    g_test_message ("refused: %s", error_->message);             \
    g_error_free (error_);                                       \
  }                                                              \
  G_STMT_END

static MtsSession *
add_session (Fixture *fx, const char *client_id, const char *starts, const char *ends,
             const char *location)
{
  g_autoptr (GError) error = NULL;
  MtsSession *s = mts_session_new ();

  s->client_id = g_strdup (client_id);
  s->clinician_id = g_strdup (fx->clinician_id);
  s->starts_at = g_strdup (starts);
  s->ends_at = g_strdup (ends);
  s->location = g_strdup (location);
  g_assert_true (mts_store_session_add (fx->store, s, &error));
  g_assert_no_error (error);
  return s;
}

static MtsAgreement *
add_agreement (Fixture *fx, const char *client_id, const char *body)
{
  g_autoptr (GError) error = NULL;
  MtsAgreement *a = mts_agreement_new ();

  a->client_id = g_strdup (client_id);
  a->title = g_strdup ("Therapy agreement");
  a->body = g_strdup (body);
  g_assert_true (mts_store_agreement_add (fx->store, a, &error));
  g_assert_no_error (error);
  return a;
}

static MtsInvoice *
add_invoice (Fixture *fx, const char *client_id, const char *number, gint64 amount)
{
  g_autoptr (GError) error = NULL;
  MtsInvoice *inv = mts_invoice_new ();

  inv->client_id = g_strdup (client_id);
  inv->number = g_strdup (number);
  inv->amount_pence = amount;
  g_assert_true (mts_store_invoice_add (fx->store, inv, &error));
  g_assert_no_error (error);
  return inv;
}

/* Issues draft @inv (its fields updated to match). */
static void
issue_invoice (Fixture *fx, MtsInvoice *inv, const char *number, const char *issued_on)
{
  g_autoptr (GError) error = NULL;

  g_free (inv->number);
  inv->number = g_strdup (number);
  g_free (inv->issued_on);
  inv->issued_on = g_strdup (issued_on);
  g_free (inv->status);
  inv->status = g_strdup ("issued");
  g_assert_true (mts_store_invoice_update (fx->store, inv, &error));
  g_assert_no_error (error);
}

static MtsPayment *
add_payment (Fixture *fx, const char *invoice_id, gint64 amount)
{
  g_autoptr (GError) error = NULL;
  MtsPayment *p = mts_payment_new ();

  p->invoice_id = g_strdup (invoice_id);
  p->paid_on = g_strdup ("2024-12-02");
  p->amount_pence = amount;
  p->method = g_strdup ("bank_transfer");
  g_assert_true (mts_store_payment_add (fx->store, p, &error));
  g_assert_no_error (error);
  return p;
}

static MtsRiskFlag *
add_risk_flag (Fixture *fx, const char *client_id, const char *level, const char *text)
{
  g_autoptr (GError) error = NULL;
  MtsRiskFlag *r = mts_risk_flag_new ();

  r->client_id = g_strdup (client_id);
  r->level = g_strdup (level);
  r->text = g_strdup (text);
  g_assert_true (mts_store_risk_flag_add (fx->store, r, &error));
  g_assert_no_error (error);
  return r;
}

static MtsNoteTemplate *
add_template (Fixture *fx, const char *name, const char *kind, const char *structure)
{
  g_autoptr (GError) error = NULL;
  MtsNoteTemplate *t = mts_note_template_new ();

  t->name = g_strdup (name);
  t->kind = g_strdup (kind);
  t->structure = g_strdup (structure);
  g_assert_true (mts_store_note_template_add (fx->store, t, &error));
  g_assert_no_error (error);
  return t;
}

static void
set_field (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* ---- sessions ---- */

static void
test_session_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) s = mts_session_new ();
  g_autoptr (MtsSession) earlier = NULL;
  g_autoptr (MtsSession) other = NULL;
  g_autoptr (MtsSession) got = NULL;
  g_autoptr (MtsSession) edited = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *before_noop = NULL;
  g_autofree char *after_noop = NULL;
  g_autofree char *tomb = NULL;
  g_autofree char *audit = NULL;

  s->client_id = g_strdup (fx->client_id);
  s->clinician_id = g_strdup (fx->clinician_id);
  s->starts_at = g_strdup ("2024-11-28T09:00:00Z");
  s->ends_at = g_strdup ("2024-11-28T09:50:00+00:00");
  s->modality = g_strdup ("video");
  s->has_fee = TRUE;
  s->fee_pence = 6000;
  s->location = g_strdup ("https://video.example/room/jane-4411");
  g_assert_true (mts_store_session_add (fx->store, s, &error));
  g_assert_no_error (error);
  g_assert_true (strlen (s->id) == 36 && s->id[14] == '7');   /* a UUIDv7 */
  g_assert_cmpint (s->version, ==, 0);
  g_assert_nonnull (s->created_at);
  g_assert_cmpstr (s->starts_at, ==, "2024-11-28T09:00:00.000Z");   /* the store's form */
  g_assert_cmpstr (s->ends_at, ==, "2024-11-28T09:50:00.000Z");
  g_assert_cmpstr (s->status, ==, "scheduled");                      /* the default */
  assert_last_outbox (fx, "sessions", s->id, "upsert",
                      "client_id,clinician_id,starts_at,ends_at,modality,status,fee_pence,"
                      "location,invoice_id", 0);
  audit = last_audit (fx, "sessions");
  g_assert_true (g_str_has_prefix (audit, "insert|"));

  got = mts_store_session_get (fx->store, s->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->id, ==, s->id);
  g_assert_cmpstr (got->client_id, ==, fx->client_id);
  g_assert_cmpstr (got->clinician_id, ==, fx->clinician_id);
  g_assert_cmpstr (got->starts_at, ==, "2024-11-28T09:00:00.000Z");
  g_assert_cmpstr (got->ends_at, ==, "2024-11-28T09:50:00.000Z");
  g_assert_cmpstr (got->modality, ==, "video");
  g_assert_cmpstr (got->status, ==, "scheduled");
  g_assert_true (got->has_fee);
  g_assert_cmpint (got->fee_pence, ==, 6000);
  g_assert_cmpstr (got->location, ==, "https://video.example/room/jane-4411");
  g_assert_null (got->invoice_id);
  g_assert_cmpstr (got->created_at, ==, s->created_at);

  /* Update, based on the version a sync gave the row. */
  set_version (fx, "sessions", s->id, 7);
  g_clear_pointer (&got, mts_session_free);
  got = mts_store_session_get (fx->store, s->id, &error);
  g_assert_cmpint (got->version, ==, 7);
  set_field (&got->status, "attended");
  set_field (&got->location, "Room 2, 1 Park Row, Leeds");
  got->has_fee = FALSE;
  g_assert_true (mts_store_session_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "sessions", s->id, "upsert", "status,fee_pence,location", 7);
  g_clear_pointer (&audit, g_free);
  audit = last_audit (fx, "sessions");
  g_assert_true (g_str_has_prefix (audit, "update|"));
  g_assert_nonnull (strstr (audit, "location"));
  edited = mts_store_session_get (fx->store, s->id, &error);
  g_assert_cmpstr (edited->status, ==, "attended");
  g_assert_cmpstr (edited->location, ==, "Room 2, 1 Park Row, Leeds");
  g_assert_false (edited->has_fee);
  g_assert_cmpstr (edited->modality, ==, "video");

  /* Nothing changed, nothing written. */
  before_noop = counts (fx);
  g_assert_true (mts_store_session_update (fx->store, edited, &error));
  g_assert_no_error (error);
  after_noop = counts (fx);
  g_assert_cmpstr (before_noop, ==, after_noop);

  /* List: the client's, by start. */
  earlier = add_session (fx, fx->client_id, "2024-11-21T09:00:00Z", "2024-11-21T09:50:00Z", NULL);
  other = add_session (fx, fx->other_client_id, "2024-11-20T09:00:00Z", "2024-11-20T09:50:00Z",
                       NULL);
  list = mts_store_session_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsSession *) list->pdata[0])->id, ==, earlier->id);
  g_assert_cmpstr (((MtsSession *) list->pdata[1])->id, ==, s->id);
  g_assert_cmpstr (((MtsSession *) list->pdata[1])->location, ==, "Room 2, 1 Park Row, Leeds");

  /* Delete: a tombstone with nothing readable, and an outbox delete. */
  g_assert_true (mts_store_session_delete (fx->store, s->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_session_get (fx->store, s->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_session_list (fx->store, fx->client_id, &error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpstr (((MtsSession *) after->pdata[0])->id, ==, earlier->id);
  tomb = query (fx, "SELECT deleted || '|' || coalesce(location, 'null') || '|' || "
                    "coalesce(mts_decrypt(location, 'sessions.location:' || id), 'null') "
                    "FROM sessions WHERE id = ?1", s->id);
  g_assert_cmpstr (tomb, ==, "1|null|null");
  assert_last_outbox (fx, "sessions", s->id, "delete", NULL, 7);
  FAILS (mts_store_session_delete (fx->store, s->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  assert_audit_ok (fx);
}

static void
test_session_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsSession) s = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                          "2024-11-28T09:50:00Z", NULL);
  g_autoptr (MtsSession) bad = mts_session_new ();
  g_autoptr (MtsSession) unknown = NULL;
  g_autoptr (MtsInvoice) other_invoice = add_invoice (fx, fx->other_client_id, NULL, 100);
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

#define RESET()                                                   \
  G_STMT_START                                                    \
  {                                                               \
    g_clear_pointer (&bad, mts_session_free);                     \
    bad = mts_session_new ();                                     \
    bad->client_id = g_strdup (fx->client_id);                    \
    bad->starts_at = g_strdup ("2024-12-01T10:00:00Z");           \
    bad->ends_at = g_strdup ("2024-12-01T10:50:00Z");             \
  }                                                               \
  G_STMT_END

  RESET ();
  set_field (&bad->modality, "carrier pigeon");
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  g_assert_null (bad->id);   /* a refused add leaves the record as it was */
  g_assert_cmpstr (bad->modality, ==, "carrier pigeon");
  RESET ();
  set_field (&bad->status, "postponed");
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->starts_at, NULL);
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->client_id, NULL);
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->starts_at, "2024-12-01T10:00:00");   /* no zone: ambiguous */
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->ends_at, "2024-12-01T09:59:59Z");    /* ends before it starts */
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->ends_at, "2024-12-01T11:00:00+01:00");   /* = 10:00Z: ends as it starts */
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  bad->has_fee = TRUE;
  bad->fee_pence = -1;
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  RESET ();
  set_field (&bad->client_id, NO_ID);
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  RESET ();
  set_field (&bad->clinician_id, NO_ID);
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  RESET ();
  set_field (&bad->invoice_id, NO_ID);
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  RESET ();
  set_field (&bad->invoice_id, other_invoice->id);   /* another client's invoice */
  FAILS (mts_store_session_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);

  /* Updates: the same checks, and the client is fixed. */
  set_field (&s->ends_at, "2024-11-28T08:00:00Z");
  FAILS (mts_store_session_update (fx->store, s, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&s->ends_at, "2024-11-28T09:50:00Z");
  set_field (&s->modality, "telepathy");
  FAILS (mts_store_session_update (fx->store, s, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&s->modality, NULL);
  set_field (&s->client_id, fx->other_client_id);
  FAILS (mts_store_session_update (fx->store, s, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&s->client_id, NULL);
  s->has_fee = TRUE;
  s->fee_pence = -500;
  FAILS (mts_store_session_update (fx->store, s, &error_), MTS_STORE_ERROR_INVALID);

  /* Unknown ids. */
  FAILS_NULL (mts_store_session_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  unknown = add_session (fx, fx->client_id, "2024-12-05T09:00:00Z", "2024-12-05T09:50:00Z", NULL);
  g_clear_pointer (&before, g_free);
  before = counts (fx);
  set_field (&unknown->id, NO_ID);
  FAILS (mts_store_session_update (fx->store, unknown, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_session_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);

  /* Nothing refused left an audit or outbox entry. */
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
#undef RESET
}

/* A session that notes name is not deleted; its documents let go of it. */
static void
test_session_delete_dependents (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) with_note = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                                  "2024-11-28T09:50:00Z", NULL);
  g_autoptr (MtsSession) with_doc = add_session (fx, fx->client_id, "2024-11-29T09:00:00Z",
                                                 "2024-11-29T09:50:00Z", NULL);
  g_autoptr (MtsNote) n = mts_note_new ();
  g_autoptr (MtsDocument) d = mts_document_new ();
  g_autoptr (MtsDocument) after = NULL;
  g_autoptr (MtsSession) still = NULL;
  g_autofree char *src = g_build_filename (fx->dir, "letter.txt", NULL);
  g_autofree char *outbox = NULL;

  n->client_id = g_strdup (fx->client_id);
  n->session_id = g_strdup (with_note->id);
  n->body = g_strdup ("S: ...");
  g_assert_true (mts_store_note_add (fx->store, n, &error));
  g_assert_no_error (error);
  FAILS (mts_store_session_delete (fx->store, with_note->id, &error_), MTS_STORE_ERROR_INVALID);
  still = mts_store_session_get (fx->store, with_note->id, &error);
  g_assert_no_error (error);

  g_assert_true (g_file_set_contents (src, "a letter", -1, NULL));
  d->client_id = g_strdup (fx->client_id);
  d->session_id = g_strdup (with_doc->id);
  g_assert_true (mts_store_document_add (fx->store, d, src, &error));
  g_assert_no_error (error);
  g_assert_true (mts_store_session_delete (fx->store, with_doc->id, &error));
  g_assert_no_error (error);
  after = mts_store_document_info (fx->store, d->id, &error);
  g_assert_no_error (error);
  g_assert_null (after->session_id);
  outbox = query (fx, "SELECT group_concat(table_name || ' ' || op || ' ' || "
                      "coalesce(changed_columns, ''), ', ') FROM (SELECT * FROM sync_outbox "
                      "ORDER BY seq DESC LIMIT 2)", NULL);
  g_assert_cmpstr (outbox, ==, "sessions delete , documents upsert session_id");
  assert_audit_ok (fx);
}

/* A record whose envelope no longer opens (here: one copied from another
 * row, which its context refuses) cannot be read, but can be deleted. */
static void
test_session_delete_damaged (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) a = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                          "2024-11-28T09:50:00Z", "Room 1");
  g_autoptr (MtsSession) b = add_session (fx, fx->client_id, "2024-11-29T09:00:00Z",
                                          "2024-11-29T09:50:00Z", "Room 2");
  g_autofree char *copied = query (fx, "UPDATE sessions SET location = (SELECT location FROM "
                                       "sessions WHERE id = ?1) WHERE id <> ?1 RETURNING id", a->id);

  g_assert_cmpstr (copied, ==, b->id);
  FAILS_NULL (mts_store_session_get (fx->store, b->id, &error_), MTS_STORE_ERROR_DB);
  g_assert_true (mts_store_session_delete (fx->store, b->id, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "sessions", b->id, "delete", NULL, 0);
  assert_audit_ok (fx);
}

/* ---- note templates ---- */

static void
test_note_template_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsNoteTemplate) soap = add_template (fx, "SOAP (standard)", "SOAP",
                                                   "[\"Subjective\",\"Objective\",\"Assessment\",\"Plan\"]");
  g_autoptr (MtsNoteTemplate) dap = add_template (fx, "DAP", "DAP", NULL);
  g_autoptr (MtsNoteTemplate) got = NULL;
  g_autoptr (MtsNoteTemplate) edited = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *tomb = NULL;

  g_assert_cmpstr (dap->structure, ==, "[]");   /* the default */
  assert_last_outbox (fx, "note_templates", dap->id, "upsert", "name,kind,structure", 0);
  got = mts_store_note_template_get (fx->store, soap->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->name, ==, "SOAP (standard)");
  g_assert_cmpstr (got->kind, ==, "SOAP");
  g_assert_cmpstr (got->structure, ==, "[\"Subjective\",\"Objective\",\"Assessment\",\"Plan\"]");

  set_version (fx, "note_templates", soap->id, 3);
  g_clear_pointer (&got, mts_note_template_free);
  got = mts_store_note_template_get (fx->store, soap->id, &error);
  set_field (&got->name, "SOAP (short)");
  set_field (&got->kind, NULL);   /* kept */
  g_assert_true (mts_store_note_template_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "note_templates", soap->id, "upsert", "name", 3);
  edited = mts_store_note_template_get (fx->store, soap->id, &error);
  g_assert_cmpstr (edited->name, ==, "SOAP (short)");
  g_assert_cmpstr (edited->kind, ==, "SOAP");

  list = mts_store_note_template_list (fx->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsNoteTemplate *) list->pdata[0])->name, ==, "DAP");   /* by name */
  g_assert_cmpstr (((MtsNoteTemplate *) list->pdata[1])->name, ==, "SOAP (short)");

  g_assert_true (mts_store_note_template_delete (fx->store, dap->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_note_template_get (fx->store, dap->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_note_template_list (fx->store, &error);
  g_assert_cmpuint (after->len, ==, 1);
  tomb = query (fx, "SELECT deleted FROM note_templates WHERE id = ?1", dap->id);
  g_assert_cmpstr (tomb, ==, "1");   /* nothing in a template is encrypted */
  assert_last_outbox (fx, "note_templates", dap->id, "delete", NULL, 0);
  assert_audit_ok (fx);
}

static void
test_note_template_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsNoteTemplate) t = add_template (fx, "BIRP", "BIRP", "[\"Behaviour\"]");
  g_autoptr (MtsNoteTemplate) bad = mts_note_template_new ();
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

  bad->name = g_strdup ("Mine");
  bad->kind = g_strdup ("GIRP");
  FAILS (mts_store_note_template_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->kind, NULL);   /* no default in the schema: required */
  FAILS (mts_store_note_template_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->kind, "free");
  set_field (&bad->name, "");
  FAILS (mts_store_note_template_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->name, "Mine");
  set_field (&bad->structure, "[\"unclosed\"");
  FAILS (mts_store_note_template_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->structure, "{\"a\": 1}");   /* valid JSON, not a list of headings */
  FAILS (mts_store_note_template_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);

  set_field (&t->kind, "BIRD");
  FAILS (mts_store_note_template_update (fx->store, t, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&t->kind, NULL);
  set_field (&t->name, NULL);
  FAILS (mts_store_note_template_update (fx->store, t, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&t->name, "BIRP");
  set_field (&t->id, NO_ID);
  FAILS (mts_store_note_template_update (fx->store, t, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS_NULL (mts_store_note_template_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_note_template_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- agreements ---- */

static void
test_agreement_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsAgreement) a = add_agreement (fx, fx->client_id, "I, Jane Doe, agree to ...");
  g_autoptr (MtsAgreement) other = add_agreement (fx, fx->other_client_id, "I, John Roe, ...");
  g_autoptr (MtsAgreement) second = NULL;
  g_autoptr (MtsAgreement) got = NULL;
  g_autoptr (MtsAgreement) edited = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *tomb = NULL;

  assert_last_outbox (fx, "agreements", other->id, "upsert",
                      "client_id,title,body,status,generated_at,signed_at,revoked_at", 0);
  g_assert_cmpstr (a->status, ==, "generated");
  g_assert_cmpstr (a->generated_at, ==, a->created_at);
  got = mts_store_agreement_get (fx->store, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->client_id, ==, fx->client_id);
  g_assert_cmpstr (got->title, ==, "Therapy agreement");
  g_assert_cmpstr (got->body, ==, "I, Jane Doe, agree to ...");
  g_assert_cmpstr (got->status, ==, "generated");
  g_assert_cmpstr (got->generated_at, ==, a->generated_at);
  g_assert_null (got->signed_at);
  g_assert_null (got->revoked_at);

  set_version (fx, "agreements", a->id, 2);
  g_clear_pointer (&got, mts_agreement_free);
  got = mts_store_agreement_get (fx->store, a->id, &error);
  set_field (&got->body, "I, Jane Doe, agree to weekly sessions ...");
  g_assert_true (mts_store_agreement_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "agreements", a->id, "upsert", "body", 2);
  edited = mts_store_agreement_get (fx->store, a->id, &error);
  g_assert_cmpstr (edited->body, ==, "I, Jane Doe, agree to weekly sessions ...");

  second = add_agreement (fx, fx->client_id, "Consent to recording ...");
  list = mts_store_agreement_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsAgreement *) list->pdata[0])->id, ==, a->id);
  g_assert_cmpstr (((MtsAgreement *) list->pdata[1])->body, ==, "Consent to recording ...");

  g_assert_true (mts_store_agreement_delete (fx->store, a->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_agreement_get (fx->store, a->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_agreement_list (fx->store, fx->client_id, &error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpstr (((MtsAgreement *) after->pdata[0])->id, ==, second->id);
  /* The title is kept (NOT NULL, and not about the client); the body is gone. */
  tomb = query (fx, "SELECT deleted || '|' || coalesce(body, 'null') || '|' || "
                    "coalesce(mts_decrypt(body, 'agreements.body:' || id), 'null') || '|' || title "
                    "FROM agreements WHERE id = ?1", a->id);
  g_assert_cmpstr (tomb, ==, "1|null|null|Therapy agreement");
  assert_last_outbox (fx, "agreements", a->id, "delete", NULL, 2);
  assert_audit_ok (fx);
}

static void
test_agreement_transitions (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsAgreement) a = add_agreement (fx, fx->client_id, "terms");
  g_autoptr (MtsAgreement) fresh = add_agreement (fx, fx->client_id, "other terms");
  g_autoptr (MtsAgreement) got = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  before = counts (fx);
  /* Out of order: revoking what was never signed. */
  FAILS (mts_store_agreement_revoke (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);

  g_assert_true (mts_store_agreement_sign (fx->store, a->id, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "agreements", a->id, "upsert", "status,signed_at", 0);
  got = mts_store_agreement_get (fx->store, a->id, &error);
  g_assert_cmpstr (got->status, ==, "signed");
  g_assert_nonnull (got->signed_at);
  g_assert_null (got->revoked_at);
  g_clear_pointer (&before, g_free);
  before = counts (fx);
  FAILS (mts_store_agreement_sign (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);
  /* A signed agreement's text does not change, nor its status by update... */
  set_field (&got->body, "new terms");
  FAILS (mts_store_agreement_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&got->body, "terms");
  set_field (&got->status, "revoked");
  FAILS (mts_store_agreement_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  /* ...and it is not deleted on its own. */
  FAILS (mts_store_agreement_delete (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);

  set_version (fx, "agreements", a->id, 5);
  g_assert_true (mts_store_agreement_revoke (fx->store, a->id, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "agreements", a->id, "upsert", "status,revoked_at", 5);
  g_clear_pointer (&got, mts_agreement_free);
  got = mts_store_agreement_get (fx->store, a->id, &error);
  g_assert_cmpstr (got->status, ==, "revoked");
  g_assert_nonnull (got->signed_at);
  g_assert_nonnull (got->revoked_at);
  g_assert_cmpstr (got->revoked_at, >=, got->signed_at);
  g_clear_pointer (&before, g_free);
  before = counts (fx);
  FAILS (mts_store_agreement_sign (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);
  FAILS (mts_store_agreement_revoke (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);
  FAILS (mts_store_agreement_delete (fx->store, a->id, &error_), MTS_STORE_ERROR_INVALID);
  /* The store sets the times: a caller's own are refused. */
  set_field (&fresh->signed_at, "2024-01-01T00:00:00.000Z");
  FAILS (mts_store_agreement_update (fx->store, fresh, &error_), MTS_STORE_ERROR_INVALID);
  g_clear_pointer (&after, g_free);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

static void
test_agreement_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsAgreement) bad = mts_agreement_new ();
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

  bad->client_id = g_strdup (fx->client_id);
  bad->title = g_strdup ("Therapy agreement");
  FAILS (mts_store_agreement_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);   /* no body */
  set_field (&bad->body, "terms");
  set_field (&bad->title, "");
  FAILS (mts_store_agreement_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->title, "Therapy agreement");
  set_field (&bad->status, "signed");   /* born signed: out of order */
  FAILS (mts_store_agreement_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->status, "pending");
  FAILS (mts_store_agreement_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->status, NULL);
  set_field (&bad->client_id, NO_ID);
  FAILS (mts_store_agreement_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS_NULL (mts_store_agreement_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_agreement_sign (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_agreement_revoke (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_agreement_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  set_field (&bad->id, NO_ID);
  FAILS (mts_store_agreement_update (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- invoices ---- */

static void
test_invoice_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsInvoice) inv = add_invoice (fx, fx->client_id, NULL, 12000);
  g_autoptr (MtsInvoice) second = add_invoice (fx, fx->client_id, "INV-0002", 6000);
  g_autoptr (MtsInvoice) other = add_invoice (fx, fx->other_client_id, NULL, 0);
  g_autoptr (MtsInvoice) got = NULL;
  g_autoptr (MtsInvoice) edited = NULL;
  g_autoptr (MtsInvoice) reused = NULL;
  g_autoptr (MtsSession) billed = NULL;
  g_autoptr (MtsSession) unbilled = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *tomb = NULL;
  g_autofree char *outbox = NULL;

  g_assert_cmpstr (inv->status, ==, "draft");
  assert_last_outbox (fx, "invoices", other->id, "upsert",
                      "client_id,number,issued_on,due_on,amount_pence,status", 0);
  got = mts_store_invoice_get (fx->store, inv->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->client_id, ==, fx->client_id);
  g_assert_null (got->number);
  g_assert_cmpint (got->amount_pence, ==, 12000);
  g_assert_cmpstr (got->status, ==, "draft");

  set_version (fx, "invoices", inv->id, 4);
  g_clear_pointer (&got, mts_invoice_free);
  got = mts_store_invoice_get (fx->store, inv->id, &error);
  got->amount_pence = 18000;
  set_field (&got->due_on, "2024-12-31");
  g_assert_true (mts_store_invoice_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "invoices", inv->id, "upsert", "due_on,amount_pence", 4);
  edited = mts_store_invoice_get (fx->store, inv->id, &error);
  g_assert_cmpint (edited->amount_pence, ==, 18000);
  g_assert_cmpstr (edited->due_on, ==, "2024-12-31");

  list = mts_store_invoice_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsInvoice *) list->pdata[0])->id, ==, inv->id);
  g_assert_cmpstr (((MtsInvoice *) list->pdata[1])->number, ==, "INV-0002");

  /* Deleting a draft frees its number and lets go of the sessions it billed. */
  billed = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z", "2024-11-28T09:50:00Z", NULL);
  set_field (&billed->invoice_id, second->id);
  g_assert_true (mts_store_session_update (fx->store, billed, &error));
  g_assert_no_error (error);
  g_assert_true (mts_store_invoice_delete (fx->store, second->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_invoice_get (fx->store, second->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_invoice_list (fx->store, fx->client_id, &error);
  g_assert_cmpuint (after->len, ==, 1);
  tomb = query (fx, "SELECT deleted || '|' || coalesce(number, 'null') FROM invoices WHERE id = ?1",
                second->id);
  g_assert_cmpstr (tomb, ==, "1|null");
  assert_last_outbox (fx, "invoices", second->id, "delete", NULL, 0);
  outbox = query (fx, "SELECT changed_columns FROM sync_outbox WHERE table_name = 'sessions' "
                      "ORDER BY seq DESC LIMIT 1", NULL);
  g_assert_cmpstr (outbox, ==, "invoice_id");
  unbilled = mts_store_session_get (fx->store, billed->id, &error);
  g_assert_null (unbilled->invoice_id);
  reused = add_invoice (fx, fx->client_id, "INV-0002", 6000);
  assert_audit_ok (fx);
}

static void
test_invoice_transitions (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsInvoice) inv = add_invoice (fx, fx->client_id, NULL, 6000);
  g_autoptr (MtsInvoice) direct = mts_invoice_new ();
  g_autoptr (MtsInvoice) got = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  /* draft → paid or void skips a step. */
  before = counts (fx);
  set_field (&inv->status, "paid");
  FAILS (mts_store_invoice_update (fx->store, inv, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&inv->status, "void");
  FAILS (mts_store_invoice_update (fx->store, inv, &error_), MTS_STORE_ERROR_INVALID);
  /* Issuing needs a number and a date. */
  set_field (&inv->status, "issued");
  FAILS (mts_store_invoice_update (fx->store, inv, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&inv->number, "INV-0100");
  FAILS (mts_store_invoice_update (fx->store, inv, &error_), MTS_STORE_ERROR_INVALID);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);

  issue_invoice (fx, inv, "INV-0100", "2024-11-28");
  assert_last_outbox (fx, "invoices", inv->id, "upsert", "number,issued_on,status", 0);
  got = mts_store_invoice_get (fx->store, inv->id, &error);
  g_assert_cmpstr (got->status, ==, "issued");
  g_assert_cmpstr (got->number, ==, "INV-0100");

  g_clear_pointer (&before, g_free);
  before = counts (fx);
  /* An issued invoice: no change but its status, never back to draft. */
  got->amount_pence = 1;
  FAILS (mts_store_invoice_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  got->amount_pence = 6000;
  set_field (&got->status, "draft");
  FAILS (mts_store_invoice_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  FAILS (mts_store_invoice_delete (fx->store, inv->id, &error_), MTS_STORE_ERROR_INVALID);
  g_clear_pointer (&after, g_free);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);

  set_field (&got->status, "paid");
  g_assert_true (mts_store_invoice_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "invoices", inv->id, "upsert", "status", 0);
  /* Paid is final. */
  g_clear_pointer (&before, g_free);
  before = counts (fx);
  set_field (&got->status, "void");
  FAILS (mts_store_invoice_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&got->status, "issued");
  FAILS (mts_store_invoice_update (fx->store, got, &error_), MTS_STORE_ERROR_INVALID);
  FAILS (mts_store_invoice_delete (fx->store, inv->id, &error_), MTS_STORE_ERROR_INVALID);
  g_clear_pointer (&after, g_free);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);

  /* Added already issued, then voided. */
  direct->client_id = g_strdup (fx->client_id);
  direct->number = g_strdup ("INV-0101");
  direct->issued_on = g_strdup ("2024-11-29");
  direct->due_on = g_strdup ("2024-12-13");
  direct->status = g_strdup ("issued");
  direct->amount_pence = 6000;
  g_assert_true (mts_store_invoice_add (fx->store, direct, &error));
  g_assert_no_error (error);
  set_field (&direct->status, "void");
  g_assert_true (mts_store_invoice_update (fx->store, direct, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "invoices", direct->id, "upsert", "status", 0);
  assert_audit_ok (fx);
}

static void
test_invoice_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsInvoice) used = add_invoice (fx, fx->client_id, "INV-0001", 100);
  g_autoptr (MtsInvoice) bad = mts_invoice_new ();
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

  bad->client_id = g_strdup (fx->client_id);
  bad->amount_pence = -1;
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  bad->amount_pence = 100;
  set_field (&bad->status, "overdue");
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->status, "paid");   /* a new invoice is a draft or issued */
  set_field (&bad->number, "INV-0009");
  set_field (&bad->issued_on, "2024-11-28");
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->status, "issued");
  set_field (&bad->issued_on, "28/11/2024");
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->issued_on, "2024-02-30");
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->issued_on, "2024-11-28");
  set_field (&bad->due_on, "2024-11-27");   /* due before issued */
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->due_on, NULL);
  set_field (&bad->number, "INV-0001");     /* already used */
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->number, "INV-0009");
  set_field (&bad->client_id, NULL);
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->client_id, NO_ID);
  FAILS (mts_store_invoice_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);

  used->amount_pence = -5;
  FAILS (mts_store_invoice_update (fx->store, used, &error_), MTS_STORE_ERROR_INVALID);
  used->amount_pence = 100;
  set_field (&used->client_id, fx->other_client_id);
  FAILS (mts_store_invoice_update (fx->store, used, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&used->id, NO_ID);
  set_field (&used->client_id, NULL);
  FAILS (mts_store_invoice_update (fx->store, used, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS_NULL (mts_store_invoice_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_invoice_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- payments ---- */

static void
test_payment_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsInvoice) inv = add_invoice (fx, fx->client_id, NULL, 12000);
  g_autoptr (MtsPayment) p = NULL;
  g_autoptr (MtsPayment) second = NULL;
  g_autoptr (MtsPayment) got = NULL;
  g_autoptr (MtsPayment) edited = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *tomb = NULL;

  issue_invoice (fx, inv, "INV-0200", "2024-11-28");
  p = add_payment (fx, inv->id, 6000);
  assert_last_outbox (fx, "payments", p->id, "upsert", "invoice_id,paid_on,amount_pence,method", 0);
  got = mts_store_payment_get (fx->store, p->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->invoice_id, ==, inv->id);
  g_assert_cmpstr (got->paid_on, ==, "2024-12-02");
  g_assert_cmpint (got->amount_pence, ==, 6000);
  g_assert_cmpstr (got->method, ==, "bank_transfer");

  set_version (fx, "payments", p->id, 9);
  g_clear_pointer (&got, mts_payment_free);
  got = mts_store_payment_get (fx->store, p->id, &error);
  set_field (&got->method, "card");
  set_field (&got->paid_on, "2024-12-01");
  g_assert_true (mts_store_payment_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "payments", p->id, "upsert", "paid_on,method", 9);
  edited = mts_store_payment_get (fx->store, p->id, &error);
  g_assert_cmpstr (edited->method, ==, "card");
  g_assert_cmpstr (edited->paid_on, ==, "2024-12-01");

  second = add_payment (fx, inv->id, 6000);
  list = mts_store_payment_list (fx->store, inv->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsPayment *) list->pdata[0])->id, ==, p->id);   /* by date */

  g_assert_true (mts_store_payment_delete (fx->store, second->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_payment_get (fx->store, second->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_payment_list (fx->store, inv->id, &error);
  g_assert_cmpuint (after->len, ==, 1);
  tomb = query (fx, "SELECT deleted FROM payments WHERE id = ?1", second->id);
  g_assert_cmpstr (tomb, ==, "1");
  assert_last_outbox (fx, "payments", second->id, "delete", NULL, 0);
  assert_audit_ok (fx);
}

static void
test_payment_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsInvoice) draft = add_invoice (fx, fx->client_id, NULL, 6000);
  g_autoptr (MtsInvoice) issued = add_invoice (fx, fx->client_id, NULL, 6000);
  g_autoptr (MtsPayment) ok = NULL;
  g_autoptr (MtsPayment) bad = mts_payment_new ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  issue_invoice (fx, issued, "INV-0300", "2024-11-28");
  ok = add_payment (fx, issued->id, 100);
  before = counts (fx);
  bad->invoice_id = g_strdup (draft->id);   /* a draft takes no payment */
  bad->paid_on = g_strdup ("2024-12-01");
  bad->amount_pence = 6000;
  bad->method = g_strdup ("cash");
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->invoice_id, issued->id);
  bad->amount_pence = -6000;
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  bad->amount_pence = 0;
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  bad->amount_pence = 6000;
  set_field (&bad->method, "cheque");
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->method, NULL);
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->method, "cash");
  set_field (&bad->paid_on, NULL);
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->paid_on, "2024-12-01");
  set_field (&bad->invoice_id, NO_ID);
  FAILS (mts_store_payment_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);

  ok->amount_pence = -1;
  FAILS (mts_store_payment_update (fx->store, ok, &error_), MTS_STORE_ERROR_INVALID);
  ok->amount_pence = 100;
  set_field (&ok->invoice_id, draft->id);
  FAILS (mts_store_payment_update (fx->store, ok, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&ok->invoice_id, NULL);
  set_field (&ok->id, NO_ID);
  FAILS (mts_store_payment_update (fx->store, ok, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS_NULL (mts_store_payment_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_payment_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- risk flags ---- */

static void
test_risk_flag_crud (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsRiskFlag) r = add_risk_flag (fx, fx->client_id, "medium",
                                             "Passive thoughts of self-harm, no plan");
  g_autoptr (MtsRiskFlag) second = NULL;
  g_autoptr (MtsRiskFlag) anonymous = NULL;
  g_autoptr (MtsRiskFlag) got = NULL;
  g_autoptr (MtsRiskFlag) edited = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *tomb = NULL;

  assert_last_outbox (fx, "risk_flags", r->id, "upsert",
                      "client_id,level,text,raised_by,raised_at,resolved_at", 0);
  g_assert_cmpstr (r->raised_by, ==, fx->clinician_id);   /* the actor */
  g_assert_cmpstr (r->raised_at, ==, r->created_at);      /* now */
  got = mts_store_risk_flag_get (fx->store, r->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->client_id, ==, fx->client_id);
  g_assert_cmpstr (got->level, ==, "medium");
  g_assert_cmpstr (got->text, ==, "Passive thoughts of self-harm, no plan");
  g_assert_cmpstr (got->raised_by, ==, fx->clinician_id);
  g_assert_null (got->resolved_at);

  set_version (fx, "risk_flags", r->id, 6);
  g_clear_pointer (&got, mts_risk_flag_free);
  got = mts_store_risk_flag_get (fx->store, r->id, &error);
  set_field (&got->level, "high");
  set_field (&got->resolved_at, "2099-01-01T00:00:00+00:00");
  g_assert_true (mts_store_risk_flag_update (fx->store, got, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "risk_flags", r->id, "upsert", "level,resolved_at", 6);
  edited = mts_store_risk_flag_get (fx->store, r->id, &error);
  g_assert_cmpstr (edited->level, ==, "high");
  g_assert_cmpstr (edited->resolved_at, ==, "2099-01-01T00:00:00.000Z");
  g_assert_cmpstr (edited->text, ==, "Passive thoughts of self-harm, no plan");

  /* An actor who is not a clinician still raises a risk, unattributed. */
  mts_store_set_actor (fx->store, "os:reception");
  anonymous = add_risk_flag (fx, fx->other_client_id, "low", "Mentions a dispute at home");
  g_assert_null (anonymous->raised_by);
  mts_store_set_actor (fx->store, fx->clinician_id);

  second = mts_risk_flag_new ();
  second->client_id = g_strdup (fx->client_id);
  second->level = g_strdup ("low");
  second->text = g_strdup ("Drinking more at weekends");
  second->raised_at = g_strdup ("2024-01-05T12:00:00Z");   /* raised earlier, recorded now */
  g_assert_true (mts_store_risk_flag_add (fx->store, second, &error));
  g_assert_no_error (error);
  list = mts_store_risk_flag_list (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((MtsRiskFlag *) list->pdata[0])->id, ==, second->id);   /* by raised_at */
  g_assert_cmpstr (((MtsRiskFlag *) list->pdata[1])->id, ==, r->id);

  g_assert_true (mts_store_risk_flag_delete (fx->store, r->id, &error));
  g_assert_no_error (error);
  FAILS_NULL (mts_store_risk_flag_get (fx->store, r->id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = mts_store_risk_flag_list (fx->store, fx->client_id, &error);
  g_assert_cmpuint (after->len, ==, 1);
  tomb = query (fx, "SELECT deleted || '|' || coalesce(text, 'null') || '|' || "
                    "coalesce(mts_decrypt(text, 'risk_flags.text:' || id), 'null') || '|' || level "
                    "FROM risk_flags WHERE id = ?1", r->id);
  g_assert_cmpstr (tomb, ==, "1|null|null|high");   /* level is NOT NULL: kept */
  assert_last_outbox (fx, "risk_flags", r->id, "delete", NULL, 6);
  assert_audit_ok (fx);
}

static void
test_risk_flag_refusals (Fixture *fx, gconstpointer data)
{
  g_autoptr (MtsRiskFlag) r = add_risk_flag (fx, fx->client_id, "low", "text");
  g_autoptr (MtsRiskFlag) bad = mts_risk_flag_new ();
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

  bad->client_id = g_strdup (fx->client_id);
  bad->text = g_strdup ("x");
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);   /* no level */
  set_field (&bad->level, "severe");
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->level, "high");
  set_field (&bad->text, "");
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->text, "x");
  set_field (&bad->raised_at, "2024-11-28T10:00:00Z");
  set_field (&bad->resolved_at, "2024-11-28T09:00:00Z");   /* resolved before raised */
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->resolved_at, "yesterday");
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&bad->resolved_at, NULL);
  set_field (&bad->raised_by, NO_ID);
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);
  set_field (&bad->raised_by, NULL);
  set_field (&bad->client_id, NO_ID);
  FAILS (mts_store_risk_flag_add (fx->store, bad, &error_), MTS_STORE_ERROR_NOT_FOUND);

  set_field (&r->level, "extreme");
  FAILS (mts_store_risk_flag_update (fx->store, r, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&r->level, NULL);
  set_field (&r->text, NULL);
  FAILS (mts_store_risk_flag_update (fx->store, r, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&r->text, "text");
  set_field (&r->raised_at, "2020-01-01T00:00:00Z");   /* when it was raised is fixed */
  FAILS (mts_store_risk_flag_update (fx->store, r, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&r->raised_at, NULL);
  set_field (&r->client_id, fx->other_client_id);
  FAILS (mts_store_risk_flag_update (fx->store, r, &error_), MTS_STORE_ERROR_INVALID);
  set_field (&r->client_id, NULL);
  set_field (&r->id, NO_ID);
  FAILS (mts_store_risk_flag_update (fx->store, r, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS_NULL (mts_store_risk_flag_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_risk_flag_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- AI consent ---- */

static void
test_ai_consent (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsAiConsent) first = NULL;
  g_autoptr (MtsAiConsent) second = NULL;
  g_autoptr (MtsAiConsent) again = NULL;
  g_autoptr (MtsClinician) other = mts_clinician_new ();
  g_autofree char *rows = NULL;
  g_autofree char *tomb = NULL;

  FAILS_NULL (mts_store_ai_consent_get (fx->store, fx->client_id, &error_),
              MTS_STORE_ERROR_NOT_FOUND);   /* never asked */
  g_assert_true (mts_store_ai_consent_set (fx->store, fx->client_id, TRUE, &error));
  g_assert_no_error (error);
  first = mts_store_ai_consent_get (fx->store, fx->client_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first->client_id, ==, fx->client_id);
  g_assert_true (first->consented);
  g_assert_cmpstr (first->recorded_by, ==, fx->clinician_id);
  g_assert_cmpstr (first->recorded_at, ==, first->created_at);
  assert_last_outbox (fx, "ai_consents", first->id, "upsert",
                      "client_id,consented,recorded_at,recorded_by", 0);

  /* Asked again, by another clinician: the same row, updated. */
  other->display_name = g_strdup ("Dr Ben Jones");
  g_assert_true (mts_store_clinician_add (fx->store, other, &error));
  mts_store_set_actor (fx->store, other->id);
  set_version (fx, "ai_consents", first->id, 3);
  g_usleep (2000);   /* recorded_at has millisecond resolution */
  g_assert_true (mts_store_ai_consent_set (fx->store, fx->client_id, FALSE, &error));
  g_assert_no_error (error);
  second = mts_store_ai_consent_get (fx->store, fx->client_id, &error);
  g_assert_cmpstr (second->id, ==, first->id);
  g_assert_false (second->consented);
  g_assert_cmpstr (second->recorded_by, ==, other->id);
  g_assert_cmpstr (second->recorded_at, >, first->recorded_at);
  assert_last_outbox (fx, "ai_consents", first->id, "upsert", "consented,recorded_at,recorded_by", 3);
  rows = query (fx, "SELECT count(*) FROM ai_consents WHERE client_id = ?1", fx->client_id);
  g_assert_cmpstr (rows, ==, "1");

  /* Deleted: a tombstone; asked again: the same row comes back. */
  g_assert_true (mts_store_ai_consent_delete (fx->store, fx->client_id, &error));
  g_assert_no_error (error);
  assert_last_outbox (fx, "ai_consents", first->id, "delete", NULL, 3);
  FAILS_NULL (mts_store_ai_consent_get (fx->store, fx->client_id, &error_),
              MTS_STORE_ERROR_NOT_FOUND);
  tomb = query (fx, "SELECT deleted FROM ai_consents WHERE id = ?1", first->id);
  g_assert_cmpstr (tomb, ==, "1");
  FAILS (mts_store_ai_consent_delete (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_NOT_FOUND);
  g_assert_true (mts_store_ai_consent_set (fx->store, fx->client_id, TRUE, &error));
  g_assert_no_error (error);
  again = mts_store_ai_consent_get (fx->store, fx->client_id, &error);
  g_assert_cmpstr (again->id, ==, first->id);
  g_assert_true (again->consented);
  assert_last_outbox (fx, "ai_consents", first->id, "upsert",
                      "deleted,client_id,consented,recorded_at,recorded_by", 3);
  g_clear_pointer (&rows, g_free);
  rows = query (fx, "SELECT count(*) FROM ai_consents", NULL);
  g_assert_cmpstr (rows, ==, "1");
  assert_audit_ok (fx);
}

static void
test_ai_consent_refusals (Fixture *fx, gconstpointer data)
{
  g_autofree char *before = counts (fx);
  g_autofree char *after = NULL;

  FAILS (mts_store_ai_consent_set (fx->store, NO_ID, TRUE, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_ai_consent_set (fx->store, NULL, TRUE, &error_), MTS_STORE_ERROR_INVALID);
  FAILS_NULL (mts_store_ai_consent_get (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  FAILS (mts_store_ai_consent_delete (fx->store, NO_ID, &error_), MTS_STORE_ERROR_NOT_FOUND);
  /* Only a clinician of the practice records the client's answer. */
  mts_store_set_actor (fx->store, "os:reception");
  FAILS (mts_store_ai_consent_set (fx->store, fx->client_id, TRUE, &error_),
         MTS_STORE_ERROR_INVALID);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* ---- across them all ---- */

/* Every call refuses a locked store, and writes nothing. */
static void
test_locked (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) s = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                          "2024-11-28T09:50:00Z", "Room 1");
  g_autoptr (MtsNoteTemplate) t = add_template (fx, "Free", "free", NULL);
  g_autoptr (MtsAgreement) a = add_agreement (fx, fx->client_id, "terms");
  g_autoptr (MtsInvoice) inv = add_invoice (fx, fx->client_id, NULL, 100);
  g_autoptr (MtsPayment) p = NULL;
  g_autoptr (MtsRiskFlag) r = add_risk_flag (fx, fx->client_id, "low", "text");
  g_autoptr (MtsSession) s2 = NULL;
  g_autoptr (MtsNoteTemplate) t2 = NULL;
  g_autoptr (MtsAgreement) a2 = NULL;
  g_autoptr (MtsInvoice) inv2 = NULL;
  g_autoptr (MtsPayment) p2 = NULL;
  g_autoptr (MtsRiskFlag) r2 = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  issue_invoice (fx, inv, "INV-0400", "2024-11-28");
  p = add_payment (fx, inv->id, 100);
  g_assert_true (mts_store_ai_consent_set (fx->store, fx->client_id, TRUE, &error));
  s2 = mts_store_session_get (fx->store, s->id, NULL);
  t2 = mts_store_note_template_get (fx->store, t->id, NULL);
  a2 = mts_store_agreement_get (fx->store, a->id, NULL);
  inv2 = mts_store_invoice_get (fx->store, inv->id, NULL);
  p2 = mts_store_payment_get (fx->store, p->id, NULL);
  r2 = mts_store_risk_flag_get (fx->store, r->id, NULL);
  set_field (&s2->location, "Room 2");
  set_field (&t2->name, "Free text");
  set_field (&a2->body, "new terms");
  set_field (&inv2->status, "paid");
  p2->amount_pence = 50;
  set_field (&r2->text, "new text");
  before = counts (fx);

  mts_store_lock (fx->store);
  FAILS (mts_store_session_add (fx->store, s, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_session_get (fx->store, s->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_session_update (fx->store, s2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_session_delete (fx->store, s->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_session_list (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_note_template_add (fx->store, t, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_note_template_get (fx->store, t->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_note_template_update (fx->store, t2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_note_template_delete (fx->store, t->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_note_template_list (fx->store, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_agreement_add (fx->store, a, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_agreement_get (fx->store, a->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_agreement_update (fx->store, a2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_agreement_sign (fx->store, a->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_agreement_revoke (fx->store, a->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_agreement_delete (fx->store, a->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_agreement_list (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_invoice_add (fx->store, inv, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_invoice_get (fx->store, inv->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_invoice_update (fx->store, inv2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_invoice_delete (fx->store, inv->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_invoice_list (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_payment_add (fx->store, p, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_payment_get (fx->store, p->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_payment_update (fx->store, p2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_payment_delete (fx->store, p->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_payment_list (fx->store, inv->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_risk_flag_add (fx->store, r, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_risk_flag_get (fx->store, r->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_risk_flag_update (fx->store, r2, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_risk_flag_delete (fx->store, r->id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_risk_flag_list (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_ai_consent_set (fx->store, fx->client_id, FALSE, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS_NULL (mts_store_ai_consent_get (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);
  FAILS (mts_store_ai_consent_delete (fx->store, fx->client_id, &error_), MTS_STORE_ERROR_LOCKED);

  g_assert_true (mts_store_unlock (fx->store, PASS, strlen (PASS), &error));
  g_assert_no_error (error);
  after = counts (fx);
  g_assert_cmpstr (before, ==, after);
  assert_audit_ok (fx);
}

/* Deleting a client takes every record here with it, each as a delete. */
static void
test_client_delete_takes_records (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) s G_GNUC_UNUSED = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                          "2024-11-28T09:50:00Z", "MARKER-CD-LOCATION");
  g_autoptr (MtsAgreement) a G_GNUC_UNUSED = add_agreement (fx, fx->client_id, "MARKER-CD-AGREEMENT");
  g_autoptr (MtsInvoice) inv = add_invoice (fx, fx->client_id, NULL, 6000);
  g_autoptr (MtsPayment) p = NULL;
  g_autoptr (MtsRiskFlag) r G_GNUC_UNUSED = add_risk_flag (fx, fx->client_id, "high", "MARKER-CD-RISK");
  g_autoptr (MtsRiskFlag) kept G_GNUC_UNUSED = add_risk_flag (fx, fx->other_client_id, "low", "kept");
  g_autofree char *deletes = NULL;
  g_autofree char *left = NULL;

  issue_invoice (fx, inv, "INV-0500", "2024-11-28");
  p = add_payment (fx, inv->id, 6000);
  g_assert_true (mts_store_ai_consent_set (fx->store, fx->client_id, TRUE, &error));
  g_assert_true (mts_store_client_delete (fx->store, fx->client_id, &error));
  g_assert_no_error (error);
  deletes = query (fx, "SELECT group_concat(table_name, ',') FROM (SELECT table_name FROM "
                       "sync_outbox WHERE op = 'delete' ORDER BY table_name)", NULL);
  g_assert_cmpstr (deletes, ==, "agreements,ai_consents,clients,invoices,payments,risk_flags,sessions");
  left = query (fx, "SELECT ((SELECT count(*) FROM sessions) + (SELECT count(*) FROM agreements) + "
                    "(SELECT count(*) FROM invoices) + (SELECT count(*) FROM payments) + "
                    "(SELECT count(*) FROM ai_consents)) || '/' || "
                    "(SELECT count(*) FROM risk_flags)", NULL);
  g_assert_cmpstr (left, ==, "0/1");
  g_assert_false (on_disk (fx, "MARKER-CD-"));
  assert_audit_ok (fx);
}

/* No plaintext of an encrypted field reaches the database files: the
 * values added, the values they were changed to, and those of deleted
 * records, searched in the raw bytes of practice.db and practice.db-wal
 * while the store is open and after it is closed. */
static void
test_no_plaintext_on_disk (Fixture *fx, gconstpointer data)
{
  static const char *const markers[] = {
    "QZX-SESSION-LOCATION-1", "QZX-SESSION-LOCATION-2", "QZX-SESSION-LOCATION-3",
    "QZX-AGREEMENT-BODY-1", "QZX-AGREEMENT-BODY-2", "QZX-AGREEMENT-BODY-3",
    "QZX-RISK-TEXT-1", "QZX-RISK-TEXT-2", "QZX-RISK-TEXT-3",
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsSession) s = add_session (fx, fx->client_id, "2024-11-28T09:00:00Z",
                                          "2024-11-28T09:50:00Z", markers[0]);
  g_autoptr (MtsSession) s_gone = add_session (fx, fx->client_id, "2024-11-29T09:00:00Z",
                                               "2024-11-29T09:50:00Z", markers[2]);
  g_autoptr (MtsAgreement) a = add_agreement (fx, fx->client_id, markers[3]);
  g_autoptr (MtsAgreement) a_gone = add_agreement (fx, fx->client_id, markers[5]);
  g_autoptr (MtsRiskFlag) r = add_risk_flag (fx, fx->client_id, "high", markers[6]);
  g_autoptr (MtsRiskFlag) r_gone = add_risk_flag (fx, fx->client_id, "low", markers[8]);
  g_autoptr (MtsInvoice) inv G_GNUC_UNUSED = add_invoice (fx, fx->client_id, "QZX-CONTROL-INVOICE-7", 100);
  g_autoptr (MtsNoteTemplate) t G_GNUC_UNUSED = add_template (fx, "QZX-CONTROL-TEMPLATE", "free", NULL);

  set_field (&s->location, markers[1]);
  g_assert_true (mts_store_session_update (fx->store, s, &error));
  set_field (&a->body, markers[4]);
  g_assert_true (mts_store_agreement_update (fx->store, a, &error));
  set_field (&r->text, markers[7]);
  g_assert_true (mts_store_risk_flag_update (fx->store, r, &error));
  g_assert_no_error (error);
  g_assert_true (mts_store_session_delete (fx->store, s_gone->id, &error));
  g_assert_true (mts_store_agreement_delete (fx->store, a_gone->id, &error));
  g_assert_true (mts_store_risk_flag_delete (fx->store, r_gone->id, &error));
  g_assert_no_error (error);
  assert_audit_ok (fx);

  for (int pass = 0; pass < 2; pass++)
    {
      if (pass == 1)
        g_clear_object (&fx->store);   /* checkpoints the WAL into the database file */
      for (gsize i = 0; i < G_N_ELEMENTS (markers); i++)
        if (on_disk (fx, markers[i]))
          g_error ("%s is in the database files (%s)", markers[i], pass ? "closed" : "open");
      /* ...while the same search finds what is stored in the clear. */
      g_assert_true (on_disk (fx, "QZX-CONTROL-INVOICE-7"));
      g_assert_true (on_disk (fx, "QZX-CONTROL-TEMPLATE"));
    }
  fx->store = mts_store_open (fx->dir, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/records/session/crud", test_session_crud);
  ADD ("/records/session/refusals", test_session_refusals);
  ADD ("/records/session/delete-dependents", test_session_delete_dependents);
  ADD ("/records/session/delete-damaged", test_session_delete_damaged);
  ADD ("/records/note-template/crud", test_note_template_crud);
  ADD ("/records/note-template/refusals", test_note_template_refusals);
  ADD ("/records/agreement/crud", test_agreement_crud);
  ADD ("/records/agreement/transitions", test_agreement_transitions);
  ADD ("/records/agreement/refusals", test_agreement_refusals);
  ADD ("/records/invoice/crud", test_invoice_crud);
  ADD ("/records/invoice/transitions", test_invoice_transitions);
  ADD ("/records/invoice/refusals", test_invoice_refusals);
  ADD ("/records/payment/crud", test_payment_crud);
  ADD ("/records/payment/refusals", test_payment_refusals);
  ADD ("/records/risk-flag/crud", test_risk_flag_crud);
  ADD ("/records/risk-flag/refusals", test_risk_flag_refusals);
  ADD ("/records/ai-consent/set-get-delete", test_ai_consent);
  ADD ("/records/ai-consent/refusals", test_ai_consent_refusals);
  ADD ("/records/locked", test_locked);
  ADD ("/records/client-delete-takes-records", test_client_delete_takes_records);
  ADD ("/records/no-plaintext-on-disk", test_no_plaintext_on_disk);
#undef ADD
  return g_test_run ();
}
