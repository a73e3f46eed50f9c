/* Unit tests: user-typed sizes and durations (common/units.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/units.h"

static void
sizes_with_suffixes_are_binary_multiples (void **state)
{
  uint64_t v;
  assert_int_equal (ov_parse_size ("4096", &v), 0);  assert_int_equal (v, 4096);
  assert_int_equal (ov_parse_size ("100M", &v), 0);  assert_int_equal (v, 100ULL << 20);
  assert_int_equal (ov_parse_size ("2g", &v), 0);    assert_int_equal (v, 2ULL << 30);
  assert_int_equal (ov_parse_size ("1TiB", &v), 0);  assert_int_equal (v, 1ULL << 40);
  assert_int_equal (ov_parse_size ("512KB", &v), 0); assert_int_equal (v, 512ULL << 10);
  assert_int_equal (ov_parse_size ("0", &v), 0);     assert_int_equal (v, 0);
}

static void
garbage_and_overflow_are_rejected (void **state)
{
  uint64_t v = 7;
  assert_int_equal (ov_parse_size ("", &v), -1);
  assert_int_equal (ov_parse_size ("-1", &v), -1);
  assert_int_equal (ov_parse_size ("10X", &v), -1);
  assert_int_equal (ov_parse_size ("M", &v), -1);
  assert_int_equal (ov_parse_size ("99999999999999999999", &v), -1);
  assert_int_equal (ov_parse_size ("17179869184G", &v), -1);
  assert_int_equal (ov_parse_size ("1 M", &v), -1);
  assert_int_equal (v, 7);
}

static void
format_picks_a_readable_unit (void **state)
{
  char buf[32];
  assert_string_equal (ov_format_size (512, buf, sizeof buf), "512 B");
  assert_string_equal (ov_format_size (1536, buf, sizeof buf), "1.50 KiB");
  assert_string_equal (ov_format_size (3ULL << 30, buf, sizeof buf), "3.00 GiB");
}

static void
durations_take_lower_case_units (void **state)
{
  static const struct { const char *s; double seconds; } good[] = {
    { "90", 90 }, { "90s", 90 }, { "90sec", 90 }, { "15m", 900 },
    { "15min", 900 }, { "2h", 7200 }, { "1d", 86400 }, { "1.5h", 5400 },
    { "0.5s", 0.5 }, { "365d", 365.0 * 86400 },
  };
  static const char *const bad[] = {
    "", "s", "0", "0s", "-5m", "+5m", " 5m", "5 m", "5M", "5H", "5ms",
    "5mins", "5x", "1e3", "0x10", "inf", "nan", "366d", "1e400", ".5h",
    "5m ", "5m\n",
  };
  double v;

  (void) state;
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    v = -1;
    if (ov_parse_duration (good[i].s, &v) != 0 || v != good[i].seconds)
      fail_msg ("'%s': got %g, want %g", good[i].s, v, good[i].seconds);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    v = -1;
    if (ov_parse_duration (bad[i], &v) != -1 || v != -1)
      fail_msg ("'%s' accepted (%g)", bad[i], v);
    if (strstr (ov_last_error (), "bad duration") == NULL)
      fail_msg ("'%s': %s", bad[i], ov_last_error ());
  }
  assert_int_equal (ov_parse_duration (NULL, &v), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (sizes_with_suffixes_are_binary_multiples),
    cmocka_unit_test (garbage_and_overflow_are_rejected),
    cmocka_unit_test (format_picks_a_readable_unit),
    cmocka_unit_test (durations_take_lower_case_units),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
