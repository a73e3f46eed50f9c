/* ovscan — `ovscan inspect NAME… [--json]`: identify each registered disk's
 * guest OS with libguestfs (fsmap/inspect.h) and cache it in the state db
 * (db/inspection.h): OS, version, hostname, and the mountpoint of every
 * filesystem.  From then on polls and reports of that disk give guest paths
 * ("/boot/grub/grub.cfg", "C:\Users\…") with the filesystem still named in
 * JSON ("fs"), and polls refresh the cache when /etc/fstab (or a Windows
 * registry hive) is among their changed files (cli/guest_refresh.c).
 * `--show` prints the cached inspection without starting the appliance.
 * The appliance starts once for all the disks named.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/guest_refresh.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "db/inspection.h"
#include "db/state.h"
#include "fsmap/appliance.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: %s inspect [OPTIONS] NAME...\n"
"Identify the guest OS of registered disks (libguestfs) and remember it:\n"
"OS, version, hostname and the mountpoint of each filesystem.  Polls and\n"
"reports then give guest paths.\n"
"\n"
"      --show    print what is remembered; do not inspect again\n"
"      --json    one JSON object per disk\n"
"  -h, --help    this help\n", ov_program_name);
}

/* Inspection strings come from the guest (/etc/hostname, os-release,
 * fstab): any bytes.  Quoted (valid UTF-8, no control characters) before
 * they are printed, as text or JSON; NULL only on ENOMEM. */
static char *
q (const char *s)
{
  return ov_quote_path (s ? s : "");
}

static void
print_inspection (const char *name, const struct ov_inspection *in, bool json)
{
  CLEANUP_FREE char *os = NULL, *distro = NULL, *product = NULL,
    *hostname = NULL;
  size_t i;

  if (json) {
    fputs ("{\"vm\":", stdout);
    ov_json_write_string (stdout, name);
  }
  if (in->os_type == NULL) {
    if (json)
      fputs (",\"os\":null}\n", stdout);
    else
      printf ("%s: no operating system found\n", name);
    return;
  }
  os = q (in->os_type);
  distro = q (in->distro);
  product = q (in->product);
  hostname = q (in->hostname);
  if (!os || !distro || !product || !hostname) {
    fprintf (stderr, "%s: %s: out of memory\n", ov_program_name, name);
    if (json)
      fputs (",\"os\":null}\n", stdout);
    return;
  }
  if (json) {
    fputs (",\"os\":", stdout);
    ov_json_write_string (stdout, os);
    fputs (",\"distro\":", stdout);
    ov_json_write_string (stdout, distro);
    fputs (",\"product\":", stdout);
    ov_json_write_string (stdout, product);
    printf (",\"version\":\"%d.%d\",\"hostname\":", in->major, in->minor);
    ov_json_write_string (stdout, hostname);
    fputs (",\"mounts\":[", stdout);
  }
  else
    printf ("%s: %s (%s %s %d.%d)%s%s\n", name, product, os, distro,
            in->major, in->minor, hostname[0] ? ", hostname " : "", hostname);
  for (i = 0; i < in->nmounts; i++) {
    CLEANUP_FREE char *label = q (in->mounts[i].fs_label);
    CLEANUP_FREE char *mp = q (in->mounts[i].mountpoint);
    if (json) {
      fputs (i ? ",{\"fs\":" : "{\"fs\":", stdout);
      ov_json_write_string (stdout, label ? label : "?");
      fputs (",\"mountpoint\":", stdout);
      ov_json_write_string (stdout, mp ? mp : "?");
      putchar ('}');
    }
    else
      printf ("  %-12s %s\n", mp ? mp : "?",
              in->mounts[i].fs_label[0] ? (label ? label : "?")
              : "(whole disk)");
  }
  if (json)
    fputs ("]}\n", stdout);
}

int
ov_cmd_inspect (int argc, char **argv)
{
  static const struct option opts[] = {
    { "show", no_argument, NULL, 's' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool show = false, json = false;
  struct ov_state *st;
  int c, i, status = OV_EXIT_CLEAN;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 's': show = true; break;
    case 'j': json = true; break;
    case 'h': usage (stdout); return OV_EXIT_CLEAN;
    default: usage (stderr); return OV_EXIT_ERROR;
    }
  }
  if (optind >= argc) {
    usage (stderr);
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  for (i = optind; i < argc; i++) {
    struct ov_disk_record rec = { 0 };
    if (ov_state_get_disk (st, argv[i], &rec) == 0 && !show)
      ov_appliance_register (rec.image, rec.format);
    ov_disk_record_clear (&rec);
  }
  for (i = optind; i < argc; i++) {
    struct ov_disk_record rec = { 0 };
    struct ov_inspection in;
    int r = ov_state_get_disk (st, argv[i], &rec);

    if (r != 0) {
      ov_cli_error ("inspect: %s: %s", argv[i],
                    r == 1 ? "no such disk (see 'ovscan list')" : ov_last_error ());
      status = OV_EXIT_ERROR;
      continue;
    }
    if (show)
      r = ov_state_get_inspection (st, rec.id, &in, NULL);
    else
      r = ov_guest_inspect_and_store (st, &rec, &in);
    if (r == -1) {
      CLEANUP_FREE char *q = ov_quote_path (ov_last_error ());
      ov_cli_error ("inspect: %s: %s", argv[i], q ? q : "?");
      status = OV_EXIT_ERROR;
    }
    else if (r == 1)
      printf ("%s: not inspected yet\n", argv[i]);
    else {
      print_inspection (argv[i], &in, json);
      ov_inspection_clear (&in);
    }
    ov_disk_record_clear (&rec);
  }
  ov_state_close (st);
  return status;
}
