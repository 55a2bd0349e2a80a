/* mts-sync-client.c — the sync engine's HTTPS client (see mts-sync-client.h).
 *
 * The easy handle is driven through a private multi handle rather than
 * curl_easy_perform(): the multi's poll can be woken from another thread
 * (curl_multi_wakeup), so cancelling a GCancellable ends a request at once
 * instead of at libcurl's next progress tick.  The multi keeps the
 * connection cache, so connections are still reused between requests.
 */
#define G_LOG_DOMAIN "mts-sync"

#include "mts-sync-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mts-json-generate.h"

G_DEFINE_QUARK (mts-sync-error-quark, mts_sync_error)

/* A server message longer than this is cut (at a character boundary). */
#define MAX_SERVER_MESSAGE 512

struct _MtsSyncClient
{
  GObject parent_instance;

  CURLM *multi;
  CURL *curl;
  char *base_url;
  char *ca_file;
  char *host;                   /* "HOST:PORT", for messages */
  char *pins;
  guint connect_timeout_ms;
  guint stall_timeout_s;
  gsize max_response;
  guint retry_after;

  /* The answer being received: grown by hand so that every old buffer is
   * wiped before it is freed (answers hold tokens and health records). */
  guint8 *buf;
  gsize len;
  gsize cap;
  gboolean too_large;

  GCancellable *cancellable;    /* during a request only */
  gboolean tcp_connected;       /* a socket closed during this request had a peer */
  char errbuf[CURL_ERROR_SIZE];
};

G_DEFINE_FINAL_TYPE (MtsSyncClient, mts_sync_client, G_TYPE_OBJECT)

/* ---- the receive buffer ---- */

static void
buf_wipe (MtsSyncClient *c)
{
  if (c->buf != NULL)
    sodium_memzero (c->buf, c->len);
  c->len = 0;
  c->too_large = FALSE;
  /* Do not keep a large pull page's worth of memory between requests. */
  if (c->cap > 1024 * 1024)
    {
      g_free (c->buf);
      c->buf = NULL;
      c->cap = 0;
    }
}

static size_t
write_cb (char *data, size_t size, size_t nmemb, void *user)
{
  MtsSyncClient *c = user;
  size_t n = size * nmemb;

  if (n > c->max_response - c->len)
    {
      c->too_large = TRUE;
      return 0;   /* CURLE_WRITE_ERROR */
    }
  if (c->len + n + 1 > c->cap)
    {
      gsize cap = MAX (MAX (c->cap * 2, c->len + n + 1), (gsize) 16384);
      guint8 *grown = g_malloc (cap);

      if (c->len > 0)
        memcpy (grown, c->buf, c->len);
      if (c->buf != NULL)
        sodium_memzero (c->buf, c->len);
      g_free (c->buf);
      c->buf = grown;
      c->cap = cap;
    }
  memcpy (c->buf + c->len, data, n);
  c->len += n;
  c->buf[c->len] = '\0';
  return n;
}

/* ---- cancellation ---- */

static int
xferinfo_cb (void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
             curl_off_t ulnow)
{
  MtsSyncClient *c = user;

  return c->cancellable != NULL && g_cancellable_is_cancelled (c->cancellable);
}

/* From any thread: wakes the request's poll so that it sees the cancel. */
static void
cancelled_cb (GCancellable *cancellable, gpointer user)
{
  MtsSyncClient *c = user;

  curl_multi_wakeup (c->multi);
}

/* ---- telling "unreachable" from "reached, then stalled" ---- */

/* libcurl closes every socket through this.  A socket that has a peer
 * (getpeername) completed its TCP handshake: if the request then timed out,
 * the server was reached and stalled, rather than unreachable.  (libcurl
 * 7.88's CURLINFO_CONNECT_TIME_T stays 0 until TLS is done, so it cannot
 * tell these apart.) */
static int
close_socket_cb (void *user, curl_socket_t fd)
{
  MtsSyncClient *c = user;
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;

  if (getpeername (fd, (struct sockaddr *) &peer, &len) == 0)
    c->tcp_connected = TRUE;
  return close (fd);
}

/* ---- the object ---- */

static void
mts_sync_client_finalize (GObject *object)
{
  MtsSyncClient *c = MTS_SYNC_CLIENT (object);

  if (c->multi != NULL)
    curl_multi_cleanup (c->multi);
  if (c->curl != NULL)
    curl_easy_cleanup (c->curl);
  buf_wipe (c);
  g_free (c->buf);
  g_free (c->base_url);
  g_free (c->ca_file);
  g_free (c->host);
  g_free (c->pins);

  G_OBJECT_CLASS (mts_sync_client_parent_class)->finalize (object);
}

static void
mts_sync_client_class_init (MtsSyncClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mts_sync_client_finalize;
}

static void
mts_sync_client_init (MtsSyncClient *c)
{
  c->connect_timeout_ms = MTS_SYNC_CONNECT_TIMEOUT_MS;
  c->stall_timeout_s = MTS_SYNC_STALL_TIMEOUT_S;
  c->max_response = MTS_SYNC_MAX_RESPONSE_BYTES;
}

static gboolean
global_init (GError **error)
{
  static gsize result;

  if (g_once_init_enter (&result))
    g_once_init_leave (&result, (gsize) curl_global_init (CURL_GLOBAL_DEFAULT) + 1);
  if (result != (gsize) CURLE_OK + 1)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "libcurl could not be initialised: %s",
                   curl_easy_strerror ((CURLcode) (result - 1)));
      return FALSE;
    }
  return TRUE;
}

/* Checks @base_url and returns its "HOST:PORT", or NULL. */
static char *
check_base_url (const char *base_url, GError **error)
{
  CURLU *u = curl_url ();
  char *scheme = NULL, *host = NULL, *port = NULL, *part = NULL;
  char *result = NULL;

  if (u == NULL)
    g_error ("curl_url: out of memory");
  if (curl_url_set (u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
      curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get (u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the server address is not a URL such as https://sync.example.org");
      goto out;
    }
  if (g_ascii_strcasecmp (scheme, "https") != 0)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the server address must start with https:// (the server speaks only TLS)");
      goto out;
    }
  if (curl_url_get (u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
      curl_url_get (u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
      curl_url_get (u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the server address must be https://HOST[:PORT][/PATH], "
                   "without a user name, query or fragment");
      goto out;
    }
  result = g_strdup_printf ("%s:%s", host, port);

out:
  curl_free (part);
  curl_free (scheme);
  curl_free (host);
  curl_free (port);
  curl_url_cleanup (u);
  return result;
}

#define SETOPT(opt, value) \
  (ok = ok && curl_easy_setopt (c->curl, opt, value) == CURLE_OK)

static void
apply_timeouts (MtsSyncClient *c)
{
  gboolean ok = TRUE;

  SETOPT (CURLOPT_CONNECTTIMEOUT_MS, (long) c->connect_timeout_ms);
  SETOPT (CURLOPT_LOW_SPEED_LIMIT, 1L);
  SETOPT (CURLOPT_LOW_SPEED_TIME, (long) c->stall_timeout_s);
  SETOPT (CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_response);
  if (!ok)
    g_warning ("libcurl refused a time-out or size option");
}

MtsSyncClient *
mts_sync_client_new (const char *base_url, const char *ca_file, GError **error)
{
  g_autoptr(MtsSyncClient) c = NULL;
  g_autofree char *host = NULL;
  gboolean ok = TRUE;
  gsize n;

  g_return_val_if_fail (base_url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!global_init (error))
    return NULL;
  host = check_base_url (base_url, error);
  if (host == NULL)
    return NULL;
  if (ca_file != NULL && g_access (ca_file, R_OK) != 0)
    {
      int saved = errno;

      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "cannot read the CA file %s: %s", ca_file, g_strerror (saved));
      return NULL;
    }

  c = g_object_new (MTS_TYPE_SYNC_CLIENT, NULL);
  c->host = g_steal_pointer (&host);
  c->base_url = g_strdup (base_url);
  n = strlen (c->base_url);
  while (n > 0 && c->base_url[n - 1] == '/')
    c->base_url[--n] = '\0';
  c->ca_file = g_strdup (ca_file);
  c->multi = curl_multi_init ();
  c->curl = curl_easy_init ();
  if (c->multi == NULL || c->curl == NULL)
    g_error ("libcurl: out of memory");

  /* Trust and TLS: verification always on, TLS 1.2 at least, https only.
   * Any refusal here refuses the client rather than run with less. */
  SETOPT (CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT (CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT (CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  SETOPT (CURLOPT_PROTOCOLS_STR, "https");
  SETOPT (CURLOPT_REDIR_PROTOCOLS_STR, "https");
  SETOPT (CURLOPT_FOLLOWLOCATION, 0L);
  if (c->ca_file != NULL)
    {
      SETOPT (CURLOPT_CAINFO, c->ca_file);
      SETOPT (CURLOPT_CAPATH, NULL);
    }

  /* Behaviour. */
  SETOPT (CURLOPT_NOSIGNAL, 1L);
  SETOPT (CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT (CURLOPT_USERAGENT, "mts-sync/1");
  SETOPT (CURLOPT_ERRORBUFFER, c->errbuf);
  SETOPT (CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT (CURLOPT_WRITEDATA, c);
  SETOPT (CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  SETOPT (CURLOPT_XFERINFODATA, c);
  SETOPT (CURLOPT_NOPROGRESS, 0L);
  SETOPT (CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
  SETOPT (CURLOPT_CLOSESOCKETDATA, c);
  if (!ok)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "this libcurl (%s) refuses an option the client needs", curl_version ());
      return NULL;
    }
  apply_timeouts (c);
  return g_steal_pointer (&c);
}

const char *
mts_sync_client_get_base_url (MtsSyncClient *client)
{
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), NULL);
  return client->base_url;
}

const char *
mts_sync_client_get_ca_file (MtsSyncClient *client)
{
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), NULL);
  return client->ca_file;
}

const char *
mts_sync_client_get_host (MtsSyncClient *client)
{
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), NULL);
  return client->host;
}

/* Whether each of @pins is "sha256//" and the base64 of 32 bytes. */
static gboolean
pins_valid (const char *pins)
{
  g_auto(GStrv) each = g_strsplit (pins, ";", -1);

  if (each[0] == NULL)
    return FALSE;
  for (guint i = 0; each[i] != NULL; i++)
    {
      const char *b64 = each[i];
      g_autofree guchar *raw = NULL;
      gsize raw_len = 0;

      if (!g_str_has_prefix (b64, "sha256//"))
        return FALSE;
      b64 += strlen ("sha256//");
      if (strlen (b64) != 44 || strspn (b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789+/=") != 44)
        return FALSE;
      raw = g_base64_decode (b64, &raw_len);
      if (raw_len != 32)
        return FALSE;
    }
  return TRUE;
}

gboolean
mts_sync_client_set_pinned_public_key (MtsSyncClient *client, const char *pins, GError **error)
{
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), FALSE);

  if (pins != NULL && !pins_valid (pins))
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                           "a public-key pin must be sha256// followed by the base64 of a "
                           "SHA-256 hash (several separated by ';')");
      return FALSE;
    }
  if (curl_easy_setopt (client->curl, CURLOPT_PINNEDPUBLICKEY, pins) != CURLE_OK)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "this libcurl (%s) cannot pin public keys", curl_version ());
      return FALSE;
    }
  g_free (client->pins);
  client->pins = g_strdup (pins);
  return TRUE;
}

void
mts_sync_client_set_timeouts (MtsSyncClient *client, guint connect_timeout_ms,
                              guint stall_timeout_s)
{
  g_return_if_fail (MTS_IS_SYNC_CLIENT (client));

  client->connect_timeout_ms = connect_timeout_ms != 0 ? connect_timeout_ms
                                                        : MTS_SYNC_CONNECT_TIMEOUT_MS;
  client->stall_timeout_s = stall_timeout_s != 0 ? stall_timeout_s : MTS_SYNC_STALL_TIMEOUT_S;
  apply_timeouts (client);
}

void
mts_sync_client_set_max_response_size (MtsSyncClient *client, gsize max_bytes)
{
  g_return_if_fail (MTS_IS_SYNC_CLIENT (client));

  client->max_response = max_bytes != 0 ? max_bytes : MTS_SYNC_MAX_RESPONSE_BYTES;
  apply_timeouts (client);
}

guint
mts_sync_client_get_retry_after (MtsSyncClient *client)
{
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), 0);
  return client->retry_after;
}

/* ---- sorting out failures ---- */

/* The value of response header @name of the last request, or NULL.
 * (transfer none: valid until the next request) */
static const char *
header (MtsSyncClient *c, const char *name)
{
  struct curl_header *h = NULL;

  if (curl_easy_header (c->curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
    return NULL;
  return h->value;
}

/* Retry-After in delta-seconds (the form the server sends), or 0. */
static guint
parse_retry_after (const char *value)
{
  g_autofree char *text = NULL;
  guint64 n = 0;

  if (value == NULL)
    return 0;
  text = g_strstrip (g_strdup (value));
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &n, NULL))
    return 0;
  return (guint) n;
}

/* Whether libcurl runs over GnuTLS (else OpenSSL or another backend). */
static gboolean
backend_is_gnutls (void)
{
  const curl_version_info_data *v = curl_version_info (CURLVERSION_NOW);

  return v->ssl_version != NULL && g_str_has_prefix (v->ssl_version, "GnuTLS");
}

/* Why the certificate did not verify, from libcurl's verify result (the
 * backend's own code) and its message; NULL if neither says. */
static const char *
certificate_reason (long verify, const char *errbuf)
{
  if (strstr (errbuf, "does not match target host name") != NULL ||
      strstr (errbuf, "subject name does not match") != NULL ||
      strstr (errbuf, "no alternative certificate subject name matches") != NULL)
    return "it was issued for another host name";

  if (backend_is_gnutls ())
    {
      /* gnutls_certificate_status_t bits (gnutls/gnutls.h; part of its ABI). */
      if (verify & (1 << 6))                       /* GNUTLS_CERT_SIGNER_NOT_FOUND */
        return "issuer unknown";
      if (verify & (1 << 10))                      /* GNUTLS_CERT_EXPIRED */
        return "it has expired";
      if (verify & (1 << 9))                       /* GNUTLS_CERT_NOT_ACTIVATED */
        return "it is not valid yet";
      if (verify & (1 << 5))                       /* GNUTLS_CERT_REVOKED */
        return "it was revoked";
      if (verify & (1 << 7))                       /* GNUTLS_CERT_SIGNER_NOT_CA */
        return "its issuer is not a certificate authority";
      if (verify & (1 << 8))                       /* GNUTLS_CERT_INSECURE_ALGORITHM */
        return "it is signed with an insecure algorithm";
      if (verify & (1 << 14))                      /* GNUTLS_CERT_UNEXPECTED_OWNER */
        return "it was issued for another host name";
      if (verify & (1 << 11))                      /* GNUTLS_CERT_SIGNATURE_FAILURE */
        return "its signature does not verify";
    }
  else
    {
      /* OpenSSL's X509_V_ERR_* codes (x509_vfy.h). */
      switch (verify)
        {
        case 2: case 20: case 21:    /* UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), LEAF_SIGNATURE */
          return "issuer unknown";
        case 18: case 19:            /* DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN */
          return "issuer unknown (self-signed)";
        case 10:                     /* CERT_HAS_EXPIRED */
          return "it has expired";
        case 9:                      /* CERT_NOT_YET_VALID */
          return "it is not valid yet";
        case 23:                     /* CERT_REVOKED */
          return "it was revoked";
        case 62:                     /* HOSTNAME_MISMATCH */
          return "it was issued for another host name";
        default:
          break;
        }
    }
  if (strstr (errbuf, "expir") != NULL)
    return "it has expired";
  return NULL;
}

/* Whether a failed handshake (CURLE_SSL_CONNECT_ERROR) was the connection
 * breaking rather than TLS refusing: the peer closed or reset it, or it
 * could not be read or written.  Such a failure is retried; anything else
 * is treated as TLS failing, which is not. */
static gboolean
handshake_broke (const char *errbuf)
{
  static const char *const transport[] = {
    "Error in the pull function",                   /* GnuTLS: recv failed */
    "Error in the push function",                   /* GnuTLS: send failed */
    "non-properly terminated",                      /* GnuTLS: EOF mid-handshake */
    "Error decoding the received TLS packet",       /* GnuTLS: EOF mid-record */
    "The TLS connection was non-properly",
    "SSL_ERROR_SYSCALL",                            /* OpenSSL */
    "unexpected eof",
    "Connection reset by peer",
    "Broken pipe",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (transport); i++)
    if (strstr (errbuf, transport[i]) != NULL)
      return TRUE;
  return FALSE;
}

/* Sets @error for a request libcurl could not complete. */
static void
transport_error (MtsSyncClient *c, CURLcode rc, GError **error)
{
  const char *detail = c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror (rc);
  curl_off_t connect_time = 0, pretransfer_time = 0;
  long verify = 0;
  const char *reason;

  curl_easy_getinfo (c->curl, CURLINFO_CONNECT_TIME_T, &connect_time);
  curl_easy_getinfo (c->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_time);

  switch (rc)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE,
                   "cannot reach the server %s: its name does not resolve (%s)", c->host, detail);
      return;

    case CURLE_COULDNT_CONNECT:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE,
                   "cannot reach the server %s: the connection was refused or the host is "
                   "unreachable (%s)", c->host, detail);
      return;

    case CURLE_OPERATION_TIMEDOUT:
      if (pretransfer_time == 0 && connect_time == 0 && !c->tcp_connected)
        g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE,
                     "cannot reach the server %s: no connection within %u ms",
                     c->host, c->connect_timeout_ms);
      else if (pretransfer_time == 0)
        g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK,
                     "the server %s accepted the connection but the secure handshake "
                     "did not finish within %u ms", c->host, c->connect_timeout_ms);
      else
        g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK,
                     "the server %s stopped answering (nothing for %u s)",
                     c->host, c->stall_timeout_s);
      return;

    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
      curl_easy_getinfo (c->curl, CURLINFO_SSL_VERIFYRESULT, &verify);
      reason = certificate_reason (verify, c->errbuf);
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS,
                   "certificate problem with the server %s: the server's certificate is not "
                   "trusted (%s); check the server address%s", c->host,
                   reason != NULL ? reason : detail,
                   c->ca_file != NULL ? " and the CA file" : "");
      return;

    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS,
                   "certificate problem with the server %s: its public key is not the "
                   "pinned one", c->host);
      return;

    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS,
                   "certificate problem with the server %s: the CA file cannot be used (%s)",
                   c->host, detail);
      return;

    case CURLE_SSL_CONNECT_ERROR:
      if (handshake_broke (c->errbuf))
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK,
                       "the connection to the server %s broke during the secure handshake (%s)",
                       c->host, detail);
          return;
        }
      G_GNUC_FALLTHROUGH;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS,
                   "a secure (TLS) connection to the server %s could not be made (%s)",
                   c->host, detail);
      return;

    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (c->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the answer from the server %s is larger than %" G_GSIZE_FORMAT " bytes",
                       c->host, c->max_response);
          return;
        }
      break;

    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_TOO_MANY_REDIRECTS:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                   "the server %s did not answer in HTTP as expected (%s)", c->host, detail);
      return;

    case CURLE_URL_MALFORMAT:
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the request's URL is malformed (%s)", detail);
      return;

    default:
      break;
    }
  /* Sending or receiving failed, the connection closed early, nothing
   * came back, an HTTP/2 stream broke, ...: all worth another try. */
  g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_NETWORK,
               "the connection to the server %s broke off (%s)", c->host, detail);
}

/* A server message made safe to show: no control characters, not too long. */
static char *
clean_message (const char *text)
{
  g_autofree char *cut = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    return NULL;
  cut = g_utf8_strlen (text, -1) > MAX_SERVER_MESSAGE ? g_utf8_substring (text, 0, MAX_SERVER_MESSAGE)
                                                       : g_strdup (text);
  for (char *p = cut; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return g_steal_pointer (&cut);
}

/* Sets @error for a non-2xx answer @status, whose parsed body is @root
 * (NULL if it was not JSON); its error.code goes to @code_out. */
static void
status_error (MtsSyncClient *c, long status, JsonNode *root, char **code_out, GError **error)
{
  JsonObject *err = NULL;
  const char *code = NULL, *message = NULL;
  g_autofree char *clean = NULL;
  g_autofree char *shown = NULL;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *e = json_object_get_member (json_node_get_object (root), "error");

      if (e != NULL && JSON_NODE_HOLDS_OBJECT (e))
        err = json_node_get_object (e);
    }
  if (err != NULL)
    {
      code = json_object_get_string_member_with_default (err, "code", NULL);
      message = json_object_get_string_member_with_default (err, "message", NULL);
    }
  if (code_out != NULL)
    *code_out = g_strdup (code);
  if (message != NULL)
    clean = clean_message (message);
  if (clean == NULL || *clean == '\0')
    {
      g_free (clean);
      clean = NULL;
    }

  if (status == 401)
    g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_AUTH, "%s",
                 clean != NULL ? clean : "the server refused the credentials (HTTP 401)");
  else if (status == 403 && g_strcmp0 (code, "device_revoked") == 0)
    g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REVOKED, "%s",
                 clean != NULL ? clean
                               : "this device was revoked by the practice's administrator");
  else if (status >= 400 && status < 500)
    {
      shown = clean != NULL ? g_strdup (clean)
                            : g_strdup_printf ("the server %s refused the request (HTTP %ld)",
                                               c->host, status);
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REFUSED, "%s", shown);
    }
  else if (status >= 500 && status < 600)
    g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_SERVER,
                 "the server %s failed (HTTP %ld)%s%s", c->host, status,
                 clean != NULL ? ": " : "", clean != NULL ? clean : "");
  else
    g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                 "the server %s answered with HTTP status %ld, which the API never uses",
                 c->host, status);
}

/* ---- a request ---- */

static void
slist_wipe_free (struct curl_slist *list)
{
  for (struct curl_slist *l = list; l != NULL; l = l->next)
    sodium_memzero (l->data, strlen (l->data));
  curl_slist_free_all (list);
}

static void
text_wipe_free (char *text)
{
  if (text != NULL)
    {
      sodium_memzero (text, strlen (text));
      g_free (text);
    }
}

/* Runs the transfer; returns its result, or CURLE_ABORTED_BY_CALLBACK when
 * @cancellable was cancelled. */
static CURLcode
perform (MtsSyncClient *c, GCancellable *cancellable)
{
  CURLcode result = CURLE_OK;
  CURLMcode mc;
  CURLMsg *msg;
  int running = 1, left = 0;
  gulong handler = 0;
  gboolean done = FALSE;

  c->cancellable = cancellable;
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), c, NULL);
  mc = curl_multi_add_handle (c->multi, c->curl);
  if (mc != CURLM_OK)
    {
      g_strlcpy (c->errbuf, curl_multi_strerror (mc), sizeof c->errbuf);
      result = CURLE_FAILED_INIT;
      goto out;
    }
  while (running)
    {
      mc = curl_multi_perform (c->multi, &running);
      if (mc == CURLM_OK && running)
        {
          if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
            break;
          mc = curl_multi_poll (c->multi, NULL, 0, 1000, NULL);
        }
      if (mc != CURLM_OK)
        {
          g_strlcpy (c->errbuf, curl_multi_strerror (mc), sizeof c->errbuf);
          result = CURLE_RECV_ERROR;
          done = TRUE;
          break;
        }
    }
  while (!done && (msg = curl_multi_info_read (c->multi, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->curl)
      {
        result = msg->data.result;
        done = TRUE;
      }
  if (!done)
    result = CURLE_ABORTED_BY_CALLBACK;   /* left while still running: cancelled */
  /* Removing an unfinished transfer closes its connection. */
  curl_multi_remove_handle (c->multi, c->curl);

out:
  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  c->cancellable = NULL;
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    result = CURLE_ABORTED_BY_CALLBACK;
  return result;
}

/* Whether @path is "/..." with no space or control character. */
static gboolean
path_valid (const char *path)
{
  if (path[0] != '/')
    return FALSE;
  for (const char *p = path; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

JsonNode *
mts_sync_client_request (MtsSyncClient *client, const char *method, const char *path_and_query,
                         JsonNode *body, const char *bearer, GCancellable *cancellable,
                         guint *status_out, char **server_code_out, GError **error)
{
  MtsSyncClient *c = client;
  g_autofree char *url = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(JsonNode) root = NULL;
  struct curl_slist *headers = NULL;
  char *text = NULL;
  char *auth = NULL;
  gboolean post, ok = TRUE;
  long status = 0;
  const char *ctype = NULL;
  CURLcode rc;
  gint64 started;

  if (status_out != NULL)
    *status_out = 0;
  if (server_code_out != NULL)
    *server_code_out = NULL;
  g_return_val_if_fail (MTS_IS_SYNC_CLIENT (client), NULL);
  g_return_val_if_fail (method != NULL && path_and_query != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  post = strcmp (method, "POST") == 0;
  if (!post && strcmp (method, "GET") != 0)
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "the API has no %s requests", method);
      return NULL;
    }
  if (!path_valid (path_and_query))
    {
      g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                   "a request path must start with '/' and hold no space or control character");
      return NULL;
    }
  if (body != NULL && !post)
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID,
                           "a GET request has no body");
      return NULL;
    }
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED,
                           "the request was cancelled");
      return NULL;
    }

  url = g_strconcat (c->base_url, path_and_query, NULL);
  headers = curl_slist_append (headers, "MTS-Protocol: 1");
  headers = curl_slist_append (headers, "Accept: application/json");
  headers = curl_slist_append (headers, "Expect:");
  if (bearer != NULL)
    {
      auth = g_strconcat ("Authorization: Bearer ", bearer, NULL);
      headers = curl_slist_append (headers, auth);
      text_wipe_free (auth);
    }
  if (post)
    /* Without a body: no Content-Type at all (not form data either). */
    headers = curl_slist_append (headers, body != NULL ? "Content-Type: application/json"
                                                       : "Content-Type:");
  if (headers == NULL)
    g_error ("curl_slist_append: out of memory");

  if (body != NULL)
    text = mts_json_node_to_text (body, FALSE, NULL);
  SETOPT (CURLOPT_URL, url);
  SETOPT (CURLOPT_HTTPHEADER, headers);
  if (post)
    {
      SETOPT (CURLOPT_POST, 1L);
      SETOPT (CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (text != NULL ? strlen (text) : 0));
      SETOPT (CURLOPT_POSTFIELDS, text != NULL ? text : "");
    }
  else
    SETOPT (CURLOPT_HTTPGET, 1L);

  buf_wipe (c);
  c->errbuf[0] = '\0';
  c->retry_after = 0;
  c->tcp_connected = FALSE;
  started = g_get_monotonic_time ();
  rc = ok ? perform (c, cancellable) : CURLE_BAD_FUNCTION_ARGUMENT;

  /* Forget what the request carried. */
  curl_easy_setopt (c->curl, CURLOPT_HTTPHEADER, NULL);
  slist_wipe_free (headers);
  text_wipe_free (text);
  if (post)
    curl_easy_setopt (c->curl, CURLOPT_POSTFIELDS, "");

  curl_easy_getinfo (c->curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK)
    status = 0;
  if (status_out != NULL)
    *status_out = (guint) status;
  g_debug ("%s %s -> %ld (%s, %" G_GINT64_FORMAT " ms)", method, path_and_query, status,
           rc == CURLE_OK ? "ok" : curl_easy_strerror (rc),
           (g_get_monotonic_time () - started) / 1000);

  if (rc == CURLE_ABORTED_BY_CALLBACK && cancellable != NULL &&
      g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED,
                           "the request was cancelled");
      buf_wipe (c);
      return NULL;
    }
  if (rc != CURLE_OK)
    {
      transport_error (c, rc, error);
      buf_wipe (c);
      return NULL;
    }

  c->retry_after = parse_retry_after (header (c, "Retry-After"));
  curl_easy_getinfo (c->curl, CURLINFO_CONTENT_TYPE, &ctype);
  if (ctype != NULL && g_ascii_strncasecmp (ctype, "application/json", 16) == 0 && c->len > 0)
    {
      parser = json_parser_new_immutable ();
      if (json_parser_load_from_data (parser, (const char *) c->buf, (gssize) c->len, NULL))
        root = json_parser_steal_root (parser);
    }
  buf_wipe (c);

  if (status >= 200 && status < 300)
    {
      if (g_strcmp0 (header (c, "MTS-Protocol"), "1") != 0)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server %s did not answer as an MTS server of protocol 1 "
                       "(its MTS-Protocol header is %s)", c->host,
                       header (c, "MTS-Protocol") != NULL ? "another version" : "missing");
          return NULL;
        }
      if (root == NULL)
        {
          g_set_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL,
                       "the server %s sent an answer that is not JSON", c->host);
          return NULL;
        }
      return g_steal_pointer (&root);
    }
  status_error (c, status, root, server_code_out, error);
  return NULL;
}

/* ---- retrying ---- */

gboolean
mts_sync_error_is_retryable (const GError *error)
{
  if (error == NULL || error->domain != MTS_SYNC_ERROR)
    return FALSE;
  return error->code == MTS_SYNC_ERROR_OFFLINE || error->code == MTS_SYNC_ERROR_NETWORK ||
         error->code == MTS_SYNC_ERROR_SERVER;
}

guint64
mts_sync_backoff_delay (guint attempt, guint64 base_ms, guint64 max_ms)
{
  guint64 ceiling = MIN (base_ms, max_ms);
  guint64 limit, threshold, draw;

  /* base * 2^attempt, stopping at max_ms before it can overflow. */
  for (guint i = 0; i < attempt && ceiling < max_ms; i++)
    ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
  if (ceiling == 0)
    return 0;
  /* Uniform over [0, ceiling]: 64 random bits, redrawn below 2^64 mod
   * (ceiling + 1) so that the reduction has no modulo bias. */
  if (ceiling == G_MAXUINT64)
    return ((guint64) g_random_int () << 32) | g_random_int ();
  limit = ceiling + 1;
  threshold = (G_MAXUINT64 - limit + 1) % limit;   /* 2^64 mod limit */
  do
    draw = ((guint64) g_random_int () << 32) | g_random_int ();
  while (draw < threshold);
  return draw % limit;
}
