/* ovscan — fsmap: LVM2 physical volumes, volume groups and logical volumes,
 * read host-side from the disk's bytes.
 *
 * Why host-side and not libguestfs: the LVM2 on-disk format is small and
 * documented (a label in the first 4 sectors, a metadata-area header, a
 * text description of the VG), and reading it costs a few sector reads,
 * while libguestfs would start its appliance (25-60 s here without KVM, a
 * few seconds with it) for every poll that has a dirty block in an LV.  An
 * ext4 or NTFS filesystem inside an LV is then read by TSK like any other
 * volume: no appliance at all.  The map is rebuilt at every fsmap open, so
 * a changed metadata area (lvextend, pvmove) is always read fresh.
 *
 * On-disk format (LVM2 lib/format_text/layout.h, lib/label/label.h):
 *   label_header  in one of sectors 0-3: "LABELONE", sector_xl (its own
 *                 sector number), crc_xl (of bytes 20..511), offset_xl (of
 *                 the pv_header), "LVM2 001".
 *   pv_header     pv_uuid[32], device_size, then two zero-terminated lists of
 *                 (offset, size) in bytes: data areas, metadata areas.
 *   mda_header    at a metadata area's offset: checksum (of bytes 4..511),
 *                 magic " LVM2 x[5A%r0N*>", version 1, start, size, then
 *                 raw_locn entries (offset from the area's start, size,
 *                 checksum of the text, flags).  The text is a circular
 *                 buffer after the 512-byte header: it may wrap.
 *   checksums     CRC-32 (reflected 0xEDB88320) seeded with 0xf597a6cf,
 *                 no final inversion.
 * Extents: LV extent e of a linear segment whose stripe is (pvN, pe) lies at
 * PV byte pe_start*512 + (pe + e - start_extent) * extent_size*512.
 *
 * Supported: linear segments (type "striped" with stripe_count 1), any
 * number of them per LV.  Refused with a reason on that LV only: striped
 * with several stripes, mirror/raid/thin/cache/snapshot types, a segment on
 * a PV not found on this disk, a segment past its PV's extents or the disk,
 * segments that do not cover the LV.  Hidden LVs (no "VISIBLE" status:
 * mirror legs, pool data) are components of visible ones and not listed.
 *
 * Invariants: every guest number is checked for overflow and against the
 * PV and disk sizes before it becomes an offset; names are LVM's charset,
 * shorter than 128 bytes.  Cost: 2-3 small reads per PV plus the metadata
 * text (usually a few KiB, at most OV_LVM_MAX_TEXT).
 */
#include "fsmap/lvm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/vector.h"

#define SECTOR 512
#define LABEL_SCAN_SECTORS 4
#define MDA_HEADER_SIZE 512
#define RAW_LOCN_IGNORED 0x1
static const char mda_magic[16] = " LVM2 x[5A%r0N*>";

static uint32_t
lvm_crc (uint32_t crc, const unsigned char *p, size_t n)
{
  size_t i;
  int k;

  for (i = 0; i < n; i++) {
    crc ^= p[i];
    for (k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return crc;
}
#define LVM_INITIAL_CRC 0xf597a6cfu

static bool
is_uuid_char (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
    || (c >= '0' && c <= '9') || c == '!' || c == '#';
}

static char *
fmt (const char *f, ...) __attribute__ ((format (printf, 1, 2)));

static char *
fmt (const char *f, ...)
{
  va_list ap;
  char *s;

  va_start (ap, f);
  if (vasprintf (&s, f, ap) == -1)
    s = NULL;
  va_end (ap);
  return s;
}

void
ov_lvm_pv_clear (struct ov_lvm_pv *pv)
{
  free (pv->text);
  free (pv->error);
  memset (pv, 0, sizeof *pv);
}

/* Read the current metadata text of the metadata area at PV byte `mda`
 * (size `mda_size` per the pv_header).  0 with pv->text, or 0 with
 * pv->error, or -1 on a read error / ENOMEM. */
static int
read_mda (ov_sector_read_fn read, void *opaque, struct ov_lvm_pv *pv,
          uint64_t mda, uint64_t mda_size)
{
  unsigned char h[MDA_HEADER_SIZE];
  uint64_t start, size, loff, lsize, first;
  uint32_t lcrc, lflags;
  unsigned i;
  char *text;

  if (mda_size < MDA_HEADER_SIZE || mda > pv->size
      || mda_size > pv->size - mda) {
    pv->error = fmt ("metadata area at PV byte %" PRIu64 " (%" PRIu64
                     " bytes) lies past the volume (%" PRIu64 " bytes)",
                     mda, mda_size, pv->size);
    return 0;
  }
  if (read (opaque, h, sizeof h, pv->offset + mda) == -1)
    return -1;
  if (memcmp (h + 4, mda_magic, sizeof mda_magic) != 0) {
    pv->error = fmt ("metadata area at PV byte %" PRIu64 ": bad magic", mda);
    return 0;
  }
  if (lvm_crc (LVM_INITIAL_CRC, h + 4, sizeof h - 4) != le32 (h)) {
    pv->error = fmt ("metadata area at PV byte %" PRIu64
                     ": header checksum mismatch", mda);
    return 0;
  }
  start = le64 (h + 24);
  size = le64 (h + 32);
  if (le32 (h + 20) != 1 || start != mda || size != mda_size) {
    pv->error = fmt ("metadata area at PV byte %" PRIu64 ": version %" PRIu32
                     ", start %" PRIu64 ", size %" PRIu64 " disagree with the"
                     " label", mda, le32 (h + 20), start, size);
    return 0;
  }
  /* The first raw_locn in use holds the current metadata. */
  for (i = 0; 40 + 24 * (i + 1) <= sizeof h; i++) {
    const unsigned char *r = h + 40 + 24 * i;
    loff = le64 (r);
    lsize = le64 (r + 8);
    lcrc = le32 (r + 16);
    lflags = le32 (r + 20);
    if (loff == 0)
      break;
    if (!(lflags & RAW_LOCN_IGNORED))
      goto found;
  }
  pv->error = fmt ("metadata area at PV byte %" PRIu64 ": no metadata", mda);
  return 0;

 found:
  if (loff < MDA_HEADER_SIZE || loff >= size || lsize == 0
      || lsize > size - MDA_HEADER_SIZE || lsize > OV_LVM_MAX_TEXT) {
    pv->error = fmt ("metadata area at PV byte %" PRIu64 ": text at %" PRIu64
                     " (%" PRIu64 " bytes) does not fit the area (%" PRIu64
                     " bytes)", mda, loff, lsize, size);
    return 0;
  }
  text = malloc (lsize + 1);
  if (text == NULL) {
    ov_error_errno (errno, "LVM metadata");
    return -1;
  }
  /* Circular buffer: the text may wrap to just after the header. */
  first = lsize <= size - loff ? lsize : size - loff;
  if (read (opaque, text, first, pv->offset + mda + loff) == -1
      || (first < lsize
          && read (opaque, text + first, lsize - first,
                   pv->offset + mda + MDA_HEADER_SIZE) == -1)) {
    free (text);
    return -1;
  }
  if (lvm_crc (LVM_INITIAL_CRC, (unsigned char *) text, lsize) != lcrc) {
    free (text);
    pv->error = fmt ("metadata area at PV byte %" PRIu64 ": text checksum"
                     " mismatch (corrupt metadata)", mda);
    return 0;
  }
  text[lsize] = '\0';
  pv->text = text;
  return 0;
}

/* A PV was found: 1, or -1 if its error message could not be allocated. */
static int
probe_result (struct ov_lvm_pv *pv)
{
  if (pv->error == NULL) {
    ov_error_errno (ENOMEM, "LVM label");
    return -1;
  }
  return 1;
}

int
ov_lvm_probe (ov_sector_read_fn read, void *opaque, uint64_t offset,
              uint64_t size, struct ov_lvm_pv *pv)
{
  unsigned char s[SECTOR];
  const unsigned char *ph, *p;
  uint32_t off;
  unsigned i, list;
  uint64_t mdas[8][2];
  unsigned nmdas = 0;

  memset (pv, 0, sizeof *pv);
  if (size < LABEL_SCAN_SECTORS * SECTOR)
    return 0;
  for (i = 0; i < LABEL_SCAN_SECTORS; i++) {
    if (read (opaque, s, SECTOR, offset + (uint64_t) i * SECTOR) == -1)
      return -1;
    if (memcmp (s, "LABELONE", 8) == 0 && memcmp (s + 24, "LVM2 001", 8) == 0)
      break;
  }
  if (i == LABEL_SCAN_SECTORS)
    return 0;
  pv->offset = offset;
  pv->size = size;
  if (le64 (s + 8) != i) {
    pv->error = fmt ("PV label in sector %u says sector %" PRIu64, i, le64 (s + 8));
    return probe_result (pv);
  }
  if (lvm_crc (LVM_INITIAL_CRC, s + 20, SECTOR - 20) != le32 (s + 16)) {
    pv->error = fmt ("PV label in sector %u: checksum mismatch", i);
    return probe_result (pv);
  }
  off = le32 (s + 20);
  if (off < 32 || off > SECTOR - 40 - 16) {
    pv->error = fmt ("PV label: header offset %" PRIu32 " out of the sector", off);
    return probe_result (pv);
  }
  ph = s + off;
  for (i = 0; i < 32; i++) {
    if (!is_uuid_char (ph[i])) {
      pv->error = fmt ("PV label: UUID is not printable");
      return probe_result (pv);
    }
    pv->uuid[i] = (char) ph[i];
  }
  pv->uuid[32] = '\0';
  /* Two zero-terminated lists of (offset, size): data, then metadata. */
  p = ph + 40;
  for (list = 0; list < 2; list++) {
    for (;;) {
      if (p + 16 > s + SECTOR) {
        pv->error = fmt ("PV label: area lists run past the sector");
        return probe_result (pv);
      }
      if (le64 (p) == 0) {
        p += 16;
        break;
      }
      if (list == 1 && nmdas < sizeof mdas / sizeof mdas[0]) {
        mdas[nmdas][0] = le64 (p);
        mdas[nmdas][1] = le64 (p + 8);
        nmdas++;
      }
      p += 16;
    }
  }
  if (nmdas == 0) {
    pv->error = fmt ("PV %s holds no metadata area (its VG's metadata is on"
                     " another PV)", pv->uuid);
    return probe_result (pv);
  }
  /* The first area that reads cleanly wins; keep the first error. */
  for (i = 0; i < nmdas; i++) {
    char *first_error = pv->error;
    pv->error = NULL;
    if (read_mda (read, opaque, pv, mdas[i][0], mdas[i][1]) == -1) {
      free (first_error);
      return -1;
    }
    if (pv->text) {
      free (first_error);
      free (pv->error);
      pv->error = NULL;
      return 1;
    }
    if (first_error) {
      free (pv->error);
      pv->error = first_error;
    }
  }
  if (pv->error == NULL) {
    ov_error_errno (ENOMEM, "LVM metadata");
    return -1;
  }
  return 1;
}

/* ---- volume groups -> logical volumes ---- */

struct vg {
  const char *name;              /* key of the VG section in the tree */
  const char *id;
  int64_t seqno;
  struct ov_lvm_node tree;       /* the whole parsed text (owned) */
  const struct ov_lvm_node *sec; /* the VG section inside tree */
};

static bool
valid_name (const char *s)
{
  size_t n = strlen (s), i;

  if (n == 0 || n >= 128 || s[0] == '-' || strcmp (s, ".") == 0
      || strcmp (s, "..") == 0)
    return false;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '+' || c == '_' || c == '.'
          || c == '-'))
      return false;
  }
  return true;
}

/* "abcdef-…" -> "abcdef…" (LVM prints UUIDs with dashes). */
static void
uuid_strip (const char *in, char out[33])
{
  size_t n = 0;

  for (; *in && n < 32; in++)
    if (*in != '-')
      out[n++] = *in;
  out[n] = '\0';
}

static int
add_warning (struct ov_lvm_layout *l, char *msg)
{
  if (msg == NULL) {
    ov_error_errno (ENOMEM, "LVM");
    return -1;
  }
  if (ov_vector_reserve ((void **) &l->warnings, &l->warnings_cap,
                         l->nwarnings + 1, sizeof *l->warnings) == -1) {
    free (msg);
    return -1;
  }
  l->warnings[l->nwarnings++] = msg;
  return 0;
}

static bool
has_status (const struct ov_lvm_node *lv, const char *flag)
{
  const struct ov_lvm_node *st = ov_lvm_get (lv, "status");
  size_t i;

  if (st == NULL || st->kind != OV_LVM_ARRAY)
    return false;
  for (i = 0; i < st->nkids; i++)
    if (st->kids[i].kind == OV_LVM_STRING && strcmp (st->kids[i].str, flag) == 0)
      return true;
  return false;
}

/* Where PV `pvkey` of the VG is on this disk: its offset, volume size and
 * data start; NULL + *why if not found. */
struct pv_place {
  uint64_t offset, size, pe_start, pe_count;
};

static char *
locate_pv (const struct vg *vg, const char *pvkey,
           const struct ov_lvm_pv *pvs, size_t npvs, struct pv_place *out)
{
  const struct ov_lvm_node *pvsec, *pv;
  const char *id;
  char uuid[33];
  int64_t pe_start, pe_count;
  size_t i;

  pvsec = ov_lvm_get (vg->sec, "physical_volumes");
  pv = ov_lvm_get (pvsec, pvkey);
  if (pv == NULL || pv->kind != OV_LVM_SECTION) {
    /* pvkey is a string from the guest's text: any bytes. */
    CLEANUP_FREE char *q = ov_quote_path (pvkey);
    return fmt ("VG %s has no physical volume \"%s\"", vg->name, q ? q : "?");
  }
  id = ov_lvm_get_str (pv, "id");
  if (id == NULL || ov_lvm_get_num (pv, "pe_start", &pe_start) == -1
      || ov_lvm_get_num (pv, "pe_count", &pe_count) == -1
      || pe_start < 0 || pe_count < 0 || (uint64_t) pe_start > UINT64_MAX / SECTOR)
    return fmt ("VG %s: physical volume %s: id, pe_start or pe_count"
                " missing or invalid", vg->name, pvkey);
  uuid_strip (id, uuid);
  for (i = 0; i < npvs; i++)
    if (strcmp (pvs[i].uuid, uuid) == 0)
      break;
  if (i == npvs) {
    CLEANUP_FREE char *q = ov_quote_path (id);
    return fmt ("VG %s: physical volume %s (UUID %s) is missing: not found"
                " on this disk", vg->name, pvkey, q ? q : "?");
  }
  out->offset = pvs[i].offset;
  out->size = pvs[i].size;
  out->pe_start = (uint64_t) pe_start * SECTOR;
  out->pe_count = (uint64_t) pe_count;
  return NULL;
}

static int
add_piece (struct ov_lvm_lv *lv, uint64_t lv_offset, uint64_t disk_offset,
           uint64_t length)
{
  struct ov_lvm_piece *last;

  last = lv->npieces ? &lv->pieces[lv->npieces - 1] : NULL;
  if (last && last->lv_offset + last->length == lv_offset
      && last->disk_offset + last->length == disk_offset) {
    last->length += length;
    return 0;
  }
  if (ov_vector_reserve ((void **) &lv->pieces, &lv->pieces_cap,
                         lv->npieces + 1, sizeof *lv->pieces) == -1)
    return -1;
  lv->pieces[lv->npieces++] = (struct ov_lvm_piece) { lv_offset, disk_offset, length };
  return 0;
}

struct seg {
  const struct ov_lvm_node *n;
  int64_t start, count;
};
DEFINE_VECTOR (seg_vector, struct seg);

static int
compare_segs (const void *a, const void *b)
{
  const struct seg *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

/* Fill lv's pieces from its segments, or set lv->error.  -1 on ENOMEM. */
static int
map_lv (const struct vg *vg, const struct ov_lvm_node *lvn, uint64_t extent,
        const struct ov_lvm_pv *pvs, size_t npvs, uint64_t disk_size,
        struct ov_lvm_lv *lv)
{
  seg_vector sv = VECTOR_INIT;
  struct seg *segs;
  size_t nsegs, i;
  uint64_t next = 0;
  int ret = -1;

  for (i = 0; i < lvn->nkids; i++) {
    const struct ov_lvm_node *k = &lvn->kids[i];
    struct seg sg = { .n = k };

    if (k->kind != OV_LVM_SECTION || strncmp (k->key, "segment", 7) != 0)
      continue;
    if (sv.len >= OV_LVM_MAX_PIECES) {
      lv->error = fmt ("more than %u segments", OV_LVM_MAX_PIECES);
      goto done;
    }
    if (ov_lvm_get_num (k, "start_extent", &sg.start) == -1
        || ov_lvm_get_num (k, "extent_count", &sg.count) == -1
        || sg.start < 0 || sg.count <= 0) {
      lv->error = fmt ("%s: start_extent/extent_count missing or invalid", k->key);
      goto done;
    }
    if (seg_vector_append (&sv, sg) == -1)
      goto out;
  }
  segs = sv.ptr;
  nsegs = sv.len;
  if (nsegs == 0) {
    lv->error = fmt ("no segments");
    goto done;
  }
  qsort (segs, nsegs, sizeof *segs, compare_segs);
  for (i = 0; i < nsegs; i++) {
    const struct ov_lvm_node *s = segs[i].n, *stripes;
    const char *type = ov_lvm_get_str (s, "type");
    int64_t nstripes = 0, pe;
    uint64_t start = (uint64_t) segs[i].start, count = (uint64_t) segs[i].count;
    uint64_t lv_off, pv_off, len, disk;
    struct pv_place place = { 0, 0, 0, 0 };
    char *why;

    if (start != next) {
      lv->error = fmt ("%s: starts at extent %" PRIu64 ", expected %" PRIu64
                       " (segments do not cover the LV)", s->key, start, next);
      goto done;
    }
    if (type == NULL || strcmp (type, "striped") != 0) {
      CLEANUP_FREE char *q = type ? ov_quote_path (type) : NULL;
      lv->error = fmt ("%s: segment type \"%s\" is not supported (linear only)",
                       s->key, q ? q : "?");
      goto done;
    }
    ov_lvm_get_num (s, "stripe_count", &nstripes);
    stripes = ov_lvm_get (s, "stripes");
    if (nstripes != 1) {
      lv->error = fmt ("%s: striped over %" PRId64 " PVs is not supported"
                       " (linear only)", s->key, nstripes);
      goto done;
    }
    if (stripes == NULL || stripes->kind != OV_LVM_ARRAY || stripes->nkids != 2
        || stripes->kids[0].kind != OV_LVM_STRING
        || stripes->kids[1].kind != OV_LVM_NUMBER
        || (pe = stripes->kids[1].num) < 0) {
      lv->error = fmt ("%s: stripes list invalid", s->key);
      goto done;
    }
    why = locate_pv (vg, stripes->kids[0].str, pvs, npvs, &place);
    if (why) {
      lv->error = why;
      goto done;
    }
    if ((uint64_t) pe > place.pe_count || count > place.pe_count - (uint64_t) pe
        || __builtin_mul_overflow (start, extent, &lv_off)
        || __builtin_mul_overflow ((uint64_t) pe, extent, &pv_off)
        || __builtin_mul_overflow (count, extent, &len)
        || __builtin_add_overflow (pv_off, place.pe_start, &pv_off)
        || pv_off > place.size || len > place.size - pv_off) {
      /* The PV key of a found PV is a section name: LVM's charset. */
      lv->error = fmt ("%s: extents %" PRId64 "+%" PRIu64 " of PV %s lie past"
                       " the physical volume (%" PRIu64 " extents, volume %"
                       PRIu64 " bytes)", s->key, pe, count,
                       stripes->kids[0].str, place.pe_count, place.size);
      goto done;
    }
    disk = place.offset + pv_off;
    if (disk > disk_size || len > disk_size - disk) {
      lv->error = fmt ("%s: disk bytes %" PRIu64 "+%" PRIu64 " lie past the"
                       " end of the disk (%" PRIu64 " bytes)", s->key, disk,
                       len, disk_size);
      goto done;
    }
    if (add_piece (lv, lv_off, disk, len) == -1)
      goto out;
    next = start + count;
  }
  lv->size = next * extent;
 done:
  if (lv->error) {
    free (lv->pieces);
    lv->pieces = NULL;
    lv->npieces = lv->pieces_cap = 0;
  }
  ret = 0;
 out:
  seg_vector_reset (&sv);
  return ret;
}

static int
add_lv (struct ov_lvm_layout *l, struct ov_lvm_lv **out)
{
  if (ov_vector_reserve ((void **) &l->lvs, &l->lvs_cap, l->nlvs + 1,
                         sizeof *l->lvs) == -1)
    return -1;
  *out = &l->lvs[l->nlvs++];
  memset (*out, 0, sizeof **out);
  return 0;
}

static int
build_vg (const struct vg *vg, const struct ov_lvm_pv *pvs, size_t npvs,
          uint64_t disk_size, struct ov_lvm_layout *l)
{
  const struct ov_lvm_node *lvs = ov_lvm_get (vg->sec, "logical_volumes");
  int64_t extent_sectors;
  uint64_t extent;
  size_t i;

  if (ov_lvm_get_num (vg->sec, "extent_size", &extent_sectors) == -1
      || extent_sectors <= 0
      || (uint64_t) extent_sectors > UINT64_MAX / SECTOR / 2)
    return add_warning (l, fmt ("VG %s: extent_size missing or invalid:"
                                " its LVs are not read", vg->name));
  extent = (uint64_t) extent_sectors * SECTOR;
  if (lvs == NULL)
    return 0;
  for (i = 0; i < lvs->nkids; i++) {
    const struct ov_lvm_node *n = &lvs->kids[i];
    struct ov_lvm_lv *lv;

    if (n->kind != OV_LVM_SECTION || !has_status (n, "VISIBLE"))
      continue;
    if (l->nlvs >= OV_LVM_MAX_LVS)
      return add_warning (l, fmt ("more than %u LVs: the rest are not read",
                                  OV_LVM_MAX_LVS));
    if (add_lv (l, &lv) == -1)
      return -1;
    snprintf (lv->vg, sizeof lv->vg, "%s", vg->name);
    if (!valid_name (n->key)) {
      snprintf (lv->name, sizeof lv->name, "invalid-name-%zu", i);
      lv->error = fmt ("LV name is not a valid LVM name");
    }
    else {
      snprintf (lv->name, sizeof lv->name, "%s", n->key);
      if (map_lv (vg, n, extent, pvs, npvs, disk_size, lv) == -1)
        return -1;
    }
    if (lv->error == NULL && lv->npieces == 0)
      lv->error = fmt ("empty");
  }
  return 0;
}

/* Parse one PV's text; find its VG section.  0 with vg->sec set, 0 with a
 * warning added (vg->sec NULL), -1 on ENOMEM. */
static int
parse_vg (const struct ov_lvm_pv *pv, struct vg *vg, struct ov_lvm_layout *l)
{
  size_t i;

  memset (vg, 0, sizeof *vg);
  if (ov_lvm_text_parse (pv->text, strlen (pv->text), &vg->tree) == -1)
    return add_warning (l, fmt ("PV %s: %s: its VG is not read", pv->uuid,
                                ov_last_error ()));
  for (i = 0; i < vg->tree.nkids; i++) {
    const struct ov_lvm_node *n = &vg->tree.kids[i];
    if (n->kind == OV_LVM_SECTION && ov_lvm_get (n, "physical_volumes")) {
      vg->sec = n;
      vg->name = n->key;
      break;
    }
  }
  if (vg->sec == NULL || !valid_name (vg->name)
      || (vg->id = ov_lvm_get_str (vg->sec, "id")) == NULL
      || ov_lvm_get_num (vg->sec, "seqno", &vg->seqno) == -1) {
    ov_lvm_node_clear (&vg->tree);
    vg->sec = NULL;
    return add_warning (l, fmt ("PV %s: metadata names no valid volume group:"
                                " its VG is not read", pv->uuid));
  }
  return 0;
}

int
ov_lvm_assemble (const struct ov_lvm_pv *pvs, size_t npvs,
                 uint64_t disk_size, struct ov_lvm_layout *layout)
{
  struct vg *vgs = NULL;
  size_t nvgs = 0, i, j;
  int ret = -1;

  memset (layout, 0, sizeof *layout);
  vgs = calloc (npvs ? npvs : 1, sizeof *vgs);
  if (vgs == NULL) {
    ov_error_errno (errno, "LVM");
    return -1;
  }
  /* One VG per id: the copy with the highest seqno. */
  for (i = 0; i < npvs; i++) {
    struct vg vg;

    if (pvs[i].text == NULL)
      continue;
    if (parse_vg (&pvs[i], &vg, layout) == -1)
      goto out;
    if (vg.sec == NULL)
      continue;
    for (j = 0; j < nvgs; j++)
      if (strcmp (vgs[j].id, vg.id) == 0)
        break;
    if (j < nvgs && vgs[j].seqno >= vg.seqno) {
      ov_lvm_node_clear (&vg.tree);
      continue;
    }
    if (j < nvgs)
      ov_lvm_node_clear (&vgs[j].tree);
    else
      j = nvgs++;
    vgs[j] = vg;                 /* sec/name point into the heap kids */
  }
  for (i = 0; i < nvgs; i++)
    if (build_vg (&vgs[i], pvs, npvs, disk_size, layout) == -1)
      goto out;
  ret = 0;
 out:
  for (i = 0; i < nvgs; i++)
    ov_lvm_node_clear (&vgs[i].tree);
  free (vgs);
  if (ret == -1)
    ov_lvm_layout_free (layout);
  return ret;
}

void
ov_lvm_layout_free (struct ov_lvm_layout *l)
{
  size_t i;

  for (i = 0; i < l->nlvs; i++) {
    free (l->lvs[i].pieces);
    free (l->lvs[i].error);
  }
  free (l->lvs);
  for (i = 0; i < l->nwarnings; i++)
    free (l->warnings[i]);
  free (l->warnings);
  memset (l, 0, sizeof *l);
}

int
ov_lvm_contiguous (const struct ov_lvm_lv *lv, uint64_t *offset)
{
  if (lv->error || lv->npieces != 1)
    return -1;
  *offset = lv->pieces[0].disk_offset;
  return 0;
}
