/* Unit tests: the partition table parser (fsmap/partitions.c) on crafted
 * in-memory disks — Linux numbering, EBR chains and loops, GPT, entries past
 * the end of the disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/internal.h"

#define DISK_SIZE (64u << 20)
static unsigned char disk[DISK_SIZE];

static int
mem_read (void *opaque, void *buf, size_t count, uint64_t offset)
{
  if (offset > DISK_SIZE || count > DISK_SIZE - offset)
    return -1;
  memcpy (buf, disk + offset, count);
  return 0;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void
put64 (unsigned char *p, uint64_t v)
{
  put32 (p, (uint32_t) v);
  put32 (p + 4, (uint32_t) (v >> 32));
}

/* Entry i of the table in sector `lba`. */
static void
mbr_entry (uint64_t lba, int i, uint8_t type, uint32_t start, uint32_t count)
{
  unsigned char *s = disk + lba * 512;
  unsigned char *e = s + 446 + 16 * i;
  e[0] = 0;
  e[4] = type;
  put32 (e + 8, start);
  put32 (e + 12, count);
  s[510] = 0x55;
  s[511] = 0xaa;
}

static int
setup (void **state)
{
  memset (disk, 0, sizeof disk);
  return 0;
}

static void
no_signature_means_no_table (void **state)
{
  struct ov_partition_table t;
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.kind, OV_TABLE_NONE);
  ov_partition_table_free (&t);
}

static void
mbr_primaries_keep_their_slot_numbers (void **state)
{
  struct ov_partition_table t;

  mbr_entry (0, 0, 0x83, 2048, 1000);
  mbr_entry (0, 2, 0x07, 4096, 1000);           /* slot 1 empty */
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.kind, OV_TABLE_MBR);
  assert_int_equal (t.nparts, 2);
  assert_int_equal (t.parts[0].number, 1);
  assert_int_equal (t.parts[0].start, 2048 * 512);
  assert_int_equal (t.parts[1].number, 3);
  assert_null (t.parts[1].error);
  ov_partition_table_free (&t);
}

static void
logical_partitions_are_numbered_from_5_in_chain_order (void **state)
{
  struct ov_partition_table t;

  mbr_entry (0, 0, 0x83, 2048, 1000);
  mbr_entry (0, 1, 0x05, 10000, 50000);          /* extended */
  mbr_entry (0, 3, 0x83, 70000, 1000);           /* p4 after the extended */
  mbr_entry (10000, 0, 0x83, 63, 1000);          /* p5 at 10063 */
  mbr_entry (10000, 1, 0x05, 20000, 5000);       /* next EBR at 30000 */
  mbr_entry (30000, 0, 0x07, 63, 1000);          /* p6 at 30063 */
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.nparts, 4);
  assert_int_equal (t.parts[0].number, 1);
  assert_int_equal (t.parts[1].number, 4);
  assert_int_equal (t.parts[2].number, 5);
  assert_int_equal (t.parts[2].start, 10063u * 512);
  assert_int_equal (t.parts[3].number, 6);
  assert_int_equal (t.parts[3].start, 30063u * 512);
  assert_int_equal (t.parts[3].mbr_type, 0x07);
  assert_null (t.warning);
  ov_partition_table_free (&t);
}

static void
ebr_loop_ends_with_a_warning (void **state)
{
  struct ov_partition_table t;

  mbr_entry (0, 0, 0x05, 10000, 50000);
  mbr_entry (10000, 0, 0x83, 63, 100);
  mbr_entry (10000, 1, 0x05, 0x1000, 100);       /* -> 14096 */
  mbr_entry (14096, 0, 0x83, 63, 100);
  mbr_entry (14096, 1, 0x05, 0x1000, 100);       /* -> 14096 again: loop */
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.nparts, 2);
  assert_non_null (t.warning);
  assert_non_null (strstr (t.warning, "loop"));
  ov_partition_table_free (&t);
}

static void
partition_past_the_end_gets_an_error_and_others_survive (void **state)
{
  struct ov_partition_table t;

  mbr_entry (0, 0, 0x83, 0x7fffff00, 100);       /* far past 64 MiB */
  mbr_entry (0, 1, 0x83, 2048, 1000);
  mbr_entry (0, 2, 0x83, 100000, 100000000);     /* starts inside, ends past */
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.nparts, 3);
  assert_non_null (t.parts[0].error);
  assert_non_null (strstr (t.parts[0].error, "partition 1"));
  assert_non_null (strstr (t.parts[0].error, "past the end"));
  assert_null (t.parts[1].error);
  assert_non_null (t.parts[2].error);
  ov_partition_table_free (&t);
}

static void
boot_code_is_not_a_table (void **state)
{
  struct ov_partition_table t;

  mbr_entry (0, 0, 0x83, 2048, 1000);
  disk[446 + 16] = 0x4c;                         /* a boot flag that is code */
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.kind, OV_TABLE_NONE);
  ov_partition_table_free (&t);
}

static void
gpt_entries_are_numbered_by_index (void **state)
{
  struct ov_partition_table t;
  unsigned char *h = disk + 512, *e = disk + 1024;

  mbr_entry (0, 0, 0xee, 1, DISK_SIZE / 512 - 1);
  memcpy (h, "EFI PART", 8);
  put64 (h + 72, 2);                             /* entries at LBA 2 */
  put32 (h + 80, 128);
  put32 (h + 84, 128);
  memset (e + 128 * 0, 0xaa, 16);                /* entry 0 used */
  put64 (e + 32, 2048);
  put64 (e + 40, 4095);
  memset (e + 128 * 3, 0xbb, 16);                /* entry 3 used, past the end */
  put64 (e + 128 * 3 + 32, 1u << 30);
  put64 (e + 128 * 3 + 40, (1u << 30) + 10);
  memset (e + 128 * 4, 0xcc, 16);                /* entry 4: last < first */
  put64 (e + 128 * 4 + 32, 5000);
  put64 (e + 128 * 4 + 40, 4000);
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.kind, OV_TABLE_GPT);
  assert_int_equal (t.nparts, 3);
  assert_int_equal (t.parts[0].number, 1);
  assert_int_equal (t.parts[0].start, 2048u * 512);
  assert_int_equal (t.parts[0].length, 2048u * 512);
  assert_null (t.parts[0].error);
  assert_int_equal (t.parts[1].number, 4);
  assert_non_null (t.parts[1].error);
  assert_int_equal (t.parts[2].number, 5);
  assert_non_null (t.parts[2].error);
  ov_partition_table_free (&t);
}

static void
gpt_with_absurd_entry_count_is_bounded (void **state)
{
  struct ov_partition_table t;
  unsigned char *h = disk + 512;

  mbr_entry (0, 0, 0xee, 1, DISK_SIZE / 512 - 1);
  memcpy (h, "EFI PART", 8);
  put64 (h + 72, 2);
  put32 (h + 80, 0xffffffff);
  put32 (h + 84, 128);
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.nparts, 0);
  assert_non_null (t.warning);
  ov_partition_table_free (&t);

  put64 (h + 72, UINT64_MAX / 2);                /* array offset overflows */
  put32 (h + 80, 128);
  assert_int_equal (ov_partitions_read (mem_read, NULL, DISK_SIZE, &t), 0);
  assert_int_equal (t.nparts, 0);
  assert_non_null (t.warning);
  ov_partition_table_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup (no_signature_means_no_table, setup),
    cmocka_unit_test_setup (mbr_primaries_keep_their_slot_numbers, setup),
    cmocka_unit_test_setup (logical_partitions_are_numbered_from_5_in_chain_order, setup),
    cmocka_unit_test_setup (ebr_loop_ends_with_a_warning, setup),
    cmocka_unit_test_setup (partition_past_the_end_gets_an_error_and_others_survive, setup),
    cmocka_unit_test_setup (boot_code_is_not_a_table, setup),
    cmocka_unit_test_setup (gpt_entries_are_numbered_by_index, setup),
    cmocka_unit_test_setup (gpt_with_absurd_entry_count_is_bounded, setup),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
