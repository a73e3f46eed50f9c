/* Unit tests: quoting of hostile guest names (common/quote.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/quote.h"

static void
expect_quote (const char *in, size_t len, const char *want)
{
  char *got = ov_quote_bytes (in, len);
  assert_non_null (got);
  assert_string_equal (got, want);
  free (got);
}

static void
plain_ascii_and_utf8_pass_through (void **state)
{
  expect_quote ("/etc/passwd", 11, "/etc/passwd");
  expect_quote ("/home/a b/\xc3\xa9t\xc3\xa9 \"x\"", 19, "/home/a b/\xc3\xa9t\xc3\xa9 \"x\"");
  expect_quote ("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
}

static void
control_characters_and_backslash_are_escaped (void **state)
{
  expect_quote ("a\nb", 3, "a\\nb");
  expect_quote ("a\\nb", 4, "a\\\\nb");     /* a literal backslash-n stays distinct */
  expect_quote ("\x1b[31m", 5, "\\x1b[31m");
  expect_quote ("\xc2\x9b", 2, "\\xc2\\x9b"); /* C1 CSI */
}

static void
invalid_utf8_bytes_are_escaped (void **state)
{
  expect_quote ("\xff\xfe", 2, "\\xff\\xfe");
  expect_quote ("\xc0\xaf", 2, "\\xc0\\xaf");           /* overlong '/' */
  expect_quote ("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");  /* surrogate */
  expect_quote ("\xe2\x82", 2, "\\xe2\\x82");           /* truncated */
  expect_quote ("x\0y", 3, "x\\x00y");
}

static void
long_names_are_kept_whole (void **state)
{
  char in[4001];
  char *got;
  memset (in, 'a', 4000);
  in[4000] = '\0';
  got = ov_quote_path (in);
  assert_non_null (got);
  assert_int_equal (strlen (got), 4000);
  free (got);
}

static void
json_string_escapes_quotes (void **state)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  ov_json_write_string (fp, "a\"b\\c\x01");
  fclose (fp);
  assert_string_equal (buf, "\"a\\\"b\\\\c\\u0001\"");
  free (buf);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (plain_ascii_and_utf8_pass_through),
    cmocka_unit_test (control_characters_and_backslash_are_escaped),
    cmocka_unit_test (invalid_utf8_bytes_are_escaped),
    cmocka_unit_test (long_names_are_kept_whole),
    cmocka_unit_test (json_string_escapes_quotes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
