/* ovscan — the live tracker: a running VM's disk, polled over its QMP
 * monitor with QEMU's own dirty bitmaps and a point-in-time view
 * (backends/live.h has the QMP side and the names it uses).
 *
 * The db records, per disk, the bitmap ovscan-G that records every write
 * since the last committed poll (disk->bitmap, disk->generation), as the
 * offline tracker does.  One poll:
 *   prepare   lock the VM (one live poll per VM: the NBD server and the
 *             monitor are per VM), find the node, remove what a killed
 *             run left (export, job, fleece node and file, our NBD
 *             server), reconcile bitmaps (below), judge ovscan-G
 *   quiet     ovscan-G's dirty count from prepare's query is 0 and the
 *             size is the recorded one: no export is made at all
 *   arm       one transaction: add ovscan-G+1, disable ovscan-G, start the
 *             backup job into the fleece node; export the view over NBD
 *             with ovscan-G
 *   open_view the export; read_dirty reads ovscan-G from it
 *   commit    the db now names ovscan-G+1
 *   finish    remove the view, then ovscan-G
 *   abort     remove the view, merge ovscan-G+1 back into ovscan-G and
 *             enable it again (one transaction): the db still names G
 *
 * Reconciling bitmaps in prepare (why nothing is lost).  Besides ovscan-G
 * an ovscan-N bitmap exists only because a poll stopped between steps:
 *   N > G: the successor of a poll that was not committed (killed, VM
 *          gone during abort): ovscan-G is disabled and N holds every
 *          write since that arm, so N is merged back into G (which is
 *          enabled again) in one transaction;
 *   N < G: the frozen bitmap of a committed poll whose finish did not run:
 *          removed.
 * If ovscan-G is missing (the VM was restarted from a config without it,
 * or someone removed it), inconsistent (the VM's QEMU died without saving
 * it: QEMU marks it so at the next start), disabled with no successor, or
 * of another granularity, the poll is full with that reason and every
 * ovscan-N is removed.  Bitmaps with other names (a backup tool's) are
 * never touched.
 *
 * QMP connections: one per step (prepare, arm, finish/abort), closed in
 * between, so the monitor is free for others while files are scanned.
 * Each call has a deadline (OVSCAN_QMP_TIMEOUT seconds, default 30): a VM
 * that exits or hangs fails the step, never hangs ovscan.
 *
 * Cost: prepare = 1 connect + 2-4 queries (+1 command per stale object);
 * a quiet poll stops there.  arm = qemu-img create + blockdev-add + 1
 * transaction + nbd-server-start + block-export-add; finish = ~6 commands.
 */
#include "scanner/tracker_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "backends/live.h"
#include "backends/tracker.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

struct live_run {
  struct ov_live_names names;
  int lock_fd;
  struct ov_live_node node;       /* as prepare found it */
  char *frozen;                   /* ovscan-G when still usable, else NULL */
  char successor[40];
  uint64_t successor_generation;
  uint32_t granularity;
  bool armed;
};

static struct ov_qmp *
live_connect (struct ov_tracker_run *run)
{
  const char *env = getenv ("OVSCAN_QMP_TIMEOUT");
  unsigned timeout_ms = 0;
  struct ov_qmp *q;

  if (env && *env) {
    char *end;
    unsigned long s = strtoul (env, &end, 10);
    if (*end == '\0' && s > 0 && s < 3600)
      timeout_ms = (unsigned) s * 1000;
  }
  q = ov_qmp_connect (run->disk->qmp_socket, timeout_ms);
  if (q == NULL)
    ov_error_prefix ("disk %s", run->disk->name);
  return q;
}

/* full_reason = "dirty bitmap 'BITMAP' WHY" (or WHY alone). */
static int
set_reason (struct ov_tracker_run *run, const char *bitmap, const char *why)
{
  CLEANUP_FREE char *q = bitmap ? ov_quote_path (bitmap) : NULL;
  free (run->full_reason);
  if (asprintf (&run->full_reason, "%s%s%s%s", bitmap ? "dirty bitmap " : "",
                bitmap ? (q ? q : "?") : "", bitmap ? " " : "", why) == -1) {
    run->full_reason = NULL;
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

static int
lock_vm (struct live_run *l, const char *disk)
{
  l->lock_fd = open (l->names.lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l->lock_fd == -1) {
    ov_error_errno (errno, "disk %s: open %s", disk, l->names.lock_file);
    return -1;
  }
  if (flock (l->lock_fd, LOCK_EX | LOCK_NB) == -1) {
    if (errno == EWOULDBLOCK)
      ov_error ("disk %s: another ovscan is polling a disk of the same VM "
                "(lock %s): try again later", disk, l->names.lock_file);
    else
      ov_error_errno (errno, "disk %s: flock %s", disk, l->names.lock_file);
    return -1;
  }
  return 0;
}

/* Merge every ovscan-N with N > G back into ovscan-G; remove the others
 * (N < G, or all of them when ovscan-G is unusable: KEEP false).  Returns
 * how many bitmaps it merged or removed, or -1. */
static int
reconcile_bitmaps (struct ov_qmp *q, struct ov_tracker_run *run, bool keep)
{
  struct live_run *l = run->priv;
  const struct ov_disk_record *disk = run->disk;
  size_t i;
  int changed = 0;

  for (i = 0; i < l->node.bitmaps.len; i++) {
    const char *name = l->node.bitmaps.ptr[i].name;
    uint64_t n;

    if (!ov_bitmap_name_parse (name, &n))
      continue;
    if (keep && n == disk->generation)
      continue;
    if (keep && n > disk->generation) {
      if (ov_live_bitmap_merge_back (q, l->node.node_name, disk->bitmap,
                                     name) == -1)
        return -1;
    }
    else if (ov_live_bitmap_remove (q, l->node.node_name, name) == -1)
      return -1;
    changed++;
  }
  return changed;
}

/* Is the recorded bitmap usable?  Sets run->full_reason when not. */
static int
judge_recorded (struct ov_tracker_run *run, bool *usable)
{
  struct live_run *l = run->priv;
  const struct ov_disk_record *disk = run->disk;
  const struct ov_live_bitmap *b;

  *usable = false;
  if (disk->bitmap == NULL)
    return set_reason (run, NULL, "first poll");
  b = ov_live_node_bitmap (&l->node, disk->bitmap);
  if (b == NULL)
    return set_reason (run, disk->bitmap, "is missing from the VM's node (the "
                       "VM's QEMU died before saving it, the VM was "
                       "restarted without it, or it was removed)");
  if (b->inconsistent)
    return set_reason (run, disk->bitmap, "is inconsistent (the VM's QEMU did "
                       "not shut down cleanly)");
  if (disk->granularity && b->granularity != disk->granularity)
    return set_reason (run, disk->bitmap, "has another granularity than "
                       "recorded");
  *usable = true;
  return 0;
}

static int
find_node (struct ov_qmp *q, struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  const struct ov_disk_record *disk = run->disk;

  ov_live_node_clear (&l->node);
  if (ov_live_find_node (q, disk->qmp_node, disk->qmp_drive, &l->node) == -1) {
    ov_error_prefix ("disk %s", disk->name);
    return -1;
  }
  return 0;
}

static int
live_prepare (struct ov_tracker_run *run)
{
  struct ov_disk_record *disk = run->disk;
  struct live_run *l = calloc (1, sizeof *l);
  struct ov_qmp *q = NULL;
  CLEANUP_FREE char *key = NULL;
  unsigned removed = 0;
  bool usable;
  int changed, ret = -1;

  if (l == NULL) {
    ov_error_errno (errno, "calloc");
    return -1;
  }
  l->lock_fd = -1;
  run->priv = l;
  run->used = "live";
  if (disk->qmp_socket == NULL || (disk->qmp_node == NULL) == (disk->qmp_drive == NULL)) {
    ov_error ("disk %s: a live disk needs a QMP socket and one node or drive",
              disk->name);
    return -1;
  }
  if (asprintf (&key, "%s:%s", disk->qmp_node ? "node" : "drive",
                disk->qmp_node ? disk->qmp_node : disk->qmp_drive) == -1) {
    key = NULL;
    ov_error ("out of memory");
    return -1;
  }
  if (ov_live_names_init (&l->names, disk->qmp_socket, key, disk->nbd_socket) == -1 ||
      lock_vm (l, disk->name) == -1 ||
      (q = live_connect (run)) == NULL ||
      find_node (q, run) == -1)
    goto out;
  if (l->node.read_only) {
    ov_error ("disk %s: node %s is read-only: the VM cannot write it, and "
              "QEMU cannot keep a dirty bitmap in it (use --tracker full on "
              "its image)", disk->name, l->node.node_name);
    goto out;
  }
  if (strcmp (l->node.driver, "qcow2") != 0) {
    ov_error ("disk %s: node %s is %s: live polls need a qcow2 node (QEMU "
              "keeps persistent dirty bitmaps only in qcow2)", disk->name,
              l->node.node_name, l->node.driver);
    goto out;
  }
  if (ov_live_view_stop (q, &l->names, &removed) == -1) {
    ov_error_prefix ("disk %s: removing what an earlier poll left", disk->name);
    goto out;
  }
  /* Judge ovscan-G (an unusable one makes the poll full, with the
   * reason), then merge back or remove the other ovscan-N (all of them when
   * ovscan-G is unusable), then look again if anything was changed. */
  if (judge_recorded (run, &usable) == -1)
    goto out;
  if ((changed = reconcile_bitmaps (q, run, usable)) == -1 ||
      ((changed > 0 || removed > 0) && find_node (q, run) == -1)) {
    ov_error_prefix ("disk %s", disk->name);
    goto out;
  }
  if (usable) {
    const struct ov_live_bitmap *b = ov_live_node_bitmap (&l->node, disk->bitmap);
    if (b == NULL) {
      ov_error ("disk %s: dirty bitmap %s vanished while ovscan repaired it",
                disk->name, disk->bitmap);
      goto out;
    }
    /* Disabled after the merge-back: no successor recorded the writes. */
    if (!b->recording) {
      if (set_reason (run, disk->bitmap, "is disabled and nothing else "
                      "recorded the writes since") == -1 ||
          ov_live_bitmap_remove (q, l->node.node_name, disk->bitmap) == -1)
        goto out;
    }
    else if ((l->frozen = strdup (disk->bitmap)) == NULL) {
      ov_error ("out of memory");
      goto out;
    }
  }
  ret = 0;
 out:
  ov_qmp_close (q);
  return ret;
}

static int
live_quiet (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  const struct ov_live_bitmap *b;

  if (l->frozen == NULL)          /* a full poll: prepare said why */
    return 0;
  b = ov_live_node_bitmap (&l->node, l->frozen);
  return b && b->count == 0 && l->node.virtual_size == run->disk->size;
}

static int
live_arm (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  struct ov_disk_record *disk = run->disk;
  struct ov_qmp *q;
  int ret = -1;

  if (disk->generation >= INT64_MAX) {
    ov_error ("disk %s: bitmap generation %" PRIu64 " cannot grow", disk->name,
              disk->generation);
    return -1;
  }
  l->successor_generation = disk->generation + 1;
  snprintf (l->successor, sizeof l->successor, OV_BITMAP_PREFIX "%" PRIu64,
            l->successor_generation);
  l->granularity = disk->granularity ? disk->granularity : 65536;
  if ((q = live_connect (run)) == NULL)
    return -1;
  if (find_node (q, run) == 0 &&
      ov_live_view_start (q, &l->names, &l->node, l->frozen, l->successor,
                          l->granularity) == 0) {
    l->armed = true;
    ret = 0;
  }
  if (ret == -1)
    ov_error_prefix ("disk %s", disk->name);
  ov_qmp_close (q);
  return ret;
}

static struct ov_disk *
live_open_view (struct ov_tracker_run *run, bool full)
{
  struct live_run *l = run->priv;
  struct ov_disk_options o = { .bitmap = full ? NULL : l->frozen };
  struct ov_disk *d = ov_disk_open (l->names.view_uri, &o);

  if (d == NULL)
    ov_error_prefix ("disk %s: the point-in-time view", run->disk->name);
  return d;
}

static int
live_read_dirty (struct ov_tracker_run *run, struct ov_disk *view,
                 ov_extents *dirty)
{
  struct live_run *l = run->priv;
  return ov_bitmap_read_dirty (view, l->frozen, dirty);
}

/* Runs after every read of the poll: if the view vanished meanwhile (the
 * VM exited or restarted), reads failed as file errors; committing would
 * record those files as scanned-with-error and drop the frozen bitmap, so
 * the poll is failed instead and abort merges the bitmaps back. */
static int
view_survived (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  struct ov_qmp *q = live_connect (run);
  int r;

  if (q == NULL) {
    ov_error_prefix ("the VM went away during the poll");
    return -1;
  }
  r = ov_live_view_alive (q, &l->names);
  ov_qmp_close (q);
  if (r == 0)
    ov_error ("disk %s: the point-in-time view vanished during the poll (the "
              "VM restarted?): the poll is not recorded", run->disk->name);
  return r == 1 ? 0 : -1;
}

static int
live_commit_state (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  char *successor;

  if (view_survived (run) == -1)
    return -1;
  successor = strdup (l->successor);
  if (successor == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  free (run->disk->bitmap);
  run->disk->bitmap = successor;
  run->disk->generation = l->successor_generation;
  run->disk->granularity = l->granularity;
  return 0;
}

static int
live_finish (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  struct ov_qmp *q = live_connect (run);
  int ret = -1;

  l->armed = false;
  if (q == NULL)
    return -1;
  if (ov_live_view_stop (q, &l->names, NULL) == 0 &&
      (l->frozen == NULL ||
       ov_live_bitmap_remove (q, l->node.node_name, l->frozen) == 0))
    ret = 0;
  ov_qmp_close (q);
  return ret;
}

/* Not committed: the db still names ovscan-G; give it back every write
 * the successor recorded.  A failure here (VM gone) is repaired by the
 * next prepare. */
static void
live_abort (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;
  struct ov_qmp *q;

  if (l == NULL || !l->armed)
    return;
  l->armed = false;
  if ((q = live_connect (run)) == NULL)
    return;
  if (ov_live_view_stop (q, &l->names, NULL) == 0) {
    if (l->frozen)
      ov_live_bitmap_merge_back (q, l->node.node_name, l->frozen, l->successor);
    else
      ov_live_bitmap_remove (q, l->node.node_name, l->successor);
  }
  ov_qmp_close (q);
}

static void
live_release (struct ov_tracker_run *run)
{
  struct live_run *l = run->priv;

  if (l == NULL)
    return;
  if (l->lock_fd >= 0)
    close (l->lock_fd);
  ov_live_node_clear (&l->node);
  ov_live_names_free (&l->names);
  free (l->frozen);
  free (l);
  run->priv = NULL;
}

const struct ov_tracker_ops ov_tracker_live = {
  .name = "live",
  .prepare = live_prepare,
  .quiet = live_quiet,
  .arm = live_arm,
  .open_view = live_open_view,
  .read_dirty = live_read_dirty,
  .commit_state = live_commit_state,
  .finish = live_finish,
  .abort = live_abort,
  .release = live_release,
};
