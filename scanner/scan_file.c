/* ovscan — ov_scan_file: one guest file through libclamav.
 *
 * The stream is the file's content as fsmap's reader serves it
 * (ov_file_pread over the calling thread's own disk handle): data runs from
 * the disk, holes and unwritten extents as zeros, resident bytes from
 * memory.  Nothing is copied to a temporary file.  All of the scanning logic
 * is in scan_stream.c.
 *
 * With a verdict cache (limits->verdict_cache, scanner/verdict_cache.h) a
 * file of at most OV_VERDICT_CACHE_MAX_FILE bytes is read once into memory
 * while its SHA-256 is computed; a known digest takes the cached verdict
 * (libclamav is not called), an unknown one is scanned from that memory
 * (no second read) and its clean/infected verdict cached.  A read error
 * falls back to the streaming path, which reports it as today.
 */
#include "scanner/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "fsmap/fsmap.h"
#include "scanner/verdict_cache.h"

struct file_reader {
  struct ov_fsmap *map;
  struct ov_disk *disk;
  const struct ov_file *f;
};

static ssize_t
read_file (void *opaque, void *buf, size_t count, uint64_t offset)
{
  struct file_reader *r = opaque;
  return ov_file_pread (r->map, r->disk, r->f, buf, count, offset);
}

struct memory_reader {
  const unsigned char *buf;
  uint64_t size;
};

static ssize_t
read_memory (void *opaque, void *buf, size_t count, uint64_t offset)
{
  struct memory_reader *m = opaque;
  if (offset >= m->size)
    return 0;
  if (count > m->size - offset)
    count = (size_t) (m->size - offset);
  memcpy (buf, m->buf + offset, count);
  return (ssize_t) count;
}

/* Read the whole file into a new buffer, hashing it as it is read; NULL on
 * any failure (the caller then streams, which reports read errors with
 * their offsets). */
static unsigned char *
read_whole (struct file_reader *r, uint64_t size, uint8_t digest[32])
{
  unsigned char *buf = malloc (size);
  struct ov_sha256 ctx;
  uint64_t done = 0;

  if (buf == NULL)
    return NULL;
  ov_sha256_init (&ctx);
  while (done < size) {
    size_t want = size - done > (1u << 20) ? (1u << 20) : (size_t) (size - done);
    ssize_t n = read_file (r, buf + done, want, done);
    if (n <= 0) {
      free (buf);
      return NULL;
    }
    ov_sha256_update (&ctx, buf + done, (size_t) n);
    done += (uint64_t) n;
  }
  ov_sha256_final (&ctx, digest);
  return buf;
}

void
ov_scan_file (const struct cl_engine *engine,
              const struct ov_scan_limits *limits,
              struct ov_fsmap *map, struct ov_disk *disk,
              const struct ov_file *f, struct ov_scan_result *result)
{
  struct file_reader r = { .map = map, .disk = disk, .f = f };
  struct ov_verdict_cache *cache = limits ? limits->verdict_cache : NULL;
  uint64_t max = limits && limits->max_filesize ? limits->max_filesize
                                                : OV_DEFAULT_MAX_FILESIZE;
  unsigned char *buf;
  uint8_t digest[32];

  if (cache == NULL || f->size == 0 || f->size > OV_VERDICT_CACHE_MAX_FILE ||
      f->size > max || (buf = read_whole (&r, f->size, digest)) == NULL) {
    ov_scan_stream (engine, limits, f->size, read_file, &r, result);
    return;
  }
  memset (result, 0, sizeof *result);
  if (ov_verdict_cache_lookup (cache, digest, result))
    result->cached = true;
  else {
    struct memory_reader m = { .buf = buf, .size = f->size };
    ov_scan_stream (engine, limits, f->size, read_memory, &m, result);
    ov_verdict_cache_add (cache, digest, result->verdict, result->signature);
  }
  result->bytes_read = f->size;
  result->has_digest = true;
  memcpy (result->digest, digest, sizeof digest);
  free (buf);
}
