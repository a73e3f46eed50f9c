/* Unit tests: loading signatures (signatures/signatures.c, test_sigs.c,
 * db_inventory.c) — the built-in test signatures detect what they claim,
 * empty and broken databases give errors naming the path, and the version
 * string names each signed database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <clamav.h>

#include "common/error.h"
#include "signatures/internal.h"
#include "signatures/signatures.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static char tmpdir[256];

static int
make_tmpdir (void **state)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/ovscan-test-sigs.XXXXXX");
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
write_file (const char *name, const void *data, size_t len)
{
  char path[512];
  FILE *fp;
  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  fp = fopen (path, "wb");
  assert_non_null (fp);
  assert_int_equal (fwrite (data, 1, len, fp), len);
  assert_int_equal (fclose (fp), 0);
}

/* Scan bytes from memory; returns the signature name or NULL if clean. */
static const char *
scan_bytes (const struct cl_engine *engine, const void *data, size_t len)
{
  struct cl_scan_options opts = { .parse = ~0u, .general = CL_SCAN_GENERAL_HEURISTICS };
  const char *virname = NULL;
  cl_fmap_t *map = cl_fmap_open_memory (data, len);
  cl_error_t r;
  assert_non_null (map);
  r = cl_scanmap_callback (map, "test", &virname, NULL, engine, &opts, NULL);
  cl_fmap_close (map);
  assert_true (r == CL_CLEAN || r == CL_VIRUS);
  return r == CL_VIRUS ? virname : NULL;
}

/* True if the default database directory holds database files (a host
 * with ClamAV's databases installed): counts below then include them. */
static bool
default_dir_has_databases (void)
{
  struct ov_db_inventory inv = { .cvds = VECTOR_INIT };
  int n = ov_db_inventory_add (&inv, OV_DEFAULT_DATABASE_DIR);
  ov_db_inventory_free (&inv);
  return n > 0;
}

/* No --database: a missing/empty default directory is ignored when test
 * signatures are asked for. */
static void
test_signatures_detect_eicar_only (void **state)
{
  struct ov_sigs_options o = { .databases = NULL, .ndatabases = 0, .test_signatures = true };
  struct ov_sigs sigs;
  const char *name;

  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_non_null (sigs.engine);
  if (!default_dir_has_databases ())
    assert_int_equal (sigs.count, 2);
  assert_true (sigs.load_seconds >= 0 && sigs.load_seconds < 10);
  name = scan_bytes (sigs.engine, EICAR, strlen (EICAR));
  assert_non_null (name);
  assert_string_equal (name, OV_SIGS_TEST_EICAR ".UNOFFICIAL");
  assert_null (scan_bytes (sigs.engine, "hello, world\n", 13));
  ov_sigs_free (&sigs);
}

static void
test_ndb_text_is_embedded (void **state)
{
  const char *t = ov_sigs_test_ndb ();
  assert_non_null (strstr (t, "\n" OV_SIGS_TEST_EICAR ":0:*:58354f21"));
  assert_non_null (strstr (t, "\n" OV_SIGS_TEST_CLAM_EXE ":0:*:"));
}

static void
test_version_names_test_signatures (void **state)
{
  struct ov_sigs_options o = { .test_signatures = true };
  struct ov_sigs sigs;
  if (default_dir_has_databases ())
    skip ();
  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_string_equal (sigs.version, "test signatures");
  ov_sigs_free (&sigs);
}

/* VERSION is PREFIX + " (sha256 " + 12 hex digits + ")" + SUFFIX. */
static void
assert_custom_version (const char *version, const char *prefix, const char *suffix)
{
  size_t np = strlen (prefix), ns = strlen (suffix), n = strlen (version);
  assert_true (n == np + strlen (" (sha256 0123456789ab)") + ns);
  assert_memory_equal (version, prefix, np);
  assert_memory_equal (version + np, " (sha256 ", 9);
  for (size_t i = np + 9; i < np + 21; i++)
    assert_non_null (strchr ("0123456789abcdef", version[i]));
  assert_int_equal (version[np + 21], ')');
  assert_string_equal (version + np + 22, suffix);
}

static void
test_version_counts_custom_files (void **state)
{
  const char *dbs[] = { tmpdir };
  const char *ndb = "My.Sig.One:0:*:6f7673636e6e2d6f6e65\n"
                    "My.Sig.Two:0:*:6f7673636e6e2d74776f\n";
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1, .test_signatures = true };
  struct ov_sigs sigs;

  write_file ("a.ndb", ndb, strlen (ndb));
  write_file ("b.hdb", "44d88612fea8a8f36de82e1278abb02f:68:My.Hash\n", 44);
  write_file ("notes.txt", "not a database\n", 15);
  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_int_equal (sigs.count, 2 + 1 + 2);
  assert_custom_version (sigs.version, "2 custom files", " + test signatures");
  assert_non_null (scan_bytes (sigs.engine, "xx ovscnn-two xx", 16));
  ov_sigs_free (&sigs);

  o.test_signatures = false;
  assert_int_equal (ov_sigs_load (&o, &sigs), 0);
  assert_custom_version (sigs.version, "2 custom files", "");
  ov_sigs_free (&sigs);
}

/* A signed container's header (cl_cvdhead reads only these 512 bytes). */
static void
write_cvd_header (const char *name, unsigned version, unsigned stime)
{
  char head[512];
  int n = snprintf (head, sizeof head,
                    "ClamAV-VDB:01 Dec 2024 10-00 +0000:%u:100:90:"
                    "0123456789abcdef0123456789abcdef:sig:builder:%u",
                    version, stime);
  memset (head + n, ' ', sizeof head - n);
  write_file (name, head, sizeof head);
}

static void
test_version_string_names_signed_databases (void **state)
{
  struct ov_db_inventory inv = { .cvds = VECTOR_INIT };
  char *v;

  write_cvd_header ("bytecode.cvd", 335, 1700000000);
  write_cvd_header ("daily.cvd", 27470, 1732000000);
  write_cvd_header ("daily.cld", 27480, 1733047200);   /* 2024-12-01 10:00 UTC */
  write_cvd_header ("main.cvd", 62, 1600000000);
  write_file ("local.ldb", "", 0);
  assert_int_equal (ov_db_inventory_add (&inv, tmpdir), 5);
  v = ov_db_version_string (&inv, true);
  assert_non_null (v);
  assert_custom_version (v, "main 62, daily 27480 (2024-12-01 10:00 UTC), bytecode 335"
                         " + 1 custom file", " + test signatures");
  free (v);
  v = ov_db_version_string (&inv, false);
  assert_custom_version (v, "main 62, daily 27480 (2024-12-01 10:00 UTC), bytecode 335"
                         " + 1 custom file", "");
  free (v);
  ov_db_inventory_free (&inv);
}

static void
test_empty_directory_is_an_error (void **state)
{
  const char *dbs[] = { tmpdir };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1 };
  struct ov_sigs sigs;
  char want[512];

  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  assert_null (sigs.engine);
  snprintf (want, sizeof want,
            "no signatures loaded from %s (no database files in it); "
            "use --database or --test-signatures", tmpdir);
  assert_string_equal (ov_last_error (), want);

  /* Even when test signatures are asked for: the user named it. */
  o.test_signatures = true;
  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  assert_string_equal (ov_last_error (), want);
}

static void
test_missing_database_is_an_error (void **state)
{
  char path[512];
  const char *dbs[] = { path };
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1, .test_signatures = true };
  struct ov_sigs sigs;

  snprintf (path, sizeof path, "%s/nonexistent.cvd", tmpdir);
  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  assert_non_null (strstr (ov_last_error (), path));
  assert_non_null (strstr (ov_last_error (), "No such file or directory"));
}

static void
test_bad_ndb_line_names_the_file (void **state)
{
  char path[512];
  const char *dbs[] = { path };
  const char *ndb = "Good.Sig:0:*:6f7673636e6e\n"
                    "Bad.Sig:0:*:not-hex-at-all\n";
  struct ov_sigs_options o = { .databases = dbs, .ndatabases = 1 };
  struct ov_sigs sigs;

  write_file ("broken.ndb", ndb, strlen (ndb));
  snprintf (path, sizeof path, "%s/broken.ndb", tmpdir);
  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  assert_non_null (strstr (ov_last_error (), path));
  assert_non_null (strstr (ov_last_error (), "Malformed database"));
  assert_non_null (strstr (ov_last_error (), "line 2"));

  /* Through the directory, the file is named too (by libclamav). */
  snprintf (path, sizeof path, "%s", tmpdir);
  assert_int_equal (ov_sigs_load (&o, &sigs), -1);
  assert_non_null (strstr (ov_last_error (), "broken.ndb"));
  assert_non_null (strstr (ov_last_error (), "line 2"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ndb_text_is_embedded),
    cmocka_unit_test (test_signatures_detect_eicar_only),
    cmocka_unit_test (test_version_names_test_signatures),
    cmocka_unit_test_setup_teardown (test_version_counts_custom_files, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_version_string_names_signed_databases, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_empty_directory_is_an_error, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_missing_database_is_an_error, make_tmpdir, remove_tmpdir),
    cmocka_unit_test_setup_teardown (test_bad_ndb_line_names_the_file, make_tmpdir, remove_tmpdir),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
