/* ovscan — SIGTERM and SIGINT during a long run (cli/signals.c). */
#ifndef OVSCAN_CLI_SIGNALS_H
#define OVSCAN_CLI_SIGNALS_H

/* Catch SIGTERM and SIGINT: the first asks the run to stop starting new
 * work (ov_stop_signal() turns non-zero), a second one aborts at once. */
void ov_signals_install (void);

/* The signal that asked to stop, or 0. */
int ov_stop_signal (void);

/* The disk being polled (named if a second signal aborts it), or NULL.
 * The string must stay valid until reset. */
void ov_signals_set_current (const char *disk);

#endif
