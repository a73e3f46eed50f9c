/* ovscan — the "full" tracker: no write tracking, so every poll reads every
 * file (raw images, images another program holds, formats without
 * bitmaps).  Nothing to arm, commit or clean up. */
#include "scanner/tracker_ops.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

static int
full_prepare (struct ov_tracker_run *run)
{
  run->full_reason =
    strdup ("tracker 'full': no write tracking, every poll reads every file");
  if (run->full_reason == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  return 0;
}

static int
full_nothing (struct ov_tracker_run *run)
{
  return 0;
}

static struct ov_disk *
full_open_view (struct ov_tracker_run *run, bool full)
{
  struct ov_disk_options o = { .format = run->disk->format };
  return ov_disk_open (run->disk->image, &o);
}

static int
full_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
                 ov_extents *dirty)
{
  ov_error ("%s: the 'full' tracker has no dirty extents", run->disk->name);
  return -1;
}

static void
full_no_undo (struct ov_tracker_run *run)
{
}

const struct ov_tracker_ops ov_tracker_full = {
  .name = "full",
  .prepare = full_prepare,
  .quiet = full_nothing,
  .arm = full_nothing,
  .open_view = full_open_view,
  .read_dirty = full_read_dirty,
  .commit_state = full_nothing,
  .finish = full_nothing,
  .abort = full_no_undo,
  .release = full_no_undo,
};
