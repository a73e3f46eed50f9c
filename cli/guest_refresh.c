/* ovscan — guest inspection for the CLI (cli/guest_refresh.h).
 *
 * Inspection is opt-in per disk: `ovscan inspect NAME` does the first one;
 * a poll refreshes it only for disks inspected before, and only when the
 * poll listed the guest's /etc/fstab (the filesystem mounted at "/") or a
 * registry hive under \Windows\System32\config of a Windows guest among its
 * changed files, so that polls of quiet or uninteresting changes never start
 * the appliance for it.  Cost of a refresh: one inspection (the appliance is
 * started if it is not running).
 */
#include "cli/guest_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/disk.h"
#include "cli/cli.h"
#include "common/error.h"
#include "db/inspection.h"
#include "fsmap/fsmap.h"

int
ov_guest_inspect_and_store (struct ov_state *st,
                            const struct ov_disk_record *rec,
                            struct ov_inspection *out)
{
  struct ov_disk_options o = { .format = rec->format };
  struct ov_disk *disk;
  struct ov_fsmap *map;
  int r;

  memset (out, 0, sizeof *out);
  if (ov_disk_target_is_uri (rec->image) || strncmp (rec->image, "qmp:", 4) == 0) {
    ov_error ("inspection needs an image file (this disk is %s)", rec->image);
    return -1;
  }
  if ((disk = ov_disk_open (rec->image, &o)) == NULL)
    return -1;
  map = ov_fsmap_open (disk);
  if (map == NULL) {
    ov_disk_close (disk);
    return -1;
  }
  r = ov_inspect (map, out);
  ov_fsmap_close (map);
  ov_disk_close (disk);
  if (r == -1)
    return -1;
  if (out->warning)             /* already quoted */
    fprintf (stderr, "%s: warning: %s: inspection: %s\n", ov_program_name,
             rec->name, out->warning);
  if (ov_state_put_inspection (st, rec->id, out) == -1) {
    ov_inspection_clear (out);
    return -1;
  }
  return 0;
}

/* fs-relative path of a poll file's "LABEL:/path" (or "/path"). */
static const char *
fs_relative (const char *fs_label, const char *path)
{
  size_t n = strlen (fs_label);
  if (n && strncmp (path, fs_label, n) == 0 && path[n] == ':')
    return path + n + 1;
  return path;
}

char *
ov_guest_display_path (const struct ov_inspection *in, const char *fs_label,
                       const char *path)
{
  if (in == NULL || in->os_type == NULL)
    return NULL;
  return ov_guest_path (in, fs_label, fs_relative (fs_label, path));
}

struct trigger {
  const struct ov_inspection *in;
  bool hit;
};

static int
check_file (void *opaque, const struct ov_poll_file *f)
{
  struct trigger *t = opaque;
  char *g = ov_guest_display_path (t->in, f->fs_label, f->path);

  if (g) {
    if (strcmp (g, "/etc/fstab") == 0
        || strncasecmp (g, "C:\\Windows\\System32\\config\\", 27) == 0)
      t->hit = true;
    free (g);
  }
  return 0;
}

int
ov_guest_refresh_after_poll (struct ov_state *st,
                             const struct ov_disk_record *rec, int64_t poll_id)
{
  struct ov_inspection in, fresh;
  struct trigger t = { .in = &in };
  int r;

  r = ov_state_get_inspection (st, rec->id, &in, NULL);
  if (r != 0)
    return r == 1 ? 0 : -1;
  if (in.os_type)
    r = ov_state_list_poll_files (st, poll_id, check_file, &t);
  ov_inspection_clear (&in);
  if (r == -1 || !t.hit)
    return r;
  if (ov_guest_inspect_and_store (st, rec, &fresh) == -1)
    return -1;
  ov_inspection_clear (&fresh);
  return 1;
}
