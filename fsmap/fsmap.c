/* ovscan — fsmap: opening a disk's map, accessors, freeing files.
 *
 * ov_fsmap_open builds the TSK image over the disk, then volumes.c opens
 * every volume.  The map keeps using the disk handle given to it (TSK reads
 * metadata through it, and needs_tsk reads use it under the map's lock), so
 * the disk must outlive the map.
 */
#include "fsmap/lvm.h"

#include <stdlib.h>

#include "common/error.h"

const char *
ov_run_kind_to_string (enum ov_run_kind kind)
{
  switch (kind) {
  case OV_RUN_DATA: return "data";
  case OV_RUN_SPARSE: return "sparse";
  case OV_RUN_UNWRITTEN: return "unwritten";
  case OV_RUN_RESIDENT: return "resident";
  case OV_RUN_COMPRESSED: return "compressed";
  default: abort ();
  }
}

void
ov_file_free (struct ov_file *f)
{
  size_t i;

  if (f == NULL)
    return;
  for (i = 0; i < f->npaths; i++)
    free (f->paths[i]);
  free (f->paths);
  free (f->stream);
  free (f->runs);
  free (f->resident);
  free (f);
}

struct ov_fsmap *
ov_fsmap_open (struct ov_disk *disk)
{
  struct ov_fsmap *map = calloc (1, sizeof *map);

  if (map == NULL) {
    ov_error ("%s: out of memory", ov_disk_label (disk));
    return NULL;
  }
  map->disk = disk;
  pthread_mutex_init (&map->tsk_lock, NULL);
  map->img = ov_tsk_image_open (disk);
  if (map->img == NULL || ov_volumes_open (map) == -1) {
    ov_fsmap_close (map);
    return NULL;
  }
  return map;
}

void
ov_fsmap_close (struct ov_fsmap *map)
{
  size_t i;

  if (map == NULL)
    return;
  if (map->cached_file)
    tsk_fs_file_close (map->cached_file);
  for (i = 0; i < map->nfs; i++)
    ov_fs_free (map->fs[i]);
  free (map->fs);
  for (i = 0; i < map->npvs; i++)
    ov_lvm_pv_clear (&map->pvs[i]);
  free (map->pvs);
  if (map->img)
    tsk_img_close (map->img);
  pthread_mutex_destroy (&map->tsk_lock);
  free (map);
}

size_t
ov_fsmap_fs_count (const struct ov_fsmap *map)
{
  return map->nfs;
}

struct ov_fs *
ov_fsmap_fs (struct ov_fsmap *map, size_t i)
{
  return i < map->nfs ? map->fs[i] : NULL;
}

bool
ov_fsmap_partitioned (const struct ov_fsmap *map)
{
  return map->partitioned;
}
