/* ovscan — the rolling rescan at the end of `poll --all`
 * (cli/poll_rescan.c; scanner/rescan.h does the work). */
#ifndef OVSCAN_CLI_POLL_RESCAN_H
#define OVSCAN_CLI_POLL_RESCAN_H

#include <stdbool.h>

#include "cli/cli.h"
#include "db/state.h"
#include "scanner/engine_loader.h"
#include "scanner/rescan.h"

/* Used when --rescan-budget is not given. */
#define OV_DEFAULT_RESCAN_BUDGET "1G"

struct ov_poll_rescan {
  struct ov_rescan_budget budget;
  bool off;                    /* --rescan-budget 0 */
  bool json, quiet;
  const char *on_detect;       /* --on-detect CMD, or NULL: then each
                                  disk's [vm NAME] on-detect, else the
                                  global one (ov_config_on_detect) */
  double time_left;            /* what --max-time leaves (s); 0 = no limit */
};

/* Parse --rescan-budget ARG ("0" = no rescan).  -1 after printing. */
int ov_poll_rescan_option (struct ov_poll_rescan *pr, const char *arg);

/* Rescan within the budget; detections are printed as the poll prints its
 * own (text "VM: PATH: SIG FOUND (rescan)", or a JSON "detection" object
 * with "found_by": "rescan"; "new" false when already a present detection)
 * and, when new, given to --on-detect; then a summary (text
 * unless quiet, JSON object "rescan").  *status becomes 1 on a detection,
 * 2 on an error (1 wins). */
void ov_poll_rescan_run (struct ov_state *st, const struct ov_poll_rescan *pr,
                         const struct ov_engine_options *eo,
                         struct ov_engine_loader *engine, int *status);

#endif
