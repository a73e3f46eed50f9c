/* ovscan — the configuration file (cli/config.c): /etc/ovscan/ovscan.conf
 * or `ovscan --config PATH`.  Documented in ovscan(1), CONFIGURATION.
 *
 * Precedence: built-in defaults < the file's global keys < its [vm NAME]
 * section (for that disk) < command-line options.
 */
#ifndef OVSCAN_CLI_CONFIG_H
#define OVSCAN_CLI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli.h"
#include "common/units.h"        /* ov_parse_duration */

/* Settings that both the global part and a [vm NAME] section may give. */
struct ov_config_limits {
  bool has_max_filesize, has_max_scansize;
  uint64_t max_filesize, max_scansize;
};

struct ov_config_vm {
  char *name;
  bool skip;                     /* `poll --all` leaves this disk out */
  struct ov_config_limits limits;
  char *on_detect;               /* NULL: the global one */
  ov_cli_strings excludes;       /* owned; added to the global ones */
};
DEFINE_VECTOR (ov_config_vms, struct ov_config_vm);

struct ov_config {
  char *path;                    /* the file that was read; NULL if none */
  char *state;                   /* state database, or NULL */
  ov_cli_strings databases;      /* owned strings; empty: the default */
  bool test_signatures;
  struct ov_config_limits limits;
  unsigned threads;              /* 0: not set */
  double max_time;               /* seconds; 0: no budget */
  bool log_syslog;
  char *on_detect;
  double on_detect_timeout;      /* seconds; 0: the default */
  ov_cli_strings excludes;       /* owned globs, as poll --exclude */
  ov_config_vms vms;
};

/* The configuration of this process (zero: none read). */
extern struct ov_config ov_config;

#define OV_DEFAULT_CONFIG "/etc/ovscan/ovscan.conf"

/* Read PATH into ov_config.  A missing file is no error when !required
 * (the default path).  A bad line: -1 with "FILE:LINE: why" printed. */
int ov_config_load (const char *path, bool required);
void ov_config_free (void);

/* The [vm NAME] section, or NULL. */
const struct ov_config_vm *ov_config_find_vm (const char *name);

/* The on-detect command for disk NAME: CMDLINE (--on-detect) if not NULL,
 * else its [vm NAME] on-detect, else the global one; NULL if none. */
const char *ov_config_on_detect (const char *cmdline, const char *name);


#endif
