/*
 * Internal: bounded decoding of untrusted section payloads, and typed
 * little-endian appends to a section being written.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_CODEC_H
#define LP_CORE_CODEC_H

#include "core/common.h"
#include "libprofile/io.h"

/* A cursor never reads past its end: a short read sets `ok` to false and
 * returns zeros, so a decoder can read a whole record and check `ok` once. */
typedef struct lp_cursor {
  const uint8_t *p;
  size_t left;
  bool ok;
} lp_cursor;

static inline void lp_cursor_init(lp_cursor *c, const uint8_t *data, size_t len) {
  c->p = data;
  c->left = len;
  c->ok = true;
}

/* Pointer to the next n bytes (NULL, and ok = false, when fewer remain). */
static inline const uint8_t *lp_cursor_take(lp_cursor *c, size_t n) {
  if (!c->ok || n > c->left) {
    c->ok = false;
    return NULL;
  }
  const uint8_t *p = c->p;
  c->p += n;
  c->left -= n;
  return p;
}

static inline uint8_t lp_cursor_u8(lp_cursor *c) {
  const uint8_t *p = lp_cursor_take(c, 1);
  return p ? p[0] : 0;
}
static inline uint32_t lp_cursor_u32(lp_cursor *c) {
  const uint8_t *p = lp_cursor_take(c, 4);
  return p ? lp_get_u32le(p) : 0;
}
static inline uint64_t lp_cursor_u64(lp_cursor *c) {
  const uint8_t *p = lp_cursor_take(c, 8);
  return p ? lp_get_u64le(p) : 0;
}
static inline int64_t lp_cursor_i64(lp_cursor *c) {
  return (int64_t)lp_cursor_u64(c);
}
static inline double lp_cursor_f64(lp_cursor *c) {
  const uint8_t *p = lp_cursor_take(c, 8);
  return p ? lp_get_f64le(p) : 0.0;
}

/* Read a u64 element count and check that `count * esz` bytes can still
 * follow, so a hostile count never drives an allocation. */
static inline bool lp_cursor_count(lp_cursor *c, size_t esz, size_t *count) {
  uint64_t n = lp_cursor_u64(c);
  if (!c->ok) return false;
  if (esz == 0 || n > c->left / esz) {
    c->ok = false;
    return false;
  }
  *count = (size_t)n;
  return true;
}

/* True when the cursor is intact and fully consumed. */
static inline bool lp_cursor_done(const lp_cursor *c) { return c->ok && c->left == 0; }

/* Typed appends to the open section of a snapshot writer. */
static inline int lp_snapw_u32(lp_snapshot_writer *w, uint32_t v) {
  uint8_t b[4];
  lp_put_u32le(b, v);
  return lp_snapshot_writer_write(w, b, sizeof b);
}
static inline int lp_snapw_u64(lp_snapshot_writer *w, uint64_t v) {
  uint8_t b[8];
  lp_put_u64le(b, v);
  return lp_snapshot_writer_write(w, b, sizeof b);
}
static inline int lp_snapw_i64(lp_snapshot_writer *w, int64_t v) {
  return lp_snapw_u64(w, (uint64_t)v);
}
static inline int lp_snapw_f64(lp_snapshot_writer *w, double v) {
  uint8_t b[8];
  lp_put_f64le(b, v);
  return lp_snapshot_writer_write(w, b, sizeof b);
}

#endif /* LP_CORE_CODEC_H */
