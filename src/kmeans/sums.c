/*
 * The update's plain sums with checkpoints. A cluster's sum is the
 * additions of its rows in row order from zero (docs/kmeans.md, "The
 * summation order"), so its value before row block b depends only on the
 * rows of the cluster in the blocks before b. A pass keeps those values
 * (the sums, weight sums and counts before each block: the checkpoints).
 * In a later pass, a cluster that no row joins or leaves keeps its center
 * (lloyd.c's update), so its sums are not needed; a cluster whose first
 * change falls in block b restarts from its checkpoint before b and adds
 * its rows of blocks b, b + 1, ...: the same additions in the same order
 * as from zero, so the same bits, without reading the rows of the clean
 * clusters (in the long tail of a fit, most rows). Checkpoints are
 * written for the clusters summed, so they stay those of the current
 * labels. Every row is added (and every checkpoint written) in the first
 * pass of a run and after a relocation of empty clusters, which moves
 * rows without a pass.
 * SPDX-License-Identifier: MIT
 */
#include "kmeans/sums.h"

/* Rows per block at most, and the fewest for small inputs (so the tests'
 * inputs of a few hundred rows have several blocks). */
#define KM_CK_ROWS 2048u
#define KM_CK_MIN_ROWS 16u
#define KM_CK_FLOOR ((size_t)1 << 16)
/* Rows fetched ahead while adding the listed ones. */
#ifndef KM_CK_AHEAD
#  define KM_CK_AHEAD 32
#endif

void km_sums_plan(size_t n, size_t k, size_t d, size_t *rows, size_t *blocks) {
  size_t b = (n + 63) / 64;
  if (b > KM_CK_ROWS) b = KM_CK_ROWS;
  if (b < KM_CK_MIN_ROWS) b = KM_CK_MIN_ROWS;
  size_t nb = (n + b - 1) / b;
  /* Memory: nb k (d + 2) values, at most max(n d / 4, 2^16) of them. n d
   * fits (the fit checked n d 8); k (d + 2) is checked (32-bit size_t). */
  if (d > SIZE_MAX - 2 || k > SIZE_MAX / (d + 2)) { /* k (d + 2) would not fit */
    *rows = KM_CK_ROWS;
    *blocks = 0;
    return;
  }
  size_t budget = n / 4 * d, per = k * (d + 2);
  if (budget < KM_CK_FLOOR) budget = KM_CK_FLOOR;
  if (nb > budget / per) {
    size_t most = budget / per;
    if (most < 2) {
      *rows = KM_CK_ROWS;
      *blocks = 0;
      return;
    }
    b = (n + most - 1) / most;
    nb = (n + b - 1) / b;
  }
  *rows = b;
  *blocks = nb >= 2 ? nb : 0;
}

void km_sums_begin(km_work *w) {
  if (!w->fuse) return;
  const size_t k = w->k;
  w->ck_full = !(w->ck_use && w->ck_valid && !w->all_dirty);
  if (w->ck_full) {
    memset(w->sums, 0, k * w->d * sizeof(double));
    memset(w->wsum, 0, k * sizeof(double));
    memset(w->count, 0, k * sizeof(uint64_t));
  } else {
    memset(w->ck_live, 0, k);
  }
}

/* Row i onto its cluster's sums (the additions of km_sums_add). */
static inline void km_sums_row(km_work *w, size_t i, uint32_t a) {
  const size_t d = w->d;
  double wi = km_weight(w->w, i);
  const double *xi = w->x + i * d;
  double *s = w->sums + (size_t)a * d;
  for (size_t t = 0; t < d; t++) s[t] += wi * xi[t];
  w->wsum[a] += wi;
  w->count[a]++;
}

/* The state of cluster j before block b, to or from the checkpoints. */
static void km_ck_save(km_work *w, size_t b, size_t j) {
  const size_t d = w->d, at = b * w->k + j;
  memcpy(w->ck_sums + at * d, w->sums + j * d, d * sizeof(double));
  w->ck_wsum[at] = w->wsum[j];
  w->ck_count[at] = w->count[j];
}

static void km_ck_restore(km_work *w, size_t b, size_t j) {
  const size_t d = w->d, at = b * w->k + j;
  memcpy(w->sums + j * d, w->ck_sums + at * d, d * sizeof(double));
  w->wsum[j] = w->ck_wsum[at];
  w->count[j] = w->ck_count[at];
}

void km_sums_open(km_work *w, size_t i0) {
  if (w->fuse && w->ck_full && w->ck_use)
    for (size_t j = 0; j < w->k; j++) km_ck_save(w, i0 / w->ck_rows, j);
}

void km_sums_block(km_work *w, size_t i0, size_t i1, uint32_t *list, size_t m) {
  if (!w->fuse) return;
  const size_t k = w->k, d = w->d;
  if (w->ck_full) {
    km_sums_open(w, i0);
    for (size_t i = i0; i < i1; i++) km_sums_row(w, i, w->labels[i]);
    return;
  }
  const size_t b = i0 / w->ck_rows;
  bool joined = false;
  for (size_t j = 0; j < k; j++) {
    if (w->ck_live[j]) {
      km_ck_save(w, b, j);
    } else if (w->dirty[j]) {
      km_ck_restore(w, b, j);
      w->ck_live[j] = 1;
      joined = true;
    }
  }
  /* The caller's list (rows whose label was live before the block's
   * assignment) is exactly the rows now labelled live when no cluster
   * joined the live ones: a row that changed label made both of its
   * clusters dirty, so both were live already. Else list them again. */
  if (list == NULL || joined) {
    list = w->rowlist;
    m = 0;
    for (size_t i = i0; i < i1; i++) {
      list[m] = (uint32_t)(i - i0);
      m += w->ck_live[w->labels[i]];
    }
  }
  /* In row order, fetching a few rows ahead (scattered reads). */
  for (size_t q = 0; q < m; q++) {
    if (q + KM_CK_AHEAD < m) {
      KM_PREFETCH(w->x + (i0 + list[q + KM_CK_AHEAD]) * d);
      KM_PREFETCH(w->x + (i0 + list[q + KM_CK_AHEAD]) * d + d - 1);
    }
    const size_t i = i0 + list[q];
    km_sums_row(w, i, w->labels[i]);
  }
}

void km_sums_end(km_work *w) {
  if (w->fuse && w->ck_full && w->ck_use) w->ck_valid = true;
}
