/* Unit tests: directory state (db/dirs.c) on a real sqlite file — round
 * trip of hostile names, replace by inode, delete, clear with the fs's
 * files, refusal of rows that do not decode (truncated or lying lengths,
 * NUL in a name), and the reverse map's run pieces. */
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
static int64_t fs_id;

static int
setup (void **state)
{
  char path[128];
  struct ov_disk_record d = { .name = "vm", .image = "/vm.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 4096 };
  struct ov_fs_record fs = { .label = "", .offset = 0, .size = 1ULL << 30,
    .type = "ext4", .identity = "uuid-1" };
  bool changed;

  (void) state;
  strcpy (tmpdir, "/tmp/ovscan-db-dirs-XXXXXX");
  if (mkdtemp (tmpdir) == NULL)
    return -1;
  snprintf (path, sizeof path, "%s/state.db", tmpdir);
  st = ov_state_open (path);
  if (st == NULL || ov_state_add_disk (st, &d) == -1)
    return -1;
  fs.disk_id = d.id;
  if (ov_state_put_fs (st, &fs, &changed) == -1)
    return -1;
  fs_id = fs.id;
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  (void) state;
  ov_state_close (st);
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

struct collected {
  struct ov_dir *dirs[16];
  size_t n;
};

static int
collect (void *opaque, struct ov_dir *d)
{
  struct collected *c = opaque;
  assert_true (c->n < 16);
  c->dirs[c->n++] = d;
  return 0;
}

static void
collected_free (struct collected *c)
{
  size_t i;
  for (i = 0; i < c->n; i++) {
    ov_dir_clear (c->dirs[i]);
    free (c->dirs[i]);
  }
  c->n = 0;
}

static void
test_round_trip_replace_delete (void **state)
{
  struct ov_dirent e[3] = {
    { .inode = 12, .type = OV_DIRENT_REG, .name = (char *) "a\nb \xff\x01" },
    { .inode = 13, .type = OV_DIRENT_DIR, .name = (char *) "sub" },
    { .inode = UINT64_MAX - 1, .type = OV_DIRENT_OTHER, .name = (char *) "l" },
  };
  struct ov_run r[2] = {
    { .disk_offset = 4096, .length = 4096, .kind = OV_RUN_DATA },
    { .disk_offset = (1ULL << 40), .length = 8192, .kind = OV_RUN_DATA },
  };
  struct ov_dir d = { .inode = 2, .path = (char *) "", .entries = e,
                      .nentries = 3, .runs = r, .nruns = 2 };
  struct ov_dir sub = { .inode = 13, .path = (char *) "/sub" };
  struct collected c = { .n = 0 };
  size_t i;

  (void) state;
  assert_int_equal (ov_state_put_dir (st, fs_id, &d), 0);
  assert_int_equal (ov_state_put_dir (st, fs_id, &sub), 0);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), 0);
  assert_int_equal (c.n, 2);
  for (i = 0; i < c.n; i++) {
    struct ov_dir *x = c.dirs[i];
    if (x->inode == 13) {
      assert_string_equal (x->path, "/sub");
      assert_int_equal (x->nentries, 0);
      assert_int_equal (x->nruns, 0);
      continue;
    }
    assert_int_equal (x->inode, 2);
    assert_string_equal (x->path, "");
    assert_int_equal (x->nentries, 3);
    assert_string_equal (x->entries[0].name, "a\nb \xff\x01");
    assert_int_equal (x->entries[0].inode, 12);
    assert_int_equal (x->entries[1].type, OV_DIRENT_DIR);
    assert_true (x->entries[2].inode == UINT64_MAX - 1);
    assert_int_equal (x->nruns, 2);
    assert_true (x->runs[1].disk_offset == (1ULL << 40));
    assert_int_equal (x->runs[1].length, 8192);
  }
  collected_free (&c);

  /* Replace by inode: one row, the new listing. */
  d.nentries = 1;
  d.path = (char *) "/moved";
  assert_int_equal (ov_state_put_dir (st, fs_id, &d), 0);
  assert_int_equal (ov_state_delete_dir (st, fs_id, 13), 0);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), 0);
  assert_int_equal (c.n, 1);
  assert_string_equal (c.dirs[0]->path, "/moved");
  assert_int_equal (c.dirs[0]->nentries, 1);
  collected_free (&c);

  /* Forgetting the fs's files forgets its directories. */
  assert_int_equal (ov_state_clear_fs_files (st, fs_id), 0);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), 0);
  assert_int_equal (c.n, 0);
}

/* Store raw blobs as a damaged or hostile file would hold them. */
static void
put_raw (const void *entries, int elen, const void *runs, int rlen)
{
  sqlite3_stmt *s;
  assert_int_equal (sqlite3_prepare_v2 (st->db,
    "INSERT OR REPLACE INTO dirs (fs_id, inode, path, entries, runs)"
    " VALUES (?1, 99, X'2f78', ?2, ?3)", -1, &s, NULL), SQLITE_OK);
  sqlite3_bind_int64 (s, 1, fs_id);
  sqlite3_bind_blob (s, 2, entries, elen, SQLITE_STATIC);
  sqlite3_bind_blob (s, 3, runs, rlen, SQLITE_STATIC);
  assert_int_equal (sqlite3_step (s), SQLITE_DONE);
  sqlite3_finalize (s);
}

static void
test_hostile_rows_refused (void **state)
{
  /* inode 5, type 1, name length 3, name "abc" */
  unsigned char good[16] = { 5, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 'a', 'b', 'c' };
  unsigned char bad[16];
  unsigned char runs[16] = { 0 };
  struct collected c = { .n = 0 };

  (void) state;
  put_raw (good, 16, runs, 16);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), 0);
  assert_int_equal (c.n, 1);
  assert_string_equal (c.dirs[0]->entries[0].name, "abc");
  collected_free (&c);

  memcpy (bad, good, 16);
  bad[9] = 200;                          /* name length past the blob */
  put_raw (bad, 16, runs, 16);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  assert_non_null (strstr (ov_last_error (), "does not decode"));
  collected_free (&c);

  put_raw (good, 15, runs, 16);          /* truncated entry */
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  collected_free (&c);

  memcpy (bad, good, 16);
  bad[14] = '\0';                        /* NUL inside a name */
  put_raw (bad, 16, runs, 16);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  collected_free (&c);

  memcpy (bad, good, 16);
  bad[9] = 0;                            /* empty name */
  put_raw (bad, 13, runs, 16);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  collected_free (&c);

  put_raw (good, 16, runs, 12);          /* runs not a multiple of 16 */
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  collected_free (&c);

  memset (runs, 0xff, 16);               /* a run wrapping past 2^64 */
  put_raw (good, 16, runs, 16);
  assert_int_equal (ov_state_list_dirs (st, fs_id, collect, &c), -1);
  collected_free (&c);
  assert_int_equal (ov_state_clear_fs_dirs (st, fs_id), 0);
}

struct pieces {
  uint64_t inode[8], start[8], end[8];
  size_t n;
};

static int
collect_piece (void *opaque, uint64_t inode, uint64_t start, uint64_t end)
{
  struct pieces *p = opaque;
  assert_true (p->n < 8);
  p->inode[p->n] = inode;
  p->start[p->n] = start;
  p->end[p->n++] = end;
  return 0;
}

static void
test_run_pieces (void **state)
{
  struct ov_run runs[1] = {
    { .file_offset = 0, .disk_offset = 1 << 20, .length = 3 << 20,
      .kind = OV_RUN_DATA },
  };
  char *paths[1] = { (char *) "/f" };
  struct ov_file_record r = { .key = { .fs_id = fs_id, .inode = 77 },
                              .size = 3 << 20, .paths = paths, .npaths = 1 };
  struct pieces p = { .n = 0 };

  (void) state;
  assert_int_equal (ov_state_put_file (st, &r, runs, 1), 0);
  /* [2 MiB + 10, +1): inside the second 1 MiB piece only. */
  assert_int_equal (ov_state_runs_overlapping (st, fs_id, (2 << 20) + 10, 1,
                                               collect_piece, &p), 0);
  assert_int_equal (p.n, 1);
  assert_int_equal (p.inode[0], 77);
  assert_int_equal (p.start[0], 2 << 20);
  assert_int_equal (p.end[0], 3 << 20);
  p.n = 0;
  assert_int_equal (ov_state_runs_overlapping (st, fs_id, 0, 1 << 20,
                                               collect_piece, &p), 0);
  assert_int_equal (p.n, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_round_trip_replace_delete, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostile_rows_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_run_pieces, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
