/* ovscan — what the state-database unit tests share: a fresh database in a
 * new temporary directory (db_fixture_open / db_fixture_close, for cmocka
 * setup and teardown) and one-value queries on it.  Header-only: each unit
 * test is a single .c file (tests/CMakeLists.txt); include it after
 * cmocka.h and db/internal.h.  It defines the file-scope `st` the tests
 * use; every function is static inline, so a test uses what it needs.
 * Cost: one sqlite file per test, removed by db_fixture_close. */
#ifndef OVSCAN_TESTS_DB_FIXTURE_H
#define OVSCAN_TESTS_DB_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char db_fixture_dir[64];
static struct ov_state *st;

/* st := a new state database in /tmp/ovscan-NAME-XXXXXX.  0, or -1. */
static inline int
db_fixture_open (const char *name)
{
  char path[128];

  snprintf (db_fixture_dir, sizeof db_fixture_dir, "/tmp/ovscan-%s-XXXXXX", name);
  if (mkdtemp (db_fixture_dir) == NULL)
    return -1;
  snprintf (path, sizeof path, "%s/state.db", db_fixture_dir);
  st = ov_state_open (path);
  return st ? 0 : -1;
}

/* Close st and remove its directory.  0, or -1. */
static inline int
db_fixture_close (void)
{
  char cmd[128];

  ov_state_close (st);
  st = NULL;
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", db_fixture_dir);
  return system (cmd) == 0 ? 0 : -1;
}

static inline void
exec_sql (const char *sql)
{
  assert_int_equal (sqlite3_exec (st->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* The first column of the first row of SQL (a row must come back). */
static inline int64_t
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

/* The same as text in BUF ("(null)" for NULL); returns BUF. */
static inline const char *
query_text (const char *sql, char *buf, size_t len)
{
  sqlite3_stmt *s;
  const char *t;

  assert_int_equal (sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL), SQLITE_OK);
  assert_int_equal (sqlite3_step (s), SQLITE_ROW);
  t = (const char *) sqlite3_column_text (s, 0);
  snprintf (buf, len, "%s", t ? t : "(null)");
  sqlite3_finalize (s);
  return buf;
}

#endif
