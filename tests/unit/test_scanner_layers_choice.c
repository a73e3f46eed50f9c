/* Unit tests: which path a 'layers' poll takes (scanner/layers_choice.c):
 * no bitmap kept -> layers, silently; the bitmap refused for each reason in
 * its order (first poll / base changed, an uncovered frozen layer, what
 * ov_bitmap_prepare said), each reason naming the bitmap; the cost rule
 * (bitmap up to twice the layers' bytes, ties and unmeasured polls to the
 * bitmap, saturation at 2^64), and the path names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scanner/layers_choice.h"

static enum ov_layers_path
choose (const struct ov_layers_facts *f, char **why)
{
  enum ov_layers_path p = OV_LAYERS_PATH_BITMAP;
  assert_int_equal (ov_layers_choose (f, &p, why), 0);
  return p;
}

/* A usable bitmap on a disk polled before, no stray layer. */
static struct ov_layers_facts
usable (void)
{
  return (struct ov_layers_facts) {
    .bitmap = "ovscan-7", .covered_layer = 3, .newest_layer = 3,
    .measured = true, .bitmap_bytes = 1 << 20, .layers_bytes = 8 << 20,
  };
}

static void
no_bitmap_is_layers_without_a_word (void **state)
{
  struct ov_layers_facts f = { .covered_layer = 3, .newest_layer = 3 };
  char *why = (char *) "x";
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  assert_null (why);
}

static void
usable_and_cheaper_is_bitmap (void **state)
{
  struct ov_layers_facts f = usable ();
  char *why = (char *) "x";
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
  assert_null (why);
  /* a covered frozen layer below TOP does not matter */
  f.newest_layer = 2;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
}

static void
first_poll_reads_the_layers (void **state)
{
  struct ov_layers_facts f = usable ();
  char *why;
  f.covered_layer = 0;
  f.newest_layer = 0;
  f.unusable = "dirty bitmap ovscan-7 is missing";
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  assert_non_null (strstr (why, "does not cover"));   /* first in order */
  assert_non_null (strstr (why, "ovscan-7"));
  free (why);
}

static void
uncovered_frozen_layer_reads_the_layers (void **state)
{
  struct ov_layers_facts f = usable ();
  char *why;
  f.newest_layer = 4;
  f.bitmap_bytes = 0;          /* even an empty bitmap: it misses layer 4 */
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  assert_non_null (strstr (why, "frozen layer 4"));
  assert_non_null (strstr (why, "ovscan-7"));
  free (why);
}

static void
unusable_bitmap_gives_its_reason (void **state)
{
  struct ov_layers_facts f = usable ();
  char *why;
  f.measured = false;
  f.unusable = "dirty bitmap ovscan-7 is inconsistent (QEMU did not shut down cleanly)";
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  assert_string_equal (why, "dirty bitmap ovscan-7 is inconsistent (QEMU did "
                       "not shut down cleanly): layers read instead");
  free (why);
}

static void
cost_rule_twice_the_layers (void **state)
{
  struct ov_layers_facts f = usable ();
  char *why;

  f.layers_bytes = 1 << 20;
  f.bitmap_bytes = 2 << 20;    /* exactly twice: bitmap (saves the rotation) */
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
  assert_null (why);
  f.bitmap_bytes = (2 << 20) + 1;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  assert_non_null (strstr (why, "more than twice"));
  assert_non_null (strstr (why, "ovscan-7"));
  free (why);
  /* nothing allocated, something dirty (a coarse bitmap): layers */
  f.layers_bytes = 0;
  f.bitmap_bytes = 512;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_LAYERS);
  free (why);
  /* both empty: bitmap */
  f.bitmap_bytes = 0;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
  /* saturation: 2 * layers does not wrap */
  f.layers_bytes = UINT64_MAX / 2 + 1;
  f.bitmap_bytes = UINT64_MAX;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
  /* unmeasured (a full poll): bitmap whatever the numbers */
  f.measured = false;
  f.layers_bytes = 0;
  assert_int_equal (choose (&f, &why), OV_LAYERS_PATH_BITMAP);
}

static void
path_names (void **state)
{
  assert_string_equal (ov_layers_path_name (OV_LAYERS_PATH_BITMAP), "bitmap");
  assert_string_equal (ov_layers_path_name (OV_LAYERS_PATH_LAYERS), "layers");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (no_bitmap_is_layers_without_a_word),
    cmocka_unit_test (usable_and_cheaper_is_bitmap),
    cmocka_unit_test (first_poll_reads_the_layers),
    cmocka_unit_test (uncovered_frozen_layer_reads_the_layers),
    cmocka_unit_test (unusable_bitmap_gives_its_reason),
    cmocka_unit_test (cost_rule_twice_the_layers),
    cmocka_unit_test (path_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
