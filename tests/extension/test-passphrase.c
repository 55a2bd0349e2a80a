/* test-passphrase.c — unit tests of passphrase sources (mts-passphrase.h).
 *
 * Passphrases are compared with memcmp, never with g_assert_cmpstr, so a
 * failing test does not print one.
 */
#include "mts-passphrase.h"
#include "mts-error.h"
#include "test-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *file;   /* dir/passphrase, not yet created */
} Fixture;

static void
clear_env (void)
{
  g_unsetenv ("MTS_PASSPHRASE");
  g_unsetenv ("MTS_PASSPHRASE_FILE");
  g_unsetenv ("MTS_NEW_PASSPHRASE");
  g_unsetenv ("MTS_NEW_PASSPHRASE_FILE");
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  clear_env ();
  fx->dir = g_dir_make_tmp ("mts-test-passphrase-XXXXXX", &error);
  g_assert_no_error (error);
  fx->file = g_build_filename (fx->dir, "passphrase", NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{

  clear_env ();
  mts_test_dir_remove (fx->dir);
  g_free (fx->file);
  g_free (fx->dir);
}

static void
write_file (const char *path, const char *data, gsize len, int mode)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, data, (gssize) len,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
assert_reads (const char *prefix, const char *expect, gsize expect_len)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  char *p = mts_passphrase_read (prefix, "Passphrase: ", FALSE, &len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpuint (len, ==, expect_len);
  g_assert_true (memcmp (p, expect, expect_len) == 0);
  g_assert_cmpint (p[len], ==, '\0');
  mts_passphrase_free (p);
}

/* Reading must fail with NO_PASSPHRASE, the message holding @needle (if
 * any) and never the passphrase @secret (if any). */
static void
assert_refused (const char *needle, const char *secret)
{
  g_autoptr (GError) error = NULL;
  gsize len = 12345;
  char *p = mts_passphrase_read ("MTS_PASSPHRASE", "Passphrase: ", FALSE, &len, &error);

  g_assert_null (p);
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in: %s", needle, error->message);
  if (secret != NULL)
    g_assert_null (strstr (error->message, secret));
}

static void
test_env (Fixture *fx, gconstpointer data)
{
  static const char pass[] = "env pass\twith tab and caf\xc3\xa9";

  g_setenv ("MTS_PASSPHRASE", pass, TRUE);
  assert_reads ("MTS_PASSPHRASE", pass, strlen (pass));
}

static void
test_file_over_env (Fixture *fx, gconstpointer data)
{
  write_file (fx->file, "from the file\n", 14, 0600);
  g_setenv ("MTS_PASSPHRASE", "from the environment", TRUE);
  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);
  assert_reads ("MTS_PASSPHRASE", "from the file", 13);

  /* An empty MTS_PASSPHRASE_FILE counts as unset. */
  g_setenv ("MTS_PASSPHRASE_FILE", "", TRUE);
  assert_reads ("MTS_PASSPHRASE", "from the environment", 20);
}

static void
test_prefixes (Fixture *fx, gconstpointer data)
{
  write_file (fx->file, "new one from file", 17, 0600);
  g_setenv ("MTS_PASSPHRASE", "the current one", TRUE);
  g_setenv ("MTS_NEW_PASSPHRASE_FILE", fx->file, TRUE);
  assert_reads ("MTS_PASSPHRASE", "the current one", 15);
  assert_reads ("MTS_NEW_PASSPHRASE", "new one from file", 17);
}

static void
test_file_first_line (Fixture *fx, gconstpointer data)
{
  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);

  write_file (fx->file, "line one\nline two\n", 18, 0600);
  assert_reads ("MTS_PASSPHRASE", "line one", 8);
  write_file (fx->file, "no newline at all", 17, 0600);
  assert_reads ("MTS_PASSPHRASE", "no newline at all", 17);
  write_file (fx->file, " spaces kept \n", 14, 0600);
  assert_reads ("MTS_PASSPHRASE", " spaces kept ", 13);
}

static void
test_file_crlf (Fixture *fx, gconstpointer data)
{
  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);

  write_file (fx->file, "windows line\r\nsecond\r\n", 22, 0600);
  assert_reads ("MTS_PASSPHRASE", "windows line", 12);
  write_file (fx->file, "trailing cr\r", 12, 0600);
  assert_reads ("MTS_PASSPHRASE", "trailing cr", 11);
  write_file (fx->file, "inner\rcr\n", 9, 0600);
  assert_reads ("MTS_PASSPHRASE", "inner\rcr", 8);
}

static void
test_file_mode (Fixture *fx, gconstpointer data)
{
  static const int refused[] = { 0640, 0604, 0660, 0644, 0610, 0601 };
  static const char secret[] = "do not print me";

  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);
  g_setenv ("MTS_PASSPHRASE", "fallback is not used", TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      write_file (fx->file, secret, strlen (secret), refused[i]);
      assert_refused ("MTS_PASSPHRASE_FILE", secret);
    }
  write_file (fx->file, secret, strlen (secret), 0400);
  assert_reads ("MTS_PASSPHRASE", secret, strlen (secret));
  write_file (fx->file, secret, strlen (secret), 0600);
  assert_reads ("MTS_PASSPHRASE", secret, strlen (secret));
}

static void
test_file_missing (Fixture *fx, gconstpointer data)
{
  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);
  g_setenv ("MTS_PASSPHRASE", "fallback is not used", TRUE);
  assert_refused ("MTS_PASSPHRASE_FILE", NULL);
  assert_refused (fx->file, NULL);

  /* A directory is not a passphrase file either. */
  g_setenv ("MTS_PASSPHRASE_FILE", fx->dir, TRUE);
  g_assert_cmpint (g_chmod (fx->dir, 0700), ==, 0);
  assert_refused ("MTS_PASSPHRASE_FILE", NULL);
}

/* A link (as /dev/stdin and <(pass show mts) are) is followed; the mode
 * check applies to what it points at. */
static void
test_file_symlink (Fixture *fx, gconstpointer data)
{
  g_autofree char *link = g_build_filename (fx->dir, "link", NULL);

  write_file (fx->file, "behind a link", 13, 0600);
  g_assert_cmpint (symlink (fx->file, link), ==, 0);
  g_setenv ("MTS_PASSPHRASE_FILE", link, TRUE);
  assert_reads ("MTS_PASSPHRASE", "behind a link", 13);
  g_assert_cmpint (g_chmod (fx->file, 0644), ==, 0);
  assert_refused ("readable by other users", "behind a link");
}

static void
test_empty (Fixture *fx, gconstpointer data)
{
  static const char *const files[] = { "", "\n", "\r\n", "\nsecond line\n" };

  g_setenv ("MTS_PASSPHRASE", "", TRUE);
  assert_refused ("empty", NULL);

  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      write_file (fx->file, files[i], strlen (files[i]), 0600);
      assert_refused ("empty", NULL);
    }
}

static void
test_too_long (Fixture *fx, gconstpointer data)
{
  g_autofree char *max = g_strnfill (MTS_PASSPHRASE_MAX, 'p');
  g_autofree char *over = g_strnfill (MTS_PASSPHRASE_MAX + 1, 'p');
  g_autofree char *max_nl = g_strconcat (max, "\n", NULL);
  g_autofree char *max_crlf = g_strconcat (max, "\r\n", NULL);
  g_autofree char *over_nl = g_strconcat (over, "\nshort\n", NULL);
  g_autofree char *huge = g_strnfill (5000, 'p');

  g_setenv ("MTS_PASSPHRASE", max, TRUE);
  assert_reads ("MTS_PASSPHRASE", max, MTS_PASSPHRASE_MAX);
  g_setenv ("MTS_PASSPHRASE", over, TRUE);
  assert_refused ("longer than", NULL);
  g_unsetenv ("MTS_PASSPHRASE");

  g_setenv ("MTS_PASSPHRASE_FILE", fx->file, TRUE);
  write_file (fx->file, max, MTS_PASSPHRASE_MAX, 0600);
  assert_reads ("MTS_PASSPHRASE", max, MTS_PASSPHRASE_MAX);
  write_file (fx->file, max_nl, MTS_PASSPHRASE_MAX + 1, 0600);
  assert_reads ("MTS_PASSPHRASE", max, MTS_PASSPHRASE_MAX);
  write_file (fx->file, max_crlf, MTS_PASSPHRASE_MAX + 2, 0600);
  assert_reads ("MTS_PASSPHRASE", max, MTS_PASSPHRASE_MAX);
  write_file (fx->file, over, MTS_PASSPHRASE_MAX + 1, 0600);
  assert_refused ("longer than", NULL);
  write_file (fx->file, over_nl, strlen (over_nl), 0600);
  assert_refused ("longer than", NULL);
  write_file (fx->file, huge, 5000, 0600);
  assert_refused ("longer than", NULL);
}

/* With no variable set and no controlling terminal there is no source.
 * The child calls setsid() to drop its terminal.  A forked probe checks
 * first that /dev/tty is then out of reach; if not, the test is skipped. */
static gboolean
setsid_drops_terminal (void)
{
  int status = 0;
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int fd;

      (void) setsid ();
      fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
      _exit (fd >= 0 ? 1 : 0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
test_no_source (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      gsize len = 0;
      int fd;

      clear_env ();
      (void) setsid ();
      fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
      g_assert_cmpint (fd, <, 0);
      g_assert_null (mts_passphrase_read ("MTS_PASSPHRASE", "Passphrase: ", FALSE, &len, &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE);
      g_assert_nonnull (strstr (error->message, "MTS_PASSPHRASE"));
      g_assert_nonnull (strstr (error->message, "MTS_PASSPHRASE_FILE"));
      g_clear_error (&error);
      g_assert_null (mts_passphrase_read ("MTS_NEW_PASSPHRASE", "New passphrase: ", TRUE, &len,
                                          &error));
      g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE);
      g_assert_nonnull (strstr (error->message, "MTS_NEW_PASSPHRASE_FILE"));
      return;
    }
  if (!setsid_drops_terminal ())
    {
      g_test_skip ("/dev/tty is still reachable after setsid()");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (mts_core_init (NULL));

#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/passphrase/env/basic", test_env);
  ADD ("/passphrase/env/prefixes", test_prefixes);
  ADD ("/passphrase/file/over-env", test_file_over_env);
  ADD ("/passphrase/file/first-line", test_file_first_line);
  ADD ("/passphrase/file/crlf", test_file_crlf);
  ADD ("/passphrase/file/mode", test_file_mode);
  ADD ("/passphrase/file/missing", test_file_missing);
  ADD ("/passphrase/file/symlink", test_file_symlink);
  ADD ("/passphrase/refuse/empty", test_empty);
  ADD ("/passphrase/refuse/too-long", test_too_long);
#undef ADD
  g_test_add_func ("/passphrase/no-source", test_no_source);
  return g_test_run ();
}
