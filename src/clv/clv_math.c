/*
 * Special functions for the clv models, written with the deterministic
 * lgamma, log, exp, log1p, expm1, sinh and cosh of core/detmath.h only (not
 * libm's, whose last bits differ between platforms), so every platform
 * computes the same terms in the same order and gets the same bits.
 * SPDX-License-Identifier: MIT
 */
#include "clv/clv_internal.h"

double clv_digamma(double x) {
  if (!(x > 0.0) || !isfinite(x)) return NAN;
  double r = 0.0;
  /* Recurrence up to 10, where the asymptotic series below (to the x^-12
   * term) is accurate to about 1e-16. */
  while (x < 10.0) {
    r -= 1.0 / x;
    x += 1.0;
  }
  double f = 1.0 / (x * x);
  double s = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132 - f * (691.0 / 32760))))));
  return r + (lp_det_log(x) - 0.5 / x - s);
}

double clv_lbeta(double a, double b) { return lp_det_lgamma(a) + lp_det_lgamma(b) - lp_det_lgamma(a + b); }

double clv_lse(double a, double b) {
  if (a < b) {
    double t = a;
    a = b;
    b = t;
  }
  if (a == -INFINITY) return -INFINITY;
  return a + lp_det_log1p(lp_det_exp(b - a));
}

/* Terms before a series is declared unsettled (NaN): bounds the time of one
 * evaluation; a fit treats NaN as "no better" and steps back. */
#define CLV_SERIES_MAX 20000u

/* Above this z the series would need thousands of terms (its ratio tends
 * to z): 2F1(a, b; a+1; z) is then taken from its integral. */
#define CLV_2F1_INTEGRAL_Z 0.98

/* 2F1(a, b; a+1; z) = a int_0^1 t^(a-1) (1 - z t)^-b dt = (a / z^a) I,
 *   I = int_0^W (1 - e^-w)^(a-1) e^((b-1) w) dw,  1 - z t = e^-w,
 * W = -log(1 - z) < 37 for any double z < 1. I is taken by the
 * tanh-sinh (double exponential) rule, whose nodes crowd both ends, where
 * the integrand of a frequent buyer grows steeply (e^((b-1) w)) or that
 * of a < 1 is singular; for a < 1 the variable is v = w^a first, in which
 * the integrand (1/a) ((1 - e^-w)/w)^(a-1) e^((b-1) w) is bounded. Log
 * space, a fixed node set and summation order. Gives log 2F1 and, when
 * dlog is not NULL, its derivatives in a, b and z as
 * clv_log_h2f1_a1_grad does. */
#define CLV_DE_H (1.0 / 64.0)
#define CLV_DE_K 200 /* nodes t = k h for |k| <= K: |t| <= 3.125 */
static double de_node(double a, double b, double end, bool vform, int k, double *lw, double *wout) {
  const double t = (double)k * CLV_DE_H, u = 1.5707963267948966 * lp_det_sinh(t), au = fabs(u);
  /* x = tanh(u); (1 + x) / 2 = 1 / (1 + e^-2u), exact near both ends */
  const double half = u >= 0.0 ? 1.0 / (1.0 + lp_det_exp(-2.0 * u)) : lp_det_exp(2.0 * u) / (1.0 + lp_det_exp(2.0 * u));
  const double x = end * half; /* v or w */
  /* log of the weight: log(end/2 * pi/2 * cosh t) - 2 log cosh u */
  const double lcu = au + lp_det_log1p(lp_det_exp(-2.0 * au)) - 0.6931471805599453;
  const double lwt = lp_det_log(end * 0.7853981633974483 * lp_det_cosh(t)) - 2.0 * lcu;
  const double w = vform ? lp_det_exp(lp_det_log(x) / a) : x;
  *wout = w;
  if (!(w > 0.0)) {
    *lw = -INFINITY;
    return -INFINITY;
  }
  const double l1 = lp_det_log(-lp_det_expm1(-w));
  *lw = l1;
  if (vform) return lwt + (a - 1.0) * (l1 - lp_det_log(w)) + (b - 1.0) * w - lp_det_log(a);
  return lwt + (a - 1.0) * l1 + (b - 1.0) * w;
}

static double h2f1_a1_integral(double a, double b, double z, double *dlog) {
  const double W = -lp_det_log1p(-z);
  const bool vform = a < 1.0;
  const double end = vform ? lp_det_exp(a * lp_det_log(W)) : W;
  /* each node once: its log-integrand, log(1 - e^-w) and w kept for the sums */
  double L[2 * CLV_DE_K + 1], LW[2 * CLV_DE_K + 1], WW[2 * CLV_DE_K + 1];
  double M = -INFINITY;
  for (int k = -CLV_DE_K; k <= CLV_DE_K; k++) {
    const size_t i = (size_t)(k + CLV_DE_K);
    L[i] = de_node(a, b, end, vform, k, &LW[i], &WW[i]);
    if (L[i] > M) M = L[i];
  }
  if (!isfinite(M)) return NAN;
  double S = 0.0, Sa = 0.0, Sb = 0.0;
  for (size_t i = 0; i < 2 * CLV_DE_K + 1; i++) {
    const double f = lp_det_exp(L[i] - M);
    if (!(f > 0.0)) continue;
    S += f;
    Sa += f * LW[i];
    Sb += f * WW[i];
  }
  const double val = lp_det_log(a) - a * lp_det_log(z) + M + lp_det_log(S * CLV_DE_H);
  if (dlog != NULL) {
    const double fW = lp_det_exp((a - 1.0) * lp_det_log(-lp_det_expm1(-W)) + (b - 1.0) * W - M);
    dlog[0] = 1.0 / a - lp_det_log(z) + Sa / S;
    dlog[1] = Sb / S;
    dlog[2] = -a / z + fW / ((1.0 - z) * S * CLV_DE_H);
    dlog[3] = 0.0;
  }
  return val;
}

double clv_log_h2f1_a1(double a, double b, double z) {
  if (z == 0.0) return 0.0;
  if (!(z > 0.0 && z < 1.0) || !(a > 0.0) || !(b > 0.0)) return NAN;
  if (z > CLV_2F1_INTEGRAL_Z) return h2f1_a1_integral(a, b, z, NULL);
  /* 2F1(a, b; a+1; z) = (1 - z)^(1 - b) 2F1(1, a + 1 - b; a + 1; z): the
   * terms of the right side are positive and fall by a ratio below z, so
   * nothing overflows however large x is (a and b grow with x). */
  double c = a + 1.0 - b, d = a + 1.0;
  if (!(c > 0.0)) return NAN;
  double term = 1.0, sum = 1.0, tail = z / (1.0 - z);
  for (uint32_t k = 0; k < CLV_SERIES_MAX; k++) {
    term *= (c + k) / (d + k) * z;
    sum += term;
    if (term * tail <= 1e-17 * sum) return (1.0 - b) * lp_det_log1p(-z) + lp_det_log(sum);
  }
  return NAN;
}

double clv_log_h2f1_a1_grad(double a, double b, double z, double *dlog) {
  dlog[0] = dlog[1] = dlog[2] = dlog[3] = 0.0;
  if (!(z >= 0.0 && z < 1.0) || !(a > 0.0) || !(b > 0.0)) return NAN;
  if (z > CLV_2F1_INTEGRAL_Z) return h2f1_a1_integral(a, b, z, dlog);
  /* The same terms, in the same order, as clv_log_h2f1_a1 (the value is
   * bit for bit the same), with the derivatives of the sum S of the
   * Euler form carried along: a term c_k = prod_{j<k} (c+j)/(d+j) z
   * contributes c_k sum_{j<k} 1/(c+j) to dS/dc, -c_k sum_{j<k} 1/(d+j) to
   * dS/dd and k c_k / z to dS/dz. */
  double c = a + 1.0 - b, d = a + 1.0;
  if (!(c > 0.0)) return NAN;
  double term = 1.0, sum = 1.0, tail = z / (1.0 - z);
  double hc = 0.0, hd = 0.0, sc = 0.0, sd = 0.0, sz = 0.0, val = NAN;
  if (z == 0.0) {
    val = 0.0;
    sz = c / d;
  } else {
    for (uint32_t k = 0; k < CLV_SERIES_MAX; k++) {
      const double q = (c + k) / (d + k);
      sz += (k + 1.0) * (term * q);
      hc += 1.0 / (c + k);
      hd += 1.0 / (d + k);
      term *= q * z;
      sum += term;
      sc += term * hc;
      sd -= term * hd;
      if (term * tail <= 1e-17 * sum) {
        val = (1.0 - b) * lp_det_log1p(-z) + lp_det_log(sum);
        break;
      }
    }
    if (val != val) return NAN;
  }
  /* log F = (1 - b) log(1 - z) + log S(c = a + 1 - b, d = a + 1, z) */
  const double Sc = sc / sum, Sd = sd / sum;
  dlog[0] = Sc + Sd;                              /* a */
  dlog[1] = -lp_det_log1p(-z) - Sc;                      /* b */
  dlog[2] = -(1.0 - b) / (1.0 - z) + sz / sum;    /* z */
  return val;
}

double clv_h2f1(double a, double b, double c, double z) {
  if (z == 0.0) return 1.0;
  if (!(z > 0.0 && z < 1.0) || !(c > 0.0)) return NAN;
  double term = 1.0, sum = 1.0;
  for (uint32_t k = 0; k < CLV_SERIES_MAX; k++) {
    const double q = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
    term *= q;
    sum += term;
    if (term == 0.0) return sum;
    /* The ratio of consecutive terms tends to z monotonically: the larger
     * of this ratio and z bounds every later one, hence the tail. */
    double rho = fabs(q);
    if (rho < z) rho = z;
    if (rho < 1.0 && fabs(term) * rho <= 1e-17 * fabs(sum) * (1.0 - rho)) return sum;
  }
  return NAN;
}

/* Gamma(a) for any non-integer a (or a > 0) from lgamma and the
 * recurrence, without libm's global sign (signgam). */
static double gamma_any(double a) {
  double prod = 1.0;
  while (a <= 0.0) {
    prod *= a;
    a += 1.0;
  }
  return lp_det_exp(lp_det_lgamma(a)) / prod;
}

double clv_upper_gamma(double a, double z) {
  if (!(z > 0.0) || !isfinite(z) || !isfinite(a) || (a <= 0.0 && a == floor(a))) return NAN;
  if (z < 1.5 || z < a + 1.0) {
    /* Gamma(a) - gamma(a, z), gamma(a, z) = z^a sum (-z)^k / (k! (a + k)) */
    double term = 1.0, sum = 1.0 / a;
    for (uint32_t k = 1; k < CLV_SERIES_MAX; k++) {
      term *= -z / k;
      double add = term / (a + k);
      sum += add;
      if (fabs(add) <= 1e-17 * fabs(sum)) return gamma_any(a) - lp_det_exp(a * lp_det_log(z)) * sum;
    }
    return NAN;
  }
  /* continued fraction (modified Lentz), z >= a + 1 */
  const double tiny = 1e-300;
  double b = z + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, hh = d;
  for (uint32_t i = 1; i < CLV_SERIES_MAX; i++) {
    double an = -(double)i * ((double)i - a);
    b += 2.0;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double del = d * c;
    hh *= del;
    if (fabs(del - 1.0) <= 1e-16) return lp_det_exp(a * lp_det_log(z) - z) * hh;
  }
  return NAN;
}
