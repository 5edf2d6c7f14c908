/*
 * Message buffers and text excerpts for the parsers' error reports.
 * SPDX-License-Identifier: MIT
 */
#include "textutil.h"

#include "fmtdouble.h"

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

char *pctl_format_double(char buf[PCTL_DOUBLE_BUF], double v) {
  /* The digits of the former "%.*g" / strtod loop, computed exactly
   * (fmtdouble.c); the tests keep that loop as their reference. */
  _Static_assert(PCTL_DOUBLE_BUF >= PCTL_FMTDOUBLE_MAX, "buffer too small");
  pctl_fmtdouble(buf, v);
  return buf;
}
