/* ovscan — copy-on-write VM disks: a qcow2 overlay (the VM's own layers)
 * over a shared base image (issue 5).
 *
 * Naming (the invariant everything else relies on): a VM's disk is the path
 * its configuration names, TOP.  Its own layers are TOP itself (always the
 * writable top) and frozen layers TOP.layer-N (N = 1, 2, …, in the same
 * directory), each backed by the next lower own layer; the lowest own layer
 * is backed by the base.  The first image of the chain that is not an own
 * layer is the base; it is shared by many VMs and ovscan never writes it.
 *
 *   chain.c     backing-chain discovery and validation (qemu-img info per
 *               image, followed by ovscan, not by qemu: loops, a missing or
 *               moved base, a size mismatch and an unrecorded backing format
 *               are errors naming the images)
 *   identity.c  a base's identity: SHA-256 of the whole file, re-checked by
 *               (dev, inode, size, mtime, ctime)
 *   uncovered.c the dirty extents of a poll: what uncovered layers hold
 *   rotate.c    layer rotation (freeze TOP, new TOP over it), merge-down,
 *               and recovery of an interrupted rotation or merge
 *   live_graph.c, rotate_live.c, merge_live.c (cow/live.h): the same for
 *               a RUNNING VM, over its QMP monitor (blockdev-snapshot,
 *               block-commit)
 *
 * Offline (rotate.c), the VM must be shut down while its layers rotate or
 * merge: every step checks the image lock through qemu-img and refuses a
 * disk in use.
 */
#ifndef OVSCAN_COW_COW_H
#define OVSCAN_COW_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backends/disk.h"
#include "common/extents.h"

/* The longest chain ovscan follows (qemu's own limit is higher, but a VM
 * chain this long is a mistake or a loop through renamed files). */
#define OV_COW_MAX_CHAIN 64
/* Default and bounds of a VM's own-layer count (TOP + frozen layers). */
#define OV_COW_DEFAULT_MAX_LAYERS 3
#define OV_COW_MIN_MAX_LAYERS 2
#define OV_COW_MAX_MAX_LAYERS 32

/* What stat(2) says of an image file: the cheap re-check of an identity. */
struct ov_cow_stat {
  uint64_t dev, ino, size;
  int64_t mtime_ns, ctime_ns;
};
int ov_cow_stat_path (const char *path, struct ov_cow_stat *out);
bool ov_cow_stat_equal (const struct ov_cow_stat *a, const struct ov_cow_stat *b);

/* One image of a chain. */
struct ov_cow_layer {
  char *path;                  /* absolute */
  char *format;                /* "qcow2", "raw" */
  uint64_t virtual_size;
  struct ov_cow_stat stat;
  unsigned number;             /* own layers: 0 = TOP, N = TOP.layer-N */
  bool own;                    /* TOP or TOP.layer-N */
  char *backing;               /* its header's backing-file string, as
                                  written ("./TOP.layer-N"), or NULL */
};

/* TOP first; base = layers[base_index] (the first non-own image); the
 * images below the base (its own backing chain, if any) follow it. */
struct ov_cow_chain {
  struct ov_cow_layer *layers;
  size_t len;
  size_t base_index;
};
void ov_cow_chain_free (struct ov_cow_chain *c);

/* Discover the chain of TOP (an absolute path to a qcow2 file).  Errors
 * (-1 + ov_error): TOP not qcow2, TOP in use (image lock), a backing file
 * missing or moved, a loop, a chain longer than OV_COW_MAX_CHAIN, a backing
 * format not recorded in the overlay, an image whose virtual size differs
 * from the layer above it, no base (TOP has no backing file), an own-layer
 * name in a place where it cannot be (TOP.layer-N below the base, or a
 * layer whose number does not decrease going down). */
int ov_cow_chain_discover (const char *top, struct ov_cow_chain *c);
/* The same for a chain a running VM has open (qemu-img info -U: QEMU holds
 * the image lock; the headers read are the ones QEMU flushed). */
int ov_cow_chain_discover_shared (const char *top, struct ov_cow_chain *c);

/* The newest own layer number in C (0 when TOP is its only own layer). */
unsigned ov_cow_newest_number (const struct ov_cow_chain *c);
/* Reading the old top of C (depth 1) after a rotation: allocation depths
 * 1 .. result-1 are layers no committed poll covered (number > COVERED);
 * the first covered own layer, or the base, is the result's level
 * (cow/uncovered.c). */
uint32_t ov_cow_uncovered_below (const struct ov_cow_chain *c, uint64_t covered);
/* Add to DIRTY the extents those layers hold, read from VIEW (the old top
 * of C, opened with qemu:allocation-depth).  -1 + ov_error. */
int ov_cow_read_uncovered (struct ov_disk *view, const struct ov_cow_chain *c,
                           uint64_t covered, ov_extents *dirty);

/* Own-layer number of PATH relative to TOP: 0 for TOP, N for TOP.layer-N,
 * -1 if PATH is not an own layer of TOP. */
long ov_cow_own_number (const char *top, const char *path);
/* malloc'd "TOP.layer-N". */
char *ov_cow_layer_path (const char *top, unsigned n);

/* Base identity: SHA-256 of the file's bytes (read once, 1 MiB at a time)
 * and the stat before the read; -1 if the file changed while it was read. */
int ov_cow_file_sha256 (const char *path, uint8_t digest[32],
                        struct ov_cow_stat *st);
/* Lower-case hex of a digest into out[65]. */
void ov_cow_hex (const uint8_t digest[32], char out[65]);

/* Undo whatever an interrupted rotation or merge left (see rotate.c):
 * the temporary new top, a frozen name still linked to TOP, own layers that
 * no chain references any more.  *changed = true if anything was removed. */
int ov_cow_recover (const char *top, bool *changed);

/* Freeze TOP as TOP.layer-N and create a new, empty TOP backed by it (the
 * VM's configuration keeps naming TOP).  Crash-safe: at every instant TOP
 * is a valid image whose chain reads the same bytes. */
int ov_cow_rotate (const char *top, unsigned n);

/* Merge frozen own layers numbered <= covered (already covered by a
 * committed poll) downward until the own-layer count is <= max_layers:
 * qemu-img commit -d of the second-lowest into the lowest, rebase of the
 * layer above it, unlink.  Never writes the base.  *merged = layers merged
 * away. */
int ov_cow_merge_down (const char *top, uint64_t covered, unsigned max_layers,
                       unsigned *merged);

/* Bytes allocated in own layers (qcow2 disk usage of every own layer file,
 * st_blocks * 512), for the fleet view. */
int ov_cow_own_bytes (const struct ov_cow_chain *c, uint64_t *bytes);

#endif
