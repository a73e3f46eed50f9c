/* ovscan — sorted, merged extent sets (see extents.h). */
#include "extents.h"

#include <string.h>

static uint64_t
end_of (uint64_t offset, uint64_t length)
{
  return length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
}

/* Index of the first extent whose end is >= offset (it may touch). */
static size_t
first_touching (const ov_extents *set, uint64_t offset)
{
  size_t lo = 0, hi = set->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct ov_extent *e = &set->ptr[mid];
    if (end_of (e->offset, e->length) < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int
ov_extents_add (ov_extents *set, uint64_t offset, uint64_t length)
{
  uint64_t end = end_of (offset, length);
  size_t i, j;

  if (length == 0)
    return 0;
  /* Fast path: in-order append. */
  if (set->len == 0 ||
      set->ptr[set->len - 1].offset + set->ptr[set->len - 1].length < offset)
    return ov_extents_append (set, (struct ov_extent) { offset, end - offset });

  i = first_touching (set, offset);
  /* Extents i..j-1 touch or overlap the new range: merge them. */
  for (j = i; j < set->len && set->ptr[j].offset <= end; j++) {
    uint64_t e_end = end_of (set->ptr[j].offset, set->ptr[j].length);
    if (set->ptr[j].offset < offset)
      offset = set->ptr[j].offset;
    if (e_end > end)
      end = e_end;
  }
  if (i == j) {                       /* no neighbour: insert at i */
    if (ov_extents_reserve (set, 1) == -1)
      return -1;
    memmove (&set->ptr[i + 1], &set->ptr[i], (set->len - i) * sizeof set->ptr[0]);
    set->len++;
  }
  else if (j - i > 1) {               /* collapse i..j-1 into i */
    memmove (&set->ptr[i + 1], &set->ptr[j], (set->len - j) * sizeof set->ptr[0]);
    set->len -= j - i - 1;
  }
  set->ptr[i].offset = offset;
  set->ptr[i].length = end - offset;
  return 0;
}

bool
ov_extents_overlaps (const ov_extents *set, uint64_t offset, uint64_t length)
{
  size_t i;
  uint64_t end = end_of (offset, length);

  if (length == 0)
    return false;
  i = first_touching (set, offset);
  /* Skip one that only touches (ends exactly at offset). */
  if (i < set->len && end_of (set->ptr[i].offset, set->ptr[i].length) == offset)
    i++;
  return i < set->len && set->ptr[i].offset < end;
}

uint64_t
ov_extents_total (const ov_extents *set)
{
  uint64_t t = 0;
  size_t i;
  for (i = 0; i < set->len; i++)
    t += set->ptr[i].length;
  return t;
}

uint64_t
ov_extents_total_in (const ov_extents *set, uint64_t offset, uint64_t length)
{
  uint64_t end = end_of (offset, length), t = 0;
  size_t i;

  for (i = first_touching (set, offset); i < set->len; i++) {
    uint64_t s = set->ptr[i].offset, e = end_of (s, set->ptr[i].length);
    if (s >= end)
      break;
    if (s < offset) s = offset;
    if (e > end) e = end;
    if (e > s)
      t += e - s;
  }
  return t;
}
