/* ovscan — the project's own test signatures (signatures/ovscan-test.ndb).
 *
 * The .ndb text is compiled into the program (embed.cmake makes it a C
 * array), so --test-signatures works from any directory and from an
 * installed binary.  libclamav only loads databases from files, so the text
 * is written into a private mkdtemp directory, loaded, and removed again;
 * the engine keeps no reference to the file.  Cost: two small file writes.
 */
#include "signatures/internal.h"
#include "signatures/signatures.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clamav.h>

#include "common/error.h"

const char *
ov_sigs_test_ndb (void)
{
  return ov_sigs_test_ndb_text;
}

static int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t r = write (fd, p, n);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += r;
    n -= (size_t) r;
  }
  return 0;
}

int
ov_sigs_load_test (struct cl_engine *engine, unsigned int *signo)
{
  const char *tmp = getenv ("TMPDIR");
  char dir[4096], file[4096 + 32];
  const char *text = ov_sigs_test_ndb ();
  cl_error_t r;
  int fd, ret = -1;

  if (tmp == NULL || *tmp == '\0')
    tmp = "/tmp";
  if ((size_t) snprintf (dir, sizeof dir, "%s/ovscan-sigs.XXXXXX", tmp) >= sizeof dir) {
    ov_error ("TMPDIR is too long: %s", tmp);
    return -1;
  }
  if (mkdtemp (dir) == NULL) {
    ov_error_errno (errno, "mkdtemp: %s", dir);
    return -1;
  }
  snprintf (file, sizeof file, "%s/ovscan-test.ndb", dir);

  fd = open (file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1) {
    ov_error_errno (errno, "open: %s", file);
    goto out_rmdir;
  }
  if (write_all (fd, text, strlen (text)) == -1) {
    ov_error_errno (errno, "write: %s", file);
    close (fd);
    goto out_unlink;
  }
  if (close (fd) == -1) {
    ov_error_errno (errno, "close: %s", file);
    goto out_unlink;
  }

  ov_clamav_clear_messages ();
  r = cl_load (file, engine, signo, CL_DB_STDOPT);
  if (r != CL_SUCCESS) {
    ov_error ("loading the built-in test signatures: %s (%s)",
              cl_strerror (r), ov_clamav_messages ());
    goto out_unlink;
  }
  ret = 0;

 out_unlink:
  unlink (file);
 out_rmdir:
  rmdir (dir);
  return ret;
}
