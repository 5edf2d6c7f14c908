/*
 * Index of ordinals whose keys live in the caller's records (see oindex.h).
 * SPDX-License-Identifier: MIT
 */
#include "core/oindex.h"

#include "core/map.h"

/* Largest capacity whose block size fits in size_t with room to spare. */
#define OIX_MAX_CAP (SIZE_MAX / 8 / 2)

void lp_oindex_init(lp_oindex *t, unsigned width, unsigned ord_bits) {
  memset(t, 0, sizeof *t);
  t->width = width == 4 ? 4 : 8;
  if (t->width == 8 || ord_bits == 0 || ord_bits > 31) ord_bits = t->width == 8 ? 32 : 31;
  t->ord_bits = ord_bits;
  t->ord_mask = (UINT64_C(1) << ord_bits) - 1;
  t->empty = t->width == 4 ? UINT32_MAX : UINT64_MAX;
  t->tshift = 32 + (t->width == 4 ? ord_bits : 0);
}

static void oix_fill_empty(void *slots, size_t cap, unsigned width) {
  memset(slots, 0xff, cap * width);
}

void lp_oindex_free(lp_oindex *t, const lp_mem *m) {
  if (t->cap > 0) lp_mem_free(m, t->slots, lp_oindex_bytes(t));
  t->slots = NULL;
  t->cap = t->len = 0;
}

void lp_oindex_clear(lp_oindex *t) {
  if (t->cap > 0) oix_fill_empty(t->slots, t->cap, t->width);
  t->len = 0;
}

static inline void oix_set(lp_oindex *t, size_t i, uint64_t v) {
  if (t->width == 4) ((uint32_t *)t->slots)[i] = (uint32_t)v;
  else ((uint64_t *)t->slots)[i] = v;
}

/* Home slot and slot word of `ord` under `key`. */
static inline uint64_t oix_word(const lp_oindex *t, uint64_t key, uint32_t ord, size_t *home) {
  lp_oindex_probe p;
  lp_oindex_probe_start(t, key, &p);
  *home = p.i;
  return p.tag | ord;
}

void lp_oindex_probe_put(lp_oindex *t, const lp_oindex_probe *p, uint32_t ord) {
  oix_set(t, p->i, p->tag | ord);
  t->len++;
}

/* Out of line on purpose: inlined into identity's staged batch lookups
 * it measured slower (0.10 -> 0.12-0.13 CPU s for 1M lookups). */
void lp_oindex_prefetch(const lp_oindex *t, uint64_t key) {
  if (t->cap == 0) return;
#if defined(__GNUC__)
  size_t i = (size_t)lp_mix64(key) & (t->cap - 1);
  __builtin_prefetch((const char *)t->slots + i * t->width);
#else
  (void)key;
#endif
}

bool lp_oindex_find(const lp_oindex *t, uint64_t key, lp_oindex_eq_fn eq, const void *ctx,
                    const void *item, uint32_t *ord) {
  lp_oindex_probe p;
  uint32_t x;
  lp_oindex_probe_start(t, key, &p);
  while (lp_oindex_probe_next(t, &p, &x))
    if (eq(ctx, x, item)) {
      *ord = x;
      return true;
    }
  return false;
}

/* Put a word whose home is `home` at the first empty slot from there. */
static inline void oix_place(lp_oindex *t, size_t home, uint64_t word) {
  size_t mask = t->cap - 1, i = home;
  while (lp_oindex_slot_(t, i) != t->empty) i = (i + 1) & mask;
  oix_set(t, i, word);
}

/* An empty table like `t` of `cap` slots in a new block. */
static int oix_alloc(lp_oindex *n, const lp_oindex *t, const lp_mem *m, size_t cap) {
  void *block = lp_mem_alloc(m, cap * t->width);
  if (block == NULL) return LP_ENOMEM;
  *n = *t;
  n->slots = block;
  n->cap = cap;
  n->len = 0;
  oix_fill_empty(block, cap, t->width);
  return LP_OK;
}

/* Keys are read in batches: their reads (misses into the caller's
 * records) are independent, so they overlap. */
#define OIX_BATCH 32u

static int oix_rehash(lp_oindex *t, const lp_mem *m, size_t cap, lp_oindex_key_fn key_of,
                      const void *ctx) {
  lp_oindex n;
  if (oix_alloc(&n, t, m, cap) != LP_OK) return LP_ENOMEM;
  uint32_t ords[OIX_BATCH];
  uint64_t keys[OIX_BATCH];
  for (size_t i = 0; i < t->cap;) {
    unsigned k = 0;
    for (; i < t->cap && k < OIX_BATCH; i++) {
      uint64_t v = lp_oindex_slot_(t, i);
      if (v != t->empty) ords[k++] = (uint32_t)(v & t->ord_mask);
    }
    for (unsigned j = 0; j < k; j++) keys[j] = key_of(ctx, ords[j]);
    for (unsigned j = 0; j < k; j++) {
      size_t home;
      uint64_t w = oix_word(&n, keys[j], ords[j], &home);
      oix_place(&n, home, w);
    }
  }
  n.len = t->len;
  if (t->cap > 0) lp_mem_free(m, t->slots, lp_oindex_bytes(t));
  *t = n;
  return LP_OK;
}

int lp_oindex_reserve(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                      const void *ctx) {
  size_t cap;
  int rc = lp_hash_cap_for(t->cap, n, OIX_MAX_CAP, &cap);
  if (rc != LP_OK) return rc;
  if (cap == t->cap) return LP_OK;
  return oix_rehash(t, m, cap, key_of, ctx);
}

int lp_oindex_insert(lp_oindex *t, const lp_mem *m, uint64_t key, uint32_t ord,
                     lp_oindex_key_fn key_of, const void *ctx) {
  if (ord > lp_oindex_max_ord(t)) return LP_EINVAL;
  if (!lp_oindex_has_room(t)) {
    int rc = lp_oindex_reserve(t, m, t->len + 1, key_of, ctx);
    if (rc != LP_OK) return rc;
  }
  size_t home;
  uint64_t w = oix_word(t, key, ord, &home);
  oix_place(t, home, w);
  t->len++;
  return LP_OK;
}

/* Slot of the entry `ord` under `key`, or t->cap when there is none. */
static size_t oix_slot_of(const lp_oindex *t, uint64_t key, uint32_t ord) {
  if (t->len == 0) return t->cap;
  size_t home, mask = t->cap - 1;
  uint64_t want = oix_word(t, key, ord, &home);
  for (size_t i = home;; i = (i + 1) & mask) {
    uint64_t v = lp_oindex_slot_(t, i);
    if (v == t->empty) return t->cap;
    if (v == want) return i;
  }
}

bool lp_oindex_del(lp_oindex *t, uint64_t key, uint32_t ord, lp_oindex_key_fn key_of,
                   const void *ctx) {
  size_t i = oix_slot_of(t, key, ord);
  if (i == t->cap) return false;
  size_t mask = t->cap - 1;
  /* Backward shift (lp_map's rule): pull later members of the run into
   * the hole when that does not move them before their home. */
  for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    uint64_t v = lp_oindex_slot_(t, j);
    if (v == t->empty) break;
    size_t home = (size_t)lp_mix64(key_of(ctx, (uint32_t)(v & t->ord_mask))) & mask;
    if (!lp_hash_shift_ok(i, j, home)) continue;
    oix_set(t, i, v);
    i = j;
  }
  oix_set(t, i, t->empty);
  t->len--;
  return true;
}

bool lp_oindex_replace(lp_oindex *t, uint64_t key, uint32_t from, uint32_t to) {
  size_t i = oix_slot_of(t, key, from);
  if (i == t->cap || to > lp_oindex_max_ord(t)) return false;
  oix_set(t, i, (lp_oindex_slot_(t, i) & ~t->ord_mask) | to);
  return true;
}

bool lp_oindex_next(const lp_oindex *t, size_t *pos, uint32_t *ord) {
  for (size_t i = *pos; i < t->cap; i++) {
    uint64_t v = lp_oindex_slot_(t, i);
    if (v == t->empty) continue;
    *ord = (uint32_t)(v & t->ord_mask);
    *pos = i + 1;
    return true;
  }
  *pos = t->cap;
  return false;
}

/* ---- bulk build ----
 * As lp_hmap_build: the table is cut into regions of R = 2^OIX_REGION_BITS
 * slots (64 or 128 KiB: in L2). A first pass counts the ordinals of each
 * region (by the region of their home slot); a second writes each
 * ordinal packed at the start of its region's own slots and its mixed hash
 * to the region's part of a scratch array; then region by region the
 * packed ordinals move out to a buffer (their slots emptied) and are
 * placed, so every probe hits a region already in cache. A region's
 * entries overflow at most into the next region (each holds at most R
 * entries), whose packed ordinals are moved out first. The result is the
 * table that inserting in (region, ordinal) order makes. Small tables, a
 * region with more than R entries (hostile keys) or no scratch: inserts
 * in ordinal order. */
#define OIX_REGION_BITS 14
#define OIX_MIN_REGIONS 8
#define OIX_FALLBACK 1

static void oix_build_direct(lp_oindex *t, size_t n, lp_oindex_key_fn key_of, const void *ctx) {
  for (size_t i = 0; i < n; i++) {
    size_t home;
    uint64_t w = oix_word(t, key_of(ctx, (uint32_t)i), (uint32_t)i, &home);
    oix_place(t, home, w);
  }
}

/* Move the `c` packed ordinals of the region at slot `base` to buf. */
static void oix_move_out(lp_oindex *t, size_t base, size_t c, uint32_t *buf) {
  for (size_t k = 0; k < c; k++) {
    buf[k] = (uint32_t)lp_oindex_slot_(t, base + k);
    oix_set(t, base + k, t->empty);
  }
}

static int oix_build_regions(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                             const void *ctx) {
  const size_t R = (size_t)1 << OIX_REGION_BITS;
  size_t nreg = t->cap >> OIX_REGION_BITS, mask = t->cap - 1;
  /* start[r]: region r's first entry in mixed[]; pos[r]: the next one */
  size_t idx_bytes = 2 * (nreg + 1) * sizeof(size_t), buf_bytes = 2 * R * sizeof(uint32_t);
  size_t *start = lp_mem_zalloc(m, idx_bytes);
  size_t *pos = start != NULL ? start + nreg + 1 : NULL; /* no arithmetic on NULL */
  uint32_t *buf = start != NULL ? lp_mem_alloc(m, buf_bytes) : NULL;
  uint64_t *mixed = NULL;
  if (buf == NULL || lp_mem_alloc_array(m, n, sizeof *mixed, (void **)&mixed) != LP_OK)
    mixed = NULL;
  int rc = mixed != NULL ? LP_OK : OIX_FALLBACK;
  for (size_t i = 0; rc == LP_OK && i < n; i++) {
    size_t r = ((size_t)lp_mix64(key_of(ctx, (uint32_t)i)) & mask) >> OIX_REGION_BITS;
    if (++start[r + 1] > R) rc = OIX_FALLBACK;
  }
  if (rc == LP_OK) {
    for (size_t r = 0; r < nreg; r++) {
      start[r + 1] += start[r];
      pos[r] = start[r];
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t h = lp_mix64(key_of(ctx, (uint32_t)i));
      size_t r = ((size_t)h & mask) >> OIX_REGION_BITS, k = pos[r]++;
      mixed[k] = h;
      oix_set(t, (r << OIX_REGION_BITS) + (k - start[r]), i);
    }
    uint32_t *cur = buf, *ahead = buf + R;
    oix_move_out(t, 0, start[1], cur);
    for (size_t r = 0; r < nreg; r++) {
      if (r + 1 < nreg)
        oix_move_out(t, (r + 1) << OIX_REGION_BITS, start[r + 2] - start[r + 1], ahead);
      const uint64_t *hs = mixed + start[r];
      for (size_t k = 0, c = start[r + 1] - start[r]; k < c; k++)
        oix_place(t, (size_t)hs[k] & mask, ((hs[k] >> t->tshift) << t->ord_bits) | cur[k]);
      uint32_t *tmp = cur;
      cur = ahead;
      ahead = tmp;
    }
  }
  lp_mem_free_array(m, mixed, mixed != NULL ? n : 0, sizeof *mixed);
  if (buf != NULL) lp_mem_free(m, buf, buf_bytes);
  if (start != NULL) lp_mem_free(m, start, idx_bytes);
  return rc;
}

/* The ordinals 0..n-1 into the empty table `nt`. */
static void oix_fill(lp_oindex *nt, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                     const void *ctx) {
  int rc = OIX_FALLBACK;
  if ((nt->cap >> OIX_REGION_BITS) >= OIX_MIN_REGIONS)
    rc = oix_build_regions(nt, m, n, key_of, ctx);
  if (rc == OIX_FALLBACK) oix_build_direct(nt, n, key_of, ctx);
  nt->len = n;
}

int lp_oindex_build(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                    const void *ctx) {
  if (t->len != 0 || (n > 0 && n - 1 > lp_oindex_max_ord(t))) return LP_EINVAL;
  if (n == 0) return LP_OK;
  size_t cap;
  int rc = lp_hash_cap_for(t->cap, n, OIX_MAX_CAP, &cap);
  if (rc != LP_OK) return rc;
  /* An empty index's slots are all empty: its table can be reused. */
  bool fresh = cap != t->cap;
  lp_oindex nt = *t;
  if (fresh && oix_alloc(&nt, t, m, cap) != LP_OK) return LP_ENOMEM;
  oix_fill(&nt, m, n, key_of, ctx);
  if (fresh && t->cap > 0) lp_mem_free(m, t->slots, lp_oindex_bytes(t));
  *t = nt;
  return LP_OK;
}

int lp_oindex_reserve_dense(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                            const void *ctx) {
  size_t cap;
  int rc = lp_hash_cap_for(t->cap, n, OIX_MAX_CAP, &cap);
  if (rc != LP_OK || cap == t->cap) return rc;
  lp_oindex nt;
  if (oix_alloc(&nt, t, m, cap) != LP_OK) return LP_ENOMEM;
  oix_fill(&nt, m, t->len, key_of, ctx);
  if (t->cap > 0) lp_mem_free(m, t->slots, lp_oindex_bytes(t));
  *t = nt;
  return LP_OK;
}

int lp_oindex_check(const lp_oindex *t, const lp_mem *m, size_t nord, lp_oindex_key_fn key_of,
                    const void *ctx) {
  if (t->cap == 0) return t->len == 0 && t->slots == NULL ? LP_OK : LP_ECORRUPT;
  if ((t->cap & (t->cap - 1)) != 0 || t->len > t->cap / 4 * 3) return LP_ECORRUPT;
  uint64_t *seen = NULL;
  if (m != NULL && (seen = lp_mem_zalloc(m, (nord / 64 + 1) * sizeof *seen)) == NULL)
    return LP_ENOMEM;
  size_t count = 0, mask = t->cap - 1;
  int rc = LP_OK;
  for (size_t i = 0; rc == LP_OK && i < t->cap; i++) {
    uint64_t v = lp_oindex_slot_(t, i);
    if (v == t->empty) continue;
    count++;
    uint32_t ord = (uint32_t)(v & t->ord_mask);
    if (ord >= nord || ord > lp_oindex_max_ord(t) ||
        (seen != NULL && ((seen[ord / 64] >> (ord % 64)) & 1))) {
      rc = LP_ECORRUPT;
      break;
    }
    if (seen != NULL) seen[ord / 64] |= UINT64_C(1) << (ord % 64);
    size_t home;
    if (oix_word(t, key_of(ctx, ord), ord, &home) != v) rc = LP_ECORRUPT;
    /* no empty slot between its home and itself */
    for (size_t j = home; rc == LP_OK && j != i; j = (j + 1) & mask)
      if (lp_oindex_slot_(t, j) == t->empty) rc = LP_ECORRUPT;
  }
  if (rc == LP_OK && count != t->len) rc = LP_ECORRUPT;
  if (seen != NULL) lp_mem_free(m, seen, (nord / 64 + 1) * sizeof *seen);
  return rc;
}
