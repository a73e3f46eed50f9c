/* Unit test + measurement: a full poll's worth of files in one transaction
 * (50,000 files x 3 runs x 1 path), the reverse-map query latency, and the
 * database size per 10,000 files, on a real sqlite file.  Prints the
 * numbers; asserts the counts and that queries find what was stored. */
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "common/error.h"
#include "db/internal.h"

#define NFILES 50000
#define NQUERIES 20000

static char tmpdir[64];
static char dbpath[128];

static double
cpu_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static off_t
file_size (const char *suffix)
{
  char p[160];
  struct stat sb;
  snprintf (p, sizeof p, "%s%s", dbpath, suffix);
  return stat (p, &sb) == 0 ? sb.st_size : 0;
}

/* File i: 3 runs of 4-12 KiB, laid out one after another on the disk with
 * a 4 KiB gap, as a freshly filled filesystem would. */
static void
runs_of (uint64_t i, struct ov_run runs[3])
{
  uint64_t base = (1ULL << 20) + i * 3 * 16384, j;
  for (j = 0; j < 3; j++) {
    runs[j].file_offset = j * 12288;
    runs[j].disk_offset = base + j * 16384;
    runs[j].length = 4096 * (1 + (i + j) % 3);
    runs[j].kind = OV_RUN_DATA;
  }
}

static int
count_cb (void *opaque, const struct ov_file_record *r)
{
  (*(uint64_t *) opaque)++;
  return 0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
full_poll_of_50000_files (void **state)
{
  struct ov_state *st;
  struct ov_disk_record d = { .name = "big", .image = "/big.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 4096 };
  struct ov_fs_record fs = { .label = "", .type = "ext4", .size = 1ULL << 40 };
  struct ov_poll_record p = { .mode = "full", .tracker = "bitmap", .status = "ok" };
  static double lat[NQUERIES];
  uint64_t files, runs, i, found;
  double t0, t_list, c0, c_put, t_put, t_commit, t_replace, t_clear;
  bool changed;
  char path[128];
  char *paths[] = { path };

  strcpy (tmpdir, "/tmp/ovscan-db-scale-XXXXXX");
  assert_non_null (mkdtemp (tmpdir));
  snprintf (dbpath, sizeof dbpath, "%s/state.db", tmpdir);
  st = ov_state_open (dbpath);
  assert_non_null (st);
  assert_int_equal (ov_state_add_disk (st, &d), 0);
  fs.disk_id = p.disk_id = d.id;
  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);

  /* One full poll: files + runs + paths + dirty list, one transaction. */
  t0 = now ();
  c0 = cpu_now ();
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  for (i = 0; i < NFILES; i++) {
    struct ov_run r[3];
    struct ov_file_record f = { .key = { fs.id, 12 + i, 0, 0 }, .size = 36864,
      .paths = paths, .npaths = 1, .verdict = "clean", .scanned_poll = p.id,
      .changed_poll = p.id, .sig_version = "daily-27000" };
    runs_of (i, r);
    snprintf (path, sizeof path, "/usr/share/doc/package-%" PRIu64 "/file-%" PRIu64 ".txt",
              i / 40, i);
    ov_runs_digest (r, 3, f.runs_digest);
    assert_int_equal (ov_state_put_file (st, &f, r, 3), 0);
  }
  t_put = now () - t0;
  c_put = cpu_now () - c0;
  assert_int_equal (ov_state_commit (st), 0);
  t_commit = now () - t0 - t_put;
  print_message ("put %d files x 3 runs x 1 path: %.3f s (cpu %.3f s, %.1f us/file), commit %.3f s\n",
                 NFILES, t_put, c_put, t_put / NFILES * 1e6, t_commit);

  assert_int_equal (ov_state_count_files (st, d.id, &files, &runs), 0);
  assert_int_equal (files, NFILES);
  assert_int_equal (runs, 3 * NFILES);

  /* Reverse-map latency: random 4 KiB queries over the used area. */
  {
    uint64_t seed = 88172645463325252ULL, hits = 0;
    for (i = 0; i < NQUERIES; i++) {
      uint64_t off, n = 0;
      double q0;
      seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
      off = (1ULL << 20) + (seed % (NFILES * 3 * 4ULL)) * 4096;
      q0 = now ();
      assert_int_equal (ov_state_files_overlapping (st, fs.id, off, 4096, count_cb, &n), 0);
      lat[i] = now () - q0;
      assert_true (n <= 1);
      hits += n;
    }
    qsort (lat, NQUERIES, sizeof lat[0], cmp_double);
    print_message ("overlap query (4 KiB): median %.1f us, p99 %.1f us, max %.1f us; %" PRIu64 "/%d hit a file\n",
                   lat[NQUERIES / 2] * 1e6, lat[NQUERIES * 99 / 100] * 1e6,
                   lat[NQUERIES - 1] * 1e6, hits, NQUERIES);
    assert_true (hits > NQUERIES / 4);
    /* a 64 MiB query returns every file stored there, each once */
    found = 0;
    t0 = now ();
    assert_int_equal (ov_state_files_overlapping (st, fs.id, 1ULL << 20, 64ULL << 20, count_cb, &found), 0);
    print_message ("overlap query (64 MiB): %" PRIu64 " files in %.3f s\n", found, now () - t0);
    assert_int_equal (found, (64ULL << 20) / (3 * 16384) + 1);
  }

  assert_int_equal (sqlite3_wal_checkpoint_v2 (st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
  print_message ("db size: %.2f MiB for %d files = %.2f MiB per 10,000 files (wal %lld bytes)\n",
                 file_size ("") / 1048576.0, NFILES,
                 file_size ("") / 1048576.0 / (NFILES / 10000), (long long) file_size ("-wal"));

  /* The full poll's dirty list: every file, "new". */
  t0 = now ();
  assert_int_equal (ov_state_begin (st), 0);
  for (i = 0; i < NFILES; i++) {
    struct ov_poll_file pf = { .path = path, .fs_label = "", .inode = 12 + i,
      .size = 36864, .change = "new", .verdict = "clean" };
    snprintf (path, sizeof path, "/usr/share/doc/package-%" PRIu64 "/file-%" PRIu64 ".txt",
              i / 40, i);
    assert_int_equal (ov_state_add_poll_file (st, p.id, &pf), 0);
  }
  assert_int_equal (ov_state_commit (st), 0);
  t_list = now () - t0;
  assert_int_equal (sqlite3_wal_checkpoint_v2 (st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
  print_message ("dirty list of %d files: %.3f s incl. commit; db then %.2f MiB per 10,000 files\n",
                 NFILES, t_list, file_size ("") / 1048576.0 / (NFILES / 10000));

  /* A second full poll over the same files (replace path and runs). */
  t0 = now ();
  assert_int_equal (ov_state_begin (st), 0);
  for (i = 0; i < NFILES; i++) {
    struct ov_run r[3];
    struct ov_file_record f = { .key = { fs.id, 12 + i, 0, 0 }, .size = 36864,
      .paths = paths, .npaths = 1, .verdict = "clean" };
    runs_of (i, r);
    snprintf (path, sizeof path, "/moved/file-%" PRIu64, i);
    assert_int_equal (ov_state_put_file (st, &f, r, 3), 0);
  }
  assert_int_equal (ov_state_commit (st), 0);
  t_replace = now () - t0;
  assert_int_equal (ov_state_count_files (st, d.id, &files, &runs), 0);
  assert_int_equal (files, NFILES);
  assert_int_equal (runs, 3 * NFILES);
  found = 0;
  assert_int_equal (ov_state_list_fs_files (st, fs.id, count_cb, &found), 0);
  assert_int_equal (found, NFILES);

  t0 = now ();
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_clear_fs_files (st, fs.id), 0);
  assert_int_equal (ov_state_commit (st), 0);
  t_clear = now () - t0;
  print_message ("replace all %d files: %.3f s; forget them (clear_fs_files): %.3f s\n",
                 NFILES, t_replace, t_clear);
  assert_int_equal (ov_state_count_files (st, d.id, &files, &runs), 0);
  assert_int_equal (files + runs, 0);
  ov_state_close (st);
  {
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal (system (cmd), 0);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (full_poll_of_50000_files),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
