/*
 * UTF-8 validation (RFC 3629, Table 3-7 of the Unicode standard).
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"

int lp_utf8_check(const char *text, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    /* ASCII fast path: most identifiers are plain ASCII. */
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c == 0) goto nul;
      i++;
      continue;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;      /* no overlong 3-byte forms */
      else if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;      /* no overlong 4-byte forms */
      else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
      goto invalid;
    }
    if (len - i <= need) goto invalid;
    if (s[i + 1] < lo || s[i + 1] > hi) goto invalid;
    for (size_t k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) goto invalid;
    i += need + 1;
  }
  return LP_UTF8_OK;
nul:
  if (bad_offset) *bad_offset = i;
  return LP_UTF8_NUL;
invalid:
  if (bad_offset) *bad_offset = i;
  return LP_UTF8_INVALID;
}

const char *lp_utf8_reason(int result) {
  switch (result) {
  case LP_UTF8_OK: return "valid UTF-8";
  case LP_UTF8_NUL: return "contains a NUL byte";
  default: return "is not valid UTF-8";
  }
}
