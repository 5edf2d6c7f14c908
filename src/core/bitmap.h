/*
 * Internal: compressed bitmaps of 32-bit values (Roaring-style containers).
 * SPDX-License-Identifier: MIT
 *
 * A set of uint32_t is split by the high 16 bits ("key") into containers
 * holding the low 16 bits, each in one of three forms:
 *   - array:  sorted unique uint16_t, 1..4096 values;
 *   - bitset: 1024 uint64_t words (8 KiB) with a cached cardinality, used
 *             for more than 4096 values;
 *   - run:    sorted, non-overlapping, non-adjacent (start, length-1) pairs;
 *             chosen by lp_bitmap_run_optimize (or by range operations) when
 *             smaller than the other two forms.
 * Containers are never empty; keys are strictly ascending.
 *
 * An lp_bitmap is a value type: zero-initialised (or lp_bitmap_init) it is
 * the empty set and owns no memory. Every call that may allocate takes the
 * owner's allocator; the same allocator must be used for the whole life of
 * a bitmap. Every failing call returns a negative LP_E* code and leaves its
 * output (or in-place operand) exactly as it was. No globals, no threads:
 * distinct bitmaps may be used from distinct threads; read-only calls on one
 * bitmap may run concurrently.
 *
 * Iteration order, rank/select and both serialised forms are deterministic
 * and independent of the host's byte order.
 */
#ifndef LP_CORE_BITMAP_H
#define LP_CORE_BITMAP_H

#include "core/mem.h"

/* Container kinds. */
#define LP_BITMAP_ARRAY 1u
#define LP_BITMAP_BITSET 2u
#define LP_BITMAP_RUN 3u

/* An array container holds at most this many values; above it a bitset. */
#define LP_BITMAP_ARRAY_MAX 4096u
/* Words of a bitset container. */
#define LP_BITMAP_WORDS 1024u

/* One run: the values start .. start + len (inclusive), len = count - 1. */
typedef struct lp_bitmap_run {
  uint16_t start;
  uint16_t len;
} lp_bitmap_run;

/* One container (the low 16 bits of the values under one key). */
typedef struct lp_bitmap_container {
  void *data;     /* uint16_t[cap] / uint64_t[1024] / lp_bitmap_run[cap] */
  uint32_t card;  /* values held, 1..65536 */
  uint32_t n;     /* array: values; run: runs; bitset: LP_BITMAP_WORDS */
  uint32_t cap;   /* elements allocated (array: uint16_t, run: runs) */
  uint32_t kind;  /* LP_BITMAP_ARRAY / _BITSET / _RUN */
} lp_bitmap_container;

/* The bitmap. keys[i] is the high 16 bits of every value in c[i]. Both
 * arrays live in one block of cap * (sizeof *c + sizeof *keys) bytes
 * (containers first), so growing is one allocation. */
typedef struct lp_bitmap {
  lp_bitmap_container *c;
  uint16_t *keys;
  uint32_t n;   /* containers in use */
  uint32_t cap; /* containers allocated */
} lp_bitmap;

/* ---- life cycle, single values (bitmap.c) ---------------------------- */

/* Make *b the empty set; allocates nothing. */
void lp_bitmap_init(lp_bitmap *b);
/* Free everything *b owns (with the allocator it was built with) and make it
 * empty. */
void lp_bitmap_release(lp_bitmap *b, const lp_mem *m);
/* Exchange two bitmaps (no allocation). */
void lp_bitmap_swap(lp_bitmap *a, lp_bitmap *b);

/* Add v. LP_OK (also when already present) or LP_ENOMEM. */
int lp_bitmap_add(lp_bitmap *b, const lp_mem *m, uint32_t v);
/* Add every value of [lo, hi_excl); hi_excl <= 2^32. An empty range is a
 * no-op. LP_EINVAL when hi_excl > 2^32; LP_ENOMEM. Full containers become
 * runs. */
int lp_bitmap_add_range(lp_bitmap *b, const lp_mem *m, uint32_t lo, uint64_t hi_excl);
/* Add n values in any order (duplicates allowed). v may be NULL when n is 0.
 * LP_ENOMEM, or LP_ELIMIT when 2n values overflow size_t; *b is unchanged
 * on failure. */
int lp_bitmap_add_many(lp_bitmap *b, const lp_mem *m, const uint32_t *v, size_t n);
/* Remove v (no-op when absent). LP_OK or LP_ENOMEM (removing from a bitset
 * or run may convert the container). */
int lp_bitmap_remove(lp_bitmap *b, const lp_mem *m, uint32_t v);
/* Remove every value of [lo, hi_excl); same errors as add_range. */
int lp_bitmap_remove_range(lp_bitmap *b, const lp_mem *m, uint32_t lo, uint64_t hi_excl);
bool lp_bitmap_contains(const lp_bitmap *b, uint32_t v);
uint64_t lp_bitmap_cardinality(const lp_bitmap *b);
bool lp_bitmap_is_empty(const lp_bitmap *b);
/* Smallest / largest value; false when empty (then *v is untouched). */
bool lp_bitmap_minimum(const lp_bitmap *b, uint32_t *v);
bool lp_bitmap_maximum(const lp_bitmap *b, uint32_t *v);
/* Replace *dst by a copy of *src (dst != src). LP_ENOMEM leaves *dst as it
 * was. */
int lp_bitmap_copy(lp_bitmap *dst, const lp_mem *m, const lp_bitmap *src);
/* Same set of values (whatever the container forms). */
bool lp_bitmap_equal(const lp_bitmap *a, const lp_bitmap *b);
/* Convert containers to runs where that is smaller, and runs back to
 * arrays/bitsets where not. LP_OK or LP_ENOMEM (unchanged). */
int lp_bitmap_run_optimize(lp_bitmap *b, const lp_mem *m);
/* Release spare capacity. LP_OK or LP_ENOMEM (unchanged). */
int lp_bitmap_shrink(lp_bitmap *b, const lp_mem *m);
/* Heap bytes owned by *b (allocated sizes, not counting *b itself). */
size_t lp_bitmap_size_in_bytes(const lp_bitmap *b);

/* ---- set operations (bitmap_ops.c) ------------------------------------ */

/* *out = a OP b. out must not alias a or b; *out's previous contents are
 * released on success. LP_OK or LP_ENOMEM (then *out is unchanged). */
int lp_bitmap_and(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b);
int lp_bitmap_or(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b);
int lp_bitmap_andnot(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b);
int lp_bitmap_xor(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b);
/* *a = *a OP *b (b may equal a). LP_OK or LP_ENOMEM (then *a is unchanged). */
int lp_bitmap_and_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b);
int lp_bitmap_or_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b);
int lp_bitmap_andnot_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b);
int lp_bitmap_xor_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b);
/* |a OP b| without building it. */
uint64_t lp_bitmap_and_cardinality(const lp_bitmap *a, const lp_bitmap *b);
uint64_t lp_bitmap_or_cardinality(const lp_bitmap *a, const lp_bitmap *b);
uint64_t lp_bitmap_andnot_cardinality(const lp_bitmap *a, const lp_bitmap *b);
uint64_t lp_bitmap_xor_cardinality(const lp_bitmap *a, const lp_bitmap *b);
/* a and b share at least one value. */
bool lp_bitmap_intersects(const lp_bitmap *a, const lp_bitmap *b);
/* *out = v[0] | ... | v[n-1] (n == 0: empty). out must not alias any v[i].
 * LP_OK, LP_ENOMEM or LP_ELIMIT (n too large for the scratch cursors); *out
 * is unchanged on failure. */
int lp_bitmap_or_many(lp_bitmap *out, const lp_mem *m, const lp_bitmap *const *v, size_t n);
/* *out = v[0] & ... & v[n-1]; n must be >= 1 (LP_EINVAL otherwise). out
 * must not alias any v[i]. LP_ENOMEM leaves *out unchanged. */
int lp_bitmap_and_many(lp_bitmap *out, const lp_mem *m, const lp_bitmap *const *v, size_t n);
/* |v[0] & ... & v[n-1]| without building it (n == 0: 0). Allocates
 * nothing. */
uint64_t lp_bitmap_and_many_cardinality(const lp_bitmap *const *v, size_t n);
/* *out = a with every value of [lo, hi_excl) flipped (NOT relative to that
 * range; for NOT relative to a universe bitmap use andnot). out must not
 * alias a. LP_EINVAL when hi_excl > 2^32; LP_ENOMEM (unchanged). */
int lp_bitmap_flip_range(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, uint32_t lo,
                         uint64_t hi_excl);

/* ---- rank, select, iteration (bitmap_rank.c) --------------------------- */

/* Number of values <= v. */
uint64_t lp_bitmap_rank(const lp_bitmap *b, uint32_t v);
/* The i-th smallest value (0-based) into *v; false when i >= cardinality
 * (then *v is untouched). */
bool lp_bitmap_select(const lp_bitmap *b, uint64_t i, uint32_t *v);

/* Ascending iteration without materialising. The bitmap must not change
 * while an iterator over it is in use. */
typedef struct lp_bitmap_iter {
  const lp_bitmap *b;
  uint32_t ci;   /* current container */
  uint32_t pos;  /* array index / bitset word / run index */
  uint64_t word; /* bitset: bits of word pos not yet returned */
  uint32_t next; /* run: next low value (may be 65536 = run done) */
} lp_bitmap_iter;

/* Position *it at the first value >= from. */
void lp_bitmap_iter_init(lp_bitmap_iter *it, const lp_bitmap *b, uint32_t from);
/* Write up to cap next values to out (ascending); returns how many, 0 at
 * the end (and whenever cap is 0). */
size_t lp_bitmap_iter_next(lp_bitmap_iter *it, uint32_t *out, size_t cap);

/* ---- serialisation (bitmap_serial.c) ---------------------------------- */

/* Own compact format (little-endian), see docs/bitmaps.md. */
size_t lp_bitmap_serialized_size(const lp_bitmap *b);
/* Write exactly lp_bitmap_serialized_size(b) bytes to out. The bytes depend
 * only on the set of values and the container forms. */
void lp_bitmap_serialize(const lp_bitmap *b, uint8_t *out);
/* Read one bitmap from in[0..len) into *b (replacing its contents); *used
 * (may be NULL) receives the bytes consumed. The input is validated
 * completely (sorted keys, kinds, cardinalities, arrays sorted and unique,
 * runs ordered and in bounds, bitset popcounts, container forms canonical
 * by the rules above) before *b changes. LP_ECORRUPT on any violation
 * (including truncation), LP_ENOMEM; *b is untouched on failure. */
int lp_bitmap_deserialize(lp_bitmap *b, const lp_mem *m, const uint8_t *in, size_t len,
                          size_t *used);

/* RoaringFormatSpec portable format (CRoaring, Java, Go, ClickHouse). */
size_t lp_bitmap_portable_size(const lp_bitmap *b);
void lp_bitmap_portable_serialize(const lp_bitmap *b, uint8_t *out);
/* Same contract as lp_bitmap_deserialize. Containers are accepted in any
 * valid form the spec allows (e.g. an array of 4096 values, a bitset of few
 * values) and converted to this library's canonical form. */
int lp_bitmap_portable_deserialize(lp_bitmap *b, const lp_mem *m, const uint8_t *in,
                                   size_t len, size_t *used);

/* ---- invariants (bitmap_check.c) -------------------------------------- */

/* LP_OK when every invariant holds (keys ascending, containers non-empty,
 * kinds valid, counts within capacity, cached cardinalities exact, arrays
 * sorted/unique with 1..4096 values, bitsets above 4096 values, runs sorted,
 * non-overlapping, non-adjacent and in bounds); LP_ECORRUPT otherwise. */
int lp_bitmap_check(const lp_bitmap *b);

#endif /* LP_CORE_BITMAP_H */
