/* bench-common.h — what both benchmark executables share and that does not
 * touch SQLite: the clock, the seeded notes, the point-read ids, temporary
 * directories and the output lines.
 *
 * Output, one fact a line, read by bench/gen-performance.py:
 *
 *   VERSION <component> <version>
 *   PARAM   <config> <name> <value>
 *   RESULT  <config> <workload> <seconds> <ops>
 *
 * Every executable prints one repetition of each of its configurations per
 * run; bench/run calls them in rounds so that all configurations are
 * measured side by side, and the generator takes the best of the rounds.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BENCH_N_NOTES 100000
#define BENCH_NOTE_BYTES 1024
#define BENCH_N_POINT 10000

/* The passphrase for MTS and for SQLCipher's passphrase configuration. */
#define BENCH_PASSPHRASE "correct horse battery staple, for benchmarks only"

/* Seconds on CLOCK_MONOTONIC. */
double bench_now (void);

/* BENCH_N_NOTES notes of BENCH_NOTE_BYTES each, note i (0-based) at
 * notes + i * BENCH_NOTE_BYTES: the same bytes in every executable and run
 * (randombytes_buf_deterministic with a fixed seed). */
uint8_t *bench_notes_new (void);

/* BENCH_N_POINT ids in 1..BENCH_N_NOTES from a fixed seed (splitmix64). */
int64_t *bench_point_ids_new (void);

/* A fresh directory under $TMPDIR (or /tmp), and its recursive removal. */
char *bench_tmpdir_new (void);
void bench_tmpdir_free (char *dir);

void bench_result (const char *config, const char *workload, double seconds, long ops);

/* Prints "bench: <message>" to stderr and exits with status 1. */
void bench_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
