/*
 * RFM scores: quantile or threshold binning, rows sorted by profile id.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_rows.h"
#include "rfm/rfm_sort.h"

/* Scratch for scoring n rows: keys, indices and their twins, and the
 * three scores by row, kept apart from the rows so that the
 * scattered writes stay small. */
typedef struct sort_scratch {
  uint64_t *keys, *tmp_keys;
  uint64_t *more_keys[2]; /* scoring: the F and M keys (keys holds R's) */
  uint32_t *idx, *tmp_idx, *counts;
  uint8_t *bins[3];
  size_t n;
} sort_scratch;

#define COUNTS_LEN RFM_RADIX_COUNTS_LEN

static void scratch_free(const lp_mem *m, sort_scratch *s) {
  lp_mem_free_array(m, s->counts, COUNTS_LEN, sizeof(uint32_t));
  for (int d = 0; d < 3; d++) lp_mem_free_array(m, s->bins[d], s->n, 1);
  for (int d = 0; d < 2; d++) lp_mem_free_array(m, s->more_keys[d], s->n, sizeof(uint64_t));
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
  for (int d = 0; d < 3 && rc == LP_OK; d++)
    rc = lp_mem_alloc_array(m, n, 1, (void **)&s->bins[d]);
  for (int d = 0; d < 2 && rc == LP_OK; d++)
    rc = lp_mem_alloc_array(m, n, sizeof(uint64_t), (void **)&s->more_keys[d]);
  if (rc != LP_OK) scratch_free(m, s);
  return rc;
}

/* Order-preserving map of int64 to uint64. */
static inline uint64_t ordered_key(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }

/* pandas qcut(rank, N) on ranks 1..n: the edges are 1 + (n-1)k/N, bins are
 * right-closed and the first one includes its lower edge, so rank r is in
 * the smallest k with N(r-1) <= (n-1)k. Exact in integers; walking the
 * ranks in order, k only grows, so no division is needed. `order` lists
 * the rows by rank. */
static void quantile_bins(const uint32_t *order, size_t n, uint32_t bins, uint8_t *out) {
  uint64_t k = 1, den = n - 1;
  for (size_t j = 0; j < n; j++) {
    while ((uint64_t)bins * j > den * k) k++;
    out[order[j]] = (uint8_t)k;
  }
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

static int check_thresholds(const lp_rfm *h, const int64_t *t, uint32_t bins, const char *name) {
  if (t == NULL && bins > 1)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts->%s: NULL with threshold binning", name);
  for (uint32_t i = 1; i + 1 < bins; i++)
    if (t[i] <= t[i - 1])
      return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts->%s: cut points must increase strictly",
                          name);
  return LP_OK;
}

static int check_options(const lp_rfm *h, const lp_rfm_score_options *o) {
  if (o->struct_size != sizeof *o)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts: struct_size %u, expected %zu",
                        o->struct_size, sizeof *o);
  if (o->bins < 1 || o->bins > LP_RFM_MAX_BINS)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts->bins must be 1..%u (got %u)",
                        LP_RFM_MAX_BINS, o->bins);
  if (o->recency_unit < 1 || o->recency_unit > RFM_MAX_PERIOD)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts->recency_unit must be 1..%lld seconds (LP_RFM_MAX_PERIOD_SECONDS)",
                        (long long)RFM_MAX_PERIOD);
  if (!rfm_ts_ok(o->as_of))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "opts->as_of beyond +-(2^62 - 1) seconds (LP_RFM_MAX_TIMESTAMP)");
  if (o->binning == LP_RFM_BIN_THRESHOLDS) {
    int rc = check_thresholds(h, o->r_thresholds, o->bins, "r_thresholds");
    if (rc == LP_OK) rc = check_thresholds(h, o->f_thresholds, o->bins, "f_thresholds");
    if (rc == LP_OK) rc = check_thresholds(h, o->m_thresholds, o->bins, "m_thresholds");
    if (rc != LP_OK) return rc;
  } else if (o->binning != LP_RFM_BIN_QUANTILE) {
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "opts->binning: unknown value %u", o->binning);
  }
  return LP_OK;
}

/* Rows in rank order, ties in row order, when the n values keys[i] - lo
 * span fewer than n: a counting sort, with its counts in tmp_idx. */
static void rank_by_counting(sort_scratch *s, const uint64_t *keys, size_t n, uint64_t lo,
                             uint64_t range) {
  uint32_t *start = s->tmp_idx;
  memset(start, 0, (size_t)(range + 1) * sizeof *start);
  for (size_t i = 0; i < n; i++) start[keys[i] - lo]++;
  (void)rfm_bucket_starts(start, (size_t)range + 1);
  for (size_t i = 0; i < n; i++) s->idx[start[keys[i] - lo]++] = (uint32_t)i;
}

static const int64_t *thresholds_of(const lp_rfm_score_options *o, int dim) {
  return dim == DIM_R ? o->r_thresholds : dim == DIM_F ? o->f_thresholds : o->m_thresholds;
}

/* Bins of the three dimensions over rows[0..n) into s->bins. The rows are
 * in id order, so ranking stably by value breaks ties by ascending id. */
static void bin_all(const lp_rfm_row *rows, size_t n, const lp_rfm_score_options *o,
                    sort_scratch *s) {
  if (o->binning == LP_RFM_BIN_THRESHOLDS) {
    for (int d = 0; d < 3; d++)
      for (size_t i = 0; i < n; i++)
        s->bins[d][i] = (uint8_t)threshold_bin(dim_value(&rows[i], d, o->recency_unit),
                                               thresholds_of(o, d), o->bins);
    return;
  }
  /* One pass over the rows for the three keys. */
  uint64_t *keys[3] = {s->keys, s->more_keys[0], s->more_keys[1]};
  uint64_t lo[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX}, hi[3] = {0, 0, 0};
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < 3; d++) {
      uint64_t k = keys[d][i] = ordered_key(dim_value(&rows[i], d, o->recency_unit));
      if (k < lo[d]) lo[d] = k;
      if (k > hi[d]) hi[d] = k;
    }
  for (int d = 0; d < 3; d++) {
    if (hi[d] - lo[d] < n) {
      rank_by_counting(s, keys[d], n, lo[d], hi[d] - lo[d]);
    } else {
      for (size_t i = 0; i < n; i++) s->idx[i] = (uint32_t)i;
      rfm_radix_sort(keys[d], s->idx, s->tmp_keys, s->tmp_idx, s->counts, n);
    }
    quantile_bins(s->idx, n, o->bins, s->bins[d]);
  }
}

/* Segment of every (r, f, m) when there are few enough to tabulate. */
#define SEGMENT_TABLE_BINS 10

static void apply_scores(lp_rfm_row *rows, size_t n, uint32_t bins, const sort_scratch *s,
                         const lp_rfm_segmap *segments) {
  uint32_t table[SEGMENT_TABLE_BINS * SEGMENT_TABLE_BINS * SEGMENT_TABLE_BINS];
  bool tabulated = bins <= SEGMENT_TABLE_BINS;
  for (uint32_t r = 1; tabulated && r <= bins; r++)
    for (uint32_t f = 1; f <= bins; f++)
      for (uint32_t m = 1; m <= bins; m++)
        table[((r - 1) * bins + f - 1) * bins + m - 1] = lp_rfm_segmap_match(segments, r, f, m);
  for (size_t i = 0; i < n; i++) {
    lp_rfm_row *row = &rows[i];
    row->r = bins + 1 - s->bins[DIM_R][i]; /* recent = high */
    row->f = s->bins[DIM_F][i];
    row->m = s->bins[DIM_M][i];
    row->segment = tabulated ? table[((row->r - 1) * bins + row->f - 1) * bins + row->m - 1]
                             : lp_rfm_segmap_match(segments, row->r, row->f, row->m);
  }
}

int lp_rfm_score(const lp_rfm *h, const lp_rfm_score_options *opts,
                 const lp_rfm_segmap *segments, lp_rfm_row *rows, size_t capacity,
                 size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  RFM_ENTER(h, "lp_rfm_score");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (opts == NULL || needed == NULL)
    return lp_error_set(err, LP_EINVAL, "%s: NULL", opts == NULL ? "opts" : "needed");
  if (rows == NULL && capacity > 0)
    return lp_error_set(err, LP_EINVAL, "rows: NULL with capacity %zu", capacity);
  int rc = check_options(h, opts);
  if (rc != LP_OK) return rc;
  size_t n = 0;
  uint64_t lo = UINT64_MAX, hi = 0;
  uint32_t top_counts[RFM_RADIX_SIZE] = {0};
  bool ascending = true; /* the records with a transaction lie in id order */
  for (size_t i = 0; i < h->profs.len; i++) {
    const rfm_prof *p = rfm_at(h, i);
    if (p->txns == 0) continue;
    if (n > 0 && p->id <= hi) ascending = false;
    if (p->id < lo) lo = p->id;
    if (p->id > hi) hi = p->id;
    top_counts[p->id >> (64 - RFM_RADIX_BITS)]++;
    if (p->last_ts > opts->as_of)
      return lp_error_set(err, LP_ERANGE,
                          "profile %llu has a transaction after as_of (%lld > %lld)",
                          (unsigned long long)p->id, (long long)p->last_ts,
                          (long long)opts->as_of);
    n++;
  }
  *needed = n;
  if (rows == NULL || n == 0) return LP_OK; /* a size query, or nothing to score */
  if (n > capacity)
    return lp_error_set(err, LP_EBUFSIZE, "rows: capacity %zu, %zu rows needed", capacity, n);
  /* Keep the rows' id order as the lookup hint of later calls
   * (rfm_find_seq): n ids and positions, part of the scoring memory. */
  rfm_seq_free(h);
  lp_rfm *w = (lp_rfm *)h; /* handles are allocated, never defined const */
  uint64_t *ids = NULL;
  uint32_t *pos = NULL;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *ids, (void **)&ids);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, n, sizeof *pos, (void **)&pos);
  if (rc == LP_OK) rc = rfm_rows_by_id(h, opts->as_of, lo, hi, top_counts, ascending, rows, pos);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, ids, n, sizeof *ids);
    lp_mem_free_array(&h->mem, pos, n, sizeof *pos);
    return lp_error_set(err, rc, "cannot allocate scoring scratch: %s", lp_strerror(rc));
  }
  for (size_t j = 0; j < n; j++) ids[j] = rows[j].profile_id;
  w->seq_ids = ids;
  w->seq_pos = pos;
  w->seq_n = n;
  sort_scratch s;
  if (rc == LP_OK) rc = scratch_alloc(&h->mem, &s, n);
  if (rc != LP_OK)
    return lp_error_set(err, rc, "cannot allocate scoring scratch: %s", lp_strerror(rc));
  bin_all(rows, n, opts, &s);
  apply_scores(rows, n, opts->bins, &s, segments);
  scratch_free(&h->mem, &s);
  return LP_OK;
}
