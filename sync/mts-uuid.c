/* mts-uuid.c — UUIDv7 (see mts-uuid.h). */
#define G_LOG_DOMAIN "mts-store"

#include "mts-uuid.h"

#include <sodium.h>
#include <string.h>

/* Ids made in the same millisecond must still sort in the order they were
 * made: the 12 bits after the version count up within a millisecond
 * (RFC 9562, section 6.2, method 1), starting from a random value below
 * 2048 so the counter rarely overflows; when it would, the timestamp moves
 * on by a millisecond. */
char *
mts_uuid7_new (void)
{
  static GMutex lock;
  static guint64 last_ms;
  static guint32 counter;
  guint8 b[16];
  guint64 ms = (guint64) (g_get_real_time () / 1000);

  randombytes_buf (b + 8, 8);
  g_mutex_lock (&lock);
  if (ms <= last_ms)
    {
      ms = last_ms;
      if (++counter > 0xfff)
        {
          ms++;
          counter = randombytes_uniform (2048);
        }
    }
  else
    counter = randombytes_uniform (2048);
  last_ms = ms;
  b[6] = (guint8) (0x70 | (counter >> 8));   /* version 7, counter high bits */
  b[7] = (guint8) counter;
  g_mutex_unlock (&lock);
  for (int i = 5; i >= 0; i--, ms >>= 8)
    b[i] = (guint8) ms;
  b[8] = (guint8) (0x80 | (b[8] & 0x3f));   /* variant 10 */
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
                          b[11], b[12], b[13], b[14], b[15]);
}

gboolean
mts_uuid_is_valid (const char *text)
{
  if (text == NULL || strlen (text) != 36)
    return FALSE;
  for (int i = 0; i < 36; i++)
    {
      char c = text[i];
      if (i == 8 || i == 13 || i == 18 || i == 23)
        {
          if (c != '-')
            return FALSE;
        }
      else if (!g_ascii_isxdigit (c) || g_ascii_isupper (c))
        return FALSE;
    }
  return TRUE;
}
