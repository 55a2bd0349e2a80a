/* mts-keylog.h — the key-access log kept beside a keystore.
 *
 * Every create, unlock, failed unlock, lock, rotation, passphrase change and
 * export is appended to "<keystore>.log", one line per event:
 *
 *   seq TAB time TAB event TAB key-id TAB detail TAB chain TAB mac LF
 *
 *   chain(n) = BLAKE2b-256 (chain(n-1) || "seq TAB time TAB event TAB key-id TAB detail")
 *   mac(n)   = BLAKE2b-256 keyed by the log subkey of the master key, over chain(n),
 *              or "-" for events recorded without the key (a failed unlock)
 *
 * chain(0) is 32 zero bytes.  Editing, deleting or reordering a line breaks
 * the hash chain at that line; rewriting the chain from some point on is
 * caught by the next MAC, which only a holder of the master key can
 * compute.  What no chain can show is a cut at the end: entries after the
 * last MAC (failed unlocks, say) can be removed or altered by anyone who can
 * write the file.  The log lives outside the database, so it survives a
 * tampered or deleted database.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_KEYLOG_MAC_KEY_BYTES 32

typedef enum {
  MTS_KEYLOG_CREATE,
  MTS_KEYLOG_UNLOCK,
  MTS_KEYLOG_UNLOCK_FAILED,
  MTS_KEYLOG_LOCK,
  MTS_KEYLOG_ROTATE,
  MTS_KEYLOG_PASSWD,
  MTS_KEYLOG_EXPORT,
} MtsKeylogEvent;

/* Returns the log's path for a keystore path (transfer full). */
char *mts_keylog_path (const char *keystore_path);

/* The event's name as written in the log. */
const char *mts_keylog_event_name (MtsKeylogEvent event);

/* Appends one event.  @mac_key (nullable) is the log subkey; every event but
 * a failed unlock must carry it.  @detail (nullable) must hold no secret; tabs
 * and line breaks in it are replaced.  The append is locked against other
 * processes and flushed to disk before returning. */
gboolean mts_keylog_append (const char *keystore_path, MtsKeylogEvent event, guint32 key_id,
                            const char *detail, const guint8 *mac_key, GError **error);

/* Verifies the whole log.  With @mac_key (nullable) the MACs are checked too.
 * On failure raises MTS_CORE_ERROR_LOG_TAMPERED naming the first bad entry.
 * *@n_entries (nullable) receives the number of entries read. */
gboolean mts_keylog_verify (const char *keystore_path, const guint8 *mac_key,
                            guint64 *n_entries, GError **error);

/* Verifies log text already in memory; what mts_keylog_verify() does after
 * reading the file.  Exposed for the fuzz target. */
gboolean mts_keylog_verify_text (const char *text, gsize len, const guint8 *mac_key,
                                 guint64 *n_entries, GError **error);

G_END_DECLS
