/* ovscan — the metadata pass of one filesystem (see poll_targeted.h).
 *
 * Targeted pass: load the directory state (one sequential read), look up
 * the reverse map for each dirty extent of the fs (old runs of known files:
 * they explain those bytes and their inodes are re-read), add files whose
 * last scan failed (the walk retries them too), run fsmap's targeted pass,
 * and store its directory changes.  A fallback leaves the db untouched and
 * the caller walks.
 * Cost: O(directories) db read + one reverse-map range scan per dirty
 * extent, plus what ext_incremental.h lists.
 */
#include "scanner/poll_targeted.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"

DEFINE_VECTOR (dirp_vector, struct ov_dir *);
DEFINE_VECTOR (inode_vector, uint64_t);

void
ov_targeted_clear (struct ov_targeted *t)
{
  free (t->why_walk);
  ov_ext_incr_result_clear (&t->res);
  memset (t, 0, sizeof *t);
}

static bool
walk_forced (void)
{
  const char *m = getenv ("OVSCAN_METADATA");
  return m && strcmp (m, "walk") == 0;
}

static int
collect_dir (void *opaque, struct ov_dir *d)
{
  dirp_vector *v = opaque;
  if (dirp_vector_append (v, d) == -1) {
    ov_dir_clear (d);
    free (d);
    return -1;
  }
  return 0;
}

struct owned {
  ov_extents pieces;            /* unsorted, merged later */
  inode_vector inodes;
};

static int
collect_piece (void *opaque, uint64_t inode, uint64_t start, uint64_t end)
{
  struct owned *o = opaque;
  if (ov_extents_reserve (&o->pieces, 1) == -1
      || inode_vector_append (&o->inodes, inode) == -1)
    return -1;
  o->pieces.ptr[o->pieces.len++] = (struct ov_extent) {
    .offset = start, .length = end - start };
  return 0;
}

static int
compare_extents (const void *a, const void *b)
{
  const struct ov_extent *x = a, *y = b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

int
ov_targeted_run (struct ov_state *st, int64_t fs_id, struct ov_fsmap *map,
                 struct ov_fs *fs, const ov_extents *dirty, bool fs_full,
                 const struct ov_file_summary *known, size_t nknown,
                 struct ov_targeted *t)
{
  dirp_vector dirs = VECTOR_INIT;
  struct owned o = { VECTOR_INIT, VECTOR_INIT };
  ov_extents owned = VECTOR_INIT;
  struct ov_ext_incr_input in = { .dirty = dirty, .max_table_fraction = 0.10 };
  size_t i;
  int ret = -1;

  memset (t, 0, sizeof *t);
  t->ext = ov_ext_incr_supported (fs);
  if (fs_full)
    return 0;
  if (!t->ext || walk_forced ()) {
    if (asprintf (&t->why_walk, "%s", walk_forced () ? "OVSCAN_METADATA=walk"
                  : ov_fs_translated (fs)
                  ? "LV stored in several runs: full metadata walk"
                  : "no targeted path for this filesystem type") == -1) {
      t->why_walk = NULL;
      ov_error ("out of memory");
      return -1;
    }
    return 0;
  }

  if (ov_state_list_dirs (st, fs_id, collect_dir, &dirs) == -1)
    goto out;
  for (i = 0; i < dirty->len; i++) {
    uint64_t a = dirty->ptr[i].offset, e = a + dirty->ptr[i].length;
    if (e <= fs->offset || a >= fs->offset + fs->size)
      continue;
    if (ov_state_runs_overlapping (st, fs_id, a, e - a, collect_piece, &o) == -1)
      goto out;
  }
  if (o.pieces.len)
    qsort (o.pieces.ptr, o.pieces.len, sizeof o.pieces.ptr[0], compare_extents);
  for (i = 0; i < o.pieces.len; i++)
    if (ov_extents_add (&owned, o.pieces.ptr[i].offset, o.pieces.ptr[i].length) == -1)
      goto out;
  for (i = 0; i < nknown; i++)
    if (known[i].last_scan_failed
        && inode_vector_append (&o.inodes, known[i].key.inode) == -1)
      goto out;

  in.dirs = dirs.ptr;
  in.ndirs = dirs.len;
  in.known_owned = &owned;
  in.reread = o.inodes.ptr;
  in.nreread = o.inodes.len;
  if (ov_ext_incremental (map, fs, &in, &t->res) == -1)
    goto out;
  if (t->res.fallback) {
    t->why_walk = t->res.fallback;
    t->res.fallback = NULL;
    ov_ext_incr_result_clear (&t->res);
    ret = 0;
    goto out;
  }
  for (i = 0; i < t->res.ndirs_gone; i++)
    if (ov_state_delete_dir (st, fs_id, t->res.dirs_gone[i]) == -1)
      goto out;
  for (i = 0; i < t->res.ndirs_put; i++)
    if (ov_state_put_dir (st, fs_id, t->res.dirs_put[i]) == -1)
      goto out;
  t->used = true;
  ret = 0;
 out:
  for (i = 0; i < dirs.len; i++) {
    ov_dir_clear (dirs.ptr[i]);
    free (dirs.ptr[i]);
  }
  free (dirs.ptr);
  free (o.pieces.ptr);
  free (o.inodes.ptr);
  free (owned.ptr);
  if (ret == -1)
    ov_ext_incr_result_clear (&t->res);
  return ret;
}

struct store_dirs {
  struct ov_state *st;
  int64_t fs_id;
};

static int
store_dir (void *opaque, struct ov_dir *d)
{
  struct store_dirs *s = opaque;
  int r = ov_state_put_dir (s->st, s->fs_id, d);
  ov_dir_clear (d);
  free (d);
  return r;
}

int
ov_targeted_walk (struct ov_state *st, int64_t fs_id, struct ov_fsmap *map,
                  struct ov_fs *fs, struct ov_targeted *t,
                  ov_file_cb file_cb, ov_fsmap_error_cb error_cb, void *opaque)
{
  struct store_dirs s = { st, fs_id };

  if (!t->ext)
    return ov_fsmap_walk (map, fs, file_cb, error_cb, opaque);
  if (ov_state_clear_fs_dirs (st, fs_id) == -1)
    return -1;
  return ov_fsmap_walk_dirs (map, fs, file_cb, store_dir, &s, error_cb, opaque);
}

static int
compare_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return (x > y) - (x < y);
}

bool
ov_targeted_examined (const struct ov_targeted *t, uint64_t inode)
{
  return t->res.nexamined
    && bsearch (&inode, t->res.examined, t->res.nexamined, sizeof inode,
                compare_u64) != NULL;
}
