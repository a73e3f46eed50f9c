/* Unit tests: the fleet tables (db/fleet.c, db/schema_fleet.c,
 * db/verdict_cache.c) on real sqlite files: the widened disks CHECK, a base
 * registered with its disk row, a VM's fleet row, seeding a VM from its base
 * (filesystems, files with verdicts, paths, runs, dirs copied; the base
 * untouched; a second seed replaces the first), the fleet listings, and the
 * verdict cache (insert once, hits, per signature version, prune). */
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/fleet.h"
#include "db/internal.h"
#include "db/verdict_cache.h"

#include "db_fixture.h"

static int
setup (void **state)
{
  return db_fixture_open ("db-fleet");
}

static int
teardown (void **state)
{
  return db_fixture_close ();
}

static struct ov_base_record
make_base (const char *sha)
{
  struct ov_base_record b = { .path = (char *) "/b/base.qcow2",
    .format = (char *) "qcow2", .virtual_size = 1 << 30, .dev = 1, .ino = 2,
    .file_size = 3, .mtime_ns = 4, .ctime_ns = 5 };
  snprintf (b.sha256, sizeof b.sha256, "%s", sha);
  assert_int_equal (ov_fleet_add_base (st, &b), 0);
  return b;
}

/* One fs with two files (one infected, two paths, runs) and a dir. */
static void
fill_disk (int64_t disk_id)
{
  struct ov_fs_record fs = { .disk_id = disk_id, .label = "", .offset = 0,
    .size = 1 << 30, .type = "ext4", .identity = "uuid-1" };
  char *paths_a[] = { (char *) "/etc/a", (char *) "/etc/a-link" };
  char *paths_b[] = { (char *) "/bin/b" };
  struct ov_run runs[] = { { 0, 4096, 8192, OV_RUN_DATA } };
  struct ov_file_record a = { .key = { .inode = 12 }, .size = 8192,
    .paths = paths_a, .npaths = 2, .verdict = "clean", .sig_version = "v1" };
  struct ov_file_record b = { .key = { .inode = 13 }, .size = 10,
    .paths = paths_b, .npaths = 1, .verdict = "infected",
    .signature = "Eicar", .sig_version = "v1" };
  struct ov_dirent ents[] = { { .name = (char *) "a", .inode = 12 } };
  struct ov_dir d = { .inode = 2, .path = (char *) "", .entries = ents,
    .nentries = 1, .runs = runs, .nruns = 1 };

  assert_int_equal (ov_state_put_fs (st, &fs, NULL), 0);
  a.key.fs_id = b.key.fs_id = fs.id;
  assert_int_equal (ov_state_put_file (st, &a, runs, 1), 0);
  assert_int_equal (ov_state_put_file (st, &b, NULL, 0), 0);
  assert_int_equal (ov_state_put_dir (st, fs.id, &d), 0);
}

static int
count_base_rows (void *opaque, const struct ov_fleet_base_row *r)
{
  (*(int *) opaque)++;
  assert_int_equal (r->vms, 1);
  assert_int_equal (r->files, 2);
  return 0;
}

static int
count_vm_rows (void *opaque, const struct ov_fleet_vm_row *r)
{
  (*(int *) opaque)++;
  assert_string_equal (r->name, "vm1");
  assert_int_equal (r->layers, 2);
  return 0;
}

static void
test_seed (void **state)
{
  struct ov_base_record b = make_base ("ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12");
  struct ov_base_record got;
  struct ov_disk_record vm = { .name = (char *) "vm1", .image = "/v/vm1.qcow2",
    .format = "qcow2", .tracker = "layers" };
  struct ov_fleet_vm f = { 0 }, g;
  int nb = 0, nv = 0;

  assert_int_equal (query_int ("select count(*) from disks where tracker = 'base' and name = 'base-ab12ab12ab12'"), 1);
  assert_int_equal (ov_fleet_find_base (st, b.sha256, &got), 0);
  assert_int_equal (got.id, b.id);
  assert_string_equal (got.path, "/b/base.qcow2");
  ov_base_record_clear (&got);
  assert_int_equal (ov_fleet_find_base (st, "00", &got), 1);
  /* A second base with the same digest is refused. */
  {
    struct ov_base_record dup = b;
    assert_int_equal (ov_fleet_add_base (st, &dup), -1);
  }
  assert_int_equal (ov_state_add_disk (st, &vm), 0);
  f = (struct ov_fleet_vm) { .disk_id = vm.id, .base_id = b.id, .max_layers = 3,
                             .layers = 2, .own_bytes = 12345 };
  assert_int_equal (ov_fleet_put_vm (st, &f), 0);
  assert_int_equal (ov_fleet_get_vm (st, vm.id, &g), 0);
  assert_int_equal (g.base_id, b.id);
  assert_int_equal (g.seeded_base, 0);
  assert_int_equal (g.own_bytes, 12345);

  fill_disk (b.disk_id);
  assert_int_equal (ov_fleet_seed (st, vm.id, b.disk_id), 0);
  assert_int_equal (ov_fleet_seed (st, vm.id, b.disk_id), 0);    /* replaces */
  assert_int_equal (query_int ("select count(*) from files f join filesystems s on s.id = f.fs_id where s.disk_id = 2"), 2);
  assert_int_equal (query_int ("select count(*) from files f join filesystems s on s.id = f.fs_id where s.disk_id = 1"), 2);
  assert_int_equal (query_int ("select count(*) from paths p join files f on f.id = p.file_id join filesystems s on s.id = f.fs_id where s.disk_id = 2"), 3);
  assert_int_equal (query_int ("select count(*) from runs r join filesystems s on s.id = r.fs_id where s.disk_id = 2"), 1);
  assert_int_equal (query_int ("select count(*) from dirs d join filesystems s on s.id = d.fs_id where s.disk_id = 2"), 1);
  assert_int_equal (query_int ("select count(*) from files f join filesystems s on s.id = f.fs_id where s.disk_id = 2 and f.verdict = 'infected' and f.signature = 'Eicar' and f.inode = 13"), 1);
  assert_int_equal (query_int ("select count(*) from filesystems where disk_id = 2 and identity = 'uuid-1'"), 1);
  /* The VM's files are its own rows: deleting one leaves the base's. */
  assert_int_equal (ov_db_exec (st, "delete from files where fs_id in (select id from filesystems where disk_id = 2)", "t"), 0);
  assert_int_equal (query_int ("select count(*) from files f join filesystems s on s.id = f.fs_id where s.disk_id = 1"), 2);

  assert_int_equal (ov_fleet_list_bases (st, count_base_rows, &nb), 0);
  assert_int_equal (ov_fleet_list_vms (st, count_vm_rows, &nv), 0);
  assert_int_equal (nb, 1);
  assert_int_equal (nv, 1);
  /* Removing the VM cascades to its fleet row. */
  assert_int_equal (ov_state_remove_disk (st, "vm1"), 0);
  assert_int_equal (query_int ("select count(*) from fleet_vms"), 0);
}

static int
collect (void *opaque, const uint8_t digest[32], const char *verdict, const char *sig)
{
  int *n = opaque;
  (*n)++;
  assert_true (strcmp (verdict, "clean") == 0 || (strcmp (verdict, "infected") == 0 && sig));
  return 0;
}

/* `add` skips the SHA-256 of a base registered at the same path with the
 * same stat; any stat column or the path differing means "hash it". */
static void
test_find_base_by_stat (void **state)
{
  struct ov_base_record b = make_base ("cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34");
  struct ov_base_record probe = b, got;
  int i;

  assert_int_equal (ov_fleet_find_base_by_stat (st, b.path, &probe, &got), 0);
  assert_int_equal (got.id, b.id);
  assert_string_equal (got.sha256, b.sha256);
  ov_base_record_clear (&got);
  assert_int_equal (ov_fleet_find_base_by_stat (st, "/b/other.qcow2", &probe, &got), 1);
  for (i = 0; i < 5; i++) {
    probe = b;
    switch (i) {
    case 0: probe.dev++; break;
    case 1: probe.ino++; break;
    case 2: probe.file_size++; break;
    case 3: probe.mtime_ns++; break;
    case 4: probe.ctime_ns++; break;
    }
    assert_int_equal (ov_fleet_find_base_by_stat (st, b.path, &probe, &got), 1);
  }
}

static void
test_verdict_cache (void **state)
{
  uint8_t d1[32] = { 1 }, d2[32] = { 2 };
  int n = 0;

  assert_int_equal (ov_state_verdict_cache_put (st, d1, "v1", "clean", NULL), 0);
  assert_int_equal (ov_state_verdict_cache_put (st, d1, "v1", "clean", NULL), 0);   /* kept once */
  assert_int_equal (ov_state_verdict_cache_put (st, d2, "v1", "infected", "Eicar"), 0);
  assert_int_equal (ov_state_verdict_cache_put (st, d1, "v2", "clean", NULL), 0);
  assert_int_equal (ov_state_verdict_cache_hit (st, d1, "v1"), 0);
  assert_int_equal (ov_state_verdict_cache_hit (st, d1, "v1"), 0);
  assert_int_equal (query_int ("select hits from verdict_cache where sig_version = 'v1' and verdict = 'clean'"), 2);
  assert_int_equal (ov_state_verdict_cache_load (st, "v1", collect, &n), 0);
  assert_int_equal (n, 2);
  assert_int_equal (ov_state_verdict_cache_prune (st, "v2"), 0);
  assert_int_equal (query_int ("select count(*) from verdict_cache"), 1);
  /* Not a verdict the cache keeps. */
  assert_int_equal (ov_state_verdict_cache_put (st, d2, "v2", "error", NULL), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_seed, setup, teardown),
    cmocka_unit_test_setup_teardown (test_find_base_by_stat, setup, teardown),
    cmocka_unit_test_setup_teardown (test_verdict_cache, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
