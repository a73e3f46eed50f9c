/* tracker-step — drive the offline dirty-bitmap tracker (backends/tracker.h)
 * one step at a time, for tests/integration/test-backends-bitmap-tracker.sh.
 *
 *   tracker-step [--format F] IMAGE info
 *        "format F", "size N", then "bitmap NAME GRANULARITY FLAGS" lines
 *        (FLAGS: comma list of enabled,in-use, or "-")
 *   tracker-step [--format F] IMAGE prepare BITMAP|- GENERATION GRANULARITY
 *        "frozen NAME" or "full REASON"
 *   tracker-step [--format F] IMAGE arm GENERATION GRANULARITY
 *        "successor NAME GENERATION"
 *   tracker-step [--format F] IMAGE read BITMAP
 *        one "OFFSET LENGTH" line per dirty extent
 *   tracker-step [--format F] IMAGE release BITMAP
 *   tracker-step [--format F] IMAGE poll BITMAP|- GENERATION GRANULARITY
 *        one whole poll as the orchestrator runs it: prepare; when
 *        incremental, read frozen's extents ("dirty OFFSET LENGTH"); arm
 *        ("successor NAME GENERATION"); then print "armed", and wait until
 *        stdin is closed (so a test can kill -9 us here, between arm and
 *        release); then release frozen ("released NAME").
 *   tracker-step run TIMEOUT ARGS…
 *        ov_qemu_img_run (qemu-img ARGS…) with TIMEOUT seconds: prints
 *        "status N" then qemu-img's stdout
 * Format defaults to qcow2.  On error: "tracker-step: MESSAGE" on stderr,
 * exit status 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/disk.h"
#include "backends/qemu_img.h"
#include "backends/tracker.h"
#include "common/error.h"

static void
die (void)
{
  fprintf (stderr, "tracker-step: %s\n", ov_last_error ());
  exit (1);
}

static void
usage (void)
{
  fprintf (stderr, "usage: tracker-step [--format F] IMAGE "
           "info|prepare B G GRAN|arm G GRAN|read B|release B|poll B G GRAN\n");
  exit (2);
}

static uint64_t
number (const char *s)
{
  char *end;
  uint64_t n;

  errno = 0;
  n = strtoull (s, &end, 10);
  if (errno || end == s || *end)
    usage ();
  return n;
}

static void
state_from (char **argv, struct ov_tracker_state *st)
{
  st->bitmap = strcmp (argv[0], "-") == 0 ? NULL : argv[0];
  st->generation = number (argv[1]);
  st->granularity = (uint32_t) number (argv[2]);
}

static int
print_dirty (const char *image, const char *format, const char *bitmap,
             const char *prefix)
{
  struct ov_disk_options o = { .format = format, .bitmap = bitmap };
  struct ov_disk *disk = ov_disk_open (image, &o);
  ov_extents dirty = VECTOR_INIT;
  size_t i;

  if (disk == NULL)
    return -1;
  if (ov_bitmap_read_dirty (disk, bitmap, &dirty) == -1) {
    ov_disk_close (disk);
    return -1;
  }
  ov_disk_close (disk);
  for (i = 0; i < dirty.len; i++)
    printf ("%s%" PRIu64 " %" PRIu64 "\n", prefix, dirty.ptr[i].offset,
            dirty.ptr[i].length);
  ov_extents_reset (&dirty);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *format = "qcow2";
  const char *image, *cmd;
  struct ov_tracker_state st = { 0 };
  struct ov_tracker_poll poll = { 0 };

  if (argc > 3 && strcmp (argv[1], "run") == 0) {
    struct ov_qemu_img_result r;

    if (ov_qemu_img_run ((const char *const *) &argv[3],
                         (unsigned) number (argv[2]), &r) == -1)
      die ();
    printf ("status %d\n%s", r.status, r.out);
    ov_qemu_img_result_free (&r);
    return 0;
  }
  if (argc > 2 && strcmp (argv[1], "--format") == 0) {
    format = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc < 3)
    usage ();
  image = argv[1];
  cmd = argv[2];
  argv += 3;
  argc -= 3;

  if (strcmp (cmd, "info") == 0 && argc == 0) {
    struct ov_image_info info;
    size_t i;

    if (ov_qemu_img_info (image, format, &info) == -1)
      die ();
    printf ("format %s\nsize %" PRIu64 "\n", info.format, info.virtual_size);
    for (i = 0; i < info.bitmaps.len; i++) {
      const struct ov_bitmap_info *b = &info.bitmaps.ptr[i];
      printf ("bitmap %s %" PRIu32 " %s\n", b->name, b->granularity,
              b->enabled && b->in_use ? "enabled,in-use"
              : b->enabled ? "enabled" : b->in_use ? "in-use" : "-");
    }
    ov_image_info_free (&info);
  }
  else if (strcmp (cmd, "prepare") == 0 && argc == 3) {
    state_from (argv, &st);
    if (ov_bitmap_prepare (image, format, &st, &poll) == -1)
      die ();
    if (poll.frozen)
      printf ("frozen %s\n", poll.frozen);
    else
      printf ("full %s\n", poll.full_reason);
  }
  else if (strcmp (cmd, "arm") == 0 && argc == 2) {
    st.generation = number (argv[0]);
    st.granularity = (uint32_t) number (argv[1]);
    if (ov_bitmap_arm (image, format, &st, &poll) == -1)
      die ();
    printf ("successor %s %" PRIu64 "\n", poll.successor,
            poll.successor_generation);
  }
  else if (strcmp (cmd, "read") == 0 && argc == 1) {
    if (print_dirty (image, format, argv[0], "") == -1)
      die ();
  }
  else if (strcmp (cmd, "release") == 0 && argc == 1) {
    if (ov_bitmap_release (image, format, argv[0]) == -1)
      die ();
  }
  else if (strcmp (cmd, "poll") == 0 && argc == 3) {
    char c;

    state_from (argv, &st);
    if (ov_bitmap_prepare (image, format, &st, &poll) == -1)
      die ();
    if (poll.frozen)
      printf ("frozen %s\n", poll.frozen);
    else
      printf ("full %s\n", poll.full_reason);
    fflush (stdout);
    if (poll.frozen && print_dirty (image, format, poll.frozen, "dirty ") == -1)
      die ();
    if (ov_bitmap_arm (image, format, &st, &poll) == -1)
      die ();
    printf ("successor %s %" PRIu64 "\narmed\n", poll.successor,
            poll.successor_generation);
    fflush (stdout);
    while (read (0, &c, 1) > 0)
      ;
    if (poll.frozen) {
      if (ov_bitmap_release (image, format, poll.frozen) == -1)
        die ();
      printf ("released %s\n", poll.frozen);
    }
  }
  else
    usage ();
  ov_tracker_poll_free (&poll);
  return 0;
}
