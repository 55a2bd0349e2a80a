/* mts-server-storage.h — where the server keeps its state, behind an
 * interface: the embedded SQLite backend (mts-server-storage-sqlite.c) is
 * the default, and a PostgreSQL backend can implement the same table of
 * operations later without the HTTP, auth or sync code changing.
 *
 * What a backend stores (docs/server.md, "Storage"):
 *   practices    id, slug, name, the practice's version counter
 *   users        per practice: username, role, Argon2id password hash, the
 *                TOTP secret sealed with the practice key, the last TOTP
 *                step used (a code works once), disabled
 *   devices      per practice and user: name, created, last seen, revoked
 *   tokens       BLAKE2b hashes of access and refresh tokens, never the
 *                tokens, with practice, user, device, family and expiry
 *   attempts     failed-login counters per account key and per address
 *   records      per practice: the current revision of every synced record
 *   revisions    every revision ever accepted, never deleted
 *   ops          the result of every pushed op, by (device, device seq),
 *                so a replayed push gets the same answers
 *   audit_heads  the audit-chain head each device anchored
 *   audit_log    the server's own MAC-chained audit log
 *
 * Sensitive record fields reach the backend already sealed (one envelope
 * per revision); TOTP secrets likewise.  A backend never sees a key.
 *
 * Conventions: times are Unix seconds (gint64).  Every function returning
 * gboolean sets @error on failure (MTS_STORAGE_ERROR).  Lookups return an
 * MtsStorageFound so that "not there" is not an error.  Strings in rows are
 * owned by the row; free rows with their _clear function.  A backend is used
 * from one thread at a time.
 */
#pragma once

#include <glib.h>

#include "mts-tokens.h"

G_BEGIN_DECLS

#define MTS_STORAGE_ERROR (mts_storage_error_quark ())
GQuark mts_storage_error_quark (void);

typedef enum {
  MTS_STORAGE_ERROR_FAILED,     /* the backend failed (I/O, corruption) */
  MTS_STORAGE_ERROR_EXISTS,     /* a unique name or id is already taken */
  MTS_STORAGE_ERROR_NEWER,      /* the database was made by a newer server */
} MtsStorageError;

typedef enum {
  MTS_STORAGE_ERROR_RESULT = -1,   /* @error is set */
  MTS_STORAGE_NOT_FOUND = 0,
  MTS_STORAGE_FOUND = 1,
} MtsStorageFound;

typedef struct {
  char *id;          /* UUID */
  char *slug;        /* what users type at login, e.g. "north-leeds" */
  char *name;
  gint64 created_at;
} MtsPracticeRow;

typedef struct {
  char *id;
  char *practice_id;
  char *username;
  char *role;               /* "clinician", "practice_admin" or "support" */
  char *password_hash;      /* crypto_pwhash_str text */
  GBytes *totp_sealed;      /* envelope of the TOTP secret (practice key) */
  gint64 totp_last_step;    /* -1 before the first code is used */
  gboolean disabled;
  gint64 created_at;
} MtsUserRow;

typedef struct {
  char *id;                 /* chosen by the device (UUID) */
  char *practice_id;
  char *user_id;
  char *name;
  gint64 created_at;
  gint64 last_seen_at;
  gint64 revoked_at;        /* 0 while not revoked */
} MtsDeviceRow;

typedef struct {
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  MtsTokenKind kind;
  char *practice_id;
  char *user_id;
  char *device_id;
  char *family;             /* refresh rotations share a family */
  gint64 expires_at;
  gint64 used_at;           /* refresh tokens: when rotated, else 0 */
  gboolean revoked;
} MtsTokenRow;

typedef struct {
  char *table;
  char *id;
  gint64 version;           /* from the practice's counter */
  gboolean deleted;
  char *plain_json;         /* JSON object of the non-sensitive fields */
  GBytes *sealed;           /* envelope of a JSON object of the sensitive
                             * fields, or NULL when there are none */
  char *device_id;          /* who wrote this revision */
  gint64 device_seq;
  char *user_id;
  gint64 created_at;
} MtsRecordRow;

typedef struct {
  gint64 seq;
  gint64 at;
  char *practice_id;        /* NULL for server-wide events */
  char *actor;              /* a user id, "admin", or "address:<ip>" */
  char *event;              /* e.g. "login", "login-failed", "sync-push" */
  char *detail_json;        /* a JSON object: ids and counts, never secrets */
  guint8 mac[32];
} MtsAuditRow;

void mts_practice_row_clear (MtsPracticeRow *row);
void mts_user_row_clear (MtsUserRow *row);
void mts_device_row_clear (MtsDeviceRow *row);
void mts_token_row_clear (MtsTokenRow *row);
void mts_record_row_clear (MtsRecordRow *row);
void mts_audit_row_clear (MtsAuditRow *row);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsPracticeRow, mts_practice_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsUserRow, mts_user_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsDeviceRow, mts_device_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsTokenRow, mts_token_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsRecordRow, mts_record_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MtsAuditRow, mts_audit_row_clear)

typedef struct _MtsStorage MtsStorage;

/* Called for each record of a pull page and each audit entry; returning
 * FALSE stops the walk. */
typedef gboolean (*MtsRecordFunc) (const MtsRecordRow *row, gpointer user_data);
typedef gboolean (*MtsAuditFunc) (const MtsAuditRow *row, gpointer user_data);
typedef void (*MtsUserFunc) (const MtsUserRow *row, gpointer user_data);
typedef void (*MtsDeviceFunc) (const MtsDeviceRow *row, gpointer user_data);

typedef struct {
  const char *name;   /* "sqlite" */
  void (*close) (MtsStorage *s);

  /* One write transaction at a time; reads outside one see committed data. */
  gboolean (*begin) (MtsStorage *s, GError **error);
  gboolean (*commit) (MtsStorage *s, GError **error);
  void (*rollback) (MtsStorage *s);

  /* Practices.  practice_create fails with EXISTS on a taken slug. */
  gboolean (*practice_create) (MtsStorage *s, const MtsPracticeRow *row, GError **error);
  MtsStorageFound (*practice_by_slug) (MtsStorage *s, const char *slug,
                                       MtsPracticeRow *out, GError **error);
  MtsStorageFound (*practice_by_id) (MtsStorage *s, const char *id,
                                     MtsPracticeRow *out, GError **error);
  /* Takes the practice's next record version (1, 2, ...). */
  gint64 (*next_version) (MtsStorage *s, const char *practice_id, GError **error);

  /* Users.  user_add fails with EXISTS on a taken (practice, username). */
  gboolean (*user_add) (MtsStorage *s, const MtsUserRow *row, GError **error);
  MtsStorageFound (*user_by_name) (MtsStorage *s, const char *practice_id,
                                   const char *username, MtsUserRow *out, GError **error);
  MtsStorageFound (*user_by_id) (MtsStorage *s, const char *practice_id,
                                 const char *user_id, MtsUserRow *out, GError **error);
  gboolean (*user_list) (MtsStorage *s, const char *practice_id,
                         MtsUserFunc each, gpointer user_data, GError **error);
  /* Replaces the sealed secret and sets totp_last_step to -1. */
  gboolean (*user_set_totp) (MtsStorage *s, const char *user_id, GBytes *sealed,
                             GError **error);
  /* Records that the code of @step was used: succeeds only if @step is
   * greater than the stored last step (so a code works once, even when two
   * logins race); returns FOUND if it was recorded, NOT_FOUND if not. */
  MtsStorageFound (*user_use_totp_step) (MtsStorage *s, const char *user_id,
                                         gint64 step, GError **error);
  gboolean (*user_set_password) (MtsStorage *s, const char *user_id,
                                 const char *password_hash, GError **error);

  /* Devices.  device_touch creates the device on first login (for that
   * user) and updates last_seen_at; a revoked device stays revoked. */
  gboolean (*device_touch) (MtsStorage *s, const MtsDeviceRow *row, GError **error);
  MtsStorageFound (*device_get) (MtsStorage *s, const char *practice_id,
                                 const char *device_id, MtsDeviceRow *out, GError **error);
  gboolean (*device_list) (MtsStorage *s, const char *practice_id,
                           MtsDeviceFunc each, gpointer user_data, GError **error);
  /* Marks the device revoked and revokes all its tokens. */
  MtsStorageFound (*device_revoke) (MtsStorage *s, const char *practice_id,
                                    const char *device_id, gint64 now, GError **error);

  /* Tokens, by hash. */
  gboolean (*token_put) (MtsStorage *s, const MtsTokenRow *row, GError **error);
  MtsStorageFound (*token_get) (MtsStorage *s, const guint8 hash[MTS_TOKEN_HASH_BYTES],
                                MtsTokenRow *out, GError **error);
  /* Sets used_at on an unused refresh token: FOUND if this call did it,
   * NOT_FOUND if it was already used (a replay). */
  MtsStorageFound (*token_mark_used) (MtsStorage *s, const guint8 hash[MTS_TOKEN_HASH_BYTES],
                                      gint64 now, GError **error);
  /* Revokes every token of a refresh family (a replayed refresh token). */
  gboolean (*token_revoke_family) (MtsStorage *s, const char *family, GError **error);
  /* Revokes every token of a device (logout, revoke, 2FA reset). */
  gboolean (*token_revoke_device) (MtsStorage *s, const char *device_id, GError **error);
  gboolean (*token_revoke_user) (MtsStorage *s, const char *user_id, GError **error);
  /* Deletes tokens that expired before @now. */
  gboolean (*token_purge) (MtsStorage *s, gint64 now, GError **error);

  /* Failed-login counters, by key ("account:<practice slug>/<username>" or
   * "address:<ip>"); a missing key reads as all zeros. */
  gboolean (*attempt_get) (MtsStorage *s, const char *key, gint64 *failures,
                           gint64 *window_start, gint64 *locked_until, GError **error);
  gboolean (*attempt_put) (MtsStorage *s, const char *key, gint64 failures,
                           gint64 window_start, gint64 locked_until, GError **error);
  gboolean (*attempt_clear) (MtsStorage *s, const char *key, GError **error);

  /* Records.  record_put stores @row as a new revision and makes it the
   * current one (its version must be new for the practice). */
  MtsStorageFound (*record_get) (MtsStorage *s, const char *practice_id,
                                 const char *table, const char *id,
                                 MtsRecordRow *out, GError **error);
  MtsStorageFound (*revision_get) (MtsStorage *s, const char *practice_id,
                                   const char *table, const char *id, gint64 version,
                                   MtsRecordRow *out, GError **error);
  gboolean (*record_put) (MtsStorage *s, const char *practice_id,
                          const MtsRecordRow *row, GError **error);
  /* Current records with version > @after, by version, at most @limit;
   * *@remaining receives how many more there are after the last one given. */
  gboolean (*pull) (MtsStorage *s, const char *practice_id, gint64 after, guint limit,
                    MtsRecordFunc each, gpointer user_data, gint64 *remaining,
                    GError **error);
  /* Live current records (of any table) whose non-sensitive field @field
   * equals @value, e.g. everything of a client ("client_id").  @each must
   * not write to the storage; collect, then write. */
  gboolean (*records_referencing) (MtsStorage *s, const char *practice_id, const char *field,
                                   const char *value, MtsRecordFunc each, gpointer user_data,
                                   GError **error);
  /* Live (not deleted) current records of the practice. */
  gint64 (*live_count) (MtsStorage *s, const char *practice_id, GError **error);

  /* Pushed ops' results (a JSON object), by (practice, device, device seq). */
  MtsStorageFound (*op_get) (MtsStorage *s, const char *practice_id,
                             const char *device_id, gint64 device_seq,
                             char **result_json, GError **error);
  gboolean (*op_put) (MtsStorage *s, const char *practice_id, const char *device_id,
                      gint64 device_seq, const char *result_json, GError **error);

  /* Audit-chain heads anchored by devices. */
  gboolean (*audit_head_put) (MtsStorage *s, const char *practice_id, const char *device_id,
                              gint64 seq, const char *mac_hex, gint64 now, GError **error);
  MtsStorageFound (*audit_head_get) (MtsStorage *s, const char *practice_id,
                                     const char *device_id, gint64 *seq, char **mac_hex,
                                     gint64 *anchored_at, GError **error);

  /* The server's audit log.  audit_append stores @row as given (the caller
   * numbered and MACed it); audit_last reads the newest entry. */
  gboolean (*audit_append) (MtsStorage *s, const MtsAuditRow *row, GError **error);
  MtsStorageFound (*audit_last) (MtsStorage *s, MtsAuditRow *out, GError **error);
  gboolean (*audit_foreach) (MtsStorage *s, gint64 after_seq, MtsAuditFunc each,
                             gpointer user_data, GError **error);

  /* Upkeep, called by the server between requests (and at least every few
   * seconds under load): the SQLite backend checkpoints its WAL here rather
   * than inside whichever write crosses SQLite's threshold.  May be NULL. */
  void (*upkeep) (MtsStorage *s);
} MtsStorageOps;

struct _MtsStorage {
  const MtsStorageOps *ops;
};

/* Opens (creating if needed) the SQLite backend at @path in WAL mode. */
MtsStorage *mts_storage_sqlite_open (const char *path, GError **error);

/* Closes and frees @s.  NULL is allowed. */
static inline void
mts_storage_close (MtsStorage *s)
{
  if (s != NULL)
    s->ops->close (s);
}

G_END_DECLS
