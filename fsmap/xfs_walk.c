/* ovscan — fsmap: walking a filesystem TSK cannot read (XFS) through the
 * libguestfs appliance (fsmap/appliance.h).
 *
 * The appliance mounts the filesystem read-only and lists every regular
 * file with its FIEMAP block map (fsmap/appliance/fs_walk.c); here that
 * listing is turned into struct ov_file: paths "LABEL:/path", runs with
 * ABSOLUTE disk offsets (fs->offset + the physical byte FIEMAP gives
 * relative to the filesystem's loop device), holes as OV_RUN_SPARSE,
 * unwritten (preallocated) extents as OV_RUN_UNWRITTEN.  Content is then
 * read host-side through the disk source like any other file: the
 * appliance never reads file data for ovscan.
 *
 * Trust: the listing describes a guest filesystem, so every number is
 * parsed with bounds (sizes <= OV_MAX_FILE_SIZE, extents <= OV_MAX_RUNS,
 * path <= OV_MAX_PATH), runs must lie inside the filesystem's byte range
 * (ov_runs_validate), and a file whose extents carry flags we cannot read
 * host-side (encoded, inline, unknown location, delayed allocation) is
 * reported and skipped.  Hard links (same inode) become one ov_file with
 * several paths.  Files no directory names (orphans) are not found.
 *
 * Injection: a guest name is arbitrary bytes but travels as HEXPATH (two
 * lowercase hex digits per byte, NUL refused, must start with '/'), so no
 * name can end a record, start another, or hide one.  A listing without
 * its final "Z files problems" record (walker killed, output truncated) or
 * whose counts disagree with the records read is refused as a whole: no
 * file may silently go missing.  Guest-reachable oddities (a file larger
 * than OV_MAX_FILE_SIZE, more than OV_MAX_RUNS extents, pre-1970 times)
 * skip or clamp that one file, never the whole filesystem.  Names in
 * messages are quoted (common/quote.h).
 * Cost: the appliance walk (one mount, one pass) + O(files) memory here.
 */
#include "fsmap/internal.h"
#include "fsmap/appliance.h"
#include "fsmap/xfs_listing.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/quote.h"
#include "common/vector.h"

DEFINE_VECTOR (file_vector, struct ov_file *);

struct xwalk {
  struct ov_fs *fs;
  ov_fsmap_error_cb error_cb;
  void *opaque;
  const char *listing;
  unsigned long line;
};

static void
problem (struct xwalk *x, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
problem (struct xwalk *x, const char *fmt, ...)
{
  char msg[1024], *full = NULL;
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (asprintf (&full, "%s (%s) at disk offset %" PRIu64 ": %s",
                x->fs->label[0] ? x->fs->label : "disk", x->fs->type,
                x->fs->offset, msg) == -1)
    full = NULL;
  if (x->error_cb)
    x->error_cb (x->opaque, x->fs, full ? full : msg);
  free (full);
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode HEXPATH (ends at NUL or newline) into a malloc'd string; NULL if
 * malformed, empty, holding a NUL byte, or longer than OV_MAX_PATH. */
static char *
unhex (const char *s)
{
  size_t n = strcspn (s, "\n"), i;
  char *p;

  if (n == 0 || n % 2 || n / 2 > OV_MAX_PATH)
    return NULL;
  p = malloc (n / 2 + 1);
  if (p == NULL)
    return NULL;
  for (i = 0; i < n / 2; i++) {
    int hi = hexval (s[2 * i]), lo = hexval (s[2 * i + 1]);
    if (hi < 0 || lo < 0 || (hi | lo) == 0) {
      free (p);
      return NULL;
    }
    p[i] = (char) (hi << 4 | lo);
  }
  p[n / 2] = '\0';
  if (p[0] != '/') {
    free (p);
    return NULL;
  }
  return p;
}

/* Parse n unsigned fields in `base` separated by single spaces; returns a
 * pointer after the last one's space, or NULL. */
static const char *
fields_base (const char *s, unsigned long long *v, size_t n, int base)
{
  size_t i;

  for (i = 0; i < n; i++) {
    char *end;
    if (*s < '0' || *s > '9')
      return NULL;
    errno = 0;
    v[i] = strtoull (s, &end, base);
    if (errno || *end != ' ')
      return NULL;
    s = end + 1;
  }
  return s;
}

static const char *
fields (const char *s, unsigned long long *v, size_t n)
{
  return fields_base (s, v, n, 10);
}

/* One signed decimal field followed by a space (a time: XFS keeps times
 * before 1970); returns a pointer after the space, or NULL. */
static const char *
signed_field (const char *s, long long *v)
{
  char *end;

  if (*s != '-' && (*s < '0' || *s > '9'))
    return NULL;
  if (*s == '-' && (s[1] < '0' || s[1] > '9'))
    return NULL;
  errno = 0;
  *v = strtoll (s, &end, 10);
  if (errno || *end != ' ')
    return NULL;
  return end + 1;
}

/* "ino size mode uid gid mtime mtime_ns ctime ctime_ns nlink nextents "
 * into v[11] (v[5] and v[7], the times, in t[0] and t[1]; mode in octal,
 * as the walker prints st_mode); NULL if malformed, else a pointer to
 * HEXPATH. */
static const char *
file_fields (const char *s, unsigned long long *v, long long *t)
{
  if ((s = fields (s, v, 2)) == NULL || (s = fields_base (s, v + 2, 1, 8)) == NULL
      || (s = fields (s, v + 3, 2)) == NULL || (s = signed_field (s, &t[0])) == NULL
      || (s = fields (s, v + 6, 1)) == NULL
      || (s = signed_field (s, &t[1])) == NULL)
    return NULL;
  v[5] = v[7] = 0;
  return fields (s, v + 8, 3);
}

/* Message helper: the quoted path, or "?" when out of memory. */
static void
problem_path (struct xwalk *x, const char *path, unsigned long long ino,
              const char *why)
{
  char *q = ov_quote_path (path);
  problem (x, "inode %llu \"%s\": %s: not scanned", ino, q ? q : "?", why);
  free (q);
}

#define BAD_FLAGS (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC \
                   | FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_ENCRYPTED \
                   | FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL \
                   | FIEMAP_EXTENT_NOT_ALIGNED)

/* Read one "F" record's extents; 0 with *f filled, 1 skipped (reported),
 * -1 ENOMEM or a truncated listing. */
static int
read_file (struct xwalk *x, FILE *fp, const char *rec, char **line,
           size_t *cap, struct ov_file **out)
{
  unsigned long long v[11];
  long long t[2];
  const char *hex = file_fields (rec, v, t);
  struct ov_runlist l = { 0 };
  struct ov_file *f = NULL;
  char *path = NULL;
  unsigned long long i;
  const char *why = NULL;
  uint64_t size, lo = x->fs->offset, hi = x->fs->offset + x->fs->size;

  *out = NULL;
  if (hex == NULL || (path = unhex (hex)) == NULL) {
    ov_error ("%s line %lu: malformed file record", x->listing, x->line);
    free (path);
    return -1;
  }
  size = v[1];
  /* Guest-reachable (a sparse 5 EiB file, a file fragmented past 2^20
   * extents): this file is reported, the others still scanned. */
  if (size > OV_MAX_FILE_SIZE)
    why = "larger than ovscan reads (4 EiB)";
  else if (v[10] > OV_MAX_RUNS)
    why = "more extents than ovscan maps";
  for (i = 0; i < v[10]; i++) {
    unsigned long long e[3];
    const char *rest;
    char *end;
    unsigned long flags;

    if (getline (line, cap, fp) == -1 || (*line)[0] != 'E' || (*line)[1] != ' ') {
      ov_error ("%s line %lu: missing extent record", x->listing, x->line);
      goto fail;
    }
    x->line++;
    rest = fields (*line + 2, e, 3);
    if (rest == NULL)
      goto malformed;
    errno = 0;
    flags = strtoul (rest, &end, 10);
    if (errno || (*end != '\n' && *end != '\0'))
      goto malformed;
    if (why)
      continue;                  /* skipping this file: consume its lines */
    if (flags & BAD_FLAGS) {
      why = "an extent cannot be read from the disk (encoded, inline or"
        " unknown location)";
      continue;
    }
    if (e[2] == 0 || e[0] > OV_MAX_FILE_SIZE || e[2] > OV_MAX_FILE_SIZE - e[0]
        || e[1] > x->fs->size || e[2] > x->fs->size - e[1]) {
      why = "an extent lies outside the filesystem";
      continue;
    }
    if (e[0] < ov_runlist_end (&l)) {
      why = "extents overlap or are out of order";
      continue;
    }
    if (e[0] >= size)
      continue;                  /* preallocated past the end of file */
    if (e[0] > ov_runlist_end (&l)
        && ov_runlist_append (&l, OV_RUN_SPARSE, ov_runlist_end (&l), 0,
                              e[0] - ov_runlist_end (&l)) == -1)
      goto fail;
    if (ov_runlist_append (&l, (flags & FIEMAP_EXTENT_UNWRITTEN)
                           ? OV_RUN_UNWRITTEN : OV_RUN_DATA,
                           e[0], x->fs->offset + e[1], e[2]) == -1)
      goto fail;
  }
  if (why) {
    problem_path (x, path, v[0], why);
    free (path);
    free (l.runs);
    return 1;
  }
  ov_runlist_truncate (&l, size);
  if (ov_runlist_end (&l) < size
      && ov_runlist_append (&l, OV_RUN_SPARSE, ov_runlist_end (&l), 0,
                            size - ov_runlist_end (&l)) == -1)
    goto fail;
  if (ov_runs_validate (l.runs, l.nruns, size, lo, hi) == -1) {
    problem_path (x, path, v[0], ov_last_error ());
    free (path);
    free (l.runs);
    return 1;
  }
  f = calloc (1, sizeof *f);
  if (f == NULL || (f->paths = malloc (sizeof *f->paths)) == NULL)
    goto nomem;
  f->fs = x->fs;
  f->inode = v[0];
  f->size = size;
  f->mode = (uint32_t) (v[2] & 07777);
  f->uid = (uint32_t) v[3];
  f->gid = (uint32_t) v[4];
  f->mtime = (int64_t) t[0];
  f->mtime_nsec = (uint32_t) (v[6] % 1000000000u);
  f->ctime = (int64_t) t[1];
  f->ctime_nsec = (uint32_t) (v[8] % 1000000000u);
  if ((f->paths[0] = ov_path_full (x->fs->label, path, NULL)) == NULL)
    goto nomem;
  f->npaths = 1;
  f->runs = l.runs;
  f->nruns = l.nruns;
  free (path);
  *out = f;
  return 0;
 malformed:
  ov_error ("%s line %lu: malformed extent record", x->listing, x->line);
  goto fail;
 nomem:
  ov_error_errno (ENOMEM, "XFS listing");
 fail:
  free (path);
  free (l.runs);
  ov_file_free (f);
  return -1;
}

static int
add_path (struct ov_file *f, const struct ov_file *other)
{
  char **v = realloc (f->paths, (f->npaths + 1) * sizeof *v);
  if (v == NULL)
    return -1;
  f->paths = v;
  f->paths[f->npaths++] = other->paths[0];
  return 0;
}

/* Parse the listing; hard links merged; files delivered in listing order. */
static int
parse_listing (struct xwalk *x, ov_file_cb file_cb)
{
  FILE *fp = fopen (x->listing, "r");
  file_vector files = VECTOR_INIT;
  struct ov_inode_map by_inode = { 0 };
  char *line = NULL;
  size_t cap = 0, i;
  ssize_t n;
  int ret = -1;
  unsigned long long nfile_records = 0, nproblem_records = 0;
  bool complete = false;

  if (fp == NULL) {
    ov_error_errno (errno, "%s", x->listing);
    return -1;
  }
  while ((n = getline (&line, &cap, fp)) != -1) {
    struct ov_file *f;
    uint64_t idx;
    int r;

    x->line++;
    if (n > 2 * (ssize_t) OV_MAX_PATH + 256) {
      ov_error ("%s line %lu: too long", x->listing, x->line);
      goto out;
    }
    if (complete || (size_t) n != strlen (line) || line[n - 1] != '\n') {
      ov_error ("%s line %lu: %s", x->listing, x->line,
                complete ? "records after the end of the listing"
                : "truncated or holding a NUL byte");
      goto out;
    }
    if (line[0] == 'Z' && line[1] == ' ') {
      unsigned long long z[2];
      const char *rest = fields (line + 2, z, 1);
      char *end;
      if (rest == NULL || (errno = 0, z[1] = strtoull (rest, &end, 10), errno)
          || *end != '\n' || *rest < '0' || *rest > '9'
          || z[0] != nfile_records || z[1] != nproblem_records) {
        ov_error ("%s line %lu: end record disagrees with the %llu file and"
                  " %llu problem records read", x->listing, x->line,
                  nfile_records, nproblem_records);
        goto out;
      }
      complete = true;
      continue;
    }
    if (line[0] == 'X' && line[1] == ' ') {
      char *path, *quoted = NULL, *sp = strchr (line + 2, ' ');
      int err = atoi (line + 2);
      path = sp ? unhex (sp + 1) : NULL;
      /* An X record whose path is "/" + nothing is the root directory. */
      if (path == NULL && sp && sp[1] == '\n')
        path = strdup ("/");
      if (path)
        quoted = ov_quote_path (path);
      problem (x, "\"%s\": not read in the appliance: %s",
               quoted ? quoted : "?",
               strerror (err > 0 && err < 4096 ? err : EIO));
      free (quoted);
      free (path);
      nproblem_records++;
      continue;
    }
    if (line[0] != 'F' || line[1] != ' ') {
      ov_error ("%s line %lu: unexpected record", x->listing, x->line);
      goto out;
    }
    nfile_records++;
    r = read_file (x, fp, line + 2, &line, &cap, &f);
    if (r == -1)
      goto out;
    if (r == 1)
      continue;
    if (ov_inode_map_get (&by_inode, f->inode, &idx) == 0) {
      if (add_path (files.ptr[idx], f) == -1) {
        ov_file_free (f);
        ov_error_errno (ENOMEM, "XFS listing");
        goto out;
      }
      f->npaths = 0;             /* its path moved */
      ov_file_free (f);
      continue;
    }
    if (ov_inode_map_put (&by_inode, f->inode, files.len) == -1
        || file_vector_append (&files, f) == -1) {
      ov_file_free (f);
      goto out;
    }
  }
  if (ferror (fp)) {
    ov_error_errno (errno, "%s", x->listing);
    goto out;
  }
  if (!complete) {
    ov_error ("%s: the listing has no end record (the walk in the appliance"
              " stopped early): files may be missing", x->listing);
    goto out;
  }
  ret = 0;
  for (i = 0; i < files.len; i++) {
    struct ov_file *f = files.ptr[i];
    files.ptr[i] = NULL;
    ov_paths_sort (f->paths, f->npaths);
    if (ret == 0 && file_cb (x->opaque, f) == -1)
      ret = -1;
    else if (ret == -1)
      ov_file_free (f);
  }
 out:
  for (i = 0; i < files.len; i++)
    ov_file_free (files.ptr[i]);
  free (files.ptr);
  ov_inode_map_free (&by_inode);
  free (line);
  fclose (fp);
  return ret;
}

int
ov_xfs_listing_parse (struct ov_fs *fs, const char *listing,
                      ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                      void *opaque)
{
  struct xwalk x = { .fs = fs, .error_cb = error_cb, .opaque = opaque,
                     .listing = listing };
  return parse_listing (&x, file_cb);
}

bool
ov_fs_uses_appliance (const struct ov_fs *fs)
{
  return fs->error == NULL && fs->priv == NULL && strcmp (fs->type, "xfs") == 0;
}

int
ov_appliance_fs_walk (struct ov_fsmap *map, struct ov_fs *fs,
                      ov_file_cb file_cb, ov_fsmap_error_cb error_cb,
                      void *opaque)
{
  struct xwalk x = { .fs = fs, .error_cb = error_cb, .opaque = opaque };
  char *listing = NULL;
  int r;

  if (ov_appliance_walk (ov_disk_label (map->disk), map->disk->format,
                         ov_disk_size (map->disk), fs->offset, fs->size,
                         fs->type, &listing) == -1) {
    ov_error_prefix ("%s (%s)", fs->label[0] ? fs->label : "disk", fs->type);
    return -1;
  }
  x.listing = listing;
  r = parse_listing (&x, file_cb);
  if (r == -1)
    ov_error_prefix ("%s (%s)", fs->label[0] ? fs->label : "disk", fs->type);
  unlink (listing);
  free (listing);
  return r;
}
