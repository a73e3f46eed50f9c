/* ovscan — unit tests of guest paths from an inspection (fsmap/inspect.c):
 * Windows drive letters come from the guest's registry, so only one
 * letter A-Z makes a drive (lower case, digits, punctuation next to A/Z,
 * control bytes, UTF-8 letters, empty and two-letter mappings are refused);
 * a stored mountpoint with a bad drive or a Unix mountpoint that is not
 * absolute gives no guest path (the fsmap path is kept); good ones give
 * "C:\x\y", "/boot/x", "/x".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fsmap/inspect.h"

static void
drive_letters_are_A_to_Z_only (void **state)
{
  static const char *const bad[] = {
    "", "c", "z", "@", "[", "1", "CD", "C:", "\x01", "\\", "\xc3\x84", " ",
  };
  char out[3] = "xx";

  (void) state;
  assert_int_equal (ov_guest_drive ("C", out), 0);
  assert_string_equal (out, "C:");
  assert_int_equal (ov_guest_drive ("A", out), 0);
  assert_string_equal (out, "A:");
  assert_int_equal (ov_guest_drive ("Z", out), 0);
  assert_string_equal (out, "Z:");
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memcpy (out, "xx", 3);
    if (ov_guest_drive (bad[i], out) != -1)
      fail_msg ("drive mapping #%zu accepted", i);
    assert_string_equal (out, "xx");          /* untouched */
  }
}

static char *
path_on (const char *mountpoint, const char *fs_path)
{
  struct ov_guest_mount m = {
    .fs_label = (char *) "p2", .mountpoint = (char *) mountpoint,
  };
  struct ov_inspection in = { .mounts = &m, .nmounts = 1 };
  return ov_guest_path (&in, "p2", fs_path);
}

static void
guest_paths_need_a_valid_mountpoint (void **state)
{
  static const char *const bad[] = {
    "c:", "\x01:", "1:", "[:", "relative", "", "..", "C", ":",
  };
  char *p;

  (void) state;
  p = path_on ("C:", "/Windows/System32/x.dll");
  assert_string_equal (p, "C:\\Windows\\System32\\x.dll");
  free (p);
  p = path_on ("/boot", "/grub/x");
  assert_string_equal (p, "/boot/grub/x");
  free (p);
  p = path_on ("/", "/etc/fstab");
  assert_string_equal (p, "/etc/fstab");
  free (p);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    p = path_on (bad[i], "/x");
    if (p != NULL)
      fail_msg ("mountpoint #%zu gave guest path %s", i, p);
  }
  {
    struct ov_inspection none = { 0 };
    assert_null (ov_guest_path (&none, "p2", "/x"));
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (drive_letters_are_A_to_Z_only),
    cmocka_unit_test (guest_paths_need_a_valid_mountpoint),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
