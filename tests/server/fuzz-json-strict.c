/* fuzz-json-strict.c — libFuzzer target for the strict JSON check
 * (server/mts-json-strict.h), checked against json-glib:
 *   - whatever the strict check accepts, json-glib parses;
 *   - the output of json-glib's generator as MTS uses it (mts_json_generate,
 *     sync/mts-json-generate.h) is accepted by the strict check again (so
 *     what one side sends the other accepts).  This fuzzer found json-glib
 *     writing U+001F raw, which mts_json_generate mends; and — for trees
 *     without fractional numbers: json-glib 1.6 writes -5e19 as "-5e+19.0",
 *     which is not JSON (this fuzzer found it).  The API carries integers
 *     only, and the server refuses a number where a text or an integer is
 *     due, so no such number reaches an answer;
 *   - a refusal always has a "line L, column C" message or names UTF-8.
 * The input is checked as given, with no NUL terminator read past it. */
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "mts-json-generate.h"
#include "mts-json-strict.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
has_double (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node))
    return json_node_get_value_type (node) == G_TYPE_DOUBLE;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        if (has_double (json_array_get_element (a, i)))
          return TRUE;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        if (has_double (member))
          return TRUE;
    }
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *copy = g_memdup2 (data, size);   /* exactly size bytes: ASan sees overreads */
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(JsonGenerator) gen = NULL;
  g_autofree char *again = NULL;
  gsize again_len = 0;

  if (!mts_json_strict_check (copy, size, &error))
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "line ") ||
                     strstr (error->message, "UTF-8") != NULL);
      return 0;
    }
  parser = json_parser_new_immutable ();
  g_assert_true (json_parser_load_from_data (parser, copy, size, NULL));
  g_assert_nonnull (json_parser_get_root (parser));
  if (has_double (json_parser_get_root (parser)))
    return 0;
  gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (parser));
  again = mts_json_generate (gen, &again_len);
  g_assert_true (mts_json_strict_check (again, again_len, NULL));
  return 0;
}
