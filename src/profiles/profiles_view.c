/*
 * Profile store: the view. It is rebuilt as a whole from the kept facts
 * under the graph's current partition (one pass over the order and tag
 * facts, one RFM scoring), so "view == rebuild from the facts" holds by
 * construction; profiles_check_view() verifies it against a second build.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "identity/sizes.h"
#include "profiles/profiles_internal.h"
#include "rfm/rfm_handle.h"

#define NO_ROW UINT32_MAX
#define DAY 86400.0

int prf_cmp_hash(const uint8_t *a, const uint8_t *b) {
  return memcmp(a, b, LP_IDGRAPH_HASH_SIZE);
}

void prf_view_free(const lp_profiles *h, prf_view *v) {
  const lp_mem *m = &h->mem;
  lp_mem_free_array(m, v->pids, v->n + 1, sizeof *v->pids);
  lp_mem_free_array(m, v->row, v->n + 1, sizeof *v->row);
  lp_mem_free_array(m, v->stage, v->n + 1, sizeof *v->stage);
  lp_mem_free_array(m, v->flags, v->n + 1, sizeof *v->flags);
  lp_mem_free_array(m, v->cluster, v->n + 1, sizeof *v->cluster);
  lp_mem_free_array(m, v->p_alive, v->n + 1, sizeof *v->p_alive);
  lp_mem_free_array(m, v->expected, v->n + 1, sizeof *v->expected);
  lp_mem_free_array(m, v->clv, v->n + 1, sizeof *v->clv);
  lp_mem_free_array(m, v->tag_first, v->n + 1, sizeof *v->tag_first);
  lp_mem_free_array(m, v->nid, v->n + 1, sizeof *v->nid);
  lp_vec_free(&v->tagv, m);
  lp_mem_free_array(m, v->rows, v->rows_cap, sizeof *v->rows);
  lp_rfm_free(v->rfm);
  lp_rfm_segmap_free(v->segmap);
  lp_tags_free(v->tags);
  memset(v, 0, sizeof *v);
}

static int oom(const lp_profiles *h) {
  return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "view: out of memory");
}

/* Per-profile arrays hold n + 1 entries so that an empty store allocates
 * (the allocator is never asked for zero bytes) and frees alike. */
static int alloc_arrays(const lp_profiles *h, prf_view *v) {
  const lp_mem *m = &h->mem;
  size_t n = v->n;
  int rc = lp_mem_alloc_array(m, n + 1, sizeof *v->row, (void **)&v->row);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->stage, (void **)&v->stage);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->flags, (void **)&v->flags);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->cluster, (void **)&v->cluster);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->p_alive, (void **)&v->p_alive);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->expected, (void **)&v->expected);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->clv, (void **)&v->clv);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, n + 1, sizeof *v->tag_first, (void **)&v->tag_first);
  if (rc != LP_OK) return rc == LP_ENOMEM ? oom(h) : lp_error_set(LP_ERR_OF_CONST(h), rc, "view: too many profiles");
  for (size_t i = 0; i < n; i++) {
    v->row[i] = NO_ROW;
    v->stage[i] = LP_RFM_STAGE_PROSPECT;
    v->flags[i] = 0;
    v->cluster[i] = 0;
    v->p_alive[i] = v->expected[i] = v->clv[i] = 0.0;
  }
  return LP_OK;
}

static int add_orders(const lp_profiles *h, prf_view *v, size_t no);

/* Profiles, and the RFM state of every order under its identifier's
 * current profile (orders of identifiers the graph no longer holds are
 * in no profile). The prospects (profiles without an order) join the RFM
 * state only when a host asks for it (prf_view_rfm_prospects()): nothing
 * in the view reads their empty records. */
static int build_rfm(const lp_profiles *h, prf_view *v) {
  /* the ids with their identifier counts (the block calls' v->nid), from
   * two passes over the graph's records */
  size_t n;
  int rc = idg_profiles_sized(h->g, &h->mem, &v->pids, &v->nid, &n);
  if (rc != LP_OK) return rc == LP_ENOMEM ? oom(h) : prf_fail(h, rc, "view", lp_idgraph_errmsg(h->g));
  v->n = n;
  v->nid_tried = true;
  if ((rc = lp_rfm_create(&h->alloc, &v->rfm)) != LP_OK) return oom(h);
  return add_orders(h, v, h->orders.len);
}

int prf_view_rfm_prospects(const lp_profiles *h) {
  prf_view *v = &PRF_MUT(h)->view;
  if (v->prospects) return LP_OK;
  for (size_t i = 0; i < v->n; i++) {
    if (v->row[i] != NO_ROW) continue; /* has an order: in the state */
    int rc = lp_rfm_add_profile(v->rfm, v->pids[i]);
    if (rc != LP_OK) return prf_fail(h, rc, "rfm_view", lp_rfm_errmsg(v->rfm));
  }
  v->prospects = true;
  return LP_OK;
}

/* Elements whose profiles one batch lookup resolves. */
#define RESOLVE_CHUNK 2048u

/* The profiles of the identifier hashes of n facts (the hash the first
 * member of each, `stride` bytes apart), written to pid[0..n) (0: in no
 * profile), in batches of the graph's prefetching lookup; a run of facts
 * under one hash is looked up once. `hb` holds RESOLVE_CHUNK hashes, `hp`
 * RESOLVE_CHUNK profile ids, n <= RESOLVE_CHUNK. */
static int resolve(const lp_profiles *h, const uint8_t *base, size_t stride, size_t n, uint64_t *pid,
                   uint8_t *hb, uint64_t *hp) {
  size_t d = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *x = base + i * stride;
    if (d == 0 || prf_cmp_hash(hb + (d - 1) * LP_IDGRAPH_HASH_SIZE, x) != 0)
      memcpy(hb + d++ * LP_IDGRAPH_HASH_SIZE, x, LP_IDGRAPH_HASH_SIZE);
    pid[i] = d - 1; /* index of its hash, for now */
  }
  int rc = lp_idgraph_profiles_of_hashes(h->g, hb, d, hp);
  if (rc != LP_OK) return prf_fail(h, rc, "view", lp_idgraph_errmsg(h->g));
  for (size_t i = 0; i < n; i++) pid[i] = hp[pid[i]];
  return LP_OK;
}

void prf_order_txn(const prf_order *o, uint64_t pid, lp_rfm_txn *out) {
  lp_rfm_txn x = LP_RFM_TXN_INIT;
  x.flags = (o->flags & LP_PROFILES_ORDER_HAS_ID) ? LP_RFM_TXN_HAS_ORDER : 0;
  x.profile_id = pid;
  x.ts = o->ts;
  x.amount = o->amount;
  x.order_id = o->order_id;
  *out = x;
}

typedef struct resolver {
  uint8_t hb[RESOLVE_CHUNK * LP_IDGRAPH_HASH_SIZE];
  uint64_t hp[RESOLVE_CHUNK], pid[RESOLVE_CHUNK];
  lp_rfm_txn t[RESOLVE_CHUNK];
} resolver;

/* Every order under its identifier's current profile, a chunk at a time:
 * resolved, then added to the fold (no array of all the orders' lines).
 * The fallback of add_orders() when its memory is short. */
static int prf_add_orders_chunked(const lp_profiles *h, prf_view *v, size_t no, resolver *r) {
  int rc = LP_OK;
  size_t kept = 0;
  const prf_order *all = (const prf_order *)(const void *)h->orders.data;
  for (size_t c0 = 0; rc == LP_OK && c0 < no; c0 += RESOLVE_CHUNK) {
    size_t k = no - c0 < RESOLVE_CHUNK ? no - c0 : RESOLVE_CHUNK, m = 0;
    rc = resolve(h, (const uint8_t *)(all + c0), sizeof *all, k, r->pid, r->hb, r->hp);
    for (size_t j = 0; rc == LP_OK && j < k; j++) {
      if (r->pid[j] == 0) continue;
      prf_order_txn(&all[c0 + j], r->pid[j], &r->t[m++]);
    }
    if (rc == LP_OK && (rc = lp_rfm_add(v->rfm, r->t, m)) != LP_OK) rc = prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
    kept += m;
  }
  v->orphans = kept < no;
  return rc;
}

/* The grouping's buckets (by the top PRF_GROUP_BITS bits of a profile id's
 * offset in the orders' id range), each sorted by insertion; a bucket of
 * more than PRF_GROUP_BUCKET_MAX orders (ids not spread, or one profile's
 * many orders) leaves the orders ungrouped. */
#define PRF_GROUP_BITS 16u
#define PRF_GROUP_BUCKET_MAX 256u

static unsigned prf_bit_length(uint64_t x) {
  unsigned b = 0;
  while (x != 0) {
    b++;
    x >>= 1;
  }
  return b;
}

/* key[0..m) and perm[0..m): the profiles and indices of the orders with a
 * profile (pid[i]: the profile of order i, 0 for none), stably sorted by
 * profile id: bucketed by the top bits of the id, then each bucket sorted
 * by (id, index), a total order; each bucket's keys move with its indices,
 * so the sort reads no other memory. false when a bucket is too crowded
 * to sort this way. */
static bool prf_group_by_profile(const uint64_t *pid, size_t no, uint32_t *start, uint64_t *key,
                             uint32_t *perm, size_t *m) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < no; i++)
    if (pid[i] != 0) {
      if (pid[i] < lo) lo = pid[i];
      if (pid[i] > hi) hi = pid[i];
    }
  if (lo > hi) lo = hi = 0; /* no order has a profile */
  unsigned bits = prf_bit_length(hi - lo), shift = bits > PRF_GROUP_BITS ? bits - PRF_GROUP_BITS : 0;
  size_t nb = (size_t)1 << PRF_GROUP_BITS;
  memset(start, 0, (nb + 1) * sizeof *start);
  size_t kept = 0;
  for (size_t i = 0; i < no; i++)
    if (pid[i] != 0) {
      start[((pid[i] - lo) >> shift) + 1]++;
      kept++;
    }
  for (size_t b = 0; b < nb; b++) {
    if (start[b + 1] > PRF_GROUP_BUCKET_MAX) return false;
    start[b + 1] += start[b];
  }
  for (size_t i = 0; i < no; i++)
    if (pid[i] != 0) {
      uint32_t at = start[(pid[i] - lo) >> shift]++;
      key[at] = pid[i];
      perm[at] = (uint32_t)i;
    }
  /* start[b] now ends bucket b; within it the indices ascend, and the
   * stable sort keeps them ascending among equal ids */
  idg_sort_id_runs(start, nb, key, perm);
  *m = kept;
  return true;
}

/* Every order under its identifier's current profile, fed to the fold
 * grouped by profile (each profile's orders in their stored order): the
 * fold then touches each profile's record in one run, and its records lie
 * in ascending id order, which the scoring and the lookups in id order
 * walk sequentially. Every aggregate is a function of a profile's own
 * orders in their order, so the grouping changes no value. Without the
 * memory of the grouping (two ids and an index an order while grouping,
 * one id and an index while feeding), a chunk at a time in the stored
 * order. */
static int add_orders(const lp_profiles *h, prf_view *v, size_t no) {
  if (no == 0) return LP_OK;
  int rc = LP_OK;
  resolver *r = lp_mem_alloc(&h->mem, sizeof *r);
  if (r == NULL) return oom(h);
  uint64_t *pid = NULL, *key = NULL;
  uint32_t *perm = NULL, *start = NULL;
  size_t nb = ((size_t)1 << PRF_GROUP_BITS) + 1;
  bool grouped = no <= UINT32_MAX &&
                 lp_mem_alloc_array(&h->mem, no, sizeof *pid, (void **)&pid) == LP_OK &&
                 lp_mem_alloc_array(&h->mem, no, sizeof *key, (void **)&key) == LP_OK &&
                 lp_mem_alloc_array(&h->mem, no, sizeof *perm, (void **)&perm) == LP_OK &&
                 lp_mem_alloc_array(&h->mem, nb, sizeof *start, (void **)&start) == LP_OK;
  const prf_order *all = (const prf_order *)(const void *)h->orders.data;
  size_t m = 0;
  for (size_t c0 = 0; grouped && rc == LP_OK && c0 < no; c0 += RESOLVE_CHUNK) {
    size_t k = no - c0 < RESOLVE_CHUNK ? no - c0 : RESOLVE_CHUNK;
    rc = resolve(h, (const uint8_t *)(all + c0), sizeof *all, k, pid + c0, r->hb, r->hp);
  }
  if (grouped && rc == LP_OK) grouped = prf_group_by_profile(pid, no, start, key, perm, &m);
  if (start != NULL) lp_mem_free_array(&h->mem, start, nb, sizeof *start);
  if (pid != NULL) lp_mem_free_array(&h->mem, pid, no, sizeof *pid);
  if (grouped && rc == LP_OK) {
    /* Room for the fold's records at once (the grouping has counted
     * them; rfm's own reservation, as the store is its caller): grown
     * chunk by chunk instead, the record array is reallocated about
     * fifteen times (by half again) and the id index rehashed into fresh
     * memory about ten times. lp_rfm_add() asks for a chunk more than
     * the records it holds, hence the extra chunk. A failure only leaves
     * the growing to lp_rfm_add(). */
    size_t distinct = 0;
    for (size_t j = 0; j < m; j++) distinct += j == 0 || key[j] != key[j - 1];
    (void)rfm_reserve(v->rfm, distinct + RESOLVE_CHUNK, 0, 0);
    for (size_t c0 = 0; rc == LP_OK && c0 < m; c0 += RESOLVE_CHUNK) {
      size_t k = m - c0 < RESOLVE_CHUNK ? m - c0 : RESOLVE_CHUNK;
      for (size_t j = 0; j < k; j++) {
        if (c0 + j + PRF_GATHER_AHEAD < m) prf_prefetch_order(&all[perm[c0 + j + PRF_GATHER_AHEAD]]);
        prf_order_txn(&all[perm[c0 + j]], key[c0 + j], &r->t[j]);
      }
      if ((rc = lp_rfm_add(v->rfm, r->t, k)) != LP_OK) rc = prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
    }
    v->orphans = m < no;
  }
  if (perm != NULL) lp_mem_free_array(&h->mem, perm, no, sizeof *perm);
  if (key != NULL) lp_mem_free_array(&h->mem, key, no, sizeof *key);
  if (!grouped && rc == LP_OK) rc = prf_add_orders_chunked(h, v, no, r);
  lp_mem_free(&h->mem, r, sizeof *r);
  return rc;
}

static int score(const lp_profiles *h, prf_view *v) {
  int rc;
  if (h->segmap != 0 && (rc = lp_rfm_segmap_builtin(&h->alloc, (uint32_t)h->segmap, &v->segmap)) != LP_OK)
    return oom(h);
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.bins = (uint32_t)h->bins;
  o.as_of = h->as_of;
  /* Without the prospects every record has an order, so a row: one
   * scoring into room for every record, without the size query first
   * (each is a pass over the records). With them, the size query. */
  size_t n = 0, cap = lp_rfm_count(v->rfm);
  if (v->prospects && (rc = lp_rfm_score(v->rfm, &o, v->segmap, NULL, 0, &cap)) != LP_OK)
    return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
  if (cap > 0) {
    if ((rc = lp_mem_alloc_array(&h->mem, cap, sizeof *v->rows, (void **)&v->rows)) != LP_OK) return oom(h);
    v->rows_cap = cap;
  }
  rc = lp_rfm_score(v->rfm, &o, v->segmap, v->rows, cap, &n);
  if (rc != LP_OK) return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
  v->nrows = n;
  size_t r = 0;
  for (size_t i = 0; i < v->n; i++) {
    while (r < v->nrows && v->rows[r].profile_id < v->pids[i]) r++;
    if (r < v->nrows && v->rows[r].profile_id == v->pids[i]) {
      v->row[i] = (uint32_t)r;
      v->stage[i] = v->rows[r].stage;
    }
  }
  return LP_OK;
}

static bool predict1(const lp_clv *c, uint32_t what, const lp_clv_data *d, double t, double *out) {
  size_t need;
  return lp_clv_predict(c, what, d, t, out, 1, &need) == LP_OK;
}

/* Rows of the models, predicted in blocks (lp_clv_predict() and
 * lp_kmeans_predict() are vectorised). */
#define MODEL_BLOCK 1024u
/* Rows of a k-means block: few enough that lp_kmeans_predict() scales
 * them once (256 x 3 values fit its stack buffer of 1024). */
#define PRF_KMEANS_BLOCK 256u

typedef struct model_block {
  size_t n;                    /* rows gathered */
  size_t at[MODEL_BLOCK];      /* profile index of each row */
  double x[MODEL_BLOCK], tx[MODEL_BLOCK], T[MODEL_BLOCK], mon[MODEL_BLOCK];
  double out[3][MODEL_BLOCK];  /* p_alive, conditional, clv */
  double f[MODEL_BLOCK * LP_PROFILES_FEATURES];
  uint32_t label[MODEL_BLOCK];
} model_block;

/* What a rebuild on the last view's fold may take from it: the model
 * values of profiles that had orders then and have no new order now, when
 * no option and no model changed since. */
typedef struct model_reuse {
  prf_view *old;
  bool valid;
  uint32_t *src;   /* new index -> old index (NO_ROW: new profile); NULL: the same indices */
  size_t n_src;
  uint64_t *dirty; /* ascending ids of the profiles with new orders */
  size_t n_dirty;
} model_reuse;

static int cmp_id(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : (x > y);
}

static int dirty_pids(const lp_profiles *h, model_reuse *r) {
  size_t n = h->pend_txns.len;
  int rc = lp_mem_alloc_array(&h->mem, n + 1, sizeof *r->dirty, (void **)&r->dirty);
  if (rc != LP_OK) return oom(h);
  r->n_dirty = n;
  for (size_t k = 0; k < n; k++) r->dirty[k] = ((const lp_rfm_txn *)lp_vec_at(&h->pend_txns, k))->profile_id;
  qsort(r->dirty, n, sizeof *r->dirty, cmp_id);
  r->valid = true;
  return LP_OK;
}

static lp_clv_data block_data(const model_block *b, size_t from, size_t n) {
  lp_clv_data d = LP_CLV_DATA_INIT;
  d.n = n;
  d.frequency = b->x + from;
  d.recency = b->tx + from;
  d.T = b->T + from;
  d.monetary = b->mon + from;
  return d;
}

/* One prediction over the block; false when the call failed. With
 * LP_CLV_DATA_NAN_INVALID (clv 1.1) a row outside the domain is NaN and
 * the caller asks it alone, so every row gets what a call of its own
 * gives. */
static bool predict_block(const lp_clv *c, uint32_t what, const model_block *b, double t, double *out) {
  lp_clv_data d = block_data(b, 0, b->n);
#ifdef LP_CLV_DATA_NAN_INVALID
  d.flags = LP_CLV_DATA_NAN_INVALID;
#endif
  size_t need;
  return lp_clv_predict(c, what, &d, t, out, b->n, &need) == LP_OK;
}

/* Row k of the block's prediction: the block's value, or one call for the
 * row alone when the block failed or gave NaN. */
static bool row_value(const lp_clv *c, uint32_t what, const model_block *b, bool block_ok, size_t k,
                      double t, double *out) {
  double y = b->out[what == LP_CLV_PRED_P_ALIVE ? 0 : what == LP_CLV_PRED_CONDITIONAL ? 1 : 2][k];
  if (block_ok && y == y) {
    *out = y;
    return true;
  }
  lp_clv_data d = block_data(b, k, 1);
  return predict1(c, what, &d, t, out);
}

static void clv_block(const lp_profiles *h, prf_view *v, model_block *b) {
  double hz = (double)h->horizon / (double)h->period_scale;
  bool ok_p = predict_block(h->clv, LP_CLV_PRED_P_ALIVE, b, 0.0, b->out[0]);
  bool ok_c = predict_block(h->clv, LP_CLV_PRED_CONDITIONAL, b, hz, b->out[1]);
  bool ok_v = predict_block(h->clv, LP_CLV_PRED_CLV, b, hz, b->out[2]);
  for (size_t k = 0; k < b->n; k++) {
    size_t i = b->at[k];
    if (row_value(h->clv, LP_CLV_PRED_P_ALIVE, b, ok_p, k, 0.0, &v->p_alive[i]) &&
        row_value(h->clv, LP_CLV_PRED_CONDITIONAL, b, ok_c, k, hz, &v->expected[i])) {
      v->flags[i] |= LP_PROFILES_VIEW_HAS_CLV;
      if (row_value(h->clv, LP_CLV_PRED_CLV, b, ok_v, k, hz, &v->clv[i]))
        v->flags[i] |= LP_PROFILES_VIEW_HAS_VALUE;
      else
        v->clv[i] = 0.0;
    } else {
      v->p_alive[i] = v->expected[i] = 0.0;
    }
  }
}

static void kmeans_block(const lp_profiles *h, prf_view *v, model_block *b) {
  size_t d = LP_PROFILES_FEATURES;
  bool all = lp_kmeans_predict(h->km, b->f, b->n, d, b->label, NULL) == LP_OK;
  for (size_t k = 0; k < b->n; k++) {
    /* a failed block: each row alone (one bad row has no label) */
    if (!all && lp_kmeans_predict(h->km, b->f + k * d, 1, d, &b->label[k], NULL) != LP_OK) continue;
    v->cluster[b->at[k]] = b->label[k];
    v->flags[b->at[k]] |= LP_PROFILES_VIEW_HAS_CLUSTER;
  }
}

/* CLV and cluster of every profile with an order, in blocks of rows. A row
 * a model cannot take (outside its domain) simply has no value: its flag
 * stays clear. Neither lp_clv_predict() nor lp_kmeans_predict() allocates,
 * so a failure here is never a memory failure mistaken for "no value". */
/* Copy the old view's model values of row i when its profile is unchanged. */
static bool reuse_models(const model_reuse *r, prf_view *v, size_t i, size_t *cursor) {
  if (r == NULL) return false;
  uint32_t o = r->src != NULL ? r->src[i] : (uint32_t)i;
  if (o == NO_ROW || r->old->row[o] == NO_ROW) return false;
  while (*cursor < r->n_dirty && r->dirty[*cursor] < v->pids[i]) (*cursor)++;
  if (*cursor < r->n_dirty && r->dirty[*cursor] == v->pids[i]) return false;
  const prf_view *w = r->old;
  v->flags[i] = w->flags[o];
  v->p_alive[i] = w->p_alive[o];
  v->expected[i] = w->expected[o];
  v->clv[i] = w->clv[o];
  v->cluster[i] = w->cluster[o];
  return true;
}

/* The CLV rows of a view, gathered and then predicted grouped by
 * (frequency, T): the model's memo of the costly hypergeometric terms is
 * keyed by them and lives for one call, so a block of rows of a few
 * (frequency, T) pairs computes each pair once instead of once a block
 * (the daily state: 792,214 rows, 8,326 pairs), CLV_GATHER rows at a
 * time. A row's values are a
 * function of its own inputs only, so the grouping changes no value; when
 * memory is short the rows are predicted in profile order as they come. */
typedef struct prf_clv_row {
  uint32_t at, group;
  double x, tx, T, mon;
} prf_clv_row;

#define NO_GROUP UINT32_MAX
/* Rows gathered at most (10 MiB): the transient memory stays small beside
 * the view, and a gathering still holds most rows of each pair. */
#define CLV_GATHER ((size_t)1 << 18)

typedef struct clv_rows {
  prf_clv_row *r;
  size_t n, cap;
  uint32_t groups;
  lp_map128 key; /* (frequency, t) -> group, in first-seen order */
} clv_rows;

static bool clv_rows_init(const lp_profiles *h, clv_rows *g, size_t cap) {
  memset(g, 0, sizeof *g);
  lp_map128_init(&g->key);
  if (cap == 0 || lp_mem_alloc_array(&h->mem, cap, sizeof *g->r, (void **)&g->r) != LP_OK) return false;
  g->cap = cap;
  return true;
}

static void clv_rows_free(const lp_profiles *h, clv_rows *g) {
  if (g->r != NULL) lp_mem_free_array(&h->mem, g->r, g->cap, sizeof *g->r);
  lp_hmap_free(&g->key, &h->mem);
  memset(g, 0, sizeof *g);
}

/* Row `i` of the view with inputs `ci`, in the model's units. */
static void clv_row_fill(const lp_profiles *h, size_t i, const lp_rfm_clv *ci, prf_clv_row *r) {
  double ps = (double)h->period_scale, ms = (double)h->money_scale;
  r->at = (uint32_t)i;
  r->group = NO_GROUP;
  r->x = (double)ci->frequency;
  r->tx = (double)ci->recency / ps;
  r->T = (double)ci->t / ps;
  r->mon = ci->monetary / ms;
}

/* Row `i` into the gathered rows (its group NO_GROUP when the key map
 * cannot grow: it is then predicted last). */
static void clv_rows_add(const lp_profiles *h, clv_rows *g, size_t i, const lp_rfm_clv *ci) {
  prf_clv_row *r = &g->r[g->n++];
  clv_row_fill(h, i, ci, r);
  uint64_t k[2] = {(uint64_t)ci->frequency, (uint64_t)ci->t}, *slot;
  bool added;
  if (g->groups < NO_GROUP && lp_hmap_upsert(&g->key, &h->mem, k, &slot, &added) == LP_OK) {
    if (added) *slot = g->groups++;
    r->group = (uint32_t)*slot;
  }
}

static void clv_block_add(const lp_profiles *h, prf_view *v, model_block *b, const prf_clv_row *r) {
  size_t k = b->n++;
  b->at[k] = r->at;
  b->x[k] = r->x;
  b->tx[k] = r->tx;
  b->T[k] = r->T;
  b->mon[k] = r->mon;
  if (b->n == MODEL_BLOCK) {
    clv_block(h, v, b);
    b->n = 0;
  }
}

/* Predict the gathered rows, group by group (a counting sort of the row
 * indices by group; without its memory, in the order gathered). */
static void clv_rows_predict(const lp_profiles *h, prf_view *v, model_block *b, const clv_rows *g) {
  if (g->n == 0) return;
  size_t ng = (size_t)g->groups + 1; /* the last: NO_GROUP */
  uint32_t *start = NULL, *order = NULL;
  if (lp_mem_alloc_array(&h->mem, ng + 1, sizeof *start, (void **)&start) != LP_OK ||
      lp_mem_alloc_array(&h->mem, g->n, sizeof *order, (void **)&order) != LP_OK) {
    if (start != NULL) lp_mem_free_array(&h->mem, start, ng + 1, sizeof *start);
    for (size_t j = 0; j < g->n; j++) clv_block_add(h, v, b, &g->r[j]);
    return;
  }
  memset(start, 0, (ng + 1) * sizeof *start);
  for (size_t j = 0; j < g->n; j++) start[(g->r[j].group == NO_GROUP ? ng - 1 : g->r[j].group) + 1]++;
  for (size_t k = 0; k < ng; k++) start[k + 1] += start[k];
  for (size_t j = 0; j < g->n; j++) order[start[g->r[j].group == NO_GROUP ? ng - 1 : g->r[j].group]++] = (uint32_t)j;
  for (size_t j = 0; j < g->n; j++) clv_block_add(h, v, b, &g->r[order[j]]);
  lp_mem_free_array(&h->mem, order, g->n, sizeof *order);
  lp_mem_free_array(&h->mem, start, ng + 1, sizeof *start);
}

/* Predict the gathered rows and start gathering again. */
static void clv_rows_flush(const lp_profiles *h, prf_view *v, model_block *b, clv_rows *g) {
  clv_rows_predict(h, v, b, g);
  g->n = 0;
  g->groups = 0;
  lp_hmap_free(&g->key, &h->mem);
  lp_map128_init(&g->key);
}

static int models(const lp_profiles *h, prf_view *v, const model_reuse *reuse) {
  if (h->clv == NULL && h->km == NULL) return LP_OK;
  size_t cursor = 0;
  model_block *cb = NULL, *kb = NULL;
  if ((h->clv != NULL && (cb = lp_mem_alloc(&h->mem, sizeof *cb)) == NULL) ||
      (h->km != NULL && (kb = lp_mem_alloc(&h->mem, sizeof *kb)) == NULL)) {
    if (cb != NULL) lp_mem_free(&h->mem, cb, sizeof *cb);
    return oom(h);
  }
  if (cb != NULL) cb->n = 0;
  if (kb != NULL) kb->n = 0;
  clv_rows g;
  bool grouped = cb != NULL && clv_rows_init(h, &g, v->nrows < CLV_GATHER ? v->nrows : CLV_GATHER);
  for (size_t i = 0; i < v->n; i++) {
    if (v->row[i] == NO_ROW || reuse_models(reuse, v, i, &cursor)) continue;
    const lp_rfm_row *row = &v->rows[v->row[i]];
    lp_rfm_clv ci = LP_RFM_CLV_INIT;
    if (cb != NULL && lp_rfm_clv_inputs(v->rfm, row->profile_id, h->as_of, &ci) == LP_OK) {
      if (grouped) {
        clv_rows_add(h, &g, i, &ci);
        if (g.n == g.cap) clv_rows_flush(h, v, cb, &g);
      } else {
        prf_clv_row r1;
        clv_row_fill(h, i, &ci, &r1);
        clv_block_add(h, v, cb, &r1);
      }
    }
    if (kb != NULL) {
      size_t k = kb->n++;
      kb->at[k] = i;
      kb->f[k * LP_PROFILES_FEATURES] = (double)row->recency / DAY;
      kb->f[k * LP_PROFILES_FEATURES + 1] = (double)row->frequency;
      kb->f[k * LP_PROFILES_FEATURES + 2] = (double)row->monetary;
      if (kb->n == PRF_KMEANS_BLOCK) {
        kmeans_block(h, v, kb);
        kb->n = 0;
      }
    }
  }
  if (grouped) {
    clv_rows_predict(h, v, cb, &g);
    clv_rows_free(h, &g);
  }
  if (cb != NULL && cb->n > 0) clv_block(h, v, cb);
  if (kb != NULL && kb->n > 0) kmeans_block(h, v, kb);
  if (cb != NULL) lp_mem_free(&h->mem, cb, sizeof *cb);
  if (kb != NULL) lp_mem_free(&h->mem, kb, sizeof *kb);
  return LP_OK;
}

/* ---- tags: fold the facts of a profile's identifiers ---- */

typedef struct tag_ref {
  uint64_t pid;
  uint32_t tag;
  const prf_tagf *f;
} tag_ref;

static int cmp_ref(const void *a, const void *b) {
  const tag_ref *x = a, *y = b;
  if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
  if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
  return prf_cmp_hash(x->f->hash, y->f->hash); /* (hash, tag) is unique: a total order */
}

static int cmp_str(const prf_tagf *a, const prf_tagf *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n > 0 ? memcmp(a->str, b->str, n) : 0;
  if (c != 0) return c;
  return a->len < b->len ? -1 : (a->len > b->len);
}

/* Fold the live facts refs[0..n) of one (profile, tag), in ascending
 * identifier hash, by the tag's policy. false: no live value. */
static int fold(const lp_profiles *h, const lp_tags_info *info, const tag_ref *refs, size_t n,
                lp_profiles_tag *out, bool *any) {
  const prf_tagf *best = NULL;
  int64_t sum = 0, exp_max = INT64_MIN, exp_min = INT64_MAX;
  for (size_t i = 0; i < n; i++) {
    const prf_tagf *f = refs[i].f;
    if (!(h->as_of < f->expires_at)) continue;
    if (f->expires_at > exp_max) exp_max = f->expires_at;
    if (f->expires_at < exp_min) exp_min = f->expires_at;
    if (best == NULL) {
      best = f;
      sum = f->num;
      continue;
    }
    bool take = false;
    switch (info->merge) {
    case LP_TAGS_MERGE_MAX:
      take = info->type == LP_TAGS_STRING ? cmp_str(f, best) > 0 : f->num > best->num;
      break;
    case LP_TAGS_MERGE_MIN:
      take = info->type == LP_TAGS_STRING ? cmp_str(f, best) < 0 : f->num < best->num;
      break;
    case LP_TAGS_MERGE_LATEST: take = f->set_at > best->set_at; break;
    case LP_TAGS_MERGE_SUM:
      if (lp_i64_add_overflow(sum, f->num, &sum))
        return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "view: the sum of tag %s overflows",
                            info->name);
      break;
    default: break; /* OR: the first live value */
    }
    if (take) best = f;
  }
  *any = best != NULL;
  if (best == NULL) return LP_OK;
  out->type = info->type;
  out->num = info->merge == LP_TAGS_MERGE_SUM ? sum : best->num;
  out->str = best->str;
  out->len = best->len;
  out->set_at = best->set_at;
  out->expires_at = best->expires_at;
  if (info->merge == LP_TAGS_MERGE_OR && info->type == LP_TAGS_FLAG) out->expires_at = exp_max;
  if (info->merge == LP_TAGS_MERGE_SUM) out->expires_at = exp_min;
  return LP_OK;
}

static int build_tags(const lp_profiles *h, prf_view *v) {
  lp_vec_init(&v->tagv, sizeof(prf_tagv));
  size_t nf = h->tagf.len, m = 0;
  tag_ref *refs = NULL;
  int rc = LP_OK;
  if (nf > 0) {
    if ((rc = lp_mem_alloc_array(&h->mem, nf, sizeof *refs, (void **)&refs)) != LP_OK) return oom(h);
    resolver *r = lp_mem_alloc(&h->mem, sizeof *r);
    if (r == NULL) {
      lp_mem_free_array(&h->mem, refs, nf, sizeof *refs);
      return oom(h);
    }
    const prf_tagf *all = (const prf_tagf *)(const void *)h->tagf.data;
    for (size_t c0 = 0; rc == LP_OK && c0 < nf; c0 += RESOLVE_CHUNK) {
      size_t k = nf - c0 < RESOLVE_CHUNK ? nf - c0 : RESOLVE_CHUNK;
      rc = resolve(h, (const uint8_t *)(all + c0), sizeof *all, k, r->pid, r->hb, r->hp);
      for (size_t j = 0; rc == LP_OK && j < k; j++) {
        if (r->pid[j] == 0) continue;
        refs[m].pid = r->pid[j];
        refs[m].tag = all[c0 + j].tag;
        refs[m].f = &all[c0 + j];
        m++;
      }
    }
    lp_mem_free(&h->mem, r, sizeof *r);
    qsort(refs, m, sizeof *refs, cmp_ref);
  }
  for (size_t i = 0; i < m && rc == LP_OK;) {
    size_t j = i + 1;
    while (j < m && refs[j].pid == refs[i].pid && refs[j].tag == refs[i].tag) j++;
    lp_tags_info info = LP_TAGS_INFO_INIT;
    rc = lp_tags_describe(h->tax, refs[i].tag, &info);
    if (rc != LP_OK) {
      rc = prf_fail(h, rc, "view", lp_tags_errmsg(h->tax));
      break;
    }
    prf_tagv tv;
    memset(&tv, 0, sizeof tv);
    tv.pid = refs[i].pid;
    tv.t.tag_id = refs[i].tag;
    bool any = false;
    rc = fold(h, &info, refs + i, j - i, &tv.t, &any);
    if (rc == LP_OK && any && (rc = lp_vec_push(&v->tagv, &h->mem, &tv)) != LP_OK) rc = oom(h);
    i = j;
  }
  if (refs != NULL) lp_mem_free_array(&h->mem, refs, nf, sizeof *refs);
  if (rc != LP_OK) return rc;
  size_t t = 0;
  for (size_t i = 0; i < v->n; i++) {
    while (t < v->tagv.len && ((prf_tagv *)lp_vec_at(&v->tagv, t))->pid < v->pids[i]) t++;
    v->tag_first[i] = t;
  }
  v->tag_first[v->n] = v->tagv.len;
  return LP_OK;
}

/* The pending additions: new profiles into the id list (both sorted, one
 * merge) and the fold, the pending orders into the fold. */
static int add_pending(const lp_profiles *h, prf_view *v, uint32_t **src) {
  const lp_vec *np = &h->pend_pids, *nt = &h->pend_txns;
  int rc;
  *src = NULL;
  if (np->len > 0) {
    if (v->nid != NULL) lp_mem_free_array(&h->mem, v->nid, v->n + 1, sizeof *v->nid);
    v->nid = NULL;
    v->nid_tried = false;
    uint64_t *add = (uint64_t *)(void *)np->data, *ids;
    qsort(add, np->len, sizeof *add, cmp_id);
    size_t total = v->n + np->len;
    if ((rc = lp_mem_alloc_array(&h->mem, total + 1, sizeof *ids, (void **)&ids)) != LP_OK) return oom(h);
    uint32_t *from; /* new index -> old index, or NO_ROW for a new profile */
    if ((rc = lp_mem_alloc_array(&h->mem, total + 1, sizeof *from, (void **)&from)) != LP_OK) {
      lp_mem_free_array(&h->mem, ids, total + 1, sizeof *ids);
      return oom(h);
    }
    *src = from;
    size_t i = 0, j = 0, w = 0;
    while (i < v->n || j < np->len) {
      if (j < np->len && w > 0 && ids[w - 1] == add[j]) {
        j++; /* named twice */
      } else if (j < np->len && (i == v->n || add[j] < v->pids[i])) {
        from[w] = NO_ROW;
        ids[w++] = add[j++];
      } else if (j < np->len && add[j] == v->pids[i]) {
        j++; /* already a profile */
      } else {
        from[w] = (uint32_t)i;
        ids[w++] = v->pids[i++];
      }
    }
    lp_mem_free_array(&h->mem, v->pids, v->n + 1, sizeof *v->pids);
    v->pids = ids;
    v->n = w;
    /* the array keeps total + 1 entries: shrink the count only if equal */
    if (w != total) {
      uint64_t *exact;
      if ((rc = lp_mem_alloc_array(&h->mem, w + 1, sizeof *exact, (void **)&exact)) != LP_OK) {
        lp_mem_free_array(&h->mem, ids, total + 1, sizeof *ids);
        v->pids = NULL;
        return oom(h);
      }
      memcpy(exact, ids, w * sizeof *exact);
      lp_mem_free_array(&h->mem, ids, total + 1, sizeof *ids);
      v->pids = exact;
    }
    for (size_t k = 0; v->prospects && k < np->len; k++)
      if ((rc = lp_rfm_add_profile(v->rfm, add[k])) != LP_OK)
        return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
  }
  if (nt->len > 0 && (rc = lp_rfm_add(v->rfm, (const lp_rfm_txn *)(const void *)nt->data, nt->len)) != LP_OK)
    return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
  return LP_OK;
}

int prf_view_build_reusing(const lp_profiles *h, prf_view *v, prf_view *old) {
  model_reuse reuse;
  memset(&reuse, 0, sizeof reuse);
  reuse.old = old;
  memset(v, 0, sizeof *v);
  lp_vec_init(&v->tagv, sizeof(prf_tagv));
  v->fold_gen = h->fold_gen;
  int rc = LP_OK;
  if (old != NULL) {
    /* the same partition, the orders of the fold plus the pending ones:
     * the ids and aggregates of the old view plus the additions; all that
     * follows (scores at as_of, models, tags, rules) is computed again */
    v->pids = old->pids;
    v->n = old->n;
    v->rfm = old->rfm;
    v->orphans = old->orphans;
    v->prospects = old->prospects;
    /* the counts too while the ids stay (add_pending drops them when it
     * adds profiles; the block calls then count again) */
    v->nid = old->nid;
    v->nid_tried = old->nid_tried;
    old->pids = NULL;
    old->rfm = NULL;
    old->nid = NULL;
    rc = add_pending(h, v, &reuse.src);
    reuse.n_src = v->n;
    if (rc == LP_OK && old->model_gen == h->model_gen) rc = dirty_pids(h, &reuse);
  } else {
    rc = build_rfm(h, v);
  }
  v->model_gen = h->model_gen;
  lp_profiles *mh = PRF_MUT(h);
  if (rc == LP_OK) rc = alloc_arrays(h, v);
  if (rc == LP_OK) rc = score(h, v);
  if (rc == LP_OK) rc = models(h, v, reuse.valid ? &reuse : NULL);
  if (reuse.src != NULL) lp_mem_free_array(&h->mem, reuse.src, reuse.n_src + 1, sizeof *reuse.src);
  if (reuse.dirty != NULL) lp_mem_free_array(&h->mem, reuse.dirty, reuse.n_dirty + 1, sizeof *reuse.dirty);
  mh->pend_txns.len = 0; /* folded, or folded again from the facts */
  mh->pend_pids.len = 0;
  if (rc == LP_OK) rc = build_tags(h, v);
  if (rc == LP_OK) rc = prf_view_rules(h, v);
  if (rc != LP_OK) {
    prf_view_free(h, v);
    return rc;
  }
  v->valid = true;
  return LP_OK;
}

int prf_view_build(const lp_profiles *h, prf_view *v) { return prf_view_build_reusing(h, v, NULL); }

int prf_view_ensure(const lp_profiles *h) {
  if (h->view.valid) return LP_OK;
  lp_profiles *mh = PRF_MUT(h);
  prf_view *old = &mh->view;
  /* Only options, models or tags changed since the last build (the CLI's
   * "view, fit the models, view with them"): keep its fold. */
  bool reuse = old->rfm != NULL && old->pids != NULL && old->fold_gen == h->fold_gen;
  prf_view nv;
  int rc = prf_view_build_reusing(h, &nv, reuse ? old : NULL);
  if (rc != LP_OK) return rc; /* with reuse, the old view lost its fold: the next build folds */
  prf_view_free(h, old);
  mh->view = nv;
  return LP_OK;
}

int lp_profiles_refresh(lp_profiles *h) {
  PRF_GUARD(h, "lp_profiles_refresh");
  return prf_view_ensure(h);
}

int lp_profiles_count(const lp_profiles *h, uint64_t *count) {
  PRF_GUARD(h, "lp_profiles_count");
  if (count == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "count is NULL");
  int rc = prf_view_ensure(h);
  if (rc != LP_OK) return rc;
  *count = h->view.n;
  return LP_OK;
}

/* Index of the first profile id >= id. */
static size_t lower_bound(const prf_view *v, uint64_t id) {
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v->pids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int find(const lp_profiles *h, const char *what, uint64_t pid, size_t *i) {
  int rc = prf_view_ensure(h);
  if (rc != LP_OK) return rc;
  *i = lower_bound(&h->view, pid);
  if (*i == h->view.n || h->view.pids[*i] != pid)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "%s: no profile %llu", what,
                        (unsigned long long)pid);
  return LP_OK;
}

int lp_profiles_next(const lp_profiles *h, uint64_t after, uint64_t *next) {
  PRF_GUARD(h, "lp_profiles_next");
  if (next == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "next is NULL");
  int rc = prf_view_ensure(h);
  if (rc != LP_OK) return rc;
  if (after == UINT64_MAX)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "next: end of the profiles");
  size_t i = lower_bound(&h->view, after + 1);
  if (i == h->view.n) return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "next: end of the profiles");
  *next = h->view.pids[i];
  return LP_OK;
}

/* ---- identifier counts of every profile, for the block calls ---- */

/* Profiles whose counts one batch call reads. */
#define COUNT_CHUNK 4096u

/* v->nid: every profile's identifier count, from the graph's per-profile
 * counts (lp_idgraph_profile_sizes(), one index lookup a profile) instead
 * of a walk of each profile's identifiers. false when memory is short (the
 * caller counts profile by profile). */
static bool count_identifiers(const lp_profiles *h, prf_view *v) {
  const lp_mem *m = &h->mem;
  uint64_t *sz = NULL;
  uint32_t *nid = NULL;
  if (lp_mem_alloc_array(m, COUNT_CHUNK, sizeof *sz, (void **)&sz) != LP_OK) return false;
  if (lp_mem_alloc_array(m, v->n + 1, sizeof *nid, (void **)&nid) != LP_OK) {
    lp_mem_free_array(m, sz, COUNT_CHUNK, sizeof *sz);
    return false;
  }
  bool ok = true;
  nid[v->n] = 0;
  for (size_t c0 = 0; ok && c0 < v->n; c0 += COUNT_CHUNK) {
    size_t k = v->n - c0 < COUNT_CHUNK ? v->n - c0 : COUNT_CHUNK;
    ok = lp_idgraph_profile_sizes(h->g, v->pids + c0, k, sz) == LP_OK;
    for (size_t j = 0; ok && j < k; j++) {
      /* 0: a profile the graph does not have (not the view's graph) */
      ok = sz[j] > 0 && sz[j] <= UINT32_MAX;
      nid[c0 + j] = (uint32_t)sz[j];
    }
  }
  lp_mem_free_array(m, sz, COUNT_CHUNK, sizeof *sz);
  if (!ok) {
    lp_mem_free_array(m, nid, v->n + 1, sizeof *nid);
    return false;
  }
  v->nid = nid;
  return true;
}

/* Identifiers of the profile at index i: from the counts of the block
 * calls when `counted` and they were taken, else a walk of the profile. */
static int identifiers_at(const lp_profiles *h, size_t i, bool counted, uint64_t *count) {
  const prf_view *v = &h->view;
  if (counted && v->nid != NULL) {
    *count = v->nid[i];
    return LP_OK;
  }
  size_t nid;
  int rc = lp_idgraph_profile_identifiers(h->g, v->pids[i], NULL, 0, &nid);
  if (rc != LP_OK) return prf_fail(h, rc, "view", lp_idgraph_errmsg(h->g));
  *count = nid;
  return LP_OK;
}

/* The view of the profile at index i of the (valid) view. */
static int view_at(const lp_profiles *h, size_t i, bool counted, lp_profiles_view *out) {
  const prf_view *v = &h->view;
  uint64_t profile_id = v->pids[i];
  uint64_t nid = 0;
  int rc = identifiers_at(h, i, counted, &nid);
  if (rc != LP_OK) return rc;
  lp_profiles_view o = LP_PROFILES_VIEW_INIT;
  o.profile_id = profile_id;
  o.identifiers = nid;
  o.tags = v->tag_first[i + 1] - v->tag_first[i];
  o.segment = LP_RFM_SEGMENT_OTHERS;
  o.stage = v->stage[i];
  o.flags = v->flags[i];
  if (v->row[i] != NO_ROW) {
    const lp_rfm_row *r = &v->rows[v->row[i]];
    lp_rfm_profile p = LP_RFM_PROFILE_INIT;
    rc = lp_rfm_get(v->rfm, profile_id, &p);
    if (rc != LP_OK) return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
    o.flags |= LP_PROFILES_VIEW_HAS_ORDERS;
    o.first_ts = p.first_ts;
    o.last_ts = p.last_ts;
    o.transactions = p.transactions;
    o.orders = p.orders;
    o.monetary = p.monetary;
    o.recency = r->recency;
    o.r = r->r;
    o.f = r->f;
    o.m = r->m;
    o.segment = r->segment;
  }
  o.cluster = v->cluster[i];
  o.p_alive = v->p_alive[i];
  o.expected_purchases = v->expected[i];
  o.clv = v->clv[i];
  o.segment_name = v->segmap != NULL ? lp_rfm_segmap_name(v->segmap, o.segment) : "others";
  *out = o;
  return LP_OK;
}

int lp_profiles_view_of(const lp_profiles *h, uint64_t profile_id, lp_profiles_view *out) {
  PRF_GUARD(h, "lp_profiles_view_of");
  if (out == NULL || out->struct_size < sizeof *out)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "view: out is NULL or struct_size too small");
  size_t i;
  int rc = find(h, "view", profile_id, &i);
  if (rc != LP_OK) return rc;
  return view_at(h, i, false, out);
}

/* The block calls' arguments and span: *n entries from position first
 * (the view recomputed if stale). */
static int block_span(const lp_profiles *h, const char *what, uint64_t first, const void *out,
                      size_t capacity, const size_t *written, size_t *n) {
  if (written == NULL || (out == NULL && capacity > 0))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "%s: written is NULL, or out is NULL with capacity > 0", what);
  int rc = prf_view_ensure(h);
  if (rc != LP_OK) return rc;
  size_t count = h->view.n;
  if (first > count)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "%s: first %llu is past the %zu profiles", what,
                        (unsigned long long)first, count);
  *n = count - (size_t)first < capacity ? count - (size_t)first : capacity;
  return LP_OK;
}

int lp_profiles_view_block(const lp_profiles *h, uint64_t first, lp_profiles_view *out,
                           size_t capacity, size_t *written) {
  PRF_GUARD(h, "lp_profiles_view_block");
  size_t n = 0;
  int rc = block_span(h, "view_block", first, out, capacity, written, &n);
  if (rc != LP_OK) return rc;
  for (size_t k = 0; k < n; k++)
    if (out[k].struct_size < sizeof *out)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "view_block: out[%zu].struct_size too small", k);
  /* a host that walks the profiles in blocks asks for every count: take
   * them all in one pass (without the memory, one walk per profile) */
  if (n > 0 && h->view.nid == NULL && !h->view.nid_tried) {
    PRF_MUT(h)->view.nid_tried = true;
    (void)count_identifiers(h, &PRF_MUT(h)->view);
  }
  for (size_t k = 0; k < n; k++)
    if ((rc = view_at(h, (size_t)first + k, true, &out[k])) != LP_OK) return rc;
  *written = n;
  return LP_OK;
}

int lp_profiles_stage_block(const lp_profiles *h, uint64_t first, int64_t as_of, uint32_t *out,
                            size_t capacity, size_t *written) {
  PRF_GUARD(h, "lp_profiles_stage_block");
  if (as_of < -LP_RFM_MAX_TIMESTAMP || as_of > LP_RFM_MAX_TIMESTAMP)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ERANGE, "stage_block: as_of %lld beyond +-(2^62 - 1)",
                        (long long)as_of);
  size_t n = 0;
  int rc = block_span(h, "stage_block", first, out, capacity, written, &n);
  if (rc != LP_OK) return rc;
  const prf_view *v = &h->view;
  for (size_t k = 0; k < n; k++) {
    size_t i = (size_t)first + k;
    if (v->row[i] == NO_ROW) {
      out[k] = LP_RFM_STAGE_PROSPECT; /* no order: a prospect at any time */
    } else if ((rc = lp_rfm_stage_of(v->rfm, v->pids[i], as_of, &out[k])) != LP_OK) {
      return prf_fail(h, rc, "stage_block", lp_rfm_errmsg(v->rfm));
    }
  }
  *written = n;
  return LP_OK;
}

int lp_profiles_identifiers(const lp_profiles *h, uint64_t profile_id, lp_idgraph_ident_info *out,
                            size_t capacity, size_t *needed) {
  PRF_GUARD(h, "lp_profiles_identifiers");
  int rc = lp_idgraph_profile_identifiers(h->g, profile_id, out, capacity, needed);
  if (rc != LP_OK) return prf_fail(h, rc, "identifiers", lp_idgraph_errmsg(h->g));
  return LP_OK;
}

/* The buffer contract: LP_OK with *done set when answered. */
static int buffer(const lp_profiles *h, const char *what, const void *out, size_t capacity,
                  size_t *needed, size_t n, bool *done) {
  *done = true;
  *needed = n;
  if (out == NULL && capacity == 0) return LP_OK;
  if (capacity < n)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE, "%s: %zu entries needed, capacity is %zu",
                        what, n, capacity);
  *done = false;
  return LP_OK;
}

static int buffer_args(const lp_profiles *h, const char *what, const void *out, size_t capacity,
                       const size_t *needed) {
  if (needed == NULL || (out == NULL && capacity > 0))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "%s: needed is NULL, or out is NULL with capacity > 0", what);
  return LP_OK;
}

int lp_profiles_tags_of(const lp_profiles *h, uint64_t profile_id, lp_profiles_tag *out,
                        size_t capacity, size_t *needed) {
  PRF_GUARD(h, "lp_profiles_tags_of");
  int rc = buffer_args(h, "tags_of", out, capacity, needed);
  if (rc != LP_OK) return rc;
  size_t i;
  if ((rc = find(h, "tags_of", profile_id, &i)) != LP_OK) return rc;
  const prf_view *v = &h->view;
  size_t a = v->tag_first[i], n = v->tag_first[i + 1] - a;
  bool done;
  rc = buffer(h, "tags_of", out, capacity, needed, n, &done);
  if (done) return rc;
  for (size_t k = 0; k < n; k++) out[k] = ((const prf_tagv *)lp_vec_at(&v->tagv, a + k))->t;
  return LP_OK;
}

int lp_profiles_rfm_view(const lp_profiles *h, const lp_rfm **out) {
  PRF_GUARD(h, "lp_profiles_rfm_view");
  if (out == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "rfm_view: out is NULL");
  int rc = prf_view_ensure(h);
  if (rc == LP_OK) rc = prf_view_rfm_prospects(h);
  if (rc != LP_OK) return rc;
  *out = h->view.rfm;
  return LP_OK;
}

int lp_profiles_features(const lp_profiles *h, uint64_t *ids, double *out, size_t capacity,
                         size_t *needed) {
  PRF_GUARD(h, "lp_profiles_features");
  int rc = buffer_args(h, "features", out, capacity, needed);
  if (rc == LP_OK && out != NULL && ids == NULL)
    rc = lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "features: ids is NULL");
  if (rc != LP_OK) return rc;
  if ((rc = prf_view_ensure(h)) != LP_OK) return rc;
  const prf_view *v = &h->view;
  bool done;
  rc = buffer(h, "features", out, capacity, needed, v->nrows, &done);
  if (done) return rc;
  for (size_t r = 0; r < v->nrows; r++) {
    ids[r] = v->rows[r].profile_id;
    out[r * LP_PROFILES_FEATURES] = (double)v->rows[r].recency / DAY;
    out[r * LP_PROFILES_FEATURES + 1] = (double)v->rows[r].frequency;
    out[r * LP_PROFILES_FEATURES + 2] = (double)v->rows[r].monetary;
  }
  return LP_OK;
}

int lp_profiles_get_stats(const lp_profiles *h, lp_profiles_stats *stats) {
  PRF_GUARD(h, "lp_profiles_get_stats");
  if (stats == NULL || stats->struct_size < sizeof *stats)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "stats is NULL or struct_size too small");
  size_t n;
  int rc = lp_idgraph_profiles(h->g, NULL, 0, &n);
  if (rc != LP_OK) return prf_fail(h, rc, "stats", lp_idgraph_errmsg(h->g));
  lp_profiles_stats s = LP_PROFILES_STATS_INIT;
  s.profiles = n;
  s.orders = h->orders.len;
  s.tag_facts = h->tagf.len;
  s.erased_facts = h->erased_facts;
  *stats = s;
  return LP_OK;
}
