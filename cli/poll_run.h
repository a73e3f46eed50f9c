/* ovscan — the state of one `ovscan poll` run, shared by its pieces:
 * cli/cmd_poll.c (options, the loop over disks, locks, stop), cli/poll_events.c
 * (what the run reports: errors, notices, detections, --on-detect) and
 * cli/poll_settings.c (config file + command line -> each disk's settings).
 */
#ifndef OVSCAN_CLI_POLL_RUN_H
#define OVSCAN_CLI_POLL_RUN_H

#include <stdbool.h>

#include "cli/cli.h"
#include "db/inspection.h"
#include "db/state.h"
#include "scanner/engine_loader.h"
#include "scanner/poll.h"

/* One run over several disks. */
struct ov_poll_run {
  struct ov_state *st;
  struct ov_engine_options eo;
  struct ov_engine_loader engine;
  bool json, quiet;
  bool cmdline_filesize, cmdline_scansize;
  const char *on_detect;         /* --on-detect, or NULL */
  ov_cli_strings excludes;       /* --exclude (they replace the config's) */
  double max_time, started;      /* budget in s (0: none), monotonic start */
  int status;
  unsigned polled, new_detections;
};

/* Per-disk context of the callbacks. */
struct ov_poll_disk_ctx {
  struct ov_poll_run *run;
  const struct ov_disk_record *rec;
  const struct ov_poll_record *poll;
  const char *on_detect;
  int warnings;
  struct ov_inspection guest;  /* the disk's inspection: guest paths */
  bool have_guest;
};


/* ---- cli/poll_events.c ---- */

/* An error of the run: stderr, syslog, and exit status 2 unless worse. */
void ov_poll_run_error (struct ov_poll_run *run, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* JSON line {"type":TYPE,"vm":VM,KEY:WHY} for a disk not polled. */
void ov_poll_json_disk_line (const char *type, const char *vm, const char *key,
                             const char *why);
/* ov_poll_warning_cb of a disk (opaque: struct ov_poll_disk_ctx). */
void ov_poll_on_warning (void *opaque, bool is_error, const char *message);
/* For ov_state_list_poll_files of the disk's committed poll: prints each
 * detection, says whether it is new, runs --on-detect for new ones. */
int ov_poll_detection_cb (void *opaque, const struct ov_poll_file *f);

/* ---- cli/poll_settings.c ---- */

/* Config-file values for what the command line did not give.  -1 on ENOMEM. */
int ov_poll_apply_config (struct ov_poll_run *run, bool cmdline_threads);
/* Raise the shared engine's limits to the largest a [vm] section sets. */
void ov_poll_engine_limits_cover_vms (struct ov_poll_run *run);
/* One disk's poll options, --on-detect command and exclusions (kept in
 * *excludes, which the caller resets).  -1 on ENOMEM. */
int ov_poll_disk_options (struct ov_poll_run *run, const char *name,
                          struct ov_poll_options *o, const char **on_detect,
                          ov_cli_strings *excludes);

#endif
