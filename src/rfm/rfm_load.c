/*
 * RFM snapshot loading: decode into a state built aside, validate every
 * invariant, swap in only on success.
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "rfm/rfm_check.h"
#include "rfm/rfm_handle.h"

/* The parts of a state a snapshot carries. */
typedef struct rfm_image {
  int64_t period;
  rfm_bands bands;
  int64_t turnover;
  uint64_t txn_total;
  bool has_stage_as_of;
  int64_t stage_as_of;
  lp_map64 index;
  lp_vec profs;
  lp_map128 orders;
  lp_map128 periods;
  unsigned seen; /* RFM_SEEN_* bits */
} rfm_image;

static void image_init(rfm_image *im) {
  memset(im, 0, sizeof *im);
  lp_map64_init(&im->index);
  lp_vec_init(&im->profs, sizeof(rfm_prof));
  lp_map128_init(&im->orders);
  lp_map128_init(&im->periods);
}

static void image_free(rfm_image *im, const lp_mem *m) {
  lp_hmap_free(&im->index, m);
  lp_vec_free(&im->profs, m);
  lp_hmap_free(&im->orders, m);
  lp_hmap_free(&im->periods, m);
}

static int corrupt(lp_rfm *h, const char *what) {
  return lp_error_set(&h->err, LP_ECORRUPT, "rfm snapshot: %s", what);
}

static int decode_opts(lp_rfm *h, rfm_image *im, lp_cursor *c) {
  im->period = lp_cursor_i64(c);
  for (int i = 0; i < 3; i++) im->bands.one_time[i] = lp_cursor_i64(c);
  for (int i = 0; i < 3; i++) im->bands.repeat_pct[i] = lp_cursor_i64(c);
  im->turnover = lp_cursor_i64(c);
  uint64_t has = lp_cursor_u64(c);
  im->stage_as_of = lp_cursor_i64(c);
  if (!lp_cursor_done(c)) return corrupt(h, "options section has the wrong size");
  lp_error scratch;
  if (im->period < 1 || im->period > RFM_MAX_PERIOD || rfm_check_bands(&scratch, &im->bands) != LP_OK ||
      im->turnover < 0 || has > 1 || !rfm_ts_ok(im->stage_as_of) ||
      (has == 0 && im->stage_as_of != 0))
    return corrupt(h, "options out of range");
  im->has_stage_as_of = has == 1;
  return LP_OK;
}

static int decode_profiles(lp_rfm *h, const lp_mem *m, rfm_image *im, lp_cursor *c) {
  size_t n;
  if (!lp_cursor_count(c, RFM_PROFILE_BYTES, &n)) return corrupt(h, "bad profile count");
  if (n > UINT32_MAX) return lp_error_set(&h->err, LP_ELIMIT, "too many profiles");
  int rc = lp_vec_reserve(&im->profs, m, n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  int64_t abs_sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t f[11];
    for (int j = 0; j < 11; j++) f[j] = lp_cursor_u64(c);
    rfm_prof p;
    memset(&p, 0, sizeof p);
    p.id = f[0];
    p.first_ts = (int64_t)f[1];
    p.last_ts = (int64_t)f[2];
    p.prev_ts = (int64_t)f[3];
    p.monetary = (int64_t)f[4];
    p.first_value = (int64_t)f[5];
    p.txns = f[6];
    p.loose_orders = f[7];
    p.order_keys = f[8];
    p.periods = f[9];
    if (f[10] > LP_RFM_STAGE_REACTIVATED) return corrupt(h, "bad lifecycle stage");
    p.stage = (uint32_t)f[10];
    if (i > 0 && p.id <= ((const rfm_prof *)lp_vec_at(&im->profs, i - 1))->id)
      return corrupt(h, "profiles not in ascending id order");
    if (!rfm_profile_ok(im->period, im->turnover, &p, &abs_sum)) return corrupt(h, "inconsistent profile record");
    if (p.txns > RFM_MAX_TXNS - im->txn_total)
      return corrupt(h, "more than 2^62 - 1 transactions in total");
    im->txn_total += p.txns;
    (void)lp_vec_push(&im->profs, m, &p);
  }
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after profiles");
  /* id -> row, built at once (ascending ids: no duplicates) */
  uint64_t *ids = NULL;
  rc = n > 0 ? lp_mem_alloc_array(m, n, sizeof *ids, (void **)&ids) : LP_OK;
  if (rc == LP_OK) {
    for (size_t i = 0; i < n; i++) ids[i] = ((const rfm_prof *)lp_vec_at(&im->profs, i))->id;
    rc = lp_map64_build(&im->index, m, ids, NULL, n, NULL);
  }
  if (ids != NULL) lp_mem_free_array(m, ids, n, sizeof *ids);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  return LP_OK;
}

/* Orders or periods of every profile, in profile order, each list strictly
 * ascending (periods as int64) and, for periods, consistent with the
 * profile's first, last and previous timestamps. */
static int decode_set(lp_rfm *h, const lp_mem *m, rfm_image *im, lp_cursor *c, bool periods) {
  if (!(im->seen & RFM_SEEN_PROFILES)) return corrupt(h, "set section before the profiles");
  size_t n;
  if (!lp_cursor_count(c, 8, &n)) return corrupt(h, "bad set count");
  uint64_t expected = 0, spilled = 0, cap = periods ? RFM_INLINE_PERIODS : RFM_INLINE_ORDERS;
  for (size_t i = 0; i < im->profs.len; i++) {
    const rfm_prof *p = lp_vec_at(&im->profs, i);
    uint64_t cnt = periods ? p->periods : p->order_keys;
    expected += cnt;
    spilled += cnt - rfm_inline_count(cnt, cap);
  }
  if (expected != n) return corrupt(h, "set size does not match the profiles");
  lp_map128 *set = periods ? &im->periods : &im->orders;
  /* Only the members beyond the inline slots go into the map. */
  int rc = lp_hmap_reserve(set, m, (size_t)spilled);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  for (size_t i = 0; i < im->profs.len; i++) {
    rfm_prof *p = lp_vec_at(&im->profs, i);
    uint64_t cnt = periods ? p->periods : p->order_keys, prev = 0;
    /* Counted again as the (distinct, ascending) members go in. */
    if (periods) p->periods = 0;
    else p->order_keys = 0;
    for (uint64_t j = 0; j < cnt; j++) {
      uint64_t k = lp_cursor_u64(c);
      bool ascending = periods ? (int64_t)k > (int64_t)prev : k > prev;
      if (j > 0 && !ascending) return corrupt(h, "set members not strictly ascending");
      prev = k;
      if (periods) {
        int64_t v = (int64_t)k;
        if ((j == 0 && v != rfm_floor_div(p->first_ts, im->period)) ||
            (j + 1 == cnt && v != rfm_floor_div(p->last_ts, im->period)) ||
            (cnt >= 2 && j + 2 == cnt && v != rfm_floor_div(p->prev_ts, im->period)))
          return corrupt(h, "purchase periods do not match the timestamps");
      }
      (void)rfm_set_insert(set, m, p, periods, k);
    }
  }
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after a set");
  return LP_OK;
}

static int decode_section(lp_rfm *h, rfm_image *im, uint32_t type, uint32_t flags,
                          const uint8_t *data, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, data, len);
  unsigned bit = type == RFM_SEC_OPTS       ? RFM_SEEN_OPTS
                 : type == RFM_SEC_PROFILES ? RFM_SEEN_PROFILES
                 : type == RFM_SEC_ORDERS   ? RFM_SEEN_ORDERS
                 : type == RFM_SEC_PERIODS  ? RFM_SEEN_PERIODS
                                            : 0u;
  if (bit == 0) {
    if (flags & LP_SECTION_REQUIRED)
      return lp_error_set(&h->err, LP_EVERSION, "rfm snapshot: unknown required section");
    return LP_OK;
  }
  if (im->seen & bit) return corrupt(h, "duplicate section");
  if (bit != RFM_SEEN_OPTS && !(im->seen & RFM_SEEN_OPTS))
    return corrupt(h, "section before the options");
  im->seen |= bit;
  if (bit == RFM_SEEN_OPTS) return decode_opts(h, im, &c);
  if (bit == RFM_SEEN_PROFILES) return decode_profiles(h, &h->mem, im, &c);
  return decode_set(h, &h->mem, im, &c, bit == RFM_SEEN_PERIODS);
}

static void swap_in(lp_rfm *h, rfm_image *im) {
  h->period = im->period;
  h->bands = im->bands;
  h->turnover = im->turnover;
  h->txn_total = im->txn_total;
  h->has_stage_as_of = im->has_stage_as_of;
  h->stage_as_of = im->stage_as_of;
  lp_map64 idx = h->index;
  lp_vec profs = h->profs;
  lp_map128 orders = h->orders, periods = h->periods;
  h->index = im->index;
  h->profs = im->profs;
  h->orders = im->orders;
  h->periods = im->periods;
  im->index = idx;
  im->profs = profs;
  im->orders = orders;
  im->periods = periods;
}

int lp_rfm_load(lp_rfm *h, lp_reader read, void *ud) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_load");
  if (read == NULL) return lp_error_set(&h->err, LP_EINVAL, "r: NULL");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  /* The reader is the host's: a call back into h from it is refused. */
  h->busy = 1;
  lp_snapshot_reader *r;
  int rc = lp_snapshot_reader_create(&a, read, ud, &r);
  if (rc != LP_OK) {
    h->busy = 0;
    return lp_error_set(&h->err, rc, "cannot read: %s", lp_strerror(rc));
  }
  rfm_image im;
  image_init(&im);
  uint32_t kind = 0;
  rc = lp_snapshot_reader_header(r, &kind, NULL);
  if (rc != LP_OK) {
    lp_error_set(&h->err, rc, "%s", lp_snapshot_reader_errmsg(r));
  } else if (kind != LP_RFM_SNAPSHOT_KIND) {
    rc = corrupt(h, "not an RFM snapshot (wrong kind)");
  }
  while (rc == LP_OK) {
    uint32_t type, flags;
    const uint8_t *data;
    size_t len;
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    if (rc != LP_OK) {
      lp_error_set(&h->err, rc, "%s", lp_snapshot_reader_errmsg(r));
      break;
    }
    if (type == LP_SECTION_END) break;
    rc = decode_section(h, &im, type, flags, data, len);
  }
  if (rc == LP_OK && im.seen != RFM_SEEN_ALL) rc = corrupt(h, "a required section is missing");
  if (rc == LP_OK) swap_in(h, &im);
  image_free(&im, &h->mem);
  lp_snapshot_reader_free(r);
  h->busy = 0;
  return rc;
}
