/*
 * Internal: exact (associative) sums of doubles for the Lloyd update and
 * the sharded sums (exact.c). An accumulator is LP_KMEANS_ACC_WORDS int64
 * words; word i holds a multiple of 2^(32 i - 1074), so the accumulator is
 * the exact value sum_i word[i] 2^(32 i - 1074): every finite double is a
 * whole number of units 2^-1074, and adding words adds values exactly, in
 * any order.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_EXACT_H
#define LP_KMEANS_EXACT_H

#include "kmeans/kmeans_internal.h"

#define KM_ACC_WORDS ((size_t)LP_KMEANS_ACC_WORDS)
/* Each add puts less than 2^33 into a word; normalising every 2^28 adds
 * keeps every word far from overflow. */
#define KM_ACC_FLUSH ((size_t)1 << 28)
/* Words of a normalised accumulator are within 2^32; a host's reduction of
 * up to 2^30 of them stays below this, which a loader of host words checks. */
#define KM_ACC_WORD_MAX ((int64_t)1 << 62)

/* Add v (finite, |v| < 2^1000) exactly. */
static inline void km_acc_add(int64_t *acc, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  uint32_t e = (uint32_t)(bits >> 52) & 0x7ffu;
  uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
  if (e == 0) {
    if (m == 0) return;
    e = 1; /* subnormal: m x 2^-1074 */
  } else {
    m |= UINT64_C(1) << 52;
  }
  /* v = m x 2^(e - 1075) = m x 2^p units of 2^-1074, p = e - 1. */
  uint32_t p = e - 1, q = p >> 5, r = p & 31u;
  if (q > KM_ACC_WORDS - 3) q = (uint32_t)(KM_ACC_WORDS - 3); /* out of contract: stay in bounds */
  uint64_t a = (m & 0xffffffffu) << r, b = (m >> 32) << r;
  int64_t lo = (int64_t)(a & 0xffffffffu);
  int64_t mid = (int64_t)((a >> 32) + (b & 0xffffffffu));
  int64_t hi = (int64_t)(b >> 32);
  if (bits >> 63) {
    acc[q] -= lo, acc[q + 1] -= mid, acc[q + 2] -= hi;
  } else {
    acc[q] += lo, acc[q + 1] += mid, acc[q + 2] += hi;
  }
}

/* Carry every word into [0, 2^32) but the top one (signed); the value is
 * unchanged. Words must be within KM_ACC_WORD_MAX. */
void km_acc_normalize(int64_t *acc);
/* The value as a double: a function of the exact value only (not of how
 * it was added up), within about one ulp of it. */
double km_acc_value(const int64_t *acc);
/* All words within KM_ACC_WORD_MAX (host-given accumulators). */
bool km_acc_words_ok(const int64_t *acc, size_t words);

/* The Lloyd update's sums (lloyd.c) with exact accumulators w->acc:
 * sums and wsum receive km_acc_value of each. */
void km_accumulate_exact(km_work *w, uint64_t *count);

#endif /* LP_KMEANS_EXACT_H */
