/* ovscan — reading the configuration file (see cli/config.h, ovscan(1)).
 *
 * Format, line by line: blank lines and lines whose first non-blank
 * character is '#' or ';' are ignored; "[vm NAME]" starts the settings of
 * disk NAME, "[global]" returns to the global ones; "key = value" sets a key
 * (the value is the rest of the line with surrounding blanks removed; no
 * quoting, no inline comments).  Anything else, an unknown key, a key not
 * allowed in a [vm] section, a bad value or a second [vm NAME] for the same
 * NAME is an error naming the file and the line.
 *
 * Invariants: ov_config owns every string in it; a failed load leaves
 * ov_config empty.  Cost: one pass over a small file, at startup.
 */
#include "cli/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/units.h"

struct ov_config ov_config;

struct parser {
  const char *file;
  unsigned line;
  struct ov_config_vm *vm;       /* current [vm NAME] section, or NULL */
};

static int
bad_line (const struct parser *p, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static int
bad_line (const struct parser *p, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  ov_cli_error ("%s:%u: %s", p->file, p->line, msg);
  return -1;
}

static int
parse_bool (const struct parser *p, const char *key, const char *v, bool *out)
{
  if (!strcmp (v, "yes") || !strcmp (v, "true") || !strcmp (v, "on") || !strcmp (v, "1"))
    *out = true;
  else if (!strcmp (v, "no") || !strcmp (v, "false") || !strcmp (v, "off") || !strcmp (v, "0"))
    *out = false;
  else
    return bad_line (p, "%s: expected yes or no, got '%s'", key, v);
  return 0;
}

static int
set_string (const struct parser *p, char **slot, const char *v)
{
  char *s = strdup (v);
  if (s == NULL)
    return bad_line (p, "out of memory");
  free (*slot);
  *slot = s;
  return 0;
}

/* Keys a [vm NAME] section may also give; 1 = handled, 0 = not such a key. */
static int
limits_key (const struct parser *p, struct ov_config_limits *l,
            const char *key, const char *v)
{
  uint64_t *slot;
  bool *has;

  if (strcmp (key, "max-filesize") == 0)
    slot = &l->max_filesize, has = &l->has_max_filesize;
  else if (strcmp (key, "max-scansize") == 0)
    slot = &l->max_scansize, has = &l->has_max_scansize;
  else
    return 0;
  if (ov_parse_size (v, slot) == -1)
    return bad_line (p, "%s: %s", key, ov_last_error ());
  *has = true;
  return 1;
}

static int
add_string (const struct parser *p, ov_cli_strings *list, const char *v)
{
  char *s = strdup (v);
  if (s == NULL || ov_cli_strings_append (list, s) == -1) {
    free (s);
    return bad_line (p, "out of memory");
  }
  return 0;
}

static void
free_strings (ov_cli_strings *list)
{
  size_t i;
  for (i = 0; i < list->len; i++)
    free ((char *) list->ptr[i]);
  ov_cli_strings_reset (list);
}

static int
vm_key (struct parser *p, const char *key, const char *v)
{
  int r = limits_key (p, &p->vm->limits, key, v);
  if (r != 0)
    return r == 1 ? 0 : -1;
  if (strcmp (key, "skip") == 0)
    return parse_bool (p, key, v, &p->vm->skip);
  if (strcmp (key, "on-detect") == 0)
    return set_string (p, &p->vm->on_detect, v);
  if (strcmp (key, "exclude") == 0)
    return add_string (p, &p->vm->excludes, v);
  return bad_line (p, "key '%s' is not allowed in a [vm] section "
                   "(allowed: skip, max-filesize, max-scansize, on-detect, exclude)", key);
}

static int
global_key (struct parser *p, const char *key, const char *v)
{
  struct ov_config *c = &ov_config;
  int r = limits_key (p, &c->limits, key, v);
  char *end;
  long n;

  if (r != 0)
    return r == 1 ? 0 : -1;
  if (strcmp (key, "database") == 0)
    return add_string (p, &c->databases, v);
  if (strcmp (key, "exclude") == 0)
    return add_string (p, &c->excludes, v);
  if (strcmp (key, "state") == 0)
    return set_string (p, &c->state, v);
  if (strcmp (key, "test-signatures") == 0)
    return parse_bool (p, key, v, &c->test_signatures);
  if (strcmp (key, "threads") == 0) {
    n = strtol (v, &end, 10);
    if (*end || n < 1 || n > 64)
      return bad_line (p, "threads: expected a number from 1 to 64, got '%s'", v);
    c->threads = (unsigned) n;
    return 0;
  }
  if (strcmp (key, "max-time") == 0) {
    if (ov_parse_duration (v, &c->max_time) == -1)
      return bad_line (p, "max-time: %s", ov_last_error ());
    return 0;
  }
  if (strcmp (key, "on-detect-timeout") == 0) {
    if (ov_parse_duration (v, &c->on_detect_timeout) == -1)
      return bad_line (p, "on-detect-timeout: %s", ov_last_error ());
    return 0;
  }
  if (strcmp (key, "log") == 0) {
    if (strcmp (v, "syslog") != 0 && strcmp (v, "stderr") != 0)
      return bad_line (p, "log: expected syslog or stderr, got '%s'", v);
    c->log_syslog = strcmp (v, "syslog") == 0;
    return 0;
  }
  if (strcmp (key, "on-detect") == 0)
    return set_string (p, &c->on_detect, v);
  return bad_line (p, "unknown key '%s'", key);
}

static bool
valid_vm_name (const char *s, size_t len)
{
  static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789._-";
  char buf[65];
  if (len == 0 || len > 64 || s[0] == '-' || s[0] == '.')
    return false;
  memcpy (buf, s, len);
  buf[len] = '\0';
  return strspn (buf, ok) == len;
}

static int
section (struct parser *p, char *line)
{
  size_t len = strlen (line), i;
  char *name;
  struct ov_config_vm vm = { 0 };

  if (line[len - 1] != ']')
    return bad_line (p, "unterminated section header '%s'", line);
  line[len - 1] = '\0';
  name = line + 1;
  if (strcmp (name, "global") == 0) {
    p->vm = NULL;
    return 0;
  }
  if (strncmp (name, "vm", 2) != 0 || (name[2] != ' ' && name[2] != '\t'))
    return bad_line (p, "unknown section '[%s]' (expected [global] or [vm NAME])", name);
  name += 3;
  name += strspn (name, " \t");
  len = strlen (name);
  while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
    name[--len] = '\0';
  if (!valid_vm_name (name, len))
    return bad_line (p, "invalid disk name '%s' in [vm NAME] "
                     "(1-64 letters, digits, '.', '_' or '-')", name);
  for (i = 0; i < ov_config.vms.len; i++)
    if (strcmp (ov_config.vms.ptr[i].name, name) == 0)
      return bad_line (p, "second [vm %s] section", name);
  if ((vm.name = strdup (name)) == NULL ||
      ov_config_vms_append (&ov_config.vms, vm) == -1) {
    free (vm.name);
    return bad_line (p, "out of memory");
  }
  p->vm = &ov_config.vms.ptr[ov_config.vms.len - 1];
  return 0;
}

static int
parse_line (struct parser *p, char *line)
{
  char *eq, *key, *value, *end;

  line += strspn (line, " \t");
  end = line + strlen (line);
  while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
                        end[-1] == '\n'))
    *--end = '\0';
  if (*line == '\0' || *line == '#' || *line == ';')
    return 0;
  if (*line == '[')
    return section (p, line);
  eq = strchr (line, '=');
  if (eq == NULL)
    return bad_line (p, "expected 'key = value', '[vm NAME]' or a comment");
  key = line;
  value = eq + 1;
  while (eq > key && (eq[-1] == ' ' || eq[-1] == '\t'))
    eq--;
  *eq = '\0';
  value += strspn (value, " \t");
  if (*key == '\0')
    return bad_line (p, "missing key before '='");
  if (*value == '\0')
    return bad_line (p, "%s: missing value", key);
  return p->vm ? vm_key (p, key, value) : global_key (p, key, value);
}

int
ov_config_load (const char *path, bool required)
{
  FILE *fp;
  CLEANUP_FREE char *line = NULL;
  struct parser p = { .file = path };
  size_t cap = 0;
  ssize_t n;

  ov_config_free ();
  fp = fopen (path, "re");
  if (fp == NULL) {
    if (errno == ENOENT && !required)
      return 0;
    ov_cli_error ("%s: %s", path, strerror (errno));
    return -1;
  }
  while ((n = getline (&line, &cap, fp)) != -1) {
    p.line++;
    if (memchr (line, '\0', n) != NULL) {
      bad_line (&p, "NUL byte in the line");
      goto fail;
    }
    if (parse_line (&p, line) == -1)
      goto fail;
  }
  if (ferror (fp)) {
    ov_cli_error ("%s: read error", path);
    goto fail;
  }
  if ((ov_config.path = strdup (path)) == NULL)
    goto fail;
  fclose (fp);
  return 0;
 fail:
  fclose (fp);
  ov_config_free ();
  return -1;
}

void
ov_config_free (void)
{
  struct ov_config *c = &ov_config;
  size_t i;

  free_strings (&c->databases);
  free_strings (&c->excludes);
  for (i = 0; i < c->vms.len; i++) {
    free (c->vms.ptr[i].name);
    free (c->vms.ptr[i].on_detect);
    free_strings (&c->vms.ptr[i].excludes);
  }
  ov_config_vms_reset (&c->vms);
  free (c->path);
  free (c->state);
  free (c->on_detect);
  memset (c, 0, sizeof *c);
}

const struct ov_config_vm *
ov_config_find_vm (const char *name)
{
  size_t i;
  for (i = 0; i < ov_config.vms.len; i++)
    if (strcmp (ov_config.vms.ptr[i].name, name) == 0)
      return &ov_config.vms.ptr[i];
  return NULL;
}

const char *
ov_config_on_detect (const char *cmdline, const char *name)
{
  const struct ov_config_vm *vm = ov_config_find_vm (name);

  if (cmdline)
    return cmdline;
  if (vm && vm->on_detect)
    return vm->on_detect;
  return ov_config.on_detect;
}
