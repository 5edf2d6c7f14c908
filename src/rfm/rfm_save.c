/*
 * RFM save: one canonical snapshot (profiles by id, set members sorted),
 * so the bytes depend only on the state.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "core/codec.h"
#include "rfm/rfm_handle.h"
#include "rfm/rfm_sort.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The members of one set of a profile, sorted, into buf (room for all).
 * Period keys are int64 stored as uint64, so they are sorted by ordered
 * value. */
static uint64_t members_sorted(const lp_map128 *set, const rfm_prof *p, bool periods,
                               uint64_t *buf) {
  uint64_t n = rfm_set_members(set, p, periods, buf);
  if (periods)
    for (uint64_t i = 0; i < n; i++) buf[i] ^= UINT64_C(1) << 63;
  qsort(buf, (size_t)n, sizeof *buf, cmp_u64);
  if (periods)
    for (uint64_t i = 0; i < n; i++) buf[i] ^= UINT64_C(1) << 63;
  return n;
}

static int write_opts(const lp_rfm *h, lp_snapshot_writer *w) {
  int rc = lp_snapshot_writer_begin_section(w, RFM_SEC_OPTS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_i64(w, h->period);
  for (int i = 0; rc == LP_OK && i < 3; i++) rc = lp_snapw_i64(w, h->bands.one_time[i]);
  for (int i = 0; rc == LP_OK && i < 3; i++) rc = lp_snapw_i64(w, h->bands.repeat_pct[i]);
  if (rc == LP_OK) rc = lp_snapw_i64(w, h->turnover);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->has_stage_as_of ? 1 : 0);
  if (rc == LP_OK) rc = lp_snapw_i64(w, h->has_stage_as_of ? h->stage_as_of : 0);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

static int write_profiles(const lp_rfm *h, lp_snapshot_writer *w, const uint32_t *order) {
  int rc = lp_snapshot_writer_begin_section(w, RFM_SEC_PROFILES, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->profs.len);
  for (size_t i = 0; rc == LP_OK && i < h->profs.len; i++) {
    const rfm_prof *p = rfm_at(h, order[i]);
    uint8_t b[RFM_PROFILE_BYTES];
    const uint64_t f[11] = {p->id, (uint64_t)p->first_ts, (uint64_t)p->last_ts,
                            (uint64_t)p->prev_ts, (uint64_t)p->monetary,
                            (uint64_t)p->first_value, p->txns, p->loose_orders,
                            p->order_keys, p->periods, p->stage};
    for (int j = 0; j < 11; j++) lp_put_u64le(b + 8 * j, f[j]);
    rc = lp_snapshot_writer_write(w, b, sizeof b);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

static int write_set(const lp_rfm *h, lp_snapshot_writer *w, const uint32_t *order, bool periods,
                     uint64_t *buf) {
  const lp_map128 *set = periods ? &h->periods : &h->orders;
  int rc = lp_snapshot_writer_begin_section(w, periods ? RFM_SEC_PERIODS : RFM_SEC_ORDERS,
                                            LP_SECTION_REQUIRED);
  uint64_t total = 0;
  for (size_t i = 0; i < h->profs.len; i++)
    total += periods ? rfm_at(h, i)->periods : rfm_at(h, i)->order_keys;
  if (rc == LP_OK) rc = lp_snapw_u64(w, total);
  for (size_t i = 0; rc == LP_OK && i < h->profs.len; i++) {
    const rfm_prof *p = rfm_at(h, order[i]);
    uint64_t n = members_sorted(set, p, periods, buf);
    for (uint64_t j = 0; rc == LP_OK && j < n; j++) rc = lp_snapw_u64(w, buf[j]);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

int lp_rfm_save(const lp_rfm *h, lp_writer write, void *ud) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_save");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (write == NULL) return lp_error_set(err, LP_EINVAL, "w: NULL");
  size_t n = h->profs.len, longest = 1;
  for (size_t i = 0; i < n; i++) {
    const rfm_prof *p = rfm_at(h, i);
    if (p->order_keys > longest) longest = (size_t)p->order_keys;
    if (p->periods > longest) longest = (size_t)p->periods;
  }
  uint32_t *order = NULL;
  uint64_t *buf = NULL;
  /* The writer is the host's: a call back into h from it is refused. */
  rfm_set_busy(h, 1);
  int rc = n > 0 ? rfm_sorted_positions(h, &order) : LP_OK;
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, longest, sizeof *buf, (void **)&buf);
  lp_snapshot_writer *w = NULL;
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  if (rc == LP_OK) rc = lp_snapshot_writer_create(&a, write, ud, LP_RFM_SNAPSHOT_KIND, &w);
  if (rc == LP_OK) rc = write_opts(h, w);
  if (rc == LP_OK) rc = write_profiles(h, w, order);
  if (rc == LP_OK) rc = write_set(h, w, order, false, buf);
  if (rc == LP_OK) rc = write_set(h, w, order, true, buf);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  if (rc != LP_OK) {
    if (w != NULL) lp_error_set(err, rc, "save failed: %s", lp_snapshot_writer_errmsg(w));
    else lp_error_set(err, rc, "save failed: %s", lp_strerror(rc));
  }
  lp_snapshot_writer_free(w);
  lp_mem_free_array(&h->mem, buf, longest, sizeof *buf);
  if (order != NULL) lp_mem_free_array(&h->mem, order, n, sizeof *order);
  rfm_set_busy(h, 0);
  return rc;
}
