/*
 * Internal: the identity graph's state, shared by the files of src/identity
 * (every flag bit and layout constant of the module lives here). Files:
 *   handle.c    life cycle, options, types, blocklist, normalize
 *   observe.c   ingest (lp_idgraph_observe and the rule engine; the prefetch hint)
 *   merge.c     lp_idgraph_merge
 *   query.c     read-only questions and explanations
 *   list.c      every identifier in one pass; profiles of many hashes
 *   rebuild.c   unmerge and erasure (replays the stored events)
 *   save.c      snapshots out;  load.c  snapshots in
 *   state.c     storage, canonical order, union-find, index
 *   hashing.c   normalise + blocklist + keyed hash of one value
 *   normalize.c the built-in normalisers and the default blocklist
 *   check.c     the invariant checker (idg_check)
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_INTERNAL_H
#define LP_IDENTITY_INTERNAL_H

#include "core/error.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/oindex.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "libprofile/identity.h"

#define IDG_NONE UINT32_MAX
/* Member words of an event: node ordinal plus what the last replay decided. */
#define IDG_LINKED 0x80000000u
#define IDG_REFUSED 0x40000000u
#define IDG_ORD_MASK 0x3fffffffu
#define IDG_MAX_NODES IDG_ORD_MASK
_Static_assert(IDG_MAX_NODES == LP_IDGRAPH_MAX_IDENTIFIERS, "public limit = member-word ordinal mask");
/* The index's slots: 4 bytes, 30 bits of node ordinal (IDG_MAX_NODES - 1
 * the largest) and 2 bits of the low half's hash as a tag (8 bytes, 32
 * tag bits, for measurements: -DIDG_INDEX_SLOT_BYTES=8u). */
#ifndef IDG_INDEX_SLOT_BYTES
#  define IDG_INDEX_SLOT_BYTES 4u
#endif
#define IDG_INDEX_ORD_BITS 30u
_Static_assert(IDG_MAX_NODES - 1 <= (UINT32_C(1) << IDG_INDEX_ORD_BITS) - 2, "node ordinals fit the index");
#define IDG_NAME_CAP (LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1)
#define IDG_KEY_CAP LP_IDGRAPH_MAX_KEY_LEN
#define IDG_MAX_SOURCE_LEN LP_IDGRAPH_MAX_SOURCE_LEN

/* Snapshot layout (docs/identity.md): kind, sections, format version, and
 * the raw-length value that means "hash only". */
#define KIND_IDGRAPH LP_IDGRAPH_SNAPSHOT_KIND
#define SEC_META LP_FOURCC('M', 'E', 'T', 'A')
#define SEC_SOURCES LP_FOURCC('S', 'R', 'C', 'S')
#define SEC_IDENTS LP_FOURCC('I', 'D', 'N', 'T')
#define SEC_EVENTS LP_FOURCC('E', 'V', 'N', 'T')
#define SEC_TOMBS LP_FOURCC('T', 'O', 'M', 'B')
#define IDG_FORMAT 1u
#define NO_RAW UINT32_MAX

typedef struct idg_type {
  char name[IDG_NAME_CAP];
  size_t name_len;
  int32_t priority;
  uint8_t limit;
  /* Its limit counter in a profile root's counter row (idg_count): byte,
   * shift and mask, the field as wide as the limit needs (handle.c). */
  uint8_t cnt_byte, cnt_shift, cnt_mask;
  bool unique;
  uint32_t norm;
  uint32_t country_code;
  lp_idgraph_normalize_fn normalize;
  void *normalize_ud;
} idg_type;

/* One distinct identifier (44 bytes, 4-byte aligned; read and written
 * through the accessors below). Fields marked "root" are meaningful only
 * on the root of the union-find tree they belong to. A profile's root is
 * always its canonically first identifier (idg_cmp_nodes: a join keeps
 * the root that is first, a replay rebuilds in canonical order, a load
 * checks it), so the root's own hash names the profile. An ordinal takes
 * 30 bits (IDG_ORD_MASK), so the three node links carry the identifier's
 * type (LP_IDGRAPH_MAX_TYPES = 32: 5 bits) and its quarantine flag in
 * their top two bits: parent type bits 0-1, next_member bits 2-3, cluster
 * bit 4 (bit 30) and IDG_Q_BIT. */
typedef struct idg_node {
  uint32_t hash_w[4];   /* lp_hash128, host layout (idg_node_hash) */
  uint32_t sketch_w[2]; /* uint64_t: bit (hash.lo % 64) of every identifier seen with it */
  uint32_t parent_w;    /* resolved union-find: the profiles */
  uint32_t cluster_w;   /* raw union-find: every stored event's identifiers, no rules */
  uint32_t next_w;      /* circular list of the profile's identifiers */
  uint32_t first_event; /* canonically first event that contains it */
  uint32_t cluster_max; /* cluster root: its canonically last event, where
                           its circular event list starts (IDG_NONE: none) */
} idg_node;
_Static_assert(sizeof(idg_node) == 44, "identifier record layout (docs/identity.md)");
_Static_assert(sizeof(lp_hash128) == 16, "hash words");
_Static_assert(LP_IDGRAPH_MAX_TYPES <= 32, "a type fits the 5 bits of the links");
#define IDG_TAG_BITS (~IDG_ORD_MASK)
#define IDG_Q_BIT 0x80000000u

static inline uint32_t idg_parent(const idg_node *n) { return n->parent_w & IDG_ORD_MASK; }
static inline uint32_t idg_cluster(const idg_node *n) { return n->cluster_w & IDG_ORD_MASK; }
static inline uint32_t idg_next(const idg_node *n) { return n->next_w & IDG_ORD_MASK; }
static inline void idg_set_parent(idg_node *n, uint32_t x) {
  n->parent_w = (n->parent_w & IDG_TAG_BITS) | x;
}
static inline void idg_set_cluster(idg_node *n, uint32_t x) {
  n->cluster_w = (n->cluster_w & IDG_TAG_BITS) | x;
}
static inline void idg_set_next(idg_node *n, uint32_t x) { n->next_w = (n->next_w & IDG_TAG_BITS) | x; }
static inline uint32_t idg_node_type(const idg_node *n) {
  return n->parent_w >> 30 | (n->next_w >> 30) << 2 | (n->cluster_w >> 30 & 1u) << 4;
}
static inline bool idg_quarantined(const idg_node *n) { return (n->cluster_w & IDG_Q_BIT) != 0; }
static inline void idg_set_quarantined(idg_node *n, bool q) {
  n->cluster_w = q ? n->cluster_w | IDG_Q_BIT : n->cluster_w & ~IDG_Q_BIT;
}
static inline lp_hash128 idg_node_hash(const idg_node *n) {
  lp_hash128 h;
  memcpy(&h, n->hash_w, sizeof h);
  return h;
}
static inline uint64_t idg_sketch(const idg_node *n) {
  uint64_t v;
  memcpy(&v, n->sketch_w, sizeof v);
  return v;
}
static inline void idg_set_sketch(idg_node *n, uint64_t v) { memcpy(n->sketch_w, &v, sizeof v); }
/* A record of its own: every link to `self`, sketch 0, not quarantined,
 * no event list. */
static inline idg_node idg_node_make(lp_hash128 hash, uint32_t type, uint32_t self,
                                     uint32_t first_event) {
  idg_node n;
  memcpy(n.hash_w, &hash, sizeof hash);
  n.sketch_w[0] = n.sketch_w[1] = 0;
  n.parent_w = self | (type & 3u) << 30;
  n.next_w = self | (type >> 2 & 3u) << 30;
  n.cluster_w = self | (type >> 4 & 1u) << 30;
  n.first_event = first_event;
  n.cluster_max = IDG_NONE;
  return n;
}

/* One stored event (20 bytes, 4-byte aligned). Its members (sorted by
 * hash) are the member words from `first` up to the next event's `first`
 * (the words are in event order), so their count is not stored
 * (idg_event_count). */
typedef struct idg_event {
  uint32_t ts[2];   /* the int64_t timestamp in host byte order (idg_event_ts) */
  uint32_t source;  /* id in the source pool */
  uint32_t first;   /* index of its first member word */
  uint32_t next;    /* circular list of the events of one cluster */
} idg_event;
_Static_assert(sizeof(idg_event) == 20, "event layout (docs/identity.md)");

typedef struct idg_state {
  lp_vec nodes;   /* idg_node */
  lp_vec raws;    /* uint32_t per node: id in the value pool or IDG_NONE; empty
                     when no value is stored (the default), so hashed mode
                     pays nothing for raw mode */
  lp_vec counts;  /* a counter row (count_bytes) per node: identifiers per type (root) */
  lp_vec events;  /* idg_event */
  lp_vec members; /* uint32_t member words */
  lp_oindex index;      /* nodes by hash (see idg_index_*, state.c) */
  lp_map128 tombstones; /* tombstone hash -> 1 */
  lp_strpool sources;
  lp_strpool values;
  uint64_t blocked, invalid, tombstoned;
} idg_state;

/* The prefetch hint's ring (lp_idgraph_prefetch, observe.c). */
#define IDG_PF_RING 8u
#define IDG_PF_IDS 8u
#define IDG_PF_LAG 3u   /* hints later: the records the slots name */
#define IDG_PF_LAG2 5u  /* then their cluster and profile parents */
#define IDG_PF_LAG3 7u  /* then the newest event of the cluster (< IDG_PF_RING) */

struct lp_idgraph {
  lp_mem mem;
  lp_error err;
  idg_type types[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
  /* Bytes of a counter row: the types' fields packed (idg_count_layout). */
  uint32_t count_bytes;
  uint8_t key[IDG_KEY_CAP];
  size_t key_len;
  lp_idgraph_hash_fn hash_fn;
  void *hash_ud;
  bool store_raw;
  bool default_blocklist;
  uint32_t quarantine_after;
  lp_map128 blocklist; /* blocklist hash of (type, normalised value) -> 1 */
  lp_idgraph_notify_fn notify;
  void *notify_ud;
  /* Non-zero while a host callback (notify, normaliser, hash) runs: every
   * entry point but errmsg/free refuses with LP_EMISUSE (IDG_GUARD). */
  uint32_t busy;
  /* Erasure always by the full replay (rebuild.c); for the tests that
   * compare the partial path with it. */
  bool erase_full;
  /* Load through the event-by-event replay; for the tests that compare
   * load's linear passes with it. */
  bool load_replay;
  /* Save through the full sorts (state.c), never by merging a tail; for
   * the tests that compare the merge with them. */
  bool save_sort;
  /* LP_IDGRAPH_TRUST_DERIVED: take a snapshot's derived section (default). */
  bool trust_derived;
  idg_state st;
  /* Normalised values of the event being observed (kept off the stack:
   * 64 KiB would not fit small thread stacks). */
  char norm[LP_IDGRAPH_MAX_EVENT_IDS][LP_IDGRAPH_MAX_VALUE_LEN];
  /* lp_idgraph_prefetch(): the low hash halves of the last IDG_PF_RING
   * events hinted (at most IDG_PF_IDS each). A hint fetches its event's
   * index slots; IDG_PF_LAG hints later the records those slots name
   * (their ordinals kept in pf_node, IDG_NONE for none); IDG_PF_LAG2 hints
   * later the records' cluster and profile parents; IDG_PF_LAG3 hints
   * later the cluster parent's newest event. Ordinals are only hints: a
   * stale one (after an erasure or load) is range-checked and costs a
   * useless fetch. */
  uint64_t pf_lo[IDG_PF_RING][IDG_PF_IDS];
  uint32_t pf_node[IDG_PF_RING][IDG_PF_IDS];
  uint8_t pf_n[IDG_PF_RING];
  uint32_t pf_at;
};

static inline idg_node *idg_node_at(const idg_state *s, uint32_t i) {
  return (idg_node *)lp_vec_at(&s->nodes, i);
}
static inline idg_event *idg_event_at(const idg_state *s, uint32_t i) {
  return (idg_event *)lp_vec_at(&s->events, i);
}
static inline uint32_t *idg_members(const idg_state *s, const idg_event *e) {
  return (uint32_t *)lp_vec_at(&s->members, e->first);
}
/* Members of stored event `e` of `s`: up to the next event's first word
 * (the last event: up to the end of the words). */
static inline uint32_t idg_event_count(const idg_state *s, const idg_event *e) {
  size_t i = (size_t)(e - (const idg_event *)s->events.data);
  uint32_t end = i + 1 < s->events.len ? e[1].first : (uint32_t)s->members.len;
  return end - e->first;
}
static inline int64_t idg_event_ts(const idg_event *e) {
  int64_t ts;
  memcpy(&ts, e->ts, sizeof ts);
  return ts;
}
static inline idg_event idg_event_make(int64_t ts, uint32_t source, uint32_t first, uint32_t next) {
  idg_event e;
  memcpy(e.ts, &ts, sizeof ts);
  e.source = source;
  e.first = first;
  e.next = next;
  return e;
}
/* Id of a node's normalised value in s->values, or IDG_NONE. */
static inline uint32_t idg_raw(const idg_state *s, uint32_t node) {
  return node < s->raws.len ? *(const uint32_t *)lp_vec_at(&s->raws, node) : IDG_NONE;
}
/* The counter row of `node` (meaningful on profile roots), `row_bytes`
 * (lp_idgraph.count_bytes) each. */
static inline uint8_t *idg_counts(const idg_state *s, uint32_t row_bytes, uint32_t node) {
  return (uint8_t *)s->counts.data + (size_t)node * row_bytes;
}
static inline uint64_t idg_pid_of_hash(lp_hash128 h) {
  if (h.lo != 0) return h.lo;
  return h.hi != 0 ? h.hi : 1;
}

/* Identifiers of type `t` in counter row `row`. A field is as wide as its
 * type's limit needs (1 bit for a limit of 1, 8 for 255) and never spans
 * two bytes; a count never exceeds its limit, so two rows whose sums keep
 * within the limits add byte by byte (idg_count_add_row). */
static inline uint32_t idg_count(const lp_idgraph *h, const uint8_t *row, uint32_t t) {
  const idg_type *ty = &h->types[t];
  return (uint32_t)(row[ty->cnt_byte] >> ty->cnt_shift) & ty->cnt_mask;
}
static inline void idg_count_set(const lp_idgraph *h, uint8_t *row, uint32_t t, uint32_t v) {
  const idg_type *ty = &h->types[t];
  uint8_t m = (uint8_t)(ty->cnt_mask << ty->cnt_shift);
  row[ty->cnt_byte] = (uint8_t)((row[ty->cnt_byte] & ~m) | ((v << ty->cnt_shift) & m));
}
/* A fresh profile's row: one identifier of type `t`. */
static inline void idg_count_one(const lp_idgraph *h, uint8_t *row, uint32_t t) {
  memset(row, 0, h->count_bytes);
  idg_count_set(h, row, t, 1);
}
/* row a += row b; every sum within its type's limit (no carry leaves a field). */
static inline void idg_count_add_row(const lp_idgraph *h, uint8_t *a, const uint8_t *b) {
  for (uint32_t i = 0; i < h->count_bytes; i++) a[i] = (uint8_t)(a[i] + b[i]);
}

/* Software prefetch: load's passes and save's writing are bound by cache
 * misses. */
#if defined(__GNUC__)
#  define IDG_PREFETCH(p) __builtin_prefetch(p)
#else
#  define IDG_PREFETCH(p) ((void)(p))
#endif

/* Like the message slot (LP_ERR_OF_CONST), the busy flag is written by
 * const calls too, around the host callbacks they make (profile_of hashes
 * through the host's function). It lives in the handle's own allocation,
 * so casting away const is defined. */
#define IDG_MUT(h) ((lp_idgraph *)(uintptr_t)(h))
static inline void idg_busy_begin(const lp_idgraph *h) { IDG_MUT(h)->busy++; }
static inline void idg_busy_end(const lp_idgraph *h) { IDG_MUT(h)->busy--; }

/* The host's writer or reader, called with the graph busy (save, load). */
typedef struct idg_guarded_io {
  const lp_idgraph *h;
  lp_writer w;
  lp_reader r;
  void *ud;
} idg_guarded_io;
static inline int idg_guarded_write(void *ud, const void *buf, size_t len) {
  idg_guarded_io *g = (idg_guarded_io *)ud;
  idg_busy_begin(g->h);
  int rc = g->w(g->ud, buf, len);
  idg_busy_end(g->h);
  return rc;
}
static inline int idg_guarded_read(void *ud, void *buf, size_t cap, size_t *got) {
  idg_guarded_io *g = (idg_guarded_io *)ud;
  idg_busy_begin(g->h);
  int rc = g->r(g->ud, buf, cap, got);
  idg_busy_end(g->h);
  return rc;
}

/* First lines of every entry point: a NULL handle is LP_EINVAL, a busy one
 * LP_EMISUSE (nothing done). */
#define IDG_GUARD(h, fn)                                                  \
  do {                                                                    \
    if ((h) == NULL) return LP_EINVAL;                                    \
    if ((h)->busy != 0) return lp_error_reentered(LP_ERR_OF_CONST(h), fn); \
  } while (0)

/* An identifier ready to be stored. */
typedef struct idg_item {
  lp_hash128 hash;
  uint32_t type;
  const char *raw; /* normalised value (raw mode) or NULL */
  size_t raw_len;
} idg_item;

#endif /* LP_IDENTITY_INTERNAL_H */
