/* ovscan — finding a running VM's disk node and its dirty bitmaps over QMP
 * (query-named-block-nodes flat, query-block for a drive id).
 *
 * Everything read here comes from the VM's QEMU, which is trusted as much
 * as the host (a guest cannot reach its monitor), but the values are still
 * range-checked: a size or count that does not fit is an error, not a
 * wrap-around.  Cost: one or two QMP round trips; the reply of
 * query-named-block-nodes grows with the number of nodes (a few KiB each).
 */
#include "backends/live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

void
ov_live_node_clear (struct ov_live_node *node)
{
  size_t i;

  for (i = 0; i < node->bitmaps.len; i++)
    free (node->bitmaps.ptr[i].name);
  ov_live_bitmaps_reset (&node->bitmaps);
  free (node->node_name);
  free (node->driver);
  memset (node, 0, sizeof *node);
}

const struct ov_live_bitmap *
ov_live_node_bitmap (const struct ov_live_node *node, const char *name)
{
  size_t i;

  for (i = 0; i < node->bitmaps.len; i++)
    if (strcmp (node->bitmaps.ptr[i].name, name) == 0)
      return &node->bitmaps.ptr[i];
  return NULL;
}

/* The node-name inserted in DRIVE, from query-block (malloc'd). */
static char *
drive_node_name (struct ov_qmp *q, const char *drive)
{
  json_object *blocks = NULL;
  char *found = NULL;
  size_t i, n, dlen = strlen (drive);

  if (ov_qmp_execute (q, "query-block", NULL, &blocks) == -1)
    return NULL;
  n = json_object_is_type (blocks, json_type_array)
    ? json_object_array_length (blocks) : 0;
  for (i = 0; i < n; i++) {
    json_object *b = json_object_array_get_idx (blocks, i);
    const char *device = ov_json_get_string (b, "device");
    const char *qdev = ov_json_get_string (b, "qdev");
    const char *node = ov_json_get_string (ov_json_get (b, "inserted"), "node-name");
    bool match = (device && strcmp (device, drive) == 0) ||
      (qdev && strcmp (qdev, drive) == 0) ||
      (qdev && strncmp (qdev, "/machine/peripheral/", 20) == 0 &&
       strncmp (qdev + 20, drive, dlen) == 0 && qdev[20 + dlen] == '/');
    if (!match)
      continue;
    if (node == NULL) {
      ov_error ("drive %s has no medium inserted", drive);
      json_object_put (blocks);
      return NULL;
    }
    found = strdup (node);
    if (found == NULL)
      ov_error ("out of memory");
    break;
  }
  if (i == n)
    ov_error ("no drive or device with id '%s' (query-block)", drive);
  json_object_put (blocks);
  return found;
}

static int
parse_bitmap (json_object *b, struct ov_live_bitmap *out)
{
  const char *name = ov_json_get_string (b, "name");
  int64_t count = ov_json_get_u63 (b, "count");
  int64_t gran = ov_json_get_u63 (b, "granularity");

  memset (out, 0, sizeof *out);
  if (name == NULL || count < 0 || gran < 512 || gran > 0x80000000LL ||
      (gran & (gran - 1)) != 0) {
    ov_error ("a dirty bitmap entry without name, count or a valid granularity");
    return -1;
  }
  if ((out->name = strdup (name)) == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  out->count = (uint64_t) count;
  out->granularity = (uint32_t) gran;
  out->recording = ov_json_get_bool (b, "recording");
  out->persistent = ov_json_get_bool (b, "persistent");
  out->inconsistent = ov_json_get_bool (b, "inconsistent");
  out->busy = ov_json_get_bool (b, "busy");
  return 0;
}

static int
parse_node (json_object *n, struct ov_live_node *out)
{
  json_object *bitmaps = ov_json_get (n, "dirty-bitmaps");
  int64_t size = ov_json_get_u63 (ov_json_get (n, "image"), "virtual-size");
  const char *drv = ov_json_get_string (n, "drv");
  size_t i, len;

  if (size < 0 || drv == NULL) {
    ov_error ("node %s: no virtual size or driver in query-named-block-nodes",
              out->node_name);
    return -1;
  }
  out->virtual_size = (uint64_t) size;
  out->read_only = ov_json_get_bool (n, "ro");
  if ((out->driver = strdup (drv)) == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  len = json_object_is_type (bitmaps, json_type_array)
    ? json_object_array_length (bitmaps) : 0;
  for (i = 0; i < len; i++) {
    json_object *e = json_object_array_get_idx (bitmaps, i);
    struct ov_live_bitmap b;
    /* Anonymous bitmaps are QEMU's own (a backup job's copy tracking). */
    if (ov_json_get (e, "name") == NULL)
      continue;
    if (parse_bitmap (e, &b) == -1) {
      ov_error_prefix ("node %s", out->node_name);
      return -1;
    }
    if (ov_live_bitmaps_append (&out->bitmaps, b) == -1) {
      free (b.name);
      ov_error ("out of memory");
      return -1;
    }
  }
  return 0;
}

/* "a, b, c" of the named nodes (for the error message); never NULL. */
static char *
node_names (json_object *nodes)
{
  size_t i, n = json_object_array_length (nodes), len = 0;
  char *s = calloc (1, 1);

  for (i = 0; s && i < n; i++) {
    const char *name = ov_json_get_string (json_object_array_get_idx (nodes, i),
                                           "node-name");
    char *t;
    if (name == NULL || name[0] == '#')
      continue;
    t = realloc (s, len + strlen (name) + 3);
    if (t == NULL)
      break;
    s = t;
    len += sprintf (s + len, "%s%s", len ? ", " : "", name);
  }
  return s ? s : strdup ("");
}

int
ov_live_find_node (struct ov_qmp *q, const char *node, const char *drive,
                   struct ov_live_node *out)
{
  json_object *args, *nodes = NULL;
  CLEANUP_FREE char *by_drive = NULL;
  const char *want;
  size_t i, n;
  int ret = -1;

  memset (out, 0, sizeof *out);
  if (drive) {
    if ((by_drive = drive_node_name (q, drive)) == NULL)
      return -1;
    want = by_drive;
  }
  else
    want = node;
  args = json_object_new_object ();
  json_object_object_add (args, "flat", json_object_new_boolean (1));
  if (ov_qmp_execute (q, "query-named-block-nodes", args, &nodes) == -1)
    return -1;
  n = json_object_is_type (nodes, json_type_array)
    ? json_object_array_length (nodes) : 0;
  for (i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx (nodes, i);
    const char *name = ov_json_get_string (e, "node-name");
    if (name == NULL || strcmp (name, want) != 0)
      continue;
    if ((out->node_name = strdup (name)) == NULL) {
      ov_error ("out of memory");
      goto out;
    }
    if (parse_node (e, out) == -1)
      goto out;
    ret = 0;
    goto out;
  }
  {
    CLEANUP_FREE char *names = n ? node_names (nodes) : strdup ("");
    CLEANUP_FREE char *qwant = ov_quote_path (want);
    ov_error ("no block node named %s in this VM (named nodes: %s)",
              qwant ? qwant : "?", names && names[0] ? names : "none");
  }
 out:
  if (ret == -1)
    ov_live_node_clear (out);
  json_object_put (nodes);
  return ret;
}
