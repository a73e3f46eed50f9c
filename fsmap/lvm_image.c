/* ovscan — fsmap: a logical volume stored in several runs on the disk.
 *
 * An LV whose pieces are one run is opened on the disk's own TSK image
 * (fsmap/lvm_volumes.c).  An LV in several runs (after lvextend, or with
 * segments on two PVs of the disk) gets a TSK image of its own, and its
 * files' runs are translated once, here, before anyone sees them:
 *
 *   "virtual" byte v in [base, base + lv_size)  (base = fs->offset, the
 *   lowest disk byte of any piece) is LV byte v - base, which the piece
 *   table maps to an absolute disk byte.
 *
 * So every existing computation "fs->offset + block * block_size" (runs.c,
 * dirlist.c, the ext geometry) yields a virtual byte, TSK reads virtual
 * bytes through this image (a read crossing pieces is split), and
 * ov_lvm_translate_runs turns a file's runs into ABSOLUTE disk runs (a run
 * crossing a piece boundary becomes several) for the reverse map, the
 * dirty-overlap checks and ov_file_pread; ov_lvm_translate_ranges does the
 * same for the directory blocks walk.c hands to ov_dir_cb.  Both are called
 * in walk.c only, where files and directories leave fsmap.  The volume's fs->size is the
 * disk span of all its pieces, so any dirty extent touching a piece makes
 * the filesystem dirty (a dirty extent between pieces, in another LV,
 * only costs a metadata walk).  The targeted ext metadata pass, which
 * works in disk offsets, is off for such filesystems (ov_fs_translated):
 * a dirty translated LV gets the full metadata walk.
 *
 * Invariants: the pieces are sorted, contiguous from LV byte 0, each inside
 * the disk and none overlapping another (checked at open); reads never go
 * past the LV's end or the disk's.  Cost: a binary search per read / run.
 */
#include "fsmap/lvm.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"

struct lv_img {
  TSK_IMG_INFO img;              /* must be first */
  struct ov_disk *disk;
  uint64_t base, lv_size;
  struct ov_lvm_piece *pieces;
  size_t npieces;
  char label[256];
};

/* Index of the piece holding LV byte off (off < lv_size). */
static size_t
piece_find (const struct lv_img *self, uint64_t off)
{
  size_t lo = 0, hi = self->npieces;

  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (self->pieces[mid].lv_offset <= off)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

static ssize_t
lv_img_read (TSK_IMG_INFO *img, TSK_OFF_T off, char *buf, size_t len)
{
  struct lv_img *self = (struct lv_img *) img;
  uint64_t pos, done = 0;

  if (off < 0 || (uint64_t) off < self->base
      || (uint64_t) off - self->base >= self->lv_size) {
    tsk_error_reset ();
    tsk_error_set_errno (TSK_ERR_IMG_READ_OFF);
    tsk_error_set_errstr ("read at offset %lld outside LV %s",
                          (long long) off, self->label);
    return -1;
  }
  pos = (uint64_t) off - self->base;
  if (len > self->lv_size - pos)
    len = self->lv_size - pos;
  if (len > SSIZE_MAX)
    len = SSIZE_MAX;
  while (done < len) {
    const struct ov_lvm_piece *p = &self->pieces[piece_find (self, pos)];
    uint64_t within = pos - p->lv_offset, n = len - done;

    if (n > p->length - within)
      n = p->length - within;
    if (ov_disk_pread (self->disk, buf + done, n,
                       p->disk_offset + within) == -1) {
      tsk_error_reset ();
      tsk_error_set_errno (TSK_ERR_IMG_READ);
      tsk_error_set_errstr ("%s", ov_last_error ());
      return -1;
    }
    done += n;
    pos += n;
  }
  return (ssize_t) len;
}

static void
lv_img_close (TSK_IMG_INFO *img)
{
  struct lv_img *self = (struct lv_img *) img;
  free (self->pieces);
  free (self);
}

static void
lv_img_stat (TSK_IMG_INFO *img, FILE *fp)
{
  fprintf (fp, "ovscan LV: %s\n", ((struct lv_img *) img)->label);
}

static int
compare_disk_offsets (const void *a, const void *b)
{
  const struct ov_lvm_piece *x = a, *y = b;
  return (x->disk_offset > y->disk_offset) - (x->disk_offset < y->disk_offset);
}

int
ov_lvm_span (const struct ov_lvm_lv *lv, uint64_t disk_size,
             uint64_t *lo, uint64_t *hi)
{
  struct ov_lvm_piece *byd;
  uint64_t lv_end = 0;
  size_t i;

  if (lv->npieces == 0 || lv->npieces > OV_LVM_MAX_PIECES) {
    ov_error ("LV %s/%s: %zu pieces", lv->vg, lv->name, lv->npieces);
    return -1;
  }
  for (i = 0; i < lv->npieces; i++) {
    const struct ov_lvm_piece *p = &lv->pieces[i];
    if (p->lv_offset != lv_end || p->length == 0
        || p->length > lv->size - lv_end
        || p->disk_offset > disk_size || p->length > disk_size - p->disk_offset) {
      ov_error ("LV %s/%s: piece %zu (LV byte %" PRIu64 ", disk byte %"
                PRIu64 ", %" PRIu64 " bytes) is not inside the disk (%"
                PRIu64 " bytes) or does not follow the previous piece",
                lv->vg, lv->name, i, p->lv_offset, p->disk_offset, p->length,
                disk_size);
      return -1;
    }
    lv_end += p->length;
  }
  if (lv_end != lv->size) {
    ov_error ("LV %s/%s: pieces cover %" PRIu64 " of %" PRIu64 " bytes",
              lv->vg, lv->name, lv_end, lv->size);
    return -1;
  }
  byd = malloc (lv->npieces * sizeof *byd);
  if (byd == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  memcpy (byd, lv->pieces, lv->npieces * sizeof *byd);
  qsort (byd, lv->npieces, sizeof *byd, compare_disk_offsets);
  for (i = 1; i < lv->npieces; i++)
    if (byd[i].disk_offset < byd[i - 1].disk_offset + byd[i - 1].length) {
      ov_error ("LV %s/%s: pieces overlap on the disk at byte %" PRIu64,
                lv->vg, lv->name, byd[i].disk_offset);
      free (byd);
      return -1;
    }
  *lo = byd[0].disk_offset;
  *hi = byd[lv->npieces - 1].disk_offset + byd[lv->npieces - 1].length;
  free (byd);
  return 0;
}

TSK_IMG_INFO *
ov_lvm_image_open (struct ov_disk *disk, const struct ov_lvm_lv *lv,
                   uint64_t base)
{
  struct lv_img *self;
  TSK_IMG_INFO *img;

  if (base > INT64_MAX || lv->size > INT64_MAX - base) {
    ov_error ("LV %s/%s: too large", lv->vg, lv->name);
    return NULL;
  }
  self = calloc (1, sizeof *self);
  if (self == NULL
      || (self->pieces = malloc (lv->npieces * sizeof *self->pieces)) == NULL) {
    free (self);
    ov_error ("LV %s/%s: out of memory", lv->vg, lv->name);
    return NULL;
  }
  memcpy (self->pieces, lv->pieces, lv->npieces * sizeof *self->pieces);
  self->npieces = lv->npieces;
  self->disk = disk;
  self->base = base;
  self->lv_size = lv->size;
  snprintf (self->label, sizeof self->label, "%s/%s", lv->vg, lv->name);
  img = tsk_img_open_external (self, (TSK_OFF_T) (base + lv->size), 512,
                               lv_img_read, lv_img_close, lv_img_stat);
  if (img == NULL) {
    ov_error ("LV %s: tsk_img_open_external: %s", self->label,
              ov_tsk_error ());
    free (self->pieces);
    free (self);
    return NULL;
  }
  return img;
}

bool
ov_fs_translated (const struct ov_fs *fs)
{
  const struct ov_fs_tsk *t = fs->priv;
  return t && t->lv_img;
}

int
ov_lvm_translate_runs (const struct ov_fs *fs, struct ov_file *f)
{
  const struct ov_fs_tsk *t = fs->priv;
  const struct lv_img *self;
  struct ov_runlist l = { NULL, 0, 0 };
  size_t i;

  if (t == NULL || t->lv_img == NULL)
    return 0;
  self = (const struct lv_img *) t->lv_img;
  for (i = 0; i < f->nruns; i++) {
    const struct ov_run *r = &f->runs[i];
    uint64_t foff = r->file_offset, left = r->length, pos;

    if (r->kind == OV_RUN_SPARSE) {
      if (ov_runlist_append (&l, r->kind, foff, 0, left) == -1)
        goto err;
      continue;
    }
    if (r->disk_offset < self->base
        || r->disk_offset - self->base > self->lv_size
        || (r->kind != OV_RUN_RESIDENT
            && (left > self->lv_size - (r->disk_offset - self->base)
                || left == 0))) {
      ov_error ("%s: inode %" PRIu64 ": run at LV byte %" PRIu64
                " (%" PRIu64 " bytes) past the LV's %" PRIu64 " bytes",
                self->label, f->inode, r->disk_offset - self->base, left,
                self->lv_size);
      goto err;
    }
    pos = r->disk_offset - self->base;
    if (r->kind == OV_RUN_RESIDENT) {
      /* Bytes live in f->resident: only the record's start is moved. */
      const struct ov_lvm_piece *p;
      if (pos >= self->lv_size)
        pos = 0;
      p = &self->pieces[piece_find (self, pos)];
      if (ov_runlist_append (&l, r->kind, foff,
                             p->disk_offset + (pos - p->lv_offset), left) == -1)
        goto err;
      continue;
    }
    do {
      const struct ov_lvm_piece *p = &self->pieces[piece_find (self, pos)];
      uint64_t within = pos - p->lv_offset, n = left;

      if (n > p->length - within)
        n = p->length - within;
      if (ov_runlist_append (&l, r->kind, foff, p->disk_offset + within,
                             n) == -1)
        goto err;
      foff += n, pos += n, left -= n;
    } while (left > 0);
  }
  free (f->runs);
  f->runs = l.runs;
  f->nruns = l.nruns;
  return 0;
 err:
  free (l.runs);
  return -1;
}

int
ov_lvm_translate_ranges (const struct ov_fs *fs, struct ov_run **runs,
                         size_t *nruns)
{
  const struct ov_fs_tsk *t = fs->priv;
  const struct lv_img *self;
  struct ov_run *out = NULL;
  size_t i, n = 0, cap = 0;

  if (t == NULL || t->lv_img == NULL)
    return 0;
  self = (const struct lv_img *) t->lv_img;
  for (i = 0; i < *nruns; i++) {
    const struct ov_run *r = &(*runs)[i];
    uint64_t pos, left = r->length;

    /* ov_inode_blocks clipped them to the fs; keep only what is in the LV. */
    if (r->disk_offset < self->base
        || r->disk_offset - self->base >= self->lv_size)
      continue;
    pos = r->disk_offset - self->base;
    if (left > self->lv_size - pos)
      left = self->lv_size - pos;
    while (left > 0) {
      const struct ov_lvm_piece *p = &self->pieces[piece_find (self, pos)];
      uint64_t within = pos - p->lv_offset, len = left;

      if (len > p->length - within)
        len = p->length - within;
      if (n == OV_MAX_RUNS
          || ov_vector_reserve ((void **) &out, &cap, n + 1, sizeof *out) == -1) {
        free (out);
        ov_error ("%s: directory blocks: out of memory or more than %u runs",
                  self->label, OV_MAX_RUNS);
        return -1;
      }
      out[n++] = (struct ov_run) { .file_offset = 0,
        .disk_offset = p->disk_offset + within, .length = len,
        .kind = OV_RUN_DATA };
      pos += len, left -= len;
    }
  }
  free (*runs);
  *runs = out;
  *nruns = n;
  return 0;
}
