/*
 * Yinyang k-means (Ding et al., ICML 2015): the centers are split once
 * into groups; each row keeps an upper bound on the distance to its
 * center and, per group, a lower bound on the distance to every other
 * center of the group. After the centers move, the bounds loosen by the
 * move of the row's center and by each group's largest move. A row whose
 * upper bound is below every group bound keeps its label without a
 * distance; otherwise only the groups whose bound is not above the
 * (tightened) upper bound are scanned. Bounds carry the slack of
 * km_slack() and every test is strict, so a row is skipped, or a group
 * left out, only when its nearest center (ties: lowest index) is certain:
 * the labels, hence the centers (lloyd.c's update), are Lloyd's bits.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/yinyang.h"

size_t km_yinyang_group_count(size_t k) { return k >= 20 ? k / 10 : 1; }

/* Five Lloyd steps on the centers themselves, from the centers at
 * indices g k / t (ties: lowest group; an empty group keeps its mean),
 * then the members of each group in ascending index. Only speed depends
 * on the grouping. Uses sums (t x d) and count (t) as scratch. */
void km_yinyang_groups(km_work *w) {
  const size_t k = w->k, d = w->d, t = w->groups;
  double *gm = w->sums;
  uint64_t *cnt = w->count;
  for (size_t g = 0; g < t; g++)
    memcpy(gm + g * d, w->centers + (g * k / t) * d, d * sizeof(double));
  for (int step = 0; step < 5; step++) {
    for (size_t j = 0; j < k; j++) {
      uint32_t best = 0;
      double b = HUGE_VAL;
      for (size_t g = 0; g < t; g++) {
        double v = km_dist2(w->centers + j * d, gm + g * d, d);
        if (v < b) {
          b = v;
          best = (uint32_t)g;
        }
      }
      w->group_of[j] = best;
    }
    memset(cnt, 0, t * sizeof(uint64_t));
    for (size_t j = 0; j < k; j++) cnt[w->group_of[j]]++;
    for (size_t g = 0; g < t; g++)
      if (cnt[g] != 0) memset(gm + g * d, 0, d * sizeof(double));
    for (size_t j = 0; j < k; j++)
      for (size_t c = 0; c < d; c++) gm[w->group_of[j] * d + c] += w->centers[j * d + c];
    for (size_t g = 0; g < t; g++)
      if (cnt[g] != 0)
        for (size_t c = 0; c < d; c++) gm[g * d + c] /= (double)cnt[g];
  }
  size_t run = 0;
  for (size_t g = 0; g < t; g++) {
    w->gstart[g] = (uint32_t)run;
    run += (size_t)cnt[g];
  }
  w->gstart[t] = (uint32_t)run;
  /* gmin1j as the fill cursor of each group. */
  for (size_t g = 0; g < t; g++) w->gmin1j[g] = w->gstart[g];
  for (size_t j = 0; j < k; j++) w->gmember[w->gmin1j[w->group_of[j]]++] = (uint32_t)j;
}

/* (v, j) against the best (b, bj) and second-best value sb of a group,
 * members visited in ascending index: strict, so ties keep the lowest. */
static inline void km_yy_take(double v, uint32_t j, double *b, uint32_t *bj, double *sb) {
  if (v < *b) {
    *sb = *b;
    *b = v;
    *bj = j;
  } else if (v < *sb) {
    *sb = v;
  }
}

/* Nearest and second-nearest squared distance from x to the members of
 * one group (their centers copied contiguously in gc), four at a time. */
static void km_yy_group(const km_work *w, const double *x, const double *gc, size_t g) {
  const size_t d = w->d, e = w->gstart[g + 1];
  double b = HUGE_VAL, sb = HUGE_VAL;
  uint32_t bj = UINT32_MAX;
  size_t p = w->gstart[g];
  for (; p + 4 <= e; p += 4) {
    const double *c0 = gc + p * d;
    double s[4];
    km_dist2_x4(x, c0, c0 + d, c0 + 2 * d, c0 + 3 * d, d, s);
    for (size_t q = 0; q < 4; q++) km_yy_take(s[q], w->gmember[p + q], &b, &bj, &sb);
  }
  for (; p < e; p++) km_yy_take(km_dist2(x, gc + p * d, d), w->gmember[p], &b, &bj, &sb);
  w->gmin1[g] = b;
  w->gmin2[g] = sb;
  w->gmin1j[g] = bj;
}

static inline double km_yy_lower(double v2, double eps) {
  return v2 < HUGE_VAL ? sqrt(v2) * (1.0 - eps) : HUGE_VAL;
}

/* One row of the step: returns 1 when its label changed. */
static size_t km_yy_row(km_work *w, size_t i, const double *gc, bool bounds_valid, double eps) {
  const size_t d = w->d, t = w->groups;
  const double *x = w->x + i * d;
  double *lb = w->glower + i * t;
  uint32_t a = w->labels[i], best = UINT32_MAX;
  double u = HUGE_VAL, da2 = HUGE_VAL;
  if (bounds_valid) {
    /* Loosen by the moves since the last step (as Hamerly's bounds). */
    u = (w->upper[i] + w->shift[a]) * (1.0 + eps);
    double glob = HUGE_VAL;
    for (size_t g = 0; g < t; g++) {
      if (lb[g] < HUGE_VAL) {
        double p = w->gdrift[g], l = lb[g] - p;
        lb[g] = l - eps * (fabs(l) + p);
      }
      if (lb[g] < glob) glob = lb[g];
    }
    if (u < glob) {
      w->upper[i] = u;
      return 0;
    }
    da2 = km_dist2(x, w->centers + (size_t)a * d, d);
    u = sqrt(da2) * (1.0 + eps);
    if (u < glob) {
      w->upper[i] = u;
      return 0;
    }
    best = a;
  }
  double b2 = da2;
  for (size_t g = 0; g < t; g++) {
    w->gmin1j[g] = UINT32_MAX;
    if (w->gstart[g] == w->gstart[g + 1] || (bounds_valid && !(lb[g] <= u))) continue;
    km_yy_group(w, x, gc, g);
    if (w->gmin1[g] < b2 || (w->gmin1[g] == b2 && w->gmin1j[g] < best)) {
      b2 = w->gmin1[g];
      best = w->gmin1j[g];
    }
  }
  const uint32_t gb = w->group_of[best];
  for (size_t g = 0; g < t; g++)
    if (w->gmin1j[g] != UINT32_MAX)
      lb[g] = km_yy_lower(g == gb ? w->gmin2[g] : w->gmin1[g], eps);
  if (bounds_valid && best != a) {
    /* The old center joins the others of its group's bound when that
     * group was not scanned (a scanned group counted it already). */
    const uint32_t ga = w->group_of[a];
    double v = km_yy_lower(da2, eps);
    if (w->gmin1j[ga] == UINT32_MAX && v < lb[ga]) lb[ga] = v;
  }
  w->upper[i] = sqrt(b2) * (1.0 + eps);
  return km_set_label(w, i, best);
}

size_t km_assign_yinyang(km_work *w, bool bounds_valid) {
  const size_t n = w->n, d = w->d, t = w->groups;
  const double eps = km_slack(d);
  /* The centers in group order (w->packed holds at least k x d). */
  double *gc = w->packed;
  for (size_t p = 0; p < w->k; p++)
    memcpy(gc + p * d, w->centers + (size_t)w->gmember[p] * d, d * sizeof(double));
  if (bounds_valid) {
    for (size_t g = 0; g < t; g++) {
      double m = 0.0;
      for (size_t p = w->gstart[g]; p < w->gstart[g + 1]; p++)
        if (w->shift[w->gmember[p]] > m) m = w->shift[w->gmember[p]];
      w->gdrift[g] = m;
    }
  }
  size_t changed = 0;
  km_sums_begin(w);
  for (size_t i = 0; i < n; i++) {
    changed += km_yy_row(w, i, gc, bounds_valid, eps);
    if (w->fuse) km_sums_add(w, i, w->count);
  }
  return changed;
}
