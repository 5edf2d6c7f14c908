/*
 * Exact sums: the accumulators of exact.h, and the Lloyd update's sums
 * computed with them (LP_KMEANS_EXACT_SUMS), so a mean is a function of the
 * exact sums only and a sharded fit reduced in any order gives the same
 * bits as a fit on one machine.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/exact.h"

void km_acc_normalize(int64_t *acc) {
  int64_t carry = 0;
  for (size_t i = 0; i + 1 < KM_ACC_WORDS; i++) {
    int64_t v = acc[i] + carry;
    int64_t low = v & INT64_C(0xffffffff); /* int64_t is two's complement */
    carry = (v - low) / INT64_C(4294967296);
    acc[i] = low;
  }
  acc[KM_ACC_WORDS - 1] += carry;
}

double km_acc_value(const int64_t *acc) {
  int64_t a[LP_KMEANS_ACC_WORDS];
  memcpy(a, acc, sizeof a);
  km_acc_normalize(a);
  bool negative = a[KM_ACC_WORDS - 1] < 0;
  if (negative) {
    for (size_t i = 0; i < KM_ACC_WORDS; i++) a[i] = -a[i];
    km_acc_normalize(a);
  }
  size_t top = KM_ACC_WORDS;
  while (top > 0 && a[top - 1] == 0) top--;
  if (top == 0) return 0.0;
  /* The three highest words (96 bits), largest first; each is exact as a
   * double and ldexp scales exactly (away from the subnormal range). */
  size_t h = top - 1;
  double v = ldexp((double)a[h], (int)(32 * h) - 1074);
  if (h >= 1) v += ldexp((double)a[h - 1], (int)(32 * (h - 1)) - 1074);
  if (h >= 2) v += ldexp((double)a[h - 2], (int)(32 * (h - 2)) - 1074);
  return negative ? -v : v;
}

bool km_acc_words_ok(const int64_t *acc, size_t words) {
  for (size_t i = 0; i < words; i++)
    if (acc[i] > KM_ACC_WORD_MAX || acc[i] < -KM_ACC_WORD_MAX) return false;
  return true;
}

void km_accumulate_exact(km_work *w, uint64_t *count) {
  const size_t d = w->d, k = w->k, stride = (d + 1) * KM_ACC_WORDS;
  const bool all = w->all_dirty;
  for (size_t j = 0; j < k; j++) {
    if (!all && !w->dirty[j]) continue;
    memset(w->acc + j * stride, 0, stride * sizeof(int64_t));
    if (count != NULL) count[j] = 0;
  }
  size_t since = 0;
  for (size_t i = 0; i < w->n; i++) {
    uint32_t a = w->labels[i];
    if (!all && !w->dirty[a]) continue;
    double wi = km_weight(w->w, i);
    const double *xi = w->x + i * d;
    int64_t *acc = w->acc + (size_t)a * stride;
    for (size_t t = 0; t < d; t++) km_acc_add(acc + t * KM_ACC_WORDS, wi * xi[t]);
    km_acc_add(acc + d * KM_ACC_WORDS, wi);
    if (count != NULL) count[a]++;
    if (++since == KM_ACC_FLUSH) {
      for (size_t q = 0; q < k * (d + 1); q++) km_acc_normalize(w->acc + q * KM_ACC_WORDS);
      since = 0;
    }
  }
  for (size_t j = 0; j < k; j++) {
    if (!all && !w->dirty[j]) continue;
    const int64_t *acc = w->acc + j * stride;
    for (size_t t = 0; t < d; t++) w->sums[j * d + t] = km_acc_value(acc + t * KM_ACC_WORDS);
    w->wsum[j] = km_acc_value(acc + d * KM_ACC_WORDS);
  }
}
