/* ovscan — schema step for copy-on-write fleets: bases, layers, verdict cache (issue 5).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).
 *
 *   disks.tracker  also 'layers' (a VM overlay over a shared base, cow/)
 *                  and 'base' (the base image's own disk row: its files and
 *                  verdicts, scanned once for the fleet, never polled by
 *                  `poll --all`).  The table is rebuilt from its current
 *                  CREATE text with the CHECK widened, so columns that an
 *                  earlier step added are kept whatever they are.
 *   bases(id, disk_id -> disks, sha256 hex UNIQUE, path, format,
 *         virtual_size, dev, ino, file_size, mtime_ns, ctime_ns, created)
 *                  one row per base *content*: a file replaced under the
 *                  same path gets a new row (new digest); the stat columns
 *                  are the cheap re-check of the digest.
 *   fleet_vms(disk_id PK -> disks, base_id -> bases, max_layers,
 *         seeded_base -> bases or NULL, layers, own_bytes)
 *                  a 'layers' disk: its registered base, its own-layer limit,
 *                  the base its file rows were copied from, and its own-layer
 *                  count and allocated bytes after its last poll.
 *   verdict_cache(sha256 BLOB, sig_version, verdict, signature, hits,
 *         PRIMARY KEY (sha256, sig_version))
 *                  content digest + signature version -> verdict, shared by
 *                  every VM (scanner/verdict_cache.c).
 */
#include "db/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"

static const char fleet_tables[] =
  "CREATE TABLE bases ("
  "  id INTEGER PRIMARY KEY,"
  "  disk_id INTEGER NOT NULL UNIQUE REFERENCES disks (id) ON DELETE CASCADE,"
  "  sha256 TEXT NOT NULL UNIQUE,"
  "  path TEXT NOT NULL,"
  "  format TEXT NOT NULL,"
  "  virtual_size INTEGER NOT NULL,"
  "  dev INTEGER NOT NULL, ino INTEGER NOT NULL, file_size INTEGER NOT NULL,"
  "  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
  "  created REAL NOT NULL"
  ");"
  "CREATE TABLE fleet_vms ("
  "  disk_id INTEGER PRIMARY KEY REFERENCES disks (id) ON DELETE CASCADE,"
  "  base_id INTEGER NOT NULL REFERENCES bases (id),"
  "  max_layers INTEGER NOT NULL,"
  "  seeded_base INTEGER REFERENCES bases (id),"
  "  layers INTEGER NOT NULL DEFAULT 0,"
  "  own_bytes INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX fleet_vms_by_base ON fleet_vms (base_id);"
  "CREATE TABLE verdict_cache ("
  "  sha256 BLOB NOT NULL,"
  "  sig_version TEXT NOT NULL,"
  "  verdict TEXT NOT NULL CHECK (verdict IN ('clean', 'infected')),"
  "  signature TEXT,"
  "  hits INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY (sha256, sig_version)"
  ") WITHOUT ROWID;";

/* The disks table's CREATE text with 'layers' and 'base' allowed. */
static char *
widened_disks_sql (struct ov_state *st)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'disks'");
  const char *sql, *check, *in;
  char *out;
  size_t head;

  if (s == NULL)
    return NULL;
  if (sqlite3_step (s) != SQLITE_ROW || (sql = (const char *) sqlite3_column_text (s, 0)) == NULL) {
    ov_error ("%s: no disks table to widen", st->path);
    return NULL;
  }
  check = strstr (sql, "CHECK (tracker IN (");
  if (check == NULL) {
    ov_error ("%s: the disks table has no tracker CHECK this step knows", st->path);
    return NULL;
  }
  in = check + strlen ("CHECK (tracker IN (");
  head = (size_t) (in - sql);
  /* "CREATE TABLE disks (" -> "CREATE TABLE disks_fleet (" */
  if (strncmp (sql, "CREATE TABLE disks (", 20) != 0) {
    ov_error ("%s: unexpected disks table definition", st->path);
    return NULL;
  }
  if (asprintf (&out, "CREATE TABLE disks_fleet (%.*s'layers', 'base', %s",
                (int) (head - 20), sql + 20, in) == -1) {
    ov_error ("out of memory");
    return NULL;
  }
  return out;
}

int
ov_db_migrate_3_to_4_fleet (struct ov_state *st)
{
  CLEANUP_FREE char *create = widened_disks_sql (st);

  if (create == NULL)
    return -1;
  if (ov_db_exec (st, create, "create the widened disks table") == -1 ||
      ov_db_exec (st, "INSERT INTO disks_fleet SELECT * FROM disks;"
                  "DROP TABLE disks;"
                  "ALTER TABLE disks_fleet RENAME TO disks;",
                  "rebuild the disks table") == -1 ||
      ov_db_exec (st, fleet_tables, "create the fleet tables") == -1)
    return -1;
  return 0;
}
