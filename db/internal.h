/* ovscan — db/ private: the connection and its statement cache.
 *
 * Every cached statement has a fixed slot (enum ov_stmt_id) and its SQL text
 * stays at the point of use: ov_db_stmt (st, OV_STMT_X, "SELECT …") prepares
 * it on first use (SQLITE_PREPARE_PERSISTENT) and afterwards returns the
 * same statement.  Declare the handle with CLEANUP_STMT_RESET: at scope exit
 * it is reset and its bindings cleared, so a statement is never left
 * half-stepped (which would hold a read transaction open).
 *
 * Re-entrancy: callbacks never run while a cached statement is stepping.
 * Listing functions either collect ids first or use a fresh (uncached)
 * statement, so a callback may call any ov_state_* function.
 *
 * Failed transactions: after an error that sqlite answers by rolling back
 * the transaction (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM…), or after
 * ov_state_put_file rolled it back itself, st->aborted is set and every
 * cached statement (reads included) refuses to run until ov_state_rollback()
 * or ov_state_begin(): writes can never slip out in autocommit mode, one
 * fsync each, after a failed poll.
 */
#ifndef OVSCAN_DB_INTERNAL_H
#define OVSCAN_DB_INTERNAL_H

#include <sqlite3.h>

#include "db/state.h"

enum ov_stmt_id {
  OV_STMT_SAVEPOINT,
  OV_STMT_RELEASE,
  OV_STMT_ROLLBACK_TO,
  OV_STMT_ADD_DISK,
  OV_STMT_GET_DISK,
  OV_STMT_REMOVE_DISK,
  OV_STMT_UPDATE_DISK_TRACKER,
  OV_STMT_ADD_POLL,
  OV_STMT_UPDATE_POLL,
  OV_STMT_GET_POLL,
  OV_STMT_GET_FS,
  OV_STMT_INSERT_FS,
  OV_STMT_UPDATE_FS,
  OV_STMT_CLEAR_FS_RUNS,
  OV_STMT_CLEAR_FS_PATHS,
  OV_STMT_CLEAR_FS_FILES,
  OV_STMT_FIND_FILE,
  OV_STMT_INSERT_FILE,
  OV_STMT_UPDATE_FILE,
  OV_STMT_DELETE_FILE_PATHS,
  OV_STMT_DELETE_FILE_RUNS,
  OV_STMT_INSERT_PATH,
  OV_STMT_INSERT_RUN,
  OV_STMT_GET_FILE_BY_ID,
  OV_STMT_GET_FILE_PATHS,
  OV_STMT_DELETE_FILE,
  OV_STMT_FS_FILE_IDS,
  OV_STMT_OVERLAP,
  OV_STMT_COUNT_FILES,
  OV_STMT_COUNT_RUNS,
  OV_STMT_ADD_POLL_FILE,
  OV_STMT_FS_SUMMARIES,
  OV_STMT_PUT_DIR,
  OV_STMT_DELETE_DIR,
  OV_STMT_CLEAR_FS_DIRS,
  OV_STMT_RUNS_OVERLAP,
  OV_STMT__COUNT
};

/* A file record with the storage of its strings. */
struct ov_db_file {
  struct ov_file_record rec;
  char *strings[5];            /* stream, verdict, signature, error, sig_version */
};
void ov_db_file_free (struct ov_db_file *f);

struct ov_state {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *stmts[OV_STMT__COUNT];
  bool in_txn;                 /* inside ov_state_begin … commit/rollback */
  bool aborted;                /* see the header comment */
  bool own_txn;                /* ov_db_savepoint began a transaction itself */
  /* ov_state_get_file's result lives here until the next call. */
  struct ov_db_file file;
};

/* The cached statement of slot id (prepared on first use), or NULL + ov_error.
 * NULL too, with a clear message, while st->aborted. */
sqlite3_stmt *ov_db_stmt (struct ov_state *st, enum ov_stmt_id id, const char *sql);
/* An uncached statement for listings (finalize it); NULL + ov_error. */
sqlite3_stmt *ov_db_prepare (struct ov_state *st, const char *sql);

static inline void
ov_db_stmt_reset (sqlite3_stmt **s)
{
  if (*s) {
    sqlite3_reset (*s);
    sqlite3_clear_bindings (*s);
  }
}
#define CLEANUP_STMT_RESET __attribute__ ((cleanup (ov_db_stmt_reset)))

static inline void
ov_db_stmt_finalize (sqlite3_stmt **s)
{
  sqlite3_finalize (*s);
}
#define CLEANUP_STMT_FINALIZE __attribute__ ((cleanup (ov_db_stmt_finalize)))

/* Record an error for sqlite result code rc while doing `what`: "PATH: what:
 * sqlite message".  SQLITE_FULL gets its own message, and if the failure
 * ended or must end the transaction, it is rolled back and st->aborted set.
 * Always returns -1. */
int ov_db_fail (struct ov_state *st, int rc, const char *what);

/* Step a statement that returns no row (or ignore its rows): 0 or
 * ov_db_fail. */
int ov_db_step_done (struct ov_state *st, sqlite3_stmt *s, const char *what);

/* Run SQL text (no parameters) with sqlite3_exec: 0 or -1 + ov_error. */
int ov_db_exec (struct ov_state *st, const char *sql, const char *what);

/* An atomic unit of several statements: SAVEPOINT inside the caller's
 * transaction, BEGIN IMMEDIATE … COMMIT outside one.  Not nestable. */
int ov_db_savepoint (struct ov_state *st);
int ov_db_release (struct ov_state *st);
void ov_db_rollback_to (struct ov_state *st);

/* Bind helpers: unsigned 64-bit values are stored as the same 64 bits in
 * sqlite's signed INTEGER (equality-only values such as inode numbers);
 * values that are ordered in SQL (offsets, sizes) are bound-checked against
 * INT64_MAX by the caller. */
static inline int
ov_db_bind_u64 (sqlite3_stmt *s, int i, uint64_t v)
{
  return sqlite3_bind_int64 (s, i, (sqlite3_int64) v);
}
static inline uint64_t
ov_db_column_u64 (sqlite3_stmt *s, int i)
{
  return (uint64_t) sqlite3_column_int64 (s, i);
}
/* NULL-able text. */
static inline int
ov_db_bind_text (sqlite3_stmt *s, int i, const char *v)
{
  return v ? sqlite3_bind_text (s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null (s, i);
}
/* malloc'd copy of a NULL-able text column; *failed set on ENOMEM. */
char *ov_db_column_strdup (sqlite3_stmt *s, int i, bool *failed);

/* Bind ?1..?4 of a reverse-map range query ("... fs_id = ?1 AND
 * disk_start > ?2 AND disk_start < ?3 AND disk_end > ?4") for disk bytes
 * [offset, offset+length).  Stored pieces lie within [0, INT64_MAX] and are
 * at most OV_STATE_MAX_RUN long, which bounds the index range.  Returns
 * false when the range can hold no piece (then do not run the query). */
static inline bool
ov_db_bind_overlap (sqlite3_stmt *s, int64_t fs_id, uint64_t offset,
                    uint64_t length)
{
  int64_t from, hi;

  if (length == 0 || offset >= INT64_MAX)
    return false;
  from = (int64_t) offset;
  hi = length > INT64_MAX - offset ? INT64_MAX : (int64_t) (offset + length);
  sqlite3_bind_int64 (s, 1, fs_id);
  sqlite3_bind_int64 (s, 2, from - (int64_t) OV_STATE_MAX_RUN);  /* may be < 0 */
  sqlite3_bind_int64 (s, 3, hi);
  sqlite3_bind_int64 (s, 4, from);
  return true;
}

/* A path column (BLOB of raw guest bytes) as a NUL-terminated string;
 * "" for an empty one, NULL only on ENOMEM. */
static inline const char *
ov_db_column_path (sqlite3_stmt *s, int i)
{
  const char *p = (const char *) sqlite3_column_text (s, i);
  if (p == NULL && sqlite3_column_bytes (s, i) == 0 &&
      sqlite3_column_type (s, i) != SQLITE_NULL)
    return "";
  return p;
}

/* Schema: create or upgrade to OV_STATE_SCHEMA_VERSION (migrations.c). */
int ov_db_migrate (struct ov_state *st);
/* Schema steps, one file per feature (called inside the step's transaction,
 * foreign keys off; see db/migrations.c). */
int ov_db_migrate_1_to_2_operations (struct ov_state *st);  /* db/schema_operations.c */
int ov_db_migrate_2_to_3_live (struct ov_state *st);        /* db/schema_live.c */
int ov_db_migrate_3_to_4_fleet (struct ov_state *st);       /* db/schema_fleet.c */
int ov_db_migrate_4_to_5_guests (struct ov_state *st);      /* db/schema_guests.c */

/* The reverse-map query text (for the EXPLAIN QUERY PLAN test). */
extern const char ov_db_overlap_sql[];

#endif
