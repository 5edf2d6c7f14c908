/*
 * Tests for the exact decimal parser (tools/profilectl/decimal.h).
 *
 * Expected values were computed with Python's decimal module at 100 digits
 * of precision: int(Decimal(text).scaleb(scale)), checking the result is
 * integral and within [-2^63, 2^63). Products likewise:
 * Decimal(a).scaleb(-sa) * Decimal(b).scaleb(-sb), scaled by out_scale.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "decimal.h"
#include "timeparse.h" /* PCTL_ERRBUF_SIZE */

typedef struct dec_case {
  const char *in;
  unsigned scale;
  int rc;
  int64_t value;
} dec_case;

static const dec_case parse_cases[] = {
  {"12.34", 2, LP_OK, 1234},
  {"-0.5", 2, LP_OK, -50},
  {"+3", 2, LP_OK, 300},
  {".5", 2, LP_OK, 50},
  {"5.", 2, LP_OK, 500},
  {"-.5", 2, LP_OK, -50},
  {" 7 ", 2, LP_OK, 700},
  {"1.2300", 2, LP_OK, 123},
  {"0", 0, LP_OK, 0},
  {"-0", 2, LP_OK, 0},
  {"007.50", 2, LP_OK, 750},
  {"0.1", 2, LP_OK, 10},
  {"19.99", 2, LP_OK, 1999},
  {"3", 0, LP_OK, 3},
  {"5.000", 0, LP_OK, 5},
  {"123456789.123456789", 9, LP_OK, 123456789123456789},
  {"1234567890123456789", 0, LP_OK, 1234567890123456789},
  {"0.123456789012345678", 18, LP_OK, 123456789012345678},
  {"-1", 18, LP_OK, -1000000000000000000},
  {"1", 18, LP_OK, 1000000000000000000},
  {"0.000000000000000001", 18, LP_OK, 1},
  {"0.0000000000000000000", 18, LP_OK, 0},
  {"00000000000000000000000000001", 0, LP_OK, 1},
  {"1.2300000000000000000000000", 2, LP_OK, 123},
  /* int64 boundaries at scales 0, 2 and 18. */
  {"9223372036854775807", 0, LP_OK, INT64_MAX},
  {"-9223372036854775808", 0, LP_OK, INT64_MIN},
  {"92233720368547758.07", 2, LP_OK, INT64_MAX},
  {"-92233720368547758.08", 2, LP_OK, INT64_MIN},
  {"9.223372036854775807", 18, LP_OK, INT64_MAX},
  {"-9.223372036854775808", 18, LP_OK, INT64_MIN},
  {"9223372036854775808", 0, LP_ERANGE, 0},
  {"-9223372036854775809", 0, LP_ERANGE, 0},
  {"92233720368547758.08", 2, LP_ERANGE, 0},
  {"-92233720368547758.09", 2, LP_ERANGE, 0},
  {"9.223372036854775808", 18, LP_ERANGE, 0},
  {"-9.223372036854775809", 18, LP_ERANGE, 0},
  {"10", 18, LP_ERANGE, 0},
  {"92233720368547758070", 0, LP_ERANGE, 0},
  {"99999999999999999999999999999999", 0, LP_ERANGE, 0},
  /* Too many decimal places, unless the extra ones are zero. */
  {"1.234", 2, LP_ERANGE, 0},
  {"0.0000000000000000001", 18, LP_ERANGE, 0},
  {"0.5", 0, LP_ERANGE, 0},
  {"1.2300000000000000000000001", 2, LP_ERANGE, 0},
  /* Syntax. */
  {"", 2, LP_EINVAL, 0},
  {"   ", 2, LP_EINVAL, 0},
  {"+", 2, LP_EINVAL, 0},
  {"-", 2, LP_EINVAL, 0},
  {".", 2, LP_EINVAL, 0},
  {"-.", 2, LP_EINVAL, 0},
  {"1e3", 2, LP_EINVAL, 0},
  {"1E3", 2, LP_EINVAL, 0},
  {"1.5e-3", 2, LP_EINVAL, 0},
  {"1,000", 2, LP_EINVAL, 0},
  {"1_000", 2, LP_EINVAL, 0},
  {"1 000", 2, LP_EINVAL, 0},
  {"1'000", 2, LP_EINVAL, 0},
  {"12,34", 2, LP_EINVAL, 0},
  {"1.2.3", 2, LP_EINVAL, 0},
  {"+-5", 2, LP_EINVAL, 0},
  {"5-", 2, LP_EINVAL, 0},
  {"NaN", 2, LP_EINVAL, 0},
  {"-inf", 2, LP_EINVAL, 0},
  {"Infinity", 2, LP_EINVAL, 0},
  {"0x10", 2, LP_EINVAL, 0},
  {"$5", 2, LP_EINVAL, 0},
  {"\t5", 2, LP_EINVAL, 0},
  {"5\n", 2, LP_EINVAL, 0},
  {"99999999999999999999999x", 0, LP_EINVAL, 0}, /* syntax wins over overflow */
  {"1", 19, LP_EINVAL, 0},
};

static void test_parse_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    const dec_case *c = &parse_cases[i];
    char err[PCTL_ERRBUF_SIZE] = "untouched";
    int64_t v = 4242;
    int rc = pctl_decimal_parse(c->in, strlen(c->in), c->scale, &v, err, sizeof err);
    if (rc != c->rc) print_error("input '%s' scale %u: rc %d (%s)\n", c->in, c->scale, rc, err);
    assert_int_equal(rc, c->rc);
    if (rc == LP_OK) {
      if (v != c->value) print_error("input '%s': got %lld\n", c->in, (long long)v);
      assert_true(v == c->value);
      assert_string_equal(err, "untouched");
    } else {
      assert_true(v == 4242);
      assert_non_null(strstr(err, "invalid decimal"));
    }
  }
}

static void test_parse_messages(void **state) {
  (void)state;
  static const struct {
    const char *in;
    unsigned scale;
    const char *msg;
  } cases[] = {
    {"", 2, "invalid decimal '': empty value"},
    {"-", 2, "invalid decimal '-': expected digits"},
    {"1e3", 2, "invalid decimal '1e3': exponent notation is not supported"},
    {"1,000", 2,
     "invalid decimal '1,000': separator ',' is not supported (no thousands separators; "
     "the decimal point is '.')"},
    {"1 000", 2,
     "invalid decimal '1 000': separator ' ' is not supported (no thousands separators; "
     "the decimal point is '.')"},
    {"1.2.3", 2, "invalid decimal '1.2.3': more than one '.'"},
    {"+-5", 2, "invalid decimal '+-5': sign in the wrong place"},
    {"nan", 2, "invalid decimal 'nan': NaN and infinity are not numbers"},
    {"$5", 2, "invalid decimal '$5': unexpected character '$'"},
    {"5\x7f", 2, "invalid decimal '5?': unexpected byte 0x7F"},
    {"1.234", 2,
     "invalid decimal '1.234': more than 2 decimal places (the extra digits are not zero)"},
    {"9223372036854775808", 0,
     "invalid decimal '9223372036854775808': out of range for a 64-bit value at scale 0"},
    {"100000000000000000", 2,
     "invalid decimal '100000000000000000': out of range for a 64-bit value at scale 2"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[PCTL_ERRBUF_SIZE];
    int64_t v;
    assert_true(pctl_decimal_parse(cases[i].in, strlen(cases[i].in), cases[i].scale, &v, err,
                                   sizeof err) != LP_OK);
    assert_string_equal(err, cases[i].msg);
  }
}

static void test_parse_arguments(void **state) {
  (void)state;
  char err[PCTL_ERRBUF_SIZE];
  int64_t v;
  assert_int_equal(pctl_decimal_parse("1", 1, 2, NULL, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid decimal: NULL argument");
  assert_int_equal(pctl_decimal_parse(NULL, 3, 2, &v, err, sizeof err), LP_EINVAL);
  assert_int_equal(pctl_decimal_parse(NULL, 0, 2, &v, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid decimal '': empty value");
  assert_int_equal(pctl_decimal_parse("1", 1, 19, &v, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid decimal scale 19 (maximum 18)");
  assert_int_equal(pctl_decimal_parse("x", 1, 2, &v, NULL, 0), LP_EINVAL);
  /* Only len bytes are read. */
  assert_int_equal(pctl_decimal_parse("12.345", 5, 2, &v, NULL, 0), LP_OK);
  assert_true(v == 1234);
}

typedef struct mul_case {
  int64_t a;
  unsigned sa;
  int64_t b;
  unsigned sb;
  unsigned so;
  int rc;
  int64_t value;
} mul_case;

static const mul_case mul_cases[] = {
  /* quantity x price into cents */
  {3, 0, 1999, 2, 2, LP_OK, 5997},
  {-3, 0, 1999, 2, 2, LP_OK, -5997},
  {-7, 0, -8, 0, 0, LP_OK, 56},
  /* 1.5 x 0.99 = 1.485: exact at 3 places, not at 2 */
  {15, 1, 99, 2, 3, LP_OK, 1485},
  {15, 1, 99, 2, 2, LP_ERANGE, 0},
  {12345, 2, 100, 2, 1, LP_ERANGE, 0},
  {12345, 2, 100, 2, 0, LP_ERANGE, 0},
  {123456789, 3, 1000, 3, 3, LP_OK, 123456789},
  /* int64 edges */
  {INT64_MAX, 0, 1, 0, 0, LP_OK, INT64_MAX},
  {INT64_MIN, 0, 1, 0, 0, LP_OK, INT64_MIN},
  {INT64_MIN, 0, -1, 0, 0, LP_ERANGE, 0},
  {INT64_MAX, 0, 2, 0, 0, LP_ERANGE, 0},
  {INT64_MAX, 0, INT64_MAX, 0, 0, LP_ERANGE, 0},
  {4611686018427387904, 0, 2, 0, 0, LP_ERANGE, 0},
  {4611686018427387904, 0, -2, 0, 0, LP_OK, INT64_MIN},
  {0, 0, INT64_MIN, 0, 0, LP_OK, 0},
  {0, 18, 0, 18, 0, LP_OK, 0},
  /* Intermediates beyond 64 bits that scale back down. */
  {1000000000000000000, 18, 1000000000000000000, 18, 2, LP_OK, 100},
  {1000000000000000000, 18, 1000000000000000000, 18, 18, LP_OK, 1000000000000000000},
  {300000000000000000, 17, 700000000000000000, 17, 0, LP_OK, 21},
  {9000000000000000000, 9, 5000000000000000000, 9, 0, LP_ERANGE, 0}, /* exact, 4.5e19 */
  {INT64_MAX, 18, INT64_MAX, 18, 0, LP_ERANGE, 0},
  {INT64_MAX, 9, INT64_MAX, 9, 0, LP_ERANGE, 0},
  {1, 18, 1, 18, 18, LP_ERANGE, 0},
  /* Scaling up. */
  {5, 0, 3, 0, 17, LP_OK, 1500000000000000000},
  {5, 0, 3, 0, 18, LP_ERANGE, 0},
  /* Bad scales. */
  {1, 19, 1, 0, 0, LP_EINVAL, 0},
  {1, 0, 1, 19, 0, LP_EINVAL, 0},
  {1, 0, 1, 0, 19, LP_EINVAL, 0},
};

static void test_mul_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof mul_cases / sizeof mul_cases[0]; i++) {
    const mul_case *c = &mul_cases[i];
    char err[PCTL_ERRBUF_SIZE] = "untouched";
    int64_t v = 4242;
    int rc = pctl_decimal_mul(c->a, c->sa, c->b, c->sb, c->so, &v, err, sizeof err);
    if (rc != c->rc) print_error("case %zu: rc %d (%s)\n", i, rc, err);
    assert_int_equal(rc, c->rc);
    if (rc == LP_OK) {
      assert_true(v == c->value);
      assert_string_equal(err, "untouched");
    } else {
      assert_true(v == 4242);
      assert_non_null(strstr(err, "decimal multiply"));
    }
  }
}

static void test_mul_messages(void **state) {
  (void)state;
  char err[PCTL_ERRBUF_SIZE];
  int64_t v;
  assert_int_equal(pctl_decimal_mul(15, 1, 99, 2, 2, &v, err, sizeof err), LP_ERANGE);
  assert_string_equal(err, "decimal multiply: 15 (scale 1) x 99 (scale 2) is not exact at scale 2");
  assert_int_equal(pctl_decimal_mul(INT64_MAX, 0, 2, 0, 0, &v, err, sizeof err), LP_ERANGE);
  assert_string_equal(err, "decimal multiply: 9223372036854775807 (scale 0) x 2 (scale 0) "
                           "overflows a 64-bit value at scale 0");
  assert_int_equal(pctl_decimal_mul(1, 0, 1, 0, 0, NULL, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "decimal multiply: NULL output");
  assert_int_equal(pctl_decimal_mul(1, 20, 1, 0, 0, &v, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "decimal multiply: scales 20, 0, 0 (maximum 18)");
  assert_int_equal(pctl_decimal_mul(1, 20, 1, 0, 0, &v, NULL, 0), LP_EINVAL);
}

/* pctl_decimal_parse_own: the value at the text's own places; literal
 * cases, then every text of the parse table and random texts against the
 * two-step way it stands for (places, then parse at them). */
static void expect_own(const char *in, int rc, int64_t value, unsigned places) {
  char err[PCTL_ERRBUF_SIZE] = "";
  int64_t v = 4242;
  unsigned k = 99;
  int got = pctl_decimal_parse_own(in, strlen(in), &v, &k, err, sizeof err);
  if (got != rc) print_error("'%s': rc %d (%s)\n", in, got, err);
  assert_int_equal(got, rc);
  assert_int_equal(k, places);
  if (rc == LP_OK) assert_true(v == value);
}

static void two_step_equals_own(const char *in, size_t len) {
  char e1[PCTL_ERRBUF_SIZE] = "", e2[PCTL_ERRBUF_SIZE] = "";
  int64_t v1 = 4242, v2 = 4242;
  unsigned k1 = pctl_decimal_places(in, len), k2 = 99;
  if (k1 > PCTL_DECIMAL_MAX_SCALE) k1 = PCTL_DECIMAL_MAX_SCALE;
  int r1 = pctl_decimal_parse(in, len, k1, &v1, e1, sizeof e1);
  int r2 = pctl_decimal_parse_own(in, len, &v2, &k2, e2, sizeof e2);
  if (r1 != r2 || v1 != v2 || k1 != k2 || strcmp(e1, e2) != 0)
    print_error("'%.*s': %d %lld %u '%s' vs %d %lld %u '%s'\n", (int)len, in, r1,
                (long long)v1, k1, e1, r2, (long long)v2, k2, e2);
  assert_int_equal(r1, r2);
  assert_true(v1 == v2);
  assert_int_equal(k1, k2);
  assert_string_equal(e1, e2);
}

static const struct own_case {
  const char *in;
  int rc;
  int64_t value;
  unsigned places;
} own_cases[] = {
  {"12.34", LP_OK, 1234, 2},
  {"-0.5", LP_OK, -5, 1},
  {"+3", LP_OK, 3, 0},
  {".5", LP_OK, 5, 1},
  {"5.", LP_OK, 5, 0},
  {"1.50", LP_OK, 150, 2},
  {"-0", LP_OK, 0, 0},
  {" 7.25 ", LP_OK, 725, 2},
  {"999999999999999999", LP_OK, 999999999999999999, 0},
  {"-99999999.9999999999", LP_OK, -999999999999999999, 10},
  {"1234567890123456789", LP_OK, 1234567890123456789, 0},
  {"-9223372036854775808", LP_OK, INT64_MIN, 0},
  {"0.0000000000000000010", LP_OK, 1, 18},
  {"0.0000000000000000001", LP_ERANGE, 0, 18},
  {"9223372036854775808", LP_ERANGE, 0, 0},
  {"1e5", LP_EINVAL, 0, 0},
  {"1.2.3", LP_EINVAL, 0, 1},
  {"-", LP_EINVAL, 0, 0},
  {".", LP_EINVAL, 0, 0},
  {"", LP_EINVAL, 0, 0},
};

static void test_parse_own(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++)
    expect_own(own_cases[i].in, own_cases[i].rc, own_cases[i].value, own_cases[i].places);
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
    two_step_equals_own(parse_cases[i].in, strlen(parse_cases[i].in));
  static const char alphabet[] = "0123456789.-+ e,x";
  uint64_t x = 88172645463325252u;
  char buf[32];
  for (int round = 0; round < 200000; round++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t len = (size_t)(x % 23);
    for (size_t j = 0; j < len; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* Mostly digits, so that long plain numbers come up often. */
      buf[j] = x % 4 != 0 ? (char)('0' + (x >> 8) % 10) : alphabet[(x >> 8) % (sizeof alphabet - 1)];
    }
    two_step_equals_own(buf, len);
  }
}

/* The product of a direct multiply (no digits dropped) equals the one of
 * the general path, up to the int64 limits. */
static void test_mul_direct(void **state) {
  (void)state;
  char err[PCTL_ERRBUF_SIZE] = "";
  int64_t v;
  assert_int_equal(pctl_decimal_mul(-3, 0, 255, 2, 2, &v, err, sizeof err), LP_OK);
  assert_true(v == -765);
  assert_int_equal(pctl_decimal_mul(INT64_C(-4294967296), 0, INT64_C(2147483648), 1, 1, &v, err,
                                    sizeof err), LP_OK);
  assert_true(v == INT64_MIN);
  assert_int_equal(pctl_decimal_mul(INT64_C(4294967296), 0, INT64_C(2147483648), 1, 1, &v, err,
                                    sizeof err), LP_ERANGE);
  assert_string_equal(err, "decimal multiply: 4294967296 (scale 0) x 2147483648 (scale 1) "
                           "overflows a 64-bit value at scale 1");
  assert_int_equal(pctl_decimal_mul(INT64_MIN, 0, -1, 0, 0, &v, err, sizeof err), LP_ERANGE);
}

static void test_format(void **state) {
  (void)state;
  static const struct {
    int64_t v;
    unsigned scale;
    const char *text;
  } cases[] = {
    {1234, 2, "12.34"},
    {-5, 2, "-0.05"},
    {0, 2, "0.00"},
    {7, 0, "7"},
    {-7, 0, "-7"},
    {100, 2, "1.00"},
    {INT64_MAX, 0, "9223372036854775807"},
    {INT64_MIN, 0, "-9223372036854775808"},
    {INT64_MIN, 18, "-9.223372036854775808"},
    {INT64_MAX, 2, "92233720368547758.07"},
    {1, 18, "0.000000000000000001"},
    {-1, 18, "-0.000000000000000001"},
  };
  char buf[PCTL_DECIMAL_BUF];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(pctl_decimal_format(cases[i].v, cases[i].scale, buf, sizeof buf), LP_OK);
    assert_string_equal(buf, cases[i].text);
    /* Exactly enough room works; one byte less does not. */
    size_t need = strlen(cases[i].text) + 1;
    char tight[PCTL_DECIMAL_BUF];
    assert_int_equal(pctl_decimal_format(cases[i].v, cases[i].scale, tight, need), LP_OK);
    assert_string_equal(tight, cases[i].text);
    assert_int_equal(pctl_decimal_format(cases[i].v, cases[i].scale, tight, need - 1), LP_EINVAL);
    assert_string_equal(tight, "");
  }
  assert_int_equal(pctl_decimal_format(1, 19, buf, sizeof buf), LP_EINVAL);
  assert_string_equal(buf, "");
  assert_int_equal(pctl_decimal_format(1, 0, NULL, 8), LP_EINVAL);
  assert_int_equal(pctl_decimal_format(1, 0, buf, 0), LP_EINVAL);
}

/* format then parse returns the value, for spread-out values at every scale. */
static void test_roundtrip(void **state) {
  (void)state;
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13; /* xorshift64: deterministic, covers all magnitudes */
    x ^= x >> 7;
    x ^= x << 17;
    /* Vary the magnitude; with shift 0 every bit pattern (both signs). */
    unsigned shift = (unsigned)(x % 64);
    uint64_t m = x >> shift;
    int64_t v;
    memcpy(&v, &m, sizeof v);
    if (shift > 0 && (x & 1) != 0) v = -v;
    for (unsigned scale = 0; scale <= PCTL_DECIMAL_MAX_SCALE; scale++) {
      char buf[PCTL_DECIMAL_BUF];
      assert_int_equal(pctl_decimal_format(v, scale, buf, sizeof buf), LP_OK);
      int64_t back;
      assert_int_equal(pctl_decimal_parse(buf, strlen(buf), scale, &back, NULL, 0), LP_OK);
      assert_true(back == v);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_table),
    cmocka_unit_test(test_parse_messages),
    cmocka_unit_test(test_parse_arguments),
    cmocka_unit_test(test_mul_table),
    cmocka_unit_test(test_mul_messages),
    cmocka_unit_test(test_parse_own),
    cmocka_unit_test(test_mul_direct),
    cmocka_unit_test(test_format),
    cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
