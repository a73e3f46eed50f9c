/* ovscan — runs the jbd2 fuzz target (fuzz_ext_journal.c) without
 * libFuzzer: three seeds (a crafted journal with 32-bit tags, two
 * transactions and a revoke; a crafted csum v3 / 64-bit journal whose log
 * wraps; a kernel-written csum v3 journal, tests/fuzz/seeds/
 * ext4-journal.bin: the first 48 KiB of a 1 MiB journal of a 1 KiB-block
 * ext4 copied while mounted, 3 transactions, one revoke block), then
 * deterministic mutations (bytes, big-endian fields set to edge values,
 * whole blocks copied over others, truncation, the length fields), so the
 * ctest is repeatable and fails on any crash or sanitizer report.
 * Usage: fuzz-ext-journal-replay ITERATIONS SEEDDIR
 *        fuzz-ext-journal-replay --write-seeds SEEDDIR CORPUS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/jbd2_build.h"
#include "tests/fuzz/replay_files.h"

int fuzz_ext_journal_count (const uint8_t *data, size_t size);

#define HDR 13
#define CRAFT_BLOCKS 64

static uint8_t *
with_header (uint8_t mode, uint32_t jblocks, uint64_t fsblocks,
             const uint8_t *body, size_t blen, size_t *len)
{
  uint8_t *in = malloc (HDR + blen);
  if (in == NULL)
    exit (1);
  in[0] = mode;
  for (int i = 0; i < 4; i++)
    in[1 + i] = (uint8_t) (jblocks >> 8 * i);
  for (int i = 0; i < 8; i++)
    in[5 + i] = (uint8_t) (fsblocks >> 8 * i);
  memcpy (in + HDR, body, blen);
  *len = HDR + blen;
  return in;
}

static uint8_t *
seed_crafted (int which, size_t *len)
{
  static uint8_t j[1024 * CRAFT_BLOCKS];
  struct jb b;
  uint64_t t1[] = { 10, 11, 12 }, t2[] = { 11, 500 }, rev[] = { 12 };

  if (which == 0) {
    jb_init (&b, j, 1024, CRAFT_BLOCKS, 0, 1, 40);
    jb_transaction (&b, t1, 3, 0x10, true);
    jb_revoke (&b, rev, 1);
    jb_transaction (&b, t2, 2, 0xc0, true);
    return with_header (0, CRAFT_BLOCKS, 1000, j, sizeof j, len);
  }
  jb_init (&b, j, 1024, CRAFT_BLOCKS, JB_64BIT | JB_CSUM_V3, CRAFT_BLOCKS - 4,
           0xfffffffeu);                        /* sequence wraps too */
  jb_transaction (&b, t1, 3, 0x10, true);
  jb_revoke (&b, rev, 1);
  jb_transaction (&b, t2, 2, 0x20, true);
  jb_fix_checksums (j, 1024, CRAFT_BLOCKS);
  return with_header (4, CRAFT_BLOCKS, 1000, j, sizeof j, len);
}

static uint8_t *
seed_kernel (const char *dir, size_t *len)
{
  size_t n;
  uint8_t *buf = replay_slurp (dir, "ext4-journal.bin", &n);
  uint8_t *in = with_header (4, 1024, 16384, buf, n, len);
  free (buf);
  return in;
}

static void
put_be32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24); p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8); p[3] = (uint8_t) v;
}

int
main (int argc, char **argv)
{
  static const uint32_t edge[] = { 0, 1, 2, 3, 4, 5, 0x7fffffff, 0x80000000u,
    0xffffffffu, 0xfffffffeu, 1024, 1025, 4096, OV_JBD2_MAGIC, 0xffff, 16, 12 };
  size_t len[3];
  uint8_t *seed[3], *in;
  unsigned long iterations, i;
  unsigned rs = 0x10a2d;
  size_t maxlen = 0;

  if (argc != 3 && !(argc == 4 && strcmp (argv[1], "--write-seeds") == 0)) {
    fprintf (stderr, "usage: fuzz-ext-journal-replay ITERATIONS SEEDDIR\n"
             "       fuzz-ext-journal-replay --write-seeds SEEDDIR CORPUS\n");
    return 2;
  }
  seed[0] = seed_crafted (0, &len[0]);
  seed[1] = seed_crafted (1, &len[1]);
  seed[2] = seed_kernel (argv[2], &len[2]);
  if (argc == 4) {
    int r = replay_write_file (argv[3], "jbd2-plain", seed[0], len[0])
      || replay_write_file (argv[3], "jbd2-csum3-wrap", seed[1], len[1])
      || replay_write_file (argv[3], "jbd2-kernel", seed[2], len[2]);
    for (int m = 0; m < 3; m++)
      free (seed[m]);
    return r;
  }
  /* The seeds must replay something, or the mutations test nothing. */
  for (int m = 0; m < 3; m++) {
    int n = fuzz_ext_journal_count (seed[m], len[m]);
    if (n <= 0) {
      fprintf (stderr, "seed %d: %d blocks replayed (want > 0)\n", m, n);
      return 1;
    }
    if (len[m] > maxlen)
      maxlen = len[m];
  }
  iterations = strtoul (argv[1], NULL, 10);
  if ((in = malloc (maxlen)) == NULL)
    return 1;
  for (i = 0; i < iterations; i++) {
    int m = (int) (i % 3), flips = 1 + rand_r (&rs) % 6;
    size_t n = len[m], body = n - HDR, pos;
    memcpy (in, seed[m], n);
    for (int k = 0; k < flips; k++) {
      pos = HDR + (size_t) rand_r (&rs) % body;
      switch (rand_r (&rs) % 4) {
      case 0:
        in[pos] = (uint8_t) rand_r (&rs);
        break;
      case 1:                   /* a field (4-aligned in its block) */
        pos -= (pos - HDR) % 4;
        if (pos + 4 <= n)
          put_be32 (in + pos, edge[(size_t) rand_r (&rs) % (sizeof edge / sizeof edge[0])]);
        break;
      case 2:                   /* a whole block copied over another */
        {
          size_t nb = body / 1024, from = (size_t) rand_r (&rs) % nb,
            to = (size_t) rand_r (&rs) % nb;
          memmove (in + HDR + to * 1024, in + HDR + from * 1024, 1024);
        }
        break;
      default:                  /* the descriptor/commit/revoke type */
        pos -= (pos - HDR) % 1024;
        if (pos + 8 <= n)
          put_be32 (in + pos + 4, (uint32_t) rand_r (&rs) % 7);
        break;
      }
    }
    switch (rand_r (&rs) % 6) {
    case 0: n = HDR + (size_t) rand_r (&rs) % body; break;          /* short */
    case 1: put_be32 (in + 1, (uint32_t) rand_r (&rs)); break;      /* lengths */
    case 2: in[5 + rand_r (&rs) % 8] = (uint8_t) rand_r (&rs); break;
    case 3: in[0] ^= (uint8_t) (1 << rand_r (&rs) % 3); break;      /* mode */
    default: break;
    }
    fuzz_ext_journal_count (in, n);
  }
  free (in);
  for (int m = 0; m < 3; m++)
    free (seed[m]);
  printf ("fuzz-ext-journal-replay: %lu inputs, no crash\n", iterations);
  return 0;
}
