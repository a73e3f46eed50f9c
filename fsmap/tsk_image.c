/* ovscan — fsmap: a TSK image whose bytes come from a struct ov_disk.
 *
 * tsk_img_open_external() takes a caller-allocated struct that begins with
 * TSK_IMG_INFO.  Checked in TSK 4.11.1 (tsk/img/img_io.c): tsk_img_read()
 * applies TSK's own cache (32 entries of 64 KiB, TSK_IMG_INFO_CACHE_*) to
 * every image type including external ones, and it calls our read callback
 * with cache_lock held — so the (not thread-safe) ov_disk is only ever used
 * by one thread at a time through TSK.  No cache of our own is needed.
 *
 * TSK may ask for bytes past the end of the image (it rounds lengths up to
 * the sector size, and bypasses its size clipping for reads larger than a
 * cache entry): we return what exists, a short count, never reading past
 * the disk's end.
 *
 * Replayed ext journals (fsmap/ext_journal_view.c) are applied here, under
 * TSK's cache: every read returns the journal copy of a replayed block
 * instead of its stale home bytes.  The image owns those journal objects.
 */
#include "fsmap/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "fsmap/ext_journal.h"

struct ov_tsk_img {
  TSK_IMG_INFO img;              /* must be first */
  struct ov_disk *disk;
  struct ov_ext_journal **journals;   /* owned */
  size_t njournals;
};

const char *
ov_tsk_error (void)
{
  const char *s = tsk_error_get ();
  return s ? s : "unknown TSK error";
}

static ssize_t
image_read (TSK_IMG_INFO *img, TSK_OFF_T off, char *buf, size_t len)
{
  struct ov_tsk_img *self = (struct ov_tsk_img *) img;
  uint64_t size = ov_disk_size (self->disk);

  if (off < 0 || (uint64_t) off >= size) {
    tsk_error_reset ();
    tsk_error_set_errno (TSK_ERR_IMG_READ_OFF);
    tsk_error_set_errstr ("read at offset %lld past the end of %s",
                          (long long) off, ov_disk_label (self->disk));
    return -1;
  }
  if (len > size - (uint64_t) off)
    len = size - (uint64_t) off;
  if (len > SSIZE_MAX)
    len = SSIZE_MAX;
  if (ov_disk_pread (self->disk, buf, len, (uint64_t) off) == -1) {
    tsk_error_reset ();
    tsk_error_set_errno (TSK_ERR_IMG_READ);
    tsk_error_set_errstr ("%s", ov_last_error ());
    return -1;
  }
  for (size_t i = 0; i < self->njournals; i++)
    if (ov_ext_journal_patch (self->journals[i], self->disk, buf, len,
                              (uint64_t) off) == -1) {
      tsk_error_reset ();
      tsk_error_set_errno (TSK_ERR_IMG_READ);
      tsk_error_set_errstr ("%s", ov_last_error ());
      return -1;
    }
  return (ssize_t) len;
}

static void
image_close (TSK_IMG_INFO *img)
{
  struct ov_tsk_img *self = (struct ov_tsk_img *) img;
  for (size_t i = 0; i < self->njournals; i++)
    ov_ext_journal_free (self->journals[i]);
  free (self->journals);
  free (img);
}

int
ov_tsk_image_add_journal (TSK_IMG_INFO *img, struct ov_ext_journal *j)
{
  struct ov_tsk_img *self = (struct ov_tsk_img *) img;
  struct ov_ext_journal **v = realloc (self->journals, (self->njournals + 1)
                                       * sizeof *v);
  if (v == NULL)
    return -1;
  self->journals = v;
  self->journals[self->njournals++] = j;
  return 0;
}

/* Forget what TSK cached (bytes read before a journal was added).  Only
 * while the map is being opened: one thread, no TSK read in flight. */
void
ov_tsk_image_flush (TSK_IMG_INFO *img)
{
  for (size_t i = 0; i < TSK_IMG_INFO_CACHE_NUM; i++) {
    img->cache_len[i] = 0;
    img->cache_age[i] = 0;
  }
}

static void
image_stat (TSK_IMG_INFO *img, FILE *fp)
{
  struct ov_tsk_img *self = (struct ov_tsk_img *) img;
  fprintf (fp, "ovscan disk: %s\n", ov_disk_label (self->disk));
}

TSK_IMG_INFO *
ov_tsk_image_open (struct ov_disk *disk)
{
  struct ov_tsk_img *self;
  TSK_IMG_INFO *img;

  if (ov_disk_size (disk) > INT64_MAX) {
    ov_error ("%s: disk size %llu too large", ov_disk_label (disk),
              (unsigned long long) ov_disk_size (disk));
    return NULL;
  }
  /* Allocated with tsk_malloc's peer: TSK frees nothing of ours, our close
   * callback does. */
  self = calloc (1, sizeof *self);
  if (self == NULL) {
    ov_error ("%s: out of memory for the TSK image", ov_disk_label (disk));
    return NULL;
  }
  self->disk = disk;
  img = tsk_img_open_external (self, (TSK_OFF_T) ov_disk_size (disk), 512,
                               image_read, image_close, image_stat);
  if (img == NULL) {
    ov_error ("%s: tsk_img_open_external: %s", ov_disk_label (disk),
              ov_tsk_error ());
    free (self);
    return NULL;
  }
  return img;
}
