/* ovscan — the cross-VM verdict cache in memory (see verdict_cache.h).
 *
 * Open addressing with linear probing over a power-of-two table, grown at
 * 50% load; the digest's first 8 bytes are the hash (SHA-256 output is
 * uniform).  Signature names are copied (at most 255 bytes, as in
 * ov_scan_result).
 */
#include "scanner/verdict_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct entry {
  bool used;
  uint8_t digest[32];
  bool infected;
  char *signature;
};

struct ov_verdict_cache {
  pthread_mutex_t lock;
  char *version;
  struct entry *slots;
  size_t cap, len;
};

struct ov_verdict_cache *
ov_verdict_cache_new (const char *sig_version)
{
  struct ov_verdict_cache *c = calloc (1, sizeof *c);

  if (c == NULL || (c->version = strdup (sig_version ? sig_version : "")) == NULL ||
      (c->slots = calloc (1024, sizeof *c->slots)) == NULL) {
    if (c)
      free (c->version);
    free (c);
    ov_error ("out of memory (verdict cache)");
    return NULL;
  }
  c->cap = 1024;
  pthread_mutex_init (&c->lock, NULL);
  return c;
}

void
ov_verdict_cache_free (struct ov_verdict_cache *c)
{
  size_t i;

  if (c == NULL)
    return;
  for (i = 0; i < c->cap; i++)
    free (c->slots[i].signature);
  free (c->slots);
  free (c->version);
  pthread_mutex_destroy (&c->lock);
  free (c);
}

const char *
ov_verdict_cache_version (const struct ov_verdict_cache *c)
{
  return c->version;
}

static size_t
slot_of (const struct entry *slots, size_t cap, const uint8_t digest[32])
{
  uint64_t h;
  size_t i;

  memcpy (&h, digest, sizeof h);
  for (i = (size_t) h & (cap - 1); ; i = (i + 1) & (cap - 1))
    if (!slots[i].used || memcmp (slots[i].digest, digest, 32) == 0)
      return i;
}

static int
grow (struct ov_verdict_cache *c)
{
  size_t cap = c->cap * 2, i;
  struct entry *slots = calloc (cap, sizeof *slots);

  if (slots == NULL)
    return -1;
  for (i = 0; i < c->cap; i++)
    if (c->slots[i].used)
      slots[slot_of (slots, cap, c->slots[i].digest)] = c->slots[i];
  free (c->slots);
  c->slots = slots;
  c->cap = cap;
  return 0;
}

int
ov_verdict_cache_add (struct ov_verdict_cache *c, const uint8_t digest[32],
                      enum ov_verdict verdict, const char *signature)
{
  struct entry *e;
  char *sig = NULL;
  int ret = -1;

  if (verdict != OV_VERDICT_CLEAN && verdict != OV_VERDICT_INFECTED)
    return 0;
  if (verdict == OV_VERDICT_INFECTED &&
      (sig = strndup (signature ? signature : "", 255)) == NULL)
    return -1;
  pthread_mutex_lock (&c->lock);
  if ((c->len + 1) * 2 > c->cap && grow (c) == -1)
    goto out;
  e = &c->slots[slot_of (c->slots, c->cap, digest)];
  if (!e->used) {
    e->used = true;
    memcpy (e->digest, digest, 32);
    c->len++;
  }
  free (e->signature);
  e->infected = verdict == OV_VERDICT_INFECTED;
  e->signature = sig;
  sig = NULL;
  ret = 0;
 out:
  pthread_mutex_unlock (&c->lock);
  free (sig);
  return ret;
}

bool
ov_verdict_cache_lookup (struct ov_verdict_cache *c, const uint8_t digest[32],
                         struct ov_scan_result *result)
{
  const struct entry *e;
  bool found;

  pthread_mutex_lock (&c->lock);
  e = &c->slots[slot_of (c->slots, c->cap, digest)];
  found = e->used;
  if (found) {
    result->verdict = e->infected ? OV_VERDICT_INFECTED : OV_VERDICT_CLEAN;
    snprintf (result->signature, sizeof result->signature, "%s",
              e->infected && e->signature ? e->signature : "");
  }
  pthread_mutex_unlock (&c->lock);
  return found;
}

size_t
ov_verdict_cache_size (struct ov_verdict_cache *c)
{
  size_t n;
  pthread_mutex_lock (&c->lock);
  n = c->len;
  pthread_mutex_unlock (&c->lock);
  return n;
}
