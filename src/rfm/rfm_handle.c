/*
 * RFM handle: creation, options and their bounds, and the reservation and
 * insertion helpers that ingest, merge and load share.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_handle.h"

#define DAY_SECONDS INT64_C(86400)

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

void rfm_seq_free(const lp_rfm *h) {
  lp_rfm *w = (lp_rfm *)h; /* handles are allocated, never defined const */
  lp_mem_free_array(&h->mem, w->seq_ids, w->seq_n, sizeof *w->seq_ids);
  lp_mem_free_array(&h->mem, w->seq_pos, w->seq_n, sizeof *w->seq_pos);
  w->seq_ids = NULL;
  w->seq_pos = NULL;
  w->seq_n = w->seq_next = 0;
}

/* Hits ahead whose record a hit prefetches; ids a new walk may start at. */
#define SEQ_AHEAD 8
#define SEQ_RESTART 16
#define SEQ_BACK 8192

bool rfm_find_seq(const lp_rfm *h, uint64_t id, size_t *pos) {
  const uint64_t *ids = h->seq_ids;
  size_t n = h->seq_n, lo = h->seq_next;
  if (n > 0 && (lo >= n || ids[lo] > id)) {
    /* Behind the cursor: a new walk (an id among the first few) starts
     * over; a walk that went back a little (a block walked again) finds
     * its place by galloping back at most SEQ_BACK entries; anything
     * further back uses the index. */
    if (id <= ids[n - 1 < SEQ_RESTART ? n - 1 : SEQ_RESTART]) {
      lo = 0;
    } else {
      size_t end = lo < n ? lo : n;
      for (size_t step = 1; step <= SEQ_BACK && step <= end; step *= 2)
        if (ids[end - step] <= id) {
          lo = end - step;
          break;
        }
    }
  }
  if (lo < n && ids[lo] <= id) {
    /* Gallop forward from the last hit: ids[lo] <= id < ids[hi]. */
    size_t step = 1, hi = lo + 1;
    while (hi < n && ids[hi] <= id) {
      lo = hi;
      step *= 2;
      hi = n - lo > step ? lo + step : n;
    }
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      if (ids[mid] <= id) lo = mid;
      else hi = mid;
    }
    uint32_t p = h->seq_pos[lo];
    if (ids[lo] == id && p < h->profs.len && rfm_at(h, p)->id == id) {
      ((lp_rfm *)h)->seq_next = lo + 1;
      if (lo + SEQ_AHEAD < n && h->seq_pos[lo + SEQ_AHEAD] < h->profs.len) {
        const char *rec = (const char *)rfm_at(h, h->seq_pos[lo + SEQ_AHEAD]);
        RFM_PREFETCH(rec);
        RFM_PREFETCH(rec + 64);
      }
      *pos = p;
      return true;
    }
  }
  return rfm_find(h, id, pos);
}

void lp_rfm_free(lp_rfm *h) {
  if (h == NULL) return;
  rfm_seq_free(h);
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
    if (b->repeat_pct[i] < 1 || b->repeat_pct[i] > LP_RFM_MAX_REPEAT_PERCENT)
      return lp_error_set(err, LP_ERANGE, "repeat buyer bands must be 1..%lld percent",
                          (long long)LP_RFM_MAX_REPEAT_PERCENT);
    if (i > 0 && b->one_time[i] <= b->one_time[i - 1])
      return lp_error_set(err, LP_ERANGE, "one-time buyer bands must increase strictly "
                                          "(active < at risk < dormant)");
    if (i > 0 && b->repeat_pct[i] <= b->repeat_pct[i - 1])
      return lp_error_set(err, LP_ERANGE, "repeat buyer bands must increase strictly "
                                          "(active < at risk < dormant)");
  }
  return LP_OK;
}

/* Option names for messages, by key. */
static const char *const option_names[] = {
    NULL,
    "LP_RFM_PERIOD_SECONDS",
    "LP_RFM_ONE_TIME_ACTIVE_SECONDS",
    "LP_RFM_ONE_TIME_AT_RISK_SECONDS",
    "LP_RFM_ONE_TIME_DORMANT_SECONDS",
    "LP_RFM_REPEAT_ACTIVE_PERCENT",
    "LP_RFM_REPEAT_AT_RISK_PERCENT",
    "LP_RFM_REPEAT_DORMANT_PERCENT",
};

static bool key_known(uint32_t key) {
  return key >= LP_RFM_PERIOD_SECONDS && key <= LP_RFM_REPEAT_DORMANT_PERCENT;
}

/* The band an option sets: one of the six, or NULL for the period. */
static int64_t *band_slot(rfm_bands *b, uint32_t key) {
  if (key >= LP_RFM_ONE_TIME_ACTIVE_SECONDS && key <= LP_RFM_ONE_TIME_DORMANT_SECONDS)
    return &b->one_time[key - LP_RFM_ONE_TIME_ACTIVE_SECONDS];
  if (key >= LP_RFM_REPEAT_ACTIVE_PERCENT && key <= LP_RFM_REPEAT_DORMANT_PERCENT)
    return &b->repeat_pct[key - LP_RFM_REPEAT_ACTIVE_PERCENT];
  return NULL;
}

/* Values `key` may take now: its domain, narrowed so that each band stays
 * strictly between its neighbours. */
static void bounds_of(const lp_rfm *h, uint32_t key, int64_t *min, int64_t *max) {
  if (key == LP_RFM_PERIOD_SECONDS) {
    *min = 1;
    *max = RFM_MAX_PERIOD;
    return;
  }
  bool one_time = key <= LP_RFM_ONE_TIME_DORMANT_SECONDS;
  const int64_t *band = one_time ? h->bands.one_time : h->bands.repeat_pct;
  unsigned i = key - (one_time ? LP_RFM_ONE_TIME_ACTIVE_SECONDS : LP_RFM_REPEAT_ACTIVE_PERCENT);
  *min = i > 0 ? band[i - 1] + 1 : (one_time ? 0 : 1);
  *max = i < 2 ? band[i + 1] - 1 : (one_time ? INT64_MAX : LP_RFM_MAX_REPEAT_PERCENT);
}

int lp_rfm_set_int(lp_rfm *h, uint32_t key, int64_t value) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_set_int");
  if (!key_known(key)) return lp_error_set(&h->err, LP_EINVAL, "key: unknown option %u", key);
  int64_t min, max;
  bounds_of(h, key, &min, &max);
  if (value < min || value > max)
    return lp_error_set(&h->err, LP_ERANGE, "%s must be %lld..%lld (got %lld)",
                        option_names[key], (long long)min, (long long)max, (long long)value);
  if (key == LP_RFM_PERIOD_SECONDS) {
    if (h->profs.len != 0)
      return lp_error_set(&h->err, LP_EMISUSE, "LP_RFM_PERIOD_SECONDS can only be set while "
                                               "the state holds no profile");
    h->period = value;
    return LP_OK;
  }
  *band_slot(&h->bands, key) = value;
  return LP_OK;
}

int lp_rfm_get_int(const lp_rfm *h, uint32_t key, int64_t *value) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_get_int");
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL");
  if (!key_known(key))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "key: unknown option %u", key);
  rfm_bands b = h->bands;
  const int64_t *slot = band_slot(&b, key);
  *value = slot != NULL ? *slot : h->period;
  return LP_OK;
}

int lp_rfm_int_bounds(const lp_rfm *h, uint32_t key, int64_t *min, int64_t *max) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_int_bounds");
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "%s: NULL", min == NULL ? "min" : "max");
  if (!key_known(key))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "key: unknown option %u", key);
  bounds_of(h, key, min, max);
  return LP_OK;
}

int rfm_reserve(lp_rfm *h, size_t profiles, size_t orders, size_t periods) {
  size_t np, no, nd;
  if (lp_add_overflow(h->profs.len, profiles, &np) || np > LP_RFM_MAX_PROFILES ||
      lp_add_overflow(h->orders.len, orders, &no) ||
      lp_add_overflow(h->periods.len, periods, &nd))
    return lp_error_set(&h->err, LP_ELIMIT, "more than %lu profiles, or too many set entries",
                        (unsigned long)LP_RFM_MAX_PROFILES);
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

bool rfm_set_insert(lp_map128 *set, const lp_mem *m, rfm_prof *p, bool periods, uint64_t k) {
  uint64_t *inl = periods ? p->inline_periods : p->inline_orders;
  uint64_t *count = periods ? &p->periods : &p->order_keys;
  uint64_t *head = periods ? &p->period_head : &p->order_head;
  uint64_t cap = periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS;
  uint64_t n = *count, in = rfm_inline_count(n, cap);
  for (uint64_t i = 0; i < in; i++)
    if (inl[i] == k) return false;
  if (n < cap) {
    inl[n] = k;
    *count = n + 1;
    return true;
  }
  uint64_t key[2] = {p->id, k}, *slot;
  bool inserted;
  (void)lp_hmap_upsert(set, m, key, &slot, &inserted);
  if (inserted) {
    *slot = *head;
    *head = k;
    *count = n + 1;
  }
  return inserted;
}

uint64_t rfm_set_members(const lp_map128 *set, const rfm_prof *p, bool periods, uint64_t *buf) {
  const uint64_t *inl = periods ? p->inline_periods : p->inline_orders;
  uint64_t n = periods ? p->periods : p->order_keys;
  uint64_t in = rfm_inline_count(n, periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS);
  uint64_t k = periods ? p->period_head : p->order_head;
  for (uint64_t i = 0; i < in; i++) buf[i] = inl[i];
  for (uint64_t i = in; i < n; i++) {
    uint64_t key[2] = {p->id, k}, next = 0;
    (void)lp_hmap_get(set, key, &next);
    buf[i] = k;
    k = next;
  }
  return n;
}
