/* ovscan — the metadata pass of one filesystem in a poll: targeted
 * (fsmap/ext_incremental.h: re-read only what the dirty blocks hold) or the
 * full walk, and the directory state the targeted path needs.
 *
 * Chosen by OVSCAN_METADATA: "targeted" (default) tries the targeted path on
 * ext2/3/4 in incremental polls and falls back to the walk, saying why;
 * "walk" always walks.  Every walk of an ext filesystem records its
 * directories (listing + blocks) so that the next poll can be targeted.
 * The poll's metadata_walk says which way each filesystem went:
 * "disk (ext4, targeted, 0.05 s)", or "disk (ext4, full walk: WHY, 1.0 s)"
 * in an incremental poll (WHY: the safety net's reason, "no targeted path
 * for this filesystem type", or "OVSCAN_METADATA=walk"); a full poll walks
 * without a reason.
 * Glue only: the database on one side, fsmap on the other.
 */
#ifndef OVSCAN_SCANNER_POLL_TARGETED_H
#define OVSCAN_SCANNER_POLL_TARGETED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/extents.h"
#include "db/state.h"
#include "fsmap/ext_incremental.h"
#include "fsmap/fsmap.h"

struct ov_targeted {
  bool ext;                     /* ext2/3/4: directory state is kept */
  bool used;                    /* the candidates are in res.files */
  char *why_walk;               /* targeted path tried but not used: why */
  struct ov_ext_incr_result res;
};

/* Try the targeted path (only if !fs_full, the fs is ext and the mode
 * allows).  `known` are the fs's file summaries (any order).  Returns 0
 * (then t->used says which way), -1 + ov_error on a database or memory
 * error.  When used, the directory changes are already stored. */
int ov_targeted_run (struct ov_state *st, int64_t fs_id, struct ov_fsmap *map,
                     struct ov_fs *fs, const ov_extents *dirty, bool fs_full,
                     const struct ov_file_summary *known, size_t nknown,
                     struct ov_targeted *t);

/* The full walk; for ext, the directory state is replaced by the walk's. */
int ov_targeted_walk (struct ov_state *st, int64_t fs_id, struct ov_fsmap *map,
                      struct ov_fs *fs, struct ov_targeted *t,
                      ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                      void *opaque);

/* After a targeted pass: was this inode's state re-derived?  (A known file
 * whose inode was not examined is unchanged.) */
bool ov_targeted_examined (const struct ov_targeted *t, uint64_t inode);

void ov_targeted_clear (struct ov_targeted *t);

#endif
