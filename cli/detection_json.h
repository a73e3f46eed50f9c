/* ovscan — the JSON line of one detection, the same writer for a poll's
 * detections (cli/poll_events.c) and the rolling rescan's
 * (cli/poll_rescan.c), so that both keep the keys of ovscan(1) "JSON
 * lines", "detection", in the same order. */
#ifndef OVSCAN_CLI_DETECTION_JSON_H
#define OVSCAN_CLI_DETECTION_JSON_H

#include <stdbool.h>

#include "cli/on_detect.h"

/* {"type":"detection","vm",...,"new":IS_NEW,"found_by":...} on stdout,
 * flushed.  GUEST_PATH (NULL: none) is the "path", and D->path then goes
 * to "fs_path".  BY_RESCAN: "found_by" is "rescan" and "change" null (the
 * file did not change, the signatures did); else "poll" and D->change.
 * Strings are quoted (cli/table_output.h). */
void ov_print_detection_json (const struct ov_detection *d,
                              const char *guest_path, bool is_new,
                              bool by_rescan);

#endif
