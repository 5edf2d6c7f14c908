/*
 * The handle: creation, options, fitting entry points, model queries,
 * transform and predict.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/kmeans_internal.h"

static const km_options km_defaults = {
    .k = 8,
    .max_iter = 300,
    .n_init = 10,
    .batch_size = 1024,
    .algorithm = LP_KMEANS_ALGO_AUTO,
    .init = LP_KMEANS_INIT_KMEANSPP,
    .scale_all = LP_KMEANS_SCALE_NONE,
    .stop_on_no_change = false,
    .seed = 0,
    .tol = 1e-4,
    .silhouette_sample = 10000,
};

int lp_kmeans_create(const lp_allocator *alloc, lp_kmeans **out) {
  if (out == NULL) return LP_EINVAL;
  lp_kmeans *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  h->opt = km_defaults;
  *out = h;
  return LP_OK;
}

void lp_kmeans_free(lp_kmeans *h) {
  if (h == NULL) return;
  km_model_free(&h->mem, &h->model);
  lp_mem_free_array(&h->mem, h->col_scales, h->n_col_scales, sizeof(uint32_t));
  lp_mem_free_array(&h->mem, h->init_c, h->init_k * h->init_d, sizeof(double));
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_kmeans_errmsg(const lp_kmeans *h) {
  return h == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&h->err);
}

static int km_range(lp_kmeans *h, const char *name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return lp_error_set(&h->err, LP_ERANGE, "%s: %lld is outside [%lld, %lld]", name,
                        (long long)v, (long long)lo, (long long)hi);
  return LP_OK;
}

int lp_kmeans_set_int(lp_kmeans *h, lp_kmeans_option key, int64_t value) {
  if (h == NULL) return LP_EINVAL;
  km_options *o = &h->opt;
  int rc;
  switch (key) {
  case LP_KMEANS_K:
    if ((rc = km_range(h, "k", value, 1, LP_KMEANS_MAX_K)) == LP_OK) o->k = (uint32_t)value;
    return rc;
  case LP_KMEANS_MAX_ITER:
    if ((rc = km_range(h, "max_iter", value, 1, UINT32_MAX)) == LP_OK)
      o->max_iter = (uint32_t)value;
    return rc;
  case LP_KMEANS_N_INIT:
    if ((rc = km_range(h, "n_init", value, 1, 1000000)) == LP_OK) o->n_init = (uint32_t)value;
    return rc;
  case LP_KMEANS_ALGORITHM:
    if ((rc = km_range(h, "algorithm", value, 0, LP_KMEANS_ALGO_MINIBATCH)) == LP_OK)
      o->algorithm = (lp_kmeans_algorithm)value;
    return rc;
  case LP_KMEANS_INIT:
    if ((rc = km_range(h, "init", value, 0, LP_KMEANS_INIT_GIVEN)) == LP_OK)
      o->init = (lp_kmeans_init_method)value;
    return rc;
  case LP_KMEANS_SEED:
    o->seed = (uint64_t)value;
    return LP_OK;
  case LP_KMEANS_BATCH_SIZE:
    if ((rc = km_range(h, "batch_size", value, 1, UINT32_MAX)) == LP_OK)
      o->batch_size = (uint32_t)value;
    return rc;
  case LP_KMEANS_SCALE:
    if ((rc = km_range(h, "scale", value, 0, LP_KMEANS_SCALE_LOG1P)) == LP_OK) {
      o->scale_all = (lp_kmeans_scale)value;
      lp_mem_free_array(&h->mem, h->col_scales, h->n_col_scales, sizeof(uint32_t));
      h->col_scales = NULL;
      h->n_col_scales = 0;
    }
    return rc;
  case LP_KMEANS_STOP_ON_NO_CHANGE:
    if ((rc = km_range(h, "stop_on_no_change", value, 0, 1)) == LP_OK)
      o->stop_on_no_change = value != 0;
    return rc;
  case LP_KMEANS_SILHOUETTE_SAMPLE:
    if ((rc = km_range(h, "silhouette_sample", value, 2, INT32_MAX)) == LP_OK)
      o->silhouette_sample = (size_t)value;
    return rc;
  case LP_KMEANS_TOL:
    break;
  }
  return lp_error_set(&h->err, LP_EINVAL, "key: %d is not an integer option", (int)key);
}

int lp_kmeans_set_double(lp_kmeans *h, lp_kmeans_option key, double value) {
  if (h == NULL) return LP_EINVAL;
  if (key != LP_KMEANS_TOL)
    return lp_error_set(&h->err, LP_EINVAL, "key: %d is not a real option", (int)key);
  if (!(value >= 0.0) || !isfinite(value))
    return lp_error_set(&h->err, LP_ERANGE, "tol: must be finite and >= 0");
  h->opt.tol = value;
  return LP_OK;
}

int lp_kmeans_set_column_scales(lp_kmeans *h, const uint32_t *scales, size_t d) {
  if (h == NULL) return LP_EINVAL;
  if (scales == NULL || d == 0)
    return lp_error_set(&h->err, LP_EINVAL, "scales: NULL or empty");
  for (size_t t = 0; t < d; t++)
    if (scales[t] > LP_KMEANS_SCALE_LOG1P)
      return lp_error_set(&h->err, LP_EINVAL, "scales[%zu]: unknown scaling %u", t,
                          scales[t]);
  uint32_t *copy;
  int rc = lp_mem_alloc_array(&h->mem, d, sizeof(uint32_t), (void **)&copy);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "scales: cannot copy %zu values", d);
  memcpy(copy, scales, d * sizeof(uint32_t));
  lp_mem_free_array(&h->mem, h->col_scales, h->n_col_scales, sizeof(uint32_t));
  h->col_scales = copy;
  h->n_col_scales = d;
  return LP_OK;
}

int lp_kmeans_set_init_centroids(lp_kmeans *h, const double *centroids, size_t k, size_t d) {
  if (h == NULL) return LP_EINVAL;
  if (centroids == NULL || k == 0 || d == 0)
    return lp_error_set(&h->err, LP_EINVAL, "centroids: NULL or empty");
  if (k > LP_KMEANS_MAX_K)
    return lp_error_set(&h->err, LP_EINVAL, "k: %zu is above the limit %u", k,
                        LP_KMEANS_MAX_K);
  size_t kd;
  if (lp_mul_overflow(k, d, &kd))
    return lp_error_set(&h->err, LP_ELIMIT, "centroids: k x d overflows");
  for (size_t i = 0; i < kd; i++)
    if (!isfinite(centroids[i]))
      return lp_error_set(&h->err, LP_EINVAL, "centroids[%zu]: not finite", i);
  double *copy;
  int rc = lp_mem_alloc_array(&h->mem, kd, sizeof(double), (void **)&copy);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "centroids: cannot copy %zu values", kd);
  memcpy(copy, centroids, kd * sizeof(double));
  lp_mem_free_array(&h->mem, h->init_c, h->init_k * h->init_d, sizeof(double));
  h->init_c = copy;
  h->init_k = k;
  h->init_d = d;
  h->opt.k = (uint32_t)k;
  h->opt.init = LP_KMEANS_INIT_GIVEN;
  return LP_OK;
}

static int km_fit_any(lp_kmeans *h, const double *x, const float *xf, size_t n, size_t d,
                      const double *weights) {
  if (h == NULL) return LP_EINVAL;
  km_model m;
  int rc = km_fit_model(h, &h->opt, x, xf, n, d, weights, &m);
  if (rc != LP_OK) return rc;
  km_model_free(&h->mem, &h->model);
  h->model = m;
  h->has_model = true;
  return LP_OK;
}

int lp_kmeans_fit(lp_kmeans *h, const double *x, size_t n, size_t d, const double *weights) {
  return km_fit_any(h, x, NULL, n, d, weights);
}

int lp_kmeans_fit_f32(lp_kmeans *h, const float *x, size_t n, size_t d,
                      const double *weights) {
  if (h != NULL && x == NULL) return lp_error_set(&h->err, LP_EINVAL, "x: NULL data");
  return km_fit_any(h, NULL, x, n, d, weights);
}

size_t lp_kmeans_k(const lp_kmeans *h) { return h != NULL && h->has_model ? h->model.k : 0; }
size_t lp_kmeans_dim(const lp_kmeans *h) { return h != NULL && h->has_model ? h->model.d : 0; }

double lp_kmeans_inertia(const lp_kmeans *h) {
  return h != NULL && h->has_model && h->model.labels != NULL ? h->model.inertia : NAN;
}

uint32_t lp_kmeans_n_iter(const lp_kmeans *h) {
  return h != NULL && h->has_model ? h->model.n_iter : 0;
}

lp_kmeans_algorithm lp_kmeans_algorithm_used(const lp_kmeans *h) {
  return h != NULL && h->has_model ? h->model.algorithm : LP_KMEANS_ALGO_AUTO;
}

static int km_need_model(lp_kmeans *h) {
  if (!h->has_model) return lp_error_set(&h->err, LP_EMISUSE, "no model: fit or load first");
  return LP_OK;
}

int lp_kmeans_centroids(lp_kmeans *h, lp_kmeans_space space, double *out, size_t count) {
  if (h == NULL) return LP_EINVAL;
  int rc = km_need_model(h);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  if (out == NULL || count < m->k * m->d)
    return lp_error_set(&h->err, LP_EINVAL, "out: NULL or fewer than k x d = %zu values",
                        m->k * m->d);
  if (space != LP_KMEANS_SPACE_SCALED && space != LP_KMEANS_SPACE_ORIGINAL)
    return lp_error_set(&h->err, LP_EINVAL, "space: unknown value %d", (int)space);
  for (size_t j = 0; j < m->k; j++)
    for (size_t t = 0; t < m->d; t++) {
      double s = m->centroids[j * m->d + t];
      out[j * m->d + t] =
          space == LP_KMEANS_SPACE_SCALED ? s : km_unscale_value(&m->cols[t], s);
    }
  return LP_OK;
}

const uint32_t *lp_kmeans_labels(const lp_kmeans *h, size_t *n) {
  if (n != NULL) *n = 0;
  if (h == NULL || !h->has_model || h->model.labels == NULL) return NULL;
  if (n != NULL) *n = h->model.n_labels;
  return h->model.labels;
}

static int km_check_rows(lp_kmeans *h, const double *x, size_t n, size_t d, const void *out) {
  if (h == NULL) return LP_EINVAL;
  int rc = km_need_model(h);
  if (rc != LP_OK) return rc;
  if ((x == NULL && n != 0) || (out == NULL && n != 0))
    return lp_error_set(&h->err, LP_EINVAL, "x or output: NULL");
  if (d != h->model.d)
    return lp_error_set(&h->err, LP_EINVAL, "d: %zu columns, the model has %zu", d,
                        h->model.d);
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(&h->err, LP_EINVAL, "n x d overflows");
  return LP_OK;
}

int lp_kmeans_transform(lp_kmeans *h, const double *x, size_t n, size_t d, double *out) {
  int rc = km_check_rows(h, x, n, d, out);
  if (rc != LP_OK) return rc;
  /* Check everything first so a failure leaves `out` as it was. */
  rc = km_scale_rows(&h->err, h->model.cols, x, NULL, n, d, NULL);
  if (rc == LP_OK) rc = km_scale_rows(&h->err, h->model.cols, x, NULL, n, d, out);
  return rc;
}

int lp_kmeans_predict(lp_kmeans *h, const double *x, size_t n, size_t d, uint32_t *labels,
                      double *dist2) {
  int rc = km_check_rows(h, x, n, d, labels);
  if (rc != LP_OK) return rc;
  rc = km_scale_rows(&h->err, h->model.cols, x, NULL, n, d, NULL);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  /* One row at a time through a small stack buffer: predict allocates nothing. */
  double row[64];
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double best = HUGE_VAL;
    uint32_t label = 0;
    if (d <= LP_ARRAY_LEN(row)) {
      for (size_t t = 0; t < d; t++) (void)km_scale_value(&m->cols[t], xi[t], &row[t]);
      label = km_nearest(row, m->centroids, m->k, d, &best);
    } else {
      /* Wide rows: scale each value as the distance needs it, in the same
       * column order, so the sums are the same bits. */
      for (size_t j = 0; j < m->k; j++) {
        double s = 0.0;
        for (size_t t = 0; t < d; t++) {
          double v;
          (void)km_scale_value(&m->cols[t], xi[t], &v);
          double u = v - m->centroids[j * d + t];
          s += u * u;
        }
        if (s < best) {
          best = s;
          label = (uint32_t)j;
        }
      }
    }
    labels[i] = label;
    if (dist2 != NULL) dist2[i] = best;
  }
  return LP_OK;
}
