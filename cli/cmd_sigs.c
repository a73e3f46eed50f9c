/* ovscan — `ovscan sigs` (not written yet). */
#include "cli/cli.h"

int
ov_cmd_sigs (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  fprintf (stderr, "%s: sigs: not implemented yet\n", ov_program_name);
  return OV_EXIT_ERROR;
}
