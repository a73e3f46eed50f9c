/* ovscan — each poll's dirty-file list (poll_files, see state.h).
 *
 * Written inside the poll's transaction, one row per dirty file and path;
 * read back in insertion order for `report dirty`.  Paths are BLOBs (raw
 * guest bytes); change and verdict are checked by the schema.
 */
#include "db/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* Longest path accepted (NTFS: 32767 UTF-16 units, up to 3 bytes each). */
#define OV_STATE_MAX_PATH (128 * 1024)

int
ov_state_add_poll_file (struct ov_state *st, int64_t poll_id,
                        const struct ov_poll_file *f)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  size_t len;
  char what[100];

  if (f->path == NULL || f->change == NULL || f->verdict == NULL) {
    ov_error ("%s: poll %" PRId64 ": a dirty file needs path, change and "
              "verdict", st->path, poll_id);
    return -1;
  }
  len = strlen (f->path);
  if (len > OV_STATE_MAX_PATH) {
    ov_error ("%s: poll %" PRId64 ": inode %" PRIu64 ": path of %zu bytes "
              "is longer than %d", st->path, poll_id, f->inode, len,
              OV_STATE_MAX_PATH);
    return -1;
  }
  if (f->size > INT64_MAX) {
    ov_error ("%s: poll %" PRId64 ": inode %" PRIu64 ": size %" PRIu64
              " out of range", st->path, poll_id, f->inode, f->size);
    return -1;
  }
  s = ov_db_stmt (st, OV_STMT_ADD_POLL_FILE,
                  "INSERT INTO poll_files (poll_id, path, fs_label, inode,"
                  " size, change, verdict, signature, error)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, poll_id);
  sqlite3_bind_blob (s, 2, f->path, (int) len, SQLITE_STATIC);
  sqlite3_bind_text (s, 3, f->fs_label ? f->fs_label : "", -1, SQLITE_STATIC);
  ov_db_bind_u64 (s, 4, f->inode);
  ov_db_bind_u64 (s, 5, f->size);
  ov_db_bind_text (s, 6, f->change);
  ov_db_bind_text (s, 7, f->verdict);
  ov_db_bind_text (s, 8, f->signature);
  ov_db_bind_text (s, 9, f->error);
  snprintf (what, sizeof what, "poll %" PRId64 ": add dirty file (inode %"
            PRIu64 ")", poll_id, f->inode);
  return ov_db_step_done (st, s, what);
}

int
ov_state_list_poll_files (struct ov_state *st, int64_t poll_id,
                          ov_poll_file_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st, "SELECT path, fs_label, inode, size, change, verdict,"
                     " signature, error FROM poll_files WHERE poll_id = ?1"
                     " ORDER BY id");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, poll_id);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_poll_file f;
    /* column_text of a BLOB gives its bytes NUL-terminated (no NUL inside:
     * we stored strlen bytes). */
    f.path = ov_db_column_path (s, 0);
    f.fs_label = (const char *) sqlite3_column_text (s, 1);
    f.inode = ov_db_column_u64 (s, 2);
    f.size = ov_db_column_u64 (s, 3);
    f.change = (const char *) sqlite3_column_text (s, 4);
    f.verdict = (const char *) sqlite3_column_text (s, 5);
    f.signature = (const char *) sqlite3_column_text (s, 6);
    f.error = (const char *) sqlite3_column_text (s, 7);
    if (f.path == NULL || f.fs_label == NULL || f.change == NULL ||
        f.verdict == NULL) {
      ov_error ("%s: poll %" PRId64 ": dirty-file row with a missing column "
                "(out of memory?)", st->path, poll_id);
      return -1;
    }
    if (cb (opaque, &f) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list dirty files");
  return 0;
}
