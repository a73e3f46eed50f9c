/* ovscan — running qemu-img (see qemu_img.h).
 *
 * posix_spawnp, no shell: arguments go to qemu-img as they are.  stdin is
 * /dev/null; stdout and stderr come back through two pipes (O_CLOEXEC here,
 * so no other thread's child inherits them) read with poll() until both
 * close, under a deadline.  A qemu-img that outlives the deadline gets
 * SIGKILL (only that pid: it is our child) and is reaped.  Safe to call from
 * several threads at once; touches no signal disposition.
 *
 * Killing `qemu-img bitmap` in the middle of its work can leave the image's
 * bitmaps flagged "in-use" (qemu marks them so while it has the image open
 * read-write): the tracker then sees an inconsistent bitmap and falls back
 * to a full poll — costly but never a lost write.
 *
 * Cost: one fork/exec of qemu-img and its image open: a few ms to tens of
 * ms (measured in bitmap_tracker.c's header).
 */
#include "backends/qemu_img.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

extern char **environ;

#define OUT_MAX (64u << 20)
#define ERR_MAX (64u << 10)

void
ov_qemu_img_result_free (struct ov_qemu_img_result *r)
{
  free (r->out);
  free (r->err);
  memset (r, 0, sizeof *r);
}

/* "qemu-img ARG ARG …", each argument quoted, for messages. */
static char *
command_string (const char *const *args)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  size_t i;

  if (fp == NULL)
    return NULL;
  fputs ("qemu-img", fp);
  for (i = 0; args[i] != NULL; i++) {
    CLEANUP_FREE char *q = ov_quote_path (args[i]);
    fprintf (fp, " %s", q ? q : "?");
  }
  if (fclose (fp) != 0) {
    free (buf);
    return NULL;
  }
  return buf;
}

/* Append what fd has to *buf (capped at max: the excess is read and
 * dropped, *over set).  Returns 0 at EOF, 1 if more may come, -1 on error. */
static int
drain (int fd, char **buf, size_t *len, size_t *cap, size_t max, bool *over)
{
  char chunk[65536];
  ssize_t r = read (fd, chunk, sizeof chunk);

  if (r == -1)
    return errno == EINTR || errno == EAGAIN ? 1 : -1;
  if (r == 0)
    return 0;
  if (*len + r > max) {
    *over = true;
    r = max - *len;
  }
  if (*len + r + 1 > *cap) {
    size_t ncap = *cap ? *cap : 4096;
    char *n;
    while (ncap < *len + r + 1)
      ncap *= 2;
    n = realloc (*buf, ncap);
    if (n == NULL)
      return -1;
    *buf = n;
    *cap = ncap;
  }
  memcpy (*buf + *len, chunk, r);
  *len += r;
  (*buf)[*len] = '\0';
  return 1;
}

int
ov_qemu_img_run (const char *const *args, unsigned timeout,
                 struct ov_qemu_img_result *r)
{
  CLEANUP_FREE char *cmd = command_string (args);
  const char *what = cmd ? cmd : "qemu-img";
  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  posix_spawn_file_actions_t fa;
  bool fa_ok = false;
  size_t nargs, i, out_cap = 0, err_cap = 0, err_len = 0;
  CLEANUP_FREE char **argv = NULL;
  pid_t pid = -1;
  int e, status, ret = -1;
  bool out_open = true, err_open = true, out_over = false, err_over = false;
  bool timed_out = false;
  double deadline;

  memset (r, 0, sizeof *r);
  if (timeout == 0)
    timeout = OV_QEMU_IMG_TIMEOUT;
  for (nargs = 0; args[nargs] != NULL; nargs++)
    ;
  argv = calloc (nargs + 2, sizeof *argv);
  if (argv == NULL) {
    ov_error ("%s: out of memory", what);
    return -1;
  }
  argv[0] = (char *) "qemu-img";
  for (i = 0; i < nargs; i++)
    argv[i + 1] = (char *) args[i];

  if (pipe2 (outp, O_CLOEXEC) == -1 || pipe2 (errp, O_CLOEXEC) == -1) {
    ov_error_errno (errno, "%s: pipe", what);
    goto out;
  }
  if ((e = posix_spawn_file_actions_init (&fa)) != 0) {
    ov_error_errno (e, "%s: posix_spawn_file_actions_init", what);
    goto out;
  }
  fa_ok = true;
  if ((e = posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0))
      || (e = posix_spawn_file_actions_adddup2 (&fa, outp[1], 1))
      || (e = posix_spawn_file_actions_adddup2 (&fa, errp[1], 2))) {
    ov_error_errno (e, "%s: posix_spawn_file_actions", what);
    goto out;
  }
  e = posix_spawnp (&pid, "qemu-img", &fa, NULL, argv, environ);
  if (e != 0) {
    pid = -1;
    ov_error_errno (e, "%s: cannot run qemu-img", what);
    goto out;
  }
  close (outp[1]); outp[1] = -1;
  close (errp[1]); errp[1] = -1;

  deadline = ov_monotonic_seconds () + timeout;
  while (out_open || err_open) {
    struct pollfd fds[2] = {
      { .fd = out_open ? outp[0] : -1, .events = POLLIN },
      { .fd = err_open ? errp[0] : -1, .events = POLLIN },
    };
    double left = deadline - ov_monotonic_seconds ();
    int n;

    if (left <= 0) {
      timed_out = true;
      break;
    }
    n = poll (fds, 2, (int) (left * 1000) + 1);
    if (n == -1 && errno != EINTR) {
      ov_error_errno (errno, "%s: poll", what);
      goto kill;
    }
    if (n <= 0)
      continue;
    if (fds[0].revents) {
      int d = drain (outp[0], &r->out, &r->out_len, &out_cap, OUT_MAX,
                     &out_over);
      if (d == -1) {
        ov_error_errno (errno, "%s: reading its output", what);
        goto kill;
      }
      out_open = d == 1;
    }
    if (fds[1].revents) {
      /* Past ERR_MAX bytes stderr is read and dropped: the head holds
       * qemu-img's message. */
      int d = drain (errp[0], &r->err, &err_len, &err_cap, ERR_MAX,
                     &err_over);
      if (d == -1) {
        ov_error_errno (errno, "%s: reading its stderr", what);
        goto kill;
      }
      err_open = d == 1;
    }
  }
  if (timed_out) {
    ov_error ("%s: still running after %u s: killed", what, timeout);
    goto kill;
  }
  if (out_over) {
    ov_error ("%s: wrote more than %u bytes: killed", what, OUT_MAX);
    goto kill;
  }
  while (waitpid (pid, &status, 0) == -1)
    if (errno != EINTR) {
      ov_error_errno (errno, "%s: waitpid", what);
      pid = -1;
      goto out;
    }
  pid = -1;
  if (WIFSIGNALED (status)) {
    ov_error ("%s: killed by signal %d", what, WTERMSIG (status));
    goto out;
  }
  r->status = WEXITSTATUS (status);
  if (r->out == NULL)
    r->out = strdup ("");
  if (r->err == NULL)
    r->err = strdup ("");
  if (r->out == NULL || r->err == NULL) {
    ov_error ("%s: out of memory", what);
    goto out;
  }
  ret = 0;
  goto out;

 kill:
  kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  pid = -1;
 out:
  if (fa_ok)
    posix_spawn_file_actions_destroy (&fa);
  for (i = 0; i < 2; i++) {
    if (outp[i] >= 0) close (outp[i]);
    if (errp[i] >= 0) close (errp[i]);
  }
  if (ret == -1)
    ov_qemu_img_result_free (r);
  return ret;
}

bool
ov_qemu_img_lock_failed (const char *err)
{
  return strstr (err, "Failed to get") != NULL
    && strstr (err, "lock") != NULL;
}

/* The path as qemu-img must see it: "./" before a relative path (see
 * qemu_img.h). */
static char *
image_arg (const char *image)
{
  char *s;

  if (image[0] == '/')
    s = strdup (image);
  else if (asprintf (&s, "./%s", image) == -1)
    s = NULL;
  if (s == NULL)
    ov_error ("out of memory");
  return s;
}

/* Run qemu-img; a non-zero exit becomes an error naming IMAGE, the command
 * and qemu-img's stderr (quoted: it may repeat names from the image). */
static int
run_checked (const char *image, const char *const *args,
             struct ov_qemu_img_result *r)
{
  CLEANUP_FREE char *qimage = ov_quote_path (image);
  CLEANUP_FREE char *cmd = NULL;
  CLEANUP_FREE char *qerr = NULL;
  size_t n;

  if (ov_qemu_img_run (args, 0, r) == -1) {
    ov_error_prefix ("%s", qimage ? qimage : "?");
    return -1;
  }
  if (r->status == 0)
    return 0;
  if (ov_qemu_img_lock_failed (r->err)) {
    ov_error ("%s is in use by another process (a running VM?): ovscan "
              "cannot track it offline; poll it through its QMP socket "
              "(ovscan add NAME --qmp SOCKET, not yet available) or shut "
              "the VM down", qimage ? qimage : "?");
    ov_qemu_img_result_free (r);
    return -1;
  }
  n = strlen (r->err);
  while (n > 0 && (r->err[n - 1] == '\n' || r->err[n - 1] == ' '))
    n--;
  qerr = ov_quote_bytes (r->err, n);
  cmd = command_string (args);
  ov_error ("%s: %s failed (exit status %d): %s", qimage ? qimage : "?",
            cmd ? cmd : "qemu-img", r->status,
            qerr ? qerr : "(out of memory)");
  ov_qemu_img_result_free (r);
  return -1;
}

int
ov_qemu_img_info (const char *image, const char *format,
                  struct ov_image_info *info)
{
  CLEANUP_FREE char *path = image_arg (image);
  struct ov_qemu_img_result r;
  int ret;

  memset (info, 0, sizeof *info);
  if (path == NULL)
    return -1;
  {
    const char *args[] = { "info", "-f", format, "--output=json", "--",
                           path, NULL };
    if (run_checked (image, args, &r) == -1)
      return -1;
  }
  ret = ov_image_info_parse (r.out, r.out_len, image, info);
  ov_qemu_img_result_free (&r);
  return ret;
}

int
ov_qemu_img_bitmap_add (const char *image, const char *format,
                        const char *bitmap, uint32_t granularity)
{
  CLEANUP_FREE char *path = image_arg (image);
  char gran[16];
  struct ov_qemu_img_result r;

  if (path == NULL)
    return -1;
  snprintf (gran, sizeof gran, "%" PRIu32, granularity);
  {
    const char *args[] = { "bitmap", "--add", "--granularity", gran,
                           "-f", format, "--", path, bitmap, NULL };
    if (run_checked (image, args, &r) == -1)
      return -1;
  }
  ov_qemu_img_result_free (&r);
  return 0;
}

int
ov_qemu_img_bitmap_remove (const char *image, const char *format,
                           const char *bitmap)
{
  CLEANUP_FREE char *path = image_arg (image);
  struct ov_qemu_img_result r;

  if (path == NULL)
    return -1;
  {
    const char *args[] = { "bitmap", "--remove", "-f", format, "--", path,
                           bitmap, NULL };
    if (run_checked (image, args, &r) == -1)
      return -1;
  }
  ov_qemu_img_result_free (&r);
  return 0;
}
