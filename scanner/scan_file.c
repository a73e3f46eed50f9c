/* ovscan — ov_scan_file: one guest file through libclamav.
 *
 * The stream is the file's content as fsmap's reader serves it
 * (ov_file_pread over the calling thread's own disk handle): data runs from
 * the disk, holes and unwritten extents as zeros, resident bytes from
 * memory.  Nothing is copied to a temporary file.  All of the scanning logic
 * is in scan_stream.c.
 */
#include "scanner/internal.h"

#include "fsmap/fsmap.h"

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

void
ov_scan_file (const struct cl_engine *engine,
              const struct ov_scan_limits *limits,
              struct ov_fsmap *map, struct ov_disk *disk,
              const struct ov_file *f, struct ov_scan_result *result)
{
  struct file_reader r = { .map = map, .disk = disk, .f = f };
  ov_scan_stream (engine, limits, f->size, read_file, &r, result);
}
