/* ovscan — one poll per disk at a time, across processes.
 *
 * Two overlapping runs (cron firing while a long poll still runs) must never
 * poll the same disk at once: the second would take the first's fresh
 * successor bitmap for a stale leftover.  Each disk has a lock file
 * STATE.locks/NAME (STATE = the state database's path) held with
 * flock(LOCK_EX|LOCK_NB) for the whole poll; the kernel drops it when the
 * process dies, so a killed poll never leaves a disk locked.  A run that
 * finds a disk locked skips it and says so.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "db/state.h"

int
ov_disk_lock (struct ov_state *st, const char *name)
{
  char dir[4096], path[4200];
  int fd;

  if (snprintf (dir, sizeof dir, "%s.locks", ov_state_file (st)) >= (int) sizeof dir) {
    ov_error ("%s: state path too long for a lock directory", ov_state_file (st));
    return -1;
  }
  if (mkdir (dir, 0700) == -1 && errno != EEXIST) {
    ov_error_errno (errno, "%s: mkdir", dir);
    return -1;
  }
  snprintf (path, sizeof path, "%s/%s", dir, name);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd == -1) {
    ov_error_errno (errno, "%s: open", path);
    return -1;
  }
  if (flock (fd, LOCK_EX | LOCK_NB) == -1) {
    int e = errno;
    close (fd);
    if (e == EWOULDBLOCK)
      return -2;
    ov_error_errno (e, "%s: flock", path);
    return -1;
  }
  return fd;
}
