/* ovscan — fsmap: a TSK attribute (one data stream) -> struct ov_file runs.
 *
 * Mapping (checked against TSK 4.11.1 sources):
 *   resident (TSK_FS_ATTR_RES: NTFS resident $DATA, ext4 inline data, which
 *     TSK exposes as a resident attribute) -> one OV_RUN_RESIDENT run whose
 *     disk_offset is the start of the MFT record / on-disk inode holding it
 *     (TSK leaves rd.offset unimplemented, so we compute it: NTFS through
 *     $MFT's own runs, ext through the group descriptor), bytes copied into
 *     f->resident.  If the record cannot be located, disk_offset is the
 *     filesystem's first byte.
 *   non-resident runs: block b -> ABSOLUTE disk byte fs->offset + b*block_size.
 *     TSK_FS_ATTR_RUN_FLAG_SPARSE and _FILLER -> OV_RUN_SPARSE (TSK reads
 *     both as zeros).  ext4 unwritten extents: TSK 4.11 turns them into
 *     SPARSE runs with addr 0 (ext2fs_make_data_run_extent), so their disk
 *     location is lost and they appear as OV_RUN_SPARSE, not UNWRITTEN.
 *     Gaps between runs and a tail past the last run are SPARSE.
 *   NTFS initsize < size: the bytes past initsize -> OV_RUN_UNWRITTEN.
 *   compressed (TSK_FS_ATTR_COMP) -> OV_RUN_COMPRESSED runs + needs_tsk.
 *   encrypted attribute or run, skiplen != 0 -> needs_tsk.
 *
 * Trust: a run that starts or ends outside the filesystem, overlaps its
 * predecessor, or overflows, is not believed: it becomes SPARSE in our list,
 * the file gets needs_tsk (so its content still comes from TSK, which will
 * fail or not on its own terms) and the problem is reported.  The final list
 * always satisfies ov_runs_validate.
 * Cost: O(runs of the attribute).
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Build runs of a non-resident attribute into l.  Returns 0 or -1 (ENOMEM /
 * too many runs); *distrust gets a message (malloc'd) for the first run we
 * refused to believe. */
static int
nonresident_runs (const struct ov_fs *fs, const TSK_FS_ATTR *attr,
                  uint64_t size, struct ov_runlist *l, char **distrust)
{
  const struct ov_fs_tsk *t = fs->priv;
  uint64_t bs = t->fs->block_size;
  uint64_t lo = fs->offset, hi = fs->offset + fs->size;
  bool compressed = attr->flags & TSK_FS_ATTR_COMP;
  const TSK_FS_ATTR_RUN *run;
  uint64_t seen = 0;

  for (run = attr->nrd.run; run != NULL; run = run->next) {
    uint64_t foff, len, disk;
    enum ov_run_kind kind;

    if (++seen > (uint64_t) OV_MAX_RUNS * 4) {
      ov_error ("more than %u runs", OV_MAX_RUNS * 4);
      return -1;
    }
    if (run->len == 0)
      continue;
    if (run->offset > UINT64_MAX / bs || run->len > UINT64_MAX / bs
        || run->offset * bs > UINT64_MAX - run->len * bs) {
      if (*distrust == NULL && asprintf (distrust, "run at block %" PRIu64
                                         " of %" PRIu64 " blocks overflows",
                                         (uint64_t) run->offset,
                                         (uint64_t) run->len) == -1)
        *distrust = NULL;
      break;
    }
    foff = run->offset * bs;
    len = run->len * bs;
    if (foff >= size)
      break;                    /* allocated slack past the end */
    if (foff < ov_runlist_end (l)) {
      if (*distrust == NULL && asprintf (distrust, "run at file offset %"
                                         PRIu64 " overlaps the previous one",
                                         foff) == -1)
        *distrust = NULL;
      continue;
    }
    if (foff > ov_runlist_end (l)
        && ov_runlist_append (l, OV_RUN_SPARSE, ov_runlist_end (l), 0,
                              foff - ov_runlist_end (l)) == -1)
      return -1;
    if (len > size - foff)
      len = size - foff;

    if (run->flags & (TSK_FS_ATTR_RUN_FLAG_SPARSE | TSK_FS_ATTR_RUN_FLAG_FILLER))
      kind = OV_RUN_SPARSE, disk = 0;
    else {
      kind = compressed ? OV_RUN_COMPRESSED : OV_RUN_DATA;
      if (run->addr > (UINT64_MAX - fs->offset) / bs) {
        disk = UINT64_MAX;      /* refused below */
      }
      else
        disk = fs->offset + run->addr * bs;
      if (disk < lo || disk > hi || len > hi - disk) {
        if (*distrust == NULL
            && asprintf (distrust, "run at file offset %" PRIu64 " (%" PRIu64
                         " bytes) points to block %" PRIu64 ", outside the"
                         " filesystem (%" PRIu64 " blocks)", foff, len,
                         (uint64_t) run->addr, fs->size / bs) == -1)
          *distrust = NULL;
        kind = OV_RUN_SPARSE, disk = 0;
      }
    }
    if (ov_runlist_append (l, kind, foff, disk, len) == -1)
      return -1;
  }
  ov_runlist_truncate (l, size);
  if (ov_runlist_end (l) < size
      && ov_runlist_append (l, OV_RUN_SPARSE, ov_runlist_end (l), 0,
                            size - ov_runlist_end (l)) == -1)
    return -1;
  return 0;
}

/* Absolute disk offset of the record holding inode's resident data. */
static uint64_t
record_offset (const struct ov_fs *fs, uint64_t inode)
{
  const struct ov_fs_tsk *t = fs->priv;
  TSK_FS_INFO *tfs = t->fs;

  if (TSK_FS_TYPE_ISNTFS (tfs->ftype) && t->mft_record_size && t->mft_runs
      && inode <= UINT64_MAX / t->mft_record_size) {
    uint64_t off;
    if (ov_runs_map (t->mft_runs, t->mft_nruns, inode * t->mft_record_size,
                     &off) == 0)
      return off;
  }
  if (TSK_FS_TYPE_ISEXT (tfs->ftype) && t->ext_inodes_per_group
      && inode >= 1) {
    uint64_t group = (inode - 1) / t->ext_inodes_per_group;
    uint64_t index = (inode - 1) % t->ext_inodes_per_group;
    unsigned char d[64];
    uint64_t table;

    size_t n = t->ext_desc_size >= 64 ? 64 : 32;

    if (group < t->ext_ngroups
        && tsk_img_read (tfs->img_info,
                         (TSK_OFF_T) (t->ext_gdt_offset
                                      + group * t->ext_desc_size),
                         (char *) d, n) == (ssize_t) n) {
      table = le32 (d + 8);
      if (n >= 64)
        table |= (uint64_t) le32 (d + 0x28) << 32;
      if (table < fs->size / tfs->block_size) {
        uint64_t off = table * tfs->block_size + index * t->ext_inode_size;
        if (off < fs->size)
          return fs->offset + off;
      }
    }
  }
  return fs->offset;
}

uint32_t
ov_inode_generation (const struct ov_fs *fs, const TSK_FS_META *meta)
{
  const struct ov_fs_tsk *t = fs->priv;
  TSK_FS_INFO *tfs = t->fs;
  unsigned char g[4];
  uint64_t off;

  if (TSK_FS_TYPE_ISNTFS (tfs->ftype))
    return meta->seq;
  if (!TSK_FS_TYPE_ISEXT (tfs->ftype) || t->ext_inode_size < 0x68)
    return 0;
  /* i_generation is at byte 0x64 of the on-disk inode. */
  off = record_offset (fs, meta->addr);
  if (off == fs->offset ||
      tsk_img_read (tfs->img_info, (TSK_OFF_T) (off + 0x64), (char *) g, 4) != 4)
    return 0;
  return le32 (g);
}

int
ov_runs_from_attr (struct ov_fs *fs, const TSK_FS_ATTR *attr, uint64_t inode,
                   struct ov_file *f, bool *trust_problem)
{
  struct ov_runlist l = { NULL, 0, 0 };
  char *distrust = NULL;
  uint64_t size;

  *trust_problem = false;
  if (attr->size < 0 || (uint64_t) attr->size > OV_MAX_FILE_SIZE) {
    ov_error ("stream size %lld out of range", (long long) attr->size);
    return -1;
  }
  size = (uint64_t) attr->size;
  f->size = size;
  f->attr_type = attr->type;
  f->attr_id = attr->id;

  if (attr->flags & TSK_FS_ATTR_RES) {
    size_t have;

    if (size > OV_MAX_RESIDENT) {
      ov_error ("resident stream of %" PRIu64 " bytes (more than %u)", size,
                OV_MAX_RESIDENT);
      return -1;
    }
    f->resident = calloc (1, size ? size : 1);
    if (f->resident == NULL) {
      ov_error_errno (errno, "calloc");
      return -1;
    }
    have = attr->rd.buf ? attr->rd.buf_size : 0;
    memcpy (f->resident, attr->rd.buf, have < size ? have : size);
    if (ov_runlist_append (&l, OV_RUN_RESIDENT, 0,
                           record_offset (fs, inode), size) == -1)
      goto err;
    f->runs = l.runs;
    f->nruns = l.nruns;
    return 0;
  }

  if (!(attr->flags & TSK_FS_ATTR_NONRES)) {
    ov_error ("stream is neither resident nor non-resident (flags 0x%x)",
              (unsigned) attr->flags);
    return -1;
  }
  if (nonresident_runs (fs, attr, size, &l, &distrust) == -1)
    goto err;
  if (attr->nrd.initsize >= 0 && (uint64_t) attr->nrd.initsize < size
      && !(attr->flags & TSK_FS_ATTR_COMP)
      && ov_runlist_zero_after (&l, (uint64_t) attr->nrd.initsize) == -1)
    goto err;
  if (attr->flags & (TSK_FS_ATTR_COMP | TSK_FS_ATTR_ENC))
    f->needs_tsk = true;
  if (attr->nrd.skiplen != 0 && distrust == NULL
      && asprintf (&distrust, "stream starts %" PRIu32 " bytes into its first"
                   " block", attr->nrd.skiplen) == -1)
    distrust = NULL;
  if (distrust == NULL
      && ov_runs_validate (l.runs, l.nruns, size, fs->offset,
                           fs->offset + fs->size) == -1)
    distrust = strdup (ov_last_error ());
  if (distrust) {
    f->needs_tsk = true;
    *trust_problem = true;
    ov_error ("%s: content will be read through TSK", distrust);
    free (distrust);
  }
  f->runs = l.runs;
  f->nruns = l.nruns;
  return 0;

 err:
  free (l.runs);
  free (distrust);
  free (f->resident);
  f->resident = NULL;
  return -1;
}

/* NTFS: record size from the boot sector, $MFT's runs from TSK. */
static void
prepare_ntfs (struct ov_fs *fs, struct ov_fs_tsk *t)
{
  unsigned char boot[512];
  TSK_FS_FILE *mft;
  const TSK_FS_ATTR *data;
  struct ov_file tmp;
  bool problem;
  int8_t per_record;
  uint32_t cluster;

  if (tsk_img_read (t->fs->img_info, (TSK_OFF_T) fs->offset, (char *) boot,
                    sizeof boot) != (ssize_t) sizeof boot)
    return;
  cluster = (uint32_t) le16 (boot + 0x0b) * boot[0x0d];
  per_record = (int8_t) boot[0x40];
  if (per_record < 0 && per_record >= -20)
    t->mft_record_size = UINT32_C (1) << -per_record;
  else if (per_record > 0 && cluster <= 65536)
    t->mft_record_size = (uint32_t) per_record * cluster;
  if (t->mft_record_size < 256 || t->mft_record_size > 65536) {
    t->mft_record_size = 0;
    return;
  }
  mft = tsk_fs_file_open_meta (t->fs, NULL, 0);
  if (mft == NULL)
    return;
  data = tsk_fs_file_attr_get_type (mft, TSK_FS_ATTR_TYPE_NTFS_DATA, 0, 0);
  memset (&tmp, 0, sizeof tmp);
  if (data && (data->flags & TSK_FS_ATTR_NONRES)
      && ov_runs_from_attr (fs, data, 0, &tmp, &problem) == 0 && !problem) {
    t->mft_runs = tmp.runs;
    t->mft_nruns = tmp.nruns;
  }
  else {
    free (tmp.runs);
    free (tmp.resident);
  }
  tsk_fs_file_close (mft);
}

/* ext2/3/4: superblock fields locating the inode tables. */
static void
prepare_ext (struct ov_fs *fs, struct ov_fs_tsk *t)
{
  unsigned char sb[1024];
  uint64_t blocks, first, per_group, bs;

  if (tsk_img_read (t->fs->img_info, (TSK_OFF_T) (fs->offset + 1024),
                    (char *) sb, sizeof sb) != (ssize_t) sizeof sb)
    return;
  if (le16 (sb + 56) != 0xef53 || le32 (sb + 24) > 6)
    return;
  bs = UINT64_C (1024) << le32 (sb + 24);
  blocks = le32 (sb + 4);
  if (le32 (sb + 96) & 0x80)                     /* INCOMPAT_64BIT */
    blocks |= (uint64_t) le32 (sb + 0x150) << 32;
  first = le32 (sb + 20);
  per_group = le32 (sb + 32);
  if (per_group == 0 || first >= blocks || le32 (sb + 40) == 0)
    return;
  t->ext_ngroups = (uint32_t) ((blocks - first + per_group - 1) / per_group
                               > UINT32_MAX ? UINT32_MAX
                               : (blocks - first + per_group - 1) / per_group);
  t->ext_inode_size = le32 (sb + 76) == 0 ? 128 : le16 (sb + 88);
  t->ext_desc_size = 32;
  if (le32 (sb + 96) & 0x80) {
    if (le16 (sb + 254) < 64 || le16 (sb + 254) > 1024
        || (le16 (sb + 254) & (le16 (sb + 254) - 1)))
      return;
    t->ext_desc_size = le16 (sb + 254);
  }
  t->ext_first_ino = le32 (sb + 76) == 0 ? 11 : le32 (sb + 84);
  if (t->ext_inode_size < 128 || t->ext_inode_size > bs)
    return;
  t->ext_gdt_offset = fs->offset + (first + 1) * bs;
  t->ext_inodes_per_group = le32 (sb + 40);
}

void
ov_runs_prepare_fs (struct ov_fs *fs, struct ov_disk *disk)
{
  struct ov_fs_tsk *t = fs->priv;

  (void) disk;
  if (TSK_FS_TYPE_ISNTFS (t->fs->ftype))
    prepare_ntfs (fs, t);
  else if (TSK_FS_TYPE_ISEXT (t->fs->ftype))
    prepare_ext (fs, t);
}
