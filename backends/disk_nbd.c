/* ovscan — the libnbd disk backend: a local image served by a private
 * qemu-nbd (see disk_nbd_qemu.c for its command line), or an NBD URI.
 *
 * Owns one struct nbd_handle per struct ov_disk, the NBD meta contexts it
 * asked for, and time limits on everything that waits for the server.
 *
 * Time limits.  libnbd 1.14 has no timeout of its own: nbd_connect_uri() and
 * nbd_pread() wait forever for a server that accepted the connection and
 * then stays silent (a hung qemu-nbd, a hostile or stopped server).  So this
 * file uses only libnbd's asynchronous calls (nbd_aio_connect_*,
 * nbd_aio_pread, nbd_aio_block_status) and drives them with nbd_poll() under
 * a deadline of options->timeout seconds (default 60) per connection and
 * per request.  When a deadline passes, the libnbd handle is closed at once
 * (which also kills a private qemu-nbd) and the disk is dead: every later
 * call fails fast.  Closing right away also guarantees that libnbd never
 * writes into a caller's buffer after we returned.
 *
 * Meta contexts: base:allocation always; qemu:dirty-bitmap:NAME with
 * options->bitmap; qemu:allocation-depth with options->allocation_depth.
 * They are requested for URIs too (a running VM's export may offer a
 * bitmap); asking block status of a context the server did not agree to is
 * an error naming the context.
 *
 * Requests: ops.max_request is 32 MiB (qemu-nbd's limit; libnbd's is 64
 * MiB).  A server that advertises a smaller maximum gets smaller requests;
 * one that advertises a minimum block size > 1 gets aligned requests, the
 * unaligned edges going through a bounce buffer.  Block status asks for at
 * most 2 GiB at once (NBD lengths are 32-bit) and hands the extents to the
 * caller only after the reply is complete, so a callback may use the disk.
 *
 * Threads: a handle is used by one thread at a time (disk.h).  Opening and
 * reopening touch no process-wide state (no fd 2 juggling), so they may run
 * in any thread; a reopen reads only the immutable copy of the open
 * arguments.
 */
#include "backends/disk_nbd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"
#include "common/vector.h"

#define MAX_REQUEST (32 * 1024 * 1024)
#define MAX_BLOCK_STATUS (UINT64_C (2) * 1024 * 1024 * 1024)
#define STDERR_TAIL 2048

struct extent { uint32_t length; uint32_t flags; };
DEFINE_VECTOR (extent_vector, struct extent);

struct nbd_disk {
  struct nbd_handle *nbd;       /* NULL once dead (timed out) */
  /* The open arguments, copied: reopen reads these. */
  char *target;
  bool is_uri;
  char *format, *bitmap;
  struct ov_disk_options options;  /* pointers into the copies above */
  unsigned timeout;             /* seconds */
  uint64_t size;
  uint32_t min_block;           /* >= 1, power of 2 */
  uint32_t max_block;           /* <= MAX_REQUEST, multiple of min_block */
  int errfd;                    /* qemu-nbd's stderr, or -1 (URI) */
  off_t errfd_seen;             /* stderr bytes already reported */
  /* Extents of the current block status reply, filled by libnbd. */
  const char *want_context;
  extent_vector extents;
  bool extents_overflow;
};

static uint64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* What qemu-nbd wrote to stderr since byte `from`, at most the last
 * STDERR_TAIL bytes, newlines folded into "; " and quoted (it may repeat a
 * guest-controlled backing file name).  malloc'd; "" if nothing. */
static char *
qemu_nbd_stderr (const struct nbd_disk *h, off_t from)
{
  char buf[STDERR_TAIL];
  char folded[2 * STDERR_TAIL];
  struct stat st;
  ssize_t n;
  size_t len, i, j;

  if (h->errfd == -1 || fstat (h->errfd, &st) == -1 || st.st_size <= from)
    return strdup ("");
  if (st.st_size - from > STDERR_TAIL)
    from = st.st_size - STDERR_TAIL;
  n = pread (h->errfd, buf, STDERR_TAIL, from);
  if (n <= 0)
    return strdup ("");
  len = n;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
    len--;
  for (i = j = 0; i < len; i++) {
    if (buf[i] == '\n') {
      folded[j++] = ';';
      folded[j++] = ' ';
    }
    else
      folded[j++] = buf[i];
  }
  return ov_quote_bytes (folded, j);
}

/* Record a libnbd failure of `what`, with qemu-nbd's new stderr if any. */
static void
nbd_failure (struct nbd_disk *h, const char *what)
{
  const char *msg = nbd_get_error ();
  CLEANUP_FREE char *qemu = qemu_nbd_stderr (h, h->errfd_seen);

  /* libnbd's messages start with the name of the failing call. */
  if (qemu && qemu[0])
    ov_error ("%s", qemu);
  else if (msg)
    ov_error ("%s", msg);
  else
    ov_error ("%s: unknown libnbd error", what);
}

static void
kill_connection (struct nbd_disk *h)
{
  if (h->nbd) {
    nbd_close (h->nbd);
    h->nbd = NULL;
  }
}

static int
check_alive (const struct nbd_disk *h)
{
  if (h->nbd == NULL) {
    ov_error ("the connection was closed after an earlier timeout");
    return -1;
  }
  return 0;
}

/* Poll until command `cookie` completes, the connection fails, or the
 * deadline passes.  0 or -1 + ov_error. */
static int
wait_command (struct nbd_disk *h, int64_t cookie, const char *what)
{
  uint64_t deadline = now_ms () + (uint64_t) h->timeout * 1000;

  for (;;) {
    int r = nbd_aio_command_completed (h->nbd, cookie);
    uint64_t now;

    if (r == 1)
      return 0;
    if (r == -1) {
      nbd_failure (h, what);
      return -1;
    }
    now = now_ms ();
    if (now >= deadline) {
      ov_error ("%s: no answer from the NBD server in %u seconds", what,
                h->timeout);
      kill_connection (h);
      return -1;
    }
    if (nbd_poll (h->nbd, deadline - now > INT_MAX ? INT_MAX
                  : (int) (deadline - now)) == -1) {
      nbd_failure (h, what);
      return -1;
    }
  }
}

/* Drive a started nbd_aio_connect_* to the ready state under the deadline. */
static int
wait_connected (struct nbd_disk *h, const char *what)
{
  uint64_t deadline = now_ms () + (uint64_t) h->timeout * 1000;

  for (;;) {
    uint64_t now;

    if (nbd_aio_is_ready (h->nbd) == 1)
      return 0;
    if (nbd_aio_is_dead (h->nbd) == 1 || nbd_aio_is_closed (h->nbd) == 1) {
      nbd_failure (h, what);
      return -1;
    }
    now = now_ms ();
    if (now >= deadline) {
      CLEANUP_FREE char *qemu = qemu_nbd_stderr (h, 0);
      ov_error ("%s: no NBD handshake from the server in %u seconds%s%s",
                what, h->timeout, qemu && qemu[0] ? ": " : "",
                qemu ? qemu : "");
      return -1;
    }
    if (nbd_poll (h->nbd, deadline - now > INT_MAX ? INT_MAX
                  : (int) (deadline - now)) == -1) {
      nbd_failure (h, what);
      return -1;
    }
  }
}

/* A local image must exist, be readable and not be a directory; said
 * plainly here rather than through qemu-nbd's wording. */
static int
check_image_file (const char *path)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd == -1) {
    ov_error ("%s", strerror (errno));
    return -1;
  }
  if (fstat (fd, &st) == -1) {
    ov_error ("%s", strerror (errno));
    close (fd);
    return -1;
  }
  close (fd);
  if (S_ISDIR (st.st_mode)) {
    ov_error ("%s", strerror (EISDIR));
    return -1;
  }
  return 0;
}

static int
connect_image (struct nbd_disk *h)
{
  const char *tmpdir = getenv ("TMPDIR");
  CLEANUP_FREE char *errfile = NULL;
  char **argv;
  int r;

  if (check_image_file (h->target) == -1)
    return -1;
  if (tmpdir == NULL || tmpdir[0] == '\0')
    tmpdir = "/tmp";
  if (asprintf (&errfile, "%s/ovscan-qemu-nbd-XXXXXX", tmpdir) == -1) {
    ov_error ("out of memory");
    return -1;
  }
  h->errfd = mkostemp (errfile, O_CLOEXEC);
  if (h->errfd == -1) {
    ov_error_errno (errno, "creating %s for qemu-nbd's messages", errfile);
    return -1;
  }
  argv = ov_disk_nbd_qemu_argv (h->target, &h->options, errfile);
  if (argv == NULL) {
    unlink (errfile);
    return -1;
  }
  r = nbd_aio_connect_systemd_socket_activation (h->nbd, argv);
  ov_disk_nbd_free_argv (argv);
  if (r == -1)
    nbd_failure (h, "starting qemu-nbd");
  else
    r = wait_connected (h, "qemu-nbd");
  /* The shell has opened errfile by now (qemu-nbd answered or failed). */
  unlink (errfile);
  return r;
}

static int
connect_uri (struct nbd_disk *h)
{
  if (nbd_aio_connect_uri (h->nbd, h->target) == -1) {
    nbd_failure (h, "nbd_connect_uri");
    return -1;
  }
  return wait_connected (h, "connecting");
}

/* Open a new connection for h (whose open arguments are set). */
static int
connect_handle (struct nbd_disk *h)
{
  CLEANUP_FREE char *bitmap_context = NULL;
  int64_t size, min, max;

  h->nbd = nbd_create ();
  if (h->nbd == NULL) {
    ov_error ("nbd_create: %s", nbd_get_error ());
    return -1;
  }
  if (h->options.bitmap
      && asprintf (&bitmap_context, "qemu:dirty-bitmap:%s",
                   h->options.bitmap) == -1) {
    ov_error ("out of memory");
    return -1;
  }
  if (nbd_add_meta_context (h->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1
      || (bitmap_context
          && nbd_add_meta_context (h->nbd, bitmap_context) == -1)
      || (h->options.allocation_depth
          && nbd_add_meta_context (h->nbd, "qemu:allocation-depth") == -1)) {
    nbd_failure (h, "nbd_add_meta_context");
    return -1;
  }
  if ((h->is_uri ? connect_uri (h) : connect_image (h)) == -1)
    return -1;
  if (h->errfd != -1) {
    struct stat st;
    h->errfd_seen = fstat (h->errfd, &st) == 0 ? st.st_size : 0;
  }

  size = nbd_get_size (h->nbd);
  if (size == -1) {
    nbd_failure (h, "nbd_get_size");
    return -1;
  }
  h->size = size;
  min = nbd_get_block_size (h->nbd, LIBNBD_SIZE_MINIMUM);
  max = nbd_get_block_size (h->nbd, LIBNBD_SIZE_MAXIMUM);
  /* libnbd checks that a minimum is a power of 2 of at most 64 KiB. */
  h->min_block = min > 1 && min <= 65536 ? min : 1;
  h->max_block = max > 0 && max < MAX_REQUEST ? max : MAX_REQUEST;
  h->max_block -= h->max_block % h->min_block;
  if (h->max_block == 0)
    h->max_block = h->min_block;
  return 0;
}

static void
nbd_disk_free (struct nbd_disk *h)
{
  if (h == NULL)
    return;
  kill_connection (h);
  if (h->errfd != -1)
    close (h->errfd);
  free (h->target);
  free (h->format);
  free (h->bitmap);
  free (h->extents.ptr);
  free (h);
}

/* A handle with copies of the open arguments, not connected. */
static struct nbd_disk *
nbd_disk_new (const char *target, bool is_uri,
              const struct ov_disk_options *options)
{
  struct nbd_disk *h = calloc (1, sizeof *h);

  if (h == NULL)
    goto nomem;
  h->errfd = -1;
  h->is_uri = is_uri;
  h->timeout = options->timeout ? options->timeout : OV_DISK_DEFAULT_TIMEOUT;
  if ((h->target = strdup (target)) == NULL
      || (options->format && (h->format = strdup (options->format)) == NULL)
      || (options->bitmap && (h->bitmap = strdup (options->bitmap)) == NULL))
    goto nomem;
  h->options = *options;
  h->options.format = h->format;
  h->options.bitmap = h->bitmap;
  return h;

 nomem:
  ov_error ("out of memory");
  nbd_disk_free (h);
  return NULL;
}

void *
ov_disk_nbd_open (const char *target, bool is_uri,
                  const struct ov_disk_options *options, uint64_t *size)
{
  struct nbd_disk *h = nbd_disk_new (target, is_uri, options);

  if (h == NULL)
    return NULL;
  if (connect_handle (h) == -1) {
    nbd_disk_free (h);
    return NULL;
  }
  *size = h->size;
  return h;
}

static void *
nbd_disk_reopen (void *handle)
{
  const struct nbd_disk *old = handle;
  struct nbd_disk *h = nbd_disk_new (old->target, old->is_uri, &old->options);

  if (h == NULL)
    return NULL;
  if (connect_handle (h) == -1)
    goto fail;
  if (h->size != old->size) {
    ov_error ("the new connection sees %" PRIu64 " bytes, not %" PRIu64,
              h->size, old->size);
    goto fail;
  }
  return h;

 fail:
  nbd_disk_free (h);
  return NULL;
}

static void
nbd_disk_close (void *handle)
{
  nbd_disk_free (handle);
}

/* One NBD read, count <= max_block, aligned to min_block. */
static int
read_aligned (struct nbd_disk *h, void *buf, size_t count, uint64_t offset)
{
  int64_t cookie = nbd_aio_pread (h->nbd, buf, count, offset,
                                  NBD_NULL_COMPLETION, 0);

  if (cookie == -1) {
    nbd_failure (h, "nbd_pread");
    return -1;
  }
  return wait_command (h, cookie, "nbd_pread");
}

/* Read [offset, offset+count) that lies within one min_block-aligned
 * window of at most max_block bytes, through a bounce buffer. */
static int
read_bounced (struct nbd_disk *h, char *buf, size_t count, uint64_t offset)
{
  uint64_t start = offset - offset % h->min_block;
  uint64_t end = offset + count;
  uint64_t len;
  CLEANUP_FREE char *bounce = NULL;

  end += (h->min_block - end % h->min_block) % h->min_block;
  if (end > h->size)            /* the tail of a disk not a multiple of */
    end = h->size;              /* min_block: let the server decide */
  len = end - start;
  bounce = malloc (len);
  if (bounce == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  if (read_aligned (h, bounce, len, start) == -1)
    return -1;
  memcpy (buf, bounce + (offset - start), count);
  return 0;
}

static int
nbd_disk_pread (void *handle, void *buf, size_t count, uint64_t offset)
{
  struct nbd_disk *h = handle;
  char *p = buf;

  if (check_alive (h) == -1)
    return -1;
  while (count > 0) {
    size_t n;

    if (offset % h->min_block != 0 || count < h->min_block) {
      /* Unaligned head: up to the next aligned offset. */
      n = h->min_block - offset % h->min_block;
      if (n > count)
        n = count;
      if (read_bounced (h, p, n, offset) == -1)
        return -1;
    }
    else {
      n = count < h->max_block ? count : h->max_block;
      n -= n % h->min_block;
      if (read_aligned (h, p, n, offset) == -1)
        return -1;
    }
    p += n;
    offset += n;
    count -= n;
  }
  return 0;
}

/* libnbd's extent callback: keep the entries of the context we asked for. */
static int
collect_extents (void *opaque, const char *metacontext, uint64_t offset,
                 uint32_t *entries, size_t nr_entries, int *error)
{
  struct nbd_disk *h = opaque;
  size_t i;

  if (strcmp (metacontext, h->want_context) != 0)
    return 0;
  for (i = 0; i + 1 < nr_entries; i += 2) {
    struct extent e = { .length = entries[i], .flags = entries[i + 1] };
    if (extent_vector_append (&h->extents, e) == -1) {
      h->extents_overflow = true;
      *error = ENOMEM;
      return -1;
    }
  }
  return 0;
}

static int
nbd_disk_block_status (void *handle, const char *context, uint64_t offset,
                       uint64_t length, ov_extent_cb cb, void *opaque)
{
  struct nbd_disk *h = handle;
  nbd_extent_callback extent_cb = {
    .callback = collect_extents, .user_data = h,
  };
  uint64_t count = length < MAX_BLOCK_STATUS ? length : MAX_BLOCK_STATUS;
  uint64_t pos = offset;
  int64_t cookie;
  size_t i;

  if (check_alive (h) == -1)
    return -1;
  if (nbd_can_meta_context (h->nbd, context) != 1) {
    ov_error ("the NBD server did not agree to meta context %s%s", context,
              h->is_uri ? ""
              : " (was the bitmap or allocation depth asked for at open?)");
    return -1;
  }
  h->want_context = context;
  h->extents.len = 0;
  h->extents_overflow = false;
  cookie = nbd_aio_block_status (h->nbd, count, offset, extent_cb,
                                 NBD_NULL_COMPLETION, 0);
  if (cookie == -1) {
    nbd_failure (h, "nbd_block_status");
    return -1;
  }
  if (wait_command (h, cookie, "nbd_block_status") == -1)
    return -1;
  if (h->extents_overflow) {
    ov_error ("out of memory for the extents of %s", context);
    return -1;
  }
  /* disk.c checks order and clips; stop once past the request. */
  for (i = 0; i < h->extents.len && pos < offset + length; i++) {
    if (cb (opaque, pos, h->extents.ptr[i].length,
            h->extents.ptr[i].flags) == -1)
      return -1;
    pos += h->extents.ptr[i].length;
  }
  return 0;
}

const struct ov_disk_ops ov_disk_nbd_ops = {
  .name = "nbd",
  .pread = nbd_disk_pread,
  .block_status = nbd_disk_block_status,
  .reopen = nbd_disk_reopen,
  .close = nbd_disk_close,
  .max_request = MAX_REQUEST,
};
