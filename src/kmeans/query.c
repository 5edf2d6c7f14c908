/*
 * Queries on the model: centroids, training labels, transform and
 * predict. All read only, none allocates.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/kmeans_internal.h"
#include "kmeans/lloyd.h"
#include "kmeans/query.h"
#include "kmeans/scale.h"

static int km_need_model(const lp_kmeans *h) {
  if (!km_has_model(h))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EMISUSE, "no model: fit or load first");
  return LP_OK;
}

int lp_kmeans_centroids(const lp_kmeans *h, uint32_t space, double *out, size_t capacity,
                        size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_centroids");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(err, LP_EINVAL, "needed: NULL");
  if (space != LP_KMEANS_SPACE_SCALED && space != LP_KMEANS_SPACE_ORIGINAL)
    return lp_error_set(err, LP_EINVAL, "space: unknown value %u", space);
  int rc = km_need_model(h);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  bool write;
  rc = km_buffer_check(h, "centroids", out, capacity, m->k * m->d, needed, &write);
  if (rc != LP_OK || !write) return rc;
  for (size_t j = 0; j < m->k; j++)
    for (size_t t = 0; t < m->d; t++) {
      double s = m->centroids[j * m->d + t];
      out[j * m->d + t] =
          space == LP_KMEANS_SPACE_SCALED ? s : km_unscale_value(&m->cols[t], s);
    }
  return LP_OK;
}

int lp_kmeans_labels(const lp_kmeans *h, uint32_t *out, size_t capacity, size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_labels");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (needed == NULL) return lp_error_set(err, LP_EINVAL, "needed: NULL");
  if (!km_trained(h))
    return lp_error_set(err, LP_EMISUSE,
                        km_has_model(h)
                            ? "labels: the model has no training labels (loaded, or moved "
                              "by lp_kmeans_apply_sums); predict them"
                            : "no model: fit first");
  bool write;
  int rc = km_buffer_check(h, "labels", out, capacity, h->model.n_labels, needed, &write);
  if (rc != LP_OK || !write) return rc;
  memcpy(out, h->model.labels, h->model.n_labels * sizeof(uint32_t));
  return LP_OK;
}

uint32_t km_model_nearest(const km_model *m, const double *xi, double *row, double *best2) {
  const size_t d = m->d;
  if (d <= KM_ROW_BUF) {
    for (size_t t = 0; t < d; t++) (void)km_scale_value(&m->cols[t], xi[t], &row[t]);
    return km_nearest(row, m->centroids, m->k, d, best2);
  }
  /* Wide rows: scale each value as the distance needs it, in the same
   * column order, so the sums are the same bits. */
  double best = HUGE_VAL;
  uint32_t label = 0;
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
  *best2 = best;
  return label;
}

static int km_check_rows(const lp_kmeans *h, const double *x, size_t n, size_t d,
                         const void *out) {
  int rc = km_need_model(h);
  if (rc != LP_OK) return rc;
  lp_error *err = LP_ERR_OF_CONST(h);
  if ((x == NULL && n != 0) || (out == NULL && n != 0))
    return lp_error_set(err, LP_EINVAL, "x or output: NULL");
  if (d != h->model.d)
    return lp_error_set(err, LP_EINVAL, "d: %zu columns, the model has %zu", d, h->model.d);
  size_t nd;
  if (lp_mul_overflow(n, d, &nd)) return lp_error_set(err, LP_EINVAL, "n x d overflows");
  return LP_OK;
}

int lp_kmeans_transform(const lp_kmeans *h, const double *x, size_t n, size_t d,
                        double *out) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_transform");
  int rc = km_check_rows(h, x, n, d, out);
  if (rc != LP_OK) return rc;
  lp_error *err = LP_ERR_OF_CONST(h);
  /* Check everything first so a failure leaves `out` as it was. */
  rc = km_scale_rows(err, h->model.cols, x, NULL, n, d, NULL);
  if (rc == LP_OK) rc = km_scale_rows(err, h->model.cols, x, NULL, n, d, out);
  return rc;
}

int lp_kmeans_predict(const lp_kmeans *h, const double *x, size_t n, size_t d,
                      uint32_t *labels, double *dist2) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, "lp_kmeans_predict");
  int rc = km_check_rows(h, x, n, d, labels);
  if (rc != LP_OK) return rc;
  const km_model *m = &h->model;
  if (d <= KM_ROW_BUF && n * d <= KM_PREDICT_BUF) {
    /* Few rows: scaled once, into a stack buffer, which checks them all
     * before any label is written; each row's distances are those
     * km_model_nearest computes from the same scaled row. */
    double sc[KM_PREDICT_BUF];
    rc = km_scale_rows(LP_ERR_OF_CONST(h), m->cols, x, NULL, n, d, sc);
    if (rc != LP_OK) return rc;
    for (size_t i = 0; i < n; i++) {
      double best;
      labels[i] = km_nearest(sc + i * d, m->centroids, m->k, d, &best);
      if (dist2 != NULL) dist2[i] = best;
    }
    return LP_OK;
  }
  rc = km_scale_rows(LP_ERR_OF_CONST(h), m->cols, x, NULL, n, d, NULL);
  if (rc != LP_OK) return rc;
  /* One row at a time through a small stack buffer: predict allocates nothing. */
  double row[KM_ROW_BUF];
  for (size_t i = 0; i < n; i++) {
    double best;
    uint32_t label = km_model_nearest(m, x + i * d, row, &best);
    labels[i] = label;
    if (dist2 != NULL) dist2[i] = best;
  }
  return LP_OK;
}
