/*
 * Bitmaps: rank, select and ascending iteration.
 * SPDX-License-Identifier: MIT
 */
#include "core/bitmap_internal.h"

/* Values of c that are <= v. */
static uint32_t c_rank(const lp_bitmap_container *c, uint16_t v) {
  if (c->kind == LP_BITMAP_ARRAY) {
    const uint16_t *a = lpb_arr(c);
    uint32_t lo = 0, hi = c->n; /* first index with a[i] > v */
    while (lo < hi) {
      uint32_t mid = (lo + hi) >> 1;
      if (a[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  if (c->kind == LP_BITMAP_BITSET) return lpb_words_count_range(lpb_words(c), 0, v);
  const lp_bitmap_run *r = lpb_runs(c);
  uint32_t k = 0;
  for (uint32_t i = 0; i < c->n && r[i].start <= v; i++) {
    uint32_t e = (uint32_t)r[i].start + r[i].len;
    k += (e < v ? e : v) - r[i].start + 1;
  }
  return k;
}

uint64_t lp_bitmap_rank(const lp_bitmap *b, uint32_t v) {
  uint16_t key = (uint16_t)(v >> 16);
  uint64_t k = 0;
  for (uint32_t i = 0; i < b->n && b->keys[i] <= key; i++) {
    if (b->keys[i] < key) k += b->c[i].card;
    else k += c_rank(&b->c[i], (uint16_t)v);
  }
  return k;
}

/* The i-th value of c, i < card. */
static uint16_t c_select(const lp_bitmap_container *c, uint32_t i) {
  if (c->kind == LP_BITMAP_ARRAY) return lpb_arr(c)[i];
  if (c->kind == LP_BITMAP_BITSET) {
    const uint64_t *w = lpb_words(c);
    for (uint32_t j = 0;; j++) {
      uint32_t p = lpb_popcnt(w[j]);
      if (i < p) {
        uint64_t x = w[j];
        while (i--) x &= x - 1;
        return (uint16_t)(j * 64 + lpb_ctz(x));
      }
      i -= p;
    }
  }
  const lp_bitmap_run *r = lpb_runs(c);
  for (uint32_t j = 0;; j++) {
    uint32_t len = (uint32_t)r[j].len + 1;
    if (i < len) return (uint16_t)(r[j].start + i);
    i -= len;
  }
}

bool lp_bitmap_select(const lp_bitmap *b, uint64_t i, uint32_t *v) {
  for (uint32_t x = 0; x < b->n; x++) {
    if (i < b->c[x].card) {
      *v = ((uint32_t)b->keys[x] << 16) | c_select(&b->c[x], (uint32_t)i);
      return true;
    }
    i -= b->c[x].card;
  }
  return false;
}

/* ---- iteration ---- */

/* Position at the first value >= lo of container it->ci (or the next
 * container when it has none). */
static void iter_seek(lp_bitmap_iter *it, uint32_t lo) {
  const lp_bitmap *b = it->b;
  for (; it->ci < b->n; it->ci++, lo = 0) {
    const lp_bitmap_container *c = &b->c[it->ci];
    if (c->kind == LP_BITMAP_ARRAY) {
      const uint16_t *a = lpb_arr(c);
      uint32_t l = 0, h = c->n;
      while (l < h) {
        uint32_t mid = (l + h) >> 1;
        if (a[mid] < lo) l = mid + 1;
        else h = mid;
      }
      if (l < c->n) {
        it->pos = l;
        return;
      }
    } else if (c->kind == LP_BITMAP_BITSET) {
      const uint64_t *w = lpb_words(c);
      uint32_t p = lo >> 6;
      uint64_t x = w[p] & (~0ull << (lo & 63));
      while (!x && ++p < LP_BITMAP_WORDS) x = w[p];
      if (x) {
        it->pos = p;
        it->word = x;
        return;
      }
    } else {
      const lp_bitmap_run *r = lpb_runs(c);
      uint32_t l = 0, h = c->n; /* first run with end >= lo */
      while (l < h) {
        uint32_t mid = (l + h) >> 1;
        if ((uint32_t)r[mid].start + r[mid].len < lo) l = mid + 1;
        else h = mid;
      }
      if (l < c->n) {
        it->pos = l;
        it->next = r[l].start > lo ? r[l].start : lo;
        return;
      }
    }
  }
}

void lp_bitmap_iter_init(lp_bitmap_iter *it, const lp_bitmap *b, uint32_t from) {
  it->b = b;
  it->pos = 0;
  it->word = 0;
  it->next = 0;
  int64_t i = lpb_find(b, (uint16_t)(from >> 16));
  if (i >= 0) {
    it->ci = (uint32_t)i;
    iter_seek(it, from & 0xffffu);
  } else {
    it->ci = (uint32_t)(-i - 1);
    iter_seek(it, 0);
  }
}

size_t lp_bitmap_iter_next(lp_bitmap_iter *it, uint32_t *out, size_t cap) {
  const lp_bitmap *b = it->b;
  size_t k = 0;
  while (k < cap && it->ci < b->n) {
    const lp_bitmap_container *c = &b->c[it->ci];
    uint32_t hi = (uint32_t)b->keys[it->ci] << 16;
    bool done = false;
    if (c->kind == LP_BITMAP_ARRAY) {
      const uint16_t *a = lpb_arr(c);
      size_t take = c->n - it->pos;
      if (take > cap - k) take = cap - k;
      for (size_t i = 0; i < take; i++) out[k + i] = hi | a[it->pos + i];
      k += take;
      it->pos += (uint32_t)take;
      done = it->pos == c->n;
    } else if (c->kind == LP_BITMAP_BITSET) {
      const uint64_t *w = lpb_words(c);
      uint64_t x = it->word;
      uint32_t p = it->pos;
      while (k < cap) {
        while (!x) {
          if (++p == LP_BITMAP_WORDS) break;
          x = w[p];
        }
        if (!x) break;
        out[k++] = hi | (p * 64 + lpb_ctz(x));
        x &= x - 1;
      }
      it->pos = p;
      it->word = x;
      if (!x) { /* look ahead so that "done" is exact */
        while (p + 1 < LP_BITMAP_WORDS && !x) x = w[++p];
        it->pos = p;
        it->word = x;
        done = !x;
      }
    } else {
      const lp_bitmap_run *r = lpb_runs(c);
      while (k < cap && it->pos < c->n) {
        uint32_t end = (uint32_t)r[it->pos].start + r[it->pos].len;
        uint32_t v = it->next;
        while (k < cap && v <= end) out[k++] = hi | v++;
        it->next = v;
        if (v > end && ++it->pos < c->n) it->next = r[it->pos].start;
      }
      done = it->pos == c->n;
    }
    if (done) {
      it->ci++;
      iter_seek(it, 0);
    }
  }
  return k;
}
