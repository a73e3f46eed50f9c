/* ovscan fuzz replay harnesses — the two file helpers every
 * *_replay.c main needs: load a seed from SEEDDIR (at most 1 MiB; exits
 * on error, a missing seed is a broken checkout) and write one corpus
 * file for --write-seeds.  Header-only (static), no state. */
#ifndef OVSCAN_TESTS_FUZZ_REPLAY_FILES_H
#define OVSCAN_TESTS_FUZZ_REPLAY_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REPLAY_SEED_MAX (1 << 20)

/* DIR/NAME's first REPLAY_SEED_MAX bytes, malloc'd; *len set. */
static inline uint8_t *
replay_slurp (const char *dir, const char *name, size_t *len)
{
  char path[4096];
  FILE *fp;
  uint8_t *buf = malloc (REPLAY_SEED_MAX);

  snprintf (path, sizeof path, "%s/%s", dir, name);
  if (buf == NULL || (fp = fopen (path, "rb")) == NULL) {
    perror (path);
    exit (1);
  }
  *len = fread (buf, 1, REPLAY_SEED_MAX, fp);
  fclose (fp);
  return buf;
}

/* Write DIR/NAME; 0, or 1 after perror. */
static inline int
replay_write_file (const char *dir, const char *name, const uint8_t *d,
                   size_t n)
{
  char path[4096];
  FILE *fp;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  if ((fp = fopen (path, "wb")) == NULL) {
    perror (path);
    return 1;
  }
  if (fwrite (d, 1, n, fp) != n) {
    perror (path);
    fclose (fp);
    return 1;
  }
  return fclose (fp) != 0;
}

#endif
