/* ovscan — helpers shared by the files of cow/ (not for other modules).
 * Each returns 0 / a malloc'd string, or -1 / NULL + ov_error. */
#ifndef OVSCAN_COW_INTERNAL_H
#define OVSCAN_COW_INTERNAL_H

#include <stdbool.h>

/* The directory of PATH. */
char *ov_cow_dir_of (const char *path);
/* "./NAME" for a backing-file string relative to the overlay's directory
 * (never read as a protocol such as "nbd:" or "json:"). */
char *ov_cow_relative_backing (const char *path);
int ov_cow_fsync_dir_of (const char *path);
int ov_cow_fsync_file (const char *path);
/* "TOP.ovscan-new": the new top while a rotation builds it. */
char *ov_cow_temp_top (const char *top);
/* qemu-img ARGS on IMAGE (named in the message), status 0 or an error
 * (a lock failure says the image is in use). */
int ov_cow_qemu_img (const char *image, const char *const *args);
/* `qemu-img info -U -f FORMAT` of IMAGE (force-share: a running VM may
 * hold it), parsed (chain.c). */
struct ov_image_info;
int ov_cow_info_shared (const char *image, const char *format,
                        struct ov_image_info *info);
/* ov_cow_recover with the chain read by force-share (SHARED: a running
 * VM holds the images) or not.  CHAIN_OUT (may be NULL): the chain read
 * after the recovery (ov_cow_chain_free it); without a valid chain -1. */
struct ov_cow_chain;
int ov_cow_recover_files (const char *top, bool shared, bool *changed,
                          struct ov_cow_chain *chain_out);

#endif
