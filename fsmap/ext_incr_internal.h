/* ovscan — fsmap: private to the targeted ext2/3/4 metadata refresh
 * (ext_incremental.c: the pass and its inodes/directories; ext_layout.c:
 * group geometry and the safety net; ext_tree.c: the names tree).  See
 * ext_incremental.h for what the pass does and why it is safe.
 */
#ifndef OVSCAN_FSMAP_EXT_INCR_INTERNAL_H
#define OVSCAN_FSMAP_EXT_INCR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vector.h"
#include "fsmap/ext_incremental.h"
#include "fsmap/internal.h"

#define EXT_INCOMPAT_RECOVER   0x0004
#define EXT_INCOMPAT_META_BG   0x0010
#define EXT_INCOMPAT_64BIT     0x0080
#define EXT_COMPAT_SPARSE_SUPER2 0x0200
#define EXT_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT_BG_BLOCK_UNINIT    0x0002
#define MAX_GDT_BYTES          (UINT64_C (256) << 20)
#define MAX_FREE_CHECK_BYTES   (UINT64_C (64) << 20)

DEFINE_VECTOR (u64_vector, uint64_t);
DEFINE_VECTOR (dir_vector, struct ov_dir *);
DEFINE_VECTOR (str_vector, char *);

struct group {
  uint64_t block_bitmap, inode_bitmap, inode_table;  /* block numbers */
  uint16_t flags;
};

struct candidate {
  uint64_t inode;
  str_vector names;            /* walk paths (no label) */
};

struct ctx {
  struct ov_fsmap *map;
  struct ov_fs *fs;
  struct ov_fs_tsk *t;
  TSK_FS_INFO *tfs;
  const struct ov_ext_incr_input *in;
  struct ov_ext_incr_result *r;
  uint64_t bs, nblocks, first_data_block, blocks_per_group, inodes_count;
  uint32_t ngroups, ipg, inode_size, first_ino;
  struct group *groups;
  ov_extents explained_raw;    /* unsorted; sorted+merged into explained */
  ov_extents explained;
  struct ov_inode_map old_index;     /* inode -> index in in->dirs */
  struct ov_inode_map relist;        /* dirs to list again (value unused) */
  struct ov_inode_map slot_types;    /* dirty inode slot -> its dirent type */
  dir_vector listed;                 /* listings read from TSK this poll */
  struct ov_inode_map listed_index;  /* inode -> index in listed */
  struct ov_inode_map cand_index;    /* inode -> index in cands */
  struct candidate *cands;
  size_t ncands, cands_cap;
  u64_vector examined;
  bool failed;                       /* ENOMEM: return -1 */
};

/* A directory reached from the root, with its path as the walk joins it. */
struct visit {
  uint64_t inode;
  char *path;
  unsigned depth;
};
DEFINE_VECTOR (visit_vector, struct visit);

/* ext_incremental.c */
/* Record why we give up (first reason wins).  Always returns -1. */
int ext_give_up (struct ctx *c, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
int ext_oom (struct ctx *c);              /* c->failed; returns -1 */
int ext_add_candidate (struct ctx *c, uint64_t inode);
const struct ov_dir *ext_old_dir (struct ctx *c, uint64_t inode);
struct ov_dir *ext_listed_dir (struct ctx *c, uint64_t inode);
int ext_list_dir (struct ctx *c, uint64_t inode);

/* ext_layout.c */
int ext_explain (struct ctx *c, uint64_t off, uint64_t len);
int ext_explain_blocks (struct ctx *c, uint64_t block, uint64_t count);
int ext_explain_runs (struct ctx *c, const struct ov_run *runs, size_t nruns);
int ext_read_geometry (struct ctx *c);
bool ext_inode_slot_dirty (struct ctx *c, uint64_t inode);
int ext_compare_extents (const void *a, const void *b);
int ext_check_everything_explained (struct ctx *c);

/* ext_tree.c */
int ext_build_tree (struct ctx *c, visit_vector *tree,
                    struct ov_inode_map *visited);
int ext_apply_tree (struct ctx *c, visit_vector *tree,
                    struct ov_inode_map *visited);

#endif
