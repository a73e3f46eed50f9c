/* ovscan — db: the cached guest inspection of each disk (db/inspection.h).
 *
 * Rows in guest_inspections / guest_mounts (db/schema_guests.c), replaced
 * as a whole under one savepoint.  Cost: a few statements; read once per
 * poll output or list.
 */
#include "db/inspection.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "db/internal.h"

static void
bind_text_or_null (sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text (s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (s, i);
}

static int
put_rows (struct ov_state *st, int64_t disk_id, const struct ov_inspection *in)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *del = NULL, *ins = NULL, *mnt = NULL;
  struct timespec now;
  size_t i;

  clock_gettime (CLOCK_REALTIME, &now);
  del = ov_db_prepare (st, "DELETE FROM guest_mounts WHERE disk_id = ?1");
  if (del == NULL)
    return -1;
  sqlite3_bind_int64 (del, 1, disk_id);
  if (ov_db_step_done (st, del, "clear guest mounts") == -1)
    return -1;
  ins = ov_db_prepare (st, "INSERT OR REPLACE INTO guest_inspections"
                       " (disk_id, os_type, distro, product, major, minor,"
                       " hostname, inspected) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
  if (ins == NULL)
    return -1;
  sqlite3_bind_int64 (ins, 1, disk_id);
  bind_text_or_null (ins, 2, in->os_type);
  bind_text_or_null (ins, 3, in->distro);
  bind_text_or_null (ins, 4, in->product);
  sqlite3_bind_int (ins, 5, in->major);
  sqlite3_bind_int (ins, 6, in->minor);
  bind_text_or_null (ins, 7, in->hostname);
  sqlite3_bind_double (ins, 8, (double) now.tv_sec + now.tv_nsec / 1e9);
  if (ov_db_step_done (st, ins, "store the inspection") == -1)
    return -1;
  mnt = ov_db_prepare (st, "INSERT INTO guest_mounts (disk_id, fs_label,"
                       " mountpoint) VALUES (?1, ?2, ?3)");
  if (mnt == NULL)
    return -1;
  for (i = 0; i < in->nmounts; i++) {
    sqlite3_reset (mnt);
    sqlite3_bind_int64 (mnt, 1, disk_id);
    sqlite3_bind_text (mnt, 2, in->mounts[i].fs_label, -1, SQLITE_STATIC);
    sqlite3_bind_text (mnt, 3, in->mounts[i].mountpoint, -1, SQLITE_STATIC);
    if (ov_db_step_done (st, mnt, "store a guest mountpoint") == -1)
      return -1;
  }
  return 0;
}

int
ov_state_put_inspection (struct ov_state *st, int64_t disk_id,
                         const struct ov_inspection *in)
{
  if (ov_db_savepoint (st) == -1)
    return -1;
  if (put_rows (st, disk_id, in) == -1) {
    ov_db_rollback_to (st);
    return -1;
  }
  return ov_db_release (st);
}

static char *
col_dup (sqlite3_stmt *s, int i, bool *oom)
{
  const unsigned char *v = sqlite3_column_text (s, i);
  char *d;
  if (v == NULL)
    return NULL;
  d = strdup ((const char *) v);
  if (d == NULL)
    *oom = true;
  return d;
}

int
ov_state_get_inspection (struct ov_state *st, int64_t disk_id,
                         struct ov_inspection *out, double *when)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL, *m = NULL;
  bool oom = false;
  int rc;

  memset (out, 0, sizeof *out);
  s = ov_db_prepare (st, "SELECT os_type, distro, product, major, minor,"
                     " hostname, inspected FROM guest_inspections"
                     " WHERE disk_id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "read the inspection");
  out->os_type = col_dup (s, 0, &oom);
  out->distro = col_dup (s, 1, &oom);
  out->product = col_dup (s, 2, &oom);
  out->major = sqlite3_column_int (s, 3);
  out->minor = sqlite3_column_int (s, 4);
  out->hostname = col_dup (s, 5, &oom);
  if (when)
    *when = sqlite3_column_double (s, 6);
  m = ov_db_prepare (st, "SELECT fs_label, mountpoint FROM guest_mounts"
                     " WHERE disk_id = ?1 ORDER BY length (mountpoint), mountpoint");
  if (m == NULL)
    goto err;
  sqlite3_bind_int64 (m, 1, disk_id);
  while ((rc = sqlite3_step (m)) == SQLITE_ROW) {
    struct ov_guest_mount *v = realloc (out->mounts, (out->nmounts + 1) * sizeof *v);
    if (v == NULL) {
      oom = true;
      break;
    }
    out->mounts = v;
    v[out->nmounts].fs_label = col_dup (m, 0, &oom);
    v[out->nmounts].mountpoint = col_dup (m, 1, &oom);
    out->nmounts++;
    if (oom)
      break;
  }
  if (!oom && rc != SQLITE_DONE) {
    ov_db_fail (st, rc, "read the guest mountpoints");
    goto err;
  }
  if (oom) {
    ov_error_errno (ENOMEM, "inspection");
    goto err;
  }
  return 0;
 err:
  ov_inspection_clear (out);
  return -1;
}

int
ov_state_os_summary (struct ov_state *st, int64_t disk_id, char **out)
{
  struct ov_inspection in;
  int r;

  *out = NULL;
  r = ov_state_get_inspection (st, disk_id, &in, NULL);
  if (r != 0)
    return r == 1 ? 0 : -1;
  if (in.os_type == NULL)
    *out = strdup ("no OS found");
  else
    *out = ov_inspection_summary (&in);
  ov_inspection_clear (&in);
  if (*out == NULL) {
    ov_error_errno (ENOMEM, "inspection");
    return -1;
  }
  return 0;
}
