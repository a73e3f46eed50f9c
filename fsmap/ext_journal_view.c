/* ovscan — fsmap: the replayed ext3/ext4 view (see ext_journal.h).
 *
 * ov_ext_journal_attach runs once per ext filesystem opened on the disk's
 * own TSK image, right after TSK opened it: if the superblock's RECOVER flag
 * is set it finds the internal journal inode's blocks (through TSK, before
 * any replay), walks the log (ext_journal.c), gives the result to the TSK
 * image (tsk_image.c: every later read of a replayed block returns its
 * journal copy), drops TSK's image cache and reopens the filesystem so that
 * TSK's own superblock/group-descriptor copies come from the replayed view.
 * The disk is never written.
 *
 * Invariants: the journal object is immutable once attached and owned by
 * the TSK image (freed when it closes); struct ov_fs_tsk.journal borrows it.
 * Every copy offset lies inside the journal inode's validated runs, hence
 * inside the filesystem.  A journal that cannot be replayed leaves today's
 * (stale) view, with the reason in status and complete = false, so the
 * targeted pass falls back to a full walk naming it.
 * Not handled: external journal devices (refused, reason given), an LV
 * stored in several runs (its own TSK image; not replayed), fast-commit
 * blocks (full commits are replayed, complete = false).
 * Cost: at every map open (once per poll), the committed log from s_start
 * is read once in chunks of up to 256 blocks (data copies included: they
 * sit between the descriptors; CRC32C'd when csum v2/v3 asks), the count
 * is in the status line; then one small read per replayed block a later
 * read touches.
 */
#include "fsmap/ext_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "fsmap/ext_incremental.h"
#include "fsmap/internal.h"

#define EXT_INCOMPAT_RECOVER   0x0004
#define EXT_INCOMPAT_JOURNAL_DEV 0x0008
#define EXT_COMPAT_HAS_JOURNAL 0x0004
#define CHUNK_BLOCKS           256

void
ov_ext_journal_free (struct ov_ext_journal *j)
{
  if (j == NULL)
    return;
  free (j->targets);
  free (j->copies);
  free (j->escaped);
  free (j->status);
  free (j);
}

const struct ov_ext_journal *
ov_ext_journal_of (const struct ov_fs *fs)
{
  /* A file may come without a filesystem (built by a test or a caller
   * that reads raw runs): then there is no journal to apply. */
  const struct ov_fs_tsk *t = fs ? fs->priv : NULL;
  return t ? t->journal : NULL;
}

/* ---- reading the log through the journal inode's runs ---- */

struct log_reader {
  struct ov_disk *disk;
  const struct ov_file *jf;      /* the journal inode's runs */
  uint32_t bs;
  uint64_t nblocks;
  unsigned char *chunk;
  uint64_t chunk_first, chunk_n;
};

static int
read_log_block (void *opaque, void *buf, uint64_t block)
{
  struct log_reader *lr = opaque;
  uint64_t want = block * lr->bs, disk_off, n;
  size_t i;

  if (block >= lr->nblocks) {
    ov_error ("log block %" PRIu64 " past the journal (%" PRIu64 " blocks)",
              block, lr->nblocks);
    return -1;
  }
  if (block < lr->chunk_first || block >= lr->chunk_first + lr->chunk_n) {
    i = ov_runs_find (lr->jf->runs, lr->jf->nruns, want);
    if (i == lr->jf->nruns || lr->jf->runs[i].kind != OV_RUN_DATA) {
      ov_error ("log block %" PRIu64 " is not stored in a plain extent", block);
      return -1;
    }
    disk_off = lr->jf->runs[i].disk_offset + (want - lr->jf->runs[i].file_offset);
    /* As many blocks as the run, the chunk and the journal allow. */
    n = (lr->jf->runs[i].file_offset + lr->jf->runs[i].length - want) / lr->bs;
    if (n > CHUNK_BLOCKS)
      n = CHUNK_BLOCKS;
    if (n > lr->nblocks - block)
      n = lr->nblocks - block;
    if (n == 0)
      n = 1;
    lr->chunk_n = 0;
    if (ov_disk_pread (lr->disk, lr->chunk, n * lr->bs, disk_off) == -1)
      return -1;
    lr->chunk_first = block;
    lr->chunk_n = n;
  }
  memcpy (buf, lr->chunk + (block - lr->chunk_first) * lr->bs, lr->bs);
  return 0;
}

/* The journal inode's runs; 0 with *why set if unusable, -1 ENOMEM. */
static int
journal_runs (struct ov_fs *fs, TSK_FS_INFO *tfs, uint64_t inum,
              struct ov_file *jf, char **why)
{
  TSK_FS_FILE *file;
  const TSK_FS_ATTR *attr;
  bool distrust = false;
  int r = 0;

  tsk_error_reset ();
  file = tsk_fs_file_open_meta (tfs, NULL, (TSK_INUM_T) inum);
  if (file == NULL || file->meta == NULL) {
    r = asprintf (why, "journal inode %" PRIu64 " unreadable: %s", inum,
                  ov_tsk_error ());
    goto out;
  }
  tsk_error_reset ();
  attr = tsk_fs_file_attr_get (file);
  if (attr == NULL) {
    r = asprintf (why, "journal inode %" PRIu64 " has no data: %s", inum,
                  ov_tsk_error ());
    goto out;
  }
  if (ov_runs_from_attr (fs, attr, inum, jf, &distrust) == -1 || distrust
      || jf->needs_tsk || jf->resident) {
    r = asprintf (why, "journal inode %" PRIu64 ": block map not usable: %s",
                  inum, distrust || jf->needs_tsk || jf->resident
                  ? "odd runs" : ov_last_error ());
    goto out;
  }
 out:
  if (file)
    tsk_fs_file_close (file);
  if (r == -1) {
    *why = NULL;
    return -1;
  }
  return 0;
}

/* Turn the parser's result into the image's lookup arrays. */
static int
fill_copies (struct ov_ext_journal *j, const struct ov_jbd2_replay *r,
             const struct ov_file *jf, char **why)
{
  size_t i;

  j->targets = malloc ((r->nblocks ? r->nblocks : 1) * sizeof *j->targets);
  j->copies = malloc ((r->nblocks ? r->nblocks : 1) * sizeof *j->copies);
  j->escaped = malloc ((r->nblocks ? r->nblocks : 1) * sizeof *j->escaped);
  if (j->targets == NULL || j->copies == NULL || j->escaped == NULL)
    return -1;
  for (i = 0; i < r->nblocks; i++) {
    uint64_t off;
    if (ov_runs_map (jf->runs, jf->nruns, r->blocks[i].log_block * j->block_size,
                     &off) == -1)
      return asprintf (why, "log block %" PRIu64 " not in a plain extent",
                       r->blocks[i].log_block) == -1 ? -1 : 0;
    j->targets[i] = r->blocks[i].target;
    j->copies[i] = off;
    j->escaped[i] = r->blocks[i].escaped;
  }
  j->n = r->nblocks;
  return 0;
}

/* Replay the journal of inode inum into j (status set either way). */
static int
replay (struct ov_fsmap *map, struct ov_fs *fs, TSK_FS_INFO *tfs,
        uint64_t inum, struct ov_ext_journal *j)
{
  struct ov_file jf = { .fs = fs };
  struct ov_jbd2_replay r = { 0 };
  struct log_reader lr = { .disk = map->disk, .jf = &jf, .bs = j->block_size };
  char *why = NULL;
  double t0 = ov_monotonic_seconds ();
  int ret = -1;

  if (journal_runs (fs, tfs, inum, &jf, &why) == -1)
    goto out;
  if (why == NULL) {
    lr.nblocks = jf.size / j->block_size;
    lr.chunk = malloc ((size_t) CHUNK_BLOCKS * j->block_size);
    if (lr.chunk == NULL
        || ov_jbd2_replay (read_log_block, &lr, j->block_size, lr.nblocks,
                           j->fs_size / j->block_size, &r) == -1)
      goto out;
    if (r.unusable && asprintf (&why, "%s", r.unusable) == -1)
      goto out;
  }
  if (why == NULL && fill_copies (j, &r, &jf, &why) == -1)
    goto out;
  j->replay_seconds = ov_monotonic_seconds () - t0;
  if (why) {
    j->n = 0;
    if (asprintf (&j->status, "journal not replayed: %s", why) == -1)
      goto out;
  }
  else {
    j->complete = !r.fast_commit;
    if (asprintf (&j->status, "journal replayed: %" PRIu32 " transaction(s) from"
                  " sequence %" PRIu32 ", %zu block(s), %" PRIu64 " revoke"
                  " record(s), %" PRIu64 " copy(ies) with a bad checksum"
                  " skipped, %" PRIu64 " log block(s) walked in %.1f ms%s;"
                  " log end: %s", r.transactions,
                  r.first_sequence, j->n, r.revokes, r.bad_data_checksums,
                  r.log_blocks_read, j->replay_seconds * 1e3,
                  r.fast_commit ? "; fast-commit blocks NOT replayed" : "",
                  r.end ? r.end : (r.needs_recovery ? "?" : "clean")) == -1)
      goto out;
  }
  ret = 0;
 out:
  if (ret == -1)
    ov_error ("%s: journal replay: out of memory",
              fs->label[0] ? fs->label : "disk");
  free (why);
  free (lr.chunk);
  ov_jbd2_replay_clear (&r);
  free (jf.runs);
  free (jf.resident);
  return ret;
}

int
ov_ext_journal_attach (struct ov_fsmap *map, struct ov_fs *fs)
{
  struct ov_fs_tsk *t = fs->priv;
  const char *where = fs->label[0] ? fs->label : "disk";
  unsigned char sb[1024];
  struct ov_ext_journal *j;
  uint32_t incompat, inum, dev;
  TSK_FS_INFO *tfs;

  if (t == NULL || t->fs == NULL || t->lv_img || !TSK_FS_TYPE_ISEXT (t->fs->ftype))
    return 0;
  if (ov_disk_pread (map->disk, sb, sizeof sb, fs->offset + 1024) == -1
      || le16 (sb + 56) != 0xef53)
    return 0;                   /* TSK read it a moment ago: not ours to judge */
  incompat = le32 (sb + 96);
  if (!(incompat & EXT_INCOMPAT_RECOVER) || (incompat & EXT_INCOMPAT_JOURNAL_DEV))
    return 0;
  if ((j = calloc (1, sizeof *j)) == NULL) {
    ov_error_errno (errno, "%s: journal", where);
    return -1;
  }
  j->fs_offset = fs->offset;
  j->fs_size = fs->size;
  j->block_size = t->fs->block_size;
  inum = le32 (sb + 0xe0);
  dev = le32 (sb + 0xe4);
  if (!(le32 (sb + 92) & EXT_COMPAT_HAS_JOURNAL) || inum == 0) {
    if (asprintf (&j->status, "journal not replayed: %s",
                  inum == 0 && dev ? "external journal device" :
                  "no internal journal inode") == -1)
      goto nomem;
  }
  else if (replay (map, fs, t->fs, inum, j) == -1) {
    ov_ext_journal_free (j);
    return -1;
  }
  if (ov_tsk_image_add_journal (map->img, j) == -1)
    goto nomem;
  t->journal = j;
  if (j->n == 0)
    return 0;

  /* Reopen on the replayed view; if TSK cannot, back to the disk's view. */
  tsk_fs_close (t->fs);
  t->fs = NULL;
  ov_tsk_image_flush (map->img);
  tsk_error_reset ();
  tfs = tsk_fs_open_img (map->img, (TSK_OFF_T) fs->offset, TSK_FS_TYPE_DETECT);
  if (tfs == NULL) {
    char *s = NULL;
    if (asprintf (&s, "journal not replayed: the replayed filesystem does not"
                  " open: %s", ov_tsk_error ()) == -1)
      goto nomem;
    free (j->status);
    j->status = s;
    j->n = 0;
    j->complete = false;
    ov_tsk_image_flush (map->img);
    tsk_error_reset ();
    tfs = tsk_fs_open_img (map->img, (TSK_OFF_T) fs->offset, TSK_FS_TYPE_DETECT);
    if (tfs == NULL) {
      ov_fs_set_error (fs, "%s (%s): cannot reopen: %s", where, fs->type,
                       ov_tsk_error ());
      free (t);
      fs->priv = NULL;
      return 0;
    }
  }
  t->fs = tfs;
  return 0;

 nomem:
  if (t->journal != j)
    ov_ext_journal_free (j);
  ov_error ("%s: journal: out of memory", where);
  return -1;
}

int
ov_ext_journal_patch (const struct ov_ext_journal *j, struct ov_disk *disk,
                      void *buf, size_t len, uint64_t offset)
{
  static const unsigned char magic[4] = { 0xc0, 0x3b, 0x39, 0x98 };
  unsigned char *out = buf;
  uint64_t lo, hi, first, last, end;
  size_t a, b;

  if (j == NULL || j->n == 0 || len == 0 || len > UINT64_MAX - offset)
    return 0;
  end = offset + len;
  lo = offset > j->fs_offset ? offset : j->fs_offset;
  hi = end < j->fs_offset + j->fs_size ? end : j->fs_offset + j->fs_size;
  if (lo >= hi)
    return 0;
  first = (lo - j->fs_offset) / j->block_size;
  last = (hi - 1 - j->fs_offset) / j->block_size;
  a = 0, b = j->n;              /* first target >= first */
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (j->targets[m] < first)
      a = m + 1;
    else
      b = m;
  }
  for (; a < j->n && j->targets[a] <= last; a++) {
    uint64_t start = j->fs_offset + j->targets[a] * j->block_size;
    uint64_t s = start > offset ? start : offset;
    uint64_t e = start + j->block_size < end ? start + j->block_size : end;
    uint64_t within = s - start;

    if (ov_disk_pread (disk, out + (s - offset), e - s, j->copies[a] + within)
        == -1) {
      ov_error_prefix ("journal copy of block %" PRIu64 " at disk offset %"
                       PRIu64, j->targets[a], j->copies[a]);
      return -1;
    }
    for (; j->escaped[a] && within < 4 && s < e; within++, s++)
      out[s - offset] = magic[within];
  }
  return 0;
}

int
ov_ext_journal_targets (const struct ov_ext_journal *j, ov_extents *set)
{
  ov_extents merged = VECTOR_INIT;
  size_t i = 0, k = 0;

  if (j == NULL || j->n == 0)
    return 0;
  /* Both sorted: merge in ascending order (O(1) per add). */
  while (i < set->len || k < j->n) {
    uint64_t koff = k < j->n ? j->fs_offset + j->targets[k] * j->block_size : 0;
    int r;
    if (k >= j->n || (i < set->len && set->ptr[i].offset <= koff)) {
      r = ov_extents_add (&merged, set->ptr[i].offset, set->ptr[i].length);
      i++;
    }
    else {
      r = ov_extents_add (&merged, koff, j->block_size);
      k++;
    }
    if (r == -1) {
      free (merged.ptr);
      return -1;
    }
  }
  free (set->ptr);
  *set = merged;
  return 0;
}

int
ov_fsmap_journal_dirty (struct ov_fsmap *map, ov_extents *dirty)
{
  size_t i;

  for (i = 0; i < map->nfs; i++) {
    const struct ov_fs *fs = map->fs[i];
    const struct ov_ext_journal *j = ov_ext_journal_of (fs);
    /* No byte of the fs written: its replayed view is the same bytes. */
    if (j && j->n && ov_extents_total_in (dirty, fs->offset, fs->size)
        && ov_ext_journal_targets (j, dirty) == -1)
      return -1;
  }
  return 0;
}
