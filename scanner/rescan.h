/* ovscan — the rolling rescan: when the signatures change, files scanned
 * under older signatures are scanned again, oldest last scan first, within
 * a budget per run, until every disk is covered (db/coverage.h says what
 * "covered" and "oldest" mean).
 *
 * One run:
 *   1. the current signature version, without loading anything
 *      (ov_sigs_version); no stale file -> return, no engine load.
 *   2. select stale files oldest first: all of them for a time budget; for
 *      a size budget, up to the first that would not fit (always at least
 *      one, so that a file larger than the budget is not stuck forever).
 *   3. per disk, in order of its oldest selected file: take the disk's poll
 *      lock (options->lock; a disk being polled is skipped and reported),
 *      open it read-only (qemu-nbd --read-only, no bitmap: the tracker is
 *      not touched), walk the filesystems that hold selected files, keep the
 *      files that still have the generation, size and runs the db has (a
 *      changed file is the next poll's business), scan them oldest first
 *      until the time budget is spent.
 *   4. store each verdict with the version and the time (only if the row
 *      did not change meanwhile), and each infected file as a detection
 *      (found_by "rescan", poll = the disk's last committed poll): one
 *      transaction per disk, taken after the scan (no lock held while
 *      scanning).
 * Fleets: a VM's files still inherited from its shared base are not
 * selected; when the base is rescanned they take its new verdicts in the
 * same transaction (and any left over from an interrupted run at the start
 * of the next), and an inherited infected file is a detection of each VM
 * that holds it (db/fleet_inherit.h): a base's content is rescanned once
 * for the fleet.
 * A disk that cannot be opened or read is reported (on_event) and skipped;
 * its files stay stale for the next run.
 *
 * Cost: step 1 is a header read per signed database and a read of each
 * custom file; step 3 pays one metadata walk per filesystem with selected
 * files (seconds for 100k files) plus the content of the selected files.
 */
#ifndef OVSCAN_SCANNER_RESCAN_H
#define OVSCAN_SCANNER_RESCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "db/state.h"
#include "scanner/engine_loader.h"
#include "scanner/scanner.h"

struct ov_rescan_budget {
  uint64_t bytes;              /* file bytes to rescan per run; 0 = no limit */
  double seconds;              /* wall time per run; 0 = no limit */
};

/* "500M", "2G" (a size, ov_parse_size: K M G T, upper or lower case with
 * B/iB, or upper case alone) or "90s", "10m", "10min", "1h", "1d" (a
 * duration, ov_parse_duration as --max-time, but its unit is required: a
 * bare "90" is 90 bytes).  "5m" is five minutes, "5M" five MiB.  -1 +
 * ov_error otherwise. */
int ov_rescan_parse_budget (const char *arg, struct ov_rescan_budget *budget);

enum ov_rescan_event_kind {
  OV_RESCAN_DETECTION,         /* path + signature: a file the new signatures catch */
  OV_RESCAN_ERROR,             /* message: a file or disk that could not be rescanned */
  OV_RESCAN_SKIPPED,           /* message: a disk being polled by another run */
};
struct ov_rescan_event {
  enum ov_rescan_event_kind kind;
  const char *disk;
  const char *message;         /* errors, skips */
  /* Detections: */
  const char *image;
  const char *fs_label;
  const char *path;            /* raw guest bytes (quote to print) */
  uint64_t inode, size;
  const char *signature;
  const char *sig_version;
  int64_t poll_id;             /* the disk's last committed poll */
  bool is_new;                 /* not a detection already recorded and present */
};
typedef void (*ov_rescan_event_cb) (void *opaque, const struct ov_rescan_event *e);

struct ov_rescan_options {
  struct ov_rescan_budget budget;
  const struct ov_sigs_options *sigs;  /* what ov_sigs_version inventories */
  struct ov_engine_loader *engine;     /* shared with the run's polls */
  struct ov_scan_limits limits;
  unsigned workers;
  /* Lock a disk for the rescan: fd >= 0 (closed when done), -2 busy, -1 +
   * ov_error.  NULL: no locking (tests). */
  int (*lock) (void *opaque, const char *disk_name);
  void *lock_opaque;
  ov_rescan_event_cb on_event;
  void *opaque;
  /* True when the run must stop (a signal): checked with the time budget,
   * before each disk and each file.  NULL: never. */
  bool (*stop) (void);
};

struct ov_rescan_outcome {
  uint64_t stale_before;       /* stale files when the run started */
  uint64_t selected;           /* files chosen within the budget */
  uint64_t files_scanned, bytes_scanned, infected, errors;
  uint64_t files_inherited;    /* fleet VM files given their base's new
                                  verdict (db/fleet_inherit.h), not read */
  uint64_t disks_skipped;
  uint64_t stale_after;        /* stale files left for the next runs */
  double seconds;
};

/* 0 (also when some disks could not be rescanned: see the events), or -1 +
 * ov_error when the run could not start (signatures, database). */
int ov_rescan_run (struct ov_state *st, const struct ov_rescan_options *options,
                   struct ov_rescan_outcome *out);

#endif
