/* ovscan — layer rotation, merge-down and their crash recovery (cow.h).
 *
 * Rotation (freeze TOP as TOP.layer-N, new empty TOP over it):
 *   1. link (TOP, TOP.layer-N)          both names: the same inode
 *   2. qemu-img create TOP.ovscan-new -b ./TOP.layer-N -F qcow2, fsync,
 *      owner and mode copied from TOP
 *   3. rename (TOP.ovscan-new, TOP)     atomic: TOP is the new layer
 *   (the directory is fsync'ed after 1 and 3)
 * Before 3, TOP is untouched and TOP.layer-N is a second name of it; after
 * 3, TOP is the new layer over the frozen one.  At no instant does TOP name
 * something other than a complete image reading the same bytes.
 *
 * Merge-down of the two lowest own layers A (on the base) and B (on A),
 * X being the layer backed by B:
 *   1. qemu-img commit -d B             B's clusters copied into A; B kept
 *   2. qemu-img rebase -u -b ./A X      X now backed by A (a header write)
 *   3. unlink B
 * After 1, A under B reads as B did (B still shadows what it holds), so the
 * chain reads the same after every step; only layers a committed poll
 * already covered are merged, and never into the base.
 *
 * Recovery (ov_cow_recover, before any poll): TOP.ovscan-new is removed; a
 * TOP.layer-N with TOP's inode (rotation stopped before 3) is unlinked; an
 * own layer no chain references (merge stopped before 3) is unlinked.
 *
 * Rotated layers use extended L2 entries (128 KiB clusters, 4 KiB
 * subclusters): block status then reports writes at 4 KiB, so a small file
 * write does not make its 64 KiB neighbourhood dirty.
 *
 * Cost: a rotation is one qemu-img create (~20 ms) and two directory
 * fsyncs; a merge is one qemu-img commit (proportional to the merged
 * layer's allocated bytes) and one rebase.
 */
#include "cow/cow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/qemu_img.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fault.h"
#include "common/quote.h"
#include "cow/internal.h"

char *
ov_cow_dir_of (const char *path)
{
  char *copy = strdup (path), *d;
  if (copy == NULL) {
    ov_error ("out of memory");
    return NULL;
  }
  d = strdup (dirname (copy));
  free (copy);
  if (d == NULL)
    ov_error ("out of memory");
  return d;
}

/* "./NAME" for a backing-file string relative to the overlay's directory
 * (never read as a protocol such as "nbd:" or "json:"). */
char *
ov_cow_relative_backing (const char *path)
{
  const char *slash = strrchr (path, '/');
  char *s;
  if (asprintf (&s, "./%s", slash ? slash + 1 : path) == -1) {
    ov_error ("out of memory");
    return NULL;
  }
  return s;
}

int
ov_cow_fsync_dir_of (const char *path)
{
  CLEANUP_FREE char *d = ov_cow_dir_of (path);
  int fd, r;

  if (d == NULL)
    return -1;
  if ((fd = open (d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
    ov_error_errno (errno, "%s: open directory", d);
    return -1;
  }
  r = fsync (fd);
  close (fd);
  if (r == -1) {
    ov_error_errno (errno, "%s: fsync", d);
    return -1;
  }
  return 0;
}

int
ov_cow_qemu_img (const char *image, const char *const *args)
{
  struct ov_qemu_img_result r;

  if (ov_qemu_img_run (args, 600, &r) == -1)
    return -1;
  if (r.status != 0) {
    CLEANUP_FREE char *q = ov_quote_path (r.err ? r.err : "");
    if (ov_qemu_img_lock_failed (r.err ? r.err : ""))
      ov_error ("%s: in use by another process (shut the VM down before "
                "ovscan rotates its layers): %s", image, q ? q : "");
    else
      ov_error ("%s: qemu-img %s failed: %s", image, args[0], q ? q : "");
    ov_qemu_img_result_free (&r);
    return -1;
  }
  ov_qemu_img_result_free (&r);
  return 0;
}

char *
ov_cow_temp_top (const char *top)
{
  char *s;
  if (asprintf (&s, "%s.ovscan-new", top) == -1) {
    ov_error ("out of memory");
    return NULL;
  }
  return s;
}

int
ov_cow_fsync_file (const char *path)
{
  int fd = open (path, O_RDWR | O_CLOEXEC), r;
  if (fd == -1) {
    ov_error_errno (errno, "%s: open", path);
    return -1;
  }
  r = fsync (fd);
  close (fd);
  if (r == -1) {
    ov_error_errno (errno, "%s: fsync", path);
    return -1;
  }
  return 0;
}

int
ov_cow_rotate (const char *top, unsigned n)
{
  CLEANUP_FREE char *frozen = ov_cow_layer_path (top, n);
  CLEANUP_FREE char *tmp = ov_cow_temp_top (top);
  CLEANUP_FREE char *backing = frozen ? ov_cow_relative_backing (frozen) : NULL;
  struct stat sb;

  if (frozen == NULL || tmp == NULL || backing == NULL)
    return -1;
  if (stat (top, &sb) == -1) {
    ov_error_errno (errno, "%s", top);
    return -1;
  }
  if (unlink (tmp) == -1 && errno != ENOENT) {
    ov_error_errno (errno, "%s: unlink", tmp);
    return -1;
  }
  if (link (top, frozen) == -1) {
    ov_error_errno (errno, "%s: freeze as %s", top, frozen);
    return -1;
  }
  if (ov_cow_fsync_dir_of (top) == -1)
    goto fail;
  ov_fault_point ("rotate-after-link");
  {
    const char *args[] = { "create", "-q", "-f", "qcow2",
                           "-o", "extended_l2=on,cluster_size=128k",
                           "-b", backing, "-F", "qcow2", "--", tmp, NULL };
    if (ov_cow_qemu_img (top, args) == -1)
      goto fail;
  }
  if (chmod (tmp, sb.st_mode & 07777) == -1 ||
      chown (tmp, sb.st_uid, sb.st_gid) == -1) {
    ov_error_errno (errno, "%s: copy owner and mode of %s", tmp, top);
    goto fail;
  }
  if (ov_cow_fsync_file (tmp) == -1)
    goto fail;
  ov_fault_point ("rotate-before-rename");
  if (rename (tmp, top) == -1) {
    ov_error_errno (errno, "%s: rename to %s", tmp, top);
    goto fail;
  }
  if (ov_cow_fsync_dir_of (top) == -1)
    return -1;                  /* renamed: the rotation is done */
  return 0;
 fail:                          /* only after the link */
  unlink (tmp);
  unlink (frozen);
  return -1;
}

/* Own layers TOP.layer-N present in TOP's directory: calls cb with each
 * path. */
static int
each_own_layer_file (const char *top, int (*cb) (void *, const char *),
                     void *opaque)
{
  CLEANUP_FREE char *d = ov_cow_dir_of (top);
  const char *base = strrchr (top, '/');
  DIR *dir;
  struct dirent *e;
  int ret = 0;

  if (d == NULL)
    return -1;
  base = base ? base + 1 : top;
  if ((dir = opendir (d)) == NULL) {
    ov_error_errno (errno, "%s: opendir", d);
    return -1;
  }
  while ((e = readdir (dir)) != NULL) {
    CLEANUP_FREE char *p = NULL;
    if (strncmp (e->d_name, base, strlen (base)) != 0)
      continue;
    if (asprintf (&p, "%s/%s", d, e->d_name) == -1) {
      ov_error ("out of memory");
      ret = -1;
      break;
    }
    if (ov_cow_own_number (top, p) > 0 && cb (opaque, p) == -1) {
      ret = -1;
      break;
    }
  }
  closedir (dir);
  return ret;
}

struct recover_ctx {
  const char *top;
  struct stat top_sb;
  const struct ov_cow_chain *chain;   /* NULL in the first pass */
  bool changed;
};

static int
drop_if_stale (void *opaque, const char *path)
{
  struct recover_ctx *r = opaque;
  struct stat sb;
  size_t i;

  if (stat (path, &sb) == -1)
    return 0;
  if (r->chain == NULL) {
    /* First pass: a second name of TOP = a rotation stopped before its
     * rename; TOP itself is the untouched layer. */
    if (sb.st_dev != r->top_sb.st_dev || sb.st_ino != r->top_sb.st_ino)
      return 0;
  }
  else {
    for (i = 0; i < r->chain->len; i++)
      if (strcmp (r->chain->layers[i].path, path) == 0)
        return 0;
  }
  if (unlink (path) == -1) {
    ov_error_errno (errno, "%s: unlink stale layer", path);
    return -1;
  }
  r->changed = true;
  return 0;
}

int
ov_cow_recover (const char *top, bool *changed)
{
  return ov_cow_recover_files (top, false, changed, NULL);
}

int
ov_cow_recover_files (const char *top, bool shared, bool *changed,
                      struct ov_cow_chain *chain_out)
{
  CLEANUP_FREE char *tmp = ov_cow_temp_top (top);
  struct recover_ctx r = { .top = top };
  struct ov_cow_chain chain;

  *changed = false;
  if (tmp == NULL)
    return -1;
  if (unlink (tmp) == 0)
    r.changed = true;
  else if (errno != ENOENT) {
    ov_error_errno (errno, "%s: unlink", tmp);
    return -1;
  }
  if (stat (top, &r.top_sb) == -1) {
    ov_error_errno (errno, "%s", top);
    return -1;
  }
  if (each_own_layer_file (top, drop_if_stale, &r) == -1)
    return -1;
  /* Second pass: own layers the chain no longer references (a merge that
   * stopped before its unlink).  Only with a valid chain: otherwise the
   * chain's own error is what the caller reports, and nothing is removed
   * (with CHAIN_OUT: that error is returned). */
  if ((shared ? ov_cow_chain_discover_shared (top, &chain)
       : ov_cow_chain_discover (top, &chain)) == 0) {
    r.chain = &chain;
    if (each_own_layer_file (top, drop_if_stale, &r) == -1) {
      ov_cow_chain_free (&chain);
      return -1;
    }
  }
  else if (chain_out)
    return -1;
  if (r.changed && ov_cow_fsync_dir_of (top) == -1) {
    if (r.chain)
      ov_cow_chain_free (&chain);
    return -1;
  }
  *changed = r.changed;
  if (chain_out)               /* what is left references no dropped file */
    *chain_out = chain;
  else if (r.chain)
    ov_cow_chain_free (&chain);
  return 0;
}

int
ov_cow_merge_down (const char *top, uint64_t covered, unsigned max_layers,
                   unsigned *merged)
{
  *merged = 0;
  if (max_layers < OV_COW_MIN_MAX_LAYERS)
    max_layers = OV_COW_MIN_MAX_LAYERS;
  for (;;) {
    struct ov_cow_chain c;
    const struct ov_cow_layer *a, *b, *x;
    CLEANUP_FREE char *backing = NULL;
    CLEANUP_FREE char *b_path = NULL;
    int ok = -1;

    if (ov_cow_chain_discover (top, &c) == -1)
      return -1;
    if (c.base_index <= max_layers || c.base_index < 3) {
      ov_cow_chain_free (&c);
      return 0;
    }
    a = &c.layers[c.base_index - 1];
    b = &c.layers[c.base_index - 2];
    x = &c.layers[c.base_index - 3];
    if (a->number > covered || b->number > covered) {
      ov_cow_chain_free (&c);    /* not covered yet: the next poll's job */
      return 0;
    }
    backing = ov_cow_relative_backing (a->path);
    b_path = strdup (b->path);
    if (backing && b_path) {
      const char *commit[] = { "commit", "-q", "-d", "-f", "qcow2", "--",
                               b->path, NULL };
      const char *rebase[] = { "rebase", "-u", "-f", "qcow2", "-b", backing,
                               "-F", "qcow2", "--", x->path, NULL };
      if (ov_cow_qemu_img (b->path, commit) == 0) {
        ov_fault_point ("merge-after-commit");
        if (ov_cow_qemu_img (x->path, rebase) == 0) {
          ov_fault_point ("merge-after-rebase");
          ok = 0;
        }
      }
    }
    else
      ov_error ("out of memory");
    ov_cow_chain_free (&c);
    if (ok == -1)
      return -1;
    if (unlink (b_path) == -1) {
      ov_error_errno (errno, "%s: unlink merged layer", b_path);
      return -1;
    }
    if (ov_cow_fsync_dir_of (top) == -1)
      return -1;
    (*merged)++;
  }
}
