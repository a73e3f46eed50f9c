/* ovscan — thread-local last-error message (see error.h). */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Big enough for a path of a few thousand bytes plus context. */
#define OV_ERROR_MAX 8192

static __thread char last_error[OV_ERROR_MAX];

void
ov_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (last_error, sizeof last_error, fmt, ap);
  va_end (ap);
}

void
ov_error_errno (int errnum, const char *fmt, ...)
{
  va_list ap;
  size_t n;

  va_start (ap, fmt);
  vsnprintf (last_error, sizeof last_error, fmt, ap);
  va_end (ap);
  n = strlen (last_error);
  snprintf (last_error + n, sizeof last_error - n, ": %s", strerror (errnum));
}

void
ov_error_prefix (const char *fmt, ...)
{
  char prefix[OV_ERROR_MAX];
  char old[OV_ERROR_MAX];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  if (last_error[0] == '\0') {
    snprintf (last_error, sizeof last_error, "%s", prefix);
    return;
  }
  memcpy (old, last_error, sizeof old);
  /* Truncation of an over-long message is acceptable: the prefix survives. */
  {
    size_t n = strlen (prefix);
    if (n > sizeof last_error - 3)
      n = sizeof last_error - 3;
    memcpy (last_error, prefix, n);
    memcpy (last_error + n, ": ", 2);
    n += 2;
    {
      size_t m = strnlen (old, sizeof last_error - n - 1);
      memcpy (last_error + n, old, m);
      last_error[n + m] = '\0';
    }
  }
}

const char *
ov_last_error (void)
{
  return last_error[0] ? last_error : "unknown error";
}

void
ov_error_clear (void)
{
  last_error[0] = '\0';
}
