/* ovscan — printing a poll and its dirty-file list, the same way for
 * `poll` (right after it) and `report dirty` (any time later): text table,
 * JSON (one object per poll) or CSV.  Guest paths are quoted first. */
#include "cli/poll_output.h"

#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/table_output.h"
#include "cli/guest_refresh.h"
#include "common/cleanup.h"
#include "common/quote.h"
#include "common/units.h"
#include "db/inspection.h"

static void
json_str (const char *key, const char *value, bool comma)
{
  printf ("\"%s\":", key);
  if (value) {
    CLEANUP_FREE char *q = ov_quote_path (value);
    ov_json_write_string (stdout, q ? q : "");
  }
  else
    fputs ("null", stdout);
  if (comma)
    putchar (',');
}

struct file_printer {
  enum ov_report_format format;
  const char *vm;
  int64_t poll;
  unsigned count;
  struct ov_inspection guest;  /* the disk's inspection: guest paths */
  bool have_guest;
};

static void
csv_field (const char *s, bool last)
{
  ov_csv_write_field (stdout, s);
  putchar (last ? '\n' : ',');
}

static int
print_file (void *opaque, const struct ov_poll_file *f)
{
  struct file_printer *pr = opaque;
  /* Guest path ("/boot/x", "C:\\x") when the disk was inspected
   * (cli/guest_refresh.h); the fsmap path stays in JSON "fs_path". */
  CLEANUP_FREE char *gpath = pr->have_guest
    ? ov_guest_display_path (&pr->guest, f->fs_label, f->path) : NULL;
  const char *shown = gpath ? gpath : f->path;
  CLEANUP_FREE char *path = ov_quote_path (shown);
  char size[32];

  switch (pr->format) {
  case OV_REPORT_JSON:
    if (pr->count)
      putchar (',');
    putchar ('{');
    json_str ("path", shown, true);
    json_str ("fs", f->fs_label, true);
    if (gpath)
      json_str ("fs_path", f->path, true);
    printf ("\"inode\":%" PRIu64 ",\"size\":%" PRIu64 ",", f->inode, f->size);
    json_str ("change", f->change, true);
    json_str ("verdict", f->verdict, true);
    json_str ("signature", f->signature, true);
    json_str ("error", f->error, false);
    putchar ('}');
    break;
  case OV_REPORT_CSV:
    snprintf (size, sizeof size, "%" PRIu64, f->size);
    csv_field (pr->vm, false);
    csv_field (shown, false);
    csv_field (f->fs_label, false);
    {
      char inode[32];
      snprintf (inode, sizeof inode, "%" PRIu64, f->inode);
      csv_field (inode, false);
    }
    csv_field (size, false);
    csv_field (f->change, false);
    csv_field (f->verdict, false);
    csv_field (f->signature, false);
    csv_field (f->error, false);
    printf ("%" PRId64 "\n", pr->poll);
    break;
  case OV_REPORT_TEXT:
    printf ("  %-8s %-8s %10s  %s%s%s\n", f->change, f->verdict,
            ov_format_size (f->size, size, sizeof size), path ? path : "?",
            f->signature ? "  " : "", f->signature ? f->signature : "");
    break;
  }
  pr->count++;
  return 0;
}

int
ov_print_poll (struct ov_state *st, const char *vm,
               const struct ov_poll_record *p, const char *walked,
               enum ov_report_format format)
{
  struct file_printer pr = { .format = format, .vm = vm, .poll = p->id };
  char dirty[32];
  int r;

  pr.have_guest = ov_state_get_inspection (st, p->disk_id, &pr.guest, NULL) == 0;

  switch (format) {
  case OV_REPORT_JSON:
    fputs ("{\"type\":\"poll\",", stdout);
    json_str ("vm", vm, true);
    printf ("\"poll\":%" PRId64 ",", p->id);
    json_str ("tracker", p->tracker, true);
    json_str ("mode", p->mode, true);
    json_str ("reason", p->reason, true);
    json_str ("metadata_walk", walked, true);
    printf ("\"started\":%.3f,\"dirty_bytes\":%" PRIu64 ",\"duration_s\":%.3f,"
            "\"files_scanned\":%" PRIu64 ",\"bytes_scanned\":%" PRIu64 ","
            "\"infected\":%" PRIu64 ",\"errors\":%" PRIu64 ",",
            p->started, p->dirty_bytes, p->finished - p->started,
            p->files_scanned, p->bytes_scanned, p->infected, p->errors);
    json_str ("signature_version", p->sig_version, true);
    fputs ("\"files\":[", stdout);
    r = ov_state_list_poll_files (st, p->id, print_file, &pr);
    fputs ("]}\n", stdout);
    break;
  case OV_REPORT_CSV:
    r = ov_state_list_poll_files (st, p->id, print_file, &pr);
    break;
  default:
    printf ("%s: poll %" PRId64 ", %s%s%s%s, %s dirty, %.2f s: %" PRIu64
            " scanned, %" PRIu64 " infected, %" PRIu64 " errors\n",
            vm, p->id, p->mode, p->reason ? " (" : "", p->reason ? p->reason : "",
            p->reason ? ")" : "",
            ov_format_size (p->dirty_bytes, dirty, sizeof dirty),
            p->finished - p->started, p->files_scanned, p->infected, p->errors);
    if (walked && *walked)
      printf ("  metadata walked: %s\n", walked);
    r = ov_state_list_poll_files (st, p->id, print_file, &pr);
    break;
  }
  fflush (stdout);
  if (pr.have_guest)
    ov_inspection_clear (&pr.guest);
  return r;
}

void
ov_print_csv_header (void)
{
  puts ("vm,path,fs,inode,size,change,verdict,signature,error,poll");
}
