/*
 * Internal: the profile store's state, shared by the files of src/profiles.
 * Files:
 *   profiles_handle.c  life cycle, options, configuration, models
 *   profiles_ingest.c  facts: events, orders, tags, unlink/remove, erasure
 *   profiles_view.c    the view: recompute from the facts, queries
 *   profiles_rules.c   rule-computed tags: the view as a tag state
 *   profiles_save.c    snapshot out;  profiles_load.c  snapshot in
 *   profiles_check.c   the invariant checker (profiles_check)
 * SPDX-License-Identifier: MIT
 */
#ifndef LP_PROFILES_INTERNAL_H
#define LP_PROFILES_INTERNAL_H

#include "core/error.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/vec.h"
#include "libprofile/profiles.h"

/* Snapshot layout (docs/format.md, kind PRFS). */
#define PRF_FORMAT 1u
#define PRF_SEC_OPTS LP_FOURCC('O', 'P', 'T', 'S')
#define PRF_SEC_TYPES LP_FOURCC('T', 'Y', 'P', 'E')
#define PRF_SEC_GRAPH LP_FOURCC('I', 'D', 'G', 'R')
/* Since 1.2 the graph's snapshot is written in consecutive chunks of
 * PRF_GRAPH_CHUNK bytes (the last one shorter), each a required section of
 * this type, in place of one IDGR section: the container then buffers one
 * chunk on save and on load instead of the whole graph. IDGR still loads. */
#define PRF_SEC_GRAPH_CHUNK LP_FOURCC('I', 'D', 'G', 'C')
#define PRF_GRAPH_CHUNK ((size_t)1 << 20)
/* The chunk size of the next saves of `h` (bytes >= 1; PRF_GRAPH_CHUNK at
 * create): a test hook, so that small stores have many chunks and a value
 * can be cut by a chunk boundary. Any size loads; no public call sets it. */
void prf_set_graph_chunk(lp_profiles *h, size_t bytes);
#define PRF_SEC_TAXONOMY LP_FOURCC('T', 'A', 'X', 'O')
#define PRF_SEC_ORDERS LP_FOURCC('O', 'R', 'D', 'R')
#define PRF_SEC_TAGS LP_FOURCC('T', 'A', 'G', 'F')
#define PRF_SEC_CLV LP_FOURCC('C', 'L', 'V', 'M')
#define PRF_SEC_KMEANS LP_FOURCC('K', 'M', 'N', 'S')
/* Since 1.1, optional (written only when a value is blocked), before the
 * graph: the blocklist, so that a load blocks the same values. */
#define PRF_SEC_BLOCKS LP_FOURCC('B', 'L', 'C', 'K')
#define PRF_ORDER_BYTES 44u    /* hash 16, flags 4, order id 8, ts 8, amount 8 */
/* Since 1.2, in place of ORDR: the orders grouped by identifier, the hash
 * once per group, the fields as varints (docs/profiles.md). ORDR still
 * loads. */
#define PRF_SEC_ORDERS_C LP_FOURCC('O', 'R', 'D', 'C')
#define PRF_TAGF_BYTES 48u     /* hash 16, tag 4, num 8, set_at 8, expires 8, len 4 (+ bytes) */
#define PRF_NAME_CAP (LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1)

/* A registered identifier type, kept so that load can build a new graph. */
typedef struct prf_type {
  char name[PRF_NAME_CAP];
  lp_idgraph_type_def def; /* def.name points at name */
} prf_type;

/* One order line under the keyed hash of its identifier. */
typedef struct prf_order {
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  uint32_t flags;
  uint64_t order_id;
  int64_t ts;
  int64_t amount;
} prf_order;

/* Orders ahead whose lines a gathering prefetches (an order may span two
 * cache lines): the fold's (profiles_view.c) and the save's sort
 * (profiles_save.c). */
#define PRF_GATHER_AHEAD 16u
#if defined(__GNUC__)
#  define PRF_PREFETCH(p) __builtin_prefetch(p)
#else
#  define PRF_PREFETCH(p) ((void)(p))
#endif

static inline void prf_prefetch_order(const prf_order *o) {
  PRF_PREFETCH(o);
  PRF_PREFETCH((const char *)(o + 1) - 1);
}

/* The fold's transaction of order o under profile pid (profiles_view.c). */
void prf_order_txn(const prf_order *o, uint64_t pid, lp_rfm_txn *out);

/* One tag value under the keyed hash of its identifier (at most one per
 * (hash, tag)); expires_at is resolved at set time (never DEFAULT). */
typedef struct prf_tagf {
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  uint32_t tag;
  int64_t num;
  int64_t set_at;
  int64_t expires_at;
  char *str; /* STRING values: owned copy of len bytes, else NULL */
  size_t len;
} prf_tagf;

/* A value blocked with lp_profiles_block_value(), normalised. */
typedef struct prf_block {
  uint32_t type;
  size_t len;
  char *value; /* owned, len bytes */
} prf_block;

/* A folded live tag value of one profile. */
typedef struct prf_tagv {
  uint64_t pid;
  lp_profiles_tag t;
} prf_tagv;

/* The derived view; rebuilt as a whole when stale. */
typedef struct prf_view {
  bool valid;
  uint64_t fold_gen;     /* the store's fold_gen when pids and rfm were built */
  bool orphans;          /* some order's identifier was in no profile at the fold */
  uint64_t model_gen;    /* the store's model_gen when the model values were computed */
  size_t n;              /* profiles */
  uint64_t *pids;        /* ascending */
  uint32_t *row;         /* per profile: index in rows, or UINT32_MAX (no order) */
  uint32_t *stage;
  uint32_t *flags;       /* LP_PROFILES_VIEW_HAS_CLV | _VALUE | _CLUSTER */
  uint32_t *cluster;
  double *p_alive, *expected, *clv;
  size_t *tag_first;     /* n + 1 offsets into tagv */
  lp_vec tagv;           /* prf_tagv, by (pid, tag) */
  size_t nrows;
  lp_rfm_row *rows;      /* scored, ascending profile id */
  size_t rows_cap;       /* entries allocated in rows (>= nrows: the prospects' records have none) */
  lp_rfm *rfm;           /* per-profile aggregates: profiles with an order, and the
                          * prospects too once `prospects` (prf_view_rfm_prospects()) */
  bool prospects;
  uint32_t *nid;         /* per profile: identifiers, counted in one pass for the block calls; NULL until then */
  bool nid_tried;        /* the pass was made (nid NULL: it failed, count per profile) */
  lp_rfm_segmap *segmap; /* NULL: no segments */
  lp_tags *tags;         /* the view as a tag state (rules, lp_profiles_tags_view()), or NULL */
  bool tags_full;        /* tags holds every attribute (built for lp_profiles_tags_view()) */
} prf_view;

struct lp_profiles {
  lp_mem mem;
  lp_error err;
  lp_allocator alloc; /* for the owned handles */
  uint32_t busy;      /* a host callback (writer, reader) runs */
  lp_idgraph *g;
  lp_tags *tax;       /* taxonomy only */
  lp_clv *clv;        /* NULL: no CLV model */
  lp_kmeans *km;      /* NULL: no k-means model */
  prf_type types[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
  uint8_t key[LP_IDGRAPH_MAX_KEY_LEN];
  size_t key_len;
  lp_idgraph_hash_fn hash_fn; /* the host's hash, or NULL */
  void *hash_ud;
  int64_t store_raw, quarantine_after, default_blocklist;
  int64_t trust_derived; /* LP_PROFILES_TRUST_DERIVED: a load-time choice, never saved */
  int64_t as_of, bins, segmap, horizon, period_scale, money_scale;
  uint64_t erased_facts;
  lp_vec orders; /* prf_order: a canonical prefix, then insertion order */
  size_t orders_sorted; /* orders[0, orders_sorted) in canonical order (prf_cmp_order) */
  lp_vec tagf;   /* prf_tagf */
  lp_map128 tag_index; /* prf_tag_key(hash, tag) -> index in tagf + 1 (verified) */
  lp_vec blocks;       /* prf_block, canonical order (type, bytes, length) */
  prf_view view; /* mutable cache: const view calls rebuild it */
  bool want_tags_view; /* build view.tags even without rules (asked for once) */
  uint64_t fold_gen;   /* bumped by every change of the orders or the partition */
  /* Additive changes since the view's fold (while view.fold_gen ==
   * fold_gen): orders under identifiers the graph held (lp_rfm_txn, to add
   * to the fold) and profiles of new identifiers (uint64_t ids). */
  lp_vec pend_txns, pend_pids;
  uint64_t model_gen;  /* bumped by every change of an option or a model */
  size_t graph_chunk;  /* bytes per IDGC section on save (prf_set_graph_chunk) */
};

#define PRF_MUT(h) ((lp_profiles *)(uintptr_t)(h))

#define PRF_GUARD(h, fn)                                                  \
  do {                                                                    \
    if ((h) == NULL) return LP_EINVAL;                                    \
    if ((h)->busy != 0) return lp_error_reentered(LP_ERR_OF_CONST(h), fn); \
  } while (0)

/* Copy the message of an owned handle's failure into the store's slot. */
int prf_fail(const lp_profiles *h, int rc, const char *what, const char *msg);

/* handle.c: a new empty graph configured as the store's (types, key,
 * options, the blocked values `blocks`: a vector of prf_block or NULL). */
int prf_new_graph(const lp_profiles *h, const prf_type *types, uint32_t ntypes,
                  const int64_t opts[3], const lp_vec *blocks, lp_idgraph **out);
int prf_cmp_block(const prf_block *a, const prf_block *b);
void prf_blocks_free(const lp_mem *m, lp_vec *blocks);
/* The owned handles seen through one shape, so saving, loading and
 * copying them is written once (handle.c). */
typedef struct prf_kind {
  const char *what;
  int (*create)(const lp_allocator *a, void **out);
  void (*free)(void *x);
  int (*save)(const void *x, lp_writer w, void *ud);
  int (*load)(void *x, lp_reader r, void *ud);
  const char *(*errmsg)(const void *x);
} prf_kind;
enum { PRF_KIND_GRAPH, PRF_KIND_TAXONOMY, PRF_KIND_CLV, PRF_KIND_KMEANS };
/* The table of a kind (a function, not extern data: the amalgamation makes
 * every internal definition static). */
const prf_kind *prf_kind_of(uint32_t which);

/* Load `len` bytes of a nested snapshot into `x` (already created). */
int prf_nested_load(const lp_profiles *h, const prf_kind *k, void *x, const uint8_t *d, size_t len);
/* A new handle of kind `k` loaded from `d` (created with the store's allocator). */
int prf_nested_new(const lp_profiles *h, const prf_kind *k, const uint8_t *d, size_t len, void **out);
/* A copy of `src` through its saved form. */
int prf_copy(const lp_profiles *h, const prf_kind *k, const void *src, void **out);
/* Free everything the store owns but its configuration (free and load). */
void prf_release(lp_profiles *h);

/* ingest.c */
lp_hash128 prf_tag_key(const uint8_t *hash, uint32_t tag);
void prf_tagf_free_all(const lp_mem *m, lp_vec *tagf);
void prf_mark_stale(lp_profiles *h);
/* The view is stale and so is its fold (profile ids and RFM aggregates). */
void prf_mark_fold_stale(lp_profiles *h);
/* The view is stale and so are its model values (an option or a model changed). */
void prf_mark_models_stale(lp_profiles *h);

/* save.c: the canonical order of order facts (a total order). */
int prf_cmp_order(const prf_order *x, const prf_order *y);

/* view.c */
void prf_view_free(const lp_profiles *h, prf_view *v);
int prf_view_build(const lp_profiles *h, prf_view *v);
/* As prf_view_build(), taking the profile ids and RFM aggregates of `old`
 * (a view of the same fold) instead of folding again; `old` loses them. */
int prf_view_build_reusing(const lp_profiles *h, prf_view *v, prf_view *old);
int prf_view_ensure(const lp_profiles *h);
/* Add the view's prospects to its RFM state (what lp_profiles_rfm_view()
 * promises); the view must be valid. */
int prf_view_rfm_prospects(const lp_profiles *h);
int prf_cmp_hash(const uint8_t *a, const uint8_t *b);

/* rules.c: the view's attributes defined in a taxonomy; whether it has
 * rule tags; the tag state and computed values of a view being built. */
int prf_define_attrs(const lp_profiles *h, lp_tags *t);
bool prf_has_rules(const lp_tags *t);
int prf_view_rules(const lp_profiles *h, prf_view *v);

/* check.c: whether the graph holds a tombstone for this identifier hash. */
bool prf_hash_erased(const lp_idgraph *g, const uint8_t *hash);

/* Invariant checker: LP_OK or LP_ECORRUPT with a message. With check_view,
 * also rebuilds the view from the facts and compares it with the cache. */
int profiles_check(const lp_profiles *h);
int profiles_check_view(const lp_profiles *h);

#endif /* LP_PROFILES_INTERNAL_H */
