/* ovscan — fsmap: guest path strings (pure logic).
 *
 * Paths are raw guest bytes: nothing here interprets or validates encoding.
 * A name cannot contain NUL (TSK hands us C strings), and a path is bounded
 * by OV_MAX_PATH bytes so a deep tree of 255-byte names cannot grow without
 * limit.
 */
#include "fsmap/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

char *
ov_path_join (const char *dir, const char *name, size_t name_len)
{
  size_t dir_len = strlen (dir);
  bool slash = dir_len == 0 || dir[dir_len - 1] != '/';
  size_t len;
  char *p;

  if (dir_len > OV_MAX_PATH || name_len > OV_MAX_PATH
      || dir_len + slash + name_len > OV_MAX_PATH) {
    ov_error ("path longer than %u bytes", OV_MAX_PATH);
    return NULL;
  }
  len = dir_len + slash + name_len;
  p = malloc (len + 1);
  if (p == NULL) {
    ov_error_errno (errno, "malloc");
    return NULL;
  }
  memcpy (p, dir, dir_len);
  if (slash)
    p[dir_len] = '/';
  memcpy (p + dir_len + slash, name, name_len);
  p[len] = '\0';
  return p;
}

char *
ov_path_full (const char *label, const char *path, const char *stream)
{
  size_t ll = strlen (label), pl = strlen (path);
  size_t sl = stream ? strlen (stream) : 0;
  size_t len = ll + (ll ? 1 : 0) + pl + (stream ? 1 + sl : 0);
  char *p, *q;

  if (pl > OV_MAX_PATH || sl > OV_MAX_PATH || ll > 64) {
    ov_error ("path longer than %u bytes", OV_MAX_PATH);
    return NULL;
  }
  p = q = malloc (len + 1);
  if (p == NULL) {
    ov_error_errno (errno, "malloc");
    return NULL;
  }
  if (ll) {
    memcpy (q, label, ll);
    q += ll;
    *q++ = ':';
  }
  memcpy (q, path, pl);
  q += pl;
  if (stream) {
    *q++ = ':';
    memcpy (q, stream, sl);
    q += sl;
  }
  *q = '\0';
  return p;
}
