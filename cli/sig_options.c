/* ovscan — signature options for status and sigs (see sig_options.h). */
#include "cli/sig_options.h"

#include "cli/config.h"

int
ov_sig_options_finish (struct ov_engine_options *eo)
{
  if (eo->databases.len == 0)
    for (size_t i = 0; i < ov_config.databases.len; i++)
      if (ov_cli_strings_append (&eo->databases, ov_config.databases.ptr[i]) == -1) {
        ov_cli_error ("out of memory");
        return -1;
      }
  if (ov_config.test_signatures)
    eo->sigs.test_signatures = true;
  ov_engine_options_finish (eo);
  return 0;
}
