/* mts-keystore.c — the keystore file, its keyset and the subkeys (see mts-keystore.h). */
#define G_LOG_DOMAIN "mts-core"

#include "mts-keystore.h"
#include "mts-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "MTSKEYST"
#define MAGIC_BYTES 8
#define KDF_ARGON2ID13 2
#define SALT_BYTES 16
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define CHECKSUM_BYTES 32
#define RECORD_BYTES (4 + 4 + 8 + MTS_KEY_BYTES)

/* Offsets in the file; see the table in mts-keystore.h. */
enum {
  OFF_VERSION = 8,
  OFF_KDF = 9,
  OFF_RESERVED = 10,
  OFF_OPS = 12,
  OFF_MEM = 20,
  OFF_SALT = 28,
  OFF_ID = 44,
  OFF_MASTER_NONCE = 60,
  OFF_MASTER = 84,
  OFF_KEYSET_NONCE = 132,
  OFF_KEYSET_LEN = 156,
  OFF_KEYSET = 160,
};
#define MIN_FILE_BYTES (OFF_KEYSET + 8 + RECORD_BYTES + TAG_BYTES + CHECKSUM_BYTES)
/* Bounds on parameters read from a file, so a crafted file cannot make
 * unlock take hours or all memory. */
#define MAX_OPSLIMIT 64
#define MAX_MEMLIMIT (4ULL << 30)

G_STATIC_ASSERT (crypto_pwhash_SALTBYTES == SALT_BYTES);
G_STATIC_ASSERT (OFF_MASTER + MTS_KEY_BYTES + TAG_BYTES == OFF_KEYSET_NONCE);

/* One key of the keyset with its derived subkeys, in sodium_malloc memory. */
typedef struct {
  guint32 id;
  guint64 created;
  guint8 key[MTS_KEY_BYTES];
  guint8 sub[3][MTS_KEY_BYTES];   /* indexed by MtsKeyPurpose */
} KeySlot;

struct _MtsKeystore {
  char *path;
  guint8 keystore_id[MTS_KEYSTORE_ID_BYTES];
  guint32 primary_id;
  KeySlot *primary;        /* points into slots */
  guint n_slots;
  KeySlot *slots;          /* sodium_malloc */
  guint8 *master;          /* sodium_malloc: master key, then the log MAC key */
  guint32 *ids;            /* the key ids, for mts_keystore_key_ids */
  gboolean clone;          /* made by mts_keystore_clone: frees without a "lock" */
  /* What the file looked like when last read, and when that was checked,
   * so another process's rotation is noticed (mts_keystore_refresh). */
  dev_t file_dev;
  ino_t file_ino;
  off_t file_size;
  struct timespec file_mtime;
  gint64 checked_at;
};

/* crypto_kdf contexts: exactly 8 bytes each. */
static const char *const purpose_context[] = {
  [MTS_PURPOSE_FIELD] = "mtsfield",
  [MTS_PURPOSE_BLIND_INDEX] = "mtsblind",
  [MTS_PURPOSE_AUDIT] = "mtsaudit",
};
#define LOG_CONTEXT "mtskylog"

/* ---- little-endian helpers ---- */

static guint32
get_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
get_u64 (const guint8 *p)
{
  return (guint64) get_u32 (p) | ((guint64) get_u32 (p + 4) << 32);
}

static void
put_u32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
  p[2] = (guint8) (v >> 16);
  p[3] = (guint8) (v >> 24);
}

static void
put_u64 (guint8 *p, guint64 v)
{
  put_u32 (p, (guint32) v);
  put_u32 (p + 4, (guint32) (v >> 32));
}

/* ---- KDF levels ---- */

void
mts_kdf_level_params (MtsKdfLevel level, guint64 *opslimit, guint64 *memlimit)
{
  switch (level)
    {
    case MTS_KDF_TEST:
      *opslimit = crypto_pwhash_OPSLIMIT_MIN;
      *memlimit = crypto_pwhash_MEMLIMIT_MIN;
      break;
    case MTS_KDF_INTERACTIVE:
      *opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      *memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      break;
    case MTS_KDF_SENSITIVE:
      *opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
      *memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
      break;
    case MTS_KDF_MODERATE:
    default:
      *opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
      *memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    }
}

gboolean
mts_kdf_level_from_string (const char *name, MtsKdfLevel *level)
{
  static const struct { const char *name; MtsKdfLevel level; } levels[] = {
    { "test", MTS_KDF_TEST },
    { "interactive", MTS_KDF_INTERACTIVE },
    { "moderate", MTS_KDF_MODERATE },
    { "sensitive", MTS_KDF_SENSITIVE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (name, levels[i].name) == 0)
      {
        *level = levels[i].level;
        return TRUE;
      }
  return FALSE;
}

/* ---- parsing ---- */

static gboolean
damaged (GError **error, const char *why)
{
  g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_DAMAGED, "keystore is damaged: %s", why);
  return FALSE;
}

gboolean
mts_keystore_parse (const guint8 *data, gsize len, MtsKeystoreFile *out, GError **error)
{
  guint8 sum[CHECKSUM_BYTES];
  guint32 keyset_len;

  if (len < OFF_VERSION + 1 || memcmp (data, MAGIC, MAGIC_BYTES) != 0)
    return damaged (error, "not an MTS keystore file");
  if (data[OFF_VERSION] > MTS_KEYSTORE_VERSION)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NEWER_VERSION,
                   "keystore version %u is newer than this build (it reads version %d)",
                   data[OFF_VERSION], MTS_KEYSTORE_VERSION);
      return FALSE;
    }
  if (data[OFF_VERSION] == 0)
    return damaged (error, "version 0 was never written");
  if (len < MIN_FILE_BYTES)
    return damaged (error, "file is truncated");
  keyset_len = get_u32 (data + OFF_KEYSET_LEN);
  if ((gsize) keyset_len + OFF_KEYSET + CHECKSUM_BYTES != len)
    return damaged (error, len < (gsize) keyset_len + OFF_KEYSET + CHECKSUM_BYTES
                             ? "file is truncated" : "file has a wrong length");
  crypto_generichash (sum, sizeof sum, data, len - CHECKSUM_BYTES, NULL, 0);
  if (sodium_memcmp (sum, data + len - CHECKSUM_BYTES, CHECKSUM_BYTES) != 0)
    return damaged (error, "checksum does not match (a byte was changed)");
  if (data[OFF_KDF] != KDF_ARGON2ID13)
    return damaged (error, "unknown key-derivation algorithm");
  if (data[OFF_RESERVED] != 0 || data[OFF_RESERVED + 1] != 0)
    return damaged (error, "reserved bytes are not zero");

  out->version = data[OFF_VERSION];
  out->kdf_algorithm = data[OFF_KDF];
  out->opslimit = get_u64 (data + OFF_OPS);
  out->memlimit = get_u64 (data + OFF_MEM);
  if (out->opslimit < crypto_pwhash_OPSLIMIT_MIN || out->opslimit > MAX_OPSLIMIT
      || out->memlimit < crypto_pwhash_MEMLIMIT_MIN || out->memlimit > MAX_MEMLIMIT)
    return damaged (error, "key-derivation parameters are out of range");
  if (keyset_len < 8 + RECORD_BYTES + TAG_BYTES
      || (keyset_len - 8 - TAG_BYTES) % RECORD_BYTES != 0)
    return damaged (error, "keyset has an impossible length");
  out->salt = data + OFF_SALT;
  out->keystore_id = data + OFF_ID;
  out->master_nonce = data + OFF_MASTER_NONCE;
  out->master_wrapped = data + OFF_MASTER;
  out->keyset_nonce = data + OFF_KEYSET_NONCE;
  out->keyset_len = keyset_len;
  out->keyset = data + OFF_KEYSET;
  out->data = data;
  out->len = len;
  return TRUE;
}

gboolean
mts_keyset_decode (const guint8 *data, gsize len, guint32 *primary_id, guint32 *n_keys,
                   MtsKeysetFunc each, gpointer user_data, GError **error)
{
  guint32 primary, count;
  gboolean primary_seen = FALSE;

  if (len < 8)
    return damaged (error, "keyset is truncated");
  primary = get_u32 (data);
  count = get_u32 (data + 4);
  if (count == 0 || count > MTS_KEYSTORE_MAX_KEYS || len != 8 + (gsize) count * RECORD_BYTES)
    return damaged (error, "keyset has a wrong key count");
  for (guint32 i = 0; i < count; i++)
    {
      const guint8 *rec = data + 8 + (gsize) i * RECORD_BYTES;
      guint32 id = get_u32 (rec);

      if (id == 0 || get_u32 (rec + 4) != 0)
        return damaged (error, "keyset holds an invalid key record");
      /* Ids are written in increasing order: that makes them unique. */
      if (i > 0 && id <= get_u32 (rec - RECORD_BYTES))
        return damaged (error, "keyset key ids are not in order");
      if (id == primary)
        primary_seen = TRUE;
    }
  if (!primary_seen)
    return damaged (error, "keyset's primary key is missing");
  for (guint32 i = 0; i < count && each != NULL; i++)
    {
      const guint8 *rec = data + 8 + (gsize) i * RECORD_BYTES;
      each (get_u32 (rec), get_u64 (rec + 8), rec + 16, user_data);
    }
  *primary_id = primary;
  *n_keys = count;
  return TRUE;
}

/* ---- files ---- */

static gboolean
read_file (const char *path, guint8 **data, gsize *len, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, (char **) data, len, &local))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot read keystore %s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* Takes an exclusive lock on "<path>.lock" so that creation, rotation and
 * passphrase changes by several processes do not overwrite one another.
 * Returns the lock's fd, or -1. */
static int
lock_path (const char *path, GError **error)
{
  g_autofree char *lock = g_strconcat (path, ".lock", NULL);
  int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0 || flock (fd, LOCK_EX) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot lock keystore %s: %s", path, g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return fd;
}

/* Writes @data to @path atomically (temp file, fsync, rename) with mode
 * 0600, then syncs the directory so the rename itself is durable. */
static gboolean
write_atomically (const char *path, const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  int dfd;

  if (!g_file_set_contents_full (path, (const char *) data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot write keystore %s: %s", path, local->message);
      return FALSE;
    }
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return TRUE;
}

static void
seal_checksum (guint8 *data, gsize len)
{
  crypto_generichash (data + len - CHECKSUM_BYTES, CHECKSUM_BYTES, data, len - CHECKSUM_BYTES,
                      NULL, 0);
}

static void
keyset_ad (const guint8 *file, guint8 ad[12 + MTS_KEYSTORE_ID_BYTES + 4])
{
  memcpy (ad, file, 12);
  memcpy (ad + 12, file + OFF_ID, MTS_KEYSTORE_ID_BYTES);
  memcpy (ad + 12 + MTS_KEYSTORE_ID_BYTES, file + OFF_KEYSET_LEN, 4);
}

/* Seals @plain (a keyset) into @file, whose header must be filled in; the
 * file must be sized for it. */
static void
seal_keyset (guint8 *file, const guint8 *plain, gsize plain_len, const guint8 *master)
{
  guint8 ad[12 + MTS_KEYSTORE_ID_BYTES + 4];

  put_u32 (file + OFF_KEYSET_LEN, (guint32) (plain_len + TAG_BYTES));
  randombytes_buf (file + OFF_KEYSET_NONCE, NONCE_BYTES);
  keyset_ad (file, ad);
  crypto_aead_xchacha20poly1305_ietf_encrypt (file + OFF_KEYSET, NULL, plain, plain_len,
                                              ad, sizeof ad, NULL, file + OFF_KEYSET_NONCE,
                                              master);
}

/* Wraps @master under the key derived from @passphrase into @file (header
 * fields through the keystore id must be filled in). */
static gboolean
wrap_master (guint8 *file, const guint8 *master, const char *passphrase, gsize passphrase_len,
             GError **error)
{
  guint8 *kek = sodium_malloc (MTS_KEY_BYTES);

  if (kek == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return FALSE;
    }
  if (crypto_pwhash (kek, MTS_KEY_BYTES, passphrase, passphrase_len, file + OFF_SALT,
                     get_u64 (file + OFF_OPS), (size_t) get_u64 (file + OFF_MEM),
                     crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (kek);
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                           "key derivation ran out of memory");
      return FALSE;
    }
  randombytes_buf (file + OFF_MASTER_NONCE, NONCE_BYTES);
  crypto_aead_xchacha20poly1305_ietf_encrypt (file + OFF_MASTER, NULL, master, MTS_KEY_BYTES,
                                              file, OFF_MASTER_NONCE, NULL,
                                              file + OFF_MASTER_NONCE, kek);
  sodium_free (kek);
  return TRUE;
}

/* Unwraps the master key of a parsed file into @master.  Distinguishes a
 * wrong passphrase (the checksum already vouched for the bytes). */
static gboolean
unwrap_master (const MtsKeystoreFile *f, guint8 *master, const char *passphrase,
               gsize passphrase_len, GError **error)
{
  guint8 *kek = sodium_malloc (MTS_KEY_BYTES);
  int rc;

  if (kek == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return FALSE;
    }
  if (crypto_pwhash (kek, MTS_KEY_BYTES, passphrase, passphrase_len, f->salt,
                     f->opslimit, (size_t) f->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (kek);
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                           "key derivation ran out of memory");
      return FALSE;
    }
  rc = crypto_aead_xchacha20poly1305_ietf_decrypt (master, NULL, NULL, f->master_wrapped,
                                                   MTS_KEY_BYTES + TAG_BYTES, f->data,
                                                   OFF_MASTER_NONCE, f->master_nonce, kek);
  sodium_free (kek);
  if (rc != 0)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE,
                           "wrong passphrase");
      return FALSE;
    }
  return TRUE;
}

/* ---- the keyset in memory ---- */

typedef struct {
  KeySlot *slots;
  guint n;
} FillSlots;

static void
fill_slot_cb (guint32 key_id, guint64 created, const guint8 *key, gpointer user_data)
{
  FillSlots *fill = user_data;
  KeySlot *slot = &fill->slots[fill->n++];

  slot->id = key_id;
  slot->created = created;
  memcpy (slot->key, key, MTS_KEY_BYTES);
  for (int p = MTS_PURPOSE_FIELD; p <= MTS_PURPOSE_AUDIT; p++)
    crypto_kdf_derive_from_key (slot->sub[p], MTS_KEY_BYTES, 1, purpose_context[p], key);
}

/* Decrypts the keyset of @f with @ks->master and installs it in @ks. */
static gboolean
load_keyset (MtsKeystore *ks, const MtsKeystoreFile *f, GError **error)
{
  guint8 ad[12 + MTS_KEYSTORE_ID_BYTES + 4];
  gsize plain_len = f->keyset_len - TAG_BYTES;
  guint8 *plain = sodium_malloc (plain_len);
  guint32 primary = 0, count = 0;
  FillSlots fill = { NULL, 0 };
  gboolean ok = FALSE;

  if (plain == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return FALSE;
    }
  keyset_ad (f->data, ad);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt (plain, NULL, NULL, f->keyset, f->keyset_len,
                                                  ad, sizeof ad, f->keyset_nonce,
                                                  ks->master) != 0)
    {
      damaged (error, "keyset does not authenticate under the master key");
      goto out;
    }
  if (!mts_keyset_decode (plain, plain_len, &primary, &count, NULL, NULL, error))
    goto out;
  fill.slots = sodium_allocarray (count, sizeof (KeySlot));
  if (fill.slots == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }
  mts_keyset_decode (plain, plain_len, &primary, &count, fill_slot_cb, &fill, NULL);

  if (ks->slots != NULL)
    sodium_free (ks->slots);
  ks->slots = fill.slots;
  ks->n_slots = count;
  ks->primary_id = primary;
  ks->primary = NULL;
  g_free (ks->ids);
  ks->ids = g_new (guint32, count);
  for (guint i = 0; i < count; i++)
    {
      ks->ids[i] = ks->slots[i].id;
      if (ks->slots[i].id == primary)
        ks->primary = &ks->slots[i];
    }
  memcpy (ks->keystore_id, f->keystore_id, MTS_KEYSTORE_ID_BYTES);
  ok = TRUE;
out:
  sodium_free (plain);
  return ok;
}

/* Serialises the keyset in @ks plus one new key (when @extra is non-NULL)
 * into sodium memory.  Returns its length in *@len. */
static guint8 *
encode_keyset (MtsKeystore *ks, const KeySlot *extra, guint32 primary, gsize *len)
{
  guint n = ks->n_slots + (extra ? 1 : 0);
  guint8 *plain;

  *len = 8 + (gsize) n * RECORD_BYTES;
  plain = sodium_malloc (*len);
  if (plain == NULL)
    return NULL;
  put_u32 (plain, primary);
  put_u32 (plain + 4, n);
  for (guint i = 0; i < n; i++)
    {
      const KeySlot *s = i < ks->n_slots ? &ks->slots[i] : extra;
      guint8 *rec = plain + 8 + (gsize) i * RECORD_BYTES;

      put_u32 (rec, s->id);
      put_u32 (rec + 4, 0);
      put_u64 (rec + 8, s->created);
      memcpy (rec + 16, s->key, MTS_KEY_BYTES);
    }
  return plain;
}

static MtsKeystore *
keystore_new (const char *path)
{
  MtsKeystore *ks = g_new0 (MtsKeystore, 1);

  ks->path = g_strdup (path);
  ks->master = sodium_malloc (MTS_KEY_BYTES + MTS_KEYLOG_MAC_KEY_BYTES);
  if (ks->master == NULL)
    {
      g_free (ks->path);
      g_free (ks);
      return NULL;
    }
  return ks;
}

static void
derive_log_key (MtsKeystore *ks)
{
  crypto_kdf_derive_from_key (ks->master + MTS_KEY_BYTES, MTS_KEYLOG_MAC_KEY_BYTES, 1,
                              LOG_CONTEXT, ks->master);
}

static char *
log_detail (void)
{
  return g_strdup_printf ("pid=%d uid=%u", (int) getpid (), (unsigned) getuid ());
}

/* Microseconds on the coarse monotonic clock: a few nanoseconds to read,
 * against tens for the precise one, and mts_encrypt asks on every call. */
static gint64
coarse_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC_COARSE, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Records the keystore file's identity, to notice when it changes. */
static void
remember_file (MtsKeystore *ks)
{
  struct stat st;

  ks->checked_at = coarse_now ();
  if (stat (ks->path, &st) != 0)
    return;
  ks->file_dev = st.st_dev;
  ks->file_ino = st.st_ino;
  ks->file_size = st.st_size;
  ks->file_mtime = st.st_mtim;
}

/* Frees @ks without logging (for paths that never unlocked). */
static void
keystore_discard (MtsKeystore *ks)
{
  if (ks == NULL)
    return;
  if (ks->slots)
    sodium_free (ks->slots);
  sodium_free (ks->master);
  g_free (ks->ids);
  g_free (ks->path);
  g_free (ks);
}

/* Characters in a passphrase: UTF-8 characters when it is valid UTF-8, else bytes. */
static gsize
passphrase_chars (const char *p, gsize len)
{
  return g_utf8_validate_len (p, len, NULL) ? (gsize) g_utf8_strlen (p, (gssize) len) : len;
}

/* ---- public API ---- */

gboolean
mts_keystore_create (const char *path, const char *passphrase, gsize passphrase_len,
                     MtsKdfLevel level, GError **error)
{
  g_autofree char *detail = NULL;
  MtsKeystore *ks = NULL;
  KeySlot *first = NULL;
  guint8 *plain = NULL;
  guint8 *file = NULL;
  gsize plain_len = 0, file_len;
  guint64 ops, mem;
  gboolean ok = FALSE;
  int lock_fd;

  if (!mts_core_init (error))
    return FALSE;
  if (passphrase_chars (passphrase, passphrase_len) < MTS_KEYSTORE_MIN_PASSPHRASE)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE,
                   "passphrase is too short (at least %d characters)", MTS_KEYSTORE_MIN_PASSPHRASE);
      return FALSE;
    }
  lock_fd = lock_path (path, error);
  if (lock_fd < 0)
    return FALSE;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_EXISTS,
                   "%s already exists; refusing to replace a keystore", path);
      goto out;
    }

  ks = keystore_new (path);
  first = sodium_malloc (sizeof (KeySlot));
  if (ks == NULL || first == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }
  crypto_kdf_keygen (ks->master);
  derive_log_key (ks);
  first->id = 1;
  first->created = (guint64) g_get_real_time () / G_USEC_PER_SEC;
  crypto_aead_xchacha20poly1305_ietf_keygen (first->key);
  plain = encode_keyset (ks, first, 1, &plain_len);
  if (plain == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }

  file_len = OFF_KEYSET + plain_len + TAG_BYTES + CHECKSUM_BYTES;
  file = g_malloc0 (file_len);
  memcpy (file, MAGIC, MAGIC_BYTES);
  file[OFF_VERSION] = MTS_KEYSTORE_VERSION;
  file[OFF_KDF] = KDF_ARGON2ID13;
  mts_kdf_level_params (level, &ops, &mem);
  put_u64 (file + OFF_OPS, ops);
  put_u64 (file + OFF_MEM, mem);
  randombytes_buf (file + OFF_SALT, SALT_BYTES);
  randombytes_buf (file + OFF_ID, MTS_KEYSTORE_ID_BYTES);
  if (!wrap_master (file, ks->master, passphrase, passphrase_len, error))
    goto out;
  seal_keyset (file, plain, plain_len, ks->master);
  seal_checksum (file, file_len);

  /* Log first: a keystore must never exist without its "create" entry.
   * A stale log from an earlier keystore at this path is moved aside. */
  {
    g_autofree char *log = mts_keylog_path (path);
    if (g_file_test (log, G_FILE_TEST_EXISTS))
      {
        g_autofree char *aside = g_strdup_printf ("%s.%" G_GINT64_FORMAT, log, g_get_real_time ());
        if (rename (log, aside) != 0)
          {
            g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                         "cannot move the old key-access log %s aside: %s", log, g_strerror (errno));
            goto out;
          }
      }
  }
  detail = log_detail ();
  if (!mts_keylog_append (path, MTS_KEYLOG_CREATE, 1, detail, ks->master + MTS_KEY_BYTES, error))
    goto out;
  ok = write_atomically (path, file, file_len, error);
out:
  if (plain)
    sodium_free (plain);
  if (first)
    sodium_free (first);
  g_free (file);
  keystore_discard (ks);
  close (lock_fd);
  return ok;
}

MtsKeystore *
mts_keystore_unlock (const char *path, const char *passphrase, gsize passphrase_len,
                     GError **error)
{
  g_autofree guint8 *data = NULL;
  g_autofree char *detail = NULL;
  MtsKeystoreFile f;
  MtsKeystore *ks;
  GError *local = NULL;
  gsize len = 0;

  if (!mts_core_init (error))
    return NULL;
  if (!read_file (path, &data, &len, error))
    return NULL;
  if (!mts_keystore_parse (data, len, &f, &local))
    {
      /* A damaged keystore is worth a log entry; a file that is not a
       * keystore at all (the database, by mistake) gets no log beside it. */
      if (len >= MAGIC_BYTES && memcmp (data, MAGIC, MAGIC_BYTES) == 0)
        {
          g_autoptr (GError) log_error = NULL;
          g_autofree char *why = g_strdup_printf ("pid=%d damaged", (int) getpid ());
          if (!mts_keylog_append (path, MTS_KEYLOG_UNLOCK_FAILED, 0, why, NULL, &log_error))
            g_debug ("%s", log_error->message);
        }
      g_propagate_error (error, local);
      return NULL;
    }
  ks = keystore_new (path);
  if (ks == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return NULL;
    }
  detail = log_detail ();
  if (!unwrap_master (&f, ks->master, passphrase, passphrase_len, &local))
    {
      if (g_error_matches (local, MTS_CORE_ERROR, MTS_CORE_ERROR_WRONG_PASSPHRASE))
        {
          /* Best effort: a failed unlock must still fail if the log is unwritable. */
          g_autoptr (GError) log_error = NULL;
          if (!mts_keylog_append (path, MTS_KEYLOG_UNLOCK_FAILED, 0, detail, NULL, &log_error))
            g_warning ("%s", log_error->message);
        }
      g_propagate_error (error, local);
      keystore_discard (ks);
      return NULL;
    }
  derive_log_key (ks);
  if (!load_keyset (ks, &f, error)
      || !mts_keylog_append (path, MTS_KEYLOG_UNLOCK, ks->primary_id, detail,
                             ks->master + MTS_KEY_BYTES, error))
    {
      keystore_discard (ks);
      return NULL;
    }
  remember_file (ks);
  return ks;
}

/* Reads and parses the file at @ks->path, checking it is the same keystore. */
static gboolean
read_same_keystore (MtsKeystore *ks, guint8 **data, MtsKeystoreFile *f, GError **error)
{
  gsize len = 0;

  if (!read_file (ks->path, data, &len, error) || !mts_keystore_parse (*data, len, f, error))
    return FALSE;
  if (sodium_memcmp (f->keystore_id, ks->keystore_id, MTS_KEYSTORE_ID_BYTES) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "%s now holds a different keystore than the one unlocked; unlock it again",
                   ks->path);
      return FALSE;
    }
  return TRUE;
}

void
mts_keystore_free (MtsKeystore *ks)
{
  g_autoptr (GError) error = NULL;

  if (ks == NULL)
    return;
  if (ks->n_slots > 0 && !ks->clone)
    {
      g_autofree char *detail = log_detail ();
      g_autofree guint8 *data = NULL;
      MtsKeystoreFile f;

      /* Log the lock beside this keystore only: if the file now holds
       * another keystore, its log is not ours to write in. */
      if (!read_same_keystore (ks, &data, &f, &error))
        g_warning ("not logging the lock of %s: %s", ks->path, error->message);
      else if (!mts_keylog_append (ks->path, MTS_KEYLOG_LOCK, ks->primary_id, detail,
                                   ks->master + MTS_KEY_BYTES, &error))
        g_warning ("%s", error->message);
    }
  keystore_discard (ks);
}

MtsKeystore *
mts_keystore_clone (MtsKeystore *ks, GError **error)
{
  MtsKeystore *copy;

  g_return_val_if_fail (ks != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  copy = keystore_new (ks->path);
  if (copy == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return NULL;
    }
  copy->clone = TRUE;
  /* The master key and the log key derived from it (one sodium block), and
   * the id that mts_keystore_reload() checks the file against. */
  memcpy (copy->master, ks->master, MTS_KEY_BYTES + MTS_KEYLOG_MAC_KEY_BYTES);
  memcpy (copy->keystore_id, ks->keystore_id, MTS_KEYSTORE_ID_BYTES);
  if (!mts_keystore_reload (copy, error))
    {
      keystore_discard (copy);
      return NULL;
    }
  return copy;
}

void
mts_keystore_forget (MtsKeystore *ks)
{
  keystore_discard (ks);
}

gboolean
mts_keystore_refresh (MtsKeystore *ks)
{
  gint64 now = coarse_now ();
  struct stat st;

  if (now - ks->checked_at < G_USEC_PER_SEC)
    return FALSE;
  ks->checked_at = now;
  if (stat (ks->path, &st) != 0
      || (st.st_dev == ks->file_dev && st.st_ino == ks->file_ino && st.st_size == ks->file_size
          && st.st_mtim.tv_sec == ks->file_mtime.tv_sec
          && st.st_mtim.tv_nsec == ks->file_mtime.tv_nsec))
    return FALSE;
  if (!mts_keystore_reload (ks, NULL))
    return FALSE;
  return TRUE;
}

const char *
mts_keystore_get_path (MtsKeystore *ks)
{
  return ks->path;
}

const guint32 *
mts_keystore_key_ids (MtsKeystore *ks, guint32 *n)
{
  *n = ks->n_slots;
  return ks->ids;
}

guint32
mts_keystore_primary_id (MtsKeystore *ks)
{
  return ks->primary_id;
}

const guint8 *
mts_keystore_subkey (MtsKeystore *ks, guint32 key_id, MtsKeyPurpose purpose)
{
  g_return_val_if_fail (purpose <= MTS_PURPOSE_AUDIT, NULL);

  if (G_LIKELY (ks->primary != NULL && key_id == ks->primary_id))
    return ks->primary->sub[purpose];
  for (guint i = 0; i < ks->n_slots; i++)
    if (ks->slots[i].id == key_id)
      return ks->slots[i].sub[purpose];
  return NULL;
}

const guint8 *
mts_keystore_log_key (MtsKeystore *ks)
{
  return ks->master + MTS_KEY_BYTES;
}

gboolean
mts_keystore_reload (MtsKeystore *ks, GError **error)
{
  g_autofree guint8 *data = NULL;
  MtsKeystoreFile f;

  if (!read_same_keystore (ks, &data, &f, error) || !load_keyset (ks, &f, error))
    return FALSE;
  remember_file (ks);
  return TRUE;
}

guint32
mts_keystore_rotate (MtsKeystore *ks, GError **error)
{
  g_autofree guint8 *data = NULL;
  g_autofree guint8 *file = NULL;
  g_autofree char *detail = NULL;
  MtsKeystoreFile f;
  KeySlot *next = NULL;
  guint8 *plain = NULL;
  gsize plain_len = 0, file_len;
  guint32 new_id = 0;
  int lock_fd;

  lock_fd = lock_path (ks->path, error);
  if (lock_fd < 0)
    return 0;
  /* Start from the file, not memory: another process may have rotated. */
  if (!read_same_keystore (ks, &data, &f, error) || !load_keyset (ks, &f, error))
    goto out;
  if (ks->n_slots >= MTS_KEYSTORE_MAX_KEYS)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                   "keyset already holds %d keys; re-encrypt and retire old keys first",
                   MTS_KEYSTORE_MAX_KEYS);
      goto out;
    }
  next = sodium_malloc (sizeof (KeySlot));
  if (next == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }
  if (ks->slots[ks->n_slots - 1].id == G_MAXUINT32)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID,
                           "the keyset has used up its key ids");
      goto out;
    }
  next->id = ks->slots[ks->n_slots - 1].id + 1;
  next->created = (guint64) g_get_real_time () / G_USEC_PER_SEC;
  crypto_aead_xchacha20poly1305_ietf_keygen (next->key);
  plain = encode_keyset (ks, next, next->id, &plain_len);
  if (plain == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }
  file_len = OFF_KEYSET + plain_len + TAG_BYTES + CHECKSUM_BYTES;
  file = g_malloc0 (file_len);
  memcpy (file, data, OFF_KEYSET);   /* header and wrapped master key unchanged */
  seal_keyset (file, plain, plain_len, ks->master);
  seal_checksum (file, file_len);
  /* Log first: a rotation must never happen without its entry.  If the
   * write then fails, the log holds an attempt, which is the safe side. */
  detail = log_detail ();
  if (!mts_keylog_append (ks->path, MTS_KEYLOG_ROTATE, next->id, detail,
                          mts_keystore_log_key (ks), error)
      || !write_atomically (ks->path, file, file_len, error))
    goto out;
  /* Install what was written. */
  {
    MtsKeystoreFile nf;
    if (!mts_keystore_parse (file, file_len, &nf, error) || !load_keyset (ks, &nf, error))
      goto out;
  }
  remember_file (ks);
  new_id = next->id;
out:
  if (plain)
    sodium_free (plain);
  if (next)
    sodium_free (next);
  close (lock_fd);
  return new_id;
}

gboolean
mts_keystore_passwd (const char *path, const char *old_passphrase, gsize old_len,
                     const char *new_passphrase, gsize new_len, GError **error)
{
  g_autofree guint8 *data = NULL;
  g_autofree guint8 *file = NULL;
  g_autofree char *detail = NULL;
  MtsKeystoreFile f;
  MtsKeystore *ks = NULL;
  gsize len = 0;
  gboolean ok = FALSE;
  int lock_fd;

  if (!mts_core_init (error))
    return FALSE;
  if (passphrase_chars (new_passphrase, new_len) < MTS_KEYSTORE_MIN_PASSPHRASE)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_WEAK_PASSPHRASE,
                   "new passphrase is too short (at least %d characters)",
                   MTS_KEYSTORE_MIN_PASSPHRASE);
      return FALSE;
    }
  lock_fd = lock_path (path, error);
  if (lock_fd < 0)
    return FALSE;
  if (!read_file (path, &data, &len, error) || !mts_keystore_parse (data, len, &f, error))
    goto out;
  ks = keystore_new (path);
  if (ks == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      goto out;
    }
  detail = log_detail ();
  if (!unwrap_master (&f, ks->master, old_passphrase, old_len, error))
    {
      g_autoptr (GError) log_error = NULL;
      if (!mts_keylog_append (path, MTS_KEYLOG_UNLOCK_FAILED, 0, detail, NULL, &log_error))
        g_warning ("%s", log_error->message);
      goto out;
    }
  derive_log_key (ks);
  file = g_memdup2 (data, len);
  randombytes_buf (file + OFF_SALT, SALT_BYTES);   /* a fresh salt for the new passphrase */
  if (!wrap_master (file, ks->master, new_passphrase, new_len, error))
    goto out;
  seal_checksum (file, len);
  /* Log first, as for rotation. */
  ok = mts_keylog_append (path, MTS_KEYLOG_PASSWD, 0, detail, mts_keystore_log_key (ks), error)
       && write_atomically (path, file, len, error);
out:
  keystore_discard (ks);
  close (lock_fd);
  return ok;
}

gboolean
mts_keystore_log_event (MtsKeystore *ks, MtsKeylogEvent event, const char *detail,
                        GError **error)
{
  return mts_keylog_append (ks->path, event, ks->primary_id, detail,
                            mts_keystore_log_key (ks), error);
}
