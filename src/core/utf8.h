/*
 * Internal: UTF-8 validation for every text that crosses the API
 * (identifier values, type and tag names, rule text).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_UTF8_H
#define LP_CORE_UTF8_H

#include "core/common.h"

/* Why a text was refused; LP_UTF8_OK when it is valid. */
enum {
  LP_UTF8_OK = 0,
  LP_UTF8_NUL = 1,      /* contains a NUL byte */
  LP_UTF8_INVALID = 2   /* not well-formed UTF-8 (RFC 3629: no overlong
                           forms, no surrogates, nothing above U+10FFFF) */
};

/* Check `len` bytes of `s`. On failure *bad_offset (may be NULL) receives
 * the offset of the first offending byte. */
int lp_utf8_check(const char *s, size_t len, size_t *bad_offset);

/* Static text for a result of lp_utf8_check ("contains a NUL byte", ...). */
const char *lp_utf8_reason(int result);

#endif /* LP_CORE_UTF8_H */
