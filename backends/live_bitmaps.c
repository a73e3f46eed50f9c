/* ovscan — dirty bitmap operations on a running VM's node over QMP, and
 * the fleece file (see live.h).
 *
 * ov_live_bitmap_merge_back is one transaction, so no write can fall
 * between "FROM stops being the one that records" and "INTO records
 * again": QEMU drains the node's I/O around a transaction.
 */
#include "backends/live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/qemu_img.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

static json_object *
bitmap_args (const char *node, const char *name)
{
  json_object *a = json_object_new_object ();
  json_object_object_add (a, "node", json_object_new_string (node));
  json_object_object_add (a, "name", json_object_new_string (name));
  return a;
}

int
ov_live_bitmap_remove (struct ov_qmp *q, const char *node, const char *name)
{
  if (ov_qmp_execute (q, "block-dirty-bitmap-remove", bitmap_args (node, name),
                      NULL) == -1) {
    ov_error_prefix ("node %s: removing dirty bitmap %s", node, name);
    return -1;
  }
  return 0;
}

int
ov_live_bitmap_merge_back (struct ov_qmp *q, const char *node,
                           const char *into, const char *from)
{
  json_object *actions = json_object_new_array ();
  json_object *merge = json_object_new_object ();
  json_object *sources = json_object_new_array ();
  json_object *args = json_object_new_object ();

  json_object_array_add (sources, json_object_new_string (from));
  json_object_object_add (merge, "node", json_object_new_string (node));
  json_object_object_add (merge, "target", json_object_new_string (into));
  json_object_object_add (merge, "bitmaps", sources);
  json_object_array_add (actions, ov_qmp_action ("block-dirty-bitmap-enable",
                                          bitmap_args (node, into)));
  json_object_array_add (actions, ov_qmp_action ("block-dirty-bitmap-merge", merge));
  json_object_array_add (actions, ov_qmp_action ("block-dirty-bitmap-remove",
                                          bitmap_args (node, from)));
  json_object_object_add (args, "actions", actions);
  if (ov_qmp_execute (q, "transaction", args, NULL) == -1) {
    ov_error_prefix ("node %s: merging dirty bitmap %s back into %s", node,
                     from, into);
    return -1;
  }
  return 0;
}

int
ov_live_create_fleece_file (const char *file, uint64_t size)
{
  char size_arg[32];
  const char *args[] = { "create", "-q", "-f", "qcow2", file, size_arg, NULL };
  struct ov_qemu_img_result r;
  int ret = 0;

  snprintf (size_arg, sizeof size_arg, "%" PRIu64, size);
  if (ov_qemu_img_run (args, OV_QEMU_IMG_TIMEOUT, &r) == -1)
    return -1;
  if (r.status != 0) {
    CLEANUP_FREE char *q = ov_quote_path (r.err ? r.err : "");
    ov_error ("qemu-img create %s failed: %s", file, q ? q : "");
    ret = -1;
  }
  ov_qemu_img_result_free (&r);
  return ret;
}
