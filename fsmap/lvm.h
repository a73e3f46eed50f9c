/* ovscan — fsmap: LVM2 read host-side (not installed; see fsmap/lvm.c).
 *
 *   ov_lvm_probe     is there an LVM2 physical volume on this volume?  Reads
 *                    its label, metadata area header and current text
 *                    metadata (checksums verified).
 *   ov_lvm_assemble  the PVs found on one disk -> volume groups -> logical
 *                    volumes, each a list of pieces mapping LV bytes to
 *                    ABSOLUTE disk bytes, or with `error` set (missing PV,
 *                    segment past its PV or the disk, unsupported type).
 *
 * Pure logic over a read callback (as partitions.c), so the unit tests feed
 * crafted bytes.
 */
#ifndef OVSCAN_FSMAP_LVM_H
#define OVSCAN_FSMAP_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsmap/internal.h"

#define OV_LVM_MAX_TEXT    (16u << 20)  /* bytes of metadata text read */
#define OV_LVM_MAX_PIECES  4096         /* linear pieces of one LV */
#define OV_LVM_MAX_LVS     1024         /* LVs of one disk */

/* One PV label found on a volume of the disk. */
struct ov_lvm_pv {
  uint64_t offset;               /* absolute start of the PV (its volume) */
  uint64_t size;                 /* bytes of the volume holding it */
  char uuid[33];                 /* 32 characters, no dashes */
  char *text;                    /* current metadata text (NUL-terminated), or NULL */
  char *error;                   /* why `text` is NULL (corrupt metadata…), or NULL */
};
void ov_lvm_pv_clear (struct ov_lvm_pv *pv);

/* LV byte lv_offset.. maps to disk byte disk_offset.. for length bytes. */
struct ov_lvm_piece {
  uint64_t lv_offset, disk_offset, length;
};

struct ov_lvm_lv {
  char vg[128], name[128];       /* LVM names: [A-Za-z0-9+_.-], checked */
  uint64_t size;                 /* bytes (sum of the pieces when usable) */
  struct ov_lvm_piece *pieces;   /* sorted by lv_offset, covering [0,size) */
  size_t npieces, pieces_cap;    /* cap: allocated (common/vector.h growth) */
  char *error;                   /* NULL, or why the LV cannot be read */
};

struct ov_lvm_layout {
  struct ov_lvm_lv *lvs;
  size_t nlvs, lvs_cap;
  char **warnings;               /* problems not tied to one LV (a VG whose
                                    metadata could not be parsed…) */
  size_t nwarnings, warnings_cap;
};
void ov_lvm_layout_free (struct ov_lvm_layout *layout);

/* 1 if an LVM2 PV label is in the first 4 sectors of [offset, offset+size)
 * (pv filled; metadata problems land in pv->error), 0 if not, -1 if the
 * disk could not be read or on ENOMEM (ov_error). */
int ov_lvm_probe (ov_sector_read_fn read, void *opaque, uint64_t offset,
                  uint64_t size, struct ov_lvm_pv *pv);

/* Build every visible LV of the VGs whose metadata one of the PVs holds
 * (newest seqno wins when PVs disagree).  0, or -1 on ENOMEM. */
int ov_lvm_assemble (const struct ov_lvm_pv *pvs, size_t npvs,
                     uint64_t disk_size, struct ov_lvm_layout *layout);

/* The disk range of an LV if it is contiguous on the disk: 0 with *offset
 * set, -1 if its pieces are not one run. */
int ov_lvm_contiguous (const struct ov_lvm_lv *lv, uint64_t *offset);

/* lvm_image.c — an LV stored in several runs (see its header comment).
 * ov_lvm_span: check the pieces (contiguous in the LV, inside the disk, not
 * overlapping) and give the disk span [*lo, *hi) they lie in; -1 + ov_error.
 * ov_lvm_image_open: a TSK image whose byte base + x is LV byte x.
 * ov_lvm_translate_runs: f's runs from that image's bytes to absolute disk
 * bytes (no-op unless fs was opened on such an image); -1 + ov_error. */
int ov_lvm_span (const struct ov_lvm_lv *lv, uint64_t disk_size,
                 uint64_t *lo, uint64_t *hi);
TSK_IMG_INFO *ov_lvm_image_open (struct ov_disk *disk,
                                 const struct ov_lvm_lv *lv, uint64_t base);
int ov_lvm_translate_runs (const struct ov_fs *fs, struct ov_file *f);
/* The same for a list of independent DATA ranges (directory blocks, file
 * offsets 0): *runs replaced; -1 + ov_error on ENOMEM. */
int ov_lvm_translate_ranges (const struct ov_fs *fs, struct ov_run **runs,
                             size_t *nruns);

/* lvm_text.c — the LVM2 text metadata format ("key = value", "name { … }",
 * strings, integers, arrays), parsed into a tree. */
enum ov_lvm_kind { OV_LVM_SECTION, OV_LVM_STRING, OV_LVM_NUMBER, OV_LVM_ARRAY };
struct ov_lvm_node {
  char *key;                     /* NULL for array items */
  enum ov_lvm_kind kind;
  char *str;                     /* OV_LVM_STRING */
  int64_t num;                   /* OV_LVM_NUMBER */
  struct ov_lvm_node *kids;      /* SECTION members / ARRAY items */
  size_t nkids;
};
/* Parse text (len bytes) into *root (a SECTION).  -1 + ov_error naming the
 * line on a syntax error or a bound exceeded (depth, nodes). */
int ov_lvm_text_parse (const char *text, size_t len, struct ov_lvm_node *root);
void ov_lvm_node_clear (struct ov_lvm_node *n);
/* Member `key` of a SECTION, or NULL. */
const struct ov_lvm_node *ov_lvm_get (const struct ov_lvm_node *sec,
                                      const char *key);
/* Typed getters: 0 or -1 if absent / other type. */
int ov_lvm_get_num (const struct ov_lvm_node *sec, const char *key,
                    int64_t *out);
const char *ov_lvm_get_str (const struct ov_lvm_node *sec, const char *key);

#endif
