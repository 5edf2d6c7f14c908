/*
 * profilectl - small text helpers shared by the value parsers.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file textutil.h
 * @brief Message buffers and text excerpts for the parsers' error reports.
 */
#ifndef PROFILECTL_TEXTUTIL_H
#define PROFILECTL_TEXTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cli.h"

/** Longest input excerpt quoted in a message, in bytes. */
#define PCTL_EXCERPT_MAX 40

/** Buffer size that holds any excerpt from pctl_text_excerpt(). */
#define PCTL_EXCERPT_CAP (PCTL_EXCERPT_MAX + 4)

/**
 * @brief printf-style message into @p err (NULL or @p cap 0: nothing is
 * written; a long message is cut but always NUL-terminated).
 * @return @p code, so callers can `return pctl_errbuf_set(...)`.
 */
int pctl_errbuf_set(char *err, size_t cap, int code, const char *fmt, ...) PCTL_PRINTF(4, 5);

/**
 * @brief Printable copy of input text for messages: bytes outside
 * 0x20-0x7E become '?', and text longer than #PCTL_EXCERPT_MAX is cut and
 * ends in "...".
 * @param s   Text (may be NULL when @p len is 0).
 * @param len Its length.
 * @param out Receives the NUL-terminated excerpt; #PCTL_EXCERPT_CAP bytes.
 */
void pctl_text_excerpt(const char *s, size_t len, char out[PCTL_EXCERPT_CAP]);

/**
 * @brief Report that text @p t (@p n bytes) is not a valid @p what:
 * writes "invalid WHAT 'EXCERPT': DETAIL" into @p err, DETAIL formatted
 * from @p fmt. Shared by the parsers so their messages read alike.
 * @return @p code.
 */
int pctl_fail_text(char *err, size_t errcap, int code, const char *what, const char *t,
                   size_t n, const char *fmt, ...) PCTL_PRINTF(7, 8);

/** @brief Narrow [*s, *s + *len) to exclude leading and trailing ASCII spaces (0x20). */
static inline void pctl_trim_spaces(const char **s, size_t *len) {
  const char *p = *s;
  size_t n = *len;
  while (n > 0 && p[0] == ' ') {
    p++;
    n--;
  }
  while (n > 0 && p[n - 1] == ' ') n--;
  *s = p;
  *len = n;
}

/** @brief True for an ASCII digit. */
/** Size of the buffer of pctl_format_double(). */
#define PCTL_DOUBLE_BUF 32

/**
 * @brief The shortest text that reads back (strtod) to exactly @p v.
 *
 * The text of "%.*g" at the smallest precision in 1..17 whose value reads
 * back, so 217.99 prints as "217.99" and 0.1 + 0.2 as
 * "0.30000000000000004"; computed exactly without printf or strtod
 * (pctl_fmtdouble() in fmtdouble.h). The same on every platform: the
 * decimal point is always '.' (no locale), the exponent is
 * written with a sign and at least two digits ("1e-05", "1.5e+300"),
 * negative zero prints as "0", NaN as "nan" and infinities as "inf" and
 * "-inf" (which Python, pandas and numpy read back).
 * @param buf Receives the NUL-terminated text (at most 25 bytes are used,
 *            the NUL included).
 * @param v   Value.
 * @return @p buf.
 */
char *pctl_format_double(char buf[PCTL_DOUBLE_BUF], double v);

static inline bool pctl_is_digit(char c) { return c >= '0' && c <= '9'; }

#endif /* PROFILECTL_TEXTUTIL_H */
