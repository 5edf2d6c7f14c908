/*
 * Tests for the internal containers every module reuses: growable array,
 * hash maps (64- and 128-bit keys), arena and string pool.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/map.h"
#include "core/rng.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "harness/lp_test.h"

static lp_mem test_mem(lp_test_alloc *ta) {
  lp_test_alloc_init(ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta->alloc), LP_OK);
  return m;
}

static void vec_appends_and_grows(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_vec v;
  lp_vec_init(&v, sizeof(uint32_t));
  for (uint32_t i = 0; i < 1000; i++) assert_int_equal(lp_vec_push(&v, &m, &i), LP_OK);
  assert_int_equal(v.len, 1000);
  for (uint32_t i = 0; i < 1000; i++) assert_int_equal(*(uint32_t *)lp_vec_at(&v, i), i);
  assert_int_equal(lp_vec_append(&v, &m, NULL, 3), LP_OK); /* zero-filled */
  assert_int_equal(*(uint32_t *)lp_vec_at(&v, 1002), 0);
  assert_int_equal(lp_vec_shrink(&v, &m), LP_OK);
  assert_int_equal(v.cap, v.len);
  assert_int_equal(lp_vec_append(&v, &m, NULL, SIZE_MAX), LP_ELIMIT);
  assert_int_equal(v.len, 1003);
  lp_vec_free(&v, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

static void vec_failure_leaves_contents(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_vec v;
  lp_vec_init(&v, 1);
  assert_int_equal(lp_vec_append(&v, &m, "abcdefgh", 8), LP_OK);
  lp_test_alloc_fail_at(&ta, 1, true);
  assert_int_equal(lp_vec_append(&v, &m, "ijk", 3), LP_ENOMEM);
  assert_int_equal(v.len, 8);
  assert_memory_equal(v.data, "abcdefgh", 8);
  /* The exact-size retry rescues an append when only the generous size fails. */
  lp_test_alloc_fail_at(&ta, 1, false);
  assert_int_equal(lp_vec_append(&v, &m, "ijk", 3), LP_OK);
  assert_int_equal(v.cap, 11);
  lp_vec_free(&v, &m);
  assert_int_equal(ta.live_blocks, 0);
}

/* lp_vec_reserve_by grows by cap / divisor (the identity graph's large
 * arrays: by an eighth), and falls back to the exact size like the rest. */
static void vec_reserve_by_grows_by_the_divisor(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_vec v;
  lp_vec_init(&v, 4);
  assert_int_equal(lp_vec_reserve_by(&v, &m, 800, 8), LP_OK);
  assert_int_equal(v.cap, 800); /* from empty: the size asked */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 800, 8), LP_OK);
  assert_int_equal(v.cap, 800); /* enough room: nothing moves */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 801, 8), LP_OK);
  assert_int_equal(v.cap, 900); /* 800 + 800 / 8 */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 2000, 8), LP_OK);
  assert_int_equal(v.cap, 2000); /* more than an eighth asked: the size asked */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 2001, 2), LP_OK);
  assert_int_equal(v.cap, 3000); /* divisor 2 is lp_vec_reserve's half again */
  lp_test_alloc_fail_at(&ta, 1, false); /* the eighth fails, the exact size fits */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 3001, 8), LP_OK);
  assert_int_equal(v.cap, 3001);
  lp_test_alloc_fail_at(&ta, 1, true); /* every try fails: unchanged */
  assert_int_equal(lp_vec_reserve_by(&v, &m, 3002, 8), LP_ENOMEM);
  assert_int_equal(v.cap, 3001);
  lp_test_alloc_disarm(&ta);
  lp_vec_free(&v, &m);
  assert_int_equal(ta.live_blocks, 0);
}

/* Model check: random puts, gets and deletes against a plain array that
 * maps small keys to values, so every answer has an independent oracle. */
static void map_agrees_with_model(unsigned key_words) {
  enum { KEYS = 4096, OPS = 200000 };
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_hmap h;
  lp_hmap_init(&h, key_words);
  static uint64_t model_val[KEYS];
  static bool model_has[KEYS];
  memset(model_has, 0, sizeof model_has);
  size_t model_len = 0;
  lp_rng r;
  lp_rng_seed(&r, 99 + key_words);
  for (int op = 0; op < OPS; op++) {
    uint64_t k = lp_rng_below(&r, KEYS);
    /* Keys that collide in their low bits stress probing and deletion. */
    uint64_t key[2] = {k << 20, key_words == 2 ? ~k : 0};
    uint64_t got;
    switch (lp_rng_below(&r, 3)) {
    case 0: {
      uint64_t *slot;
      bool inserted;
      assert_int_equal(lp_hmap_upsert(&h, &m, key, &slot, &inserted), LP_OK);
      assert_int_equal(inserted, !model_has[k]);
      if (inserted) assert_int_equal(*slot, 0);
      *slot = (uint64_t)op;
      if (!model_has[k]) model_len++;
      model_has[k] = true;
      model_val[k] = (uint64_t)op;
      break;
    }
    case 1:
      assert_int_equal(lp_hmap_get(&h, key, &got), model_has[k]);
      if (model_has[k]) assert_int_equal(got, model_val[k]);
      break;
    default:
      assert_int_equal(lp_hmap_del(&h, key, &got), model_has[k]);
      if (model_has[k]) {
        assert_int_equal(got, model_val[k]);
        model_has[k] = false;
        model_len--;
      }
      break;
    }
    assert_int_equal(h.len, model_len);
  }
  /* Iteration visits each live key exactly once. */
  size_t pos = 0, seen = 0;
  const uint64_t *key;
  uint64_t val;
  while (lp_hmap_next(&h, &pos, &key, &val)) {
    uint64_t k = key[0] >> 20;
    assert_true(model_has[k]);
    assert_int_equal(val, model_val[k]);
    seen++;
  }
  assert_int_equal(seen, model_len);
  assert_true(lp_hmap_bytes(&h) > 0);
  lp_hmap_free(&h, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

static void map64_agrees_with_model(void **state) {
  (void)state;
  map_agrees_with_model(1);
}

static void map128_agrees_with_model(void **state) {
  (void)state;
  map_agrees_with_model(2);
}

static void map_wrappers_and_failure(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_map64 a;
  lp_map64_init(&a);
  uint64_t v = 0;
  assert_false(lp_map64_get(&a, 5, &v)); /* empty map, no allocation */
  assert_false(lp_map64_del(&a, 5, &v));
  assert_int_equal(ta.calls, 0);
  for (uint64_t i = 0; i < 12; i++) assert_int_equal(lp_map64_put(&a, &m, i, i * 10), LP_OK);
  /* The 13th key needs growth; make it fail and check nothing changed. */
  lp_test_alloc_fail_at(&ta, 1, false);
  assert_int_equal(lp_map64_put(&a, &m, 100, 1), LP_ENOMEM);
  assert_int_equal(a.len, 12);
  assert_false(lp_map64_get(&a, 100, NULL));
  for (uint64_t i = 0; i < 12; i++) {
    assert_true(lp_map64_get(&a, i, &v));
    assert_int_equal(v, i * 10);
  }
  assert_int_equal(lp_map64_put(&a, &m, 100, 1), LP_OK); /* usable after */
  assert_int_equal(lp_map64_put(&a, &m, 100, 2), LP_OK); /* overwrite */
  assert_true(lp_map64_get(&a, 100, &v));
  assert_int_equal(v, 2);
  assert_int_equal(a.len, 13);
  assert_int_equal(lp_hmap_reserve(&a, &m, SIZE_MAX / 2), LP_ELIMIT);
  lp_hmap_free(&a, &m);

  lp_map128 b;
  lp_map128_init(&b);
  lp_hash128 k1 = {1, 2}, k2 = {2, 1};
  assert_int_equal(lp_map128_put(&b, &m, k1, 11), LP_OK);
  assert_int_equal(lp_map128_put(&b, &m, k2, 22), LP_OK);
  assert_true(lp_map128_get(&b, k1, &v));
  assert_int_equal(v, 11);
  assert_true(lp_map128_del(&b, k2, &v));
  assert_int_equal(v, 22);
  assert_false(lp_map128_get(&b, k2, NULL));
  lp_hmap_free(&b, &m);
  assert_int_equal(ta.live_blocks, 0);
}

/* Batched ingest (src/rfm) forms these hashes itself to prefetch slots a
 * few keys ahead, so the formula is part of the map's contract. */
static void map_hash_and_prefetch_contract(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_hmap a, b;
  lp_hmap_init(&a, 1);
  lp_hmap_init(&b, 2);
  uint64_t k1[1] = {12345}, k2[2] = {12345, 678};
  assert_int_equal(lp_hmap_hash(&a, k1), lp_mix64(12345));
  assert_int_equal(lp_hmap_hash(&b, k2), lp_mix64(lp_mix64(12345) ^ 678));
  lp_hmap_prefetch(&a, lp_hmap_hash(&a, k1)); /* empty map: a no-op */
  assert_int_equal(lp_map64_put(&a, &m, 12345, 9), LP_OK);
  lp_hmap_prefetch(&a, lp_hmap_hash(&a, k1));
  uint64_t v = 0;
  assert_true(lp_map64_get(&a, 12345, &v));
  assert_int_equal(v, 9);
  assert_int_equal(a.len, 1);
  lp_hmap_free(&a, &m);
  lp_hmap_free(&b, &m);
  assert_int_equal(ta.live_blocks, 0);
}

/* ---- bulk build (lp_hmap_build) against one upsert per key ---- */

/* The capacity one upsert per key reaches from an empty map (written out
 * here: 16 slots, doubling while more than 3/4 full). */
static size_t cap_for_count(size_t n) {
  size_t cap = 16;
  while (n > cap / 4 * 3) cap *= 2;
  return cap;
}

static uint64_t home_of(unsigned kw, const uint64_t *key, size_t cap) {
  lp_hmap probe_only;
  lp_hmap_init(&probe_only, kw);
  return lp_hmap_hash(&probe_only, key) & (cap - 1);
}

/* A random key whose home slot (in a table of `cap`) satisfies lo <= home < hi. */
static void steered_key(lp_rng *r, unsigned kw, size_t cap, uint64_t lo, uint64_t hi, uint64_t *key) {
  uint64_t home;
  do {
    for (unsigned w = 0; w < kw; w++) key[w] = lp_rng_next(r);
    home = home_of(kw, key, cap);
  } while (home < lo || home >= hi);
}

enum { BUILD_REGION = 1u << 14 }; /* map.c's region, for steering keys */

typedef enum { KEYS_RANDOM, KEYS_EDGES, KEYS_CROWDED } key_shape;

/* n distinct keys: random, or with runs steered to cross region ends and
 * to wrap from the table's end to slot 0 and with shared home slots (EDGES:
 * 40 keys of each, spread over the input), or with more than a region's
 * worth homed in one region (CROWDED: the build's fallback). */
static void make_keys(lp_rng *r, unsigned kw, size_t n, size_t cap, key_shape shape, uint64_t *keys) {
  size_t stride = n / 160 + 1;
  for (size_t i = 0; i < n; i++) {
    uint64_t *k = &keys[i * kw];
    uint64_t pick = i % stride == 0 ? (i / stride) % 4 : 3;
    if (shape == KEYS_EDGES && pick == 0 && cap > 64) {
      steered_key(r, kw, cap, cap - 6, cap, k); /* table end: wraps */
    } else if (shape == KEYS_EDGES && pick == 1 && cap >= 2 * BUILD_REGION) {
      uint64_t end = BUILD_REGION * (1 + lp_rng_below(r, cap / BUILD_REGION - 1));
      steered_key(r, kw, cap, end - 5, end, k); /* a region's end */
    } else if (shape == KEYS_EDGES && pick == 2) {
      steered_key(r, kw, cap, 7, 8, k); /* one shared home slot */
    } else if (shape == KEYS_CROWDED && i < n / 3) {
      steered_key(r, kw, cap, BUILD_REGION, 2 * BUILD_REGION, k);
    } else {
      for (unsigned w = 0; w < kw; w++) k[w] = lp_rng_next(r);
    }
  }
}

static bool key_at_eq(const uint64_t *keys, unsigned kw, size_t i, size_t j) {
  return keys[i * kw] == keys[j * kw] && (kw == 1 || keys[i * kw + 1] == keys[j * kw + 1]);
}

/* The test's own duplicate check (quadratic over a sorted first word). */
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void assert_distinct(const uint64_t *keys, unsigned kw, size_t n) {
  uint64_t *first = malloc((n + 1) * sizeof *first);
  assert_non_null(first);
  for (size_t i = 0; i < n; i++) first[i] = keys[i * kw];
  qsort(first, n, sizeof *first, cmp_u64);
  for (size_t i = 1; i < n; i++)
    if (first[i] == first[i - 1])
      for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) assert_false(key_at_eq(keys, kw, a, b));
  free(first);
}

static bool bit_of(const uint64_t *present, size_t i) {
  return present == NULL || ((present[i / 64] >> (i % 64)) & 1);
}

/* Every present key gives its value, every masked or foreign key nothing,
 * iteration visits exactly the present keys. */
static void assert_map_holds(const lp_hmap *h, const uint64_t *keys, const uint64_t *vals,
                             size_t n, const uint64_t *present, lp_rng *r) {
  unsigned kw = h->kw;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t got = 0;
    bool in = bit_of(present, i);
    assert_int_equal(lp_hmap_get(h, &keys[i * kw], &got), in);
    if (in) assert_int_equal(got, vals != NULL ? vals[i] : i);
    count += in;
  }
  assert_int_equal(h->len, count);
  for (int t = 0; t < 1000; t++) {
    uint64_t k[2] = {lp_rng_next(r), lp_rng_next(r)};
    assert_false(lp_hmap_get(h, k, NULL)); /* 2^-64 per draw of a clash */
  }
  size_t pos = 0, seen = 0;
  const uint64_t *key;
  uint64_t val;
  while (lp_hmap_next(h, &pos, &key, &val)) seen++;
  assert_int_equal(seen, count);
}

static void build_case(unsigned kw, size_t n, key_shape shape, bool masked, uint64_t seed) {
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_rng r;
  lp_rng_seed(&r, seed);
  uint64_t *keys = malloc((n * kw + 1) * sizeof *keys), *vals = malloc((n + 1) * sizeof *vals);
  uint64_t *present = calloc(n / 64 + 1, sizeof *present);
  assert_true(keys != NULL && vals != NULL && present != NULL);
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    vals[i] = lp_rng_next(&r);
    if (!masked || lp_rng_below(&r, 10) < 7) {
      present[i / 64] |= UINT64_C(1) << (i % 64);
      count++;
    }
  }
  make_keys(&r, kw, n, cap_for_count(count), shape, keys);
  assert_distinct(keys, kw, n);
  const uint64_t *mask = masked ? present : NULL;
  lp_hmap a, b;
  lp_hmap_init(&a, kw);
  lp_hmap_init(&b, kw);
  assert_int_equal(lp_hmap_build(&a, &m, keys, seed % 2 ? vals : NULL, n, mask), LP_OK);
  for (size_t i = 0; i < n; i++) {
    if (!bit_of(mask, i)) continue;
    uint64_t *slot;
    bool ins;
    assert_int_equal(lp_hmap_upsert(&b, &m, &keys[i * kw], &slot, &ins), LP_OK);
    assert_true(ins);
    *slot = seed % 2 ? vals[i] : i;
  }
  assert_int_equal(a.cap, b.cap);
  assert_int_equal(a.cap, count > 0 ? cap_for_count(count) : 0);
  assert_int_equal(lp_hmap_bytes(&a), lp_hmap_bytes(&b));
  assert_map_holds(&a, keys, seed % 2 ? vals : NULL, n, mask, &r);
  /* Afterwards both maps answer every operation alike. */
  for (int op = 0; op < 30000; op++) {
    uint64_t k[2];
    if (n > 0 && lp_rng_below(&r, 2) == 0) {
      size_t i = (size_t)lp_rng_below(&r, n);
      k[0] = keys[i * kw];
      k[1] = kw == 2 ? keys[i * kw + 1] : 0;
    } else {
      k[0] = lp_rng_below(&r, 1000);
      k[1] = 7;
    }
    uint64_t va = 1, vb = 2, *sa, *sb;
    bool ia, ib;
    switch (lp_rng_below(&r, 3)) {
    case 0:
      assert_int_equal(lp_hmap_del(&a, k, &va), lp_hmap_del(&b, k, &vb));
      break;
    case 1:
      assert_int_equal(lp_hmap_upsert(&a, &m, k, &sa, &ia), LP_OK);
      assert_int_equal(lp_hmap_upsert(&b, &m, k, &sb, &ib), LP_OK);
      assert_int_equal(ia, ib);
      va = vb = *sa;
      assert_int_equal(*sa, *sb);
      *sa = *sb = (uint64_t)op;
      break;
    default:
      assert_int_equal(lp_hmap_get(&a, k, &va), lp_hmap_get(&b, k, &vb));
      break;
    }
    assert_int_equal(va == 1 && vb == 2, va != vb);
    assert_int_equal(a.len, b.len);
  }
  size_t pos = 0;
  const uint64_t *key;
  uint64_t val, other;
  while (lp_hmap_next(&a, &pos, &key, &val)) {
    assert_true(lp_hmap_get(&b, key, &other));
    assert_int_equal(val, other);
  }
  lp_hmap_free(&a, &m);
  lp_hmap_free(&b, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
  free(keys);
  free(vals);
  free(present);
}

static void map_build_agrees_with_upserts(void **state) {
  (void)state;
  for (unsigned kw = 1; kw <= 2; kw++) {
    build_case(kw, 0, KEYS_RANDOM, false, 1);
    build_case(kw, 1, KEYS_RANDOM, false, 2);
    build_case(kw, 130, KEYS_EDGES, true, 3);     /* n not a multiple of 64 */
    build_case(kw, 5000, KEYS_EDGES, false, 4);   /* one table in cache: direct */
    build_case(kw, 60000, KEYS_RANDOM, false, 5); /* 8 regions */
    build_case(kw, 60000, KEYS_EDGES, false, 6);
    build_case(kw, 90001, KEYS_EDGES, true, 7);
    build_case(kw, 60000, KEYS_CROWDED, false, 8); /* a region over-full */
  }
}

/* A key given twice is refused with LP_ECORRUPT and the map is as before:
 * a fresh map stays without a table, a reserved empty one keeps its table,
 * empty, and both build fine afterwards. A twin masked out is no twin. */
static void map_build_refuses_duplicates(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_rng r;
  lp_rng_seed(&r, 77);
  const size_t sizes[] = {2, 700, 60000};
  for (size_t s = 0; s < LP_ARRAY_LEN(sizes); s++) {
    size_t n = sizes[s];
    uint64_t *keys = malloc(n * sizeof *keys), *present = calloc(n / 64 + 1, sizeof *present);
    assert_true(keys != NULL && present != NULL);
    make_keys(&r, 1, n, cap_for_count(n), KEYS_EDGES, keys);
    assert_distinct(keys, 1, n);
    size_t i = (size_t)lp_rng_below(&r, n - 1), j = i + 1 + (size_t)lp_rng_below(&r, n - 1 - i);
    uint64_t kept = keys[j];
    keys[j] = keys[i];
    for (int reserved = 0; reserved < 2; reserved++) {
      lp_map64 h;
      lp_map64_init(&h);
      if (reserved) assert_int_equal(lp_hmap_reserve(&h, &m, n), LP_OK);
      size_t cap = h.cap, blocks = ta.live_blocks;
      assert_int_equal(lp_map64_build(&h, &m, keys, NULL, n, NULL), LP_ECORRUPT);
      assert_int_equal(h.len, 0);
      assert_int_equal(h.cap, cap);
      assert_int_equal(ta.live_blocks, blocks);
      size_t pos = 0;
      assert_false(lp_hmap_next(&h, &pos, NULL, NULL));
      assert_false(lp_map64_get(&h, keys[i], NULL));
      /* the twin masked out: accepted */
      for (size_t k = 0; k < n; k++)
        if (k != j) present[k / 64] |= UINT64_C(1) << (k % 64);
      assert_int_equal(lp_map64_build(&h, &m, keys, NULL, n, present), LP_OK);
      uint64_t v;
      assert_true(lp_map64_get(&h, keys[i], &v));
      assert_int_equal(v, i);
      assert_int_equal(h.len, n - 1);
      memset(present, 0, (n / 64 + 1) * sizeof *present);
      lp_hmap_free(&h, &m);
    }
    keys[j] = kept;
    free(keys);
    free(present);
  }
  assert_int_equal(ta.live_blocks, 0);
}

static void map_build_argument_errors(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_map64 h;
  lp_map64_init(&h);
  uint64_t keys[3] = {1, 2, 3};
  assert_int_equal(lp_map64_build(&h, &m, NULL, NULL, 1, NULL), LP_EINVAL);
  assert_int_equal(lp_map64_build(&h, &m, NULL, NULL, 0, NULL), LP_OK); /* nothing to add */
  uint64_t none = 0;
  assert_int_equal(lp_map64_build(&h, &m, keys, NULL, 3, &none), LP_OK); /* all masked */
  assert_int_equal(h.cap, 0);
  assert_int_equal(ta.calls, 0);
  /* more entries than any table can hold: refused before a key is read */
  assert_int_equal(lp_map64_build(&h, &m, keys, NULL, SIZE_MAX / 2, NULL), LP_ELIMIT);
  assert_int_equal(lp_map64_put(&h, &m, 9, 90), LP_OK);
  assert_int_equal(lp_map64_build(&h, &m, keys, NULL, 3, NULL), LP_EINVAL); /* not empty */
  assert_int_equal(h.len, 1);
  assert_false(lp_map64_get(&h, 1, NULL));
  lp_hmap_free(&h, &m);
  assert_int_equal(ta.live_blocks, 0);
}

typedef struct build_oom_ctx {
  size_t n;
  bool reserved;
  uint64_t *keys;
} build_oom_ctx;

static int build_oom_flow(const lp_allocator *alloc, void *ctx) {
  build_oom_ctx *c = ctx;
  lp_mem m;
  int rc = lp_mem_init(&m, alloc);
  if (rc != LP_OK) return rc;
  lp_map64 h;
  lp_map64_init(&h);
  if (c->reserved) rc = lp_hmap_reserve(&h, &m, c->n);
  if (rc != LP_OK) return rc;
  size_t cap = h.cap;
  rc = lp_map64_build(&h, &m, c->keys, NULL, c->n, NULL);
  lp_rng r;
  lp_rng_seed(&r, 5);
  if (rc == LP_OK) {
    assert_map_holds(&h, c->keys, NULL, c->n, NULL, &r);
  } else {
    /* unchanged: same table (or none), empty, usable */
    assert_int_equal(h.len, 0);
    assert_int_equal(h.cap, cap);
    size_t pos = 0;
    assert_false(lp_hmap_next(&h, &pos, NULL, NULL));
    assert_false(lp_map64_get(&h, c->keys[0], NULL));
  }
  lp_hmap_free(&h, &m);
  return rc;
}

static void map_build_survives_every_allocation_failure(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 31);
  const size_t sizes[] = {1000, 60000};
  for (size_t s = 0; s < LP_ARRAY_LEN(sizes); s++)
    for (int reserved = 0; reserved < 2; reserved++) {
      build_oom_ctx c = {sizes[s], reserved != 0, malloc(sizes[s] * sizeof(uint64_t))};
      assert_non_null(c.keys);
      make_keys(&r, 1, c.n, cap_for_count(c.n), KEYS_EDGES, c.keys);
      assert_distinct(c.keys, 1, c.n);
      size_t points = lp_test_oom_sweep("map build", build_oom_flow, &c);
      assert_true(points >= 1);
      free(c.keys);
    }
}

static void arena_allocations_are_stable_and_aligned(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_arena a;
  lp_arena_init(&a);
  char *first = lp_arena_strdup(&a, &m, "hello", 5);
  assert_string_equal(first, "hello");
  for (int i = 0; i < 10000; i++) {
    uint64_t *p = lp_arena_alloc(&a, &m, 8, 8);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    *p = (uint64_t)i;
  }
  void *big = lp_arena_alloc(&a, &m, 3u << 20, 8); /* larger than a chunk */
  assert_non_null(big);
  assert_string_equal(first, "hello"); /* earlier pointers stay valid */
  assert_null(lp_arena_alloc(&a, &m, 0, 8));
  assert_null(lp_arena_alloc(&a, &m, 8, 3));  /* not a power of two */
  assert_null(lp_arena_alloc(&a, &m, 8, 64)); /* above the guarantee */
  size_t before = a.total;
  lp_test_alloc_fail_at(&ta, 1, true);
  assert_null(lp_arena_alloc(&a, &m, 1u << 21, 8));
  assert_int_equal(a.total, before);
  lp_test_alloc_disarm(&ta);
  lp_arena_free(&a, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

static void strpool_interns_to_dense_ids(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_mem m = test_mem(&ta);
  lp_strpool p;
  lp_strpool_init(&p);
  uint32_t id;
  bool added;
  assert_int_equal(lp_strpool_intern(&p, &m, "web", 3, &id, &added), LP_OK);
  assert_int_equal(id, 0);
  assert_true(added);
  assert_int_equal(lp_strpool_intern(&p, &m, "app", 3, &id, &added), LP_OK);
  assert_int_equal(id, 1);
  assert_int_equal(lp_strpool_intern(&p, &m, "web", 3, &id, &added), LP_OK);
  assert_int_equal(id, 0);
  assert_false(added);
  assert_int_equal(lp_strpool_intern(&p, &m, "a\0b", 3, &id, NULL), LP_OK); /* embedded NUL */
  assert_int_equal(id, 2);
  assert_int_equal(lp_strpool_intern(&p, &m, "", 0, &id, NULL), LP_OK);
  assert_int_equal(id, 3);
  size_t len;
  assert_memory_equal(lp_strpool_get(&p, 2, &len), "a\0b", 3);
  assert_int_equal(len, 3);
  assert_string_equal(lp_strpool_get(&p, 1, NULL), "app");
  assert_null(lp_strpool_get(&p, 4, NULL));
  assert_true(lp_strpool_find(&p, "app", 3, &id));
  assert_int_equal(id, 1);
  assert_false(lp_strpool_find(&p, "ap", 2, &id));
  assert_int_equal(lp_strpool_count(&p), 4);
  lp_strpool_free(&p, &m);
  assert_int_equal(ta.live_blocks, 0);
}

static int strpool_flow(const lp_allocator *alloc, void *ctx) {
  (void)ctx;
  lp_mem m;
  int rc = lp_mem_init(&m, alloc);
  if (rc != LP_OK) return rc;
  lp_strpool p;
  lp_strpool_init(&p);
  char name[16];
  for (int i = 0; i < 300 && rc == LP_OK; i++) {
    int n = snprintf(name, sizeof name, "id-%d", i);
    uint32_t id;
    size_t before = lp_strpool_count(&p);
    rc = lp_strpool_intern(&p, &m, name, (size_t)n, &id, NULL);
    if (rc != LP_OK) {
      /* A failed intern leaves the pool as it was, and usable. */
      assert_int_equal(lp_strpool_count(&p), before);
      assert_false(lp_strpool_find(&p, name, (size_t)n, &id));
    } else {
      assert_int_equal(id, (uint32_t)i);
    }
  }
  lp_strpool_free(&p, &m);
  return rc;
}

static void strpool_survives_every_allocation_failure(void **state) {
  (void)state;
  size_t points = lp_test_oom_sweep("strpool", strpool_flow, NULL);
  assert_true(points > 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vec_appends_and_grows),
      cmocka_unit_test(vec_failure_leaves_contents),
      cmocka_unit_test(vec_reserve_by_grows_by_the_divisor),
      cmocka_unit_test(map64_agrees_with_model),
      cmocka_unit_test(map128_agrees_with_model),
      cmocka_unit_test(map_wrappers_and_failure),
      cmocka_unit_test(map_hash_and_prefetch_contract),
      cmocka_unit_test(map_build_agrees_with_upserts),
      cmocka_unit_test(map_build_refuses_duplicates),
      cmocka_unit_test(map_build_argument_errors),
      cmocka_unit_test(map_build_survives_every_allocation_failure),
      cmocka_unit_test(arena_allocations_are_stable_and_aligned),
      cmocka_unit_test(strpool_interns_to_dense_ids),
      cmocka_unit_test(strpool_survives_every_allocation_failure),
  };
  return cmocka_run_group_tests_name("containers", tests, NULL, NULL);
}
