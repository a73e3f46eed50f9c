/* ovscan — detections: every (disk, filesystem, guest path, signature)
 * ovscan ever found infected, with when and by which poll it was first and
 * last seen, and whether it is gone (cleared).
 *
 * Polls feed the table through triggers on poll_files (created by the
 * schema step db/schema_operations.c): no poll code is involved, and a poll
 * that is rolled back leaves nothing.  The rolling rescan
 * (scanner/rescan.c) records its finds with ov_detection_record.
 */
#ifndef OVSCAN_DB_DETECTIONS_H
#define OVSCAN_DB_DETECTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct ov_state;

/* The triggers' SQL (also for a later step that rebuilds poll_files).
 * Insert or refresh on an infected poll_files row; clear on a row of the
 * same path that is deleted, or scanned clean. */
#define OV_DB_DETECTION_TRIGGERS \
  "CREATE TRIGGER IF NOT EXISTS detections_from_poll_files" \
  " AFTER INSERT ON poll_files" \
  " WHEN NEW.verdict = 'infected' AND NEW.signature IS NOT NULL" \
  " BEGIN" \
  "  INSERT INTO detections (disk_id, fs_label, path, inode, signature," \
  "   first_seen, last_seen, first_poll, last_poll, found_by)" \
  "  SELECT p.disk_id, NEW.fs_label, NEW.path, NEW.inode, NEW.signature," \
  "   p.started, p.started, p.id, p.id, 'poll' FROM polls p WHERE p.id = NEW.poll_id" \
  "  ON CONFLICT (disk_id, fs_label, path, signature) DO UPDATE SET" \
  "   last_seen = excluded.last_seen, last_poll = excluded.last_poll," \
  "   inode = excluded.inode, cleared_poll = NULL;" \
  " END;" \
  "CREATE TRIGGER IF NOT EXISTS detections_cleared" \
  " AFTER INSERT ON poll_files" \
  " WHEN NEW.change = 'deleted' OR NEW.verdict = 'clean'" \
  " BEGIN" \
  "  UPDATE detections SET cleared_poll = NEW.poll_id" \
  "   WHERE cleared_poll IS NULL AND fs_label = NEW.fs_label AND path = NEW.path" \
  "   AND disk_id = (SELECT disk_id FROM polls WHERE id = NEW.poll_id);" \
  " END;"

struct ov_detection_row {
  int64_t id;
  int64_t disk_id;
  const char *disk;            /* disk name (listing only) */
  const char *fs_label;        /* "" or "p2" */
  const char *path;            /* raw guest bytes: quote before printing */
  uint64_t inode;
  const char *signature;
  double first_seen, last_seen;   /* unix time */
  int64_t first_poll, last_poll;  /* polls.id; for a rescan find, the disk's
                                     last committed poll (whose state it read) */
  const char *found_by;        /* "poll" | "rescan" */
  int64_t cleared_poll;        /* 0 while the file is still there */
};

/* Insert, or refresh last_seen/last_poll/inode of, the detection with the
 * same (disk, fs_label, path, signature); cleared again = present again.
 * found_by of a new row is d->found_by.  0 or -1 + ov_error. */
int ov_detection_record (struct ov_state *st, const struct ov_detection_row *d);

/* 1 if (disk_id, fs_label, path, signature) is a recorded detection that is
 * still present (not cleared), 0 if not, -1 + ov_error. */
int ov_detection_is_known (struct ov_state *st, int64_t disk_id,
                           const char *fs_label, const char *path,
                           const char *signature);

/* Detections of one disk (disk_id > 0) or of every disk (0), ordered by
 * disk name, then last_seen; strings valid during the callback only.  A
 * callback returning -1 stops the listing (returned as -1, no error set). */
typedef int (*ov_detection_cb) (void *opaque, const struct ov_detection_row *d);
int ov_detections_list (struct ov_state *st, int64_t disk_id,
                        ov_detection_cb cb, void *opaque);

/* Detections of a disk: all and still present (cleared_poll NULL). */
int ov_detections_count (struct ov_state *st, int64_t disk_id,
                         uint64_t *total, uint64_t *present);

#endif
