/* ovscan — the polls table: one row per committed poll (see state.h).
 *
 * A poll row is written inside the poll's transaction, so every row seen
 * from outside belongs to a committed poll.  Counters are bound-checked
 * against INT64_MAX (sqlite's INTEGER).
 */
#include "db/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define POLL_COLUMNS \
  "id, disk_id, started, finished, mode, tracker, reason, dirty_bytes," \
  " files_scanned, bytes_scanned, infected, errors, sig_version, status"

static int
check_poll (struct ov_state *st, const struct ov_poll_record *p)
{
  if (p->mode == NULL || p->tracker == NULL || p->status == NULL) {
    ov_error ("%s: poll of disk %" PRId64 ": mode, tracker and status are "
              "required", st->path, p->disk_id);
    return -1;
  }
  if (p->dirty_bytes > INT64_MAX || p->files_scanned > INT64_MAX ||
      p->bytes_scanned > INT64_MAX || p->infected > INT64_MAX ||
      p->errors > INT64_MAX) {
    ov_error ("%s: poll of disk %" PRId64 ": a counter is out of range",
              st->path, p->disk_id);
    return -1;
  }
  return 0;
}

/* Bind ?2..?14 in POLL_COLUMNS order (?1 is the id or unused). */
static void
bind_poll (sqlite3_stmt *s, const struct ov_poll_record *p)
{
  sqlite3_bind_int64 (s, 2, p->disk_id);
  sqlite3_bind_double (s, 3, p->started);
  sqlite3_bind_double (s, 4, p->finished);
  ov_db_bind_text (s, 5, p->mode);
  ov_db_bind_text (s, 6, p->tracker);
  ov_db_bind_text (s, 7, p->reason);
  ov_db_bind_u64 (s, 8, p->dirty_bytes);
  ov_db_bind_u64 (s, 9, p->files_scanned);
  ov_db_bind_u64 (s, 10, p->bytes_scanned);
  ov_db_bind_u64 (s, 11, p->infected);
  ov_db_bind_u64 (s, 12, p->errors);
  ov_db_bind_text (s, 13, p->sig_version);
  ov_db_bind_text (s, 14, p->status);
}

int
ov_state_add_poll (struct ov_state *st, struct ov_poll_record *p)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  char what[100];

  if (check_poll (st, p) == -1)
    return -1;
  s = ov_db_stmt (st, OV_STMT_ADD_POLL,
                  "INSERT INTO polls (" POLL_COLUMNS ") VALUES (NULL, ?2, ?3,"
                  " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (s == NULL)
    return -1;
  bind_poll (s, p);
  snprintf (what, sizeof what, "add poll of disk %" PRId64, p->disk_id);
  if (ov_db_step_done (st, s, what) == -1)
    return -1;
  p->id = sqlite3_last_insert_rowid (st->db);
  return 0;
}

int
ov_state_update_poll (struct ov_state *st, const struct ov_poll_record *p)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  char what[100];

  if (check_poll (st, p) == -1)
    return -1;
  s = ov_db_stmt (st, OV_STMT_UPDATE_POLL,
                  "UPDATE polls SET disk_id = ?2, started = ?3, finished = ?4,"
                  " mode = ?5, tracker = ?6, reason = ?7, dirty_bytes = ?8,"
                  " files_scanned = ?9, bytes_scanned = ?10, infected = ?11,"
                  " errors = ?12, sig_version = ?13, status = ?14"
                  " WHERE id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, p->id);
  bind_poll (s, p);
  snprintf (what, sizeof what, "update poll %" PRId64, p->id);
  if (ov_db_step_done (st, s, what) == -1)
    return -1;
  if (sqlite3_changes (st->db) == 0) {
    ov_error ("%s: %s: no such poll", st->path, what);
    return -1;
  }
  return 0;
}

/* Row -> p with strings pointing into the statement's row. */
static void
poll_from_row (sqlite3_stmt *s, struct ov_poll_record *p)
{
  p->id = sqlite3_column_int64 (s, 0);
  p->disk_id = sqlite3_column_int64 (s, 1);
  p->started = sqlite3_column_double (s, 2);
  p->finished = sqlite3_column_double (s, 3);
  p->mode = (const char *) sqlite3_column_text (s, 4);
  p->tracker = (const char *) sqlite3_column_text (s, 5);
  p->reason = (const char *) sqlite3_column_text (s, 6);
  p->dirty_bytes = ov_db_column_u64 (s, 7);
  p->files_scanned = ov_db_column_u64 (s, 8);
  p->bytes_scanned = ov_db_column_u64 (s, 9);
  p->infected = ov_db_column_u64 (s, 10);
  p->errors = ov_db_column_u64 (s, 11);
  p->sig_version = (const char *) sqlite3_column_text (s, 12);
  p->status = (const char *) sqlite3_column_text (s, 13);
}

int
ov_state_list_polls (struct ov_state *st, int64_t disk_id,
                     ov_poll_record_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st, "SELECT " POLL_COLUMNS " FROM polls"
                     " WHERE disk_id = ?1 ORDER BY id DESC");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_poll_record p;
    poll_from_row (s, &p);
    if (cb (opaque, &p) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list polls");
  return 0;
}

void
ov_poll_record_clear (struct ov_poll_record *p)
{
  free ((char *) p->mode);
  free ((char *) p->tracker);
  free ((char *) p->reason);
  free ((char *) p->sig_version);
  free ((char *) p->status);
  memset (p, 0, sizeof *p);
}

int
ov_state_get_poll (struct ov_state *st, int64_t poll_id, struct ov_poll_record *p)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  struct ov_poll_record row;
  bool failed = false;
  int rc;

  s = ov_db_stmt (st, OV_STMT_GET_POLL,
                  "SELECT " POLL_COLUMNS " FROM polls WHERE id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, poll_id);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "get poll");
  poll_from_row (s, &row);
  *p = row;
  p->mode = ov_db_column_strdup (s, 4, &failed);
  p->tracker = ov_db_column_strdup (s, 5, &failed);
  p->reason = ov_db_column_strdup (s, 6, &failed);
  p->sig_version = ov_db_column_strdup (s, 12, &failed);
  p->status = ov_db_column_strdup (s, 13, &failed);
  if (failed) {
    ov_poll_record_clear (p);
    return -1;
  }
  return 0;
}
