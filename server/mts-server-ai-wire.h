/* mts-server-ai-wire.h — what the AI relay says to the providers and how it
 * reads their answers, with no I/O: the fixed system prompts, the user
 * message built from the therapist's text, each provider's request body,
 * the sorting of an answer into use / retry / fall back / refused, and the
 * parsing of drafts and risk signals.  mts-server-ai.c does the talking;
 * docs/ai.md is the prose of the same rules, with the fallback table.
 *
 * Nothing here logs, and no reason string it makes holds any part of a
 * prompt, an answer or a key: reasons are built from the HTTP status and
 * the provider's error type alone.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  MTS_AI_WIRE_SESSION_NOTE,
  MTS_AI_WIRE_RISK_SIGNALS,
  MTS_AI_WIRE_TEMPLATE,
} MtsAiWireFeature;

typedef enum {
  MTS_AI_WIRE_ANTHROPIC,
  MTS_AI_WIRE_OPENAI,
  MTS_AI_WIRE_N_PROVIDERS
} MtsAiWireProvider;

/* The vault secret names of the providers' keys (mts_vault_secret_get). */
#define MTS_AI_ANTHROPIC_SECRET "ai-anthropic-key"
#define MTS_AI_OPENAI_SECRET    "ai-openai-key"
/* The environment variables that override them. */
#define MTS_AI_ANTHROPIC_ENV "MTS_ANTHROPIC_API_KEY"
#define MTS_AI_OPENAI_ENV    "MTS_OPENAI_API_KEY"
#define MTS_AI_KEY_MIN_BYTES 8
#define MTS_AI_KEY_MAX_BYTES 512

/* Whether @key (@len bytes) can be an API key: MTS_AI_KEY_MIN_BYTES to
 * MTS_AI_KEY_MAX_BYTES printable ASCII characters without spaces (it goes
 * into an HTTP header). */
gboolean mts_ai_wire_key_valid (const char *key, gsize len);

/* "session_note", "risk_signals", "template" (the API's names). */
const char *mts_ai_wire_feature_name (MtsAiWireFeature feature);
gboolean mts_ai_wire_feature_from_name (const char *name, MtsAiWireFeature *out);

/* "anthropic", "openai" (the API's names); "Anthropic", "OpenAI" (people's). */
const char *mts_ai_wire_provider_name (MtsAiWireProvider provider);
const char *mts_ai_wire_provider_label (MtsAiWireProvider provider);

/* The fixed system prompt of @feature. */
const char *mts_ai_wire_system_prompt (MtsAiWireFeature feature);

/* The headings a note of template kind @kind has by default ("SOAP": S, O,
 * A, P; "DAP"; "BIRP"); NULL for "free" or an unknown kind. */
const char *const *mts_ai_wire_default_headings (const char *kind);

/**
 * mts_ai_wire_user_message:
 * @text: the therapist's text, as sent
 * @kind: (nullable): the template kind
 * @headings: (nullable): the template's headings (NULL-terminated); NULL
 *   takes @kind's defaults
 *
 * The user message: for a note or a risk analysis the text between
 * <text> and </text> (a note's headings before it), for the template
 * builder the request and the existing structure.  No identifier of a
 * client or a user is ever added.  The caller wipes it after use.
 *
 * Returns: (transfer full)
 */
char *mts_ai_wire_user_message (MtsAiWireFeature feature, const char *text, const char *kind,
                                const char *const *headings);

/* The JSON body of a request to @provider: Anthropic's Messages API
 * ({model, max_tokens, system, messages}) or OpenAI's Chat Completions
 * ({model, max_tokens, store: false, messages: [system, user]}).
 * Returns (transfer full) bytes that are wiped when freed. */
GBytes *mts_ai_wire_request_body (MtsAiWireProvider provider, const char *model,
                                  guint max_tokens, const char *system, const char *user);

/* Wipes and frees a string (a prompt, an answer).  NULL is allowed. */
void mts_ai_wire_wipe_free (char *text);

typedef enum {
  MTS_AI_WIRE_USE,        /* a 2xx: parse it */
  MTS_AI_WIRE_RETRY,      /* a rate limit: ask the same provider again after *wait_ms */
  MTS_AI_WIRE_FALLBACK,   /* the provider is down or busy: try the next one */
  MTS_AI_WIRE_REFUSED,    /* refused for good: no fallback */
} MtsAiWireVerdict;

/* A Retry-After (delta seconds or an HTTP date) and OpenAI's retry-after-ms,
 * either NULL: the wait in milliseconds, or -1 when neither says. */
gint64 mts_ai_wire_retry_after_ms (const char *retry_after, const char *retry_after_ms);

/**
 * mts_ai_wire_classify:
 * @status: the HTTP status
 * @body: (nullable): the answer's body (an error object, for a 4xx)
 * @retry_after_ms: from mts_ai_wire_retry_after_ms()
 * @retries_left: how many more times this provider may be asked
 * @max_wait_ms: the longest Retry-After honoured
 * @wait_ms: (out): for RETRY, how long to wait
 * @reason: (out) (transfer full): for anything but USE, a short reason in
 *   plain words naming the status ("overloaded (HTTP 529)", "spending
 *   limit reached (HTTP 429)")
 *
 * The fallback rules (docs/ai.md): 2xx use; 529, other 5xx and 408 fall
 * back; a 429 is a spend limit (refused) when its error type, code or
 * message speaks of quota, billing, credit or a spend limit, else a rate
 * limit: retried after its Retry-After when that is at most @max_wait_ms
 * and @retries_left > 0, else fall back; 400, 401, 403, 413 and any other
 * status are refused.
 */
MtsAiWireVerdict mts_ai_wire_classify (MtsAiWireProvider provider, guint status, const char *body,
                                       gsize body_len, gint64 retry_after_ms, guint retries_left,
                                       guint max_wait_ms, guint *wait_ms, char **reason);

/**
 * mts_ai_wire_parse_answer:
 * @model: (out) (transfer full): the model the provider says answered, or
 *   NULL when it does not say
 * @refusal: (out): set when the model declined (OpenAI's message.refusal)
 *
 * The text of a 2xx answer: Anthropic's content[] text blocks joined,
 * OpenAI's choices[0].message.content.  NULL (with @reason set, in plain
 * words and holding none of the answer) when the answer is not of that
 * shape or its text is empty.  Returns (transfer full): wipe it with
 * mts_ai_wire_wipe_free.
 */
char *mts_ai_wire_parse_answer (MtsAiWireProvider provider, const char *body, gsize body_len,
                                char **model, gboolean *refusal, char **reason);

typedef struct {
  char *passage;   /* an exact substring of the text sent */
  char *reason;
  gsize offset;    /* byte offset of its first occurrence in the text */
} MtsAiWireSignal;

void mts_ai_wire_signal_free (MtsAiWireSignal *signal);

/**
 * mts_ai_wire_parse_signals:
 * @answer: the model's answer (JSON {"signals": [{"passage", "reason"}]},
 *   possibly inside a ```json fence or with words around it)
 * @text: the text that was sent
 *
 * The signals whose passage is a non-empty substring of @text, with a
 * non-empty reason; others are dropped (a passage the model paraphrased
 * or made up), as are repeats.  *@dropped (optional) counts the dropped.
 *
 * Returns: (transfer full) (nullable): a GPtrArray of MtsAiWireSignal, or
 *   NULL when @answer holds no such JSON object
 */
GPtrArray *mts_ai_wire_parse_signals (const char *answer, const char *text, guint *dropped);

G_END_DECLS
