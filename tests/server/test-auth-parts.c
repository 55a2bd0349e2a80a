/* test-auth-parts.c — the login building blocks: Argon2id password hashes
 * (server/mts-password.h) and access/refresh tokens (server/mts-tokens.h).
 * Right and wrong passwords, empty and oversized ones, malformed stored
 * hashes, rehash policy; token uniqueness, form, a known answer pinning the
 * stored hash, kinds kept apart, every kind of malformed text refused, and
 * messages that never carry a password, a hash or a token. */
#include "mts-password.h"
#include "mts-tokens.h"

#include <sodium.h>
#include <string.h>

/* ---- passwords ---- */

static char *
hash_ok (const char *password, MtsPasswordLevel level)
{
  g_autoptr(GError) error = NULL;
  char *hash = mts_password_hash (password, level, &error);

  g_assert_no_error (error);
  g_assert_nonnull (hash);
  g_assert_true (g_str_has_prefix (hash, "$argon2id$v=19$"));
  g_assert_cmpuint (strlen (hash), <, MTS_PASSWORD_HASH_BUF);
  return hash;
}

/* Neither the password nor any part of the stored hash past its
 * parameters is in @error's message. */
static void
assert_message_clean (const GError *error, const char *password, const char *hash)
{
  g_assert_nonnull (error);
  g_test_message ("message: %s", error->message);
  if (password != NULL && *password != '\0')
    g_assert_null (strstr (error->message, password));
  if (hash != NULL && strlen (hash) > 30)
    {
      g_assert_null (strstr (error->message, hash));
      g_assert_null (strstr (error->message, hash + strlen (hash) - 16));
      g_assert_null (strstr (error->message, "$argon2id$"));
    }
}

/* 1. The right password verifies; wrong ones (another, a prefix of it, it
 * with one more character, another case) are refused as WRONG; two hashes
 * of one password differ (fresh salt) and both verify. */
static void
test_password_verify (void)
{
  const char *pw = "correct horse battery staple";
  static const char *const wrong[] = {
    "Correct horse battery staple", "correct horse battery stapl",
    "correct horse battery staple ", "hunter2",
  };
  g_autofree char *h1 = hash_ok (pw, MTS_PASSWORD_LEVEL_MIN);
  g_autofree char *h2 = hash_ok (pw, MTS_PASSWORD_LEVEL_MIN);
  g_autofree char *hi = hash_ok (pw, MTS_PASSWORD_LEVEL_INTERACTIVE);
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (h1, !=, h2);
  g_assert_true (mts_password_verify (h1, pw, &error));
  g_assert_no_error (error);
  g_assert_true (mts_password_verify (h2, pw, &error));
  g_assert_no_error (error);
  g_assert_true (mts_password_verify (hi, pw, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_assert_false (mts_password_verify (h1, wrong[i], &error));
      g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_WRONG);
      assert_message_clean (error, wrong[i], h1);
      g_clear_error (&error);
    }
  g_assert_false (mts_password_verify (hi, "hunter2", &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_WRONG);
}

/* 2. Empty, NULL and oversized passwords are refused for hashing and
 * verifying alike; the longest allowed one works, and UTF-8 is bytes. */
static void
test_password_empty (void)
{
  g_autofree char *hash = hash_ok ("x", MTS_PASSWORD_LEVEL_MIN);
  g_autofree char *longest = g_strnfill (MTS_PASSWORD_MAX_BYTES, 'p');
  g_autofree char *too_long = g_strnfill (MTS_PASSWORD_MAX_BYTES + 1, 'p');
  g_autofree char *hlong = NULL;
  g_autofree char *hutf8 = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (mts_password_hash ("", MTS_PASSWORD_LEVEL_MIN, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_password_hash (NULL, MTS_PASSWORD_LEVEL_MIN, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mts_password_hash (too_long, MTS_PASSWORD_LEVEL_MIN, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  assert_message_clean (error, too_long, NULL);
  g_clear_error (&error);

  g_assert_false (mts_password_verify (hash, "", &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (mts_password_verify (hash, NULL, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  g_clear_error (&error);

  hlong = hash_ok (longest, MTS_PASSWORD_LEVEL_MIN);
  g_assert_true (mts_password_verify (hlong, longest, &error));
  g_assert_no_error (error);
  g_assert_false (mts_password_verify (hlong, too_long, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_INVALID);
  g_clear_error (&error);

  hutf8 = hash_ok ("pässwörd ✓", MTS_PASSWORD_LEVEL_MIN);
  g_assert_true (mts_password_verify (hutf8, "pässwörd ✓", NULL));
  g_assert_false (mts_password_verify (hutf8, "passwbesd ✓", NULL));
}

/* 3. Stored hashes libsodium cannot read are MALFORMED_HASH, whatever the
 * password; a flipped digest character is a WRONG password. */
static void
test_password_malformed_hash (void)
{
  const char *pw = "s3cret-Password";
  g_autofree char *hash = hash_ok (pw, MTS_PASSWORD_LEVEL_MIN);
  g_autofree char *unterminated = g_strnfill (MTS_PASSWORD_HASH_BUF + 10, 'a');
  g_autofree char *cut = g_strndup (hash, strchr (hash + 10, '$') - hash + 1);
  g_autofree char *bad_params = NULL;
  g_autofree char *argon2i = NULL;
  g_autofree char *flipped = g_strdup (hash);
  g_autoptr(GError) error = NULL;
  const char *malformed[6];
  char *m;

  /* "$argon2id$v=19$m=8,t=1,p=1$..." with the memory limit not a number */
  bad_params = g_strdup (hash);
  m = strstr (bad_params, "$m=");
  g_assert_nonnull (m);
  m[3] = 'x';
  argon2i = g_strdup (hash);
  memmove (argon2i + 8, argon2i + 9, strlen (argon2i + 9) + 1);  /* "$argon2i$" */
  g_assert_true (g_str_has_prefix (argon2i, "$argon2i$v="));

  malformed[0] = "";
  malformed[1] = "not a hash";
  malformed[2] = unterminated;
  malformed[3] = cut;
  malformed[4] = bad_params;
  malformed[5] = argon2i;
  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_test_message ("malformed %" G_GSIZE_FORMAT, i);
      g_assert_false (mts_password_verify (malformed[i], pw, &error));
      g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_MALFORMED_HASH);
      assert_message_clean (error, pw, hash);
      g_clear_error (&error);
      g_assert_true (mts_password_needs_rehash (malformed[i], MTS_PASSWORD_LEVEL_MIN));
    }
  g_assert_false (mts_password_verify (NULL, pw, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_MALFORMED_HASH);
  g_clear_error (&error);

  /* The digest's first character, changed within the base64 alphabet. */
  m = strrchr (flipped, '$') + 1;
  *m = *m == 'A' ? 'B' : 'A';
  g_assert_false (mts_password_verify (flipped, pw, &error));
  g_assert_error (error, MTS_PASSWORD_ERROR, MTS_PASSWORD_ERROR_WRONG);
  g_clear_error (&error);
  g_assert_true (mts_password_verify (hash, pw, NULL));
}

/* 4. A hash needs rehashing exactly when its limits are not the policy's:
 * MIN and INTERACTIVE hashes under MODERATE, not under their own level; the
 * default (MODERATE) hash is the server's policy and carries its limits. */
static void
test_password_needs_rehash (void)
{
  g_autofree char *hmin = hash_ok ("pw-one", MTS_PASSWORD_LEVEL_MIN);
  g_autofree char *hint = hash_ok ("pw-one", MTS_PASSWORD_LEVEL_INTERACTIVE);
  g_autofree char *hmod = hash_ok ("pw-one", MTS_PASSWORD_LEVEL_MODERATE);
  g_autofree char *want = g_strdup_printf ("$argon2id$v=19$m=%zu,t=%llu,p=1$",
                                           (size_t) crypto_pwhash_MEMLIMIT_MODERATE / 1024,
                                           (unsigned long long) crypto_pwhash_OPSLIMIT_MODERATE);

  g_assert_true (g_str_has_prefix (hmod, want));
  g_assert_true (mts_password_verify (hmod, "pw-one", NULL));

  g_assert_true (mts_password_needs_rehash (hmin, MTS_PASSWORD_LEVEL_MODERATE));
  g_assert_true (mts_password_needs_rehash (hint, MTS_PASSWORD_LEVEL_MODERATE));
  g_assert_true (mts_password_needs_rehash (hmin, MTS_PASSWORD_LEVEL_INTERACTIVE));
  g_assert_false (mts_password_needs_rehash (hmin, MTS_PASSWORD_LEVEL_MIN));
  g_assert_false (mts_password_needs_rehash (hint, MTS_PASSWORD_LEVEL_INTERACTIVE));
  g_assert_false (mts_password_needs_rehash (hmod, MTS_PASSWORD_LEVEL_MODERATE));
  /* Stronger than the policy is also "not the policy". */
  g_assert_true (mts_password_needs_rehash (hmod, MTS_PASSWORD_LEVEL_MIN));
}

/* ---- tokens ---- */

static char *
token_ok (MtsTokenKind kind, guint8 hash[MTS_TOKEN_HASH_BYTES])
{
  char *text = NULL;

  mts_token_new (kind, &text, hash);
  g_assert_nonnull (text);
  return text;
}

static void
token_free (char *text)
{
  sodium_memzero (text, strlen (text));
  g_free (text);
}

/* No six consecutive characters of @body (the token's base64 part, or a
 * corruption of it) appear in @error's message. */
static void
assert_token_message_clean (const GError *error, const char *body)
{
  gsize len = strlen (body);

  g_assert_nonnull (error);
  g_test_message ("message: %s", error->message);
  for (gsize i = 0; i + 6 <= len; i++)
    {
      g_autofree char *piece = g_strndup (body + i, 6);
      g_assert_null (strstr (error->message, piece));
    }
}

/* 5. 10,000 tokens of each kind: every text and every hash distinct. */
static void
test_token_unique (void)
{
  g_autoptr(GHashTable) texts = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       (GDestroyNotify) token_free, NULL);
  g_autoptr(GHashTable) hashes = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                        (GDestroyNotify) g_bytes_unref, NULL);

  for (int i = 0; i < 20000; i++)
    {
      guint8 hash[MTS_TOKEN_HASH_BYTES];
      char *text = token_ok (i % 2 ? MTS_TOKEN_REFRESH : MTS_TOKEN_ACCESS, hash);

      g_assert_true (g_hash_table_add (texts, text));
      g_assert_true (g_hash_table_add (hashes, g_bytes_new (hash, sizeof hash)));
    }
  g_assert_cmpuint (g_hash_table_size (texts), ==, 20000);
  g_assert_cmpuint (g_hash_table_size (hashes), ==, 20000);
}

/* 6. Form: the kind's prefix, 48 characters, the URL-safe alphabet only;
 * parsing gives back the kind and the very hash new() gave. */
static void
test_token_round_trip (void)
{
  static const struct { MtsTokenKind kind; const char *prefix; } kinds[] = {
    { MTS_TOKEN_ACCESS, "mtsa_" }, { MTS_TOKEN_REFRESH, "mtsr_" },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (int i = 0; i < 200; i++)
      {
        guint8 hash[MTS_TOKEN_HASH_BYTES];
        guint8 parsed[MTS_TOKEN_HASH_BYTES];
        MtsTokenKind kind = kinds[k].kind == MTS_TOKEN_ACCESS ? MTS_TOKEN_REFRESH
                                                              : MTS_TOKEN_ACCESS;
        g_autoptr(GError) error = NULL;
        char *text = token_ok (kinds[k].kind, hash);

        g_assert_cmpuint (strlen (text), ==, MTS_TOKEN_TEXT_LEN);
        g_assert_cmpuint (strlen (text), ==, 48);
        g_assert_true (g_str_has_prefix (text, kinds[k].prefix));
        g_assert_cmpuint (strspn (text + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "abcdefghijklmnopqrstuvwxyz0123456789-_"),
                          ==, 43);

        g_assert_true (mts_token_parse (text, &kind, parsed, &error));
        g_assert_no_error (error);
        g_assert_cmpint (kind, ==, kinds[k].kind);
        g_assert_cmpmem (parsed, sizeof parsed, hash, sizeof hash);
        g_assert_true (mts_token_hash_equal (parsed, hash));
        g_assert_true (mts_token_parse (text, NULL, parsed, NULL));
        token_free (text);
      }
}

/* The token text of @kind for @raw, built here independently of
 * mts_token_new. */
static char *
text_for (const char *prefix, const guint8 raw[MTS_TOKEN_BYTES], int variant)
{
  char b64[64];

  sodium_bin2base64 (b64, sizeof b64, raw, MTS_TOKEN_BYTES, variant);
  return g_strconcat (prefix, b64, NULL);
}

/* 7. Known answer: the stored hash is BLAKE2b-256 of the raw bytes, no key,
 * personalised "mts-tok-access" / "mts-tok-refresh" (NUL-padded to 16).
 * Pins the format: changing it would orphan every stored token. */
static void
test_token_known_answer (void)
{
  guint8 raw[MTS_TOKEN_BYTES];
  static const guint8 pa[16] = "mts-tok-access";
  static const guint8 pr[16] = "mts-tok-refresh";
  guint8 want_a[32], want_r[32], got[32];
  g_autofree char *ta = NULL;
  g_autofree char *tr = NULL;
  MtsTokenKind kind;

  for (int i = 0; i < MTS_TOKEN_BYTES; i++)
    raw[i] = (guint8) (i * 7 + 3);
  crypto_generichash_blake2b_salt_personal (want_a, 32, raw, 32, NULL, 0, NULL, pa);
  crypto_generichash_blake2b_salt_personal (want_r, 32, raw, 32, NULL, 0, NULL, pr);
  ta = text_for ("mtsa_", raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  tr = text_for ("mtsr_", raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

  g_assert_true (mts_token_parse (ta, &kind, got, NULL));
  g_assert_cmpint (kind, ==, MTS_TOKEN_ACCESS);
  g_assert_cmpmem (got, 32, want_a, 32);
  g_assert_true (mts_token_parse (tr, &kind, got, NULL));
  g_assert_cmpint (kind, ==, MTS_TOKEN_REFRESH);
  g_assert_cmpmem (got, 32, want_r, 32);
}

/* 8. Kinds kept apart: an access token is never a refresh token, and the
 * same bytes under the other prefix hash to something else, so a stored
 * access hash can never match a presented refresh token. */
static void
test_token_kinds (void)
{
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  guint8 other[MTS_TOKEN_HASH_BYTES];
  MtsTokenKind kind = MTS_TOKEN_REFRESH;
  char *text = token_ok (MTS_TOKEN_ACCESS, hash);

  g_assert_true (mts_token_parse (text, &kind, other, NULL));
  g_assert_cmpint (kind, ==, MTS_TOKEN_ACCESS);

  text[3] = 'r';   /* "mtsr_" + the access token's bytes */
  g_assert_true (mts_token_parse (text, &kind, other, NULL));
  g_assert_cmpint (kind, ==, MTS_TOKEN_REFRESH);
  g_assert_false (mts_token_hash_equal (hash, other));
  g_assert_true (memcmp (hash, other, sizeof hash) != 0);
  token_free (text);
}

typedef struct {
  const char *what;
  char *text;
  int code;
} Bad;

/* 9. Malformed texts, each refused with its code and a message holding no
 * part of the token; the output hash zeroed.  A changed character inside
 * the alphabet is well formed, but its hash matches nothing stored. */
static void
test_token_refused (void)
{
  guint8 hash[MTS_TOKEN_HASH_BYTES];
  char *good = token_ok (MTS_TOKEN_ACCESS, hash);
  const char *body = good + MTS_TOKEN_PREFIX_LEN;
  guint8 zeros[MTS_TOKEN_BYTES] = { 0 };
  guint8 std_raw[MTS_TOKEN_BYTES];
  guint8 got[MTS_TOKEN_HASH_BYTES];
  g_autofree char *tampered = g_strdup (good);
  Bad bad[] = {
    { "empty", g_strdup (""), MTS_TOKEN_ERROR_PREFIX },
    { "prefix only", g_strdup ("mtsa_"), MTS_TOKEN_ERROR_LENGTH },
    { "no prefix", g_strdup (body), MTS_TOKEN_ERROR_PREFIX },
    { "upper-case prefix", g_strconcat ("MTSA_", body, NULL), MTS_TOKEN_ERROR_PREFIX },
    { "unknown prefix", g_strconcat ("mtsx_", body, NULL), MTS_TOKEN_ERROR_PREFIX },
    { "Bearer in front", g_strconcat ("Bearer ", good, NULL), MTS_TOKEN_ERROR_PREFIX },
    { "leading space", g_strconcat (" ", good, NULL), MTS_TOKEN_ERROR_PREFIX },
    { "truncated by one", g_strndup (good, MTS_TOKEN_TEXT_LEN - 1), MTS_TOKEN_ERROR_LENGTH },
    { "truncated by half", g_strndup (good, 26), MTS_TOKEN_ERROR_LENGTH },
    { "padded with =", g_strconcat (good, "=", NULL), MTS_TOKEN_ERROR_LENGTH },
    { "trailing newline", g_strconcat (good, "\n", NULL), MTS_TOKEN_ERROR_LENGTH },
    { "doubled", g_strconcat (good, body, NULL), MTS_TOKEN_ERROR_LENGTH },
    { "last as =", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "plus inside", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "slash inside", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "space inside", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "dot inside", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "non-ASCII inside", g_strdup (good), MTS_TOKEN_ERROR_ENCODING },
    { "standard base64", NULL, MTS_TOKEN_ERROR_ENCODING },
    { "non-canonical last digit", NULL, MTS_TOKEN_ERROR_ENCODING },
  };

  bad[12].text[MTS_TOKEN_TEXT_LEN - 1] = '=';
  bad[13].text[10] = '+';
  bad[14].text[20] = '/';
  bad[15].text[30] = ' ';
  bad[16].text[7] = '.';
  bad[17].text[40] = (char) 0xc3;
  /* Bytes whose standard encoding has '+' and '/' where URL-safe has '-'
   * and '_': 0xfb 0xff 0xbf encodes as "-_-_" / "+/+/". */
  for (int i = 0; i < MTS_TOKEN_BYTES; i++)
    std_raw[i] = (guint8[]) { 0xfb, 0xff, 0xbf }[i % 3];
  bad[18].text = text_for ("mtsa_", std_raw, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  g_assert_nonnull (strchr (bad[18].text, '+'));
  g_assert_nonnull (strchr (bad[18].text, '/'));
  /* 32 zero bytes are 43 'A's; the last digit's two spare bits must be 0,
   * so "...AB" is the same bytes written a second way. */
  bad[19].text = text_for ("mtsa_", zeros, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  g_assert_true (mts_token_parse (bad[19].text, NULL, got, NULL));
  bad[19].text[MTS_TOKEN_TEXT_LEN - 1] = 'B';

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      MtsTokenKind kind = MTS_TOKEN_REFRESH;

      g_test_message ("%s", bad[i].what);
      memset (got, 0xaa, sizeof got);
      g_assert_false (mts_token_parse (bad[i].text, &kind, got, &error));
      g_assert_error (error, MTS_TOKEN_ERROR, bad[i].code);
      g_assert_cmpint (kind, ==, MTS_TOKEN_REFRESH);   /* untouched */
      g_assert_true (sodium_is_zero (got, sizeof got));
      assert_token_message_clean (error, body);
      if (strlen (bad[i].text) > MTS_TOKEN_PREFIX_LEN)
        assert_token_message_clean (error, bad[i].text + MTS_TOKEN_PREFIX_LEN);
      g_free (bad[i].text);
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_false (mts_token_parse (NULL, NULL, got, &error));
    g_assert_error (error, MTS_TOKEN_ERROR, MTS_TOKEN_ERROR_PREFIX);
  }

  /* Tampered within the alphabet: parses, but is not the stored token. */
  tampered[25] = tampered[25] == 'Q' ? 'R' : 'Q';
  g_assert_true (mts_token_parse (tampered, NULL, got, NULL));
  g_assert_false (mts_token_hash_equal (got, hash));
  g_assert_true (mts_token_parse (good, NULL, got, NULL));
  g_assert_true (mts_token_hash_equal (got, hash));
  token_free (good);
}

/* 10. hash_equal: equal, and one flipped bit at either end not. */
static void
test_token_hash_equal (void)
{
  guint8 a[MTS_TOKEN_HASH_BYTES];
  guint8 b[MTS_TOKEN_HASH_BYTES];
  char *text = token_ok (MTS_TOKEN_REFRESH, a);

  memcpy (b, a, sizeof b);
  g_assert_true (mts_token_hash_equal (a, b));
  b[0] ^= 1;
  g_assert_false (mts_token_hash_equal (a, b));
  b[0] ^= 1;
  b[MTS_TOKEN_HASH_BYTES - 1] ^= 0x80;
  g_assert_false (mts_token_hash_equal (a, b));
  token_free (text);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add_func ("/password/verify", test_password_verify);
  g_test_add_func ("/password/empty-and-long", test_password_empty);
  g_test_add_func ("/password/malformed-hash", test_password_malformed_hash);
  g_test_add_func ("/password/needs-rehash", test_password_needs_rehash);
  g_test_add_func ("/tokens/unique", test_token_unique);
  g_test_add_func ("/tokens/round-trip", test_token_round_trip);
  g_test_add_func ("/tokens/known-answer", test_token_known_answer);
  g_test_add_func ("/tokens/kinds", test_token_kinds);
  g_test_add_func ("/tokens/refused", test_token_refused);
  g_test_add_func ("/tokens/hash-equal", test_token_hash_equal);
  return g_test_run ();
}
