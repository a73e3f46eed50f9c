/* ovscan — the trackers behind one poll, as the poll orchestrator
 * (scanner/poll.c) drives them.
 *
 * A tracker knows which bytes of a disk were written since the last
 * committed poll and gives a frozen, point-in-time view to read them from.
 * Each kind of disk has one (ov_tracker_for picks it from the record):
 *   "full"     no tracking; every poll reads everything   (scanner/tracker_full.c)
 *   "bitmap"   offline qcow2 persistent dirty bitmaps     (scanner/tracker_bitmap.c)
 *   "live"     a running VM over QMP: bitmaps + fleecing    (scanner/tracker_live.c;
 *              view exported over NBD                     picked when disk->qmp_socket is set)
 *   "layers"   copy-on-write layer rotation, or the disk's own bitmap
 *              when cheaper (scanner/tracker_layers*.c; issue 5)
 *
 * One poll, in this order (the order keeps every write covered):
 *   prepare       validate the recorded state; set run->full_reason when the
 *                 poll must read everything (first poll, lost bitmap, …)
 *   quiet         incremental only, before anything changes: 1 = nothing was
 *                 written since the last poll (the poll stops here and is
 *                 recorded as quiet; the tracker keeps recording), 0 = some
 *                 writes or cannot tell cheaply
 *   arm           start recording into a successor and freeze the view: from
 *                 here, every later write is in the successor, every earlier
 *                 one in what open_view/read_dirty see
 *   open_view     a disk source of the frozen view (the poll reads files
 *                 from it; workers ov_disk_reopen it)
 *   read_dirty    incremental only: the extents written since the last poll,
 *                 read from the view
 *   commit_state  inside the db transaction: write the successor's state
 *                 into run->disk (the orchestrator then stores the record)
 *   -- all views closed --
 *   finish        after the commit: drop what covered this poll (frozen
 *                 bitmap, fleecing node, export…).  A failure is a warning:
 *                 the next prepare must clean up whatever is left
 *   abort         instead of finish when the poll was not committed: undo
 *                 arm so that the next poll still sees every write (merge
 *                 the frozen bitmap back, drop the successor…)
 *   release       free run->priv (always, last)
 *
 * A kill at any instant must leave state that the next prepare repairs
 * without losing a write (tests: OVSCAN_FAULT points, common/fault.h).
 *
 * Functions return 0 / -1 + ov_error (quiet: 1 / 0 / -1); error messages
 * name the disk (run->disk->name) and say what to do.
 */
#ifndef OVSCAN_SCANNER_TRACKER_OPS_H
#define OVSCAN_SCANNER_TRACKER_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/disk.h"
#include "common/extents.h"
#include "db/state.h"

struct ov_tracker_run {
  const struct ov_tracker_ops *ops;
  struct ov_disk_record *disk;   /* the registered disk; commit_state updates it */
  bool force_full;               /* --full: prepare must still validate/clean,
                                    then the orchestrator reads everything */
  char *full_reason;             /* malloc'd by prepare when the poll is full */
  const char *used;              /* tracker recorded in the poll row, e.g.
                                    "bitmap", "layers"; ops->name if NULL */
  char *note;                    /* malloc'd, or NULL: why the tracker took
                                    the path it took (set by prepare or arm),
                                    the reason of an incremental poll row;
                                    freed by the orchestrator */
  void *priv;                    /* the tracker's own state */
};

struct ov_tracker_ops {
  const char *name;
  int (*prepare) (struct ov_tracker_run *run);
  int (*quiet) (struct ov_tracker_run *run);
  int (*arm) (struct ov_tracker_run *run);
  struct ov_disk *(*open_view) (struct ov_tracker_run *run, bool full);
  int (*read_dirty) (struct ov_tracker_run *run, struct ov_disk *view,
                     ov_extents *dirty);
  int (*commit_state) (struct ov_tracker_run *run);
  int (*finish) (struct ov_tracker_run *run);
  void (*abort) (struct ov_tracker_run *run);
  void (*release) (struct ov_tracker_run *run);
};

extern const struct ov_tracker_ops ov_tracker_full;
extern const struct ov_tracker_ops ov_tracker_bitmap;
extern const struct ov_tracker_ops ov_tracker_live;     /* scanner/tracker_live.c */
extern const struct ov_tracker_ops ov_tracker_layers;   /* scanner/tracker_layers.c */
extern const struct ov_tracker_ops ov_tracker_base;     /* scanner/tracker_layers.c */
/* 'layers' of a running VM over QMP (scanner/tracker_layers_live.c) */
extern const struct ov_tracker_ops ov_tracker_layers_live;

/* The tracker for a registered disk; NULL + ov_error if the record names
 * one this ovscan does not have. */
const struct ov_tracker_ops *ov_tracker_for (const struct ov_disk_record *disk);

#endif
