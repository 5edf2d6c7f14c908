/*
 * Identity: unmerge and erasure. Both edit the stored events and rebuild
 * the profiles from scratch, so the result is by construction the graph
 * that the edited events would have produced.
 * SPDX-License-Identifier: MIT
 */
#include "identity/hashing.h"
#include "identity/observe.h"
#include "identity/rebuild.h"
#include "identity/state.h"

static int copy_tombstones(const lp_mem *m, const idg_state *from, idg_state *to) {
  int rc = lp_hmap_reserve(&to->tombstones, m, from->tombstones.len);
  size_t pos = 0;
  const uint64_t *key;
  uint64_t v;
  while (rc == LP_OK && lp_hmap_next(&from->tombstones, &pos, &key, &v)) {
    uint64_t *slot;
    bool added;
    rc = lp_hmap_upsert(&to->tombstones, m, key, &slot, &added);
    if (rc == LP_OK) *slot = v;
  }
  return rc;
}

int idg_replay_all(lp_idgraph *h, const idg_state *from, const idg_filter *f, idg_state *to) {
  idg_state_init(to);
  size_t ne = from->events.len;
  uint32_t *order = NULL;
  int rc = copy_tombstones(&h->mem, from, to);
  if (rc == LP_OK && ne > 0) rc = lp_mem_alloc_array(&h->mem, ne, sizeof *order, (void **)&order);
  if (rc != LP_OK) {
    idg_state_free(to, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  to->blocked = from->blocked;
  to->invalid = from->invalid;
  to->tombstoned = from->tombstoned;
  for (size_t i = 0; i < ne; i++) order[i] = (uint32_t)i;
  idg_sort(order, ne, idg_cmp_events_ctx, from);
  for (size_t k = 0; k < ne && rc == LP_OK; k++) {
    const idg_event *e = idg_event_at(from, order[k]);
    if (f != NULL && f->drop_event != NULL && f->drop_event(f->ctx, from, order[k])) continue;
    const uint32_t *m = idg_members(from, e);
    idg_item items[LP_IDGRAPH_MAX_EVENT_IDS];
    size_t n = 0;
    for (uint32_t i = 0; i < e->count; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (f != NULL && f->drop_member != NULL && f->drop_member(f->ctx, from, order[k], x))
        continue;
      const idg_node *nd = idg_node_at(from, x);
      items[n].hash = nd->hash;
      items[n].type = nd->type;
      uint32_t raw = idg_raw(from, x);
      items[n].raw = raw != IDG_NONE ? lp_strpool_get(&from->values, raw, &items[n].raw_len) : NULL;
      if (items[n].raw == NULL) items[n].raw_len = 0;
      n++;
    }
    if (n == 0) continue;
    size_t slen;
    const char *src = lp_strpool_get(&from->sources, e->source, &slen);
    rc = idg_store_event(h, to, items, n, e->ts, src, slen, false, NULL);
  }
  lp_mem_free_array(&h->mem, order, ne, sizeof *order);
  if (rc != LP_OK) idg_state_free(to, &h->mem);
  return rc;
}

int idg_commit(lp_idgraph *h, idg_state *next) {
  size_t nn = h->st.nodes.len;
  idg_change *ch = NULL;
  int rc = nn > 0 ? lp_mem_alloc_array(&h->mem, nn, sizeof *ch, (void **)&ch) : LP_OK;
  if (rc != LP_OK) {
    idg_state_free(next, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  size_t nch = 0;
  for (uint32_t x = 0; x < nn; x++) {
    uint64_t before = idg_pid(&h->st, x), after = 0;
    uint32_t y;
    if (idg_index_get(next, idg_node_at(&h->st, x)->hash, &y)) after = idg_pid(next, y);
    if (before != after) {
      ch[nch].old_id = before;
      ch[nch].new_id = after;
      nch++;
    }
  }
  idg_state_free(&h->st, &h->mem);
  h->st = *next;
  idg_sort_changes(ch, nch);
  idg_emit(h, &h->st, ch, nch);
  lp_mem_free_array(&h->mem, ch, nn, sizeof *ch);
  return LP_OK;
}

/* Rebuild h's state through filter `f`, add `ntomb` tombstones, swap, and
 * notify the host of every profile that changed. */
static int rebuild(lp_idgraph *h, const idg_filter *f, const lp_hash128 *tombs, size_t ntomb) {
  idg_state next;
  int rc = idg_replay_all(h, &h->st, f, &next);
  if (rc != LP_OK) return rc;
  rc = lp_hmap_reserve(&next.tombstones, &h->mem, next.tombstones.len + ntomb);
  if (rc != LP_OK) {
    idg_state_free(&next, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  for (size_t i = 0; i < ntomb; i++)
    (void)lp_map128_put(&next.tombstones, &h->mem, idg_tomb_hash(tombs[i]), 1);
  return idg_commit(h, &next);
}

typedef struct pair_ctx {
  uint32_t a, b;
  size_t hits;
} pair_ctx;

static bool event_has(const idg_state *s, uint32_t ei, uint32_t x) {
  const idg_event *e = idg_event_at(s, ei);
  const uint32_t *m = idg_members(s, e);
  for (uint32_t i = 0; i < e->count; i++)
    if ((m[i] & IDG_ORD_MASK) == x) return true;
  return false;
}

static bool drop_linked(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  pair_ctx *p = ctx;
  if (x != p->b || !event_has(s, ei, p->a)) return false;
  p->hits++;
  return true;
}

int lp_idgraph_unlink(lp_idgraph *h, const lp_idgraph_ident *a, const lp_idgraph_ident *b) {
  IDG_GUARD(h, "lp_idgraph_unlink");
  pair_ctx p = {0, 0, 0};
  lp_hash128 ha, hb;
  int rc = idg_lookup(h, a, &p.a, &ha);
  if (rc == LP_OK) rc = idg_lookup(h, b, &p.b, &hb);
  if (rc != LP_OK) return rc;
  bool linked = false;
  for (uint32_t ei = 0; ei < h->st.events.len && !linked; ei++)
    linked = p.a != p.b && event_has(&h->st, ei, p.a) && event_has(&h->st, ei, p.b);
  if (!linked) return lp_error_set(&h->err, LP_ENOTFOUND, "the two identifiers are never seen together");
  idg_filter f = {&p, NULL, drop_linked};
  return rebuild(h, &f, NULL, 0);
}

static bool drop_node(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  (void)s;
  (void)ei;
  return x == *(const uint32_t *)ctx;
}

int lp_idgraph_remove_identifier(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_remove_identifier");
  uint32_t x;
  lp_hash128 hash;
  int rc = idg_lookup(h, id, &x, &hash);
  if (rc != LP_OK) return rc;
  idg_filter f = {&x, NULL, drop_node};
  return rebuild(h, &f, NULL, 0);
}

static bool drop_source(void *ctx, const idg_state *s, uint32_t ei) {
  return idg_event_at(s, ei)->source == *(const uint32_t *)ctx;
}

int lp_idgraph_remove_source(lp_idgraph *h, const char *source, size_t source_len) {
  IDG_GUARD(h, "lp_idgraph_remove_source");
  if (source == NULL && source_len > 0) return lp_error_set(&h->err, LP_EINVAL, "source is NULL");
  uint32_t id;
  if (!lp_strpool_find(&h->st.sources, source != NULL ? source : "", source_len, &id))
    return lp_error_set(&h->err, LP_ENOTFOUND, "no events from that source");
  bool any = false;
  for (uint32_t ei = 0; ei < h->st.events.len && !any; ei++) any = drop_source(&id, &h->st, ei);
  if (!any) return lp_error_set(&h->err, LP_ENOTFOUND, "no events from that source");
  idg_filter f = {&id, drop_source, NULL};
  return rebuild(h, &f, NULL, 0);
}

typedef struct profile_ctx {
  uint32_t root;
} profile_ctx;

static bool drop_profile_member(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  (void)ei;
  return idg_find(s, x) == ((const profile_ctx *)ctx)->root;
}

int idg_profile_root(const lp_idgraph *h, uint64_t pid, uint32_t *root) {
  uint32_t x;
  if (!idg_profile_node(&h->st, pid, &x))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no profile %llu",
                        (unsigned long long)pid);
  *root = idg_find(&h->st, x);
  return LP_OK;
}

int lp_idgraph_forget_profile(lp_idgraph *h, uint64_t profile_id) {
  IDG_GUARD(h, "lp_idgraph_forget_profile");
  profile_ctx p;
  int rc = idg_profile_root(h, profile_id, &p.root);
  if (rc != LP_OK) return rc;
  size_t n = 0;
  uint32_t x = p.root;
  do {
    n++;
    x = idg_node_at(&h->st, x)->next_member;
  } while (x != p.root);
  lp_hash128 *tombs;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *tombs, (void **)&tombs);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "out of memory erasing a profile");
  n = 0;
  do {
    tombs[n++] = idg_node_at(&h->st, x)->hash;
    x = idg_node_at(&h->st, x)->next_member;
  } while (x != p.root);
  idg_filter f = {&p, NULL, drop_profile_member};
  rc = rebuild(h, &f, tombs, n);
  memset(tombs, 0, n * sizeof *tombs);
  lp_mem_free_array(&h->mem, tombs, n, sizeof *tombs);
  return rc;
}

int lp_idgraph_forget_identifier(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_forget_identifier");
  uint32_t x = IDG_NONE;
  lp_hash128 hash;
  int rc = idg_lookup(h, id, &x, &hash);
  if (rc == LP_ENOTFOUND && x == IDG_NONE && id != NULL && id->type < h->ntypes &&
      id->value != NULL) {
    /* Not stored (or not valid): only a valid value can be tombstoned. */
    char norm[LP_IDGRAPH_MAX_VALUE_LEN];
    size_t nlen;
    rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, &hash);
    if (rc != LP_OK) return rc == LP_ECONFLICT ? LP_OK : rc;
    rc = lp_map128_put(&h->st.tombstones, &h->mem, idg_tomb_hash(hash), 1);
    return rc == LP_OK ? LP_OK : lp_error_set(&h->err, rc, "out of memory adding a tombstone");
  }
  if (rc != LP_OK) return rc;
  idg_filter f = {&x, NULL, drop_node};
  return rebuild(h, &f, &hash, 1);
}

int lp_idgraph_lift_tombstone(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_lift_tombstone");
  if (id == NULL || id->type >= h->ntypes || id->value == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "identifier is NULL or of an unknown type");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  lp_hash128 hash;
  int rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, &hash);
  if (rc == LP_EINVAL || rc == LP_ECONFLICT) return lp_error_set(&h->err, LP_ENOTFOUND, "no tombstone for that value");
  if (rc != LP_OK) return rc;
  if (!lp_map128_del(&h->st.tombstones, idg_tomb_hash(hash), NULL))
    return lp_error_set(&h->err, LP_ENOTFOUND, "no tombstone for that value");
  return LP_OK;
}
