/* ovscan — layer rotation of a running VM and its crash recovery
 * (cow/live.h has why the steps are in this order).
 *
 * Rotation (freeze QEMU's top as TOP.layer-M, new empty top over it):
 *   1. link (TOP, TOP.layer-M)                 same inode: QEMU unaffected
 *   2. qemu-img create -u TOP.ovscan-new -b ./TOP.layer-M, fsync
 *   3. blockdev-add ovscan-TAG-fM (file, TOP.ovscan-new) and ovscan-TAG-M
 *      (qcow2, backing null)
 *   4. blockdev-snapshot node=QEMU's top overlay=ovscan-TAG-M: QEMU flushes
 *      the old top, reopens it read-only (by the name TOP: still its
 *      file) and moves every parent (device, NBD export) to the new node
 *   5. rename (TOP.ovscan-new, TOP), fsync of the directory
 * Fault points (OVSCAN_FAULT): live-rotate-after-link, -after-create,
 * -after-add, -after-snapshot.
 *
 * What a kill leaves, and what the next ov_cow_live_recover does:
 *   after 1      TOP.layer-M is a second name of TOP: unlinked (cow/rotate.c)
 *   after 2      + TOP.ovscan-new, attached nowhere, empty: removed
 *   after 3      + unattached nodes ovscan-TAG-M/-fM: blockdev-del, then as 2
 *   after 4      QEMU writes TOP.ovscan-new; TOP still names the old top:
 *                the rename is finished (QEMU's top is ovscan-TAG-M and the
 *                file's header names ./TOP.layer-M).  Until then a VM
 *                restarted from its configuration would not see the writes
 *                since step 4: if the VM was restarted meanwhile (QEMU's top
 *                is not ours) and TOP.ovscan-new holds data, it is kept as
 *                TOP.ovscan-orphan-TIME and said, never deleted.
 * A block-commit job a killed merge left is waited for (then the merged
 * layer, which no header names any more, is unlinked by cow/rotate.c's
 * recovery), and every ovscan-TAG-* node nothing uses is deleted.
 *
 * Cost: a rotation is one qemu-img create (~20 ms), 3 QMP commands and two
 * directory fsyncs; QEMU's flush of the old top is the guest-visible part.
 */
#include "cow/live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/qemu_img.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fault.h"
#include "common/quote.h"
#include "cow/internal.h"

static json_object *
str_obj (const char *k1, const char *v1, const char *k2, const char *v2)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, k1, json_object_new_string (v1));
  if (k2)
    json_object_object_add (o, k2, json_object_new_string (v2));
  return o;
}

/* Does PATH hold any cluster of its own (qemu-img map, depth 0)? */
static int
holds_data (const char *path, bool *data)
{
  const char *args[] = { "map", "-U", "-f", "qcow2", "--output=json", "--",
                         path, NULL };
  struct ov_qemu_img_result r;
  json_object *map;
  size_t i, n;

  *data = true;                  /* when in doubt: keep it */
  if (ov_qemu_img_run (args, 0, &r) == -1)
    return -1;
  if (r.status != 0 || (map = json_tokener_parse (r.out)) == NULL) {
    ov_error ("%s: qemu-img map failed", path);
    ov_qemu_img_result_free (&r);
    return -1;
  }
  ov_qemu_img_result_free (&r);
  *data = false;
  n = json_object_is_type (map, json_type_array) ? json_object_array_length (map) : 0;
  for (i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx (map, i);
    if (ov_json_get_u63 (e, "depth") == 0 && ov_json_get_bool (e, "present"))
      *data = true;
  }
  json_object_put (map);
  return 0;
}

static int
note_orphan (char **note, const char *orphan, const char *top)
{
  char *s;
  if (note == NULL)
    return 0;
  if (asprintf (&s, "%s holds writes the VM made after a rotation that a "
                "killed ovscan did not finish, and the VM was restarted "
                "meanwhile from %s without them: kept for inspection",
                orphan, top) == -1) {
    ov_error ("out of memory");
    return -1;
  }
  free (*note);
  *note = s;
  return 0;
}

/* A temporary top left by a killed rotation (steps 2-4). */
static int
recover_temp_top (struct ov_cow_live *lv, const char *tmp, char **note)
{
  struct ov_cow_qchain qc;
  struct ov_image_info info;
  long m;
  char own[32];
  bool attached, data;
  int r;

  if (access (tmp, F_OK) == -1)
    return 0;
  if (ov_cow_info_shared (tmp, "qcow2", &info) == -1)
    return -1;
  m = -1;
  if (info.backing_filename && strncmp (info.backing_filename, "./", 2) == 0) {
    CLEANUP_FREE char *full = NULL;
    CLEANUP_FREE char *dir = ov_cow_dir_of (lv->top);
    if (dir && asprintf (&full, "%s/%s", dir, info.backing_filename + 2) != -1)
      m = ov_cow_own_number (lv->top, full);
    else
      full = NULL;
  }
  ov_image_info_free (&info);
  if (ov_cow_live_qchain (lv, &qc) == -1)
    return -1;
  attached = false;
  if (m > 0) {
    ov_cow_live_node_name (lv, (unsigned) m, false, own);
    attached = qc.len > 0 && strcmp (qc.v[0].name, own) == 0;
  }
  ov_cow_qchain_free (&qc);
  if (attached) {                /* killed after the snapshot: finish */
    if (rename (tmp, lv->top) == -1) {
      ov_error_errno (errno, "%s: finishing an interrupted rotation: rename %s",
                      lv->top, tmp);
      return -1;
    }
    return ov_cow_fsync_dir_of (lv->top) == -1 ? -1 : 1;
  }
  if ((r = holds_data (tmp, &data)) == -1)
    return -1;
  if (data) {                    /* written once, then the VM restarted */
    CLEANUP_FREE char *orphan = NULL;
    if (asprintf (&orphan, "%s.ovscan-orphan-%lld", lv->top,
                  (long long) time (NULL)) == -1) {
      ov_error ("out of memory");
      return -1;
    }
    if (rename (tmp, orphan) == -1) {
      ov_error_errno (errno, "%s: rename to %s", tmp, orphan);
      return -1;
    }
    if (note_orphan (note, orphan, lv->top) == -1)
      return -1;
  }
  return 1;                      /* not attached: the file-level recovery drops it */
}

/* Wait until job ID is gone (auto-dismissed) or dismiss it when concluded. */
static int
wait_job_gone (struct ov_cow_live *lv, const char *id, unsigned seconds)
{
  unsigned i;

  for (i = 0; i < seconds * 10; i++) {
    json_object *jobs = NULL;
    size_t k, n;
    const char *status = NULL;

    if (ov_qmp_execute (lv->q, "query-jobs", NULL, &jobs) == -1)
      return -1;
    n = json_object_is_type (jobs, json_type_array) ? json_object_array_length (jobs) : 0;
    for (k = 0; k < n; k++) {
      json_object *j = json_object_array_get_idx (jobs, k);
      const char *jid = ov_json_get_string (j, "id");
      if (jid && strcmp (jid, id) == 0)
        status = ov_json_get_string (j, "status");
    }
    if (status == NULL) {
      json_object_put (jobs);
      return 0;
    }
    if (strcmp (status, "concluded") == 0) {
      json_object_put (jobs);
      if (ov_qmp_execute (lv->q, "job-dismiss", str_obj ("id", id, NULL, NULL),
                          NULL) == -1)
        return -1;
      continue;
    }
    json_object_put (jobs);
    {
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  }
  ov_error ("%s: job %s still runs after %u s", lv->top, id, seconds);
  return -1;
}

static int
delete_own_orphans (struct ov_cow_live *lv)
{
  char prefix[32];
  int round;

  snprintf (prefix, sizeof prefix, OV_LIVE_PREFIX "%s-", lv->names.tag);
  /* Format nodes first; their file nodes become orphans after them. */
  for (round = 0; round < 3; round++) {
    char **names;
    size_t i;
    if (ov_cow_live_orphans (lv, prefix, &names) == -1)
      return -1;
    if (names[0] == NULL) {
      ov_cow_live_strv_free (names);
      return 0;
    }
    for (i = 0; names[i]; i++)
      if (ov_cow_live_del_node (lv, names[i]) == -1) {
        ov_cow_live_strv_free (names);
        return -1;
      }
    ov_cow_live_strv_free (names);
  }
  return 0;
}

int
ov_cow_live_recover (struct ov_cow_live *lv, char **note,
                     struct ov_cow_chain *chain)
{
  CLEANUP_FREE char *tmp = ov_cow_temp_top (lv->top);
  bool changed;

  if (note)
    *note = NULL;
  if (tmp == NULL)
    return -1;
  if (wait_job_gone (lv, lv->job_id, 3600) == -1 ||
      recover_temp_top (lv, tmp, note) == -1 ||
      delete_own_orphans (lv) == -1 ||
      ov_cow_recover_files (lv->top, true, &changed, chain) == -1) {
    ov_error_prefix ("%s: recovering an interrupted rotation or merge", lv->top);
    return -1;
  }
  return 0;
}

static int
add_nodes (struct ov_cow_live *lv, unsigned n, const char *tmp)
{
  char node[32], file[32];
  json_object *args;

  ov_cow_live_node_name (lv, n, false, node);
  ov_cow_live_node_name (lv, n, true, file);
  args = str_obj ("driver", "file", "node-name", file);
  json_object_object_add (args, "filename", json_object_new_string (tmp));
  if (ov_qmp_execute (lv->q, "blockdev-add", args, NULL) == -1)
    return -1;
  args = str_obj ("driver", "qcow2", "node-name", node);
  json_object_object_add (args, "file", json_object_new_string (file));
  json_object_object_add (args, "backing", NULL);   /* JSON null */
  if (ov_qmp_execute (lv->q, "blockdev-add", args, NULL) == -1) {
    ov_cow_live_del_node (lv, file);
    return -1;
  }
  return 0;
}

/* An empty top at PATH over BACKING (error messages name IMAGE).  The
 * rotation and ov_cow_live_top_empty's probe both use it: the quiet check
 * compares file sizes, so both must be created with the same options. */
static int
create_empty_top (const char *image, const char *path, const char *backing,
                  uint64_t vsize)
{
  char size[32];
  const char *args[] = { "create", "-q", "-f", "qcow2", "-u",
                         "-o", "extended_l2=on,cluster_size=128k",
                         "-b", backing, "-F", "qcow2", "--", path, size, NULL };

  snprintf (size, sizeof size, "%" PRIu64, vsize);
  return ov_cow_qemu_img (image, args);
}

static int
create_top (const char *top, const char *tmp, const char *backing,
            uint64_t vsize)
{
  struct stat sb;

  if (stat (top, &sb) == -1) {
    ov_error_errno (errno, "%s", top);
    return -1;
  }
  if (create_empty_top (top, tmp, backing, vsize) == -1)
    return -1;
  if (chmod (tmp, sb.st_mode & 07777) == -1 ||
      chown (tmp, sb.st_uid, sb.st_gid) == -1) {
    ov_error_errno (errno, "%s: copy owner and mode of %s", tmp, top);
    return -1;
  }
  return ov_cow_fsync_file (tmp);
}

int
ov_cow_live_rotate (struct ov_cow_live *lv, const struct ov_cow_qchain *qc,
                    unsigned n, uint64_t vsize)
{
  CLEANUP_FREE char *frozen = ov_cow_layer_path (lv->top, n);
  CLEANUP_FREE char *tmp = ov_cow_temp_top (lv->top);
  CLEANUP_FREE char *backing = frozen ? ov_cow_relative_backing (frozen) : NULL;
  char node[32], file[32];
  json_object *args;

  if (frozen == NULL || tmp == NULL || backing == NULL)
    return -1;
  if (qc->len == 0) {
    ov_error ("%s: the VM has no chain to rotate", lv->top);
    return -1;
  }
  ov_cow_live_node_name (lv, n, false, node);
  ov_cow_live_node_name (lv, n, true, file);
  if (unlink (tmp) == -1 && errno != ENOENT) {
    ov_error_errno (errno, "%s: unlink", tmp);
    return -1;
  }
  if (link (lv->top, frozen) == -1) {
    ov_error_errno (errno, "%s: freeze as %s", lv->top, frozen);
    return -1;
  }
  if (ov_cow_fsync_dir_of (lv->top) == -1)
    goto undo_files;
  ov_fault_point ("live-rotate-after-link");
  if (create_top (lv->top, tmp, backing, vsize) == -1)
    goto undo_files;
  ov_fault_point ("live-rotate-after-create");
  if (add_nodes (lv, n, tmp) == -1)
    goto undo_files;
  ov_fault_point ("live-rotate-after-add");
  args = str_obj ("node", qc->v[0].name, "overlay", node);
  if (ov_qmp_execute (lv->q, "blockdev-snapshot", args, NULL) == -1) {
    if (ov_qmp_error_class (lv->q) == NULL)
      return -1;                 /* no answer: attached or not, recovery tells */
    ov_cow_live_del_node (lv, node);
    ov_cow_live_del_node (lv, file);
    goto undo_files;
  }
  ov_fault_point ("live-rotate-after-snapshot");
  if (rename (tmp, lv->top) == -1) {
    ov_error_errno (errno, "%s: rename to %s (the next poll finishes it)", tmp,
                    lv->top);
    return -1;
  }
  if (ov_cow_fsync_dir_of (lv->top) == -1)
    return -1;
  return 0;
 undo_files:                     /* QEMU still writes TOP (= frozen) */
  ov_error_prefix ("%s: rotation to %s", lv->top, frozen);
  unlink (tmp);
  unlink (frozen);
  return -1;
}

int
ov_cow_live_top_empty (struct ov_cow_live *lv, const struct ov_cow_chain *dc)
{
  CLEANUP_FREE char *probe = NULL;
  CLEANUP_FREE char *want = NULL;
  CLEANUP_FREE char *rel = NULL;
  unsigned newest = ov_cow_newest_number (dc);
  struct stat top_sb, probe_sb;
  int r;

  if (newest == 0)
    return 0;                    /* TOP is not a top ovscan created */
  if ((want = ov_cow_layer_path (lv->top, newest)) == NULL ||
      (rel = ov_cow_relative_backing (want)) == NULL)
    return -1;
  if (dc->layers[0].backing == NULL || strcmp (dc->layers[0].backing, rel) != 0)
    return 0;
  if (asprintf (&probe, "%s/ovscan-%s-empty.qcow2", lv->names.dir,
                lv->names.tag) == -1) {
    probe = NULL;
    ov_error ("out of memory");
    return -1;
  }
  r = create_empty_top (probe, probe, rel, dc->layers[0].virtual_size);
  if (r == 0 && stat (probe, &probe_sb) == -1) {
    ov_error_errno (errno, "%s", probe);
    r = -1;
  }
  unlink (probe);
  if (r == -1)
    return -1;
  if (stat (lv->top, &top_sb) == -1) {
    ov_error_errno (errno, "%s", lv->top);
    return -1;
  }
  return top_sb.st_size == probe_sb.st_size;
}
