/* ovscan — parsing and printing sizes and durations given by users. */
#ifndef OVSCAN_COMMON_UNITS_H
#define OVSCAN_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "4096", "100K", "100M", "2G", "1T" (binary multiples; an optional trailing
 * "B" or "iB" is accepted).  -1 + ov_error on anything else or overflow. */
int ov_parse_size (const char *s, uint64_t *out);

/* "1.5 GiB", "12.0 MiB", "512 B" into buf. */
const char *ov_format_size (uint64_t bytes, char *buf, size_t len);

#endif
