/*
 * The invariant checker of an RFM state: everything the rest of the
 * module relies on, checked without allocating, so the tests can run it
 * after every injected failure and the fuzz target after every input.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_check.h"

#include "core/hash.h"
#include "rfm/rfm_handle.h"

static int64_t magnitude(int64_t v) { return v < 0 ? -v : v; }

bool rfm_profile_ok(int64_t period, int64_t turnover, const rfm_prof *p, int64_t *abs_sum) {
  if (p->stage > LP_RFM_STAGE_REACTIVATED || p->pad != 0) return false;
  if (p->txns == 0)
    return p->first_ts == 0 && p->last_ts == 0 && p->prev_ts == RFM_NO_PREV &&
           p->monetary == 0 && p->first_value == 0 && p->loose_orders == 0 &&
           p->order_keys == 0 && p->periods == 0 && p->order_head == 0 &&
           p->period_head == 0 &&
           (p->stage == LP_RFM_STAGE_NONE || p->stage == LP_RFM_STAGE_PROSPECT);
  if (!rfm_ts_ok(p->first_ts) || !rfm_ts_ok(p->last_ts) || p->first_ts > p->last_ts) return false;
  if (p->periods < 1 || p->periods > p->txns || p->loose_orders > p->txns ||
      p->order_keys > p->txns - p->loose_orders)
    return false;
  int64_t lastp = rfm_floor_div(p->last_ts, period);
  if (p->periods == 1) {
    if (p->prev_ts != RFM_NO_PREV || rfm_floor_div(p->first_ts, period) != lastp)
      return false;
  } else if (!rfm_ts_ok(p->prev_ts) || p->prev_ts < p->first_ts ||
             rfm_floor_div(p->prev_ts, period) >= lastp) {
    return false;
  }
  /* Every sum is bounded by the turnover; keeping that true keeps later
   * ingestion free of overflow. */
  int64_t repeat;
  if (p->monetary == INT64_MIN || p->first_value == INT64_MIN ||
      magnitude(p->first_value) > turnover ||
      lp_i64_add_overflow(p->monetary, -p->first_value, &repeat) || repeat == INT64_MIN ||
      magnitude(repeat) > turnover ||
      lp_i64_add_overflow(*abs_sum, magnitude(p->monetary), abs_sum) || *abs_sum > turnover)
    return false;
  return true;
}

static int broken(const lp_rfm *h, const char *what, uint64_t id) {
  return lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "rfm invariant: %s (profile %llu)", what,
                      (unsigned long long)id);
}

/* Order-free fingerprint of a set entry: the sums over the chains and over
 * the map's slots agree when the chains cover every entry exactly once. */
static uint64_t entry_print(uint64_t owner, uint64_t k) {
  return lp_mix64(lp_mix64(owner) ^ k);
}

/* One member of p's set `periods`: for periods, within [first, last]
 * period; tracks whether first and last were seen and the largest below
 * the last. */
typedef struct period_seen {
  int64_t fp, lp, below_last;
  bool saw_first, saw_last;
} period_seen;

static bool period_member_ok(period_seen *ps, uint64_t k) {
  int64_t v = (int64_t)k;
  if (v < ps->fp || v > ps->lp) return false;
  ps->saw_first |= v == ps->fp;
  ps->saw_last |= v == ps->lp;
  if (v < ps->lp && v > ps->below_last) ps->below_last = v;
  return true;
}

/* The inline members of p in one set: distinct, none also in the map,
 * the unused slots 0. */
static int check_inline(const lp_rfm *h, const rfm_prof *p, bool periods, period_seen *ps) {
  const lp_map128 *set = periods ? &h->periods : &h->orders;
  const uint64_t *inl = periods ? p->inline_periods : p->inline_orders;
  uint64_t cap = periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS;
  uint64_t in = rfm_inline_count(periods ? p->periods : p->order_keys, cap);
  for (uint64_t i = 0; i < cap; i++) {
    if (i >= in) {
      if (inl[i] != 0) return broken(h, "unused inline set slot not zero", p->id);
      continue;
    }
    for (uint64_t j = 0; j < i; j++)
      if (inl[j] == inl[i]) return broken(h, "inline set member repeated", p->id);
    uint64_t key[2] = {p->id, inl[i]};
    if (lp_hmap_get(set, key, NULL)) return broken(h, "inline set member also spilled", p->id);
    if (periods && !period_member_ok(ps, inl[i]))
      return broken(h, "purchase period outside first..last", p->id);
  }
  return LP_OK;
}

/* The members of p in one set: the inline ones (check_inline), then the
 * chain of the spilled ones, every member present under p's id, the last
 * one ending the chain (value 0, as every chain starts from head 0); for
 * periods, the members lie in [first, last] period, include both, and the
 * largest before the last is prev_ts's period. */
static int check_chain(const lp_rfm *h, const rfm_prof *p, bool periods, uint64_t *print) {
  const lp_map128 *set = periods ? &h->periods : &h->orders;
  uint64_t n = periods ? p->periods : p->order_keys;
  uint64_t in = rfm_inline_count(n, periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS);
  uint64_t k = periods ? p->period_head : p->order_head;
  period_seen ps = {rfm_period_of(h, p->first_ts), rfm_period_of(h, p->last_ts), INT64_MIN,
                    false, false};
  int rc = check_inline(h, p, periods, &ps);
  if (rc != LP_OK) return rc;
  if (n == in && k != 0) return broken(h, "empty chain with a head", p->id);
  for (uint64_t i = in; i < n; i++) {
    uint64_t key[2] = {p->id, k}, next;
    if (!lp_hmap_get(set, key, &next)) return broken(h, "chain member missing from its set", p->id);
    *print += entry_print(p->id, k);
    if (periods && !period_member_ok(&ps, k))
      return broken(h, "purchase period outside first..last", p->id);
    if (i + 1 == n && next != 0) return broken(h, "chain longer than its count", p->id);
    k = next;
  }
  if (periods && n > 0 && (!ps.saw_first || !ps.saw_last))
    return broken(h, "first or last purchase period not in the period set", p->id);
  if (periods && n >= 2 && ps.below_last != rfm_period_of(h, p->prev_ts))
    return broken(h, "prev_ts is not in the latest period before the last", p->id);
  return LP_OK;
}

/* Every entry of a set: found again by lookup, owned by a known profile;
 * returns the sum of their fingerprints. */
static int check_entries(const lp_rfm *h, const lp_map128 *set, uint64_t *print) {
  size_t pos = 0;
  const uint64_t *key;
  uint64_t val, again;
  while (lp_hmap_next(set, &pos, &key, &val)) {
    if (!lp_hmap_get(set, key, &again) || again != val)
      return broken(h, "set entry not found by lookup", key[0]);
    if (!lp_map64_get(&h->index, key[0], &again))
      return broken(h, "set entry of an unknown profile", key[0]);
    *print += entry_print(key[0], key[1]);
  }
  return LP_OK;
}

int rfm_check(const lp_rfm *h) {
  lp_error *err = LP_ERR_OF_CONST(h);
  if (h->busy != 0) return lp_error_set(err, LP_ECORRUPT, "rfm invariant: busy outside a call");
  lp_error scratch;
  if (h->period < 1 || h->period > RFM_MAX_PERIOD || rfm_check_bands(&scratch, &h->bands) != LP_OK)
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: period or bands out of range");
  if (h->turnover < 0 || !rfm_ts_ok(h->stage_as_of) ||
      (!h->has_stage_as_of && h->stage_as_of != 0))
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: turnover or stage as_of");
  size_t n = h->profs.len;
  if (n > LP_RFM_MAX_PROFILES || h->index.len != n)
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: %zu index entries for %zu profiles",
                        h->index.len, n);
  uint64_t txns = 0, order_keys = 0, periods = 0, chain_print[2] = {0, 0};
  int64_t abs_sum = 0;
  for (size_t i = 0; i < n; i++) {
    const rfm_prof *p = rfm_at(h, i);
    uint64_t pos;
    if (!lp_map64_get(&h->index, p->id, &pos) || pos != i)
      return broken(h, "index does not point at the record", p->id);
    if (!rfm_profile_ok(h->period, h->turnover, p, &abs_sum))
      return broken(h, "inconsistent profile record", p->id);
    if (p->txns > RFM_MAX_TXNS - txns) return broken(h, "more than 2^62 - 1 transactions", p->id);
    txns += p->txns;
    /* spilled entries; each count <= txns, so no wrap */
    order_keys += p->order_keys - rfm_inline_count(p->order_keys, RFM_INLINE_ORDERS);
    periods += p->periods - rfm_inline_count(p->periods, RFM_INLINE_PERIODS);
    int rc = check_chain(h, p, false, &chain_print[0]);
    if (rc == LP_OK) rc = check_chain(h, p, true, &chain_print[1]);
    if (rc != LP_OK) return rc;
  }
  if (txns != h->txn_total)
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: transaction total %llu, records %llu",
                        (unsigned long long)h->txn_total, (unsigned long long)txns);
  if (order_keys != h->orders.len || periods != h->periods.len)
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: set sizes do not match the records");
  uint64_t set_print[2] = {0, 0};
  int rc = check_entries(h, &h->orders, &set_print[0]);
  if (rc == LP_OK) rc = check_entries(h, &h->periods, &set_print[1]);
  if (rc != LP_OK) return rc;
  if (set_print[0] != chain_print[0] || set_print[1] != chain_print[1])
    return lp_error_set(err, LP_ECORRUPT, "rfm invariant: chains do not cover their sets");
  return LP_OK;
}
