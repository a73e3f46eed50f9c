/* ovscan — the libnbd disk backend, as seen by the generic wrappers in
 * disk.c and by the unit tests.  Not for other modules: they use disk.h.
 */
#ifndef OVSCAN_BACKENDS_DISK_NBD_H
#define OVSCAN_BACKENDS_DISK_NBD_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/disk.h"

extern const struct ov_disk_ops ov_disk_nbd_ops;

/* Connect to TARGET (an image path when !is_uri, else an NBD URI) and
 * return the backend handle, with the export size in *size.  NULL +
 * ov_error on failure; the message does not repeat TARGET (the caller
 * prefixes it). */
void *ov_disk_nbd_open (const char *target, bool is_uri,
                        const struct ov_disk_options *options,
                        uint64_t *size);

/* The qemu-nbd command line for a local image, wrapped in /bin/sh so that
 * qemu-nbd's stderr goes to errfile.  NULL-terminated, malloc'd array of
 * malloc'd strings (free with ov_disk_nbd_free_argv), or NULL + ov_error.
 * Exposed for the unit tests. */
char **ov_disk_nbd_qemu_argv (const char *path,
                              const struct ov_disk_options *options,
                              const char *errfile);
void ov_disk_nbd_free_argv (char **argv);

/* Seconds to wait for a connection or one request when options->timeout
 * is 0. */
#define OV_DISK_DEFAULT_TIMEOUT 60

#endif
