/*
 * Internal: state storage, canonical order, union-find and the identifier
 * index (state.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_STATE_H
#define LP_IDENTITY_STATE_H

#include "identity/identity_internal.h"

void idg_state_init(idg_state *s);
void idg_state_free(idg_state *s, const lp_mem *m);
int idg_cmp_hash(lp_hash128 a, lp_hash128 b);
int idg_cmp_events(const idg_state *s, uint32_t a, uint32_t b);
/* idg_cmp_events for idg_sort (ctx is the idg_state). */
int idg_cmp_events_ctx(const void *ctx, uint32_t a, uint32_t b);
int idg_cmp_nodes(const idg_state *s, uint32_t a, uint32_t b);
uint32_t idg_find(const idg_state *s, uint32_t x);
uint32_t idg_cluster_find(const idg_state *s, uint32_t x);
uint64_t idg_pid(const idg_state *s, uint32_t node);
/* Room for `n` elements in one of the graph's arrays (nodes, counts, raws,
 * events, members), which grow by one element or event at a time: below
 * IDG_GROW_SLOW_BYTES as lp_vec_reserve (by half again), past it by an
 * eighth (at most 1/9 of the capacity unused instead of 1/3; blocks that
 * large are moved by the allocator's page remapping, not copied, on
 * glibc). LP_OK / LP_ENOMEM (unchanged) / LP_ELIMIT. */
#define IDG_GROW_SLOW_BYTES ((size_t)1 << 20)
int idg_vec_reserve(lp_vec *v, const lp_mem *m, size_t n);
/* Hash -> node (core's lp_oindex keyed by the low half, the nodes compared).
 * Room for `n` more identifiers (LP_OK / LP_ENOMEM / LP_ELIMIT); growing
 * reads the hash of every node in the index. */
void idg_index_init(idg_state *s);
int idg_index_reserve(idg_state *s, const lp_mem *m, size_t n);
bool idg_index_get(const idg_state *s, lp_hash128 hash, uint32_t *node);
/* Node of `hash`, or `fresh` (registered, *added true) when it has none;
 * room reserved, so it cannot fail. `fresh` need not be stored yet. */
uint32_t idg_index_upsert(idg_state *s, const lp_mem *m, lp_hash128 hash, uint32_t fresh,
                          bool *added);
/* Remove `hash` (the nodes after it in its probe run must still be
 * stored: their hashes are read). */
void idg_index_del(idg_state *s, lp_hash128 hash);
/* The entry of `hash`, now at node `from`, names `to` (a node moved). */
void idg_index_move(idg_state *s, lp_hash128 hash, uint32_t from, uint32_t to);
/* An empty index filled with every stored node at once (LP_OK / LP_ENOMEM /
 * LP_ELIMIT; unchanged on error). The hashes must be distinct. */
int idg_index_build(idg_state *s, const lp_mem *m);
/* The index's own invariants (lp_oindex_check, allocation-free). */
bool idg_index_sound(const idg_state *s);
/* Staged lookups: fetch the home slot of a low half; then (the slot in
 * the cache) the node its first candidate names, a hint whose hash is not
 * compared (the 2 tag bits let a quarter of a probe run's other nodes
 * through), or IDG_NONE. */
static inline void idg_index_prefetch(const idg_state *s, uint64_t lo) {
  lp_oindex_prefetch(&s->index, lo);
}
static inline uint32_t idg_index_hint(const idg_state *s, uint64_t lo) {
  uint32_t x;
  return lp_oindex_first(&s->index, lo, &x) && x < s->nodes.len ? x : IDG_NONE;
}
/* A node of the profile named `pid`, found through the index (a profile id
 * is a half of its first identifier's hash); false when there is none. */
bool idg_profile_node(const idg_state *s, uint64_t pid, uint32_t *node);
/* Sources by name (ctx is the source pool). */
int idg_cmp_sources_ctx(const void *ctx, uint32_t a, uint32_t b);
/* The stored events are in canonical order (one pass). */
bool idg_events_canonical(const idg_state *s);
/* order[0..events) = the events in canonical order: one check pass when
 * they already are, else an LSD radix sort on (timestamp, source rank) in
 * timestamp bands, each run of one (timestamp, source) by a bucket pass on
 * its first member's hash prefix, what still ties by idg_cmp_events.
 * LP_OK or LP_ENOMEM (order then undefined). */
int idg_canonical_order(const idg_state *s, const lp_mem *m, uint32_t *order);
/* order[0..nodes) = the identifiers by hash (idg_cmp_hash): a bucket pass
 * on the top bits of the high half, then each bucket. LP_OK or LP_ENOMEM. */
int idg_hash_order(const idg_state *s, const lp_mem *m, uint32_t *order);
/* Digits of the LSD radix sort (idg_radix_u64): at most this many bits, so
 * its histogram (IDG_RADIX_BUCKETS counters) stays in cache. */
#define IDG_RADIX_BITS 14u
#define IDG_RADIX_BUCKETS ((size_t)1 << IDG_RADIX_BITS)
/* LSD radix sort of a[0..n) by bits [ib, ib + kb) of each word (ib + kb <=
 * 64, and every bit from ib + kb up zero; equal keys keep their order),
 * b[0..n) the other buffer, cnt
 * IDG_RADIX_BUCKETS counters of scratch; returns the buffer that holds the
 * sorted words (a or b). Cannot fail. */
uint64_t *idg_radix_u64(uint64_t *a, uint64_t *b, size_t n, unsigned ib, unsigned kb,
                        uint32_t *cnt);
/* Heap sort of uint32 items under a comparator with context. */
void idg_sort(uint32_t *a, size_t n, int (*cmp)(const void *ctx, uint32_t, uint32_t),
              const void *ctx);

#endif /* LP_IDENTITY_STATE_H */
