/* ovscan — signature coverage: which files were scanned under which
 * signature version, and the stale ones oldest first for the rolling rescan
 * (scanner/rescan.c).
 *
 * A file counts when its last verdict is clean, infected or error (skipped
 * files — over --max-filesize, excluded — are never scanned, so they are
 * neither covered nor stale).  It is covered when files.sig_version equals
 * the current version and its last scan did not fail.  Its last scan time is
 * max(files.scanned_at, started of polls[files.scanned_poll]).
 */
#ifndef OVSCAN_DB_COVERAGE_H
#define OVSCAN_DB_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/state.h"

struct ov_coverage {
  uint64_t files, bytes;               /* files that count (see above) */
  uint64_t covered_files, covered_bytes;
  uint64_t infected;                   /* files whose last verdict is infected */
  double oldest_stale;                 /* last scan time of the oldest stale
                                          file, 0 if none */
};

/* Coverage of one disk under `version`. */
int ov_coverage_disk (struct ov_state *st, int64_t disk_id, const char *version,
                      struct ov_coverage *out);

/* Number of stale files (not covered) of every disk. */
int ov_coverage_stale_count (struct ov_state *st, const char *version,
                             uint64_t *files, uint64_t *bytes);

/* One stale file as the rescan needs it. */
struct ov_stale_file {
  int64_t id;
  int64_t disk_id;
  struct ov_file_key key;
  uint64_t size;
  uint8_t runs_digest[32];
  uint32_t generation;
  double last_scan;                    /* see above */
};
/* Stale files of every disk, oldest last scan first (then by id), at most
 * `limit` (0 = all), except a fleet VM's rows inherited from its base
 * (db/fleet_inherit.h: the base's rescan gives them their verdict).
 * Strings: none; the callback may use st. */
typedef int (*ov_stale_file_cb) (void *opaque, const struct ov_stale_file *f);
int ov_coverage_stale_files (struct ov_state *st, const char *version,
                             uint64_t limit, ov_stale_file_cb cb, void *opaque);

/* A rescan's verdict for file `id`, stored only if the file still has the
 * size and runs it had when selected (a poll in between re-scanned it).
 * Sets verdict, signature, error, sig_version, scanned_at.  *stored = false
 * when the row had changed (nothing written). */
struct ov_rescan_verdict {
  int64_t id;
  uint64_t size;
  uint8_t runs_digest[32];
  const char *verdict;                 /* "clean" | "infected" | "error" */
  const char *signature;
  const char *error;
};
int ov_coverage_store (struct ov_state *st, const struct ov_rescan_verdict *v,
                       const char *version, double when, bool *stored);

/* The id of disk_id's filesystem at (label, offset) if its type and
 * identity are still `type` and `identity` (a reformatted filesystem is the
 * next poll's business): 0 found, 1 not, -1 + ov_error. */
int ov_coverage_find_fs (struct ov_state *st, int64_t disk_id, const char *label,
                         uint64_t offset, const char *type, const char *identity,
                         int64_t *fs_id);

/* The fs label of filesystem fs_id ("" or "p2"), malloc'd; NULL + ov_error. */
char *ov_coverage_fs_label (struct ov_state *st, int64_t fs_id);

#endif
