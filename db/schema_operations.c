/* ovscan — schema step for cron operations, signature coverage and
 * detections (issue 6).
 *
 * Runs once per database inside the migration's transaction with foreign
 * keys off (db/migrations.c).  It adds:
 *
 *   files.scanned_at REAL      when the rolling rescan (scanner/rescan.c)
 *                              last scanned the file; a poll's scan is dated
 *                              by its poll (files.scanned_poll ->
 *                              polls.started), so a file's last scan is
 *                              max(scanned_at, started of scanned_poll).
 *   files_by_sig_version       index for "files not scanned under version V"
 *   detections                 one row per (disk, fs, guest path, signature)
 *                              ever found infected: first/last seen (unix
 *                              time) and the polls that saw it first/last;
 *                              found_by 'poll' | 'rescan'; cleared_poll = the
 *                              poll that listed the path deleted or scanned
 *                              it clean again (NULL while present).
 *   detections_from_poll_files triggers: every poll_files row a poll writes
 *   detections_cleared         inside its transaction updates detections in
 *                              that same transaction, so the poll
 *                              orchestrator needs no code for it and a
 *                              rolled-back poll leaves no detection behind.
 *
 * A later step that rebuilds poll_files (CREATE new / INSERT / DROP old /
 * RENAME) drops these triggers with the old table: such a step must create
 * them again (OV_DB_DETECTION_TRIGGERS below is the text);
 * tests/unit/test_db_detections.c fails if they are missing.
 */
#include "db/internal.h"

#include "db/detections.h"

static const char schema_operations[] =
  "ALTER TABLE files ADD COLUMN scanned_at REAL;"
  "CREATE INDEX files_by_sig_version ON files (sig_version);"
  "CREATE TABLE detections ("
  "  id INTEGER PRIMARY KEY,"
  "  disk_id INTEGER NOT NULL REFERENCES disks (id) ON DELETE CASCADE,"
  "  fs_label TEXT NOT NULL,"
  "  path BLOB NOT NULL,"
  "  inode INTEGER NOT NULL,"
  "  signature TEXT NOT NULL,"
  "  first_seen REAL NOT NULL,"
  "  last_seen REAL NOT NULL,"
  "  first_poll INTEGER NOT NULL,"
  "  last_poll INTEGER NOT NULL,"
  "  found_by TEXT NOT NULL CHECK (found_by IN ('poll', 'rescan')),"
  "  cleared_poll INTEGER,"
  "  UNIQUE (disk_id, fs_label, path, signature)"
  ");"
  "CREATE INDEX detections_by_disk ON detections (disk_id, last_seen);"
  OV_DB_DETECTION_TRIGGERS;

int
ov_db_migrate_1_to_2_operations (struct ov_state *st)
{
  return ov_db_exec (st, schema_operations, "create the detections table");
}
