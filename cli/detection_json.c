/* ovscan — the JSON line of one detection (cli/detection_json.h).  Cost:
 * one quoted copy per string. */
#include "cli/detection_json.h"

#include <stdio.h>

#include "cli/table_output.h"

void
ov_print_detection_json (const struct ov_detection *d, const char *guest_path,
                         bool is_new, bool by_rescan)
{
  struct ov_row r = { .format = OV_REPORT_JSON };

  ov_row_begin (&r);
  ov_row_str (&r, "type", "detection");
  ov_row_str (&r, "vm", d->vm);
  ov_row_i64 (&r, "poll", d->poll_id);
  ov_row_str (&r, "fs", d->fs);
  ov_row_str (&r, "path", guest_path ? guest_path : d->path);
  if (guest_path)
    ov_row_str (&r, "fs_path", d->path);
  ov_row_u64 (&r, "inode", d->inode);
  ov_row_u64 (&r, "size", d->size);
  ov_row_str (&r, "change", by_rescan ? NULL : d->change);
  ov_row_str (&r, "signature", d->signature);
  ov_row_str (&r, "signature_version", d->sig_version);
  printf (",\"new\":%s", is_new ? "true" : "false");
  ov_row_str (&r, "found_by", by_rescan ? "rescan" : "poll");
  ov_row_end (&r);
  fflush (stdout);
}
