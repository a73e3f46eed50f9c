/* ovscan — guest inspection for the CLI: inspect a registered disk and
 * cache the result, refresh it after a poll that changed /etc/fstab (or a
 * Windows registry hive), and turn fsmap paths into guest paths. */
#ifndef OVSCAN_CLI_GUEST_REFRESH_H
#define OVSCAN_CLI_GUEST_REFRESH_H

#include <stdint.h>

#include "db/state.h"
#include "fsmap/inspect.h"

/* Open rec's image, inspect it (fsmap/inspect.h) and store the result
 * ("no OS found" too).  0 with *out filled, -1 + ov_error. */
int ov_guest_inspect_and_store (struct ov_state *st,
                                const struct ov_disk_record *rec,
                                struct ov_inspection *out);

/* After poll poll_id of rec: if the disk was inspected before and the poll
 * listed the guest's /etc/fstab (Linux) or a registry hive (Windows) as
 * changed, inspect again.  Returns 1 if it did, 0 if not needed, -1 +
 * ov_error (the poll itself stands). */
int ov_guest_refresh_after_poll (struct ov_state *st,
                                 const struct ov_disk_record *rec,
                                 int64_t poll_id);

/* The guest path of a poll file ("vg0/root:/etc/x" on filesystem
 * "vg0/root") given the disk's inspection (may be NULL): malloc'd guest path,
 * or NULL to keep the fsmap path. */
char *ov_guest_display_path (const struct ov_inspection *in,
                             const char *fs_label, const char *path);

#endif
