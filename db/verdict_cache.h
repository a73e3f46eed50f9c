/* ovscan — the verdict cache in the state db (schema: db/schema_fleet.c;
 * the in-memory side: scanner/verdict_cache.h).
 *
 * verdict_cache(sha256, sig_version, verdict, signature, hits): a verdict
 * given by libclamav under one signature version to content with that
 * digest.  Rows of other versions are never read (new signatures = new
 * scans); ov_state_verdict_cache_prune drops them.
 */
#ifndef OVSCAN_DB_VERDICT_CACHE_H
#define OVSCAN_DB_VERDICT_CACHE_H

#include <stdint.h>

#include "db/state.h"

/* Every entry of sig_version: cb (digest, "clean"|"infected", signature or
 * NULL). */
int ov_state_verdict_cache_load (struct ov_state *st, const char *sig_version,
                                 int (*cb) (void *opaque, const uint8_t digest[32],
                                            const char *verdict, const char *signature),
                                 void *opaque);
/* Insert (or keep) an entry, inside the caller's transaction. */
int ov_state_verdict_cache_put (struct ov_state *st, const uint8_t digest[32],
                                const char *sig_version, const char *verdict,
                                const char *signature);
/* One more file took this entry's verdict. */
int ov_state_verdict_cache_hit (struct ov_state *st, const uint8_t digest[32],
                                const char *sig_version);
/* Remove entries of every version but keep_version. */
int ov_state_verdict_cache_prune (struct ov_state *st, const char *keep_version);

#endif
