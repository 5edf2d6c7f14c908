/*
 * Internal: deterministic elementary and special functions. Written with
 * + - * /, exact operations (frexp, ldexp, floor, fabs) and IEEE sqrt
 * only, evaluated in a fixed order, so every platform and compiler gives
 * the same bits (libm's exp, log, lgamma... differ in the last bit between
 * glibc builds and architectures). Not correctly rounded: within a few ulp
 * of the true value over the whole domain (tests/test_detmath.c measures
 * the bound against libm). Requires FLT_EVAL_METHOD == 0 arithmetic and no
 * contraction (-ffp-contract=off), as the whole library does.
 * Special values follow C99 Annex F: NaN in, NaN out; see each function.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_DETMATH_H
#define LP_CORE_DETMATH_H

#include <stddef.h>

/* e^x; +inf above ~709.78, +0 below ~-745.13, exp(-inf) = 0. */
double lp_det_exp(double x);
/* e^x - 1, accurate near 0; -1 below -40, +inf above ~709.78. */
double lp_det_expm1(double x);
/* Natural log; log(0) = -inf, log(x < 0) = NaN, log(inf) = inf. */
double lp_det_log(double x);
/* log(1 + x), accurate near 0; log1p(-1) = -inf, x < -1 gives NaN. */
double lp_det_log1p(double x);
/* log |Gamma(x)| for x > 0 (lgamma(0) = +inf, lgamma(inf) = inf);
 * x < 0 gives NaN (not needed by the library). */
double lp_det_lgamma(double x);
/* out[i] = lp_det_exp(in[i]) and lp_det_log1p(in[i]) for n values, the
 * same bits, four at a time with the steps of their series interleaved
 * (independent chains a processor overlaps). in and out may be the same
 * array. */
void lp_det_exp_n(const double *in, double *out, size_t n);
void lp_det_log1p_n(const double *in, double *out, size_t n);
/* Hyperbolic sine and cosine from lp_det_exp / lp_det_expm1. */
double lp_det_sinh(double x);
double lp_det_cosh(double x);

#endif /* LP_CORE_DETMATH_H */
