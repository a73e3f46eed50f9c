/* ovscan — a 'layers' disk's own dirty bitmap in TOP (tracker_layers.h):
 * is it usable this poll, what would each path read, and its lifecycle.
 *
 * Invariant (with tracker_layers.c): after every committed poll of a disk
 * that keeps a bitmap, disks.bitmap names a bitmap in TOP, enabled, created
 * at that poll's arm (or at `add --bitmap`), so it holds every write since
 * that poll — whichever path the poll took:
 *   bitmap path  the successor ovscan-<g+1> is created in TOP at arm, while
 *                the recorded ovscan-<g> still records; after the commit
 *                ovscan-<g> is dropped (as backends/tracker.h does);
 *   layers path  the rotation moves ovscan-<g> with the old TOP into
 *                TOP.layer-M; ovscan-<g+1> is created in the new TOP right
 *                after the rotation, before the view is read; after the
 *                commit ovscan-<g> is dropped from TOP.layer-M (dead there).
 * A kill before the commit leaves disks.bitmap = ovscan-<g>: either still
 * in TOP with a stale ovscan-<g+1> beside it (bitmap path: prepare drops
 * the stale one, ovscan-<g> covers everything), or in a frozen layer
 * numbered above disks.generation (layers path: that layer is uncovered,
 * so the layers path is taken and reads it).  A kill after the commit
 * leaves the old ovscan-<g> in TOP (dropped by the next prepare as stale)
 * or in TOP.layer-M (dead weight, merged away with the layer, harmless:
 * only TOP's own bitmaps are ever exported).  A bitmap that QEMU left
 * in-use (a writer killed), disabled or of another granularity is dropped
 * by ov_bitmap_prepare: the layers path, exact whatever the bitmap says,
 * covers that poll and arms a fresh bitmap.
 *
 * Cost: one qemu-img info of TOP per poll; when the bitmap path is
 * possible and the poll incremental, one qemu-nbd exporting both the
 * bitmap and qemu:allocation-depth, two block-status walks (this replaces
 * the quiet check's qemu-nbd); then a bitmap --add (arm) and a --remove
 * (finish) on either path.
 */
#include "scanner/tracker_layers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Both paths' bytes, through one qemu-nbd of TOP. */
static int
measure (struct ov_tracker_run *run, struct layers_run *l)
{
  struct ov_disk_options o = {
    .format = "qcow2", .bitmap = l->bpoll.frozen, .allocation_depth = true,
  };
  ov_extents dirty = VECTOR_INIT, allocated = VECTOR_INIT;
  struct ov_disk *d;
  int r = 0;

  if ((d = ov_disk_open (run->disk->image, &o)) == NULL)
    return -1;
  l->measured_size = ov_disk_size (d);
  if (l->measured_size > 0)
    r = ov_bitmap_read_dirty (d, l->bpoll.frozen, &dirty);
  if (r == 0 && l->measured_size > 0)
    r = ov_cow_read_uncovered (d, &l->chain, run->disk->generation, &allocated);
  ov_disk_close (d);
  if (r == 0) {
    l->bitmap_bytes = ov_extents_total (&dirty);
    l->layers_bytes = ov_extents_total (&allocated);
    l->measured = true;
  }
  ov_extents_reset (&dirty);
  ov_extents_reset (&allocated);
  return r;
}

int
ov_layers_bitmap_prepare (struct ov_tracker_run *run, struct layers_run *l)
{
  struct ov_disk_record *disk = run->disk;
  struct ov_layers_facts f = {
    .bitmap = disk->bitmap, .covered_layer = disk->generation,
    .newest_layer = ov_cow_newest_number (&l->chain),
  };
  enum ov_layers_path path;
  uint64_t g;

  if (disk->bitmap == NULL)
    return 0;                    /* this disk keeps no bitmap */
  if (!ov_bitmap_name_parse (disk->bitmap, &g)) {
    ov_error ("%s: the recorded dirty bitmap '%s' is not named as ovscan "
              "names its own (state database edited?)", disk->name,
              disk->bitmap);
    return -1;
  }
  l->bstate = (struct ov_tracker_state) {
    .bitmap = disk->bitmap, .generation = g, .granularity = disk->granularity,
  };
  if (ov_bitmap_prepare (disk->image, "qcow2", &l->bstate, &l->bpoll) == -1) {
    ov_error_prefix ("%s: its dirty bitmap", disk->name);
    return -1;
  }
  f.unusable = l->bpoll.full_reason;
  if (f.unusable == NULL && f.covered_layer > 0 &&
      f.newest_layer <= f.covered_layer && !run->force_full && disk->size > 0) {
    if (measure (run, l) == -1) {
      ov_error_prefix ("%s: measuring its dirty bitmap and layers", disk->name);
      return -1;
    }
    f.measured = true;
    f.bitmap_bytes = l->bitmap_bytes;
    f.layers_bytes = l->layers_bytes;
  }
  if (ov_layers_choose (&f, &path, &run->note) == -1)
    return -1;
  l->path = path;
  run->used = ov_layers_path_name (path);
  return 0;
}

/* Append "; WHAT: the last error" to run->note. */
static void
note_failure (struct ov_tracker_run *run, const char *what)
{
  char *s;

  if (asprintf (&s, "%s%s%s: %s", run->note ? run->note : "",
                run->note ? "; " : "", what, ov_last_error ()) == -1)
    return;                      /* the note is only informative */
  free (run->note);
  run->note = s;
}

int
ov_layers_bitmap_arm (struct ov_tracker_run *run, struct layers_run *l)
{
  const char *image = run->disk->image;

  if (run->disk->bitmap == NULL)
    return 0;
  if (ov_bitmap_arm (image, "qcow2", &l->bstate, &l->bpoll) == -1) {
    if (l->path == OV_LAYERS_PATH_BITMAP) {
      ov_error_prefix ("%s: arming its dirty bitmap", run->disk->name);
      return -1;
    }
    /* Rotated already: the frozen layer covers this poll; the next poll
     * finds the recorded bitmap missing and reads the layers again. */
    note_failure (run, "no dirty bitmap armed in the new top layer");
    return 0;
  }
  l->bitmap_armed = true;
  return 0;
}

int
ov_layers_bitmap_commit (struct ov_tracker_run *run, struct layers_run *l)
{
  char *successor;

  if (!l->bitmap_armed)
    return 0;
  if ((successor = strdup (l->bpoll.successor)) == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  l->bstate.bitmap = NULL;       /* borrowed the string freed below */
  free (run->disk->bitmap);
  run->disk->bitmap = successor;
  return 0;
}

int
ov_layers_bitmap_finish (struct ov_tracker_run *run, struct layers_run *l)
{
  const char *where;

  l->bitmap_armed = false;       /* committed: the successor stays */
  if (l->bpoll.frozen == NULL)
    return 0;                    /* no usable old bitmap was left */
  where = l->path == OV_LAYERS_PATH_BITMAP ? run->disk->image : l->frozen;
  if (ov_bitmap_release (where, "qcow2", l->bpoll.frozen) == -1) {
    ov_error_prefix ("%s: dropping the dirty bitmap that covered this poll",
                     run->disk->name);
    return -1;
  }
  return 0;
}

void
ov_layers_bitmap_abort (struct ov_tracker_run *run, struct layers_run *l)
{
  if (!l->bitmap_armed)
    return;
  ov_bitmap_release (run->disk->image, "qcow2", l->bpoll.successor);
  l->bitmap_armed = false;
}

int
ov_layers_bitmap_create (const char *top, uint32_t granularity, char **name)
{
  struct ov_tracker_state none = { .granularity = granularity };
  struct ov_tracker_poll p;

  /* Drops any ovscan-N left in TOP (a disk removed and added again), and
   * refuses what cannot hold bitmaps (not qcow2, corrupt, in use). */
  if (ov_bitmap_prepare (top, "qcow2", &none, &p) == -1)
    return -1;
  if (ov_bitmap_arm (top, "qcow2", &none, &p) == -1) {
    ov_tracker_poll_free (&p);
    return -1;
  }
  *name = p.successor;
  p.successor = NULL;
  ov_tracker_poll_free (&p);
  return 0;
}
