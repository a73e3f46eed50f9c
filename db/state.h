/* ovscan — the state database: disks, polls, files, verdicts, and the
 * block->file reverse map, in one sqlite file per host (WAL mode).
 *
 * Ownership: every SQL statement of ovscan lives in db/.  Callers see plain
 * structs and callbacks, never sqlite3_stmt.
 *
 * Schema (versioned with PRAGMA user_version; db/migrations.c upgrades an
 * older file in one transaction, refuses a newer one):
 *   disks(id, name UNIQUE, image, format, tracker, granularity, bitmap,
 *         generation, size, created)   -- last_poll = max(polls.id)
 *   polls(id, disk_id, started, finished, mode, tracker, reason, dirty_bytes,
 *         files_scanned, bytes_scanned, infected, errors, sig_version, status)
 *   filesystems(id, disk_id, label, offset, size, type, identity)
 *   files(id, fs_id, inode, attr_type, attr_id, stream, size, orphan,
 *         runs_digest, content_digest, verdict, signature, error,
 *         scanned_poll, sig_version, changed_poll, meta_digest)
 *         UNIQUE (fs_id, inode, attr_type, attr_id)
 *   paths(file_id, path BLOB)              -- every hard link
 *   runs(file_id, fs_id, disk_start, disk_end, kind)  -- the reverse map;
 *         each stored piece is at most OV_STATE_MAX_RUN bytes long so that
 *         an overlap query is a range scan of the covering index
 *         (fs_id, disk_start, disk_end, file_id); sparse runs not stored
 *   poll_files(poll_id, path BLOB, fs_label, inode, size, change, verdict,
 *         signature, error)                -- each poll's dirty-file list
 *   dirs(fs_id, inode, path BLOB, entries BLOB, runs BLOB)  -- see below
 *
 * Transactions: a poll's writes (files, runs, poll_files, the poll row and
 * the disk's new tracker state) are one transaction: either the whole poll is
 * committed or none of it, so the tracker can drop its frozen bitmap only
 * after ov_state_commit() returned 0.  Commits are durable across power
 * loss (synchronous=FULL, see db/state.c).  After a write fails inside a
 * transaction in a way that leaves it unusable (database or disk full, I/O
 * error, or ov_state_put_file failing after its first write), the
 * transaction is already rolled back: later calls fail, ov_state_commit()
 * returns -1, and ov_state_rollback() makes the connection usable again.
 * Outside ov_state_begin() each call is its own atomic transaction (one
 * fsync each: use a transaction for bulk writes).
 *
 * Callbacks run while no statement is stepping: a callback may call any
 * ov_state_* function on the same connection.  One connection per thread.
 */
#ifndef OVSCAN_DB_STATE_H
#define OVSCAN_DB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsmap/fsmap.h"

#define OV_STATE_SCHEMA_VERSION 5
#define OV_STATE_MAX_RUN (1ULL << 20)   /* reverse-map pieces are <= 1 MiB */

struct ov_state;

/* The default path: /var/lib/ovscan/state.db for root, else
 * $XDG_STATE_HOME/ovscan/state.db (default ~/.local/state/ovscan/state.db).
 * malloc'd. */
char *ov_state_default_path (void);

/* Open (creating the file and its directory if needed), set WAL, a busy
 * timeout, foreign keys, and migrate.  NULL + ov_error (naming the path). */
struct ov_state *ov_state_open (const char *path);
void ov_state_close (struct ov_state *st);
/* The database file's path. */
const char *ov_state_file (const struct ov_state *st);

int ov_state_begin (struct ov_state *st);     /* BEGIN IMMEDIATE */
int ov_state_commit (struct ov_state *st);
void ov_state_rollback (struct ov_state *st);

/* ---- disks ---- */
struct ov_disk_record {
  int64_t id;
  char *name;
  char *image;                 /* absolute path or NBD URI */
  char *format;                /* "qcow2", "raw", … (never NULL once added) */
  char *tracker;               /* "bitmap" | "full" */
  uint32_t granularity;        /* bitmap granularity in bytes */
  char *bitmap;                /* bitmap recording since the last committed poll, or NULL */
  uint64_t generation;         /* bitmaps are named ovscan-<generation> */
  uint64_t size;               /* disk size at the last committed poll (0 = never polled) */
  int64_t last_poll;           /* id of the last committed poll, 0 if none */
  /* A running VM's disk reached over QMP (issue 4; db/schema_live.c), all
   * NULL for an image file.  Set: image is "qmp:SOCKET", tracker "bitmap",
   * and the live tracker (scanner/tracker_live.c) polls it. */
  char *qmp_socket;            /* the VM's QMP monitor (unix socket) */
  char *qmp_node;              /* its format node's node-name, or NULL */
  char *qmp_drive;             /* or its drive / device id */
  char *nbd_socket;            /* the VM's own NBD server, or NULL: ovscan
                                  starts one on a private socket */
};
void ov_disk_record_clear (struct ov_disk_record *r);

/* -1 + ov_error if the name exists ("disk NAME already exists"). */
int ov_state_add_disk (struct ov_state *st, struct ov_disk_record *r);  /* sets r->id */
/* 0 found, 1 not found (no error set), -1 error. */
int ov_state_get_disk (struct ov_state *st, const char *name, struct ov_disk_record *r);
typedef int (*ov_disk_record_cb) (void *opaque, const struct ov_disk_record *r);
int ov_state_list_disks (struct ov_state *st, ov_disk_record_cb cb, void *opaque);
int ov_state_remove_disk (struct ov_state *st, const char *name);  /* 1 if not found */
/* Store bitmap, generation, granularity and size of r (by r->id). */
int ov_state_update_disk_tracker (struct ov_state *st, const struct ov_disk_record *r);

/* ---- polls ---- */
struct ov_poll_record {
  int64_t id;
  int64_t disk_id;
  double started, finished;    /* unix time */
  const char *mode;            /* "full" | "incremental" | "quiet" */
  const char *tracker;         /* "bitmap" | "full" */
  const char *reason;          /* why full, or NULL */
  uint64_t dirty_bytes;
  uint64_t files_scanned, bytes_scanned, infected, errors;
  const char *sig_version;     /* NULL if the engine was not loaded */
  const char *status;          /* "ok" | "errors" */
};
/* Insert the poll row (inside the caller's transaction); sets p->id. */
int ov_state_add_poll (struct ov_state *st, struct ov_poll_record *p);
int ov_state_update_poll (struct ov_state *st, const struct ov_poll_record *p);
/* Polls of a disk, newest first; strings valid during the callback only. */
typedef int (*ov_poll_record_cb) (void *opaque, const struct ov_poll_record *p);
int ov_state_list_polls (struct ov_state *st, int64_t disk_id, ov_poll_record_cb cb, void *opaque);
/* 0 found, 1 not found, -1 error; strings in p are malloc'd: free with
 * ov_poll_record_clear. */
int ov_state_get_poll (struct ov_state *st, int64_t poll_id, struct ov_poll_record *p);
void ov_poll_record_clear (struct ov_poll_record *p);

/* ---- filesystems ---- */
struct ov_fs_record {
  int64_t id;
  int64_t disk_id;
  const char *label;           /* "" or "p2" */
  uint64_t offset, size;
  const char *type;
  const char *identity;        /* UUID / serial / superblock digest: a reformat changes it */
};
/* Find by (disk_id, label, offset); insert if absent.  Sets r->id; *changed
 * = true if it existed with another type/size/identity (then updated, same
 * id; its files are kept: call ov_state_clear_fs_files).  changed may be
 * NULL. */
int ov_state_put_fs (struct ov_state *st, struct ov_fs_record *r, bool *changed);
/* Forget every file of a filesystem (reformat, full poll). */
int ov_state_clear_fs_files (struct ov_state *st, int64_t fs_id);

/* ---- files ---- */
struct ov_file_key {
  int64_t fs_id;
  uint64_t inode;
  uint32_t attr_type;
  uint16_t attr_id;
};
struct ov_file_record {
  int64_t id;
  struct ov_file_key key;
  const char *stream;          /* NTFS alternate data stream name, or NULL */
  uint64_t size;
  bool orphan;
  uint8_t runs_digest[32];     /* digest of the run list (see ov_runs_digest) */
  uint8_t content_digest[32];  /* of resident content, all zero if none */
  uint32_t generation;         /* ov_file.generation */
  uint8_t meta_digest[32];     /* of mode, uid, gid, mtime, ctime (see
                                  ov_meta_digest): a "metadata" change */
  char **paths;                /* sorted */
  size_t npaths;
  const char *verdict;         /* "clean" | "infected" | "error" | "skipped" */
  const char *signature;
  const char *error;
  int64_t scanned_poll;
  int64_t changed_poll;
  const char *sig_version;
};
/* Insert or replace the file (by key) with its paths and runs (replaced,
 * never accumulated; the file keeps its id).  Refused before any write
 * (transaction intact): a size or a non-sparse run ending past INT64_MAX, a
 * path over 128 KiB, an unknown run kind.  All-zero digests are stored as
 * NULL and read back as zeros. */
int ov_state_put_file (struct ov_state *st, const struct ov_file_record *r,
                       const struct ov_run *runs, size_t nruns);
/* 0 found (r filled; strings valid until the next call on st), 1 not found. */
int ov_state_get_file (struct ov_state *st, const struct ov_file_key *key,
                       struct ov_file_record *r);
int ov_state_delete_file (struct ov_state *st, int64_t file_id);
/* Every file of a filesystem (strings valid during the callback only). */
typedef int (*ov_file_record_cb) (void *opaque, const struct ov_file_record *r);
int ov_state_list_fs_files (struct ov_state *st, int64_t fs_id, ov_file_record_cb cb, void *opaque);
/* What a poll needs to classify a walked file, without its paths: one
 * sequential read of a filesystem's files (a point query per file costs
 * ~10x more). */
struct ov_file_summary {
  int64_t id;
  struct ov_file_key key;
  uint64_t size;
  uint8_t runs_digest[32], content_digest[32], meta_digest[32];
  uint8_t paths_digest[32];    /* ov_paths_digest of its paths */
  uint32_t generation;         /* a different one: the inode was reused */
  bool last_scan_failed;       /* verdict "error" */
};
typedef int (*ov_file_summary_cb) (void *opaque, const struct ov_file_summary *f);
int ov_state_list_fs_summaries (struct ov_state *st, int64_t fs_id,
                                ov_file_summary_cb cb, void *opaque);

/* Files whose runs overlap disk bytes [offset, offset+length) — the reverse
 * map.  Each file at most once per call. */
int ov_state_files_overlapping (struct ov_state *st, int64_t fs_id,
                                uint64_t offset, uint64_t length,
                                ov_file_record_cb cb, void *opaque);
/* Number of files and of run pieces (for status and benchmarks). */
int ov_state_count_files (struct ov_state *st, int64_t disk_id, uint64_t *files, uint64_t *runs);

/* ---- directories (incremental ext metadata: fsmap/ext_incremental.h) ----
 * dirs(fs_id, inode, path BLOB, entries BLOB, runs BLOB) UNIQUE (fs_id,
 * inode): every directory of a filesystem as the last poll saw it (its
 * listing and the disk blocks it owns).  Cleared with the fs's files. */
/* Every directory of a filesystem; cb owns d (ov_dir_clear + free).  A row
 * that does not decode is an error naming it. */
int ov_state_list_dirs (struct ov_state *st, int64_t fs_id,
                        int (*cb) (void *opaque, struct ov_dir *d), void *opaque);
/* Insert or replace by (fs_id, d->inode). */
int ov_state_put_dir (struct ov_state *st, int64_t fs_id, const struct ov_dir *d);
int ov_state_delete_dir (struct ov_state *st, int64_t fs_id, uint64_t inode);
int ov_state_clear_fs_dirs (struct ov_state *st, int64_t fs_id);
/* Stored run pieces of files overlapping [offset, offset+length): each
 * piece's [start, end) and its file's inode (a piece may be reported more
 * than once if it is a hit of several queries). */
typedef int (*ov_run_piece_cb) (void *opaque, uint64_t inode, uint64_t start,
                                uint64_t end);
int ov_state_runs_overlapping (struct ov_state *st, int64_t fs_id,
                               uint64_t offset, uint64_t length,
                               ov_run_piece_cb cb, void *opaque);

/* ---- per-poll dirty-file list ---- */
struct ov_poll_file {
  const char *path;            /* raw guest bytes (quote before printing) */
  const char *fs_label;
  uint64_t inode;
  uint64_t size;
  const char *change;          /* "new" | "modified" | "deleted" | "renamed" | "metadata" */
  const char *verdict;         /* "clean" | "infected" | "error" | "skipped" | "none" */
  const char *signature;
  const char *error;
};
int ov_state_add_poll_file (struct ov_state *st, int64_t poll_id, const struct ov_poll_file *f);
typedef int (*ov_poll_file_cb) (void *opaque, const struct ov_poll_file *f);
int ov_state_list_poll_files (struct ov_state *st, int64_t poll_id, ov_poll_file_cb cb, void *opaque);

/* SHA-256 over the run list (file_offset, disk_offset, length, kind of every
 * run, little-endian): equal digests = same placement on disk. */
void ov_runs_digest (const struct ov_run *runs, size_t nruns, uint8_t out[32]);

/* SHA-256 over the sorted set of paths (each with its NUL). */
void ov_paths_digest (char *const *paths, size_t npaths, uint8_t out[32]);

/* SHA-256 over a file's mode, uid, gid, mtime, ctime (with nanoseconds),
 * little-endian. */
void ov_meta_digest (const struct ov_file *f, uint8_t out[32]);

#endif
