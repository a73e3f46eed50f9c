/* ovscan — the single-image dirty-block tracker: qcow2 persistent dirty
 * bitmaps managed offline with qemu-img (the VM is shut down), read as the
 * NBD meta context "qemu:dirty-bitmap:NAME".
 *
 * Bitmaps are named "ovscan-<generation>".  The state db remembers, per
 * disk, the bitmap that records the writes since the last committed poll
 * (struct ov_tracker_state).  One poll, as the orchestrator drives it:
 *
 *   ov_bitmap_prepare   qemu-img info; drop stale ovscan-N bitmaps; decide
 *                       full (poll->full_reason) or incremental
 *                       (poll->frozen = state->bitmap)
 *   [quiet check: open the disk with options.bitmap = frozen,
 *    ov_bitmap_read_dirty; nothing dirty -> done, nothing changes]
 *   ov_bitmap_arm       create the successor ovscan-<generation+1>, enabled:
 *                       every write from now on is in it; every write before
 *                       now is in frozen (or covered by the full poll).
 *                       Must run while no qemu-nbd has the image open
 *                       (qemu-img needs the write lock).
 *   read the disk (frozen's dirty extents, or everything when full)
 *   db commit: state := { successor, successor_generation, granularity }
 *   ov_bitmap_release (frozen)        after the commit
 *   ov_bitmap_release (successor)     instead, if the poll is abandoned
 *
 * Never loses a write: the bitmap covering poll n is removed only after the
 * db has committed poll n.  A kill at any instant leaves at most one extra
 * ovscan-N bitmap, which the next prepare removes (see bitmap_tracker.c
 * for why that loses nothing).
 *
 * Not thread-safe per image (one poll of a disk at a time: the caller
 * serialises); different images in parallel are fine.
 */
#ifndef OVSCAN_BACKENDS_TRACKER_H
#define OVSCAN_BACKENDS_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/disk.h"
#include "common/extents.h"

/* Bitmap names: OV_BITMAP_PREFIX followed by the generation in decimal. */
#define OV_BITMAP_PREFIX "ovscan-"

/* What the state db recorded for one disk after its last committed poll. */
struct ov_tracker_state {
  char *bitmap;               /* recording writes since that poll; NULL
                                 before the first poll */
  uint64_t generation;        /* of that bitmap (0 before the first poll) */
  uint32_t granularity;       /* bytes; what the bitmap must have (the
                                 successor is created with it) */
};

/* One poll's plan, filled by prepare and arm.  Strings are malloc'd. */
struct ov_tracker_poll {
  char *frozen;               /* bitmap to read; NULL = full poll */
  char *successor;            /* set by arm */
  uint64_t successor_generation;
  char *full_reason;          /* why full; NULL when incremental */
  uint64_t virtual_size;      /* from qemu-img info, for the caller to
                                 compare with the recorded disk size */
};
void ov_tracker_poll_free (struct ov_tracker_poll *poll);

/* FORMAT must be given (never probed); only "qcow2" can hold bitmaps.
 * -1 + ov_error when the image cannot be tracked (in use by another
 * process, not qcow2, corrupt, qemu-img failing): the message says why and
 * what to do.  A bitmap that is missing, inconsistent, disabled or of
 * another granularity is no error: full_reason says so, and the bad bitmap
 * is removed. */
int ov_bitmap_prepare (const char *image, const char *format,
                       const struct ov_tracker_state *state,
                       struct ov_tracker_poll *poll);

/* Create the successor "ovscan-<state->generation + 1>" with
 * state->granularity (4096 if 0), persistent and enabled; fills
 * poll->successor and poll->successor_generation. */
int ov_bitmap_arm (const char *image, const char *format,
                   const struct ov_tracker_state *state,
                   struct ov_tracker_poll *poll);

/* The dirty extents of BITMAP over the whole of DISK, which was opened
 * with ov_disk_options.bitmap = BITMAP.  Appended to *out (sorted, merged). */
int ov_bitmap_read_dirty (struct ov_disk *disk, const char *bitmap,
                          ov_extents *out);

/* qemu-img bitmap --remove.  A failure leaves a stale bitmap that the next
 * prepare removes: callers report it but need not fail the poll. */
int ov_bitmap_release (const char *image, const char *format,
                       const char *bitmap);

/* True if NAME is OV_BITMAP_PREFIX + a decimal generation (no sign, no
 * leading zero, fits uint64); *generation gets it when not NULL. */
bool ov_bitmap_name_parse (const char *name, uint64_t *generation);

#endif
