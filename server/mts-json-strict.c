/* mts-json-strict.c — the strict JSON check (see mts-json-strict.h): a
 * recursive-descent recogniser of RFC 8259's grammar that builds nothing
 * but the set of keys of each object being read. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-json-strict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (mts-json-error-quark, mts_json_error)

typedef struct {
  const char *p;
  const char *start;
  const char *end;
  guint depth;
  GError **error;
} Reader;

static gboolean
fail (Reader *r, MtsJsonError code, const char *what)
{
  guint line = 1, column = 1;

  for (const char *q = r->start; q < r->p && q < r->end; q++)
    {
      if (*q == '\n')
        {
          line++;
          column = 1;
        }
      else if (((guchar) *q & 0xC0) != 0x80)
        column++;
    }
  g_set_error (r->error, MTS_JSON_ERROR, code, "line %u, column %u: %s", line, column, what);
  return FALSE;
}

static void
skip_space (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
read_hex4 (Reader *r, guint *out)
{
  guint v = 0;

  if (r->end - r->p < 4)
    return fail (r, MTS_JSON_ERROR_SYNTAX, "a \\u escape needs four hex digits");
  for (int i = 0; i < 4; i++)
    {
      int h = hex_value (r->p[i]);
      if (h < 0)
        return fail (r, MTS_JSON_ERROR_SYNTAX, "a \\u escape needs four hex digits");
      v = v * 16 + (guint) h;
    }
  r->p += 4;
  *out = v;
  return TRUE;
}

/* Reads a string; if @key is not NULL, its decoded bytes are appended. */
static gboolean
read_string (Reader *r, GString *key)
{
  r->p++;   /* the opening quote */
  while (TRUE)
    {
      guchar c;

      if (r->p >= r->end)
        return fail (r, MTS_JSON_ERROR_SYNTAX, "a string is not closed");
      c = (guchar) *r->p;
      if (c == '"')
        {
          r->p++;
          return TRUE;
        }
      if (c < 0x20)
        return fail (r, MTS_JSON_ERROR_SYNTAX, "a control character inside a string must be escaped");
      if (c != '\\')
        {
          if (key != NULL)
            g_string_append_c (key, (char) c);
          r->p++;
          continue;
        }
      r->p++;
      if (r->p >= r->end)
        return fail (r, MTS_JSON_ERROR_SYNTAX, "a string is not closed");
      switch (*r->p)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          if (key != NULL)
            g_string_append_c (key, *r->p);
          r->p++;
          break;
        case 'u':
          {
            guint u, low;

            r->p++;
            if (!read_hex4 (r, &u))
              return FALSE;
            if (u == 0)
              return fail (r, MTS_JSON_ERROR_SYNTAX, "\\u0000 is not allowed in a string");
            if (u >= 0xDC00 && u <= 0xDFFF)
              return fail (r, MTS_JSON_ERROR_SYNTAX, "an unpaired low surrogate");
            if (u >= 0xD800 && u <= 0xDBFF)
              {
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                  return fail (r, MTS_JSON_ERROR_SYNTAX, "an unpaired high surrogate");
                r->p += 2;
                if (!read_hex4 (r, &low))
                  return FALSE;
                if (low < 0xDC00 || low > 0xDFFF)
                  return fail (r, MTS_JSON_ERROR_SYNTAX, "an unpaired high surrogate");
                u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
              }
            if (key != NULL)
              g_string_append_unichar (key, u);
          }
          break;
        default:
          return fail (r, MTS_JSON_ERROR_SYNTAX, "an unknown escape in a string");
        }
    }
}

static gboolean
read_number (Reader *r)
{
  const char *begin = r->p;
  g_autofree char *copy = NULL;
  gboolean integer = TRUE;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p >= r->end)
    return fail (r, MTS_JSON_ERROR_SYNTAX, "a number is cut short");
  if (*r->p == '0')
    r->p++;
  else if (*r->p >= '1' && *r->p <= '9')
    while (r->p < r->end && g_ascii_isdigit (*r->p))
      r->p++;
  else
    return fail (r, MTS_JSON_ERROR_SYNTAX, "not a number");
  if (r->p < r->end && *r->p == '.')
    {
      integer = FALSE;
      r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return fail (r, MTS_JSON_ERROR_SYNTAX, "a fraction needs digits");
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      integer = FALSE;
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return fail (r, MTS_JSON_ERROR_SYNTAX, "an exponent needs digits");
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }
  copy = g_strndup (begin, r->p - begin);
  if (integer)
    {
      /* json-glib reads integers as gint64 and wraps larger ones silently
       * (12345678901234567890 becomes negative): refuse them instead. */
      if (!g_ascii_string_to_signed (copy, 10, G_MININT64, G_MAXINT64, NULL, NULL))
        return fail (r, MTS_JSON_ERROR_SYNTAX, "an integer beyond 64 bits");
      return TRUE;
    }
  if (!isfinite (g_ascii_strtod (copy, NULL)))
    return fail (r, MTS_JSON_ERROR_SYNTAX, "a number too large to represent");
  return TRUE;
}

static gboolean
literal (Reader *r, const char *word)
{
  gsize n = strlen (word);

  if ((gsize) (r->end - r->p) < n || memcmp (r->p, word, n) != 0)
    return fail (r, MTS_JSON_ERROR_SYNTAX, "not a JSON value");
  r->p += n;
  return TRUE;
}

static gboolean read_value (Reader *r);

static gboolean
read_object (Reader *r)
{
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    {
      r->p++;
      return TRUE;
    }
  while (TRUE)
    {
      GString *key;

      skip_space (r);
      if (r->p >= r->end || *r->p != '"')
        return fail (r, MTS_JSON_ERROR_SYNTAX, "an object key must be a string in double quotes");
      key = g_string_new (NULL);
      if (!read_string (r, key))
        {
          g_string_free (key, TRUE);
          return FALSE;
        }
      if (!g_hash_table_add (keys, g_string_free (key, FALSE)))
        return fail (r, MTS_JSON_ERROR_DUPLICATE, "an object repeats a key");
      skip_space (r);
      if (r->p >= r->end || *r->p != ':')
        return fail (r, MTS_JSON_ERROR_SYNTAX, "':' expected after an object key");
      r->p++;
      if (!read_value (r))
        return FALSE;
      skip_space (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          return TRUE;
        }
      return fail (r, MTS_JSON_ERROR_SYNTAX, "',' or '}' expected in an object");
    }
}

static gboolean
read_array (Reader *r)
{
  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == ']')
    {
      r->p++;
      return TRUE;
    }
  while (TRUE)
    {
      if (!read_value (r))
        return FALSE;
      skip_space (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end && *r->p == ']')
        {
          r->p++;
          return TRUE;
        }
      return fail (r, MTS_JSON_ERROR_SYNTAX, "',' or ']' expected in an array");
    }
}

static gboolean
read_value (Reader *r)
{
  gboolean ok;

  skip_space (r);
  if (r->p >= r->end)
    return fail (r, MTS_JSON_ERROR_SYNTAX, "a value is missing");
  switch (*r->p)
    {
    case '{':
    case '[':
      if (++r->depth > MTS_JSON_MAX_DEPTH)
        return fail (r, MTS_JSON_ERROR_DEPTH, "nested too deeply");
      ok = *r->p == '{' ? read_object (r) : read_array (r);
      r->depth--;
      return ok;
    case '"':
      return read_string (r, NULL);
    case 't':
      return literal (r, "true");
    case 'f':
      return literal (r, "false");
    case 'n':
      return literal (r, "null");
    default:
      if (*r->p == '-' || g_ascii_isdigit (*r->p))
        return read_number (r);
      return fail (r, MTS_JSON_ERROR_SYNTAX, "not a JSON value");
    }
}

gboolean
mts_json_strict_check (const char *text, gsize len, GError **error)
{
  Reader r = { text, text, text + len, 0, error };

  if (!g_utf8_validate_len (text, len, NULL))
    {
      g_set_error (error, MTS_JSON_ERROR, MTS_JSON_ERROR_SYNTAX, "the text is not UTF-8");
      return FALSE;
    }
  if (!read_value (&r))
    return FALSE;
  skip_space (&r);
  if (r.p != r.end)
    return fail (&r, MTS_JSON_ERROR_SYNTAX, "more text after the JSON value");
  return TRUE;
}
