/* bench-desktop.c — the desktop app with 10,000 clients and 100,000 notes
 * (issue 7's speed targets).  Not a test: it measures the real app's
 * windows on a virtual display (bench/run-desktop runs it under xvfb-run)
 * and prints "key value" lines for bench/gen-desktop.py.
 *
 *   bench-desktop [--cache DIR] [--runs N] [--clients N] [--notes N]
 *                 [--typing-seconds S]
 *
 * The practice (made once, untimed, and kept in DIR/store for later runs;
 * remade when the counts differ): a store with the default key derivation
 * (Argon2id, moderate), one clinician (the actor), N clients with name,
 * date of birth, e-mail, phone and one past session each, and the notes
 * spread evenly over them (drafts of about 700 bytes), all written through
 * the store API.
 *
 * Measured:
 *   launch    the app started (a new MtsApplication, its window shown) to
 *             the first frame of the unlock page drawn;
 *   unlock    mts_application_unlock (Argon2id, the schema, the 10,000
 *             names, the client list's model built) to the first frame
 *             drawn after it with the list's rows on screen; --runs times,
 *             a new app each time;
 *   store     mts_store_unlock alone (Argon2id, the schema, the names), for
 *             scale;
 *   reload    the client list's model rebuilt alone (mts_client_list_reload);
 *   keystroke one character typed into the search box to the next frame
 *             drawn (the frame clock's after-paint): names, an e-mail
 *             address and a phone number typed a character at a time, and
 *             clearing the box (back to all 10,000);
 *   typing    a draft note open in the note editor, a character inserted
 *             every 60 ms for --typing-seconds while the editor autosaves:
 *             each frame's duration (its first phase to after-paint) and
 *             each character's latency to the frame that drew it.
 * With BENCH_VERBOSE set, each keystroke's time in its handler and to its
 * frame is printed to stderr. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mts-application.h"
#include "mts-client-item.h"
#include "mts-client-list.h"
#include "mts-store-records.h"
#include "mts-window.h"

#define PASS "bench desktop passphrase, for benchmarks only"

static const char *const first_names[] = {
  "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Muhammad",
  "Freya", "Leo", "Florence", "Harry", "Willow", "Oscar", "Evie", "Archie", "Rosie", "Jack",
  "Sophia", "Henry", "Grace", "Theo", "Lily", "Charlie", "Poppy", "Freddie", "Alice", "Jacob",
  "Daisy", "Alfie", "Elsie", "Thomas", "Priya", "Tariq", "Siobhan", "Callum", "Zofia", "Kwame",
  "Aisha", "Ewan", "Niamh", "Rhys", "Chloe", "Dylan", "Hannah", "Owen", "Megan", "Rory",
  "Imogen", "Joseph", "Harriet", "Samuel", "Ruby", "Daniel", "Eleanor", "Reuben", "Maya", "Finlay",
};
static const char *const surnames[] = {
  "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright",
  "Robinson", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
  "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes",
  "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan",
  "Scott", "Watson", "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell",
  "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum",
  "Okonkwo", "Nwosu", "Kowalska", "Murphy", "McIntyre", "Llewellyn", "Fraser", "Rahman", "Shah", "Ellwood",
  "Hartley", "Ahmed", "Campbell", "Stewart", "Murray", "Reid", "Graham", "Hussain", "Ali", "Chen",
};
static const char *const words[] = {
  "client", "reports", "sleep", "improved", "work", "stress", "mother", "anxiety", "panic", "walks",
  "explored", "feelings", "about", "the", "week", "and", "noticed", "patterns", "in", "thinking",
  "homework", "reviewed", "grounding", "exercise", "practised", "breathing", "plan", "agreed", "next",
  "session", "risk", "assessed", "no", "current", "concerns", "mood", "low", "brighter", "than", "last",
};

static int n_runs = 5;
static long n_clients = 10000;
static long n_notes = 100000;
static double typing_seconds = 12;
static char *cache_dir;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static void
die (const char *what, GError *error)
{
  g_printerr ("bench-desktop: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static void
spin (double ms)
{
  double end = now_ms () + ms;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  while (now_ms () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
}

#define WAIT_UNTIL(cond, ms, what)                                             \
  G_STMT_START {                                                               \
    double wait_end_ = now_ms () + (ms);                                       \
    while (!(cond))                                                            \
      {                                                                        \
        if (now_ms () > wait_end_)                                             \
          die ("timed out waiting for " what, NULL);                           \
        if (!g_main_context_iteration (NULL, FALSE))                           \
          g_usleep (200);                                                      \
      }                                                                        \
  } G_STMT_END

/* ---- the practice ---- */

static char *
note_body (long k)
{
  GString *s = g_string_new (NULL);
  guint32 x = (guint32) k * 2654435761u + 1;

  g_string_append_printf (s, "S: session notes %ld. ", k);
  while (s->len < 700)
    {
      x = x * 1103515245u + 12345u;
      g_string_append (s, words[(x >> 16) % G_N_ELEMENTS (words)]);
      g_string_append_c (s, (x >> 8) % 11 == 0 ? '\n' : ' ');
    }
  return g_string_free (s, FALSE);
}

static char *
client_name (long i)
{
  return g_strdup_printf ("%s %s", first_names[i % G_N_ELEMENTS (first_names)],
                          surnames[(i / G_N_ELEMENTS (first_names) + i * 7) % G_N_ELEMENTS (surnames)]);
}

static char *
client_email (long i)
{
  g_autofree char *name = client_name (i);
  g_autofree char *lower = g_ascii_strdown (name, -1);

  *strchr (lower, ' ') = '.';
  return g_strdup_printf ("%s%ld@example.org", lower, i);
}

static char *
client_phone (long i)
{
  return g_strdup_printf ("07700 %06ld", 900000 + i);
}

static char *
store_dir (void)
{
  return g_build_filename (cache_dir, "store", NULL);
}

static gboolean
store_is_ready (void)
{
  g_autofree char *marker = g_build_filename (cache_dir, "store-complete", NULL);
  g_autofree char *text = NULL;
  g_autofree char *want = g_strdup_printf ("%ld %ld\n", n_clients, n_notes);

  return g_file_get_contents (marker, &text, NULL, NULL) && g_str_equal (text, want);
}

static void
rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        rm_rf (child);
      }
  g_remove (path);
}

static void
make_store (void)
{
  g_autofree char *dir = store_dir ();
  g_autofree char *marker = g_build_filename (cache_dir, "store-complete", NULL);
  g_autofree char *actor = g_build_filename (dir, "actor", NULL);
  g_autofree char *counts = g_strdup_printf ("%ld %ld\n", n_clients, n_notes);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClinician) clinician = mts_clinician_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  static const char *const kinds[] = { "SOAP", "DAP", "BIRP", "free" };
  double t0 = now_ms ();

  rm_rf (dir);
  g_remove (marker);
  g_mkdir_with_parents (cache_dir, 0700);
  store = mts_store_create (dir, PASS, strlen (PASS), NULL, &error);
  if (store == NULL)
    die ("mts_store_create", error);
  /* A benchmark's practice: no need to survive a power cut while it is made. */
  sqlite3_exec (mts_store_get_db (store), "PRAGMA synchronous = OFF", NULL, NULL, NULL);
  clinician->display_name = g_strdup ("Dr Ruth Ellison");
  clinician->email = g_strdup ("ruth.ellison@example.org");
  if (!mts_store_clinician_add (store, clinician, &error))
    die ("clinician", error);
  mts_store_set_actor (store, clinician->id);
  if (!g_file_set_contents (actor, clinician->id, -1, &error))
    die ("actor file", error);

  for (long i = 0; i < n_clients; i++)
    {
      g_autoptr (MtsClient) c = mts_client_new ();
      g_autoptr (MtsSession) s = mts_session_new ();
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autoptr (GDateTime) start = g_date_time_add_days (now, -(1 + i % 90));
      g_autoptr (GDateTime) end = g_date_time_add_minutes (start, 50);

      c->display_name = client_name (i);
      c->email = client_email (i);
      c->phone = client_phone (i);
      c->date_of_birth = g_strdup_printf ("%04ld-%02ld-%02ld", 1950 + i % 50, 1 + i % 12, 1 + i % 28);
      c->address = g_strdup_printf ("%ld Example Street, Leeds LS%ld 1AA", 1 + i % 200, 1 + i % 28);
      c->clinician_id = g_strdup (clinician->id);
      c->status = g_strdup (i % 10 == 0 ? "waiting" : i % 17 == 0 ? "closed" : "active");
      if (!mts_store_client_add (store, c, &error))
        die ("client", error);
      s->client_id = g_strdup (c->id);
      s->starts_at = g_date_time_format (start, "%Y-%m-%dT%H:%M:%S.000Z");
      s->ends_at = g_date_time_format (end, "%Y-%m-%dT%H:%M:%S.000Z");
      s->status = g_strdup ("attended");
      if (!mts_store_session_add (store, s, &error))
        die ("session", error);
      g_ptr_array_add (ids, g_strdup (c->id));
      if ((i + 1) % 2000 == 0)
        g_printerr ("bench-desktop: %ld clients written\n", i + 1);
    }
  for (long k = 0; k < n_notes; k++)
    {
      g_autoptr (MtsNote) n = mts_note_new ();

      n->client_id = g_strdup (ids->pdata[k % ids->len]);
      n->clinician_id = g_strdup (clinician->id);
      n->template_kind = g_strdup (kinds[k % G_N_ELEMENTS (kinds)]);
      n->body = note_body (k);
      if (!mts_store_note_add (store, n, &error))
        die ("note", error);
      if ((k + 1) % 10000 == 0)
        g_printerr ("bench-desktop: %ld notes written\n", k + 1);
    }
  sqlite3_exec (mts_store_get_db (store), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  mts_store_lock (store);
  g_clear_object (&store);
  if (!g_file_set_contents (marker, counts, -1, &error))
    die ("marker", error);
  printf ("build_s %.1f\n", (now_ms () - t0) / 1000);
}

/* ---- the app ---- */

static MtsApplication *
app_start (void)
{
  static guint serial;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = store_dir ();
  g_autofree char *id = g_strdup_printf ("%s.Bench%u", MTS_APP_ID, ++serial);
  MtsApplication *app = mts_application_new (G_APPLICATION_NON_UNIQUE);

  g_application_set_application_id (G_APPLICATION (app), id);
  mts_application_set_store_dir (app, dir);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    die ("register", error);
  g_application_set_default (G_APPLICATION (app));
  g_application_hold (G_APPLICATION (app));
  g_application_activate (G_APPLICATION (app));
  return app;
}

static MtsWindow *
app_window (MtsApplication *app)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
    if (MTS_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

static void
app_stop (MtsApplication *app)
{
  GList *windows;

  mts_application_lock (app);
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  spin (50);
  g_application_release (G_APPLICATION (app));
  g_application_set_default (NULL);
  g_object_unref (app);
}

static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* ---- frames ---- */

typedef struct {
  double frame_start;     /* the first phase of the frame being drawn, or 0 */
  double last_paint;      /* when the last frame was drawn */
  guint n_paints;
  GArray *durations;      /* ms, when recording */
} Frames;

static Frames frames;

static void
phase_cb (GdkFrameClock *clock, gpointer data)
{
  if (frames.frame_start == 0)
    frames.frame_start = now_ms ();
}

static void
after_paint_cb (GdkFrameClock *clock, gpointer data)
{
  double t = now_ms ();

  if (frames.durations != NULL && frames.frame_start > 0)
    {
      double d = t - frames.frame_start;
      g_array_append_val (frames.durations, d);
    }
  frames.frame_start = 0;
  frames.last_paint = t;
  frames.n_paints++;
}

static void
watch_frames (GtkWidget *window)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  const char *const phases[] = { "flush-events", "before-paint", "update", "layout", "paint" };

  for (gsize i = 0; i < G_N_ELEMENTS (phases); i++)
    g_signal_connect (clock, phases[i], G_CALLBACK (phase_cb), NULL);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), NULL);
}

/* Waits for the next frame drawn after now; returns when it was drawn. */
static double
next_paint (void)
{
  guint n = frames.n_paints;

  WAIT_UNTIL (frames.n_paints > n, 5000, "a frame");
  return frames.last_paint;
}

/* ---- statistics ---- */

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *a, double p)
{
  GArray *s;
  double r;
  guint i;

  if (a->len == 0)
    return 0;
  s = g_array_sized_new (FALSE, FALSE, sizeof (double), a->len);
  g_array_append_vals (s, a->data, a->len);
  qsort (s->data, s->len, sizeof (double), cmp_double);
  i = (guint) (p / 100.0 * (s->len - 1) + 0.5);
  r = g_array_index (s, double, MIN (i, s->len - 1));
  g_array_unref (s);
  return r;
}

static void
print_stats (const char *key, GArray *a)
{
  printf ("%s_n %u\n", key, a->len);
  printf ("%s_p50_ms %.2f\n", key, percentile (a, 50));
  printf ("%s_p95_ms %.2f\n", key, percentile (a, 95));
  printf ("%s_p99_ms %.2f\n", key, percentile (a, 99));
  printf ("%s_max_ms %.2f\n", key, percentile (a, 100));
}

/* ---- (a) launch and unlock ---- */

static gboolean
list_drawn (MtsApplication *app)
{
  MtsWindow *win = app_window (app);
  GtkWidget *view = win != NULL ? find_named (GTK_WIDGET (win), "client-list-view") : NULL;
  GtkWidget *list = win != NULL ? find_named (GTK_WIDGET (win), "client-list") : NULL;
  GtkWidget *row = view != NULL ? gtk_widget_get_first_child (view) : NULL;

  return list != NULL && mts_client_list_get_n_clients (MTS_CLIENT_LIST (list)) == (guint) n_clients
         && row != NULL && gtk_widget_get_mapped (row) && gtk_widget_get_height (row) > 0;
}

static MtsApplication *
measure_unlock (GArray *launch, GArray *unlock_call, GArray *to_list, gboolean keep)
{
  g_autoptr (GError) error = NULL;
  double t0 = now_ms (), t_unlock, t_called;
  MtsApplication *app = app_start ();
  MtsWindow *win;

  WAIT_UNTIL ((win = app_window (app)) != NULL && gtk_widget_get_mapped (GTK_WIDGET (win)), 10000, "the window");
  memset (&frames, 0, sizeof frames);
  watch_frames (GTK_WIDGET (win));
  {
    double t = next_paint () - t0;
    g_array_append_val (launch, t);
  }
  if (!g_str_equal (mts_window_get_page (win), "unlock"))
    die ("the unlock page is not shown", NULL);
  spin (300);

  t_unlock = now_ms ();
  if (!mts_application_unlock (app, PASS, strlen (PASS), &error))
    die ("unlock", error);
  t_called = now_ms ();
  /* The first frame drawn with the list's rows on screen. */
  for (;;)
    {
      double painted = next_paint ();
      if (list_drawn (app))
        {
          double a = t_called - t_unlock, b = painted - t_unlock;
          g_array_append_val (unlock_call, a);
          g_array_append_val (to_list, b);
          break;
        }
      if (now_ms () - t_unlock > 20000)
        die ("the list was never drawn", NULL);
    }
  if (keep)
    return app;
  app_stop (app);
  return NULL;
}

/* ---- (b) keystrokes ---- */

static GtkWidget *search_entry;

static double
keystroke (const char *text)
{
  int pos = -1;
  double t0;

  spin (40);   /* a typist's pause, and the previous frame settled */
  t0 = now_ms ();
  pos = (int) strlen (gtk_editable_get_text (GTK_EDITABLE (search_entry)));
  gtk_editable_insert_text (GTK_EDITABLE (search_entry), text, -1, &pos);
  gtk_editable_set_position (GTK_EDITABLE (search_entry), pos);
  if (g_getenv ("BENCH_VERBOSE") != NULL)
    {
      double t1 = now_ms (), t2 = next_paint ();
      g_printerr ("key '%s': handled in %.1f ms, drawn after %.1f ms\n", text, t1 - t0, t2 - t0);
      return t2 - t0;
    }
  return next_paint () - t0;
}

static double
clear_search (void)
{
  double t0;

  spin (40);
  t0 = now_ms ();
  gtk_editable_delete_text (GTK_EDITABLE (search_entry), 0, -1);
  return next_paint () - t0;
}

static void
type_sequence (GArray *all, const char *key, const char *text, GtkWidget *list)
{
  g_autoptr (GArray) mine = g_array_new (FALSE, FALSE, sizeof (double));
  char buf[8];

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      double d;
      gsize n = g_utf8_next_char (p) - p;

      memcpy (buf, p, n);
      buf[n] = '\0';
      d = keystroke (buf);
      g_array_append_val (mine, d);
      g_array_append_val (all, d);
    }
  printf ("%s_matches %u\n", key, g_list_model_get_n_items (mts_client_list_get_model (MTS_CLIENT_LIST (list))));
  print_stats (key, mine);
}

/* ---- (c) typing in a note ---- */

/* How many times the note was written (its audit entries). */
static gint64
note_writes (MtsStore *store, const char *id)
{
  sqlite3_stmt *st = NULL;
  gint64 n = -1;

  if (sqlite3_prepare_v2 (mts_store_get_db (store), "SELECT count(*) FROM mts_audit WHERE target = 'notes' "
                          "AND row_id = ?1", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
    }
  sqlite3_finalize (st);
  return n;
}

typedef struct {
  GtkTextBuffer *buffer;
  const char *text;
  const char *next;
  double typed_at;
  GArray *latencies;
  double end;
  gboolean done;
  guint paints_at_type;
} Typing;

static void
typing_paint_cb (GdkFrameClock *clock, Typing *t)
{
  if (t->typed_at > 0)
    {
      double d = now_ms () - t->typed_at;
      g_array_append_val (t->latencies, d);
      t->typed_at = 0;
    }
}

static gboolean
type_char_cb (gpointer data)
{
  Typing *t = data;
  gsize n;
  char buf[8];

  if (now_ms () >= t->end)
    {
      t->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  if (*t->next == '\0')
    t->next = t->text;
  n = g_utf8_next_char (t->next) - t->next;
  memcpy (buf, t->next, n);
  buf[n] = '\0';
  t->next += n;
  if (t->typed_at == 0)
    t->typed_at = now_ms ();
  gtk_text_buffer_insert_at_cursor (t->buffer, buf, -1);
  return G_SOURCE_CONTINUE;
}

static gboolean
measure_typing (MtsApplication *app, GArray *durations, GArray *latencies)
{
  MtsWindow *win = app_window (app);
  MtsStore *store = mts_application_get_store (app);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) clients = mts_store_client_list (store, &error);
  g_autoptr (GPtrArray) notes = NULL;
  const char *note_id = NULL;
  GtkWidget *view;
  GtkTextIter end;
  Typing t = { 0 };
  gulong handler;
  gint64 writes_before;
  g_autoptr (MtsNote) after = NULL;

  if (clients == NULL || clients->len == 0)
    die ("clients", error);
  notes = mts_store_note_list (store, ((MtsClient *) clients->pdata[clients->len / 2])->id, &error);
  if (notes == NULL)
    die ("notes", error);
  for (guint i = 0; i < notes->len && note_id == NULL; i++)
    if (g_strcmp0 (((MtsNote *) notes->pdata[i])->status, "draft") == 0)
      note_id = ((MtsNote *) notes->pdata[i])->id;
  if (note_id == NULL)
    die ("no draft note to type into", NULL);

  gtk_widget_activate_action (GTK_WIDGET (win), "win.open-note", "s", note_id);
  WAIT_UNTIL (g_str_equal (mts_window_get_content (win), "note"), 5000, "the note editor");
  view = find_named (GTK_WIDGET (win), "note-text");
  if (view == NULL || !GTK_IS_TEXT_VIEW (view))
    {
      g_printerr ("bench-desktop: no text view named note-text in the note editor: typing not measured\n");
      return FALSE;
    }
  WAIT_UNTIL (gtk_widget_get_mapped (view), 5000, "the note's text");
  spin (500);
  gtk_widget_grab_focus (view);
  t.buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_get_end_iter (t.buffer, &end);
  gtk_text_buffer_place_cursor (t.buffer, &end);
  t.text = "\nO: Calm and engaged; talked about the allotment and her sister's visit. "
           "Plan: continue weekly, review the sleep diary next time. ";
  t.next = t.text;
  t.latencies = latencies;

  writes_before = note_writes (store, note_id);
  handler = g_signal_connect (gtk_widget_get_frame_clock (view), "after-paint", G_CALLBACK (typing_paint_cb), &t);
  frames.durations = durations;
  frames.frame_start = 0;
  t.end = now_ms () + typing_seconds * 1000;
  g_timeout_add (60, type_char_cb, &t);
  WAIT_UNTIL (t.done, typing_seconds * 1000 + 5000, "the typing");
  spin (1500);   /* the last autosave */
  frames.durations = NULL;
  g_signal_handler_disconnect (gtk_widget_get_frame_clock (view), handler);
  printf ("typing_seconds %.1f\n", typing_seconds);
  printf ("typing_saves %" G_GINT64_FORMAT "\n", note_writes (store, note_id) - writes_before);
  /* Everything typed reached the store. */
  after = mts_store_note_get (store, note_id, &error);
  {
    GtkTextIter a, b;
    g_autofree char *shown = NULL;
    gtk_text_buffer_get_bounds (t.buffer, &a, &b);
    shown = gtk_text_buffer_get_text (t.buffer, &a, &b, FALSE);
    printf ("typing_all_saved %d\n", after != NULL && g_strcmp0 (after->body, shown) == 0);
  }
  return TRUE;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) launch = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) unlock_call = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) to_list = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) reload = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) clears = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) durations = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  GOptionEntry entries[] = {
    { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir, "where the practice is kept between runs", "DIR" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "launch-and-unlock runs (5)", "N" },
    { "clients", 0, 0, G_OPTION_ARG_INT64, &n_clients, "clients (10000)", "N" },
    { "notes", 0, 0, G_OPTION_ARG_INT64, &n_notes, "notes (100000)", "N" },
    { "typing-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &typing_seconds, "typing in a note (12)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— the desktop app's speed");
  MtsApplication *app;
  MtsWindow *win;
  GtkWidget *list;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("options", error);
  if (cache_dir == NULL)
    cache_dir = g_build_filename (g_get_user_cache_dir (), "mts-bench-desktop", NULL);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  gtk_init ();
  adw_init ();

  if (!store_is_ready ())
    {
      g_printerr ("bench-desktop: making the practice in %s (once; kept for later runs)\n", cache_dir);
      make_store ();
    }
  printf ("clients %ld\nnotes %ld\nruns %d\n", n_clients, n_notes, n_runs);
  printf ("renderer %s\n", g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "default");

  /* The store's own unlock, for scale: Argon2id and the names. */
  {
    g_autoptr (GArray) store_unlock = g_array_new (FALSE, FALSE, sizeof (double));
    g_autofree char *dir = store_dir ();

    for (int r = 0; r < 3; r++)
      {
        g_autoptr (MtsStore) store = mts_store_open (dir, &error);
        double t0 = now_ms (), d;

        if (store == NULL || !mts_store_unlock (store, PASS, strlen (PASS), &error))
          die ("store unlock", error);
        d = now_ms () - t0;
        g_array_append_val (store_unlock, d);
        mts_store_lock (store);
      }
    print_stats ("store_unlock", store_unlock);
  }

  /* (a) */
  for (int r = 0; r < n_runs; r++)
    {
      app = measure_unlock (launch, unlock_call, to_list, FALSE);
      g_printerr ("bench-desktop: unlock run %d: %.0f ms to the list drawn\n", r + 1,
                  g_array_index (to_list, double, to_list->len - 1));
    }
  app = measure_unlock (launch, unlock_call, to_list, TRUE);
  print_stats ("launch", launch);
  print_stats ("unlock_call", unlock_call);
  print_stats ("unlock_to_list", to_list);
  win = app_window (app);
  list = find_named (GTK_WIDGET (win), "client-list");
  spin (500);
  for (int r = 0; r < 10; r++)
    {
      double t0 = now_ms (), d;
      mts_client_list_reload (MTS_CLIENT_LIST (list));
      d = now_ms () - t0;
      g_array_append_val (reload, d);
    }
  print_stats ("reload", reload);

  /* (b) */
  search_entry = find_named (GTK_WIDGET (win), "client-search");
  gtk_widget_grab_focus (search_entry);
  spin (300);
  {
    g_autofree char *email = client_email (n_clients / 3);
    g_autofree char *phone = client_phone (n_clients * 2 / 3);
    g_autofree char *name = client_name (4242 % n_clients);
    double c;

    type_sequence (keys, "key_name", name, list);
    c = clear_search ();
    g_array_append_val (clears, c);
    type_sequence (keys, "key_surname", "okonkwo", list);
    c = clear_search ();
    g_array_append_val (clears, c);
    type_sequence (keys, "key_email", email, list);
    c = clear_search ();
    g_array_append_val (clears, c);
    type_sequence (keys, "key_phone", phone, list);
    c = clear_search ();
    g_array_append_val (clears, c);
    type_sequence (keys, "key_short", "ha", list);
    c = clear_search ();
    g_array_append_val (clears, c);
  }
  print_stats ("key_all", keys);
  print_stats ("key_clear", clears);

  /* (c) */
  if (measure_typing (app, durations, latencies))
    {
      print_stats ("frame", durations);
      print_stats ("type_latency", latencies);
    }
  app_stop (app);
  return 0;
}
