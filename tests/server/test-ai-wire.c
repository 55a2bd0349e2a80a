/* test-ai-wire.c — the AI relay's wire rules alone (server/mts-server-ai-wire.h):
 * the fallback table, Retry-After, request bodies, prompts, reading answers
 * and risk signals; and the vault's server secrets the providers' keys are
 * sealed in (server/mts-vault.h). */
#define G_LOG_DOMAIN "mts-test"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>

#include "mts-error.h"
#include "mts-server-ai-wire.h"
#include "mts-vault.h"

#define A MTS_AI_WIRE_ANTHROPIC
#define O MTS_AI_WIRE_OPENAI

/* --- the fallback table ------------------------------------------------ */

typedef struct {
  MtsAiWireProvider provider;
  guint status;
  const char *body;
  gint64 retry_after_ms;
  guint retries_left;
  MtsAiWireVerdict verdict;
  guint wait_ms;
  const char *reason_has;
} ClassifyCase;

static const ClassifyCase classify_cases[] = {
  { A, 200, "{}", -1, 1, MTS_AI_WIRE_USE, 0, NULL },
  { O, 201, "{}", -1, 1, MTS_AI_WIRE_USE, 0, NULL },
  { A, 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}", -1, 1,
    MTS_AI_WIRE_FALLBACK, 0, "overloaded (HTTP 529)" },
  { A, 500, NULL, -1, 1, MTS_AI_WIRE_FALLBACK, 0, "HTTP 500" },
  { O, 502, "<html>", -1, 1, MTS_AI_WIRE_FALLBACK, 0, "HTTP 502" },
  { A, 503, NULL, 1000, 1, MTS_AI_WIRE_FALLBACK, 0, "HTTP 503" },
  { O, 504, NULL, -1, 0, MTS_AI_WIRE_FALLBACK, 0, "HTTP 504" },
  { A, 408, NULL, -1, 1, MTS_AI_WIRE_FALLBACK, 0, "timed out" },
  /* Rate limits: retried when Retry-After is short enough and retries are left. */
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
            "\"message\":\"Number of request tokens has exceeded your per-minute rate limit\"}}",
    1000, 1, MTS_AI_WIRE_RETRY, 1000, "rate-limited" },
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}", 1000, 0,
    MTS_AI_WIRE_FALLBACK, 0, "after retrying" },
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}", 10001, 1,
    MTS_AI_WIRE_FALLBACK, 0, "rate-limited" },
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}", -1, 1,
    MTS_AI_WIRE_FALLBACK, 0, "rate-limited" },
  { O, 429, "{\"error\":{\"type\":\"requests\",\"code\":\"rate_limit_exceeded\","
            "\"message\":\"Rate limit reached for requests\"}}",
    0, 1, MTS_AI_WIRE_RETRY, 0, "rate-limited" },
  { A, 429, "not json", 2000, 1, MTS_AI_WIRE_RETRY, 2000, "rate-limited" },
  /* Spend limits: refused, whatever Retry-After says. */
  { O, 429, "{\"error\":{\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\","
            "\"message\":\"You exceeded your current quota\"}}",
    1000, 1, MTS_AI_WIRE_REFUSED, 0, "spending limit" },
  { O, 429, "{\"error\":{\"type\":\"requests\",\"code\":null,"
            "\"message\":\"check your plan and billing details\"}}",
    -1, 1, MTS_AI_WIRE_REFUSED, 0, "spending limit" },
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
            "\"message\":\"You have reached your specified API usage limits / spend limit\"}}",
    1000, 1, MTS_AI_WIRE_REFUSED, 0, "spending limit" },
  { A, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
            "\"message\":\"Your credit balance is too low\"}}",
    1000, 1, MTS_AI_WIRE_REFUSED, 0, "spending limit" },
  /* Refusals: never a fallback. */
  { A, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
            "\"message\":\"SECRET-INPUT quoted back\"}}",
    -1, 1, MTS_AI_WIRE_REFUSED, 0, "(HTTP 400, invalid_request_error)" },
  { A, 401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}", -1, 1,
    MTS_AI_WIRE_REFUSED, 0, "API key" },
  { O, 401, NULL, -1, 1, MTS_AI_WIRE_REFUSED, 0, "API key (HTTP 401)" },
  { A, 403, NULL, -1, 1, MTS_AI_WIRE_REFUSED, 0, "HTTP 403" },
  { A, 413, "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\"}}", -1, 1,
    MTS_AI_WIRE_REFUSED, 0, "too large (HTTP 413, request_too_large)" },
  { O, 404, NULL, -1, 1, MTS_AI_WIRE_REFUSED, 0, "model" },
  { O, 422, "{\"error\":{\"type\":\"Weird Type <script>\"}}", -1, 1, MTS_AI_WIRE_REFUSED, 0,
    "(HTTP 422)" },
};

static void
test_classify (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (classify_cases); i++)
    {
      const ClassifyCase *c = &classify_cases[i];
      g_autofree char *reason = NULL;
      guint wait = 12345;
      MtsAiWireVerdict v;

      g_test_message ("case %u: %s %u", i, mts_ai_wire_provider_name (c->provider), c->status);
      v = mts_ai_wire_classify (c->provider, c->status, c->body, c->body ? strlen (c->body) : 0,
                                c->retry_after_ms, c->retries_left, 10000, &wait, &reason);
      g_assert_cmpint (v, ==, c->verdict);
      g_assert_cmpuint (wait, ==, c->wait_ms);
      if (c->reason_has == NULL)
        g_assert_null (reason);
      else
        {
          g_assert_nonnull (reason);
          g_assert_nonnull (strstr (reason, c->reason_has));
          /* A provider's own message is never repeated. */
          g_assert_null (strstr (reason, "SECRET"));
          g_assert_null (strstr (reason, "<script>"));
        }
    }
}

static void
test_retry_after (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_seconds (now, 30);
  g_autofree char *date = soup_date_time_to_string (later, SOUP_DATE_HTTP);
  gint64 ms;

  g_assert_cmpint (mts_ai_wire_retry_after_ms (NULL, NULL), ==, -1);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("1", NULL), ==, 1000);
  g_assert_cmpint (mts_ai_wire_retry_after_ms (" 7 ", NULL), ==, 7000);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("0", NULL), ==, 0);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("2", "1500"), ==, 1500);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("soon", NULL), ==, -1);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("-3", NULL), ==, -1);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("99999999999999", NULL), ==, -1);
  ms = mts_ai_wire_retry_after_ms (date, NULL);
  g_assert_cmpint (ms, >, 25000);
  g_assert_cmpint (ms, <=, 30000);
  g_assert_cmpint (mts_ai_wire_retry_after_ms ("Wed, 21 Oct 2015 07:28:00 GMT", NULL), ==, 0);
}

/* --- requests ---------------------------------------------------------- */

static JsonObject *
parse_object (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_true (json_parser_load_from_data (parser, data, len, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_request_bodies (void)
{
  g_autoptr(GBytes) a = mts_ai_wire_request_body (A, "claude-x", 99, "SYS", "USER");
  g_autoptr(GBytes) o = mts_ai_wire_request_body (O, "gpt-x", 98, "SYS", "USER");
  g_autoptr(JsonObject) ja = parse_object (a);
  g_autoptr(JsonObject) jo = parse_object (o);
  JsonArray *m;

  g_assert_cmpuint (json_object_get_size (ja), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (ja, "model"), ==, "claude-x");
  g_assert_cmpint (json_object_get_int_member (ja, "max_tokens"), ==, 99);
  g_assert_cmpstr (json_object_get_string_member (ja, "system"), ==, "SYS");
  m = json_object_get_array_member (ja, "messages");
  g_assert_cmpuint (json_array_get_length (m), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (m, 0), "role"),
                   ==, "user");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (m, 0), "content"),
                   ==, "USER");

  g_assert_cmpuint (json_object_get_size (jo), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (jo, "model"), ==, "gpt-x");
  g_assert_cmpint (json_object_get_int_member (jo, "max_tokens"), ==, 98);
  g_assert_true (json_object_has_member (jo, "store"));
  g_assert_false (json_object_get_boolean_member (jo, "store"));
  m = json_object_get_array_member (jo, "messages");
  g_assert_cmpuint (json_array_get_length (m), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (m, 0), "role"),
                   ==, "system");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (m, 0), "content"),
                   ==, "SYS");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (m, 1), "role"),
                   ==, "user");
}

static void
test_prompts (void)
{
  const char *const mine[] = { "Themes", "Next steps", NULL };
  g_autofree char *soap = mts_ai_wire_user_message (MTS_AI_WIRE_SESSION_NOTE, "TEXT", "SOAP", NULL);
  g_autofree char *free_ = mts_ai_wire_user_message (MTS_AI_WIRE_SESSION_NOTE, "TEXT", "free", NULL);
  g_autofree char *given = mts_ai_wire_user_message (MTS_AI_WIRE_SESSION_NOTE, "TEXT", "SOAP", mine);
  g_autofree char *risk = mts_ai_wire_user_message (MTS_AI_WIRE_RISK_SIGNALS, "TEXT", "BIRP", NULL);
  g_autofree char *tmpl = mts_ai_wire_user_message (MTS_AI_WIRE_TEMPLATE, "ASK", "DAP", NULL);
  MtsAiWireFeature f;

  g_assert_nonnull (strstr (soap, "- Subjective\n- Objective\n- Assessment\n- Plan\n"));
  g_assert_nonnull (strstr (soap, "<text>\nTEXT\n</text>"));
  g_assert_nonnull (strstr (free_, "No headings"));
  g_assert_nonnull (strstr (given, "- Themes\n- Next steps\n"));
  g_assert_null (strstr (given, "Subjective"));
  g_assert_cmpstr (risk, ==, "<text>\nTEXT\n</text>");
  g_assert_nonnull (strstr (tmpl, "Request:\nASK\n"));
  g_assert_nonnull (strstr (tmpl, "- Data\n- Assessment\n- Plan\n"));

  g_assert_nonnull (strstr (mts_ai_wire_system_prompt (MTS_AI_WIRE_RISK_SIGNALS), "\"signals\""));
  g_assert_nonnull (strstr (mts_ai_wire_system_prompt (MTS_AI_WIRE_RISK_SIGNALS),
                            "do not assess, diagnose"));
  g_assert_nonnull (strstr (mts_ai_wire_system_prompt (MTS_AI_WIRE_TEMPLATE), "headings only"));
  g_assert_nonnull (strstr (mts_ai_wire_system_prompt (MTS_AI_WIRE_SESSION_NOTE), "review"));

  g_assert_true (mts_ai_wire_feature_from_name ("risk_signals", &f));
  g_assert_cmpint (f, ==, MTS_AI_WIRE_RISK_SIGNALS);
  g_assert_false (mts_ai_wire_feature_from_name ("risk", &f));
  g_assert_false (mts_ai_wire_feature_from_name (NULL, &f));
  g_assert_cmpstr (mts_ai_wire_feature_name (MTS_AI_WIRE_TEMPLATE), ==, "template");

  g_assert_true (mts_ai_wire_key_valid ("sk-ant-api03-abc", 16));
  g_assert_false (mts_ai_wire_key_valid ("short", 5));
  g_assert_false (mts_ai_wire_key_valid ("has a space", 11));
  g_assert_false (mts_ai_wire_key_valid ("tab\there12", 10));
  g_assert_false (mts_ai_wire_key_valid ("line\nbreak1", 11));
}

/* --- answers ----------------------------------------------------------- */

static char *
parse (MtsAiWireProvider p, const char *body, char **model, gboolean *refusal, char **reason)
{
  return mts_ai_wire_parse_answer (p, body, strlen (body), model, refusal, reason);
}

static void
test_parse_answers (void)
{
  g_autofree char *model = NULL, *reason = NULL;
  gboolean refusal = FALSE;
  char *text;

  text = parse (A, "{\"model\":\"claude-y\",\"content\":[{\"type\":\"text\",\"text\":\"\\nOne \"},"
                   "{\"type\":\"tool_use\",\"text\":\"NOT THIS\"},{\"type\":\"text\",\"text\":\"two\\n\"}]}",
                &model, &refusal, &reason);
  g_assert_cmpstr (text, ==, "One two");
  g_assert_cmpstr (model, ==, "claude-y");
  g_assert_null (reason);
  mts_ai_wire_wipe_free (text);
  g_clear_pointer (&model, g_free);

  text = parse (O, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Draft.\","
                   "\"refusal\":null}}]}", &model, &refusal, &reason);
  g_assert_cmpstr (text, ==, "Draft.");
  g_assert_null (model);
  mts_ai_wire_wipe_free (text);

  text = parse (O, "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"I can't\"}}]}",
                &model, &refusal, &reason);
  g_assert_null (text);
  g_assert_true (refusal);
  g_assert_nonnull (strstr (reason, "declined"));
  g_assert_null (strstr (reason, "can't"));
  g_clear_pointer (&reason, g_free);

  {
    static const char *const bad[][2] = {
      { "A", "not json" },
      { "A", "[1]" },
      { "A", "{\"content\":\"text\"}" },
      { "A", "{\"content\":[{\"type\":\"text\",\"text\":\"  \\n \"}]}" },
      { "A", "{\"content\":[]}" },
      { "O", "{\"choices\":[]}" },
      { "O", "{\"choices\":[{\"message\":{\"content\":7}}]}" },
      { "O", "{\"choices\":[{}]}" },
      { "O", "{\"content\":[{\"type\":\"text\",\"text\":\"wrong provider's shape\"}]}" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        text = parse (bad[i][0][0] == 'A' ? A : O, bad[i][1], &model, &refusal, &reason);
        g_assert_null (text);
        g_assert_null (model);
        g_assert_false (refusal);
        g_assert_nonnull (reason);
        g_clear_pointer (&reason, g_free);
      }
  }
}

static void
test_parse_signals (void)
{
  const char *text = "Café talk.\nShe said she wanted to disappear.\nWork is fine.";
  const char *answer =
    "Here you are:\n```json\n{\"signals\": ["
    "{\"passage\": \"She said she wanted to disappear.\", \"reason\": \"Possible suicidal thoughts.\"},"
    "{\"passage\": \"she wants to vanish\", \"reason\": \"paraphrased\"},"
    "{\"passage\": \"She said she wanted to disappear.\", \"reason\": \"again\"},"
    "{\"passage\": \"Work is fine.\"},"
    "{\"passage\": \"\", \"reason\": \"empty\"},"
    "\"not an object\","
    "{\"passage\": \"Work\", \"reason\": \"ok\"}"
    "]}\n```";
  g_autoptr(GPtrArray) sigs = NULL;
  MtsAiWireSignal *s;
  guint dropped = 0;

  sigs = mts_ai_wire_parse_signals (answer, text, &dropped);
  g_assert_nonnull (sigs);
  g_assert_cmpuint (sigs->len, ==, 2);
  g_assert_cmpuint (dropped, ==, 5);
  s = sigs->pdata[0];
  g_assert_cmpstr (s->passage, ==, "She said she wanted to disappear.");
  g_assert_cmpstr (s->reason, ==, "Possible suicidal thoughts.");
  /* "Café talk.\n" is 12 bytes (é is two). */
  g_assert_cmpuint (s->offset, ==, 12);
  g_assert_cmpint (memcmp (text + s->offset, s->passage, strlen (s->passage)), ==, 0);
  s = sigs->pdata[1];
  g_assert_cmpuint (s->offset, ==, (gsize) (strstr (text, "Work") - text));
  g_clear_pointer (&sigs, g_ptr_array_unref);

  sigs = mts_ai_wire_parse_signals ("{\"signals\": []}", text, NULL);
  g_assert_nonnull (sigs);
  g_assert_cmpuint (sigs->len, ==, 0);
  g_clear_pointer (&sigs, g_ptr_array_unref);

  g_assert_null (mts_ai_wire_parse_signals ("No risk signals found.", text, NULL));
  g_assert_null (mts_ai_wire_parse_signals ("{\"signals\": \"none\"}", text, NULL));
  g_assert_null (mts_ai_wire_parse_signals ("{\"passages\": []}", text, NULL));
  g_assert_null (mts_ai_wire_parse_signals ("} {", text, NULL));
}

/* --- server secrets in the vault --------------------------------------- */

#define PASS "vault passphrase for tests"

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_remove (child);
    }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (path);
}

static void
test_vault_secrets (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("mts-ai-wire-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "vault", NULL);
  g_autofree char *path = g_build_filename (dir, "ai-openai-key.sealed", NULL);
  g_autofree char *moved = g_build_filename (dir, "ai-anthropic-key.sealed", NULL);
  g_autofree char *file = NULL;
  MtsVault *vault = mts_vault_open (dir, PASS, strlen (PASS), MTS_KDF_TEST, &error);
  gboolean existed = TRUE;
  struct stat st;
  gsize len = 0;
  char *plain;

  g_assert_no_error (error);
  g_assert_null (mts_vault_secret_get (vault, "ai-openai-key", &len, &error));
  g_assert_no_error (error);

  g_assert_true (mts_vault_secret_set (vault, "ai-openai-key", "sk-SECRET-1", 11, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &file, &len, NULL));
  g_assert_null (g_strstr_len (file, len, "SECRET"));

  plain = mts_vault_secret_get (vault, "ai-openai-key", &len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (plain, ==, "sk-SECRET-1");
  g_assert_cmpuint (len, ==, 11);
  mts_vault_plain_free (plain);

  /* Replaced, then reopened from the file by another vault. */
  g_assert_true (mts_vault_secret_set (vault, "ai-openai-key", "sk-SECRET-2", 11, &error));
  mts_vault_free (vault);
  vault = mts_vault_open (dir, PASS, strlen (PASS), MTS_KDF_TEST, &error);
  g_assert_no_error (error);
  plain = mts_vault_secret_get (vault, "ai-openai-key", NULL, &error);
  g_assert_cmpstr (plain, ==, "sk-SECRET-2");
  mts_vault_plain_free (plain);

  /* Under another name it does not open. */
  g_assert_cmpint (g_rename (path, moved), ==, 0);
  g_assert_null (mts_vault_secret_get (vault, "ai-anthropic-key", NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_AUTH);
  g_assert_null (strstr (error->message, "SECRET"));
  g_clear_error (&error);
  g_assert_cmpint (g_rename (moved, path), ==, 0);

  /* Names that could leave the directory. */
  g_assert_false (mts_vault_secret_set (vault, "../x", "k", 1, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_vault_secret_get (vault, "", NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_vault_secret_get (vault, "A.B", NULL, &error));
  g_assert_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (mts_vault_secret_clear (vault, "ai-openai-key", &existed, &error));
  g_assert_true (existed);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (mts_vault_secret_clear (vault, "ai-openai-key", &existed, &error));
  g_assert_false (existed);
  g_assert_null (mts_vault_secret_get (vault, "ai-openai-key", NULL, &error));
  g_assert_no_error (error);

  mts_vault_free (vault);
  remove_tree (dir);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ai-wire/classify", test_classify);
  g_test_add_func ("/ai-wire/retry-after", test_retry_after);
  g_test_add_func ("/ai-wire/request-bodies", test_request_bodies);
  g_test_add_func ("/ai-wire/prompts", test_prompts);
  g_test_add_func ("/ai-wire/parse-answers", test_parse_answers);
  g_test_add_func ("/ai-wire/parse-signals", test_parse_signals);
  g_test_add_func ("/ai-wire/vault-secrets", test_vault_secrets);
  return g_test_run ();
}
