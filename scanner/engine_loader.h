/* ovscan — the ClamAV engine, loaded at most once per process and only when
 * a file actually needs scanning (a quiet poll never pays the load). */
#ifndef OVSCAN_SCANNER_ENGINE_LOADER_H
#define OVSCAN_SCANNER_ENGINE_LOADER_H

#include <stdbool.h>

#include "signatures/signatures.h"

struct ov_engine_loader {
  const struct ov_sigs_options *options;
  struct ov_sigs sigs;
  bool loaded;
  bool failed;                 /* a load failed: don't retry (same error) */
  char *error;
};

/* The loaded signatures, loading them on first use.  NULL + ov_error. */
const struct ov_sigs *ov_engine_get (struct ov_engine_loader *loader);
void ov_engine_loader_free (struct ov_engine_loader *loader);

#endif
