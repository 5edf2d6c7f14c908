/*
 * RFM scores: quantile or threshold binning, rows sorted by profile id.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_internal.h"

void rfm_radix_sort(uint64_t *keys, uint32_t *idx, uint64_t *tmp_keys, uint32_t *tmp_idx,
                    uint32_t *counts, size_t n) {
  if (n == 0) return;
  /* Sorting key - min orders the same and leaves the high digits zero when
   * the keys span a small range, so those passes are skipped below. */
  uint64_t lo = UINT64_MAX;
  for (size_t i = 0; i < n; i++)
    if (keys[i] < lo) lo = keys[i];
  /* All digit histograms in one read pass. */
  memset(counts, 0, RFM_RADIX_PASSES * RFM_RADIX_SIZE * sizeof *counts);
  for (size_t i = 0; i < n; i++) {
    uint64_t k = keys[i] -= lo;
    for (unsigned p = 0; p < RFM_RADIX_PASSES; p++)
      counts[p * RFM_RADIX_SIZE + ((k >> (p * RFM_RADIX_BITS)) & (RFM_RADIX_SIZE - 1))]++;
  }
  uint64_t *src_k = keys, *dst_k = tmp_keys;
  uint32_t *src_i = idx, *dst_i = tmp_idx;
  for (unsigned p = 0; p < RFM_RADIX_PASSES; p++) {
    unsigned shift = p * RFM_RADIX_BITS;
    uint32_t *count = &counts[p * RFM_RADIX_SIZE];
    /* A digit equal in every key leaves the order as it is: skip. */
    if (count[(src_k[0] >> shift) & (RFM_RADIX_SIZE - 1)] == n) continue;
    uint32_t sum = 0;
    for (unsigned b = 0; b < RFM_RADIX_SIZE; b++) {
      uint32_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) {
      uint32_t d = count[(src_k[i] >> shift) & (RFM_RADIX_SIZE - 1)]++;
      dst_k[d] = src_k[i];
      dst_i[d] = src_i[i];
    }
    uint64_t *tk = src_k;
    src_k = dst_k;
    dst_k = tk;
    uint32_t *ti = src_i;
    src_i = dst_i;
    dst_i = ti;
  }
  if (src_k != keys) {
    memcpy(keys, src_k, n * sizeof *keys);
    memcpy(idx, src_i, n * sizeof *idx);
  }
  for (size_t i = 0; i < n; i++) keys[i] += lo;
}

/* Scratch for sorting n entries: keys, indices and their twins. */
typedef struct sort_scratch {
  uint64_t *keys, *tmp_keys;
  uint32_t *idx, *tmp_idx, *counts;
  uint8_t *bins; /* scores by row, so the scattered writes stay small */
  size_t n;
} sort_scratch;

#define COUNTS_LEN (RFM_RADIX_PASSES * RFM_RADIX_SIZE)

static void scratch_free(const lp_mem *m, sort_scratch *s) {
  lp_mem_free_array(m, s->counts, COUNTS_LEN, sizeof(uint32_t));
  lp_mem_free_array(m, s->bins, s->n, 1);
  lp_mem_free_array(m, s->keys, s->n, sizeof(uint64_t));
  lp_mem_free_array(m, s->tmp_keys, s->n, sizeof(uint64_t));
  lp_mem_free_array(m, s->idx, s->n, sizeof(uint32_t));
  lp_mem_free_array(m, s->tmp_idx, s->n, sizeof(uint32_t));
}

static int scratch_alloc(const lp_mem *m, sort_scratch *s, size_t n) {
  memset(s, 0, sizeof *s);
  s->n = n;
  if (n == 0) return LP_OK;
  int rc = lp_mem_alloc_array(m, n, sizeof(uint64_t), (void **)&s->keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof(uint64_t), (void **)&s->tmp_keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof(uint32_t), (void **)&s->idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof(uint32_t), (void **)&s->tmp_idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, COUNTS_LEN, sizeof(uint32_t), (void **)&s->counts);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, 1, (void **)&s->bins);
  if (rc != LP_OK) scratch_free(m, s);
  return rc;
}

int rfm_sorted_positions(lp_rfm *h, uint32_t **out) {
  size_t n = h->profs.len;
  sort_scratch s;
  int rc = scratch_alloc(&h->mem, &s, n);
  if (rc != LP_OK || n == 0) return rc;
  for (size_t i = 0; i < n; i++) {
    s.keys[i] = rfm_at(h, i)->id;
    s.idx[i] = (uint32_t)i;
  }
  rfm_radix_sort(s.keys, s.idx, s.tmp_keys, s.tmp_idx, s.counts, n);
  *out = s.idx;
  s.idx = NULL;
  scratch_free(&h->mem, &s);
  return LP_OK;
}

/* Order-preserving map of int64 to uint64. */
static inline uint64_t ordered_key(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }

/* pandas qcut(rank, N) on ranks 1..n: the edges are 1 + (n-1)k/N, bins are
 * right-closed and the first one includes its lower edge, so rank r is in
 * the smallest k with N(r-1) <= (n-1)k. Exact in integers. */
static uint32_t quantile_bin(uint64_t rank, uint64_t n, uint32_t bins) {
  if (n <= 1 || rank <= 1) return 1;
  uint64_t num = (uint64_t)bins * (rank - 1), den = n - 1;
  return (uint32_t)((num + den - 1) / den);
}

/* Cut points t[0..bins-2]: bin k holds t[k-2] < v <= t[k-1]. */
static uint32_t threshold_bin(int64_t v, const int64_t *t, uint32_t bins) {
  uint32_t k = 1;
  while (k < bins && v > t[k - 1]) k++;
  return k;
}

enum { DIM_R, DIM_F, DIM_M };

static int64_t dim_value(const lp_rfm_row *row, int dim, int64_t recency_unit) {
  if (dim == DIM_R) return row->recency / recency_unit; /* recency >= 0: rounds down */
  return dim == DIM_F ? row->frequency : row->monetary;
}

static void set_score(lp_rfm_row *row, int dim, uint32_t bin, uint32_t bins) {
  if (dim == DIM_R) row->r = bins + 1 - bin; /* recent = high */
  else if (dim == DIM_F) row->f = bin;
  else row->m = bin;
}

static int check_thresholds(lp_rfm *h, const int64_t *t, uint32_t bins, const char *name) {
  if (t == NULL && bins > 1)
    return lp_error_set(&h->err, LP_EINVAL, "opts->%s: NULL with threshold binning", name);
  for (uint32_t i = 1; i + 1 < bins; i++)
    if (t[i] <= t[i - 1])
      return lp_error_set(&h->err, LP_EINVAL, "opts->%s: cut points must increase strictly",
                          name);
  return LP_OK;
}

static int check_options(lp_rfm *h, const lp_rfm_score_options *o) {
  if (o->struct_size != sizeof *o)
    return lp_error_set(&h->err, LP_EINVAL, "opts: struct_size %u, expected %zu",
                        o->struct_size, sizeof *o);
  if (o->bins < 1 || o->bins > LP_RFM_MAX_BINS)
    return lp_error_set(&h->err, LP_EINVAL, "opts->bins must be 1..%u (got %u)",
                        LP_RFM_MAX_BINS, o->bins);
  if (o->recency_unit < 1 || o->recency_unit > RFM_MAX_PERIOD)
    return lp_error_set(&h->err, LP_EINVAL, "opts->recency_unit must be 1..%lld seconds",
                        (long long)RFM_MAX_PERIOD);
  if (!rfm_ts_ok(o->as_of))
    return lp_error_set(&h->err, LP_ERANGE, "opts->as_of beyond +-(2^62 - 1) seconds");
  if (o->binning == LP_RFM_BIN_THRESHOLDS) {
    int rc = check_thresholds(h, o->r_thresholds, o->bins, "r_thresholds");
    if (rc == LP_OK) rc = check_thresholds(h, o->f_thresholds, o->bins, "f_thresholds");
    if (rc == LP_OK) rc = check_thresholds(h, o->m_thresholds, o->bins, "m_thresholds");
    if (rc != LP_OK) return rc;
  } else if (o->binning != LP_RFM_BIN_QUANTILE) {
    return lp_error_set(&h->err, LP_EINVAL, "opts->binning: unknown value %u", o->binning);
  }
  return LP_OK;
}

/* Scores of one dimension over rows[0..n) (already in id order, so a
 * stable sort by value breaks ties by ascending id). */
static void score_dim(lp_rfm_row *rows, size_t n, int dim, const lp_rfm_score_options *o,
                      sort_scratch *s) {
  if (o->binning == LP_RFM_BIN_THRESHOLDS) {
    const int64_t *t = dim == DIM_R ? o->r_thresholds
                       : dim == DIM_F ? o->f_thresholds : o->m_thresholds;
    for (size_t i = 0; i < n; i++)
      set_score(&rows[i], dim, threshold_bin(dim_value(&rows[i], dim, o->recency_unit), t, o->bins),
                o->bins);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    s->keys[i] = ordered_key(dim_value(&rows[i], dim, o->recency_unit));
    s->idx[i] = (uint32_t)i;
  }
  rfm_radix_sort(s->keys, s->idx, s->tmp_keys, s->tmp_idx, s->counts, n);
  for (size_t j = 0; j < n; j++) s->bins[s->idx[j]] = (uint8_t)quantile_bin(j + 1, n, o->bins);
  for (size_t i = 0; i < n; i++) set_score(&rows[i], dim, s->bins[i], o->bins);
}

int lp_rfm_score(lp_rfm *h, const lp_rfm_score_options *opts, const lp_rfm_segmap *segments,
                 lp_rfm_row *rows, size_t cap, size_t *count) {
  if (h == NULL) return LP_EINVAL;
  if (opts == NULL || count == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "%s: NULL", opts == NULL ? "opts" : "count");
  int rc = check_options(h, opts);
  if (rc != LP_OK) return rc;
  size_t n = 0;
  for (size_t i = 0; i < h->profs.len; i++) {
    const rfm_prof *p = rfm_at(h, i);
    if (p->txns == 0) continue;
    if (p->last_ts > opts->as_of)
      return lp_error_set(&h->err, LP_ERANGE,
                          "profile %llu has a transaction after as_of (%lld > %lld)",
                          (unsigned long long)p->id, (long long)p->last_ts,
                          (long long)opts->as_of);
    n++;
  }
  *count = n;
  if (n > cap)
    return lp_error_set(&h->err, LP_ELIMIT, "rows: room for %zu, %zu needed", cap, n);
  if (n == 0) return LP_OK;
  if (rows == NULL) return lp_error_set(&h->err, LP_EINVAL, "rows: NULL");
  uint32_t *order;
  rc = rfm_sorted_positions(h, &order);
  sort_scratch s;
  if (rc == LP_OK) {
    rc = scratch_alloc(&h->mem, &s, n);
    if (rc != LP_OK) lp_mem_free_array(&h->mem, order, h->profs.len, sizeof *order);
  }
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot allocate scoring scratch: %s",
                                       lp_strerror(rc));
  size_t j = 0;
  for (size_t i = 0; i < h->profs.len; i++) {
    const rfm_prof *p = rfm_at(h, order[i]);
    if (p->txns == 0) continue;
    lp_rfm_row *row = &rows[j++];
    memset(row, 0, sizeof *row);
    row->profile_id = p->id;
    row->recency = opts->as_of - p->last_ts;
    row->frequency = (int64_t)(p->order_keys + p->loose_orders);
    row->monetary = p->monetary;
    row->stage = (uint32_t)rfm_stage(h, p, opts->as_of);
  }
  lp_mem_free_array(&h->mem, order, h->profs.len, sizeof *order);
  score_dim(rows, n, DIM_R, opts, &s);
  score_dim(rows, n, DIM_F, opts, &s);
  score_dim(rows, n, DIM_M, opts, &s);
  scratch_free(&h->mem, &s);
  for (size_t i = 0; i < n; i++)
    rows[i].segment = lp_rfm_segmap_match(segments, rows[i].r, rows[i].f, rows[i].m);
  return LP_OK;
}
