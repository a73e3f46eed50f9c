/* Unit tests: opening the state database (db/state.c, db/migrations.c) on
 * real sqlite files in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "db/internal.h"

static char tmpdir[64];

static int
make_tmpdir (void **state)
{
  strcpy (tmpdir, "/tmp/ovscan-db-open-XXXXXX");
  return mkdtemp (tmpdir) ? 0 : -1;
}

static int
remove_tmpdir (void **state)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

static char *
tmp_path (const char *name)
{
  char *p;
  assert_true (asprintf (&p, "%s/%s", tmpdir, name) > 0);
  return p;
}

static int64_t
query_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *s;
  int64_t v;
  assert_int_equal (sqlite3_prepare_v2 (db, sql, -1, &s, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (s), SQLITE_ROW);
  v = sqlite3_column_int64 (s, 0);
  sqlite3_finalize (s);
  return v;
}

static void
new_file_gets_schema_v1_wal_and_foreign_keys (void **state)
{
  char *path = tmp_path ("sub/dir/state.db");    /* directories created */
  struct ov_state *st = ov_state_open (path);
  sqlite3_stmt *s;

  assert_non_null (st);
  assert_int_equal (query_int (st->db, "PRAGMA user_version"), OV_STATE_SCHEMA_VERSION);
  assert_int_equal (query_int (st->db, "PRAGMA foreign_keys"), 1);
  assert_int_equal (query_int (st->db, "PRAGMA synchronous"), 2);   /* FULL */
  assert_int_equal (query_int (st->db, "SELECT count (*) FROM sqlite_master"
                               " WHERE type = 'table' AND name IN ('disks',"
                               " 'polls', 'filesystems', 'files', 'paths',"
                               " 'runs', 'poll_files')"), 7);
  assert_int_equal (sqlite3_prepare_v2 (st->db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (s), SQLITE_ROW);
  assert_string_equal ((const char *) sqlite3_column_text (s, 0), "wal");
  sqlite3_finalize (s);
  ov_state_close (st);
  free (path);
}

static void
reopen_keeps_data_and_does_not_migrate_again (void **state)
{
  char *path = tmp_path ("reopen.db");
  struct ov_state *st = ov_state_open (path);
  struct ov_disk_record r = { .name = "vm1", .image = "/img/vm1.qcow2",
    .format = "qcow2", .tracker = "bitmap", .granularity = 65536 };
  struct ov_disk_record got;

  assert_non_null (st);
  assert_int_equal (ov_state_add_disk (st, &r), 0);
  ov_state_close (st);
  st = ov_state_open (path);
  assert_non_null (st);
  assert_int_equal (ov_state_get_disk (st, "vm1", &got), 0);
  assert_string_equal (got.image, "/img/vm1.qcow2");
  assert_int_equal (got.granularity, 65536);
  ov_disk_record_clear (&got);
  ov_state_close (st);
  free (path);
}

static void
newer_schema_is_refused_naming_file_and_versions (void **state)
{
  char *path = tmp_path ("newer.db");
  struct ov_state *st = ov_state_open (path);
  char expect[64];

  assert_non_null (st);
  assert_int_equal (sqlite3_exec (st->db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
  ov_state_close (st);
  ov_error_clear ();
  assert_null (ov_state_open (path));
  assert_non_null (strstr (ov_last_error (), path));
  assert_non_null (strstr (ov_last_error (), "version 7"));
  snprintf (expect, sizeof expect, "(%d)", OV_STATE_SCHEMA_VERSION);
  assert_non_null (strstr (ov_last_error (), expect));
  free (path);
}

static void
foreign_sqlite_file_is_refused (void **state)
{
  char *path = tmp_path ("foreign.db");
  sqlite3 *db;

  assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
  assert_int_equal (sqlite3_exec (db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);
  assert_null (ov_state_open (path));
  assert_non_null (strstr (ov_last_error (), "not an ovscan state database"));
  /* and nothing was added to it */
  assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
  assert_int_equal (query_int (db, "SELECT count (*) FROM sqlite_master"), 1);
  sqlite3_close (db);
  free (path);
}

static void
text_file_is_refused_with_its_path (void **state)
{
  char *path = tmp_path ("text.db");
  FILE *fp = fopen (path, "w");
  assert_non_null (fp);
  fputs ("this is not a database, just some text long enough to matter.\n"
         "this is not a database, just some text long enough to matter.\n", fp);
  fclose (fp);
  assert_null (ov_state_open (path));
  assert_non_null (strstr (ov_last_error (), path));
  free (path);
}

static void
directory_that_cannot_be_created_is_an_error (void **state)
{
  char *file = tmp_path ("plainfile");
  char *path = tmp_path ("plainfile/state.db");
  FILE *fp = fopen (file, "w");
  assert_non_null (fp);
  fclose (fp);
  assert_null (ov_state_open (path));
  assert_non_null (strstr (ov_last_error (), path));
  free (file);
  free (path);
}

static void
default_path_follows_root_or_xdg (void **state)
{
  char *p;

  setenv ("XDG_STATE_HOME", "/xdg/state", 1);
  p = ov_state_default_path ();
  assert_non_null (p);
  if (geteuid () == 0)
    assert_string_equal (p, "/var/lib/ovscan/state.db");
  else
    assert_string_equal (p, "/xdg/state/ovscan/state.db");
  free (p);
  if (geteuid () != 0) {
    unsetenv ("XDG_STATE_HOME");
    setenv ("HOME", "/home/someone", 1);
    p = ov_state_default_path ();
    assert_string_equal (p, "/home/someone/.local/state/ovscan/state.db");
    free (p);
  }
}

static void
nested_begin_and_stray_commit_are_errors (void **state)
{
  char *path = tmp_path ("txn.db");
  struct ov_state *st = ov_state_open (path);

  assert_non_null (st);
  assert_int_equal (ov_state_commit (st), -1);
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_state_begin (st), -1);
  assert_int_equal (ov_state_commit (st), 0);
  ov_state_close (st);
  free (path);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (new_file_gets_schema_v1_wal_and_foreign_keys),
    cmocka_unit_test (reopen_keeps_data_and_does_not_migrate_again),
    cmocka_unit_test (newer_schema_is_refused_naming_file_and_versions),
    cmocka_unit_test (foreign_sqlite_file_is_refused),
    cmocka_unit_test (text_file_is_refused_with_its_path),
    cmocka_unit_test (directory_that_cannot_be_created_is_an_error),
    cmocka_unit_test (default_path_follows_root_or_xdg),
    cmocka_unit_test (nested_begin_and_stray_commit_are_errors),
  };
  return cmocka_run_group_tests (tests, make_tmpdir, remove_tmpdir);
}
