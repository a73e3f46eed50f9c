/* ovscan — `ovscan status [NAME] [--json|--csv] [-d PATH]... [--test-signatures]`:
 * per registered disk, the last poll, the tracker, the dirty bytes of the
 * last poll, the files known and scanned, detections, and the signature
 * coverage (share of files and bytes whose last scan was under the current
 * signatures, db/coverage.h).  The current signatures are named without
 * loading them (ov_sigs_version) from -d/--test-signatures, else the
 * configuration file, else the default directory — the same set `poll`
 * would load.  JSON lines / CSV keys are listed in ovscan(1) and stable.
 * Cost: one pass over each disk's files (tens of ms per 100k files). */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sig_options.h"
#include "cli/table_output.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/units.h"
#include "db/coverage.h"
#include "db/detections.h"
#include "db/fleet.h"
#include "db/inspection.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] status [NAME] [OPTIONS]\n"
"Per registered disk: last poll, tracker, dirty bytes, files scanned,\n"
"detections and signature coverage (the share of files and bytes last\n"
"scanned under the current signatures; `poll --all --rescan-budget` raises\n"
"it after a signature update).\n"
"\n"
"Options:\n"
"  -d, --database PATH     the current signatures (as for poll; default the\n"
"                          configuration file's, else " OV_DEFAULT_DATABASE_DIR ")\n"
"      --test-signatures   the current signatures include ovscan's own\n"
"      --json              JSON lines, one object per disk (see ovscan(1))\n"
"      --csv               CSV, one row per disk\n"
"  -h, --help              show this help\n");
}

static const char *const csv_keys[] = {
  "vm", "image", "tracker", "last_poll", "last_poll_started", "last_poll_mode",
  "last_poll_tracker", "last_poll_status", "dirty_bytes", "files", "files_scanned", "bytes_scanned",
  "covered_files", "covered_bytes", "coverage_files_pct", "coverage_bytes_pct",
  "oldest_stale_scan", "infected_files", "detections", "detections_present",
  "signature_version", "base", "layers", "max_layers", "own_bytes", "os",
};

struct disk_status {
  const struct ov_disk_record *rec;
  struct ov_poll_record last;  /* id 0: never polled */
  bool polled;
  uint64_t files, runs;
  struct ov_coverage cov;
  bool have_cov;
  uint64_t detections, present;
  bool on_base;                /* a 'layers' VM with its fleet row */
  struct ov_fleet_vm vm;
  char base_name[80];
  char *os;                    /* inspection summary (raw guest bytes), or NULL */
};

struct status_run {
  struct ov_state *st;
  enum ov_report_format format;
  const char *version;         /* NULL: the signatures cannot be named */
  unsigned disks;
  int status;
};

static int
first_poll_cb (void *opaque, const struct ov_poll_record *p)
{
  struct disk_status *ds = opaque;
  ds->last.id = p->id;
  ds->last.started = p->started;
  ds->last.dirty_bytes = p->dirty_bytes;
  ds->last.mode = strdup (p->mode);
  ds->last.status = strdup (p->status);
  ds->last.tracker = strdup (p->tracker);
  ds->polled = true;
  return -1;                    /* newest first: stop after one */
}

static double
pct (uint64_t part, uint64_t whole)
{
  return whole ? 100.0 * (double) part / (double) whole : 0;
}

/* Copy-on-write fleets (issue 5) and inspected guests (issue 7): null
 * for disks that are neither. */
static void
fleet_fields (struct ov_row *r, const struct disk_status *ds)
{
  ov_row_str (r, "base", ds->on_base ? ds->base_name : NULL);
  ov_row_num (r, "layers", ds->vm.layers, 0, ds->on_base);
  ov_row_num (r, "max_layers", ds->vm.max_layers, 0, ds->on_base);
  ov_row_num (r, "own_bytes", (double) ds->vm.own_bytes, 0, ds->on_base);
  ov_row_str (r, "os", ds->os);
}

/* The fleet row and base name of a 'layers' VM; the OS summary of an
 * inspected disk. */
static int
fleet_and_guest (struct ov_state *st, struct disk_status *ds)
{
  int r = ov_fleet_get_vm (st, ds->rec->id, &ds->vm);

  if (r == -1)
    return -1;
  if (r == 0) {
    struct ov_base_record b = { 0 };
    int rb = ov_fleet_get_base (st, ds->vm.base_id, &b);
    if (rb == -1)
      return -1;
    ds->on_base = true;
    if (rb == 0)
      ov_fleet_base_name (b.sha256, ds->base_name);
    else
      snprintf (ds->base_name, sizeof ds->base_name, "missing base #%" PRId64,
                ds->vm.base_id);
    ov_base_record_clear (&b);
  }
  return ov_state_os_summary (st, ds->rec->id, &ds->os);
}

static void
print_row (const struct status_run *sr, const struct disk_status *ds)
{
  struct ov_row r = { .format = sr->format };

  ov_row_begin (&r);
  ov_row_str (&r, "vm", ds->rec->name);
  ov_row_str (&r, "image", ds->rec->image);
  ov_row_str (&r, "tracker", ds->rec->tracker);
  ov_row_num (&r, "last_poll", (double) ds->last.id, 0, ds->polled);
  ov_row_num (&r, "last_poll_started", ds->last.started, 3, ds->polled);
  ov_row_str (&r, "last_poll_mode", ds->polled ? ds->last.mode : NULL);
  ov_row_str (&r, "last_poll_tracker", ds->polled ? ds->last.tracker : NULL);
  ov_row_str (&r, "last_poll_status", ds->polled ? ds->last.status : NULL);
  ov_row_num (&r, "dirty_bytes", (double) ds->last.dirty_bytes, 0, ds->polled);
  ov_row_u64 (&r, "files", ds->files);
  ov_row_u64 (&r, "files_scanned", ds->cov.files);
  ov_row_u64 (&r, "bytes_scanned", ds->cov.bytes);
  ov_row_num (&r, "covered_files", (double) ds->cov.covered_files, 0, ds->have_cov);
  ov_row_num (&r, "covered_bytes", (double) ds->cov.covered_bytes, 0, ds->have_cov);
  ov_row_num (&r, "coverage_files_pct", pct (ds->cov.covered_files, ds->cov.files), 1,
              ds->have_cov && ds->cov.files);
  ov_row_num (&r, "coverage_bytes_pct", pct (ds->cov.covered_bytes, ds->cov.bytes), 1,
              ds->have_cov && ds->cov.bytes);
  ov_row_num (&r, "oldest_stale_scan", ds->cov.oldest_stale, 3,
              ds->have_cov && ds->cov.oldest_stale > 0);
  ov_row_u64 (&r, "infected_files", ds->cov.infected);
  ov_row_u64 (&r, "detections", ds->detections);
  ov_row_u64 (&r, "detections_present", ds->present);
  ov_row_str (&r, "signature_version", sr->version);
  fleet_fields (&r, ds);
  ov_row_end (&r);
}

static void
print_text (const struct status_run *sr, const struct disk_status *ds)
{
  char when[64], dirty[32], bytes[32], cov[64] = "-";

  if (sr->disks == 0)
    printf ("%-16s %-8s %-26s %10s %9s %9s %10s  %s\n", "DISK", "TRACKER",
            "LAST POLL", "DIRTY", "FILES", "SCANNED", "DETECTIONS", "COVERAGE (files, bytes)");
  if (ds->polled)
    snprintf (when, sizeof when, "#%" PRId64 " ", ds->last.id);
  else
    snprintf (when, sizeof when, "never");
  if (ds->polled) {
    size_t n = strlen (when);
    ov_format_time (ds->last.started, when + n, sizeof when - n);
  }
  if (ds->have_cov && ds->cov.files)
    snprintf (cov, sizeof cov, "%.1f%%, %.1f%%",
              pct (ds->cov.covered_files, ds->cov.files),
              pct (ds->cov.covered_bytes, ds->cov.bytes));
  {
    CLEANUP_FREE char *name = ov_quote_path (ds->rec->name);
    char det[48];
    snprintf (det, sizeof det, "%" PRIu64 "/%" PRIu64, ds->present, ds->detections);
    printf ("%-16s %-8s %-26s %10s %9" PRIu64 " %9" PRIu64 " %10s  %s%s%s\n",
            name ? name : "?", ds->rec->tracker, when,
            ds->polled ? ov_format_size (ds->last.dirty_bytes, dirty, sizeof dirty) : "-",
            ds->files, ds->cov.files, det, cov,
            ds->cov.bytes ? "  of " : "",
            ds->cov.bytes ? ov_format_size (ds->cov.bytes, bytes, sizeof bytes) : "");
  }
  if (ds->on_base)
    printf ("%16s on %s, %u of at most %u own layers, %s own%s%s\n", "",
            ds->base_name, ds->vm.layers, ds->vm.max_layers,
            ov_format_size (ds->vm.own_bytes, bytes, sizeof bytes),
            ds->polled ? ", last poll read the " : "",
            ds->polled ? ds->last.tracker : "");
  if (ds->os) {
    CLEANUP_FREE char *qos = ov_quote_path (ds->os);
    printf ("%16s os: %s\n", "", qos ? qos : "?");
  }
}

static int
status_disk (void *opaque, const struct ov_disk_record *rec)
{
  struct status_run *sr = opaque;
  struct disk_status ds = { .rec = rec };
  int ret = 0;

  if (ov_state_list_polls (sr->st, rec->id, first_poll_cb, &ds) == -1 && !ds.polled)
    goto fail;
  if (ds.polled && (ds.last.mode == NULL || ds.last.status == NULL ||
                    ds.last.tracker == NULL)) {
    ov_error ("out of memory");
    goto fail;
  }
  if (ov_state_count_files (sr->st, rec->id, &ds.files, &ds.runs) == -1
      || ov_coverage_disk (sr->st, rec->id, sr->version, &ds.cov) == -1
      || ov_detections_count (sr->st, rec->id, &ds.detections, &ds.present) == -1
      || fleet_and_guest (sr->st, &ds) == -1)
    goto fail;
  ds.have_cov = sr->version != NULL;
  if (sr->format == OV_REPORT_TEXT)
    print_text (sr, &ds);
  else
    print_row (sr, &ds);
  sr->disks++;
  goto out;
 fail:
  ov_cli_error ("status: %s: %s", rec->name, ov_last_error ());
  sr->status = OV_EXIT_ERROR;
 out:
  free ((char *) ds.last.mode);
  free ((char *) ds.last.status);
  free ((char *) ds.last.tracker);
  free (ds.os);
  return ret;
}

enum { OPT_JSON = OV_OPT_FIRST_COMMAND_OPTION, OPT_CSV };

int
ov_cmd_status (int argc, char **argv)
{
  static const struct option long_options[] = {
    OV_ENGINE_LONG_OPTIONS,
    { "json", no_argument, NULL, OPT_JSON },
    { "csv", no_argument, NULL, OPT_CSV },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_engine_options eo;
  struct status_run sr = { .format = OV_REPORT_TEXT, .status = OV_EXIT_CLEAN };
  CLEANUP_FREE char *version = NULL;
  int c, r, status = OV_EXIT_ERROR;

  ov_engine_options_init (&eo);
  optind = 1;
  while ((c = getopt_long (argc, argv, OV_ENGINE_SHORT_OPTIONS "h",
                           long_options, NULL)) != -1) {
    if ((r = ov_engine_option (&eo, c, optarg)) == -1)
      goto out;
    if (r == 1)
      continue;
    switch (c) {
    case OPT_JSON: sr.format = OV_REPORT_JSON; break;
    case OPT_CSV: sr.format = OV_REPORT_CSV; break;
    case 'h': usage (stdout); status = OV_EXIT_CLEAN; goto out;
    default: fprintf (stderr, "Try 'ovscan status --help'.\n"); goto out;
    }
  }
  if (argc - optind > 1) {
    ov_cli_error ("status: expected at most one disk NAME");
    goto out;
  }
  if (ov_sig_options_finish (&eo) == -1)
    goto out;
  if (ov_sigs_version (&eo.sigs, &version) == -1) {
    ov_cli_error ("status: signature coverage unknown: %s", ov_last_error ());
    sr.status = OV_EXIT_ERROR;
  }
  sr.version = version;
  if ((sr.st = ov_cli_open_state ()) == NULL)
    goto out;
  if (sr.format == OV_REPORT_CSV)
    ov_row_csv_header (csv_keys, sizeof csv_keys / sizeof *csv_keys);
  if (optind < argc) {
    struct ov_disk_record rec = { 0 };
    r = ov_state_get_disk (sr.st, argv[optind], &rec);
    if (r != 0) {
      ov_cli_error ("status: %s: %s", argv[optind],
                    r == 1 ? "no such disk (see 'ovscan list')" : ov_last_error ());
      ov_state_close (sr.st);
      goto out;
    }
    status_disk (&sr, &rec);
    ov_disk_record_clear (&rec);
  }
  else if (ov_state_list_disks (sr.st, status_disk, &sr) == -1) {
    ov_cli_error ("status: %s", ov_last_error ());
    sr.status = OV_EXIT_ERROR;
  }
  if (sr.format == OV_REPORT_TEXT && version)
    printf ("signatures: %s\n", version);
  ov_state_close (sr.st);
  status = sr.status;
 out:
  ov_engine_options_free (&eo);
  return status;
}
