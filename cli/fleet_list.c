/* ovscan — the fleet view of `ovscan list`: shared bases (VMs on each, how
 * often scanned, files) and each 'layers' VM (its base, own-layer depth
 * against its limit, bytes its own layers hold).  Read from the db only
 * (db/fleet.h: the same functions serve `ovscan status`); layer depth and
 * bytes are as of each VM's last poll. */
#include "cli/fleet.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/units.h"
#include "db/fleet.h"

static int
print_base (void *opaque, const struct ov_fleet_base_row *r)
{
  bool *header = opaque;
  char size[32];

  if (!*header) {
    printf ("\n%-20s %4s %5s %8s %10s  %-13s %s\n", "BASE", "VMS", "SCANS",
            "FILES", "SIZE", "SHA-256", "IMAGE");
    *header = true;
  }
  printf ("%-20s %4" PRIu64 " %5" PRIu64 " %8" PRIu64 " %10s  %.12s… %s\n",
          r->name, r->vms, r->polls, r->files,
          ov_format_size (r->virtual_size, size, sizeof size), r->sha256, r->path);
  return 0;
}

static int
print_vm (void *opaque, const struct ov_fleet_vm_row *r)
{
  bool *header = opaque;
  char own[32];

  if (!*header) {
    printf ("\n%-20s %-20s %7s %10s\n", "VM", "BASE", "LAYERS", "OWN BYTES");
    *header = true;
  }
  printf ("%-20s %-20s %4u/%-2u %10s\n", r->name, r->base_name, r->layers,
          r->max_layers, ov_format_size (r->own_bytes, own, sizeof own));
  return 0;
}

int
ov_fleet_print (struct ov_state *st)
{
  bool bases = false, vms = false;

  if (ov_fleet_list_bases (st, print_base, &bases) == -1 ||
      ov_fleet_list_vms (st, print_vm, &vms) == -1)
    return -1;
  return 0;
}
