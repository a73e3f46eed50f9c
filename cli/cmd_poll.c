/* ovscan — `ovscan poll NAME... | --all`: one poll per disk (scanner/poll.c),
 * run unattended from cron or a systemd timer.
 *
 * - The engine is loaded at most once for the whole run, and only if a file
 *   needs scanning (a quiet fleet never pays the load).
 * - Each disk is polled under its lock (cli/disk_lock.c); a disk another
 *   run holds is skipped and said.  A disk that fails does not stop the others.
 * - Between disks: a SIGTERM/SIGINT (cli/signals.c) or a spent --max-time
 *   budget stops the run; the disks not polled keep their tracker state
 *   untouched (every write stays dirty for the next run) and are named.
 * - Output: text on a terminal; only detections and errors when standard
 *   output is not a terminal (cron mails only those); --json: JSON lines,
 *   one object per disk ("poll", "skipped", "error") and per detection
 *   ("detection"), keys in ovscan(1); --log syslog: a copy to syslog.
 * - --on-detect CMD runs once per new detection (cli/on_detect.c).
 * - Pieces: cli/poll_run.h (the run's state), cli/poll_events.c (what it
 *   reports), cli/poll_settings.c (each disk's settings).
 * - With --all, then the rolling rescan within --rescan-budget
 *   (cli/poll_rescan.c).
 * - Settings: defaults < config file (cli/config.c) < its [vm NAME] section
 *   < command line.
 * Exit status: 0 nothing found, 1 something found, 2 a disk failed or was
 * left unpolled (1 wins).
 */
#include "cli/poll_run.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/config.h"
#include "cli/fleet.h"
#include "cli/guest_refresh.h"
#include "cli/oplog.h"
#include "cli/poll_output.h"
#include "cli/poll_rescan.h"
#include "cli/signals.h"
#include "common/clock.h"
#include "common/error.h"
#include "db/inspection.h"
#include "fsmap/appliance.h"
#include "scanner/poll.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] [--config FILE] poll NAME... | --all [OPTIONS]\n"
"Find what changed on each disk since its last poll and scan only that.\n"
"The first poll of a disk, and any poll whose tracker lost track (bitmap\n"
"missing or left inconsistent by an unclean QEMU shutdown), is full.\n"
"\n"
"Options:\n"
"  -a, --all               every registered disk (but [vm NAME] skip = yes)\n"
"      --full              read and scan every file (re-arms the tracker)\n"
"      --max-time DURATION start no new disk after DURATION (e.g. 50m);\n"
"                          the rest stay dirty for the next run\n"
"      --rescan-budget SIZE|DURATION  with --all: then rescan files scanned\n"
"                          under older signatures, oldest first, up to SIZE\n"
"                          bytes (2G) or DURATION (10m); 0 = none (default "
OV_DEFAULT_RESCAN_BUDGET ")\n"
"      --on-detect CMD     run CMD once per new detection, details in\n"
"                          OVSCAN_* environment variables (no shell)\n"
"      --exclude GLOB      list but do not scan files whose guest path\n"
"                          matches GLOB (repeatable; as scan --exclude)\n"
"      --json              JSON lines: one object per disk and per detection\n"
"      --log syslog|stderr also send the run's events to syslog\n"
"  -q, --quiet             only detections and errors (the default when\n"
"                          standard output is not a terminal)\n"
"  -v, --verbose           each disk's poll and dirty files, even in a pipe\n"
OV_ENGINE_OPTIONS_HELP
"  -h, --help              show this help\n"
"\n"
"Exit status: 0 nothing found, 1 something found, 2 a disk could not be\n"
"polled (failed, or left by --max-time or a signal) or part of it not\n"
"scanned.\n");
}

/* Poll one registered disk whose lock this process holds.  The record is
 * read under the lock: another run may have just committed a poll. */
static void
poll_locked (struct ov_poll_run *run, const char *name, bool force_full)
{
  struct ov_disk_record rec = { 0 };
  struct ov_poll_outcome out;
  struct ov_poll_record p;
  struct ov_poll_options options;
  struct ov_poll_disk_ctx d = { .run = run, .rec = &rec };
  ov_cli_strings excludes = VECTOR_INIT;
  uint64_t base_infected;
  int r;

  r = ov_state_get_disk (run->st, name, &rec);
  if (r != 0) {
    ov_poll_run_error (run, "poll: %s: %s", name, r == 1 ? "removed meanwhile" : ov_last_error ());
    if (run->json)
      ov_poll_json_disk_line ("error", name, "error", r == 1 ? "removed meanwhile" : ov_last_error ());
    return;
  }
  if (ov_poll_disk_options (run, name, &options, &d.on_detect, &excludes) == -1) {
    ov_poll_run_error (run, "%s: out of memory", name);
    ov_cli_strings_reset (&excludes);
    ov_disk_record_clear (&rec);
    return;
  }
  options.force_full = force_full;
  ov_signals_set_current (rec.name);
  base_infected = 0;
  r = 0;
  if (strcmp (rec.tracker, "layers") == 0)      /* cli/fleet_poll.c */
    r = ov_fleet_before_poll (run->st, &rec, &options, ov_poll_on_warning, &d, &base_infected);
  if (r == 0)
    r = ov_poll_disk (run->st, &rec, &options, ov_poll_on_warning, &d, &out);
  if (r == 0 && strcmp (rec.tracker, "layers") == 0)
    ov_fleet_after_poll (run->st, &rec, ov_poll_on_warning, &d);
  if (base_infected)
    run->status = OV_EXIT_INFECTED;
  ov_signals_set_current (NULL);
  ov_cli_strings_reset (&excludes);
  if (r == -1) {
    char why[4096];
    snprintf (why, sizeof why, "%s", ov_last_error ());
    ov_poll_run_error (run, "%s: poll failed, nothing recorded (the tracker still covers every write): %s",
               name, why);
    if (run->json)
      ov_poll_json_disk_line ("error", name, "error", why);
    ov_disk_record_clear (&rec);
    return;
  }
  run->polled++;
  /* Inspected disks: a changed /etc/fstab re-inspects; guest paths. */
  if (ov_guest_refresh_after_poll (run->st, &rec, out.poll_id) == -1)
    ov_poll_run_error (run, "%s: guest inspection: %s", name, ov_last_error ());
  d.have_guest = ov_state_get_inspection (run->st, rec.id, &d.guest, NULL) == 0;
  if (ov_state_get_poll (run->st, out.poll_id, &p) == 0) {
    d.poll = &p;
    if (run->json)
      ov_print_poll (run->st, name, &p, out.walked, OV_REPORT_JSON);
    else if (!run->quiet)
      ov_print_poll (run->st, name, &p, out.walked, OV_REPORT_TEXT);
    ov_oplog (LOG_INFO, "%s: poll %" PRId64 ", %s, %" PRIu64 " dirty bytes, %" PRIu64
              " scanned, %" PRIu64 " infected, %" PRIu64 " errors", name, p.id, p.mode,
              p.dirty_bytes, p.files_scanned, p.infected, p.errors);
    if (out.infected &&
        ov_state_list_poll_files (run->st, p.id, ov_poll_detection_cb, &d) == -1)
      ov_poll_run_error (run, "%s: %s", name, ov_last_error ());
    ov_poll_record_clear (&p);
  }
  else
    ov_poll_run_error (run, "%s: %s", name, ov_last_error ());
  if (out.infected)
    run->status = OV_EXIT_INFECTED;
  else if ((out.errors || d.warnings) && run->status == OV_EXIT_CLEAN)
    run->status = OV_EXIT_ERROR;
  if (d.have_guest)
    ov_inspection_clear (&d.guest);
  ov_poll_outcome_clear (&out);
  ov_disk_record_clear (&rec);
}

/* Test hook: OVSCAN_TEST_POLL_DELAY=SECONDS holds each disk's lock that long
 * before its poll, so that the tests can overlap two runs or spend a
 * --max-time budget deterministically.  Unset (always, outside tests): one
 * getenv per disk. */
static void
test_hold_lock (void)
{
  const char *s = getenv ("OVSCAN_TEST_POLL_DELAY");
  double v = s ? strtod (s, NULL) : 0;
  struct timespec ts;
  if (v > 0 && v < 3600) {
    ts.tv_sec = (time_t) v;
    ts.tv_nsec = (long) ((v - (double) ts.tv_sec) * 1e9);
    nanosleep (&ts, NULL);
  }
}

/* Poll one disk under its lock; a disk another run is polling is skipped
 * (said on stderr, not an error).  Only names of registered disks reach
 * the lock file (they were validated by `add`). */
static void
poll_one (struct ov_poll_run *run, const char *name, bool force_full)
{
  struct ov_disk_record rec = { 0 };
  int r, lock;

  r = ov_state_get_disk (run->st, name, &rec);
  ov_disk_record_clear (&rec);
  if (r != 0) {
    if (r == 1)
      ov_poll_run_error (run, "poll: no disk named '%s' (see 'ovscan list')", name);
    else
      ov_poll_run_error (run, "poll: %s: %s", name, ov_last_error ());
    if (run->json)
      ov_poll_json_disk_line ("error", name, "error", r == 1 ? "no such disk" : ov_last_error ());
    return;
  }
  lock = ov_disk_lock (run->st, name);
  if (lock == -2) {
    fprintf (stderr, "%s: %s: skipped: another ovscan is polling it\n",
             ov_program_name, name);
    ov_oplog (LOG_NOTICE, "%s: skipped: another ovscan is polling it", name);
    if (run->json)
      ov_poll_json_disk_line ("skipped", name, "reason", "locked");
    return;
  }
  if (lock == -1) {
    ov_poll_run_error (run, "poll: %s: %s", name, ov_last_error ());
    if (run->json)
      ov_poll_json_disk_line ("error", name, "error", ov_last_error ());
    return;
  }
  test_hold_lock ();
  poll_locked (run, name, force_full);
  close (lock);
}

/* Every image of this run is attached when the libguestfs appliance starts
 * (only if an XFS walk needs it: fsmap/appliance.h), so that it starts at
 * most once per run.  Registering starts nothing. */
static void
register_appliance_drives (struct ov_poll_run *run, const ov_cli_strings *names)
{
  size_t i;

  for (i = 0; i < names->len; i++) {
    struct ov_disk_record rec = { 0 };
    if (ov_state_get_disk (run->st, names->ptr[i], &rec) == 0
        && rec.image && !ov_disk_target_is_uri (rec.image)
        && strncmp (rec.image, "qmp:", 4) != 0)
      ov_appliance_register (rec.image, rec.format);
    ov_disk_record_clear (&rec);
  }
}

/* The appliance's share of the run, if it was started (XFS walks). */
static void
report_appliance (const struct ov_poll_run *run)
{
  struct ov_appliance_stats a;

  ov_appliance_get_stats (&a);
  if (a.launches == 0)
    return;
  if (run->json)
    printf ("{\"type\":\"appliance\",\"launches\":%u,\"launch_seconds\":%.3f,"
            "\"busy_seconds\":%.3f}\n", a.launches, a.launch_seconds,
            a.busy_seconds);
  else if (!run->quiet)
    printf ("libguestfs appliance: started %u time(s) in %.1f s, busy %.1f s\n",
            a.launches, a.launch_seconds, a.busy_seconds);
}

/* Why no new disk may start, or NULL. */
static const char *
stop_reason (const struct ov_poll_run *run, char *buf, size_t len)
{
  int sig = ov_stop_signal ();
  if (sig) {
    snprintf (buf, len, "%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return buf;
  }
  if (run->max_time > 0 && ov_monotonic_seconds () - run->started >= run->max_time) {
    snprintf (buf, len, "--max-time %gs spent", run->max_time);
    return buf;
  }
  return NULL;
}

/* Name the disks a stopped run leaves for the next one. */
static void
report_left (struct ov_poll_run *run, const char *why, const char *const *names,
             size_t n, size_t total)
{
  size_t i, len = 0;
  char *list;

  for (i = 0; i < n; i++)
    len += strlen (names[i]) + 2;
  list = calloc (1, len + 1);
  for (i = 0; list && i < n; i++) {
    if (i)
      strcat (list, ", ");
    strcat (list, names[i]);
  }
  ov_poll_run_error (run, "%s after %zu of %zu disks; not polled, left dirty for the next run: %s",
             why, total - n, total, list ? list : "(out of memory)");
  free (list);
  for (i = 0; run->json && i < n; i++)
    ov_poll_json_disk_line ("skipped", names[i], "reason",
                    ov_stop_signal () ? "signal" : "max-time");
}

struct collect {
  ov_cli_strings *names;
  bool all;
};

static int
collect_name (void *opaque, const struct ov_disk_record *r)
{
  struct collect *c = opaque;
  const struct ov_config_vm *vm = ov_config_find_vm (r->name);
  char *s;

  if (c->all && vm && vm->skip)
    return 0;
  if (c->all && strcmp (r->tracker, "base") == 0)
    return 0;                    /* scanned once, for its VMs (cli/fleet_poll.c) */
  s = strdup (r->name);
  if (s == NULL || ov_cli_strings_append (c->names, s) == -1) {
    free (s);
    return -1;
  }
  return 0;
}

enum {
  OPT_FULL = OV_OPT_FIRST_COMMAND_OPTION, OPT_JSON, OPT_MAX_TIME, OPT_LOG,
  OPT_ON_DETECT, OPT_EXCLUDE, OPT_RESCAN_BUDGET,
};

int
ov_cmd_poll (int argc, char **argv)
{
  static const struct option long_options[] = {
    OV_ENGINE_LONG_OPTIONS,
    { "all", no_argument, NULL, 'a' },
    { "full", no_argument, NULL, OPT_FULL },
    { "json", no_argument, NULL, OPT_JSON },
    { "max-time", required_argument, NULL, OPT_MAX_TIME },
    { "log", required_argument, NULL, OPT_LOG },
    { "on-detect", required_argument, NULL, OPT_ON_DETECT },
    { "exclude", required_argument, NULL, OPT_EXCLUDE },
    { "rescan-budget", required_argument, NULL, OPT_RESCAN_BUDGET },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_poll_run run = { .status = OV_EXIT_ERROR };
  ov_cli_strings names = VECTOR_INIT;
  struct collect collect = { .names = &names };
  struct ov_poll_rescan rescan = { .off = false };
  bool force_full = false, cmdline_threads = false;
  int c, r, quiet = -1, log_syslog = -1;
  size_t i;

  ov_engine_options_init (&run.eo);
  optind = 1;
  while ((c = getopt_long (argc, argv, OV_ENGINE_SHORT_OPTIONS "ahqv",
                           long_options, NULL)) != -1) {
    if ((r = ov_engine_option (&run.eo, c, optarg)) == -1)
      goto done;
    if (r == 1) {
      run.cmdline_filesize |= c == OV_OPT_MAX_FILESIZE;
      run.cmdline_scansize |= c == OV_OPT_MAX_SCANSIZE;
      cmdline_threads |= c == 'j';
      continue;
    }
    switch (c) {
    case 'a': collect.all = true; break;
    case OPT_FULL: force_full = true; break;
    case OPT_JSON: run.json = true; break;
    case OPT_MAX_TIME:
      if (ov_parse_duration (optarg, &run.max_time) == -1) {
        ov_cli_error ("--max-time: %s", ov_last_error ());
        goto done;
      }
      break;
    case OPT_LOG:
      if (strcmp (optarg, "syslog") != 0 && strcmp (optarg, "stderr") != 0) {
        ov_cli_error ("--log: expected syslog or stderr, got '%s'", optarg);
        goto done;
      }
      log_syslog = strcmp (optarg, "syslog") == 0;
      break;
    case OPT_ON_DETECT: run.on_detect = optarg; break;
    case OPT_EXCLUDE:
      if (ov_cli_strings_append (&run.excludes, optarg) == -1) {
        ov_cli_error ("out of memory");
        goto done;
      }
      break;
    case OPT_RESCAN_BUDGET:
      if (ov_poll_rescan_option (&rescan, optarg) == -1)
        goto done;
      break;
    case 'q': quiet = 1; break;
    case 'v': quiet = 0; break;
    case 'h': usage (stdout); run.status = OV_EXIT_CLEAN; goto done;
    default: fprintf (stderr, "Try 'ovscan poll --help'.\n"); goto done;
    }
  }
  if (collect.all == (optind < argc)) {
    ov_cli_error ("poll: give disk NAMEs or --all (not both)");
    goto done;
  }
  if (ov_poll_apply_config (&run, cmdline_threads) == -1) {
    ov_cli_error ("out of memory");
    goto done;
  }
  if (run.max_time == 0)
    run.max_time = ov_config.max_time;
  run.quiet = quiet == -1 ? !isatty (STDOUT_FILENO) : quiet;
  ov_oplog_open (log_syslog == -1 ? ov_config.log_syslog : log_syslog);
  ov_engine_options_finish (&run.eo);
  ov_poll_engine_limits_cover_vms (&run);
  run.engine.options = &run.eo.sigs;
  run.started = ov_monotonic_seconds ();
  ov_signals_install ();
  if ((run.st = ov_cli_open_state ()) == NULL)
    goto done;
  if (collect.all) {
    if (ov_state_list_disks (run.st, collect_name, &collect) == -1) {
      ov_cli_error ("poll: %s", ov_last_error ());
      goto done;
    }
  }
  else {
    for (i = optind; i < (size_t) argc; i++) {
      char *s = strdup (argv[i]);
      if (s == NULL || ov_cli_strings_append (&names, s) == -1) {
        free (s);
        goto done;
      }
    }
  }
  run.status = OV_EXIT_CLEAN;
  register_appliance_drives (&run, &names);
  for (i = 0; i < names.len; i++) {
    char why[64];
    if (stop_reason (&run, why, sizeof why)) {
      report_left (&run, why, names.ptr + i, names.len - i, names.len);
      break;
    }
    poll_one (&run, names.ptr[i], force_full);
  }
  report_appliance (&run);
  if (collect.all && i == names.len) {
    char why[64];
    /* The rolling rescan is new work too: not after a signal or a spent
     * budget (its files stay stale for the next run). */
    if (stop_reason (&run, why, sizeof why)) {
      if (!run.quiet)
        fprintf (stderr, "%s: %s: rolling rescan not started\n", ov_program_name, why);
    }
    else {
      rescan.json = run.json;
      rescan.quiet = run.quiet;
      rescan.on_detect = run.on_detect;     /* else per disk, as a poll */
      if (run.max_time > 0)
        rescan.time_left = run.max_time - (ov_monotonic_seconds () - run.started);
      ov_poll_rescan_run (run.st, &rescan, &run.eo, &run.engine, &run.status);
    }
  }
  if (!run.quiet && !run.json && names.len > 1)
    printf ("%u of %zu disks polled in %.2f s; engine %s; %u new detections\n",
            run.polled, names.len, ov_monotonic_seconds () - run.started,
            run.engine.loaded ? "loaded" : "not loaded", run.new_detections);

 done:
  for (i = 0; i < names.len; i++)
    free ((char *) names.ptr[i]);
  ov_cli_strings_reset (&names);
  if (run.st)
    ov_state_close (run.st);
  ov_engine_loader_free (&run.engine);
  ov_engine_options_free (&run.eo);
  ov_cli_strings_reset (&run.excludes);
  ov_oplog_close ();
  return run.status;
}
