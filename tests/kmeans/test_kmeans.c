/*
 * Tests for include/libprofile/kmeans.h: options, fitting (hand-checked and
 * scikit-learn-checked cases), Hamerly and Lloyd giving the same bits,
 * determinism, empty-cluster relocation, scaling, prediction, bad input and
 * every allocation failure.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/common.h"
#include "harness/lp_test.h"
#include "km_test_data.h"
#include "kmeans/check.h"
#include "kmeans/sums.h"

static void create_free_errmsg(void **state) {
  (void)state;
  assert_int_equal(lp_kmeans_create(NULL, NULL), LP_EINVAL);
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.struct_size = 3;
  lp_kmeans *h = NULL;
  assert_int_equal(lp_kmeans_create(&bad, &h), LP_EINVAL);
  lp_kmeans_free(NULL);
  assert_string_equal(lp_kmeans_errmsg(NULL), "invalid handle: NULL");
  h = new_km();
  assert_int_equal(lp_kmeans_k(h), 0);
  assert_int_equal(lp_kmeans_dim(h), 0);
  assert_true(isnan(lp_kmeans_inertia(h)));
  assert_int_equal(lp_kmeans_n_iter(h), 0);
  assert_int_equal(lp_kmeans_algorithm_used(h), LP_KMEANS_ALGO_AUTO);
  size_t n = 7;
  assert_null(km_test_labels(h, &n));
  assert_int_equal(n, 0);
  lp_kmeans_free(h);
  assert_int_equal(lp_kmeans_k(NULL), 0);
}

static void options_validate(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(NULL, LP_KMEANS_K, 3), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 0), LP_ERANGE);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "k:"));
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)LP_KMEANS_MAX_K + 1), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, -1), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 0), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, 5), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, -1), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_BATCH_SIZE, 0), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, 4), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_STOP_ON_NO_CHANGE, 2), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SILHOUETTE_SAMPLE, 1), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_TOL, 1), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_int(h, 999u, 1), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, -5), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_STOP_ON_NO_CHANGE, 1), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SILHOUETTE_SAMPLE, 500), LP_OK);
  assert_int_equal(lp_kmeans_set_double(NULL, LP_KMEANS_TOL, 0.0), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_K, 0.0), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, -1.0), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, NAN), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, INFINITY), LP_ERANGE);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, 0.0), LP_OK);
  uint32_t scales[2] = {0, 9};
  assert_int_equal(lp_kmeans_set_column_scales(NULL, scales, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_column_scales(h, NULL, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_column_scales(h, scales, 0), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_column_scales(h, scales, 2), LP_EINVAL);
  double c[2] = {1, NAN};
  assert_int_equal(lp_kmeans_set_init_centroids(NULL, c, 1, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_init_centroids(h, NULL, 1, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, 0, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, 1, 2), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, (size_t)LP_KMEANS_MAX_K + 1, 1), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, 2, SIZE_MAX), LP_ELIMIT);
  lp_kmeans_free(h);
}

/* Hand-checked: {0, 1, 10, 11} from {0} and {10} converges at once to the
 * means 0.5 and 10.5; inertia = 4 x 0.5^2 = 1. */
static void fit_hand_checked_1d(void **state) {
  (void)state;
  const double x[4] = {0, 1, 10, 11}, init[2] = {0, 10};
  for (int algo = 1; algo <= 2; algo++) {
    lp_kmeans *h = new_km();
    assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
    assert_int_equal(lp_kmeans_set_init_centroids(h, init, 2, 1), LP_OK);
    assert_int_equal(lp_kmeans_fit(h, x, 4, 1, NULL), LP_OK);
    double c[2];
    assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c, 2), LP_OK);
    assert_true(c[0] == 0.5 && c[1] == 10.5);
    size_t n;
    const uint32_t *l = km_test_labels(h, &n);
    assert_int_equal(n, 4);
    assert_int_equal(l[0], 0);
    assert_int_equal(l[1], 0);
    assert_int_equal(l[2], 1);
    assert_int_equal(l[3], 1);
    assert_true(lp_kmeans_inertia(h) == 1.0);
    /* Iteration 1 moves the centers, iteration 2 changes no label. */
    assert_int_equal(lp_kmeans_n_iter(h), 2);
    assert_int_equal(lp_kmeans_algorithm_used(h), (uint32_t)algo);
    lp_kmeans_free(h);
  }
}

static void fit_matches_sklearn_lloyd(void **state) {
  (void)state;
  for (int weighted = 0; weighted < 2; weighted++) {
    for (int algo = 1; algo <= 2; algo++) {
      lp_kmeans *h = new_km();
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
      assert_int_equal(lp_kmeans_set_init_centroids(h, km_m_init, 3, 2), LP_OK);
      assert_int_equal(lp_kmeans_fit(h, km_m_points, 10, 2, weighted ? km_m_weights : NULL), LP_OK);
      double c[6];
      assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, 6), LP_OK);
      for (int i = 0; i < 6; i++) assert_close(c[i], (weighted ? km_m_wcenters : km_m_centers)[i], 1e-12);
      size_t n;
      const uint32_t *l = km_test_labels(h, &n);
      assert_memory_equal(l, km_m_labels, sizeof km_m_labels);
      assert_close(lp_kmeans_inertia(h), weighted ? KM_M_WINERTIA : KM_M_INERTIA, 1e-12);
      lp_kmeans_free(h);
    }
  }
}

/* Hand-checked relocation: {0, 0, 1, 10} from {0}, {100}, {200}. Every row
 * joins center 0, so clusters 1 and 2 are empty: cluster 1 takes the row
 * farthest from its center (10, row 3), cluster 2 the next (1, row 2). The
 * next pass changes nothing: centers 0, 10, 1; inertia 0. */
static void empty_clusters_relocate_deterministically(void **state) {
  (void)state;
  const double x[4] = {0, 0, 1, 10}, init[3] = {0, 100, 200};
  for (int algo = 1; algo <= 2; algo++) {
    lp_kmeans *h = new_km();
    assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
    assert_int_equal(lp_kmeans_set_init_centroids(h, init, 3, 1), LP_OK);
    assert_int_equal(lp_kmeans_fit(h, x, 4, 1, NULL), LP_OK);
    double c[3];
    assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c, 3), LP_OK);
    assert_true(c[0] == 0.0 && c[1] == 10.0 && c[2] == 1.0);
    const uint32_t *l = km_test_labels(h, NULL);
    assert_int_equal(l[0], 0);
    assert_int_equal(l[1], 0);
    assert_int_equal(l[2], 2);
    assert_int_equal(l[3], 1);
    assert_true(lp_kmeans_inertia(h) == 0.0);
    assert_int_equal(lp_kmeans_n_iter(h), 2);
    lp_kmeans_free(h);
  }
}

typedef struct fit_result {
  double c[64 * 6];
  uint32_t labels[2000];
  double inertia;
  uint32_t n_iter;
} fit_result;

static void fit_into(const double *x, size_t n, size_t d, size_t k, int algo, int init,
                     uint64_t seed, uint32_t n_init, fit_result *r) {
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)k), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, init), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, (int64_t)seed), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, n_init), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, n, d, NULL), LP_OK);
  memset(r, 0, sizeof *r);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, r->c, LP_ARRAY_LEN(r->c)), LP_OK);
  size_t got;
  memcpy(r->labels, km_test_labels(h, &got), n * sizeof(uint32_t));
  assert_int_equal(got, n);
  r->inertia = lp_kmeans_inertia(h);
  r->n_iter = lp_kmeans_n_iter(h);
  /* The returned labels are the nearest returned centroids. */
  uint32_t *again = malloc(n * sizeof(uint32_t));
  assert_int_equal(lp_kmeans_predict(h, x, n, d, again, NULL), LP_OK);
  assert_memory_equal(again, r->labels, n * sizeof(uint32_t));
  /* and so are those of predictions in blocks few enough to be scaled
   * once (at most 1024 values), with their distances */
  double *d2 = malloc(n * sizeof(double)), *d2b = malloc(n * sizeof(double));
  assert_int_equal(lp_kmeans_predict(h, x, n, d, again, d2), LP_OK);
  for (size_t i = 0; i < n; i += 100) {
    size_t m = n - i < 100 ? n - i : 100;
    memset(again + i, 0xff, m * sizeof(uint32_t));
    assert_int_equal(lp_kmeans_predict(h, x + i * d, m, d, again + i, d2b + i), LP_OK);
  }
  assert_memory_equal(again, r->labels, n * sizeof(uint32_t));
  assert_memory_equal(d2b, d2, n * sizeof(double));
  free(d2);
  free(d2b);
  free(again);
  lp_kmeans_free(h);
}

/* Hamerly's and Yinyang's bounds only skip work: the bits must equal
 * Lloyd's (k = 40 and 64 give Yinyang 4 and 6 groups). */
static void hamerly_equals_lloyd_bit_for_bit(void **state) {
  (void)state;
  static double x[2000 * 6];
  static fit_result a, b, c;
  const size_t ks[] = {1, 2, 3, 5, 8, 17, 40, 64};
  for (size_t seed = 0; seed < 12; seed++) {
    size_t d = 1 + seed % 6, n = 300 + seed * 130;
    km_make_blobs(x, n, d, 3 + seed % 7, seed, seed % 2 ? 40.0 : 8.0);
    for (size_t ki = 0; ki < LP_ARRAY_LEN(ks); ki++) {
      int init = (int)((seed + ki) % 2);
      assert_true(n * d <= LP_ARRAY_LEN(x));
      fit_into(x, n, d, ks[ki], LP_KMEANS_ALGO_LLOYD, init, seed * 31 + ki, 1, &a);
      fit_into(x, n, d, ks[ki], LP_KMEANS_ALGO_HAMERLY, init, seed * 31 + ki, 1, &b);
      fit_into(x, n, d, ks[ki], LP_KMEANS_ALGO_YINYANG, init, seed * 31 + ki, 1, &c);
      assert_memory_equal(a.c, b.c, sizeof a.c);
      assert_memory_equal(a.labels, b.labels, sizeof a.labels);
      assert_memory_equal(&a.inertia, &b.inertia, sizeof a.inertia);
      assert_int_equal(a.n_iter, b.n_iter);
      assert_memory_equal(a.c, c.c, sizeof a.c);
      assert_memory_equal(a.labels, c.labels, sizeof a.labels);
      assert_memory_equal(&a.inertia, &c.inertia, sizeof a.inertia);
      assert_int_equal(a.n_iter, c.n_iter);
    }
  }
}

/* Coarse data (many duplicate rows, so empty clusters and ties happen),
 * with weights: still the same bits. */
static void hamerly_equals_lloyd_with_ties_and_weights(void **state) {
  (void)state;
  static double x[800 * 3], w[800];
  for (size_t seed = 0; seed < 6; seed++) {
    km_make_blobs(x, 800, 3, 5, seed + 100, 6.0);
    for (size_t i = 0; i < 800 * 3; i++) x[i] = floor(x[i] / 3.0);
    for (size_t i = 0; i < 800; i++) w[i] = 1.0 + (double)((i * 7 + seed) % 5) * 0.25;
    static const int algos[3] = {LP_KMEANS_ALGO_LLOYD, LP_KMEANS_ALGO_HAMERLY,
                                 LP_KMEANS_ALGO_YINYANG};
    double c[3][40 * 3];
    uint32_t labels[3][800];
    double inertia[3];
    for (int q = 0; q < 3; q++) {
      const int algo = algos[q];
      lp_kmeans *h = new_km();
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 40), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, (int64_t)(seed % 2)), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, (int64_t)seed), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 2), LP_OK);
      assert_int_equal(lp_kmeans_fit(h, x, 800, 3, seed % 3 ? w : NULL), LP_OK);
      assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c[q], 120), LP_OK);
      memcpy(labels[q], km_test_labels(h, NULL), sizeof labels[0]);
      inertia[q] = lp_kmeans_inertia(h);
      assert_int_equal(lp_kmeans_algorithm_used(h), (uint32_t)algo);
      lp_kmeans_free(h);
    }
    for (int q = 1; q < 3; q++) {
      assert_memory_equal(c[0], c[q], sizeof c[0]);
      assert_memory_equal(labels[0], labels[q], sizeof labels[0]);
      assert_memory_equal(&inertia[0], &inertia[q], sizeof(double));
    }
  }
}

/* Yinyang with many groups (k = 150: 15 groups; k = 250: 25) on plain,
 * duplicated (coarse grid: ties, empty clusters) and one-column data,
 * with and without weights, restarts and random starts: Lloyd's bits. */
static void yinyang_many_groups_equal_lloyd(void **state) {
  (void)state;
  enum { N = 3000, D = 4 };
  static double x[N * D], w[N];
  const size_t ks[] = {150, 250};
  for (size_t seed = 0; seed < 6; seed++) {
    size_t d = seed % 3 == 2 ? 1 : D, k = ks[seed % 2];
    km_make_blobs(x, N, d, 12, seed + 300, 20.0);
    if (seed % 3 == 1)
      for (size_t i = 0; i < N * d; i++) x[i] = floor(x[i] / 4.0);
    for (size_t i = 0; i < N; i++) w[i] = 0.5 + (double)((i * 11 + seed) % 4) * 0.5;
    double *c[2];
    uint32_t *lab[2];
    double inertia[2];
    uint32_t it[2];
    for (int q = 0; q < 2; q++) {
      lp_kmeans *h = new_km();
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)k), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM,
                                         q ? LP_KMEANS_ALGO_YINYANG : LP_KMEANS_ALGO_LLOYD),
                       LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, (int64_t)(seed % 2)), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, (int64_t)seed), LP_OK);
      assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 2), LP_OK);
      assert_int_equal(lp_kmeans_fit(h, x, N, d, seed % 2 ? w : NULL), LP_OK);
      assert_int_equal(km_check(h), LP_OK);
      c[q] = malloc(k * d * sizeof(double));
      lab[q] = malloc(N * sizeof(uint32_t));
      assert_non_null(c[q]);
      assert_non_null(lab[q]);
      assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c[q], k * d), LP_OK);
      memcpy(lab[q], km_test_labels(h, NULL), N * sizeof(uint32_t));
      inertia[q] = lp_kmeans_inertia(h);
      it[q] = lp_kmeans_n_iter(h);
      lp_kmeans_free(h);
    }
    assert_memory_equal(c[0], c[1], k * d * sizeof(double));
    assert_memory_equal(lab[0], lab[1], N * sizeof(uint32_t));
    assert_memory_equal(&inertia[0], &inertia[1], sizeof(double));
    assert_int_equal(it[0], it[1]);
    for (int q = 0; q < 2; q++) {
      free(c[q]);
      free(lab[q]);
    }
  }
}

/* One fit's centroids, labels, inertia and iterations (scaled space). */
typedef struct long_fit {
  double *c;
  uint32_t *labels;
  double inertia;
  uint32_t n_iter;
} long_fit;

static void long_fit_run(const double *x, const double *w, size_t n, size_t d, size_t k,
                         int algo, uint64_t seed, long_fit *r) {
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)k), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algo), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, LP_KMEANS_INIT_RANDOM), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, (int64_t)seed), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 2), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_MAX_ITER, 400), LP_OK);
  assert_int_equal(lp_kmeans_set_double(h, LP_KMEANS_TOL, 0.0), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, n, d, w), LP_OK);
  assert_int_equal(km_check(h), LP_OK);
  r->c = malloc(k * d * sizeof(double));
  r->labels = malloc(n * sizeof(uint32_t));
  assert_non_null(r->c);
  assert_non_null(r->labels);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, r->c, k * d), LP_OK);
  size_t needed = 0;
  assert_int_equal(lp_kmeans_labels(h, r->labels, n, &needed), LP_OK);
  assert_int_equal(needed, n);
  r->inertia = lp_kmeans_inertia(h);
  r->n_iter = lp_kmeans_n_iter(h);
  lp_kmeans_free(h);
}

/* Yinyang keeps its bounds relative to running totals of the moves and
 * adds, per pass, only the rows of the clusters that changed, from the
 * checkpoint before their first change (sums.c): long runs (tolerance 0,
 * up to 400 iterations, so a long tail where few rows move) over many
 * row blocks, on overlapping blobs, with weights, on values near the
 * magnitude limit and near zero (the totals' rounding), still give
 * Lloyd's bits. */
static void yinyang_long_tail_equals_lloyd(void **state) {
  (void)state;
  enum { N = 9000 };
  static double x[N * 3], w[N];
  static const double scales[] = {1.0, 1e95, 1e-95};
  for (size_t c = 0; c < 6; c++) {
    const size_t d = 1 + c % 3, k = c % 2 ? 24 : 45;
    km_make_blobs(x, N, d, 9, c + 900, 3.0);
    for (size_t i = 0; i < N * d; i++) x[i] *= scales[c % 3];
    for (size_t i = 0; i < N; i++) w[i] = 1.0 + (double)((i * 13 + c) % 7) * 0.125;
    size_t rows, blocks;
    km_sums_plan(N, k, d, &rows, &blocks);
    assert_true(blocks >= 2); /* the checkpoints are used */
    long_fit a, b;
    long_fit_run(x, c % 2 ? w : NULL, N, d, k, LP_KMEANS_ALGO_LLOYD, c, &a);
    long_fit_run(x, c % 2 ? w : NULL, N, d, k, LP_KMEANS_ALGO_YINYANG, c, &b);
    assert_memory_equal(a.c, b.c, k * d * sizeof(double));
    assert_memory_equal(a.labels, b.labels, N * sizeof(uint32_t));
    assert_memory_equal(&a.inertia, &b.inertia, sizeof(double));
    assert_int_equal(a.n_iter, b.n_iter);
    assert_true(a.n_iter > 10);
    free(a.c);
    free(a.labels);
    free(b.c);
    free(b.labels);
  }
}

/* The checkpoint plan: blocks cover the rows, the memory stays within
 * max(n d / 4, 2^16) values, and no checkpoints when two blocks would not
 * fit. */
static void sums_plan_bounds(void **state) {
  (void)state;
  static const size_t cases[][3] = {{1, 1, 1},       {300, 8, 2},     {3000, 250, 4},
                                    {400000, 32, 8}, {100000, 64, 32}, {50, 1000, 1},
                                    {1000000, 100000, 2}};
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++) {
    const size_t n = cases[i][0], k = cases[i][1], d = cases[i][2];
    size_t rows = 0, blocks = 0;
    km_sums_plan(n, k, d, &rows, &blocks);
    assert_true(rows >= 16);
    if (blocks == 0) continue;
    assert_true(blocks >= 2);
    assert_true(blocks * rows >= n);
    assert_true((blocks - 1) * rows < n);
    size_t budget = n / 4 * d > ((size_t)1 << 16) ? n / 4 * d : (size_t)1 << 16;
    assert_true(blocks * k * (d + 2) <= budget);
  }
  size_t rows = 0, blocks = 1;
  km_sums_plan(400000, 32, 8, &rows, &blocks);
  assert_int_equal(rows, 2048);
  assert_int_equal(blocks, 196);
  km_sums_plan(1000000, 100000, 2, &rows, &blocks);
  assert_int_equal(blocks, 0); /* 2 x 100000 x 4 values > 10^6 x 2 / 4 */
}

/* `auto` follows the documented rule (Hamerly for d <= 4 and k d <= 128,
 * else Yinyang), and gives Lloyd's bits whatever it picks. */
static void auto_follows_the_shape_rule(void **state) {
  (void)state;
  static double x[1200 * 6];
  static fit_result a, b;
  static const struct {
    size_t d, k;
    uint32_t want;
  } cases[] = {{2, 8, LP_KMEANS_ALGO_HAMERLY},  {4, 32, LP_KMEANS_ALGO_HAMERLY},
               {4, 33, LP_KMEANS_ALGO_YINYANG},  {2, 64, LP_KMEANS_ALGO_HAMERLY},
               {2, 65, LP_KMEANS_ALGO_YINYANG},  {5, 8, LP_KMEANS_ALGO_YINYANG},
               {1, 128, LP_KMEANS_ALGO_HAMERLY}, {6, 1, LP_KMEANS_ALGO_YINYANG}};
  for (size_t c = 0; c < LP_ARRAY_LEN(cases); c++) {
    const size_t d = cases[c].d, k = cases[c].k, n = 1200;
    km_make_blobs(x, n, d, 5, c + 70, 15.0);
    lp_kmeans *h = new_km();
    assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)k), LP_OK);
    assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 1), LP_OK);
    assert_int_equal(lp_kmeans_fit(h, x, n, d, NULL), LP_OK);
    assert_int_equal(lp_kmeans_algorithm_used(h), cases[c].want);
    lp_kmeans_free(h);
    if (k * d <= LP_ARRAY_LEN(a.c)) {
      fit_into(x, n, d, k, LP_KMEANS_ALGO_AUTO, 0, c, 1, &a);
      fit_into(x, n, d, k, LP_KMEANS_ALGO_LLOYD, 0, c, 1, &b);
      assert_memory_equal(&a, &b, sizeof a);
    }
  }
}

static void runs_are_deterministic(void **state) {
  (void)state;
  static double x[1500 * 3];
  static fit_result a, b;
  km_make_blobs(x, 1500, 3, 6, 42, 30.0);
  for (int algo = 0; algo <= 4; algo++) {
    fit_into(x, 1500, 3, 6, algo, 0, 7, 3, &a);
    fit_into(x, 1500, 3, 6, algo, 0, 7, 3, &b);
    assert_memory_equal(&a, &b, sizeof a);
  }
  /* Another seed gives another start (and here another result). */
  fit_into(x, 1500, 3, 6, LP_KMEANS_ALGO_LLOYD, 1, 8, 1, &b);
  fit_into(x, 1500, 3, 6, LP_KMEANS_ALGO_LLOYD, 1, 9, 1, &a);
  assert_true(memcmp(a.c, b.c, sizeof a.c) != 0 || a.inertia == b.inertia);
}

static void restarts_keep_the_lowest_inertia(void **state) {
  (void)state;
  static double x[1200 * 2];
  static fit_result one, many;
  km_make_blobs(x, 1200, 2, 9, 5, 20.0);
  double best = HUGE_VAL;
  /* The restarts draw from one stream, so restart r equals no single-seed
   * fit; the winner is at least as good as the first restart. */
  fit_into(x, 1200, 2, 9, LP_KMEANS_ALGO_LLOYD, LP_KMEANS_INIT_RANDOM, 3, 1, &one);
  fit_into(x, 1200, 2, 9, LP_KMEANS_ALGO_LLOYD, LP_KMEANS_INIT_RANDOM, 3, 6, &many);
  best = one.inertia;
  assert_true(many.inertia <= best);
}

static void minibatch_converges_near_lloyd(void **state) {
  (void)state;
  static double x[2000 * 2];
  static fit_result exact, mb;
  km_make_blobs(x, 2000, 2, 4, 11, 6.0);
  fit_into(x, 2000, 2, 4, LP_KMEANS_ALGO_LLOYD, 0, 1, 1, &exact);
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 4), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, LP_KMEANS_ALGO_MINIBATCH), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, 1), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_BATCH_SIZE, 100), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 2000, 2, NULL), LP_OK);
  assert_int_equal(lp_kmeans_algorithm_used(h), LP_KMEANS_ALGO_MINIBATCH);
  /* Well-separated blobs: mini-batch lands within 5% of Lloyd's inertia. */
  assert_true(lp_kmeans_inertia(h) <= exact.inertia * 1.05);
  lp_kmeans_free(h);
  fit_into(x, 2000, 2, 4, LP_KMEANS_ALGO_MINIBATCH, 0, 1, 1, &mb);
  assert_true(mb.n_iter >= 1);
}

/* z-score of {1, 2, 3, 4}: mean 2.5, population sd sqrt(1.25), so 1 maps
 * to -1.5 / sqrt(1.25) = -1.3416407864998738 (Python). min-max of
 * {-2, 0, 6}: 0 -> 0.25. log1p: math.log1p(1) = 0.6931471805599453,
 * math.log1p(1e-10) = 9.9999999995e-11, math.log1p(1000) = 6.90875477931522,
 * math.log1p(-0.5) = -0.6931471805599453 (Python 3.11). */
static void scaling_is_learnt_and_applied(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  const double x[12] = {1, -2, 1, 2, 0, 1e-10, 3, 6, 1000, 4, 6, -0.5};
  const uint32_t scales[3] = {LP_KMEANS_SCALE_ZSCORE, LP_KMEANS_SCALE_MINMAX, LP_KMEANS_SCALE_LOG1P};
  assert_int_equal(lp_kmeans_set_column_scales(h, scales, 3), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 4, 3, NULL), LP_OK);
  double out[12];
  assert_int_equal(lp_kmeans_transform(h, x, 4, 3, out), LP_OK);
  assert_close(out[0], -1.3416407864998738, 1e-15);
  assert_close(out[1], 0.0, 0.0);
  assert_close(out[2], 0.6931471805599453, 2e-16);
  assert_close(out[4], 0.25, 0.0);
  assert_close(out[5], 9.9999999995e-11, 1e-16);
  assert_close(out[8], 6.90875477931522, 2e-16);
  assert_close(out[11], -0.6931471805599453, 2e-16);
  /* ORIGINAL undoes the scaling. */
  double cs[6], co[6];
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, cs, 6), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_ORIGINAL, co, 6), LP_OK);
  for (int j = 0; j < 2; j++) {
    double back[3];
    assert_int_equal(lp_kmeans_transform(h, co + j * 3, 1, 3, back), LP_OK);
    for (int t = 0; t < 3; t++) assert_close(back[t], cs[j * 3 + t], 1e-12);
  }
  /* Out of domain at predict time. */
  const double bad[3] = {1, 1, -1};
  uint32_t label = 77;
  assert_int_equal(lp_kmeans_predict(h, bad, 1, 3, &label, NULL), LP_EINVAL);
  assert_int_equal(label, 77); /* nothing written */
  const double good_then_bad[6] = {1, 1, 1, 1, 1, -1};
  uint32_t two[2] = {77, 77};
  assert_int_equal(lp_kmeans_predict(h, good_then_bad, 2, 3, two, NULL), LP_EINVAL);
  assert_int_equal(two[0], 77);
  assert_int_equal(two[1], 77);
  assert_int_equal(lp_kmeans_transform(h, bad, 1, 3, out), LP_EINVAL);
  assert_int_equal(lp_kmeans_transform(NULL, bad, 1, 3, out), LP_EINVAL);
  assert_int_equal(lp_kmeans_transform(h, bad, 1, 2, out), LP_EINVAL);
  /* The whole-matrix option replaces per-column choices. */
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, LP_KMEANS_SCALE_ZSCORE), LP_OK);
  const double flat[4] = {1, 5, 2, 5};
  assert_int_equal(lp_kmeans_fit(h, flat, 2, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "column 1"));
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, LP_KMEANS_SCALE_MINMAX), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, flat, 2, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, LP_KMEANS_SCALE_LOG1P), LP_OK);
  const double neg[4] = {1, -1, 2, 5};
  assert_int_equal(lp_kmeans_fit(h, neg, 2, 2, NULL), LP_EINVAL);
  /* The failed fits kept the first model. */
  assert_int_equal(lp_kmeans_dim(h), 3);
  assert_int_equal(lp_kmeans_set_column_scales(h, scales, 3), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, flat, 2, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "column scales"));
  lp_kmeans_free(h);
}

static void bad_input_is_rejected(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  double x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(NULL, x, 4, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_fit(h, NULL, 4, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_fit_f32(h, NULL, 4, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_fit(h, x, 4, 0, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "d:"));
  assert_int_equal(lp_kmeans_fit(h, x, 0, 2, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_fit(h, x, 1, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "fewer than k"));
  assert_int_equal(lp_kmeans_fit(h, x, SIZE_MAX / 4, 4, NULL), LP_ELIMIT);
  x[5] = NAN;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "row 2 column 1"));
  x[5] = INFINITY;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, NULL), LP_EINVAL);
  x[5] = 1e200;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, NULL), LP_EINVAL);
  x[5] = 5;
  assert_int_equal(km_check(h), LP_OK);
  double w[4] = {1, 0, 1, 1};
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, w), LP_EINVAL);
  w[1] = NAN;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, w), LP_EINVAL);
  w[1] = -1;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, w), LP_EINVAL);
  /* A weight so large that the inertia overflows (it made a model with an
   * infinite inertia that km_check rejects): above LP_KMEANS_MAX_WEIGHT. */
  w[1] = 1e300;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, w), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "weights[1]"));
  w[1] = LP_KMEANS_MAX_WEIGHT;
  x[5] = 1e99;
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, w), LP_OK);
  assert_int_equal(km_check(h), LP_OK);
  assert_true(isfinite(lp_kmeans_inertia(h)));
  x[5] = 5;
  /* Huge k: only as many clusters as rows. */
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, LP_KMEANS_MAX_K), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, NULL), LP_EINVAL);
  /* Given init of another shape. */
  const double c[2] = {0, 1};
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, 1, 2), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 4, 2, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "init"));
  assert_int_equal(lp_kmeans_set_init_centroids(h, c, 2, 1), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SCALE, LP_KMEANS_SCALE_LOG1P), LP_OK);
  const double c_bad[2] = {-3, 1};
  assert_int_equal(lp_kmeans_set_init_centroids(h, c_bad, 2, 1), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 8, 1, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "init centroid 0"));
  /* The failed fits kept the one model that was fitted (k = 2). */
  assert_int_equal(lp_kmeans_k(h), 2);
  assert_int_equal(km_check(h), LP_OK);
  lp_kmeans_free(h);
}

static void predict_and_queries(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  uint32_t labels[10];
  double dist2[10], c[6];
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 10, 2, labels, NULL), LP_EMISUSE);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c, 6), LP_EMISUSE);
  assert_int_equal(lp_kmeans_set_init_centroids(h, km_m_init, 3, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, km_m_points, 10, 2, NULL), LP_OK);
  assert_int_equal(lp_kmeans_k(h), 3);
  assert_int_equal(lp_kmeans_dim(h), 2);
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 10, 2, labels, dist2), LP_OK);
  assert_memory_equal(labels, km_m_labels, sizeof labels);
  double total = 0;
  for (int i = 0; i < 10; i++) total += dist2[i];
  assert_close(total, KM_M_INERTIA, 1e-12);
  assert_int_equal(lp_kmeans_predict(NULL, km_m_points, 10, 2, labels, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_predict(h, NULL, 10, 2, labels, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 10, 2, NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 10, 3, labels, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 0, 2, labels, NULL), LP_OK);
  const double nan_row[2] = {NAN, 0};
  assert_int_equal(lp_kmeans_predict(h, nan_row, 1, 2, labels, NULL), LP_EINVAL);
  assert_int_equal(km_test_centroids(NULL, LP_KMEANS_SPACE_SCALED, c, 6), LP_EINVAL);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, c, 5), LP_EBUFSIZE);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, NULL, 6), LP_EINVAL);
  assert_int_equal(km_test_centroids(h, 7u, c, 6), LP_EINVAL);
  /* Wide rows take the no-buffer path; it must agree with the fit. */
  static double wide[40 * 70];
  km_make_blobs(wide, 40, 70, 4, 3, 5.0);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 4), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_INIT, LP_KMEANS_INIT_KMEANSPP), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, wide, 40, 70, NULL), LP_OK);
  uint32_t wl[40];
  assert_int_equal(lp_kmeans_predict(h, wide, 40, 70, wl, NULL), LP_OK);
  assert_memory_equal(wl, km_test_labels(h, NULL), sizeof wl);
  lp_kmeans_free(h);
}

static void float_input_matches_double(void **state) {
  (void)state;
  float xf[20];
  for (int i = 0; i < 20; i++) xf[i] = (float)km_m_points[i];
  /* 1.8 and 0.6 are not floats: compare with the doubles of the floats. */
  double xd[20];
  for (int i = 0; i < 20; i++) xd[i] = (double)xf[i];
  lp_kmeans *a = new_km(), *b = new_km();
  assert_int_equal(lp_kmeans_set_int(a, LP_KMEANS_K, 3), LP_OK);
  assert_int_equal(lp_kmeans_set_int(b, LP_KMEANS_K, 3), LP_OK);
  assert_int_equal(lp_kmeans_set_int(a, LP_KMEANS_SCALE, LP_KMEANS_SCALE_ZSCORE), LP_OK);
  assert_int_equal(lp_kmeans_set_int(b, LP_KMEANS_SCALE, LP_KMEANS_SCALE_ZSCORE), LP_OK);
  assert_int_equal(lp_kmeans_fit_f32(a, xf, 10, 2, NULL), LP_OK);
  assert_int_equal(lp_kmeans_fit(b, xd, 10, 2, NULL), LP_OK);
  double ca[6], cb[6];
  assert_int_equal(km_test_centroids(a, LP_KMEANS_SPACE_SCALED, ca, 6), LP_OK);
  assert_int_equal(km_test_centroids(b, LP_KMEANS_SPACE_SCALED, cb, 6), LP_OK);
  assert_memory_equal(ca, cb, sizeof ca);
  lp_kmeans_free(a);
  lp_kmeans_free(b);
}

/* ---- allocation failures: every flow, handle unchanged after a failure ---- */
typedef struct oom_ctx {
  int algo;
  int init;
  bool weighted;
  int exact; /* LP_KMEANS_EXACT_SUMS */
} oom_ctx;

static int fit_flow(const lp_allocator *alloc, void *ud) {
  const oom_ctx *ctx = ud;
  lp_kmeans *h;
  int rc = lp_kmeans_create(alloc, &h);
  if (rc != LP_OK) return rc;
  static double x[60 * 3];
  km_make_blobs(x, 60, 3, 4, 2, 10.0);
  const uint32_t scales[3] = {1, 2, 0};
  rc = lp_kmeans_set_column_scales(h, scales, 3);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_K, 4);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, ctx->algo);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 2);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_EXACT_SUMS, ctx->exact);
  if (rc == LP_OK) rc = lp_kmeans_fit(h, x, 20, 3, NULL); /* a first model */
  if (rc == LP_OK && ctx->init != LP_KMEANS_INIT_GIVEN)
    rc = lp_kmeans_set_int(h, LP_KMEANS_INIT, ctx->init);
  if (rc == LP_OK) {
    double before[12], after[12];
    assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, before, 12), LP_OK);
    double w[60];
    for (int i = 0; i < 60; i++) w[i] = 1.0 + (i % 3);
    if (ctx->init == LP_KMEANS_INIT_GIVEN) {
      rc = lp_kmeans_set_init_centroids(h, x, 4, 3);
    }
    if (rc == LP_OK) rc = lp_kmeans_fit(h, x, 60, 3, ctx->weighted ? w : NULL);
    assert_int_equal(km_check(h), LP_OK);
    if (rc != LP_OK) {
      assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_SCALED, after, 12), LP_OK);
      assert_memory_equal(before, after, sizeof before);
      size_t n;
      assert_non_null(km_test_labels(h, &n));
      assert_int_equal(n, 20);
    }
  }
  lp_kmeans_free(h);
  return rc;
}

/* Predict and transform allocate nothing: they work with an allocator that
 * fails every call. */
static void predict_needs_no_memory(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_kmeans *h;
  assert_int_equal(lp_kmeans_create(&ta.alloc, &h), LP_OK);
  assert_int_equal(lp_kmeans_set_init_centroids(h, km_m_init, 3, 2), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, km_m_points, 10, 2, NULL), LP_OK);
  lp_test_alloc_fail_at(&ta, 1, true);
  const size_t calls = ta.calls;
  uint32_t labels[10];
  double scaled[20], c[6];
  assert_int_equal(lp_kmeans_predict(h, km_m_points, 10, 2, labels, NULL), LP_OK);
  assert_memory_equal(labels, km_m_labels, sizeof labels);
  assert_int_equal(lp_kmeans_transform(h, km_m_points, 10, 2, scaled), LP_OK);
  assert_int_equal(km_test_centroids(h, LP_KMEANS_SPACE_ORIGINAL, c, 6), LP_OK);
  assert_int_equal(ta.calls, calls);
  lp_test_alloc_disarm(&ta);
  lp_kmeans_free(h);
  assert_int_equal(ta.live_blocks, 0);
}

static void fit_survives_every_allocation_failure(void **state) {
  (void)state;
  oom_ctx cases[] = {{1, 0, false, 0}, {2, 1, true, 0}, {3, 0, false, 0}, {2, 2, false, 0},
                     {1, 1, true, 1}, {2, 2, false, 1}, {4, 0, true, 0}, {4, 2, false, 1}};
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++)
    assert_true(lp_test_oom_sweep("kmeans fit", fit_flow, &cases[i]) >= 10u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_free_errmsg),
      cmocka_unit_test(options_validate),
      cmocka_unit_test(fit_hand_checked_1d),
      cmocka_unit_test(fit_matches_sklearn_lloyd),
      cmocka_unit_test(empty_clusters_relocate_deterministically),
      cmocka_unit_test(hamerly_equals_lloyd_bit_for_bit),
      cmocka_unit_test(hamerly_equals_lloyd_with_ties_and_weights),
      cmocka_unit_test(yinyang_many_groups_equal_lloyd),
      cmocka_unit_test(yinyang_long_tail_equals_lloyd),
      cmocka_unit_test(sums_plan_bounds),
      cmocka_unit_test(auto_follows_the_shape_rule),
      cmocka_unit_test(runs_are_deterministic),
      cmocka_unit_test(restarts_keep_the_lowest_inertia),
      cmocka_unit_test(minibatch_converges_near_lloyd),
      cmocka_unit_test(scaling_is_learnt_and_applied),
      cmocka_unit_test(bad_input_is_rejected),
      cmocka_unit_test(predict_and_queries),
      cmocka_unit_test(float_input_matches_double),
      cmocka_unit_test(predict_needs_no_memory),
      cmocka_unit_test(fit_survives_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
