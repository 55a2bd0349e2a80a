/* test-json-strict.c — the strict JSON check (server/mts-json-strict.h):
 * RFC 8259 texts accepted, and every leniency of json-glib 1.6 refused,
 * each with a message naming a place, never the text. */
#include <glib.h>
#include <string.h>

#include "mts-json-generate.h"
#include "mts-json-strict.h"

static const char *const good[] = {
  "{}", "[]", "0", "-0", "1.5e3", "-12.25E-2", "\"\"", "true", "false", "null",
  " \t\r\n{\"a\": [1, 2, {\"b\": null}]}\n ",
  "{\"ops\":[{\"seq\":1,\"table\":\"notes\",\"fields\":{\"body\":\"S: line 1\\nO: \\u00e9\\ud83d\\ude00\"}}]}",
  "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
  "{\"a\":1,\"A\":2}",
  "\"caf\xc3\xa9\"",
  "1e308",
  "[9223372036854775807, -9223372036854775808]",
};

typedef struct {
  const char *text;
  MtsJsonError code;
} Bad;

static const Bad bad[] = {
  { "", MTS_JSON_ERROR_SYNTAX },
  { "   ", MTS_JSON_ERROR_SYNTAX },
  { "{'ops': []}", MTS_JSON_ERROR_SYNTAX },                 /* single quotes */
  { "{\"ops\": [] /* c */}", MTS_JSON_ERROR_SYNTAX },        /* a comment */
  { "{\"ops\": []} // c", MTS_JSON_ERROR_SYNTAX },
  { "{\"ops\": []} {\"ops\": []}", MTS_JSON_ERROR_SYNTAX },  /* a second document */
  { "{\"seq\": 0x1}", MTS_JSON_ERROR_SYNTAX },               /* hexadecimal */
  { "{\"b\": \"\\x41\"}", MTS_JSON_ERROR_SYNTAX },           /* \x escape */
  { "{\"n\": 01}", MTS_JSON_ERROR_SYNTAX },                  /* leading zero */
  { "{\"n\": .5}", MTS_JSON_ERROR_SYNTAX },
  { "{\"n\": 1.}", MTS_JSON_ERROR_SYNTAX },
  { "{\"n\": 1e}", MTS_JSON_ERROR_SYNTAX },
  { "{\"n\": +1}", MTS_JSON_ERROR_SYNTAX },
  { "{\"n\": 1e999}", MTS_JSON_ERROR_SYNTAX },               /* overflows a double */
  { "{\"n\": 9223372036854775808}", MTS_JSON_ERROR_SYNTAX }, /* beyond gint64 */
  { "{\"n\": -9223372036854775809}", MTS_JSON_ERROR_SYNTAX },
  { "{\"n\": NaN}", MTS_JSON_ERROR_SYNTAX },
  { "{\"s\": \"a\tb\"}", MTS_JSON_ERROR_SYNTAX },            /* raw tab in a string */
  { "{\"s\": \"a\nb\"}", MTS_JSON_ERROR_SYNTAX },
  { "{\"s\": \"\\u0000\"}", MTS_JSON_ERROR_SYNTAX },         /* NUL */
  { "{\"s\": \"\\ud83d\"}", MTS_JSON_ERROR_SYNTAX },         /* unpaired surrogates */
  { "{\"s\": \"\\ude00\"}", MTS_JSON_ERROR_SYNTAX },
  { "{\"s\": \"\\ud83d\\u0041\"}", MTS_JSON_ERROR_SYNTAX },
  { "{\"s\": \"\\u12\"}", MTS_JSON_ERROR_SYNTAX },
  { "{\"s\": \"open}", MTS_JSON_ERROR_SYNTAX },              /* truncated */
  { "{\"a\": 1,}", MTS_JSON_ERROR_SYNTAX },                  /* trailing comma */
  { "[1, 2,]", MTS_JSON_ERROR_SYNTAX },
  { "{\"a\" 1}", MTS_JSON_ERROR_SYNTAX },
  { "{a: 1}", MTS_JSON_ERROR_SYNTAX },                       /* bare key */
  { "{\"a\": tru}", MTS_JSON_ERROR_SYNTAX },
  { "{\"a\": True}", MTS_JSON_ERROR_SYNTAX },
  { "{\"ops\": [], \"ops\": [1]}", MTS_JSON_ERROR_DUPLICATE },
  { "{\"a\": {\"k\": 1, \"k\": 2}}", MTS_JSON_ERROR_DUPLICATE },
  { "{\"\\u0061\": 1, \"a\": 2}", MTS_JSON_ERROR_DUPLICATE },   /* same key, escaped */
  { "\"caf\xc3\"", MTS_JSON_ERROR_SYNTAX },                   /* not UTF-8 */
  { "{\"ops\": [", MTS_JSON_ERROR_SYNTAX },
};

static void
test_good (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *shown = g_strescape (good[i], NULL);
      g_test_message ("good %u: %s", i, shown);
      g_assert_true (mts_json_strict_check (good[i], strlen (good[i]), &error));
      g_assert_no_error (error);
    }
}

static void
test_bad (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *shown = g_strescape (bad[i].text, NULL);   /* some are not UTF-8 */
      g_test_message ("bad %u: %s", i, shown);
      g_assert_false (mts_json_strict_check (bad[i].text, strlen (bad[i].text), &error));
      g_assert_error (error, MTS_JSON_ERROR, (int) bad[i].code);
      g_assert_true (g_str_has_prefix (error->message, "line ") ||
                     strstr (error->message, "UTF-8") != NULL);
    }
}

/* A length, not a NUL, ends the text: bytes past it are not read, and a
 * NUL inside it is refused. */
static void
test_length (void)
{
  const char text[] = "{\"a\": 1}garbage";
  const char with_nul[] = "{\"a\": \"x\0y\"}";
  g_autoptr(GError) error = NULL;

  g_assert_true (mts_json_strict_check (text, 8, NULL));
  g_assert_false (mts_json_strict_check (text, 7, NULL));
  g_assert_false (mts_json_strict_check (with_nul, sizeof with_nul - 1, &error));
  g_assert_nonnull (error);
}

static void
test_depth (void)
{
  GString *deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < MTS_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < MTS_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, ']');
  g_assert_true (mts_json_strict_check (deep->str, deep->len, NULL));
  g_string_prepend_c (deep, '[');
  g_string_append_c (deep, ']');
  g_assert_false (mts_json_strict_check (deep->str, deep->len, &error));
  g_assert_error (error, MTS_JSON_ERROR, MTS_JSON_ERROR_DEPTH);
  g_string_free (deep, TRUE);
}

/* The message names the place: line 2, column 3 here. */
static void
test_message (void)
{
  const char *text = "{\"a\": 1,\n  'b': 2}";
  g_autoptr(GError) error = NULL;

  g_assert_false (mts_json_strict_check (text, strlen (text), &error));
  g_assert_cmpstr (error->message, ==,
                   "line 2, column 3: an object key must be a string in double quotes");
}

/* Every control character in a string, written by json-glib's generator as
 * MTS uses it, is JSON the strict check accepts, and reads back the same.
 * Pins the json-glib 1.6 bug (U+001F written raw; the fuzz target found
 * it): a note holding that character would otherwise never sync. */
static void
test_generated_control_characters (void)
{
  for (int c = 1; c < 0x20; c++)
    {
      char value[4] = { 'a', (char) c, 'b', '\0' };
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      g_autoptr (JsonArray) array = json_array_new ();
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;
      gsize len = 0;

      json_array_add_string_element (array, value);
      json_node_set_array (node, array);
      text = mts_json_node_to_text (node, FALSE, &len);
      g_assert_cmpuint (strlen (text), ==, len);
      if (!mts_json_strict_check (text, len, &error))
        g_test_message ("U+%04X: %s", c, error->message);
      g_assert_no_error (error);
      g_assert_true (json_parser_load_from_data (parser, text, (gssize) len, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (json_array_get_string_element (json_node_get_array (json_parser_get_root (parser)), 0),
                       ==, value);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-strict/good", test_good);
  g_test_add_func ("/json-strict/bad", test_bad);
  g_test_add_func ("/json-strict/length", test_length);
  g_test_add_func ("/json-strict/depth", test_depth);
  g_test_add_func ("/json-strict/message", test_message);
  g_test_add_func ("/json-strict/generated-control-characters", test_generated_control_characters);
  return g_test_run ();
}
