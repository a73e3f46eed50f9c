/* ovscan — backing-chain discovery and validation (see cow.h).
 *
 * ovscan follows the chain itself, one `qemu-img info` (no --backing-chain)
 * per image: qemu then never opens a backing file, so a missing base, a loop
 * or a moved file is reported by ovscan with the names of both images
 * instead of qemu's generic "Could not open backing file".  Every image is
 * stat()ed: a loop is an image whose (dev, inode) was seen already, however
 * it is spelled.
 *
 * Invariants of a chain returned: 1 <= len <= OV_COW_MAX_CHAIN; layers[0] is
 * TOP (qcow2); every layer's virtual size equals TOP's; own layers form a
 * prefix with strictly decreasing numbers after TOP; base_index < len.
 *
 * A running VM's chain is read with force-share (-U): QEMU holds TOP's
 * lock, and its frozen layers after a rotation.
 *
 * Cost: one qemu-img process per image (~15 ms each).
 */
#include "cow/cow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/qemu_img.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "cow/internal.h"

int
ov_cow_stat_path (const char *path, struct ov_cow_stat *out)
{
  struct stat sb;

  if (stat (path, &sb) == -1) {
    ov_error_errno (errno, "%s", path);
    return -1;
  }
  out->dev = sb.st_dev;
  out->ino = sb.st_ino;
  out->size = sb.st_size;
  out->mtime_ns = (int64_t) sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  out->ctime_ns = (int64_t) sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
  return 0;
}

bool
ov_cow_stat_equal (const struct ov_cow_stat *a, const struct ov_cow_stat *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
    a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

void
ov_cow_chain_free (struct ov_cow_chain *c)
{
  size_t i;

  for (i = 0; i < c->len; i++) {
    free (c->layers[i].path);
    free (c->layers[i].format);
    free (c->layers[i].backing);
  }
  free (c->layers);
  memset (c, 0, sizeof *c);
}

char *
ov_cow_layer_path (const char *top, unsigned n)
{
  char *p;
  if (asprintf (&p, "%s.layer-%u", top, n) == -1) {
    ov_error ("out of memory");
    return NULL;
  }
  return p;
}

long
ov_cow_own_number (const char *top, const char *path)
{
  size_t tl = strlen (top);
  const char *s;
  char *end;
  unsigned long n;

  if (strcmp (top, path) == 0)
    return 0;
  if (strncmp (top, path, tl) != 0 || strncmp (path + tl, ".layer-", 7) != 0)
    return -1;
  s = path + tl + 7;
  if (*s < '1' || *s > '9')
    return -1;
  errno = 0;
  n = strtoul (s, &end, 10);
  if (errno || *end != '\0' || n > UINT32_MAX)
    return -1;
  return (long) n;
}

unsigned
ov_cow_newest_number (const struct ov_cow_chain *c)
{
  unsigned n = 0;
  size_t i;

  for (i = 0; i < c->base_index; i++)
    if (c->layers[i].number > n)
      n = c->layers[i].number;
  return n;
}

/* Previous layer's name for messages. */
static const char *
above (const struct ov_cow_chain *c)
{
  return c->len ? c->layers[c->len - 1].path : "?";
}

static int
check_new_layer (const struct ov_cow_chain *c, const char *top,
                 const char *path, const struct ov_cow_stat *sb,
                 long *number)
{
  size_t i;

  for (i = 0; i < c->len; i++)
    if (c->layers[i].stat.dev == sb->dev && c->layers[i].stat.ino == sb->ino) {
      ov_error ("%s: backing chain loop: %s is backed by %s, which is the same "
                "file as %s higher in the chain", top, above (c), path,
                c->layers[i].path);
      return -1;
    }
  if (c->len >= OV_COW_MAX_CHAIN) {
    ov_error ("%s: backing chain longer than %d images", top, OV_COW_MAX_CHAIN);
    return -1;
  }
  *number = ov_cow_own_number (top, path);
  if (c->len > 0 && *number == 0) {
    ov_error ("%s: backing chain loop: %s is backed by the top image itself",
              top, above (c));
    return -1;
  }
  if (*number > 0) {
    bool in_own_prefix = c->len > 0 && c->layers[c->len - 1].own;
    if (!in_own_prefix ||
        (c->len > 1 && (unsigned long) *number >= c->layers[c->len - 1].number)) {
      ov_error ("%s: own layer %s found where it cannot be (below the base, or "
                "out of order under %s): the chain was edited by hand?",
                top, path, above (c));
      return -1;
    }
  }
  return 0;
}

static int
append_layer (struct ov_cow_chain *c, const char *path, const char *format,
              const struct ov_image_info *info, const struct ov_cow_stat *sb,
              long number)
{
  struct ov_cow_layer *v = realloc (c->layers, (c->len + 1) * sizeof *v);
  struct ov_cow_layer *l;

  if (v == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  c->layers = v;
  l = &v[c->len];
  memset (l, 0, sizeof *l);
  l->path = strdup (path);
  l->format = strdup (format);
  l->backing = info->backing_filename ? strdup (info->backing_filename) : NULL;
  if (l->path == NULL || l->format == NULL ||
      (info->backing_filename && l->backing == NULL)) {
    free (l->path);
    free (l->format);
    free (l->backing);
    ov_error ("out of memory");
    return -1;
  }
  l->virtual_size = info->virtual_size;
  l->stat = *sb;
  l->own = number >= 0;
  l->number = number > 0 ? (unsigned) number : 0;
  c->len++;
  return 0;
}

/* qemu-img info -U (force-share) of an image a running VM holds. */
int
ov_cow_info_shared (const char *image, const char *format,
                    struct ov_image_info *info)
{
  const char *args[] = { "info", "-U", "-f", format, "--output=json", "--",
                         image, NULL };
  struct ov_qemu_img_result r;
  int ret = -1;

  memset (info, 0, sizeof *info);
  if (ov_qemu_img_run (args, 0, &r) == -1)
    return -1;
  if (r.status != 0) {
    CLEANUP_FREE char *q = ov_quote_path (r.err ? r.err : "");
    ov_error ("%s: qemu-img info -U failed: %s", image, q ? q : "");
  }
  else
    ret = ov_image_info_parse (r.out, r.out_len, image, info);
  ov_qemu_img_result_free (&r);
  return ret;
}

static int discover (const char *top, struct ov_cow_chain *c, bool shared);

int
ov_cow_chain_discover (const char *top, struct ov_cow_chain *c)
{
  return discover (top, c, false);
}

int
ov_cow_chain_discover_shared (const char *top, struct ov_cow_chain *c)
{
  return discover (top, c, true);
}

static int
discover (const char *top, struct ov_cow_chain *c, bool shared)
{
  char *path = NULL, *format = NULL;
  bool base_seen = false;
  int ret = -1;

  memset (c, 0, sizeof *c);
  if (top[0] != '/') {
    ov_error ("%s: the top image must be an absolute path", top);
    return -1;
  }
  path = strdup (top);
  format = strdup ("qcow2");
  if (path == NULL || format == NULL) {
    ov_error ("out of memory");
    goto out;
  }
  for (;;) {
    struct ov_image_info info;
    struct ov_cow_stat sb;
    long number;

    if (ov_cow_stat_path (path, &sb) == -1) {
      if (c->len == 0)
        ov_error_prefix ("VM disk");
      else
        ov_error ("%s: backing file %s of %s is missing (moved or deleted?): "
                  "put it back at that path, or rebase the overlay with "
                  "'qemu-img rebase -u -b NEWPATH -F FMT %s'", top, path,
                  above (c), above (c));
      goto out;
    }
    if (check_new_layer (c, top, path, &sb, &number) == -1)
      goto out;
    if ((shared ? ov_cow_info_shared (path, format, &info)
         : ov_qemu_img_info (path, format, &info)) == -1)
      goto out;
    if (info.corrupt) {
      ov_error ("%s: %s is marked corrupt by qemu (qemu-img check -r all)",
                top, path);
      ov_image_info_free (&info);
      goto out;
    }
    if (c->len > 0 && info.virtual_size != c->layers[0].virtual_size) {
      ov_error ("%s: size mismatch: %s is %" PRIu64 " bytes but %s above it is "
                "%" PRIu64 " bytes: not a base of this disk", top, path,
                info.virtual_size, above (c), c->layers[0].virtual_size);
      ov_image_info_free (&info);
      goto out;
    }
    if (append_layer (c, path, format, &info, &sb, number) == -1) {
      ov_image_info_free (&info);
      goto out;
    }
    if (number < 0 && !base_seen) {
      base_seen = true;
      c->base_index = c->len - 1;
    }
    free (path);
    free (format);
    path = format = NULL;
    if (info.backing_filename == NULL) {
      ov_image_info_free (&info);
      break;
    }
    if (info.backing_format == NULL) {
      ov_error ("%s: %s names backing file %s without its format: ovscan does "
                "not probe formats (set it: qemu-img rebase -u -b %s -F FMT %s)",
                top, above (c), info.backing_filename, info.backing_filename,
                above (c));
      ov_image_info_free (&info);
      goto out;
    }
    if (info.full_backing_filename == NULL ||
        info.full_backing_filename[0] != '/') {
      ov_error ("%s: %s has backing file '%s', which is not a local file",
                top, above (c), info.backing_filename);
      ov_image_info_free (&info);
      goto out;
    }
    /* Canonical: "/d/./x" and symlinks are spelled one way, so that own
     * layers and bases compare by name. */
    path = realpath (info.full_backing_filename, NULL);
    if (path == NULL && errno != ENOENT) {
      ov_error_errno (errno, "%s: backing file %s", top, info.full_backing_filename);
      ov_image_info_free (&info);
      goto out;
    }
    if (path == NULL)
      path = strdup (info.full_backing_filename);
    format = strdup (info.backing_format);
    ov_image_info_free (&info);
    if (path == NULL || format == NULL) {
      ov_error ("out of memory");
      goto out;
    }
  }
  if (!base_seen) {
    ov_error ("%s: no base image: the disk is not an overlay (its chain "
              "holds only its own layers); use --tracker bitmap", top);
    goto out;
  }
  ret = 0;
 out:
  free (path);
  free (format);
  if (ret == -1)
    ov_cow_chain_free (c);
  return ret;
}

int
ov_cow_own_bytes (const struct ov_cow_chain *c, uint64_t *bytes)
{
  size_t i;

  *bytes = 0;
  for (i = 0; i < c->len && c->layers[i].own; i++) {
    struct stat sb;
    if (stat (c->layers[i].path, &sb) == -1) {
      ov_error_errno (errno, "%s", c->layers[i].path);
      return -1;
    }
    *bytes += (uint64_t) sb.st_blocks * 512;
  }
  return 0;
}
