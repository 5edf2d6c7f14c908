/*
 * Identity: read-only questions about the graph, and explanations.
 * SPDX-License-Identifier: MIT
 */

#include "identity/hashing.h"
#include "identity/rebuild.h"
#include "identity/state.h"

/* The buffer contract of docs/core.md: LP_OK to go on and fill, or the
 * status to return (size query answered, buffer too small, bad buffer). */
static int buffer_check(const lp_idgraph *h, const void *out, size_t capacity, size_t *needed,
                        size_t n, const char *what, bool *done) {
  *done = true;
  *needed = n;
  if (out == NULL && capacity == 0) return LP_OK;
  if (capacity < n)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE, "%s: %zu entries needed, capacity is %zu",
                        what, n, capacity);
  *done = false;
  return LP_OK;
}

static int buffer_args(const lp_idgraph *h, const void *out, size_t capacity, const size_t *needed) {
  if (needed == NULL || (out == NULL && capacity > 0))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "needed is NULL, or out is NULL with capacity > 0");
  return LP_OK;
}

int lp_idgraph_profile_of(const lp_idgraph *h, uint32_t type, const char *value, size_t len,
                          uint64_t *profile_id) {
  IDG_GUARD(h, "lp_idgraph_profile_of");
  if (profile_id == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "profile_id is NULL");
  lp_idgraph_ident id = {type, value, len};
  uint32_t x;
  lp_hash128 hash;
  int rc = idg_lookup(h, &id, &x, &hash);
  if (rc != LP_OK) return rc;
  *profile_id = idg_pid(&h->st, x);
  return LP_OK;
}

int lp_idgraph_identifier_hash(const lp_idgraph *h, const lp_idgraph_ident *id,
                               uint8_t *out16) {
  IDG_GUARD(h, "lp_idgraph_identifier_hash");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (id == NULL || out16 == NULL)
    return lp_error_set(err, LP_EINVAL, "identifier or output is NULL");
  if (id->type >= h->ntypes)
    return lp_error_set(err, LP_EINVAL, "unknown identifier type %u", (unsigned)id->type);
  if (id->value == NULL) return lp_error_set(err, LP_EINVAL, "identifier value is NULL");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  lp_hash128 hash;
  int rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, &hash);
  if (rc != LP_OK) return rc;
  lp_put_u64le(out16, hash.lo);
  lp_put_u64le(out16 + 8, hash.hi);
  return LP_OK;
}

int lp_idgraph_profile_of_hash(const lp_idgraph *h, const uint8_t *hash16,
                               uint64_t *profile_id) {
  IDG_GUARD(h, "lp_idgraph_profile_of_hash");
  if (hash16 == NULL || profile_id == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "hash or profile_id is NULL");
  lp_hash128 hash = {lp_get_u64le(hash16), lp_get_u64le(hash16 + 8)};
  uint32_t x;
  if (!idg_index_get(&h->st, hash, &x))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no identifier has this hash");
  *profile_id = idg_pid(&h->st, x);
  return LP_OK;
}

static int cmp_type_hash(const void *ctx, uint32_t a, uint32_t b) {
  const idg_node *x = idg_node_at(ctx, a), *y = idg_node_at(ctx, b);
  if (idg_node_type(x) != idg_node_type(y)) return idg_node_type(x) < idg_node_type(y) ? -1 : 1;
  if (idg_node_hash(x).hi != idg_node_hash(y).hi) return idg_node_hash(x).hi < idg_node_hash(y).hi ? -1 : 1;
  return idg_node_hash(x).lo < idg_node_hash(y).lo ? -1 : (idg_node_hash(x).lo > idg_node_hash(y).lo);
}

static void fill_info(const idg_state *s, uint32_t x, lp_idgraph_ident_info *o) {
  const idg_node *n = idg_node_at(s, x);
  o->type = idg_node_type(n);
  o->quarantined = idg_quarantined(n) != 0;
  lp_put_u64le(o->hash, idg_node_hash(n).lo);
  lp_put_u64le(o->hash + 8, idg_node_hash(n).hi);
  o->len = 0;
  uint32_t raw = idg_raw(s, x);
  o->value = raw != IDG_NONE ? lp_strpool_get(&s->values, raw, &o->len) : NULL;
}

int lp_idgraph_profile_identifiers(const lp_idgraph *h, uint64_t profile_id,
                                   lp_idgraph_ident_info *out, size_t capacity, size_t *needed) {
  IDG_GUARD(h, "lp_idgraph_profile_identifiers");
  int rc = buffer_args(h, out, capacity, needed);
  if (rc != LP_OK) return rc;
  uint32_t root;
  rc = idg_profile_root(h, profile_id, &root);
  if (rc != LP_OK) return rc;
  size_t n = 0;
  uint32_t x = root;
  do {
    n++;
    x = idg_next(idg_node_at(&h->st, x));
  } while (x != root);
  bool done;
  rc = buffer_check(h, out, capacity, needed, n, "profile identifiers", &done);
  if (done) return rc;
  uint32_t *all;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *all, (void **)&all);
  if (rc != LP_OK)
    return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory listing identifiers");
  n = 0;
  do {
    all[n++] = x;
    x = idg_next(idg_node_at(&h->st, x));
  } while (x != root);
  idg_sort(all, n, cmp_type_hash, &h->st);
  for (size_t i = 0; i < n; i++) fill_info(&h->st, all[i], &out[i]);
  lp_mem_free_array(&h->mem, all, n, sizeof *all);
  return LP_OK;
}

int lp_idgraph_profiles(const lp_idgraph *h, uint64_t *out, size_t capacity, size_t *needed) {
  IDG_GUARD(h, "lp_idgraph_profiles");
  int rc = buffer_args(h, out, capacity, needed);
  if (rc != LP_OK) return rc;
  size_t n = 0, nn = h->st.nodes.len;
  for (uint32_t x = 0; x < nn; x++) n += idg_parent(idg_node_at(&h->st, x)) == x;
  bool done;
  rc = buffer_check(h, out, capacity, needed, n, "profiles", &done);
  if (done || n == 0) return rc;
  /* The ids into out[], then the module's LSD radix sort (idg_radix_u64)
   * with a scratch buffer of n words: linear, no comparison sort. */
  uint64_t *tmp = NULL;
  uint32_t *cnt = NULL;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *tmp, (void **)&tmp);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, IDG_RADIX_BUCKETS, sizeof *cnt, (void **)&cnt);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, tmp, n, sizeof *tmp);
    return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory listing profiles");
  }
  size_t k = 0;
  for (uint32_t x = 0; x < nn; x++) {
    const idg_node *r = idg_node_at(&h->st, x);
    if (idg_parent(r) == x) out[k++] = idg_pid_of_hash(idg_node_hash(r));
  }
  const uint64_t *sorted = idg_radix_u64(out, tmp, k, 0, 64, cnt);
  if (sorted != out) memcpy(out, sorted, k * sizeof *out);
  lp_mem_free_array(&h->mem, cnt, IDG_RADIX_BUCKETS, sizeof *cnt);
  lp_mem_free_array(&h->mem, tmp, n, sizeof *tmp);
  return LP_OK;
}

int lp_idgraph_get_stats(const lp_idgraph *h, lp_idgraph_stats *stats) {
  IDG_GUARD(h, "lp_idgraph_get_stats");
  if (stats == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "stats is NULL");
  if (stats->struct_size < sizeof *stats)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "stats->struct_size is %u, expected at least %u (use LP_IDGRAPH_STATS_INIT)",
                        (unsigned)stats->struct_size, (unsigned)sizeof *stats);
  const idg_state *s = &h->st;
  uint64_t profiles = 0, quarantined = 0, conflicts = 0;
  for (uint32_t x = 0; x < s->nodes.len; x++) {
    const idg_node *n = idg_node_at(s, x);
    profiles += idg_parent(n) == x;
    quarantined += idg_quarantined(n) != 0;
  }
  const uint32_t *m = (const uint32_t *)s->members.data;
  for (size_t i = 0; i < s->members.len; i++) conflicts += (m[i] & IDG_REFUSED) != 0;
  stats->events = s->events.len;
  stats->identifiers = s->nodes.len;
  stats->profiles = profiles;
  stats->merges = s->nodes.len - profiles;
  stats->conflicts = conflicts;
  stats->quarantined = quarantined;
  stats->blocked = s->blocked;
  stats->invalid = s->invalid;
  stats->tombstoned = s->tombstoned;
  return LP_OK;
}

/* Breadth-first search over accepted links (the LINKED members of the
 * cluster's events, in canonical order), from a until b is reached. */
typedef struct bfs {
  uint32_t *events, *queue, *via_node, *via_event;
  lp_map64 seen; /* node -> index in queue */
  size_t ne, nq;
} bfs;

static void bfs_free(const lp_idgraph *h, bfs *b, size_t cap_e, size_t cap_n) {
  lp_mem_free_array(&h->mem, b->events, cap_e, sizeof(uint32_t));
  lp_mem_free_array(&h->mem, b->queue, cap_n, sizeof(uint32_t));
  lp_mem_free_array(&h->mem, b->via_node, cap_n, sizeof(uint32_t));
  lp_mem_free_array(&h->mem, b->via_event, cap_n, sizeof(uint32_t));
  lp_hmap_free(&b->seen, &h->mem);
}

static void fill_step(const idg_state *s, uint32_t from, uint32_t to, uint32_t ei,
                      lp_idgraph_step *o) {
  const idg_node *a = idg_node_at(s, from), *b = idg_node_at(s, to);
  const idg_event *e = idg_event_at(s, ei);
  lp_put_u64le(o->from, idg_node_hash(a).lo);
  lp_put_u64le(o->from + 8, idg_node_hash(a).hi);
  lp_put_u64le(o->to, idg_node_hash(b).lo);
  lp_put_u64le(o->to + 8, idg_node_hash(b).hi);
  o->from_type = idg_node_type(a);
  o->to_type = idg_node_type(b);
  o->ts = idg_event_ts(e);
  size_t len;
  o->source = lp_strpool_get(&s->sources, e->source, &len);
}

static int search(const lp_idgraph *h, uint32_t a, uint32_t b, bfs *q, size_t cap_n) {
  const idg_state *s = &h->st;
  idg_sort(q->events, q->ne, idg_cmp_events_ctx, s);
  q->queue[0] = a;
  q->via_node[0] = IDG_NONE;
  q->nq = 1;
  int rc = lp_map64_put(&q->seen, &h->mem, a, 0);
  for (size_t head = 0; head < q->nq && rc == LP_OK; head++) {
    uint32_t x = q->queue[head];
    for (size_t k = 0; k < q->ne && rc == LP_OK; k++) {
      const idg_event *e = idg_event_at(s, q->events[k]);
      const uint32_t *m = idg_members(s, e);
      bool has = false;
      for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++)
        has = has || (m[i] == ((x & IDG_ORD_MASK) | IDG_LINKED));
      if (!has) continue;
      for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt && rc == LP_OK; i++) {
        uint32_t y = m[i] & IDG_ORD_MASK;
        if (!(m[i] & IDG_LINKED) || lp_map64_get(&q->seen, y, NULL) || q->nq >= cap_n) continue;
        rc = lp_map64_put(&q->seen, &h->mem, y, q->nq);
        q->queue[q->nq] = y;
        q->via_node[q->nq] = (uint32_t)head;
        q->via_event[q->nq] = q->events[k];
        q->nq++;
        if (y == b) return rc;
      }
    }
  }
  return rc;
}

int lp_idgraph_explain(const lp_idgraph *h, const lp_idgraph_ident *a, const lp_idgraph_ident *b,
                       lp_idgraph_step *out, size_t capacity, size_t *needed) {
  IDG_GUARD(h, "lp_idgraph_explain");
  int rc = buffer_args(h, out, capacity, needed);
  if (rc != LP_OK) return rc;
  uint32_t xa, xb;
  lp_hash128 ha, hb;
  rc = idg_lookup(h, a, &xa, &ha);
  if (rc == LP_OK) rc = idg_lookup(h, b, &xb, &hb);
  if (rc != LP_OK) return rc;
  const idg_state *s = &h->st;
  if (idg_find(s, xa) != idg_find(s, xb))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND,
                        "the identifiers are in different profiles");
  if (xa == xb) {
    *needed = 0;
    return LP_OK;
  }
  size_t ne = 0, nn = 0;
  uint32_t head = idg_node_at(s, idg_cluster_find(s, xa))->cluster_max, ei = head;
  do {
    ne++;
    nn += idg_event_count(s, idg_event_at(s, ei));
    ei = idg_event_at(s, ei)->next;
  } while (ei != head);
  bfs q;
  memset(&q, 0, sizeof q);
  lp_map64_init(&q.seen);
  rc = lp_mem_alloc_array(&h->mem, ne, sizeof(uint32_t), (void **)&q.events);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, nn, sizeof(uint32_t), (void **)&q.queue);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, nn, sizeof(uint32_t), (void **)&q.via_node);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, nn, sizeof(uint32_t), (void **)&q.via_event);
  if (rc == LP_OK) {
    q.ne = 0;
    do {
      q.events[q.ne++] = ei;
      ei = idg_event_at(s, ei)->next;
    } while (ei != head);
    rc = search(h, xa, xb, &q, nn);
  }
  if (rc != LP_OK) {
    bfs_free(h, &q, ne, nn);
    return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory explaining a link");
  }
  uint64_t at;
  size_t steps = 0;
  if (lp_map64_get(&q.seen, xb, &at))
    for (size_t i = (size_t)at; q.via_node[i] != IDG_NONE; i = q.via_node[i]) steps++;
  bool done;
  rc = buffer_check(h, out, capacity, needed, steps, "explanation steps", &done);
  size_t k = steps;
  if (!done && steps > 0)
    for (size_t i = (size_t)at; q.via_node[i] != IDG_NONE; i = q.via_node[i]) {
      k--;
      fill_step(s, q.queue[q.via_node[i]], q.queue[i], q.via_event[i], &out[k]);
    }
  bfs_free(h, &q, ne, nn);
  return rc;
}
