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
 *
 * Databases: each path of options->databases is a directory or a file, loaded
 * with cl_load (CL_DB_STDOPT, as clamscan: phishing sigs, phishing URLs,
 * bytecode).  With no path, OV_DEFAULT_DATABASE_DIR is loaded — except that a
 * missing or empty default directory is ignored when test signatures are
 * asked for (this is how tests run on machines without a ClamAV database).
 * A directory without database files is an error ("no signatures loaded from
 * DIR (...); use --database or --test-signatures"), as is a database that
 * libclamav refuses (message names the file, cl_strerror and libclamav's own
 * message, e.g. the line number).
 *
 * libclamav's own log messages never reach stderr: ov_clamav_init() routes
 * them into a thread-local buffer (ov_clamav_last_message) so that errors can
 * quote them.
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
  char *version;                 /* "main 62, daily 27480 (2024-12-01 10:00 UTC),
                                    bytecode 335 + 2 custom files (sha256
                                    0123456789ab) + test signatures";
                                    the time is the daily database's build time
                                    (clamscan --version shows the same); the
                                    digest covers the names and contents of
                                    every custom file: any change to them
                                    makes another version */
  double load_seconds;           /* load + compile wall time */
};

/* Initialise libclamav (once per process), load, compile.  -1 + ov_error. */
int ov_sigs_load (const struct ov_sigs_options *options, struct ov_sigs *out);
void ov_sigs_free (struct ov_sigs *sigs);

/* The version string ov_sigs_load would give, without loading: one read of
 * each container's header and of each custom file (milliseconds).  Used to
 * tell whether files were scanned under older signatures before paying for
 * an engine load.  0, or -1 + ov_error (same errors as ov_sigs_load for
 * missing or empty paths). */
int ov_sigs_version (const struct ov_sigs_options *options, char **version);

/* What `ovscan sigs` shows: every database file under the paths, each
 * custom file loaded alone (its own count, its own error naming file and
 * line), signed containers described from their headers. */
struct ov_sigs_db {
  char *path;
  const char *kind;              /* "signed" (.cvd/.cld/.cud) | "custom" | "test" */
  unsigned version;              /* signed only */
  unsigned long long build_time; /* signed only, 0 if unknown */
  unsigned signatures;           /* header count (signed), loaded count (custom, test) */
  char sha256[65];               /* custom only: content digest (hex) */
  char *error;                   /* "FILE line N: REASON (libclamav: …)" or NULL */
};
struct ov_sigs_listing {
  struct ov_sigs_db *dbs;
  size_t ndbs;
  char *version;                 /* as ov_sigs_version */
  unsigned errors;               /* databases with error set */
};
/* 0, or -1 + ov_error (a path that cannot be read at all). */
int ov_sigs_list (const struct ov_sigs_options *options, struct ov_sigs_listing *out);
void ov_sigs_listing_free (struct ov_sigs_listing *l);

/* The project's test signatures as ClamAV .ndb text (for tests and docs).
 * Names: "Ovscan.Test.EICAR", "Ovscan.Test.ClamExe"; libclamav reports them
 * with ".UNOFFICIAL" appended, as for every database that is not Cisco's. */
const char *ov_sigs_test_ndb (void);
#define OV_SIGS_TEST_EICAR "Ovscan.Test.EICAR"
#define OV_SIGS_TEST_CLAM_EXE "Ovscan.Test.ClamExe"

/* cl_init (once per process, thread-safe) and route libclamav's log messages
 * away from stderr.  ov_sigs_load calls it; -1 + ov_error if cl_init fails. */
int ov_clamav_init (void);

/* The error/warning messages libclamav logged on this thread since the last
 * ov_clamav_clear_messages() ("; "-separated, newest last, bounded), or "". */
const char *ov_clamav_messages (void);
void ov_clamav_clear_messages (void);

#endif
