/* Unit tests: files, paths and the reverse map (db/files.c,
 * db/filesystems.c) on a real sqlite file; the reverse map is checked
 * against a brute-force model over random runs and queries. */
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
static int64_t disk_id, fs_id;

static int
setup (void **state)
{
  char path[128];
  struct ov_disk_record d = { .name = "vm", .image = "/vm.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 4096 };
  struct ov_fs_record fs = { .label = "p1", .offset = 1048576,
    .size = 1ULL << 40, .type = "ext4", .identity = "uuid-1" };
  bool changed;

  strcpy (tmpdir, "/tmp/ovscan-db-files-XXXXXX");
  if (mkdtemp (tmpdir) == NULL)
    return -1;
  snprintf (path, sizeof path, "%s/state.db", tmpdir);
  st = ov_state_open (path);
  if (st == NULL || ov_state_add_disk (st, &d) == -1)
    return -1;
  disk_id = d.id;
  fs.disk_id = disk_id;
  if (ov_state_put_fs (st, &fs, &changed) == -1 || changed)
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

/* Collect file ids reported by a callback. */
struct ids { int64_t v[4096]; size_t n; };
static int
collect (void *opaque, const struct ov_file_record *r)
{
  struct ids *ids = opaque;
  assert_true (ids->n < 4096);
  ids->v[ids->n++] = r->id;
  return 0;
}

static void
put_file_replaces_paths_and_runs (void **state)
{
  char *paths1[] = { "p1:/a", "p1:/b/hardlink" };
  char *paths2[] = { "p1:/renamed" };
  struct ov_run runs1[] = {
    { 0, 1 << 20, 8192, OV_RUN_DATA },
    { 8192, 0, 4096, OV_RUN_SPARSE },
    { 12288, 5 << 20, 4096, OV_RUN_UNWRITTEN },
  };
  struct ov_run runs2[] = { { 0, 9 << 20, 4096, OV_RUN_DATA } };
  struct ov_file_record r = {
    .key = { fs_id, 12, 0x80, 3 }, .stream = "ads", .size = 16384,
    .paths = paths1, .npaths = 2, .verdict = "clean", .scanned_poll = 1,
    .changed_poll = 1, .sig_version = "sigs-1",
  };
  struct ov_file_record got;
  struct ids ids = { .n = 0 };
  int64_t id;

  ov_runs_digest (runs1, 3, r.runs_digest);
  r.content_digest[5] = 9;
  r.meta_digest[31] = 7;
  assert_int_equal (ov_state_put_file (st, &r, runs1, 3), 0);
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 0);
  id = got.id;
  assert_int_equal (got.npaths, 2);
  assert_string_equal (got.paths[0], "p1:/a");
  assert_string_equal (got.paths[1], "p1:/b/hardlink");
  assert_string_equal (got.stream, "ads");
  assert_string_equal (got.verdict, "clean");
  assert_string_equal (got.sig_version, "sigs-1");
  assert_null (got.signature);
  assert_int_equal (got.size, 16384);
  assert_memory_equal (got.runs_digest, r.runs_digest, 32);
  assert_memory_equal (got.content_digest, r.content_digest, 32);
  assert_memory_equal (got.meta_digest, r.meta_digest, 32);
  /* sparse run not stored: 2 pieces */
  assert_int_equal (query_int ("SELECT count (*) FROM runs"), 2);

  /* Replace: one path, one run; same id; nothing accumulated. */
  r.paths = paths2;
  r.npaths = 1;
  r.verdict = "infected";
  r.signature = "Eicar-Test";
  memset (r.content_digest, 0, 32);
  ov_runs_digest (runs2, 1, r.runs_digest);
  assert_int_equal (ov_state_put_file (st, &r, runs2, 1), 0);
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 0);
  assert_int_equal (got.id, id);
  assert_int_equal (got.npaths, 1);
  assert_string_equal (got.paths[0], "p1:/renamed");
  assert_string_equal (got.signature, "Eicar-Test");
  assert_true (got.content_digest[5] == 0);
  assert_int_equal (query_int ("SELECT count (*) FROM runs"), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM paths"), 1);
  /* the old blocks no longer map to it, the new ones do */
  assert_int_equal (ov_state_files_overlapping (st, fs_id, 1 << 20, 8192, collect, &ids), 0);
  assert_int_equal (ids.n, 0);
  assert_int_equal (ov_state_files_overlapping (st, fs_id, (9 << 20) + 4095, 1, collect, &ids), 0);
  assert_int_equal (ids.n, 1);
  assert_int_equal (ids.v[0], id);

  assert_int_equal (ov_state_delete_file (st, id), 0);
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 1);
  assert_int_equal (query_int ("SELECT count (*) FROM runs"), 0);
  assert_int_equal (query_int ("SELECT count (*) FROM paths"), 0);
}

static void
runs_past_int64_are_refused_before_any_write (void **state)
{
  char *paths[] = { "p1:/x" };
  struct ov_run runs[] = {
    { 0, 4096, 4096, OV_RUN_DATA },
    { 4096, INT64_MAX - 100, 4096, OV_RUN_DATA },
  };
  struct ov_file_record r = { .key = { fs_id, 99, 0, 0 }, .size = 8192,
    .paths = paths, .npaths = 1 };
  struct ov_file_record got;

  assert_int_equal (ov_state_put_file (st, &r, runs, 2), -1);
  assert_non_null (strstr (ov_last_error (), "inode 99"));
  assert_non_null (strstr (ov_last_error (), "out of range"));
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 1);
  /* A hole's disk offset is ignored. */
  runs[1].kind = OV_RUN_SPARSE;
  assert_int_equal (ov_state_put_file (st, &r, runs, 2), 0);
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 0);
  assert_int_equal (ov_state_delete_file (st, got.id), 0);
}

static void
runs_digest_depends_on_placement_only (void **state)
{
  struct ov_run a[] = { { 0, 4096, 4096, OV_RUN_DATA }, { 4096, 777, 4096, OV_RUN_SPARSE } };
  struct ov_run b[] = { { 0, 4096, 4096, OV_RUN_DATA }, { 4096, 0, 4096, OV_RUN_SPARSE } };
  struct ov_run c[] = { { 0, 8192, 4096, OV_RUN_DATA }, { 4096, 0, 4096, OV_RUN_SPARSE } };
  uint8_t da[32], db[32], dc[32], d0[32], e[32];

  ov_runs_digest (a, 2, da);
  ov_runs_digest (b, 2, db);
  ov_runs_digest (c, 2, dc);
  ov_runs_digest (a, 1, d0);
  ov_runs_digest (NULL, 0, e);
  assert_memory_equal (da, db, 32);
  assert_memory_not_equal (da, dc, 32);
  assert_memory_not_equal (da, d0, 32);
  assert_memory_not_equal (d0, e, 32);
}

static void
meta_digest_covers_mode_owner_and_times (void **state)
{
  struct ov_file f;
  uint8_t base[32], d[32];

  memset (&f, 0, sizeof f);
  f.mode = 0644; f.uid = 1000; f.gid = 1000;
  f.mtime = 1700000000; f.ctime = 1700000001;
  ov_meta_digest (&f, base);
  f.mode = 0755; ov_meta_digest (&f, d); assert_memory_not_equal (base, d, 32); f.mode = 0644;
  f.gid = 0; ov_meta_digest (&f, d); assert_memory_not_equal (base, d, 32); f.gid = 1000;
  f.mtime_nsec = 1; ov_meta_digest (&f, d); assert_memory_not_equal (base, d, 32); f.mtime_nsec = 0;
  f.ctime = -1; ov_meta_digest (&f, d); assert_memory_not_equal (base, d, 32); f.ctime = 1700000001;
  f.size = 12345;                       /* not metadata in this sense */
  ov_meta_digest (&f, d);
  assert_memory_equal (base, d, 32);
}

static void
reverse_map_query_uses_the_covering_index (void **state)
{
  char *sql;
  sqlite3_stmt *s;
  char plan[1024] = "";

  assert_true (asprintf (&sql, "EXPLAIN QUERY PLAN %s", ov_db_overlap_sql) > 0);
  assert_int_equal (sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL), SQLITE_OK);
  while (sqlite3_step (s) == SQLITE_ROW) {
    strncat (plan, (const char *) sqlite3_column_text (s, 3), sizeof plan - strlen (plan) - 2);
    strcat (plan, "\n");
  }
  sqlite3_finalize (s);
  free (sql);
  print_message ("plan: %s", plan);
  assert_non_null (strstr (plan, "USING COVERING INDEX runs_by_start (fs_id=? AND disk_start>? AND disk_start<?)"));
  assert_null (strstr (plan, "SCAN"));
}

/* Model: up to NFILES files with random runs over a disk of DISK bytes,
 * including runs longer than 1 MiB and runs touching each other; random
 * queries compared with a brute-force overlap over the model. */
#define NFILES 300
#define MAXRUNS 6
struct model_file {
  struct ov_run runs[MAXRUNS];
  size_t nruns;
  int64_t id;
  bool present;
};
static struct model_file model[NFILES];

static uint64_t
rnd (uint64_t *seed)
{
  *seed ^= *seed << 13;
  *seed ^= *seed >> 7;
  *seed ^= *seed << 17;
  return *seed;
}

static void
random_runs (uint64_t *seed, struct model_file *m)
{
  const uint64_t disk = 64ULL << 20;
  uint64_t file_offset = 0;
  size_t i;

  m->nruns = 1 + rnd (seed) % MAXRUNS;
  for (i = 0; i < m->nruns; i++) {
    uint64_t len;
    switch (rnd (seed) % 4) {
    case 0: len = 1 + rnd (seed) % 512; break;                   /* tiny */
    case 1: len = 4096 * (1 + rnd (seed) % 16); break;
    case 2: len = (1 << 20) + rnd (seed) % (3 << 20); break;     /* > 1 MiB */
    default: len = (1 << 20) * (1 + rnd (seed) % 3); break;      /* exact MiB */
    }
    m->runs[i].file_offset = file_offset;
    m->runs[i].length = len;
    m->runs[i].disk_offset = (rnd (seed) % (disk / 4096)) * 4096;
    if (i > 0 && rnd (seed) % 4 == 0)       /* touches the previous run */
      m->runs[i].disk_offset = m->runs[i - 1].disk_offset + m->runs[i - 1].length;
    m->runs[i].kind = (enum ov_run_kind) (rnd (seed) % 5);
    file_offset += len;
  }
}

static bool
model_overlaps (const struct model_file *m, uint64_t off, uint64_t len)
{
  size_t i;
  for (i = 0; i < m->nruns; i++) {
    const struct ov_run *r = &m->runs[i];
    if (r->kind == OV_RUN_SPARSE)
      continue;
    if (r->disk_offset < off + len && off < r->disk_offset + r->length)
      return true;
  }
  return false;
}

static void
put_model_file (size_t i)
{
  char path[64];
  char *paths[] = { path };
  struct ov_file_record r = { .key = { fs_id, 1000 + i, 0, 0 },
    .paths = paths, .npaths = 1, .verdict = "clean" };
  struct ov_file_record got;

  snprintf (path, sizeof path, "p1:/model/%zu", i);
  assert_int_equal (ov_state_put_file (st, &r, model[i].runs, model[i].nruns), 0);
  assert_int_equal (ov_state_get_file (st, &r.key, &got), 0);
  model[i].id = got.id;
  model[i].present = true;
}

static void
check_query (uint64_t off, uint64_t len)
{
  static struct ids ids;
  size_t i, j, expected = 0;

  ids.n = 0;
  assert_int_equal (ov_state_files_overlapping (st, fs_id, off, len, collect, &ids), 0);
  for (i = 0; i < ids.n; i++)          /* each file once */
    for (j = i + 1; j < ids.n; j++)
      assert_true (ids.v[i] != ids.v[j]);
  for (i = 0; i < NFILES; i++) {
    bool in = false;
    if (!model[i].present)
      continue;
    for (j = 0; j < ids.n; j++)
      in |= ids.v[j] == model[i].id;
    if (len > 0 && model_overlaps (&model[i], off, len)) {
      expected++;
      if (!in)
        fail_msg ("file %zu missing for query [%" PRIu64 ", +%" PRIu64 ")", i, off, len);
    }
    else if (in)
      fail_msg ("file %zu reported for query [%" PRIu64 ", +%" PRIu64 ")", i, off, len);
  }
  assert_int_equal (ids.n, expected);
}

static void
reverse_map_matches_brute_force_model (void **state)
{
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  size_t i, q, round;

  assert_int_equal (ov_state_begin (st), 0);
  for (i = 0; i < NFILES; i++) {
    random_runs (&seed, &model[i]);
    put_model_file (i);
  }
  assert_int_equal (ov_state_commit (st), 0);

  for (round = 0; round < 3; round++) {
    for (q = 0; q < 400; q++) {
      uint64_t off, len;
      switch (rnd (&seed) % 4) {
      case 0: {                    /* at a run's edges */
        const struct model_file *m = &model[rnd (&seed) % NFILES];
        const struct ov_run *r = &m->runs[rnd (&seed) % m->nruns];
        uint64_t edge = rnd (&seed) % 2 ? r->disk_offset : r->disk_offset + r->length;
        int64_t delta = (int64_t) (rnd (&seed) % 3) - 1;      /* -1, 0, +1 */
        off = (uint64_t) ((int64_t) edge + delta);
        if (off > (1ULL << 40))
          off = 0;
        len = 1 + rnd (&seed) % 2;
        break;
      }
      case 1:
        off = rnd (&seed) % (70ULL << 20);
        len = 1 + rnd (&seed) % 4096;
        break;
      case 2:
        off = rnd (&seed) % (70ULL << 20);
        len = rnd (&seed) % (8ULL << 20);        /* incl. 0 */
        break;
      default:                     /* piece boundaries at 1 MiB multiples */
        off = (rnd (&seed) % 70) << 20;
        off += (rnd (&seed) % 3) - 1;
        len = 1;
        break;
      }
      check_query (off, len);
    }
    /* Change a third of the files (replace semantics) and delete some. */
    assert_int_equal (ov_state_begin (st), 0);
    for (i = 0; i < NFILES; i++) {
      switch (rnd (&seed) % 6) {
      case 0: case 1:
        random_runs (&seed, &model[i]);
        put_model_file (i);
        break;
      case 2:
        if (model[i].present) {
          assert_int_equal (ov_state_delete_file (st, model[i].id), 0);
          model[i].present = false;
        }
        break;
      default:
        if (!model[i].present) {
          random_runs (&seed, &model[i]);
          put_model_file (i);
        }
      }
    }
    assert_int_equal (ov_state_commit (st), 0);
  }
  check_query (0, UINT64_MAX);            /* everything, clipped */
  check_query (UINT64_MAX - 10, 100);     /* nothing up there */
}

static void
list_and_clear_filesystem_files (void **state)
{
  struct ids ids = { .n = 0 };
  uint64_t files = 0, runs = 0;
  struct ov_fs_record fs = { .disk_id = disk_id, .label = "p1", .offset = 1048576,
    .size = 1ULL << 40, .type = "ext4", .identity = "uuid-1" };
  bool changed = true;

  assert_int_equal (ov_state_list_fs_files (st, fs_id, collect, &ids), 0);
  assert_int_equal (ov_state_count_files (st, disk_id, &files, &runs), 0);
  assert_int_equal (files, ids.n);
  assert_true (files > 0 && runs >= files);
  assert_int_equal (runs, query_int ("SELECT count (*) FROM runs"));

  /* same fs: unchanged; reformatted: changed, same id */
  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
  assert_false (changed);
  assert_int_equal (fs.id, fs_id);
  fs.identity = "uuid-2";
  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
  assert_true (changed);
  assert_int_equal (fs.id, fs_id);

  assert_int_equal (ov_state_clear_fs_files (st, fs_id), 0);
  assert_int_equal (ov_state_count_files (st, disk_id, &files, &runs), 0);
  assert_int_equal (files, 0);
  assert_int_equal (runs, 0);
  assert_int_equal (query_int ("SELECT count (*) FROM paths"), 0);
}


/* Summaries: one row per file with the digests a poll compares, the
 * paths digest independent of path order, a failed verdict flagged. */
struct summaries { size_t n; struct ov_file_summary v[4]; };
static int
collect_summary (void *opaque, const struct ov_file_summary *f)
{
  struct summaries *s = opaque;
  if (s->n < 4)
    s->v[s->n] = *f;
  s->n++;
  return 0;
}

static void
summaries_carry_digests_and_failed_scans (void **state)
{
  char *paths_ab[] = { "p1:/a", "p1:/b" };
  char *paths_ba[] = { "p1:/b", "p1:/a" };
  char *paths_c[] = { "p1:/c" };
  uint8_t ab[32], ba[32], c[32];
  struct ov_run runs[] = { { 0, 1 << 20, 4096, OV_RUN_DATA } };
  struct ov_fs_record fs = { .disk_id = disk_id, .label = "p9", .offset = 1ULL << 41,
    .size = 1ULL << 30, .type = "ntfs", .identity = "serial-9" };
  struct ov_file_record r = {
    .size = 4096, .paths = paths_ab, .npaths = 2,
    .verdict = "error", .error = "read failed",
  };
  struct summaries got = { 0 };
  bool changed;

  assert_int_equal (ov_state_put_fs (st, &fs, &changed), 0);
  r.key = (struct ov_file_key) { fs.id, 40, 0, 0 };

  ov_paths_digest (paths_ab, 2, ab);
  ov_paths_digest (paths_ba, 2, ba);
  ov_paths_digest (paths_c, 1, c);
  assert_memory_equal (ab, ba, 32);
  assert_memory_not_equal (ab, c, 32);

  ov_runs_digest (runs, 1, r.runs_digest);
  r.meta_digest[0] = 1;
  assert_int_equal (ov_state_put_file (st, &r, runs, 1), 0);
  assert_int_equal (ov_state_list_fs_summaries (st, fs.id, collect_summary, &got), 0);
  assert_int_equal (got.n, 1);
  assert_int_equal (got.v[0].key.inode, 40);
  assert_int_equal (got.v[0].size, 4096);
  assert_memory_equal (got.v[0].runs_digest, r.runs_digest, 32);
  assert_memory_equal (got.v[0].meta_digest, r.meta_digest, 32);
  assert_memory_equal (got.v[0].paths_digest, ab, 32);
  assert_true (got.v[0].last_scan_failed);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (put_file_replaces_paths_and_runs),
    cmocka_unit_test (runs_past_int64_are_refused_before_any_write),
    cmocka_unit_test (runs_digest_depends_on_placement_only),
    cmocka_unit_test (meta_digest_covers_mode_owner_and_times),
    cmocka_unit_test (reverse_map_query_uses_the_covering_index),
    cmocka_unit_test (reverse_map_matches_brute_force_model),
    cmocka_unit_test (list_and_clear_filesystem_files),
    cmocka_unit_test (summaries_carry_digests_and_failed_scans),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
