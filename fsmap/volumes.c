/* ovscan — fsmap: from the partition table to opened filesystems.
 *
 * Each partition (or the whole disk, if it has no table) becomes one
 * struct ov_fs, in Linux partition-number order.  A volume TSK cannot open is
 * kept with `error` set so callers can report it; swap (the "SWAPSPACE2"
 * signature at the end of the first page) is kept with not_scanned_ok.
 * Extended-partition containers and empty slots produce nothing.
 * Volumes that are not TSK's are probed first (fsmap/volume_probe.c): an
 * LVM2 PV is kept as a not-scanned volume and its logical volumes are added
 * after the partitions (fsmap/lvm_volumes.c), labelled "VG/LV".
 *
 * A partitionless disk is recognised by its first sector: a FAT/NTFS/exFAT
 * boot sector also carries 0x55AA, so a sector whose OEM/FS fields name one
 * of those is a filesystem, not an MBR; anything else without a table is
 * tried as a filesystem at offset 0.
 * Cost: one table parse, one TSK open per volume.
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "fsmap/ext_journal.h"

static int
read_disk (void *opaque, void *buf, size_t count, uint64_t offset)
{
  return ov_disk_pread (opaque, buf, count, offset);
}

static bool
looks_like_boot_sector (const unsigned char *s)
{
  if (s[0] != 0xeb && s[0] != 0xe9)
    return false;
  return memcmp (s + 3, "NTFS    ", 8) == 0
    || memcmp (s + 3, "EXFAT   ", 8) == 0
    || memcmp (s + 0x36, "FAT", 3) == 0
    || memcmp (s + 0x52, "FAT32", 5) == 0;
}

/* True if the volume holds Linux swap (any page size up to 64 KiB). */
static bool
is_swap (struct ov_disk *disk, uint64_t offset, uint64_t size)
{
  static const unsigned pages[] = { 4096, 8192, 16384, 65536 };
  char sig[10];
  size_t i;

  for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
    if (pages[i] > size || offset > UINT64_MAX - pages[i])
      break;
    if (ov_disk_pread (disk, sig, sizeof sig, offset + pages[i] - 10) == -1)
      return false;
    if (memcmp (sig, "SWAPSPACE2", 10) == 0)
      return true;
  }
  return false;
}

void
ov_fs_free (struct ov_fs *fs)
{
  struct ov_fs_tsk *t;

  if (fs == NULL)
    return;
  t = fs->priv;
  if (t) {
    if (t->fs)
      tsk_fs_close (t->fs);
    if (t->lv_img)
      tsk_img_close (t->lv_img);
    free (t->mft_runs);
    free (t);
  }
  free (fs->error);
  free (fs);
}

struct ov_fs *
ov_volume_add (struct ov_fsmap *map, unsigned partition, uint64_t offset,
               uint64_t size)
{
  struct ov_fs *fs, **v;

  fs = calloc (1, sizeof *fs);
  v = realloc (map->fs, (map->nfs + 1) * sizeof *v);
  if (fs == NULL || v == NULL) {
    free (fs);
    if (v)
      map->fs = v;
    ov_error_errno (errno, "%s: allocating a volume", ov_disk_label (map->disk));
    return NULL;
  }
  map->fs = v;
  fs->index = map->nfs;
  fs->partition = partition;
  if (partition)
    snprintf (fs->label, sizeof fs->label, "p%u", partition);
  fs->offset = offset;
  fs->size = size;
  map->fs[map->nfs++] = fs;
  return fs;
}

void
ov_fs_set_error (struct ov_fs *fs, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) == -1)
    s = NULL;
  va_end (ap);
  free (fs->error);
  fs->error = s ? s : strdup ("out of memory");
}

/* Open the filesystem of one volume; failures land in fs->error. */

/* The filesystem's own id (TSK's fs_id: ext UUID, NTFS serial, FAT volume
 * id) as hex, so a reformat between polls is noticed. */
static void
identity_to_hex (const TSK_FS_INFO *tfs, char *out, size_t len)
{
  size_t i, n = tfs->fs_id_used;

  out[0] = '\0';
  if (n > TSK_FS_INFO_FS_ID_LEN)
    n = TSK_FS_INFO_FS_ID_LEN;
  for (i = 0; i < n && 2 * i + 2 < len; i++)
    snprintf (out + 2 * i, len - 2 * i, "%02x", tfs->fs_id[i]);
}

int
ov_volume_open_fs (struct ov_fsmap *map, struct ov_fs *fs)
{
  /* LVM PVs, LUKS, btrfs, XFS: not TSK's (fsmap/volume_probe.c). */
  switch (ov_volume_probe (map, fs)) {
  case -1: return -1;
  case 1: return 0;
  default: break;
  }
  return ov_volume_open_fs_on (map, fs, map->img);
}

int
ov_volume_open_fs_on (struct ov_fsmap *map, struct ov_fs *fs,
                      TSK_IMG_INFO *img)
{
  const char *where = fs->label[0] ? fs->label : "disk";
  struct ov_fs_tsk *t;
  TSK_FS_INFO *tfs;
  uint64_t fs_bytes;

  tsk_error_reset ();
  tfs = tsk_fs_open_img (img, (TSK_OFF_T) fs->offset, TSK_FS_TYPE_DETECT);
  if (tfs == NULL) {
    if (img == map->img && is_swap (map->disk, fs->offset, fs->size)) {
      snprintf (fs->type, sizeof fs->type, "swap");
      fs->not_scanned_ok = true;
      ov_fs_set_error (fs, "%s: Linux swap space at offset %" PRIu64
                    ": nothing to scan", where, fs->offset);
      return 0;
    }
    ov_fs_set_error (fs, "%s: no filesystem recognised at offset %" PRIu64
                  " (%" PRIu64 " bytes): %s", where, fs->offset, fs->size,
                  ov_tsk_error ());
    return 0;
  }
  snprintf (fs->type, sizeof fs->type, "%s", tsk_fs_type_toname (tfs->ftype));
  fs->block_size = tfs->block_size;
  identity_to_hex (tfs, fs->identity, sizeof fs->identity);
  if (tfs->block_size == 0
      || tfs->block_count > UINT64_MAX / tfs->block_size) {
    ov_fs_set_error (fs, "%s (%s): block count %" PRIu64 " x %u overflows",
                  where, fs->type, (uint64_t) tfs->block_count,
                  tfs->block_size);
    tsk_fs_close (tfs);
    return 0;
  }
  /* The filesystem may claim more than its volume: trust the smaller. */
  fs_bytes = (uint64_t) tfs->block_count * tfs->block_size;
  if (fs_bytes < fs->size)
    fs->size = fs_bytes;
  t = calloc (1, sizeof *t);
  if (t == NULL) {
    tsk_fs_close (tfs);
    ov_error_errno (errno, "calloc");
    return -1;
  }
  t->fs = tfs;
  if (img != map->img)
    t->lv_img = img;
  fs->priv = t;
  /* A mounted ext3/4's copy: replay its journal (fsmap/ext_journal.h). */
  if (img == map->img && ov_ext_journal_attach (map, fs) == -1)
    return -1;
  if (fs->priv)
    ov_runs_prepare_fs (fs, map->disk);
  return 0;
}

int
ov_volumes_open (struct ov_fsmap *map)
{
  struct ov_disk *disk = map->disk;
  struct ov_partition_table table;
  unsigned char s0[512];
  size_t i;

  if (ov_disk_size (disk) >= sizeof s0) {
    if (ov_disk_pread (disk, s0, sizeof s0, 0) == -1)
      return -1;
  }
  else
    memset (s0, 0, sizeof s0);

  if (looks_like_boot_sector (s0))
    table.kind = OV_TABLE_NONE, table.nparts = 0, table.parts = NULL,
      table.warning = NULL;
  else if (ov_partitions_read (read_disk, disk, ov_disk_size (disk),
                               &table) == -1) {
    ov_error_prefix ("%s: reading the partition table", ov_disk_label (disk));
    return -1;
  }

  if (table.kind == OV_TABLE_NONE) {
    struct ov_fs *fs = ov_volume_add (map, 0, 0, ov_disk_size (disk));
    ov_partition_table_free (&table);
    if (fs == NULL || ov_volume_open_fs (map, fs) == -1)
      return -1;
    return ov_lvm_add_volumes (map);
  }

  map->partitioned = true;
  for (i = 0; i < table.nparts; i++) {
    const struct ov_partition *p = &table.parts[i];
    struct ov_fs *fs = ov_volume_add (map, p->number, p->start, p->length);

    if (fs == NULL)
      goto err;
    if (p->error) {
      fs->error = strdup (p->error);
      if (fs->error == NULL)
        goto err;
      continue;
    }
    if (ov_volume_open_fs (map, fs) == -1)
      goto err;
  }
  if (table.warning) {
    /* Keep the table's own problem visible: an ov_fs with no volume. */
    struct ov_fs *fs = ov_volume_add (map, 0, 0, 0);
    if (fs == NULL)
      goto err;
    snprintf (fs->label, sizeof fs->label, "table");
    ov_fs_set_error (fs, "partition table: %s", table.warning);
  }
  ov_partition_table_free (&table);
  return ov_lvm_add_volumes (map);
 err:
  ov_partition_table_free (&table);
  return -1;
}
