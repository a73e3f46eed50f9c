/* ovscan — `ovscan inspect` (not written yet). */
#include "cli/cli.h"

int
ov_cmd_inspect (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  fprintf (stderr, "%s: inspect: not implemented yet\n", ov_program_name);
  return OV_EXIT_ERROR;
}
