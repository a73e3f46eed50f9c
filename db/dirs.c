/* ovscan — directory state of a filesystem (incremental ext metadata) and
 * the run pieces of the reverse map.
 *
 * A directory row holds its walk path (no fs label), its listing and the
 * disk ranges it owns, as two BLOBs:
 *   entries: per entry  u64 inode, u8 type, u32 name length, name bytes
 *   runs:    per range  u64 disk offset, u64 length
 * (little-endian).  Decoding checks every length against the BLOB's size;
 * a row that does not decode is an error, never a partial directory.
 * Cost: one row per directory; ov_state_list_dirs is one sequential read.
 */
#include "db/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"

#define MAX_ENTRIES (1u << 24)

static void
put_le (unsigned char *p, uint64_t v, unsigned n)
{
  unsigned i;
  for (i = 0; i < n; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

static uint64_t
get_le (const unsigned char *p, unsigned n)
{
  uint64_t v = 0;
  unsigned i;
  for (i = 0; i < n; i++)
    v |= (uint64_t) p[i] << (8 * i);
  return v;
}

static unsigned char *
encode_entries (const struct ov_dir *d, size_t *len)
{
  size_t n = 1, i;
  unsigned char *buf, *p;

  for (i = 0; i < d->nentries; i++)
    n += 13 + strlen (d->entries[i].name);
  if ((buf = p = malloc (n)) == NULL) {
    ov_error_errno (errno, "malloc");
    return NULL;
  }
  for (i = 0; i < d->nentries; i++) {
    size_t l = strlen (d->entries[i].name);
    put_le (p, d->entries[i].inode, 8);
    p[8] = d->entries[i].type;
    put_le (p + 9, l, 4);
    memcpy (p + 13, d->entries[i].name, l);
    p += 13 + l;
  }
  *len = (size_t) (p - buf);
  return buf;
}

static unsigned char *
encode_runs (const struct ov_dir *d, size_t *len)
{
  unsigned char *buf = malloc (d->nruns * 16 + 1);
  size_t i;

  if (buf == NULL) {
    ov_error_errno (errno, "malloc");
    return NULL;
  }
  for (i = 0; i < d->nruns; i++) {
    put_le (buf + 16 * i, d->runs[i].disk_offset, 8);
    put_le (buf + 16 * i + 8, d->runs[i].length, 8);
  }
  *len = d->nruns * 16;
  return buf;
}

int
ov_state_put_dir (struct ov_state *st, int64_t fs_id, const struct ov_dir *d)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s = NULL;
  unsigned char *e = NULL, *r = NULL;
  size_t elen = 0, rlen = 0;
  int ret = -1;

  if ((e = encode_entries (d, &elen)) == NULL
      || (r = encode_runs (d, &rlen)) == NULL)
    goto out;
  if (elen > INT32_MAX || rlen > INT32_MAX) {
    ov_error ("%s: fs %" PRId64 ": directory inode %" PRIu64 " too large",
              st->path, fs_id, d->inode);
    goto out;
  }
  s = ov_db_stmt (st, OV_STMT_PUT_DIR,
                  "INSERT INTO dirs (fs_id, inode, path, entries, runs)"
                  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (fs_id, inode)"
                  " DO UPDATE SET path = ?3, entries = ?4, runs = ?5");
  if (s == NULL)
    goto out;
  sqlite3_bind_int64 (s, 1, fs_id);
  ov_db_bind_u64 (s, 2, d->inode);
  sqlite3_bind_blob (s, 3, d->path, (int) strlen (d->path), SQLITE_STATIC);
  sqlite3_bind_blob (s, 4, e, (int) elen, SQLITE_STATIC);
  sqlite3_bind_blob (s, 5, r, (int) rlen, SQLITE_STATIC);
  ret = ov_db_step_done (st, s, "store a directory");
 out:
  free (e);
  free (r);
  return ret;
}

int
ov_state_delete_dir (struct ov_state *st, int64_t fs_id, uint64_t inode)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s =
    ov_db_stmt (st, OV_STMT_DELETE_DIR,
                "DELETE FROM dirs WHERE fs_id = ?1 AND inode = ?2");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, fs_id);
  ov_db_bind_u64 (s, 2, inode);
  return ov_db_step_done (st, s, "forget a directory");
}

int
ov_state_clear_fs_dirs (struct ov_state *st, int64_t fs_id)
{
  CLEANUP_STMT_RESET sqlite3_stmt *s =
    ov_db_stmt (st, OV_STMT_CLEAR_FS_DIRS, "DELETE FROM dirs WHERE fs_id = ?1");
  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, fs_id);
  return ov_db_step_done (st, s, "forget the directories of a filesystem");
}

/* Decode one row into a new ov_dir; NULL + ov_error. */
static struct ov_dir *
decode (struct ov_state *st, int64_t fs_id, sqlite3_stmt *s)
{
  struct ov_dir *d = calloc (1, sizeof *d);
  const unsigned char *e = sqlite3_column_blob (s, 2);
  size_t elen = (size_t) sqlite3_column_bytes (s, 2);
  const unsigned char *r = sqlite3_column_blob (s, 3);
  size_t rlen = (size_t) sqlite3_column_bytes (s, 3);
  const void *path = sqlite3_column_blob (s, 1);
  size_t plen = (size_t) sqlite3_column_bytes (s, 1);
  size_t pos = 0, cap = 0, i;

  if (d == NULL)
    goto nomem;
  d->inode = ov_db_column_u64 (s, 0);
  if ((d->path = malloc (plen + 1)) == NULL)
    goto nomem;
  if (plen)
    memcpy (d->path, path, plen);
  d->path[plen] = '\0';
  if (memchr (d->path, '\0', plen) || rlen % 16 != 0)
    goto bad;
  while (pos < elen) {
    uint64_t l;
    if (elen - pos < 13 || d->nentries >= MAX_ENTRIES)
      goto bad;
    l = get_le (e + pos + 9, 4);
    if (l == 0 || l > elen - pos - 13 || memchr (e + pos + 13, '\0', l))
      goto bad;
    if (ov_vector_reserve ((void **) &d->entries, &cap, d->nentries + 1,
                           sizeof *d->entries) == -1)
      goto fail;
    d->entries[d->nentries].inode = get_le (e + pos, 8);
    d->entries[d->nentries].type = e[pos + 8];
    if ((d->entries[d->nentries].name = strndup ((const char *) e + pos + 13, l))
        == NULL)
      goto nomem;
    d->nentries++;
    pos += 13 + l;
  }
  d->nruns = rlen / 16;
  if ((d->runs = calloc (d->nruns ? d->nruns : 1, sizeof *d->runs)) == NULL)
    goto nomem;
  for (i = 0; i < d->nruns; i++) {
    d->runs[i].disk_offset = get_le (r + 16 * i, 8);
    d->runs[i].length = get_le (r + 16 * i + 8, 8);
    d->runs[i].kind = OV_RUN_DATA;
    if (d->runs[i].length > UINT64_MAX - d->runs[i].disk_offset)
      goto bad;
  }
  return d;

 bad:
  ov_error ("%s: fs %" PRId64 ": directory inode %" PRIu64 ": stored state"
            " does not decode", st->path, fs_id, d->inode);
  goto fail;
 nomem:
  ov_error_errno (ENOMEM, "%s: loading directories", st->path);
 fail:
  if (d) {
    ov_dir_clear (d);
    free (d);
  }
  return NULL;
}

int
ov_state_list_dirs (struct ov_state *st, int64_t fs_id,
                    int (*cb) (void *opaque, struct ov_dir *d), void *opaque)
{
  CLEANUP_STMT_FINALIZE sqlite3_stmt *s =
    ov_db_prepare (st, "SELECT inode, path, entries, runs FROM dirs"
                   " WHERE fs_id = ?1");
  int rc;

  if (s == NULL)
    return -1;
  sqlite3_bind_int64 (s, 1, fs_id);
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    struct ov_dir *d = decode (st, fs_id, s);
    if (d == NULL || cb (opaque, d) == -1)
      return -1;
  }
  if (rc != SQLITE_DONE)
    return ov_db_fail (st, rc, "list directories");
  return 0;
}

struct piece { uint64_t inode, start, end; };
DEFINE_VECTOR (piece_vector, struct piece);

int
ov_state_runs_overlapping (struct ov_state *st, int64_t fs_id,
                           uint64_t offset, uint64_t length,
                           ov_run_piece_cb cb, void *opaque)
{
  piece_vector v = VECTOR_INIT;
  size_t i;
  int rc, ret = 0;

  {
    CLEANUP_STMT_RESET sqlite3_stmt *s =
      ov_db_stmt (st, OV_STMT_RUNS_OVERLAP,
                  "SELECT f.inode, r.disk_start, r.disk_end FROM runs r"
                  " JOIN files f ON f.id = r.file_id WHERE r.fs_id = ?1"
                  " AND r.disk_start > ?2 AND r.disk_start < ?3"
                  " AND r.disk_end > ?4");
    if (s == NULL)
      return -1;
    if (!ov_db_bind_overlap (s, fs_id, offset, length))
      return 0;
    while ((rc = sqlite3_step (s)) == SQLITE_ROW)
      if (piece_vector_append (&v, (struct piece) {
            .inode = ov_db_column_u64 (s, 0),
            .start = ov_db_column_u64 (s, 1),
            .end = ov_db_column_u64 (s, 2) }) == -1) {
        free (v.ptr);
        return -1;
      }
    if (rc != SQLITE_DONE) {
      free (v.ptr);
      return ov_db_fail (st, rc, "reverse-map pieces");
    }
  }
  for (i = 0; i < v.len && ret == 0; i++)
    ret = cb (opaque, v.ptr[i].inode, v.ptr[i].start, v.ptr[i].end);
  free (v.ptr);
  return ret;
}
