/*
 * Internal to the bitmap files: container helpers shared by bitmap*.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_BITMAP_INTERNAL_H
#define LP_CORE_BITMAP_INTERNAL_H

#include "core/bitmap.h"

#define LPB_BITSET_BYTES (LP_BITMAP_WORDS * sizeof(uint64_t))
#define LPB_FULL 65536u

static inline uint32_t lpb_popcnt(uint64_t x) {
#if defined(__GNUC__)
  return (uint32_t)__builtin_popcountll(x);
#else
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (uint32_t)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* x != 0 */
static inline uint32_t lpb_ctz(uint64_t x) {
#if defined(__GNUC__)
  return (uint32_t)__builtin_ctzll(x);
#else
  uint32_t n = 0;
  while (!(x & 1u)) { x >>= 1; n++; }
  return n;
#endif
}

/* x != 0 */
static inline uint32_t lpb_clz(uint64_t x) {
#if defined(__GNUC__)
  return (uint32_t)__builtin_clzll(x);
#else
  uint32_t n = 0;
  while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; }
  return n;
#endif
}

static inline uint16_t *lpb_arr(const lp_bitmap_container *c) { return (uint16_t *)c->data; }
static inline uint64_t *lpb_words(const lp_bitmap_container *c) { return (uint64_t *)c->data; }
static inline lp_bitmap_run *lpb_runs(const lp_bitmap_container *c) {
  return (lp_bitmap_run *)c->data;
}

/* Words lo..hi (inclusive bit positions lo <= hi < 65536) set to ones. */
void lpb_words_set_range(uint64_t *w, uint32_t lo, uint32_t hi);
/* Popcount of bits lo..hi (inclusive) of w. */
uint32_t lpb_words_count_range(const uint64_t *w, uint32_t lo, uint32_t hi);
/* Operations of the word kernels (bitmap_kernels.c). */
#define LPB_OP_AND 0u
#define LPB_OP_OR 1u
#define LPB_OP_ANDNOT 2u
#define LPB_OP_XOR 3u
/* Popcount of the 1024 words. */
uint32_t lpb_words_card(const uint64_t *w);
/* Popcount of a & b. */
uint32_t lpb_words_and_card(const uint64_t *a, const uint64_t *b);
/* Popcount of ws[0] & ... & ws[k-1] (k >= 1), all streams read together. */
uint32_t lpb_words_andk_card(const uint64_t *const *ws, size_t k);
/* Popcount of a OP b, nothing written. */
uint32_t lpb_words_op_card(uint32_t op, const uint64_t *a, const uint64_t *b);
/* dst = a OP b (dst may be a or b); returns the popcount of dst. */
uint32_t lpb_words_op(uint32_t op, uint64_t *dst, const uint64_t *a, const uint64_t *b);
/* The kernel variant this CPU runs (0 portable, 1 POPCNT, 2 AVX-512
 * VPOPCNTDQ), and the kernels at an explicit level <= that one, so the
 * tests can compare every variant the machine has. */
int lpb_kernel_level(void);
uint32_t lpb_words_card_at(int level, const uint64_t *w);
uint32_t lpb_words_op_card_at(int level, uint32_t op, const uint64_t *a, const uint64_t *b);
uint32_t lpb_words_nruns_at(int level, const uint64_t *w);
uint32_t lpb_words_andk_card_at(int level, const uint64_t *const *ws, size_t k);
uint32_t lpb_words_op_at(int level, uint32_t op, uint64_t *dst, const uint64_t *a,
                         const uint64_t *b);
/* Runs in a bitset. */
uint32_t lpb_words_nruns(const uint64_t *w);

/* ---- containers ---- */
size_t lpb_c_bytes(const lp_bitmap_container *c);
void lpb_c_free(const lp_mem *m, lp_bitmap_container *c);
int lpb_c_copy(const lp_mem *m, lp_bitmap_container *dst, const lp_bitmap_container *src);
/* New empty array (cap >= 1) / bitset (zeroed when `zero`) / empty run
 * container (cap >= 1). */
int lpb_c_array_new(const lp_mem *m, lp_bitmap_container *c, uint32_t cap);
int lpb_c_bitset_new(const lp_mem *m, lp_bitmap_container *c, bool zero);
int lpb_c_run_new(const lp_mem *m, lp_bitmap_container *c, uint32_t cap);
bool lpb_c_contains(const lp_bitmap_container *c, uint16_t v);
/* Fill the 1024 words w with the container's values. */
void lpb_c_to_words(const lp_bitmap_container *c, uint64_t *w);
/* Take ownership of the 8 KiB block `block` (allocated with m) holding
 * `card` values and turn it into a canonical container in *out: dropped
 * (out->card = 0) when empty, an array at or below 4096 values, a single
 * run when full (or runs when allow_run and runs are smaller), else a
 * bitset. The block is freed or kept; on LP_ENOMEM it is freed and *out is
 * empty. */
int lpb_c_from_words(const lp_mem *m, uint64_t *block, uint32_t card, bool allow_run,
                     lp_bitmap_container *out);
/* Runs [s, e] pairs in the words, written to r (capacity at least the
 * number of runs). Returns the number written. */
uint32_t lpb_words_to_runs(const uint64_t *w, lp_bitmap_run *r);
/* Size in the portable format's terms, used to choose the run form. */
static inline bool lpb_run_is_smaller(uint32_t nruns, uint32_t card) {
  uint64_t run_bytes = 2u + 4u * (uint64_t)nruns;
  uint64_t other = card <= LP_BITMAP_ARRAY_MAX ? 2u * (uint64_t)card : LPB_BITSET_BYTES;
  return run_bytes < other;
}
/* Number of runs of the container's values. */
uint32_t lpb_c_nruns(const lp_bitmap_container *c);
/* *out = a new container with c's values in the run form (want_run) or the
 * canonical non-run form (array at or below 4096 values, else bitset); a
 * plain copy when c already has that form. c is not changed. */
int lpb_c_convert(const lp_mem *m, const lp_bitmap_container *c, bool want_run,
                  lp_bitmap_container *out);

/* ---- the container table ---- */
/* Index of key, or -(insertion point) - 1. */
int64_t lpb_find(const lp_bitmap *b, uint16_t key);
/* Room for at least n containers. */
int lpb_reserve(lp_bitmap *b, const lp_mem *m, uint32_t n);
/* Append (caller reserved, key above the last). */
static inline void lpb_push(lp_bitmap *b, uint16_t key, const lp_bitmap_container *c) {
  b->keys[b->n] = key;
  b->c[b->n] = *c;
  b->n++;
}
/* Insert at idx (caller reserved). */
void lpb_insert_at(lp_bitmap *b, uint32_t idx, uint16_t key, const lp_bitmap_container *c);
/* Free and remove container idx. */
void lpb_remove_at(lp_bitmap *b, const lp_mem *m, uint32_t idx);
/* Replace *dst by *tmp (releasing dst's old contents); tmp becomes empty. */
static inline void lpb_replace(lp_bitmap *dst, const lp_mem *m, lp_bitmap *tmp) {
  lp_bitmap_release(dst, m);
  *dst = *tmp;
  lp_bitmap_init(tmp);
}

#endif /* LP_CORE_BITMAP_INTERNAL_H */
