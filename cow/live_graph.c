/* ovscan — a running VM's disk chain as QEMU sees it (cow/live.h), and the
 * session (VM lock + QMP connection) the live layer operations run in.
 *
 * The chain is read from QEMU's block graph (x-debug-query-block-graph:
 * nodes and their parent/child edges; QEMU 7.2 has no stable query that
 * names a node's backing child) and query-named-block-nodes (file names,
 * header backing strings).  The node QEMU writes is found from the
 * registered node (or drive) by climbing "backing" edges: after ovscan's
 * first rotation the registered node is a frozen layer, after a merge it
 * may be gone (then ovscan's own newest node is the start), and after a VM
 * restart it is the top again.
 *
 * QEMU's file names go stale once ovscan renamed files under it, so QEMU
 * and the disk are compared by what does not change: each level's header
 * backing-file string ("./TOP.layer-N" is unique per level).
 *
 * Everything here comes from QEMU (trusted as much as the host): strings
 * are copied, counts bounded by the reply.  Cost: 2-3 QMP round trips.
 */
#include "cow/live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

void
ov_cow_qchain_free (struct ov_cow_qchain *c)
{
  size_t i;

  for (i = 0; i < c->len; i++) {
    free (c->v[i].name);
    free (c->v[i].file_node);
    free (c->v[i].file_name);
    free (c->v[i].backing);
  }
  free (c->v);
  memset (c, 0, sizeof *c);
}

void
ov_cow_live_strv_free (char **v)
{
  size_t i;

  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
ov_cow_live_node_name (const struct ov_cow_live *lv, unsigned m, bool file,
                       char out[32])
{
  snprintf (out, 32, OV_LIVE_PREFIX "%s-%s%u", lv->names.tag, file ? "f" : "", m);
}

static int
lock_vm (struct ov_cow_live *lv)
{
  lv->lock_fd = open (lv->names.lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lv->lock_fd == -1) {
    ov_error_errno (errno, "%s: open %s", lv->top, lv->names.lock_file);
    return -1;
  }
  if (flock (lv->lock_fd, LOCK_EX | LOCK_NB) == -1) {
    if (errno == EWOULDBLOCK)
      ov_error ("%s: another ovscan is working on a disk of the same VM "
                "(lock %s): try again later", lv->top, lv->names.lock_file);
    else
      ov_error_errno (errno, "%s: flock %s", lv->top, lv->names.lock_file);
    return -1;
  }
  return 0;
}

int
ov_cow_live_connect (struct ov_cow_live *lv, const char *qmp_socket)
{
  const char *env = getenv ("OVSCAN_QMP_TIMEOUT");

  if (lv->q)
    return 0;
  if (env && *env) {
    char *end;
    unsigned long s = strtoul (env, &end, 10);
    if (*end == '\0' && s > 0 && s < 3600)
      lv->timeout_ms = (unsigned) s * 1000;
  }
  if ((lv->q = ov_qmp_connect (qmp_socket, lv->timeout_ms)) == NULL) {
    ov_error_prefix ("%s", lv->top);
    return -1;
  }
  return 0;
}

int
ov_cow_live_open (struct ov_cow_live *lv, const char *top,
                  const char *qmp_socket, const char *node, const char *drive)
{
  CLEANUP_FREE char *key = NULL;

  memset (lv, 0, sizeof *lv);
  lv->lock_fd = -1;
  lv->top = top;
  lv->node = node;
  lv->drive = drive;
  if ((node == NULL) == (drive == NULL)) {
    ov_error ("%s: a running VM's disk needs one node or drive", top);
    return -1;
  }
  if (asprintf (&key, "%s:%s", node ? "node" : "drive", node ? node : drive) == -1) {
    key = NULL;
    ov_error ("out of memory");
    return -1;
  }
  if (ov_live_names_init (&lv->names, qmp_socket, key, NULL) == -1)
    return -1;
  snprintf (lv->job_id, sizeof lv->job_id, OV_LIVE_PREFIX "cm-%s", lv->names.tag);
  if (lock_vm (lv) == -1)
    return -1;
  return ov_cow_live_connect (lv, qmp_socket);
}

void
ov_cow_live_close (struct ov_cow_live *lv)
{
  ov_qmp_close (lv->q);
  lv->q = NULL;
  if (lv->lock_fd >= 0)
    close (lv->lock_fd);
  lv->lock_fd = -1;
  if (lv->names.dir)
    ov_live_names_free (&lv->names);
}

/* ---- the block graph ---- */

struct graph {
  json_object *graph;          /* x-debug-query-block-graph's return */
  json_object *named;          /* query-named-block-nodes (flat) */
  json_object *nodes, *edges;
};

static void
graph_free (struct graph *g)
{
  json_object_put (g->graph);
  json_object_put (g->named);
  memset (g, 0, sizeof *g);
}

static int
graph_load (struct ov_cow_live *lv, struct graph *g)
{
  json_object *args;
  int r;

  memset (g, 0, sizeof *g);
  r = ov_qmp_execute (lv->q, "x-debug-query-block-graph", NULL, &g->graph);
  if (r == 0) {                 /* args only when the call consumes them */
    args = json_object_new_object ();
    json_object_object_add (args, "flat", json_object_new_boolean (1));
    r = ov_qmp_execute (lv->q, "query-named-block-nodes", args, &g->named);
  }
  if (r == -1) {
    ov_error_prefix ("%s: reading the VM's block graph", lv->top);
    graph_free (g);
    return -1;
  }
  g->nodes = ov_json_get (g->graph, "nodes");
  g->edges = ov_json_get (g->graph, "edges");
  if (!json_object_is_type (g->nodes, json_type_array) ||
      !json_object_is_type (g->edges, json_type_array) ||
      !json_object_is_type (g->named, json_type_array)) {
    ov_error ("%s: the VM's block graph reply has no nodes or edges", lv->top);
    graph_free (g);
    return -1;
  }
  return 0;
}

static int64_t
id_of (const struct graph *g, const char *name)
{
  size_t i, n = json_object_array_length (g->nodes);

  for (i = 0; i < n; i++) {
    json_object *x = json_object_array_get_idx (g->nodes, i);
    const char *nm = ov_json_get_string (x, "name");
    const char *type = ov_json_get_string (x, "type");
    if (nm && type && strcmp (type, "block-driver") == 0 && strcmp (nm, name) == 0)
      return ov_json_get_u63 (x, "id");
  }
  return -1;
}

static const char *
name_of (const struct graph *g, int64_t id)
{
  size_t i, n = json_object_array_length (g->nodes);

  for (i = 0; i < n; i++) {
    json_object *x = json_object_array_get_idx (g->nodes, i);
    if (ov_json_get_u63 (x, "id") == id)
      return ov_json_get_string (x, "name");
  }
  return NULL;
}

/* The other end of an edge named EDGE (NULL = any) with ID as child
 * (UP) or as parent; -1 if none. */
static int64_t
edge (const struct graph *g, int64_t id, const char *edge_name, bool up)
{
  size_t i, n = json_object_array_length (g->edges);

  for (i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx (g->edges, i);
    const char *nm = ov_json_get_string (e, "name");
    if (edge_name && (nm == NULL || strcmp (nm, edge_name) != 0))
      continue;
    if (ov_json_get_u63 (e, up ? "child" : "parent") == id)
      return ov_json_get_u63 (e, up ? "parent" : "child");
  }
  return -1;
}

static json_object *
named_node (const struct graph *g, const char *name)
{
  size_t i, n = json_object_array_length (g->named);

  for (i = 0; i < n; i++) {
    json_object *x = json_object_array_get_idx (g->named, i);
    const char *nm = ov_json_get_string (x, "node-name");
    if (nm && strcmp (nm, name) == 0)
      return x;
  }
  return NULL;
}

/* ovscan's newest own node of this disk (ovscan-TAG-M, largest M). */
static const char *
newest_own_node (struct ov_cow_live *lv, const struct graph *g)
{
  size_t i, n = json_object_array_length (g->named), plen;
  const char *best = NULL;
  unsigned long best_m = 0;
  char prefix[32];

  plen = (size_t) snprintf (prefix, sizeof prefix, OV_LIVE_PREFIX "%s-",
                            lv->names.tag);
  for (i = 0; i < n; i++) {
    const char *nm = ov_json_get_string (json_object_array_get_idx (g->named, i),
                                         "node-name");
    char *end;
    unsigned long m;
    if (nm == NULL || strncmp (nm, prefix, plen) != 0 || nm[plen] < '1' ||
        nm[plen] > '9')
      continue;
    m = strtoul (nm + plen, &end, 10);
    if (*end == '\0' && m > best_m) {
      best_m = m;
      best = nm;
    }
  }
  return best;
}

static int
start_node (struct ov_cow_live *lv, const struct graph *g, char **start)
{
  const char *s = NULL;

  if (lv->drive) {
    struct ov_live_node node;
    if (ov_live_find_node (lv->q, NULL, lv->drive, &node) == -1) {
      ov_error_prefix ("%s", lv->top);
      return -1;
    }
    *start = node.node_name;
    node.node_name = NULL;
    ov_live_node_clear (&node);
    return 0;
  }
  if (id_of (g, lv->node) >= 0)
    s = lv->node;
  else
    s = newest_own_node (lv, g);
  if (s == NULL) {
    ov_error ("%s: the VM has no block node named %s (nor one of ovscan's): "
              "the VM was reconfigured?", lv->top, lv->node);
    return -1;
  }
  if ((*start = strdup (s)) == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

static char *
dup_or_null (const char *s, bool *failed)
{
  char *d = s ? strdup (s) : NULL;
  if (s && d == NULL)
    *failed = true;
  return d;
}

int
ov_cow_live_qchain (struct ov_cow_live *lv, struct ov_cow_qchain *out)
{
  struct graph g;
  CLEANUP_FREE char *start = NULL;
  int64_t id, up;
  size_t guard;
  int ret = -1;

  memset (out, 0, sizeof *out);
  if (graph_load (lv, &g) == -1)
    return -1;
  if (start_node (lv, &g, &start) == -1)
    goto out;
  if ((id = id_of (&g, start)) < 0) {
    ov_error ("%s: node %s is not in the VM's block graph", lv->top, start);
    goto out;
  }
  for (guard = 0; (up = edge (&g, id, "backing", true)) >= 0; guard++) {
    if (guard > OV_COW_MAX_CHAIN) {
      ov_error ("%s: the VM's backing chain above %s is longer than %d",
                lv->top, start, OV_COW_MAX_CHAIN);
      goto out;
    }
    id = up;
  }
  for (; id >= 0; id = edge (&g, id, "backing", false)) {
    struct ov_cow_qnode *v, *x;
    const char *name = name_of (&g, id), *file = NULL;
    json_object *info;
    int64_t fid;
    bool failed = false;

    if (out->len >= OV_COW_MAX_CHAIN || name == NULL ||
        (info = named_node (&g, name)) == NULL) {
      ov_error ("%s: the VM's chain is too long or has a node without a "
                "name (%s)", lv->top, name ? name : "?");
      goto out;
    }
    if ((v = realloc (out->v, (out->len + 1) * sizeof *v)) == NULL) {
      ov_error ("out of memory");
      goto out;
    }
    out->v = v;
    x = &v[out->len++];
    memset (x, 0, sizeof *x);
    fid = edge (&g, id, "file", false);
    if (fid >= 0) {
      const char *fname = name_of (&g, fid);
      x->file_node = dup_or_null (fname, &failed);
      if (fname)
        file = ov_json_get_string (named_node (&g, fname), "file");
    }
    x->name = dup_or_null (name, &failed);
    x->file_name = dup_or_null (file, &failed);
    x->backing = dup_or_null (ov_json_get_string (ov_json_get (info, "image"),
                                                  "backing-filename"), &failed);
    x->ro = ov_json_get_bool (info, "ro");
    if (failed) {
      ov_error ("out of memory");
      goto out;
    }
  }
  ret = 0;
 out:
  if (ret == -1)
    ov_cow_qchain_free (out);
  graph_free (&g);
  return ret;
}

static bool
same_string (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

int
ov_cow_live_check (const struct ov_cow_live *lv, const struct ov_cow_qchain *qc,
                   const struct ov_cow_chain *dc)
{
  size_t i;

  if (qc->len != dc->len) {
    ov_error ("%s: the running VM's chain has %zu images (top node %s) but "
              "the chain on disk has %zu: the VM does not run on this "
              "disk's files as they are", lv->top, qc->len,
              qc->len ? qc->v[0].name : "?", dc->len);
    return -1;
  }
  for (i = 0; i < qc->len; i++)
    if (!same_string (qc->v[i].backing, dc->layers[i].backing)) {
      ov_error ("%s: the running VM's node %s is backed by '%s' but %s on "
                "disk by '%s': the VM and the files disagree", lv->top,
                qc->v[i].name, qc->v[i].backing ? qc->v[i].backing : "(none)",
                dc->layers[i].path,
                dc->layers[i].backing ? dc->layers[i].backing : "(none)");
      return -1;
    }
  return 0;
}

int
ov_cow_live_orphans (struct ov_cow_live *lv, const char *prefix, char ***names)
{
  struct graph g;
  size_t i, n, k = 0;
  char **v;

  *names = NULL;
  if (graph_load (lv, &g) == -1)
    return -1;
  n = json_object_array_length (g.named);
  if ((v = calloc (n + 1, sizeof *v)) == NULL) {
    graph_free (&g);
    ov_error ("out of memory");
    return -1;
  }
  for (i = 0; i < n; i++) {
    const char *nm = ov_json_get_string (json_object_array_get_idx (g.named, i),
                                         "node-name");
    int64_t id;
    if (nm == NULL || nm[0] == '#' ||
        (prefix && strncmp (nm, prefix, strlen (prefix)) != 0))
      continue;
    if ((id = id_of (&g, nm)) < 0 || edge (&g, id, NULL, true) >= 0)
      continue;
    if ((v[k] = strdup (nm)) == NULL) {
      ov_cow_live_strv_free (v);
      graph_free (&g);
      ov_error ("out of memory");
      return -1;
    }
    k++;
  }
  graph_free (&g);
  *names = v;
  return 0;
}

int
ov_cow_live_del_node (struct ov_cow_live *lv, const char *name)
{
  json_object *args = json_object_new_object ();
  const char *cls;

  json_object_object_add (args, "node-name", json_object_new_string (name));
  if (ov_qmp_execute (lv->q, "blockdev-del", args, NULL) == 0)
    return 0;
  cls = ov_qmp_error_class (lv->q);
  if (cls && strcmp (cls, "DeviceNotFound") == 0)
    return 0;
  ov_error_prefix ("%s: removing node %s", lv->top, name);
  return -1;
}
