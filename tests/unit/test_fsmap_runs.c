/* Unit tests: run lists (fsmap/runlist.c), path joining (fsmap/path.c) and
 * the inode map (fsmap/inode_map.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/internal.h"

static void
adjacent_runs_merge_only_when_contiguous_on_disk (void **state)
{
  struct ov_runlist l = { NULL, 0, 0 };

  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 0, 4096, 4096), 0);
  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 4096, 8192, 4096), 0);
  assert_int_equal (l.nruns, 1);
  assert_int_equal (l.runs[0].length, 8192);
  /* not contiguous on disk: a new run */
  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 8192, 100000, 4096), 0);
  assert_int_equal (l.nruns, 2);
  /* holes merge regardless of disk offset */
  assert_int_equal (ov_runlist_append (&l, OV_RUN_SPARSE, 12288, 77, 4096), 0);
  assert_int_equal (ov_runlist_append (&l, OV_RUN_SPARSE, 16384, 99, 4096), 0);
  assert_int_equal (l.nruns, 3);
  assert_int_equal (l.runs[2].disk_offset, 0);
  assert_int_equal (ov_runlist_end (&l), 20480);
  free (l.runs);
}

static void
runs_out_of_order_or_overflowing_are_refused (void **state)
{
  struct ov_runlist l = { NULL, 0, 0 };

  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 0, 0, 512), 0);
  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 1024, 0, 512), -1);  /* gap */
  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 0, 0, 512), -1);     /* overlap */
  assert_int_equal (ov_runlist_append (&l, OV_RUN_DATA, 512, UINT64_MAX - 10, 512), -1);
  assert_int_equal (ov_runlist_append (&l, OV_RUN_SPARSE, 512, 0, UINT64_MAX), -1);
  free (l.runs);
}

static void
truncate_and_initsize_split (void **state)
{
  struct ov_runlist l = { NULL, 0, 0 };

  ov_runlist_append (&l, OV_RUN_DATA, 0, 1000, 4096);
  ov_runlist_append (&l, OV_RUN_DATA, 4096, 90000, 4096);
  ov_runlist_truncate (&l, 6000);
  assert_int_equal (l.nruns, 2);
  assert_int_equal (l.runs[1].length, 6000 - 4096);
  /* initsize 3000: [3000, 6000) reads as zeros but keeps its disk bytes */
  assert_int_equal (ov_runlist_zero_after (&l, 3000), 0);
  assert_int_equal (l.nruns, 3);
  assert_int_equal (l.runs[0].kind, OV_RUN_DATA);
  assert_int_equal (l.runs[0].length, 3000);
  assert_int_equal (l.runs[1].kind, OV_RUN_UNWRITTEN);
  assert_int_equal (l.runs[1].file_offset, 3000);
  assert_int_equal (l.runs[1].disk_offset, 4000);
  assert_int_equal (l.runs[2].kind, OV_RUN_UNWRITTEN);
  assert_int_equal (ov_runs_validate (l.runs, l.nruns, 6000, 0, 1 << 20), 0);
  free (l.runs);
}

static void
validate_checks_coverage_and_bounds (void **state)
{
  struct ov_run r[2] = {
    { .file_offset = 0, .disk_offset = 1 << 20, .length = 4096, .kind = OV_RUN_DATA },
    { .file_offset = 4096, .disk_offset = 0, .length = 4096, .kind = OV_RUN_SPARSE },
  };

  assert_int_equal (ov_runs_validate (r, 2, 8192, 1 << 20, 2 << 20), 0);
  assert_int_equal (ov_runs_validate (r, 2, 8193, 1 << 20, 2 << 20), -1);  /* short */
  assert_int_equal (ov_runs_validate (r, 2, 8192, (1 << 20) + 1, 2 << 20), -1); /* before fs */
  assert_int_equal (ov_runs_validate (r, 2, 8192, 0, (1 << 20) + 100), -1);   /* past fs end */
  r[1].file_offset = 4000;
  assert_int_equal (ov_runs_validate (r, 2, 8096, 1 << 20, 2 << 20), -1);  /* overlap */
  assert_int_equal (ov_runs_validate (NULL, 0, 0, 0, 0), 0);                /* empty file */
}

static void
find_and_map (void **state)
{
  struct ov_run r[3] = {
    { 0, 1000, 10, OV_RUN_DATA },
    { 10, 0, 10, OV_RUN_SPARSE },
    { 20, 5000, 10, OV_RUN_DATA },
  };
  uint64_t d;

  assert_int_equal (ov_runs_find (r, 3, 0), 0);
  assert_int_equal (ov_runs_find (r, 3, 19), 1);
  assert_int_equal (ov_runs_find (r, 3, 29), 2);
  assert_int_equal (ov_runs_find (r, 3, 30), 3);
  assert_int_equal (ov_runs_map (r, 3, 25, &d), 0);
  assert_int_equal (d, 5005);
  assert_int_equal (ov_runs_map (r, 3, 15, &d), -1);
}

static void
paths_join_raw_bytes_and_bound_length (void **state)
{
  char *p;
  char big[OV_MAX_PATH + 2];

  p = ov_path_join ("", "etc", 3);
  assert_string_equal (p, "/etc");
  free (p);
  p = ov_path_join ("/etc", "pa\nss\xff", 6);
  assert_memory_equal (p, "/etc/pa\nss\xff", 12);
  free (p);
  p = ov_path_full ("p2", "/a/b", NULL);
  assert_string_equal (p, "p2:/a/b");
  free (p);
  p = ov_path_full ("", "/f.txt", "hidden");
  assert_string_equal (p, "/f.txt:hidden");
  free (p);
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_null (ov_path_join ("", big, strlen (big)));
}

static void
inode_map_grows_and_finds (void **state)
{
  struct ov_inode_map m = { 0 };
  uint64_t v, i;

  assert_int_equal (ov_inode_map_get (&m, 5, &v), -1);
  for (i = 0; i < 10000; i++)
    assert_int_equal (ov_inode_map_put (&m, i * 7919, i), 0);
  for (i = 0; i < 10000; i++) {
    assert_int_equal (ov_inode_map_get (&m, i * 7919, &v), 0);
    assert_int_equal (v, i);
  }
  assert_int_equal (ov_inode_map_get (&m, 3, NULL), -1);
  assert_int_equal (ov_inode_map_put (&m, UINT64_MAX, 1), -1);
  ov_inode_map_free (&m);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (adjacent_runs_merge_only_when_contiguous_on_disk),
    cmocka_unit_test (runs_out_of_order_or_overflowing_are_refused),
    cmocka_unit_test (truncate_and_initsize_split),
    cmocka_unit_test (validate_checks_coverage_and_bounds),
    cmocka_unit_test (find_and_map),
    cmocka_unit_test (paths_join_raw_bytes_and_bound_length),
    cmocka_unit_test (inode_map_grows_and_finds),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
