/* ovscan — one poll of one disk (see poll.h for the order of steps and why).
 *
 * Cost: a quiet poll is one qemu-img info, one qemu-nbd start and one block
 * status walk of the bitmap; nothing else.  A poll with dirty blocks walks
 * the metadata of each filesystem that holds a dirty byte (names + runs, no
 * content), makes one indexed lookup per file, and reads and scans only new
 * and modified files.  All db writes of a poll are one transaction.
 */
#include "scanner/poll.h"
#include "scanner/tracker_ops.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/extents.h"
#include "common/fault.h"
#include "common/quote.h"
#include "common/sha256.h"
#include "common/vector.h"
#include "fsmap/fsmap.h"
#include "scanner/fullscan.h"
#include "scanner/poll_targeted.h"
#include "scanner/verdict_cache.h"
#include "db/verdict_cache.h"

const char *
ov_change_to_string (enum ov_change c)
{
  switch (c) {
  case OV_CHANGE_NEW:      return "new";
  case OV_CHANGE_MODIFIED: return "modified";
  case OV_CHANGE_DELETED:  return "deleted";
  case OV_CHANGE_RENAMED:  return "renamed";
  case OV_CHANGE_METADATA: return "metadata";
  default: abort ();
  }
}

void
ov_poll_outcome_clear (struct ov_poll_outcome *o)
{
  free (o->reason);
  free (o->walked);
  memset (o, 0, sizeof *o);
}

/* What the poll decided about one walked file (ov_file.user). */
struct pending {
  int64_t old_id;              /* 0: not in the db */
  bool changed;                /* goes into this poll's dirty list */
  enum ov_change change;
  bool scan;
  /* Verdict kept from the db for files not rescanned (renamed, metadata). */
  char *old_verdict, *old_signature, *old_error, *old_sig_version;
  int64_t old_scanned_poll;
};

static void
pending_free (struct pending *p)
{
  if (p) {
    free (p->old_verdict);
    free (p->old_signature);
    free (p->old_error);
    free (p->old_sig_version);
    free (p);
  }
}

DEFINE_VECTOR (file_vector, struct ov_file *);

struct poll_ctx {
  struct ov_state *st;
  struct ov_disk_record *disk;
  const struct ov_poll_options *options;
  ov_poll_warning_cb warn;
  void *opaque;
  struct ov_poll_outcome *out;
  struct ov_poll_record poll;
  const struct ov_sigs *sigs;  /* NULL until a file needs scanning */
  bool full;
  ov_extents dirty;
  int64_t fs_id;
  file_vector files;           /* walk of the current filesystem */
  int db_failed;               /* a db write in a worker callback failed */
  char db_error[1024];
  struct ov_verdict_cache *cache;  /* 'layers' disks: cross-VM verdicts
                                      (scanner/verdict_cache.h), or NULL */
};

static void
say (struct poll_ctx *c, bool is_error, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
static void
say (struct poll_ctx *c, bool is_error, const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (c->warn)
    c->warn (c->opaque, is_error, msg);
}

/* ---- from a walked file to a db record ---- */

static void
fill_record (struct poll_ctx *c, const struct ov_file *f,
             struct ov_file_record *r)
{
  memset (r, 0, sizeof *r);
  r->key.fs_id = c->fs_id;
  r->key.inode = f->inode;
  r->key.attr_type = f->attr_type;
  r->key.attr_id = f->attr_id;
  r->size = f->size;
  r->orphan = f->orphan;
  r->generation = f->generation;
  ov_runs_digest (f->runs, f->nruns, r->runs_digest);
  ov_meta_digest (f, r->meta_digest);
  if (f->resident)
    ov_sha256 (f->resident, f->size, r->content_digest);
  r->paths = f->paths;
  r->npaths = f->npaths;
}

/* Any data-bearing run of f inside a dirty extent? */
static bool
data_is_dirty (const ov_extents *dirty, const struct ov_file *f)
{
  size_t i;
  for (i = 0; i < f->nruns; i++) {
    const struct ov_run *r = &f->runs[i];
    if (r->kind == OV_RUN_SPARSE)
      continue;
    if (ov_extents_overlaps (dirty, r->disk_offset, r->length))
      return true;
  }
  return false;
}

static char *
xstrdup_or_null (const char *s)
{
  return s ? strdup (s) : NULL;
}

static int
compare_keys (const void *a, const void *b)
{
  const struct ov_file_key *x = a, *y = b;
  if (x->inode != y->inode) return x->inode < y->inode ? -1 : 1;
  if (x->attr_type != y->attr_type) return x->attr_type < y->attr_type ? -1 : 1;
  if (x->attr_id != y->attr_id) return x->attr_id < y->attr_id ? -1 : 1;
  return 0;
}

/* The db's view of one filesystem, loaded in one sequential read and
 * searched by key; `seen` marks the ones the walk found again. */
struct known {
  struct ov_file_summary *v;
  bool *seen;
  size_t len, cap;
};

static int
known_add (void *opaque, const struct ov_file_summary *f)
{
  struct known *k = opaque;
  if (k->len == k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 1024;
    struct ov_file_summary *v = realloc (k->v, cap * sizeof *v);
    if (v == NULL) {
      ov_error ("out of memory loading the file index");
      return -1;
    }
    k->v = v;
    k->cap = cap;
  }
  k->v[k->len++] = *f;
  return 0;
}

static int
compare_summaries (const void *a, const void *b)
{
  return compare_keys (&((const struct ov_file_summary *) a)->key,
                       &((const struct ov_file_summary *) b)->key);
}

static int
compare_key_to_summary (const void *key, const void *summary)
{
  return compare_keys (key, &((const struct ov_file_summary *) summary)->key);
}

static int
known_load (struct ov_state *st, int64_t fs_id, struct known *k)
{
  if (ov_state_list_fs_summaries (st, fs_id, known_add, k) == -1)
    return -1;
  if (k->len > 1)
    qsort (k->v, k->len, sizeof k->v[0], compare_summaries);
  k->seen = calloc (k->len ? k->len : 1, sizeof *k->seen);
  if (k->seen == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

static void
known_free (struct known *k)
{
  free (k->v);
  free (k->seen);
  memset (k, 0, sizeof *k);
}

/* Keep the verdict of a file that is not rescanned (renamed, metadata). */
static int
load_old_verdict (struct poll_ctx *c, const struct ov_file_key *key,
                  struct pending *p)
{
  struct ov_file_record old;
  int r = ov_state_get_file (c->st, key, &old);
  if (r != 0)
    return r == 1 ? 0 : -1;
  p->old_verdict = xstrdup_or_null (old.verdict);
  p->old_signature = xstrdup_or_null (old.signature);
  p->old_error = xstrdup_or_null (old.error);
  p->old_sig_version = xstrdup_or_null (old.sig_version);
  p->old_scanned_poll = old.scanned_poll;
  return 0;
}

/* List one known file as deleted (its paths loaded from the db).  The row
 * itself is replaced or removed by the caller. */
static int
record_deleted_one (struct poll_ctx *c, const struct ov_fs *fs,
                    const struct ov_file_key *key)
{
  struct ov_file_record r;
  struct ov_poll_file pf = { 0 };
  int found = ov_state_get_file (c->st, key, &r);

  if (found != 0)
    return found == 1 ? 0 : -1;
  pf.path = r.npaths ? r.paths[0] : "";
  pf.fs_label = fs->label;
  pf.inode = r.key.inode;
  pf.size = r.size;
  pf.change = "deleted";
  pf.verdict = "none";
  return ov_state_add_poll_file (c->st, c->poll.id, &pf);
}

/* Decide what happened to a walked file, comparing with the db. */
static int
classify (struct poll_ctx *c, struct known *known, struct ov_file *f,
          struct pending *p)
{
  struct ov_file_record now;
  const struct ov_file_summary *old;
  uint8_t paths_digest[32];

  fill_record (c, f, &now);
  old = known->len == 0 ? NULL
        : bsearch (&now.key, known->v, known->len, sizeof known->v[0],
                   compare_key_to_summary);
  if (old == NULL) {
    p->changed = true;
    p->change = OV_CHANGE_NEW;
    p->scan = true;
    return 0;
  }
  known->seen[old - known->v] = true;
  if (old->generation != now.generation) {
    /* The inode number was freed and given to another file: the old file
     * is deleted (listed now, with its paths) and this one is new. */
    if (record_deleted_one (c, f->fs, &old->key) == -1)
      return -1;
    p->changed = true;
    p->change = OV_CHANGE_NEW;
    p->scan = true;
    return 0;
  }
  p->old_id = old->id;
  ov_paths_digest (f->paths, f->npaths, paths_digest);

  if (now.size != old->size || memcmp (now.runs_digest, old->runs_digest, 32) != 0)
    p->change = OV_CHANGE_MODIFIED, p->changed = true;
  else if (f->resident
           ? memcmp (now.content_digest, old->content_digest, 32) != 0
           : data_is_dirty (&c->dirty, f))
    p->change = OV_CHANGE_MODIFIED, p->changed = true;
  else if (memcmp (paths_digest, old->paths_digest, 32) != 0)
    p->change = OV_CHANGE_RENAMED, p->changed = true;
  else if (memcmp (now.meta_digest, old->meta_digest, 32) != 0)
    p->change = OV_CHANGE_METADATA, p->changed = true;

  /* A file whose last scan failed is retried whenever its fs is walked.
   * An empty file with other paths may be a new empty file in a reused
   * inode (nothing else tells them apart: no data block, same runs):
   * scanning it costs nothing, so it is scanned. */
  p->scan = (p->changed && p->change == OV_CHANGE_MODIFIED) || c->full
            || old->last_scan_failed
            || (p->changed && p->change == OV_CHANGE_RENAMED && now.size == 0);
  if (!p->scan && p->changed)
    return load_old_verdict (c, &now.key, p);
  return 0;
}

/* ---- db writes ---- */

static int
store_file (struct poll_ctx *c, const struct ov_file *f, const struct pending *p,
            const struct ov_scan_result *res)
{
  struct ov_file_record r;
  struct ov_poll_file pf = { 0 };

  fill_record (c, f, &r);
  r.changed_poll = c->poll.id;
  if (res) {
    r.verdict = ov_verdict_to_string (res->verdict);
    r.signature = res->verdict == OV_VERDICT_INFECTED ? res->signature : NULL;
    r.error = res->error;
    r.scanned_poll = c->poll.id;
    r.sig_version = c->sigs ? c->sigs->version : NULL;
  }
  else {
    r.verdict = p->old_verdict;
    r.signature = p->old_signature;
    r.error = p->old_error;
    r.scanned_poll = p->old_scanned_poll;
    r.sig_version = p->old_sig_version;
  }
  if (ov_state_put_file (c->st, &r, f->runs, f->nruns) == -1)
    return -1;
  if (!p->changed)
    return 0;
  pf.path = f->paths[0];
  pf.fs_label = f->fs->label;
  pf.inode = f->inode;
  pf.size = f->size;
  pf.change = ov_change_to_string (p->change);
  pf.verdict = res ? ov_verdict_to_string (res->verdict) : "none";
  pf.signature = res && res->verdict == OV_VERDICT_INFECTED ? res->signature : NULL;
  pf.error = res ? res->error : NULL;
  return ov_state_add_poll_file (c->st, c->poll.id, &pf);
}

static void
count_result (struct poll_ctx *c, const struct ov_file *f,
              const struct ov_scan_result *res)
{
  c->out->files_scanned++;
  c->poll.bytes_scanned += res->bytes_read;
  if (res->verdict == OV_VERDICT_INFECTED)
    c->out->infected++;
  else if (res->verdict == OV_VERDICT_ERROR) {
    CLEANUP_FREE char *q = ov_quote_path (f->paths[0]);
    c->out->errors++;
    say (c, true, "%s: ERROR: %s", q ? q : "?", res->error ? res->error : "scan failed");
  }
}

/* The verdict cache's db side: a new digest's verdict is stored, a hit
 * counted (in the poll's transaction). */
static int
remember_verdict (struct poll_ctx *c, const struct ov_scan_result *res)
{
  const char *version;

  if (c->cache == NULL || !res->has_digest)
    return 0;
  version = ov_verdict_cache_version (c->cache);
  if (res->cached)
    return ov_state_verdict_cache_hit (c->st, res->digest, version);
  if (res->verdict != OV_VERDICT_CLEAN && res->verdict != OV_VERDICT_INFECTED)
    return 0;
  return ov_state_verdict_cache_put (c->st, res->digest, version,
                                     ov_verdict_to_string (res->verdict),
                                     res->verdict == OV_VERDICT_INFECTED
                                     ? res->signature : NULL);
}

static int
cache_entry (void *opaque, const uint8_t digest[32], const char *verdict,
             const char *signature)
{
  bool infected = verdict && strcmp (verdict, "infected") == 0;
  ov_verdict_cache_add (opaque, digest,
                        infected ? OV_VERDICT_INFECTED : OV_VERDICT_CLEAN, signature);
  return 0;
}

/* 'layers' disks (copy-on-write fleets) share verdicts by content: the
 * cache of the engine's signature version AND scan limits (a "clean" given
 * to an archive cut short by a small --max-scansize must not stand for a
 * later scan with larger limits), loaded once per poll.  A failure only
 * means no cache. */
static void
load_verdict_cache (struct poll_ctx *c)
{
  char key[1024];

  if (c->cache || strcmp (c->disk->tracker, "layers") != 0 || c->sigs == NULL)
    return;
  snprintf (key, sizeof key, "%s; max-filesize %" PRIu64 "; max-scansize %" PRIu64,
            c->sigs->version, c->options->limits.max_filesize,
            c->options->limits.max_scansize);
  if ((c->cache = ov_verdict_cache_new (key)) == NULL)
    return;
  if (ov_state_verdict_cache_load (c->st, key, cache_entry, c->cache) == -1) {
    say (c, false, "verdict cache not used: %s", ov_last_error ());
    ov_verdict_cache_free (c->cache);
    c->cache = NULL;
  }
}

/* Pool callback: serialised by the pool; the main thread is waiting in
 * ov_pool_submit/finish and does not touch the db meanwhile. */
static void
scanned_cb (void *opaque, const struct ov_file *f,
            const struct ov_scan_result *res)
{
  struct poll_ctx *c = opaque;
  struct pending *p = f->user;

  count_result (c, f, res);
  ov_fault_point ("during-scan");
  if (!c->db_failed && (store_file (c, f, p, res) == -1 ||
                        remember_verdict (c, res) == -1)) {
    c->db_failed = 1;
    snprintf (c->db_error, sizeof c->db_error, "%s", ov_last_error ());
  }
  pending_free (p);
}

/* ---- deleted files ---- */

/* Known files the walk did not see: deleted (their paths are loaded only
 * now, for the dirty list). */
static int
record_deleted (struct poll_ctx *c, const struct ov_fs *fs,
                const struct known *known)
{
  size_t i;

  for (i = 0; i < known->len; i++) {
    if (known->seen[i])
      continue;
    if (record_deleted_one (c, fs, &known->v[i].key) == -1 ||
        ov_state_delete_file (c->st, known->v[i].id) == -1)
      return -1;
  }
  return 0;
}

/* ---- one filesystem ---- */

static int
collect_file (void *opaque, struct ov_file *f)
{
  struct poll_ctx *c = opaque;
  if (file_vector_append (&c->files, f) == -1) {
    ov_file_free (f);
    return -1;
  }
  return 0;
}

static void
walk_problem (void *opaque, const struct ov_fs *fs, const char *message)
{
  struct poll_ctx *c = opaque;
  CLEANUP_FREE char *q = ov_quote_path (message);
  c->out->errors++;
  say (c, true, "%s", q ? q : message);
}

/* "p1 (ext4, 0.412 s)" for a walk; "p1 (ext4, targeted, 0.031 s)" or
 * "p1 (ext4, full walk: WHY, 0.412 s)" when the targeted path was tried
 * (poll_targeted.h); the seconds are the metadata pass's. */
static void
append_walked (struct poll_ctx *c, const struct ov_fs *fs, const char *how,
               double seconds)
{
  size_t n = c->out->walked ? strlen (c->out->walked) : 0;
  size_t add = strlen (fs->label) + strlen (fs->type) + 64
    + (how ? strlen (how) : 0);
  char *w = realloc (c->out->walked, n + add);
  if (w == NULL)
    return;
  snprintf (w + n, add, "%s%s (%s%s%s, %.3f s)", n ? ", " : "",
            fs->label[0] ? fs->label : "disk", fs->type, how ? ", " : "",
            how ? how : "", seconds);
  c->out->walked = w;
}

/* Targeted pass done: its candidates are the walked files, and a known file
 * whose inode it did not examine is unchanged (seen). */
static int
take_targeted (struct poll_ctx *c, struct ov_targeted *tg, struct known *known)
{
  size_t i;

  for (i = 0; i < known->len; i++)
    known->seen[i] = !ov_targeted_examined (tg, known->v[i].key.inode);
  for (i = 0; i < tg->res.nfiles; i++) {
    if (file_vector_append (&c->files, tg->res.files[i]) == -1)
      return -1;
    tg->res.files[i] = NULL;
  }
  return 0;
}

static int
poll_filesystem (struct poll_ctx *c, struct ov_fsmap *map, struct ov_disk *disk,
                 struct ov_fs *fs)
{
  struct ov_fs_record fr = {
    .disk_id = c->disk->id, .label = fs->label, .offset = fs->offset,
    .size = fs->size, .type = fs->type, .identity = fs->identity,
  };
  struct ov_pool *pool = NULL;
  struct known known = { 0 };
  struct ov_targeted tg = { 0 };
  double metadata_start;
  bool changed = false, fs_full;
  size_t i;
  int ret = -1;

  if (ov_state_put_fs (c->st, &fr, &changed) == -1)
    return -1;
  c->fs_id = fr.id;
  fs_full = c->full || changed;
  if (changed) {
    say (c, false, "%s: the filesystem changed (reformatted?): every file is read again",
           fs->label[0] ? fs->label : "disk");
    if (ov_state_clear_fs_files (c->st, fr.id) == -1)
      return -1;
  }
  /* No dirty byte in this filesystem: its metadata is not even read. */
  if (!fs_full && ov_extents_total_in (&c->dirty, fs->offset, fs->size) == 0)
    return 0;

  c->files.len = 0;
  if (known_load (c->st, c->fs_id, &known) == -1)
    goto out;
  /* Metadata: ext2/3/4 re-reads only what the dirty blocks hold when it
   * can explain every dirty byte (scanner/poll_targeted.c); otherwise, and
   * for every other filesystem, the full walk. */
  metadata_start = ov_unix_seconds ();
  if (ov_targeted_run (c->st, c->fs_id, map, fs, &c->dirty, fs_full,
                       known.v, known.len, &tg) == -1)
    goto out;
  if (tg.used) {
    append_walked (c, fs, "targeted", ov_unix_seconds () - metadata_start);
    if (take_targeted (c, &tg, &known) == -1)
      goto out;
  }
  else {
    CLEANUP_FREE char *how = NULL;
    if (tg.why_walk && asprintf (&how, "full walk: %s", tg.why_walk) == -1)
      how = NULL;
    if (ov_targeted_walk (c->st, c->fs_id, map, fs, &tg, collect_file,
                          walk_problem, c) == -1) {
      CLEANUP_FREE char *q = ov_quote_path (ov_last_error ());
      c->out->errors++;
      say (c, true, "%s: walk stopped: %s", fs->label[0] ? fs->label : "disk", q ? q : "");
    }
    append_walked (c, fs, how, ov_unix_seconds () - metadata_start);
  }

  /* Classify every walked (or targeted) file against the db. */
  for (i = 0; i < c->files.len; i++) {
    struct ov_file *f = c->files.ptr[i];
    struct pending *p = calloc (1, sizeof *p);
    if (p == NULL) {
      ov_error ("out of memory");
      goto out;
    }
    f->user = p;
    if (classify (c, &known, f, p) == -1)
      goto out;
  }
  if (record_deleted (c, fs, &known) == -1)
    goto out;

  /* Files not rescanned: store what changed (paths, metadata) now. */
  for (i = 0; i < c->files.len; i++) {
    struct ov_file *f = c->files.ptr[i];
    struct pending *p = f->user;
    if (p->scan)
      continue;
    if (p->changed && store_file (c, f, p, NULL) == -1)
      goto out;
  }

  /* Scan the rest; results are stored by scanned_cb. */
  for (i = 0; i < c->files.len; i++) {
    struct ov_file *f = c->files.ptr[i];
    struct pending *p = f->user;
    if (!p->scan)
      continue;
    if (c->options->nexcludes &&
        ov_file_excluded (f, c->options->excludes, c->options->nexcludes)) {
      struct ov_scan_result skipped = {
        .verdict = OV_VERDICT_SKIPPED, .error = (char *) "excluded by --exclude",
      };
      if (store_file (c, f, p, &skipped) == -1)
        goto out;
      continue;
    }
    if (pool == NULL) {
      struct ov_scan_limits limits = c->options->limits;
      if (c->sigs == NULL && (c->sigs = ov_engine_get (c->options->engine)) == NULL)
        goto out;
      load_verdict_cache (c);
      limits.verdict_cache = c->cache;
      pool = ov_pool_start (c->options->workers, c->sigs->engine,
                            &limits, map, disk, scanned_cb, c);
      if (pool == NULL)
        goto out;
    }
    c->files.ptr[i] = NULL;      /* the pool owns it now */
    ov_pool_submit (pool, f);
  }
  if (pool) {
    ov_pool_finish (pool);
    pool = NULL;
  }
  if (c->db_failed) {
    ov_error ("%s", c->db_error);
    goto out;
  }
  ret = 0;
 out:
  known_free (&known);
  ov_targeted_clear (&tg);
  if (pool)
    ov_pool_finish (pool);
  for (i = 0; i < c->files.len; i++) {
    if (c->files.ptr[i]) {
      pending_free (c->files.ptr[i]->user);
      ov_file_free (c->files.ptr[i]);
    }
  }
  c->files.len = 0;
  return ret;
}

/* ---- the poll ---- */

static int
record_poll (struct poll_ctx *c)
{
  c->poll.finished = ov_unix_seconds ();
  c->poll.files_scanned = c->out->files_scanned;
  c->poll.infected = c->out->infected;
  c->poll.errors = c->out->errors;
  c->poll.dirty_bytes = c->out->dirty_bytes;
  c->poll.sig_version = c->sigs ? c->sigs->version : NULL;
  c->poll.status = c->out->errors ? "errors" : "ok";
  return ov_state_update_poll (c->st, &c->poll);
}

static const char *
tracker_used (const struct ov_tracker_run *run)
{
  return run->used ? run->used : run->ops->name;
}

/* Nothing was written: one poll row, nothing else changes. */
static int
record_quiet_poll (struct poll_ctx *c, struct ov_tracker_run *run, double start)
{
  if (ov_state_begin (c->st) == -1)
    return -1;
  c->poll = (struct ov_poll_record) {
    .disk_id = c->disk->id, .started = start, .mode = "incremental",
    .tracker = tracker_used (run), .status = "ok",
  };
  if (ov_state_add_poll (c->st, &c->poll) == -1 || record_poll (c) == -1 ||
      ov_state_commit (c->st) == -1) {
    ov_state_rollback (c->st);
    return -1;
  }
  c->out->poll_id = c->poll.id;
  c->out->mode = "incremental";
  return 0;
}

/* Every filesystem of the view, inside the poll's transaction. */
static int
poll_filesystems (struct poll_ctx *c, struct ov_fsmap *map, struct ov_disk *d)
{
  size_t i, n = ov_fsmap_fs_count (map);

  if (n == 0) {
    c->out->errors++;
    say (c, true, "no partition table or filesystem found on the disk");
  }
  for (i = 0; i < n; i++) {
    struct ov_fs *fs = ov_fsmap_fs (map, i);
    if (fs->error) {
      if (!fs->not_scanned_ok) {
        CLEANUP_FREE char *q = ov_quote_path (fs->error);
        c->out->errors++;
        say (c, true, "not scanned: %s", q ? q : fs->error);
      }
      continue;
    }
    if (poll_filesystem (c, map, d, fs) == -1)
      return -1;
  }
  return 0;
}

int
ov_poll_disk (struct ov_state *st, struct ov_disk_record *disk,
              const struct ov_poll_options *options,
              ov_poll_warning_cb warn, void *opaque,
              struct ov_poll_outcome *out)
{
  struct poll_ctx c = {
    .st = st, .disk = disk, .options = options, .warn = warn,
    .opaque = opaque, .out = out, .dirty = VECTOR_INIT, .files = VECTOR_INIT,
  };
  struct ov_tracker_run run = {
    .disk = disk, .force_full = options->force_full,
  };
  struct ov_disk *d = NULL;
  struct ov_fsmap *map = NULL;
  bool in_transaction = false, armed = false;
  double start = ov_unix_seconds ();
  const char *reason = NULL;
  char reason_buf[256];
  int ret = -1;

  memset (out, 0, sizeof *out);
  if ((run.ops = ov_tracker_for (disk)) == NULL)
    goto out;
  if (run.ops->prepare (&run) == -1)
    goto out;
  ov_fault_point ("after-prepare");
  reason = run.full_reason;
  if (reason == NULL && disk->size == 0)
    reason = "first poll";
  if (reason == NULL && options->force_full)
    reason = "--full was given";
  c.full = reason != NULL;

  /* Quiet check: nothing dirty -> record the poll and stop. */
  if (!c.full) {
    int quiet = run.ops->quiet (&run);
    if (quiet == -1)
      goto out;
    if (quiet == 1) {
      ret = record_quiet_poll (&c, &run, start);
      goto out;
    }
  }

  /* Arm the successor before reading: every later write lands in it. */
  if (run.ops->arm (&run) == -1)
    goto out;
  armed = true;
  ov_fault_point ("after-arm");
  if ((d = run.ops->open_view (&run, c.full)) == NULL)
    goto out;
  if (!c.full) {
    if (run.ops->read_dirty (&run, d, &c.dirty) == -1)
      goto out;
    out->dirty_bytes = ov_extents_total (&c.dirty);
  }
  if (disk->size && ov_disk_size (d) != disk->size && !c.full) {
    snprintf (reason_buf, sizeof reason_buf,
              "the disk size changed from %" PRIu64 " to %" PRIu64 " bytes",
              disk->size, ov_disk_size (d));
    reason = reason_buf;
    c.full = true;
  }
  if (c.full)
    out->dirty_bytes = ov_disk_size (d);
  if ((map = ov_fsmap_open (d)) == NULL) {
    ov_error_prefix ("%s", disk->image);
    goto out;
  }
  /* A mounted ext3/4's copy: the blocks its replayed journal holds count as
   * dirty (their view changes without their home bytes being written). */
  if (!c.full && ov_fsmap_journal_dirty (map, &c.dirty) == -1)
    goto out;

  if (reason == NULL)
    reason = run.note;           /* why the tracker took its path, if it says */
  if (ov_state_begin (st) == -1)
    goto out;
  in_transaction = true;
  c.poll = (struct ov_poll_record) {
    .disk_id = disk->id, .started = start,
    .mode = c.full ? "full" : "incremental", .tracker = tracker_used (&run),
    .reason = reason, .status = "ok",
  };
  if (ov_state_add_poll (st, &c.poll) == -1 ||
      poll_filesystems (&c, map, d) == -1 ||
      record_poll (&c) == -1 ||
      run.ops->commit_state (&run) == -1)
    goto out;
  disk->size = ov_disk_size (d);
  ov_fault_point ("before-commit");
  if (ov_state_update_disk_tracker (st, disk) == -1 || ov_state_commit (st) == -1)
    goto out;
  ov_fault_point ("after-commit");
  in_transaction = false;
  armed = false;
  out->poll_id = c.poll.id;
  out->mode = c.poll.mode;
  out->reason = reason ? strdup (reason) : NULL;

  /* Committed: what covered this poll has done its job (our views must be
   * gone first: qemu-nbd holds the image's lock). */
  ov_fsmap_close (map);
  map = NULL;
  ov_disk_close (d);
  d = NULL;
  if (run.ops->finish (&run) == -1)
    say (&c, false, "could not drop the previous tracker state (the next poll "
         "cleans it up): %s", ov_last_error ());
  ret = 0;

 out:
  if (ret == -1) {
    char saved[4096];
    snprintf (saved, sizeof saved, "%s", ov_last_error ());
    if (in_transaction)
      ov_state_rollback (st);
    /* Not committed: undo arm; what was frozen still covers every write.
     * Our own views must be gone first, or the image is locked. */
    if (map) {
      ov_fsmap_close (map);
      map = NULL;
    }
    if (d) {
      ov_disk_close (d);
      d = NULL;
    }
    if (armed)
      run.ops->abort (&run);
    ov_poll_outcome_clear (out);      /* the caller gets nothing to free */
    ov_error ("%s", saved);
  }
  out->seconds = ov_unix_seconds () - start;
  if (run.ops)
    run.ops->release (&run);
  free (run.full_reason);
  free (run.note);
  ov_extents_reset (&c.dirty);
  file_vector_reset (&c.files);
  ov_verdict_cache_free (c.cache);
  return ret;
}
