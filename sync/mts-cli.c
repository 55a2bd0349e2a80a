/* mts-cli.c — the `mts` command line: the practice store for power users and
 * scripts.  docs/store.md, "The mts command", is its manual.
 *
 *   mts [--store DIR] [--actor ID] COMMAND [OPTION...] [ARG...]
 *
 * The store is --store DIR, else $MTS_STORE, else ./practice.  The actor
 * (who the audit log and signatures name) is --actor ID, else the clinician
 * id in DIR/actor, which `mts init` writes.  Passphrases come from
 * MTS_PASSPHRASE_FILE, MTS_PASSPHRASE or the terminal (mts-passphrase.h);
 * `init` reads MTS_NEW_PASSPHRASE_FILE / MTS_NEW_PASSPHRASE first.
 *
 * Exit status: 0 done; 1 refused or failed, with one line "mts: <why>" on
 * standard error; 2 a usage error, with the command's usage.
 *
 * Output is UTF-8 as stored, whatever the locale: values are written with
 * stdio, not g_print (which would convert them), and options are taken as
 * bytes and checked to be UTF-8.
 */
#define G_LOG_DOMAIN "mts-cli"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mts-error.h"
#include "mts-export.h"
#include "mts-json-generate.h"
#include "mts-keystore.h"
#include "mts-passphrase.h"
#include "mts-store-documents.h"
#include "mts-store.h"
#include "mts-sync-client.h"
#include "mts-sync-conflicts.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

#define DEFAULT_STORE "practice"
#define ACTOR_FILE "actor"

/* Options every command takes, before or after the command words. */
typedef struct {
  char *store;
  char *actor;
} Common;

typedef struct _Command Command;

typedef struct {
  Common top;        /* given before the command */
  Common cmd;        /* given after it */
  gboolean help;
  const Command *command;
} Cli;

struct _Command {
  const char *group;     /* "client", "note", "doc", "audit" or NULL */
  const char *name;
  const char *params;    /* positional parameters, for the usage line */
  const char *summary;
  int (*run) (Cli *cli, char **argv);
};

/* ---- output ---- */

static int
fail_error (const GError *error)
{
  fprintf (stderr, "mts: %s\n", error->message);
  return EXIT_FAILED;
}

static int G_GNUC_PRINTF (1, 2)
fail (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "mts: %s\n", message);
  return EXIT_FAILED;
}

/* One field of a tab-separated line: control characters (tabs and line
 * breaks included) become spaces, so each record stays on one line. */
static void
print_field (const char *text)
{
  for (const char *p = text ? text : ""; *p; p++)
    fputc (((guchar) *p < 0x20 || *p == 0x7f) ? ' ' : *p, stdout);
}

static void
print_fields (const char *first, ...)
{
  va_list args;
  const char *s = first;
  gboolean more = FALSE;

  va_start (args, first);
  do
    {
      if (more)
        fputc ('\t', stdout);
      print_field (s);
      more = TRUE;
      s = va_arg (args, const char *);
    }
  while (s != (const char *) -1);
  va_end (args);
  fputc ('\n', stdout);
}
#define PRINT_FIELDS(...) print_fields (__VA_ARGS__, (const char *) -1)

/* "key: value", the value escaped so that it is one line: \\ \n \r \t and
 * \xNN for other control characters. */
static void
print_kv (const char *key, const char *value)
{
  fputs (key, stdout);
  fputs (": ", stdout);
  for (const char *p = value ? value : ""; *p; p++)
    {
      guchar c = (guchar) *p;

      if (c == '\\')
        fputs ("\\\\", stdout);
      else if (c == '\n')
        fputs ("\\n", stdout);
      else if (c == '\r')
        fputs ("\\r", stdout);
      else if (c == '\t')
        fputs ("\\t", stdout);
      else if (c < 0x20 || c == 0x7f)
        fprintf (stdout, "\\x%02x", c);
      else
        fputc (c, stdout);
    }
  fputc ('\n', stdout);
}

static void
print_kv_int (const char *key, gint64 value)
{
  fprintf (stdout, "%s: %" G_GINT64_FORMAT "\n", key, value);
}

/* ---- option parsing ---- */

static void print_overview (FILE *out);

static char *
command_label (const Command *c)
{
  return c->group ? g_strconcat (c->group, " ", c->name, NULL) : g_strdup (c->name);
}

static int
usage_error (GOptionContext *ctx, const char *message)
{
  g_autofree char *help = ctx ? g_option_context_get_help (ctx, TRUE, NULL) : NULL;

  fprintf (stderr, "mts: %s\n", message);
  if (help != NULL)
    fputs (help, stderr);
  else
    print_overview (stderr);
  return EXIT_USAGE;
}

/* Every option value is taken as bytes (G_OPTION_ARG_FILENAME) and must be
 * UTF-8, so that the locale does not matter. */
#define OPT_TEXT(long_name, var, description, arg) \
  { long_name, 0, 0, G_OPTION_ARG_FILENAME, var, description, arg }
#define OPT_FLAG(long_name, var, description) \
  { long_name, 0, 0, G_OPTION_ARG_NONE, var, description, NULL }

/* Parses a command's @args (args[0] is the command) against @entries plus
 * --store, --actor and --help.  On return args holds the command and its
 * positional arguments, between @min and @max of them (-1: any number).
 * Returns FALSE with *@rc set when the command should stop: after --help
 * (0) or a usage error (2). */
static gboolean
parse_args (Cli *cli, const GOptionEntry *entries, char ***args, int min, int max,
            GOptionContext **ctx_out, int *rc)
{
  const GOptionEntry common[] = {
    OPT_TEXT ("store", &cli->cmd.store, "The store's folder (default: $MTS_STORE or ./practice)", "DIR"),
    OPT_TEXT ("actor", &cli->cmd.actor, "Act as this clinician (default: the id in DIR/actor)", "ID"),
    { "help", 'h', 0, G_OPTION_ARG_NONE, &cli->help, "Show this help", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GError) error = NULL;
  GOptionContext *ctx = g_option_context_new (cli->command->params);
  int n;

  *ctx_out = ctx;
  g_option_context_set_summary (ctx, cli->command->summary);
  g_option_context_set_help_enabled (ctx, FALSE);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_main_entries (ctx, common, NULL);

  if (!g_option_context_parse_strv (ctx, args, &error))
    {
      *rc = usage_error (ctx, error->message);
      return FALSE;
    }
  if (cli->help)
    {
      g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
      fputs (help, stdout);
      *rc = EXIT_OK;
      return FALSE;
    }
  if (cli->cmd.actor != NULL && !g_utf8_validate (cli->cmd.actor, -1, NULL))
    {
      *rc = usage_error (ctx, "--actor must be UTF-8");
      return FALSE;
    }
  n = (int) g_strv_length (*args) - 1;
  if (n < min || (max >= 0 && n > max))
    {
      *rc = usage_error (ctx, n < min ? "missing argument" : "too many arguments");
      return FALSE;
    }
  for (int i = 1; i <= n; i++)
    if (!g_utf8_validate ((*args)[i], -1, NULL))
      {
        *rc = usage_error (ctx, "arguments must be UTF-8");
        return FALSE;
      }
  return TRUE;
}

/* Checks that the given option values are UTF-8 (NULL-terminated list). */
static gboolean
options_utf8 (GOptionContext *ctx, int *rc, ...)
{
  va_list args;
  const char *s;
  gboolean ok = TRUE;

  va_start (args, rc);
  while ((s = va_arg (args, const char *)) != (const char *) -1)
    if (s != NULL && !g_utf8_validate (s, -1, NULL))
      ok = FALSE;
  va_end (args);
  if (!ok)
    *rc = usage_error (ctx, "option values must be UTF-8");
  return ok;
}
#define OPTIONS_UTF8(ctx, rc, ...) options_utf8 (ctx, rc, __VA_ARGS__, (const char *) -1)

/* ---- values ---- */

static gboolean
valid_date (const char *s)
{
  if (strlen (s) != 10 || s[4] != '-' || s[7] != '-')
    return FALSE;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (s[i]))
      return FALSE;
  return g_date_valid_dmy ((GDateDay) atoi (s + 8), (GDateMonth) atoi (s + 5), (GDateYear) atoi (s));
}

static gboolean
one_of (const char *value, const char *const *allowed)
{
  for (; *allowed; allowed++)
    if (strcmp (value, *allowed) == 0)
      return TRUE;
  return FALSE;
}

static const char *const client_statuses[] = { "active", "waiting", "closed", NULL };
static const char *const note_kinds[] = { "SOAP", "DAP", "BIRP", "free", NULL };
static const char *const roles[] = { "clinician", "practice_admin", "support", NULL };

/* --since: a date (midnight UTC) or an ISO 8601 instant (UTC unless it
 * says otherwise), as the audit log writes times.  (transfer full) */
static char *
parse_since (const char *s)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) t = NULL;
  g_autoptr (GDateTime) u = NULL;
  g_autofree char *base = NULL;

  if (valid_date (s))
    return g_strconcat (s, "T00:00:00.000Z", NULL);
  t = g_date_time_new_from_iso8601 (s, utc);
  if (t == NULL)
    return NULL;
  u = g_date_time_to_utc (t);
  base = g_date_time_format (u, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", base, g_date_time_get_microsecond (u) / 1000);
}

/* ---- the store ---- */

static const char *
store_dir (Cli *cli)
{
  const char *env = g_getenv ("MTS_STORE");

  if (cli->cmd.store != NULL)
    return cli->cmd.store;
  if (cli->top.store != NULL)
    return cli->top.store;
  return env != NULL && *env != '\0' ? env : DEFAULT_STORE;
}

/* The actor: --actor, else the first line of DIR/actor, else NULL (the
 * store then names the OS user).  (transfer full) (nullable) */
static char *
actor_from (Cli *cli, const char *dir)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;

  if (cli->cmd.actor != NULL)
    return g_strdup (cli->cmd.actor);
  if (cli->top.actor != NULL)
    return g_strdup (cli->top.actor);
  path = g_build_filename (dir, ACTOR_FILE, NULL);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  g_strstrip (contents);
  if (*contents == '\0' || strchr (contents, '\n') != NULL || !g_utf8_validate (contents, -1, NULL))
    return NULL;
  return g_steal_pointer (&contents);
}

/* Opens and unlocks the store, with the actor set and checked.
 * (transfer full) */
static MtsStore *
open_store (Cli *cli, GError **error)
{
  const char *dir = store_dir (cli);
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *actor = NULL;
  char *passphrase;
  gsize len = 0;
  gboolean ok;

  store = mts_store_open (dir, &local);
  if (store == NULL)
    {
      if (g_error_matches (local, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND))
        g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_NOT_FOUND,
                     "%s; create one with 'mts init' or choose one with --store", local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  /* Set before unlocking, so that a migration run by the unlock is
   * recorded under the actor. */
  actor = actor_from (cli, mts_store_get_dir (store));
  if (actor != NULL)
    mts_store_set_actor (store, actor);

  passphrase = mts_passphrase_read ("MTS_PASSPHRASE", "Store passphrase: ", FALSE, &len, error);
  if (passphrase == NULL)
    return NULL;
  ok = mts_store_unlock (store, passphrase, len, &local);
  mts_passphrase_free (passphrase);
  if (!ok)
    {
      if (g_error_matches (local, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE))
        g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE,
                     "wrong passphrase for the store in %s", mts_store_get_dir (store));
      else
        g_set_error (error, local->domain, local->code, "cannot unlock the store in %s: %s",
                     mts_store_get_dir (store), local->message);
      return NULL;
    }
  if (actor != NULL)
    {
      g_autoptr (MtsClinician) clinician = mts_store_clinician_get (store, actor, NULL);
      if (clinician == NULL)
        {
          g_set_error (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                       "the actor %s is not a clinician of this store (see --actor and %s/%s)",
                       actor, mts_store_get_dir (store), ACTOR_FILE);
          return NULL;
        }
    }
  return g_steal_pointer (&store);
}

/* The actor's clinician id, when the actor is one.  (nullable) */
static const char *
actor_clinician (MtsStore *store)
{
  const char *actor = mts_store_get_actor (store);

  return g_str_has_prefix (actor, "os:") ? NULL : actor;
}

/* ---- init ---- */

/* Writes @text to a new file @path, mode 0600. */
static gboolean
write_private_file (const char *path, const char *text, GError **error)
{
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* A new passphrase: MTS_NEW_PASSPHRASE_FILE or MTS_NEW_PASSPHRASE when set,
 * else the current sources (MTS_PASSPHRASE_FILE, MTS_PASSPHRASE), so that the
 * same setting then unlocks the store; else the terminal, asked twice. */
static char *
read_new_passphrase (gsize *len, GError **error)
{
  const char *file = g_getenv ("MTS_NEW_PASSPHRASE_FILE");
  gboolean use_new = (file != NULL && *file != '\0') || g_getenv ("MTS_NEW_PASSPHRASE") != NULL;

  return mts_passphrase_read (use_new ? "MTS_NEW_PASSPHRASE" : "MTS_PASSPHRASE",
                              "New store passphrase: ", TRUE, len, error);
}

static int
cmd_init (Cli *cli, char **argv)
{
  g_autofree char *kdf = NULL, *name = NULL, *email = NULL, *role = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("clinician", &name, "The first clinician's name (required)", "NAME"),
    OPT_TEXT ("email", &email, "The clinician's e-mail", "E"),
    OPT_TEXT ("role", &role, "clinician (default), practice_admin or support", "ROLE"),
    OPT_TEXT ("kdf", &kdf, "Key derivation: interactive, moderate (default), sensitive; "
                           "test for test suites only", "LEVEL"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClinician) clinician = NULL;
  g_autofree char *db_path = NULL, *ks_path = NULL, *actor_path = NULL, *line = NULL;
  const char *dir;
  MtsKdfLevel level;
  char *passphrase;
  gsize len = 0;
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, kdf, name, email, role))
    return rc;
  if (name == NULL || *name == '\0')
    return usage_error (ctx, "--clinician NAME is required");
  if (kdf != NULL && !mts_kdf_level_from_string (kdf, &level))
    return usage_error (ctx, "--kdf is interactive, moderate, sensitive or test");
  if (role != NULL && !one_of (role, roles))
    return usage_error (ctx, "--role is clinician, practice_admin or support");
  if (cli->cmd.actor != NULL || cli->top.actor != NULL)
    return usage_error (ctx, "init makes the first clinician the actor; --actor does not apply");

  dir = store_dir (cli);
  db_path = g_build_filename (dir, "practice.db", NULL);
  ks_path = g_build_filename (dir, "practice.mtskey", NULL);
  if (g_file_test (db_path, G_FILE_TEST_EXISTS) || g_file_test (ks_path, G_FILE_TEST_EXISTS))
    return fail ("%s already holds a store", dir);

  passphrase = read_new_passphrase (&len, &error);
  if (passphrase == NULL)
    return fail_error (error);
  /* Checked here too, so that a refused passphrase leaves no folder. */
  if (len < MTS_KEYSTORE_MIN_PASSPHRASE)
    {
      mts_passphrase_free (passphrase);
      return fail ("the new passphrase is too short (at least %d bytes)", MTS_KEYSTORE_MIN_PASSPHRASE);
    }
  store = mts_store_create (dir, passphrase, len, kdf, &error);
  mts_passphrase_free (passphrase);
  if (store == NULL)
    return fail_error (error);

  clinician = mts_clinician_new ();
  clinician->display_name = g_strdup (name);
  clinician->email = g_strdup (email != NULL && *email != '\0' ? email : NULL);
  clinician->role = g_strdup (role);
  if (!mts_store_clinician_add (store, clinician, &error))
    return fail_error (error);
  mts_store_set_actor (store, clinician->id);

  actor_path = g_build_filename (mts_store_get_dir (store), ACTOR_FILE, NULL);
  line = g_strconcat (clinician->id, "\n", NULL);
  if (!write_private_file (actor_path, line, &error))
    return fail ("the store was created, but %s could not be written (%s); use --actor %s",
                 actor_path, error->message, clinician->id);

  fprintf (stdout, "%s\n%s\n", clinician->id, mts_store_get_dir (store));
  return EXIT_OK;
}

/* ---- clients ---- */

static int
check_client_options (GOptionContext *ctx, const char *dob, const char *status)
{
  if (dob != NULL && *dob != '\0' && !valid_date (dob))
    return usage_error (ctx, "--dob is a date, YYYY-MM-DD");
  if (status != NULL && !one_of (status, client_statuses))
    return usage_error (ctx, "--status is active, waiting or closed");
  return EXIT_OK;
}

static int
cmd_client_add (Cli *cli, char **argv)
{
  g_autofree char *name = NULL, *dob = NULL, *email = NULL, *phone = NULL, *address = NULL,
                  *status = NULL, *clinician = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("name", &name, "The client's name (required)", "NAME"),
    OPT_TEXT ("dob", &dob, "Date of birth", "YYYY-MM-DD"),
    OPT_TEXT ("email", &email, "E-mail", "E"),
    OPT_TEXT ("phone", &phone, "Phone", "P"),
    OPT_TEXT ("address", &address, "Address", "A"),
    OPT_TEXT ("status", &status, "active (default), waiting or closed", "S"),
    OPT_TEXT ("clinician", &clinician, "The client's clinician (default: the actor)", "ID"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) client = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, name, dob, email, phone, address, status, clinician))
    return rc;
  if (name == NULL || *name == '\0')
    return usage_error (ctx, "--name NAME is required");
  if ((rc = check_client_options (ctx, dob, status)) != EXIT_OK)
    return rc;

  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (clinician != NULL && *clinician != '\0')
    {
      g_autoptr (MtsClinician) c = mts_store_clinician_get (store, clinician, &error);
      if (c == NULL)
        return fail_error (error);
    }
  client = mts_client_new ();
  client->display_name = g_strdup (name);
  client->date_of_birth = g_strdup (dob);
  client->email = g_strdup (email);
  client->phone = g_strdup (phone);
  client->address = g_strdup (address);
  client->status = g_strdup (status);
  client->clinician_id = g_strdup (clinician ? clinician : actor_clinician (store));
  if (!mts_store_client_add (store, client, &error))
    return fail_error (error);
  fprintf (stdout, "%s\n", client->id);
  return EXIT_OK;
}

static int
cmd_client_list (Cli *cli, char **argv)
{
  g_autofree char *search = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("search", &search, "Only clients whose name contains TEXT, or whose e-mail or "
                                 "phone is TEXT", "TEXT"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (GPtrArray) list = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, search))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  list = search != NULL ? mts_store_client_search (store, search, &error)
                        : mts_store_client_list (store, &error);
  if (list == NULL)
    return fail_error (error);
  for (guint i = 0; i < list->len; i++)
    {
      MtsClient *c = list->pdata[i];
      PRINT_FIELDS (c->id, c->display_name, c->status);
    }
  return EXIT_OK;
}

static int
cmd_client_show (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) c = NULL;
  int rc;

  if (!parse_args (cli, NULL, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((c = mts_store_client_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  print_kv ("id", c->id);
  print_kv ("name", c->display_name);
  print_kv ("dob", c->date_of_birth);
  print_kv ("email", c->email);
  print_kv ("phone", c->phone);
  print_kv ("address", c->address);
  print_kv ("status", c->status);
  print_kv ("clinician", c->clinician_id);
  print_kv_int ("version", c->version);
  print_kv ("created_at", c->created_at);
  print_kv ("updated_at", c->updated_at);
  return EXIT_OK;
}

static void
replace (char **field, const char *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static int
cmd_client_edit (Cli *cli, char **argv)
{
  g_autofree char *name = NULL, *dob = NULL, *email = NULL, *phone = NULL, *address = NULL,
                  *status = NULL, *clinician = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("name", &name, "New name", "NAME"),
    OPT_TEXT ("dob", &dob, "New date of birth ('' clears it)", "YYYY-MM-DD"),
    OPT_TEXT ("email", &email, "New e-mail ('' clears it)", "E"),
    OPT_TEXT ("phone", &phone, "New phone ('' clears it)", "P"),
    OPT_TEXT ("address", &address, "New address ('' clears it)", "A"),
    OPT_TEXT ("status", &status, "active, waiting or closed", "S"),
    OPT_TEXT ("clinician", &clinician, "The client's clinician ('' unassigns)", "ID"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) c = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, name, dob, email, phone, address, status, clinician))
    return rc;
  if (!name && !dob && !email && !phone && !address && !status && !clinician)
    return usage_error (ctx, "nothing to change: give at least one of the options");
  if (name != NULL && *name == '\0')
    return usage_error (ctx, "--name cannot be empty");
  if ((rc = check_client_options (ctx, dob, status)) != EXIT_OK)
    return rc;

  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((c = mts_store_client_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  if (clinician != NULL && *clinician != '\0')
    {
      g_autoptr (MtsClinician) k = mts_store_clinician_get (store, clinician, &error);
      if (k == NULL)
        return fail_error (error);
    }
  replace (&c->display_name, name);
  replace (&c->date_of_birth, dob);
  replace (&c->email, email);
  replace (&c->phone, phone);
  replace (&c->address, address);
  replace (&c->status, status);
  replace (&c->clinician_id, clinician);
  if (!mts_store_client_update (store, c, &error))
    return fail_error (error);
  return EXIT_OK;
}

static int
cmd_client_delete (Cli *cli, char **argv)
{
  gboolean yes = FALSE;
  const GOptionEntry entries[] = {
    OPT_FLAG ("yes", &yes, "Confirm: the client's notes, sessions, documents and the rest go too"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc))
    return rc;
  if (!yes)
    return fail ("deleting client %s also deletes its notes, sessions, documents, agreements, "
                 "invoices and risk flags, for good; add --yes to confirm", args[1]);
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (!mts_store_client_delete (store, args[1], &error))
    return fail_error (error);
  return EXIT_OK;
}

/* ---- notes ---- */

/* The text of a note: --body, --body-file (- for standard input), or
 * standard input when neither is given.  Kept byte for byte; must be
 * UTF-8 and not empty.  (transfer full) */
static char *
read_body (const char *body, const char *body_file, GError **error)
{
  g_autoptr (GString) text = NULL;
  char buf[8192];
  size_t n;

  if (body != NULL)
    text = g_string_new (body);
  else if (body_file != NULL && strcmp (body_file, "-") != 0)
    {
      g_autofree char *contents = NULL;
      gsize len;

      if (!g_file_get_contents (body_file, &contents, &len, error))
        return NULL;
      text = g_string_new_len (contents, (gssize) len);
      memset (contents, 0, len);
    }
  else
    {
      if (isatty (STDIN_FILENO))
        fputs ("mts: type the note, then Ctrl-D on a line of its own\n", stderr);
      text = g_string_new (NULL);
      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (text, buf, (gssize) n);
      memset (buf, 0, sizeof buf);
      if (ferror (stdin))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO,
                       "cannot read the note from standard input");
          return NULL;
        }
    }
  if (text->len == 0)
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID, "the note is empty");
      return NULL;
    }
  if (memchr (text->str, '\0', text->len) != NULL || !g_utf8_validate (text->str, (gssize) text->len, NULL))
    {
      g_set_error_literal (error, MTS_STORE_ERROR, MTS_STORE_ERROR_INVALID,
                           "the note is not UTF-8 text");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
first_line (const char *body)
{
  const char *end = body ? strchr (body, '\n') : NULL;

  return end ? g_strndup (body, (gsize) (end - body)) : g_strdup (body ? body : "");
}

static int
check_body_options (GOptionContext *ctx, const char *body, const char *body_file)
{
  if (body != NULL && body_file != NULL)
    return usage_error (ctx, "give --body or --body-file, not both");
  return EXIT_OK;
}

static int
cmd_note_add (Cli *cli, char **argv)
{
  g_autofree char *kind = NULL, *body = NULL, *body_file = NULL, *text = NULL;
  gboolean ai = FALSE;
  const GOptionEntry entries[] = {
    OPT_TEXT ("kind", &kind, "SOAP, DAP, BIRP or free (default)", "KIND"),
    OPT_TEXT ("body", &body, "The note's text", "TEXT"),
    OPT_TEXT ("body-file", &body_file, "Read the text from FILE (- for standard input)", "FILE"),
    OPT_FLAG ("ai-assisted", &ai, "An AI draft was used in writing it"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) client = NULL;
  g_autoptr (MtsNote) note = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, kind, body))
    return rc;
  if (kind != NULL && !one_of (kind, note_kinds))
    return usage_error (ctx, "--kind is SOAP, DAP, BIRP or free");
  if ((rc = check_body_options (ctx, body, body_file)) != EXIT_OK)
    return rc;

  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((client = mts_store_client_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  if ((text = read_body (body, body_file, &error)) == NULL)
    return fail_error (error);
  note = mts_note_new ();
  note->client_id = g_strdup (client->id);
  note->clinician_id = g_strdup (actor_clinician (store));
  note->template_kind = g_strdup (kind);
  note->body = g_strdup (text);
  note->ai_assisted = ai;
  if (!mts_store_note_add (store, note, &error))
    return fail_error (error);
  fprintf (stdout, "%s\n", note->id);
  return EXIT_OK;
}

static int
refuse_signed (const MtsNote *note)
{
  return fail ("note %s is signed and cannot change: amend it instead (mts note amend %s)",
               note->id, note->id);
}

static int
cmd_note_edit (Cli *cli, char **argv)
{
  g_autofree char *kind = NULL, *body = NULL, *body_file = NULL, *text = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("kind", &kind, "SOAP, DAP, BIRP or free", "KIND"),
    OPT_TEXT ("body", &body, "The new text", "TEXT"),
    OPT_TEXT ("body-file", &body_file, "Read the new text from FILE (- for standard input)", "FILE"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsNote) note = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, kind, body))
    return rc;
  if (kind != NULL && !one_of (kind, note_kinds))
    return usage_error (ctx, "--kind is SOAP, DAP, BIRP or free");
  if ((rc = check_body_options (ctx, body, body_file)) != EXIT_OK)
    return rc;

  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((note = mts_store_note_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  /* Refused before any text is read. */
  if (g_strcmp0 (note->status, "signed") == 0)
    return refuse_signed (note);
  /* Only --kind: the text stays.  Otherwise it is replaced. */
  if (body != NULL || body_file != NULL || kind == NULL)
    {
      if ((text = read_body (body, body_file, &error)) == NULL)
        return fail_error (error);
      replace (&note->body, text);
    }
  replace (&note->template_kind, kind);
  if (!mts_store_note_update (store, note, &error))
    {
      if (g_error_matches (error, MTS_STORE_ERROR, MTS_STORE_ERROR_SIGNED))
        return refuse_signed (note);
      return fail_error (error);
    }
  return EXIT_OK;
}

static int
cmd_note_sign (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  int rc;

  if (!parse_args (cli, NULL, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (!mts_store_note_sign (store, args[1], &error))
    return fail_error (error);
  return EXIT_OK;
}

static int
cmd_note_amend (Cli *cli, char **argv)
{
  g_autofree char *body = NULL, *body_file = NULL, *text = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("body", &body, "The amendment's text", "TEXT"),
    OPT_TEXT ("body-file", &body_file, "Read the text from FILE (- for standard input)", "FILE"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsNote) original = NULL;
  g_autoptr (MtsNote) amendment = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, body))
    return rc;
  if ((rc = check_body_options (ctx, body, body_file)) != EXIT_OK)
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((original = mts_store_note_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  if (g_strcmp0 (original->status, "signed") != 0)
    return fail ("note %s is a draft: edit it instead (mts note edit %s)", original->id, original->id);
  if ((text = read_body (body, body_file, &error)) == NULL)
    return fail_error (error);
  if ((amendment = mts_store_note_amend (store, args[1], text, &error)) == NULL)
    return fail_error (error);
  fprintf (stdout, "%s\n", amendment->id);
  return EXIT_OK;
}

static int
cmd_note_list (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) client = NULL;
  g_autoptr (GPtrArray) notes = NULL;
  int rc;

  if (!parse_args (cli, NULL, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((client = mts_store_client_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  if ((notes = mts_store_note_list (store, client->id, &error)) == NULL)
    return fail_error (error);
  for (guint i = 0; i < notes->len; i++)
    {
      MtsNote *n = notes->pdata[i];
      g_autofree char *line = first_line (n->body);

      PRINT_FIELDS (n->id, n->template_kind, n->status, n->signed_at, line);
    }
  return EXIT_OK;
}

static int
cmd_note_show (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsNote) n = NULL;
  int rc;

  if (!parse_args (cli, NULL, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((n = mts_store_note_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  print_kv ("id", n->id);
  print_kv ("client", n->client_id);
  print_kv ("session", n->session_id);
  print_kv ("author", n->clinician_id);
  print_kv ("kind", n->template_kind);
  print_kv ("status", n->status);
  print_kv ("signed_by", n->signed_by);
  print_kv ("signed_at", n->signed_at);
  print_kv ("amends", n->amends_id);
  print_kv ("ai_assisted", n->ai_assisted ? "yes" : "no");
  print_kv_int ("version", n->version);
  print_kv ("created_at", n->created_at);
  print_kv ("updated_at", n->updated_at);
  /* Then a blank line and the text as it is. */
  fputc ('\n', stdout);
  fputs (n->body ? n->body : "", stdout);
  return EXIT_OK;
}

/* ---- documents ---- */

static int
cmd_doc_add (Cli *cli, char **argv)
{
  g_autofree char *session = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("session", &session, "The session it belongs to (one of the client's)", "ID"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsDocument) doc = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 2, 2, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, session))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  doc = mts_document_new ();
  doc->client_id = g_strdup (args[1]);
  doc->session_id = g_strdup (session != NULL && *session != '\0' ? session : NULL);
  if (!mts_store_document_add (store, doc, args[2], &error))
    return fail_error (error);
  fprintf (stdout, "%s\n", doc->id);
  return EXIT_OK;
}

static int
cmd_doc_get (Cli *cli, char **argv)
{
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    OPT_FLAG ("force", &force, "Replace DEST if it exists"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  GStatBuf sb;
  int rc;

  if (!parse_args (cli, entries, &args, 2, 2, &ctx, &rc))
    return rc;
  /* Checked before the passphrase is asked for; the file is written beside
   * DEST and renamed over it only once it has checked out. */
  if (g_lstat (args[2], &sb) == 0)
    {
      if (S_ISDIR (sb.st_mode))
        return fail ("%s is a folder: give the path of the file to write", args[2]);
      if (!force)
        return fail ("%s exists; add --force to replace it", args[2]);
    }
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (!mts_store_document_get (store, args[1], args[2], &error))
    return fail_error (error);
  return EXIT_OK;
}

static int
cmd_doc_list (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsClient) client = NULL;
  g_autoptr (GPtrArray) docs = NULL;
  int rc;

  if (!parse_args (cli, NULL, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if ((client = mts_store_client_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  if ((docs = mts_store_document_list (store, client->id, &error)) == NULL)
    return fail_error (error);
  for (guint i = 0; i < docs->len; i++)
    {
      MtsDocument *d = docs->pdata[i];
      char size[32];

      g_snprintf (size, sizeof size, "%" G_GINT64_FORMAT, d->size_bytes);
      PRINT_FIELDS (d->id, d->file_name, size, d->mime_type);
    }
  return EXIT_OK;
}

static int
cmd_doc_delete (Cli *cli, char **argv)
{
  gboolean yes = FALSE;
  const GOptionEntry entries[] = {
    OPT_FLAG ("yes", &yes, "Confirm: the document and its file go for good"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc))
    return rc;
  if (!yes)
    return fail ("deleting document %s removes its file for good; add --yes to confirm", args[1]);
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (!mts_store_document_delete (store, args[1], &error))
    return fail_error (error);
  return EXIT_OK;
}

/* ---- audit ---- */

static int
cmd_audit_verify (Cli *cli, char **argv)
{
  g_autofree char *head = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("head", &head, "A head from 'mts audit head' that must still be in the log", "HEAD"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  sqlite3_stmt *st;
  sqlite3 *db;
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, head))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  db = mts_store_get_db (store);
  if (sqlite3_prepare_v2 (db, head ? "SELECT mts_audit_verify(?1)" : "SELECT mts_audit_verify()",
                          -1, &st, NULL) != SQLITE_OK)
    return fail ("cannot verify the audit log: %s", sqlite3_errmsg (db));
  if (head != NULL)
    sqlite3_bind_text (st, 1, head, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      fprintf (stdout, "%s\n", (const char *) sqlite3_column_text (st, 0));
      sqlite3_finalize (st);
      return EXIT_OK;
    }
  {
    const char *msg = sqlite3_errmsg (db);
    if (g_str_has_prefix (msg, "mts_audit_verify: "))
      msg += strlen ("mts_audit_verify: ");
    rc = fail ("the audit log does not verify: %s", msg);
  }
  sqlite3_finalize (st);
  return rc;
}

static int
cmd_audit_head (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  sqlite3_stmt *st;
  sqlite3 *db;
  int rc;

  if (!parse_args (cli, NULL, &args, 0, 0, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  db = mts_store_get_db (store);
  if (sqlite3_prepare_v2 (db, "SELECT mts_audit_head()", -1, &st, NULL) != SQLITE_OK
      || sqlite3_step (st) != SQLITE_ROW)
    {
      rc = fail ("cannot read the audit log: %s", sqlite3_errmsg (db));
      sqlite3_finalize (st);
      return rc;
    }
  if (sqlite3_column_type (st, 0) == SQLITE_NULL)
    rc = fail ("the audit log is empty");
  else
    {
      fprintf (stdout, "%s\n", (const char *) sqlite3_column_text (st, 0));
      rc = EXIT_OK;
    }
  sqlite3_finalize (st);
  return rc;
}

static int
cmd_audit_log (Cli *cli, char **argv)
{
  g_autofree char *client = NULL, *since = NULL, *since_utc = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("client", &client, "Only the entries about this client and its records", "ID"),
    OPT_TEXT ("since", &since, "Only entries at or after this date or ISO 8601 time", "ISO"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (GString) sql = NULL;
  sqlite3_stmt *st;
  sqlite3 *db;
  int rc, step;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, client, since))
    return rc;
  if (since != NULL && (since_utc = parse_since (since)) == NULL)
    return usage_error (ctx, "--since is a date (YYYY-MM-DD) or an ISO 8601 time");
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  db = mts_store_get_db (store);

  sql = g_string_new ("SELECT seq, at, actor, action, target, row_id, changed_columns, detail "
                      "FROM mts_audit WHERE (?2 IS NULL OR at >= ?2)");
  if (client != NULL)
    {
      g_autofree char *rows = NULL;

      /* A client that was deleted is still a tombstone: its log stays
       * reachable. */
      if (sqlite3_prepare_v2 (db, "SELECT 1 FROM clients WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        return fail ("cannot read the clients: %s", sqlite3_errmsg (db));
      sqlite3_bind_text (st, 1, client, -1, SQLITE_TRANSIENT);
      step = sqlite3_step (st);
      sqlite3_finalize (st);
      if (step != SQLITE_ROW)
        return fail ("no client %s", client);
      if ((rows = mts_export_client_rows_sql (store, &error)) == NULL)
        return fail_error (error);
      g_string_append_printf (sql, " AND ((target, row_id) IN (%s) OR target = 'client:' || ?1)",
                              rows);
    }
  g_string_append (sql, " ORDER BY seq");
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    return fail ("cannot read the audit log: %s", sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, client, -1, SQLITE_TRANSIENT);
  if (since_utc != NULL)
    sqlite3_bind_text (st, 2, since_utc, -1, SQLITE_TRANSIENT);
  while ((step = sqlite3_step (st)) == SQLITE_ROW)
    PRINT_FIELDS ((const char *) sqlite3_column_text (st, 0),
                  (const char *) sqlite3_column_text (st, 1),
                  (const char *) sqlite3_column_text (st, 2),
                  (const char *) sqlite3_column_text (st, 3),
                  (const char *) sqlite3_column_text (st, 4),
                  (const char *) sqlite3_column_text (st, 5),
                  (const char *) sqlite3_column_text (st, 6),
                  (const char *) sqlite3_column_text (st, 7));
  rc = step == SQLITE_DONE ? EXIT_OK : fail ("cannot read the audit log: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return rc;
}

/* ---- export ---- */

static int
cmd_export (Cli *cli, char **argv)
{
  g_autofree char *client = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("client", &client, "Only this client's records (a subject access request)", "ID"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  MtsExportSummary summary = { 0 };
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, client))
    return rc;
  if ((store = open_store (cli, &error)) == NULL)
    return fail_error (error);
  if (!mts_export_write (store, args[1], client, &summary, &error))
    return fail_error (error);
  fprintf (stdout, "exported %u rows and %u files to %s\n", summary.n_rows, summary.n_files,
           args[1]);
  /* The export is written, but it is not complete: a script must notice. */
  if (summary.n_damaged > 0)
    return fail ("%u document file%s damaged and left out of the export (see \"files\" in "
                 "%s/bundle.json)", summary.n_damaged, summary.n_damaged == 1 ? " is" : "s are",
                 args[1]);
  return EXIT_OK;
}

/* ---- sync ---- */

/* Reads one line from the terminal (the TOTP code): not a secret that
 * lasts, but never echoed into a file either. */
static char *
read_code (GError **error)
{
  const char *env = g_getenv ("MTS_TOTP_CODE");
  char line[32];

  if (env != NULL)
    return g_strdup (env);
  if (!isatty (STDIN_FILENO))
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "no TOTP code: give --code, set MTS_TOTP_CODE, or run on a terminal");
      return NULL;
    }
  fputs ("Code from your authenticator app: ", stderr);
  if (fgets (line, sizeof line, stdin) == NULL)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID, "no TOTP code was typed");
      return NULL;
    }
  return g_strstrip (g_strdup (line));
}

static int
cmd_login (Cli *cli, char **argv)
{
  g_autofree char *server = NULL, *ca = NULL, *practice = NULL, *user = NULL;
  g_autofree char *code = NULL, *device_name = NULL;
  const GOptionEntry entries[] = {
    OPT_TEXT ("server", &server, "The server, https://HOST[:PORT] (kept for later syncs)", "URL"),
    OPT_TEXT ("ca", &ca, "Trust this CA file instead of the system's", "FILE"),
    OPT_TEXT ("practice", &practice, "The practice's short name (slug)", "SLUG"),
    OPT_TEXT ("user", &user, "Your username", "NAME"),
    OPT_TEXT ("code", &code, "The 6-digit code (else MTS_TOTP_CODE, else asked)", "CODE"),
    OPT_TEXT ("device-name", &device_name, "What the practice's administrator sees", "NAME"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  char *password;
  gsize password_len = 0;
  gboolean ok;
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc)
      || !OPTIONS_UTF8 (ctx, &rc, server, ca, practice, user, code, device_name))
    return rc;
  if ((store = open_store (cli, &error)) == NULL
      || (session = mts_sync_session_new (store, &error)) == NULL)
    return fail_error (error);
  if (server != NULL && !mts_sync_session_configure (session, server, ca, &error))
    return fail_error (error);
  if (mts_sync_session_get_server_url (session) == NULL)
    return fail ("no server: give --server https://HOST[:PORT]");
  if (practice == NULL)
    practice = g_strdup (mts_sync_session_get_practice (session));
  if (user == NULL)
    user = g_strdup (mts_sync_session_get_username (session));
  if (practice == NULL || user == NULL)
    return fail ("give --practice and --user");
  password = mts_passphrase_read ("MTS_SERVER_PASSWORD", "Server password: ", FALSE,
                                  &password_len, &error);
  if (password == NULL)
    return fail_error (error);
  if (code == NULL && (code = read_code (&error)) == NULL)
    {
      mts_passphrase_free (password);
      return fail_error (error);
    }
  ok = mts_sync_session_login (session, practice, user, password, code,
                               device_name ? device_name : g_get_host_name (), NULL, &error);
  mts_passphrase_free (password);
  if (!ok)
    return fail_error (error);
  fprintf (stdout, "logged in to %s as %s (%s), practice %s, device %s\n",
           mts_sync_session_get_server_url (session), user,
           mts_sync_session_get_role (session), practice,
           mts_sync_session_get_device_id (session));
  return EXIT_OK;
}

static void
sync_progress (MtsSyncPhase phase, gint64 done, gint64 total, gpointer data)
{
  gboolean *quiet = data;

  if (!*quiet)
    fprintf (stderr, "%s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "\n",
             phase == MTS_SYNC_PHASE_PUSH ? "push" : "pull", done, total);
}

static int
cmd_sync (Cli *cli, char **argv)
{
  gboolean confirm = FALSE, quiet = FALSE;
  int attempts = 5;
  const GOptionEntry entries[] = {
    OPT_FLAG ("confirm-mass-delete", &confirm, "Send deletes the server held back as too many"),
    OPT_FLAG ("quiet", &quiet, "No progress lines"),
    { "attempts", 0, 0, G_OPTION_ARG_INT, &attempts, "Tries on network or server failures (default 5)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsSyncSession) session = NULL;
  MtsSyncOptions options = { 0 };
  MtsSyncStats stats = { 0 };
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc))
    return rc;
  if (attempts < 1)
    return fail ("--attempts must be at least 1");
  if ((store = open_store (cli, &error)) == NULL
      || (session = mts_sync_session_new (store, &error)) == NULL)
    return fail_error (error);
  if (!mts_sync_session_is_logged_in (session))
    return fail ("not logged in: run mts login first");
  options.confirm_mass_delete = confirm;
  if (!mts_sync_with_retries (store, session, &options, (guint) attempts, sync_progress, &quiet,
                              NULL, &stats, &error))
    return fail_error (error);
  fprintf (stdout, "pushed %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " applied, %" G_GINT64_FORMAT
           " merged, %" G_GINT64_FORMAT " conflicts, %" G_GINT64_FORMAT " rejected; pulled %"
           G_GINT64_FORMAT ", deleted %" G_GINT64_FORMAT "\n",
           stats.pushed, stats.applied, stats.merged, stats.conflicts, stats.rejected,
           stats.pulled, stats.deleted);
  if (stats.conflicts + stats.rejected > 0)
    fprintf (stdout, "%" G_GINT64_FORMAT " change%s kept for you to resolve (both versions are "
             "held)\n", stats.conflicts + stats.rejected,
             stats.conflicts + stats.rejected == 1 ? " is" : "s are");
  return EXIT_OK;
}

static void
print_version (const char *label, JsonObject *o)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  if (o == NULL)
    {
      fprintf (stdout, "%s: (none)\n", label);
      return;
    }
  node = json_node_init_object (json_node_alloc (), o);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = mts_json_generate (gen, NULL);
  fprintf (stdout, "%s: %s\n", label, text);
}

static int
cmd_conflict_list (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (GPtrArray) list = NULL;
  const GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
  int rc;

  if (!parse_args (cli, entries, &args, 0, 0, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL
      || (list = mts_sync_conflicts_list (store, &error)) == NULL)
    return fail_error (error);
  for (guint i = 0; i < list->len; i++)
    {
      MtsSyncConflict *c = list->pdata[i];
      fprintf (stdout, "%s\t%s\t%s\t%s\t%s\n", c->id, c->kind, c->table_name, c->row_id,
               c->fields ? c->fields : (c->reason ? c->reason : ""));
    }
  return EXIT_OK;
}

static int
cmd_conflict_show (Cli *cli, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (MtsSyncConflict) c = NULL;
  const GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((store = open_store (cli, &error)) == NULL
      || (c = mts_sync_conflict_get (store, args[1], &error)) == NULL)
    return fail_error (error);
  fprintf (stdout, "id: %s\nkind: %s\nrecord: %s %s\nfields: %s\nreason: %s\n", c->id, c->kind,
           c->table_name, c->row_id, c->fields ? c->fields : "", c->reason ? c->reason : "");
  print_version ("mine", c->local);
  print_version ("theirs", c->remote);
  print_version ("base", c->base);
  return EXIT_OK;
}

static int
cmd_conflict_resolve (Cli *cli, char **argv)
{
  gboolean mine = FALSE, theirs = FALSE;
  g_autofree char *merged_file = NULL;
  const GOptionEntry entries[] = {
    OPT_FLAG ("mine", &mine, "Keep this device's version"),
    OPT_FLAG ("theirs", &theirs, "Keep the server's version"),
    OPT_TEXT ("merged", &merged_file, "Write these fields (a JSON object in FILE)", "FILE"),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_auto (GStrv) args = g_strdupv (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtsStore) store = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *merged = NULL;
  MtsResolution how;
  int rc;

  if (!parse_args (cli, entries, &args, 1, 1, &ctx, &rc))
    return rc;
  if ((int) mine + (int) theirs + (merged_file != NULL) != 1)
    return fail ("choose one of --mine, --theirs or --merged FILE");
  how = mine ? MTS_RESOLVE_MINE : theirs ? MTS_RESOLVE_THEIRS : MTS_RESOLVE_MERGED;
  if (merged_file != NULL)
    {
      JsonNode *root;

      parser = json_parser_new ();
      if (!json_parser_load_from_file (parser, merged_file, &error))
        return fail_error (error);
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return fail ("%s: not a JSON object of fields", merged_file);
      merged = json_node_get_object (root);
    }
  if ((store = open_store (cli, &error)) == NULL
      || !mts_sync_conflict_resolve (store, args[1], how, merged, &error))
    return fail_error (error);
  return EXIT_OK;
}

/* ---- dispatch ---- */

static const Command commands[] = {
  { NULL, "init", "", "Create a store and its first clinician", cmd_init },
  { "client", "add", "", "Add a client; prints its id", cmd_client_add },
  { "client", "list", "", "List clients: id, name, status", cmd_client_list },
  { "client", "show", "ID", "Show a client's fields", cmd_client_show },
  { "client", "edit", "ID", "Change the given fields of a client", cmd_client_edit },
  { "client", "delete", "ID", "Delete a client and all its records (with --yes)", cmd_client_delete },
  { "note", "add", "CLIENT_ID", "Add a draft note; prints its id", cmd_note_add },
  { "note", "edit", "ID", "Change a draft note", cmd_note_edit },
  { "note", "sign", "ID", "Sign a draft note as the actor", cmd_note_sign },
  { "note", "amend", "ID", "Amend a signed note; prints the amendment's id", cmd_note_amend },
  { "note", "list", "CLIENT_ID", "List a client's notes: id, kind, status, signed at, first line",
    cmd_note_list },
  { "note", "show", "ID", "Show a note's fields and text", cmd_note_show },
  { "doc", "add", "CLIENT_ID FILE", "Add FILE as a document of a client; prints its id",
    cmd_doc_add },
  { "doc", "get", "ID DEST", "Write a document's decrypted file to DEST", cmd_doc_get },
  { "doc", "list", "CLIENT_ID", "List a client's documents: id, file name, size, MIME type",
    cmd_doc_list },
  { "doc", "delete", "ID", "Delete a document and its file (with --yes)", cmd_doc_delete },
  { "audit", "verify", "", "Verify the audit log; prints ok", cmd_audit_verify },
  { "audit", "head", "", "Print the audit log's head, to pass to verify --head later",
    cmd_audit_head },
  { "audit", "log", "", "Print the audit log, optionally for one client", cmd_audit_log },
  { NULL, "export", "DIR", "Export the store (or a client) to a new folder DIR", cmd_export },
  { NULL, "login", "", "Log in to the practice's server (password, then TOTP code)", cmd_login },
  { NULL, "sync", "", "Push local changes, pull the server's, anchor the audit log", cmd_sync },
  { "conflict", "list", "", "Changes sync kept for you: id, kind, table, record, fields", cmd_conflict_list },
  { "conflict", "show", "ID", "Both versions of a record, and the base", cmd_conflict_show },
  { "conflict", "resolve", "ID", "Keep --mine, --theirs, or write --merged FILE", cmd_conflict_resolve },
};
static const gsize n_commands = G_N_ELEMENTS (commands);

static void
print_overview (FILE *out)
{
  fputs ("Usage: mts [--store DIR] [--actor ID] COMMAND [OPTION...] [ARG...]\n\n"
         "Commands:\n", out);
  for (gsize i = 0; i < n_commands; i++)
    {
      g_autofree char *label = command_label (&commands[i]);
      g_autofree char *line = g_strdup_printf ("%s %s", label, commands[i].params);

      fprintf (out, "  %-30s %s\n", line, commands[i].summary);
    }
  fputs ("\nThe store is --store DIR, else $MTS_STORE, else ./" DEFAULT_STORE ".\n"
         "The actor is --actor ID, else the clinician id in DIR/" ACTOR_FILE " (written by init).\n"
         "Passphrase: MTS_PASSPHRASE_FILE, MTS_PASSPHRASE, or the terminal.\n"
         "'mts COMMAND --help' describes a command.  Exit status: 0 done, 1 refused or\n"
         "failed, 2 usage error.\n", out);
}

/* Takes --store/--actor (also as --opt=value) and --help before the
 * command.  Returns the index of the command word, or -1 with *@rc set. */
static int
parse_top (Cli *cli, int argc, char **argv, int *rc)
{
  int i = 1;

  while (i < argc && argv[i][0] == '-')
    {
      const char *arg = argv[i];
      char **slot = NULL;
      const char *value = NULL;

      if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          print_overview (stdout);
          *rc = EXIT_OK;
          return -1;
        }
      if (g_str_has_prefix (arg, "--store"))
        slot = &cli->top.store;
      else if (g_str_has_prefix (arg, "--actor"))
        slot = &cli->top.actor;
      if (slot != NULL && arg[7] == '=')
        value = arg + 8;
      else if (slot != NULL && arg[7] == '\0' && i + 1 < argc)
        value = argv[++i];
      if (value == NULL || (slot == &cli->top.actor && !g_utf8_validate (value, -1, NULL)))
        {
          g_autofree char *message = g_strdup_printf ("unknown or incomplete option %s", arg);
          *rc = usage_error (NULL, message);
          return -1;
        }
      g_free (*slot);
      *slot = g_strdup (value);
      i++;
    }
  if (i >= argc)
    {
      *rc = usage_error (NULL, "no command given");
      return -1;
    }
  return i;
}

int
main (int argc, char **argv)
{
  Cli cli = { 0 };
  g_auto (GStrv) cmd_argv = NULL;
  g_autofree char *label = NULL;
  int i, rc = EXIT_USAGE;

  i = parse_top (&cli, argc, argv, &rc);
  if (i < 0)
    goto out;
  if (strcmp (argv[i], "help") == 0)
    {
      print_overview (stdout);
      rc = EXIT_OK;
      goto out;
    }
  for (gsize k = 0; k < n_commands && cli.command == NULL; k++)
    {
      const Command *c = &commands[k];

      if (c->group == NULL && strcmp (argv[i], c->name) == 0)
        cli.command = c;
      else if (c->group != NULL && strcmp (argv[i], c->group) == 0 && i + 1 < argc
               && strcmp (argv[i + 1], c->name) == 0)
        cli.command = c;
    }
  if (cli.command == NULL)
    {
      g_autofree char *message = g_strdup_printf ("unknown command '%s%s%s'", argv[i],
                                                  i + 1 < argc ? " " : "",
                                                  i + 1 < argc ? argv[i + 1] : "");
      rc = usage_error (NULL, message);
      goto out;
    }
  i += cli.command->group ? 2 : 1;

  /* argv for the command's option parser: its name, then the rest. */
  label = command_label (cli.command);
  cmd_argv = g_new0 (char *, (gsize) (argc - i) + 2);
  cmd_argv[0] = g_strconcat ("mts ", label, NULL);
  g_set_prgname (cmd_argv[0]);
  for (int k = i; k < argc; k++)
    cmd_argv[k - i + 1] = g_strdup (argv[k]);
  rc = cli.command->run (&cli, cmd_argv);

out:
  fflush (stdout);
  if (ferror (stdout) && rc == EXIT_OK)
    {
      fprintf (stderr, "mts: cannot write the output: %s\n", g_strerror (errno));
      rc = EXIT_FAILED;
    }
  g_free (cli.top.store);
  g_free (cli.top.actor);
  g_free (cli.cmd.store);
  g_free (cli.cmd.actor);
  return rc;
}
