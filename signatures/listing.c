/* ovscan — the databases behind a set of signature paths, one by one, for
 * `ovscan sigs`.
 *
 * Signed containers (.cvd/.cld/.cud) are described from their headers
 * (version, build time, signature count): loading main.cvd alone costs
 * seconds and hundreds of MB.  Each custom file is loaded alone into a
 * scratch engine (ov_sigs_try_file): its own signature count, and its own
 * error naming file and line, so that one broken file does not hide the
 * others.  The test signatures, when asked for, are one more entry.  Cost:
 * one engine per custom file; nothing is kept loaded.
 */
#include "signatures/internal.h"
#include "signatures/signatures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>

#include "common/error.h"

static int
compare_paths (const void *a, const void *b)
{
  const struct ov_sigs_db *x = a, *y = b;
  return strcmp (x->path, y->path);
}

static int
describe_test_signatures (struct ov_sigs_db *db)
{
  struct cl_engine *engine;

  db->kind = "test";
  db->path = strdup ("(built-in test signatures)");
  if (db->path == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  if ((engine = ov_sigs_new_engine ()) == NULL)
    return -1;
  if (ov_sigs_load_test (engine, &db->signatures) == -1) {
    db->error = strdup (ov_last_error ());
  }
  cl_engine_free (engine);
  return 0;
}

int
ov_sigs_list (const struct ov_sigs_options *options, struct ov_sigs_listing *out)
{
  struct ov_db_inventory inv = { .cvds = VECTOR_INIT, .files = VECTOR_INIT };
  size_t n;

  memset (out, 0, sizeof *out);
  if (ov_clamav_init () == -1)
    return -1;
  if (ov_sigs_inventory (options, &inv) == -1)
    goto fail;
  if ((out->version = ov_db_version_string (&inv, options->test_signatures)) == NULL)
    goto fail;
  n = inv.files.len + (options->test_signatures ? 1 : 0);
  out->dbs = calloc (n ? n : 1, sizeof *out->dbs);
  if (out->dbs == NULL) {
    ov_error_errno (errno, "calloc");
    goto fail;
  }
  for (size_t i = 0; i < inv.files.len; i++) {
    const struct ov_sigdb_file *f = &inv.files.ptr[i];
    struct ov_sigs_db *db = &out->dbs[out->ndbs++];

    db->path = strdup (f->path);
    if (db->path == NULL) {
      ov_error_errno (errno, "strdup");
      goto fail;
    }
    if (f->container) {
      db->kind = "signed";
      db->version = f->version;
      db->build_time = f->build_time;
      db->signatures = f->signatures;
      if (f->version == 0 && asprintf (&db->error, "%s: unreadable signed database header",
                                       f->path) == -1)
        db->error = NULL;
      continue;
    }
    db->kind = "custom";
    for (int k = 0; k < 32; k++)
      snprintf (db->sha256 + 2 * k, 3, "%02x", f->sha256[k]);
    if (ov_sigs_try_file (f->path, &db->signatures, &db->error) == -1)
      goto fail;
  }
  if (out->ndbs > 1)
    qsort (out->dbs, out->ndbs, sizeof *out->dbs, compare_paths);
  if (options->test_signatures
      && describe_test_signatures (&out->dbs[out->ndbs++]) == -1)
    goto fail;
  for (size_t i = 0; i < out->ndbs; i++)
    if (out->dbs[i].error)
      out->errors++;
  ov_db_inventory_free (&inv);
  return 0;

 fail:
  ov_db_inventory_free (&inv);
  ov_sigs_listing_free (out);
  return -1;
}

void
ov_sigs_listing_free (struct ov_sigs_listing *l)
{
  for (size_t i = 0; i < l->ndbs; i++) {
    free (l->dbs[i].path);
    free (l->dbs[i].error);
  }
  free (l->dbs);
  free (l->version);
  memset (l, 0, sizeof *l);
}
