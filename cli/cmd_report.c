/* ovscan — `ovscan report dirty NAME [--poll ID]`: the dirty-file list of a
 * committed poll (the last one by default), as a table, JSON or CSV. */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/poll_output.h"
#include "common/error.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] report dirty NAME [--poll ID] [--json|--csv]\n"
"The files a poll found changed (new, modified, deleted, renamed, metadata)\n"
"and their verdicts; the last poll of NAME unless --poll is given.\n");
}

struct last_poll { int64_t id; };

static int
first_poll_cb (void *opaque, const struct ov_poll_record *p)
{
  struct last_poll *lp = opaque;
  lp->id = p->id;
  return -1;                    /* newest first: stop after one */
}

enum { OPT_POLL = OV_OPT_FIRST_COMMAND_OPTION, OPT_JSON, OPT_CSV };

int
ov_cmd_report (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "poll", required_argument, NULL, OPT_POLL },
    { "json", no_argument, NULL, OPT_JSON },
    { "csv", no_argument, NULL, OPT_CSV },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  enum ov_report_format format = OV_REPORT_TEXT;
  struct ov_disk_record rec = { 0 };
  struct ov_poll_record p;
  struct last_poll lp = { 0 };
  struct ov_state *st = NULL;
  int64_t poll_id = 0;
  int c, r, status = OV_EXIT_ERROR;
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
    case OPT_JSON: format = OV_REPORT_JSON; break;
    case OPT_CSV: format = OV_REPORT_CSV; break;
    case 'h': usage (stdout); return OV_EXIT_CLEAN;
    default: fprintf (stderr, "Try 'ovscan report --help'.\n"); return OV_EXIT_ERROR;
    }
  }
  if (argc - optind != 2 || strcmp (argv[optind], "dirty") != 0) {
    ov_cli_error ("report: expected 'dirty NAME'");
    usage (stderr);
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  r = ov_state_get_disk (st, argv[optind + 1], &rec);
  if (r != 0) {
    ov_cli_error ("report: %s", r == 1 ? "no such disk (see 'ovscan list')" : ov_last_error ());
    goto out;
  }
  if (poll_id == 0) {
    ov_state_list_polls (st, rec.id, first_poll_cb, &lp);
    if ((poll_id = lp.id) == 0) {
      ov_cli_error ("report: %s has not been polled yet", rec.name);
      goto out;
    }
  }
  r = ov_state_get_poll (st, poll_id, &p);
  if (r != 0 || p.disk_id != rec.id) {
    ov_cli_error ("report: %s has no poll %" PRId64, rec.name, poll_id);
    if (r == 0)
      ov_poll_record_clear (&p);
    goto out;
  }
  if (format == OV_REPORT_CSV)
    ov_print_csv_header ();
  if (ov_print_poll (st, rec.name, &p, NULL, format) == 0)
    status = OV_EXIT_CLEAN;
  else
    ov_cli_error ("report: %s", ov_last_error ());
  ov_poll_record_clear (&p);
 out:
  ov_disk_record_clear (&rec);
  ov_state_close (st);
  return status;
}
