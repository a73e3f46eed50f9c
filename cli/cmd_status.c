/* ovscan — `ovscan status` (not written yet). */
#include "cli/cli.h"

int
ov_cmd_status (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  fprintf (stderr, "%s: status: not implemented yet\n", ov_program_name);
  return OV_EXIT_ERROR;
}
