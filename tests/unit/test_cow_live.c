/* ovscan — unit tests of the pure logic of a running VM's layers (cow/):
 * which levels a poll reads (uncovered layers), QEMU's chain checked
 * against the disk's, node names within QEMU's limit, and which pair a
 * live merge may commit (never a layer QEMU knows under a stale name). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cow/live.h"

/* A disk chain in a real directory (realpath must resolve the layers):
 * TOP, TOP.layer-N for each of NUMBERS (newest first), then the base. */
struct fixture {
  char dir[64];
  char *top;
  struct ov_cow_chain dc;
  struct ov_cow_qchain qc;
  struct ov_cow_live lv;
};

static void
touch (const char *path)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fclose (f);
}

static void
build (struct fixture *f, const unsigned *numbers, size_t n)
{
  size_t i, len = n + 2;
  char *base;

  memset (f, 0, sizeof *f);
  strcpy (f->dir, "/tmp/ovscan-unit-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  assert_true (asprintf (&f->top, "%s/vm.qcow2", f->dir) > 0);
  assert_true (asprintf (&base, "%s/base.qcow2", f->dir) > 0);
  f->dc.layers = calloc (len, sizeof *f->dc.layers);
  f->qc.v = calloc (len, sizeof *f->qc.v);
  f->dc.len = f->qc.len = len;
  f->dc.base_index = n + 1;
  for (i = 0; i < len; i++) {
    struct ov_cow_layer *l = &f->dc.layers[i];
    l->own = i <= n;
    l->number = i == 0 || i > n ? 0 : numbers[i - 1];
    l->path = i == 0 ? strdup (f->top)
      : i > n ? strdup (base) : ov_cow_layer_path (f->top, l->number);
    l->format = strdup ("qcow2");
    touch (l->path);
    if (i + 1 < len) {
      const char *below = i + 1 > n ? base : NULL;
      char *b = below ? strdup ("base.qcow2") : NULL;
      if (!below)
        assert_true (asprintf (&b, "./vm.qcow2.layer-%u", numbers[i]) > 0);
      l->backing = b;
      f->qc.v[i].backing = strdup (b);
    }
    /* QEMU's view: by default every level opened by its real path. */
    f->qc.v[i].name = strdup (i == 0 ? "top" : "#block1");
    f->qc.v[i].file_name = strdup (l->path);
  }
  snprintf (f->lv.names.tag, sizeof f->lv.names.tag, "0123456789ab");
  f->lv.top = f->top;
  free (base);
}

static void
destroy (struct fixture *f)
{
  size_t i;
  for (i = 0; i < f->dc.len; i++)
    unlink (f->dc.layers[i].path);
  rmdir (f->dir);
  ov_cow_chain_free (&f->dc);
  ov_cow_qchain_free (&f->qc);
  free (f->top);
}

static void
test_uncovered_below (void **state)
{
  static const unsigned numbers[] = { 5, 4, 2 };
  struct fixture f;

  build (&f, numbers, 3);
  /* covered 0: every own layer (depth 1 = old top .. 4 = layer-2) */
  assert_int_equal (ov_cow_uncovered_below (&f.dc, 0), 5);
  assert_int_equal (ov_cow_uncovered_below (&f.dc, 2), 4);
  assert_int_equal (ov_cow_uncovered_below (&f.dc, 4), 3);
  assert_int_equal (ov_cow_uncovered_below (&f.dc, 5), 2);
  assert_int_equal (ov_cow_newest_number (&f.dc), 5);
  destroy (&f);
}

static void
test_check (void **state)
{
  static const unsigned numbers[] = { 3, 1 };
  struct fixture f;

  build (&f, numbers, 2);
  assert_int_equal (ov_cow_live_check (&f.lv, &f.qc, &f.dc), 0);
  /* QEMU's top names another backing file: the rotation was not finished */
  free (f.qc.v[0].backing);
  f.qc.v[0].backing = strdup ("./vm.qcow2.layer-1");
  assert_int_equal (ov_cow_live_check (&f.lv, &f.qc, &f.dc), -1);
  free (f.qc.v[0].backing);
  f.qc.v[0].backing = strdup ("./vm.qcow2.layer-3");
  /* a base with a backing file in QEMU only */
  f.qc.v[3].backing = strdup ("other.qcow2");
  assert_int_equal (ov_cow_live_check (&f.lv, &f.qc, &f.dc), -1);
  free (f.qc.v[3].backing);
  f.qc.v[3].backing = NULL;
  /* another length */
  f.qc.len--;
  assert_int_equal (ov_cow_live_check (&f.lv, &f.qc, &f.dc), -1);
  f.qc.len++;
  destroy (&f);
}

static void
test_node_names (void **state)
{
  struct ov_cow_live lv;
  char a[32], b[32];

  memset (&lv, 0, sizeof lv);
  snprintf (lv.names.tag, sizeof lv.names.tag, "0123456789ab");
  ov_cow_live_node_name (&lv, 4294967295u, true, a);
  assert_string_equal (a, "ovscan-0123456789ab-f4294967295");
  assert_true (strlen (a) <= 31);              /* QEMU's node-name limit */
  ov_cow_live_node_name (&lv, 7, false, b);
  assert_string_equal (b, "ovscan-0123456789ab-7");
}

static void
test_pick_merge (void **state)
{
  /* TOP, layer-4, layer-3, layer-2, layer-1 (the VM's original node) */
  static const unsigned numbers[] = { 4, 3, 2, 1 };
  struct fixture f;
  size_t a;

  build (&f, numbers, 4);
  /* every name real: the lowest pair, 2 into 1 */
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 4, &a), 1);
  assert_int_equal (a, 4);
  /* not covered yet: only pairs of covered layers */
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 2, &a), 1);
  assert_int_equal (a, 4);
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 1, &a), 0);
  /* layer-1 known to QEMU as TOP (stale): 3 into 2 instead */
  free (f.qc.v[4].file_name);
  f.qc.v[4].file_name = strdup (f.top);
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 4, &a), 1);
  assert_int_equal (a, 3);
  /* layer-2 stale too, but its file node is ovscan's own (explicit) */
  free (f.qc.v[3].file_name);
  f.qc.v[3].file_name = strdup ("/gone/vm.qcow2.ovscan-new");
  f.qc.v[3].file_node = strdup ("ovscan-0123456789ab-f1");
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 4, &a), 1);
  assert_int_equal (a, 3);
  /* layer-4 (above 3, whose header a 3-into-2 commit rewrites) stale:
   * then 4 into 3, whose overlay is the top (never reopened) */
  free (f.qc.v[1].file_name);
  f.qc.v[1].file_name = strdup (f.top);
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 4, &a), 1);
  assert_int_equal (a, 2);
  /* layer-3 stale as well: nothing may be merged while the VM runs */
  free (f.qc.v[2].file_name);
  f.qc.v[2].file_name = strdup (f.top);
  assert_int_equal (ov_cow_live_pick_merge (&f.lv, &f.qc, &f.dc, 4, &a), 0);
  destroy (&f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_uncovered_below),
    cmocka_unit_test (test_check),
    cmocka_unit_test (test_node_names),
    cmocka_unit_test (test_pick_merge),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
