/* ovscan — the point-in-time view of a running VM's disk: fleece node,
 * bitmap switch + backup job in one transaction, NBD export; and its
 * teardown, which is also the cleanup of a killed run (see live.h).
 *
 * Teardown order is forced by QEMU's references: the export holds the
 * fleece node, the job holds it as its target, the node holds the file.
 * QEMU removes exports and jobs asynchronously, so each removal is
 * followed by polling its query until the object is gone (bounded by the
 * connection's timeout): events could be missed by a monitor that
 * connected later (the cleanup of a killed run).
 *
 * Cost for the guest: blockdev-add of the fleece node opens one small
 * qcow2; the transaction drains the disk's in-flight I/O once (the pause
 * the guest sees); from then until the teardown, the first write to each
 * cluster also copies the old cluster into the fleece file.
 */
#include "backends/live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"

static json_object *
str_args (const char *key, const char *value)
{
  json_object *a = json_object_new_object ();
  json_object_object_add (a, key, json_object_new_string (value));
  return a;
}

/* Does the array returned by COMMAND hold an entry whose KEY is ID?
 * 1 yes, 0 no, -1 error. */
static int
listed (struct ov_qmp *q, const char *command, json_object *args,
        const char *key, const char *id)
{
  json_object *list = NULL;
  size_t i, n;
  int found = 0;

  if (ov_qmp_execute (q, command, args, &list) == -1)
    return -1;
  n = json_object_is_type (list, json_type_array)
    ? json_object_array_length (list) : 0;
  for (i = 0; i < n && !found; i++) {
    const char *v = ov_json_get_string (json_object_array_get_idx (list, i), key);
    found = v && strcmp (v, id) == 0;
  }
  json_object_put (list);
  return found;
}

static json_object *
flat_args (void)
{
  json_object *a = json_object_new_object ();
  json_object_object_add (a, "flat", json_object_new_boolean (1));
  return a;
}

/* Poll COMMAND until ID is no longer listed (at most ~30 s). */
static int
wait_gone (struct ov_qmp *q, const char *command, const char *key,
           const char *id)
{
  int i;

  for (i = 0; i < 1500; i++) {
    int r = listed (q, command, NULL, key, id);
    if (r <= 0)
      return r;
    usleep (20000);
  }
  ov_error ("%s is still listed by %s after 30 s", id, command);
  return -1;
}

static int
remove_export (struct ov_qmp *q, const struct ov_live_names *n, unsigned *removed)
{
  json_object *args;
  int r = listed (q, "query-block-exports", NULL, "id", n->export_id);

  if (r <= 0)
    return r;
  args = str_args ("id", n->export_id);
  json_object_object_add (args, "mode", json_object_new_string ("hard"));
  if (ov_qmp_execute (q, "block-export-del", args, NULL) == -1 &&
      ov_qmp_error_class (q) == NULL)
    return -1;
  (*removed)++;
  return wait_gone (q, "query-block-exports", "id", n->export_id);
}

static int
remove_job (struct ov_qmp *q, const struct ov_live_names *n, unsigned *removed)
{
  json_object *args;
  int r = listed (q, "query-jobs", NULL, "id", n->job_id);

  if (r <= 0)
    return r;
  args = str_args ("device", n->job_id);
  json_object_object_add (args, "force", json_object_new_boolean (1));
  /* A concluded job (auto-dismiss off, or it failed) only needs dismissing. */
  if (ov_qmp_execute (q, "block-job-cancel", args, NULL) == -1) {
    if (ov_qmp_error_class (q) == NULL)
      return -1;
    if (ov_qmp_execute (q, "job-dismiss", str_args ("id", n->job_id), NULL) == -1
        && ov_qmp_error_class (q) == NULL)
      return -1;
  }
  (*removed)++;
  return wait_gone (q, "query-jobs", "id", n->job_id);
}

static int
remove_node (struct ov_qmp *q, const struct ov_live_names *n, unsigned *removed)
{
  int r = listed (q, "query-named-block-nodes", flat_args (), "node-name",
                  n->fleece_node);

  if (r <= 0)
    return r;
  if (ov_qmp_execute (q, "blockdev-del", str_args ("node-name", n->fleece_node),
                      NULL) == -1)
    return -1;
  (*removed)++;
  return 0;
}

static int
remove_server (struct ov_qmp *q, const struct ov_live_names *n, unsigned *removed)
{
  struct stat sb;

  if (!n->own_server || lstat (n->nbd_socket, &sb) == -1)
    return 0;
  /* Our socket exists: the server on it is ours (one live poll per VM at
   * a time: the VM lock), from this poll or a killed one. */
  if (ov_qmp_execute (q, "nbd-server-stop", NULL, NULL) == 0)
    (*removed)++;
  else if (ov_qmp_error_class (q) == NULL)
    return -1;
  if (unlink (n->nbd_socket) == -1 && errno != ENOENT) {
    ov_error_errno (errno, "unlink %s", n->nbd_socket);
    return -1;
  }
  return 0;
}

int
ov_live_view_stop (struct ov_qmp *q, const struct ov_live_names *n,
                   unsigned *removed)
{
  unsigned count = 0;

  if (remove_export (q, n, &count) == -1 || remove_job (q, n, &count) == -1 ||
      remove_node (q, n, &count) == -1) {
    ov_error_prefix ("removing the point-in-time view %s", n->fleece_node);
    return -1;
  }
  if (unlink (n->fleece_file) == 0)
    count++;
  else if (errno != ENOENT) {
    ov_error_errno (errno, "unlink %s", n->fleece_file);
    return -1;
  }
  if (remove_server (q, n, &count) == -1) {
    ov_error_prefix ("stopping ovscan's NBD server");
    return -1;
  }
  if (removed)
    *removed = count;
  return 0;
}

int
ov_live_view_alive (struct ov_qmp *q, const struct ov_live_names *n)
{
  int r = listed (q, "query-block-exports", NULL, "id", n->export_id);
  if (r != 1)
    return r;
  return listed (q, "query-jobs", NULL, "id", n->job_id);
}

/* ---- start ---- */

static int
add_fleece_node (struct ov_qmp *q, const struct ov_live_names *n,
                 const struct ov_live_node *node)
{
  json_object *args = json_object_new_object ();
  json_object *file = json_object_new_object ();

  json_object_object_add (file, "driver", json_object_new_string ("file"));
  json_object_object_add (file, "filename", json_object_new_string (n->fleece_file));
  json_object_object_add (args, "driver", json_object_new_string ("qcow2"));
  json_object_object_add (args, "node-name", json_object_new_string (n->fleece_node));
  json_object_object_add (args, "file", file);
  json_object_object_add (args, "backing", json_object_new_string (node->node_name));
  return ov_qmp_execute (q, "blockdev-add", args, NULL);
}

static int
switch_and_freeze (struct ov_qmp *q, const struct ov_live_names *n,
                   const struct ov_live_node *node, const char *frozen,
                   const char *successor, uint32_t granularity)
{
  json_object *actions = json_object_new_array ();
  json_object *add = json_object_new_object ();
  json_object *backup = json_object_new_object ();
  json_object *args = json_object_new_object ();

  json_object_object_add (add, "node", json_object_new_string (node->node_name));
  json_object_object_add (add, "name", json_object_new_string (successor));
  json_object_object_add (add, "granularity", json_object_new_int64 (granularity));
  json_object_object_add (add, "persistent", json_object_new_boolean (1));
  json_object_array_add (actions, ov_qmp_action ("block-dirty-bitmap-add", add));
  if (frozen) {
    json_object *dis = json_object_new_object ();
    json_object_object_add (dis, "node", json_object_new_string (node->node_name));
    json_object_object_add (dis, "name", json_object_new_string (frozen));
    json_object_array_add (actions, ov_qmp_action ("block-dirty-bitmap-disable", dis));
  }
  json_object_object_add (backup, "job-id", json_object_new_string (n->job_id));
  json_object_object_add (backup, "device", json_object_new_string (node->node_name));
  json_object_object_add (backup, "target", json_object_new_string (n->fleece_node));
  json_object_object_add (backup, "sync", json_object_new_string ("none"));
  json_object_array_add (actions, ov_qmp_action ("blockdev-backup", backup));
  json_object_object_add (args, "actions", actions);
  return ov_qmp_execute (q, "transaction", args, NULL);
}

static int
start_server (struct ov_qmp *q, const struct ov_live_names *n)
{
  json_object *args, *addr, *data;

  if (!n->own_server)
    return 0;
  args = json_object_new_object ();
  addr = json_object_new_object ();
  data = json_object_new_object ();
  json_object_object_add (data, "path", json_object_new_string (n->nbd_socket));
  json_object_object_add (addr, "type", json_object_new_string ("unix"));
  json_object_object_add (addr, "data", data);
  json_object_object_add (args, "addr", addr);
  if (ov_qmp_execute (q, "nbd-server-start", args, NULL) == -1) {
    if (ov_qmp_error_class (q) && strstr (ov_last_error (), "already running"))
      ov_error_prefix ("this VM already runs an NBD server of its own (QEMU "
                       "has one per process): add the disk with "
                       "--nbd-socket SOCKET naming that server's unix socket");
    return -1;
  }
  return 0;
}

static int
add_export (struct ov_qmp *q, const struct ov_live_names *n, const char *frozen)
{
  json_object *args = json_object_new_object ();

  json_object_object_add (args, "type", json_object_new_string ("nbd"));
  json_object_object_add (args, "id", json_object_new_string (n->export_id));
  json_object_object_add (args, "node-name", json_object_new_string (n->fleece_node));
  json_object_object_add (args, "name", json_object_new_string (n->export_name));
  json_object_object_add (args, "writable", json_object_new_boolean (0));
  if (frozen) {
    json_object *bitmaps = json_object_new_array ();
    json_object_array_add (bitmaps, json_object_new_string (frozen));
    json_object_object_add (args, "bitmaps", bitmaps);
  }
  return ov_qmp_execute (q, "block-export-add", args, NULL);
}

/* QEMU 7.2's backup job fails the GUEST's write when it cannot copy the
 * old cluster into the fleece file (its copy-before-write filter is made
 * with on-cbw-error=break-guest-write, which blockdev-backup cannot
 * change).  So the view starts only if the fleece file can grow to the
 * whole disk (the worst case: the guest overwrites every cluster during the
 * poll), plus 1% for qcow2 metadata, unless OVSCAN_LIVE_RESERVE says how
 * many bytes the operator accepts as enough. */
static int
check_room (const struct ov_live_names *n, const struct ov_live_node *node)
{
  const char *env = getenv ("OVSCAN_LIVE_RESERVE");
  uint64_t need = node->virtual_size + node->virtual_size / 100, avail;
  struct statvfs sv;

  if (env && *env && ov_parse_size (env, &need) == -1) {
    ov_error_prefix ("OVSCAN_LIVE_RESERVE");
    return -1;
  }
  if (statvfs (n->dir, &sv) == -1) {
    ov_error_errno (errno, "statvfs %s", n->dir);
    return -1;
  }
  avail = (uint64_t) sv.f_bavail * sv.f_frsize;
  if (avail < need) {
    ov_error ("%s has %" PRIu64 " bytes free, the fleece file may need %"
              PRIu64 " (a guest write fails if its old data cannot be copied "
              "there): free space, set OVSCAN_LIVE_DIR elsewhere, or accept "
              "less with OVSCAN_LIVE_RESERVE=BYTES", n->dir, avail, need);
    return -1;
  }
  return 0;
}

int
ov_live_view_start (struct ov_qmp *q, const struct ov_live_names *n,
                    const struct ov_live_node *node, const char *frozen,
                    const char *successor, uint32_t granularity)
{
  char saved[4096];

  if (check_room (n, node) == -1 ||
      ov_live_create_fleece_file (n->fleece_file, node->virtual_size) == -1)
    return -1;
  if (add_fleece_node (q, n, node) == -1) {
    ov_error_prefix ("node %s: adding the fleece node", node->node_name);
    goto undo_file;
  }
  if (switch_and_freeze (q, n, node, frozen, successor, granularity) == -1) {
    ov_error_prefix ("node %s: transaction (add dirty bitmap %s%s%s, start "
                     "the point-in-time view)", node->node_name, successor,
                     frozen ? ", disable " : "", frozen ? frozen : "");
    goto undo_file;
  }
  if (start_server (q, n) == -1 || add_export (q, n, frozen) == -1) {
    ov_error_prefix ("node %s: exporting the point-in-time view",
                     node->node_name);
    goto undo_switch;
  }
  return 0;

 undo_switch:
  snprintf (saved, sizeof saved, "%s", ov_last_error ());
  if (ov_live_view_stop (q, n, NULL) == 0) {
    if (frozen)
      ov_live_bitmap_merge_back (q, node->node_name, frozen, successor);
    else
      ov_live_bitmap_remove (q, node->node_name, successor);
  }
  ov_error ("%s", saved);
  return -1;
 undo_file:
  snprintf (saved, sizeof saved, "%s", ov_last_error ());
  ov_live_view_stop (q, n, NULL);
  ov_error ("%s", saved);
  return -1;
}
