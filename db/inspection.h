/* ovscan — the guest inspection of each disk, cached in the state db
 * (tables guest_inspections, guest_mounts: db/schema_guests.c). */
#ifndef OVSCAN_DB_INSPECTION_H
#define OVSCAN_DB_INSPECTION_H

#include <stdint.h>

#include "db/state.h"
#include "fsmap/inspect.h"

/* Replace the disk's inspection (in->os_type NULL: "no OS found" is
 * recorded, so it is not retried at every poll).  Own transaction if the
 * caller has none. */
int ov_state_put_inspection (struct ov_state *st, int64_t disk_id,
                             const struct ov_inspection *in);
/* 0 found (out filled; os_type NULL if no OS was found), 1 never
 * inspected, -1 + ov_error. */
int ov_state_get_inspection (struct ov_state *st, int64_t disk_id,
                             struct ov_inspection *out, double *when);
/* For list/status: "Debian GNU/Linux 12 (bookworm), host web1", "no OS
 * found", or NULL when never inspected (*out NULL, returns 0); -1 error.
 * Raw guest bytes, as ov_inspection_summary: quote before printing. */
int ov_state_os_summary (struct ov_state *st, int64_t disk_id, char **out);

#endif
