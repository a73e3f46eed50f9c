/* ovscan — what a set of ClamAV database paths holds, and its version string.
 *
 * Signed containers (.cvd/.cld/.cud) are read with cl_cvdhead (a 512-byte
 * header: version, signature count, build time); a name found twice (daily.cvd
 * next to daily.cld, or two directories) keeps the highest version.  Every
 * other database file is counted as "custom".  The string puts the three
 * official databases first (main, daily, bytecode), then any other container
 * in name order; only the daily database carries its build time, as in
 * `clamscan --version`.  Custom files are identified by a SHA-256 of their
 * base names and contents (so a changed custom signature changes the version
 * and triggers the rolling rescan).  Every file found is also listed in
 * inv->files for `ovscan sigs`.  Cost: one readdir, one small header read
 * per container, one read of each custom file; done once per process (and
 * once more by a poll run that checks for stale files).
 */
#include "signatures/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <clamav.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/sha256.h"

static const char *const database_extensions[] = {
  ".db", ".hdb", ".hdu", ".fp", ".mdb", ".mdu", ".hsb", ".hsu", ".sfp",
  ".msb", ".msu", ".ndb", ".ndu", ".ldb", ".ldu", ".sdb", ".zmd", ".rmd",
  ".pdb", ".gdb", ".wdb", ".cbc", ".ftm", ".cfg", ".cvd", ".cld", ".cud",
  ".cdb", ".cat", ".crb", ".idb", ".ioc", ".yar", ".yara", ".pwdb", ".ign",
  ".ign2", ".imp",
};
static const char *const container_extensions[] = { ".cvd", ".cld", ".cud" };

static bool
ends_with_ci (const char *s, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  return n > m && strcasecmp (s + n - m, suffix) == 0;
}

bool
ov_db_is_database_name (const char *name)
{
  for (size_t i = 0; i < sizeof database_extensions / sizeof *database_extensions; i++)
    if (ends_with_ci (name, database_extensions[i]))
      return true;
  return false;
}

static bool
is_container_name (const char *name)
{
  for (size_t i = 0; i < sizeof container_extensions / sizeof *container_extensions; i++)
    if (ends_with_ci (name, container_extensions[i]))
      return true;
  return false;
}

/* Record PATH in inv->files (info filled by the caller). */
static int
list_file (struct ov_db_inventory *inv, const char *path,
           const struct ov_sigdb_file *info)
{
  struct ov_sigdb_file f = *info;

  f.path = strdup (path);
  if (f.path == NULL) {
    ov_error_errno (errno, "strdup");
    return -1;
  }
  if (ov_sigdb_file_vector_append (&inv->files, f) == -1) {
    free (f.path);
    return -1;
  }
  return 0;
}

static int
add_container (struct ov_db_inventory *inv, const char *path, const char *name)
{
  struct cl_cvd *head;
  struct ov_cvd_entry entry;
  struct ov_sigdb_file info = { .container = true };
  size_t len = strlen (name) - 4;   /* without ".cvd" */

  head = cl_cvdhead (path);
  if (head == NULL)          /* unreadable header: cl_load will say why */
    return list_file (inv, path, &info);
  entry.version = head->version;
  entry.build_time = head->stime;
  info.version = head->version;
  info.signatures = head->sigs;
  info.build_time = head->stime;
  cl_cvdfree (head);
  if (list_file (inv, path, &info) == -1)
    return -1;

  for (size_t i = 0; i < inv->cvds.len; i++) {
    struct ov_cvd_entry *e = &inv->cvds.ptr[i];
    if (strlen (e->name) == len && strncmp (e->name, name, len) == 0) {
      if (entry.version > e->version) {
        e->version = entry.version;
        e->build_time = entry.build_time;
      }
      return 0;
    }
  }
  entry.name = strndup (name, len);
  if (entry.name == NULL) {
    ov_error_errno (errno, "strndup");
    return -1;
  }
  if (ov_cvd_vector_append (&inv->cvds, entry) == -1) {
    free (entry.name);
    return -1;
  }
  return 0;
}

/* SHA-256 of a file's content.  An unreadable file gets the digest of
 * nothing (cl_load will say why it cannot be read). */
static void
digest_file (const char *path, uint8_t out[32])
{
  struct ov_sha256 ctx;
  char buf[65536];
  size_t n;
  FILE *fp = fopen (path, "rbe");

  ov_sha256_init (&ctx);
  if (fp) {
    while ((n = fread (buf, 1, sizeof buf, fp)) > 0)
      ov_sha256_update (&ctx, buf, n);
    fclose (fp);
  }
  ov_sha256_final (&ctx, out);
}

static int
add_file (struct ov_db_inventory *inv, const char *path, const char *name)
{
  struct ov_sigdb_file info = { .container = false };

  if (is_container_name (name))
    return add_container (inv, path, name);
  digest_file (path, info.sha256);
  if (list_file (inv, path, &info) == -1)
    return -1;
  inv->custom_files++;
  return 0;
}

int
ov_db_inventory_add (struct ov_db_inventory *inv, const char *path)
{
  struct stat st;
  DIR *dir;
  struct dirent *d;
  int found = 0;

  if (stat (path, &st) == -1) {
    ov_error_errno (errno, "%s", path);
    return -1;
  }
  if (!S_ISDIR (st.st_mode)) {
    const char *base = strrchr (path, '/');
    if (add_file (inv, path, base ? base + 1 : path) == -1)
      return -1;
    return 1;
  }

  dir = opendir (path);
  if (dir == NULL) {
    ov_error_errno (errno, "opendir: %s", path);
    return -1;
  }
  while ((d = readdir (dir)) != NULL) {
    CLEANUP_FREE char *full = NULL;
    if (d->d_name[0] == '.' || !ov_db_is_database_name (d->d_name))
      continue;
    if (asprintf (&full, "%s/%s", path, d->d_name) == -1) {
      full = NULL;
      ov_error_errno (errno, "asprintf");
      closedir (dir);
      return -1;
    }
    if (stat (full, &st) == -1 || !S_ISREG (st.st_mode))
      continue;
    if (add_file (inv, full, d->d_name) == -1) {
      closedir (dir);
      return -1;
    }
    found++;
  }
  closedir (dir);
  return found;
}

void
ov_db_inventory_free (struct ov_db_inventory *inv)
{
  for (size_t i = 0; i < inv->cvds.len; i++)
    free (inv->cvds.ptr[i].name);
  ov_cvd_vector_reset (&inv->cvds);
  for (size_t i = 0; i < inv->files.len; i++)
    free (inv->files.ptr[i].path);
  ov_sigdb_file_vector_reset (&inv->files);
  inv->custom_files = 0;
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

static int
compare_custom (const void *a, const void *b)
{
  const struct ov_sigdb_file *const *x = a, *const *y = b;
  int r = strcmp (base_name ((*x)->path), base_name ((*y)->path));
  return r ? r : memcmp ((*x)->sha256, (*y)->sha256, 32);
}

void
ov_db_custom_digest (const struct ov_db_inventory *inv, uint8_t out[32])
{
  const struct ov_sigdb_file **sorted = NULL;
  struct ov_sha256 ctx;
  size_t n = 0;

  ov_sha256_init (&ctx);
  if (inv->files.len > 0)
    sorted = malloc (inv->files.len * sizeof *sorted);
  for (size_t i = 0; sorted && i < inv->files.len; i++)
    if (!inv->files.ptr[i].container)
      sorted[n++] = &inv->files.ptr[i];
  if (n > 0)
    qsort (sorted, n, sizeof *sorted, compare_custom);
  for (size_t i = 0; i < n; i++) {
    const char *name = base_name (sorted[i]->path);
    ov_sha256_update (&ctx, name, strlen (name) + 1);
    ov_sha256_update (&ctx, sorted[i]->sha256, 32);
  }
  /* Out of memory: the digest of nothing (a version that matches no file,
   * so at worst files are rescanned). */
  free (sorted);
  ov_sha256_final (&ctx, out);
}

/* Official databases first, in this order; the rest by name. */
static int
container_rank (const char *name)
{
  if (strcmp (name, "main") == 0) return 0;
  if (strcmp (name, "daily") == 0) return 1;
  if (strcmp (name, "bytecode") == 0) return 2;
  return 3;
}

static int
compare_containers (const void *a, const void *b)
{
  const struct ov_cvd_entry *x = a, *y = b;
  int rx = container_rank (x->name), ry = container_rank (y->name);
  if (rx != ry)
    return rx - ry;
  return strcmp (x->name, y->name);
}

char *
ov_db_version_string (const struct ov_db_inventory *inv, bool test_signatures)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *fp;
  struct ov_cvd_entry *sorted = NULL;
  const char *sep = "";

  fp = open_memstream (&buf, &size);
  if (fp == NULL) {
    ov_error_errno (errno, "open_memstream");
    return NULL;
  }
  if (inv->cvds.len > 0) {
    sorted = malloc (inv->cvds.len * sizeof *sorted);
    if (sorted == NULL) {
      fclose (fp);
      free (buf);
      ov_error_errno (errno, "malloc");
      return NULL;
    }
    memcpy (sorted, inv->cvds.ptr, inv->cvds.len * sizeof *sorted);
    qsort (sorted, inv->cvds.len, sizeof *sorted, compare_containers);
  }
  for (size_t i = 0; i < inv->cvds.len; i++) {
    fprintf (fp, "%s%s %u", i ? ", " : "", sorted[i].name, sorted[i].version);
    if (strcmp (sorted[i].name, "daily") == 0 && sorted[i].build_time != 0) {
      time_t t = (time_t) sorted[i].build_time;
      struct tm tm;
      char when[64];
      if (gmtime_r (&t, &tm) != NULL
          && strftime (when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm) > 0)
        fprintf (fp, " (%s)", when);
    }
    sep = " + ";
  }
  free (sorted);
  if (inv->custom_files > 0) {
    uint8_t digest[32];
    ov_db_custom_digest (inv, digest);
    fprintf (fp, "%s%u custom file%s (sha256 ", sep, inv->custom_files,
             inv->custom_files == 1 ? "" : "s");
    for (int i = 0; i < 6; i++)
      fprintf (fp, "%02x", digest[i]);
    fputc (')', fp);
    sep = " + ";
  }
  if (test_signatures)
    fprintf (fp, "%stest signatures", sep);
  if (fclose (fp) != 0 || buf == NULL) {
    free (buf);
    ov_error ("open_memstream: out of memory");
    return NULL;
  }
  return buf;
}
