/* ovscan — the dirty extents of a layers poll (cow.h): the clusters that
 * the layers no committed poll covered hold, read from the frozen old top
 * through NBD's qemu:allocation-depth (depth 1 = the old top, 2 = the layer
 * below it, …).  Shared by the offline and the live layers trackers.
 *
 * Cost: one block-status walk over the view (a few requests per GiB of
 * sparse allocation).
 */
#include "cow/cow.h"

#include "common/error.h"

uint32_t
ov_cow_uncovered_below (const struct ov_cow_chain *c, uint64_t covered)
{
  size_t i;

  for (i = 1; i < c->len; i++)
    if (!c->layers[i].own || c->layers[i].number <= covered)
      break;
  return (uint32_t) i + 1;
}

struct uncovered_ctx {
  ov_extents *dirty;
  uint32_t below;                /* depths 1 .. below-1 are dirty */
};

static int
add_uncovered (void *opaque, uint64_t offset, uint64_t length, uint32_t depth)
{
  struct uncovered_ctx *u = opaque;
  if (depth >= 1 && depth < u->below)
    return ov_extents_add (u->dirty, offset, length);
  return 0;
}

int
ov_cow_read_uncovered (struct ov_disk *view, const struct ov_cow_chain *c,
                       uint64_t covered, ov_extents *dirty)
{
  struct uncovered_ctx u = {
    .dirty = dirty, .below = ov_cow_uncovered_below (c, covered),
  };

  return ov_disk_block_status (view, "qemu:allocation-depth", 0,
                               ov_disk_size (view), add_uncovered, &u);
}
