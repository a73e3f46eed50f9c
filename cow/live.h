/* ovscan — copy-on-write layers of a RUNNING VM, over its QMP monitor
 * (issue 5; the offline counterpart is cow/rotate.c, cow.h has the naming).
 *
 *   live_graph.c   QEMU's view of the disk: the chain of format nodes from
 *                  the active top down (x-debug-query-block-graph +
 *                  query-named-block-nodes), checked against the on-disk
 *                  headers; the VM lock and the QMP session
 *   rotate_live.c  rotation by blockdev-snapshot, and the recovery of a
 *                  rotation or merge a killed ovscan left
 *   merge_live.c   merge-down of covered frozen layers by block-commit
 *
 * Why the steps are in this order (all verified on QEMU 7.2):
 *   - QEMU reopens the old top read-only when it becomes a backing node; a
 *     file node QEMU opened implicitly (-drive file=TOP, or a backing file
 *     from a header) is reopened BY NAME.  So the snapshot must happen
 *     while the name TOP still is the old top's file: rename the new top
 *     over TOP only after blockdev-snapshot (renamed before, QEMU reopened
 *     the new top as its own backing: a chain loop).
 *   - Every node ovscan adds has an explicit file node of its own
 *     (ovscan-TAG-fM, opened read-write once): it is never reopened, so the
 *     stale name QEMU keeps for it (TOP.ovscan-new) is never used again.
 *   - A block-commit reopens its base node (and the overlay whose header it
 *     rewrites) read-write.  A node whose file QEMU knows under a name that
 *     now means another file (the VM's original node, opened as TOP and
 *     frozen as TOP.layer-1) must not be reopened: such pairs are not
 *     merged while the VM runs (merged after its restart, when QEMU opened
 *     every layer by its own name).  Every commit gives the backing-file
 *     string explicitly: QEMU would write its stale name into the header.
 *
 * Node names (QEMU: at most 31 bytes): ovscan-TAG-M (the top created by
 * the rotation that froze TOP.layer-M) and ovscan-TAG-fM (its file node);
 * job ovscan-cm-TAG.  TAG as in backends/live.h (QMP socket + node/drive).
 *
 * Every function returns 0 / -1 + ov_error naming TOP and the node.
 */
#ifndef OVSCAN_COW_LIVE_H
#define OVSCAN_COW_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/live.h"
#include "backends/qmp.h"
#include "cow/cow.h"

/* One format node of QEMU's chain. */
struct ov_cow_qnode {
  char *name;                  /* node-name ("#blockNNN" if QEMU named it) */
  char *file_node;             /* its file child's node-name, or NULL */
  char *file_name;             /* the name QEMU opened that file by */
  char *backing;               /* its header's backing-file string, or NULL */
  bool ro;
};

/* Active top first, down to the last backing node. */
struct ov_cow_qchain {
  struct ov_cow_qnode *v;
  size_t len;
};
void ov_cow_qchain_free (struct ov_cow_qchain *c);

/* A session with the VM for one disk: lock held, monitor connected. */
struct ov_cow_live {
  const char *top;             /* absolute path the VM's configuration names */
  const char *node, *drive;    /* as registered: one is set */
  struct ov_live_names names;
  int lock_fd;
  struct ov_qmp *q;
  unsigned timeout_ms;         /* each QMP call's deadline (0 = default) */
  char job_id[32];
};

/* Names, VM lock (one ovscan per VM at a time, as the live tracker), QMP
 * connection.  ov_cow_live_close releases what was acquired (also after a
 * failed open). */
int ov_cow_live_open (struct ov_cow_live *lv, const char *top,
                      const char *qmp_socket, const char *node,
                      const char *drive);
void ov_cow_live_close (struct ov_cow_live *lv);
/* (Re)connect the monitor if not connected; each QMP call's deadline is
 * OVSCAN_QMP_TIMEOUT seconds (default 30), as for the live tracker. */
int ov_cow_live_connect (struct ov_cow_live *lv, const char *qmp_socket);

/* The disk's chain in QEMU: the registered node (or the drive's node; when
 * the node is gone, ovscan's own newest node), climbed to the top through
 * backing edges, then walked down. */
int ov_cow_live_qchain (struct ov_cow_live *lv, struct ov_cow_qchain *out);

/* QEMU's chain and the on-disk one agree: same length, and at every level
 * the same backing-file string in the header.  -1 + ov_error otherwise. */
int ov_cow_live_check (const struct ov_cow_live *lv,
                       const struct ov_cow_qchain *qc,
                       const struct ov_cow_chain *dc);

/* "ovscan-TAG-M" / "ovscan-TAG-fM" into out[32]. */
void ov_cow_live_node_name (const struct ov_cow_live *lv, unsigned m,
                            bool file, char out[32]);

/* Node names with no parent in the block graph, starting with PREFIX
 * (NULL = any); *names is a NULL-terminated malloc'd vector. */
int ov_cow_live_orphans (struct ov_cow_live *lv, const char *prefix,
                         char ***names);
void ov_cow_live_strv_free (char **v);

/* blockdev-del NAME; 0 when done or already gone. */
int ov_cow_live_del_node (struct ov_cow_live *lv, const char *name);

/* Repair what a killed rotation or merge left (see rotate_live.c): wait
 * for ovscan's commit job, finish or undo the rotation, delete ovscan's
 * nodes that nothing uses, then the file-level recovery (ov_cow_recover,
 * chain read by force-share).  *note (may be NULL) says anything the user
 * should know (malloc'd, or NULL).  *CHAIN: the chain on disk after the
 * recovery (force-share), for the caller to ov_cow_chain_free (untouched
 * on -1). */
int ov_cow_live_recover (struct ov_cow_live *lv, char **note,
                         struct ov_cow_chain *chain);

/* Freeze QEMU's top (QC's active node) as TOP.layer-N and put a new empty
 * top over it: link, qemu-img create, blockdev-add, blockdev-snapshot,
 * rename.  VSIZE: the disk's virtual size. */
int ov_cow_live_rotate (struct ov_cow_live *lv, const struct ov_cow_qchain *qc,
                        unsigned n, uint64_t vsize);

/* 1 if TOP holds nothing yet: it is ovscan's (backed by TOP.layer-NEWEST)
 * and its file is exactly as large as an empty top (any write, even of
 * zeroes, allocates a cluster and grows the file).  0 otherwise. */
int ov_cow_live_top_empty (struct ov_cow_live *lv, const struct ov_cow_chain *dc);

/* The pair the next merge commits (merge_live.c): the lowest covered
 * frozen layers A = level *A and B = level *A - 1 (never the top) whose
 * commit QEMU may run while the VM runs: A and the level above B (unless
 * it is the top) have a file node of ovscan's own or one QEMU opened by
 * the layer's real path.  1 = found, 0 = none.  QC and DC must agree. */
int ov_cow_live_pick_merge (const struct ov_cow_live *lv,
                            const struct ov_cow_qchain *qc,
                            const struct ov_cow_chain *dc, uint64_t covered,
                            size_t *a);

/* Merge covered frozen layers (numbers <= COVERED) down by block-commit
 * until at most MAX_LAYERS own layers remain, or no pair may be merged
 * while the VM runs (*note says why).  *merged = layers merged away. */
int ov_cow_live_merge_down (struct ov_cow_live *lv, uint64_t covered,
                            unsigned max_layers, unsigned *merged, char **note);

#endif
