/* ovscan — `ovscan scan TARGET`: full scan of one disk, clamscan-like output.
 *
 * Text mode: one "PATH: SIGNATURE FOUND" line per detection on stdout (one
 * per hard link), problems on stderr, then a summary.  JSON mode: one object
 * per line on stdout — "type":"file" per file result, "type":"error" per
 * problem, "type":"summary" last — keys documented in docs/ovscan.1.
 * Guest names are always quoted with ov_quote_path() first.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clamav.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/units.h"
#include "common/vector.h"
#include "scanner/fullscan.h"


struct scan_output {
  const char *target;
  bool json;
  bool quiet;
  struct ov_progress *progress;
  uint64_t done_files, done_bytes;
  const struct ov_sigs *sigs;          /* valid during the run */
  unsigned sig_count;
  char *sig_version;
  double sig_load_seconds;
  char fs_list[512];                   /* "p1 ext4, p2 ntfs" */
};

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan scan TARGET [OPTIONS]\n"
"Scan every file of a VM disk from outside the VM, without mounting it.\n"
"\n"
"TARGET is a disk image of any format qemu-nbd reads (qcow2 with its backing\n"
"chain, raw, vmdk, vhdx, ...) or an NBD URI (nbd://HOST/EXPORT,\n"
"nbd+unix:///EXPORT?socket=PATH) such as a running VM's export.\n"
"\n"
"Options:\n"
OV_ENGINE_OPTIONS_HELP
"      --exclude GLOB      skip files whose guest path matches GLOB (fnmatch;\n"
"                          tried on 'p2:/x/y' and '/x/y'; repeatable)\n"
"  -f, --format FMT        image format (qcow2, raw, vmdk, ...); default: probed\n"
"      --json              JSON lines: one object per file, then a summary\n"
"  -q, --quiet             print only detections and errors\n"
"  -h, --help              show this help\n"
"\n"
"Guest paths: '/etc/passwd' on a partitionless disk, 'pN:/etc/passwd' on\n"
"partition N otherwise; an NTFS stream is 'file:stream'; a file no directory\n"
"names is '/$OrphanFiles/inode-N'.  Bytes that are not printable UTF-8 are\n"
"shown as \\xNN, a backslash as \\\\.\n"
"\n"
"Exit status: 0 nothing found, 1 something found, 2 an error kept part of\n"
"the disk from being scanned (when both, 1).\n");
}

static void
json_kv_string (FILE *fp, const char *key, const char *value, bool comma)
{
  fprintf (fp, "\"%s\":", key);
  if (value)
    ov_json_write_string (fp, value);
  else
    fputs ("null", fp);
  if (comma)
    putc (',', fp);
}

static void
on_signatures (void *opaque, const struct ov_sigs *sigs)
{
  struct scan_output *out = opaque;
  out->sig_count = sigs->count;
  out->sig_version = sigs->version ? strdup (sigs->version) : NULL;
  out->sig_load_seconds = sigs->load_seconds;
}

static void
on_filesystem (void *opaque, const struct ov_fs *fs)
{
  struct scan_output *out = opaque;
  size_t n = strlen (out->fs_list);

  if (fs->error) {
    ov_progress_clear (out->progress);
    if (out->json) {
      fputs ("{\"type\":\"error\",", stdout);
      json_kv_string (stdout, "fs", fs->label, true);
      fprintf (stdout, "\"offset\":%llu,", (unsigned long long) fs->offset);
      json_kv_string (stdout, "error", fs->error, false);
      fputs (fs->not_scanned_ok ? ",\"fatal\":false}\n" : ",\"fatal\":true}\n",
             stdout);
    }
    if (!fs->not_scanned_ok || !out->quiet)
      fprintf (stderr, "%s: %s: not scanned: %s\n",
               ov_program_name, out->target, fs->error);
    return;
  }
  snprintf (out->fs_list + n, sizeof out->fs_list - n, "%s%s%s%s",
            n ? ", " : "", fs->label, fs->label[0] ? " " : "", fs->type);
}

static void
on_walked (void *opaque, const struct ov_fs *fs, uint64_t files, uint64_t bytes)
{
  struct scan_output *out = opaque;
  ov_progress_add_total (out->progress, files, bytes);
}

static void
on_error (void *opaque, const struct ov_fs *fs, const char *message)
{
  struct scan_output *out = opaque;
  CLEANUP_FREE char *q = ov_quote_path (message);

  ov_progress_clear (out->progress);
  if (out->json) {
    fputs ("{\"type\":\"error\",", stdout);
    json_kv_string (stdout, "fs", fs ? fs->label : NULL, true);
    json_kv_string (stdout, "error", q, false);
    fputs (",\"fatal\":true}\n", stdout);
  }
  fprintf (stderr, "%s: %s: %s\n", ov_program_name, out->target, q ? q : message);
}

static void
print_file_json (const struct ov_file *f, const struct ov_scan_result *r)
{
  size_t i;
  CLEANUP_FREE char *path = ov_quote_path (f->paths[0]);
  CLEANUP_FREE char *err = r->error ? ov_quote_path (r->error) : NULL;

  fputs ("{\"type\":\"file\",", stdout);
  json_kv_string (stdout, "path", path, true);
  fputs ("\"paths\":[", stdout);
  for (i = 0; i < f->npaths; i++) {
    CLEANUP_FREE char *p = ov_quote_path (f->paths[i]);
    if (i)
      putc (',', stdout);
    ov_json_write_string (stdout, p ? p : "");
  }
  fputs ("],", stdout);
  json_kv_string (stdout, "fs", f->fs->label, true);
  json_kv_string (stdout, "fstype", f->fs->type, true);
  fprintf (stdout, "\"inode\":%llu,\"size\":%llu,\"orphan\":%s,",
           (unsigned long long) f->inode, (unsigned long long) f->size,
           f->orphan ? "true" : "false");
  json_kv_string (stdout, "verdict", ov_verdict_to_string (r->verdict), true);
  json_kv_string (stdout, "signature",
                  r->verdict == OV_VERDICT_INFECTED ? r->signature : NULL, true);
  json_kv_string (stdout, "error", err, false);
  fputs ("}\n", stdout);
}

static void
on_result (void *opaque, const struct ov_file *f, const struct ov_scan_result *r)
{
  struct scan_output *out = opaque;
  size_t i;

  out->done_files++;
  out->done_bytes += f->size;
  if (out->json) {
    print_file_json (f, r);
  }
  else if (r->verdict == OV_VERDICT_INFECTED) {
    ov_progress_clear (out->progress);
    for (i = 0; i < f->npaths; i++) {
      CLEANUP_FREE char *p = ov_quote_path (f->paths[i]);
      printf ("%s: %s FOUND\n", p ? p : "?", r->signature);
    }
    fflush (stdout);
  }
  else if (r->verdict == OV_VERDICT_ERROR) {
    CLEANUP_FREE char *p = ov_quote_path (f->paths[0]);
    ov_progress_clear (out->progress);
    fprintf (stderr, "%s: %s: %s: ERROR: %s\n", ov_program_name, out->target,
             p ? p : "?", r->error ? r->error : "scan failed");
  }
  ov_progress_update (out->progress, out->done_files, out->done_bytes);
}

static int
exit_status (const struct ov_fullscan_summary *s)
{
  if (s->infected)
    return OV_EXIT_INFECTED;
  if (s->errors || s->volume_errors || s->walk_errors)
    return OV_EXIT_ERROR;
  return OV_EXIT_CLEAN;
}

static void
print_summary (const struct scan_output *out, const struct ov_fullscan_summary *s)
{
  char bytes[32];

  if (out->json) {
    fputs ("{\"type\":\"summary\",", stdout);
    json_kv_string (stdout, "target", out->target, true);
    fprintf (stdout,
             "\"filesystems\":%u,\"volume_errors\":%u,\"files\":%llu,"
             "\"infected\":%llu,\"errors\":%llu,\"skipped\":%llu,"
             "\"metadata_errors\":%llu,\"bytes_scanned\":%llu,"
             "\"seconds\":%.3f,\"signatures\":%u,",
             s->filesystems, s->volume_errors, (unsigned long long) s->files,
             (unsigned long long) s->infected, (unsigned long long) s->errors,
             (unsigned long long) s->skipped,
             (unsigned long long) s->walk_errors,
             (unsigned long long) s->bytes, s->seconds, out->sig_count);
    json_kv_string (stdout, "signature_version", out->sig_version, true);
    fprintf (stdout, "\"engine_load_seconds\":%.3f,\"exit_status\":%d}\n",
             out->sig_load_seconds, exit_status (s));
    return;
  }
  printf ("\n----------- SCAN SUMMARY -----------\n");
  printf ("Target: %s\n", out->target);
  printf ("Filesystems: %u scanned%s%s%s", s->filesystems,
          out->fs_list[0] ? " (" : "", out->fs_list, out->fs_list[0] ? ")" : "");
  if (s->volume_errors)
    printf (", %u not read", s->volume_errors);
  printf ("\nKnown viruses: %u\n", out->sig_count);
  printf ("Signature version: %s\n", out->sig_version ? out->sig_version : "unknown");
  printf ("Engine version: %s\n", cl_retver ());
  printf ("Engine load time: %.3f sec\n", out->sig_load_seconds);
  printf ("Scanned files: %llu\n", (unsigned long long) s->files);
  printf ("Infected files: %llu\n", (unsigned long long) s->infected);
  printf ("Skipped files: %llu\n", (unsigned long long) s->skipped);
  printf ("Errors: %llu\n",
          (unsigned long long) (s->errors + s->volume_errors + s->walk_errors));
  printf ("Data scanned: %s\n", ov_format_size (s->bytes, bytes, sizeof bytes));
  printf ("Time: %.3f sec (%d m %d s)\n", s->seconds,
          (int) s->seconds / 60, (int) s->seconds % 60);
}

enum { OPT_EXCLUDE = OV_OPT_FIRST_COMMAND_OPTION, OPT_JSON };

int
ov_cmd_scan (int argc, char **argv)
{
  static const struct option long_options[] = {
    OV_ENGINE_LONG_OPTIONS,
    { "exclude", required_argument, NULL, OPT_EXCLUDE },
    { "format", required_argument, NULL, 'f' },
    { "json", no_argument, NULL, OPT_JSON },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct ov_engine_options eo;
  ov_cli_strings excludes = VECTOR_INIT;
  struct ov_fullscan_options options = { 0 };
  struct ov_fullscan_events events = {
    .on_signatures = on_signatures, .on_filesystem = on_filesystem,
    .on_walked = on_walked, .on_error = on_error, .on_result = on_result,
  };
  struct ov_fullscan_summary summary;
  struct scan_output out = { 0 };
  int c, r, status = OV_EXIT_ERROR;

  ov_engine_options_init (&eo);
  optind = 1;
  while ((c = getopt_long (argc, argv, OV_ENGINE_SHORT_OPTIONS "f:qh",
                           long_options, NULL)) != -1) {
    if ((r = ov_engine_option (&eo, c, optarg)) == -1)
      goto done;
    if (r == 1)
      continue;
    switch (c) {
    case OPT_EXCLUDE:
      if (ov_cli_strings_append (&excludes, optarg) == -1) goto oom;
      break;
    case 'f': options.disk.format = optarg; break;
    case OPT_JSON: out.json = true; break;
    case 'q': out.quiet = true; break;
    case 'h': usage (stdout); status = OV_EXIT_CLEAN; goto done;
    default:
      fprintf (stderr, "Try 'ovscan scan --help'.\n");
      goto done;
    }
  }
  if (optind != argc - 1) {
    ov_cli_error ("scan: expected exactly one TARGET (a disk image or NBD URI)");
    fprintf (stderr, "Try 'ovscan scan --help'.\n");
    goto done;
  }
  out.target = argv[optind];
  ov_engine_options_finish (&eo);
  options.target = out.target;
  options.sigs = &eo.sigs;
  options.limits = eo.limits;
  options.excludes = excludes.ptr;
  options.nexcludes = excludes.len;
  options.workers = eo.threads;
  out.progress = ov_progress_new (stderr, !out.quiet && !out.json);
  events.opaque = &out;

  if (ov_fullscan_run (&options, &events, &summary) == -1) {
    ov_progress_clear (out.progress);
    ov_cli_error ("%s", ov_last_error ());
    goto done;
  }
  ov_progress_clear (out.progress);
  if (!out.quiet || out.json)
    print_summary (&out, &summary);
  status = exit_status (&summary);
  goto done;

 oom:
  ov_cli_error ("out of memory");
 done:
  ov_progress_free (out.progress);
  free (out.sig_version);
  ov_engine_options_free (&eo);
  ov_cli_strings_reset (&excludes);
  return status;
}
