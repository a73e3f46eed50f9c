/* ovscan — the run's events in syslog (see cli/oplog.h).  Standard output
 * and standard error are unchanged; syslog is an extra copy for the
 * journal or a log host.  Cost: one syslog(3) call per event (per disk,
 * detection and error), none when disabled. */
#include "cli/oplog.h"

#include <stdarg.h>

static bool enabled;

void
ov_oplog_open (bool to_syslog)
{
  enabled = to_syslog;
  if (enabled)
    openlog ("ovscan", LOG_PID, LOG_DAEMON);
}

void
ov_oplog (int priority, const char *fmt, ...)
{
  va_list ap;
  if (!enabled)
    return;
  va_start (ap, fmt);
  vsyslog (priority, fmt, ap);
  va_end (ap);
}

void
ov_oplog_close (void)
{
  if (enabled)
    closelog ();
  enabled = false;
}
