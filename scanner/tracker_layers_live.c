/* ovscan — the copy-on-write layers tracker of a RUNNING VM (issue 5):
 * a 'layers' disk registered with --qmp (disk->qmp_socket set).  The VM
 * keeps running; its layers rotate and merge through its QMP monitor
 * (cow/live.h), everything else is as the offline tracker
 * (scanner/tracker_layers.c): disk->generation is the newest frozen layer
 * a committed poll covered, and the poll reads the clusters of every
 * uncovered layer.
 *
 *   prepare       VM lock, repair what a killed run left (commit job,
 *                 temporary top, stray nodes, stale files), discover the
 *                 chain on disk (force-share) and check it against QEMU's
 *   quiet         no uncovered frozen layer and TOP (ovscan's own top)
 *                 exactly as large as an empty top: nothing was written
 *   arm           rotate by blockdev-snapshot: QEMU's top is frozen as
 *                 TOP.layer-M, every later write lands in the new TOP
 *   open_view     TOP.layer-M (qemu-nbd, read-only: QEMU no longer holds
 *                 its write lock once it is a backing node)
 *   read_dirty    clusters whose allocation depth is above the first
 *                 covered layer, as offline
 *   commit_state  generation = M
 *   finish/abort  nothing: the merge-down runs after the poll
 *                 (cli/fleet_poll.c); an uncommitted layer stays uncovered
 * The QMP connection is open during prepare and arm only (the monitor is
 * free for others while files are scanned); the VM lock is held from
 * prepare to release.
 *
 * Cost before any file is read: 1 connect + ~6 QMP queries, one
 * qemu-img info -U per image, a qemu-img create for the quiet check, and
 * the rotation (cow/rotate_live.c).
 */
#include "scanner/tracker_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "cow/live.h"

struct layers_live_run {
  struct ov_cow_live lv;
  struct ov_cow_chain chain;     /* as found by prepare (before arm) */
  unsigned frozen_number;        /* set by arm */
  char *frozen;
};

static void
disconnect (struct layers_live_run *l)
{
  ov_qmp_close (l->lv.q);
  l->lv.q = NULL;
}

/* QEMU's chain now, checked against prepare's on-disk chain. */
static int
checked_qchain (struct ov_tracker_run *run, struct ov_cow_qchain *qc)
{
  struct layers_live_run *l = run->priv;

  if (ov_cow_live_qchain (&l->lv, qc) == -1)
    return -1;
  if (ov_cow_live_check (&l->lv, qc, &l->chain) == -1) {
    ov_cow_qchain_free (qc);
    return -1;
  }
  return 0;
}

static int
ll_prepare (struct ov_tracker_run *run)
{
  struct ov_disk_record *disk = run->disk;
  struct layers_live_run *l = calloc (1, sizeof *l);
  struct ov_cow_qchain qc;
  char *note = NULL;
  int ret = -1;

  if (l == NULL) {
    ov_error_errno (errno, "calloc");
    return -1;
  }
  run->priv = l;
  run->used = "layers";
  l->lv.lock_fd = -1;              /* until ov_cow_live_open sets it */
  if (ov_cow_live_open (&l->lv, disk->image, disk->qmp_socket, disk->qmp_node,
                        disk->qmp_drive) == -1 ||
      ov_cow_live_recover (&l->lv, &note, &l->chain) == -1 ||
      checked_qchain (run, &qc) == -1)
    goto out;
  ov_cow_qchain_free (&qc);
  ret = 0;
 out:
  if (note && ret == 0 && run->note == NULL) {
    run->note = note;            /* the poll row's reason says it */
    note = NULL;
  }
  free (note);
  if (ret == -1)
    ov_error_prefix ("%s", disk->name);
  disconnect (l);
  return ret;
}

static int
ll_quiet (struct ov_tracker_run *run)
{
  struct layers_live_run *l = run->priv;
  int r;

  if (run->disk->last_poll == 0 ||
      ov_cow_newest_number (&l->chain) > run->disk->generation)
    return 0;                    /* first poll, or a frozen layer no poll covered */
  if ((r = ov_cow_live_top_empty (&l->lv, &l->chain)) == -1)
    ov_error_prefix ("%s", run->disk->name);
  return r;
}

static int
ll_arm (struct ov_tracker_run *run)
{
  struct layers_live_run *l = run->priv;
  uint64_t n = ov_cow_newest_number (&l->chain);
  struct ov_cow_qchain qc;
  int ret = -1;

  if (run->disk->generation > n)
    n = run->disk->generation;
  if (n >= UINT32_MAX) {
    ov_error ("%s: layer numbers exhausted", run->disk->name);
    return -1;
  }
  l->frozen_number = (unsigned) n + 1;
  if ((l->frozen = ov_cow_layer_path (run->disk->image, l->frozen_number)) == NULL)
    return -1;
  if (ov_cow_live_connect (&l->lv, run->disk->qmp_socket) == -1) {
    ov_error_prefix ("%s", run->disk->name);
    return -1;
  }
  if (checked_qchain (run, &qc) == 0) {
    ret = ov_cow_live_rotate (&l->lv, &qc, l->frozen_number,
                              l->chain.layers[0].virtual_size);
    ov_cow_qchain_free (&qc);
  }
  if (ret == -1)
    ov_error_prefix ("%s: layer rotation", run->disk->name);
  disconnect (l);
  return ret;
}

static struct ov_disk *
ll_open_view (struct ov_tracker_run *run, bool full)
{
  struct layers_live_run *l = run->priv;
  struct ov_disk_options o = { .format = "qcow2", .allocation_depth = !full };
  return ov_disk_open (l->frozen, &o);
}

static int
ll_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
               ov_extents *dirty)
{
  struct layers_live_run *l = run->priv;

  if (ov_cow_read_uncovered (view, &l->chain, run->disk->generation,
                             dirty) == -1) {
    ov_error_prefix ("%s", run->disk->name);
    return -1;
  }
  return 0;
}

static int
ll_commit_state (struct ov_tracker_run *run)
{
  struct layers_live_run *l = run->priv;
  run->disk->generation = l->frozen_number;
  return 0;
}

static int
ll_finish (struct ov_tracker_run *run)
{
  return 0;
}

static void
ll_abort (struct ov_tracker_run *run)
{
}

static void
ll_release (struct ov_tracker_run *run)
{
  struct layers_live_run *l = run->priv;

  if (l == NULL)
    return;
  ov_cow_live_close (&l->lv);
  ov_cow_chain_free (&l->chain);
  free (l->frozen);
  free (l);
  run->priv = NULL;
}

const struct ov_tracker_ops ov_tracker_layers_live = {
  .name = "layers",
  .prepare = ll_prepare,
  .quiet = ll_quiet,
  .arm = ll_arm,
  .open_view = ll_open_view,
  .read_dirty = ll_read_dirty,
  .commit_state = ll_commit_state,
  .finish = ll_finish,
  .abort = ll_abort,
  .release = ll_release,
};
