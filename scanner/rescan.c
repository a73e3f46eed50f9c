/* ovscan — the rolling rescan (see rescan.h for the steps and their cost).
 *
 * Invariants: the rescan never writes a guest disk, never touches a
 * tracker, and stores a verdict only for a file row that still has the size
 * and runs it had when selected (ov_coverage_store checks), so a poll that
 * ran in between always wins.  A file the walk finds changed (other
 * generation, size or runs than the db) is left stale: its blocks are dirty
 * in the tracker and the next poll scans it.
 */
#include "scanner/rescan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/units.h"
#include "common/vector.h"
#include "db/coverage.h"
#include "db/detections.h"
#include "db/fleet_inherit.h"
#include "fsmap/fsmap.h"

int
ov_rescan_parse_budget (const char *arg, struct ov_rescan_budget *b)
{
  memset (b, 0, sizeof *b);
  /* A duration needs its unit: a bare number ("90") is a size. */
  if (arg && arg[strspn (arg, "0123456789.")] != '\0'
      && ov_parse_duration (arg, &b->seconds) == 0)
    return 0;
  if (ov_parse_size (arg, &b->bytes) == 0 && b->bytes > 0)
    return 0;
  ov_error ("invalid --rescan-budget '%s' (expected a size such as 500M or 2G, "
            "or a duration such as 90s, 10m or 1h)", arg ? arg : "");
  return -1;
}

/* One selected stale file; `found` is the walked file while it waits for
 * the scan. */
struct pick {
  struct ov_stale_file stale;
  struct ov_file *found;
  /* Result (filled by the pool callback). */
  bool scanned;
  enum ov_verdict verdict;
  char *signature, *error, *path, *fs_label;
  uint64_t bytes_read;
  bool known;                  /* infected: already a present detection */
};
DEFINE_VECTOR (pick_vector, struct pick);
DEFINE_VECTOR (pick_ptr_vector, struct pick *);

/* A fleet VM's inherited file that took an infected verdict from its base
 * (db/fleet_inherit.h), reported after the commit. */
struct inherited_find {
  int64_t poll_id;
  char *disk, *image, *fs_label, *path, *signature;
  uint64_t inode, size;
  bool known;                  /* already a present detection */
};
DEFINE_VECTOR (inherited_vector, struct inherited_find);

/* What the rescan needs of a registered disk (its own copies). */
struct rdisk {
  int64_t id, last_poll;
  char *name, *image, *format;
  bool running;                /* a running VM's disk (QMP): image in use */
  bool is_base;                /* a fleet's shared base (tracker 'base') */
  bool done;                   /* rescanned (or skipped) in this run */
};
DEFINE_VECTOR (rdisk_vector, struct rdisk);

struct rescan {
  struct ov_state *st;
  const struct ov_rescan_options *o;
  struct ov_rescan_outcome *out;
  double start;
  pick_vector picks;
  uint64_t picked_bytes;
  bool budget_full;            /* the selection stopped at the size budget */
  const struct ov_sigs *sigs;
  /* The disk being rescanned. */
  const char *disk_name;
  pick_ptr_vector disk_picks;  /* of the current disk, sorted by key */
  pick_ptr_vector queue;       /* found by the walk, to scan */
  inherited_vector inherited;  /* to report after the commit */
  double inherit_now;          /* the time inherit () stamps, for inherited_cb */
};

static void
event (struct rescan *r, enum ov_rescan_event_kind kind, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
static void
event (struct rescan *r, enum ov_rescan_event_kind kind, const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  struct ov_rescan_event e = { .kind = kind, .disk = r->disk_name, .message = msg };

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (kind == OV_RESCAN_ERROR)
    r->out->errors++;
  if (r->o->on_event)
    r->o->on_event (r->o->opaque, &e);
}

/* The time budget is spent, or the run must stop. */
static bool
out_of_time (const struct rescan *r)
{
  if (r->o->stop && r->o->stop ())
    return true;
  return r->o->budget.seconds > 0
    && ov_monotonic_seconds () - r->start >= r->o->budget.seconds;
}

/* ---- selection ---- */

static int
select_cb (void *opaque, const struct ov_stale_file *f)
{
  struct rescan *r = opaque;
  struct pick p = { .stale = *f };

  if (r->o->budget.bytes && r->picks.len > 0
      && r->picked_bytes + f->size > r->o->budget.bytes) {
    r->budget_full = true;      /* strictly oldest first: stop here */
    return -1;
  }
  if (pick_vector_append (&r->picks, p) == -1)
    return -1;
  r->picked_bytes += f->size;
  return 0;
}

/* ---- per disk ---- */

static int
compare_key (const struct ov_file_key *a, const struct ov_file_key *b)
{
  if (a->fs_id != b->fs_id) return a->fs_id < b->fs_id ? -1 : 1;
  if (a->inode != b->inode) return a->inode < b->inode ? -1 : 1;
  if (a->attr_type != b->attr_type) return a->attr_type < b->attr_type ? -1 : 1;
  if (a->attr_id != b->attr_id) return a->attr_id < b->attr_id ? -1 : 1;
  return 0;
}

static int
compare_pick_key (const void *a, const void *b)
{
  const struct pick *const *x = a, *const *y = b;
  return compare_key (&(*x)->stale.key, &(*y)->stale.key);
}

static int
compare_pick_age (const void *a, const void *b)
{
  const struct pick *const *x = a, *const *y = b;
  if ((*x)->stale.last_scan != (*y)->stale.last_scan)
    return (*x)->stale.last_scan < (*y)->stale.last_scan ? -1 : 1;
  return (*x)->stale.id < (*y)->stale.id ? -1 : (*x)->stale.id > (*y)->stale.id;
}

struct walk_ctx {
  struct rescan *r;
  int64_t fs_id;
};

static int
walk_cb (void *opaque, struct ov_file *f)
{
  struct walk_ctx *w = opaque;
  struct rescan *r = w->r;
  struct pick key_pick = { .stale.key = { .fs_id = w->fs_id, .inode = f->inode,
                                          .attr_type = f->attr_type,
                                          .attr_id = f->attr_id } };
  struct pick *kp = &key_pick, **hit;
  uint8_t digest[32];

  hit = bsearch (&kp, r->disk_picks.ptr, r->disk_picks.len,
                 sizeof *r->disk_picks.ptr, compare_pick_key);
  if (hit == NULL || (*hit)->found) {
    ov_file_free (f);
    return 0;
  }
  ov_runs_digest (f->runs, f->nruns, digest);
  if (f->generation != (*hit)->stale.generation || f->size != (*hit)->stale.size
      || memcmp (digest, (*hit)->stale.runs_digest, 32) != 0) {
    ov_file_free (f);           /* changed since the last poll: the poll's job */
    return 0;
  }
  (*hit)->found = f;
  f->user = *hit;
  return pick_ptr_vector_append (&r->queue, *hit);
}

static void
walk_error_cb (void *opaque, const struct ov_fs *fs, const char *message)
{
  struct walk_ctx *w = opaque;
  event (w->r, OV_RESCAN_ERROR, "%s: %s", fs && fs->label[0] ? fs->label : "disk", message);
}

/* Pool callback (serialised): keep the result in the pick. */
static void
scanned_cb (void *opaque, const struct ov_file *f, const struct ov_scan_result *res)
{
  struct pick *p = f->user;
  (void) opaque;

  p->scanned = true;
  p->verdict = res->verdict;
  p->bytes_read = res->bytes_read;
  p->path = strdup (f->paths[0]);
  p->fs_label = strdup (f->fs->label);
  if (res->verdict == OV_VERDICT_INFECTED)
    p->signature = strdup (res->signature);
  if (res->error)
    p->error = strdup (res->error);
  p->found = NULL;               /* the pool frees the file */
}

/* Scan the queue (files found by the walk), oldest first, while time lasts. */
static int
scan_queue (struct rescan *r, struct ov_fsmap *map, struct ov_disk *disk)
{
  struct ov_pool *pool = NULL;
  size_t i;

  if (r->queue.len == 0)
    return 0;
  qsort (r->queue.ptr, r->queue.len, sizeof *r->queue.ptr, compare_pick_age);
  for (i = 0; i < r->queue.len; i++) {
    struct pick *p = r->queue.ptr[i];
    if (out_of_time (r))
      break;
    if (pool == NULL) {
      if (r->sigs == NULL && (r->sigs = ov_engine_get (r->o->engine)) == NULL)
        return -1;
      pool = ov_pool_start (r->o->workers, r->sigs->engine, &r->o->limits,
                            map, disk, scanned_cb, r);
      if (pool == NULL)
        return -1;
    }
    ov_pool_submit (pool, p->found);
  }
  if (pool)
    ov_pool_finish (pool);
  /* Files not submitted (time is up) are freed here. */
  for (; i < r->queue.len; i++) {
    ov_file_free (r->queue.ptr[i]->found);
    r->queue.ptr[i]->found = NULL;
  }
  return 0;
}

/* Walk each filesystem of the disk that holds picks, then scan. */
static int
rescan_map (struct rescan *r, const struct rdisk *rec,
            struct ov_fsmap *map, struct ov_disk *disk)
{
  size_t n = ov_fsmap_fs_count (map);

  for (size_t i = 0; i < n; i++) {
    struct ov_fs *fs = ov_fsmap_fs (map, i);
    struct walk_ctx w = { .r = r };
    bool wanted = false;
    int found;

    if (fs->error)
      continue;
    found = ov_coverage_find_fs (r->st, rec->id, fs->label, fs->offset,
                                 fs->type, fs->identity, &w.fs_id);
    if (found == -1)
      return -1;
    if (found == 1)
      continue;                 /* new or reformatted: the next poll's job */
    for (size_t k = 0; k < r->disk_picks.len && !wanted; k++)
      wanted = r->disk_picks.ptr[k]->stale.key.fs_id == w.fs_id;
    if (!wanted || out_of_time (r))
      continue;
    if (ov_fsmap_walk (map, fs, walk_cb, walk_error_cb, &w) == -1) {
      event (r, OV_RESCAN_ERROR, "%s: not rescanned: %s",
             fs->label[0] ? fs->label : "disk", ov_last_error ());
      continue;
    }
  }
  return scan_queue (r, map, disk);
}

/* ---- fleets: verdicts inherited from a base ---- */

static void
clear_inherited (struct rescan *r)
{
  for (size_t i = 0; i < r->inherited.len; i++) {
    struct inherited_find *x = &r->inherited.ptr[i];
    free (x->disk), free (x->image), free (x->fs_label), free (x->path);
    free (x->signature);
  }
  r->inherited.len = 0;
}

/* An inherited infected file: recorded as the VM's detection now (inside
 * the transaction), reported after the commit. */
static int
inherited_cb (void *opaque, const struct ov_inherited_detection *d)
{
  struct rescan *r = opaque;
  struct inherited_find x = {
    .poll_id = d->last_poll, .inode = d->inode, .size = d->size,
    .disk = strdup (d->disk), .image = strdup (d->image),
    .fs_label = strdup (d->fs_label ? d->fs_label : ""),
    .path = strdup (d->path), .signature = strdup (d->signature),
  };
  struct ov_detection_row row = {
    .disk_id = d->disk_id, .fs_label = x.fs_label, .path = x.path,
    .inode = d->inode, .signature = x.signature, .last_seen = r->inherit_now,
    .last_poll = d->last_poll, .found_by = "rescan",
  };
  int known;

  if (!x.disk || !x.image || !x.fs_label || !x.path || !x.signature
      || inherited_vector_append (&r->inherited, x) == -1) {
    free (x.disk), free (x.image), free (x.fs_label), free (x.path);
    free (x.signature);
    ov_error ("out of memory");
    return -1;
  }
  known = ov_detection_is_known (r->st, d->disk_id, x.fs_label, x.path, x.signature);
  if (known == -1 || ov_detection_record (r->st, &row) == -1)
    return -1;
  r->inherited.ptr[r->inherited.len - 1].known = known == 1;
  return 0;
}

/* Give the VMs on base disk base_id (0: every base) the base's verdicts
 * under VERSION; inside the caller's transaction. */
static int
inherit (struct rescan *r, int64_t base_id, const char *version, double now)
{
  uint64_t n;

  r->inherit_now = now;        /* the detections' last_seen = the rows' scanned_at */
  if (ov_fleet_inherit_verdicts (r->st, base_id, version, now, inherited_cb, r, &n) == -1)
    return -1;
  r->out->files_inherited += n;
  return 0;
}

/* Report the inherited finds (after the commit). */
static void
report_inherited (struct rescan *r)
{
  for (size_t i = 0; i < r->inherited.len; i++) {
    struct inherited_find *x = &r->inherited.ptr[i];
    struct ov_rescan_event e = {
      .kind = OV_RESCAN_DETECTION, .disk = x->disk, .image = x->image,
      .fs_label = x->fs_label, .path = x->path, .inode = x->inode,
      .size = x->size, .signature = x->signature,
      .sig_version = r->sigs ? r->sigs->version : NULL, .poll_id = x->poll_id,
      .is_new = !x->known,
    };
    r->out->infected++;
    if (r->o->on_event)
      r->o->on_event (r->o->opaque, &e);
  }
  clear_inherited (r);
}

/* Verdicts of bases rescanned by an earlier run that some VM rows have not
 * taken yet (an older ovscan, or a VM seeded meanwhile): one transaction. */
static int
inherit_leftovers (struct rescan *r, const char *version)
{
  if (ov_state_begin (r->st) == -1)
    return -1;
  if (inherit (r, 0, version, ov_unix_seconds ()) == -1
      || ov_state_commit (r->st) == -1) {
    ov_state_rollback (r->st);
    clear_inherited (r);
    return -1;
  }
  report_inherited (r);
  return 0;
}

/* Store the verdicts of the current disk in one transaction. */
static int
store_results (struct rescan *r, const struct rdisk *rec)
{
  const char *version = r->sigs ? r->sigs->version : NULL;
  double now = ov_unix_seconds ();
  size_t i;

  if (ov_state_begin (r->st) == -1)
    return -1;
  for (i = 0; i < r->disk_picks.len; i++) {
    struct pick *p = r->disk_picks.ptr[i];
    struct ov_rescan_verdict v = {
      .id = p->stale.id, .size = p->stale.size,
      .verdict = ov_verdict_to_string (p->verdict),
      .signature = p->signature, .error = p->error,
    };
    bool stored;

    if (!p->scanned)
      continue;
    if (p->path == NULL || p->fs_label == NULL
        || (p->verdict == OV_VERDICT_INFECTED && p->signature == NULL)) {
      ov_error ("out of memory");
      goto fail;
    }
    memcpy (v.runs_digest, p->stale.runs_digest, 32);
    if (p->verdict == OV_VERDICT_SKIPPED)
      v.verdict = "skipped";
    if (ov_coverage_store (r->st, &v, version, now, &stored) == -1)
      goto fail;
    if (!stored)
      continue;
    if (p->verdict == OV_VERDICT_INFECTED) {
      int known = ov_detection_is_known (r->st, rec->id, p->fs_label, p->path,
                                         p->signature);
      struct ov_detection_row d = {
        .disk_id = rec->id, .fs_label = p->fs_label, .path = p->path,
        .inode = p->stale.key.inode, .signature = p->signature,
        .last_seen = now, .last_poll = rec->last_poll, .found_by = "rescan",
      };
      if (known == -1 || ov_detection_record (r->st, &d) == -1)
        goto fail;
      p->known = known == 1;
    }
  }
  if (rec->is_base && version && inherit (r, rec->id, version, now) == -1)
    goto fail;
  if (ov_state_commit (r->st) == -1)
    goto fail;
  return 0;
 fail:
  ov_state_rollback (r->st);
  clear_inherited (r);
  return -1;
}

/* Report and count the results of the current disk (after the commit). */
static void
report_results (struct rescan *r, const struct rdisk *rec)
{
  report_inherited (r);
  for (size_t i = 0; i < r->disk_picks.len; i++) {
    struct pick *p = r->disk_picks.ptr[i];
    if (!p->scanned)
      continue;
    r->out->files_scanned++;
    r->out->bytes_scanned += p->bytes_read;
    if (p->verdict == OV_VERDICT_INFECTED) {
      struct ov_rescan_event e = {
        .kind = OV_RESCAN_DETECTION, .disk = r->disk_name, .image = rec->image,
        .fs_label = p->fs_label, .path = p->path, .inode = p->stale.key.inode,
        .size = p->stale.size, .signature = p->signature,
        .sig_version = r->sigs ? r->sigs->version : NULL, .poll_id = rec->last_poll,
        .is_new = !p->known,
      };
      r->out->infected++;
      if (r->o->on_event)
        r->o->on_event (r->o->opaque, &e);
    }
    else if (p->verdict == OV_VERDICT_ERROR)
      event (r, OV_RESCAN_ERROR, "%s: not rescanned: %s", p->path ? p->path : "?",
             p->error ? p->error : "scan failed");
  }
}

static int
rescan_disk (struct rescan *r, const struct rdisk *rec)
{
  struct ov_disk_options dopts = { .format = rec->format };
  struct ov_disk *disk = NULL;
  struct ov_fsmap *map = NULL;
  int lock = -1, ret = -1;

  r->disk_name = rec->name;
  if (rec->running) {
    r->out->disks_skipped++;
    event (r, OV_RESCAN_SKIPPED, "rescan skipped: a running VM's disk (its image "
           "is in use; rescanned once it is polled closed)");
    return 0;
  }
  if (r->o->lock) {
    lock = r->o->lock (r->o->lock_opaque, rec->name);
    if (lock == -2) {
      r->out->disks_skipped++;
      event (r, OV_RESCAN_SKIPPED, "rescan skipped: another ovscan is polling it");
      return 0;
    }
    if (lock == -1) {
      event (r, OV_RESCAN_ERROR, "not rescanned: %s", ov_last_error ());
      return 0;
    }
  }
  qsort (r->disk_picks.ptr, r->disk_picks.len, sizeof *r->disk_picks.ptr,
         compare_pick_key);
  r->queue.len = 0;
  if ((disk = ov_disk_open (rec->image, &dopts)) == NULL
      || (map = ov_fsmap_open (disk)) == NULL) {
    /* An image a running QEMU holds (qemu's image locking): not an error,
     * the next run tries again. */
    if (disk == NULL && strstr (ov_last_error (), "lock") != NULL) {
      r->out->disks_skipped++;
      event (r, OV_RESCAN_SKIPPED, "rescan skipped: the image is in use (%s)",
             ov_last_error ());
    }
    else
      event (r, OV_RESCAN_ERROR, "not rescanned: %s", ov_last_error ());
    ret = 0;
    goto out;
  }
  if (rescan_map (r, rec, map, disk) == -1)
    goto out;
  ov_fsmap_close (map);
  map = NULL;
  ov_disk_close (disk);
  disk = NULL;
  if (store_results (r, rec) == -1)
    goto out;
  report_results (r, rec);
  ret = 0;
 out:
  for (size_t i = 0; i < r->queue.len; i++)
    if (r->queue.ptr[i]->found) {
      ov_file_free (r->queue.ptr[i]->found);
      r->queue.ptr[i]->found = NULL;
    }
  if (map)
    ov_fsmap_close (map);
  if (disk)
    ov_disk_close (disk);
  if (lock >= 0)
    close (lock);
  r->disk_name = NULL;
  return ret;
}

static int
collect_disk (void *opaque, const struct ov_disk_record *d)
{
  rdisk_vector *v = opaque;
  struct rdisk x = {
    .id = d->id, .last_poll = d->last_poll, .running = d->qmp_socket != NULL,
    .is_base = d->tracker && strcmp (d->tracker, "base") == 0,
    .name = strdup (d->name), .image = strdup (d->image), .format = strdup (d->format),
  };

  if (!x.name || !x.image || !x.format || rdisk_vector_append (v, x) == -1) {
    free (x.name), free (x.image), free (x.format);
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

static void
free_picks (pick_vector *picks)
{
  for (size_t i = 0; i < picks->len; i++) {
    free (picks->ptr[i].signature);
    free (picks->ptr[i].error);
    free (picks->ptr[i].path);
    free (picks->ptr[i].fs_label);
  }
  pick_vector_reset (picks);
}

int
ov_rescan_run (struct ov_state *st, const struct ov_rescan_options *o,
               struct ov_rescan_outcome *out)
{
  struct rescan r = { .st = st, .o = o, .out = out, .picks = VECTOR_INIT,
                      .disk_picks = VECTOR_INIT, .queue = VECTOR_INIT,
                      .inherited = VECTOR_INIT };
  rdisk_vector disks = VECTOR_INIT;
  CLEANUP_FREE char *version = NULL;
  uint64_t bytes;
  int ret = -1;

  memset (out, 0, sizeof *out);
  r.start = ov_monotonic_seconds ();
  /* Leftover inherited rows are stale rows: the join that gives them
   * their base's verdict (~0.2-0.5 s for 20 VMs of 82k files) runs only
   * when something is stale, not on every quiet `poll --all`. */
  if (ov_sigs_version (o->sigs, &version) == -1
      || ov_coverage_stale_count (st, version, &out->stale_before, &bytes) == -1)
    goto out;
  if (out->stale_before > 0
      && (inherit_leftovers (&r, version) == -1
          || ov_coverage_stale_count (st, version, &out->stale_before, &bytes) == -1))
    goto out;
  if (out->stale_before == 0) {
    ret = 0;
    goto out;
  }
  if (ov_coverage_stale_files (st, version, 0, select_cb, &r) == -1
      && !r.budget_full)
    goto out;
  out->selected = r.picks.len;
  if (ov_state_list_disks (st, collect_disk, &disks) == -1)
    goto out;

  /* Disks in the order of their oldest pick (picks are oldest first). */
  for (size_t i = 0; i < r.picks.len && !out_of_time (&r); i++) {
    int64_t disk_id = r.picks.ptr[i].stale.disk_id;
    struct rdisk *rec = NULL;

    for (size_t k = 0; k < disks.len && !rec; k++)
      if (disks.ptr[k].id == disk_id)
        rec = &disks.ptr[k];
    if (rec == NULL || rec->done)
      continue;
    rec->done = true;
    r.disk_picks.len = 0;
    for (size_t k = i; k < r.picks.len; k++)
      if (r.picks.ptr[k].stale.disk_id == disk_id
          && pick_ptr_vector_append (&r.disk_picks, &r.picks.ptr[k]) == -1)
        goto out;
    if (rescan_disk (&r, rec) == -1)
      goto out;
  }
  if (r.sigs && strcmp (r.sigs->version, version) != 0) {
    free (version);
    version = strdup (r.sigs->version);
  }
  if (version == NULL
      || ov_coverage_stale_count (st, version, &out->stale_after, &bytes) == -1)
    goto out;
  ret = 0;
 out:
  out->seconds = ov_monotonic_seconds () - r.start;
  for (size_t k = 0; k < disks.len; k++) {
    free (disks.ptr[k].name);
    free (disks.ptr[k].image);
    free (disks.ptr[k].format);
  }
  rdisk_vector_reset (&disks);
  free_picks (&r.picks);
  pick_ptr_vector_reset (&r.disk_picks);
  pick_ptr_vector_reset (&r.queue);
  clear_inherited (&r);
  inherited_vector_reset (&r.inherited);
  return ret;
}
