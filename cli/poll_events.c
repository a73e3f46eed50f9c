/* ovscan — what a poll run reports as it goes: errors (stderr + syslog,
 * exit status), notices, each detection (text, JSON line, syslog) and
 * whether it is new, which starts --on-detect (cli/on_detect.c).
 * Guest strings are quoted before any output.  Cost: one history query per
 * detection (db/detection_history.h); nothing per clean file.
 */
#include "cli/poll_run.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/config.h"
#include "cli/detection_json.h"
#include "cli/guest_refresh.h"
#include "cli/on_detect.h"
#include "cli/oplog.h"
#include "cli/table_output.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "db/detection_history.h"

void
ov_poll_run_error (struct ov_poll_run *run, const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  ov_cli_error ("%s", msg);
  ov_oplog (LOG_ERR, "%s", msg);
  if (run->status == OV_EXIT_CLEAN)
    run->status = OV_EXIT_ERROR;
}

/* {"type":TYPE,"vm":VM,KEY:WHY} for a disk not polled. */
void
ov_poll_json_disk_line (const char *type, const char *vm, const char *key, const char *why)
{
  struct ov_row r = { .format = OV_REPORT_JSON };
  ov_row_begin (&r);
  ov_row_str (&r, "type", type);
  ov_row_str (&r, "vm", vm);
  ov_row_str (&r, key, why);
  ov_row_end (&r);
  fflush (stdout);
}

void
ov_poll_on_warning (void *opaque, bool is_error, const char *message)
{
  struct ov_poll_disk_ctx *d = opaque;
  if (is_error)
    d->warnings++;
  /* Notices (a reformatted filesystem, a stale bitmap…) are rare and worth
   * a mail: printed even when quiet. */
  fprintf (stderr, "%s: %s: %s\n", ov_program_name, d->rec->name, message);
  ov_oplog (is_error ? LOG_ERR : LOG_NOTICE, "%s: %s", d->rec->name, message);
}

static void
print_detection (struct ov_poll_disk_ctx *d, const struct ov_detection *det,
                 const char *quoted, bool is_new)
{
  /* Guest path when the disk was inspected (cli/guest_refresh.h). */
  CLEANUP_FREE char *gpath = d->have_guest
    ? ov_guest_display_path (&d->guest, det->fs, det->path) : NULL;
  CLEANUP_FREE char *gquoted = gpath ? ov_quote_path (gpath) : NULL;

  if (d->run->json)
    ov_print_detection_json (det, gpath, is_new, false);
  else {
    printf ("%s: %s: %s FOUND\n", d->rec->name, gquoted ? gquoted : quoted,
            det->signature);
    fflush (stdout);
  }
}

int
ov_poll_detection_cb (void *opaque, const struct ov_poll_file *f)
{
  struct ov_poll_disk_ctx *d = opaque;
  const struct ov_detection det = {
    .vm = d->rec->name, .image = d->rec->image, .fs = f->fs_label,
    .path = f->path, .signature = f->signature, .change = f->change,
    .sig_version = d->poll->sig_version, .poll_id = d->poll->id,
    .inode = f->inode, .size = f->size, .timeout = ov_config.on_detect_timeout,
  };
  CLEANUP_FREE char *quoted = NULL;
  int is_new;

  if (f->signature == NULL || strcmp (f->verdict, "infected") != 0)
    return 0;
  quoted = ov_quote_path (f->path);
  is_new = ov_state_detection_is_new (d->run->st, d->rec->id, d->poll->id,
                                      f->fs_label, f->path, f->signature);
  if (is_new == -1) {
    ov_poll_run_error (d->run, "%s: %s", d->rec->name, ov_last_error ());
    is_new = 1;                  /* rather one alert too many than none */
  }
  print_detection (d, &det, quoted ? quoted : "?", is_new);
  ov_oplog (LOG_ALERT, "%s: poll %" PRId64 ": %s: %s FOUND%s", d->rec->name,
            d->poll->id, quoted ? quoted : "?", f->signature, is_new ? " (new)" : "");
  if (is_new) {
    d->run->new_detections++;
    if (d->on_detect && ov_on_detect_run (d->on_detect, &det) == -1)
      ov_poll_run_error (d->run, "%s: %s: %s", d->rec->name, quoted ? quoted : "?",
                 ov_last_error ());
  }
  return 0;
}
