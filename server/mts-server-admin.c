/* mts-server-admin.c — the operator's commands (see mts-server-admin.h).
 *
 * How it is laid out: the command table at the bottom maps each name to its
 * usage and handler; mts_server_admin_run checks the argument count and the
 * one option (--no-qr), then calls the handler with an Admin context.
 * Above the handlers are the helpers they share, in this order: messages
 * and exit codes, checking names, finding a practice or user, the audit
 * detail and the transaction's end, the enrolment output (otpauth URI and
 * terminal QR code), and plain-text tables.
 *
 * Every changing command does its storage writes and its audit entry in
 * one transaction, so the audit log names exactly what happened.  Reads
 * and checks that can refuse the command (a taken username, an unknown
 * device) come first, before anything is asked for or created.
 */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-admin.h"

#include "mts-json-generate.h"
#include "mts-passphrase.h"
#include "mts-server-ai-wire.h"
#include "mts-server-audit.h"
#include "mts-totp.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

#define MIN_PASSWORD_BYTES 12
#define MAX_NAME_BYTES     200   /* a practice's display name */
#define MAX_DEVICE_ID      128   /* device ids are UUIDs; this only bounds junk */
#define QR_QUIET_ZONE      2     /* light modules around the symbol */
#define TOTP_ISSUER        "MTS"

/* Failures found here rather than in storage or the vault. */
typedef enum {
  ADMIN_ERROR_NOT_FOUND,   /* no such practice, user or device */
  ADMIN_ERROR_EXISTS,      /* the slug or username is taken */
  ADMIN_ERROR_INVALID,     /* a password refused, a QR code not drawable */
} AdminError;

static GQuark admin_error_quark (void);
G_DEFINE_QUARK (mts-server-admin-error-quark, admin_error)
#define ADMIN_ERROR (admin_error_quark ())

typedef struct {
  const MtsServerConfig *config;
  MtsStorage *storage;
  const MtsStorageOps *ops;
  MtsVault *vault;
  const char *command;
  const char *usage;       /* the command's arguments, for messages */
  gboolean no_qr;
  gint64 now;              /* Unix seconds, one reading per command */
} Admin;

/* ---- messages and exit codes ---- */

static int
fail (Admin *a, const GError *error)
{
  fprintf (stderr, "mts-server %s: %s\n", a->command, error->message);
  return EXIT_FAIL;
}

static int usage_error (Admin *a, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (Admin *a, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "mts-server %s: %s\nusage: mts-server %s %s\n",
           a->command, message, a->command, a->usage);
  return EXIT_USAGE;
}

/* ---- names ---- */

static gboolean
chars_within (const char *s, const char *extra)
{
  for (const char *p = s; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr (extra, *p) != NULL))
      return FALSE;
  return TRUE;
}

/* Slugs and usernames may not start with '-', so that none can be taken for
 * an option. */
static gboolean
slug_valid (const char *s)
{
  gsize len = strlen (s);

  return len >= 2 && len <= 63 && s[0] != '-' && chars_within (s, "-");
}

static gboolean
username_valid (const char *s)
{
  gsize len = strlen (s);

  return len >= 1 && len <= 64 && s[0] != '-' && chars_within (s, "._@-");
}

static gboolean
role_valid (const char *s)
{
  return g_strcmp0 (s, "clinician") == 0 || g_strcmp0 (s, "practice_admin") == 0
         || g_strcmp0 (s, "support") == 0;
}

static gboolean
practice_name_valid (const char *s)
{
  gsize len = strlen (s);

  if (len == 0 || len > MAX_NAME_BYTES || !g_utf8_validate (s, -1, NULL))
    return FALSE;
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* Printable ASCII: enough for any id a device chooses, and safe to echo. */
static gboolean
device_id_valid (const char *s)
{
  gsize len = strlen (s);

  if (len == 0 || len > MAX_DEVICE_ID)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (*p <= ' ' || *p > '~')
      return FALSE;
  return TRUE;
}

#define CHECK_SLUG(a, s) \
  if (!slug_valid (s)) \
    return usage_error (a, "\"%s\" is not a practice slug: 2 to 63 of a-z, 0-9 and '-', " \
                           "not starting with '-'", s)
#define CHECK_USERNAME(a, s) \
  if (!username_valid (s)) \
    return usage_error (a, "\"%s\" is not a username: 1 to 64 of a-z, 0-9, '.', '_', '@' " \
                           "and '-', not starting with '-'", s)

/* ---- finding things ---- */

static gboolean
get_practice (Admin *a, const char *slug, MtsPracticeRow *out, GError **error)
{
  MtsStorageFound found = a->ops->practice_by_slug (a->storage, slug, out, error);

  if (found == MTS_STORAGE_NOT_FOUND)
    g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_NOT_FOUND,
                 "there is no practice with the slug \"%s\"", slug);
  return found == MTS_STORAGE_FOUND;
}

static gboolean
get_user (Admin *a, const MtsPracticeRow *practice, const char *username,
          MtsUserRow *out, GError **error)
{
  MtsStorageFound found = a->ops->user_by_name (a->storage, practice->id, username, out, error);

  if (found == MTS_STORAGE_NOT_FOUND)
    g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_NOT_FOUND,
                 "practice \"%s\" has no user \"%s\"", practice->slug, username);
  return found == MTS_STORAGE_FOUND;
}

/* ---- audit details and the end of a transaction ---- */

/* A JSON object of string members from NULL-terminated key, value pairs.
 * Callers pass ids, usernames and roles only: never a password, a hash or a
 * secret. */
static char *detail_json (const char *first_key, ...) G_GNUC_NULL_TERMINATED;

static char *
detail_json (const char *first_key, ...)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  va_list ap;

  json_builder_begin_object (builder);
  va_start (ap, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (ap, const char *))
    {
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, va_arg (ap, const char *));
    }
  va_end (ap);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return mts_json_generate (generator, NULL);
}

/* Appends the command's audit entry to the open transaction and commits;
 * on any failure the whole transaction is rolled back. */
static gboolean
audit_and_commit (Admin *a, const char *practice_id, const char *detail, GError **error)
{
  if (mts_server_audit_append (a->storage, mts_vault_audit_key (a->vault), a->now,
                               practice_id, "admin", a->command, detail, error)
      && a->ops->commit (a->storage, error))
    return TRUE;
  a->ops->rollback (a->storage);
  return FALSE;
}

/* ---- enrolment: the otpauth URI and its QR code ---- */

/* What enrolling an authenticator needs.  The URI carries the TOTP secret
 * itself (that is what otpauth URIs are for): it is printed once, on the
 * operator's terminal, for the user it belongs to to scan or type into
 * their authenticator app, and it is the only copy outside the vault.
 * Whoever sees it can make that user's codes, so only that user should see
 * it: it is never logged or put in the audit log, and every copy made here
 * is wiped. */
typedef struct {
  char *uri;
  QRcode *qr;   /* NULL with --no-qr */
} Enrolment;

static void
enrolment_clear (Enrolment *e)
{
  if (e->uri != NULL)
    {
      sodium_memzero (e->uri, strlen (e->uri));
      g_free (e->uri);
      e->uri = NULL;
    }
  if (e->qr != NULL)
    {
      sodium_memzero (e->qr->data, (gsize) e->qr->width * (gsize) e->qr->width);
      QRcode_free (e->qr);
      e->qr = NULL;
    }
}

/* Made before anything is stored, so that a code that cannot be drawn
 * leaves no user behind whose secret nobody has. */
static gboolean
enrolment_make (Admin *a, const char *username, const char *slug,
                const guint8 secret[MTS_TOTP_SECRET_BYTES], Enrolment *out, GError **error)
{
  g_autofree char *account = g_strconcat (username, "@", slug, NULL);

  out->uri = mts_totp_uri (TOTP_ISSUER, account, secret, MTS_TOTP_SECRET_BYTES);
  out->qr = NULL;
  if (a->no_qr)
    return TRUE;
  out->qr = QRcode_encodeString (out->uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (out->qr == NULL)
    {
      int saved = errno;
      enrolment_clear (out);
      g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_INVALID,
                   "cannot make the QR code: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Whether module (x, y) is drawn lit: the symbol's light modules and the
 * quiet zone around it.  Rows past the quiet zone are not drawn at all. */
static gboolean
qr_lit (const QRcode *qr, int x, int y)
{
  if (y >= qr->width + QR_QUIET_ZONE)
    return FALSE;
  if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
    return TRUE;
  return (qr->data[y * qr->width + x] & 1) == 0;   /* bit 0: dark module */
}

/* Draws @qr with half blocks, two module rows to a line.  The terminal's
 * background stands for the dark modules and the block characters (in the
 * text colour) for the light ones, so on the usual dark-background terminal
 * a camera sees dark on light, as printed codes are. */
static void
qr_print (const QRcode *qr, FILE *out)
{
  static const char *const glyph[2][2] = {
    /* [top lit][bottom lit] */
    { " ", "▄" },
    { "▀", "█" },
  };
  GString *line = g_string_new (NULL);

  for (int y = -QR_QUIET_ZONE; y < qr->width + QR_QUIET_ZONE; y += 2)
    {
      g_string_truncate (line, 0);
      for (int x = -QR_QUIET_ZONE; x < qr->width + QR_QUIET_ZONE; x++)
        g_string_append (line, glyph[qr_lit (qr, x, y)][qr_lit (qr, x, y + 1)]);
      g_string_append_c (line, '\n');
      fputs (line->str, out);
    }
  sodium_memzero (line->str, line->allocated_len);
  g_string_free (line, TRUE);
}

static void
enrolment_print (const Enrolment *e)
{
  printf ("%s\n", e->uri);
  if (e->qr != NULL)
    qr_print (e->qr, stdout);
}

/* A new secret, sealed for @user_id, and its enrolment.  The secret itself
 * is wiped before returning. */
static GBytes *
new_totp (Admin *a, const MtsPracticeRow *practice, const char *user_id, const char *username,
          Enrolment *enrolment, GError **error)
{
  guint8 secret[MTS_TOTP_SECRET_BYTES];
  g_autofree char *context = g_strconcat ("totp:", user_id, NULL);
  GBytes *sealed;

  mts_totp_secret_new (secret);
  /* The login code unseals with exactly this context. */
  sealed = mts_vault_seal (a->vault, practice->id, context, secret, sizeof secret, error);
  if (sealed != NULL && !enrolment_make (a, username, practice->slug, secret, enrolment, error))
    g_clear_pointer (&sealed, g_bytes_unref);
  sodium_memzero (secret, sizeof secret);
  return sealed;
}

/* ---- tables ---- */

/* @s made safe for a terminal: invalid UTF-8 repaired, and control and
 * format characters (escape sequences, bidirectional overrides), which a
 * device's chosen name might hold, shown as '?'. */
static char *
printable (const char *s)
{
  g_autofree char *valid = g_utf8_make_valid (s != NULL ? s : "", -1);
  GString *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || g_unichar_type (c) == G_UNICODE_FORMAT)
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* Terminal columns of @s (printable UTF-8). */
static gsize
display_width (const char *s)
{
  gsize width = 0;

  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_iszerowidth (c))
        width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) t = NULL;

  if (unix_seconds == 0)
    return g_strdup ("-");
  t = g_date_time_new_from_unix_utc (unix_seconds);
  return t != NULL ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
}

/* A row of @n cells, each made printable; takes ownership of nothing. */
static char **
table_row (guint n, ...)
{
  char **row = g_new0 (char *, n + 1);
  va_list ap;

  va_start (ap, n);
  for (guint i = 0; i < n; i++)
    row[i] = printable (va_arg (ap, const char *));
  va_end (ap);
  return row;
}

static gint
compare_rows (gconstpointer pa, gconstpointer pb)
{
  char *const *a = *(char **const *) pa;
  char *const *b = *(char **const *) pb;

  for (guint i = 0; a[i] != NULL && b[i] != NULL; i++)
    {
      int c = g_utf8_collate (a[i], b[i]);
      if (c != 0)
        return c;
    }
  return 0;
}

/* Prints @header and @rows (sorted first) in columns two spaces apart; the
 * last column is not padded. */
static void
table_print (const char *const *header, GPtrArray *rows)
{
  guint n = g_strv_length ((char **) header);
  g_autofree gsize *width = g_new0 (gsize, n);
  GString *line = g_string_new (NULL);

  g_ptr_array_sort (rows, compare_rows);
  for (guint c = 0; c < n; c++)
    width[c] = display_width (header[c]);
  for (guint r = 0; r < rows->len; r++)
    for (guint c = 0; c < n; c++)
      width[c] = MAX (width[c], display_width (((char **) rows->pdata[r])[c]));

  for (guint r = 0; r <= rows->len; r++)
    {
      const char *const *cells = r == 0 ? header : rows->pdata[r - 1];

      g_string_truncate (line, 0);
      for (guint c = 0; c < n; c++)
        {
          g_string_append (line, cells[c]);
          if (c + 1 < n)
            for (gsize pad = display_width (cells[c]); pad < width[c] + 2; pad++)
              g_string_append_c (line, ' ');
        }
      printf ("%s\n", line->str);
    }
  g_string_free (line, TRUE);
}

/* ---- the commands ---- */

/* Removes a practice keystore made by this command, its key-access log and
 * the lock file mts_keystore_create leaves beside it, so that nothing is
 * left of a practice that was never stored.  The id is new, so no other
 * process can be using any of them. */
static void
remove_practice_keystore (Admin *a, const char *practice_id)
{
  static const char *const suffixes[] = { ".mtskey", ".mtskey.log", ".mtskey.lock" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (practice_id, suffixes[i], NULL);
      g_autofree char *path = g_build_filename (mts_vault_get_dir (a->vault), name, NULL);

      if (g_remove (path) != 0 && errno != ENOENT)
        fprintf (stderr, "mts-server %s: cannot remove %s: %s\n",
                 a->command, path, g_strerror (errno));
    }
}

static int
cmd_practice_create (Admin *a, char **argv)
{
  const char *slug = argv[0], *name = argv[1];
  g_auto(MtsPracticeRow) existing = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *detail = NULL;
  g_autoptr(GError) error = NULL;
  MtsStorageFound found;
  MtsPracticeRow row = { 0 };

  CHECK_SLUG (a, slug);
  if (!practice_name_valid (name))
    return usage_error (a, "the practice name must be 1 to %d bytes of UTF-8 text "
                           "without control characters", MAX_NAME_BYTES);

  found = a->ops->practice_by_slug (a->storage, slug, &existing, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return fail (a, error);
  if (found == MTS_STORAGE_FOUND)
    {
      g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_EXISTS,
                   "the slug \"%s\" is taken (practice %s)", slug, existing.id);
      return fail (a, error);
    }

  id = g_uuid_string_random ();
  row.id = id;
  row.slug = (char *) slug;
  row.name = (char *) name;
  row.created_at = a->now;
  detail = detail_json ("practice_id", id, "slug", slug, NULL);

  if (!a->ops->begin (a->storage, &error))
    return fail (a, error);
  if (!mts_vault_create_practice (a->vault, id, &error))
    {
      a->ops->rollback (a->storage);
      return fail (a, error);
    }
  if (!a->ops->practice_create (a->storage, &row, &error))
    {
      a->ops->rollback (a->storage);
      remove_practice_keystore (a, id);
      if (g_error_matches (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS))
        {
          g_clear_error (&error);
          g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_EXISTS, "the slug \"%s\" is taken", slug);
        }
      return fail (a, error);
    }
  if (!audit_and_commit (a, id, detail, &error))
    {
      remove_practice_keystore (a, id);
      return fail (a, error);
    }
  printf ("%s\n", id);
  return EXIT_OK;
}

/* Practices are listed from the vault's keystores (one per practice, named
 * by its id), since the storage interface looks practices up but does not
 * list them.  A keystore with no practice in storage is reported. */
static int
cmd_practice_list (Admin *a, char **argv)
{
  static const char *const header[] = { "SLUG", "NAME", "CREATED", "ID", NULL };
  const char *dir_path = mts_vault_get_dir (a->vault);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, &error);
  const char *name;

  if (dir == NULL)
    return fail (a, error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *id = NULL;
      g_auto(MtsPracticeRow) practice = { 0 };
      g_autofree char *created = NULL;
      MtsStorageFound found;

      if (!g_str_has_suffix (name, ".mtskey"))
        continue;
      id = g_strndup (name, strlen (name) - strlen (".mtskey"));
      if (!g_uuid_string_is_valid (id))
        continue;   /* server.mtskey */
      found = a->ops->practice_by_id (a->storage, id, &practice, &error);
      if (found == MTS_STORAGE_ERROR_RESULT)
        return fail (a, error);
      if (found == MTS_STORAGE_NOT_FOUND)
        {
          fprintf (stderr, "mts-server %s: %s/%s belongs to no practice in storage\n",
                   a->command, dir_path, name);
          continue;
        }
      created = format_time (practice.created_at);
      g_ptr_array_add (rows, table_row (4, practice.slug, practice.name, created, practice.id));
    }
  table_print (header, rows);
  return EXIT_OK;
}

static int
cmd_user_add (Admin *a, char **argv)
{
  const char *slug = argv[0], *username = argv[1], *role = argv[2];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_auto(MtsUserRow) existing = { 0 };
  g_autofree char *prompt = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *id = NULL;
  g_autofree char *detail = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  Enrolment enrolment = { 0 };
  MtsStorageFound found;
  MtsUserRow row = { 0 };
  char *password;
  gsize password_len = 0;

  CHECK_SLUG (a, slug);
  CHECK_USERNAME (a, username);
  if (!role_valid (role))
    return usage_error (a, "\"%s\" is not a role: clinician, practice_admin or support", role);

  if (!get_practice (a, slug, &practice, &error))
    return fail (a, error);
  found = a->ops->user_by_name (a->storage, practice.id, username, &existing, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return fail (a, error);
  if (found == MTS_STORAGE_FOUND)
    {
      g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_EXISTS,
                   "practice \"%s\" already has a user \"%s\"", slug, username);
      return fail (a, error);
    }

  prompt = g_strdup_printf ("Password for %s: ", username);
  password = mts_passphrase_read ("MTS_USER_PASSWORD", prompt, TRUE, &password_len, &error);
  if (password == NULL)
    {
      g_prefix_error (&error, "cannot read the password: ");
      return fail (a, error);
    }
  if (password_len < MIN_PASSWORD_BYTES)
    g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_INVALID,
                 "the password is too short: at least %d bytes, please", MIN_PASSWORD_BYTES);
  else if (memchr (password, '\0', password_len) != NULL)
    g_set_error_literal (&error, ADMIN_ERROR, ADMIN_ERROR_INVALID,
                         "the password contains a NUL byte");
  else
    hash = mts_password_hash (password, a->config->password_kdf, &error);
  mts_passphrase_free (password);
  if (hash == NULL)
    return fail (a, error);

  id = g_uuid_string_random ();
  sealed = new_totp (a, &practice, id, username, &enrolment, &error);
  if (sealed == NULL)
    goto out;

  row.id = id;
  row.practice_id = practice.id;
  row.username = (char *) username;
  row.role = (char *) role;
  row.password_hash = hash;
  row.totp_sealed = sealed;
  row.totp_last_step = -1;
  row.disabled = FALSE;
  row.created_at = a->now;
  detail = detail_json ("user_id", id, "username", username, "role", role, NULL);

  if (!a->ops->begin (a->storage, &error))
    goto out;
  if (!a->ops->user_add (a->storage, &row, &error))
    {
      a->ops->rollback (a->storage);
      if (g_error_matches (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_EXISTS))
        {
          g_clear_error (&error);
          g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_EXISTS,
                       "practice \"%s\" already has a user \"%s\"", slug, username);
        }
      goto out;
    }
  if (!audit_and_commit (a, practice.id, detail, &error))
    goto out;

  printf ("user %s\n", id);
  enrolment_print (&enrolment);

out:
  enrolment_clear (&enrolment);
  sodium_memzero (hash, strlen (hash));
  return error != NULL ? fail (a, error) : EXIT_OK;
}

static int
cmd_user_reset_2fa (Admin *a, char **argv)
{
  const char *slug = argv[0], *username = argv[1];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  g_autofree char *detail = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  Enrolment enrolment = { 0 };

  CHECK_SLUG (a, slug);
  CHECK_USERNAME (a, username);
  if (!get_practice (a, slug, &practice, &error) || !get_user (a, &practice, username, &user, &error))
    return fail (a, error);

  sealed = new_totp (a, &practice, user.id, username, &enrolment, &error);
  if (sealed == NULL)
    return fail (a, error);
  detail = detail_json ("user_id", user.id, "username", username, NULL);

  if (!a->ops->begin (a->storage, &error))
    goto out;
  if (!a->ops->user_set_totp (a->storage, user.id, sealed, &error)
      || !a->ops->token_revoke_user (a->storage, user.id, &error))
    {
      a->ops->rollback (a->storage);
      goto out;
    }
  if (!audit_and_commit (a, practice.id, detail, &error))
    goto out;

  enrolment_print (&enrolment);

out:
  enrolment_clear (&enrolment);
  return error != NULL ? fail (a, error) : EXIT_OK;
}

static int
cmd_user_unlock (Admin *a, char **argv)
{
  const char *slug = argv[0], *username = argv[1];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_auto(MtsUserRow) user = { 0 };
  g_autofree char *key = NULL;
  g_autofree char *detail = NULL;
  g_autoptr(GError) error = NULL;

  CHECK_SLUG (a, slug);
  CHECK_USERNAME (a, username);
  if (!get_practice (a, slug, &practice, &error) || !get_user (a, &practice, username, &user, &error))
    return fail (a, error);

  /* The login code's account key (mts-server-storage.h). */
  key = g_strconcat ("account:", slug, "/", username, NULL);
  detail = detail_json ("user_id", user.id, "username", username, NULL);
  if (!a->ops->begin (a->storage, &error))
    return fail (a, error);
  if (!a->ops->attempt_clear (a->storage, key, &error))
    {
      a->ops->rollback (a->storage);
      return fail (a, error);
    }
  if (!audit_and_commit (a, practice.id, detail, &error))
    return fail (a, error);
  printf ("login lockout cleared for %s in %s\n", username, slug);
  return EXIT_OK;
}

static void
add_user_row_cb (const MtsUserRow *user, gpointer data)
{
  g_autofree char *created = format_time (user->created_at);

  g_ptr_array_add (data, table_row (5, user->username, user->role,
                                    user->disabled ? "disabled" : "active", created, user->id));
}

static int
cmd_user_list (Admin *a, char **argv)
{
  static const char *const header[] = { "USERNAME", "ROLE", "STATUS", "CREATED", "ID", NULL };
  const char *slug = argv[0];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GError) error = NULL;

  CHECK_SLUG (a, slug);
  if (!get_practice (a, slug, &practice, &error)
      || !a->ops->user_list (a->storage, practice.id, add_user_row_cb, rows, &error))
    return fail (a, error);
  table_print (header, rows);
  return EXIT_OK;
}

static void
map_username_cb (const MtsUserRow *user, gpointer data)
{
  g_hash_table_insert (data, g_strdup (user->id), g_strdup (user->username));
}

typedef struct {
  GHashTable *usernames;   /* user id -> username */
  GPtrArray *rows;
} DeviceList;

static void
add_device_row_cb (const MtsDeviceRow *device, gpointer data)
{
  DeviceList *list = data;
  const char *username = g_hash_table_lookup (list->usernames, device->user_id);
  g_autofree char *created = format_time (device->created_at);
  g_autofree char *seen = format_time (device->last_seen_at);
  g_autofree char *revoked = format_time (device->revoked_at);

  g_ptr_array_add (list->rows,
                   table_row (6, username != NULL ? username : device->user_id, device->name,
                              created, seen, revoked, device->id));
}

static int
cmd_device_list (Admin *a, char **argv)
{
  static const char *const header[] = {
    "USER", "NAME", "CREATED", "LAST SEEN", "REVOKED", "ID", NULL
  };
  const char *slug = argv[0];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_autoptr(GHashTable) usernames = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GError) error = NULL;
  DeviceList list = { usernames, rows };

  CHECK_SLUG (a, slug);
  if (!get_practice (a, slug, &practice, &error)
      || !a->ops->user_list (a->storage, practice.id, map_username_cb, usernames, &error)
      || !a->ops->device_list (a->storage, practice.id, add_device_row_cb, &list, &error))
    return fail (a, error);
  table_print (header, rows);
  return EXIT_OK;
}

static int
cmd_device_revoke (Admin *a, char **argv)
{
  const char *slug = argv[0], *device_id = argv[1];
  g_auto(MtsPracticeRow) practice = { 0 };
  g_auto(MtsDeviceRow) device = { 0 };
  g_autofree char *detail = NULL;
  g_autoptr(GError) error = NULL;
  MtsStorageFound found;

  CHECK_SLUG (a, slug);
  if (!device_id_valid (device_id))
    return usage_error (a, "the device id must be 1 to %d printable ASCII characters",
                        MAX_DEVICE_ID);
  if (!get_practice (a, slug, &practice, &error))
    return fail (a, error);

  found = a->ops->device_get (a->storage, practice.id, device_id, &device, &error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return fail (a, error);
  if (found == MTS_STORAGE_NOT_FOUND)
    goto not_found;
  if (device.revoked_at != 0)
    {
      g_autofree char *when = format_time (device.revoked_at);
      printf ("device %s was already revoked at %s\n", device_id, when);
      return EXIT_OK;
    }

  detail = detail_json ("device_id", device_id, "user_id", device.user_id, NULL);
  if (!a->ops->begin (a->storage, &error))
    return fail (a, error);
  found = a->ops->device_revoke (a->storage, practice.id, device_id, a->now, &error);
  if (found != MTS_STORAGE_FOUND)
    {
      a->ops->rollback (a->storage);
      if (found == MTS_STORAGE_ERROR_RESULT)
        return fail (a, error);
      goto not_found;
    }
  if (!audit_and_commit (a, practice.id, detail, &error))
    return fail (a, error);
  printf ("device %s revoked; its tokens no longer work\n", device_id);
  return EXIT_OK;

not_found:
  g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_NOT_FOUND,
               "practice \"%s\" has no device %s", slug, device_id);
  return fail (a, error);
}

static int
cmd_audit_verify (Admin *a, char **argv)
{
  g_autoptr(GError) error = NULL;
  gint64 n = 0;

  if (!mts_server_audit_verify (a->storage, mts_vault_audit_key (a->vault), &n, &error))
    {
      fprintf (stderr, "audit log: %s\n", error->message);
      return EXIT_FAIL;
    }
  printf ("audit log: %" G_GINT64_FORMAT " %s, chain intact\n", n, n == 1 ? "entry" : "entries");
  return EXIT_OK;
}

/* ---- AI provider keys ---- */

/* The vault secret of @provider ("anthropic" or "openai"), or NULL. */
static const char *
ai_secret (const char *provider, const char **env)
{
  if (g_strcmp0 (provider, "anthropic") == 0)
    {
      *env = MTS_AI_ANTHROPIC_ENV;
      return MTS_AI_ANTHROPIC_SECRET;
    }
  if (g_strcmp0 (provider, "openai") == 0)
    {
      *env = MTS_AI_OPENAI_ENV;
      return MTS_AI_OPENAI_SECRET;
    }
  return NULL;
}

/* The key from standard input (its first line; a terminal does not echo
 * it), in sodium_malloc memory (mts_passphrase_free), or NULL. */
static char *
read_key (gsize *len, GError **error)
{
  char *key;
  gsize n = 0;
  int c;

  if (isatty (STDIN_FILENO))
    return mts_passphrase_read ("MTS_AI_KEY", "API key: ", FALSE, len, error);
  key = sodium_malloc (MTS_AI_KEY_MAX_BYTES + 2);
  if (key == NULL)
    {
      g_set_error_literal (error, ADMIN_ERROR, ADMIN_ERROR_INVALID, "out of secure memory");
      return NULL;
    }
  while ((c = getchar ()) != EOF && c != '\n')
    if (n <= MTS_AI_KEY_MAX_BYTES)
      key[n++] = (char) c;
  /* Whatever else the input held is read and dropped. */
  while (c != EOF)
    c = getchar ();
  while (n > 0 && (key[n - 1] == '\r' || key[n - 1] == ' ' || key[n - 1] == '\t'))
    n--;
  key[n] = '\0';
  *len = n;
  return key;
}

static int
cmd_ai_key_set (Admin *a, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *detail = NULL;
  const char *env = NULL;
  const char *secret = ai_secret (argv[0], &env);
  gsize len = 0;
  char *key;
  gboolean ok;

  if (secret == NULL)
    return usage_error (a, "\"%s\" is not a provider: anthropic or openai", argv[0]);
  key = read_key (&len, &error);
  if (key == NULL)
    return fail (a, error);
  if (!mts_ai_wire_key_valid (key, len))
    {
      mts_passphrase_free (key);
      g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_INVALID,
                   "standard input holds no API key (one line of %d to %d printable "
                   "characters without spaces)", MTS_AI_KEY_MIN_BYTES, MTS_AI_KEY_MAX_BYTES);
      return fail (a, error);
    }
  detail = detail_json ("provider", argv[0], NULL);
  /* Audited in the transaction that the sealed file is written within, so
   * a failure leaves neither. */
  ok = a->ops->begin (a->storage, &error) &&
       mts_server_audit_append (a->storage, mts_vault_audit_key (a->vault), a->now, NULL,
                                "admin", a->command, detail, &error) &&
       mts_vault_secret_set (a->vault, secret, key, len, &error);
  mts_passphrase_free (key);
  if (!ok)
    {
      a->ops->rollback (a->storage);
      return fail (a, error);
    }
  if (!a->ops->commit (a->storage, &error))
    {
      a->ops->rollback (a->storage);
      mts_vault_secret_clear (a->vault, secret, NULL, NULL);
      return fail (a, error);
    }
  printf ("%s API key sealed in the vault; the server uses it from its next request "
          "(unless %s is set in its environment, which wins)\n", argv[0], env);
  return EXIT_OK;
}

static int
cmd_ai_key_clear (Admin *a, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *detail = NULL;
  const char *env = NULL;
  const char *secret = ai_secret (argv[0], &env);
  gboolean existed = FALSE;

  if (secret == NULL)
    return usage_error (a, "\"%s\" is not a provider: anthropic or openai", argv[0]);
  detail = detail_json ("provider", argv[0], NULL);
  if (!a->ops->begin (a->storage, &error) ||
      !mts_server_audit_append (a->storage, mts_vault_audit_key (a->vault), a->now, NULL,
                                "admin", a->command, detail, &error) ||
      !mts_vault_secret_clear (a->vault, secret, &existed, &error))
    {
      a->ops->rollback (a->storage);
      return fail (a, error);
    }
  if (!existed)
    {
      a->ops->rollback (a->storage);
      printf ("no %s API key was in the vault\n", argv[0]);
      return EXIT_OK;
    }
  if (!a->ops->commit (a->storage, &error))
    return fail (a, error);
  printf ("%s API key removed from the vault\n", argv[0]);
  return EXIT_OK;
}

/* ---- the table of commands ---- */

typedef struct {
  const char *name;
  const char *usage;
  int n_args;
  gboolean takes_no_qr;
  int (*run) (Admin *a, char **argv);
} Command;

static const Command commands[] = {
  { "practice-create", "SLUG NAME", 2, FALSE, cmd_practice_create },
  { "practice-list", "", 0, FALSE, cmd_practice_list },
  { "user-add", "[--no-qr] SLUG USERNAME ROLE", 3, TRUE, cmd_user_add },
  { "user-reset-2fa", "[--no-qr] SLUG USERNAME", 2, TRUE, cmd_user_reset_2fa },
  { "user-unlock", "SLUG USERNAME", 2, FALSE, cmd_user_unlock },
  { "user-list", "SLUG", 1, FALSE, cmd_user_list },
  { "device-list", "SLUG", 1, FALSE, cmd_device_list },
  { "device-revoke", "SLUG DEVICE_ID", 2, FALSE, cmd_device_revoke },
  { "audit-verify", "", 0, FALSE, cmd_audit_verify },
  { "ai-key-set", "anthropic|openai   (the key on standard input)", 1, FALSE, cmd_ai_key_set },
  { "ai-key-clear", "anthropic|openai", 1, FALSE, cmd_ai_key_clear },
};

static const Command *
find_command (const char *name)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

gboolean
mts_server_admin_is_command (const char *name)
{
  return find_command (name) != NULL;
}

int
mts_server_admin_run (const MtsServerConfig *config, MtsStorage *storage,
                      MtsVault *vault, const char *command, int argc, char **argv)
{
  const Command *cmd = find_command (command);
  g_autofree char **args = NULL;
  Admin a = { 0 };
  int n = 0;
  int status;

  g_return_val_if_fail (config != NULL && storage != NULL && vault != NULL, EXIT_FAIL);
  g_return_val_if_fail (argc >= 0 && (argc == 0 || argv != NULL), EXIT_FAIL);

  if (cmd == NULL)
    {
      fprintf (stderr, "mts-server: unknown command \"%s\"\n", command != NULL ? command : "");
      return EXIT_USAGE;
    }
  a.config = config;
  a.storage = storage;
  a.ops = storage->ops;
  a.vault = vault;
  a.command = cmd->name;
  a.usage = cmd->usage;
  a.now = g_get_real_time () / G_USEC_PER_SEC;

  /* Options may come anywhere before "--"; after it everything is an
   * argument. */
  args = g_new0 (char *, argc + 1);
  for (int i = 0, options = TRUE; i < argc; i++)
    {
      if (options && strcmp (argv[i], "--") == 0)
        options = FALSE;
      else if (options && cmd->takes_no_qr && strcmp (argv[i], "--no-qr") == 0)
        a.no_qr = TRUE;
      else if (options && argv[i][0] == '-' && argv[i][1] != '\0')
        return usage_error (&a, "unknown option \"%s\"", argv[i]);
      else
        args[n++] = argv[i];
    }
  if (n != cmd->n_args)
    return usage_error (&a, "expected %d argument%s, got %d", cmd->n_args,
                        cmd->n_args == 1 ? "" : "s", n);

  status = cmd->run (&a, args);
  fflush (stdout);
  return status;
}
