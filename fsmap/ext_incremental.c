/* ovscan — fsmap: targeted metadata refresh of ext2/3/4 (see
 * ext_incremental.h for what is re-read, the safety net, and the cost).
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
#include "fsmap/ext_incremental.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"
#include "fsmap/internal.h"

#define EXT_INCOMPAT_RECOVER   0x0004
#define EXT_INCOMPAT_META_BG   0x0010
#define EXT_INCOMPAT_64BIT     0x0080
#define EXT_COMPAT_SPARSE_SUPER2 0x0200
#define EXT_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT_BG_BLOCK_UNINIT    0x0002
#define MAX_GDT_BYTES          (UINT64_C (256) << 20)
#define MAX_FREE_CHECK_BYTES   (UINT64_C (64) << 20)

DEFINE_VECTOR (u64_vector, uint64_t);
DEFINE_VECTOR (dir_vector, struct ov_dir *);
DEFINE_VECTOR (str_vector, char *);

struct group {
  uint64_t block_bitmap, inode_bitmap, inode_table;  /* block numbers */
  uint16_t flags;
};

struct candidate {
  uint64_t inode;
  str_vector names;            /* walk paths (no label) */
};

struct ctx {
  struct ov_fsmap *map;
  struct ov_fs *fs;
  struct ov_fs_tsk *t;
  TSK_FS_INFO *tfs;
  const struct ov_ext_incr_input *in;
  struct ov_ext_incr_result *r;
  uint64_t bs, nblocks, first_data_block, blocks_per_group, inodes_count;
  uint32_t ngroups, ipg, inode_size, first_ino;
  struct group *groups;
  ov_extents explained_raw;    /* unsorted; sorted+merged into explained */
  ov_extents explained;
  struct ov_inode_map old_index;     /* inode -> index in in->dirs */
  struct ov_inode_map relist;        /* dirs to list again (value unused) */
  struct ov_inode_map slot_types;    /* dirty inode slot -> its dirent type */
  dir_vector listed;                 /* listings read from TSK this poll */
  struct ov_inode_map listed_index;  /* inode -> index in listed */
  struct ov_inode_map cand_index;    /* inode -> index in cands */
  struct candidate *cands;
  size_t ncands, cands_cap;
  u64_vector examined;
  bool failed;                       /* ENOMEM: return -1 */
};

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
  return fs->error == NULL && t && t->fs && TSK_FS_TYPE_ISEXT (t->fs->ftype)
    && t->ext_inodes_per_group && t->ext_inode_size && t->ext_ngroups;
}

/* Record why we give up (first reason wins).  Always returns -1. */
static int
give_up (struct ctx *c, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
static int
give_up (struct ctx *c, const char *fmt, ...)
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

static int
oom (struct ctx *c)
{
  c->failed = true;
  return -1;
}

static uint32_t
le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
    | (uint32_t) p[3] << 24;
}

static uint16_t
le16 (const unsigned char *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

/* Explain disk bytes [off, off+len) (absolute), widened to whole
 * filesystem blocks: run lists stop at a file's size, but its owner owns
 * the whole last block. */
static int
explain (struct ctx *c, uint64_t off, uint64_t len)
{
  uint64_t rel, end;

  if (len == 0 || off < c->fs->offset || len > UINT64_MAX - off)
    return 0;
  rel = off - c->fs->offset;
  end = rel + len;
  rel -= rel % c->bs;
  if (end % c->bs && end <= UINT64_MAX - c->bs)
    end += c->bs - end % c->bs;
  off = c->fs->offset + rel;
  len = end - rel;
  if (ov_extents_reserve (&c->explained_raw, 1) == -1)
    return oom (c);
  c->explained_raw.ptr[c->explained_raw.len++] =
    (struct ov_extent) { .offset = off, .length = len };
  return 0;
}

static int
explain_blocks (struct ctx *c, uint64_t block, uint64_t count)
{
  if (block >= c->nblocks || count > c->nblocks - block)
    return give_up (c, "block %" PRIu64 " (+%" PRIu64 ") outside the filesystem",
                    block, count);
  return explain (c, c->fs->offset + block * c->bs, count * c->bs);
}

static int
explain_runs (struct ctx *c, const struct ov_run *runs, size_t nruns)
{
  size_t i;
  for (i = 0; i < nruns; i++)
    if (runs[i].kind != OV_RUN_SPARSE
        && explain (c, runs[i].disk_offset, runs[i].length) == -1)
      return -1;
  return 0;
}

/* ---- geometry ---- */

static bool
power_of (uint64_t n, uint64_t base)
{
  while (n > 1 && n % base == 0)
    n /= base;
  return n == 1;
}

static int
read_geometry (struct ctx *c)
{
  unsigned char sb[1024];
  unsigned char *gdt;
  uint64_t gdt_bytes, gdt_blocks, reserved_gdt, g;
  uint32_t incompat, compat, ro_compat;

  if (tsk_img_read (c->tfs->img_info, (TSK_OFF_T) (c->fs->offset + 1024),
                    (char *) sb, sizeof sb) != (ssize_t) sizeof sb)
    return give_up (c, "cannot read the superblock");
  if (le16 (sb + 56) != 0xef53)
    return give_up (c, "no ext superblock magic");
  incompat = le32 (sb + 96);
  compat = le32 (sb + 92);
  ro_compat = le32 (sb + 100);
  if (incompat & EXT_INCOMPAT_RECOVER)
    return give_up (c, "the journal needs recovery");
  if (incompat & EXT_INCOMPAT_META_BG)
    return give_up (c, "meta_bg layout (not handled incrementally)");
  c->bs = c->tfs->block_size;
  if (c->bs < 1024 || c->bs > 65536 || c->bs != (UINT64_C (1024) << le32 (sb + 24)))
    return give_up (c, "block size mismatch");
  c->nblocks = c->fs->size / c->bs;
  c->first_data_block = le32 (sb + 20);
  c->blocks_per_group = le32 (sb + 32);
  c->inodes_count = le32 (sb + 0);
  c->ipg = c->t->ext_inodes_per_group;
  c->inode_size = c->t->ext_inode_size;
  c->ngroups = c->t->ext_ngroups;
  c->first_ino = c->t->ext_first_ino ? c->t->ext_first_ino : 11;
  if (c->blocks_per_group == 0 || c->ngroups == 0
      || (uint64_t) c->ngroups * c->ipg < c->inodes_count)
    return give_up (c, "inconsistent group geometry");
  gdt_bytes = (uint64_t) c->ngroups * c->t->ext_desc_size;
  if (gdt_bytes > MAX_GDT_BYTES)
    return give_up (c, "%" PRIu32 " groups: descriptor table too large", c->ngroups);
  gdt = malloc (gdt_bytes);
  c->groups = calloc (c->ngroups, sizeof *c->groups);
  if (gdt == NULL || c->groups == NULL) {
    free (gdt);
    return oom (c);
  }
  if (tsk_img_read (c->tfs->img_info, (TSK_OFF_T) c->t->ext_gdt_offset,
                    (char *) gdt, gdt_bytes) != (ssize_t) gdt_bytes) {
    free (gdt);
    return give_up (c, "cannot read the group descriptors");
  }
  for (g = 0; g < c->ngroups; g++) {
    const unsigned char *d = gdt + g * c->t->ext_desc_size;
    struct group *gr = &c->groups[g];
    gr->block_bitmap = le32 (d + 0);
    gr->inode_bitmap = le32 (d + 4);
    gr->inode_table = le32 (d + 8);
    gr->flags = le16 (d + 0x12);
    if ((incompat & EXT_INCOMPAT_64BIT) && c->t->ext_desc_size >= 64) {
      gr->block_bitmap |= (uint64_t) le32 (d + 0x20) << 32;
      gr->inode_bitmap |= (uint64_t) le32 (d + 0x24) << 32;
      gr->inode_table |= (uint64_t) le32 (d + 0x28) << 32;
    }
  }
  free (gdt);

  /* Superblock + GDT + reserved GDT copies, bitmaps, inode tables. */
  gdt_blocks = (gdt_bytes + c->bs - 1) / c->bs;
  reserved_gdt = le16 (sb + 0xce);
  for (g = 0; g < c->ngroups; g++) {
    struct group *gr = &c->groups[g];
    uint64_t table_blocks = ((uint64_t) c->ipg * c->inode_size + c->bs - 1) / c->bs;
    bool super;

    if (g == 0)
      super = true;
    else if (compat & EXT_COMPAT_SPARSE_SUPER2)
      super = g == le32 (sb + 0x24c) || g == le32 (sb + 0x250);
    else if (!(ro_compat & EXT_RO_COMPAT_SPARSE_SUPER))
      super = true;
    else
      super = g == 1 || power_of (g, 3) || power_of (g, 5) || power_of (g, 7);
    if (super) {
      uint64_t start = c->first_data_block + g * c->blocks_per_group;
      uint64_t n = 1 + gdt_blocks + reserved_gdt;
      if (g == 0)
        start = 0, n += c->first_data_block;
      if (start < c->nblocks && explain_blocks (c, start,
                                                n < c->nblocks - start
                                                ? n : c->nblocks - start) == -1)
        return -1;
    }
    if (explain_blocks (c, gr->block_bitmap, 1) == -1
        || explain_blocks (c, gr->inode_bitmap, 1) == -1
        || explain_blocks (c, gr->inode_table, table_blocks) == -1)
      return -1;
  }
  return 0;
}

/* ---- sets ---- */

static int
examine (struct ctx *c, uint64_t inode)
{
  return u64_vector_append (&c->examined, inode) == -1 ? oom (c) : 0;
}

static int
add_candidate (struct ctx *c, uint64_t inode)
{
  if (ov_inode_map_get (&c->cand_index, inode, NULL) == 0)
    return 0;
  if (ov_vector_reserve ((void **) &c->cands, &c->cands_cap, c->ncands + 1,
                         sizeof *c->cands) == -1
      || ov_inode_map_put (&c->cand_index, inode, c->ncands) == -1)
    return oom (c);
  c->cands[c->ncands++] = (struct candidate) { .inode = inode,
                                               .names = VECTOR_INIT };
  return examine (c, inode);
}

static const struct ov_dir *
old_dir (struct ctx *c, uint64_t inode)
{
  uint64_t i;
  return ov_inode_map_get (&c->old_index, inode, &i) == 0 ? c->in->dirs[i] : NULL;
}

static struct ov_dir *
listed_dir (struct ctx *c, uint64_t inode)
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
    give_up (c, "inode %" PRIu64 ": cannot read metadata: %s", inode,
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
    return oom (c);
  }
  r = explain_runs (c, runs, n);
  free (runs);
  if (r == 0 && odd)
    return give_up (c, "inode %" PRIu64 ": blocks outside the filesystem",
                    (uint64_t) f->meta->addr);
  return r;
}

/* Was inode's slot in its inode table written since the last poll? */
static bool
inode_slot_dirty (struct ctx *c, uint64_t inode)
{
  uint64_t g, slot;

  if (inode == 0 || inode > (uint64_t) c->ngroups * c->ipg)
    return true;
  g = (inode - 1) / c->ipg;
  slot = (inode - 1) % c->ipg;
  return ov_extents_overlaps (c->in->dirty, c->fs->offset
                              + c->groups[g].inode_table * c->bs
                              + slot * c->inode_size, c->inode_size);
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
static int
list_dir (struct ctx *c, uint64_t inode)
{
  TSK_FS_DIR *dir;
  struct ov_dir *d;
  const struct ov_dir *old = old_dir (c, inode);
  struct ov_dirent *sorted = NULL;
  size_t n, i, cap = 0, rcap = 0, nsorted = 0;
  bool odd = false;

  if (listed_dir (c, inode))
    return 0;
  tsk_error_reset ();
  dir = tsk_fs_dir_open_meta (c->tfs, inode);
  if (dir == NULL)
    return give_up (c, "directory inode %" PRIu64 ": cannot read: %s", inode,
                    ov_tsk_error ());
  d = calloc (1, sizeof *d);
  if (d == NULL) {
    tsk_fs_dir_close (dir);
    return oom (c);
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
    if (inode_slot_dirty (c, name->meta_addr)) {
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
      give_up (c, "directory inode %" PRIu64 ": entry inode %" PRIu64
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
    give_up (c, "directory inode %" PRIu64 ": blocks outside the filesystem",
             inode);
    goto fail;
  }
  tsk_fs_dir_close (dir);
  dir = NULL;
  free (sorted);
  sorted = NULL;
  if (explain_runs (c, d->runs, d->nruns) == -1
      || dir_vector_append (&c->listed, d) == -1
      || ov_inode_map_put (&c->listed_index, inode, c->listed.len - 1) == -1) {
    if (c->listed.len == 0 || c->listed.ptr[c->listed.len - 1] != d) {
      ov_dir_clear (d);
      free (d);
    }
    return oom (c);
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
    return give_up (c, "%.1f%% of the inode tables are dirty: a full walk is"
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
          return oom (c);
        }
        if (f->meta->type == TSK_FS_META_TYPE_REG) {
          if (add_candidate (c, inode) == -1) {
            tsk_fs_file_close (f);
            return -1;
          }
        }
        else if (f->meta->type == TSK_FS_META_TYPE_DIR && old_dir (c, inode)) {
          int m = dir_map_changed (c, f, old_dir (c, inode));
          if (m == -1
              || (m == 1 && ov_inode_map_put (&c->relist, inode, 1) == -1)) {
            tsk_fs_file_close (f);
            return oom (c);
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
  if (old_dir (c, c->tfs->root_inum)
      && ov_extents_overlaps (c->in->dirty, c->fs->offset
                              + c->groups[0].inode_table * c->bs
                              + (c->tfs->root_inum - 1) * c->inode_size,
                              c->inode_size)
      && ov_inode_map_put (&c->relist, c->tfs->root_inum, 1) == -1)
    return oom (c);
  return 0;
}

/* Old directories whose blocks are dirty are listed again; their old
 * blocks are explained (whatever happened there is in the new listing). */
static int compare_extents (const void *a, const void *b);

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
      if (explain (c, d->runs[j].disk_offset, d->runs[j].length) == -1)
        return -1;
    }
    if (dirty && ov_inode_map_put (&c->relist, d->inode, 1) == -1)
      return oom (c);
  }
  /* In disk order of their blocks: TSK's image cache holds 64 KiB pieces,
   * so neighbouring directories are read once. */
  order = calloc (c->relist.len ? c->relist.len : 1, sizeof *order);
  if (order == NULL)
    return oom (c);
  for (i = 0; i < c->relist.cap; i++)
    if (c->relist.keys[i]) {
      const struct ov_dir *d = old_dir (c, c->relist.keys[i] - 1);
      order[n].offset = d && d->nruns ? d->runs[0].disk_offset : 0;
      order[n++].length = c->relist.keys[i] - 1;     /* the inode */
    }
  qsort (order, n, sizeof *order, compare_extents);
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
    if (is_dir && list_dir (c, inode) == -1) {
      free (order);
      return -1;
    }
  }
  free (order);
  return 0;
}

/* ---- the names tree ---- */

struct visit {
  uint64_t inode;
  char *path;
  unsigned depth;
};
DEFINE_VECTOR (visit_vector, struct visit);

static const struct ov_dir *
current_listing (struct ctx *c, uint64_t inode)
{
  const struct ov_dir *d = listed_dir (c, inode);
  return d ? d : old_dir (c, inode);
}

/* Every directory reachable from the root, with its new path, in the
 * walk's order of discovery (depth first is not needed: paths only depend
 * on the parent chain).  A directory the old tree does not know is listed
 * from TSK now. */
static int
build_tree (struct ctx *c, visit_vector *tree, struct ov_inode_map *visited)
{
  size_t head = 0, i;
  char *root = strdup ("");

  if (root == NULL || visit_vector_append (tree, (struct visit) {
        .inode = c->tfs->root_inum, .path = root, .depth = 0 }) == -1
      || ov_inode_map_put (visited, c->tfs->root_inum, 0) == -1) {
    free (root);
    return oom (c);
  }
  while (head < tree->len) {
    struct visit v = tree->ptr[head++];
    const struct ov_dir *d = current_listing (c, v.inode);

    if (d == NULL) {
      if (list_dir (c, v.inode) == -1)
        return -1;
      d = listed_dir (c, v.inode);
    }
    for (i = 0; i < d->nentries; i++) {
      const struct ov_dirent *e = &d->entries[i];
      char *child;
      uint64_t now;

      if (e->type == OV_DIRENT_BAD)
        return give_up (c, "inode %" PRIu64 ": metadata unreadable", e->inode);
      /* An old listing's entry whose inode was rewritten: its type must
       * still be the recorded one (the walk would see the new one). */
      if (listed_dir (c, v.inode) == NULL && inode_slot_dirty (c, e->inode)
          && (ov_inode_map_get (&c->slot_types, e->inode, &now) == -1
              || now != e->type))
        return give_up (c, "inode %" PRIu64 " changed type without its"
                        " directory (inode %" PRIu64 ") changing", e->inode,
                        v.inode);
      if (e->type != OV_DIRENT_DIR)
        continue;
      if (ov_inode_map_get (visited, e->inode, NULL) == 0)
        return give_up (c, "directory inode %" PRIu64 " reached twice (loop"
                        " or hard-linked directory)", e->inode);
      if (v.depth + 1 >= OV_MAX_DIR_DEPTH)
        return give_up (c, "directories nested deeper than %u",
                        OV_MAX_DIR_DEPTH);
      child = ov_path_join (v.path, e->name, strlen (e->name));
      if (child == NULL)
        return give_up (c, "directory inode %" PRIu64 ": %s", e->inode,
                        ov_last_error ());
      if (visit_vector_append (tree, (struct visit) {
            .inode = e->inode, .path = child, .depth = v.depth + 1 }) == -1
          || ov_inode_map_put (visited, e->inode, tree->len - 1) == -1) {
        free (child);
        return oom (c);
      }
    }
  }
  return 0;
}

static int
compare_entries (const void *a, const void *b)
{
  const struct ov_dirent *x = a, *y = b;
  int r = strcmp (x->name, y->name);
  if (r)
    return r;
  if (x->inode != y->inode)
    return x->inode < y->inode ? -1 : 1;
  return (int) x->type - (int) y->type;
}

/* Entries present on one side only: their regular files are candidates. */
static int
diff_listings (struct ctx *c, const struct ov_dir *old, const struct ov_dir *now)
{
  struct ov_dirent *a = NULL, *b = NULL;
  size_t i = 0, j = 0;
  int ret = 0;

  if (old->nentries) {
    if ((a = malloc (old->nentries * sizeof *a)) == NULL)
      return oom (c);
    memcpy (a, old->entries, old->nentries * sizeof *a);
    qsort (a, old->nentries, sizeof *a, compare_entries);
  }
  if (now->nentries) {
    if ((b = malloc (now->nentries * sizeof *b)) == NULL) {
      free (a);
      return oom (c);
    }
    memcpy (b, now->entries, now->nentries * sizeof *b);
    qsort (b, now->nentries, sizeof *b, compare_entries);
  }
  while (ret == 0 && (i < old->nentries || j < now->nentries)) {
    int cmp = i == old->nentries ? 1 : j == now->nentries ? -1
      : compare_entries (&a[i], &b[j]);
    if (cmp == 0) {
      i++, j++;
      continue;
    }
    if (cmp < 0) {
      if (a[i].type == OV_DIRENT_REG)
        ret = add_candidate (c, a[i].inode);
      i++;
    }
    else {
      if (b[j].type == OV_DIRENT_REG)
        ret = add_candidate (c, b[j].inode);
      j++;
    }
  }
  free (a);
  free (b);
  return ret;
}

static struct ov_dir *
copy_dir (const struct ov_dir *d, const char *path)
{
  struct ov_dir *n = calloc (1, sizeof *n);
  size_t i;

  if (n == NULL)
    return NULL;
  n->inode = d->inode;
  n->path = strdup (path);
  n->entries = calloc (d->nentries ? d->nentries : 1, sizeof *n->entries);
  n->runs = malloc ((d->nruns ? d->nruns : 1) * sizeof *n->runs);
  if (n->path == NULL || n->entries == NULL || n->runs == NULL)
    goto fail;
  for (i = 0; i < d->nentries; i++) {
    n->entries[i] = d->entries[i];
    if ((n->entries[i].name = strdup (d->entries[i].name)) == NULL)
      goto fail;
    n->nentries++;
  }
  if (d->nruns)
    memcpy (n->runs, d->runs, d->nruns * sizeof *n->runs);
  n->nruns = d->nruns;
  return n;
 fail:
  ov_dir_clear (n);
  free (n);
  return NULL;
}

static int
put_dir (struct ctx *c, struct ov_dir *d)
{
  struct ov_dir **v = realloc (c->r->dirs_put,
                               (c->r->ndirs_put + 1) * sizeof *v);
  if (v == NULL) {
    ov_dir_clear (d);
    free (d);
    return oom (c);
  }
  c->r->dirs_put = v;
  v[c->r->ndirs_put++] = d;
  return 0;
}

/* Decide the candidates the tree gives, the directories to store and the
 * ones gone; then collect every candidate's names. */
static int
apply_tree (struct ctx *c, visit_vector *tree, struct ov_inode_map *visited)
{
  size_t i, j;

  for (i = 0; i < tree->len; i++) {
    const struct visit *v = &tree->ptr[i];
    const struct ov_dir *old = old_dir (c, v->inode);
    struct ov_dir *now = listed_dir (c, v->inode);
    bool moved = old && strcmp (old->path, v->path) != 0;

    if (now) {
      if (old ? diff_listings (c, old, now) == -1 : 0)
        return -1;
      if (!old)
        for (j = 0; j < now->nentries; j++)
          if (now->entries[j].type == OV_DIRENT_REG
              && add_candidate (c, now->entries[j].inode) == -1)
            return -1;
    }
    if (moved || !old)
      for (j = 0; j < current_listing (c, v->inode)->nentries; j++) {
        const struct ov_dirent *e = &current_listing (c, v->inode)->entries[j];
        if (e->type == OV_DIRENT_REG && add_candidate (c, e->inode) == -1)
          return -1;
      }
    if (now || moved) {
      struct ov_dir *d = copy_dir (now ? now : old, v->path);
      if (d == NULL || put_dir (c, d) == -1)
        return oom (c);
    }
  }
  for (i = 0; i < c->in->ndirs; i++)
    if (ov_inode_map_get (visited, c->in->dirs[i]->inode, NULL) == -1) {
      uint64_t *g = realloc (c->r->dirs_gone,
                             (c->r->ndirs_gone + 1) * sizeof *g);
      if (g == NULL)
        return oom (c);
      c->r->dirs_gone = g;
      g[c->r->ndirs_gone++] = c->in->dirs[i]->inode;
    }

  /* Every name of every candidate, as the walk would join it. */
  for (i = 0; i < tree->len; i++) {
    const struct visit *v = &tree->ptr[i];
    const struct ov_dir *d = current_listing (c, v->inode);
    for (j = 0; j < d->nentries; j++) {
      const struct ov_dirent *e = &d->entries[j];
      uint64_t k;
      char *p;
      if (e->type != OV_DIRENT_REG
          || ov_inode_map_get (&c->cand_index, e->inode, &k) == -1)
        continue;
      p = ov_path_join (v->path, e->name, strlen (e->name));
      if (p == NULL)
        return give_up (c, "inode %" PRIu64 ": %s", e->inode, ov_last_error ());
      if (str_vector_append (&c->cands[k].names, p) == -1) {
        free (p);
        return oom (c);
      }
    }
  }
  return 0;
}

/* ---- candidates -> files ---- */

static int
build_candidates (struct ctx *c)
{
  size_t i;

  c->r->files = calloc (c->ncands ? c->ncands : 1, sizeof *c->r->files);
  if (c->r->files == NULL)
    return oom (c);
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
        return give_up (c, "inode %" PRIu64 ": named as a file but is not"
                        " one", k->inode);
      continue;                 /* examined, no file: gone */
    }
    nlink = f->meta->nlink > 1 ? (uint64_t) f->meta->nlink : 1;
    if (k->names.len > nlink) {
      tsk_fs_file_close (f);
      return give_up (c, "inode %" PRIu64 ": more names than its link count",
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
        && explain_runs (c, file->runs, file->nruns) == 0)
      c->r->files[c->r->nfiles++] = file;
    else
      ov_file_free (file);
    tsk_fs_file_close (f);
    if (r == -1)
      return oom (c);
    if (problem) {
      give_up (c, "inode %" PRIu64 ": %s", k->inode, problem);
      free (problem);
      return -1;
    }
    if (c->r->fallback || c->failed)
      return -1;
  }
  return 0;
}

/* ---- the safety net ---- */

static int
compare_extents (const void *a, const void *b)
{
  const struct ov_extent *x = a, *y = b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  return 0;
}

static int
merge_explained (struct ctx *c)
{
  size_t i;

  if (c->explained_raw.len)
    qsort (c->explained_raw.ptr, c->explained_raw.len,
           sizeof c->explained_raw.ptr[0], compare_extents);
  for (i = 0; i < c->explained_raw.len; i++)
    if (ov_extents_add (&c->explained, c->explained_raw.ptr[i].offset,
                        c->explained_raw.ptr[i].length) == -1)
      return oom (c);
  c->explained_raw.len = 0;
  for (i = 0; i < c->in->known_owned->len; i++)
    if (explain (c, c->in->known_owned->ptr[i].offset,
                 c->in->known_owned->ptr[i].length) == -1)
      return -1;
  if (c->explained_raw.len)
    qsort (c->explained_raw.ptr, c->explained_raw.len,
           sizeof c->explained_raw.ptr[0], compare_extents);
  for (i = 0; i < c->explained_raw.len; i++)
    if (ov_extents_add (&c->explained, c->explained_raw.ptr[i].offset,
                        c->explained_raw.ptr[i].length) == -1)
      return oom (c);
  return 0;
}

/* Is block b free in its group's bitmap (an initialised one)?  The bitmap
 * block of the last group asked is cached in *buf. */
static int
block_is_free (struct ctx *c, uint64_t b, unsigned char *buf,
               uint64_t *cached_group, bool *is_free)
{
  uint64_t g, bit;

  *is_free = false;
  if (b < c->first_data_block)
    return 0;
  g = (b - c->first_data_block) / c->blocks_per_group;
  bit = (b - c->first_data_block) % c->blocks_per_group;
  if (g >= c->ngroups || (c->groups[g].flags & EXT_BG_BLOCK_UNINIT)
      || bit / 8 >= c->bs)
    return 0;
  if (*cached_group != g) {
    if (c->groups[g].block_bitmap >= c->nblocks
        || tsk_img_read (c->tfs->img_info, (TSK_OFF_T) (c->fs->offset
                                                        + c->groups[g].block_bitmap * c->bs),
                         (char *) buf, c->bs) != (ssize_t) c->bs)
      return give_up (c, "group %" PRIu64 ": cannot read the block bitmap", g);
    *cached_group = g;
  }
  *is_free = !(buf[bit / 8] & (1u << (bit % 8)));
  return 0;
}

static int
check_everything_explained (struct ctx *c)
{
  const ov_extents *d = c->in->dirty;
  uint64_t lo = c->fs->offset, hi = c->fs->offset + c->fs->size;
  uint64_t checked = 0, cached_group = UINT64_MAX;
  unsigned char *buf = NULL;
  size_t i;
  int ret = 0;

  if (merge_explained (c) == -1)
    return -1;
  for (i = 0; i < d->len && ret == 0; i++) {
    uint64_t a = d->ptr[i].offset, e = a + d->ptr[i].length, p;
    if (e <= lo || a >= hi)
      continue;
    if (a < lo) a = lo;
    if (e > hi) e = hi;
    c->r->dirty_bytes += e - a;
    if (ov_extents_total_in (&c->explained, a, e - a) == e - a)
      continue;
    /* Some byte is unexplained: it may still be free space. */
    for (p = a - (a - c->fs->offset) % c->bs; p < e && ret == 0; p += c->bs) {
      uint64_t b = (p - c->fs->offset) / c->bs;
      bool is_free;
      if (ov_extents_total_in (&c->explained, p, c->bs) == c->bs)
        continue;
      if ((checked += c->bs) > MAX_FREE_CHECK_BYTES) {
        ret = give_up (c, "more than %" PRIu64 " MiB of dirty blocks outside"
                       " known metadata and files", MAX_FREE_CHECK_BYTES >> 20);
        break;
      }
      if (buf == NULL && (buf = malloc (c->bs)) == NULL) {
        ret = oom (c);
        break;
      }
      if (block_is_free (c, b, buf, &cached_group, &is_free) == -1) {
        ret = -1;
        break;
      }
      if (!is_free)
        ret = give_up (c, "dirty block %" PRIu64 " (disk offset %" PRIu64
                       ") belongs to nothing known: not a changed file,"
                       " directory or metadata block", b, p);
    }
  }
  free (buf);
  return ret;
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
    return give_up (c, "no directory state recorded yet");
  for (i = 0; i < c->in->ndirs; i++)
    if (ov_inode_map_put (&c->old_index, c->in->dirs[i]->inode, i) == -1)
      return oom (c);
  if (old_dir (c, c->tfs->root_inum) == NULL)
    return give_up (c, "no directory state for the root");
  if (read_geometry (c) == -1 || read_dirty_inodes (c) == -1
      || read_reserved (c) == -1 || relist_dirty_dirs (c) == -1)
    return -1;
  for (i = 0; i < c->in->nreread; i++)
    if (c->in->reread[i] >= c->tfs->first_inum
        && c->in->reread[i] <= c->tfs->last_inum
        && add_candidate (c, c->in->reread[i]) == -1)
      return -1;
  if (build_tree (c, tree, visited) == -1 || apply_tree (c, tree, visited) == -1
      || build_candidates (c) == -1 || check_everything_explained (c) == -1)
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
