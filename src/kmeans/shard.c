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

#include "kmeans/exact.h"
#include "kmeans/kmeans_internal.h"
#include "kmeans/query.h"
#include "kmeans/scale.h"

/* The checks every shard entry point makes first (after the busy guard):
 * the required `needed` output (apply calls have none and pass any
 * non-NULL pointer), and a model to step from. */
static int km_shard_start(const lp_kmeans *h, const size_t *needed) {
  if (needed == NULL) return lp_error_set(KM_ERR(h), LP_EINVAL, "needed: NULL");
  if (!km_has_model(h))
    return lp_error_set(KM_ERR(h), LP_EMISUSE,
                        "no model: fit (LP_KMEANS_MAX_ITER 0) or load first");
  return LP_OK;
}

/* Rows and weights a shard call may read: checked before anything is
 * written. */
static int km_rows_ok(const lp_kmeans *h, const double *x, size_t n, size_t d,
                      const double *weights) {
  lp_error *err = LP_ERR_OF_CONST(h);
  const km_model *m = &h->model;
  if (d != m->d)
    return lp_error_set(err, LP_EINVAL, "d: %zu columns, the model has %zu", d, m->d);
  if (n != 0 && x == NULL) return lp_error_set(err, LP_EINVAL, "x: NULL data");
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(err, LP_EINVAL, "n x d overflows");
  int rc = km_scale_rows(err, m->cols, x, NULL, n, d, NULL);
  if (rc != LP_OK) return rc;
  if (weights != NULL)
    for (size_t i = 0; i < n; i++)
      if (!(weights[i] > 0.0 && weights[i] <= LP_KMEANS_MAX_WEIGHT))
        return lp_error_set(err, LP_EINVAL, "weights[%zu]: %g is not in (0, 1e50]", i,
                            weights[i]);
  return LP_OK;
}

int lp_kmeans_partial_sums(const lp_kmeans *h, const double *x, size_t n, size_t d,
                           const double *weights, double *sums, double *wsums,
                           uint64_t *counts, size_t k_capacity, size_t *needed,
                           uint32_t *labels, double *inertia) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_partial_sums");
  lp_error *err = LP_ERR_OF_CONST(h);
  int rc = km_shard_start(h, needed);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  if ((sums == NULL) != (wsums == NULL) || (sums == NULL) != (counts == NULL))
    return lp_error_set(err, LP_EINVAL, "sums, wsums and counts: all NULL or none");
  bool write;
  rc = km_buffer_check(h, "sums", sums, k_capacity, m->k, needed, &write);
  if (rc != LP_OK || !write) return rc;
  rc = km_rows_ok(h, x, n, d, weights);
  if (rc != LP_OK) return rc;
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

/* The sums of cluster j, column t and the weight sum of j, from either the
 * double arrays or the exact accumulators. */
typedef struct km_reduced {
  const double *sums, *wsums;
  const uint64_t *counts;
  const int64_t *acc; /* exact form when not NULL */
  size_t d;
} km_reduced;

static double km_red_sum(const km_reduced *r, size_t j, size_t t) {
  return r->acc != NULL ? km_acc_value(r->acc + (j * (r->d + 1) + t) * KM_ACC_WORDS)
                        : r->sums[j * r->d + t];
}
static double km_red_weight(const km_reduced *r, size_t j) {
  return r->acc != NULL ? km_acc_value(r->acc + (j * (r->d + 1) + r->d) * KM_ACC_WORDS)
                        : r->wsums[j];
}
/* Empty: a count of 0, or (exact form) an exact weight sum of 0. */
static bool km_red_empty(const km_reduced *r, size_t j, double wsum) {
  return r->acc != NULL ? wsum == 0.0 : r->counts[j] == 0;
}

static int km_apply(lp_kmeans *h, const km_reduced *r, double *shift2) {
  km_model *m = &h->model;
  const size_t k = m->k, d = m->d;
  /* Validate every mean first, so a failure changes nothing. */
  for (size_t j = 0; j < k; j++) {
    double wsum = km_red_weight(r, j);
    if (km_red_empty(r, j, wsum)) {
      if (wsum != 0.0)
        return lp_error_set(&h->err, LP_EINVAL, "wsums[%zu]: not 0 for an empty cluster", j);
      for (size_t t = 0; t < d; t++)
        if (km_red_sum(r, j, t) != 0.0)
          return lp_error_set(&h->err, LP_EINVAL, "sums[%zu]: not 0 for an empty cluster",
                              j * d + t);
      continue;
    }
    if (!(wsum > 0.0) || !isfinite(wsum))
      return lp_error_set(&h->err, LP_EINVAL, "wsums[%zu]: must be positive and finite", j);
    for (size_t t = 0; t < d; t++) {
      double v = km_red_sum(r, j, t) / wsum;
      if (!(v >= -KM_MAX_ABS && v <= KM_MAX_ABS))
        return lp_error_set(&h->err, LP_EINVAL,
                            "sums[%zu] / wsums[%zu]: not finite or above 1e100", j * d + t,
                            j);
    }
  }
  double total = 0.0;
  for (size_t j = 0; j < k; j++) {
    double wsum = km_red_weight(r, j);
    if (km_red_empty(r, j, wsum)) continue; /* keeps its centroid: it moved 0 */
    double *c = m->centroids + j * d, m2 = 0.0;
    for (size_t t = 0; t < d; t++) {
      double v = km_red_sum(r, j, t) / wsum, u = v - c[t];
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

int lp_kmeans_apply_sums(lp_kmeans *h, const double *sums, const double *wsums,
                         const uint64_t *counts, size_t k, size_t d, double *shift2) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_apply_sums");
  int rc = km_shard_start(h, &h->model.k);
  if (rc != LP_OK) return rc;
  if (sums == NULL || wsums == NULL || counts == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "sums, wsums or counts: NULL");
  if (k != h->model.k || d != h->model.d)
    return lp_error_set(&h->err, LP_EINVAL, "k x d: %zu x %zu, the model is %zu x %zu", k, d,
                        h->model.k, h->model.d);
  const km_reduced r = {sums, wsums, counts, NULL, d};
  return km_apply(h, &r, shift2);
}

/* k x (d + 1) x words, the length of a model's exact accumulator array. */
static size_t km_acc_len(const km_model *m) {
  return m->k * (m->d + 1) * KM_ACC_WORDS; /* k <= 10^6, d <= 10^6: no overflow in 64 bits */
}

int lp_kmeans_partial_sums_exact(const lp_kmeans *h, const double *x, size_t n, size_t d,
                                 const double *weights, int64_t *acc, size_t capacity,
                                 size_t *needed, uint32_t *labels) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_partial_sums_exact");
  lp_error *err = LP_ERR_OF_CONST(h);
  int rc = km_shard_start(h, needed);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  if (m->k > SIZE_MAX / (m->d + 1) / KM_ACC_WORDS)
    return lp_error_set(err, LP_ELIMIT, "acc: k x (d + 1) accumulators overflow size_t");
  bool write;
  rc = km_buffer_check(h, "acc", acc, capacity, km_acc_len(m), needed, &write);
  if (rc != LP_OK || !write) return rc;
  rc = km_rows_ok(h, x, n, d, weights);
  if (rc != LP_OK) return rc;
  if (!km_acc_words_ok(acc, km_acc_len(m)))
    return lp_error_set(err, LP_EINVAL, "acc: a word is beyond 2^62 (not a sum of normalised "
                                        "accumulators)");
  const size_t stride = (d + 1) * KM_ACC_WORDS;
  double row[KM_ROW_BUF], d2;
  size_t since = 0;
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double wi = km_weight(weights, i);
    uint32_t a = km_model_nearest(m, xi, row, &d2);
    int64_t *cell = acc + (size_t)a * stride;
    for (size_t t = 0; t < d; t++) {
      double v = row[t < KM_ROW_BUF ? t : 0];
      if (d > KM_ROW_BUF) (void)km_scale_value(&m->cols[t], xi[t], &v);
      km_acc_add(cell + t * KM_ACC_WORDS, wi * v);
    }
    km_acc_add(cell + d * KM_ACC_WORDS, wi);
    if (labels != NULL) labels[i] = a;
    if (++since == KM_ACC_FLUSH) {
      for (size_t q = 0; q < m->k * (d + 1); q++) km_acc_normalize(acc + q * KM_ACC_WORDS);
      since = 0;
    }
  }
  for (size_t q = 0; q < m->k * (d + 1); q++) km_acc_normalize(acc + q * KM_ACC_WORDS);
  return LP_OK;
}

int lp_kmeans_apply_sums_exact(lp_kmeans *h, const int64_t *acc, size_t len, double *shift2) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_apply_sums_exact");
  int rc = km_shard_start(h, &h->model.k);
  if (rc != LP_OK) return rc;
  if (acc == NULL) return lp_error_set(&h->err, LP_EINVAL, "acc: NULL");
  if (h->model.k > SIZE_MAX / (h->model.d + 1) / KM_ACC_WORDS || len != km_acc_len(&h->model))
    return lp_error_set(&h->err, LP_EINVAL,
                        "len: %zu words, the model needs k x (d + 1) x %u", len,
                        LP_KMEANS_ACC_WORDS);
  if (!km_acc_words_ok(acc, len))
    return lp_error_set(&h->err, LP_EINVAL, "acc: a word is beyond 2^62");
  const km_reduced r = {NULL, NULL, NULL, acc, h->model.d};
  return km_apply(h, &r, shift2);
}
