/* ovscan — disk sources: where the bytes of a guest disk come from.
 *
 * A disk source is a struct of function pointers (struct ov_disk_ops) plus
 * an opaque handle, as nbdkit's plugins are.  Callers never call through the
 * table themselves: they use the ov_disk_* wrappers below, which check
 * bounds, split large requests and name the disk in every error.
 *
 * One struct ov_disk is one connection and is NOT thread-safe: a worker thread
 * gets its own with ov_disk_reopen().
 *
 * Implementations:
 *   disk_nbd.c  a local image (libnbd starts `qemu-nbd -r` through systemd
 *               socket activation, format detected by qemu or given), or an
 *               NBD URI such as a running VM's export.
 */
#ifndef OVSCAN_BACKENDS_DISK_H
#define OVSCAN_BACKENDS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ov_disk;

/* How to open a disk.  Zero-initialised = read-only, format probed by qemu,
 * no NBD meta contexts beyond base:allocation. */
struct ov_disk_options {
  const char *format;        /* qemu format name ("qcow2", "raw", …) or NULL to probe */
  const char *bitmap;        /* persistent dirty bitmap to export (qemu-nbd -B), or NULL */
  bool allocation_depth;     /* export qemu:allocation-depth (qemu-nbd -A) */
  unsigned timeout;          /* seconds to wait for the connection (incl.
                                the NBD handshake) and for each request;
                                0 = 60.  A server that does not answer in
                                time fails the call and the handle is dead. */
};

/* Called once per extent by ov_disk_block_status(); return -1 to stop. */
typedef int (*ov_extent_cb) (void *opaque, uint64_t offset, uint64_t length,
                             uint32_t flags);

struct ov_disk_ops {
  const char *name;
  /* Read exactly count bytes (count <= ops->max_request) at offset. */
  int (*pread) (void *handle, void *buf, size_t count, uint64_t offset);
  /* Extents of meta context `context` over [offset, offset+length). Optional. */
  int (*block_status) (void *handle, const char *context, uint64_t offset,
                       uint64_t length, ov_extent_cb cb, void *opaque);
  /* A new, independent connection to the same source. */
  void *(*reopen) (void *handle);
  void (*close) (void *handle);
  size_t max_request;        /* largest single pread */
};

struct ov_disk {
  const struct ov_disk_ops *ops;
  void *handle;
  char *label;               /* what the user named: image path or URI */
  uint64_t size;             /* bytes */
  char *format;              /* the qemu format the user gave, or NULL
                                (probed); another reader of the same
                                image (libguestfs) uses the same */
};

/* TARGET is a path to a disk image or an NBD URI (nbd://, nbds://,
 * nbd+unix://, nbds+unix://, nbd+vsock://).  NULL + ov_error on failure,
 * naming TARGET (qemu-nbd's own message is included for a local image).
 *
 * Format probing: with options->format NULL, qemu guesses the format from
 * the image's first bytes.  That is only safe for images the host created:
 * a raw image whose contents a guest controls can hold a qcow2 header with
 * a backing file naming any host file.  Give "raw" explicitly for raw
 * guest disks.  A file that is no known format (even a text file) is
 * opened as raw, which is not an error here. */
struct ov_disk *ov_disk_open (const char *target,
                              const struct ov_disk_options *options);

/* An independent handle on the same source, for another thread (a local
 * image gets its own qemu-nbd process).  It reads only what disk's open
 * recorded, so it may be called from any thread, even while another thread
 * uses disk. */
struct ov_disk *ov_disk_reopen (const struct ov_disk *disk);

void ov_disk_close (struct ov_disk *disk);

static inline uint64_t ov_disk_size (const struct ov_disk *d) { return d->size; }
static inline const char *ov_disk_label (const struct ov_disk *d) { return d->label; }

/* Read exactly count bytes at offset.  A read that crosses the end of the
 * disk is an error (-1, message names the disk, offset and length). */
int ov_disk_pread (struct ov_disk *disk, void *buf, size_t count,
                   uint64_t offset);

/* Walk the extents of an NBD meta context ("base:allocation",
 * "qemu:dirty-bitmap:NAME", "qemu:allocation-depth") over a range.  The
 * callback sees contiguous, in-order extents clipped to the range. */
int ov_disk_block_status (struct ov_disk *disk, const char *context,
                          uint64_t offset, uint64_t length,
                          ov_extent_cb cb, void *opaque);

/* True if TARGET looks like an NBD URI rather than a file path. */
bool ov_disk_target_is_uri (const char *target);

#endif
