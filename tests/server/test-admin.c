/* test-admin.c — the operator's commands (server/mts-server-admin.h), run
 * through mts_server_admin_run against real SQLite storage and a real vault
 * in a temporary folder, with stdout and stderr captured by redirecting the
 * file descriptors.  Every run checks that neither stream holds the user's
 * password.
 *
 * Practices: made, listed, a taken slug refused (before and after the
 * keystore exists) with nothing left in the vault, bad slugs and names.
 * Users: added with the password from the environment or a file; the URI's
 * secret is the one sealed in storage under "totp:<user id>" and its codes
 * verify; the QR code drawn is the URI's, inverted for a dark terminal with
 * a quiet zone; taken usernames, bad roles and short passwords refused with
 * nothing stored; 2FA reset (new secret, tokens revoked); lockouts cleared;
 * user and device lists; device revocation; the audit log (one entry per
 * change, no secrets in any detail, verification and a broken chain). */
#include "mts-server-admin.h"
#include "mts-server-audit.h"
#include "mts-error.h"
#include "mts-password.h"
#include "mts-totp.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <liboath/oath.h>
#include <qrencode.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD "correct horse battery staple"
#define SLUG     "north-leeds"

typedef struct {
  char *dir;
  MtsStorage *storage;
  MtsVault *vault;
  MtsServerConfig *config;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;
  g_autofree char *vault_dir = NULL;
  const char *passphrase = "test passphrase 123";

  f->dir = g_dir_make_tmp ("mts-test-admin-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (f->dir, "server.db", NULL);
  vault_dir = g_build_filename (f->dir, "vault", NULL);
  f->storage = mts_storage_sqlite_open (db, &error);
  g_assert_no_error (error);
  f->vault = mts_vault_open (vault_dir, passphrase, strlen (passphrase), MTS_KDF_TEST, &error);
  g_assert_no_error (error);
  f->config = mts_server_config_load (NULL, &error);
  g_assert_no_error (error);
  f->config->password_kdf = MTS_PASSWORD_LEVEL_MIN;

  g_unsetenv ("MTS_USER_PASSWORD_FILE");
  g_setenv ("MTS_USER_PASSWORD", PASSWORD, TRUE);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (dir);
    }
  g_remove (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mts_vault_free (f->vault);
  mts_storage_close (f->storage);
  mts_server_config_free (f->config);
  remove_tree (f->dir);
  g_free (f->dir);
}

/* ---- running a command ---- */

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Points @fd at a new temporary file; returns the saved descriptor. */
static int
redirect (int fd, char **path)
{
  g_autoptr(GError) error = NULL;
  int tmp = g_file_open_tmp ("mts-test-admin-out-XXXXXX", path, &error);
  int saved;

  g_assert_no_error (error);
  saved = dup (fd);
  g_assert_cmpint (saved, >=, 0);
  g_assert_cmpint (dup2 (tmp, fd), ==, fd);
  close (tmp);
  return saved;
}

static char *
restore (int fd, int saved, char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_cmpint (dup2 (saved, fd), ==, fd);
  close (saved);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_remove (path);
  g_free (path);
  return text;
}

static Run run_admin (Fixture *f, const char *command, ...) G_GNUC_NULL_TERMINATED;

/* Runs @command with the NULL-terminated arguments after it. */
static Run
run_admin (Fixture *f, const char *command, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  char *out_path = NULL, *err_path = NULL;
  int saved_out, saved_err;
  const char *arg;
  va_list ap;
  Run r;

  va_start (ap, command);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  fflush (stdout);
  fflush (stderr);
  saved_out = redirect (STDOUT_FILENO, &out_path);
  saved_err = redirect (STDERR_FILENO, &err_path);
  r.status = mts_server_admin_run (f->config, f->storage, f->vault, command,
                                   (int) args->len - 1, (char **) args->pdata);
  fflush (stdout);
  fflush (stderr);
  r.out = restore (STDOUT_FILENO, saved_out, out_path);
  r.err = restore (STDERR_FILENO, saved_err, err_path);

  g_test_message ("%s -> %d\nstdout:\n%s\nstderr:\n%s", command, r.status, r.out, r.err);
  g_assert_null (strstr (r.out, PASSWORD));
  g_assert_null (strstr (r.err, PASSWORD));
  return r;
}

static void
assert_fails (Run *r, int status, const char *message_part)
{
  g_assert_cmpint (r->status, ==, status);
  g_assert_cmpstr (r->out, ==, "");
  g_assert_nonnull (strstr (r->err, message_part));
}

/* Makes the practice SLUG; returns its id. */
static char *
create_practice (Fixture *f)
{
  g_auto(Run) r = run_admin (f, "practice-create", SLUG, "North Leeds Therapy", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  g_assert_true (g_str_has_suffix (r.out, "\n"));
  r.out[strlen (r.out) - 1] = '\0';
  g_assert_true (g_uuid_string_is_valid (r.out));
  return g_strdup (r.out);
}

typedef struct {
  char *user_id;
  char *uri;
  guint8 secret[MTS_TOTP_SECRET_BYTES];
} Added;

static void
added_clear (Added *a)
{
  g_free (a->user_id);
  g_free (a->uri);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Added, added_clear)

/* The secret= parameter of @uri, base32-decoded. */
static void
uri_secret (const char *uri, guint8 out[MTS_TOTP_SECRET_BYTES])
{
  const char *p = strstr (uri, "?secret=");
  g_autofree char *base32 = NULL;
  char *raw = NULL;
  size_t raw_len = 0;

  g_assert_nonnull (p);
  p += strlen ("?secret=");
  base32 = g_strndup (p, strcspn (p, "&"));
  g_assert_cmpuint (strlen (base32), ==, 32);   /* 20 bytes, unpadded */
  g_assert_cmpuint (strspn (base32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), ==, 32);
  g_assert_cmpint (oath_init (), ==, OATH_OK);
  g_assert_cmpint (oath_base32_decode (base32, strlen (base32), &raw, &raw_len), ==, OATH_OK);
  g_assert_cmpuint (raw_len, ==, MTS_TOTP_SECRET_BYTES);
  memcpy (out, raw, MTS_TOTP_SECRET_BYTES);
  free (raw);
}

/* Parses a user-add or reset-2fa output: "user ID" (with @has_user_line),
 * then the URI; what follows (the QR code) is returned in *@rest. */
static void
parse_enrolment (const char *out, gboolean has_user_line, Added *added, const char **rest)
{
  const char *p = out;
  const char *nl;

  if (has_user_line)
    {
      g_assert_true (g_str_has_prefix (p, "user "));
      nl = strchr (p, '\n');
      g_assert_nonnull (nl);
      added->user_id = g_strndup (p + 5, (gsize) (nl - p - 5));
      g_assert_true (g_uuid_string_is_valid (added->user_id));
      p = nl + 1;
    }
  nl = strchr (p, '\n');
  g_assert_nonnull (nl);
  added->uri = g_strndup (p, (gsize) (nl - p));
  uri_secret (added->uri, added->secret);
  if (rest != NULL)
    *rest = nl + 1;
}

static void
add_user (Fixture *f, const char *username, const char *role, Added *added)
{
  g_auto(Run) r = run_admin (f, "user-add", "--no-qr", SLUG, username, role, NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  parse_enrolment (r.out, TRUE, added, NULL);
}

/* The user's stored secret, unsealed as the login code will. */
static void
stored_secret (Fixture *f, const char *practice_id, const char *username,
               MtsUserRow *user, guint8 out[MTS_TOTP_SECRET_BYTES])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *context = NULL;
  char *plain;
  gsize len = 0;

  g_assert_cmpint (f->storage->ops->user_by_name (f->storage, practice_id, username, user, &error),
                   ==, MTS_STORAGE_FOUND);
  g_assert_no_error (error);
  context = g_strconcat ("totp:", user->id, NULL);
  plain = mts_vault_unseal (f->vault, practice_id, context, user->totp_sealed, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, MTS_TOTP_SECRET_BYTES);
  memcpy (out, plain, MTS_TOTP_SECRET_BYTES);
  mts_vault_plain_free (plain);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Names in the vault directory, sorted, as one string. */
static char *
vault_listing (Fixture *f)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (mts_vault_get_dir (f->vault), 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static gint64
audit_count (Fixture *f)
{
  g_auto(MtsAuditRow) last = { 0 };
  g_autoptr(GError) error = NULL;
  MtsStorageFound found = f->storage->ops->audit_last (f->storage, &last, &error);

  g_assert_no_error (error);
  return found == MTS_STORAGE_FOUND ? last.seq : 0;
}

/* ---- practices ---- */

/* 1. practice-create prints the new id, stores the practice and makes its
 * keystore; practice-list shows it; a taken slug is refused and leaves the
 * vault as it was. */
static void
test_practice_create (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_practice (f);
  g_auto(MtsPracticeRow) row = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *keystore = g_strconcat (id, ".mtskey", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_cmpint (f->storage->ops->practice_by_slug (f->storage, SLUG, &row, &error),
                   ==, MTS_STORAGE_FOUND);
  g_assert_cmpstr (row.id, ==, id);
  g_assert_cmpstr (row.name, ==, "North Leeds Therapy");
  before = vault_listing (f);
  g_assert_nonnull (strstr (before, keystore));

  {
    g_auto(Run) r = run_admin (f, "practice-create", SLUG, "Another", NULL);
    assert_fails (&r, 1, "taken");
    g_assert_nonnull (strstr (r.err, SLUG));
  }
  after = vault_listing (f);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (audit_count (f), ==, 1);

  {
    g_auto(Run) r = run_admin (f, "practice-list", NULL);
    g_auto(GStrv) lines = g_strsplit (r.out, "\n", -1);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);   /* header, row, "" */
    g_assert_true (g_str_has_prefix (lines[0], "SLUG "));
    g_assert_true (g_str_has_prefix (lines[1], SLUG " "));
    g_assert_nonnull (strstr (lines[1], "North Leeds Therapy"));
    g_assert_true (g_str_has_suffix (lines[1], id));
    /* Columns line up: NAME starts where the name does. */
    g_assert_cmpint (strstr (lines[0], "NAME") - lines[0], ==,
                     strstr (lines[1], "North") - lines[1]);
  }
}

static gboolean
failing_practice_create (MtsStorage *s, const MtsPracticeRow *row, GError **error)
{
  g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS, "slug is taken");
  return FALSE;
}

/* 2. When storage refuses the practice after its keystore was made (a
 * concurrent create took the slug), the keystore and its log are removed
 * and no audit entry stays; a retry then works. */
static void
test_practice_create_storage_fails (Fixture *f, gconstpointer data)
{
  const MtsStorageOps *real = f->storage->ops;
  MtsStorageOps failing = *real;
  g_autofree char *before = vault_listing (f);
  g_autofree char *after = NULL;
  g_autofree char *id = NULL;

  failing.practice_create = failing_practice_create;
  f->storage->ops = &failing;
  {
    g_auto(Run) r = run_admin (f, "practice-create", SLUG, "North Leeds Therapy", NULL);
    assert_fails (&r, 1, "taken");
  }
  f->storage->ops = real;
  after = vault_listing (f);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (audit_count (f), ==, 0);

  id = create_practice (f);
  g_assert_cmpint (audit_count (f), ==, 1);
}

/* 3. Malformed slugs and names, wrong argument counts, unknown commands
 * and options are usage errors (2) that create nothing. */
static void
test_bad_input (Fixture *f, gconstpointer data)
{
  static const char *const bad_slugs[] = {
    "x", "North-Leeds", "north leeds", "north_leeds", "leeds!", "",
    "a123456789012345678901234567890123456789012345678901234567890123",   /* 64 */
  };
  g_autofree char *before = vault_listing (f);
  g_autofree char *after = NULL;

  g_assert_true (mts_server_admin_is_command ("practice-create"));
  g_assert_true (mts_server_admin_is_command ("audit-verify"));
  g_assert_false (mts_server_admin_is_command ("serve"));
  g_assert_false (mts_server_admin_is_command ("user-delete"));

  for (gsize i = 0; i < G_N_ELEMENTS (bad_slugs); i++)
    {
      g_auto(Run) r = run_admin (f, "practice-create", bad_slugs[i], "Name", NULL);
      assert_fails (&r, 2, "not a practice slug");
      g_assert_nonnull (strstr (r.err, "usage: mts-server practice-create SLUG NAME"));
    }
  /* A leading '-' reads as an option; after "--" it is refused as a slug. */
  {
    g_auto(Run) r = run_admin (f, "practice-create", "-north", "Name", NULL);
    assert_fails (&r, 2, "unknown option");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-create", "--", "-north", "Name", NULL);
    assert_fails (&r, 2, "not a practice slug");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-create", "ab", "", NULL);
    assert_fails (&r, 2, "practice name");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-create", "ab", "Bad\033[2J", NULL);
    assert_fails (&r, 2, "practice name");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-create", SLUG, NULL);
    assert_fails (&r, 2, "expected 2 arguments, got 1");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-create", "--no-qr", SLUG, "Name", NULL);
    assert_fails (&r, 2, "unknown option");
  }
  {
    g_auto(Run) r = run_admin (f, "audit-verify", "extra", NULL);
    assert_fails (&r, 2, "expected 0 arguments, got 1");
  }
  {
    g_auto(Run) r = run_admin (f, "practice-delete", SLUG, NULL);
    assert_fails (&r, 2, "unknown command");
  }
  {
    g_auto(Run) r = run_admin (f, "user-list", "no-such-practice", NULL);
    assert_fails (&r, 1, "no practice");
  }
  /* The 63-character limit is inclusive. */
  {
    g_auto(Run) r = run_admin (f, "user-list",
                               "a12345678901234567890123456789012345678901234567890123456789012",
                               NULL);
    assert_fails (&r, 1, "no practice");
  }

  after = vault_listing (f);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (audit_count (f), ==, 0);
}

/* ---- users ---- */

/* 4. user-add stores the user with an Argon2id hash of the password, and
 * prints its id and an otpauth URI whose secret is the one sealed in
 * storage under "totp:<user id>"; a code made from the URI's secret
 * verifies against the stored one. */
static void
test_user_add (Fixture *f, gconstpointer data)
{
  g_autofree char *practice_id = create_practice (f);
  g_auto(Added) added = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  g_autoptr(GError) error = NULL;
  guint8 stored[MTS_TOTP_SECRET_BYTES];
  char code[MTS_TOTP_CODE_BUF];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 step = 0;
  g_autofree char *wrong_context = NULL;
  gsize len = 0;

  add_user (f, "ada", "clinician", &added);
  g_assert_true (g_str_has_prefix (added.uri, "otpauth://totp/MTS:ada%40north-leeds?secret="));
  g_assert_nonnull (strstr (added.uri, "&issuer=MTS"));

  stored_secret (f, practice_id, "ada", &user, stored);
  g_assert_cmpstr (user.id, ==, added.user_id);
  g_assert_cmpstr (user.practice_id, ==, practice_id);
  g_assert_cmpstr (user.role, ==, "clinician");
  g_assert_cmpint (user.totp_last_step, ==, -1);
  g_assert_false (user.disabled);
  g_assert_cmpmem (stored, sizeof stored, added.secret, sizeof added.secret);

  g_assert_true (mts_password_verify (user.password_hash, PASSWORD, &error));
  g_assert_no_error (error);
  g_assert_false (mts_password_verify (user.password_hash, "correct horse battery stapler", &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_WRONG);
  g_clear_error (&error);

  g_assert_true (mts_totp_code (added.secret, sizeof added.secret, now, code, &error));
  g_assert_no_error (error);
  g_assert_true (mts_totp_check (stored, sizeof stored, code, now, -1, &step, &error));
  g_assert_no_error (error);
  g_assert_cmpint (step, ==, MTS_TOTP_STEP (now));

  /* Sealed for this user only: another context does not open it. */
  wrong_context = g_strconcat ("totp:", practice_id, NULL);
  g_assert_null (mts_vault_unseal (f->vault, practice_id, wrong_context, user.totp_sealed,
                                   &len, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  g_clear_error (&error);

  /* Every role is accepted; usernames may hold . _ @ -. */
  {
    g_auto(Added) a2 = { 0 };
    g_auto(Added) a3 = { 0 };
    add_user (f, "b.obi_2@x-y", "practice_admin", &a2);
    add_user (f, "s", "support", &a3);
    g_assert_cmpstr (a2.user_id, !=, added.user_id);
    g_assert_false (memcmp (a2.secret, added.secret, sizeof added.secret) == 0);
  }
}

/* 5. The password may come from MTS_USER_PASSWORD_FILE (it wins over the
 * variable). */
static void
test_user_add_password_file (Fixture *f, gconstpointer data)
{
  g_autofree char *practice_id = create_practice (f);
  g_autofree char *path = g_build_filename (f->dir, "password", NULL);
  g_auto(Added) added = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  g_autoptr(GError) error = NULL;
  guint8 stored[MTS_TOTP_SECRET_BYTES];
  const char *file_password = "a password from a file\n";

  g_assert_true (g_file_set_contents_full (path, file_password, -1, 0, 0600, &error));
  g_assert_no_error (error);
  g_setenv ("MTS_USER_PASSWORD_FILE", path, TRUE);
  add_user (f, "ada", "clinician", &added);
  g_unsetenv ("MTS_USER_PASSWORD_FILE");

  stored_secret (f, practice_id, "ada", &user, stored);
  g_assert_true (mts_password_verify (user.password_hash, "a password from a file", &error));
  g_assert_no_error (error);
  g_assert_false (mts_password_verify (user.password_hash, PASSWORD, &error));
  g_clear_error (&error);
}

/* Rebuilds the module matrix from the half-block drawing in @text: TRUE
 * where a module is drawn lit.  @rows receives the number of module rows
 * (two per line). */
static GArray *
read_drawing (const char *text, int *width, int *rows)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GArray *lit = g_array_new (FALSE, FALSE, sizeof (gboolean));
  guint n_lines = g_strv_length (lines);

  g_assert_cmpuint (n_lines, >=, 2);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");   /* ends with a newline */
  n_lines--;
  *width = (int) g_utf8_strlen (lines[0], -1);
  *rows = 2 * (int) n_lines;
  g_array_set_size (lit, (guint) (*width * *rows));
  for (guint l = 0; l < n_lines; l++)
    {
      const char *p = lines[l];

      g_assert_cmpint (g_utf8_strlen (lines[l], -1), ==, *width);
      for (int x = 0; x < *width; x++, p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          gboolean top, bottom;

          switch (c)
            {
            case 0x2588: top = TRUE; bottom = TRUE; break;    /* █ */
            case 0x2580: top = TRUE; bottom = FALSE; break;   /* ▀ */
            case 0x2584: top = FALSE; bottom = TRUE; break;   /* ▄ */
            case ' ': top = FALSE; bottom = FALSE; break;
            default: g_assert_not_reached ();
            }
          g_array_index (lit, gboolean, (2 * l) * (guint) *width + (guint) x) = top;
          g_array_index (lit, gboolean, (2 * l + 1) * (guint) *width + (guint) x) = bottom;
        }
    }
  return lit;
}

/* 6. Without --no-qr, the URI is followed by its QR code: the symbol
 * libqrencode makes of the printed URI, light modules drawn lit (so a dark
 * terminal shows dark-on-light), inside a lit quiet zone of 2 modules. */
static void
test_user_add_qr (Fixture *f, gconstpointer data)
{
  g_free (create_practice (f));
  g_auto(Run) r = run_admin (f, "user-add", SLUG, "ada", "clinician", NULL);
  g_auto(Added) added = { 0 };
  g_autoptr(GArray) lit = NULL;
  const char *drawing = NULL;
  QRcode *qr;
  int width = 0, rows = 0;
  const int q = 2;

  g_assert_cmpint (r.status, ==, 0);
  parse_enrolment (r.out, TRUE, &added, &drawing);
  lit = read_drawing (drawing, &width, &rows);

  qr = QRcode_encodeString (added.uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  g_assert_nonnull (qr);
  g_assert_cmpint (width, ==, qr->width + 2 * q);
  /* An odd number of module rows: the last line's lower half is blank. */
  g_assert_cmpint (rows, ==, qr->width + 2 * q + 1);
  for (int y = 0; y < rows; y++)
    for (int x = 0; x < width; x++)
      {
        int mx = x - q, my = y - q;
        gboolean want;

        if (y == rows - 1)
          want = FALSE;
        else if (mx < 0 || my < 0 || mx >= qr->width || my >= qr->width)
          want = TRUE;   /* quiet zone */
        else
          want = (qr->data[my * qr->width + mx] & 1) == 0;
        if (g_array_index (lit, gboolean, (guint) (y * width + x)) != want)
          g_error ("module (%d, %d) drawn %s", mx, my, want ? "dark" : "lit");
      }
  /* The top-left finder pattern's corner is dark, i.e. not drawn. */
  g_assert_false (g_array_index (lit, gboolean, (guint) (q * width + q)));
  QRcode_free (qr);

  /* --no-qr prints the two lines only, and the reset prints the URI alone. */
  {
    g_auto(Run) r2 = run_admin (f, "user-add", "--no-qr", SLUG, "bo", "clinician", NULL);
    g_auto(GStrv) lines = g_strsplit (r2.out, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);
  }
  {
    g_auto(Run) r3 = run_admin (f, "user-reset-2fa", SLUG, "--no-qr", "bo", NULL);
    g_auto(GStrv) lines = g_strsplit (r3.out, "\n", -1);
    g_assert_cmpint (r3.status, ==, 0);
    g_assert_cmpuint (g_strv_length (lines), ==, 2);
    g_assert_true (g_str_has_prefix (lines[0], "otpauth://totp/MTS:bo%40north-leeds?secret="));
  }
}

static void
count_user_cb (const MtsUserRow *row, gpointer data)
{
  (*(guint *) data)++;
}

static guint
users_in (Fixture *f, const char *practice_id)
{
  g_autoptr(GError) error = NULL;
  guint n = 0;

  g_assert_true (f->storage->ops->user_list (f->storage, practice_id, count_user_cb, &n, &error));
  g_assert_no_error (error);
  return n;
}

/* 7. A taken username, a bad role or username, an unknown practice and a
 * short password are refused, storing nothing and auditing nothing. */
static void
test_user_add_refused (Fixture *f, gconstpointer data)
{
  static const char *const bad_roles[] = { "admin", "Clinician", "clinician ", "" };
  static const char *const bad_names[] = { "Ada", "ada smith", "ada/x", "",
    "a1234567890123456789012345678901234567890123456789012345678901234" /* 65 */ };
  g_autofree char *practice_id = create_practice (f);
  g_auto(Added) added = { 0 };

  add_user (f, "ada", "clinician", &added);
  g_assert_cmpint (audit_count (f), ==, 2);

  {
    g_auto(Run) r = run_admin (f, "user-add", SLUG, "ada", "support", NULL);
    assert_fails (&r, 1, "already has a user");
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_roles); i++)
    {
      g_auto(Run) r = run_admin (f, "user-add", SLUG, "bo", bad_roles[i], NULL);
      assert_fails (&r, 2, "not a role");
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_auto(Run) r = run_admin (f, "user-add", SLUG, bad_names[i], "clinician", NULL);
      assert_fails (&r, 2, "not a username");
    }
  {
    g_auto(Run) r = run_admin (f, "user-add", "south-leeds", "bo", "clinician", NULL);
    assert_fails (&r, 1, "no practice");
  }
  {
    g_auto(Run) r = run_admin (f, "user-add", "--qr", SLUG, "bo", "clinician", NULL);
    assert_fails (&r, 2, "unknown option");
  }

  g_setenv ("MTS_USER_PASSWORD", "elevenbytes", TRUE);   /* 11 bytes */
  {
    g_auto(Run) r = run_admin (f, "user-add", SLUG, "bo", "clinician", NULL);
    assert_fails (&r, 1, "too short");
    g_assert_null (strstr (r.err, "elevenbytes"));
  }
  g_setenv ("MTS_USER_PASSWORD", "", TRUE);
  {
    g_auto(Run) r = run_admin (f, "user-add", SLUG, "bo", "clinician", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_cmpstr (r.out, ==, "");
  }
  g_setenv ("MTS_USER_PASSWORD", "twelve bytes", TRUE);   /* exactly 12 */
  {
    g_auto(Added) bo = { 0 };
    add_user (f, "bo", "clinician", &bo);
  }
  g_setenv ("MTS_USER_PASSWORD", PASSWORD, TRUE);

  g_assert_cmpuint (users_in (f, practice_id), ==, 2);
  g_assert_cmpint (audit_count (f), ==, 3);
}

static void
put_token (Fixture *f, const char *practice_id, const char *user_id, const char *device_id,
           guint8 hash[MTS_TOKEN_HASH_BYTES])
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;
  MtsTokenRow row = { 0 };

  mts_token_new (MTS_TOKEN_ACCESS, &text, hash);
  g_free (text);
  memcpy (row.hash, hash, MTS_TOKEN_HASH_BYTES);
  row.kind = MTS_TOKEN_ACCESS;
  row.practice_id = (char *) practice_id;
  row.user_id = (char *) user_id;
  row.device_id = (char *) device_id;
  row.family = (char *) "family-1";
  row.expires_at = g_get_real_time () / G_USEC_PER_SEC + 900;
  g_assert_true (f->storage->ops->token_put (f->storage, &row, &error));
  g_assert_no_error (error);
}

static gboolean
token_revoked (Fixture *f, const guint8 hash[MTS_TOKEN_HASH_BYTES])
{
  g_auto(MtsTokenRow) row = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (f->storage->ops->token_get (f->storage, hash, &row, &error),
                   ==, MTS_STORAGE_FOUND);
  return row.revoked;
}

static void
touch_device (Fixture *f, const char *practice_id, const char *user_id, const char *device_id,
              const char *name)
{
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  MtsDeviceRow row = { 0 };

  row.id = (char *) device_id;
  row.practice_id = (char *) practice_id;
  row.user_id = (char *) user_id;
  row.name = (char *) name;
  row.created_at = now;
  row.last_seen_at = now;
  g_assert_true (f->storage->ops->device_touch (f->storage, &row, &error));
  g_assert_no_error (error);
}

/* 8. user-reset-2fa seals a new secret (printed in the URI, last step
 * reset) and revokes the user's tokens, not other users'. */
static void
test_reset_2fa (Fixture *f, gconstpointer data)
{
  g_autofree char *practice_id = create_practice (f);
  g_auto(Added) ada = { 0 };
  g_auto(Added) bo = { 0 };
  g_auto(Added) reset = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  g_autoptr(GError) error = NULL;
  guint8 ada_token[MTS_TOKEN_HASH_BYTES], bo_token[MTS_TOKEN_HASH_BYTES];
  guint8 stored[MTS_TOTP_SECRET_BYTES];
  const char *device = "0190b3c6-5f1e-7a3b-9c2d-4e5f6a7b8c9d";

  add_user (f, "ada", "clinician", &ada);
  add_user (f, "bo", "clinician", &bo);
  touch_device (f, practice_id, ada.user_id, device, "Ada's laptop");
  put_token (f, practice_id, ada.user_id, device, ada_token);
  put_token (f, practice_id, bo.user_id, device, bo_token);
  g_assert_cmpint (f->storage->ops->user_use_totp_step (f->storage, ada.user_id, 1000, &error),
                   ==, MTS_STORAGE_FOUND);

  {
    g_auto(Run) r = run_admin (f, "user-reset-2fa", "--no-qr", SLUG, "ada", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.err, ==, "");
    parse_enrolment (r.out, FALSE, &reset, NULL);
  }
  g_assert_false (memcmp (reset.secret, ada.secret, sizeof ada.secret) == 0);
  stored_secret (f, practice_id, "ada", &user, stored);
  g_assert_cmpmem (stored, sizeof stored, reset.secret, sizeof reset.secret);
  g_assert_cmpint (user.totp_last_step, ==, -1);
  g_assert_true (token_revoked (f, ada_token));
  g_assert_false (token_revoked (f, bo_token));

  {
    g_auto(Run) r = run_admin (f, "user-reset-2fa", SLUG, "cy", NULL);
    assert_fails (&r, 1, "no user \"cy\"");
  }
  g_assert_cmpint (audit_count (f), ==, 4);
}

/* 9. user-unlock clears the account's failure counter and lockout. */
static void
test_unlock (Fixture *f, gconstpointer data)
{
  g_free (create_practice (f));
  g_auto(Added) ada = { 0 };
  g_autoptr(GError) error = NULL;
  gint64 failures = -1, window = -1, locked = -1;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  add_user (f, "ada", "clinician", &ada);
  g_assert_true (f->storage->ops->attempt_put (f->storage, "account:" SLUG "/ada", 5, now,
                                               now + 900, &error));
  g_assert_true (f->storage->ops->attempt_put (f->storage, "address:192.0.2.1", 7, now,
                                               0, &error));
  g_assert_no_error (error);
  {
    g_auto(Run) r = run_admin (f, "user-unlock", SLUG, "ada", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "cleared"));
  }
  g_assert_true (f->storage->ops->attempt_get (f->storage, "account:" SLUG "/ada", &failures,
                                               &window, &locked, &error));
  g_assert_cmpint (failures, ==, 0);
  g_assert_cmpint (locked, ==, 0);
  g_assert_true (f->storage->ops->attempt_get (f->storage, "address:192.0.2.1", &failures,
                                               &window, &locked, &error));
  g_assert_cmpint (failures, ==, 7);
  {
    g_auto(Run) r = run_admin (f, "user-unlock", SLUG, "nobody", NULL);
    assert_fails (&r, 1, "no user");
  }
  g_assert_cmpint (audit_count (f), ==, 3);
}

/* 10. user-list prints a header and one aligned row per user. */
static void
test_user_list (Fixture *f, gconstpointer data)
{
  g_free (create_practice (f));
  g_auto(Added) ada = { 0 };
  g_auto(Added) bo = { 0 };
  g_auto(Run) r = { 0 };
  g_auto(GStrv) lines = NULL;

  add_user (f, "ada", "clinician", &ada);
  add_user (f, "barnaby.long-name", "support", &bo);
  r = run_admin (f, "user-list", SLUG, NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_true (g_str_has_prefix (lines[0], "USERNAME "));
  g_assert_true (g_str_has_prefix (lines[1], "ada "));
  g_assert_true (g_str_has_prefix (lines[2], "barnaby.long-name "));
  g_assert_true (g_str_has_suffix (lines[1], ada.user_id));
  g_assert_true (g_str_has_suffix (lines[2], bo.user_id));
  g_assert_nonnull (strstr (lines[1], "clinician"));
  g_assert_nonnull (strstr (lines[2], "support"));
  for (int i = 0; i <= 2; i++)
    {
      const char *role = i == 0 ? "ROLE" : i == 1 ? "clinician" : "support";
      /* Every row's ROLE column starts at the same place, and times are
       * ISO 8601 UTC. */
      g_assert_cmpint (strstr (lines[i], role) - lines[i], ==,
                       (int) strlen ("barnaby.long-name  "));
    }
  g_assert_true (g_regex_match_simple ("active  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ",
                                       lines[1], 0, 0));
  /* Nothing secret is listed. */
  g_assert_null (strstr (r.out, "$argon2id"));
  g_assert_null (strstr (r.out, "secret"));
}

/* 11. device-list shows devices with their user, names made safe for a
 * terminal; device-revoke refuses an unknown device, revokes a known one
 * and its tokens, and says so when it was already revoked. */
static void
test_devices (Fixture *f, gconstpointer data)
{
  g_autofree char *practice_id = create_practice (f);
  g_auto(Added) ada = { 0 };
  g_auto(MtsDeviceRow) device = { 0 };
  g_autoptr(GError) error = NULL;
  guint8 token[MTS_TOKEN_HASH_BYTES];
  const char *id = "0190b3c6-5f1e-7a3b-9c2d-4e5f6a7b8c9d";

  add_user (f, "ada", "clinician", &ada);
  {
    g_auto(Run) r = run_admin (f, "device-revoke", SLUG, id, NULL);
    assert_fails (&r, 1, "no device");
    g_assert_nonnull (strstr (r.err, id));
  }
  {
    g_auto(Run) r = run_admin (f, "device-revoke", SLUG, "bad id", NULL);
    assert_fails (&r, 2, "device id");
  }
  touch_device (f, practice_id, ada.user_id, id, "Ada's \033[2Jlaptop");
  put_token (f, practice_id, ada.user_id, id, token);
  {
    g_auto(Run) r = run_admin (f, "device-list", SLUG, NULL);
    g_auto(GStrv) lines = g_strsplit (r.out, "\n", -1);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);
    g_assert_true (g_str_has_prefix (lines[0], "USER "));
    g_assert_true (g_str_has_prefix (lines[1], "ada "));
    g_assert_nonnull (strstr (lines[1], "Ada's ?[2Jlaptop"));
    g_assert_null (strchr (r.out, '\033'));
    g_assert_true (g_str_has_suffix (lines[1], id));
    g_assert_true (g_regex_match_simple ("Z  -  " , lines[1], 0, 0));   /* not revoked */
  }
  {
    g_auto(Run) r = run_admin (f, "device-revoke", SLUG, id, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "revoked"));
  }
  g_assert_cmpint (f->storage->ops->device_get (f->storage, practice_id, id, &device, &error),
                   ==, MTS_STORAGE_FOUND);
  g_assert_cmpint (device.revoked_at, >, 0);
  g_assert_true (token_revoked (f, token));
  {
    g_auto(Run) r = run_admin (f, "device-revoke", SLUG, id, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "already revoked"));
  }
  {
    g_auto(Run) r = run_admin (f, "device-list", SLUG, NULL);
    g_assert_null (g_strrstr (r.out, "Z  -  "));
  }
  g_assert_cmpint (audit_count (f), ==, 3);   /* create, add, one revoke */
}

typedef struct {
  GPtrArray *rows;   /* MtsAuditRow copies */
} AuditCollect;

static gboolean
collect_audit_cb (const MtsAuditRow *row, gpointer data)
{
  MtsAuditRow *copy = g_new0 (MtsAuditRow, 1);

  *copy = *row;
  copy->practice_id = g_strdup (row->practice_id);
  copy->actor = g_strdup (row->actor);
  copy->event = g_strdup (row->event);
  copy->detail_json = g_strdup (row->detail_json);
  g_ptr_array_add (data, copy);
  return TRUE;
}

static void
audit_row_free (gpointer p)
{
  mts_audit_row_clear (p);
  g_free (p);
}

/* 12. Each changing command adds one audit entry (actor "admin", the
 * practice, the command's name, a JSON detail of ids, usernames and roles
 * without any password, hash or secret); refused commands and reads add
 * none; audit-verify passes, then fails once an entry is forged. */
static void
test_audit (Fixture *f, gconstpointer data)
{
  static const char *const events[] = {
    "practice-create", "user-add", "user-reset-2fa", "user-unlock", "device-revoke",
  };
  g_autofree char *practice_id = create_practice (f);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (audit_row_free);
  g_autoptr(GError) error = NULL;
  g_auto(Added) ada = { 0 };
  g_auto(Added) reset = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  guint8 stored[MTS_TOTP_SECRET_BYTES];
  const char *device = "0190b3c6-5f1e-7a3b-9c2d-4e5f6a7b8c9d";
  g_autofree char *forged_detail = NULL;

  add_user (f, "ada", "practice_admin", &ada);
  {
    g_auto(Run) r = run_admin (f, "user-add", SLUG, "ada", "clinician", NULL);
    g_assert_cmpint (r.status, ==, 1);
  }
  {
    g_auto(Run) r = run_admin (f, "user-reset-2fa", "--no-qr", SLUG, "ada", NULL);
    g_assert_cmpint (r.status, ==, 0);
    parse_enrolment (r.out, FALSE, &reset, NULL);
  }
  {
    g_auto(Run) r = run_admin (f, "user-unlock", SLUG, "ada", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  touch_device (f, practice_id, ada.user_id, device, "laptop");
  {
    g_auto(Run) r = run_admin (f, "device-revoke", SLUG, device, NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(Run) r1 = run_admin (f, "user-list", SLUG, NULL);
    g_auto(Run) r2 = run_admin (f, "device-list", SLUG, NULL);
    g_auto(Run) r3 = run_admin (f, "practice-list", NULL);
    g_assert_cmpint (r1.status + r2.status + r3.status, ==, 0);
  }
  stored_secret (f, practice_id, "ada", &user, stored);

  g_assert_true (f->storage->ops->audit_foreach (f->storage, 0, collect_audit_cb, rows, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, G_N_ELEMENTS (events));
  for (guint i = 0; i < rows->len; i++)
    {
      const MtsAuditRow *row = rows->pdata[i];
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *detail;
      g_autofree char *ada_b32 = mts_totp_secret_base32 (ada.secret, sizeof ada.secret);
      g_autofree char *reset_b32 = mts_totp_secret_base32 (reset.secret, sizeof reset.secret);

      g_test_message ("audit %" G_GINT64_FORMAT ": %s %s", row->seq, row->event, row->detail_json);
      g_assert_cmpint (row->seq, ==, i + 1);
      g_assert_cmpstr (row->event, ==, events[i]);
      g_assert_cmpstr (row->actor, ==, "admin");
      g_assert_cmpstr (row->practice_id, ==, practice_id);
      g_assert_true (json_parser_load_from_data (parser, row->detail_json, -1, &error));
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      detail = json_node_get_object (json_parser_get_root (parser));
      if (i == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (detail, "practice_id"), ==, practice_id);
          g_assert_cmpstr (json_object_get_string_member (detail, "slug"), ==, SLUG);
        }
      else if (i < 4)
        {
          g_assert_cmpstr (json_object_get_string_member (detail, "user_id"), ==, ada.user_id);
          g_assert_cmpstr (json_object_get_string_member (detail, "username"), ==, "ada");
        }
      else
        g_assert_cmpstr (json_object_get_string_member (detail, "device_id"), ==, device);
      if (i == 1)
        g_assert_cmpstr (json_object_get_string_member (detail, "role"), ==, "practice_admin");

      g_assert_null (strstr (row->detail_json, PASSWORD));
      g_assert_null (strstr (row->detail_json, "argon2"));
      g_assert_null (strstr (row->detail_json, user.password_hash + strlen (user.password_hash) - 20));
      g_assert_null (strstr (row->detail_json, ada_b32));
      g_assert_null (strstr (row->detail_json, reset_b32));
      g_assert_null (strstr (row->detail_json, "otpauth"));
    }

  {
    g_auto(Run) r = run_admin (f, "audit-verify", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.out, ==, "audit log: 5 entries, chain intact\n");
  }

  /* An entry added behind the log's back, with a MAC made without the key. */
  {
    MtsAuditRow forged = { 0 };

    forged.seq = 6;
    forged.at = g_get_real_time () / G_USEC_PER_SEC;
    forged.practice_id = practice_id;
    forged.actor = (char *) "admin";
    forged.event = (char *) "user-add";
    forged_detail = g_strdup ("{}");
    forged.detail_json = forged_detail;
    memset (forged.mac, 0xA5, sizeof forged.mac);
    g_assert_true (f->storage->ops->audit_append (f->storage, &forged, &error));
    g_assert_no_error (error);
  }
  {
    g_auto(Run) r = run_admin (f, "audit-verify", NULL);
    assert_fails (&r, 1, "audit log: ");
    g_assert_nonnull (strstr (r.err, "6"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/admin/practice-create", test_practice_create);
  ADD ("/admin/practice-create-storage-fails", test_practice_create_storage_fails);
  ADD ("/admin/bad-input", test_bad_input);
  ADD ("/admin/user-add", test_user_add);
  ADD ("/admin/user-add-password-file", test_user_add_password_file);
  ADD ("/admin/user-add-qr", test_user_add_qr);
  ADD ("/admin/user-add-refused", test_user_add_refused);
  ADD ("/admin/reset-2fa", test_reset_2fa);
  ADD ("/admin/unlock", test_unlock);
  ADD ("/admin/user-list", test_user_list);
  ADD ("/admin/devices", test_devices);
  ADD ("/admin/audit", test_audit);
#undef ADD

  return g_test_run ();
}
