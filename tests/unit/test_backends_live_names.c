/* Unit tests: the names a live poll gives its objects (backends/live_names.c):
 * stable per (QMP socket, node/drive), distinct between disks and VMs,
 * within QEMU's 31-byte node-name limit, the view URI percent-encoded, a
 * too-long socket path refused, and the private directory created 0700
 * and refused when another user could enter it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "backends/live.h"
#include "common/error.h"

static char dir[64];

static int
setup (void **state)
{
  strcpy (dir, "/tmp/ovscan-live-names.XXXXXX");
  if (mkdtemp (dir) == NULL)
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system (cmd) == 0 ? 0 : -1;
}

static void
use_dir (const char *sub)
{
  char d[128];
  snprintf (d, sizeof d, "%s/%s", dir, sub);
  setenv ("OVSCAN_LIVE_DIR", d, 1);
}

static void
names_are_stable_distinct_and_short (void **state)
{
  struct ov_live_names a, a2, b, c;

  use_dir ("p");
  assert_int_equal (ov_live_names_init (&a, "/run/vm1.sock", "node:fmt0", NULL), 0);
  assert_int_equal (ov_live_names_init (&a2, "/run/vm1.sock", "node:fmt0", NULL), 0);
  assert_int_equal (ov_live_names_init (&b, "/run/vm1.sock", "drive:fmt0", NULL), 0);
  assert_int_equal (ov_live_names_init (&c, "/run/vm2.sock", "node:fmt0", NULL), 0);
  assert_string_equal (a.fleece_node, a2.fleece_node);
  assert_string_equal (a.fleece_file, a2.fleece_file);
  assert_string_not_equal (a.tag, b.tag);
  assert_string_not_equal (a.tag, c.tag);
  /* One VM: one NBD server socket and one lock for all its disks. */
  assert_string_equal (a.vm_tag, b.vm_tag);
  assert_string_equal (a.nbd_socket, b.nbd_socket);
  assert_string_equal (a.lock_file, b.lock_file);
  assert_string_not_equal (a.nbd_socket, c.nbd_socket);
  assert_true (a.own_server);
  assert_true (strlen (a.fleece_node) <= 31);
  assert_true (strlen (a.job_id) <= 31);
  assert_true (strlen (a.export_id) <= 31);
  assert_int_equal (strncmp (a.fleece_node, OV_LIVE_PREFIX, strlen (OV_LIVE_PREFIX)), 0);
  assert_int_equal (strncmp (a.export_name, OV_LIVE_PREFIX, strlen (OV_LIVE_PREFIX)), 0);
  assert_non_null (strstr (a.view_uri, a.export_name));
  ov_live_names_free (&a);
  ov_live_names_free (&a2);
  ov_live_names_free (&b);
  ov_live_names_free (&c);
}

static void
given_nbd_socket_is_used_and_encoded (void **state)
{
  struct ov_live_names n;

  use_dir ("p");
  assert_int_equal (ov_live_names_init (&n, "/run/vm1.sock", "node:fmt0",
                                        "/run/a b&c#%.sock"), 0);
  assert_false (n.own_server);
  assert_string_equal (n.nbd_socket, "/run/a b&c#%.sock");
  assert_non_null (strstr (n.view_uri, "?socket=/run/a%20b%26c%23%25.sock"));
  assert_int_equal (strncmp (n.view_uri, "nbd+unix:///ovscan-", 19), 0);
  ov_live_names_free (&n);
}

static void
long_socket_path_is_refused (void **state)
{
  struct ov_live_names n;
  char sock[200];

  use_dir ("p");
  memset (sock, 'x', sizeof sock - 1);
  sock[0] = '/';
  sock[sizeof sock - 1] = '\0';
  assert_int_equal (ov_live_names_init (&n, "/run/vm1.sock", "node:fmt0", sock), -1);
  assert_non_null (strstr (ov_last_error (), "longer than"));
}

static void
private_dir_is_0700_and_checked (void **state)
{
  struct ov_live_names n;
  struct stat sb;
  char d[128];

  use_dir ("fresh");
  assert_int_equal (ov_live_names_init (&n, "/run/vm1.sock", "node:fmt0", NULL), 0);
  ov_live_names_free (&n);
  snprintf (d, sizeof d, "%s/fresh", dir);
  assert_int_equal (stat (d, &sb), 0);
  assert_int_equal (sb.st_mode & 0777, 0700);

  snprintf (d, sizeof d, "%s/open", dir);
  assert_int_equal (mkdir (d, 0755), 0);
  use_dir ("open");
  assert_int_equal (ov_live_names_init (&n, "/run/vm1.sock", "node:fmt0", NULL), -1);
  assert_non_null (strstr (ov_last_error (), "mode 0700"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (names_are_stable_distinct_and_short),
    cmocka_unit_test (given_nbd_socket_is_used_and_encoded),
    cmocka_unit_test (long_socket_path_is_refused),
    cmocka_unit_test (private_dir_is_0700_and_checked),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
