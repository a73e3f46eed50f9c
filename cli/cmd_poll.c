/* ovscan — `ovscan poll NAME... | --all`: one poll per disk (scanner/poll.c),
 * the engine loaded at most once for the whole run and only if a file needs
 * scanning.  A disk that fails does not stop the others. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/poll_output.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "scanner/poll.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] poll NAME... | --all [OPTIONS]\n"
"Find what changed on each disk since its last poll and scan only that.\n"
"The first poll of a disk, and any poll whose tracker lost track (bitmap\n"
"missing or left inconsistent by an unclean QEMU shutdown), is full.\n"
"\n"
"Options:\n"
"  -a, --all               every registered disk\n"
"      --full              read and scan every file (re-arms the tracker)\n"
"      --json              one JSON object per disk (see ovscan(1))\n"
OV_ENGINE_OPTIONS_HELP
"  -h, --help              show this help\n"
"\n"
"Exit status: 0 nothing found, 1 something found, 2 a disk could not be\n"
"polled or part of it not scanned.\n");
}

struct poll_run {
  const char *vm;
  bool json;
  int warnings;
};

static void
on_warning (void *opaque, bool is_error, const char *message)
{
  struct poll_run *run = opaque;
  if (is_error)
    run->warnings++;
  fprintf (stderr, "%s: %s: %s\n", ov_program_name, run->vm, message);
}

static int
detections_cb (void *opaque, const struct ov_poll_file *f)
{
  const char *vm = opaque;
  if (f->signature && strcmp (f->verdict, "infected") == 0) {
    CLEANUP_FREE char *q = ov_quote_path (f->path);
    printf ("%s: %s: %s FOUND\n", vm, q ? q : "?", f->signature);
  }
  return 0;
}

/* Poll one registered disk whose lock this process holds.  The record is
 * read under the lock: another run may have just committed a poll. */
static void
poll_locked (struct ov_state *st, const char *name,
             const struct ov_poll_options *options, bool json, int *status)
{
  struct ov_disk_record rec = { 0 };
  struct ov_poll_outcome out;
  struct ov_poll_record p;
  struct poll_run run = { .vm = name, .json = json };
  int r;

  r = ov_state_get_disk (st, name, &rec);
  if (r != 0) {
    ov_cli_error ("poll: %s: %s", name, r == 1 ? "removed meanwhile" : ov_last_error ());
    *status = OV_EXIT_ERROR;
    return;
  }
  if (ov_poll_disk (st, &rec, options, on_warning, &run, &out) == -1) {
    ov_cli_error ("%s: poll failed, nothing recorded (the tracker still covers every write): %s",
                  name, ov_last_error ());
    *status = OV_EXIT_ERROR;
    ov_disk_record_clear (&rec);
    return;
  }
  if (ov_state_get_poll (st, out.poll_id, &p) == 0) {
    ov_print_poll (st, name, &p, out.walked, json ? OV_REPORT_JSON : OV_REPORT_TEXT);
    if (!json)
      ov_state_list_poll_files (st, p.id, detections_cb, (void *) name);
    ov_poll_record_clear (&p);
  }
  if (out.infected)
    *status = OV_EXIT_INFECTED;
  else if ((out.errors || run.warnings) && *status == OV_EXIT_CLEAN)
    *status = OV_EXIT_ERROR;
  ov_poll_outcome_clear (&out);
  ov_disk_record_clear (&rec);
}

/* Poll one disk under its lock; a disk another run is polling is skipped
 * (said on stderr, not an error).  Only names of registered disks reach
 * the lock file (they were validated by `add`). */
static void
poll_one (struct ov_state *st, const char *name,
          const struct ov_poll_options *options, bool json, int *status)
{
  struct ov_disk_record rec = { 0 };
  int r, lock;

  r = ov_state_get_disk (st, name, &rec);
  ov_disk_record_clear (&rec);
  if (r != 0) {
    if (r == 1)
      ov_cli_error ("poll: no disk named '%s' (see 'ovscan list')", name);
    else
      ov_cli_error ("poll: %s: %s", name, ov_last_error ());
    *status = OV_EXIT_ERROR;
    return;
  }
  lock = ov_disk_lock (st, name);
  if (lock == -2) {
    fprintf (stderr, "%s: %s: skipped: another ovscan is polling it\n",
             ov_program_name, name);
    return;
  }
  if (lock == -1) {
    ov_cli_error ("poll: %s: %s", name, ov_last_error ());
    *status = OV_EXIT_ERROR;
    return;
  }
  poll_locked (st, name, options, json, status);
  close (lock);
}

static int
collect_name (void *opaque, const struct ov_disk_record *r)
{
  ov_cli_strings *names = opaque;
  char *s = strdup (r->name);
  if (s == NULL || ov_cli_strings_append (names, s) == -1) {
    free (s);
    return -1;
  }
  return 0;
}

enum { OPT_FULL = OV_OPT_FIRST_COMMAND_OPTION, OPT_JSON };

int
ov_cmd_poll (int argc, char **argv)
{
  static const struct option long_options[] = {
    OV_ENGINE_LONG_OPTIONS,
    { "all", no_argument, NULL, 'a' },
    { "full", no_argument, NULL, OPT_FULL },
    { "json", no_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_engine_options eo;
  struct ov_engine_loader engine = { 0 };
  struct ov_poll_options options = { 0 };
  ov_cli_strings names = VECTOR_INIT;
  struct ov_state *st = NULL;
  bool all = false, json = false;
  int c, r, status = OV_EXIT_ERROR;
  size_t i;

  ov_engine_options_init (&eo);
  optind = 1;
  while ((c = getopt_long (argc, argv, OV_ENGINE_SHORT_OPTIONS "ah",
                           long_options, NULL)) != -1) {
    if ((r = ov_engine_option (&eo, c, optarg)) == -1)
      goto done;
    if (r == 1)
      continue;
    switch (c) {
    case 'a': all = true; break;
    case OPT_FULL: options.force_full = true; break;
    case OPT_JSON: json = true; break;
    case 'h': usage (stdout); status = OV_EXIT_CLEAN; goto done;
    default: fprintf (stderr, "Try 'ovscan poll --help'.\n"); goto done;
    }
  }
  if (all == (optind < argc)) {
    ov_cli_error ("poll: give disk NAMEs or --all (not both)");
    goto done;
  }
  ov_engine_options_finish (&eo);
  engine.options = &eo.sigs;
  options.limits = eo.limits;
  options.workers = eo.threads;
  options.engine = &engine;
  if ((st = ov_cli_open_state ()) == NULL)
    goto done;
  if (all) {
    if (ov_state_list_disks (st, collect_name, &names) == -1) {
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
  status = OV_EXIT_CLEAN;
  for (i = 0; i < names.len; i++)
    poll_one (st, names.ptr[i], &options, json, &status);

 done:
  for (i = 0; i < names.len; i++)
    free ((char *) names.ptr[i]);
  ov_cli_strings_reset (&names);
  if (st)
    ov_state_close (st);
  ov_engine_loader_free (&engine);
  ov_engine_options_free (&eo);
  return status;
}
