/*
 * Internal: the k-means handle, the training workspace and the pieces the
 * source files of the module share.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_KMEANS_INTERNAL_H
#define LP_KMEANS_INTERNAL_H

#include "core/common.h"
#include "core/error.h"
#include "core/mem.h"
#include "core/rng.h"
#include "libprofile/kmeans.h"

/* Values (after scaling) are kept within this magnitude so every sum of
 * squares stays finite and no NaN can reach a comparison. */
#define KM_MAX_ABS 1e100

/* Centers scanned together (see km_pack_centers). */
#define KM_LANES 8

typedef struct km_options {
  uint32_t k, max_iter, n_init, batch_size;
  lp_kmeans_algorithm algorithm;
  lp_kmeans_init_method init;
  lp_kmeans_scale scale_all;
  bool stop_on_no_change;
  uint64_t seed;
  double tol;
  size_t silhouette_sample;
} km_options;

/* scaled = (f(x) - shift) / scale, with f the identity or log1p. */
typedef struct km_column {
  uint32_t kind;
  double shift;
  double scale;
} km_column;

typedef struct km_model {
  size_t k, d;
  km_column *cols;   /* d */
  double *centroids; /* k * d, scaled space */
  uint32_t *labels;  /* n_labels, training rows of the last fit (or NULL) */
  size_t n_labels;
  double inertia;
  uint32_t n_iter;
  lp_kmeans_algorithm algorithm;
} km_model;

struct lp_kmeans {
  lp_mem mem; /* first: see lp_mem_new_handle */
  lp_error err;
  km_options opt;
  uint32_t *col_scales; /* n_col_scales entries, or NULL */
  size_t n_col_scales;
  double *init_c; /* init_k * init_d, original units, or NULL */
  size_t init_k, init_d;
  bool has_model;
  km_model model;
};

/* Everything one training run needs, allocated before any state changes. */
typedef struct km_work {
  size_t n, d, k;
  const double *x;  /* n * d scaled rows */
  const double *w;  /* n weights or NULL (all 1) */
  double *centers;  /* k * d */
  double *sums;     /* k * d */
  double *wsum;     /* k */
  double *shift;    /* k: distance each center moved (Hamerly, mini-batch counts) */
  double *half_gap; /* k: half the distance to the nearest other center */
  uint64_t *count;  /* k: rows per cluster */
  double *packed;   /* centers in blocks of KM_LANES for the scans */
  uint32_t *labels; /* n */
  double *upper;    /* n: Hamerly upper bounds; scratch for init and relocation */
  double *lower;    /* n: Hamerly lower bounds; scratch for init */
  uint32_t n_iter;
  double inertia;
} km_work;

static inline double km_dist2(const double *a, const double *b, size_t d) {
  double s = 0.0;
  for (size_t t = 0; t < d; t++) {
    double u = a[t] - b[t];
    s += u * u;
  }
  return s;
}

static inline double km_weight(const double *w, size_t i) { return w != NULL ? w[i] : 1.0; }

/* Nearest center to row x (ties: lowest index); *best2 its squared distance. */
uint32_t km_nearest(const double *x, const double *centers, size_t k, size_t d, double *best2);

/* ---- scaling (scale.c) ---- */
double km_log1p(double x);
double km_expm1(double x);
/* Learn column parameters from raw rows; LP_EINVAL with a message on a
 * zero-variance / zero-range column. */
int km_learn_columns(lp_error *err, const double *x, const float *xf, size_t n, size_t d,
                     const uint32_t *kinds, km_column *cols);
/* Scale one raw value; false when outside the column's domain. */
bool km_scale_value(const km_column *c, double v, double *out);
double km_unscale_value(const km_column *c, double s);
/* Scale n rows (x or xf) into out (NULL: only check them); LP_EINVAL naming the row and column on
 * a non-finite or out-of-domain value. */
int km_scale_rows(lp_error *err, const km_column *cols, const double *x, const float *xf,
                  size_t n, size_t d, double *out);

/* ---- training (init.c, lloyd.c, minibatch.c) ---- */
void km_init_kmeanspp(km_work *w, lp_rng *rng);
void km_init_random(km_work *w, lp_rng *rng);
/* Lloyd or Hamerly from w->centers; fills labels, centers, n_iter, inertia. */
void km_run_exact(km_work *w, bool hamerly, uint32_t max_iter, double tol_abs,
                  bool stop_on_no_change);
void km_run_minibatch(km_work *w, lp_rng *rng, uint32_t epochs, uint32_t batch,
                      double tol_abs);
void km_pack_centers(km_work *w);
/* Label every row with its nearest center and return the inertia. */
double km_assign_all(km_work *w);

/* ---- fitting into a detached model (fit.c), shared with the sweep ---- */
void km_model_free(const lp_mem *m, km_model *model);
int km_fit_model(lp_kmeans *h, const km_options *opt, const double *x, const float *xf,
                 size_t n, size_t d, const double *weights, km_model *out);

/* ---- metrics shared by the sweep ---- */
int km_check_labels(lp_error *err, const uint32_t *labels, size_t n, size_t k);

#endif /* LP_KMEANS_INTERNAL_H */
