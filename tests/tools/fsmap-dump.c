/* fsmap-dump — drive fsmap/ directly for the integration tests.
 *
 *   fsmap-dump [--format FMT] DISK                 list volumes, files, errors
 *   fsmap-dump [--format FMT] --extract DIR DISK   also write each file's
 *                                                  content (read through
 *                                                  ov_file_pread) to DIR/N
 *   fsmap-dump [--format FMT] --cat PATH DISK      content of the file whose
 *                                                  guest path is PATH (raw) to stdout
 *
 * Output, one record a line, guest strings through ov_quote_path:
 *   fs\tINDEX\tLABEL\tTYPE\tOFFSET\tSIZE\tBLOCK\tNOT_SCANNED_OK\tERROR
 *   file\tN\tLABEL\tINODE\tSIZE\tFLAGS\tRUNS
 *   path\tN\tPATH             (one per path of file N)
 *   meta\tN\tMODE\tUID\tGID   (MODE: permission bits, octal, 4 digits)
 *   error\tLABEL\tMESSAGE
 *   journal\tLABEL\tCOMPLETE\tBLOCKS\tSTATUS  (ext3/4 whose journal needed
 *                                             recovery: fsmap/ext_journal.h)
 * FLAGS: comma list of orphan, needs_tsk, stream=NAME.  RUNS: comma list of
 * KIND@FILE_OFFSET+LENGTH=DISK_OFFSET.
 * Exit: 0, 1 if the map could not be opened, 2 on bad usage, 3 if a file read
 * failed (the error is printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/disk.h"
#include "common/error.h"
#include "common/quote.h"
#include "fsmap/ext_journal.h"
#include "fsmap/fsmap.h"

struct dump {
  struct ov_fsmap *map;
  struct ov_disk *disk;
  const char *extract_dir;
  const char *cat_path;
  unsigned long n;
  int status;
  bool cat_found;
};

static void
print_quoted (const char *s)
{
  char *q = ov_quote_path (s);
  fputs (q ? q : "(ENOMEM)", stdout);
  free (q);
}

static int
copy_content (struct dump *d, const struct ov_file *f, int fd)
{
  static unsigned char buf[1 << 20];
  uint64_t off = 0;

  while (off < f->size) {
    ssize_t r = ov_file_pread (d->map, d->disk, f, buf, sizeof buf, off);
    if (r <= 0) {
      printf ("readerror\t%lu\t", d->n);
      print_quoted (r < 0 ? ov_last_error () : "short read");
      putchar ('\n');
      return -1;
    }
    if (write (fd, buf, (size_t) r) != r) {
      perror ("write");
      exit (2);
    }
    off += (uint64_t) r;
  }
  return 0;
}

static int
file_cb (void *opaque, struct ov_file *f)
{
  struct dump *d = opaque;
  size_t i;

  d->n++;
  if (d->cat_path) {
    for (i = 0; i < f->npaths; i++)
      if (!d->cat_found && strcmp (f->paths[i], d->cat_path) == 0) {
        d->cat_found = true;
        if (copy_content (d, f, STDOUT_FILENO) == -1)
          d->status = 3;
        break;
      }
    ov_file_free (f);
    return 0;
  }

  printf ("file\t%lu\t%s\t%" PRIu64 "\t%" PRIu64 "\t", d->n, f->fs->label,
          f->inode, f->size);
  printf ("%s%s", f->orphan ? "orphan," : "", f->needs_tsk ? "needs_tsk," : "");
  if (f->stream) {
    printf ("stream=");
    print_quoted (f->stream);
  }
  putchar ('\t');
  for (i = 0; i < f->nruns; i++)
    printf ("%s%s@%" PRIu64 "+%" PRIu64 "=%" PRIu64, i ? "," : "",
            ov_run_kind_to_string (f->runs[i].kind), f->runs[i].file_offset,
            f->runs[i].length, f->runs[i].disk_offset);
  putchar ('\n');
  printf ("meta\t%lu\t%04" PRIo32 "\t%" PRIu32 "\t%" PRIu32 "\n", d->n,
          f->mode, f->uid, f->gid);
  for (i = 0; i < f->npaths; i++) {
    printf ("path\t%lu\t", d->n);
    print_quoted (f->paths[i]);
    putchar ('\n');
  }
  if (d->extract_dir) {
    char name[4096];
    int fd;

    snprintf (name, sizeof name, "%s/%lu", d->extract_dir, d->n);
    fd = open (name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
      perror (name);
      exit (2);
    }
    if (copy_content (d, f, fd) == -1)
      d->status = 3;
    close (fd);
  }
  fflush (stdout);
  ov_file_free (f);
  return 0;
}

static void
error_cb (void *opaque, const struct ov_fs *fs, const char *message)
{
  printf ("error\t%s\t", fs ? fs->label : "");
  print_quoted (message);
  putchar ('\n');
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "format", required_argument, NULL, 'f' },
    { "extract", required_argument, NULL, 'x' },
    { "cat", required_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_disk_options options = { 0 };
  struct dump d = { 0 };
  size_t i;
  int c;

  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': options.format = optarg; break;
    case 'x': d.extract_dir = optarg; break;
    case 'c': d.cat_path = optarg; break;
    default: return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf (stderr, "usage: fsmap-dump [--format FMT] [--extract DIR | --cat PATH] DISK\n");
    return 2;
  }
  d.disk = ov_disk_open (argv[optind], &options);
  if (d.disk == NULL) {
    fprintf (stderr, "fsmap-dump: %s\n", ov_last_error ());
    return 1;
  }
  d.map = ov_fsmap_open (d.disk);
  if (d.map == NULL) {
    fprintf (stderr, "fsmap-dump: %s\n", ov_last_error ());
    ov_disk_close (d.disk);
    return 1;
  }
  for (i = 0; i < ov_fsmap_fs_count (d.map); i++) {
    struct ov_fs *fs = ov_fsmap_fs (d.map, i);
    if (!d.cat_path) {
      printf ("fs\t%u\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32 "\t%d\t",
              fs->index, fs->label, fs->type, fs->offset, fs->size,
              fs->block_size, fs->not_scanned_ok);
      print_quoted (fs->error ? fs->error : "");
      putchar ('\n');
    }
    if (!d.cat_path && fs->priv && ov_ext_journal_of (fs)) {
      const struct ov_ext_journal *j = ov_ext_journal_of (fs);
      printf ("journal\t%s\t%d\t%zu\t", fs->label, j->complete, j->n);
      print_quoted (j->status ? j->status : "");
      putchar ('\n');
    }
    if (fs->error)
      continue;
    if (ov_fsmap_walk (d.map, fs, file_cb, error_cb, &d) == -1) {
      printf ("walkerror\t%s\t", fs->label);
      print_quoted (ov_last_error ());
      putchar ('\n');
    }
  }
  ov_fsmap_close (d.map);
  ov_disk_close (d.disk);
  if (d.cat_path && !d.cat_found) {
    fprintf (stderr, "fsmap-dump: %s: not found\n", d.cat_path);
    return 1;
  }
  return d.status;
}
