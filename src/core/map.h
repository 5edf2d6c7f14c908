/*
 * Internal: open-addressing hash map from 64- or 128-bit keys to uint64_t.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_MAP_H
#define LP_CORE_MAP_H

#include "core/hash.h"
#include "core/mem.h"

/* Linear probing with a one-byte control array (0 = empty, else 0x80 | 7
 * hash bits, so most mismatches are rejected without touching the keys)
 * and backward-shift deletion, so there are no tombstones and lookups never
 * slow down after deletions. One allocation holds keys, values and control
 * bytes, so growth either fully succeeds or leaves the map untouched.
 * Iteration order depends on the keys and on the order they were inserted
 * and deleted in (keys sharing a probe run sit in insertion order), so
 * callers that need a defined order must sort. */
typedef struct lp_hmap {
  uint64_t *keys; /* cap * kw words */
  uint64_t *vals; /* cap */
  uint8_t *ctrl;  /* cap */
  size_t cap;     /* 0 or a power of two */
  size_t len;
  unsigned kw;    /* key words: 1 or 2 */
} lp_hmap;

void lp_hmap_init(lp_hmap *h, unsigned key_words);
void lp_hmap_free(lp_hmap *h, const lp_mem *m);
/* Make room for `n` entries without further growth. */
int lp_hmap_reserve(lp_hmap *h, const lp_mem *m, size_t n);
/* Find `key`; returns true and sets *val (if non-NULL) when present. */
bool lp_hmap_get(const lp_hmap *h, const uint64_t *key, uint64_t *val);
/* Find or insert `key`. On LP_OK, *slot points at its value (0 for a new
 * entry) until the next insertion or deletion, and *inserted tells which. */
int lp_hmap_upsert(lp_hmap *h, const lp_mem *m, const uint64_t *key, uint64_t **slot,
                   bool *inserted);
/* Fill an empty map with `n` keys at once (loaders: millions of entries
 * several times faster than one upsert each). Entry i has the key
 * keys[i * key_words ...] and the value vals[i], or i when `vals` is NULL;
 * when `present` is non-NULL only the entries whose bit is set in it (bit
 * i % 64 of present[i / 64]) are added. The map gets the capacity that
 * upserting the same keys gives and is the table those upserts make in
 * some order (the same order for the same input), so lookups, deletions
 * and later inserts behave exactly as after the upserts; only the
 * iteration order can differ. Returns LP_EINVAL when the map is not empty
 * (or keys is NULL with n > 0), LP_ECORRUPT when a key is given twice,
 * LP_ENOMEM, LP_ELIMIT; on any error the map is unchanged. May allocate
 * 8 * (key_words + 1) bytes per entry of scratch, and falls back to
 * inserting in input order when it cannot. */
int lp_hmap_build(lp_hmap *h, const lp_mem *m, const uint64_t *keys, const uint64_t *vals,
                  size_t n, const uint64_t *present);
/* Remove `key`; returns true and sets *val (if non-NULL) when it was present. */
bool lp_hmap_del(lp_hmap *h, const uint64_t *key, uint64_t *val);
/* Iterate: start with *pos = 0; returns false at the end. */
bool lp_hmap_next(const lp_hmap *h, size_t *pos, const uint64_t **key, uint64_t *val);
/* Bytes of memory held (for benchmarks' bytes-per-item figures). */
size_t lp_hmap_bytes(const lp_hmap *h);
/* The hash the map uses for `key`, and a hint to fetch the home slot of a
 * key with that hash into the cache ahead of a lookup (batched ingest
 * overlaps its cache misses this way). The hint never changes the map. */
uint64_t lp_hmap_hash(const lp_hmap *h, const uint64_t *key);
void lp_hmap_prefetch(const lp_hmap *h, uint64_t hash);

/* Shared by core's open-addressing tables (lp_hmap, lp_oindex). The growth
 * rule: the capacity that holds `n` entries at most 3/4 full, doubling
 * from `cap` (0: the minimum of 16); LP_ELIMIT when it would pass
 * `max_cap` / 2. */
int lp_hash_cap_for(size_t cap, size_t n, size_t max_cap, size_t *out);
/* Backward-shift deletion: may the entry at slot j, whose home slot is
 * `home`, move into the hole at slot i (the run from i wraps to j) without
 * landing before its home? */
static inline bool lp_hash_shift_ok(size_t i, size_t j, size_t home) {
  return (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
}

/* ---- 64-bit keys ---- */
typedef lp_hmap lp_map64;
static inline void lp_map64_init(lp_map64 *h) { lp_hmap_init(h, 1); }
static inline bool lp_map64_get(const lp_map64 *h, uint64_t key, uint64_t *val) {
  return lp_hmap_get(h, &key, val);
}
static inline int lp_map64_put(lp_map64 *h, const lp_mem *m, uint64_t key, uint64_t val) {
  uint64_t *slot;
  bool inserted;
  int rc = lp_hmap_upsert(h, m, &key, &slot, &inserted);
  if (rc == LP_OK) *slot = val;
  return rc;
}
static inline int lp_map64_build(lp_map64 *h, const lp_mem *m, const uint64_t *keys,
                                 const uint64_t *vals, size_t n, const uint64_t *present) {
  return lp_hmap_build(h, m, keys, vals, n, present);
}
static inline bool lp_map64_del(lp_map64 *h, uint64_t key, uint64_t *val) {
  return lp_hmap_del(h, &key, val);
}

/* ---- 128-bit keys ---- */
typedef lp_hmap lp_map128;
static inline void lp_map128_init(lp_map128 *h) { lp_hmap_init(h, 2); }
static inline bool lp_map128_get(const lp_map128 *h, lp_hash128 key, uint64_t *val) {
  uint64_t k[2] = {key.lo, key.hi};
  return lp_hmap_get(h, k, val);
}
static inline int lp_map128_put(lp_map128 *h, const lp_mem *m, lp_hash128 key,
                                uint64_t val) {
  uint64_t k[2] = {key.lo, key.hi}, *slot;
  bool inserted;
  int rc = lp_hmap_upsert(h, m, k, &slot, &inserted);
  if (rc == LP_OK) *slot = val;
  return rc;
}
static inline bool lp_map128_del(lp_map128 *h, lp_hash128 key, uint64_t *val) {
  uint64_t k[2] = {key.lo, key.hi};
  return lp_hmap_del(h, k, val);
}

#endif /* LP_CORE_MAP_H */
