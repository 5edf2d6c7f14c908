/*
 * Sharded (scale-out) Lloyd steps: the partial sums of one shard of rows,
 * and moving the centroids to the means given by the reduced sums. The
 * sums add each row's terms in row order exactly as the Lloyd update of
 * lloyd.c does (sums[a][t] += w * x[t]; wsum[a] += w), and the means
 * divide exactly as it does, so shards accumulated one after the other
 * into the same arrays reproduce a fit bit for bit (docs/kmeans.md).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/kmeans_internal.h"
#include "kmeans/query.h"
#include "kmeans/scale.h"

int lp_kmeans_partial_sums(const lp_kmeans *h, const double *x, size_t n, size_t d,
                           const double *weights, double *sums, double *wsums,
                           uint64_t *counts, size_t k_capacity, size_t *needed,
                           uint32_t *labels, double *inertia) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_partial_sums");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(err, LP_EINVAL, "needed: NULL");
  if (!km_has_model(h))
    return lp_error_set(err, LP_EMISUSE, "no model: fit (LP_KMEANS_MAX_ITER 0) or load first");
  const km_model *m = &h->model;
  if ((sums == NULL) != (wsums == NULL) || (sums == NULL) != (counts == NULL))
    return lp_error_set(err, LP_EINVAL, "sums, wsums and counts: all NULL or none");
  bool write;
  int rc = km_buffer_check(h, "sums", sums, k_capacity, m->k, needed, &write);
  if (rc != LP_OK || !write) return rc;
  if (d != m->d)
    return lp_error_set(err, LP_EINVAL, "d: %zu columns, the model has %zu", d, m->d);
  if (n != 0 && x == NULL) return lp_error_set(err, LP_EINVAL, "x: NULL data");
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(err, LP_EINVAL, "n x d overflows");
  rc = km_scale_rows(err, m->cols, x, NULL, n, d, NULL);
  if (rc != LP_OK) return rc;
  if (weights != NULL)
    for (size_t i = 0; i < n; i++)
      if (!(weights[i] > 0.0 && weights[i] <= LP_KMEANS_MAX_WEIGHT))
        return lp_error_set(err, LP_EINVAL, "weights[%zu]: %g is not in (0, 1e50]", i,
                            weights[i]);
  double row[KM_ROW_BUF], total = inertia != NULL ? *inertia : 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double d2, wi = km_weight(weights, i);
    uint32_t a = km_model_nearest(m, xi, row, &d2);
    double *s = sums + (size_t)a * d;
    if (d <= KM_ROW_BUF) {
      for (size_t t = 0; t < d; t++) s[t] += wi * row[t];
    } else {
      for (size_t t = 0; t < d; t++) {
        double v;
        (void)km_scale_value(&m->cols[t], xi[t], &v);
        s[t] += wi * v;
      }
    }
    wsums[a] += wi;
    counts[a]++;
    if (labels != NULL) labels[i] = a;
    /* Row by row onto the running total, as the fit sums its inertia. */
    total += wi * d2;
  }
  if (inertia != NULL) *inertia = total;
  return LP_OK;
}

int lp_kmeans_apply_sums(lp_kmeans *h, const double *sums, const double *wsums,
                         const uint64_t *counts, size_t k, size_t d, double *shift2) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_apply_sums");
  if (!km_has_model(h))
    return lp_error_set(&h->err, LP_EMISUSE, "no model: fit (LP_KMEANS_MAX_ITER 0) or load first");
  km_model *m = &h->model;
  if (sums == NULL || wsums == NULL || counts == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "sums, wsums or counts: NULL");
  if (k != m->k || d != m->d)
    return lp_error_set(&h->err, LP_EINVAL, "k x d: %zu x %zu, the model is %zu x %zu", k, d,
                        m->k, m->d);
  /* Validate every mean first, so a failure changes nothing. */
  for (size_t j = 0; j < k; j++) {
    const double *s = sums + j * d;
    if (counts[j] == 0) {
      if (wsums[j] != 0.0)
        return lp_error_set(&h->err, LP_EINVAL, "wsums[%zu]: not 0 for an empty cluster", j);
      for (size_t t = 0; t < d; t++)
        if (s[t] != 0.0)
          return lp_error_set(&h->err, LP_EINVAL, "sums[%zu]: not 0 for an empty cluster",
                              j * d + t);
      continue;
    }
    if (!(wsums[j] > 0.0) || !isfinite(wsums[j]))
      return lp_error_set(&h->err, LP_EINVAL, "wsums[%zu]: must be positive and finite", j);
    for (size_t t = 0; t < d; t++) {
      double v = s[t] / wsums[j];
      if (!(v >= -KM_MAX_ABS && v <= KM_MAX_ABS))
        return lp_error_set(&h->err, LP_EINVAL,
                            "sums[%zu] / wsums[%zu]: not finite or above 1e100", j * d + t,
                            j);
    }
  }
  double total = 0.0;
  for (size_t j = 0; j < k; j++) {
    if (counts[j] == 0) continue; /* keeps its centroid: it moved 0 */
    double *c = m->centroids + j * d, m2 = 0.0;
    for (size_t t = 0; t < d; t++) {
      double v = sums[j * d + t] / wsums[j], u = v - c[t];
      m2 += u * u;
      c[t] = v;
    }
    total += m2;
  }
  /* The training labels and inertia no longer describe the centroids. */
  lp_mem_free_array(&h->mem, m->labels, m->n_labels, sizeof(uint32_t));
  m->labels = NULL;
  m->n_labels = 0;
  m->inertia = 0.0;
  if (m->n_iter < UINT32_MAX) m->n_iter++;
  h->flags &= ~KM_F_TRAINED;
  if (shift2 != NULL) *shift2 = total;
  return LP_OK;
}
