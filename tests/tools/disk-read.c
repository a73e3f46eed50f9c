/* disk-read — a small test tool over backends/disk.h (ov_disk_*), used by
 * tests/integration/test-backends-*.sh.
 *
 *   disk-read [OPTIONS] TARGET size
 *   disk-read [OPTIONS] TARGET raw OFFSET LENGTH      bytes to stdout
 *   disk-read [OPTIONS] TARGET map CONTEXT [OFFSET LENGTH]
 *        one line per extent: "OFFSET LENGTH FLAGS" (decimal)
 *   disk-read [OPTIONS] TARGET readall [THREADS]
 *        read the whole disk in REQUEST-sized reads, split into THREADS
 *        contiguous parts, each on its own ov_disk_reopen() handle; prints
 *        "BYTES SECONDS MB/s" (MB = 10^6 bytes)
 * Options:
 *   --format FMT  --bitmap NAME  --allocation-depth  --timeout SECONDS
 *   --reopen      run the command on a second handle (ov_disk_reopen),
 *                 keeping the first one open
 *   --request N   read size for raw/readall (default 4M)
 * Numbers take a k, M or G suffix (powers of 1024).
 * On error: "disk-read: MESSAGE" on stderr, exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/disk.h"
#include "common/error.h"

static void
die (void)
{
  fprintf (stderr, "disk-read: %s\n", ov_last_error ());
  exit (1);
}

static void
usage (void)
{
  fprintf (stderr, "usage: disk-read [--format F] [--bitmap B] "
           "[--allocation-depth] [--timeout S] [--reopen] [--request N] "
           "TARGET size|raw OFF LEN|map CTX [OFF LEN]|readall [THREADS]\n");
  exit (2);
}

static uint64_t
parse_number (const char *s)
{
  char *end;
  uint64_t n;

  errno = 0;
  n = strtoull (s, &end, 0);
  if (errno || end == s)
    usage ();
  switch (*end) {
  case 'k': n <<= 10; end++; break;
  case 'M': n <<= 20; end++; break;
  case 'G': n <<= 30; end++; break;
  }
  if (*end)
    usage ();
  return n;
}

static size_t request = 4 << 20;

static int
print_extent (void *opaque, uint64_t offset, uint64_t length, uint32_t flags)
{
  printf ("%" PRIu64 " %" PRIu64 " %" PRIu32 "\n", offset, length, flags);
  return 0;
}

struct part {
  struct ov_disk *disk;
  uint64_t start, end;
  int ok;
  char error[512];
};

static void *
read_part (void *arg)
{
  struct part *p = arg;
  char *buf = malloc (request);
  uint64_t off;

  p->ok = buf != NULL;
  for (off = p->start; p->ok && off < p->end; off += request) {
    size_t n = p->end - off < request ? p->end - off : request;
    if (ov_disk_pread (p->disk, buf, n, off) == -1) {
      snprintf (p->error, sizeof p->error, "%s", ov_last_error ());
      p->ok = 0;
    }
  }
  free (buf);
  return NULL;
}

static void
readall (struct ov_disk *disk, unsigned threads)
{
  struct part parts[64];
  pthread_t tids[64];
  struct timespec t0, t1;
  uint64_t size = ov_disk_size (disk), each;
  double secs;
  unsigned i;

  if (threads == 0 || threads > 64)
    usage ();
  each = (size / threads + request - 1) / request * request;
  for (i = 0; i < threads; i++) {
    parts[i].disk = i == 0 ? disk : ov_disk_reopen (disk);
    if (parts[i].disk == NULL)
      die ();
    parts[i].start = each * i < size ? each * i : size;
    parts[i].end = each * (i + 1) < size && i + 1 < threads
      ? each * (i + 1) : size;
  }
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (i = 0; i < threads; i++)
    pthread_create (&tids[i], NULL, read_part, &parts[i]);
  for (i = 0; i < threads; i++)
    pthread_join (tids[i], NULL);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  for (i = 0; i < threads; i++) {
    if (!parts[i].ok) {
      fprintf (stderr, "disk-read: %s\n", parts[i].error);
      exit (1);
    }
    if (i > 0)
      ov_disk_close (parts[i].disk);
  }
  secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf ("%" PRIu64 " %.3f %.1f\n", size, secs, size / secs / 1e6);
}

int
main (int argc, char *argv[])
{
  static const struct option longopts[] = {
    { "format", required_argument, NULL, 'f' },
    { "bitmap", required_argument, NULL, 'B' },
    { "allocation-depth", no_argument, NULL, 'A' },
    { "timeout", required_argument, NULL, 't' },
    { "reopen", no_argument, NULL, 'r' },
    { "request", required_argument, NULL, 'R' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_disk_options options = { 0 };
  struct ov_disk *first, *disk;
  const char *cmd;
  int reopen = 0, c;

  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': options.format = optarg; break;
    case 'B': options.bitmap = optarg; break;
    case 'A': options.allocation_depth = true; break;
    case 't': options.timeout = parse_number (optarg); break;
    case 'r': reopen = 1; break;
    case 'R': request = parse_number (optarg); break;
    default: usage ();
    }
  }
  if (argc - optind < 2 || request == 0)
    usage ();
  first = ov_disk_open (argv[optind], &options);
  if (first == NULL)
    die ();
  disk = first;
  if (reopen && (disk = ov_disk_reopen (first)) == NULL)
    die ();
  cmd = argv[optind + 1];
  argv += optind + 2;
  argc -= optind + 2;

  if (strcmp (cmd, "size") == 0 && argc == 0)
    printf ("%" PRIu64 "\n", ov_disk_size (disk));
  else if (strcmp (cmd, "raw") == 0 && argc == 2) {
    uint64_t off = parse_number (argv[0]), len = parse_number (argv[1]);
    char *buf = malloc (request);
    if (buf == NULL)
      return 1;
    while (len > 0) {
      size_t n = len < request ? len : request;
      if (ov_disk_pread (disk, buf, n, off) == -1)
        die ();
      fwrite (buf, 1, n, stdout);
      off += n;
      len -= n;
    }
    free (buf);
  }
  else if (strcmp (cmd, "map") == 0 && (argc == 1 || argc == 3)) {
    uint64_t off = argc == 3 ? parse_number (argv[1]) : 0;
    uint64_t len = argc == 3 ? parse_number (argv[2]) : ov_disk_size (disk);
    if (ov_disk_block_status (disk, argv[0], off, len, print_extent,
                              NULL) == -1)
      die ();
  }
  else if (strcmp (cmd, "readall") == 0 && argc <= 1)
    readall (disk, argc ? parse_number (argv[0]) : 1);
  else
    usage ();

  if (fflush (stdout) == EOF) {
    perror ("disk-read: stdout");
    return 1;
  }
  if (disk != first)
    ov_disk_close (disk);
  ov_disk_close (first);
  return 0;
}
