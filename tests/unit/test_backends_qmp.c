/* Unit tests: the QMP client (backends/qmp.c) against a scripted peer on
 * a real unix socket (a thread plays the monitor): greeting checks, reply
 * matching by id with events and stray replies in between, error replies,
 * deadlines, a peer that hangs up, pretty-printed and batched messages,
 * nesting bounds, the message size bound, events waited for, and the
 * event queue's bounds (count and bytes: oldest dropped, drops counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/qmp.h"
#include "common/error.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, " \
  "\"minor\": 2, \"major\": 7}, \"package\": \"test\"}, \"capabilities\": [\"oob\"]}}\r\n"

struct peer {
  char dir[64], path[128];
  int listen_fd, fd;
  pthread_t thread;
  void (*script) (struct peer *p);
  char buf[65536];
  size_t len;
};

static void
peer_send (struct peer *p, const char *text)
{
  size_t n = strlen (text);
  while (n > 0) {
    ssize_t w = send (p->fd, text, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    text += w;
    n -= w;
  }
}

/* Read one command line; NULL at EOF.  The returned object is the parsed
 * request. */
static json_object *
peer_read_command (struct peer *p)
{
  for (;;) {
    char *nl = memchr (p->buf, '\n', p->len);
    if (nl) {
      json_object *cmd;
      *nl = '\0';
      cmd = json_tokener_parse (p->buf);
      p->len -= (nl + 1 - p->buf);
      memmove (p->buf, nl + 1, p->len);
      return cmd;
    }
    ssize_t n = recv (p->fd, p->buf + p->len, sizeof p->buf - p->len - 1, 0);
    if (n <= 0)
      return NULL;
    p->len += n;
  }
}

/* Reply to the next command with BODY (e.g. "\"return\": {}"), echoing its
 * id; returns the command's name (static buffer). */
static const char *
peer_reply (struct peer *p, const char *body)
{
  static char name[64];
  char out[4096];
  json_object *cmd = peer_read_command (p);
  const char *id, *execute;

  if (cmd == NULL)
    return NULL;
  id = ov_json_get_string (cmd, "id");
  execute = ov_json_get_string (cmd, "execute");
  snprintf (name, sizeof name, "%s", execute ? execute : "");
  snprintf (out, sizeof out, "{%s, \"id\": \"%s\"}\r\n", body, id ? id : "");
  peer_send (p, out);
  json_object_put (cmd);
  return name;
}

static void *
peer_main (void *arg)
{
  struct peer *p = arg;
  p->fd = accept (p->listen_fd, NULL, NULL);
  if (p->fd >= 0) {
    p->script (p);
    close (p->fd);
  }
  return NULL;
}

static struct peer *
peer_start (void (*script) (struct peer *p))
{
  struct peer *p = calloc (1, sizeof *p);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  assert_non_null (p);
  strcpy (p->dir, "/tmp/ovscan-qmp-test.XXXXXX");
  assert_non_null (mkdtemp (p->dir));
  snprintf (p->path, sizeof p->path, "%s/qmp.sock", p->dir);
  strcpy (addr.sun_path, p->path);
  p->listen_fd = socket (AF_UNIX, SOCK_STREAM, 0);
  assert_true (p->listen_fd >= 0);
  assert_int_equal (bind (p->listen_fd, (struct sockaddr *) &addr, sizeof addr), 0);
  assert_int_equal (listen (p->listen_fd, 4), 0);
  p->script = script;
  assert_int_equal (pthread_create (&p->thread, NULL, peer_main, p), 0);
  return p;
}

static void
peer_stop (struct peer *p)
{
  pthread_join (p->thread, NULL);
  close (p->listen_fd);
  unlink (p->path);
  rmdir (p->dir);
  free (p);
}

/* ---- scripts ---- */

static void
script_normal (struct peer *p)
{
  peer_send (p, GREETING);
  if (peer_reply (p, "\"return\": {}") == NULL)
    return;
  /* query-status: an event, a stray reply, then ours. */
  {
    json_object *cmd = peer_read_command (p);
    char out[512];
    peer_send (p, "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j1\", "
               "\"status\": \"running\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
    peer_send (p, "{\"return\": {\"status\": \"wrong\"}, \"id\": \"libvirt-7\"}\r\n");
    snprintf (out, sizeof out, "{\"return\": {\"status\": \"running\", \"running\": true}, "
              "\"id\": \"%s\"}\r\n", ov_json_get_string (cmd, "id"));
    peer_send (p, out);
    json_object_put (cmd);
  }
  /* An error, then the connection is still usable. */
  peer_reply (p, "\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Cannot find device='nope' nor node-name='nope'\"}");
  peer_reply (p, "\"return\": [1, 2, 3]");
  /* An event that comes later, after another one. */
  peer_send (p, "{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j2\", \"status\": \"concluded\"}}\r\n");
  peer_send (p, "{\"event\": \"BLOCK_JOB_CANCELLED\", \"data\": {\"device\": \"j2\"}}\r\n");
}

static bool
is_concluded (json_object *data, void *opaque)
{
  const char *s = ov_json_get_string (data, "status");
  return s && strcmp (s, opaque) == 0;
}

static void
commands_match_replies_by_id (void **state)
{
  struct peer *p = peer_start (script_normal);
  struct ov_qmp *q = ov_qmp_connect (p->path, 5000);
  json_object *ret = NULL, *data = NULL;

  assert_non_null (q);
  assert_int_equal (ov_qmp_version (q), 70222);
  assert_int_equal (ov_qmp_execute (q, "query-status", NULL, &ret), 0);
  assert_string_equal (ov_json_get_string (ret, "status"), "running");
  json_object_put (ret);

  assert_int_equal (ov_qmp_execute (q, "block-dirty-bitmap-remove", NULL, &ret), -1);
  assert_null (ret);
  assert_string_equal (ov_qmp_error_class (q), "DeviceNotFound");
  assert_non_null (strstr (ov_last_error (), "Cannot find device"));
  assert_non_null (strstr (ov_last_error (), "block-dirty-bitmap-remove"));
  assert_true (ov_qmp_alive (q));

  assert_int_equal (ov_qmp_execute (q, "query-block-jobs", NULL, &ret), 0);
  assert_null (ov_qmp_error_class (q));
  assert_true (json_object_is_type (ret, json_type_array));
  assert_int_equal (json_object_array_length (ret), 3);
  json_object_put (ret);

  /* The queued event (j1 running) is not "concluded": the later one is. */
  assert_int_equal (ov_qmp_wait_event (q, "JOB_STATUS_CHANGE", is_concluded,
                                       "concluded", &data), 0);
  assert_string_equal (ov_json_get_string (data, "id"), "j2");
  json_object_put (data);
  assert_int_equal (ov_qmp_wait_event (q, "BLOCK_JOB_CANCELLED", NULL, NULL, NULL), 0);
  ov_qmp_close (q);
  peer_stop (p);
}

static void
script_pretty_batched (struct peer *p)
{
  char out[1024];
  json_object *cmd;

  peer_send (p, "{\n    \"QMP\": {\n        \"version\": {\"qemu\": {\"micro\": 0, "
             "\"minor\": 0, \"major\": 8}},\n        \"capabilities\": []\n    }\n}\n");
  cmd = peer_read_command (p);
  /* Reply and two events in one write, pretty-printed. */
  snprintf (out, sizeof out,
            "{\n  \"event\": \"A\"\n}\r\n{\n  \"return\": {\n  },\n  \"id\": \"%s\"\n}\r\n"
            "{\"event\": \"B\", \"data\": {\"x\": 1}}\r\n",
            ov_json_get_string (cmd, "id"));
  json_object_put (cmd);
  peer_send (p, out);
  /* Then split in the middle of a message. */
  cmd = peer_read_command (p);
  snprintf (out, sizeof out, "{\"return\": {\"n\": 42}, \"id\": \"%s\"}\r\n",
            ov_json_get_string (cmd, "id"));
  json_object_put (cmd);
  {
    char first[16];
    snprintf (first, sizeof first, "%.10s", out);
    peer_send (p, first);
    usleep (50000);
    peer_send (p, out + 10);
  }
}

static void
pretty_and_batched_messages_parse (void **state)
{
  struct peer *p = peer_start (script_pretty_batched);
  struct ov_qmp *q = ov_qmp_connect (p->path, 5000);
  json_object *ret = NULL;

  assert_non_null (q);
  assert_int_equal (ov_qmp_version (q), 80000);
  assert_int_equal (ov_qmp_execute (q, "query-version", NULL, &ret), 0);
  assert_int_equal (ov_json_get_u63 (ret, "n"), 42);
  json_object_put (ret);
  assert_int_equal (ov_qmp_wait_event (q, "B", NULL, NULL, &ret), 0);
  assert_int_equal (ov_json_get_u63 (ret, "x"), 1);
  json_object_put (ret);
  ov_qmp_close (q);
  peer_stop (p);
}

static void script_ssh (struct peer *p) { peer_send (p, "SSH-2.0-OpenSSH_9.2p1 Debian\r\n"); usleep (100000); }
static void script_json_not_qmp (struct peer *p) { peer_send (p, "{\"hello\": \"world\"}\n"); usleep (100000); }
static void script_array (struct peer *p) { peer_send (p, "[1, 2]\n"); usleep (100000); }
static void script_silent (struct peer *p) { usleep (600000); }

static void
expect_refused (void (*script) (struct peer *p), const char *needle)
{
  struct peer *p = peer_start (script);
  struct ov_qmp *q = ov_qmp_connect (p->path, 300);

  assert_null (q);
  if (strstr (ov_last_error (), needle) == NULL)
    fail_msg ("error '%s' lacks '%s'", ov_last_error (), needle);
  assert_non_null (strstr (ov_last_error (), p->path));
  peer_stop (p);
}

static void
other_peers_are_not_qmp (void **state)
{
  expect_refused (script_ssh, "not a QMP monitor");
  expect_refused (script_json_not_qmp, "not a QMP monitor");
  expect_refused (script_array, "not a QMP monitor");
}

static void
silent_peer_times_out (void **state)
{
  expect_refused (script_silent, "no answer within 300 ms");
}

static void
missing_socket_says_so (void **state)
{
  assert_null (ov_qmp_connect ("/nonexistent/ovscan/qmp.sock", 300));
  assert_non_null (strstr (ov_last_error (), "cannot connect"));
  assert_non_null (strstr (ov_last_error (), "/nonexistent/ovscan/qmp.sock"));
}

static void
script_hang_up (struct peer *p)
{
  peer_send (p, GREETING);
  peer_reply (p, "\"return\": {}");
  json_object_put (peer_read_command (p));     /* and close without replying: the VM exited */
}

static void
peer_hanging_up_kills_the_connection (void **state)
{
  struct peer *p = peer_start (script_hang_up);
  struct ov_qmp *q = ov_qmp_connect (p->path, 2000);

  assert_non_null (q);
  assert_int_equal (ov_qmp_execute (q, "query-status", NULL, NULL), -1);
  assert_non_null (strstr (ov_last_error (), "closed the connection"));
  assert_null (ov_qmp_error_class (q));
  assert_false (ov_qmp_alive (q));
  assert_int_equal (ov_qmp_execute (q, "query-status", json_object_new_object (), NULL), -1);
  assert_non_null (strstr (ov_last_error (), "failed earlier"));
  ov_qmp_close (q);
  peer_stop (p);
}

static void
script_slow_reply (struct peer *p)
{
  peer_send (p, GREETING);
  peer_reply (p, "\"return\": {}");
  json_object_put (peer_read_command (p));
  usleep (500000);
}

static void
slow_reply_times_out (void **state)
{
  struct peer *p = peer_start (script_slow_reply);
  struct ov_qmp *q = ov_qmp_connect (p->path, 2000);

  assert_non_null (q);
  ov_qmp_set_timeout (q, 200);
  assert_int_equal (ov_qmp_execute (q, "query-status", NULL, NULL), -1);
  assert_non_null (strstr (ov_last_error (), "no answer within 200 ms"));
  assert_non_null (strstr (ov_last_error (), "query-status"));
  ov_qmp_close (q);
  peer_stop (p);
}

static void
script_deep (struct peer *p)
{
  char out[2048];
  int i;
  peer_send (p, GREETING);
  peer_reply (p, "\"return\": {}");
  json_object_put (peer_read_command (p));
  out[0] = '\0';
  for (i = 0; i < 600; i++)
    strcat (out, "[");
  peer_send (p, out);
  usleep (100000);
}

static void
deep_nesting_is_refused (void **state)
{
  struct peer *p = peer_start (script_deep);
  struct ov_qmp *q = ov_qmp_connect (p->path, 2000);

  assert_non_null (q);
  assert_int_equal (ov_qmp_execute (q, "query-status", NULL, NULL), -1);
  assert_non_null (strstr (ov_last_error (), "invalid JSON"));
  ov_qmp_close (q);
  peer_stop (p);
}

/* ---- size bounds ---- */

/* Send {"event"|"return"...: a string of PAD 'a's} without building it
 * whole; returns the bytes sent. */
static size_t
peer_send_padded (struct peer *p, const char *head, size_t pad,
                  const char *tail)
{
  char chunk[65536];
  size_t left = pad;

  memset (chunk, 'a', sizeof chunk - 1);
  chunk[sizeof chunk - 1] = '\0';
  peer_send (p, head);
  while (left > 0) {
    size_t n = left < sizeof chunk - 1 ? left : sizeof chunk - 1;
    chunk[n] = '\0';
    peer_send (p, chunk);
    chunk[n] = 'a';
    left -= n;
  }
  peer_send (p, tail);
  return strlen (head) + pad + strlen (tail);
}

static void
script_big_replies (struct peer *p)
{
  json_object *cmd;
  char head[128], tail[128];

  peer_send (p, GREETING);
  peer_reply (p, "\"return\": {}");
  /* Just under the bound: accepted. */
  cmd = peer_read_command (p);
  snprintf (tail, sizeof tail, "\"}, \"id\": \"%s\"}\r\n", ov_json_get_string (cmd, "id"));
  json_object_put (cmd);
  snprintf (head, sizeof head, "{\"return\": {\"s\": \"");
  peer_send_padded (p, head, OV_QMP_MAX_MESSAGE - 1024, tail);
  /* Just over it: refused before the message ends. */
  cmd = peer_read_command (p);
  json_object_put (cmd);
  peer_send_padded (p, "{\"event\": \"HUGE\", \"data\": {\"s\": \"",
                    OV_QMP_MAX_MESSAGE + 1, "\"}}\r\n");
  usleep (300000);              /* not a hang-up: the size must be the reason */
}

static void
messages_over_the_size_bound_are_refused (void **state)
{
  struct peer *p = peer_start (script_big_replies);
  struct ov_qmp *q = ov_qmp_connect (p->path, 20000);
  json_object *ret = NULL;

  assert_non_null (q);
  assert_int_equal (ov_qmp_execute (q, "query-big", NULL, &ret), 0);
  assert_int_equal (strlen (ov_json_get_string (ret, "s")), OV_QMP_MAX_MESSAGE - 1024);
  json_object_put (ret);
  assert_int_equal (ov_qmp_execute (q, "query-huge", NULL, &ret), -1);
  assert_null (ret);
  if (strstr (ov_last_error (), "a message longer than 67108864 bytes") == NULL)
    fail_msg ("unexpected error: %s", ov_last_error ());
  assert_false (ov_qmp_alive (q));
  ov_qmp_close (q);
  peer_stop (p);
}

#define COUNT_FLOOD (OV_QMP_MAX_EVENTS + 44)
#define BYTES_FLOOD 12
#define PAD_BYTES (OV_QMP_MAX_EVENT_BYTES / 8)
static size_t padded_event_bytes;     /* set by the peer before replying */

static void
script_event_floods (struct peer *p)
{
  json_object *cmd;
  char out[256];
  int i;

  peer_send (p, GREETING);
  peer_reply (p, "\"return\": {}");
  /* Many small events before the reply. */
  cmd = peer_read_command (p);
  for (i = 0; i < COUNT_FLOOD; i++) {
    snprintf (out, sizeof out, "{\"event\": \"E\", \"data\": {\"n\": %d}}\r\n", i);
    peer_send (p, out);
  }
  snprintf (out, sizeof out, "{\"return\": {}, \"id\": \"%s\"}\r\n", ov_json_get_string (cmd, "id"));
  json_object_put (cmd);
  peer_send (p, out);
  /* A few large events, then one larger than the whole cap. */
  cmd = peer_read_command (p);
  for (i = 0; i < BYTES_FLOOD; i++) {
    char head[64];
    snprintf (head, sizeof head, "{\"event\": \"P\", \"data\": {\"n\": %02d, \"s\": \"", i);
    padded_event_bytes = peer_send_padded (p, head, PAD_BYTES, "\"}}\r\n");
  }
  peer_send_padded (p, "{\"event\": \"TOO-BIG\", \"data\": {\"s\": \"",
                    OV_QMP_MAX_EVENT_BYTES, "\"}}\r\n");
  snprintf (out, sizeof out, "{\"return\": {}, \"id\": \"%s\"}\r\n", ov_json_get_string (cmd, "id"));
  json_object_put (cmd);
  peer_send (p, out);
  usleep (500000);              /* stay connected while the client waits */
}

static void
event_queue_is_bounded_by_count_and_bytes (void **state)
{
  struct peer *p = peer_start (script_event_floods);
  struct ov_qmp *q = ov_qmp_connect (p->path, 20000);
  json_object *data = NULL;
  size_t kept, i;

  assert_non_null (q);
  assert_int_equal (ov_qmp_execute (q, "flood-count", NULL, NULL), 0);
  /* The oldest 44 went; the newest OV_QMP_MAX_EVENTS stay, in order. */
  assert_int_equal (ov_qmp_events_dropped (q), COUNT_FLOOD - OV_QMP_MAX_EVENTS);
  assert_int_equal (ov_qmp_wait_event (q, "E", NULL, NULL, &data), 0);
  assert_int_equal (ov_json_get_u63 (data, "n"), COUNT_FLOOD - OV_QMP_MAX_EVENTS);
  json_object_put (data);
  ov_qmp_clear_events (q);

  assert_int_equal (ov_qmp_execute (q, "flood-bytes", NULL, NULL), 0);
  kept = OV_QMP_MAX_EVENT_BYTES / padded_event_bytes;
  assert_true (kept >= 1 && kept < BYTES_FLOOD);
  /* BYTES_FLOOD - kept large ones, and the one larger than the cap. */
  assert_int_equal (ov_qmp_events_dropped (q),
                    COUNT_FLOOD - OV_QMP_MAX_EVENTS + (BYTES_FLOOD - kept) + 1);
  for (i = BYTES_FLOOD - kept; i < BYTES_FLOOD; i++) {
    assert_int_equal (ov_qmp_wait_event (q, "P", NULL, NULL, &data), 0);
    assert_int_equal (ov_json_get_u63 (data, "n"), i);
    assert_int_equal (strlen (ov_json_get_string (data, "s")), PAD_BYTES);
    json_object_put (data);
  }
  /* The one over the cap was not queued: waiting for it times out. */
  ov_qmp_set_timeout (q, 200);
  assert_int_equal (ov_qmp_wait_event (q, "TOO-BIG", NULL, NULL, NULL), -1);
  assert_non_null (strstr (ov_last_error (), "no answer within 200 ms"));
  ov_qmp_close (q);
  peer_stop (p);
}

static void
json_helpers_check_types (void **state)
{
  json_object *o = json_tokener_parse ("{\"s\": \"x\", \"n\": 5, \"neg\": -1, "
                                       "\"b\": true, \"f\": 1.5}");
  assert_string_equal (ov_json_get_string (o, "s"), "x");
  assert_null (ov_json_get_string (o, "n"));
  assert_int_equal (ov_json_get_u63 (o, "n"), 5);
  assert_int_equal (ov_json_get_u63 (o, "neg"), -1);
  assert_int_equal (ov_json_get_u63 (o, "f"), -1);
  assert_int_equal (ov_json_get_u63 (o, "s"), -1);
  assert_true (ov_json_get_bool (o, "b"));
  assert_false (ov_json_get_bool (o, "n"));
  assert_null (ov_json_get (o, "missing"));
  assert_null (ov_json_get (NULL, "s"));
  json_object_put (o);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (commands_match_replies_by_id),
    cmocka_unit_test (pretty_and_batched_messages_parse),
    cmocka_unit_test (other_peers_are_not_qmp),
    cmocka_unit_test (silent_peer_times_out),
    cmocka_unit_test (missing_socket_says_so),
    cmocka_unit_test (peer_hanging_up_kills_the_connection),
    cmocka_unit_test (slow_reply_times_out),
    cmocka_unit_test (deep_nesting_is_refused),
    cmocka_unit_test (messages_over_the_size_bound_are_refused),
    cmocka_unit_test (event_queue_is_bounded_by_count_and_bytes),
    cmocka_unit_test (json_helpers_check_types),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
