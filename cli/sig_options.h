/* ovscan — the signature paths a command that does not scan (status, sigs)
 * must use to name the current signatures: its -d/--test-signatures, else
 * the configuration file's, as `poll` would (cli/sig_options.c). */
#ifndef OVSCAN_CLI_SIG_OPTIONS_H
#define OVSCAN_CLI_SIG_OPTIONS_H

#include "cli/cli.h"

/* Fill eo's databases from the config file when none were given, add its
 * test_signatures, then ov_engine_options_finish.  -1 on ENOMEM (printed). */
int ov_sig_options_finish (struct ov_engine_options *eo);

#endif
