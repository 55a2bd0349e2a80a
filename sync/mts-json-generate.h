/* mts-json-generate.h — JSON text from json-glib that is JSON.
 *
 * json-glib 1.6's generator (Debian 12) escapes every control character in
 * a string but U+001F, which it writes as a raw byte: text that RFC 8259
 * forbids and that the server's strict check (server/mts-json-strict.h)
 * rightly refuses, so a note holding that character (pasted from another
 * program) would never sync.  Found by the strict check's fuzz target.
 * Every JSON text MTS sends or writes goes through here instead of
 * json_generator_to_data(). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json_generator_to_data (@generator, @length), with each raw U+001F byte
 * written as the escape \u001f (such a byte can only be inside a string;
 * no UTF-8 sequence of another character holds it).  (transfer full) */
char *mts_json_generate (JsonGenerator *generator, gsize *length);

/* @node as compact (or @pretty) JSON text, through mts_json_generate().
 * (transfer full) */
char *mts_json_node_to_text (JsonNode *node, gboolean pretty, gsize *length);

G_END_DECLS
