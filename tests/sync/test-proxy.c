/* test-proxy.c — a loopback TCP proxy that drops, stalls or refuses
 * connections on demand (see test-proxy.h).  Plain POSIX sockets and
 * poll(2): one thread accepts, one thread per connection forwards. */
#define _GNU_SOURCE
#define G_LOG_DOMAIN "mts-test"

#include "test-proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POLL_MS 20

typedef struct _Conn Conn;

struct _MtsTestProxy {
  GMutex lock;
  GCond cond;
  guint16 port;
  int listen_fd;            /* the acceptor's; -1 while OFFLINE */
  gboolean listening;       /* under lock: what the acceptor has done */
  guint16 backend;          /* under lock */
  MtsTestProxyMode mode;    /* under lock */
  gsize after;              /* under lock */
  guint epoch;              /* under lock: bumped by every set_mode */
  gboolean stop;            /* under lock */
  GPtrArray *conns;         /* under lock */
  guint faults;             /* under lock */
  guint connections;        /* under lock */
  guint64 bytes_up;         /* under lock */
  guint64 bytes_down;       /* under lock */
  GThread *acceptor;
};

struct _Conn {
  MtsTestProxy *p;
  int client_fd;            /* under p->lock once the thread runs; -1 when closed */
  int server_fd;
  gboolean done;            /* under lock */
  GThread *thread;
};

static int
listen_on (guint16 port, guint16 *bound_port, GError **error)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
  socklen_t len = sizeof addr;
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0 ||
      listen (fd, 64) != 0 ||
      getsockname (fd, (struct sockaddr *) &addr, &len) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "proxy: cannot listen on 127.0.0.1:%u: %s", port, g_strerror (saved));
      return -1;
    }
  if (bound_port != NULL)
    *bound_port = ntohs (addr.sin_port);
  return fd;
}

/* Forwarded bytes go out at once: no Nagle delay stacked on the peers'. */
static void
no_delay (int fd)
{
  int one = 1;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static gboolean
send_all (int fd, const char *buf, gsize len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, buf, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static void
conn_close (Conn *c)
{
  g_mutex_lock (&c->p->lock);
  if (c->client_fd >= 0)
    close (c->client_fd);
  if (c->server_fd >= 0)
    close (c->server_fd);
  c->client_fd = c->server_fd = -1;
  c->done = TRUE;
  g_mutex_unlock (&c->p->lock);
}

static gpointer
conn_thread (gpointer data)
{
  Conn *c = data;
  MtsTestProxy *p = c->p;
  struct sockaddr_in addr = { .sin_family = AF_INET };
  gboolean stalled = FALSE;
  guint epoch;
  gsize count = 0;
  char buf[16384];
  int fd;

  g_mutex_lock (&p->lock);
  addr.sin_port = htons (p->backend);
  epoch = p->epoch;
  g_mutex_unlock (&p->lock);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      close (fd);
      fd = -1;
    }
  g_mutex_lock (&p->lock);
  c->server_fd = fd;
  g_mutex_unlock (&p->lock);
  no_delay (c->client_fd);
  if (fd >= 0)
    no_delay (fd);
  if (fd < 0)
    {
      /* The server is not there: the device sees its connection closed. */
      conn_close (c);
      return NULL;
    }

  for (;;)
    {
      struct pollfd fds[2] = {
        { .fd = c->client_fd, .events = POLLIN },
        { .fd = stalled ? -1 : c->server_fd, .events = POLLIN },
      };
      gboolean stop;
      int r;

      g_mutex_lock (&p->lock);
      stop = p->stop;
      g_mutex_unlock (&p->lock);
      if (stop)
        break;
      r = poll (fds, 2, POLL_MS);
      if (r < 0 && errno != EINTR)
        break;
      if (r <= 0)
        continue;

      if (fds[0].revents != 0)
        {
          ssize_t n = recv (c->client_fd, buf, sizeof buf, 0);

          if (n <= 0 || !send_all (c->server_fd, buf, (gsize) n))
            break;
          g_mutex_lock (&p->lock);
          p->bytes_up += (guint64) n;
          g_mutex_unlock (&p->lock);
        }
      if (fds[1].revents != 0)
        {
          ssize_t n = recv (c->server_fd, buf, sizeof buf, 0);
          MtsTestProxyMode mode;
          gsize after, pass;

          if (n <= 0)
            break;
          g_mutex_lock (&p->lock);
          if (p->epoch != epoch)
            {
              epoch = p->epoch;
              count = 0;
            }
          mode = p->mode;
          after = p->after;
          g_mutex_unlock (&p->lock);

          pass = mode != MTS_TEST_PROXY_DROP && mode != MTS_TEST_PROXY_STALL ? (gsize) n
               : after > count ? MIN ((gsize) n, after - count) : 0;
          if (pass > 0 && !send_all (c->client_fd, buf, pass))
            break;
          g_mutex_lock (&p->lock);
          p->bytes_down += pass;
          g_mutex_unlock (&p->lock);
          if (mode != MTS_TEST_PROXY_DROP && mode != MTS_TEST_PROXY_STALL)
            continue;
          count += pass;
          if (pass < (gsize) n)
            {
              g_mutex_lock (&p->lock);
              p->faults++;
              g_mutex_unlock (&p->lock);
              if (mode == MTS_TEST_PROXY_DROP)
                break;
              /* STALL: the rest is never sent; wait for the device to give up. */
              stalled = TRUE;
            }
        }
    }
  conn_close (c);
  return NULL;
}

/* Joins the connections that have ended.  Under lock. */
static void
reap_locked (MtsTestProxy *p)
{
  for (guint i = 0; i < p->conns->len;)
    {
      Conn *c = p->conns->pdata[i];

      if (c->done)
        {
          g_mutex_unlock (&p->lock);
          g_thread_join (c->thread);
          g_mutex_lock (&p->lock);
          g_ptr_array_remove_index_fast (p->conns, i);
          g_free (c);
        }
      else
        i++;
    }
}

static gpointer
accept_thread (gpointer data)
{
  MtsTestProxy *p = data;

  for (;;)
    {
      gboolean offline, stop;

      g_mutex_lock (&p->lock);
      reap_locked (p);
      stop = p->stop;
      offline = p->mode == MTS_TEST_PROXY_OFFLINE;
      g_mutex_unlock (&p->lock);
      if (stop)
        break;

      if (offline && p->listen_fd >= 0)
        {
          close (p->listen_fd);
          p->listen_fd = -1;
          g_mutex_lock (&p->lock);
          p->listening = FALSE;
          g_cond_broadcast (&p->cond);
          g_mutex_unlock (&p->lock);
        }
      else if (!offline && p->listen_fd < 0)
        {
          g_autoptr(GError) error = NULL;

          p->listen_fd = listen_on (p->port, NULL, &error);
          if (p->listen_fd < 0)
            {
              g_message ("%s; trying again", error->message);
              g_usleep (100 * 1000);
              continue;
            }
          g_mutex_lock (&p->lock);
          p->listening = TRUE;
          g_cond_broadcast (&p->cond);
          g_mutex_unlock (&p->lock);
        }
      if (p->listen_fd < 0)
        {
          g_usleep (POLL_MS * 1000);
          continue;
        }

      {
        struct pollfd pfd = { .fd = p->listen_fd, .events = POLLIN };
        int fd;

        if (poll (&pfd, 1, POLL_MS) <= 0)
          continue;
        fd = accept4 (p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
          continue;
        {
          Conn *c = g_new0 (Conn, 1);

          c->p = p;
          c->client_fd = fd;
          c->server_fd = -1;
          g_mutex_lock (&p->lock);
          p->connections++;
          g_ptr_array_add (p->conns, c);
          c->thread = g_thread_new ("proxy-conn", conn_thread, c);
          g_mutex_unlock (&p->lock);
        }
      }
    }
  if (p->listen_fd >= 0)
    close (p->listen_fd);
  p->listen_fd = -1;
  return NULL;
}

MtsTestProxy *
mts_test_proxy_new (guint16 backend_port, GError **error)
{
  MtsTestProxy *p = g_new0 (MtsTestProxy, 1);

  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  p->listen_fd = listen_on (0, &p->port, error);
  if (p->listen_fd < 0)
    {
      g_mutex_clear (&p->lock);
      g_cond_clear (&p->cond);
      g_free (p);
      return NULL;
    }
  p->listening = TRUE;
  p->backend = backend_port;
  p->mode = MTS_TEST_PROXY_PASS;
  p->conns = g_ptr_array_new ();
  p->acceptor = g_thread_new ("proxy-accept", accept_thread, p);
  return p;
}

guint16
mts_test_proxy_port (MtsTestProxy *p)
{
  return p->port;
}

char *
mts_test_proxy_url (MtsTestProxy *p)
{
  return g_strdup_printf ("https://127.0.0.1:%u", p->port);
}

void
mts_test_proxy_set_backend (MtsTestProxy *p, guint16 backend_port)
{
  g_mutex_lock (&p->lock);
  p->backend = backend_port;
  g_mutex_unlock (&p->lock);
}

void
mts_test_proxy_set_mode (MtsTestProxy *p, MtsTestProxyMode mode, gsize after_bytes)
{
  g_mutex_lock (&p->lock);
  p->mode = mode;
  p->after = after_bytes;
  p->epoch++;
  if (mode == MTS_TEST_PROXY_OFFLINE)
    {
      /* Cut what is open: a kept-alive connection must not outlive the cut. */
      for (guint i = 0; i < p->conns->len; i++)
        {
          Conn *c = p->conns->pdata[i];

          if (c->client_fd >= 0)
            shutdown (c->client_fd, SHUT_RDWR);
          if (c->server_fd >= 0)
            shutdown (c->server_fd, SHUT_RDWR);
        }
    }
  while (p->listening == (mode == MTS_TEST_PROXY_OFFLINE))
    g_cond_wait (&p->cond, &p->lock);
  g_mutex_unlock (&p->lock);
}

guint
mts_test_proxy_faults (MtsTestProxy *p)
{
  guint n;

  g_mutex_lock (&p->lock);
  n = p->faults;
  g_mutex_unlock (&p->lock);
  return n;
}

guint
mts_test_proxy_connections (MtsTestProxy *p)
{
  guint n;

  g_mutex_lock (&p->lock);
  n = p->connections;
  g_mutex_unlock (&p->lock);
  return n;
}

guint64
mts_test_proxy_bytes_up (MtsTestProxy *p)
{
  guint64 n;

  g_mutex_lock (&p->lock);
  n = p->bytes_up;
  g_mutex_unlock (&p->lock);
  return n;
}

guint64
mts_test_proxy_bytes_down (MtsTestProxy *p)
{
  guint64 n;

  g_mutex_lock (&p->lock);
  n = p->bytes_down;
  g_mutex_unlock (&p->lock);
  return n;
}

void
mts_test_proxy_free (MtsTestProxy *p)
{
  if (p == NULL)
    return;
  g_mutex_lock (&p->lock);
  p->stop = TRUE;
  for (guint i = 0; i < p->conns->len; i++)
    {
      Conn *c = p->conns->pdata[i];

      if (c->client_fd >= 0)
        shutdown (c->client_fd, SHUT_RDWR);
      if (c->server_fd >= 0)
        shutdown (c->server_fd, SHUT_RDWR);
    }
  g_mutex_unlock (&p->lock);
  g_thread_join (p->acceptor);
  for (guint i = 0; i < p->conns->len; i++)
    {
      Conn *c = p->conns->pdata[i];

      g_thread_join (c->thread);
      g_free (c);
    }
  g_ptr_array_unref (p->conns);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->cond);
  g_free (p);
}
