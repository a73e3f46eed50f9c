/* ovscan — fuzz target: the MBR/EBR/GPT parser (fsmap/partitions.c) over
 * arbitrary disk bytes.  The first 8 bytes of the input are the disk size
 * the parser is told (a hostile table may claim anything), the rest is the
 * start of the disk; reads past the input return zeros, reads past the
 * claimed size fail.
 *
 * Built two ways (tests/CMakeLists.txt):
 *   - with clang and -DOVSCAN_FUZZ=ON: a libFuzzer binary (fuzz-partitions);
 *   - always: with replay_main.c, a ctest that runs seeded tables (MBR with
 *     an EBR chain, GPT) through thousands of deterministic mutations, under
 *     ASan/UBSan in the sanitizer build.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fsmap/internal.h"

#include "tests/fuzz/fuzz_disk.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* For the replay driver: how many usable partitions an input gives. */
int fuzz_partitions_count (const uint8_t *data, size_t size);

int
fuzz_partitions_count (const uint8_t *data, size_t size)
{
  struct fuzz_disk d;
  struct ov_partition_table t;
  size_t i;
  int n = 0;

  memcpy (&d.size, data, 8);
  d.data = data + 8;
  d.len = size - 8;
  if (ov_partitions_read (fuzz_read, &d, d.size, &t) == -1)
    return -1;
  for (i = 0; i < t.nparts; i++)
    n += t.parts[i].error == NULL;
  ov_partition_table_free (&t);
  return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fuzz_disk d;
  struct ov_partition_table t;
  size_t i;

  if (size < 8)
    return 0;
  memcpy (&d.size, data, 8);
  d.data = data + 8;
  d.len = size - 8;
  if (ov_partitions_read (fuzz_read, &d, d.size, &t) == 0) {
    /* Every partition the parser accepts must lie inside the disk. */
    for (i = 0; i < t.nparts; i++)
      if (t.parts[i].error == NULL &&
          (t.parts[i].start > d.size || t.parts[i].length > d.size - t.parts[i].start))
        __builtin_trap ();
    ov_partition_table_free (&t);
  }
  return 0;
}
