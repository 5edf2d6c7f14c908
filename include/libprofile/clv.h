/*
 * libprofile - customer lifetime value: BG/NBD, Pareto/NBD, MBG/NBD, BG/BB
 * and Gamma-Gamma.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file clv.h
 * @brief Buy-till-you-die purchase models and the Gamma-Gamma spend model:
 * maximum-likelihood fits with standard errors, per-customer predictions,
 * discounted lifetime value and calibration/holdout evaluation.
 *
 * An #lp_clv handle holds options and up to two fitted models: one
 * *purchase* model (BG/NBD, Pareto/NBD, MBG/NBD or BG/BB) and one *spend*
 * model (Gamma-Gamma). Lifetime value needs both. Models are fitted from
 * host arrays (#lp_clv_data) or straight from an #lp_rfm state, can be set
 * from known parameters, saved and loaded. See @ref clv_guide for the
 * models, their assumptions and what each prediction means.
 *
 * Customer data is the summary of the `lifetimes` package: per customer the
 * number of repeat purchases @c frequency (x), the time of the last one
 * since the first purchase @c recency (t_x), and the time from the first
 * purchase to the end of the calibration period @c T, all in one time unit
 * of the host's choice (weeks in the published CDNOW tables). For BG/BB,
 * x is the number of repeat transaction opportunities used, t_x the
 * opportunity of the last one and T the number of opportunities n.
 *
 * Thread-safety: one handle must not be used from two threads at once,
 * not even for read-only calls (they write the error message slot);
 * distinct handles are independent.
 */
#ifndef LIBPROFILE_CLV_H
#define LIBPROFILE_CLV_H

#include "core.h"
#include "io.h"
#include "rfm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque CLV handle: options plus a purchase and a spend model. */
typedef struct lp_clv lp_clv;

/** Snapshot kind written by lp_clv_save(). */
#define LP_CLV_SNAPSHOT_KIND LP_FOURCC('C', 'L', 'V', 'M')

/** @name Models (uint32_t)
 * @{ */
#define LP_CLV_MODEL_BGNBD 1u  /**< BG/NBD (Fader, Hardie, Lee 2005): r, alpha, a, b. */
#define LP_CLV_MODEL_PNBD 2u   /**< Pareto/NBD (Schmittlein et al. 1987): r, alpha, s, beta. */
#define LP_CLV_MODEL_MBGNBD 3u /**< MBG/NBD (Batislam et al. 2007): r, alpha, a, b. */
#define LP_CLV_MODEL_BGBB 4u   /**< BG/BB, discrete time (Fader, Hardie, Shang 2010): alpha, beta, gamma, delta. */
#define LP_CLV_MODEL_GG 5u     /**< Gamma-Gamma spend model (Fader, Hardie, Lee 2005): p, q, v. */
/** @} */

/** @name Limits
 * @{ */
#define LP_CLV_MAX_PARAMS 4u            /**< Most parameters of a model. */
#define LP_CLV_MAX_FREQUENCY 1000000000.0 /**< Largest frequency x accepted. */
#define LP_CLV_MAX_TIME 1000000000.0    /**< Largest recency or T accepted. */
#define LP_CLV_MAX_BGBB_PERIODS 100000.0 /**< Largest number of opportunities n for BG/BB. */
#define LP_CLV_MAX_WEIGHT 1.0e15        /**< Largest weight of one row. */
#define LP_CLV_MAX_HORIZON_STEPS 100000u /**< Most discounting steps of one CLV. */
#define LP_CLV_MAX_PROB_N 1000000u      /**< Largest n of lp_clv_prob_n(). */
#define LP_CLV_PARAM_MIN 1.0e-8         /**< A fit keeps every parameter >= this (log-parameter >= -18.42). */
#define LP_CLV_PARAM_MAX 1.0e8          /**< A fit keeps every parameter <= this; see #LP_CLV_STATUS_AT_BOUND. */
#define LP_CLV_SHAPE_MAX 1.0e4          /**< A fit keeps every shape parameter (all but the scales alpha, beta of BG/NBD, MBG/NBD, Pareto/NBD and v of Gamma-Gamma) <= this: beyond it the mixing distribution is a point mass to 1% (coefficient of variation 1/sqrt(shape)); see #LP_CLV_STATUS_AT_BOUND. */
/** @} */

/** @name Options (uint32_t keys)
 * Integer options take lp_clv_set_int(), real ones lp_clv_set_double();
 * the other setter refuses the key with #LP_EINVAL.
 * @{ */
#define LP_CLV_MAX_ITER 1u        /**< int: most optimiser iterations, 1..100000 (default 500). */
#define LP_CLV_WARM_START 2u      /**< int 0/1: start the fit from the handle's parameters of the same model when present (default 0: fixed start). */
#define LP_CLV_HOLDOUT_BUCKETS 3u /**< int: frequency buckets of lp_clv_holdout(), 1..1000 (default 8: x = 0..6 and 7+). */
#define LP_CLV_COMPRESS 4u        /**< int 0/1: fit on unique (x, t_x, T) rows with counts (default 1; 0 only for comparisons, the result is the same to rounding). */
#define LP_CLV_MAX_EVALS 5u       /**< int: most likelihood evaluations of one fit (gradients included) of the optimiser; the standard errors' Hessian adds its own (2k + 1 with an analytic gradient), counted in lp_clv_fit_report.evaluations but not against the budget, 10..10000000 (default 1000); reaching it ends the fit with #LP_CLV_STATUS_MAX_EVALS. Not saved in snapshots (a loaded handle has the default). */
#define LP_CLV_PENALIZER 100u     /**< double: L2 penalty c on the parameters, as lifetimes' penalizer_coef: minimises -LL/W + c sum(p^2), 0..1e6 (default 0). */
#define LP_CLV_TOLERANCE 101u     /**< double: converged when the largest gradient component of -LL/W in log-parameters is <= this, 1e-14..1 (default 1e-8). */
#define LP_CLV_DISCOUNT_RATE 102u /**< double: discount rate per CLV step, 0..10 (default 0). */
#define LP_CLV_MARGIN 103u        /**< double: profit margin applied to the expected value in CLV, 0..1e9 (default 1). */
#define LP_CLV_STEP 104u          /**< double: length of one CLV discounting step in time units, 1e-6..1e9 (default 1; integer for BG/BB). */
/** @} */

/** @name Convergence status (lp_clv_fit_report.status)
 * @{ */
#define LP_CLV_STATUS_CONVERGED 0u   /**< Gradient below the tolerance. */
#define LP_CLV_STATUS_MAX_ITER 1u    /**< Iteration limit reached first. */
#define LP_CLV_STATUS_NO_PROGRESS 2u /**< The line search found no decrease before the gradient was small. */
#define LP_CLV_STATUS_GIVEN 3u       /**< Parameters set with lp_clv_set_params(), not fitted. */
#define LP_CLV_STATUS_AT_BOUND 4u    /**< Not converged to an interior optimum: a parameter stopped at the bound #LP_CLV_PARAM_MIN, #LP_CLV_PARAM_MAX or #LP_CLV_SHAPE_MAX with the likelihood still rising beyond it (e.g. Pareto/NBD s and beta growing together on data with no sign of heterogeneous dropout); the free parameters' gradient is below the tolerance. */
#define LP_CLV_STATUS_MAX_EVALS 5u   /**< The evaluation budget #LP_CLV_MAX_EVALS ran out first. */
/** @} */

/** @name Predictions (lp_clv_predict() @c what)
 * @{ */
/** Expected purchases in (T, T + t] given the customer's history: "how many
 * times will this customer buy in the next t periods, judging from how
 * often and how recently they bought". */
#define LP_CLV_PRED_CONDITIONAL 1u
/** Probability the customer is alive (has not churned) at T + t given the
 * history, whatever they do in between; t = 0 is "now", at the end of
 * calibration. */
#define LP_CLV_PRED_P_ALIVE 2u
/** Gamma-Gamma expected mean spend per purchase given x and the customer's
 * mean spend (needs the spend model; t unused). */
#define LP_CLV_PRED_AVG_VALUE 3u
/** Lifetime value over the horizon t: margin x expected mean spend x the
 * expected purchases of each step, discounted per step (needs both models). */
#define LP_CLV_PRED_CLV 4u
/** Pareto/NBD only: discounted expected residual transactions (DERT, Fader,
 * Hardie, Lee 2005 "RFM and CLV", eq. 2): the customer's expected future
 * purchases over their whole remaining life, each discounted continuously
 * at delta = ln(1 + #LP_CLV_DISCOUNT_RATE) / #LP_CLV_STEP per time unit
 * (the same discounting as #LP_CLV_PRED_CLV); needs a discount rate > 0;
 * t unused. */
#define LP_CLV_PRED_DERT 5u
/** @} */

/** @name Parameter tables (lp_clv_params() @c what)
 * @{ */
#define LP_CLV_VALUES 0u     /**< The k parameter values. */
#define LP_CLV_STDERR 1u     /**< Their standard errors (NaN when the Hessian was not positive definite, or not fitted). */
#define LP_CLV_COVARIANCE 2u /**< k x k covariance, row-major (NaN as for the errors). */
/** @} */

/** @brief Customer summaries given to lp_clv_fit() and lp_clv_predict().
 * The arrays are borrowed during the call only. */
typedef struct lp_clv_data {
  uint32_t struct_size;     /**< sizeof(lp_clv_data); set by #LP_CLV_DATA_INIT. */
  uint32_t flags;           /**< Zero, or #LP_CLV_DATA_NAN_INVALID (lp_clv_predict() only). */
  size_t n;                 /**< Number of rows. */
  const double *frequency;  /**< n repeat purchase counts x: whole numbers >= 0. */
  const double *recency;    /**< n times of the last purchase t_x, 0 <= t_x <= T (0 when x = 0); BG/BB: whole, x <= t_x. */
  const double *T;          /**< n ages T >= 0; BG/BB: opportunities n, whole, >= 1. */
  const double *monetary;   /**< n mean repeat spends (> 0 where x > 0); Gamma-Gamma and value predictions only, else may be NULL. */
  const double *weights;    /**< n row weights (customers a row stands for, > 0), or NULL for 1 each. */
} lp_clv_data;

/** @ref lp_clv_data flag (since 1.1), for lp_clv_predict() only: a row
 * outside the domain gets NaN in the output instead of failing the call,
 * so a block of rows can be predicted in one call whatever some rows hold
 * (e.g. repeat buyers whose refunds cancel their spend, for a value
 * prediction). The other rows get the values they get alone. */
#define LP_CLV_DATA_NAN_INVALID 1u

/** Initialiser for an #lp_clv_data (no rows). */
#define LP_CLV_DATA_INIT { (uint32_t)sizeof(lp_clv_data), 0u, 0u, NULL, NULL, NULL, NULL, NULL }

/** @brief What a fit did (lp_clv_fit(), lp_clv_report()). */
typedef struct lp_clv_fit_report {
  uint32_t struct_size;     /**< sizeof(lp_clv_fit_report); set by #LP_CLV_FIT_REPORT_INIT. */
  uint32_t model;           /**< An LP_CLV_MODEL_* value. */
  uint32_t status;          /**< An LP_CLV_STATUS_* value. */
  uint32_t iterations;      /**< Optimiser iterations. */
  uint32_t evaluations;     /**< Likelihood evaluations (gradients included). */
  uint32_t se_available;    /**< 1 when standard errors were computed (Hessian positive definite). */
  double loglik;            /**< Log-likelihood at the parameters (unpenalised, weighted sum). */
  double grad_norm;         /**< Largest gradient component of the objective in log-parameters. */
  double customers;         /**< Sum of the weights of the rows used. */
  uint64_t rows;            /**< Rows used (Gamma-Gamma: those with x > 0). */
  uint64_t unique_rows;     /**< Distinct rows after compression. */
  double spend_correlation; /**< Gamma-Gamma: weighted Pearson correlation of x and mean spend (the independence check; near 0 is required); NaN otherwise. */
} lp_clv_fit_report;

/** Initialiser for an #lp_clv_fit_report. */
#define LP_CLV_FIT_REPORT_INIT \
  { (uint32_t)sizeof(lp_clv_fit_report), 0u, 0u, 0u, 0u, 0u, 0.0, 0.0, 0.0, 0u, 0u, 0.0 }

/** @brief One row of the calibration/holdout table (lp_clv_holdout()). */
typedef struct lp_clv_holdout_row {
  uint32_t struct_size;  /**< Written by the library: sizeof(lp_clv_holdout_row). */
  uint32_t open_ended;   /**< 1 for the last bucket, which holds every x >= @c frequency. */
  double frequency;      /**< Calibration frequency of the bucket. */
  double customers;      /**< Weight of the customers in the bucket. */
  double actual;         /**< Mean holdout purchases observed. */
  double predicted;      /**< Mean conditional expected purchases. */
} lp_clv_holdout_row;

/** @brief Totals of the calibration/holdout evaluation. */
typedef struct lp_clv_holdout_summary {
  uint32_t struct_size;  /**< sizeof(lp_clv_holdout_summary); set by #LP_CLV_HOLDOUT_SUMMARY_INIT. */
  uint32_t reserved;     /**< Zero. */
  double customers;      /**< Sum of the weights. */
  double actual_total;   /**< Holdout purchases observed, weighted sum. */
  double predicted_total;/**< Conditional expected purchases, weighted sum. */
  double mae;            /**< Weighted mean absolute error per customer. */
  double rmse;           /**< Weighted root mean squared error per customer. */
} lp_clv_holdout_summary;

/** Initialiser for an #lp_clv_holdout_summary. */
#define LP_CLV_HOLDOUT_SUMMARY_INIT \
  { (uint32_t)sizeof(lp_clv_holdout_summary), 0u, 0.0, 0.0, 0.0, 0.0, 0.0 }

/** @brief One purchase for lp_clv_split(). */
typedef struct lp_clv_txn {
  uint32_t struct_size; /**< sizeof(lp_clv_txn); set by #LP_CLV_TXN_INIT. */
  uint32_t reserved;    /**< Zero. */
  uint64_t customer;    /**< Customer id. */
  int64_t ts;           /**< Seconds since the epoch, UTC. */
  int64_t amount;       /**< Minor units (cents); used for the mean repeat spend. */
} lp_clv_txn;

/** Initialiser for an #lp_clv_txn. */
#define LP_CLV_TXN_INIT { (uint32_t)sizeof(lp_clv_txn), 0u, 0u, 0, 0 }

/** @brief One customer of a calibration/holdout split (lp_clv_split()). */
typedef struct lp_clv_split_row {
  uint32_t struct_size; /**< Written by the library: sizeof(lp_clv_split_row). */
  uint32_t reserved;    /**< Zero. */
  uint64_t customer;    /**< Customer id. */
  double frequency;     /**< Distinct calibration purchase periods - 1. */
  double recency;       /**< Last - first calibration purchase period, in time units. */
  double T;             /**< Calibration end period - first purchase period, in time units. */
  double monetary;      /**< Mean value of the repeat periods, minor units (0 when frequency is 0). */
  double holdout;       /**< Distinct purchase periods in the holdout. */
} lp_clv_split_row;

/**
 * @brief The lifetimes calibration/holdout split of transactions by date
 * (its `calibration_and_holdout_data`): one row per customer with a
 * purchase period at or before @p calibration_end, in ascending customer id.
 *
 * A transaction's period is floor(ts / @p period_seconds) (UTC days for
 * 86400); the calibration holds the periods up to that of
 * @p calibration_end, the holdout the later ones up to that of
 * @p holdout_end; later transactions are ignored. Times are in periods
 * divided by @p periods_per_unit (7 turns days into weeks). Amounts are
 * summed exactly per period, so the rows do not depend on the order of
 * the transactions.
 * @param h                Handle (allocator and message only).
 * @param txns             @p n transactions (borrowed).
 * @param n                Number of transactions.
 * @param calibration_end  End of calibration, seconds.
 * @param holdout_end      End of the holdout, >= @p calibration_end (equal: no holdout).
 * @param period_seconds   Length of a purchase period, 1 .. 10^9.
 * @param periods_per_unit Periods per time unit, > 0 and finite.
 * @param out              Receives the rows; NULL with @p capacity 0 asks for the count.
 * @param capacity         Capacity of @p out in rows.
 * @param needed           Receives the number of rows (required).
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size, NULL @p out
 * with capacity > 0, @p holdout_end before @p calibration_end, scale out
 * of range); #LP_ERANGE (a period total passes the int64 range);
 * #LP_EBUFSIZE (nothing written); #LP_ELIMIT, #LP_ENOMEM.
 */
LP_API int lp_clv_split(lp_clv *h, const lp_clv_txn *txns, size_t n, int64_t calibration_end,
                        int64_t holdout_end, int64_t period_seconds, double periods_per_unit,
                        lp_clv_split_row *out, size_t capacity, size_t *needed);

/**
 * @brief Create a handle with default options and no model.
 * @param alloc Allocator (copied; NULL = C library).
 * @param out   Receives the handle, to free with lp_clv_free(); NULL on failure.
 * @return #LP_OK, #LP_EINVAL (NULL @p out, bad allocator), #LP_ENOMEM.
 * Thread-safe.
 */
LP_API int lp_clv_create(const lp_allocator *alloc, lp_clv **out);

/**
 * @brief Free a handle; NULL is a no-op.
 * @param h Handle.
 */
LP_API void lp_clv_free(lp_clv *h);

/**
 * @brief Message of the most recent failed call on @p h.
 * @param h Handle.
 * @return Text owned by the handle (valid until its next call), or a static
 * text for NULL.
 */
LP_API const char *lp_clv_errmsg(const lp_clv *h);

/**
 * @brief Set an integer option.
 * @param h     Handle.
 * @param key   #LP_CLV_MAX_ITER, #LP_CLV_WARM_START, #LP_CLV_HOLDOUT_BUCKETS, #LP_CLV_COMPRESS
 *              or #LP_CLV_MAX_EVALS.
 * @param value New value, within lp_clv_int_bounds().
 * @return #LP_OK, #LP_EINVAL (NULL handle, unknown or real-valued key),
 * #LP_ERANGE (outside the bounds; the message names them).
 */
LP_API int lp_clv_set_int(lp_clv *h, uint32_t key, int64_t value);

/**
 * @brief Read an integer option.
 * @param h     Handle.
 * @param key   Integer option key.
 * @param value Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or real-valued key).
 */
LP_API int lp_clv_get_int(const lp_clv *h, uint32_t key, int64_t *value);

/**
 * @brief Bounds of an integer option.
 * @param h   Handle.
 * @param key Integer option key.
 * @param min Receives the smallest value accepted.
 * @param max Receives the largest value accepted.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or real-valued key).
 */
LP_API int lp_clv_int_bounds(const lp_clv *h, uint32_t key, int64_t *min, int64_t *max);

/**
 * @brief Set a real option.
 * @param h     Handle.
 * @param key   #LP_CLV_PENALIZER, #LP_CLV_TOLERANCE, #LP_CLV_DISCOUNT_RATE,
 *              #LP_CLV_MARGIN or #LP_CLV_STEP.
 * @param value New value, finite and within lp_clv_double_bounds().
 * @return #LP_OK, #LP_EINVAL (NULL handle, unknown or integer key),
 * #LP_ERANGE (NaN or outside the bounds).
 */
LP_API int lp_clv_set_double(lp_clv *h, uint32_t key, double value);

/**
 * @brief Read a real option.
 * @param h     Handle.
 * @param key   Real option key.
 * @param value Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or integer key).
 */
LP_API int lp_clv_get_double(const lp_clv *h, uint32_t key, double *value);

/**
 * @brief Bounds of a real option.
 * @param h   Handle.
 * @param key Real option key.
 * @param min Receives the smallest value accepted.
 * @param max Receives the largest value accepted.
 * @return #LP_OK, #LP_EINVAL (NULL argument, unknown or integer key).
 */
LP_API int lp_clv_double_bounds(const lp_clv *h, uint32_t key, double *min, double *max);

/**
 * @brief Static name of a model ("bgnbd", "pnbd", "mbgnbd", "bgbb", "gg").
 * @param model An LP_CLV_MODEL_* value.
 * @return Static text, or NULL for an unknown model. Thread-safe.
 */
LP_API const char *lp_clv_model_name(uint32_t model);

/**
 * @brief Number of parameters of a model (4, or 3 for Gamma-Gamma).
 * @param model An LP_CLV_MODEL_* value.
 * @return The count, or 0 for an unknown model. Thread-safe.
 */
LP_API uint32_t lp_clv_param_count(uint32_t model);

/**
 * @brief Static name of parameter @p index of @p model ("r", "alpha", ...).
 * @param model An LP_CLV_MODEL_* value.
 * @param index 0 .. lp_clv_param_count() - 1.
 * @return Static text, or NULL when out of range. Thread-safe.
 */
LP_API const char *lp_clv_param_name(uint32_t model, uint32_t index);

/**
 * @brief Fit @p model by maximum likelihood, replacing the handle's model
 * of the same kind (purchase or spend).
 *
 * Rows are compressed to distinct (x, t_x, T) triples with summed weights
 * (Gamma-Gamma: distinct (x, mean spend) among x > 0) in a fixed order, so
 * the result does not depend on the order of the rows when the weights are
 * whole numbers. The optimiser is BFGS with a backtracking line search on
 * log-parameters, from a fixed start (or the current parameters under
 * #LP_CLV_WARM_START): no randomness. A fit that stops without converging
 * still returns #LP_OK and stores its parameters; the report says so.
 *
 * @param h      Handle.
 * @param model  An LP_CLV_MODEL_* value.
 * @param data   Customer rows (borrowed); see #lp_clv_data for the domain.
 * @param report NULL, or receives the report (struct_size must be set).
 * @return #LP_OK; #LP_EINVAL (NULL argument, bad struct_size or flags,
 * unknown model, no row, a value outside its domain: the message names the
 * row, NULL monetary for Gamma-Gamma, no repeat buyer for Gamma-Gamma);
 * #LP_ERANGE (the likelihood is not finite at the start);
 * #LP_ELIMIT, #LP_ENOMEM. On failure the handle is unchanged.
 */
LP_API int lp_clv_fit(lp_clv *h, uint32_t model, const lp_clv_data *data,
                      lp_clv_fit_report *report);

/**
 * @brief Fit @p model on the CLV inputs of the given profiles of an
 * #lp_rfm state (lp_rfm_clv_inputs() at @p as_of), or of all its profiles
 * with a transaction (@p ids NULL and @p n 0, listed by lp_rfm_profiles()).
 *
 * The inputs are exact integers, so states merged from shards fit to the
 * same bits as one state. Times are in the state's purchase periods divided
 * by @p period_scale (7 turns days into weeks); mean repeat spend is in
 * minor units divided by @p money_scale (100: cents to units).
 * @param h            Handle.
 * @param model        An LP_CLV_MODEL_* value other than BG/BB.
 * @param rfm          State (read only, borrowed).
 * @param ids          @p n profile ids (borrowed), or NULL for every
 *                     profile of @p rfm that has a transaction (in
 *                     ascending id; prospects are skipped).
 * @param n            Number of ids, >= 1; 0 with @p ids NULL.
 * @param as_of        End of the calibration period, seconds since the epoch.
 * @param period_scale Periods per time unit, > 0 and finite.
 * @param money_scale  Minor units per money unit, > 0 and finite.
 * @param report       NULL, or receives the fit report.
 * @return The errors of lp_clv_fit(), plus #LP_ENOTFOUND (an id without a
 * transaction; the message names it), #LP_ERANGE (a transaction after
 * @p as_of) and #LP_EINVAL (@p ids NULL with @p n > 0 or the reverse; no
 * profile with a transaction). On failure the handle is unchanged.
 */
LP_API int lp_clv_fit_rfm(lp_clv *h, uint32_t model, const lp_rfm *rfm, const uint64_t *ids,
                          size_t n, int64_t as_of, double period_scale, double money_scale,
                          lp_clv_fit_report *report);

/**
 * @brief Set a model from known parameters (no fit): for predictions with
 * published values, or as the start of a warm-started fit.
 * @param h      Handle.
 * @param model  An LP_CLV_MODEL_* value.
 * @param params lp_clv_param_count() positive finite values (copied).
 * @param n      Number of values; must equal lp_clv_param_count(@p model).
 * @return #LP_OK, #LP_EINVAL (NULL, unknown model, wrong @p n, value not
 * positive or not finite). Standard errors become NaN and the report's
 * status #LP_CLV_STATUS_GIVEN.
 */
LP_API int lp_clv_set_params(lp_clv *h, uint32_t model, const double *params, size_t n);

/**
 * @brief Whether the handle holds @p model.
 * @param h     Handle (NULL gives 0).
 * @param model An LP_CLV_MODEL_* value.
 * @return 1 when the purchase or spend slot holds @p model, else 0.
 */
LP_API int lp_clv_has_model(const lp_clv *h, uint32_t model);

/**
 * @brief Copy parameter values, standard errors or covariance of @p model.
 * @param h        Handle.
 * @param model    An LP_CLV_MODEL_* value held by the handle.
 * @param what     #LP_CLV_VALUES, #LP_CLV_STDERR or #LP_CLV_COVARIANCE.
 * @param out      Receives the values (k or k x k doubles); NULL with
 *                 @p capacity 0 asks for the size.
 * @param capacity Capacity of @p out in doubles.
 * @param needed   Receives the number of doubles of the answer (required).
 * @return #LP_OK, #LP_EINVAL (NULL @p h or @p needed, unknown model or
 * @p what, NULL @p out with capacity > 0), #LP_ENOTFOUND (model not held),
 * #LP_EBUFSIZE (capacity too small; nothing written).
 */
LP_API int lp_clv_params(const lp_clv *h, uint32_t model, uint32_t what, double *out,
                         size_t capacity, size_t *needed);

/**
 * @brief The report of the fit that produced the handle's @p model.
 * @param h     Handle.
 * @param model An LP_CLV_MODEL_* value held by the handle.
 * @param out   Receives the report (struct_size must be set).
 * @return #LP_OK, #LP_EINVAL (NULL argument, bad struct_size, unknown
 * model), #LP_ENOTFOUND (model not held).
 */
LP_API int lp_clv_report(const lp_clv *h, uint32_t model, lp_clv_fit_report *out);

/**
 * @brief Expected purchases E[X(t)] of a new customer in (0, t] under the
 * purchase model.
 * @param h   Handle with a purchase model.
 * @param t   Length, >= 0 (BG/BB: whole number of opportunities).
 * @param out Receives the value.
 * @return #LP_OK, #LP_EINVAL (NULL, t out of domain), #LP_EMISUSE (no
 * purchase model), #LP_ERANGE (the model needs a > 1 / s != 1 ... and the
 * parameters do not allow the formula; the message says which).
 */
LP_API int lp_clv_expected(const lp_clv *h, double t, double *out);

/**
 * @brief Probability that a new customer makes exactly @p k purchases in
 * (0, t] (BG/NBD, Fader, Hardie, Lee 2005 eq. 8; MBG/NBD; Pareto/NBD, its
 * dropout term integrated numerically on a fixed grid; BG/BB, Fader,
 * Hardie, Shang 2010 eq. 7, in @p t opportunities).
 * @param h   Handle with a purchase model.
 * @param t   Length, >= 0 and finite (BG/BB: a whole number of
 *            opportunities <= #LP_CLV_MAX_BGBB_PERIODS).
 * @param k   Number of purchases, <= #LP_CLV_MAX_PROB_N.
 * @param out Receives the probability.
 * @return #LP_OK, #LP_EINVAL (NULL, t out of domain), #LP_EMISUSE (no
 * purchase model), #LP_ERANGE (the value is not finite for these
 * parameters).
 */
LP_API int lp_clv_prob_n(const lp_clv *h, double t, uint64_t k, double *out);

/**
 * @brief Per-customer predictions, vectorised; allocates nothing.
 * @param h        Handle with the models the prediction needs.
 * @param what     An LP_CLV_PRED_* value.
 * @param data     Customer rows (borrowed; weights ignored); monetary is
 *                 needed for #LP_CLV_PRED_AVG_VALUE and #LP_CLV_PRED_CLV.
 *                 With #LP_CLV_DATA_NAN_INVALID in its flags a bad row
 *                 gets NaN instead of failing the call.
 * @param t        Horizon (conditional, CLV) or extra periods without a
 *                 purchase (P(alive)), >= 0 and finite; BG/BB: whole.
 * @param out      Receives data->n values.
 * @param capacity Capacity of @p out.
 * @param needed   Receives data->n (required).
 * @return #LP_OK, #LP_EINVAL (NULL, unknown @p what, bad row: the message
 * names it, NULL @p out with capacity > 0, DERT for another model than
 * Pareto/NBD), #LP_EMISUSE (a model the prediction needs is missing),
 * #LP_ERANGE (parameters outside the formula's domain, e.g. Gamma-Gamma
 * q <= 1, DERT without a discount rate), #LP_ELIMIT (horizon / step
 * above #LP_CLV_MAX_HORIZON_STEPS), #LP_EBUFSIZE.
 */
LP_API int lp_clv_predict(const lp_clv *h, uint32_t what, const lp_clv_data *data, double t,
                          double *out, size_t capacity, size_t *needed);

/**
 * @brief The calibration/holdout table: mean actual and predicted holdout
 * purchases per calibration frequency bucket, and totals, MAE and RMSE.
 * @param h                 Handle with a purchase model.
 * @param cal               Calibration rows (borrowed; weights used).
 * @param holdout_purchases cal->n purchases observed in the holdout period.
 * @param holdout_length    Holdout length in time units, >= 0.
 * @param rows              Receives #LP_CLV_HOLDOUT_BUCKETS rows (empty
 *                          buckets have customers 0 and NaN means).
 * @param capacity          Capacity of @p rows.
 * @param needed            Receives the number of buckets (required).
 * @param summary           NULL, or receives the totals (struct_size set).
 * @return The errors of lp_clv_predict(), plus #LP_EINVAL (negative or
 * non-finite holdout count), #LP_EBUFSIZE.
 */
LP_API int lp_clv_holdout(const lp_clv *h, const lp_clv_data *cal,
                          const double *holdout_purchases, double holdout_length,
                          lp_clv_holdout_row *rows, size_t capacity, size_t *needed,
                          lp_clv_holdout_summary *summary);

/**
 * @brief Save options and models (parameters, covariance, report) as one
 * snapshot of kind #LP_CLV_SNAPSHOT_KIND.
 * @param h     Handle.
 * @param write Writer callback.
 * @param ud    Passed to @p write.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EIO (writer failed), #LP_ENOMEM.
 */
LP_API int lp_clv_save(const lp_clv *h, lp_writer write, void *ud);

/**
 * @brief Replace options and models with a snapshot's, atomically.
 * @param h    Handle.
 * @param read Reader callback.
 * @param ud   Passed to @p read.
 * @return #LP_OK, #LP_EINVAL (NULL), #LP_EIO, #LP_ECORRUPT (bad structure,
 * value or kind), #LP_EVERSION, #LP_ELIMIT, #LP_ENOMEM. On failure the
 * handle is unchanged.
 */
LP_API int lp_clv_load(lp_clv *h, lp_reader read, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* LIBPROFILE_CLV_H */
