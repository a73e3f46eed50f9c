/* ovscan — schema step for running VMs reached over QMP (issue 4).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).
 *
 *   disks.qmp_socket  the VM's QMP monitor (unix socket); NULL for an
 *                     image file.  A live disk keeps tracker 'bitmap' (it is
 *                     tracked by QEMU dirty bitmaps, switched over QMP):
 *                     ov_tracker_for picks the live tracker by this column.
 *   disks.qmp_node    the disk's format node-name, or NULL when
 *   disks.qmp_drive   the drive / device id names it (resolved at each
 *                     poll: -drive node names are generated anew at every
 *                     VM start).
 *   disks.nbd_socket  the VM's own NBD server, when it already runs one
 *                     (QEMU has one per process); NULL: ovscan starts one
 *                     on a private socket for each poll.
 */
#include "db/internal.h"

int
ov_db_migrate_2_to_3_live (struct ov_state *st)
{
  return ov_db_exec (st,
                     "ALTER TABLE disks ADD COLUMN qmp_socket TEXT;"
                     "ALTER TABLE disks ADD COLUMN qmp_node TEXT;"
                     "ALTER TABLE disks ADD COLUMN qmp_drive TEXT;"
                     "ALTER TABLE disks ADD COLUMN nbd_socket TEXT;",
                     "add the live-VM columns to disks");
}
