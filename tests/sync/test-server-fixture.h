/* test-server-fixture.h — the real mts-server on loopback TLS for the sync
 * tests, and peers that misbehave on purpose.
 *
 * Setting up (mts_test_fixture_set_up, once per test program): a temporary
 * folder, and the throw-away CA and certificates of
 * tests/server/make-test-ca.sh (found through MTS_TEST_SRCDIR, else
 * G_TEST_SRCDIR: the folder holding make-test-ca.sh), so no key is ever
 * committed and peer verification is never switched off.  MTS_SERVER names
 * the server binary.
 *
 * A server runs in its own folder under the temporary one, with
 * `[server] port=0` (its port read from the `"event": "listening"` line of
 * its stderr), `[vault] kdf=test` and `[auth] password_kdf=min`, plus what
 * the test adds to [auth].  Servers die with the test program
 * (PR_SET_PDEATHSIG).  Practices and users are made with the server's own
 * admin commands (`practice-create`, `user-add --no-qr` with
 * MTS_USER_PASSWORD); TOTP codes come from mts_totp_code.
 *
 * mts_test_fixture_tear_down() removes the temporary folder when every case
 * passed, else keeps it for a look and prints where it is.
 */
#pragma once

#include <gio/gio.h>

#include "mts-totp.h"

G_BEGIN_DECLS

/* Once per program; later calls return the first call's result. */
gboolean mts_test_fixture_set_up (GError **error);
/* Removes the temporary folder, or with @keep (some case failed: pass
 * g_test_run () != 0) keeps it and prints where it is. */
void mts_test_fixture_tear_down (gboolean keep);

/* (transfer none) The temporary folder. */
const char *mts_test_fixture_dir (void);
/* (transfer full) A file made by make-test-ca.sh: "ca.pem", "other-ca.pem",
 * "server.pem", "server-key.pem", "expired.pem", ... */
char *mts_test_ca_file (const char *name);

/* ---- the server ---- */

typedef struct _MtsTestServer MtsTestServer;

/* A server in folder @name; @cert: the make-test-ca.sh certificate to serve
 * ("server" or "expired", with its "-key.pem"), NULL for "server";
 * @auth_extra: more "key=value\n" lines for [auth], or NULL. */
MtsTestServer *mts_test_server_new (const char *name, const char *cert, const char *auth_extra,
                                    GError **error);
/* Appends @text (whole sections, e.g. "[ai]\nmax_tokens=5\n") to the
 * server's configuration file; takes effect at its next start. */
gboolean mts_test_server_add_config (MtsTestServer *srv, const char *text, GError **error);
/* Sets (@value NULL: removes) a variable in the environment of the server's
 * next start (on top of the fixture's own). */
void mts_test_server_setenv (MtsTestServer *srv, const char *name, const char *value);

/* Starts `serve` and waits for its listening line. */
gboolean mts_test_server_start (MtsTestServer *srv, GError **error);
/* SIGTERM and wait; the exit status, or -1. */
int mts_test_server_stop (MtsTestServer *srv);
void mts_test_server_free (MtsTestServer *srv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsTestServer, mts_test_server_free)

gboolean mts_test_server_running (MtsTestServer *srv);
guint16 mts_test_server_port (MtsTestServer *srv);
/* (transfer full) "https://127.0.0.1:PORT" */
char *mts_test_server_url (MtsTestServer *srv);
/* (transfer full) The last @n lines of its stderr. */
char *mts_test_server_log_tail (MtsTestServer *srv, guint n);

/* `mts-server --config F ARGS... NULL` with MTS_USER_PASSWORD = @password
 * if not NULL; its stdout, or NULL with an error holding its stderr. */
char *mts_test_server_admin (MtsTestServer *srv, const char *password, GError **error, ...)
  G_GNUC_NULL_TERMINATED;

/* ---- practices and users ---- */

/* A new practice; its slug ("PREFIX-N"). */
char *mts_test_practice_new (MtsTestServer *srv, const char *prefix, GError **error);

typedef struct {
  char *practice;
  char *username;
  char *password;
  char *user_id;
  guint8 *secret;      /* the TOTP secret */
  gsize secret_len;
  gint64 last_step;    /* the step of the last code handed out, or -1 */
} MtsTestUser;

/* A new clinician of practice @slug. */
MtsTestUser *mts_test_user_new (MtsTestServer *srv, const char *slug, GError **error);
void mts_test_user_free (MtsTestUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsTestUser, mts_test_user_free)

/* The user's next TOTP code: the current step's, or a later one when that
 * was handed out already (each step is accepted once; this may wait). */
void mts_test_user_code (MtsTestUser *user, char out[MTS_TOTP_CODE_BUF]);
/* Six digits that are the code of no step near now. */
void mts_test_user_wrong_code (MtsTestUser *user, char out[MTS_TOTP_CODE_BUF]);

/* ---- peers that misbehave ---- */

/**
 * MtsTestPeerMode:
 * @MTS_TEST_PEER_SILENT: the kernel accepts the TCP connection (listen
 *   backlog) and nothing ever reads or writes it: a TLS handshake that
 *   never finishes.
 * @MTS_TEST_PEER_DROP: accepts and closes at once, before any TLS.
 * @MTS_TEST_PEER_STALL: completes the TLS handshake (the test server
 *   certificate), reads the request, then answers nothing until the client
 *   gives up.
 * @MTS_TEST_PEER_ANSWER: completes TLS, reads the request, writes the canned
 *   answer (raw HTTP bytes) given to mts_test_peer_new() and closes; an
 *   answer that is cut short makes a connection that breaks mid-response.
 */
typedef enum {
  MTS_TEST_PEER_SILENT,
  MTS_TEST_PEER_DROP,
  MTS_TEST_PEER_STALL,
  MTS_TEST_PEER_ANSWER,
} MtsTestPeerMode;

typedef struct _MtsTestPeer MtsTestPeer;

/* A peer on 127.0.0.1 (its own thread); @answer: for MTS_TEST_PEER_ANSWER. */
MtsTestPeer *mts_test_peer_new (MtsTestPeerMode mode, const char *answer, GError **error);
guint16 mts_test_peer_port (MtsTestPeer *peer);
/* (transfer full) "https://127.0.0.1:PORT" */
char *mts_test_peer_url (MtsTestPeer *peer);
/* (transfer full) (nullable) The head (request line and headers) of the
 * last request it read. */
char *mts_test_peer_last_request (MtsTestPeer *peer);
void mts_test_peer_free (MtsTestPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsTestPeer, mts_test_peer_free)

/* ---- an AI provider's stand-in ---- */

typedef struct _MtsTestStandin MtsTestStandin;

/* tests/server/ai-standin.py for @provider ("anthropic" or "openai") on
 * 127.0.0.1 over TLS with the test server certificate, in a folder of its
 * own under the temporary one, expecting @api_key, @model and @max_tokens
 * in every request; it answers "ok" until told otherwise, and dies with the
 * test program. */
MtsTestStandin *mts_test_standin_start (const char *provider, const char *api_key,
                                        const char *model, guint max_tokens, GError **error);
guint16 mts_test_standin_port (MtsTestStandin *standin);
/* Tells it how to answer from the next request on: @mode ("ok", "529",
 * "429-rate", "timeout", ... see ai-standin.py) and @forbid_json, a JSON
 * array of strings no request may contain ("[]" for none). */
gboolean mts_test_standin_control (MtsTestStandin *standin, const char *mode,
                                   const char *forbid_json, GError **error);
/* The requests it has received so far; -1 with @error quoting the first
 * that broke the provider's wire rules or held a forbidden string. */
gint mts_test_standin_requests (MtsTestStandin *standin, GError **error);
void mts_test_standin_free (MtsTestStandin *standin);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsTestStandin, mts_test_standin_free)

G_END_DECLS
