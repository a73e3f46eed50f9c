/* ovscan tests — builds jbd2 journals in memory, as the kernel lays them
 * out (superblock v2, descriptor blocks with tags, data copies, revoke and
 * commit blocks, csum v3 checksums), for the parser's unit tests
 * (tests/unit/test_fsmap_ext_journal.c) and the fuzz target's seeds
 * (tests/fuzz/fuzz_ext_journal*.c).  Header-only; needs ov_crc32c
 * (fsmap/ext_journal.h). */
#ifndef OVSCAN_TESTS_FUZZ_JBD2_BUILD_H
#define OVSCAN_TESTS_FUZZ_JBD2_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fsmap/ext_journal.h"

#define JB_64BIT   0x2
#define JB_CSUM_V3 0x10

struct jb {
  uint8_t *buf;
  uint32_t bs, nblocks, first, incompat;
  uint32_t pos;                  /* next log block to write */
  uint32_t seq;                  /* sequence of the open transaction */
};

static inline void
jb_put32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24); p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8); p[3] = (uint8_t) v;
}

static inline uint32_t
jb_get32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
    | (uint32_t) p[2] << 8 | p[3];
}

static inline uint8_t *
jb_block (const struct jb *j, uint32_t b)
{
  return j->buf + (size_t) b * j->bs;
}

static inline uint32_t
jb_next (const struct jb *j, uint32_t b)
{
  return b + 1 >= j->nblocks ? j->first : b + 1;
}

static inline void
jb_header (uint8_t *b, uint32_t type, uint32_t seq)
{
  jb_put32 (b, OV_JBD2_MAGIC);
  jb_put32 (b + 4, type);
  jb_put32 (b + 8, seq);
}

/* Superblock v2: log [1, nblocks), start and sequence as given. */
static inline void
jb_init (struct jb *j, uint8_t *buf, uint32_t bs, uint32_t nblocks,
         uint32_t incompat, uint32_t start, uint32_t seq)
{
  uint8_t *s = buf;
  *j = (struct jb) { .buf = buf, .bs = bs, .nblocks = nblocks, .first = 1,
                     .incompat = incompat, .pos = start, .seq = seq };
  memset (buf, 0, (size_t) bs * nblocks);
  jb_header (s, 4, 0);
  jb_put32 (s + 12, bs);
  jb_put32 (s + 16, nblocks);
  jb_put32 (s + 20, 1);
  jb_put32 (s + 24, seq);
  jb_put32 (s + 28, start);
  jb_put32 (s + 0x28, incompat | 0x1);        /* + revoke */
  for (int i = 0; i < 16; i++)
    s[0x30 + i] = (uint8_t) (0xa0 + i);
  jb_put32 (s + 0x40, 1);
  if (incompat & JB_CSUM_V3)
    s[0x50] = 4;
}

static inline uint32_t
jb_seed (const struct jb *j)
{
  return ov_crc32c (0xffffffffu, j->buf + 0x30, 16);
}

static inline size_t
jb_tag_bytes (const struct jb *j)
{
  if (j->incompat & JB_CSUM_V3)
    return 16;
  return j->incompat & JB_64BIT ? 12 : 8;
}

/* A bare commit block closing the open transaction. */
static inline void
jb_commit (struct jb *j)
{
  uint8_t *cb = jb_block (j, j->pos);
  memset (cb, 0, j->bs);
  jb_header (cb, 2, j->seq);
  j->pos = jb_next (j, j->pos);
  j->seq++;
}

/* One transaction: a descriptor, the data copies of targets (block k
 * filled with fill + k; a copy starting with the journal magic is escaped
 * as the kernel does), and, if commit, its commit block. */
static inline void
jb_transaction (struct jb *j, const uint64_t *targets, size_t n, uint8_t fill,
                bool commit)
{
  uint32_t d = j->pos, b = d;
  uint8_t *desc = jb_block (j, d);
  size_t p = 12, tb = jb_tag_bytes (j);

  memset (desc, 0, j->bs);
  jb_header (desc, 1, j->seq);
  for (size_t k = 0; k < n; k++) {
    uint8_t *t = desc + p, *data;
    uint16_t flags = k ? 0x2 : 0;               /* SAME_UUID after the first */
    uint8_t seq[4];
    uint32_t c;

    b = jb_next (j, b);
    data = jb_block (j, b);
    memset (data, (uint8_t) (fill + k), j->bs);
    jb_put32 (data + 4, (uint32_t) targets[k]); /* recognisable */
    if (fill == 0xc0 && k == 0) {               /* starts with the magic */
      jb_put32 (data, OV_JBD2_MAGIC);
      memset (data, 0, 4);
      flags |= 0x1;
    }
    if (k + 1 == n)
      flags |= 0x8;
    jb_put32 (t, (uint32_t) targets[k]);
    if (j->incompat & JB_CSUM_V3) {
      jb_put32 (t + 4, flags);
      jb_put32 (t + 8, (uint32_t) (targets[k] >> 32));
      jb_put32 (seq, j->seq);
      c = ov_crc32c (jb_seed (j), seq, 4);
      c = ov_crc32c (c, data, j->bs);           /* as stored (escaped) */
      jb_put32 (t + 12, c);
    }
    else {
      t[6] = (uint8_t) (flags >> 8);
      t[7] = (uint8_t) flags;
      if (j->incompat & JB_64BIT)
        jb_put32 (t + 8, (uint32_t) (targets[k] >> 32));
    }
    p += tb + (k ? 0 : 16);
  }
  j->pos = jb_next (j, b);
  if (commit)
    jb_commit (j);
}

/* A revoke block (in the open transaction). */
static inline void
jb_revoke (struct jb *j, const uint64_t *blocks, size_t n)
{
  uint8_t *r = jb_block (j, j->pos);
  size_t len = j->incompat & JB_64BIT ? 8 : 4, p = 16;

  memset (r, 0, j->bs);
  jb_header (r, 5, j->seq);
  for (size_t k = 0; k < n; k++, p += len) {
    if (len == 8) {
      jb_put32 (r + p, (uint32_t) (blocks[k] >> 32));
      jb_put32 (r + p + 4, (uint32_t) blocks[k]);
    }
    else
      jb_put32 (r + p, (uint32_t) blocks[k]);
  }
  jb_put32 (r + 12, (uint32_t) p);
  j->pos = jb_next (j, j->pos);
}

/* csum v3: the superblock's, and every descriptor/revoke tail and commit
 * checksum (data tag checksums are written by jb_transaction). */
static inline void
jb_fix_checksums (uint8_t *buf, uint32_t bs, uint32_t nblocks)
{
  uint32_t seed, c;
  static const uint8_t zero[4];

  if (bs < 1024 || !(jb_get32 (buf + 0x28) & 0x18))
    return;
  seed = ov_crc32c (0xffffffffu, buf + 0x30, 16);
  for (uint32_t b = 1; b < nblocks; b++) {
    uint8_t *x = buf + (size_t) b * bs;
    if (jb_get32 (x) != OV_JBD2_MAGIC)
      continue;
    switch (jb_get32 (x + 4)) {
    case 1: case 5:
      c = ov_crc32c (seed, x, bs - 4);
      jb_put32 (x + bs - 4, ov_crc32c (c, zero, 4));
      break;
    case 2:
      c = ov_crc32c (seed, x, 16);
      c = ov_crc32c (c, zero, 4);
      jb_put32 (x + 16, ov_crc32c (c, x + 20, bs - 20));
      break;
    default:
      break;
    }
  }
  c = ov_crc32c (0xffffffffu, buf, 0xfc);
  c = ov_crc32c (c, zero, 4);
  jb_put32 (buf + 0xfc, ov_crc32c (c, buf + 0x100, 1024 - 0x100));
}

#endif
