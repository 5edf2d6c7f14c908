/*
 * xoshiro256** 1.0 (Blackman & Vigna), seeded by splitmix64.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void lp_rng_seed(lp_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t lp_rng_next(lp_rng *r) {
  uint64_t *s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double lp_rng_double(lp_rng *r) {
  return (double)(lp_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t lp_rng_below(lp_rng *r, uint64_t n) {
  /* Reject the top partial block of size 2^64 mod n. */
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = lp_rng_next(r);
    if (x >= threshold) return x % n;
  }
}
