/* ovscan — the QMP client (see qmp.h for the protocol rules it keeps).
 *
 * Invariants: q->tok holds the prefix of at most one incomplete message
 * (q->partial bytes of it); q->dead is set by the first transport failure
 * and never cleared; queued events are owned by q->events, and
 * q->ev_bytes is the sum of their wire sizes (q->ev_size), never above
 * OV_QMP_MAX_EVENT_BYTES.
 */
#include "backends/qmp.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/quote.h"

struct ov_qmp {
  int fd;
  char *path;                  /* for messages */
  unsigned timeout_ms;
  json_tokener *tok;
  size_t partial;              /* bytes of the message being parsed */
  bool dead;
  int version;
  uint64_t next_id;
  char *error_class;
  /* Ring of queued events, oldest first. */
  json_object *events[OV_QMP_MAX_EVENTS];
  size_t ev_size[OV_QMP_MAX_EVENTS];   /* each one's bytes on the wire */
  size_t ev_head, ev_len, ev_bytes;
  uint64_t ev_dropped;
  /* Bytes received but not yet given to the tokener. */
  char buf[65536];
  size_t buf_off, buf_len;
};

static int64_t
now_ms (void)
{
  return (int64_t) (ov_monotonic_seconds () * 1000);
}

json_object *
ov_qmp_action (const char *type, json_object *data)
{
  json_object *a = json_object_new_object ();
  json_object_object_add (a, "type", json_object_new_string (type));
  json_object_object_add (a, "data", data);
  return a;
}

json_object *
ov_json_get (json_object *obj, const char *key)
{
  json_object *v = NULL;
  if (obj == NULL || !json_object_is_type (obj, json_type_object) ||
      !json_object_object_get_ex (obj, key, &v))
    return NULL;
  return v;
}

const char *
ov_json_get_string (json_object *obj, const char *key)
{
  json_object *v = ov_json_get (obj, key);
  return v && json_object_is_type (v, json_type_string)
    ? json_object_get_string (v) : NULL;
}

bool
ov_json_get_bool (json_object *obj, const char *key)
{
  json_object *v = ov_json_get (obj, key);
  return v && json_object_is_type (v, json_type_boolean)
    && json_object_get_boolean (v);
}

int64_t
ov_json_get_u63 (json_object *obj, const char *key)
{
  json_object *v = ov_json_get (obj, key);
  int64_t n;
  if (v == NULL || !json_object_is_type (v, json_type_int))
    return -1;
  errno = 0;
  n = json_object_get_int64 (v);
  if (errno != 0 || n < 0)
    return -1;
  return n;
}

/* A transport failure: the connection is unusable from now on. */
static void
kill_connection (struct ov_qmp *q)
{
  q->dead = true;
  if (q->fd >= 0) {
    close (q->fd);
    q->fd = -1;
  }
}

static void
set_error_class (struct ov_qmp *q, const char *cls)
{
  free (q->error_class);
  q->error_class = cls ? strdup (cls) : NULL;
}

/* Wait for fd to be ready for EVENTS until DEADLINE; 0 ready, -1 timeout
 * or error (ov_error set, naming WHAT). */
static int
wait_fd (struct ov_qmp *q, short events, int64_t deadline, const char *what)
{
  for (;;) {
    struct pollfd p = { .fd = q->fd, .events = events };
    int64_t left = deadline - now_ms ();
    int r;

    if (left <= 0) {
      ov_error ("QMP %s: no answer within %u ms while %s (is the VM "
                "stopped, or is another client connected to this monitor?)",
                q->path, q->timeout_ms, what);
      return -1;
    }
    r = poll (&p, 1, left > INT32_MAX ? INT32_MAX : (int) left);
    if (r > 0)
      return 0;
    if (r == -1 && errno != EINTR) {
      ov_error_errno (errno, "QMP %s: poll", q->path);
      return -1;
    }
  }
}

static int
send_all (struct ov_qmp *q, const char *data, size_t len, int64_t deadline,
          const char *what)
{
  while (len > 0) {
    ssize_t n = send (q->fd, data, len, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      len -= n;
      continue;
    }
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd (q, POLLOUT, deadline, what) == -1)
        return -1;
      continue;
    }
    ov_error_errno (errno, "QMP %s: sending %s (did the VM exit?)", q->path,
                    what);
    return -1;
  }
  return 0;
}

/* Read the next complete message into *msg (a new reference, always a JSON
 * object) and its size on the wire into *wire_bytes.  -1 + ov_error on
 * timeout or EOF, -2 + ov_error on bad JSON or an oversized message (the
 * peer does not speak QMP); the caller kills the connection. */
static int
read_message (struct ov_qmp *q, int64_t deadline, const char *what,
              json_object **msg, size_t *wire_bytes)
{
  for (;;) {
    while (q->buf_len > 0) {
      const char *p = q->buf + q->buf_off;
      json_object *obj;
      enum json_tokener_error err;
      size_t used;

      obj = json_tokener_parse_ex (q->tok, p, (int) q->buf_len);
      err = json_tokener_get_error (q->tok);
      if (err == json_tokener_continue) {
        q->partial += q->buf_len;
        q->buf_off = q->buf_len = 0;
        if (q->partial > OV_QMP_MAX_MESSAGE) {
          ov_error ("QMP %s: a message longer than %u bytes while %s",
                    q->path, OV_QMP_MAX_MESSAGE, what);
          return -2;
        }
        break;
      }
      if (err != json_tokener_success || obj == NULL) {
        ov_error ("QMP %s: not QMP: invalid JSON (%s) while %s", q->path,
                  json_tokener_error_desc (err), what);
        json_object_put (obj);
        return -2;
      }
      used = json_tokener_get_parse_end (q->tok);
      if (used > q->buf_len)
        used = q->buf_len;
      if (q->partial + used > OV_QMP_MAX_MESSAGE) {
        ov_error ("QMP %s: a message longer than %u bytes while %s",
                  q->path, OV_QMP_MAX_MESSAGE, what);
        json_object_put (obj);
        return -2;
      }
      q->buf_off += used;
      q->buf_len -= used;
      *wire_bytes = q->partial + used;
      q->partial = 0;
      json_tokener_reset (q->tok);
      if (!json_object_is_type (obj, json_type_object)) {
        ov_error ("QMP %s: not QMP: a message that is not a JSON object "
                  "while %s", q->path, what);
        json_object_put (obj);
        return -2;
      }
      *msg = obj;
      return 0;
    }
    if (wait_fd (q, POLLIN, deadline, what) == -1)
      return -1;
    {
      ssize_t n = recv (q->fd, q->buf, sizeof q->buf, 0);
      if (n == 0) {
        ov_error ("QMP %s: the monitor closed the connection while %s (did "
                  "the VM exit?)", q->path, what);
        return -1;
      }
      if (n == -1) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
          continue;
        ov_error_errno (errno, "QMP %s: receiving while %s", q->path, what);
        return -1;
      }
      q->buf_off = 0;
      q->buf_len = n;
    }
  }
}

/* Forget the oldest queued event. */
static void
drop_oldest_event (struct ov_qmp *q)
{
  json_object_put (q->events[q->ev_head]);
  q->ev_bytes -= q->ev_size[q->ev_head];
  q->ev_head = (q->ev_head + 1) % OV_QMP_MAX_EVENTS;
  q->ev_len--;
}

/* Queue EV (WIRE_BYTES long), dropping the oldest events while the queue
 * is full by count or by bytes; an event larger than the whole byte cap
 * is dropped itself.  Every dropped event is counted. */
static void
queue_event (struct ov_qmp *q, json_object *ev, size_t wire_bytes)
{
  size_t slot;

  if (wire_bytes > OV_QMP_MAX_EVENT_BYTES) {
    json_object_put (ev);
    q->ev_dropped++;
    return;
  }
  while (q->ev_len > 0 && (q->ev_len == OV_QMP_MAX_EVENTS ||
                           q->ev_bytes + wire_bytes > OV_QMP_MAX_EVENT_BYTES)) {
    drop_oldest_event (q);
    q->ev_dropped++;
  }
  slot = (q->ev_head + q->ev_len) % OV_QMP_MAX_EVENTS;
  q->events[slot] = ev;
  q->ev_size[slot] = wire_bytes;
  q->ev_bytes += wire_bytes;
  q->ev_len++;
}

void
ov_qmp_clear_events (struct ov_qmp *q)
{
  while (q->ev_len > 0)
    drop_oldest_event (q);
  q->ev_head = 0;
}

uint64_t
ov_qmp_events_dropped (const struct ov_qmp *q)
{
  return q->ev_dropped;
}

static int
check_alive (struct ov_qmp *q, const char *what)
{
  if (q->dead) {
    ov_error ("QMP %s: the connection failed earlier; cannot %s", q->path,
              what);
    set_error_class (q, NULL);
    return -1;
  }
  return 0;
}

/* QEMU's greeting: {"QMP": {"version": {"qemu": {major, minor, micro}},
 * "capabilities": [...]}}. */
static int
read_greeting (struct ov_qmp *q, int64_t deadline)
{
  json_object *msg = NULL, *qmp, *qemu;
  int64_t major, minor, micro;
  size_t wire_bytes;
  int r = read_message (q, deadline, "waiting for the QMP greeting", &msg,
                        &wire_bytes);

  if (r == -2)
    ov_error_prefix ("not a QMP monitor");
  if (r < 0)
    return -1;
  qmp = ov_json_get (msg, "QMP");
  qemu = ov_json_get (ov_json_get (qmp, "version"), "qemu");
  major = ov_json_get_u63 (qemu, "major");
  minor = ov_json_get_u63 (qemu, "minor");
  micro = ov_json_get_u63 (qemu, "micro");
  if (major < 0 || minor < 0 || micro < 0 || major > 1000 || minor > 99 ||
      micro > 99) {
    const char *text = json_object_to_json_string (msg);
    CLEANUP_FREE char *qtext = ov_quote_path (text ? text : "");
    ov_error ("QMP %s: not a QMP monitor: the first message is not a QMP "
              "greeting: %.200s", q->path, qtext ? qtext : "?");
    json_object_put (msg);
    return -1;
  }
  q->version = (int) (major * 10000 + minor * 100 + micro);
  json_object_put (msg);
  return 0;
}

static int
connect_socket (struct ov_qmp *q, const char *path, int64_t deadline)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int r;

  if (strlen (path) >= sizeof addr.sun_path) {
    ov_error ("QMP %s: socket path longer than %zu bytes", path,
              sizeof addr.sun_path - 1);
    return -1;
  }
  strcpy (addr.sun_path, path);
  q->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (q->fd == -1) {
    ov_error_errno (errno, "socket");
    return -1;
  }
  for (;;) {
    r = connect (q->fd, (struct sockaddr *) &addr, sizeof addr);
    if (r == 0 || errno == EISCONN)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EINPROGRESS) {
      /* The listen backlog is full: retry until the deadline. */
      if (now_ms () >= deadline) {
        ov_error ("QMP %s: connect: the monitor does not accept "
                  "connections (backlog full)", path);
        return -1;
      }
      usleep (10000);
      continue;
    }
    ov_error_errno (errno, "QMP %s: cannot connect%s", path,
                    errno == ECONNREFUSED || errno == ENOENT
                    ? " (is the VM running, with -qmp unix:...,server=on?)"
                    : "");
    return -1;
  }
}

struct ov_qmp *
ov_qmp_connect (const char *path, unsigned timeout_ms)
{
  struct ov_qmp *q = calloc (1, sizeof *q);
  int64_t deadline;

  if (q == NULL) {
    ov_error_errno (errno, "calloc");
    return NULL;
  }
  q->fd = -1;
  q->timeout_ms = timeout_ms ? timeout_ms : OV_QMP_DEFAULT_TIMEOUT_MS;
  q->path = strdup (path);
  q->tok = json_tokener_new_ex (OV_QMP_MAX_DEPTH);
  if (q->path == NULL || q->tok == NULL) {
    ov_error ("out of memory");
    goto fail;
  }
  deadline = now_ms () + q->timeout_ms;
  if (connect_socket (q, path, deadline) == -1 ||
      read_greeting (q, deadline) == -1)
    goto fail;
  if (ov_qmp_execute (q, "qmp_capabilities", NULL, NULL) == -1) {
    ov_error_prefix ("QMP %s: capabilities negotiation", path);
    goto fail;
  }
  return q;

 fail:
  ov_qmp_close (q);
  return NULL;
}

void
ov_qmp_close (struct ov_qmp *q)
{
  if (q == NULL)
    return;
  if (q->fd >= 0)
    close (q->fd);
  if (q->tok)
    json_tokener_free (q->tok);
  ov_qmp_clear_events (q);
  free (q->error_class);
  free (q->path);
  free (q);
}

void
ov_qmp_set_timeout (struct ov_qmp *q, unsigned timeout_ms)
{
  q->timeout_ms = timeout_ms ? timeout_ms : OV_QMP_DEFAULT_TIMEOUT_MS;
}

int
ov_qmp_version (const struct ov_qmp *q)
{
  return q->version;
}

const char *
ov_qmp_error_class (const struct ov_qmp *q)
{
  return q->error_class;
}

bool
ov_qmp_alive (const struct ov_qmp *q)
{
  return !q->dead;
}

/* The reply to request ID, events queued meanwhile. */
static int
await_reply (struct ov_qmp *q, const char *id, const char *command,
             int64_t deadline, json_object **reply)
{
  char what[128];

  snprintf (what, sizeof what, "waiting for the reply to %s", command);
  for (;;) {
    json_object *msg;
    const char *got;
    size_t wire_bytes;

    if (read_message (q, deadline, what, &msg, &wire_bytes) < 0)
      return -1;
    if (ov_json_get (msg, "event")) {
      queue_event (q, msg, wire_bytes);
      continue;
    }
    got = ov_json_get_string (msg, "id");
    if (got == NULL || strcmp (got, id) != 0) {
      json_object_put (msg);      /* someone else's, or a stray reply */
      continue;
    }
    *reply = msg;
    return 0;
  }
}

int
ov_qmp_execute (struct ov_qmp *q, const char *command, json_object *args,
                json_object **result)
{
  json_object *req = NULL, *reply = NULL, *ret, *err;
  const char *text;
  char id[32];
  int64_t deadline = now_ms () + q->timeout_ms;
  int r = -1;

  if (result)
    *result = NULL;
  set_error_class (q, NULL);
  if (check_alive (q, command) == -1) {
    json_object_put (args);
    return -1;
  }
  snprintf (id, sizeof id, "ovscan-%" PRIu64, ++q->next_id);
  req = json_object_new_object ();
  if (req == NULL) {
    json_object_put (args);
    ov_error ("out of memory");
    return -1;
  }
  json_object_object_add (req, "execute", json_object_new_string (command));
  if (args)
    json_object_object_add (req, "arguments", args);
  json_object_object_add (req, "id", json_object_new_string (id));
  text = json_object_to_json_string_ext (req, JSON_C_TO_STRING_PLAIN);
  if (text == NULL) {
    ov_error ("out of memory");
    goto out;
  }
  if (send_all (q, text, strlen (text), deadline, command) == -1 ||
      send_all (q, "\n", 1, deadline, command) == -1 ||
      await_reply (q, id, command, deadline, &reply) == -1) {
    kill_connection (q);
    goto out;
  }
  err = ov_json_get (reply, "error");
  if (err) {
    const char *cls = ov_json_get_string (err, "class");
    const char *desc = ov_json_get_string (err, "desc");
    CLEANUP_FREE char *qdesc = ov_quote_path (desc ? desc : "(no description)");
    set_error_class (q, cls ? cls : "GenericError");
    ov_error ("QMP %s: %s: %s", q->path, command, qdesc ? qdesc : "?");
    goto out;
  }
  if (!json_object_object_get_ex (reply, "return", &ret)) {
    ov_error ("QMP %s: %s: a reply with neither \"return\" nor \"error\"",
              q->path, command);
    kill_connection (q);
    goto out;
  }
  if (result)
    *result = json_object_get (ret);
  r = 0;
 out:
  json_object_put (req);
  json_object_put (reply);
  return r;
}

/* Take the oldest queued event named NAME that MATCH accepts; the events
 * before it are dropped too (they were older than what we wait for). */
static json_object *
take_queued (struct ov_qmp *q, const char *name,
             bool (*match) (json_object *, void *), void *opaque)
{
  size_t i;

  for (i = 0; i < q->ev_len; i++) {
    json_object *ev = q->events[(q->ev_head + i) % OV_QMP_MAX_EVENTS];
    const char *ev_name = ov_json_get_string (ev, "event");
    if (ev_name && strcmp (ev_name, name) == 0 &&
        (match == NULL || match (ov_json_get (ev, "data"), opaque))) {
      size_t k;
      for (k = 0; k < i; k++)
        drop_oldest_event (q);
      /* EV is now the oldest: take it out without putting it. */
      q->ev_bytes -= q->ev_size[q->ev_head];
      q->ev_head = (q->ev_head + 1) % OV_QMP_MAX_EVENTS;
      q->ev_len--;
      return ev;
    }
  }
  return NULL;
}

int
ov_qmp_wait_event (struct ov_qmp *q, const char *name,
                   bool (*match) (json_object *data, void *opaque),
                   void *opaque, json_object **data)
{
  int64_t deadline = now_ms () + q->timeout_ms;
  json_object *ev;
  char what[128];

  if (data)
    *data = NULL;
  if (check_alive (q, "wait for an event") == -1)
    return -1;
  snprintf (what, sizeof what, "waiting for the event %s", name);
  while ((ev = take_queued (q, name, match, opaque)) == NULL) {
    json_object *msg;
    size_t wire_bytes;
    if (read_message (q, deadline, what, &msg, &wire_bytes) < 0) {
      kill_connection (q);
      return -1;
    }
    if (ov_json_get (msg, "event"))
      queue_event (q, msg, wire_bytes);
    else
      json_object_put (msg);
  }
  if (data)
    *data = json_object_get (ov_json_get (ev, "data"));
  json_object_put (ev);
  return 0;
}
