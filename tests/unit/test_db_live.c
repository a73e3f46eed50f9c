/* Unit tests: a running VM's disk in the state db (db/schema_live.c,
 * db/disks.c): the QMP fields round-trip through add / get / list, stay
 * NULL for an image disk, survive a tracker update, and the schema step
 * adds them to a disks table that lacks them, rows intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "db/internal.h"

static char tmpdir[64];

static struct ov_state *
open_fresh (const char *name)
{
  char path[160];
  struct ov_state *st;

  if (tmpdir[0] == '\0') {
    strcpy (tmpdir, "/tmp/ovscan-db-live-XXXXXX");
    assert_non_null (mkdtemp (tmpdir));
  }
  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  st = ov_state_open (path);
  if (st == NULL)
    fail_msg ("%s", ov_last_error ());
  return st;
}

static int
count_live (void *opaque, const struct ov_disk_record *r)
{
  int *n = opaque;
  if (r->qmp_socket)
    (*n)++;
  return 0;
}

static void
live_fields_round_trip (void **state)
{
  struct ov_state *st = open_fresh ("a.db");
  struct ov_disk_record live = {
    .name = (char *) "vm1", .image = (char *) "qmp:/run/vm1.sock",
    .format = (char *) "qcow2", .tracker = (char *) "bitmap",
    .granularity = 65536, .qmp_socket = (char *) "/run/vm1.sock",
    .qmp_drive = (char *) "virtio-disk0",
    .nbd_socket = (char *) "/run/vm1-nbd.sock",
  };
  struct ov_disk_record img = {
    .name = (char *) "img", .image = (char *) "/var/lib/img.qcow2",
    .format = (char *) "qcow2", .tracker = (char *) "bitmap", .granularity = 4096,
  };
  struct ov_disk_record got = { 0 };
  int n = 0;

  assert_int_equal (ov_state_add_disk (st, &live), 0);
  assert_int_equal (ov_state_add_disk (st, &img), 0);
  assert_int_equal (ov_state_get_disk (st, "vm1", &got), 0);
  assert_string_equal (got.qmp_socket, "/run/vm1.sock");
  assert_null (got.qmp_node);
  assert_string_equal (got.qmp_drive, "virtio-disk0");
  assert_string_equal (got.nbd_socket, "/run/vm1-nbd.sock");
  /* A poll's tracker update keeps them. */
  free (got.bitmap);
  got.bitmap = strdup ("ovscan-7");
  got.generation = 7;
  got.size = 1 << 20;
  assert_int_equal (ov_state_update_disk_tracker (st, &got), 0);
  ov_disk_record_clear (&got);
  assert_int_equal (ov_state_get_disk (st, "vm1", &got), 0);
  assert_string_equal (got.bitmap, "ovscan-7");
  assert_string_equal (got.qmp_socket, "/run/vm1.sock");
  assert_string_equal (got.qmp_drive, "virtio-disk0");
  ov_disk_record_clear (&got);

  assert_int_equal (ov_state_get_disk (st, "img", &got), 0);
  assert_null (got.qmp_socket);
  assert_null (got.qmp_node);
  assert_null (got.qmp_drive);
  assert_null (got.nbd_socket);
  ov_disk_record_clear (&got);

  assert_int_equal (ov_state_list_disks (st, count_live, &n), 0);
  assert_int_equal (n, 1);
  ov_state_close (st);
}

/* The step itself on a disks table without the columns (as version 2 had
 * it), with a row in it: the row stays, the columns are NULL. */
static void
live_step_adds_the_columns (void **state)
{
  struct ov_state *st = open_fresh ("b.db");
  struct ov_disk_record got = { 0 };

  assert_int_equal (ov_db_exec (st,
                                "ALTER TABLE disks DROP COLUMN qmp_socket;"
                                "ALTER TABLE disks DROP COLUMN qmp_node;"
                                "ALTER TABLE disks DROP COLUMN qmp_drive;"
                                "ALTER TABLE disks DROP COLUMN nbd_socket;"
                                "INSERT INTO disks (name, image, format, tracker,"
                                " granularity, created) VALUES ('old', '/i.qcow2',"
                                " 'qcow2', 'bitmap', 4096, 0);", "downgrade"), 0);
  assert_int_equal (ov_db_migrate_2_to_3_live (st), 0);
  assert_int_equal (ov_state_get_disk (st, "old", &got), 0);
  assert_string_equal (got.image, "/i.qcow2");
  assert_null (got.qmp_socket);
  assert_null (got.nbd_socket);
  ov_disk_record_clear (&got);
  ov_state_close (st);
}

static int
remove_tmpdir (void **state)
{
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (live_fields_round_trip),
    cmocka_unit_test (live_step_adds_the_columns),
  };
  return cmocka_run_group_tests (tests, NULL, remove_tmpdir);
}
