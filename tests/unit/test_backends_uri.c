/* Unit tests: telling NBD URIs from image paths (backends/disk.c) and the
 * qemu-nbd command line for a local image (backends/disk_nbd_qemu.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backends/disk.h"
#include "backends/disk_nbd.h"

static void
nbd_uri_schemes_are_uris (void **state)
{
  assert_true (ov_disk_target_is_uri ("nbd://host/export"));
  assert_true (ov_disk_target_is_uri ("nbd://[::1]:10809"));
  assert_true (ov_disk_target_is_uri ("nbds://host/export"));
  assert_true (ov_disk_target_is_uri ("nbd+unix:///?socket=/tmp/s"));
  assert_true (ov_disk_target_is_uri ("nbds+unix:///vm?socket=/tmp/s"));
  assert_true (ov_disk_target_is_uri ("nbd+vsock://3:10809/"));
  assert_true (ov_disk_target_is_uri ("NBD://host/"));   /* schemes ignore case */
}

static void
paths_and_other_schemes_are_not_uris (void **state)
{
  assert_false (ov_disk_target_is_uri (NULL));
  assert_false (ov_disk_target_is_uri (""));
  assert_false (ov_disk_target_is_uri ("vm.qcow2"));
  assert_false (ov_disk_target_is_uri ("/var/lib/libvirt/images/vm.qcow2"));
  assert_false (ov_disk_target_is_uri ("nbd:host:10809"));   /* qemu's old syntax */
  assert_false (ov_disk_target_is_uri ("nbd"));
  assert_false (ov_disk_target_is_uri ("nbd:/"));
  assert_false (ov_disk_target_is_uri ("./nbd://x"));        /* how to name such a file */
  assert_false (ov_disk_target_is_uri ("http://host/disk.img"));
  assert_false (ov_disk_target_is_uri ("nbd+tcp://host/"));
}

static size_t
argv_len (char **argv)
{
  size_t n = 0;
  while (argv[n])
    n++;
  return n;
}

static void
qemu_nbd_argv_minimal (void **state)
{
  struct ov_disk_options o = { 0 };
  char **argv = ov_disk_nbd_qemu_argv ("/img/vm.qcow2", &o, "/tmp/err");
  const char *want[] = {
    "/bin/sh", "-c", "exec 2>\"$0\"; exec \"$@\"", "/tmp/err",
    "qemu-nbd", "--read-only", "--cache=writeback", "--", "/img/vm.qcow2",
  };
  size_t i;

  assert_non_null (argv);
  assert_int_equal (argv_len (argv), sizeof want / sizeof want[0]);
  for (i = 0; i < sizeof want / sizeof want[0]; i++)
    assert_string_equal (argv[i], want[i]);
  ov_disk_nbd_free_argv (argv);
}

static void
qemu_nbd_argv_all_options (void **state)
{
  struct ov_disk_options o = {
    .format = "qcow2", .bitmap = "poll 0", .allocation_depth = true,
  };
  char **argv = ov_disk_nbd_qemu_argv ("-vm.qcow2", &o, "/tmp/err");
  size_t n;

  assert_non_null (argv);
  n = argv_len (argv);
  assert_int_equal (n, 12);
  assert_string_equal (argv[7], "--format=qcow2");
  assert_string_equal (argv[8], "--bitmap=poll 0");   /* one argument, no shell */
  assert_string_equal (argv[9], "--allocation-depth");
  assert_string_equal (argv[10], "--");
  assert_string_equal (argv[11], "./-vm.qcow2");
  ov_disk_nbd_free_argv (argv);
}

static void
qemu_nbd_argv_relative_path_is_not_a_protocol (void **state)
{
  struct ov_disk_options o = { 0 };
  char **argv = ov_disk_nbd_qemu_argv ("json:{\"x\":1}", &o, "/tmp/err");
  size_t n;

  assert_non_null (argv);
  n = argv_len (argv);
  assert_string_equal (argv[n - 1], "./json:{\"x\":1}");
  ov_disk_nbd_free_argv (argv);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (nbd_uri_schemes_are_uris),
    cmocka_unit_test (paths_and_other_schemes_are_not_uris),
    cmocka_unit_test (qemu_nbd_argv_minimal),
    cmocka_unit_test (qemu_nbd_argv_all_options),
    cmocka_unit_test (qemu_nbd_argv_relative_path_is_not_a_protocol),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
