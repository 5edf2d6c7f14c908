/*
 * Comparing two clusterings: the adjusted Rand index of two labelings and
 * the centroid index of two centroid sets.
 * SPDX-License-Identifier: MIT
 */
#include "core/map.h"
#include <math.h>

#include "kmeans/kmeans_internal.h"
#include "kmeans/lloyd.h"

/* Adds 1 to the count under `key`; sums of squared counts are taken after. */
static int km_bump(lp_map64 *m, const lp_mem *mem, uint64_t key) {
  uint64_t *slot;
  bool inserted;
  int rc = lp_hmap_upsert(m, mem, &key, &slot, &inserted);
  if (rc == LP_OK) (*slot)++;
  return rc;
}

static uint64_t km_sum_squares(const lp_map64 *m) {
  uint64_t total = 0, v;
  const uint64_t *key;
  size_t pos = 0;
  while (lp_hmap_next(m, &pos, &key, &v)) total += v * v;
  return total;
}

int lp_kmeans_adjusted_rand(const lp_kmeans *h, const uint32_t *a, const uint32_t *b, size_t n,
                            double *out) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_adjusted_rand");
  if ((n != 0 && (a == NULL || b == NULL)) || out == NULL)
    return lp_error_set(KM_ERR(h), LP_EINVAL, "a, b or out: NULL");
  if (km_above(n, LP_KMEANS_MAX_ROWS))
    return lp_error_set(KM_ERR(h), LP_EINVAL, "n: %zu rows is above 2^32 - 1", n);
  lp_map64 pairs, rows, cols;
  lp_map64_init(&pairs);
  lp_map64_init(&rows);
  lp_map64_init(&cols);
  int rc = LP_OK;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    rc = km_bump(&pairs, &h->mem, ((uint64_t)a[i] << 32) | b[i]);
    if (rc == LP_OK) rc = km_bump(&rows, &h->mem, a[i]);
    if (rc == LP_OK) rc = km_bump(&cols, &h->mem, b[i]);
  }
  if (rc == LP_OK) {
    /* The pair confusion matrix, as scikit-learn's pair_confusion_matrix;
     * every count is exact in 64 bits for n < 2^32. */
    const uint64_t nn = (uint64_t)n, sq = km_sum_squares(&pairs);
    const uint64_t tp = sq - nn;
    const uint64_t fp = km_sum_squares(&rows) - sq;
    const uint64_t fn = km_sum_squares(&cols) - sq;
    const uint64_t tn = nn * nn - fp - fn - sq;
    if (fn == 0 && fp == 0) {
      *out = 1.0;
    } else {
      double dtp = (double)tp, dtn = (double)tn, dfp = (double)fp, dfn = (double)fn;
      *out = 2.0 * (dtp * dtn - dfn * dfp) / ((dtp + dfn) * (dfn + dtn) + (dtp + dfp) * (dfp + dtn));
    }
  } else {
    (void)lp_error_set(KM_ERR(h), rc, "adjusted_rand: out of memory");
  }
  lp_hmap_free(&pairs, &h->mem);
  lp_hmap_free(&rows, &h->mem);
  lp_hmap_free(&cols, &h->mem);
  return rc;
}

/* Orphans of B when every centroid of A points at its nearest in B. */
static uint32_t km_orphans(const double *a, size_t ka, const double *b, size_t kb, size_t d,
                           uint8_t *hit) {
  memset(hit, 0, kb);
  double best;
  for (size_t i = 0; i < ka; i++) hit[km_nearest(a + i * d, b, kb, d, &best)] = 1;
  uint32_t orphans = 0;
  for (size_t j = 0; j < kb; j++) orphans += hit[j] == 0;
  return orphans;
}

int lp_kmeans_centroid_index(const lp_kmeans *h, const double *a, size_t ka, const double *b,
                             size_t kb, size_t d, uint32_t *out) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_centroid_index");
  if (a == NULL || b == NULL || out == NULL)
    return lp_error_set(KM_ERR(h), LP_EINVAL, "a, b or out: NULL");
  if (ka == 0 || kb == 0 || d == 0)
    return lp_error_set(KM_ERR(h), LP_EINVAL, "ka, kb or d: zero");
  size_t kad, kbd;
  if (km_above(ka, UINT32_MAX) || km_above(kb, UINT32_MAX) || lp_mul_overflow(ka, d, &kad) ||
      lp_mul_overflow(kb, d, &kbd))
    return lp_error_set(KM_ERR(h), LP_ELIMIT, "centroid sets too large");
  uint8_t *hit;
  size_t cap = ka > kb ? ka : kb;
  int rc = lp_mem_alloc_array(&h->mem, cap, 1, (void **)&hit);
  if (rc != LP_OK) return lp_error_set(KM_ERR(h), rc, "centroid_index: out of memory");
  uint32_t ab = km_orphans(a, ka, b, kb, d, hit), ba = km_orphans(b, kb, a, ka, d, hit);
  lp_mem_free_array(&h->mem, hit, cap, 1);
  *out = ab > ba ? ab : ba;
  return LP_OK;
}
