/*
 * Shared fixtures of the rfm tests: transaction builders, canonical state
 * bytes, and a deterministic random transaction stream.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_TEST_RFM_FIXTURES_H
#define LP_TEST_RFM_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "harness/lp_test.h"

#define DAY INT64_C(86400)
/* 2024-01-01T00:00:00Z: 19723 days after the epoch (19723 * 86400). */
#define T0 INT64_C(1704067200)

static inline lp_rfm_txn txn(uint64_t id, int64_t ts, int64_t amount, int64_t order) {
  lp_rfm_txn t = LP_RFM_TXN_INIT;
  t.profile_id = id;
  t.ts = ts;
  t.amount = amount;
  if (order >= 0) {
    t.flags = LP_RFM_TXN_HAS_ORDER;
    t.order_id = (uint64_t)order;
  }
  return t;
}

/* The saved bytes of a state: saves are canonical, so two states are equal
 * exactly when these are. */
static inline lp_membuf *state_bytes(lp_rfm *h) {
  lp_membuf *b;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_rfm_save(h, lp_membuf_write, b), LP_OK);
  return b;
}

static inline void assert_same_state(lp_rfm *a, lp_rfm *b) {
  lp_membuf *x = state_bytes(a), *y = state_bytes(b);
  assert_int_equal(lp_membuf_size(x), lp_membuf_size(y));
  assert_memory_equal(lp_membuf_data(x), lp_membuf_data(y), lp_membuf_size(x));
  lp_membuf_free(x);
  lp_membuf_free(y);
}

/* n random transactions over `profiles` ids, about 60 days, with repeated
 * orders and days, some refunds and some lines without order. */
static inline void random_txns(lp_rfm_txn *out, size_t n, uint64_t profiles, uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 1000 + lp_rng_below(&r, profiles);
    int64_t ts = T0 + (int64_t)lp_rng_below(&r, 60 * 86400) - 30 * DAY;
    int64_t amount = (int64_t)lp_rng_below(&r, 10000) - 1500;
    int64_t order = lp_rng_below(&r, 5) == 0 ? -1 : (int64_t)lp_rng_below(&r, 12);
    out[i] = txn(id, ts, amount, order);
  }
}

static inline void shuffle_txns(lp_rfm_txn *t, size_t n, uint64_t seed) {
  lp_rng r;
  lp_rng_seed(&r, seed);
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)lp_rng_below(&r, i);
    lp_rfm_txn x = t[i - 1];
    t[i - 1] = t[j];
    t[j] = x;
  }
}

#endif /* LP_TEST_RFM_FIXTURES_H */
