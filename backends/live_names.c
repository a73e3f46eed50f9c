/* ovscan — the names of everything a live poll creates (see live.h):
 * derived from the QMP socket and the disk's node/drive, so that the next
 * poll of the same disk finds a killed run's leftovers by name.
 *
 * The private directory is created 0700 and must be a directory owned by
 * us (a world-writable /var/tmp must not let another user plant the
 * socket or the fleece file).  Cost: one SHA-256 of two short strings.
 */
#include "backends/live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/sha256.h"

static void
hex_tag (const char *a, const char *b, char out[13])
{
  struct ov_sha256 ctx;
  uint8_t d[OV_SHA256_SIZE];
  int i;

  ov_sha256_init (&ctx);
  ov_sha256_update (&ctx, a, strlen (a) + 1);
  if (b)
    ov_sha256_update (&ctx, b, strlen (b) + 1);
  ov_sha256_final (&ctx, d);
  for (i = 0; i < 6; i++)
    sprintf (out + 2 * i, "%02x", d[i]);
}

static int
private_dir (const char *dir)
{
  struct stat sb;

  if (mkdir (dir, 0700) == -1 && errno != EEXIST) {
    ov_error_errno (errno, "live polls: cannot create %s", dir);
    return -1;
  }
  if (lstat (dir, &sb) == -1) {
    ov_error_errno (errno, "live polls: %s", dir);
    return -1;
  }
  if (!S_ISDIR (sb.st_mode) || sb.st_uid != geteuid () ||
      (sb.st_mode & 0077) != 0) {
    ov_error ("live polls: %s must be a directory of ours with mode 0700 "
              "(set OVSCAN_LIVE_DIR to another one)", dir);
    return -1;
  }
  return 0;
}

/* nbd+unix:///EXPORT?socket=PATH with PATH percent-encoded (a socket
 * path given with --nbd-socket may hold '&', '#', '%' or spaces). */
static char *
view_uri (const char *export_name, const char *socket)
{
  static const char keep[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789/._-~";
  size_t len = strlen (socket);
  char *enc = malloc (3 * len + 1), *p = enc, *uri;

  if (enc == NULL)
    return NULL;
  for (; *socket; socket++) {
    if (strchr (keep, *socket))
      *p++ = *socket;
    else
      p += sprintf (p, "%%%02X", (unsigned char) *socket);
  }
  *p = '\0';
  if (asprintf (&uri, "nbd+unix:///%s?socket=%s", export_name, enc) == -1)
    uri = NULL;
  free (enc);
  return uri;
}

int
ov_live_names_init (struct ov_live_names *n, const char *qmp_socket,
                    const char *key, const char *nbd_socket)
{
  const char *dir = getenv ("OVSCAN_LIVE_DIR");
  struct sockaddr_un sun;

  memset (n, 0, sizeof *n);
  if (dir == NULL || dir[0] == '\0')
    dir = OV_LIVE_DEFAULT_DIR;
  hex_tag (qmp_socket, key, n->tag);
  hex_tag (qmp_socket, NULL, n->vm_tag);
  snprintf (n->fleece_node, sizeof n->fleece_node, OV_LIVE_PREFIX "fl-%s", n->tag);
  snprintf (n->job_id, sizeof n->job_id, OV_LIVE_PREFIX "bk-%s", n->tag);
  snprintf (n->export_id, sizeof n->export_id, OV_LIVE_PREFIX "ex-%s", n->tag);
  snprintf (n->export_name, sizeof n->export_name, OV_LIVE_PREFIX "%s", n->tag);
  n->own_server = nbd_socket == NULL;
  if ((n->dir = strdup (dir)) == NULL ||
      asprintf (&n->fleece_file, "%s/" OV_LIVE_PREFIX "%s.qcow2", dir, n->tag) == -1 ||
      asprintf (&n->lock_file, "%s/" OV_LIVE_PREFIX "vm-%s.lock", dir, n->vm_tag) == -1 ||
      (nbd_socket
       ? (n->nbd_socket = strdup (nbd_socket)) == NULL
       : asprintf (&n->nbd_socket, "%s/" OV_LIVE_PREFIX "nbd-%s.sock", dir,
                   n->vm_tag) == -1)) {
    ov_error ("out of memory");
    ov_live_names_free (n);
    return -1;
  }
  if (strlen (n->nbd_socket) >= sizeof sun.sun_path) {
    ov_error ("live polls: the NBD socket path %s is longer than %zu bytes "
              "(set OVSCAN_LIVE_DIR to a shorter directory)", n->nbd_socket,
              sizeof sun.sun_path - 1);
    ov_live_names_free (n);
    return -1;
  }
  if ((n->view_uri = view_uri (n->export_name, n->nbd_socket)) == NULL) {
    ov_error ("out of memory");
    ov_live_names_free (n);
    return -1;
  }
  if (private_dir (dir) == -1) {
    ov_live_names_free (n);
    return -1;
  }
  return 0;
}

void
ov_live_names_free (struct ov_live_names *n)
{
  free (n->dir);
  free (n->fleece_file);
  free (n->nbd_socket);
  free (n->lock_file);
  free (n->view_uri);
  memset (n, 0, sizeof *n);
}
