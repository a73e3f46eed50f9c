/* ovscan — SHA-256 (FIPS 180-4), written for ovscan from the standard.
 *
 * Used for run-list digests in the state database and for content digests.
 * Streaming: init, any number of updates, final.  Cost: one 64-byte block
 * compression per 64 input bytes, no allocation.  Not constant-time (no
 * secrets are hashed here).
 */
#ifndef OVSCAN_COMMON_SHA256_H
#define OVSCAN_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define OV_SHA256_SIZE 32

struct ov_sha256 {
  uint32_t state[8];
  uint64_t total;              /* bytes hashed so far */
  uint8_t block[64];           /* pending partial block */
  size_t pending;              /* bytes used in block */
};

void ov_sha256_init (struct ov_sha256 *ctx);
void ov_sha256_update (struct ov_sha256 *ctx, const void *data, size_t len);
/* Writes the digest; ctx must be re-initialised before reuse. */
void ov_sha256_final (struct ov_sha256 *ctx, uint8_t out[OV_SHA256_SIZE]);
/* One call: digest of data[0..len). */
void ov_sha256 (const void *data, size_t len, uint8_t out[OV_SHA256_SIZE]);

#endif
