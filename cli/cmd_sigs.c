/* ovscan — `ovscan sigs [-d PATH]... [--test-signatures] [--json] [--no-load]`:
 * the signature databases behind a set of paths, their versions and
 * signature counts, load errors naming file and line, and the version
 * string polls record (signatures/listing.c).  Unless --no-load, the whole
 * set is then loaded once, as a poll would, for the total count and the
 * load time.  Exit 0, or 2 if any database does not load. */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sig_options.h"
#include "cli/table_output.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan sigs [OPTIONS]\n"
"Show the signature databases a scan or poll with the same options would\n"
"load: each file with its version or content digest, its signature count\n"
"and load errors (file and line), then the signature version recorded\n"
"with every scanned file.\n"
"\n"
"Options:\n"
"  -d, --database PATH     ClamAV database directory or file (repeatable;\n"
"                          default: the configuration file's, else\n"
"                          " OV_DEFAULT_DATABASE_DIR ")\n"
"      --test-signatures   include ovscan's own test signatures\n"
"      --no-load           do not load the whole set (no total, no time)\n"
"      --json              one JSON object (see ovscan(1))\n"
"  -h, --help              show this help\n");
}

static void
print_json (const struct ov_sigs_listing *l, const struct ov_sigs *sigs,
            const char *load_error)
{
  fputs ("{\"version\":", stdout);
  ov_json_write_quoted (stdout, l->version);
  if (sigs)
    printf (",\"signatures\":%u,\"load_seconds\":%.3f", sigs->count, sigs->load_seconds);
  else
    fputs (",\"signatures\":null,\"load_seconds\":null", stdout);
  fputs (",\"load_error\":", stdout);
  ov_json_write_quoted (stdout, load_error);
  printf (",\"errors\":%u,\"databases\":[", l->errors);
  for (size_t i = 0; i < l->ndbs; i++) {
    const struct ov_sigs_db *db = &l->dbs[i];
    struct ov_row r = { .format = OV_REPORT_JSON };
    if (i)
      putchar (',');
    ov_row_begin (&r);
    ov_row_str (&r, "path", db->path);
    ov_row_str (&r, "kind", db->kind);
    ov_row_num (&r, "version", db->version, 0, strcmp (db->kind, "signed") == 0);
    ov_row_num (&r, "build_time", (double) db->build_time, 0, db->build_time != 0);
    ov_row_u64 (&r, "signatures", db->signatures);
    ov_row_str (&r, "sha256", db->sha256[0] ? db->sha256 : NULL);
    ov_row_str (&r, "error", db->error);
    putchar ('}');
  }
  fputs ("]}\n", stdout);
}

static void
print_text (const struct ov_sigs_listing *l, const struct ov_sigs *sigs,
            const char *load_error)
{
  char when[64];

  for (size_t i = 0; i < l->ndbs; i++) {
    const struct ov_sigs_db *db = &l->dbs[i];
    CLEANUP_FREE char *q = ov_quote_path (db->path);
    if (strcmp (db->kind, "signed") == 0)
      printf ("%-7s %9u sigs  version %u, built %s UTC  %s\n", db->kind,
              db->signatures, db->version,
              ov_format_time ((double) db->build_time, when, sizeof when), q ? q : "?");
    else if (strcmp (db->kind, "custom") == 0)
      printf ("%-7s %9u sigs  sha256 %.12s  %s\n", db->kind, db->signatures,
              db->sha256, q ? q : "?");
    else
      printf ("%-7s %9u sigs  %s\n", db->kind, db->signatures, q ? q : "?");
    if (db->error) {
      CLEANUP_FREE char *e = ov_quote_path (db->error);
      printf ("  ERROR: %s\n", e ? e : "?");
    }
  }
  printf ("version: %s\n", l->version);
  if (sigs)
    printf ("loaded: %u signatures in %.2f s\n", sigs->count, sigs->load_seconds);
  else if (load_error) {
    CLEANUP_FREE char *e = ov_quote_path (load_error);
    printf ("load failed: %s\n", e ? e : "?");
  }
}

enum { OPT_JSON = OV_OPT_FIRST_COMMAND_OPTION, OPT_NO_LOAD };

int
ov_cmd_sigs (int argc, char **argv)
{
  static const struct option long_options[] = {
    OV_ENGINE_LONG_OPTIONS,
    { "json", no_argument, NULL, OPT_JSON },
    { "no-load", no_argument, NULL, OPT_NO_LOAD },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_engine_options eo;
  struct ov_sigs_listing listing = { 0 };
  struct ov_sigs sigs = { 0 };
  bool json = false, load = true, loaded = false;
  CLEANUP_FREE char *load_error = NULL;
  int c, r, status = OV_EXIT_ERROR;

  ov_engine_options_init (&eo);
  optind = 1;
  while ((c = getopt_long (argc, argv, OV_ENGINE_SHORT_OPTIONS "h",
                           long_options, NULL)) != -1) {
    if ((r = ov_engine_option (&eo, c, optarg)) == -1)
      goto out;
    if (r == 1)
      continue;
    switch (c) {
    case OPT_JSON: json = true; break;
    case OPT_NO_LOAD: load = false; break;
    case 'h': usage (stdout); status = OV_EXIT_CLEAN; goto out;
    default: fprintf (stderr, "Try 'ovscan sigs --help'.\n"); goto out;
    }
  }
  if (optind != argc) {
    ov_cli_error ("sigs: unexpected argument '%s'", argv[optind]);
    goto out;
  }
  if (ov_sig_options_finish (&eo) == -1)
    goto out;
  if (ov_sigs_list (&eo.sigs, &listing) == -1) {
    ov_cli_error ("sigs: %s", ov_last_error ());
    goto out;
  }
  if (load && listing.errors == 0) {
    if (ov_sigs_load (&eo.sigs, &sigs) == 0)
      loaded = true;
    else
      load_error = strdup (ov_last_error ());
  }
  if (json)
    print_json (&listing, loaded ? &sigs : NULL, load_error);
  else
    print_text (&listing, loaded ? &sigs : NULL, load_error);
  for (size_t i = 0; i < listing.ndbs; i++)
    if (listing.dbs[i].error) {
      CLEANUP_FREE char *e = ov_quote_path (listing.dbs[i].error);
      ov_cli_error ("sigs: cannot load database %s", e ? e : "?");
    }
  if (load_error)
    ov_cli_error ("sigs: %s", load_error);
  status = listing.errors || load_error ? OV_EXIT_ERROR : OV_EXIT_CLEAN;
 out:
  if (loaded)
    ov_sigs_free (&sigs);
  ov_sigs_listing_free (&listing);
  ov_engine_options_free (&eo);
  return status;
}
