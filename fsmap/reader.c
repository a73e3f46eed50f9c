/* ovscan — fsmap: reading a file's content (ov_file_pread).
 *
 * Plain runs are read straight from the caller's disk handle, so workers
 * read in parallel without touching TSK; sparse and unwritten runs give
 * zeros, resident runs come from f->resident.  Files marked needs_tsk
 * (compressed, encrypted, untrusted runs) are read with tsk_fs_attr_read
 * under map->tsk_lock; the last TSK file opened is kept open so sequential
 * reads of one compressed file do not reparse its MFT entry each time.
 *
 * Blocks replayed from an ext journal (data=journal) are patched in from
 * their journal copies (fsmap/ext_journal.h), as TSK reads see them.
 *
 * Invariant relied on: f->runs satisfy ov_runs_validate (built by runs.c),
 * so every DATA run lies inside its filesystem and hence inside the disk.
 * Cost: one disk read per DATA run touched.
 */
#include "fsmap/internal.h"

#include <inttypes.h>
#include <string.h>

#include "common/error.h"
#include "common/quote.h"
#include "fsmap/ext_journal.h"

static void
name_error (const struct ov_file *f, uint64_t disk_offset)
{
  char *q = ov_quote_path (f->npaths ? f->paths[0] : "?");
  ov_error_prefix ("%s (%s): inode %" PRIu64 " \"%s\": read at disk offset %"
                   PRIu64, f->fs->label[0] ? f->fs->label : "disk",
                   f->fs->type, f->inode, q ? q : "?", disk_offset);
  free (q);
}

static ssize_t
read_through_tsk (struct ov_fsmap *map, const struct ov_file *f, void *buf,
                  size_t count, uint64_t offset)
{
  struct ov_fs_tsk *t = f->fs->priv;
  const TSK_FS_ATTR *attr;
  ssize_t r;

  pthread_mutex_lock (&map->tsk_lock);
  if (map->cached_file == NULL || map->cached_fs != f->fs
      || map->cached_inode != f->inode) {
    if (map->cached_file)
      tsk_fs_file_close (map->cached_file);
    map->cached_fs = f->fs;
    map->cached_inode = f->inode;
    tsk_error_reset ();
    map->cached_file = tsk_fs_file_open_meta (t->fs, NULL, f->inode);
    if (map->cached_file == NULL) {
      ov_error ("tsk_fs_file_open_meta: %s", ov_tsk_error ());
      pthread_mutex_unlock (&map->tsk_lock);
      return -1;
    }
  }
  tsk_error_reset ();
  attr = f->attr_type
    ? tsk_fs_file_attr_get_type (map->cached_file, f->attr_type, f->attr_id, 1)
    : tsk_fs_file_attr_get (map->cached_file);
  if (attr == NULL) {
    ov_error ("attribute 0x%x id %u not found: %s", (unsigned) f->attr_type,
              (unsigned) f->attr_id, ov_tsk_error ());
    pthread_mutex_unlock (&map->tsk_lock);
    return -1;
  }
  tsk_error_reset ();
  r = tsk_fs_attr_read (attr, (TSK_OFF_T) offset, buf, count,
                        TSK_FS_FILE_READ_FLAG_NONE);
  if (r < 0)
    ov_error ("tsk_fs_attr_read at file offset %" PRIu64 ": %s", offset,
              ov_tsk_error ());
  pthread_mutex_unlock (&map->tsk_lock);
  return r;
}

ssize_t
ov_file_pread (struct ov_fsmap *map, struct ov_disk *disk,
               const struct ov_file *f, void *buf, size_t count,
               uint64_t offset)
{
  unsigned char *out = buf;
  size_t done = 0, i;
  const struct ov_ext_journal *journal = ov_ext_journal_of (f->fs);

  if (offset >= f->size || count == 0)
    return 0;
  if (count > f->size - offset)
    count = f->size - offset;
  if (count > SSIZE_MAX)
    count = SSIZE_MAX;

  if (f->needs_tsk) {
    ssize_t r = read_through_tsk (map, f, buf, count, offset);
    if (r < 0) {
      uint64_t d = 0;
      ov_runs_map (f->runs, f->nruns, offset, &d);
      name_error (f, d);
      return -1;
    }
    /* TSK may stop short on a broken file: what it returned is the truth. */
    return r;
  }

  i = ov_runs_find (f->runs, f->nruns, offset);
  while (done < count) {
    const struct ov_run *run;
    uint64_t pos = offset + done, within;
    size_t n;

    if (i >= f->nruns || f->runs[i].file_offset > pos
        || f->runs[i].file_offset + f->runs[i].length <= pos) {
      ov_error ("no run holds file offset %" PRIu64, pos);
      name_error (f, 0);
      return -1;
    }
    run = &f->runs[i];
    within = pos - run->file_offset;
    n = count - done;
    if (n > run->length - within)
      n = run->length - within;

    switch (run->kind) {
    case OV_RUN_DATA:
      if (ov_disk_pread (disk, out + done, n, run->disk_offset + within) == -1
          || ov_ext_journal_patch (journal, disk, out + done, n,
                                   run->disk_offset + within) == -1) {
        name_error (f, run->disk_offset + within);
        return -1;
      }
      break;
    case OV_RUN_SPARSE:
    case OV_RUN_UNWRITTEN:
      memset (out + done, 0, n);
      break;
    case OV_RUN_RESIDENT:
      if (f->resident == NULL || pos + n > f->size) {
        ov_error ("resident data missing");
        name_error (f, run->disk_offset);
        return -1;
      }
      memcpy (out + done, f->resident + pos, n);
      break;
    case OV_RUN_COMPRESSED:
    default:
      ov_error ("compressed run without needs_tsk");
      name_error (f, run->disk_offset);
      return -1;
    }
    done += n;
    i++;
  }
  return (ssize_t) done;
}
