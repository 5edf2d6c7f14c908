/*
 * km_check: every invariant of a k-means handle, for the tests (after each
 * injected allocation or I/O failure) and the fuzz target (after each
 * input). It reads everything, O(n + k d), and changes only the message.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/check.h"
#include "kmeans/scale.h"

#define KM_BROKEN(...) lp_error_set(KM_ERR(h), LP_ECORRUPT, "km_check: " __VA_ARGS__)

static int km_check_options(const lp_kmeans *h) {
  const km_options *o = &h->opt;
  if (o->k < 1 || o->k > LP_KMEANS_MAX_K) return KM_BROKEN("option k = %u", o->k);
  if (o->n_init < 1 || o->n_init > LP_KMEANS_MAX_N_INIT)
    return KM_BROKEN("option n_init = %u", o->n_init);
  if (o->batch_size < 1) return KM_BROKEN("option batch_size = 0");
  if (o->algorithm > LP_KMEANS_ALGO_YINYANG)
    return KM_BROKEN("option algorithm = %u", o->algorithm);
  if (o->init > LP_KMEANS_INIT_GIVEN) return KM_BROKEN("option init = %u", o->init);
  if (o->scale_all > LP_KMEANS_SCALE_LOG1P) return KM_BROKEN("option scale = %u", o->scale_all);
  if (o->exact_sums > 1) return KM_BROKEN("option exact_sums = %u", o->exact_sums);
  if (o->stop_on_no_change > 1)
    return KM_BROKEN("option stop_on_no_change = %u", o->stop_on_no_change);
  if (o->silhouette_sample < 2 || o->silhouette_sample > LP_KMEANS_MAX_SILHOUETTE_SAMPLE)
    return KM_BROKEN("option silhouette_sample = %zu", o->silhouette_sample);
  if (!(o->tol >= 0.0) || !isfinite(o->tol)) return KM_BROKEN("option tol = %g", o->tol);
  if ((h->col_scales == NULL) != (h->n_col_scales == 0))
    return KM_BROKEN("column scales: pointer and count disagree");
  if (h->n_col_scales > LP_KMEANS_MAX_DIM) return KM_BROKEN("column scales: too many");
  for (size_t t = 0; t < h->n_col_scales; t++)
    if (h->col_scales[t] > LP_KMEANS_SCALE_LOG1P)
      return KM_BROKEN("column scale %zu = %u", t, h->col_scales[t]);
  if ((h->init_c == NULL) != (h->init_k == 0 || h->init_d == 0))
    return KM_BROKEN("init centroids: pointer and shape disagree");
  if (h->init_c != NULL) {
    if (h->init_k > LP_KMEANS_MAX_K || h->init_d > LP_KMEANS_MAX_DIM)
      return KM_BROKEN("init centroids: %zu x %zu", h->init_k, h->init_d);
    for (size_t i = 0; i < h->init_k * h->init_d; i++)
      if (!isfinite(h->init_c[i])) return KM_BROKEN("init centroid value %zu not finite", i);
  }
  return LP_OK;
}

static int km_check_model(const lp_kmeans *h) {
  const km_model *m = &h->model;
  if (!km_has_model(h)) {
    if (m->k != 0 || m->d != 0 || m->cols != NULL || m->centroids != NULL ||
        m->labels != NULL || m->n_labels != 0)
      return KM_BROKEN("no model flag but model state present");
    return LP_OK;
  }
  if (m->k < 1 || m->k > LP_KMEANS_MAX_K || m->d < 1 || m->d > LP_KMEANS_MAX_DIM)
    return KM_BROKEN("model shape %zu x %zu", m->k, m->d);
  if (m->cols == NULL || m->centroids == NULL) return KM_BROKEN("model arrays missing");
  if (m->algorithm > LP_KMEANS_ALGO_YINYANG)
    return KM_BROKEN("model algorithm = %u", m->algorithm);
  for (size_t t = 0; t < m->d; t++)
    if (!km_column_valid(&m->cols[t])) return KM_BROKEN("column %zu scaling invalid", t);
  for (size_t i = 0; i < m->k * m->d; i++)
    if (!(m->centroids[i] >= -KM_MAX_ABS && m->centroids[i] <= KM_MAX_ABS))
      return KM_BROKEN("centroid value %zu not finite or above 1e100", i);
  if (!km_trained(h)) {
    if (m->labels != NULL || m->n_labels != 0)
      return KM_BROKEN("training labels kept without the trained flag");
    return LP_OK;
  }
  if (m->labels == NULL || m->n_labels < m->k || km_above(m->n_labels, LP_KMEANS_MAX_ROWS))
    return KM_BROKEN("trained model with %zu labels for k = %zu", m->n_labels, m->k);
  for (size_t i = 0; i < m->n_labels; i++)
    if (m->labels[i] >= m->k) return KM_BROKEN("label %zu = %u >= k", i, m->labels[i]);
  if (!(m->inertia >= 0.0) || !isfinite(m->inertia))
    return KM_BROKEN("inertia %g", m->inertia);
  return LP_OK;
}

int km_check(const lp_kmeans *h) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy != 0) return KM_BROKEN("busy outside a callback");
  if ((h->flags & ~KM_F_ALL) != 0) return KM_BROKEN("unknown flag bits 0x%x", h->flags);
  if ((h->flags & KM_F_TRAINED) && !(h->flags & KM_F_MODEL))
    return KM_BROKEN("trained flag without a model");
  int rc = km_check_options(h);
  if (rc == LP_OK) rc = km_check_model(h);
  return rc;
}
