/* ovscan — the schema and its migrations (PRAGMA user_version).
 *
 * migrations[k] upgrades a database from version k to k+1; version 0 is an
 * empty file.  ov_db_migrate() runs every missing step, each in its own
 * BEGIN IMMEDIATE transaction that re-reads user_version first (two ovscan
 * processes opening a fresh file at once: the second waits, then sees the
 * work done).  Steps 2..5 live in their own files, one per feature
 * (db/schema_*.c, declared in db/internal.h); adding version 6 = bump
 * OV_STATE_SCHEMA_VERSION and append its step to the table.
 *
 * Foreign keys are OFF while steps run (SQLite ignores that pragma inside a
 * transaction, so it is set around them): a step may rebuild a table
 * (CREATE new, INSERT SELECT, DROP old, RENAME) without DROP cascading into
 * the tables that reference it.  Each step ends with PRAGMA
 * foreign_key_check; a violation fails the step (rolled back).
 *
 * Refused: a database newer than this program (user_version greater than
 * OV_STATE_SCHEMA_VERSION), and an sqlite file that is not ovscan's
 * (application_id differs, or tables but no version).
 *
 * Integers: disk offsets and sizes are < 2^63 (checked where written);
 * inode numbers are stored as their 64 bits in sqlite's signed INTEGER.
 * Paths are BLOBs: raw guest bytes, any byte but NUL.
 *
 * The reverse map: runs(fs_id, disk_start, disk_end, file_id, kind), each
 * row a piece of a file's on-disk run no longer than OV_STATE_MAX_RUN, so
 * "pieces overlapping [o, o+len)" = pieces with disk_start in
 * (o - MAX_RUN, o+len) and disk_end > o: one range scan of the covering
 * index runs_by_start, whose cost follows the pieces near the query.
 */
#include "db/internal.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/error.h"

/* 'OVSC' */
#define OV_STATE_APPLICATION_ID 0x4f565343

/* Directory state for incremental ext metadata (db/dirs.c).  Part of
 * version 1; pre-release version-1 files made before it get it at open. */
#define DIRS_TABLE \
  "CREATE TABLE IF NOT EXISTS dirs (" \
  "  fs_id INTEGER NOT NULL REFERENCES filesystems (id) ON DELETE CASCADE," \
  "  inode INTEGER NOT NULL," \
  "  path BLOB NOT NULL," \
  "  entries BLOB NOT NULL," \
  "  runs BLOB NOT NULL," \
  "  UNIQUE (fs_id, inode)" \
  ");"

static const char schema_v1[] =
  "CREATE TABLE disks ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  name TEXT NOT NULL UNIQUE,"
  "  image TEXT NOT NULL,"
  "  format TEXT NOT NULL,"
  "  tracker TEXT NOT NULL CHECK (tracker IN ('bitmap', 'full')),"
  "  granularity INTEGER NOT NULL,"
  "  bitmap TEXT,"
  "  generation INTEGER NOT NULL DEFAULT 0,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  created REAL NOT NULL"
  ");"
  "CREATE TABLE polls ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  disk_id INTEGER NOT NULL REFERENCES disks (id) ON DELETE CASCADE,"
  "  started REAL NOT NULL,"
  "  finished REAL,"
  "  mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental', 'quiet')),"
  "  tracker TEXT NOT NULL,"
  "  reason TEXT,"
  "  dirty_bytes INTEGER NOT NULL DEFAULT 0,"
  "  files_scanned INTEGER NOT NULL DEFAULT 0,"
  "  bytes_scanned INTEGER NOT NULL DEFAULT 0,"
  "  infected INTEGER NOT NULL DEFAULT 0,"
  "  errors INTEGER NOT NULL DEFAULT 0,"
  "  sig_version TEXT,"
  "  status TEXT NOT NULL CHECK (status IN ('ok', 'errors'))"
  ");"
  "CREATE INDEX polls_by_disk ON polls (disk_id, id);"
  "CREATE TABLE filesystems ("
  "  id INTEGER PRIMARY KEY,"
  "  disk_id INTEGER NOT NULL REFERENCES disks (id) ON DELETE CASCADE,"
  "  label TEXT NOT NULL,"
  "  offset INTEGER NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  type TEXT NOT NULL,"
  "  identity TEXT,"
  "  UNIQUE (disk_id, label, offset)"
  ");"
  "CREATE TABLE files ("
  "  id INTEGER PRIMARY KEY,"
  "  fs_id INTEGER NOT NULL REFERENCES filesystems (id) ON DELETE CASCADE,"
  "  inode INTEGER NOT NULL,"
  "  attr_type INTEGER NOT NULL,"
  "  attr_id INTEGER NOT NULL,"
  "  stream BLOB,"
  "  size INTEGER NOT NULL,"
  "  orphan INTEGER NOT NULL,"
  "  runs_digest BLOB NOT NULL,"
  "  content_digest BLOB,"
  "  meta_digest BLOB,"
  "  paths_digest BLOB,"
  "  generation INTEGER NOT NULL DEFAULT 0,"
  "  verdict TEXT CHECK (verdict IN ('clean', 'infected', 'error', 'skipped')),"
  "  signature TEXT,"
  "  error TEXT,"
  "  scanned_poll INTEGER NOT NULL DEFAULT 0,"
  "  sig_version TEXT,"
  "  changed_poll INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (fs_id, inode, attr_type, attr_id)"
  ");"
  "CREATE TABLE paths ("
  "  file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,"
  "  path BLOB NOT NULL"
  ");"
  "CREATE INDEX paths_by_file ON paths (file_id);"
  "CREATE TABLE runs ("
  "  file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,"
  "  fs_id INTEGER NOT NULL,"
  "  disk_start INTEGER NOT NULL,"
  "  disk_end INTEGER NOT NULL,"
  "  kind INTEGER NOT NULL"
  ");"
  "CREATE INDEX runs_by_start ON runs (fs_id, disk_start, disk_end, file_id);"
  "CREATE INDEX runs_by_file ON runs (file_id);"
  "CREATE TABLE poll_files ("
  "  id INTEGER PRIMARY KEY,"
  "  poll_id INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,"
  "  path BLOB NOT NULL,"
  "  fs_label TEXT NOT NULL,"
  "  inode INTEGER NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  change TEXT NOT NULL CHECK (change IN ('new', 'modified', 'deleted', 'renamed', 'metadata')),"
  "  verdict TEXT NOT NULL CHECK (verdict IN ('clean', 'infected', 'error', 'skipped', 'none')),"
  "  signature TEXT,"
  "  error TEXT"
  ");"
  "CREATE INDEX poll_files_by_poll ON poll_files (poll_id, id);"
  DIRS_TABLE;

static int
migrate_0_to_1 (struct ov_state *st)
{
  char sql[64];

  if (ov_db_exec (st, schema_v1, "create schema version 1") == -1)
    return -1;
  snprintf (sql, sizeof sql, "PRAGMA application_id = %d", OV_STATE_APPLICATION_ID);
  return ov_db_exec (st, sql, "set application_id");
}

typedef int (*migration_fn) (struct ov_state *st);
static const migration_fn migrations[OV_STATE_SCHEMA_VERSION] = {
  migrate_0_to_1,
  ov_db_migrate_1_to_2_operations,     /* db/schema_operations.c */
  ov_db_migrate_2_to_3_live,           /* db/schema_live.c */
  ov_db_migrate_3_to_4_fleet,          /* db/schema_fleet.c */
  ov_db_migrate_4_to_5_guests,         /* db/schema_guests.c */
};

/* After a step: no row may point at a missing parent. */
static int
foreign_keys_intact (struct ov_state *st)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "PRAGMA foreign_key_check");
  int rc;

  if (s == NULL)
    return -1;
  rc = sqlite3_step (s);
  if (rc == SQLITE_ROW) {
    ov_error ("%s: table %s has a row (rowid %lld) whose parent in %s is missing",
              st->path, (const char *) sqlite3_column_text (s, 0),
              (long long) sqlite3_column_int64 (s, 1),
              (const char *) sqlite3_column_text (s, 2));
    return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "foreign_key_check");
  return 0;
}

static int
pragma_int (struct ov_state *st, const char *sql, int64_t *out)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = ov_db_prepare (st, sql);
  int rc;

  if (s == NULL)
    return -1;
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, sql);
  *out = sqlite3_column_int64 (s, 0);
  return 0;
}

/* Check the identity and version; *version = the file's version. */
static int
check_version (struct ov_state *st, int64_t *version)
{
  int64_t app_id = 0, tables = 0;

  if (pragma_int (st, "PRAGMA user_version", version) == -1 ||
      pragma_int (st, "PRAGMA application_id", &app_id) == -1 ||
      pragma_int (st, "SELECT count(*) FROM sqlite_master", &tables) == -1)
    return -1;
  if (*version > OV_STATE_SCHEMA_VERSION) {
    ov_error ("%s: the state database has schema version %" PRId64
              ", newer than this ovscan's (%d): use a newer ovscan, or "
              "another --state file", st->path, *version,
              OV_STATE_SCHEMA_VERSION);
    return -1;
  }
  if ((app_id != 0 && app_id != OV_STATE_APPLICATION_ID) ||
      (app_id == 0 && (*version != 0 || tables != 0))) {
    ov_error ("%s: not an ovscan state database (application_id %" PRId64
              ", user_version %" PRId64 ", %" PRId64 " schema objects)",
              st->path, app_id, *version, tables);
    return -1;
  }
  return 0;
}

static int migrate_steps (struct ov_state *st, int64_t version);

int
ov_db_migrate (struct ov_state *st)
{
  int64_t version;
  int r;

  if (check_version (st, &version) == -1)
    return -1;
  if (version == OV_STATE_SCHEMA_VERSION)
    return ov_db_exec (st, DIRS_TABLE, "create the dirs table");
  if (ov_db_exec (st, "PRAGMA foreign_keys = OFF", "foreign_keys off") == -1)
    return -1;
  r = migrate_steps (st, version);
  if (ov_db_exec (st, "PRAGMA foreign_keys = ON", "foreign_keys on") == -1)
    return -1;
  return r;
}

static int
migrate_steps (struct ov_state *st, int64_t version)
{
  while (version < OV_STATE_SCHEMA_VERSION) {
    char sql[64];

    if (ov_db_exec (st, "BEGIN IMMEDIATE", "begin migration") == -1)
      return -1;
    /* Another process may have migrated while we waited for the lock. */
    if (check_version (st, &version) == -1)
      goto fail;
    if (version >= OV_STATE_SCHEMA_VERSION) {
      ov_db_exec (st, "COMMIT", "commit");
      break;
    }
    if (migrations[version] == NULL) {
      ov_error ("%s: no migration from schema version %" PRId64, st->path, version);
      goto fail;
    }
    if (migrations[version] (st) == -1) {
      ov_error_prefix ("migration from schema version %" PRId64 " to %" PRId64,
                       version, version + 1);
      goto fail;
    }
    if (foreign_keys_intact (st) == -1) {
      ov_error_prefix ("migration from schema version %" PRId64 " to %" PRId64,
                       version, version + 1);
      goto fail;
    }
    snprintf (sql, sizeof sql, "PRAGMA user_version = %" PRId64, version + 1);
    if (ov_db_exec (st, sql, "set user_version") == -1 ||
        ov_db_exec (st, "COMMIT", "commit migration") == -1)
      goto fail;
    version++;
  }
  /* Pre-release version-1 files without the dirs table. */
  return ov_db_exec (st, DIRS_TABLE, "create the dirs table");

 fail:
  if (!sqlite3_get_autocommit (st->db))
    sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}
