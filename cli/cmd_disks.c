/* ovscan — registering disks: `add`, `list`, `remove`, and opening the
 * state database for every command that needs it. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/qemu_img.h"
#include "cli/add_live.h"
#include "cli/fleet.h"
#include "cow/cow.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fault.h"
#include "common/quote.h"
#include "common/units.h"
#include "db/fleet.h"
#include "db/inspection.h"
#include "db/state.h"
#include "scanner/tracker_layers.h"

const char *ov_state_path;

struct ov_state *
ov_cli_open_state (void)
{
  CLEANUP_FREE char *def = NULL;
  const char *path = ov_state_path;
  struct ov_state *st;

  if (path == NULL) {
    if ((def = ov_state_default_path ()) == NULL) {
      ov_cli_error ("%s", ov_last_error ());
      return NULL;
    }
    path = def;
  }
  st = ov_state_open (path);
  if (st == NULL)
    ov_cli_error ("%s", ov_last_error ());
  return st;
}

/* A disk name: 1-64 bytes of [A-Za-z0-9._-], not starting with '-' or '.'. */
static bool
valid_name (const char *s)
{
  size_t n = strlen (s), i;
  if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.')
    return false;
  for (i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && !strchr ("._-", s[i]))
      return false;
  return true;
}

/* qemu-img's own probe, once, at `add` time: later opens always pass the
 * recorded format (probing a guest-writable raw disk at every poll would let
 * the guest turn it into a qcow2 naming a host file as its backing file). */
static char *
probe_format (const char *image)
{
  const char *args[] = { "info", "--output=json", "--", image, NULL };
  struct ov_qemu_img_result r;
  struct ov_image_info info;
  char *format = NULL;

  if (ov_qemu_img_run (args, 60, &r) == -1)
    return NULL;
  if (r.status != 0) {
    CLEANUP_FREE char *q = ov_quote_path (r.err ? r.err : "");
    ov_error ("%s: qemu-img info failed: %s", image, q ? q : "");
  }
  else if (ov_image_info_parse (r.out, r.out_len, image, &info) == 0) {
    format = strdup (info.format);
    ov_image_info_free (&info);
  }
  ov_qemu_img_result_free (&r);
  return format;
}

static void
add_usage (FILE *fp)
{
  fprintf (fp,
"Usage: ovscan [--state DB] add NAME --image FILE [OPTIONS]\n"
"Register a VM disk image for polling.  Nothing is read until the first\n"
"poll, which is full and arms the tracker.\n"
"\n"
"Options:\n"
"      --image FILE              the disk image (the VM must be shut down\n"
"                                while it is polled)\n"
"  -f, --format FMT              image format; default: probed once, now\n"
"      --tracker bitmap|full|layers  bitmap (default): QEMU persistent dirty\n"
"                                bitmaps, qcow2 only; full: every poll reads\n"
"                                every file (for raw and other formats);\n"
"                                layers: a qcow2 overlay over a shared base:\n"
"                                the base is scanned once for every VM on it,\n"
"                                each poll freezes the top layer and reads\n"
"                                only what the VM's own layers hold\n"
"      --max-chain N             layers: own layers kept (top + frozen, 2-32,\n"
"                                default 3); older covered ones are merged\n"
"      --bitmap                  layers: also keep a dirty bitmap in the top\n"
"                                layer; each poll then reads the bitmap or\n"
"                                the layers, whichever is cheaper (a bitmap\n"
"                                poll rotates and merges nothing)\n"
"      --bitmap-granularity N    bytes per bitmap bit (default 4096; 512 to\n"
"                                2G, a power of 2)\n"
"\n"
"A running VM's disk (polled live, over its QMP monitor):\n"
"  ovscan add NAME --qmp SOCKET --node NODE-NAME | --drive ID\n"
"  ovscan add NAME --image TOP --tracker layers --qmp SOCKET --node N | --drive ID\n"
"                                (its copy-on-write layers rotate and merge\n"
"                                while it runs: blockdev-snapshot, block-commit)\n"
"      --qmp SOCKET              the VM's QMP monitor (unix socket)\n"
"      --node NODE-NAME          the disk's qcow2 format node\n"
"      --drive ID                or its -drive / device id\n"
"      --nbd-socket SOCKET       the VM's own NBD server, if it runs one\n"
"                                (default: ovscan starts one per poll)\n");
}

enum { OPT_IMAGE = OV_OPT_FIRST_COMMAND_OPTION, OPT_TRACKER, OPT_GRANULARITY,
       OPT_MAX_CHAIN, OPT_QMP, OPT_NODE, OPT_DRIVE, OPT_NBD_SOCKET,
       OPT_LAYERS_BITMAP };

int
ov_cmd_add (int argc, char **argv)
{
  static const struct option long_options[] = {
    { "image", required_argument, NULL, OPT_IMAGE },
    { "format", required_argument, NULL, 'f' },
    { "tracker", required_argument, NULL, OPT_TRACKER },
    { "bitmap-granularity", required_argument, NULL, OPT_GRANULARITY },
    { "max-chain", required_argument, NULL, OPT_MAX_CHAIN },
    { "bitmap", no_argument, NULL, OPT_LAYERS_BITMAP },
    { "qmp", required_argument, NULL, OPT_QMP },
    { "node", required_argument, NULL, OPT_NODE },
    { "drive", required_argument, NULL, OPT_DRIVE },
    { "nbd-socket", required_argument, NULL, OPT_NBD_SOCKET },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *image = NULL, *format = NULL, *tracker = "bitmap";
  uint64_t granularity = 4096, max_chain = OV_COW_DEFAULT_MAX_LAYERS;
  CLEANUP_FREE char *base_name = NULL;
  CLEANUP_FREE char *abs_image = NULL, *probed = NULL;
  CLEANUP_FREE char *first_bitmap = NULL;
  bool layers_bitmap = false;
  bool live_layers;
  struct ov_disk_record rec = { 0 };
  struct ov_add_live live = { 0 };
  struct ov_state *st = NULL;
  int c, status = OV_EXIT_ERROR;

  optind = 1;
  while ((c = getopt_long (argc, argv, "f:h", long_options, NULL)) != -1) {
    switch (c) {
    case OPT_IMAGE: image = optarg; break;
    case 'f': format = optarg; break;
    case OPT_TRACKER: tracker = optarg; break;
    case OPT_QMP: live.qmp = optarg; break;
    case OPT_NODE: live.node = optarg; break;
    case OPT_DRIVE: live.drive = optarg; break;
    case OPT_NBD_SOCKET: live.nbd_socket = optarg; break;
    case OPT_LAYERS_BITMAP: layers_bitmap = true; break;
    case OPT_GRANULARITY:
      if (ov_parse_size (optarg, &granularity) == -1) {
        ov_cli_error ("%s", ov_last_error ());
        return OV_EXIT_ERROR;
      }
      break;
    case OPT_MAX_CHAIN:
      if (ov_parse_size (optarg, &max_chain) == -1 ||
          max_chain < OV_COW_MIN_MAX_LAYERS || max_chain > OV_COW_MAX_MAX_LAYERS) {
        ov_cli_error ("add: --max-chain must be a number from %d to %d",
                      OV_COW_MIN_MAX_LAYERS, OV_COW_MAX_MAX_LAYERS);
        return OV_EXIT_ERROR;
      }
      break;
    case 'h': add_usage (stdout); return OV_EXIT_CLEAN;
    default: fprintf (stderr, "Try 'ovscan add --help'.\n"); return OV_EXIT_ERROR;
    }
  }
  /* --tracker layers of a running VM takes both (cli/fleet_live.c). */
  live_layers = live.qmp && strcmp (tracker, "layers") == 0;
  if (optind != argc - 1 || (live_layers && image == NULL) ||
      (!live_layers && (image == NULL) == (live.qmp == NULL))) {
    ov_cli_error ("add: expected NAME and either --image FILE or --qmp SOCKET "
                  "(both with --tracker layers)");
    fprintf (stderr, "Try 'ovscan add --help'.\n");
    return OV_EXIT_ERROR;
  }
  if (!valid_name (argv[optind])) {
    ov_cli_error ("add: invalid name '%s' (1-64 letters, digits, '.', '_' or '-')",
                  argv[optind]);
    return OV_EXIT_ERROR;
  }
  if (strcmp (tracker, "bitmap") != 0 && strcmp (tracker, "full") != 0 &&
      strcmp (tracker, "layers") != 0) {
    ov_cli_error ("add: --tracker must be 'bitmap', 'full' or 'layers', not '%s'", tracker);
    return OV_EXIT_ERROR;
  }
  if (granularity < 512 || granularity > (1ULL << 31) ||
      (granularity & (granularity - 1)) != 0) {
    ov_cli_error ("add: --bitmap-granularity must be a power of 2 from 512 to 2G");
    return OV_EXIT_ERROR;
  }
  if (layers_bitmap && (strcmp (tracker, "layers") != 0 || live.qmp)) {
    ov_cli_error ("add: --bitmap is for an image added with --tracker layers");
    return OV_EXIT_ERROR;
  }
  if (live.qmp) {                               /* cli/add_live.c */
    if ((st = ov_cli_open_state ()) == NULL)
      return OV_EXIT_ERROR;
    rec.name = argv[optind];
    rec.granularity = (uint32_t) granularity;
    status = live_layers
      ? ov_cli_add_live_layers (st, &rec, image, &live, (unsigned) max_chain)
      : ov_cli_add_live (st, &rec, &live);
    ov_state_close (st);
    return status;
  }
  if ((abs_image = realpath (image, NULL)) == NULL) {
    ov_cli_error ("add: %s: %s", image, strerror (errno));
    return OV_EXIT_ERROR;
  }
  if (format == NULL) {
    if ((probed = probe_format (abs_image)) == NULL) {
      ov_cli_error ("add: %s", ov_last_error ());
      return OV_EXIT_ERROR;
    }
    format = probed;
  }
  if (strcmp (tracker, "layers") == 0 && strcmp (format, "qcow2") != 0) {
    ov_cli_error ("add: %s is %s: --tracker layers needs a qcow2 overlay over a base",
                  abs_image, format);
    return OV_EXIT_ERROR;
  }
  if (strcmp (tracker, "bitmap") == 0 && strcmp (format, "qcow2") != 0) {
    ov_cli_error ("add: %s is %s: only qcow2 images can hold QEMU dirty bitmaps; "
                  "add it with --tracker full (every poll then reads every file)",
                  abs_image, format);
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  rec.name = argv[optind];
  rec.image = abs_image;
  rec.format = (char *) format;
  rec.tracker = (char *) tracker;
  rec.granularity = (uint32_t) granularity;
  if (strcmp (tracker, "layers") == 0) {        /* cli/fleet_poll.c */
    /* scanner/tracker_layers_bitmap.c: ovscan-1 in TOP before the row that
     * names it; a failed add drops it again (a kill in between leaves it:
     * the next add drops it as a leftover). */
    if (layers_bitmap &&
        ov_layers_bitmap_create (abs_image, rec.granularity, &first_bitmap) == -1) {
      ov_cli_error ("add: %s", ov_last_error ());
      goto out;
    }
    rec.bitmap = first_bitmap;
    ov_fault_point ("add-after-bitmap");
    if (ov_fleet_add_vm (st, &rec, (unsigned) max_chain, &base_name) == -1) {
      ov_cli_error ("add: %s", ov_last_error ());
      if (first_bitmap)
        ov_qemu_img_bitmap_remove (abs_image, format, first_bitmap);
    }
    else {
      printf ("added %s: %s (qcow2 overlay on %s), tracker layers, max chain %u%s%s\n",
              rec.name, abs_image, base_name, (unsigned) max_chain,
              first_bitmap ? ", dirty bitmap " : "", first_bitmap ? first_bitmap : "");
      status = OV_EXIT_CLEAN;
    }
    rec.bitmap = NULL;
  }
  else if (ov_state_add_disk (st, &rec) == -1)
    ov_cli_error ("add: %s", ov_last_error ());
  else {
    printf ("added %s: %s (%s), tracker %s%s\n", rec.name, abs_image, format,
            tracker, strcmp (tracker, "full") == 0
            ? " (no write tracking: every poll reads every file)" : "");
    status = OV_EXIT_CLEAN;
  }
 out:
  ov_state_close (st);
  return status;
}

static int
print_disk (void *opaque, const struct ov_disk_record *r)
{
  struct ov_state *st = opaque;
  uint64_t files = 0, runs = 0;
  char when[32] = "never";
  CLEANUP_FREE char *os = NULL;
  struct ov_poll_record p;

  if (r->last_poll && ov_state_get_poll (st, r->last_poll, &p) == 0) {
    time_t t = (time_t) p.finished;
    strftime (when, sizeof when, "%Y-%m-%d %H:%M", localtime (&t));
    ov_poll_record_clear (&p);
  }
  ov_state_count_files (st, r->id, &files, &runs);
  printf ("%-20s %-7s %-6s %-16s %8llu  %s\n", r->name,
          r->qmp_socket ? "live" : r->tracker, r->format,
          when, (unsigned long long) files, r->image);
  /* Inspected disks (ovscan inspect): their OS on a line of its own. */
  if (ov_state_os_summary (st, r->id, &os) == 0 && os) {
    CLEANUP_FREE char *qos = ov_quote_path (os);       /* guest bytes */
    printf ("%-20s os: %s\n", "", qos ? qos : "?");
  }
  return 0;
}

int
ov_cmd_list (int argc, char **argv)
{
  struct ov_state *st;
  int ret;

  if (argc > 1) {
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
      printf ("Usage: ovscan [--state DB] list\nList the registered disks.\n");
      return OV_EXIT_CLEAN;
    }
    ov_cli_error ("list: unexpected argument '%s'", argv[1]);
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  printf ("%-20s %-7s %-6s %-16s %8s  %s\n", "NAME", "TRACKER", "FORMAT",
          "LAST POLL", "FILES", "IMAGE");
  ret = ov_state_list_disks (st, print_disk, st);
  if (ret == 0)
    ret = ov_fleet_print (st);               /* cli/fleet_list.c */
  if (ret == -1)
    ov_cli_error ("list: %s", ov_last_error ());
  ov_state_close (st);
  return ret == -1 ? OV_EXIT_ERROR : OV_EXIT_CLEAN;
}

/* A shared base's disk row goes only after the last VM on it. */
static int
refuse_used_base (struct ov_state *st, const struct ov_disk_record *rec)
{
  CLEANUP_FREE char *names = NULL;
  uint64_t n;

  if (rec->tracker == NULL || strcmp (rec->tracker, "base") != 0)
    return 0;
  if (ov_fleet_base_users (st, rec->id, &n, &names) == -1) {
    ov_cli_error ("remove: %s", ov_last_error ());
    return -1;
  }
  if (n == 0)
    return 0;
  ov_cli_error ("remove: %s is the shared base of %" PRIu64 " VM%s (%s): "
                "remove %s first", rec->name, n, n == 1 ? "" : "s", names,
                n == 1 ? "it" : "them");
  return -1;
}

int
ov_cmd_remove (int argc, char **argv)
{
  struct ov_disk_record rec = { 0 };
  struct ov_state *st;
  int r, status = OV_EXIT_ERROR;

  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
    printf ("Usage: ovscan [--state DB] remove NAME\n"
            "Forget a disk: its polls, files and verdicts.  ovscan's dirty bitmap\n"
            "is removed from the image when the image can be written.\n");
    return OV_EXIT_CLEAN;
  }
  if (argc != 2) {
    ov_cli_error ("remove: expected one NAME");
    return OV_EXIT_ERROR;
  }
  if ((st = ov_cli_open_state ()) == NULL)
    return OV_EXIT_ERROR;
  r = ov_state_get_disk (st, argv[1], &rec);
  if (r == 1)
    ov_cli_error ("remove: no disk named '%s'", argv[1]);
  else if (r == 0 && refuse_used_base (st, &rec) == -1)
    r = 2;                       /* said */
  else if (r == 0) {
    /* A running VM's layers: nothing of ovscan's in the VM to remove. */
    if (rec.qmp_socket && strcmp (rec.tracker, "layers") != 0)
      ov_cli_forget_live (&rec);
    else if (rec.bitmap &&
        ov_qemu_img_bitmap_remove (rec.image, rec.format, rec.bitmap) == -1)
      fprintf (stderr, "%s: warning: %s (remove it with 'qemu-img bitmap --remove')\n",
               ov_program_name, ov_last_error ());
    if (ov_state_remove_disk (st, argv[1]) == 0) {
      printf ("removed %s\n", argv[1]);
      status = OV_EXIT_CLEAN;
    }
  }
  if (r == -1 || (r == 0 && status != OV_EXIT_CLEAN))
    ov_cli_error ("remove: %s", ov_last_error ());
  ov_disk_record_clear (&rec);
  ov_state_close (st);
  return status;
}
