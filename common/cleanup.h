/* ovscan — scope-bound cleanup (GCC/Clang cleanup attribute), as nbdkit does.
 *
 *   CLEANUP_FREE char *s = strdup (x);   // freed when s goes out of scope
 */
#ifndef OVSCAN_COMMON_CLEANUP_H
#define OVSCAN_COMMON_CLEANUP_H

#include <stdlib.h>

static inline void
ov_cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}

#define CLEANUP_FREE __attribute__ ((cleanup (ov_cleanup_free)))

#endif
