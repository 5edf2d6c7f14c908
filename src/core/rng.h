/*
 * Internal: portable seeded random numbers (xoshiro256** seeded with
 * splitmix64). Identical streams on every platform; never rand().
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_RNG_H
#define LP_CORE_RNG_H

#include "core/common.h"

typedef struct lp_rng {
  uint64_t s[4];
} lp_rng;

/* Seed from one 64-bit value through splitmix64, as the xoshiro authors
 * recommend; any seed (0 included) gives a valid, non-zero state. */
void lp_rng_seed(lp_rng *r, uint64_t seed);
uint64_t lp_rng_next(lp_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double lp_rng_double(lp_rng *r);
/* Uniform integer in [0, n) without modulo bias; n must be > 0. */
uint64_t lp_rng_below(lp_rng *r, uint64_t n);

#endif /* LP_CORE_RNG_H */
