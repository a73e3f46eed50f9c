/* ovscan — runs the LVM fuzz target (fuzz_lvm.c) without libFuzzer: the
 * real lvm2-written seeds of tests/fuzz/seeds/ (lvm-pv.bin: the first
 * 12 KiB of a 64 MiB PV made by pvcreate/vgcreate/lvcreate/lvextend, VG
 * "fuzzvg" with lv1 in two segments and lv2; lvm-metadata.txt: its current
 * metadata text), then deterministic mutations of them in the three modes
 * (raw disk, disk with checksums fixed, text), so the ctest is repeatable
 * and fails on any crash or sanitizer report.
 * Usage: fuzz-lvm-replay ITERATIONS SEEDDIR
 *        fuzz-lvm-replay --write-seeds SEEDDIR CORPUS   (libFuzzer corpus) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/replay_files.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int fuzz_lvm_count (const uint8_t *data, size_t size);

/* mode byte + (disk size + disk bytes | text) */
static uint8_t *
make_input (int mode, const uint8_t *body, size_t blen, size_t *len)
{
  uint64_t disk = UINT64_C (64) << 20;
  size_t hdr = mode == 2 ? 1 : 9;
  uint8_t *in = malloc (hdr + blen);
  if (in == NULL)
    exit (1);
  in[0] = (uint8_t) mode;
  if (mode != 2)
    memcpy (in + 1, &disk, 8);
  memcpy (in + hdr, body, blen);
  *len = hdr + blen;
  return in;
}

static const char syntax_bytes[] = "{}[]=\",#\n\\ -0123456789";

int
main (int argc, char **argv)
{
  size_t pvlen, txtlen, len[3];
  uint8_t *pvb, *txt, *seed[3], *in;
  unsigned long iterations, i;
  unsigned rs = 0x1f5eed;
  const char *dir;

  if (argc != 3 && !(argc == 4 && strcmp (argv[1], "--write-seeds") == 0)) {
    fprintf (stderr, "usage: fuzz-lvm-replay ITERATIONS SEEDDIR\n"
             "       fuzz-lvm-replay --write-seeds SEEDDIR CORPUS\n");
    return 2;
  }
  dir = argv[2];
  pvb = replay_slurp (dir, "lvm-pv.bin", &pvlen);
  txt = replay_slurp (dir, "lvm-metadata.txt", &txtlen);
  for (int m = 0; m < 3; m++)
    seed[m] = m == 2 ? make_input (m, txt, txtlen, &len[m])
                     : make_input (m, pvb, pvlen, &len[m]);
  free (pvb);
  free (txt);
  if (argc == 4) {
    int r = replay_write_file (argv[3], "lvm-disk", seed[0], len[0])
      || replay_write_file (argv[3], "lvm-disk-fixcrc", seed[1], len[1])
      || replay_write_file (argv[3], "lvm-text", seed[2], len[2]);
    for (int m = 0; m < 3; m++)
      free (seed[m]);
    return r;
  }
  /* The seeds must be real metadata, or the mutations test nothing. */
  for (int m = 0; m < 3; m++)
    if (fuzz_lvm_count (seed[m], len[m]) != 2) {
      fprintf (stderr, "seed mode %d: %d usable LVs (want 2)\n", m,
               fuzz_lvm_count (seed[m], len[m]));
      return 1;
    }
  iterations = strtoul (argv[1], NULL, 10);
  in = malloc (len[0] > len[2] ? len[0] + 4096 : len[2] + 4096);
  if (in == NULL)
    return 1;
  for (i = 0; i < iterations; i++) {
    int m = (int) (i % 3), flips = 1 + rand_r (&rs) % 8, k;
    size_t n = len[m], body = m == 2 ? 1 : 9;
    memcpy (in, seed[m], n);
    for (k = 0; k < flips; k++) {
      size_t pos = body + (size_t) rand_r (&rs) % (n - body);
      switch (rand_r (&rs) % 4) {
      case 0: in[pos] = (uint8_t) rand_r (&rs); break;
      case 1: in[pos] = (uint8_t) syntax_bytes[rand_r (&rs) % (sizeof syntax_bytes - 1)]; break;
      case 2: /* copy a chunk elsewhere: repeated sections, wrapped text */
        {
          size_t from = body + (size_t) rand_r (&rs) % (n - body);
          size_t c = (size_t) rand_r (&rs) % 64;
          if (c <= n - from && c <= n - pos)
            memmove (in + pos, in + from, c);
        }
        break;
      default: /* a huge or negative number */
        {
          static const char *nums[] = { "18446744073709551615", "-1",
            "9223372036854775807", "4294967296", "0" };
          const char *s = nums[rand_r (&rs) % 5];
          if (strlen (s) <= n - pos)
            memcpy (in + pos, s, strlen (s));
        }
        break;
      }
    }
    switch (rand_r (&rs) % 5) {
    case 0: n = body + (size_t) rand_r (&rs) % (n - body); break;   /* short */
    case 1:
      if (m != 2) {                                                 /* odd disk size */
        uint64_t sz = rand_r (&rs) % 3 ? (uint64_t) rand_r (&rs) % (1 << 24)
                                       : UINT64_MAX - (uint64_t) rand_r (&rs) % 4096;
        memcpy (in + 1, &sz, 8);
      }
      break;
    default: break;
    }
    LLVMFuzzerTestOneInput (in, n);
  }
  /* Size limits, not mutations: an array of 1,000,000 items (the node
   * bound) took minutes when kids grew one at a time; the ctest's TIMEOUT
   * catches a return of that. */
  {
    size_t big = 1 + 5 + 2 * 1000000;
    uint8_t *b = malloc (big);
    if (b == NULL)
      return 1;
    memcpy (b, "\x02" "a = [", 6);
    for (size_t k = 6; k < big; k += 2)
      memcpy (b + k, k + 2 < big ? "1," : "1]", 2);
    LLVMFuzzerTestOneInput (b, big);
    free (b);
  }
  printf ("fuzz-lvm-replay: %lu inputs, no crash\n", iterations + 4);
  free (in);
  for (int m = 0; m < 3; m++)
    free (seed[m]);
  return 0;
}
