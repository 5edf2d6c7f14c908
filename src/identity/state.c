/*
 * Identity: state storage, canonical order and union-find lookups.
 * SPDX-License-Identifier: MIT
 */
#include "identity/state.h"

void idg_state_init(idg_state *s) {
  memset(s, 0, sizeof *s);
  lp_vec_init(&s->nodes, sizeof(idg_node));
  lp_vec_init(&s->raws, sizeof(uint32_t));
  lp_vec_init(&s->counts, 1);
  lp_vec_init(&s->events, sizeof(idg_event));
  lp_vec_init(&s->members, sizeof(uint32_t));
  idg_index_init(s);
  lp_map128_init(&s->tombstones);
  lp_strpool_init(&s->sources);
  lp_strpool_init(&s->values);
}

static void wipe_vec(lp_vec *v, const lp_mem *m) {
  /* Erased values must not linger in freed memory either. */
  if (v->data != NULL) memset(v->data, 0, v->cap * v->esz);
  lp_vec_free(v, m);
}

void idg_state_free(idg_state *s, const lp_mem *m) {
  wipe_vec(&s->nodes, m);
  lp_vec_free(&s->raws, m);
  lp_vec_free(&s->counts, m);
  lp_vec_free(&s->events, m);
  lp_vec_free(&s->members, m);
  lp_oindex_free(&s->index, m);
  lp_hmap_free(&s->tombstones, m);
  lp_strpool_free(&s->sources, m);
  lp_strpool_free(&s->values, m);
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

/* Hashes order high half first. */
int idg_cmp_hash(lp_hash128 a, lp_hash128 b) {
  int c = cmp_u64(a.hi, b.hi);
  return c != 0 ? c : cmp_u64(a.lo, b.lo);
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n > 0 ? memcmp(a, b, n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  return cmp_u64(alen, blen);
}

/* The canonical order: timestamp, source name (bytes), then the hashes of
 * the identifiers (members are kept sorted by hash), shorter first. */
int idg_cmp_events(const idg_state *s, uint32_t a, uint32_t b) {
  if (a == b) return 0;
  const idg_event *ea = idg_event_at(s, a), *eb = idg_event_at(s, b);
  int64_t ta = idg_event_ts(ea), tb = idg_event_ts(eb);
  if (ta != tb) return ta < tb ? -1 : 1;
  if (ea->source != eb->source) {
    size_t la, lb;
    const char *sa = lp_strpool_get(&s->sources, ea->source, &la);
    const char *sb = lp_strpool_get(&s->sources, eb->source, &lb);
    int c = cmp_bytes(sa, la, sb, lb);
    if (c != 0) return c;
  }
  const uint32_t *ma = idg_members(s, ea), *mb = idg_members(s, eb);
  uint32_t na = idg_event_count(s, ea), nb = idg_event_count(s, eb), n = na < nb ? na : nb;
  for (uint32_t i = 0; i < n; i++) {
    int c = idg_cmp_hash(idg_node_hash(idg_node_at(s, ma[i] & IDG_ORD_MASK)),
                     idg_node_hash(idg_node_at(s, mb[i] & IDG_ORD_MASK)));
    if (c != 0) return c;
  }
  return cmp_u64(na, nb);
}

int idg_cmp_events_ctx(const void *ctx, uint32_t a, uint32_t b) {
  return idg_cmp_events((const idg_state *)ctx, a, b);
}

/* Identifiers: by the first event that contains them, then by hash. */
int idg_cmp_nodes(const idg_state *s, uint32_t a, uint32_t b) {
  if (a == b) return 0;
  const idg_node *na = idg_node_at(s, a), *nb = idg_node_at(s, b);
  int c = idg_cmp_events(s, na->first_event, nb->first_event);
  return c != 0 ? c : idg_cmp_hash(idg_node_hash(na), idg_node_hash(nb));
}

/* Path halving, storing a link only when it changes: a node one step
 * below its root (most of them) is only read, so lookups over a graph
 * shared copy-on-write with a forked process (profilectl run's save)
 * leave its pages shared. */
uint32_t idg_find(const idg_state *s, uint32_t x) {
  idg_node *n = idg_node_at(s, x);
  while (idg_parent(n) != x) {
    uint32_t up = idg_parent(idg_node_at(s, idg_parent(n)));
    if (up != idg_parent(n)) idg_set_parent(n, up);
    x = up;
    n = idg_node_at(s, x);
  }
  return x;
}

uint32_t idg_cluster_find(const idg_state *s, uint32_t x) {
  idg_node *n = idg_node_at(s, x);
  while (idg_cluster(n) != x) {
    uint32_t up = idg_cluster(idg_node_at(s, idg_cluster(n)));
    if (up != idg_cluster(n)) idg_set_cluster(n, up);
    x = up;
    n = idg_node_at(s, x);
  }
  return x;
}

uint64_t idg_pid(const idg_state *s, uint32_t node) {
  return idg_pid_of_hash(idg_node_hash(idg_node_at(s, idg_find(s, node))));
}

int idg_vec_reserve(lp_vec *v, const lp_mem *m, size_t n) {
  if (n <= v->cap) return LP_OK;
  return lp_vec_reserve_by(v, m, n, v->cap * v->esz < IDG_GROW_SLOW_BYTES ? 2 : 8);
}

/* The index (core's lp_oindex) holds only node ordinals, keyed by the low
 * half of the hash (the home slot and the slot's tag bits come from it);
 * the full hash is compared in the node. Identifiers that share a low
 * half are simply candidates of the same probe. */
static uint64_t idg_index_key_of(const void *ctx, uint32_t x) {
  return idg_node_hash(idg_node_at(ctx, x)).lo;
}

void idg_index_init(idg_state *s) {
  lp_oindex_init(&s->index, IDG_INDEX_SLOT_BYTES, IDG_INDEX_ORD_BITS);
}

/* The index holds exactly the stored nodes whenever room is reserved. */
int idg_index_reserve(idg_state *s, const lp_mem *m, size_t n) {
  size_t want = s->index.len + n;
  if (s->index.len != s->nodes.len)
    return lp_oindex_reserve(&s->index, m, want, idg_index_key_of, s);
  return lp_oindex_reserve_dense(&s->index, m, want, idg_index_key_of, s);
}

static inline bool idg_same_hash(const idg_node *n, lp_hash128 hash) {
  lp_hash128 k = idg_node_hash(n);
  return k.lo == hash.lo && k.hi == hash.hi;
}

/* Probe for `hash`: true with *node its node, or false with the probe
 * ended where it would go. */
static inline bool idg_index_probe(const idg_state *s, lp_hash128 hash, lp_oindex_probe *p,
                               uint32_t *node) {
  uint32_t x;
  lp_oindex_probe_start(&s->index, hash.lo, p);
  while (lp_oindex_probe_next(&s->index, p, &x))
    if (idg_same_hash(idg_node_at(s, x), hash)) {
      *node = x;
      return true;
    }
  return false;
}

bool idg_index_get(const idg_state *s, lp_hash128 hash, uint32_t *node) {
  lp_oindex_probe p;
  return idg_index_probe(s, hash, &p, node);
}

uint32_t idg_index_upsert(idg_state *s, const lp_mem *m, lp_hash128 hash, uint32_t fresh,
                          bool *added) {
  (void)m; /* room reserved */
  lp_oindex_probe p;
  uint32_t x;
  *added = !idg_index_probe(s, hash, &p, &x);
  if (!*added) return x;
  lp_oindex_probe_put(&s->index, &p, fresh);
  return fresh;
}

void idg_index_del(idg_state *s, lp_hash128 hash) {
  uint32_t x;
  if (idg_index_get(s, hash, &x)) (void)lp_oindex_del(&s->index, hash.lo, x, idg_index_key_of, s);
}

void idg_index_move(idg_state *s, lp_hash128 hash, uint32_t from, uint32_t to) {
  (void)lp_oindex_replace(&s->index, hash.lo, from, to);
}

int idg_index_build(idg_state *s, const lp_mem *m) {
  return lp_oindex_build(&s->index, m, s->nodes.len, idg_index_key_of, s);
}

bool idg_index_sound(const idg_state *s) {
  return lp_oindex_check(&s->index, NULL, s->nodes.len, idg_index_key_of, s) == LP_OK;
}

/* Profile ids need no map of their own: the profile named `pid` has a
 * first identifier whose hash has low half `pid`, or low half 0 (then the
 * id is the high half, see idg_pid_of_hash). The index finds those. When
 * two profiles share an id, the one whose candidate comes first in the
 * probe is named. */
static bool idg_named_in(const idg_state *s, uint64_t lo, uint64_t pid, uint32_t *node) {
  lp_oindex_probe p;
  uint32_t x;
  lp_oindex_probe_start(&s->index, lo, &p);
  while (lp_oindex_probe_next(&s->index, &p, &x))
    if (idg_node_hash(idg_node_at(s, x)).lo == lo && idg_pid(s, x) == pid) {
      *node = x;
      return true;
    }
  return false;
}

bool idg_profile_node(const idg_state *s, uint64_t pid, uint32_t *node) {
  return idg_named_in(s, pid, pid, node) || idg_named_in(s, 0, pid, node);
}

static void sift(uint32_t *a, size_t i, size_t n,
                 int (*cmp)(const void *, uint32_t, uint32_t), const void *ctx) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && cmp(ctx, a[c], a[c + 1]) < 0) c++;
    if (cmp(ctx, a[i], a[c]) >= 0) return;
    uint32_t t = a[i];
    a[i] = a[c];
    a[c] = t;
    i = c;
  }
}

void idg_sort(uint32_t *a, size_t n, int (*cmp)(const void *ctx, uint32_t, uint32_t),
              const void *ctx) {
  if (n < 2) return;
  for (size_t i = n / 2; i-- > 0;) sift(a, i, n, cmp, ctx);
  for (size_t end = n - 1; end > 0; end--) {
    uint32_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift(a, 0, end, cmp, ctx);
  }
}

/* ---- Canonical orders without comparison sorts -------------------------- */

static unsigned bits_for(uint64_t v) {
  unsigned b = 0;
  for (; v != 0; v >>= 1) b++;
  return b;
}

int idg_cmp_sources_ctx(const void *ctx, uint32_t a, uint32_t b) {
  size_t la, lb;
  const char *sa = lp_strpool_get(ctx, a, &la), *sb = lp_strpool_get(ctx, b, &lb);
  return cmp_bytes(sa, la, sb, lb);
}

/* Each bucket of (k, o) -- bucket d holds [ends[d - 1], ends[d]) -- by its
 * 64-bit key, what still ties by `cmp` (which must order by the key first):
 * a short bucket by insertion, a long one by the heap sort. */
static void finish_buckets(uint64_t *k, uint32_t *o, const uint32_t *ends, size_t nbuckets,
                           int (*cmp)(const void *, uint32_t, uint32_t), const void *ctx) {
  for (size_t d = 0, start = 0; d < nbuckets; start = ends[d], d++) {
    size_t n = ends[d] - start;
    if (n < 2) continue;
    if (n > 24) {
      idg_sort(o + start, n, cmp, ctx);
      continue;
    }
    uint64_t *kb = k + start;
    uint32_t *ob = o + start;
    for (size_t i = 1; i < n; i++) {
      uint64_t kx = kb[i];
      uint32_t ox = ob[i];
      size_t j = i;
      for (; j > 0 && (kb[j - 1] > kx || (kb[j - 1] == kx && cmp(ctx, ob[j - 1], ox) > 0)); j--) {
        kb[j] = kb[j - 1];
        ob[j] = ob[j - 1];
      }
      kb[j] = kx;
      ob[j] = ox;
    }
  }
}

/* The high half of the hash of an event's first member: the first word of
 * the canonical order after (timestamp, source); 0 (the least) for none. */
static uint64_t first_hash_hi(const idg_state *s, uint32_t ei) {
  const idg_event *e = idg_event_at(s, ei);
  return idg_event_count(s, e) > 0 ? idg_node_hash(idg_node_at(s, idg_members(s, e)[0] & IDG_ORD_MASK)).hi : 0;
}

/* Scratch of the tie passes: keys and indexes of the longest run, counts. */
typedef struct tie_scratch {
  uint64_t *key;
  uint32_t *idx, *cnt;
  size_t cap, ncnt;
} tie_scratch;

static void tie_scratch_free(tie_scratch *t, const lp_mem *m) {
  lp_mem_free_array(m, t->key, t->cap, sizeof *t->key);
  lp_mem_free_array(m, t->idx, t->cap, sizeof *t->idx);
  lp_mem_free_array(m, t->cnt, t->ncnt, sizeof *t->cnt);
  memset(t, 0, sizeof *t);
}

static unsigned tie_bits(size_t n) {
  unsigned b = bits_for(n);
  return b > 22 ? 22 : b;
}

static int tie_scratch_reserve(tie_scratch *t, const lp_mem *m, size_t n) {
  if (n <= t->cap) return LP_OK;
  tie_scratch_free(t, m);
  size_t ncnt = ((size_t)1 << tie_bits(n)) + 1;
  int rc = lp_mem_alloc_array(m, n, sizeof *t->key, (void **)&t->key);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n, sizeof *t->idx, (void **)&t->idx);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, ncnt, sizeof *t->cnt, (void **)&t->cnt);
  if (rc == LP_OK) {
    t->cap = n;
    t->ncnt = ncnt;
  } else {
    lp_mem_free_array(m, t->key, n, sizeof *t->key);
    lp_mem_free_array(m, t->idx, n, sizeof *t->idx);
    memset(t, 0, sizeof *t);
  }
  return rc;
}

/* Events o[0..n) of one (timestamp, source): by their members without a
 * comparison sort. A short run is sorted by the first member's hash prefix
 * by insertion; a long one takes one bucket pass on the top bits of that
 * prefix (about one event a bucket: hashes are uniform) into t (reserved
 * for n), with `in` (n words) for the prefixes. What ties on the prefix
 * (the same first identifier, mostly) is ordered by idg_cmp_events. */
static void order_ties(const idg_state *s, uint32_t *o, size_t n, uint64_t *in, tie_scratch *t) {
  if (n <= 24) {
    uint64_t k[24];
    uint32_t end = (uint32_t)n;
    for (size_t i = 0; i < n; i++) k[i] = first_hash_hi(s, o[i]);
    finish_buckets(k, o, &end, 1, idg_cmp_events_ctx, s);
    return;
  }
  unsigned b = tie_bits(n), shift = 64 - b;
  size_t nbuckets = (size_t)1 << b;
  uint32_t *cnt = t->cnt;
  memset(cnt, 0, (nbuckets + 1) * sizeof *cnt);
  for (size_t i = 0; i < n; i++) {
    /* three dependent misses an event, fetched in stages (as save does) */
    if (i + 16 < n) IDG_PREFETCH(idg_event_at(s, o[i + 16]));
    if (i + 8 < n) IDG_PREFETCH(idg_members(s, idg_event_at(s, o[i + 8])));
    if (i + 4 < n) {
      const idg_event *e = idg_event_at(s, o[i + 4]);
      if (idg_event_count(s, e) > 0) IDG_PREFETCH(idg_node_at(s, idg_members(s, e)[0] & IDG_ORD_MASK));
    }
    t->idx[i] = o[i];
    in[i] = first_hash_hi(s, o[i]);
    cnt[(in[i] >> shift) + 1]++;
  }
  for (size_t d = 1; d <= nbuckets; d++) cnt[d] += cnt[d - 1];
  for (size_t i = 0; i < n; i++) {
    uint32_t pos = cnt[in[i] >> shift]++;
    t->key[pos] = in[i];
    o[pos] = t->idx[i];
  }
  /* cnt[d] is now the end of bucket d, and the start of bucket d + 1. */
  finish_buckets(t->key, o, cnt, nbuckets, idg_cmp_events_ctx, s);
}

/* Timestamp bands (see idg_canonical_order) before the heap sort takes
 * the rest. */
#define IDG_MAX_BANDS 4u

uint64_t *idg_radix_u64(uint64_t *a, uint64_t *b, size_t n, unsigned ib, unsigned kb,
                        uint32_t *cnt) {
  unsigned passes = (kb + IDG_RADIX_BITS - 1) / IDG_RADIX_BITS;
  unsigned width = passes > 0 ? (kb + passes - 1) / passes : 0;
  size_t nbuckets = (size_t)1 << width;
  uint64_t *from = a, *to = b;
  for (unsigned p = 0; p < passes && n > 0; p++) {
    unsigned shift = ib + p * width;
    uint64_t mask = nbuckets - 1;
    memset(cnt, 0, nbuckets * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(from[i] >> shift) & mask]++;
    if (cnt[(from[0] >> shift) & mask] == n) continue; /* one digit for all */
    uint32_t sum = 0;
    for (size_t d = 0; d < nbuckets; d++) {
      uint32_t c = cnt[d];
      cnt[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) to[cnt[(from[i] >> shift) & mask]++] = from[i];
    uint64_t *x = from;
    from = to;
    to = x;
  }
  return from;
}

/* One band: the `nl` keys of a[] -- ((ts - tmin) << sb | source rank) << ib
 * | event, of kb significant key bits above the ib event bits -- by an LSD
 * radix sort (a[ne..] the other buffer); their events into order[], each
 * run of one (timestamp, source) by its members. */
static int sort_band(const idg_state *s, const lp_mem *m, uint64_t *a, size_t ne, size_t nl,
                     unsigned kb, unsigned ib, uint32_t *cnt, uint32_t *order, tie_scratch *t) {
  uint64_t *from = idg_radix_u64(a, a + ne, nl, ib, kb, cnt);
  uint64_t *to = from == a ? a + ne : a;
  uint64_t imask = (UINT64_C(1) << ib) - 1; /* ib < 64 */
  size_t longest = 0;
  for (size_t i = 0, j; i < nl; i = j) {
    order[i] = (uint32_t)(from[i] & imask);
    for (j = i + 1; j < nl && (from[j] >> ib) == (from[i] >> ib); j++)
      order[j] = (uint32_t)(from[j] & imask);
    if (j - i > 24 && j - i > longest) longest = j - i;
  }
  int rc = tie_scratch_reserve(t, m, longest);
  if (rc != LP_OK) return rc;
  /* `to` is free now: the prefixes of the runs */
  for (size_t i = 0, j; i < nl; i = j) {
    for (j = i + 1; j < nl && (from[j] >> ib) == (from[i] >> ib);) j++;
    if (j - i > 1) order_ties(s, order + i, j - i, to, t);
  }
  return LP_OK;
}

bool idg_events_canonical(const idg_state *s) {
  size_t ne = s->events.len;
  for (size_t i = 1; i < ne; i++) {
    /* Events and member words are read in storage order; the identifier
     * records that break ties (facts of one time and source) are not. */
    if (i + 8 < ne) {
      const idg_event *e = idg_event_at(s, (uint32_t)(i + 8));
      if (idg_event_count(s, e) > 0) IDG_PREFETCH(idg_node_at(s, idg_members(s, e)[0] & IDG_ORD_MASK));
    }
    if (idg_cmp_events(s, (uint32_t)(i - 1), (uint32_t)i) > 0) return false;
  }
  return true;
}

int idg_canonical_order(const idg_state *s, const lp_mem *m, uint32_t *order) {
  size_t ne = s->events.len;
  for (size_t i = 0; i < ne; i++) order[i] = (uint32_t)i;
  if (idg_events_canonical(s)) return LP_OK;
  /* Key: timestamp (from the smallest), then the source's rank by name,
   * then the event's index (so one 64-bit word carries all three); ties of
   * timestamp and source are then ordered by their members (order_ties).
   * Timestamps too far apart for the word (the profile store's facts at
   * INT64_MAX next to ordinary times) go in bands: the events within reach
   * of the smallest timestamp, then those of the smallest left, ...; after
   * IDG_MAX_BANDS (timestamps all over the 64-bit range) the heap sort. */
  size_t ns = lp_strpool_count(&s->sources);
  unsigned sb = bits_for(ns - 1), ib = bits_for(ne - 1);
  if (sb + ib >= 64) {
    idg_sort(order, ne, idg_cmp_events_ctx, s);
    return LP_OK;
  }
  unsigned tbits = 64 - sb - ib; /* 1..63 */
  uint64_t reach = (UINT64_C(1) << tbits) - 1;
  uint32_t *srank = NULL, *cnt = NULL;
  uint64_t *a = NULL;
  tie_scratch t = {NULL, NULL, NULL, 0, 0};
  size_t nbuckets = IDG_RADIX_BUCKETS;
  int rc = lp_mem_alloc_array(m, 2 * ns, sizeof *srank, (void **)&srank);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nbuckets, sizeof *cnt, (void **)&cnt);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, 2 * ne, sizeof *a, (void **)&a);
  if (rc == LP_OK) {
    uint32_t *byname = srank + ns;
    for (size_t i = 0; i < ns; i++) byname[i] = (uint32_t)i;
    idg_sort(byname, ns, idg_cmp_sources_ctx, &s->sources);
    for (size_t i = 0; i < ns; i++) srank[byname[i]] = (uint32_t)i;
  }
  /* order[pos..ne) holds the events still to place, all later than those
   * before pos. */
  for (size_t pos = 0, band = 0; rc == LP_OK && pos < ne; band++) {
    if (band == IDG_MAX_BANDS) {
      idg_sort(order + pos, ne - pos, idg_cmp_events_ctx, s);
      break;
    }
    int64_t tmin = idg_event_ts(idg_event_at(s, order[pos]));
    for (size_t i = pos + 1; i < ne; i++) {
      int64_t ts = idg_event_ts(idg_event_at(s, order[i]));
      if (ts < tmin) tmin = ts;
    }
    /* The band's keys into a[]; the later events to the end of order[]
     * (in their order: the write never passes the read). */
    size_t nl = 0, w = ne;
    uint64_t dmax = 0;
    for (size_t r = ne; r-- > pos;) {
      uint32_t ei = order[r];
      const idg_event *e = idg_event_at(s, ei);
      uint64_t d = (uint64_t)idg_event_ts(e) - (uint64_t)tmin;
      if (d > reach) {
        order[--w] = ei;
        continue;
      }
      if (d > dmax) dmax = d;
      a[nl++] = ((d << sb | srank[e->source]) << ib) | ei; /* tbits + sb + ib = 64 */
    }
    rc = sort_band(s, m, a, ne, nl, bits_for(dmax) + sb, ib, cnt, order + pos, &t);
    pos += nl;
  }
  tie_scratch_free(&t, m);
  lp_mem_free_array(m, a, 2 * ne, sizeof *a);
  lp_mem_free_array(m, cnt, nbuckets, sizeof *cnt);
  lp_mem_free_array(m, srank, 2 * ns, sizeof *srank);
  return rc;
}

static int cmp_node_hash_ctx(const void *ctx, uint32_t a, uint32_t b) {
  const idg_state *s = ctx;
  return idg_cmp_hash(idg_node_hash(idg_node_at(s, a)), idg_node_hash(idg_node_at(s, b)));
}

int idg_hash_order(const idg_state *s, const lp_mem *m, uint32_t *order) {
  size_t nn = s->nodes.len;
  if (nn < 2) {
    if (nn == 1) order[0] = 0;
    return LP_OK;
  }
  /* One counting pass on the top bits of the high half (about one
   * identifier a bucket: hashes are uniform), then each bucket by the full
   * comparison; a skewed host hash only makes buckets longer. */
  unsigned b = bits_for(nn);
  if (b > 22) b = 22;
  size_t nbuckets = (size_t)1 << b;
  uint32_t *cnt = NULL;
  uint64_t *keys = NULL;
  int rc = lp_mem_alloc_array(m, nbuckets + 1, sizeof *cnt, (void **)&cnt);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nn, sizeof *keys, (void **)&keys);
  if (rc == LP_OK) {
    unsigned shift = 64 - b;
    memset(cnt, 0, (nbuckets + 1) * sizeof *cnt);
    for (size_t i = 0; i < nn; i++) cnt[(idg_node_hash(idg_node_at(s, (uint32_t)i)).hi >> shift) + 1]++;
    for (size_t d = 1; d <= nbuckets; d++) cnt[d] += cnt[d - 1];
    for (size_t i = 0; i < nn; i++) {
      uint64_t hi = idg_node_hash(idg_node_at(s, (uint32_t)i)).hi;
      uint32_t pos = cnt[hi >> shift]++;
      keys[pos] = hi;
      order[pos] = (uint32_t)i;
    }
    /* cnt[d] is now the end of bucket d, and the start of bucket d + 1. */
    finish_buckets(keys, order, cnt, nbuckets, cmp_node_hash_ctx, s);
  }
  lp_mem_free_array(m, keys, nn, sizeof *keys);
  lp_mem_free_array(m, cnt, nbuckets + 1, sizeof *cnt);
  return rc;
}
