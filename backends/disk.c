/* ovscan — the generic disk wrappers (see disk.h).
 *
 * Owns: choosing the backend for a target, the struct ov_disk around a
 * backend handle, and the checks every backend gets for free:
 *   - a read or block-status range must lie inside [0, size); the check is
 *     overflow-safe, so a guest-derived offset near 2^64 is an error;
 *   - reads larger than ops->max_request are split;
 *   - block status extents are checked to start at the requested offset and
 *     to follow one another without gap or overlap, are clipped to the
 *     requested range, and a backend that answers with less than the range
 *     is asked again from where it stopped (a server may answer short);
 *     an answer that makes no progress is an error, never a loop.
 * Every error names the disk (quoted label), the offset and the length.
 *
 * Cost: one indirect call per max_request bytes read, one per extent.
 */
#include "backends/disk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/disk_nbd.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

/* Label for messages: quoted (a path may hold control characters), or the
 * raw label if quoting runs out of memory.  Caller frees *tofree. */
static const char *
label_for_message (const struct ov_disk *disk, char **tofree)
{
  *tofree = ov_quote_path (disk->label);
  return *tofree ? *tofree : disk->label;
}

bool
ov_disk_target_is_uri (const char *target)
{
  static const char *const schemes[] = {
    "nbd://", "nbds://", "nbd+unix://", "nbds+unix://", "nbd+vsock://",
  };
  size_t i;

  if (target == NULL)
    return false;
  for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncasecmp (target, schemes[i], strlen (schemes[i])) == 0)
      return true;
  return false;
}

static struct ov_disk *
disk_new (const struct ov_disk_ops *ops, void *handle, const char *label,
          uint64_t size)
{
  struct ov_disk *disk = calloc (1, sizeof *disk);

  if (disk == NULL || (disk->label = strdup (label)) == NULL) {
    ov_error ("out of memory");
    free (disk);
    ops->close (handle);
    return NULL;
  }
  disk->ops = ops;
  disk->handle = handle;
  disk->size = size;
  return disk;
}

struct ov_disk *
ov_disk_open (const char *target, const struct ov_disk_options *options)
{
  static const struct ov_disk_options defaults;
  CLEANUP_FREE char *quoted = NULL;
  struct ov_disk *disk;
  bool is_uri;
  uint64_t size = 0;
  void *handle;

  if (target == NULL || target[0] == '\0') {
    ov_error ("disk: empty image path or URI");
    return NULL;
  }
  if (options == NULL)
    options = &defaults;
  is_uri = ov_disk_target_is_uri (target);
  handle = ov_disk_nbd_open (target, is_uri, options, &size);
  if (handle == NULL) {
    quoted = ov_quote_path (target);
    ov_error_prefix ("%s", quoted ? quoted : target);
    return NULL;
  }
  disk = disk_new (&ov_disk_nbd_ops, handle, target, size);
  if (disk && options->format && (disk->format = strdup (options->format)) == NULL) {
    ov_error ("out of memory");
    ov_disk_close (disk);
    return NULL;
  }
  return disk;
}

struct ov_disk *
ov_disk_reopen (const struct ov_disk *disk)
{
  CLEANUP_FREE char *tofree = NULL;
  struct ov_disk *copy;
  void *handle;

  if (disk->ops->reopen == NULL) {
    ov_error ("%s: the %s backend cannot open a second connection",
              label_for_message (disk, &tofree), disk->ops->name);
    return NULL;
  }
  handle = disk->ops->reopen (disk->handle);
  if (handle == NULL) {
    ov_error_prefix ("%s: reopen", label_for_message (disk, &tofree));
    return NULL;
  }
  copy = disk_new (disk->ops, handle, disk->label, disk->size);
  if (copy && disk->format && (copy->format = strdup (disk->format)) == NULL) {
    ov_error ("out of memory");
    ov_disk_close (copy);
    return NULL;
  }
  return copy;
}

void
ov_disk_close (struct ov_disk *disk)
{
  if (disk == NULL)
    return;
  disk->ops->close (disk->handle);
  free (disk->label);
  free (disk->format);
  free (disk);
}

/* 0 if [offset, offset+length) lies inside the disk, else -1 + ov_error. */
static int
check_range (const struct ov_disk *disk, const char *what, uint64_t offset,
             uint64_t length)
{
  CLEANUP_FREE char *tofree = NULL;

  if (offset <= disk->size && length <= disk->size - offset)
    return 0;
  ov_error ("%s: %s of %" PRIu64 " bytes at offset %" PRIu64
            " is beyond the end of the disk (size %" PRIu64 ")",
            label_for_message (disk, &tofree), what, length, offset,
            disk->size);
  return -1;
}

int
ov_disk_pread (struct ov_disk *disk, void *buf, size_t count,
               uint64_t offset)
{
  size_t max = disk->ops->max_request ? disk->ops->max_request : SIZE_MAX;
  char *p = buf;

  if (check_range (disk, "read", offset, count) == -1)
    return -1;
  while (count > 0) {
    size_t n = count < max ? count : max;

    if (disk->ops->pread (disk->handle, p, n, offset) == -1) {
      CLEANUP_FREE char *tofree = NULL;
      ov_error_prefix ("%s: read of %zu bytes at offset %" PRIu64,
                       label_for_message (disk, &tofree), n, offset);
      return -1;
    }
    p += n;
    offset += n;
    count -= n;
  }
  return 0;
}

/* State of one ov_disk_block_status() call, seen by clip_extent(). */
struct extent_walk {
  const struct ov_disk *disk;
  const char *context;
  uint64_t next;              /* where the next extent must start */
  uint64_t end;               /* end of the caller's range */
  ov_extent_cb cb;
  void *opaque;
  bool caller_stopped;        /* cb returned -1: its message stands */
  bool invalid;               /* backend broke the rules: message set */
};

static int
clip_extent (void *opaque, uint64_t offset, uint64_t length, uint32_t flags)
{
  struct extent_walk *w = opaque;
  CLEANUP_FREE char *tofree = NULL;

  if (w->next >= w->end)       /* range already covered: ignore the rest */
    return 0;
  if (offset != w->next || length == 0) {
    ov_error ("%s: block status of %s: the server sent an extent of %"
              PRIu64 " bytes at offset %" PRIu64 " where one at offset %"
              PRIu64 " was due", label_for_message (w->disk, &tofree),
              w->context, length, offset, w->next);
    w->invalid = true;
    return -1;
  }
  if (length > w->end - offset)
    length = w->end - offset;
  if (w->cb (w->opaque, offset, length, flags) == -1) {
    w->caller_stopped = true;
    return -1;
  }
  w->next = offset + length;
  return 0;
}

int
ov_disk_block_status (struct ov_disk *disk, const char *context,
                      uint64_t offset, uint64_t length,
                      ov_extent_cb cb, void *opaque)
{
  struct extent_walk w = {
    .disk = disk, .context = context, .next = offset, .end = offset + length,
    .cb = cb, .opaque = opaque,
  };
  CLEANUP_FREE char *tofree = NULL;

  if (disk->ops->block_status == NULL) {
    ov_error ("%s: the %s backend has no block status",
              label_for_message (disk, &tofree), disk->ops->name);
    return -1;
  }
  if (check_range (disk, "block status", offset, length) == -1)
    return -1;
  while (w.next < w.end) {
    uint64_t start = w.next;
    int r = disk->ops->block_status (disk->handle, context, start,
                                     w.end - start, clip_extent, &w);

    if (w.caller_stopped || w.invalid)
      return -1;
    if (r == -1) {
      ov_error_prefix ("%s: block status of %s over %" PRIu64
                       " bytes at offset %" PRIu64,
                       label_for_message (disk, &tofree), context,
                       w.end - start, start);
      return -1;
    }
    if (w.next == start) {
      ov_error ("%s: block status of %s over %" PRIu64 " bytes at offset %"
                PRIu64 ": the server sent no extent",
                label_for_message (disk, &tofree), context, w.end - start,
                start);
      return -1;
    }
  }
  return 0;
}
