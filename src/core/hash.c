/*
 * XXH3 compiled into this one translation unit with XXH_INLINE_ALL, so the
 * library neither exports nor needs any xxHash symbol at run time.
 * SPDX-License-Identifier: MIT
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/hash.h"

uint64_t lp_hash64(const void *data, size_t len, uint64_t seed) {
  return (uint64_t)XXH3_64bits_withSeed(data, len, (XXH64_hash_t)seed);
}

/* XXH3's state, 64-byte aligned inside the caller's bytes. */
typedef char lp_hash64_stream_fits[sizeof(XXH3_state_t) + 63 <= LP_HASH64_STREAM_BYTES ? 1 : -1];

static XXH3_state_t *stream_state(lp_hash64_stream *s) {
  uintptr_t p = (uintptr_t)s->raw;
  return (XXH3_state_t *)(void *)(s->raw + ((64 - (p & 63)) & 63));
}

void lp_hash64_stream_init(lp_hash64_stream *s, uint64_t seed) {
  (void)XXH3_64bits_reset_withSeed(stream_state(s), (XXH64_hash_t)seed);
}

void lp_hash64_stream_update(lp_hash64_stream *s, const void *data, size_t len) {
  if (len > 0) (void)XXH3_64bits_update(stream_state(s), data, len);
}

uint64_t lp_hash64_stream_digest(lp_hash64_stream *s) {
  return (uint64_t)XXH3_64bits_digest(stream_state(s));
}

lp_hash128 lp_hash128_seeded(const void *data, size_t len, uint64_t seed) {
  XXH128_hash_t h = XXH3_128bits_withSeed(data, len, (XXH64_hash_t)seed);
  lp_hash128 out = {h.low64, h.high64};
  return out;
}
