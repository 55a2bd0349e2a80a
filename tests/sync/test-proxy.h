/* test-proxy.h — a loopback TCP proxy for the sync tests, placed between a
 * device and the real server (test-server-fixture.h) to make the network
 * misbehave in the middle of real exchanges.
 *
 * It forwards bytes both ways without looking at them, so TLS runs end to
 * end between the device and the server: the server's certificate is for
 * 127.0.0.1, which the proxy's URL names too, so verification still passes.
 * Each connection gets its own thread; the listening port stays the same
 * for the proxy's life (also across OFFLINE), so a device configured with
 * the proxy's URL keeps its login while the server behind is restarted on
 * another port (mts_test_proxy_set_backend).
 *
 * Modes (mts_test_proxy_set_mode; counting starts again for every
 * connection, open or new, each time the mode is set):
 *   PASS     forwards everything
 *   DROP     forwards @after_bytes bytes from the server, then closes both
 *            sides: a connection that breaks mid-response
 *   STALL    forwards @after_bytes bytes from the server, then nothing more
 *            (the connection stays open) until the device gives up
 *   OFFLINE  the listening socket is closed and every open connection cut:
 *            a connection is refused, as with no network
 * A connection whose server cannot be reached (the server is stopped) is
 * accepted and closed at once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  MTS_TEST_PROXY_PASS,
  MTS_TEST_PROXY_DROP,
  MTS_TEST_PROXY_STALL,
  MTS_TEST_PROXY_OFFLINE,
} MtsTestProxyMode;

typedef struct _MtsTestProxy MtsTestProxy;

/* A proxy on 127.0.0.1 (a free port) to 127.0.0.1:@backend_port. */
MtsTestProxy *mts_test_proxy_new (guint16 backend_port, GError **error);
void mts_test_proxy_free (MtsTestProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsTestProxy, mts_test_proxy_free)

guint16 mts_test_proxy_port (MtsTestProxy *proxy);
/* (transfer full) "https://127.0.0.1:PORT" */
char *mts_test_proxy_url (MtsTestProxy *proxy);

/* New connections go to 127.0.0.1:@backend_port. */
void mts_test_proxy_set_backend (MtsTestProxy *proxy, guint16 backend_port);

/* Takes effect before it returns (for OFFLINE: the port is closed and the
 * open connections cut; leaving OFFLINE: the port listens again). */
void mts_test_proxy_set_mode (MtsTestProxy *proxy, MtsTestProxyMode mode, gsize after_bytes);

/* How many connections DROP cut or STALL held since the proxy was made. */
guint mts_test_proxy_faults (MtsTestProxy *proxy);
/* How many connections were accepted since the proxy was made. */
guint mts_test_proxy_connections (MtsTestProxy *proxy);
/* How many bytes went from devices to the server since the proxy was made
 * (a request on its way shows as this growing). */
guint64 mts_test_proxy_bytes_up (MtsTestProxy *proxy);
/* How many bytes went from the server to devices since the proxy was made. */
guint64 mts_test_proxy_bytes_down (MtsTestProxy *proxy);

G_END_DECLS
