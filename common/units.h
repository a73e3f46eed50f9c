/* ovscan — parsing and printing sizes and durations given by users. */
#ifndef OVSCAN_COMMON_UNITS_H
#define OVSCAN_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "4096", "100K", "100M", "2G", "1T" (binary multiples; an optional trailing
 * "B" or "iB" is accepted).  -1 + ov_error on anything else or overflow. */
int ov_parse_size (const char *s, uint64_t *out);

/* "90", "90s", "90sec", "15m", "15min", "2h", "1d", "1.5h" -> seconds
 * (> 0, at most OV_MAX_DURATION): --max-time, on-detect-timeout,
 * --rescan-budget, report --since.  Units are lower case only ("5M" is a
 * size).  -1 + ov_error ("bad duration ...") on anything else. */
#define OV_MAX_DURATION (365.0 * 86400)
int ov_parse_duration (const char *s, double *seconds);

/* "1.5 GiB", "12.0 MiB", "512 B" into buf. */
const char *ov_format_size (uint64_t bytes, char *buf, size_t len);

#endif
