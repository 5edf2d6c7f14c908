/*
 * Bitmaps: AND, OR, ANDNOT, XOR (new, in-place, cardinality), many-way.
 * SPDX-License-Identifier: MIT
 *
 * Container pairs: array x array intersections and differences gallop when
 * the sizes differ a lot and otherwise mark one side in a scratch bitset;
 * unions merge. array x other filters the array by membership. run x run
 * and run x array (OR, XOR, run - array) sweep the run boundaries and keep
 * runs when they are smaller. Everything else works on 1024 words and puts
 * the result into its canonical form (lpb_c_from_words): an array at or
 * below 4096 values, a bitset above, one run when full.
 */
#include "core/bitmap_internal.h"

#define OP_AND LPB_OP_AND
#define OP_OR LPB_OP_OR
#define OP_ANDNOT LPB_OP_ANDNOT
#define OP_XOR LPB_OP_XOR

/* Above this many input values, an array intersection marks one array in a
 * scratch bitset and tests the other (independent memory operations)
 * rather than merging (a chain of dependent loads). Unions and differences
 * stay merges: reading a scratch bitset back costs more than it saves (the
 * per-word loop mispredicts); both measured on the benchmark's arrays. */
#define LPB_MARK_MIN 512u

/* ---- array helpers ---- */

/* First index >= lo in a[0..n) with a[i] >= v (galloping from lo). */
static uint32_t gallop(const uint16_t *a, uint32_t n, uint32_t lo, uint16_t v) {
  if (lo >= n || a[lo] >= v) return lo;
  uint32_t step = 1, hi = lo + 1;
  while (hi < n && a[hi] < v) {
    lo = hi;
    step <<= 1;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  /* a[lo] < v, answer in (lo, hi] */
  lo++;
  while (lo < hi) {
    uint32_t mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* out may be NULL (count only). */
static uint32_t arr_and(const uint16_t *a, uint32_t na, const uint16_t *b, uint32_t nb,
                        uint16_t *out) {
  uint32_t k = 0;
  if (na > nb) {
    const uint16_t *t = a;
    a = b;
    b = t;
    uint32_t tn = na;
    na = nb;
    nb = tn;
  }
  if (na == 0) return 0;
  if ((uint64_t)na * 32 < nb) {
    uint32_t j = 0;
    for (uint32_t i = 0; i < na; i++) {
      j = gallop(b, nb, j, a[i]);
      if (j == nb) break;
      if (b[j] == a[i]) {
        if (out) out[k] = a[i];
        k++;
      }
    }
    return k;
  }
  if (na + nb > LPB_MARK_MIN) {
    /* mark the larger array in a scratch bitset, test the smaller: no
     * dependency chain through the two indexes, unlike a merge */
    uint64_t w[LP_BITMAP_WORDS];
    memset(w, 0, sizeof w);
    for (uint32_t j = 0; j < nb; j++) w[b[j] >> 6] |= 1ull << (b[j] & 63);
    if (out) {
      for (uint32_t i = 0; i < na; i++) {
        out[k] = a[i];
        k += (uint32_t)((w[a[i] >> 6] >> (a[i] & 63)) & 1u);
      }
    } else {
      for (uint32_t i = 0; i < na; i++) k += (uint32_t)((w[a[i] >> 6] >> (a[i] & 63)) & 1u);
    }
    return k;
  }
  /* branchless merge: the comparisons become index increments */
  uint32_t i = 0, j = 0;
  if (out) {
    while (i < na && j < nb) {
      uint16_t x = a[i], y = b[j];
      out[k] = x;
      k += x == y;
      i += x <= y;
      j += y <= x;
    }
  } else {
    while (i < na && j < nb) {
      uint16_t x = a[i], y = b[j];
      k += x == y;
      i += x <= y;
      j += y <= x;
    }
  }
  return k;
}

static uint32_t arr_merge(uint32_t op, const uint16_t *a, uint32_t na, const uint16_t *b,
                          uint32_t nb, uint16_t *out) {
  uint32_t i = 0, j = 0, k = 0;
  if (op == OP_OR) { /* branchless: emit the smaller, advance past it */
    while (i < na && j < nb) {
      uint16_t x = a[i], y = b[j];
      out[k++] = x < y ? x : y;
      i += x <= y;
      j += y <= x;
    }
  } else {
    while (i < na && j < nb) {
      uint16_t x = a[i], y = b[j];
      if (x < y) {
        out[k++] = x;
        i++;
      } else if (y < x) {
        if (op != OP_ANDNOT) out[k++] = y;
        j++;
      } else {
        i++;
        j++;
      }
    }
  }
  while (i < na) out[k++] = a[i++];
  if (op != OP_ANDNOT)
    while (j < nb) out[k++] = b[j++];
  return k;
}

/* New array container holding buf[0..n) (n >= 1). */
static int arr_result(const lp_mem *m, const uint16_t *buf, uint32_t n, lp_bitmap_container *out) {
  memset(out, 0, sizeof *out);
  if (n == 0) return LP_OK;
  if (lpb_c_array_new(m, out, n) != LP_OK) return LP_ENOMEM;
  memcpy(out->data, buf, (size_t)n * sizeof *buf);
  out->n = out->card = n;
  return LP_OK;
}

/* Values of array a kept when (contained in c) == keep. */
static uint32_t arr_filter(const uint16_t *a, uint32_t n, const lp_bitmap_container *c, bool keep,
                           uint16_t *out) {
  uint32_t k = 0;
  if (c->kind == LP_BITMAP_BITSET) {
    const uint64_t *w = lpb_words(c);
    for (uint32_t i = 0; i < n; i++) {
      bool in = (w[a[i] >> 6] >> (a[i] & 63)) & 1u;
      out[k] = a[i];
      k += in == keep;
    }
  } else if (c->kind == LP_BITMAP_RUN) {
    const lp_bitmap_run *r = lpb_runs(c);
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
      while (j < c->n && (uint32_t)r[j].start + r[j].len < a[i]) j++;
      bool in = j < c->n && r[j].start <= a[i];
      out[k] = a[i];
      k += in == keep;
    }
  } else if (keep) {
    return arr_and(a, n, lpb_arr(c), c->n, out);
  } else if (n + c->n > LPB_MARK_MIN && (uint64_t)n * 32 >= c->n) {
    uint64_t w[LP_BITMAP_WORDS]; /* mark c, keep the values of a it lacks */
    const uint16_t *b = lpb_arr(c);
    memset(w, 0, sizeof w);
    for (uint32_t j = 0; j < c->n; j++) w[b[j] >> 6] |= 1ull << (b[j] & 63);
    for (uint32_t i = 0; i < n; i++) {
      out[k] = a[i];
      k += (uint32_t)(~(w[a[i] >> 6] >> (a[i] & 63)) & 1u);
    }
  } else {
    const uint16_t *b = lpb_arr(c);
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
      j = gallop(b, c->n, j, a[i]);
      bool in = j < c->n && b[j] == a[i];
      out[k] = a[i];
      k += in == keep;
    }
  }
  return k;
}

/* ---- word kernels ---- */

static const uint64_t *words_of(const lp_bitmap_container *c, uint64_t *scratch) {
  if (c->kind == LP_BITMAP_BITSET) return lpb_words(c);
  lpb_c_to_words(c, scratch);
  return scratch;
}

/* Position i of the sorted boundary list of runs r: starts at even i, one
 * past the ends at odd i. */
static inline uint32_t run_bound(const lp_bitmap_run *r, uint32_t i) {
  const lp_bitmap_run *x = &r[i >> 1];
  return (i & 1u) ? (uint32_t)x->start + x->len + 1 : x->start;
}

/* run OP run by one sweep over both boundary lists; the result's runs are
 * sorted and non-adjacent by construction. */
static int runs_op(const lp_mem *m, uint32_t op, const lp_bitmap_container *a,
                   const lp_bitmap_container *b, lp_bitmap_container *out) {
  const lp_bitmap_run *x = lpb_runs(a), *y = lpb_runs(b);
  uint32_t nx = 2 * a->n, ny = 2 * b->n, cap = a->n + b->n;
  if (cap > 32768) cap = 32768;
  lp_bitmap_container c;
  if (lpb_c_run_new(m, &c, cap) != LP_OK) return LP_ENOMEM;
  lp_bitmap_run *o = lpb_runs(&c);
  uint32_t i = 0, j = 0, k = 0, start = 0, card = 0;
  bool ina = false, inb = false, in = false;
  while (i < nx || j < ny) {
    uint32_t pa = i < nx ? run_bound(x, i) : UINT32_MAX;
    uint32_t pb = j < ny ? run_bound(y, j) : UINT32_MAX;
    uint32_t p = pa < pb ? pa : pb;
    if (pa == p) {
      ina = !ina;
      i++;
    }
    if (pb == p) {
      inb = !inb;
      j++;
    }
    bool now = op == OP_AND ? ina && inb : op == OP_OR ? ina || inb : op == OP_ANDNOT ? ina && !inb : ina != inb;
    if (now == in) continue;
    in = now;
    if (now) {
      start = p;
    } else {
      o[k].start = (uint16_t)start;
      o[k].len = (uint16_t)(p - 1 - start);
      card += p - start;
      k++;
    }
  }
  c.n = k;
  c.card = card;
  if (k == 0) {
    lpb_c_free(m, &c);
    return LP_OK;
  }
  if (lpb_run_is_smaller(k, card)) {
    if (k < cap / 2) { /* give back the slack; keeping it is fine on failure */
      void *p = lp_mem_realloc(m, c.data, (size_t)cap * sizeof *o, (size_t)k * sizeof *o);
      if (p) {
        c.data = p;
        c.cap = k;
      }
    }
    *out = c;
    return LP_OK;
  }
  int rc = lpb_c_convert(m, &c, false, out);
  lpb_c_free(m, &c);
  return rc;
}

/* Container result of a OP b into *out (out->card == 0: empty, no data). */
static int c_op(const lp_mem *m, uint32_t op, const lp_bitmap_container *a,
                const lp_bitmap_container *b, lp_bitmap_container *out) {
  uint16_t buf[LP_BITMAP_ARRAY_MAX];
  memset(out, 0, sizeof *out);
  bool a_arr = a->kind == LP_BITMAP_ARRAY, b_arr = b->kind == LP_BITMAP_ARRAY;
  switch (op) {
  case OP_AND:
    if (a_arr && b_arr) return arr_result(m, buf, arr_and(lpb_arr(a), a->n, lpb_arr(b), b->n, buf), out);
    if (a_arr) return arr_result(m, buf, arr_filter(lpb_arr(a), a->n, b, true, buf), out);
    if (b_arr) return arr_result(m, buf, arr_filter(lpb_arr(b), b->n, a, true, buf), out);
    if (a->card == LPB_FULL) return lpb_c_copy(m, out, b);
    if (b->card == LPB_FULL) return lpb_c_copy(m, out, a);
    break;
  case OP_OR:
    if (a->card == LPB_FULL) return lpb_c_copy(m, out, a);
    if (b->card == LPB_FULL) return lpb_c_copy(m, out, b);
    if (a_arr && b_arr && a->n + b->n <= LP_BITMAP_ARRAY_MAX)
      return arr_result(m, buf, arr_merge(OP_OR, lpb_arr(a), a->n, lpb_arr(b), b->n, buf), out);
    break;
  case OP_ANDNOT:
    if (a_arr) return arr_result(m, buf, arr_filter(lpb_arr(a), a->n, b, false, buf), out);
    break;
  default:
    if (a_arr && b_arr && a->n + b->n <= LP_BITMAP_ARRAY_MAX)
      return arr_result(m, buf, arr_merge(OP_XOR, lpb_arr(a), a->n, lpb_arr(b), b->n, buf), out);
    break;
  }
  if (a->kind == LP_BITMAP_RUN && b->kind == LP_BITMAP_RUN) return runs_op(m, op, a, b, out);
  if ((a->kind == LP_BITMAP_RUN && b_arr) || (b->kind == LP_BITMAP_RUN && a_arr)) {
    /* the array as runs, then the run sweep (AND and array - run were
     * handled above by filtering the array) */
    lp_bitmap_run tmp[LP_BITMAP_ARRAY_MAX];
    const lp_bitmap_container *arr = a_arr ? a : b;
    const uint16_t *v = lpb_arr(arr);
    uint32_t k = 0;
    for (uint32_t i = 0; i < arr->n; i++) {
      if (k && v[i] == (uint32_t)tmp[k - 1].start + tmp[k - 1].len + 1) {
        tmp[k - 1].len++;
      } else {
        tmp[k].start = v[i];
        tmp[k].len = 0;
        k++;
      }
    }
    lp_bitmap_container as_run = {tmp, arr->card, k, k, LP_BITMAP_RUN};
    return a_arr ? runs_op(m, op, &as_run, b, out) : runs_op(m, op, a, &as_run, out);
  }
  if (a->kind == LP_BITMAP_BITSET && b->kind == LP_BITMAP_BITSET && op != OP_OR) {
    /* count first: a small result goes straight into an array */
    const uint64_t *x = lpb_words(a), *y = lpb_words(b);
    uint32_t card = lpb_words_op_card(op, x, y);
    if (card == 0) return LP_OK;
    if (card <= LP_BITMAP_ARRAY_MAX) {
      if (lpb_c_array_new(m, out, card) != LP_OK) return LP_ENOMEM;
      uint16_t *v = lpb_arr(out);
      uint32_t k = 0;
      for (uint32_t i = 0; i < LP_BITMAP_WORDS; i++) {
        uint64_t w = op == OP_AND ? x[i] & y[i] : op == OP_ANDNOT ? x[i] & ~y[i] : x[i] ^ y[i];
        while (w) {
          v[k++] = (uint16_t)(i * 64 + lpb_ctz(w));
          w &= w - 1;
        }
      }
      out->n = out->card = k;
      return LP_OK;
    }
  }
  uint64_t *blk = lp_mem_alloc(m, LPB_BITSET_BYTES);
  if (!blk) return LP_ENOMEM;
  uint32_t card;
  /* run x bitset gives a bitset or an array, as in CRoaring */
  bool run = false;
  if (b_arr && op != OP_AND) {
    /* words(a) with b's values set, cleared or flipped */
    lpb_c_to_words(a, blk);
    const uint16_t *v = lpb_arr(b);
    card = a->card;
    for (uint32_t i = 0; i < b->n; i++) {
      uint64_t bit = 1ull << (v[i] & 63), *w = &blk[v[i] >> 6];
      bool had = (*w & bit) != 0;
      if (op == OP_OR) {
        *w |= bit;
        card += !had;
      } else if (op == OP_ANDNOT) {
        *w &= ~bit;
        card -= had;
      } else {
        *w ^= bit;
        card = had ? card - 1 : card + 1;
      }
    }
  } else if (a_arr && op != OP_AND) { /* OR / XOR are symmetric */
    lp_mem_free(m, blk, LPB_BITSET_BYTES);
    return c_op(m, op, b, a, out);
  } else {
    uint64_t sa[LP_BITMAP_WORDS], sb[LP_BITMAP_WORDS];
    card = lpb_words_op(op, blk, words_of(a, sa), words_of(b, sb));
  }
  return lpb_c_from_words(m, blk, card, run, out);
}

/* ---- cardinality kernels ---- */

static uint32_t runs_count_in_words(const lp_bitmap_run *r, uint32_t n, const uint64_t *w) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) k += lpb_words_count_range(w, r[i].start, (uint32_t)r[i].start + r[i].len);
  return k;
}

static uint32_t c_and_card(const lp_bitmap_container *a, const lp_bitmap_container *b) {
  if (a->kind > b->kind) {
    const lp_bitmap_container *t = a;
    a = b;
    b = t;
  }
  /* a->kind <= b->kind: ARRAY(1) < BITSET(2) < RUN(3) */
  if (a->kind == LP_BITMAP_ARRAY) {
    if (b->kind == LP_BITMAP_ARRAY) return arr_and(lpb_arr(a), a->n, lpb_arr(b), b->n, NULL);
    const uint16_t *v = lpb_arr(a);
    uint32_t k = 0;
    if (b->kind == LP_BITMAP_BITSET) {
      const uint64_t *w = lpb_words(b);
      for (uint32_t i = 0; i < a->n; i++) k += (uint32_t)((w[v[i] >> 6] >> (v[i] & 63)) & 1u);
      return k;
    }
    const lp_bitmap_run *r = lpb_runs(b);
    uint32_t j = 0;
    for (uint32_t i = 0; i < a->n; i++) {
      while (j < b->n && (uint32_t)r[j].start + r[j].len < v[i]) j++;
      if (j == b->n) break;
      k += r[j].start <= v[i];
    }
    return k;
  }
  if (a->kind == LP_BITMAP_BITSET) {
    if (b->kind == LP_BITMAP_BITSET) {
      return lpb_words_and_card(lpb_words(a), lpb_words(b));
    }
    return runs_count_in_words(lpb_runs(b), b->n, lpb_words(a));
  }
  /* run x run: overlaps of two sorted interval lists */
  const lp_bitmap_run *x = lpb_runs(a), *y = lpb_runs(b);
  uint32_t i = 0, j = 0, k = 0;
  while (i < a->n && j < b->n) {
    uint32_t xs = x[i].start, xe = xs + x[i].len, ys = y[j].start, ye = ys + y[j].len;
    uint32_t s = xs > ys ? xs : ys, e = xe < ye ? xe : ye;
    if (s <= e) k += e - s + 1;
    if (xe < ye) i++;
    else j++;
  }
  return k;
}

/* |a & b|, or 1 as soon as one common value is found when `any`. */
static uint64_t and_card_walk(const lp_bitmap *a, const lp_bitmap *b, bool any) {
  uint64_t k = 0;
  uint32_t i = 0, j = 0;
  while (i < a->n && j < b->n) {
    uint16_t x = a->keys[i], y = b->keys[j];
    if (x < y) {
      i++;
    } else if (y < x) {
      j++;
    } else {
      k += c_and_card(&a->c[i], &b->c[j]);
      if (any && k) return 1;
      i++;
      j++;
    }
  }
  return k;
}

uint64_t lp_bitmap_and_cardinality(const lp_bitmap *a, const lp_bitmap *b) {
  return and_card_walk(a, b, false);
}

uint64_t lp_bitmap_or_cardinality(const lp_bitmap *a, const lp_bitmap *b) {
  return lp_bitmap_cardinality(a) + lp_bitmap_cardinality(b) - lp_bitmap_and_cardinality(a, b);
}

uint64_t lp_bitmap_andnot_cardinality(const lp_bitmap *a, const lp_bitmap *b) {
  return lp_bitmap_cardinality(a) - lp_bitmap_and_cardinality(a, b);
}

uint64_t lp_bitmap_xor_cardinality(const lp_bitmap *a, const lp_bitmap *b) {
  return lp_bitmap_cardinality(a) + lp_bitmap_cardinality(b) - 2 * lp_bitmap_and_cardinality(a, b);
}

bool lp_bitmap_intersects(const lp_bitmap *a, const lp_bitmap *b) {
  return and_card_walk(a, b, true) != 0;
}

/* ---- bitmap-level operations ---- */

/* t's container for `key` is a's own (the same data block). */
static bool shared_with(const lp_bitmap *a, uint16_t key, const void *data) {
  int64_t at = lpb_find(a, key);
  return at >= 0 && a->c[at].data == data;
}

/* Free t except the containers it shares with `owner` (NULL: none). */
static void release_unshared(lp_bitmap *t, const lp_mem *m, const lp_bitmap *owner) {
  for (uint32_t i = 0; i < t->n; i++)
    if (!owner || !shared_with(owner, t->keys[i], t->c[i].data)) lpb_c_free(m, &t->c[i]);
  t->n = 0;
  lp_bitmap_release(t, m);
}

/* *t = a OP b. With share_a, the containers of a that pass through
 * unchanged are shared rather than copied (for in-place operations, which
 * then hand them over); on failure only t's own containers are freed. */
static int bm_op(lp_bitmap *t, const lp_mem *m, uint32_t op, const lp_bitmap *a,
                 const lp_bitmap *b, bool share_a) {
  lp_bitmap_init(t);
  uint32_t need;
  if (op == OP_AND) need = a->n < b->n ? a->n : b->n;
  else if (op == OP_ANDNOT) need = a->n;
  else need = a->n + b->n > LPB_FULL ? LPB_FULL : a->n + b->n;
  if (need == 0) return LP_OK;
  int rc = lpb_reserve(t, m, need);
  if (rc != LP_OK) return rc;
  uint32_t i = 0, j = 0;
  lp_bitmap_container c;
  while (i < a->n && j < b->n) {
    uint16_t ka = a->keys[i], kb = b->keys[j], key;
    if (ka < kb) {
      if (op == OP_AND) {
        i++;
        continue;
      }
      key = ka;
      if (share_a) c = a->c[i++];
      else rc = lpb_c_copy(m, &c, &a->c[i++]);
    } else if (kb < ka) {
      if (op == OP_AND || op == OP_ANDNOT) {
        j++;
        continue;
      }
      key = kb;
      rc = lpb_c_copy(m, &c, &b->c[j++]);
    } else {
      key = ka;
      rc = c_op(m, op, &a->c[i++], &b->c[j++], &c);
    }
    if (rc != LP_OK) goto fail;
    if (c.card) lpb_push(t, key, &c);
  }
  for (; op != OP_AND && i < a->n; i++) {
    if (share_a) c = a->c[i];
    else if ((rc = lpb_c_copy(m, &c, &a->c[i])) != LP_OK) goto fail;
    lpb_push(t, a->keys[i], &c);
  }
  for (; (op == OP_OR || op == OP_XOR) && j < b->n; j++) {
    if ((rc = lpb_c_copy(m, &c, &b->c[j])) != LP_OK) goto fail;
    lpb_push(t, b->keys[j], &c);
  }
  return LP_OK;
fail:
  release_unshared(t, m, share_a ? a : NULL);
  return rc;
}

static int op_new(lp_bitmap *out, const lp_mem *m, uint32_t op, const lp_bitmap *a, const lp_bitmap *b) {
  lp_bitmap t;
  int rc = bm_op(&t, m, op, a, b, false);
  if (rc != LP_OK) return rc;
  lpb_replace(out, m, &t);
  return LP_OK;
}

/* In place: the result is built aside (sharing a's untouched containers)
 * and swapped in, so a failure leaves *a as it was. */
static int op_inplace(lp_bitmap *a, const lp_mem *m, uint32_t op, const lp_bitmap *b) {
  lp_bitmap t;
  int rc = bm_op(&t, m, op, a, b, true);
  if (rc != LP_OK) return rc;
  /* free what t did not take over, then a's table */
  release_unshared(a, m, &t);
  *a = t;
  return LP_OK;
}

int lp_bitmap_and(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b) {
  return op_new(out, m, OP_AND, a, b);
}
int lp_bitmap_or(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b) {
  return op_new(out, m, OP_OR, a, b);
}
int lp_bitmap_andnot(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b) {
  return op_new(out, m, OP_ANDNOT, a, b);
}
int lp_bitmap_xor(lp_bitmap *out, const lp_mem *m, const lp_bitmap *a, const lp_bitmap *b) {
  return op_new(out, m, OP_XOR, a, b);
}

int lp_bitmap_and_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b) {
  if (a == b) return LP_OK;
  return op_inplace(a, m, OP_AND, b);
}
int lp_bitmap_or_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b) {
  if (a == b) return LP_OK;
  return op_inplace(a, m, OP_OR, b);
}
int lp_bitmap_andnot_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b) {
  if (a == b) {
    lp_bitmap_release(a, m);
    return LP_OK;
  }
  return op_inplace(a, m, OP_ANDNOT, b);
}
int lp_bitmap_xor_inplace(lp_bitmap *a, const lp_mem *m, const lp_bitmap *b) {
  if (a == b) {
    lp_bitmap_release(a, m);
    return LP_OK;
  }
  return op_inplace(a, m, OP_XOR, b);
}

/* ---- many-way ---- */

/* OR of k >= 2 containers into *out. */
static int c_or_many(const lp_mem *m, const lp_bitmap_container *const *cs, uint32_t k,
                     lp_bitmap_container *out) {
  uint64_t total = 0;
  bool all_arr = true, run = false;
  for (uint32_t i = 0; i < k; i++) {
    total += cs[i]->card;
    all_arr &= cs[i]->kind == LP_BITMAP_ARRAY;
    run |= cs[i]->kind == LP_BITMAP_RUN;
    if (cs[i]->card == LPB_FULL) return lpb_c_copy(m, out, cs[i]);
  }
  if (all_arr && total <= LP_BITMAP_ARRAY_MAX) {
    uint16_t x[LP_BITMAP_ARRAY_MAX], y[LP_BITMAP_ARRAY_MAX];
    uint16_t *cur = x, *nxt = y;
    uint32_t n = cs[0]->n;
    memcpy(cur, cs[0]->data, (size_t)n * sizeof *cur);
    for (uint32_t i = 1; i < k; i++) {
      n = arr_merge(OP_OR, cur, n, lpb_arr(cs[i]), cs[i]->n, nxt);
      uint16_t *t = cur;
      cur = nxt;
      nxt = t;
    }
    return arr_result(m, cur, n, out);
  }
  uint64_t *blk = lp_mem_zalloc(m, LPB_BITSET_BYTES);
  if (!blk) return LP_ENOMEM;
  for (uint32_t i = 0; i < k; i++) {
    const lp_bitmap_container *c = cs[i];
    if (c->kind == LP_BITMAP_BITSET) {
      const uint64_t *w = lpb_words(c);
      for (uint32_t j = 0; j < LP_BITMAP_WORDS; j++) blk[j] |= w[j];
    } else if (c->kind == LP_BITMAP_ARRAY) {
      const uint16_t *v = lpb_arr(c);
      for (uint32_t j = 0; j < c->n; j++) blk[v[j] >> 6] |= 1ull << (v[j] & 63);
    } else {
      const lp_bitmap_run *r = lpb_runs(c);
      for (uint32_t j = 0; j < c->n; j++) lpb_words_set_range(blk, r[j].start, (uint32_t)r[j].start + r[j].len);
    }
  }
  return lpb_c_from_words(m, blk, lpb_words_card(blk), run, out);
}

int lp_bitmap_or_many(lp_bitmap *out, const lp_mem *m, const lp_bitmap *const *v, size_t n) {
  if (n == 0) {
    lp_bitmap_release(out, m);
    return LP_OK;
  }
  if (n == 1) return lp_bitmap_copy(out, m, v[0]);
  if (n == 2) return lp_bitmap_or(out, m, v[0], v[1]);
  if (n > UINT32_MAX) return LP_ELIMIT;
  /* cursor per input, then the containers of the current key */
  uint32_t *cur;
  const lp_bitmap_container **cs;
  int rc = lp_mem_alloc_array(m, n, sizeof *cur, (void **)&cur);
  if (rc != LP_OK) return rc;
  rc = lp_mem_alloc_array(m, n, sizeof *cs, (void **)&cs);
  if (rc != LP_OK) {
    lp_mem_free_array(m, cur, n, sizeof *cur);
    return rc;
  }
  memset(cur, 0, n * sizeof *cur);
  lp_bitmap t;
  lp_bitmap_init(&t);
  for (;;) {
    uint32_t key = LPB_FULL;
    for (size_t i = 0; i < n; i++)
      if (cur[i] < v[i]->n && v[i]->keys[cur[i]] < key) key = v[i]->keys[cur[i]];
    if (key == LPB_FULL) break;
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (cur[i] < v[i]->n && v[i]->keys[cur[i]] == key) cs[k++] = &v[i]->c[cur[i]++];
    lp_bitmap_container c;
    rc = lpb_reserve(&t, m, t.n + 1);
    if (rc == LP_OK) rc = k == 1 ? lpb_c_copy(m, &c, cs[0]) : c_or_many(m, cs, k, &c);
    if (rc != LP_OK) break;
    lpb_push(&t, (uint16_t)key, &c);
  }
  lp_mem_free_array(m, cs, n, sizeof *cs);
  lp_mem_free_array(m, cur, n, sizeof *cur);
  if (rc != LP_OK) {
    lp_bitmap_release(&t, m);
    return rc;
  }
  lpb_replace(out, m, &t);
  return LP_OK;
}

int lp_bitmap_and_many(lp_bitmap *out, const lp_mem *m, const lp_bitmap *const *v, size_t n) {
  if (n == 0) return LP_EINVAL;
  if (n == 1) return lp_bitmap_copy(out, m, v[0]);
  lp_bitmap t;
  int rc = bm_op(&t, m, OP_AND, v[0], v[1], false);
  for (size_t i = 2; rc == LP_OK && i < n && t.n; i++) {
    lp_bitmap u;
    rc = bm_op(&u, m, OP_AND, &t, v[i], false);
    lp_bitmap_release(&t, m);
    t = u;
  }
  if (rc != LP_OK) return rc;
  lpb_replace(out, m, &t);
  return LP_OK;
}

/* |c[0] & ... & c[k-1]|, k >= 2. */
static uint32_t c_and_many_card(const lp_bitmap_container *const *cs, size_t k) {
  /* with an array: filter the smallest one through the others */
  size_t base = k;
  for (size_t i = 0; i < k; i++)
    if (cs[i]->kind == LP_BITMAP_ARRAY && (base == k || cs[i]->card < cs[base]->card)) base = i;
  if (base < k) {
    uint16_t buf[2][LP_BITMAP_ARRAY_MAX]; /* ping-pong: the merges are not in-place safe */
    const uint16_t *cur = lpb_arr(cs[base]);
    uint32_t n = cs[base]->n, flip = 0;
    /* cheapest first: bit tests (bitsets), then run walks, then merges with
     * the other arrays, each group smallest first (k <= 64) */
    uint8_t order[64];
    uint64_t rank[64];
    size_t no = 0;
    for (size_t i = 0; i < k; i++) {
      if (i == base) continue;
      uint64_t group = cs[i]->kind == LP_BITMAP_BITSET ? 0 : cs[i]->kind == LP_BITMAP_RUN ? 1 : 2;
      rank[i] = group << 32 | cs[i]->card;
      size_t at = no++;
      while (at > 0 && rank[order[at - 1]] > rank[i]) {
        order[at] = order[at - 1];
        at--;
      }
      order[at] = (uint8_t)i;
    }
    for (size_t x = 0; x < no && n; x++) {
      n = arr_filter(cur, n, cs[order[x]], true, buf[flip]);
      cur = buf[flip];
      flip ^= 1u;
    }
    return n;
  }
  /* bitsets and runs: the runs become one mask, then every stream is read
   * at once (k <= 64 here) */
  const uint64_t *ws[64];
  uint64_t mask[LP_BITMAP_WORDS], tmp[LP_BITMAP_WORDS];
  size_t nw = 0;
  bool have_mask = false;
  for (size_t i = 0; i < k; i++) {
    if (cs[i]->kind == LP_BITMAP_BITSET) {
      ws[nw++] = lpb_words(cs[i]);
    } else if (!have_mask) {
      lpb_c_to_words(cs[i], mask);
      have_mask = true;
    } else {
      lpb_c_to_words(cs[i], tmp);
      lpb_words_op(LPB_OP_AND, mask, mask, tmp);
    }
  }
  if (have_mask) ws[nw++] = mask;
  return lpb_words_andk_card(ws, nw);
}

uint64_t lp_bitmap_and_many_cardinality(const lp_bitmap *const *v, size_t n) {
  if (n == 0) return 0;
  if (n == 1) return lp_bitmap_cardinality(v[0]);
  if (n == 2) return lp_bitmap_and_cardinality(v[0], v[1]);
  /* Walk the keys of the input with the fewest containers; find the others
   * by binary search. */
  size_t s = 0;
  for (size_t i = 1; i < n; i++)
    if (v[i]->n < v[s]->n) s = i;
  enum { BATCH = 64 };
  const lp_bitmap_container *cs[BATCH];
  uint64_t total = 0;
  for (uint32_t x = 0; x < v[s]->n; x++) {
    uint16_t key = v[s]->keys[x];
    /* inputs beyond BATCH are handled by intersecting membership tests */
    size_t k = 0;
    bool miss = false;
    for (size_t i = 0; i < n && k < BATCH; i++) {
      int64_t at = lpb_find(v[i], key);
      if (at < 0) {
        miss = true;
        break;
      }
      cs[k++] = &v[i]->c[at];
    }
    if (miss) continue;
    if (n <= BATCH) {
      total += c_and_many_card(cs, k);
      continue;
    }
    /* many inputs: fold through words */
    uint64_t buf[LP_BITMAP_WORDS], tmp[LP_BITMAP_WORDS];
    lpb_c_to_words(cs[0], buf);
    for (size_t i = 1; i < n; i++) {
      int64_t at = lpb_find(v[i], key);
      if (at < 0) {
        memset(buf, 0, sizeof buf);
        break;
      }
      lpb_words_op(LPB_OP_AND, buf, buf, words_of(&v[i]->c[at], tmp));
    }
    total += lpb_words_card(buf);
  }
  return total;
}
