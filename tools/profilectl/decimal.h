/*
 * profilectl - exact decimal text to scaled integers.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file decimal.h
 * @brief Decimal text to `int64_t` scaled by 10^scale, exactly: no binary
 * floating point anywhere, so "0.1" at scale 2 is 10, never 9.
 *
 * Syntax: optional `+` or `-`, then digits with at most one `.`; at least
 * one digit in total (".5" and "5." are fine). ASCII spaces (0x20) around the
 * text are trimmed. Rejected with #LP_EINVAL: empty text, a lone sign or
 * point, exponents ("1e3"), thousands or decimal-comma separators ("1,000",
 * "1_000", "1 000", "1'000"), NaN/infinity words, anything else.
 * Rejected with #LP_ERANGE: more fractional digits than the scale unless the
 * extra ones are all zero ("1.230" is fine at scale 2), and values outside
 * int64 after scaling.
 *
 * Messages: when @p err is not NULL a NUL-terminated English message (cut
 * to @p errcap bytes; #PCTL_ERRBUF_SIZE from timeparse.h is enough) is
 * written there on failure; it is left unchanged on success. All functions
 * are pure and thread-safe.
 */
#ifndef PROFILECTL_DECIMAL_H
#define PROFILECTL_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libprofile/core.h"

/** Largest scale: 10^18 is the largest power of ten in int64. */
#define PCTL_DECIMAL_MAX_SCALE 18u

/** Buffer size that holds any pctl_decimal_format() result ("-9.223372036854775808"). */
#define PCTL_DECIMAL_BUF 24

/**
 * @brief Parse decimal text into a value scaled by 10^@p scale.
 *
 * Examples at scale 2: "12.34" -> 1234, "-0.5" -> -50, "+3" -> 300,
 * " 7 " -> 700, "1.2300" -> 123; "1.234" is #LP_ERANGE.
 * @param s      Text (need not be NUL-terminated); may be NULL when @p len is 0.
 * @param len    Its length in bytes.
 * @param scale  0..#PCTL_DECIMAL_MAX_SCALE.
 * @param out    Receives the value; untouched on error.
 * @param err    Message buffer or NULL.
 * @param errcap Size of @p err.
 * @return #LP_OK, #LP_EINVAL (syntax, bad @p scale, NULL @p out) or #LP_ERANGE.
 */
int pctl_decimal_parse(const char *s, size_t len, unsigned scale, int64_t *out, char *err,
                       size_t errcap);

/**
 * @brief Exact product of two scaled values, at a chosen scale.
 *
 * Computes (@p a / 10^@p a_scale) * (@p b / 10^@p b_scale) * 10^@p out_scale
 * with a 128-bit intermediate, e.g. quantity 3 (scale 0) times price 1999
 * (scale 2, 19.99) at scale 2 gives 5997 minor units. Nothing is rounded:
 * when @p out_scale is below @p a_scale + @p b_scale the dropped digits must
 * be zero.
 * @return #LP_OK; #LP_EINVAL (a scale above #PCTL_DECIMAL_MAX_SCALE, NULL
 *         @p out); #LP_ERANGE (the result does not fit int64, or is not
 *         exact at @p out_scale). @p out is untouched on error.
 */
int pctl_decimal_mul(int64_t a, unsigned a_scale, int64_t b, unsigned b_scale,
                     unsigned out_scale, int64_t *out, char *err, size_t errcap);

/**
 * @brief Format a scaled value as plain decimal text with exactly @p scale
 * fractional digits ("12.34", "-0.05", "7" at scale 0).
 * @param v     Value.
 * @param scale 0..#PCTL_DECIMAL_MAX_SCALE.
 * @param buf   Receives the NUL-terminated text.
 * @param cap   Size of @p buf; #PCTL_DECIMAL_BUF always suffices.
 * @return #LP_OK, or #LP_EINVAL (NULL @p buf, bad @p scale, @p cap too
 *         small; then @p buf holds "" if @p cap > 0).
 */
int pctl_decimal_format(int64_t v, unsigned scale, char *buf, size_t cap);

/**
 * @brief Number of digits written after the decimal point of @p s (spaces
 * around it ignored; trailing zeros count: "1.50" has 2). Does not check
 * the syntax; pctl_decimal_parse() does.
 * @param s   Text (need not be NUL-terminated).
 * @param len Length of @p s.
 * @return The count (0 without a point).
 */
unsigned pctl_decimal_places(const char *s, size_t len);

/**
 * @brief Exact @p v x 10^@p k, or LP_ERANGE when it does not fit an int64.
 * @param v   Value.
 * @param k   Power of ten, at most #PCTL_DECIMAL_MAX_SCALE.
 * @param out Receives the product.
 * @return LP_OK or LP_ERANGE (@p out unchanged).
 */
int pctl_decimal_rescale(int64_t v, unsigned k, int64_t *out);

/**
 * @brief Parse @p s at its own number of decimal places: exactly
 * pctl_decimal_places() (at most #PCTL_DECIMAL_MAX_SCALE) followed by
 * pctl_decimal_parse() at that scale, with the same results and messages,
 * but a plain number (optional sign, at most 18 digits, an optional point,
 * no spaces) is read in one pass.
 * @param s      Text (need not be NUL-terminated).
 * @param len    Length of @p s.
 * @param out    Receives the value in units of 10^-places.
 * @param places Receives the scale it was read at.
 * @param err    Message buffer (may be NULL).
 * @param errcap Size of @p err.
 * @return As pctl_decimal_parse().
 */
int pctl_decimal_parse_own(const char *s, size_t len, int64_t *out, unsigned *places,
                           char *err, size_t errcap);

/**
 * @brief The one-pass part of pctl_decimal_parse_own(), inline for hot
 * loops: a plain number (optional sign, 1 to 18 digits, at most one point,
 * nothing else, at most 20 bytes) is read into @p out at its own @p places.
 * 18 digits cannot overflow (10^18 - 1 < INT64_MAX).
 * @param s      Text (not NULL).
 * @param len    Length of @p s.
 * @param out    Receives the value (not NULL).
 * @param places Receives its decimal places (not NULL).
 * @return true when the text was plain and is read; false (nothing
 *         written) when pctl_decimal_parse_own() must decide.
 */
static inline bool pctl_decimal_plain(const char *s, size_t len, int64_t *out,
                                      unsigned *places) {
  if (len == 0 || len > 20) return false;
  size_t i = 0;
  bool neg = s[0] == '-';
  if (s[0] == '-' || s[0] == '+') i++;
  uint64_t v = 0;
  size_t digits = 0, frac = 0;
  bool point = false;
  for (; i < len; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d < 10) {
      v = v * 10 + d;
      digits++;
      frac += point;
    } else if (s[i] == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  if (digits == 0 || digits > 18) return false;
  *out = neg ? -(int64_t)v : (int64_t)v;
  *places = (unsigned)frac;
  return true;
}

#endif /* PROFILECTL_DECIMAL_H */
