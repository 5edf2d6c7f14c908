/*
 * Internal: the generic radix sort of (key, index) pairs and the id order
 * of a state's profiles (rfm_sort.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_RFM_SORT_H
#define LP_RFM_SORT_H

#include "rfm/rfm_internal.h"

/* Stable radix sort of n (key, index) pairs by key, 11-bit digits: tmp
 * arrays of n, counts of RFM_RADIX_PASSES * RFM_RADIX_SIZE; n must fit in
 * uint32_t. LSD, except that n >= RFM_RADIX_MSD_MIN keys spanning three
 * digits or more are first split on their top digit. */
#define RFM_RADIX_BITS 11
#define RFM_RADIX_SIZE (1u << RFM_RADIX_BITS)
#define RFM_RADIX_PASSES 6
#define RFM_RADIX_MSD_MIN 32768
#define RFM_RADIX_COUNTS_LEN (RFM_RADIX_PASSES * RFM_RADIX_SIZE)
void rfm_radix_sort(uint64_t *keys, uint32_t *idx, uint64_t *tmp_keys, uint32_t *tmp_idx,
                    uint32_t *counts, size_t n);

/* Positions of all profiles sorted by id (caller frees n uint32 with the
 * handle's allocator); *out is NULL for an empty state. */
int rfm_sorted_positions(const lp_rfm *h, uint32_t **out);

static inline unsigned rfm_bit_length(uint64_t x) {
  unsigned b = 0;
  for (; x != 0; x >>= 1) b++;
  return b;
}

/* Turn counts c[0..len) into exclusive prefix sums (bucket starts);
 * returns the largest count. */
static inline uint32_t rfm_bucket_starts(uint32_t *c, size_t len) {
  uint32_t sum = 0, largest = 0;
  for (size_t b = 0; b < len; b++) {
    uint32_t n = c[b];
    if (n > largest) largest = n;
    c[b] = sum;
    sum += n;
  }
  return largest;
}

#endif /* LP_RFM_SORT_H */
