/* Unit tests: ov_scan_file (scanner/scan_file.c) over fsmap's real reader.
 * Files are built by hand: resident files (bytes in ov_file.resident, as
 * NTFS-resident and ext4-inline data are served) and a data run on a fake
 * disk whose reads fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backends/disk.h"
#include "common/error.h"
#include "fsmap/fsmap.h"
#include "scanner/scanner.h"
#include "signatures/signatures.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define TESTFILES "/usr/share/clamav-testfiles"

static struct ov_sigs sigs;
static struct ov_fs fs = { .index = 0, .label = "", .type = "ext4", .block_size = 4096,
                           .size = 1 << 30 };

/* A disk whose every read fails, as a dead NBD connection does. */
static int
failing_pread (void *handle, void *buf, size_t count, uint64_t offset)
{
  ov_error ("Input/output error");
  return -1;
}
static void fake_close (void *handle) { }
static const struct ov_disk_ops failing_ops = {
  .name = "failing", .pread = failing_pread, .close = fake_close,
  .max_request = 1 << 20,
};
static struct ov_disk failing_disk = {
  .ops = &failing_ops, .label = (char *) "broken.img", .size = 1 << 30,
};

static struct ov_file *
new_file (uint64_t size, enum ov_run_kind kind)
{
  struct ov_file *f = calloc (1, sizeof *f);
  assert_non_null (f);
  f->fs = &fs;
  f->inode = 42;
  f->size = size;
  f->paths = calloc (1, sizeof *f->paths);
  assert_non_null (f->paths);
  f->paths[0] = strdup ("/home/user/file");
  f->npaths = 1;
  f->runs = calloc (1, sizeof *f->runs);
  assert_non_null (f->runs);
  f->runs[0] = (struct ov_run) { .file_offset = 0, .disk_offset = 1 << 20,
                                 .length = size, .kind = kind };
  f->nruns = 1;
  return f;
}

static struct ov_file *
resident_file (const void *data, size_t len)
{
  struct ov_file *f = new_file (len, OV_RUN_RESIDENT);
  f->resident = malloc (len ? len : 1);
  assert_non_null (f->resident);
  memcpy (f->resident, data, len);
  return f;
}

static void
scan (struct ov_file *f, const struct ov_scan_limits *limits,
      struct ov_disk *disk, struct ov_scan_result *r)
{
  ov_scan_file (sigs.engine, limits, NULL, disk ? disk : &failing_disk, f, r);
}

static void
resident_eicar_is_infected (void **state)
{
  struct ov_file *f = resident_file (EICAR, strlen (EICAR));
  struct ov_scan_result r;
  scan (f, NULL, NULL, &r);
  assert_int_equal (r.verdict, OV_VERDICT_INFECTED);
  assert_string_equal (r.signature, OV_SIGS_TEST_EICAR ".UNOFFICIAL");
  assert_int_equal (r.bytes_read, strlen (EICAR));
  ov_scan_result_clear (&r);
  ov_file_free (f);
}

static void
resident_clean_bytes_are_clean (void **state)
{
  const char *text = "#!/bin/sh\necho hello\n";
  struct ov_file *f = resident_file (text, strlen (text));
  struct ov_scan_result r;
  scan (f, NULL, NULL, &r);
  assert_int_equal (r.verdict, OV_VERDICT_CLEAN);
  assert_null (r.error);
  assert_int_equal (r.bytes_read, strlen (text));
  ov_scan_result_clear (&r);
  ov_file_free (f);
}

static void
expect_testfile_infected (const char *name)
{
  char path[256];
  FILE *fp;
  long n;
  unsigned char *data;
  struct ov_file *f;
  struct ov_scan_result r;

  snprintf (path, sizeof path, "%s/%s", TESTFILES, name);
  fp = fopen (path, "rb");
  if (fp == NULL) {
    print_message ("%s is absent (package clamav-testfiles)\n", path);
    skip ();
  }
  fseek (fp, 0, SEEK_END);
  n = ftell (fp);
  rewind (fp);
  data = malloc ((size_t) n);
  assert_non_null (data);
  assert_int_equal (fread (data, 1, (size_t) n, fp), (size_t) n);
  fclose (fp);

  f = resident_file (data, (size_t) n);
  scan (f, NULL, NULL, &r);
  assert_string_equal (ov_verdict_to_string (r.verdict), "infected");
  assert_string_equal (r.signature, OV_SIGS_TEST_CLAM_EXE ".UNOFFICIAL");
  ov_scan_result_clear (&r);
  ov_file_free (f);
  free (data);
}

static void
clam_exe_is_infected (void **state)
{
  expect_testfile_infected ("clam.exe");
}

static void
clam_zip_is_infected (void **state)
{
  expect_testfile_infected ("clam.zip");
}

static void
over_max_filesize_is_skipped (void **state)
{
  static char big[10000];
  struct ov_scan_limits limits = { .max_filesize = 9999 };
  struct ov_file *f = resident_file (big, sizeof big);
  struct ov_scan_result r;
  scan (f, &limits, NULL, &r);
  assert_int_equal (r.verdict, OV_VERDICT_SKIPPED);
  assert_string_equal (r.error, "larger than --max-filesize (9999 bytes)");
  assert_int_equal (r.bytes_read, 0);
  ov_scan_result_clear (&r);
  ov_file_free (f);
}

static void
failing_disk_read_is_an_error (void **state)
{
  struct ov_file *f = new_file (8192, OV_RUN_DATA);
  struct ov_scan_result r;
  scan (f, NULL, &failing_disk, &r);
  assert_string_equal (ov_verdict_to_string (r.verdict), "error");
  assert_non_null (r.error);
  assert_non_null (strstr (r.error, "read failed at file offset 0: "));
  assert_non_null (strstr (r.error, "Input/output error"));
  assert_int_equal (r.bytes_read, 0);
  ov_scan_result_clear (&r);
  ov_file_free (f);
}

static void
empty_file_is_clean (void **state)
{
  struct ov_file *f = new_file (0, OV_RUN_DATA);
  struct ov_scan_result r;
  f->nruns = 0;
  scan (f, NULL, &failing_disk, &r);
  assert_int_equal (r.verdict, OV_VERDICT_CLEAN);
  ov_scan_result_clear (&r);
  ov_file_free (f);
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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (resident_eicar_is_infected),
    cmocka_unit_test (resident_clean_bytes_are_clean),
    cmocka_unit_test (clam_exe_is_infected),
    cmocka_unit_test (clam_zip_is_infected),
    cmocka_unit_test (over_max_filesize_is_skipped),
    cmocka_unit_test (failing_disk_read_is_an_error),
    cmocka_unit_test (empty_file_is_clean),
  };
  return cmocka_run_group_tests (tests, load_sigs, free_sigs);
}
