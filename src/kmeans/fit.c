/*
 * Fitting: argument checks, scaling, restarts, and the detached model the
 * handle swaps in only when everything succeeded.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/fit.h"
#include "kmeans/init.h"
#include "kmeans/lloyd.h"
#include "kmeans/minibatch.h"
#include "kmeans/scale.h"
#include "kmeans/sums.h"
#include "kmeans/yinyang.h"

/* A group of arrays allocated together: all or none. */
typedef struct km_block {
  void **ptr;
  size_t n, esz;
} km_block;

static void km_free_blocks(const lp_mem *m, const km_block *b, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (b[i].ptr != NULL && *b[i].ptr != NULL) {
      lp_mem_free_array(m, *b[i].ptr, b[i].n, b[i].esz);
      *b[i].ptr = NULL;
    }
  }
}

static int km_alloc_blocks(const lp_mem *m, const km_block *b, size_t count) {
  for (size_t i = 0; i < count; i++) *b[i].ptr = NULL;
  for (size_t i = 0; i < count; i++) {
    if (b[i].n == 0) continue;
    int rc = lp_mem_alloc_array(m, b[i].n, b[i].esz, b[i].ptr);
    if (rc != LP_OK) {
      km_free_blocks(m, b, i);
      return rc;
    }
  }
  return LP_OK;
}

void km_model_free(const lp_mem *m, km_model *model) {
  lp_mem_free_array(m, model->cols, model->d, sizeof(km_column));
  lp_mem_free_array(m, model->centroids, model->k * model->d, sizeof(double));
  lp_mem_free_array(m, model->labels, model->n_labels, sizeof(uint32_t));
  memset(model, 0, sizeof *model);
}

static int km_check_input(const lp_kmeans *h, const km_options *opt, const void *x, size_t n,
                          size_t d, const double *weights, size_t *nd, size_t *kd) {
  lp_error *err = LP_ERR_OF_CONST(h);
  if (x == NULL) return lp_error_set(err, LP_EINVAL, "x: NULL data");
  if (d == 0) return lp_error_set(err, LP_EINVAL, "d: zero columns");
  if (n == 0) return lp_error_set(err, LP_EINVAL, "n: no rows");
  if (n < opt->k)
    return lp_error_set(err, LP_EINVAL, "n: %zu rows is fewer than k = %u clusters", n,
                        opt->k);
  if (km_above(n, LP_KMEANS_MAX_ROWS))
    return lp_error_set(err, LP_ELIMIT, "n: %zu rows is above the limit 2^32 - 1", n);
  if (d > LP_KMEANS_MAX_DIM)
    return lp_error_set(err, LP_ELIMIT, "d: %zu columns is above the limit %u", d,
                        LP_KMEANS_MAX_DIM);
  if (lp_mul_overflow(n, d, nd) || lp_mul_overflow(*nd, sizeof(double), nd) ||
      lp_mul_overflow(opt->k, d, kd))
    return lp_error_set(err, LP_ELIMIT, "n x d or k x d overflows size_t");
  *nd /= sizeof(double);
  if (h->col_scales != NULL && h->n_col_scales != d)
    return lp_error_set(err, LP_EINVAL,
                        "d: %zu columns but %zu column scales were set", d, h->n_col_scales);
  if (opt->init == LP_KMEANS_INIT_GIVEN &&
      (h->init_c == NULL || h->init_d != d || h->init_k != opt->k))
    return lp_error_set(err, LP_EINVAL,
                        "init: given centroids missing or not %u x %zu", opt->k, d);
  if (weights != NULL) {
    for (size_t i = 0; i < n; i++)
      if (!(weights[i] > 0.0 && weights[i] <= LP_KMEANS_MAX_WEIGHT))
        return lp_error_set(err, LP_EINVAL, "weights[%zu]: %g is not in (0, 1e50]", i,
                            weights[i]);
  }
  return LP_OK;
}

/* The algorithm `auto` stands for, from the shape alone, never from a
 * timing (docs/kmeans.md, "Auto choice, by measurement": Hamerly was the
 * faster, or within noise, for d <= 4 and k d <= 128, Yinyang elsewhere;
 * n did not change the order). All exact ones give the same bits. */
static uint32_t km_resolve(uint32_t a, size_t n, size_t d, size_t k) {
  (void)n;
  if (a != LP_KMEANS_ALGO_AUTO) return a;
  return d <= 4 && k * d <= 128 ? LP_KMEANS_ALGO_HAMERLY : LP_KMEANS_ALGO_YINYANG;
}

/* scikit-learn's tolerance: tol times the mean of the column variances. */
static double km_tolerance(const double *x, size_t n, size_t d, double tol) {
  if (tol == 0.0) return 0.0;
  double total = 0.0;
  for (size_t t = 0; t < d; t++) {
    double sum = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) sum += x[i * d + t];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
      double v = x[i * d + t] - mean;
      ss += v * v;
    }
    total += ss / (double)n;
  }
  return total / (double)d * tol;
}

int km_fit_model(const lp_kmeans *h, const km_options *opt, const double *x, const float *xf,
                 size_t n, size_t d, const double *weights, km_model *out) {
  lp_error *err = LP_ERR_OF_CONST(h);
  size_t nd = 0, kd = 0;
  int rc = km_check_input(h, opt, x != NULL ? (const void *)x : (const void *)xf, n, d,
                          weights, &nd, &kd);
  if (rc != LP_OK) return rc;
  const size_t k = opt->k;
  /* k x d fits, so rounding k up to whole blocks does too (k <= 10^6). */
  const size_t packed_len = (k + KM_LANES - 1) / KM_LANES * KM_LANES * d;
  bool borrow = x != NULL;
  for (size_t t = 0; t < d && borrow; t++)
    borrow = (h->col_scales != NULL ? h->col_scales[t] : opt->scale_all) ==
             LP_KMEANS_SCALE_NONE;
  /* Exact accumulators for the Lloyd/Hamerly update: k x (d + 1) of them. */
  size_t acc_len = 0;
  if (opt->exact_sums && opt->algorithm != LP_KMEANS_ALGO_MINIBATCH &&
      (lp_mul_overflow(k, d + 1, &acc_len) ||
       lp_mul_overflow(acc_len, (size_t)LP_KMEANS_ACC_WORDS, &acc_len)))
    return lp_error_set(err, LP_ELIMIT, "exact sums: k x (d + 1) accumulators overflow");
  /* Yinyang: one lower bound per row and group of centers. */
  const uint32_t algo = km_resolve(opt->algorithm, n, d, k);
  const size_t groups = algo == LP_KMEANS_ALGO_YINYANG ? km_yinyang_group_count(k) : 0;
  size_t glower_len = 0;
  if (lp_mul_overflow(n, groups, &glower_len))
    return lp_error_set(err, LP_ELIMIT, "yinyang: n x groups bounds overflow");
  const size_t gk = groups != 0 ? k : 0, gt = groups != 0 ? groups + 1 : 0;
  /* Checkpoints of the fused sums and a block's row lists (sums.c):
   * Yinyang only. */
  size_t ck_rows = 0, ck_blocks = 0;
  km_sums_plan(n, k, d, &ck_rows, &ck_blocks);
  if (groups == 0 || acc_len != 0) ck_blocks = 0;
  const size_t ck_k = ck_blocks * k, ck_kd = ck_k * d;
  km_model m = {0};
  km_work w = {0};
  uint32_t *kinds = NULL;
  double *scaled = NULL;
  const km_block blocks[] = {
      {(void **)&m.cols, d, sizeof(km_column)},
      {(void **)&m.centroids, kd, sizeof(double)},
      {(void **)&m.labels, n, sizeof(uint32_t)},
      {(void **)&kinds, d, sizeof(uint32_t)},
      {(void **)&scaled, borrow ? 0 : nd, sizeof(double)},
      {(void **)&w.centers, kd, sizeof(double)},
      {(void **)&w.sums, kd, sizeof(double)},
      {(void **)&w.wsum, k, sizeof(double)},
      {(void **)&w.shift, k, sizeof(double)},
      {(void **)&w.half_gap, k, sizeof(double)},
      {(void **)&w.count, k, sizeof(uint64_t)},
      {(void **)&w.packed, packed_len, sizeof(double)},
      {(void **)&w.labels, n, sizeof(uint32_t)},
      {(void **)&w.upper, n, sizeof(double)},
      {(void **)&w.lower, n, sizeof(double)},
      {(void **)&w.acc, acc_len, sizeof(int64_t)},
      {(void **)&w.dirty, k, sizeof(uint8_t)},
      {(void **)&w.gstart, gt, sizeof(uint32_t)},
      {(void **)&w.gmember, gk, sizeof(uint32_t)},
      {(void **)&w.group_of, gk, sizeof(uint32_t)},
      {(void **)&w.glower, glower_len, sizeof(double)},
      {(void **)&w.gmin1, groups, sizeof(double)},
      {(void **)&w.gmin2, groups, sizeof(double)},
      {(void **)&w.gmin1j, groups, sizeof(uint32_t)},
      {(void **)&w.ycum, gk, sizeof(double)},
      {(void **)&w.gcum, groups, sizeof(double)},
      {(void **)&w.gcur, groups, sizeof(double)},
      {(void **)&w.ck_sums, ck_kd, sizeof(double)},
      {(void **)&w.ck_wsum, ck_k, sizeof(double)},
      {(void **)&w.ck_count, ck_k, sizeof(uint64_t)},
      {(void **)&w.ck_live, ck_blocks != 0 ? k : 0, sizeof(uint8_t)},
      {(void **)&w.rowlist, groups != 0 ? 2 * ck_rows : 0, sizeof(uint32_t)},
  };
  const size_t nblocks = LP_ARRAY_LEN(blocks);
  rc = km_alloc_blocks(&h->mem, blocks, nblocks);
  if (rc != LP_OK)
    return lp_error_set(err, rc, "fit: out of memory (n = %zu, d = %zu, k = %zu)", n, d, k);
  m.k = k;
  m.d = d;
  m.n_labels = n;
  for (size_t t = 0; t < d; t++)
    kinds[t] = h->col_scales != NULL ? h->col_scales[t] : opt->scale_all;
  rc = km_learn_columns(err, x, xf, n, d, kinds, m.cols);
  if (rc == LP_OK)
    rc = km_scale_rows(err, m.cols, x, xf, n, d, borrow ? NULL : scaled);
  if (rc == LP_OK && opt->init == LP_KMEANS_INIT_GIVEN) {
    for (size_t j = 0; j < k && rc == LP_OK; j++)
      for (size_t t = 0; t < d && rc == LP_OK; t++)
        if (!km_scale_value(&m.cols[t], h->init_c[j * d + t], &w.centers[j * d + t]))
          rc = lp_error_set(err, LP_EINVAL,
                            "init centroid %zu column %zu is outside the domain of its "
                            "column's scaling", j, t);
  }
  if (rc == LP_OK) {
    w.n = n;
    w.d = d;
    w.k = k;
    w.x = borrow ? x : scaled;
    w.w = weights;
    w.groups = groups;
    w.ck_rows = ck_rows;
    w.ck_blocks = ck_blocks;
    const double tol_abs = km_tolerance(w.x, n, d, opt->tol);
    const uint32_t restarts = opt->init == LP_KMEANS_INIT_GIVEN ? 1 : opt->n_init;
    lp_rng rng;
    lp_rng_seed(&rng, opt->seed);
    for (uint32_t r = 0; r < restarts; r++) {
      if (opt->init == LP_KMEANS_INIT_KMEANSPP)
        km_init_kmeanspp(&w, &rng);
      else if (opt->init == LP_KMEANS_INIT_RANDOM)
        km_init_random(&w, &rng);
      if (algo == LP_KMEANS_ALGO_MINIBATCH)
        km_run_minibatch(&w, &rng, opt->max_iter, opt->batch_size, tol_abs);
      else
        km_run_exact(&w, algo, opt->max_iter, tol_abs,
                     opt->stop_on_no_change != 0);
      /* Strictly lower wins, so ties keep the earliest restart. */
      if (r == 0 || w.inertia < m.inertia) {
        memcpy(m.centroids, w.centers, kd * sizeof(double));
        memcpy(m.labels, w.labels, n * sizeof(uint32_t));
        m.inertia = w.inertia;
        m.n_iter = w.n_iter;
      }
    }
    m.algorithm = algo;
  }
  /* The model's own arrays are the first three blocks; keep them on success. */
  km_free_blocks(&h->mem, blocks + 3, nblocks - 3);
  if (rc != LP_OK) {
    km_free_blocks(&h->mem, blocks, 3);
    return rc;
  }
  *out = m;
  return LP_OK;
}

static int km_fit_any(lp_kmeans *h, const char *fn, const double *x, const float *xf, size_t n,
                      size_t d, const double *weights) {
  if (h == NULL) return LP_EINVAL;
  KM_REFUSE_IF_BUSY(h, fn);
  if (x == NULL && xf == NULL) return lp_error_set(&h->err, LP_EINVAL, "x: NULL data");
  km_model m;
  int rc = km_fit_model(h, &h->opt, x, xf, n, d, weights, &m);
  if (rc != LP_OK) return rc;
  km_model_free(&h->mem, &h->model);
  h->model = m;
  h->flags = KM_F_MODEL | KM_F_TRAINED;
  return LP_OK;
}

int lp_kmeans_fit(lp_kmeans *h, const double *x, size_t n, size_t d, const double *weights) {
  return km_fit_any(h, "lp_kmeans_fit", x, NULL, n, d, weights);
}

int lp_kmeans_fit_f32(lp_kmeans *h, const float *x, size_t n, size_t d,
                      const double *weights) {
  return km_fit_any(h, "lp_kmeans_fit_f32", NULL, x, n, d, weights);
}
