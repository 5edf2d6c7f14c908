/*
 * Tests for the compressed bitmaps (src/core/bitmap.h): a byte-array
 * reference model over random operations, every container transition,
 * every operator over every container pair, rank/select/iteration edges,
 * both serialised forms (round trips, fixed bytes from the format specs,
 * every truncation and bit flip), and allocation-failure sweeps.
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
#include "core/bitmap_internal.h"
#include "core/rng.h"
#include "harness/lp_test.h"

/* ---- the reference model: one byte per value of a 4-key universe ----
 * Keys 0, 1, 2 (contiguous values 0 .. 196607) and 0xffff (the top
 * container, up to UINT32_MAX). Index i < 3*65536 is the value i itself. */
#define NKEYS 4u
#define UNI (NKEYS * 65536u)
#define TOP_BASE 0xffff0000u

typedef struct model {
  uint8_t *in; /* UNI bytes */
} model;

static uint32_t uval(uint32_t i) { return i < 3u * 65536u ? i : TOP_BASE + (i - 3u * 65536u); }
static uint32_t uidx(uint32_t v) { return v < 3u * 65536u ? v : 3u * 65536u + (v - TOP_BASE); }
static bool in_uni(uint32_t v) { return v < 3u * 65536u || v >= TOP_BASE; }

static void model_init(model *md) {
  md->in = calloc(UNI, 1);
  assert_non_null(md->in);
}
static void model_free(model *md) { free(md->in); }
static uint64_t model_card(const model *md) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < UNI; i++) n += md->in[i];
  return n;
}

static lp_mem plain_mem(void) {
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, NULL), LP_OK);
  return m;
}

/* Every value of b is in the universe and in the model, and no other. */
static void assert_matches(const lp_bitmap *b, const model *md) {
  assert_int_equal(lp_bitmap_check(b), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(b), model_card(md));
  lp_bitmap_iter it;
  lp_bitmap_iter_init(&it, b, 0);
  uint32_t buf[257];
  uint64_t seen = 0;
  int64_t prev = -1;
  size_t got;
  while ((got = lp_bitmap_iter_next(&it, buf, (size_t)(1 + seen % 257))) > 0) {
    for (size_t i = 0; i < got; i++) {
      assert_true((int64_t)buf[i] > prev);
      prev = buf[i];
      assert_true(in_uni(buf[i]));
      assert_int_equal(md->in[uidx(buf[i])], 1);
    }
    seen += got;
  }
  assert_int_equal(seen, model_card(md));
}

/* A random index range [a, b) that maps to a contiguous value range. */
static void rand_range(lp_rng *r, uint32_t *lo, uint64_t *hi_excl, uint32_t *a, uint32_t *b) {
  static const uint32_t lens[] = {1, 2, 63, 64, 65, 1000, 4096, 4097, 30000, 65536, 70000, 140000};
  uint32_t len = lens[lp_rng_below(r, LP_ARRAY_LEN(lens))];
  if (lp_rng_below(r, 4) == 0) {
    /* the top container, often up to 2^32 */
    uint32_t base = 3u * 65536u;
    if (len > 65536u) len = 65536u;
    uint32_t s = lp_rng_below(r, 3) == 0 ? 65536u - len : (uint32_t)lp_rng_below(r, 65536u - len + 1);
    *a = base + s;
    *b = base + s + len;
    *lo = TOP_BASE + s;
    *hi_excl = (uint64_t)TOP_BASE + s + len;
  } else {
    uint32_t span = 3u * 65536u;
    uint32_t s = (uint32_t)lp_rng_below(r, span - len + 1);
    if (lp_rng_below(r, 4) == 0) { /* around a container boundary */
      uint32_t edge = (uint32_t)(1 + lp_rng_below(r, 2)) * 65536u;
      s = edge > len / 2 ? edge - len / 2 : 0;
      if (s + len > span) s = span - len;
    }
    *a = s;
    *b = s + len;
    *lo = s;
    *hi_excl = (uint64_t)s + len;
  }
}

static uint32_t rand_value(lp_rng *r) {
  uint32_t key = (uint32_t)lp_rng_below(r, NKEYS);
  static const uint32_t windows[] = {16, 300, 8192, 65536};
  uint32_t w = windows[lp_rng_below(r, LP_ARRAY_LEN(windows))];
  uint32_t base = (uint32_t)lp_rng_below(r, 65536u - w + 1);
  uint32_t lo = base + (uint32_t)lp_rng_below(r, w);
  return uval(key * 65536u + lo);
}

/* A random bitmap mixing empty, sparse, dense, run-heavy and full keys. */
static void make_random(lp_bitmap *b, model *md, const lp_mem *m, lp_rng *r) {
  lp_bitmap_release(b, m);
  memset(md->in, 0, UNI);
  for (uint32_t k = 0; k < NKEYS; k++) {
    uint32_t kind = (uint32_t)lp_rng_below(r, 6);
    uint32_t base = k * 65536u;
    if (kind == 1 || kind == 2) {
      uint32_t n = kind == 1 ? (uint32_t)lp_rng_below(r, 200) + 1 : 4000 + (uint32_t)lp_rng_below(r, 40000);
      for (uint32_t i = 0; i < n; i++) {
        uint32_t x = base + (uint32_t)lp_rng_below(r, 65536);
        assert_int_equal(lp_bitmap_add(b, m, uval(x)), LP_OK);
        md->in[x] = 1;
      }
    } else if (kind == 3) {
      uint32_t runs = (uint32_t)lp_rng_below(r, 20) + 1;
      for (uint32_t i = 0; i < runs; i++) {
        uint32_t s = (uint32_t)lp_rng_below(r, 65536), len = (uint32_t)lp_rng_below(r, 3000) + 1;
        if (s + len > 65536) len = 65536 - s;
        assert_int_equal(lp_bitmap_add_range(b, m, uval(base + s), (uint64_t)uval(base + s) + len), LP_OK);
        memset(md->in + base + s, 1, len);
      }
    } else if (kind == 4) {
      assert_int_equal(lp_bitmap_add_range(b, m, uval(base), (uint64_t)uval(base) + 65536), LP_OK);
      memset(md->in + base, 1, 65536);
    }
  }
  if (lp_rng_below(r, 2)) assert_int_equal(lp_bitmap_run_optimize(b, m), LP_OK);
}

/* ---- random operations against the model ---- */

static void binop_model(int op, const model *a, const model *b, model *out) {
  for (uint32_t i = 0; i < UNI; i++) {
    uint8_t x = a->in[i], y = b->in[i];
    out->in[i] = op == 0 ? (x & y) : op == 1 ? (x | y) : op == 2 ? (x & !y) : (x ^ y);
  }
}

static int binop(int op, lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b) {
  switch (op) {
  case 0: return lp_bitmap_and(out, m, a, b);
  case 1: return lp_bitmap_or(out, m, a, b);
  case 2: return lp_bitmap_andnot(out, m, a, b);
  default: return lp_bitmap_xor(out, m, a, b);
  }
}

static int binop_inplace(int op, lp_bitmap *a, const lp_mem *m, const lp_bitmap *b) {
  switch (op) {
  case 0: return lp_bitmap_and_inplace(a, m, b);
  case 1: return lp_bitmap_or_inplace(a, m, b);
  case 2: return lp_bitmap_andnot_inplace(a, m, b);
  default: return lp_bitmap_xor_inplace(a, m, b);
  }
}

static uint64_t binop_card(int op, const lp_bitmap *a, const lp_bitmap *b) {
  switch (op) {
  case 0: return lp_bitmap_and_cardinality(a, b);
  case 1: return lp_bitmap_or_cardinality(a, b);
  case 2: return lp_bitmap_andnot_cardinality(a, b);
  default: return lp_bitmap_xor_cardinality(a, b);
  }
}

static void model_random_operations(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  lp_rng r;
  lp_rng_seed(&r, 20261201);
  model ma, mb, mo;
  model_init(&ma);
  model_init(&mb);
  model_init(&mo);
  lp_bitmap a, b, o;
  lp_bitmap_init(&a);
  lp_bitmap_init(&b);
  lp_bitmap_init(&o);
  uint32_t *many = malloc(6000 * sizeof *many);
  assert_non_null(many);
  size_t ops = 0;
  for (int batch = 0; batch < 1100; batch++) {
    for (int step = 0; step < 100; step++, ops++) {
      uint32_t what = (uint32_t)lp_rng_below(&r, 1000);
      if (what < 400) {
        uint32_t v = rand_value(&r);
        assert_int_equal(lp_bitmap_add(&a, &m, v), LP_OK);
        ma.in[uidx(v)] = 1;
      } else if (what < 700) {
        uint32_t v = rand_value(&r);
        assert_int_equal(lp_bitmap_remove(&a, &m, v), LP_OK);
        ma.in[uidx(v)] = 0;
      } else if (what < 850) {
        uint32_t v = rand_value(&r);
        assert_int_equal(lp_bitmap_contains(&a, v), ma.in[uidx(v)] == 1);
      } else if (what < 880) {
        uint32_t lo, ia, ib;
        uint64_t hi;
        rand_range(&r, &lo, &hi, &ia, &ib);
        assert_int_equal(lp_bitmap_add_range(&a, &m, lo, hi), LP_OK);
        memset(ma.in + ia, 1, ib - ia);
      } else if (what < 910) {
        uint32_t lo, ia, ib;
        uint64_t hi;
        rand_range(&r, &lo, &hi, &ia, &ib);
        assert_int_equal(lp_bitmap_remove_range(&a, &m, lo, hi), LP_OK);
        memset(ma.in + ia, 0, ib - ia);
      } else if (what < 930) {
        size_t n = (size_t)lp_rng_below(&r, 6000);
        for (size_t i = 0; i < n; i++) {
          many[i] = rand_value(&r);
          ma.in[uidx(many[i])] = 1;
        }
        assert_int_equal(lp_bitmap_add_many(&a, &m, many, n), LP_OK);
      } else if (what < 940) {
        assert_int_equal(lp_bitmap_run_optimize(&a, &m), LP_OK);
      } else if (what < 950) {
        uint32_t lo, ia, ib;
        uint64_t hi;
        rand_range(&r, &lo, &hi, &ia, &ib);
        assert_int_equal(lp_bitmap_flip_range(&o, &m, &a, lo, hi), LP_OK);
        for (uint32_t i = ia; i < ib; i++) ma.in[i] ^= 1;
        lp_bitmap_swap(&a, &o);
      } else if (what < 970) {
        int op = (int)lp_rng_below(&r, 4);
        make_random(&b, &mb, &m, &r);
        binop_model(op, &ma, &mb, &mo);
        assert_int_equal(binop_card(op, &a, &b), model_card(&mo));
        assert_int_equal(lp_bitmap_intersects(&a, &b), lp_bitmap_and_cardinality(&a, &b) > 0);
        assert_int_equal(binop(op, &o, &m, &a, &b), LP_OK);
        assert_matches(&o, &mo);
        assert_int_equal(binop_inplace(op, &a, &m, &b), LP_OK);
        memcpy(ma.in, mo.in, UNI);
        assert_true(lp_bitmap_equal(&a, &o));
      } else if (what < 980) {
        uint64_t card = lp_bitmap_cardinality(&a);
        uint64_t i = card ? lp_rng_below(&r, card) : 0;
        uint32_t v = 0;
        assert_int_equal(lp_bitmap_select(&a, i, &v), i < card);
        if (i < card) {
          assert_int_equal(ma.in[uidx(v)], 1);
          assert_int_equal(lp_bitmap_rank(&a, v), i + 1);
        }
      } else if (what < 990) {
        size_t sz = lp_bitmap_serialized_size(&a), used = 0;
        uint8_t *buf = malloc(sz);
        assert_non_null(buf);
        lp_bitmap_serialize(&a, buf);
        assert_int_equal(lp_bitmap_deserialize(&o, &m, buf, sz, &used), LP_OK);
        assert_int_equal(used, sz);
        assert_true(lp_bitmap_equal(&a, &o));
        free(buf);
        sz = lp_bitmap_portable_size(&a);
        buf = malloc(sz);
        assert_non_null(buf);
        lp_bitmap_portable_serialize(&a, buf);
        assert_int_equal(lp_bitmap_portable_deserialize(&o, &m, buf, sz, &used), LP_OK);
        assert_int_equal(used, sz);
        assert_true(lp_bitmap_equal(&a, &o));
        free(buf);
      } else {
        assert_int_equal(lp_bitmap_copy(&o, &m, &a), LP_OK);
        assert_true(lp_bitmap_equal(&a, &o));
        if (lp_rng_below(&r, 2)) assert_int_equal(lp_bitmap_shrink(&o, &m), LP_OK);
        lp_bitmap_swap(&a, &o);
      }
    }
    assert_matches(&a, &ma);
  }
  assert_true(ops >= 100000);
  free(many);
  lp_bitmap_release(&a, &m);
  lp_bitmap_release(&b, &m);
  lp_bitmap_release(&o, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
  model_free(&ma);
  model_free(&mb);
  model_free(&mo);
}

/* ---- container transitions ---- */

static uint32_t kind_of(const lp_bitmap *b, uint16_t key) {
  for (uint32_t i = 0; i < b->n; i++)
    if (b->keys[i] == key) return b->c[i].kind;
  return 0;
}

static void container_transitions(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap b;
  lp_bitmap_init(&b);
  assert_true(lp_bitmap_is_empty(&b));
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  /* array up to 4096 values, bitset at 4097, back to array at 4096 */
  for (uint32_t i = 0; i < 4096; i++) assert_int_equal(lp_bitmap_add(&b, &m, 7u << 16 | (i * 2)), LP_OK);
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_ARRAY);
  assert_int_equal(lp_bitmap_cardinality(&b), 4096);
  assert_int_equal(lp_bitmap_add(&b, &m, 7u << 16 | 2), LP_OK); /* already there */
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_ARRAY);
  assert_int_equal(lp_bitmap_add(&b, &m, 7u << 16 | 1), LP_OK);
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_BITSET);
  assert_int_equal(lp_bitmap_cardinality(&b), 4097);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  assert_int_equal(lp_bitmap_remove(&b, &m, 7u << 16 | 3), LP_OK); /* absent */
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_BITSET);
  assert_int_equal(lp_bitmap_remove(&b, &m, 7u << 16 | 1), LP_OK);
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_ARRAY);
  assert_int_equal(lp_bitmap_cardinality(&b), 4096);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  /* run_optimize: 4096 values at stride 2 stay an array; a dense range
   * becomes a run and turns back when broken up */
  assert_int_equal(lp_bitmap_run_optimize(&b, &m), LP_OK);
  assert_int_equal(kind_of(&b, 7), LP_BITMAP_ARRAY);
  lp_bitmap_release(&b, &m);
  for (uint32_t i = 100; i < 20100; i++) assert_int_equal(lp_bitmap_add(&b, &m, 9u << 16 | i), LP_OK);
  assert_int_equal(kind_of(&b, 9), LP_BITMAP_BITSET);
  assert_int_equal(lp_bitmap_run_optimize(&b, &m), LP_OK);
  assert_int_equal(kind_of(&b, 9), LP_BITMAP_RUN);
  assert_int_equal(b.c[0].n, 1);
  assert_int_equal(lp_bitmap_cardinality(&b), 20000);
  /* adds and removes inside, at and beside a run */
  assert_int_equal(lp_bitmap_add(&b, &m, 9u << 16 | 20100), LP_OK); /* extends */
  assert_int_equal(lp_bitmap_add(&b, &m, 9u << 16 | 99), LP_OK);    /* extends down */
  assert_int_equal(b.c[0].n, 1);
  assert_int_equal(lp_bitmap_remove(&b, &m, 9u << 16 | 5000), LP_OK); /* splits */
  assert_int_equal(b.c[0].n, 2);
  assert_int_equal(lp_bitmap_add(&b, &m, 9u << 16 | 5000), LP_OK); /* joins */
  assert_int_equal(b.c[0].n, 1);
  assert_int_equal(lp_bitmap_cardinality(&b), 20002);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  /* many isolated values: the run form stops paying and converts */
  for (uint32_t i = 30000; i < 50000; i += 2) assert_int_equal(lp_bitmap_add(&b, &m, 9u << 16 | i), LP_OK);
  assert_int_not_equal(kind_of(&b, 9), LP_BITMAP_RUN);
  assert_int_equal(lp_bitmap_cardinality(&b), 30002);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  lp_bitmap_release(&b, &m);
  /* a full container is a run; removing one value keeps it correct */
  assert_int_equal(lp_bitmap_add_range(&b, &m, 3u << 16, 4u << 16), LP_OK);
  assert_int_equal(kind_of(&b, 3), LP_BITMAP_RUN);
  assert_int_equal(lp_bitmap_cardinality(&b), 65536);
  assert_int_equal(lp_bitmap_remove(&b, &m, 3u << 16 | 77), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), 65535);
  assert_false(lp_bitmap_contains(&b, 3u << 16 | 77));
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  lp_bitmap_release(&b, &m);
  /* runs spanning container boundaries */
  assert_int_equal(lp_bitmap_add_range(&b, &m, 65530, 65546), LP_OK);
  assert_int_equal(b.n, 2);
  assert_int_equal(lp_bitmap_cardinality(&b), 16);
  assert_true(lp_bitmap_contains(&b, 65535));
  assert_true(lp_bitmap_contains(&b, 65536));
  assert_false(lp_bitmap_contains(&b, 65546));
  assert_int_equal(lp_bitmap_add_range(&b, &m, 100000, 300000), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), 16 + 200000);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  assert_int_equal(lp_bitmap_remove_range(&b, &m, 65535, 200001), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), 5 + 99999);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  lp_bitmap_release(&b, &m);
  /* 0 and UINT32_MAX */
  assert_int_equal(lp_bitmap_add(&b, &m, 0), LP_OK);
  assert_int_equal(lp_bitmap_add(&b, &m, UINT32_MAX), LP_OK);
  uint32_t v = 1;
  assert_true(lp_bitmap_minimum(&b, &v));
  assert_int_equal(v, 0);
  assert_true(lp_bitmap_maximum(&b, &v));
  assert_int_equal(v, UINT32_MAX);
  assert_int_equal(lp_bitmap_rank(&b, UINT32_MAX), 2);
  assert_int_equal(lp_bitmap_rank(&b, UINT32_MAX - 1), 1);
  assert_int_equal(lp_bitmap_remove(&b, &m, UINT32_MAX), LP_OK);
  assert_int_equal(b.n, 1);
  lp_bitmap_release(&b, &m);
  /* the whole 32-bit range */
  assert_int_equal(lp_bitmap_add_range(&b, &m, 0, (uint64_t)1 << 32), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), (uint64_t)1 << 32);
  assert_int_equal(b.n, 65536);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  assert_true(lp_bitmap_contains(&b, UINT32_MAX));
  assert_int_equal(lp_bitmap_remove_range(&b, &m, 1, ((uint64_t)1 << 32) - 1), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), 2);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  /* errors and empty ranges */
  assert_int_equal(lp_bitmap_add_range(&b, &m, 0, ((uint64_t)1 << 32) + 1), LP_EINVAL);
  assert_int_equal(lp_bitmap_remove_range(&b, &m, 0, ((uint64_t)1 << 32) + 1), LP_EINVAL);
  lp_bitmap o;
  lp_bitmap_init(&o);
  assert_int_equal(lp_bitmap_flip_range(&o, &m, &b, 0, ((uint64_t)1 << 32) + 1), LP_EINVAL);
  assert_int_equal(lp_bitmap_add_range(&b, &m, 10, 10), LP_OK);
  assert_int_equal(lp_bitmap_add_range(&b, &m, 10, 5), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&b), 2);
  assert_int_equal(lp_bitmap_add_many(&b, &m, NULL, 0), LP_OK);
  assert_int_equal(lp_bitmap_and_many(&o, &m, NULL, 0), LP_EINVAL);
  lp_bitmap_release(&b, &m);
  lp_bitmap_release(&o, &m);
  assert_int_equal(lp_bitmap_size_in_bytes(&b), 0);
}

/* ---- every operator over every container pair ---- */

/* Container forms: 0 sparse array, 1 dense array (4096), 2 bitset,
 * 3 run (few runs), 4 full run, 5 run with many short runs. */
#define NFORMS 6
static void build_form(lp_bitmap *b, model *md, const lp_mem *m, uint32_t key, int form,
                       uint32_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  uint32_t base = key * 65536u;
  switch (form) {
  case 0:
    for (int i = 0; i < 300; i++) {
      uint32_t x = (uint32_t)lp_rng_below(&r, 65536);
      assert_int_equal(lp_bitmap_add(b, m, uval(base + x)), LP_OK);
      md->in[base + x] = 1;
    }
    break;
  case 1: {
    uint32_t off = (uint32_t)lp_rng_below(&r, 3);
    for (uint32_t i = 0; i < 4096; i++) {
      uint32_t x = (i * 16 + off) & 0xffffu;
      assert_int_equal(lp_bitmap_add(b, m, uval(base + x)), LP_OK);
      md->in[base + x] = 1;
    }
    break;
  }
  case 2:
    for (int i = 0; i < 30000; i++) {
      uint32_t x = (uint32_t)lp_rng_below(&r, 65536);
      assert_int_equal(lp_bitmap_add(b, m, uval(base + x)), LP_OK);
      md->in[base + x] = 1;
    }
    break;
  case 3:
  case 5: {
    int runs = form == 3 ? 5 : 600;
    uint32_t maxlen = form == 3 ? 9000 : 40;
    for (int i = 0; i < runs; i++) {
      uint32_t s = (uint32_t)lp_rng_below(&r, 65536), len = 2 + (uint32_t)lp_rng_below(&r, maxlen);
      if (s + len > 65536) len = 65536 - s;
      assert_int_equal(lp_bitmap_add_range(b, m, uval(base + s), (uint64_t)uval(base + s) + len), LP_OK);
      memset(md->in + base + s, 1, len);
    }
    assert_int_equal(lp_bitmap_run_optimize(b, m), LP_OK);
    break;
  }
  default:
    assert_int_equal(lp_bitmap_add_range(b, m, uval(base), (uint64_t)uval(base) + 65536), LP_OK);
    memset(md->in + base, 1, 65536);
    break;
  }
}

static void every_operator_over_every_container_pair(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  model ma, mb, mo;
  model_init(&ma);
  model_init(&mb);
  model_init(&mo);
  int kinds_seen[4][4] = {{0}};
  for (int fa = 0; fa < NFORMS; fa++) {
    for (int fb = 0; fb < NFORMS; fb++) {
      lp_bitmap a, b, o;
      lp_bitmap_init(&a);
      lp_bitmap_init(&b);
      lp_bitmap_init(&o);
      memset(ma.in, 0, UNI);
      memset(mb.in, 0, UNI);
      /* key 1 shared; key 0 only in a; key 3 (0xffff) only in b */
      build_form(&a, &ma, &m, 1, fa, 11u + (uint32_t)fa);
      build_form(&b, &mb, &m, 1, fb, 101u + (uint32_t)fb);
      build_form(&a, &ma, &m, 0, fa, 7);
      build_form(&b, &mb, &m, 3, fb, 8);
      kinds_seen[a.c[1].kind][b.c[0].kind]++;
      for (int op = 0; op < 4; op++) {
        binop_model(op, &ma, &mb, &mo);
        assert_int_equal(binop_card(op, &a, &b), model_card(&mo));
        assert_int_equal(binop(op, &o, &m, &a, &b), LP_OK);
        assert_matches(&o, &mo);
        lp_bitmap t;
        lp_bitmap_init(&t);
        assert_int_equal(lp_bitmap_copy(&t, &m, &a), LP_OK);
        assert_int_equal(binop_inplace(op, &t, &m, &b), LP_OK);
        assert_matches(&t, &mo);
        /* and with the operands swapped */
        binop_model(op, &mb, &ma, &mo);
        assert_int_equal(binop_card(op, &b, &a), model_card(&mo));
        assert_int_equal(binop(op, &o, &m, &b, &a), LP_OK);
        assert_matches(&o, &mo);
        /* a OP a */
        assert_int_equal(lp_bitmap_copy(&t, &m, &a), LP_OK);
        assert_int_equal(binop_inplace(op, &t, &m, &t), LP_OK);
        binop_model(op, &ma, &ma, &mo);
        assert_matches(&t, &mo);
        lp_bitmap_release(&t, &m);
      }
      /* many-way forms agree with the pairwise ones */
      const lp_bitmap *v[3] = {&a, &b, &a};
      assert_int_equal(lp_bitmap_and_many_cardinality(v, 3), lp_bitmap_and_cardinality(&a, &b));
      assert_int_equal(lp_bitmap_and_many(&o, &m, v, 3), LP_OK);
      binop_model(0, &ma, &mb, &mo);
      assert_matches(&o, &mo);
      assert_int_equal(lp_bitmap_or_many(&o, &m, v, 3), LP_OK);
      binop_model(1, &ma, &mb, &mo);
      assert_matches(&o, &mo);
      assert_true(lp_bitmap_intersects(&a, &b) == (lp_bitmap_and_cardinality(&a, &b) > 0));
      lp_bitmap_release(&a, &m);
      lp_bitmap_release(&b, &m);
      lp_bitmap_release(&o, &m);
    }
  }
  /* every pair of container kinds was met */
  for (int x = 1; x < 4; x++)
    for (int y = 1; y < 4; y++) assert_true(kinds_seen[x][y] > 0);
  model_free(&ma);
  model_free(&mb);
  model_free(&mo);
}

static void many_way_operations(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_rng r;
  lp_rng_seed(&r, 99);
  enum { N = 12 };
  model md[N], mo, mt;
  lp_bitmap b[N], o;
  const lp_bitmap *v[N];
  for (int i = 0; i < N; i++) {
    model_init(&md[i]);
    lp_bitmap_init(&b[i]);
    v[i] = &b[i];
  }
  model_init(&mo);
  model_init(&mt);
  lp_bitmap_init(&o);
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < N; i++) make_random(&b[i], &md[i], &m, &r);
    for (size_t n = 1; n <= N; n++) {
      memcpy(mo.in, md[0].in, UNI);
      for (size_t i = 1; i < n; i++) {
        binop_model(0, &mo, &md[i], &mt);
        memcpy(mo.in, mt.in, UNI);
      }
      assert_int_equal(lp_bitmap_and_many_cardinality(v, n), model_card(&mo));
      assert_int_equal(lp_bitmap_and_many(&o, &m, v, n), LP_OK);
      assert_matches(&o, &mo);
      memcpy(mo.in, md[0].in, UNI);
      for (size_t i = 1; i < n; i++) {
        binop_model(1, &mo, &md[i], &mt);
        memcpy(mo.in, mt.in, UNI);
      }
      assert_int_equal(lp_bitmap_or_many(&o, &m, v, n), LP_OK);
      assert_matches(&o, &mo);
    }
  }
  /* more inputs than the per-key batch (64): 70 copies of one bitmap, each
   * missing other values */
  {
    enum { M70 = 70 };
    lp_bitmap big[M70];
    const lp_bitmap *bv[M70];
    make_random(&b[0], &md[0], &m, &r);
    memcpy(mo.in, md[0].in, UNI);
    for (int i = 0; i < M70; i++) {
      lp_bitmap_init(&big[i]);
      assert_int_equal(lp_bitmap_copy(&big[i], &m, &b[0]), LP_OK);
      for (int x = 0; x < 50; x++) {
        uint32_t val = rand_value(&r);
        assert_int_equal(lp_bitmap_remove(&big[i], &m, val), LP_OK);
        mo.in[uidx(val)] = 0;
      }
      bv[i] = &big[i];
    }
    assert_int_equal(lp_bitmap_and_many_cardinality(bv, M70), model_card(&mo));
    assert_int_equal(lp_bitmap_and_many(&o, &m, bv, M70), LP_OK);
    assert_matches(&o, &mo);
    for (int i = 0; i < M70; i++) lp_bitmap_release(&big[i], &m);
  }
  assert_int_equal(lp_bitmap_and_many_cardinality(v, 0), 0);
  assert_int_equal(lp_bitmap_or_many(&o, &m, v, 0), LP_OK);
  assert_true(lp_bitmap_is_empty(&o));
  for (int i = 0; i < N; i++) {
    lp_bitmap_release(&b[i], &m);
    model_free(&md[i]);
  }
  model_free(&mo);
  model_free(&mt);
}

/* ---- rank, select, iteration ---- */

static void rank_select_iterate_edges(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap b;
  lp_bitmap_init(&b);
  uint32_t v = 12345, out[8];
  lp_bitmap_iter it;
  /* empty */
  assert_int_equal(lp_bitmap_rank(&b, UINT32_MAX), 0);
  assert_false(lp_bitmap_select(&b, 0, &v));
  assert_int_equal(v, 12345);
  assert_false(lp_bitmap_minimum(&b, &v));
  assert_false(lp_bitmap_maximum(&b, &v));
  lp_bitmap_iter_init(&it, &b, 0);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 0);
  /* one container of each kind: array at key 1, bitset at 2, run at 4 */
  model md;
  model_init(&md);
  for (uint32_t i = 0; i < 100; i++) assert_int_equal(lp_bitmap_add(&b, &m, (1u << 16) | (i * 3)), LP_OK);
  for (uint32_t i = 0; i < 65536; i += 3) assert_int_equal(lp_bitmap_add(&b, &m, (2u << 16) | i), LP_OK);
  assert_int_equal(lp_bitmap_add_range(&b, &m, (4u << 16) | 10, (4u << 16) | 20), LP_OK);
  assert_int_equal(lp_bitmap_add_range(&b, &m, (4u << 16) | 100, (4u << 16) | 65536), LP_OK);
  assert_int_equal(lp_bitmap_run_optimize(&b, &m), LP_OK);
  assert_int_equal(kind_of(&b, 1), LP_BITMAP_ARRAY);
  assert_int_equal(kind_of(&b, 2), LP_BITMAP_BITSET);
  assert_int_equal(kind_of(&b, 4), LP_BITMAP_RUN);
  uint64_t card = lp_bitmap_cardinality(&b);
  assert_int_equal(card, 100 + 21846 + 10 + 65436);
  /* every value: select(rank(x) - 1) == x, and the iterator from x */
  uint64_t i = 0;
  lp_bitmap_iter_init(&it, &b, 0);
  size_t got;
  uint32_t prev = 0;
  while ((got = lp_bitmap_iter_next(&it, out, 1 + (i % 8))) > 0) {
    for (size_t k = 0; k < got; k++, i++) {
      assert_true(lp_bitmap_select(&b, i, &v));
      assert_int_equal(v, out[k]);
      assert_int_equal(lp_bitmap_rank(&b, out[k]), i + 1);
      if (out[k] > 0 && (i == 0 || out[k] - 1 != prev)) assert_int_equal(lp_bitmap_rank(&b, out[k] - 1), i);
      prev = out[k];
    }
  }
  assert_int_equal(i, card);
  assert_false(lp_bitmap_select(&b, card, &v));
  assert_int_equal(lp_bitmap_rank(&b, UINT32_MAX), card);
  assert_int_equal(lp_bitmap_rank(&b, (3u << 16) | 5), 100 + 21846);
  /* iteration starting points: before, inside, between and after */
  struct { uint32_t from, first; } starts[] = {
      {0, 1u << 16},
      {(1u << 16) | 1, (1u << 16) | 3},
      {(1u << 16) | 297, (1u << 16) | 297},
      {(1u << 16) | 298, 2u << 16},
      {(2u << 16) | 64, (2u << 16) | 66},
      {(2u << 16) | 65534, (2u << 16) | 65535},
      {3u << 16, (4u << 16) | 10},
      {(4u << 16) | 15, (4u << 16) | 15},
      {(4u << 16) | 20, (4u << 16) | 100},
      {(4u << 16) | 65535, (4u << 16) | 65535},
  };
  for (size_t s = 0; s < LP_ARRAY_LEN(starts); s++) {
    lp_bitmap_iter_init(&it, &b, starts[s].from);
    assert_int_equal(lp_bitmap_iter_next(&it, out, 1), 1);
    assert_int_equal(out[0], starts[s].first);
  }
  lp_bitmap_iter_init(&it, &b, 5u << 16);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 0);
  lp_bitmap_iter_init(&it, &b, 0);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 0), 0);
  /* the last value, then the end, repeatedly */
  lp_bitmap_iter_init(&it, &b, (4u << 16) | 65535);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 1);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 0);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 0);
  /* UINT32_MAX in a bitset */
  for (uint32_t x = 0; x < 5000; x++) assert_int_equal(lp_bitmap_add(&b, &m, UINT32_MAX - x * 2), LP_OK);
  assert_int_equal(kind_of(&b, 0xffff), LP_BITMAP_BITSET);
  lp_bitmap_iter_init(&it, &b, UINT32_MAX);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 1);
  assert_int_equal(out[0], UINT32_MAX);
  assert_int_equal(lp_bitmap_iter_next(&it, out, 8), 0);
  assert_true(lp_bitmap_maximum(&b, &v));
  assert_int_equal(v, UINT32_MAX);
  assert_true(lp_bitmap_select(&b, lp_bitmap_cardinality(&b) - 1, &v));
  assert_int_equal(v, UINT32_MAX);
  model_free(&md);
  lp_bitmap_release(&b, &m);
}

/* ---- serialisation ---- */

/* {1, 2, 3} and the container with key 1 holding {5}. Bytes written out
 * from the format descriptions, not from the code. */
static void serialised_bytes_follow_the_specs(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap b;
  lp_bitmap_init(&b);
  const uint32_t vals[] = {1, 2, 3, 65541};
  assert_int_equal(lp_bitmap_add_many(&b, &m, vals, 4), LP_OK);
  const uint8_t own[] = {
      2, 0, 0, 0,                 /* two containers */
      0, 0, 1, 0, 3, 0, 0, 0,     /* key 0, array, 3 values */
      1, 0, 1, 0, 1, 0, 0, 0,     /* key 1, array, 1 value */
      1, 0, 2, 0, 3, 0, 5, 0,     /* payloads */
  };
  uint8_t buf[64];
  assert_int_equal(lp_bitmap_serialized_size(&b), sizeof own);
  lp_bitmap_serialize(&b, buf);
  assert_memory_equal(buf, own, sizeof own);
  /* RoaringFormatSpec, no run container: cookie 12346, count, then
   * (key, card-1) pairs, offsets from the start, arrays */
  const uint8_t portable[] = {
      0x3a, 0x30, 0, 0, 2, 0, 0, 0,  /* 12346, 2 containers */
      0, 0, 2, 0, 1, 0, 0, 0,        /* key 0 card 3, key 1 card 1 */
      24, 0, 0, 0, 30, 0, 0, 0,      /* offsets */
      1, 0, 2, 0, 3, 0, 5, 0,
  };
  assert_int_equal(lp_bitmap_portable_size(&b), sizeof portable);
  lp_bitmap_portable_serialize(&b, buf);
  assert_memory_equal(buf, portable, sizeof portable);
  /* with a run container: cookie 12347 | (n-1) << 16, run flags, no
   * offsets below four containers, run = count then (start, len-1) */
  lp_bitmap_release(&b, &m);
  assert_int_equal(lp_bitmap_add_range(&b, &m, 10, 1010), LP_OK);
  assert_int_equal(kind_of(&b, 0), LP_BITMAP_RUN);
  const uint8_t prun[] = {
      0x3b, 0x30, 0, 0, /* 12347, one container */
      1,                /* container 0 is a run */
      0, 0, 0xe7, 0x03, /* key 0, card 1000 - 1 */
      1, 0, 10, 0, 0xe7, 0x03,
  };
  assert_int_equal(lp_bitmap_portable_size(&b), sizeof prun);
  lp_bitmap_portable_serialize(&b, buf);
  assert_memory_equal(buf, prun, sizeof prun);
  lp_bitmap t;
  lp_bitmap_init(&t);
  size_t used = 0;
  assert_int_equal(lp_bitmap_portable_deserialize(&t, &m, prun, sizeof prun, &used), LP_OK);
  assert_int_equal(used, sizeof prun);
  assert_true(lp_bitmap_equal(&t, &b));
  /* the empty bitmap */
  lp_bitmap_release(&b, &m);
  assert_int_equal(lp_bitmap_serialized_size(&b), 4);
  const uint8_t pempty[] = {0x3a, 0x30, 0, 0, 0, 0, 0, 0};
  assert_int_equal(lp_bitmap_portable_size(&b), 8);
  lp_bitmap_portable_serialize(&b, buf);
  assert_memory_equal(buf, pempty, 8);
  assert_int_equal(lp_bitmap_portable_deserialize(&t, &m, pempty, 8, &used), LP_OK);
  assert_true(lp_bitmap_is_empty(&t));
  /* adjacent runs from another writer are merged on load */
  const uint8_t padj[] = {0x3b, 0x30, 0, 0, 1, 0, 0, 9, 0, 2, 0, 0, 0, 4, 0, 5, 0, 4, 0};
  assert_int_equal(lp_bitmap_portable_deserialize(&t, &m, padj, sizeof padj, &used), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&t), 10);
  assert_int_equal(t.c[0].n, 1);
  assert_int_equal(lp_bitmap_check(&t), LP_OK);
  lp_bitmap_release(&t, &m);
}

/* A bitmap with every container kind, small enough for per-bit flips. */
static void build_mixed(lp_bitmap *b, const lp_mem *m) {
  for (uint32_t i = 0; i < 50; i++) assert_int_equal(lp_bitmap_add(b, m, i * 7), LP_OK);
  for (uint32_t i = 0; i < 5000; i++) assert_int_equal(lp_bitmap_add(b, m, (2u << 16) | (i * 13 % 65536)), LP_OK);
  assert_int_equal(lp_bitmap_add_range(b, m, (5u << 16) | 100, (5u << 16) | 900), LP_OK);
  assert_int_equal(lp_bitmap_add_range(b, m, (5u << 16) | 1000, (5u << 16) | 1200), LP_OK);
  assert_int_equal(lp_bitmap_add(b, m, UINT32_MAX), LP_OK);
}

typedef int (*deser_fn)(lp_bitmap *, const lp_mem *, const uint8_t *, size_t, size_t *);

static void hostile_bytes(deser_fn deser, const uint8_t *bytes, size_t len, const lp_bitmap *orig,
                          bool own) {
  lp_mem m = plain_mem();
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  lp_bitmap t, sentinel;
  lp_bitmap_init(&t);
  lp_bitmap_init(&sentinel);
  assert_int_equal(lp_bitmap_add(&sentinel, &m, 42), LP_OK);
  size_t used;
  /* every truncation is rejected and leaves the output as it was */
  for (size_t n = 0; n < len; n++) {
    memcpy(buf, bytes, n);
    assert_int_equal(deser(&sentinel, &m, buf, n, &used), LP_ECORRUPT);
    assert_int_equal(lp_bitmap_cardinality(&sentinel), 1);
    assert_true(lp_bitmap_contains(&sentinel, 42));
  }
  /* every bit flip is rejected, or gives a valid bitmap that round-trips */
  size_t accepted = 0;
  memcpy(buf, bytes, len);
  for (size_t bit = 0; bit < len * 8; bit++) {
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int rc = deser(&t, &m, buf, len, &used);
    if (rc == LP_OK) {
      accepted++;
      assert_int_equal(lp_bitmap_check(&t), LP_OK);
      assert_true(used <= len);
      size_t sz = own ? lp_bitmap_serialized_size(&t) : lp_bitmap_portable_size(&t);
      uint8_t *re = malloc(sz);
      assert_non_null(re);
      if (own) lp_bitmap_serialize(&t, re);
      else lp_bitmap_portable_serialize(&t, re);
      lp_bitmap u;
      lp_bitmap_init(&u);
      assert_int_equal(deser(&u, &m, re, sz, &used), LP_OK);
      assert_true(lp_bitmap_equal(&t, &u));
      lp_bitmap_release(&u, &m);
      free(re);
    } else {
      assert_int_equal(rc, LP_ECORRUPT);
    }
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  /* the intact bytes load */
  assert_int_equal(deser(&t, &m, buf, len, &used), LP_OK);
  assert_int_equal(used, len);
  assert_true(lp_bitmap_equal(&t, orig));
  /* trailing bytes are not consumed */
  uint8_t *longer = malloc(len + 3);
  assert_non_null(longer);
  memcpy(longer, bytes, len);
  memset(longer + len, 0xee, 3);
  assert_int_equal(deser(&t, &m, longer, len + 3, &used), LP_OK);
  assert_int_equal(used, len);
  free(longer);
  printf("%s: %zu of %zu bit flips accepted (all valid and round-tripping)\n",
         own ? "own" : "portable", accepted, len * 8);
  lp_bitmap_release(&t, &m);
  lp_bitmap_release(&sentinel, &m);
  free(buf);
}

static void serialisation_rejects_or_survives_damage(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap b;
  lp_bitmap_init(&b);
  build_mixed(&b, &m);
  assert_int_equal(kind_of(&b, 2), LP_BITMAP_BITSET);
  assert_int_equal(kind_of(&b, 5), LP_BITMAP_RUN);
  size_t sz = lp_bitmap_serialized_size(&b);
  uint8_t *bytes = malloc(sz);
  assert_non_null(bytes);
  lp_bitmap_serialize(&b, bytes);
  hostile_bytes(lp_bitmap_deserialize, bytes, sz, &b, true);
  free(bytes);
  sz = lp_bitmap_portable_size(&b);
  bytes = malloc(sz);
  assert_non_null(bytes);
  lp_bitmap_portable_serialize(&b, bytes);
  hostile_bytes(lp_bitmap_portable_deserialize, bytes, sz, &b, false);
  free(bytes);
  /* and without run containers (the 12346 cookie with offsets) */
  lp_bitmap_remove_range(&b, &m, 5u << 16, 6u << 16);
  sz = lp_bitmap_portable_size(&b);
  bytes = malloc(sz);
  assert_non_null(bytes);
  lp_bitmap_portable_serialize(&b, bytes);
  hostile_bytes(lp_bitmap_portable_deserialize, bytes, sz, &b, false);
  free(bytes);
  lp_bitmap_release(&b, &m);
}

static void deserialise_rejects_invalid_structures(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap t;
  lp_bitmap_init(&t);
  size_t used;
  struct { const char *what; uint8_t bytes[32]; size_t len; } bad[] = {
      {"too many containers", {0x01, 0x00, 0x01, 0x00}, 4},
      {"keys not ascending", {2, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 5, 0, 6, 0}, 24},
      {"unknown kind", {1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 5, 0}, 14},
      {"reserved byte set", {1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 5, 0}, 14},
      {"array of zero values", {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, 12},
      {"array of 4097 values", {1, 0, 0, 0, 0, 0, 1, 0, 0x01, 0x10, 0, 0}, 12},
      {"array not sorted", {1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 6, 0, 5, 0}, 16},
      {"array duplicate", {1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 5, 0, 5, 0}, 16},
      {"bitset of 4096 values", {1, 0, 0, 0, 0, 0, 2, 0, 0x00, 0x10, 0, 0}, 12},
      {"run past 65535", {1, 0, 0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0xff, 0xff, 1, 0}, 16},
      {"runs overlapping", {1, 0, 0, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 5, 0, 3, 0, 1, 0}, 20},
      {"runs adjacent", {1, 0, 0, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 5, 0, 6, 0, 1, 0}, 20},
      {"runs not sorted", {1, 0, 0, 0, 0, 0, 3, 0, 2, 0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0}, 20},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(bad); i++) {
    if (lp_bitmap_deserialize(&t, &m, bad[i].bytes, bad[i].len, &used) != LP_ECORRUPT)
      fail_msg("own format accepted: %s", bad[i].what);
  }
  struct { const char *what; uint8_t bytes[40]; size_t len; } pbad[] = {
      {"bad cookie", {0x39, 0x30, 0, 0, 0, 0, 0, 0}, 8},
      {"too many containers", {0x3a, 0x30, 0, 0, 0x01, 0x00, 0x01, 0x00}, 8},
      {"wrong offset", {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 5, 0}, 18},
      {"keys not ascending", {0x3a, 0x30, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 24, 0, 0, 0, 26, 0, 0, 0, 1, 0, 2, 0}, 28},
      {"array not sorted", {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 5, 0, 5, 0}, 20},
      {"run count zero", {0x3b, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 11},
      {"run card mismatch", {0x3b, 0x30, 0, 0, 1, 0, 0, 5, 0, 1, 0, 0, 0, 3, 0}, 15},
      {"runs overlapping", {0x3b, 0x30, 0, 0, 1, 0, 0, 9, 0, 2, 0, 0, 0, 5, 0, 3, 0, 3, 0}, 19},
      {"run past 65535", {0x3b, 0x30, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0xff, 0xff, 1, 0}, 15},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(pbad); i++) {
    if (lp_bitmap_portable_deserialize(&t, &m, pbad[i].bytes, pbad[i].len, &used) != LP_ECORRUPT)
      fail_msg("portable format accepted: %s", pbad[i].what);
  }
  /* a bitset whose popcount disagrees with its count */
  uint8_t *big = calloc(1, 12 + 8192);
  assert_non_null(big);
  big[0] = 1;
  big[6] = 2;
  lp_put_u32le(big + 8, 5000);
  memset(big + 12, 0xff, 625); /* 5000 bits */
  assert_int_equal(lp_bitmap_deserialize(&t, &m, big, 12 + 8192, &used), LP_OK);
  assert_int_equal(lp_bitmap_cardinality(&t), 5000);
  big[12 + 700] = 1;
  assert_int_equal(lp_bitmap_deserialize(&t, &m, big, 12 + 8192, &used), LP_ECORRUPT);
  assert_int_equal(lp_bitmap_cardinality(&t), 5000);
  free(big);
  lp_bitmap_release(&t, &m);
}

/* ---- allocation failures ---- */

typedef struct oom_ctx {
  int which;
} oom_ctx;

static uint8_t *snapshot(const lp_bitmap *b, size_t *len) {
  *len = lp_bitmap_serialized_size(b);
  uint8_t *p = malloc(*len);
  assert_non_null(p);
  lp_bitmap_serialize(b, p);
  return p;
}

static void assert_same(const lp_bitmap *b, const uint8_t *before, size_t len) {
  size_t now_len;
  uint8_t *now = snapshot(b, &now_len);
  assert_int_equal(now_len, len);
  assert_memory_equal(now, before, len);
  free(now);
  assert_int_equal(lp_bitmap_check(b), LP_OK);
}

enum { OOM_ADD, OOM_ADD_RANGE, OOM_ADD_MANY, OOM_REMOVE, OOM_OPS, OOM_INPLACE, OOM_MANY,
       OOM_DESER, OOM_PORTABLE, OOM_OPTIMIZE, OOM_COPY, OOM_FLIP, OOM_KINDS };

static int oom_flow(const lp_allocator *alloc, void *vctx) {
  oom_ctx *ctx = vctx;
  lp_mem m;
  int rc = lp_mem_init(&m, alloc);
  if (rc != LP_OK) return rc;
  /* b is built with the plain allocator; a and the outputs use the failing
   * one, so the sweep reaches every allocation of the calls under test */
  lp_mem pm = plain_mem();
  lp_bitmap a, b, o;
  lp_bitmap_init(&a);
  lp_bitmap_init(&b);
  lp_bitmap_init(&o);
  build_mixed(&b, &pm);
  assert_int_equal(lp_bitmap_add_range(&b, &pm, (7u << 16) | 5, (9u << 16) | 77), LP_OK);
  /* a (array, bitset and run containers) arrives through a load, itself
   * part of the sweep */
  lp_bitmap seed;
  lp_bitmap_init(&seed);
  for (uint32_t i = 0; i < 4200; i++) assert_int_equal(lp_bitmap_add(&seed, &pm, (2u << 16) | (i * 11 % 65536)), LP_OK);
  assert_int_equal(lp_bitmap_add_range(&seed, &pm, (5u << 16) | 500, (5u << 16) | 2000), LP_OK);
  assert_int_equal(lp_bitmap_add(&seed, &pm, 3), LP_OK);
  size_t sz = lp_bitmap_serialized_size(&seed);
  uint8_t *ser = malloc(sz);
  assert_non_null(ser);
  lp_bitmap_serialize(&seed, ser);
  lp_bitmap_release(&seed, &pm);
  rc = lp_bitmap_deserialize(&a, &m, ser, sz, NULL);
  free(ser);
  if (rc != LP_OK) {
    assert_int_equal(rc, LP_ENOMEM);
    assert_true(lp_bitmap_is_empty(&a));
    lp_bitmap_release(&b, &pm);
    return rc;
  }
  size_t before_len;
  uint8_t *before = snapshot(&a, &before_len);
  uint32_t vals[300];
  for (uint32_t i = 0; i < 300; i++) vals[i] = (i * 2654435761u) ^ (i << 3);
  const lp_bitmap *v[3] = {&a, &b, &a};
  switch (ctx->which) {
  case OOM_ADD:
    /* new containers, array growth and the array -> bitset conversion */
    for (uint32_t i = 0; i < 300 + 4097 && rc == LP_OK; i++) {
      uint32_t x = i < 300 ? vals[i] : (11u << 16) | (i - 300) * 3;
      uint64_t card = lp_bitmap_cardinality(&a);
      bool had = lp_bitmap_contains(&a, x);
      rc = lp_bitmap_add(&a, &m, x);
      if (rc != LP_OK) {
        assert_int_equal(lp_bitmap_cardinality(&a), card);
        assert_int_equal(lp_bitmap_contains(&a, x), had);
        assert_int_equal(lp_bitmap_check(&a), LP_OK);
        free(before);
        before = snapshot(&a, &before_len);
      }
    }
    break;
  case OOM_ADD_RANGE: rc = lp_bitmap_add_range(&a, &m, (1u << 16) | 9, (6u << 16) | 3); break;
  case OOM_ADD_MANY: rc = lp_bitmap_add_many(&a, &m, vals, 300); break;
  case OOM_REMOVE:
    rc = lp_bitmap_remove(&a, &m, (5u << 16) | 1000); /* splits a run */
    if (rc == LP_OK) {
      free(before);
      before = snapshot(&a, &before_len);
      rc = lp_bitmap_remove(&a, &m, (2u << 16) | 11); /* bitset -> array */
      if (rc == LP_OK) {
        free(before);
        before = snapshot(&a, &before_len);
        rc = lp_bitmap_remove_range(&a, &m, 4, (5u << 16) | 700);
      }
    }
    break;
  case OOM_OPS:
  case OOM_MANY: {
    /* o holds the previous result when a call fails: it must keep it */
    size_t olen = 0;
    uint8_t *obefore = NULL;
    for (int step = 0; step < 8 && rc == LP_OK; step++) {
      free(obefore);
      obefore = snapshot(&o, &olen);
      if (ctx->which == OOM_MANY) {
        if (step >= 2) break;
        rc = step == 0 ? lp_bitmap_or_many(&o, &m, v, 3) : lp_bitmap_and_many(&o, &m, v, 3);
      } else {
        rc = step % 2 ? binop(step / 2, &o, &m, &b, &a) : binop(step / 2, &o, &m, &a, &b);
      }
    }
    if (rc != LP_OK) assert_same(&o, obefore, olen);
    free(obefore);
    lp_bitmap_release(&o, &m);
    break;
  }
  case OOM_INPLACE:
    for (int op = 0; op < 4 && rc == LP_OK; op++) {
      rc = binop_inplace(op, &a, &m, &b);
      if (rc == LP_OK) {
        free(before);
        before = snapshot(&a, &before_len);
      }
    }
    break;
  case OOM_DESER:
  case OOM_PORTABLE: {
    bool own = ctx->which == OOM_DESER;
    size_t n = own ? lp_bitmap_serialized_size(&b) : lp_bitmap_portable_size(&b);
    uint8_t *p = malloc(n);
    assert_non_null(p);
    if (own) lp_bitmap_serialize(&b, p);
    else lp_bitmap_portable_serialize(&b, p);
    rc = own ? lp_bitmap_deserialize(&a, &m, p, n, NULL) : lp_bitmap_portable_deserialize(&a, &m, p, n, NULL);
    if (rc == LP_OK) assert_true(lp_bitmap_equal(&a, &b));
    free(p);
    break;
  }
  case OOM_OPTIMIZE:
    rc = lp_bitmap_run_optimize(&a, &m);
    if (rc == LP_OK) {
      free(before);
      before = snapshot(&a, &before_len);
      rc = lp_bitmap_shrink(&a, &m);
    }
    break;
  case OOM_COPY: rc = lp_bitmap_copy(&o, &m, &a); break;
  default: rc = lp_bitmap_flip_range(&o, &m, &a, 2, (6u << 16) | 1); break;
  }
  if (rc != LP_OK) {
    assert_int_equal(rc, LP_ENOMEM);
    assert_same(&a, before, before_len);
    assert_int_equal(lp_bitmap_check(&o), LP_OK);
    assert_true(lp_bitmap_is_empty(&o)); /* o was empty, or checked above */
  }
  free(before);
  lp_bitmap_release(&a, &m);
  lp_bitmap_release(&o, &m);
  lp_bitmap_release(&b, &pm);
  return rc;
}

static void allocation_failures_leave_bitmaps_unchanged(void **state) {
  (void)state;
  static const char *names[OOM_KINDS] = {"add", "add_range", "add_many", "remove", "ops", "inplace",
                                         "many", "deserialize", "portable", "optimize", "copy", "flip"};
  for (int k = 0; k < OOM_KINDS; k++) {
    oom_ctx ctx = {k};
    size_t points = lp_test_oom_sweep(names[k], oom_flow, &ctx);
    assert_true(points >= 2);
  }
}

/* An operation whose output already holds values keeps them on failure. */
static void failed_operation_keeps_previous_output(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  lp_bitmap a, b, o;
  lp_bitmap_init(&a);
  lp_bitmap_init(&b);
  lp_bitmap_init(&o);
  build_mixed(&a, &m);
  assert_int_equal(lp_bitmap_add_range(&b, &m, 0, 1u << 20), LP_OK);
  assert_int_equal(lp_bitmap_add(&o, &m, 123456789), LP_OK);
  for (int op = 0; op < 4; op++) {
    lp_test_alloc_fail_at(&ta, 2, false);
    assert_int_equal(binop(op, &o, &m, &a, &b), LP_ENOMEM);
    lp_test_alloc_disarm(&ta);
    assert_int_equal(lp_bitmap_cardinality(&o), 1);
    assert_true(lp_bitmap_contains(&o, 123456789));
  }
  lp_test_alloc_fail_at(&ta, 1, true);
  uint8_t junk[4] = {0, 0, 0, 0};
  /* the empty bitmap needs no allocation */
  assert_int_equal(lp_bitmap_deserialize(&o, &m, junk, 4, NULL), LP_OK);
  lp_test_alloc_disarm(&ta);
  assert_true(lp_bitmap_is_empty(&o));
  lp_bitmap_release(&a, &m);
  lp_bitmap_release(&b, &m);
  lp_bitmap_release(&o, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

static void size_in_bytes_and_equal(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  lp_bitmap a, b;
  lp_bitmap_init(&a);
  lp_bitmap_init(&b);
  build_mixed(&a, &m);
  assert_int_equal(lp_bitmap_size_in_bytes(&a), ta.live_bytes);
  /* same values, different forms: equal */
  assert_int_equal(lp_bitmap_add_range(&b, &m, 100, 5000), LP_OK);
  lp_bitmap c;
  lp_bitmap_init(&c);
  for (uint32_t i = 100; i < 5000; i++) assert_int_equal(lp_bitmap_add(&c, &m, i), LP_OK);
  assert_int_not_equal(b.c[0].kind, c.c[0].kind);
  assert_true(lp_bitmap_equal(&b, &c));
  assert_int_equal(lp_bitmap_remove(&c, &m, 4000), LP_OK);
  assert_false(lp_bitmap_equal(&b, &c));
  assert_false(lp_bitmap_equal(&a, &b));
  lp_bitmap_swap(&a, &b);
  assert_int_equal(lp_bitmap_cardinality(&a), 4900);
  lp_bitmap_release(&a, &m);
  lp_bitmap_release(&b, &m);
  lp_bitmap_release(&c, &m);
  assert_int_equal(ta.live_blocks, 0);
}

/* In-place operations and batch adds keep the containers they do not
 * touch: no copy of a large bitmap for a small change. */
static void inplace_keeps_untouched_containers(void **state) {
  (void)state;
  lp_test_alloc ta;
  lp_test_alloc_init(&ta);
  lp_mem m;
  assert_int_equal(lp_mem_init(&m, &ta.alloc), LP_OK);
  lp_bitmap a, b;
  lp_bitmap_init(&a);
  lp_bitmap_init(&b);
  for (uint32_t k = 0; k < 50; k++)
    for (uint32_t i = 0; i < 5000; i++) assert_int_equal(lp_bitmap_add(&a, &m, k << 16 | (i * 13 % 65536)), LP_OK);
  void *first = a.c[0].data, *last = a.c[49].data;
  assert_int_equal(lp_bitmap_add(&b, &m, 7u << 16 | 1), LP_OK);
  size_t calls = ta.calls;
  assert_int_equal(lp_bitmap_or_inplace(&a, &m, &b), LP_OK);
  assert_true(ta.calls - calls <= 3); /* the table and the one container */
  assert_ptr_equal(a.c[0].data, first);
  assert_ptr_equal(a.c[49].data, last);
  assert_true(lp_bitmap_contains(&a, 7u << 16 | 1));
  calls = ta.calls;
  const uint32_t few[] = {3u << 16 | 2, 9u << 16 | 4};
  assert_int_equal(lp_bitmap_add_many(&a, &m, few, 2), LP_OK);
  assert_true(ta.calls - calls <= 8);
  assert_ptr_equal(a.c[0].data, first);
  assert_int_equal(lp_bitmap_andnot_inplace(&a, &m, &b), LP_OK);
  assert_ptr_equal(a.c[49].data, last);
  assert_false(lp_bitmap_contains(&a, 7u << 16 | 1));
  assert_int_equal(lp_bitmap_check(&a), LP_OK);
  lp_bitmap_release(&a, &m);
  lp_bitmap_release(&b, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_frees, 0);
}

/* The checker itself: hand-damaged bitmaps are reported. */
static void checker_reports_damage(void **state) {
  (void)state;
  lp_mem m = plain_mem();
  lp_bitmap b;
  lp_bitmap_init(&b);
  build_mixed(&b, &m);
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  uint32_t idx_arr = 0, idx_bs = 1, idx_run = 2;
  assert_int_equal(b.c[idx_arr].kind, LP_BITMAP_ARRAY);
  assert_int_equal(b.c[idx_bs].kind, LP_BITMAP_BITSET);
  assert_int_equal(b.c[idx_run].kind, LP_BITMAP_RUN);
  uint16_t *arr = b.c[idx_arr].data;
  uint16_t save = arr[3];
  arr[3] = arr[2];
  assert_int_equal(lp_bitmap_check(&b), LP_ECORRUPT);
  arr[3] = save;
  b.c[idx_bs].card++;
  assert_int_equal(lp_bitmap_check(&b), LP_ECORRUPT);
  b.c[idx_bs].card--;
  lp_bitmap_run *r = b.c[idx_run].data;
  r[1].start = (uint16_t)(r[0].start + r[0].len + 1);
  assert_int_equal(lp_bitmap_check(&b), LP_ECORRUPT);
  r[1].start = 1000;
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  uint16_t k = b.keys[1];
  b.keys[1] = b.keys[0];
  assert_int_equal(lp_bitmap_check(&b), LP_ECORRUPT);
  b.keys[1] = k;
  b.c[idx_arr].kind = 9;
  assert_int_equal(lp_bitmap_check(&b), LP_ECORRUPT);
  b.c[idx_arr].kind = LP_BITMAP_ARRAY;
  assert_int_equal(lp_bitmap_check(&b), LP_OK);
  lp_bitmap_release(&b, &m);
}

/* Every kernel variant this machine runs gives the portable result. */
static void kernel_variants_agree(void **state) {
  (void)state;
  static uint64_t a[LP_BITMAP_WORDS], b[LP_BITMAP_WORDS], d0[LP_BITMAP_WORDS],
      d1[LP_BITMAP_WORDS];
  lp_rng r;
  lp_rng_seed(&r, 5);
  int top = lpb_kernel_level();
  printf("kernel level on this machine: %d\n", top);
  for (int round = 0; round < 200; round++) {
    for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {
      uint64_t x = lp_rng_next(&r), y = lp_rng_next(&r);
      a[i] = round % 3 == 0 ? x : round % 3 == 1 ? x & y : ~0ull;
      b[i] = round % 2 ? y : x | y;
    }
    /* a hand count as the reference */
    uint32_t ref = 0, refand = 0;
    for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++)
      for (int bit = 0; bit < 64; bit++) {
        ref += (uint32_t)((a[i] >> bit) & 1u);
        refand += (uint32_t)(((a[i] & b[i]) >> bit) & 1u);
      }
    for (int level = 0; level <= top; level++) {
      assert_int_equal(lpb_words_card_at(level, a), ref);
      assert_int_equal(lpb_words_op_card_at(level, LPB_OP_AND, a, b), refand);
      uint32_t refruns = 0;
      for (uint32_t i = 0; i < LP_BITMAP_WORDS * 64; i++)
        refruns += ((a[i / 64] >> (i % 64)) & 1u) && (i == 0 || !((a[(i - 1) / 64] >> ((i - 1) % 64)) & 1u));
      assert_int_equal(lpb_words_nruns_at(level, a), refruns);
      const uint64_t *ws[3] = {a, b, a};
      assert_int_equal(lpb_words_andk_card_at(level, ws, 1), ref);
      assert_int_equal(lpb_words_andk_card_at(level, ws, 3), refand);
      for (uint32_t op = 0; op < 4; op++) {
        uint32_t c0 = lpb_words_op_at(0, op, d0, a, b);
        uint32_t c1 = lpb_words_op_at(level, op, d1, a, b);
        assert_int_equal(c0, c1);
        assert_memory_equal(d0, d1, sizeof d0);
        assert_int_equal(lpb_words_card_at(0, d0), c0);
        assert_int_equal(lpb_words_op_card_at(level, op, a, b), c0);
      }
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kernel_variants_agree),
      cmocka_unit_test(container_transitions),
      cmocka_unit_test(every_operator_over_every_container_pair),
      cmocka_unit_test(many_way_operations),
      cmocka_unit_test(rank_select_iterate_edges),
      cmocka_unit_test(serialised_bytes_follow_the_specs),
      cmocka_unit_test(serialisation_rejects_or_survives_damage),
      cmocka_unit_test(deserialise_rejects_invalid_structures),
      cmocka_unit_test(allocation_failures_leave_bitmaps_unchanged),
      cmocka_unit_test(failed_operation_keeps_previous_output),
      cmocka_unit_test(size_in_bytes_and_equal),
      cmocka_unit_test(inplace_keeps_untouched_containers),
      cmocka_unit_test(checker_reports_damage),
      cmocka_unit_test(model_random_operations),
  };
  return cmocka_run_group_tests_name("bitmap", tests, NULL, NULL);
}
