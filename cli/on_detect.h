/* ovscan — `poll --on-detect CMD`: one command per new detection
 * (cli/on_detect.c). */
#ifndef OVSCAN_CLI_ON_DETECT_H
#define OVSCAN_CLI_ON_DETECT_H

#include <stdint.h>

/* Seconds a command may run before it is killed (default). */
#define OV_ON_DETECT_TIMEOUT 60

struct ov_detection {
  const char *vm, *image, *fs, *path, *signature, *change, *sig_version;
  int64_t poll_id;
  uint64_t inode, size;
  double timeout;              /* seconds; 0: OV_ON_DETECT_TIMEOUT */
};

/* Run CMD (split at blanks into a program and its arguments, no shell) with
 * the detection in OVSCAN_* environment variables, and wait for it (at most
 * d->timeout s, then SIGKILL).  0 if it exited 0, else -1 +
 * ov_error saying why. */
int ov_on_detect_run (const char *cmd, const struct ov_detection *d);

#endif
