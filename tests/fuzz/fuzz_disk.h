/* ovscan fuzz targets — a fuzz input as a disk: the first `len` bytes are
 * the input, the rest up to `size` reads as zeros, and reads past `size`
 * fail (as a real disk's would).  Shared by every target; header-only. */
#ifndef OVSCAN_TESTS_FUZZ_DISK_H
#define OVSCAN_TESTS_FUZZ_DISK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_disk {
  const uint8_t *data;
  size_t len;
  uint64_t size;
};

static inline int
fuzz_read (void *opaque, void *buf, size_t count, uint64_t offset)
{
  const struct fuzz_disk *d = opaque;
  if (offset > d->size || count > d->size - offset)
    return -1;
  memset (buf, 0, count);
  if (offset < d->len) {
    size_t n = d->len - offset < count ? d->len - offset : count;
    memcpy (buf, d->data + offset, n);
  }
  return 0;
}

#endif
