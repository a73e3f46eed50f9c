/* ovscan — registering and forgetting a running VM's disk reached over
 * QMP (`ovscan add NAME --qmp SOCKET --node NODE | --drive ID`; issue 4).
 * cli/cmd_disks.c parses the options and calls these. */
#ifndef OVSCAN_CLI_ADD_LIVE_H
#define OVSCAN_CLI_ADD_LIVE_H

#include "db/state.h"

/* The live options of `add`, as given (NULL when absent). */
struct ov_add_live {
  const char *qmp;
  const char *node;
  const char *drive;
  const char *nbd_socket;
};

/* Check the VM now (QMP answers, the node exists and is qcow2), then add
 * REC (name and granularity set by the caller) with image "qmp:SOCKET".
 * Prints the result; returns an OV_EXIT_* status. */
int ov_cli_add_live (struct ov_state *st, struct ov_disk_record *rec,
                     const struct ov_add_live *live);

/* `remove` of a live disk: remove ovscan's bitmaps and leftovers from the
 * VM when it can be reached (a warning otherwise). */
void ov_cli_forget_live (const struct ov_disk_record *rec);

#endif
