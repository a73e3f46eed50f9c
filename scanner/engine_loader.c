/* ovscan — lazy, once-per-process engine load (see engine_loader.h). */
#include "scanner/engine_loader.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

const struct ov_sigs *
ov_engine_get (struct ov_engine_loader *l)
{
  if (l->loaded)
    return &l->sigs;
  if (l->failed) {
    ov_error ("%s", l->error ? l->error : "signatures could not be loaded");
    return NULL;
  }
  if (ov_sigs_load (l->options, &l->sigs) == -1) {
    l->failed = true;
    l->error = strdup (ov_last_error ());
    return NULL;
  }
  l->loaded = true;
  return &l->sigs;
}

void
ov_engine_loader_free (struct ov_engine_loader *l)
{
  if (l->loaded)
    ov_sigs_free (&l->sigs);
  free (l->error);
  l->loaded = l->failed = false;
  l->error = NULL;
}
