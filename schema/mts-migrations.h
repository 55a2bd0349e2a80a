/* mts-migrations.h — the practice store's schema, applied by version.
 *
 * The schema is a list of numbered migrations, schema/NNNN-name.sql,
 * compiled into the program.  PRAGMA user_version holds the number of the
 * last one applied.  Each migration runs in its own IMMEDIATE transaction
 * together with the new user_version, so a store is always at one version
 * or the next, never between.  A store whose version is newer than this
 * build knows is refused and left untouched.
 *
 * Migrations may call the mts SQL functions (mts_audit_enable, mts_encrypt),
 * so the connection must have them registered and, for most migrations, a
 * keystore unlocked.
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define MTS_SCHEMA_ERROR (mts_schema_error_quark ())
GQuark mts_schema_error_quark (void);

/**
 * MtsSchemaError:
 * @MTS_SCHEMA_ERROR_NEWER: the store was written by a newer build.
 * @MTS_SCHEMA_ERROR_FAILED: a migration failed; the store is at the version before it.
 * @MTS_SCHEMA_ERROR_INVALID: the list of migrations itself is wrong (a gap, a bad name).
 */
typedef enum {
  MTS_SCHEMA_ERROR_NEWER,
  MTS_SCHEMA_ERROR_FAILED,
  MTS_SCHEMA_ERROR_INVALID,
} MtsSchemaError;

typedef struct {
  int version;          /* 1, 2, 3, ... with no gaps */
  const char *name;     /* e.g. "0001-initial.sql", for messages */
  const char *sql;
} MtsMigration;

/* The migrations compiled into this build, in order (owned by the library). */
const MtsMigration *mts_migrations_builtin (guint *n);

/* The version a fully migrated store has: the last migration's number. */
int mts_migrations_latest (void);

/* The store's current version (PRAGMA user_version), or -1 with @error set. */
int mts_migrations_current (sqlite3 *db, GError **error);

/* Brings @db up to the latest built-in version.  *@applied (nullable)
 * receives how many migrations ran. */
gboolean mts_migrations_apply (sqlite3 *db, guint *applied, GError **error);

/* As mts_migrations_apply(), with a list of one's own (for tests). */
gboolean mts_migrations_apply_list (sqlite3 *db, const MtsMigration *list, guint n,
                                    guint *applied, GError **error);

G_END_DECLS
