/* test-util.h — what the crypto core's unit tests share. */
#pragma once

#include <glib.h>

#include "mts-envelope.h"

/* A fresh private directory from @tmpl (for g_dir_make_tmp). (transfer full) */
char *mts_test_dir_new (const char *tmpl);

/* Removes @dir and the files in it, asserting each removal. */
void mts_test_dir_remove (const char *dir);

/* A deterministic test key: @seed, @seed + 1, ... */
void mts_test_make_key (guint8 key[MTS_KEY_BYTES], guint8 seed);
