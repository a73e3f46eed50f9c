/* Unit tests: disks, polls, poll files and transactions (db/disks.c,
 * db/polls.c, db/poll_files.c, db/state.c) on real sqlite files: cascades,
 * hostile path bytes, rollback, and a full database (max_page_count). */
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
#include "db/internal.h"

static char tmpdir[64];
static struct ov_state *st;
static int dbcount;

static int
setup (void **state)
{
  char path[128];
  if (tmpdir[0] == '\0') {
    strcpy (tmpdir, "/tmp/ovscan-db-polls-XXXXXX");
    if (mkdtemp (tmpdir) == NULL)
      return -1;
  }
  snprintf (path, sizeof path, "%s/state%d.db", tmpdir, dbcount++);
  st = ov_state_open (path);
  return st ? 0 : -1;
}

static int
teardown (void **state)
{
  ov_state_close (st);
  st = NULL;
  return 0;
}

static int
remove_tmpdir (void **state)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

static int64_t
query_int (const char *sql)
{
  sqlite3_stmt *s;
  int64_t v;
  assert_int_equal (sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (s), SQLITE_ROW);
  v = sqlite3_column_int64 (s, 0);
  sqlite3_finalize (s);
  return v;
}

static int64_t
add_disk (const char *name)
{
  struct ov_disk_record d = { .name = (char *) name, .image = "/img.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 4096 };
  assert_int_equal (ov_state_add_disk (st, &d), 0);
  assert_true (d.id > 0);
  return d.id;
}

static int
count_disks (void *opaque, const struct ov_disk_record *r)
{
  char *names = opaque;
  strcat (names, r->name);
  strcat (names, ",");
  return 0;
}

static void
disks_add_get_list_update_remove (void **state)
{
  struct ov_disk_record r;
  char names[256] = "";
  int64_t id = add_disk ("web");

  add_disk ("db");
  assert_int_equal (ov_state_add_disk (st, &(struct ov_disk_record) { .name = "web",
    .image = "/x", .format = "raw", .tracker = "full" }), -1);
  assert_non_null (strstr (ov_last_error (), "disk web already exists"));
  /* a bad tracker name is refused by the schema */
  assert_int_equal (ov_state_add_disk (st, &(struct ov_disk_record) { .name = "odd",
    .image = "/x", .format = "raw", .tracker = "magic" }), -1);

  assert_int_equal (ov_state_get_disk (st, "nope", &r), 1);
  assert_int_equal (ov_state_get_disk (st, "web", &r), 0);
  assert_int_equal (r.id, id);
  assert_null (r.bitmap);
  assert_int_equal (r.last_poll, 0);
  assert_int_equal (r.size, 0);
  r.bitmap = strdup ("ovscan-3");
  r.generation = 3;
  r.size = 1ULL << 34;
  r.granularity = 65536;
  assert_int_equal (ov_state_update_disk_tracker (st, &r), 0);
  ov_disk_record_clear (&r);
  assert_int_equal (ov_state_get_disk (st, "web", &r), 0);
  assert_string_equal (r.bitmap, "ovscan-3");
  assert_int_equal (r.generation, 3);
  assert_int_equal (r.size, 1ULL << 34);
  assert_int_equal (r.granularity, 65536);
  ov_disk_record_clear (&r);

  assert_int_equal (ov_state_list_disks (st, count_disks, names), 0);
  assert_string_equal (names, "db,web,");
  assert_int_equal (ov_state_remove_disk (st, "db"), 0);
  assert_int_equal (ov_state_remove_disk (st, "db"), 1);
  names[0] = '\0';
  assert_int_equal (ov_state_list_disks (st, count_disks, names), 0);
  assert_string_equal (names, "web,");
}

static void
removing_a_disk_cascades_to_everything (void **state)
{
  int64_t keep = add_disk ("keep"), gone = add_disk ("gone");
  int64_t disks[2] = { keep, gone };
  unsigned i;

  for (i = 0; i < 2; i++) {
    struct ov_fs_record fs = { .disk_id = disks[i], .label = "", .type = "ext4", .size = 1 << 30 };
    char *paths[] = { "/f" };
    struct ov_run run = { 0, 4096, 4096, OV_RUN_DATA };
    struct ov_file_record f = { .paths = paths, .npaths = 1 };
    struct ov_poll_record p = { .disk_id = disks[i], .mode = "full", .tracker = "bitmap", .status = "ok" };
    struct ov_poll_file pf = { .path = "/f", .change = "new", .verdict = "clean" };
    bool changed;

    assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
    f.key.fs_id = fs.id;
    f.key.inode = 12;
    assert_int_equal (ov_state_put_file (st, &f, &run, 1), 0);
    assert_int_equal (ov_state_add_poll (st, &p), 0);
    assert_int_equal (ov_state_add_poll_file (st, p.id, &pf), 0);
  }
  assert_int_equal (ov_state_remove_disk (st, "gone"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM filesystems"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM files"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM paths"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM runs"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM polls"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM poll_files"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM polls WHERE disk_id = 2"), 0);
}

/* Paths with a newline, 0xff bytes, and 4000 bytes. */
static char long_path[4001];
static const char *const hostile_paths[] = {
  "/dir/new\nline", "/\xff\xfe\xff/latin1-\xe9", long_path, "p2:/ok",
};

struct seen { size_t n; };
static int
check_poll_file (void *opaque, const struct ov_poll_file *f)
{
  struct seen *seen = opaque;
  assert_true (seen->n < 4);
  assert_string_equal (f->path, hostile_paths[seen->n]);
  assert_int_equal (strlen (f->path), strlen (hostile_paths[seen->n]));
  assert_int_equal (f->inode, 100 + seen->n);
  assert_int_equal (f->size, UINT64_C (1) << (30 + seen->n));
  assert_string_equal (f->fs_label, seen->n == 3 ? "p2" : "");
  assert_string_equal (f->change, seen->n == 1 ? "modified" : "new");
  assert_string_equal (f->verdict, seen->n == 2 ? "infected" : "clean");
  if (seen->n == 2)
    assert_string_equal (f->signature, "Win.Test.EICAR_HDB-1");
  else
    assert_null (f->signature);
  seen->n++;
  return 0;
}

static int
check_poll_newest_first (void *opaque, const struct ov_poll_record *p)
{
  int64_t *prev = opaque;
  assert_true (*prev == 0 || p->id < *prev);
  *prev = p->id;
  return 0;
}

static void
poll_and_dirty_files_round_trip (void **state)
{
  int64_t disk = add_disk ("vm");
  struct ov_poll_record p = { .disk_id = disk, .started = 1700000000.25,
    .mode = "full", .tracker = "bitmap", .reason = "first poll",
    .status = "ok", .sig_version = "daily:1" };
  struct ov_poll_record got, p2;
  struct ov_disk_record d;
  struct seen seen = { 0 };
  int64_t prev = 0;
  size_t i;

  memset (long_path, 'x', 4000);
  for (i = 0; i < 4000; i += 100)
    long_path[i] = '/';
  long_path[4000] = '\0';

  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  for (i = 0; i < 4; i++) {
    struct ov_poll_file f = { .path = hostile_paths[i], .fs_label = i == 3 ? "p2" : NULL,
      .inode = 100 + i, .size = UINT64_C (1) << (30 + i),
      .change = i == 1 ? "modified" : "new",
      .verdict = i == 2 ? "infected" : "clean",
      .signature = i == 2 ? "Win.Test.EICAR_HDB-1" : NULL };
    assert_int_equal (ov_state_add_poll_file (st, p.id, &f), 0);
  }
  p.finished = 1700000009.5;
  p.files_scanned = 4;
  p.infected = 1;
  p.dirty_bytes = UINT64_C (1) << 40;
  assert_int_equal (ov_state_update_poll (st, &p), 0);
  assert_int_equal (ov_state_commit (st), 0);

  assert_int_equal (ov_state_list_poll_files (st, p.id, check_poll_file, &seen), 0);
  assert_int_equal (seen.n, 4);
  assert_int_equal (ov_state_get_poll (st, p.id, &got), 0);
  assert_string_equal (got.mode, "full");
  assert_string_equal (got.reason, "first poll");
  assert_string_equal (got.sig_version, "daily:1");
  assert_true (got.finished == 1700000009.5);
  assert_int_equal (got.dirty_bytes, UINT64_C (1) << 40);
  assert_int_equal (got.infected, 1);
  ov_poll_record_clear (&got);
  assert_int_equal (ov_state_get_poll (st, p.id + 100, &got), 1);

  p2 = (struct ov_poll_record) { .disk_id = disk, .mode = "quiet", .tracker = "bitmap", .status = "ok" };
  assert_int_equal (ov_state_add_poll (st, &p2), 0);
  assert_true (p2.id > p.id);
  assert_int_equal (ov_state_list_polls (st, disk, check_poll_newest_first, &prev), 0);
  assert_int_equal (prev, p.id);
  assert_int_equal (ov_state_get_disk (st, "vm", &d), 0);
  assert_int_equal (d.last_poll, p2.id);
  ov_disk_record_clear (&d);

  /* the schema refuses unknown change/verdict words */
  assert_int_equal (ov_state_add_poll_file (st, p.id, &(struct ov_poll_file) {
    .path = "/x", .change = "exploded", .verdict = "clean" }), -1);
}

static void
rollback_leaves_nothing (void **state)
{
  int64_t disk = add_disk ("vm");
  struct ov_poll_record p = { .disk_id = disk, .mode = "incremental", .tracker = "bitmap", .status = "ok" };
  struct ov_disk_record d;
  struct ov_fs_record fs = { .disk_id = disk, .label = "", .type = "ntfs", .size = 1 << 30 };
  char *paths[] = { "/a" };
  struct ov_run run = { 0, 8192, 4096, OV_RUN_DATA };
  struct ov_file_record f = { .paths = paths, .npaths = 1 };
  bool changed;

  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  assert_int_equal (ov_state_add_poll_file (st, p.id, &(struct ov_poll_file) {
    .path = "/a", .change = "new", .verdict = "none" }), 0);
  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
  f.key.fs_id = fs.id;
  assert_int_equal (ov_state_put_file (st, &f, &run, 1), 0);
  assert_int_equal (ov_state_get_disk (st, "vm", &d), 0);
  d.bitmap = strdup ("ovscan-1");
  assert_int_equal (ov_state_update_disk_tracker (st, &d), 0);
  ov_disk_record_clear (&d);
  ov_state_rollback (st);

  assert_int_equal (query_int ("SELECT count (*) FROM polls"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM poll_files"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM filesystems"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM files"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM runs"), 0);
  assert_int_equal (ov_state_get_disk (st, "vm", &d), 0);
  assert_null (d.bitmap);
  ov_disk_record_clear (&d);
  /* usable again */
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_commit (st), 0);
}

/* A full database: max_page_count stands in for a full filesystem (sqlite
 * returns SQLITE_FULL for both). */
static void
full_database_rolls_back_the_whole_poll (void **state)
{
  int64_t disk = add_disk ("vm");
  struct ov_fs_record fs = { .disk_id = disk, .label = "", .type = "ext4", .size = 1 << 30 };
  struct ov_poll_record p = { .disk_id = disk, .mode = "full", .tracker = "bitmap", .status = "ok" };
  struct ov_disk_record d;
  char path[200];
  char *paths[] = { path };
  bool changed;
  int64_t pages;
  int i, ret = 0;

  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
  pages = query_int ("PRAGMA page_count");
  {
    char sql[64];
    snprintf (sql, sizeof sql, "PRAGMA max_page_count = %" PRId64, pages + 20);
    assert_int_equal (sqlite3_exec (st->db, sql, NULL, NULL, NULL), SQLITE_OK);
  }
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  assert_int_equal (ov_state_get_disk (st, "vm", &d), 0);
  d.bitmap = strdup ("ovscan-9");
  assert_int_equal (ov_state_update_disk_tracker (st, &d), 0);
  ov_disk_record_clear (&d);
  for (i = 0; i < 100000 && ret == 0; i++) {
    struct ov_run run = { 0, (uint64_t) i * 4096, 4096, OV_RUN_DATA };
    struct ov_file_record f = { .key = { fs.id, (uint64_t) i, 0, 0 },
      .paths = paths, .npaths = 1 };
    snprintf (path, sizeof path, "/a/rather/long/directory/name/file-%d", i);
    ret = ov_state_put_file (st, &f, &run, 1);
  }
  assert_int_equal (ret, -1);
  print_message ("full after %d files: %s\n", i, ov_last_error ());
  assert_non_null (strstr (ov_last_error (), "state database is full"));
  assert_non_null (strstr (ov_last_error (), st->path));
  /* further writes are refused, commit fails, nothing was kept */
  assert_int_equal (ov_state_add_poll_file (st, p.id, &(struct ov_poll_file) {
    .path = "/x", .change = "new", .verdict = "none" }), -1);
  assert_int_equal (ov_state_commit (st), -1);
  ov_state_rollback (st);
  assert_int_equal (query_int ("SELECT count (*) FROM polls"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM files"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM poll_files"), 0);
  assert_int_equal (ov_state_get_disk (st, "vm", &d), 0);
  assert_null (d.bitmap);
  ov_disk_record_clear (&d);
  /* and the connection works afterwards */
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_add_poll (st, &p), 0);
  assert_int_equal (ov_state_commit (st), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM polls"), 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (disks_add_get_list_update_remove, setup, teardown),
    cmocka_unit_test_setup_teardown (removing_a_disk_cascades_to_everything, setup, teardown),
    cmocka_unit_test_setup_teardown (poll_and_dirty_files_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (rollback_leaves_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (full_database_rolls_back_the_whole_poll, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, remove_tmpdir);
}
