/* ovscan — a typed growable array.
 *
 *   DEFINE_VECTOR (string_vector, char *);
 *   string_vector v = VECTOR_INIT;
 *   if (string_vector_append (&v, s) == -1) ...   // -1 + ov_error on ENOMEM
 *   free (v.ptr);
 *
 * Growth is geometric; capacity never overflows size_t (checked).
 */
#ifndef OVSCAN_COMMON_VECTOR_H
#define OVSCAN_COMMON_VECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Grow *ptr (of elements of elem_size) to hold at least want elements. */
int ov_vector_reserve (void **ptr, size_t *cap, size_t want, size_t elem_size);

#define VECTOR_INIT { .ptr = NULL, .len = 0, .cap = 0 }

#define DEFINE_VECTOR(name, type)                                       \
  typedef struct { type *ptr; size_t len; size_t cap; } name;           \
  static inline int __attribute__ ((unused))                            \
  name##_reserve (name *v, size_t n)                                    \
  {                                                                     \
    if (v->len + n < v->len) return -1;                                 \
    return ov_vector_reserve ((void **) &v->ptr, &v->cap,               \
                              v->len + n, sizeof (type));               \
  }                                                                     \
  static inline int __attribute__ ((unused))                            \
  name##_append (name *v, type elem)                                    \
  {                                                                     \
    if (name##_reserve (v, 1) == -1) return -1;                         \
    v->ptr[v->len++] = elem;                                            \
    return 0;                                                           \
  }                                                                     \
  static inline void __attribute__ ((unused))                           \
  name##_reset (name *v)                                                \
  {                                                                     \
    free (v->ptr);                                                      \
    v->ptr = NULL; v->len = v->cap = 0;                                 \
  }

#endif
