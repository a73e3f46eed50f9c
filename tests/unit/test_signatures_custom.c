/* Unit tests: custom signature files next to the official ones
 * (signatures/db_inventory.c, load_errors.c, listing.c) — each kind
 * (.hdb .hsb .ndb .ldb .cdb .yar) loads and detects its target; the version
 * string changes with any custom file's name or content and ov_sigs_version
 * gives the same string as a load; a broken line in any kind is an error
 * naming the file and the line (a broken YARA rule too, which libclamav
 * only warns about); ov_sigs_list describes each file on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <clamav.h>

#include "common/error.h"
#include "signatures/signatures.h"

/* 37 bytes; md5 7a6a6933…, sha256 25573171… (see the .hdb/.hsb lines). */
#define TARGET "hello planted marker ovscan-ndb-1234\n"

static char tmpdir[256];

static int
make_tmpdir (void **state)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/ovscan-test-custom.XXXXXX");
  assert_non_null (mkdtemp (tmpdir));
  return 0;
}

static int
remove_tmpdir (void **state)
{
  char cmd[300];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

static void
write_text (const char *name, const char *text)
{
  char path[512];
  FILE *fp;
  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  fp = fopen (path, "wb");
  assert_non_null (fp);
  assert_int_equal (fputs (text, fp) >= 0, 1);
  assert_int_equal (fclose (fp), 0);
}

static const char *
scan_text (const struct cl_engine *engine, const char *text)
{
  struct cl_scan_options opts = { .parse = ~0u };
  const char *virname = NULL;
  cl_fmap_t *map = cl_fmap_open_memory (text, strlen (text));
  cl_error_t r;
  assert_non_null (map);
  r = cl_scanmap_callback (map, "test", &virname, NULL, engine, &opts, NULL);
  cl_fmap_close (map);
  assert_true (r == CL_CLEAN || r == CL_VIRUS);
  return r == CL_VIRUS ? virname : NULL;
}

static const struct { const char *file, *text, *name; } kinds[] = {
  { "t.hdb", "7a6a693336c566ca2fffeda176b5dac7:37:Custom.Hdb\n", "Custom.Hdb" },
  { "t.hsb", "25573171faa58454ef5f2ca0a3a16a3a46d44df617e7e765490e54f6590c31e8:37:Custom.Hsb\n",
    "Custom.Hsb" },
  { "t.ndb", "Custom.Ndb:0:*:706c616e746564206d61726b6572\n", "Custom.Ndb" },
  { "t.ldb", "Custom.Ldb;Engine:51-255,Target:0;0&1;68656c6c6f;6f767363616e2d6e6462\n",
    "Custom.Ldb" },
  { "t.yar", "rule CustomYara { strings: $a = \"ovscan-ndb-1234\" condition: $a }\n",
    "YARA.CustomYara" },
};

/* Each kind alone detects the target, and not a neighbour. */
static void
test_each_kind_detects_its_target (void **state)
{
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    char path[512];
    const char *dbs[] = { path };
    struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1 };
    struct ov_sigs sigs;
    const char *name;

    write_text (kinds[i].file, kinds[i].text);
    snprintf (path, sizeof path, "%s/%s", tmpdir, kinds[i].file);
    assert_int_equal (ov_sigs_load (&o, &sigs), 0);
    name = scan_text (sigs.engine, TARGET);
    if (name == NULL || strstr (name, kinds[i].name) == NULL)
      fail_msg ("%s: expected %s, got %s", kinds[i].file, kinds[i].name, name ? name : "clean");
    assert_null (scan_text (sigs.engine, "nothing to see here, 37 bytes long..\n"));
    ov_sigs_free (&sigs);
  }
}

/* .cdb: container metadata (a zip member name). */
static void
test_cdb_loads (void **state)
{
  char path[512];
  const char *dbs[] = { path };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1 };
  struct ov_sigs sigs;

  write_text ("t.cdb", "Custom.Cdb:CL_TYPE_ZIP:*:evil\\.exe:*:*:*:*:*:*\n");
  snprintf (path, sizeof path, "%s/t.cdb", tmpdir);
  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_int_equal (sigs.count, 1);
  ov_sigs_free (&sigs);
}

static char *
version_of (void)
{
  const char *dbs[] = { tmpdir };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1, .test_signatures = true };
  struct ov_sigs sigs;
  char *v;

  assert_int_equal (ov_sigs_version (&o, &v), 0);
  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_string_equal (v, sigs.version);
  ov_sigs_free (&sigs);
  return v;
}

static void
test_version_follows_custom_content (void **state)
{
  char *a, *b, *c, *d;
  char from[600], to[600];

  write_text ("t.ndb", kinds[2].text);
  a = version_of ();
  write_text ("t.ndb", "Custom.Ndb:0:*:706c616e746564206d61726b6573\n");
  b = version_of ();
  assert_string_not_equal (a, b);
  snprintf (from, sizeof from, "%s/t.ndb", tmpdir);
  snprintf (to, sizeof to, "%s/u.ndb", tmpdir);
  assert_int_equal (rename (from, to), 0);
  c = version_of ();
  assert_string_not_equal (b, c);
  write_text ("t.hdb", kinds[0].text);
  d = version_of ();
  assert_non_null (strstr (d, "2 custom files (sha256 "));
  assert_string_not_equal (c, d);
  free (a), free (b), free (c), free (d);
}

static void
expect_error (const char *file, const char *text, const char *line)
{
  char path[1100], dir_only[512];
  const char *dbs[] = { dir_only };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1 };
  struct ov_sigs sigs;
  char want[1200];

  snprintf (dir_only, sizeof dir_only, "%s/%s.d", tmpdir, file);
  assert_int_equal (mkdir (dir_only, 0700), 0);
  snprintf (path, sizeof path, "%s/%s", dir_only, file);
  {
    FILE *fp = fopen (path, "w");
    assert_non_null (fp);
    fputs (text, fp);
    fclose (fp);
  }
  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  snprintf (want, sizeof want, "%s line %s:", path, line);
  if (strstr (ov_last_error (), want) == NULL)
    fail_msg ("expected '%s' in: %s", want, ov_last_error ());
}

static void
test_broken_line_names_file_and_line (void **state)
{
  expect_error ("b.ndb", "Good.Sig:0:*:6f7673\nGood.Two:0:*:6f7674\nBad.Sig:0:*:zz\n", "3");
  expect_error ("b.hdb", "7a6a693336c566ca2fffeda176b5dac7:37:Ok\n0123:44:Bad\n", "2");
  expect_error ("b.ldb", "Sig1;Target:0;0;6f7673\nBroken;;;\n", "2");
  expect_error ("b.yar", "rule ok { strings: $a = \"x1\" condition: $a }\n"
                "rule bad { strings: $a = \"x\" condition: $a and }\n", "2");
}

static void
test_listing_describes_each_file (void **state)
{
  const char *dbs[] = { tmpdir };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1, .test_signatures = true };
  struct ov_sigs_listing l;

  write_text ("a.ndb", kinds[2].text);
  write_text ("b.ndb", "Bad.Sig:0:*:zz\n");
  write_text ("c.yar", kinds[4].text);
  assert_int_equal (ov_sigs_list (&o, &l), 0);
  assert_int_equal (l.ndbs, 4);
  assert_int_equal (l.errors, 1);
  assert_string_equal (l.dbs[0].kind, "custom");
  assert_int_equal (l.dbs[0].signatures, 1);
  assert_null (l.dbs[0].error);
  assert_int_equal (strlen (l.dbs[0].sha256), 64);
  assert_non_null (l.dbs[1].error);
  assert_non_null (strstr (l.dbs[1].error, "b.ndb line 1:"));
  assert_int_equal (l.dbs[2].signatures, 1);
  assert_string_equal (l.dbs[3].kind, "test");
  assert_int_equal (l.dbs[3].signatures, 2);
  assert_non_null (strstr (l.version, "3 custom files (sha256 "));
  ov_sigs_listing_free (&l);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_each_kind_detects_its_target, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_cdb_loads, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_version_follows_custom_content, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_broken_line_names_file_and_line, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_listing_describes_each_file, make_tmpdir, remove_tmpdir),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
