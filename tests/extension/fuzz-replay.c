/* fuzz-replay.c — runs a fuzz target over a corpus, without libFuzzer.
 *
 * Usage: fuzz-<name>-replay DIR-OR-FILE...
 * Every regular file (a directory's entries sorted by name, dot files
 * skipped) is passed to LLVMFuzzerTestOneInput once and reported in TAP as
 * "ok N - FILE".  A crash or failed assertion ends the run, which fails the
 * test; a missing or empty corpus is "not ok".
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Adds the files named by @arg to @files, or a reason to @problems. */
static void
collect (const char *arg, GPtrArray *files, GPtrArray *problems)
{
  g_autoptr (GPtrArray) names = NULL;
  GDir *dir;
  const char *name;

  if (g_file_test (arg, G_FILE_TEST_IS_REGULAR))
    {
      g_ptr_array_add (files, g_strdup (arg));
      return;
    }
  dir = g_dir_open (arg, 0, NULL);
  if (dir == NULL)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s is neither a file nor a directory", arg));
      return;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (arg, name, NULL);

      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (names, path);
      else
        g_free (path);
    }
  g_dir_close (dir);
  if (names->len == 0)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s holds no corpus files", arg));
      return;
    }
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add (files, g_strdup (names->pdata[i]));
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  gboolean failed = FALSE;
  guint n = 0;

  if (argc < 2)
    g_ptr_array_add (problems, g_strdup ("no corpus given (usage: fuzz-replay DIR-OR-FILE...)"));
  for (int i = 1; i < argc; i++)
    collect (argv[i], files, problems);

  for (guint i = 0; i < problems->len; i++)
    {
      printf ("not ok %u - %s\n", ++n, (char *) problems->pdata[i]);
      failed = TRUE;
    }
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *data = NULL;
      uint8_t *exact;
      gsize len = 0;

      if (!g_file_get_contents (path, &data, &len, &error))
        {
          printf ("not ok %u - %s: %s\n", ++n, path, error->message);
          failed = TRUE;
          continue;
        }
      /* An exact-size copy (never NULL, as under libFuzzer), so that a
       * sanitizer sees any read past the end. */
      exact = malloc (len);
      g_assert_nonnull (exact);
      memcpy (exact, data, len);
      fflush (stdout);
      LLVMFuzzerTestOneInput (exact, len);
      free (exact);
      printf ("ok %u - %s\n", ++n, path);
    }
  printf ("1..%u\n", n);
  return failed ? 1 : 0;
}
