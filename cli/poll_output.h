/* ovscan — printing polls and dirty-file lists (see poll_output.c). */
#ifndef OVSCAN_CLI_POLL_OUTPUT_H
#define OVSCAN_CLI_POLL_OUTPUT_H

#include "db/state.h"

enum ov_report_format { OV_REPORT_TEXT, OV_REPORT_JSON, OV_REPORT_CSV };

/* One poll with its files.  JSON: one object on one line with the keys
 * type ("poll"), vm, poll, tracker, mode, reason, metadata_walk, started, dirty_bytes,
 * duration_s, files_scanned, bytes_scanned, infected, errors,
 * signature_version, files: [{path, fs, inode, size, change, verdict,
 * signature, error}].  CSV: one row per file (header: ov_print_csv_header:
 * vm, path, fs, inode, size, change, verdict, signature, error, poll). */
int ov_print_poll (struct ov_state *st, const char *vm,
                   const struct ov_poll_record *p, const char *walked,
                   enum ov_report_format format);
void ov_print_csv_header (void);

#endif
