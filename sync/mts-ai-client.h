/* mts-ai-client.h — AI drafting as the desktop asks for it: one request to
 * the practice's server, POST /v1/ai/draft (docs/api.md, docs/ai.md), which
 * checks the client's consent and relays the text to Anthropic or, when
 * Anthropic is down, OpenAI.  The device never talks to a provider itself
 * and holds no provider key.
 *
 * What is sent: the feature, the client's id (the server checks its
 * consent; the provider never sees it), the template's kind and headings,
 * and only @text, the text the therapist chose to send.  Nothing is stored
 * here: the caller puts the draft into an unsigned note marked AI-assisted,
 * or shows the risk passages for the therapist to accept or dismiss.
 *
 * Errors: MTS_AI_ERROR for the server's AI answers (below); MTS_SYNC_ERROR
 * for everything else, as for sync (OFFLINE, NETWORK, TLS, AUTH,
 * NOT_LOGGED_IN, REVOKED, REFUSED for a support user, CANCELLED,
 * INVALID for a bad argument); MTS_STORE_ERROR for the store.  Messages are
 * plain sentences for the therapist and hold none of the text.
 */
#pragma once

#include "mts-store.h"
#include "mts-sync-session.h"

G_BEGIN_DECLS

#define MTS_AI_ERROR (mts_ai_error_quark ())
GQuark mts_ai_error_quark (void);

/**
 * MtsAiError:
 * @MTS_AI_ERROR_NOT_CONFIGURED: the server has no provider key (503
 *   ai_not_configured), or does not offer AI drafting at all.  Tell the
 *   user to ask the practice's administrator.
 * @MTS_AI_ERROR_NO_CONSENT: the client's consent to AI-assisted drafting
 *   is not recorded (403 consent_missing), or was withdrawn.  Nothing was
 *   sent.  Record consent (and sync) first.
 * @MTS_AI_ERROR_TOO_LONG: the text is longer than the server accepts (413
 *   text_too_long, or a body over the server's size limit).  Send less.
 * @MTS_AI_ERROR_UNAVAILABLE: no provider could answer: both down, busy or
 *   unreachable (502 ai_unavailable).  Try again later.
 * @MTS_AI_ERROR_REFUSED: a provider refused the request (502 ai_refused:
 *   its key, its spending limit, a request it will not take); the server
 *   does not try another for a refusal.  The message says why.
 * @MTS_AI_ERROR_NOT_FOUND: the server does not know the client (404
 *   client_not_found): not synced yet, or deleted.  Sync, then try again.
 */
typedef enum {
  MTS_AI_ERROR_NOT_CONFIGURED,
  MTS_AI_ERROR_NO_CONSENT,
  MTS_AI_ERROR_TOO_LONG,
  MTS_AI_ERROR_UNAVAILABLE,
  MTS_AI_ERROR_REFUSED,
  MTS_AI_ERROR_NOT_FOUND,
} MtsAiError;

typedef enum {
  MTS_AI_FEATURE_SESSION_NOTE,   /* a note draft from a transcript or summary */
  MTS_AI_FEATURE_RISK_SIGNALS,   /* passages that may deserve a second look, and why */
  MTS_AI_FEATURE_TEMPLATE,       /* a template's headings, from a request: no client */
} MtsAiFeature;

typedef struct {
  char *passage;   /* an exact substring of the text sent */
  char *reason;    /* why it may deserve a look: never a decision */
  gsize offset;    /* byte offset of the passage in the sent text (its first occurrence) */
} MtsAiSignal;

typedef struct {
  char *provider;      /* "anthropic" or "openai": show which one answered */
  char *model;
  char *draft;         /* the draft (note or headings, one per line); NULL for risk signals */
  GPtrArray *signals;  /* of MtsAiSignal, for risk signals (maybe empty); else NULL */
} MtsAiResult;

/* Frees @result, wiping its texts.  NULL is allowed. */
void mts_ai_result_free (MtsAiResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsAiResult, mts_ai_result_free)

/* The API's name of @feature: "session_note", "risk_signals", "template". */
const char *mts_ai_feature_name (MtsAiFeature feature);

/* How long the request may go without a byte from the server: the server
 * may try two providers, each up to its timeout (60 s by default), and
 * wait out a Retry-After (MTS_SYNC_STALL_TIMEOUT_S is far too short). */
#define MTS_AI_STALL_TIMEOUT_S 330

/**
 * mts_ai_draft:
 * @session: a logged-in session (mts-sync-session.h)
 * @client_id: (nullable): the client the text is about: required for
 *   SESSION_NOTE and RISK_SIGNALS, NULL for TEMPLATE
 * @template_kind: (nullable): "SOAP", "DAP", "BIRP" or "free"
 * @template_structure_json: (nullable): a JSON array of headings, e.g.
 *   `["Data", "Assessment", "Plan"]`: for a note, the headings to draft
 *   under (NULL: the kind's); for TEMPLATE, the existing structure
 * @text: the text the therapist chose to send (UTF-8, not empty)
 * @cancellable: (nullable)
 *
 * Asks the server for a draft and waits (a few seconds, or a minute or
 * more when a provider is slow).  Blocking: call from a worker thread, or
 * use mts_ai_draft_async().  For the request, the session client's stall
 * timeout is MTS_AI_STALL_TIMEOUT_S; afterwards both of its timeouts are
 * back to their defaults.
 *
 * Returns: (transfer full) (nullable): the result, or NULL with @error set
 */
MtsAiResult *mts_ai_draft (MtsSyncSession *session, MtsAiFeature feature, const char *client_id,
                           const char *template_kind, const char *template_structure_json,
                           const char *text, GCancellable *cancellable, GError **error);

/**
 * mts_ai_draft_async:
 * @store: the app's unlocked store, on the thread that uses it
 *
 * mts_ai_draft() without blocking: clones @store's keystore here (so
 * @store must be unlocked: else MTS_STORE_ERROR_LOCKED), then in a GTask
 * worker thread opens a twin store with it (mts_store_open_twin()'s second
 * half), a session of its own on the twin, and asks.  @callback runs on
 * the calling thread's thread-default main context; the twin is closed and
 * its keys wiped before it runs.  The other arguments are copied.
 */
void mts_ai_draft_async (MtsStore *store, MtsAiFeature feature, const char *client_id,
                         const char *template_kind, const char *template_structure_json,
                         const char *text, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);

/* Returns: (transfer full) (nullable): as mts_ai_draft() */
MtsAiResult *mts_ai_draft_finish (GAsyncResult *result, GError **error);

G_END_DECLS
