/* ovscan — worker threads that scan files (ov_pool).
 *
 * One producer (the walk) submits files into a bounded ring (POOL_QUEUE
 * slots); N workers take them in submission order, scan with their own disk
 * handle (ov_disk_reopen'd on the caller's thread in ov_pool_start, so a
 * failing reopen fails the start and no thread is left behind), and deliver
 * the result through the callback under one mutex, so callbacks never run
 * concurrently.  ov_pool_finish drains the queue, joins, and frees.
 *
 * Invariants: every submitted file is delivered to the callback exactly once
 * and then freed by the pool; the queue never holds more than POOL_QUEUE files
 * (submit blocks), so a walk cannot run far ahead of the scan.
 * Cost: one mutex round trip per file on each side; memory is the queue plus
 * one libclamav scan context per worker.
 */
#include "scanner/scanner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define POOL_QUEUE 64

struct worker {
  struct ov_pool *pool;
  struct ov_disk *disk;
  pthread_t thread;
  unsigned index;
};

struct ov_pool {
  const struct cl_engine *engine;
  struct ov_scan_limits limits;
  struct ov_fsmap *map;
  ov_result_cb cb;
  void *opaque;

  pthread_mutex_t lock;        /* protects the queue and `closing` */
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  struct ov_file *queue[POOL_QUEUE];
  size_t head, len;
  bool closing;

  pthread_mutex_t cb_lock;     /* serialises the result callback */

  struct worker *workers;
  unsigned nworkers;
  unsigned nstarted;
};

static struct ov_file *
take (struct ov_pool *pool)
{
  struct ov_file *f = NULL;

  pthread_mutex_lock (&pool->lock);
  while (pool->len == 0 && !pool->closing)
    pthread_cond_wait (&pool->not_empty, &pool->lock);
  if (pool->len > 0) {
    f = pool->queue[pool->head];
    pool->head = (pool->head + 1) % POOL_QUEUE;
    pool->len--;
    pthread_cond_signal (&pool->not_full);
  }
  pthread_mutex_unlock (&pool->lock);
  return f;                    /* NULL: closing and drained */
}

static void *
worker_main (void *arg)
{
  struct worker *w = arg;
  struct ov_pool *pool = w->pool;
  struct ov_file *f;

  while ((f = take (pool)) != NULL) {
    struct ov_scan_result result;
    ov_scan_file (pool->engine, &pool->limits, pool->map, w->disk, f, &result);
    pthread_mutex_lock (&pool->cb_lock);
    pool->cb (pool->opaque, f, &result);
    pthread_mutex_unlock (&pool->cb_lock);
    ov_scan_result_clear (&result);
    ov_file_free (f);
  }
  return NULL;
}

/* Stop the started threads (the queue is empty), close every disk, free. */
static void
pool_destroy (struct ov_pool *pool)
{
  unsigned i;

  pthread_mutex_lock (&pool->lock);
  pool->closing = true;
  pthread_cond_broadcast (&pool->not_empty);
  pthread_mutex_unlock (&pool->lock);
  for (i = 0; i < pool->nstarted; i++)
    pthread_join (pool->workers[i].thread, NULL);
  for (i = 0; i < pool->nworkers; i++)
    ov_disk_close (pool->workers[i].disk);
  pthread_mutex_destroy (&pool->lock);
  pthread_mutex_destroy (&pool->cb_lock);
  pthread_cond_destroy (&pool->not_empty);
  pthread_cond_destroy (&pool->not_full);
  free (pool->workers);
  free (pool);
}

struct ov_pool *
ov_pool_start (unsigned nworkers, const struct cl_engine *engine,
               const struct ov_scan_limits *limits,
               struct ov_fsmap *map, struct ov_disk *disk,
               ov_result_cb cb, void *opaque)
{
  struct ov_pool *pool;
  unsigned i;
  int err;

  if (nworkers == 0) {
    ov_error ("scanner pool: at least one worker thread is needed");
    return NULL;
  }
  pool = calloc (1, sizeof *pool);
  if (pool == NULL) {
    ov_error_errno (errno, "calloc");
    return NULL;
  }
  pool->workers = calloc (nworkers, sizeof *pool->workers);
  if (pool->workers == NULL) {
    ov_error_errno (errno, "calloc");
    free (pool);
    return NULL;
  }
  pool->engine = engine;
  if (limits)
    pool->limits = *limits;
  pool->map = map;
  pool->cb = cb;
  pool->opaque = opaque;
  pool->nworkers = nworkers;
  pthread_mutex_init (&pool->lock, NULL);
  pthread_mutex_init (&pool->cb_lock, NULL);
  pthread_cond_init (&pool->not_empty, NULL);
  pthread_cond_init (&pool->not_full, NULL);

  /* Every disk handle first, on this thread: a failure leaves no thread. */
  for (i = 0; i < nworkers; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].index = i;
    pool->workers[i].disk = ov_disk_reopen (disk);
    if (pool->workers[i].disk == NULL) {
      ov_error_prefix ("scanner pool: worker %u of %u", i + 1, nworkers);
      goto fail;
    }
  }
  for (i = 0; i < nworkers; i++) {
    err = pthread_create (&pool->workers[i].thread, NULL, worker_main,
                          &pool->workers[i]);
    if (err != 0) {
      ov_error_errno (err, "scanner pool: pthread_create (worker %u of %u)",
                      i + 1, nworkers);
      goto fail;
    }
    pool->nstarted++;
  }
  return pool;

 fail:
  pool_destroy (pool);
  return NULL;
}

void
ov_pool_submit (struct ov_pool *pool, struct ov_file *f)
{
  pthread_mutex_lock (&pool->lock);
  while (pool->len == POOL_QUEUE)
    pthread_cond_wait (&pool->not_full, &pool->lock);
  pool->queue[(pool->head + pool->len) % POOL_QUEUE] = f;
  pool->len++;
  pthread_cond_signal (&pool->not_empty);
  pthread_mutex_unlock (&pool->lock);
}

void
ov_pool_finish (struct ov_pool *pool)
{
  if (pool == NULL)
    return;
  /* Workers drain what is queued before they see `closing`. */
  pool_destroy (pool);
}
