/* ovscan — the options every scanning command shares (scan, poll):
 * signatures, size limits, threads.  One parser, so they mean the same
 * everywhere. */
#include "cli/cli.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"

void
ov_engine_options_init (struct ov_engine_options *o)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  o->databases = (ov_cli_strings) VECTOR_INIT;
  o->sigs = (struct ov_sigs_options) { 0 };
  o->limits = (struct ov_scan_limits) { .max_filesize = OV_DEFAULT_MAX_FILESIZE,
                                        .max_scansize = OV_DEFAULT_MAX_SCANSIZE };
  o->threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned) n;
}

int
ov_engine_option (struct ov_engine_options *o, int c, const char *arg)
{
  char *end;
  long n;

  switch (c) {
  case 'd':
    if (ov_cli_strings_append (&o->databases, arg) == -1) {
      ov_cli_error ("out of memory");
      return -1;
    }
    return 1;
  case OV_OPT_TEST_SIGS:
    o->sigs.test_signatures = true;
    return 1;
  case OV_OPT_MAX_FILESIZE:
  case OV_OPT_MAX_SCANSIZE:
    if (ov_parse_size (arg, c == OV_OPT_MAX_FILESIZE ? &o->limits.max_filesize
                                                      : &o->limits.max_scansize) == -1) {
      ov_cli_error ("%s", ov_last_error ());
      return -1;
    }
    return 1;
  case 'j':
    n = strtol (arg, &end, 10);
    if (*end || n < 1 || n > 64) {
      ov_cli_error ("--threads: expected a number from 1 to 64, got '%s'", arg);
      return -1;
    }
    o->threads = (unsigned) n;
    return 1;
  }
  return 0;
}

void
ov_engine_options_finish (struct ov_engine_options *o)
{
  o->sigs.databases = o->databases.ptr;
  o->sigs.ndatabases = o->databases.len;
  o->sigs.max_filesize = o->limits.max_filesize;
  o->sigs.max_scansize = o->limits.max_scansize;
}

void
ov_engine_options_free (struct ov_engine_options *o)
{
  ov_cli_strings_reset (&o->databases);
}
