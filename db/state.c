/* ovscan — the state database connection: open, pragmas, statement cache,
 * transactions, error reporting, default path (see state.h, internal.h).
 *
 * Durability: journal_mode=WAL with synchronous=FULL.  The tracker drops
 * the frozen dirty bitmap as soon as ov_state_commit() returns 0, so a
 * committed poll must survive a power loss too: with synchronous=NORMAL a
 * WAL commit is not fsync'ed and could vanish while the bitmap is already
 * gone — the writes it covered would never be scanned.  FULL costs one
 * fsync of the WAL per commit; ovscan commits once per poll, so this is
 * milliseconds per poll, not per file.
 *
 * Other pragmas: foreign_keys=ON (ON DELETE CASCADE from disks down to
 * files, paths, runs, polls and poll_files), busy_timeout 10 s (two ovscan
 * processes on one host wait for each other instead of failing).
 */
#include "db/internal.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

#define OV_STATE_BUSY_TIMEOUT_MS 10000

char *
ov_state_default_path (void)
{
  const char *base, *suffix;
  char *path;

  if (geteuid () == 0) {
    base = "/var/lib";
    suffix = "ovscan/state.db";
  }
  else if ((base = getenv ("XDG_STATE_HOME")) != NULL && base[0] == '/')
    suffix = "ovscan/state.db";
  else {
    base = getenv ("HOME");
    if (base == NULL || base[0] != '/') {
      struct passwd *pw = getpwuid (geteuid ());
      if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/') {
        ov_error ("cannot find a home directory for the state database: "
                  "set HOME or XDG_STATE_HOME, or use --state");
        return NULL;
      }
      base = pw->pw_dir;
    }
    suffix = ".local/state/ovscan/state.db";
  }
  if (asprintf (&path, "%s/%s", base, suffix) == -1) {
    ov_error_errno (errno, "asprintf");
    return NULL;
  }
  return path;
}

/* mkdir -p of path's directory (mode 0700: the database lists guest file
 * names). */
static int
make_parent_dirs (const char *path)
{
  char *copy = strdup (path);
  char *p;

  if (copy == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  for (p = copy + 1; (p = strchr (p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir (copy, 0700) == -1 && errno != EEXIST) {
      ov_error_errno (errno, "%s: cannot create the state directory %s", path, copy);
      free (copy);
      return -1;
    }
    *p = '/';
  }
  free (copy);
  return 0;
}

int
ov_db_fail (struct ov_state *st, int rc, const char *what)
{
  int primary = rc & 0xff;

  if (primary == SQLITE_FULL)
    ov_error ("%s: %s: the state database is full (no space left on its "
              "filesystem, or its size limit reached); nothing of the current "
              "transaction was kept", st->path, what);
  else
    ov_error ("%s: %s: %s", st->path, what, sqlite3_errmsg (st->db));

  /* A transaction that sqlite already ended, or that cannot continue after
   * a full disk, is rolled back now and every later write refused. */
  if (st->in_txn &&
      (primary == SQLITE_FULL || sqlite3_get_autocommit (st->db))) {
    if (!sqlite3_get_autocommit (st->db))
      sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
    st->aborted = true;
  }
  return -1;
}

sqlite3_stmt *
ov_db_stmt (struct ov_state *st, enum ov_stmt_id id, const char *sql)
{
  int rc;

  if (st->aborted) {
    ov_error ("%s: the transaction was rolled back after an earlier error",
              st->path);
    return NULL;
  }
  if (st->stmts[id])
    return st->stmts[id];
  rc = sqlite3_prepare_v3 (st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &st->stmts[id], NULL);
  if (rc != SQLITE_OK) {
    ov_db_fail (st, rc, "prepare");
    st->stmts[id] = NULL;
    return NULL;
  }
  return st->stmts[id];
}

sqlite3_stmt *
ov_db_prepare (struct ov_state *st, const char *sql)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) {
    ov_db_fail (st, rc, "prepare");
    return NULL;
  }
  return s;
}

int
ov_db_step_done (struct ov_state *st, sqlite3_stmt *s, const char *what)
{
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, what);
  return 0;
}

int
ov_db_exec (struct ov_state *st, const char *sql, const char *what)
{
  int rc = sqlite3_exec (st->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return ov_db_fail (st, rc, what);
  return 0;
}

char *
ov_db_column_strdup (sqlite3_stmt *s, int i, bool *failed)
{
  const unsigned char *t = sqlite3_column_text (s, i);
  char *copy;

  if (t == NULL)
    return NULL;
  copy = strdup ((const char *) t);
  if (copy == NULL) {
    ov_error_errno (errno, "strdup");
    *failed = true;
  }
  return copy;
}

int
ov_db_savepoint (struct ov_state *st)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;

  if (st->aborted) {
    ov_error ("%s: the transaction was rolled back after an earlier error",
              st->path);
    return -1;
  }
  if (sqlite3_get_autocommit (st->db)) {
    st->own_txn = true;
    if (ov_db_exec (st, "BEGIN IMMEDIATE", "begin") == -1) {
      st->own_txn = false;
      return -1;
    }
    return 0;
  }
  st->own_txn = false;
  s = ov_db_stmt (st, OV_STMT_SAVEPOINT, "SAVEPOINT ov");
  if (s == NULL)
    return -1;
  return ov_db_step_done (st, s, "savepoint");
}

int
ov_db_release (struct ov_state *st)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;

  if (st->own_txn) {
    st->own_txn = false;
    if (ov_db_exec (st, "COMMIT", "commit") == -1) {
      if (!sqlite3_get_autocommit (st->db))
        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
      return -1;
    }
    return 0;
  }
  s = ov_db_stmt (st, OV_STMT_RELEASE, "RELEASE ov");
  if (s == NULL)
    return -1;
  return ov_db_step_done (st, s, "release savepoint");
}

void
ov_db_rollback_to (struct ov_state *st)
{
  if (st->own_txn) {
    st->own_txn = false;
    if (!sqlite3_get_autocommit (st->db))
      sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
    return;
  }
  /* The caller's transaction may already be gone (aborted). */
  if (sqlite3_get_autocommit (st->db))
    return;
  sqlite3_exec (st->db, "ROLLBACK TO ov; RELEASE ov", NULL, NULL, NULL);
}

static int
apply_pragmas (struct ov_state *st)
{
  sqlite3_stmt *s = NULL;
  const char *mode = NULL;
  int rc;

  if (sqlite3_busy_timeout (st->db, OV_STATE_BUSY_TIMEOUT_MS) != SQLITE_OK)
    return ov_db_fail (st, sqlite3_errcode (st->db), "busy_timeout");
  if (ov_db_exec (st, "PRAGMA foreign_keys = ON", "foreign_keys") == -1 ||
      ov_db_exec (st, "PRAGMA synchronous = FULL", "synchronous") == -1 ||
      ov_db_exec (st, "PRAGMA cache_size = -65536", "cache_size") == -1 ||
      ov_db_exec (st, "PRAGMA temp_store = MEMORY", "temp_store") == -1)
    return -1;

  /* journal_mode answers with the mode it got: a filesystem without shared
   * memory support would silently stay in "delete" mode otherwise. */
  s = ov_db_prepare (st, "PRAGMA journal_mode = WAL");
  if (s == NULL)
    return -1;
  rc = sqlite3_step (s);
  if (rc == SQLITE_ROW)
    mode = (const char *) sqlite3_column_text (s, 0);
  if (rc != SQLITE_ROW || mode == NULL || strcmp (mode, "wal") != 0) {
    if (rc == SQLITE_ROW)
      ov_error ("%s: cannot switch the state database to WAL mode (got %s)",
                st->path, mode ? mode : "nothing");
    else
      ov_db_fail (st, rc, "journal_mode=WAL");
    sqlite3_finalize (s);
    return -1;
  }
  sqlite3_finalize (s);
  return 0;
}

struct ov_state *
ov_state_open (const char *path)
{
  struct ov_state *st;
  int rc;

  if (path == NULL || path[0] == '\0') {
    ov_error ("state database: empty path");
    return NULL;
  }
  st = calloc (1, sizeof *st);
  if (st == NULL || (st->path = strdup (path)) == NULL) {
    ov_error_errno (errno, "%s: cannot allocate the state", path);
    free (st);
    return NULL;
  }
  if (make_parent_dirs (path) == -1)
    goto fail;
  rc = sqlite3_open_v2 (path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    if (st->db)
      ov_db_fail (st, rc, "cannot open the state database");
    else
      ov_error ("%s: cannot open the state database: out of memory", path);
    goto fail;
  }
  sqlite3_extended_result_codes (st->db, 1);
  if (apply_pragmas (st) == -1 || ov_db_migrate (st) == -1)
    goto fail;
  return st;

 fail:
  ov_state_close (st);
  return NULL;
}

void
ov_state_close (struct ov_state *st)
{
  size_t i;

  if (st == NULL)
    return;
  for (i = 0; i < OV_STMT__COUNT; i++)
    sqlite3_finalize (st->stmts[i]);
  if (st->db) {
    if (!sqlite3_get_autocommit (st->db))
      sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close (st->db);
  }
  ov_db_file_free (&st->file);
  free (st->path);
  free (st);
}

int
ov_state_begin (struct ov_state *st)
{
  if (!sqlite3_get_autocommit (st->db) || st->in_txn) {
    ov_error ("%s: begin: a transaction is already open", st->path);
    return -1;
  }
  st->aborted = false;
  if (ov_db_exec (st, "BEGIN IMMEDIATE", "begin") == -1)
    return -1;
  st->in_txn = true;
  return 0;
}

int
ov_state_commit (struct ov_state *st)
{
  int rc;

  if (!st->in_txn) {
    ov_error ("%s: commit: no transaction is open", st->path);
    return -1;
  }
  if (st->aborted) {
    st->in_txn = false;
    st->aborted = false;
    ov_error ("%s: commit: the transaction was rolled back after an earlier "
              "error", st->path);
    return -1;
  }
  rc = sqlite3_exec (st->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    ov_db_fail (st, rc, "commit");
    /* Never leave a half-open transaction behind a failed commit. */
    if (!sqlite3_get_autocommit (st->db))
      sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_txn = false;
    st->aborted = false;
    return -1;
  }
  st->in_txn = false;
  return 0;
}

void
ov_state_rollback (struct ov_state *st)
{
  if (!sqlite3_get_autocommit (st->db))
    sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
  st->in_txn = false;
  st->aborted = false;
}

const char *
ov_state_file (const struct ov_state *st)
{
  return st->path;
}
