/* ovscan — copy-on-write fleets in the command line (cli/fleet_poll.c):
 * registering a 'layers' disk and its base, the base-once scan and the
 * VM's seeding before its poll, the merge-down after it; a running VM's
 * layers (QMP) in cli/fleet_live.c. */
#ifndef OVSCAN_CLI_FLEET_H
#define OVSCAN_CLI_FLEET_H

#include <stdbool.h>

#include "db/state.h"
#include "scanner/poll.h"

/* `add --tracker layers`: validate TOP's chain, identify its base by content
 * (registering it if new) — all before the caller's transaction — then,
 * inside it, add the disk and its fleet row.  rec->size is the base's size
 * and its files are copied at the VM's first poll.  -1 + ov_error. */
int ov_fleet_add_vm (struct ov_state *st, struct ov_disk_record *rec,
                     unsigned max_layers, char **base_name);

/* Before polling a 'layers' disk: the base still the registered one (by
 * path, then stat, then digest: a base replaced under the same path is a
 * new base), scanned once (now, if never), and the VM's file rows copied
 * from it.  Base detections are counted in *infected and said through
 * warn.  -1 + ov_error: nothing polled. */
int ov_fleet_before_poll (struct ov_state *st, struct ov_disk_record *disk,
                          const struct ov_poll_options *options,
                          ov_poll_warning_cb warn, void *opaque,
                          uint64_t *infected);

/* After a committed poll: merge covered layers down to the VM's limit and
 * record its layer count and own bytes.  Failures are warnings. */
void ov_fleet_after_poll (struct ov_state *st, struct ov_disk_record *disk,
                          ov_poll_warning_cb warn, void *opaque);

/* `add NAME --image TOP --tracker layers --qmp SOCKET --node N | --drive
 * ID` (cli/fleet_live.c): the running VM's top node has TOP as its file
 * and its chain agrees with the disk, then as ov_fleet_add_vm.  Prints the
 * result; returns an OV_EXIT_* status. */
struct ov_add_live;
int ov_cli_add_live_layers (struct ov_state *st, struct ov_disk_record *rec,
                            const char *image, const struct ov_add_live *live,
                            unsigned max_chain);

/* WARN (when set) with the printf-formatted message (at most 4 KiB). */
void ov_fleet_tell (ov_poll_warning_cb warn, void *opaque, bool is_error,
                    const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

/* The merge-down of a running VM's covered layers by block-commit
 * (cli/fleet_live.c; ov_fleet_after_poll calls it).  Failures and layers
 * left over the limit are warnings. */
void ov_fleet_merge_live (struct ov_disk_record *disk, unsigned max_layers,
                          ov_poll_warning_cb warn, void *opaque);

/* `ovscan list`'s fleet tables (cli/fleet_list.c); prints nothing
 * without bases. */
int ov_fleet_print (struct ov_state *st);

#endif
