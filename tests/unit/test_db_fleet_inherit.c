/* Unit tests: verdicts a fleet VM inherits from its base in the rolling
 * rescan (db/fleet_inherit.c, the stale selection in db/coverage.c), on a
 * real sqlite file: a VM seeded from a base with two files, one of which
 * the VM's own poll read again.  Under new signatures only the base's rows
 * and the VM's own row are selected; the base's new verdicts reach the
 * VM's inherited row (an infected one reported with the VM's name and
 * path), never its own row; a second call changes nothing. */
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/coverage.h"
#include "db/fleet.h"
#include "db/fleet_inherit.h"
#include "db/internal.h"

#include "db_fixture.h"

static int
setup (void **state)
{
  return db_fixture_open ("db-inherit");
}

static int
teardown (void **state)
{
  return db_fixture_close ();
}

/* Base disk with files 12 (/etc/a, clean) and 13 (/bin/b, clean), both
 * scanned by the base's poll 7 under v1; VM vm1 seeded from it. */
static int64_t
make_fleet (int64_t *vm_disk)
{
  struct ov_base_record b = { .path = (char *) "/b/base.qcow2",
    .format = (char *) "qcow2", .virtual_size = 1 << 30, .dev = 1, .ino = 2,
    .file_size = 3, .mtime_ns = 4, .ctime_ns = 5 };
  struct ov_disk_record vm = { .name = (char *) "vm1", .image = "/v/vm1.qcow2",
    .format = "qcow2", .tracker = "layers" };
  struct ov_fs_record fs = { .label = "", .offset = 0, .size = 1 << 30,
    .type = "ext4", .identity = "uuid-1" };
  char *paths_a[] = { (char *) "/etc/a" }, *paths_b[] = { (char *) "/bin/b" };
  struct ov_run runs_a[] = { { 0, 4096, 8192, OV_RUN_DATA } };
  struct ov_run runs_b[] = { { 0, 8192, 12288, OV_RUN_DATA } };
  struct ov_file_record a = { .key = { .inode = 12 }, .size = 4096,
    .paths = paths_a, .npaths = 1, .verdict = "clean", .sig_version = "v1",
    .scanned_poll = 7 };
  struct ov_file_record fb = { .key = { .inode = 13 }, .size = 4096,
    .paths = paths_b, .npaths = 1, .verdict = "clean", .sig_version = "v1",
    .scanned_poll = 7 };
  struct ov_fleet_vm f;

  snprintf (b.sha256, sizeof b.sha256, "%s", "ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56ef56");
  assert_int_equal (ov_fleet_add_base (st, &b), 0);
  fs.disk_id = b.disk_id;
  assert_int_equal (ov_state_put_fs (st, &fs, NULL), 0);
  a.key.fs_id = fb.key.fs_id = fs.id;
  assert_int_equal (ov_state_put_file (st, &a, runs_a, 1), 0);
  assert_int_equal (ov_state_put_file (st, &fb, runs_b, 1), 0);
  assert_int_equal (ov_state_add_disk (st, &vm), 0);
  f = (struct ov_fleet_vm) { .disk_id = vm.id, .base_id = b.id, .max_layers = 3,
                             .seeded_base = b.id };
  assert_int_equal (ov_state_begin (st), 0);
  assert_int_equal (ov_fleet_seed (st, vm.id, b.disk_id), 0);
  assert_int_equal (ov_fleet_put_vm (st, &f), 0);
  assert_int_equal (ov_state_commit (st), 0);
  *vm_disk = vm.id;
  return b.disk_id;
}

struct picked { int base, vm; int64_t vm_inode; };

static int
count_picks (void *opaque, const struct ov_stale_file *f)
{
  struct picked *p = opaque;
  if (f->disk_id == 1)
    p->base++;
  else {
    p->vm++;
    p->vm_inode = (int64_t) f->key.inode;
  }
  return 0;
}

struct seen { int n; char disk[16], path[16], sig[16]; };

static int
on_detection (void *opaque, const struct ov_inherited_detection *d)
{
  struct seen *s = opaque;
  s->n++;
  snprintf (s->disk, sizeof s->disk, "%s", d->disk);
  snprintf (s->path, sizeof s->path, "%s", d->path);
  snprintf (s->sig, sizeof s->sig, "%s", d->signature);
  assert_int_equal (d->inode, 12);
  return 0;
}

static void
test_inherit (void **state)
{
  int64_t vm, base = make_fleet (&vm);
  struct picked p = { 0 };
  struct seen seen = { 0 };
  uint64_t n;
  char buf[64];

  assert_int_equal (base, 1);
  /* The VM's own poll 9 read file 13 again (a write of its own). */
  exec_sql ("UPDATE files SET scanned_poll = 9 WHERE inode = 13 AND fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 2)");
  /* New signatures v2: the base's two rows and the VM's own row only. */
  assert_int_equal (ov_coverage_stale_files (st, "v2", 0, count_picks, &p), 0);
  assert_int_equal (p.base, 2);
  assert_int_equal (p.vm, 1);
  assert_int_equal (p.vm_inode, 13);
  /* Nothing to inherit before the base is rescanned. */
  assert_int_equal (ov_fleet_inherit_verdicts (st, base, "v2", 100, on_detection, &seen, &n), 0);
  assert_int_equal (n, 0);
  /* The base's rescan: a infected under v2, b clean. */
  exec_sql ("UPDATE files SET sig_version = 'v2', verdict = 'infected', signature = 'NewSig'"
            " WHERE inode = 12 AND fs_id = (SELECT id FROM filesystems WHERE disk_id = 1)");
  exec_sql ("UPDATE files SET sig_version = 'v2'"
            " WHERE inode = 13 AND fs_id = (SELECT id FROM filesystems WHERE disk_id = 1)");
  assert_int_equal (ov_fleet_inherit_verdicts (st, base, "v2", 100, on_detection, &seen, &n), 0);
  assert_int_equal (n, 1);
  assert_int_equal (seen.n, 1);
  assert_string_equal (seen.disk, "vm1");
  assert_string_equal (seen.path, "/etc/a");
  assert_string_equal (seen.sig, "NewSig");
  assert_string_equal (query_text ("SELECT verdict || ' ' || signature || ' ' || sig_version"
                                   " FROM files WHERE inode = 12 AND fs_id ="
                                   " (SELECT id FROM filesystems WHERE disk_id = 2)",
                                   buf, sizeof buf), "infected NewSig v2");
  /* The VM's own row keeps its old version: its own rescan decides. */
  assert_string_equal (query_text ("SELECT sig_version FROM files WHERE inode = 13 AND fs_id ="
                                   " (SELECT id FROM filesystems WHERE disk_id = 2)",
                                   buf, sizeof buf), "v1");
  /* Idempotent; and 0 = every base finds nothing more either. */
  seen.n = 0;
  assert_int_equal (ov_fleet_inherit_verdicts (st, 0, "v2", 101, on_detection, &seen, &n), 0);
  assert_int_equal (n, 0);
  assert_int_equal (seen.n, 0);
}

/* A VM row whose size or block list differs from the base's is its own,
 * whatever its scanned_poll says. */
static void
test_changed_rows_are_own (void **state)
{
  int64_t vm, base = make_fleet (&vm);
  struct picked p = { 0 };
  uint64_t n;

  exec_sql ("UPDATE files SET size = 5000 WHERE inode = 12 AND fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 2)");
  exec_sql ("UPDATE files SET runs_digest = randomblob (32) WHERE inode = 13 AND fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 2)");
  assert_int_equal (ov_coverage_stale_files (st, "v2", 0, count_picks, &p), 0);
  assert_int_equal (p.vm, 2);
  exec_sql ("UPDATE files SET sig_version = 'v2' WHERE fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 1)");
  assert_int_equal (ov_fleet_inherit_verdicts (st, base, "v2", 100, NULL, NULL, &n), 0);
  assert_int_equal (n, 0);
}

/* A base row the rescan could not scan (error) gives the VM row nothing:
 * that row is selected for its own rescan, the other one inherits. */
static void
test_base_error_is_not_inherited (void **state)
{
  int64_t vm, base = make_fleet (&vm);
  struct picked p = { 0 };
  uint64_t n;

  exec_sql ("UPDATE files SET sig_version = 'v2' WHERE fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 1)");
  exec_sql ("UPDATE files SET verdict = 'error' WHERE inode = 12 AND fs_id ="
            " (SELECT id FROM filesystems WHERE disk_id = 1)");
  assert_int_equal (ov_coverage_stale_files (st, "v2", 0, count_picks, &p), 0);
  assert_int_equal (p.base, 1);
  assert_int_equal (p.vm, 1);
  assert_int_equal (p.vm_inode, 12);
  assert_int_equal (ov_fleet_inherit_verdicts (st, base, "v2", 100, NULL, NULL, &n), 0);
  assert_int_equal (n, 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_inherit, setup, teardown),
    cmocka_unit_test_setup_teardown (test_changed_rows_are_own, setup, teardown),
    cmocka_unit_test_setup_teardown (test_base_error_is_not_inherited, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
