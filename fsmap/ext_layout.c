/* ovscan — fsmap: ext2/3/4 layout for the targeted metadata refresh — the
 * group descriptors (inode tables, bitmaps, superblock/GDT copies), which
 * inode slots were written, and the safety net: every dirty byte explained
 * or the pass gives up (see ext_incremental.h).
 *
 * Guest numbers (group count, descriptor fields, block numbers) are
 * bound-checked; a bad one is a fallback, never a read outside the fs.
 * Cost: one GDT read; one bitmap block read per group holding a dirty
 * block nothing else explains.
 */
#include "fsmap/ext_incr_internal.h"
#include "fsmap/ext_journal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Explain disk bytes [off, off+len) (absolute), widened to whole
 * filesystem blocks: run lists stop at a file's size, but its owner owns
 * the whole last block. */
int
ext_explain (struct ctx *c, uint64_t off, uint64_t len)
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
    return ext_oom (c);
  c->explained_raw.ptr[c->explained_raw.len++] =
    (struct ov_extent) { .offset = off, .length = len };
  return 0;
}

int
ext_explain_blocks (struct ctx *c, uint64_t block, uint64_t count)
{
  if (block >= c->nblocks || count > c->nblocks - block)
    return ext_give_up (c, "block %" PRIu64 " (+%" PRIu64 ") outside the filesystem",
                    block, count);
  return ext_explain (c, c->fs->offset + block * c->bs, count * c->bs);
}

int
ext_explain_runs (struct ctx *c, const struct ov_run *runs, size_t nruns)
{
  size_t i;
  for (i = 0; i < nruns; i++)
    if (runs[i].kind != OV_RUN_SPARSE
        && ext_explain (c, runs[i].disk_offset, runs[i].length) == -1)
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

int
ext_read_geometry (struct ctx *c)
{
  unsigned char sb[1024];
  unsigned char *gdt;
  uint64_t gdt_bytes, gdt_blocks, reserved_gdt, g;
  uint32_t incompat, compat, ro_compat;

  if (tsk_img_read (c->tfs->img_info, (TSK_OFF_T) (c->fs->offset + 1024),
                    (char *) sb, sizeof sb) != (ssize_t) sizeof sb)
    return ext_give_up (c, "cannot read the superblock");
  if (le16 (sb + 56) != 0xef53)
    return ext_give_up (c, "no ext superblock magic");
  incompat = le32 (sb + 96);
  compat = le32 (sb + 92);
  ro_compat = le32 (sb + 100);
  if (incompat & EXT_INCOMPAT_RECOVER) {
    /* A mounted fs's copy: fine if the replayed view is complete and
     * every replayed block counts as dirty (ov_fsmap_journal_dirty). */
    const struct ov_ext_journal *j = c->t->journal;
    size_t i;
    if (j == NULL || !j->complete)
      return ext_give_up (c, "the journal needs recovery%s%s",
                          j ? "; " : "", j ? j->status : "");
    for (i = 0; i < j->n; i++)
      if (ov_extents_total_in (c->in->dirty, j->fs_offset + j->targets[i]
                               * j->block_size, j->block_size) != j->block_size)
        return ext_give_up (c, "the journal needs recovery and its replayed"
                            " block %" PRIu64 " is not in the dirty set",
                            j->targets[i]);
  }
  if (incompat & EXT_INCOMPAT_META_BG)
    return ext_give_up (c, "meta_bg layout (not handled incrementally)");
  c->bs = c->tfs->block_size;
  if (c->bs < 1024 || c->bs > 65536 || c->bs != (UINT64_C (1024) << le32 (sb + 24)))
    return ext_give_up (c, "block size mismatch");
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
    return ext_give_up (c, "inconsistent group geometry");
  gdt_bytes = (uint64_t) c->ngroups * c->t->ext_desc_size;
  if (gdt_bytes > MAX_GDT_BYTES)
    return ext_give_up (c, "%" PRIu32 " groups: descriptor table too large", c->ngroups);
  gdt = malloc (gdt_bytes);
  c->groups = calloc (c->ngroups, sizeof *c->groups);
  if (gdt == NULL || c->groups == NULL) {
    free (gdt);
    return ext_oom (c);
  }
  if (tsk_img_read (c->tfs->img_info, (TSK_OFF_T) c->t->ext_gdt_offset,
                    (char *) gdt, gdt_bytes) != (ssize_t) gdt_bytes) {
    free (gdt);
    return ext_give_up (c, "cannot read the group descriptors");
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
      if (start < c->nblocks && ext_explain_blocks (c, start,
                                                n < c->nblocks - start
                                                ? n : c->nblocks - start) == -1)
        return -1;
    }
    if (ext_explain_blocks (c, gr->block_bitmap, 1) == -1
        || ext_explain_blocks (c, gr->inode_bitmap, 1) == -1
        || ext_explain_blocks (c, gr->inode_table, table_blocks) == -1)
      return -1;
  }
  return 0;
}

/* Was inode's slot in its inode table written since the last poll? */
bool
ext_inode_slot_dirty (struct ctx *c, uint64_t inode)
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

/* ---- the safety net ---- */

int
ext_compare_extents (const void *a, const void *b)
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
           sizeof c->explained_raw.ptr[0], ext_compare_extents);
  for (i = 0; i < c->explained_raw.len; i++)
    if (ov_extents_add (&c->explained, c->explained_raw.ptr[i].offset,
                        c->explained_raw.ptr[i].length) == -1)
      return ext_oom (c);
  c->explained_raw.len = 0;
  for (i = 0; i < c->in->known_owned->len; i++)
    if (ext_explain (c, c->in->known_owned->ptr[i].offset,
                 c->in->known_owned->ptr[i].length) == -1)
      return -1;
  if (c->explained_raw.len)
    qsort (c->explained_raw.ptr, c->explained_raw.len,
           sizeof c->explained_raw.ptr[0], ext_compare_extents);
  for (i = 0; i < c->explained_raw.len; i++)
    if (ov_extents_add (&c->explained, c->explained_raw.ptr[i].offset,
                        c->explained_raw.ptr[i].length) == -1)
      return ext_oom (c);
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
      return ext_give_up (c, "group %" PRIu64 ": cannot read the block bitmap", g);
    *cached_group = g;
  }
  *is_free = !(buf[bit / 8] & (1u << (bit % 8)));
  return 0;
}

int
ext_check_everything_explained (struct ctx *c)
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
        ret = ext_give_up (c, "more than %" PRIu64 " MiB of dirty blocks outside"
                       " known metadata and files", MAX_FREE_CHECK_BYTES >> 20);
        break;
      }
      if (buf == NULL && (buf = malloc (c->bs)) == NULL) {
        ret = ext_oom (c);
        break;
      }
      if (block_is_free (c, b, buf, &cached_group, &is_free) == -1) {
        ret = -1;
        break;
      }
      if (!is_free)
        ret = ext_give_up (c, "dirty block %" PRIu64 " (disk offset %" PRIu64
                       ") belongs to nothing known: not a changed file,"
                       " directory or metadata block", b, p);
    }
  }
  free (buf);
  return ret;
}
