/* ovscan — libclamav's process-wide initialisation and its log messages.
 *
 * cl_init runs once per process (pthread_once); its result is remembered so
 * every later caller sees the same failure.  libclamav logs through a
 * process-wide callback; ours appends error and warning messages to a
 * thread-local buffer (libclamav calls it on the thread doing the work, so a
 * scan worker only sees its own messages) and drops informational and debug
 * ones.  Nothing is printed.  When the buffer is full the oldest text is
 * kept and the rest is dropped (the first error is usually the cause).
 */
#include "signatures/signatures.h"
#include "signatures/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <clamav.h>

#include "common/error.h"

#define MESSAGES_MAX 2048

static __thread char messages[MESSAGES_MAX];
static __thread size_t messages_len;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_result;

static void
collect_message (enum cl_msg severity, const char *fullmsg, const char *msg,
                 void *context)
{
  size_t n;

  if (severity != CL_MSG_ERROR && severity != CL_MSG_WARN)
    return;
  if (msg == NULL)
    return;
  n = strlen (msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  if (n == 0)
    return;
  if (messages_len > 0 && messages_len + 2 < sizeof messages) {
    memcpy (messages + messages_len, "; ", 2);
    messages_len += 2;
  }
  if (messages_len + 1 >= sizeof messages)
    return;
  if (n > sizeof messages - messages_len - 1)
    n = sizeof messages - messages_len - 1;
  memcpy (messages + messages_len, msg, n);
  messages_len += n;
  messages[messages_len] = '\0';
}

static void
init_once_fn (void)
{
  cl_set_clcb_msg (collect_message);
  init_result = cl_init (CL_INIT_DEFAULT);
}

int
ov_clamav_init (void)
{
  pthread_once (&init_once, init_once_fn);
  if (init_result != CL_SUCCESS) {
    ov_error ("cl_init: %s", cl_strerror (init_result));
    return -1;
  }
  return 0;
}

struct cl_engine *
ov_sigs_new_engine (void)
{
  struct cl_engine *engine;

  if (ov_clamav_init () == -1)
    return NULL;
  engine = cl_engine_new ();
  if (engine == NULL)
    ov_error ("cl_engine_new failed (out of memory?)");
  return engine;
}

const char *
ov_clamav_messages (void)
{
  return messages;
}

void
ov_clamav_clear_messages (void)
{
  messages[0] = '\0';
  messages_len = 0;
}
