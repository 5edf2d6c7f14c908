/*
 * Internal quality metrics on labelled data: silhouette (exact or on a
 * seeded sample), Davies-Bouldin and Calinski-Harabasz, with
 * scikit-learn's definitions. Every sum runs in row order.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/kmeans_internal.h"
#include "kmeans/metrics.h"

int km_check_labels(lp_error *err, const uint32_t *labels, size_t n, size_t k) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= k)
      return lp_error_set(err, LP_EINVAL, "labels[%zu]: %u is not below k = %zu", i,
                          labels[i], k);
  return LP_OK;
}

static int km_metric_args(const lp_kmeans *h, const char *fn, const double *x, size_t n,
                          size_t d, const uint32_t *labels, size_t k, const double *out) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, fn);
  if (x == NULL || labels == NULL || out == NULL)
    return lp_error_set(KM_ERR(h), LP_EINVAL, "x, labels or out: NULL");
  if (n == 0 || d == 0 || k == 0) return lp_error_set(KM_ERR(h), LP_EINVAL, "n, d or k: zero");
  if (km_above(n, LP_KMEANS_MAX_ROWS))
    return lp_error_set(KM_ERR(h), LP_EINVAL, "n: %zu rows is above 2^32 - 1", n);
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(KM_ERR(h), LP_EINVAL, "n x d overflows");
  for (size_t i = 0; i < nd; i++)
    if (!isfinite(x[i]))
      return lp_error_set(KM_ERR(h), LP_EINVAL, "x[%zu]: not finite", i);
  return km_check_labels(KM_ERR(h), labels, n, k);
}

/* Non-empty clusters among the given rows must number 2 .. rows - 1. */
static int km_count_clusters(const lp_kmeans *h, const uint32_t *labels, const uint32_t *rows,
                             size_t m, uint64_t *count, size_t k) {
  memset(count, 0, k * sizeof(uint64_t));
  for (size_t a = 0; a < m; a++) count[labels[rows != NULL ? rows[a] : a]]++;
  size_t present = 0;
  for (size_t j = 0; j < k; j++) present += count[j] != 0;
  if (present < 2 || present > m - 1)
    return lp_error_set(KM_ERR(h), LP_EINVAL,
                        "labels: %zu non-empty clusters among %zu rows; need 2 to rows - 1",
                        present, m);
  return LP_OK;
}

int lp_kmeans_silhouette(const lp_kmeans *h, const double *x, size_t n, size_t d,
                         const uint32_t *labels, size_t k, size_t sample_size, uint64_t seed,
                         double *out) {
  int rc = km_metric_args(h, "lp_kmeans_silhouette", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  size_t m = sample_size == 0 || sample_size >= n ? n : sample_size;
  uint32_t *rows = NULL;
  uint64_t *count = NULL;
  double *dsum = NULL;
  if ((rc = lp_mem_alloc_array(&h->mem, k, sizeof(uint64_t), (void **)&count)) != LP_OK ||
      (rc = lp_mem_alloc_array(&h->mem, k, sizeof(double), (void **)&dsum)) != LP_OK ||
      (m < n &&
       (rc = lp_mem_alloc_array(&h->mem, m, sizeof(uint32_t), (void **)&rows)) != LP_OK)) {
    rc = lp_error_set(KM_ERR(h), rc, "silhouette: out of memory");
    goto done;
  }
  if (rows != NULL) {
    /* Selection sampling: m distinct rows, in row order. */
    lp_rng rng;
    lp_rng_seed(&rng, seed);
    size_t got = 0;
    for (size_t i = 0; i < n && got < m; i++)
      if (lp_rng_below(&rng, (uint64_t)(n - i)) < (uint64_t)(m - got)) rows[got++] = (uint32_t)i;
  }
  rc = km_count_clusters(h, labels, rows, m, count, k);
  if (rc != LP_OK) goto done;
  double total = 0.0;
  for (size_t a = 0; a < m; a++) {
    size_t i = rows != NULL ? rows[a] : a;
    memset(dsum, 0, k * sizeof(double));
    for (size_t b = 0; b < m; b++) {
      size_t j = rows != NULL ? rows[b] : b;
      dsum[labels[j]] += sqrt(km_dist2(x + i * d, x + j * d, d));
    }
    uint32_t own = labels[i];
    if (count[own] <= 1) continue; /* a singleton's silhouette is 0 */
    double intra = dsum[own] / (double)(count[own] - 1), nearest = HUGE_VAL;
    for (size_t j = 0; j < k; j++) {
      if (j == own || count[j] == 0) continue;
      double v = dsum[j] / (double)count[j];
      if (v < nearest) nearest = v;
    }
    double den = intra > nearest ? intra : nearest;
    if (den > 0.0) total += (nearest - intra) / den;
  }
  *out = total / (double)m;
done:
  lp_mem_free_array(&h->mem, rows, m, sizeof(uint32_t));
  lp_mem_free_array(&h->mem, dsum, k, sizeof(double));
  lp_mem_free_array(&h->mem, count, k, sizeof(uint64_t));
  return rc;
}

/* Cluster means (unweighted) and sizes. */
static int km_cluster_means(const lp_kmeans *h, const double *x, size_t n, size_t d,
                            const uint32_t *labels, size_t k, double **means,
                            uint64_t **count) {
  size_t kd;
  if (lp_mul_overflow(k, d, &kd)) return lp_error_set(KM_ERR(h), LP_ELIMIT, "k x d overflows");
  int rc = lp_mem_alloc_array(&h->mem, kd, sizeof(double), (void **)means);
  if (rc != LP_OK) return lp_error_set(KM_ERR(h), rc, "metric: out of memory");
  rc = lp_mem_alloc_array(&h->mem, k, sizeof(uint64_t), (void **)count);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, *means, kd, sizeof(double));
    return lp_error_set(KM_ERR(h), rc, "metric: out of memory");
  }
  rc = km_count_clusters(h, labels, NULL, n, *count, k);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, *means, kd, sizeof(double));
    lp_mem_free_array(&h->mem, *count, k, sizeof(uint64_t));
    return rc;
  }
  memset(*means, 0, kd * sizeof(double));
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < d; t++) (*means)[(size_t)labels[i] * d + t] += x[i * d + t];
  for (size_t j = 0; j < k; j++)
    if ((*count)[j] != 0)
      for (size_t t = 0; t < d; t++) (*means)[j * d + t] /= (double)(*count)[j];
  return LP_OK;
}

int lp_kmeans_davies_bouldin(const lp_kmeans *h, const double *x, size_t n, size_t d,
                             const uint32_t *labels, size_t k, double *out) {
  int rc = km_metric_args(h, "lp_kmeans_davies_bouldin", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  double *means, *intra;
  uint64_t *count;
  if ((rc = km_cluster_means(h, x, n, d, labels, k, &means, &count)) != LP_OK) return rc;
  rc = lp_mem_alloc_array(&h->mem, k, sizeof(double), (void **)&intra);
  if (rc != LP_OK) {
    rc = lp_error_set(KM_ERR(h), rc, "davies_bouldin: out of memory");
  } else {
    memset(intra, 0, k * sizeof(double));
    for (size_t i = 0; i < n; i++)
      intra[labels[i]] += sqrt(km_dist2(x + i * d, means + (size_t)labels[i] * d, d));
    bool intra_zero = true, gaps_zero = true;
    for (size_t j = 0; j < k; j++) {
      if (count[j] == 0) continue;
      intra[j] /= (double)count[j];
      intra_zero = intra_zero && fabs(intra[j]) <= 1e-8;
    }
    double total = 0.0;
    size_t present = 0;
    for (size_t a = 0; a < k; a++) {
      if (count[a] == 0) continue;
      present++;
      double worst = 0.0;
      for (size_t b = 0; b < k; b++) {
        if (b == a || count[b] == 0) continue;
        double gap = sqrt(km_dist2(means + a * d, means + b * d, d));
        gaps_zero = gaps_zero && gap <= 1e-8;
        /* Coincident centroids count as infinitely far apart, as scikit-learn. */
        double r = gap > 0.0 ? (intra[a] + intra[b]) / gap : 0.0;
        if (r > worst) worst = r;
      }
      total += worst;
    }
    *out = intra_zero || gaps_zero ? 0.0 : total / (double)present;
    lp_mem_free_array(&h->mem, intra, k, sizeof(double));
  }
  lp_mem_free_array(&h->mem, means, k * d, sizeof(double));
  lp_mem_free_array(&h->mem, count, k, sizeof(uint64_t));
  return rc;
}

int lp_kmeans_calinski_harabasz(const lp_kmeans *h, const double *x, size_t n, size_t d,
                                const uint32_t *labels, size_t k, double *out) {
  int rc = km_metric_args(h, "lp_kmeans_calinski_harabasz", x, n, d, labels, k, out);
  if (rc != LP_OK) return rc;
  double *means;
  uint64_t *count;
  if ((rc = km_cluster_means(h, x, n, d, labels, k, &means, &count)) != LP_OK) return rc;
  double extra = 0.0, within = 0.0;
  size_t present = 0;
  for (size_t j = 0; j < k; j++) present += count[j] != 0;
  for (size_t t = 0; t < d; t++) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += x[i * d + t];
    const double column_mean = sum / (double)n;
    for (size_t j = 0; j < k; j++) {
      double u = means[j * d + t] - column_mean;
      if (count[j] != 0) extra += (double)count[j] * (u * u);
    }
  }
  for (size_t i = 0; i < n; i++) within += km_dist2(x + i * d, means + (size_t)labels[i] * d, d);
  *out = within == 0.0 ? 1.0
                       : extra * (double)(n - present) / (within * (double)(present - 1));
  lp_mem_free_array(&h->mem, means, k * d, sizeof(double));
  lp_mem_free_array(&h->mem, count, k, sizeof(uint64_t));
  return LP_OK;
}
