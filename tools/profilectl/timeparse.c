/*
 * Exact timestamp parsing. Calendar arithmetic is done here rather than with
 * mktime/timegm so results never depend on TZ, locale or the C library.
 * SPDX-License-Identifier: MIT
 */
#include "timeparse.h"

#include <stdarg.h>
#include <stdio.h>

#include "textutil.h"

#define SECONDS_PER_DAY 86400
/* A 400-year Gregorian cycle has 97 leap years: 400 * 365 + 97 days. */
#define DAYS_PER_CYCLE 146097
/* Days from 0000-03-01 (day 0 of the March-based count below) to 1970-01-01. */
#define DAYS_0000_03_01_TO_EPOCH 719468

/* Floor division for b > 0, so negative years and days fall into the cycle
 * that contains them rather than the one nearer zero. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b < 0) q--;
  return q;
}

int pctl_is_leap_year(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int pctl_days_in_month(int64_t year, int month) {
  static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2 && pctl_is_leap_year(year)) return 29;
  return len[month - 1];
}

/*
 * Counting years from March 1 puts February, the only irregular month,
 * last: then the day of the year is a fixed function of the month,
 * (153 * m + 2) / 5 for m = 0 (March) .. 11 (February), which reproduces
 * the month lengths 31 30 31 30 31 | 31 30 31 30 31 | 31 29.
 */
int64_t pctl_days_from_civil(int64_t year, int month, int day) {
  int64_t y = month <= 2 ? year - 1 : year;
  int64_t m = month <= 2 ? month + 9 : month - 3;
  int64_t cycle = floor_div(y, 400);
  int64_t yoc = y - cycle * 400;                        /* year of cycle, 0..399 */
  int64_t doy = (153 * m + 2) / 5 + day - 1;            /* day of year, 0..365 */
  int64_t doc = yoc * 365 + yoc / 4 - yoc / 100 + doy;  /* day of cycle, 0..146096 */
  return cycle * DAYS_PER_CYCLE + doc - DAYS_0000_03_01_TO_EPOCH;
}

void pctl_civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
  int64_t z = days + DAYS_0000_03_01_TO_EPOCH;
  int64_t cycle = floor_div(z, DAYS_PER_CYCLE);
  int64_t doc = z - cycle * DAYS_PER_CYCLE; /* 0..146096 */
  /* Remove the leap days before doc (one per 4 years, minus one per
   * century, plus the cycle's last day), leaving 365-day years. */
  int64_t yoc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365;
  int64_t doy = doc - (yoc * 365 + yoc / 4 - yoc / 100);
  int64_t m = (5 * doy + 2) / 153; /* inverse of (153 * m + 2) / 5 */
  *day = (int)(doy - (153 * m + 2) / 5 + 1);
  *month = (int)(m < 10 ? m + 3 : m - 9);
  *year = cycle * 400 + yoc + (*month <= 2 ? 1 : 0);
}

int pctl_time_format_iso8601(int64_t t, char *buf, size_t cap) {
  if (buf == NULL || cap < 21) return LP_EINVAL;
  /* Split without multiplying back, which would overflow near INT64_MIN. */
  int64_t days = t / SECONDS_PER_DAY;
  int64_t sod = t % SECONDS_PER_DAY;
  if (sod < 0) {
    sod += SECONDS_PER_DAY;
    days--;
  }
  int64_t year;
  int month, day;
  pctl_civil_from_days(days, &year, &month, &day);
  if (year < 0 || year > 9999) {
    buf[0] = '\0';
    return LP_ERANGE;
  }
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)year, month, day,
           (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  return LP_OK;
}

/* ------------------------------------------------------------------ */
/* Parsing */

/* Value of exactly n digits at s, or -1 if any is not a digit. */
static int fixed_digits(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!pctl_is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Report a problem with the text t (already trimmed). */
#define FAIL(code, ...) pctl_fail_text(err, errcap, (code), "timestamp", t, n, __VA_ARGS__)


/* Parse the offset at t[i..n): "", "Z", "+HH", "+HHMM", "+HH:MM" or with '-'.
 * Stores the seconds to add to local time to get UTC. */
static int parse_offset(const char *t, size_t n, size_t i, int64_t *adjust, char *err,
                        size_t errcap) {
  *adjust = 0;
  if (i == n) return LP_OK;
  if (t[i] == 'Z' && i + 1 == n) return LP_OK;
  if (t[i] != '+' && t[i] != '-') {
    return FAIL(LP_EINVAL, "unexpected text after the time (expected Z, +HH:MM or -HH:MM)");
  }
  int sign = t[i] == '-' ? -1 : 1;
  const char *o = t + i + 1;
  size_t len = n - i - 1;
  int hh = -1, mm = 0;
  if (len == 2) {
    hh = fixed_digits(o, 2);
  } else if (len == 4) {
    hh = fixed_digits(o, 2);
    mm = fixed_digits(o + 2, 2);
  } else if (len == 5 && o[2] == ':') {
    hh = fixed_digits(o, 2);
    mm = fixed_digits(o + 3, 2);
  }
  if (hh < 0 || mm < 0) {
    return FAIL(LP_EINVAL, "bad UTC offset (expected +HH, +HHMM or +HH:MM)");
  }
  if (hh > 23) return FAIL(LP_ERANGE, "UTC offset hour %d out of range 0-23", hh);
  if (mm > 59) return FAIL(LP_ERANGE, "UTC offset minute %d out of range 0-59", mm);
  /* Local time = UTC + offset, so UTC = local - offset. */
  *adjust = -(int64_t)sign * (hh * 3600 + mm * 60);
  return LP_OK;
}

static int parse_iso_trimmed(const char *t, size_t n, int64_t *out, char *err, size_t errcap) {
  int year = -1, month = -1, day = -1;
  if (n >= 10 && t[4] == '-' && t[7] == '-') {
    year = fixed_digits(t, 4);
    month = fixed_digits(t + 5, 2);
    day = fixed_digits(t + 8, 2);
  }
  if (year < 0 || month < 0 || day < 0) {
    return FAIL(LP_EINVAL, "expected a date as YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return FAIL(LP_ERANGE, "month %d out of range 1-12", month);
  int mdays = pctl_days_in_month(year, month);
  if (day < 1 || day > mdays) {
    return FAIL(LP_ERANGE, "day %d out of range 1-%d for that month", day, mdays);
  }
  int64_t t_s = pctl_days_from_civil(year, month, day) * SECONDS_PER_DAY;
  if (n == 10) {
    *out = t_s;
    return LP_OK;
  }

  if (t[10] != 'T' && t[10] != ' ') {
    return FAIL(LP_EINVAL, "expected 'T' or a space after the date");
  }
  int hh = -1, mi = -1, ss = -1;
  if (n >= 19 && t[13] == ':' && t[16] == ':') {
    hh = fixed_digits(t + 11, 2);
    mi = fixed_digits(t + 14, 2);
    ss = fixed_digits(t + 17, 2);
  }
  if (hh < 0 || mi < 0 || ss < 0) {
    return FAIL(LP_EINVAL, "expected a time as HH:MM:SS after the date");
  }
  if (hh > 23) return FAIL(LP_ERANGE, "hour %d out of range 0-23", hh);
  if (mi > 59) return FAIL(LP_ERANGE, "minute %d out of range 0-59", mi);
  if (ss > 59) return FAIL(LP_ERANGE, "second %d out of range 0-59", ss);
  t_s += hh * 3600 + mi * 60 + ss;

  size_t i = 19;
  if (i < n && t[i] == '.') {
    size_t first = ++i;
    bool nonzero = false;
    while (i < n && pctl_is_digit(t[i])) {
      if (t[i] != '0') nonzero = true;
      i++;
    }
    if (i == first) return FAIL(LP_EINVAL, "'.' after the seconds must be followed by digits");
    if (nonzero) {
      return FAIL(LP_ERANGE,
                  "non-zero fractional seconds are not supported (the unit is whole seconds)");
    }
  }
  int64_t adjust;
  int rc = parse_offset(t, n, i, &adjust, err, errcap);
  if (rc != LP_OK) return rc;
  *out = t_s + adjust;
  return LP_OK;
}


static int parse_unix_trimmed(const char *t, size_t n, int64_t *out, char *err, size_t errcap) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  if (i == n) return FAIL(LP_EINVAL, "expected Unix seconds (digits, optionally signed)");
  /* Syntax first, so "123...x" is reported as malformed, not as an overflow. */
  for (size_t k = i; k < n; k++) {
    if (!pctl_is_digit(t[k])) {
      return FAIL(LP_EINVAL, "expected Unix seconds (digits, optionally signed)");
    }
  }
  /* Accumulate the magnitude; a negative value may reach 2^63. */
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  for (; i < n; i++) {
    unsigned d = (unsigned)(t[i] - '0');
    if (v > (limit - d) / 10) return FAIL(LP_ERANGE, "Unix seconds overflow a 64-bit integer");
    v = v * 10 + d;
  }
  if (!neg) {
    *out = (int64_t)v;
  } else if (v == (uint64_t)INT64_MAX + 1) {
    *out = INT64_MIN;
  } else {
    *out = -(int64_t)v;
  }
  return LP_OK;
}

typedef int (*trimmed_parser)(const char *t, size_t n, int64_t *out, char *err, size_t errcap);

/* Argument checks and trimming shared by every entry point; `parse` NULL
 * means: choose ISO-8601 when the text starts "YYYY-", else Unix seconds. */
static int parse_checked(const char *s, size_t len, trimmed_parser parse, int64_t *out,
                         char *err, size_t errcap) {
  if (out == NULL || (s == NULL && len > 0)) {
    return pctl_errbuf_set(err, errcap, LP_EINVAL, "invalid timestamp: NULL argument");
  }
  const char *t = s;
  size_t n = len;
  pctl_trim_spaces(&t, &n);
  if (n == 0) return FAIL(LP_EINVAL, "empty value");
  if (parse == NULL)
    parse = n >= 5 && t[4] == '-' && fixed_digits(t, 4) >= 0 ? parse_iso_trimmed
                                                              : parse_unix_trimmed;
  return parse(t, n, out, err, errcap);
}

int pctl_time_parse_iso8601(const char *s, size_t len, int64_t *out, char *err, size_t errcap) {
  return parse_checked(s, len, parse_iso_trimmed, out, err, errcap);
}

int pctl_time_parse_unix(const char *s, size_t len, int64_t *out, char *err, size_t errcap) {
  return parse_checked(s, len, parse_unix_trimmed, out, err, errcap);
}

int pctl_time_parse(const char *s, size_t len, pctl_time_format fmt, int64_t *out, char *err,
                    size_t errcap) {
  switch (fmt) {
  case PCTL_TIME_ISO8601: return pctl_time_parse_iso8601(s, len, out, err, errcap);
  case PCTL_TIME_UNIX: return pctl_time_parse_unix(s, len, out, err, errcap);
  case PCTL_TIME_AUTO: break;
  default:
    return pctl_errbuf_set(err, errcap, LP_EINVAL, "invalid timestamp format selector %d",
                           (int)fmt);
  }
  return parse_checked(s, len, NULL, out, err, errcap);
}
