/* ovscan — runs a fuzz target without libFuzzer: seed inputs built here,
 * then deterministic mutations of them (byte flips, sector copies, size
 * changes), so the ctest is repeatable and fails on any crash or
 * sanitizer report.
 * Usage: fuzz-partitions-replay [ITERATIONS]
 *        fuzz-partitions-replay --write-seeds DIR   (a corpus for libFuzzer) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int fuzz_partitions_count (const uint8_t *data, size_t size);

#define SECTOR 512
#define DISK_BYTES (40 * SECTOR)

static void
put32 (uint8_t *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void
put64 (uint8_t *p, uint64_t v)
{
  put32 (p, (uint32_t) v);
  put32 (p + 4, (uint32_t) (v >> 32));
}

static void
mbr_entry (uint8_t *s, int i, uint8_t type, uint32_t start, uint32_t len)
{
  uint8_t *e = s + 446 + 16 * i;
  e[4] = type;
  put32 (e + 8, start);
  put32 (e + 12, len);
}

/* Seed 1: MBR, two primaries and an extended partition with an EBR chain
 * of three logical partitions (sectors 10, 14, 18). */
static void
seed_mbr (uint8_t *in)
{
  uint8_t *disk = in + 8;
  put64 (in, 1ULL << 30);
  mbr_entry (disk, 0, 0x83, 2048, 4096);
  mbr_entry (disk, 1, 0x07, 8192, 4096);
  mbr_entry (disk, 2, 0x05, 10, 30);
  disk[510] = 0x55; disk[511] = 0xaa;
  for (int k = 0; k < 3; k++) {
    uint8_t *ebr = disk + (10 + 4 * k) * SECTOR;
    mbr_entry (ebr, 0, 0x83, 1, 2);
    if (k < 2)
      mbr_entry (ebr, 1, 0x05, 4 * (k + 1), 4);
    ebr[510] = 0x55; ebr[511] = 0xaa;
  }
}

/* Seed 2: protective MBR + GPT header at LBA 1 + 4 entries at LBA 2. */
static void
seed_gpt (uint8_t *in)
{
  uint8_t *disk = in + 8;
  uint8_t *h = disk + SECTOR;
  put64 (in, 1ULL << 30);
  mbr_entry (disk, 0, 0xee, 1, 0xffffffff);
  disk[510] = 0x55; disk[511] = 0xaa;
  memcpy (h, "EFI PART", 8);
  put32 (h + 8, 0x00010000);
  put32 (h + 12, 92);
  put64 (h + 24, 1);
  put64 (h + 40, 34);
  put64 (h + 48, (1ULL << 21) - 34);
  put64 (h + 72, 2);
  put32 (h + 80, 4);
  put32 (h + 84, 128);
  for (int i = 0; i < 4; i++) {
    uint8_t *e = disk + 2 * SECTOR + 128 * i;
    e[0] = 0xaf; e[1] = (uint8_t) (i + 1);      /* type GUID: non-zero */
    put64 (e + 32, 2048 + 4096ULL * i);
    put64 (e + 40, 2048 + 4096ULL * i + 4095);
  }
}

static int
write_seed (const char *dir, const char *name, const uint8_t *data, size_t len)
{
  char path[4096];
  FILE *fp;
  snprintf (path, sizeof path, "%s/%s", dir, name);
  if ((fp = fopen (path, "wb")) == NULL || fwrite (data, 1, len, fp) != len) {
    perror (path);
    return 1;
  }
  return fclose (fp) != 0;
}

int
main (int argc, char **argv)
{
  unsigned long iterations = argc > 1 ? strtoul (argv[1], NULL, 10) : 20000;
  static uint8_t seeds[2][8 + DISK_BYTES], in[8 + DISK_BYTES];
  unsigned seed = 0x5eed;
  unsigned long i;

  seed_mbr (seeds[0]);
  seed_gpt (seeds[1]);
  if (argc == 3 && strcmp (argv[1], "--write-seeds") == 0)
    return write_seed (argv[2], "mbr-ebr", seeds[0], sizeof seeds[0]) ||
           write_seed (argv[2], "gpt", seeds[1], sizeof seeds[1]);
  /* The seeds must be real tables, or the mutations test nothing. */
  if (fuzz_partitions_count (seeds[0], sizeof seeds[0]) != 5 ||
      fuzz_partitions_count (seeds[1], sizeof seeds[1]) != 4) {
    fprintf (stderr, "seed tables not parsed as expected: MBR %d (want 5), GPT %d (want 4)\n",
             fuzz_partitions_count (seeds[0], sizeof seeds[0]),
             fuzz_partitions_count (seeds[1], sizeof seeds[1]));
    return 1;
  }
  for (i = 0; i < iterations; i++) {
    size_t len = sizeof in;
    int flips = 1 + rand_r (&seed) % 16, k;
    memcpy (in, seeds[i & 1], sizeof in);
    for (k = 0; k < flips; k++) {
      /* Mostly hit the table sectors, sometimes anywhere. */
      size_t pos = rand_r (&seed) % 4 ? (size_t) (8 + rand_r (&seed) % (3 * SECTOR))
                                      : (size_t) rand_r (&seed) % sizeof in;
      in[pos] = (uint8_t) rand_r (&seed);
    }
    switch (rand_r (&seed) % 6) {
    case 0: put64 (in, rand_r (&seed) % (64 * SECTOR)); break;      /* tiny disk */
    case 1: put64 (in, UINT64_MAX - rand_r (&seed) % 4096); break;  /* absurd size */
    case 2: len = 8 + rand_r (&seed) % DISK_BYTES; break;           /* short input */
    case 3: /* copy an EBR/GPT sector elsewhere: chains that loop */
      memcpy (in + 8 + (rand_r (&seed) % 40) * SECTOR,
              in + 8 + (10 + rand_r (&seed) % 10) * SECTOR, SECTOR);
      break;
    default: break;
    }
    LLVMFuzzerTestOneInput (in, len);
  }
  printf ("fuzz-partitions-replay: %lu inputs, no crash\n", iterations + 2);
  return 0;
}
