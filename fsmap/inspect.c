/* ovscan — fsmap: guest inspection through libguestfs (fsmap/inspect.h).
 *
 * libguestfs's inspect_os (run inside the appliance, which mounts the
 * guest's filesystems read-only there) finds the OS roots of every drive
 * attached; a root is ours if its device maps to a volume of this map:
 *   /dev/sdX        the drive itself      -> ""   (partitionless disk)
 *   /dev/sdXN       partition N           -> "pN"
 *   /dev/VG/LV, /dev/mapper/VG-LV (LVM's "--" escape)  -> "VG/LV"
 * The first root that maps gives the OS, version, hostname and the
 * mountpoint of each of its filesystems (Windows: drive letters, "C:").
 * Devices we cannot map are left out (they may be another disk's).
 *
 * Guest paths: "/" + fs path on the root filesystem, mountpoint + fs path
 * elsewhere; Windows "C:" + the path with '\' separators.  The drive
 * letters come from the guest's registry: one that is not A-Z is ignored
 * (that filesystem keeps fsmap paths) and said in the inspection's warning.
 * Cost: one appliance command sequence (inspection mounts each filesystem
 * briefly); the appliance is started if it was not running.
 */
#include "fsmap/inspect.h"
#include "fsmap/internal.h"
#include "fsmap/appliance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

void
ov_inspection_clear (struct ov_inspection *in)
{
  size_t i;

  for (i = 0; i < in->nmounts; i++) {
    free (in->mounts[i].fs_label);
    free (in->mounts[i].mountpoint);
  }
  free (in->mounts);
  free (in->os_type);
  free (in->distro);
  free (in->product);
  free (in->hostname);
  free (in->warning);
  memset (in, 0, sizeof *in);
}

int
ov_guest_drive (const char *letter, char out[3])
{
  if (letter[0] < 'A' || letter[0] > 'Z' || letter[1] != '\0')
    return -1;
  out[0] = letter[0];
  out[1] = ':';
  out[2] = '\0';
  return 0;
}

static bool
map_has_label (struct ov_fsmap *map, const char *label)
{
  size_t i;
  for (i = 0; i < ov_fsmap_fs_count (map); i++) {
    const struct ov_fs *fs = ov_fsmap_fs (map, i);
    if (fs->error == NULL && strcmp (fs->label, label) == 0)
      return true;
  }
  return false;
}

/* The map's label of appliance device `dev`, malloc'd, or NULL. */
static char *
device_label (struct ov_fsmap *map, const char *drive, const char *dev)
{
  size_t n = strlen (drive);
  char *label = NULL;

  if (strncmp (dev, drive, n) == 0) {
    const char *rest = dev + n;
    if (*rest == '\0')
      label = strdup ("");
    else if (strspn (rest, "0123456789") == strlen (rest) && strlen (rest) < 6
             && asprintf (&label, "p%s", rest) == -1)
      label = NULL;
  }
  else if (strncmp (dev, "/dev/mapper/", 12) == 0) {
    /* VG-LV with '-' inside names doubled. */
    const char *s = dev + 12;
    char *out = malloc (strlen (s) + 1), *o = out;
    bool split = false;
    if (out == NULL)
      return NULL;
    for (; *s; s++) {
      if (s[0] == '-' && s[1] == '-') {
        *o++ = '-';
        s++;
      }
      else if (s[0] == '-' && !split) {
        *o++ = '/';
        split = true;
      }
      else
        *o++ = *s;
    }
    *o = '\0';
    label = split ? out : (free (out), NULL);
  }
  else if (strncmp (dev, "/dev/", 5) == 0 && strchr (dev + 5, '/'))
    label = strdup (dev + 5);
  if (label && !map_has_label (map, label)) {
    free (label);
    label = NULL;
  }
  return label;
}

static int
add_mount (struct ov_inspection *out, char *label, const char *mountpoint)
{
  struct ov_guest_mount *v;
  size_t i;

  for (i = 0; i < out->nmounts; i++)
    if (strcmp (out->mounts[i].fs_label, label) == 0) {
      free (label);              /* first mountpoint wins */
      return 0;
    }
  v = realloc (out->mounts, (out->nmounts + 1) * sizeof *v);
  if (v == NULL) {
    free (label);
    return -1;
  }
  out->mounts = v;
  v[out->nmounts].fs_label = label;
  v[out->nmounts].mountpoint = strdup (mountpoint);
  if (v[out->nmounts].mountpoint == NULL) {
    free (label);
    return -1;
  }
  out->nmounts++;
  return 0;
}

#ifdef OVSCAN_HAVE_GUESTFS
#include <guestfs.h>

static void
free_strings (char **v)
{
  size_t i;
  if (v == NULL)
    return;
  for (i = 0; v[i]; i++)
    free (v[i]);
  free (v);
}

static char *
or_empty (char *s)
{
  return s ? s : strdup ("");
}

/* A drive mapping whose letter is not A-Z: ignored, said in out->warning.
 * Takes LABEL.  -1 + ov_error on ENOMEM. */
static int
warn_bad_drive (struct ov_inspection *out, const char *letter, char *label)
{
  CLEANUP_FREE char *qletter = ov_quote_path (letter);
  CLEANUP_FREE char *qlabel = ov_quote_path (label);
  char *w;
  int r;

  free (label);
  if (qletter == NULL || qlabel == NULL)
    r = -1;
  else
    r = asprintf (&w, "%s%sfilesystem %s: drive letter \"%s\" is not A-Z: "
                  "no guest paths on it", out->warning ? out->warning : "",
                  out->warning ? "; " : "", qlabel, qletter);
  if (r == -1) {
    ov_error_errno (ENOMEM, "inspection");
    return -1;
  }
  free (out->warning);
  out->warning = w;
  return 0;
}

int
ov_inspect (struct ov_fsmap *map, struct ov_inspection *out)
{
  char *drive = NULL, **roots = NULL, **pairs = NULL;
  guestfs_h *g;
  size_t i, j;
  int ret = -1;

  memset (out, 0, sizeof *out);
  g = (guestfs_h *) ov_appliance_handle (ov_disk_label (map->disk),
                                         map->disk->format, &drive);
  if (g == NULL)
    return -1;
  roots = guestfs_inspect_os (g);
  if (roots == NULL) {
    ov_error ("inspection: %s", guestfs_last_error (g));
    goto out;
  }
  ret = 1;
  for (i = 0; roots[i]; i++) {
    char *label = device_label (map, drive, roots[i]);
    bool windows;

    if (label == NULL)
      continue;
    free (label);
    out->os_type = or_empty (guestfs_inspect_get_type (g, roots[i]));
    out->distro = or_empty (guestfs_inspect_get_distro (g, roots[i]));
    out->product = or_empty (guestfs_inspect_get_product_name (g, roots[i]));
    out->hostname = or_empty (guestfs_inspect_get_hostname (g, roots[i]));
    out->major = guestfs_inspect_get_major_version (g, roots[i]);
    out->minor = guestfs_inspect_get_minor_version (g, roots[i]);
    if (!out->os_type || !out->distro || !out->product || !out->hostname) {
      ov_error_errno (ENOMEM, "inspection");
      ret = -1;
      goto out;
    }
    windows = strcmp (out->os_type, "windows") == 0;
    pairs = windows ? guestfs_inspect_get_drive_mappings (g, roots[i])
      : guestfs_inspect_get_mountpoints (g, roots[i]);
    for (j = 0; pairs && pairs[j] && pairs[j + 1]; j += 2) {
      /* mountpoints: mountpoint, device; drive mappings: letter, device. */
      char *l = device_label (map, drive, pairs[j + 1]);
      char letter[3];
      if (l == NULL)
        continue;
      if (windows && ov_guest_drive (pairs[j], letter) == -1) {
        if (warn_bad_drive (out, pairs[j], l) == -1) {
          ret = -1;
          goto out;
        }
        continue;
      }
      if (add_mount (out, l, windows ? letter : pairs[j]) == -1) {
        ov_error_errno (ENOMEM, "inspection");
        ret = -1;
        goto out;
      }
    }
    ret = 0;
    break;
  }
 out:
  guestfs_umount_all (g);
  free_strings (roots);
  free_strings (pairs);
  free (drive);
  if (ret != 0)
    ov_inspection_clear (out);
  return ret;
}

#else

int
ov_inspect (struct ov_fsmap *map, struct ov_inspection *out)
{
  (void) map;
  memset (out, 0, sizeof *out);
  ov_error ("inspection: ovscan was built without libguestfs");
  return -1;
}

#endif

char *
ov_guest_path (const struct ov_inspection *in, const char *fs_label,
               const char *fs_path)
{
  const char *mp = NULL;
  char *s, *p;
  size_t i;

  for (i = 0; i < in->nmounts; i++)
    if (strcmp (in->mounts[i].fs_label, fs_label) == 0)
      mp = in->mounts[i].mountpoint;
  if (mp == NULL)
    return NULL;
  if (strlen (mp) == 2 && mp[1] == ':') {            /* Windows drive */
    if (mp[0] < 'A' || mp[0] > 'Z')
      return NULL;              /* a db row from before the check */
    if (asprintf (&s, "%s%s", mp, fs_path) == -1)
      return NULL;
    for (p = s + 2; *p; p++)
      if (*p == '/')
        *p = '\\';
    return s;
  }
  if (mp[0] != '/')
    return NULL;                /* the guest's fstab: not a Unix path */
  if (strcmp (mp, "/") == 0)
    return strdup (fs_path);
  if (asprintf (&s, "%s%s", mp, strcmp (fs_path, "/") == 0 ? "" : fs_path) == -1)
    return NULL;
  return s;
}

char *
ov_inspection_summary (const struct ov_inspection *in)
{
  char *s;
  const char *name = in->product && in->product[0] ? in->product
    : in->distro ? in->distro : "unknown OS";
  bool host = in->hostname && in->hostname[0];

  /* Raw: product and hostname are the guest's bytes, quoted by whoever
   * prints them (the JSON/CSV writers quote every string themselves). */
  if (asprintf (&s, "%s%s%s", name, host ? ", host " : "",
                host ? in->hostname : "") == -1)
    return NULL;
  return s;
}
