/* ovscan — the rolling rescan run by `poll --all` after its polls: parsing
 * --rescan-budget, locking each disk as a poll does (cli/disk_lock.c), and
 * printing what the rescan finds the way the poll prints its detections.
 * The work itself is scanner/rescan.c. */
#include "cli/poll_rescan.h"

#include <inttypes.h>
#include <string.h>

#include "cli/config.h"
#include "cli/detection_json.h"
#include "cli/on_detect.h"
#include "cli/oplog.h"
#include "cli/signals.h"
#include "cli/table_output.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/units.h"

int
ov_poll_rescan_option (struct ov_poll_rescan *pr, const char *arg)
{
  pr->off = strcmp (arg, "0") == 0;
  if (pr->off)
    return 0;
  if (ov_rescan_parse_budget (arg, &pr->budget) == -1) {
    ov_cli_error ("%s", ov_last_error ());
    return -1;
  }
  return 0;
}

struct rescan_cli {
  const struct ov_poll_rescan *pr;
  struct ov_state *st;
  int *status;
};

static bool
stop_requested (void)
{
  return ov_stop_signal () != 0;
}

static int
lock_disk (void *opaque, const char *name)
{
  struct rescan_cli *rc = opaque;
  return ov_disk_lock (rc->st, name);
}

static void
on_event (void *opaque, const struct ov_rescan_event *e)
{
  struct rescan_cli *rc = opaque;
  CLEANUP_FREE char *quoted = NULL;

  switch (e->kind) {
  case OV_RESCAN_DETECTION: {
    /* The command a poll of this disk would run: --on-detect, else its
     * [vm NAME] on-detect, else the global one. */
    const char *cmd = ov_config_on_detect (rc->pr->on_detect, e->disk);
    struct ov_detection d = {
      .vm = e->disk, .image = e->image, .fs = e->fs_label, .path = e->path,
      .signature = e->signature, .change = "rescan", .sig_version = e->sig_version,
      .poll_id = e->poll_id, .inode = e->inode, .size = e->size,
      .timeout = ov_config.on_detect_timeout,
    };
    quoted = ov_quote_path (e->path);
    if (rc->pr->json)
      ov_print_detection_json (&d, NULL, e->is_new, true);
    else {
      printf ("%s: %s: %s FOUND (rescan)\n", e->disk, quoted ? quoted : "?",
              e->signature);
      fflush (stdout);
    }
    ov_oplog (LOG_ALERT, "%s: rescan: %s: %s FOUND%s", e->disk, quoted ? quoted : "?",
              e->signature, e->is_new ? " (new)" : "");
    *rc->status = OV_EXIT_INFECTED;
    if (cmd && e->is_new && ov_on_detect_run (cmd, &d) == -1)
      ov_cli_error ("%s: %s: %s", e->disk, quoted ? quoted : "?", ov_last_error ());
    break;
  }
  case OV_RESCAN_SKIPPED:
    if (!rc->pr->quiet || rc->pr->json)
      fprintf (stderr, "%s: %s: %s\n", ov_program_name, e->disk, e->message);
    break;
  case OV_RESCAN_ERROR:
    quoted = ov_quote_path (e->message);
    ov_cli_error ("%s: %s", e->disk ? e->disk : "rescan", quoted ? quoted : "?");
    ov_oplog (LOG_ERR, "%s: %s", e->disk ? e->disk : "rescan", quoted ? quoted : "?");
    if (*rc->status == OV_EXIT_CLEAN)
      *rc->status = OV_EXIT_ERROR;
    break;
  }
}

static void
print_summary (const struct ov_poll_rescan *pr, const struct ov_rescan_outcome *o)
{
  char bytes[32];

  if (pr->json) {
    struct ov_row r = { .format = OV_REPORT_JSON };
    ov_row_begin (&r);
    ov_row_str (&r, "type", "rescan");
    ov_row_u64 (&r, "stale_before", o->stale_before);
    ov_row_u64 (&r, "selected", o->selected);
    ov_row_u64 (&r, "files_scanned", o->files_scanned);
    ov_row_u64 (&r, "bytes_scanned", o->bytes_scanned);
    ov_row_u64 (&r, "files_inherited", o->files_inherited);
    ov_row_u64 (&r, "infected", o->infected);
    ov_row_u64 (&r, "errors", o->errors);
    ov_row_u64 (&r, "disks_skipped", o->disks_skipped);
    ov_row_u64 (&r, "stale_after", o->stale_after);
    ov_row_num (&r, "duration_s", o->seconds, 3, true);
    ov_row_end (&r);
  }
  else if (!pr->quiet && (o->stale_before > 0 || o->files_inherited > 0))
    printf ("rescan: %" PRIu64 " of %" PRIu64 " files under older signatures "
            "rescanned (%s) in %.2f s, %" PRIu64 " more given their base's new "
            "verdict, %" PRIu64 " infected; %" PRIu64 " left for the next runs\n",
            o->files_scanned, o->stale_before,
            ov_format_size (o->bytes_scanned, bytes, sizeof bytes), o->seconds,
            o->files_inherited, o->infected, o->stale_after);
  fflush (stdout);
}

void
ov_poll_rescan_run (struct ov_state *st, const struct ov_poll_rescan *pr,
                    const struct ov_engine_options *eo,
                    struct ov_engine_loader *engine, int *status)
{
  struct rescan_cli rc = { .pr = pr, .st = st, .status = status };
  struct ov_rescan_options o = {
    .budget = pr->budget, .sigs = &eo->sigs, .engine = engine,
    .limits = eo->limits, .workers = eo->threads,
    .lock = lock_disk, .lock_opaque = &rc, .on_event = on_event, .opaque = &rc,
    .stop = stop_requested,
  };
  struct ov_rescan_outcome out;

  if (pr->off)
    return;
  if (o.budget.bytes == 0 && o.budget.seconds == 0
      && ov_rescan_parse_budget (OV_DEFAULT_RESCAN_BUDGET, &o.budget) == -1)
    return;
  /* --max-time bounds the whole run, the rescan included. */
  if (pr->time_left > 0 && (o.budget.seconds == 0 || o.budget.seconds > pr->time_left))
    o.budget.seconds = pr->time_left;
  if (ov_rescan_run (st, &o, &out) == -1) {
    ov_cli_error ("rescan: %s", ov_last_error ());
    ov_oplog (LOG_ERR, "rescan: %s", ov_last_error ());
    if (*status == OV_EXIT_CLEAN)
      *status = OV_EXIT_ERROR;
    return;
  }
  print_summary (pr, &out);
}
