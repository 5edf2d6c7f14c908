/*
 * Internal: shared macros, checked arithmetic and little-endian helpers.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_COMMON_H
#define LP_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "libprofile/core.h"

#if defined(__GNUC__)
#  define LP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define LP_LIKELY(x) __builtin_expect(!!(x), 1)
#  define LP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define LP_NODISCARD __attribute__((warn_unused_result))
#else
#  define LP_PRINTF(fmt, args)
#  define LP_LIKELY(x) (x)
#  define LP_UNLIKELY(x) (x)
#  define LP_NODISCARD
#endif

#define LP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Checked size arithmetic: true when the result overflowed (then *out is
 * unspecified). Overflow must surface as LP_ELIMIT, never wrap. */
static inline bool lp_mul_overflow(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__)
  return __builtin_mul_overflow(a, b, out);
#else
  if (a != 0 && b > SIZE_MAX / a) return true;
  *out = a * b;
  return false;
#endif
}

static inline bool lp_add_overflow(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__)
  return __builtin_add_overflow(a, b, out);
#else
  if (b > SIZE_MAX - a) return true;
  *out = a + b;
  return false;
#endif
}

/* Exact int64 arithmetic for money and counts: true on overflow. */
static inline bool lp_i64_add_overflow(int64_t a, int64_t b, int64_t *out) {
#if defined(__GNUC__)
  return __builtin_add_overflow(a, b, out);
#else
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return true;
  *out = a + b;
  return false;
#endif
}

static inline bool lp_i64_mul_overflow(int64_t a, int64_t b, int64_t *out) {
#if defined(__GNUC__)
  return __builtin_mul_overflow(a, b, out);
#else
  if (a == 0 || b == 0) { *out = 0; return false; }
  if ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN)) return true;
  if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
            : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b)) return true;
  *out = a * b;
  return false;
#endif
}

/* Little-endian encode/decode, independent of the host's byte order. */
static inline void lp_put_u16le(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void lp_put_u32le(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void lp_put_u64le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t lp_get_u16le(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t lp_get_u32le(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static inline uint64_t lp_get_u64le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
/* Doubles travel as their IEEE-754 bit pattern. */
static inline void lp_put_f64le(uint8_t *p, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  lp_put_u64le(p, v);
}
static inline double lp_get_f64le(const uint8_t *p) {
  uint64_t v = lp_get_u64le(p);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

#endif /* LP_CORE_COMMON_H */
