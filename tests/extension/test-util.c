/* test-util.c — see test-util.h. */
#include "test-util.h"

#include <glib/gstdio.h>

char *
mts_test_dir_new (const char *tmpl)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

void
mts_test_dir_remove (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_remove (p), ==, 0);
    }
  g_dir_close (d);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

void
mts_test_make_key (guint8 key[MTS_KEY_BYTES], guint8 seed)
{
  for (int i = 0; i < MTS_KEY_BYTES; i++)
    key[i] = (guint8) (seed * 31 + i);
}
