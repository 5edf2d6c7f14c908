/*
 * The generic radix sort of (key, index) pairs, and the id order of a
 * state's profiles built on it.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_sort.h"

/* Stable LSD sort of n keys on their low `passes` digits (higher digits
 * all zero or all equal); the result ends in keys/idx. */
static void lsd_sort(uint64_t *keys, uint32_t *idx, uint64_t *tmp_keys, uint32_t *tmp_idx,
                     uint32_t *counts, size_t n, unsigned passes) {
  /* All digit histograms in one read pass. */
  memset(counts, 0, passes * RFM_RADIX_SIZE * sizeof *counts);
  for (size_t i = 0; i < n; i++) {
    uint64_t k = keys[i];
    for (unsigned p = 0; p < passes; p++)
      counts[p * RFM_RADIX_SIZE + ((k >> (p * RFM_RADIX_BITS)) & (RFM_RADIX_SIZE - 1))]++;
  }
  uint64_t *src_k = keys, *dst_k = tmp_keys;
  uint32_t *src_i = idx, *dst_i = tmp_idx;
  for (unsigned p = 0; p < passes; p++) {
    unsigned shift = p * RFM_RADIX_BITS;
    uint32_t *count = &counts[p * RFM_RADIX_SIZE];
    /* A digit equal in every key leaves the order as it is: skip. */
    if (count[(src_k[0] >> shift) & (RFM_RADIX_SIZE - 1)] == n) continue;
    (void)rfm_bucket_starts(count, RFM_RADIX_SIZE);
    for (size_t i = 0; i < n; i++) {
      uint32_t d = count[(src_k[i] >> shift) & (RFM_RADIX_SIZE - 1)]++;
      dst_k[d] = src_k[i];
      dst_i[d] = src_i[i];
    }
    uint64_t *tk = src_k;
    src_k = dst_k;
    dst_k = tk;
    uint32_t *ti = src_i;
    src_i = dst_i;
    dst_i = ti;
  }
  if (src_k != keys) {
    memcpy(keys, src_k, n * sizeof *keys);
    memcpy(idx, src_i, n * sizeof *idx);
  }
}

void rfm_radix_sort(uint64_t *keys, uint32_t *idx, uint64_t *tmp_keys, uint32_t *tmp_idx,
                    uint32_t *counts, size_t n) {
  if (n == 0) return;
  /* Sorting key - min orders the same and leaves the high digits zero when
   * the keys span a small range, so those digits are not sorted at all. */
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    if (keys[i] < lo) lo = keys[i];
    if (keys[i] > hi) hi = keys[i];
  }
  unsigned passes = (rfm_bit_length(hi - lo) + RFM_RADIX_BITS - 1) / RFM_RADIX_BITS;
  for (size_t i = 0; i < n; i++) keys[i] -= lo;
  if (n < RFM_RADIX_MSD_MIN || passes < 3) {
    lsd_sort(keys, idx, tmp_keys, tmp_idx, counts, n, passes);
  } else {
    /* Large and wide: one stable pass on the top digit into the tmp arrays,
     * then each bucket (a few thousand keys when they are spread) is sorted
     * on the remaining digits while it sits in the cache, instead of every
     * pass streaming the whole array through memory. */
    unsigned top = passes - 1, shift = top * RFM_RADIX_BITS;
    uint32_t *start = &counts[top * RFM_RADIX_SIZE];
    memset(start, 0, RFM_RADIX_SIZE * sizeof *start);
    for (size_t i = 0; i < n; i++) start[keys[i] >> shift]++;
    (void)rfm_bucket_starts(start, RFM_RADIX_SIZE);
    for (size_t i = 0; i < n; i++) {
      uint32_t d = start[keys[i] >> shift]++;
      tmp_keys[d] = keys[i];
      tmp_idx[d] = idx[i];
    }
    /* start[b] now ends bucket b. */
    size_t b0 = 0;
    for (unsigned b = 0; b < RFM_RADIX_SIZE; b++) {
      size_t b1 = start[b];
      if (b1 > b0) {
        lsd_sort(tmp_keys + b0, tmp_idx + b0, keys + b0, idx + b0, counts, b1 - b0, top);
        memcpy(keys + b0, tmp_keys + b0, (b1 - b0) * sizeof *keys);
        memcpy(idx + b0, tmp_idx + b0, (b1 - b0) * sizeof *idx);
      }
      b0 = b1;
    }
  }
  for (size_t i = 0; i < n; i++) keys[i] += lo;
}

int rfm_sorted_positions(const lp_rfm *h, uint32_t **out) {
  size_t n = h->profs.len;
  *out = NULL;
  if (n == 0) return LP_OK;
  const lp_mem *m = &h->mem;
  uint64_t *keys = NULL, *tmp_keys = NULL;
  uint32_t *idx = NULL, *tmp_idx = NULL, *counts = NULL;
  int rc = lp_mem_alloc_array(m, n, sizeof *keys, (void **)&keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof *tmp_keys, (void **)&tmp_keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof *idx, (void **)&idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof *tmp_idx, (void **)&tmp_idx);
  if (rc == LP_OK)
    rc = lp_mem_alloc_array(m, RFM_RADIX_COUNTS_LEN, sizeof *counts, (void **)&counts);
  if (rc == LP_OK) {
    for (size_t i = 0; i < n; i++) {
      keys[i] = rfm_at(h, i)->id;
      idx[i] = (uint32_t)i;
    }
    rfm_radix_sort(keys, idx, tmp_keys, tmp_idx, counts, n);
    *out = idx;
    idx = NULL;
  }
  lp_mem_free_array(m, counts, RFM_RADIX_COUNTS_LEN, sizeof *counts);
  lp_mem_free_array(m, tmp_idx, n, sizeof *tmp_idx);
  lp_mem_free_array(m, idx, n, sizeof *idx);
  lp_mem_free_array(m, tmp_keys, n, sizeof *tmp_keys);
  lp_mem_free_array(m, keys, n, sizeof *keys);
  return rc;
}
