/* test-totp.c — TOTP (server/mts-totp.h): the RFC 6238 test vectors, the
 * `oathtool` command as an independent implementation, the drift window,
 * single use, malformed codes, the enrolment URI, and messages that never
 * carry the secret or the code. */
#include "mts-totp.h"

#include <sodium.h>
#include <string.h>

/* RFC 6238 Appendix B: the SHA1 secret is the ASCII "12345678901234567890". */
static const guint8 rfc_secret[] = "12345678901234567890";
#define RFC_SECRET_LEN 20
#define RFC_SECRET_BASE32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static const struct {
  gint64 time;
  const char *code8;   /* the RFC's 8-digit value; 6 digits are its last 6 */
} rfc_vectors[] = {
  { 59, "94287082" },
  { 1111111109, "07081804" },
  { 1111111111, "14050471" },
  { 1234567890, "89005924" },
  { 2000000000, "69279037" },
  { G_GINT64_CONSTANT (20000000000), "65353130" },
};

/* A time in the middle of a step, and that step. */
#define T 1234567890
#define S (T / 30)

static void
code_at (const guint8 *secret, gsize len, gint64 when, char out[MTS_TOTP_CODE_BUF])
{
  g_autoptr(GError) error = NULL;

  g_assert_true (mts_totp_code (secret, len, when, out, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (out), ==, 6);
}

/* 1. Each vector's last six digits, generated and then accepted at that
 * time, matching that time's step; one digit off is refused. */
static void
test_rfc_vectors (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rfc_vectors); i++)
    {
      const char *want = rfc_vectors[i].code8 + 2;
      gint64 when = rfc_vectors[i].time;
      g_autoptr(GError) error = NULL;
      char code[MTS_TOTP_CODE_BUF];
      char wrong[MTS_TOTP_CODE_BUF];
      gint64 matched = -1;

      g_test_message ("vector %" G_GSIZE_FORMAT ": t=%" G_GINT64_FORMAT, i, when);
      code_at (rfc_secret, RFC_SECRET_LEN, when, code);
      g_assert_cmpstr (code, ==, want);

      g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, want, when, -1,
                                     &matched, &error));
      g_assert_no_error (error);
      g_assert_cmpint (matched, ==, when / 30);

      memcpy (wrong, want, sizeof wrong);
      wrong[5] = (char) ('0' + (wrong[5] - '0' + 1) % 10);
      g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, wrong, when, -1,
                                      &matched, &error));
      g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG);
    }
}

/* oathtool's code for @base32 at @when, or NULL if it fails. */
static char *
oathtool_code (const char *oathtool, const char *base32, gint64 when)
{
  g_autofree char *now = g_strdup_printf ("@%" G_GINT64_FORMAT, when);
  const char *argv[] = { oathtool, "--totp", "-b", "-N", now, base32, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  return g_strdup (g_strstrip (out));
}

/* oathtool's verdict on @code for @base32 at @when with no drift window. */
static gboolean
oathtool_accepts (const char *oathtool, const char *base32, gint64 when, const char *code)
{
  g_autofree char *now = g_strdup_printf ("@%" G_GINT64_FORMAT, when);
  const char *argv[] = { oathtool, "--totp", "-b", "-w", "0", "-N", now, base32, code, NULL };
  int status = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  return g_spawn_check_wait_status (status, NULL);
}

/* 2. Against oathtool: the RFC secret and three random ones, at the RFC
 * times and now; our codes equal oathtool's, we accept oathtool's codes
 * and oathtool accepts ours. */
static void
test_oathtool (void)
{
  g_autofree char *oathtool = g_find_program_in_path ("oathtool");
  gint64 times[G_N_ELEMENTS (rfc_vectors) + 1];

  if (oathtool == NULL)
    {
      g_test_skip ("oathtool is not installed (Debian package oathtool)");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (rfc_vectors); i++)
    times[i] = rfc_vectors[i].time;
  times[G_N_ELEMENTS (rfc_vectors)] = g_get_real_time () / G_USEC_PER_SEC;

  for (int k = 0; k < 4; k++)
    {
      guint8 secret[MTS_TOTP_SECRET_BYTES];
      g_autofree char *base32 = NULL;

      if (k == 0)
        memcpy (secret, rfc_secret, sizeof secret);
      else
        mts_totp_secret_new (secret);
      base32 = mts_totp_secret_base32 (secret, sizeof secret);

      for (gsize i = 0; i < G_N_ELEMENTS (times); i++)
        {
          g_autofree char *theirs = oathtool_code (oathtool, base32, times[i]);
          g_autoptr(GError) error = NULL;
          char ours[MTS_TOTP_CODE_BUF];
          gint64 matched = -1;

          code_at (secret, sizeof secret, times[i], ours);
          g_assert_cmpstr (ours, ==, theirs);
          g_assert_true (mts_totp_check (secret, sizeof secret, theirs, times[i], -1,
                                         &matched, &error));
          g_assert_no_error (error);
          g_assert_cmpint (matched, ==, times[i] / 30);
          g_assert_true (oathtool_accepts (oathtool, base32, times[i], ours));
        }
      /* oathtool is a real judge: it refuses a code from two steps back. */
      {
        char old[MTS_TOTP_CODE_BUF];

        code_at (secret, sizeof secret, T - 60, old);
        g_assert_false (oathtool_accepts (oathtool, base32, T, old));
      }
    }
}

/* 3. One step either side is accepted and names its step; two is not. */
static void
test_drift (void)
{
  static const struct { int offset; gboolean ok; } cases[] = {
    { -2, FALSE }, { -1, TRUE }, { 0, TRUE }, { 1, TRUE }, { 2, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      char code[MTS_TOTP_CODE_BUF];
      gint64 matched = -1;
      gboolean ok;

      code_at (rfc_secret, RFC_SECRET_LEN, T + 30 * cases[i].offset, code);
      ok = mts_totp_check (rfc_secret, RFC_SECRET_LEN, code, T, -1, &matched, &error);
      g_test_message ("offset %d", cases[i].offset);
      if (cases[i].ok)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_cmpint (matched, ==, S + cases[i].offset);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG);
          g_assert_cmpint (matched, ==, -1);
        }
    }
}

/* 4. At the first second of a step, the previous step's code still works;
 * at the last second, the next step's does; at step 0, "step -1" is not
 * tried (nothing before the epoch). */
static void
test_drift_edges (void)
{
  char code[MTS_TOTP_CODE_BUF];
  gint64 matched = -1;

  code_at (rfc_secret, RFC_SECRET_LEN, S * 30 - 1, code);
  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, code, S * 30, -1, &matched, NULL));
  g_assert_cmpint (matched, ==, S - 1);

  code_at (rfc_secret, RFC_SECRET_LEN, S * 30 + 30, code);
  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, code, S * 30 + 29, -1, &matched, NULL));
  g_assert_cmpint (matched, ==, S + 1);

  code_at (rfc_secret, RFC_SECRET_LEN, 0, code);
  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, code, 0, -1, &matched, NULL));
  g_assert_cmpint (matched, ==, 0);
}

/* 5. Each code once: the same step again, or an earlier one, is REUSED; a
 * later step is accepted after an earlier one. */
static void
test_reuse (void)
{
  g_autoptr(GError) error = NULL;
  char now_code[MTS_TOTP_CODE_BUF];
  char prev_code[MTS_TOTP_CODE_BUF];
  char next_code[MTS_TOTP_CODE_BUF];
  gint64 last = -1;
  gint64 matched = -1;

  code_at (rfc_secret, RFC_SECRET_LEN, T - 30, prev_code);
  code_at (rfc_secret, RFC_SECRET_LEN, T, now_code);
  code_at (rfc_secret, RFC_SECRET_LEN, T + 30, next_code);

  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, now_code, T, last, &matched, &error));
  g_assert_no_error (error);
  g_assert_cmpint (matched, ==, S);
  last = matched;

  /* The same code, a second later. */
  matched = -1;
  g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, now_code, T + 1, last, &matched, &error));
  g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_REUSED);
  g_assert_cmpint (matched, ==, -1);
  g_clear_error (&error);

  /* The previous step's code, still inside the drift window. */
  g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, prev_code, T, last, &matched, &error));
  g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_REUSED);
  g_clear_error (&error);

  /* The next step's code is fresh. */
  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, next_code, T, last, &matched, &error));
  g_assert_no_error (error);
  g_assert_cmpint (matched, ==, S + 1);
  last = matched;

  /* After it, the code of step S is spent even though it is in the window. */
  g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, now_code, T + 30, last, &matched, &error));
  g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_REUSED);
  g_clear_error (&error);

  /* A wrong code stays WRONG, not REUSED, whatever was used before. */
  {
    char wrong[MTS_TOTP_CODE_BUF];

    memcpy (wrong, next_code, sizeof wrong);
    wrong[0] = (char) ('0' + (wrong[0] - '0' + 5) % 10);
    g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, wrong, T + 30, last, &matched, &error));
    g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG);
  }
}

/* 6. Anything but exactly six ASCII digits is INVALID, before any HMAC. */
static void
test_malformed (void)
{
  static const char *const bad[] = {
    "12345", "1234567", "12a456", "", NULL, " 12345", "12345 ", "123456\n",
    "-12345", "+12345", "12\xd9\xa3" "456", "\xef\xbc\x91" "23456",
  };
  char code[MTS_TOTP_CODE_BUF];

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 matched = -1;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, bad[i], T, -1, &matched, &error));
      g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_INVALID);
      g_assert_cmpint (matched, ==, -1);
    }

  /* The right code with a character more is still INVALID, not accepted. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *longer = NULL;

    code_at (rfc_secret, RFC_SECRET_LEN, T, code);
    longer = g_strconcat (code, "0", NULL);
    g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, longer, T, -1, NULL, &error));
    g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_INVALID);
  }
}

/* 7. base32: the RFC secret, RFC 4648's own vectors, no padding. */
static void
test_base32 (void)
{
  static const struct { const char *in; const char *out; } vectors[] = {
    { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
    { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
  };
  g_autofree char *rfc = mts_totp_secret_base32 (rfc_secret, RFC_SECRET_LEN);

  g_assert_cmpstr (rfc, ==, RFC_SECRET_BASE32);
  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autofree char *got = mts_totp_secret_base32 ((const guint8 *) vectors[i].in,
                                                     strlen (vectors[i].in));
      g_assert_cmpstr (got, ==, vectors[i].out);
    }
}

/* 8. The enrolment URI, byte for byte, with a space and colons escaped. */
static void
test_uri (void)
{
  g_autofree char *uri = mts_totp_uri ("MTS Practice: Leeds", "jo:smith@example.org",
                                       rfc_secret, RFC_SECRET_LEN);
  g_autofree char *plain = mts_totp_uri ("MTS", "jo", rfc_secret, RFC_SECRET_LEN);

  g_assert_cmpstr (uri, ==,
                   "otpauth://totp/MTS%20Practice%3A%20Leeds:jo%3Asmith%40example.org"
                   "?secret=" RFC_SECRET_BASE32
                   "&issuer=MTS%20Practice%3A%20Leeds&algorithm=SHA1&digits=6&period=30");
  g_assert_cmpstr (plain, ==,
                   "otpauth://totp/MTS:jo?secret=" RFC_SECRET_BASE32
                   "&issuer=MTS&algorithm=SHA1&digits=6&period=30");

  /* GLib reads it back as a URI with the parts where they belong. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, &error);
    g_autoptr(GHashTable) params = NULL;
    g_autofree char *label = NULL;

    g_assert_no_error (error);
    g_assert_cmpstr (g_uri_get_scheme (parsed), ==, "otpauth");
    g_assert_cmpstr (g_uri_get_host (parsed), ==, "totp");
    label = g_uri_unescape_string (g_uri_get_path (parsed), NULL);
    g_assert_cmpstr (label, ==, "/MTS Practice: Leeds:jo:smith@example.org");
    params = g_uri_parse_params (g_uri_get_query (parsed), -1, "&", G_URI_PARAMS_NONE, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_hash_table_lookup (params, "issuer"), ==, "MTS Practice: Leeds");
    g_assert_cmpstr (g_hash_table_lookup (params, "secret"), ==, RFC_SECRET_BASE32);
  }
}

/* 9. New secrets are random: two differ, neither is all zero, and each
 * works for a check. */
static void
test_secret_new (void)
{
  static const guint8 zero[MTS_TOTP_SECRET_BYTES];
  guint8 a[MTS_TOTP_SECRET_BYTES];
  guint8 b[MTS_TOTP_SECRET_BYTES];
  char code[MTS_TOTP_CODE_BUF];

  mts_totp_secret_new (a);
  mts_totp_secret_new (b);
  g_assert_true (memcmp (a, b, sizeof a) != 0);
  g_assert_true (memcmp (a, zero, sizeof a) != 0);
  code_at (a, sizeof a, T, code);
  g_assert_true (mts_totp_check (a, sizeof a, code, T, -1, NULL, NULL));
}

/* 10. No message carries the secret (raw, base32 or hex) or the code. */
static void
assert_message_clean (const GError *error, const char *code)
{
  char hex[RFC_SECRET_LEN * 2 + 1];

  g_assert_nonnull (error);
  sodium_bin2hex (hex, sizeof hex, rfc_secret, RFC_SECRET_LEN);
  g_test_message ("message: %s", error->message);
  g_assert_null (strstr (error->message, RFC_SECRET_BASE32));
  g_assert_null (g_strstr_len (error->message, -1, (const char *) rfc_secret));
  g_assert_null (strstr (error->message, hex));
  g_assert_null (strstr (error->message, "GEZDGNBV"));   /* no part of it either */
  if (code != NULL && *code != '\0')
    g_assert_null (strstr (error->message, code));
}

static void
test_messages_clean (void)
{
  static const char *const tries[] = { "12345", "12a456", "1234567", "000000", "999999" };
  char now_code[MTS_TOTP_CODE_BUF];
  char far_code[MTS_TOTP_CODE_BUF];
  gint64 matched = -1;
  GError *error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (tries); i++)
    {
      if (!mts_totp_check (rfc_secret, RFC_SECRET_LEN, tries[i], T, -1, NULL, &error))
        assert_message_clean (error, tries[i]);
      g_clear_error (&error);
    }

  code_at (rfc_secret, RFC_SECRET_LEN, T, now_code);
  g_assert_true (mts_totp_check (rfc_secret, RFC_SECRET_LEN, now_code, T, -1, &matched, NULL));
  g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, now_code, T, matched, NULL, &error));
  g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_REUSED);
  assert_message_clean (error, now_code);
  g_clear_error (&error);

  code_at (rfc_secret, RFC_SECRET_LEN, T + 300, far_code);
  g_assert_false (mts_totp_check (rfc_secret, RFC_SECRET_LEN, far_code, T, -1, NULL, &error));
  g_assert_error (error, MTS_TOTP_ERROR, MTS_TOTP_ERROR_WRONG);
  assert_message_clean (error, far_code);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add_func ("/totp/rfc6238-vectors", test_rfc_vectors);
  g_test_add_func ("/totp/oathtool", test_oathtool);
  g_test_add_func ("/totp/drift", test_drift);
  g_test_add_func ("/totp/drift-edges", test_drift_edges);
  g_test_add_func ("/totp/reuse", test_reuse);
  g_test_add_func ("/totp/malformed", test_malformed);
  g_test_add_func ("/totp/base32", test_base32);
  g_test_add_func ("/totp/uri", test_uri);
  g_test_add_func ("/totp/secret-new", test_secret_new);
  g_test_add_func ("/totp/messages-clean", test_messages_clean);
  return g_test_run ();
}
