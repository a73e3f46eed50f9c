/* ovscan — the command line: subcommands and their shared pieces.
 *
 * Exit statuses follow clamscan's: 0 nothing found, 1 something found,
 * 2 an error kept part of the work from being done (or a usage error).
 */
#ifndef OVSCAN_CLI_CLI_H
#define OVSCAN_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "common/vector.h"
#include "scanner/scanner.h"
#include "signatures/signatures.h"

#define OV_EXIT_CLEAN    0
#define OV_EXIT_INFECTED 1
#define OV_EXIT_ERROR    2

extern const char *ov_program_name;
/* --state PATH given before the command, or NULL for the default. */
extern const char *ov_state_path;

int ov_cmd_scan (int argc, char **argv);
int ov_cmd_add (int argc, char **argv);
int ov_cmd_list (int argc, char **argv);
int ov_cmd_remove (int argc, char **argv);
int ov_cmd_poll (int argc, char **argv);
int ov_cmd_report (int argc, char **argv);
int ov_cmd_status (int argc, char **argv);   /* cli/cmd_status.c */
int ov_cmd_sigs (int argc, char **argv);     /* cli/cmd_sigs.c */
int ov_cmd_inspect (int argc, char **argv);  /* cli/cmd_inspect.c */

/* Open the state database (--state or the default path).  NULL after
 * printing the error. */
struct ov_state *ov_cli_open_state (void);

/* Lock disk NAME for one poll (cli/disk_lock.c): an fd to close when done,
 * -2 if another process holds it, -1 + ov_error on failure. */
int ov_disk_lock (struct ov_state *st, const char *name);

/* ---- options shared by scan and poll (cli/engine_options.c) ---- */
DEFINE_VECTOR (ov_cli_strings, const char *);
struct ov_engine_options {
  ov_cli_strings databases;
  struct ov_sigs_options sigs;
  struct ov_scan_limits limits;
  unsigned threads;
};
enum {
  OV_OPT_TEST_SIGS = 256, OV_OPT_MAX_FILESIZE, OV_OPT_MAX_SCANSIZE,
  OV_OPT_FIRST_COMMAND_OPTION,       /* commands number theirs from here */
};
#define OV_ENGINE_SHORT_OPTIONS "d:j:"
#define OV_ENGINE_LONG_OPTIONS                                          \
  { "database", required_argument, NULL, 'd' },                        \
  { "test-signatures", no_argument, NULL, OV_OPT_TEST_SIGS },           \
  { "max-filesize", required_argument, NULL, OV_OPT_MAX_FILESIZE },     \
  { "max-scansize", required_argument, NULL, OV_OPT_MAX_SCANSIZE },     \
  { "threads", required_argument, NULL, 'j' }
#define OV_ENGINE_OPTIONS_HELP                                                  \
"  -d, --database PATH     ClamAV database directory or file (repeatable;\n"   \
"                          default " OV_DEFAULT_DATABASE_DIR ")\n"             \
"      --test-signatures   also load ovscan's own test signatures (EICAR,\n"   \
"                          clamav-testfiles' clam.exe)\n"                      \
"      --max-filesize N    skip files larger than N (default 100M)\n"          \
"      --max-scansize N    read at most N bytes per file incl. archive\n"      \
"                          members (default 400M)\n"                           \
"  -j, --threads N         scan threads (default: number of CPUs)\n"
void ov_engine_options_init (struct ov_engine_options *o);
/* 1 if c was one of the shared options (handled), 0 if not, -1 on a bad
 * value (error printed). */
int ov_engine_option (struct ov_engine_options *o, int c, const char *arg);
/* Point sigs at databases and limits before use. */
void ov_engine_options_finish (struct ov_engine_options *o);
void ov_engine_options_free (struct ov_engine_options *o);

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
