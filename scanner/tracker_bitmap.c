/* ovscan — the offline bitmap tracker behind struct ov_tracker_ops: qcow2
 * persistent dirty bitmaps managed with qemu-img while the VM is shut down
 * (backends/tracker.h has the lifecycle and why it loses no write).
 *
 * Every step that runs qemu-img needs the image's write lock, so no disk
 * handle of ours may be open then: the orchestrator closes its views
 * before finish/abort, and quiet closes its own handle before returning.
 */
#include "scanner/tracker_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/tracker.h"
#include "common/error.h"

struct bitmap_run {
  struct ov_tracker_state state;   /* what the db recorded (borrowed strings) */
  struct ov_tracker_poll poll;
  bool armed;
};

static int
bitmap_prepare (struct ov_tracker_run *run)
{
  struct ov_disk_record *disk = run->disk;
  struct bitmap_run *b = calloc (1, sizeof *b);

  if (b == NULL) {
    ov_error_errno (errno, "calloc");
    return -1;
  }
  run->priv = b;
  b->state = (struct ov_tracker_state) {
    .bitmap = disk->bitmap, .generation = disk->generation,
    .granularity = disk->granularity,
  };
  if (ov_bitmap_prepare (disk->image, disk->format, &b->state, &b->poll) == -1)
    return -1;
  if (b->poll.full_reason &&
      (run->full_reason = strdup (b->poll.full_reason)) == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  return 0;
}

static struct ov_disk *
bitmap_open_view (struct ov_tracker_run *run, bool full)
{
  struct bitmap_run *b = run->priv;
  struct ov_disk_options o = {
    .format = run->disk->format, .bitmap = full ? NULL : b->poll.frozen,
  };
  return ov_disk_open (run->disk->image, &o);
}

static int
bitmap_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
                   ov_extents *dirty)
{
  struct bitmap_run *b = run->priv;
  return ov_bitmap_read_dirty (view, b->poll.frozen, dirty);
}

/* Nothing dirty in the frozen bitmap and the same size as last time.  The
 * bitmap is read through our own short-lived qemu-nbd. */
static int
bitmap_quiet (struct ov_tracker_run *run)
{
  ov_extents dirty = VECTOR_INIT;
  struct ov_disk *d = bitmap_open_view (run, false);
  int r = -1;

  if (d == NULL)
    return -1;
  if (bitmap_read_dirty (run, d, &dirty) == 0)
    r = dirty.len == 0 && ov_disk_size (d) == run->disk->size;
  ov_disk_close (d);
  ov_extents_reset (&dirty);
  return r;
}

static int
bitmap_arm (struct ov_tracker_run *run)
{
  struct bitmap_run *b = run->priv;
  if (ov_bitmap_arm (run->disk->image, run->disk->format, &b->state, &b->poll) == -1)
    return -1;
  b->armed = true;
  return 0;
}

static int
bitmap_commit_state (struct ov_tracker_run *run)
{
  struct bitmap_run *b = run->priv;
  char *successor = strdup (b->poll.successor);

  if (successor == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  free (run->disk->bitmap);
  run->disk->bitmap = successor;
  run->disk->generation = b->poll.successor_generation;
  return 0;
}

static int
bitmap_finish (struct ov_tracker_run *run)
{
  struct bitmap_run *b = run->priv;
  b->armed = false;
  if (b->poll.frozen == NULL)
    return 0;
  return ov_bitmap_release (run->disk->image, run->disk->format, b->poll.frozen);
}

/* The frozen bitmap still covers every write (prepare would also remove
 * the successor; removing it now keeps the image tidy). */
static void
bitmap_abort (struct ov_tracker_run *run)
{
  struct bitmap_run *b = run->priv;
  if (b && b->armed)
    ov_bitmap_release (run->disk->image, run->disk->format, b->poll.successor);
}

static void
bitmap_release (struct ov_tracker_run *run)
{
  struct bitmap_run *b = run->priv;
  if (b) {
    ov_tracker_poll_free (&b->poll);
    free (b);
    run->priv = NULL;
  }
}

const struct ov_tracker_ops ov_tracker_bitmap = {
  .name = "bitmap",
  .prepare = bitmap_prepare,
  .quiet = bitmap_quiet,
  .arm = bitmap_arm,
  .open_view = bitmap_open_view,
  .read_dirty = bitmap_read_dirty,
  .commit_state = bitmap_commit_state,
  .finish = bitmap_finish,
  .abort = bitmap_abort,
  .release = bitmap_release,
};
