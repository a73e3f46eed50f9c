/* ovscan — unit tests of cow/'s naming and identity helpers: which paths
 * are a VM's own layers, layer paths, digests as hex, stat comparison, and
 * the SHA-256 identity of a file against a known vector. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cow/cow.h"

static void
test_own_number (void **state)
{
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2"), 0);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-1"), 1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-4294967295"), 4294967295L);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-4294967296"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-0"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-01"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-1x"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.layer-"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/vm.qcow2.ovscan-new"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/v/base.qcow2"), -1);
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", "/w/vm.qcow2.layer-1"), -1);
}

static void
test_layer_path (void **state)
{
  char *p = ov_cow_layer_path ("/v/vm.qcow2", 12);
  assert_non_null (p);
  assert_string_equal (p, "/v/vm.qcow2.layer-12");
  assert_int_equal (ov_cow_own_number ("/v/vm.qcow2", p), 12);
  free (p);
}

static void
test_hex_and_file_digest (void **state)
{
  char dir[] = "/tmp/test_cow_names.XXXXXX", path[64], hex[65];
  uint8_t d[32];
  struct ov_cow_stat st, again;
  FILE *fp;

  assert_non_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/f", dir);
  fp = fopen (path, "w");
  assert_non_null (fp);
  fputs ("abc", fp);
  fclose (fp);
  assert_int_equal (ov_cow_file_sha256 (path, d, &st), 0);
  ov_cow_hex (d, hex);
  assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal (st.size, 3);
  assert_int_equal (ov_cow_stat_path (path, &again), 0);
  assert_true (ov_cow_stat_equal (&st, &again));
  again.ctime_ns++;
  assert_false (ov_cow_stat_equal (&st, &again));
  unlink (path);
  assert_int_equal (ov_cow_file_sha256 (path, d, &st), -1);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_own_number),
    cmocka_unit_test (test_layer_path),
    cmocka_unit_test (test_hex_and_file_digest),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
