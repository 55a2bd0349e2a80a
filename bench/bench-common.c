/* bench-common.c — see bench-common.h. */
#define _GNU_SOURCE
#include "bench-common.h"

#include <ftw.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double
bench_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

void
bench_die (const char *fmt, ...)
{
  va_list ap;

  fputs ("bench: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

uint8_t *
bench_notes_new (void)
{
  static const unsigned char seed[randombytes_SEEDBYTES] = "mts bench notes, seed 1";
  uint8_t *notes = malloc ((size_t) BENCH_N_NOTES * BENCH_NOTE_BYTES);

  if (notes == NULL)
    bench_die ("out of memory for the notes");
  randombytes_buf_deterministic (notes, (size_t) BENCH_N_NOTES * BENCH_NOTE_BYTES, seed);
  return notes;
}

static uint64_t
splitmix64 (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t *
bench_point_ids_new (void)
{
  int64_t *ids = malloc (BENCH_N_POINT * sizeof *ids);
  uint64_t state = 20240601;

  if (ids == NULL)
    bench_die ("out of memory for the point ids");
  for (int i = 0; i < BENCH_N_POINT; i++)
    ids[i] = (int64_t) (splitmix64 (&state) % BENCH_N_NOTES) + 1;
  return ids;
}

char *
bench_tmpdir_new (void)
{
  const char *base = getenv ("TMPDIR");
  char *dir;

  if (asprintf (&dir, "%s/mts-bench-XXXXXX", base && *base ? base : "/tmp") < 0)
    bench_die ("out of memory");
  if (mkdtemp (dir) == NULL)
    bench_die ("cannot create a directory from %s", dir);
  return dir;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (remove (path) != 0)
    bench_die ("cannot remove %s", path);
  return 0;
}

void
bench_tmpdir_free (char *dir)
{
  if (nftw (dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
    bench_die ("cannot remove %s", dir);
  free (dir);
}

void
bench_result (const char *config, const char *workload, double seconds, long ops)
{
  printf ("RESULT %s %s %.6f %ld\n", config, workload, seconds, ops);
  fflush (stdout);
}
