/* mts-migrations.c — applying schema/NNNN-*.sql by PRAGMA user_version. */
#define G_LOG_DOMAIN "mts-schema"

#include "mts-migrations.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "mts-schema-resources.h"

#define RESOURCE_DIR "/org/mts/schema/"

G_DEFINE_QUARK (mts-schema-error-quark, mts_schema_error)

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Loads the built-in list once: every NNNN-*.sql resource, in order. */
static GArray *
load_builtin (void)
{
  static GArray *list;
  static GPtrArray *data;   /* the GBytes behind each migration's text */
  static gsize once;

  if (g_once_init_enter (&once))
    {
      GArray *migrations = g_array_new (FALSE, TRUE, sizeof (MtsMigration));
      data = g_ptr_array_new ();
      g_autoptr (GError) error = NULL;
      char **names = g_resource_enumerate_children (mts_schema_get_resource (), RESOURCE_DIR,
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE, &error);

      if (names == NULL)
        g_error ("the schema resources are missing: %s", error->message);
      qsort (names, g_strv_length (names), sizeof (char *), compare_names);
      for (char **name = names; *name != NULL; name++)
        {
          g_autofree char *path = g_strconcat (RESOURCE_DIR, *name, NULL);
          GBytes *bytes = g_resource_lookup_data (mts_schema_get_resource (), path,
                                                  G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
          MtsMigration m = { atoi (*name), g_strdup (*name), NULL };

          if (!g_str_has_suffix (*name, ".sql") || bytes == NULL)
            g_error ("unexpected schema resource %s", *name);
          /* Resource data is NUL-terminated; it lives as long as the program. */
          m.sql = g_bytes_get_data (bytes, NULL);
          g_ptr_array_add (data, bytes);
          g_array_append_val (migrations, m);
        }
      g_strfreev (names);
      list = migrations;
      g_once_init_leave (&once, 1);
    }
  return list;
}

const MtsMigration *
mts_migrations_builtin (guint *n)
{
  GArray *list = load_builtin ();

  *n = list->len;
  return (const MtsMigration *) list->data;
}

int
mts_migrations_latest (void)
{
  guint n;
  const MtsMigration *list = mts_migrations_builtin (&n);

  return n > 0 ? list[n - 1].version : 0;
}

int
mts_migrations_current (sqlite3 *db, GError **error)
{
  sqlite3_stmt *st = NULL;
  int version = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    version = sqlite3_column_int (st, 0);
  else
    g_set_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_FAILED,
                 "cannot read the store's schema version: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return version;
}

static gboolean
exec (sqlite3 *db, const char *sql, char **message)
{
  return sqlite3_exec (db, sql, NULL, NULL, message) == SQLITE_OK;
}

gboolean
mts_migrations_apply_list (sqlite3 *db, const MtsMigration *list, guint n, guint *applied,
                           GError **error)
{
  int current, latest;

  if (applied)
    *applied = 0;
  for (guint i = 0; i < n; i++)
    if (list[i].version != (int) i + 1)
      {
        g_set_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_INVALID,
                     "migration %s should be number %u: the numbers must run 1, 2, 3, ...",
                     list[i].name, i + 1);
        return FALSE;
      }
  latest = (int) n;
  current = mts_migrations_current (db, error);
  if (current < 0)
    return FALSE;
  if (current > latest)
    {
      g_set_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_NEWER,
                   "this store has schema version %d, newer than this build knows (%d): "
                   "open it with a newer MTS", current, latest);
      return FALSE;
    }
  for (int v = current + 1; v <= latest; v++)
    {
      const MtsMigration *m = &list[v - 1];
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %d", v);
      char *message = NULL;

      if (!exec (db, "BEGIN IMMEDIATE", &message)
          || !exec (db, m->sql, &message)
          || !exec (db, set_version, &message)
          || !exec (db, "COMMIT", &message))
        {
          g_set_error (error, MTS_SCHEMA_ERROR, MTS_SCHEMA_ERROR_FAILED,
                       "migration %s failed, the store stays at version %d: %s", m->name, v - 1,
                       message ? message : sqlite3_errmsg (db));
          sqlite3_free (message);
          if (!sqlite3_get_autocommit (db))
            exec (db, "ROLLBACK", NULL);
          return FALSE;
        }
      if (applied)
        (*applied)++;
    }
  return TRUE;
}

gboolean
mts_migrations_apply (sqlite3 *db, guint *applied, GError **error)
{
  guint n;
  const MtsMigration *list = mts_migrations_builtin (&n);

  return mts_migrations_apply_list (db, list, n, applied, error);
}
