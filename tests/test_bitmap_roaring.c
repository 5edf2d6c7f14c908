/*
 * Interchange with CRoaring (Debian's libroaring-dev, a test-only
 * dependency): the portable bytes this library writes load in CRoaring and
 * the other way round, with the same values; after run optimisation both
 * libraries choose the same containers and write the same bytes. Skipped
 * when CRoaring is not installed.
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

#include "core/bitmap.h"
#include "core/rng.h"

#if defined(LP_HAVE_ROARING)
#  include <roaring/roaring.h>

/* A bitmap of a random shape: sparse, dense, runs and full containers. */
static size_t random_values(lp_rng *r, uint32_t *out, size_t cap) {
  size_t k = 0;
  uint32_t keys = 1 + (uint32_t)lp_rng_below(r, 12);
  for (uint32_t i = 0; i < keys; i++) {
    uint32_t key = (uint32_t)lp_rng_below(r, 65536);
    uint32_t kind = (uint32_t)lp_rng_below(r, 4);
    uint32_t base = key << 16;
    if (kind == 0) {
      for (int j = 0; j < 100 && k < cap; j++) out[k++] = base | (uint32_t)lp_rng_below(r, 65536);
    } else if (kind == 1) {
      for (int j = 0; j < 20000 && k < cap; j++) out[k++] = base | (uint32_t)lp_rng_below(r, 65536);
    } else if (kind == 2) {
      for (int run = 0; run < 30; run++) {
        uint32_t s = (uint32_t)lp_rng_below(r, 60000), len = 1 + (uint32_t)lp_rng_below(r, 5000);
        for (uint32_t v = s; v < s + len && v < 65536 && k < cap; v++) out[k++] = base | v;
      }
    } else {
      for (uint32_t v = 0; v < 65536 && k < cap; v++) out[k++] = base | v;
    }
  }
  return k;
}

static void assert_same_values(const lp_bitmap *b, const roaring_bitmap_t *rb) {
  uint64_t card = roaring_bitmap_get_cardinality(rb);
  assert_int_equal(card, lp_bitmap_cardinality(b));
  uint32_t *rv = malloc((size_t)(card ? card : 1) * sizeof *rv);
  uint32_t *lv = malloc((size_t)(card ? card : 1) * sizeof *lv);
  assert_non_null(rv);
  assert_non_null(lv);
  roaring_bitmap_to_uint32_array(rb, rv);
  lp_bitmap_iter it;
  lp_bitmap_iter_init(&it, b, 0);
  size_t got = 0, n;
  while ((n = lp_bitmap_iter_next(&it, lv + got, 1000)) > 0) got += n;
  assert_int_equal(got, card);
  assert_memory_equal(lv, rv, (size_t)card * sizeof *rv);
  free(rv);
  free(lv);
}

static void portable_bytes_interchange_with_croaring(void **state) {
  (void)state;
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, NULL), LP_OK);
  lp_rng r;
  lp_rng_seed(&r, 77);
  size_t cap = 1u << 21;
  uint32_t *vals = malloc(cap * sizeof *vals);
  assert_non_null(vals);
  for (int round = 0; round < 60; round++) {
    size_t k = random_values(&r, vals, cap);
    lp_bitmap b;
    lp_bitmap_init(&b);
    assert_int_equal(lp_bitmap_add_many(&b, &m, vals, k), LP_OK);
    roaring_bitmap_t *rb = roaring_bitmap_create();
    roaring_bitmap_add_many(rb, k, vals);
    bool optimise = round % 2 == 1;
    if (optimise) {
      assert_int_equal(lp_bitmap_run_optimize(&b, &m), LP_OK);
      roaring_bitmap_run_optimize(rb);
    }
    /* ours -> CRoaring */
    size_t sz = lp_bitmap_portable_size(&b);
    char *buf = malloc(sz);
    assert_non_null(buf);
    lp_bitmap_portable_serialize(&b, (uint8_t *)buf);
    roaring_bitmap_t *back = roaring_bitmap_portable_deserialize_safe(buf, sz);
    assert_non_null(back);
    assert_true(roaring_bitmap_equals(back, rb));
    assert_int_equal(roaring_bitmap_portable_size_in_bytes(back), sz);
    roaring_bitmap_free(back);
    /* CRoaring -> ours */
    size_t rsz = roaring_bitmap_portable_size_in_bytes(rb);
    char *rbuf = malloc(rsz);
    assert_non_null(rbuf);
    assert_int_equal(roaring_bitmap_portable_serialize(rb, rbuf), rsz);
    lp_bitmap t;
    lp_bitmap_init(&t);
    size_t used = 0;
    assert_int_equal(lp_bitmap_portable_deserialize(&t, &m, (const uint8_t *)rbuf, rsz, &used), LP_OK);
    assert_int_equal(used, rsz);
    assert_int_equal(lp_bitmap_check(&t), LP_OK);
    assert_true(lp_bitmap_equal(&t, &b));
    assert_same_values(&t, rb);
    /* same containers, same bytes */
    if (optimise) {
      assert_int_equal(rsz, sz);
      assert_memory_equal(rbuf, buf, sz);
    }
    free(buf);
    free(rbuf);
    roaring_bitmap_free(rb);
    lp_bitmap_release(&b, &m);
    lp_bitmap_release(&t, &m);
  }
  free(vals);
}
#else
static void portable_bytes_interchange_with_croaring(void **state) {
  (void)state;
  printf("CRoaring (libroaring-dev) not installed: interchange test skipped\n");
  skip();
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(portable_bytes_interchange_with_croaring),
  };
  return cmocka_run_group_tests_name("bitmap-roaring", tests, NULL, NULL);
}
