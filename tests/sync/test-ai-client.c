/* test-ai-client.c — AI drafting as the desktop asks for it
 * (sync/mts-ai-client.h) against the real server over loopback TLS and a
 * loopback stand-in for Anthropic (tests/server/ai-standin.py, found
 * through G_TEST_SRCDIR) that checks every request it gets: a note draft
 * and a template from the provider; risk signals with byte offsets into
 * the text sent; consent missing, an unknown client, a refusal, both
 * providers down, text too long, AI not configured, each as its
 * MTS_AI_ERROR; bad arguments; the asynchronous call with a main loop, a
 * locked store; and the server gone (MTS_SYNC_ERROR_OFFLINE).
 *
 * The server trusts only the test CA for the stand-in ([ai] ca_file); the
 * device trusts only it for the server.  OpenAI has no key here, so the
 * relay's only provider is the stand-in. */
#include <gio/gio.h>
#include <string.h>

#include "mts-ai-client.h"
#include "mts-store.h"
#include "mts-store-records.h"
#include "mts-sync-client.h"
#include "mts-sync-engine.h"
#include "mts-sync-session.h"
#include "test-server-fixture.h"

#define PASS "local passphrase 1234"
#define API_KEY "sk-ant-test-client-0123456789"
#define MAX_TEXT 1000

static MtsTestServer *server;
static MtsTestStandin *standin;

/* --- the stand-in ------------------------------------------------------ */

static void
standin_mode (const char *mode)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mts_test_standin_control (standin, mode, "[]", &error));
  g_assert_no_error (error);
}

/* The stand-in's requests so far, each checked for violations. */
static guint
standin_requests (void)
{
  g_autoptr(GError) error = NULL;
  gint n = mts_test_standin_requests (standin, &error);

  g_assert_no_error (error);
  return (guint) n;
}

static guint16
start_standin (void)
{
  g_autoptr(GError) error = NULL;

  standin = mts_test_standin_start ("anthropic", API_KEY, "claude-test", 321, &error);
  g_assert_no_error (error);
  return mts_test_standin_port (standin);
}

/* A server whose AI relay asks the stand-in (@with_key: else no key). */
static MtsTestServer *
ai_server (const char *name, guint16 standin_port, gboolean with_key)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *ai = g_strdup_printf ("[ai]\nanthropic_base_url=https://127.0.0.1:%u\n"
                                         "openai_base_url=https://127.0.0.1:9\n"
                                         "anthropic_model=claude-test\nmax_tokens=321\n"
                                         "timeout_seconds=3\nmax_text_chars=%d\nca_file=%s\n",
                                         standin_port, MAX_TEXT, ca);
  MtsTestServer *srv = mts_test_server_new (name, "server", NULL, &error);

  g_assert_no_error (error);
  g_assert_true (mts_test_server_add_config (srv, ai, &error));
  if (with_key)
    mts_test_server_setenv (srv, "MTS_ANTHROPIC_API_KEY", API_KEY);
  g_assert_true (mts_test_server_start (srv, &error));
  g_assert_no_error (error);
  return srv;
}

static MtsTestServer *
get_server (void)
{
  g_autoptr(GError) error = NULL;

  if (server == NULL)
    {
      g_assert_true (mts_test_fixture_set_up (&error));
      server = ai_server ("ai", start_standin (), TRUE);
    }
  standin_mode ("ok");
  return server;
}

/* --- a device ---------------------------------------------------------- */

typedef struct {
  MtsStore *store;
  MtsSyncSession *session;
  char *client_id;        /* consent recorded, synced */
  char *other_id;         /* no consent, synced */
} Device;

static void
device_free (Device *d)
{
  g_clear_object (&d->session);
  g_clear_object (&d->store);
  g_free (d->client_id);
  g_free (d->other_id);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Device, device_free)

static char *
add_client (MtsStore *store, const char *name)
{
  g_autoptr(MtsClient) c = mts_client_new ();
  g_autoptr(GError) error = NULL;

  c->display_name = g_strdup (name);
  g_assert_true (mts_store_client_add (store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static void
sync_device (Device *d)
{
  g_autoptr(GError) error = NULL;
  MtsSyncStats stats = { 0 };

  g_assert_true (mts_sync_once (d->store, d->session, NULL, NULL, NULL, NULL, &stats, &error));
  g_assert_no_error (error);
}

/* A store logged in to @srv as a new clinician of a new practice, with two
 * clients synced, one of them with AI consent recorded. */
static Device *
device_new (MtsTestServer *srv)
{
  static guint n;
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsTestUser) user = NULL;
  g_autofree char *dir = g_strdup_printf ("%s/ai-device-%u", mts_test_fixture_dir (), ++n);
  g_autofree char *url = mts_test_server_url (srv);
  g_autofree char *ca = mts_test_ca_file ("ca.pem");
  g_autofree char *slug = mts_test_practice_new (srv, "ai", &error);
  char code[MTS_TOTP_CODE_BUF];
  Device *d = g_new0 (Device, 1);

  g_assert_no_error (error);
  d->store = mts_store_create (dir, PASS, strlen (PASS), "test", &error);
  g_assert_no_error (error);
  d->session = mts_sync_session_new (d->store, &error);
  g_assert_no_error (error);
  g_assert_true (mts_sync_session_configure (d->session, url, ca, &error));
  user = mts_test_user_new (srv, slug, &error);
  g_assert_no_error (error);
  mts_test_user_code (user, code);
  g_assert_true (mts_sync_session_login (d->session, slug, user->username, user->password, code,
                                         "ai test", NULL, &error));
  g_assert_no_error (error);
  {
    g_autoptr(MtsClinician) c = mts_clinician_new ();

    c->display_name = g_strdup ("Dr Ada Smith");
    g_assert_true (mts_store_clinician_add (d->store, c, &error));
    g_assert_no_error (error);
    mts_store_set_actor (d->store, c->id);
  }
  d->client_id = add_client (d->store, "Jane Consenting");
  d->other_id = add_client (d->store, "John Unasked");
  g_assert_true (mts_store_ai_consent_set (d->store, d->client_id, TRUE, &error));
  g_assert_no_error (error);
  sync_device (d);
  return d;
}

/* --- cases ------------------------------------------------------------- */

static void
test_draft (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsAiResult) note = NULL;
  g_autoptr(MtsAiResult) tmpl = NULL;
  guint before = standin_requests ();

  note = mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, "SOAP", NULL,
                       "Slept better this week. ECHO-note-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (note->provider, ==, "anthropic");
  g_assert_cmpstr (note->model, ==, "claude-test");
  g_assert_true (g_str_has_prefix (note->draft, "anthropic draft STANDIN-DRAFT-"));
  g_assert_nonnull (strstr (note->draft, "ECHO-note-1"));
  g_assert_null (note->signals);

  tmpl = mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, NULL, "free",
                       "[\"Presenting issue\", \"Goals\"]", "A template for ECHO-tmpl-2",
                       NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (tmpl->draft, "ECHO-tmpl-2"));
  g_assert_cmpuint (standin_requests (), ==, before + 2);
}

static void
test_risk_signals (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GError) error = NULL;
  g_autoptr(MtsAiResult) r = NULL;
  const char *text = "Café first.\nShe said RISK she might hurt herself.\nWork is fine.";
  MtsAiSignal *s;

  r = mts_ai_draft (d->session, MTS_AI_FEATURE_RISK_SIGNALS, d->client_id, NULL, NULL, text,
                    NULL, &error);
  g_assert_no_error (error);
  g_assert_null (r->draft);
  g_assert_nonnull (r->signals);
  /* The stand-in's made-up passage was dropped by the server. */
  g_assert_cmpuint (r->signals->len, ==, 1);
  s = r->signals->pdata[0];
  g_assert_cmpstr (s->passage, ==, "She said RISK she might hurt herself.");
  g_assert_true (g_str_has_prefix (s->reason, "stand-in reason"));
  /* "Café first.\n" is 13 bytes: é takes two. */
  g_assert_cmpuint (s->offset, ==, 13);
  g_assert_cmpint (strncmp (text + s->offset, s->passage, strlen (s->passage)), ==, 0);
}

static void
test_refusals (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GError) error = NULL;
  g_autofree char *unknown = g_uuid_string_random ();
  g_autofree char *long_text = g_strnfill (MAX_TEXT + 1, 'x');
  guint before = standin_requests ();

  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->other_id, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_NO_CONSENT);
  g_assert_nonnull (strstr (error->message, "consent"));
  g_clear_error (&error);

  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_RISK_SIGNALS, unknown, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               long_text, NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_TOO_LONG);
  g_clear_error (&error);
  g_assert_cmpuint (standin_requests (), ==, before);

  standin_mode ("401");
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "API key"));
  g_assert_null (strstr (error->message, API_KEY));
  g_clear_error (&error);

  standin_mode ("529");
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "OpenAI: not configured"));
  g_clear_error (&error);
  g_assert_cmpuint (standin_requests (), ==, before + 2);
  standin_mode ("ok");
}

static void
test_bad_arguments (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GError) error = NULL;
  guint before = standin_requests ();

  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, NULL, NULL, NULL, "t",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, d->client_id, NULL, NULL, "t",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, NULL, NULL, "{\"a\": 1}", "t",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, NULL, NULL, "[1, 2]", "t",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, NULL, NULL, NULL, "",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID);
  g_clear_error (&error);
  /* A kind the server does not know: its refusal, as a sync refusal. */
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_TEMPLATE, NULL, "XYZ", NULL, "t",
                               NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "template.kind"));
  g_clear_error (&error);
  g_assert_cmpuint (standin_requests (), ==, before);
}

static void
test_not_configured (void)
{
  g_autoptr(MtsTestServer) bare = NULL;
  g_autoptr(Device) d = NULL;
  g_autoptr(GError) error = NULL;

  get_server ();
  bare = ai_server ("ai-bare", 9, FALSE);
  d = device_new (bare);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_AI_ERROR, MTS_AI_ERROR_NOT_CONFIGURED);
  g_assert_nonnull (strstr (error->message, "not set up"));
  g_clear_error (&error);
  g_clear_pointer (&d, device_free);
  mts_test_server_stop (bare);
}

/* --- asynchronous ------------------------------------------------------ */

typedef struct {
  GMainLoop *loop;
  MtsAiResult *result;
  GError *error;
} Wait;

static void
draft_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;

  g_assert_null (source);
  w->result = mts_ai_draft_finish (result, &w->error);
  g_main_loop_quit (w->loop);
}

static void
run_async (MtsStore *store, MtsAiFeature feature, const char *client_id, const char *text,
           Wait *w)
{
  w->loop = g_main_loop_new (NULL, FALSE);
  mts_ai_draft_async (store, feature, client_id, NULL, NULL, text, NULL, draft_done_cb, w);
  g_main_loop_run (w->loop);
  g_main_loop_unref (w->loop);
}

static void
test_async (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  Wait w = { 0 };

  /* The session the device logged in with is dropped: the worker makes its
   * own from the stored refresh token. */
  g_clear_object (&d->session);
  run_async (d->store, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, "Async ECHO-async-3", &w);
  g_assert_no_error (w.error);
  g_assert_nonnull (w.result);
  g_assert_nonnull (strstr (w.result->draft, "ECHO-async-3"));
  g_clear_pointer (&w.result, mts_ai_result_free);

  run_async (d->store, MTS_AI_FEATURE_SESSION_NOTE, d->other_id, "No consent", &w);
  g_assert_null (w.result);
  g_assert_error (w.error, MTS_AI_ERROR, MTS_AI_ERROR_NO_CONSENT);
  g_clear_error (&w.error);

  /* The app's store is still usable, and its own sync still works. */
  d->session = mts_sync_session_new (d->store, &w.error);
  g_assert_no_error (w.error);
  sync_device (d);

  mts_store_lock (d->store);
  run_async (d->store, MTS_AI_FEATURE_TEMPLATE, NULL, "template", &w);
  g_assert_null (w.result);
  g_assert_error (w.error, MTS_STORE_ERROR, MTS_STORE_ERROR_LOCKED);
  g_clear_error (&w.error);
}

static void
test_cancelled (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancel);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               "text", cancel, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_CANCELLED);
}

/* Last: the shared server is stopped for good. */
static void
test_offline (void)
{
  g_autoptr(Device) d = device_new (get_server ());
  g_autoptr(GError) error = NULL;
  Wait w = { 0 };

  mts_test_server_stop (server);
  g_assert_null (mts_ai_draft (d->session, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, NULL, NULL,
                               "text", NULL, &error));
  g_assert_error (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE);
  g_clear_error (&error);

  run_async (d->store, MTS_AI_FEATURE_SESSION_NOTE, d->client_id, "text", &w);
  g_assert_error (w.error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_OFFLINE);
  g_clear_error (&w.error);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ai-client/draft", test_draft);
  g_test_add_func ("/ai-client/risk-signals", test_risk_signals);
  g_test_add_func ("/ai-client/refusals", test_refusals);
  g_test_add_func ("/ai-client/bad-arguments", test_bad_arguments);
  g_test_add_func ("/ai-client/not-configured", test_not_configured);
  g_test_add_func ("/ai-client/async", test_async);
  g_test_add_func ("/ai-client/cancelled", test_cancelled);
  g_test_add_func ("/ai-client/offline", test_offline);
  status = g_test_run ();
  g_clear_pointer (&standin, mts_test_standin_free);
  if (server != NULL)
    {
      mts_test_server_stop (server);
      mts_test_server_free (server);
    }
  mts_test_fixture_tear_down (status != 0);
  return status;
}
