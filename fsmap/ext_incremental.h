/* ovscan — fsmap: targeted metadata refresh of an ext2/3/4 filesystem.
 *
 * Instead of walking every directory and inode (ov_fsmap_walk), re-read
 * only what the dirty blocks hold and derive the files whose state may have
 * changed (the "candidates"), with their paths exactly as the walk would
 * give them.  The caller compares the candidates with its database as it
 * compares walked files; every known file that is not a candidate is, by
 * construction, unchanged (same inode, runs, paths, metadata) — unless the
 * safety net below fired, in which case nothing is returned and the caller
 * walks.
 *
 * Inputs: the disk's dirty extents; the directory tree as of the previous
 * poll (every directory the walk entered, with its listing and the blocks
 * it owns); the old runs of the known files that overlap a dirty extent (the
 * reverse map, looked up by the caller) and their inodes, plus any inode the
 * caller wants re-read anyway (last scan failed).
 *
 * What is re-read:
 *   - group descriptors (one read) give every group's inode table, block
 *     and inode bitmaps; superblock + GDT (+ reserved GDT) copies are placed
 *     by sparse_super / sparse_super2;
 *   - every inode slot in a dirty inode-table byte is opened: a directory
 *     whose block map changed is re-listed; a regular file is a candidate;
 *     anything else is "examined" (a known file there is now gone);
 *   - a directory whose blocks (old runs) are dirty is re-listed (in disk
 *     order, for TSK's image cache); an entry whose name and inode were in
 *     the old listing and whose inode slot is clean keeps its recorded type
 *     (its inode bytes are those the walk read), other entries take the type
 *     read from their dirty slot;
 *   - an old listing's entry whose inode slot was rewritten must still have
 *     its recorded type (else fallback: only the directory logic changed);
 *   - directories absent from the old tree and reached from a re-listed one
 *     (new, or moved in from nowhere) are listed from TSK, recursively;
 *   - the names tree is then re-derived in memory (old listings for the
 *     untouched directories, new ones for the re-listed): directory paths,
 *     loops, depth.  Files named in a re-listed directory's changed entries,
 *     or under a directory whose path changed, are candidates; every
 *     candidate's paths are all the names the tree gives it ("/$OrphanFiles/
 *     inode-N" if none and still allocated, as the walk's orphan search).
 *
 * Safety net — a missed changed file is the worst bug: every dirty byte of
 * the filesystem must be explained by ext metadata (superblock/GDT copies,
 * bitmaps, inode tables, the blocks of reserved inodes incl. the journal),
 * old runs of known files (caller) or directories, new runs of candidates or
 * re-listed directories, extent-tree/indirect blocks of the inodes re-read,
 * or free space (the block bitmap says unallocated, in a group whose bitmap
 * is initialised).  Anything else, any TSK error or problem the walk would
 * have reported, a journal needing recovery that was not fully replayed
 * (fsmap/ext_journal.h; with a replayed journal every replayed block must be
 * in the dirty set: ov_fsmap_journal_dirty), meta_bg, a missing directory
 * state, a names tree that is inconsistent, more than max_table_fraction of
 * the inode tables dirty: `fallback` says why and the caller walks.
 *
 * Cost: one GDT read, one metadata load per inode slot in a dirty
 * inode-table block (16 per 4 KiB with 256-byte inodes) and per candidate,
 * one TSK directory load per re-listed directory (no per-entry metadata
 * load), and in memory O(entries of the whole tree) to re-derive paths.
 * Measured on a 76,675-file ext4 image after a 1% change (767 files listed,
 * 27,590 dirty inode slots, 376 of 6,385 directories re-listed): ~0.5 s
 * against ~1.0-1.2 s for the walk (noisy shared machine).  The directory
 * loads dominate (TSK reads whole directories); parsing only the dirty
 * directory blocks ourselves is the next step.  No database access: the
 * caller brings the state.
 */
#ifndef OVSCAN_FSMAP_EXT_INCREMENTAL_H
#define OVSCAN_FSMAP_EXT_INCREMENTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/extents.h"
#include "fsmap/fsmap.h"

struct ov_ext_incr_input {
  const ov_extents *dirty;       /* the disk's dirty extents (absolute) */
  struct ov_dir **dirs;          /* the old tree (not modified; any order) */
  size_t ndirs;
  const ov_extents *known_owned; /* old runs of known files overlapping dirty */
  const uint64_t *reread;        /* inodes to re-read anyway (reverse-map hits,
                                    failed scans); any order, may repeat */
  size_t nreread;
  double max_table_fraction;     /* e.g. 0.10 */
};

struct ov_ext_incr_result {
  char *fallback;                /* non-NULL: do a full walk, this is why */
  struct ov_file **files;        /* candidates (caller owns them) */
  size_t nfiles;
  uint64_t *examined;            /* sorted, unique: inodes whose state was
                                    re-derived (a known file here that is not
                                    among `files` is gone) */
  size_t nexamined;
  struct ov_dir **dirs_put;      /* new or changed directories (caller owns) */
  size_t ndirs_put;
  uint64_t *dirs_gone;           /* old directories no longer in the tree */
  size_t ndirs_gone;
  /* For the poll's notice and the tests. */
  uint64_t inodes_read, dirs_listed, dirty_bytes;
};
void ov_ext_incr_result_clear (struct ov_ext_incr_result *r);

/* True if fs is an ext2/3/4 filesystem this path understands. */
bool ov_ext_incr_supported (const struct ov_fs *fs);

/* A mounted ext3/4's replayed journal (fsmap/ext_journal.h): the view of
 * a block held in the journal is its journal copy, which changes without
 * its home bytes being written.  Add to `dirty` (sorted, absolute) the home
 * range of every block the journal replays, for each filesystem that has a
 * dirty byte (conservative: a copy written before the previous poll is
 * counted again; it costs re-reading those metadata blocks, never a missed
 * change).  Call before looking up owners of dirty blocks.  The targeted
 * pass checks that this was done (else it falls back).  -1 on ENOMEM. */
int ov_fsmap_journal_dirty (struct ov_fsmap *map, ov_extents *dirty);

/* 0: either r->fallback is set (walk instead) or the candidates are in r.
 * -1 + ov_error only on ENOMEM. */
int ov_ext_incremental (struct ov_fsmap *map, struct ov_fs *fs,
                        const struct ov_ext_incr_input *in,
                        struct ov_ext_incr_result *r);

#endif
