/* ovscan — fsmap: the jbd2 log walk (see ext_journal.h).  Pure logic over
 * a block-read callback, so tests and the fuzz target feed crafted logs.
 *
 * Rules (as the kernel's fs/jbd2/recovery.c and e2fsck apply them):
 *   - the log starts at s_start with sequence s_sequence (s_start 0: clean);
 *     log blocks run over [s_first, last) and wrap, last = s_maxlen minus
 *     the fast-commit area when that feature is on;
 *   - each block must carry the magic and the expected sequence, else the
 *     log ends; a descriptor's tags each consume the next log block; a
 *     commit block closes the transaction (sequence + 1); a revoke block
 *     cancels copies of a block in transactions up to its own sequence;
 *   - only transactions closed by a valid commit block count; a descriptor,
 *     revoke or commit block with a bad checksum (csum v2/v3), a bad revoke
 *     count, or a tag naming a block past the filesystem ends the log at the
 *     start of that transaction (the kernel would end or refuse there);
 *   - a data copy whose tag checksum fails is skipped (the kernel skips
 *     writing it): the previous copy, if any, stands;
 *   - the newest surviving copy of each block wins.
 * Bounds: at most one lap of the log (s_maxlen blocks, at most
 * OV_JBD2_MAX_LOG_BYTES) is read, tags and revoke records are capped.  Cost: one read per log block walked (data
 * copies too only when csum v2/v3 asks us to verify them; then the whole
 * committed log is read once and CRC32C'd).
 */
#include "fsmap/ext_journal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"
#include "fsmap/internal.h"

#define BLOCKTYPE_DESCRIPTOR   1
#define BLOCKTYPE_COMMIT       2
#define BLOCKTYPE_SUPER_V1     3
#define BLOCKTYPE_SUPER_V2     4
#define BLOCKTYPE_REVOKE       5

#define COMPAT_CHECKSUM        0x1
#define INCOMPAT_REVOKE        0x1
#define INCOMPAT_64BIT         0x2
#define INCOMPAT_ASYNC_COMMIT  0x4
#define INCOMPAT_CSUM_V2       0x8
#define INCOMPAT_CSUM_V3       0x10
#define INCOMPAT_FAST_COMMIT   0x20
#define INCOMPAT_KNOWN         0x3f
#define CHECKSUM_CRC32C        4
#define DEFAULT_FC_BLOCKS      256

#define TAG_ESCAPE             0x1
#define TAG_SAME_UUID          0x2
#define TAG_LAST               0x8

static inline uint32_t
be32 (const unsigned char *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
    | (uint32_t) p[2] << 8 | p[3];
}

static inline uint16_t
be16 (const unsigned char *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

/* ---- CRC32C (slicing by 8: ~4x the byte-wise table's speed) ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init (void)
{
  uint32_t i, k, c;
  for (i = 0; i < 256; i++) {
    c = i;
    for (k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    crc_table[0][i] = c;
  }
  for (i = 0; i < 256; i++)
    for (k = 1, c = crc_table[0][i]; k < 8; k++) {
      c = crc_table[0][c & 0xff] ^ (c >> 8);
      crc_table[k][i] = c;
    }
}

uint32_t
ov_crc32c (uint32_t crc, const void *data, size_t len)
{
  const unsigned char *p = data;
  pthread_once (&crc_once, crc_init);
  for (; len >= 8; p += 8, len -= 8) {
    uint32_t lo = crc ^ le32 (p), hi = le32 (p + 4);
    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff]
      ^ crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24]
      ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff]
      ^ crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
  }
  while (len--)
    crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

/* ---- state of one walk ---- */

struct tag {
  uint64_t target, log_block;
  uint32_t sequence;
  bool escaped;
  bool bad;                      /* csum v2/v3 mismatch: not replayed */
};
DEFINE_VECTOR (tag_vector, struct tag);
DEFINE_VECTOR (revoke_vector, uint64_t);

struct walk {
  ov_jbd2_read_fn read;
  void *opaque;
  struct ov_jbd2_replay *r;
  uint32_t bs;
  uint64_t fs_blocks;
  uint64_t first, last;          /* log area [first, last) */
  uint32_t incompat;
  bool csum;                     /* v2 or v3 */
  bool csum_v3;
  uint32_t seed;                 /* crc32c of the uuid */
  size_t tag_bytes;
  unsigned char *buf;            /* one block */
  unsigned char *data;           /* one block (data copies) */
  tag_vector committed;
  tag_vector pending;
  revoke_vector pending_revokes; /* block numbers, this transaction */
  struct ov_inode_map revoked;   /* block -> newest revoking sequence */
};

static void set_string (char **where, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
set_string (char **where, const char *fmt, ...)
{
  va_list ap;
  if (*where)
    return;
  va_start (ap, fmt);
  if (vasprintf (where, fmt, ap) == -1)
    *where = NULL;
  va_end (ap);
}

static bool
tid_gt (uint32_t x, uint32_t y)
{
  return (int32_t) (x - y) > 0;
}

static uint64_t
next_block (const struct walk *w, uint64_t b)
{
  b++;
  if (b >= w->last)
    b = w->first;
  return b;
}

/* crc32c of a block whose last 4 bytes hold a big-endian checksum of the
 * block with those bytes zeroed (descriptor and revoke block tails). */
static bool
tail_ok (const struct walk *w, const unsigned char *b)
{
  uint32_t want = be32 (b + w->bs - 4), got;
  static const unsigned char zero[4];
  got = ov_crc32c (w->seed, b, w->bs - 4);
  got = ov_crc32c (got, zero, 4);
  return got == want;
}

static bool
commit_ok (const struct walk *w, const unsigned char *b)
{
  /* h_chksum[0] at offset 16, computed with it zeroed. */
  static const unsigned char zero[4];
  uint32_t want = be32 (b + 16), got;
  got = ov_crc32c (w->seed, b, 16);
  got = ov_crc32c (got, zero, 4);
  got = ov_crc32c (got, b + 20, w->bs - 20);
  return got == want;
}

static int
read_superblock (struct walk *w, uint64_t journal_blocks)
{
  struct ov_jbd2_replay *r = w->r;
  const unsigned char *s = w->buf;
  uint32_t type, maxlen, first, start;

  if (w->read (w->opaque, w->buf, 0) == -1) {
    set_string (&r->unusable, "cannot read the journal superblock: %s",
                ov_last_error ());
    return -1;
  }
  type = be32 (s + 4);
  if (be32 (s) != OV_JBD2_MAGIC
      || (type != BLOCKTYPE_SUPER_V1 && type != BLOCKTYPE_SUPER_V2)) {
    set_string (&r->unusable, "no jbd2 superblock (magic %08" PRIx32
                ", type %" PRIu32 ")", be32 (s), type);
    return -1;
  }
  if (be32 (s + 12) != w->bs) {
    set_string (&r->unusable, "journal block size %" PRIu32
                " differs from the filesystem's %" PRIu32, be32 (s + 12), w->bs);
    return -1;
  }
  maxlen = be32 (s + 16);
  first = be32 (s + 20);
  r->first_sequence = be32 (s + 24);
  start = be32 (s + 28);
  if (maxlen > journal_blocks || maxlen > OV_JBD2_MAX_LOG_BLOCKS
      || first == 0 || first >= maxlen) {
    set_string (&r->unusable, "journal geometry out of range (length %" PRIu32
                ", first %" PRIu32 ", %" PRIu64 " blocks in the inode)",
                maxlen, first, journal_blocks);
    return -1;
  }
  if ((uint64_t) maxlen * w->bs > OV_JBD2_MAX_LOG_BYTES) {
    set_string (&r->unusable, "journal of %" PRIu32 " blocks of %" PRIu32
                " bytes over the %" PRIu64 " MiB cap", maxlen, w->bs,
                OV_JBD2_MAX_LOG_BYTES >> 20);
    return -1;
  }
  w->first = first;
  w->last = maxlen;
  if (type == BLOCKTYPE_SUPER_V2) {
    /* s_feature_compat (0x24) is not read: v1 commit checksums
     * (COMPAT_CHECKSUM) are not verified. */
    w->incompat = be32 (s + 0x28);
    if (w->incompat & ~INCOMPAT_KNOWN) {
      set_string (&r->unusable, "unknown journal features 0x%" PRIx32,
                  w->incompat & ~INCOMPAT_KNOWN);
      return -1;
    }
    w->csum_v3 = w->incompat & INCOMPAT_CSUM_V3;
    w->csum = w->csum_v3 || (w->incompat & INCOMPAT_CSUM_V2);
    if ((w->incompat & INCOMPAT_CSUM_V2) && w->csum_v3) {
      set_string (&r->unusable, "journal claims checksums v2 and v3");
      return -1;
    }
    if (w->csum) {
      uint32_t want = be32 (s + 0xfc), got;
      static const unsigned char zero[4];
      if (s[0x50] != CHECKSUM_CRC32C) {
        set_string (&r->unusable, "journal checksum type %u unknown", s[0x50]);
        return -1;
      }
      if (w->bs < 1024) {
        set_string (&r->unusable, "journal block too small");
        return -1;
      }
      got = ov_crc32c (0xffffffffu, s, 0xfc);
      got = ov_crc32c (got, zero, 4);
      got = ov_crc32c (got, s + 0x100, 1024 - 0x100);
      if (got != want) {
        set_string (&r->unusable, "journal superblock checksum mismatch");
        return -1;
      }
      w->seed = ov_crc32c (0xffffffffu, s + 0x30, 16);
    }
    if (w->incompat & INCOMPAT_FAST_COMMIT) {
      uint32_t fc = be32 (s + 0x54);
      if (fc == 0)
        fc = DEFAULT_FC_BLOCKS;
      if (fc >= w->last - w->first) {
        set_string (&r->unusable, "fast-commit area (%" PRIu32
                    " blocks) larger than the journal", fc);
        return -1;
      }
      w->last -= fc;
      r->fast_commit = true;
    }
  }
  if (w->csum_v3)
    w->tag_bytes = 16;
  else {
    w->tag_bytes = 12 + (w->csum ? 2 : 0);
    if (!(w->incompat & INCOMPAT_64BIT))
      w->tag_bytes -= 4;
  }
  r->needs_recovery = start != 0;
  if (start != 0 && (start < w->first || start >= w->last)) {
    set_string (&r->unusable, "log start %" PRIu32 " outside the log [%" PRIu64
                ", %" PRIu64 ")", start, w->first, w->last);
    return -1;
  }
  return start;
}

/* Does the copy at log block `block` match its tag's checksum (csum
 * v2/v3)?  1 yes, 0 no, -1 read error (r->unusable). */
static int
data_ok (struct walk *w, uint64_t block, uint32_t sequence, uint32_t want)
{
  unsigned char seq[4];
  uint32_t c;

  if (w->read (w->opaque, w->data, block) == -1) {
    set_string (&w->r->unusable, "cannot read journal block %" PRIu64 ": %s",
                block, ov_last_error ());
    return -1;
  }
  w->r->log_blocks_read++;
  seq[0] = sequence >> 24; seq[1] = sequence >> 16;
  seq[2] = sequence >> 8; seq[3] = (unsigned char) sequence;
  c = ov_crc32c (w->seed, seq, 4);
  c = ov_crc32c (c, w->data, w->bs);
  return w->csum_v3 ? c == want : (c & 0xffff) == want;
}

/* A descriptor block in w->buf: queue its tags.  *b is the descriptor's
 * position, moved to the last data block.  1 ok, 0 log ends, -1 ENOMEM. */
static int
descriptor_block (struct walk *w, uint64_t *b, uint32_t seq, uint64_t *walked)
{
  size_t limit = w->bs - (w->csum ? 4 : 0), p = 12;

  if (w->csum && !tail_ok (w, w->buf)) {
    set_string (&w->r->end, "transaction %" PRIu32 ": descriptor block %"
                PRIu64 " checksum mismatch", seq, *b);
    return 0;
  }
  while (p + w->tag_bytes <= limit) {
    const unsigned char *t = w->buf + p;
    uint16_t flags = be16 (t + 6);
    struct tag tag = { .sequence = seq };

    tag.target = be32 (t);
    if (w->incompat & INCOMPAT_64BIT)
      tag.target |= (uint64_t) be32 (t + 8) << 32;
    tag.escaped = flags & TAG_ESCAPE;
    *b = next_block (w, *b);
    tag.log_block = *b;
    if (++*walked > w->last - w->first) {
      set_string (&w->r->end, "transaction %" PRIu32 ": tags run past one lap"
                  " of the log", seq);
      return 0;
    }
    if (tag.target >= w->fs_blocks) {
      set_string (&w->r->end, "transaction %" PRIu32 ": tag names block %"
                  PRIu64 " past the filesystem", seq, tag.target);
      return 0;
    }
    /* The copy follows its descriptor: verified now, while it is in the
     * reader's chunk (the kernel verifies it when writing it back). */
    if (w->csum) {
      int ok = data_ok (w, tag.log_block, seq, w->csum_v3 ? be32 (t + 12)
                        : be16 (t + 4));
      if (ok == -1)
        return 0;
      tag.bad = ok == 0;
    }
    if (tag_vector_append (&w->pending, tag) == -1)
      return -1;
    p += w->tag_bytes;
    if (!(flags & TAG_SAME_UUID))
      p += 16;
    if (flags & TAG_LAST)
      break;
  }
  return 1;
}

/* A revoke block in w->buf.  1 ok, 0 log ends, -1 ENOMEM. */
static int
revoke_block (struct walk *w, uint64_t b, uint32_t seq)
{
  size_t limit = w->bs - (w->csum ? 4 : 0);
  size_t len = w->incompat & INCOMPAT_64BIT ? 8 : 4, p = 16;
  uint32_t count = be32 (w->buf + 12);

  if (w->csum && !tail_ok (w, w->buf)) {
    set_string (&w->r->end, "transaction %" PRIu32 ": revoke block %" PRIu64
                " checksum mismatch", seq, b);
    return 0;
  }
  if (count > limit) {          /* below 16: no records, as the kernel reads it */
    set_string (&w->r->end, "transaction %" PRIu32 ": revoke block %" PRIu64
                " count %" PRIu32 " out of range", seq, b, count);
    return 0;
  }
  for (; p + len <= count; p += len) {
    uint64_t block = len == 8 ? (uint64_t) be32 (w->buf + p) << 32
      | be32 (w->buf + p + 4) : be32 (w->buf + p);
    if (block >= w->fs_blocks)
      continue;                 /* cancels nothing we could replay */
    if (w->pending_revokes.len + w->r->revokes >= OV_JBD2_MAX_REVOKES) {
      set_string (&w->r->unusable, "more than %" PRIu64 " revoke records",
                  OV_JBD2_MAX_REVOKES);
      return 0;
    }
    if (revoke_vector_append (&w->pending_revokes, block) == -1)
      return -1;
  }
  return 1;
}

/* The transaction's commit block is valid: its tags and revokes count. */
static int
commit_transaction (struct walk *w, uint32_t seq)
{
  size_t i;

  for (i = 0; i < w->pending_revokes.len; i++) {
    uint64_t block = w->pending_revokes.ptr[i], old;
    if (ov_inode_map_get (&w->revoked, block, &old) == 0
        && !tid_gt (seq, (uint32_t) old))
      continue;
    if (ov_inode_map_put (&w->revoked, block, seq) == -1)
      return -1;
  }
  w->r->revokes += w->pending_revokes.len;
  w->pending_revokes.len = 0;
  if (ov_vector_reserve ((void **) &w->committed.ptr, &w->committed.cap,
                         w->committed.len + w->pending.len,
                         sizeof *w->committed.ptr) == -1)
    return -1;
  if (w->pending.len)
    memcpy (w->committed.ptr + w->committed.len, w->pending.ptr,
            w->pending.len * sizeof *w->pending.ptr);
  w->committed.len += w->pending.len;
  w->pending.len = 0;
  w->r->transactions++;
  return 0;
}

/* Walk the log; -1 only on ENOMEM (or a read error: r->unusable set). */
static int
walk_log (struct walk *w, uint64_t start)
{
  struct ov_jbd2_replay *r = w->r;
  uint64_t b = start, walked = 0;
  uint32_t seq = r->first_sequence;

  for (;;) {
    uint32_t type;
    int k;

    if (++walked > w->last - w->first) {
      set_string (&r->end, "the log runs one full lap without ending");
      return 0;
    }
    if (w->read (w->opaque, w->buf, b) == -1) {
      set_string (&r->unusable, "cannot read journal block %" PRIu64 ": %s",
                  b, ov_last_error ());
      return 0;
    }
    r->log_blocks_read++;
    if (be32 (w->buf) != OV_JBD2_MAGIC) {
      set_string (&r->end, "block %" PRIu64 ": no journal magic (end of log)", b);
      return 0;
    }
    if (be32 (w->buf + 8) != seq) {
      set_string (&r->end, "block %" PRIu64 ": sequence %" PRIu32 ", expected %"
                  PRIu32 " (end of log)", b, be32 (w->buf + 8), seq);
      return 0;
    }
    type = be32 (w->buf + 4);
    switch (type) {
    case BLOCKTYPE_DESCRIPTOR:
      k = descriptor_block (w, &b, seq, &walked);
      break;
    case BLOCKTYPE_REVOKE:
      k = revoke_block (w, b, seq);
      break;
    case BLOCKTYPE_COMMIT:
      if (w->csum && !commit_ok (w, w->buf)) {
        set_string (&r->end, "transaction %" PRIu32 ": commit block %" PRIu64
                    " checksum mismatch", seq, b);
        k = 0;
        break;
      }
      if (commit_transaction (w, seq) == -1)
        return -1;
      seq++;
      k = 1;
      break;
    default:
      set_string (&r->end, "block %" PRIu64 ": block type %" PRIu32
                  " (end of log)", b, type);
      k = 0;
      break;
    }
    if (k == -1)
      return -1;
    if (k == 0)
      return 0;
    b = next_block (w, b);
  }
}

static int
compare_blocks (const void *a, const void *b)
{
  const struct ov_jbd2_block *x = a, *y = b;
  return (x->target > y->target) - (x->target < y->target);
}

/* Newest surviving copy of each target, sorted. */
static int
resolve (struct walk *w)
{
  struct ov_jbd2_replay *r = w->r;
  struct ov_inode_map index = { 0 };
  size_t i;
  int ret = -1;

  r->blocks = calloc (w->committed.len ? w->committed.len : 1,
                      sizeof *r->blocks);
  if (r->blocks == NULL)
    return -1;
  for (i = 0; i < w->committed.len; i++) {
    const struct tag *t = &w->committed.ptr[i];
    uint64_t rseq, at;

    if (ov_inode_map_get (&w->revoked, t->target, &rseq) == 0
        && !tid_gt (t->sequence, (uint32_t) rseq))
      continue;
    if (t->bad) {
      r->bad_data_checksums++;
      continue;
    }
    if (ov_inode_map_get (&index, t->target, &at) == 0) {
      r->blocks[at].log_block = t->log_block;
      r->blocks[at].escaped = t->escaped;
      continue;
    }
    if (ov_inode_map_put (&index, t->target, r->nblocks) == -1)
      goto out;
    r->blocks[r->nblocks++] = (struct ov_jbd2_block) {
      .target = t->target, .log_block = t->log_block, .escaped = t->escaped };
  }
  qsort (r->blocks, r->nblocks, sizeof *r->blocks, compare_blocks);
  ret = 0;
 out:
  ov_inode_map_free (&index);
  return ret;
}

void
ov_jbd2_replay_clear (struct ov_jbd2_replay *r)
{
  free (r->blocks);
  free (r->end);
  free (r->unusable);
  memset (r, 0, sizeof *r);
}

int
ov_jbd2_replay (ov_jbd2_read_fn read, void *opaque, uint32_t block_size,
                uint64_t journal_blocks, uint64_t fs_blocks,
                struct ov_jbd2_replay *r)
{
  struct walk w = {
    .read = read, .opaque = opaque, .r = r, .bs = block_size,
    .fs_blocks = fs_blocks, .committed = VECTOR_INIT, .pending = VECTOR_INIT,
    .pending_revokes = VECTOR_INIT,
  };
  int start, ret = -1;

  memset (r, 0, sizeof *r);
  if (block_size < 1024 || block_size > 65536
      || (block_size & (block_size - 1))) {
    set_string (&r->unusable, "block size %" PRIu32 " not supported", block_size);
    return r->unusable ? 0 : -1;
  }
  w.buf = malloc (block_size);
  w.data = malloc (block_size);
  if (w.buf == NULL || w.data == NULL)
    goto out;
  start = read_superblock (&w, journal_blocks);
  if (start <= 0) {
    ret = 0;                    /* clean (0) or unusable (-1) */
    goto out;
  }
  if (walk_log (&w, (uint64_t) start) == -1)
    goto out;
  if (r->unusable == NULL && resolve (&w) == -1)
    goto out;
  ret = 0;
 out:
  free (w.buf);
  free (w.data);
  free (w.committed.ptr);
  free (w.pending.ptr);
  free (w.pending_revokes.ptr);
  ov_inode_map_free (&w.revoked);
  if (ret == 0 && r->unusable) {
    free (r->blocks);
    r->blocks = NULL;
    r->nblocks = 0;
  }
  if (ret == -1) {
    ov_jbd2_replay_clear (r);
    ov_error ("journal replay: out of memory");
  }
  return ret;
}
