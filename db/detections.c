/* ovscan — the detections table (see detections.h; created by
 * db/schema_operations.c).  Listing uses a fresh statement, so a callback
 * may call other ov_state_* functions.  Cost: one indexed upsert per find;
 * a listing is one pass over the disk's rows. */
#include "db/internal.h"
#include "db/detections.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

int
ov_detection_record (struct ov_state *st, const struct ov_detection_row *d)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  char what[128];

  s = ov_db_prepare (st,
    "INSERT INTO detections (disk_id, fs_label, path, inode, signature,"
    " first_seen, last_seen, first_poll, last_poll, found_by)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?7, ?8)"
    " ON CONFLICT (disk_id, fs_label, path, signature) DO UPDATE SET"
    " last_seen = excluded.last_seen, last_poll = excluded.last_poll,"
    " inode = excluded.inode, cleared_poll = NULL");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, d->disk_id);
  ov_db_bind_text (s, 2, d->fs_label ? d->fs_label : "");
  sqlite3_bind_blob (s, 3, d->path, (int) strlen (d->path), SQLITE_STATIC);
  ov_db_bind_u64 (s, 4, d->inode);
  ov_db_bind_text (s, 5, d->signature);
  sqlite3_bind_double (s, 6, d->last_seen);
  sqlite3_bind_int64 (s, 7, d->last_poll);
  ov_db_bind_text (s, 8, d->found_by ? d->found_by : "poll");
  snprintf (what, sizeof what, "record a detection on disk %" PRId64, d->disk_id);
  return ov_db_step_done (st, s, what);
}

int
ov_detections_list (struct ov_state *st, int64_t disk_id,
                    ov_detection_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st,
    "SELECT x.id, x.disk_id, d.name, x.fs_label, x.path, x.inode, x.signature,"
    " x.first_seen, x.last_seen, x.first_poll, x.last_poll, x.found_by,"
    " x.cleared_poll"
    " FROM detections x JOIN disks d ON d.id = x.disk_id"
    " WHERE ?1 = 0 OR x.disk_id = ?1"
    " ORDER BY d.name, x.last_seen, x.id");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_detection_row d = {
      .id = sqlite3_column_int64 (s, 0),
      .disk_id = sqlite3_column_int64 (s, 1),
      .disk = (const char *) sqlite3_column_text (s, 2),
      .fs_label = (const char *) sqlite3_column_text (s, 3),
      .path = ov_db_column_path (s, 4),
      .inode = ov_db_column_u64 (s, 5),
      .signature = (const char *) sqlite3_column_text (s, 6),
      .first_seen = sqlite3_column_double (s, 7),
      .last_seen = sqlite3_column_double (s, 8),
      .first_poll = sqlite3_column_int64 (s, 9),
      .last_poll = sqlite3_column_int64 (s, 10),
      .found_by = (const char *) sqlite3_column_text (s, 11),
      .cleared_poll = sqlite3_column_int64 (s, 12),
    };
    if (d.disk == NULL || d.fs_label == NULL || d.path == NULL
        || d.signature == NULL || d.found_by == NULL) {
      ov_error ("%s: list detections: out of memory", st->path);
      return -1;
    }
    if (cb (opaque, &d) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list detections");
  return 0;
}

int
ov_detections_count (struct ov_state *st, int64_t disk_id,
                     uint64_t *total, uint64_t *present)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st, "SELECT count(*), count(*) FILTER (WHERE cleared_poll IS NULL)"
                     " FROM detections WHERE disk_id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "count detections");
  *total = ov_db_column_u64 (s, 0);
  *present = ov_db_column_u64 (s, 1);
  return 0;
}

int
ov_detection_is_known (struct ov_state *st, int64_t disk_id, const char *fs_label,
                       const char *path, const char *signature)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st, "SELECT 1 FROM detections WHERE disk_id = ?1"
                     " AND fs_label = ?2 AND path = ?3 AND signature = ?4"
                     " AND cleared_poll IS NULL");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  ov_db_bind_text (s, 2, fs_label ? fs_label : "");
  sqlite3_bind_blob (s, 3, path, (int) strlen (path), SQLITE_STATIC);
  ov_db_bind_text (s, 4, signature);
  rc = sqlite3_step (s);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "find a detection");
  return 0;
}
