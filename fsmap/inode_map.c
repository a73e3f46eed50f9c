/* ovscan — fsmap: a map from inode number to a 64-bit value.
 *
 * Used by the walk for the set of inodes some name references (orphan
 * detection), the set of directories entered (loop detection) and pending
 * hard-linked files.  Open addressing with linear probing, kept at most half
 * full; keys are stored as inode + 1 so 0 means empty (inode UINT64_MAX
 * cannot be stored: TSK never produces it, bounded by last_inum).
 * Cost: O(1) expected per operation, 16 bytes x 2..4 per entry.
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <stdlib.h>

#include "common/error.h"

static size_t
slot_of (uint64_t key, size_t cap)
{
  key ^= key >> 33;
  key *= UINT64_C (0xff51afd7ed558ccd);
  key ^= key >> 33;
  return (size_t) key & (cap - 1);
}

int
ov_inode_map_get (const struct ov_inode_map *m, uint64_t inode,
                  uint64_t *value)
{
  uint64_t key = inode + 1;
  size_t i;

  if (m->cap == 0 || key == 0)
    return -1;
  for (i = slot_of (key, m->cap); m->keys[i] != 0; i = (i + 1) & (m->cap - 1))
    if (m->keys[i] == key) {
      if (value)
        *value = m->values[i];
      return 0;
    }
  return -1;
}

static void
insert_slot (uint64_t *keys, uint64_t *values, size_t cap, uint64_t key,
             uint64_t value)
{
  size_t i = slot_of (key, cap);

  while (keys[i] != 0 && keys[i] != key)
    i = (i + 1) & (cap - 1);
  keys[i] = key;
  values[i] = value;
}

static int
grow (struct ov_inode_map *m)
{
  size_t cap = m->cap ? m->cap * 2 : 64, i;
  uint64_t *keys, *values;

  if (cap > SIZE_MAX / sizeof *keys / 2) {
    ov_error ("inode map: too many entries");
    return -1;
  }
  keys = calloc (cap, sizeof *keys);
  values = calloc (cap, sizeof *values);
  if (keys == NULL || values == NULL) {
    free (keys);
    free (values);
    ov_error_errno (errno, "calloc");
    return -1;
  }
  for (i = 0; i < m->cap; i++)
    if (m->keys[i])
      insert_slot (keys, values, cap, m->keys[i], m->values[i]);
  free (m->keys);
  free (m->values);
  m->keys = keys;
  m->values = values;
  m->cap = cap;
  return 0;
}

int
ov_inode_map_put (struct ov_inode_map *m, uint64_t inode, uint64_t value)
{
  uint64_t key = inode + 1;
  size_t i;

  if (key == 0) {
    ov_error ("inode map: inode %llu cannot be stored",
              (unsigned long long) inode);
    return -1;
  }
  if ((m->len + 1) * 2 > m->cap && grow (m) == -1)
    return -1;
  for (i = slot_of (key, m->cap); m->keys[i] != 0; i = (i + 1) & (m->cap - 1))
    if (m->keys[i] == key) {
      m->values[i] = value;
      return 0;
    }
  m->keys[i] = key;
  m->values[i] = value;
  m->len++;
  return 0;
}

void
ov_inode_map_free (struct ov_inode_map *m)
{
  free (m->keys);
  free (m->values);
  m->keys = m->values = NULL;
  m->len = m->cap = 0;
}
