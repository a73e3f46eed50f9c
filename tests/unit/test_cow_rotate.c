/* ovscan — unit tests of cow/ on real qcow2 chains made by qemu-img in a
 * temporary directory (skipped, exit 77, without qemu-img/qemu-io):
 *   - chain discovery: own layers, base index, a loop, a missing base, a
 *     size mismatch are refused;
 *   - rotation: the VM's path is the new empty top over the frozen layer,
 *     the content read through the chain is unchanged;
 *   - recovery of an interrupted rotation (stale second name of TOP, the
 *     temporary new top) and of an interrupted merge (an own layer no chain
 *     references); nothing else is touched;
 *   - merge-down to the limit only over covered layers, the content
 *     unchanged (qemu-img compare against a flattened copy), the base's
 *     bytes untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cow/cow.h"

static char dir[64];

static void
sh (const char *fmt, ...)
{
  char cmd[2048];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (cmd, sizeof cmd, fmt, ap);
  va_end (ap);
  assert_int_equal (system (cmd), 0);
}

static char *
at (const char *name)
{
  static char bufs[8][256];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf (b, 256, "%s/%s", dir, name);
  return b;
}

static bool
exists (const char *name)
{
  return access (at (name), F_OK) == 0;
}

static int
setup (void **state)
{
  snprintf (dir, sizeof dir, "/tmp/test_cow_rotate.XXXXXX");
  if (mkdtemp (dir) == NULL)
    return -1;
  sh ("cd %s && qemu-img create -q -f qcow2 base.qcow2 8M && "
      "qemu-io -f qcow2 -c 'write -P 1 0 2M' base.qcow2 >/dev/null && "
      "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 vm.qcow2 && "
      "qemu-io -f qcow2 -c 'write -P 2 1M 64k' vm.qcow2 >/dev/null", dir);
  return 0;
}

static int
teardown (void **state)
{
  sh ("rm -rf %s", dir);
  return 0;
}

/* Snapshot of what the chain reads, for qemu-img compare. */
static void
flatten (const char *as)
{
  sh ("cd %s && qemu-img convert -f qcow2 -O raw vm.qcow2 %s", dir, as);
}

static void
same_content (const char *raw)
{
  sh ("cd %s && qemu-img compare -q -f qcow2 -F raw vm.qcow2 %s", dir, raw);
}

static void
test_discover (void **state)
{
  struct ov_cow_chain c;

  assert_int_equal (ov_cow_chain_discover (at ("vm.qcow2"), &c), 0);
  assert_int_equal (c.len, 2);
  assert_int_equal (c.base_index, 1);
  assert_true (c.layers[0].own);
  assert_false (c.layers[1].own);
  assert_string_equal (c.layers[1].path, at ("base.qcow2"));
  assert_int_equal (c.layers[1].virtual_size, 8 << 20);
  ov_cow_chain_free (&c);
  /* Not an overlay. */
  assert_int_equal (ov_cow_chain_discover (at ("base.qcow2"), &c), -1);
  /* Size mismatch. */
  sh ("cd %s && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 big.qcow2 16M", dir);
  assert_int_equal (ov_cow_chain_discover (at ("big.qcow2"), &c), -1);
  /* Loop. */
  sh ("cd %s && qemu-img create -q -f qcow2 a.qcow2 8M && "
      "qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 && "
      "qemu-img rebase -u -f qcow2 -b b.qcow2 -F qcow2 a.qcow2", dir);
  assert_int_equal (ov_cow_chain_discover (at ("b.qcow2"), &c), -1);
  /* Missing base. */
  sh ("cd %s && qemu-img create -q -f qcow2 gone.qcow2 8M && "
      "qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2 && rm gone.qcow2", dir);
  assert_int_equal (ov_cow_chain_discover (at ("orphan.qcow2"), &c), -1);
  /* Relative path refused. */
  assert_int_equal (ov_cow_chain_discover ("vm.qcow2", &c), -1);
}

static void
test_rotate_and_recover (void **state)
{
  struct ov_cow_chain c;
  struct stat before, after;
  bool changed;

  flatten ("v0.raw");
  assert_int_equal (stat (at ("vm.qcow2"), &before), 0);
  assert_int_equal (ov_cow_rotate (at ("vm.qcow2"), 1), 0);
  assert_int_equal (stat (at ("vm.qcow2.layer-1"), &after), 0);
  assert_true (before.st_ino == after.st_ino);       /* the frozen layer is the old top */
  assert_false (exists ("vm.qcow2.ovscan-new"));
  same_content ("v0.raw");
  assert_int_equal (ov_cow_chain_discover (at ("vm.qcow2"), &c), 0);
  assert_int_equal (c.base_index, 2);
  assert_int_equal (c.layers[1].number, 1);
  ov_cow_chain_free (&c);
  /* Rotating onto an existing name fails and changes nothing. */
  assert_int_equal (ov_cow_rotate (at ("vm.qcow2"), 1), -1);
  same_content ("v0.raw");

  /* A rotation killed after its link: TOP's second name is dropped. */
  sh ("cd %s && ln vm.qcow2 vm.qcow2.layer-2 && cp vm.qcow2 vm.qcow2.ovscan-new", dir);
  assert_int_equal (ov_cow_recover (at ("vm.qcow2"), &changed), 0);
  assert_true (changed);
  assert_false (exists ("vm.qcow2.layer-2"));
  assert_false (exists ("vm.qcow2.ovscan-new"));
  assert_true (exists ("vm.qcow2.layer-1"));
  same_content ("v0.raw");
  /* A merge killed before its unlink: an own layer no chain references. */
  sh ("cd %s && qemu-img create -q -f qcow2 vm.qcow2.layer-9 8M", dir);
  assert_int_equal (ov_cow_recover (at ("vm.qcow2"), &changed), 0);
  assert_true (changed);
  assert_false (exists ("vm.qcow2.layer-9"));
  assert_true (exists ("vm.qcow2.layer-1") && exists ("base.qcow2"));
  /* Nothing to do: nothing changed. */
  assert_int_equal (ov_cow_recover (at ("vm.qcow2"), &changed), 0);
  assert_false (changed);
}

static void
test_merge_down (void **state)
{
  struct ov_cow_chain c;
  unsigned merged, i;
  uint64_t own;

  sh ("cd %s && sha256sum base.qcow2 > base.sum", dir);
  /* Layers 1..3 each with their own writes, then TOP with more. */
  for (i = 1; i <= 3; i++) {
    assert_int_equal (ov_cow_rotate (at ("vm.qcow2"), i), 0);
    sh ("cd %s && qemu-io -f qcow2 -c 'write -P %u %uM 64k' vm.qcow2 >/dev/null", dir,
        10 + i, 2 + i);
  }
  flatten ("v3.raw");
  /* Layers 2 and 3 not covered: nothing may merge. */
  assert_int_equal (ov_cow_merge_down (at ("vm.qcow2"), 1, 2, &merged), 0);
  assert_int_equal (merged, 0);
  assert_true (exists ("vm.qcow2.layer-3"));
  /* All covered, limit 2 (TOP + one frozen). */
  assert_int_equal (ov_cow_merge_down (at ("vm.qcow2"), 3, 2, &merged), 0);
  assert_int_equal (merged, 2);
  assert_true (exists ("vm.qcow2.layer-1"));
  assert_false (exists ("vm.qcow2.layer-2") || exists ("vm.qcow2.layer-3"));
  same_content ("v3.raw");
  assert_int_equal (ov_cow_chain_discover (at ("vm.qcow2"), &c), 0);
  assert_int_equal (c.base_index, 2);
  assert_int_equal (ov_cow_own_bytes (&c, &own), 0);
  assert_true (own > 0);
  ov_cow_chain_free (&c);
  sh ("cd %s && sha256sum -c --quiet base.sum && qemu-img check -q vm.qcow2.layer-1 "
      "&& qemu-img check -q vm.qcow2", dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_discover, setup, teardown),
    cmocka_unit_test_setup_teardown (test_rotate_and_recover, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_down, setup, teardown),
  };
  if (system ("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1") != 0) {
    fprintf (stderr, "SKIP: qemu-img/qemu-io not available\n");
    return 77;
  }
  return cmocka_run_group_tests (tests, NULL, NULL);
}
