/* ovscan — rows of JSON lines or CSV for the report commands (report
 * detections, status, sigs, report dirty --since): one object per line /
 * one CSV record per row, the same keys in both, in the order written.
 *
 * Strings go through ov_quote_path first (guest names are raw bytes), so a
 * JSON string is valid UTF-8 and a CSV field never holds a raw newline.
 * CSV fields are always double-quoted ("" inside).  A NULL string is JSON
 * null and an empty CSV field.  A CSV text field that would start with
 * = + - @ TAB or CR (a spreadsheet formula: guest names reach these cells)
 * gets a leading apostrophe ('=cmd|...); JSON is unchanged.  Numbers are
 * written bare and are not text fields.
 */
#ifndef OVSCAN_CLI_TABLE_OUTPUT_H
#define OVSCAN_CLI_TABLE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/poll_output.h"

struct ov_row {
  enum ov_report_format format;      /* OV_REPORT_JSON or OV_REPORT_CSV */
  unsigned fields;                   /* written in the current row */
};

/* CSV: the header line (keys, comma-separated, unquoted). */
void ov_row_csv_header (const char *const *keys, size_t n);

void ov_row_begin (struct ov_row *r);
void ov_row_str (struct ov_row *r, const char *key, const char *value);
void ov_row_u64 (struct ov_row *r, const char *key, uint64_t value);
void ov_row_i64 (struct ov_row *r, const char *key, int64_t value);
/* A number with `decimals` digits, or null / empty when !present. */
void ov_row_num (struct ov_row *r, const char *key, double value,
                 int decimals, bool present);
void ov_row_end (struct ov_row *r);

/* Shared by the writers above and poll_output.c. */
void ov_csv_write_field (FILE *fp, const char *s);   /* quoted, as above */
void ov_json_write_quoted (FILE *fp, const char *s); /* ov_quote_path + JSON; null if NULL */

/* "2026-11-22 04:48:21" (UTC) for text output; "-" for 0. */
const char *ov_format_time (double t, char *buf, size_t size);

#endif
