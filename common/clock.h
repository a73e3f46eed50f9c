/* ovscan — clocks: monotonic seconds for durations, wall-clock seconds for
 * timestamps stored in the state database. */
#ifndef OVSCAN_COMMON_CLOCK_H
#define OVSCAN_COMMON_CLOCK_H

#include <time.h>

static inline double
ov_clock_seconds (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* For measuring durations (never jumps). */
static inline double ov_monotonic_seconds (void) { return ov_clock_seconds (CLOCK_MONOTONIC); }
/* Unix time, for records. */
static inline double ov_unix_seconds (void) { return ov_clock_seconds (CLOCK_REALTIME); }

#endif
