/*
 * Tests for pctl_format_double() (tools/profilectl/textutil.h, digits in
 * fmtdouble.c).
 *
 * The reference is the former implementation, kept as the oracle in
 * format_double_oracle.h: it tries "%.*g" with 1..17 significant digits and
 * keeps the first that strtod reads back (glibc's printf and strtod are
 * exact, half to even).
 * Every value below is formatted both ways and the texts must be equal
 * byte for byte. The literal expectations were computed with Python 3
 * ("%.*g" % (p, v) and float(), which are exact too), not with this code.
 *
 * The number of random values scales with the environment variable
 * PCTL_FMTD_SCALE (a positive integer, default 1: about 0.8M values, some
 * 3 CPU seconds, nearly all of them in the oracle).
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "fmtdouble.h"
#include "format_double_oracle.h"
#include "textutil.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t n_checked;

static double from_bits(uint64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

static uint64_t to_bits(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

/* Format v both ways (and -v), fail with the bit pattern on a difference. */
static void check(double v) {
  for (int s = 0; s < 2; s++, v = -v) {
    char want[PCTL_DOUBLE_BUF], got[PCTL_DOUBLE_BUF];
    memset(got, 'x', sizeof got);
    oracle_format(want, v);
    char *r = pctl_format_double(got, v);
    if (r != got || strcmp(want, got) != 0 || strlen(got) + 1 > PCTL_FMTDOUBLE_MAX)
      fail_msg("bits 0x%016" PRIx64 " (%.17g): want \"%s\", got \"%s\"", to_bits(v), v, want, got);
    char direct[PCTL_FMTDOUBLE_MAX];
    size_t n = pctl_fmtdouble(direct, v);
    assert_int_equal(n, strlen(want));
    assert_string_equal(direct, want);
    n_checked++;
  }
}

static void check_bits(uint64_t b) { check(from_bits(b)); }

/* Neighbours of v within `ulps` steps (same sign, finite). */
static void check_around(double v, int ulps) {
  uint64_t b = to_bits(fabs(v));
  for (int d = -ulps; d <= ulps; d++) {
    uint64_t x = b + (uint64_t)(int64_t)d;
    if (d < 0 && (uint64_t)(-d) > b) continue;
    if (x >= UINT64_C(0x7FF0000000000000)) continue;
    check_bits(x);
  }
}

static uint64_t scale_factor(void) {
  const char *s = getenv("PCTL_FMTD_SCALE");
  if (s == NULL || *s == '\0') return 1;
  unsigned long long n = strtoull(s, NULL, 10);
  return n == 0 ? 1 : (uint64_t)n;
}

/* ---- literal cases ---------------------------------------------------- */

typedef struct lit_case {
  double v;
  const char *text;
} lit_case;

static void test_literals(void **state) {
  (void)state;
  static const lit_case cases[] = {
    {217.99, "217.99"},
    {0.30000000000000004, "0.30000000000000004"},
    {1e-5, "1e-05"},
    {100.0, "100"},
    {1e16, "1e+16"},
    {1e15, "1000000000000000"},
    {123456789012345678.0, "1.2345678901234568e+17"},
    {12345678901234568.0, "12345678901234568"},
    {10000000000000002.0, "10000000000000002"},
    {5e-324, "5e-324"},
    {1.5e-323, "1.5e-323"},
    {1e-323, "1e-323"},
    {5e-310, "5e-310"},
    {DBL_MAX, "1.7976931348623157e+308"},
    {DBL_MIN, "2.2250738585072014e-308"},
    {2.2250738585072009e-308, "2.225073858507201e-308"}, /* largest subnormal */
    {0.1, "0.1"},
    {1.0 / 3.0, "0.3333333333333333"},
    {2.0 / 3.0, "0.6666666666666666"},
    {-1.5, "-1.5"},
    {1e21, "1e+21"},
    {1e22, "1e+22"},
    {1e23, "1e+23"},
    {1e-4, "0.0001"},
    {0.0001234, "0.0001234"},
    {1e-7, "1e-07"},
    {9007199254740992.0, "9007199254740992"},
    {9007199254740994.0, "9007199254740994"},
    {9999999999999998.0, "9999999999999998"},
    {9.5e15, "9500000000000000"},
    {99999999999999.98, "99999999999999.98"},
    {12345.678, "12345.678"},
    {-0.001, "-0.001"},
    {2.675, "2.675"},
    {1e100, "1e+100"},
    {1.5e300, "1.5e+300"},
    {123e18, "1.23e+20"},
    {8.98846567431158e307, "8.98846567431158e+307"},
    {0.1 + 0.7, "0.7999999999999999"},
    {0.0, "0"},
    {-0.0, "0"},
    {1.0, "1"},
    {-1.0, "-1"},
    /* Boundary inclusion: the 16-digit value is exactly the midpoint to
     * the neighbour below. 2^54 + 8 has an even significand, so strtod
     * rounds the midpoint to it (16 digits suffice); 2^54 + 28 has an odd
     * one, the midpoint goes to the neighbour (17 digits). */
    {18014398509481992.0, "1.801439850948199e+16"},
    {18014398509482012.0, "18014398509482012"},
    /* Powers of two where the correctly rounded 16-digit value misses the
     * narrow lower half gap although another 16-digit value (Ryu's and
     * Python repr's answer, in the comment) reads back: the definition
     * takes 17 digits. */
    {0x1p-1017, "7.1202363472230444e-307"}, /* 7.120236347223045e-307 */
    {0x1p-1007, "7.2911220195563975e-304"}, /* 7.291122019556398e-304 */
    {0x1p-957, "8.2090736025967525e-289"},  /* 8.209073602596753e-289 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[PCTL_DOUBLE_BUF], ref[PCTL_DOUBLE_BUF];
    pctl_format_double(buf, cases[i].v);
    if (strcmp(buf, cases[i].text) != 0)
      fail_msg("%.17g: want \"%s\", got \"%s\"", cases[i].v, cases[i].text, buf);
    assert_string_equal(oracle_format(ref, cases[i].v), cases[i].text);
  }
}

static void test_specials(void **state) {
  (void)state;
  char buf[PCTL_DOUBLE_BUF];
  assert_string_equal(pctl_format_double(buf, (double)NAN), "nan");
  assert_string_equal(pctl_format_double(buf, -(double)NAN), "nan");
  assert_string_equal(pctl_format_double(buf, from_bits(UINT64_C(0x7FF0000000000001))), "nan");
  assert_string_equal(pctl_format_double(buf, from_bits(UINT64_C(0xFFFFFFFFFFFFFFFF))), "nan");
  assert_string_equal(pctl_format_double(buf, (double)INFINITY), "inf");
  assert_string_equal(pctl_format_double(buf, -(double)INFINITY), "-inf");
  assert_string_equal(pctl_format_double(buf, 0.0), "0");
  assert_string_equal(pctl_format_double(buf, -0.0), "0");
  /* Every special bit pattern agrees with the oracle too. */
  check_bits(UINT64_C(0x7FF0000000000000));
  check_bits(UINT64_C(0x7FF8000000000000));
  check_bits(UINT64_C(0x7FF0000000000001));
  check_bits(UINT64_C(0x7FFFFFFFFFFFFFFF));
  check_bits(0);
}

/* The powers of two where the definition is not the shortest decimal of
 * the interval: the 16-digit text of Ryu reads back, ours has 17 digits
 * and is what the oracle prints. */
static void test_not_shortest(void **state) {
  (void)state;
  static const struct {
    int exp2;
    const char *shorter;
  } cases[] = {
    {-1017, "7.120236347223045e-307"},
    {-1007, "7.291122019556398e-304"},
    {-957, "8.209073602596753e-289"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double v = ldexp(1.0, cases[i].exp2);
    assert_true(strtod(cases[i].shorter, NULL) == v);
    char buf[PCTL_DOUBLE_BUF];
    pctl_format_double(buf, v);
    assert_int_equal(strlen(buf), strlen(cases[i].shorter) + 1);
    check(v);
  }
}

/* ---- sweeps against the oracle ---------------------------------------- */

static void test_powers(void **state) {
  (void)state;
  /* Every power of two (the asymmetric intervals), with neighbours. */
  for (int k = -1074; k <= 1023; k++) {
    double v = ldexp(1.0, k);
    check(v);
    check_around(v, 2);
  }
  /* Every power of ten, with neighbours. */
  for (int k = -323; k <= 308; k++) {
    char t[32];
    snprintf(t, sizeof t, "1e%d", k);
    double v = strtod(t, NULL);
    check_around(v, 3);
    /* Just below and above the boundary in decimal: 9.99..9e(k-1). */
    snprintf(t, sizeof t, "9.9999e%d", k - 1);
    check_around(strtod(t, NULL), 1);
    snprintf(t, sizeof t, "9.99999999999999e%d", k - 1);
    check_around(strtod(t, NULL), 3);
    snprintf(t, sizeof t, "1.00000000000001e%d", k);
    check_around(strtod(t, NULL), 3);
  }
}

static void test_extremes(void **state) {
  (void)state;
  check_around(DBL_MAX, 40);
  check_around(DBL_MIN, 40);
  check_around(DBL_TRUE_MIN, 40);
  check_around(DBL_EPSILON, 10);
  /* The first and last subnormals, and the range around 2^53 and 1e16
   * (whole numbers printed in full, their spacing growing 1, 2, 4). */
  for (uint64_t b = 1; b < 5000; b++) check_bits(b);
  for (uint64_t b = UINT64_C(0x0010000000000000) - 5000; b < UINT64_C(0x0010000000000000) + 5000; b++)
    check_bits(b);
  check_around(9007199254740992.0, 5000);
  check_around(1e16, 5000);
  check_around(1e17, 2000);
  check_around(1e15, 2000);
  for (double x = 9.999e15; x < 1.0001e16; x += 1.0e10) check_around(x, 50);
}

static void test_random_bits(void **state) {
  (void)state;
  lp_rng st;
  lp_rng_seed(&st, 12345);
  uint64_t n = 60000 * scale_factor();
  for (uint64_t i = 0; i < n; i++) check_bits(lp_rng_next(&st));
  /* Subnormals with random significands. */
  for (uint64_t i = 0; i < n / 10; i++) check_bits(lp_rng_next(&st) & ((UINT64_C(1) << 52) - 1));
  /* Random significands at the exponents of everyday values (1e-6..2^53:
   * the 64-bit path, up to where its S runs out of factors of two). */
  for (uint64_t i = 0; i < n; i++) {
    uint64_t b = lp_rng_next(&st);
    uint64_t be = 1003 + (b >> 52) % 72;
    check_bits((be << 52) | (b & ((UINT64_C(1) << 52) - 1)));
  }
}

static void test_short_decimals(void **state) {
  (void)state;
  /* x.yz for every x < 1000 and digits y, z; and the same scaled by
   * powers of ten, as strtod reads them. */
  char t[40];
  for (int x = 0; x < 1000; x++)
    for (int yz = 0; yz < 100; yz++) {
      snprintf(t, sizeof t, "%d.%02d", x, yz);
      check(strtod(t, NULL));
    }
  for (int e = -30; e <= 30; e += 3)
    for (int i = 1; i < 2000; i += 7) {
      snprintf(t, sizeof t, "%d.%de%d", i / 10, i % 10, e);
      check(strtod(t, NULL));
      snprintf(t, sizeof t, "0.%03de%d", i % 1000, e);
      check(strtod(t, NULL));
    }
  /* Prices with cents, 0.1 + 0.2 and friends. */
  for (int a = 1; a < 100; a++)
    for (int b = 1; b < 100; b++) check(a / 10.0 + b / 10.0);
}

static void test_computations(void **state) {
  (void)state;
  lp_rng st;
  lp_rng_seed(&st, 777);
  uint64_t n = 6000 * scale_factor();
  double sum = 0.0, prod = 1.0;
  for (uint64_t i = 0; i < n; i++) {
    double u = lp_rng_double(&st);
    double price = (double)(lp_rng_next(&st) % 100000) / 100.0;
    sum += price;
    prod *= 0.5 + u;
    if (prod < 1e-200 || prod > 1e200) prod = 1.0;
    check(sum);
    check(prod);
    check(u);                          /* a probability */
    check(price * 1.19);               /* a price with tax */
    check(log1p(u * 1000.0));          /* logs */
    check(exp(-u * 30.0));             /* a survival probability */
    check(price / (1.0 + (double)i)); /* an average */
    check(sqrt(price));
    check(pow(u, 7.5) * 1e-3);        /* small values (bignum path) */
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_literals),     cmocka_unit_test(test_specials),
    cmocka_unit_test(test_not_shortest), cmocka_unit_test(test_powers),
    cmocka_unit_test(test_extremes),     cmocka_unit_test(test_random_bits),
    cmocka_unit_test(test_short_decimals), cmocka_unit_test(test_computations),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  fprintf(stderr, "test_format_double: %" PRIu64 " values compared with the oracle\n", n_checked);
  return rc;
}
