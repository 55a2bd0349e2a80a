/* mts-store.h — the practice store: the encrypted local database of
 * clients, sessions, notes, documents and agreements, which works fully
 * offline.
 *
 * A store is a folder:
 *   practice.db            the SQLite database (schema/), sensitive fields
 *                          encrypted in their contexts, every clinical table
 *                          audited (mts_audit)
 *   practice.mtskey(.log)  the keystore and its key-access log
 *   files/                 document files, each encrypted with libsodium
 *                          secretstream under its own key
 *
 * Every write commits together with its audit entry (the triggers) and its
 * sync outbox entry (table, row id, changed columns, base version), in one
 * transaction.  Sensitive values are encrypted by the mts SQL functions,
 * bound as parameters, never pasted into SQL text.
 *
 * Errors are MTS_STORE_ERROR (below), or the MTS_CORE_ERROR of the keystore
 * (wrong passphrase, damaged keystore).
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MTS_STORE_ERROR (mts_store_error_quark ())
GQuark mts_store_error_quark (void);

/**
 * MtsStoreError:
 * @MTS_STORE_ERROR_LOCKED: the store is locked; unlock it first.
 * @MTS_STORE_ERROR_NOT_FOUND: no such record (or it was deleted).
 * @MTS_STORE_ERROR_SIGNED: the note is signed and cannot change: amend it.
 * @MTS_STORE_ERROR_INVALID: a value is missing or out of range.
 * @MTS_STORE_ERROR_EXISTS: a store already exists there.
 * @MTS_STORE_ERROR_DB: the database refused (the message says why).
 * @MTS_STORE_ERROR_SCHEMA: the store's schema is newer than this build, or a migration failed.
 */
typedef enum {
  MTS_STORE_ERROR_LOCKED,
  MTS_STORE_ERROR_NOT_FOUND,
  MTS_STORE_ERROR_SIGNED,
  MTS_STORE_ERROR_INVALID,
  MTS_STORE_ERROR_EXISTS,
  MTS_STORE_ERROR_DB,
  MTS_STORE_ERROR_SCHEMA,
} MtsStoreError;

#define MTS_TYPE_STORE (mts_store_get_type ())
G_DECLARE_FINAL_TYPE (MtsStore, mts_store, MTS, STORE, GObject)

/* ---- records ---- */

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *display_name;     /* encrypted at rest */
  char *email;            /* encrypted; blind-indexed */
  char *role;             /* clinician | practice_admin | support */
} MtsClinician;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *display_name;     /* encrypted at rest */
  char *date_of_birth;    /* encrypted, YYYY-MM-DD */
  char *email;            /* encrypted; blind-indexed */
  char *phone;            /* encrypted; blind-indexed by its digits */
  char *address;          /* encrypted */
  char *gp_details;       /* encrypted: GP name and surgery */
  char *emergency_contact;/* encrypted */
  char *status;           /* active | waiting | closed */
  char *last_contact_at;  /* UTC ISO-8601, or NULL */
  char *clinician_id;
} MtsClient;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *session_id;       /* nullable */
  char *clinician_id;     /* the author */
  char *template_kind;    /* SOAP | DAP | BIRP | free */
  char *body;             /* encrypted at rest */
  char *status;           /* draft | signed */
  char *signed_by;
  char *signed_at;
  char *amends_id;        /* the note this one amends, or NULL */
  gboolean ai_assisted;
} MtsNote;

MtsClinician *mts_clinician_new (void);
void mts_clinician_free (MtsClinician *clinician);
MtsClient *mts_client_new (void);
void mts_client_free (MtsClient *client);
MtsNote *mts_note_new (void);
void mts_note_free (MtsNote *note);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsClinician, mts_clinician_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsClient, mts_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsNote, mts_note_free)

/* ---- lifecycle ---- */

/* Creates a store in @dir (created if missing; must not hold a store) with
 * a keystore at Argon2id @kdf_level ("moderate" when NULL), and returns it
 * unlocked and migrated.  (transfer full) */
MtsStore *mts_store_create (const char *dir, const char *passphrase, gsize passphrase_len,
                            const char *kdf_level, GError **error);

/* Opens the store in @dir, locked.  (transfer full) */
MtsStore *mts_store_open (const char *dir, GError **error);

/* Unlocks: opens the keystore, migrates the schema to this build's
 * version, and loads the client names into memory for search. */
gboolean mts_store_unlock (MtsStore *store, const char *passphrase, gsize passphrase_len,
                           GError **error);

/* Wipes the keys and the names held in memory. */
void mts_store_lock (MtsStore *store);

/* Another store on @store's folder, with a database connection of its own,
 * already unlocked with a clone of @store's keystore (mts_keystore_clone():
 * no passphrase, nothing in the key-access log), the same actor, and the
 * client names loaded.  It is for another thread: the sync manager syncs
 * through a twin while the app goes on writing through @store.  Each store
 * is still used by one thread at a time; their writes take turns through
 * SQLite (WAL; a writer waits up to 5 s for the other's transaction).
 * What one writes the other reads at once, except the names held in memory
 * for search: reload those with mts_store_reload_names().
 *
 * The twin is independent from then on: locking or freeing @store leaves it
 * unlocked until it is locked or freed itself (which logs nothing either).
 * Call on @store's thread.  MTS_STORE_ERROR_LOCKED if @store is locked.
 * Returns (transfer full) (nullable). */
MtsStore *mts_store_open_twin (MtsStore *store, GError **error);

gboolean mts_store_is_unlocked (MtsStore *store);
const char *mts_store_get_dir (MtsStore *store);

/* The store's identity: its keystore's random id, in hex (32 digits). */
const char *mts_store_get_id (MtsStore *store);

/* The store's database connection, with the mts SQL functions registered
 * (and the keystore, while unlocked), for read-only SQL such as the audit
 * log and exports.  Writes must go through this API so that each is
 * audited and queued for sync.  (transfer none) */
struct sqlite3;
struct sqlite3 *mts_store_get_db (MtsStore *store);

/* The clinician the audit log and signatures name (a clinician id, or any
 * text before one exists). */
void mts_store_set_actor (MtsStore *store, const char *actor);
const char *mts_store_get_actor (MtsStore *store);

/* ---- clinicians ---- */

gboolean mts_store_clinician_add (MtsStore *store, MtsClinician *clinician, GError **error);
MtsClinician *mts_store_clinician_get (MtsStore *store, const char *id, GError **error);
/* (element-type MtsClinician) (transfer full) */
GPtrArray *mts_store_clinician_list (MtsStore *store, GError **error);

/* ---- clients ---- */

/* Adds @client: sets its id, version and times. */
gboolean mts_store_client_add (MtsStore *store, MtsClient *client, GError **error);
MtsClient *mts_store_client_get (MtsStore *store, const char *id, GError **error);
/* Writes @client's fields; the outbox names only the columns that changed. */
gboolean mts_store_client_update (MtsStore *store, const MtsClient *client, GError **error);
/* Deletes a client: its notes, sessions, documents (and their files) and
 * every other dependent row go; the client's row stays as a tombstone with
 * nothing readable in it, for sync. */
gboolean mts_store_client_delete (MtsStore *store, const char *id, GError **error);
/* All live clients sorted by name.  (element-type MtsClient) (transfer full) */
GPtrArray *mts_store_client_list (MtsStore *store, GError **error);
/* Clients whose name contains @text (case-insensitive), or whose e-mail or
 * phone equals @text exactly.  (element-type MtsClient) (transfer full) */
GPtrArray *mts_store_client_search (MtsStore *store, const char *text, GError **error);

/* ---- notes ---- */

gboolean mts_store_note_add (MtsStore *store, MtsNote *note, GError **error);
MtsNote *mts_store_note_get (MtsStore *store, const char *id, GError **error);
/* Changes a draft's body, kind or AI flag; a signed note is refused with
 * MTS_STORE_ERROR_SIGNED. */
gboolean mts_store_note_update (MtsStore *store, const MtsNote *note, GError **error);
/* Signs a draft as the current actor. */
gboolean mts_store_note_sign (MtsStore *store, const char *id, GError **error);
/* A new draft amending signed note @id, with @body.  (transfer full) */
MtsNote *mts_store_note_amend (MtsStore *store, const char *id, const char *body, GError **error);
/* A client's live notes, oldest first; NOT_FOUND for an unknown client.
 * (element-type MtsNote) (transfer full) */
GPtrArray *mts_store_note_list (MtsStore *store, const char *client_id, GError **error);

G_END_DECLS
