/* mts-server-storage.c — what every storage backend shares (see
 * mts-server-storage.h): the error domain and the functions that free the
 * strings and bytes a lookup put in a row.  A cleared row is all zeros, so
 * clearing it again, or reusing it for another lookup, is safe. */
#define G_LOG_DOMAIN "mts-server"

#include "mts-server-storage.h"

#include <string.h>

G_DEFINE_QUARK (mts-storage-error-quark, mts_storage_error)

void
mts_practice_row_clear (MtsPracticeRow *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->slug);
  g_free (row->name);
  memset (row, 0, sizeof *row);
}

void
mts_user_row_clear (MtsUserRow *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->practice_id);
  g_free (row->username);
  g_free (row->role);
  g_free (row->password_hash);
  g_clear_pointer (&row->totp_sealed, g_bytes_unref);
  memset (row, 0, sizeof *row);
}

void
mts_device_row_clear (MtsDeviceRow *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->practice_id);
  g_free (row->user_id);
  g_free (row->name);
  memset (row, 0, sizeof *row);
}

void
mts_token_row_clear (MtsTokenRow *row)
{
  if (row == NULL)
    return;
  g_free (row->practice_id);
  g_free (row->user_id);
  g_free (row->device_id);
  g_free (row->family);
  memset (row, 0, sizeof *row);
}

void
mts_record_row_clear (MtsRecordRow *row)
{
  if (row == NULL)
    return;
  g_free (row->table);
  g_free (row->id);
  g_free (row->plain_json);
  g_clear_pointer (&row->sealed, g_bytes_unref);
  g_free (row->device_id);
  g_free (row->user_id);
  memset (row, 0, sizeof *row);
}

void
mts_audit_row_clear (MtsAuditRow *row)
{
  if (row == NULL)
    return;
  g_free (row->practice_id);
  g_free (row->actor);
  g_free (row->event);
  g_free (row->detail_json);
  memset (row, 0, sizeof *row);
}
