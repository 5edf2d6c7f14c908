/*
 * Exact decimal parsing and multiplication on integers only. Magnitudes are
 * handled as unsigned values so INT64_MIN (whose magnitude is 2^63) needs no
 * special cases.
 * SPDX-License-Identifier: MIT
 */
#include "decimal.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/common.h"
#include "textutil.h"

static const uint64_t pow10_u64[PCTL_DECIMAL_MAX_SCALE + 1] = {
  1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
  100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
  10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
  100000000000000000ull, 1000000000000000000ull};

/* Largest magnitude of a result with the given sign. */
static uint64_t magnitude_limit(bool negative) {
  return negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
}

static uint64_t magnitude(int64_t v) { return v < 0 ? 0 - (uint64_t)v : (uint64_t)v; }

/* Signed value of a magnitude already checked against magnitude_limit(). */
static int64_t apply_sign(uint64_t mag, bool negative) {
  if (!negative) return (int64_t)mag;
  if (mag == (uint64_t)INT64_MAX + 1) return INT64_MIN;
  return -(int64_t)mag;
}


#define FAIL(code, ...) pctl_fail_text(err, errcap, (code), "decimal", t, n, __VA_ARGS__)

static bool ieq(const char *s, size_t n, const char *word) {
  size_t i = 0;
  for (; i < n && word[i] != '\0'; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return i == n && word[i] == '\0';
}

/* Explain the first character that is not part of the syntax. */
static int bad_char(const char *t, size_t n, size_t at, char *err, size_t errcap) {
  size_t body = (t[0] == '+' || t[0] == '-') ? 1 : 0;
  const char *w = t + body;
  size_t wn = n - body;
  if (ieq(w, wn, "nan") || ieq(w, wn, "inf") || ieq(w, wn, "infinity")) {
    return FAIL(LP_EINVAL, "NaN and infinity are not numbers");
  }
  char c = t[at];
  if (c == 'e' || c == 'E') return FAIL(LP_EINVAL, "exponent notation is not supported");
  if (c == ',' || c == '_' || c == '\'' || c == ' ') {
    return FAIL(LP_EINVAL,
                "separator '%c' is not supported (no thousands separators; the decimal point "
                "is '.')",
                c);
  }
  if (c == '.') return FAIL(LP_EINVAL, "more than one '.'");
  if (c == '+' || c == '-') return FAIL(LP_EINVAL, "sign in the wrong place");
  if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F) {
    return FAIL(LP_EINVAL, "unexpected character '%c'", c);
  }
  return FAIL(LP_EINVAL, "unexpected byte 0x%02X", (unsigned)(unsigned char)c);
}

/* v = v * 10^n + digits, false if that exceeds limit. */
static bool accumulate(const char *digits, size_t n, uint64_t limit, uint64_t *v) {
  uint64_t x = *v;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(digits[i] - '0');
    if (x > (limit - d) / 10) return false;
    x = x * 10 + d;
  }
  *v = x;
  return true;
}

int pctl_decimal_parse(const char *s, size_t len, unsigned scale, int64_t *out, char *err,
                       size_t errcap) {
  if (out == NULL || (s == NULL && len > 0)) {
    return pctl_errbuf_set(err, errcap, LP_EINVAL, "invalid decimal: NULL argument");
  }
  if (scale > PCTL_DECIMAL_MAX_SCALE) {
    return pctl_errbuf_set(err, errcap, LP_EINVAL, "invalid decimal scale %u (maximum %u)",
                           scale, PCTL_DECIMAL_MAX_SCALE);
  }
  const char *t = s;
  size_t n = len;
  pctl_trim_spaces(&t, &n);
  if (n == 0) return FAIL(LP_EINVAL, "empty value");

  /* Pass 1: syntax, so a malformed long number is reported as malformed
   * rather than as an overflow. */
  size_t i = 0;
  bool neg = false;
  if (t[0] == '+' || t[0] == '-') neg = t[i++] == '-';
  size_t int_begin = i;
  while (i < n && pctl_is_digit(t[i])) i++;
  size_t int_end = i, frac_begin = i, frac_end = i;
  if (i < n && t[i] == '.') {
    frac_begin = ++i;
    while (i < n && pctl_is_digit(t[i])) i++;
    frac_end = i;
  }
  if (i < n) return bad_char(t, n, i, err, errcap);
  if (int_end == int_begin && frac_end == frac_begin) {
    return FAIL(LP_EINVAL, "expected digits");
  }

  /* Pass 2: value. Fraction digits beyond the scale must be zeros. */
  size_t frac_digits = frac_end - frac_begin;
  size_t kept = frac_digits < scale ? frac_digits : scale;
  for (size_t k = frac_begin + kept; k < frac_end; k++) {
    if (t[k] != '0') {
      return FAIL(LP_ERANGE, "more than %u decimal places (the extra digits are not zero)",
                  scale);
    }
  }
  uint64_t limit = magnitude_limit(neg);
  uint64_t v = 0;
  if (!accumulate(t + int_begin, int_end - int_begin, limit, &v) ||
      !accumulate(t + frac_begin, kept, limit, &v)) {
    return FAIL(LP_ERANGE, "out of range for a 64-bit value at scale %u", scale);
  }
  uint64_t mul = pow10_u64[scale - kept];
  if (v > limit / mul) return FAIL(LP_ERANGE, "out of range for a 64-bit value at scale %u", scale);
  *out = apply_sign(v * mul, neg);
  return LP_OK;
}

/* ------------------------------------------------------------------ */
/* 128-bit unsigned helpers, as two 64-bit halves. */

typedef struct u128 {
  uint64_t hi, lo;
} u128;

static u128 mul_64x64(uint64_t a, uint64_t b) {
  uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
  uint64_t b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  /* Sum of the middle column; cannot overflow (3 * (2^32 - 1) < 2^34). */
  uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
  u128 r;
  r.lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
  r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  return r;
}

/* x /= d for d < 2^32, returning the remainder (long division by 32-bit limbs). */
static uint64_t divmod_small(u128 *x, uint64_t d) {
  uint32_t limb[4] = {(uint32_t)(x->hi >> 32), (uint32_t)x->hi, (uint32_t)(x->lo >> 32),
                      (uint32_t)x->lo};
  uint64_t rem = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t cur = (rem << 32) | limb[i];
    limb[i] = (uint32_t)(cur / d);
    rem = cur % d;
  }
  x->hi = ((uint64_t)limb[0] << 32) | limb[1];
  x->lo = ((uint64_t)limb[2] << 32) | limb[3];
  return rem;
}

int pctl_decimal_mul(int64_t a, unsigned a_scale, int64_t b, unsigned b_scale,
                     unsigned out_scale, int64_t *out, char *err, size_t errcap) {
  if (out == NULL) return pctl_errbuf_set(err, errcap, LP_EINVAL, "decimal multiply: NULL output");
  if (a_scale > PCTL_DECIMAL_MAX_SCALE || b_scale > PCTL_DECIMAL_MAX_SCALE ||
      out_scale > PCTL_DECIMAL_MAX_SCALE) {
    return pctl_errbuf_set(err, errcap, LP_EINVAL,
                           "decimal multiply: scales %u, %u, %u (maximum %u)", a_scale, b_scale,
                           out_scale, PCTL_DECIMAL_MAX_SCALE);
  }
  int64_t direct;
  if (out_scale == a_scale + b_scale && !lp_i64_mul_overflow(a, b, &direct)) {
    *out = direct; /* exact and in range: what the general path gives */
    return LP_OK;
  }
  bool neg = (a < 0) != (b < 0);
  u128 p = mul_64x64(magnitude(a), magnitude(b));
  unsigned have = a_scale + b_scale;
  /* Drop digits one at a time (10 < 2^32): at most 36 steps. */
  for (unsigned k = have; k > out_scale; k--) {
    if (divmod_small(&p, 10) != 0) {
      return pctl_errbuf_set(err, errcap, LP_ERANGE,
                             "decimal multiply: %lld (scale %u) x %lld (scale %u) is not exact "
                             "at scale %u",
                             (long long)a, a_scale, (long long)b, b_scale, out_scale);
    }
  }
  uint64_t limit = magnitude_limit(neg);
  uint64_t mul = out_scale > have ? pow10_u64[out_scale - have] : 1;
  if (p.hi != 0 || p.lo > limit / mul) {
    return pctl_errbuf_set(err, errcap, LP_ERANGE,
                           "decimal multiply: %lld (scale %u) x %lld (scale %u) overflows a "
                           "64-bit value at scale %u",
                           (long long)a, a_scale, (long long)b, b_scale, out_scale);
  }
  *out = apply_sign(p.lo * mul, neg);
  return LP_OK;
}

int pctl_decimal_format(int64_t v, unsigned scale, char *buf, size_t cap) {
  if (buf == NULL) return LP_EINVAL;
  if (cap > 0) buf[0] = '\0';
  if (scale > PCTL_DECIMAL_MAX_SCALE) return LP_EINVAL;
  /* Digits least significant first, padded so there is one before the point. */
  char digits[PCTL_DECIMAL_BUF];
  size_t nd = 0;
  uint64_t m = magnitude(v);
  do {
    digits[nd++] = (char)('0' + m % 10);
    m /= 10;
  } while (m != 0);
  while (nd < scale + 1) digits[nd++] = '0';
  size_t need = (v < 0 ? 1u : 0u) + nd + (scale > 0 ? 1u : 0u) + 1;
  if (cap < need) return LP_EINVAL;
  size_t o = 0;
  if (v < 0) buf[o++] = '-';
  for (size_t i = nd; i-- > 0;) {
    buf[o++] = digits[i];
    if (i == scale && scale > 0) buf[o++] = '.';
  }
  buf[o] = '\0';
  return LP_OK;
}

unsigned pctl_decimal_places(const char *s, size_t len) {
  const char *t = s;
  size_t n = len;
  pctl_trim_spaces(&t, &n);
  const char *dot = n > 0 ? memchr(t, '.', n) : NULL;
  if (dot == NULL) return 0;
  size_t k = 0;
  for (const char *p = dot + 1; p < t + n && pctl_is_digit(*p); p++) k++;
  return k > 255 ? 255u : (unsigned)k;
}

int pctl_decimal_rescale(int64_t v, unsigned k, int64_t *out) {
  if (k > PCTL_DECIMAL_MAX_SCALE) return LP_ERANGE;
  bool neg = v < 0;
  uint64_t m = magnitude(v), mul = pow10_u64[k];
  if (m > magnitude_limit(neg) / mul) return LP_ERANGE;
  *out = apply_sign(m * mul, neg);
  return LP_OK;
}

int pctl_decimal_parse_own(const char *s, size_t len, int64_t *out, unsigned *places,
                           char *err, size_t errcap) {
  if (s != NULL && out != NULL && places != NULL && pctl_decimal_plain(s, len, out, places))
    return LP_OK;
  unsigned k = pctl_decimal_places(s, len);
  if (k > PCTL_DECIMAL_MAX_SCALE) k = PCTL_DECIMAL_MAX_SCALE;
  if (places != NULL) *places = k;
  return pctl_decimal_parse(s, len, k, out, err, errcap);
}
