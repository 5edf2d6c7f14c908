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

lp_hash128 lp_hash128_seeded(const void *data, size_t len, uint64_t seed) {
  XXH128_hash_t h = XXH3_128bits_withSeed(data, len, (XXH64_hash_t)seed);
  lp_hash128 out = {h.low64, h.high64};
  return out;
}
