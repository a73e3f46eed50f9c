/* ovscan — where detection signatures come from.
 *
 * Loads ClamAV databases (a directory such as /var/lib/clamav, or single
 * files: .cvd .cld .cud .hdb .hsb .ndb .ldb .cdb .yar …) into one compiled
 * libclamav engine, plus — when asked — the project's own test signatures
 * (EICAR, and a body signature over clamav-testfiles' clam.exe so that its
 * packed and archived variants are found through libclamav's unpackers).
 *
 * No signature at all is an error, as in clamscan.  The engine is built once
 * per process and is read-only (thread-safe for scanning) once compiled.
 */
#ifndef OVSCAN_SIGNATURES_SIGNATURES_H
#define OVSCAN_SIGNATURES_SIGNATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cl_engine;

#define OV_DEFAULT_DATABASE_DIR "/var/lib/clamav"

struct ov_sigs_options {
  const char *const *databases;  /* paths; none = OV_DEFAULT_DATABASE_DIR */
  size_t ndatabases;
  bool test_signatures;          /* add the project's own test signatures */
  uint64_t max_filesize;         /* engine limits; 0 = clamscan's default */
  uint64_t max_scansize;
};

struct ov_sigs {
  struct cl_engine *engine;      /* compiled, ready to scan */
  unsigned int count;            /* signatures loaded */
  char *version;                 /* e.g. "daily.cld 27480 (2024-12-01), main.cvd 62" or "custom" */
  double load_seconds;           /* load + compile wall time */
};

/* Initialise libclamav (once per process), load, compile.  -1 + ov_error. */
int ov_sigs_load (const struct ov_sigs_options *options, struct ov_sigs *out);
void ov_sigs_free (struct ov_sigs *sigs);

/* The project's test signatures as ClamAV .ndb text (for tests and docs). */
const char *ov_sigs_test_ndb (void);

#endif
