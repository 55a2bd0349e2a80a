/* bench-sync.c — the sync engine against the real server on loopback TLS
 * (issue 6's speed targets).  Not a test: it measures and prints
 * "key value" lines for bench/gen-sync.py.
 *
 *   bench-sync [--notes N] [--small N] [--edits N] [--round-trips N]
 *
 * Setup (untimed): a server (tests/server/make-test-ca.sh's CA, kdf "test",
 * password_kdf "min"), one practice, a seeding device that writes N notes of
 * 1 KiB (on N/50 clients) through the store API and pushes them.  Then:
 *   first-sync   a fresh device's first sync of everything, in a process of
 *                its own (the store made and logged in beforehand), with its
 *                resident memory before the sync and at its peak (VmHWM);
 *                done for N and for --small notes, so growth shows.
 *   round-trip   on two up-to-date devices, one note edited on the first and
 *                synced (push, pull, anchor), then the second synced: the
 *                edit's time until the other device has it; repeated.
 *   offline      --edits note edits made offline on one device, then one
 *                sync that pushes them all.
 * Environment: MTS_SERVER (the server binary), MTS_TEST_SRCDIR (the folder
 * of make-test-ca.sh). */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>

#include "mts-store.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "test-server-fixture.h"

#define PASS "bench passphrase 1234"

static MtsTestServer *srv;
static char *slug;

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-sync: %s: %s\n", what, error ? error->message : "failed");
  if (srv != NULL)
    {
      g_autofree char *tail = mts_test_server_log_tail (srv, 20);
      g_printerr ("server log:\n%s\n", tail);
    }
  exit (1);
}

typedef struct {
  MtsStore *store;
  MtsSyncSession *session;
} Device;

static Device
device_new (const char *name)
{
  static guint n;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_strdup_printf ("%s/%s-%u", mts_test_fixture_dir (), name, ++n);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autoptr(MtsTestUser) user = NULL;
  char code[MTS_TOTP_CODE_BUF];
  Device d;

  d.store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  if (d.store == NULL)
    die ("store", error);
  d.session = mts_sync_session_new (d.store, &error);
  if (d.session == NULL || !mts_sync_session_configure (d.session, url, ca, &error))
    die ("session", error);
  user = mts_test_user_new (srv, slug, &error);
  if (user == NULL)
    die ("user", error);
  mts_test_user_code (user, code);
  if (!mts_sync_session_login (d.session, slug, user->username, user->password, code, name,
                               NULL, &error))
    die ("login", error);
  return d;
}

static void
device_free (Device *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
}

static MtsSyncStats
sync_once (Device *d)
{
  g_autoptr(GError) error = NULL;
  MtsSyncStats stats = { 0 };

  if (!mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, &stats, &error))
    die ("sync", error);
  return stats;
}

static char *
kib_body (guint i)
{
  GString *s = g_string_sized_new (1100);

  g_string_append_printf (s, "S: session %u, the client reports ", i);
  while (s->len < 1024)
    g_string_append (s, "low mood and poor sleep; ");
  g_string_truncate (s, 1024);
  return g_string_free (s, FALSE);
}

/* Seeds the practice with @notes notes through a device; returns their ids. */
static GPtrArray *
seed (guint notes)
{
  Device d = device_new ("seed");
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  double t0 = now_s ();

  for (guint i = 0; i < MAX (1, notes / 50); i++)
    {
      g_autoptr(MtsClient) c = mts_client_new ();
      c->display_name = g_strdup_printf ("Client %05u", i);
      if (!mts_store_client_add (d.store, c, &error))
        die ("seed client", error);
      g_ptr_array_add (clients, g_strdup (c->id));
    }
  for (guint i = 0; i < notes; i++)
    {
      g_autoptr(MtsNote) n = mts_note_new ();
      n->client_id = g_strdup (clients->pdata[i % clients->len]);
      n->template_kind = g_strdup ("SOAP");
      n->body = kib_body (i);
      if (!mts_store_note_add (d.store, n, &error))
        die ("seed note", error);
      g_ptr_array_add (ids, g_strdup (n->id));
    }
  g_print ("seed_write_s %.2f\n", now_s () - t0);
  t0 = now_s ();
  sync_once (&d);
  g_print ("seed_push_s %.2f\n", now_s () - t0);
  device_free (&d);
  return ids;
}

/* Peak resident memory since the last reset, in KiB (VmHWM). */
static long
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, "VmHWM:")) == NULL)
    return -1;
  return strtol (line + 6, NULL, 10);
}

/* Resets the peak to the current resident size (Linux: clear_refs 5). */
static void
reset_peak_rss (void)
{
  g_file_set_contents ("/proc/self/clear_refs", "5", 1, NULL);
}

/* The first sync itself, in a process of its own (bench-sync --first-sync
 * DIR): the store in DIR was made and logged in by the parent, so this
 * process's memory is the sync's alone.  Prints its time, records, and its
 * resident memory before the sync and at its peak. */
static int
first_sync_child (const char *dir, const char *label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsStore) store = mts_store_open (dir, &error);
  g_autoptr(MtsSyncSession) session = NULL;
  MtsSyncStats stats = { 0 };
  long before;
  double t0;

  if (store == NULL || !mts_store_unlock (store, PASS, strlen (PASS), &error))
    die ("open the first-sync store", error);
  session = mts_sync_session_new (store, &error);
  if (session == NULL)
    die ("session", error);
  reset_peak_rss ();
  before = peak_rss_kib ();
  t0 = now_s ();
  if (!mts_sync_once (store, session, NULL, NULL, NULL, NULL, &stats, &error))
    die ("first sync", error);
  g_print ("%s_s %.3f\n", label, now_s () - t0);
  g_print ("%s_records %" G_GINT64_FORMAT "\n", label, stats.pulled);
  g_print ("%s_rss_before_kib %ld\n", label, before);
  g_print ("%s_rss_peak_kib %ld\n", label, peak_rss_kib ());
  return 0;
}

static char *self_path;

/* A fresh, logged-in device whose first sync runs in a child process. */
static void
first_sync (const char *label)
{
  Device d = device_new (label);
  g_autofree char *dir = g_strdup (mts_store_get_dir (d.store));
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *argv[] = { self_path, "--first-sync", dir, "--label", label, NULL };

  device_free (&d);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                     &status, &error) || !g_spawn_check_wait_status (status, &error))
    die ("the first-sync process", error);
  g_print ("%s", out);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
round_trips (guint n)
{
  Device a = device_new ("rt-a"), b = device_new ("rt-b");
  g_autoptr(GArray) push_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) total_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsClient) c = mts_client_new ();
  g_autoptr(MtsNote) note = mts_note_new ();

  c->display_name = g_strdup ("Round Trip");
  if (!mts_store_client_add (a.store, c, &error))
    die ("client", error);
  note->client_id = g_strdup (c->id);
  note->template_kind = g_strdup ("SOAP");
  note->body = kib_body (0);
  if (!mts_store_note_add (a.store, note, &error))
    die ("note", error);
  sync_once (&a);
  sync_once (&b);
  sync_once (&a);
  for (guint i = 0; i < n; i++)
    {
      double t0, t1, t2;
      g_autofree char *body = kib_body (i + 1);

      g_free (note->body);
      note->body = g_strdup_printf ("edit %u\n%s", i, body);
      if (!mts_store_note_update (a.store, note, &error))
        die ("edit", error);
      t0 = now_s ();
      sync_once (&a);
      t1 = now_s ();
      if (sync_once (&b).pulled != 1)
        die ("the edit did not reach the other device", NULL);
      t2 = now_s ();
      g_array_append_vals (push_ms, &(double) { (t1 - t0) * 1000 }, 1);
      g_array_append_vals (total_ms, &(double) { (t2 - t0) * 1000 }, 1);
    }
  g_array_sort (push_ms, cmp_double);
  g_array_sort (total_ms, cmp_double);
  g_print ("round_trip_n %u\n", n);
  g_print ("round_trip_sync_p50_ms %.1f\n", g_array_index (push_ms, double, n / 2));
  g_print ("round_trip_sync_p99_ms %.1f\n", g_array_index (push_ms, double, (n * 99) / 100));
  g_print ("round_trip_p50_ms %.1f\n", g_array_index (total_ms, double, n / 2));
  g_print ("round_trip_p99_ms %.1f\n", g_array_index (total_ms, double, (n * 99) / 100));
  device_free (&a);
  device_free (&b);
}

static void
offline_edits (GPtrArray *ids, guint edits)
{
  Device d = device_new ("offline");
  g_autoptr(GError) error = NULL;
  MtsSyncStats stats;
  double t0;

  sync_once (&d);   /* up to date: the whole practice */
  t0 = now_s ();
  for (guint i = 0; i < edits; i++)
    {
      g_autoptr(MtsNote) n = mts_store_note_get (d.store, ids->pdata[i % ids->len], &error);
      if (n == NULL)
        die ("note get", error);
      g_free (n->body);
      n->body = g_strdup_printf ("offline edit %u\n%s", i, "P: review next week");
      if (!mts_store_note_update (d.store, n, &error))
        die ("offline edit", error);
    }
  g_print ("offline_write_s %.2f\n", now_s () - t0);
  t0 = now_s ();
  stats = sync_once (&d);
  g_print ("offline_push_s %.3f\n", now_s () - t0);
  g_print ("offline_applied %" G_GINT64_FORMAT "\n", stats.applied);
  device_free (&d);
}

int
main (int argc, char **argv)
{
  guint notes = 100000, small = 20000, edits = 10000, trips = 50;
  g_autofree char *first_dir = NULL, *label = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  const GOptionEntry entries[] = {
    { "notes", 0, 0, G_OPTION_ARG_INT, &notes, "Notes in the practice (default 100000)", "N" },
    { "small", 0, 0, G_OPTION_ARG_INT, &small, "Notes of the smaller first sync (default 20000)", "N" },
    { "edits", 0, 0, G_OPTION_ARG_INT, &edits, "Offline edits to push (default 10000)", "N" },
    { "round-trips", 0, 0, G_OPTION_ARG_INT, &trips, "Edits sent round (default 50)", "N" },
    { "first-sync", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &first_dir, NULL, NULL },
    { "label", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &label, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (NULL);

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die ("options", error);
  if (first_dir != NULL)
    return first_sync_child (first_dir, label ? label : "first");
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  if (!mts_test_fixture_set_up (&error))
    die ("fixture", error);
  srv = mts_test_server_new ("bench", "server", "access_token_seconds=86400\n", &error);
  if (srv == NULL || !mts_test_server_start (srv, &error))
    die ("server", error);

  /* The smaller practice first, measured; then the full one. */
  slug = mts_test_practice_new (srv, "small", &error);
  if (slug == NULL)
    die ("practice", error);
  g_ptr_array_unref (seed (small));
  first_sync ("first_small");
  g_free (slug);
  slug = mts_test_practice_new (srv, "bench", &error);
  if (slug == NULL)
    die ("practice", error);
  g_print ("notes %u\nsmall %u\n", notes, small);
  ids = seed (notes);
  first_sync ("first");
  round_trips (trips);
  offline_edits (ids, edits);

  mts_test_server_stop (srv);
  mts_test_server_free (srv);
  mts_test_fixture_tear_down (FALSE);
  return 0;
}
