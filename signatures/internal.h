/* ovscan — signatures/ internals shared between its files. */
#ifndef OVSCAN_SIGNATURES_INTERNAL_H
#define OVSCAN_SIGNATURES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vector.h"

struct cl_engine;

/* One signed container (.cvd/.cld/.cud): "daily", 27480, build time. */
struct ov_cvd_entry {
  char *name;                /* base name without extension */
  unsigned version;
  unsigned long long build_time;   /* seconds since the epoch, 0 if unknown */
};
DEFINE_VECTOR (ov_cvd_vector, struct ov_cvd_entry);

/* What the database paths hold, for the version string. */
struct ov_db_inventory {
  ov_cvd_vector cvds;        /* one entry per name, highest version kept */
  unsigned custom_files;     /* other database files (.ndb .hdb .ldb …) */
};

/* True if NAME ends with one of libclamav's database extensions. */
bool ov_db_is_database_name (const char *name);

/* Add PATH (a directory or a file) to the inventory.  Returns the number of
 * database files found there (0 for an empty directory), or -1 + ov_error if
 * PATH cannot be read. */
int ov_db_inventory_add (struct ov_db_inventory *inv, const char *path);
void ov_db_inventory_free (struct ov_db_inventory *inv);

/* "main 62, daily 27480 (2024-12-01 10:00 UTC), bytecode 335 + 2 custom
 * files + test signatures" (malloc'd), NULL + ov_error on ENOMEM. */
char *ov_db_version_string (const struct ov_db_inventory *inv,
                            bool test_signatures);

/* Load the embedded test signatures into ENGINE through a private temporary
 * directory (removed again).  0, or -1 + ov_error. */
int ov_sigs_load_test (struct cl_engine *engine, unsigned int *signo);

/* Generated from signatures/ovscan-test.ndb at build time (embed.cmake). */
extern const char ov_sigs_test_ndb_text[];

#endif
