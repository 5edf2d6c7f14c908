/*
 * Initial centroids: greedy k-means++ and uniformly chosen rows. Both draw
 * only from the portable RNG and sum in row order, so they pick the same
 * rows everywhere.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/init.h"

/* floor(ln k) without a logarithm: the number of m >= 1 with e^m <= k, i.e.
 * with k >= ceil(e^m). */
static uint32_t km_floor_ln(size_t k) {
  static const uint64_t ceil_exp[] = {
      3,        8,         21,        55,         149,        404,        1097,
      2981,     8104,      22027,     59875,      162755,     442414,     1202605,
      3269018,  8886111,   24154953,  65659970,   178482301,  485165196,  1318815735,
      3584912847u};
  uint32_t m = 0;
  while (m < LP_ARRAY_LEN(ceil_exp) && (uint64_t)k >= ceil_exp[m]) m++;
  return m;
}

/* First row whose running weight exceeds `target` (the last row if rounding
 * leaves none). */
static size_t km_pick_cumulative(const double *cumulative, size_t n, double target) {
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cumulative[mid] > target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

void km_init_kmeanspp(km_work *w, lp_rng *rng) {
  const size_t n = w->n, d = w->d, k = w->k;
  double *closest = w->upper, *cumulative = w->lower;
  size_t first;
  if (w->w == NULL) {
    first = (size_t)lp_rng_below(rng, (uint64_t)n);
  } else {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) cumulative[i] = total += w->w[i];
    first = km_pick_cumulative(cumulative, n, lp_rng_double(rng) * total);
  }
  memcpy(w->centers, w->x + first * d, d * sizeof(double));
  for (size_t i = 0; i < n; i++) closest[i] = km_dist2(w->x + i * d, w->centers, d);
  const uint32_t trials = 2 + km_floor_ln(k);
  for (size_t c = 1; c < k; c++) {
    double pot = 0.0;
    for (size_t i = 0; i < n; i++) cumulative[i] = pot += km_weight(w->w, i) * closest[i];
    size_t best = 0;
    double best_pot = HUGE_VAL;
    for (uint32_t t = 0; t < trials; t++) {
      size_t cand = km_pick_cumulative(cumulative, n, lp_rng_double(rng) * pot);
      const double *cx = w->x + cand * d;
      double cand_pot = 0.0;
      for (size_t i = 0; i < n; i++) {
        double d2 = km_dist2(w->x + i * d, cx, d);
        cand_pot += km_weight(w->w, i) * (d2 < closest[i] ? d2 : closest[i]);
      }
      if (cand_pot < best_pot) {
        best_pot = cand_pot;
        best = cand;
      }
    }
    const double *bx = w->x + best * d;
    memcpy(w->centers + c * d, bx, d * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      double d2 = km_dist2(w->x + i * d, bx, d);
      if (d2 < closest[i]) closest[i] = d2;
    }
  }
}

/* Selection sampling (Knuth's algorithm S): k distinct rows, each subset
 * equally likely, in row order, with no extra memory. */
void km_init_random(km_work *w, lp_rng *rng) {
  size_t chosen = 0;
  for (size_t i = 0; i < w->n && chosen < w->k; i++) {
    if (lp_rng_below(rng, (uint64_t)(w->n - i)) < (uint64_t)(w->k - chosen)) {
      memcpy(w->centers + chosen * w->d, w->x + i * w->d, w->d * sizeof(double));
      chosen++;
    }
  }
}
