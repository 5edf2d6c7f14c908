/*
 * Internal: the lp_clv handle, its model slots and the shared declarations
 * of the clv module.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CLV_INTERNAL_H
#define LP_CLV_INTERNAL_H

#include <math.h>
#include <string.h>

#include "core/detmath.h"
#include "core/error.h"
#include "core/mem.h"
#include "libprofile/clv.h"

#define CLV_K LP_CLV_MAX_PARAMS

typedef struct clv_options {
  uint32_t max_iter;
  uint32_t warm_start;
  uint32_t buckets;
  uint32_t compress;
  uint32_t max_evals;
  double penalizer;
  double tol;
  double discount;
  double margin;
  double step;
} clv_options;

/* One fitted (or given) model. */
typedef struct clv_model {
  uint32_t present;   /* 0 or 1 */
  uint32_t model;     /* LP_CLV_MODEL_* */
  double p[CLV_K];
  double se[CLV_K];
  double cov[CLV_K * CLV_K];
  lp_clv_fit_report rep;
} clv_model;

/* Slot 0 holds the purchase model, slot 1 the spend model. */
#define CLV_SLOT_PURCHASE 0
#define CLV_SLOT_SPEND 1

struct lp_clv {
  lp_mem mem;
  lp_error err;
  uint32_t busy;
  clv_options opt;
  clv_model slot[2];
};

/* A compressed row: (x, t_x, T) with summed weight; Gamma-Gamma keeps the
 * mean spend in tx. Rows are sorted by (x, tx, T). */
typedef struct clv_row {
  double x, tx, T, w;
} clv_row;

/* Rows sharing x, contiguous in the sorted rows. */
typedef struct clv_group {
  double x, w;
  size_t begin, end;
} clv_group;

typedef struct clv_fitdata {
  const clv_row *rows;
  size_t nrows;
  const clv_group *groups;
  size_t ngroups;
  double wsum;
  /* The distinct values of t_x and T over the rows (ascending) and, per
   * row, the index of its t_x and its T among them, so a likelihood
   * computes log(alpha + v) once per value, not once per row (BG/NBD,
   * MBG/NBD and Pareto/NBD; NULL for the other models and without rows).
   * scratch has room for 2 nvals doubles (BG/NBD, MBG/NBD) or 8 nvals
   * (Pareto/NBD). */
  const double *vals;
  size_t nvals;
  const uint32_t *ix; /* 2 per row: the index of t_x, then that of T */
  double *scratch;
} clv_fitdata;

/* clv_handle.c */
extern const clv_options clv_default_options;
int clv_slot_of(uint32_t model);
bool clv_model_known(uint32_t model);
/* The invariant checker: LP_OK or LP_ECORRUPT with the reason in *why. */
int clv_check(const lp_clv *h, const char **why);
bool clv_options_valid(const clv_options *o);
bool clv_model_valid(const clv_model *m, int slot);

/* clv_math.c: portable special functions (libm's lgamma/log/exp/log1p/
 * expm1 only; no libm digamma or hypergeometric functions). */
double clv_digamma(double x);
double clv_lbeta(double a, double b);
double clv_lse(double a, double b);
/* log of 2F1(a, b; a + 1; z) for a > 0, 0 < b < a + 1, 0 <= z < 1, through
 * Euler's transformation (positive terms, ratio below z), or above
 * z = 0.98 from its integral by the tanh-sinh rule (finite for every
 * finite positive a, b). */
double clv_log_h2f1_a1(double a, double b, double z);
/* clv_log_h2f1_a1 (the same bits) and its partial derivatives in dlog[0]
 * (a), dlog[1] (b), dlog[2] (z); dlog[3] is set to 0. z = 0 is allowed. */
double clv_log_h2f1_a1_grad(double a, double b, double z, double *dlog);
/* 2F1(a, b; c; z) for c > 0 and 0 <= z < 1 by its series (terms may change
 * sign once); NaN when it does not settle. */
double clv_h2f1(double a, double b, double c, double z);

/* Upper incomplete gamma Gamma(a, z) for z > 0 and any a but 0, -1, ... */
double clv_upper_gamma(double a, double z);

/* clv_models.c */
/* Weighted total log-likelihood at natural parameters p; when grad is not
 * NULL and the model has an analytic gradient, dLL/dp is written and
 * *has_grad set. NaN or -inf for parameters where it is not finite. */
double clv_loglik(uint32_t model, const double *p, const clv_fitdata *d, double *grad,
                  bool *has_grad);
void clv_pnbd_terms(const double *p, double x, double tx, double T, double *B1, double *B2);
/* Its pieces: tt(y) = log 2F1(aa, bb; aa+1; diff/(m+y)) - aa log(m + y), a
 * function of (x, y); B1 and B2 from log(alpha + T), log(beta + T), tt(t_x)
 * and tt(T) (clv_pnbd_terms is the combination of the four). */
double clv_pnbd_tt(const double *p, double x, double y);
void clv_pnbd_combine(const double *p, double x, double laT, double lbT, double tt, double tT, double *B1,
                      double *B2);
double clv_bgbb_row(const double *p, double x, double tx, double n);
/* Validate row i of data for model: NULL when fine, else the reason. */
const char *clv_row_problem(uint32_t model, const lp_clv_data *data, size_t i, bool need_money);

/* clv_fit.c */
int clv_fit_rows(lp_clv *h, uint32_t model, const lp_clv_data *data, lp_clv_fit_report *report);

/* clv_predict.c */
/* Checks data for model: struct, flags (only those in allowed_flags) and,
 * unless LP_CLV_DATA_NAN_INVALID is set, every row. */
int clv_check_data(const lp_clv *h, uint32_t model, const lp_clv_data *data, bool need_money,
                   uint32_t allowed_flags);

#endif /* LP_CLV_INTERNAL_H */
