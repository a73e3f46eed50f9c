/* ovscan — the verdict cache table (see db/verdict_cache.h).  A handful of
 * statements per scanned file at most: prepared per call. */
#include "db/internal.h"
#include "db/verdict_cache.h"

#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"

int
ov_state_verdict_cache_load (struct ov_state *st, const char *sig_version,
                             int (*cb) (void *opaque, const uint8_t digest[32],
                                        const char *verdict, const char *signature),
                             void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "SELECT sha256, verdict, signature FROM verdict_cache"
                   " WHERE sig_version = ?1");
  int rc;

  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 1, sig_version);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    if (sqlite3_column_bytes (s, 0) != 32)
      continue;                  /* not ours: ignored */
    if (cb (opaque, sqlite3_column_blob (s, 0),
            (const char *) sqlite3_column_text (s, 1),
            (const char *) sqlite3_column_text (s, 2)) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "load the verdict cache");
  return 0;
}

int
ov_state_verdict_cache_put (struct ov_state *st, const uint8_t digest[32],
                            const char *sig_version, const char *verdict,
                            const char *signature)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;

  /* OR IGNORE would also swallow the CHECK: refuse other verdicts here. */
  if (verdict == NULL || (strcmp (verdict, "clean") != 0 &&
                          strcmp (verdict, "infected") != 0)) {
    ov_error ("%s: verdict cache: '%s' is not a verdict to cache", st->path,
              verdict ? verdict : "(null)");
    return -1;
  }
  s = ov_db_prepare (st, "INSERT OR IGNORE INTO verdict_cache (sha256,"
                     " sig_version, verdict, signature) VALUES (?1, ?2, ?3, ?4)");
  if (s == NULL)
    return -1;
  sqlite3_bind_blob (s, 1, digest, 32, SQLITE_STATIC);
  ov_db_bind_text (s, 2, sig_version);
  ov_db_bind_text (s, 3, verdict);
  ov_db_bind_text (s, 4, signature);
  return ov_db_step_done (st, s, "verdict cache insert");
}

int
ov_state_verdict_cache_hit (struct ov_state *st, const uint8_t digest[32],
                            const char *sig_version)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "UPDATE verdict_cache SET hits = hits + 1"
                   " WHERE sha256 = ?1 AND sig_version = ?2");
  if (s == NULL)
    return -1;
  sqlite3_bind_blob (s, 1, digest, 32, SQLITE_STATIC);
  ov_db_bind_text (s, 2, sig_version);
  return ov_db_step_done (st, s, "verdict cache hit");
}

int
ov_state_verdict_cache_prune (struct ov_state *st, const char *keep_version)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "DELETE FROM verdict_cache WHERE sig_version != ?1");
  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 1, keep_version);
  return ov_db_step_done (st, s, "verdict cache prune");
}
