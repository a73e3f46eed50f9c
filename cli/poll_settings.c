/* ovscan — each disk's settings in a poll run: built-in defaults < the
 * config file's global keys < its [vm NAME] section < the command line
 * (cli/config.h).  Exclusion lists: --exclude replaces the file's; a
 * [vm] section's are added to the global ones.  Cost: a few copies of
 * pointers per disk.
 */
#include "cli/poll_run.h"

#include "cli/config.h"

static int
append_all (ov_cli_strings *to, const ov_cli_strings *from)
{
  size_t i;
  for (i = 0; i < from->len; i++)
    if (ov_cli_strings_append (to, from->ptr[i]) == -1)
      return -1;
  return 0;
}

/* The settings of one disk: command line > [vm NAME] > global config.
 * Exclusions: --exclude, else the global ones plus the disk's (kept in
 * *excludes, which the caller resets).  -1 on ENOMEM. */
int
ov_poll_disk_options (struct ov_poll_run *run, const char *name, struct ov_poll_options *o,
              const char **on_detect, ov_cli_strings *excludes)
{
  const struct ov_config_vm *vm = ov_config_find_vm (name);

  *o = (struct ov_poll_options) {
    .limits = run->eo.limits, .workers = run->eo.threads, .engine = &run->engine,
  };
  *on_detect = ov_config_on_detect (run->on_detect, name);
  if (run->excludes.len) {
    if (append_all (excludes, &run->excludes) == -1)
      return -1;
  }
  else if (append_all (excludes, &ov_config.excludes) == -1 ||
           (vm && append_all (excludes, &vm->excludes) == -1))
    return -1;
  o->excludes = excludes->ptr;
  o->nexcludes = excludes->len;
  if (vm == NULL)
    return 0;
  if (vm->limits.has_max_filesize && !run->cmdline_filesize)
    o->limits.max_filesize = vm->limits.max_filesize;
  if (vm->limits.has_max_scansize && !run->cmdline_scansize)
    o->limits.max_scansize = vm->limits.max_scansize;
  return 0;
}

/* Config file values for what the command line did not give. */
int
ov_poll_apply_config (struct ov_poll_run *run, bool cmdline_threads)
{
  size_t i;

  if (run->eo.databases.len == 0)
    for (i = 0; i < ov_config.databases.len; i++)
      if (ov_cli_strings_append (&run->eo.databases, ov_config.databases.ptr[i]) == -1)
        return -1;
  if (ov_config.test_signatures)
    run->eo.sigs.test_signatures = true;
  if (ov_config.limits.has_max_filesize && !run->cmdline_filesize)
    run->eo.limits.max_filesize = ov_config.limits.max_filesize;
  if (ov_config.limits.has_max_scansize && !run->cmdline_scansize)
    run->eo.limits.max_scansize = ov_config.limits.max_scansize;
  if (ov_config.threads && !cmdline_threads)
    run->eo.threads = ov_config.threads;
  return 0;
}

/* One engine serves every disk, and a file is scanned up to the smaller of
 * the engine's limit and its disk's: the engine gets the largest limit any
 * [vm NAME] section raises, each disk keeps its own (ov_poll_disk_options). */
void
ov_poll_engine_limits_cover_vms (struct ov_poll_run *run)
{
  size_t i;
  for (i = 0; i < ov_config.vms.len; i++) {
    const struct ov_config_limits *l = &ov_config.vms.ptr[i].limits;
    if (l->has_max_filesize && !run->cmdline_filesize &&
        l->max_filesize > run->eo.sigs.max_filesize)
      run->eo.sigs.max_filesize = l->max_filesize;
    if (l->has_max_scansize && !run->cmdline_scansize &&
        l->max_scansize > run->eo.sigs.max_scansize)
      run->eo.sigs.max_scansize = l->max_scansize;
  }
}

