/* ovscan — the progress line on a terminal: files, bytes, rate, ETA.
 *
 * Shown only when the stream is a TTY (never in cron mail or pipes), redrawn
 * at most 4 times a second with "\r" + erase-line, and erased before any
 * other output so detections never share a line with it.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/units.h"

struct ov_progress {
  FILE *fp;
  uint64_t total_files, total_bytes;
  double start, last_draw;
  bool drawn;
};

struct ov_progress *
ov_progress_new (FILE *fp, bool enabled)
{
  struct ov_progress *p;

  if (!enabled || !isatty (fileno (fp)))
    return NULL;
  p = calloc (1, sizeof *p);
  if (p) {
    p->fp = fp;
    p->start = ov_monotonic_seconds ();
  }
  return p;
}

void
ov_progress_add_total (struct ov_progress *p, uint64_t files, uint64_t bytes)
{
  if (p) {
    p->total_files += files;
    p->total_bytes += bytes;
  }
}

void
ov_progress_update (struct ov_progress *p, uint64_t files, uint64_t bytes)
{
  double t, elapsed, rate;
  char done[32], total[32], eta[32] = "?";

  if (p == NULL)
    return;
  t = ov_monotonic_seconds ();
  if (t - p->last_draw < 0.25)
    return;
  p->last_draw = t;
  elapsed = t - p->start;
  rate = elapsed > 0 ? bytes / elapsed : 0;
  if (rate > 0 && p->total_bytes >= bytes)
    snprintf (eta, sizeof eta, "%.0fs", (p->total_bytes - bytes) / rate);
  fprintf (p->fp, "\r\033[K%llu/%llu files, %s/%s, %.1f MB/s, ETA %s",
           (unsigned long long) files, (unsigned long long) p->total_files,
           ov_format_size (bytes, done, sizeof done),
           ov_format_size (p->total_bytes, total, sizeof total),
           rate / 1e6, eta);
  fflush (p->fp);
  p->drawn = true;
}

void
ov_progress_clear (struct ov_progress *p)
{
  if (p && p->drawn) {
    fputs ("\r\033[K", p->fp);
    fflush (p->fp);
    p->drawn = false;
  }
}

void
ov_progress_free (struct ov_progress *p)
{
  ov_progress_clear (p);
  free (p);
}
