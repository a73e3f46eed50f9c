/* Unit tests: scanning through the pread callback (scanner/scan_stream.c)
 * with a fake reader over memory: verdicts, signature names, libclamav's
 * unpackers through the fmap, the size limit, read failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "scanner/internal.h"
#include "signatures/signatures.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define TESTFILES "/usr/share/clamav-testfiles"

static struct ov_sigs sigs;

struct mem {
  const unsigned char *data;
  size_t len;
  uint64_t fail_at;          /* reads touching this offset fail; UINT64_MAX = never */
  unsigned calls;
};

static ssize_t
mem_read (void *opaque, void *buf, size_t count, uint64_t offset)
{
  struct mem *m = opaque;
  m->calls++;
  if (offset >= m->len)
    return 0;
  if (count > m->len - offset)
    count = m->len - offset;
  if (m->fail_at >= offset && m->fail_at < offset + count) {
    ov_error ("disk.img: pread at disk offset %llu: Input/output error",
              (unsigned long long) (4096 + m->fail_at));
    return -1;
  }
  memcpy (buf, m->data + offset, count);
  return (ssize_t) count;
}

static void
scan_mem (const void *data, size_t len, const struct ov_scan_limits *limits,
          struct ov_scan_result *r)
{
  struct mem m = { .data = data, .len = len, .fail_at = UINT64_MAX };
  ov_scan_stream (sigs.engine, limits, len, mem_read, &m, r);
}

static unsigned char *
slurp (const char *path, size_t *len)
{
  FILE *fp = fopen (path, "rb");
  unsigned char *buf;
  long n;
  if (fp == NULL)
    return NULL;
  fseek (fp, 0, SEEK_END);
  n = ftell (fp);
  rewind (fp);
  buf = malloc (n > 0 ? (size_t) n : 1);
  assert_non_null (buf);
  assert_int_equal (fread (buf, 1, (size_t) n, fp), (size_t) n);
  fclose (fp);
  *len = (size_t) n;
  return buf;
}

static int
load_sigs (void **state)
{
  struct ov_sigs_options o = { .test_signatures = true };
  return ov_sigs_load (&o, &sigs);
}

static int
free_sigs (void **state)
{
  ov_sigs_free (&sigs);
  return 0;
}

static void
eicar_is_infected_with_our_signature (void **state)
{
  struct ov_scan_result r;
  scan_mem (EICAR, strlen (EICAR), NULL, &r);
  assert_string_equal (ov_verdict_to_string (r.verdict), "infected");
  assert_string_equal (r.signature, OV_SIGS_TEST_EICAR ".UNOFFICIAL");
  assert_null (r.error);
  assert_int_equal (r.bytes_read, strlen (EICAR));
  ov_scan_result_clear (&r);
}

static void
clean_bytes_are_clean (void **state)
{
  static unsigned char buf[300000];
  struct ov_scan_result r;
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (unsigned char) (i * 7 + i / 251);
  scan_mem (buf, sizeof buf, NULL, &r);
  assert_int_equal (r.verdict, OV_VERDICT_CLEAN);
  assert_null (r.error);
  assert_int_equal (r.bytes_read, sizeof buf);
  ov_scan_result_clear (&r);
}

static void
empty_file_is_clean_without_reading (void **state)
{
  struct mem m = { .data = (const unsigned char *) "", .len = 0, .fail_at = 0 };
  struct ov_scan_result r;
  ov_scan_stream (sigs.engine, NULL, 0, mem_read, &m, &r);
  assert_int_equal (r.verdict, OV_VERDICT_CLEAN);
  assert_int_equal (m.calls, 0);
  assert_int_equal (r.bytes_read, 0);
}

static void
expect_testfile_infected (const char *name)
{
  char path[256];
  size_t len;
  unsigned char *data;
  struct ov_scan_result r;

  snprintf (path, sizeof path, "%s/%s", TESTFILES, name);
  data = slurp (path, &len);
  if (data == NULL) {
    print_message ("%s is absent (package clamav-testfiles)\n", path);
    skip ();
  }
  scan_mem (data, len, NULL, &r);
  if (r.verdict != OV_VERDICT_INFECTED)
    print_message ("%s: %s %s\n", name, ov_verdict_to_string (r.verdict),
                   r.error ? r.error : "");
  assert_int_equal (r.verdict, OV_VERDICT_INFECTED);
  assert_string_equal (r.signature, OV_SIGS_TEST_CLAM_EXE ".UNOFFICIAL");
  assert_true (r.bytes_read >= len);
  ov_scan_result_clear (&r);
  free (data);
}

static void
clam_exe_is_infected (void **state)
{
  expect_testfile_infected ("clam.exe");
}

static void
clam_zip_is_infected_through_the_unpacker (void **state)
{
  expect_testfile_infected ("clam.zip");
}

static void
clam_upx_exe_is_infected_through_the_unpacker (void **state)
{
  expect_testfile_infected ("clam-upx.exe");
}

static void
file_over_max_filesize_is_skipped_unread (void **state)
{
  static unsigned char buf[5000];
  struct ov_scan_limits limits = { .max_filesize = 4096 };
  struct mem m = { .data = buf, .len = sizeof buf, .fail_at = UINT64_MAX };
  struct ov_scan_result r;

  ov_scan_stream (sigs.engine, &limits, sizeof buf, mem_read, &m, &r);
  assert_string_equal (ov_verdict_to_string (r.verdict), "skipped");
  assert_string_equal (r.error, "larger than --max-filesize (4096 bytes)");
  assert_int_equal (m.calls, 0);
  assert_int_equal (r.bytes_read, 0);
  ov_scan_result_clear (&r);

  /* Exactly at the limit is scanned. */
  limits.max_filesize = sizeof buf;
  ov_scan_stream (sigs.engine, &limits, sizeof buf, mem_read, &m, &r);
  assert_int_equal (r.verdict, OV_VERDICT_CLEAN);
  ov_scan_result_clear (&r);
}

static void
failing_reader_gives_error_with_offset (void **state)
{
  static unsigned char buf[1 << 20];
  struct mem m = { .data = buf, .len = sizeof buf, .fail_at = 0 };
  struct ov_scan_result r;

  ov_scan_stream (sigs.engine, NULL, sizeof buf, mem_read, &m, &r);
  assert_string_equal (ov_verdict_to_string (r.verdict), "error");
  assert_non_null (r.error);
  assert_string_equal (r.error, "read failed at file offset 0: disk.img: "
                       "pread at disk offset 4096: Input/output error");
  ov_scan_result_clear (&r);

  /* A failure in the middle: libclamav may carry on, but the verdict must
   * not be clean. */
  m.fail_at = 700000;
  m.calls = 0;
  ov_scan_stream (sigs.engine, NULL, sizeof buf, mem_read, &m, &r);
  assert_int_equal (r.verdict, OV_VERDICT_ERROR);
  assert_non_null (strstr (r.error, "read failed at file offset "));
  assert_non_null (strstr (r.error, "Input/output error"));
  assert_true (r.bytes_read <= 700000);
  ov_scan_result_clear (&r);
}

static void
content_ending_before_size_is_an_error (void **state)
{
  /* The reader's contract: short only at end of file.  A stream that ends
   * before its size is an error, not a clean scan of a truncated file. */
  static unsigned char buf[100000];
  struct mem m = { .data = buf, .len = sizeof buf, .fail_at = UINT64_MAX };
  struct ov_scan_result r;
  ov_scan_stream (sigs.engine, NULL, sizeof buf + 50000, mem_read, &m, &r);
  assert_int_equal (r.verdict, OV_VERDICT_ERROR);
  assert_non_null (r.error);
  assert_non_null (strstr (r.error, "content ends before the file size (150000 bytes)"));
  ov_scan_result_clear (&r);
}

static void
verdict_names (void **state)
{
  assert_string_equal (ov_verdict_to_string (OV_VERDICT_CLEAN), "clean");
  assert_string_equal (ov_verdict_to_string (OV_VERDICT_INFECTED), "infected");
  assert_string_equal (ov_verdict_to_string (OV_VERDICT_ERROR), "error");
  assert_string_equal (ov_verdict_to_string (OV_VERDICT_SKIPPED), "skipped");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (verdict_names),
    cmocka_unit_test (eicar_is_infected_with_our_signature),
    cmocka_unit_test (clean_bytes_are_clean),
    cmocka_unit_test (empty_file_is_clean_without_reading),
    cmocka_unit_test (clam_exe_is_infected),
    cmocka_unit_test (clam_zip_is_infected_through_the_unpacker),
    cmocka_unit_test (clam_upx_exe_is_infected_through_the_unpacker),
    cmocka_unit_test (file_over_max_filesize_is_skipped_unread),
    cmocka_unit_test (failing_reader_gives_error_with_offset),
    cmocka_unit_test (content_ending_before_size_is_an_error),
  };
  return cmocka_run_group_tests (tests, load_sigs, free_sigs);
}
