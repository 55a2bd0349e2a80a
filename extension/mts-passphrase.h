/* mts-passphrase.h — where passphrases come from: never from SQL text.
 *
 * In order:
 *   1. the file named by <PREFIX>_FILE (first line; the file must not be
 *      readable by group or others; a pipe such as <(pass show mts) works),
 *   2. the environment variable <PREFIX>,
 *   3. the controlling terminal, with echo off, when there is one.
 * PREFIX is "MTS_PASSPHRASE" for the current passphrase and
 * "MTS_NEW_PASSPHRASE" for a new one.  An explicit setting wins over the
 * terminal so that scripts behave the same inside and outside a terminal.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_PASSPHRASE_MAX 1024

/* Reads a passphrase as described above.  @prompt is shown on the terminal;
 * with @confirm the terminal asks twice.  Returns a NUL-terminated buffer in
 * sodium_malloc() memory to be released with mts_passphrase_free(), and its
 * length in *@len; NULL with MTS_CORE_ERROR_NO_PASSPHRASE when no source has
 * one.  (transfer full) */
char *mts_passphrase_read (const char *prefix, const char *prompt, gboolean confirm,
                           gsize *len, GError **error);

/* Wipes and frees a passphrase.  NULL is allowed. */
void mts_passphrase_free (char *passphrase);

G_END_DECLS
