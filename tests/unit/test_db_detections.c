/* Unit tests: detections and signature coverage (db/detections.c,
 * db/coverage.c, the triggers of db/schema_operations.c) on a real sqlite
 * file: an infected poll_files row is a detection (refreshed, not
 * duplicated, by a later poll; cleared by a deletion); a rolled-back poll
 * leaves none; a rescan find is recorded; coverage counts files and bytes
 * under the current version; stale files come oldest first; a rescan
 * verdict is not stored over a file a poll changed meanwhile. */
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "db/coverage.h"
#include "db/detections.h"
#include "db/state.h"

static char tmpdir[64];
static struct ov_state *st;
static int64_t disk_id, fs_id;

static int
setup (void **state)
{
  char path[128];
  struct ov_disk_record d = { .name = "vm", .image = "/vm.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 4096 };
  struct ov_fs_record fs = { .label = "p1", .offset = 1048576,
    .size = 1ULL << 30, .type = "ext4", .identity = "uuid-1" };
  bool changed;

  strcpy (tmpdir, "/tmp/ovscan-db-det-XXXXXX");
  if (mkdtemp (tmpdir) == NULL)
    return -1;
  snprintf (path, sizeof path, "%s/state.db", tmpdir);
  st = ov_state_open (path);
  if (st == NULL || ov_state_add_disk (st, &d) == -1)
    return -1;
  disk_id = d.id;
  fs.disk_id = disk_id;
  if (ov_state_put_fs (st, &fs, &changed) == -1)
    return -1;
  fs_id = fs.id;
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  ov_state_close (st);
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

static int64_t
add_poll (double started, const char *sig_version)
{
  struct ov_poll_record p = { .disk_id = disk_id, .started = started,
    .finished = started + 1, .mode = "full", .tracker = "bitmap",
    .status = "ok", .sig_version = sig_version };
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  return p.id;
}

static void
add_row (int64_t poll, const char *path, const char *change,
         const char *verdict, const char *sig)
{
  struct ov_poll_file f = { .path = path, .fs_label = "p1", .inode = 12,
    .size = 68, .change = change, .verdict = verdict, .signature = sig };
  assert_int_equal (ov_state_add_poll_file (st, poll, &f), 0);
}

struct collected { struct ov_detection_row d[8]; char paths[8][64]; size_t n; };

static int
collect (void *opaque, const struct ov_detection_row *d)
{
  struct collected *c = opaque;
  assert_true (c->n < 8);
  c->d[c->n] = *d;
  snprintf (c->paths[c->n], 64, "%s", d->path);
  c->d[c->n].path = c->paths[c->n];
  c->d[c->n].disk = c->d[c->n].signature = c->d[c->n].fs_label = c->d[c->n].found_by = NULL;
  c->n++;
  return 0;
}

static void
test_poll_rows_feed_detections (void **state)
{
  struct collected c = { .n = 0 };
  uint64_t total, present;
  int64_t p1, p2, p3, p4;

  p1 = add_poll (1000, "v1");
  add_row (p1, "p1:/evil\n$(x)", "new", "infected", "Eicar.UNOFFICIAL");
  add_row (p1, "p1:/fine", "new", "clean", NULL);
  p2 = add_poll (2000, "v1");
  add_row (p2, "p1:/evil\n$(x)", "modified", "infected", "Eicar.UNOFFICIAL");
  assert_int_equal (ov_detections_list (st, disk_id, collect, &c), 0);
  assert_int_equal (c.n, 1);
  assert_string_equal (c.d[0].path, "p1:/evil\n$(x)");
  assert_true (c.d[0].first_seen == 1000 && c.d[0].last_seen == 2000);
  assert_int_equal (c.d[0].first_poll, p1);
  assert_int_equal (c.d[0].last_poll, p2);
  assert_int_equal (c.d[0].cleared_poll, 0);

  /* A rolled-back poll leaves nothing. */
  assert_int_equal (ov_state_begin (st), 0);
  p3 = add_poll (3000, "v1");
  add_row (p3, "p1:/other", "new", "infected", "Other.Sig");
  ov_state_rollback (st);
  assert_int_equal (ov_detections_count (st, disk_id, &total, &present), 0);
  assert_int_equal (total, 1);

  /* Deleted: cleared, still listed. */
  p4 = add_poll (4000, "v1");
  add_row (p4, "p1:/evil\n$(x)", "deleted", "none", NULL);
  assert_int_equal (ov_detections_count (st, disk_id, &total, &present), 0);
  assert_int_equal (total, 1);
  assert_int_equal (present, 0);
  c.n = 0;
  assert_int_equal (ov_detections_list (st, 0, collect, &c), 0);
  assert_int_equal (c.d[0].cleared_poll, p4);
  assert_int_equal (ov_detection_is_known (st, disk_id, "p1", "p1:/evil\n$(x)",
                                           "Eicar.UNOFFICIAL"), 0);

  /* A rescan find. */
  {
    struct ov_detection_row d = { .disk_id = disk_id, .fs_label = "p1",
      .path = "p1:/old", .inode = 7, .signature = "New.Sig", .last_seen = 5000,
      .last_poll = p4, .found_by = "rescan" };
    assert_int_equal (ov_detection_is_known (st, disk_id, "p1", "p1:/old", "New.Sig"), 0);
    assert_int_equal (ov_detection_record (st, &d), 0);
    assert_int_equal (ov_detection_record (st, &d), 0);
    assert_int_equal (ov_detection_is_known (st, disk_id, "p1", "p1:/old", "New.Sig"), 1);
    assert_int_equal (ov_detection_is_known (st, disk_id, "p1", "p1:/old", "Other.Sig"), 0);
  }
  c.n = 0;
  assert_int_equal (ov_detections_list (st, disk_id, collect, &c), 0);
  assert_int_equal (c.n, 2);
  assert_int_equal (c.d[1].first_poll, p4);
  assert_true (c.d[1].first_seen == 5000);
}

static void
put_file (uint64_t inode, uint64_t size, const char *verdict,
          const char *sig_version, int64_t scanned_poll)
{
  char path[32];
  char *paths[] = { path };
  struct ov_run run = { .file_offset = 0, .disk_offset = inode * 4096,
    .length = 4096, .kind = OV_RUN_DATA };
  struct ov_file_record r = { .key = { .fs_id = fs_id, .inode = inode },
    .size = size, .paths = paths, .npaths = 1, .verdict = verdict,
    .scanned_poll = scanned_poll, .sig_version = sig_version };
  snprintf (path, sizeof path, "p1:/f%" PRIu64, inode);
  ov_runs_digest (&run, 1, r.runs_digest);
  assert_int_equal (ov_state_put_file (st, &r, &run, 1), 0);
}

struct stale { int64_t ids[8]; uint64_t inodes[8]; size_t n; struct ov_stale_file last; };

static int
stale_cb (void *opaque, const struct ov_stale_file *f)
{
  struct stale *s = opaque;
  s->inodes[s->n++] = f->key.inode;
  s->last = *f;
  return 0;
}

static void
test_coverage_and_oldest_first (void **state)
{
  struct ov_coverage cov;
  struct stale s = { .n = 0 };
  struct ov_rescan_verdict v = { 0 };
  int64_t old_poll = add_poll (100, "v1"), new_poll = add_poll (200, "v1");
  uint64_t files, bytes;
  bool stored;

  put_file (1, 1000, "clean", "v1", new_poll);
  put_file (2, 3000, "clean", "v1", old_poll);
  put_file (3, 500, "infected", "v2", new_poll);
  put_file (4, 99999, "skipped", NULL, new_poll);
  put_file (5, 10, "error", "v2", new_poll);
  assert_int_equal (ov_coverage_disk (st, disk_id, "v2", &cov), 0);
  assert_int_equal (cov.files, 4);
  assert_int_equal (cov.bytes, 4510);
  assert_int_equal (cov.covered_files, 1);
  assert_int_equal (cov.covered_bytes, 500);
  assert_int_equal (cov.infected, 1);
  assert_true (cov.oldest_stale == 100);
  assert_int_equal (ov_coverage_stale_count (st, "v2", &files, &bytes), 0);
  assert_int_equal (files, 3);

  /* Oldest first: inode 2 (poll at 100), then 1 and 5 (poll at 200) by id. */
  assert_int_equal (ov_coverage_stale_files (st, "v2", 0, stale_cb, &s), 0);
  assert_int_equal (s.n, 3);
  assert_int_equal (s.inodes[0], 2);
  assert_int_equal (s.inodes[1], 1);
  assert_int_equal (s.inodes[2], 5);
  s.n = 0;
  assert_int_equal (ov_coverage_stale_files (st, "v2", 1, stale_cb, &s), 0);
  assert_int_equal (s.n, 1);

  /* Store a rescan of inode 2: covered, and dated by scanned_at. */
  v.id = s.last.id;
  v.size = s.last.size;
  memcpy (v.runs_digest, s.last.runs_digest, 32);
  v.verdict = "infected";
  v.signature = "New.Sig";
  assert_int_equal (ov_coverage_store (st, &v, "v2", 300, &stored), 0);
  assert_true (stored);
  assert_int_equal (ov_coverage_disk (st, disk_id, "v2", &cov), 0);
  assert_int_equal (cov.covered_files, 2);
  assert_int_equal (cov.covered_bytes, 3500);
  assert_true (cov.oldest_stale == 200);

  /* Changed meanwhile (other runs): not stored. */
  v.runs_digest[0] ^= 1;
  assert_int_equal (ov_coverage_store (st, &v, "v3", 400, &stored), 0);
  assert_false (stored);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_poll_rows_feed_detections, setup, teardown),
    cmocka_unit_test_setup_teardown (test_coverage_and_oldest_first, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
