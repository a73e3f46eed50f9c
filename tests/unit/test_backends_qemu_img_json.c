/* Unit tests: parsing `qemu-img info --output=json` (backends/qemu_img_info.c)
 * on real qemu-img 7.2 output captured on this machine, then on malformed
 * text, missing members and absurd values; and the tracker's bitmap names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backends/qemu_img.h"
#include "backends/tracker.h"
#include "common/error.h"

/* qemu-img info of a 1 GiB qcow2 with an enabled bitmap ovscan-7 and a
 * disabled one, after qemu-storage-daemon writing to it was killed -9:
 * both flagged in-use. */
static const char sample_in_use[] =
  "{\n"
  "    \"virtual-size\": 1073741824,\n"
  "    \"filename\": \"vm.qcow2\",\n"
  "    \"cluster-size\": 65536,\n"
  "    \"format\": \"qcow2\",\n"
  "    \"actual-size\": 344064,\n"
  "    \"format-specific\": {\n"
  "        \"type\": \"qcow2\",\n"
  "        \"data\": {\n"
  "            \"compat\": \"1.1\",\n"
  "            \"compression-type\": \"zlib\",\n"
  "            \"lazy-refcounts\": false,\n"
  "            \"bitmaps\": [\n"
  "                {\n"
  "                    \"flags\": [\n"
  "                        \"in-use\",\n"
  "                        \"auto\"\n"
  "                    ],\n"
  "                    \"name\": \"ovscan-7\",\n"
  "                    \"granularity\": 4096\n"
  "                },\n"
  "                {\n"
  "                    \"flags\": [\n"
  "                        \"in-use\"\n"
  "                    ],\n"
  "                    \"name\": \"backup0\",\n"
  "                    \"granularity\": 65536\n"
  "                }\n"
  "            ],\n"
  "            \"refcount-bits\": 16,\n"
  "            \"corrupt\": false,\n"
  "            \"extended-l2\": false\n"
  "        }\n"
  "    },\n"
  "    \"dirty-flag\": false\n"
  "}\n"
  ;

/* An overlay: `qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2`. */
static const char sample_overlay[] =
  "{\n"
  "    \"backing-filename-format\": \"qcow2\",\n"
  "    \"virtual-size\": 67108864,\n"
  "    \"filename\": \"top.qcow2\",\n"
  "    \"cluster-size\": 65536,\n"
  "    \"format\": \"qcow2\",\n"
  "    \"actual-size\": 200704,\n"
  "    \"format-specific\": {\n"
  "        \"type\": \"qcow2\",\n"
  "        \"data\": {\n"
  "            \"compat\": \"1.1\",\n"
  "            \"compression-type\": \"zlib\",\n"
  "            \"lazy-refcounts\": false,\n"
  "            \"refcount-bits\": 16,\n"
  "            \"corrupt\": false,\n"
  "            \"extended-l2\": false\n"
  "        }\n"
  "    },\n"
  "    \"full-backing-filename\": \"/images/base.qcow2\",\n"
  "    \"backing-filename\": \"base.qcow2\",\n"
  "    \"dirty-flag\": false\n"
  "}\n";

static const char sample_raw[] =
  "{\n"
  "    \"virtual-size\": 10485760,\n"
  "    \"filename\": \"r.img\",\n"
  "    \"format\": \"raw\",\n"
  "    \"actual-size\": 4096,\n"
  "    \"dirty-flag\": false\n"
  "}\n";

static int
parse (const char *json, struct ov_image_info *info)
{
  return ov_image_info_parse (json, strlen (json), "vm.qcow2", info);
}

/* Parse must fail and the message must contain want. */
static void
expect_error (const char *json, const char *want)
{
  struct ov_image_info info;

  ov_error_clear ();
  if (parse (json, &info) != -1) {
    ov_image_info_free (&info);
    fail_msg ("accepted: %s", json);
  }
  if (strstr (ov_last_error (), want) == NULL)
    fail_msg ("message \"%s\" lacks \"%s\"", ov_last_error (), want);
  /* Nothing left allocated, fields zeroed. */
  assert_null (info.format);
  assert_int_equal (info.bitmaps.len, 0);
}

/* A qcow2 info object whose bitmaps array is BITMAPS (JSON text). */
static char *
with_bitmaps (const char *bitmaps)
{
  char *s;
  assert_true (asprintf (&s, "{\"virtual-size\": 1048576, \"format\": "
                         "\"qcow2\", \"format-specific\": {\"type\": "
                         "\"qcow2\", \"data\": {\"bitmaps\": %s}}}",
                         bitmaps) > 0);
  return s;
}

static void
real_output_with_inconsistent_bitmaps_is_read (void **state)
{
  struct ov_image_info info;
  const struct ov_bitmap_info *b;

  assert_int_equal (parse (sample_in_use, &info), 0);
  assert_string_equal (info.format, "qcow2");
  assert_int_equal (info.virtual_size, 1073741824);
  assert_null (info.backing_filename);
  assert_false (info.corrupt);
  assert_int_equal (info.bitmaps.len, 2);
  b = ov_image_info_find_bitmap (&info, "ovscan-7");
  assert_non_null (b);
  assert_int_equal (b->granularity, 4096);
  assert_true (b->enabled);
  assert_true (b->in_use);
  b = ov_image_info_find_bitmap (&info, "backup0");
  assert_non_null (b);
  assert_int_equal (b->granularity, 65536);
  assert_false (b->enabled);
  assert_true (b->in_use);
  assert_null (ov_image_info_find_bitmap (&info, "ovscan-8"));
  ov_image_info_free (&info);
}

static void
real_overlay_output_gives_backing_names (void **state)
{
  struct ov_image_info info;

  assert_int_equal (parse (sample_overlay, &info), 0);
  assert_int_equal (info.virtual_size, 64 << 20);
  assert_string_equal (info.backing_filename, "base.qcow2");
  assert_string_equal (info.full_backing_filename, "/images/base.qcow2");
  assert_string_equal (info.backing_format, "qcow2");
  assert_int_equal (info.bitmaps.len, 0);
  ov_image_info_free (&info);
}

static void
real_raw_output_has_no_bitmaps (void **state)
{
  struct ov_image_info info;

  assert_int_equal (parse (sample_raw, &info), 0);
  assert_string_equal (info.format, "raw");
  assert_int_equal (info.virtual_size, 10485760);
  assert_int_equal (info.bitmaps.len, 0);
  ov_image_info_free (&info);
}

static void
text_need_not_be_nul_terminated (void **state)
{
  struct ov_image_info info;
  size_t n = strlen (sample_raw);
  char *copy = malloc (n);

  memcpy (copy, sample_raw, n);   /* no NUL: ASan catches an over-read */
  assert_int_equal (ov_image_info_parse (copy, n, "r.img", &info), 0);
  assert_int_equal (info.virtual_size, 10485760);
  ov_image_info_free (&info);
  free (copy);
}

static void
unknown_flags_and_members_are_ignored (void **state)
{
  char *s = with_bitmaps ("[{\"flags\": [\"auto\", \"future\"], \"name\": "
                          "\"b\", \"granularity\": 512, \"extra\": [1,2]}]");
  struct ov_image_info info;

  assert_int_equal (parse (s, &info), 0);
  assert_true (info.bitmaps.ptr[0].enabled);
  assert_false (info.bitmaps.ptr[0].in_use);
  assert_int_equal (info.bitmaps.ptr[0].granularity, 512);
  ov_image_info_free (&info);
  free (s);
}

static void
malformed_json_is_refused (void **state)
{
  expect_error ("", "invalid JSON");
  expect_error ("{\"format\": \"qcow2\", \"virtual-size\": 1", "invalid JSON");
  expect_error ("{\"format\": qcow2}", "invalid JSON");
  expect_error ("[1, 2]", "not a JSON object");
  expect_error ("\"qcow2\"", "not a JSON object");
  expect_error ("{\"format\": \"raw\", \"virtual-size\": 1} {}",
                "text after the JSON object");
  /* Deep nesting stops at the depth limit, not the stack. */
  {
    char deep[4096];
    size_t i;
    for (i = 0; i < 2000; i++)
      deep[i] = '[';
    deep[i] = '\0';
    expect_error (deep, "invalid JSON");
  }
}

static void
missing_or_mistyped_members_are_refused (void **state)
{
  expect_error ("{\"virtual-size\": 1}", "no \"format\"");
  expect_error ("{\"format\": \"raw\"}", "no \"virtual-size\"");
  expect_error ("{\"format\": 7, \"virtual-size\": 1}", "\"format\" is not a string");
  expect_error ("{\"format\": \"raw\", \"virtual-size\": \"1\"}",
                "\"virtual-size\" is not an integer");
  expect_error ("{\"format\": \"raw\", \"virtual-size\": 1.5}",
                "\"virtual-size\" is not an integer");
  expect_error ("{\"format\": \"qcow2\", \"virtual-size\": 1, "
                "\"backing-filename\": [\"x\"]}",
                "\"backing-filename\" is not a string");
  expect_error ("{\"format\": \"qcow2\", \"virtual-size\": 1, "
                "\"format-specific\": 3}", "\"format-specific\"");
  expect_error ("{\"format\": \"qcow2\", \"virtual-size\": 1, "
                "\"format-specific\": {\"type\": \"qcow2\"}}", "no \"data\"");
  expect_error ("{\"format\": \"qcow2\", \"virtual-size\": 1, "
                "\"format-specific\": {\"type\": \"qcow2\", \"data\": "
                "{\"corrupt\": \"no\"}}}", "\"corrupt\" is not a boolean");
}

static void
bad_bitmaps_are_refused (void **state)
{
  static const struct { const char *bitmaps, *want; } cases[] = {
    { "{}", "\"bitmaps\" is not an array" },
    { "[7]", "bitmap 0 is not an object" },
    { "[{\"name\": \"a\", \"granularity\": 4096}]", "lacks" },
    { "[{\"flags\": [], \"name\": 5, \"granularity\": 4096}]", "\"name\" is not a string" },
    { "[{\"flags\": [], \"name\": \"\", \"granularity\": 4096}]", "empty name" },
    { "[{\"flags\": [], \"name\": \"a\\u0000b\", \"granularity\": 4096}]", "NUL" },
    { "[{\"flags\": [], \"name\": \"a\", \"granularity\": 4095}]", "not a power of 2" },
    { "[{\"flags\": [], \"name\": \"a\", \"granularity\": 256}]", "out of range" },
    { "[{\"flags\": [], \"name\": \"a\", \"granularity\": 4294967296}]", "out of range" },
    { "[{\"flags\": [], \"name\": \"a\", \"granularity\": -4096}]", "out of range" },
    { "[{\"flags\": \"auto\", \"name\": \"a\", \"granularity\": 4096}]", "\"flags\" is not an array" },
    { "[{\"flags\": [1], \"name\": \"a\", \"granularity\": 4096}]", "flag 0 is not a string" },
    { "[{\"flags\": [], \"name\": \"a\", \"granularity\": 4096},"
      " {\"flags\": [], \"name\": \"a\", \"granularity\": 512}]", "listed twice" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = with_bitmaps (cases[i].bitmaps);
    expect_error (s, cases[i].want);
    free (s);
  }
}

static void
absurd_sizes_and_counts_are_refused (void **state)
{
  expect_error ("{\"format\": \"raw\", \"virtual-size\": -1}", "out of range");
  expect_error ("{\"format\": \"raw\", \"virtual-size\": 18446744073709551615}",
                "out of range");
  expect_error ("{\"format\": \"raw\", \"virtual-size\": 99999999999999999999999}",
                "virtual-size");
  /* A 1024-byte bitmap name (qcow2 allows 1023). */
  {
    char name[1025], *bm, *s;
    memset (name, 'n', 1024);
    name[1024] = '\0';
    assert_true (asprintf (&bm, "[{\"flags\": [], \"name\": \"%s\", "
                           "\"granularity\": 4096}]", name) > 0);
    s = with_bitmaps (bm);
    expect_error (s, "1024 bytes long");
    free (s);
    free (bm);
  }
  /* 65536 bitmaps (qcow2 holds 65535). */
  {
    size_t n = 65536, i, len = 0;
    char *bm = malloc (n * 8 + 3), *s;
    bm[len++] = '[';
    for (i = 0; i < n; i++)
      len += sprintf (bm + len, "%s{}", i ? "," : "");
    bm[len++] = ']';
    bm[len] = '\0';
    s = with_bitmaps (bm);
    expect_error (s, "65536 bitmaps");
    free (s);
    free (bm);
  }
}

static void
hostile_bitmap_names_are_quoted_in_messages (void **state)
{
  char *s = with_bitmaps ("[{\"flags\": [], \"name\": \"evil\\n\\u001b[2J\", "
                          "\"granularity\": 3}]");
  expect_error (s, "bitmap 0 (evil\\n\\x1b[2J)");
  assert_null (strchr (ov_last_error (), '\n'));
  assert_null (strchr (ov_last_error (), '\x1b'));
  free (s);
}

static void
bitmap_names_follow_prefix_and_decimal_generation (void **state)
{
  uint64_t g = 99;

  assert_true (ov_bitmap_name_parse ("ovscan-1", &g));
  assert_int_equal (g, 1);
  assert_true (ov_bitmap_name_parse ("ovscan-0", &g));
  assert_int_equal (g, 0);
  assert_true (ov_bitmap_name_parse ("ovscan-18446744073709551615", &g));
  assert_true (g == UINT64_MAX);
  assert_false (ov_bitmap_name_parse ("ovscan-18446744073709551616", NULL));
  assert_false (ov_bitmap_name_parse ("ovscan-", NULL));
  assert_false (ov_bitmap_name_parse ("ovscan-01", NULL));
  assert_false (ov_bitmap_name_parse ("ovscan--1", NULL));
  assert_false (ov_bitmap_name_parse ("ovscan-1a", NULL));
  assert_false (ov_bitmap_name_parse ("ovscan-backup", NULL));
  assert_false (ov_bitmap_name_parse ("Ovscan-1", NULL));
  assert_false (ov_bitmap_name_parse ("backup0", NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (real_output_with_inconsistent_bitmaps_is_read),
    cmocka_unit_test (real_overlay_output_gives_backing_names),
    cmocka_unit_test (real_raw_output_has_no_bitmaps),
    cmocka_unit_test (text_need_not_be_nul_terminated),
    cmocka_unit_test (unknown_flags_and_members_are_ignored),
    cmocka_unit_test (malformed_json_is_refused),
    cmocka_unit_test (missing_or_mistyped_members_are_refused),
    cmocka_unit_test (bad_bitmaps_are_refused),
    cmocka_unit_test (absurd_sizes_and_counts_are_refused),
    cmocka_unit_test (hostile_bitmap_names_are_quoted_in_messages),
    cmocka_unit_test (bitmap_names_follow_prefix_and_decimal_generation),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
