/* ovscan — the command line: subcommands and their shared pieces.
 *
 * Exit statuses follow clamscan's: 0 nothing found, 1 something found,
 * 2 an error kept part of the work from being done (or a usage error).
 */
#ifndef OVSCAN_CLI_CLI_H
#define OVSCAN_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define OV_EXIT_CLEAN    0
#define OV_EXIT_INFECTED 1
#define OV_EXIT_ERROR    2

extern const char *ov_program_name;

int ov_cmd_scan (int argc, char **argv);

/* "ovscan: " + message on stderr. */
void ov_cli_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* ---- progress line (cli/progress.c) ---- */
struct ov_progress;
/* Returns NULL (no progress shown) unless enabled and fp is a TTY. */
struct ov_progress *ov_progress_new (FILE *fp, bool enabled);
void ov_progress_add_total (struct ov_progress *p, uint64_t files, uint64_t bytes);
void ov_progress_update (struct ov_progress *p, uint64_t files, uint64_t bytes);
/* Erase the line (before other output goes to the same terminal). */
void ov_progress_clear (struct ov_progress *p);
void ov_progress_free (struct ov_progress *p);

#endif
