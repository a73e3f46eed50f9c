/* Unit tests: the scanner's worker pool (scanner/pool.c): every file is
 * delivered exactly once, callbacks never overlap, each worker has its own
 * disk handle, and a failing reopen fails the start cleanly.  Files are
 * resident (their bytes in memory, as fsmap's reader serves NTFS-resident
 * and ext4-inline data); the disk is a fake whose only job is reopen/close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#define NFILES 1000

static struct ov_sigs sigs;

/* ---- a fake disk: counts reopens and closes, can refuse the Nth reopen ---- */
static atomic_int reopens, closes, refuse_reopen_at;

static int
fake_pread (void *handle, void *buf, size_t count, uint64_t offset)
{
  ov_error ("fake disk: no data");
  return -1;
}

static void *
fake_reopen (void *handle)
{
  int n = atomic_fetch_add (&reopens, 1) + 1;
  if (n == atomic_load (&refuse_reopen_at)) {
    ov_error ("fake disk: connection refused");
    return NULL;
  }
  return malloc (1);
}

static void
fake_close (void *handle)
{
  atomic_fetch_add (&closes, 1);
  free (handle);
}

static const struct ov_disk_ops fake_ops = {
  .name = "fake", .pread = fake_pread, .reopen = fake_reopen,
  .close = fake_close, .max_request = 1 << 20,
};

static struct ov_disk fake_disk = {
  .ops = &fake_ops, .handle = NULL, .label = (char *) "fake.img", .size = 1 << 30,
};

/* ---- resident files ---- */
static struct ov_file *
resident_file (uint64_t inode, const char *content)
{
  struct ov_file *f = calloc (1, sizeof *f);
  size_t len = strlen (content);
  assert_non_null (f);
  f->inode = inode;
  f->size = len;
  f->paths = calloc (1, sizeof *f->paths);
  assert_non_null (f->paths);
  assert_true (asprintf (&f->paths[0], "/dir/file-%llu", (unsigned long long) inode) > 0);
  f->npaths = 1;
  f->resident = malloc (len + 1);
  assert_non_null (f->resident);
  memcpy (f->resident, content, len);
  f->runs = calloc (1, sizeof *f->runs);
  assert_non_null (f->runs);
  f->runs[0] = (struct ov_run) { .file_offset = 0, .disk_offset = 123456,
                                 .length = len, .kind = OV_RUN_RESIDENT };
  f->nruns = 1;
  return f;
}

static bool
is_infected_inode (uint64_t inode)
{
  return inode % 10 == 3;
}

struct tally {
  unsigned seen[NFILES];
  unsigned infected, clean, other;
  atomic_int in_callback;
  bool overlapped;
};

static void
count_result (void *opaque, const struct ov_file *f,
              const struct ov_scan_result *r)
{
  struct tally *t = opaque;
  if (atomic_fetch_add (&t->in_callback, 1) != 0)
    t->overlapped = true;
  if (f->inode < NFILES)
    t->seen[f->inode]++;
  if (r->verdict == OV_VERDICT_INFECTED && is_infected_inode (f->inode)
      && strcmp (r->signature, OV_SIGS_TEST_EICAR ".UNOFFICIAL") == 0)
    t->infected++;
  else if (r->verdict == OV_VERDICT_CLEAN && !is_infected_inode (f->inode)
           && r->bytes_read == f->size)
    t->clean++;
  else
    t->other++;
  atomic_fetch_sub (&t->in_callback, 1);
}

static void
thousand_files_through_two_workers_each_delivered_once (void **state)
{
  static struct tally t;
  struct ov_scan_limits limits = { 0 };
  struct ov_pool *pool;
  char content[128];

  atomic_store (&reopens, 0);
  atomic_store (&closes, 0);
  atomic_store (&refuse_reopen_at, 0);
  memset (&t, 0, sizeof t);
  pool = ov_pool_start (2, sigs.engine, &limits, NULL, &fake_disk, count_result, &t);
  assert_non_null (pool);
  assert_int_equal (atomic_load (&reopens), 2);
  for (unsigned i = 0; i < NFILES; i++) {
    if (is_infected_inode (i))
      snprintf (content, sizeof content, "%s", EICAR);
    else
      snprintf (content, sizeof content, "clean file number %u\n", i);
    ov_pool_submit (pool, resident_file (i, content));
  }
  ov_pool_finish (pool);

  for (unsigned i = 0; i < NFILES; i++)
    assert_int_equal (t.seen[i], 1);
  assert_int_equal (t.infected, NFILES / 10);
  assert_int_equal (t.clean, NFILES - NFILES / 10);
  assert_int_equal (t.other, 0);
  assert_false (t.overlapped);
  assert_int_equal (atomic_load (&closes), 2);     /* each worker's handle */
}

static void
finish_with_nothing_submitted (void **state)
{
  static struct tally t;
  struct ov_pool *pool;
  atomic_store (&reopens, 0);
  atomic_store (&closes, 0);
  atomic_store (&refuse_reopen_at, 0);
  memset (&t, 0, sizeof t);
  pool = ov_pool_start (4, sigs.engine, NULL, NULL, &fake_disk, count_result, &t);
  assert_non_null (pool);
  ov_pool_finish (pool);
  assert_int_equal (atomic_load (&closes), 4);
  assert_int_equal (t.clean + t.infected + t.other, 0);
}

static void
failing_reopen_fails_the_start_cleanly (void **state)
{
  static struct tally t;
  atomic_store (&reopens, 0);
  atomic_store (&closes, 0);
  atomic_store (&refuse_reopen_at, 2);
  assert_null (ov_pool_start (3, sigs.engine, NULL, NULL, &fake_disk,
                              count_result, &t));
  assert_non_null (strstr (ov_last_error (), "worker 2 of 3"));
  assert_non_null (strstr (ov_last_error (), "connection refused"));
  assert_int_equal (atomic_load (&closes), 1);     /* the one that opened */
  atomic_store (&refuse_reopen_at, 0);
}

static void
zero_workers_is_an_error (void **state)
{
  static struct tally t;
  assert_null (ov_pool_start (0, sigs.engine, NULL, NULL, &fake_disk,
                              count_result, &t));
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
    cmocka_unit_test (thousand_files_through_two_workers_each_delivered_once),
    cmocka_unit_test (finish_with_nothing_submitted),
    cmocka_unit_test (failing_reopen_fails_the_start_cleanly),
    cmocka_unit_test (zero_workers_is_an_error),
  };
  return cmocka_run_group_tests (tests, load_sigs, free_sigs);
}
