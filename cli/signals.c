/* ovscan — SIGTERM/SIGINT: stop cleanly, and abort on the second one.
 *
 * First signal: a flag (ov_stop_signal).  Nothing is interrupted: the poll
 * in progress runs to its end (committed, or failed and rolled back as any
 * failed poll) and the command starts no new one.
 *
 * Second signal: abort now, from the handler, with _exit (2).  The poll in
 * progress is then not committed: its sqlite transaction is discarded (WAL),
 * and its tracker state is exactly as after a kill at that instant — the
 * bitmap recorded in the database still covers every write, the next poll's
 * prepare removes the leftover successor (tests/integration/test-poll-crash.sh
 * kills at every step of that hand-over and proves nothing is lost).
 *
 * Async-signal safety: the handler only reads/writes sig_atomic_t and a
 * pointer, and calls write(2) and _exit(2).  SA_RESTART keeps slow system
 * calls of the poll (sqlite, qemu-nbd pipes) from failing with EINTR.
 */
#include "cli/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static volatile sig_atomic_t stop_signal;
static const char *volatile current_disk;

static void
say (const char *s)
{
  ssize_t r = write (STDERR_FILENO, s, strlen (s));
  (void) r;
}

static void
on_signal (int sig)
{
  const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  const char *disk = current_disk;

  say ("ovscan: ");
  say (name);
  if (stop_signal) {
    say (" again: aborting");
    if (disk) {
      say (" the poll of ");
      say (disk);
      say (" (not committed; its changes stay for the next poll)");
    }
    say ("\n");
    _exit (OV_EXIT_ERROR);
  }
  stop_signal = sig;
  say (": finishing the current poll, starting no new one (send it again to abort)\n");
}

void
ov_signals_install (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  sigaddset (&sa.sa_mask, SIGTERM);
  sigaddset (&sa.sa_mask, SIGINT);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
}

int
ov_stop_signal (void)
{
  return stop_signal;
}

void
ov_signals_set_current (const char *disk)
{
  current_disk = disk;
}
