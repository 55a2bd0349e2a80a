/* mts-server-ai.h — the AI relay: POST /v1/ai/draft (docs/api.md,
 * docs/ai.md, DESIGN.md §6).
 *
 * The desktop never talks to an AI provider: it sends the server the
 * feature, the client's id and only the text the therapist chose to send.
 * The server checks the caller's role and the client's recorded AI consent
 * (a live ai_consents record with consented = 1), then asks Anthropic's
 * Messages API, falling back to OpenAI's Chat Completions (store: false)
 * when Anthropic is down, overloaded, rate-limited or unreachable, never
 * when it refused the request (mts-server-ai-wire.h has the rules).  The
 * request is paused meanwhile: the server's one thread answers others.
 * Nothing of the text or the answer is stored, logged or audited; the
 * audit log names the feature, the client, the user and device, the
 * provider and the outcome.
 *
 * Provider keys: MTS_ANTHROPIC_API_KEY / MTS_OPENAI_API_KEY, read once at
 * start and kept in locked memory, else the vault secrets
 * "ai-anthropic-key" / "ai-openai-key" (mts-server ai-key-set), read per
 * request so that a new key needs no restart.  The environment wins.  A
 * provider without a key is skipped; with neither, the endpoint answers
 * 503 ai_not_configured.
 */
#pragma once

#include "mts-server.h"
#include "mts-server-ai-wire.h"

G_BEGIN_DECLS

/* The relay's state: its HTTP client session and the keys from the
 * environment.  Fails (MTS_SERVER_CONFIG_ERROR) on a key variable that is
 * set but not a valid key, or an [ai] ca_file that cannot be loaded.
 * Returns (transfer full) (nullable). */
MtsServerAi *mts_server_ai_new (const MtsServerConfig *config, MtsVault *vault, GError **error);
void mts_server_ai_free (MtsServerAi *ai);

/* POST /v1/ai/draft. */
void mts_ai_draft_post (MtsServer *server, SoupServerMessage *msg, const MtsCaller *caller);

G_END_DECLS
