/* ovscan — which path a 'layers' poll takes when the disk also carries an
 * ovscan-managed dirty bitmap in its top layer (pure: no I/O; the tracker
 * in scanner/tracker_layers.c gathers the facts, tests/unit/
 * test_scanner_layers_choice.c checks the rule).
 *
 * Two ways to know what a 'layers' disk wrote since its last committed poll:
 *   bitmap  read the dirty extents of the bitmap in TOP; nothing rotates,
 *           nothing is merged later
 *   layers  rotate TOP (freeze it as TOP.layer-M, new TOP) and read the
 *           clusters allocated in every uncovered own layer; the frozen
 *           layer is merged down later (qemu-img commit copies its
 *           clusters once more)
 *
 * The bitmap path is possible only when the recorded bitmap covers every
 * write since the last committed poll:
 *   - the disk has a recorded bitmap (added with `add --bitmap`);
 *   - a committed poll covered the own layers (covered_layer > 0: the first
 *     poll of a VM, or the first after its base changed, must read every own
 *     layer, writes made before the bitmap existed included);
 *   - no frozen own layer numbered above covered_layer (left by a poll that
 *     did not commit): its writes are not in the bitmap of the new TOP;
 *   - ov_bitmap_prepare found it present, consistent, enabled and of the
 *     recorded granularity (else its reason is the note).
 * (Checked in this order: the first that fails is the reason given.)
 * Then the cheaper one, in bytes: the bitmap path reads bitmap_bytes; the
 * layers path reads layers_bytes and its merge-down copies them once more,
 * so the bitmap path is taken when bitmap_bytes <= 2 * layers_bytes (ties
 * go to the bitmap: it also saves the rotation's and the merge's qemu-img
 * runs).  Without measurements (a full poll reads everything either way)
 * the bitmap path is taken, for the same saving.
 */
#ifndef OVSCAN_SCANNER_LAYERS_CHOICE_H
#define OVSCAN_SCANNER_LAYERS_CHOICE_H

#include <stdbool.h>
#include <stdint.h>

enum ov_layers_path {
  OV_LAYERS_PATH_LAYERS,
  OV_LAYERS_PATH_BITMAP,
};
/* "layers" / "bitmap": what the poll record's tracker column says. */
const char *ov_layers_path_name (enum ov_layers_path path);

struct ov_layers_facts {
  const char *bitmap;          /* the recorded bitmap's name, NULL: none */
  const char *unusable;        /* why ov_bitmap_prepare refused it, or NULL */
  uint64_t covered_layer;      /* disk->generation */
  uint64_t newest_layer;       /* newest own frozen layer in the chain (0: none) */
  bool measured;               /* the two byte counts below are known */
  uint64_t bitmap_bytes;       /* dirty in the recorded bitmap */
  uint64_t layers_bytes;       /* allocated in TOP + uncovered frozen layers */
};

/* The path to take.  *why: NULL, or (layers path on a disk that has a
 * recorded bitmap) a malloc'd sentence saying why the bitmap was not used,
 * for the poll's reason column.  -1 + ov_error only when out of memory. */
int ov_layers_choose (const struct ov_layers_facts *f,
                      enum ov_layers_path *path, char **why);

#endif
