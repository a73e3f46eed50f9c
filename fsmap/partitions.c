/* ovscan — fsmap: the partition table (MBR with its EBR chain, or GPT).
 *
 * Our own parser rather than TSK's volume system code, because TSK refuses a
 * whole DOS/GPT table when one of its first two entries starts past the end
 * of the image, and we want that partition reported and the others opened;
 * and because we need Linux's partition numbers for the "pN:" labels.
 *
 * Numbering (as Linux's block/partitions/msdos.c and efi.c do):
 *   MBR primaries    slot + 1 (1-4), empty slots keep their number unused;
 *   logical          5, 6, … in EBR-chain order, data entries in slot order;
 *   GPT              entry index + 1.
 * Extended containers and empty entries produce no partition.
 *
 * Invariants: every guest number is bounded before use — at most
 * OV_MAX_PARTITIONS partitions and EBRs (an EBR loop ends there and says so),
 * a GPT entry array of at most 1 MiB, all offsets checked for overflow.  A
 * partition that lies (partly) past the end of the disk is returned with
 * `error` set; the others are unaffected.
 * Cost: a few sector reads.
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define SECTOR 512
#define GPT_MAX_ARRAY (1u << 20)

static bool
mbr_type_is_extended (uint8_t t)
{
  return t == 0x05 || t == 0x0f || t == 0x85;
}

static void
set_warning (struct ov_partition_table *table, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
set_warning (struct ov_partition_table *table, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;

  if (table->warning)           /* keep the first one */
    return;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) == -1)
    s = NULL;
  va_end (ap);
  table->warning = s;
}

/* Add a partition given in sectors; range problems become its `error`. */
static int
add_partition (struct ov_partition_table *table, unsigned number,
               uint64_t start_sector, uint64_t nsectors, uint64_t sector_size,
               uint8_t mbr_type, uint64_t disk_size)
{
  struct ov_partition *p, *parts;
  char *error = NULL;
  int r = 0;

  if (table->nparts >= OV_MAX_PARTITIONS) {
    set_warning (table, "more than %u partitions: the rest are ignored",
                 OV_MAX_PARTITIONS);
    return 0;
  }
  parts = realloc (table->parts, (table->nparts + 1) * sizeof *parts);
  if (parts == NULL) {
    ov_error_errno (errno, "realloc");
    return -1;
  }
  table->parts = parts;
  p = &parts[table->nparts++];
  memset (p, 0, sizeof *p);
  p->number = number;
  p->mbr_type = mbr_type;
  if (start_sector > UINT64_MAX / sector_size
      || nsectors > UINT64_MAX / sector_size) {
    r = asprintf (&error, "partition %u: start sector %" PRIu64 " or %"
                  PRIu64 " sectors overflow", number, start_sector, nsectors);
  }
  else {
    p->start = start_sector * sector_size;
    p->length = nsectors * sector_size;
    if (p->length == 0)
      r = asprintf (&error, "partition %u: empty (start %" PRIu64 ")",
                    number, p->start);
    else if (p->start >= disk_size || p->length > disk_size - p->start)
      r = asprintf (&error, "partition %u: start byte %" PRIu64 ", length %"
                    PRIu64 " (start sector %" PRIu64 ", %" PRIu64 " sectors)"
                    " lies past the end of the disk (%" PRIu64 " bytes)",
                    number, p->start, p->length, start_sector, nsectors,
                    disk_size);
  }
  if (r == -1) {
    ov_error_errno (errno, "asprintf");
    return -1;
  }
  p->error = error;
  return 0;
}

static int
read_gpt (ov_sector_read_fn read, void *opaque, uint64_t disk_size,
          struct ov_partition_table *table)
{
  unsigned char hdr[SECTOR];
  uint64_t sector_size = 0, entries_lba, array_offset, array_bytes;
  uint32_t nentries, entry_size, i;
  unsigned char *array = NULL;
  static const unsigned sizes[] = { 512, 4096 };
  size_t k;

  table->kind = OV_TABLE_GPT;
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    if ((uint64_t) sizes[k] + SECTOR > disk_size)
      break;
    if (read (opaque, hdr, SECTOR, sizes[k]) == -1)
      return -1;
    if (memcmp (hdr, "EFI PART", 8) == 0) {
      sector_size = sizes[k];
      break;
    }
  }
  if (sector_size == 0) {
    set_warning (table, "protective MBR (type 0xEE) but no GPT header at"
                 " byte 512 or 4096");
    return 0;
  }
  entries_lba = le64 (hdr + 72);
  nentries = le32 (hdr + 80);
  entry_size = le32 (hdr + 84);
  if (entry_size < 128 || entry_size > 4096 || entry_size % 8 != 0) {
    set_warning (table, "GPT: bad partition entry size %" PRIu32, entry_size);
    return 0;
  }
  if (nentries == 0)
    return 0;
  if ((uint64_t) nentries * entry_size > GPT_MAX_ARRAY) {
    set_warning (table, "GPT: %" PRIu32 " entries of %" PRIu32 " bytes exceed"
                 " %u bytes: only the first ones are read",
                 nentries, entry_size, GPT_MAX_ARRAY);
    nentries = GPT_MAX_ARRAY / entry_size;
  }
  array_bytes = (uint64_t) nentries * entry_size;
  if (entries_lba > disk_size / sector_size
      || entries_lba * sector_size > disk_size - array_bytes
      || array_bytes > disk_size) {
    set_warning (table, "GPT: partition entry array (LBA %" PRIu64 ", %"
                 PRIu64 " bytes) lies past the end of the disk (%" PRIu64
                 " bytes)", entries_lba, array_bytes, disk_size);
    return 0;
  }
  array_offset = entries_lba * sector_size;
  array = malloc (array_bytes);
  if (array == NULL) {
    ov_error_errno (errno, "malloc");
    return -1;
  }
  if (read (opaque, array, array_bytes, array_offset) == -1) {
    free (array);
    return -1;
  }
  for (i = 0; i < nentries; i++) {
    const unsigned char *e = array + (size_t) i * entry_size;
    static const unsigned char zero[16];
    uint64_t first, last;

    if (memcmp (e, zero, 16) == 0)
      continue;
    first = le64 (e + 32);
    last = le64 (e + 40);
    if (last < first) {
      if (add_partition (table, i + 1, first, 0, sector_size, 0, disk_size) == -1)
        goto err;
      continue;
    }
    if (add_partition (table, i + 1, first,
                       last - first == UINT64_MAX ? UINT64_MAX : last - first + 1,
                       sector_size, 0, disk_size) == -1)
      goto err;
  }
  free (array);
  return 0;
 err:
  free (array);
  return -1;
}

/* Walk the chain of EBRs of the extended partition starting at `base`. */
static int
read_logicals (ov_sector_read_fn read, void *opaque, uint64_t disk_size,
               uint64_t base, struct ov_partition_table *table)
{
  unsigned char s[SECTOR];
  uint64_t visited[OV_MAX_PARTITIONS];
  uint64_t cur = base;
  unsigned nvisited = 0, number = 5, j, i;

  for (;;) {
    uint64_t next = 0;

    for (j = 0; j < nvisited; j++)
      if (visited[j] == cur) {
        set_warning (table, "extended partition: loop in the EBR chain at"
                     " sector %" PRIu64, cur);
        return 0;
      }
    if (nvisited >= OV_MAX_PARTITIONS) {
      set_warning (table, "extended partition: more than %u EBRs",
                   OV_MAX_PARTITIONS);
      return 0;
    }
    visited[nvisited++] = cur;
    if (cur > disk_size / SECTOR - 1) {
      set_warning (table, "extended partition: EBR at sector %" PRIu64
                   " lies past the end of the disk (%" PRIu64 " bytes)",
                   cur, disk_size);
      return 0;
    }
    if (read (opaque, s, SECTOR, cur * SECTOR) == -1)
      return -1;
    if (s[510] != 0x55 || s[511] != 0xaa) {
      if (cur != base)
        set_warning (table, "extended partition: no EBR signature at sector %"
                     PRIu64, cur);
      return 0;
    }
    for (i = 0; i < 4; i++) {
      const unsigned char *e = s + 446 + 16 * i;
      uint8_t type = e[4];
      uint32_t start = le32 (e + 8), count = le32 (e + 12);

      if (type == 0 || count == 0)
        continue;
      if (mbr_type_is_extended (type)) {
        if (next == 0 && start != 0)
          next = base + start;
        continue;
      }
      if (add_partition (table, number++, cur + start, count, SECTOR, type,
                         disk_size) == -1)
        return -1;
    }
    if (next == 0)
      return 0;
    cur = next;
  }
}

int
ov_partitions_read (ov_sector_read_fn read, void *opaque, uint64_t disk_size,
                    struct ov_partition_table *table)
{
  unsigned char s[SECTOR];
  unsigned i, used = 0;

  memset (table, 0, sizeof *table);
  if (disk_size < SECTOR)
    return 0;
  if (read (opaque, s, SECTOR, 0) == -1)
    return -1;
  if (s[510] != 0x55 || s[511] != 0xaa)
    return 0;
  for (i = 0; i < 4; i++) {
    const unsigned char *e = s + 446 + 16 * i;
    if (e[0] != 0 && e[0] != 0x80)
      return 0;                 /* boot code of a filesystem, not a table */
    if (e[4] != 0 && le32 (e + 12) != 0)
      used++;
  }
  if (used == 0)
    return 0;
  for (i = 0; i < 4; i++)
    if (s[446 + 16 * i + 4] == 0xee)
      return read_gpt (read, opaque, disk_size, table);

  table->kind = OV_TABLE_MBR;
  for (i = 0; i < 4; i++) {
    const unsigned char *e = s + 446 + 16 * i;
    uint8_t type = e[4];
    uint32_t start = le32 (e + 8), count = le32 (e + 12);

    if (type == 0 || count == 0)
      continue;
    if (mbr_type_is_extended (type)) {
      if (read_logicals (read, opaque, disk_size, start, table) == -1)
        return -1;
      continue;
    }
    if (add_partition (table, i + 1, start, count, SECTOR, type,
                       disk_size) == -1)
      return -1;
  }
  /* Linux order: by number (logicals were added while walking slots). */
  for (i = 1; i < table->nparts; i++) {
    struct ov_partition p = table->parts[i];
    size_t j = i;
    while (j > 0 && table->parts[j - 1].number > p.number) {
      table->parts[j] = table->parts[j - 1];
      j--;
    }
    table->parts[j] = p;
  }
  return 0;
}

void
ov_partition_table_free (struct ov_partition_table *table)
{
  size_t i;

  for (i = 0; i < table->nparts; i++)
    free (table->parts[i].error);
  free (table->parts);
  free (table->warning);
  memset (table, 0, sizeof *table);
}
