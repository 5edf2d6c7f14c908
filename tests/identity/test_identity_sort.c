/*
 * The canonical orders that save and the full replay use (radix and bucket
 * passes, state.c) against the plain comparison sort of the same keys, on
 * random graphs: timestamps in a narrow, a negative and the whole 64-bit
 * range, the profile store's shape (one-identifier facts at INT64_MAX on
 * identifiers seen before, so long runs of one timestamp and source), a few
 * timestamps far apart (several bands, and the heap sort after the last),
 * many sources interned out of name order, and host hashes whose high
 * halves collide or are all equal. lp_idgraph_profiles (the same radix
 * sort on the profile ids) against qsort, and the radix sort on its own.
 * SPDX-License-Identifier: MIT
 */
#include "core/rng.h"
#include "identity/idtest.h"
#include "identity/identity_internal.h"
#include "identity/state.h"

/* Host hashes of controlled skew: mode 0 the test hash, 1 the high half
 * from 3 values, 2 one high half for all. */
static int skew_mode;
static int skewed_hash(void *ud, const void *data, size_t len, uint8_t *out16) {
  (void)ud;
  idt_hash_cb(NULL, data, len, out16);
  if (skew_mode == 1) {
    uint8_t v = out16[8] % 3;
    memset(out16 + 8, 0, 8);
    out16[15] = (uint8_t)(v << 6);
  } else if (skew_mode == 2) {
    memset(out16 + 8, 0x5a, 8);
  }
  return 0;
}

static int64_t draw_ts(lp_rng *r, int range) {
  switch (range) {
  case 0: return 1700000000 + (int64_t)lp_rng_below(r, 50); /* many ties */
  case 1: return -(int64_t)lp_rng_below(r, 1000000) - 5;
  case 3: return 1700000000 + (int64_t)lp_rng_below(r, 5); /* long runs; facts below */
  case 4: { /* far apart: bands, and random ones past the last band */
    static const int64_t far[5] = {INT64_MIN, -1, 0, 1700000000, INT64_MAX};
    return lp_rng_below(r, 20) == 0 ? (int64_t)lp_rng_next(r) : far[lp_rng_below(r, 5)];
  }
  default: return (int64_t)lp_rng_next(r); /* the whole range: fallback path */
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : (x > y);
}

static void check_orders(const lp_idgraph *g) {
  const idg_state *s = &g->st;
  size_t ne = s->events.len, nn = s->nodes.len;
  uint32_t *radix = calloc(ne + 1, sizeof *radix), *heap = calloc(ne + 1, sizeof *heap);
  assert_non_null(radix);
  assert_non_null(heap);
  assert_int_equal(idg_canonical_order(s, &g->mem, radix), LP_OK);
  for (size_t i = 0; i < ne; i++) heap[i] = (uint32_t)i;
  idg_sort(heap, ne, idg_cmp_events_ctx, s);
  uint8_t *seen = calloc(ne + 1, 1);
  assert_non_null(seen);
  for (size_t i = 0; i < ne; i++) {
    assert_true(radix[i] < ne && !seen[radix[i]]);
    seen[radix[i]] = 1;
    /* equal events may come in either order; their keys may not differ */
    if (idg_cmp_events(s, radix[i], heap[i]) != 0) fail_msg("event %zu out of canonical order", i);
  }
  free(seen);
  free(radix);
  free(heap);
  uint32_t *nodes = calloc(nn + 1, sizeof *nodes);
  assert_non_null(nodes);
  assert_int_equal(idg_hash_order(s, &g->mem, nodes), LP_OK);
  for (size_t i = 1; i < nn; i++)
    if (idg_cmp_hash(idg_node_hash(idg_node_at(s, nodes[i - 1])), idg_node_hash(idg_node_at(s, nodes[i]))) >= 0)
      fail_msg("identifier %zu out of hash order", i);
  free(nodes);
  /* lp_idgraph_profiles (a radix sort) against qsort of every root's id */
  size_t np = 0, got = 0;
  assert_int_equal(lp_idgraph_profiles(g, NULL, 0, &np), LP_OK);
  uint64_t *ref = calloc(nn + 1, sizeof *ref), *ids = calloc(np + 1, sizeof *ids);
  assert_non_null(ref);
  assert_non_null(ids);
  for (uint32_t x = 0; x < nn; x++)
    if (idg_find(s, x) == x) ref[got++] = idg_pid(s, x);
  assert_int_equal(got, np);
  qsort(ref, got, sizeof *ref, cmp_u64);
  assert_int_equal(lp_idgraph_profiles(g, ids, np, &np), LP_OK);
  assert_int_equal(np, got);
  assert_memory_equal(ids, ref, got * sizeof *ref);
  free(ids);
  free(ref);
}

typedef struct {
  uint64_t key;
  size_t at;
} keyed_at;

static int cmp_key_then_at(const void *a, const void *b) {
  const keyed_at *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->at < y->at ? -1 : (x->at > y->at);
}

/* idg_radix_u64 on its own: random words, words of few distinct values
 * and all equal, every key range (bits [ib, ib + kb), none above), lengths 0 to a few
 * thousand; against qsort of the same keys, stable for equal keys. */
static void radix_u64_equals_qsort(void **state) {
  (void)state;
  lp_rng r;
  lp_rng_seed(&r, 77);
  uint32_t *cnt = calloc(IDG_RADIX_BUCKETS, sizeof *cnt);
  assert_non_null(cnt);
  for (size_t round = 0, rounds = lp_test_cases(300); round < rounds; round++) {
    size_t n = round < 3 ? (size_t)round : (size_t)lp_rng_below(&r, 5000);
    unsigned ib = (unsigned)lp_rng_below(&r, 40), kb = (unsigned)lp_rng_below(&r, 64 - ib + 1);
    if (round % 4 == 0) ib = 0, kb = 64;
    int mode = (int)(round % 3);
    uint64_t *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b);
    uint64_t *ref = calloc(n + 1, sizeof *ref);
    assert_true(a != NULL && b != NULL && ref != NULL);
    for (size_t i = 0; i < n; i++) {
      uint64_t v = lp_rng_next(&r);
      if (mode == 1) v = (lp_rng_below(&r, 3) * UINT64_C(0x9e3779b97f4a7c15)) ^ (v & 0xff);
      if (mode == 2) v = UINT64_C(0x0123456789abcdef);
      if (ib + kb < 64) v &= (UINT64_C(1) << (ib + kb)) - 1; /* the contract: no higher bits */
      a[i] = v;
    }
    /* reference: by the digit field, then by original position (stable) */
    uint64_t mask = kb == 64 ? UINT64_MAX : ((UINT64_C(1) << kb) - 1);
    keyed_at *k = calloc(n + 1, sizeof *k);
    assert_non_null(k);
    for (size_t i = 0; i < n; i++) k[i].key = (a[i] >> ib) & mask, k[i].at = i;
    qsort(k, n, sizeof *k, cmp_key_then_at); /* the position breaks ties: stable */
    for (size_t i = 0; i < n; i++) ref[i] = a[k[i].at];
    const uint64_t *out = idg_radix_u64(a, b, n, ib, kb, cnt);
    assert_true(out == a || out == b);
    if (n > 0) assert_memory_equal(out, ref, n * sizeof *ref);
    free(k);
    free(ref);
    free(b);
    free(a);
  }
  free(cnt);
}

static void radix_orders_equal_comparison_sorts(void **state) {
  (void)state;
  size_t graphs = 0;
  const size_t seeds = lp_test_cases(150);
  for (uint64_t seed = 1; seed <= seeds; seed++) {
    lp_rng r;
    lp_rng_seed(&r, seed);
    lp_idgraph *g = NULL;
    assert_int_equal(idt_make(NULL, true, &g), LP_OK);
    skew_mode = (int)(seed % 3);
    assert_int_equal(lp_idgraph_set_hash(g, skewed_hash, NULL), LP_OK);
    int range = (int)(seed / 3 % 5);
    size_t nsrc = 1 + (size_t)lp_rng_below(&r, seed % 2 ? 300 : 3);
    size_t nev = 1 + (size_t)lp_rng_below(&r, range >= 3 ? 2500 : 1500);
    for (size_t e = 0; e < nev; e++) {
      char vals[3][32], src[16];
      lp_idgraph_ident ids[3];
      size_t n = 1 + (size_t)lp_rng_below(&r, 3);
      for (size_t i = 0; i < n; i++) {
        uint32_t t = (uint32_t)lp_rng_below(&r, 4);
        uint64_t k = lp_rng_below(&r, 400);
        if (t == T_EMAIL) snprintf(vals[i], sizeof vals[i], "m%llu@x.org", (unsigned long long)k);
        else if (t == T_PHONE) snprintf(vals[i], sizeof vals[i], "+4477%08llu", (unsigned long long)k);
        else snprintf(vals[i], sizeof vals[i], "v%llu", (unsigned long long)k);
        ids[i] = idt_id(t, vals[i]);
      }
      /* source names interned in an order unrelated to their bytes */
      snprintf(src, sizeof src, "%c%llu", (char)('z' - lp_rng_below(&r, 26)),
               (unsigned long long)lp_rng_below(&r, nsrc));
      int64_t ts = draw_ts(&r, range);
      if (range == 3 && lp_rng_below(&r, 10) < 6) { /* a fact: one identifier */
        n = 1;
        ts = INT64_MAX;
        snprintf(src, sizeof src, "%s", lp_rng_below(&r, 4) == 0 ? "tag" : "fact");
      }
      assert_int_equal(lp_idgraph_observe(g, ids, n, ts, src, strlen(src), NULL), LP_OK);
    }
    check_orders(g);
    /* and after a load, whose events are canonical already */
    lp_membuf *b = idt_save(g);
    lp_memreader mr;
    assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
    assert_int_equal(lp_idgraph_load(g, lp_memreader_read, &mr), LP_OK);
    check_orders(g);
    lp_membuf *again = idt_save(g);
    assert_true(idt_same_bytes(b, again));
    lp_membuf_free(again);
    lp_membuf_free(b);
    lp_idgraph_free(g);
    graphs++;
  }
  assert_int_equal(graphs, seeds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(radix_orders_equal_comparison_sorts),
      cmocka_unit_test(radix_u64_equals_qsort),
  };
  return cmocka_run_group_tests_name("identity_sort", tests, NULL, NULL);
}
