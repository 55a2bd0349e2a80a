/* mts-json-strict.h — a strict RFC 8259 check of JSON text, run before
 * json-glib parses it.
 *
 * Debian 12's json-glib 1.6 is lenient: it accepts single quotes, comments,
 * hexadecimal numbers, "\x41" escapes, trailing documents, leading zeros,
 * raw control characters in strings, "\u0000" (silently cutting the string)
 * and duplicate keys (the last wins).  A server that takes clinical records
 * must not guess what a malformed body meant, so every request body (and
 * every answer the sync engine reads) passes this check first.  Jansson,
 * the strict JSON library Debian has, cannot be linked beside json-glib:
 * both export json_object_iter_next and other symbols of the same names.
 *
 * What it refuses, beyond the grammar: duplicate keys in an object, "\u0000"
 * and unpaired surrogates in strings, integers beyond 64 bits (json-glib
 * would wrap them), other numbers that overflow a double, and
 * nesting deeper than MTS_JSON_MAX_DEPTH.  The text must be valid UTF-8 (it
 * checks that too).  Error messages give the line and column only, never
 * the text.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_JSON_MAX_DEPTH 64

#define MTS_JSON_ERROR (mts_json_error_quark ())
GQuark mts_json_error_quark (void);

typedef enum {
  MTS_JSON_ERROR_SYNTAX,      /* not JSON by RFC 8259 */
  MTS_JSON_ERROR_DUPLICATE,   /* an object repeats a key */
  MTS_JSON_ERROR_DEPTH,       /* nested deeper than MTS_JSON_MAX_DEPTH */
} MtsJsonError;

/* Checks that @text (@len bytes, no NUL needed) is exactly one JSON value,
 * optionally surrounded by whitespace. */
gboolean mts_json_strict_check (const char *text, gsize len, GError **error);

G_END_DECLS
