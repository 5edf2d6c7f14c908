/*
 * The handle: creation, options (set, get, bounds), the column scalings
 * and initial centroids, and the model getters that cannot fail.
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>

#include "kmeans/fit.h"
#include "kmeans/kmeans_internal.h"

static const km_options km_defaults = {
    .k = 8,
    .max_iter = 300,
    .n_init = 10,
    .batch_size = 1024,
    .algorithm = LP_KMEANS_ALGO_AUTO,
    .init = LP_KMEANS_INIT_KMEANSPP,
    .scale_all = LP_KMEANS_SCALE_NONE,
    .stop_on_no_change = 0,
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

int km_buffer_check(const lp_kmeans *h, const char *what, const void *out, size_t capacity,
                    size_t need, size_t *needed, bool *write) {
  *write = false;
  if (out == NULL && capacity != 0)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "%s: NULL with a capacity of %zu",
                        what, capacity);
  *needed = need;
  if (out == NULL) return LP_OK; /* size query */
  if (capacity < need)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE,
                        "%s: capacity %zu is below the %zu elements needed", what, capacity,
                        need);
  *write = true;
  return LP_OK;
}

/* ---- integer options: one table drives set, get and bounds ---- */
typedef struct km_int_option {
  uint32_t key;
  const char *name;
  int64_t min, max;
} km_int_option;

static const km_int_option km_int_options[] = {
    {LP_KMEANS_K, "k", 1, LP_KMEANS_MAX_K},
    {LP_KMEANS_MAX_ITER, "max_iter", 0, UINT32_MAX},
    {LP_KMEANS_N_INIT, "n_init", 1, LP_KMEANS_MAX_N_INIT},
    {LP_KMEANS_ALGORITHM, "algorithm", LP_KMEANS_ALGO_AUTO, LP_KMEANS_ALGO_YINYANG},
    {LP_KMEANS_INIT, "init", LP_KMEANS_INIT_KMEANSPP, LP_KMEANS_INIT_GIVEN},
    {LP_KMEANS_SEED, "seed", INT64_MIN, INT64_MAX},
    {LP_KMEANS_BATCH_SIZE, "batch_size", 1, UINT32_MAX},
    {LP_KMEANS_SCALE, "scale", LP_KMEANS_SCALE_NONE, LP_KMEANS_SCALE_LOG1P},
    {LP_KMEANS_STOP_ON_NO_CHANGE, "stop_on_no_change", 0, 1},
    {LP_KMEANS_SILHOUETTE_SAMPLE, "silhouette_sample", 2, LP_KMEANS_MAX_SILHOUETTE_SAMPLE},
    {LP_KMEANS_EXACT_SUMS, "exact_sums", 0, 1},
};

static const km_int_option *km_find_int(const lp_kmeans *h, uint32_t key, int *rc) {
  for (size_t i = 0; i < LP_ARRAY_LEN(km_int_options); i++)
    if (km_int_options[i].key == key) {
      *rc = LP_OK;
      return &km_int_options[i];
    }
  *rc = lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                     key == LP_KMEANS_TOL ? "key: %u is a real option (use the _double calls)"
                                          : "key: %u is not a k-means integer option",
                     key);
  return NULL;
}

int lp_kmeans_set_int(lp_kmeans *h, uint32_t key, int64_t value) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_set_int");
  int rc;
  const km_int_option *o = km_find_int(h, key, &rc);
  if (o == NULL) return rc;
  if (value < o->min || value > o->max)
    return lp_error_set(&h->err, LP_ERANGE, "%s: %lld is outside [%lld, %lld]", o->name,
                        (long long)value, (long long)o->min, (long long)o->max);
  km_options *p = &h->opt;
  switch (key) {
  case LP_KMEANS_K: p->k = (uint32_t)value; break;
  case LP_KMEANS_MAX_ITER: p->max_iter = (uint32_t)value; break;
  case LP_KMEANS_N_INIT: p->n_init = (uint32_t)value; break;
  case LP_KMEANS_ALGORITHM: p->algorithm = (uint32_t)value; break;
  case LP_KMEANS_INIT: p->init = (uint32_t)value; break;
  case LP_KMEANS_SEED: p->seed = (uint64_t)value; break;
  case LP_KMEANS_BATCH_SIZE: p->batch_size = (uint32_t)value; break;
  case LP_KMEANS_SCALE:
    p->scale_all = (uint32_t)value;
    lp_mem_free_array(&h->mem, h->col_scales, h->n_col_scales, sizeof(uint32_t));
    h->col_scales = NULL;
    h->n_col_scales = 0;
    break;
  case LP_KMEANS_STOP_ON_NO_CHANGE: p->stop_on_no_change = (uint32_t)value; break;
  case LP_KMEANS_EXACT_SUMS: p->exact_sums = (uint32_t)value; break;
  default: /* LP_KMEANS_SILHOUETTE_SAMPLE: the table has no other key */
    p->silhouette_sample = (size_t)value;
    break;
  }
  return LP_OK;
}

int lp_kmeans_get_int(const lp_kmeans *h, uint32_t key, int64_t *value) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_get_int");
  int rc;
  if (km_find_int(h, key, &rc) == NULL) return rc;
  if (value == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL output");
  const km_options *p = &h->opt;
  switch (key) {
  case LP_KMEANS_K: *value = p->k; break;
  case LP_KMEANS_MAX_ITER: *value = p->max_iter; break;
  case LP_KMEANS_N_INIT: *value = p->n_init; break;
  case LP_KMEANS_ALGORITHM: *value = p->algorithm; break;
  case LP_KMEANS_INIT: *value = p->init; break;
  case LP_KMEANS_SEED: *value = (int64_t)p->seed; break;
  case LP_KMEANS_BATCH_SIZE: *value = p->batch_size; break;
  case LP_KMEANS_SCALE: *value = p->scale_all; break;
  case LP_KMEANS_STOP_ON_NO_CHANGE: *value = p->stop_on_no_change; break;
  case LP_KMEANS_EXACT_SUMS: *value = p->exact_sums; break;
  default: *value = (int64_t)p->silhouette_sample; break;
  }
  return LP_OK;
}

int lp_kmeans_int_bounds(const lp_kmeans *h, uint32_t key, int64_t *min, int64_t *max) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_int_bounds");
  int rc;
  const km_int_option *o = km_find_int(h, key, &rc);
  if (o == NULL) return rc;
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min or max: NULL output");
  *min = o->min;
  *max = o->max;
  return LP_OK;
}

/* ---- the real option ---- */
static int km_real_key(const lp_kmeans *h, uint32_t key) {
  if (key == LP_KMEANS_TOL) return LP_OK;
  return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                      "key: %u is not a k-means real option (only LP_KMEANS_TOL is)", key);
}

int lp_kmeans_set_double(lp_kmeans *h, uint32_t key, double value) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_set_double");
  int rc = km_real_key(h, key);
  if (rc != LP_OK) return rc;
  if (!(value >= 0.0 && value <= DBL_MAX))
    return lp_error_set(&h->err, LP_ERANGE, "tol: %g is outside [0, %g] (finite)", value,
                        DBL_MAX);
  h->opt.tol = value;
  return LP_OK;
}

int lp_kmeans_get_double(const lp_kmeans *h, uint32_t key, double *value) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_get_double");
  int rc = km_real_key(h, key);
  if (rc != LP_OK) return rc;
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL output");
  *value = h->opt.tol;
  return LP_OK;
}

int lp_kmeans_double_bounds(const lp_kmeans *h, uint32_t key, double *min, double *max) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_double_bounds");
  int rc = km_real_key(h, key);
  if (rc != LP_OK) return rc;
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min or max: NULL output");
  *min = 0.0;
  *max = DBL_MAX;
  return LP_OK;
}

int lp_kmeans_set_column_scales(lp_kmeans *h, const uint32_t *scales, size_t d) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_set_column_scales");
  if (scales == NULL || d == 0)
    return lp_error_set(&h->err, LP_EINVAL, "scales: NULL or empty");
  if (d > LP_KMEANS_MAX_DIM)
    return lp_error_set(&h->err, LP_ELIMIT, "d: %zu columns is above the limit %u", d,
                        LP_KMEANS_MAX_DIM);
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
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_set_init_centroids");
  if (centroids == NULL || k == 0 || d == 0)
    return lp_error_set(&h->err, LP_EINVAL, "centroids: NULL or empty");
  if (k > LP_KMEANS_MAX_K)
    return lp_error_set(&h->err, LP_EINVAL, "k: %zu is above the limit %u", k,
                        LP_KMEANS_MAX_K);
  if (d > LP_KMEANS_MAX_DIM)
    return lp_error_set(&h->err, LP_ELIMIT, "d: %zu columns is above the limit %u", d,
                        LP_KMEANS_MAX_DIM);
  size_t kd;
  if (lp_mul_overflow(k, d, &kd) || kd > SIZE_MAX / sizeof(double))
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

/* ---- model getters: they cannot fail, so they stay readable while busy ---- */
size_t lp_kmeans_k(const lp_kmeans *h) { return h != NULL && km_has_model(h) ? h->model.k : 0; }
size_t lp_kmeans_dim(const lp_kmeans *h) {
  return h != NULL && km_has_model(h) ? h->model.d : 0;
}

double lp_kmeans_inertia(const lp_kmeans *h) {
  return h != NULL && km_trained(h) ? h->model.inertia : NAN;
}

uint32_t lp_kmeans_n_iter(const lp_kmeans *h) {
  return h != NULL && km_has_model(h) ? h->model.n_iter : 0;
}

uint32_t lp_kmeans_algorithm_used(const lp_kmeans *h) {
  return h != NULL && km_has_model(h) ? h->model.algorithm : LP_KMEANS_ALGO_AUTO;
}

size_t lp_kmeans_centroids_bound(const lp_kmeans *h) {
  return h != NULL && km_has_model(h) ? h->model.k * h->model.d : 0;
}

size_t lp_kmeans_labels_bound(const lp_kmeans *h) {
  return h != NULL && km_trained(h) ? h->model.n_labels : 0;
}
