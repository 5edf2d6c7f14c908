/*
 * Deterministic exp, expm1, log, log1p, lgamma, sinh, cosh (see detmath.h).
 * Range reductions are exact (powers of two by frexp/ldexp, ln 2 split so
 * that k * LN2_HI is exact); the reduced arguments go through fixed
 * Taylor / atanh / zeta series whose coefficients are double constants.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/detmath.h"

/* Exact replacements of ldexp, frexp and floor for the ranges where they
 * are exact by construction (normal numbers; |v| < 2^52): the bits are
 * those of the libm calls, without the call. */
static double bits_double(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* v 2^k; a multiplication by a power of two is exact while the result is
 * normal, which holds for v in [0.5, 2) and -1021 <= k <= 1022. */
static double scale2(double v, int k) {
  if (k >= -1021 && k <= 1022) return v * bits_double((uint64_t)(k + 1023) << 52);
  return ldexp(v, k);
}

/* floor(v) for |v| < 2^52 (always so here: |x / ln 2| < 1100). */
static double floor_small(double v) {
  double t = (double)(int64_t)v; /* truncation towards 0, exact */
  return t > v ? t - 1.0 : t;
}

/* ln 2 split so that k * LN2_HI is exact for the |k| <= 1075 used here
 * (fdlibm's split). */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.4426950408889634;
static const double EXP_OVERFLOW = 7.09782712893383973096e+02;
static const double EXP_UNDERFLOW = -7.45133219101941108420e+02;
static const double HALF_LOG_2PI = 0.9189385332046728;

/* e^r - 1 by its Taylor series for |r| <= 0.5, Horner in 1/j! (j <= 16:
 * the first term left out is below 2^-60 of the sum). */
static const double INV_FACT[] = {
    1.0,
    0.5,
    0.16666666666666666,
    0.041666666666666664,
    0.008333333333333333,
    0.001388888888888889,
    0.0001984126984126984,
    2.48015873015873e-05,
    2.7557319223985893e-06,
    2.755731922398589e-07,
    2.505210838544172e-08,
    2.08767569878681e-09,
    1.6059043836821613e-10,
    1.1470745597729725e-11,
    7.647163731819816e-13,
    4.779477332387385e-14,
};
static double expm1_series(double r) {
  double sum = 0.0;
  for (int j = 15; j >= 0; j--) sum = r * (INV_FACT[j] + sum);
  return sum;
}

/* x = k ln2 + r, |r| <= ln2 / 2 (plus rounding); k returned as a double. */
static double reduce_ln2(double x, double *r) {
  double k = floor_small(x * INV_LN2 + 0.5);
  *r = (x - k * LN2_HI) - k * LN2_LO;
  return k;
}

double lp_det_exp(double x) {
  if (x != x) return x;
  if (x > EXP_OVERFLOW) return HUGE_VAL;
  if (x < EXP_UNDERFLOW) return 0.0;
  if (fabs(x) < 0x1p-54) return 1.0 + x;
  double r;
  double k = reduce_ln2(x, &r);
  return scale2(1.0 + expm1_series(r), (int)k);
}

/* lp_det_exp's path for x in [EXP_UNDERFLOW, EXP_OVERFLOW] with |x| >=
 * 2^-54 whose 2^k is a normal number (-1021 <= k <= 1022): every x of the
 * domain but the last ulps near the limits. */
static bool exp_regular(double x) { return x >= -708.0 && x <= 708.0 && fabs(x) >= 0x1p-54; }

#define DET_LANES 4

void lp_det_exp_n(const double *in, double *out, size_t n) {
  size_t i = 0;
  for (; i + DET_LANES <= n; i += DET_LANES) {
    bool regular = true;
    for (int l = 0; l < DET_LANES; l++) regular = regular && exp_regular(in[i + l]);
    if (!regular) {
      for (int l = 0; l < DET_LANES; l++) out[i + l] = lp_det_exp(in[i + l]);
      continue;
    }
    /* lp_det_exp's operations lane by lane, the series' steps interleaved */
    double r[DET_LANES], k[DET_LANES], sum[DET_LANES];
    for (int l = 0; l < DET_LANES; l++) {
      k[l] = reduce_ln2(in[i + l], &r[l]);
      sum[l] = 0.0;
    }
    for (int j = 15; j >= 0; j--)
      for (int l = 0; l < DET_LANES; l++) sum[l] = r[l] * (INV_FACT[j] + sum[l]);
    for (int l = 0; l < DET_LANES; l++) out[i + l] = scale2(1.0 + sum[l], (int)k[l]);
  }
  for (; i < n; i++) out[i] = lp_det_exp(in[i]);
}

double lp_det_expm1(double x) {
  if (x != x) return x;
  if (x > EXP_OVERFLOW) return HUGE_VAL;
  if (x < -40.0) return -1.0;
  if (x >= -0.5 && x <= 0.5) return expm1_series(x);
  double r;
  int k = (int)reduce_ln2(x, &r);
  double em = expm1_series(r);
  /* 2^k (e^r - 1) + (2^k - 1): 2^k - 1 is exact for -53 <= k <= 53 */
  if (k > 53) return ldexp(em + 1.0, k) - 1.0;
  return ldexp(em, k) + (ldexp(1.0, k) - 1.0);
}

/* log(1 + f) for f = m - 1, m in [sqrt(1/2), sqrt(2)), as fdlibm arranges
 * it: s = f / (2 + f), log(1 + f) = f - hfsq + s (hfsq + R) with
 * R = sum_j 2 s^(2j) / (2j + 1) (s^2 < 0.0295: 12 terms reach 2^-60). */
static const double LOG_C[] = { /* 2 / (2j + 1), j = 1..12 */
    0.6666666666666666,
    0.4,
    0.2857142857142857,
    0.2222222222222222,
    0.18181818181818182,
    0.15384615384615385,
    0.13333333333333333,
    0.11764705882352941,
    0.10526315789473684,
    0.09523809523809523,
    0.08695652173913043,
    0.08,
};

static double log1p_combine(double f, double s, double R, double k, double corr) {
  double hfsq = 0.5 * f * f;
  return k * LN2_HI - ((hfsq - (s * (hfsq + R) + (k * LN2_LO + corr))) - f);
}

static double log1p_reduced(double f, double k, double corr) {
  double s = f / (2.0 + f), z = s * s;
  const double *C = LOG_C;
  double R = 0.0;
  for (int j = 11; j >= 0; j--) R = z * (C[j] + R);
  return log1p_combine(f, s, R, k, corr);
}

/* u = m 2^e with m in [sqrt(1/2), sqrt(2)); returns m - 1 (exact) and e. */
static double split_log(double u, double *e) {
  int ei;
  double m;
  uint64_t b;
  memcpy(&b, &u, sizeof b);
  const uint64_t be = (b >> 52) & 0x7ffu;
  if (be != 0 && be != 0x7ffu) { /* normal and positive: frexp by the bits */
    ei = (int)be - 1022;
    m = bits_double((b & 0x800fffffffffffffu) | ((uint64_t)1022 << 52));
  } else {
    m = frexp(u, &ei);
  }
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    ei -= 1;
  }
  *e = (double)ei;
  return m - 1.0;
}

double lp_det_log(double x) {
  if (x != x) return x;
  if (x < 0.0) return NAN;
  if (x == 0.0) return -HUGE_VAL;
  if (x == HUGE_VAL) return x;
  double e;
  double f = split_log(x, &e);
  return log1p_reduced(f, e, 0.0);
}

/* lp_det_log1p's first steps for x in its regular path (finite, > -1,
 * |x| >= 2^-54): u = 1 + x, its rounding error c, and the split of u. */
static double log1p_split(double x, double *e, double *corr) {
  double u = 1.0 + x, bb = u - 1.0;
  double c = (1.0 - (u - bb)) + (x - bb);
  double f = split_log(u, e);
  *corr = c / u;
  return f;
}

double lp_det_log1p(double x) {
  if (x != x) return x;
  if (x < -1.0) return NAN;
  if (x == -1.0) return -HUGE_VAL;
  if (x == HUGE_VAL) return x;
  if (fabs(x) < 0x1p-54) return x;
  /* u = 1 + x and its exact rounding error c (two-sum); log(u + c) =
   * log(u) + c / u to first order (|c / u| <= 2^-53) */
  double e, corr;
  double f = log1p_split(x, &e, &corr);
  return log1p_reduced(f, e, corr);
}

void lp_det_log1p_n(const double *in, double *out, size_t n) {
  size_t i = 0;
  for (; i + DET_LANES <= n; i += DET_LANES) {
    bool regular = true;
    for (int l = 0; l < DET_LANES; l++) {
      const double x = in[i + l];
      regular = regular && x > -1.0 && x < HUGE_VAL && fabs(x) >= 0x1p-54;
    }
    if (!regular) {
      for (int l = 0; l < DET_LANES; l++) out[i + l] = lp_det_log1p(in[i + l]);
      continue;
    }
    /* lp_det_log1p's operations lane by lane, the series' steps interleaved */
    double f[DET_LANES], e[DET_LANES], corr[DET_LANES], s[DET_LANES], z[DET_LANES], R[DET_LANES];
    for (int l = 0; l < DET_LANES; l++) {
      f[l] = log1p_split(in[i + l], &e[l], &corr[l]);
      s[l] = f[l] / (2.0 + f[l]);
      z[l] = s[l] * s[l];
      R[l] = 0.0;
    }
    for (int j = 11; j >= 0; j--)
      for (int l = 0; l < DET_LANES; l++) R[l] = z[l] * (LOG_C[j] + R[l]);
    for (int l = 0; l < DET_LANES; l++) out[i + l] = log1p_combine(f[l], s[l], R[l], e[l], corr[l]);
  }
  for (; i < n; i++) out[i] = lp_det_log1p(in[i]);
}

/* lgamma(1 + z) = -gamma z + sum_k>=2 (-1)^k zeta(k) / k z^k, |z| <= 1/2;
 * lgamma(2 + z) = (1 - gamma) z + sum_k>=2 (-1)^k (zeta(k) - 1) / k z^k.
 * Coefficients from 50-digit zeta values, rounded to double. */
static const double LGAMMA1P_C[] = {
  -0.5772156649015329, /* -gamma */
  0.8224670334241132,
  -0.40068563438653143,
  0.27058080842778454,
  -0.20738555102867398,
  0.1695571769974082,
  -0.1440498967688461,
  0.12550966952474304,
  -0.11133426586956469,
  0.1000994575127818,
  -0.09095401714582904,
  0.083353840546109,
  -0.0769325164113522,
  0.07143294629536133,
  -0.06666870588242046,
  0.06250095514121304,
  -0.058823978658684585,
  0.055555767627403614,
  -0.05263167937961666,
  0.05000004769810169,
  -0.047619070330142226,
  0.04545455629320467,
  -0.04347826605304026,
  0.04166666915034121,
  -0.04000000119214014,
  0.03846153903467518,
  -0.037037037312989324,
  0.035714285847333355,
  -0.034482758684919304,
  0.03333333336437758,
  -0.03225806453115042,
  0.03125000000727597,
  -0.030303030306558044,
  0.029411764707594344,
  -0.02857142857226011,
  0.027777777778181998,
  -0.027027027027223673,
  0.02631578947377995,
  -0.025641025641072283,
  0.025000000000022737,
  -0.024390243902450117,
  0.023809523809529224,
  -0.023255813953491015,
  0.02272727272727402,
  -0.022222222222222855,
  0.021739130434782917,
  -0.021276595744681003,
  0.02083333333333341,
  -0.02040816326530616,
  0.020000000000000018,
  -0.019607843137254912,
  0.019230769230769235,
  -0.01886792452830189,
  0.01851851851851852,
  -0.01818181818181818,
  0.017857142857142856,
};
static const double LGAMMA2P_C[] = {
  0.42278433509846713, /* 1 - gamma */
  0.3224670334241132,
  -0.0673523010531981,
  0.020580808427784546,
  -0.007385551028673986,
  0.0028905103307415234,
  -0.001192753911703261,
  0.0005096695247430425,
  -0.00022315475845357939,
  9.945751278180853e-05,
  -4.492623673813314e-05,
  2.050721277567069e-05,
  -9.439488275268397e-06,
  4.374866789907488e-06,
  -2.039215753801366e-06,
  9.55141213040742e-07,
  -4.492469198764566e-07,
  2.1207184805554665e-07,
  -1.0043224823968099e-07,
  4.7698101693639804e-08,
  -2.2711094608943164e-08,
  1.0838659214896955e-08,
  -5.183475041970047e-09,
  2.4836745438024785e-09,
  -1.1921401405860912e-09,
  5.731367241678862e-10,
  -2.7595228851242334e-10,
  1.330476437424449e-10,
  -6.4229645638381e-11,
  3.1044247747322276e-11,
};

static double poly_z(const double *c, int n, double z) {
  double p = 0.0;
  for (int i = n - 1; i >= 0; i--) p = z * (c[i] + p);
  return p;
}
#define NCOEF(a) ((int)(sizeof(a) / sizeof((a)[0])))

double lp_det_lgamma(double x) {
  if (x != x) return x;
  if (x < 0.0) return NAN;
  if (x == 0.0 || x == HUGE_VAL) return HUGE_VAL;
  if (x < 0x1p-60) return -lp_det_log(x); /* the rest is below x * 0.58 */
  if (x < 0.5) return poly_z(LGAMMA1P_C, NCOEF(LGAMMA1P_C), x) - lp_det_log(x);
  if (x < 1.5) return poly_z(LGAMMA1P_C, NCOEF(LGAMMA1P_C), x - 1.0);
  if (x < 2.5) return poly_z(LGAMMA2P_C, NCOEF(LGAMMA2P_C), x - 2.0);
  if (x < 10.0) {
    /* x = y + n, y in [1.5, 2.5): y and every y + j are exact (multiples of
     * ulp(x) below x); lgamma(x) = lgamma(y) + log(y (y + 1) ... (x - 1)) */
    double n = floor(x - 1.5);
    double y = x - n, prod = 1.0;
    for (double j = 0.0; j < n; j += 1.0) prod *= y + j;
    return poly_z(LGAMMA2P_C, NCOEF(LGAMMA2P_C), y - 2.0) + lp_det_log(prod);
  }
  /* Stirling: (x - 1/2) log x - x + log(2 pi) / 2 + sum B2k / (2k (2k-1) x^(2k-1)),
   * to the B16 term (below 2^-55 of the result at x = 10) */
  double lx = lp_det_log(x);
  double w = 0.0;
  if (x < 0x1p40) {
    double ix = 1.0 / x, ix2 = ix * ix;
    w = ix * (0.08333333333333333 +
              ix2 * (-0.002777777777777778 +
                     ix2 * (0.0007936507936507937 +
                            ix2 * (-0.0005952380952380953 +
                                   ix2 * (0.0008417508417508417 +
                                          ix2 * (-0.0019175269175269176 +
                                                 ix2 * (0.00641025641025641 + ix2 * -0.029550653594771242)))))));
  }
  if (x > 0x1p1000) return x * (lx - 1.0); /* the other terms are below its ulp */
  return (x - 0.5) * (lx - 1.0) + (HALF_LOG_2PI - 0.5 + w);
}

double lp_det_sinh(double x) {
  if (x != x) return x;
  double ax = fabs(x), h = x < 0.0 ? -0.5 : 0.5;
  if (ax < 0x1p-28) return x;
  if (ax < 22.0) {
    double t = lp_det_expm1(ax);
    return h * (t + t / (t + 1.0));
  }
  if (ax < EXP_OVERFLOW) return h * lp_det_exp(ax);
  /* e^ax / 2 = (e^(ax/2) / 2) e^(ax/2) stays finite up to ~710.47 */
  double w = lp_det_exp(0.5 * ax);
  return (h * w) * w;
}

double lp_det_cosh(double x) {
  if (x != x) return x;
  double ax = fabs(x);
  if (ax < 22.0) {
    double t = lp_det_exp(ax);
    return 0.5 * t + 0.5 / t;
  }
  if (ax < EXP_OVERFLOW) return 0.5 * lp_det_exp(ax);
  double w = lp_det_exp(0.5 * ax);
  return (0.5 * w) * w;
}
