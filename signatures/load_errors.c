/* ovscan — naming the file and line of a signature database that does not
 * load.
 *
 * cl_load of a directory stops at the first bad file, and libclamav says
 * which only in its log ("Problem parsing database at line 2", "Can't load
 * DIR/x.ndb: Malformed database"); a YARA file it cannot parse is only a
 * warning ("yyerror(): DIR/x.yar line 1 syntax error…", then "failed to
 * parse or load 1 yara rules") and cl_load succeeds with the rules dropped.
 * ovscan treats both as errors: a custom signature that silently does not
 * load leaves the operator believing in a protection that is not there.
 *
 * To name the file, each custom file under the failing path is loaded alone
 * into a scratch engine (custom files are small; signed containers are not
 * retried: cl_load already names them).  The line is the first "line N" in
 * libclamav's messages.  Cost: only on failure, one engine per custom file.
 */
#include "signatures/internal.h"
#include "signatures/signatures.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>

#include "common/error.h"

bool
ov_sigs_messages_report_drop (const char *messages)
{
  return strstr (messages, "failed to parse or load") != NULL
    || strstr (messages, "yyerror()") != NULL;
}

/* The first "line N" of libclamav's messages, or 0. */
static unsigned long
message_line (const char *messages)
{
  const char *p = messages;

  while ((p = strstr (p, "line ")) != NULL) {
    p += 5;
    if (isdigit ((unsigned char) *p))
      return strtoul (p, NULL, 10);
  }
  return 0;
}

/* "FILE line N: REASON (libclamav: MESSAGES)" */
static char *
format_failure (const char *file, cl_error_t r, const char *messages)
{
  unsigned long line = message_line (messages);
  const char *reason = r == CL_SUCCESS ? "rules dropped by the parser" : cl_strerror (r);
  char where[64] = "";
  char *s;

  if (line)
    snprintf (where, sizeof where, " line %lu", line);
  if (asprintf (&s, "%s%s: %s%s%s%s", file, where, reason,
                *messages ? " (libclamav: " : "", messages,
                *messages ? ")" : "") == -1)
    return NULL;
  return s;
}

int
ov_sigs_try_file (const char *file, unsigned *signo, char **error)
{
  struct cl_engine *engine;
  cl_error_t r;

  *signo = 0;
  *error = NULL;
  if ((engine = ov_sigs_new_engine ()) == NULL)
    return -1;
  ov_clamav_clear_messages ();
  r = cl_load (file, engine, signo, CL_DB_STDOPT);
  cl_engine_free (engine);
  if (r == CL_SUCCESS && !ov_sigs_messages_report_drop (ov_clamav_messages ()))
    return 0;
  *error = format_failure (file, r, ov_clamav_messages ());
  if (*error == NULL) {
    ov_error_errno (errno, "asprintf");
    return -1;
  }
  return 1;
}

/* True if FILE is PATH or lies directly under directory PATH. */
static bool
is_under (const char *file, const char *path)
{
  size_t n = strlen (path);
  if (strcmp (file, path) == 0)
    return true;
  return strncmp (file, path, n) == 0 && file[n] == '/' && strchr (file + n + 1, '/') == NULL;
}

void
ov_sigs_explain_failure (const struct ov_db_inventory *inv, const char *path, int r)
{
  char saved[2048];
  const char *why = r == CL_SUCCESS ? "rules dropped by the parser" : cl_strerror (r);

  snprintf (saved, sizeof saved, "%s", ov_clamav_messages ());
  for (size_t i = 0; i < inv->files.len; i++) {
    const struct ov_sigdb_file *f = &inv->files.ptr[i];
    unsigned signo;
    char *error = NULL;

    if (f->container || !is_under (f->path, path))
      continue;
    if (ov_sigs_try_file (f->path, &signo, &error) == 1) {
      ov_error ("cannot load database %s", error);
      free (error);
      return;
    }
  }
  if (*saved)
    ov_error ("cannot load database %s: %s (libclamav: %s)", path, why, saved);
  else
    ov_error ("cannot load database %s: %s", path, why);
}
