/* ovscan — `add --qmp` and `remove` of a running VM's disk (add_live.h).
 *
 * `add` talks to the VM once, so that a wrong socket (not QEMU, someone
 * else's), a missing node or a raw node is refused now rather than at the
 * first poll; nothing is changed in the VM until that poll.
 */
#include "cli/add_live.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/live.h"
#include "backends/qmp.h"
#include "backends/tracker.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/error.h"

int
ov_cli_add_live (struct ov_state *st, struct ov_disk_record *rec,
                 const struct ov_add_live *live)
{
  CLEANUP_FREE char *socket = NULL, *image = NULL, *nbd = NULL;
  struct ov_live_node node;
  struct ov_qmp *q;
  int r;

  if ((live->node == NULL) == (live->drive == NULL)) {
    ov_cli_error ("add: --qmp needs one of --node NODE-NAME or --drive ID");
    return OV_EXIT_ERROR;
  }
  if ((socket = realpath (live->qmp, NULL)) == NULL) {
    ov_cli_error ("add: %s: %s", live->qmp, strerror (errno));
    return OV_EXIT_ERROR;
  }
  if (live->nbd_socket && (nbd = realpath (live->nbd_socket, NULL)) == NULL) {
    ov_cli_error ("add: %s: %s", live->nbd_socket, strerror (errno));
    return OV_EXIT_ERROR;
  }
  if ((q = ov_qmp_connect (socket, 0)) == NULL) {
    ov_cli_error ("add: %s", ov_last_error ());
    return OV_EXIT_ERROR;
  }
  r = ov_live_find_node (q, live->node, live->drive, &node);
  ov_qmp_close (q);
  if (r == -1) {
    ov_cli_error ("add: %s", ov_last_error ());
    return OV_EXIT_ERROR;
  }
  if (strcmp (node.driver, "qcow2") != 0 || node.read_only) {
    ov_cli_error ("add: node %s is %s: live polls need a writable qcow2 node "
                  "(QEMU keeps persistent dirty bitmaps only in qcow2)",
                  node.node_name, node.read_only ? "read-only" : node.driver);
    ov_live_node_clear (&node);
    return OV_EXIT_ERROR;
  }
  if (asprintf (&image, "qmp:%s", socket) == -1) {
    image = NULL;
    ov_live_node_clear (&node);
    ov_cli_error ("add: out of memory");
    return OV_EXIT_ERROR;
  }
  rec->image = image;
  rec->format = node.driver;
  rec->tracker = (char *) "bitmap";
  rec->qmp_socket = socket;
  rec->qmp_node = (char *) live->node;
  rec->qmp_drive = (char *) live->drive;
  rec->nbd_socket = nbd;
  r = ov_state_add_disk (st, rec);
  if (r == -1)
    ov_cli_error ("add: %s", ov_last_error ());
  else
    printf ("added %s: running VM %s, node %s (%s, %llu bytes), tracker live\n",
            rec->name, socket, node.node_name, node.driver,
            (unsigned long long) node.virtual_size);
  ov_live_node_clear (&node);
  rec->image = rec->format = rec->tracker = NULL;
  rec->qmp_socket = rec->qmp_node = rec->qmp_drive = rec->nbd_socket = NULL;
  return r == -1 ? OV_EXIT_ERROR : OV_EXIT_CLEAN;
}

void
ov_cli_forget_live (const struct ov_disk_record *rec)
{
  CLEANUP_FREE char *key = NULL;
  struct ov_live_names names;
  struct ov_live_node node;
  struct ov_qmp *q = NULL;
  size_t i;

  if (asprintf (&key, "%s:%s", rec->qmp_node ? "node" : "drive",
                rec->qmp_node ? rec->qmp_node : rec->qmp_drive) == -1) {
    key = NULL;
    goto fail;
  }
  if (ov_live_names_init (&names, rec->qmp_socket, key, rec->nbd_socket) == -1)
    goto fail;
  if ((q = ov_qmp_connect (rec->qmp_socket, 0)) == NULL ||
      ov_live_view_stop (q, &names, NULL) == -1 ||
      ov_live_find_node (q, rec->qmp_node, rec->qmp_drive, &node) == -1) {
    ov_live_names_free (&names);
    goto fail;
  }
  ov_live_names_free (&names);
  for (i = 0; i < node.bitmaps.len; i++)
    if (ov_bitmap_name_parse (node.bitmaps.ptr[i].name, NULL) &&
        ov_live_bitmap_remove (q, node.node_name, node.bitmaps.ptr[i].name) == -1)
      fprintf (stderr, "%s: warning: %s\n", ov_program_name, ov_last_error ());
  ov_live_node_clear (&node);
  ov_qmp_close (q);
  return;
 fail:
  fprintf (stderr, "%s: warning: %s (ovscan's dirty bitmaps stay in the VM: "
           "remove them with block-dirty-bitmap-remove)\n", ov_program_name,
           ov_last_error ());
  ov_qmp_close (q);
}
