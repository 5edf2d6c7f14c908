/*
 * Score rows of every profile with a transaction, in profile id order.
 * SPDX-License-Identifier: MIT
 */
#include "rfm/rfm_rows.h"

#include "rfm/rfm_lifecycle.h"
#include "rfm/rfm_sort.h"

/* Largest bucket sorted in the cache; beyond it (ids clustered in a small
 * part of their range) the rows are gathered through a full id sort. */
#define BUCKET_MAX 65536
#define GATHER_AHEAD 16

static void fill_row(const lp_rfm *h, const rfm_prof *p, int64_t as_of, lp_rfm_row *row) {
  memset(row, 0, sizeof *row);
  row->profile_id = p->id;
  row->recency = as_of - p->last_ts;
  row->frequency = (int64_t)(p->order_keys + p->loose_orders);
  row->monetary = p->monetary;
  row->stage = rfm_stage(h, p, as_of);
}

/* A record spans up to three cache lines. */
static inline void prefetch_record(const rfm_prof *p) {
  const char *b = (const char *)p;
  RFM_PREFETCH(b);
  RFM_PREFETCH(b + 64);
  RFM_PREFETCH(b + sizeof *p - 1);
}

/* General case: sort all ids, then read the records in that order. */
static int gather_rows(const lp_rfm *h, int64_t as_of, lp_rfm_row *rows, uint32_t *pos) {
  uint32_t *order;
  int rc = rfm_sorted_positions(h, &order);
  if (rc != LP_OK) return rc;
  size_t len = h->profs.len, j = 0;
  for (size_t i = 0; i < len; i++) {
    /* The records are visited at random: fetch ahead. */
    if (i + GATHER_AHEAD < len) prefetch_record(rfm_at(h, order[i + GATHER_AHEAD]));
    const rfm_prof *p = rfm_at(h, order[i]);
    if (p->txns == 0) continue;
    if (pos != NULL) pos[j] = order[i];
    fill_row(h, p, as_of, &rows[j++]);
  }
  lp_mem_free_array(&h->mem, order, len, sizeof *order);
  return LP_OK;
}

/* Scratch for sorting one bucket of at most `cap` rows. */
typedef struct bucket_scratch {
  uint64_t *keys, *tmp_keys;
  uint32_t *idx, *tmp_idx, *counts;
  lp_rfm_row *tmp_rows;
  size_t cap;
} bucket_scratch;

#define COUNTS_LEN RFM_RADIX_COUNTS_LEN

static void bucket_free(const lp_mem *m, bucket_scratch *s) {
  lp_mem_free_array(m, s->keys, s->cap, sizeof *s->keys);
  lp_mem_free_array(m, s->tmp_keys, s->cap, sizeof *s->tmp_keys);
  lp_mem_free_array(m, s->idx, s->cap, sizeof *s->idx);
  lp_mem_free_array(m, s->tmp_idx, s->cap, sizeof *s->tmp_idx);
  lp_mem_free_array(m, s->tmp_rows, s->cap, sizeof *s->tmp_rows);
  lp_mem_free_array(m, s->counts, COUNTS_LEN, sizeof *s->counts);
}

static int bucket_alloc(const lp_mem *m, bucket_scratch *s, size_t cap) {
  memset(s, 0, sizeof *s);
  s->cap = cap;
  int rc = lp_mem_alloc_array(m, cap, sizeof *s->keys, (void **)&s->keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, cap, sizeof *s->tmp_keys, (void **)&s->tmp_keys);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, cap, sizeof *s->idx, (void **)&s->idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, cap, sizeof *s->tmp_idx, (void **)&s->tmp_idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, cap, sizeof *s->tmp_rows, (void **)&s->tmp_rows);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, COUNTS_LEN, sizeof *s->counts, (void **)&s->counts);
  if (rc != LP_OK) bucket_free(m, s);
  return rc;
}

/* Sort rows[0..m) by id (ids are distinct) while they sit in the cache,
 * and pos[0..m) (when not NULL) with them. */
static void sort_bucket(lp_rfm_row *rows, uint32_t *pos, size_t m, bucket_scratch *s) {
  for (size_t j = 0; j < m; j++) {
    s->keys[j] = rows[j].profile_id;
    s->idx[j] = (uint32_t)j;
  }
  rfm_radix_sort(s->keys, s->idx, s->tmp_keys, s->tmp_idx, s->counts, m);
  for (size_t j = 0; j < m; j++) s->tmp_rows[j] = rows[s->idx[j]];
  memcpy(rows, s->tmp_rows, m * sizeof *rows);
  if (pos == NULL) return;
  for (size_t j = 0; j < m; j++) s->tmp_idx[j] = pos[s->idx[j]];
  memcpy(pos, s->tmp_idx, m * sizeof *pos);
}

int rfm_rows_by_id(const lp_rfm *h, int64_t as_of, uint64_t lo, uint64_t hi,
                   const uint32_t *top_counts, bool ascending, lp_rfm_row *rows, uint32_t *pos) {
  size_t len = h->profs.len;
  if (ascending) {
    /* The records already lie in id order (a fold fed grouped by
     * ascending profile): the rows in storage order are in id order. */
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
      const rfm_prof *p = rfm_at(h, i);
      if (p->txns == 0) continue;
      if (pos != NULL) pos[j] = (uint32_t)i;
      fill_row(h, p, as_of, &rows[j++]);
    }
    return LP_OK;
  }
  /* Rather than reading the records in id order (a random access per
   * profile), read them in storage order and write each row into the
   * bucket of the top 11 bits of its id; then sort each bucket, which fits
   * in the cache when the ids are spread (as hashed ids are). */
  uint32_t *start;
  int rc = lp_mem_alloc_array(&h->mem, RFM_RADIX_SIZE, sizeof *start, (void **)&start);
  if (rc != LP_OK) return rc;
  memcpy(start, top_counts, RFM_RADIX_SIZE * sizeof *start);
  uint64_t base = 0;
  unsigned shift = 64 - RFM_RADIX_BITS;
  uint32_t largest = rfm_bucket_starts(start, RFM_RADIX_SIZE);
  if (largest > BUCKET_MAX) {
    /* Ids crowded in part of the 64-bit range (small sequential ids):
     * bucket the top 11 bits of their offsets in [lo, hi] instead, at the
     * cost of one more read of the records. */
    unsigned bits = rfm_bit_length(hi - lo);
    base = lo;
    shift = bits > RFM_RADIX_BITS ? bits - RFM_RADIX_BITS : 0;
    memset(start, 0, RFM_RADIX_SIZE * sizeof *start);
    for (size_t i = 0; i < len; i++) {
      const rfm_prof *p = rfm_at(h, i);
      if (p->txns != 0) start[(p->id - base) >> shift]++;
    }
    largest = rfm_bucket_starts(start, RFM_RADIX_SIZE);
  }
  bucket_scratch s;
  if (largest > BUCKET_MAX || (rc = bucket_alloc(&h->mem, &s, largest)) != LP_OK) {
    lp_mem_free_array(&h->mem, start, RFM_RADIX_SIZE, sizeof *start);
    return largest > BUCKET_MAX ? gather_rows(h, as_of, rows, pos) : rc;
  }
  for (size_t i = 0; i < len; i++) {
    const rfm_prof *p = rfm_at(h, i);
    if (p->txns == 0) continue;
    uint32_t at = start[(p->id - base) >> shift]++;
    if (pos != NULL) pos[at] = (uint32_t)i;
    fill_row(h, p, as_of, &rows[at]);
  }
  /* start[b] now ends bucket b. */
  size_t b0 = 0;
  for (unsigned b = 0; b < RFM_RADIX_SIZE; b++) {
    if (start[b] > b0 + 1) sort_bucket(rows + b0, pos == NULL ? NULL : pos + b0, start[b] - b0, &s);
    b0 = start[b];
  }
  bucket_free(&h->mem, &s);
  lp_mem_free_array(&h->mem, start, RFM_RADIX_SIZE, sizeof *start);
  return LP_OK;
}
