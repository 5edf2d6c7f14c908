/*
 * Feature scaling learnt at fit time and applied at predict time. log1p and
 * its inverse are computed here from + - * / and exact operations only
 * (frexp, ldexp, floor), so the scaled values, and therefore the labels,
 * are the same bits whatever the platform's libm.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "kmeans/scale.h"

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^20 (fdlibm's split). */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;

/* log(u) for finite u > 0: u = m * 2^e with m in [sqrt(1/2), sqrt(2)), and
 * log(m) = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.172, whose odd
 * series reaches double precision by s^29. */
static double km_log(double u) {
  int e;
  double m = frexp(u, &e);
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double series = 0.0;
  for (int j = 29; j >= 3; j -= 2) series = (series + 1.0 / (double)j) * s2;
  double log_m = 2.0 * s + 2.0 * s * series;
  return ((double)e * LN2_HI + log_m) + (double)e * LN2_LO;
}

double km_log1p(double x) {
  double u = 1.0 + x;
  if (u == 1.0) return x;
  /* Kahan's correction: log(u) * x / (u - 1) undoes the rounding of 1 + x. */
  return km_log(u) * (x / (u - 1.0));
}

/* e^r - 1 by its Taylor series, for |r| <= 0.5 (terms fall below 2^-60 by r^19). */
static double km_expm1_small(double r) {
  double sum = 0.0;
  for (int j = 20; j >= 1; j--) sum = r / (double)j * (1.0 + sum);
  return sum;
}

double km_expm1(double x) {
  if (x > 709.0) return HUGE_VAL;
  if (x < -40.0) return -1.0;
  if (x >= -0.5 && x <= 0.5) return km_expm1_small(x);
  double kf = floor(x * 1.44269504088896340736 + 0.5);
  double r = (x - kf * LN2_HI) - kf * LN2_LO;
  return ldexp(km_expm1_small(r) + 1.0, (int)kf) - 1.0;
}

static bool km_kind_valid(uint32_t kind) { return kind <= LP_KMEANS_SCALE_LOG1P; }

int km_learn_columns(lp_error *err, const double *x, const float *xf, size_t n, size_t d,
                     const uint32_t *kinds, km_column *cols) {
  for (size_t t = 0; t < d; t++) {
    km_column c = {kinds[t], 0.0, 1.0};
    if (!km_kind_valid(c.kind))
      return lp_error_set(err, LP_EINVAL, "scales[%zu]: unknown scaling %u", t, c.kind);
    if (c.kind == LP_KMEANS_SCALE_ZSCORE || c.kind == LP_KMEANS_SCALE_MINMAX) {
      double sum = 0.0, lo = HUGE_VAL, hi = -HUGE_VAL;
      for (size_t i = 0; i < n; i++) {
        double v = x != NULL ? x[i * d + t] : (double)xf[i * d + t];
        if (!isfinite(v))
          return lp_error_set(err, LP_EINVAL, "x: row %zu column %zu is not finite", i, t);
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (c.kind == LP_KMEANS_SCALE_MINMAX) {
        c.shift = lo;
        c.scale = hi - lo;
        if (!(c.scale > 0.0) || !isfinite(c.scale))
          return lp_error_set(err, LP_EINVAL,
                              "x: column %zu has a zero or unusable range under min-max "
                              "scaling", t);
      } else {
        double mean = sum / (double)n, ss = 0.0;
        for (size_t i = 0; i < n; i++) {
          double v = (x != NULL ? x[i * d + t] : (double)xf[i * d + t]) - mean;
          ss += v * v;
        }
        c.shift = mean;
        c.scale = sqrt(ss / (double)n);
        if (!(c.scale > 0.0) || !isfinite(c.scale) || !isfinite(mean))
          return lp_error_set(err, LP_EINVAL,
                              "x: column %zu has zero (or unusable) variance under "
                              "z-score scaling", t);
      }
    }
    cols[t] = c;
  }
  return LP_OK;
}

bool km_scale_value(const km_column *c, double v, double *out) {
  if (!isfinite(v)) return false;
  if (c->kind == LP_KMEANS_SCALE_LOG1P) {
    if (!(v > -1.0)) return false;
    v = km_log1p(v);
  }
  double s = (v - c->shift) / c->scale;
  if (!(s >= -KM_MAX_ABS && s <= KM_MAX_ABS)) return false;
  *out = s;
  return true;
}

double km_unscale_value(const km_column *c, double s) {
  double v = s * c->scale + c->shift;
  return c->kind == LP_KMEANS_SCALE_LOG1P ? km_expm1(v) : v;
}

int km_scale_rows(lp_error *err, const km_column *cols, const double *x, const float *xf,
                  size_t n, size_t d, double *out) {
  for (size_t i = 0; i < n; i++) {
    for (size_t t = 0; t < d; t++) {
      double v = x != NULL ? x[i * d + t] : (double)xf[i * d + t], s;
      if (km_scale_value(&cols[t], v, &s)) {
        if (out != NULL) out[i * d + t] = s;
      } else {
        return lp_error_set(err, LP_EINVAL,
                            "x: row %zu column %zu is not finite, too large (|scaled| > "
                            "1e100) or outside the domain of its scaling (log1p needs "
                            "x > -1)", i, t);
      }
    }
  }
  return LP_OK;
}

bool km_column_valid(const km_column *c) {
  switch (c->kind) {
  case LP_KMEANS_SCALE_NONE:
  case LP_KMEANS_SCALE_LOG1P:
    return c->shift == 0.0 && c->scale == 1.0;
  case LP_KMEANS_SCALE_ZSCORE:
  case LP_KMEANS_SCALE_MINMAX:
    return isfinite(c->shift) && isfinite(c->scale) && c->scale > 0.0;
  default:
    return false;
  }
}
