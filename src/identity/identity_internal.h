/*
 * Internal: the identity graph's state, shared by the files of src/identity.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_IDENTITY_IDGRAPH_H
#define LP_IDENTITY_IDGRAPH_H

#include "core/error.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/strpool.h"
#include "core/vec.h"
#include "libprofile/identity.h"

#define IDG_NONE UINT32_MAX
/* Member words of an event: node ordinal plus what the last replay decided. */
#define IDG_LINKED 0x80000000u
#define IDG_REFUSED 0x40000000u
#define IDG_ORD_MASK 0x3fffffffu
#define IDG_MAX_NODES IDG_ORD_MASK
#define IDG_NAME_CAP 64
#define IDG_KEY_CAP 64
#define IDG_MAX_SOURCE_LEN 255
#define IDG_QUARANTINED 1u

typedef struct idg_type {
  char name[IDG_NAME_CAP];
  size_t name_len;
  int32_t priority;
  uint8_t limit;
  bool unique;
  uint32_t norm;
  uint32_t country_code;
  lp_idgraph_normalize_fn normalize;
  void *normalize_ud;
} idg_type;

/* One distinct identifier. Fields marked "root" are meaningful only on the
 * root of the union-find tree they belong to. */
typedef struct idg_node {
  lp_hash128 hash;
  uint64_t sketch;       /* bit (hash.lo % 64) of every identifier seen with it */
  uint32_t cluster;      /* raw union-find: every stored event's identifiers, no rules */
  uint32_t parent;       /* resolved union-find: the profiles */
  uint32_t next_member;  /* circular list of the profile's identifiers */
  uint32_t first_event;  /* canonically first event that contains it */
  uint32_t comp_first;   /* root: the profile's canonically first identifier */
  uint32_t cluster_head; /* cluster root: one event of its circular event list */
  uint32_t cluster_max;  /* cluster root: its canonically last event */
  uint8_t type;
  uint8_t flags;         /* IDG_QUARANTINED: a property of the set of events */
} idg_node;

typedef struct idg_event {
  int64_t ts;
  uint32_t source;  /* id in the source pool */
  uint32_t first;   /* index of its first member word */
  uint32_t count;   /* members, sorted by hash */
  uint32_t next;    /* circular list of the events of one cluster */
} idg_event;

typedef struct idg_state {
  lp_vec nodes;   /* idg_node */
  lp_vec raws;    /* uint32_t per node: id in the value pool or IDG_NONE; empty
                     when no value is stored (the default), so hashed mode
                     pays nothing for raw mode */
  lp_vec counts;  /* uint8_t[ntypes] per node: identifiers per type (root) */
  lp_vec events;  /* idg_event */
  lp_vec members; /* uint32_t member words */
  lp_map64 index;       /* low half of the hash -> node (see idg_index_*) */
  lp_map128 index_hi;   /* full hash -> node, for low halves already taken */
  lp_map128 tombstones; /* tombstone hash -> 1 */
  lp_strpool sources;
  lp_strpool values;
  uint64_t blocked, invalid, tombstoned;
} idg_state;

typedef struct idg_change {
  uint64_t old_id;
  uint64_t new_id;
} idg_change;

struct lp_idgraph {
  lp_mem mem;
  lp_error err;
  idg_type types[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
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
  idg_state st;
  /* Normalised values of the event being observed (kept off the stack:
   * 64 KiB would not fit small thread stacks). */
  char norm[LP_IDGRAPH_MAX_EVENT_IDS][LP_IDGRAPH_MAX_VALUE_LEN];
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
/* Id of a node's normalised value in s->values, or IDG_NONE. */
static inline uint32_t idg_raw(const idg_state *s, uint32_t node) {
  return node < s->raws.len ? *(const uint32_t *)lp_vec_at(&s->raws, node) : IDG_NONE;
}
static inline uint8_t *idg_counts(const idg_state *s, uint32_t ntypes, uint32_t node) {
  return (uint8_t *)s->counts.data + (size_t)node * ntypes;
}
static inline uint64_t idg_pid_of_hash(lp_hash128 h) {
  if (h.lo != 0) return h.lo;
  return h.hi != 0 ? h.hi : 1;
}

/* normalize.c */
/* Normalise into out (cap LP_IDGRAPH_MAX_VALUE_LEN): LP_OK, or LP_EINVAL
 * with the reason in *why. */
int idg_normalize(const idg_type *t, const char *in, size_t len, char *out, size_t *out_len,
                  const char **why);
bool idg_default_blocked(const idg_type *t, const char *v, size_t len);

/* hashing.c */
int idg_hash(lp_idgraph *h, uint32_t type, const char *v, size_t len, lp_hash128 *out);
/* The configured hash of a fixed text with an empty type name. */
int idg_hash_text(lp_idgraph *h, const char *text, lp_hash128 *out);
lp_hash128 idg_block_hash(const idg_type *t, const char *v, size_t len);
lp_hash128 idg_tomb_hash(lp_hash128 id_hash);
/* Normalise, check the blocklist and hash one identifier. LP_OK; LP_EINVAL
 * (invalid, *blocked false) / LP_ECONFLICT (blocked); LP_EIO. `norm` has
 * room for LP_IDGRAPH_MAX_VALUE_LEN bytes. */
int idg_prepare(lp_idgraph *h, uint32_t type, const char *v, size_t len, char *norm,
                size_t *norm_len, lp_hash128 *hash);
/* Resolve an identifier given through the API to its node. */
int idg_lookup(lp_idgraph *h, const lp_idgraph_ident *id, uint32_t *node, lp_hash128 *hash);

/* state.c */
void idg_state_init(idg_state *s);
void idg_state_free(idg_state *s, const lp_mem *m);
int idg_cmp_events(const idg_state *s, uint32_t a, uint32_t b);
int idg_cmp_nodes(const idg_state *s, uint32_t a, uint32_t b);
uint32_t idg_find(const idg_state *s, uint32_t x);
uint32_t idg_cluster_find(const idg_state *s, uint32_t x);
uint64_t idg_pid(const idg_state *s, uint32_t node);
/* Hash -> node. Room for `n` more identifiers (LP_OK / LP_ENOMEM / LP_ELIMIT). */
int idg_index_reserve(idg_state *s, const lp_mem *m, size_t n);
bool idg_index_get(const idg_state *s, lp_hash128 hash, uint32_t *node);
/* Node of `hash`, or `fresh` (registered, *added true) when it has none;
 * room reserved, so it cannot fail. `fresh` need not be stored yet. */
uint32_t idg_index_upsert(idg_state *s, const lp_mem *m, lp_hash128 hash, uint32_t fresh,
                          bool *added);
void idg_index_del(idg_state *s, lp_hash128 hash);
/* A node of the profile named `pid`, found through the index (a profile id
 * is a half of its first identifier's hash); false when there is none. */
bool idg_profile_node(const idg_state *s, uint64_t pid, uint32_t *node);
/* Heap sort of uint32 items under a comparator with context. */
void idg_sort(uint32_t *a, size_t n, int (*cmp)(const void *ctx, uint32_t, uint32_t),
              const void *ctx);

/* An identifier ready to be stored. */
typedef struct idg_item {
  lp_hash128 hash;
  uint32_t type;
  const char *raw; /* normalised value (raw mode) or NULL */
  size_t raw_len;
} idg_item;

/* observe.c: store one event of distinct prepared items (n >= 1). */
int idg_store_event(lp_idgraph *h, idg_state *s, const idg_item *items, size_t n, int64_t ts,
                    const char *src, size_t src_len, bool notify, uint64_t *pid);

/* observe.c: notifications (pairs sorted unless they are a merge chain) */
void idg_emit(lp_idgraph *h, const idg_state *after, idg_change *changes, size_t n);
void idg_sort_changes(idg_change *ch, size_t n);

#endif /* LP_IDENTITY_IDGRAPH_H */
