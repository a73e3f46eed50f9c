/* ovscan — rescan verdicts inherited from a shared base (issue 5).
 *
 * A VM on a shared base starts with a copy of the base's file rows
 * (ov_fleet_seed).  A VM row is INHERITED while it is still that copy as
 * far as scanning goes: same filesystem (label, offset) and key (inode,
 * attr) as a base row, same size, runs digest and generation, and the same
 * scanned_poll (the base's scan: a VM poll that read the file would have
 * set its own), with a clean or infected verdict on both sides.  Its
 * content is then the base's content, because the base is never written
 * and every write of the VM lands in its own layers, which its polls read.
 *
 * So after a signature update the rolling rescan scans a base's content
 * once for the whole fleet: inherited VM rows are not selected
 * (OV_FLEET_INHERITED_SQL in db/coverage.c) and take the base row's new
 * verdict when the base is rescanned (ov_fleet_inherit_verdicts), in the
 * same transaction as the base's own results.  Only each VM's own files
 * are rescanned in the VM.
 */
#ifndef OVSCAN_DB_FLEET_INHERIT_H
#define OVSCAN_DB_FLEET_INHERIT_H

#include <stdint.h>

struct ov_state;

/* SQL (one definition, shared by the selection and the update): the VM
 * filesystem VFS is the base filesystem BFS, and the VM file row VF is
 * still the base row BF as far as scanning goes.  The arguments are table
 * aliases; each macro is a condition to put after AND. */
#define OV_FLEET_SAME_FS(vfs, bfs) \
  " " #vfs ".label = " #bfs ".label AND " #vfs ".offset = " #bfs ".offset"
#define OV_FLEET_SAME_SCAN(vf, bf) \
  " " #vf ".inode = " #bf ".inode AND " #vf ".attr_type = " #bf ".attr_type" \
  " AND " #vf ".attr_id = " #bf ".attr_id" \
  " AND " #vf ".scanned_poll = " #bf ".scanned_poll AND " #vf ".size = " #bf ".size" \
  " AND " #vf ".runs_digest IS " #bf ".runs_digest" \
  " AND " #vf ".generation = " #bf ".generation" \
  " AND " #bf ".verdict IN ('clean', 'infected')" \
  " AND " #vf ".verdict IN ('clean', 'infected')"

/* SQL: true when the VM file row f (in filesystem fs) is an inherited copy
 * of a base row (any version).  For a WHERE clause over "files f JOIN
 * filesystems fs ON fs.id = f.fs_id". */
#define OV_FLEET_INHERITED_SQL \
  "EXISTS (SELECT 1 FROM fleet_vms fv JOIN bases b ON b.id = fv.seeded_base" \
  " JOIN filesystems bfs ON bfs.disk_id = b.disk_id AND" OV_FLEET_SAME_FS (fs, bfs) \
  " JOIN files bf ON bf.fs_id = bfs.id AND" OV_FLEET_SAME_SCAN (f, bf) \
  " WHERE fv.disk_id = fs.disk_id)"

/* An inherited row that just took an infected verdict: a detection of the
 * VM (strings valid during the callback only). */
struct ov_inherited_detection {
  int64_t disk_id;
  const char *disk, *image;
  int64_t last_poll;           /* the VM's last committed poll */
  const char *fs_label;
  const char *path;            /* raw guest bytes, the row's first path */
  uint64_t inode, size;
  const char *signature;
};
typedef int (*ov_inherited_detection_cb) (void *opaque,
                                          const struct ov_inherited_detection *d);

/* Give every inherited row of every VM seeded from the base whose disk row
 * is base_disk_id (0 = every base) the base row's verdict under VERSION,
 * where the VM row is under another version.  Infected ones are passed to
 * cb first (before the update; cb may write the db).  Inside the caller's
 * transaction.  *inherited = rows updated. */
int ov_fleet_inherit_verdicts (struct ov_state *st, int64_t base_disk_id,
                               const char *version, double now,
                               ov_inherited_detection_cb cb, void *opaque,
                               uint64_t *inherited);

#endif
