/* ovscan — running `qemu-img` on a local image, and what its
 * `info --output=json` says about the image.
 *
 * qemu_img.c runs qemu-img (posix_spawn, no shell, stdout and stderr
 * captured, a timeout); qemu_img_info.c parses the JSON (pure, unit-tested).
 * The dirty-bitmap tracker (bitmap_tracker.c) is their user.
 *
 * The format is always given (-f): never probed (see disk.h for why probing
 * a guest-controlled raw image is unsafe).  A relative path gets "./" in
 * front, so that qemu never reads "json:{…}", "nbd:…" or "file:…" in a file
 * name as a protocol, and a path starting with '-' is not an option.
 */
#ifndef OVSCAN_BACKENDS_QEMU_IMG_H
#define OVSCAN_BACKENDS_QEMU_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vector.h"

/* Seconds one qemu-img command may take before it is killed (SIGKILL). */
#define OV_QEMU_IMG_TIMEOUT 60

/* qcow2's own limits (docs/interop/qcow2.txt), which qemu enforces too. */
#define OV_QCOW2_MAX_BITMAPS 65535
#define OV_QCOW2_MAX_BITMAP_NAME 1023
#define OV_BITMAP_MIN_GRANULARITY 512u
#define OV_BITMAP_MAX_GRANULARITY 0x80000000u

/* One persistent dirty bitmap of a qcow2 image. */
struct ov_bitmap_info {
  char *name;
  uint32_t granularity;       /* bytes, a power of 2 in [512, 2 GiB] */
  bool enabled;               /* flag "auto": records writes */
  bool in_use;                /* flag "in-use": inconsistent (QEMU had the
                                 image open read-write and did not close
                                 it cleanly), or open right now */
};
DEFINE_VECTOR (ov_bitmap_infos, struct ov_bitmap_info);

/* What `qemu-img info --output=json` (no --backing-chain) tells of one
 * image.  Strings are malloc'd; NULL when qemu did not say. */
struct ov_image_info {
  char *format;                  /* "qcow2", "raw", … (always set) */
  uint64_t virtual_size;         /* bytes (always set, <= INT64_MAX) */
  char *backing_filename;        /* as written in the image header */
  char *full_backing_filename;   /* resolved against the image's dir */
  char *backing_format;          /* "backing-filename-format" */
  bool corrupt;                  /* qcow2 "corrupt" flag */
  ov_bitmap_infos bitmaps;       /* qcow2 only; empty otherwise */
};

/* Parse the JSON text (len bytes, need not be NUL-terminated).  IMAGE only
 * names the image in messages.  Unknown members are ignored; missing
 * "format" or "virtual-size", wrong types, out-of-range numbers (negative
 * size, granularity not a power of 2 in range, more than 65535 bitmaps,
 * names longer than 1023 bytes or holding NUL) are errors.  On error:
 * -1 + ov_error, *info left empty. */
int ov_image_info_parse (const char *json, size_t len, const char *image,
                         struct ov_image_info *info);
void ov_image_info_free (struct ov_image_info *info);

/* The bitmap called NAME, or NULL. */
const struct ov_bitmap_info *ov_image_info_find_bitmap
  (const struct ov_image_info *info, const char *name);

/* Outcome of one qemu-img run that got as far as exiting. */
struct ov_qemu_img_result {
  int status;                 /* exit status */
  char *out;                  /* stdout, NUL-terminated */
  size_t out_len;
  char *err;                  /* stderr (at most 64 KiB), NUL-terminated */
};
void ov_qemu_img_result_free (struct ov_qemu_img_result *r);

/* Run `qemu-img ARGS…` (args: NULL-terminated, without "qemu-img") with
 * stdin from /dev/null, at most timeout seconds (0 = OV_QEMU_IMG_TIMEOUT);
 * stdout is capped at 64 MiB.  0 if qemu-img exited (whatever its status);
 * -1 + ov_error if it could not start, was killed by a signal, timed out
 * (it is then killed) or wrote too much.  Messages name the command. */
int ov_qemu_img_run (const char *const *args, unsigned timeout,
                     struct ov_qemu_img_result *r);

/* True if qemu-img's stderr says it could not get an image lock
 * ("Failed to get shared "write" lock", "Failed to get "write" lock"):
 * another process has the image open. */
bool ov_qemu_img_lock_failed (const char *err);

/* `qemu-img info -f FORMAT --output=json IMAGE`, parsed.  -1 + ov_error
 * naming IMAGE; when the image is locked the message says it is in use and
 * points to the running-VM path. */
int ov_qemu_img_info (const char *image, const char *format,
                      struct ov_image_info *info);

/* `qemu-img bitmap --add --granularity G` (persistent, enabled) and
 * `qemu-img bitmap --remove`.  -1 + ov_error naming IMAGE and the bitmap. */
int ov_qemu_img_bitmap_add (const char *image, const char *format,
                            const char *bitmap, uint32_t granularity);
int ov_qemu_img_bitmap_remove (const char *image, const char *format,
                               const char *bitmap);

#endif
