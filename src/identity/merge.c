/*
 * Identity: merging a whole graph (a shard) into another. The result is
 * defined by the set of events, so the events of both graphs are gathered
 * into one temporary state and replayed in canonical order: by
 * construction that is the graph one handle fed every event would hold.
 * SPDX-License-Identifier: MIT
 */
#include "identity/hashing.h"
#include "identity/rebuild.h"
#include "identity/state.h"

static int conflict(lp_idgraph *dst, const char *what) {
  return lp_error_set(&dst->err, LP_ECONFLICT, "cannot merge graphs whose %s differ", what);
}

static bool same_type(const idg_type *a, const idg_type *b) {
  return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
         a->priority == b->priority && a->limit == b->limit && a->unique == b->unique &&
         a->norm == b->norm && a->country_code == b->country_code &&
         a->normalize == b->normalize && a->normalize_ud == b->normalize_ud;
}

static int compatible(lp_idgraph *dst, const lp_idgraph *src) {
  if (dst->ntypes != src->ntypes) return conflict(dst, "numbers of identifier types");
  for (uint32_t t = 0; t < dst->ntypes; t++)
    if (!same_type(&dst->types[t], &src->types[t]))
      return lp_error_set(&dst->err, LP_ECONFLICT,
                          "cannot merge: identifier type %u (\"%s\") is defined differently",
                          (unsigned)t, dst->types[t].name);
  if (dst->store_raw != src->store_raw || dst->default_blocklist != src->default_blocklist ||
      dst->quarantine_after != src->quarantine_after)
    return conflict(dst, "options (LP_IDGRAPH_STORE_RAW, _QUARANTINE_AFTER or _DEFAULT_BLOCKLIST)");
  if (dst->hash_fn != src->hash_fn || dst->hash_ud != src->hash_ud ||
      dst->key_len != src->key_len || memcmp(dst->key, src->key, sizeof dst->key) != 0)
    return conflict(dst, "hash keys or hash functions");
  if (dst->blocklist.len != src->blocklist.len) return conflict(dst, "blocklists");
  size_t pos = 0;
  const uint64_t *key;
  uint64_t v;
  while (lp_hmap_next(&src->blocklist, &pos, &key, &v))
    if (!lp_hmap_get(&dst->blocklist, key, NULL)) return conflict(dst, "blocklists");
  return LP_OK;
}

/* Erased in the other graph: tombstones win. */
static bool erased(const idg_state *other, lp_hash128 hash) {
  return other->tombstones.len > 0 &&
         lp_map128_get(&other->tombstones, idg_tomb_hash(hash), NULL);
}

/* Copy the events of `s` (members erased in `other` left out) into `all`.
 * `ord` has room for one entry per node of `s`. */
static int gather(lp_idgraph *h, idg_state *all, const idg_state *s, const idg_state *other,
                  uint32_t *ord) {
  const lp_mem *m = &h->mem;
  int rc = idg_index_reserve(all, m, s->nodes.len);
  if (rc == LP_OK) rc = lp_vec_reserve(&all->nodes, m, all->nodes.len + s->nodes.len);
  if (rc == LP_OK && h->store_raw) rc = lp_vec_reserve(&all->raws, m, all->raws.len + s->nodes.len);
  if (rc == LP_OK) rc = lp_vec_reserve(&all->events, m, all->events.len + s->events.len);
  if (rc == LP_OK) rc = lp_vec_reserve(&all->members, m, all->members.len + s->members.len);
  if (rc != LP_OK) return rc;
  if (all->nodes.len + s->nodes.len > IDG_MAX_NODES ||
      all->members.len + s->members.len > UINT32_MAX - 1 ||
      all->events.len + s->events.len > LP_IDGRAPH_MAX_EVENTS)
    return LP_ELIMIT;
  for (uint32_t x = 0; x < s->nodes.len; x++) {
    const idg_node *n = idg_node_at(s, x);
    ord[x] = IDG_NONE;
    if (erased(other, idg_node_hash(n))) continue;
    bool added;
    ord[x] = idg_index_upsert(all, m, idg_node_hash(n), (uint32_t)all->nodes.len, &added);
    if (!added) continue;
    idg_node nd = idg_node_make(idg_node_hash(n), idg_node_type(n), 0, 0); /* replayed later */
    (void)lp_vec_push(&all->nodes, m, &nd);
    if (!h->store_raw) continue;
    uint32_t raw = IDG_NONE, from = idg_raw(s, x);
    if (from != IDG_NONE) {
      size_t len;
      const char *v = lp_strpool_get(&s->values, from, &len);
      rc = lp_strpool_intern(&all->values, m, v, len, &raw, NULL);
      if (rc != LP_OK) return rc;
    }
    (void)lp_vec_push(&all->raws, m, &raw);
  }
  for (uint32_t ei = 0; ei < s->events.len; ei++) {
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *mem = idg_members(s, e);
    uint32_t words[LP_IDGRAPH_MAX_EVENT_IDS], n = 0;
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      uint32_t y = ord[mem[i] & IDG_ORD_MASK];
      if (y != IDG_NONE) words[n++] = y; /* still sorted by hash */
    }
    if (n == 0) continue;
    size_t slen;
    const char *src = lp_strpool_get(&s->sources, e->source, &slen);
    idg_event ne = idg_event_make(idg_event_ts(e), 0, (uint32_t)all->members.len, (uint32_t)all->events.len);
    rc = lp_strpool_intern(&all->sources, m, src, slen, &ne.source, NULL);
    if (rc != LP_OK) return rc;
    (void)lp_vec_append(&all->members, m, words, n);
    (void)lp_vec_push(&all->events, m, &ne);
  }
  size_t pos = 0;
  const uint64_t *key;
  uint64_t v;
  rc = lp_hmap_reserve(&all->tombstones, m, all->tombstones.len + s->tombstones.len);
  while (rc == LP_OK && lp_hmap_next(&s->tombstones, &pos, &key, &v)) {
    uint64_t *slot;
    bool added;
    rc = lp_hmap_upsert(&all->tombstones, m, key, &slot, &added);
    if (rc == LP_OK) *slot = v;
  }
  all->blocked += s->blocked;
  all->invalid += s->invalid;
  all->tombstoned += s->tombstoned;
  return rc;
}

int lp_idgraph_merge(lp_idgraph *dst, const lp_idgraph *src) {
  IDG_GUARD(dst, "lp_idgraph_merge");
  if (src == NULL) return lp_error_set(&dst->err, LP_EINVAL, "src is NULL");
  if (src == dst) return lp_error_set(&dst->err, LP_EINVAL, "cannot merge a graph into itself");
  if (src->busy != 0) return lp_error_reentered(&dst->err, "lp_idgraph_merge (src is busy)");
  int rc = compatible(dst, src);
  if (rc != LP_OK) return rc;
  const lp_mem *m = &dst->mem;
  idg_state all;
  idg_state_init(&all);
  size_t nmax = dst->st.nodes.len > src->st.nodes.len ? dst->st.nodes.len : src->st.nodes.len;
  uint32_t *ord = NULL;
  if (nmax > 0) rc = lp_mem_alloc_array(m, nmax, sizeof *ord, (void **)&ord);
  if (rc == LP_OK) rc = gather(dst, &all, &dst->st, &src->st, ord);
  if (rc == LP_OK) rc = gather(dst, &all, &src->st, &dst->st, ord);
  lp_mem_free_array(m, ord, nmax, sizeof *ord);
  if (rc != LP_OK) {
    idg_state_free(&all, m);
    return rc == LP_ELIMIT ? lp_error_set(&dst->err, rc, "the merged graph would be too large")
                           : lp_error_set(&dst->err, rc, "out of memory merging graphs");
  }
  idg_state next;
  rc = idg_replay_all(dst, &all, NULL, &next);
  idg_state_free(&all, m);
  if (rc != LP_OK) return rc;
  return idg_commit(dst, &next);
}
