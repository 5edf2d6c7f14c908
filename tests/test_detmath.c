/*
 * Tests for src/core/detmath.h: the deterministic exp, expm1, log, log1p,
 * lgamma, sinh and cosh agree with the platform's libm within a few ulp
 * over random inputs across their domains, give the exact values where
 * mathematics fixes them, follow the documented special-value policy, and
 * give the same bits on every platform (digests of outputs over fixed
 * input sets, pinned here and checked by every architecture in CI).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/detmath.h"

/* Output digests of same_bits_everywhere, recorded on x86-64 (gcc); every
 * architecture and compiler must reproduce them. */
#define DIGEST_EXP 0xf9bf37bf0ae4e583u
#define DIGEST_EXPM1 0x8af76d341bed2e92u
#define DIGEST_LOG 0x161ed8b214741ae2u
#define DIGEST_LOG1P 0x5ae6be05c3fdfe06u
#define DIGEST_LGAMMA 0x7b96928cf69829e5u
#define DIGEST_SINH 0x88557d36da13a3e9u
#define DIGEST_COSH 0x8b06a1db46f23672u

typedef double (*fn1)(double);

/* Distance in units in the last place, through the ordered integer image. */
static uint64_t ulps(double a, double b) {
  int64_t ia, ib;
  memcpy(&ia, &a, sizeof ia);
  memcpy(&ib, &b, sizeof ib);
  if (ia < 0) ia = INT64_MIN - ia;
  if (ib < 0) ib = INT64_MIN - ib;
  return ia > ib ? (uint64_t)ia - (uint64_t)ib : (uint64_t)ib - (uint64_t)ia;
}

/* The test's own generator (xorshift64), independent of core/rng. */
static double uniform(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (double)(*s >> 11) * 0x1p-53;
}

/* Worst ulp distance from libm over n inputs, uniform in [lo, hi] or (when
 * logscale) log-uniform in [lo, hi] with lo > 0. */
static uint64_t worst_ulps(fn1 mine, fn1 ref, double lo, double hi, bool logscale, int n) {
  uint64_t s = 0x9E3779B97F4A7C15u, worst = 0;
  for (int i = 0; i < n; i++) {
    double u = uniform(&s);
    double x = logscale ? exp(log(lo) + (log(hi) - log(lo)) * u) : lo + (hi - lo) * u;
    uint64_t d = ulps(mine(x), ref(x));
    if (d > worst) worst = d;
  }
  return worst;
}

#define N_RANDOM 200000
#define CHECK_RANGE(mine, ref, lo, hi, logscale, bound)                                     \
  do {                                                                                      \
    uint64_t w_ = worst_ulps(mine, ref, lo, hi, logscale, N_RANDOM);                        \
    if (w_ > (bound)) print_error("%s on [%g, %g]: %llu ulp\n", #mine, lo, hi, (unsigned long long)w_); \
    assert_true(w_ <= (bound));                                                             \
  } while (0)

static void exp_matches_libm(void **state) {
  (void)state;
  CHECK_RANGE(lp_det_exp, exp, -745.0, 709.7, false, 2);
  CHECK_RANGE(lp_det_exp, exp, -1.0, 1.0, false, 2);
  CHECK_RANGE(lp_det_exp, exp, 1e-300, 1e-10, true, 2);
  CHECK_RANGE(lp_det_exp, exp, -740.0, -708.0, false, 2); /* subnormal results */
}

static void expm1_matches_libm(void **state) {
  (void)state;
  CHECK_RANGE(lp_det_expm1, expm1, -50.0, 709.0, false, 3);
  CHECK_RANGE(lp_det_expm1, expm1, -3.0, 3.0, false, 3);
  CHECK_RANGE(lp_det_expm1, expm1, 1e-300, 1.0, true, 3);
}

static double neg_expm1(double x) { return lp_det_expm1(-x); }
static double neg_expm1_ref(double x) { return expm1(-x); }
static double neg_log1p(double x) { return lp_det_log1p(-x); }
static double neg_log1p_ref(double x) { return log1p(-x); }

static void expm1_log1p_negative_side(void **state) {
  (void)state;
  CHECK_RANGE(neg_expm1, neg_expm1_ref, 1e-300, 40.0, true, 3);
  CHECK_RANGE(neg_log1p, neg_log1p_ref, 1e-300, 0.999999, true, 2);
}

static void log_matches_libm(void **state) {
  (void)state;
  CHECK_RANGE(lp_det_log, log, 1e-320, 1e308, true, 2); /* subnormals included */
  CHECK_RANGE(lp_det_log, log, 0.5, 2.0, false, 2);
  CHECK_RANGE(lp_det_log1p, log1p, -1.0, 1.0, false, 2);
  CHECK_RANGE(lp_det_log1p, log1p, 1e-300, 1e300, true, 2);
}

static void lgamma_matches_libm(void **state) {
  (void)state;
  CHECK_RANGE(lp_det_lgamma, lgamma, 1e-300, 1e300, true, 6);
  CHECK_RANGE(lp_det_lgamma, lgamma, 0.01, 20.0, false, 6);
  CHECK_RANGE(lp_det_lgamma, lgamma, 0.5, 3.0, false, 6);
  CHECK_RANGE(lp_det_lgamma, lgamma, 10.0, 1e6, true, 6);
}

static void sinh_cosh_match_libm(void **state) {
  (void)state;
  CHECK_RANGE(lp_det_sinh, sinh, -4.0, 4.0, false, 4);
  CHECK_RANGE(lp_det_cosh, cosh, -4.0, 4.0, false, 4);
  CHECK_RANGE(lp_det_sinh, sinh, -710.0, 710.0, false, 4);
  CHECK_RANGE(lp_det_cosh, cosh, -710.0, 710.0, false, 4);
}

/* Values mathematics fixes (not taken from any implementation). */
static void exact_values(void **state) {
  (void)state;
  assert_true(lp_det_exp(0.0) == 1.0);
  assert_true(lp_det_expm1(0.0) == 0.0);
  assert_true(lp_det_log(1.0) == 0.0);
  assert_true(lp_det_log1p(0.0) == 0.0);
  assert_true(lp_det_lgamma(1.0) == 0.0);
  assert_true(lp_det_lgamma(2.0) == 0.0);
  assert_true(ulps(lp_det_log(0x1p-1074), -744.44007192138126) <= 1); /* -1074 ln 2 */
  for (int k = -1022; k <= 1023; k += 7) {
    assert_true(ulps(lp_det_log(ldexp(1.0, k)), (double)k * 0.69314718055994530942) <= 1);
  }
  /* log Gamma(1/2) = log sqrt(pi); log Gamma(n) = log (n-1)! */
  assert_true(ulps(lp_det_lgamma(0.5), 0.57236494292470008707) <= 2);
  assert_true(ulps(lp_det_lgamma(5.0), 3.17805383034794561964) <= 2);  /* log 24 */
  assert_true(ulps(lp_det_lgamma(11.0), 15.10441257307551529523) <= 2); /* log 10! */
  assert_true(ulps(lp_det_exp(1.0), 2.71828182845904523536) <= 1);
  /* tiny arguments: x itself, or 1 */
  assert_true(lp_det_expm1(1e-300) == 1e-300);
  assert_true(lp_det_log1p(-1e-300) == -1e-300);
  assert_true(lp_det_exp(1e-300) == 1.0);
  assert_true(lp_det_sinh(1e-300) == 1e-300);
  assert_true(lp_det_cosh(0.0) == 1.0);
  assert_true(ulps(lp_det_lgamma(1e-300), 690.77552789821368) <= 1); /* -log x */
}

static void special_values(void **state) {
  (void)state;
  const double inf = HUGE_VAL;
  fn1 all[] = {lp_det_exp, lp_det_expm1, lp_det_log, lp_det_log1p, lp_det_lgamma, lp_det_sinh, lp_det_cosh};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) assert_true(isnan(all[i](NAN)));
  assert_true(lp_det_exp(inf) == inf);
  assert_true(lp_det_exp(-inf) == 0.0);
  assert_true(lp_det_exp(710.0) == inf);
  assert_true(lp_det_exp(-746.0) == 0.0);
  assert_true(lp_det_expm1(inf) == inf);
  assert_true(lp_det_expm1(-inf) == -1.0);
  assert_true(lp_det_expm1(-41.0) == -1.0);
  assert_true(lp_det_log(0.0) == -inf);
  assert_true(lp_det_log(-0.0) == -inf);
  assert_true(isnan(lp_det_log(-1.0)));
  assert_true(lp_det_log(inf) == inf);
  assert_true(lp_det_log1p(-1.0) == -inf);
  assert_true(isnan(lp_det_log1p(-1.5)));
  assert_true(lp_det_log1p(inf) == inf);
  assert_true(lp_det_lgamma(0.0) == inf);
  assert_true(lp_det_lgamma(inf) == inf);
  assert_true(isnan(lp_det_lgamma(-0.5)));
  assert_true(lp_det_lgamma(1e308) == inf); /* 7.08e310 */
  assert_true(isfinite(lp_det_lgamma(1e300)));
  assert_true(lp_det_sinh(inf) == inf && lp_det_sinh(-inf) == -inf);
  assert_true(lp_det_cosh(-inf) == inf);
  assert_true(isfinite(lp_det_sinh(710.0)) && isfinite(lp_det_cosh(-710.0)));
}

/* FNV-1a over the output bits of f on 4096 fixed inputs in [lo, hi]: the
 * same value on every platform, or the determinism promise is broken. */
static uint64_t output_digest(fn1 f, double lo, double hi) {
  uint64_t s = 0x2545F4914F6CDD1Du, h = 0xcbf29ce484222325u;
  for (int i = 0; i < 4096; i++) {
    double x = lo + (hi - lo) * uniform(&s), y = f(x);
    uint64_t b;
    memcpy(&b, &y, sizeof b);
    for (int j = 0; j < 8; j++) {
      h ^= (b >> (8 * j)) & 0xff;
      h *= 0x100000001b3u;
    }
  }
  return h;
}

/* The batch forms give, element for element, the bits of the scalar
 * functions: over any bits, both domains' ranges, the special values
 * (NaN, -1, +-inf, 0, tiny, subnormal, past the limits) mixed into the
 * blocks of four, a length that is not a multiple of four, and in place. */
static void batch_forms_same_bits(void **state) {
  (void)state;
  enum { N = 1003 };
  static double in[N], a[N], b[N];
  static const double special[] = {NAN, -1.0, -INFINITY, INFINITY, 0.0, -0.0, 0x1p-60, -0x1p-60,
                                   0x1p-1074, 1e-310, 709.9, -745.2, 708.5, -708.5, -0.999999999};
  const size_t ns = sizeof special / sizeof special[0];
  uint64_t seed = 0x2545F4914F6CDD1Du;
  size_t bad = 0;
  for (int rep = 0; rep < 200; rep++) {
    for (size_t i = 0; i < N; i++) {
      double x;
      switch ((rep + (int)i) % 5) {
      case 0: {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        memcpy(&x, &seed, sizeof x);
        break;
      }
      case 1: x = -750.0 + 1500.0 * uniform(&seed); break;
      case 2: x = uniform(&seed); break;
      case 3: x = -40.0 * uniform(&seed); break;
      default: x = -1.0 + 4.0 * uniform(&seed); break;
      }
      if (i % 17 == (size_t)rep % 17) x = special[(i / 17 + (size_t)rep) % ns];
      in[i] = x;
    }
    const fn1 scalar[2] = {lp_det_exp, lp_det_log1p};
    for (int f = 0; f < 2; f++) {
      memcpy(b, in, sizeof b);
      if (f == 0) {
        lp_det_exp_n(in, a, N);
        lp_det_exp_n(b, b, N); /* in place */
      } else {
        lp_det_log1p_n(in, a, N);
        lp_det_log1p_n(b, b, N);
      }
      for (size_t i = 0; i < N; i++) {
        const double want = scalar[f](in[i]);
        if (memcmp(&a[i], &want, sizeof want) != 0 || memcmp(&b[i], &want, sizeof want) != 0) {
          if (bad < 5) print_error("%s(%a): batch %a, scalar %a\n", f ? "log1p" : "exp", in[i], a[i], want);
          bad++;
        }
      }
    }
  }
  assert_int_equal(bad, 0);
}

static void same_bits_everywhere(void **state) {
  (void)state;
  const struct {
    fn1 f;
    double lo, hi;
    uint64_t digest;
  } t[] = {
      {lp_det_exp, -745.0, 709.0, DIGEST_EXP},
      {lp_det_expm1, -5.0, 5.0, DIGEST_EXPM1},
      {lp_det_log, 0.0, 1e6, DIGEST_LOG},
      {lp_det_log1p, -1.0, 3.0, DIGEST_LOG1P},
      {lp_det_lgamma, 0.0, 30.0, DIGEST_LGAMMA},
      {lp_det_sinh, -4.0, 4.0, DIGEST_SINH},
      {lp_det_cosh, -4.0, 4.0, DIGEST_COSH},
  };
  int moved = 0;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    uint64_t d = output_digest(t[i].f, t[i].lo, t[i].hi);
    if (d != t[i].digest) {
      print_error("digest %zu: 0x%016llxu\n", i, (unsigned long long)d);
      moved++;
    }
  }
  assert_int_equal(moved, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exp_matches_libm),
      cmocka_unit_test(expm1_matches_libm),
      cmocka_unit_test(expm1_log1p_negative_side),
      cmocka_unit_test(log_matches_libm),
      cmocka_unit_test(lgamma_matches_libm),
      cmocka_unit_test(sinh_cosh_match_libm),
      cmocka_unit_test(exact_values),
      cmocka_unit_test(special_values),
      cmocka_unit_test(same_bits_everywhere),
      cmocka_unit_test(batch_forms_same_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
