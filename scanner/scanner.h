/* ovscan — scanning file content with libclamav.
 *
 * ov_scan_file() scans one ov_file through cl_fmap_open_handle() +
 * cl_scanmap_callback(): libclamav pulls the bytes it wants through a pread
 * callback that reads the file's runs straight from the disk source — the
 * content is never extracted to a temporary file.  Scan options are
 * clamscan's defaults (archives, PE, ELF, OLE2, PDF, HTML, mail, …, heuristics
 * off except clamscan's defaults).
 *
 * ov_pool runs ov_scan_file() on worker threads, each with its own disk handle.
 */
#ifndef OVSCAN_SCANNER_SCANNER_H
#define OVSCAN_SCANNER_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/disk.h"
#include "fsmap/fsmap.h"

struct cl_engine;

enum ov_verdict {
  OV_VERDICT_CLEAN,
  OV_VERDICT_INFECTED,
  OV_VERDICT_ERROR,
  OV_VERDICT_SKIPPED,        /* not scanned on purpose: excluded, over --max-filesize */
};
const char *ov_verdict_to_string (enum ov_verdict v);

struct ov_verdict_cache;
struct ov_scan_limits {
  uint64_t max_filesize;     /* larger files are skipped (clamscan: 100 MiB) */
  uint64_t max_scansize;     /* bytes libclamav reads per file incl. archive members */
  struct ov_verdict_cache *verdict_cache;  /* optional: content digest ->
                                verdict across VMs (scanner/verdict_cache.h) */
};
#define OV_DEFAULT_MAX_FILESIZE (100ULL << 20)
#define OV_DEFAULT_MAX_SCANSIZE (400ULL << 20)

struct ov_scan_result {
  enum ov_verdict verdict;
  char signature[256];       /* when infected */
  char *error;               /* when error/skipped: why (malloc'd) */
  uint64_t bytes_read;       /* content bytes read from the disk */
  /* With limits->verdict_cache, for files up to OV_VERDICT_CACHE_MAX_FILE:
   * the content's SHA-256 (has_digest), and whether the verdict came from
   * the cache instead of libclamav (cached). */
  bool has_digest, cached;
  uint8_t digest[32];
};

/* Scan one file.  Never fails as a whole: problems become verdict=error with
 * result->error set.  `disk` is the calling thread's own handle.
 *   size 0                  clean, nothing read
 *   size > max_filesize     skipped, "larger than --max-filesize (N bytes)"
 *                           (0 = OV_DEFAULT_MAX_FILESIZE; also skipped above
 *                           the engine's own limit, which libclamav caps at
 *                           2 GiB - 3)
 *   a read fails, or the    error, "read failed at file offset X: …", even
 *   content ends early      if libclamav carried on and said clean; a
 *                           detection still wins
 *   libclamav error         error, cl_strerror + libclamav's message
 * max_scansize is applied to the engine by signatures/ (ov_sigs_options).
 * bytes_read counts bytes delivered to libclamav (zeros of holes included). */
void ov_scan_file (const struct cl_engine *engine,
                   const struct ov_scan_limits *limits,
                   struct ov_fsmap *map, struct ov_disk *disk,
                   const struct ov_file *f, struct ov_scan_result *result);

void ov_scan_result_clear (struct ov_scan_result *result);

/* ---- worker pool ---- */

struct ov_pool;

/* Called on a worker thread, serialised by the pool (one call at a time),
 * with the file and its result; the pool frees both afterwards. */
typedef void (*ov_result_cb) (void *opaque, const struct ov_file *f,
                              const struct ov_scan_result *result);

/* Start nworkers threads, each with ov_disk_reopen(disk).  NULL + ov_error. */
struct ov_pool *ov_pool_start (unsigned nworkers,
                               const struct cl_engine *engine,
                               const struct ov_scan_limits *limits,
                               struct ov_fsmap *map, struct ov_disk *disk,
                               ov_result_cb cb, void *opaque);

/* Queue a file (the pool takes ownership).  Blocks while the bounded queue
 * is full, so a walk never runs far ahead of the scan. */
void ov_pool_submit (struct ov_pool *pool, struct ov_file *f);

/* Wait for every queued file, stop the threads, free the pool. */
void ov_pool_finish (struct ov_pool *pool);

#endif
