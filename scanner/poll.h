/* ovscan — one poll of one registered disk: tracker -> dirty extents ->
 * dirty files -> scan -> one database transaction -> tracker hand-over.
 *
 * The order is what keeps every write covered (QEMU's own bitmap lifecycle):
 *   1. prepare: validate the recorded bitmap ("frozen"); a missing or
 *      inconsistent one, a first poll, --full, or tracker "full" make the poll
 *      full, with the reason recorded.
 *   2. quiet check (incremental only): read the frozen bitmap; if nothing is
 *      dirty, record the poll and stop — no successor, no metadata read, no
 *      engine load.  The frozen bitmap keeps recording.
 *   3. arm: create the successor bitmap.  From here every write lands in the
 *      successor AND the frozen one (both enabled).
 *   4. read the frozen bitmap again (a superset of step 2), map dirty extents
 *      to files, scan them.
 *   5. commit the poll, the files, and the disk's new tracker state
 *      (bitmap = successor) in one transaction.
 *   6. only then remove the frozen bitmap.  A kill at any point before 6
 *      leaves the frozen bitmap recorded in the db and covering everything;
 *      prepare() of the next poll removes the stale successor.
 *
 * Crash-injection points for the tests (common/fault.h, OVSCAN_FAULT=NAME):
 * after-prepare, after-arm, during-scan, before-commit, after-commit.
 *
 * Dirty extents -> files: a filesystem with no dirty byte is not read at all.
 * Otherwise its metadata is walked (names and block runs, no content) and
 * compared with the state db: unknown key -> new; other size or block runs,
 * or a data run overlapping a dirty extent -> modified (resident data:
 * only if its digest changed); other paths -> renamed; other mode/owner/
 * times -> metadata; known but not seen -> deleted.  New and modified files
 * are scanned.  On ext2/3/4 the walk is replaced, when every dirty byte can
 * be explained, by a targeted re-read of the dirty inode-table and
 * directory blocks (scanner/poll_targeted.h, fsmap/ext_incremental.h): its
 * candidates are classified the same way, and known files it did not
 * examine count as seen.
 */
#ifndef OVSCAN_SCANNER_POLL_H
#define OVSCAN_SCANNER_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "db/state.h"
#include "scanner/engine_loader.h"
#include "scanner/scanner.h"

enum ov_change {
  OV_CHANGE_NEW,
  OV_CHANGE_MODIFIED,
  OV_CHANGE_DELETED,
  OV_CHANGE_RENAMED,
  OV_CHANGE_METADATA,
};
const char *ov_change_to_string (enum ov_change c);

struct ov_poll_options {
  bool force_full;                     /* --full */
  struct ov_scan_limits limits;
  unsigned workers;
  struct ov_engine_loader *engine;     /* shared by every disk of one run */
  /* Globs (ov_path_excluded, scanner/fullscan.h): a new or modified file
   * any of whose paths matches is listed but not scanned (verdict skipped,
   * error "excluded by --exclude"). */
  const char *const *excludes;
  size_t nexcludes;
};

struct ov_poll_outcome {
  int64_t poll_id;
  const char *mode;                    /* "full" | "incremental" */
  char *reason;                        /* why full, or NULL */
  char *walked;                        /* filesystems whose metadata was walked: "p1 (ext4)" */
  uint64_t dirty_bytes;
  uint64_t files_scanned, infected, errors;
  double seconds;
};
void ov_poll_outcome_clear (struct ov_poll_outcome *o);

/* Reported as they happen: problems that do not stop the poll (a
 * filesystem not read, a file that could not be scanned: is_error = true),
 * and notices (a reformatted filesystem read again: is_error = false). */
typedef void (*ov_poll_warning_cb) (void *opaque, bool is_error,
                                    const char *message);

/* Poll `disk` (its record is updated on success).  -1 + ov_error if the poll
 * could not be done; then nothing was committed and the tracker still covers
 * every write; *out then holds only seconds (nothing to free). */
int ov_poll_disk (struct ov_state *st, struct ov_disk_record *disk,
                  const struct ov_poll_options *options,
                  ov_poll_warning_cb warn, void *opaque,
                  struct ov_poll_outcome *out);

#endif
