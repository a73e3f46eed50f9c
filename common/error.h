/* ovscan — one error convention for the whole program.
 *
 * A function that fails returns -1 or NULL and records a message here with
 * ov_error().  The message is thread-local (each scan worker has its own), so
 * a worker's failure never overwrites another's.  Callers add context from the
 * outside in with ov_error_prefix(): "image.qcow2: p2 (ntfs): inode 37: read
 * failed at offset 123: ...".  The CLI prints ov_last_error().
 */
#ifndef OVSCAN_COMMON_ERROR_H
#define OVSCAN_COMMON_ERROR_H

#include <stdarg.h>

/* Replace the current thread's error message. */
void ov_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Same, followed by ": strerror(errnum)". */
void ov_error_errno (int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Prepend "CONTEXT: " to the current message (or set it if none). */
void ov_error_prefix (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

/* The current thread's last message; "unknown error" if none was recorded. */
const char *ov_last_error (void);

void ov_error_clear (void);

#endif
