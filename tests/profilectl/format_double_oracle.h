/*
 * The former pctl_format_double, kept as the reference of the exact
 * formatter: "%.*g" with 1..17 significant digits, the first that strtod
 * reads back (glibc's printf and strtod are exact, half to even).
 * Used by tests/profilectl/test_format_double.c and bench/format.
 * SPDX-License-Identifier: MIT
 */
#ifndef PCTL_FORMAT_DOUBLE_ORACLE_H
#define PCTL_FORMAT_DOUBLE_ORACLE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textutil.h"

/* "%g" output with the exponent normalised to a sign and at least two
 * digits (C requires that; some old C libraries wrote three). */
static inline void oracle_normalise_exponent(char *buf) {
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

static inline char *oracle_format(char buf[PCTL_DOUBLE_BUF], double v) {
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
  /* Whole numbers below 10^16 in full ("100", not "1e+02"). */
  const char *e = strchr(buf, 'e');
  if (e != NULL) {
    long exp10 = strtol(e + 1, NULL, 10);
    if (exp10 >= 0 && exp10 < 16) snprintf(buf, PCTL_DOUBLE_BUF, "%.*g", (int)exp10 + 1, v);
  }
  oracle_normalise_exponent(buf);
  return buf;
}

#endif /* PCTL_FORMAT_DOUBLE_ORACLE_H */
