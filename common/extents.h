/* ovscan — sets of disk byte ranges ("extents"): what changed on a disk.
 *
 * An ov_extents is a vector of half-open ranges [offset, offset+length),
 * kept sorted and merged (no two touch) by ov_extents_add(), so that lookups
 * are a binary search: O(log n) per query, n = number of dirty runs, which
 * follows the size of the change, not of the disk.
 */
#ifndef OVSCAN_COMMON_EXTENTS_H
#define OVSCAN_COMMON_EXTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vector.h"

struct ov_extent {
  uint64_t offset;
  uint64_t length;
};
DEFINE_VECTOR (ov_extents, struct ov_extent);

/* Add [offset, offset+length): merged with its neighbours.  Appending in
 * ascending order (what NBD block status gives) costs O(1); out-of-order
 * adds are correct but O(n).  A range that would wrap past 2^64 is clipped.
 * -1 + ov_error on ENOMEM. */
int ov_extents_add (ov_extents *set, uint64_t offset, uint64_t length);

/* True if any byte of [offset, offset+length) is in the set. */
bool ov_extents_overlaps (const ov_extents *set, uint64_t offset,
                          uint64_t length);

/* Total bytes in the set. */
uint64_t ov_extents_total (const ov_extents *set);

/* Bytes of the set inside [offset, offset+length). */
uint64_t ov_extents_total_in (const ov_extents *set, uint64_t offset,
                              uint64_t length);

#endif
