/*
** mts.c — the MTS SQLite extension: field encryption with a keystore kept
** outside the database, blind indexes, key rotation and the key-access log.
**
** Load it into the stock shell with
**
**     sqlite> .load ./build/extension/mts
**
** Passphrases never appear in SQL text.  They are read from the file named by
** MTS_PASSPHRASE_FILE, else from MTS_PASSPHRASE, else from the terminal (new
** passphrases: MTS_NEW_PASSPHRASE_FILE / MTS_NEW_PASSPHRASE / the terminal).
** The unlocked keystore belongs to the connection; closing it locks.
**
** SQL functions (NULL in the first argument gives NULL out, unless noted):
**
**   mts_keystore_create(PATH [, LEVEL])  Creates a keystore file at PATH (mode
**        0600, refuses to replace one) with key 1, Argon2id LEVEL 'moderate'
**        (default), 'interactive', 'sensitive' or 'test'.  Returns 1.
**   mts_unlock(PATH)     Unlocks PATH for this connection; returns the primary key id.
**   mts_lock()           Wipes the keys; returns 1 if they were unlocked, else 0.
**   mts_keystore_passwd(PATH)  Changes PATH's passphrase (current one as above,
**        new one from MTS_NEW_PASSPHRASE...); returns 1.
**   mts_encrypt(X, CONTEXT)    Envelope (BLOB) of X (TEXT, BLOB, INTEGER or
**        REAL) under the primary key, bound to CONTEXT (non-empty TEXT).  A
**        rotation by another process is noticed within a second.
**   mts_decrypt(E, CONTEXT)    The value sealed in envelope E, with its type.
**        Any tampering, or another CONTEXT, is an error, never NULL.
**   mts_reencrypt(E, CONTEXT)  E under the primary key (E itself if it is already).
**   mts_key_id(E)        The key id in E's header (no key needed).
**   mts_blind_index(V, NAME [, KEY_ID])  20-byte BLOB: key id || keyed
**        BLAKE2b-128 of NAME and V normalised (NFKC, case-folded, trimmed);
**        under the primary key unless KEY_ID is given.
**   mts_key_rotate()     Adds a key and makes it primary; returns its id.
**   mts_key_ids()        The keyset's key ids as a JSON array, oldest first (the
**        last is the primary), e.g. for blind-index lookups across rotation.
**   mts_keylog_verify(PATH)  'ok', or an error naming the first bad entry of
**        PATH's key-access log.  MACs are checked when this connection has
**        PATH unlocked; otherwise the answer says it checked the chain only.
**
** Every function that touches a key or a file is SQLITE_DIRECTONLY, so a
** view or trigger in a database of unknown origin cannot call it.
**
** The audit functions (mts_actor, mts_audit_*) are in mts-audit.c.  Programs
** that link these functions (mts-sqlite.h) hand over an unlocked keystore
** through the internal mts_set_keystore(P), and clone the connection's
** keystore for a second connection through the internal
** mts_clone_keystore(P), whose arguments only sqlite3_bind_pointer can
** supply.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <glib.h>
#include <sodium.h>
#include <string.h>

#include "mts-blind-index.h"
#include "mts-envelope.h"
#include "mts-error.h"
#include "mts-extension-private.h"
#include "mts-keystore.h"
#include "mts-passphrase.h"

void
mts_conn_unref (void *p)
{
  MtsConn *conn = p;

  if (--conn->refs == 0)
    {
      g_clear_pointer (&conn->ks, mts_keystore_free);
      mts_conn_forget_audit_state (conn);
      g_free (conn->actor);
      g_free (conn);
    }
}

void
mts_conn_forget_audit_state (MtsConn *conn)
{
  g_clear_pointer (&conn->audit_state, sodium_free);
  conn->audit_state_key_id = 0;
}

void
mts_result_gerror (sqlite3_context *ctx, const char *fn, GError *error)
{
  char *msg = sqlite3_mprintf ("%s: %s", fn, error->message);

  if (msg == NULL)
    sqlite3_result_error_nomem (ctx);
  else
    {
      sqlite3_result_error (ctx, msg, -1);
      sqlite3_free (msg);
    }
  g_error_free (error);
}

void
mts_result_errorf (sqlite3_context *ctx, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = sqlite3_vmprintf (fmt, ap);
  va_end (ap);
  if (msg == NULL)
    sqlite3_result_error_nomem (ctx);
  else
    {
      sqlite3_result_error (ctx, msg, -1);
      sqlite3_free (msg);
    }
}

MtsKeystore *
mts_require_unlocked (sqlite3_context *ctx, const char *fn)
{
  MtsConn *conn = sqlite3_user_data (ctx);

  if (conn->ks == NULL)
    mts_result_errorf (ctx, "%s: the keystore is locked; run mts_unlock(path) first", fn);
  return conn->ks;
}

const char *
mts_require_text (sqlite3_context *ctx, const char *fn, sqlite3_value *v, const char *what)
{
  const char *s = (const char *) sqlite3_value_text (v);

  if (s == NULL || *s == '\0')
    {
      if (sqlite3_errcode (sqlite3_context_db_handle (ctx)) == SQLITE_NOMEM)
        sqlite3_result_error_nomem (ctx);
      else
        mts_result_errorf (ctx, "%s: %s must be non-empty text", fn, what);
      return NULL;
    }
  return s;
}

/* mts_keystore_create(PATH [, LEVEL]) */
static void
keystore_create_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *path, *level_name = NULL;
  MtsKdfLevel level = MTS_KDF_MODERATE;
  GError *error = NULL;
  char *pass;
  gsize pass_len = 0;
  gboolean ok;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((path = mts_require_text (ctx, "mts_keystore_create", argv[0], "the path")) == NULL)
    return;
  if (argc > 1)
    {
      level_name = (const char *) sqlite3_value_text (argv[1]);
      if (!mts_kdf_level_from_string (level_name, &level))
        {
          mts_result_errorf (ctx, "mts_keystore_create: unknown level '%s' "
                              "(use moderate, interactive, sensitive or test)",
                         level_name ? level_name : "NULL");
          return;
        }
    }
  pass = mts_passphrase_read ("MTS_PASSPHRASE", "New keystore passphrase: ", TRUE, &pass_len, &error);
  if (pass == NULL)
    {
      mts_result_gerror (ctx, "mts_keystore_create", error);
      return;
    }
  ok = mts_keystore_create (path, pass, pass_len, level, &error);
  mts_passphrase_free (pass);
  if (!ok)
    mts_result_gerror (ctx, "mts_keystore_create", error);
  else
    sqlite3_result_int (ctx, 1);
}

/* mts_unlock(PATH) */
static void
unlock_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  const char *path;
  GError *error = NULL;
  MtsKeystore *ks;
  char *pass;
  gsize pass_len = 0;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((path = mts_require_text (ctx, "mts_unlock", argv[0], "the path")) == NULL)
    return;
  pass = mts_passphrase_read ("MTS_PASSPHRASE", "Keystore passphrase: ", FALSE, &pass_len, &error);
  if (pass == NULL)
    {
      mts_result_gerror (ctx, "mts_unlock", error);
      return;
    }
  ks = mts_keystore_unlock (path, pass, pass_len, &error);
  mts_passphrase_free (pass);
  if (ks == NULL)
    {
      mts_result_gerror (ctx, "mts_unlock", error);
      return;
    }
  if (conn->ks != NULL)
    {
      /* Unlocking the same keystore again is not a lock: the log already
       * says "unlock".  Another keystore is locked, and logged as such. */
      g_autofree char *a = g_canonicalize_filename (path, NULL);
      g_autofree char *b = g_canonicalize_filename (mts_keystore_get_path (conn->ks), NULL);
      if (strcmp (a, b) == 0)
        mts_keystore_forget (conn->ks);
      else
        mts_keystore_free (conn->ks);
    }
  conn->ks = ks;
  mts_conn_forget_audit_state (conn);
  sqlite3_result_int64 (ctx, mts_keystore_primary_id (ks));
}

/* mts_set_keystore(P): P is a keystore bound with sqlite3_bind_pointer of
 * type "MtsKeystore" (see mts_sqlite_set_keystore); SQL cannot make one. */
static void
set_keystore_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  MtsKeystore *ks = sqlite3_value_pointer (argv[0], "MtsKeystore");

  if (ks == NULL)
    {
      mts_result_errorf (ctx, "mts_set_keystore: only programs linking MTS can call this");
      return;
    }
  if (conn->ks != NULL && conn->ks != ks)
    mts_keystore_free (conn->ks);
  conn->ks = ks;
  mts_conn_forget_audit_state (conn);
  sqlite3_result_int64 (ctx, mts_keystore_primary_id (ks));
}

/* What mts_clone_keystore(P) fills in: P is bound with sqlite3_bind_pointer
 * of type "MtsKeystoreClone" (see mts_sqlite_clone_keystore). */
typedef struct {
  MtsKeystore *clone;
  GError *error;
} CloneRequest;

/* mts_clone_keystore(P) */
static void
clone_keystore_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  CloneRequest *req = sqlite3_value_pointer (argv[0], "MtsKeystoreClone");

  if (req == NULL)
    {
      mts_result_errorf (ctx, "mts_clone_keystore: only programs linking MTS can call this");
      return;
    }
  if (conn->ks == NULL)
    g_set_error_literal (&req->error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOCKED,
                         "the keystore is locked; unlock it first");
  else
    req->clone = mts_keystore_clone (conn->ks, &req->error);
  sqlite3_result_int (ctx, req->clone != NULL);
}

/* mts_lock() */
static void
lock_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  gboolean was_unlocked = conn->ks != NULL;

  g_clear_pointer (&conn->ks, mts_keystore_free);
  mts_conn_forget_audit_state (conn);
  sqlite3_result_int (ctx, was_unlocked);
}

/* mts_keystore_passwd(PATH) */
static void
keystore_passwd_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *path;
  GError *error = NULL;
  char *old_pass = NULL, *new_pass = NULL;
  gsize old_len = 0, new_len = 0;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((path = mts_require_text (ctx, "mts_keystore_passwd", argv[0], "the path")) == NULL)
    return;
  old_pass = mts_passphrase_read ("MTS_PASSPHRASE", "Current passphrase: ", FALSE, &old_len, &error);
  if (old_pass != NULL)
    new_pass = mts_passphrase_read ("MTS_NEW_PASSPHRASE", "New passphrase: ", TRUE, &new_len, &error);
  if (new_pass != NULL
      && mts_keystore_passwd (path, old_pass, old_len, new_pass, new_len, &error))
    sqlite3_result_int (ctx, 1);
  else
    mts_result_gerror (ctx, "mts_keystore_passwd", error);
  mts_passphrase_free (old_pass);
  mts_passphrase_free (new_pass);
}

/* mts_encrypt(X, CONTEXT) */
static void
encrypt_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  const void *context, *value;
  int context_len;
  gsize value_len;
  MtsValueType type;
  guint8 number[8];
  guint8 *out;
  guint32 key_id;

  switch (sqlite3_value_type (argv[0]))
    {
    case SQLITE_NULL:
      return;
    case SQLITE_INTEGER:
      {
        guint64 v = GUINT64_TO_LE ((guint64) sqlite3_value_int64 (argv[0]));
        memcpy (number, &v, 8);
        type = MTS_VALUE_INTEGER;
        value = number;
        value_len = 8;
        break;
      }
    case SQLITE_FLOAT:
      {
        double d = sqlite3_value_double (argv[0]);
        guint64 v;
        memcpy (&v, &d, 8);
        v = GUINT64_TO_LE (v);
        memcpy (number, &v, 8);
        type = MTS_VALUE_REAL;
        value = number;
        value_len = 8;
        break;
      }
    case SQLITE_TEXT:
      value = sqlite3_value_text (argv[0]);
      value_len = (gsize) sqlite3_value_bytes (argv[0]);
      type = MTS_VALUE_TEXT;
      break;
    default:
      value = sqlite3_value_blob (argv[0]);
      value_len = (gsize) sqlite3_value_bytes (argv[0]);
      type = MTS_VALUE_BLOB;
      break;
    }
  if (value == NULL && value_len > 0)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  if ((context = mts_require_text (ctx, "mts_encrypt", argv[1], "the context")) == NULL)
    return;
  context_len = sqlite3_value_bytes (argv[1]);
  if ((ks = mts_require_unlocked (ctx, "mts_encrypt")) == NULL)
    return;
  mts_keystore_refresh (ks);

  out = sqlite3_malloc64 (mts_envelope_sealed_size (value_len));
  if (out == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  key_id = mts_keystore_primary_id (ks);
  mts_envelope_seal (out, key_id, mts_keystore_subkey (ks, key_id, MTS_PURPOSE_FIELD), type,
                     value, value_len, context, (gsize) context_len);
  sqlite3_result_blob64 (ctx, out, mts_envelope_sealed_size (value_len), sqlite3_free);
}

/* Opens the envelope in @v under @context for @fn.  On success returns a
 * sqlite3_malloc buffer holding the value and sets *@type, *@len and
 * *@key_id; on failure reports the error and returns NULL. */
static guint8 *
open_envelope (sqlite3_context *ctx, const char *fn, MtsKeystore *ks, sqlite3_value *v,
               const void *context, gsize context_len, MtsValueType *type, gsize *len,
               guint32 *key_id)
{
  const guint8 *data = sqlite3_value_blob (v);
  gsize data_len = (gsize) sqlite3_value_bytes (v);
  GError *error = NULL;
  const guint8 *key;
  MtsEnvelope env;
  guint8 *out;

  if (!mts_envelope_parse (data, data_len, &env, &error))
    {
      mts_result_gerror (ctx, fn, error);
      return NULL;
    }
  key = mts_keystore_subkey (ks, env.key_id, MTS_PURPOSE_FIELD);
  if (key == NULL)
    {
      /* Another connection or process may have rotated: look again once. */
      if (mts_keystore_reload (ks, NULL))
        key = mts_keystore_subkey (ks, env.key_id, MTS_PURPOSE_FIELD);
      if (key == NULL)
        {
          mts_result_errorf (ctx, "%s: envelope names key id %u, which this keystore does not hold",
                         fn, env.key_id);
          return NULL;
        }
    }
  *len = mts_envelope_value_size (&env);
  out = sqlite3_malloc64 (*len + 1);
  if (out == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return NULL;
    }
  if (!mts_envelope_open (&env, key, context, context_len, type, out, &error))
    {
      sqlite3_free (out);
      mts_result_gerror (ctx, fn, error);
      return NULL;
    }
  *key_id = env.key_id;
  return out;
}

static void
result_value (sqlite3_context *ctx, MtsValueType type, guint8 *value, gsize len)
{
  guint64 v;
  double d;

  switch (type)
    {
    case MTS_VALUE_TEXT:
      sqlite3_result_text64 (ctx, (const char *) value, len, sqlite3_free, SQLITE_UTF8);
      return;
    case MTS_VALUE_BLOB:
      sqlite3_result_blob64 (ctx, value, len, sqlite3_free);
      return;
    case MTS_VALUE_INTEGER:
      memcpy (&v, value, 8);
      sqlite3_result_int64 (ctx, (sqlite3_int64) GUINT64_FROM_LE (v));
      break;
    case MTS_VALUE_REAL:
    default:
      memcpy (&v, value, 8);
      v = GUINT64_FROM_LE (v);
      memcpy (&d, &v, 8);
      sqlite3_result_double (ctx, d);
      break;
    }
  sqlite3_free (value);
}

/* mts_decrypt(E, CONTEXT) */
static void
decrypt_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  const char *context;
  MtsValueType type;
  guint8 *value;
  gsize len;
  guint32 key_id;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((context = mts_require_text (ctx, "mts_decrypt", argv[1], "the context")) == NULL)
    return;
  if ((ks = mts_require_unlocked (ctx, "mts_decrypt")) == NULL)
    return;
  value = open_envelope (ctx, "mts_decrypt", ks, argv[0], context,
                         (gsize) sqlite3_value_bytes (argv[1]), &type, &len, &key_id);
  if (value != NULL)
    result_value (ctx, type, value, len);
}

/* mts_reencrypt(E, CONTEXT) */
static void
reencrypt_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  const char *context;
  gsize context_len;
  MtsValueType type;
  guint8 *value, *out;
  gsize len;
  guint32 key_id, primary;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((context = mts_require_text (ctx, "mts_reencrypt", argv[1], "the context")) == NULL)
    return;
  context_len = (gsize) sqlite3_value_bytes (argv[1]);
  if ((ks = mts_require_unlocked (ctx, "mts_reencrypt")) == NULL)
    return;
  mts_keystore_refresh (ks);
  value = open_envelope (ctx, "mts_reencrypt", ks, argv[0], context, context_len,
                         &type, &len, &key_id);
  if (value == NULL)
    return;
  primary = mts_keystore_primary_id (ks);
  if (key_id == primary)
    {
      sodium_memzero (value, len);
      sqlite3_free (value);
      sqlite3_result_value (ctx, argv[0]);
      return;
    }
  out = sqlite3_malloc64 (mts_envelope_sealed_size (len));
  if (out == NULL)
    {
      sodium_memzero (value, len);
      sqlite3_free (value);
      sqlite3_result_error_nomem (ctx);
      return;
    }
  mts_envelope_seal (out, primary, mts_keystore_subkey (ks, primary, MTS_PURPOSE_FIELD), type,
                     value, len, context, context_len);
  sodium_memzero (value, len);
  sqlite3_free (value);
  sqlite3_result_blob64 (ctx, out, mts_envelope_sealed_size (len), sqlite3_free);
}

/* mts_key_id(E) */
static void
key_id_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  GError *error = NULL;
  MtsEnvelope env;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if (!mts_envelope_parse (sqlite3_value_blob (argv[0]), (gsize) sqlite3_value_bytes (argv[0]),
                           &env, &error))
    mts_result_gerror (ctx, "mts_key_id", error);
  else
    sqlite3_result_int64 (ctx, env.key_id);
}

/* mts_blind_index(V, NAME [, KEY_ID]) */
static void
blind_index_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  const char *name, *value;
  const guint8 *key;
  guint8 out[MTS_BLIND_INDEX_BYTES];
  GError *error = NULL;
  guint32 key_id;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  value = (const char *) sqlite3_value_text (argv[0]);
  if (value == NULL)
    {
      sqlite3_result_error_nomem (ctx);
      return;
    }
  if ((name = mts_require_text (ctx, "mts_blind_index", argv[1], "the index name")) == NULL)
    return;
  if ((ks = mts_require_unlocked (ctx, "mts_blind_index")) == NULL)
    return;
  mts_keystore_refresh (ks);
  key_id = mts_keystore_primary_id (ks);
  if (argc > 2)
    {
      sqlite3_int64 wanted = sqlite3_value_int64 (argv[2]);
      if (sqlite3_value_type (argv[2]) != SQLITE_INTEGER || wanted <= 0 || wanted > G_MAXUINT32)
        {
          mts_result_errorf (ctx, "mts_blind_index: the key id must be a positive integer");
          return;
        }
      key_id = (guint32) wanted;
    }
  key = mts_keystore_subkey (ks, key_id, MTS_PURPOSE_BLIND_INDEX);
  if (key == NULL && mts_keystore_reload (ks, NULL))
    key = mts_keystore_subkey (ks, key_id, MTS_PURPOSE_BLIND_INDEX);
  if (key == NULL)
    {
      mts_result_errorf (ctx, "mts_blind_index: this keystore holds no key id %u", key_id);
      return;
    }
  if (!mts_blind_index_compute (key, key_id, name, value, (gsize) sqlite3_value_bytes (argv[0]),
                                out, &error))
    {
      mts_result_gerror (ctx, "mts_blind_index", error);
      return;
    }
  sqlite3_result_blob (ctx, out, sizeof out, SQLITE_TRANSIENT);
}

/* mts_key_rotate() */
static void
key_rotate_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  GError *error = NULL;
  guint32 id;

  if ((ks = mts_require_unlocked (ctx, "mts_key_rotate")) == NULL)
    return;
  id = mts_keystore_rotate (ks, &error);
  if (id == 0)
    mts_result_gerror (ctx, "mts_key_rotate", error);
  else
    sqlite3_result_int64 (ctx, id);
}

/* mts_key_ids() */
static void
key_ids_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsKeystore *ks;
  GString *json = g_string_new ("[");
  guint32 n = 0;
  const guint32 *ids;

  if ((ks = mts_require_unlocked (ctx, "mts_key_ids")) == NULL)
    {
      g_string_free (json, TRUE);
      return;
    }
  mts_keystore_refresh (ks);
  ids = mts_keystore_key_ids (ks, &n);
  for (guint32 i = 0; i < n; i++)
    g_string_append_printf (json, "%s%u", i ? "," : "", ids[i]);
  g_string_append_c (json, ']');
  sqlite3_result_text (ctx, json->str, (int) json->len, SQLITE_TRANSIENT);
  g_string_free (json, TRUE);
}

/* mts_keylog_verify(PATH) */
static void
keylog_verify_func (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  MtsConn *conn = sqlite3_user_data (ctx);
  const guint8 *mac_key = NULL;
  const char *path;
  GError *error = NULL;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    return;
  if ((path = mts_require_text (ctx, "mts_keylog_verify", argv[0], "the path")) == NULL)
    return;
  if (conn->ks != NULL)
    {
      g_autofree char *a = g_canonicalize_filename (path, NULL);
      g_autofree char *b = g_canonicalize_filename (mts_keystore_get_path (conn->ks), NULL);
      if (strcmp (a, b) == 0)
        mac_key = mts_keystore_log_key (conn->ks);
    }
  if (!mts_keylog_verify (path, mac_key, NULL, &error))
    mts_result_gerror (ctx, "mts_keylog_verify", error);
  else if (mac_key != NULL)
    sqlite3_result_text (ctx, "ok", -1, SQLITE_STATIC);
  else
    sqlite3_result_text (ctx, "ok (hash chain only: unlock this keystore to check its MACs)", -1,
                         SQLITE_STATIC);
}

int sqlite3_mts_init (sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi)
  __attribute__ ((visibility ("default")));

int
sqlite3_mts_init (sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi)
{
  static const struct {
    const char *name;
    int n_arg;
    int flags;
    void (*func) (sqlite3_context *, int, sqlite3_value **);
  } functions[] = {
    { "mts_keystore_create", 1, SQLITE_DIRECTONLY, keystore_create_func },
    { "mts_keystore_create", 2, SQLITE_DIRECTONLY, keystore_create_func },
    { "mts_unlock", 1, SQLITE_DIRECTONLY, unlock_func },
    { "mts_lock", 0, SQLITE_DIRECTONLY, lock_func },
    { "mts_set_keystore", 1, SQLITE_DIRECTONLY, set_keystore_func },
    { "mts_clone_keystore", 1, SQLITE_DIRECTONLY, clone_keystore_func },
    { "mts_keystore_passwd", 1, SQLITE_DIRECTONLY, keystore_passwd_func },
    { "mts_encrypt", 2, SQLITE_DIRECTONLY, encrypt_func },
    { "mts_decrypt", 2, SQLITE_DIRECTONLY, decrypt_func },
    { "mts_reencrypt", 2, SQLITE_DIRECTONLY, reencrypt_func },
    { "mts_key_id", 1, SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, key_id_func },
    { "mts_blind_index", 2, SQLITE_DIRECTONLY, blind_index_func },
    { "mts_blind_index", 3, SQLITE_DIRECTONLY, blind_index_func },
    { "mts_key_rotate", 0, SQLITE_DIRECTONLY, key_rotate_func },
    { "mts_key_ids", 0, SQLITE_DIRECTONLY, key_ids_func },
    { "mts_keylog_verify", 1, SQLITE_DIRECTONLY, keylog_verify_func },
  };
  GError *error = NULL;
  MtsConn *conn;
  int rc = SQLITE_OK;

  SQLITE_EXTENSION_INIT2 (pApi);

  if (!mts_core_init (&error))
    {
      *pzErrMsg = sqlite3_mprintf ("mts: %s", error->message);
      g_error_free (error);
      return SQLITE_ERROR;
    }
  conn = g_new0 (MtsConn, 1);
  conn->refs = 1;   /* held by this function until registration ends */
  for (gsize i = 0; rc == SQLITE_OK && i < G_N_ELEMENTS (functions); i++)
    {
      conn->refs++;
      rc = sqlite3_create_function_v2 (db, functions[i].name, functions[i].n_arg,
                                       SQLITE_UTF8 | functions[i].flags, conn,
                                       functions[i].func, NULL, NULL, mts_conn_unref);
      /* On failure SQLite has already called conn_unref for this one. */
    }
  if (rc == SQLITE_OK)
    rc = mts_audit_register (db, conn);
  if (rc != SQLITE_OK)
    *pzErrMsg = sqlite3_mprintf ("mts: cannot register SQL functions: %s", sqlite3_errmsg (db));
  mts_conn_unref (conn);
  return rc;
}

#ifdef SQLITE_CORE
/* Linked in (mts-sqlite.h), rather than loaded. */
#include "mts-sqlite.h"

int
mts_sqlite_register (sqlite3 *db, char **errmsg)
{
  return sqlite3_mts_init (db, errmsg, NULL);
}

gboolean
mts_sqlite_set_keystore (sqlite3 *db, MtsKeystore *ks, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT mts_set_keystore(?1)", -1, &st, NULL) == SQLITE_OK
      && sqlite3_bind_pointer (st, 1, ks, "MtsKeystore", NULL) == SQLITE_OK)
    ok = sqlite3_step (st) == SQLITE_ROW;
  if (!ok)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "cannot hand the keystore to the database connection: %s",
                   sqlite3_errmsg (db));
      mts_keystore_free (ks);
    }
  sqlite3_finalize (st);
  return ok;
}

MtsKeystore *
mts_sqlite_clone_keystore (sqlite3 *db, GError **error)
{
  CloneRequest req = { NULL, NULL };
  sqlite3_stmt *st = NULL;
  gboolean ran = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT mts_clone_keystore(?1)", -1, &st, NULL) == SQLITE_OK
      && sqlite3_bind_pointer (st, 1, &req, "MtsKeystoreClone", NULL) == SQLITE_OK)
    ran = sqlite3_step (st) == SQLITE_ROW;
  if (!ran && req.error == NULL)
    g_set_error (&req.error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                 "cannot clone the database connection's keystore: %s", sqlite3_errmsg (db));
  sqlite3_finalize (st);
  if (req.error != NULL)
    {
      g_clear_pointer (&req.clone, mts_keystore_free);
      g_propagate_error (error, req.error);
      return NULL;
    }
  return req.clone;
}
#endif
