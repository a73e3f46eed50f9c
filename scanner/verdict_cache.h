/* ovscan — the cross-VM verdict cache, in memory for one poll (issue 5).
 *
 * Key: SHA-256 of a file's content (computed while the file is read for its
 * scan, scanner/scan_file.c) + the signature version the verdict was given
 * under; a cache is built for one version only, so new signatures never see
 * an old verdict.  Value: clean, or infected + signature name.  Errors and
 * skipped files are never cached.
 *
 * The same bytes in many VMs (a package update rolled out fleet-wide) are
 * scanned by libclamav once: every later file with that digest takes the
 * verdict.  Entries persist in the state db (db/verdict_cache.c) and are
 * loaded at the start of each poll that scans.
 *
 * Thread-safe (one mutex; lookups are O(1) in an open-addressing table).
 * Cost: ~100 bytes per entry; files larger than OV_VERDICT_CACHE_MAX_FILE
 * are read in a stream as before and not cached (holding them in memory
 * for one read would cost more than the cache saves).
 */
#ifndef OVSCAN_SCANNER_VERDICT_CACHE_H
#define OVSCAN_SCANNER_VERDICT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "scanner/scanner.h"

#define OV_VERDICT_CACHE_MAX_FILE (16u << 20)

struct ov_verdict_cache;

/* An empty cache for verdicts under sig_version.  NULL + ov_error. */
struct ov_verdict_cache *ov_verdict_cache_new (const char *sig_version);
void ov_verdict_cache_free (struct ov_verdict_cache *c);
const char *ov_verdict_cache_version (const struct ov_verdict_cache *c);

/* Add (or replace) an entry; verdict must be clean or infected.  -1 on
 * out of memory (the cache is then just smaller). */
int ov_verdict_cache_add (struct ov_verdict_cache *c, const uint8_t digest[32],
                          enum ov_verdict verdict, const char *signature);
/* true + result->verdict/signature filled if the digest is known. */
bool ov_verdict_cache_lookup (struct ov_verdict_cache *c, const uint8_t digest[32],
                              struct ov_scan_result *result);
size_t ov_verdict_cache_size (struct ov_verdict_cache *c);

#endif
