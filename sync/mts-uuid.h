/* mts-uuid.h — UUIDv7 ids for synced rows (RFC 9562): 48 bits of Unix
 * milliseconds, then random bits, so ids sort by creation time and never
 * need a central counter. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new UUIDv7 in canonical lower-case text form. (transfer full) */
char *mts_uuid7_new (void);

/* Whether @text is a canonical lower-case UUID. */
gboolean mts_uuid_is_valid (const char *text);

G_END_DECLS
