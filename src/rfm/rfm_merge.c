/*
 * RFM merges: one profile into another (identity merge) and a whole state
 * into another (shards). Both give exactly what ingesting everything into
 * one state would have given, in any order.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_handle.h"

/* Fold the aggregates of `src` (with period length `period`) into `dst`,
 * excluding set counts and chains. Overflow is impossible by the turnover
 * bound. */
static void fold_aggregates(rfm_prof *dst, const rfm_prof *src, int64_t period) {
  if (src->txns == 0) return;
  if (dst->txns == 0) {
    dst->first_ts = src->first_ts;
    dst->last_ts = src->last_ts;
    dst->prev_ts = src->prev_ts;
    dst->first_value = src->first_value;
  } else {
    int64_t fd = rfm_floor_div(dst->first_ts, period), fs = rfm_floor_div(src->first_ts, period);
    if (fs < fd) dst->first_value = src->first_value;
    else if (fs == fd) dst->first_value += src->first_value;
    if (src->first_ts < dst->first_ts) dst->first_ts = src->first_ts;
    /* The latest timestamp in a period before the combined last period is
     * the largest of both prev_ts and of each last_ts whose period is
     * earlier than the combined last one. */
    int64_t ld = rfm_floor_div(dst->last_ts, period), ls = rfm_floor_div(src->last_ts, period);
    int64_t last = ld > ls ? ld : ls;
    int64_t prev = dst->prev_ts > src->prev_ts ? dst->prev_ts : src->prev_ts;
    if (ld < last && dst->last_ts > prev) prev = dst->last_ts;
    if (ls < last && src->last_ts > prev) prev = src->last_ts;
    dst->prev_ts = prev;
    if (src->last_ts > dst->last_ts) dst->last_ts = src->last_ts;
  }
  dst->monetary += src->monetary;
  dst->txns += src->txns;
  dst->loose_orders += src->loose_orders;
  if (dst->stage == LP_RFM_STAGE_NONE) dst->stage = src->stage;
}

/* Add the members of one set of `from` (its inline ones, then its chain
 * in `src_set`) to the same set of `to` (in `dst_set`); with
 * `remove_from` (the source set itself), the chain entries are deleted as
 * they are copied. `from` is not modified. */
static void move_members(lp_map128 *dst_set, const lp_map128 *src_set, lp_map128 *remove_from,
                         const lp_mem *m, const rfm_prof *from, rfm_prof *to, bool periods) {
  const uint64_t *inl = periods ? from->inline_periods : from->inline_orders;
  uint64_t n = periods ? from->periods : from->order_keys;
  uint64_t in = rfm_inline_count(n, periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS);
  uint64_t k = periods ? from->period_head : from->order_head;
  for (uint64_t i = 0; i < in; i++) rfm_set_insert(dst_set, m, to, periods, inl[i]);
  for (uint64_t i = in; i < n; i++) {
    uint64_t key[2] = {from->id, k}, next = 0;
    if (remove_from != NULL) (void)lp_hmap_del(remove_from, key, &next);
    else (void)lp_hmap_get(src_set, key, &next);
    rfm_set_insert(dst_set, m, to, periods, k);
    k = next;
  }
}

/* Drop the profile at `pos` (its set entries must be gone already). */
static void remove_profile(lp_rfm *h, size_t pos) {
  rfm_prof *p = rfm_at(h, pos);
  (void)lp_map64_del(&h->index, p->id, NULL);
  size_t last = h->profs.len - 1;
  if (pos != last) {
    *p = *rfm_at(h, last);
    uint64_t *slot;
    bool inserted;
    (void)lp_hmap_upsert(&h->index, &h->mem, &p->id, &slot, &inserted);
    *slot = pos;
  }
  h->profs.len--;
}

int lp_rfm_merge_profiles(lp_rfm *h, uint64_t into_id, uint64_t from_id) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_merge_profiles");
  if (into_id == from_id)
    return lp_error_set(&h->err, LP_EINVAL, "into_id and from_id are both %llu",
                        (unsigned long long)into_id);
  size_t from_pos;
  if (!rfm_find(h, from_id, &from_pos))
    return lp_error_set(&h->err, LP_ENOTFOUND, "from_id %llu: no such profile",
                        (unsigned long long)from_id);
  const rfm_prof *f = rfm_at(h, from_pos);
  int rc = rfm_reserve(h, 1, (size_t)f->order_keys, (size_t)f->periods);
  if (rc != LP_OK) return rc;
  size_t into_pos = rfm_get_or_add(h, into_id);
  rfm_prof from = *rfm_at(h, from_pos), *into = rfm_at(h, into_pos);
  fold_aggregates(into, &from, h->period);
  move_members(&h->orders, &h->orders, &h->orders, &h->mem, &from, into, false);
  move_members(&h->periods, &h->periods, &h->periods, &h->mem, &from, into, true);
  remove_profile(h, from_pos);
  return LP_OK;
}

int lp_rfm_merge(lp_rfm *dst, const lp_rfm *src) {
  if (dst == NULL) return LP_EINVAL;
  RFM_ENTER(dst, "lp_rfm_merge");
  if (src == NULL) return lp_error_set(&dst->err, LP_EINVAL, "src: NULL");
  if (src->busy) return lp_error_reentered(&dst->err, "lp_rfm_merge (src)");
  if (src == dst) return lp_error_set(&dst->err, LP_EINVAL, "src and dst are the same state");
  if (src->period != dst->period)
    return lp_error_set(&dst->err, LP_ECONFLICT, "period lengths differ (%lld vs %lld s)",
                        (long long)dst->period, (long long)src->period);
  int64_t turnover;
  if (lp_i64_add_overflow(dst->turnover, src->turnover, &turnover))
    return lp_error_set(&dst->err, LP_ERANGE,
                        "merged turnover would exceed INT64_MAX minor units");
  if (src->txn_total > RFM_MAX_TXNS - dst->txn_total)
    return lp_error_set(&dst->err, LP_ERANGE,
                        "merged state would hold more than 2^62 - 1 transactions "
                        "(LP_RFM_MAX_TRANSACTIONS)");
  /* Inline members of src may spill in dst: room for every member. */
  size_t src_orders = 0, src_periods = 0;
  for (size_t i = 0; i < src->profs.len; i++) {
    src_orders += (size_t)rfm_at(src, i)->order_keys;
    src_periods += (size_t)rfm_at(src, i)->periods;
  }
  int rc = rfm_reserve(dst, src->profs.len, src_orders, src_periods);
  if (rc != LP_OK) return rc;
  for (size_t i = 0; i < src->profs.len; i++) {
    const rfm_prof *s = rfm_at(src, i);
    rfm_prof *d = rfm_at(dst, rfm_get_or_add(dst, s->id));
    fold_aggregates(d, s, dst->period);
    move_members(&dst->orders, &src->orders, NULL, &dst->mem, s, d, false);
    move_members(&dst->periods, &src->periods, NULL, &dst->mem, s, d, true);
  }
  dst->turnover = turnover;
  dst->txn_total += src->txn_total;
  return LP_OK;
}

int lp_rfm_scale_amounts(lp_rfm *h, int64_t factor) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_scale_amounts");
  if (factor < 1)
    return lp_error_set(&h->err, LP_EINVAL, "factor %lld: must be at least 1",
                        (long long)factor);
  int64_t turnover;
  if (lp_i64_mul_overflow(h->turnover, factor, &turnover))
    return lp_error_set(&h->err, LP_ERANGE,
                        "turnover times %lld would exceed INT64_MAX minor units",
                        (long long)factor);
  /* |monetary| and |first_value| are at most the turnover: no overflow. */
  for (size_t i = 0; i < h->profs.len; i++) {
    rfm_prof *p = rfm_at(h, i);
    p->monetary *= factor;
    p->first_value *= factor;
  }
  h->turnover = turnover;
  return LP_OK;
}
