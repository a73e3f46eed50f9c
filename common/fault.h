/* ovscan — crash-injection points for the crash-safety tests.
 *
 * ov_fault_point ("after-arm") kills the process with SIGKILL — exactly what
 * an OOM killer or an operator's kill -9 does — when the environment variable
 * OVSCAN_FAULT names that point.  The points are listed in scanner/poll.c,
 * where each marks a step of the tracker hand-over.  Unset (always, outside
 * tests), a point costs one getenv.
 */
#ifndef OVSCAN_COMMON_FAULT_H
#define OVSCAN_COMMON_FAULT_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static inline void
ov_fault_point (const char *name)
{
  const char *want = getenv ("OVSCAN_FAULT");
  if (want && strcmp (want, name) == 0)
    raise (SIGKILL);
}

#endif
