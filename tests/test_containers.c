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
      cmocka_unit_test(map64_agrees_with_model),
      cmocka_unit_test(map128_agrees_with_model),
      cmocka_unit_test(map_wrappers_and_failure),
      cmocka_unit_test(map_hash_and_prefetch_contract),
      cmocka_unit_test(arena_allocations_are_stable_and_aligned),
      cmocka_unit_test(strpool_interns_to_dense_ids),
      cmocka_unit_test(strpool_survives_every_allocation_failure),
  };
  return cmocka_run_group_tests_name("containers", tests, NULL, NULL);
}
