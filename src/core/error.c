/*
 * Status code texts and the per-handle error slot.
 * SPDX-License-Identifier: MIT
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *lp_strerror(int code) {
  switch (code) {
  case LP_OK: return "success";
  case LP_EINVAL: return "invalid argument";
  case LP_ENOMEM: return "out of memory";
  case LP_EIO: return "I/O failure";
  case LP_ECORRUPT: return "corrupt input";
  case LP_EVERSION: return "unsupported format version or feature";
  case LP_ENOTFOUND: return "not found";
  case LP_ELIMIT: return "limit exceeded";
  case LP_ECONFLICT: return "conflict";
  case LP_ERANGE: return "value out of range";
  case LP_EMISUSE: return "call out of sequence";
  case LP_EBUFSIZE: return "output buffer too small";
  default: return "unknown error code";
  }
}

int lp_error_set(lp_error *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (n < 0) snprintf(e->msg, sizeof e->msg, "%s", lp_strerror(code));
  e->code = code;
  return code;
}

int lp_error_code(lp_error *e, int code) {
  return lp_error_set(e, code, "%s", lp_strerror(code));
}

void lp_error_clear(lp_error *e) {
  e->code = LP_OK;
  e->msg[0] = '\0';
}

const char *lp_error_msg(const lp_error *e) {
  if (e->code == LP_OK) return "no error";
  return e->msg;
}

int lp_error_reentered(lp_error *e, const char *fn) {
  return lp_error_set(e, LP_EMISUSE,
                      "%s called from inside a callback of the same handle (not allowed)", fn);
}
