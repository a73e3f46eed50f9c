/* Unit tests: the replayed view's pieces (fsmap/ext_journal_view.c) —
 * ov_ext_journal_patch over reads that start, end or sit inside replayed
 * blocks (escaped copies get their magic back, also when a read starts in
 * the middle of the first 4 bytes), and ov_ext_journal_targets merging the
 * replayed blocks into a dirty set.  The disk is a real raw file read
 * through qemu-nbd (ov_disk_open). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsmap/ext_journal.h"

#define BS 1024
#define NBLOCKS 64
#define FS_OFFSET (4 * BS)       /* the filesystem starts 4 blocks in */

static uint8_t image[(NBLOCKS + 4) * BS];
static char path[] = "/tmp/ovscan-journal-view-XXXXXX";
static struct ov_disk *disk;

/* fs block b holds byte (b & 0x7f); journal copies live in fs blocks 40+,
 * holding byte 0x80 | their target. */
static int
setup (void **state)
{
  struct ov_disk_options o = { .format = "raw" };
  int fd;
  (void) state;
  for (size_t b = 0; b < NBLOCKS; b++)
    memset (image + FS_OFFSET + b * BS, (int) (b & 0x7f), BS);
  fd = mkstemp (path);
  if (fd == -1 || write (fd, image, sizeof image) != (ssize_t) sizeof image)
    return -1;
  close (fd);
  disk = ov_disk_open (path, &o);
  return disk ? 0 : -1;
}

static int
teardown (void **state)
{
  (void) state;
  ov_disk_close (disk);
  unlink (path);
  return 0;
}

/* Journal: targets 5, 6, 9 replayed from fs blocks 40, 41, 42; 6 escaped. */
static struct ov_ext_journal *
journal (void)
{
  static uint64_t targets[] = { 5, 6, 9 }, copies[3];
  static bool escaped[] = { false, true, false };
  static struct ov_ext_journal j;
  for (int i = 0; i < 3; i++) {
    copies[i] = FS_OFFSET + (uint64_t) (40 + i) * BS;
    memset (image + copies[i], 0x80 | (int) targets[i], BS);
  }
  memset (image + copies[1], 0, 4);      /* stored escaped */
  j = (struct ov_ext_journal) {
    .fs_offset = FS_OFFSET, .fs_size = NBLOCKS * BS, .block_size = BS,
    .targets = targets, .copies = copies, .escaped = escaped, .n = 3,
    .complete = true };
  return &j;
}

/* What the replayed view must hold at absolute offset off. */
static uint8_t
expected (uint64_t off)
{
  static const uint8_t magic[4] = { 0xc0, 0x3b, 0x39, 0x98 };
  uint64_t b, within;
  if (off < FS_OFFSET)
    return 0;
  b = (off - FS_OFFSET) / BS;
  within = (off - FS_OFFSET) % BS;
  if (b == 6 && within < 4)
    return magic[within];
  if (b == 41 && within < 4)                    /* the stored, escaped copy */
    return 0;
  if (b >= 40 && b <= 42)                       /* copies: read as they are */
    return 0x80 | (uint8_t) (b == 40 ? 5 : b == 41 ? 6 : 9);
  if (b == 5 || b == 6 || b == 9)
    return 0x80 | (uint8_t) b;
  return (uint8_t) (b & 0x7f);
}

static void
check_range (const struct ov_ext_journal *j, uint64_t off, size_t len)
{
  uint8_t *buf = malloc (len);
  assert_non_null (buf);
  assert_int_equal (ov_disk_pread (disk, buf, len, off), 0);
  assert_int_equal (ov_ext_journal_patch (j, disk, buf, len, off), 0);
  for (size_t i = 0; i < len; i++)
    if (buf[i] != expected (off + i))
      fail_msg ("offset %zu (read %llu+%zu): 0x%02x, want 0x%02x", i,
                (unsigned long long) off, len, buf[i], expected (off + i));
  free (buf);
}

static void
test_patch (void **state)
{
  const struct ov_ext_journal *j;
  int fd;
  (void) state;
  j = journal ();
  /* The copies were written after the disk opened: write them now. */
  fd = open (path, O_WRONLY);
  assert_true (fd >= 0);
  assert_int_equal (pwrite (fd, image, sizeof image, 0), (ssize_t) sizeof image);
  close (fd);

  check_range (j, 0, sizeof image - 16 * BS);            /* everything */
  check_range (j, FS_OFFSET + 5 * BS + 100, 10);          /* inside one */
  check_range (j, FS_OFFSET + 4 * BS + 1000, 3 * BS);     /* across 5, 6 */
  check_range (j, FS_OFFSET + 6 * BS + 2, 5);             /* mid-magic */
  check_range (j, FS_OFFSET + 6 * BS + 3, 1);
  check_range (j, FS_OFFSET + 9 * BS - 1, 2);             /* edges of 9 */
  check_range (j, FS_OFFSET + 10 * BS, BS);               /* untouched */
  check_range (j, 0, FS_OFFSET);                          /* before the fs */
}

static void
test_targets (void **state)
{
  const struct ov_ext_journal *j = journal ();
  ov_extents set = VECTOR_INIT;
  (void) state;
  /* Dirty: block 1, blocks 6-7 (overlaps 6), block 20. */
  assert_int_equal (ov_extents_add (&set, FS_OFFSET + 1 * BS, BS), 0);
  assert_int_equal (ov_extents_add (&set, FS_OFFSET + 6 * BS, 2 * BS), 0);
  assert_int_equal (ov_extents_add (&set, FS_OFFSET + 20 * BS, BS), 0);
  assert_int_equal (ov_ext_journal_targets (j, &set), 0);
  /* 1 | 5-7 | 9 | 20 */
  assert_int_equal (set.len, 4);
  assert_int_equal (set.ptr[0].offset, FS_OFFSET + 1 * BS);
  assert_int_equal (set.ptr[1].offset, FS_OFFSET + 5 * BS);
  assert_int_equal (set.ptr[1].length, 3 * BS);
  assert_int_equal (set.ptr[2].offset, FS_OFFSET + 9 * BS);
  assert_int_equal (set.ptr[2].length, BS);
  assert_int_equal (set.ptr[3].offset, FS_OFFSET + 20 * BS);
  free (set.ptr);

  /* An empty set gets exactly the replayed blocks. */
  set = (ov_extents) VECTOR_INIT;
  assert_int_equal (ov_ext_journal_targets (j, &set), 0);
  assert_int_equal (set.len, 2);
  assert_int_equal (ov_extents_total (&set), 3 * BS);
  free (set.ptr);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_patch),
    cmocka_unit_test (test_targets),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
