/* mts-error.c — error domain and library start-up for the crypto core. */
#define G_LOG_DOMAIN "mts-core"

#include "mts-error.h"

#include <sodium.h>

G_DEFINE_QUARK (mts-core-error-quark, mts_core_error)

gboolean
mts_core_init (GError **error)
{
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO,
                           "libsodium could not be initialised");
      return FALSE;
    }
  return TRUE;
}
