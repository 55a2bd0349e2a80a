/* mts-keylog.c — the hash-chained, MAC-checkpointed key-access log. */
#define G_LOG_DOMAIN "mts-core"

#include "mts-keylog.h"
#include "mts-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BYTES 32
#define MAX_DETAIL 160
#define TAIL_BYTES 4096   /* a line is far shorter than this */

static const char *const event_names[] = {
  [MTS_KEYLOG_CREATE] = "create",
  [MTS_KEYLOG_UNLOCK] = "unlock",
  [MTS_KEYLOG_UNLOCK_FAILED] = "unlock-failed",
  [MTS_KEYLOG_LOCK] = "lock",
  [MTS_KEYLOG_ROTATE] = "rotate",
  [MTS_KEYLOG_PASSWD] = "passwd",
  [MTS_KEYLOG_EXPORT] = "export",
};

char *
mts_keylog_path (const char *keystore_path)
{
  return g_strconcat (keystore_path, ".log", NULL);
}

const char *
mts_keylog_event_name (MtsKeylogEvent event)
{
  g_return_val_if_fail (event <= MTS_KEYLOG_EXPORT, "unknown");
  return event_names[event];
}

/* Returns the event named @name, or -1. */
static int
event_from_name (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (event_names); i++)
    if (strcmp (name, event_names[i]) == 0)
      return (int) i;
  return -1;
}

static void
chain_next (const guint8 prev[HASH_BYTES], const char *body, gsize body_len, guint8 out[HASH_BYTES])
{
  crypto_generichash_state st;

  crypto_generichash_init (&st, NULL, 0, HASH_BYTES);
  crypto_generichash_update (&st, prev, HASH_BYTES);
  crypto_generichash_update (&st, (const guint8 *) body, body_len);
  crypto_generichash_final (&st, out, HASH_BYTES);
}

static void
mac_of (const guint8 *mac_key, const guint8 chain[HASH_BYTES], guint8 out[HASH_BYTES])
{
  crypto_generichash (out, HASH_BYTES, chain, HASH_BYTES, mac_key, MTS_KEYLOG_MAC_KEY_BYTES);
}

/* One parsed line; pointers into a mutable copy of the line. */
typedef struct {
  guint64 seq;
  MtsKeylogEvent event;
  gsize body_len;          /* bytes of the line covered by the chain */
  guint8 chain[HASH_BYTES];
  gboolean has_mac;
  guint8 mac[HASH_BYTES];
} LogLine;

static gboolean
parse_hex (const char *hex, guint8 *out, gsize out_len)
{
  gsize bin_len = 0;

  if (strlen (hex) != out_len * 2)
    return FALSE;
  return sodium_hex2bin (out, out_len, hex, out_len * 2, NULL, &bin_len, NULL) == 0
         && bin_len == out_len;
}

/* Parses one line (without its LF).  @line is modified. */
static gboolean
parse_line (char *line, gsize len, LogLine *out)
{
  char *fields[7];
  char *p = line;
  char *end = NULL;
  int n = 0;

  if (memchr (line, '\0', len) != NULL)
    return FALSE;
  fields[n++] = p;
  for (gsize i = 0; i < len && n < 7; i++)
    if (line[i] == '\t')
      {
        line[i] = '\0';
        fields[n++] = line + i + 1;
      }
  if (n != 7 || strchr (fields[6], '\t') != NULL)
    return FALSE;

  if (!g_ascii_isdigit (fields[0][0]))
    return FALSE;
  errno = 0;
  out->seq = g_ascii_strtoull (fields[0], &end, 10);
  if (errno != 0 || *end != '\0' || out->seq == 0)
    return FALSE;
  n = event_from_name (fields[2]);
  if (n < 0)
    return FALSE;
  out->event = (MtsKeylogEvent) n;
  /* body: fields 0..4 joined by tabs = up to the start of field 5 minus the tab */
  out->body_len = (gsize) (fields[5] - fields[0]) - 1;
  if (!parse_hex (fields[5], out->chain, HASH_BYTES))
    return FALSE;
  out->has_mac = strcmp (fields[6], "-") != 0;
  if (out->has_mac && !parse_hex (fields[6], out->mac, HASH_BYTES))
    return FALSE;
  /* Restore the tabs of the body so it can be hashed as written. */
  for (int i = 1; i <= 4; i++)
    fields[i][-1] = '\t';
  return TRUE;
}

gboolean
mts_keylog_verify_text (const char *text, gsize len, const guint8 *mac_key,
                        guint64 *n_entries, GError **error)
{
  guint8 chain[HASH_BYTES] = { 0 };
  guint8 expect[HASH_BYTES];
  guint64 expected_seq = 1;
  gsize pos = 0;
  guint line_no = 0;

  if (n_entries)
    *n_entries = 0;
  while (pos < len)
    {
      const char *nl = memchr (text + pos, '\n', len - pos);
      gsize line_len;
      g_autofree char *line = NULL;
      LogLine l;

      line_no++;
      if (nl == NULL)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                       "key-access log line %u (entry %" G_GUINT64_FORMAT ") is cut short",
                       line_no, expected_seq);
          return FALSE;
        }
      line_len = (gsize) (nl - (text + pos));
      line = g_strndup (text + pos, line_len);
      pos += line_len + 1;

      if (!parse_line (line, line_len, &l))
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                       "key-access log line %u (entry %" G_GUINT64_FORMAT ") is malformed",
                       line_no, expected_seq);
          return FALSE;
        }
      if (l.seq != expected_seq)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                       "key-access log line %u holds entry %" G_GUINT64_FORMAT
                       " where entry %" G_GUINT64_FORMAT " belongs: an entry was %s",
                       line_no, l.seq, expected_seq,
                       l.seq > expected_seq ? "deleted or moved" : "moved or duplicated");
          return FALSE;
        }
      if (expected_seq == 1 && l.event != MTS_KEYLOG_CREATE)
        {
          g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                               "key-access log does not begin with the keystore's creation: "
                               "earlier entries were removed");
          return FALSE;
        }
      chain_next (chain, line, l.body_len, expect);
      if (sodium_memcmp (expect, l.chain, HASH_BYTES) != 0)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                       "key-access log entry %" G_GUINT64_FORMAT
                       " does not match its hash: it or an entry before it was edited",
                       l.seq);
          return FALSE;
        }
      memcpy (chain, expect, HASH_BYTES);
      if (mac_key != NULL)
        {
          guint8 mac[HASH_BYTES];

          if (l.event != MTS_KEYLOG_UNLOCK_FAILED && !l.has_mac)
            {
              g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                           "key-access log entry %" G_GUINT64_FORMAT " (%s) lacks its MAC: forged",
                           l.seq, event_names[l.event]);
              return FALSE;
            }
          if (l.has_mac)
            {
              mac_of (mac_key, chain, mac);
              if (sodium_memcmp (mac, l.mac, HASH_BYTES) != 0)
                {
                  g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                               "key-access log entry %" G_GUINT64_FORMAT
                               " has a MAC that does not verify: the log was rewritten up to here",
                               l.seq);
                  return FALSE;
                }
            }
        }
      expected_seq++;
    }
  if (expected_seq == 1)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
                           "key-access log is empty");
      return FALSE;
    }
  if (n_entries)
    *n_entries = expected_seq - 1;
  return TRUE;
}

gboolean
mts_keylog_verify (const char *keystore_path, const guint8 *mac_key,
                   guint64 *n_entries, GError **error)
{
  g_autofree char *path = mts_keylog_path (keystore_path);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, MTS_CORE_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? MTS_CORE_ERROR_LOG_TAMPERED : MTS_CORE_ERROR_IO,
                   "cannot read key-access log %s: %s", path, local->message);
      return FALSE;
    }
  return mts_keylog_verify_text (text, len, mac_key, n_entries, error);
}

/* Reads the last line of the open log to continue its chain. */
static gboolean
read_tail (int fd, const char *path, guint64 *last_seq, guint8 chain[HASH_BYTES], GError **error)
{
  struct stat st;
  char buf[TAIL_BYTES + 1];
  gsize want;
  ssize_t got;
  char *start;
  LogLine l;

  *last_seq = 0;
  memset (chain, 0, HASH_BYTES);
  if (fstat (fd, &st) != 0)
    goto io_error;
  if (st.st_size == 0)
    return TRUE;
  want = MIN ((gsize) st.st_size, (gsize) TAIL_BYTES);
  got = pread (fd, buf, want, st.st_size - (off_t) want);
  if (got != (ssize_t) want)
    goto io_error;
  buf[want] = '\0';
  if (want == 0 || buf[want - 1] != '\n')
    goto damaged;
  buf[want - 1] = '\0';
  start = strrchr (buf, '\n');
  start = start ? start + 1 : buf;
  if ((gsize) st.st_size > want && start == buf)
    goto damaged;
  if (!parse_line (start, strlen (start), &l))
    goto damaged;
  *last_seq = l.seq;
  memcpy (chain, l.chain, HASH_BYTES);
  return TRUE;

io_error:
  g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
               "cannot read key-access log %s: %s", path, g_strerror (errno));
  return FALSE;
damaged:
  g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_LOG_TAMPERED,
               "key-access log %s ends in a damaged line; run mts_keylog_verify", path);
  return FALSE;
}

gboolean
mts_keylog_append (const char *keystore_path, MtsKeylogEvent event, guint32 key_id,
                   const char *detail, const guint8 *mac_key, GError **error)
{
  g_autofree char *path = mts_keylog_path (keystore_path);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *clean = g_strndup (detail ? detail : "", MAX_DETAIL);
  g_autoptr (GString) line = g_string_new (NULL);
  guint8 chain[HASH_BYTES];
  guint8 mac[HASH_BYTES];
  char hex[HASH_BYTES * 2 + 1];
  guint64 last_seq;
  gboolean ok = FALSE;
  int fd;

  g_return_val_if_fail (event <= MTS_KEYLOG_EXPORT, FALSE);
  g_return_val_if_fail (event == MTS_KEYLOG_UNLOCK_FAILED || mac_key != NULL, FALSE);

  for (char *c = clean; *c; c++)
    if (*c == '\t' || *c == '\n' || *c == '\r')
      *c = ' ';

  fd = open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot open key-access log %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  if (flock (fd, LOCK_EX) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot lock key-access log %s: %s", path, g_strerror (errno));
      goto out;
    }
  if (!read_tail (fd, path, &last_seq, chain, error))
    goto out;

  g_string_printf (line, "%" G_GUINT64_FORMAT "\t%s\t%s\t%" G_GUINT32_FORMAT "\t%s",
                   last_seq + 1, when, event_names[event], key_id, clean);
  chain_next (chain, line->str, line->len, chain);
  sodium_bin2hex (hex, sizeof hex, chain, HASH_BYTES);
  g_string_append_printf (line, "\t%s\t", hex);
  if (mac_key != NULL)
    {
      mac_of (mac_key, chain, mac);
      sodium_bin2hex (hex, sizeof hex, mac, HASH_BYTES);
      g_string_append (line, hex);
    }
  else
    g_string_append_c (line, '-');
  g_string_append_c (line, '\n');

  if (write (fd, line->str, line->len) != (ssize_t) line->len || fdatasync (fd) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                   "cannot write key-access log %s: %s", path, g_strerror (errno));
      goto out;
    }
  ok = TRUE;
out:
  close (fd);   /* releases the flock */
  return ok;
}
