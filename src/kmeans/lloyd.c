/*
 * Exact k-means: Lloyd's iterations, and the same iterations with
 * Hamerly's bounds deciding which rows can skip the scan of all centers.
 * Both share the update step and the final assignment; the bounds only
 * skip work whose result is already known, so Hamerly returns the same
 * bits as Lloyd.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/exact.h"
#include "kmeans/lloyd.h"
#include "kmeans/sums.h"
#include "kmeans/yinyang.h"

/* Four distances at once (km_dist2_x4), ties to the lowest index. */
uint32_t km_nearest(const double *x, const double *centers, size_t k, size_t d,
                    double *best2) {
  uint32_t best = 0;
  double b = HUGE_VAL;
  size_t j = 0;
  for (; j + 4 <= k; j += 4) {
    const double *c0 = centers + j * d;
    double s[4];
    km_dist2_x4(x, c0, c0 + d, c0 + 2 * d, c0 + 3 * d, d, s);
    for (size_t q = 0; q < 4; q++)
      if (s[q] < b) {
        b = s[q];
        best = (uint32_t)(j + q);
      }
  }
  for (; j < k; j++) {
    double s = km_dist2(x, centers + j * d, d);
    if (s < b) { b = s; best = (uint32_t)j; }
  }
  *best2 = b;
  return best;
}

/* Centers are repacked for the scans in blocks of KM_LANES, column-major
 * inside a block, so one pass over a row's columns updates KM_LANES
 * independent sums at once (vector registers); each sum still adds its
 * column terms in column order, so every distance is bit-identical to
 * km_dist2(). */
void km_pack_centers(km_work *w) {
  const size_t d = w->d, k = w->k, blocks = (k + KM_LANES - 1) / KM_LANES;
  for (size_t b = 0; b < blocks; b++)
    for (size_t t = 0; t < d; t++)
      for (size_t q = 0; q < KM_LANES; q++) {
        size_t j = b * KM_LANES + q;
        w->packed[(b * d + t) * KM_LANES + q] = j < k ? w->centers[j * d + t] : 0.0;
      }
}

/* KM_SCALAR_ONLY builds the plain loop everywhere (to check that both
 * paths give the same bits). */
#if defined(__GNUC__) && !defined(KM_SCALAR_ONLY)
/* Two lanes per vector (SSE2 on x86-64, NEON on arm64); lane arithmetic is
 * plain IEEE double, so the bits are those of the scalar loop below. */
typedef double km_v2 __attribute__((vector_size(16)));

static inline km_v2 km_load2(const double *p) {
  km_v2 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void km_block_dist(const double *x, const double *block, size_t d,
                                 double *sums) {
  km_v2 s0 = {0.0, 0.0}, s1 = s0, s2 = s0, s3 = s0;
  for (size_t t = 0; t < d; t++) {
    const km_v2 xt = {x[t], x[t]};
    const double *c = block + t * KM_LANES;
    km_v2 u0 = xt - km_load2(c), u1 = xt - km_load2(c + 2);
    km_v2 u2 = xt - km_load2(c + 4), u3 = xt - km_load2(c + 6);
    s0 += u0 * u0;
    s1 += u1 * u1;
    s2 += u2 * u2;
    s3 += u3 * u3;
  }
  memcpy(sums, &s0, sizeof s0);
  memcpy(sums + 2, &s1, sizeof s1);
  memcpy(sums + 4, &s2, sizeof s2);
  memcpy(sums + 6, &s3, sizeof s3);
}
#else
static inline void km_block_dist(const double *x, const double *block, size_t d,
                                 double *sums) {
  double s[KM_LANES] = {0};
  for (size_t t = 0; t < d; t++) {
    const double xt = x[t];
    const double *c = block + t * KM_LANES;
    for (size_t q = 0; q < KM_LANES; q++) {
      double u = xt - c[q];
      s[q] += u * u;
    }
  }
  memcpy(sums, s, sizeof s);
}
#endif

/* Nearest packed center (ties: lowest index), and optionally the
 * second-nearest squared distance. */
static uint32_t km_scan(const km_work *w, const double *x, double *best2, double *second2) {
  const size_t d = w->d, k = w->k;
  uint32_t best = 0;
  double b = HUGE_VAL, sb = HUGE_VAL, sums[KM_LANES];
  for (size_t j0 = 0; j0 < k; j0 += KM_LANES) {
    km_block_dist(x, w->packed + j0 * d, d, sums);
    size_t lanes = k - j0 < KM_LANES ? k - j0 : KM_LANES;
    for (size_t q = 0; q < lanes; q++) {
      double v = sums[q];
      if (v < b) {
        sb = b;
        b = v;
        best = (uint32_t)(j0 + q);
      } else if (v < sb) {
        sb = v;
      }
    }
  }
  *best2 = b;
  if (second2 != NULL) *second2 = sb;
  return best;
}

double km_assign_all(km_work *w) {
  double inertia = 0.0, d2;
  km_pack_centers(w);
  for (size_t i = 0; i < w->n; i++) {
    w->labels[i] = km_scan(w, w->x + i * w->d, &d2, NULL);
    inertia += km_weight(w->w, i) * d2;
  }
  return inertia;
}

static size_t km_assign_lloyd(km_work *w) {
  size_t changed = 0;
  double d2;
  km_pack_centers(w);
  km_sums_begin(w);
  for (size_t i = 0; i < w->n; i++) {
    changed += km_set_label(w, i, km_scan(w, w->x + i * w->d, &d2, NULL));
    if (w->fuse) km_sums_add(w, i, w->count);
  }
  return changed;
}

static size_t km_full_scan(km_work *w, size_t i, double eps) {
  double b2, s2;
  size_t changed = km_set_label(w, i, km_scan(w, w->x + i * w->d, &b2, &s2));
  w->upper[i] = sqrt(b2) * (1.0 + eps);
  w->lower[i] = s2 < HUGE_VAL ? sqrt(s2) * (1.0 - eps) : HUGE_VAL;
  return changed;
}

/* One row of Hamerly's step with valid bounds, loosened first by the
 * moves since the last step: the assigned center is at most shift[a]
 * farther, every other at most the largest move of the others nearer. */
static size_t km_hamerly_row(km_work *w, size_t i, double eps, size_t top, double p1,
                             double p2) {
  const size_t d = w->d;
  uint32_t a = w->labels[i];
  double u = (w->upper[i] + w->shift[a]) * (1.0 + eps), l = w->lower[i];
  if (l < HUGE_VAL) {
    double p = a == top ? p2 : p1;
    l -= p;
    l -= eps * (fabs(l) + p);
    w->lower[i] = l;
  }
  double m = w->half_gap[a] > l ? w->half_gap[a] : l;
  if (u < m) {
    w->upper[i] = u;
    return 0;
  }
  u = sqrt(km_dist2(w->x + i * d, w->centers + a * d, d)) * (1.0 + eps);
  w->upper[i] = u;
  if (u < m) return 0;
  return km_full_scan(w, i, eps);
}

static size_t km_assign_hamerly(km_work *w, bool bounds_valid) {
  const size_t n = w->n, d = w->d, k = w->k;
  const double eps = km_slack(d);
  size_t changed = 0;
  km_pack_centers(w);
  km_sums_begin(w);
  if (!bounds_valid) {
    for (size_t i = 0; i < n; i++) {
      changed += km_full_scan(w, i, eps);
      if (w->fuse) km_sums_add(w, i, w->count);
    }
    return changed;
  }
  for (size_t j = 0; j < k; j++) {
    double m = HUGE_VAL;
    for (size_t o = 0; o < k; o++) {
      if (o == j) continue;
      double v = km_dist2(w->centers + j * d, w->centers + o * d, d);
      if (v < m) m = v;
    }
    w->half_gap[j] = m < HUGE_VAL ? 0.5 * sqrt(m) * (1.0 - eps) : HUGE_VAL;
  }
  size_t top = 0;
  double p1 = 0.0, p2 = 0.0;
  for (size_t j = 0; j < k; j++) {
    double p = w->shift[j];
    if (p > p1) {
      p2 = p1;
      p1 = p;
      top = j;
    } else if (p > p2) {
      p2 = p;
    }
  }
  for (size_t i = 0; i < n; i++) {
    changed += km_hamerly_row(w, i, eps, top, p1, p2);
    if (w->fuse) km_sums_add(w, i, w->count);
  }
  return changed;
}

static size_t km_assign(km_work *w, uint32_t algo, bool bounds_valid) {
  if (algo == LP_KMEANS_ALGO_HAMERLY) return km_assign_hamerly(w, bounds_valid);
  if (algo == LP_KMEANS_ALGO_YINYANG) return km_assign_yinyang(w, bounds_valid);
  return km_assign_lloyd(w);
}

/* The update's sums in a pass of their own: the exact accumulators, the
 * plain sums after a relocation (count NULL: the counts are kept). */
static void km_accumulate(km_work *w, uint64_t *count) {
  if (w->acc != NULL) {
    km_accumulate_exact(w, count);
    return;
  }
  const size_t d = w->d, k = w->k;
  memset(w->sums, 0, k * d * sizeof(double));
  memset(w->wsum, 0, k * sizeof(double));
  if (count != NULL) memset(count, 0, k * sizeof(uint64_t));
  for (size_t i = 0; i < w->n; i++) km_sums_add(w, i, count);
}

/* An empty cluster takes the row farthest from its current center among
 * clusters that keep at least one row (ties: lowest row), clusters in
 * ascending order. Returns the number of rows moved. */
static size_t km_relocate_empty(km_work *w, uint64_t *count) {
  const size_t d = w->d;
  size_t moved = 0;
  bool measured = false;
  for (size_t j = 0; j < w->k; j++) {
    if (count[j] != 0) continue;
    if (!measured) {
      for (size_t i = 0; i < w->n; i++)
        w->upper[i] = km_dist2(w->x + i * d, w->centers + (size_t)w->labels[i] * d, d);
      measured = true;
    }
    size_t far = SIZE_MAX;
    double far_d = -1.0;
    for (size_t i = 0; i < w->n; i++) {
      if (count[w->labels[i]] > 1 && w->upper[i] > far_d) {
        far_d = w->upper[i];
        far = i;
      }
    }
    /* n >= k guarantees a cluster with two rows while one is empty. */
    count[w->labels[far]]--;
    count[j] = 1;
    w->labels[far] = (uint32_t)j;
    w->upper[far] = -1.0;
    moved++;
  }
  if (moved != 0) {
    w->all_dirty = true; /* the sums are taken again, all of them */
    w->ck_valid = false; /* rows moved without a pass: checkpoints are stale */
  }
  return moved;
}

/* Means of the labelled rows become the centers; returns the total squared
 * move and stores each center's move (not squared) in shift[]. A cluster
 * that is not dirty has the rows, in the same order, that gave its center:
 * its sums and mean would be the same bits, so it keeps its center and
 * moves 0, exactly what recomputing it would give. */
static double km_update(km_work *w, uint64_t *count, size_t *moved) {
  const size_t d = w->d, k = w->k;
  if (!w->fuse) km_accumulate(w, count); /* else the assignment added them */
  *moved = km_relocate_empty(w, count);
  if (*moved != 0) km_accumulate(w, NULL);
  double total = 0.0;
  for (size_t j = 0; j < k; j++) {
    if (!w->all_dirty && !w->dirty[j]) {
      w->shift[j] = 0.0;
      continue;
    }
    double *s = w->sums + j * d, *c = w->centers + j * d;
    for (size_t t = 0; t < d; t++) s[t] /= w->wsum[j];
    double m2 = km_dist2(s, c, d);
    total += m2;
    w->shift[j] = sqrt(m2) * (1.0 + km_slack(d));
    memcpy(c, s, d * sizeof(double));
  }
  memset(w->dirty, 0, k);
  w->all_dirty = false;
  return total;
}

void km_run_exact(km_work *w, uint32_t algo, uint32_t max_iter, double tol_abs,
                  bool stop_on_no_change) {
  uint64_t *count = w->count;
  const bool bounded = algo != LP_KMEANS_ALGO_LLOYD;
  for (size_t i = 0; i < w->n; i++) w->labels[i] = UINT32_MAX;
  w->all_dirty = true;
  /* Plain sums are added during the assignment pass (one pass over the
   * rows, in row order, the same additions); exact ones after it. */
  w->fuse = w->acc == NULL;
  /* Checkpointed sums (sums.c) for Yinyang; Lloyd (the reference the
   * tests compare it with) and Hamerly add every row as they go. */
  w->ck_use = w->fuse && algo == LP_KMEANS_ALGO_YINYANG && w->ck_blocks != 0;
  w->ck_valid = false;
  if (algo == LP_KMEANS_ALGO_YINYANG) km_yinyang_groups(w);
  bool strict = false, bounds_valid = false;
  uint32_t it = 0;
  while (it < max_iter) {
    it++;
    size_t changed = km_assign(w, algo, bounds_valid);
    size_t moved;
    double shift2 = km_update(w, count, &moved);
    if (bounded) bounds_valid = moved == 0;
    if (changed == 0 && moved == 0) {
      strict = true;
      break;
    }
    if (!stop_on_no_change && shift2 <= tol_abs) break;
  }
  w->n_iter = it;
  w->fuse = false;
  if (!strict) (void)km_assign(w, algo, bounds_valid);
  double inertia = 0.0;
  for (size_t i = 0; i < w->n; i++)
    inertia += km_weight(w->w, i) *
               km_dist2(w->x + i * w->d, w->centers + (size_t)w->labels[i] * w->d, w->d);
  w->inertia = inertia;
}
