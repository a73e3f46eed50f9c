/* ovscan — unit tests of the host-side parser of the appliance's XFS
 * listing (fsmap/xfs_walk.c, format in fsmap/appliance/fs_walk.c), fed
 * crafted listings: hostile names (newlines, tabs, backslashes, invalid
 * UTF-8, names that spell records) come back byte for byte; a truncated
 * listing, a missing or lying end record, bad hex, NUL bytes and
 * oversized lines are refused as a whole; oversized sizes or extent counts
 * skip only that file; pre-1970 times are kept; modes are octal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsmap/internal.h"
#include "common/error.h"
#include "fsmap/xfs_listing.h"

struct got {
  struct ov_file *files[64];
  size_t nfiles;
  char *problems[64];
  size_t nproblems;
};

static int
on_file (void *opaque, struct ov_file *f)
{
  struct got *g = opaque;
  assert_true (g->nfiles < 64);
  g->files[g->nfiles++] = f;
  return 0;
}

static void
on_problem (void *opaque, const struct ov_fs *fs, const char *msg)
{
  struct got *g = opaque;
  (void) fs;
  assert_true (g->nproblems < 64);
  g->problems[g->nproblems++] = strdup (msg);
}

static void
got_free (struct got *g)
{
  for (size_t i = 0; i < g->nfiles; i++)
    ov_file_free (g->files[i]);
  for (size_t i = 0; i < g->nproblems; i++)
    free (g->problems[i]);
  memset (g, 0, sizeof *g);
}

/* A 1 GiB XFS at disk byte 1 MiB, label "p1". */
static struct ov_fs test_fs = {
  .label = "p1", .offset = 1 << 20, .size = 1 << 30, .type = "xfs",
};

/* Parse `len` bytes of listing text; returns the parser's result. */
static int
parse_bytes (const char *text, size_t len, struct got *g)
{
  char path[] = "/tmp/test-xfs-listing.XXXXXX";
  int fd = mkstemp (path), r;
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, len), (ssize_t) len);
  close (fd);
  memset (g, 0, sizeof *g);
  r = ov_xfs_listing_parse (&test_fs, path, on_file, on_problem, g);
  unlink (path);
  return r;
}

static int
parse (const char *text, struct got *g)
{
  return parse_bytes (text, strlen (text), g);
}

/* The walker's encoding of a path (test's own encoder). */
static void
hex (char *out, const char *path, size_t len)
{
  for (size_t i = 0; i < len; i++)
    sprintf (out + 2 * i, "%02x", (unsigned char) path[i]);
  out[2 * len] = '\0';
}

#define NAME(s) { s, sizeof s - 1 }

static void
hostile_names_exact (void **state)
{
  static const struct { const char *name; size_t len; } names[] = {
    NAME ("/new\nline"),
    NAME ("/tab\there and space"),
    NAME ("/back\\slash\\n"),
    NAME ("/\xff\xfe invalid \xc3(utf8"),
    /* names that spell the listing's own records */
    NAME ("/x\nF 99 4096 100644 0 0 0 0 0 0 1 1 2f6576696c\nE 0 0 4096 0"),
    NAME ("/y\nZ 0 0\n"),
    NAME ("/z\nX 2 2f"),
    NAME ("/dir\n/\r\x1b[2J"),
    NAME ("/2f61 Z 1 0"),
  };
  size_t n = sizeof names / sizeof names[0], i;
  char *listing = malloc (65536), *p = listing, h[256];
  struct got g;

  for (i = 0; i < n; i++) {
    hex (h, names[i].name, names[i].len);
    p += sprintf (p, "F %zu 4096 100644 0 0 1700000000 5 1700000000 6 1 1 %s\n"
                  "E 0 %zu 4096 1\n", 100 + i, h, 4096 * (i + 1));
  }
  p += sprintf (p, "Z %zu 0\n", n);
  assert_int_equal (parse (listing, &g), 0);
  assert_int_equal (g.nfiles, n);
  assert_int_equal (g.nproblems, 0);
  for (i = 0; i < n; i++) {
    const struct ov_file *f = g.files[i];
    assert_int_equal (f->npaths, 1);
    assert_int_equal (strlen (f->paths[0]), 3 + names[i].len);
    assert_memory_equal (f->paths[0], "p1:", 3);
    assert_memory_equal (f->paths[0] + 3, names[i].name, names[i].len);
    assert_int_equal (f->inode, 100 + i);
    assert_int_equal (f->size, 4096);
    assert_int_equal (f->nruns, 1);
    assert_int_equal (f->runs[0].disk_offset, (1 << 20) + 4096 * (i + 1));
  }
  got_free (&g);
  free (listing);
}

#define GOOD_F "F 7 10 100644 0 0 1 0 1 0 1 1 2f61\nE 0 0 4096 1\n"

static void
end_record_required (void **state)
{
  struct got g;

  assert_int_equal (parse (GOOD_F "Z 1 0\n", &g), 0);
  assert_int_equal (g.nfiles, 1);
  got_free (&g);
  /* Walk died before the end record: nothing delivered. */
  assert_int_equal (parse (GOOD_F, &g), -1);
  assert_int_equal (g.nfiles, 0);
  assert_non_null (strstr (ov_last_error (), "no end record"));
  /* End record counting records that are not there (one was lost). */
  assert_int_equal (parse (GOOD_F "Z 2 0\n", &g), -1);
  assert_int_equal (parse (GOOD_F "X 5 2f62\nZ 1 0\n", &g), -1);
  got_free (&g);
  assert_int_equal (parse (GOOD_F "X 5 2f62\nZ 1 1\n", &g), 0);
  assert_int_equal (g.nfiles, 1);
  assert_int_equal (g.nproblems, 1);
  got_free (&g);
  /* Records after the end; a malformed end record. */
  assert_int_equal (parse (GOOD_F "Z 1 0\n" GOOD_F, &g), -1);
  assert_int_equal (parse (GOOD_F "Z 1 0 \n", &g), -1);
  assert_int_equal (parse (GOOD_F "Z 1 -0\n", &g), -1);
  assert_int_equal (parse (GOOD_F "Z 1\n", &g), -1);
  assert_int_equal (g.nfiles, 0);
}

static void
truncated_listings (void **state)
{
  struct got g;
  const char *full = GOOD_F "Z 1 0\n";
  size_t len = strlen (full);

  /* Every proper prefix of a good listing is refused. */
  for (size_t cut = 0; cut < len; cut++) {
    assert_int_equal (parse_bytes (full, cut, &g), -1);
    assert_int_equal (g.nfiles, 0);
  }
  /* Fewer extent lines than announced. */
  assert_int_equal (parse ("F 7 10 100644 0 0 1 0 1 0 1 2 2f61\nE 0 0 4096 1\n"
                           "Z 1 0\n", &g), -1);
}

static void
malformed_paths (void **state)
{
  struct got g;
  static const char *bad[] = {
    "F 7 10 100644 0 0 1 0 1 0 1 0 2F61\nZ 1 0\n",      /* uppercase hex */
    "F 7 10 100644 0 0 1 0 1 0 1 0 2f6\nZ 1 0\n",       /* odd length */
    "F 7 10 100644 0 0 1 0 1 0 1 0 2f0061\nZ 1 0\n",    /* NUL byte */
    "F 7 10 100644 0 0 1 0 1 0 1 0 61\nZ 1 0\n",        /* not absolute */
    "F 7 10 100644 0 0 1 0 1 0 1 0 \nZ 1 0\n",          /* empty */
    "F 7 10 100644 0 0 1 0 1 0 1 0 2f61 2f62\nZ 1 0\n", /* two paths */
    "F 7 10 100644 0 0 1 0 1 0 1 0 2f61\t\nZ 1 0\n",    /* trailing byte */
    "F 7  10 100644 0 0 1 0 1 0 1 0 2f61\nZ 1 0\n",     /* double space */
    "F 7 -10 100644 0 0 1 0 1 0 1 0 2f61\nZ 1 0\n",     /* negative size */
    "F 7 10 100644 0 0 - 0 1 0 1 0 2f61\nZ 1 0\n",      /* bare minus */
    "F 7 10 100644 0 0 1 0 1 0 1 99999999999999999999 2f61\nZ 1 0\n",
    "G 7\nZ 0 0\n",                                     /* unknown record */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal (parse (bad[i], &g), -1);
    assert_int_equal (g.nfiles, 0);
  }
  /* A NUL byte inside a line (not from hex). */
  assert_int_equal (parse_bytes ("F 7 10 100644 0 0 1 0 1 0 1 0 2f\0" "61\nZ 1 0\n",
                                 40, &g), -1);
}

/* The walker prints st_mode in octal (%o): 100644 is a regular 0644 file,
 * not decimal 100644 (which gave 04324); a digit 8 is not octal. */
static void
modes_are_octal (void **state)
{
  struct got g;

  (void) state;
  assert_int_equal (parse ("F 7 10 100644 1000 1001 1 0 1 0 1 1 2f61\nE 0 4096 4096 1\n"
                           "F 8 10 100755 0 0 1 0 1 0 1 1 2f62\nE 0 8192 4096 1\n"
                           "F 9 10 104750 0 0 1 0 1 0 1 1 2f63\nE 0 12288 4096 1\n"
                           "Z 3 0\n", &g), 0);
  assert_int_equal (g.nfiles, 3);
  assert_int_equal (g.files[0]->mode, 0644);
  assert_int_equal (g.files[0]->uid, 1000);
  assert_int_equal (g.files[0]->gid, 1001);
  assert_int_equal (g.files[1]->mode, 0755);
  assert_int_equal (g.files[2]->mode, 04750);       /* setuid kept, type dropped */
  got_free (&g);
  assert_int_equal (parse ("F 7 10 100648 0 0 1 0 1 0 1 1 2f61\nE 0 0 4096 1\n"
                           "Z 1 0\n", &g), -1);
  assert_int_equal (g.nfiles, 0);
}

static void
oversized_fields (void **state)
{
  struct got g;
  size_t cap = 4 * OV_MAX_PATH + 1024, i;
  char *big = malloc (cap), *p;
  FILE *fp;
  char path[] = "/tmp/test-xfs-listing.XXXXXX";
  int fd;

  /* A line longer than the walker can write: refused. */
  p = big + sprintf (big, "F 7 10 100644 0 0 1 0 1 0 1 0 2f");
  for (i = 0; i < OV_MAX_PATH + 200; i++)
    p += sprintf (p, "61");
  strcpy (p, "\nZ 1 0\n");
  assert_int_equal (parse (big, &g), -1);
  /* A path of OV_MAX_PATH + 1 bytes (line within bounds): refused. */
  p = big + sprintf (big, "F 7 10 100644 0 0 1 0 1 0 1 0 2f");
  for (i = 0; i < OV_MAX_PATH; i++)
    p += sprintf (p, "61");
  strcpy (p, "\nZ 1 0\n");
  assert_int_equal (parse (big, &g), -1);
  free (big);

  /* A 5 EiB sparse file: that file only is reported, the next is read. */
  assert_int_equal (parse ("F 8 5764607523034234880 100644 0 0 1 0 1 0 1 1 2f68756765\n"
                           "E 0 0 4096 1\n" GOOD_F "Z 2 0\n", &g), 0);
  assert_int_equal (g.nfiles, 1);
  assert_string_equal (g.files[0]->paths[0], "p1:/a");
  assert_int_equal (g.nproblems, 1);
  assert_non_null (strstr (g.problems[0], "/huge"));
  got_free (&g);

  /* More extents than OV_MAX_RUNS: skipped, its lines consumed. */
  fd = mkstemp (path);
  assert_true (fd >= 0);
  fp = fdopen (fd, "w");
  fprintf (fp, "F 9 %llu 100644 0 0 1 0 1 0 1 %u 2f66\n",
           (unsigned long long) (OV_MAX_RUNS + 1) * 8192, OV_MAX_RUNS + 1);
  for (i = 0; i < OV_MAX_RUNS + 1; i++)
    fprintf (fp, "E %zu %zu 4096 0\n", i * 8192, i * 8192 % (1 << 29));
  fputs (GOOD_F "Z 2 0\n", fp);
  fclose (fp);
  memset (&g, 0, sizeof g);
  assert_int_equal (ov_xfs_listing_parse (&test_fs, path, on_file, on_problem, &g), 0);
  unlink (path);
  assert_int_equal (g.nfiles, 1);
  assert_int_equal (g.nproblems, 1);
  assert_non_null (strstr (g.problems[0], "extents"));
  got_free (&g);
}

static void
per_file_problems (void **state)
{
  struct got g;

  /* Pre-1970 times are kept, not a reason to drop the listing. */
  assert_int_equal (parse ("F 7 10 100644 0 0 -315619200 1 -1 2 1 1 2f61\n"
                           "E 0 0 4096 1\nZ 1 0\n", &g), 0);
  assert_int_equal (g.nfiles, 1);
  assert_int_equal (g.files[0]->mtime, -315619200);
  assert_int_equal (g.files[0]->ctime, -1);
  got_free (&g);
  /* An extent past the filesystem; an extent flagged inline; a hard link. */
  assert_int_equal (parse ("F 7 10 100644 0 0 1 0 1 0 1 1 2f0a6f7574\n"
                           "E 0 1073741824 4096 1\n"
                           "F 8 10 100644 0 0 1 0 1 0 1 1 2f696e\n"
                           "E 0 0 4096 513\n"
                           "F 9 10 100644 0 0 1 0 1 0 2 1 2f6c31\nE 0 8192 4096 1\n"
                           "F 9 10 100644 0 0 1 0 1 0 2 1 2f6c32\nE 0 8192 4096 1\n"
                           "X 13 \nX 5 2f0a1b\nZ 4 2\n", &g), 0);
  assert_int_equal (g.nfiles, 1);
  assert_int_equal (g.files[0]->npaths, 2);
  assert_string_equal (g.files[0]->paths[0], "p1:/l1");
  assert_string_equal (g.files[0]->paths[1], "p1:/l2");
  assert_int_equal (g.nproblems, 4);
  /* Names in messages are quoted: no raw control bytes. */
  for (size_t i = 0; i < g.nproblems; i++)
    for (const char *c = g.problems[i]; *c; c++)
      assert_true ((unsigned char) *c >= 0x20);
  assert_non_null (strstr (g.problems[0], "\\nout"));
  assert_non_null (strstr (g.problems[3], "\\n\\x1b"));
  got_free (&g);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (hostile_names_exact),
    cmocka_unit_test (end_record_required),
    cmocka_unit_test (truncated_listings),
    cmocka_unit_test (malformed_paths),
    cmocka_unit_test (modes_are_octal),
    cmocka_unit_test (oversized_fields),
    cmocka_unit_test (per_file_problems),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
