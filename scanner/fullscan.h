/* ovscan — the full scan of one disk: every file of every filesystem.
 *
 * Flow: open the disk source -> fsmap (volumes, filesystems) -> load the
 * signatures (only now, so that a bad TARGET fails before a slow engine
 * load) -> per filesystem: walk every file, sort by first disk offset (so the
 * image is read front to back), apply exclusions, hand files to the worker
 * pool -> results reach the caller through callbacks, serialised.
 *
 * The caller (cli/) owns all printing; this module prints nothing.
 */
#ifndef OVSCAN_SCANNER_FULLSCAN_H
#define OVSCAN_SCANNER_FULLSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/disk.h"
#include "fsmap/fsmap.h"
#include "scanner/scanner.h"
#include "signatures/signatures.h"

struct ov_fullscan_options {
  const char *target;                  /* image path or NBD URI */
  struct ov_disk_options disk;
  const struct ov_sigs_options *sigs;  /* what to load */
  const char *const *excludes;         /* globs (fnmatch) on guest paths */
  size_t nexcludes;
  struct ov_scan_limits limits;
  unsigned workers;                    /* scan threads, >= 1 */
};

struct ov_fullscan_summary {
  unsigned filesystems;                /* filesystems read */
  unsigned volume_errors;              /* volumes/filesystems not read */
  uint64_t files;                      /* files scanned (clean+infected+error) */
  uint64_t infected, errors, skipped;
  uint64_t bytes;                      /* content bytes read */
  uint64_t walk_errors;                /* metadata problems reported by fsmap */
  double seconds;
};

/* Output hooks; any may be NULL.  All calls are serialised. */
struct ov_fullscan_events {
  void *opaque;
  /* The signatures were loaded (sigs stays valid until the run ends). */
  void (*on_signatures) (void *opaque, const struct ov_sigs *sigs);
  /* A volume was found: fs->error is set if it cannot be read. */
  void (*on_filesystem) (void *opaque, const struct ov_fs *fs);
  /* The walk of fs is done: `files` files, `bytes` bytes to scan. */
  void (*on_walked) (void *opaque, const struct ov_fs *fs, uint64_t files,
                     uint64_t bytes);
  /* A problem that kept part of the disk from being read. */
  void (*on_error) (void *opaque, const struct ov_fs *fs, const char *message);
  /* One file's verdict (also for excluded files: verdict skipped). */
  void (*on_result) (void *opaque, const struct ov_file *f,
                     const struct ov_scan_result *result);
};

/* Returns 0 when the run completed (even with infections or per-file
 * errors: see the summary), -1 + ov_error when it could not run at all
 * (disk unreadable, no signatures). */
int ov_fullscan_run (const struct ov_fullscan_options *options,
                     const struct ov_fullscan_events *events,
                     struct ov_fullscan_summary *summary);

/* True if guest path (or its filesystem-relative part) matches a glob. */
bool ov_path_excluded (const char *path, const char *const *globs,
                       size_t nglobs);
/* True if any of the file's paths (hard links) is excluded. */
bool ov_file_excluded (const struct ov_file *f, const char *const *globs,
                       size_t nglobs);

#endif
