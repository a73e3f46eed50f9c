/* ovscan — scanner/ internals shared between its files and its unit tests. */
#ifndef OVSCAN_SCANNER_INTERNAL_H
#define OVSCAN_SCANNER_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "scanner/scanner.h"

/* Read up to count bytes at offset; short only at end of stream; -1 +
 * ov_error on failure. */
typedef ssize_t (*ov_scan_read_fn) (void *opaque, void *buf, size_t count,
                                    uint64_t offset);

/* The body of ov_scan_file(): scan a stream of `size` bytes that libclamav
 * pulls through `read`.  Fills *result (never fails as a whole). */
void ov_scan_stream (const struct cl_engine *engine,
                     const struct ov_scan_limits *limits, uint64_t size,
                     ov_scan_read_fn read, void *opaque,
                     struct ov_scan_result *result);

/* clamscan 1.4's default scan options (see scan_stream.c). */
struct cl_scan_options;
void ov_scan_default_options (struct cl_scan_options *options);

#endif
