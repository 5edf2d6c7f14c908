/*
 * Tests for the quality metrics and the k-sweep of
 * include/libprofile/kmeans.h: values against scikit-learn (see
 * km_test_data.h for how they were obtained) and hand calculations, bad
 * input, and every allocation failure.
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
#include "kmeans/metrics.h"

static void metrics_match_sklearn(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  double v;
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, km_m_labels, 3, 0, 0, &v), LP_OK);
  assert_close(v, KM_M_SILHOUETTE, 1e-14);
  /* A sample as large as the data is the exact value. */
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, km_m_labels, 3, 10, 5, &v), LP_OK);
  assert_close(v, KM_M_SILHOUETTE, 1e-14);
  assert_int_equal(lp_kmeans_davies_bouldin(h, km_m_points, 10, 2, km_m_labels, 3, &v), LP_OK);
  assert_close(v, KM_M_DAVIES_BOULDIN, 1e-14);
  assert_int_equal(lp_kmeans_calinski_harabasz(h, km_m_points, 10, 2, km_m_labels, 3, &v), LP_OK);
  assert_close(v, KM_M_CALINSKI_HARABASZ, 1e-13);
  assert_int_equal(lp_kmeans_adjusted_rand(h, km_m_labels, km_m_other, 10, &v), LP_OK);
  assert_close(v, KM_M_ARI, 1e-15);
  /* Relabelling does not change the index; an empty extra label is ignored. */
  uint32_t shifted[10];
  for (int i = 0; i < 10; i++) shifted[i] = km_m_labels[i] == 0 ? 4 : km_m_labels[i];
  assert_int_equal(lp_kmeans_adjusted_rand(h, km_m_labels, shifted, 10, &v), LP_OK);
  assert_true(v == 1.0);
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, shifted, 5, 0, 0, &v), LP_OK);
  assert_close(v, KM_M_SILHOUETTE, 1e-14);
  assert_int_equal(lp_kmeans_davies_bouldin(h, km_m_points, 10, 2, shifted, 5, &v), LP_OK);
  assert_close(v, KM_M_DAVIES_BOULDIN, 1e-14);
  assert_int_equal(lp_kmeans_calinski_harabasz(h, km_m_points, 10, 2, shifted, 5, &v), LP_OK);
  assert_close(v, KM_M_CALINSKI_HARABASZ, 1e-13);
  assert_int_equal(lp_kmeans_adjusted_rand(h, NULL, NULL, 0, &v), LP_OK);
  assert_true(v == 1.0);
  lp_kmeans_free(h);
}

/* Hand-checked special cases of scikit-learn's definitions. */
static void metric_edge_cases(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  double v;
  /* Singleton clusters have silhouette 0: {0}, {1, 2}: row 0 -> 0; row 1:
   * a = 1, b = 1 -> 0; row 2: a = 1, b = 2 -> 1/2; mean 1/6 (scikit-learn
   * 1.2.1 agrees: 0.16666666666666666). */
  const double x[3] = {0, 1, 2};
  const uint32_t l[3] = {0, 1, 1};
  assert_int_equal(lp_kmeans_silhouette(h, x, 3, 1, l, 2, 0, 0, &v), LP_OK);
  assert_close(v, 0.5 / 3.0, 1e-15);
  /* CH with no within-cluster spread is 1. */
  const double y[4] = {0, 0, 5, 5};
  const uint32_t m[4] = {0, 0, 1, 1};
  assert_int_equal(lp_kmeans_calinski_harabasz(h, y, 4, 1, m, 2, &v), LP_OK);
  assert_true(v == 1.0);
  /* DB with zero intra-cluster distances is 0. */
  assert_int_equal(lp_kmeans_davies_bouldin(h, y, 4, 1, m, 2, &v), LP_OK);
  assert_true(v == 0.0);
  /* ARI of two crossed splits of four rows. Ordered-pair counts as
   * scikit-learn's pair_confusion_matrix: tp = 0, fp = fn = 4, tn = 4, so
   * 2(0 - 16) / ((4)(8) + (4)(8)) = -0.5 (scikit-learn 1.2.1: -0.5). */
  const uint32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
  assert_int_equal(lp_kmeans_adjusted_rand(h, a, b, 4, &v), LP_OK);
  assert_close(v, -0.5, 1e-15);
  lp_kmeans_free(h);
}

/* Hand-checked CI: A = {0, 10, 20}, B = {0, 1, 20} on a line. A -> B maps
 * to 0, 1, 20 (no orphan); B -> A maps to 0, 0, 20, so 10 is an orphan. */
static void centroid_index_counts_orphans(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  const double a[3] = {0, 10, 20}, b[3] = {0, 1, 20};
  uint32_t ci = 99;
  assert_int_equal(lp_kmeans_centroid_index(h, a, 3, b, 3, 1, &ci), LP_OK);
  assert_int_equal(ci, 1);
  assert_int_equal(lp_kmeans_centroid_index(h, a, 3, a, 3, 1, &ci), LP_OK);
  assert_int_equal(ci, 0);
  /* Different sizes: {0} against {0, 100}: 100 is an orphan. */
  assert_int_equal(lp_kmeans_centroid_index(h, a, 1, (const double[]){0, 100}, 2, 1, &ci), LP_OK);
  assert_int_equal(ci, 1);
  assert_int_equal(lp_kmeans_centroid_index(NULL, a, 3, b, 3, 1, &ci), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroid_index(h, NULL, 3, b, 3, 1, &ci), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroid_index(h, a, 0, b, 3, 1, &ci), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroid_index(h, a, 3, b, 3, 0, &ci), LP_EINVAL);
  assert_int_equal(lp_kmeans_centroid_index(h, a, 3, b, 3, SIZE_MAX, &ci), LP_ELIMIT);
  lp_kmeans_free(h);
}

static void metrics_reject_bad_input(void **state) {
  (void)state;
  lp_kmeans *h = new_km();
  double v;
  const uint32_t one[10] = {0};
  uint32_t big[10];
  memcpy(big, km_m_labels, sizeof big);
  big[3] = 3;
  const double nanx[2] = {NAN, 1};
  const uint32_t two[2] = {0, 1};
  assert_int_equal(lp_kmeans_silhouette(NULL, km_m_points, 10, 2, km_m_labels, 3, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, NULL, 10, 2, km_m_labels, 3, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, km_m_labels, 3, 0, 0, NULL), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 0, 2, km_m_labels, 3, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, big, 3, 0, 0, &v), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "labels[3]"));
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 10, 2, one, 3, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, nanx, 1, 2, two, 2, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, SIZE_MAX, 2, km_m_labels, 3, 0, 0, &v), LP_EINVAL);
#if SIZE_MAX > UINT32_MAX
  /* One row above the limit; only a 64-bit size_t can say it ((size_t)
   * UINT32_MAX + 1 is 0 where size_t has 32 bits). */
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, (size_t)LP_KMEANS_MAX_ROWS + 1, 2, km_m_labels, 3, 0, 0, &v), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "2^32"));
#endif
  /* n labels in n rows: every cluster a singleton, which is not allowed. */
  assert_int_equal(lp_kmeans_silhouette(h, km_m_points, 2, 2, two, 2, 0, 0, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_davies_bouldin(NULL, km_m_points, 10, 2, km_m_labels, 3, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_davies_bouldin(h, km_m_points, 10, 2, one, 3, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_davies_bouldin(h, km_m_points, 10, SIZE_MAX / 2, km_m_labels, 3, &v), LP_EINVAL);
  /* k x d does not fit: k is only a label bound, so this is a size limit. */
  assert_int_equal(lp_kmeans_davies_bouldin(h, km_m_points, 10, 2, km_m_labels, SIZE_MAX / 2, &v), LP_ELIMIT);
  assert_int_equal(lp_kmeans_calinski_harabasz(h, km_m_points, 10, 2, km_m_labels, SIZE_MAX / 2, &v), LP_ELIMIT);
  assert_int_equal(lp_kmeans_calinski_harabasz(NULL, km_m_points, 10, 2, km_m_labels, 3, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_calinski_harabasz(h, km_m_points, 10, 2, big, 3, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_adjusted_rand(NULL, one, one, 10, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_adjusted_rand(h, NULL, one, 10, &v), LP_EINVAL);
  assert_int_equal(lp_kmeans_adjusted_rand(h, one, one, 10, NULL), LP_EINVAL);
  lp_kmeans_free(h);
}

static void sampled_silhouette_is_seeded(void **state) {
  (void)state;
  static double x[3000 * 2];
  static uint32_t labels[3000];
  km_make_blobs(x, 3000, 2, 5, 4, 12.0);
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, 5), LP_OK);
  assert_int_equal(lp_kmeans_fit(h, x, 3000, 2, NULL), LP_OK);
  memcpy(labels, km_test_labels(h, NULL), sizeof labels);
  double exact, s1, s2, s3;
  assert_int_equal(lp_kmeans_silhouette(h, x, 3000, 2, labels, 5, 0, 0, &exact), LP_OK);
  assert_int_equal(lp_kmeans_silhouette(h, x, 3000, 2, labels, 5, 500, 1, &s1), LP_OK);
  assert_int_equal(lp_kmeans_silhouette(h, x, 3000, 2, labels, 5, 500, 1, &s2), LP_OK);
  assert_int_equal(lp_kmeans_silhouette(h, x, 3000, 2, labels, 5, 500, 2, &s3), LP_OK);
  assert_memory_equal(&s1, &s2, sizeof s1);
  assert_true(s1 != s3);
  assert_true(fabs(s1 - exact) < 0.05);
  lp_kmeans_free(h);
}

/* The silhouette takes sums of distances for four rows at once over the
 * rows grouped by cluster; the result must be the bits of the plain
 * definition: for each row in order, per-cluster sums of sqrt(dist2) over
 * every row in row order, then (b - a) / max(a, b) summed in row order.
 * Odd row counts (a partial last block), one to seven columns, empty
 * clusters, singletons and duplicate rows. */
static double plain_silhouette(const double *x, size_t n, size_t d, const uint32_t *labels,
                               size_t k) {
  double *dsum = calloc(k, sizeof(double));
  size_t *count = calloc(k, sizeof(size_t));
  assert_non_null(dsum);
  assert_non_null(count);
  for (size_t i = 0; i < n; i++) count[labels[i]]++;
  double total = 0.0;
  for (size_t i = 0; i < n; i++) {
    memset(dsum, 0, k * sizeof(double));
    for (size_t j = 0; j < n; j++) {
      double s = 0.0;
      for (size_t t = 0; t < d; t++) {
        double u = x[i * d + t] - x[j * d + t];
        s += u * u;
      }
      dsum[labels[j]] += sqrt(s);
    }
    uint32_t own = labels[i];
    if (count[own] <= 1) continue;
    double a = dsum[own] / (double)(count[own] - 1), b = HUGE_VAL;
    for (size_t c = 0; c < k; c++)
      if (c != own && count[c] != 0 && dsum[c] / (double)count[c] < b)
        b = dsum[c] / (double)count[c];
    double den = a > b ? a : b;
    if (den > 0.0) total += (b - a) / den;
  }
  free(dsum);
  free(count);
  return total / (double)n;
}

static void silhouette_equals_the_plain_loop(void **state) {
  (void)state;
  static double x[701 * 7];
  static uint32_t labels[701];
  lp_kmeans *h = new_km();
  for (size_t seed = 0; seed < 14; seed++) {
    size_t n = 401 + seed * 21 + seed % 4, d = 1 + seed % 7, k = 2 + seed % 9;
    km_make_blobs(x, n, d, 3 + seed % 5, seed + 50, 9.0);
    if (seed % 3 == 0)
      for (size_t i = 0; i < n * d; i++) x[i] = floor(x[i] / 5.0); /* duplicates */
    for (size_t i = 0; i < n; i++) labels[i] = (uint32_t)((i * 7 + i / 3 + seed) % k);
    if (k > 3) {
      for (size_t i = 0; i < n; i++)
        if (labels[i] == 1) labels[i] = 0; /* cluster 1 empty */
      labels[n / 2] = 1;                   /* ... then a singleton */
    }
    double got, want = plain_silhouette(x, n, d, labels, k + 2); /* two more, empty */
    assert_int_equal(lp_kmeans_silhouette(h, x, n, d, labels, k + 2, 0, 0, &got), LP_OK);
    assert_memory_equal(&got, &want, sizeof got);
    /* Both passes (the public call takes the symmetric one here). */
    /* Both passes, each with the run-time chosen sums (AVX2 where the
     * CPU has it) and with the SSE2/scalar ones (KM_SIL_NARROW). */
    for (int narrow = 0; narrow <= KM_SIL_NARROW; narrow += KM_SIL_NARROW)
      for (int mode = KM_SIL_BY_ROWS; mode <= KM_SIL_SYMMETRIC; mode++) {
        got = -1.0;
        assert_int_equal(km_silhouette(h, x, n, d, labels, k + 2, 0, 0, mode | narrow, &got),
                         LP_OK);
        assert_memory_equal(&got, &want, sizeof got);
      }
    /* A sample: both passes and both sums agree bit for bit. */
    double s1 = -1.0, s2 = -2.0, s3 = -3.0, s4 = -4.0;
    assert_int_equal(km_silhouette(h, x, n, d, labels, k + 2, n / 3, seed, KM_SIL_BY_ROWS, &s1),
                     LP_OK);
    assert_int_equal(
        km_silhouette(h, x, n, d, labels, k + 2, n / 3, seed, KM_SIL_SYMMETRIC, &s2), LP_OK);
    assert_int_equal(km_silhouette(h, x, n, d, labels, k + 2, n / 3, seed,
                                   KM_SIL_BY_ROWS | KM_SIL_NARROW, &s3),
                     LP_OK);
    assert_int_equal(km_silhouette(h, x, n, d, labels, k + 2, n / 3, seed,
                                   KM_SIL_SYMMETRIC | KM_SIL_NARROW, &s4),
                     LP_OK);
    assert_memory_equal(&s1, &s2, sizeof s1);
    assert_memory_equal(&s1, &s3, sizeof s1);
    assert_memory_equal(&s1, &s4, sizeof s1);
  }
  lp_kmeans_free(h);
}

static void sweep_reports_each_k(void **state) {
  (void)state;
  static double x[600 * 2];
  km_make_blobs(x, 600, 2, 4, 9, 10.0);
  lp_kmeans *h = new_km();
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SEED, 3), LP_OK);
  assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_SILHOUETTE_SAMPLE, 200), LP_OK);
  double table[5 * LP_KMEANS_SWEEP_COLUMNS];
  size_t needed = 0;
  /* The size query fits nothing and needs no data. */
  assert_int_equal(lp_kmeans_sweep(h, NULL, 0, 0, NULL, 1, 5, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 30);
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, 5, table, LP_ARRAY_LEN(table), &needed), LP_OK);
  assert_int_equal(needed, 30);
  assert_int_equal(lp_kmeans_k(h), 0); /* the handle's model is untouched */
  for (size_t k = 1; k <= 5; k++) {
    const double *row = table + (k - 1) * LP_KMEANS_SWEEP_COLUMNS;
    assert_true(row[LP_KMEANS_SWEEP_K] == (double)k);
    /* The same fit on its own gives the same inertia. */
    assert_int_equal(lp_kmeans_set_int(h, LP_KMEANS_K, (int64_t)k), LP_OK);
    assert_int_equal(lp_kmeans_fit(h, x, 600, 2, NULL), LP_OK);
    assert_memory_equal(&row[LP_KMEANS_SWEEP_INERTIA], &(double){lp_kmeans_inertia(h)}, sizeof(double));
    assert_true(row[LP_KMEANS_SWEEP_N_ITER] == (double)lp_kmeans_n_iter(h));
    if (k == 1) {
      assert_true(isnan(row[LP_KMEANS_SWEEP_SILHOUETTE]));
      continue;
    }
    double ch;
    assert_int_equal(lp_kmeans_calinski_harabasz(h, x, 600, 2, km_test_labels(h, NULL), k, &ch), LP_OK);
    assert_memory_equal(&row[LP_KMEANS_SWEEP_CALINSKI_HARABASZ], &ch, sizeof ch);
    assert_true(row[LP_KMEANS_SWEEP_SILHOUETTE] > -1.0 && row[LP_KMEANS_SWEEP_SILHOUETTE] <= 1.0);
  }
  /* Four blobs: the best silhouette is at k = 4. */
  size_t best = 2;
  for (size_t k = 3; k <= 5; k++)
    if (table[(k - 1) * LP_KMEANS_SWEEP_COLUMNS + LP_KMEANS_SWEEP_SILHOUETTE] >
        table[(best - 1) * LP_KMEANS_SWEEP_COLUMNS + LP_KMEANS_SWEEP_SILHOUETTE])
      best = k;
  assert_int_equal(best, 4);
  assert_int_equal(lp_kmeans_sweep(NULL, x, 600, 2, NULL, 1, 5, table, 30, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, 5, table, 30, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "needed"));
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 0, 5, table, 30, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "kmin"));
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 3, 2, table, 30, &needed), LP_EINVAL);
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, (size_t)LP_KMEANS_MAX_K + 1, table, 30, &needed), LP_EINVAL);
  /* Too small: LP_EBUFSIZE, the size, and not one value written. */
  for (size_t i = 0; i < LP_ARRAY_LEN(table); i++) table[i] = -7.0;
  needed = 0;
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, 5, table, 29, &needed), LP_EBUFSIZE);
  assert_int_equal(needed, 30);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "capacity 29"));
  for (size_t i = 0; i < LP_ARRAY_LEN(table); i++) assert_true(table[i] == -7.0);
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, 5, NULL, 30, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "NULL with a capacity"));
  assert_int_equal(lp_kmeans_sweep(h, NULL, 600, 2, NULL, 1, 5, table, 30, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "x: NULL"));
  assert_int_equal(lp_kmeans_sweep(h, x, 3, 2, NULL, 1, 5, table, 30, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "fewer than k"));
  assert_int_equal(lp_kmeans_set_init_centroids(h, x, 2, 2), LP_OK);
  assert_int_equal(lp_kmeans_sweep(h, x, 600, 2, NULL, 1, 5, table, 30, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_kmeans_errmsg(h), "given centroids"));
  lp_kmeans_free(h);
}

typedef int (*metric_call)(lp_kmeans *h);
static double metric_x[80 * 2];
static uint32_t metric_labels[80];

static int call_silhouette(lp_kmeans *h) {
  double v;
  int rc = lp_kmeans_silhouette(h, metric_x, 80, 2, metric_labels, 4, 0, 0, &v);
  if (rc == LP_OK) rc = lp_kmeans_silhouette(h, metric_x, 80, 2, metric_labels, 4, 30, 1, &v);
  return rc;
}
static int call_db(lp_kmeans *h) {
  double v;
  return lp_kmeans_davies_bouldin(h, metric_x, 80, 2, metric_labels, 4, &v);
}
static int call_ch(lp_kmeans *h) {
  double v;
  return lp_kmeans_calinski_harabasz(h, metric_x, 80, 2, metric_labels, 4, &v);
}
static int call_ari(lp_kmeans *h) {
  double v;
  return lp_kmeans_adjusted_rand(h, metric_labels, metric_labels + 10, 70, &v);
}
static int call_ci(lp_kmeans *h) {
  uint32_t v;
  return lp_kmeans_centroid_index(h, metric_x, 10, metric_x + 20, 12, 2, &v);
}
static int call_sweep(lp_kmeans *h) {
  double table[4 * LP_KMEANS_SWEEP_COLUMNS];
  size_t needed;
  return lp_kmeans_sweep(h, metric_x, 80, 2, NULL, 1, 4, table, LP_ARRAY_LEN(table), &needed);
}

static int metric_flow(const lp_allocator *alloc, void *ud) {
  metric_call call = *(metric_call *)ud;
  lp_kmeans *h;
  int rc = lp_kmeans_create(alloc, &h);
  if (rc != LP_OK) return rc;
  rc = call(h);
  if (rc != LP_OK) assert_string_not_equal(lp_kmeans_errmsg(h), "no error");
  assert_int_equal(km_check(h), LP_OK);
  lp_kmeans_free(h);
  return rc;
}

static void metrics_survive_every_allocation_failure(void **state) {
  (void)state;
  km_make_blobs(metric_x, 80, 2, 4, 1, 10.0);
  for (int i = 0; i < 80; i++) metric_labels[i] = (uint32_t)(i % 4);
  metric_call calls[] = {call_silhouette, call_db, call_ch, call_ari, call_ci, call_sweep};
  for (size_t i = 0; i < LP_ARRAY_LEN(calls); i++)
    assert_true(lp_test_oom_sweep("kmeans metric", metric_flow, &calls[i]) >= 2u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(metrics_match_sklearn),
      cmocka_unit_test(metric_edge_cases),
      cmocka_unit_test(centroid_index_counts_orphans),
      cmocka_unit_test(metrics_reject_bad_input),
      cmocka_unit_test(sampled_silhouette_is_seeded),
      cmocka_unit_test(silhouette_equals_the_plain_loop),
      cmocka_unit_test(sweep_reports_each_k),
      cmocka_unit_test(metrics_survive_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
