/* ovscan — rescan verdicts inherited from a shared base (see
 * db/fleet_inherit.h).
 *
 * Cost: one join of the base's rows to each VM's (the UNIQUE indexes on
 * filesystems (disk_id, label, offset) and files (fs_id, inode, attr_type,
 * attr_id)), restricted to base rows under the new version: a fraction of
 * a second per VM for 100k files.  Statements are prepared per call.
 */
#include "db/internal.h"
#include "db/fleet_inherit.h"

#include <inttypes.h>

#include "common/error.h"

/* Pairs (VM row vf, base row bf) where vf inherits bf's new verdict.
 * ?1 = base disk id or 0, ?2 = version. */
#define INHERIT_JOINS \
  " FROM bases b JOIN fleet_vms fv ON fv.seeded_base = b.id" \
  " JOIN filesystems bfs ON bfs.disk_id = b.disk_id" \
  " JOIN filesystems vfs ON vfs.disk_id = fv.disk_id AND" OV_FLEET_SAME_FS (vfs, bfs) \
  " JOIN files bf ON bf.fs_id = bfs.id" \
  " JOIN files vf ON vf.fs_id = vfs.id AND" OV_FLEET_SAME_SCAN (vf, bf)
#define INHERIT_WHERE \
  " WHERE (?1 = 0 OR b.disk_id = ?1)" \
  " AND bf.sig_version IS ?2 AND vf.sig_version IS NOT ?2"

static int
report_detections (struct ov_state *st, int64_t base_disk_id, const char *version,
                   ov_inherited_detection_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = ov_db_prepare (st,
    "SELECT d.id, d.name, d.image,"
    " (SELECT max (p.id) FROM polls p WHERE p.disk_id = d.id),"
    " vfs.label, (SELECT min (pa.path) FROM paths pa WHERE pa.file_id = vf.id),"
    " vf.inode, vf.size, bf.signature"
    INHERIT_JOINS " JOIN disks d ON d.id = fv.disk_id"
    INHERIT_WHERE " AND bf.verdict = 'infected' ORDER BY d.name, vf.id");
  int rc;

  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, base_disk_id);
  ov_db_bind_text (s, 2, version);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_inherited_detection d = {
      .disk_id = sqlite3_column_int64 (s, 0),
      .disk = (const char *) sqlite3_column_text (s, 1),
      .image = (const char *) sqlite3_column_text (s, 2),
      .last_poll = sqlite3_column_int64 (s, 3),
      .fs_label = (const char *) sqlite3_column_text (s, 4),
      .path = (const char *) sqlite3_column_text (s, 5),
      .inode = ov_db_column_u64 (s, 6),
      .size = ov_db_column_u64 (s, 7),
      .signature = (const char *) sqlite3_column_text (s, 8),
    };
    if (d.path == NULL || d.signature == NULL)
      continue;                  /* no name left to report: nothing to say */
    if (cb (opaque, &d) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list inherited detections");
  return 0;
}

int
ov_fleet_inherit_verdicts (struct ov_state *st, int64_t base_disk_id,
                           const char *version, double now,
                           ov_inherited_detection_cb cb, void *opaque,
                           uint64_t *inherited)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;

  *inherited = 0;
  if (cb && report_detections (st, base_disk_id, version, cb, opaque) == -1)
    return -1;
  s = ov_db_prepare (st,
    "UPDATE files SET verdict = x.verdict, signature = x.signature,"
    " error = NULL, sig_version = ?2, scanned_at = ?3"
    " FROM (SELECT vf.id AS id, bf.verdict AS verdict, bf.signature AS signature"
    INHERIT_JOINS INHERIT_WHERE ") AS x WHERE files.id = x.id");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, base_disk_id);
  ov_db_bind_text (s, 2, version);
  sqlite3_bind_double (s, 3, now);
  if (ov_db_step_done (st, s, "inherit the base's verdicts") == -1)
    return -1;
  *inherited = (uint64_t) sqlite3_changes (st->db);
  return 0;
}
