/* mts-sqlite.h — the mts SQL functions for programs that link them in,
 * rather than loading build/extension/mts.so: the practice store, the sync
 * engine, the desktop app and the server.
 *
 * Link mts_sqlite_dep (meson) and call mts_sqlite_register() on each new
 * connection; then hand it an unlocked keystore with
 * mts_sqlite_set_keystore().  Everything else is SQL: mts_encrypt,
 * mts_decrypt, mts_audit_*, mts_lock and the rest, as docs/extension.md
 * describes.
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include "mts-keystore.h"

G_BEGIN_DECLS

/* Registers the SQL functions on @db, as ".load" would.  Returns an SQLite
 * result code; on failure *@errmsg (sqlite3_free) says why. */
int mts_sqlite_register (sqlite3 *db, char **errmsg);

/* Makes @ks (transfer full) the keystore of @db's mts functions, as
 * mts_unlock() would, replacing (and locking) any other.  The keystore is
 * passed by SQLite's pointer-passing interface, which SQL text cannot
 * forge.  On failure @ks is freed and @error set. */
gboolean mts_sqlite_set_keystore (sqlite3 *db, MtsKeystore *ks, GError **error);

/* A new handle on @db's keystore (mts_keystore_clone(): no passphrase, no
 * key-access log entry), for another connection to the same database, on
 * this thread or another: mts_store_open_twin() hands it to the second
 * connection with mts_sqlite_set_keystore().  The connection keeps its own
 * keystore; the caller owns the clone.  Call it on the thread using @db.
 * MTS_CORE_ERROR_LOCKED if @db has no keystore (never unlocked, or
 * mts_lock()ed).  Returns (transfer full) (nullable). */
MtsKeystore *mts_sqlite_clone_keystore (sqlite3 *db, GError **error);

G_END_DECLS
