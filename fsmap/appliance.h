/* ovscan — fsmap: the libguestfs appliance, for filesystems The Sleuth Kit
 * cannot read (XFS), and guest inspection.
 *
 * One appliance per process, started lazily by the first call that needs
 * it and reused for every disk after that (the drives of every disk
 * registered before the launch are attached, read-only).  A disk that was
 * not registered before the launch makes the next call restart the
 * appliance with it added (counted in the stats).  Nothing here starts the
 * appliance unless a walk or inspection is actually asked for.
 *
 * The appliance never decides offsets: a filesystem is named by its
 * absolute byte range on the disk (a read-only loop device over the drive
 * inside the appliance), so the block maps it returns are relative to the
 * same offset fsmap uses, and partitions/LVs are not re-discovered by it.
 *
 * Environment: LIBGUESTFS_BACKEND / LIBGUESTFS_BACKEND_SETTINGS as
 * libguestfs reads them (force_tcg where KVM does not work);
 * OVSCAN_FS_WALK overrides where the in-appliance helper (ovscan-fs-walk)
 * is found (default: next to the running executable, else the installed
 * libexec/ovscan);
 * OVSCAN_NO_APPLIANCE=1 refuses to start it (XFS is then not scanned).
 */
#ifndef OVSCAN_FSMAP_APPLIANCE_H
#define OVSCAN_FSMAP_APPLIANCE_H

#include <stdbool.h>
#include <stdint.h>

/* Was ovscan built with libguestfs, and is the appliance allowed? */
bool ov_appliance_available (void);

/* Attach this image at the (future) launch.  Cheap; never launches. */
int ov_appliance_register (const char *image, const char *format);

/* Walk the filesystem of type fstype at image bytes [offset, offset+size)
 * of the image (disk_size bytes) with ovscan-fs-walk inside the appliance
 * (mounted read-only, no log recovery); the listing (format in
 * fsmap/appliance/fs_walk.c) is written to a new temporary file whose path
 * is returned in *listing (the caller unlinks and frees it).  0, or -1 +
 * ov_error. */
int ov_appliance_walk (const char *image, const char *format,
                       uint64_t disk_size, uint64_t offset, uint64_t size,
                       const char *fstype, char **listing);

struct ov_appliance_stats {
  unsigned launches;
  double launch_seconds;         /* starting the appliance */
  double busy_seconds;           /* walks and inspections, launch excluded */
};
void ov_appliance_get_stats (struct ov_appliance_stats *out);

/* Stop the appliance (also done at exit). */
void ov_appliance_shutdown (void);

/* For inspection (fsmap/inspect.c): the handle with `image` attached,
 * launched; *device is the drive's device ("/dev/sda"), malloc'd.  NULL +
 * ov_error. */
struct guestfs_h;
struct guestfs_h *ov_appliance_handle (const char *image, const char *format,
                                       char **device);

#endif
