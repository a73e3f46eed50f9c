/* Unit tests: extent sets (common/extents.c) against a byte-map model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/extents.h"

static void
in_order_adds_merge_adjacent_ranges (void **state)
{
  ov_extents s = VECTOR_INIT;
  assert_int_equal (ov_extents_add (&s, 0, 4096), 0);
  assert_int_equal (ov_extents_add (&s, 4096, 4096), 0);
  assert_int_equal (ov_extents_add (&s, 16384, 4096), 0);
  assert_int_equal (s.len, 2);
  assert_int_equal (s.ptr[0].length, 8192);
  assert_int_equal (ov_extents_total (&s), 12288);
  ov_extents_reset (&s);
}

static void
overlap_queries_respect_half_open_bounds (void **state)
{
  ov_extents s = VECTOR_INIT;
  ov_extents_add (&s, 4096, 4096);
  assert_false (ov_extents_overlaps (&s, 0, 4096));      /* ends where it starts */
  assert_true (ov_extents_overlaps (&s, 0, 4097));
  assert_true (ov_extents_overlaps (&s, 8191, 1));
  assert_false (ov_extents_overlaps (&s, 8192, 100));    /* starts where it ends */
  assert_false (ov_extents_overlaps (&s, 5000, 0));
  assert_int_equal (ov_extents_total_in (&s, 6000, 10000), 8192 - 6000);
  ov_extents_reset (&s);
}

static void
ranges_near_2_to_the_64_do_not_wrap (void **state)
{
  ov_extents s = VECTOR_INIT;
  assert_int_equal (ov_extents_add (&s, UINT64_MAX - 10, 100), 0);
  assert_int_equal (s.ptr[0].length, 10);
  assert_true (ov_extents_overlaps (&s, UINT64_MAX - 5, 1000));
  ov_extents_reset (&s);
}

/* Random adds in any order against a byte map of 4096 positions. */
static void
random_adds_match_a_byte_map (void **state)
{
  enum { N = 4096 };
  unsigned char model[N];
  unsigned seed = 12345, round;

  for (round = 0; round < 200; round++) {
    ov_extents s = VECTOR_INIT;
    unsigned i, k;
    memset (model, 0, sizeof model);
    for (k = 0; k < 40; k++) {
      unsigned off = rand_r (&seed) % N, len = rand_r (&seed) % 200;
      if (off + len > N) len = N - off;
      assert_int_equal (ov_extents_add (&s, off, len), 0);
      memset (model + off, 1, len);
    }
    for (i = 1; i < s.len; i++)          /* sorted, merged */
      assert_true (s.ptr[i - 1].offset + s.ptr[i - 1].length < s.ptr[i].offset);
    for (k = 0; k < 500; k++) {
      unsigned off = rand_r (&seed) % N, len = 1 + rand_r (&seed) % 50, j;
      bool want = false;
      uint64_t total = 0;
      if (off + len > N) len = N - off;
      for (j = off; j < off + len; j++) { want |= model[j]; total += model[j]; }
      assert_int_equal (ov_extents_overlaps (&s, off, len), want);
      assert_int_equal (ov_extents_total_in (&s, off, len), total);
    }
    ov_extents_reset (&s);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (in_order_adds_merge_adjacent_ranges),
    cmocka_unit_test (overlap_queries_respect_half_open_bounds),
    cmocka_unit_test (ranges_near_2_to_the_64_do_not_wrap),
    cmocka_unit_test (random_adds_match_a_byte_map),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
