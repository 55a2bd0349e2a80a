/* mts-json-generate.c — JSON text from json-glib that is JSON (see the
 * header for the json-glib 1.6 bug it works around). */
#include "mts-json-generate.h"

#include <string.h>

char *
mts_json_generate (JsonGenerator *generator, gsize *length)
{
  gsize len = 0, raw = 0;
  char *text = json_generator_to_data (generator, &len);
  char *out, *o;

  for (gsize i = 0; i < len; i++)
    raw += text[i] == '\x1f';
  if (raw == 0)
    {
      if (length != NULL)
        *length = len;
      return text;
    }
  out = o = g_malloc (len + raw * 5 + 1);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '\x1f')
        {
          memcpy (o, "\\u001f", 6);
          o += 6;
        }
      else
        *o++ = text[i];
    }
  *o = '\0';
  g_free (text);
  if (length != NULL)
    *length = (gsize) (o - out);
  return out;
}

char *
mts_json_node_to_text (JsonNode *node, gboolean pretty, gsize *length)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  return mts_json_generate (generator, length);
}
