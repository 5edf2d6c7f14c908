/*
 * Growable array.
 * SPDX-License-Identifier: MIT
 */
#include "core/vec.h"

int lp_vec_reserve(lp_vec *v, const lp_mem *m, size_t n) {
  /* Grow by half again: amortised O(1) appends, less slack than doubling. */
  return lp_vec_reserve_by(v, m, n, 2);
}

int lp_vec_reserve_by(lp_vec *v, const lp_mem *m, size_t n, size_t divisor) {
  if (n <= v->cap) return LP_OK;
  size_t want = v->cap + v->cap / divisor;
  if (want < n) want = n;
  if (want < 8) want = 8;
  void *p = v->data;
  int rc = lp_mem_realloc_array(m, &p, v->cap, want, v->esz);
  if (rc == LP_ENOMEM && want > n) {
    /* The generous size failed; the exact size may still fit. */
    want = n;
    rc = lp_mem_realloc_array(m, &p, v->cap, want, v->esz);
  }
  if (rc != LP_OK) return rc;
  v->data = p;
  v->cap = want;
  return LP_OK;
}

int lp_vec_append(lp_vec *v, const lp_mem *m, const void *src, size_t count) {
  size_t n;
  if (lp_add_overflow(v->len, count, &n)) return LP_ELIMIT;
  int rc = lp_vec_reserve(v, m, n);
  if (rc != LP_OK) return rc;
  if (count > 0) {
    unsigned char *dst = v->data + v->len * v->esz;
    if (src != NULL)
      memcpy(dst, src, count * v->esz);
    else
      memset(dst, 0, count * v->esz);
  }
  v->len = n;
  return LP_OK;
}

void lp_vec_free(lp_vec *v, const lp_mem *m) {
  lp_mem_free_array(m, v->data, v->cap, v->esz);
  v->data = NULL;
  v->len = 0;
  v->cap = 0;
}

int lp_vec_shrink(lp_vec *v, const lp_mem *m) {
  if (v->len == v->cap) return LP_OK;
  if (v->len == 0) {
    lp_vec_free(v, m);
    return LP_OK;
  }
  void *p = v->data;
  int rc = lp_mem_realloc_array(m, &p, v->cap, v->len, v->esz);
  if (rc != LP_OK) return rc;
  v->data = p;
  v->cap = v->len;
  return LP_OK;
}
