/*
 * Tests for include/libprofile/rfm.h: aggregate definitions, CLV inputs,
 * tie rules, thresholds, segment tables, lifecycle bands and transitions,
 * merge equalities and argument errors. Expected values are worked by hand
 * in the comments next to them.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "rfm/rfm_check.h"
#include "rfm/rfm_handle.h"
#include "rfm/rfm_sort.h"
#include "rfm_fixtures.h"

/* Profile 7, hand-built (T0 = 2024-01-01, day numbers relative to it):
 *   day 0 10:00 order 1  10.00      day 0 12:00 order 1  5.00 (same order)
 *   day 0 13:00 order 2   2.50      day 3 09:00 no order 20.00
 *   day 10 08:00 order 3 -3.00 (refund)
 * transactions 5; orders {1,2,3} + 1 without id = 4; periods {0,3,10} = 3;
 * monetary 1000+500+250+2000-300 = 3450; first period 1750; repeat 1700;
 * prev_ts = day 3 09:00 (latest ts before the last period). */
static void fill_profile7(lp_rfm_txn t[5]) {
  t[0] = txn(7, T0 + 10 * 3600, 1000, 1);
  t[1] = txn(7, T0 + 12 * 3600, 500, 1);
  t[2] = txn(7, T0 + 13 * 3600, 250, 2);
  t[3] = txn(7, T0 + 3 * DAY + 9 * 3600, 2000, -1);
  t[4] = txn(7, T0 + 10 * DAY + 8 * 3600, -300, 3);
}

static void check_profile7(lp_rfm *h) {
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 7, &p), LP_OK);
  assert_int_equal(p.profile_id, 7);
  assert_int_equal(p.first_ts, T0 + 10 * 3600);
  assert_int_equal(p.last_ts, T0 + 10 * DAY + 8 * 3600);
  assert_int_equal(p.prev_ts, T0 + 3 * DAY + 9 * 3600);
  assert_int_equal(p.transactions, 5);
  assert_int_equal(p.orders, 4);
  assert_int_equal(p.periods, 3);
  assert_int_equal(p.monetary, 3450);
  assert_int_equal(p.first_period_value, 1750);
  assert_int_equal(p.repeat_value, 1700);
}

/* The state saves to the bytes of `before` and passes the checker; frees
 * both. */
static void expect_unchanged_then_free(lp_rfm *h, lp_membuf *before) {
  lp_membuf *after = state_bytes(h);
  assert_int_equal(lp_membuf_size(before), lp_membuf_size(after));
  assert_memory_equal(lp_membuf_data(before), lp_membuf_data(after), lp_membuf_size(after));
  assert_int_equal(rfm_check(h), LP_OK);
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_rfm_free(h);
}

static void aggregates_follow_the_definitions(void **state) {
  (void)state;
  lp_rfm_txn t[5];
  fill_profile7(t);
  /* Every order of the five lines gives the same aggregates. */
  for (uint64_t seed = 0; seed < 20; seed++) {
    lp_rfm *h;
    assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
    shuffle_txns(t, 5, seed);
    for (size_t i = 0; i < 5; i++) assert_int_equal(lp_rfm_add(h, &t[i], 1), LP_OK);
    check_profile7(h);
    assert_int_equal(lp_rfm_count(h), 1);
    lp_rfm_free(h);
  }
}

static void expect_clv(lp_rfm *h, uint64_t id, int64_t as_of, int64_t frequency,
                       int64_t recency, int64_t t, double monetary) {
  lp_rfm_clv c = LP_RFM_CLV_INIT;
  assert_int_equal(lp_rfm_clv_inputs(h, id, as_of, &c), LP_OK);
  assert_int_equal(c.frequency, frequency);
  assert_int_equal(c.recency, recency);
  assert_int_equal(c.t, t);
  assert_true(c.monetary == monetary);
}

static void clv_inputs_follow_lifetimes(void **state) {
  (void)state;
  lp_rfm *h;
  lp_rfm_txn t[5];
  fill_profile7(t);
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  assert_int_equal(lp_rfm_add(h, t, 5), LP_OK);
  /* lifetimes summary_data_from_transaction_data(freq="D") at day 20:
   * frequency = 3 periods - 1 = 2; recency = 10 - 0 = 10; T = 20 - 0 = 20;
   * monetary = mean of the repeat periods' sums (2000, -300) = 850. */
  lp_rfm_clv c = LP_RFM_CLV_INIT;
  assert_int_equal(lp_rfm_clv_inputs(h, 7, T0 + 20 * DAY, &c), LP_OK);
  assert_int_equal(c.frequency, 2);
  assert_int_equal(c.recency, 10);
  assert_int_equal(c.t, 20);
  assert_true(c.monetary == 850.0);
  assert_int_equal(lp_rfm_clv_inputs(h, 7, T0 + 5 * DAY, &c), LP_ERANGE);
  assert_int_equal(lp_rfm_clv_inputs(h, 8, T0 + 20 * DAY, &c), LP_ENOTFOUND);
  assert_int_equal(lp_rfm_clv_inputs(h, 7, T0, NULL), LP_EINVAL);
  lp_rfm_clv bad = LP_RFM_CLV_INIT;
  bad.struct_size = 4;
  assert_int_equal(lp_rfm_clv_inputs(h, 7, T0 + 20 * DAY, &bad), LP_EINVAL);
  /* A one-period customer: frequency 0, monetary 0 (lifetimes' rule). */
  lp_rfm_txn one = txn(9, T0, 500, -1);
  assert_int_equal(lp_rfm_add(h, &one, 1), LP_OK);
  expect_clv(h, 9, T0 + 3 * DAY, 0, 0, 3, 0.0);
  /* Weekly periods counted from the epoch (weeks start on Thursdays):
   * epoch days 19723, 19726, 19733 / 7 = 2817.6, 2818.0, 2819.0 -> weeks
   * 2817, 2818, 2819: still 3 periods; as_of day 19743 -> week 2820. */
  lp_rfm *w;
  assert_int_equal(lp_rfm_create(NULL, &w), LP_OK);
  assert_int_equal(lp_rfm_set_int(w, LP_RFM_PERIOD_SECONDS, 7 * DAY), LP_OK);
  assert_int_equal(lp_rfm_add(w, t, 5), LP_OK);
  expect_clv(w, 7, T0 + 20 * DAY, 2, 2, 3, 850.0);
  assert_int_equal(lp_rfm_set_int(w, LP_RFM_PERIOD_SECONDS, DAY), LP_EMISUSE);
  /* 6-hour periods: day 0 10:00, 12:00, 13:00 fall in two periods
   * (06-12h, 12-18h): first period 10:00 alone -> 1000; periods day0 06h,
   * day0 12h, day3 06h, day10 06h -> frequency 3, recency (day 10 06h -
   * day 0 06h) = 40 quarter-days, T = 80; repeat sum 500 + 250 + 2000 - 300
   * = 2450 -> mean 2450 / 3. */
  lp_rfm *q;
  assert_int_equal(lp_rfm_create(NULL, &q), LP_OK);
  assert_int_equal(lp_rfm_set_int(q, LP_RFM_PERIOD_SECONDS, 6 * 3600), LP_OK);
  assert_int_equal(lp_rfm_add(q, t, 5), LP_OK);
  expect_clv(q, 7, T0 + 20 * DAY, 3, 40, 79, 2450.0 / 3.0);
  lp_rfm_free(q);
  assert_int_equal(lp_rfm_set_int(w, LP_RFM_PERIOD_SECONDS, DAY), LP_EMISUSE);
  lp_rfm_free(w);
  lp_rfm_free(h);
}

/* Quantile bins on 7 profiles. pandas reference, for N = 5:
 *   pd.qcut(pd.Series([1,2,3,4,5,6,7]), 5, labels=False) + 1
 *   -> [1, 1, 2, 3, 4, 5, 5]
 * (edges 1, 2.2, 3.4, 4.6, 5.8, 7; right-closed, first bin includes 1).
 * Monetary by id 1..7 = 10, 20, 20, 30, 40, 50, 50: ranks by value then
 * id are 1..7 in id order, so M = 1,1,2,3,4,5,5 - the tie 20/20 is split
 * by id (id 2 -> 1, id 3 -> 2).
 * Recency: id 1..7 last bought 6,5,5,3,2,1,1 days before as_of; ranks
 * (ascending recency, then id): id6=1,id7=2,id5=3,id4=4,id2=5,id3=6,id1=7
 * -> bins 1,1,2,3,4,5,5 -> R = 6 - bin: id6 5, id7 5, id5 4, id4 3, id2 2,
 * id3 1, id1 1.
 * Frequency: all 1 order -> ranks by id -> F = 1,1,2,3,4,5,5. */
static lp_rfm *seven_profiles(void) {
  static const int64_t money[7] = {10, 20, 20, 30, 40, 50, 50};
  static const int64_t ago[7] = {6, 5, 5, 3, 2, 1, 1};
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  for (int i = 6; i >= 0; i--) {
    lp_rfm_txn t = txn((uint64_t)i + 1, T0 + 10 * DAY - ago[i] * DAY, money[i], -1);
    assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  }
  return h;
}

static void quantile_scores_break_ties_by_id(void **state) {
  (void)state;
  lp_rfm *h = seven_profiles();
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 10 * DAY;
  lp_rfm_row rows[7];
  size_t n = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_OK);
  assert_int_equal(n, 7);
  static const uint32_t r[7] = {1, 2, 1, 3, 4, 5, 5}, f[7] = {1, 1, 2, 3, 4, 5, 5},
                        m[7] = {1, 1, 2, 3, 4, 5, 5};
  for (int i = 0; i < 7; i++) {
    assert_int_equal(rows[i].profile_id, (uint64_t)i + 1);
    assert_int_equal(rows[i].r, r[i]);
    assert_int_equal(rows[i].f, f[i]);
    assert_int_equal(rows[i].m, m[i]);
    assert_int_equal(rows[i].frequency, 1);
    assert_int_equal(rows[i].segment, LP_RFM_SEGMENT_OTHERS);
  }
  assert_int_equal(rows[0].recency, 6 * DAY);
  assert_int_equal(rows[0].monetary, 10);
  /* N = 3: qcut([1..7], 3) edges 1, 3, 5, 7 -> [1,1,1,2,2,3,3]. */
  o.bins = 3;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_OK);
  static const uint32_t m3[7] = {1, 1, 1, 2, 2, 3, 3};
  for (int i = 0; i < 7; i++) assert_int_equal(rows[i].m, m3[i]);
  /* One bin: everyone scores 1. */
  o.bins = 1;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_OK);
  for (int i = 0; i < 7; i++) assert_int_equal(rows[i].r + rows[i].f + rows[i].m, 3);
  lp_rfm_free(h);
}

static void threshold_scores_are_right_closed(void **state) {
  (void)state;
  lp_rfm *h = seven_profiles();
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 10 * DAY;
  o.bins = 3;
  o.binning = LP_RFM_BIN_THRESHOLDS;
  /* Recency cuts 1 and 4 (days, the default unit): <=1 -> bin 1 -> R 3;
   * (1,4] -> R 2; more -> R 1.
   * Monetary cuts 20 and 40: 10,20 -> 1; 30,40 -> 2; 50 -> 3. */
  const int64_t rt[2] = {1, 4}, ft[2] = {1, 2}, mt[2] = {20, 40};
  o.r_thresholds = rt;
  o.f_thresholds = ft;
  o.m_thresholds = mt;
  lp_rfm_row rows[7];
  size_t n;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_OK);
  static const uint32_t r[7] = {1, 1, 1, 2, 2, 3, 3}, m[7] = {1, 1, 1, 2, 2, 3, 3};
  for (int i = 0; i < 7; i++) {
    assert_int_equal(rows[i].r, r[i]);
    assert_int_equal(rows[i].f, 1);
    assert_int_equal(rows[i].m, m[i]);
  }
  const int64_t unsorted[2] = {40, 20};
  o.m_thresholds = unsorted;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "m_thresholds"));
  o.m_thresholds = NULL;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  lp_rfm_free(h);
}

/* Profile 1 bought at 09:00, profile 2 at 18:00 of the same day; as_of is
 * the next midnight. In whole days (default) both are 0 days ago and tie,
 * so id 1 ranks first (bin 1 -> R 2) and id 2 gets R 1 (2 bins). In
 * seconds, id 2 is more recent (6 h vs 15 h): R 2 for id 2, R 1 for id 1. */
static void recency_unit_decides_same_day_ties(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn t[2] = {txn(1, T0 + 9 * 3600, 5, -1), txn(2, T0 + 18 * 3600, 5, -1)};
  assert_int_equal(lp_rfm_add(h, t, 2), LP_OK);
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + DAY;
  o.bins = 2;
  lp_rfm_row rows[2];
  size_t n;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 2, &n), LP_OK);
  assert_int_equal(rows[0].r, 2);
  assert_int_equal(rows[1].r, 1);
  assert_int_equal(rows[1].recency, 6 * 3600);
  o.recency_unit = 1;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 2, &n), LP_OK);
  assert_int_equal(rows[0].r, 1);
  assert_int_equal(rows[1].r, 2);
  o.recency_unit = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 2, &n), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "recency_unit"));
  lp_rfm_free(h);
}

static void score_rejects_bad_arguments(void **state) {
  (void)state;
  lp_rfm *h = seven_profiles();
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 10 * DAY;
  lp_rfm_row rows[7];
  size_t n = 0;
  assert_int_equal(lp_rfm_score(NULL, &o, NULL, rows, 7, &n), LP_EINVAL);
  assert_int_equal(lp_rfm_score(h, NULL, NULL, rows, 7, &n), LP_EINVAL);
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_score(h, &o, NULL, NULL, 7, &n), LP_EINVAL);
  /* The buffer contract: too small is LP_EBUFSIZE with the size needed
   * and nothing written; NULL with capacity 0 asks for the size. */
  lp_rfm_row sentinel[7];
  memset(sentinel, 0xA5, sizeof sentinel);
  memcpy(rows, sentinel, sizeof rows);
  n = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 6, &n), LP_EBUFSIZE);
  assert_int_equal(n, 7);
  assert_memory_equal(rows, sentinel, sizeof rows);
  assert_non_null(strstr(lp_rfm_errmsg(h), "7 rows needed"));
  n = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 7);
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 0, &n), LP_EBUFSIZE);
  assert_int_equal(n, 7);
  assert_memory_equal(rows, sentinel, sizeof rows);
  assert_int_equal(lp_rfm_score(h, &o, NULL, NULL, 7, &n), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "rows: NULL"));
  n = 99;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 8, &n), LP_OK);
  assert_int_equal(n, 7);
  o.bins = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  o.bins = LP_RFM_MAX_BINS + 1;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  o.bins = 5;
  o.binning = 9;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  o.binning = LP_RFM_BIN_QUANTILE;
  o.struct_size = 8;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_EINVAL);
  o.struct_size = sizeof o;
  /* A purchase after as_of: a clear error naming the profile. */
  o.as_of = T0 + 8 * DAY;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_ERANGE);
  assert_non_null(strstr(lp_rfm_errmsg(h), "after as_of"));
  o.as_of = INT64_MAX;
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, 7, &n), LP_ERANGE);
  lp_rfm_free(h);
  /* Empty state: nothing to score. */
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  assert_int_equal(lp_rfm_add_profile(h, 5), LP_OK);
  o.as_of = T0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 0);
  lp_rfm_free(h);
}

/* The R x F grid as published with pandas (regular expressions on the
 * "RF" score string), transcribed independently of the library's table;
 * the published "cant_loose" is spelled "cant_lose" here (the library
 * keeps the old spelling as a lookup alias, tested below). */
static const char *const rf_grid_regex[10][2] = {
    {"[1-2][1-2]", "hibernating"},     {"[1-2][3-4]", "at_risk"},
    {"[1-2]5", "cant_lose"},           {"3[1-2]", "about_to_sleep"},
    {"33", "need_attention"},          {"[3-4][4-5]", "loyal_customers"},
    {"41", "promising"},               {"51", "new_customers"},
    {"[4-5][2-3]", "potential_loyalists"}, {"5[4-5]", "champions"},
};

/* Match a two-character score string against one of the patterns above
 * (each position is a digit or a [a-b] class). */
static bool grid_match(const char *re, int r, int f) {
  int want[2] = {r, f};
  for (int pos = 0; pos < 2; pos++) {
    int lo, hi;
    if (*re == '[') {
      lo = re[1] - '0';
      hi = re[3] - '0';
      re += 5;
    } else {
      lo = hi = *re - '0';
      re++;
    }
    if (want[pos] < lo || want[pos] > hi) return false;
  }
  return *re == '\0';
}

static void rf10_covers_every_cell_once(void **state) {
  (void)state;
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map), LP_OK);
  assert_int_equal(lp_rfm_segmap_count(map), 10);
  for (int r = 1; r <= 5; r++) {
    for (int f = 1; f <= 5; f++) {
      int hits = 0;
      const char *expect = NULL;
      for (int i = 0; i < 10; i++) {
        if (grid_match(rf_grid_regex[i][0], r, f)) {
          hits++;
          expect = rf_grid_regex[i][1];
        }
      }
      assert_int_equal(hits, 1);
      for (uint32_t m = 1; m <= 5; m++) {
        uint32_t s = lp_rfm_segmap_match(map, (uint32_t)r, (uint32_t)f, m);
        assert_true(s != LP_RFM_SEGMENT_OTHERS);
        assert_string_equal(lp_rfm_segmap_name(map, s), expect);
      }
    }
  }
  lp_rfm_segmap_free(map);
}

static void rfm11_uses_first_match_and_others(void **state) {
  (void)state;
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RFM11, &map), LP_OK);
  assert_int_equal(lp_rfm_segmap_count(map), 11);
  /* Worked against the published table (rule order matters):
   * 555 Champions (rule 1); 355 Loyal Customers (r 2-5, f 3-5, m 3-5);
   * 333: Loyal Customers comes before Potential Loyalist and Need Attention;
   * 311 Potential Loyalist (before Promising); 411 Potential Loyalist too;
   * 223 Need Attention; 212 About To Sleep; 155 Loyal Customers? no: r=1 is
   * below 2 -> At Risk (r 1-2, f 2-5, m 2-5) comes before Can't Lose Them;
   * 111 Hibernating (Lost has the same ranges and is never reached);
   * 315: no rule (Potential Loyalist needs m <= 3, Promising m = 1) -> others. */
  struct { uint32_t r, f, m; const char *name; } cases[] = {
      {5, 5, 5, "Champions"},          {3, 5, 5, "Loyal Customers"},
      {3, 3, 3, "Loyal Customers"},    {3, 1, 1, "Potential Loyalist"},
      {4, 1, 1, "Potential Loyalist"}, {2, 2, 3, "Need Attention"},
      {2, 1, 2, "About To Sleep"},     {1, 5, 5, "At Risk"},
      {1, 1, 1, "Hibernating"},        {3, 1, 5, "others"},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(cases); i++) {
    uint32_t s = lp_rfm_segmap_match(map, cases[i].r, cases[i].f, cases[i].m);
    assert_string_equal(lp_rfm_segmap_name(map, s), cases[i].name);
  }
  /* "Lost" exists but no score reaches it; first match also shadows
   * "New Customers" (3), "Promising" (4) and "Can't Lose Them" (8), whose
   * cells all lie inside earlier rules (see docs/rfm.md). */
  assert_string_equal(lp_rfm_segmap_name(map, 10), "Lost");
  for (uint32_t r = 1; r <= 5; r++)
    for (uint32_t f = 1; f <= 5; f++)
      for (uint32_t m = 1; m <= 5; m++) {
        uint32_t s = lp_rfm_segmap_match(map, r, f, m);
        assert_true(s != 10 && s != 3 && s != 4 && s != 8);
      }
  assert_null(lp_rfm_segmap_name(map, 11));
  assert_null(lp_rfm_segmap_name(NULL, 0));
  assert_int_equal(lp_rfm_segmap_match(NULL, 1, 1, 1), LP_RFM_SEGMENT_OTHERS);
  lp_rfm_segmap_free(map);
}

static void custom_maps_validate_rules(void **state) {
  (void)state;
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_create(NULL, &map), LP_OK);
  lp_rfm_rule rule = LP_RFM_RULE_INIT;
  rule.name = "top";
  rule.r_min = 3;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  rule.name = "rest";
  rule.r_min = 1;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  assert_int_equal(lp_rfm_segmap_match(map, 3, 1, 1), 0);
  assert_int_equal(lp_rfm_segmap_match(map, 2, 1, 1), 1);
  rule.r_min = 0;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "R range"));
  rule.r_min = 4;
  rule.r_max = 3;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "R range 4..3"));
  rule.r_max = LP_RFM_MAX_BINS + 1;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "<= 100"));
  rule.r_max = 5;
  rule.m_min = 0;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "M range 0.."));
  rule.m_min = 1;
  rule.name = "";
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "1..63 bytes"));
  rule.name = NULL;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "rule->name"));
  char longname[LP_RFM_MAX_NAME + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  rule.name = longname;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "LP_RFM_MAX_NAME"));
  longname[LP_RFM_MAX_NAME] = '\0';
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  rule.struct_size = 4;
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "struct_size 4"));
  assert_int_equal(lp_rfm_segmap_add(map, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "rule: NULL"));
  assert_int_equal(lp_rfm_segmap_add(NULL, &rule), LP_EINVAL);
  rule.struct_size = sizeof rule;
  rule.name = "filler";
  while (lp_rfm_segmap_count(map) < LP_RFM_MAX_RULES)
    assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_ELIMIT);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "at most 256 rules"));
  assert_int_equal(lp_rfm_segmap_count(map), LP_RFM_MAX_RULES);
  assert_int_equal(lp_rfm_segmap_count(NULL), 0);
  assert_string_equal(lp_rfm_segmap_errmsg(NULL), "invalid handle: NULL");
  assert_int_equal(lp_rfm_segmap_create(NULL, NULL), LP_EINVAL);
  lp_rfm_segmap_free(map);
  assert_int_equal(lp_rfm_segmap_builtin(NULL, 7u, &map), LP_EINVAL);
  assert_null(map);
  lp_rfm_segmap_free(NULL);
}

static void summary_totals_per_segment(void **state) {
  (void)state;
  /* Seven profiles scored with RF10 (R, F from quantile_scores above):
   * id:  1    2    3    4    5    6    7
   * RF:  11   21   12   33   44   55   55
   * seg: hib  hib  hib  need loyal champ champ
   * revenue: hibernating 10+20+20 = 50, need_attention 30, loyal 40,
   * champions 100; total 220 -> shares 50/220, 30/220, 40/220, 100/220. */
  lp_rfm *h = seven_profiles();
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map), LP_OK);
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 10 * DAY;
  lp_rfm_row rows[7];
  size_t n;
  assert_int_equal(lp_rfm_score(h, &o, map, rows, 7, &n), LP_OK);
  lp_rfm_segment_summary s[11];
  size_t needed = 0;
  assert_int_equal(lp_rfm_summarize(map, rows, n, NULL, 0, &needed), LP_OK);
  assert_int_equal(needed, 11);
  assert_int_equal(lp_rfm_summarize(map, rows, n, s, 11, &needed), LP_OK);
  assert_int_equal(s[0].customers, 3);
  assert_int_equal(s[0].revenue, 50);
  /* The expected values are assigned to doubles first: with
   * FLT_EVAL_METHOD 2 (x87) a quotient in the comparison itself keeps
   * excess precision, while the library's value was stored as a double. */
  const double share = 50.0 / 220.0;
  /* recency 6, 5, 5 days: mean 16/3 days */
  const double recency = (double)(16 * DAY) / 3.0;
  const double monetary = 50.0 / 3.0;
  assert_true(s[0].revenue_share == share);
  assert_true(s[0].mean_recency == recency);
  assert_true(s[0].mean_monetary == monetary);
  assert_true(s[0].mean_frequency == 1.0);
  assert_int_equal(s[4].customers, 1);
  assert_int_equal(s[4].revenue, 30);
  assert_int_equal(s[5].revenue, 40);
  assert_int_equal(s[9].customers, 2);
  assert_int_equal(s[9].revenue, 100);
  assert_int_equal(s[10].customers, 0);
  assert_true(s[10].mean_monetary == 0.0);
  /* Too small: LP_EBUFSIZE, nothing written. */
  lp_rfm_segment_summary before[11];
  memcpy(before, s, sizeof s);
  needed = 0;
  assert_int_equal(lp_rfm_summarize(map, rows, n, s, 10, &needed), LP_EBUFSIZE);
  assert_int_equal(needed, 11);
  assert_memory_equal(s, before, sizeof s);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "11 entries needed"));
  assert_int_equal(lp_rfm_summarize(map, NULL, 1, s, 11, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "rows: NULL"));
  assert_int_equal(lp_rfm_summarize(map, rows, n, NULL, 11, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "out: NULL"));
  assert_int_equal(lp_rfm_summarize(map, rows, n, s, 11, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "needed: NULL"));
  assert_int_equal(lp_rfm_summarize(NULL, rows, n, s, 11, &needed), LP_EINVAL);
  /* A row whose segment the map does not have. */
  lp_rfm_segmap *small;
  assert_int_equal(lp_rfm_segmap_create(NULL, &small), LP_OK);
  assert_int_equal(lp_rfm_summarize(small, rows, n, s, 11, &needed), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(small), "rows[0]: segment"));
  assert_memory_equal(s, before, sizeof s);
  lp_rfm_segmap_free(small);
  rows[0].monetary = INT64_MAX;
  assert_int_equal(lp_rfm_summarize(map, rows, n, s, 11, &needed), LP_ERANGE);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "overflows"));
  assert_memory_equal(s, before, sizeof s);
  lp_rfm_segmap_free(map);
  lp_rfm_free(h);
}

static uint32_t stage_at(lp_rfm *h, uint64_t id, int64_t as_of) {
  uint32_t s = LP_RFM_STAGE_NONE;
  assert_int_equal(lp_rfm_stage_of(h, id, as_of, &s), LP_OK);
  return s;
}

static void lifecycle_bands(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  /* One-time buyer (id 1) at T0: bands 60 / 180 / 240 days. */
  lp_rfm_txn t = txn(1, T0, 100, -1);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  assert_int_equal(stage_at(h, 1, T0), LP_RFM_STAGE_NEW);
  assert_int_equal(stage_at(h, 1, T0 + 60 * DAY), LP_RFM_STAGE_NEW);
  assert_int_equal(stage_at(h, 1, T0 + 60 * DAY + 1), LP_RFM_STAGE_AT_RISK);
  assert_int_equal(stage_at(h, 1, T0 + 180 * DAY), LP_RFM_STAGE_AT_RISK);
  assert_int_equal(stage_at(h, 1, T0 + 180 * DAY + 1), LP_RFM_STAGE_DORMANT);
  assert_int_equal(stage_at(h, 1, T0 + 240 * DAY), LP_RFM_STAGE_DORMANT);
  assert_int_equal(stage_at(h, 1, T0 + 240 * DAY + 1), LP_RFM_STAGE_CHURNED);
  /* Repeat buyer (id 2) on days 0, 10, 20: mean gap (20 days) / 2 = 10
   * days; bands 200/400/600 % -> 20, 40, 60 days after the last purchase. */
  lp_rfm_txn r[3] = {txn(2, T0, 1, -1), txn(2, T0 + 10 * DAY, 1, -1), txn(2, T0 + 20 * DAY, 1, -1)};
  assert_int_equal(lp_rfm_add(h, r, 3), LP_OK);
  assert_int_equal(stage_at(h, 2, T0 + 40 * DAY), LP_RFM_STAGE_ACTIVE);
  assert_int_equal(stage_at(h, 2, T0 + 40 * DAY + 1), LP_RFM_STAGE_AT_RISK);
  assert_int_equal(stage_at(h, 2, T0 + 60 * DAY + 1), LP_RFM_STAGE_DORMANT);
  assert_int_equal(stage_at(h, 2, T0 + 80 * DAY + 1), LP_RFM_STAGE_CHURNED);
  /* Reactivated (id 3): days 0 and 10, then day 100. Before day 100 the
   * gap was 10 days, so at-risk ended at 40 days: the 90-day lapse was
   * dormant. Now the mean gap is 50 days: active up to 100 days. */
  lp_rfm_txn q[3] = {txn(3, T0, 1, -1), txn(3, T0 + 10 * DAY, 1, -1), txn(3, T0 + 100 * DAY, 1, -1)};
  assert_int_equal(lp_rfm_add(h, q, 3), LP_OK);
  assert_int_equal(stage_at(h, 3, T0 + 100 * DAY), LP_RFM_STAGE_REACTIVATED);
  assert_int_equal(stage_at(h, 3, T0 + 200 * DAY), LP_RFM_STAGE_REACTIVATED);
  assert_int_equal(stage_at(h, 3, T0 + 200 * DAY + 1), LP_RFM_STAGE_AT_RISK);
  /* A 30-day lapse after a 10-day rhythm stays "active" (within 40 days). */
  lp_rfm_txn a[3] = {txn(4, T0, 1, -1), txn(4, T0 + 10 * DAY, 1, -1), txn(4, T0 + 40 * DAY, 1, -1)};
  assert_int_equal(lp_rfm_add(h, a, 3), LP_OK);
  assert_int_equal(stage_at(h, 4, T0 + 40 * DAY), LP_RFM_STAGE_ACTIVE);
  /* A one-time buyer who returns after 200 days (dormant) is reactivated. */
  lp_rfm_txn b[2] = {txn(5, T0, 1, -1), txn(5, T0 + 200 * DAY, 1, -1)};
  assert_int_equal(lp_rfm_add(h, b, 2), LP_OK);
  assert_int_equal(stage_at(h, 5, T0 + 200 * DAY), LP_RFM_STAGE_REACTIVATED);
  /* Prospect. */
  assert_int_equal(lp_rfm_add_profile(h, 6), LP_OK);
  assert_int_equal(stage_at(h, 6, T0), LP_RFM_STAGE_PROSPECT);
  uint32_t s;
  assert_int_equal(lp_rfm_stage_of(h, 99, T0, &s), LP_ENOTFOUND);
  assert_int_equal(lp_rfm_stage_of(h, 5, T0, &s), LP_ERANGE);
  assert_int_equal(lp_rfm_stage_of(h, 5, T0 + 300 * DAY, NULL), LP_EINVAL);
  /* Configured bands: one-time "new" up to 30 days. */
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, 30 * DAY), LP_OK);
  assert_int_equal(stage_at(h, 1, T0 + 31 * DAY), LP_RFM_STAGE_AT_RISK);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_REPEAT_ACTIVE_PERCENT, 100), LP_OK);
  assert_int_equal(stage_at(h, 2, T0 + 30 * DAY + 1), LP_RFM_STAGE_AT_RISK);
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_AT_RISK), "at_risk");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_REACTIVATED), "reactivated");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_PROSPECT), "prospect");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_NONE), "none");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_NEW), "new");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_ACTIVE), "active");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_DORMANT), "dormant");
  assert_string_equal(lp_rfm_stage_name(LP_RFM_STAGE_CHURNED), "churned");
  assert_string_equal(lp_rfm_stage_name(42), "unknown");
  lp_rfm_free(h);
}

static void options_are_validated(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  int64_t v = 0;
  assert_int_equal(lp_rfm_get_int(h, LP_RFM_PERIOD_SECONDS, &v), LP_OK);
  assert_int_equal(v, DAY);
  assert_int_equal(lp_rfm_get_int(h, LP_RFM_ONE_TIME_AT_RISK_SECONDS, &v), LP_OK);
  assert_int_equal(v, 180 * DAY);
  assert_int_equal(lp_rfm_get_int(h, LP_RFM_REPEAT_DORMANT_PERCENT, &v), LP_OK);
  assert_int_equal(v, 600);
  assert_int_equal(lp_rfm_get_int(h, 99u, &v), LP_EINVAL);
  assert_int_equal(lp_rfm_get_int(NULL, LP_RFM_PERIOD_SECONDS, &v), LP_EINVAL);
  assert_int_equal(lp_rfm_get_int(h, LP_RFM_PERIOD_SECONDS, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_set_int(h, 99u, 1), LP_EINVAL);
  assert_int_equal(lp_rfm_set_int(NULL, LP_RFM_PERIOD_SECONDS, 1), LP_EINVAL);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_PERIOD_SECONDS, 0), LP_ERANGE);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, 200 * DAY), LP_ERANGE);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, -1), LP_ERANGE);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_REPEAT_AT_RISK_PERCENT, 700), LP_ERANGE);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_REPEAT_ACTIVE_PERCENT, 0), LP_ERANGE);
  assert_int_equal(lp_rfm_get_int(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, &v), LP_OK);
  assert_int_equal(v, 60 * DAY); /* unchanged by the failed calls */
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_ONE_TIME_DORMANT_SECONDS, 365 * DAY), LP_OK);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_REPEAT_DORMANT_PERCENT, 800), LP_OK);
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_PERIOD_SECONDS, 3600), LP_OK);
  assert_string_equal(lp_rfm_errmsg(NULL), "invalid handle: NULL");
  lp_rfm_free(h);
  lp_rfm_free(NULL);
}

typedef struct seen_changes {
  size_t n;
  uint64_t id[8];
  uint32_t from[8], to[8];
} seen_changes;

static void record_change(void *ud, uint64_t id, uint32_t from, uint32_t to) {
  seen_changes *s = ud;
  assert_true(s->n < 8);
  s->id[s->n] = id;
  s->from[s->n] = from;
  s->to[s->n] = to;
  s->n++;
}

static void transitions_are_reported_in_id_order(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn t[2] = {txn(20, T0, 100, -1), txn(10, T0, 100, -1)};
  assert_int_equal(lp_rfm_add(h, t, 2), LP_OK);
  assert_int_equal(lp_rfm_add_profile(h, 15), LP_OK);
  seen_changes s = {0};
  size_t changed = 99;
  assert_int_equal(lp_rfm_update_stages(h, T0 + DAY, record_change, &s, &changed), LP_OK);
  assert_int_equal(changed, 3);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.id[0], 10);
  assert_int_equal(s.id[1], 15);
  assert_int_equal(s.id[2], 20);
  assert_int_equal(s.from[0], LP_RFM_STAGE_NONE);
  assert_int_equal(s.to[0], LP_RFM_STAGE_NEW);
  assert_int_equal(s.to[1], LP_RFM_STAGE_PROSPECT);
  /* Nothing moves in 10 more days. */
  memset(&s, 0, sizeof s);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 11 * DAY, record_change, &s, &changed), LP_OK);
  assert_int_equal(changed, 0);
  /* Day 61: both one-time buyers become at risk. */
  assert_int_equal(lp_rfm_update_stages(h, T0 + 61 * DAY, record_change, &s, &changed), LP_OK);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.from[0], LP_RFM_STAGE_NEW);
  assert_int_equal(s.to[0], LP_RFM_STAGE_AT_RISK);
  /* Day 200: dormant; then profile 10 buys again: reactivated; 15 buys: new. */
  memset(&s, 0, sizeof s);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 200 * DAY, NULL, NULL, &changed), LP_OK);
  assert_int_equal(changed, 2);
  lp_rfm_txn back[2] = {txn(10, T0 + 201 * DAY, 50, -1), txn(15, T0 + 201 * DAY, 50, -1)};
  assert_int_equal(lp_rfm_add(h, back, 2), LP_OK);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 202 * DAY, record_change, &s, NULL), LP_OK);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.id[0], 10);
  assert_int_equal(s.from[0], LP_RFM_STAGE_DORMANT);
  assert_int_equal(s.to[0], LP_RFM_STAGE_REACTIVATED);
  assert_int_equal(s.id[1], 15);
  assert_int_equal(s.from[1], LP_RFM_STAGE_PROSPECT);
  assert_int_equal(s.to[1], LP_RFM_STAGE_NEW);
  /* as_of may not go back, nor be before a transaction. */
  assert_int_equal(lp_rfm_update_stages(h, T0, NULL, NULL, NULL), LP_ERANGE);
  lp_rfm_txn late = txn(10, T0 + 400 * DAY, 1, -1);
  assert_int_equal(lp_rfm_add(h, &late, 1), LP_OK);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 300 * DAY, NULL, NULL, NULL), LP_ERANGE);
  assert_int_equal(lp_rfm_update_stages(h, INT64_MAX, NULL, NULL, NULL), LP_ERANGE);
  assert_int_equal(lp_rfm_update_stages(NULL, T0, NULL, NULL, NULL), LP_EINVAL);
  lp_rfm_free(h);
}

static void add_rejects_bad_input_atomically(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn t[3] = {txn(1, T0, INT64_MAX - 5, -1), txn(2, T0, 5, -1), txn(3, T0, 1, -1)};
  assert_int_equal(lp_rfm_add(h, t, 2), LP_OK);
  lp_membuf *before = state_bytes(h);
  /* The third would take the total turnover past INT64_MAX: nothing of
   * this batch is applied. */
  lp_rfm_txn batch[2] = {txn(9, T0, 0, -1), txn(3, T0, 1, -1)};
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_ERANGE);
  assert_non_null(strstr(lp_rfm_errmsg(h), "txns[1]"));
  batch[1] = txn(3, T0, INT64_MIN, -1);
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_ERANGE);
  batch[1] = txn(3, INT64_MAX, 0, -1);
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_ERANGE);
  /* The timestamp limit is +-(2^62 - 1) = 4611686018427387903. */
  batch[1] = txn(3, INT64_C(4611686018427387904), 0, -1);
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_ERANGE);
  batch[1] = txn(3, -INT64_C(4611686018427387904), 0, -1);
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_ERANGE);
  batch[1] = txn(3, T0, 0, -1);
  batch[1].flags = 8;
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_EINVAL);
  batch[1].flags = 0;
  batch[1].struct_size = 3;
  assert_int_equal(lp_rfm_add(h, batch, 2), LP_EINVAL);
  assert_int_equal(lp_rfm_add(h, NULL, 2), LP_EINVAL);
  assert_int_equal(lp_rfm_add(NULL, batch, 1), LP_EINVAL);
  assert_int_equal(lp_rfm_add(h, NULL, 0), LP_OK);
  lp_membuf *after = state_bytes(h);
  assert_int_equal(lp_membuf_size(before), lp_membuf_size(after));
  assert_memory_equal(lp_membuf_data(before), lp_membuf_data(after), lp_membuf_size(after));
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 9, &p), LP_ENOTFOUND);
  lp_rfm_txn edge[2] = {txn(20, INT64_C(4611686018427387903), 0, -1),
                        txn(21, -INT64_C(4611686018427387903), 0, -1)};
  assert_int_equal(lp_rfm_add(h, edge, 2), LP_OK);
  assert_int_equal(lp_rfm_get(h, 1, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_get(NULL, 1, &p), LP_EINVAL);
  p.struct_size = 1;
  assert_int_equal(lp_rfm_get(h, 1, &p), LP_EINVAL);
  assert_int_equal(lp_rfm_add_profile(NULL, 1), LP_EINVAL);
  assert_int_equal(lp_rfm_count(NULL), 0);
  assert_int_equal(lp_rfm_create(NULL, NULL), LP_EINVAL);
  lp_rfm_free(h);
}

/* lp_rfm_profiles: every profile, prospects included, in ascending id
 * whatever the insertion order; the buffer contract of API 1.0. */
static void profiles_lists_ids_ascending(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  size_t n = 99;
  uint64_t ids[8] = {0};
  assert_int_equal(lp_rfm_profiles(h, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 0);
  lp_rfm_txn t[3] = {txn(UINT64_MAX, T0, 100, -1), txn(40, T0, 5, -1), txn(7, T0 + DAY, 1, -1)};
  assert_int_equal(lp_rfm_add(h, t, 3), LP_OK);
  assert_int_equal(lp_rfm_add_profile(h, 0), LP_OK);  /* a prospect */
  assert_int_equal(lp_rfm_add_profile(h, 12), LP_OK);
  /* size query */
  n = 0;
  assert_int_equal(lp_rfm_profiles(h, NULL, 0, &n), LP_OK);
  assert_int_equal(n, 5);
  /* too small: nothing written, needed set */
  n = 0;
  assert_int_equal(lp_rfm_profiles(h, ids, 4, &n), LP_EBUFSIZE);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < 8; i++) assert_true(ids[i] == 0);
  assert_non_null(strstr(lp_rfm_errmsg(h), "capacity 4"));
  /* success */
  n = 0;
  assert_int_equal(lp_rfm_profiles(h, ids, 8, &n), LP_OK);
  assert_int_equal(n, 5);
  static const uint64_t want[5] = {0, 7, 12, 40, UINT64_MAX};
  for (size_t i = 0; i < 5; i++) assert_true(ids[i] == want[i]);
  assert_true(ids[5] == 0);
  /* EINVAL */
  assert_int_equal(lp_rfm_profiles(NULL, ids, 8, &n), LP_EINVAL);
  assert_int_equal(lp_rfm_profiles(h, ids, 8, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_profiles(h, NULL, 3, &n), LP_EINVAL);
  /* a merge of profiles removes one from the list */
  assert_int_equal(lp_rfm_merge_profiles(h, 7, 40), LP_OK);
  assert_int_equal(lp_rfm_profiles(h, ids, 8, &n), LP_OK);
  assert_int_equal(n, 4);
  assert_true(ids[0] == 0 && ids[1] == 7 && ids[2] == 12 && ids[3] == UINT64_MAX);
  lp_rfm_free(h);
}

/* Shard merges: any split of a shuffled stream into any number of shards,
 * merged in any order, equals ingesting the stream into one state. */
static void shard_merge_equals_single_state(void **state) {
  (void)state;
  enum { N = 3000 };
  static lp_rfm_txn t[N];
  for (uint64_t round = 0; round < 12; round++) {
    random_txns(t, N, 40 + round * 13, round);
    lp_rfm *whole;
    assert_int_equal(lp_rfm_create(NULL, &whole), LP_OK);
    assert_int_equal(lp_rfm_add(whole, t, N), LP_OK);
    shuffle_txns(t, N, round + 100);
    size_t shards = 2 + (size_t)(round % 4);
    lp_rfm *part[5];
    for (size_t s = 0; s < shards; s++) assert_int_equal(lp_rfm_create(NULL, &part[s]), LP_OK);
    lp_rng r;
    lp_rng_seed(&r, round + 7);
    for (size_t i = 0; i < N; i++)
      assert_int_equal(lp_rfm_add(part[lp_rng_below(&r, shards)], &t[i], 1), LP_OK);
    lp_rfm *merged;
    assert_int_equal(lp_rfm_create(NULL, &merged), LP_OK);
    for (size_t s = shards; s-- > 0;) assert_int_equal(lp_rfm_merge(merged, part[s]), LP_OK);
    assert_same_state(whole, merged);
    /* Merging into a non-empty shard works the same. */
    for (size_t s = 1; s < shards; s++) assert_int_equal(lp_rfm_merge(part[0], part[s]), LP_OK);
    assert_same_state(whole, part[0]);
    for (size_t s = 0; s < shards; s++) lp_rfm_free(part[s]);
    lp_rfm_free(merged);
    lp_rfm_free(whole);
  }
}

/* Identity merges: the transactions of B merged into A equal the same
 * transactions ingested under A from the start. */
static void identity_merge_equals_reingestion(void **state) {
  (void)state;
  enum { N = 2000 };
  static lp_rfm_txn t[N];
  for (uint64_t round = 0; round < 10; round++) {
    random_txns(t, N, 30, round + 50);
    lp_rfm *h, *ref;
    assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
    assert_int_equal(lp_rfm_create(NULL, &ref), LP_OK);
    assert_int_equal(lp_rfm_add(h, t, N), LP_OK);
    /* Merge 1001 -> 1000, 1002 -> 1000, then 1003 -> 1100 (absent). */
    assert_int_equal(lp_rfm_merge_profiles(h, 1000, 1001), LP_OK);
    assert_int_equal(lp_rfm_merge_profiles(h, 1000, 1002), LP_OK);
    assert_int_equal(lp_rfm_merge_profiles(h, 1100, 1003), LP_OK);
    for (size_t i = 0; i < N; i++) {
      if (t[i].profile_id == 1001 || t[i].profile_id == 1002) t[i].profile_id = 1000;
      if (t[i].profile_id == 1003) t[i].profile_id = 1100;
    }
    shuffle_txns(t, N, round);
    assert_int_equal(lp_rfm_add(ref, t, N), LP_OK);
    assert_same_state(h, ref);
    lp_rfm_free(h);
    lp_rfm_free(ref);
  }
}

static void merges_reject_bad_arguments(void **state) {
  (void)state;
  lp_rfm *a, *b;
  assert_int_equal(lp_rfm_create(NULL, &a), LP_OK);
  assert_int_equal(lp_rfm_create(NULL, &b), LP_OK);
  lp_rfm_txn t = txn(1, T0, INT64_MAX, -1);
  assert_int_equal(lp_rfm_add(a, &t, 1), LP_OK);
  assert_int_equal(lp_rfm_add(b, &t, 1), LP_OK);
  assert_int_equal(lp_rfm_merge(a, b), LP_ERANGE);
  assert_int_equal(lp_rfm_merge(a, a), LP_EINVAL);
  assert_int_equal(lp_rfm_merge(a, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_merge(NULL, b), LP_EINVAL);
  lp_rfm *c;
  assert_int_equal(lp_rfm_create(NULL, &c), LP_OK);
  assert_int_equal(lp_rfm_set_int(c, LP_RFM_PERIOD_SECONDS, 3600), LP_OK);
  assert_int_equal(lp_rfm_merge(c, a), LP_ECONFLICT);
  assert_int_equal(lp_rfm_merge_profiles(a, 1, 1), LP_EINVAL);
  assert_int_equal(lp_rfm_merge_profiles(a, 1, 2), LP_ENOTFOUND);
  assert_int_equal(lp_rfm_merge_profiles(NULL, 1, 2), LP_EINVAL);
  lp_rfm_free(a);
  lp_rfm_free(b);
  lp_rfm_free(c);
}

/* The internal radix sort against the definition: ascending keys, equal
 * keys in input order. Keys from narrow and full 64-bit ranges; N is above
 * RFM_RADIX_MSD_MIN so that the wide rounds take the top-digit split. */
/* Lookups after a score go through the score's id order (a forward search
 * from the last hit): whatever order the host asks in, and after the state
 * changed under the hint, each answer is the profile's own. Profile k
 * (ids spread over 64 bits, as hashed ids are) has k % 3 + 1 orders of
 * 100 * (k + 1) on days 0, 1, 2; every fifth is a prospect (no orders). */
#define SEQ_N 3000
static uint64_t seq_id(size_t k) { return (uint64_t)(k + 1) * UINT64_C(0x9E3779B97F4A7C15); }

static void seq_expect(lp_rfm *h, size_t k, uint64_t extra_txns, int64_t extra_money) {
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  lp_rfm_clv c = LP_RFM_CLV_INIT;
  assert_int_equal(lp_rfm_get(h, seq_id(k), &p), LP_OK);
  assert_int_equal(p.profile_id, seq_id(k));
  uint64_t n = k % 5 == 0 ? 0 : k % 3 + 1;
  assert_int_equal(p.transactions, n + extra_txns);
  assert_int_equal(p.monetary, (int64_t)n * 100 * (int64_t)(k + 1) + extra_money);
  int rc = lp_rfm_clv_inputs(h, seq_id(k), T0 + 30 * DAY, &c);
  if (n + extra_txns == 0) {
    assert_int_equal(rc, LP_ENOTFOUND);
    return;
  }
  assert_int_equal(rc, LP_OK);
  assert_int_equal(c.frequency, (int64_t)p.periods - 1); /* the same record */
}

/* A state fed grouped by ascending profile (its records then lie in id
 * order, and scoring reads them as stored) scores, looks up and ranks
 * exactly as one fed the same lines profile-scattered; each profile's
 * lines keep their order. Spread ids and small crowded ids, with
 * prospects among them. */
static void scores_equal_in_any_ingestion_order(void **state) {
  (void)state;
  enum { N = 2000, LINES = 3 };
  for (int crowded = 0; crowded < 2; crowded++) {
    lp_rfm_txn *asc = malloc(N * LINES * sizeof *asc), *mix = malloc(N * LINES * sizeof *mix);
    size_t *order = malloc(N * sizeof *order), na = 0, nm = 0;
    /* profile k in ascending id order: k ascending (seq_id grows with k
     * until it wraps; sort a copy of the ids to be sure) */
    uint64_t *ids = malloc(N * sizeof *ids);
    for (size_t k = 0; k < N; k++) ids[k] = crowded ? (uint64_t)k + 1 : seq_id(k);
    for (size_t i = 0; i < N; i++) order[i] = i;
    for (size_t i = 1; i < N; i++)
      for (size_t j = i; j > 0 && ids[order[j - 1]] > ids[order[j]]; j--) {
        size_t x = order[j]; order[j] = order[j - 1]; order[j - 1] = x;
      }
    for (size_t i = 0; i < N; i++) {
      size_t k = order[i];
      if (k % 7 == 3) continue; /* a prospect */
      for (size_t d = 0; d < LINES; d++)
        asc[na++] = txn(ids[k], T0 + (int64_t)((k * 13 + d * 5) % 40) * DAY, (int64_t)(k % 97) * 10 - (d == 2 ? 50 : 0),
                        d == 1 ? -1 : (int64_t)(d % 2));
    }
    /* the same lines, line d of every profile in a scattered profile order */
    for (size_t d = 0; d < LINES; d++)
      for (size_t i = 0; i < na / LINES; i++) mix[nm++] = asc[((i * 769) % (na / LINES)) * LINES + d];
    lp_rfm *a, *b;
    assert_int_equal(lp_rfm_create(NULL, &a), LP_OK);
    assert_int_equal(lp_rfm_create(NULL, &b), LP_OK);
    for (size_t k = 0; k < N; k++)
      if (k % 7 == 3) {
        assert_int_equal(lp_rfm_add_profile(a, ids[k]), LP_OK);
        assert_int_equal(lp_rfm_add_profile(b, ids[k]), LP_OK);
      }
    assert_int_equal(lp_rfm_add(a, asc, na), LP_OK);
    assert_int_equal(lp_rfm_add(b, mix, nm), LP_OK);
    lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
    o.as_of = T0 + 60 * DAY;
    size_t n = 0, m = 0;
    assert_int_equal(lp_rfm_score(a, &o, NULL, NULL, 0, &n), LP_OK);
    assert_int_equal(lp_rfm_score(b, &o, NULL, NULL, 0, &m), LP_OK);
    assert_int_equal(n, na / LINES);
    assert_int_equal(m, n);
    lp_rfm_row *ra = calloc(n, sizeof *ra), *rb = calloc(n, sizeof *rb);
    assert_int_equal(lp_rfm_score(a, &o, NULL, ra, n, &n), LP_OK);
    assert_int_equal(lp_rfm_score(b, &o, NULL, rb, n, &m), LP_OK);
    for (size_t r = 0; r < n; r++) {
      if (r > 0) assert_true(ra[r - 1].profile_id < ra[r].profile_id);
      assert_int_equal(ra[r].profile_id, rb[r].profile_id);
      assert_int_equal(ra[r].recency, rb[r].recency);
      assert_int_equal(ra[r].frequency, rb[r].frequency);
      assert_int_equal(ra[r].monetary, rb[r].monetary);
      assert_int_equal(ra[r].r, rb[r].r);
      assert_int_equal(ra[r].f, rb[r].f);
      assert_int_equal(ra[r].m, rb[r].m);
      assert_int_equal(ra[r].segment, rb[r].segment);
      assert_int_equal(ra[r].stage, rb[r].stage);
      lp_rfm_profile pa = LP_RFM_PROFILE_INIT, pb = LP_RFM_PROFILE_INIT;
      assert_int_equal(lp_rfm_get(a, ra[r].profile_id, &pa), LP_OK);
      assert_int_equal(lp_rfm_get(b, ra[r].profile_id, &pb), LP_OK);
      assert_memory_equal(&pa, &pb, sizeof pa);
    }
    free(ra);
    free(rb);
    lp_rfm_free(a);
    lp_rfm_free(b);
    free(ids);
    free(order);
    free(asc);
    free(mix);
  }
}

static void lookups_after_scoring_in_any_order(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  for (size_t k = 0; k < SEQ_N; k++) {
    if (k % 5 == 0) {
      assert_int_equal(lp_rfm_add_profile(h, seq_id(k)), LP_OK);
      continue;
    }
    for (size_t d = 0; d <= k % 3; d++) {
      lp_rfm_txn t = txn(seq_id(k), T0 + (int64_t)d * DAY, 100 * (int64_t)(k + 1), (int64_t)d + 1);
      assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
    }
  }
  /* ascending ids: k by id */
  size_t *asc = malloc(SEQ_N * sizeof *asc);
  for (size_t k = 0; k < SEQ_N; k++) asc[k] = k;
  for (size_t i = 1; i < SEQ_N; i++) /* insertion sort by id */
    for (size_t j = i; j > 0 && seq_id(asc[j - 1]) > seq_id(asc[j]); j--) {
      size_t x = asc[j]; asc[j] = asc[j - 1]; asc[j - 1] = x;
    }
  /* stages before any score (the index only) */
  uint32_t *stage = calloc(SEQ_N, sizeof *stage);
  for (size_t k = 0; k < SEQ_N; k++)
    assert_int_equal(lp_rfm_stage_of(h, seq_id(k), T0 + 30 * DAY, &stage[k]), LP_OK);
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 30 * DAY;
  size_t n = 0;
  assert_int_equal(lp_rfm_score(h, &o, NULL, NULL, 0, &n), LP_OK);
  assert_int_equal(n, SEQ_N - SEQ_N / 5);
  lp_rfm_row *rows = calloc(n, sizeof *rows);
  assert_int_equal(lp_rfm_score(h, &o, NULL, rows, n, &n), LP_OK);
  for (size_t pass = 0; pass < 2; pass++) /* the second pass starts over */
    for (size_t i = 0; i < SEQ_N; i++) seq_expect(h, asc[i], 0, 0);
  for (size_t i = 0; i < SEQ_N; i += 7) seq_expect(h, asc[i], 0, 0); /* skipping */
  /* blocks walked twice (views, then stages): the second walk goes back */
  for (size_t b = 0; b < SEQ_N; b += 50) {
    for (size_t i = b; i < b + 50 && i < SEQ_N; i++) seq_expect(h, asc[i], 0, 0);
    for (size_t i = b; i < b + 50 && i < SEQ_N; i++) {
      uint32_t st = UINT32_MAX;
      assert_int_equal(lp_rfm_stage_of(h, seq_id(asc[i]), T0 + 30 * DAY, &st), LP_OK);
      assert_int_equal(st, stage[asc[i]]);
    }
  }
  for (size_t i = SEQ_N; i-- > 0;) seq_expect(h, asc[i], 0, 0);     /* descending */
  for (size_t i = 0; i < SEQ_N; i++) seq_expect(h, (i * 1237) % SEQ_N, 0, 0); /* scattered */
  /* ids between stored ones are not found */
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  for (size_t i = 0; i + 1 < SEQ_N; i += 11) {
    assert_int_equal(lp_rfm_get(h, seq_id(asc[i]) + 1, &p), LP_ENOTFOUND);
    seq_expect(h, asc[i + 1], 0, 0);
  }
  /* the state changes under the hint: a new profile, a day-20 order of
   * every tenth profile (the hint still names their records) */
  lp_rfm_txn t = txn(5, T0 + 20 * DAY, 1, 1);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  for (size_t k = 1; k < SEQ_N; k += 10) {
    t = txn(seq_id(k), T0 + 20 * DAY, 7, 99);
    assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  }
  for (size_t i = 0; i < SEQ_N; i++) {
    size_t k = asc[i];
    bool more = k % 10 == 1;
    seq_expect(h, k, more ? 1 : 0, more ? 7 : 0);
  }
  assert_int_equal(lp_rfm_get(h, 5, &p), LP_OK);
  assert_int_equal(p.monetary, 1);
  /* an identity merge removes a record and moves the last one into its
   * place: k = 2 (3 orders of 300) into k = 4 (2 orders of 500) */
  assert_int_equal(lp_rfm_merge_profiles(h, seq_id(4), seq_id(2)), LP_OK);
  for (size_t i = 0; i < SEQ_N; i++) {
    size_t k = asc[i];
    if (k == 2) {
      assert_int_equal(lp_rfm_get(h, seq_id(k), &p), LP_ENOTFOUND);
    } else if (k == 4) {
      assert_int_equal(lp_rfm_get(h, seq_id(k), &p), LP_OK);
      assert_int_equal(p.transactions, 5);
      assert_int_equal(p.monetary, 3 * 300 + 2 * 500);
    } else {
      seq_expect(h, k, k % 10 == 1 ? 1 : 0, k % 10 == 1 ? 7 : 0);
    }
  }
  assert_int_equal(lp_rfm_get(h, 5, &p), LP_OK);
  assert_int_equal(p.monetary, 1);
  assert_int_equal(rfm_check(h), LP_OK);
  free(rows);
  free(asc);
  free(stage);
  lp_rfm_free(h);
}

static void radix_sort_is_stable_and_ordered(void **state) {
  (void)state;
  enum { N = 40000 };
  assert_true(N >= RFM_RADIX_MSD_MIN);
  static uint64_t keys[N], tk[N], orig[N];
  static uint32_t idx[N], ti[N], counts[RFM_RADIX_PASSES * RFM_RADIX_SIZE];
  lp_rng r;
  lp_rng_seed(&r, 11);
  for (int round = 0; round < 6; round++) {
    uint64_t span = round == 0 ? 3 : round == 1 ? 5000 : round == 2 ? UINT64_C(1) << 40 : 0;
    for (size_t i = 0; i < N; i++) {
      uint64_t v = span ? lp_rng_below(&r, span) : lp_rng_next(&r);
      if (round == 4 && i % 2) v = UINT64_MAX - (v & 7); /* extremes */
      if (round == 5) v = UINT64_C(1) << 63;              /* all equal */
      keys[i] = orig[i] = v;
      idx[i] = (uint32_t)i;
    }
    rfm_radix_sort(keys, idx, tk, ti, counts, N);
    for (size_t i = 0; i < N; i++) {
      assert_int_equal(keys[i], orig[idx[i]]);
      if (i > 0) {
        assert_true(keys[i - 1] <= keys[i]);
        if (keys[i - 1] == keys[i]) assert_true(idx[i - 1] < idx[i]);
      }
    }
  }
}

/* ---- API 1.0 template: bounds, messages, re-entrancy, checker ---- */

static void option_bounds_follow_the_neighbours(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  int64_t lo = 0, hi = 0;
  /* Defaults: one-time 60/180/240 days, repeat 200/400/600 %. */
  struct { uint32_t key; int64_t lo, hi; } want[] = {
      {LP_RFM_PERIOD_SECONDS, 1, 1000000000},
      {LP_RFM_ONE_TIME_ACTIVE_SECONDS, 0, 180 * DAY - 1},
      {LP_RFM_ONE_TIME_AT_RISK_SECONDS, 60 * DAY + 1, 240 * DAY - 1},
      {LP_RFM_ONE_TIME_DORMANT_SECONDS, 180 * DAY + 1, INT64_MAX},
      {LP_RFM_REPEAT_ACTIVE_PERCENT, 1, 399},
      {LP_RFM_REPEAT_AT_RISK_PERCENT, 201, 599},
      {LP_RFM_REPEAT_DORMANT_PERCENT, 401, 1000000},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(want); i++) {
    assert_int_equal(lp_rfm_int_bounds(h, want[i].key, &lo, &hi), LP_OK);
    assert_int_equal(lo, want[i].lo);
    assert_int_equal(hi, want[i].hi);
    int64_t v;
    assert_int_equal(lp_rfm_get_int(h, want[i].key, &v), LP_OK);
    /* Both ends are accepted, one past either is LP_ERANGE naming the
     * bounds, and a refused value changes nothing. */
    if (want[i].lo > INT64_MIN) {
      assert_int_equal(lp_rfm_set_int(h, want[i].key, want[i].lo - 1), LP_ERANGE);
      char text[64];
      snprintf(text, sizeof text, "%lld..%lld", (long long)want[i].lo, (long long)want[i].hi);
      assert_non_null(strstr(lp_rfm_errmsg(h), text));
    }
    if (want[i].hi < INT64_MAX)
      assert_int_equal(lp_rfm_set_int(h, want[i].key, want[i].hi + 1), LP_ERANGE);
    int64_t after;
    assert_int_equal(lp_rfm_get_int(h, want[i].key, &after), LP_OK);
    assert_int_equal(after, v);
    assert_int_equal(lp_rfm_set_int(h, want[i].key, want[i].lo), LP_OK);
    assert_int_equal(lp_rfm_set_int(h, want[i].key, want[i].hi), LP_OK);
    assert_int_equal(lp_rfm_set_int(h, want[i].key, v), LP_OK);
  }
  /* Bounds move with the neighbours: at risk 100 days -> active < 100. */
  assert_int_equal(lp_rfm_set_int(h, LP_RFM_ONE_TIME_AT_RISK_SECONDS, 100 * DAY), LP_OK);
  assert_int_equal(lp_rfm_int_bounds(h, LP_RFM_ONE_TIME_ACTIVE_SECONDS, &lo, &hi), LP_OK);
  assert_int_equal(hi, 100 * DAY - 1);
  assert_int_equal(lp_rfm_int_bounds(h, 0u, &lo, &hi), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "unknown option 0"));
  assert_int_equal(lp_rfm_int_bounds(h, 8u, &lo, &hi), LP_EINVAL);
  assert_int_equal(lp_rfm_int_bounds(h, LP_RFM_PERIOD_SECONDS, NULL, &hi), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "min: NULL"));
  assert_int_equal(lp_rfm_int_bounds(h, LP_RFM_PERIOD_SECONDS, &lo, NULL), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_errmsg(h), "max: NULL"));
  assert_int_equal(lp_rfm_int_bounds(NULL, LP_RFM_PERIOD_SECONDS, &lo, &hi), LP_EINVAL);
  assert_int_equal(rfm_check(h), LP_OK);
  lp_rfm_free(h);
}

/* Leave a known message, so that a failing call is seen to replace it. */
#define STALE "key: unknown option 77"
static void stale(lp_rfm *h) {
  assert_int_equal(lp_rfm_set_int(h, 77u, 0), LP_EINVAL);
  assert_string_equal(lp_rfm_errmsg(h), STALE);
}

#define EXPECT_MSG(h, call, code, text)                  \
  do {                                                   \
    stale(h);                                            \
    assert_int_equal((call), (code));                    \
    assert_non_null(strstr(lp_rfm_errmsg(h), (text)));   \
  } while (0)

/* Every documented failure of every function on an lp_rfm leaves its own
 * message, const calls included (lp_rfm_get's LP_ENOTFOUND used to show
 * the previous call's message). */
static void every_failure_leaves_its_message(void **state) {
  (void)state;
  lp_rfm *h = seven_profiles(), *other;
  assert_int_equal(lp_rfm_add_profile(h, 50), LP_OK);
  assert_int_equal(lp_rfm_create(NULL, &other), LP_OK);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT, badp = LP_RFM_PROFILE_INIT;
  badp.struct_size = 3;
  lp_rfm_clv c = LP_RFM_CLV_INIT, badc = LP_RFM_CLV_INIT;
  badc.struct_size = 3;
  uint32_t st;
  int64_t v;
  const int64_t as_of = T0 + 10 * DAY;
  EXPECT_MSG(h, lp_rfm_get(h, 42, &p), LP_ENOTFOUND, "profile 42: no such profile");
  EXPECT_MSG(h, lp_rfm_get(h, 1, NULL), LP_EINVAL, "out: NULL");
  EXPECT_MSG(h, lp_rfm_get(h, 1, &badp), LP_EINVAL, "struct_size 3");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 42, as_of, &c), LP_ENOTFOUND, "profile 42");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 50, as_of, &c), LP_ENOTFOUND, "no transaction");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 1, T0, &c), LP_ERANGE, "after as_of");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 1, INT64_MAX, &c), LP_ERANGE, "LP_RFM_MAX_TIMESTAMP");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 1, as_of, NULL), LP_EINVAL, "out: NULL");
  EXPECT_MSG(h, lp_rfm_clv_inputs(h, 1, as_of, &badc), LP_EINVAL, "struct_size 3");
  EXPECT_MSG(h, lp_rfm_stage_of(h, 42, as_of, &st), LP_ENOTFOUND, "profile 42");
  EXPECT_MSG(h, lp_rfm_stage_of(h, 1, T0, &st), LP_ERANGE, "after as_of");
  EXPECT_MSG(h, lp_rfm_stage_of(h, 1, as_of, NULL), LP_EINVAL, "stage: NULL");
  EXPECT_MSG(h, lp_rfm_get_int(h, 99u, &v), LP_EINVAL, "unknown option 99");
  EXPECT_MSG(h, lp_rfm_get_int(h, LP_RFM_PERIOD_SECONDS, NULL), LP_EINVAL, "value: NULL");
  EXPECT_MSG(h, lp_rfm_set_int(h, LP_RFM_PERIOD_SECONDS, 0), LP_ERANGE, "1..1000000000");
  EXPECT_MSG(h, lp_rfm_set_int(h, LP_RFM_PERIOD_SECONDS, 60), LP_EMISUSE, "no profile");
  lp_rfm_txn t = txn(1, T0, 1, -1);
  EXPECT_MSG(h, lp_rfm_add(h, NULL, 1), LP_EINVAL, "txns: NULL");
  t.flags = 4;
  EXPECT_MSG(h, lp_rfm_add(h, &t, 1), LP_EINVAL, "txns[0]: unknown flags");
  EXPECT_MSG(h, lp_rfm_merge_profiles(h, 1, 1), LP_EINVAL, "both 1");
  EXPECT_MSG(h, lp_rfm_merge_profiles(h, 1, 42), LP_ENOTFOUND, "from_id 42");
  EXPECT_MSG(h, lp_rfm_merge(h, NULL), LP_EINVAL, "src: NULL");
  EXPECT_MSG(h, lp_rfm_merge(h, h), LP_EINVAL, "same state");
  assert_int_equal(lp_rfm_set_int(other, LP_RFM_PERIOD_SECONDS, 3600), LP_OK);
  EXPECT_MSG(h, lp_rfm_merge(h, other), LP_ECONFLICT, "period lengths differ");
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = as_of;
  size_t n;
  EXPECT_MSG(h, lp_rfm_score(h, NULL, NULL, NULL, 0, &n), LP_EINVAL, "opts: NULL");
  EXPECT_MSG(h, lp_rfm_score(h, &o, NULL, NULL, 0, NULL), LP_EINVAL, "needed: NULL");
  o.as_of = T0;
  EXPECT_MSG(h, lp_rfm_score(h, &o, NULL, NULL, 0, &n), LP_ERANGE, "after as_of");
  EXPECT_MSG(h, lp_rfm_update_stages(h, T0, NULL, NULL, NULL), LP_ERANGE, "after as_of");
  EXPECT_MSG(h, lp_rfm_update_stages(h, INT64_MIN, NULL, NULL, NULL), LP_ERANGE,
             "LP_RFM_MAX_TIMESTAMP");
  EXPECT_MSG(h, lp_rfm_save(h, NULL, NULL), LP_EINVAL, "w: NULL");
  EXPECT_MSG(h, lp_rfm_load(h, NULL, NULL), LP_EINVAL, "r: NULL");
  EXPECT_MSG(h, lp_rfm_int_bounds(h, 99u, &v, &v), LP_EINVAL, "unknown option 99");
  /* Limits and ranges of ingestion and merges. */
  lp_rfm_txn big = txn(60, T0, INT64_MAX - 100, -1); /* h holds 220 */
  lp_rfm *rich;
  assert_int_equal(lp_rfm_create(NULL, &rich), LP_OK);
  assert_int_equal(lp_rfm_add(rich, &big, 1), LP_OK);
  EXPECT_MSG(h, lp_rfm_merge(h, rich), LP_ERANGE, "turnover would exceed INT64_MAX");
  EXPECT_MSG(rich, lp_rfm_add(rich, &big, 1), LP_ERANGE, "txns[0]: total turnover");
  t = txn(1, T0, 1, -1);
  t.struct_size = 5;
  EXPECT_MSG(h, lp_rfm_add(h, &t, 1), LP_EINVAL, "txns[0]: struct_size 5");
  t = txn(1, LP_RFM_MAX_TIMESTAMP + 1, 1, -1);
  EXPECT_MSG(h, lp_rfm_add(h, &t, 1), LP_ERANGE, "txns[0]: ts");
  t = txn(1, T0, INT64_MIN, -1);
  EXPECT_MSG(h, lp_rfm_add(h, &t, 1), LP_ERANGE, "amount INT64_MIN");
  assert_int_equal(lp_rfm_update_stages(h, T0 + 20 * DAY, NULL, NULL, NULL), LP_OK);
  EXPECT_MSG(h, lp_rfm_update_stages(h, T0 + 19 * DAY, NULL, NULL, NULL), LP_ERANGE,
             "earlier than the previous");
  lp_rfm_free(rich);
  /* A failing call leaves the state as it was. */
  assert_int_equal(rfm_check(h), LP_OK);
  assert_int_equal(lp_rfm_count(h), 8);
  lp_rfm_free(other);
  lp_rfm_free(h);
}

/* What the re-entering callback does: every entry point on the busy
 * handle, recording the status codes. */
typedef struct reenter_ctx {
  lp_rfm *h;
  size_t calls;
  int rc[24];
  size_t nrc;
  bool message_ok;
} reenter_ctx;

static int save_sink(void *ud, const void *buf, size_t len) {
  (void)ud, (void)buf, (void)len;
  return 0;
}

static int load_source(void *ud, void *buf, size_t cap, size_t *got) {
  (void)ud, (void)buf, (void)cap;
  *got = 0;
  return 0;
}

static void reenter_everything(void *ud, uint64_t id, uint32_t from, uint32_t to) {
  (void)id, (void)from, (void)to;
  reenter_ctx *c = ud;
  lp_rfm *h = c->h;
  c->calls++;
  if (c->calls > 1) return;
  /* The call that used to be a use-after-free: new profiles grow the
   * records under the running update. */
  lp_rfm_txn t[64];
  for (size_t i = 0; i < 64; i++) t[i] = txn(5000 + i, T0, 1, -1);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  lp_rfm_clv cl = LP_RFM_CLV_INIT;
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 100 * DAY;
  lp_rfm_row rows[8];
  size_t n;
  uint32_t st;
  int64_t v, w;
  lp_rfm *other;
  assert_int_equal(lp_rfm_create(NULL, &other), LP_OK);
  size_t k = 0;
  c->rc[k++] = lp_rfm_add(h, t, 64);
  c->message_ok = strstr(lp_rfm_errmsg(h), "lp_rfm_add called from inside a callback") != NULL;
  c->rc[k++] = lp_rfm_add_profile(h, 9999);
  c->rc[k++] = lp_rfm_set_int(h, LP_RFM_REPEAT_ACTIVE_PERCENT, 150);
  c->rc[k++] = lp_rfm_get_int(h, LP_RFM_PERIOD_SECONDS, &v);
  c->rc[k++] = lp_rfm_int_bounds(h, LP_RFM_PERIOD_SECONDS, &v, &w);
  c->rc[k++] = lp_rfm_get(h, 1, &p);
  c->rc[k++] = lp_rfm_clv_inputs(h, 1, T0 + 100 * DAY, &cl);
  uint64_t ids[8];
  c->rc[k++] = lp_rfm_profiles(h, ids, 8, &n);
  c->rc[k++] = lp_rfm_stage_of(h, 1, T0 + 100 * DAY, &st);
  c->rc[k++] = lp_rfm_merge_profiles(h, 1, 2);
  c->rc[k++] = lp_rfm_merge(h, other);
  c->rc[k++] = lp_rfm_merge(other, h);
  c->rc[k++] = lp_rfm_scale_amounts(h, 10);
  c->rc[k++] = lp_rfm_score(h, &o, NULL, rows, 8, &n);
  c->rc[k++] = lp_rfm_update_stages(h, T0 + 200 * DAY, NULL, NULL, NULL);
  c->rc[k++] = lp_rfm_save(h, save_sink, NULL);
  c->rc[k++] = lp_rfm_load(h, load_source, NULL);
  c->nrc = k;
  /* errmsg and count stay available. */
  assert_non_null(lp_rfm_errmsg(h));
  assert_int_equal(lp_rfm_count(h), 7);
  /* Other handles work as usual. */
  assert_int_equal(lp_rfm_add(other, t, 1), LP_OK);
  lp_rfm_free(other);
}

/* Scaling a state's amounts equals ingesting the scaled amounts; a
 * scaled state merges with one kept at the finer scale as if everything
 * had been ingested there. Bad factors and overflow change nothing. */
static void scaling_amounts_equals_scaled_ingestion(void **state) {
  (void)state;
  enum { N = 2500 };
  static lp_rfm_txn t[N];
  for (uint64_t round = 0; round < 6; round++) {
    random_txns(t, N, 25 + round * 7, round + 300);
    int64_t factor = round == 0 ? 1 : (int64_t)1 << round;
    lp_rfm *h, *ref, *fine, *mixed;
    assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
    assert_int_equal(lp_rfm_create(NULL, &ref), LP_OK);
    assert_int_equal(lp_rfm_create(NULL, &fine), LP_OK);
    assert_int_equal(lp_rfm_create(NULL, &mixed), LP_OK);
    assert_int_equal(lp_rfm_add(h, t, N / 2), LP_OK);
    assert_int_equal(lp_rfm_scale_amounts(h, factor), LP_OK);
    assert_int_equal(rfm_check(h), LP_OK);
    for (size_t i = 0; i < N; i++) t[i].amount *= factor;
    /* The second half is ingested at the finer scale directly. */
    assert_int_equal(lp_rfm_add(fine, t + N / 2, N - N / 2), LP_OK);
    assert_int_equal(lp_rfm_add(ref, t, N / 2), LP_OK);
    assert_same_state(h, ref);
    assert_int_equal(lp_rfm_add(ref, t + N / 2, N - N / 2), LP_OK);
    assert_int_equal(lp_rfm_merge(mixed, fine), LP_OK);
    assert_int_equal(lp_rfm_merge(mixed, h), LP_OK);
    assert_same_state(mixed, ref);
    lp_rfm_free(h);
    lp_rfm_free(ref);
    lp_rfm_free(fine);
    lp_rfm_free(mixed);
  }
  /* 10.00 and a refund of 3.00 on two days, times 100: monetary 700.00
   * -> 70000.00 (in minor units 70000), turnover 1300 -> 130000. */
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn a[2] = {txn(7, T0, 1000, 1), txn(7, T0 + DAY, -300, 2)};
  assert_int_equal(lp_rfm_add(h, a, 2), LP_OK);
  assert_int_equal(lp_rfm_scale_amounts(h, 100), LP_OK);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 7, &p), LP_OK);
  assert_int_equal(p.monetary, 70000);
  assert_int_equal(p.first_period_value, 100000);
  assert_int_equal(p.repeat_value, -30000);
  lp_membuf *before = state_bytes(h);
  EXPECT_MSG(h, lp_rfm_scale_amounts(h, 0), LP_EINVAL, "at least 1");
  EXPECT_MSG(h, lp_rfm_scale_amounts(h, -10), LP_EINVAL, "at least 1");
  /* Turnover 130000: times 2^47 passes INT64_MAX (about 9.2e18). */
  EXPECT_MSG(h, lp_rfm_scale_amounts(h, INT64_C(1) << 47), LP_ERANGE, "turnover");
  assert_int_equal(lp_rfm_scale_amounts(NULL, 10), LP_EINVAL);
  expect_unchanged_then_free(h, before);
}

static void callbacks_cannot_reenter_their_handle(void **state) {
  (void)state;
  lp_rfm *h = seven_profiles();
  lp_membuf *before = state_bytes(h);
  reenter_ctx c = {h, 0, {0}, 0, false};
  size_t changed = 0;
  assert_int_equal(lp_rfm_update_stages(h, T0 + 100 * DAY, reenter_everything, &c, &changed),
                   LP_OK);
  assert_int_equal(changed, 7);
  assert_int_equal(c.calls, 7);
  assert_int_equal(c.nrc, 17);
  for (size_t i = 0; i < c.nrc; i++)
    if (c.rc[i] != LP_EMISUSE) fail_msg("re-entering call %zu returned %d", i, c.rc[i]);
  assert_true(c.message_ok);
  /* Only the stages changed: the refused calls did nothing, and the
   * handle works normally again afterwards. */
  assert_int_equal(rfm_check(h), LP_OK);
  assert_int_equal(lp_rfm_count(h), 7);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 5000, &p), LP_ENOTFOUND);
  uint32_t st;
  assert_int_equal(lp_rfm_stage_of(h, 1, T0 + 100 * DAY, &st), LP_OK);
  lp_rfm_txn t = txn(5000, T0, 1, -1);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  lp_membuf_free(before);
  lp_rfm_free(h);
}

static void segment_names_and_the_old_spelling(void **state) {
  (void)state;
  lp_rfm_segmap *map;
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, &map), LP_OK);
  uint32_t i = 0, j = 0;
  assert_int_equal(lp_rfm_segmap_find(map, "cant_lose", &i), LP_OK);
  assert_int_equal(i, 2); /* third rule of the grid, as published */
  assert_string_equal(lp_rfm_segmap_name(map, i), "cant_lose");
  assert_int_equal(lp_rfm_segmap_find(map, "cant_loose", &j), LP_OK);
  assert_int_equal(j, i);
  assert_int_equal(lp_rfm_segmap_find(map, "champions", &i), LP_OK);
  assert_int_equal(i, 9);
  assert_int_equal(lp_rfm_segmap_find(map, "others", &i), LP_OK);
  assert_int_equal(i, LP_RFM_SEGMENT_OTHERS);
  assert_int_equal(lp_rfm_segmap_find(map, "cant lose", &i), LP_ENOTFOUND);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "no segment named \"cant lose\""));
  assert_int_equal(lp_rfm_segmap_find(map, NULL, &i), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "name: NULL"));
  assert_int_equal(lp_rfm_segmap_find(map, "x", NULL), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "index: NULL"));
  assert_int_equal(lp_rfm_segmap_find(NULL, "x", &i), LP_EINVAL);
  lp_rfm_segmap_free(map);
  /* A map with a rule of its own named cant_loose finds that one. */
  assert_int_equal(lp_rfm_segmap_create(NULL, &map), LP_OK);
  lp_rfm_rule rule = LP_RFM_RULE_INIT;
  rule.name = "cant_lose";
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  rule.name = "cant_loose";
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  assert_int_equal(lp_rfm_segmap_find(map, "cant_loose", &i), LP_OK);
  assert_int_equal(i, 1);
  /* Names are UTF-8 without NUL: bad bytes are refused with the offset. */
  rule.name = "Gro\xc3\x9f" "kunden"; /* well-formed: accepted */
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_OK);
  rule.name = "a\xff" "b";
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_non_null(strstr(lp_rfm_segmap_errmsg(map), "byte 1"));
  rule.name = "\xc0\xaf"; /* overlong '/' */
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  rule.name = "\xed\xa0\x80"; /* surrogate */
  assert_int_equal(lp_rfm_segmap_add(map, &rule), LP_EINVAL);
  assert_int_equal(lp_rfm_segmap_count(map), 3);
  lp_rfm_segmap_free(map);
}

/* The checker accepts what the library builds and names what breaks. */
static void checker_finds_broken_invariants(void **state) {
  (void)state;
  lp_rfm_txn t[400];
  random_txns(t, 400, 30, 21);
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  assert_int_equal(rfm_check(h), LP_OK);
  assert_int_equal(lp_rfm_add(h, t, 400), LP_OK);
  assert_int_equal(lp_rfm_add_profile(h, 7), LP_OK);
  assert_int_equal(rfm_check(h), LP_OK);
  assert_int_equal(lp_rfm_merge_profiles(h, 1000, 1001), LP_OK);
  assert_int_equal(lp_rfm_merge_profiles(h, 77, 1002), LP_OK);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 90 * DAY, NULL, NULL, NULL), LP_OK);
  assert_int_equal(rfm_check(h), LP_OK);
  /* A profile whose chains hold two members or more beyond the inline
   * ones. */
  rfm_prof *p = NULL;
  for (size_t i = 0; i < h->profs.len && p == NULL; i++)
    if (rfm_at(h, i)->periods >= RFM_INLINE_PERIODS + 2 &&
        rfm_at(h, i)->order_keys >= RFM_INLINE_ORDERS + 2)
      p = rfm_at(h, i);
  assert_non_null(p);
  rfm_prof saved = *p;
  /* Each edit breaks one invariant; the state is repaired after each. */
  p->txns++;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "transaction total"));
  *p = saved;
  h->txn_total++;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  h->txn_total--;
  p->order_keys--;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->periods--;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->first_ts = p->last_ts + 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "inconsistent profile record"));
  *p = saved;
  p->prev_ts = p->first_ts - 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->stage = 8;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->monetary = h->turnover + 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->id ^= 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "index"));
  *p = saved;
  /* A chain that skips its head, and one whose head points elsewhere. */
  uint64_t key[2] = {p->id, p->order_head}, next;
  assert_true(lp_hmap_get(&h->orders, key, &next));
  p->order_head = next;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  p->order_head = UINT64_C(0xDEADBEEF);
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "missing"));
  *p = saved;
  p->period_head ^= 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  *p = saved;
  /* Inline members: one repeated, one that is also in the spilled chain,
   * and a slot past the count that is not zero. */
  p->inline_orders[1] = p->inline_orders[0];
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "inline set member repeated"));
  *p = saved;
  p->inline_periods[0] = p->period_head;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "also spilled"));
  *p = saved;
  size_t few_pos = 0; /* the prospect: no member at all */
  assert_true(rfm_find(h, 7, &few_pos));
  rfm_prof *few = rfm_at(h, few_pos);
  few->inline_orders[RFM_INLINE_ORDERS - 1] = 12345;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "unused inline set slot"));
  few->inline_orders[RFM_INLINE_ORDERS - 1] = 0;
  assert_int_equal(rfm_check(h), LP_OK);
  h->busy = 1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  h->busy = 0;
  h->bands.one_time[0] = h->bands.one_time[1];
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  rfm_bands_default(&h->bands, &h->period);
  assert_int_equal(rfm_check(h), LP_OK);
  int64_t turnover = h->turnover;
  h->period = 0;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "period or bands"));
  h->period = DAY;
  h->turnover = -1;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "turnover"));
  h->turnover = turnover;
  int64_t as_of = h->stage_as_of;
  h->has_stage_as_of = false;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  h->has_stage_as_of = true;
  h->stage_as_of = as_of;
  h->index.len++;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "index entries"));
  h->index.len--;
  /* Periods: the first period missing from the set (first_ts moved one
   * period earlier), and prev_ts outside the latest period before the last. */
  rfm_prof *q = NULL;
  for (size_t i = 0; i < h->profs.len && q == NULL; i++)
    if (rfm_at(h, i)->periods >= 3) q = rfm_at(h, i);
  assert_non_null(q);
  rfm_prof keep = *q;
  q->first_ts -= DAY;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "first or last purchase period"));
  *q = keep;
  q->prev_ts = q->first_ts;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "prev_ts"));
  *q = keep;
  assert_int_equal(rfm_check(h), LP_OK);
  lp_rfm_free(h);
}

/* Members around the inline capacity of a record (RFM_INLINE_ORDERS and
 * RFM_INLINE_PERIODS): for every pair of sizes a, b up to beyond both,
 * lines 0..a-1 and overlapping lines a/2..a/2+b-1 (order and day i each)
 * give the same bytes whether ingested together, as two shards merged,
 * as two profiles merged by identity, or saved, loaded and continued. */
static void inline_set_boundaries(void **state) {
  (void)state;
  enum {
    MAXN = (RFM_INLINE_ORDERS > RFM_INLINE_PERIODS ? RFM_INLINE_ORDERS : RFM_INLINE_PERIODS) + 3
  };
  lp_rfm_txn ta[MAXN], tb[MAXN], all[2 * MAXN];
  for (size_t a = 0; a <= MAXN; a++) {
    for (size_t b = 0; b <= MAXN; b++) {
      if (a + b == 0) continue;
      for (size_t i = 0; i < a; i++) ta[i] = txn(1, T0 + (int64_t)i * DAY, 10, (int64_t)i);
      for (size_t i = 0; i < b; i++)
        tb[i] = txn(1, T0 + (int64_t)(i + a / 2) * DAY + 60, 7, (int64_t)(i + a / 2));
      memcpy(all, ta, a * sizeof *ta);
      memcpy(all + a, tb, b * sizeof *tb);
      lp_rfm *whole, *sa, *sb, *ident;
      assert_int_equal(lp_rfm_create(NULL, &whole), LP_OK);
      assert_int_equal(lp_rfm_create(NULL, &sa), LP_OK);
      assert_int_equal(lp_rfm_create(NULL, &sb), LP_OK);
      assert_int_equal(lp_rfm_create(NULL, &ident), LP_OK);
      assert_int_equal(lp_rfm_add(whole, all, a + b), LP_OK);
      if (a > 0) assert_int_equal(lp_rfm_add(sa, ta, a), LP_OK);
      if (b > 0) assert_int_equal(lp_rfm_add(sb, tb, b), LP_OK);
      assert_int_equal(lp_rfm_merge(sa, sb), LP_OK);
      assert_int_equal(rfm_check(sa), LP_OK);
      assert_same_state(whole, sa);
      /* Identity: b's lines under profile 2, merged into 1. */
      for (size_t i = 0; i < b; i++) tb[i].profile_id = 2;
      if (a > 0) assert_int_equal(lp_rfm_add(ident, ta, a), LP_OK);
      if (b > 0) assert_int_equal(lp_rfm_add(ident, tb, b), LP_OK);
      if (b > 0) {
        assert_int_equal(lp_rfm_merge_profiles(ident, 1, 2), LP_OK);
        assert_int_equal(rfm_check(ident), LP_OK);
      }
      assert_same_state(whole, ident);
      /* Saved after a's lines, loaded, then b's lines. */
      lp_rfm *first, *loaded;
      assert_int_equal(lp_rfm_create(NULL, &first), LP_OK);
      assert_int_equal(lp_rfm_create(NULL, &loaded), LP_OK);
      if (a > 0) assert_int_equal(lp_rfm_add(first, ta, a), LP_OK);
      lp_membuf *snap = state_bytes(first);
      lp_memreader mr;
      lp_memreader_init(&mr, lp_membuf_data(snap), lp_membuf_size(snap));
      assert_int_equal(lp_rfm_load(loaded, lp_memreader_read, &mr), LP_OK);
      assert_int_equal(rfm_check(loaded), LP_OK);
      for (size_t i = 0; i < b; i++) tb[i].profile_id = 1;
      if (b > 0) assert_int_equal(lp_rfm_add(loaded, tb, b), LP_OK);
      assert_int_equal(rfm_check(loaded), LP_OK);
      assert_same_state(whole, loaded);
      lp_membuf_free(snap);
      lp_rfm_free(first);
      lp_rfm_free(loaded);
      lp_rfm_free(whole);
      lp_rfm_free(sa);
      lp_rfm_free(sb);
      lp_rfm_free(ident);
    }
  }
}

/* Chains that revisit a member: after the inline orders 100.., the
 * spilled orders 0 and 5 form the chain 5 -> 0 -> end (value 0), so a
 * count one too high walks 5, 0, 0 and still ends on a 0. Only the set
 * sizes and the fingerprint of the members can tell. */
static void checker_finds_chains_that_miss_entries(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn t[RFM_INLINE_ORDERS + 3];
  size_t n = 0;
  for (int64_t k = 0; k < RFM_INLINE_ORDERS; k++, n++) t[n] = txn(1, T0 + k, 10, 100 + k);
  t[n++] = txn(1, T0, 10, 0);
  t[n++] = txn(1, T0 + 60, 10, 5);
  t[n++] = txn(1, T0 + 120, 10, 5);
  assert_int_equal(lp_rfm_add(h, t, n), LP_OK);
  assert_int_equal(rfm_check(h), LP_OK);
  rfm_prof *p = rfm_at(h, 0);
  assert_int_equal(p->order_keys, RFM_INLINE_ORDERS + 2);
  assert_int_equal(h->orders.len, 2);
  p->order_keys++;
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "set sizes"));
  /* With one more spilled entry of the same profile the sizes agree. */
  assert_int_equal(lp_hmap_reserve(&h->orders, &h->mem, h->orders.len + 1), LP_OK);
  rfm_prof fake;
  memset(&fake, 0, sizeof fake);
  fake.id = 1;
  fake.order_keys = RFM_INLINE_ORDERS; /* inline slots full: the map */
  assert_true(rfm_set_insert(&h->orders, &h->mem, &fake, false, 77));
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "chains do not cover their sets"));
  /* An entry whose owner is no profile. */
  uint64_t key[2] = {1, 77};
  assert_true(lp_hmap_del(&h->orders, key, NULL));
  fake.id = 999;
  assert_true(rfm_set_insert(&h->orders, &h->mem, &fake, false, 77));
  assert_int_equal(rfm_check(h), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "unknown profile"));
  key[0] = 999;
  assert_true(lp_hmap_del(&h->orders, key, NULL));
  p->order_keys--;
  assert_int_equal(rfm_check(h), LP_OK);
  lp_rfm_free(h);
}

/* Handle creation errors, and the profile limit (2^32 - 1), reached by
 * pretending the records are full: every call that adds a profile is
 * refused with LP_ELIMIT before it allocates or changes anything. */
static void creation_errors_and_the_profile_limit(void **state) {
  (void)state;
  lp_allocator bad = LP_ALLOCATOR_INIT;
  bad.struct_size = 4;
  lp_rfm *h = (lp_rfm *)&bad;
  assert_int_equal(lp_rfm_create(&bad, &h), LP_EINVAL);
  assert_null(h);
  lp_rfm_segmap *map = (lp_rfm_segmap *)&bad;
  assert_int_equal(lp_rfm_segmap_create(&bad, &map), LP_EINVAL);
  assert_null(map);
  map = (lp_rfm_segmap *)&bad;
  assert_int_equal(lp_rfm_segmap_builtin(&bad, LP_RFM_MAP_RF10, &map), LP_EINVAL);
  assert_null(map);
  assert_int_equal(lp_rfm_segmap_builtin(NULL, LP_RFM_MAP_RF10, NULL), LP_EINVAL);
  h = seven_profiles();
  lp_membuf *before = state_bytes(h);
  size_t real = h->profs.len;
  h->profs.len = LP_RFM_MAX_PROFILES;
  lp_rfm_txn t = txn(99, T0, 1, -1);
  EXPECT_MSG(h, lp_rfm_add(h, &t, 1), LP_ELIMIT, "more than 4294967295 profiles");
  EXPECT_MSG(h, lp_rfm_add_profile(h, 99), LP_ELIMIT, "more than 4294967295 profiles");
  EXPECT_MSG(h, lp_rfm_merge_profiles(h, 99, 1), LP_ELIMIT, "more than 4294967295 profiles");
  h->profs.len = real;
  expect_unchanged_then_free(h, before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(aggregates_follow_the_definitions),
      cmocka_unit_test(clv_inputs_follow_lifetimes),
      cmocka_unit_test(quantile_scores_break_ties_by_id),
      cmocka_unit_test(threshold_scores_are_right_closed),
      cmocka_unit_test(recency_unit_decides_same_day_ties),
      cmocka_unit_test(score_rejects_bad_arguments),
      cmocka_unit_test(rf10_covers_every_cell_once),
      cmocka_unit_test(rfm11_uses_first_match_and_others),
      cmocka_unit_test(custom_maps_validate_rules),
      cmocka_unit_test(summary_totals_per_segment),
      cmocka_unit_test(lifecycle_bands),
      cmocka_unit_test(options_are_validated),
      cmocka_unit_test(transitions_are_reported_in_id_order),
      cmocka_unit_test(add_rejects_bad_input_atomically),
      cmocka_unit_test(shard_merge_equals_single_state),
      cmocka_unit_test(identity_merge_equals_reingestion),
      cmocka_unit_test(merges_reject_bad_arguments),
      cmocka_unit_test(scaling_amounts_equals_scaled_ingestion),
      cmocka_unit_test(radix_sort_is_stable_and_ordered),
      cmocka_unit_test(lookups_after_scoring_in_any_order),
      cmocka_unit_test(scores_equal_in_any_ingestion_order),
      cmocka_unit_test(option_bounds_follow_the_neighbours),
      cmocka_unit_test(every_failure_leaves_its_message),
      cmocka_unit_test(callbacks_cannot_reenter_their_handle),
      cmocka_unit_test(segment_names_and_the_old_spelling),
      cmocka_unit_test(checker_finds_broken_invariants),
      cmocka_unit_test(profiles_lists_ids_ascending),
      cmocka_unit_test(creation_errors_and_the_profile_limit),
      cmocka_unit_test(checker_finds_chains_that_miss_entries),
      cmocka_unit_test(inline_set_boundaries),
  };
  return cmocka_run_group_tests_name("rfm", tests, NULL, NULL);
}
