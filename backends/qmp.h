/* ovscan — a small QMP client: JSON over a QEMU monitor's unix socket.
 *
 * What it owns: one connection to one QMP monitor (qemu-system-*,
 * qemu-storage-daemon).  ov_qmp_connect reads the greeting (it must be a
 * QMP greeting with a version: anything else is "not a QMP monitor"),
 * negotiates capabilities, and then ov_qmp_execute sends one command at a
 * time and waits for ITS reply, matched by an "id" ("ovscan-N") that this
 * client chooses: replies carrying another id are dropped, events that
 * arrive meanwhile are queued for ov_qmp_wait_event.
 *
 * The event queue is bounded twice: at most OV_QMP_MAX_EVENTS events and
 * at most OV_QMP_MAX_EVENT_BYTES of them as received (JSON text).  When a
 * new event does not fit, the OLDEST events are dropped until it does (an
 * event larger than the whole byte cap is dropped itself); the connection
 * stays up, since QEMU's events are small and a waiter that misses one
 * times out with an error anyway.  ov_qmp_events_dropped counts the drops.
 * QEMU's events are a few hundred bytes, so the count binds first for a
 * real VM; the byte cap is for a hostile peer.  Memory: json-c objects
 * take up to ~36x their text for tiny values (measured, json-c 0.16:
 * 1 MiB of "[0,0,...]" parses into 36 MiB, 64 MiB into 2.3 GiB), so a
 * hostile peer can make us hold one message being parsed (up to
 * OV_QMP_MAX_MESSAGE of text, ~2.3 GiB parsed) plus the queue (~36 MiB).
 *
 * Deadlines: every call has one (ov_qmp_set_timeout, default 30 s) over
 * the whole call (connect, greeting, each command): a VM that is stopped,
 * hung, or whose monitor is already taken by another client (QEMU serves
 * one client per monitor socket and leaves the next one waiting, silent)
 * fails the call instead of hanging ovscan.  After a transport failure
 * (timeout, connection closed, bad JSON) the connection is dead: every
 * later call fails at once.
 *
 * Messages are parsed with json-c's incremental tokener (no line
 * splitting: a monitor started with pretty=on still works); one message
 * may be at most OV_QMP_MAX_MESSAGE bytes and OV_QMP_MAX_DEPTH deep, so a
 * hostile peer cannot make us buffer without bound.
 *
 * Errors: -1 / NULL + ov_error naming the socket and the command.  A
 * command that QEMU answered with an error leaves ov_qmp_error_class ()
 * set to QEMU's class ("GenericError", "DeviceNotFound", …) and the
 * message is QEMU's "desc"; the connection stays usable.
 *
 * Not thread-safe: one connection per thread.  Cost: one connect + two
 * round trips to open; one round trip per command.
 */
#ifndef OVSCAN_BACKENDS_QMP_H
#define OVSCAN_BACKENDS_QMP_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#define OV_QMP_DEFAULT_TIMEOUT_MS 30000
#define OV_QMP_MAX_MESSAGE (64u << 20)
#define OV_QMP_MAX_DEPTH 256
#define OV_QMP_MAX_EVENTS 256
#define OV_QMP_MAX_EVENT_BYTES (1u << 20)

struct ov_qmp;

/* Connect to the monitor at unix socket PATH, read the greeting and send
 * qmp_capabilities, all within TIMEOUT_MS (0 = the default). */
struct ov_qmp *ov_qmp_connect (const char *path, unsigned timeout_ms);
void ov_qmp_close (struct ov_qmp *q);

/* The deadline of each later call, in milliseconds (0 = the default). */
void ov_qmp_set_timeout (struct ov_qmp *q, unsigned timeout_ms);

/* QEMU's version from the greeting: major * 10000 + minor * 100 + micro. */
int ov_qmp_version (const struct ov_qmp *q);

/* Run COMMAND with ARGS (a JSON object, consumed; NULL = none).  On success
 * 0 and, when RESULT is not NULL, *RESULT = the "return" value (a new
 * reference: json_object_put it).  -1 + ov_error on an error reply (see
 * ov_qmp_error_class) or a transport failure. */
int ov_qmp_execute (struct ov_qmp *q, const char *command, json_object *args,
                    json_object **result);

/* QEMU's error class of the last failed ov_qmp_execute, or NULL when the
 * last call succeeded or failed for another reason (transport). */
const char *ov_qmp_error_class (const struct ov_qmp *q);

/* True if the connection is still usable. */
bool ov_qmp_alive (const struct ov_qmp *q);

/* Wait for an event named NAME whose "data" MATCH accepts (MATCH NULL =
 * any), looking at queued events first (the matching one and every older
 * one is dropped from the queue).  0 and *DATA = a new reference to the
 * event's data (may be NULL if DATA is NULL); -1 + ov_error on timeout
 * (ov_qmp_set_timeout) or transport failure. */
int ov_qmp_wait_event (struct ov_qmp *q, const char *name,
                       bool (*match) (json_object *data, void *opaque),
                       void *opaque, json_object **data);

/* Drop every queued event. */
void ov_qmp_clear_events (struct ov_qmp *q);

/* How many events were dropped so far because the queue was full (by
 * count or by bytes; see above). */
uint64_t ov_qmp_events_dropped (const struct ov_qmp *q);

/* {"type": TYPE, "data": DATA} — one action of a "transaction" (DATA is
 * consumed). */
json_object *ov_qmp_action (const char *type, json_object *data);

/* Small helpers for reading replies: NULL / 0 / false when absent or of
 * another type. */
json_object *ov_json_get (json_object *obj, const char *key);
const char *ov_json_get_string (json_object *obj, const char *key);
bool ov_json_get_bool (json_object *obj, const char *key);
/* -1 if absent, not an integer, or negative. */
int64_t ov_json_get_u63 (json_object *obj, const char *key);

#endif
