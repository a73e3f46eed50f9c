/* ovscan — the fleet tables: shared base images and the VMs on them
 * (schema in db/schema_fleet.c; the logic in cli/fleet_poll.c and cow/).
 *
 * A base has a disk row of its own (tracker 'base', name "base-" + the first
 * 12 hex digits of its SHA-256) holding its filesystems, files and
 * verdicts: it is scanned once for the whole fleet, and every VM on it
 * starts from a copy of those rows (ov_fleet_seed), so the VM's first poll
 * reads only what its own layers changed.
 */
#ifndef OVSCAN_DB_FLEET_H
#define OVSCAN_DB_FLEET_H

#include <stdint.h>

#include "db/state.h"

struct ov_base_record {
  int64_t id;
  int64_t disk_id;             /* its 'base' disk row */
  char sha256[65];             /* hex */
  char *path, *format;
  uint64_t virtual_size;
  uint64_t dev, ino, file_size;
  int64_t mtime_ns, ctime_ns;
};
void ov_base_record_clear (struct ov_base_record *b);

/* The name of a base's disk row: "base-" + the first 12 hex digits of its
 * SHA-256.  NAME must hold OV_FLEET_BASE_NAME_SIZE bytes. */
#define OV_FLEET_BASE_NAME_SIZE 18
void ov_fleet_base_name (const char *sha256, char *name);

/* 0 found, 1 not found, -1 error. */
int ov_fleet_get_base (struct ov_state *st, int64_t id, struct ov_base_record *b);
int ov_fleet_find_base (struct ov_state *st, const char *sha256, struct ov_base_record *b);
/* The registered base at PATH whose recorded stat columns equal S's (the
 * cheap identity re-check: a match means its SHA-256 need not be
 * recomputed). */
int ov_fleet_find_base_by_stat (struct ov_state *st, const char *path,
                                const struct ov_base_record *s,
                                struct ov_base_record *b);
/* Insert the base's disk row and its bases row (one transaction of its own
 * unless the caller holds one); sets b->id and b->disk_id. */
int ov_fleet_add_base (struct ov_state *st, struct ov_base_record *b);
/* The stat re-check columns after the digest was recomputed unchanged. */
int ov_fleet_update_base_stat (struct ov_state *st, const struct ov_base_record *b);

/* The VMs seeded from or registered on the base whose disk row is
 * base_disk_id: *count of them and a malloc'd "vm1, vm2, …" of the first
 * few names (NULL when there are none). */
int ov_fleet_base_users (struct ov_state *st, int64_t base_disk_id,
                         uint64_t *count, char **names);

struct ov_fleet_vm {
  int64_t disk_id;
  int64_t base_id;
  unsigned max_layers;
  int64_t seeded_base;         /* 0: never seeded */
  unsigned layers;             /* own layers after the last poll */
  uint64_t own_bytes;
};
int ov_fleet_put_vm (struct ov_state *st, const struct ov_fleet_vm *vm);
int ov_fleet_get_vm (struct ov_state *st, int64_t disk_id, struct ov_fleet_vm *vm);

/* Replace every filesystem/file/path/run/dir row of VM disk vm_disk_id by a
 * copy of the base disk's (inside the caller's transaction).  Cost: one
 * INSERT … SELECT per table, ~1 s per 100k files. */
int ov_fleet_seed (struct ov_state *st, int64_t vm_disk_id, int64_t base_disk_id);

/* The fleet view (`ovscan list`, `ovscan status`).  Strings valid during
 * the callback only. */
struct ov_fleet_base_row {
  const char *name;            /* its disk row's name */
  const char *sha256, *path;
  uint64_t virtual_size;
  int64_t scanned_poll;        /* its last poll, 0 if never scanned */
  uint64_t polls;              /* how many times it was scanned */
  uint64_t files;
  uint64_t vms;
};
int ov_fleet_list_bases (struct ov_state *st,
                         int (*cb) (void *opaque, const struct ov_fleet_base_row *r),
                         void *opaque);
struct ov_fleet_vm_row {
  const char *name;            /* the VM's disk name */
  const char *base_name;       /* its base's disk name */
  unsigned layers, max_layers;
  uint64_t own_bytes;
};
int ov_fleet_list_vms (struct ov_state *st,
                       int (*cb) (void *opaque, const struct ov_fleet_vm_row *r),
                       void *opaque);

#endif
