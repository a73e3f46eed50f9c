/* ovscan — entry point: global options and subcommand dispatch. */
#include "cli/cli.h"
#include "cli/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>

const char *ov_program_name = "ovscan";

struct subcommand {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
};

static const struct subcommand subcommands[] = {
  { "scan", ov_cmd_scan, "scan every file of a VM disk image or NBD export" },
  { "add", ov_cmd_add, "register a VM disk image for polling" },
  { "poll", ov_cmd_poll, "scan what changed on registered disks since their last poll" },
  { "report", ov_cmd_report, "show the dirty files of a poll" },
  { "list", ov_cmd_list, "list registered disks" },
  { "remove", ov_cmd_remove, "forget a registered disk" },
  { "status", ov_cmd_status, "per disk: last poll, tracker, detections, signature coverage" },
  { "sigs", ov_cmd_sigs, "show the loaded signature databases and their versions" },
  { "inspect", ov_cmd_inspect, "identify the guest OS and its mountpoints" },
};

void
ov_cli_error (const char *fmt, ...)
{
  va_list ap;
  fprintf (stderr, "%s: ", ov_program_name);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

static void
usage (FILE *fp)
{
  size_t i;
  fprintf (fp,
           "Usage: ovscan [--state DB] [--config FILE] COMMAND [OPTIONS] ...\n"
           "Scan virtual machine disks for malware from outside the VM.\n"
           "\n"
           "Commands:\n");
  for (i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    fprintf (fp, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf (fp,
           "\n"
           "Options:\n"
           "      --state DB state database (default /var/lib/ovscan/state.db for\n"
           "                 root, else $XDG_STATE_HOME/ovscan/state.db)\n"
           "      --config FILE  configuration file (default " OV_DEFAULT_CONFIG ";\n"
           "                 command-line options override it)\n"
           "  -h, --help     show this help (ovscan COMMAND --help for a command)\n"
           "  -V, --version  show the version of ovscan and of libclamav\n"
           "\n"
           "Exit status: 0 nothing found, 1 something found, 2 an error.\n"
           "See ovscan(1).\n");
}

int
main (int argc, char **argv)
{
  const char *config_path = NULL;
  size_t i;

  /* Global options before the command. */
  while (argc >= 2) {
    const char **slot = NULL;
    size_t n = 0;
    if (strncmp (argv[1], "--state", 7) == 0)
      slot = &ov_state_path, n = 7;
    else if (strncmp (argv[1], "--config", 8) == 0)
      slot = &config_path, n = 8;
    if (slot && argv[1][n] == '=') {
      *slot = argv[1] + n + 1;
      argc -= 1, argv += 1;
    }
    else if (slot && argv[1][n] == '\0' && argc >= 3) {
      *slot = argv[2];
      argc -= 2, argv += 2;
    }
    else
      break;
  }
  if (argc < 2) {
    usage (stderr);
    return OV_EXIT_ERROR;
  }
  if (strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0 ||
      strcmp (argv[1], "help") == 0) {
    usage (stdout);
    return OV_EXIT_CLEAN;
  }
  if (strcmp (argv[1], "-V") == 0 || strcmp (argv[1], "--version") == 0) {
    printf ("ovscan %s (libclamav %s)\n", OVSCAN_VERSION, cl_retver ());
    return OV_EXIT_CLEAN;
  }
  /* The configuration file (cli/config.h): --state wins over its state. */
  if (ov_config_load (config_path ? config_path : OV_DEFAULT_CONFIG,
                      config_path != NULL) == -1)
    return OV_EXIT_ERROR;
  if (ov_state_path == NULL)
    ov_state_path = ov_config.state;
  for (i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    if (strcmp (argv[1], subcommands[i].name) == 0)
      return subcommands[i].run (argc - 1, argv + 1);
  ov_cli_error ("unknown command '%s' (try 'ovscan --help')", argv[1]);
  return OV_EXIT_ERROR;
}
