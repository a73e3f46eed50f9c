/* Unit tests: SHA-256 (common/sha256.c) against the FIPS 180-4 / NIST
 * example vectors, and streaming in odd-sized pieces against one-shot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/sha256.h"

static void
hex (const uint8_t d[32], char out[65])
{
  unsigned i;
  for (i = 0; i < 32; i++)
    sprintf (out + 2 * i, "%02x", d[i]);
}

static void
check (const char *msg, size_t len, const char *expected)
{
  uint8_t d[32];
  char h[65];
  ov_sha256 (msg, len, d);
  hex (d, h);
  assert_string_equal (h, expected);
}

static void
abc_vector (void **state)
{
  check ("abc", 3,
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
empty_message_vector (void **state)
{
  check ("", 0,
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
two_block_448_bit_vector (void **state)
{
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  assert_int_equal (strlen (m) * 8, 448);
  check (m, strlen (m),
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
one_million_a_streamed_in_odd_pieces (void **state)
{
  struct ov_sha256 ctx;
  char chunk[997];
  size_t done = 0;
  uint8_t d[32];
  char h[65];

  memset (chunk, 'a', sizeof chunk);
  ov_sha256_init (&ctx);
  while (done < 1000000) {
    size_t n = 1000000 - done < sizeof chunk ? 1000000 - done : sizeof chunk;
    ov_sha256_update (&ctx, chunk, n);
    done += n;
  }
  ov_sha256_final (&ctx, d);
  hex (d, h);
  assert_string_equal (h,
         "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length 0..200 split at every point equals the one-shot digest
 * (covers the 55/56/63/64-byte padding edges). */
static void
streaming_equals_one_shot_at_every_split (void **state)
{
  uint8_t msg[200];
  size_t len, split, i;

  for (i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t) (i * 37 + 11);
  for (len = 0; len <= sizeof msg; len++) {
    uint8_t whole[32];
    ov_sha256 (msg, len, whole);
    for (split = 0; split <= len; split++) {
      struct ov_sha256 ctx;
      uint8_t parts[32];
      ov_sha256_init (&ctx);
      ov_sha256_update (&ctx, msg, split);
      ov_sha256_update (&ctx, msg + split, len - split);
      ov_sha256_final (&ctx, parts);
      assert_memory_equal (whole, parts, 32);
    }
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (abc_vector),
    cmocka_unit_test (empty_message_vector),
    cmocka_unit_test (two_block_448_bit_vector),
    cmocka_unit_test (one_million_a_streamed_in_odd_pieces),
    cmocka_unit_test (streaming_equals_one_shot_at_every_split),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
