/* ovscan — the fleet tables (see db/fleet.h and db/schema_fleet.c).
 *
 * Statements are prepared per call (ov_db_prepare): these run a few times
 * per poll, not per file.  Seeding copies a base's rows with one
 * INSERT … SELECT per table, matching filesystems by (label, offset) and
 * files by (inode, attr_type, attr_id) through the UNIQUE indexes.
 */
#include "db/internal.h"
#include "db/fleet.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/cleanup.h"
#include "common/error.h"

void
ov_base_record_clear (struct ov_base_record *b)
{
  free (b->path);
  free (b->format);
  memset (b, 0, sizeof *b);
}

void
ov_fleet_base_name (const char *sha256, char *name)
{
  snprintf (name, OV_FLEET_BASE_NAME_SIZE, "base-%.12s", sha256);
}

#define BASE_COLUMNS \
  "id, disk_id, sha256, path, format, virtual_size, dev, ino, file_size," \
  " mtime_ns, ctime_ns"

static int
base_from_row (sqlite3_stmt *s, struct ov_base_record *b)
{
  bool failed = false;
  const char *sha = (const char *) sqlite3_column_text (s, 2);

  memset (b, 0, sizeof *b);
  b->id = sqlite3_column_int64 (s, 0);
  b->disk_id = sqlite3_column_int64 (s, 1);
  snprintf (b->sha256, sizeof b->sha256, "%s", sha ? sha : "");
  b->path = ov_db_column_strdup (s, 3, &failed);
  b->format = ov_db_column_strdup (s, 4, &failed);
  b->virtual_size = ov_db_column_u64 (s, 5);
  b->dev = ov_db_column_u64 (s, 6);
  b->ino = ov_db_column_u64 (s, 7);
  b->file_size = ov_db_column_u64 (s, 8);
  b->mtime_ns = sqlite3_column_int64 (s, 9);
  b->ctime_ns = sqlite3_column_int64 (s, 10);
  if (failed) {
    ov_base_record_clear (b);
    return -1;
  }
  return 0;
}

static void
bind_base_stat (sqlite3_stmt *s, int first, const struct ov_base_record *b)
{
  ov_db_bind_u64 (s, first, b->dev);
  ov_db_bind_u64 (s, first + 1, b->ino);
  ov_db_bind_u64 (s, first + 2, b->file_size);
  sqlite3_bind_int64 (s, first + 3, b->mtime_ns);
  sqlite3_bind_int64 (s, first + 4, b->ctime_ns);
}

/* WHERE binds ?1 (id, or SHA-256/path text) and, with STAT, ?2..?6. */
static int
get_base_where (struct ov_state *st, const char *where, int64_t id,
                const char *text, const struct ov_base_record *stat,
                struct ov_base_record *b)
{
  char sql[512];
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  int rc;

  snprintf (sql, sizeof sql, "SELECT " BASE_COLUMNS " FROM bases WHERE %s", where);
  if ((s = ov_db_prepare (st, sql)) == NULL)
    return -1;
  if (text)
    ov_db_bind_text (s, 1, text);
  else
    sqlite3_bind_int64 (s, 1, id);
  if (stat)
    bind_base_stat (s, 2, stat);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "get base");
  return base_from_row (s, b);
}

int
ov_fleet_get_base (struct ov_state *st, int64_t id, struct ov_base_record *b)
{
  return get_base_where (st, "id = ?1", id, NULL, NULL, b);
}

int
ov_fleet_find_base (struct ov_state *st, const char *sha256, struct ov_base_record *b)
{
  return get_base_where (st, "sha256 = ?1", 0, sha256, NULL, b);
}

int
ov_fleet_find_base_by_stat (struct ov_state *st, const char *path,
                            const struct ov_base_record *stat,
                            struct ov_base_record *b)
{
  return get_base_where (st, "path = ?1 AND dev = ?2 AND ino = ?3 AND"
                         " file_size = ?4 AND mtime_ns = ?5 AND ctime_ns = ?6"
                         " ORDER BY id DESC LIMIT 1", 0, path, stat, b);
}

int
ov_fleet_add_base (struct ov_state *st, struct ov_base_record *b)
{
  char name[64];
  struct ov_disk_record d = { 0 };
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = NULL;
  bool own = sqlite3_get_autocommit (st->db);

  if (b->virtual_size > INT64_MAX || b->file_size > INT64_MAX) {
    ov_error ("%s: base %s: size out of range", st->path, b->path);
    return -1;
  }
  ov_fleet_base_name (b->sha256, name);
  d.name = name;
  d.image = b->path;
  d.format = b->format;
  d.tracker = (char *) "base";
  if (own && ov_state_begin (st) == -1)
    return -1;
  if (ov_state_add_disk (st, &d) == -1)
    goto fail;
  s = ov_db_prepare (st, "INSERT INTO bases (disk_id, sha256, path, format,"
                     " virtual_size, dev, ino, file_size, mtime_ns, ctime_ns,"
                     " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (s == NULL)
    goto fail;
  sqlite3_bind_int64 (s, 1, d.id);
  ov_db_bind_text (s, 2, b->sha256);
  ov_db_bind_text (s, 3, b->path);
  ov_db_bind_text (s, 4, b->format);
  ov_db_bind_u64 (s, 5, b->virtual_size);
  bind_base_stat (s, 6, b);
  sqlite3_bind_double (s, 11, ov_unix_seconds ());
  if (ov_db_step_done (st, s, "add base") == -1)
    goto fail;
  b->id = sqlite3_last_insert_rowid (st->db);
  b->disk_id = d.id;
  if (own && ov_state_commit (st) == -1)
    goto fail;
  return 0;
 fail:
  if (own)
    ov_state_rollback (st);
  return -1;
}

int
ov_fleet_update_base_stat (struct ov_state *st, const struct ov_base_record *b)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "UPDATE bases SET dev = ?1, ino = ?2, file_size = ?3,"
                   " mtime_ns = ?4, ctime_ns = ?5, path = ?7 WHERE id = ?6");
  if (s == NULL)
    return -1;
  bind_base_stat (s, 1, b);
  sqlite3_bind_int64 (s, 6, b->id);
  ov_db_bind_text (s, 7, b->path);
  return ov_db_step_done (st, s, "update base");
}

int
ov_fleet_base_users (struct ov_state *st, int64_t base_disk_id,
                     uint64_t *count, char **names)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = ov_db_prepare (st,
    "SELECT d.name FROM fleet_vms v JOIN disks d ON d.id = v.disk_id"
    " JOIN bases b ON b.id = v.base_id OR b.id = v.seeded_base"
    " WHERE b.disk_id = ?1 GROUP BY d.id ORDER BY d.name");
  size_t len = 0;
  FILE *f;
  int rc;

  *count = 0;
  *names = NULL;
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, base_disk_id);
  if ((f = open_memstream (names, &len)) == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    if (*count < 5)
      fprintf (f, "%s%s", *count ? ", " : "", sqlite3_column_text (s, 0));
    else if (*count == 5)
      fputs (", …", f);
    (*count)++;
  }
  fclose (f);
  if (rc != SQLITE_DONE) {
    free (*names);
    *names = NULL;
    return ov_db_fail (st, rc, "list the VMs of a base");
  }
  if (*count == 0) {
    free (*names);
    *names = NULL;
  }
  return 0;
}

int
ov_fleet_put_vm (struct ov_state *st, const struct ov_fleet_vm *vm)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "INSERT OR REPLACE INTO fleet_vms (disk_id, base_id,"
                   " max_layers, seeded_base, layers, own_bytes)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, vm->disk_id);
  sqlite3_bind_int64 (s, 2, vm->base_id);
  sqlite3_bind_int64 (s, 3, vm->max_layers);
  if (vm->seeded_base)
    sqlite3_bind_int64 (s, 4, vm->seeded_base);
  else
    sqlite3_bind_null (s, 4);
  sqlite3_bind_int64 (s, 5, vm->layers);
  ov_db_bind_u64 (s, 6, vm->own_bytes > INT64_MAX ? INT64_MAX : vm->own_bytes);
  return ov_db_step_done (st, s, "put fleet vm");
}

int
ov_fleet_get_vm (struct ov_state *st, int64_t disk_id, struct ov_fleet_vm *vm)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "SELECT base_id, max_layers, seeded_base, layers,"
                   " own_bytes FROM fleet_vms WHERE disk_id = ?1");
  int rc;

  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "get fleet vm");
  memset (vm, 0, sizeof *vm);
  vm->disk_id = disk_id;
  vm->base_id = sqlite3_column_int64 (s, 0);
  vm->max_layers = (unsigned) sqlite3_column_int64 (s, 1);
  vm->seeded_base = sqlite3_column_int64 (s, 2);
  vm->layers = (unsigned) sqlite3_column_int64 (s, 3);
  vm->own_bytes = ov_db_column_u64 (s, 4);
  return 0;
}

/* Joins of a base's rows to the VM's copies (?V = VM disk, ?B = base disk). */
#define FS_PAIR \
  " FROM filesystems b JOIN filesystems v ON v.disk_id = %" PRId64 \
  " AND v.label = b.label AND v.offset = b.offset"
#define FILE_PAIR \
  FS_PAIR " JOIN files bf ON bf.fs_id = b.id JOIN files vf ON vf.fs_id = v.id" \
  " AND vf.inode = bf.inode AND vf.attr_type = bf.attr_type" \
  " AND vf.attr_id = bf.attr_id"

int
ov_fleet_seed (struct ov_state *st, int64_t vm, int64_t base)
{
  CLEANUP_FREE char *sql = NULL;

  if (asprintf (&sql,
      "DELETE FROM filesystems WHERE disk_id = %" PRId64 ";"
      "INSERT INTO filesystems (disk_id, label, offset, size, type, identity)"
      " SELECT %" PRId64 ", label, offset, size, type, identity"
      " FROM filesystems WHERE disk_id = %" PRId64 ";"
      "INSERT INTO files (fs_id, inode, attr_type, attr_id, stream, size,"
      " orphan, runs_digest, content_digest, meta_digest, paths_digest,"
      " generation, verdict, signature, error, scanned_poll, sig_version,"
      " changed_poll)"
      " SELECT v.id, f.inode, f.attr_type, f.attr_id, f.stream, f.size,"
      " f.orphan, f.runs_digest, f.content_digest, f.meta_digest,"
      " f.paths_digest, f.generation, f.verdict, f.signature, f.error,"
      " f.scanned_poll, f.sig_version, 0"
      FS_PAIR " JOIN files f ON f.fs_id = b.id WHERE b.disk_id = %" PRId64 ";"
      "INSERT INTO paths (file_id, path) SELECT vf.id, p.path"
      FILE_PAIR " JOIN paths p ON p.file_id = bf.id WHERE b.disk_id = %" PRId64 ";"
      "INSERT INTO runs (file_id, fs_id, disk_start, disk_end, kind)"
      " SELECT vf.id, v.id, r.disk_start, r.disk_end, r.kind"
      FILE_PAIR " JOIN runs r ON r.file_id = bf.id WHERE b.disk_id = %" PRId64 ";"
      "INSERT INTO dirs (fs_id, inode, path, entries, runs)"
      " SELECT v.id, d.inode, d.path, d.entries, d.runs"
      FS_PAIR " JOIN dirs d ON d.fs_id = b.id WHERE b.disk_id = %" PRId64 ";",
      vm, vm, base, vm, base, vm, base, vm, base, vm, base) == -1) {
    ov_error ("out of memory");
    return -1;
  }
  return ov_db_exec (st, sql, "copy the base's files to the VM");
}

int
ov_fleet_list_bases (struct ov_state *st,
                     int (*cb) (void *opaque, const struct ov_fleet_base_row *r),
                     void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = ov_db_prepare (st,
    "SELECT d.name, b.sha256, b.path, b.virtual_size,"
    " (SELECT max (p.id) FROM polls p WHERE p.disk_id = d.id),"
    " (SELECT count (*) FROM polls p WHERE p.disk_id = d.id AND p.mode != 'quiet'),"
    " (SELECT count (*) FROM files f JOIN filesystems fs ON f.fs_id = fs.id"
    "   WHERE fs.disk_id = d.id),"
    " (SELECT count (*) FROM fleet_vms v WHERE v.base_id = b.id)"
    " FROM bases b JOIN disks d ON d.id = b.disk_id ORDER BY d.name");
  int rc;

  if (s == NULL)
    return -1;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_fleet_base_row r = {
      .name = (const char *) sqlite3_column_text (s, 0),
      .sha256 = (const char *) sqlite3_column_text (s, 1),
      .path = (const char *) sqlite3_column_text (s, 2),
      .virtual_size = ov_db_column_u64 (s, 3),
      .scanned_poll = sqlite3_column_int64 (s, 4),
      .polls = ov_db_column_u64 (s, 5),
      .files = ov_db_column_u64 (s, 6),
      .vms = ov_db_column_u64 (s, 7),
    };
    if (cb (opaque, &r) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list bases");
  return 0;
}

int
ov_fleet_list_vms (struct ov_state *st,
                   int (*cb) (void *opaque, const struct ov_fleet_vm_row *r),
                   void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s = ov_db_prepare (st,
    "SELECT d.name, bd.name, v.layers, v.max_layers, v.own_bytes"
    " FROM fleet_vms v JOIN disks d ON d.id = v.disk_id"
    " JOIN bases b ON b.id = v.base_id JOIN disks bd ON bd.id = b.disk_id"
    " ORDER BY d.name");
  int rc;

  if (s == NULL)
    return -1;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_fleet_vm_row r = {
      .name = (const char *) sqlite3_column_text (s, 0),
      .base_name = (const char *) sqlite3_column_text (s, 1),
      .layers = (unsigned) sqlite3_column_int64 (s, 2),
      .max_layers = (unsigned) sqlite3_column_int64 (s, 3),
      .own_bytes = ov_db_column_u64 (s, 4),
    };
    if (cb (opaque, &r) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list fleet vms");
  return 0;
}
