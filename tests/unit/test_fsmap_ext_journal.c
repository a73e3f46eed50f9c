/* Unit tests: the jbd2 log walk (fsmap/ext_journal.c) on crafted journals —
 * newest copy wins, revoke records (and a copy after the revoke), an
 * uncommitted (truncated) transaction, wrapping at the end of the log,
 * sequence gaps, csum v3 (bad descriptor, commit, data and superblock
 * checksums), escaped copies, 32-bit tags, and hostile numbers (tags past
 * the filesystem, a revoke count past the block, geometry, a log over
 * the byte cap, unknown features). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/ext_journal.h"
#include "tests/fuzz/jbd2_build.h"

#define BS 1024
#define NBLOCKS 64
#define FS_BLOCKS 100000
static uint8_t journal[BS * NBLOCKS];
static int reads;

static int
mem_read (void *opaque, void *buf, uint64_t block)
{
  (void) opaque;
  reads++;
  if (block >= NBLOCKS)
    return -1;
  memcpy (buf, journal + block * BS, BS);
  return 0;
}

/* A journal of which only the superblock (opaque, 64 KiB) is readable. */
static int
big_read (void *opaque, void *buf, uint64_t block)
{
  if (block != 0)
    return -1;
  memcpy (buf, opaque, 65536);
  return 0;
}

static void
replay (struct ov_jbd2_replay *r)
{
  reads = 0;
  assert_int_equal (ov_jbd2_replay (mem_read, NULL, BS, NBLOCKS, FS_BLOCKS, r), 0);
}

/* Log block holding target's copy, or 0 if not replayed. */
static uint64_t
copy_of (const struct ov_jbd2_replay *r, uint64_t target)
{
  for (size_t i = 0; i < r->nblocks; i++)
    if (r->blocks[i].target == target)
      return r->blocks[i].log_block;
  return 0;
}

static void
test_crc32c (void **state)
{
  (void) state;
  /* The standard check value of CRC-32C ("123456789"), with the usual
   * pre/post inversion applied by hand. */
  assert_int_equal (~ov_crc32c (0xffffffffu, "123456789", 9), 0xe3069283u);
}

static void
test_clean (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 0, 7);
  replay (&r);
  assert_null (r.unusable);
  assert_false (r.needs_recovery);
  assert_int_equal (r.nblocks, 0);
  assert_int_equal (reads, 1);
  ov_jbd2_replay_clear (&r);
}

static void
test_newest_wins (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t t1[] = { 100, 101, 5000000000ull % FS_BLOCKS }, t2[] = { 100 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 7);
  jb_transaction (&j, t1, 3, 0x10, true);      /* desc 1, data 2-4, commit 5 */
  jb_transaction (&j, t2, 1, 0x20, true);      /* desc 6, data 7, commit 8 */
  replay (&r);
  assert_null (r.unusable);
  assert_true (r.needs_recovery);
  assert_int_equal (r.transactions, 2);
  assert_int_equal (r.nblocks, 3);
  assert_int_equal (copy_of (&r, 100), 7);
  assert_int_equal (copy_of (&r, 101), 3);
  assert_int_equal (copy_of (&r, t1[2]), 4);
  for (size_t i = 1; i < r.nblocks; i++)
    assert_true (r.blocks[i - 1].target < r.blocks[i].target);
  assert_non_null (r.end);
  ov_jbd2_replay_clear (&r);
}

static void
test_revoke (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 200, 201 }, rev[] = { 200, 999 }, b[] = { 200 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 1);
  jb_transaction (&j, a, 2, 0x10, true);       /* seq 1: 200, 201 */
  jb_revoke (&j, rev, 2);                      /* seq 2: revoke 200 */
  jb_commit (&j);
  replay (&r);
  assert_int_equal (r.transactions, 2);
  assert_int_equal (r.revokes, 2);
  assert_int_equal (copy_of (&r, 200), 0);
  assert_int_not_equal (copy_of (&r, 201), 0);
  ov_jbd2_replay_clear (&r);

  /* A copy written after the revoke (seq 3) is replayed again. */
  jb_transaction (&j, b, 1, 0x30, true);
  replay (&r);
  assert_int_equal (r.transactions, 3);
  assert_int_equal (copy_of (&r, 200), j.pos - 2);
  ov_jbd2_replay_clear (&r);
}

static void
test_revoke_uncommitted_ignored (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 300 }, rev[] = { 300 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, 0, 1, 1);
  jb_transaction (&j, a, 1, 0x10, true);
  jb_revoke (&j, rev, 1);                      /* never committed */
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_int_not_equal (copy_of (&r, 300), 0);
  ov_jbd2_replay_clear (&r);
}

static void
test_truncated_transaction (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 10 }, b[] = { 10, 11 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 1);
  jb_transaction (&j, a, 1, 0x10, true);
  jb_transaction (&j, b, 2, 0x20, false);      /* no commit block */
  replay (&r);
  assert_null (r.unusable);
  assert_int_equal (r.transactions, 1);
  assert_int_equal (r.nblocks, 1);
  assert_int_equal (copy_of (&r, 10), 2);
  assert_int_equal (copy_of (&r, 11), 0);
  ov_jbd2_replay_clear (&r);
}

static void
test_wrap (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 40, 41, 42, 43 };
  (void) state;
  /* Start 3 blocks before the end: desc 61, data 62 63 1 2, commit 3. */
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, NBLOCKS - 3, 9);
  jb_transaction (&j, a, 4, 0x10, true);
  replay (&r);
  assert_null (r.unusable);
  assert_int_equal (r.transactions, 1);
  assert_int_equal (copy_of (&r, 40), 62);
  assert_int_equal (copy_of (&r, 41), 63);
  assert_int_equal (copy_of (&r, 42), 1);
  assert_int_equal (copy_of (&r, 43), 2);
  ov_jbd2_replay_clear (&r);
}

static void
test_sequence_gap (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 10 }, b[] = { 11 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 1);
  jb_transaction (&j, a, 1, 0x10, true);
  j.seq += 5;                                  /* a stale transaction */
  jb_transaction (&j, b, 1, 0x20, true);
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_int_equal (copy_of (&r, 11), 0);
  assert_non_null (strstr (r.end, "expected"));
  ov_jbd2_replay_clear (&r);
}

static void
test_csum_v3 (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 10, 11 }, b[] = { 10 }, c[] = { 12 };
  uint32_t desc2, data2;
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT | JB_CSUM_V3, 1, 1);
  jb_transaction (&j, a, 2, 0x10, true);       /* 1: desc, 2-3, commit 4 */
  desc2 = j.pos;
  jb_transaction (&j, b, 1, 0x20, true);       /* 5: desc, 6, commit 7 */
  data2 = desc2 + 1;
  jb_transaction (&j, c, 1, 0x30, true);       /* 8: desc, 9, commit 10 */
  jb_fix_checksums (journal, BS, NBLOCKS);
  replay (&r);
  assert_null (r.unusable);
  assert_int_equal (r.transactions, 3);
  assert_int_equal (copy_of (&r, 10), data2);
  assert_int_equal (r.bad_data_checksums, 0);
  ov_jbd2_replay_clear (&r);

  /* A bad data copy is skipped: the older copy of 10 stands. */
  journal[data2 * BS + 100] ^= 1;
  replay (&r);
  assert_int_equal (r.transactions, 3);
  assert_int_equal (r.bad_data_checksums, 1);
  assert_int_equal (copy_of (&r, 10), 2);
  ov_jbd2_replay_clear (&r);
  journal[data2 * BS + 100] ^= 1;

  /* A bad commit checksum ends the log before transaction 2. */
  journal[(desc2 + 2) * BS + 100] ^= 1;
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_int_equal (copy_of (&r, 10), 2);
  assert_int_equal (copy_of (&r, 12), 0);
  ov_jbd2_replay_clear (&r);
  journal[(desc2 + 2) * BS + 100] ^= 1;

  /* A bad descriptor checksum too. */
  journal[desc2 * BS + 500] ^= 1;
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_non_null (strstr (r.end, "checksum"));
  ov_jbd2_replay_clear (&r);
  journal[desc2 * BS + 500] ^= 1;

  /* A bad superblock checksum: nothing is replayed. */
  journal[0x200] ^= 1;
  replay (&r);
  assert_non_null (r.unusable);
  assert_int_equal (r.nblocks, 0);
  ov_jbd2_replay_clear (&r);
  journal[0x200] ^= 1;
}

static void
test_escape_and_32bit_tags (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 77, 78 };
  (void) state;
  jb_init (&j, journal, BS, NBLOCKS, 0, 1, 1); /* 8-byte tags */
  jb_transaction (&j, a, 2, 0xc0, true);       /* first copy escaped */
  replay (&r);
  assert_int_equal (r.nblocks, 2);
  assert_true (r.blocks[0].escaped);
  assert_false (r.blocks[1].escaped);
  assert_int_equal (r.blocks[1].log_block, 3);
  ov_jbd2_replay_clear (&r);
}

static void
test_hostile (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 10 }, past[] = { FS_BLOCKS + 5 };
  (void) state;

  /* A tag past the filesystem ends the log at its transaction. */
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 1);
  jb_transaction (&j, a, 1, 0x10, true);
  jb_transaction (&j, past, 1, 0x20, true);
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_non_null (strstr (r.end, "past the filesystem"));
  ov_jbd2_replay_clear (&r);

  /* More tags than the log has blocks: one lap at most, no commit. */
  jb_init (&j, journal, BS, NBLOCKS, 0, 1, 1);
  jb_header (journal + BS, 1, 1);
  for (size_t k = 0; k < 100; k++) {           /* 8-byte tags */
    uint8_t *t = journal + BS + 12 + (k ? 16 : 0) + 8 * k;
    jb_put32 (t, (uint32_t) k + 1);
    t[7] = k ? 0x2 : 0;
  }
  replay (&r);
  assert_int_equal (r.transactions, 0);
  assert_int_equal (r.nblocks, 0);
  assert_non_null (strstr (r.end, "lap"));
  assert_true (reads <= NBLOCKS + 1);
  ov_jbd2_replay_clear (&r);

  /* A revoke count past the block ends the log. */
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT, 1, 1);
  jb_transaction (&j, a, 1, 0x10, true);
  jb_revoke (&j, a, 1);
  jb_put32 (journal + (j.pos - 1) * BS + 12, BS + 4);
  jb_commit (&j);
  replay (&r);
  assert_int_equal (r.transactions, 1);
  assert_int_not_equal (copy_of (&r, 10), 0);
  ov_jbd2_replay_clear (&r);

  /* Geometry: a log longer than the journal inode. */
  jb_init (&j, journal, BS, NBLOCKS, 0, 1, 1);
  jb_put32 (journal + 16, NBLOCKS + 1);
  replay (&r);
  assert_non_null (r.unusable);
  ov_jbd2_replay_clear (&r);

  /* Start outside the log; unknown incompat feature; wrong block size. */
  jb_init (&j, journal, BS, NBLOCKS, 0, NBLOCKS, 1);
  replay (&r);
  assert_non_null (r.unusable);
  ov_jbd2_replay_clear (&r);
  jb_init (&j, journal, BS, NBLOCKS, 0x400, 1, 1);
  replay (&r);
  assert_non_null (strstr (r.unusable, "unknown"));
  ov_jbd2_replay_clear (&r);
  jb_init (&j, journal, 2048, NBLOCKS / 2, 0, 1, 1);
  replay (&r);
  assert_non_null (r.unusable);
  ov_jbd2_replay_clear (&r);

  /* A log over the byte cap (64 KiB blocks: the block cap allows more). */
  {
    static uint8_t big[65536];
    uint32_t over = (uint32_t) (OV_JBD2_MAX_LOG_BYTES / sizeof big) + 1;
    jb_init (&j, big, sizeof big, 1, 0, 1, 1);
    jb_put32 (big + 16, over);
    assert_int_equal (ov_jbd2_replay (big_read, big, sizeof big, over,
                                      FS_BLOCKS, &r), 0);
    assert_non_null (r.unusable);
    assert_non_null (strstr (r.unusable, "cap"));
    ov_jbd2_replay_clear (&r);
    jb_put32 (big + 16, over - 1);            /* at the cap: walked */
    assert_int_equal (ov_jbd2_replay (big_read, big, sizeof big, over,
                                      FS_BLOCKS, &r), 0);
    assert_null (strstr (r.unusable ? r.unusable : "", "cap"));
    ov_jbd2_replay_clear (&r);
  }

  /* Garbage. */
  memset (journal, 0xff, sizeof journal);
  replay (&r);
  assert_non_null (r.unusable);
  ov_jbd2_replay_clear (&r);
}

static void
test_fast_commit_area (void **state)
{
  struct jb j;
  struct ov_jbd2_replay r;
  uint64_t a[] = { 10 };
  (void) state;
  /* 16 fast-commit blocks at the end: the log wraps at NBLOCKS - 16. */
  jb_init (&j, journal, BS, NBLOCKS, JB_64BIT | 0x20, 1, 1);
  jb_put32 (journal + 0x54, 16);
  j.nblocks = NBLOCKS - 16;
  j.pos = j.nblocks - 1;
  jb_put32 (journal + 28, j.pos);
  jb_transaction (&j, a, 1, 0x10, true);       /* desc 47, data 1, commit 2 */
  replay (&r);
  assert_null (r.unusable);
  assert_true (r.fast_commit);
  assert_int_equal (copy_of (&r, 10), 1);
  ov_jbd2_replay_clear (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_crc32c),
    cmocka_unit_test (test_clean),
    cmocka_unit_test (test_newest_wins),
    cmocka_unit_test (test_revoke),
    cmocka_unit_test (test_revoke_uncommitted_ignored),
    cmocka_unit_test (test_truncated_transaction),
    cmocka_unit_test (test_wrap),
    cmocka_unit_test (test_sequence_gap),
    cmocka_unit_test (test_csum_v3),
    cmocka_unit_test (test_escape_and_32bit_tags),
    cmocka_unit_test (test_hostile),
    cmocka_unit_test (test_fast_commit_area),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
