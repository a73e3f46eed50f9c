/* ovscan — fsmap: directory listings and the disk blocks an inode owns
 * (for ext_incremental.c; the walk builds the same listings as it goes).
 *
 * A listing is what the walk sees in one directory: every entry
 * ov_dirent_wanted() accepts, with the type of the metadata it points to
 * (ov_dir_list reads each entry's metadata exactly as the walk does, through
 * tsk_fs_dir_get).  The blocks an inode owns are its non-resident
 * attributes' runs: data, and for ext the extent-tree (UNIX_EXTENT) and
 * indirect (UNIX_INDIR) blocks TSK exposes as attributes of their own.
 *
 * Bounds: run addresses come from the guest; a range outside the
 * filesystem is clipped away and flagged (*odd), never trusted.
 * Cost: ov_dir_list = one TSK directory load + one metadata load per name.
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"

void
ov_dir_clear (struct ov_dir *d)
{
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; i < d->nentries; i++)
    free (d->entries[i].name);
  free (d->entries);
  free (d->path);
  free (d->runs);
  memset (d, 0, sizeof *d);
}

static int
add_range (struct ov_run **runs, size_t *nruns, size_t *cap, uint64_t disk,
           uint64_t len)
{
  if (ov_vector_reserve ((void **) runs, cap, *nruns + 1, sizeof **runs) == -1)
    return -1;
  (*runs)[(*nruns)++] = (struct ov_run) {
    .file_offset = 0, .disk_offset = disk, .length = len, .kind = OV_RUN_DATA,
  };
  return 0;
}

int
ov_inode_blocks (const struct ov_fs *fs, TSK_FS_FILE *file, bool data_too,
                 struct ov_run **runs, size_t *nruns, size_t *cap, bool *odd)
{
  const struct ov_fs_tsk *t = fs->priv;
  uint64_t bs = t->fs->block_size, nblocks = fs->size / t->fs->block_size;
  const TSK_FS_ATTR *deflt = tsk_fs_file_attr_get (file);
  int nattr = tsk_fs_file_attr_getsize (file), i;

  for (i = 0; i < nattr; i++) {
    const TSK_FS_ATTR *a = tsk_fs_file_attr_get_idx (file, i);
    const TSK_FS_ATTR_RUN *run;
    uint64_t seen = 0;

    if (a == NULL || !(a->flags & TSK_FS_ATTR_NONRES))
      continue;
    if (a == deflt && !data_too)
      continue;
    for (run = a->nrd.run; run != NULL; run = run->next) {
      if (++seen > (uint64_t) OV_MAX_RUNS * 4) {
        *odd = true;
        break;
      }
      if (run->len == 0
          || (run->flags & (TSK_FS_ATTR_RUN_FLAG_SPARSE
                            | TSK_FS_ATTR_RUN_FLAG_FILLER)))
        continue;
      if (run->addr >= nblocks || run->len > nblocks - run->addr) {
        *odd = true;
        continue;
      }
      if (add_range (runs, nruns, cap, fs->offset + run->addr * bs,
                     run->len * bs) == -1)
        return -1;
    }
  }
  return 0;
}
