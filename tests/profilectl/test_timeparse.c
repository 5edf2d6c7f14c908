/*
 * Tests for the timestamp parsers (tools/profilectl/timeparse.h).
 *
 * Expected Unix times were computed with Python's datetime, e.g.
 *   python3 -c "from datetime import *; print(int(datetime.fromisoformat(
 *     '2024-02-29T12:34:56+02:00').timestamp()))"          -> 1709202896
 * and day numbers with (date(y, m, d) - date(1970, 1, 1)).days. Python has
 * no year 0, so those were derived by hand: 0000 is a leap year (divisible
 * by 400), so 0000-01-01 is 366 days before 0001-01-01 (day -719162):
 * day -719528, i.e. -62167219200 s; 0000-02-29 is day -719469.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "timeparse.h"

typedef struct time_case {
  const char *in;
  int rc;
  int64_t value; /* when rc is LP_OK */
} time_case;

static const time_case iso_cases[] = {
  /* Forms. */
  {"1970-01-01", LP_OK, 0},
  {"1970-01-01T00:00:00Z", LP_OK, 0},
  {"1970-01-01 00:00:00", LP_OK, 0},
  {"1970-01-01T00:00:00", LP_OK, 0},
  {"1970-01-01T00:00:00+00:00", LP_OK, 0},
  {"1970-01-01T00:00:00-00:00", LP_OK, 0},
  {"1969-12-31T23:59:59Z", LP_OK, -1},
  {"1969-12-31T23:00:00-01:00", LP_OK, 0},
  {"2024-01-01", LP_OK, 1704067200},
  {"  2024-01-01 ", LP_OK, 1704067200},
  {"2024-12-31T23:59:59Z", LP_OK, 1735689599},
  /* Leap years: 2000 (by 400) and 2024 (by 4) have Feb 29; 1900 not. */
  {"2000-02-29", LP_OK, 951782400},
  {"2024-02-29T12:34:56Z", LP_OK, 1709210096},
  {"2024-02-29 12:34:56", LP_OK, 1709210096},
  {"1600-02-29", LP_OK, -11670998400},
  {"1900-02-28", LP_OK, -2203977600},
  {"1900-03-01", LP_OK, -2203891200},
  /* Offsets, all spellings. */
  {"2024-02-29T12:34:56+02:00", LP_OK, 1709202896},
  {"2024-02-29T12:34:56+0200", LP_OK, 1709202896},
  {"2024-02-29T12:34:56+02", LP_OK, 1709202896},
  {"2024-02-29T12:34:56-05:30", LP_OK, 1709229896},
  {"2024-02-29T12:34:56-0530", LP_OK, 1709229896},
  {"2024-02-29T12:34:56-05", LP_OK, 1709228096},
  {"1999-12-31T23:59:59+14:00", LP_OK, 946634399},
  /* Zero fractions are exact. */
  {"2024-02-29T12:34:56.0Z", LP_OK, 1709210096},
  {"2024-02-29T12:34:56.000", LP_OK, 1709210096},
  {"2024-02-29T12:34:56.000000000+02:00", LP_OK, 1709202896},
  /* 32-bit edges. */
  {"2038-01-19T03:14:07Z", LP_OK, 2147483647},
  {"2038-01-19T03:14:08Z", LP_OK, 2147483648},
  {"1901-12-13T20:45:52Z", LP_OK, -2147483648LL},
  /* Year range ends. */
  {"0001-01-01", LP_OK, -62135596800},
  {"0000-01-01", LP_OK, -62167219200},
  {"0000-02-29", LP_OK, -62162121600},
  {"0000-01-01T00:00:00+23:59", LP_OK, -62167305540},
  {"9999-12-31T23:59:59Z", LP_OK, 253402300799},
  {"9999-12-31T23:59:59-23:59", LP_OK, 253402387139},

  /* Syntax errors. */
  {"", LP_EINVAL, 0},
  {"   ", LP_EINVAL, 0},
  {"2024", LP_EINVAL, 0},
  {"2024-1-01", LP_EINVAL, 0},
  {"2024-01-1", LP_EINVAL, 0},
  {"24-01-01", LP_EINVAL, 0},
  {"+2024-01-01", LP_EINVAL, 0},
  {"2024/01/01", LP_EINVAL, 0},
  {"2024-01-01Z", LP_EINVAL, 0},
  {"2024-01-01T", LP_EINVAL, 0},
  {"2024-01-01t12:00:00", LP_EINVAL, 0},
  {"2024-01-01X12:00:00", LP_EINVAL, 0},
  {"2024-01-01T12:00", LP_EINVAL, 0},
  {"2024-01-01T12:00:0", LP_EINVAL, 0},
  {"2024-01-01T1a:00:00", LP_EINVAL, 0},
  {"2024-01-01T12.00.00", LP_EINVAL, 0},
  {"2024-01-01T12:00:00.", LP_EINVAL, 0},
  {"2024-01-01T12:00:00.Z", LP_EINVAL, 0},
  {"2024-01-01T12:00:00,0", LP_EINVAL, 0},
  {"2024-01-01T12:00:00z", LP_EINVAL, 0},
  {"2024-01-01T12:00:00ZZ", LP_EINVAL, 0},
  {"2024-01-01T12:00:00 Z", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+1", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+123", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+12:3", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+12-30", LP_EINVAL, 0},
  {"2024-01-01T12:00:00+12:300", LP_EINVAL, 0},
  {"1704067200", LP_EINVAL, 0},
  {"2024-01-01\t", LP_EINVAL, 0},

  /* Range errors. */
  {"2024-13-01", LP_ERANGE, 0},
  {"2024-00-10", LP_ERANGE, 0},
  {"2023-02-29", LP_ERANGE, 0},
  {"1900-02-29", LP_ERANGE, 0},
  {"2100-02-29", LP_ERANGE, 0},
  {"2024-04-31", LP_ERANGE, 0},
  {"2024-01-32", LP_ERANGE, 0},
  {"2024-01-00", LP_ERANGE, 0},
  {"2024-01-01T24:00:00", LP_ERANGE, 0},
  {"2024-01-01T23:60:00", LP_ERANGE, 0},
  {"2024-01-01T23:59:60", LP_ERANGE, 0},
  {"2024-01-01T12:00:00.5", LP_ERANGE, 0},
  {"2024-01-01T12:00:00.0001Z", LP_ERANGE, 0},
  {"2024-01-01T12:00:00+24:00", LP_ERANGE, 0},
  {"2024-01-01T12:00:00+12:60", LP_ERANGE, 0},
};

static const time_case unix_cases[] = {
  {"0", LP_OK, 0},
  {"-0", LP_OK, 0},
  {"+0", LP_OK, 0},
  {"1700000000", LP_OK, 1700000000},
  {"-1", LP_OK, -1},
  {" 42 ", LP_OK, 42},
  {"000123", LP_OK, 123},
  {"9223372036854775807", LP_OK, INT64_MAX},
  {"-9223372036854775808", LP_OK, INT64_MIN},
  {"", LP_EINVAL, 0},
  {"+", LP_EINVAL, 0},
  {"-", LP_EINVAL, 0},
  {"--1", LP_EINVAL, 0},
  {" - 1", LP_EINVAL, 0},
  {"12a", LP_EINVAL, 0},
  {"1.5", LP_EINVAL, 0},
  {"1e9", LP_EINVAL, 0},
  {"2024-01-01", LP_EINVAL, 0},
  {"9223372036854775808", LP_ERANGE, 0},
  {"-9223372036854775809", LP_ERANGE, 0},
  {"99999999999999999999", LP_ERANGE, 0},
};

static const time_case auto_cases[] = {
  {"2024-01-01", LP_OK, 1704067200},
  {"2024-01-01T00:00:00+01:00", LP_OK, 1704063600},
  {"0000-01-01", LP_OK, -62167219200},
  {"1704067200", LP_OK, 1704067200},
  {"-1", LP_OK, -1},
  {"2024", LP_OK, 2024},
  {" 2024-01-01", LP_OK, 1704067200},
  {"2024-13-01", LP_ERANGE, 0},
  {"12345-01-01", LP_EINVAL, 0},
  {"abcd-01-01", LP_EINVAL, 0},
  {"", LP_EINVAL, 0},
};

static void check_cases(const time_case *cases, size_t n, pctl_time_format fmt) {
  for (size_t i = 0; i < n; i++) {
    char err[PCTL_ERRBUF_SIZE] = "untouched";
    int64_t v = 12345;
    int rc;
    size_t len = strlen(cases[i].in);
    switch (fmt) {
    case PCTL_TIME_ISO8601: rc = pctl_time_parse_iso8601(cases[i].in, len, &v, err, sizeof err); break;
    case PCTL_TIME_UNIX: rc = pctl_time_parse_unix(cases[i].in, len, &v, err, sizeof err); break;
    default: rc = pctl_time_parse(cases[i].in, len, fmt, &v, err, sizeof err); break;
    }
    if (rc != cases[i].rc) print_error("input '%s': rc %d, message %s\n", cases[i].in, rc, err);
    assert_int_equal(rc, cases[i].rc);
    if (rc == LP_OK) {
      if (v != cases[i].value) print_error("input '%s': got %lld\n", cases[i].in, (long long)v);
      assert_true(v == cases[i].value);
      assert_string_equal(err, "untouched");
    } else {
      assert_true(v == 12345);
      assert_non_null(strstr(err, "invalid timestamp"));
    }
    /* The generic entry point with the explicit format agrees. */
    if (fmt != PCTL_TIME_AUTO) {
      int64_t w = 12345;
      assert_int_equal(pctl_time_parse(cases[i].in, len, fmt, &w, NULL, 0), rc);
      if (rc == LP_OK) assert_true(w == v);
    }
  }
}

static void test_iso8601(void **state) {
  (void)state;
  check_cases(iso_cases, sizeof iso_cases / sizeof iso_cases[0], PCTL_TIME_ISO8601);
}

static void test_unix(void **state) {
  (void)state;
  check_cases(unix_cases, sizeof unix_cases / sizeof unix_cases[0], PCTL_TIME_UNIX);
}

static void test_auto(void **state) {
  (void)state;
  check_cases(auto_cases, sizeof auto_cases / sizeof auto_cases[0], PCTL_TIME_AUTO);
}

static void test_not_nul_terminated(void **state) {
  (void)state;
  /* Only len bytes are read: the rest of the buffer would make it invalid. */
  const char buf[] = "2024-01-01T00:00:00Zgarbage";
  int64_t v = 0;
  assert_int_equal(pctl_time_parse_iso8601(buf, 20, &v, NULL, 0), LP_OK);
  assert_true(v == 1704067200);
  assert_int_equal(pctl_time_parse_iso8601(buf, 10, &v, NULL, 0), LP_OK);
  assert_true(v == 1704067200);
  assert_int_equal(pctl_time_parse_unix("123456", 3, &v, NULL, 0), LP_OK);
  assert_true(v == 123);
}

static void test_messages(void **state) {
  (void)state;
  static const struct {
    const char *in;
    pctl_time_format fmt;
    const char *msg;
  } cases[] = {
    {"2023-02-29", PCTL_TIME_ISO8601,
     "invalid timestamp '2023-02-29': day 29 out of range 1-28 for that month"},
    {"2024-13-01", PCTL_TIME_ISO8601, "invalid timestamp '2024-13-01': month 13 out of range 1-12"},
    {"2024-01-01T24:00:00", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T24:00:00': hour 24 out of range 0-23"},
    {"2024-01-01T00:60:00", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T00:60:00': minute 60 out of range 0-59"},
    {"2024-01-01T00:00:60", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T00:00:60': second 60 out of range 0-59"},
    {"2024-01-01T12:00:00.5", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00.5': non-zero fractional seconds are not "
     "supported (the unit is whole seconds)"},
    {"2024-01-01T12:00:00+25", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00+25': UTC offset hour 25 out of range 0-23"},
    {"2024-01-01T12:00:00+0160", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00+0160': UTC offset minute 60 out of range 0-59"},
    {"2024-01-01T12:00:00+1", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00+1': bad UTC offset (expected +HH, +HHMM or "
     "+HH:MM)"},
    {"2024-01-01T12:00:00Q", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00Q': unexpected text after the time (expected Z, "
     "+HH:MM or -HH:MM)"},
    {"2024-01-01T12:00:00.", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01T12:00:00.': '.' after the seconds must be followed by "
     "digits"},
    {"01/02/2024", PCTL_TIME_ISO8601, "invalid timestamp '01/02/2024': expected a date as YYYY-MM-DD"},
    {"2024-01-01_", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01_': expected 'T' or a space after the date"},
    {"2024-01-01 12", PCTL_TIME_ISO8601,
     "invalid timestamp '2024-01-01 12': expected a time as HH:MM:SS after the date"},
    {"  ", PCTL_TIME_ISO8601, "invalid timestamp '': empty value"},
    {"12x", PCTL_TIME_UNIX,
     "invalid timestamp '12x': expected Unix seconds (digits, optionally signed)"},
    {"9223372036854775808", PCTL_TIME_UNIX,
     "invalid timestamp '9223372036854775808': Unix seconds overflow a 64-bit integer"},
    /* Non-printable bytes are shown as '?' and long input is cut. */
    {"2024\x01", PCTL_TIME_AUTO,
     "invalid timestamp '2024?': expected Unix seconds (digits, optionally signed)"},
    {"0123456789012345678901234567890123456789xyz", PCTL_TIME_UNIX,
     "invalid timestamp '0123456789012345678901234567890123456789...': expected Unix "
     "seconds (digits, optionally signed)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[PCTL_ERRBUF_SIZE];
    int64_t v;
    assert_true(pctl_time_parse(cases[i].in, strlen(cases[i].in), cases[i].fmt, &v, err,
                                sizeof err) != LP_OK);
    assert_string_equal(err, cases[i].msg);
  }
}

static void test_bad_arguments(void **state) {
  (void)state;
  char err[PCTL_ERRBUF_SIZE];
  int64_t v;
  assert_int_equal(pctl_time_parse("1", 1, PCTL_TIME_AUTO, NULL, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid timestamp: NULL argument");
  assert_int_equal(pctl_time_parse(NULL, 1, PCTL_TIME_AUTO, &v, err, sizeof err), LP_EINVAL);
  assert_int_equal(pctl_time_parse_iso8601(NULL, 1, &v, NULL, 0), LP_EINVAL);
  assert_int_equal(pctl_time_parse_unix("1", 1, NULL, NULL, 0), LP_EINVAL);
  /* NULL text of length 0 is just empty. */
  assert_int_equal(pctl_time_parse_unix(NULL, 0, &v, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid timestamp '': empty value");
  assert_int_equal(pctl_time_parse("1", 1, (pctl_time_format)9, &v, err, sizeof err), LP_EINVAL);
  assert_string_equal(err, "invalid timestamp format selector 9");
  /* A small message buffer is cut but terminated; size 0 is not written. */
  char small[10];
  assert_int_equal(pctl_time_parse_unix("x", 1, &v, small, sizeof small), LP_EINVAL);
  assert_string_equal(small, "invalid t");
  small[0] = 'Q';
  assert_int_equal(pctl_time_parse_unix("x", 1, &v, small, 0), LP_EINVAL);
  assert_int_equal(small[0], 'Q');
}

static void test_calendar(void **state) {
  (void)state;
  /* Day numbers from Python (see the file comment). */
  static const struct {
    int64_t y;
    int m, d;
    int64_t days;
  } t[] = {
    {1970, 1, 1, 0},       {1969, 12, 31, -1},     {2000, 2, 29, 11016},
    {2000, 3, 1, 11017},   {1900, 3, 1, -25508},   {1, 1, 1, -719162},
    {9999, 12, 31, 2932896}, {1600, 3, 1, -135080}, {2400, 2, 29, 157113},
    {1582, 10, 15, -141427}, {2100, 3, 1, 47541},  {0, 1, 1, -719528},
    {0, 2, 29, -719469},   {0, 3, 1, -719468},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    assert_true(pctl_days_from_civil(t[i].y, t[i].m, t[i].d) == t[i].days);
    int64_t y;
    int m, d;
    pctl_civil_from_days(t[i].days, &y, &m, &d);
    assert_true(y == t[i].y);
    assert_int_equal(m, t[i].m);
    assert_int_equal(d, t[i].d);
  }
  /* Negative years fall in the right 400-year cycle: -400-03-01 is exactly
   * 146097 days before 0000-03-01. */
  assert_true(pctl_days_from_civil(-400, 3, 1) == -719468 - 146097);

  /* Every day of years 0000-9999, walked forward: the dates step by one
   * valid calendar day and convert back to the same number. */
  int64_t y = 0;
  int m = 1, d = 1;
  for (int64_t n = -719528; n <= 2932896; n++) {
    int64_t cy;
    int cm, cd;
    pctl_civil_from_days(n, &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d) {
      print_error("day %lld: got %lld-%d-%d, want %lld-%d-%d\n", (long long)n, (long long)cy,
                  cm, cd, (long long)y, m, d);
      fail();
    }
    if (pctl_days_from_civil(y, m, d) != n) fail();
    if (++d > pctl_days_in_month(y, m)) {
      d = 1;
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
  }
  assert_true(y == 10000);
}

static void test_leap_and_month_length(void **state) {
  (void)state;
  assert_int_equal(pctl_is_leap_year(2000), 1);
  assert_int_equal(pctl_is_leap_year(2024), 1);
  assert_int_equal(pctl_is_leap_year(0), 1);
  assert_int_equal(pctl_is_leap_year(1900), 0);
  assert_int_equal(pctl_is_leap_year(2023), 0);
  assert_int_equal(pctl_is_leap_year(2100), 0);
  assert_int_equal(pctl_is_leap_year(-4), 1);
  static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; m++) assert_int_equal(pctl_days_in_month(2023, m), len[m - 1]);
  assert_int_equal(pctl_days_in_month(2024, 2), 29);
  assert_int_equal(pctl_days_in_month(1900, 2), 28);
  assert_int_equal(pctl_days_in_month(2024, 0), 0);
  assert_int_equal(pctl_days_in_month(2024, 13), 0);
}

static void test_format(void **state) {
  (void)state;
  static const struct {
    int64_t t;
    const char *text;
  } ok[] = {
    {0, "1970-01-01T00:00:00Z"},
    {-1, "1969-12-31T23:59:59Z"},
    {1709210096, "2024-02-29T12:34:56Z"},
    {951782400, "2000-02-29T00:00:00Z"},
    {-62167219200, "0000-01-01T00:00:00Z"},
    {253402300799, "9999-12-31T23:59:59Z"},
    {-2147483648LL, "1901-12-13T20:45:52Z"},
  };
  char buf[21];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(pctl_time_format_iso8601(ok[i].t, buf, sizeof buf), LP_OK);
    assert_string_equal(buf, ok[i].text);
    /* And back. */
    int64_t v;
    assert_int_equal(pctl_time_parse_iso8601(buf, strlen(buf), &v, NULL, 0), LP_OK);
    assert_true(v == ok[i].t);
  }
  assert_int_equal(pctl_time_format_iso8601(253402300800, buf, sizeof buf), LP_ERANGE);
  assert_string_equal(buf, "");
  assert_int_equal(pctl_time_format_iso8601(-62167219201, buf, sizeof buf), LP_ERANGE);
  assert_int_equal(pctl_time_format_iso8601(INT64_MIN, buf, sizeof buf), LP_ERANGE);
  assert_int_equal(pctl_time_format_iso8601(0, buf, 20), LP_EINVAL);
  assert_int_equal(pctl_time_format_iso8601(0, NULL, 21), LP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_iso8601),
    cmocka_unit_test(test_unix),
    cmocka_unit_test(test_auto),
    cmocka_unit_test(test_not_nul_terminated),
    cmocka_unit_test(test_messages),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test(test_calendar),
    cmocka_unit_test(test_leap_and_month_length),
    cmocka_unit_test(test_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
