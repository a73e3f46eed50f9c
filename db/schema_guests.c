/* ovscan — schema step for guest inspection (issue 7).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  It adds the cache of libguestfs inspection
 * (db/inspection.c):
 *   guest_inspections  one row per inspected disk: OS type (NULL = no OS
 *                      found), distribution, product name, version,
 *                      hostname, when.
 *   guest_mounts       the mountpoint ("/boot", or "C:" for a Windows drive)
 *                      of each filesystem (fs label as fsmap names it).
 * LVM and XFS need no schema: LVs are filesystems labelled "VG/LV".
 */
#include "db/internal.h"

static const char schema_guests[] =
  "CREATE TABLE guest_inspections ("
  "  disk_id INTEGER PRIMARY KEY REFERENCES disks (id) ON DELETE CASCADE,"
  "  os_type TEXT,"
  "  distro TEXT,"
  "  product TEXT,"
  "  major INTEGER,"
  "  minor INTEGER,"
  "  hostname TEXT,"
  "  inspected REAL NOT NULL"
  ");"
  "CREATE TABLE guest_mounts ("
  "  disk_id INTEGER NOT NULL REFERENCES disks (id) ON DELETE CASCADE,"
  "  fs_label TEXT NOT NULL,"
  "  mountpoint TEXT NOT NULL,"
  "  PRIMARY KEY (disk_id, fs_label)"
  ");";

int
ov_db_migrate_4_to_5_guests (struct ov_state *st)
{
  return ov_db_exec (st, schema_guests, "create the guest inspection tables");
}
