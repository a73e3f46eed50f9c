/* ovscan — fsmap: what OS a guest disk holds and where its filesystems are
 * mounted (libguestfs inspection, through the one appliance of
 * fsmap/appliance.h), and guest paths from it.
 */
#ifndef OVSCAN_FSMAP_INSPECT_H
#define OVSCAN_FSMAP_INSPECT_H

#include <stddef.h>

#include "fsmap/fsmap.h"

struct ov_guest_mount {
  char *fs_label;                /* ov_fs label: "p1", "vg0/root", "" */
  char *mountpoint;              /* "/", "/boot" (Linux…) or "C:" (Windows) */
};

struct ov_inspection {
  char *os_type;                 /* "linux", "windows", … */
  char *distro;                  /* "debian", "rhel", "windows", … or "unknown" */
  char *product;                 /* "Debian GNU/Linux 12 (bookworm)", … */
  int major, minor;
  char *hostname;                /* "" if unknown */
  struct ov_guest_mount *mounts;
  size_t nmounts;
  char *warning;                 /* what ov_inspect ignored (quoted text),
                                    or NULL; not stored in the state db */
};
void ov_inspection_clear (struct ov_inspection *in);

/* Inspect the disk of `map` (opened from an image file: its label and
 * format name it for the appliance).  0 found (out filled; mounts only of
 * filesystems this map has), 1 no operating system found, -1 + ov_error.
 * Starts the appliance if it is not running. */
int ov_inspect (struct ov_fsmap *map, struct ov_inspection *out);

/* The drive "C:" (into out) of a Windows guest's drive mapping LETTER
 * (libguestfs gives "C"; the guest's registry chose it): 0 if LETTER is one
 * letter A-Z, else -1 (the caller ignores that mapping). */
int ov_guest_drive (const char *letter, char out[3]);

/* The guest's own path of fs_path ("/x/y", raw bytes) on filesystem
 * fs_label: "/boot/x/y", or "C:\x\y" on a Windows drive; malloc'd, or NULL
 * if that filesystem has no usable mountpoint (none, a drive other than
 * A:-Z:, or a Unix mountpoint not starting with '/') or ENOMEM. */
char *ov_guest_path (const struct ov_inspection *in, const char *fs_label,
                     const char *fs_path);

/* "Debian GNU/Linux 12 (bookworm), host web1" — malloc'd, RAW guest bytes
 * (product, hostname): quote it (ov_quote_path) before printing it as
 * text; ov_row_str / ov_json_write_quoted quote it themselves. */
char *ov_inspection_summary (const struct ov_inspection *in);

#endif
