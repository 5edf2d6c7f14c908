/*
 * RFM queries: profile count and ids, aggregates and CLV inputs of one profile.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "rfm/rfm_query.h"

int rfm_not_found(const lp_rfm *h, uint64_t id) {
  return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "profile %llu: no such profile",
                      (unsigned long long)id);
}

int rfm_check_as_of(const lp_rfm *h, const rfm_prof *p, int64_t as_of) {
  if (!rfm_ts_ok(as_of))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE,
                        "as_of %lld beyond +-(2^62 - 1) seconds (LP_RFM_MAX_TIMESTAMP)",
                        (long long)as_of);
  if (p->txns > 0 && p->last_ts > as_of)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE,
                        "profile %llu has a transaction after as_of (%lld > %lld)",
                        (unsigned long long)p->id, (long long)p->last_ts, (long long)as_of);
  return LP_OK;
}

/* A caller's versioned output struct: present and of this version. */
static int check_out(const lp_rfm *h, const void *out, uint32_t size, size_t expected) {
  if (out == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL");
  if (size != expected)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: struct_size %u, expected %zu",
                        size, expected);
  return LP_OK;
}

size_t lp_rfm_count(const lp_rfm *h) { return h == NULL ? 0 : h->profs.len; }

static int id_cmp(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int lp_rfm_profiles(const lp_rfm *h, uint64_t *out, size_t capacity, size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_profiles");
  if (needed == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "needed: NULL");
  if (out == NULL && capacity > 0)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL with capacity %zu", capacity);
  const size_t n = h->profs.len;
  *needed = n;
  if (out == NULL) return LP_OK;
  if (capacity < n)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE, "profiles: %zu ids needed, capacity %zu",
                        n, capacity);
  for (size_t i = 0; i < n; i++) out[i] = rfm_at(h, i)->id;
  /* ids are distinct: the order is total whatever qsort does with ties */
  if (n > 1) qsort(out, n, sizeof *out, id_cmp);
  return LP_OK;
}

int lp_rfm_get(const lp_rfm *h, uint64_t id, lp_rfm_profile *out) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_get");
  int rc = check_out(h, out, out == NULL ? 0 : out->struct_size, sizeof *out);
  if (rc != LP_OK) return rc;
  size_t pos;
  if (!rfm_find_seq(h, id, &pos)) return rfm_not_found(h, id);
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
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_clv_inputs");
  int rc = check_out(h, out, out == NULL ? 0 : out->struct_size, sizeof *out);
  if (rc != LP_OK) return rc;
  size_t pos;
  if (!rfm_find_seq(h, id, &pos)) return rfm_not_found(h, id);
  const rfm_prof *p = rfm_at(h, pos);
  if (p->txns == 0)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "profile %llu has no transaction",
                        (unsigned long long)id);
  rc = rfm_check_as_of(h, p, as_of);
  if (rc != LP_OK) return rc;
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
