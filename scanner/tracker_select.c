/* ovscan — which tracker a registered disk uses (scanner/tracker_ops.h).
 * One table; a new tracker adds its ops here. */
#include "scanner/tracker_ops.h"

#include <string.h>

#include "common/error.h"

static const struct ov_tracker_ops *const trackers[] = {
  &ov_tracker_bitmap,
  &ov_tracker_full,
  &ov_tracker_layers,
  &ov_tracker_base,
};

const struct ov_tracker_ops *
ov_tracker_for (const struct ov_disk_record *disk)
{
  size_t i;

  /* A running VM's disk (QMP) is tracked live: by its copy-on-write
   * layers when registered so, else by bitmaps. */
  if (disk->qmp_socket)
    return strcmp (disk->tracker, "layers") == 0 ? &ov_tracker_layers_live
      : &ov_tracker_live;
  for (i = 0; i < sizeof trackers / sizeof trackers[0]; i++)
    if (strcmp (disk->tracker, trackers[i]->name) == 0)
      return trackers[i];
  ov_error ("%s: unknown tracker '%s' in the state database (a newer ovscan "
            "registered it?)", disk->name, disk->tracker);
  return NULL;
}
