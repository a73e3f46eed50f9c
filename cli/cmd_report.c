/* ovscan — `ovscan report`:
 *   report dirty NAME [--poll ID | --since TIME]   the dirty-file list of a
 *       committed poll (the last one by default), or of every poll of NAME
 *       that started at or after TIME, oldest first: path, inode, size,
 *       change (new|modified|deleted|renamed|metadata), verdict.
 *   report detections [NAME] [--present]   every detection (of NAME, or of
 *       every disk): guest path, signature, first/last seen and poll, found
 *       by a poll or the rolling rescan, cleared (deleted or clean again).
 * Each as a table, JSON lines or CSV (keys in ovscan(1), stable).
 * report detections exits 1 when a listed detection is still present. */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/config.h"
#include "cli/poll_output.h"
#include "cli/table_output.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/quote.h"
#include "db/detections.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] report dirty NAME [--poll ID | --since TIME] [--json|--csv]\n"
"       ovscan [--state DB] report detections [NAME] [--present] [--json|--csv]\n"
"\n"
"dirty: the files a poll found changed (new, modified, deleted, renamed,\n"
"metadata) and their verdicts; the last poll of NAME unless --poll ID, or\n"
"every poll since TIME (unix seconds, YYYY-MM-DD[ HH:MM[:SS]] UTC, or a\n"
"duration ago: 90m, 2h, 7d).\n"
"detections: every file found infected (by a poll or by the rolling\n"
"rescan): path, signature, first and last seen, polls, and whether it is\n"
"still there; --present: only those still there.  Exit 1 if any listed\n"
"detection is still there.\n");
}

/* ---- report dirty ---- */

struct poll_ids {
  int64_t ids[4096];
  size_t n;
  double since;
  bool truncated;
  bool stopped;                 /* since_cb ended the listing (not an error) */
};

/* Newest first: keep the polls at/after `since`, stop at the first before. */
static int
since_cb (void *opaque, const struct ov_poll_record *p)
{
  struct poll_ids *pi = opaque;
  if (p->started < pi->since)
    goto stop;
  if (pi->n == sizeof pi->ids / sizeof *pi->ids) {
    pi->truncated = true;
    goto stop;
  }
  pi->ids[pi->n++] = p->id;
  if (pi->since > 0)
    return 0;
  /* no --since: the newest only */
 stop:
  pi->stopped = true;
  return -1;
}

/* "1795300000", "2026-11-22", "2026-11-22 04:00[:00]" (UTC), "2h" ago. */
static int
parse_since (const char *s, double *out)
{
  struct tm tm;
  const char *end;
  char *e;
  double v, ago;

  v = strtod (s, &e);
  if (e != s && *e == '\0' && v > 100000) {
    *out = v;
    return 0;
  }
  memset (&tm, 0, sizeof tm);
  if ((end = strptime (s, "%Y-%m-%d", &tm)) != NULL) {
    if (*end == ' ' || *end == 'T') {
      const char *t = end + 1;
      if ((end = strptime (t, "%H:%M:%S", &tm)) == NULL)
        end = strptime (t, "%H:%M", &tm);
    }
    if (end && *end == '\0') {
      *out = (double) timegm (&tm);
      return 0;
    }
  }
  if (ov_parse_duration (s, &ago) == 0) {
    *out = ov_unix_seconds () - ago;
    return 0;
  }
  ov_cli_error ("report: --since: expected unix seconds, YYYY-MM-DD[ HH:MM[:SS]] "
                "(UTC) or a duration ago such as 2h, not '%s'", s);
  return -1;
}

static int
report_dirty (struct ov_state *st, const char *name, int64_t poll_id,
              double since, enum ov_report_format format)
{
  struct ov_disk_record rec = { 0 };
  struct poll_ids *pi = NULL;
  int r, status = OV_EXIT_ERROR;

  r = ov_state_get_disk (st, name, &rec);
  if (r != 0) {
    ov_cli_error ("report: %s", r == 1 ? "no such disk (see 'ovscan list')" : ov_last_error ());
    return OV_EXIT_ERROR;
  }
  pi = calloc (1, sizeof *pi);
  if (pi == NULL) {
    ov_cli_error ("out of memory");
    goto out;
  }
  if (poll_id) {
    pi->ids[0] = poll_id;
    pi->n = 1;
  }
  else {
    pi->since = since;
    if (ov_state_list_polls (st, rec.id, since_cb, pi) == -1 && !pi->stopped) {
      ov_cli_error ("report: %s", ov_last_error ());
      goto out;
    }
    if (pi->n == 0 && since == 0) {
      ov_cli_error ("report: %s has not been polled yet", rec.name);
      goto out;
    }
    if (pi->truncated)
      ov_cli_error ("report: only the newest %zu polls since then are listed", pi->n);
  }
  if (format == OV_REPORT_CSV)
    ov_print_csv_header ();
  status = OV_EXIT_CLEAN;
  for (size_t i = pi->n; i-- > 0;) {          /* oldest first */
    struct ov_poll_record p;
    r = ov_state_get_poll (st, pi->ids[i], &p);
    if (r != 0 || p.disk_id != rec.id) {
      ov_cli_error ("report: %s has no poll %" PRId64, rec.name, pi->ids[i]);
      if (r == 0)
        ov_poll_record_clear (&p);
      status = OV_EXIT_ERROR;
      break;
    }
    if (ov_print_poll (st, rec.name, &p, NULL, format) == -1) {
      ov_cli_error ("report: %s", ov_last_error ());
      status = OV_EXIT_ERROR;
    }
    ov_poll_record_clear (&p);
  }
 out:
  free (pi);
  ov_disk_record_clear (&rec);
  return status;
}

/* ---- report detections ---- */

static const char *const detection_keys[] = {
  "vm", "fs", "path", "inode", "signature", "first_seen", "last_seen",
  "first_poll", "last_poll", "found_by", "cleared_poll", "present",
};

struct detections_run {
  enum ov_report_format format;
  bool only_present;
  unsigned rows, present;
};

static int
print_detection (void *opaque, const struct ov_detection_row *d)
{
  struct detections_run *dr = opaque;
  bool present = d->cleared_poll == 0;

  if (dr->only_present && !present)
    return 0;
  if (dr->format == OV_REPORT_TEXT) {
    CLEANUP_FREE char *vm = ov_quote_path (d->disk);
    CLEANUP_FREE char *path = ov_quote_path (d->path);
    char first[32], last[32], cleared[32] = "present";
    if (dr->rows == 0)
      printf ("%-12s %-19s %-19s %-9s %-12s %s  %s\n", "DISK", "FIRST SEEN",
              "LAST SEEN", "POLLS", "STATE", "SIGNATURE", "PATH");
    if (!present)
      snprintf (cleared, sizeof cleared, "gone (#%" PRId64 ")", d->cleared_poll);
    {
      char polls[48];
      snprintf (polls, sizeof polls, "#%" PRId64 "-%" PRId64 "%s", d->first_poll,
                d->last_poll, strcmp (d->found_by, "rescan") == 0 ? "R" : "");
      printf ("%-12s %-19s %-19s %-9s %-12s %s  %s\n", vm ? vm : "?",
              ov_format_time (d->first_seen, first, sizeof first),
              ov_format_time (d->last_seen, last, sizeof last), polls, cleared,
              d->signature, path ? path : "?");
    }
  }
  else {
    struct ov_row r = { .format = dr->format };
    ov_row_begin (&r);
    ov_row_str (&r, "vm", d->disk);
    ov_row_str (&r, "fs", d->fs_label);
    ov_row_str (&r, "path", d->path);
    ov_row_u64 (&r, "inode", d->inode);
    ov_row_str (&r, "signature", d->signature);
    ov_row_num (&r, "first_seen", d->first_seen, 3, true);
    ov_row_num (&r, "last_seen", d->last_seen, 3, true);
    ov_row_i64 (&r, "first_poll", d->first_poll);
    ov_row_i64 (&r, "last_poll", d->last_poll);
    ov_row_str (&r, "found_by", d->found_by);
    ov_row_num (&r, "cleared_poll", (double) d->cleared_poll, 0, !present);
    if (dr->format == OV_REPORT_JSON)
      printf (",\"present\":%s", present ? "true" : "false");
    else
      printf (",%s", present ? "true" : "false");
    ov_row_end (&r);
  }
  dr->rows++;
  dr->present += present;
  return 0;
}

static int
report_detections (struct ov_state *st, const char *name, bool only_present,
                   enum ov_report_format format)
{
  struct detections_run dr = { .format = format, .only_present = only_present };
  int64_t disk_id = 0;

  if (name) {
    struct ov_disk_record rec = { 0 };
    int r = ov_state_get_disk (st, name, &rec);
    if (r != 0) {
      ov_cli_error ("report: %s", r == 1 ? "no such disk (see 'ovscan list')" : ov_last_error ());
      return OV_EXIT_ERROR;
    }
    disk_id = rec.id;
    ov_disk_record_clear (&rec);
  }
  if (format == OV_REPORT_CSV)
    ov_row_csv_header (detection_keys, sizeof detection_keys / sizeof *detection_keys);
  if (ov_detections_list (st, disk_id, print_detection, &dr) == -1) {
    ov_cli_error ("report: %s", ov_last_error ());
    return OV_EXIT_ERROR;
  }
  if (format == OV_REPORT_TEXT && dr.rows == 0)
    printf ("no detections\n");
  fflush (stdout);
  return dr.present ? OV_EXIT_INFECTED : OV_EXIT_CLEAN;
}

enum { OPT_POLL = OV_OPT_FIRST_COMMAND_OPTION, OPT_JSON, OPT_CSV, OPT_SINCE, OPT_PRESENT };

int
ov_cmd_report (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "poll", required_argument, NULL, OPT_POLL },
    { "since", required_argument, NULL, OPT_SINCE },
    { "present", no_argument, NULL, OPT_PRESENT },
    { "json", no_argument, NULL, OPT_JSON },
    { "csv", no_argument, NULL, OPT_CSV },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  enum ov_report_format format = OV_REPORT_TEXT;
  struct ov_state *st = NULL;
  int64_t poll_id = 0;
  double since = 0;
  bool only_present = false;
  int c, status = OV_EXIT_ERROR, nargs;
  const char *what;
  char *end;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
    switch (c) {
    case OPT_POLL:
      poll_id = strtoll (optarg, &end, 10);
      if (*end || poll_id <= 0) {
        ov_cli_error ("report: --poll expects a poll number, not '%s'", optarg);
        return OV_EXIT_ERROR;
      }
      break;
    case OPT_SINCE:
      if (parse_since (optarg, &since) == -1)
        return OV_EXIT_ERROR;
      if (since <= 0)
        since = 1;
      break;
    case OPT_PRESENT: only_present = true; break;
    case OPT_JSON: format = OV_REPORT_JSON; break;
    case OPT_CSV: format = OV_REPORT_CSV; break;
    case 'h': usage (stdout); return OV_EXIT_CLEAN;
    default: fprintf (stderr, "Try 'ovscan report --help'.\n"); return OV_EXIT_ERROR;
    }
  }
  nargs = argc - optind;
  what = nargs > 0 ? argv[optind] : "";
  if (strcmp (what, "dirty") == 0) {
    if (nargs != 2 || (poll_id && since > 0) || only_present) {
      ov_cli_error ("report: expected 'dirty NAME [--poll ID | --since TIME]'");
      usage (stderr);
      return OV_EXIT_ERROR;
    }
  }
  else if (strcmp (what, "detections") == 0) {
    if (nargs > 2 || poll_id || since > 0) {
      ov_cli_error ("report: expected 'detections [NAME] [--present]'");
      usage (stderr);
      return OV_EXIT_ERROR;
    }
  }
  else {
    ov_cli_error ("report: expected 'dirty NAME' or 'detections [NAME]'");
    usage (stderr);
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  if (strcmp (what, "dirty") == 0)
    status = report_dirty (st, argv[optind + 1], poll_id, since, format);
  else
    status = report_detections (st, nargs == 2 ? argv[optind + 1] : NULL,
                                only_present, format);
  ov_state_close (st);
  return status;
}
