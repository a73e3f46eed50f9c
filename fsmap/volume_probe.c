/* ovscan — fsmap: volumes that are not The Sleuth Kit's.
 *
 * Before TSK is asked to open a volume, its first bytes are checked for:
 *   LVM2 PV   "LABELONE" … "LVM2 001" in sectors 0-3: kept as a volume with
 *             nothing to scan of its own (type "LVM2_member"); the PV is
 *             remembered so lvm_volumes.c adds its logical volumes.  If its
 *             metadata cannot be read the volume is an error naming why.
 *   LUKS      "LUKS\xba\xbe" at byte 0 (LUKS1 and LUKS2): encrypted, no key.
 *   btrfs     "_BHRfS_M" at byte 0x10040 (the primary superblock).
 *   XFS       "XFSB" at byte 0: TSK 4.11 cannot read it; opened without
 *             TSK (size, block size, UUID from the superblock) and walked
 *             through the libguestfs appliance (fsmap/xfs_walk.c) when that
 *             is available, else reported.
 * Each of these is reported as "not scanned" with its reason, never dropped.
 * Cost: at most three small reads per volume.
 */
#include "fsmap/lvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "fsmap/appliance.h"

static int
read_disk (void *opaque, void *buf, size_t count, uint64_t offset)
{
  return ov_disk_pread (opaque, buf, count, offset);
}

static const char *
where (const struct ov_fs *fs)
{
  return fs->label[0] ? fs->label : "disk";
}

static int
probe_lvm (struct ov_fsmap *map, struct ov_fs *fs)
{
  struct ov_lvm_pv pv, *v;
  int r;

  r = ov_lvm_probe (read_disk, map->disk, fs->offset, fs->size, &pv);
  if (r <= 0)
    return r;
  snprintf (fs->type, sizeof fs->type, "LVM2_member");
  if (map->lvm_assembled) {
    ov_fs_set_error (fs, "%s: an LVM2 physical volume inside a logical"
                     " volume (nested LVM is not supported)",
                     where (fs));
    ov_lvm_pv_clear (&pv);
    return 1;
  }
  if (pv.error)
    ov_fs_set_error (fs, "%s: LVM2 physical volume %s%s: %s: the logical"
                     " volumes whose metadata it holds are not scanned",
                     where (fs), pv.uuid[0] ? "" : "at offset ",
                     pv.uuid[0] ? pv.uuid : "", pv.error);
  else {
    fs->not_scanned_ok = true;
    ov_fs_set_error (fs, "%s: LVM2 physical volume %s: its logical volumes"
                     " are scanned as VG/LV", where (fs), pv.uuid);
  }
  v = realloc (map->pvs, (map->npvs + 1) * sizeof *v);
  if (v == NULL) {
    ov_lvm_pv_clear (&pv);
    ov_error_errno (errno, "%s", where (fs));
    return -1;
  }
  map->pvs = v;
  map->pvs[map->npvs++] = pv;
  return 1;
}

static uint32_t
be32 (const unsigned char *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* XFS: read through the appliance (fsmap/xfs_walk.c) when it may run.
 * Superblock (big-endian): blocksize @4, dblocks @8, uuid @32. */
static int
probe_xfs (struct ov_fsmap *map, struct ov_fs *fs)
{
  unsigned char sb[48];
  uint32_t bs;
  uint64_t blocks, bytes;
  size_t i;

  snprintf (fs->type, sizeof fs->type, "xfs");
  if (!ov_appliance_available ()) {
    ov_fs_set_error (fs, "%s: XFS at offset %" PRIu64 ": The Sleuth Kit"
                     " 4.11 cannot read XFS and the libguestfs appliance is"
                     " not available (built without it, or"
                     " OVSCAN_NO_APPLIANCE)", where (fs), fs->offset);
    return 1;
  }
  if (fs->size < sizeof sb)
    return 0;
  if (ov_disk_pread (map->disk, sb, sizeof sb, fs->offset) == -1)
    return -1;
  bs = be32 (sb + 4);
  blocks = (uint64_t) be32 (sb + 8) << 32 | be32 (sb + 12);
  if (bs < 512 || bs > 65536 || (bs & (bs - 1)) || blocks == 0
      || blocks > UINT64_MAX / bs) {
    ov_fs_set_error (fs, "%s: XFS at offset %" PRIu64 ": superblock block"
                     " size %" PRIu32 " / %" PRIu64 " blocks invalid",
                     where (fs), fs->offset, bs, blocks);
    return 1;
  }
  bytes = blocks * bs;
  if (bytes < fs->size)
    fs->size = bytes;
  fs->block_size = bs;
  for (i = 0; i < 16; i++)
    snprintf (fs->identity + 2 * i, sizeof fs->identity - 2 * i, "%02x",
              sb[32 + i]);
  return 1;
}

int
ov_volume_probe (struct ov_fsmap *map, struct ov_fs *fs)
{
  unsigned char b[8];
  int r;

  r = probe_lvm (map, fs);
  if (r != 0)
    return r;
  if (fs->size < sizeof b)
    return 0;
  if (ov_disk_pread (map->disk, b, sizeof b, fs->offset) == -1)
    return -1;
  if (memcmp (b, "LUKS\xba\xbe", 6) == 0) {
    snprintf (fs->type, sizeof fs->type, "luks");
    ov_fs_set_error (fs, "%s: LUKS%u encrypted volume at offset %" PRIu64
                     ": encrypted, and ovscan has no key to open it",
                     where (fs), (unsigned) (b[6] << 8 | b[7]), fs->offset);
    return 1;
  }
  if (memcmp (b, "XFSB", 4) == 0)
    return probe_xfs (map, fs);
  if (fs->size >= 0x10040 + 8) {
    if (ov_disk_pread (map->disk, b, sizeof b, fs->offset + 0x10040) == -1)
      return -1;
    if (memcmp (b, "_BHRfS_M", 8) == 0) {
      snprintf (fs->type, sizeof fs->type, "btrfs");
      ov_fs_set_error (fs, "%s: btrfs at offset %" PRIu64 ": The Sleuth"
                       " Kit 4.11 cannot read btrfs and ovscan has no btrfs"
                       " reader", where (fs), fs->offset);
      return 1;
    }
  }
  return 0;
}
