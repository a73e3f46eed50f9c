/* ovscan — the QMP side of a live poll: a running VM's disk node, its
 * dirty bitmaps, and the point-in-time view (image fleecing) exported over
 * NBD.  scanner/tracker_live.c drives these in the tracker order.
 *
 * The view: a temporary qcow2 ("fleece file") opened in the VM as node
 * ovscan-fl-TAG with the disk's node as its backing, filled by a
 * `blockdev-backup sync=none` job (ovscan-bk-TAG): before the guest
 * overwrites a cluster, QEMU copies the old data into the fleece node, so
 * the fleece node reads as the disk was when the job started.  It is
 * exported read-only over NBD (export ovscan-ex-TAG, name ovscan-TAG) with
 * the frozen bitmap.  Why blockdev-backup and not the copy-before-write
 * filter + snapshot-access: in QEMU 7.2 a filter can only be put above a
 * node that a device already uses by reopening the device's parent
 * (x-blockdev-replace does not exist before QEMU 9.x), while the backup job
 * inserts its own copy-before-write filter and, seeing that the target's
 * backing is the source, serialises its copies with reads of the target
 * (no torn reads).  Cost for the guest: while the view exists, the first
 * write to each cluster pays one extra read + write (the copy).
 *
 * The bitmap switch: ONE `transaction` adds the successor bitmap
 * (persistent, same granularity), disables the frozen one and starts the
 * backup job, so every write lands either before the view (and in the
 * frozen bitmap) or after it (and in the successor, and the view never
 * sees it).
 *
 * Names: every object ovscan creates in a VM or on the host starts with
 * "ovscan-" and carries TAG, 12 hex digits of SHA-256 over the QMP socket
 * path and the disk's node or drive: the next poll of the same disk finds
 * what a killed run left (ov_live_view_stop removes it), and two disks of
 * one VM never collide.  Node names stay under QEMU's 32-byte limit.
 * Files live in a private directory (OVSCAN_LIVE_DIR, default
 * /var/tmp/ovscan-live, mode 0700): the fleece file ovscan-TAG.qcow2, the
 * NBD server's socket ovscan-nbd-VMTAG.sock (VMTAG: of the QMP socket
 * only; QEMU runs one NBD server per process) and the VM lock
 * ovscan-vm-VMTAG.lock (one live poll per VM at a time: the NBD server and
 * the monitor are per VM).
 *
 * NBD server: QEMU has one per process.  ovscan starts its own on the
 * private socket and stops it afterwards, unless the disk was added with
 * the socket of a server the VM already runs (--nbd-socket): then the view
 * is one more export on it, and the server is left alone.
 *
 * Every function returns 0 / -1 + ov_error naming the QMP socket and the
 * node; none leaves a half-built view behind (a failing start tears down
 * what it built, bitmap transaction included).
 */
#ifndef OVSCAN_BACKENDS_LIVE_H
#define OVSCAN_BACKENDS_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/qmp.h"
#include "common/vector.h"

#define OV_LIVE_PREFIX "ovscan-"
#define OV_LIVE_DEFAULT_DIR "/var/tmp/ovscan-live"

/* Every name one disk's live polls use. */
struct ov_live_names {
  char tag[13];
  char vm_tag[13];
  char fleece_node[32];        /* ovscan-fl-TAG */
  char job_id[32];             /* ovscan-bk-TAG */
  char export_id[32];          /* ovscan-ex-TAG */
  char export_name[32];        /* ovscan-TAG */
  char *dir;                   /* the private directory */
  char *fleece_file;           /* DIR/ovscan-TAG.qcow2 */
  char *nbd_socket;            /* ours, or the VM's server (own_server false) */
  bool own_server;
  char *lock_file;             /* DIR/ovscan-vm-VMTAG.lock */
  char *view_uri;              /* nbd+unix:///ovscan-TAG?socket=… */
};

/* QMP_SOCKET and KEY ("node:NAME" or "drive:ID") name the disk;
 * NBD_SOCKET is the VM's own NBD server or NULL.  Creates the private
 * directory if needed. */
int ov_live_names_init (struct ov_live_names *n, const char *qmp_socket,
                        const char *key, const char *nbd_socket);
void ov_live_names_free (struct ov_live_names *n);

/* One dirty bitmap of a node, as query-named-block-nodes reports it. */
struct ov_live_bitmap {
  char *name;
  uint64_t count;              /* dirty bytes */
  uint32_t granularity;
  bool recording;              /* enabled */
  bool persistent;
  bool inconsistent;           /* QEMU found it "in-use" at open: not to be trusted */
  bool busy;                   /* exported or in use by a job */
};
DEFINE_VECTOR (ov_live_bitmaps, struct ov_live_bitmap);

struct ov_live_node {
  char *node_name;
  char *driver;                /* "qcow2", "raw", … */
  uint64_t virtual_size;
  bool read_only;
  ov_live_bitmaps bitmaps;
};
void ov_live_node_clear (struct ov_live_node *node);
const struct ov_live_bitmap *ov_live_node_bitmap (const struct ov_live_node *node,
                                                  const char *name);

/* The format node of the disk: NODE by node-name, or the node inserted in
 * DRIVE (a -drive id, or a device's qdev id / path) through query-block.
 * Exactly one of NODE and DRIVE is set.  -1 + ov_error "no node …" when
 * absent (the message lists the node names that exist). */
int ov_live_find_node (struct ov_qmp *q, const char *node, const char *drive,
                       struct ov_live_node *out);

/* Start the view (see the header comment): fleece file and node, then one
 * transaction { add SUCCESSOR with GRANULARITY; disable FROZEN (if not
 * NULL); backup job }, then the NBD export (with FROZEN as a bitmap when
 * given).  On failure everything is undone, FROZEN re-enabled and
 * SUCCESSOR merged into it. */
int ov_live_view_start (struct ov_qmp *q, const struct ov_live_names *n,
                        const struct ov_live_node *node, const char *frozen,
                        const char *successor, uint32_t granularity);

/* Remove whatever of the view exists, in dependency order: export, backup
 * job, fleece node, fleece file, our NBD server.  Idempotent: the cleanup
 * of a killed run's leftovers too.  *removed (may be NULL) counts what
 * existed. */
int ov_live_view_stop (struct ov_qmp *q, const struct ov_live_names *n,
                       unsigned *removed);

/* 1 if the view's export and backup job still exist, 0 if either is gone
 * (the VM restarted, or someone removed them: what was read through the
 * view may be incomplete), -1 + ov_error. */
int ov_live_view_alive (struct ov_qmp *q, const struct ov_live_names *n);

/* block-dirty-bitmap-remove. */
int ov_live_bitmap_remove (struct ov_qmp *q, const char *node, const char *name);

/* Undo a bitmap switch, atomically (one transaction): enable INTO, merge
 * FROM into it, remove FROM.  Every write FROM recorded is then in INTO,
 * which records again. */
int ov_live_bitmap_merge_back (struct ov_qmp *q, const char *node,
                               const char *into, const char *from);

/* Run `qemu-img create -f qcow2 FILE SIZE` for the fleece file. */
int ov_live_create_fleece_file (const char *file, uint64_t size);

#endif
