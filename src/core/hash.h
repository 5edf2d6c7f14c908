/*
 * Internal: XXH3 hashing (xxHash is compiled in privately, see hash.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_HASH_H
#define LP_CORE_HASH_H

#include "core/common.h"

typedef struct lp_hash128 {
  uint64_t lo;
  uint64_t hi;
} lp_hash128;

/* XXH3-64 with a seed; output is stable across versions since 0.8.0. */
uint64_t lp_hash64(const void *data, size_t len, uint64_t seed);
/* XXH3-128 with a seed. */
lp_hash128 lp_hash128_seeded(const void *data, size_t len, uint64_t seed);

/* Bijective 64-bit mixer (the splitmix64 / murmur3 finaliser): spreads
 * sequential ids over a hash table. */
static inline uint64_t lp_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

#endif /* LP_CORE_HASH_H */
