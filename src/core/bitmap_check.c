/*
 * Bitmaps: the invariant checker (CRoaring's internal_validate is the
 * model). The tests call it after every operation and every injected
 * failure, the fuzz target after every accepted input.
 * SPDX-License-Identifier: MIT
 */
#include "core/bitmap_internal.h"

static int check_container(const lp_bitmap_container *c) {
  if (!c->data || c->card == 0 || c->card > LPB_FULL) return LP_ECORRUPT;
  switch (c->kind) {
  case LP_BITMAP_ARRAY: {
    if (c->n != c->card || c->n > LP_BITMAP_ARRAY_MAX || c->n > c->cap ||
        c->cap > LP_BITMAP_ARRAY_MAX)
      return LP_ECORRUPT;
    const uint16_t *a = lpb_arr(c);
    for (uint32_t i = 1; i < c->n; i++)
      if (a[i] <= a[i - 1]) return LP_ECORRUPT;
    return LP_OK;
  }
  case LP_BITMAP_BITSET:
    if (c->n != LP_BITMAP_WORDS || c->cap != LP_BITMAP_WORDS || c->card <= LP_BITMAP_ARRAY_MAX)
      return LP_ECORRUPT;
    return lpb_words_card(lpb_words(c)) == c->card ? LP_OK : LP_ECORRUPT;
  case LP_BITMAP_RUN: {
    if (c->n == 0 || c->n > c->cap || c->cap > 32768) return LP_ECORRUPT;
    const lp_bitmap_run *r = lpb_runs(c);
    uint64_t total = 0;
    int64_t prev_end = -2;
    for (uint32_t i = 0; i < c->n; i++) {
      uint32_t s = r[i].start, l = r[i].len;
      if (s + l > 0xffffu || (int64_t)s <= prev_end + 1) return LP_ECORRUPT;
      total += l + 1;
      prev_end = (int64_t)s + l;
    }
    return total == c->card ? LP_OK : LP_ECORRUPT;
  }
  default: return LP_ECORRUPT;
  }
}

int lp_bitmap_check(const lp_bitmap *b) {
  if (b->n > b->cap || b->cap > LPB_FULL) return LP_ECORRUPT;
  if (b->cap == 0) return b->c == NULL && b->keys == NULL ? LP_OK : LP_ECORRUPT;
  if (!b->c || b->keys != (const uint16_t *)(const void *)(b->c + b->cap)) return LP_ECORRUPT;
  for (uint32_t i = 0; i < b->n; i++) {
    if (i && b->keys[i] <= b->keys[i - 1]) return LP_ECORRUPT;
    int rc = check_container(&b->c[i]);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}
