/* Unit tests of fsmap/lvm_image.c: the piece checks of an LV stored in
 * several runs (gap, overlap, past the disk, short cover) and the
 * translation of a file's runs from the LV image's bytes to disk bytes
 * (a run crossing a piece boundary split, sparse runs, a run past the LV
 * refused) and of directory-block ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/lvm.h"

#define MIB (UINT64_C (1) << 20)

/* LV of 24 MiB: LV [0,8M) at disk 10M, LV [8M,24M) at disk 40M. */
static struct ov_lvm_piece two[] = {
  { 0, 10 * MIB, 8 * MIB }, { 8 * MIB, 40 * MIB, 16 * MIB },
};

static struct ov_lvm_lv
lv_of (struct ov_lvm_piece *p, size_t n, uint64_t size)
{
  struct ov_lvm_lv lv;
  memset (&lv, 0, sizeof lv);
  strcpy (lv.vg, "vg0");
  strcpy (lv.name, "data");
  lv.pieces = p;
  lv.npieces = n;
  lv.size = size;
  return lv;
}

static void
test_span (void **state)
{
  struct ov_lvm_lv lv = lv_of (two, 2, 24 * MIB);
  struct ov_lvm_piece overlap[] = {
    { 0, 10 * MIB, 8 * MIB }, { 8 * MIB, 14 * MIB, 8 * MIB } };
  struct ov_lvm_piece gap[] = {
    { 0, 10 * MIB, 8 * MIB }, { 9 * MIB, 40 * MIB, 8 * MIB } };
  uint64_t lo, hi;

  (void) state;
  assert_int_equal (ov_lvm_span (&lv, 64 * MIB, &lo, &hi), 0);
  assert_true (lo == 10 * MIB && hi == 56 * MIB);
  /* second piece past a 50 MiB disk */
  assert_int_equal (ov_lvm_span (&lv, 50 * MIB, &lo, &hi), -1);
  lv = lv_of (overlap, 2, 16 * MIB);
  assert_int_equal (ov_lvm_span (&lv, 64 * MIB, &lo, &hi), -1);
  lv = lv_of (gap, 2, 17 * MIB);
  assert_int_equal (ov_lvm_span (&lv, 64 * MIB, &lo, &hi), -1);
  lv = lv_of (two, 2, 30 * MIB);                /* pieces short of size */
  assert_int_equal (ov_lvm_span (&lv, 64 * MIB, &lo, &hi), -1);
  lv = lv_of (two, 0, 0);
  assert_int_equal (ov_lvm_span (&lv, 64 * MIB, &lo, &hi), -1);
}

static void
test_translate (void **state)
{
  struct ov_lvm_lv lv = lv_of (two, 2, 24 * MIB);
  const uint64_t base = 10 * MIB;           /* fs->offset: lowest disk byte */
  struct ov_fs_tsk t;
  struct ov_fs fs;
  struct ov_file f;
  struct ov_run *r = calloc (3, sizeof *r);

  (void) state;
  memset (&t, 0, sizeof t);
  memset (&fs, 0, sizeof fs);
  memset (&f, 0, sizeof f);
  t.lv_img = ov_lvm_image_open (NULL, &lv, base);
  assert_non_null (t.lv_img);
  fs.priv = &t;
  fs.offset = base;
  assert_true (ov_fs_translated (&fs));
  /* 1 MiB data crossing LV 8M, a hole, 4 KiB data at LV 20M */
  r[0] = (struct ov_run) { 0, base + 7 * MIB + 512 * 1024, MIB, OV_RUN_DATA };
  r[1] = (struct ov_run) { MIB, 0, MIB, OV_RUN_SPARSE };
  r[2] = (struct ov_run) { 2 * MIB, base + 20 * MIB, 4096, OV_RUN_UNWRITTEN };
  f.runs = r;
  f.nruns = 3;
  f.size = 2 * MIB + 4096;
  assert_int_equal (ov_lvm_translate_runs (&fs, &f), 0);
  assert_int_equal (f.nruns, 4);
  assert_true (f.runs[0].disk_offset == 17 * MIB + 512 * 1024
               && f.runs[0].length == 512 * 1024);
  assert_true (f.runs[1].file_offset == 512 * 1024
               && f.runs[1].disk_offset == 40 * MIB
               && f.runs[1].length == 512 * 1024);
  assert_true (f.runs[2].kind == OV_RUN_SPARSE && f.runs[2].length == MIB);
  assert_true (f.runs[3].kind == OV_RUN_UNWRITTEN
               && f.runs[3].disk_offset == 52 * MIB);
  /* a run past the LV's end is refused */
  f.runs[3].disk_offset = base + 24 * MIB - 2048;
  f.runs[0].disk_offset = base + 7 * MIB + 512 * 1024;   /* back in LV space */
  f.runs[1].disk_offset = base + 8 * MIB;
  assert_int_equal (ov_lvm_translate_runs (&fs, &f), -1);
  free (f.runs);
  tsk_img_close (t.lv_img);
}

static void
test_translate_ranges (void **state)
{
  struct ov_lvm_lv lv = lv_of (two, 2, 24 * MIB);
  const uint64_t base = 10 * MIB;
  struct ov_fs_tsk t;
  struct ov_fs fs;
  struct ov_run *r = calloc (3, sizeof *r);
  size_t n = 3;

  (void) state;
  memset (&t, 0, sizeof t);
  memset (&fs, 0, sizeof fs);
  t.lv_img = ov_lvm_image_open (NULL, &lv, base);
  assert_non_null (t.lv_img);
  fs.priv = &t;
  /* a block at LV 4K, 8K crossing LV 8M, one past the LV (dropped) */
  r[0] = (struct ov_run) { 0, base + 4096, 4096, OV_RUN_DATA };
  r[1] = (struct ov_run) { 0, base + 8 * MIB - 4096, 8192, OV_RUN_DATA };
  r[2] = (struct ov_run) { 0, base + 30 * MIB, 4096, OV_RUN_DATA };
  assert_int_equal (ov_lvm_translate_ranges (&fs, &r, &n), 0);
  assert_int_equal (n, 3);
  assert_true (r[0].disk_offset == 10 * MIB + 4096 && r[0].length == 4096);
  assert_true (r[1].disk_offset == 18 * MIB - 4096 && r[1].length == 4096);
  assert_true (r[2].disk_offset == 40 * MIB && r[2].length == 4096);
  free (r);
  tsk_img_close (t.lv_img);
}

static void
test_untranslated_is_noop (void **state)
{
  struct ov_fs_tsk t;
  struct ov_fs fs;
  struct ov_run r = { 0, 12345, 10, OV_RUN_DATA };
  struct ov_file f;

  (void) state;
  memset (&t, 0, sizeof t);
  memset (&fs, 0, sizeof fs);
  memset (&f, 0, sizeof f);
  fs.priv = &t;
  f.runs = &r;
  f.nruns = 1;
  assert_false (ov_fs_translated (&fs));
  assert_int_equal (ov_lvm_translate_runs (&fs, &f), 0);
  assert_true (f.runs == &r && r.disk_offset == 12345);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_span),
    cmocka_unit_test (test_translate),
    cmocka_unit_test (test_translate_ranges),
    cmocka_unit_test (test_untranslated_is_noop),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
