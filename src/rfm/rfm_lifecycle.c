/*
 * Lifecycle stages and their transitions.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_lifecycle.h"
#include "rfm/rfm_query.h"
#include "rfm/rfm_sort.h"

/* Recency bands of a customer whose purchases span `span` seconds over
 * `periods` distinct periods: day counts for one-time buyers, multiples of
 * the mean gap between purchase periods (at least one period) otherwise. */
static void bands_for(const lp_rfm *h, int64_t span, uint64_t periods, int64_t out[3]) {
  if (periods < 2) {
    for (int i = 0; i < 3; i++) out[i] = h->bands.one_time[i];
    return;
  }
  int64_t gap = span / (int64_t)(periods - 1);
  if (gap < h->period) gap = h->period;
  for (int i = 0; i < 3; i++) {
    int64_t v;
    /* Bands past int64 cannot be reached by any recency: saturate. */
    if (lp_i64_mul_overflow(gap, h->bands.repeat_pct[i], &v)) v = INT64_MAX;
    out[i] = v / 100;
  }
}

/* 0 active, 1 at risk, 2 dormant, 3 churned. */
static int band_index(const int64_t bands[3], int64_t recency) {
  int i = 0;
  while (i < 3 && recency > bands[i]) i++;
  return i;
}

uint32_t rfm_stage(const lp_rfm *h, const rfm_prof *p, int64_t as_of) {
  if (p->txns == 0) return LP_RFM_STAGE_PROSPECT;
  int64_t bands[3];
  bands_for(h, p->last_ts - p->first_ts, p->periods, bands);
  int b = band_index(bands, as_of - p->last_ts);
  if (b == 1) return LP_RFM_STAGE_AT_RISK;
  if (b == 2) return LP_RFM_STAGE_DORMANT;
  if (b == 3) return LP_RFM_STAGE_CHURNED;
  if (p->periods < 2) return LP_RFM_STAGE_NEW;
  /* Reactivated: just before the latest period began, the history up to
   * prev_ts already put the customer past the at-risk band. */
  int64_t before[3];
  bands_for(h, p->prev_ts - p->first_ts, p->periods - 1, before);
  if (band_index(before, p->last_ts - p->prev_ts) >= 2) return LP_RFM_STAGE_REACTIVATED;
  return LP_RFM_STAGE_ACTIVE;
}

const char *lp_rfm_stage_name(uint32_t stage) {
  switch (stage) {
    case LP_RFM_STAGE_NONE: return "none";
    case LP_RFM_STAGE_PROSPECT: return "prospect";
    case LP_RFM_STAGE_NEW: return "new";
    case LP_RFM_STAGE_ACTIVE: return "active";
    case LP_RFM_STAGE_AT_RISK: return "at_risk";
    case LP_RFM_STAGE_DORMANT: return "dormant";
    case LP_RFM_STAGE_CHURNED: return "churned";
    case LP_RFM_STAGE_REACTIVATED: return "reactivated";
    default: return "unknown";
  }
}

int lp_rfm_stage_of(const lp_rfm *h, uint64_t id, int64_t as_of, uint32_t *stage) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_stage_of");
  if (stage == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "stage: NULL");
  size_t pos;
  if (!rfm_find_seq(h, id, &pos)) return rfm_not_found(h, id);
  const rfm_prof *p = rfm_at(h, pos);
  int rc = rfm_check_as_of(h, p, as_of);
  if (rc != LP_OK) return rc;
  *stage = rfm_stage(h, p, as_of);
  return LP_OK;
}

int lp_rfm_update_stages(lp_rfm *h, int64_t as_of, lp_rfm_transition_fn cb, void *ud,
                         size_t *changed) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_update_stages");
  if (!rfm_ts_ok(as_of))
    return lp_error_set(&h->err, LP_ERANGE,
                        "as_of %lld beyond +-(2^62 - 1) seconds (LP_RFM_MAX_TIMESTAMP)",
                        (long long)as_of);
  if (h->has_stage_as_of && as_of < h->stage_as_of)
    return lp_error_set(&h->err, LP_ERANGE, "as_of %lld is earlier than the previous %lld",
                        (long long)as_of, (long long)h->stage_as_of);
  size_t n = h->profs.len, nchanged = 0;
  for (size_t i = 0; i < n; i++) {
    const rfm_prof *p = rfm_at(h, i);
    int rc = rfm_check_as_of(h, p, as_of);
    if (rc != LP_OK) return rc;
    if (rfm_stage(h, p, as_of) != p->stage) nchanged++;
  }
  uint32_t *order = NULL;
  if (nchanged > 0 && cb != NULL) {
    int rc = rfm_sorted_positions(h, &order);
    if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot sort profiles: %s",
                                         lp_strerror(rc));
  }
  /* Nothing can fail from here on. The callback sees a busy handle: a
   * call back into h is refused (it could move the records under us). */
  for (size_t j = 0; j < n; j++) {
    rfm_prof *p = rfm_at(h, order != NULL ? order[j] : j);
    uint32_t to = rfm_stage(h, p, as_of);
    if (to == p->stage) continue;
    uint32_t from = p->stage;
    p->stage = to;
    if (cb != NULL) {
      h->busy = 1;
      cb(ud, p->id, from, to);
      h->busy = 0;
    }
  }
  if (order != NULL) lp_mem_free_array(&h->mem, order, n, sizeof *order);
  h->has_stage_as_of = true;
  h->stage_as_of = as_of;
  if (changed != NULL) *changed = nchanged;
  return LP_OK;
}
