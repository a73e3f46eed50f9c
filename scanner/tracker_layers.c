/* ovscan — the copy-on-write layers tracker behind struct ov_tracker_ops
 * (issue 5), and the 'base' tracker of a shared base image's own disk row.
 *
 * A 'layers' disk is a qcow2 overlay TOP over a shared base (cow/cow.h has
 * the naming).  The db records in disk->generation the number N of the
 * newest frozen layer a committed poll covered: own layers numbered <= N
 * are covered; TOP and any frozen layer numbered > N (left by a poll that
 * did not commit) hold the writes since.
 *
 * Each poll takes one of two paths (scanner/layers_choice.h decides;
 * run->used says which in the poll row):
 *
 * the layers path (always, unless the disk keeps a usable, cheaper bitmap)
 *   prepare       recover an interrupted rotation/merge (cow/rotate.c),
 *                 discover and validate the chain
 *   quiet         no uncovered frozen layer and nothing allocated in TOP
 *   arm           rotate: TOP -> TOP.layer-M (M = max(N, newest) + 1), a
 *                 new empty TOP; every later write lands in the new TOP;
 *                 a disk that keeps a bitmap gets a fresh ovscan-<g+1> in
 *                 the new TOP at once (fault point layers-after-rotate
 *                 between the two), so the bitmap again covers every write
 *                 since this poll whatever path the next one takes
 *   open_view     TOP.layer-M (read-only, qemu:allocation-depth exported)
 *   read_dirty    clusters whose allocation depth in that view is above the
 *                 first covered layer (or the base): every uncovered layer
 *   commit_state  generation = M (and bitmap = ovscan-<g+1> if armed)
 *   finish        drop the old bitmap that went into TOP.layer-M with the
 *                 rotation (dead: nothing reads a frozen layer's bitmap);
 *                 the merge-down of covered layers runs after the poll
 *                 (cli/fleet_poll.c, it needs the VM's layer limit)
 *   abort         drop the new TOP's successor bitmap; an uncommitted
 *                 frozen layer stays uncovered, so the next poll reads it
 * the bitmap path (scanner/tracker_layers_bitmap.c): the offline bitmap
 *   tracker's steps on TOP (backends/tracker.h): quiet when the recorded
 *   bitmap is empty (measured in prepare), successor ovscan-<g+1> in TOP,
 *   read the recorded bitmap's dirty extents from TOP, after the commit
 *   drop the recorded one.  Nothing rotates, generation stays N.
 *
 * A kill anywhere leaves TOP valid (rotate.c) and every write either in a
 * layer numbered > N, in TOP's allocation, or (bitmap path) in the
 * recorded bitmap: the next poll covers it.  After a kill the recorded
 * bitmap is either still in TOP (bitmap path: only a stale successor to
 * remove) or not (layers path: it went into a frozen layer, which is
 * uncovered): prepare then takes the layers path.
 *
 * The 'base' tracker: a base image is read in full, read-only, once for the
 * fleet (cli/fleet_poll.c decides when); nothing is ever armed.
 *
 * Cost of a layers poll before any file is read: recovery (one readdir),
 * chain discovery (one qemu-img info per image), the quiet check (one
 * qemu-nbd + block status of TOP), one rotation (qemu-img create).  A disk
 * that keeps a bitmap adds one qemu-img info of TOP, and measures both
 * paths with one qemu-nbd (two block-status walks) instead of the quiet
 * check; its layers path adds a bitmap --add and a --remove, its bitmap
 * path is a bitmap --add and a --remove instead of the rotation and the
 * later merge.
 */
#include "scanner/tracker_layers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fault.h"
#include "cow/cow.h"

static int
layers_prepare (struct ov_tracker_run *run)
{
  struct layers_run *l = calloc (1, sizeof *l);
  bool changed;

  if (l == NULL) {
    ov_error_errno (errno, "calloc");
    return -1;
  }
  run->priv = l;
  run->used = "layers";
  l->path = OV_LAYERS_PATH_LAYERS;
  if (ov_cow_recover (run->disk->image, &changed) == -1 ||
      ov_cow_chain_discover (run->disk->image, &l->chain) == -1) {
    ov_error_prefix ("%s", run->disk->name);
    return -1;
  }
  return ov_layers_bitmap_prepare (run, l);
}

static int
any_allocated (void *opaque, uint64_t offset, uint64_t length, uint32_t depth)
{
  bool *found = opaque;
  if (depth == 1) {
    *found = true;
    return -1;                   /* stop: one is enough */
  }
  return 0;
}

static int
layers_quiet (struct ov_tracker_run *run)
{
  struct layers_run *l = run->priv;
  struct ov_disk_options o = { .format = "qcow2", .allocation_depth = true };
  struct ov_disk *d;
  bool found = false;
  int r;

  if (l->path == OV_LAYERS_PATH_LAYERS &&
      ov_cow_newest_number (&l->chain) > run->disk->generation)
    return 0;                    /* a frozen layer no poll covered */
  if (l->measured) {             /* ov_layers_bitmap_prepare looked already */
    if (l->measured_size != run->disk->size)
      return 0;
    return (l->path == OV_LAYERS_PATH_BITMAP ? l->bitmap_bytes
                                             : l->layers_bytes) == 0;
  }
  if ((d = ov_disk_open (run->disk->image, &o)) == NULL)
    return -1;
  r = ov_disk_block_status (d, "qemu:allocation-depth", 0, ov_disk_size (d),
                            any_allocated, &found);
  ov_disk_close (d);
  if (r == -1 && !found)
    return -1;
  return found ? 0 : 1;
}

static int
layers_arm (struct ov_tracker_run *run)
{
  struct layers_run *l = run->priv;
  uint64_t n;

  if (l->path == OV_LAYERS_PATH_BITMAP)
    return ov_layers_bitmap_arm (run, l);
  n = ov_cow_newest_number (&l->chain);
  if (run->disk->generation > n)
    n = run->disk->generation;
  if (n >= UINT32_MAX) {
    ov_error ("%s: layer numbers exhausted", run->disk->name);
    return -1;
  }
  l->frozen_number = (unsigned) n + 1;
  if ((l->frozen = ov_cow_layer_path (run->disk->image, l->frozen_number)) == NULL)
    return -1;
  if (ov_cow_rotate (run->disk->image, l->frozen_number) == -1) {
    ov_error_prefix ("%s: layer rotation", run->disk->name);
    return -1;
  }
  ov_fault_point ("layers-after-rotate");
  return ov_layers_bitmap_arm (run, l);
}

static struct ov_disk *
layers_open_view (struct ov_tracker_run *run, bool full)
{
  struct layers_run *l = run->priv;
  struct ov_disk_options o = { .format = "qcow2" };

  if (l->path == OV_LAYERS_PATH_BITMAP) {
    o.bitmap = full ? NULL : l->bpoll.frozen;
    return ov_disk_open (run->disk->image, &o);
  }
  o.allocation_depth = !full;
  return ov_disk_open (l->frozen, &o);
}

static int
layers_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
                   ov_extents *dirty)
{
  struct layers_run *l = run->priv;

  if (l->path == OV_LAYERS_PATH_BITMAP)
    return ov_bitmap_read_dirty (view, l->bpoll.frozen, dirty);
  /* The view is the old TOP (depth 1) over the rest of prepare's chain. */
  if (ov_cow_read_uncovered (view, &l->chain, run->disk->generation,
                             dirty) == -1) {
    ov_error_prefix ("%s", run->disk->name);
    return -1;
  }
  return 0;
}

static int
layers_commit_state (struct ov_tracker_run *run)
{
  struct layers_run *l = run->priv;
  if (l->path == OV_LAYERS_PATH_LAYERS)
    run->disk->generation = l->frozen_number;
  return ov_layers_bitmap_commit (run, l);
}

static int
layers_finish (struct ov_tracker_run *run)
{
  return ov_layers_bitmap_finish (run, run->priv);
}

static void
layers_abort (struct ov_tracker_run *run)
{
  if (run->priv)
    ov_layers_bitmap_abort (run, run->priv);
}

static void
layers_release (struct ov_tracker_run *run)
{
  struct layers_run *l = run->priv;
  if (l) {
    ov_cow_chain_free (&l->chain);
    ov_tracker_poll_free (&l->bpoll);
    free (l->frozen);
    free (l);
    run->priv = NULL;
  }
}

const struct ov_tracker_ops ov_tracker_layers = {
  .name = "layers",
  .prepare = layers_prepare,
  .quiet = layers_quiet,
  .arm = layers_arm,
  .open_view = layers_open_view,
  .read_dirty = layers_read_dirty,
  .commit_state = layers_commit_state,
  .finish = layers_finish,
  .abort = layers_abort,
  .release = layers_release,
};

/* ---- the 'base' tracker ---- */

static int
base_prepare (struct ov_tracker_run *run)
{
  run->full_reason = strdup ("base image: scanned once for every VM on it");
  if (run->full_reason == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  return 0;
}

static struct ov_disk *
base_open_view (struct ov_tracker_run *run, bool full)
{
  struct ov_disk_options o = { .format = run->disk->format };
  return ov_disk_open (run->disk->image, &o);
}

static int
base_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
                 ov_extents *dirty)
{
  ov_error ("%s: a base image has no dirty extents", run->disk->name);
  return -1;
}

static int
base_nothing (struct ov_tracker_run *run)
{
  return 0;
}

static void
base_no_state (struct ov_tracker_run *run)
{
}

const struct ov_tracker_ops ov_tracker_base = {
  .name = "base",
  .prepare = base_prepare,
  .quiet = base_nothing,
  .arm = base_nothing,
  .open_view = base_open_view,
  .read_dirty = base_read_dirty,
  .commit_state = base_nothing,
  .finish = base_nothing,
  .abort = base_no_state,
  .release = base_no_state,
};
