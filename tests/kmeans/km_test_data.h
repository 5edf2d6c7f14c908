/*
 * Data shared by the k-means tests: a small hand-made set whose expected
 * results come from scikit-learn, and a deterministic generator of
 * clustered random data (its own LCG, so tests depend on nothing else).
 * SPDX-License-Identifier: MIT
 */
#ifndef KM_TEST_DATA_H
#define KM_TEST_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "libprofile.h"

/* Ten 2-D points in three loose groups (data set "M"). Expected values
 * were computed with scikit-learn 1.2.1 / NumPy 1.24.2 (Debian 12):
 *   X = np.array(KM_M_POINTS); L = KM_M_LABELS
 *   silhouette_score(X, L), davies_bouldin_score(X, L),
 *   calinski_harabasz_score(X, L), adjusted_rand_score(L, KM_M_OTHER)
 *   KMeans(3, init=KM_M_INIT, n_init=1, algorithm="lloyd").fit(X)
 *   ... .fit(X, sample_weight=KM_M_WEIGHTS) */
static const double km_m_points[20] = {1, 2,  1.5, 1.8, 5,  8, 8, 8, 1, 0.6,
                                       9, 11, 8,   2,   10, 2, 9, 3, 4, 7};
static const uint32_t km_m_labels[10] = {0, 0, 1, 1, 0, 1, 2, 2, 2, 1};
static const uint32_t km_m_other[10] = {0, 0, 1, 1, 1, 1, 2, 2, 0, 0};
static const double km_m_init[6] = {1, 1, 8, 9, 9, 2};
static const double km_m_weights[10] = {1, 2, 1, 1, 3, 1, 1, 2, 1, 1};
#define KM_M_SILHOUETTE 0.6668043562172791
#define KM_M_DAVIES_BOULDIN 0.4482888840228232
#define KM_M_CALINSKI_HARABASZ 23.64414609739826
#define KM_M_ARI 0.16974169741697417
static const double km_m_centers[6] = {1.166666666666667, 1.4666666666666668, 6.5, 8.5,
                                       9.0, 2.3333333333333335};
#define KM_M_INERTIA 29.979999999999997
static const double km_m_wcenters[6] = {1.166666666666667, 1.2333333333333338, 6.5, 8.5,
                                        9.25, 2.25};
#define KM_M_WINERTIA 32.266666666666666

/* Rows around `groups` centres spread over a cube, with uniform noise. */
static inline void km_make_blobs(double *x, size_t n, size_t d, size_t groups, uint64_t seed,
                                 double spread) {
  uint64_t s = seed * 2862933555777941757ull + 3037000493ull;
  for (size_t i = 0; i < n; i++) {
    size_t g = i % groups;
    for (size_t t = 0; t < d; t++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      double u = (double)(s >> 11) * 0x1p-53;
      double centre = (double)((g * 7919 + t * 104729) % 97);
      x[i * d + t] = centre + spread * (u - 0.5);
    }
  }
}


/* Helpers for the test programs (include after cmocka.h). */
static inline lp_kmeans *new_km(void) {
  lp_kmeans *h;
  assert_int_equal(lp_kmeans_create(NULL, &h), LP_OK);
  return h;
}

static inline void assert_close(double got, double want, double rel) {
  double tol = rel * (fabs(want) > 1.0 ? fabs(want) : 1.0);
  if (!(fabs(got - want) <= tol)) fail_msg("got %.17g, want %.17g", got, want);
}

/* The centroids through the buffer contract, for tests that only want them. */
static inline int km_test_centroids(const lp_kmeans *h, uint32_t space, double *out,
                                    size_t capacity) {
  size_t needed;
  return lp_kmeans_centroids(h, space, out, capacity, &needed);
}

/* The training labels copied into a per-file buffer (NULL when there are
 * none), for tests that only want to read them. */
static uint32_t km_test_label_buf[4096];
static inline const uint32_t *km_test_labels(const lp_kmeans *h, size_t *n) {
  size_t needed = 0;
  int rc = lp_kmeans_labels(h, km_test_label_buf, sizeof km_test_label_buf / sizeof km_test_label_buf[0], &needed);
  if (n != NULL) *n = rc == LP_OK ? needed : 0;
  return rc == LP_OK ? km_test_label_buf : NULL;
}

#endif /* KM_TEST_DATA_H */
