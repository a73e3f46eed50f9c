/* ovscan — fsmap: targeted metadata refresh of ext2/3/4 (see
 * ext_incremental.h for what is re-read, the safety net, and the cost):
 * the pass itself, dirty inode slots, directory listings, candidates.
 * Geometry and the safety net are in ext_layout.c, the names tree in
 * ext_tree.c (shared state: ext_incr_internal.h).
 *
 * Invariants kept here:
 *   - nothing is returned unless every dirty byte of the filesystem was
 *     explained; on any doubt r->fallback is set and the caller walks;
 *   - candidate paths come from one in-memory names tree built like the
 *     walk's recursion (same entry filter, same path joining, same loop and
 *     depth rules), so they are byte-identical to the walk's;
 *   - every TSK call runs under map->tsk_lock (held for the whole pass; no
 *     callback runs meanwhile).
 * Guest numbers (group count, descriptor fields, inode numbers, block
 * addresses) are bound-checked before use; a bad one is a fallback.
 */
#include "fsmap/ext_incr_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"
#include "fsmap/internal.h"

void
ov_ext_incr_result_clear (struct ov_ext_incr_result *r)
{
  size_t i;

  free (r->fallback);
  for (i = 0; i < r->nfiles; i++)
    ov_file_free (r->files[i]);
  free (r->files);
  free (r->examined);
  for (i = 0; i < r->ndirs_put; i++) {
    ov_dir_clear (r->dirs_put[i]);
    free (r->dirs_put[i]);
  }
  free (r->dirs_put);
  free (r->dirs_gone);
  memset (r, 0, sizeof *r);
}

bool
ov_ext_incr_supported (const struct ov_fs *fs)
{
  const struct ov_fs_tsk *t = fs->priv;
  /* Not for an LV in several runs: this pass works in disk offsets. */
  return fs->error == NULL && t && t->fs && t->lv_img == NULL
    && TSK_FS_TYPE_ISEXT (t->fs->ftype)
    && t->ext_inodes_per_group && t->ext_inode_size && t->ext_ngroups;
}

/* Record why we give up (first reason wins).  Always returns -1. */
int
ext_give_up (struct ctx *c, const char *fmt, ...)
{
  va_list ap;

  if (c->r->fallback == NULL) {
    va_start (ap, fmt);
    if (vasprintf (&c->r->fallback, fmt, ap) == -1)
      c->r->fallback = NULL;
    va_end (ap);
    if (c->r->fallback == NULL)
      c->failed = true;
  }
  return -1;
}

int
ext_oom (struct ctx *c)
{
  c->failed = true;
  return -1;
}

/* ---- sets ---- */

static int
examine (struct ctx *c, uint64_t inode)
{
  return u64_vector_append (&c->examined, inode) == -1 ? ext_oom (c) : 0;
}

int
ext_add_candidate (struct ctx *c, uint64_t inode)
{
  if (ov_inode_map_get (&c->cand_index, inode, NULL) == 0)
    return 0;
  if (ov_vector_reserve ((void **) &c->cands, &c->cands_cap, c->ncands + 1,
                         sizeof *c->cands) == -1
      || ov_inode_map_put (&c->cand_index, inode, c->ncands) == -1)
    return ext_oom (c);
  c->cands[c->ncands++] = (struct candidate) { .inode = inode,
                                               .names = VECTOR_INIT };
  return examine (c, inode);
}

const struct ov_dir *
ext_old_dir (struct ctx *c, uint64_t inode)
{
  uint64_t i;
  return ov_inode_map_get (&c->old_index, inode, &i) == 0 ? c->in->dirs[i] : NULL;
}

struct ov_dir *
ext_listed_dir (struct ctx *c, uint64_t inode)
{
  uint64_t i;
  return ov_inode_map_get (&c->listed_index, inode, &i) == 0
    ? c->listed.ptr[i] : NULL;
}

/* ---- reading inodes and directories ---- */

/* Open inode; NULL after give_up. */
static TSK_FS_FILE *
open_inode (struct ctx *c, uint64_t inode)
{
  TSK_FS_FILE *f;

  tsk_error_reset ();
  f = tsk_fs_file_open_meta (c->tfs, NULL, inode);
  if (f == NULL || f->meta == NULL) {
    ext_give_up (c, "inode %" PRIu64 ": cannot read metadata: %s", inode,
             ov_tsk_error ());
    if (f)
      tsk_fs_file_close (f);
    return NULL;
  }
  return f;
}

/* The blocks an allocated inode owns are explained (data_too: its data
 * too; otherwise only extent-tree/indirect blocks). */
static int
explain_inode_blocks (struct ctx *c, TSK_FS_FILE *f, bool data_too)
{
  struct ov_run *runs = NULL;
  size_t n = 0, cap = 0;
  bool odd = false;
  int r;

  if (!(f->meta->flags & TSK_FS_META_FLAG_ALLOC))
    return 0;
  if (ov_inode_blocks (c->fs, f, data_too, &runs, &n, &cap, &odd) == -1) {
    free (runs);
    return ext_oom (c);
  }
  r = ext_explain_runs (c, runs, n);
  free (runs);
  if (r == 0 && odd)
    return ext_give_up (c, "inode %" PRIu64 ": blocks outside the filesystem",
                    (uint64_t) f->meta->addr);
  return r;
}

static int
compare_entry_names (const void *a, const void *b)
{
  const struct ov_dirent *x = a, *y = b;
  int r = strcmp (x->name, y->name);
  if (r)
    return r;
  return (x->inode > y->inode) - (x->inode < y->inode);
}

/* The type the old listing recorded for (name, inode), or 0. */
static uint8_t
old_type (const struct ov_dirent *sorted, size_t n, const char *name,
          uint64_t inode)
{
  struct ov_dirent key = { .inode = inode, .name = (char *) name };
  const struct ov_dirent *e;

  if (n == 0)
    return 0;
  e = bsearch (&key, sorted, n, sizeof *sorted, compare_entry_names);
  return e ? e->type : 0;
}

/* List directory `inode` from TSK as the walk does (path set later).
 * An entry whose name and inode the old listing had, and whose inode slot
 * was not written, keeps its recorded type: the on-disk inode is the same
 * bytes the walk read then, so its metadata cannot have changed.  Only
 * the other entries cost a metadata load. */
int
ext_list_dir (struct ctx *c, uint64_t inode)
{
  TSK_FS_DIR *dir;
  struct ov_dir *d;
  const struct ov_dir *old = ext_old_dir (c, inode);
  struct ov_dirent *sorted = NULL;
  size_t n, i, cap = 0, rcap = 0, nsorted = 0;
  bool odd = false;

  if (ext_listed_dir (c, inode))
    return 0;
  tsk_error_reset ();
  dir = tsk_fs_dir_open_meta (c->tfs, inode);
  if (dir == NULL)
    return ext_give_up (c, "directory inode %" PRIu64 ": cannot read: %s", inode,
                    ov_tsk_error ());
  d = calloc (1, sizeof *d);
  if (d == NULL) {
    tsk_fs_dir_close (dir);
    return ext_oom (c);
  }
  d->inode = inode;
  if (old && old->nentries) {
    if ((sorted = malloc (old->nentries * sizeof *sorted)) == NULL)
      goto nomem;
    memcpy (sorted, old->entries, old->nentries * sizeof *sorted);
    nsorted = old->nentries;
    qsort (sorted, nsorted, sizeof *sorted, compare_entry_names);
  }
  n = tsk_fs_dir_getsize (dir);
  for (i = 0; i < n; i++) {
    const TSK_FS_NAME *name = tsk_fs_dir_get_name (dir, i);
    TSK_FS_FILE *file;
    uint8_t type;

    if (!ov_dirent_wanted (c->tfs, name))
      continue;
    if (ext_inode_slot_dirty (c, name->meta_addr)) {
      uint64_t v;
      type = ov_inode_map_get (&c->slot_types, name->meta_addr, &v) == 0
        ? (uint8_t) v : 0;
    }
    else
      type = old_type (sorted, nsorted, name->name, name->meta_addr);
    if (type == OV_DIRENT_REG || type == OV_DIRENT_DIR
        || type == OV_DIRENT_OTHER)
      goto add;
    tsk_error_reset ();
    file = tsk_fs_dir_get (dir, i);
    if (file == NULL || file->meta == NULL
        || file->meta->type == TSK_FS_META_TYPE_UNDEF) {
      if (file)
        tsk_fs_file_close (file);
      ext_give_up (c, "directory inode %" PRIu64 ": entry inode %" PRIu64
               ": metadata unreadable", inode, (uint64_t) name->meta_addr);
      goto fail;
    }
    type = file->meta->type == TSK_FS_META_TYPE_DIR ? OV_DIRENT_DIR
      : file->meta->type == TSK_FS_META_TYPE_REG ? OV_DIRENT_REG
      : OV_DIRENT_OTHER;
    tsk_fs_file_close (file);
  add:
    if (ov_vector_reserve ((void **) &d->entries, &cap, d->nentries + 1,
                           sizeof *d->entries) == -1)
      goto nomem;
    d->entries[d->nentries].inode = name->meta_addr;
    d->entries[d->nentries].type = type;
    if ((d->entries[d->nentries].name = strdup (name->name)) == NULL)
      goto nomem;
    d->nentries++;
  }
  if (dir->fs_file == NULL
      || ov_inode_blocks (c->fs, dir->fs_file, true, &d->runs, &d->nruns,
                          &rcap, &odd) == -1)
    goto nomem;
  if (odd) {
    ext_give_up (c, "directory inode %" PRIu64 ": blocks outside the filesystem",
             inode);
    goto fail;
  }
  tsk_fs_dir_close (dir);
  dir = NULL;
  free (sorted);
  sorted = NULL;
  if (ext_explain_runs (c, d->runs, d->nruns) == -1
      || dir_vector_append (&c->listed, d) == -1
      || ov_inode_map_put (&c->listed_index, inode, c->listed.len - 1) == -1) {
    if (c->listed.len == 0 || c->listed.ptr[c->listed.len - 1] != d) {
      ov_dir_clear (d);
      free (d);
    }
    return ext_oom (c);
  }
  c->r->dirs_listed++;
  return 0;

 nomem:
  c->failed = true;
 fail:
  if (dir)
    tsk_fs_dir_close (dir);
  free (sorted);
  ov_dir_clear (d);
  free (d);
  return -1;
}

/* ---- step 1: dirty inode slots ---- */

/* A directory's listing is a function of its blocks' content and of which
 * blocks it has.  A directory whose inode slot was written but whose block
 * map is the same as before (and whose blocks are clean: see
 * relist_dirty_dirs) lists the same names: it is not read again.  Inline
 * directories (no blocks) are always read.  1 changed, 0 same, -1 ENOMEM. */
static int
dir_map_changed (struct ctx *c, TSK_FS_FILE *f, const struct ov_dir *old)
{
  struct ov_run *runs = NULL;
  size_t n = 0, cap = 0, i;
  bool odd = false;
  int changed;

  if (old->nruns == 0)
    return 1;
  if (ov_inode_blocks (c->fs, f, true, &runs, &n, &cap, &odd) == -1) {
    free (runs);
    return -1;
  }
  changed = odd || n != old->nruns;
  for (i = 0; !changed && i < n; i++)
    changed = runs[i].disk_offset != old->runs[i].disk_offset
      || runs[i].length != old->runs[i].length;
  free (runs);
  return changed;
}

static int
read_dirty_inodes (struct ctx *c)
{
  uint64_t table_total = 0, table_dirty = 0, g;

  for (g = 0; g < c->ngroups; g++) {
    uint64_t start = c->fs->offset + c->groups[g].inode_table * c->bs;
    uint64_t len = (uint64_t) c->ipg * c->inode_size;
    table_total += len;
    table_dirty += ov_extents_total_in (c->in->dirty, start, len);
  }
  if (table_dirty > c->in->max_table_fraction * table_total)
    return ext_give_up (c, "%.1f%% of the inode tables are dirty: a full walk is"
                    " cheaper", 100.0 * table_dirty / table_total);

  for (g = 0; g < c->ngroups; g++) {
    uint64_t start = c->fs->offset + c->groups[g].inode_table * c->bs;
    uint64_t len = (uint64_t) c->ipg * c->inode_size;
    const ov_extents *d = c->in->dirty;
    size_t lo = 0, hi = d->len;

    if (ov_extents_total_in (d, start, len) == 0)
      continue;
    while (lo < hi) {           /* first extent ending after start */
      size_t mid = lo + (hi - lo) / 2;
      if (d->ptr[mid].offset + d->ptr[mid].length <= start)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (; lo < d->len && d->ptr[lo].offset < start + len; lo++) {
      uint64_t a = d->ptr[lo].offset > start ? d->ptr[lo].offset : start;
      uint64_t e = d->ptr[lo].offset + d->ptr[lo].length;
      uint64_t slot, last;
      if (e > start + len)
        e = start + len;
      last = (e - start - 1) / c->inode_size;
      for (slot = (a - start) / c->inode_size; slot <= last; slot++) {
        uint64_t inode = g * c->ipg + slot + 1;
        TSK_FS_FILE *f;

        if (inode > c->inodes_count || inode < c->first_ino)
          continue;             /* reserved inodes: see read_reserved */
        if (examine (c, inode) == -1)
          return -1;
        c->r->inodes_read++;
        if ((f = open_inode (c, inode)) == NULL)
          return -1;
        if (ov_inode_map_put (&c->slot_types, inode,
                              f->meta->type == TSK_FS_META_TYPE_DIR ? OV_DIRENT_DIR
                              : f->meta->type == TSK_FS_META_TYPE_REG ? OV_DIRENT_REG
                              : f->meta->type == TSK_FS_META_TYPE_UNDEF ? 0
                              : OV_DIRENT_OTHER) == -1) {
          tsk_fs_file_close (f);
          return ext_oom (c);
        }
        if (f->meta->type == TSK_FS_META_TYPE_REG) {
          if (ext_add_candidate (c, inode) == -1) {
            tsk_fs_file_close (f);
            return -1;
          }
        }
        else if (f->meta->type == TSK_FS_META_TYPE_DIR && ext_old_dir (c, inode)) {
          int m = dir_map_changed (c, f, ext_old_dir (c, inode));
          if (m == -1
              || (m == 1 && ov_inode_map_put (&c->relist, inode, 1) == -1)) {
            tsk_fs_file_close (f);
            return ext_oom (c);
          }
        }
        if (explain_inode_blocks (c, f, f->meta->type != TSK_FS_META_TYPE_REG)
            == -1) {
          tsk_fs_file_close (f);
          return -1;
        }
        tsk_fs_file_close (f);
      }
    }
  }
  return 0;
}

/* Reserved inodes (journal, resize inode, root's siblings): their blocks
 * are filesystem metadata.  Root (a directory) is handled as one.  Every
 * reserved inode slot is always re-read: their inode-table bytes are in
 * group 0's table, whose dirty slots read_dirty_inodes skips. */
static int
read_reserved (struct ctx *c)
{
  uint64_t inode;

  for (inode = 1; inode < c->first_ino; inode++) {
    TSK_FS_FILE *f;
    if (inode == c->tfs->root_inum)
      continue;
    tsk_error_reset ();
    f = tsk_fs_file_open_meta (c->tfs, NULL, inode);
    if (f == NULL || f->meta == NULL) {
      if (f)
        tsk_fs_file_close (f);
      continue;                 /* unused reserved inode */
    }
    c->r->inodes_read++;
    if (explain_inode_blocks (c, f, true) == -1) {
      tsk_fs_file_close (f);
      return -1;
    }
    tsk_fs_file_close (f);
  }
  /* Root's inode slot is in the same table: a changed root is re-listed. */
  if (ext_old_dir (c, c->tfs->root_inum)
      && ov_extents_overlaps (c->in->dirty, c->fs->offset
                              + c->groups[0].inode_table * c->bs
                              + (c->tfs->root_inum - 1) * c->inode_size,
                              c->inode_size)
      && ov_inode_map_put (&c->relist, c->tfs->root_inum, 1) == -1)
    return ext_oom (c);
  return 0;
}

/* Old directories whose blocks are dirty are listed again; their old
 * blocks are explained (whatever happened there is in the new listing). */
static int
relist_dirty_dirs (struct ctx *c)
{
  struct ov_extent *order;
  size_t i, j, n = 0;

  for (i = 0; i < c->in->ndirs; i++) {
    const struct ov_dir *d = c->in->dirs[i];
    bool dirty = false;
    for (j = 0; j < d->nruns; j++) {
      if (ov_extents_overlaps (c->in->dirty, d->runs[j].disk_offset,
                               d->runs[j].length))
        dirty = true;
      if (ext_explain (c, d->runs[j].disk_offset, d->runs[j].length) == -1)
        return -1;
    }
    if (dirty && ov_inode_map_put (&c->relist, d->inode, 1) == -1)
      return ext_oom (c);
  }
  /* In disk order of their blocks: TSK's image cache holds 64 KiB pieces,
   * so neighbouring directories are read once. */
  order = calloc (c->relist.len ? c->relist.len : 1, sizeof *order);
  if (order == NULL)
    return ext_oom (c);
  for (i = 0; i < c->relist.cap; i++)
    if (c->relist.keys[i]) {
      const struct ov_dir *d = ext_old_dir (c, c->relist.keys[i] - 1);
      order[n].offset = d && d->nruns ? d->runs[0].disk_offset : 0;
      order[n++].length = c->relist.keys[i] - 1;     /* the inode */
    }
  qsort (order, n, sizeof *order, ext_compare_extents);
  for (i = 0; i < n; i++) {
    TSK_FS_FILE *f;
    uint64_t inode = order[i].length;
    bool is_dir;

    if ((f = open_inode (c, inode)) == NULL) {
      free (order);
      return -1;
    }
    is_dir = f->meta->type == TSK_FS_META_TYPE_DIR;
    tsk_fs_file_close (f);
    /* Not a directory any more: it is gone from the tree (its parent
     * changed too, and is listed again). */
    if (is_dir && ext_list_dir (c, inode) == -1) {
      free (order);
      return -1;
    }
  }
  free (order);
  return 0;
}

/* ---- candidates -> files ---- */

static int
build_candidates (struct ctx *c)
{
  size_t i;

  c->r->files = calloc (c->ncands ? c->ncands : 1, sizeof *c->r->files);
  if (c->r->files == NULL)
    return ext_oom (c);
  for (i = 0; i < c->ncands; i++) {
    struct candidate *k = &c->cands[i];
    TSK_FS_FILE *f;
    struct ov_file *file = NULL;
    char *problem = NULL, orphan_path[64];
    char *orphan_paths[1] = { orphan_path };
    bool orphan = false;
    uint64_t nlink;
    int r;

    if ((f = open_inode (c, k->inode)) == NULL)
      return -1;
    c->r->inodes_read++;
    if (f->meta->type != TSK_FS_META_TYPE_REG) {
      tsk_fs_file_close (f);
      if (k->names.len)
        return ext_give_up (c, "inode %" PRIu64 ": named as a file but is not"
                        " one", k->inode);
      continue;                 /* examined, no file: gone */
    }
    nlink = f->meta->nlink > 1 ? (uint64_t) f->meta->nlink : 1;
    if (k->names.len > nlink) {
      tsk_fs_file_close (f);
      return ext_give_up (c, "inode %" PRIu64 ": more names than its link count",
                      k->inode);
    }
    if (k->names.len == 0) {
      if (!(f->meta->flags & TSK_FS_META_FLAG_ALLOC)
          || k->inode < c->first_ino) {
        tsk_fs_file_close (f);
        continue;               /* unnamed and free: gone */
      }
      snprintf (orphan_path, sizeof orphan_path, "/$OrphanFiles/inode-%"
                PRIu64, k->inode);
      orphan = true;
    }
    r = ov_walk_build_file (c->map, c->fs, f, orphan ? orphan_paths
                            : k->names.ptr, orphan ? 1 : k->names.len,
                            orphan, &file, &problem);
    if (r == 0 && file
        && explain_inode_blocks (c, f, false) == 0
        && ext_explain_runs (c, file->runs, file->nruns) == 0)
      c->r->files[c->r->nfiles++] = file;
    else
      ov_file_free (file);
    tsk_fs_file_close (f);
    if (r == -1)
      return ext_oom (c);
    if (problem) {
      ext_give_up (c, "inode %" PRIu64 ": %s", k->inode, problem);
      free (problem);
      return -1;
    }
    if (c->r->fallback || c->failed)
      return -1;
  }
  return 0;
}

/* ---- entry point ---- */

static int
compare_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return (x > y) - (x < y);
}

static int
run_all (struct ctx *c, visit_vector *tree, struct ov_inode_map *visited)
{
  size_t i;

  if (c->in->ndirs == 0)
    return ext_give_up (c, "no directory state recorded yet");
  for (i = 0; i < c->in->ndirs; i++)
    if (ov_inode_map_put (&c->old_index, c->in->dirs[i]->inode, i) == -1)
      return ext_oom (c);
  if (ext_old_dir (c, c->tfs->root_inum) == NULL)
    return ext_give_up (c, "no directory state for the root");
  if (ext_read_geometry (c) == -1 || read_dirty_inodes (c) == -1
      || read_reserved (c) == -1 || relist_dirty_dirs (c) == -1)
    return -1;
  for (i = 0; i < c->in->nreread; i++)
    if (c->in->reread[i] >= c->tfs->first_inum
        && c->in->reread[i] <= c->tfs->last_inum
        && ext_add_candidate (c, c->in->reread[i]) == -1)
      return -1;
  if (ext_build_tree (c, tree, visited) == -1 || ext_apply_tree (c, tree, visited) == -1
      || build_candidates (c) == -1 || ext_check_everything_explained (c) == -1)
    return -1;
  return 0;
}

int
ov_ext_incremental (struct ov_fsmap *map, struct ov_fs *fs,
                    const struct ov_ext_incr_input *in,
                    struct ov_ext_incr_result *r)
{
  struct ctx c = {
    .map = map, .fs = fs, .t = fs->priv, .in = in, .r = r,
    .explained_raw = VECTOR_INIT, .explained = VECTOR_INIT,
    .listed = VECTOR_INIT, .examined = VECTOR_INIT,
  };
  visit_vector tree = VECTOR_INIT;
  struct ov_inode_map visited = { 0 };
  size_t i, j, out;

  memset (r, 0, sizeof *r);
  if (!ov_ext_incr_supported (fs)) {
    r->fallback = strdup ("not an ext2/3/4 filesystem with known geometry");
    return r->fallback ? 0 : -1;
  }
  c.tfs = c.t->fs;
  pthread_mutex_lock (&map->tsk_lock);
  run_all (&c, &tree, &visited);
  pthread_mutex_unlock (&map->tsk_lock);

  if (!c.failed && r->fallback == NULL) {
    /* examined: sorted, unique */
    if (c.examined.len)
      qsort (c.examined.ptr, c.examined.len, sizeof c.examined.ptr[0],
             compare_u64);
    for (i = out = 0; i < c.examined.len; i++)
      if (out == 0 || c.examined.ptr[out - 1] != c.examined.ptr[i])
        c.examined.ptr[out++] = c.examined.ptr[i];
    r->examined = c.examined.ptr;
    r->nexamined = out;
    c.examined.ptr = NULL;
  }
  free (c.examined.ptr);
  for (i = 0; i < tree.len; i++)
    free (tree.ptr[i].path);
  free (tree.ptr);
  ov_inode_map_free (&visited);
  for (i = 0; i < c.listed.len; i++) {
    ov_dir_clear (c.listed.ptr[i]);
    free (c.listed.ptr[i]);
  }
  free (c.listed.ptr);
  for (i = 0; i < c.ncands; i++) {
    for (j = 0; j < c.cands[i].names.len; j++)
      free (c.cands[i].names.ptr[j]);
    free (c.cands[i].names.ptr);
  }
  free (c.cands);
  ov_inode_map_free (&c.old_index);
  ov_inode_map_free (&c.relist);
  ov_inode_map_free (&c.slot_types);
  ov_inode_map_free (&c.listed_index);
  ov_inode_map_free (&c.cand_index);
  free (c.groups);
  free (c.explained_raw.ptr);
  free (c.explained.ptr);

  if (c.failed) {
    ov_ext_incr_result_clear (r);
    ov_error ("%s: incremental metadata: out of memory",
              fs->label[0] ? fs->label : "disk");
    return -1;
  }
  if (r->fallback) {
    /* Keep only the reason. */
    char *why = r->fallback;
    r->fallback = NULL;
    ov_ext_incr_result_clear (r);
    r->fallback = why;
  }
  return 0;
}
