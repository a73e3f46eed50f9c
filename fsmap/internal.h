/* ovscan — fsmap internals shared by the files of fsmap/ (not installed).
 *
 *   tsk_image.c   TSK image over a struct ov_disk
 *   partitions.c  MBR (primary + EBR chain) and GPT parser (pure, bounded)
 *   volumes.c     partitions -> struct ov_fs, filesystems opened with TSK
 *   volume_probe.c  LVM2 PV / LUKS / btrfs / XFS signatures
 *   lvm.c, lvm_text.c, lvm_volumes.c  LVM2 read host-side (fsmap/lvm.h)
 *   appliance.c   the libguestfs appliance (fsmap/appliance.h)
 *   xfs_walk.c    XFS walked through the appliance, content read host-side
 *   runlist.c     building/validating struct ov_run lists (pure)
 *   runs.c        TSK attribute -> struct ov_file runs
 *   path.c        guest path joining (pure)
 *   walk.c        directory recursion, hard links, orphans
 *   dirlist.c     directory listings, the blocks an inode owns
 *   ext_incremental.c, ext_layout.c, ext_tree.c  targeted ext metadata
 *                 (ext_incremental.h; private state ext_incr_internal.h)
 *   ext_journal.c, ext_journal_view.c  jbd2 replay for point-in-time views
 *                 (ext_journal.h)
 *   reader.c      ov_file_pread
 *   fsmap.c       open/close/accessors
 */
#ifndef OVSCAN_FSMAP_INTERNAL_H
#define OVSCAN_FSMAP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tsk/libtsk.h>

#include "fsmap/fsmap.h"

/* Bounds on guest-controlled numbers. */
#define OV_MAX_FILE_SIZE      (UINT64_C (1) << 62)  /* logical size of one stream */
#define OV_MAX_RUNS           (1u << 20)            /* runs of one stream, after merging */
#define OV_MAX_RESIDENT       (1u << 20)            /* bytes of resident/inline data */
#define OV_MAX_DIR_DEPTH      1024                  /* nested directories */
#define OV_MAX_PATH           (1u << 16)            /* bytes of one guest path */
#define OV_MAX_PARTITIONS     256                   /* incl. logical ones */

/* Little-endian fields of on-disk structures. */
static inline uint16_t
le16 (const unsigned char *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static inline uint32_t
le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
    | (uint32_t) p[3] << 24;
}

static inline uint64_t
le64 (const unsigned char *p)
{
  return (uint64_t) le32 (p) | (uint64_t) le32 (p + 4) << 32;
}

struct ov_lvm_pv;

/* fsmap-private state of one opened filesystem (struct ov_fs.priv). */
struct ov_fs_tsk {
  TSK_FS_INFO *fs;
  /* NTFS: where MFT records live, to give resident data a disk offset. */
  uint32_t mft_record_size;      /* 0 if unknown */
  struct ov_run *mft_runs;       /* $MFT's $DATA runs (absolute offsets) */
  size_t mft_nruns;
  /* ext2/3/4: where inodes live, to give inline data a disk offset
   * (group descriptors are read on demand; 0 = unknown). */
  uint32_t ext_inodes_per_group;
  uint32_t ext_inode_size;
  uint32_t ext_desc_size;
  uint32_t ext_ngroups;
  uint64_t ext_gdt_offset;       /* absolute */
  uint32_t ext_first_ino;        /* first non-reserved inode (11), 0 = unknown */
  /* An LV in several runs: the fs's own TSK image (fsmap/lvm_image.c),
   * closed after fs; NULL when the fs is read on the disk's image. */
  TSK_IMG_INFO *lv_img;
  /* ext3/4 with a replayed journal (fsmap/ext_journal.h), owned by the
   * disk's TSK image; NULL when the journal needed no recovery. */
  struct ov_ext_journal *journal;
};

struct ov_fsmap {
  struct ov_disk *disk;          /* not owned; TSK reads through it */
  TSK_IMG_INFO *img;
  bool partitioned;
  struct ov_fs **fs;
  size_t nfs;
  /* Serialises every TSK call made after open (walk and needs_tsk reads). */
  pthread_mutex_t tsk_lock;
  /* One TSK file kept open for needs_tsk reads (protected by tsk_lock). */
  TSK_FS_FILE *cached_file;
  const struct ov_fs *cached_fs;
  uint64_t cached_inode;
  /* LVM2 physical volumes found while opening (fsmap/lvm.h). */
  struct ov_lvm_pv *pvs;
  size_t npvs;
  bool lvm_assembled;            /* LVs added: a PV found now is nested */
};

/* tsk_image.c */
TSK_IMG_INFO *ov_tsk_image_open (struct ov_disk *disk);
/* Apply a replayed ext journal to every later read (the image owns j).
 * -1 on ENOMEM (j not taken). */
struct ov_ext_journal;
int ov_tsk_image_add_journal (TSK_IMG_INFO *img, struct ov_ext_journal *j);
/* Drop TSK's image cache (opening only: no read in flight). */
void ov_tsk_image_flush (TSK_IMG_INFO *img);

/* TSK's thread-local last error as a string (never NULL). */
const char *ov_tsk_error (void);

/* partitions.c — a partition table read from sectors.  Pure logic over a
 * read callback, so tests can feed crafted tables. */
typedef int (*ov_sector_read_fn) (void *opaque, void *buf, size_t count,
                                  uint64_t offset);
enum ov_table_kind { OV_TABLE_NONE, OV_TABLE_MBR, OV_TABLE_GPT };
struct ov_partition {
  unsigned number;               /* Linux number: MBR 1-4, logical 5+; GPT index+1 */
  uint64_t start;                /* bytes */
  uint64_t length;               /* bytes */
  uint8_t mbr_type;              /* 0 for GPT */
  char *error;                   /* NULL, or why it is unusable (e.g. past the end) */
};
struct ov_partition_table {
  enum ov_table_kind kind;
  struct ov_partition *parts;    /* in Linux number order */
  size_t nparts;
  char *warning;                 /* non-fatal problem in the table itself, or NULL */
};
/* Returns 0 (kind NONE if no table), or -1 if the disk could not be read. */
int ov_partitions_read (ov_sector_read_fn read, void *opaque,
                        uint64_t disk_size, struct ov_partition_table *table);
void ov_partition_table_free (struct ov_partition_table *table);

/* runs.c: the inode's generation (see ov_file.generation), 0 if unknown. */
uint32_t ov_inode_generation (const struct ov_fs *fs, const TSK_FS_META *meta);

/* volumes.c */
int ov_volumes_open (struct ov_fsmap *map);
void ov_fs_free (struct ov_fs *fs);
/* Append a volume (label "pN" if partition > 0).  NULL + ov_error on ENOMEM. */
struct ov_fs *ov_volume_add (struct ov_fsmap *map, unsigned partition,
                             uint64_t offset, uint64_t size);
/* Open the filesystem of a volume; problems land in fs->error.  -1 ENOMEM. */
int ov_volume_open_fs (struct ov_fsmap *map, struct ov_fs *fs);
/* The same on another image (an LV in several runs: no probe for non-TSK
 * volumes, img owned by fs->priv on success, else left to the caller). */
int ov_volume_open_fs_on (struct ov_fsmap *map, struct ov_fs *fs,
                          TSK_IMG_INFO *img);
void ov_fs_set_error (struct ov_fs *fs, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* volume_probe.c: a volume that is not TSK's (LVM2 PV, LUKS, btrfs, XFS):
 * 1 handled (fs->type/error set; a PV is remembered in map->pvs), 0 not
 * one of those, -1 read error / ENOMEM. */
int ov_volume_probe (struct ov_fsmap *map, struct ov_fs *fs);

/* lvm_volumes.c: the LVs of the PVs found on the disk, as volumes. */
int ov_lvm_add_volumes (struct ov_fsmap *map);

/* xfs_walk.c: a filesystem read through the libguestfs appliance (XFS):
 * opened without TSK (priv NULL), walked by ov_fsmap_walk through this. */
bool ov_fs_uses_appliance (const struct ov_fs *fs);
int ov_appliance_fs_walk (struct ov_fsmap *map, struct ov_fs *fs,
                          ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                          void *opaque);

/* runlist.c — an ov_run list under construction. */
struct ov_runlist {
  struct ov_run *runs;
  size_t nruns, cap;
};
/* Append, merging with the previous run when both are the same kind and
 * contiguous in file and (for DATA/UNWRITTEN/COMPRESSED) on disk.  The run
 * must start where the previous one ended. -1 + ov_error on ENOMEM, bad
 * order or too many runs. */
int ov_runlist_append (struct ov_runlist *l, enum ov_run_kind kind,
                       uint64_t file_offset, uint64_t disk_offset,
                       uint64_t length);
/* Current end (file offset) of the list. */
uint64_t ov_runlist_end (const struct ov_runlist *l);
/* Cut everything at or after file offset `size` (shortening the last run). */
void ov_runlist_truncate (struct ov_runlist *l, uint64_t size);
/* Turn [from, end) into OV_RUN_UNWRITTEN (DATA runs) — NTFS initsize. */
int ov_runlist_zero_after (struct ov_runlist *l, uint64_t from);
/* Check: sorted, contiguous, covering [0,size) exactly, DATA-like runs inside
 * [lo, hi) of the disk.  0 or -1 + ov_error. */
int ov_runs_validate (const struct ov_run *runs, size_t nruns, uint64_t size,
                      uint64_t lo, uint64_t hi);
/* Index of the run holding file offset `off`, or nruns if none. */
size_t ov_runs_find (const struct ov_run *runs, size_t nruns, uint64_t off);
/* Map a byte offset inside a stream to the disk through its runs; -1 if the
 * offset falls in no DATA run. */
int ov_runs_map (const struct ov_run *runs, size_t nruns, uint64_t off,
                 uint64_t *disk_offset);

/* runs.c — fill f->size, runs, resident, needs_tsk from a TSK attribute.
 * Returns 0, or -1 + ov_error; *trust_problem is set (message in ov_error)
 * when the file was kept but marked needs_tsk because its runs are odd. */
int ov_runs_from_attr (struct ov_fs *fs, const TSK_FS_ATTR *attr,
                       uint64_t inode, struct ov_file *f, bool *trust_problem);
/* Prepare per-fs data the run builder needs (NTFS $MFT runs, ext inode
 * tables).  Failures only lose resident disk offsets. */
void ov_runs_prepare_fs (struct ov_fs *fs, struct ov_disk *disk);

/* inode_map.c — open-addressing map from inode number to a value. */
struct ov_inode_map {
  uint64_t *keys;                /* inode + 1; 0 = empty */
  uint64_t *values;
  size_t len, cap;               /* cap: 0 or a power of two */
};
/* 0 found (*value set if value != NULL), -1 absent. */
int ov_inode_map_get (const struct ov_inode_map *m, uint64_t inode,
                      uint64_t *value);
/* Insert or overwrite. -1 + ov_error on ENOMEM. */
int ov_inode_map_put (struct ov_inode_map *m, uint64_t inode, uint64_t value);
void ov_inode_map_free (struct ov_inode_map *m);

/* walk.c — shared with ext_incremental.c */
/* Is this directory entry one the walk considers (allocated, not "." or
 * "..", inode in range, not TSK's virtual orphan directory)? */
bool ov_dirent_wanted (TSK_FS_INFO *tfs, const TSK_FS_NAME *name);
/* The ov_file of file's default stream (ext2/3/4) with the given paths
 * (copied, then sorted), exactly as the walk builds it.  Lock held by the
 * caller.  Returns 0 with *out set, or 0 with *out NULL and *problem (malloc'd)
 * when the walk would have reported a problem and skipped or distrusted the
 * file; -1 + ov_error on ENOMEM. */
int ov_walk_build_file (struct ov_fsmap *map, struct ov_fs *fs,
                        TSK_FS_FILE *file, char *const *paths, size_t npaths,
                        bool orphan, struct ov_file **out, char **problem);
/* Append to *runs every disk range of file's non-resident attributes
 * (data_too: the default stream too; always extent-tree and indirect
 * blocks), as OV_RUN_DATA with file_offset 0, clipped to the filesystem.
 * -1 + ov_error on ENOMEM; *odd set if a range fell outside the fs. */
int ov_inode_blocks (const struct ov_fs *fs, TSK_FS_FILE *file, bool data_too,
                     struct ov_run **runs, size_t *nruns, size_t *cap,
                     bool *odd);
/* Sort paths (strcmp). */
void ov_paths_sort (char **paths, size_t npaths);

/* path.c */
/* malloc'd "prefix/name" (prefix "" or ending in '/' handled), or
 * NULL + ov_error if too long / ENOMEM.  name_len bytes of name. */
char *ov_path_join (const char *dir, const char *name, size_t name_len);
/* malloc'd "label:" + path (label "" -> path), optionally + ":" + stream. */
char *ov_path_full (const char *label, const char *path, const char *stream);

#endif
