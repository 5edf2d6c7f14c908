/*
 * RFM ingest: batches of transactions (validated, reserved, then applied
 * in prefetched chunks) and prospects.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_handle.h"

/* Software prefetching. Ingestion is bound by cache misses: the id index
 * slot (lp_hmap_prefetch; the hash is formed as the map forms it, checked
 * in tests/test_containers.c) and the profile record, fetched a few
 * transactions ahead. The record holds the first distinct orders and
 * periods inline, so most lines touch nothing else; the set maps are
 * probed only by profiles that spilled, and prefetching their slots for
 * every line measured slower (it needs the record's counts first). */
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
    size_t i = c0 + j, a = i + PREFETCH_AHEAD;
    /* A run of one profile needs its slot once. */
    if (a < count && txns[a].profile_id != txns[a - 1].profile_id)
      prefetch_slot(&h->index, lp_mix64(txns[a].profile_id));
    pos[j] = j > 0 && txns[i].profile_id == txns[i - 1].profile_id
                 ? pos[j - 1]
                 : (uint32_t)rfm_get_or_add(h, txns[i].profile_id);
  }
}

/* A record spans four cache lines (the inline sets after the
 * aggregates): fetch them all. */
static void prefetch_record(const lp_rfm *h, uint32_t pos) {
  const char *rec = (const char *)rfm_at(h, pos);
  for (size_t off = 0; off < sizeof(rfm_prof); off += 64) RFM_PREFETCH(rec + off);
  RFM_PREFETCH(rec + sizeof(rfm_prof) - 1);
}

/* What the previous transaction of a batch touched. Lines of one order
 * usually arrive together, so most lines skip all three hash lookups. */
typedef struct last_touch {
  bool valid;
  bool has_order;
  uint64_t id;
  size_t pos;
  uint64_t order;
  int64_t ts;
  int64_t period;       /* of ts */
  int64_t first_period; /* of the profile's first_ts and last_ts after it: */
  int64_t last_period;  /* the next line of the profile needs no division */
} last_touch;

/* Apply one validated transaction; room is reserved and sums cannot
 * overflow (turnover bound), so this cannot fail. */
static void apply_txn(lp_rfm *h, const lp_rfm_txn *t, size_t known_pos, last_touch *last) {
  bool same = last->valid && last->id == t->profile_id;
  size_t pos = same ? last->pos : known_pos;
  rfm_prof *p = rfm_at(h, pos);
  /* Periods are divisions: lines of one profile reuse what the line
   * before them computed. */
  int64_t per = same && last->ts == t->ts ? last->period : rfm_period_of(h, t->ts);
  /* The first and last periods are always members: no lookup needed. */
  bool known_period = same && last->period == per;
  int64_t fp = per, lastp = per; /* the profile's, after this line */
  if (p->txns == 0) {
    p->first_ts = p->last_ts = t->ts;
    p->first_value = t->amount;
  } else {
    fp = same ? last->first_period : rfm_period_of(h, p->first_ts);
    lastp = same ? last->last_period : rfm_period_of(h, p->last_ts);
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
    if (per < fp) fp = per;
    if (per > lastp) lastp = per;
  }
  p->monetary += t->amount;
  p->txns++;
  bool has_order = (t->flags & LP_RFM_TXN_HAS_ORDER) != 0;
  if (!has_order)
    p->loose_orders++;
  else if (!(same && last->has_order && last->order == t->order_id))
    (void)rfm_set_insert(&h->orders, &h->mem, p, false, t->order_id);
  if (!known_period) (void)rfm_set_insert(&h->periods, &h->mem, p, true, (uint64_t)per);
  last->valid = true;
  last->id = t->profile_id;
  last->pos = pos;
  last->has_order = has_order;
  last->order = t->order_id;
  last->ts = t->ts;
  last->period = per;
  last->first_period = fp;
  last->last_period = lastp;
}

/* A line of the same profile, order and day as the line before it touches
 * nothing that line has not fetched (apply_txn skips its lookups too). */
static bool repeats(const lp_rfm_txn *t, const lp_rfm_txn *prev) {
  return t->profile_id == prev->profile_id && t->flags == prev->flags &&
         t->order_id == prev->order_id && t->ts == prev->ts;
}

static void apply_chunk(lp_rfm *h, const lp_rfm_txn *t, size_t m, const uint32_t *pos,
                        last_touch *last) {
  for (size_t j = 0; j < m && j < APPLY_AHEAD; j++)
    if (j == 0 || !repeats(&t[j], &t[j - 1])) prefetch_record(h, pos[j]);
  for (size_t j = 0; j < m; j++) {
    size_t a = j + APPLY_AHEAD;
    if (a < m && !repeats(&t[a], &t[a - 1])) prefetch_record(h, pos[a]);
    apply_txn(h, &t[j], pos[j], last);
  }
}

int lp_rfm_add(lp_rfm *h, const lp_rfm_txn *txns, size_t count) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_add");
  if (count == 0) return LP_OK;
  if (txns == NULL) return lp_error_set(&h->err, LP_EINVAL, "txns: NULL with count %zu", count);
  if (count > RFM_MAX_TXNS - h->txn_total)
    return lp_error_set(&h->err, LP_ERANGE,
                        "the state would hold more than 2^62 - 1 transactions "
                        "(LP_RFM_MAX_TRANSACTIONS)");
  int64_t turnover = h->turnover;
  size_t with_order = 0;
  for (size_t i = 0; i < count; i++) {
    const lp_rfm_txn *t = &txns[i];
    if (t->struct_size != sizeof(lp_rfm_txn))
      return lp_error_set(&h->err, LP_EINVAL, "txns[%zu]: struct_size %u, expected %zu", i,
                          t->struct_size, sizeof(lp_rfm_txn));
    if ((t->flags & ~RFM_TXN_KNOWN_FLAGS) != 0)
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
  RFM_ENTER(h, "lp_rfm_add_profile");
  size_t pos;
  if (rfm_find(h, profile_id, &pos)) return LP_OK;
  int rc = rfm_reserve(h, 1, 0, 0);
  if (rc != LP_OK) return rc;
  (void)rfm_get_or_add(h, profile_id);
  return LP_OK;
}
