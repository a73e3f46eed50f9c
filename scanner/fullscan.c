/* ovscan — the full scan of one disk (see fullscan.h).
 *
 * Cost: one metadata walk per filesystem (all file records are held in
 * memory for that filesystem: ~200 bytes + paths + runs per file), then every
 * byte of every regular file is read once, in disk order, by the workers.
 */
#include "scanner/fullscan.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/vector.h"

DEFINE_VECTOR (file_vector, struct ov_file *);

struct run_state {
  const struct ov_fullscan_options *options;
  const struct ov_fullscan_events *events;
  struct ov_fullscan_summary *summary;
  pthread_mutex_t lock;                /* serialises events + summary */
  file_vector files;                   /* the walk of the current fs */
  uint64_t walk_bytes;
};

bool
ov_path_excluded (const char *path, const char *const *globs, size_t nglobs)
{
  const char *relative = path;
  const char *colon;
  size_t i;

  /* "p2:/etc/x" -> "/etc/x"; a partitionless path starts with '/'. */
  if (path[0] != '/' && (colon = strchr (path, ':')) != NULL)
    relative = colon + 1;
  for (i = 0; i < nglobs; i++) {
    if (fnmatch (globs[i], path, 0) == 0)
      return true;
    if (relative != path && fnmatch (globs[i], relative, 0) == 0)
      return true;
  }
  return false;
}

bool
ov_file_excluded (const struct ov_file *f, const char *const *globs, size_t nglobs)
{
  size_t i;
  for (i = 0; i < f->npaths; i++)
    if (ov_path_excluded (f->paths[i], globs, nglobs))
      return true;
  return false;
}

static void
report_error (struct run_state *st, const struct ov_fs *fs, const char *msg)
{
  pthread_mutex_lock (&st->lock);
  st->summary->walk_errors++;
  if (st->events->on_error)
    st->events->on_error (st->events->opaque, fs, msg);
  pthread_mutex_unlock (&st->lock);
}

static void
walk_error_cb (void *opaque, const struct ov_fs *fs, const char *message)
{
  report_error (opaque, fs, message);
}

static int
walk_file_cb (void *opaque, struct ov_file *f)
{
  struct run_state *st = opaque;

  if (file_vector_append (&st->files, f) == -1) {
    ov_file_free (f);
    return -1;
  }
  st->walk_bytes += f->size;
  return 0;
}

static void
result_cb (void *opaque, const struct ov_file *f,
           const struct ov_scan_result *result)
{
  struct run_state *st = opaque;
  struct ov_fullscan_summary *s = st->summary;

  pthread_mutex_lock (&st->lock);
  switch (result->verdict) {
  case OV_VERDICT_CLEAN:    s->files++; break;
  case OV_VERDICT_INFECTED: s->files++; s->infected++; break;
  case OV_VERDICT_ERROR:    s->files++; s->errors++; break;
  case OV_VERDICT_SKIPPED:  s->skipped++; break;
  }
  s->bytes += result->bytes_read;
  if (st->events->on_result)
    st->events->on_result (st->events->opaque, f, result);
  pthread_mutex_unlock (&st->lock);
}

/* Sort key: where the file's data starts on the disk (files with no disk
 * data first), so the workers read the image roughly front to back. */
static uint64_t
first_disk_offset (const struct ov_file *f)
{
  size_t i;
  for (i = 0; i < f->nruns; i++)
    if (f->runs[i].kind != OV_RUN_SPARSE)
      return f->runs[i].disk_offset;
  return 0;
}

static int
compare_disk_order (const void *a, const void *b)
{
  uint64_t x = first_disk_offset (*(struct ov_file *const *) a);
  uint64_t y = first_disk_offset (*(struct ov_file *const *) b);
  return x < y ? -1 : x > y;
}

/* Excluded files never reach the pool; they are reported as skipped. */
static bool
is_excluded (const struct ov_fullscan_options *o, const struct ov_file *f)
{
  return ov_file_excluded (f, o->excludes, o->nexcludes);
}

static void
report_excluded (struct run_state *st, struct ov_file *f)
{
  struct ov_scan_result r = { .verdict = OV_VERDICT_SKIPPED };
  r.error = strdup ("excluded by --exclude");
  result_cb (st, f, &r);
  ov_scan_result_clear (&r);
  ov_file_free (f);
}

static int
scan_filesystem (struct run_state *st, struct ov_fsmap *map,
                 struct ov_disk *disk, const struct ov_sigs *sigs,
                 struct ov_fs *fs)
{
  const struct ov_fullscan_options *o = st->options;
  struct ov_pool *pool;
  size_t i;

  st->files.len = 0;
  st->walk_bytes = 0;
  if (ov_fsmap_walk (map, fs, walk_file_cb, walk_error_cb, st) == -1) {
    ov_error_prefix ("%s", fs->label[0] ? fs->label : "filesystem");
    report_error (st, fs, ov_last_error ());
    /* Files already found are still scanned below. */
  }
  if (st->files.len > 1)
    qsort (st->files.ptr, st->files.len, sizeof st->files.ptr[0],
           compare_disk_order);
  if (st->events->on_walked)
    st->events->on_walked (st->events->opaque, fs, st->files.len,
                           st->walk_bytes);

  pool = ov_pool_start (o->workers, sigs->engine, &o->limits, map, disk,
                        result_cb, st);
  if (pool == NULL) {
    for (i = 0; i < st->files.len; i++)
      ov_file_free (st->files.ptr[i]);
    st->files.len = 0;
    return -1;
  }
  for (i = 0; i < st->files.len; i++) {
    struct ov_file *f = st->files.ptr[i];
    st->files.ptr[i] = NULL;
    if (o->nexcludes && is_excluded (o, f))
      report_excluded (st, f);
    else
      ov_pool_submit (pool, f);
  }
  st->files.len = 0;
  ov_pool_finish (pool);
  return 0;
}

int
ov_fullscan_run (const struct ov_fullscan_options *o,
                 const struct ov_fullscan_events *events,
                 struct ov_fullscan_summary *summary)
{
  struct run_state st = {
    .options = o, .events = events, .summary = summary,
    .lock = PTHREAD_MUTEX_INITIALIZER, .files = VECTOR_INIT,
  };
  struct ov_sigs sigs = { 0 };
  struct ov_disk *disk = NULL;
  struct ov_fsmap *map = NULL;
  double start = ov_monotonic_seconds ();
  size_t i, n;
  int ret = -1;

  memset (summary, 0, sizeof *summary);
  disk = ov_disk_open (o->target, &o->disk);
  if (disk == NULL)
    goto out;
  map = ov_fsmap_open (disk);
  if (map == NULL) {
    ov_error_prefix ("%s", o->target);
    goto out;
  }
  if (ov_sigs_load (o->sigs, &sigs) == -1)
    goto out;
  if (events->on_signatures)
    events->on_signatures (events->opaque, &sigs);

  n = ov_fsmap_fs_count (map);
  if (n == 0) {
    /* Never a run that silently scans nothing. */
    summary->volume_errors++;
    if (events->on_error)
      events->on_error (events->opaque, NULL,
                        "no partition table or filesystem found on the disk");
  }
  for (i = 0; i < n; i++) {
    struct ov_fs *fs = ov_fsmap_fs (map, i);

    if (events->on_filesystem)
      events->on_filesystem (events->opaque, fs);
    if (fs->error) {
      if (!fs->not_scanned_ok)
        summary->volume_errors++;
      continue;
    }
    summary->filesystems++;
    if (scan_filesystem (&st, map, disk, &sigs, fs) == -1)
      goto out;
  }
  ret = 0;
 out:
  summary->seconds = ov_monotonic_seconds () - start;
  file_vector_reset (&st.files);
  if (map)
    ov_fsmap_close (map);
  if (disk)
    ov_disk_close (disk);
  ov_sigs_free (&sigs);
  return ret;
}
