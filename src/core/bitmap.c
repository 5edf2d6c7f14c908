/*
 * Bitmaps: containers, the container table, single values and ranges.
 * SPDX-License-Identifier: MIT
 */
#include "core/bitmap_internal.h"

/* ---- word helpers ------------------------------------------------------ */

void lpb_words_set_range(uint64_t *w, uint32_t lo, uint32_t hi) {
  uint32_t a = lo >> 6, z = hi >> 6;
  uint64_t ma = ~0ull << (lo & 63), mz = ~0ull >> (63 - (hi & 63));
  if (a == z) {
    w[a] |= ma & mz;
    return;
  }
  w[a] |= ma;
  for (uint32_t i = a + 1; i < z; i++) w[i] = ~0ull;
  w[z] |= mz;
}

uint32_t lpb_words_count_range(const uint64_t *w, uint32_t lo, uint32_t hi) {
  uint32_t a = lo >> 6, z = hi >> 6;
  uint64_t ma = ~0ull << (lo & 63), mz = ~0ull >> (63 - (hi & 63));
  if (a == z) return lpb_popcnt(w[a] & ma & mz);
  uint32_t n = lpb_popcnt(w[a] & ma) + lpb_popcnt(w[z] & mz);
  for (uint32_t i = a + 1; i < z; i++) n += lpb_popcnt(w[i]);
  return n;
}

uint32_t lpb_words_to_runs(const uint64_t *words, lp_bitmap_run *r) {
  uint32_t k = 0, i = 0;
  uint64_t w = words[0];
  for (;;) {
    while (w == 0) {
      if (++i == LP_BITMAP_WORDS) return k;
      w = words[i];
    }
    uint32_t start = i * 64 + lpb_ctz(w);
    w |= w - 1;
    while (w == ~0ull) {
      if (++i == LP_BITMAP_WORDS) {
        r[k].start = (uint16_t)start;
        r[k].len = (uint16_t)(65535u - start);
        return k + 1;
      }
      w = words[i];
    }
    uint32_t end = i * 64 + lpb_ctz(~w); /* exclusive */
    r[k].start = (uint16_t)start;
    r[k].len = (uint16_t)(end - 1 - start);
    k++;
    w &= w + 1;
  }
}

static uint32_t words_to_array(const uint64_t *w, uint16_t *out) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {
    uint64_t x = w[i];
    while (x) {
      out[k++] = (uint16_t)(i * 64 + lpb_ctz(x));
      x &= x - 1;
    }
  }
  return k;
}

/* ---- containers --------------------------------------------------------- */

size_t lpb_c_bytes(const lp_bitmap_container *c) {
  switch (c->kind) {
  case LP_BITMAP_ARRAY: return (size_t)c->cap * sizeof(uint16_t);
  case LP_BITMAP_BITSET: return LPB_BITSET_BYTES;
  default: return (size_t)c->cap * sizeof(lp_bitmap_run);
  }
}

void lpb_c_free(const lp_mem *m, lp_bitmap_container *c) {
  if (c->data) lp_mem_free(m, c->data, lpb_c_bytes(c));
  c->data = NULL;
  c->card = c->n = c->cap = 0;
}

/* An empty container of `kind` with room for cap elements of esz bytes. */
static int c_new(const lp_mem *m, lp_bitmap_container *c, uint32_t kind, uint32_t cap, size_t esz,
                 bool zero) {
  void *p = zero ? lp_mem_zalloc(m, (size_t)cap * esz) : lp_mem_alloc(m, (size_t)cap * esz);
  if (!p) return LP_ENOMEM;
  c->data = p;
  c->card = 0;
  c->n = kind == LP_BITMAP_BITSET ? LP_BITMAP_WORDS : 0;
  c->cap = cap;
  c->kind = kind;
  return LP_OK;
}

int lpb_c_array_new(const lp_mem *m, lp_bitmap_container *c, uint32_t cap) {
  return c_new(m, c, LP_BITMAP_ARRAY, cap, sizeof(uint16_t), false);
}

int lpb_c_bitset_new(const lp_mem *m, lp_bitmap_container *c, bool zero) {
  return c_new(m, c, LP_BITMAP_BITSET, LP_BITMAP_WORDS, sizeof(uint64_t), zero);
}

int lpb_c_run_new(const lp_mem *m, lp_bitmap_container *c, uint32_t cap) {
  return c_new(m, c, LP_BITMAP_RUN, cap, sizeof(lp_bitmap_run), false);
}

int lpb_c_copy(const lp_mem *m, lp_bitmap_container *dst, const lp_bitmap_container *src) {
  lp_bitmap_container c = *src;
  size_t bytes;
  if (src->kind == LP_BITMAP_BITSET) {
    bytes = LPB_BITSET_BYTES;
  } else {
    c.cap = src->n;
    bytes = lpb_c_bytes(&c);
  }
  c.data = lp_mem_alloc(m, bytes);
  if (!c.data) return LP_ENOMEM;
  memcpy(c.data, src->data, bytes);
  *dst = c;
  return LP_OK;
}

/* First index in a[0..n) with a[i] >= v. */
static uint32_t arr_lower(const uint16_t *a, uint32_t n, uint16_t v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Index of the last run with start <= v, or -1. */
static int32_t run_floor(const lp_bitmap_run *r, uint32_t n, uint16_t v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) >> 1;
    if (r[mid].start <= v) lo = mid + 1;
    else hi = mid;
  }
  return (int32_t)lo - 1;
}

bool lpb_c_contains(const lp_bitmap_container *c, uint16_t v) {
  switch (c->kind) {
  case LP_BITMAP_ARRAY: {
    const uint16_t *a = lpb_arr(c);
    uint32_t i = arr_lower(a, c->n, v);
    return i < c->n && a[i] == v;
  }
  case LP_BITMAP_BITSET: return (lpb_words(c)[v >> 6] >> (v & 63)) & 1u;
  default: {
    const lp_bitmap_run *r = lpb_runs(c);
    int32_t i = run_floor(r, c->n, v);
    return i >= 0 && (uint32_t)v - r[i].start <= r[i].len;
  }
  }
}

void lpb_c_to_words(const lp_bitmap_container *c, uint64_t *w) {
  if (c->kind == LP_BITMAP_BITSET) {
    memcpy(w, c->data, LPB_BITSET_BYTES);
    return;
  }
  memset(w, 0, LPB_BITSET_BYTES);
  if (c->kind == LP_BITMAP_ARRAY) {
    const uint16_t *a = lpb_arr(c);
    for (uint32_t i = 0; i < c->n; i++) w[a[i] >> 6] |= 1ull << (a[i] & 63);
  } else {
    const lp_bitmap_run *r = lpb_runs(c);
    for (uint32_t i = 0; i < c->n; i++) lpb_words_set_range(w, r[i].start, (uint32_t)r[i].start + r[i].len);
  }
}

int lpb_c_from_words(const lp_mem *m, uint64_t *block, uint32_t card, bool allow_run,
                     lp_bitmap_container *out) {
  lp_bitmap_container c;
  memset(out, 0, sizeof *out);
  if (card == 0) {
    lp_mem_free(m, block, LPB_BITSET_BYTES);
    return LP_OK;
  }
  uint32_t nruns = 0;
  if (card == LPB_FULL) nruns = 1;
  else if (allow_run) nruns = lpb_words_nruns(block);
  if (nruns && lpb_run_is_smaller(nruns, card)) {
    if (lpb_c_run_new(m, &c, nruns) != LP_OK) {
      lp_mem_free(m, block, LPB_BITSET_BYTES);
      return LP_ENOMEM;
    }
    c.n = lpb_words_to_runs(block, lpb_runs(&c));
    c.card = card;
    lp_mem_free(m, block, LPB_BITSET_BYTES);
    *out = c;
    return LP_OK;
  }
  if (card <= LP_BITMAP_ARRAY_MAX) {
    if (lpb_c_array_new(m, &c, card) != LP_OK) {
      lp_mem_free(m, block, LPB_BITSET_BYTES);
      return LP_ENOMEM;
    }
    c.n = c.card = words_to_array(block, lpb_arr(&c));
    lp_mem_free(m, block, LPB_BITSET_BYTES);
    *out = c;
    return LP_OK;
  }
  out->data = block;
  out->card = card;
  out->n = out->cap = LP_BITMAP_WORDS;
  out->kind = LP_BITMAP_BITSET;
  return LP_OK;
}

uint32_t lpb_c_nruns(const lp_bitmap_container *c) {
  switch (c->kind) {
  case LP_BITMAP_ARRAY: {
    const uint16_t *a = lpb_arr(c);
    uint32_t n = c->n ? 1 : 0;
    for (uint32_t i = 1; i < c->n; i++) n += a[i] != (uint16_t)(a[i - 1] + 1);
    return n;
  }
  case LP_BITMAP_BITSET: return lpb_words_nruns(lpb_words(c));
  default: return c->n;
  }
}

int lpb_c_convert(const lp_mem *m, const lp_bitmap_container *c, bool want_run,
                  lp_bitmap_container *out) {
  lp_bitmap_container t;
  if (want_run && c->kind != LP_BITMAP_RUN) {
    uint32_t nr = lpb_c_nruns(c);
    if (lpb_c_run_new(m, &t, nr) != LP_OK) return LP_ENOMEM;
    lp_bitmap_run *r = lpb_runs(&t);
    if (c->kind == LP_BITMAP_BITSET) {
      t.n = lpb_words_to_runs(lpb_words(c), r);
    } else {
      const uint16_t *a = lpb_arr(c);
      uint32_t k = 0;
      for (uint32_t i = 0; i < c->n; i++) {
        if (k && a[i] == (uint32_t)r[k - 1].start + r[k - 1].len + 1) {
          r[k - 1].len++;
        } else {
          r[k].start = a[i];
          r[k].len = 0;
          k++;
        }
      }
      t.n = k;
    }
    t.card = c->card;
    *out = t;
    return LP_OK;
  }
  bool to_array = c->card <= LP_BITMAP_ARRAY_MAX;
  if (want_run || (c->kind == LP_BITMAP_ARRAY && to_array) ||
      (c->kind == LP_BITMAP_BITSET && !to_array))
    return lpb_c_copy(m, out, c);
  if (to_array) {
    if (lpb_c_array_new(m, &t, c->card) != LP_OK) return LP_ENOMEM;
    uint16_t *a = lpb_arr(&t);
    if (c->kind == LP_BITMAP_BITSET) {
      words_to_array(lpb_words(c), a);
    } else {
      const lp_bitmap_run *r = lpb_runs(c);
      uint32_t k = 0;
      for (uint32_t i = 0; i < c->n; i++)
        for (uint32_t v = r[i].start; v <= (uint32_t)r[i].start + r[i].len; v++) a[k++] = (uint16_t)v;
    }
    t.n = c->card;
  } else {
    if (lpb_c_bitset_new(m, &t, false) != LP_OK) return LP_ENOMEM;
    lpb_c_to_words(c, lpb_words(&t));
  }
  t.card = c->card;
  *out = t;
  return LP_OK;
}

/* ---- the container table -------------------------------------------------- */

#define LPB_SLOT_BYTES (sizeof(lp_bitmap_container) + sizeof(uint16_t))

int64_t lpb_find(const lp_bitmap *b, uint16_t key) {
  uint32_t n = b->n;
  if (n && b->keys[n - 1] == key) return (int64_t)n - 1;
  if (n && b->keys[n - 1] < key) return -(int64_t)n - 1;
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) >> 1;
    if (b->keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n && b->keys[lo] == key) return lo;
  return -(int64_t)lo - 1;
}

static int reserve_exact(lp_bitmap *b, const lp_mem *m, uint32_t cap) {
  if (cap > LPB_FULL) return LP_ELIMIT;
  unsigned char *blk = lp_mem_alloc(m, (size_t)cap * LPB_SLOT_BYTES);
  if (!blk) return LP_ENOMEM;
  lp_bitmap_container *c = (lp_bitmap_container *)(void *)blk;
  uint16_t *keys = (uint16_t *)(void *)(blk + (size_t)cap * sizeof(lp_bitmap_container));
  if (b->n) {
    memcpy(c, b->c, (size_t)b->n * sizeof *c);
    memcpy(keys, b->keys, (size_t)b->n * sizeof *keys);
  }
  if (b->c) lp_mem_free(m, b->c, (size_t)b->cap * LPB_SLOT_BYTES);
  b->c = c;
  b->keys = keys;
  b->cap = cap;
  return LP_OK;
}

int lpb_reserve(lp_bitmap *b, const lp_mem *m, uint32_t n) {
  if (n <= b->cap) return LP_OK;
  if (n > LPB_FULL) return LP_ELIMIT;
  uint64_t cap = b->cap < 4 ? 4 : (uint64_t)b->cap * 2;
  if (cap < n) cap = n;
  if (cap > LPB_FULL) cap = LPB_FULL;
  return reserve_exact(b, m, (uint32_t)cap);
}

void lpb_insert_at(lp_bitmap *b, uint32_t idx, uint16_t key, const lp_bitmap_container *c) {
  memmove(b->c + idx + 1, b->c + idx, (size_t)(b->n - idx) * sizeof *b->c);
  memmove(b->keys + idx + 1, b->keys + idx, (size_t)(b->n - idx) * sizeof *b->keys);
  b->c[idx] = *c;
  b->keys[idx] = key;
  b->n++;
}

void lpb_remove_at(lp_bitmap *b, const lp_mem *m, uint32_t idx) {
  lpb_c_free(m, &b->c[idx]);
  memmove(b->c + idx, b->c + idx + 1, (size_t)(b->n - idx - 1) * sizeof *b->c);
  memmove(b->keys + idx, b->keys + idx + 1, (size_t)(b->n - idx - 1) * sizeof *b->keys);
  b->n--;
}

/* ---- life cycle ------------------------------------------------------------ */

void lp_bitmap_init(lp_bitmap *b) {
  b->c = NULL;
  b->keys = NULL;
  b->n = b->cap = 0;
}

void lp_bitmap_release(lp_bitmap *b, const lp_mem *m) {
  for (uint32_t i = 0; i < b->n; i++) lpb_c_free(m, &b->c[i]);
  if (b->c) lp_mem_free(m, b->c, (size_t)b->cap * LPB_SLOT_BYTES);
  lp_bitmap_init(b);
}

void lp_bitmap_swap(lp_bitmap *a, lp_bitmap *b) {
  lp_bitmap t = *a;
  *a = *b;
  *b = t;
}

/* ---- single values ------------------------------------------------------------ */

static int c_add(const lp_mem *m, lp_bitmap_container *c, uint16_t v) {
  if (c->kind == LP_BITMAP_BITSET) {
    uint64_t *w = lpb_words(c);
    uint64_t bit = 1ull << (v & 63);
    if (!(w[v >> 6] & bit)) {
      w[v >> 6] |= bit;
      c->card++;
    }
    return LP_OK;
  }
  if (c->kind == LP_BITMAP_ARRAY) {
    uint16_t *a = lpb_arr(c);
    uint32_t i = arr_lower(a, c->n, v);
    if (i < c->n && a[i] == v) return LP_OK;
    if (c->n == LP_BITMAP_ARRAY_MAX) {
      lp_bitmap_container t;
      if (lpb_c_bitset_new(m, &t, false) != LP_OK) return LP_ENOMEM;
      lpb_c_to_words(c, lpb_words(&t));
      lpb_words(&t)[v >> 6] |= 1ull << (v & 63);
      t.card = c->card + 1;
      lpb_c_free(m, c);
      *c = t;
      return LP_OK;
    }
    if (c->n == c->cap) {
      uint32_t ncap = c->cap < 4 ? 4 : c->cap * 2;
      if (ncap > LP_BITMAP_ARRAY_MAX) ncap = LP_BITMAP_ARRAY_MAX;
      void *p = lp_mem_realloc(m, c->data, (size_t)c->cap * 2, (size_t)ncap * 2);
      if (!p) return LP_ENOMEM;
      c->data = p;
      c->cap = ncap;
      a = p;
    }
    memmove(a + i + 1, a + i, (size_t)(c->n - i) * sizeof *a);
    a[i] = v;
    c->n++;
    c->card++;
    return LP_OK;
  }
  lp_bitmap_run *r = lpb_runs(c);
  int32_t i = run_floor(r, c->n, v);
  if (i >= 0 && (uint32_t)v - r[i].start <= r[i].len) return LP_OK;
  bool join_prev = i >= 0 && (uint32_t)r[i].start + r[i].len + 1 == v;
  bool join_next = (uint32_t)(i + 1) < c->n && r[i + 1].start == (uint32_t)v + 1;
  if (join_prev && join_next) {
    r[i].len = (uint16_t)(r[i].len + r[i + 1].len + 2);
    memmove(r + i + 1, r + i + 2, (size_t)(c->n - (uint32_t)i - 2) * sizeof *r);
    c->n--;
  } else if (join_prev) {
    r[i].len++;
  } else if (join_next) {
    r[i + 1].start--;
    r[i + 1].len++;
  } else {
    if (!lpb_run_is_smaller(c->n + 1, c->card + 1)) {
      /* The run form stopped paying: leave it, then add to the new form. */
      lp_bitmap_container t;
      int rc = lpb_c_convert(m, c, false, &t);
      if (rc != LP_OK) return rc;
      rc = c_add(m, &t, v);
      if (rc != LP_OK) { /* growth failed: keep the run form */
        lpb_c_free(m, &t);
        return rc;
      }
      lpb_c_free(m, c);
      *c = t;
      return LP_OK;
    }
    if (c->n == c->cap) {
      uint32_t ncap = c->cap < 4 ? 4 : c->cap * 2;
      if (ncap > 32768) ncap = 32768;
      void *p = lp_mem_realloc(m, c->data, (size_t)c->cap * sizeof *r, (size_t)ncap * sizeof *r);
      if (!p) return LP_ENOMEM;
      c->data = p;
      c->cap = ncap;
      r = p;
    }
    uint32_t at = (uint32_t)(i + 1);
    memmove(r + at + 1, r + at, (size_t)(c->n - at) * sizeof *r);
    r[at].start = v;
    r[at].len = 0;
    c->n++;
  }
  c->card++;
  return LP_OK;
}

int lp_bitmap_add(lp_bitmap *b, const lp_mem *m, uint32_t v) {
  uint16_t key = (uint16_t)(v >> 16);
  int64_t i = lpb_find(b, key);
  if (i >= 0) return c_add(m, &b->c[i], (uint16_t)v);
  int rc = lpb_reserve(b, m, b->n + 1);
  if (rc != LP_OK) return rc;
  lp_bitmap_container c;
  if (lpb_c_array_new(m, &c, 4) != LP_OK) return LP_ENOMEM;
  lpb_arr(&c)[0] = (uint16_t)v;
  c.n = c.card = 1;
  lpb_insert_at(b, (uint32_t)(-i - 1), key, &c);
  return LP_OK;
}

static int c_remove(lp_bitmap *b, const lp_mem *m, uint32_t idx, uint16_t v) {
  lp_bitmap_container *c = &b->c[idx];
  if (c->card == 1) {
    if (lpb_c_contains(c, v)) lpb_remove_at(b, m, idx);
    return LP_OK;
  }
  if (c->kind == LP_BITMAP_ARRAY) {
    uint16_t *a = lpb_arr(c);
    uint32_t i = arr_lower(a, c->n, v);
    if (i == c->n || a[i] != v) return LP_OK;
    memmove(a + i, a + i + 1, (size_t)(c->n - i - 1) * sizeof *a);
    c->n--;
    c->card--;
    return LP_OK;
  }
  if (c->kind == LP_BITMAP_BITSET) {
    uint64_t *w = lpb_words(c);
    uint64_t bit = 1ull << (v & 63);
    if (!(w[v >> 6] & bit)) return LP_OK;
    if (c->card - 1 <= LP_BITMAP_ARRAY_MAX) {
      lp_bitmap_container t;
      if (lpb_c_array_new(m, &t, c->card - 1) != LP_OK) return LP_ENOMEM;
      w[v >> 6] &= ~bit;
      t.n = t.card = words_to_array(w, lpb_arr(&t));
      lpb_c_free(m, c);
      *c = t;
      return LP_OK;
    }
    w[v >> 6] &= ~bit;
    c->card--;
    return LP_OK;
  }
  lp_bitmap_run *r = lpb_runs(c);
  int32_t i = run_floor(r, c->n, v);
  if (i < 0 || (uint32_t)v - r[i].start > r[i].len) return LP_OK;
  uint32_t end = (uint32_t)r[i].start + r[i].len;
  if (r[i].len == 0) {
    memmove(r + i, r + i + 1, (size_t)(c->n - (uint32_t)i - 1) * sizeof *r);
    c->n--;
  } else if (v == r[i].start) {
    r[i].start++;
    r[i].len--;
  } else if (v == end) {
    r[i].len--;
  } else {
    if (c->n == c->cap) {
      uint32_t ncap = c->cap * 2;
      if (ncap > 32768) ncap = 32768;
      void *p = lp_mem_realloc(m, c->data, (size_t)c->cap * sizeof *r, (size_t)ncap * sizeof *r);
      if (!p) return LP_ENOMEM;
      c->data = p;
      c->cap = ncap;
      r = p;
    }
    memmove(r + i + 2, r + i + 1, (size_t)(c->n - (uint32_t)i - 1) * sizeof *r);
    r[i].len = (uint16_t)(v - 1 - r[i].start);
    r[i + 1].start = (uint16_t)(v + 1);
    r[i + 1].len = (uint16_t)(end - v - 1);
    c->n++;
  }
  c->card--;
  return LP_OK;
}

int lp_bitmap_remove(lp_bitmap *b, const lp_mem *m, uint32_t v) {
  int64_t i = lpb_find(b, (uint16_t)(v >> 16));
  if (i < 0) return LP_OK;
  return c_remove(b, m, (uint32_t)i, (uint16_t)v);
}

bool lp_bitmap_contains(const lp_bitmap *b, uint32_t v) {
  int64_t i = lpb_find(b, (uint16_t)(v >> 16));
  return i >= 0 && lpb_c_contains(&b->c[i], (uint16_t)v);
}

uint64_t lp_bitmap_cardinality(const lp_bitmap *b) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < b->n; i++) n += b->c[i].card;
  return n;
}

bool lp_bitmap_is_empty(const lp_bitmap *b) { return b->n == 0; }

bool lp_bitmap_minimum(const lp_bitmap *b, uint32_t *v) {
  if (!b->n) return false;
  const lp_bitmap_container *c = &b->c[0];
  uint32_t lo;
  if (c->kind == LP_BITMAP_ARRAY) {
    lo = lpb_arr(c)[0];
  } else if (c->kind == LP_BITMAP_RUN) {
    lo = lpb_runs(c)[0].start;
  } else {
    const uint64_t *w = lpb_words(c);
    uint32_t i = 0;
    while (!w[i]) i++;
    lo = i * 64 + lpb_ctz(w[i]);
  }
  *v = ((uint32_t)b->keys[0] << 16) | lo;
  return true;
}

bool lp_bitmap_maximum(const lp_bitmap *b, uint32_t *v) {
  if (!b->n) return false;
  const lp_bitmap_container *c = &b->c[b->n - 1];
  uint32_t hi;
  if (c->kind == LP_BITMAP_ARRAY) {
    hi = lpb_arr(c)[c->n - 1];
  } else if (c->kind == LP_BITMAP_RUN) {
    const lp_bitmap_run *r = &lpb_runs(c)[c->n - 1];
    hi = (uint32_t)r->start + r->len;
  } else {
    const uint64_t *w = lpb_words(c);
    uint32_t i = LP_BITMAP_WORDS - 1;
    while (!w[i]) i--;
    hi = i * 64 + 63 - lpb_clz(w[i]);
  }
  *v = ((uint32_t)b->keys[b->n - 1] << 16) | hi;
  return true;
}

int lp_bitmap_copy(lp_bitmap *dst, const lp_mem *m, const lp_bitmap *src) {
  lp_bitmap t;
  lp_bitmap_init(&t);
  if (src->n) {
    int rc = reserve_exact(&t, m, src->n);
    if (rc != LP_OK) return rc;
    for (uint32_t i = 0; i < src->n; i++) {
      lp_bitmap_container c;
      if (lpb_c_copy(m, &c, &src->c[i]) != LP_OK) {
        lp_bitmap_release(&t, m);
        return LP_ENOMEM;
      }
      lpb_push(&t, src->keys[i], &c);
    }
  }
  lpb_replace(dst, m, &t);
  return LP_OK;
}

bool lp_bitmap_equal(const lp_bitmap *a, const lp_bitmap *b) {
  if (a->n != b->n) return false;
  if (a->n && memcmp(a->keys, b->keys, (size_t)a->n * sizeof *a->keys) != 0) return false;
  for (uint32_t i = 0; i < a->n; i++) {
    const lp_bitmap_container *x = &a->c[i], *y = &b->c[i];
    if (x->card != y->card) return false;
    if (x->kind == y->kind) {
      size_t bytes = x->kind == LP_BITMAP_BITSET ? LPB_BITSET_BYTES
                     : x->kind == LP_BITMAP_ARRAY ? (size_t)x->n * 2
                                                  : (size_t)x->n * sizeof(lp_bitmap_run);
      if (x->n != y->n || memcmp(x->data, y->data, bytes) != 0) return false;
    } else {
      uint64_t wx[LP_BITMAP_WORDS], wy[LP_BITMAP_WORDS];
      lpb_c_to_words(x, wx);
      lpb_c_to_words(y, wy);
      if (memcmp(wx, wy, sizeof wx) != 0) return false;
    }
  }
  return true;
}

int lp_bitmap_run_optimize(lp_bitmap *b, const lp_mem *m) {
  if (!b->n) return LP_OK;
  /* Build every converted container first, so a failure changes nothing. */
  lp_bitmap_container *nc;
  int rc = lp_mem_alloc_array(m, b->n, sizeof *nc, (void **)&nc);
  if (rc != LP_OK) return rc;
  for (uint32_t i = 0; i < b->n; i++) {
    const lp_bitmap_container *c = &b->c[i];
    bool want_run = lpb_run_is_smaller(lpb_c_nruns(c), c->card);
    nc[i] = *c;
    nc[i].data = NULL;
    if (want_run == (c->kind == LP_BITMAP_RUN)) continue;
    lp_bitmap_container t;
    rc = lpb_c_convert(m, c, want_run, &t);
    if (rc != LP_OK) {
      for (uint32_t j = 0; j < i; j++)
        if (nc[j].data) lpb_c_free(m, &nc[j]);
      lp_mem_free_array(m, nc, b->n, sizeof *nc);
      return rc;
    }
    nc[i] = t;
  }
  for (uint32_t i = 0; i < b->n; i++) {
    if (!nc[i].data) continue;
    lpb_c_free(m, &b->c[i]);
    b->c[i] = nc[i];
  }
  lp_mem_free_array(m, nc, b->n, sizeof *nc);
  return LP_OK;
}

int lp_bitmap_shrink(lp_bitmap *b, const lp_mem *m) {
  lp_bitmap t;
  lp_bitmap_init(&t);
  int rc = lp_bitmap_copy(&t, m, b);
  if (rc != LP_OK) return rc;
  lpb_replace(b, m, &t);
  return LP_OK;
}

size_t lp_bitmap_size_in_bytes(const lp_bitmap *b) {
  size_t n = (size_t)b->cap * LPB_SLOT_BYTES;
  for (uint32_t i = 0; i < b->n; i++) n += lpb_c_bytes(&b->c[i]);
  return n;
}

/* ---- ranges and batches ------------------------------------------------------ */

/* *out = the values of [lo, hi_excl) (caller checked the bounds). */
static int range_bitmap(lp_bitmap *out, const lp_mem *m, uint32_t lo, uint64_t hi_excl) {
  lp_bitmap t;
  lp_bitmap_init(&t);
  uint32_t hi = (uint32_t)(hi_excl - 1);
  uint32_t k0 = lo >> 16, k1 = hi >> 16;
  int rc = reserve_exact(&t, m, k1 - k0 + 1);
  if (rc != LP_OK) return rc;
  for (uint32_t k = k0; k <= k1; k++) {
    uint32_t s = k == k0 ? (lo & 0xffffu) : 0;
    uint32_t e = k == k1 ? (hi & 0xffffu) : 0xffffu;
    uint32_t card = e - s + 1;
    lp_bitmap_container c;
    if (lpb_run_is_smaller(1, card)) {
      rc = lpb_c_run_new(m, &c, 1);
      if (rc == LP_OK) {
        lpb_runs(&c)[0].start = (uint16_t)s;
        lpb_runs(&c)[0].len = (uint16_t)(e - s);
        c.n = 1;
      }
    } else {
      rc = lpb_c_array_new(m, &c, card);
      if (rc == LP_OK) {
        for (uint32_t v = s; v <= e; v++) lpb_arr(&c)[v - s] = (uint16_t)v;
        c.n = card;
      }
    }
    if (rc != LP_OK) {
      lp_bitmap_release(&t, m);
      return rc;
    }
    c.card = card;
    lpb_push(&t, (uint16_t)k, &c);
  }
  *out = t;
  return LP_OK;
}

/* *b |= *t, consuming t (released whatever the outcome; b unchanged on
 * failure). */
static int or_in(lp_bitmap *b, const lp_mem *m, lp_bitmap *t) {
  if (b->n == 0) {
    lpb_replace(b, m, t);
    return LP_OK;
  }
  int rc = lp_bitmap_or_inplace(b, m, t);
  lp_bitmap_release(t, m);
  return rc;
}

int lp_bitmap_add_range(lp_bitmap *b, const lp_mem *m, uint32_t lo, uint64_t hi_excl) {
  if (hi_excl > ((uint64_t)1 << 32)) return LP_EINVAL;
  if (hi_excl <= lo) return LP_OK;
  lp_bitmap r;
  int rc = range_bitmap(&r, m, lo, hi_excl);
  if (rc != LP_OK) return rc;
  return or_in(b, m, &r);
}

int lp_bitmap_remove_range(lp_bitmap *b, const lp_mem *m, uint32_t lo, uint64_t hi_excl) {
  if (hi_excl > ((uint64_t)1 << 32)) return LP_EINVAL;
  if (hi_excl <= lo || b->n == 0) return LP_OK;
  lp_bitmap r;
  int rc = range_bitmap(&r, m, lo, hi_excl);
  if (rc != LP_OK) return rc;
  rc = lp_bitmap_andnot_inplace(b, m, &r);
  lp_bitmap_release(&r, m);
  return rc;
}

int lp_bitmap_flip_range(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, uint32_t lo,
                         uint64_t hi_excl) {
  if (hi_excl > ((uint64_t)1 << 32)) return LP_EINVAL;
  if (hi_excl <= lo) return lp_bitmap_copy(out, m, a);
  lp_bitmap r;
  int rc = range_bitmap(&r, m, lo, hi_excl);
  if (rc != LP_OK) return rc;
  rc = lp_bitmap_xor(out, m, a, &r);
  lp_bitmap_release(&r, m);
  return rc;
}

/* LSD radix sort of n uint32 (deterministic), 4 passes of 8 bits; the result
 * ends in v (an even number of passes). */
static void radix_sort_u32(uint32_t *v, uint32_t *tmp, size_t n) {
  size_t count[256];
  uint32_t *src = v, *dst = tmp;
  for (int pass = 0; pass < 4; pass++) {
    int shift = pass * 8;
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) count[(src[i] >> shift) & 0xffu]++;
    size_t sum = 0;
    for (int d = 0; d < 256; d++) {
      size_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 0xffu]++] = src[i];
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
}

/* *out = the sorted values v[0..n) (duplicates allowed). */
static int from_sorted(lp_bitmap *out, const lp_mem *m, const uint32_t *v, size_t n) {
  lp_bitmap t;
  lp_bitmap_init(&t);
  size_t i = 0;
  while (i < n) {
    uint32_t key = v[i] >> 16;
    size_t j = i, uniq = 0;
    while (j < n && (v[j] >> 16) == key) {
      uniq += j == i || v[j] != v[j - 1];
      j++;
    }
    lp_bitmap_container c;
    int rc = lpb_reserve(&t, m, t.n + 1);
    if (rc == LP_OK) {
      if (uniq <= LP_BITMAP_ARRAY_MAX) {
        rc = lpb_c_array_new(m, &c, (uint32_t)uniq);
        if (rc == LP_OK) {
          uint16_t *a = lpb_arr(&c);
          uint32_t k = 0;
          for (size_t x = i; x < j; x++)
            if (x == i || v[x] != v[x - 1]) a[k++] = (uint16_t)v[x];
          c.n = k;
        }
      } else {
        rc = lpb_c_bitset_new(m, &c, true);
        if (rc == LP_OK) {
          uint64_t *w = lpb_words(&c);
          for (size_t x = i; x < j; x++) w[(v[x] & 0xffffu) >> 6] |= 1ull << (v[x] & 63);
        }
      }
    }
    if (rc != LP_OK) {
      lp_bitmap_release(&t, m);
      return rc;
    }
    c.card = (uint32_t)uniq;
    lpb_push(&t, (uint16_t)key, &c);
    i = j;
  }
  *out = t;
  return LP_OK;
}

int lp_bitmap_add_many(lp_bitmap *b, const lp_mem *m, const uint32_t *v, size_t n) {
  if (n == 0) return LP_OK;
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; i++) sorted = v[i - 1] <= v[i];
  uint32_t *buf = NULL;
  const uint32_t *src = v;
  size_t bufn = 0;
  if (!sorted) {
    if (n > SIZE_MAX / 2) return LP_ELIMIT;
    bufn = 2 * n;
    int rc = lp_mem_alloc_array(m, bufn, sizeof *buf, (void **)&buf);
    if (rc != LP_OK) return rc;
    memcpy(buf, v, n * sizeof *buf);
    radix_sort_u32(buf, buf + n, n);
    src = buf;
  }
  lp_bitmap t;
  int rc = from_sorted(&t, m, src, n);
  if (buf) lp_mem_free_array(m, buf, bufn, sizeof *buf);
  if (rc != LP_OK) return rc;
  return or_in(b, m, &t);
}
