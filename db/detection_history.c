/* ovscan — whether a detection is new, from the dirty-file lists of earlier
 * polls (poll_files): a detection is known when the latest earlier entry of
 * the same path on the same filesystem of the same disk is the same
 * signature's detection and not a deletion.  A path that was cleaned,
 * deleted, or never infected before makes it new.
 *
 * Cost: one query per detection (rare); it reads the disk's earlier polls'
 * file lists through poll_files_by_poll (no index on path: detections are
 * few, and the scan is bounded by the disk's history).
 */
#include "db/detection_history.h"

#include <string.h>

#include "common/error.h"
#include "db/internal.h"

int
ov_state_detection_is_new (struct ov_state *st, int64_t disk_id,
                           int64_t poll_id, const char *fs_label,
                           const char *path, const char *signature)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc, is_new = 1;

  s = ov_db_prepare (st, "SELECT pf.verdict, pf.signature, pf.change"
                     " FROM polls p JOIN poll_files pf ON pf.poll_id = p.id"
                     " WHERE p.disk_id = ?1 AND p.id < ?2 AND pf.fs_label = ?3"
                     " AND pf.path = ?4"
                     " ORDER BY p.id DESC, pf.id DESC LIMIT 1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  sqlite3_bind_int64 (s, 2, poll_id);
  sqlite3_bind_text (s, 3, fs_label, -1, SQLITE_STATIC);
  sqlite3_bind_blob (s, 4, path, (int) strlen (path), SQLITE_STATIC);
  rc = sqlite3_step (s);
  if (rc == SQLITE_ROW) {
    const char *verdict = (const char *) sqlite3_column_text (s, 0);
    const char *sig = (const char *) sqlite3_column_text (s, 1);
    const char *change = (const char *) sqlite3_column_text (s, 2);
    if (verdict && strcmp (verdict, "infected") == 0 && sig &&
        strcmp (sig, signature) == 0 && change && strcmp (change, "deleted") != 0)
      is_new = 0;
  }
  else if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "detection history");
  return is_new;
}
