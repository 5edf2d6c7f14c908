/*
 * RFM state: creation, options, ingestion and per-profile queries.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_internal.h"

#define DAY_SECONDS INT64_C(86400)
#define MAX_PROFILES ((size_t)UINT32_MAX)

void rfm_bands_default(rfm_bands *b, int64_t *period) {
  /* One-time buyer bands follow the published 60/120/180/240-day tiers
   * (see docs/rfm.md); repeat-buyer bands are multiples of the own gap. */
  b->one_time[0] = 60 * DAY_SECONDS;
  b->one_time[1] = 180 * DAY_SECONDS;
  b->one_time[2] = 240 * DAY_SECONDS;
  b->repeat_pct[0] = 200;
  b->repeat_pct[1] = 400;
  b->repeat_pct[2] = 600;
  *period = DAY_SECONDS;
}

int lp_rfm_create(const lp_allocator *alloc, lp_rfm **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_rfm *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  rfm_bands_default(&h->bands, &h->period);
  lp_map64_init(&h->index);
  lp_vec_init(&h->profs, sizeof(rfm_prof));
  lp_map128_init(&h->orders);
  lp_map128_init(&h->periods);
  *out = h;
  return LP_OK;
}

void lp_rfm_free(lp_rfm *h) {
  if (h == NULL) return;
  lp_hmap_free(&h->index, &h->mem);
  lp_vec_free(&h->profs, &h->mem);
  lp_hmap_free(&h->orders, &h->mem);
  lp_hmap_free(&h->periods, &h->mem);
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_rfm_errmsg(const lp_rfm *h) {
  return h == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&h->err);
}

int rfm_check_bands(lp_error *err, const rfm_bands *b) {
  for (int i = 0; i < 3; i++) {
    if (b->one_time[i] < 0)
      return lp_error_set(err, LP_ERANGE, "one-time buyer bands must be >= 0");
    if (b->repeat_pct[i] < 1 || b->repeat_pct[i] > 1000000)
      return lp_error_set(err, LP_ERANGE, "repeat buyer bands must be 1..1000000 percent");
    if (i > 0 && b->one_time[i] <= b->one_time[i - 1])
      return lp_error_set(err, LP_ERANGE, "one-time buyer bands must increase strictly "
                                          "(active < at risk < dormant)");
    if (i > 0 && b->repeat_pct[i] <= b->repeat_pct[i - 1])
      return lp_error_set(err, LP_ERANGE, "repeat buyer bands must increase strictly "
                                          "(active < at risk < dormant)");
  }
  return LP_OK;
}

static int64_t *band_slot(rfm_bands *b, lp_rfm_option key) {
  switch (key) {
    case LP_RFM_ONE_TIME_ACTIVE_SECONDS: return &b->one_time[0];
    case LP_RFM_ONE_TIME_AT_RISK_SECONDS: return &b->one_time[1];
    case LP_RFM_ONE_TIME_DORMANT_SECONDS: return &b->one_time[2];
    case LP_RFM_REPEAT_ACTIVE_PERCENT: return &b->repeat_pct[0];
    case LP_RFM_REPEAT_AT_RISK_PERCENT: return &b->repeat_pct[1];
    case LP_RFM_REPEAT_DORMANT_PERCENT: return &b->repeat_pct[2];
    case LP_RFM_PERIOD_SECONDS: break;
  }
  return NULL;
}

int lp_rfm_set_int(lp_rfm *h, lp_rfm_option key, int64_t value) {
  if (h == NULL) return LP_EINVAL;
  if (key == LP_RFM_PERIOD_SECONDS) {
    if (value < 1 || value > RFM_MAX_PERIOD)
      return lp_error_set(&h->err, LP_ERANGE, "period must be 1..%lld seconds (got %lld)",
                          (long long)RFM_MAX_PERIOD, (long long)value);
    if (h->profs.len != 0)
      return lp_error_set(&h->err, LP_EMISUSE, "the period can only be set while the state "
                                               "is empty");
    h->period = value;
    return LP_OK;
  }
  rfm_bands b = h->bands;
  int64_t *slot = band_slot(&b, key);
  if (slot == NULL) return lp_error_set(&h->err, LP_EINVAL, "key: unknown option %d", (int)key);
  *slot = value;
  int rc = rfm_check_bands(&h->err, &b);
  if (rc == LP_OK) h->bands = b;
  return rc;
}

int lp_rfm_get_int(const lp_rfm *h, lp_rfm_option key, int64_t *value) {
  if (h == NULL || value == NULL) return LP_EINVAL;
  if (key == LP_RFM_PERIOD_SECONDS) {
    *value = h->period;
    return LP_OK;
  }
  rfm_bands b = h->bands;
  const int64_t *slot = band_slot(&b, key);
  if (slot == NULL) return LP_EINVAL;
  *value = *slot;
  return LP_OK;
}

int rfm_reserve(lp_rfm *h, size_t profiles, size_t orders, size_t periods) {
  size_t np, no, nd;
  if (lp_add_overflow(h->profs.len, profiles, &np) || np > MAX_PROFILES ||
      lp_add_overflow(h->orders.len, orders, &no) ||
      lp_add_overflow(h->periods.len, periods, &nd))
    return lp_error_set(&h->err, LP_ELIMIT, "too many profiles or set entries");
  int rc = lp_hmap_reserve(&h->index, &h->mem, np);
  if (rc == LP_OK) rc = lp_vec_reserve(&h->profs, &h->mem, np);
  if (rc == LP_OK) rc = lp_hmap_reserve(&h->orders, &h->mem, no);
  if (rc == LP_OK) rc = lp_hmap_reserve(&h->periods, &h->mem, nd);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot reserve room: %s", lp_strerror(rc));
  return LP_OK;
}

size_t rfm_get_or_add(lp_rfm *h, uint64_t id) {
  uint64_t *slot;
  bool inserted;
  /* Room was reserved, so neither call can fail. */
  (void)lp_hmap_upsert(&h->index, &h->mem, &id, &slot, &inserted);
  if (!inserted) return (size_t)*slot;
  size_t pos = h->profs.len;
  *slot = pos;
  rfm_prof p;
  memset(&p, 0, sizeof p);
  p.id = id;
  p.prev_ts = RFM_NO_PREV;
  (void)lp_vec_push(&h->profs, &h->mem, &p);
  return pos;
}

bool rfm_set_insert(lp_map128 *set, const lp_mem *m, uint64_t owner, uint64_t k,
                    uint64_t *head, uint64_t *count) {
  uint64_t key[2] = {owner, k}, *slot;
  bool inserted;
  (void)lp_hmap_upsert(set, m, key, &slot, &inserted);
  if (inserted) {
    *slot = *head;
    *head = k;
    (*count)++;
  }
  return inserted;
}

/* Software prefetching. Ingestion is bound by cache misses on three hash
 * maps, so the loop touches the slots a transaction will need a few
 * transactions ahead (lp_hmap_prefetch; the hashes are formed as the map
 * forms them, checked in tests/test_containers.c). */
#define PREFETCH_AHEAD 16
#define APPLY_AHEAD 8
#define APPLY_CHUNK 512

static void prefetch_slot(const lp_hmap *m, uint64_t hash) { lp_hmap_prefetch(m, hash); }


/* Positions of the profiles of txns[c0 .. c0+m) into pos, adding the new
 * ones (room is reserved, so positions never move meanwhile). */
static void resolve_chunk(lp_rfm *h, const lp_rfm_txn *txns, size_t count, size_t c0, size_t m,
                          uint32_t *pos) {
  if (c0 == 0)
    for (size_t i = 0; i < count && i < PREFETCH_AHEAD; i++)
      prefetch_slot(&h->index, lp_mix64(txns[i].profile_id));
  for (size_t j = 0; j < m; j++) {
    size_t i = c0 + j;
    if (i + PREFETCH_AHEAD < count)
      prefetch_slot(&h->index, lp_mix64(txns[i + PREFETCH_AHEAD].profile_id));
    pos[j] = j > 0 && txns[i].profile_id == txns[i - 1].profile_id
                 ? pos[j - 1]
                 : (uint32_t)rfm_get_or_add(h, txns[i].profile_id);
  }
}

/* A record usually straddles two cache lines: fetch both, and the set
 * slots the transaction will probe. */
static void prefetch_apply(const lp_rfm *h, const lp_rfm_txn *t, uint32_t pos) {
  const char *rec = (const char *)rfm_at(h, pos);
  RFM_PREFETCH(rec);
  RFM_PREFETCH(rec + sizeof(rfm_prof) - 1);
  uint64_t hid = lp_mix64(t->profile_id);
  prefetch_slot(&h->periods, lp_mix64(hid ^ (uint64_t)rfm_period_of(h, t->ts)));
  if (t->flags & LP_RFM_TXN_HAS_ORDER) prefetch_slot(&h->orders, lp_mix64(hid ^ t->order_id));
}

/* What the previous transaction of a batch touched. Lines of one order
 * usually arrive together, so most lines skip all three hash lookups. */
typedef struct last_touch {
  bool valid;
  bool has_order;
  uint64_t id;
  size_t pos;
  uint64_t order;
  int64_t period;
} last_touch;

/* Apply one validated transaction; room is reserved and sums cannot
 * overflow (turnover bound), so this cannot fail. */
static void apply_txn(lp_rfm *h, const lp_rfm_txn *t, size_t known_pos, last_touch *last) {
  bool same = last->valid && last->id == t->profile_id;
  size_t pos = same ? last->pos : known_pos;
  rfm_prof *p = rfm_at(h, pos);
  int64_t per = rfm_period_of(h, t->ts);
  /* The first and last periods are always members: no lookup needed. */
  bool known_period = same && last->period == per;
  if (p->txns == 0) {
    p->first_ts = p->last_ts = t->ts;
    p->first_value = t->amount;
  } else {
    int64_t fp = rfm_period_of(h, p->first_ts), lastp = rfm_period_of(h, p->last_ts);
    known_period = known_period || per == fp || per == lastp;
    if (per < fp) p->first_value = t->amount;
    else if (per == fp) p->first_value += t->amount;
    if (t->ts < p->first_ts) p->first_ts = t->ts;
    if (per > lastp) {
      p->prev_ts = p->last_ts;
      p->last_ts = t->ts;
    } else if (per == lastp) {
      if (t->ts > p->last_ts) p->last_ts = t->ts;
    } else if (t->ts > p->prev_ts) {
      p->prev_ts = t->ts;
    }
  }
  p->monetary += t->amount;
  p->txns++;
  bool has_order = (t->flags & LP_RFM_TXN_HAS_ORDER) != 0;
  if (!has_order)
    p->loose_orders++;
  else if (!(same && last->has_order && last->order == t->order_id))
    rfm_set_insert(&h->orders, &h->mem, p->id, t->order_id, &p->order_head, &p->order_keys);
  if (!known_period)
    rfm_set_insert(&h->periods, &h->mem, p->id, (uint64_t)per, &p->period_head, &p->periods);
  last->valid = true;
  last->id = t->profile_id;
  last->pos = pos;
  last->has_order = has_order;
  last->order = t->order_id;
  last->period = per;
}

static void apply_chunk(lp_rfm *h, const lp_rfm_txn *t, size_t m, const uint32_t *pos,
                        last_touch *last) {
  for (size_t j = 0; j < m && j < APPLY_AHEAD; j++) prefetch_apply(h, &t[j], pos[j]);
  for (size_t j = 0; j < m; j++) {
    if (j + APPLY_AHEAD < m) prefetch_apply(h, &t[j + APPLY_AHEAD], pos[j + APPLY_AHEAD]);
    apply_txn(h, &t[j], pos[j], last);
  }
}

int lp_rfm_add(lp_rfm *h, const lp_rfm_txn *txns, size_t count) {
  if (h == NULL) return LP_EINVAL;
  if (count == 0) return LP_OK;
  if (txns == NULL) return lp_error_set(&h->err, LP_EINVAL, "txns: NULL with count %zu", count);
  if (count > RFM_MAX_TXNS - h->txn_total)
    return lp_error_set(&h->err, LP_ERANGE,
                        "the state would hold more than 2^62 - 1 transactions");
  int64_t turnover = h->turnover;
  size_t with_order = 0;
  for (size_t i = 0; i < count; i++) {
    const lp_rfm_txn *t = &txns[i];
    if (t->struct_size != sizeof(lp_rfm_txn))
      return lp_error_set(&h->err, LP_EINVAL, "txns[%zu]: struct_size %u, expected %zu", i,
                          t->struct_size, sizeof(lp_rfm_txn));
    if ((t->flags & ~LP_RFM_TXN_HAS_ORDER) != 0)
      return lp_error_set(&h->err, LP_EINVAL, "txns[%zu]: unknown flags 0x%x", i, t->flags);
    if (!rfm_ts_ok(t->ts))
      return lp_error_set(&h->err, LP_ERANGE, "txns[%zu]: ts %lld beyond +-(2^62 - 1) seconds",
                          i, (long long)t->ts);
    if (t->amount == INT64_MIN)
      return lp_error_set(&h->err, LP_ERANGE, "txns[%zu]: amount INT64_MIN is out of range", i);
    int64_t mag = t->amount < 0 ? -t->amount : t->amount;
    if (lp_i64_add_overflow(turnover, mag, &turnover))
      return lp_error_set(&h->err, LP_ERANGE,
                          "txns[%zu]: total turnover would exceed INT64_MAX minor units", i);
    if (t->flags & LP_RFM_TXN_HAS_ORDER) with_order++;
  }
  /* Room for the worst case (every transaction new everywhere), so that
   * the loop below cannot fail half-way. */
  int rc = rfm_reserve(h, count, with_order, count);
  if (rc != LP_OK) return rc;
  /* In chunks, two phases: first every profile of the chunk is found or
   * added, then the transactions are applied. Each loop then waits on one
   * kind of miss and can keep many of them in flight. */
  last_touch last = {0};
  uint32_t pos[APPLY_CHUNK];
  for (size_t c0 = 0; c0 < count; c0 += APPLY_CHUNK) {
    size_t m = count - c0 < APPLY_CHUNK ? count - c0 : APPLY_CHUNK;
    resolve_chunk(h, txns, count, c0, m, pos);
    apply_chunk(h, txns + c0, m, pos, &last);
  }
  h->turnover = turnover;
  h->txn_total += count;
  return LP_OK;
}

int lp_rfm_add_profile(lp_rfm *h, uint64_t profile_id) {
  if (h == NULL) return LP_EINVAL;
  size_t pos;
  if (rfm_find(h, profile_id, &pos)) return LP_OK;
  int rc = rfm_reserve(h, 1, 0, 0);
  if (rc != LP_OK) return rc;
  (void)rfm_get_or_add(h, profile_id);
  return LP_OK;
}

size_t lp_rfm_count(const lp_rfm *h) { return h == NULL ? 0 : h->profs.len; }

int lp_rfm_get(const lp_rfm *h, uint64_t id, lp_rfm_profile *out) {
  if (h == NULL || out == NULL || out->struct_size != sizeof(lp_rfm_profile)) return LP_EINVAL;
  size_t pos;
  if (!rfm_find(h, id, &pos)) return LP_ENOTFOUND;
  const rfm_prof *p = rfm_at(h, pos);
  out->reserved = 0;
  out->profile_id = p->id;
  out->first_ts = p->first_ts;
  out->last_ts = p->last_ts;
  out->transactions = p->txns;
  out->orders = p->order_keys + p->loose_orders;
  out->periods = p->periods;
  out->monetary = p->monetary;
  out->first_period_value = p->first_value;
  out->repeat_value = p->monetary - p->first_value;
  out->prev_ts = p->periods >= 2 ? p->prev_ts : 0;
  return LP_OK;
}

int lp_rfm_clv_inputs(const lp_rfm *h, uint64_t id, int64_t as_of, lp_rfm_clv *out) {
  if (h == NULL || out == NULL || out->struct_size != sizeof(lp_rfm_clv)) return LP_EINVAL;
  size_t pos;
  if (!rfm_find(h, id, &pos)) return LP_ENOTFOUND;
  const rfm_prof *p = rfm_at(h, pos);
  if (p->txns == 0) return LP_ENOTFOUND;
  if (!rfm_ts_ok(as_of) || p->last_ts > as_of) return LP_ERANGE;
  int64_t fp = rfm_period_of(h, p->first_ts);
  out->reserved = 0;
  out->frequency = (int64_t)p->periods - 1;
  out->recency = rfm_period_of(h, p->last_ts) - fp;
  out->t = rfm_period_of(h, as_of) - fp;
  /* lifetimes sums each period, drops the first and averages the rest. */
  out->monetary = out->frequency == 0
                      ? 0.0
                      : (double)(p->monetary - p->first_value) / (double)out->frequency;
  return LP_OK;
}
