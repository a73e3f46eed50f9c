/* ovscan — fsmap: the logical volumes of the disk's LVM2 PVs as volumes.
 *
 * After the partitions are opened, the PVs volume_probe.c found are
 * assembled (fsmap/lvm.c) and every visible LV becomes one struct ov_fs
 * labelled "VG/LV" (so its paths are "VG/LV:/etc/fstab"), appended after
 * the partitions in metadata order.  An LV whose pieces form one run on the
 * disk is opened at that absolute offset on the disk's own TSK image: TSK
 * reads it through the same disk source, and every run, inode table and
 * directory block comes out as an absolute disk offset, so dirty disk
 * extents of later polls map to the LV's files with no translation.  An LV
 * stored in several runs (lvextend, segments on two PVs) is read through an
 * image of its own and its files' runs are translated to disk offsets
 * (fsmap/lvm_image.c); only TSK filesystems are read that way (an XFS or a
 * nested PV in such an LV is reported "no filesystem recognised").  An LV
 * whose pieces leave the disk or overlap, or that LVM metadata marks
 * unusable (missing PV, past the disk, unsupported
 * segment type), is kept with `error` set; the other volumes are unaffected.
 * Problems of whole VGs become one volume labelled "lvm" with the message.
 * Cost: the metadata parse, one TSK open per LV.
 */
#include "fsmap/lvm.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* An LV in several runs: its own TSK image (fsmap/lvm_image.c); fs->offset
 * is the lowest disk byte of its pieces and fs->size the span up to the
 * highest, so a dirty extent on any piece makes it dirty.  -1 on ENOMEM. */
static int
open_translated (struct ov_fsmap *map, struct ov_fs *fs,
                 const struct ov_lvm_lv *lv)
{
  TSK_IMG_INFO *img;
  uint64_t lo, hi;

  if (ov_lvm_span (lv, ov_disk_size (map->disk), &lo, &hi) == -1) {
    ov_fs_set_error (fs, "%s", ov_last_error ());
    return 0;
  }
  fs->offset = lo;
  fs->size = lv->size;
  img = ov_lvm_image_open (map->disk, lv, lo);
  if (img == NULL)
    return -1;
  if (ov_volume_open_fs_on (map, fs, img) == -1) {
    tsk_img_close (img);
    return -1;
  }
  if (fs->priv == NULL) {
    char magic[6] = { 0 };
    const char *what = fs->error ? fs->error : "no filesystem recognised";

    /* Volumes ovscan reads other ways need an LV in one run. */
    if (tsk_img_read (img, (TSK_OFF_T) lo, magic, sizeof magic)
        == (ssize_t) sizeof magic) {
      if (memcmp (magic, "XFSB", 4) == 0)
        what = "XFS is only read in an LV stored in one run";
      else if (memcmp (magic, "LUKS\xba\xbe", 6) == 0)
        what = "LUKS encrypted volume (no key)";
    }
    ov_fs_set_error (fs, "LV %s (stored in %zu runs on the disk): %s",
                     fs->label, lv->npieces, what);
    tsk_img_close (img);
  }
  fs->size = hi - lo;
  return 0;
}

int
ov_lvm_add_volumes (struct ov_fsmap *map)
{
  struct ov_lvm_layout layout;
  size_t i;
  int ret = -1;

  map->lvm_assembled = true;
  if (map->npvs == 0)
    return 0;
  if (ov_lvm_assemble (map->pvs, map->npvs, ov_disk_size (map->disk),
                       &layout) == -1)
    return -1;
  for (i = 0; i < layout.nlvs; i++) {
    const struct ov_lvm_lv *lv = &layout.lvs[i];
    struct ov_fs *fs = ov_volume_add (map, 0, 0, lv->size);
    uint64_t offset;

    if (fs == NULL)
      goto out;
    snprintf (fs->label, sizeof fs->label, "%s/%s", lv->vg, lv->name);
    if (lv->error) {
      ov_fs_set_error (fs, "LV %s: %s", fs->label, lv->error);
      continue;
    }
    if (ov_lvm_contiguous (lv, &offset) == -1) {
      if (open_translated (map, fs, lv) == -1)
        goto out;
      continue;
    }
    fs->offset = offset;
    if (ov_volume_open_fs (map, fs) == -1)
      goto out;
  }
  for (i = 0; i < layout.nwarnings; i++) {
    struct ov_fs *fs = ov_volume_add (map, 0, 0, 0);
    if (fs == NULL)
      goto out;
    snprintf (fs->label, sizeof fs->label, "lvm");
    ov_fs_set_error (fs, "LVM: %s", layout.warnings[i]);
  }
  ret = 0;
 out:
  ov_lvm_layout_free (&layout);
  return ret;
}
