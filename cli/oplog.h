/* ovscan — `--log syslog`: the run's events also go to syslog(3) (the
 * journal), facility daemon, ident "ovscan" (cli/oplog.c). */
#ifndef OVSCAN_CLI_OPLOG_H
#define OVSCAN_CLI_OPLOG_H

#include <stdbool.h>
#include <syslog.h>

void ov_oplog_open (bool to_syslog);
/* PRIORITY: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO.  A no-op unless
 * syslog was enabled.  Guest strings must be quoted by the caller. */
void ov_oplog (int priority, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
void ov_oplog_close (void);

#endif
