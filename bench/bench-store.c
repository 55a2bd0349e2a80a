/* bench-store.c — the practice-store benchmark (issue 4, "Speed").
 *
 * Builds, once per run, a store of BENCH_STORE_CLIENTS clients and 100,000
 * notes through the store API (mts_store_create at the "moderate" KDF level,
 * the default users get; one clinician; clients with name, e-mail, phone,
 * date of birth and address; notes of 1 KiB of seeded text), and beside it
 * an unencrypted copy: a plain SQLite database of the same shape holding
 * the same rows (same ids and times) in plaintext.  Then, in each of
 * --rounds rounds, reopens both and times
 *
 *   kdf           mts_keystore_unlock alone: the Argon2id part of unlocking;
 *   open          mts_store_open (plain: sqlite3_open_v2 and the pragmas);
 *   unlock        mts_store_unlock (plain, "schema": the first statement,
 *                 which reads the schema);
 *   list          mts_store_client_list: every client, sorted by name
 *                 (plain: ORDER BY display_name COLLATE NOCASE);
 *   search-name   mts_store_client_search for BENCH_STORE_SEARCH, a
 *                 substring of about 1% of the names (plain: LIKE '%dix%');
 *   search-email  mts_store_client_search for one client's exact e-mail
 *                 address (plain: WHERE email = ?);
 *   client-page   mts_store_client_get and mts_store_note_list for the one
 *                 client with 50 notes (plain: the row by id, then its
 *                 notes by client_id);
 *   names         store only: the query mts_store_unlock runs to load every
 *                 client's name, alone: the part of unlocking besides
 *                 Argon2id that grows with the number of clients;
 *
 * each once per round, in that order, straight after the reopen.  Plain
 * queries turn their rows into the same MtsClient and MtsNote records the
 * store returns, so both sides pay for the same allocations.  Every result
 * is checked against the other side (counts, the e-mail's client, the 50
 * note bodies) outside the timed regions.
 *
 * The notes are written as a practice writes them, week by week: in each of
 * 50 weeks every client seen that week gets a note, so one client's notes
 * are spread over the whole table, as they would be.  Every client has 10
 * notes except one, seen every week, which has 50, and the 4 newest
 * clients, which have none yet: 100,000 notes in all.
 *
 * Usage: bench-store [--rounds N] [--clients N]
 *   --clients is for trying the benchmark quickly; docs/performance.md is
 *   always produced with the default, 10,000.
 * Prints the lines described in bench-common.h; configurations "store" and
 * "plain", plus "store build-*" and "plain build" once per run.
 */
#define _GNU_SOURCE
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "mts-keystore.h"
#include "mts-store.h"

#define BENCH_STORE_CLIENTS 10000
#define BENCH_STORE_WEEKS 50        /* the busy client is seen every week: 50 notes */
#define BENCH_STORE_EVERY 5         /* everyone else every 5th week: 10 notes */
#define BENCH_STORE_NEW 4           /* the newest clients, no notes yet */
#define BENCH_STORE_SEARCH "dix"    /* in "Dixon" and no other name: about 1% */
#define BENCH_STORE_KDF "moderate"

static const char *const first_names[] = {
  "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
  "Leo", "Lily", "Arthur", "Freya", "Muhammad", "Florence", "Oscar", "Grace", "Charlie",
  "Sophia", "Jacob", "Emily", "Thomas", "Ella", "Henry", "Poppy", "Alfie", "Evie", "Joshua",
  "Rosie", "Archie", "Willow", "James", "Sienna", "Theo", "Daisy", "William", "Alice",
  "Isaac", "Matilda", "Edward", "Harper", "Finley", "Aisha", "Rory", "Priya", "Callum",
  "Niamh", "Owen", "Siobhan",
};

static const char *const surnames[] = {
  "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
  "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
  "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper",
  "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee",
  "Allen", "Morris", "Khan", "Scott", "Watson", "Davis", "Parker", "James", "Bennett",
  "Young", "Phillips", "Richardson", "Mitchell", "Bailey", "Carter", "Cook", "Singh", "Shaw",
  "Bell", "Collins", "Morgan", "Kelly", "Begum", "Miller", "Cox", "Hussain", "Marshall",
  "Simpson", "Price", "Anderson", "Adams", "Wilkinson", "Ali", "Ahmed", "Foster", "Ellis",
  "Murphy", "Chapman", "Mason", "Gray", "Richards", "Webb", "Griffiths", "Hunt", "Palmer",
  "Campbell", "Holmes", "Mills", "Barnes", "Knight", "Matthews", "Barker", "Powell",
  "Stevens", "Kaur", "Fisher", "Butler", "Dixon", "Russell", "Harvey", "Pearson", "Graham",
  "Okafor", "Nowak",
};

static const char *const streets[] = {
  "Acacia Road", "Station Road", "Church Lane", "Victoria Street", "Park Avenue",
  "Mill Lane", "The Crescent", "Queens Road", "Manor Way", "Hillside Close",
};

static const char *const towns[] = {
  "Leeds LS6", "Bristol BS3", "Norwich NR2", "Cardiff CF24", "Glasgow G12",
  "Brighton BN1", "York YO10", "Belfast BT7", "Sheffield S11", "Exeter EX4",
};

static const char *const note_words[] = {
  "client", "reported", "low", "mood", "this", "week", "and", "difficulty", "sleeping",
  "we", "explored", "triggers", "at", "work", "with", "her", "manager", "his", "partner",
  "anxiety", "rated", "six", "out", "of", "ten", "down", "from", "eight", "homework",
  "thought", "record", "completed", "partly", "discussed", "grounding", "techniques",
  "breathing", "exercise", "practised", "in", "session", "no", "risk", "indicators",
  "safety", "plan", "reviewed", "plan:", "continue", "weekly", "sessions", "behavioural",
  "activation", "schedule", "agreed", "affect", "flat", "engaged", "well", "tearful",
  "when", "talking", "about", "family", "bereavement", "last", "year", "goals", "revisited",
  "progress", "noted", "Subjective:", "Objective:", "Assessment:", "Plan:", "Data:",
};

static const char *const note_kinds[] = { "SOAP", "DAP", "BIRP", "free" };

/* ---- seeded data ---- */

static uint64_t
mix64 (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* Client @i's fields, the same in every run. */
static MtsClient *
client_fields (long i, const char *clinician_id)
{
  MtsClient *c = mts_client_new ();
  uint64_t r = mix64 (0x51a7e00000000000ULL + (uint64_t) i);
  const char *first = first_names[r % G_N_ELEMENTS (first_names)];
  const char *last = surnames[(r >> 8) % G_N_ELEMENTS (surnames)];
  g_autofree char *local = g_ascii_strdown (first, -1);
  g_autofree char *local_last = g_ascii_strdown (last, -1);

  c->display_name = g_strdup_printf ("%s %s", first, last);
  c->email = g_strdup_printf ("%s.%s.%ld@example.org", local, local_last, i);
  c->phone = g_strdup_printf ("07%03u %06ld", (unsigned) ((r >> 16) % 1000), i);
  c->date_of_birth = g_strdup_printf ("%04u-%02u-%02u", 1950 + (unsigned) ((r >> 26) % 56),
                                      1 + (unsigned) ((r >> 32) % 12), 1 + (unsigned) ((r >> 36) % 28));
  c->address = g_strdup_printf ("%u %s, %s %u%c%c", 1 + (unsigned) ((r >> 40) % 180),
                                streets[(r >> 48) % G_N_ELEMENTS (streets)],
                                towns[(r >> 52) % G_N_ELEMENTS (towns)], 1 + (unsigned) ((r >> 56) % 9),
                                'A' + (int) ((r >> 58) % 26), 'A' + (int) ((r >> 3) % 26));
  c->status = g_strdup ("active");
  c->clinician_id = g_strdup (clinician_id);
  return c;
}

/* Note @k's body: BENCH_NOTE_BYTES bytes of seeded words. (transfer full) */
static char *
note_body (long k)
{
  GString *s = g_string_sized_new (BENCH_NOTE_BYTES + 32);
  uint64_t state = 0x4e07e00000000000ULL + (uint64_t) k;

  while (s->len < BENCH_NOTE_BYTES)
    {
      state = mix64 (state);
      if (s->len > 0)
        g_string_append_c (s, state % 9 == 0 ? '.' : ' ');
      g_string_append (s, note_words[(state >> 8) % G_N_ELEMENTS (note_words)]);
    }
  g_string_truncate (s, BENCH_NOTE_BYTES - 1);
  g_string_append_c (s, '.');
  return g_string_free (s, FALSE);
}

/* ---- helpers ---- */

static void
die_error (const char *what, GError *error)
{
  bench_die ("%s: %s", what, error ? error->message : "failed");
}

static void
exec_or_die (sqlite3 *db, const char *sql)
{
  char *err = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK)
    bench_die ("%s: %s", sql, err ? err : sqlite3_errmsg (db));
}

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    bench_die ("%s: %s", sql, sqlite3_errmsg (db));
  return st;
}

static void
bind_text (sqlite3_stmt *st, int i, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (st, i, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (st, i);
}

static char *
column_dup (sqlite3_stmt *st, int i)
{
  return g_strdup ((const char *) sqlite3_column_text (st, i));
}

static long
file_size (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf sb;

  return g_stat (path, &sb) == 0 ? (long) sb.st_size : 0;
}

/* ---- the unencrypted copy ---- */

static const char plain_schema[] =
  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
  "CREATE TABLE clinicians (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL DEFAULT 0,"
  "  deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
  "  display_name TEXT, email TEXT, role TEXT);"
  "CREATE TABLE clients (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL DEFAULT 0,"
  "  deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
  "  display_name TEXT, date_of_birth TEXT, email TEXT, phone TEXT, address TEXT,"
  "  status TEXT NOT NULL DEFAULT 'active', clinician_id TEXT REFERENCES clinicians (id));"
  "CREATE INDEX clients_email ON clients (email);"
  "CREATE INDEX clients_phone ON clients (phone);"
  "CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL DEFAULT 0,"
  "  deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
  "  client_id TEXT NOT NULL REFERENCES clients (id), session_id TEXT,"
  "  clinician_id TEXT REFERENCES clinicians (id), template_kind TEXT NOT NULL DEFAULT 'free',"
  "  body TEXT, status TEXT NOT NULL DEFAULT 'draft', signed_by TEXT, signed_at TEXT,"
  "  amends_id TEXT, ai_assisted INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX notes_client ON notes (client_id, created_at);";

static const char plain_summary[] =
  "SELECT id, display_name, version, status, clinician_id, created_at, updated_at FROM clients ";

static sqlite3 *
plain_open (const char *path)
{
  sqlite3 *db;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    bench_die ("cannot open %s", path);
  sqlite3_busy_timeout (db, 5000);
  exec_or_die (db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
  return db;
}

/* Runs @st (bound) and returns its rows as summary MtsClient records. */
static GPtrArray *
plain_summaries (sqlite3 *db, sqlite3_stmt *st)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_client_free);
  int rc;

  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      MtsClient *c = mts_client_new ();

      c->id = column_dup (st, 0);
      c->display_name = column_dup (st, 1);
      c->version = sqlite3_column_int64 (st, 2);
      c->status = column_dup (st, 3);
      c->clinician_id = column_dup (st, 4);
      c->created_at = column_dup (st, 5);
      c->updated_at = column_dup (st, 6);
      g_ptr_array_add (list, c);
    }
  if (rc != SQLITE_DONE)
    bench_die ("plain query: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return list;
}

static GPtrArray *
plain_list (sqlite3 *db)
{
  g_autofree char *sql = g_strconcat (plain_summary, "WHERE deleted = 0 "
                                      "ORDER BY display_name COLLATE NOCASE, id", NULL);

  return plain_summaries (db, prepare (db, sql));
}

static GPtrArray *
plain_search_name (sqlite3 *db, const char *text)
{
  g_autofree char *sql = g_strconcat (plain_summary, "WHERE deleted = 0 AND display_name "
                                      "LIKE '%' || ?1 || '%' ORDER BY display_name COLLATE NOCASE, id",
                                      NULL);
  sqlite3_stmt *st = prepare (db, sql);

  bind_text (st, 1, text);
  return plain_summaries (db, st);
}

static GPtrArray *
plain_search_email (sqlite3 *db, const char *email)
{
  g_autofree char *sql = g_strconcat (plain_summary, "WHERE deleted = 0 AND email = ?1", NULL);
  sqlite3_stmt *st = prepare (db, sql);

  bind_text (st, 1, email);
  return plain_summaries (db, st);
}

static MtsClient *
plain_client_get (sqlite3 *db, const char *id)
{
  sqlite3_stmt *st = prepare (db, "SELECT id, version, created_at, updated_at, display_name, "
                                  "date_of_birth, email, phone, address, status, clinician_id "
                                  "FROM clients WHERE id = ?1 AND deleted = 0");
  MtsClient *c;

  bind_text (st, 1, id);
  if (sqlite3_step (st) != SQLITE_ROW)
    bench_die ("plain: no client %s", id);
  c = mts_client_new ();
  c->id = column_dup (st, 0);
  c->version = sqlite3_column_int64 (st, 1);
  c->created_at = column_dup (st, 2);
  c->updated_at = column_dup (st, 3);
  c->display_name = column_dup (st, 4);
  c->date_of_birth = column_dup (st, 5);
  c->email = column_dup (st, 6);
  c->phone = column_dup (st, 7);
  c->address = column_dup (st, 8);
  c->status = column_dup (st, 9);
  c->clinician_id = column_dup (st, 10);
  sqlite3_finalize (st);
  return c;
}

static GPtrArray *
plain_note_list (sqlite3 *db, const char *client_id)
{
  sqlite3_stmt *st = prepare (db, "SELECT id, version, created_at, updated_at, client_id, "
                                  "session_id, clinician_id, template_kind, body, status, "
                                  "signed_by, signed_at, amends_id, ai_assisted FROM notes "
                                  "WHERE client_id = ?1 AND deleted = 0 ORDER BY created_at, id");
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_note_free);
  int rc;

  bind_text (st, 1, client_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      MtsNote *n = mts_note_new ();

      n->id = column_dup (st, 0);
      n->version = sqlite3_column_int64 (st, 1);
      n->created_at = column_dup (st, 2);
      n->updated_at = column_dup (st, 3);
      n->client_id = column_dup (st, 4);
      n->session_id = column_dup (st, 5);
      n->clinician_id = column_dup (st, 6);
      n->template_kind = column_dup (st, 7);
      n->body = column_dup (st, 8);
      n->status = column_dup (st, 9);
      n->signed_by = column_dup (st, 10);
      n->signed_at = column_dup (st, 11);
      n->amends_id = column_dup (st, 12);
      n->ai_assisted = sqlite3_column_int (st, 13) != 0;
      g_ptr_array_add (list, n);
    }
  if (rc != SQLITE_DONE)
    bench_die ("plain notes: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return list;
}

/* ---- building ---- */

typedef struct {
  long n_clients;
  long n_notes;
  long busy;            /* the client with 50 notes */
  long email_client;    /* the client whose e-mail is looked up */
  GPtrArray *clients;   /* MtsClient, as added (ids and times set by the store) */
  char *clinician_id;
} Practice;

/* Whether client @c has a note in week @w. */
static gboolean
seen_in_week (const Practice *p, long c, int w)
{
  if (c == p->busy)
    return TRUE;
  if (c >= p->n_clients - BENCH_STORE_NEW)
    return FALSE;
  return w % BENCH_STORE_EVERY == c % BENCH_STORE_EVERY;
}

/* Builds the store in @store_dir and the plain copy at @plain_path. */
static void
build (Practice *p, const char *store_dir, const char *plain_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();
  sqlite3 *db;
  sqlite3_stmt *st;
  double t0, t_create, t_clients, t_notes, t_plain;
  long k = 0;

  t0 = bench_now ();
  store = mts_store_create (store_dir, BENCH_PASSPHRASE, strlen (BENCH_PASSPHRASE),
                            BENCH_STORE_KDF, &error);
  if (store == NULL)
    die_error ("mts_store_create", error);
  clinician->display_name = g_strdup ("Dr Ruth Ellison");
  clinician->email = g_strdup ("ruth.ellison@example.org");
  if (!mts_store_clinician_add (store, clinician, &error))
    die_error ("mts_store_clinician_add", error);
  mts_store_set_actor (store, clinician->id);
  p->clinician_id = g_strdup (clinician->id);
  t_create = bench_now () - t0;

  t0 = bench_now ();
  for (long i = 0; i < p->n_clients; i++)
    {
      MtsClient *c = client_fields (i, p->clinician_id);

      if (!mts_store_client_add (store, c, &error))
        die_error ("mts_store_client_add", error);
      g_ptr_array_add (p->clients, c);
    }
  t_clients = bench_now () - t0;

  /* The plain copy: clinician and clients in one transaction (timed), then
   * each note as the store writes it, with the same id and times, in one
   * open transaction that is not timed with the store. */
  db = plain_open (plain_path);
  exec_or_die (db, plain_schema);
  t0 = bench_now ();
  exec_or_die (db, "BEGIN");
  st = prepare (db, "INSERT INTO clinicians (id, created_at, updated_at, display_name, email, role) "
                    "VALUES (?1, ?2, ?2, ?3, ?4, 'clinician')");
  bind_text (st, 1, clinician->id);
  bind_text (st, 2, clinician->created_at);
  bind_text (st, 3, clinician->display_name);
  bind_text (st, 4, clinician->email);
  if (sqlite3_step (st) != SQLITE_DONE)
    bench_die ("plain clinician: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  st = prepare (db, "INSERT INTO clients (id, created_at, updated_at, display_name, date_of_birth, "
                    "email, phone, address, status, clinician_id) "
                    "VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  for (long i = 0; i < p->n_clients; i++)
    {
      MtsClient *c = p->clients->pdata[i];

      bind_text (st, 1, c->id);
      bind_text (st, 2, c->created_at);
      bind_text (st, 3, c->display_name);
      bind_text (st, 4, c->date_of_birth);
      bind_text (st, 5, c->email);
      bind_text (st, 6, c->phone);
      bind_text (st, 7, c->address);
      bind_text (st, 8, c->status);
      bind_text (st, 9, c->clinician_id);
      if (sqlite3_step (st) != SQLITE_DONE)
        bench_die ("plain client: %s", sqlite3_errmsg (db));
      sqlite3_reset (st);
    }
  sqlite3_finalize (st);
  exec_or_die (db, "COMMIT");
  t_plain = bench_now () - t0;

  exec_or_die (db, "BEGIN");
  st = prepare (db, "INSERT INTO notes (id, created_at, updated_at, client_id, clinician_id, "
                    "template_kind, body) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)");
  t_notes = 0;
  for (int w = 0; w < BENCH_STORE_WEEKS; w++)
    for (long i = 0; i < p->n_clients; i++)
      {
        g_autoptr (MtsNote) n = NULL;
        double t1;

        if (!seen_in_week (p, i, w))
          continue;
        n = mts_note_new ();
        n->client_id = g_strdup (((MtsClient *) p->clients->pdata[i])->id);
        n->clinician_id = g_strdup (p->clinician_id);
        n->template_kind = g_strdup (note_kinds[k % G_N_ELEMENTS (note_kinds)]);
        n->body = note_body (k);
        t1 = bench_now ();
        if (!mts_store_note_add (store, n, &error))
          die_error ("mts_store_note_add", error);
        t_notes += bench_now () - t1;
        bind_text (st, 1, n->id);
        bind_text (st, 2, n->created_at);
        bind_text (st, 3, n->client_id);
        bind_text (st, 4, n->clinician_id);
        bind_text (st, 5, n->template_kind);
        bind_text (st, 6, n->body);
        if (sqlite3_step (st) != SQLITE_DONE)
          bench_die ("plain note: %s", sqlite3_errmsg (db));
        sqlite3_reset (st);
        k++;
        if (k % 10000 == 0)
          fprintf (stderr, "bench-store: %ld notes written\n", k);
      }
  sqlite3_finalize (st);
  p->n_notes = k;
  exec_or_die (db, "COMMIT");
  exec_or_die (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close (db);
  g_clear_object (&store);

  bench_result ("store", "build-create", t_create, 1);
  bench_result ("store", "build-clients", t_clients, p->n_clients);
  bench_result ("store", "build-notes", t_notes, p->n_notes);
  bench_result ("plain", "build-clients", t_plain, p->n_clients);
}

/* ---- measuring ---- */

static void
check (gboolean ok, const char *what)
{
  if (!ok)
    bench_die ("check failed: %s", what);
}

/* Every record in @list has @needle in its name (case-insensitively). */
static void
check_names_contain (GPtrArray *list, const char *needle, const char *what)
{
  for (guint i = 0; i < list->len; i++)
    {
      g_autofree char *folded = g_utf8_casefold (((MtsClient *) list->pdata[i])->display_name, -1);
      check (strstr (folded, needle) != NULL, what);
    }
}

static void
round_store (const Practice *p, const char *store_dir, GPtrArray *plain_results[4])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (GPtrArray) list = NULL, by_name = NULL, by_email = NULL, notes = NULL;
  g_autoptr (MtsClient) busy = NULL;
  g_autofree char *keystore = g_build_filename (store_dir, "practice.mtskey", NULL);
  const MtsClient *busy_in = p->clients->pdata[p->busy];
  const MtsClient *email_in = p->clients->pdata[p->email_client];
  MtsKeystore *ks;
  sqlite3_stmt *names;
  long n_names = 0;
  double t0;
  int rc;

  /* The Argon2id part alone: what mts_store_unlock spends in the keystore. */
  t0 = bench_now ();
  ks = mts_keystore_unlock (keystore, BENCH_PASSPHRASE, strlen (BENCH_PASSPHRASE), &error);
  bench_result ("store", "kdf", bench_now () - t0, 1);
  if (ks == NULL)
    die_error ("mts_keystore_unlock", error);
  mts_keystore_free (ks);

  t0 = bench_now ();
  store = mts_store_open (store_dir, &error);
  bench_result ("store", "open", bench_now () - t0, 1);
  if (store == NULL)
    die_error ("mts_store_open", error);
  t0 = bench_now ();
  if (!mts_store_unlock (store, BENCH_PASSPHRASE, strlen (BENCH_PASSPHRASE), &error))
    die_error ("mts_store_unlock", error);
  bench_result ("store", "unlock", bench_now () - t0, 1);

  t0 = bench_now ();
  list = mts_store_client_list (store, &error);
  bench_result ("store", "list", bench_now () - t0, list ? (long) list->len : 0);
  if (list == NULL)
    die_error ("mts_store_client_list", error);

  t0 = bench_now ();
  by_name = mts_store_client_search (store, BENCH_STORE_SEARCH, &error);
  bench_result ("store", "search-name", bench_now () - t0, by_name ? (long) by_name->len : 0);
  if (by_name == NULL)
    die_error ("mts_store_client_search", error);

  t0 = bench_now ();
  by_email = mts_store_client_search (store, email_in->email, &error);
  bench_result ("store", "search-email", bench_now () - t0, by_email ? (long) by_email->len : 0);
  if (by_email == NULL)
    die_error ("mts_store_client_search", error);

  t0 = bench_now ();
  busy = mts_store_client_get (store, busy_in->id, &error);
  if (busy != NULL)
    notes = mts_store_note_list (store, busy_in->id, &error);
  bench_result ("store", "client-page", bench_now () - t0, notes ? (long) notes->len : 0);
  if (notes == NULL)
    die_error ("mts_store_client_get/note_list", error);

  /* The part of unlocking after Argon2id that grows with the practice:
   * load_names's query (every name decrypted), run alone on the store's
   * connection, without the case folding and sort keys it adds. */
  t0 = bench_now ();
  names = prepare (mts_store_get_db (store), "SELECT id, mts_decrypt(display_name, "
                                             "'clients.display_name:' || id) FROM clients "
                                             "WHERE deleted = 0");
  while ((rc = sqlite3_step (names)) == SQLITE_ROW)
    n_names++;
  sqlite3_finalize (names);
  bench_result ("store", "names", bench_now () - t0, n_names);
  if (rc != SQLITE_DONE)
    bench_die ("names: %s", sqlite3_errmsg (mts_store_get_db (store)));

  /* Checked against what was written and against the plain copy. */
  check (n_names == p->n_clients, "names count");
  check (list->len == (guint) p->n_clients && list->len == plain_results[0]->len, "list count");
  check (by_name->len == plain_results[1]->len && by_name->len > 0, "name search count");
  check_names_contain (by_name, BENCH_STORE_SEARCH, "name search results");
  check (by_email->len == 1 && plain_results[2]->len == 1
         && strcmp (((MtsClient *) by_email->pdata[0])->id, email_in->id) == 0
         && strcmp (((MtsClient *) plain_results[2]->pdata[0])->id, email_in->id) == 0,
         "e-mail lookup");
  check (strcmp (busy->email, busy_in->email) == 0 && strcmp (busy->address, busy_in->address) == 0,
         "client fields");
  check (notes->len == BENCH_STORE_WEEKS && notes->len == plain_results[3]->len, "note count");
  for (guint i = 0; i < notes->len; i++)
    {
      const MtsNote *a = notes->pdata[i], *b = plain_results[3]->pdata[i];
      check (strcmp (a->id, b->id) == 0 && strcmp (a->body, b->body) == 0, "note bodies");
    }
}

/* The plain copy's round; leaves its results in @results for the checks. */
static void
round_plain (const Practice *p, const char *plain_path, GPtrArray *results[4])
{
  const MtsClient *busy_in = p->clients->pdata[p->busy];
  const MtsClient *email_in = p->clients->pdata[p->email_client];
  g_autoptr (MtsClient) busy = NULL;
  sqlite3 *db;
  double t0;

  t0 = bench_now ();
  db = plain_open (plain_path);
  bench_result ("plain", "open", bench_now () - t0, 1);
  t0 = bench_now ();
  exec_or_die (db, "SELECT 1 FROM clients LIMIT 1");   /* reads the schema */
  bench_result ("plain", "schema", bench_now () - t0, 1);

  t0 = bench_now ();
  results[0] = plain_list (db);
  bench_result ("plain", "list", bench_now () - t0, results[0]->len);

  t0 = bench_now ();
  results[1] = plain_search_name (db, BENCH_STORE_SEARCH);
  bench_result ("plain", "search-name", bench_now () - t0, results[1]->len);

  t0 = bench_now ();
  results[2] = plain_search_email (db, email_in->email);
  bench_result ("plain", "search-email", bench_now () - t0, results[2]->len);

  t0 = bench_now ();
  busy = plain_client_get (db, busy_in->id);
  results[3] = plain_note_list (db, busy_in->id);
  bench_result ("plain", "client-page", bench_now () - t0, results[3]->len);

  sqlite3_close (db);
}

int
main (int argc, char **argv)
{
  Practice p = { 0 };
  g_autofree char *store_dir = NULL, *plain_path = NULL;
  char *dir;
  int rounds = 7;
  guint64 ops, mem;

  p.n_clients = BENCH_STORE_CLIENTS;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--rounds") == 0 && i + 1 < argc)
        rounds = atoi (argv[++i]);
      else if (strcmp (argv[i], "--clients") == 0 && i + 1 < argc)
        p.n_clients = atol (argv[++i]);
      else
        bench_die ("usage: bench-store [--rounds N] [--clients N]");
    }
  if (rounds < 1 || p.n_clients < 2 * BENCH_STORE_NEW)
    bench_die ("usage: bench-store [--rounds N >= 1] [--clients N >= %d]", 2 * BENCH_STORE_NEW);
  if (sodium_init () < 0)
    bench_die ("sodium_init failed");

  p.busy = p.n_clients * 4321 / 10000;
  p.email_client = p.n_clients * 7777 / 10000;
  p.clients = g_ptr_array_new_with_free_func ((GDestroyNotify) mts_client_free);
  dir = bench_tmpdir_new ();
  store_dir = g_build_filename (dir, "store", NULL);
  plain_path = g_build_filename (dir, "plain.db", NULL);

  printf ("VERSION sqlite %s\n", sqlite3_libversion ());
  printf ("VERSION libsodium %s\n", sodium_version_string ());
  printf ("VERSION glib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
  mts_kdf_level_params (MTS_KDF_MODERATE, &ops, &mem);
  printf ("PARAM store kdf %s opslimit=%" G_GUINT64_FORMAT " memlimit=%" G_GUINT64_FORMAT "\n",
          BENCH_STORE_KDF, ops, mem);
  printf ("PARAM store dir %s\n", dir);
  fflush (stdout);

  fprintf (stderr, "bench-store: building %ld clients and their notes in %s\n", p.n_clients, dir);
  build (&p, store_dir, plain_path);
  printf ("PARAM store clients %ld\n", p.n_clients);
  printf ("PARAM store notes %ld\n", p.n_notes);
  printf ("PARAM store note_bytes %d\n", BENCH_NOTE_BYTES);
  printf ("PARAM store busy_notes %d\n", BENCH_STORE_WEEKS);
  printf ("PARAM store search %s\n", BENCH_STORE_SEARCH);
  printf ("PARAM store db_bytes %ld\n", file_size (store_dir, "practice.db"));
  printf ("PARAM plain db_bytes %ld\n", file_size (dir, "plain.db"));
  printf ("PARAM store rounds %d\n", rounds);
  fflush (stdout);

  for (int r = 0; r < rounds; r++)
    {
      GPtrArray *plain_results[4] = { NULL };

      fprintf (stderr, "bench-store: round %d of %d\n", r + 1, rounds);
      round_plain (&p, plain_path, plain_results);
      round_store (&p, store_dir, plain_results);
      for (int i = 0; i < 4; i++)
        g_ptr_array_unref (plain_results[i]);
    }

  g_ptr_array_unref (p.clients);
  g_free (p.clinician_id);
  bench_tmpdir_free (dir);
  return 0;
}
