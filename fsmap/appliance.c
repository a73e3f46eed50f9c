/* ovscan — fsmap: the one libguestfs appliance of the process (appliance.h).
 *
 * State: the handle (NULL until the first launch), the drives registered
 * (image + format), and which of them the running appliance has.  All under
 * one mutex; walks are serialised (the appliance runs one command at a
 * time anyway).
 *
 * Inside the appliance (no guest filesystem is ever mounted on its root):
 * a tmpfs is mounted on /sysroot once, so that upload/download work; the
 * helper ovscan-fs-walk is uploaded there once; each walk makes a read-only
 * loop device over the filesystem's byte range of the drive, mounts it
 * read-only with norecovery (a running guest's log is never replayed) at
 * /sysroot/m, runs the helper, unmounts, and the listing is downloaded.
 * Cost: launch 25-60 s under TCG (a few seconds with KVM), then one shell
 * command + one download per walk.
 */
#include "fsmap/appliance.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"

#ifdef OVSCAN_HAVE_GUESTFS
#include <guestfs.h>

struct drive {
  char *image, *format;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static guestfs_h *g;
static struct drive *drives;
static size_t ndrives;
static size_t nattached;        /* drives[0..nattached) are in g */
static bool prepared;           /* tmpfs + helper in place */
static struct ov_appliance_stats stats;

bool
ov_appliance_available (void)
{
  const char *no = getenv ("OVSCAN_NO_APPLIANCE");
  return !(no && no[0] && strcmp (no, "0") != 0);
}

static int
find_drive (const char *image)
{
  size_t i;
  for (i = 0; i < ndrives; i++)
    if (strcmp (drives[i].image, image) == 0)
      return (int) i;
  return -1;
}

static int
register_locked (const char *image, const char *format)
{
  struct drive *v;

  if (find_drive (image) >= 0)
    return 0;
  v = realloc (drives, (ndrives + 1) * sizeof *v);
  if (v == NULL) {
    ov_error_errno (errno, "appliance");
    return -1;
  }
  drives = v;
  v[ndrives].image = strdup (image);
  v[ndrives].format = format ? strdup (format) : NULL;
  if (v[ndrives].image == NULL || (format && v[ndrives].format == NULL)) {
    free (v[ndrives].image);
    free (v[ndrives].format);
    ov_error_errno (ENOMEM, "appliance");
    return -1;
  }
  ndrives++;
  return 0;
}

int
ov_appliance_register (const char *image, const char *format)
{
  int r;
  pthread_mutex_lock (&lock);
  r = register_locked (image, format);
  pthread_mutex_unlock (&lock);
  return r;
}

static void
shutdown_locked (void)
{
  if (g) {
    guestfs_shutdown (g);
    guestfs_close (g);
  }
  g = NULL;
  nattached = 0;
  prepared = false;
}

void
ov_appliance_shutdown (void)
{
  pthread_mutex_lock (&lock);
  shutdown_locked ();
  pthread_mutex_unlock (&lock);
}

static const char *
guestfs_message (void)
{
  const char *e = g ? guestfs_last_error (g) : NULL;
  return e ? e : "unknown libguestfs error";
}

/* Each drive is labelled (letters only, as libguestfs wants): the device
 * names inside the appliance (/dev/sdX) depend on the order the guest
 * kernel finds its disks, which under load is not the order they were
 * added (seen here: the appliance's own 4 GiB root disk as /dev/sda). */
static void
drive_label (size_t index, char out[16])
{
  char digits[8];
  size_t n = 0;

  do {
    digits[n++] = (char) ('a' + index % 26);
    index /= 26;
  } while (index && n < sizeof digits - 1);
  memcpy (out, "ovscan", 6);
  for (size_t i = 0; i < n; i++)
    out[6 + i] = digits[n - 1 - i];
  out[6 + n] = '\0';
}

/* A launched appliance with `image` attached; its drive index in *index. */
static int
ensure_launched (const char *image, const char *format, int *index)
{
  double t0;
  size_t i;
  int k;

  if (!ov_appliance_available ()) {
    ov_error ("the libguestfs appliance is disabled (OVSCAN_NO_APPLIANCE)");
    return -1;
  }
  if (register_locked (image, format) == -1)
    return -1;
  k = find_drive (image);
  if (g && (size_t) k < nattached) {
    *index = k;
    return 0;
  }
  shutdown_locked ();              /* not attached: restart with it */
  t0 = ov_monotonic_seconds ();
  g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  if (g == NULL) {
    ov_error ("libguestfs: cannot create a handle");
    return -1;
  }
  guestfs_set_error_handler (g, NULL, NULL);
  if (guestfs_parse_environment (g) == -1)
    goto err;
  for (i = 0; i < ndrives; i++) {
    char label[16];
    drive_label (i, label);
    if (drives[i].format
        ? guestfs_add_drive_opts (g, drives[i].image,
                                  GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                  GUESTFS_ADD_DRIVE_OPTS_LABEL, label,
                                  GUESTFS_ADD_DRIVE_OPTS_FORMAT,
                                  drives[i].format, -1) == -1
        : guestfs_add_drive_opts (g, drives[i].image,
                                  GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                  GUESTFS_ADD_DRIVE_OPTS_LABEL, label,
                                  -1) == -1)
      goto err;
  }
  if (guestfs_launch (g) == -1)
    goto err;
  nattached = ndrives;
  stats.launches++;
  stats.launch_seconds += ov_monotonic_seconds () - t0;
  *index = k;
  return 0;
 err:
  ov_error ("libguestfs appliance: %s", guestfs_message ());
  shutdown_locked ();
  return -1;
}

/* The appliance's device of drive `index`, found by its label. */
static char *
drive_device (int index)
{
  char **pairs = guestfs_list_disk_labels (g);
  char label[16], *dev = NULL;
  size_t i;

  if (pairs == NULL) {
    ov_error ("libguestfs list_disk_labels: %s", guestfs_message ());
    return NULL;
  }
  drive_label ((size_t) index, label);
  for (i = 0; pairs[i] && pairs[i + 1]; i += 2)
    if (strcmp (pairs[i], label) == 0 && dev == NULL)
      dev = strdup (pairs[i + 1]);
  if (dev == NULL)
    ov_error ("libguestfs: drive %d (label %s) not in the appliance", index, label);
  for (i = 0; pairs[i]; i++)
    free (pairs[i]);
  free (pairs);
  return dev;
}

static char *
helper_path (void)
{
  const char *env = getenv ("OVSCAN_FS_WALK");
  char exe[PATH_MAX], *slash, *p;
  ssize_t n;

  if (env && env[0])
    return strdup (env);
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    slash = strrchr (exe, '/');
    if (slash) {
      *slash = '\0';
      if (asprintf (&p, "%s/ovscan-fs-walk", exe) == -1)
        return NULL;
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  }
  return strdup (OVSCAN_LIBEXECDIR "/ovscan-fs-walk");
}

static char *
sh (const char *script)
{
  /* The daemon joins the words with spaces and runs them with sh -c. */
  const char *argv[] = { script, NULL };
  char *out = guestfs_debug (g, "sh", (char *const *) argv);
  if (out == NULL)
    ov_error ("appliance: %s", guestfs_message ());
  return out;
}

static int
prepare_locked (void)
{
  char *helper, *out;

  if (prepared)
    return 0;
  helper = helper_path ();
  if (helper == NULL || access (helper, X_OK) == -1) {
    ov_error ("the appliance helper ovscan-fs-walk was not found (%s):"
              " set OVSCAN_FS_WALK", helper ? helper : "next to ovscan");
    free (helper);
    return -1;
  }
  out = sh ("mountpoint -q /sysroot || mount -t tmpfs -o size=2g,mode=0700"
            " ovscan /sysroot; mkdir -p /sysroot/m");
  if (out == NULL) {
    free (helper);
    return -1;
  }
  free (out);
  if (guestfs_upload (g, helper, "/ovscan-fs-walk") == -1
      || guestfs_chmod (g, 0700, "/ovscan-fs-walk") == -1) {
    ov_error ("appliance: uploading %s: %s", helper, guestfs_message ());
    free (helper);
    return -1;
  }
  free (helper);
  prepared = true;
  return 0;
}

/* The script's LAST line says whether the walk succeeded: the walker's own
 * messages (which may quote guest file names) come before it, so a guest
 * naming a file "OVSCAN-WALK-OK" cannot make a failed walk look good. */
static bool
walk_succeeded (const char *out)
{
  static const char mark[] = "OVSCAN-WALK-OK";
  size_t n = strlen (out), m = sizeof mark - 1;

  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
    n--;
  return n >= m && memcmp (out + n - m, mark, m) == 0 &&
         (n == m || out[n - m - 1] == '\n');
}

static bool
safe_fstype (const char *t)
{
  if (t[0] == '\0')
    return false;
  for (; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9')))
      return false;
  return true;
}

int
ov_appliance_walk (const char *image, const char *format, uint64_t disk_size,
                   uint64_t offset, uint64_t size, const char *fstype,
                   char **listing)
{
  char *dev = NULL, *script = NULL, *out = NULL, *tmp = NULL;
  double t0;
  int index, fd, ret = -1;

  *listing = NULL;
  if (!safe_fstype (fstype)) {
    ov_error ("appliance: filesystem type \"%s\" refused", fstype);
    return -1;
  }
  pthread_mutex_lock (&lock);
  if (ensure_launched (image, format, &index) == -1)
    goto out;
  t0 = ov_monotonic_seconds ();
  if (prepare_locked () == -1 || (dev = drive_device (index)) == NULL)
    goto out;
  /* dev comes from libguestfs ("/dev/sdX"); numbers are ours.  The device
   * must have the disk's size: if the label's does not (seen under load:
   * the appliance's own root disk), the one device that has it is used. */
  if (asprintf (&script,
                "D='%s'; "
                "if [ \"$(blockdev --getsize64 $D)\" != %" PRIu64 " ]; then D=; "
                " for d in /dev/sd? /dev/vd?; do [ -b $d ] &&"
                " [ \"$(blockdev --getsize64 $d)\" = %" PRIu64 " ] && D=\"$D $d\"; done; "
                " set -- $D; [ $# = 1 ] || { echo \"no single device of %" PRIu64
                " bytes: $D\"; exit 1; }; D=$1; fi; "
                "L=$(losetup -r -f --show -o %" PRIu64 " --sizelimit %" PRIu64
                " $D) || exit 1; "
                "ok=; for i in 1 2 3; do"
                " mount -t %s -o ro,norecovery,nouuid \"$L\" /sysroot/m 2>/tmp/mount.err"
                " && { ok=1; break; }; sleep 1; done; "
                "if [ -z \"$ok\" ]; then cat /tmp/mount.err; dmesg | tail -n 3;"
                " echo \"device %s ($D) $(blockdev --getsize64 $D) bytes, at the offset:\";"
                " od -A d -c -N 16 \"$L\";"
                " losetup -d \"$L\"; exit 1; fi; "
                "/sysroot/ovscan-fs-walk /sysroot/m /sysroot/walk.out 2>&1; rc=$?; "
                "umount /sysroot/m; losetup -d \"$L\"; "
                "[ $rc = 0 ] && echo OVSCAN-WALK-OK",
                dev, disk_size, disk_size, disk_size, offset, size, fstype,
                dev) == -1) {
    script = NULL;
    ov_error_errno (errno, "appliance");
    goto out;
  }
  out = sh (script);
  if (out == NULL)
    goto out;
  if (!walk_succeeded (out)) {
    ov_error ("appliance: walking %s at offset %" PRIu64 " of %s: %s",
              fstype, offset, image, out);
    goto out;
  }
  tmp = strdup ("/tmp/ovscan-walk.XXXXXX");
  if (tmp == NULL || (fd = mkstemp (tmp)) == -1) {
    ov_error_errno (errno, "appliance: temporary file");
    goto out;
  }
  close (fd);
  if (guestfs_download (g, "/walk.out", tmp) == -1) {
    ov_error ("appliance: download of the listing: %s", guestfs_message ());
    unlink (tmp);
    goto out;
  }
  stats.busy_seconds += ov_monotonic_seconds () - t0;
  *listing = tmp;
  tmp = NULL;
  ret = 0;
 out:
  pthread_mutex_unlock (&lock);
  free (tmp);
  free (dev);
  free (script);
  free (out);
  return ret;
}

struct guestfs_h *
ov_appliance_handle (const char *image, const char *format, char **device)
{
  int index;
  guestfs_h *h = NULL;

  pthread_mutex_lock (&lock);
  if (ensure_launched (image, format, &index) == 0
      && (*device = drive_device (index)) != NULL) {
    h = g;
    prepared = false;            /* the caller may unmount /sysroot */
  }
  pthread_mutex_unlock (&lock);
  return h;
}

void
ov_appliance_get_stats (struct ov_appliance_stats *out)
{
  pthread_mutex_lock (&lock);
  *out = stats;
  pthread_mutex_unlock (&lock);
}

#else /* !OVSCAN_HAVE_GUESTFS */

bool
ov_appliance_available (void)
{
  return false;
}

int
ov_appliance_register (const char *image, const char *format)
{
  (void) image, (void) format;
  return 0;
}

int
ov_appliance_walk (const char *image, const char *format, uint64_t disk_size,
                   uint64_t offset, uint64_t size, const char *fstype,
                   char **listing)
{
  (void) image, (void) format, (void) disk_size, (void) offset, (void) size;
  *listing = NULL;
  ov_error ("%s: ovscan was built without libguestfs", fstype);
  return -1;
}

struct guestfs_h *
ov_appliance_handle (const char *image, const char *format, char **device)
{
  (void) image, (void) format;
  *device = NULL;
  ov_error ("ovscan was built without libguestfs");
  return NULL;
}

void
ov_appliance_get_stats (struct ov_appliance_stats *out)
{
  memset (out, 0, sizeof *out);
}

void
ov_appliance_shutdown (void)
{
}

#endif
