/* ovscan — the filesystems table: one row per volume of a disk, found by
 * (disk, label, offset); a changed type, size or identity means the volume
 * was reformatted or replaced, and the caller then forgets its files.
 */
#include "db/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static bool
same_text (const unsigned char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == NULL && b == NULL;
  return strcmp ((const char *) a, b) == 0;
}

static int
put_fs_unit (struct ov_state *st, struct ov_fs_record *r, bool *changed)
{
  CLEANUP_STMT_RESET sqlite3_stmt *get = NULL;
  CLEANUP_STMT_RESET sqlite3_stmt *put = NULL;
  int rc;

  get = ov_db_stmt (st, OV_STMT_GET_FS,
                    "SELECT id, size, type, identity FROM filesystems"
                    " WHERE disk_id = ?1 AND label = ?2 AND offset = ?3");
  if (get == NULL)
    return -1;
  sqlite3_bind_int64 (get, 1, r->disk_id);
  sqlite3_bind_text (get, 2, r->label ? r->label : "", -1, SQLITE_STATIC);
  ov_db_bind_u64 (get, 3, r->offset);
  rc = sqlite3_step (get);
  if (rc == SQLITE_ROW) {
    r->id = sqlite3_column_int64 (get, 0);
    if (ov_db_column_u64 (get, 1) == r->size &&
        same_text (sqlite3_column_text (get, 2), r->type) &&
        same_text (sqlite3_column_text (get, 3), r->identity))
      return 0;
    *changed = true;
    put = ov_db_stmt (st, OV_STMT_UPDATE_FS,
                      "UPDATE filesystems SET size = ?2, type = ?3,"
                      " identity = ?4 WHERE id = ?1");
    if (put == NULL)
      return -1;
    sqlite3_bind_int64 (put, 1, r->id);
  }
  else if (rc == SQLITE_DONE) {
    put = ov_db_stmt (st, OV_STMT_INSERT_FS,
                      "INSERT INTO filesystems (disk_id, size, type, identity,"
                      " label, offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (put == NULL)
      return -1;
    sqlite3_bind_int64 (put, 1, r->disk_id);
    sqlite3_bind_text (put, 5, r->label ? r->label : "", -1, SQLITE_STATIC);
    ov_db_bind_u64 (put, 6, r->offset);
  }
  else
    return ov_db_fail (st, rc, "find filesystem");
  sqlite3_reset (get);

  ov_db_bind_u64 (put, 2, r->size);
  sqlite3_bind_text (put, 3, r->type ? r->type : "", -1, SQLITE_STATIC);
  ov_db_bind_text (put, 4, r->identity);
  if (ov_db_step_done (st, put, "write filesystem") == -1)
    return -1;
  if (!*changed)
    r->id = sqlite3_last_insert_rowid (st->db);
  return 0;
}

int
ov_state_put_fs (struct ov_state *st, struct ov_fs_record *r, bool *changed)
{
  bool dummy;

  if (changed == NULL)
    changed = &dummy;
  *changed = false;
  if (r->offset > INT64_MAX || r->size > INT64_MAX) {
    ov_error ("%s: disk %" PRId64 ": filesystem %s at offset %" PRIu64
              " of %" PRIu64 " bytes is out of range", st->path, r->disk_id,
              r->label ? r->label : "", r->offset, r->size);
    return -1;
  }
  if (ov_db_savepoint (st) == -1)
    return -1;
  if (put_fs_unit (st, r, changed) == -1) {
    ov_db_rollback_to (st);
    ov_error_prefix ("filesystem %s at offset %" PRIu64,
                     r->label && r->label[0] ? r->label : "(whole disk)",
                     r->offset);
    return -1;
  }
  return ov_db_release (st);
}

static int
delete_fs_rows (struct ov_state *st, enum ov_stmt_id id, const char *sql,
                int64_t fs_id)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = ov_db_stmt (st, id, sql);
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, fs_id);
  return ov_db_step_done (st, s, "forget the files of a filesystem");
}

/* Runs and paths first, by their indexes, so that the cascade from files
 * finds nothing left to do. */
int
ov_state_clear_fs_files (struct ov_state *st, int64_t fs_id)
{
  if (ov_db_savepoint (st) == -1)
    return -1;
  if (delete_fs_rows (st, OV_STMT_CLEAR_FS_RUNS,
                      "DELETE FROM runs WHERE fs_id = ?1", fs_id) == -1 ||
      delete_fs_rows (st, OV_STMT_CLEAR_FS_PATHS,
                      "DELETE FROM paths WHERE file_id IN"
                      " (SELECT id FROM files WHERE fs_id = ?1)", fs_id) == -1 ||
      delete_fs_rows (st, OV_STMT_CLEAR_FS_FILES,
                      "DELETE FROM files WHERE fs_id = ?1", fs_id) == -1 ||
      delete_fs_rows (st, OV_STMT_CLEAR_FS_DIRS,
                      "DELETE FROM dirs WHERE fs_id = ?1", fs_id) == -1) {
    ov_db_rollback_to (st);
    return -1;
  }
  return ov_db_release (st);
}
