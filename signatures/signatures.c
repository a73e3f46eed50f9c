/* ovscan — loading ClamAV databases into one compiled engine (see
 * signatures.h for the rules: default directory, test signatures, errors).
 *
 * Order, as clamscan: cl_init (once) → cl_engine_new → cl_load of each path
 * with CL_DB_STDOPT → engine limits → cl_engine_compile.  Before each cl_load
 * the path is inventoried (db_inventory.c) for the version string and to
 * tell an empty directory from a broken one.  Cost: dominated by cl_load and
 * compile of the real databases (seconds for a full main+daily set);
 * the test signatures alone load in a few milliseconds.
 */
#include "signatures/signatures.h"
#include "signatures/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <clamav.h>

#include "common/clock.h"
#include "common/error.h"

/* clamscan 1.4 leaves these at libclamav's defaults (CLI_DEFAULT_MAXFILESIZE,
 * CLI_DEFAULT_MAXSCANSIZE in libclamav/default.h) unless asked. */
#define CLAMSCAN_MAX_FILESIZE (100LL * 1024 * 1024)
#define CLAMSCAN_MAX_SCANSIZE (400LL * 1024 * 1024)

/* "a, b, c" for messages. */
static void
join_paths (const char *const *paths, size_t n, char *buf, size_t size)
{
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && used + 1 < size; i++) {
    int w = snprintf (buf + used, size - used, "%s%s", i ? ", " : "", paths[i]);
    if (w < 0)
      break;
    used += (size_t) w;
  }
}

static int
set_limit (struct cl_engine *engine, enum cl_engine_field field,
           const char *name, uint64_t value, long long fallback)
{
  long long v = value == 0 ? fallback
    : value > (uint64_t) INT64_MAX ? INT64_MAX : (long long) value;
  cl_error_t r = cl_engine_set_num (engine, field, v);
  if (r != CL_SUCCESS) {
    ov_error ("cl_engine_set_num (%s, %lld): %s", name, v, cl_strerror (r));
    return -1;
  }
  return 0;
}

/* Inventory one database path.  Returns 1 (to be loaded), 0 (an absent or
 * empty default directory skipped because test signatures are asked for),
 * or -1 + ov_error. */
static int
inventory_path (struct ov_db_inventory *inv, const char *path,
                bool is_default, bool test_signatures)
{
  struct stat st;
  int found;

  if (stat (path, &st) == -1) {
    int err = errno;
    if (is_default && test_signatures)
      return 0;
    if (is_default)
      ov_error ("no signatures loaded from %s (%s); use --database or --test-signatures",
                path, strerror (err));
    else
      ov_error ("database %s: %s", path, strerror (err));
    return -1;
  }

  found = ov_db_inventory_add (inv, path);
  if (found == -1) {
    ov_error_prefix ("database %s", path);
    return -1;
  }
  if (found == 0) {
    if (is_default && test_signatures)
      return 0;
    ov_error ("no signatures loaded from %s (no database files in it); "
              "use --database or --test-signatures", path);
    return -1;
  }
  return 1;
}

/* Load one database path (after inventory_path said 1).  A database that
 * libclamav refuses, or a YARA file whose rules it dropped (libclamav only
 * warns), is an error naming the file and line (load_errors.c). */
static int
load_path (struct cl_engine *engine, const struct ov_db_inventory *inv,
           const char *path, unsigned int *signo)
{
  cl_error_t r;

  ov_clamav_clear_messages ();
  r = cl_load (path, engine, signo, CL_DB_STDOPT);
  if (r != CL_SUCCESS || ov_sigs_messages_report_drop (ov_clamav_messages ())) {
    ov_sigs_explain_failure (inv, path, r);
    return -1;
  }
  return 0;
}

static const char *const default_paths[] = { OV_DEFAULT_DATABASE_DIR };

/* The paths to load: options->databases, or the default directory. */
static const char *const *
database_paths (const struct ov_sigs_options *options, size_t *n, bool *is_default)
{
  *is_default = options->ndatabases == 0;
  *n = *is_default ? 1 : options->ndatabases;
  return *is_default ? default_paths : options->databases;
}

int
ov_sigs_inventory (const struct ov_sigs_options *options,
                   struct ov_db_inventory *inv)
{
  bool is_default;
  size_t npaths;
  const char *const *paths = database_paths (options, &npaths, &is_default);

  for (size_t i = 0; i < npaths; i++)
    if (inventory_path (inv, paths[i], is_default, options->test_signatures) == -1)
      return -1;
  return 0;
}

int
ov_sigs_version (const struct ov_sigs_options *options, char **version)
{
  struct ov_db_inventory inv = { .cvds = VECTOR_INIT, .files = VECTOR_INIT };
  int r = -1;

  *version = NULL;
  if (ov_sigs_inventory (options, &inv) == 0
      && (*version = ov_db_version_string (&inv, options->test_signatures)) != NULL)
    r = 0;
  ov_db_inventory_free (&inv);
  return r;
}

int
ov_sigs_load (const struct ov_sigs_options *options, struct ov_sigs *out)
{
  size_t npaths;
  bool is_default;
  const char *const *paths = database_paths (options, &npaths, &is_default);
  struct ov_db_inventory inv = { .cvds = VECTOR_INIT, .files = VECTOR_INIT };
  struct cl_engine *engine = NULL;
  unsigned int signo = 0;
  double start = ov_monotonic_seconds ();
  cl_error_t r;
  char *version;

  memset (out, 0, sizeof *out);
  if ((engine = ov_sigs_new_engine ()) == NULL)
    return -1;

  for (size_t i = 0; i < npaths; i++) {
    int r1 = inventory_path (&inv, paths[i], is_default, options->test_signatures);
    if (r1 == -1 || (r1 == 1 && load_path (engine, &inv, paths[i], &signo) == -1))
      goto fail;
  }

  if (options->test_signatures && ov_sigs_load_test (engine, &signo) == -1)
    goto fail;

  if (signo == 0) {
    char list[1024];
    join_paths (paths, npaths, list, sizeof list);
    ov_error ("no signatures loaded from %s (its database files hold none); "
              "use --database or --test-signatures", list);
    goto fail;
  }

  if (set_limit (engine, CL_ENGINE_MAX_FILESIZE, "CL_ENGINE_MAX_FILESIZE",
                 options->max_filesize, CLAMSCAN_MAX_FILESIZE) == -1
      || set_limit (engine, CL_ENGINE_MAX_SCANSIZE, "CL_ENGINE_MAX_SCANSIZE",
                    options->max_scansize, CLAMSCAN_MAX_SCANSIZE) == -1)
    goto fail;

  ov_clamav_clear_messages ();
  r = cl_engine_compile (engine);
  if (r != CL_SUCCESS) {
    ov_error ("cl_engine_compile: %s (libclamav: %s)", cl_strerror (r),
              ov_clamav_messages ());
    goto fail;
  }

  version = ov_db_version_string (&inv, options->test_signatures);
  if (version == NULL)
    goto fail;

  ov_db_inventory_free (&inv);
  out->engine = engine;
  out->count = signo;
  out->version = version;
  out->load_seconds = ov_monotonic_seconds () - start;
  return 0;

 fail:
  ov_db_inventory_free (&inv);
  cl_engine_free (engine);
  return -1;
}

void
ov_sigs_free (struct ov_sigs *sigs)
{
  if (sigs == NULL)
    return;
  if (sigs->engine)
    cl_engine_free (sigs->engine);
  free (sigs->version);
  sigs->engine = NULL;
  sigs->version = NULL;
}
