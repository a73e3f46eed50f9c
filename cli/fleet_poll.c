/* ovscan — copy-on-write fleets around the poll (see cli/fleet.h).
 *
 * Base once: a base image has its own disk row (tracker 'base').  The first
 * VM poll that finds it never scanned scans it (a full read of the base,
 * read-only, under the base's own poll lock); every later VM copies the
 * base's file rows and verdicts (db/fleet.c ov_fleet_seed) and its first
 * poll reads only the clusters its own layers hold (tracker 'layers').
 * Files the VM never touched keep the base's verdicts.
 *
 * Base identity: the registered base must still be the overlay's backing
 * file (same path: a base moved elsewhere or an overlay rebased onto an
 * unregistered image is an error, nothing is read); same (dev, inode,
 * size, mtime, ctime) = same base; otherwise its SHA-256 decides: equal =
 * same base (stat refreshed), different = a new base under the same path:
 * registered as such, the VM re-seeded from it and all its own layers read
 * again (generation 0).
 *
 * Cost: one stat of the base per poll; SHA-256 of the base only when its
 * stat changed (seconds per GiB); seeding copies the base's rows once per
 * VM (and per base change).
 */
#include "cli/fleet.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "cow/cow.h"
#include "db/fleet.h"

void
ov_fleet_tell (ov_poll_warning_cb warn, void *opaque, bool is_error,
               const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (warn)
    warn (opaque, is_error, msg);
}

static void
stat_into (struct ov_base_record *b, const struct ov_cow_stat *s)
{
  b->dev = s->dev;
  b->ino = s->ino;
  b->file_size = s->size;
  b->mtime_ns = s->mtime_ns;
  b->ctime_ns = s->ctime_ns;
}

static bool
stat_matches (const struct ov_base_record *b, const struct ov_cow_stat *s)
{
  struct ov_cow_stat r = {
    .dev = b->dev, .ino = b->ino, .size = b->file_size,
    .mtime_ns = b->mtime_ns, .ctime_ns = b->ctime_ns,
  };
  return ov_cow_stat_equal (&r, s);
}

/* The disk's chain; a running VM's (QMP) read by force-share. */
static int
discover (const struct ov_disk_record *disk, struct ov_cow_chain *chain)
{
  return disk->qmp_socket ? ov_cow_chain_discover_shared (disk->image, chain)
    : ov_cow_chain_discover (disk->image, chain);
}

/* The registered base with LAYER's content: found by digest or added. */
static int
base_by_content (struct ov_state *st, const struct ov_cow_layer *layer,
                 struct ov_base_record *b)
{
  uint8_t digest[32];
  struct ov_cow_stat sb;
  int r;

  memset (b, 0, sizeof *b);
  /* Registered at this path with this very stat: the same file, no
   * rehash (seconds per GiB) — the same cheap re-check every poll makes. */
  stat_into (b, &layer->stat);
  r = ov_fleet_find_base_by_stat (st, layer->path, b, b);
  if (r != 1)
    return r;
  memset (b, 0, sizeof *b);
  if (ov_cow_file_sha256 (layer->path, digest, &sb) == -1)
    return -1;
  ov_cow_hex (digest, b->sha256);
  r = ov_fleet_find_base (st, b->sha256, b);
  if (r == -1)
    return -1;
  if (r == 0) {
    if (strcmp (b->path, layer->path) != 0 || !stat_matches (b, &sb)) {
      free (b->path);
      if ((b->path = strdup (layer->path)) == NULL) {
        ov_error ("out of memory");
        return -1;
      }
      stat_into (b, &sb);
      if (ov_fleet_update_base_stat (st, b) == -1)
        return -1;
    }
    return 0;
  }
  b->path = strdup (layer->path);
  b->format = strdup (layer->format);
  if (b->path == NULL || b->format == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  b->virtual_size = layer->virtual_size;
  stat_into (b, &sb);
  return ov_fleet_add_base (st, b);
}

int
ov_fleet_add_vm (struct ov_state *st, struct ov_disk_record *rec,
                 unsigned max_layers, char **base_name)
{
  struct ov_cow_chain chain;
  struct ov_base_record b = { 0 };
  struct ov_fleet_vm vm = { 0 };
  char name[64];
  int ret = -1;

  if (discover (rec, &chain) == -1)
    return -1;
  if (chain.base_index != 1) {
    ov_error ("%s: already has %zu own layers (%s…): register the top image "
              "of a fresh overlay", rec->image, chain.base_index,
              chain.layers[1].path);
    goto out;
  }
  if (base_by_content (st, &chain.layers[chain.base_index], &b) == -1)
    goto out;
  ov_fleet_base_name (b.sha256, name);
  if (ov_state_begin (st) == -1)
    goto out;
  rec->size = 0;
  if (ov_state_add_disk (st, rec) == -1)
    goto rollback;
  vm.disk_id = rec->id;
  vm.base_id = b.id;
  vm.max_layers = max_layers;
  vm.layers = (unsigned) chain.base_index;
  if (ov_cow_own_bytes (&chain, &vm.own_bytes) == -1 ||
      ov_fleet_put_vm (st, &vm) == -1 || ov_state_commit (st) == -1)
    goto rollback;
  if ((*base_name = strdup (name)) == NULL) {
    ov_error ("out of memory");
    goto out;
  }
  ret = 0;
  goto out;
 rollback:
  {
    char saved[4096];
    snprintf (saved, sizeof saved, "%s", ov_last_error ());
    ov_state_rollback (st);
    ov_error ("%s", saved);
  }
 out:
  ov_base_record_clear (&b);
  ov_cow_chain_free (&chain);
  return ret;
}

/* Scan the base once, under its own lock. */
static int
scan_base_once (struct ov_state *st, const struct ov_base_record *b,
                const struct ov_poll_options *options,
                ov_poll_warning_cb warn, void *opaque, uint64_t *infected)
{
  struct ov_disk_record bd = { 0 };
  struct ov_poll_outcome out;
  char name[64];
  int lock, r, ret = -1;

  ov_fleet_base_name (b->sha256, name);
  lock = ov_disk_lock (st, name);
  if (lock < 0) {
    if (lock == -2)
      ov_error ("base %s (%s) is being scanned by another ovscan: poll this "
                "VM again when it is done", name, b->path);
    return -1;
  }
  r = ov_state_get_disk (st, name, &bd);
  if (r != 0) {
    if (r == 1)
      ov_error ("base %s: its disk row is missing", name);
    goto out;
  }
  if (bd.last_poll != 0) {       /* scanned meanwhile by another run */
    ret = 0;
    goto out;
  }
  if (ov_poll_disk (st, &bd, options, warn, opaque, &out) == -1) {
    ov_error_prefix ("scan of base %s (%s)", name, b->path);
    goto out;
  }
  ov_fleet_tell (warn, opaque, false, "base %s (%s): scanned once for the "
                 "fleet: %" PRIu64 " files scanned, %" PRIu64 " infected, "
                 "%.2f s", name, b->path, out.files_scanned, out.infected,
                 out.seconds);
  *infected += out.infected;
  ov_poll_outcome_clear (&out);
  ret = 0;
 out:
  ov_disk_record_clear (&bd);
  close (lock);
  return ret;
}

/* Copy the base's rows into the VM (one transaction). */
static int
seed_vm (struct ov_state *st, struct ov_disk_record *disk,
         struct ov_fleet_vm *vm, const struct ov_base_record *b,
         bool base_changed)
{
  if (ov_state_begin (st) == -1)
    return -1;
  vm->seeded_base = b->id;
  vm->base_id = b->id;
  disk->size = b->virtual_size;
  if (base_changed)
    disk->generation = 0;        /* every own layer is read again */
  if (ov_fleet_seed (st, disk->id, b->disk_id) == -1 ||
      ov_state_update_disk_tracker (st, disk) == -1 ||
      ov_fleet_put_vm (st, vm) == -1 || ov_state_commit (st) == -1) {
    char saved[4096];
    snprintf (saved, sizeof saved, "%s", ov_last_error ());
    ov_state_rollback (st);
    ov_error ("%s: copying the base's files: %s", disk->name, saved);
    return -1;
  }
  return 0;
}

int
ov_fleet_before_poll (struct ov_state *st, struct ov_disk_record *disk,
                      const struct ov_poll_options *options,
                      ov_poll_warning_cb warn, void *opaque,
                      uint64_t *infected)
{
  struct ov_cow_chain chain;
  struct ov_fleet_vm vm;
  struct ov_base_record reg = { 0 }, now = { 0 };
  const struct ov_cow_layer *base;
  struct ov_disk_record bd = { 0 };
  bool changed = false;
  char name[64];
  int r, ret = -1;

  r = ov_fleet_get_vm (st, disk->id, &vm);
  if (r != 0) {
    if (r == 1)
      ov_error ("%s: tracker 'layers' but no fleet row (database edited?)", disk->name);
    return -1;
  }
  if (discover (disk, &chain) == -1) {
    ov_error_prefix ("%s", disk->name);
    return -1;
  }
  base = &chain.layers[chain.base_index];
  if ((r = ov_fleet_get_base (st, vm.base_id, &reg)) != 0) {
    if (r == 1)
      ov_error ("%s: registered base %" PRId64 " is missing", disk->name, vm.base_id);
    goto out;
  }
  if (strcmp (reg.path, base->path) != 0) {
    ov_error ("%s: the overlay's base is now %s, but the registered base is %s: "
              "an unregistered base (overlay rebased, or base moved?): put the "
              "base back, or 'ovscan remove %s' and add it again", disk->name,
              base->path, reg.path, disk->name);
    goto out;
  }
  if (!stat_matches (&reg, &base->stat)) {
    if (base_by_content (st, base, &now) == -1)
      goto out;
    if (now.id != reg.id) {
      changed = true;
      ov_fleet_tell (warn, opaque, false, "base %s changed under the same "
                     "path (new SHA-256 %.12s…): registered as a new base; "
                     "this VM's own layers are read again", base->path,
                     now.sha256);
      ov_base_record_clear (&reg);
      reg = now;
      memset (&now, 0, sizeof now);
    }
  }
  /* The base scanned once, for every VM on it. */
  ov_fleet_base_name (reg.sha256, name);
  if ((r = ov_state_get_disk (st, name, &bd)) != 0) {
    if (r == 1)
      ov_error ("%s: the disk row of base %s is missing", disk->name, name);
    goto out;
  }
  if (bd.last_poll == 0 &&
      scan_base_once (st, &reg, options, warn, opaque, infected) == -1)
    goto out;
  if (vm.seeded_base != reg.id || changed) {
    if (seed_vm (st, disk, &vm, &reg, changed || vm.seeded_base != 0) == -1)
      goto out;
  }
  ret = 0;
 out:
  ov_disk_record_clear (&bd);
  ov_base_record_clear (&reg);
  ov_base_record_clear (&now);
  ov_cow_chain_free (&chain);
  return ret;
}

void
ov_fleet_after_poll (struct ov_state *st, struct ov_disk_record *disk,
                     ov_poll_warning_cb warn, void *opaque)
{
  struct ov_fleet_vm vm;
  struct ov_cow_chain chain;
  unsigned merged = 0;

  if (ov_fleet_get_vm (st, disk->id, &vm) != 0)
    return;
  if (disk->qmp_socket)          /* a running VM: cli/fleet_live.c */
    ov_fleet_merge_live (disk, vm.max_layers, warn, opaque);
  else if (ov_cow_merge_down (disk->image, disk->generation, vm.max_layers,
                              &merged) == -1)
    ov_fleet_tell (warn, opaque, false, "merge-down of covered layers failed "
                   "(the next poll retries): %s", ov_last_error ());
  if (discover (disk, &chain) == -1)
    return;
  vm.layers = (unsigned) chain.base_index;
  if (ov_cow_own_bytes (&chain, &vm.own_bytes) == 0)
    ov_fleet_put_vm (st, &vm);
  ov_cow_chain_free (&chain);
}
