/* ovscan — growth for vector.h. */
#include "vector.h"

#include <errno.h>

#include "error.h"

int
ov_vector_reserve (void **ptr, size_t *cap, size_t want, size_t elem_size)
{
  size_t newcap;
  void *p;

  if (want <= *cap)
    return 0;
  newcap = *cap < 8 ? 8 : *cap;
  while (newcap < want) {
    if (newcap > SIZE_MAX / 2) { newcap = want; break; }
    newcap *= 2;
  }
  if (elem_size && newcap > SIZE_MAX / elem_size) {
    ov_error ("vector: %zu elements of %zu bytes overflow", newcap, elem_size);
    return -1;
  }
  p = realloc (*ptr, newcap * elem_size);
  if (p == NULL) {
    ov_error_errno (errno, "realloc");
    return -1;
  }
  *ptr = p;
  *cap = newcap;
  return 0;
}
