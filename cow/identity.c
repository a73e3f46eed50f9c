/* ovscan — a base image's identity by content (see cow.h).
 *
 * A base is identified by the SHA-256 of its file, not by its path: a base
 * replaced under the same path is a new base.  Hashing a 2 GiB base costs
 * seconds, so it is done once and re-checked by (dev, inode, size, mtime,
 * ctime): the caller recomputes the digest only when those change.  The
 * file is stat()ed before and after the read; a change meanwhile makes it
 * read again (a hard link or chmod changes ctime only), three changes in a
 * row are an error (a base must not be written while VMs sit on it).
 *
 * Cost: one sequential read of the file (1 MiB reads), ~0.3-0.5 GB/s of
 * SHA-256 on these machines.
 */
#include "cow/cow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "common/sha256.h"

#define CHUNK (1u << 20)

void
ov_cow_hex (const uint8_t digest[32], char out[65])
{
  static const char hex[] = "0123456789abcdef";
  size_t i;

  for (i = 0; i < 32; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[64] = '\0';
}

/* One pass; 1 = the file changed meanwhile (size or mtime: content). */
static int
hash_once (const char *path, uint8_t digest[32], struct ov_cow_stat *st);

int
ov_cow_file_sha256 (const char *path, uint8_t digest[32],
                    struct ov_cow_stat *st)
{
  int attempt, r = 1;

  /* A hard link or chmod made meanwhile changes only ctime: read again
   * (a few times) rather than fail; a file being written keeps failing. */
  for (attempt = 0; attempt < 3 && r == 1; attempt++)
    r = hash_once (path, digest, st);
  if (r == 1)
    ov_error ("%s: the base image changed while its identity was computed "
              "(is something writing it?)", path);
  return r == 0 ? 0 : -1;
}

static int
hash_once (const char *path, uint8_t digest[32], struct ov_cow_stat *st)
{
  struct ov_sha256 ctx;
  struct ov_cow_stat after;
  unsigned char *buf = NULL;
  int fd = -1, ret = -1;
  ssize_t n;

  if (ov_cow_stat_path (path, st) == -1)
    return -1;
  if ((buf = malloc (CHUNK)) == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  if ((fd = open (path, O_RDONLY | O_CLOEXEC)) == -1) {
    ov_error_errno (errno, "%s: open", path);
    goto out;
  }
  ov_sha256_init (&ctx);
  while ((n = read (fd, buf, CHUNK)) != 0) {
    if (n == -1) {
      if (errno == EINTR)
        continue;
      ov_error_errno (errno, "%s: read", path);
      goto out;
    }
    ov_sha256_update (&ctx, buf, (size_t) n);
  }
  ov_sha256_final (&ctx, digest);
  if (ov_cow_stat_path (path, &after) == -1)
    goto out;
  if (!ov_cow_stat_equal (st, &after)) {
    ret = 1;
    goto out;
  }
  ret = 0;
 out:
  if (fd >= 0)
    close (fd);
  free (buf);
  return ret;
}
