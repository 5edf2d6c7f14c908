/*
 * Message buffers and text excerpts for the parsers' error reports.
 * SPDX-License-Identifier: MIT
 */
#include "textutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int pctl_errbuf_set(char *err, size_t cap, int code, const char *fmt, ...) {
  if (err == NULL || cap == 0) return code;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  if (n < 0) snprintf(err, cap, "%s", lp_strerror(code));
  return code;
}

void pctl_text_excerpt(const char *s, size_t len, char out[PCTL_EXCERPT_CAP]) {
  size_t n = len > PCTL_EXCERPT_MAX ? PCTL_EXCERPT_MAX : len;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[o++] = (c >= 0x20 && c <= 0x7E) ? (char)c : '?';
  }
  if (n < len) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

int pctl_fail_text(char *err, size_t errcap, int code, const char *what, const char *t,
                   size_t n, const char *fmt, ...) {
  if (err == NULL || errcap == 0) return code;
  char excerpt[PCTL_EXCERPT_CAP];
  char detail[112];
  pctl_text_excerpt(t, n, excerpt);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return pctl_errbuf_set(err, errcap, code, "invalid %s '%s': %s", what, excerpt, detail);
}

/* "%g" output with the exponent normalised to a sign and at least two
 * digits (C requires that; some old C libraries wrote three). */
static void normalise_exponent(char *buf) {
  char *e = strchr(buf, 'e');
  if (e == NULL) return;
  char sign = e[1] == '-' ? '-' : '+';
  const char *d = e + 1;
  if (*d == '+' || *d == '-') d++;
  while (d[0] == '0' && d[1] != '\0' && d[2] != '\0') d++; /* keep two digits */
  char digits[8];
  snprintf(digits, sizeof digits, "%s", d);
  snprintf(e, 16, "e%c%s%s", sign, strlen(digits) < 2 ? "0" : "", digits);
}

char *pctl_format_double(char buf[PCTL_DOUBLE_BUF], double v) {
  if (isnan(v)) {
    memcpy(buf, "nan", 4);
    return buf;
  }
  if (isinf(v)) {
    memcpy(buf, v < 0 ? "-inf" : "inf", v < 0 ? 5 : 4);
    return buf;
  }
  if (v == 0.0) {
    memcpy(buf, "0", 2); /* -0 too */
    return buf;
  }
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(buf, PCTL_DOUBLE_BUF, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  snprintf(buf, PCTL_DOUBLE_BUF, "%.*g", prec, v);
  /* Whole numbers below 10^16 in full ("100", not "1e+02"), as Python's
   * repr does; the digits are the same, so the value still round-trips. */
  const char *e = strchr(buf, 'e');
  if (e != NULL) {
    long exp10 = strtol(e + 1, NULL, 10);
    if (exp10 >= 0 && exp10 < 16) snprintf(buf, PCTL_DOUBLE_BUF, "%.*g", (int)exp10 + 1, v);
  }
  normalise_exponent(buf);
  return buf;
}
