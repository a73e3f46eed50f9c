/* Unit tests of fsmap/lvm.c and fsmap/lvm_text.c on crafted bytes: the text
 * metadata parser (syntax, escapes, bounds), the PV label and metadata
 * area checks (checksums, wrap-around), and LV assembly (linear pieces,
 * merging, order, gaps, missing PV, past the PV / disk, unsupported types). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/lvm.h"

/* ---- text parser ---- */

static void
test_text_parse (void **state)
{
  const char *t =
    "# comment\nvg0 {\n id = \"abc\"\n seqno = 7\n neg = -3\n"
    " s = \"a\\\"b\\\\c\"\n arr = [\"pv0\", 12, [1]]\n empty = []\n"
    " sub { x = 1.5 }\n}\ncontents = \"Text\"\n";
  struct ov_lvm_node root;
  const struct ov_lvm_node *vg, *arr;
  int64_t n;

  (void) state;
  assert_int_equal (ov_lvm_text_parse (t, strlen (t), &root), 0);
  vg = ov_lvm_get (&root, "vg0");
  assert_non_null (vg);
  assert_string_equal (ov_lvm_get_str (vg, "id"), "abc");
  assert_int_equal (ov_lvm_get_num (vg, "seqno", &n), 0);
  assert_int_equal (n, 7);
  assert_int_equal (ov_lvm_get_num (vg, "neg", &n), 0);
  assert_int_equal (n, -3);
  assert_string_equal (ov_lvm_get_str (vg, "s"), "a\"b\\c");
  arr = ov_lvm_get (vg, "arr");
  assert_int_equal (arr->kind, OV_LVM_ARRAY);
  assert_int_equal (arr->nkids, 3);
  assert_int_equal (arr->kids[1].num, 12);
  assert_int_equal (ov_lvm_get (vg, "empty")->nkids, 0);
  assert_int_equal (ov_lvm_get_num (ov_lvm_get (vg, "sub"), "x", &n), 0);
  assert_int_equal (n, 1);
  assert_int_equal (ov_lvm_get_num (vg, "id", &n), -1);   /* wrong type */
  assert_null (ov_lvm_get (vg, "nope"));
  ov_lvm_node_clear (&root);
}

static void
test_text_errors (void **state)
{
  static const char *bad[] = {
    "a {", "a = ", "a = \"x", "a = [1 2]", "}", "= 1", "a = 99999999999999999999",
    "a ? 1", "a = [1,",
  };
  struct ov_lvm_node root;
  char deep[200];
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal (ov_lvm_text_parse (bad[i], strlen (bad[i]), &root), -1);
  /* Nesting is bounded. */
  memset (deep, 0, sizeof deep);
  for (i = 0; i < 60; i++)
    strcat (deep, "a{");
  assert_int_equal (ov_lvm_text_parse (deep, strlen (deep), &root), -1);
  memset (deep, 0, sizeof deep);
  strcpy (deep, "a = ");
  for (i = 0; i < 60; i++)
    strcat (deep, "[");
  assert_int_equal (ov_lvm_text_parse (deep, strlen (deep), &root), -1);
  /* Never reads past len: the closing brace is outside. */
  assert_int_equal (ov_lvm_text_parse ("a { }", 4, &root), -1);
}

/* ---- PV label and metadata area on a crafted disk ---- */

#define DISK (4u << 20)
static unsigned char disk[DISK];

static int
read_mem (void *opaque, void *buf, size_t count, uint64_t offset)
{
  (void) opaque;
  if (offset > DISK || count > DISK - offset)
    return -1;
  memcpy (buf, disk + offset, count);
  return 0;
}

static uint32_t
crc (const void *p, size_t n)
{
  const unsigned char *b = p;
  uint32_t c = 0xf597a6cfu;
  size_t i;
  int k;
  for (i = 0; i < n; i++) {
    c ^= b[i];
    for (k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return c;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

static void
put64 (unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

static const char uuid[] = "AAAAbbbbCCCCddddEEEEffffGGGGhhhh";

/* A PV at `pv` with a 64 KiB metadata area at PV byte 4096 whose text is
 * placed at area offset `toff` (wrapping if it does not fit). */
static void
make_pv (uint64_t pv, const char *text, uint64_t toff)
{
  unsigned char *l = disk + pv + 512, *h = disk + pv + 4096, *r;
  uint64_t asize = 65536, len = strlen (text), first;

  memset (disk + pv, 0, 4096 + asize);
  memcpy (l, "LABELONE", 8);
  put64 (l + 8, 1);
  put32 (l + 20, 32);
  memcpy (l + 24, "LVM2 001", 8);
  memcpy (l + 32, uuid, 32);
  put64 (l + 64, DISK - pv);
  put64 (l + 72, 1 << 20); put64 (l + 80, 0);     /* data area */
  /* zero terminator at 88 */
  put64 (l + 104, 4096); put64 (l + 112, asize);  /* metadata area */
  put32 (l + 16, crc (l + 20, 512 - 20));

  memcpy (h + 4, " LVM2 x[5A%r0N*>", 16);
  put32 (h + 20, 1);
  put64 (h + 24, 4096);
  put64 (h + 32, asize);
  r = h + 40;
  put64 (r, toff);
  put64 (r + 8, len);
  put32 (r + 16, crc (text, len));
  first = len <= asize - toff ? len : asize - toff;
  memcpy (h + toff, text, first);
  memcpy (h + 512, text + first, len - first);
  put32 (h, crc (h + 4, 512 - 4));
}

static const char vg_text[] =
  "vg0 {\nid = \"x\"\nseqno = 2\nextent_size = 2048\n"   /* 1 MiB */
  "physical_volumes {\npv0 {\nid = \"AAAAbb-bbCCCC-ddddEEEEffffGGGGhhhh\"\n"
  "pe_start = 2048\npe_count = 2\n}\n}\n"
  "logical_volumes {\n"
  "root {\nstatus = [\"READ\", \"VISIBLE\"]\nsegment_count = 2\n"
  "segment2 {\nstart_extent = 1\nextent_count = 1\ntype = \"striped\"\n"
  "stripe_count = 1\nstripes = [\"pv0\", 1]\n}\n"
  "segment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"striped\"\n"
  "stripe_count = 1\nstripes = [\"pv0\", 0]\n}\n}\n"
  "hidden {\nstatus = [\"READ\"]\n}\n"
  "}\n}\n";

static void
test_probe_and_assemble (void **state)
{
  struct ov_lvm_pv pv;
  struct ov_lvm_layout l;
  uint64_t off;

  (void) state;
  make_pv (0, vg_text, 60000);                    /* wraps */
  assert_int_equal (ov_lvm_probe (read_mem, NULL, 0, DISK, &pv), 1);
  assert_null (pv.error);
  assert_string_equal (pv.uuid, uuid);
  assert_string_equal (pv.text, vg_text);
  assert_int_equal (ov_lvm_assemble (&pv, 1, DISK, &l), 0);
  assert_int_equal (l.nlvs, 1);                   /* hidden LV not listed */
  assert_string_equal (l.lvs[0].vg, "vg0");
  assert_string_equal (l.lvs[0].name, "root");
  assert_null (l.lvs[0].error);
  assert_int_equal (l.lvs[0].size, 2 << 20);
  assert_int_equal (l.lvs[0].npieces, 1);         /* adjacent: merged */
  assert_int_equal (ov_lvm_contiguous (&l.lvs[0], &off), 0);
  assert_int_equal (off, 1 << 20);
  ov_lvm_layout_free (&l);

  /* Past the disk: the same PV seen on a disk of 1.5 MiB. */
  assert_int_equal (ov_lvm_assemble (&pv, 1, 3 << 19, &l), 0);
  assert_non_null (l.lvs[0].error);
  assert_non_null (strstr (l.lvs[0].error, "past the end of the disk"));
  ov_lvm_layout_free (&l);
  ov_lvm_pv_clear (&pv);

  /* Corrupt text: checksum mismatch. */
  make_pv (0, vg_text, 1024);
  disk[4096 + 1024 + 3] ^= 1;
  assert_int_equal (ov_lvm_probe (read_mem, NULL, 0, DISK, &pv), 1);
  assert_null (pv.text);
  assert_non_null (strstr (pv.error, "text checksum mismatch"));
  ov_lvm_pv_clear (&pv);

  /* Corrupt label: checksum mismatch. */
  make_pv (0, vg_text, 1024);
  disk[512 + 40] ^= 1;
  assert_int_equal (ov_lvm_probe (read_mem, NULL, 0, DISK, &pv), 1);
  assert_non_null (strstr (pv.error, "checksum mismatch"));
  ov_lvm_pv_clear (&pv);

  /* No label at all. */
  memset (disk, 0, 8192);
  assert_int_equal (ov_lvm_probe (read_mem, NULL, 0, DISK, &pv), 0);
}

/* Assemble from a text alone (the PV's uuid fixed). */
static const char *
lv_error (const char *text)
{
  static char buf[512];
  struct ov_lvm_pv pv = { .offset = 0, .size = DISK };
  struct ov_lvm_layout l;

  memcpy (pv.uuid, uuid, 33);
  pv.text = (char *) text;
  assert_int_equal (ov_lvm_assemble (&pv, 1, DISK, &l), 0);
  if (l.nlvs == 0)
    snprintf (buf, sizeof buf, "no LV; %s", l.nwarnings ? l.warnings[0] : "");
  else
    snprintf (buf, sizeof buf, "%s", l.lvs[0].error ? l.lvs[0].error : "ok");
  ov_lvm_layout_free (&l);
  return buf;
}

#define VG_HEAD "vg0 {\nid = \"x\"\nseqno = 1\nextent_size = 2048\n" \
  "physical_volumes {\npv0 {\nid = \"AAAAbbbbCCCCddddEEEEffffGGGGhhhh\"\n" \
  "pe_start = 2048\npe_count = 3\n}\n" \
  "pv1 {\nid = \"ZZZZ\"\npe_start = 2048\npe_count = 3\n}\n}\n" \
  "logical_volumes {\nlv {\nstatus = [\"VISIBLE\"]\n"
#define SEG(n, start, count, type, stripes) \
  "segment" #n " {\nstart_extent = " #start "\nextent_count = " #count \
  "\ntype = \"" type "\"\nstripe_count = 1\nstripes = [" stripes "]\n}\n"
#define VG_TAIL "}\n}\n}\n"

static void
test_assemble_errors (void **state)
{
  (void) state;
  assert_string_equal (lv_error (VG_HEAD SEG (1, 0, 2, "striped", "\"pv0\", 0") VG_TAIL), "ok");
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 2, "striped", "\"pv1\", 0") VG_TAIL),
                           "is missing: not found on this disk"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 2, "striped", "\"pv0\", 2") VG_TAIL),
                           "past the physical volume"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 2, "striped", "\"pv0\", 9223372036854775807") VG_TAIL),
                           "past the physical volume"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 1, 1, "striped", "\"pv0\", 0") VG_TAIL),
                           "do not cover"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 1, "thin", "\"pv0\", 0") VG_TAIL),
                           "not supported"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 1, "striped", "\"pv9\", 0") VG_TAIL),
                           "no physical volume \"pv9\""));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 1, "striped", "0, \"pv0\"") VG_TAIL),
                           "stripes list invalid"));
  /* Guest strings in errors are quoted: a control byte and a backslash in
   * the segment type, the stripes' PV name and a PV's id come out as \x01
   * and \\ (fs->error is printed raw and as JSON). */
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 1, "th\001in\\\\", "\"pv0\", 0") VG_TAIL),
                           "segment type \"th\\x01in\\\\\" is not supported"));
  assert_non_null (strstr (lv_error (VG_HEAD SEG (1, 0, 1, "striped", "\"p\033[2Jv\", 0") VG_TAIL),
                           "no physical volume \"p\\x1b[2Jv\""));
  {
    char text[2048];
    const char *err;
    snprintf (text, sizeof text, "%s", VG_HEAD SEG (1, 0, 2, "striped", "\"pv1\", 0") VG_TAIL);
    memcpy (strstr (text, "id = \"ZZZZ\"") + 6, "Z\nZ\001", 4);
    err = lv_error (text);
    if (strstr (err, "(UUID Z\\nZ\\x01) is missing") == NULL)
      fail_msg ("PV id not quoted: %s", err);
  }
  assert_non_null (strstr (lv_error ("vg0 { id = \"x\" }"), "no LV"));
  assert_non_null (strstr (lv_error ("vg0 { id = "), "no LV; PV"));
  /* A non-contiguous LV: two pieces. */
  {
    struct ov_lvm_pv pv = { .offset = 0, .size = DISK };
    struct ov_lvm_layout l;
    uint64_t off;
    memcpy (pv.uuid, uuid, 33);
    pv.text = (char *) (VG_HEAD SEG (1, 0, 1, "striped", "\"pv0\", 2")
                        SEG (2, 1, 1, "striped", "\"pv0\", 0") VG_TAIL);
    assert_int_equal (ov_lvm_assemble (&pv, 1, DISK, &l), 0);
    assert_null (l.lvs[0].error);
    assert_int_equal (l.lvs[0].npieces, 2);
    assert_int_equal (l.lvs[0].pieces[0].disk_offset, 3 << 20);
    assert_int_equal (l.lvs[0].pieces[1].lv_offset, 1 << 20);
    assert_int_equal (l.lvs[0].pieces[1].disk_offset, 1 << 20);
    assert_int_equal (ov_lvm_contiguous (&l.lvs[0], &off), -1);
    ov_lvm_layout_free (&l);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_text_parse),
    cmocka_unit_test (test_text_errors),
    cmocka_unit_test (test_probe_and_assemble),
    cmocka_unit_test (test_assemble_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
