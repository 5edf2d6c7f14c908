/*
 * Calibration/holdout split of transactions by date (lifetimes'
 * calibration_and_holdout_data): per customer, the distinct purchase
 * periods of the calibration give frequency, recency, T and the mean
 * repeat value; distinct later periods up to the holdout end count as
 * holdout purchases.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "clv/clv_internal.h"

typedef struct split_item {
  uint64_t customer;
  int64_t period;
  int64_t amount;
} split_item;

static int item_cmp(const void *pa, const void *pb) {
  const split_item *a = pa, *b = pb;
  if (a->customer != b->customer) return a->customer < b->customer ? -1 : 1;
  if (a->period != b->period) return a->period < b->period ? -1 : 1;
  return a->amount < b->amount ? -1 : a->amount > b->amount;
}

static int64_t period_of(int64_t ts, int64_t len) {
  int64_t p = ts / len;
  return (ts % len < 0) ? p - 1 : p;
}

/* One pass over the sorted items: counts the rows and checks the sums;
 * writes them when `out` is not NULL. */
static int walk(lp_clv *h, const split_item *it, size_t n, int64_t cal_p, double unit,
                lp_clv_split_row *out, size_t *rows) {
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    const uint64_t c = it[i].customer;
    const int64_t first = it[i].period;
    int64_t last = first, repeat = 0;
    double periods = 0, hold = 0;
    size_t j = i;
    while (j < n && it[j].customer == c) {
      const int64_t p = it[j].period;
      int64_t v = 0;
      for (; j < n && it[j].customer == c && it[j].period == p; j++)
        if (lp_i64_add_overflow(v, it[j].amount, &v))
          return lp_error_set(&h->err, LP_ERANGE, "split: customer %llu: a period's total passes the int64 range",
                              (unsigned long long)c);
      if (p > cal_p) {
        hold++;
        continue;
      }
      if (periods > 0 && lp_i64_add_overflow(repeat, v, &repeat))
        return lp_error_set(&h->err, LP_ERANGE, "split: customer %llu: the repeat value passes the int64 range",
                            (unsigned long long)c);
      periods++;
      last = p;
    }
    if (first <= cal_p) {
      if (out != NULL) {
        lp_clv_split_row r = {(uint32_t)sizeof(lp_clv_split_row), 0u, c, periods - 1,
                              (double)(last - first) / unit, (double)(cal_p - first) / unit,
                              periods > 1 ? (double)repeat / (periods - 1) : 0.0, hold};
        out[k] = r;
      }
      k++;
    }
    i = j;
  }
  *rows = k;
  return LP_OK;
}

int lp_clv_split(lp_clv *h, const lp_clv_txn *txns, size_t n, int64_t calibration_end,
                 int64_t holdout_end, int64_t period_seconds, double periods_per_unit,
                 lp_clv_split_row *out, size_t capacity, size_t *needed) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(&h->err, "lp_clv_split");
  if (needed == NULL) return lp_error_set(&h->err, LP_EINVAL, "needed: NULL");
  if (out == NULL && capacity > 0) return lp_error_set(&h->err, LP_EINVAL, "out: NULL with capacity > 0");
  if (txns == NULL && n > 0) return lp_error_set(&h->err, LP_EINVAL, "txns: NULL");
  if (holdout_end < calibration_end)
    return lp_error_set(&h->err, LP_EINVAL, "split: holdout_end is before calibration_end");
  if (period_seconds < 1 || period_seconds > 1000000000)
    return lp_error_set(&h->err, LP_EINVAL, "split: period_seconds must be in [1, 10^9]");
  if (!(periods_per_unit > 0.0 && periods_per_unit <= 1e12))
    return lp_error_set(&h->err, LP_EINVAL, "split: periods_per_unit must be in (0, 1e12]");
  const int64_t cal_p = period_of(calibration_end, period_seconds);
  const int64_t hold_p = period_of(holdout_end, period_seconds);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (txns[i].struct_size < sizeof(lp_clv_txn))
      return lp_error_set(&h->err, LP_EINVAL, "split: transaction %zu: struct_size too small", i);
    m += period_of(txns[i].ts, period_seconds) <= hold_p;
  }
  split_item *it = NULL;
  if (m > 0) {
    int rc = lp_mem_alloc_array(&h->mem, m, sizeof *it, (void **)&it);
    if (rc != LP_OK) return lp_error_set(&h->err, rc, "split: out of memory for %zu transactions", m);
  }
  for (size_t i = 0, k = 0; i < n; i++) {
    int64_t p = period_of(txns[i].ts, period_seconds);
    if (p > hold_p) continue;
    split_item x = {txns[i].customer, p, txns[i].amount};
    it[k++] = x;
  }
  /* (customer, period, amount) is a total order, and sums are exact, so
   * the rows do not depend on the order of the transactions. */
  if (m > 1) qsort(it, m, sizeof *it, item_cmp);
  size_t rows = 0;
  int rc = walk(h, it, m, cal_p, periods_per_unit, NULL, &rows);
  if (rc == LP_OK) {
    *needed = rows;
    if (out != NULL && capacity < rows)
      rc = lp_error_set(&h->err, LP_EBUFSIZE, "split: %zu rows needed, capacity %zu", rows, capacity);
    else if (out != NULL)
      rc = walk(h, it, m, cal_p, periods_per_unit, out, &rows);
  }
  lp_mem_free_array(&h->mem, it, m, sizeof *it);
  return rc;
}
