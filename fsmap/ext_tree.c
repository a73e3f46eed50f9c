/* ovscan — fsmap: the names tree of the targeted ext metadata refresh.
 *
 * Every directory reachable from the root, breadth first, with its path
 * joined exactly as the walk joins it; the listing of each is the one read
 * this poll if any, else the old one.  Loops, hard-linked directories and
 * depth past OV_MAX_DIR_DEPTH make the pass give up (the walk reports
 * them).  Then: which regular files are candidates (entries gained or lost
 * in a re-listed directory, every entry of a new or moved directory), which
 * directories to store and which are gone, and every name of every
 * candidate.
 * Cost: O(entries of the whole tree), in memory.
 */
#include "fsmap/ext_incr_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static const struct ov_dir *
current_listing (struct ctx *c, uint64_t inode)
{
  const struct ov_dir *d = ext_listed_dir (c, inode);
  return d ? d : ext_old_dir (c, inode);
}

/* Every directory reachable from the root, with its new path, in the
 * walk's order of discovery (depth first is not needed: paths only depend
 * on the parent chain).  A directory the old tree does not know is listed
 * from TSK now. */
int
ext_build_tree (struct ctx *c, visit_vector *tree, struct ov_inode_map *visited)
{
  size_t head = 0, i;
  char *root = strdup ("");

  if (root == NULL || visit_vector_append (tree, (struct visit) {
        .inode = c->tfs->root_inum, .path = root, .depth = 0 }) == -1
      || ov_inode_map_put (visited, c->tfs->root_inum, 0) == -1) {
    free (root);
    return ext_oom (c);
  }
  while (head < tree->len) {
    struct visit v = tree->ptr[head++];
    const struct ov_dir *d = current_listing (c, v.inode);

    if (d == NULL) {
      if (ext_list_dir (c, v.inode) == -1)
        return -1;
      d = ext_listed_dir (c, v.inode);
    }
    for (i = 0; i < d->nentries; i++) {
      const struct ov_dirent *e = &d->entries[i];
      char *child;
      uint64_t now;

      if (e->type == OV_DIRENT_BAD)
        return ext_give_up (c, "inode %" PRIu64 ": metadata unreadable", e->inode);
      /* An old listing's entry whose inode was rewritten: its type must
       * still be the recorded one (the walk would see the new one). */
      if (ext_listed_dir (c, v.inode) == NULL && ext_inode_slot_dirty (c, e->inode)
          && (ov_inode_map_get (&c->slot_types, e->inode, &now) == -1
              || now != e->type))
        return ext_give_up (c, "inode %" PRIu64 " changed type without its"
                        " directory (inode %" PRIu64 ") changing", e->inode,
                        v.inode);
      if (e->type != OV_DIRENT_DIR)
        continue;
      if (ov_inode_map_get (visited, e->inode, NULL) == 0)
        return ext_give_up (c, "directory inode %" PRIu64 " reached twice (loop"
                        " or hard-linked directory)", e->inode);
      if (v.depth + 1 >= OV_MAX_DIR_DEPTH)
        return ext_give_up (c, "directories nested deeper than %u",
                        OV_MAX_DIR_DEPTH);
      child = ov_path_join (v.path, e->name, strlen (e->name));
      if (child == NULL)
        return ext_give_up (c, "directory inode %" PRIu64 ": %s", e->inode,
                        ov_last_error ());
      if (visit_vector_append (tree, (struct visit) {
            .inode = e->inode, .path = child, .depth = v.depth + 1 }) == -1
          || ov_inode_map_put (visited, e->inode, tree->len - 1) == -1) {
        free (child);
        return ext_oom (c);
      }
    }
  }
  return 0;
}

static int
compare_entries (const void *a, const void *b)
{
  const struct ov_dirent *x = a, *y = b;
  int r = strcmp (x->name, y->name);
  if (r)
    return r;
  if (x->inode != y->inode)
    return x->inode < y->inode ? -1 : 1;
  return (int) x->type - (int) y->type;
}

/* Entries present on one side only: their regular files are candidates. */
static int
diff_listings (struct ctx *c, const struct ov_dir *old, const struct ov_dir *now)
{
  struct ov_dirent *a = NULL, *b = NULL;
  size_t i = 0, j = 0;
  int ret = 0;

  if (old->nentries) {
    if ((a = malloc (old->nentries * sizeof *a)) == NULL)
      return ext_oom (c);
    memcpy (a, old->entries, old->nentries * sizeof *a);
    qsort (a, old->nentries, sizeof *a, compare_entries);
  }
  if (now->nentries) {
    if ((b = malloc (now->nentries * sizeof *b)) == NULL) {
      free (a);
      return ext_oom (c);
    }
    memcpy (b, now->entries, now->nentries * sizeof *b);
    qsort (b, now->nentries, sizeof *b, compare_entries);
  }
  while (ret == 0 && (i < old->nentries || j < now->nentries)) {
    int cmp = i == old->nentries ? 1 : j == now->nentries ? -1
      : compare_entries (&a[i], &b[j]);
    if (cmp == 0) {
      i++, j++;
      continue;
    }
    if (cmp < 0) {
      if (a[i].type == OV_DIRENT_REG)
        ret = ext_add_candidate (c, a[i].inode);
      i++;
    }
    else {
      if (b[j].type == OV_DIRENT_REG)
        ret = ext_add_candidate (c, b[j].inode);
      j++;
    }
  }
  free (a);
  free (b);
  return ret;
}

static struct ov_dir *
copy_dir (const struct ov_dir *d, const char *path)
{
  struct ov_dir *n = calloc (1, sizeof *n);
  size_t i;

  if (n == NULL)
    return NULL;
  n->inode = d->inode;
  n->path = strdup (path);
  n->entries = calloc (d->nentries ? d->nentries : 1, sizeof *n->entries);
  n->runs = malloc ((d->nruns ? d->nruns : 1) * sizeof *n->runs);
  if (n->path == NULL || n->entries == NULL || n->runs == NULL)
    goto fail;
  for (i = 0; i < d->nentries; i++) {
    n->entries[i] = d->entries[i];
    if ((n->entries[i].name = strdup (d->entries[i].name)) == NULL)
      goto fail;
    n->nentries++;
  }
  if (d->nruns)
    memcpy (n->runs, d->runs, d->nruns * sizeof *n->runs);
  n->nruns = d->nruns;
  return n;
 fail:
  ov_dir_clear (n);
  free (n);
  return NULL;
}

static int
put_dir (struct ctx *c, struct ov_dir *d)
{
  struct ov_dir **v = realloc (c->r->dirs_put,
                               (c->r->ndirs_put + 1) * sizeof *v);
  if (v == NULL) {
    ov_dir_clear (d);
    free (d);
    return ext_oom (c);
  }
  c->r->dirs_put = v;
  v[c->r->ndirs_put++] = d;
  return 0;
}

/* Decide the candidates the tree gives, the directories to store and the
 * ones gone; then collect every candidate's names. */
int
ext_apply_tree (struct ctx *c, visit_vector *tree, struct ov_inode_map *visited)
{
  size_t i, j;

  for (i = 0; i < tree->len; i++) {
    const struct visit *v = &tree->ptr[i];
    const struct ov_dir *old = ext_old_dir (c, v->inode);
    struct ov_dir *now = ext_listed_dir (c, v->inode);
    bool moved = old && strcmp (old->path, v->path) != 0;

    if (now) {
      if (old ? diff_listings (c, old, now) == -1 : 0)
        return -1;
      if (!old)
        for (j = 0; j < now->nentries; j++)
          if (now->entries[j].type == OV_DIRENT_REG
              && ext_add_candidate (c, now->entries[j].inode) == -1)
            return -1;
    }
    if (moved || !old)
      for (j = 0; j < current_listing (c, v->inode)->nentries; j++) {
        const struct ov_dirent *e = &current_listing (c, v->inode)->entries[j];
        if (e->type == OV_DIRENT_REG && ext_add_candidate (c, e->inode) == -1)
          return -1;
      }
    if (now || moved) {
      struct ov_dir *d = copy_dir (now ? now : old, v->path);
      if (d == NULL || put_dir (c, d) == -1)
        return ext_oom (c);
    }
  }
  for (i = 0; i < c->in->ndirs; i++)
    if (ov_inode_map_get (visited, c->in->dirs[i]->inode, NULL) == -1) {
      uint64_t *g = realloc (c->r->dirs_gone,
                             (c->r->ndirs_gone + 1) * sizeof *g);
      if (g == NULL)
        return ext_oom (c);
      c->r->dirs_gone = g;
      g[c->r->ndirs_gone++] = c->in->dirs[i]->inode;
    }

  /* Every name of every candidate, as the walk would join it. */
  for (i = 0; i < tree->len; i++) {
    const struct visit *v = &tree->ptr[i];
    const struct ov_dir *d = current_listing (c, v->inode);
    for (j = 0; j < d->nentries; j++) {
      const struct ov_dirent *e = &d->entries[j];
      uint64_t k;
      char *p;
      if (e->type != OV_DIRENT_REG
          || ov_inode_map_get (&c->cand_index, e->inode, &k) == -1)
        continue;
      p = ov_path_join (v->path, e->name, strlen (e->name));
      if (p == NULL)
        return ext_give_up (c, "inode %" PRIu64 ": %s", e->inode, ov_last_error ());
      if (str_vector_append (&c->cands[k].names, p) == -1) {
        free (p);
        return ext_oom (c);
      }
    }
  }
  return 0;
}
