/* ovscan — signature coverage queries (see coverage.h).
 *
 * Cost: coverage of a disk is one pass over its files (the files table is
 * joined to filesystems by disk); the stale list is one pass over every
 * file not under the current version (index files_by_sig_version) plus a
 * sort by last scan time — tens of milliseconds for 100k files.  Statements
 * are uncached (prepared per call): these run a few times per command.
 */
#include "db/internal.h"
#include "db/coverage.h"
#include "db/fleet_inherit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define COUNTED "f.verdict IN ('clean', 'infected', 'error')"
#define COVERED "(f.sig_version IS ?2 AND f.verdict <> 'error')"
#define LAST_SCAN \
  "max (coalesce (f.scanned_at, 0), coalesce ((SELECT p.started FROM polls p" \
  " WHERE p.id = f.scanned_poll), 0))"

int
ov_coverage_disk (struct ov_state *st, int64_t disk_id, const char *version,
                  struct ov_coverage *out)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  memset (out, 0, sizeof *out);
  s = ov_db_prepare (st,
    "SELECT count(*), total (f.size),"
    " count(*) FILTER (WHERE " COVERED "),"
    " total (f.size) FILTER (WHERE " COVERED "),"
    " count(*) FILTER (WHERE f.verdict = 'infected'),"
    " min (" LAST_SCAN ") FILTER (WHERE NOT " COVERED ")"
    " FROM files f JOIN filesystems fs ON fs.id = f.fs_id"
    " WHERE fs.disk_id = ?1 AND " COUNTED);
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  ov_db_bind_text (s, 2, version);
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "signature coverage");
  out->files = ov_db_column_u64 (s, 0);
  out->bytes = (uint64_t) sqlite3_column_double (s, 1);
  out->covered_files = ov_db_column_u64 (s, 2);
  out->covered_bytes = (uint64_t) sqlite3_column_double (s, 3);
  out->infected = ov_db_column_u64 (s, 4);
  out->oldest_stale = sqlite3_column_double (s, 5);
  return 0;
}

int
ov_coverage_stale_count (struct ov_state *st, const char *version,
                         uint64_t *files, uint64_t *bytes)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st,
    "SELECT count(*), total (f.size) FROM files f"
    " WHERE " COUNTED " AND NOT " COVERED);
  if (s == NULL)
    return -1;
  ov_db_bind_text (s, 2, version);
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "count stale files");
  *files = ov_db_column_u64 (s, 0);
  *bytes = (uint64_t) sqlite3_column_double (s, 1);
  return 0;
}

static void
column_digest (sqlite3_stmt *s, int i, uint8_t out[32])
{
  const void *b = sqlite3_column_blob (s, i);
  memset (out, 0, 32);
  if (b && sqlite3_column_bytes (s, i) == 32)
    memcpy (out, b, 32);
}

int
ov_coverage_stale_files (struct ov_state *st, const char *version,
                         uint64_t limit, ov_stale_file_cb cb, void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_prepare (st,
    "SELECT f.id, fs.disk_id, f.fs_id, f.inode, f.attr_type, f.attr_id,"
    " f.size, f.runs_digest, f.generation, " LAST_SCAN " AS last_scan"
    " FROM files f JOIN filesystems fs ON fs.id = f.fs_id"
    " WHERE " COUNTED " AND NOT " COVERED
    " AND NOT " OV_FLEET_INHERITED_SQL    /* the base's rescan covers it */
    " ORDER BY last_scan, f.id LIMIT ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, limit == 0 || limit > INT64_MAX ? -1 : (int64_t) limit);
  ov_db_bind_text (s, 2, version);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_stale_file f = {
      .id = sqlite3_column_int64 (s, 0),
      .disk_id = sqlite3_column_int64 (s, 1),
      .key = {
        .fs_id = sqlite3_column_int64 (s, 2),
        .inode = ov_db_column_u64 (s, 3),
        .attr_type = (uint32_t) sqlite3_column_int64 (s, 4),
        .attr_id = (uint16_t) sqlite3_column_int64 (s, 5),
      },
      .size = ov_db_column_u64 (s, 6),
      .generation = (uint32_t) sqlite3_column_int64 (s, 8),
      .last_scan = sqlite3_column_double (s, 9),
    };
    column_digest (s, 7, f.runs_digest);
    if (cb (opaque, &f) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list stale files");
  return 0;
}

int
ov_coverage_store (struct ov_state *st, const struct ov_rescan_verdict *v,
                   const char *version, double when, bool *stored)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  char what[64];

  *stored = false;
  if (v->size > INT64_MAX) {
    ov_error ("%s: file %" PRId64 ": size out of range", st->path, v->id);
    return -1;
  }
  s = ov_db_prepare (st,
    "UPDATE files SET verdict = ?3, signature = ?4, error = ?5,"
    " sig_version = ?6, scanned_at = ?7"
    " WHERE id = ?1 AND size = ?2 AND runs_digest = ?8");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, v->id);
  sqlite3_bind_int64 (s, 2, (int64_t) v->size);
  ov_db_bind_text (s, 3, v->verdict);
  ov_db_bind_text (s, 4, v->signature);
  ov_db_bind_text (s, 5, v->error);
  ov_db_bind_text (s, 6, version);
  sqlite3_bind_double (s, 7, when);
  sqlite3_bind_blob (s, 8, v->runs_digest, 32, SQLITE_STATIC);
  snprintf (what, sizeof what, "store the rescan of file %" PRId64, v->id);
  if (ov_db_step_done (st, s, what) == -1)
    return -1;
  *stored = sqlite3_changes (st->db) > 0;
  return 0;
}

char *
ov_coverage_fs_label (struct ov_state *st, int64_t fs_id)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  bool failed = false;
  char *label;
  int rc;

  s = ov_db_prepare (st, "SELECT label FROM filesystems WHERE id = ?1");
  if (s == NULL)
    return NULL;
  sqlite3_bind_int64 (s, 1, fs_id);
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE)
      ov_error ("%s: no filesystem %" PRId64, st->path, fs_id);
    else
      ov_db_fail (st, rc, "filesystem label");
    return NULL;
  }
  label = ov_db_column_strdup (s, 0, &failed);
  if (label == NULL)
    ov_error ("%s: filesystem %" PRId64 ": no label (out of memory?)", st->path, fs_id);
  return label;
}

int
ov_coverage_find_fs (struct ov_state *st, int64_t disk_id, const char *label,
                     uint64_t offset, const char *type, const char *identity,
                     int64_t *fs_id)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  if (offset > INT64_MAX)
    return 1;
  s = ov_db_prepare (st, "SELECT id FROM filesystems WHERE disk_id = ?1"
                     " AND label = ?2 AND offset = ?3 AND type = ?4"
                     " AND coalesce (identity, '') = ?5");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  ov_db_bind_text (s, 2, label);
  sqlite3_bind_int64 (s, 3, (int64_t) offset);
  ov_db_bind_text (s, 4, type);
  ov_db_bind_text (s, 5, identity ? identity : "");
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "find filesystem");
  *fs_id = sqlite3_column_int64 (s, 0);
  return 0;
}
