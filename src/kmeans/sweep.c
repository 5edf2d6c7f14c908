/*
 * The k-sweep: one fit per k with the handle's options, and the metrics
 * that help choose k, without touching the handle's model.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/fit.h"
#include "kmeans/kmeans_internal.h"
#include "kmeans/scale.h"

static int km_sweep_row(const lp_kmeans *h, const km_model *m, const double *scaled, size_t n,
                        double *row) {
  const size_t k = m->k, d = m->d;
  row[LP_KMEANS_SWEEP_K] = (double)k;
  row[LP_KMEANS_SWEEP_INERTIA] = m->inertia;
  row[LP_KMEANS_SWEEP_N_ITER] = (double)m->n_iter;
  row[LP_KMEANS_SWEEP_SILHOUETTE] = NAN;
  row[LP_KMEANS_SWEEP_DAVIES_BOULDIN] = NAN;
  row[LP_KMEANS_SWEEP_CALINSKI_HARABASZ] = NAN;
  if (k < 2 || k >= n) return LP_OK;
  size_t sample = n <= h->opt.silhouette_sample ? 0 : h->opt.silhouette_sample;
  int rc = lp_kmeans_silhouette(h, scaled, n, d, m->labels, k, sample, h->opt.seed,
                                &row[LP_KMEANS_SWEEP_SILHOUETTE]);
  /* Fewer distinct clusters than k (duplicate rows) leaves the metrics NaN. */
  if (rc == LP_EINVAL) return LP_OK;
  if (rc == LP_OK)
    rc = lp_kmeans_davies_bouldin(h, scaled, n, d, m->labels, k,
                                  &row[LP_KMEANS_SWEEP_DAVIES_BOULDIN]);
  if (rc == LP_OK)
    rc = lp_kmeans_calinski_harabasz(h, scaled, n, d, m->labels, k,
                                     &row[LP_KMEANS_SWEEP_CALINSKI_HARABASZ]);
  return rc;
}

int lp_kmeans_sweep(const lp_kmeans *h, const double *x, size_t n, size_t d,
                    const double *weights, size_t kmin, size_t kmax, double *table,
                    size_t capacity, size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_sweep");
  lp_error *err = KM_ERR(h);
  if (needed == NULL) return lp_error_set(err, LP_EINVAL, "needed: NULL");
  if (kmin == 0 || kmin > kmax || kmax > LP_KMEANS_MAX_K)
    return lp_error_set(err, LP_EINVAL, "kmin..kmax: need 1 <= kmin <= kmax <= %u",
                        LP_KMEANS_MAX_K);
  bool write;
  int rc = km_buffer_check(h, "table", table, capacity,
                           (kmax - kmin + 1) * (size_t)LP_KMEANS_SWEEP_COLUMNS, needed, &write);
  if (rc != LP_OK || !write) return rc;
  if (h->opt.init == LP_KMEANS_INIT_GIVEN)
    return lp_error_set(err, LP_EINVAL, "init: given centroids cannot be swept over k");
  if (x == NULL) return lp_error_set(err, LP_EINVAL, "x: NULL data");
  km_options opt = h->opt;
  double *scaled = NULL;
  size_t nd = 0;
  for (size_t k = kmin; k <= kmax && rc == LP_OK; k++) {
    opt.k = (uint32_t)k;
    km_model m;
    rc = km_fit_model(h, &opt, x, NULL, n, d, weights, &m);
    if (rc != LP_OK) break;
    if (scaled == NULL) {
      nd = n * d; /* checked by the fit */
      rc = lp_mem_alloc_array(&h->mem, nd, sizeof(double), (void **)&scaled);
      if (rc != LP_OK)
        (void)lp_error_set(err, rc, "sweep: out of memory");
      else
        rc = km_scale_rows(err, m.cols, x, NULL, n, d, scaled);
    }
    if (rc == LP_OK)
      rc = km_sweep_row(h, &m, scaled, n, table + (k - kmin) * LP_KMEANS_SWEEP_COLUMNS);
    km_model_free(&h->mem, &m);
  }
  lp_mem_free_array(&h->mem, scaled, nd, sizeof(double));
  return rc;
}
