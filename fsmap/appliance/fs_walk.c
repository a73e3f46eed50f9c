/* ovscan-fs-walk — runs INSIDE the libguestfs appliance (uploaded there by
 * fsmap/guestfs_session.c), never on the host.
 *
 *   ovscan-fs-walk ROOT OUT
 *
 * Walks the filesystem mounted (read-only) at ROOT without crossing into
 * other mounts or following symlinks, and writes to OUT one record per
 * regular file with its block map from the FIEMAP ioctl:
 *
 *   F ino size mode uid gid mtime mtime_ns ctime ctime_ns nlink nextents HEXPATH
 *   E logical physical length flags          (nextents lines, in order)
 *   X errno HEXPATH                          (a file or directory not read)
 *   Z files problems                         (last line: the walk finished;
 *                                             counts of F and X records)
 *
 * HEXPATH is the path below ROOT ("/" + names), every byte as two lowercase
 * hex digits, so names with newlines, spaces or any byte survive and no
 * name can forge or hide a record; it is empty for ROOT itself.  mtime and
 * ctime may be negative (before 1970).  A directory whose reading fails
 * part-way (corrupt directory blocks) gets an X record: entries after the
 * failure are not silently dropped.  The host refuses a listing without
 * its Z record, so a walk that died mid-way is never taken as complete.
 * Physical offsets are bytes from the start of the mounted block device.
 * A FIEMAP that stops making progress gives an X record (EIO), never a
 * partial map.  The host-side parser
 * (fsmap/xfs_walk.c) trusts none of this: the filesystem is the guest's.
 *
 * Statically linked (the appliance has only what supermin copied); one
 * process for the whole walk, one FIEMAP call per 256 extents.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 256
#define MAX_DEPTH 1024

static FILE *out;
static dev_t root_dev;
static unsigned long long nfiles, nproblems;

static void
put_hex (const char *path)
{
  const unsigned char *p;
  for (p = (const unsigned char *) path; *p; p++)
    fprintf (out, "%02x", *p);
  fputc ('\n', out);
}

static void
problem (int err, const char *path)
{
  fprintf (out, "X %d ", err);
  put_hex (path);
  nproblems++;
}

static void
file_record (int fd, const struct stat *st, const char *path)
{
  struct fiemap *fm;
  uint64_t start = 0;
  size_t n = 0, cap = 0;
  struct fiemap_extent *all = NULL;
  int last = 0;

  fm = calloc (1, sizeof *fm + BATCH * sizeof fm->fm_extents[0]);
  if (fm == NULL) {
    problem (ENOMEM, path);
    return;
  }
  while (!last) {
    unsigned i;
    memset (fm, 0, sizeof *fm);
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_extent_count = BATCH;
    if (ioctl (fd, FS_IOC_FIEMAP, fm) == -1) {
      problem (errno, path);
      free (fm);
      free (all);
      return;
    }
    if (fm->fm_mapped_extents == 0)
      break;
    for (i = 0; i < fm->fm_mapped_extents; i++) {
      struct fiemap_extent *e = &fm->fm_extents[i];
      if (n == cap) {
        struct fiemap_extent *v;
        cap = cap ? 2 * cap : 64;
        v = realloc (all, cap * sizeof *v);
        if (v == NULL) {
          problem (ENOMEM, path);
          free (fm);
          free (all);
          return;
        }
        all = v;
      }
      all[n++] = *e;
      if (e->fe_flags & FIEMAP_EXTENT_LAST)
        last = 1;
      start = e->fe_logical + e->fe_length;
    }
    if (!last && start <= fm->fm_start) {
      /* No progress: never loop, never list a partial map. */
      problem (EIO, path);
      free (fm);
      free (all);
      return;
    }
  }
  fprintf (out, "F %llu %lld %o %u %u %lld %ld %lld %ld %lu %zu ",
           (unsigned long long) st->st_ino, (long long) st->st_size,
           (unsigned) st->st_mode, (unsigned) st->st_uid,
           (unsigned) st->st_gid, (long long) st->st_mtim.tv_sec,
           st->st_mtim.tv_nsec, (long long) st->st_ctim.tv_sec,
           st->st_ctim.tv_nsec, (unsigned long) st->st_nlink, n);
  put_hex (path);
  nfiles++;
  for (size_t i = 0; i < n; i++)
    fprintf (out, "E %llu %llu %llu %u\n",
             (unsigned long long) all[i].fe_logical,
             (unsigned long long) all[i].fe_physical,
             (unsigned long long) all[i].fe_length, all[i].fe_flags);
  free (fm);
  free (all);
}

static void
walk (int dirfd, char *path, size_t len, size_t cap, int depth)
{
  DIR *d;
  struct dirent *de;

  if (depth > MAX_DEPTH) {
    problem (ELOOP, path);
    close (dirfd);
    return;
  }
  d = fdopendir (dirfd);
  if (d == NULL) {
    problem (errno, path);
    close (dirfd);
    return;
  }
  for (;;) {
    struct stat st;
    int fd;
    size_t nl;

    errno = 0;
    if ((de = readdir (d)) == NULL) {
      if (errno != 0)
        problem (errno, path);        /* the rest of this directory is lost */
      break;
    }
    nl = strlen (de->d_name);
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    if (len + 1 + nl + 1 > cap) {
      problem (ENAMETOOLONG, path);
      continue;
    }
    path[len] = '/';
    memcpy (path + len + 1, de->d_name, nl + 1);
    if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
      problem (errno, path);
    }
    else if (st.st_dev != root_dev)
      ;                                  /* another mount */
    else if (S_ISDIR (st.st_mode)) {
      fd = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd == -1)
        problem (errno, path);
      else
        walk (fd, path, len + 1 + nl, cap, depth + 1);
    }
    else if (S_ISREG (st.st_mode)) {
      fd = openat (dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NOATIME);
      if (fd == -1)
        fd = openat (dirfd, de->d_name, O_RDONLY | O_NOFOLLOW);
      if (fd == -1)
        problem (errno, path);
      else {
        file_record (fd, &st, path);
        close (fd);
      }
    }
    path[len] = '\0';
  }
  closedir (d);
}

int
main (int argc, char **argv)
{
  static char path[1 << 16];
  struct stat st;
  int fd;

  if (argc != 3) {
    fprintf (stderr, "usage: ovscan-fs-walk ROOT OUT\n");
    return 2;
  }
  out = fopen (argv[2], "w");
  if (out == NULL) {
    perror (argv[2]);
    return 1;
  }
  fd = open (argv[1], O_RDONLY | O_DIRECTORY);
  if (fd == -1 || fstat (fd, &st) == -1) {
    perror (argv[1]);
    return 1;
  }
  root_dev = st.st_dev;
  path[0] = '\0';
  walk (fd, path, 0, sizeof path, 0);
  fprintf (out, "Z %llu %llu\n", nfiles, nproblems);
  if (fclose (out) == EOF) {
    perror (argv[2]);
    return 1;
  }
  return 0;
}
