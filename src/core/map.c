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

static int rehash(lp_hmap *h, const lp_mem *m, size_t new_cap) {
  unsigned kw = h->kw;
  void *block = lp_mem_alloc(m, block_bytes(new_cap, kw));
  if (block == NULL) return LP_ENOMEM;
  lp_hmap n = {0};
  n.kw = kw;
  n.cap = new_cap;
  n.keys = block;
  n.vals = n.keys + new_cap * kw;
  n.ctrl = (uint8_t *)(n.vals + new_cap);
  memset(n.ctrl, 0, new_cap);
  for (size_t i = 0; i < h->cap; i++) {
    if (h->ctrl[i] == 0) continue;
    const uint64_t *key = &h->keys[i * kw];
    bool found;
    size_t j = probe(&n, key, key_hash(key, kw), &found);
    n.ctrl[j] = h->ctrl[i];
    memcpy(&n.keys[j * kw], key, kw * sizeof(uint64_t));
    n.vals[j] = h->vals[i];
  }
  n.len = h->len;
  if (h->cap > 0) lp_mem_free(m, h->keys, block_bytes(h->cap, kw));
  *h = n;
  return LP_OK;
}

int lp_hmap_reserve(lp_hmap *h, const lp_mem *m, size_t n) {
  size_t cap = h->cap > 0 ? h->cap : LP_HMAP_MIN_CAP;
  /* Largest capacity whose block size fits in size_t with room to spare. */
  const size_t max_cap = SIZE_MAX / (4 * sizeof(uint64_t)) / 2;
  while (n > cap / LP_HMAP_MAX_LOAD_DEN * LP_HMAP_MAX_LOAD_NUM) {
    if (cap > max_cap / 2) return LP_ELIMIT;
    cap *= 2;
  }
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
    h->ctrl[i] = ctrl_tag(hash);
    memcpy(&h->keys[i * h->kw], key, h->kw * sizeof(uint64_t));
    h->vals[i] = 0;
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
    bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
    if (!movable) continue;
    h->ctrl[i] = h->ctrl[j];
    memcpy(&h->keys[i * kw], &h->keys[j * kw], kw * sizeof(uint64_t));
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
