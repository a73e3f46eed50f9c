/* ovscan — a running VM's copy-on-write disk in the command line:
 * `add NAME --image TOP --tracker layers --qmp SOCKET --node N | --drive ID`
 * and the merge-down after its polls (cli/fleet.h; cow/live.h does the
 * work).
 *
 * `add` checks, once, that the VM runs on TOP: QEMU's node (or the
 * drive's) is the top of a chain whose top file QEMU opened as TOP, that
 * QEMU's chain and the headers on disk agree, and that nothing of a killed
 * earlier ovscan is in the way; then it registers the disk as the offline
 * `add --tracker layers` does (base identity, fleet row), with the QMP
 * socket and node recorded.  Nothing in the VM changes until the first
 * poll.  Cost: one QMP session and one qemu-img info -U per image.
 */
#include "cli/fleet.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/add_live.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "cow/live.h"

/* The VM runs on TOP: QEMU's chain top opened TOP, and agrees with disk. */
static int
check_vm_runs_top (struct ov_cow_live *lv)
{
  struct ov_cow_qchain qc;
  struct ov_cow_chain dc;
  int ret = -1;

  if (ov_cow_live_qchain (lv, &qc) == -1)
    return -1;
  if (qc.len == 0 || qc.v[0].file_name == NULL ||
      strcmp (qc.v[0].file_name, lv->top) != 0) {
    ov_error ("%s: the VM's top node %s has file %s, not this image", lv->top,
              qc.len ? qc.v[0].name : "?",
              qc.len && qc.v[0].file_name ? qc.v[0].file_name : "(none)");
    goto out;
  }
  if (qc.v[0].ro) {
    ov_error ("%s: the VM opened node %s read-only: it never writes it",
              lv->top, qc.v[0].name);
    goto out;
  }
  if (ov_cow_chain_discover_shared (lv->top, &dc) == -1)
    goto out;
  ret = ov_cow_live_check (lv, &qc, &dc);
  ov_cow_chain_free (&dc);
 out:
  ov_cow_qchain_free (&qc);
  return ret;
}

int
ov_cli_add_live_layers (struct ov_state *st, struct ov_disk_record *rec,
                        const char *image, const struct ov_add_live *live,
                        unsigned max_chain)
{
  CLEANUP_FREE char *top = NULL, *socket = NULL, *base_name = NULL;
  struct ov_cow_live lv;
  int r;

  if ((live->node == NULL) == (live->drive == NULL)) {
    ov_cli_error ("add: --qmp needs one of --node NODE-NAME or --drive ID");
    return OV_EXIT_ERROR;
  }
  if (live->nbd_socket) {
    ov_cli_error ("add: --nbd-socket is for bitmap-tracked live disks: "
                  "--tracker layers reads the frozen layer files");
    return OV_EXIT_ERROR;
  }
  if ((top = realpath (image, NULL)) == NULL) {
    ov_cli_error ("add: %s: %s", image, strerror (errno));
    return OV_EXIT_ERROR;
  }
  if ((socket = realpath (live->qmp, NULL)) == NULL) {
    ov_cli_error ("add: %s: %s", live->qmp, strerror (errno));
    return OV_EXIT_ERROR;
  }
  r = ov_cow_live_open (&lv, top, socket, live->node, live->drive);
  if (r == 0)
    r = check_vm_runs_top (&lv);
  ov_cow_live_close (&lv);
  if (r == -1) {
    ov_cli_error ("add: %s", ov_last_error ());
    return OV_EXIT_ERROR;
  }
  rec->image = top;
  rec->format = (char *) "qcow2";
  rec->tracker = (char *) "layers";
  rec->qmp_socket = socket;
  rec->qmp_node = (char *) live->node;
  rec->qmp_drive = (char *) live->drive;
  r = ov_fleet_add_vm (st, rec, max_chain, &base_name);
  if (r == -1)
    ov_cli_error ("add: %s", ov_last_error ());
  else
    printf ("added %s: %s (qcow2 overlay on %s) of the running VM %s, "
            "tracker layers, max chain %u\n", rec->name, top, base_name,
            socket, max_chain);
  rec->image = rec->format = rec->tracker = NULL;
  rec->qmp_socket = rec->qmp_node = rec->qmp_drive = NULL;
  return r == -1 ? OV_EXIT_ERROR : OV_EXIT_CLEAN;
}

void
ov_fleet_merge_live (struct ov_disk_record *disk, unsigned max_layers,
                     ov_poll_warning_cb warn, void *opaque)
{
  struct ov_cow_live lv;
  unsigned merged = 0;
  char *note = NULL;

  if (ov_cow_live_open (&lv, disk->image, disk->qmp_socket, disk->qmp_node,
                        disk->qmp_drive) == -1 ||
      ov_cow_live_merge_down (&lv, disk->generation, max_layers, &merged,
                              &note) == -1)
    ov_fleet_tell (warn, opaque, false, "merge-down of covered layers failed "
                   "(the next poll retries): %s", ov_last_error ());
  else if (note)
    ov_fleet_tell (warn, opaque, false, "%s", note);
  free (note);
  ov_cow_live_close (&lv);
}
