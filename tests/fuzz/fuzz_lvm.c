/* ovscan — fuzz target: the LVM2 reader (fsmap/lvm.c, fsmap/lvm_text.c)
 * over arbitrary bytes.  The first input byte picks the mode:
 *
 *   mode 0  disk: bytes 1-8 are the disk size the reader is told, the rest
 *           is the start of the disk (reads past the input return zeros,
 *           past the claimed size fail); ov_lvm_probe at offset 0, then
 *           ov_lvm_assemble of the PV found.
 *   mode 1  the same, but the harness first rewrites the label, metadata
 *           area header and text checksums so mutations reach the text
 *           parser and the VG/LV builder instead of failing the CRCs.
 *   mode 2  metadata text: the rest is the text, parsed directly
 *           (ov_lvm_text_parse) and assembled as the metadata of one PV
 *           whose UUID is the first PV id in the text.
 *
 * Invariant checked: every piece of a usable LV lies inside the disk, the
 * pieces are sorted and cover [0, size), and ov_lvm_span (fsmap/lvm_image.c)
 * either refuses the LV or gives a disk span inside the disk holding it.
 *
 * Built two ways (tests/CMakeLists.txt): a libFuzzer binary (fuzz-lvm, with
 * clang and -DOVSCAN_FUZZ=ON) and, always, with fuzz_lvm_replay.c, a ctest
 * that replays deterministic mutations of real lvm2-written seeds
 * (tests/fuzz/seeds/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsmap/lvm.h"

#define SECTOR 512

#include "tests/fuzz/fuzz_disk.h"

static uint32_t
crc (const uint8_t *p, size_t n)
{
  uint32_t c = 0xf597a6cfu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return c;
}

static uint64_t
get64 (const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void
put32 (uint8_t *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

/* Mode 1: make the checksums of a (mutated) PV in buf right again, where
 * the structures lie inside buf; anything else is left as it is. */
static void
fix_checksums (uint8_t *buf, size_t len)
{
  for (size_t s = 0; s < 4 && (s + 1) * SECTOR <= len; s++) {
    uint8_t *l = buf + s * SECTOR, *p;
    uint32_t off;
    int list = 0;

    if (memcmp (l, "LABELONE", 8) != 0)
      continue;
    put32 (l + 16, crc (l + 20, SECTOR - 20));
    off = (uint32_t) get64 (l + 20) & 0xffffffffu;
    if (off < 32 || off > SECTOR - 56)
      return;
    for (p = l + off + 40; p + 16 <= l + SECTOR; p += 16) {
      uint64_t mda = get64 (p), mda_size = get64 (p + 8);
      uint8_t *h;
      if (mda == 0 && list++ == 1)
        return;
      if (list != 1 || mda == 0 || mda > len || SECTOR > len - mda)
        continue;
      h = buf + mda;
      /* Text checksum of the first raw_locn when it does not wrap. */
      uint64_t loff = get64 (h + 40), lsize = get64 (h + 48);
      if (loff < len - mda && lsize <= len - mda - loff && lsize <= mda_size)
        put32 (h + 56, crc (h + loff, lsize));
      put32 (h, crc (h + 4, SECTOR - 4));
      put32 (l + 16, crc (l + 20, SECTOR - 20));
      return;
    }
    return;
  }
}

static void
check_layout (const struct ov_lvm_layout *lay, uint64_t disk_size)
{
  for (size_t i = 0; i < lay->nlvs; i++) {
    const struct ov_lvm_lv *lv = &lay->lvs[i];
    uint64_t at = 0;
    if (lv->error)
      continue;
    for (size_t k = 0; k < lv->npieces; k++) {
      const struct ov_lvm_piece *pc = &lv->pieces[k];
      if (pc->lv_offset != at || pc->length == 0
          || pc->disk_offset > disk_size
          || pc->length > disk_size - pc->disk_offset)
        __builtin_trap ();
      at += pc->length;
    }
    if (at != lv->size)
      __builtin_trap ();
    /* The check fsmap/lvm_image.c makes before reading an LV in several
     * runs: it may refuse (pieces overlapping on the disk), but a span it
     * accepts lies inside the disk and holds every piece. */
    uint64_t lo, hi;
    if (ov_lvm_span (lv, disk_size, &lo, &hi) == 0
        && (lo >= hi || hi > disk_size || hi - lo < lv->size))
      __builtin_trap ();
  }
}

/* For the replay driver: the number of usable LVs, or -1 (no PV / no
 * metadata / ENOMEM). */
int fuzz_lvm_count (const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_disk (const uint8_t *data, size_t size, int fix)
{
  struct fuzz_disk d;
  struct ov_lvm_pv pv;
  struct ov_lvm_layout lay;
  uint8_t *copy = NULL;
  int n = -1;

  if (size < 9)
    return -1;
  memcpy (&d.size, data + 1, 8);
  d.data = data + 9;
  d.len = size - 9;
  if (fix) {
    if ((copy = malloc (d.len + 1)) == NULL)
      return -1;
    memcpy (copy, d.data, d.len);
    fix_checksums (copy, d.len);
    d.data = copy;
  }
  if (ov_lvm_probe (fuzz_read, &d, 0, d.size, &pv) == 1) {
    if (pv.text && ov_lvm_assemble (&pv, 1, d.size, &lay) == 0) {
      check_layout (&lay, d.size);
      n = 0;
      for (size_t i = 0; i < lay.nlvs; i++)
        n += lay.lvs[i].error == NULL;
      ov_lvm_layout_free (&lay);
    }
    ov_lvm_pv_clear (&pv);
  }
  free (copy);
  return n;
}

static int
run_text (const uint8_t *data, size_t size)
{
  struct ov_lvm_node root;
  struct ov_lvm_pv pv = { .offset = 0, .size = UINT64_C (1) << 40 };
  struct ov_lvm_layout lay;
  const char *id;
  int n = -1;

  if (size < 1)
    return -1;
  if (ov_lvm_text_parse ((const char *) data + 1, size - 1, &root) == 0)
    ov_lvm_node_clear (&root);
  if ((pv.text = malloc (size)) == NULL)
    return -1;
  memcpy (pv.text, data + 1, size - 1);
  pv.text[size - 1] = '\0';
  /* The PV is the first "id" after physical_volumes, dashes removed. */
  id = strstr (pv.text, "physical_volumes");
  id = id ? strstr (id, "id = \"") : NULL;
  if (id) {
    size_t k = 0;
    for (id += 6; *id && *id != '"' && k < 32; id++)
      if (*id != '-')
        pv.uuid[k++] = *id;
  }
  if (ov_lvm_assemble (&pv, 1, pv.size, &lay) == 0) {
    check_layout (&lay, pv.size);
    n = 0;
    for (size_t i = 0; i < lay.nlvs; i++)
      n += lay.lvs[i].error == NULL;
    ov_lvm_layout_free (&lay);
  }
  free (pv.text);
  return n;
}

int
fuzz_lvm_count (const uint8_t *data, size_t size)
{
  if (size < 1)
    return -1;
  switch (data[0] % 3) {
  case 0: return run_disk (data, size, 0);
  case 1: return run_disk (data, size, 1);
  default: return run_text (data, size);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_lvm_count (data, size);
  return 0;
}
