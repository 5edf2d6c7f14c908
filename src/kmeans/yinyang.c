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

#include "kmeans/sums.h"
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
static inline void km_yy_group(const km_work *w, const double *x, const double *gc, size_t g) {
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

/* Bounds are stored relative to running totals of the moves (ns-bounds,
 * Newling & Fleuret, 2016), so a row that keeps its label is only read:
 * row i's upper bound is upper[i] + ycum[a] (a its label), its bound on
 * group g glower[i t + g] - gcum[g]. ycum[j] grows by every move of
 * center j, gcum[g] by every largest move of group g, each addition
 * rounded up (km_up), so ycum[j] now minus ycum[j] then is at least the
 * sum of the moves in between; every stored value and every value derived
 * from one is rounded to its safe side (km_up, km_down; one rounding of a
 * sum or difference is within 2^-53 of its result, far below the relative
 * eps >= 2^-46), so the derived bounds are at least as safe as loosening
 * them step by step. A center or group that did not move adds nothing. */
static inline double km_up(double r, double eps) { return r + fabs(r) * eps; }
static inline double km_down(double r, double eps) {
  return r < HUGE_VAL ? r - fabs(r) * eps : HUGE_VAL;
}

/* The first test of a row with valid bounds: true when the row keeps its
 * label without a distance (nothing is written). */
static inline bool km_yy_skip(const km_work *w, size_t i, double eps) {
  const size_t t = w->groups;
  const double *lb = w->glower + i * t;
  /* One product for each side's slack: the sum of the upper bound is not
   * negative (its exact value is a distance bound, and rounding keeps the
   * sign), and a negative lowest bound fails the test either way; an
   * infinite one stays infinite. */
  double u = (w->upper[i] + w->ycum[w->labels[i]]) * (1.0 + eps);
  double glob = HUGE_VAL;
  for (size_t g = 0; g < t; g++) {
    double l = lb[g] - w->gcum[g];
    if (l < glob) glob = l;
  }
  return u < glob * (1.0 - eps);
}

/* The rest of a row's step (km_yy_skip did not skip it, or the bounds are
 * not valid): returns 1 when its label changed. */
static size_t km_yy_row(km_work *w, size_t i, const double *gc, bool bounds_valid, double eps) {
  const size_t d = w->d, t = w->groups;
  const double *x = w->x + i * d;
  double *stored = w->glower + i * t, *lb = w->gcur;
  uint32_t a = w->labels[i], best = UINT32_MAX;
  double u = HUGE_VAL, da2 = HUGE_VAL;
  if (bounds_valid) {
    double glob = HUGE_VAL;
    for (size_t g = 0; g < t; g++) {
      lb[g] = km_down(stored[g] - w->gcum[g], eps);
      if (lb[g] < glob) glob = lb[g];
    }
    da2 = km_dist2(x, w->centers + (size_t)a * d, d);
    u = sqrt(da2) * (1.0 + eps);
    if (u < glob) {
      w->upper[i] = km_up(u - w->ycum[a], eps);
      return 0;
    }
    best = a;
  }
  double b2 = da2;
  for (size_t g = 0; g < t; g++) {
    w->gmin1j[g] = UINT32_MAX;
    if (w->gstart[g] == w->gstart[g + 1]) {
      if (!bounds_valid) stored[g] = HUGE_VAL; /* no center to be near */
      continue;
    }
    if (bounds_valid && !(lb[g] <= u)) continue;
    km_yy_group(w, x, gc, g);
    if (w->gmin1[g] < b2 || (w->gmin1[g] == b2 && w->gmin1j[g] < best)) {
      b2 = w->gmin1[g];
      best = w->gmin1j[g];
    }
  }
  const uint32_t gb = w->group_of[best];
  for (size_t g = 0; g < t; g++)
    if (w->gmin1j[g] != UINT32_MAX)
      stored[g] =
          km_down(km_yy_lower(g == gb ? w->gmin2[g] : w->gmin1[g], eps) + w->gcum[g], eps);
  if (bounds_valid && best != a) {
    /* The old center joins the others of its group's bound when that
     * group was not scanned (a scanned group counted it already). */
    const uint32_t ga = w->group_of[a];
    double v = km_yy_lower(da2, eps);
    if (w->gmin1j[ga] == UINT32_MAX && v < lb[ga])
      stored[ga] = km_down(v + w->gcum[ga], eps);
  }
  w->upper[i] = km_up(sqrt(b2) * (1.0 + eps) - w->ycum[best], eps);
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
    for (size_t j = 0; j < w->k; j++)
      if (w->shift[j] != 0.0) w->ycum[j] = km_up(w->ycum[j] + w->shift[j], eps);
    for (size_t g = 0; g < t; g++) {
      double m = 0.0;
      for (size_t p = w->gstart[g]; p < w->gstart[g + 1]; p++)
        if (w->shift[w->gmember[p]] > m) m = w->shift[w->gmember[p]];
      if (m != 0.0) w->gcum[g] = km_up(w->gcum[g] + m, eps);
    }
  } else {
    /* Every bound is taken again: the totals start over. */
    memset(w->ycum, 0, w->k * sizeof(double));
    memset(w->gcum, 0, t * sizeof(double));
  }
  size_t changed = 0;
  km_sums_begin(w);
  for (size_t i0 = 0; i0 < n; i0 += w->ck_rows) {
    const size_t i1 = n - i0 < w->ck_rows ? n : i0 + w->ck_rows;
    uint32_t *live = w->rowlist + w->ck_rows;
    size_t nlive = 0;
    if (!bounds_valid && w->fuse && w->ck_full) {
      /* Every row is added: as it goes (the row is at hand). */
      km_sums_open(w, i0);
      for (size_t i = i0; i < i1; i++) {
        changed += km_yy_row(w, i, gc, false, eps);
        km_sums_add(w, i, w->count);
      }
      continue;
    }
    if (!bounds_valid) {
      for (size_t i = i0; i < i1; i++) changed += km_yy_row(w, i, gc, false, eps);
      live = NULL;
    } else {
      /* Two phases: the bound tests of the block, fetching the rows that
       * fail them (scattered reads in flight together), then those rows;
       * the rows of the clusters being summed are listed on the way. */
      const uint8_t *summed = w->ck_live;
      size_t m = 0;
      for (size_t i = i0; i < i1; i++) {
        if (summed != NULL) {
          live[nlive] = (uint32_t)(i - i0);
          nlive += summed[w->labels[i]];
        }
        if (km_yy_skip(w, i, eps)) continue;
        KM_PREFETCH(w->x + i * d);
        KM_PREFETCH(w->x + i * d + d - 1);
        w->rowlist[m++] = (uint32_t)(i - i0);
      }
      for (size_t q = 0; q < m; q++) changed += km_yy_row(w, i0 + w->rowlist[q], gc, true, eps);
      if (summed == NULL) live = NULL;
    }
    km_sums_block(w, i0, i1, live, nlive);
  }
  km_sums_end(w);
  return changed;
}
