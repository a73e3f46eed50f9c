/* ovscan — fsmap: ext3/ext4 journal (jbd2) replay for point-in-time views.
 *
 * A copy of a MOUNTED ext4 (a live poll's fleecing view, an image copied
 * while the guest runs) has committed journal transactions that are not yet
 * written to their home blocks: the newest inodes, directory blocks and
 * bitmaps exist only in the journal.  We replay them in memory, as e2fsck or
 * the kernel would at mount, without writing anything:
 *
 *   ov_jbd2_replay()   pure parser over a "read journal block N" callback:
 *                      walks the log from s_start/s_sequence (descriptor,
 *                      commit and revoke blocks; tags v2/v3, 64-bit, csum
 *                      v2/v3 verified) and returns, for every fs block, its
 *                      newest copy in a fully committed transaction that no
 *                      later revoke record cancels (fsmap/ext_journal.c);
 *   ov_ext_journal_*   the ext glue (fsmap/ext_journal_view.c): find the
 *                      journal inode, replay it, hand the result to the TSK
 *                      image (fsmap/tsk_image.c) so that every metadata read
 *                      sees the replayed blocks, and patch file content
 *                      reads (data=journal) the same way (fsmap/reader.c).
 *
 * The journal is guest-controlled: every number is bound-checked; the walk
 * stops at the first block that is not the next valid piece of the log
 * (wrong magic or sequence, bad checksum, bad revoke count, a tag past the
 * filesystem) exactly where the kernel's recovery ends the log, and never
 * reads more than one lap of the log.  Memory: O(tags + revoke records),
 * capped (OV_JBD2_MAX_*); a journal over the caps is "unusable".
 */
#ifndef OVSCAN_FSMAP_EXT_JOURNAL_H
#define OVSCAN_FSMAP_EXT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/disk.h"
#include "common/extents.h"

#define OV_JBD2_MAGIC            0xc03b3998u
/* Caps (a journal over them is "unusable"): mke2fs makes at most 1 GiB
 * journals without fast_commit (262,144 blocks of 4 KiB).  Worst-case
 * memory while walking: ~32 bytes per tag + 16 per index entry (log
 * blocks), ~24 bytes per revoke record: under 100 MiB at the caps. */
#define OV_JBD2_MAX_LOG_BLOCKS   (UINT64_C (1) << 20)   /* 4 GiB of 4 KiB */
#define OV_JBD2_MAX_REVOKES      (UINT64_C (1) << 20)   /* revoke records */
/* One lap of the log is read (and CRC32C'd) at every map open, i.e. every
 * poll: with 64 KiB blocks the block cap alone would allow 64 GiB. */
#define OV_JBD2_MAX_LOG_BYTES    (UINT64_C (1) << 32)

/* Read log block `block` (0 = the journal superblock) of block_size bytes
 * into buf.  0, or -1 + ov_error. */
typedef int (*ov_jbd2_read_fn) (void *opaque, void *buf, uint64_t block);

struct ov_jbd2_block {
  uint64_t target;               /* fs block the copy belongs to */
  uint64_t log_block;            /* where the copy is in the journal */
  bool escaped;                  /* first 4 bytes must read as the magic */
};

struct ov_jbd2_replay {
  struct ov_jbd2_block *blocks;  /* sorted by target, one per target */
  size_t nblocks;
  bool needs_recovery;           /* s_start != 0 */
  uint32_t first_sequence;       /* s_sequence */
  uint32_t transactions;         /* fully committed, replayed */
  uint64_t log_blocks_read;      /* blocks of the log walked (incl. data) */
  uint64_t revokes;              /* revoke records of committed transactions */
  uint64_t bad_data_checksums;   /* copies skipped for a bad tag checksum */
  bool fast_commit;              /* fast-commit area present (not replayed) */
  char *end;                     /* why the log walk stopped (informational) */
  char *unusable;                /* NULL, or why nothing can be replayed */
};
void ov_jbd2_replay_clear (struct ov_jbd2_replay *r);

/* Walk the journal of journal_blocks blocks of block_size bytes, for a
 * filesystem of fs_blocks blocks.  Returns 0 (r->unusable set if the
 * journal cannot be replayed: bad superblock, unknown feature, read error,
 * over a cap), or -1 + ov_error on ENOMEM. */
int ov_jbd2_replay (ov_jbd2_read_fn read, void *opaque, uint32_t block_size,
                    uint64_t journal_blocks, uint64_t fs_blocks,
                    struct ov_jbd2_replay *r);

/* CRC32C (Castagnoli) as jbd2 uses it: no pre/post inversion. */
uint32_t ov_crc32c (uint32_t crc, const void *data, size_t len);

/* ---- ext glue (fsmap/ext_journal_view.c) ---- */

struct ov_fsmap;
struct ov_fs;

/* One ext filesystem's replayed journal, as the TSK image and the readers
 * use it.  Immutable once attached (read by several threads). */
struct ov_ext_journal {
  uint64_t fs_offset;            /* absolute offset of the filesystem */
  uint64_t fs_size;              /* bytes */
  uint32_t block_size;
  uint64_t *targets;             /* sorted fs block numbers */
  uint64_t *copies;              /* absolute disk offset of each copy */
  bool *escaped;
  size_t n;
  bool complete;                 /* the whole committed log is in the view
                                    (targeted passes may trust it) */
  char *status;                  /* one line: what was replayed, or why not */
  double replay_seconds;
};
void ov_ext_journal_free (struct ov_ext_journal *j);

/* For an ext filesystem just opened on the disk's image: if its superblock
 * says the journal needs recovery, replay the internal journal and reopen
 * the filesystem on the replayed view.  Problems (external journal, bad
 * journal) leave today's view and a status line (ov_ext_journal_status).
 * -1 + ov_error only on ENOMEM. */
int ov_ext_journal_attach (struct ov_fsmap *map, struct ov_fs *fs);

/* Replace the bytes of [offset, offset+len) (absolute disk offsets) that
 * fall in replayed blocks by their journal copies, read through disk.
 * 0, or -1 + ov_error. */
int ov_ext_journal_patch (const struct ov_ext_journal *j,
                          struct ov_disk *disk, void *buf, size_t len,
                          uint64_t offset);

/* The journal of fs (NULL if none was attached: clean, not ext, …, or fs
 * is NULL: a file built without a filesystem). */
const struct ov_ext_journal *ov_ext_journal_of (const struct ov_fs *fs);

/* Add every replayed block's home range (absolute) to a sorted set. */
int ov_ext_journal_targets (const struct ov_ext_journal *j, ov_extents *set);

#endif
