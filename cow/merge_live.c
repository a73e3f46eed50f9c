/* ovscan — merge-down of a running VM's covered frozen layers by
 * block-commit (cow/live.h; offline: cow/rotate.c ov_cow_merge_down).
 *
 * One merge of frozen layer B into the layer A below it (X is the layer
 * above B, the top or another frozen layer):
 *   1. block-commit device=top top-node=B base-node=A
 *      backing-file="./A" (X's header names A by ovscan's relative name,
 *      never by QEMU's idea of A's file name), job ovscan-cm-TAG; wait for
 *      BLOCK_JOB_COMPLETED (QEMU drops B from the chain when it succeeds)
 *   2. blockdev-del B's node and B's file node if nothing uses them (a
 *      node the monitor added stays open otherwise)
 *   3. unlink B, fsync the directory
 * Fault points live-merge-during-job (the job started, ovscan not waiting)
 * and live-merge-after-commit (between 1 and 2).  A kill during 1
 * leaves the job running in QEMU: the next recovery waits for it; after 1
 * no header names B: the file-level recovery unlinks it.
 *
 * Which pair: the lowest pair of covered frozen layers (A, B) whose commit
 * is safe while the VM runs: A (reopened read-write) and X (its header is
 * rewritten; reopened read-write unless it is the top) must each have a
 * file node that QEMU will not reopen under a stale name: one of ovscan's
 * own file nodes (ovscan-TAG-fM, explicit, opened read-write once), or one
 * QEMU opened by the layer's real path.  When no pair is safe (the VM's
 * original node, opened as TOP, is the lowest layer and the limit leaves
 * only that pair) the chain stays one layer over the limit until the VM is
 * restarted, and *note says so.
 *
 * Cost: QEMU copies B's allocated clusters (the guest keeps running; the
 * job competes for I/O with it), plus ~6 QMP round trips per merge.
 */
#include "cow/live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fault.h"
#include "cow/internal.h"

/* QEMU will not reopen level I's file under a name that is not its own. */
static bool
safe_to_reopen (const struct ov_cow_live *lv, const struct ov_cow_qnode *x,
                const struct ov_cow_layer *l)
{
  char prefix[32];

  CLEANUP_FREE char *real = NULL;

  snprintf (prefix, sizeof prefix, OV_LIVE_PREFIX "%s-f", lv->names.tag);
  if (x->file_node && strncmp (x->file_node, prefix, strlen (prefix)) == 0)
    return true;
  /* QEMU spells backing files as the header does ("/d/./TOP.layer-2"). */
  real = x->file_name ? realpath (x->file_name, NULL) : NULL;
  return real && strcmp (real, l->path) == 0;
}

static bool
job_done (json_object *data, void *opaque)
{
  const char *id = opaque;
  const char *dev = ov_json_get_string (data, "device");
  return dev && strcmp (dev, id) == 0;
}

static int
commit (struct ov_cow_live *lv, const struct ov_cow_qchain *qc, size_t a,
        size_t b, const char *a_path)
{
  CLEANUP_FREE char *backing = ov_cow_relative_backing (a_path);
  json_object *args, *data = NULL;
  const char *err;

  if (backing == NULL)
    return -1;
  args = json_object_new_object ();
  json_object_object_add (args, "job-id", json_object_new_string (lv->job_id));
  json_object_object_add (args, "device", json_object_new_string (qc->v[0].name));
  json_object_object_add (args, "top-node", json_object_new_string (qc->v[b].name));
  json_object_object_add (args, "base-node", json_object_new_string (qc->v[a].name));
  json_object_object_add (args, "backing-file", json_object_new_string (backing));
  ov_qmp_clear_events (lv->q);
  if (ov_qmp_execute (lv->q, "block-commit", args, NULL) == -1)
    return -1;
  ov_fault_point ("live-merge-during-job");
  ov_qmp_set_timeout (lv->q, 3600 * 1000);
  if (ov_qmp_wait_event (lv->q, "BLOCK_JOB_COMPLETED", job_done, lv->job_id,
                         &data) == -1) {
    ov_qmp_set_timeout (lv->q, lv->timeout_ms);
    return -1;
  }
  ov_qmp_set_timeout (lv->q, lv->timeout_ms);
  err = ov_json_get_string (data, "error");
  if (err) {
    ov_error ("block-commit of %s into %s failed: %s", qc->v[b].name,
              qc->v[a].name, err);
    json_object_put (data);
    return -1;
  }
  json_object_put (data);
  return 0;
}

/* Delete B's nodes if nothing uses them (QEMU frees unnamed ones itself). */
static int
drop_nodes (struct ov_cow_live *lv, const struct ov_cow_qnode *b)
{
  const char *names[2] = { b->name, b->file_node };
  size_t i;

  for (i = 0; i < 2; i++) {
    char **orphans;
    size_t k;
    if (names[i] == NULL || names[i][0] == '#')
      continue;
    if (ov_cow_live_orphans (lv, names[i], &orphans) == -1)
      return -1;
    for (k = 0; orphans[k]; k++)
      if (strcmp (orphans[k], names[i]) == 0 &&
          ov_cow_live_del_node (lv, names[i]) == -1) {
        ov_cow_live_strv_free (orphans);
        return -1;
      }
    ov_cow_live_strv_free (orphans);
  }
  return 0;
}

int
ov_cow_live_pick_merge (const struct ov_cow_live *lv,
                        const struct ov_cow_qchain *qc,
                        const struct ov_cow_chain *dc, uint64_t covered,
                        size_t *a)
{
  size_t k;

  for (k = dc->base_index - 1; k >= 2; k--) {
    const struct ov_cow_layer *la = &dc->layers[k], *lb = &dc->layers[k - 1];
    if (la->number > covered || lb->number > covered)
      continue;
    if (!safe_to_reopen (lv, &qc->v[k], la))
      continue;
    if (k - 2 > 0 && !safe_to_reopen (lv, &qc->v[k - 2], &dc->layers[k - 2]))
      continue;
    *a = k;
    return 1;
  }
  return 0;
}

int
ov_cow_live_merge_down (struct ov_cow_live *lv, uint64_t covered,
                        unsigned max_layers, unsigned *merged, char **note)
{
  *merged = 0;
  if (note)
    *note = NULL;
  if (max_layers < OV_COW_MIN_MAX_LAYERS)
    max_layers = OV_COW_MIN_MAX_LAYERS;
  for (;;) {
    struct ov_cow_chain dc;
    struct ov_cow_qchain qc;
    CLEANUP_FREE char *b_path = NULL;
    size_t a;
    int r = -1;

    if (ov_cow_chain_discover_shared (lv->top, &dc) == -1)
      return -1;
    if (ov_cow_live_qchain (lv, &qc) == -1) {
      ov_cow_chain_free (&dc);
      return -1;
    }
    if (ov_cow_live_check (lv, &qc, &dc) == -1)
      goto next;
    if (dc.base_index <= max_layers || dc.base_index < 3) {
      r = 1;
      goto next;
    }
    if (ov_cow_live_pick_merge (lv, &qc, &dc, covered, &a) == 0) {
      if (note && asprintf (note, "%s: %zu own layers (limit %u) kept while "
                            "the VM runs: the covered layers below are "
                            "known to QEMU under a stale name (the VM's "
                            "original node) and are merged after the VM is "
                            "restarted", lv->top, dc.base_index, max_layers) == -1)
        *note = NULL;
      r = 1;
      goto next;
    }
    if ((b_path = strdup (dc.layers[a - 1].path)) == NULL) {
      ov_error ("out of memory");
      goto next;
    }
    if (commit (lv, &qc, a, a - 1, dc.layers[a].path) == -1) {
      ov_error_prefix ("%s: merging %s into %s", lv->top, b_path,
                       dc.layers[a].path);
      goto next;
    }
    ov_fault_point ("live-merge-after-commit");
    if (drop_nodes (lv, &qc.v[a - 1]) == -1)
      goto next;
    if (unlink (b_path) == -1) {
      ov_error_errno (errno, "%s: unlink merged layer", b_path);
      goto next;
    }
    if (ov_cow_fsync_dir_of (lv->top) == -1)
      goto next;
    (*merged)++;
    r = 0;
  next:
    ov_cow_qchain_free (&qc);
    ov_cow_chain_free (&dc);
    if (r != 0)
      return r == 1 ? 0 : -1;
  }
}
