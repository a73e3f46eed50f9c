/* ovscan — the bitmap-or-layers rule of a 'layers' poll (layers_choice.h
 * has the rule and why).  Pure; cost: one formatted string at most. */
#include "scanner/layers_choice.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/units.h"

const char *
ov_layers_path_name (enum ov_layers_path path)
{
  switch (path) {
  case OV_LAYERS_PATH_LAYERS: return "layers";
  case OV_LAYERS_PATH_BITMAP: return "bitmap";
  default: abort ();
  }
}

static int
say_why (char **why, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
say_why (char **why, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (why, fmt, ap);
  va_end (ap);
  if (r == -1) {
    *why = NULL;
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

/* 2 * n, saturating. */
static uint64_t
twice (uint64_t n)
{
  return n > UINT64_MAX / 2 ? UINT64_MAX : 2 * n;
}

int
ov_layers_choose (const struct ov_layers_facts *f,
                  enum ov_layers_path *path, char **why)
{
  char a[32], b[32];

  *why = NULL;
  *path = OV_LAYERS_PATH_LAYERS;
  if (f->bitmap == NULL)
    return 0;                    /* no bitmap kept: nothing to explain */
  if (f->covered_layer == 0)
    return say_why (why, "dirty bitmap %s does not cover the own layers' "
                    "older writes (first poll of this VM, or its base "
                    "changed): layers read instead", f->bitmap);
  if (f->newest_layer > f->covered_layer)
    return say_why (why, "frozen layer %" PRIu64 " (left by a poll that did "
                    "not commit) is not in dirty bitmap %s: layers read "
                    "instead", f->newest_layer, f->bitmap);
  if (f->unusable)
    return say_why (why, "%s: layers read instead", f->unusable);
  if (f->measured && f->bitmap_bytes > twice (f->layers_bytes))
    return say_why (why, "dirty bitmap %s marks %s, more than twice the %s "
                    "allocated in the uncovered layers: layers read instead",
                    f->bitmap, ov_format_size (f->bitmap_bytes, a, sizeof a),
                    ov_format_size (f->layers_bytes, b, sizeof b));
  *path = OV_LAYERS_PATH_BITMAP;
  return 0;
}
