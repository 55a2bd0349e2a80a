/* mts-server-storage-sqlite.c — the embedded SQLite storage backend, the
 * server's default (see mts-server-storage.h for the operations).
 *
 * The file.  mts_storage_sqlite_open (path) creates the file mode 0600
 * (an existing one is made 0600; its -wal and -shm files take the same
 * mode from SQLite) and refuses a symlink.  ":memory:" opens a private
 * in-memory database, for tests.  The connection runs with
 *   journal_mode = WAL        readers never wait for the writer
 *   synchronous = NORMAL      a commit is durable at the next checkpoint;
 *                             a power cut may lose the last commits, never
 *                             corrupt the file
 *   foreign_keys = ON         the references below are enforced
 *   busy_timeout = 5000 ms    another process's lock is waited for
 * and in SQLite's defensive mode.  PRAGMA application_id is 0x4D545353
 * ("MTSS") and PRAGMA user_version the schema version (1); a file made by
 * a newer server is refused with MTS_STORAGE_ERROR_NEWER, and any other
 * database (a device's practice.db, say) with MTS_STORAGE_ERROR_FAILED,
 * before anything in it changes.  Migrations to later versions go in
 * migrations[] below, each committed with its version.
 *
 * The tables (STRICT; times are Unix seconds):
 *
 *   practices    id, slug (unique, what users type at login), name,
 *                created_at, last_version: the practice's record-version
 *                counter, which next_version increments and returns.
 *   users        id, practice_id, username (unique per practice), role
 *                (clinician, practice_admin or support), password_hash,
 *                totp_sealed, totp_last_step (-1 before the first code),
 *                disabled, created_at.  user_use_totp_step is one
 *                conditional UPDATE (... WHERE totp_last_step < step), so of
 *                two logins racing with one code only one wins.
 *   devices      (practice_id, id), user_id, name, created_at,
 *                last_seen_at, revoked_at (0 while not revoked).
 *                device_touch inserts or moves last_seen_at only: the first
 *                user, the name and a revocation stay.
 *   tokens       hash (BLAKE2b-256 of the token; the token itself is never
 *                stored), kind (0 access, 1 refresh), practice_id, user_id,
 *                device_id (a device of the practice), family, expires_at,
 *                used_at (0 until a refresh token is rotated), revoked.
 *                Indexed by family, device, user and expiry for the
 *                revocations and the purge.  token_mark_used is one
 *                conditional UPDATE (... WHERE used_at = 0).
 *   attempts     key, failures, window_start, locked_until: failed-login
 *                counters; a missing key reads as zeros.
 *   records      the current revision of every synced record, primary key
 *                (practice_id, table_name, id), with its version, deleted,
 *                plain_json, sealed and who wrote it.  Indexed uniquely by
 *                (practice_id, version), which is the order pull walks and
 *                counts in, and partially by practice_id where deleted = 0
 *                for live_count.
 *   revisions    every revision ever accepted, the same columns; unique by
 *                (practice_id, version) (a version is taken once) and
 *                indexed by (practice_id, table_name, id, version) for
 *                revision_get.  Triggers refuse any UPDATE or DELETE.
 *                record_put inserts here and upserts records, in one
 *                savepoint; an older version never replaces a newer one.
 *   ops          result_json by (practice_id, device_id, device_seq): what
 *                a pushed op got, so a replayed push gets the same answer.
 *   audit_heads  (practice_id, device_id): the seq, MAC (hex) and time of
 *                the audit-chain head the device last anchored.
 *   audit_log    seq (the rowid), at, practice_id (NULL server-wide),
 *                actor, event, detail_json, mac (32 bytes), stored as the
 *                caller numbered and MACed them.  Triggers refuse any UPDATE
 *                or DELETE.
 *
 * Users, devices, tokens, records, revisions, ops and audit heads reference
 * their practice; devices and tokens their user; tokens their device.
 *
 * Statements are prepared once at open (SQLITE_PREPARE_PERSISTENT) and
 * reset and unbound as soon as an operation is done with them, so no read
 * stays open between calls.  The caller's strings and bytes are bound without a
 * copy.  An operation of several statements (record_put, device_revoke,
 * pull) runs in a savepoint: alone it is its own transaction, inside the
 * caller's begin/commit it is part of it.  begin takes the write lock at
 * once (BEGIN IMMEDIATE); a commit that fails rolls back.
 *
 * Lookups write their out row (or out values) only when they return FOUND,
 * and take NULL for it to ask only whether the row is there.  pull's
 * *remaining counts the records after the last one handed to @each,
 * including one at which @each stopped the walk; pull and its count read
 * one snapshot.
 *
 * Callbacks (user_list, device_list, pull, audit_foreach) get rows valid
 * for the call only.  They may look things up, but must not begin, commit
 * or roll back, nor start the same walk again.
 *
 * Errors are MTS_STORAGE_ERROR: EXISTS for a UNIQUE or PRIMARY KEY
 * conflict, FAILED otherwise.  Messages say what failed and give SQLite's
 * reason, which names tables and columns but never values: no password
 * hash, token hash, sealed bytes, JSON or login key reaches a message.
 * gint64-returning operations return -1 on error.
 */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-storage.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLICATION_ID   0x4D545353   /* "MTSS" */
#define BUSY_TIMEOUT_MS  5000

/* The schema's kind column and token_mark_used's SQL spell the kinds. */
G_STATIC_ASSERT (MTS_TOKEN_ACCESS == 0 && MTS_TOKEN_REFRESH == 1);

/* ---- schema ---- */

static const char schema_v1[] =
  "CREATE TABLE practices ("
  "  id            TEXT NOT NULL PRIMARY KEY,"
  "  slug          TEXT NOT NULL UNIQUE,"
  "  name          TEXT NOT NULL,"
  "  created_at    INTEGER NOT NULL,"
  "  last_version  INTEGER NOT NULL DEFAULT 0"
  ") STRICT;"

  "CREATE TABLE users ("
  "  id              TEXT NOT NULL PRIMARY KEY,"
  "  practice_id     TEXT NOT NULL REFERENCES practices (id),"
  "  username        TEXT NOT NULL,"
  "  role            TEXT NOT NULL"
  "                  CHECK (role IN ('clinician', 'practice_admin', 'support')),"
  "  password_hash   TEXT NOT NULL,"
  "  totp_sealed     BLOB,"
  "  totp_last_step  INTEGER NOT NULL DEFAULT -1,"
  "  disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
  "  created_at      INTEGER NOT NULL,"
  "  UNIQUE (practice_id, username)"
  ") STRICT;"

  "CREATE TABLE devices ("
  "  practice_id   TEXT NOT NULL REFERENCES practices (id),"
  "  id            TEXT NOT NULL,"
  "  user_id       TEXT NOT NULL REFERENCES users (id),"
  "  name          TEXT,"
  "  created_at    INTEGER NOT NULL,"
  "  last_seen_at  INTEGER NOT NULL,"
  "  revoked_at    INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY (practice_id, id)"
  ") STRICT, WITHOUT ROWID;"
  "CREATE INDEX devices_by_user ON devices (user_id);"

  "CREATE TABLE tokens ("
  "  hash         BLOB NOT NULL PRIMARY KEY CHECK (length (hash) = 32),"
  "  kind         INTEGER NOT NULL CHECK (kind IN (0, 1)),"
  "  practice_id  TEXT NOT NULL REFERENCES practices (id),"
  "  user_id      TEXT NOT NULL REFERENCES users (id),"
  "  device_id    TEXT NOT NULL,"
  "  family       TEXT,"
  "  expires_at   INTEGER NOT NULL,"
  "  used_at      INTEGER NOT NULL DEFAULT 0,"
  "  revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
  "  FOREIGN KEY (practice_id, device_id) REFERENCES devices (practice_id, id)"
  ") STRICT, WITHOUT ROWID;"
  "CREATE INDEX tokens_by_family ON tokens (family) WHERE family IS NOT NULL;"
  "CREATE INDEX tokens_by_device ON tokens (device_id);"
  "CREATE INDEX tokens_by_user ON tokens (user_id);"
  "CREATE INDEX tokens_by_expiry ON tokens (expires_at);"

  "CREATE TABLE attempts ("
  "  key           TEXT NOT NULL PRIMARY KEY,"
  "  failures      INTEGER NOT NULL,"
  "  window_start  INTEGER NOT NULL,"
  "  locked_until  INTEGER NOT NULL"
  ") STRICT, WITHOUT ROWID;"

  "CREATE TABLE records ("
  "  practice_id  TEXT NOT NULL REFERENCES practices (id),"
  "  table_name   TEXT NOT NULL,"
  "  id           TEXT NOT NULL,"
  "  version      INTEGER NOT NULL CHECK (version > 0),"
  "  deleted      INTEGER NOT NULL CHECK (deleted IN (0, 1)),"
  "  plain_json   TEXT,"
  "  sealed       BLOB,"
  "  device_id    TEXT,"
  "  device_seq   INTEGER NOT NULL,"
  "  user_id      TEXT,"
  "  created_at   INTEGER NOT NULL,"
  "  PRIMARY KEY (practice_id, table_name, id)"
  ") STRICT;"
  "CREATE UNIQUE INDEX records_by_version ON records (practice_id, version);"
  "CREATE INDEX records_live ON records (practice_id) WHERE deleted = 0;"

  "CREATE TABLE revisions ("
  "  practice_id  TEXT NOT NULL REFERENCES practices (id),"
  "  table_name   TEXT NOT NULL,"
  "  id           TEXT NOT NULL,"
  "  version      INTEGER NOT NULL CHECK (version > 0),"
  "  deleted      INTEGER NOT NULL CHECK (deleted IN (0, 1)),"
  "  plain_json   TEXT,"
  "  sealed       BLOB,"
  "  device_id    TEXT,"
  "  device_seq   INTEGER NOT NULL,"
  "  user_id      TEXT,"
  "  created_at   INTEGER NOT NULL"
  ") STRICT;"
  "CREATE UNIQUE INDEX revisions_by_version ON revisions (practice_id, version);"
  "CREATE INDEX revisions_by_record ON revisions (practice_id, table_name, id, version);"
  "CREATE TRIGGER revisions_never_change BEFORE UPDATE ON revisions"
  "  BEGIN SELECT RAISE (ABORT, 'revisions are never changed'); END;"
  "CREATE TRIGGER revisions_never_deleted BEFORE DELETE ON revisions"
  "  BEGIN SELECT RAISE (ABORT, 'revisions are never deleted'); END;"

  "CREATE TABLE ops ("
  "  practice_id  TEXT NOT NULL REFERENCES practices (id),"
  "  device_id    TEXT NOT NULL,"
  "  device_seq   INTEGER NOT NULL,"
  "  result_json  TEXT NOT NULL,"
  "  PRIMARY KEY (practice_id, device_id, device_seq)"
  ") STRICT, WITHOUT ROWID;"

  "CREATE TABLE audit_heads ("
  "  practice_id  TEXT NOT NULL REFERENCES practices (id),"
  "  device_id    TEXT NOT NULL,"
  "  seq          INTEGER NOT NULL,"
  "  mac_hex      TEXT NOT NULL,"
  "  anchored_at  INTEGER NOT NULL,"
  "  PRIMARY KEY (practice_id, device_id)"
  ") STRICT, WITHOUT ROWID;"

  "CREATE TABLE audit_log ("
  "  seq          INTEGER PRIMARY KEY,"
  "  at           INTEGER NOT NULL,"
  "  practice_id  TEXT,"
  "  actor        TEXT NOT NULL,"
  "  event        TEXT NOT NULL,"
  "  detail_json  TEXT,"
  "  mac          BLOB NOT NULL CHECK (length (mac) = 32)"
  ") STRICT;"
  "CREATE TRIGGER audit_log_never_changes BEFORE UPDATE ON audit_log"
  "  BEGIN SELECT RAISE (ABORT, 'the audit log is never changed'); END;"
  "CREATE TRIGGER audit_log_never_deleted BEFORE DELETE ON audit_log"
  "  BEGIN SELECT RAISE (ABORT, 'the audit log is never deleted'); END;";

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const migrations[] = {
  schema_v1,
};

#define SCHEMA_VERSION ((gint64) G_N_ELEMENTS (migrations))

/* ---- statements ---- */

typedef enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_SAVEPOINT,
  ST_RELEASE,
  ST_ROLLBACK_TO,

  ST_PRACTICE_INSERT,
  ST_PRACTICE_BY_SLUG,
  ST_PRACTICE_BY_ID,
  ST_NEXT_VERSION,

  ST_USER_INSERT,
  ST_USER_BY_NAME,
  ST_USER_BY_ID,
  ST_USER_LIST,
  ST_USER_SET_TOTP,
  ST_USER_USE_STEP,
  ST_USER_SET_PASSWORD,

  ST_DEVICE_TOUCH,
  ST_DEVICE_GET,
  ST_DEVICE_LIST,
  ST_DEVICE_REVOKE,
  ST_DEVICE_REVOKE_TOKENS,

  ST_TOKEN_INSERT,
  ST_TOKEN_GET,
  ST_TOKEN_MARK_USED,
  ST_TOKEN_REVOKE_FAMILY,
  ST_TOKEN_REVOKE_DEVICE,
  ST_TOKEN_REVOKE_USER,
  ST_TOKEN_PURGE,

  ST_ATTEMPT_GET,
  ST_ATTEMPT_PUT,
  ST_ATTEMPT_CLEAR,

  ST_RECORD_GET,
  ST_REVISION_GET,
  ST_REVISION_INSERT,
  ST_RECORD_UPSERT,
  ST_PULL,
  ST_PULL_REMAINING,
  ST_LIVE_COUNT,
  ST_REFERENCING,

  ST_OP_GET,
  ST_OP_PUT,

  ST_HEAD_PUT,
  ST_HEAD_GET,

  ST_AUDIT_INSERT,
  ST_AUDIT_LAST,
  ST_AUDIT_AFTER,

  N_STMTS
} StmtId;

#define PRACTICE_COLS "id, slug, name, created_at"
#define USER_COLS \
  "id, practice_id, username, role, password_hash, totp_sealed, totp_last_step, " \
  "disabled, created_at"
#define DEVICE_COLS "id, practice_id, user_id, name, created_at, last_seen_at, revoked_at"
#define RECORD_COLS \
  "table_name, id, version, deleted, plain_json, sealed, device_id, device_seq, " \
  "user_id, created_at"
#define AUDIT_COLS "seq, at, practice_id, actor, event, detail_json, mac"

static const char *const stmt_sql[N_STMTS] = {
  [ST_BEGIN] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_SAVEPOINT] = "SAVEPOINT mts_op",
  [ST_RELEASE] = "RELEASE mts_op",
  [ST_ROLLBACK_TO] = "ROLLBACK TO mts_op",

  [ST_PRACTICE_INSERT] =
    "INSERT INTO practices (" PRACTICE_COLS ") VALUES (?1, ?2, ?3, ?4)",
  [ST_PRACTICE_BY_SLUG] = "SELECT " PRACTICE_COLS " FROM practices WHERE slug = ?1",
  [ST_PRACTICE_BY_ID] = "SELECT " PRACTICE_COLS " FROM practices WHERE id = ?1",
  [ST_NEXT_VERSION] =
    "UPDATE practices SET last_version = last_version + 1 WHERE id = ?1 "
    "RETURNING last_version",

  [ST_USER_INSERT] =
    "INSERT INTO users (" USER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [ST_USER_BY_NAME] =
    "SELECT " USER_COLS " FROM users WHERE practice_id = ?1 AND username = ?2",
  [ST_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE practice_id = ?1 AND id = ?2",
  [ST_USER_LIST] =
    "SELECT " USER_COLS " FROM users WHERE practice_id = ?1 ORDER BY username",
  [ST_USER_SET_TOTP] =
    "UPDATE users SET totp_sealed = ?2, totp_last_step = -1 WHERE id = ?1",
  [ST_USER_USE_STEP] =
    "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2",
  [ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",

  [ST_DEVICE_TOUCH] =
    "INSERT INTO devices (" DEVICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (practice_id, id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
  [ST_DEVICE_GET] =
    "SELECT " DEVICE_COLS " FROM devices WHERE practice_id = ?1 AND id = ?2",
  [ST_DEVICE_LIST] =
    "SELECT " DEVICE_COLS " FROM devices WHERE practice_id = ?1 ORDER BY created_at, id",
  [ST_DEVICE_REVOKE] =
    "UPDATE devices SET revoked_at = CASE WHEN revoked_at = 0 THEN ?3 ELSE revoked_at END "
    "WHERE practice_id = ?1 AND id = ?2",
  [ST_DEVICE_REVOKE_TOKENS] =
    "UPDATE tokens SET revoked = 1 WHERE device_id = ?2 AND practice_id = ?1 AND revoked = 0",

  [ST_TOKEN_INSERT] =
    "INSERT INTO tokens (hash, kind, practice_id, user_id, device_id, family, "
    "expires_at, used_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [ST_TOKEN_GET] =
    "SELECT kind, practice_id, user_id, device_id, family, expires_at, used_at, revoked "
    "FROM tokens WHERE hash = ?1",
  [ST_TOKEN_MARK_USED] =
    "UPDATE tokens SET used_at = ?2 WHERE hash = ?1 AND used_at = 0 AND kind = 1",
  [ST_TOKEN_REVOKE_FAMILY] =
    "UPDATE tokens SET revoked = 1 WHERE family = ?1 AND revoked = 0",
  [ST_TOKEN_REVOKE_DEVICE] =
    "UPDATE tokens SET revoked = 1 WHERE device_id = ?1 AND revoked = 0",
  [ST_TOKEN_REVOKE_USER] =
    "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
  [ST_TOKEN_PURGE] = "DELETE FROM tokens WHERE expires_at < ?1",

  [ST_ATTEMPT_GET] =
    "SELECT failures, window_start, locked_until FROM attempts WHERE key = ?1",
  [ST_ATTEMPT_PUT] =
    "INSERT INTO attempts (key, failures, window_start, locked_until) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET "
    "failures = excluded.failures, window_start = excluded.window_start, "
    "locked_until = excluded.locked_until",
  [ST_ATTEMPT_CLEAR] = "DELETE FROM attempts WHERE key = ?1",

  [ST_RECORD_GET] =
    "SELECT " RECORD_COLS " FROM records "
    "WHERE practice_id = ?1 AND table_name = ?2 AND id = ?3",
  [ST_REVISION_GET] =
    "SELECT " RECORD_COLS " FROM revisions "
    "WHERE practice_id = ?1 AND table_name = ?2 AND id = ?3 AND version = ?4",
  [ST_REVISION_INSERT] =
    "INSERT INTO revisions (practice_id, " RECORD_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
  [ST_RECORD_UPSERT] =
    "INSERT INTO records (practice_id, " RECORD_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (practice_id, table_name, id) DO UPDATE SET "
    "version = excluded.version, deleted = excluded.deleted, "
    "plain_json = excluded.plain_json, sealed = excluded.sealed, "
    "device_id = excluded.device_id, device_seq = excluded.device_seq, "
    "user_id = excluded.user_id, created_at = excluded.created_at "
    "WHERE excluded.version > records.version",
  [ST_PULL] =
    "SELECT " RECORD_COLS " FROM records WHERE practice_id = ?1 AND version > ?2 "
    "ORDER BY version LIMIT ?3",
  [ST_PULL_REMAINING] =
    "SELECT count(*) FROM records WHERE practice_id = ?1 AND version > ?2",
  [ST_LIVE_COUNT] =
    "SELECT count(*) FROM records WHERE practice_id = ?1 AND deleted = 0",
  /* A scan of the practice's live records: run only when a client is
   * deleted, which is rare. */
  [ST_REFERENCING] =
    "SELECT " RECORD_COLS " FROM records WHERE practice_id = ?1 AND deleted = 0 "
    "AND json_extract (plain_json, '$.' || ?2) = ?3",

  [ST_OP_GET] =
    "SELECT result_json FROM ops "
    "WHERE practice_id = ?1 AND device_id = ?2 AND device_seq = ?3",
  [ST_OP_PUT] =
    "INSERT INTO ops (practice_id, device_id, device_seq, result_json) "
    "VALUES (?1, ?2, ?3, ?4)",

  [ST_HEAD_PUT] =
    "INSERT INTO audit_heads (practice_id, device_id, seq, mac_hex, anchored_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (practice_id, device_id) DO UPDATE SET "
    "seq = excluded.seq, mac_hex = excluded.mac_hex, anchored_at = excluded.anchored_at",
  [ST_HEAD_GET] =
    "SELECT seq, mac_hex, anchored_at FROM audit_heads "
    "WHERE practice_id = ?1 AND device_id = ?2",

  [ST_AUDIT_INSERT] =
    "INSERT INTO audit_log (" AUDIT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  [ST_AUDIT_LAST] = "SELECT " AUDIT_COLS " FROM audit_log ORDER BY seq DESC LIMIT 1",
  [ST_AUDIT_AFTER] = "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > ?1 ORDER BY seq",
};

typedef struct {
  MtsStorage parent;
  sqlite3 *db;
  sqlite3_stmt *st[N_STMTS];
  int bind_rc;        /* the first failed binding of the statement in hand */
  gboolean ready;     /* opened and checked: close may optimise */
} SqliteStorage;

#define SELF(s) ((SqliteStorage *) (s))

/* A cached statement in use: reset and unbound when it leaves scope. */
typedef sqlite3_stmt *CachedStmt;

static void
cached_stmt_release (CachedStmt *st)
{
  if (*st != NULL)
    {
      sqlite3_reset (*st);
      sqlite3_clear_bindings (*st);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CachedStmt, cached_stmt_release)

/* Takes statement @id for one use; declare the result g_auto(CachedStmt). */
static sqlite3_stmt *
stmt (SqliteStorage *self, StmtId id)
{
  self->bind_rc = SQLITE_OK;
  return self->st[id];
}

static void
bind_rc (SqliteStorage *self, int rc)
{
  if (rc != SQLITE_OK && self->bind_rc == SQLITE_OK)
    self->bind_rc = rc;
}

/* The caller's text and bytes outlive the statement's use: no copy. */
static void
bind_text (SqliteStorage *self, sqlite3_stmt *st, int i, const char *text)
{
  bind_rc (self, text != NULL ? sqlite3_bind_text (st, i, text, -1, SQLITE_STATIC)
                              : sqlite3_bind_null (st, i));
}

static void
bind_int (SqliteStorage *self, sqlite3_stmt *st, int i, gint64 value)
{
  bind_rc (self, sqlite3_bind_int64 (st, i, value));
}

static void
bind_blob (SqliteStorage *self, sqlite3_stmt *st, int i, gconstpointer data, gsize size)
{
  /* A zero-length blob stays a blob: sqlite3_bind_blob would make a NULL
   * pointer SQL NULL. */
  bind_rc (self, size == 0 ? sqlite3_bind_zeroblob (st, i, 0)
                           : sqlite3_bind_blob64 (st, i, data, size, SQLITE_STATIC));
}

static void
bind_bytes (SqliteStorage *self, sqlite3_stmt *st, int i, GBytes *bytes)
{
  gsize size = 0;
  gconstpointer data;

  if (bytes == NULL)
    {
      bind_rc (self, sqlite3_bind_null (st, i));
      return;
    }
  data = g_bytes_get_data (bytes, &size);
  bind_blob (self, st, i, data, size);
}

/* Sets @error from @rc, the result of step() on the statement in hand.
 * SQLite's messages name tables and columns, never bound values. */
static void
set_error (SqliteStorage *self, int rc, const char *what, GError **error)
{
  MtsStorageError code = MTS_STORAGE_ERROR_FAILED;

  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    code = MTS_STORAGE_ERROR_EXISTS;
  if (self->bind_rc != SQLITE_OK)
    g_set_error (error, MTS_STORAGE_ERROR, code, "%s: a value cannot be bound (%s)",
                 what, sqlite3_errstr (self->bind_rc));
  else
    g_set_error (error, MTS_STORAGE_ERROR, code, "%s: %s", what, sqlite3_errmsg (self->db));
}

/* Steps @st once; a failed binding is the step's failure. */
static int
step (SqliteStorage *self, sqlite3_stmt *st)
{
  if (self->bind_rc != SQLITE_OK)
    return self->bind_rc;
  return sqlite3_step (st);
}

/* Runs @st, which returns no rows, to completion. */
static gboolean
run (SqliteStorage *self, sqlite3_stmt *st, const char *what, GError **error)
{
  int rc = step (self, st);

  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, what, error);
      return FALSE;
    }
  return TRUE;
}

/* Steps @st to its first row: FOUND, NOT_FOUND if there is none. */
static MtsStorageFound
first_row (SqliteStorage *self, sqlite3_stmt *st, const char *what, GError **error)
{
  int rc = step (self, st);

  if (rc == SQLITE_ROW)
    return MTS_STORAGE_FOUND;
  if (rc == SQLITE_DONE)
    return MTS_STORAGE_NOT_FOUND;
  set_error (self, rc, what, error);
  return MTS_STORAGE_ERROR_RESULT;
}

/* Runs @st, an UPDATE, and says whether it changed a row. */
static MtsStorageFound
run_changed (SqliteStorage *self, sqlite3_stmt *st, const char *what, GError **error)
{
  if (!run (self, st, what, error))
    return MTS_STORAGE_ERROR_RESULT;
  return sqlite3_changes64 (self->db) > 0 ? MTS_STORAGE_FOUND : MTS_STORAGE_NOT_FOUND;
}

/* Runs @st, an UPDATE of one row by key, failing if there was none. */
static gboolean
run_one (SqliteStorage *self, sqlite3_stmt *st, const char *what, const char *missing,
         GError **error)
{
  MtsStorageFound found = run_changed (self, st, what, error);

  if (found == MTS_STORAGE_NOT_FOUND)
    g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED, "%s: %s", what, missing);
  return found == MTS_STORAGE_FOUND;
}

/* ---- savepoints: operations of several statements ---- */

static gboolean
op_begin (SqliteStorage *self, const char *what, GError **error)
{
  g_auto(CachedStmt) st = stmt (self, ST_SAVEPOINT);

  return run (self, st, what, error);
}

/* Undoes the operation.  After an error that made SQLite roll back the
 * whole transaction the savepoint is gone and there is nothing to do. */
static void
op_undo (SqliteStorage *self)
{
  if (sqlite3_get_autocommit (self->db))
    return;
  {
    g_auto(CachedStmt) st = stmt (self, ST_ROLLBACK_TO);

    sqlite3_step (st);
  }
  {
    g_auto(CachedStmt) st = stmt (self, ST_RELEASE);

    sqlite3_step (st);
  }
}

static gboolean
op_end (SqliteStorage *self, const char *what, GError **error)
{
  gboolean ok;

  {
    g_auto(CachedStmt) st = stmt (self, ST_RELEASE);

    ok = run (self, st, what, error);
  }
  if (!ok)
    op_undo (self);
  return ok;
}

/* ---- columns ---- */

static char *
col_text (sqlite3_stmt *st, int i)
{
  const unsigned char *text = sqlite3_column_text (st, i);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

static GBytes *
col_bytes (sqlite3_stmt *st, int i)
{
  gconstpointer data;
  int size;

  if (sqlite3_column_type (st, i) == SQLITE_NULL)
    return NULL;
  data = sqlite3_column_blob (st, i);
  size = sqlite3_column_bytes (st, i);
  return g_bytes_new (data, (gsize) size);
}

static void
read_practice (sqlite3_stmt *st, MtsPracticeRow *out)
{
  out->id = col_text (st, 0);
  out->slug = col_text (st, 1);
  out->name = col_text (st, 2);
  out->created_at = sqlite3_column_int64 (st, 3);
}

static void
read_user (sqlite3_stmt *st, MtsUserRow *out)
{
  out->id = col_text (st, 0);
  out->practice_id = col_text (st, 1);
  out->username = col_text (st, 2);
  out->role = col_text (st, 3);
  out->password_hash = col_text (st, 4);
  out->totp_sealed = col_bytes (st, 5);
  out->totp_last_step = sqlite3_column_int64 (st, 6);
  out->disabled = sqlite3_column_int64 (st, 7) != 0;
  out->created_at = sqlite3_column_int64 (st, 8);
}

static void
read_device (sqlite3_stmt *st, MtsDeviceRow *out)
{
  out->id = col_text (st, 0);
  out->practice_id = col_text (st, 1);
  out->user_id = col_text (st, 2);
  out->name = col_text (st, 3);
  out->created_at = sqlite3_column_int64 (st, 4);
  out->last_seen_at = sqlite3_column_int64 (st, 5);
  out->revoked_at = sqlite3_column_int64 (st, 6);
}

static void
read_record (sqlite3_stmt *st, MtsRecordRow *out)
{
  out->table = col_text (st, 0);
  out->id = col_text (st, 1);
  out->version = sqlite3_column_int64 (st, 2);
  out->deleted = sqlite3_column_int64 (st, 3) != 0;
  out->plain_json = col_text (st, 4);
  out->sealed = col_bytes (st, 5);
  out->device_id = col_text (st, 6);
  out->device_seq = sqlite3_column_int64 (st, 7);
  out->user_id = col_text (st, 8);
  out->created_at = sqlite3_column_int64 (st, 9);
}

static void
read_audit (sqlite3_stmt *st, MtsAuditRow *out)
{
  gconstpointer mac;

  out->seq = sqlite3_column_int64 (st, 0);
  out->at = sqlite3_column_int64 (st, 1);
  out->practice_id = col_text (st, 2);
  out->actor = col_text (st, 3);
  out->event = col_text (st, 4);
  out->detail_json = col_text (st, 5);
  mac = sqlite3_column_blob (st, 6);
  memset (out->mac, 0, sizeof out->mac);
  /* The schema's CHECK keeps every mac 32 bytes long. */
  if (mac != NULL && sqlite3_column_bytes (st, 6) == (int) sizeof out->mac)
    memcpy (out->mac, mac, sizeof out->mac);
}

/* ---- transactions ---- */

static gboolean
sqlite_begin (MtsStorage *s, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_BEGIN);

  if (!sqlite3_get_autocommit (self->db))
    {
      g_set_error_literal (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                           "cannot begin a transaction: one is already open");
      return FALSE;
    }
  return run (self, st, "cannot begin a transaction", error);
}

static void
sqlite_rollback (MtsStorage *s)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_ROLLBACK);

  if (sqlite3_get_autocommit (self->db))
    return;
  if (sqlite3_step (st) != SQLITE_DONE)
    g_warning ("cannot roll back the server database: %s", sqlite3_errmsg (self->db));
}

static gboolean
sqlite_commit (MtsStorage *s, GError **error)
{
  SqliteStorage *self = SELF (s);
  gboolean ok;

  if (sqlite3_get_autocommit (self->db))
    {
      g_set_error_literal (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                           "cannot commit: no transaction is open");
      return FALSE;
    }
  {
    g_auto(CachedStmt) st = stmt (self, ST_COMMIT);

    ok = run (self, st, "cannot commit", error);
  }
  /* A failed COMMIT (busy, a full disk) leaves the transaction open: end it
   * here, so the connection is never left inside one. */
  if (!ok)
    sqlite_rollback (s);
  return ok;
}

/* ---- practices ---- */

static gboolean
sqlite_practice_create (MtsStorage *s, const MtsPracticeRow *row, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_PRACTICE_INSERT);

  bind_text (self, st, 1, row->id);
  bind_text (self, st, 2, row->slug);
  bind_text (self, st, 3, row->name);
  bind_int (self, st, 4, row->created_at);
  return run (self, st, "cannot create the practice", error);
}

static MtsStorageFound
practice_lookup (SqliteStorage *self, StmtId id, const char *key, MtsPracticeRow *out,
                 GError **error)
{
  g_auto(CachedStmt) st = stmt (self, id);
  MtsStorageFound found;

  bind_text (self, st, 1, key);
  found = first_row (self, st, "cannot look up the practice", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_practice (st, out);
  return found;
}

static MtsStorageFound
sqlite_practice_by_slug (MtsStorage *s, const char *slug, MtsPracticeRow *out,
                         GError **error)
{
  return practice_lookup (SELF (s), ST_PRACTICE_BY_SLUG, slug, out, error);
}

static MtsStorageFound
sqlite_practice_by_id (MtsStorage *s, const char *id, MtsPracticeRow *out, GError **error)
{
  return practice_lookup (SELF (s), ST_PRACTICE_BY_ID, id, out, error);
}

static gint64
sqlite_next_version (MtsStorage *s, const char *practice_id, GError **error)
{
  static const char what[] = "cannot take the next record version";
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_NEXT_VERSION);
  MtsStorageFound found;
  gint64 version;

  bind_text (self, st, 1, practice_id);
  found = first_row (self, st, what, error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return -1;
  if (found == MTS_STORAGE_NOT_FOUND)
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "%s: no such practice", what);
      return -1;
    }
  version = sqlite3_column_int64 (st, 0);
  /* The update is done at the first step; finishing makes it count. */
  if (!run (self, st, what, error))
    return -1;
  return version;
}

/* ---- users ---- */

static gboolean
sqlite_user_add (MtsStorage *s, const MtsUserRow *row, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_USER_INSERT);

  bind_text (self, st, 1, row->id);
  bind_text (self, st, 2, row->practice_id);
  bind_text (self, st, 3, row->username);
  bind_text (self, st, 4, row->role);
  bind_text (self, st, 5, row->password_hash);
  bind_bytes (self, st, 6, row->totp_sealed);
  bind_int (self, st, 7, row->totp_last_step);
  bind_int (self, st, 8, row->disabled ? 1 : 0);
  bind_int (self, st, 9, row->created_at);
  return run (self, st, "cannot add the user", error);
}

static MtsStorageFound
user_lookup (SqliteStorage *self, StmtId id, const char *practice_id, const char *key,
             MtsUserRow *out, GError **error)
{
  g_auto(CachedStmt) st = stmt (self, id);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, key);
  found = first_row (self, st, "cannot look up the user", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_user (st, out);
  return found;
}

static MtsStorageFound
sqlite_user_by_name (MtsStorage *s, const char *practice_id, const char *username,
                     MtsUserRow *out, GError **error)
{
  return user_lookup (SELF (s), ST_USER_BY_NAME, practice_id, username, out, error);
}

static MtsStorageFound
sqlite_user_by_id (MtsStorage *s, const char *practice_id, const char *user_id,
                   MtsUserRow *out, GError **error)
{
  return user_lookup (SELF (s), ST_USER_BY_ID, practice_id, user_id, out, error);
}

static gboolean
sqlite_user_list (MtsStorage *s, const char *practice_id, MtsUserFunc each,
                  gpointer user_data, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_USER_LIST);
  int rc;

  bind_text (self, st, 1, practice_id);
  while ((rc = step (self, st)) == SQLITE_ROW)
    {
      MtsUserRow row = { 0 };

      read_user (st, &row);
      each (&row, user_data);
      mts_user_row_clear (&row);
    }
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, "cannot list the users", error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
sqlite_user_set_totp (MtsStorage *s, const char *user_id, GBytes *sealed, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_USER_SET_TOTP);

  bind_text (self, st, 1, user_id);
  bind_bytes (self, st, 2, sealed);
  return run_one (self, st, "cannot set the TOTP secret", "no such user", error);
}

static MtsStorageFound
sqlite_user_use_totp_step (MtsStorage *s, const char *user_id, gint64 step_,
                           GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_USER_USE_STEP);

  bind_text (self, st, 1, user_id);
  bind_int (self, st, 2, step_);
  return run_changed (self, st, "cannot record the TOTP step", error);
}

static gboolean
sqlite_user_set_password (MtsStorage *s, const char *user_id, const char *password_hash,
                          GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_USER_SET_PASSWORD);

  bind_text (self, st, 1, user_id);
  bind_text (self, st, 2, password_hash);
  return run_one (self, st, "cannot set the password", "no such user", error);
}

/* ---- devices ---- */

static gboolean
sqlite_device_touch (MtsStorage *s, const MtsDeviceRow *row, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_DEVICE_TOUCH);

  bind_text (self, st, 1, row->id);
  bind_text (self, st, 2, row->practice_id);
  bind_text (self, st, 3, row->user_id);
  bind_text (self, st, 4, row->name);
  bind_int (self, st, 5, row->created_at);
  bind_int (self, st, 6, row->last_seen_at);
  bind_int (self, st, 7, row->revoked_at);
  return run (self, st, "cannot record the device", error);
}

static MtsStorageFound
sqlite_device_get (MtsStorage *s, const char *practice_id, const char *device_id,
                   MtsDeviceRow *out, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_DEVICE_GET);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, device_id);
  found = first_row (self, st, "cannot look up the device", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_device (st, out);
  return found;
}

static gboolean
sqlite_device_list (MtsStorage *s, const char *practice_id, MtsDeviceFunc each,
                    gpointer user_data, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_DEVICE_LIST);
  int rc;

  bind_text (self, st, 1, practice_id);
  while ((rc = step (self, st)) == SQLITE_ROW)
    {
      MtsDeviceRow row = { 0 };

      read_device (st, &row);
      each (&row, user_data);
      mts_device_row_clear (&row);
    }
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, "cannot list the devices", error);
      return FALSE;
    }
  return TRUE;
}

static MtsStorageFound
sqlite_device_revoke (MtsStorage *s, const char *practice_id, const char *device_id,
                      gint64 now, GError **error)
{
  static const char what[] = "cannot revoke the device";
  SqliteStorage *self = SELF (s);
  MtsStorageFound found;

  if (now <= 0)
    {
      /* revoked_at = 0 means "not revoked". */
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "%s: the time must be positive", what);
      return MTS_STORAGE_ERROR_RESULT;
    }
  if (!op_begin (self, what, error))
    return MTS_STORAGE_ERROR_RESULT;
  {
    g_auto(CachedStmt) st = stmt (self, ST_DEVICE_REVOKE);

    bind_text (self, st, 1, practice_id);
    bind_text (self, st, 2, device_id);
    bind_int (self, st, 3, now);
    found = run_changed (self, st, what, error);
  }
  if (found == MTS_STORAGE_FOUND)
    {
      g_auto(CachedStmt) st = stmt (self, ST_DEVICE_REVOKE_TOKENS);

      bind_text (self, st, 1, practice_id);
      bind_text (self, st, 2, device_id);
      if (!run (self, st, "cannot revoke the device's tokens", error))
        found = MTS_STORAGE_ERROR_RESULT;
    }
  if (found == MTS_STORAGE_ERROR_RESULT)
    {
      op_undo (self);
      return found;
    }
  if (!op_end (self, what, error))
    return MTS_STORAGE_ERROR_RESULT;
  return found;
}

/* ---- tokens ---- */

static gboolean
sqlite_token_put (MtsStorage *s, const MtsTokenRow *row, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_TOKEN_INSERT);

  bind_blob (self, st, 1, row->hash, MTS_TOKEN_HASH_BYTES);
  bind_int (self, st, 2, row->kind);
  bind_text (self, st, 3, row->practice_id);
  bind_text (self, st, 4, row->user_id);
  bind_text (self, st, 5, row->device_id);
  bind_text (self, st, 6, row->family);
  bind_int (self, st, 7, row->expires_at);
  bind_int (self, st, 8, row->used_at);
  bind_int (self, st, 9, row->revoked ? 1 : 0);
  return run (self, st, "cannot store the token", error);
}

static MtsStorageFound
sqlite_token_get (MtsStorage *s, const guint8 hash[MTS_TOKEN_HASH_BYTES],
                  MtsTokenRow *out, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_TOKEN_GET);
  MtsStorageFound found;

  bind_blob (self, st, 1, hash, MTS_TOKEN_HASH_BYTES);
  found = first_row (self, st, "cannot look up the token", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    {
      memcpy (out->hash, hash, MTS_TOKEN_HASH_BYTES);
      out->kind = (MtsTokenKind) sqlite3_column_int (st, 0);
      out->practice_id = col_text (st, 1);
      out->user_id = col_text (st, 2);
      out->device_id = col_text (st, 3);
      out->family = col_text (st, 4);
      out->expires_at = sqlite3_column_int64 (st, 5);
      out->used_at = sqlite3_column_int64 (st, 6);
      out->revoked = sqlite3_column_int64 (st, 7) != 0;
    }
  return found;
}

static MtsStorageFound
sqlite_token_mark_used (MtsStorage *s, const guint8 hash[MTS_TOKEN_HASH_BYTES],
                        gint64 now, GError **error)
{
  static const char what[] = "cannot mark the refresh token used";
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_TOKEN_MARK_USED);

  if (now <= 0)
    {
      /* used_at = 0 means "unused". */
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "%s: the time must be positive", what);
      return MTS_STORAGE_ERROR_RESULT;
    }
  bind_blob (self, st, 1, hash, MTS_TOKEN_HASH_BYTES);
  bind_int (self, st, 2, now);
  return run_changed (self, st, what, error);
}

static gboolean
token_revoke (SqliteStorage *self, StmtId id, const char *key, const char *what,
              GError **error)
{
  g_auto(CachedStmt) st = stmt (self, id);

  bind_text (self, st, 1, key);
  return run (self, st, what, error);
}

static gboolean
sqlite_token_revoke_family (MtsStorage *s, const char *family, GError **error)
{
  return token_revoke (SELF (s), ST_TOKEN_REVOKE_FAMILY, family,
                       "cannot revoke the token family", error);
}

static gboolean
sqlite_token_revoke_device (MtsStorage *s, const char *device_id, GError **error)
{
  return token_revoke (SELF (s), ST_TOKEN_REVOKE_DEVICE, device_id,
                       "cannot revoke the device's tokens", error);
}

static gboolean
sqlite_token_revoke_user (MtsStorage *s, const char *user_id, GError **error)
{
  return token_revoke (SELF (s), ST_TOKEN_REVOKE_USER, user_id,
                       "cannot revoke the user's tokens", error);
}

static gboolean
sqlite_token_purge (MtsStorage *s, gint64 now, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_TOKEN_PURGE);

  bind_int (self, st, 1, now);
  return run (self, st, "cannot purge expired tokens", error);
}

/* ---- failed-login counters ---- */

static gboolean
sqlite_attempt_get (MtsStorage *s, const char *key, gint64 *failures,
                    gint64 *window_start, gint64 *locked_until, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_ATTEMPT_GET);
  MtsStorageFound found;
  gboolean there;

  bind_text (self, st, 1, key);
  found = first_row (self, st, "cannot read the failed-login counter", error);
  if (found == MTS_STORAGE_ERROR_RESULT)
    return FALSE;
  there = found == MTS_STORAGE_FOUND;
  if (failures != NULL)
    *failures = there ? sqlite3_column_int64 (st, 0) : 0;
  if (window_start != NULL)
    *window_start = there ? sqlite3_column_int64 (st, 1) : 0;
  if (locked_until != NULL)
    *locked_until = there ? sqlite3_column_int64 (st, 2) : 0;
  return TRUE;
}

static gboolean
sqlite_attempt_put (MtsStorage *s, const char *key, gint64 failures, gint64 window_start,
                    gint64 locked_until, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_ATTEMPT_PUT);

  bind_text (self, st, 1, key);
  bind_int (self, st, 2, failures);
  bind_int (self, st, 3, window_start);
  bind_int (self, st, 4, locked_until);
  return run (self, st, "cannot store the failed-login counter", error);
}

static gboolean
sqlite_attempt_clear (MtsStorage *s, const char *key, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_ATTEMPT_CLEAR);

  bind_text (self, st, 1, key);
  return run (self, st, "cannot clear the failed-login counter", error);
}

/* ---- records ---- */

static MtsStorageFound
sqlite_record_get (MtsStorage *s, const char *practice_id, const char *table,
                   const char *id, MtsRecordRow *out, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_RECORD_GET);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, table);
  bind_text (self, st, 3, id);
  found = first_row (self, st, "cannot read the record", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_record (st, out);
  return found;
}

static MtsStorageFound
sqlite_revision_get (MtsStorage *s, const char *practice_id, const char *table,
                     const char *id, gint64 version, MtsRecordRow *out, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_REVISION_GET);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, table);
  bind_text (self, st, 3, id);
  bind_int (self, st, 4, version);
  found = first_row (self, st, "cannot read the revision", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_record (st, out);
  return found;
}

/* Binds @row as (practice_id, RECORD_COLS) at ?1..?11. */
static void
bind_record (SqliteStorage *self, sqlite3_stmt *st, const char *practice_id,
             const MtsRecordRow *row)
{
  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, row->table);
  bind_text (self, st, 3, row->id);
  bind_int (self, st, 4, row->version);
  bind_int (self, st, 5, row->deleted ? 1 : 0);
  bind_text (self, st, 6, row->plain_json);
  bind_bytes (self, st, 7, row->sealed);
  bind_text (self, st, 8, row->device_id);
  bind_int (self, st, 9, row->device_seq);
  bind_text (self, st, 10, row->user_id);
  bind_int (self, st, 11, row->created_at);
}

static gboolean
sqlite_record_put (MtsStorage *s, const char *practice_id, const MtsRecordRow *row,
                   GError **error)
{
  static const char what[] = "cannot store the record";
  SqliteStorage *self = SELF (s);
  gboolean ok;

  if (!op_begin (self, what, error))
    return FALSE;
  {
    g_auto(CachedStmt) st = stmt (self, ST_REVISION_INSERT);

    bind_record (self, st, practice_id, row);
    ok = run (self, st, what, error);
  }
  if (ok)
    {
      g_auto(CachedStmt) st = stmt (self, ST_RECORD_UPSERT);

      MtsStorageFound changed;

      bind_record (self, st, practice_id, row);
      changed = run_changed (self, st, what, error);
      /* Nothing changed: the current version is newer than this one. */
      if (changed == MTS_STORAGE_NOT_FOUND)
        g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                     "%s: a newer version is current", what);
      ok = changed == MTS_STORAGE_FOUND;
    }
  if (!ok)
    {
      op_undo (self);
      return FALSE;
    }
  return op_end (self, what, error);
}

static gboolean
sqlite_pull (MtsStorage *s, const char *practice_id, gint64 after, guint limit,
             MtsRecordFunc each, gpointer user_data, gint64 *remaining, GError **error)
{
  static const char what[] = "cannot read the records to pull";
  SqliteStorage *self = SELF (s);
  gint64 last = after;
  gboolean ok = TRUE;

  /* One read transaction: the count matches the page. */
  if (!op_begin (self, what, error))
    return FALSE;
  {
    g_auto(CachedStmt) st = stmt (self, ST_PULL);
    int rc;

    bind_text (self, st, 1, practice_id);
    bind_int (self, st, 2, after);
    bind_int (self, st, 3, limit);
    while ((rc = step (self, st)) == SQLITE_ROW)
      {
        MtsRecordRow row = { 0 };
        gboolean more;

        read_record (st, &row);
        last = row.version;
        more = each (&row, user_data);
        mts_record_row_clear (&row);
        if (!more)
          break;
      }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      {
        set_error (self, rc, what, error);
        ok = FALSE;
      }
  }
  if (ok && remaining != NULL)
    {
      g_auto(CachedStmt) st = stmt (self, ST_PULL_REMAINING);

      bind_text (self, st, 1, practice_id);
      bind_int (self, st, 2, last);
      /* count(*) always gives a row. */
      ok = first_row (self, st, what, error) == MTS_STORAGE_FOUND;
      if (ok)
        *remaining = sqlite3_column_int64 (st, 0);
    }
  if (!ok)
    {
      op_undo (self);
      return FALSE;
    }
  return op_end (self, what, error);
}

static gint64
sqlite_live_count (MtsStorage *s, const char *practice_id, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_LIVE_COUNT);

  bind_text (self, st, 1, practice_id);
  if (first_row (self, st, "cannot count the live records", error) != MTS_STORAGE_FOUND)
    return -1;
  return sqlite3_column_int64 (st, 0);
}

static gboolean
sqlite_records_referencing (MtsStorage *s, const char *practice_id, const char *field,
                            const char *value, MtsRecordFunc each, gpointer user_data,
                            GError **error)
{
  static const char what[] = "cannot read the records that refer to a record";
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_REFERENCING);
  int rc;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, field);
  bind_text (self, st, 3, value);
  while ((rc = step (self, st)) == SQLITE_ROW)
    {
      MtsRecordRow row = { 0 };
      gboolean more;

      read_record (st, &row);
      more = each (&row, user_data);
      mts_record_row_clear (&row);
      if (!more)
        return TRUE;
    }
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, what, error);
      return FALSE;
    }
  return TRUE;
}

/* ---- pushed ops ---- */

static MtsStorageFound
sqlite_op_get (MtsStorage *s, const char *practice_id, const char *device_id,
               gint64 device_seq, char **result_json, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_OP_GET);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, device_id);
  bind_int (self, st, 3, device_seq);
  found = first_row (self, st, "cannot look up the op", error);
  if (found == MTS_STORAGE_FOUND && result_json != NULL)
    *result_json = col_text (st, 0);
  return found;
}

static gboolean
sqlite_op_put (MtsStorage *s, const char *practice_id, const char *device_id,
               gint64 device_seq, const char *result_json, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_OP_PUT);

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, device_id);
  bind_int (self, st, 3, device_seq);
  bind_text (self, st, 4, result_json);
  return run (self, st, "cannot store the op's result", error);
}

/* ---- audit ---- */

static gboolean
sqlite_audit_head_put (MtsStorage *s, const char *practice_id, const char *device_id,
                       gint64 seq, const char *mac_hex, gint64 now, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_HEAD_PUT);

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, device_id);
  bind_int (self, st, 3, seq);
  bind_text (self, st, 4, mac_hex);
  bind_int (self, st, 5, now);
  return run (self, st, "cannot store the audit head", error);
}

static MtsStorageFound
sqlite_audit_head_get (MtsStorage *s, const char *practice_id, const char *device_id,
                       gint64 *seq, char **mac_hex, gint64 *anchored_at, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_HEAD_GET);
  MtsStorageFound found;

  bind_text (self, st, 1, practice_id);
  bind_text (self, st, 2, device_id);
  found = first_row (self, st, "cannot read the audit head", error);
  if (found != MTS_STORAGE_FOUND)
    return found;
  if (seq != NULL)
    *seq = sqlite3_column_int64 (st, 0);
  if (mac_hex != NULL)
    *mac_hex = col_text (st, 1);
  if (anchored_at != NULL)
    *anchored_at = sqlite3_column_int64 (st, 2);
  return found;
}

static gboolean
sqlite_audit_append (MtsStorage *s, const MtsAuditRow *row, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_AUDIT_INSERT);

  bind_int (self, st, 1, row->seq);
  bind_int (self, st, 2, row->at);
  bind_text (self, st, 3, row->practice_id);
  bind_text (self, st, 4, row->actor);
  bind_text (self, st, 5, row->event);
  bind_text (self, st, 6, row->detail_json);
  bind_blob (self, st, 7, row->mac, sizeof row->mac);
  return run (self, st, "cannot append to the audit log", error);
}

static MtsStorageFound
sqlite_audit_last (MtsStorage *s, MtsAuditRow *out, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_AUDIT_LAST);
  MtsStorageFound found;

  found = first_row (self, st, "cannot read the audit log", error);
  if (found == MTS_STORAGE_FOUND && out != NULL)
    read_audit (st, out);
  return found;
}

static gboolean
sqlite_audit_foreach (MtsStorage *s, gint64 after_seq, MtsAuditFunc each,
                      gpointer user_data, GError **error)
{
  SqliteStorage *self = SELF (s);
  g_auto(CachedStmt) st = stmt (self, ST_AUDIT_AFTER);
  int rc;

  bind_int (self, st, 1, after_seq);
  while ((rc = step (self, st)) == SQLITE_ROW)
    {
      MtsAuditRow row = { 0 };
      gboolean more;

      read_audit (st, &row);
      more = each (&row, user_data);
      mts_audit_row_clear (&row);
      if (!more)
        return TRUE;
    }
  if (rc != SQLITE_DONE)
    {
      set_error (self, rc, "cannot read the audit log", error);
      return FALSE;
    }
  return TRUE;
}

/* ---- open and close ---- */

static void
sqlite_close (MtsStorage *s)
{
  SqliteStorage *self = SELF (s);

  for (int i = 0; i < N_STMTS; i++)
    sqlite3_finalize (self->st[i]);
  if (self->db != NULL)
    {
      if (self->ready)
        sqlite3_exec (self->db, "PRAGMA optimize", NULL, NULL, NULL);
      if (sqlite3_close (self->db) != SQLITE_OK)
        g_warning ("cannot close the server database: %s", sqlite3_errmsg (self->db));
    }
  g_free (self);
}

/* A passive WAL checkpoint: copies what it can without waiting for readers.
 * The server calls it between requests, so no push pays for it (automatic
 * checkpoints are off on this connection: see mts_storage_sqlite_open). */
static void
sqlite_upkeep (MtsStorage *s)
{
  SqliteStorage *self = SELF (s);

  if (self->db != NULL && sqlite3_get_autocommit (self->db))
    sqlite3_wal_checkpoint_v2 (self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static const MtsStorageOps sqlite_ops = {
  .name = "sqlite",
  .close = sqlite_close,
  .begin = sqlite_begin,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .practice_create = sqlite_practice_create,
  .practice_by_slug = sqlite_practice_by_slug,
  .practice_by_id = sqlite_practice_by_id,
  .next_version = sqlite_next_version,
  .user_add = sqlite_user_add,
  .user_by_name = sqlite_user_by_name,
  .user_by_id = sqlite_user_by_id,
  .user_list = sqlite_user_list,
  .user_set_totp = sqlite_user_set_totp,
  .user_use_totp_step = sqlite_user_use_totp_step,
  .user_set_password = sqlite_user_set_password,
  .device_touch = sqlite_device_touch,
  .device_get = sqlite_device_get,
  .device_list = sqlite_device_list,
  .device_revoke = sqlite_device_revoke,
  .token_put = sqlite_token_put,
  .token_get = sqlite_token_get,
  .token_mark_used = sqlite_token_mark_used,
  .token_revoke_family = sqlite_token_revoke_family,
  .token_revoke_device = sqlite_token_revoke_device,
  .token_revoke_user = sqlite_token_revoke_user,
  .token_purge = sqlite_token_purge,
  .attempt_get = sqlite_attempt_get,
  .attempt_put = sqlite_attempt_put,
  .attempt_clear = sqlite_attempt_clear,
  .record_get = sqlite_record_get,
  .revision_get = sqlite_revision_get,
  .record_put = sqlite_record_put,
  .pull = sqlite_pull,
  .live_count = sqlite_live_count,
  .op_get = sqlite_op_get,
  .op_put = sqlite_op_put,
  .audit_head_put = sqlite_audit_head_put,
  .audit_head_get = sqlite_audit_head_get,
  .audit_append = sqlite_audit_append,
  .audit_last = sqlite_audit_last,
  .audit_foreach = sqlite_audit_foreach,
  .records_referencing = sqlite_records_referencing,
  .upkeep = sqlite_upkeep,
};

static gboolean
exec (SqliteStorage *self, const char *sql, const char *what, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED, "%s: %s", what,
                   message != NULL ? message : sqlite3_errmsg (self->db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* Runs @sql, which gives one integer (or text, with @text set). */
static gboolean
query_one (SqliteStorage *self, const char *sql, gint64 *value, char **text,
           const char *what, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      if (value != NULL)
        *value = sqlite3_column_int64 (st, 0);
      if (text != NULL)
        *text = col_text (st, 0);
      sqlite3_finalize (st);
      return TRUE;
    }
  g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED, "%s: %s", what,
               rc == SQLITE_DONE ? "no result" : sqlite3_errmsg (self->db));
  sqlite3_finalize (st);
  return FALSE;
}

/* Reads the schema version of the file, refusing one made by a newer
 * server and any database that is not a server's. */
static gboolean
check_file (SqliteStorage *self, const char *path, gint64 *version, GError **error)
{
  gint64 app_id = 0;
  gint64 n_objects = 0;
  const char *what = "cannot read the server database";

  if (!query_one (self, "PRAGMA application_id", &app_id, NULL, what, error)
      || !query_one (self, "PRAGMA user_version", version, NULL, what, error)
      || !query_one (self, "SELECT count(*) FROM sqlite_schema", &n_objects, NULL,
                     what, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (app_id != APPLICATION_ID && (app_id != 0 || *version != 0 || n_objects != 0))
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "%s is not an MTS server database", path);
      return FALSE;
    }
  if (*version > SCHEMA_VERSION)
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_NEWER,
                   "%s was made by a newer server (schema version %" G_GINT64_FORMAT
                   ", this server knows up to %" G_GINT64_FORMAT ")",
                   path, *version, SCHEMA_VERSION);
      return FALSE;
    }
  return TRUE;
}

/* Brings the schema to SCHEMA_VERSION, each step committed with its
 * version.  The write lock is taken before the version is read again, so
 * two servers opening one new file do not both create it. */
static gboolean
migrate (SqliteStorage *self, const char *path, GError **error)
{
  gint64 version = 0;

  for (;;)
    {
      g_autofree char *set = NULL;

      if (!exec (self, "BEGIN IMMEDIATE", "cannot lock the server database", error))
        return FALSE;
      if (!check_file (self, path, &version, error))
        {
          exec (self, "ROLLBACK", "rollback", NULL);
          return FALSE;
        }
      if (version == SCHEMA_VERSION)
        return exec (self, "COMMIT", "cannot read the server database", error);
      set = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT "; "
                             "PRAGMA application_id = %d",
                             version + 1, APPLICATION_ID);
      if (!exec (self, migrations[version], "cannot create the server's tables", error)
          || !exec (self, set, "cannot create the server's tables", error)
          || !exec (self, "COMMIT", "cannot create the server's tables", error))
        {
          if (!sqlite3_get_autocommit (self->db))
            exec (self, "ROLLBACK", "rollback", NULL);
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
    }
}

/* Creates @path mode 0600 if it is missing, or makes it 0600. */
static gboolean
make_private (const char *path, GError **error)
{
  struct stat st;
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "cannot open the server database %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "cannot open the server database %s: not a regular file", path);
      return FALSE;
    }
  /* open's mode passes through the umask, which can only remove bits; an
   * existing file keeps its own mode unless tightened here. */
  if ((st.st_mode & 07777) != 0600 && fchmod (fd, 0600) != 0)
    {
      saved = errno;
      close (fd);
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "cannot make the server database %s private (mode 0600): %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

MtsStorage *
mts_storage_sqlite_open (const char *path, GError **error)
{
  SqliteStorage *self;
  gboolean memory;
  gint64 version = 0;
  g_autofree char *mode = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  memory = strcmp (path, ":memory:") == 0;
  if (!memory && !make_private (path, error))
    return NULL;

  self = g_new0 (SqliteStorage, 1);
  self->parent.ops = &sqlite_ops;
  if (sqlite3_open_v2 (path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW
                         | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "cannot open the server database %s: %s", path,
                   self->db != NULL ? sqlite3_errmsg (self->db) : "out of memory");
      goto fail;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

  /* Refuse a newer or foreign file before anything in it changes. */
  if (!check_file (self, path, &version, error))
    goto fail;
  if (!query_one (self, "PRAGMA journal_mode = WAL", NULL, &mode,
                  "cannot switch the server database to WAL", error))
    goto fail;
  if (g_strcmp0 (mode, memory ? "memory" : "wal") != 0)
    {
      g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                   "cannot switch the server database %s to WAL (journal mode %s)",
                   path, mode != NULL ? mode : "unknown");
      goto fail;
    }
  if (!exec (self, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
             "cannot set up the server database", error)
      || !migrate (self, path, error))
    goto fail;
  /* Checkpoints happen in upkeep, between requests, instead of inside the
   * write that crosses SQLite's 1,000-page mark (docs/performance.md: that
   * write's latency doubled).  A short-lived connection (an admin command)
   * leaves the WAL to the server's next upkeep, or checkpoints it when it
   * is the last to close. */
  sqlite3_wal_autocheckpoint (self->db, 0);

  for (int i = 0; i < N_STMTS; i++)
    if (sqlite3_prepare_v3 (self->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &self->st[i], NULL) != SQLITE_OK)
      {
        g_set_error (error, MTS_STORAGE_ERROR, MTS_STORAGE_ERROR_FAILED,
                     "cannot prepare the server database's statement %d: %s", i,
                     sqlite3_errmsg (self->db));
        goto fail;
      }
  self->ready = TRUE;
  return &self->parent;

fail:
  sqlite_close (&self->parent);
  return NULL;
}
