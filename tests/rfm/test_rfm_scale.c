/*
 * lp_rfm_score on states large enough to take every internal path (rows
 * bucketed by the top bits of the id or of its offset in the id range, or
 * gathered through a full id sort, values ranked by
 * counting or by radix sort, segments tabulated or matched per row),
 * checked against the definitions recomputed here with qsort: rank by
 * (value, id), rank r in the smallest bin k with N(r-1) <= (n-1)k.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "libprofile/rfm.h"
#include "rfm_fixtures.h"

enum { N = 70000 }; /* above the 65,536 rows an id bucket may hold */

typedef struct expect {
  uint64_t id;
  int64_t last_ts, monetary, frequency;
  int64_t value; /* the dimension being ranked */
  uint32_t rank;
} expect;

static int by_id(const void *a, const void *b) {
  const expect *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int by_value_then_id(const void *a, const void *b) {
  const expect *x = a, *y = b;
  if (x->value != y->value) return x->value < y->value ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Rank of every entry (1-based) by value, ties by id; e stays in id order. */
static void rank_values(expect *e, size_t n) {
  expect *copy = malloc(n * sizeof *copy);
  assert_non_null(copy);
  memcpy(copy, e, n * sizeof *e);
  qsort(copy, n, sizeof *copy, by_value_then_id);
  for (size_t j = 0; j < n; j++) {
    expect key = {.id = copy[j].id};
    expect *hit = bsearch(&key, e, n, sizeof *e, by_id);
    assert_non_null(hit);
    hit->rank = (uint32_t)(j + 1);
  }
  free(copy);
}

static uint32_t bin_of_rank(uint64_t r, uint64_t n, uint32_t bins) {
  for (uint32_t k = 1; k < bins; k++)
    if (bins * (r - 1) <= (n - 1) * k) return k;
  return bins;
}

/* One transaction per profile; `wide` spreads amounts over ~2^40 so that
 * they cannot be ranked by counting. */
static lp_rfm *build(uint64_t (*id_of)(size_t), bool wide, expect *e) {
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn *t = malloc(N * sizeof *t);
  assert_non_null(t);
  for (size_t i = 0; i < N; i++) {
    int64_t amount = wide ? (int64_t)((i * UINT64_C(2654435761)) % (UINT64_C(1) << 40))
                          : (int64_t)((i * 7919) % 1000) - 100;
    int64_t ts = T0 + (int64_t)(i % 400) * DAY + (int64_t)(i % 3) * 3600;
    t[i] = txn(id_of(i), ts, amount, (int64_t)i);
    e[i] = (expect){.id = id_of(i), .last_ts = ts, .monetary = amount, .frequency = 1};
  }
  assert_int_equal(lp_rfm_add(h, t, N), LP_OK);
  free(t);
  qsort(e, N, sizeof *e, by_id);
  return h;
}

static void check_scores(lp_rfm *h, expect *e, uint32_t bins) {
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RFM11, &map), LP_OK);
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 500 * DAY;
  o.bins = bins;
  lp_rfm_row *rows = malloc(N * sizeof *rows);
  assert_non_null(rows);
  size_t n;
  assert_int_equal(lp_rfm_score(h, &o, map, rows, N, &n), LP_OK);
  assert_int_equal(n, N);
  uint32_t *r = malloc(N * sizeof *r), *m = malloc(N * sizeof *m);
  assert_true(r != NULL && m != NULL);
  for (size_t i = 0; i < N; i++) e[i].value = (o.as_of - e[i].last_ts) / DAY;
  rank_values(e, N);
  for (size_t i = 0; i < N; i++) r[i] = bins + 1 - bin_of_rank(e[i].rank, N, bins);
  for (size_t i = 0; i < N; i++) e[i].value = e[i].monetary;
  rank_values(e, N);
  for (size_t i = 0; i < N; i++) m[i] = bin_of_rank(e[i].rank, N, bins);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(rows[i].profile_id, e[i].id);
    assert_int_equal(rows[i].recency, o.as_of - e[i].last_ts);
    assert_int_equal(rows[i].monetary, e[i].monetary);
    assert_int_equal(rows[i].frequency, 1);
    /* Every frequency is 1: ranks follow the ids. */
    assert_int_equal(rows[i].f, bin_of_rank(i + 1, N, bins));
    assert_int_equal(rows[i].r, r[i]);
    assert_int_equal(rows[i].m, m[i]);
    assert_int_equal(rows[i].segment, lp_rfm_segmap_match(map, rows[i].r, rows[i].f, rows[i].m));
    uint32_t st;
    assert_int_equal(lp_rfm_stage_of(h, e[i].id, o.as_of, &st), LP_OK);
    assert_int_equal(rows[i].stage, st);
  }
  free(r);
  free(m);
  free(rows);
  lp_rfm_segmap_free(map);
}

static uint64_t spread_id(size_t i) { return (uint64_t)(i + 1) * UINT64_C(0x9E3779B97F4A7C15); }

/* Small ids: crowded at the scale of the top 11 bits, spread at the
 * scale of their own range. */
static uint64_t sequential_id(size_t i) { return (uint64_t)i + 1; }

/* All but one id in the lowest 1/2048 of the range: one huge bucket. */
static uint64_t clustered_id(size_t i) { return i + 1 < N ? (uint64_t)i + 5 : UINT64_MAX; }

static void run(uint64_t (*id_of)(size_t), bool wide) {
  expect *e = malloc(N * sizeof *e);
  assert_non_null(e);
  lp_rfm *h = build(id_of, wide, e);
  check_scores(h, e, 5);  /* segments from a table */
  check_scores(h, e, 12); /* segments matched row by row */
  lp_rfm_free(h);
  free(e);
}

/* Spread, sequential or clustered ids, narrow or wide values: each pair
 * takes a different combination of paths. */
static void every_path_follows_the_definition(void **state) {
  (void)state;
  for (int wide = 0; wide < 2; wide++) {
    run(spread_id, wide != 0);
    run(sequential_id, wide != 0);
    run(clustered_id, wide != 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_path_follows_the_definition),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
