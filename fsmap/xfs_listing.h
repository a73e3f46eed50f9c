/* ovscan — fsmap: the host-side parser of the listing ovscan-fs-walk writes
 * inside the appliance (format: fsmap/appliance/fs_walk.c; parser and trust
 * rules: fsmap/xfs_walk.c).  Separate from the appliance so unit tests feed
 * crafted listings.
 */
#ifndef OVSCAN_FSMAP_XFS_LISTING_H
#define OVSCAN_FSMAP_XFS_LISTING_H

#include "fsmap/fsmap.h"

/* Parse the listing file at `listing` for filesystem fs: every regular file
 * is given to file_cb (ownership passes; hard links merged into one
 * ov_file), per-file problems go to error_cb.  0, or -1 + ov_error (a
 * malformed or truncated listing: nothing is delivered then). */
int ov_xfs_listing_parse (struct ov_fs *fs, const char *listing,
                          ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                          void *opaque);

#endif
