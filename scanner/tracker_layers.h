/* ovscan — the 'layers' tracker's pieces shared by its two files:
 *   scanner/tracker_layers.c         the ops, the layers path (rotation)
 *   scanner/tracker_layers_bitmap.c  the disk's own dirty bitmap in TOP:
 *                                    is it usable, what each path would
 *                                    read, and its lifecycle on either path
 * and the one call the CLI makes (ov_layers_bitmap_create, `add --bitmap`).
 *
 * A 'layers' disk keeps a bitmap when disks.bitmap names one (set by
 * `ovscan add … --tracker layers --bitmap`, which creates ovscan-1 in TOP).
 * disks.generation stays the covered layer number (tracker_layers.c); the
 * bitmap's own generation is the number in its name (OV_BITMAP_PREFIX +
 * decimal, backends/tracker.h), written in the same row by the same
 * statement as the rest of the poll's tracker state, so the two cannot
 * disagree after a crash.
 */
#ifndef OVSCAN_SCANNER_TRACKER_LAYERS_H
#define OVSCAN_SCANNER_TRACKER_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/tracker.h"
#include "cow/cow.h"
#include "scanner/layers_choice.h"
#include "scanner/tracker_ops.h"

struct layers_run {
  struct ov_cow_chain chain;     /* as found by prepare (before arm) */
  enum ov_layers_path path;      /* chosen by prepare */
  /* layers path */
  unsigned frozen_number;        /* set by arm */
  char *frozen;                  /* TOP.layer-M */
  /* the disk's bitmap (disk->bitmap != NULL) */
  struct ov_tracker_state bstate; /* recorded (borrowed strings) */
  struct ov_tracker_poll bpoll;  /* .frozen: the recorded bitmap when it is
                                    usable; .successor once armed */
  bool bitmap_armed;             /* bpoll.successor exists in TOP */
  bool measured;                 /* the fields below are known */
  uint64_t bitmap_bytes, layers_bytes, measured_size;
};

/* prepare, after the chain is known: when the disk keeps a bitmap, judge
 * it (ov_bitmap_prepare also removes stale and unusable ovscan-N bitmaps
 * from TOP), measure both paths when the poll is incremental, choose
 * (layers_choice.h): sets l->path, run->used, run->note. */
int ov_layers_bitmap_prepare (struct ov_tracker_run *run, struct layers_run *l);
/* arm: bitmap path: the successor ovscan-<g+1> in TOP (-1 on failure);
 * layers path, after the rotation: the same successor in the new TOP (a
 * failure is only noted in run->note: the layers still cover the poll and
 * the next one reads them again). */
int ov_layers_bitmap_arm (struct ov_tracker_run *run, struct layers_run *l);
/* commit_state: disk->bitmap = the successor, when armed. */
int ov_layers_bitmap_commit (struct ov_tracker_run *run, struct layers_run *l);
/* finish: drop the bitmap that covered this poll: from TOP (bitmap path) or
 * from the frozen layer it went into with the rotation (layers path). */
int ov_layers_bitmap_finish (struct ov_tracker_run *run, struct layers_run *l);
/* abort: drop the successor (the recorded bitmap, or the layers, still
 * cover every write). */
void ov_layers_bitmap_abort (struct ov_tracker_run *run, struct layers_run *l);

/* `ovscan add NAME --tracker layers --bitmap`: remove any leftover ovscan-N
 * bitmap of TOP and create ovscan-1 (persistent, enabled, GRANULARITY
 * bytes); *name = "ovscan-1" (malloc'd).  -1 + ov_error naming TOP (not
 * qcow2, corrupt, in use, a qcow2 version without bitmaps…). */
int ov_layers_bitmap_create (const char *top, uint32_t granularity, char **name);

#endif
