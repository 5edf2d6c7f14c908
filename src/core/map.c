/*
 * Open-addressing hash map (see map.h for the design).
 * SPDX-License-Identifier: MIT
 */
#include "core/map.h"

/* Resize when more than 3/4 full: short probe runs with linear probing. */
#define LP_HMAP_MAX_LOAD_NUM 3
#define LP_HMAP_MAX_LOAD_DEN 4
#define LP_HMAP_MIN_CAP 16

static inline uint64_t key_hash(const uint64_t *key, unsigned kw) {
  uint64_t h = lp_mix64(key[0]);
  if (kw == 2) h = lp_mix64(h ^ key[1]);
  return h;
}

static inline uint8_t ctrl_tag(uint64_t h) { return (uint8_t)(0x80u | (h >> 57)); }

static inline bool key_eq(const uint64_t *a, const uint64_t *b, unsigned kw) {
  return a[0] == b[0] && (kw == 1 || a[1] == b[1]);
}

/* Key words are 1 or 2: plain stores, not a memcpy call of variable size. */
static inline void copy_key(uint64_t *dst, const uint64_t *src, unsigned kw) {
  dst[0] = src[0];
  if (kw == 2) dst[1] = src[1];
}

static size_t block_bytes(size_t cap, unsigned kw) {
  /* cap is bounded by reserve() so this cannot overflow. */
  return cap * (kw + 1) * sizeof(uint64_t) + cap;
}

uint64_t lp_hmap_hash(const lp_hmap *h, const uint64_t *key) { return key_hash(key, h->kw); }

void lp_hmap_prefetch(const lp_hmap *h, uint64_t hash) {
  if (h->cap == 0) return;
  size_t i = (size_t)hash & (h->cap - 1);
#if defined(__GNUC__)
  __builtin_prefetch(&h->ctrl[i]);
  __builtin_prefetch(&h->keys[i * h->kw]);
  __builtin_prefetch(&h->vals[i]);
#else
  (void)i;
#endif
}

void lp_hmap_init(lp_hmap *h, unsigned key_words) {
  memset(h, 0, sizeof *h);
  h->kw = key_words;
}

void lp_hmap_free(lp_hmap *h, const lp_mem *m) {
  if (h->cap > 0) lp_mem_free(m, h->keys, block_bytes(h->cap, h->kw));
  unsigned kw = h->kw;
  lp_hmap_init(h, kw);
}

size_t lp_hmap_bytes(const lp_hmap *h) {
  return h->cap > 0 ? block_bytes(h->cap, h->kw) : 0;
}

/* Slot where `key` is, or the empty slot where it would go. */
static size_t probe(const lp_hmap *h, const uint64_t *key, uint64_t hash, bool *found) {
  size_t mask = h->cap - 1, i = (size_t)hash & mask;
  uint8_t tag = ctrl_tag(hash);
  for (;;) {
    uint8_t c = h->ctrl[i];
    if (c == 0) {
      *found = false;
      return i;
    }
    if (c == tag && key_eq(&h->keys[i * h->kw], key, h->kw)) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

/* Store `key` in the empty slot `i`. */
static inline void place(lp_hmap *h, size_t i, const uint64_t *key, uint64_t hash, uint64_t val) {
  h->ctrl[i] = ctrl_tag(hash);
  copy_key(&h->keys[i * h->kw], key, h->kw);
  h->vals[i] = val;
}

/* An empty table of `cap` slots in a new block. */
static int alloc_table(lp_hmap *n, const lp_mem *m, size_t cap, unsigned kw) {
  void *block = lp_mem_alloc(m, block_bytes(cap, kw));
  if (block == NULL) return LP_ENOMEM;
  memset(n, 0, sizeof *n);
  n->kw = kw;
  n->cap = cap;
  n->keys = block;
  n->vals = n->keys + cap * kw;
  n->ctrl = (uint8_t *)(n->vals + cap);
  memset(n->ctrl, 0, cap);
  return LP_OK;
}

static int rehash(lp_hmap *h, const lp_mem *m, size_t new_cap) {
  unsigned kw = h->kw;
  lp_hmap n;
  if (alloc_table(&n, m, new_cap, kw) != LP_OK) return LP_ENOMEM;
  for (size_t i = 0; i < h->cap; i++) {
    if (h->ctrl[i] == 0) continue;
    const uint64_t *key = &h->keys[i * kw];
    bool found;
    uint64_t hash = key_hash(key, kw);
    place(&n, probe(&n, key, hash, &found), key, hash, h->vals[i]);
  }
  n.len = h->len;
  if (h->cap > 0) lp_mem_free(m, h->keys, block_bytes(h->cap, kw));
  *h = n;
  return LP_OK;
}

/* The capacity that holds `n` entries, growing from the map's own. */
int lp_hash_cap_for(size_t cap, size_t n, size_t max_cap, size_t *out) {
  if (cap == 0) cap = LP_HMAP_MIN_CAP;
  while (n > cap / LP_HMAP_MAX_LOAD_DEN * LP_HMAP_MAX_LOAD_NUM) {
    if (cap > max_cap / 2) return LP_ELIMIT;
    cap *= 2;
  }
  *out = cap;
  return LP_OK;
}

static int cap_for(const lp_hmap *h, size_t n, size_t *out) {
  /* Largest capacity whose block size fits in size_t with room to spare. */
  return lp_hash_cap_for(h->cap, n, SIZE_MAX / (4 * sizeof(uint64_t)) / 2, out);
}

int lp_hmap_reserve(lp_hmap *h, const lp_mem *m, size_t n) {
  size_t cap;
  int rc = cap_for(h, n, &cap);
  if (rc != LP_OK) return rc;
  if (cap == h->cap) return LP_OK;
  return rehash(h, m, cap);
}

bool lp_hmap_get(const lp_hmap *h, const uint64_t *key, uint64_t *val) {
  if (h->len == 0) return false;
  bool found;
  size_t i = probe(h, key, key_hash(key, h->kw), &found);
  if (found && val != NULL) *val = h->vals[i];
  return found;
}

int lp_hmap_upsert(lp_hmap *h, const lp_mem *m, const uint64_t *key, uint64_t **slot,
                   bool *inserted) {
  uint64_t hash = key_hash(key, h->kw);
  bool found = false;
  size_t i = 0;
  if (h->cap > 0) i = probe(h, key, hash, &found);
  if (!found) {
    if (h->cap == 0 || h->len + 1 > h->cap / LP_HMAP_MAX_LOAD_DEN * LP_HMAP_MAX_LOAD_NUM) {
      int rc = lp_hmap_reserve(h, m, h->len + 1);
      if (rc != LP_OK) return rc;
      i = probe(h, key, hash, &found);
    }
    place(h, i, key, hash, 0);
    h->len++;
  }
  *slot = &h->vals[i];
  *inserted = !found;
  return LP_OK;
}

bool lp_hmap_del(lp_hmap *h, const uint64_t *key, uint64_t *val) {
  if (h->len == 0) return false;
  bool found;
  size_t i = probe(h, key, key_hash(key, h->kw), &found);
  if (!found) return false;
  if (val != NULL) *val = h->vals[i];
  size_t mask = h->cap - 1, kw = h->kw;
  /* Backward shift: pull later members of the probe run into the hole as
   * long as that does not move them before their home slot. */
  for (size_t j = (i + 1) & mask; h->ctrl[j] != 0; j = (j + 1) & mask) {
    size_t home = (size_t)key_hash(&h->keys[j * kw], h->kw) & mask;
    if (!lp_hash_shift_ok(i, j, home)) continue;
    h->ctrl[i] = h->ctrl[j];
    copy_key(&h->keys[i * kw], &h->keys[j * kw], h->kw);
    h->vals[i] = h->vals[j];
    i = j;
  }
  h->ctrl[i] = 0;
  h->len--;
  return true;
}

bool lp_hmap_next(const lp_hmap *h, size_t *pos, const uint64_t **key, uint64_t *val) {
  for (size_t i = *pos; i < h->cap; i++) {
    if (h->ctrl[i] == 0) continue;
    if (key != NULL) *key = &h->keys[i * h->kw];
    if (val != NULL) *val = h->vals[i];
    *pos = i + 1;
    return true;
  }
  *pos = h->cap;
  return false;
}

/* ---- bulk build ----
 * Inserting millions of keys one by one is bound by cache misses: each
 * insert probes a random line of a table far larger than the caches. The
 * build cuts the table into regions of R = 2^LP_HMAP_REGION_BITS slots
 * (a quarter of a megabyte for 64-bit keys: in L2), counts the entries of
 * each region (by the region of their home slot), writes each region's
 * entries packed at the start of the region's own key and value slots
 * (control bytes stay 0, so the table is still empty), then region by
 * region moves the packed entries out to a buffer and inserts them, so
 * every probe hits a region already in cache and no scratch of the
 * input's size is needed. A region's inserts overflow at most into the
 * next region (each holds at most R entries), whose packed entries are
 * moved out before. The table is exactly the one the same inserts make in
 * (region, input index) order. Small tables, a region with more than R
 * entries (hostile keys) or buffers that cannot be allocated insert in
 * input order instead: the same lookups, only slower. */
#define LP_HMAP_REGION_BITS 14
#define LP_HMAP_MIN_REGIONS 8

static inline bool is_present(const uint64_t *present, size_t i) {
  return present == NULL || ((present[i >> 6] >> (i & 63)) & 1);
}

static size_t count_present(const uint64_t *present, size_t n) {
  if (present == NULL) return n;
  size_t count = 0;
  for (size_t w = 0; w < n / 64; w++) {
    uint64_t x = present[w];
#if defined(__GNUC__)
    count += (size_t)__builtin_popcountll(x);
#else
    for (; x != 0; x &= x - 1) count++;
#endif
  }
  for (size_t i = n / 64 * 64; i < n; i++) count += is_present(present, i);
  return count;
}

/* Insert a key into a table with room for it; false if it is there already. */
static inline bool insert_new(lp_hmap *t, const uint64_t *key, uint64_t val) {
  uint64_t hash = key_hash(key, t->kw);
  bool found;
  size_t i = probe(t, key, hash, &found);
  if (found) return false;
  place(t, i, key, hash, val);
  return true;
}

static int build_direct(lp_hmap *t, const uint64_t *keys, const uint64_t *vals, size_t n,
                        const uint64_t *present) {
  unsigned kw = t->kw;
  for (size_t i = 0; i < n; i++)
    if (is_present(present, i) && !insert_new(t, &keys[i * kw], vals != NULL ? vals[i] : i))
      return LP_ECORRUPT;
  return LP_OK;
}

/* Move the `c` packed entries of the region starting at slot `base` to
 * buf (key words, then the value). */
static void move_out(const lp_hmap *t, size_t base, size_t c, uint64_t *buf) {
  unsigned kw = t->kw;
  for (size_t k = 0; k < c; k++, buf += kw + 1) {
    copy_key(buf, &t->keys[(base + k) * kw], kw);
    buf[kw] = t->vals[base + k];
  }
}

/* BUILD_FALLBACK (nothing written yet): a region too full or no buffers. */
#define BUILD_FALLBACK 1
static int build_regions(lp_hmap *t, const lp_mem *m, const uint64_t *keys,
                         const uint64_t *vals, size_t n, const uint64_t *present) {
  const size_t R = (size_t)1 << LP_HMAP_REGION_BITS;
  unsigned kw = t->kw;
  size_t nreg = t->cap >> LP_HMAP_REGION_BITS, mask = t->cap - 1, ew = kw + 1u;
  size_t fill_bytes = nreg * sizeof(size_t), buf_bytes = 2 * R * ew * sizeof(uint64_t);
  size_t *fill = lp_mem_zalloc(m, fill_bytes);
  uint64_t *buf = fill != NULL ? lp_mem_alloc(m, buf_bytes) : NULL;
  int rc = buf != NULL ? LP_OK : BUILD_FALLBACK;
  for (size_t i = 0; rc == LP_OK && i < n; i++)
    if (is_present(present, i) &&
        ++fill[((size_t)key_hash(&keys[i * kw], kw) & mask) >> LP_HMAP_REGION_BITS] > R)
      rc = BUILD_FALLBACK;
  if (rc == LP_OK) {
    /* pack: afterwards fill[r] counts region r again */
    memset(fill, 0, fill_bytes);
    for (size_t i = 0; i < n; i++) {
      if (!is_present(present, i)) continue;
      const uint64_t *key = &keys[i * kw];
      size_t r = ((size_t)key_hash(key, kw) & mask) >> LP_HMAP_REGION_BITS;
      size_t slot = (r << LP_HMAP_REGION_BITS) + fill[r]++;
      copy_key(&t->keys[slot * kw], key, kw);
      t->vals[slot] = vals != NULL ? vals[i] : i;
    }
    uint64_t *cur = buf, *ahead = buf + R * ew;
    move_out(t, 0, fill[0], cur);
    for (size_t r = 0; rc == LP_OK && r < nreg; r++) {
      if (r + 1 < nreg) move_out(t, (r + 1) << LP_HMAP_REGION_BITS, fill[r + 1], ahead);
      for (size_t k = 0; k < fill[r]; k++)
        if (!insert_new(t, &cur[k * ew], cur[k * ew + kw])) {
          rc = LP_ECORRUPT;
          break;
        }
      uint64_t *tmp = cur;
      cur = ahead;
      ahead = tmp;
    }
  }
  if (buf != NULL) lp_mem_free(m, buf, buf_bytes);
  if (fill != NULL) lp_mem_free(m, fill, fill_bytes);
  return rc;
}

int lp_hmap_build(lp_hmap *h, const lp_mem *m, const uint64_t *keys, const uint64_t *vals,
                  size_t n, const uint64_t *present) {
  if (h->len != 0 || (n > 0 && keys == NULL)) return LP_EINVAL;
  size_t count = count_present(present, n), cap;
  if (count == 0) return LP_OK;
  int rc = cap_for(h, count, &cap);
  if (rc != LP_OK) return rc;
  /* An empty map's control bytes are all zero: its table can be reused. */
  bool fresh = cap != h->cap;
  lp_hmap t = *h;
  if (fresh && alloc_table(&t, m, cap, h->kw) != LP_OK) return LP_ENOMEM;
  rc = BUILD_FALLBACK;
  if ((cap >> LP_HMAP_REGION_BITS) >= LP_HMAP_MIN_REGIONS)
    rc = build_regions(&t, m, keys, vals, n, present);
  if (rc == BUILD_FALLBACK) rc = build_direct(&t, keys, vals, n, present);
  if (rc != LP_OK) {
    if (fresh) lp_mem_free(m, t.keys, block_bytes(cap, t.kw));
    else memset(h->ctrl, 0, h->cap);
    return rc;
  }
  if (fresh && h->cap > 0) lp_mem_free(m, h->keys, block_bytes(h->cap, h->kw));
  t.len = count;
  *h = t;
  return LP_OK;
}
