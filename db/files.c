/* ovscan — files, their paths, and the block->file reverse map (runs).
 *
 * put_file replaces: the file row is found by its key (fs, inode, attribute
 * type and id) and updated in place — its id, which polls refer to, stays —
 * and its paths and runs are deleted and inserted again, never accumulated.
 * A new file skips the deletes.  Each put is atomic: see
 * ov_state_put_file.
 *
 * Reverse map: each data/unwritten/resident/compressed run is stored as
 * pieces of at most OV_STATE_MAX_RUN bytes (sparse runs own no disk bytes
 * and are not stored).  A query for [o, o+len) scans the covering index
 * runs_by_start over disk_start in (o - MAX_RUN, o+len) — no piece starting
 * earlier can reach o — and keeps pieces with disk_end > o.  Cost: the
 * pieces starting in that window, i.e. O(log n + pieces within 1 MiB of the
 * query), whatever the number of files.  The file ids are collected,
 * sorted and de-duplicated before any callback runs, so each file is
 * reported once and callbacks may modify the database.
 *
 * Bounds: disk offsets and lengths come from guest metadata; a run whose
 * end passes INT64_MAX (sqlite's INTEGER) is refused with an error naming
 * the inode and offset, before anything is written.
 */
#include "db/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/sha256.h"
#include "common/vector.h"

#define OV_STATE_MAX_PATH (128 * 1024)

DEFINE_VECTOR (id_vector, int64_t);

#define FILE_COLUMNS \
  "id, fs_id, inode, attr_type, attr_id, stream, size, orphan, runs_digest," \
  " content_digest, verdict, signature, error, scanned_poll, sig_version," \
  " changed_poll, meta_digest, paths_digest, generation"

const char ov_db_overlap_sql[] =
  "SELECT file_id FROM runs WHERE fs_id = ?1 AND disk_start > ?2"
  " AND disk_start < ?3 AND disk_end > ?4";

/* Stored run kinds (schema values: do not renumber). */
static int
kind_to_db (enum ov_run_kind kind)
{
  switch (kind) {
  case OV_RUN_DATA: return 0;
  case OV_RUN_UNWRITTEN: return 1;
  case OV_RUN_RESIDENT: return 2;
  case OV_RUN_COMPRESSED: return 3;
  case OV_RUN_SPARSE: return -1;
  }
  return -2;
}

void
ov_runs_digest (const struct ov_run *runs, size_t nruns, uint8_t out[32])
{
  struct ov_sha256 ctx;
  size_t i;

  ov_sha256_init (&ctx);
  for (i = 0; i < nruns; i++) {
    /* A hole has no disk offset: hash 0 so that garbage there is ignored. */
    uint64_t v[3] = {
      runs[i].file_offset,
      runs[i].kind == OV_RUN_SPARSE ? 0 : runs[i].disk_offset,
      runs[i].length,
    };
    uint8_t buf[28];
    unsigned j, k;
    for (j = 0; j < 3; j++)
      for (k = 0; k < 8; k++)
        buf[8 * j + k] = (uint8_t) (v[j] >> (8 * k));
    for (k = 0; k < 4; k++)
      buf[24 + k] = (uint8_t) ((uint32_t) runs[i].kind >> (8 * k));
    ov_sha256_update (&ctx, buf, sizeof buf);
  }
  ov_sha256_final (&ctx, out);
}

static void
put_le (uint8_t *p, uint64_t v, unsigned bytes)
{
  unsigned k;
  for (k = 0; k < bytes; k++)
    p[k] = (uint8_t) (v >> (8 * k));
}

/* mode, uid, gid (u32), mtime (i64), mtime_nsec (u32), ctime (i64),
 * ctime_nsec (u32), little-endian: 36 bytes. */
void
ov_meta_digest (const struct ov_file *f, uint8_t out[32])
{
  uint8_t buf[36];

  put_le (buf, f->mode, 4);
  put_le (buf + 4, f->uid, 4);
  put_le (buf + 8, f->gid, 4);
  put_le (buf + 12, (uint64_t) f->mtime, 8);
  put_le (buf + 20, f->mtime_nsec, 4);
  put_le (buf + 24, (uint64_t) f->ctime, 8);
  put_le (buf + 32, f->ctime_nsec, 4);
  ov_sha256 (buf, sizeof buf, out);
}

void
ov_db_file_free (struct ov_db_file *f)
{
  size_t i;

  for (i = 0; i < f->rec.npaths; i++)
    free (f->rec.paths[i]);
  free (f->rec.paths);
  for (i = 0; i < sizeof f->strings / sizeof f->strings[0]; i++)
    free (f->strings[i]);
  memset (f, 0, sizeof *f);
}

static bool
all_zero (const uint8_t *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

/* Everything that could be refused is refused here, before any write. */
static int
check_file (struct ov_state *st, const struct ov_file_record *r,
            const struct ov_run *runs, size_t nruns)
{
  size_t i;

  if (r->size > INT64_MAX) {
    ov_error ("%s: fs %" PRId64 ": inode %" PRIu64 ": size %" PRIu64
              " out of range", st->path, r->key.fs_id, r->key.inode, r->size);
    return -1;
  }
  for (i = 0; i < r->npaths; i++)
    if (r->paths[i] == NULL ||
        strnlen (r->paths[i], OV_STATE_MAX_PATH + 1) > OV_STATE_MAX_PATH) {
      ov_error ("%s: fs %" PRId64 ": inode %" PRIu64 ": path %zu missing or "
                "longer than %d bytes", st->path, r->key.fs_id, r->key.inode,
                i, OV_STATE_MAX_PATH);
      return -1;
    }
  for (i = 0; i < nruns; i++) {
    const struct ov_run *run = &runs[i];
    if (kind_to_db (run->kind) == -2) {
      ov_error ("%s: fs %" PRId64 ": inode %" PRIu64 ": run %zu has an "
                "unknown kind %d", st->path, r->key.fs_id, r->key.inode, i,
                (int) run->kind);
      return -1;
    }
    if (run->kind != OV_RUN_SPARSE &&
        (run->disk_offset > INT64_MAX ||
         run->length > INT64_MAX - run->disk_offset)) {
      ov_error ("%s: fs %" PRId64 ": inode %" PRIu64 ": run at disk offset %"
                PRIu64 " of %" PRIu64 " bytes is out of range", st->path,
                r->key.fs_id, r->key.inode, run->disk_offset, run->length);
      return -1;
    }
  }
  return 0;
}

/* 0 + *id if the key exists, 1 if not, -1 on error. */
static int
find_file (struct ov_state *st, const struct ov_file_key *key, int64_t *id)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  int rc;

  s = ov_db_stmt (st, OV_STMT_FIND_FILE,
                  "SELECT id FROM files WHERE fs_id = ?1 AND inode = ?2"
                  " AND attr_type = ?3 AND attr_id = ?4");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, key->fs_id);
  ov_db_bind_u64 (s, 2, key->inode);
  sqlite3_bind_int64 (s, 3, key->attr_type);
  sqlite3_bind_int64 (s, 4, key->attr_id);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "find file");
  *id = sqlite3_column_int64 (s, 0);
  return 0;
}

/* Bind the file row's columns ?2..?17 (FILE_COLUMNS order after id);
 * all-zero digests are stored as NULL. */
static void
bind_file (sqlite3_stmt *s, const struct ov_file_record *r)
{
  sqlite3_bind_int64 (s, 2, r->key.fs_id);
  ov_db_bind_u64 (s, 3, r->key.inode);
  sqlite3_bind_int64 (s, 4, r->key.attr_type);
  sqlite3_bind_int64 (s, 5, r->key.attr_id);
  if (r->stream)
    sqlite3_bind_blob (s, 6, r->stream, (int) strnlen (r->stream, OV_STATE_MAX_PATH),
                       SQLITE_STATIC);
  ov_db_bind_u64 (s, 7, r->size);
  sqlite3_bind_int (s, 8, r->orphan);
  sqlite3_bind_blob (s, 9, r->runs_digest, 32, SQLITE_STATIC);
  if (!all_zero (r->content_digest, 32))
    sqlite3_bind_blob (s, 10, r->content_digest, 32, SQLITE_STATIC);
  ov_db_bind_text (s, 11, r->verdict);
  ov_db_bind_text (s, 12, r->signature);
  ov_db_bind_text (s, 13, r->error);
  sqlite3_bind_int64 (s, 14, r->scanned_poll);
  ov_db_bind_text (s, 15, r->sig_version);
  sqlite3_bind_int64 (s, 16, r->changed_poll);
  if (!all_zero (r->meta_digest, 32))
    sqlite3_bind_blob (s, 17, r->meta_digest, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 19, r->generation);
}

static int
compare_path_ptrs (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
ov_paths_digest (char *const *paths, size_t npaths, uint8_t out[32])
{
  struct ov_sha256 ctx;
  char **sorted = malloc (npaths * sizeof *sorted);
  size_t i;

  ov_sha256_init (&ctx);
  if (sorted && npaths) {
    memcpy (sorted, paths, npaths * sizeof *sorted);
    if (npaths > 1)
      qsort (sorted, npaths, sizeof *sorted, compare_path_ptrs);
  }
  for (i = 0; i < npaths; i++) {
    const char *p = sorted ? sorted[i] : paths[i];
    ov_sha256_update (&ctx, p, strlen (p) + 1);
  }
  ov_sha256_final (&ctx, out);
  free (sorted);
}

/* ?18: the digest of the (sorted) path set, for rename checks without
 * loading paths. */
static void
bind_paths_digest (sqlite3_stmt *s, const struct ov_file_record *r)
{
  uint8_t d[32];
  ov_paths_digest (r->paths, r->npaths, d);
  sqlite3_bind_blob (s, 18, d, 32, SQLITE_TRANSIENT);
}

static int
delete_by_file_id (struct ov_state *st, enum ov_stmt_id id, const char *sql,
                   int64_t file_id)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = ov_db_stmt (st, id, sql);
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, file_id);
  return ov_db_step_done (st, s, "delete old paths/runs");
}

static int
insert_paths_and_runs (struct ov_state *st, int64_t file_id,
                       const struct ov_file_record *r,
                       const struct ov_run *runs, size_t nruns)
{
  CLEANUP_STMT_RESET sqlite3_stmt *p = NULL;
  CLEANUP_STMT_RESET sqlite3_stmt *q = NULL;
  size_t i;

  p = ov_db_stmt (st, OV_STMT_INSERT_PATH,
                  "INSERT INTO paths (file_id, path) VALUES (?1, ?2)");
  if (p == NULL)
    return -1;
  for (i = 0; i < r->npaths; i++) {
    sqlite3_bind_int64 (p, 1, file_id);
    sqlite3_bind_blob (p, 2, r->paths[i], (int) strlen (r->paths[i]),
                       SQLITE_STATIC);
    if (ov_db_step_done (st, p, "insert path") == -1)
      return -1;
    sqlite3_reset (p);
  }

  q = ov_db_stmt (st, OV_STMT_INSERT_RUN,
                  "INSERT INTO runs (file_id, fs_id, disk_start, disk_end, kind)"
                  " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (q == NULL)
    return -1;
  sqlite3_bind_int64 (q, 1, file_id);
  sqlite3_bind_int64 (q, 2, r->key.fs_id);
  for (i = 0; i < nruns; i++) {
    uint64_t start = runs[i].disk_offset;
    uint64_t end = start + runs[i].length;      /* checked: <= INT64_MAX */

    if (runs[i].kind == OV_RUN_SPARSE)
      continue;
    sqlite3_bind_int (q, 5, kind_to_db (runs[i].kind));
    while (start < end) {
      uint64_t piece_end = end - start > OV_STATE_MAX_RUN
        ? start + OV_STATE_MAX_RUN : end;
      sqlite3_bind_int64 (q, 3, (int64_t) start);
      sqlite3_bind_int64 (q, 4, (int64_t) piece_end);
      if (ov_db_step_done (st, q, "insert run") == -1)
        return -1;
      sqlite3_reset (q);
      start = piece_end;
    }
  }
  return 0;
}

/* A new key: one INSERT.  An existing key: the INSERT does nothing, then
 * the row is found, updated in place, and its paths and runs deleted. */
static int
put_file_unit (struct ov_state *st, const struct ov_file_record *r,
               const struct ov_run *runs, size_t nruns)
{
  CLEANUP_STMT_RESET sqlite3_stmt *ins = NULL;
  CLEANUP_STMT_RESET sqlite3_stmt *upd = NULL;
  int64_t file_id = 0;

  ins = ov_db_stmt (st, OV_STMT_INSERT_FILE,
                    "INSERT INTO files (" FILE_COLUMNS ") VALUES (NULL, ?2, ?3,"
                    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
                    " ON CONFLICT (fs_id, inode, attr_type, attr_id) DO NOTHING");
  if (ins == NULL)
    return -1;
  bind_file (ins, r);
  bind_paths_digest (ins, r);
  if (ov_db_step_done (st, ins, "insert file") == -1)
    return -1;
  if (sqlite3_changes (st->db) == 1)
    file_id = sqlite3_last_insert_rowid (st->db);
  else {
    if (find_file (st, &r->key, &file_id) != 0) {
      ov_error ("%s: file vanished during its update", st->path);
      return -1;
    }
    upd = ov_db_stmt (st, OV_STMT_UPDATE_FILE,
                      "UPDATE files SET fs_id = ?2, inode = ?3, attr_type = ?4,"
                      " attr_id = ?5, stream = ?6, size = ?7, orphan = ?8,"
                      " runs_digest = ?9, content_digest = ?10, verdict = ?11,"
                      " signature = ?12, error = ?13, scanned_poll = ?14,"
                      " sig_version = ?15, changed_poll = ?16, meta_digest = ?17,"
                      " paths_digest = ?18, generation = ?19"
                      " WHERE id = ?1");
    if (upd == NULL)
      return -1;
    sqlite3_bind_int64 (upd, 1, file_id);
    bind_file (upd, r);
    bind_paths_digest (upd, r);
    if (ov_db_step_done (st, upd, "update file") == -1 ||
        delete_by_file_id (st, OV_STMT_DELETE_FILE_PATHS,
                           "DELETE FROM paths WHERE file_id = ?1",
                           file_id) == -1 ||
        delete_by_file_id (st, OV_STMT_DELETE_FILE_RUNS,
                           "DELETE FROM runs WHERE file_id = ?1",
                           file_id) == -1)
      return -1;
  }
  return insert_paths_and_runs (st, file_id, r, runs, nruns);
}

/* Atomicity without a savepoint per file (a savepoint per file cost a
 * third of a full poll's insert time): outside a transaction the put is
 * its own transaction; inside the caller's, everything that can be refused
 * is refused before the first write, and a failure after it (disk full,
 * I/O error) rolls back the caller's whole transaction (st->aborted) — a
 * poll with a half-written file could not be committed anyway. */
int
ov_state_put_file (struct ov_state *st, const struct ov_file_record *r,
                   const struct ov_run *runs, size_t nruns)
{
  bool own = false;

  if (check_file (st, r, runs, nruns) == -1)
    goto fail;
  if (st->aborted) {
    ov_error ("%s: the transaction was rolled back after an earlier error",
              st->path);
    goto fail;
  }
  if (!st->in_txn) {
    if (ov_db_savepoint (st) == -1)
      goto fail;
    own = true;
  }
  if (put_file_unit (st, r, runs, nruns) == -1) {
    if (own)
      ov_db_rollback_to (st);
    else if (!st->aborted) {
      /* abort the caller's transaction: see above */
      if (!sqlite3_get_autocommit (st->db))
        sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
      st->aborted = true;
      ov_error_prefix ("transaction rolled back");
    }
    goto fail;
  }
  if (own && ov_db_release (st) == -1)
    goto fail;
  return 0;

 fail:
  ov_error_prefix ("fs %" PRId64 ": inode %" PRIu64 " (attr %" PRIu32 "-%u)",
                   r->key.fs_id, r->key.inode, r->key.attr_type,
                   (unsigned) r->key.attr_id);
  return -1;
}

/* Load file `id` into f (freed first).  0, 1 if gone, -1 on error. */
static int
load_file (struct ov_state *st, int64_t id, struct ov_db_file *f)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  CLEANUP_STMT_RESET sqlite3_stmt *p = NULL;
  struct ov_file_record *r = &f->rec;
  bool failed = false;
  const void *blob;
  int rc;

  ov_db_file_free (f);
  s = ov_db_stmt (st, OV_STMT_GET_FILE_BY_ID,
                  "SELECT " FILE_COLUMNS " FROM files WHERE id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, id);
  rc = sqlite3_step (s);
  if (rc == SQLITE_DONE)
    return 1;
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "get file");
  r->id = sqlite3_column_int64 (s, 0);
  r->key.fs_id = sqlite3_column_int64 (s, 1);
  r->key.inode = ov_db_column_u64 (s, 2);
  r->key.attr_type = (uint32_t) sqlite3_column_int64 (s, 3);
  r->key.attr_id = (uint16_t) sqlite3_column_int64 (s, 4);
  r->stream = f->strings[0] = ov_db_column_strdup (s, 5, &failed);
  r->size = ov_db_column_u64 (s, 6);
  r->orphan = sqlite3_column_int (s, 7) != 0;
  blob = sqlite3_column_blob (s, 8);
  if (blob && sqlite3_column_bytes (s, 8) == 32)
    memcpy (r->runs_digest, blob, 32);
  blob = sqlite3_column_blob (s, 9);
  if (blob && sqlite3_column_bytes (s, 9) == 32)
    memcpy (r->content_digest, blob, 32);
  r->verdict = f->strings[1] = ov_db_column_strdup (s, 10, &failed);
  r->signature = f->strings[2] = ov_db_column_strdup (s, 11, &failed);
  r->error = f->strings[3] = ov_db_column_strdup (s, 12, &failed);
  r->scanned_poll = sqlite3_column_int64 (s, 13);
  r->sig_version = f->strings[4] = ov_db_column_strdup (s, 14, &failed);
  r->changed_poll = sqlite3_column_int64 (s, 15);
  blob = sqlite3_column_blob (s, 16);
  if (blob && sqlite3_column_bytes (s, 16) == 32)
    memcpy (r->meta_digest, blob, 32);
  r->generation = (uint32_t) sqlite3_column_int64 (s, 18);
  if (failed)
    goto fail;

  p = ov_db_stmt (st, OV_STMT_GET_FILE_PATHS,
                  "SELECT path FROM paths WHERE file_id = ?1 ORDER BY path");
  if (p == NULL)
    goto fail;
  sqlite3_bind_int64 (p, 1, id);
  while ((rc = sqlite3_step (p)) == SQLITE_ROW) {
    const char *path = ov_db_column_path (p, 0);
    char **grown;
    if (path == NULL ||
        (grown = realloc (r->paths, (r->npaths + 1) * sizeof *grown)) == NULL) {
      ov_error_errno (ENOMEM, "%s: file %" PRId64 ": paths", st->path, id);
      goto fail;
    }
    r->paths = grown;
    if ((r->paths[r->npaths] = strdup (path)) == NULL) {
      ov_error_errno (errno, "strdup");
      goto fail;
    }
    r->npaths++;
  }
  if (rc != SQLITE_DONE) {
    ov_db_fail (st, rc, "get file paths");
    goto fail;
  }
  return 0;

 fail:
  ov_db_file_free (f);
  return -1;
}

int
ov_state_get_file (struct ov_state *st, const struct ov_file_key *key,
                   struct ov_file_record *r)
{
  int64_t id;
  int ret = find_file (st, key, &id);

  if (ret != 0)
    return ret;
  ret = load_file (st, id, &st->file);
  if (ret == 0)
    *r = st->file.rec;
  return ret;
}

int
ov_state_delete_file (struct ov_state *st, int64_t file_id)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  char what[64];

  /* paths and runs go with it (ON DELETE CASCADE). */
  s = ov_db_stmt (st, OV_STMT_DELETE_FILE, "DELETE FROM files WHERE id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, file_id);
  snprintf (what, sizeof what, "delete file %" PRId64, file_id);
  return ov_db_step_done (st, s, what);
}

static int
compare_ids (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

/* Run the cached statement s to its end, collecting column 0 (sorted,
 * unique), then reset it. */
static int
collect_ids (struct ov_state *st, sqlite3_stmt *s, id_vector *ids,
             const char *what)
{
  size_t i, out;
  int rc;

  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    if (id_vector_append (ids, sqlite3_column_int64 (s, 0)) == -1)
      return -1;
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, what);
  if (ids->len > 1)
    qsort (ids->ptr, ids->len, sizeof ids->ptr[0], compare_ids);
  for (i = out = 0; i < ids->len; i++)
    if (out == 0 || ids->ptr[out - 1] != ids->ptr[i])
      ids->ptr[out++] = ids->ptr[i];
  ids->len = out;
  return 0;
}

/* Load each id and call cb; ids that vanished meanwhile are skipped. */
static int
call_for_each (struct ov_state *st, const id_vector *ids,
               ov_file_record_cb cb, void *opaque)
{
  struct ov_db_file f;
  size_t i;
  int ret = 0;

  memset (&f, 0, sizeof f);
  for (i = 0; i < ids->len && ret == 0; i++) {
    int r = load_file (st, ids->ptr[i], &f);
    if (r == -1)
      ret = -1;
    else if (r == 0 && cb (opaque, &f.rec) == -1)
      ret = -1;
  }
  ov_db_file_free (&f);
  return ret;
}

int
ov_state_list_fs_files (struct ov_state *st, int64_t fs_id,
                        ov_file_record_cb cb, void *opaque)
{
  id_vector ids = VECTOR_INIT;
  int ret;
  {
    CLEANUP_STMT_RESET sqlite3_stmt *s =
      ov_db_stmt (st, OV_STMT_FS_FILE_IDS, "SELECT id FROM files WHERE fs_id = ?1");
    if (s == NULL)
      return -1;
    sqlite3_bind_int64 (s, 1, fs_id);
    ret = collect_ids (st, s, &ids, "list files");
  }
  if (ret == 0)
    ret = call_for_each (st, &ids, cb, opaque);
  id_vector_reset (&ids);
  return ret;
}

int
ov_state_files_overlapping (struct ov_state *st, int64_t fs_id,
                            uint64_t offset, uint64_t length,
                            ov_file_record_cb cb, void *opaque)
{
  id_vector ids = VECTOR_INIT;
  int ret;

  {
    CLEANUP_STMT_RESET sqlite3_stmt *s =
      ov_db_stmt (st, OV_STMT_OVERLAP, ov_db_overlap_sql);
    if (s == NULL)
      return -1;
    if (!ov_db_bind_overlap (s, fs_id, offset, length))
      return 0;
    ret = collect_ids (st, s, &ids, "reverse-map query");
  }
  if (ret == 0)
    ret = call_for_each (st, &ids, cb, opaque);
  id_vector_reset (&ids);
  return ret;
}

static int
count_one (struct ov_state *st, enum ov_stmt_id id, const char *sql,
           int64_t disk_id, uint64_t *out)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = ov_db_stmt (st, id, sql);
  int rc;

  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, disk_id);
  rc = sqlite3_step (s);
  if (rc != SQLITE_ROW)
    return ov_db_fail (st, rc, "count files");
  *out = ov_db_column_u64 (s, 0);
  return 0;
}

int
ov_state_count_files (struct ov_state *st, int64_t disk_id,
                      uint64_t *files, uint64_t *runs)
{
  uint64_t f = 0, r = 0;

  if (count_one (st, OV_STMT_COUNT_FILES,
                 "SELECT count (*) FROM files WHERE fs_id IN"
                 " (SELECT id FROM filesystems WHERE disk_id = ?1)",
                 disk_id, &f) == -1 ||
      count_one (st, OV_STMT_COUNT_RUNS,
                 "SELECT count (*) FROM runs WHERE fs_id IN"
                 " (SELECT id FROM filesystems WHERE disk_id = ?1)",
                 disk_id, &r) == -1)
    return -1;
  if (files)
    *files = f;
  if (runs)
    *runs = r;
  return 0;
}

/* A digest column (NULL = all zero). */
static void
copy_digest (sqlite3_stmt *s, int col, uint8_t out[32])
{
  const void *blob = sqlite3_column_blob (s, col);
  if (blob && sqlite3_column_bytes (s, col) == 32)
    memcpy (out, blob, 32);
  else
    memset (out, 0, 32);
}

int
ov_state_list_fs_summaries (struct ov_state *st, int64_t fs_id,
                            ov_file_summary_cb cb, void *opaque)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s =
    ov_db_stmt (st, OV_STMT_FS_SUMMARIES,
                "SELECT id, inode, attr_type, attr_id, size, runs_digest,"
                " content_digest, meta_digest, paths_digest, verdict, generation"
                " FROM files WHERE fs_id = ?1");
  int rc;

  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, fs_id);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_file_summary f = { .key.fs_id = fs_id };
    const char *verdict;
    f.id = sqlite3_column_int64 (s, 0);
    f.key.inode = (uint64_t) sqlite3_column_int64 (s, 1);
    f.key.attr_type = (uint32_t) sqlite3_column_int64 (s, 2);
    f.key.attr_id = (uint16_t) sqlite3_column_int64 (s, 3);
    f.size = (uint64_t) sqlite3_column_int64 (s, 4);
    copy_digest (s, 5, f.runs_digest);
    copy_digest (s, 6, f.content_digest);
    copy_digest (s, 7, f.meta_digest);
    copy_digest (s, 8, f.paths_digest);
    verdict = (const char *) sqlite3_column_text (s, 9);
    f.last_scan_failed = verdict && strcmp (verdict, "error") == 0;
    f.generation = (uint32_t) sqlite3_column_int64 (s, 10);
    if (cb (opaque, &f) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list file summaries");
  return 0;
}
