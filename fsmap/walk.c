/* ovscan — fsmap: walking one filesystem's files.
 *
 * Our own recursion over tsk_fs_dir_open_meta() rather than
 * tsk_fs_dir_walk(), so that:
 *   - paths are ours (raw bytes, bounded by OV_MAX_PATH, not TSK's fixed
 *     4 KiB path buffer);
 *   - loops are detected by us, verifiably: a directory inode entered twice
 *     (a crafted loop, or a hard-linked directory) is reported and not
 *     entered again, and depth is bounded by OV_MAX_DIR_DEPTH;
 *   - every TSK call runs under map->tsk_lock while callbacks run outside it
 *     (ov_file_pread from a worker may need TSK during the walk).
 *
 * What is a file: every allocated name whose metadata is a regular file
 * gives one ov_file per data stream (NTFS: every $DATA attribute, named ones
 * being alternate data streams "path:stream"; NTFS directories contribute
 * their named $DATA streams too).  NTFS metadata files (MFT entries 0-15 and
 * everything under $Extend) are not files to scan: they are only marked as
 * named.  TSK's virtual entries ($OrphanFiles, FAT's $MBR/$FAT1/$FAT2) are
 * skipped.
 *
 * Hard links: a file whose link count is > 1 is held (inode -> pending
 * ov_files) and gets each new name as another path; it is handed over when
 * all its links were seen, or at the end of the walk.  A name beyond the
 * link count (crafted) yields a separate ov_file rather than being lost.
 *
 * Orphans (ext2/3/4 and NTFS): after the tree, tsk_fs_meta_walk over
 * allocated inodes finds regular files no name references (ext4 files
 * unlinked while open, lost files): "/$OrphanFiles/inode-N".  FAT/exFAT are
 * not searched: their "inodes" are directory-entry slots and finding
 * unreferenced ones means reading every cluster.
 *
 * Directories (ov_fsmap_walk_dirs): each directory entered is handed over
 * with its listing (every name considered, with the type of its metadata)
 * and the disk blocks it owns, for ext_incremental.c's directory state.
 * Paths of a file with several names are sorted before delivery, so that
 * its first path does not depend on directory order.
 *
 * Cost: one TSK directory load per directory, one metadata load per name;
 * memory O(inodes) for the named set plus the pending hard links.
 */
#include "fsmap/internal.h"
#include "fsmap/lvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/quote.h"
#include "common/vector.h"

#define NTFS_FIRST_USER_INODE 16
#define NTFS_EXTEND_INODE 11
#define MAX_ORPHANS (1u << 20)

struct held {
  struct ov_file **files;        /* one per stream */
  size_t nfiles;
  uint64_t links_seen, links_expected;
  bool done;                     /* handed over (or dropped) */
};

struct walk {
  struct ov_fsmap *map;
  struct ov_fs *fs;
  TSK_FS_INFO *tfs;
  ov_file_cb file_cb;
  ov_dir_cb dir_cb;              /* NULL: directories not reported */
  void *dir_opaque;
  ov_fsmap_error_cb error_cb;
  void *opaque;
  bool stopped;
  struct ov_inode_map named;     /* inodes referenced by an allocated name */
  struct ov_inode_map dirs;      /* directories entered */
  struct ov_inode_map held_index;/* inode -> index into held */
  struct held *held;
  size_t nheld, held_cap;
};

static void
lock (struct walk *w)
{
  pthread_mutex_lock (&w->map->tsk_lock);
}

static void
unlock (struct walk *w)
{
  pthread_mutex_unlock (&w->map->tsk_lock);
}

/* Report a problem: "LABEL (TYPE): inode N: PATH: message". */
static void
report (struct walk *w, uint64_t inode, const char *path, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

static void
report (struct walk *w, uint64_t inode, const char *path, const char *fmt, ...)
{
  char msg[1024];
  char *quoted = path ? ov_quote_path (path) : NULL;
  char *full = NULL;
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (asprintf (&full, "%s (%s) at disk offset %" PRIu64 ": inode %" PRIu64
                "%s%s%s: %s", w->fs->label[0] ? w->fs->label : "disk",
                w->fs->type, w->fs->offset, inode,
                quoted ? " \"" : "", quoted ? quoted : "", quoted ? "\"" : "",
                msg) == -1)
    full = NULL;
  if (w->error_cb)
    w->error_cb (w->opaque, w->fs, full ? full : msg);
  free (full);
  free (quoted);
}

static int
compare_path_ptrs (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
ov_paths_sort (char **paths, size_t npaths)
{
  if (npaths > 1)
    qsort (paths, npaths, sizeof *paths, compare_path_ptrs);
}

static int
deliver (struct walk *w, struct ov_file *f)
{
  ov_paths_sort (f->paths, f->npaths);
  if (w->stopped) {
    ov_file_free (f);
    return -1;
  }
  /* An LV in several runs: LV bytes -> disk bytes, here only. */
  if (ov_lvm_translate_runs (w->fs, f) == -1) {
    report (w, f->inode, f->npaths ? f->paths[0] : NULL, "%s",
            ov_last_error ());
    ov_file_free (f);
    return 0;
  }
  if (w->file_cb (w->opaque, f) == -1) {
    w->stopped = true;
    return -1;
  }
  return 0;
}

static bool
is_default_stream_name (const char *name)
{
  return name == NULL || name[0] == '\0';
}

/* Build the ov_files of file's streams, appending to *out.  Under the lock. */
static int
build_streams (struct walk *w, TSK_FS_FILE *file, const char *path,
               bool orphan, bool named_only, struct ov_file ***out,
               size_t *nout)
{
  uint64_t inode = file->meta->addr;
  bool ntfs = TSK_FS_TYPE_ISNTFS (w->tfs->ftype);
  int nattr, i, matched = 0;

  tsk_error_reset ();
  nattr = tsk_fs_file_attr_getsize (file);
  if (nattr < 0) {
    report (w, inode, path, "cannot load attributes: %s", ov_tsk_error ());
    return 0;
  }
  if (!named_only && (nattr == 0 || (!ntfs && tsk_fs_file_attr_get (file) == NULL))) {
    report (w, inode, path, "no data stream could be loaded: %s",
            tsk_error_get () ? tsk_error_get ()
            : "TSK found none (corrupt block map or extent tree?)");
    return 0;
  }
  for (i = 0; i < nattr; i++) {
    const TSK_FS_ATTR *a = tsk_fs_file_attr_get_idx (file, i);
    struct ov_file *f, **v;
    const char *stream;
    bool problem;

    if (a == NULL)
      continue;
    if (ntfs) {
      if (a->type != TSK_FS_ATTR_TYPE_NTFS_DATA)
        continue;
    }
    else if (a != tsk_fs_file_attr_get (file))
      continue;                 /* the default stream only */
    stream = ntfs && !is_default_stream_name (a->name) ? a->name : NULL;
    matched++;
    if (named_only && stream == NULL)
      continue;

    f = calloc (1, sizeof *f);
    v = realloc (*out, (*nout + 1) * sizeof *v);
    if (v)
      *out = v;
    if (f == NULL || v == NULL) {
      free (f);
      ov_error_errno (errno, "allocating a file");
      return -1;
    }
    f->fs = w->fs;
    f->inode = inode;
    f->orphan = orphan;
    f->generation = ov_inode_generation (w->fs, file->meta);
    f->mode = (uint32_t) file->meta->mode;
    f->uid = (uint32_t) file->meta->uid;
    f->gid = (uint32_t) file->meta->gid;
    f->mtime = file->meta->mtime;
    f->mtime_nsec = file->meta->mtime_nano;
    f->ctime = file->meta->ctime;
    f->ctime_nsec = file->meta->ctime_nano;
    if (stream && (f->stream = strdup (stream)) == NULL) {
      free (f);
      ov_error_errno (errno, "strdup");
      return -1;
    }
    f->paths = malloc (sizeof *f->paths);
    if (f->paths == NULL
        || (f->paths[0] = ov_path_full (w->fs->label, path, stream)) == NULL) {
      report (w, inode, path, "%s", ov_last_error ());
      ov_file_free (f);
      continue;
    }
    f->npaths = 1;
    if (ov_runs_from_attr (w->fs, a, inode, f, &problem) == -1) {
      report (w, inode, path, "stream %s (type 0x%x id %u): %s",
              stream ? stream : "(default)", (unsigned) a->type,
              (unsigned) a->id, ov_last_error ());
      ov_file_free (f);
      continue;
    }
    if (problem)
      report (w, inode, path, "%s", ov_last_error ());
    (*out)[(*nout)++] = f;
  }
  if (!named_only && matched == 0)
    report (w, inode, path, "no data stream could be loaded: %s",
            tsk_error_get () ? tsk_error_get ()
            : "TSK found none (corrupt run list or attribute?)");
  return 0;
}

static int
add_path (struct ov_file *f, const char *path)
{
  char **v;
  char *p = ov_path_full (f->fs->label, path, f->stream);

  if (p == NULL)
    return -1;
  v = realloc (f->paths, (f->npaths + 1) * sizeof *v);
  if (v == NULL) {
    free (p);
    ov_error_errno (errno, "realloc");
    return -1;
  }
  f->paths = v;
  f->paths[f->npaths++] = p;
  return 0;
}

static int
deliver_held (struct walk *w, struct held *h)
{
  size_t i;
  int r = 0;

  h->done = true;
  for (i = 0; i < h->nfiles; i++)
    if (r == 0)
      r = deliver (w, h->files[i]);
    else
      ov_file_free (h->files[i]);
  free (h->files);
  h->files = NULL;
  h->nfiles = 0;
  return r;
}

/* A regular file reached by name.  Called with the lock held; releases it
 * around deliveries and re-takes it before returning. */
/* Hand files to the caller's callback without holding the TSK lock (the
 * callback may read through fsmap); after a failure the rest are freed. */
static int
deliver_all (struct walk *w, struct ov_file **files, size_t nfiles, int r)
{
  size_t i;

  unlock (w);
  for (i = 0; i < nfiles; i++)
    if (r == 0)
      r = deliver (w, files[i]);
    else
      ov_file_free (files[i]);
  lock (w);
  free (files);
  return r;
}

static int
visit_file (struct walk *w, TSK_FS_FILE *file, const char *path)
{
  uint64_t inode = file->meta->addr;
  uint64_t nlink = file->meta->nlink > 1 ? (uint64_t) file->meta->nlink : 1;
  struct ov_file **files = NULL;
  size_t nfiles = 0, i;
  uint64_t hi;
  int r = 0;

  if (nlink > 1 && ov_inode_map_get (&w->held_index, inode, &hi) == 0) {
    struct held *h = &w->held[hi];
    if (!h->done) {
      for (i = 0; i < h->nfiles; i++)
        if (add_path (h->files[i], path) == -1)
          report (w, inode, path, "%s", ov_last_error ());
      if (++h->links_seen >= h->links_expected) {
        unlock (w);
        r = deliver_held (w, h);
        lock (w);
      }
      return r;
    }
    report (w, inode, path, "more names than its link count (%" PRIu64 ")",
            nlink);
  }

  if (build_streams (w, file, path, false, false, &files, &nfiles) == -1) {
    report (w, inode, path, "%s", ov_last_error ());
    return 0;
  }
  if (nlink > 1 && ov_inode_map_get (&w->held_index, inode, NULL) == -1) {
    struct held *h;
    if (ov_vector_reserve ((void **) &w->held, &w->held_cap, w->nheld + 1,
                           sizeof *w->held) == 0
        && ov_inode_map_put (&w->held_index, inode, w->nheld) == 0) {
      h = &w->held[w->nheld++];
      h->files = files;
      h->nfiles = nfiles;
      h->links_seen = 1;
      h->links_expected = nlink;
      h->done = false;
      return 0;
    }
    report (w, inode, path, "%s", ov_last_error ());
  }
  return deliver_all (w, files, nfiles, r);
}

/* Named $DATA streams of an NTFS directory. */
static int
visit_dir_streams (struct walk *w, TSK_FS_FILE *file, const char *path)
{
  struct ov_file **files = NULL;
  size_t nfiles = 0;

  if (build_streams (w, file, path, false, true, &files, &nfiles) == -1)
    report (w, file->meta->addr, path, "%s", ov_last_error ());
  return deliver_all (w, files, nfiles, 0);
}

bool
ov_dirent_wanted (TSK_FS_INFO *tfs, const TSK_FS_NAME *name)
{
  if (name == NULL || name->name == NULL
      || !(name->flags & TSK_FS_NAME_FLAG_ALLOC))
    return false;
  if (strcmp (name->name, ".") == 0 || strcmp (name->name, "..") == 0)
    return false;
  return !(name->meta_addr == TSK_FS_ORPHANDIR_INUM (tfs)
           || name->meta_addr < tfs->first_inum
           || name->meta_addr > tfs->last_inum);
}

/* Record one entry of the listing being built (ENOMEM: the listing is
 * dropped, and with it the directory state: see walk_dir). */
static int
listing_add (struct ov_dir *d, size_t *cap, uint64_t inode, uint8_t type,
             const char *name)
{
  char *copy;

  if (ov_vector_reserve ((void **) &d->entries, cap, d->nentries + 1,
                         sizeof *d->entries) == -1)
    return -1;
  if ((copy = strdup (name)) == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  d->entries[d->nentries++] = (struct ov_dirent) {
    .inode = inode, .type = type, .name = copy,
  };
  return 0;
}

/* Hand the finished listing of a directory over (lock held; released
 * around the callback). */
static int
deliver_dir (struct walk *w, TSK_FS_DIR *dir, struct ov_dir *d)
{
  size_t cap = 0;
  bool odd = false;
  int r;

  if (dir->fs_file
      && ov_inode_blocks (w->fs, dir->fs_file, true, &d->runs, &d->nruns,
                          &cap, &odd) == -1) {
    ov_dir_clear (d);
    free (d);
    w->stopped = true;
    return -1;
  }
  /* An LV in several runs: LV bytes -> disk bytes, as in deliver(). */
  if (ov_lvm_translate_ranges (w->fs, &d->runs, &d->nruns) == -1) {
    ov_dir_clear (d);
    free (d);
    w->stopped = true;
    return -1;
  }
  unlock (w);
  r = w->dir_cb (w->dir_opaque, d);
  lock (w);
  if (r == -1)
    w->stopped = true;
  return r;
}

/* Walk directory `dir_inode` named `path` ("" for the root).  Lock held. */
static int
walk_dir (struct walk *w, uint64_t dir_inode, const char *path,
          unsigned depth, bool system)
{
  bool ntfs = TSK_FS_TYPE_ISNTFS (w->tfs->ftype);
  bool is_root = dir_inode == w->tfs->root_inum;
  TSK_FS_DIR *dir;
  struct ov_dir *listing = NULL;
  size_t n, i, listing_cap = 0;
  int r = 0;

  if (ov_inode_map_put (&w->dirs, dir_inode, 1) == -1) {
    report (w, dir_inode, path, "%s", ov_last_error ());
    return 0;
  }
  tsk_error_reset ();
  dir = tsk_fs_dir_open_meta (w->tfs, dir_inode);
  if (dir == NULL) {
    report (w, dir_inode, path[0] ? path : "/", "cannot read directory: %s",
            ov_tsk_error ());
    return 0;
  }
  if (w->dir_cb) {
    listing = calloc (1, sizeof *listing);
    if (listing == NULL || (listing->path = strdup (path)) == NULL) {
      free (listing);
      ov_error_errno (errno, "allocating a directory listing");
      tsk_fs_dir_close (dir);
      w->stopped = true;
      return -1;
    }
    listing->inode = dir_inode;
  }
  n = tsk_fs_dir_getsize (dir);
  for (i = 0; i < n && r == 0 && !w->stopped; i++) {
    const TSK_FS_NAME *name = tsk_fs_dir_get_name (dir, i);
    TSK_FS_FILE *file;
    uint64_t addr;
    char *child;
    bool child_system = system;
    uint8_t type = OV_DIRENT_BAD;

    if (!ov_dirent_wanted (w->tfs, name))
      continue;
    addr = name->meta_addr;
    if (ov_inode_map_put (&w->named, addr, 1) == -1) {
      report (w, addr, path, "%s", ov_last_error ());
      continue;
    }
    if (ntfs && is_root && addr < NTFS_FIRST_USER_INODE) {
      if (addr != NTFS_EXTEND_INODE)
        continue;
      child_system = true;
    }
    child = ov_path_join (path, name->name, strlen (name->name));
    if (child == NULL) {
      report (w, addr, path, "name %zu bytes long: %s",
              strlen (name->name), ov_last_error ());
      if (listing
          && listing_add (listing, &listing_cap, addr, type, name->name) == -1)
        r = -1;
      continue;
    }
    tsk_error_reset ();
    file = tsk_fs_dir_get (dir, i);
    if (file == NULL || file->meta == NULL) {
      report (w, addr, child, "cannot read metadata: %s", ov_tsk_error ());
      if (file)
        tsk_fs_file_close (file);
      free (child);
      if (listing
          && listing_add (listing, &listing_cap, addr, type, name->name) == -1)
        r = -1;
      continue;
    }
    type = file->meta->type == TSK_FS_META_TYPE_DIR ? OV_DIRENT_DIR
      : file->meta->type == TSK_FS_META_TYPE_REG ? OV_DIRENT_REG
      : file->meta->type == TSK_FS_META_TYPE_UNDEF ? OV_DIRENT_BAD
      : OV_DIRENT_OTHER;
    if (listing
        && listing_add (listing, &listing_cap, addr, type, name->name) == -1) {
      tsk_fs_file_close (file);
      free (child);
      r = -1;
      break;
    }
    if (file->meta->type == TSK_FS_META_TYPE_DIR) {
      if (ov_inode_map_get (&w->dirs, addr, NULL) == 0)
        report (w, addr, child, "directory loop: directory already entered");
      else if (depth + 1 >= OV_MAX_DIR_DEPTH)
        report (w, addr, child, "directories nested deeper than %u",
                OV_MAX_DIR_DEPTH);
      else {
        if (ntfs && !child_system)
          r = visit_dir_streams (w, file, child);
        if (r == 0)
          r = walk_dir (w, addr, child, depth + 1, child_system);
      }
    }
    else if (file->meta->type == TSK_FS_META_TYPE_REG && !child_system)
      r = visit_file (w, file, child);
    else if (file->meta->type == TSK_FS_META_TYPE_UNDEF && !child_system)
      report (w, addr, child, "metadata unreadable: %s",
              tsk_error_get () ? tsk_error_get () : "type undefined");
    tsk_fs_file_close (file);
    free (child);
  }
  if (listing) {
    if (r == 0 && !w->stopped)
      r = deliver_dir (w, dir, listing);
    else {
      ov_dir_clear (listing);
      free (listing);
      if (r == -1)
        w->stopped = true;
    }
  }
  tsk_fs_dir_close (dir);
  return r;
}

struct orphan_scan {
  struct walk *w;
  uint64_t *inodes;
  size_t n, cap;
  bool truncated;
};

static TSK_WALK_RET_ENUM
orphan_cb (TSK_FS_FILE *file, void *opaque)
{
  struct orphan_scan *s = opaque;
  struct walk *w = s->w;
  const struct ov_fs_tsk *t = w->fs->priv;
  uint64_t addr;

  if (file->meta == NULL || file->meta->type != TSK_FS_META_TYPE_REG)
    return TSK_WALK_CONT;
  addr = file->meta->addr;
  if (TSK_FS_TYPE_ISNTFS (w->tfs->ftype) && addr < NTFS_FIRST_USER_INODE)
    return TSK_WALK_CONT;
  if (TSK_FS_TYPE_ISEXT (w->tfs->ftype)
      && addr < (t->ext_first_ino ? t->ext_first_ino : 11))
    return TSK_WALK_CONT;
  if (ov_inode_map_get (&w->named, addr, NULL) == 0)
    return TSK_WALK_CONT;
  if (s->n >= MAX_ORPHANS) {
    s->truncated = true;
    return TSK_WALK_STOP;
  }
  if (ov_vector_reserve ((void **) &s->inodes, &s->cap, s->n + 1,
                         sizeof *s->inodes) == -1)
    return TSK_WALK_ERROR;
  s->inodes[s->n++] = addr;
  return TSK_WALK_CONT;
}

static int
walk_orphans (struct walk *w)
{
  struct orphan_scan s = { .w = w };
  size_t i;
  int r = 0;
  uint64_t last;

  last = w->tfs->last_inum;
  if (last == TSK_FS_ORPHANDIR_INUM (w->tfs) && last > w->tfs->first_inum)
    last--;
  tsk_error_reset ();
  if (tsk_fs_meta_walk (w->tfs, w->tfs->first_inum, last,
                        TSK_FS_META_FLAG_ALLOC | TSK_FS_META_FLAG_USED,
                        orphan_cb, &s) != 0)
    report (w, 0, NULL, "searching for unnamed files stopped: %s",
            tsk_error_get () ? tsk_error_get () : ov_last_error ());
  if (s.truncated)
    report (w, 0, NULL, "more than %u unnamed files: the rest are ignored",
            MAX_ORPHANS);
  for (i = 0; i < s.n && r == 0 && !w->stopped; i++) {
    char path[64];
    TSK_FS_FILE *file;
    struct ov_file **files = NULL;
    size_t nfiles = 0, j;

    snprintf (path, sizeof path, "/$OrphanFiles/inode-%" PRIu64, s.inodes[i]);
    tsk_error_reset ();
    file = tsk_fs_file_open_meta (w->tfs, NULL, s.inodes[i]);
    if (file == NULL || file->meta == NULL) {
      report (w, s.inodes[i], path, "cannot read metadata: %s",
              ov_tsk_error ());
      if (file)
        tsk_fs_file_close (file);
      continue;
    }
    if (build_streams (w, file, path, true, false, &files, &nfiles) == -1)
      report (w, s.inodes[i], path, "%s", ov_last_error ());
    tsk_fs_file_close (file);
    unlock (w);
    for (j = 0; j < nfiles; j++)
      if (r == 0)
        r = deliver (w, files[j]);
      else
        ov_file_free (files[j]);
    lock (w);
    free (files);
  }
  free (s.inodes);
  return r;
}

int
ov_fsmap_walk (struct ov_fsmap *map, struct ov_fs *fs, ov_file_cb file_cb,
               ov_fsmap_error_cb error_cb, void *opaque)
{
  return ov_fsmap_walk_dirs (map, fs, file_cb, NULL, NULL, error_cb, opaque);
}

int
ov_fsmap_walk_dirs (struct ov_fsmap *map, struct ov_fs *fs, ov_file_cb file_cb,
                    ov_dir_cb dir_cb, void *dir_opaque,
                    ov_fsmap_error_cb error_cb, void *opaque)
{
  struct ov_fs_tsk *t = fs->priv;
  struct walk w;
  size_t i;
  int r;

  if (ov_fs_uses_appliance (fs))         /* XFS: fsmap/xfs_walk.c */
    return ov_appliance_fs_walk (map, fs, file_cb, error_cb, opaque);
  if (fs->error || t == NULL || t->fs == NULL) {
    ov_error ("%s: filesystem not opened: %s",
              fs->label[0] ? fs->label : "disk",
              fs->error ? fs->error : "no filesystem");
    return -1;
  }
  memset (&w, 0, sizeof w);
  w.map = map;
  w.fs = fs;
  w.tfs = t->fs;
  w.file_cb = file_cb;
  w.dir_cb = dir_cb;
  w.dir_opaque = dir_opaque;
  w.error_cb = error_cb;
  w.opaque = opaque;

  lock (&w);
  r = walk_dir (&w, w.tfs->root_inum, "", 0, false);
  if (r == 0 && !w.stopped
      && (TSK_FS_TYPE_ISEXT (w.tfs->ftype) || TSK_FS_TYPE_ISNTFS (w.tfs->ftype)))
    r = walk_orphans (&w);
  unlock (&w);

  /* Hard links whose other names were never found. */
  for (i = 0; i < w.nheld; i++) {
    struct held *h = &w.held[i];
    if (h->done)
      continue;
    if (r == 0 && !w.stopped)
      r = deliver_held (&w, h);
    else {
      size_t j;
      for (j = 0; j < h->nfiles; j++)
        ov_file_free (h->files[j]);
      free (h->files);
    }
  }
  free (w.held);
  ov_inode_map_free (&w.named);
  ov_inode_map_free (&w.dirs);
  ov_inode_map_free (&w.held_index);
  return w.stopped ? -1 : 0;
}

/* One problem, kept for ov_walk_build_file's caller. */
static void
keep_first_problem (void *opaque, const struct ov_fs *fs, const char *message)
{
  char **problem = opaque;
  (void) fs;
  if (*problem == NULL)
    *problem = strdup (message);
}

int
ov_walk_build_file (struct ov_fsmap *map, struct ov_fs *fs, TSK_FS_FILE *file,
                    char *const *paths, size_t npaths, bool orphan,
                    struct ov_file **out, char **problem)
{
  struct ov_fs_tsk *t = fs->priv;
  struct walk w;
  struct ov_file **files = NULL;
  size_t nfiles = 0, i;

  *out = NULL;
  *problem = NULL;
  if (npaths == 0) {
    ov_error ("inode %" PRIu64 ": no path", (uint64_t) file->meta->addr);
    return -1;
  }
  memset (&w, 0, sizeof w);
  w.map = map;
  w.fs = fs;
  w.tfs = t->fs;
  w.error_cb = keep_first_problem;
  w.opaque = problem;
  if (build_streams (&w, file, paths[0], orphan, false, &files, &nfiles) == -1) {
    free (*problem);
    *problem = NULL;
    return -1;
  }
  if (*problem == NULL && nfiles != 1
      && asprintf (problem, "inode %" PRIu64 ": %zu streams",
                   (uint64_t) file->meta->addr, nfiles) == -1)
    *problem = NULL;
  if (*problem == NULL && nfiles == 1) {
    struct ov_file *f = files[0];
    for (i = 1; i < npaths; i++)
      if (add_path (f, paths[i]) == -1) {
        for (i = 0; i < nfiles; i++)
          ov_file_free (files[i]);
        free (files);
        return -1;
      }
    ov_paths_sort (f->paths, f->npaths);
    *out = f;
    free (files);
    return 0;
  }
  for (i = 0; i < nfiles; i++)
    ov_file_free (files[i]);
  free (files);
  if (*problem == NULL)
    *problem = strdup ("no stream");
  return 0;
}
