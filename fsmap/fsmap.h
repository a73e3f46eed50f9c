/* ovscan — fsmap: from a disk's bytes to the files that own them.
 *
 * The Sleuth Kit reads the partition table and filesystems through our disk
 * source (tsk_img_open_external + a read cache), never through a mount.
 *
 * Model
 *   struct ov_fsmap   one disk: its volumes and the filesystems opened on them.
 *   struct ov_fs      one filesystem (or one volume we could not read, with
 *                     the reason in `error`).
 *   struct ov_file    one regular file's data stream: the default $DATA /
 *                     ext4 data, or an NTFS alternate data stream (each ADS is
 *                     its own ov_file with `stream` set).  Hard links share one
 *                     ov_file with several paths.
 *   struct ov_run     a piece of the stream: file bytes [file_offset,
 *                     file_offset+length) are stored at disk bytes
 *                     [disk_offset, disk_offset+length) — disk offsets are
 *                     ABSOLUTE (partition offset included), so the block→file
 *                     reverse map of later polls needs no translation.
 *
 * Guest paths
 *   A partitionless disk: "/etc/passwd".  A disk with a partition table:
 *   "pN:/etc/passwd", N the partition number as Linux numbers it (MBR
 *   primaries 1-4, logical partitions 5+; GPT entry index + 1).  An alternate
 *   data stream: "/dir/file:stream".  A file with no name (allocated inode
 *   that no directory references: unlinked-but-open, or lost):
 *   "/$OrphanFiles/inode-N".  Paths are raw guest bytes (NUL-terminated; they
 *   may hold newlines or invalid UTF-8): quote them with ov_quote_path() before
 *   printing.
 *
 * Errors
 *   Guest data is hostile.  A volume or filesystem that cannot be read is an
 *   ov_fs with `error` set, and the walk reports per-file problems through
 *   the error callback and goes on; nothing here aborts on guest input.
 *
 * Threads
 *   Opening and walking happen on one thread.  ov_file_pread() may be called
 *   from several threads at once, each with its own disk handle
 *   (ov_disk_reopen); the rare reads that need TSK (compressed NTFS) take a
 *   lock inside the fsmap.
 */
#ifndef OVSCAN_FSMAP_FSMAP_H
#define OVSCAN_FSMAP_FSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backends/disk.h"

struct ov_fsmap;

struct ov_fs {
  unsigned index;            /* 0.. in disk order */
  char label[256];           /* "" (partitionless), "p2", or "VG/LV" for
                                an LVM2 logical volume: path prefix */
  unsigned partition;        /* Linux partition number, 0 if partitionless */
  uint64_t offset;           /* first byte on the disk */
  uint64_t size;             /* bytes */
  char type[16];             /* "ext4", "ntfs", "fat32", "exfat", … or "" */
  uint32_t block_size;       /* filesystem block/cluster size, 0 if unknown */
  char identity[80];         /* hex of the filesystem's own id (ext UUID,
                                NTFS serial, FAT volume id): a reformat
                                changes it; "" if the filesystem has none */
  char *error;               /* NULL, or why this volume was not read */
  bool not_scanned_ok;       /* true for volumes with nothing to scan (swap) */
  void *priv;                /* fsmap-private (struct ov_fs_tsk: TSK_FS_INFO * and more) */
};

enum ov_run_kind {
  OV_RUN_DATA,               /* plain bytes at disk_offset */
  OV_RUN_SPARSE,             /* hole: reads as zeros, no disk bytes */
  OV_RUN_UNWRITTEN,          /* allocated at disk_offset but reads as zeros
                                (ext4 unwritten extent, past NTFS initsize) */
  OV_RUN_RESIDENT,           /* stored inside a metadata record (NTFS MFT
                                entry, ext4 inline data) at disk_offset;
                                content is in ov_file.resident */
  OV_RUN_COMPRESSED,         /* compressed clusters at disk_offset: content
                                must be decoded through TSK */
};
const char *ov_run_kind_to_string (enum ov_run_kind kind);

struct ov_run {
  uint64_t file_offset;
  uint64_t disk_offset;      /* absolute; meaningless for OV_RUN_SPARSE */
  uint64_t length;           /* bytes */
  enum ov_run_kind kind;
};

struct ov_file {
  struct ov_fs *fs;
  uint64_t inode;            /* TSK metadata address (ext inode, MFT entry, FAT dirent addr) */
  uint32_t attr_type;        /* TSK attribute type (NTFS 0x80 $DATA), 0 if n/a */
  uint16_t attr_id;          /* TSK attribute id */
  char *stream;              /* ADS name, or NULL for the default stream */
  char **paths;              /* npaths >= 1 guest paths incl. fs label and
                                ":stream", sorted (strcmp) */
  size_t npaths;
  uint64_t size;             /* logical size in bytes */
  struct ov_run *runs;       /* sorted by file_offset, covering [0, size) */
  size_t nruns;
  unsigned char *resident;   /* resident/inline bytes (size bytes), or NULL */
  bool orphan;               /* no directory entry references it */
  /* Metadata, to tell a "metadata" change (chmod, chown, utime) from none.
   * ctime is the inode change time where the filesystem has one (ext, NTFS
   * MFT-changed time), else 0. */
  uint32_t generation;       /* tells a reused inode number from the old
                                file: ext i_generation, NTFS MFT sequence
                                number; 0 where the filesystem has none */
  uint32_t mode;             /* permission bits as TSK gives them */
  uint32_t uid, gid;
  int64_t mtime, ctime;      /* seconds */
  uint32_t mtime_nsec, ctime_nsec;
  bool needs_tsk;            /* content must be read through TSK (compressed,
                                encrypted, or runs could not be trusted) */
  void *user;                /* the caller's per-file data; fsmap ignores it */
};

void ov_file_free (struct ov_file *f);

/* Called for each file found; the callback owns f (must ov_file_free it).
 * Return -1 to stop the walk. */
typedef int (*ov_file_cb) (void *opaque, struct ov_file *f);

/* Called for a problem that kept part of a filesystem from being read; the
 * walk continues.  `fs` may be NULL for disk-level problems. */
typedef void (*ov_fsmap_error_cb) (void *opaque, const struct ov_fs *fs,
                                   const char *message);

/* Read the volume system and open every filesystem on it.  Fails (NULL) only
 * when the disk itself cannot be read; unreadable volumes become ov_fs
 * entries with `error` set. */
struct ov_fsmap *ov_fsmap_open (struct ov_disk *disk);
void ov_fsmap_close (struct ov_fsmap *map);

size_t ov_fsmap_fs_count (const struct ov_fsmap *map);
struct ov_fs *ov_fsmap_fs (struct ov_fsmap *map, size_t i);
/* True if the disk has a partition table (paths carry "pN:"). */
bool ov_fsmap_partitioned (const struct ov_fsmap *map);
/* True for an LVM LV stored in several runs on the disk (read through a
 * translating image; its file runs are still absolute disk offsets). */
bool ov_fs_translated (const struct ov_fs *fs);

/* Every regular file (and ADS) of one filesystem, each once (hard links are
 * merged into one ov_file with several paths, so the walk keeps an inode
 * table until it ends).  Returns 0, or -1 if the walk could not run at all;
 * partial failures go through error_cb. */
int ov_fsmap_walk (struct ov_fsmap *map, struct ov_fs *fs,
                   ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                   void *opaque);

/* One directory as the walk saw it (ext2/3/4 incremental metadata, see
 * fsmap/ext_incremental.h): its names and the disk bytes it owns.  The
 * entries are every allocated name the walk considers ("." and ".." and
 * out-of-range inodes excluded), in TSK's order. */
enum ov_dirent_type {
  OV_DIRENT_REG = 1,         /* metadata is a regular file */
  OV_DIRENT_DIR = 2,
  OV_DIRENT_OTHER = 3,       /* symlink, device, fifo, socket… */
  OV_DIRENT_BAD = 4,         /* metadata unreadable (the walk reported it) */
};
struct ov_dirent {
  uint64_t inode;
  uint8_t type;              /* enum ov_dirent_type */
  char *name;                /* raw bytes, NUL-terminated */
};
struct ov_dir {
  uint64_t inode;
  char *path;                /* walk path without the fs label: "" = root */
  struct ov_dirent *entries;
  size_t nentries;
  struct ov_run *runs;       /* OV_RUN_DATA pieces: directory blocks and
                                extent-tree/indirect blocks (absolute) */
  size_t nruns;
};
void ov_dir_clear (struct ov_dir *d);

/* Called once per directory fully listed; the callback owns d (ov_dir_clear
 * + free).  Return -1 to stop the walk. */
typedef int (*ov_dir_cb) (void *opaque, struct ov_dir *d);

/* ov_fsmap_walk, also handing every directory entered to dir_cb (with its
 * own opaque).  Paths of a file with several names are sorted (strcmp) in
 * both forms of the walk. */
int ov_fsmap_walk_dirs (struct ov_fsmap *map, struct ov_fs *fs,
                        ov_file_cb file_cb, ov_dir_cb dir_cb,
                        void *dir_opaque, ov_fsmap_error_cb error_cb,
                        void *opaque);

/* Read up to count bytes of f's content at offset through `disk` (a handle
 * owned by the calling thread, on the same source as the map).  Returns bytes
 * read (short only at end of file), or -1 + ov_error naming fs, inode, path
 * and disk offset. */
ssize_t ov_file_pread (struct ov_fsmap *map, struct ov_disk *disk,
                       const struct ov_file *f, void *buf, size_t count,
                       uint64_t offset);

#endif
