/* ovscan — signatures/ internals shared between its files. */
#ifndef OVSCAN_SIGNATURES_INTERNAL_H
#define OVSCAN_SIGNATURES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vector.h"

struct cl_engine;
struct ov_sigs_options;

/* One signed container (.cvd/.cld/.cud): "daily", 27480, build time. */
struct ov_cvd_entry {
  char *name;                /* base name without extension */
  unsigned version;
  unsigned long long build_time;   /* seconds since the epoch, 0 if unknown */
};
DEFINE_VECTOR (ov_cvd_vector, struct ov_cvd_entry);

/* One database file found under the paths (for `ovscan sigs`). */
struct ov_sigdb_file {
  char *path;
  bool container;            /* .cvd/.cld/.cud */
  unsigned version;          /* containers: header version */
  unsigned signatures;       /* containers: header count */
  unsigned long long build_time;   /* containers: seconds since the epoch */
  uint8_t sha256[32];        /* custom files: digest of the content */
};
DEFINE_VECTOR (ov_sigdb_file_vector, struct ov_sigdb_file);

/* What the database paths hold, for the version string. */
struct ov_db_inventory {
  ov_cvd_vector cvds;        /* one entry per name, highest version kept */
  unsigned custom_files;     /* other database files (.ndb .hdb .ldb …) */
  ov_sigdb_file_vector files;  /* every database file, in the order found */
};

/* True if NAME ends with one of libclamav's database extensions. */
bool ov_db_is_database_name (const char *name);

/* Add PATH (a directory or a file) to the inventory.  Returns the number of
 * database files found there (0 for an empty directory), or -1 + ov_error if
 * PATH cannot be read. */
int ov_db_inventory_add (struct ov_db_inventory *inv, const char *path);
void ov_db_inventory_free (struct ov_db_inventory *inv);

/* "main 62, daily 27480 (2024-12-01 10:00 UTC), bytecode 335 + 2 custom
 * files (sha256 0123456789ab) + test signatures" (malloc'd), NULL + ov_error
 * on ENOMEM.  The digest covers the base name and content of every custom
 * file (ov_db_custom_digest): editing, adding, removing or renaming one
 * changes the version. */
char *ov_db_version_string (const struct ov_db_inventory *inv,
                            bool test_signatures);

/* SHA-256 over every custom file's base name (NUL-terminated) and content
 * digest, in base-name order: the custom half of the version identity. */
void ov_db_custom_digest (const struct ov_db_inventory *inv, uint8_t out[32]);

/* Inventory the paths as ov_sigs_load does (same rules for a missing or
 * empty default directory).  0, or -1 + ov_error. */
int ov_sigs_inventory (const struct ov_sigs_options *options,
                       struct ov_db_inventory *inv);

/* ov_clamav_init, then a new empty engine; NULL + ov_error. */
struct cl_engine *ov_sigs_new_engine (void);

/* True if libclamav's messages say it dropped rules while cl_load still
 * succeeded (a YARA file it could not parse). */
bool ov_sigs_messages_report_drop (const char *messages);

/* After loading PATH failed with r (or dropped rules): set ov_error to
 * "database FILE line N: REASON (libclamav: …)", finding the failing file
 * of a directory by loading each of its custom files alone. */
void ov_sigs_explain_failure (const struct ov_db_inventory *inv,
                              const char *path, int r);

/* Load one database file into a fresh engine of its own: *signo = its
 * signature count; on failure *error = "FILE line N: REASON (libclamav:
 * …)" (malloc'd).  0 loaded, 1 refused (error set), -1 + ov_error. */
int ov_sigs_try_file (const char *file, unsigned *signo, char **error);

/* Load the embedded test signatures into ENGINE through a private temporary
 * directory (removed again).  0, or -1 + ov_error. */
int ov_sigs_load_test (struct cl_engine *engine, unsigned int *signo);

/* Generated from signatures/ovscan-test.ndb at build time (embed.cmake). */
extern const char ov_sigs_test_ndb_text[];

#endif
