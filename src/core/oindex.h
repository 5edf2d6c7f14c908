/*
 * Internal: an open-addressing index of uint32 ordinals whose keys live
 * elsewhere (in the caller's records).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_CORE_OINDEX_H
#define LP_CORE_OINDEX_H

#include "core/hash.h"
#include "core/mem.h"

/* lp_map stores its keys; this table stores only the ordinal of a record
 * (an index into the caller's array) and a few bits of the key's hash, and
 * asks the caller for the key of an ordinal when it must. Each key is a
 * 64-bit word the caller derives from its record (identity uses the low
 * half of the 128-bit identifier hash); the caller compares whatever else
 * makes a record equal, so several records may share a 64-bit key.
 *
 * Slots are 4 or 8 bytes (lp_oindex_init): a 4-byte slot is
 * tag << ord_bits | ordinal with 32 - ord_bits tag bits, an 8-byte slot
 * holds 32 tag bits above a 32-bit ordinal. The tag is the top of the
 * key's mixed hash (lp_mix64, as lp_map64), the home slot its low bits, so
 * lp_map64 and this table put a key at the same home. An empty slot is all
 * ones: the largest ordinal is 2^ord_bits - 2.
 *
 * Linear probing, at most 3/4 full (the growth rule of lp_map,
 * lp_hash_cap_for). Deletion shifts the later members of the probe run
 * back (as lp_map) instead of leaving tombstones: lookups never slow down
 * after erasures, no cleanup rehash is ever due, len is the number of
 * occupied slots, and the probe's end is always the empty slot where a new
 * key goes, which the inline lookup below hands back for the insertion.
 * The price is the key of each entry the shift passes (a read of the
 * caller's record); deletions are rare next to lookups.
 *
 * The hot path is inline: start a probe for a key, take the candidates
 * whose tag matches one by one, compare each against the caller's record,
 * and either stop at the match or, at the probe's end, place a new ordinal
 * where the probe stopped (room reserved beforehand). */

/* Key of the stored ordinal `ord` (the caller's record decides). */
typedef uint64_t (*lp_oindex_key_fn)(const void *ctx, uint32_t ord);

typedef struct lp_oindex {
  void *slots;       /* cap slots of `width` bytes, LP_OINDEX_EMPTY when free */
  size_t cap;        /* 0 or a power of two */
  size_t len;        /* occupied slots */
  uint64_t ord_mask; /* 2^ord_bits - 1 */
  uint64_t empty;    /* an empty slot read as uint64_t */
  unsigned width;    /* 4 or 8 */
  unsigned ord_bits; /* 4-byte slots: 1..31; 8-byte slots: 32 */
  unsigned tshift;   /* tag = mixed hash >> tshift, stored << ord_bits */
} lp_oindex;

/* A lookup in progress: the slot it looks at next and the tag it wants. */
typedef struct lp_oindex_probe {
  size_t i;
  uint64_t tag;
} lp_oindex_probe;

/* An empty index of `width`-byte slots (4 or 8) whose ordinals take
 * `ord_bits` bits (4-byte slots: 1..31, the other bits are the tag; 8-byte
 * slots take 32 whatever is given). Allocates nothing. */
void lp_oindex_init(lp_oindex *t, unsigned width, unsigned ord_bits);
void lp_oindex_free(lp_oindex *t, const lp_mem *m);
/* Empty it, keeping its capacity. */
void lp_oindex_clear(lp_oindex *t);
/* The largest ordinal it can store. */
static inline uint32_t lp_oindex_max_ord(const lp_oindex *t) { return (uint32_t)(t->ord_mask - 1); }
/* Room for `n` entries in all without further growth; growing reads the
 * key of every stored ordinal through key_of. LP_OK, LP_ENOMEM or LP_ELIMIT
 * (unchanged on error). */
int lp_oindex_reserve(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                      const void *ctx);
/* The same for an index that holds exactly the ordinals 0..len-1 (the
 * caller's promise): growing fills the new table from them in ordinal
 * order, as lp_oindex_build does (the keys read in order, not in the old
 * table's scattered order: 2 sequential passes instead of one random
 * read per entry), with 8 bytes of scratch per entry when it can. */
int lp_oindex_reserve_dense(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                            const void *ctx);
/* Room for one more entry without growth (what lp_oindex_probe_put needs). */
static inline bool lp_oindex_has_room(const lp_oindex *t) {
  return t->cap > 0 && t->len + 1 <= t->cap / 4 * 3;
}
/* Bytes of memory held. */
static inline size_t lp_oindex_bytes(const lp_oindex *t) { return t->cap * t->width; }

/* ---- lookups ---- */
static inline uint64_t lp_oindex_slot_(const lp_oindex *t, size_t i) {
  return t->width == 4 ? ((const uint32_t *)t->slots)[i] : ((const uint64_t *)t->slots)[i];
}
static inline void lp_oindex_probe_start(const lp_oindex *t, uint64_t key, lp_oindex_probe *p) {
  uint64_t h = lp_mix64(key);
  p->i = t->cap > 0 ? (size_t)h & (t->cap - 1) : 0;
  p->tag = (h >> t->tshift) << t->ord_bits;
}
/* The next candidate of the probe (an ordinal whose tag matches the key):
 * true and *ord set, or false at the empty slot that ends the probe (and
 * always for an empty table). A candidate may be a record with another
 * key: the caller compares. */
static inline bool lp_oindex_probe_next(const lp_oindex *t, lp_oindex_probe *p, uint32_t *ord) {
  if (t->len == 0) return false;
  size_t mask = t->cap - 1;
  for (;;) {
    uint64_t v = lp_oindex_slot_(t, p->i);
    if (v == t->empty) return false;
    p->i = (p->i + 1) & mask;
    if ((v & ~t->ord_mask) == p->tag) {
      *ord = (uint32_t)(v & t->ord_mask);
      return true;
    }
  }
}
/* Store `ord` (<= lp_oindex_max_ord) where the probe ended: the probe
 * returned false, and nothing changed the table since it started; the
 * table has room (lp_oindex_has_room, after lp_oindex_reserve). */
void lp_oindex_probe_put(lp_oindex *t, const lp_oindex_probe *p, uint32_t ord);
/* The first candidate of `key`, a hint that needs no record read (false
 * when it has none). */
static inline bool lp_oindex_first(const lp_oindex *t, uint64_t key, uint32_t *ord) {
  lp_oindex_probe p;
  lp_oindex_probe_start(t, key, &p);
  return lp_oindex_probe_next(t, &p, ord);
}
/* Fetch the home slot of `key` into the cache ahead of a lookup (batched
 * ingest overlaps its cache misses this way); changes nothing. */
void lp_oindex_prefetch(const lp_oindex *t, uint64_t key);

/* The same with the comparison as a callback: `eq(ctx, ord, item)` tells
 * whether the record `ord` is the one `item` describes. */
typedef bool (*lp_oindex_eq_fn)(const void *ctx, uint32_t ord, const void *item);
bool lp_oindex_find(const lp_oindex *t, uint64_t key, lp_oindex_eq_fn eq, const void *ctx,
                    const void *item, uint32_t *ord);

/* ---- changes ---- */
/* Add `ord` under `key`, growing when full (key_of as for reserve). The
 * caller has looked: a record already present is not detected. LP_OK,
 * LP_EINVAL (ord above lp_oindex_max_ord), LP_ENOMEM, LP_ELIMIT; unchanged
 * on error. */
int lp_oindex_insert(lp_oindex *t, const lp_mem *m, uint64_t key, uint32_t ord,
                     lp_oindex_key_fn key_of, const void *ctx);
/* Remove the entry of `ord` under `key` (the probe compares ordinals, not
 * records); the backward shift reads the keys of the entries it moves
 * over through key_of, so their records must still be there. False when
 * it was not found. Never allocates. */
bool lp_oindex_del(lp_oindex *t, uint64_t key, uint32_t ord, lp_oindex_key_fn key_of,
                   const void *ctx);
/* Point the entry of `from` under `key` at `to` instead (a record moved:
 * compaction); false when not found. Never allocates. */
bool lp_oindex_replace(lp_oindex *t, uint64_t key, uint32_t from, uint32_t to);
/* Fill an empty index with the ordinals 0..n-1 at once (loaders): their
 * keys are read in ordinal order, the table is written region by region
 * so that its cache misses do not dominate. The capacity is what n inserts
 * give, the table the one n inserts make in some order fixed by the keys
 * (the same for the same keys). Scratch: 8 bytes per ordinal, or none
 * when it falls back to inserting in ordinal order (small tables, a
 * region too full, no memory for the scratch). LP_OK, LP_EINVAL (not
 * empty, or n - 1 above lp_oindex_max_ord), LP_ENOMEM, LP_ELIMIT;
 * unchanged on error. Distinct records are the caller's promise. */
int lp_oindex_build(lp_oindex *t, const lp_mem *m, size_t n, lp_oindex_key_fn key_of,
                    const void *ctx);

/* ---- inspection ---- */
/* Iterate: start with *pos = 0; returns false at the end. Slot order. */
bool lp_oindex_next(const lp_oindex *t, size_t *pos, uint32_t *ord);
/* The invariant checker: the capacity, the count, every ordinal below
 * `nord` (the caller's record count), each entry's tag its key's, each
 * reachable from its home slot, and with `m` non-NULL every ordinal at
 * most once (a bitmap of nord bits from m; a NULL m allocates nothing and
 * leaves duplicates to the caller). LP_OK, LP_ECORRUPT, or LP_ENOMEM. */
int lp_oindex_check(const lp_oindex *t, const lp_mem *m, size_t nord, lp_oindex_key_fn key_of,
                    const void *ctx);

#endif /* LP_CORE_OINDEX_H */
