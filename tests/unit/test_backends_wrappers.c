/* Unit tests: the generic disk wrappers (backends/disk.c) over a scripted
 * in-memory backend: read splitting and bounds, block-status clipping,
 * re-asking after a short answer, and rejection of bad extents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backends/disk.h"
#include "common/error.h"

/* --- a scripted backend ------------------------------------------------ */

struct fake_extent { uint64_t length; uint32_t flags; };

struct fake {
  /* pread: records each call. */
  size_t read_calls;
  size_t read_sizes[16];
  uint64_t read_offsets[16];
  int fail_read_at_call;            /* 1-based, 0 = never */
  /* block status: answer number i uses script[i], a list ended by length 0;
   * each answer's extents start at the offset asked. */
  const struct fake_extent *script[8];
  size_t bs_calls;
  uint64_t bs_offsets[8];
  int64_t skew;                     /* added to the first extent's offset */
};

static int
fake_pread (void *handle, void *buf, size_t count, uint64_t offset)
{
  struct fake *f = handle;
  size_t i;

  if (f->read_calls < 16) {
    f->read_sizes[f->read_calls] = count;
    f->read_offsets[f->read_calls] = offset;
  }
  f->read_calls++;
  if (f->fail_read_at_call && (int) f->read_calls == f->fail_read_at_call) {
    ov_error ("nbd_pread: server said EIO");
    return -1;
  }
  for (i = 0; i < count; i++)         /* byte = low bits of its offset */
    ((unsigned char *) buf)[i] = (unsigned char) (offset + i);
  return 0;
}

static int
fake_block_status (void *handle, const char *context, uint64_t offset,
                   uint64_t length, ov_extent_cb cb, void *opaque)
{
  struct fake *f = handle;
  const struct fake_extent *e;
  uint64_t pos = offset + f->skew;

  if (f->bs_calls >= 8 || f->script[f->bs_calls] == NULL) {
    ov_error ("script exhausted");
    return -1;
  }
  f->bs_offsets[f->bs_calls] = offset;
  e = f->script[f->bs_calls++];
  for (; e->length; e++) {
    if (cb (opaque, pos, e->length, e->flags) == -1)
      return -1;
    pos += e->length;
  }
  return 0;
}

static void fake_close (void *handle) { }

static const struct ov_disk_ops fake_ops = {
  .name = "fake",
  .pread = fake_pread,
  .block_status = fake_block_status,
  .close = fake_close,
  .max_request = 1000,
};

static struct ov_disk *
fake_disk (struct fake *f, uint64_t size)
{
  struct ov_disk *d = calloc (1, sizeof *d);
  assert_non_null (d);
  d->ops = &fake_ops;
  d->handle = f;
  d->label = strdup ("guest.qcow2");
  d->size = size;
  return d;
}

struct seen { size_t n; uint64_t off[16], len[16]; uint32_t flags[16]; int stop_at; };

static int
record (void *opaque, uint64_t offset, uint64_t length, uint32_t flags)
{
  struct seen *s = opaque;
  if (s->stop_at && (int) s->n + 1 == s->stop_at) {
    ov_error ("caller stopped");
    return -1;
  }
  assert_true (s->n < 16);
  s->off[s->n] = offset;
  s->len[s->n] = length;
  s->flags[s->n] = flags;
  s->n++;
  return 0;
}

/* --- pread ------------------------------------------------------------- */

static void
pread_splits_into_max_request_chunks (void **state)
{
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 10000);
  unsigned char buf[2500];

  assert_int_equal (ov_disk_pread (d, buf, sizeof buf, 7000), 0);
  assert_int_equal (f.read_calls, 3);
  assert_int_equal (f.read_sizes[0], 1000);
  assert_int_equal (f.read_sizes[1], 1000);
  assert_int_equal (f.read_sizes[2], 500);
  assert_int_equal (f.read_offsets[2], 9000);
  assert_int_equal (buf[0], (unsigned char) 7000);
  assert_int_equal (buf[2499], (unsigned char) 9499);
  ov_disk_close (d);
}

static void
pread_up_to_the_last_byte_is_fine_and_zero_bytes_is_a_no_op (void **state)
{
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 10000);
  unsigned char buf[10];

  assert_int_equal (ov_disk_pread (d, buf, 10, 9990), 0);
  assert_int_equal (ov_disk_pread (d, buf, 0, 10000), 0);
  assert_int_equal (f.read_calls, 1);
  ov_disk_close (d);
}

static void
pread_beyond_the_end_names_disk_offset_and_length (void **state)
{
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 10000);
  unsigned char buf[16];

  assert_int_equal (ov_disk_pread (d, buf, 11, 9990), -1);
  assert_string_equal (ov_last_error (),
                       "guest.qcow2: read of 11 bytes at offset 9990 is "
                       "beyond the end of the disk (size 10000)");
  /* offset + count wraps around 2^64: still an error, not a read. */
  assert_int_equal (ov_disk_pread (d, buf, 16, UINT64_MAX - 8), -1);
  assert_int_equal (ov_disk_pread (d, buf, 1, 10000), -1);
  assert_int_equal (f.read_calls, 0);
  ov_disk_close (d);
}

static void
pread_backend_failure_is_prefixed_with_disk_and_chunk (void **state)
{
  struct fake f = { .fail_read_at_call = 2 };
  struct ov_disk *d = fake_disk (&f, 10000);
  unsigned char buf[3000];

  assert_int_equal (ov_disk_pread (d, buf, sizeof buf, 0), -1);
  assert_string_equal (ov_last_error (),
                       "guest.qcow2: read of 1000 bytes at offset 1000: "
                       "nbd_pread: server said EIO");
  ov_disk_close (d);
}

/* --- block status ------------------------------------------------------ */

static void
extents_are_clipped_to_the_range (void **state)
{
  static const struct fake_extent answer[] = {
    { 100, 1 }, { 5000, 0 }, { 0, 0 },
  };
  struct fake f = { .script = { answer } };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 1000, 300,
                                          record, &s), 0);
  assert_int_equal (s.n, 2);
  assert_int_equal (s.off[0], 1000);
  assert_int_equal (s.len[0], 100);
  assert_int_equal (s.flags[0], 1);
  assert_int_equal (s.off[1], 1100);
  assert_int_equal (s.len[1], 200);     /* clipped from 5000 */
  assert_int_equal (f.bs_calls, 1);
  ov_disk_close (d);
}

static void
extents_past_the_range_are_not_passed_on (void **state)
{
  static const struct fake_extent answer[] = {
    { 300, 2 }, { 100, 1 }, { 100, 0 }, { 0, 0 },
  };
  struct fake f = { .script = { answer } };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 0, 300,
                                          record, &s), 0);
  assert_int_equal (s.n, 1);
  ov_disk_close (d);
}

static void
short_answer_is_followed_by_another_request (void **state)
{
  static const struct fake_extent first[] = { { 100, 1 }, { 0, 0 } };
  static const struct fake_extent second[] = { { 50, 0 }, { 0, 0 } };
  static const struct fake_extent third[] = { { 4096, 1 }, { 0, 0 } };
  struct fake f = { .script = { first, second, third } };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "qemu:dirty-bitmap:b", 0, 200,
                                          record, &s), 0);
  assert_int_equal (f.bs_calls, 3);
  assert_int_equal (f.bs_offsets[1], 100);
  assert_int_equal (f.bs_offsets[2], 150);
  assert_int_equal (s.n, 3);
  assert_int_equal (s.off[2], 150);
  assert_int_equal (s.len[2], 50);
  ov_disk_close (d);
}

static void
answer_without_extents_is_an_error_not_a_loop (void **state)
{
  static const struct fake_extent none[] = { { 0, 0 } };
  struct fake f = { .script = { none, none, none, none } };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 512, 1024,
                                          record, &s), -1);
  assert_int_equal (f.bs_calls, 1);
  assert_string_equal (ov_last_error (),
                       "guest.qcow2: block status of base:allocation over "
                       "1024 bytes at offset 512: the server sent no extent");
  ov_disk_close (d);
}

static void
extent_not_at_the_expected_offset_is_rejected (void **state)
{
  static const struct fake_extent answer[] = { { 100, 1 }, { 0, 0 } };
  struct fake f = { .script = { answer }, .skew = 8 };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 0, 100,
                                          record, &s), -1);
  assert_int_equal (s.n, 0);
  assert_non_null (strstr (ov_last_error (), "guest.qcow2: block status of "
                           "base:allocation: the server sent an extent of 100 "
                           "bytes at offset 8 where one at offset 0 was due"));
  ov_disk_close (d);
}

static int
zero_extent_block_status (void *handle, const char *context, uint64_t offset,
                          uint64_t length, ov_extent_cb cb, void *opaque)
{
  return cb (opaque, offset, 0, 0);
}

static void
zero_length_extent_from_backend_is_an_error (void **state)
{
  static const struct ov_disk_ops zero_ops = {
    .name = "zero", .pread = fake_pread,
    .block_status = zero_extent_block_status, .close = fake_close,
    .max_request = 1000,
  };
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { 0 };

  d->ops = &zero_ops;
  assert_int_equal (ov_disk_block_status (d, "base:allocation", 0, 10,
                                          record, &s), -1);
  assert_non_null (strstr (ov_last_error (), "extent of 0 bytes at offset 0"));
  ov_disk_close (d);
}

static void
caller_stop_returns_minus_one_with_callers_message (void **state)
{
  static const struct fake_extent answer[] = {
    { 10, 1 }, { 10, 0 }, { 10, 1 }, { 0, 0 },
  };
  struct fake f = { .script = { answer } };
  struct ov_disk *d = fake_disk (&f, 1 << 20);
  struct seen s = { .stop_at = 2 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 0, 30,
                                          record, &s), -1);
  assert_int_equal (s.n, 1);
  assert_string_equal (ov_last_error (), "caller stopped");
  ov_disk_close (d);
}

static void
block_status_beyond_the_end_is_an_error (void **state)
{
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 4096);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "base:allocation", 4000, 97,
                                          record, &s), -1);
  assert_string_equal (ov_last_error (),
                       "guest.qcow2: block status of 97 bytes at offset 4000 "
                       "is beyond the end of the disk (size 4096)");
  assert_int_equal (f.bs_calls, 0);
  ov_disk_close (d);
}

static void
backend_failure_is_prefixed_with_disk_context_and_range (void **state)
{
  struct fake f = { 0 };                /* empty script: backend fails */
  struct ov_disk *d = fake_disk (&f, 4096);
  struct seen s = { 0 };

  assert_int_equal (ov_disk_block_status (d, "qemu:allocation-depth", 0, 4096,
                                          record, &s), -1);
  assert_string_equal (ov_last_error (),
                       "guest.qcow2: block status of qemu:allocation-depth "
                       "over 4096 bytes at offset 0: script exhausted");
  ov_disk_close (d);
}

static void
labels_with_control_characters_are_quoted_in_messages (void **state)
{
  struct fake f = { 0 };
  struct ov_disk *d = fake_disk (&f, 10);
  unsigned char buf[20];

  free (d->label);
  d->label = strdup ("evil\n\x1b[2J.img");
  assert_int_equal (ov_disk_pread (d, buf, 20, 0), -1);
  assert_non_null (strstr (ov_last_error (), "evil\\n\\x1b[2J.img: read"));
  ov_disk_close (d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (pread_splits_into_max_request_chunks),
    cmocka_unit_test (pread_up_to_the_last_byte_is_fine_and_zero_bytes_is_a_no_op),
    cmocka_unit_test (pread_beyond_the_end_names_disk_offset_and_length),
    cmocka_unit_test (pread_backend_failure_is_prefixed_with_disk_and_chunk),
    cmocka_unit_test (extents_are_clipped_to_the_range),
    cmocka_unit_test (extents_past_the_range_are_not_passed_on),
    cmocka_unit_test (short_answer_is_followed_by_another_request),
    cmocka_unit_test (answer_without_extents_is_an_error_not_a_loop),
    cmocka_unit_test (extent_not_at_the_expected_offset_is_rejected),
    cmocka_unit_test (zero_length_extent_from_backend_is_an_error),
    cmocka_unit_test (caller_stop_returns_minus_one_with_callers_message),
    cmocka_unit_test (block_status_beyond_the_end_is_an_error),
    cmocka_unit_test (backend_failure_is_prefixed_with_disk_context_and_range),
    cmocka_unit_test (labels_with_control_characters_are_quoted_in_messages),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
