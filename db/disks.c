/* ovscan — the disks table: one row per tracked disk image (see state.h).
 *
 * A disk's last committed poll is not stored: every row in polls was
 * written by a committed transaction, so it is max(polls.id) of the disk.
 * Removing a disk cascades to its filesystems, files, paths, runs, polls
 * and poll files (foreign keys, ON DELETE CASCADE).
 */
#include "db/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"

#define DISK_COLUMNS \
  "d.id, d.name, d.image, d.format, d.tracker, d.granularity, d.bitmap," \
  " d.generation, d.size," \
  " (SELECT max (p.id) FROM polls p WHERE p.disk_id = d.id)," \
  " d.qmp_socket, d.qmp_node, d.qmp_drive, d.nbd_socket"

void
ov_disk_record_clear (struct ov_disk_record *r)
{
  free (r->name);
  free (r->image);
  free (r->format);
  free (r->tracker);
  free (r->bitmap);
  free (r->qmp_socket);
  free (r->qmp_node);
  free (r->qmp_drive);
  free (r->nbd_socket);
  memset (r, 0, sizeof *r);
}

static int
check_disk_numbers (struct ov_state *st, const struct ov_disk_record *r)
{
  if (r->size > INT64_MAX || r->generation > INT64_MAX) {
    ov_error ("%s: disk %s: size %" PRIu64 " or generation %" PRIu64
              " out of range", st->path, r->name ? r->name : "?", r->size,
              r->generation);
    return -1;
  }
  return 0;
}

int
ov_state_add_disk (struct ov_state *st, struct ov_disk_record *r)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  int rc;

  if (r->name == NULL || r->name[0] == '\0' || r->image == NULL ||
      r->format == NULL || r->tracker == NULL) {
    ov_error ("%s: add disk: name, image, format and tracker are required",
              st->path);
    return -1;
  }
  if (check_disk_numbers (st, r) == -1)
    return -1;
  s = ov_db_stmt (st, OV_STMT_ADD_DISK,
                  "INSERT INTO disks (name, image, format, tracker,"
                  " granularity, bitmap, generation, size, created,"
                  " qmp_socket, qmp_node, qmp_drive, nbd_socket)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                  " ?10, ?11, ?12, ?13)");
  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 1, r->name);
  ov_db_bind_text (s, 2, r->image);
  ov_db_bind_text (s, 3, r->format);
  ov_db_bind_text (s, 4, r->tracker);
  sqlite3_bind_int64 (s, 5, r->granularity);
  ov_db_bind_text (s, 6, r->bitmap);
  ov_db_bind_u64 (s, 7, r->generation);
  ov_db_bind_u64 (s, 8, r->size);
  sqlite3_bind_double (s, 9, ov_unix_seconds ());
  ov_db_bind_text (s, 10, r->qmp_socket);
  ov_db_bind_text (s, 11, r->qmp_node);
  ov_db_bind_text (s, 12, r->qmp_drive);
  ov_db_bind_text (s, 13, r->nbd_socket);
  rc = sqlite3_step (s);
  if (rc == SQLITE_CONSTRAINT_UNIQUE) {
    ov_error ("%s: disk %s already exists", st->path, r->name);
    return -1;
  }
  if (rc != SQLITE_DONE) {
    char what[300];
    snprintf (what, sizeof what, "add disk %s", r->name);
    return ov_db_fail (st, rc, what);
  }
  r->id = sqlite3_last_insert_rowid (st->db);
  r->last_poll = 0;
  return 0;
}

/* Fill r from a row of DISK_COLUMNS. */
static int
disk_from_row (sqlite3_stmt *s, struct ov_disk_record *r)
{
  bool failed = false;

  memset (r, 0, sizeof *r);
  r->id = sqlite3_column_int64 (s, 0);
  r->name = ov_db_column_strdup (s, 1, &failed);
  r->image = ov_db_column_strdup (s, 2, &failed);
  r->format = ov_db_column_strdup (s, 3, &failed);
  r->tracker = ov_db_column_strdup (s, 4, &failed);
  r->granularity = (uint32_t) sqlite3_column_int64 (s, 5);
  r->bitmap = ov_db_column_strdup (s, 6, &failed);
  r->generation = ov_db_column_u64 (s, 7);
  r->size = ov_db_column_u64 (s, 8);
  r->last_poll = sqlite3_column_int64 (s, 9);
  r->qmp_socket = ov_db_column_strdup (s, 10, &failed);
  r->qmp_node = ov_db_column_strdup (s, 11, &failed);
  r->qmp_drive = ov_db_column_strdup (s, 12, &failed);
  r->nbd_socket = ov_db_column_strdup (s, 13, &failed);
  if (failed) {
    ov_disk_record_clear (r);
    return -1;
  }
  return 0;
}

int
ov_state_get_disk (struct ov_state *st, const char *name, struct ov_disk_record *r)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_stmt (st, OV_STMT_GET_DISK,
                  "SELECT " DISK_COLUMNS " FROM disks d WHERE d.name = ?1");
  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 1, name);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW) {
    char what[300];
    snprintf (what, sizeof what, "get disk %s", name);
    return ov_db_fail (st, rc, what);
  }
  return disk_from_row (s, r);
}

int
ov_state_list_disks (struct ov_state *st, ov_disk_record_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st, "SELECT " DISK_COLUMNS " FROM disks d ORDER BY d.name");
  if (s == NULL)
    return -1;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_disk_record r;
    int ret;
    if (disk_from_row (s, &r) == -1)
      return -1;
    ret = cb (opaque, &r);
    ov_disk_record_clear (&r);
    if (ret == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list disks");
  return 0;
}

int
ov_state_remove_disk (struct ov_state *st, const char *name)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  char what[300];

  s = ov_db_stmt (st, OV_STMT_REMOVE_DISK, "DELETE FROM disks WHERE name = ?1");
  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 1, name);
  snprintf (what, sizeof what, "remove disk %s", name);
  if (ov_db_step_done (st, s, what) == -1)
    return -1;
  return sqlite3_changes (st->db) == 0 ? 1 : 0;
}

int
ov_state_update_disk_tracker (struct ov_state *st, const struct ov_disk_record *r)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  char what[300];

  if (check_disk_numbers (st, r) == -1)
    return -1;
  s = ov_db_stmt (st, OV_STMT_UPDATE_DISK_TRACKER,
                  "UPDATE disks SET bitmap = ?2, generation = ?3,"
                  " granularity = ?4, size = ?5 WHERE id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, r->id);
  ov_db_bind_text (s, 2, r->bitmap);
  ov_db_bind_u64 (s, 3, r->generation);
  sqlite3_bind_int64 (s, 4, r->granularity);
  ov_db_bind_u64 (s, 5, r->size);
  snprintf (what, sizeof what, "update tracker of disk %s",
            r->name ? r->name : "?");
  if (ov_db_step_done (st, s, what) == -1)
    return -1;
  if (sqlite3_changes (st->db) == 0) {
    ov_error ("%s: %s: no disk with id %" PRId64, st->path, what, r->id);
    return -1;
  }
  return 0;
}
