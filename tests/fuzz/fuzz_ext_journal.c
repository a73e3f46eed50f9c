/* ovscan — fuzz target: the jbd2 log walk (fsmap/ext_journal.c) over
 * arbitrary bytes.  Input layout:
 *
 *   byte 0      bits 0-1: block size 1024 << k (k = 3 is taken as 0);
 *               bit 2: first rewrite the superblock, descriptor, revoke
 *               and commit checksums (csum v3 journals), so mutations get
 *               past them and reach the tags, revoke records and replay;
 *   bytes 1-4   journal length in blocks (little-endian, capped at 2^16);
 *   bytes 5-12  filesystem length in blocks (little-endian);
 *   the rest    the journal from its superblock; blocks past the input
 *               read as zeros, past the journal length fail.
 *
 * Invariants checked: the result is sorted by target with one entry per
 * target, every target inside the filesystem, every copy inside the log
 * area (never the superblock), nothing when the journal is unusable.
 *
 * Built two ways (tests/CMakeLists.txt): a libFuzzer binary
 * (fuzz-ext-journal, clang and -DOVSCAN_FUZZ=ON) and, always, with
 * fuzz_ext_journal_replay.c, a ctest replaying deterministic mutations of
 * crafted and kernel-written seeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsmap/ext_journal.h"
#include "tests/fuzz/jbd2_build.h"

struct input {
  const uint8_t *data;
  size_t len;
  uint32_t bs;
  uint64_t blocks;
};

static int
read_block (void *opaque, void *buf, uint64_t block)
{
  const struct input *in = opaque;
  uint64_t off = block * in->bs;
  if (block >= in->blocks)
    return -1;
  memset (buf, 0, in->bs);
  if (off < in->len)
    memcpy (buf, in->data + off, in->len - off < in->bs ? in->len - off : in->bs);
  return 0;
}

static uint64_t
get_le (const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* Number of blocks replayed, or -1 for an unusable journal; aborts if an
 * invariant breaks.  Shared with the replay harness. */
int fuzz_ext_journal_count (const uint8_t *data, size_t size);

int
fuzz_ext_journal_count (const uint8_t *data, size_t size)
{
  struct input in;
  struct ov_jbd2_replay r;
  uint8_t *copy = NULL;
  uint64_t fs_blocks;
  int ret;

  if (size < 13)
    return -1;
  in.bs = 1024u << ((data[0] & 3) == 3 ? 0 : data[0] & 3);
  in.blocks = get_le (data + 1, 4);
  if (in.blocks > 1u << 16)
    in.blocks = 1u << 16;
  fs_blocks = get_le (data + 5, 8);
  in.data = data + 13;
  in.len = size - 13;
  if ((data[0] & 4) && in.len >= in.bs) {
    if ((copy = malloc (in.len)) == NULL)
      return -1;
    memcpy (copy, in.data, in.len);
    jb_fix_checksums (copy, in.bs, (uint32_t) (in.len / in.bs));
    in.data = copy;
  }
  if (ov_jbd2_replay (read_block, &in, in.bs, in.blocks, fs_blocks, &r) == -1) {
    free (copy);
    return -1;
  }
  for (size_t i = 0; i < r.nblocks; i++) {
    if (r.blocks[i].target >= fs_blocks || r.blocks[i].log_block == 0
        || r.blocks[i].log_block >= in.blocks
        || (i && r.blocks[i - 1].target >= r.blocks[i].target))
      abort ();
  }
  if (r.unusable && r.nblocks)
    abort ();
  ret = r.unusable ? -1 : (int) r.nblocks;
  ov_jbd2_replay_clear (&r);
  free (copy);
  return ret;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_ext_journal_count (data, size);
  return 0;
}
