/* ovscan — running the operator's --on-detect command for one detection.
 *
 * Guest-controlled strings (the path above all: any bytes but NUL, quotes,
 * "$(…)", newlines) never reach a command line and never pass through a
 * shell: CMD is the operator's own string, split at blanks into argv and
 * started with posix_spawnp; the detection travels only in environment
 * variables, byte for byte:
 *   OVSCAN_EVENT=detection OVSCAN_VM OVSCAN_IMAGE OVSCAN_POLL_ID OVSCAN_FS
 *   OVSCAN_PATH (raw bytes) OVSCAN_PATH_QUOTED (as ovscan prints it)
 *   OVSCAN_INODE OVSCAN_SIZE OVSCAN_CHANGE OVSCAN_SIGNATURE
 *   OVSCAN_SIGNATURE_VERSION
 * Inherited OVSCAN_* variables are dropped so that the command sees only
 * these.  stdin is /dev/null, stdout goes to ovscan's stderr (ovscan's
 * stdout may be a JSON stream).  A command still running after its timeout
 * (on-detect-timeout, default OV_ON_DETECT_TIMEOUT s) is killed: an error.  Cost: one fork/exec +
 * wait per detection.
 */
#include "cli/on_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/vector.h"

extern char **environ;

DEFINE_VECTOR (string_vector, char *);

static void
strings_free (string_vector *v)
{
  size_t i;
  for (i = 0; i < v->len; i++)
    free (v->ptr[i]);
  string_vector_reset (v);
}

static int
push (string_vector *v, char *s)
{
  if (s == NULL || string_vector_append (v, s) == -1) {
    free (s);
    return -1;
  }
  return 0;
}

static int
push_env (string_vector *env, const char *name, const char *value)
{
  char *s;
  if (asprintf (&s, "%s=%s", name, value ? value : "") == -1)
    return -1;
  return push (env, s);
}

static int
push_env_u64 (string_vector *env, const char *name, uint64_t value)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%" PRIu64, value);
  return push_env (env, name, buf);
}

static int
build_env (string_vector *env, const struct ov_detection *d)
{
  CLEANUP_FREE char *quoted = ov_quote_path (d->path);
  char **e;

  for (e = environ; e && *e; e++)
    if (strncmp (*e, "OVSCAN_", 7) != 0 && push (env, strdup (*e)) == -1)
      return -1;
  if (quoted == NULL ||
      push_env (env, "OVSCAN_EVENT", "detection") == -1 ||
      push_env (env, "OVSCAN_VM", d->vm) == -1 ||
      push_env (env, "OVSCAN_IMAGE", d->image) == -1 ||
      push_env_u64 (env, "OVSCAN_POLL_ID", (uint64_t) d->poll_id) == -1 ||
      push_env (env, "OVSCAN_FS", d->fs) == -1 ||
      push_env (env, "OVSCAN_PATH", d->path) == -1 ||
      push_env (env, "OVSCAN_PATH_QUOTED", quoted) == -1 ||
      push_env_u64 (env, "OVSCAN_INODE", d->inode) == -1 ||
      push_env_u64 (env, "OVSCAN_SIZE", d->size) == -1 ||
      push_env (env, "OVSCAN_CHANGE", d->change) == -1 ||
      push_env (env, "OVSCAN_SIGNATURE", d->signature) == -1 ||
      push_env (env, "OVSCAN_SIGNATURE_VERSION", d->sig_version) == -1)
    return -1;
  return string_vector_append (env, NULL);
}

static int
split_command (string_vector *argv, const char *cmd)
{
  const char *p = cmd;
  size_t n;

  for (;;) {
    p += strspn (p, " \t");
    if (*p == '\0')
      break;
    n = strcspn (p, " \t");
    if (push (argv, strndup (p, n)) == -1)
      return -1;
    p += n;
  }
  return string_vector_append (argv, NULL);
}

/* Wait for the command at most `seconds` (a hung alert script must not hold
 * every later disk of the run); then SIGKILL it.  0 with *status, -1
 * when it had to be killed, -2 (error set) when waitpid failed. */
static int
wait_bounded (pid_t pid, double seconds, int *status)
{
  const struct timespec tick = { 0, 20 * 1000 * 1000 };
  double i;
  int r;

  for (i = 0; i < seconds * 50; i++) {
    r = waitpid (pid, status, WNOHANG);
    if (r == pid)
      return 0;
    if (r == -1 && errno != EINTR) {
      ov_error_errno (errno, "--on-detect: waitpid");
      return -2;
    }
    nanosleep (&tick, NULL);
  }
  kill (pid, SIGKILL);
  while (waitpid (pid, status, 0) == -1 && errno == EINTR)
    ;
  return -1;
}

int
ov_on_detect_run (const char *cmd, const struct ov_detection *d)
{
  string_vector argv = VECTOR_INIT, env = VECTOR_INIT;
  posix_spawn_file_actions_t fa;
  double timeout = d->timeout > 0 ? d->timeout : OV_ON_DETECT_TIMEOUT;
  pid_t pid;
  int r, status, ret = -1;

  if (split_command (&argv, cmd) == -1 || build_env (&env, d) == -1) {
    ov_error ("--on-detect: out of memory");
    goto out;
  }
  if (argv.len < 2) {
    ov_error ("--on-detect: empty command");
    goto out;
  }
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, STDERR_FILENO, STDOUT_FILENO);
  r = posix_spawnp (&pid, argv.ptr[0], &fa, NULL, argv.ptr, env.ptr);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0) {
    ov_error_errno (r, "--on-detect: %s", argv.ptr[0]);
    goto out;
  }
  r = wait_bounded (pid, timeout, &status);
  if (r == -2)
    goto out;
  if (r == -1) {
    ov_error ("--on-detect: %s still running after %g s: killed", argv.ptr[0], timeout);
    goto out;
  }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    ret = 0;
  else if (WIFEXITED (status))
    ov_error ("--on-detect: %s exited with status %d", argv.ptr[0], WEXITSTATUS (status));
  else
    ov_error ("--on-detect: %s killed by signal %d", argv.ptr[0],
              WIFSIGNALED (status) ? WTERMSIG (status) : 0);
 out:
  /* The NULL terminators are not strings. */
  if (argv.len && argv.ptr[argv.len - 1] == NULL)
    argv.len--;
  if (env.len && env.ptr[env.len - 1] == NULL)
    env.len--;
  strings_free (&argv);
  strings_free (&env);
  return ret;
}
